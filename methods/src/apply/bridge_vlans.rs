//! The VLANs of a VLAN-aware bridge's ports (`bridge-vlan-aware yes`), by
//! difference with the kernel's (`bridge vlan show`), as ifupdown2 does:
//!
//! * a port's own stanza says `bridge-access VID` (one VLAN, untagged, its
//!   PVID), or `bridge-vids` and `bridge-pvid`; what it leaves out comes
//!   from the bridge's stanza (`bridge-vids`, `bridge-pvid`,
//!   `bridge-access`: the ports' defaults);
//! * the PVID is 1 when nobody names one (ifupdown2's default): the kernel
//!   gives every new port VLAN 1 as its untagged PVID, and that one stays
//!   unless another PVID or an access VLAN takes its place;
//! * every other VLAN the port has is removed, the default 1 included.
//!
//! Nothing is recorded: the VLANs go with the port when it leaves the
//! bridge (or the bridge goes), which is what `ifdown` of the bridge does.
//!
//! A VLAN device on a VLAN-aware bridge (`vmbr0.10`) gets its VLAN on the
//! bridge itself ([`join_bridge_itself`]), recorded in its stanza's
//! `Applied::bridge_vlan` and taken out by its `ifdown`.

use super::{Applied, ApplyError, KernelState};
use crate::links::{BridgeSpec, PortVlans, VlanSpec};
use netconf_kernel::netlink::{BridgeVlan, Link, LinkKind};

/// The kernel's PVID for new ports (`default_pvid`), and ifupdown2's.
const DEFAULT_PVID: u16 = 1;

/// What `port` of the bridge `spec` wants: its own VLANs, the bridge's
/// defaults for what it leaves out, PVID 1 when nobody names one.
pub fn wanted(spec: &BridgeSpec, port: &str) -> Vec<BridgeVlan> {
    let own = spec
        .member_vlans
        .iter()
        .find(|(name, _)| name == port)
        .map(|(_, v)| v);
    let defaults = spec.port_vlans.as_ref();
    let merged = PortVlans {
        vids: own
            .map(|v| v.vids.clone())
            .filter(|v| !v.is_empty())
            .or_else(|| defaults.map(|d| d.vids.clone()))
            .unwrap_or_default(),
        pvid: own
            .and_then(|v| v.pvid)
            .or_else(|| defaults.and_then(|d| d.pvid))
            .or(Some(DEFAULT_PVID)),
    };
    merged.to_bridge_vlans()
}

/// Brings each of `ports` (links of the bridge) to its VLANs.
pub fn apply_ports(
    kernel: &mut impl KernelState,
    spec: &BridgeSpec,
    ports: &[Link],
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    if spec.attrs.vlan_filtering != Some(true) || ports.is_empty() {
        return Ok(Vec::new());
    }
    let current = kernel.netlink().bridge_vlans()?;
    // A port not in the bridge yet (a dry run) would get the default.
    let default = [BridgeVlan {
        vid: DEFAULT_PVID,
        pvid: true,
        untagged: true,
    }];
    let mut changes = Vec::new();
    for port in ports {
        let want = wanted(spec, &port.name);
        let have = current
            .iter()
            .find(|(index, _)| *index == port.index)
            .map_or(&default[..], |(_, v)| v.as_slice());
        let add: Vec<BridgeVlan> = want.iter().filter(|w| !have.contains(w)).copied().collect();
        let del: Vec<BridgeVlan> = have
            .iter()
            .filter(|h| !want.iter().any(|w| w.vid == h.vid))
            .copied()
            .collect();
        if !add.is_empty() {
            changes.push(format!(
                "add VLANs {} to port {}",
                describe(&add),
                port.name
            ));
            if !dry_run {
                kernel.netlink().add_bridge_vlans(port.index, &add, false)?;
            }
        }
        if !del.is_empty() {
            changes.push(format!(
                "remove VLANs {} from port {}",
                describe(&del),
                port.name
            ));
            if !dry_run {
                kernel.netlink().del_bridge_vlans(port.index, &del, false)?;
            }
        }
    }
    Ok(changes)
}

/// A VLAN device on a VLAN-aware bridge (Proxmox's `vmbr0.10`) sees only
/// the VLANs the bridge itself is in: its VLAN is added to the bridge
/// (`bridge vlan add vid 10 dev vmbr0 self`) when the bridge does not have
/// it, as ifupdown2 does, and recorded so that `ifdown` takes it out.
pub fn join_bridge_itself(
    kernel: &mut impl KernelState,
    name: &str,
    vlan: &VlanSpec,
    links: &[Link],
    applied: &mut Applied,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    let Some(bridge) = links.iter().find(|l| l.name == vlan.raw_device) else {
        return Ok(Vec::new());
    };
    let filtering = matches!(
        &bridge.details,
        Some(LinkKind::Bridge(b)) if b.vlan_filtering == Some(true)
    );
    if !filtering {
        return Ok(Vec::new());
    }
    let vid = vlan.attrs.id;
    let has = kernel
        .netlink()
        .bridge_vlans()?
        .iter()
        .any(|(index, vlans)| *index == bridge.index && vlans.iter().any(|v| v.vid == vid));
    if has {
        return Ok(Vec::new());
    }
    if !dry_run {
        kernel
            .netlink()
            .add_bridge_vlans(bridge.index, &[BridgeVlan::tagged(vid)], true)?;
        applied.bridge_vlan = Some((bridge.name.clone(), vid));
    }
    Ok(vec![format!(
        "add VLAN {vid} to bridge {} itself: {name} stands on it",
        bridge.name
    )])
}

/// Takes out the VLAN [`join_bridge_itself`] gave a bridge, if the bridge
/// is still there.
pub fn leave_bridge_itself(
    kernel: &mut impl KernelState,
    applied: &Applied,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    let Some((bridge, vid)) = &applied.bridge_vlan else {
        return Ok(Vec::new());
    };
    let Some(link) = kernel.link_by_name(bridge)? else {
        return Ok(Vec::new());
    };
    if !dry_run {
        kernel
            .netlink()
            .del_bridge_vlans(link.index, &[BridgeVlan::tagged(*vid)], true)?;
    }
    Ok(vec![format!(
        "remove VLAN {vid} from bridge {bridge} itself"
    )])
}

/// `10 pvid untagged, 20`, as `bridge vlan` shows them.
fn describe(vlans: &[BridgeVlan]) -> String {
    let words: Vec<String> = vlans
        .iter()
        .map(|v| {
            let mut w = v.vid.to_string();
            if v.pvid {
                w.push_str(" pvid");
            }
            if v.untagged {
                w.push_str(" untagged");
            }
            w
        })
        .collect();
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::StanzaConfig;
    use netconf_interfaces::{Family, Variables};

    fn bridge(options: &[(&str, &str)]) -> BridgeSpec {
        let mut vars = Variables::default();
        for (k, v) in options {
            vars.set(k, v);
        }
        let cfg = StanzaConfig {
            iface: "br0".into(),
            logical: "br0".into(),
            family: Family::Inet,
            method: "manual".into(),
            vars,
        };
        match crate::links::stanza_links(&cfg).unwrap().link.unwrap().kind {
            crate::links::LinkSpecKind::Bridge(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn port_vlans_fall_back_to_the_bridge_then_to_pvid_1() {
        let pvid = |vid| BridgeVlan {
            vid,
            pvid: true,
            untagged: true,
        };
        let mut br = bridge(&[
            ("bridge-ports", "p1 p2 p3 p4"),
            ("bridge-vlan-aware", "yes"),
            ("bridge-vids", "100 200"),
        ]);
        br.member_vlans = vec![
            (
                "p2".into(),
                PortVlans {
                    vids: vec![300],
                    pvid: Some(300),
                },
            ),
            (
                "p3".into(),
                PortVlans {
                    vids: vec![],
                    pvid: Some(100),
                },
            ),
        ];
        assert_eq!(
            wanted(&br, "p1"),
            [pvid(1), BridgeVlan::tagged(100), BridgeVlan::tagged(200)]
        );
        assert_eq!(wanted(&br, "p2"), [pvid(300)]);
        assert_eq!(wanted(&br, "p3"), [pvid(100), BridgeVlan::tagged(200)]);
        let plain = bridge(&[("bridge-ports", "p1"), ("bridge-vlan-aware", "yes")]);
        assert_eq!(wanted(&plain, "p1"), [pvid(1)]);
        // bridge-access on the bridge: every port without VLANs of its own
        // is an access port of it.
        let mut access = bridge(&[
            ("bridge-ports", "p1 p2"),
            ("bridge-vlan-aware", "yes"),
            ("bridge-access", "30"),
        ]);
        access.member_vlans = vec![(
            "p2".into(),
            PortVlans {
                vids: vec![40],
                pvid: Some(40),
            },
        )];
        assert_eq!(wanted(&access, "p1"), [pvid(30)]);
        assert_eq!(wanted(&access, "p2"), [pvid(40)]);
    }
}
