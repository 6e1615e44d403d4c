//! Brings the kernel to a [`Desired`] state by diff: reads what the link has,
//! writes only what differs, and records what it did in [`Applied`] so that
//! `ifdown` removes it and a failed `ifup` can be rolled back.

use crate::links::{LinkDiff, LinkSpec, LinkSpecKind};
use crate::provider::{AddressWanted, Desired, RouteWanted};
use netconf_kernel::netlink::BondAttrs;
use netconf_kernel::netlink::{
    Address, Family as NlFamily, Link, LinkChange, LinkKind, Netlink, NetlinkError, NewAddress,
    NewRoute, Route, NETCONF_ROUTE_PROTOCOL,
};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub mod bridge_vlans;
pub mod vrf;

/// The main routing table.
const MAIN_TABLE: u32 = 254;

/// What one stanza's `ifup` put into the kernel (persisted in the state file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The kernel device (`eth0` for the alias `eth0:1`).
    pub device: String,
    /// The link was down and netconf set it up.
    pub set_up: bool,
    /// MTU and MAC before netconf changed them, to restore on rollback.
    pub previous_mtu: Option<u32>,
    pub previous_mac: Option<Vec<u8>>,
    /// The description (`IFLA_IFALIAS`) before netconf set one (`""`: none),
    /// put back by `ifdown` and rollback, as ifupdown2 resets it at down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_alias: Option<String>,
    pub addresses: Vec<AppliedAddress>,
    pub routes: Vec<AppliedRoute>,
    /// IPv6 settings changed, with their previous values.
    pub ipv6_conf: Vec<(String, String)>,
    /// netconf created the link (a bridge, veth, ...): `ifdown` deletes it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub created_link: bool,
    /// Ports (or bond slaves) netconf added to the link: `ifdown` takes
    /// them out again and sets them down, as bridge-utils does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// The routing table of `routes` when not the main one (a VRF member's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_table: Option<u32>,
    /// The VRF netconf made the device a member of: `ifdown` takes it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    /// The VLAN netconf gave the VLAN-aware bridge itself for this VLAN
    /// device on it (`vmbr0.10`: `bridge vlan add vid 10 dev vmbr0 self`),
    /// by bridge name: `ifdown` takes it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_vlan: Option<(String, u16)>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAddress {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub peer: Option<IpAddr>,
    /// It was there before netconf's ifup: a rollback keeps it.
    pub preexisting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRoute {
    pub route: RouteWanted,
    pub preexisting: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("no such interface {0}")]
    NoSuchInterface(String),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Link(#[from] crate::links::LinkError),
    /// A link of the name exists and cannot become what the stanza asks.
    #[error("{0}; netconf does not replace a link it did not create")]
    LinkConflict(String),
    #[error("setting net.ipv6.conf.{iface}.{key}: {source}")]
    Sysctl {
        iface: String,
        key: String,
        source: std::io::Error,
    },
}

/// What [`apply`] and [`remove`] diff against and write with: the kernel's
/// current links, addresses and main-table routes, and the socket that
/// changes them. netconfd answers the reads from its mirror of the kernel
/// (kept exact by draining notifications first); a plain [`Netlink`] asks
/// the kernel each time.
pub trait KernelState {
    fn netlink(&mut self) -> &mut Netlink;
    fn links(&mut self) -> Result<Vec<Link>, NetlinkError>;
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError>;
    fn addresses_of(&mut self, index: u32, family: NlFamily) -> Result<Vec<Address>, NetlinkError>;
    /// The routes of a link in routing table `table`.
    fn routes_in(
        &mut self,
        index: u32,
        family: NlFamily,
        table: u32,
    ) -> Result<Vec<Route>, NetlinkError>;
    /// As [`KernelState::routes_in`], in the main table.
    fn routes_of(&mut self, index: u32, family: NlFamily) -> Result<Vec<Route>, NetlinkError> {
        self.routes_in(index, family, MAIN_TABLE)
    }
}

impl KernelState for Netlink {
    fn netlink(&mut self) -> &mut Netlink {
        self
    }

    fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        Netlink::links(self)
    }

    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        Netlink::link_by_name(self, name)
    }

    fn addresses_of(&mut self, index: u32, family: NlFamily) -> Result<Vec<Address>, NetlinkError> {
        self.addresses(Some(index), Some(family))
    }

    fn routes_in(
        &mut self,
        index: u32,
        family: NlFamily,
        table: u32,
    ) -> Result<Vec<Route>, NetlinkError> {
        self.routes(family, Some(table), Some(index))
    }
}

/// The kernel device an interface name stands for (`eth0:1` is on `eth0`).
pub fn device_of(iface: &str) -> &str {
    iface.split(':').next().unwrap_or(iface)
}

fn describe_address(a: &AddressWanted) -> String {
    match a.peer {
        Some(peer) => format!("{} peer {}/{}", a.addr, peer, a.prefix_len),
        None => format!("{}/{}", a.addr, a.prefix_len),
    }
}

fn family_of(addr: &IpAddr) -> NlFamily {
    match addr {
        IpAddr::V4(_) => NlFamily::V4,
        IpAddr::V6(_) => NlFamily::V6,
    }
}

/// Makes the kernel match `desired` for `iface`. Every write is recorded in
/// `applied` as it succeeds, so on error the caller can roll back with
/// [`remove`]. Returns the changes made (or, with `dry_run`, that would be).
pub fn apply(
    kernel: &mut impl KernelState,
    iface: &str,
    desired: &Desired,
    applied: &mut Applied,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    let device = device_of(iface);
    applied.device = device.to_string();
    let link = kernel
        .link_by_name(device)?
        .ok_or_else(|| ApplyError::NoSuchInterface(device.to_string()))?;
    let index = link.index;
    let mut changes = Vec::new();

    for (key, value) in &desired.ipv6_conf {
        let sysctl_error = |source| ApplyError::Sysctl {
            iface: device.to_string(),
            key: key.clone(),
            source,
        };
        // Interfaces without IPv6 have no such file; Debian ignores that too.
        let Ok(current) = netconf_kernel::netlink::get_ipv6_conf(device, key) else {
            continue;
        };
        if current.trim() != value {
            changes.push(format!("set net.ipv6.conf.{device}.{key} = {value}"));
            if !dry_run {
                netconf_kernel::netlink::set_ipv6_conf(device, key, value).map_err(sysctl_error)?;
                applied
                    .ipv6_conf
                    .push((key.clone(), current.trim().to_string()));
            }
        }
    }

    let family = desired.addresses.first().map(|a| family_of(&a.addr));
    let existing = match family {
        Some(f) => kernel.addresses_of(index, f)?,
        None => Vec::new(),
    };

    if desired.flush_mngtmpaddr {
        for a in existing.iter().filter(|a| a.flags.mngtmpaddr) {
            changes.push(format!(
                "remove address {}/{} from {device}",
                a.addr, a.prefix_len
            ));
            if !dry_run {
                kernel
                    .netlink()
                    .del_address(index, a.addr, a.prefix_len, a.peer)?;
            }
        }
    }

    for want in &desired.addresses {
        let present = existing.iter().any(|a| {
            a.addr == want.addr
                && a.prefix_len == want.prefix_len
                && (want.peer.is_none() || a.peer == want.peer)
        });
        // A leased address is there already: its lifetime still has to
        // follow the lease (one write, no change of configuration).
        let refresh = present && want.valid_lft.is_some();
        if !present {
            changes.push(format!(
                "add address {} to {device}",
                describe_address(want)
            ));
        }
        if (!present || refresh) && !dry_run {
            kernel.netlink().add_address(
                &NewAddress {
                    index,
                    addr: want.addr,
                    prefix_len: want.prefix_len,
                    peer: want.peer,
                    broadcast: want.broadcast,
                    scope: want.scope,
                    label: want.label.clone(),
                    nodad: want.nodad,
                    noprefixroute: false,
                    valid_lft: want.valid_lft,
                    preferred_lft: want.preferred_lft,
                },
                refresh,
            )?;
        }
        if !dry_run {
            applied.addresses.push(AppliedAddress {
                addr: want.addr,
                prefix_len: want.prefix_len,
                peer: want.peer,
                preexisting: present,
            });
        }
    }

    let mut change = LinkChange::default();
    let mut mtu = desired.link.mtu;
    if let Some(v6_mtu) = desired.ipv6_mtu {
        // Debian: raise the link MTU if it is lower, else set IPv6's own.
        if link.mtu < v6_mtu {
            mtu = Some(v6_mtu);
        } else if netconf_kernel::netlink::get_ipv6_conf(device, "mtu")
            .is_ok_and(|c| c.trim() != v6_mtu.to_string())
        {
            changes.push(format!("set net.ipv6.conf.{device}.mtu = {v6_mtu}"));
            if !dry_run {
                let previous =
                    netconf_kernel::netlink::get_ipv6_conf(device, "mtu").unwrap_or_default();
                netconf_kernel::netlink::set_ipv6_conf(device, "mtu", &v6_mtu.to_string())
                    .map_err(|source| ApplyError::Sysctl {
                        iface: device.to_string(),
                        key: "mtu".into(),
                        source,
                    })?;
                applied
                    .ipv6_conf
                    .push(("mtu".into(), previous.trim().to_string()));
            }
        }
    }
    if let Some(m) = mtu.filter(|m| *m != link.mtu) {
        changes.push(format!("set {device} mtu {m}"));
        change.mtu = Some(m);
    }
    if let Some(mac) = desired
        .link
        .mac
        .filter(|m| link.mac.as_deref() != Some(&m[..]))
    {
        let text: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        changes.push(format!("set {device} address {}", text.join(":")));
        change.mac = Some(mac);
    }
    if let Some(alias) = desired
        .link
        .alias
        .as_ref()
        .filter(|a| link.alias.as_ref() != Some(*a))
    {
        changes.push(format!("set {device} alias {alias:?}"));
        change.alias = Some(alias.clone());
    }
    if desired.link.up && !link.up {
        changes.push(format!("set {device} up"));
        change.up = Some(true);
    }
    if change != LinkChange::default() && !dry_run {
        kernel.netlink().set_link(index, &change)?;
        applied.set_up |= change.up == Some(true);
        if change.mtu.is_some() {
            applied.previous_mtu = Some(link.mtu);
        }
        if change.mac.is_some() {
            applied.previous_mac.clone_from(&link.mac);
        }
        if change.alias.is_some() && applied.previous_alias.is_none() {
            applied.previous_alias = Some(link.alias.clone().unwrap_or_default());
        }
    }

    if !desired.routes.is_empty() {
        let route_family = desired.routes[0]
            .gateway
            .as_ref()
            .map_or(NlFamily::V4, family_of);
        let table = desired.table.unwrap_or(MAIN_TABLE);
        let existing = kernel.routes_in(index, route_family, table)?;
        if !dry_run {
            applied.route_table = desired.table;
        }
        for want in &desired.routes {
            let present = existing.iter().any(|r| want.matches(r));
            if !present {
                if !dry_run {
                    let added = kernel
                        .netlink()
                        .add_route(&new_route(index, want, table), false);
                    match added {
                        Err(e) if desired.routes_best_effort && e.errno() == Some(libc::EEXIST) => {
                            changes.push(format!(
                                "route {} dev {device} not added: another route to it with that \
                                 metric exists",
                                want
                            ));
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                        Ok(()) => {}
                    }
                }
                changes.push(format!("add route {} dev {device}", want));
            }
            if !dry_run {
                applied.routes.push(AppliedRoute {
                    route: want.clone(),
                    preexisting: present,
                });
            }
        }
    }
    Ok(changes)
}

/// A route's family: its gateway's, else its destination's.
fn route_family(r: &RouteWanted) -> NlFamily {
    r.gateway
        .or(r.destination.map(|(addr, _)| addr))
        .as_ref()
        .map_or(NlFamily::V4, family_of)
}

fn new_route(index: u32, r: &RouteWanted, table: u32) -> NewRoute {
    NewRoute {
        family: route_family(r),
        destination: r.destination,
        gateway: r.gateway,
        oif: Some(index),
        priority: r.metric,
        table,
        protocol: NETCONF_ROUTE_PROTOCOL,
        scope: netconf_kernel::netlink::Scope::Universe,
        onlink: r.onlink,
    }
}

/// Creates the link `spec` describes, or brings the existing one to its
/// settings, then adds the ports (bridge) or slaves (bond) that exist, and
/// `extra_ports` (slaves whose own stanza names this bond). Records what it
/// did in `applied`, for [`remove`]. A port that does not exist yet is
/// reported and skipped: it joins when it appears (the daemon's hotplug).
pub fn ensure_link(
    kernel: &mut impl KernelState,
    spec: &LinkSpec,
    extra_ports: &[String],
    applied: &mut Applied,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    let links = kernel.links()?;
    let mut changes = Vec::new();
    // A VLAN goes up only over a raw device that is up (the kernel says
    // ENETDOWN otherwise): Debian's vlan hook sets it up first, and leaves
    // it up on ifdown.
    if let LinkSpecKind::Vlan(v) = &spec.kind {
        if let Some(raw) = links.iter().find(|l| l.name == v.raw_device && !l.up) {
            changes.push(format!("set {} up: {} stands on it", raw.name, spec.name));
            if !dry_run {
                kernel.netlink().set_link(
                    raw.index,
                    &LinkChange {
                        up: Some(true),
                        ..LinkChange::default()
                    },
                )?;
            }
        }
    }
    let index = match links.iter().find(|l| l.name == spec.name) {
        None => {
            let new = spec.to_new_link(&links)?;
            changes.push(format!("create {} {}", spec.kind.name(), spec.name));
            if dry_run {
                return Ok(changes);
            }
            let link = kernel.netlink().add_link(&new)?;
            applied.created_link = true;
            link.index
        }
        Some(link) => match spec.compare(link, &links) {
            LinkDiff::Same => link.index,
            LinkDiff::Change(kind) => {
                changes.push(format!(
                    "change the {} settings of {}",
                    spec.kind.name(),
                    spec.name
                ));
                // The kernel takes a CAN device's bit timing only while it
                // is down; the stanza's `apply` sets it up again.
                let can_up = matches!(kind, LinkKind::Can(_)) && link.up;
                if can_up {
                    changes.push(format!("set {} down for the change", spec.name));
                }
                if !dry_run {
                    if can_up {
                        kernel.netlink().set_link(
                            link.index,
                            &LinkChange {
                                up: Some(false),
                                ..LinkChange::default()
                            },
                        )?;
                    }
                    change_kind(kernel, link, &links, &kind)?;
                }
                link.index
            }
            LinkDiff::Recreate(_) if matches!(spec.kind, LinkSpecKind::Can(_)) => {
                let what = link.kind.as_deref().unwrap_or("not a virtual link");
                return Err(ApplyError::Link(crate::links::LinkError::Unsupported {
                    iface: spec.name.clone(),
                    option: "bitrate".to_string(),
                    reason: format!(
                        "{} is {what}, not a CAN device with bit timing (`ip link set {} type \
                         can bitrate` fails on it too)",
                        spec.name, spec.name
                    ),
                }));
            }
            // Debian's own `eth0.10` rule creates the vlan only when no link
            // of that name exists, and otherwise leaves what is there.
            LinkDiff::Recreate(_) if vlan_by_name_only(spec) => return Ok(changes),
            LinkDiff::Recreate(reason) => return Err(ApplyError::LinkConflict(reason)),
        },
    };
    let names: Vec<String> = links.iter().map(|l| l.name.clone()).collect();
    let (mut ports, port_of) = match &spec.kind {
        LinkSpecKind::Bridge(b) => (b.ports_now(&spec.name, &links), PortOf::bridge(b)),
        LinkSpecKind::Bond(b) => (b.slaves.resolve(&spec.name, &names), PortOf::Bond),
        _ => (Vec::new(), PortOf::Bond),
    };
    for extra in extra_ports {
        if !ports.contains(extra) {
            ports.push(extra.clone());
        }
    }
    let mut joined = Vec::new();
    for port in ports {
        let Some(link) = links.iter().find(|l| l.name == port) else {
            changes.push(format!(
                "{port} is not there (yet): it joins {} when it appears",
                spec.name
            ));
            continue;
        };
        changes.extend(join(
            kernel, link, index, &spec.name, port_of, applied, dry_run,
        )?);
        joined.push(link.clone());
    }
    if let LinkSpecKind::Bridge(b) = &spec.kind {
        changes.extend(bridge_vlans::apply_ports(kernel, b, &joined, dry_run)?);
    }
    if let LinkSpecKind::Vlan(v) = &spec.kind {
        changes.extend(bridge_vlans::join_bridge_itself(
            kernel, &spec.name, v, &links, applied, dry_run,
        )?);
    }
    if let LinkSpecKind::Bond(b) = &spec.kind {
        changes.extend(bond_primary(kernel, &spec.name, &b.primary, dry_run)?);
    }
    Ok(changes)
}

/// Changes a bridge's or bond's attributes in place. A bond takes some
/// only while down (mode, ad_select, lacp_rate; ifenslave's hook puts it
/// down for xmit_hash_policy and tlb_dynamic_lb too, and so here): it goes
/// down for the change and up again after. Its mode and fail_over_mac
/// change only without slaves, which the kernel refuses otherwise: that
/// is said before anything is touched.
fn change_kind(
    kernel: &mut impl KernelState,
    link: &Link,
    links: &[Link],
    kind: &LinkKind,
) -> Result<(), ApplyError> {
    let LinkKind::Bond(bond) = kind else {
        kernel.netlink().set_link_kind(link.index, kind)?;
        return Ok(());
    };
    let slaves: Vec<&str> = links
        .iter()
        .filter(|l| l.master == Some(link.index))
        .map(|l| l.name.as_str())
        .collect();
    if bond.needs_no_slaves() && !slaves.is_empty() {
        return Err(ApplyError::LinkConflict(format!(
            "{}: its mode and bond-fail-over-mac change only without slaves, and {} {} in it \
             (ifdown it, then ifup)",
            link.name,
            slaves.join(", "),
            if slaves.len() == 1 { "is" } else { "are" }
        )));
    }
    let bounce = bond.needs_down() && link.up;
    let set_up = |kernel: &mut _, up| {
        let change = LinkChange {
            up: Some(up),
            ..LinkChange::default()
        };
        Netlink::set_link(KernelState::netlink(kernel), link.index, &change)
    };
    if bounce {
        set_up(kernel, false)?;
    }
    let result = kernel.netlink().set_link_kind(link.index, kind);
    if bounce {
        set_up(kernel, true)?;
    }
    Ok(result?)
}

/// ifenslave's `setup_primary`: the first of `primary` (`bond-primary`)
/// that is a slave of `bond` now becomes its primary; when none is, the
/// primary stays as it is. Run after slaves join.
pub fn bond_primary(
    kernel: &mut impl KernelState,
    bond: &str,
    primary: &[String],
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    if primary.is_empty() {
        return Ok(Vec::new());
    }
    let links = kernel.links()?;
    let Some(master) = links.iter().find(|l| l.name == bond) else {
        return Ok(Vec::new());
    };
    let Some(slave) = primary.iter().find_map(|name| {
        links
            .iter()
            .find(|l| l.name == *name && l.master == Some(master.index))
    }) else {
        return Ok(Vec::new());
    };
    let have = match &master.details {
        Some(LinkKind::Bond(attrs)) => attrs.primary,
        _ => None,
    };
    if have == Some(slave.index) {
        return Ok(Vec::new());
    }
    let change = format!("make {} the primary of {bond}", slave.name);
    if !dry_run {
        let kind = LinkKind::Bond(BondAttrs {
            primary: Some(slave.index),
            ..BondAttrs::default()
        });
        kernel.netlink().set_link_kind(master.index, &kind)?;
    }
    Ok(vec![change])
}

fn vlan_by_name_only(spec: &LinkSpec) -> bool {
    matches!(
        &spec.kind,
        LinkSpecKind::Vlan(v) if v.source == crate::links::VlanSource::Name
    )
}

/// What a port joins, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortOf {
    /// A bond, which takes only slaves that are down.
    Bond,
    /// A bridge. As bridge-utils' hook does to each port it adds, the port
    /// gets no IPv6 address of its own (`addrgenmode none`: it is a
    /// bridge's port, not a host's interface) and the bridge stanza's
    /// `mtu`, if it has one. Neither is undone when the port leaves (nor
    /// is it by bridge-utils).
    Bridge { mtu: Option<u32> },
}

impl PortOf {
    pub fn bridge(spec: &crate::links::BridgeSpec) -> PortOf {
        PortOf::Bridge { mtu: spec.port_mtu }
    }
}

/// Adds `port` to the bridge or bond `master` (index `index`) and sets it
/// up, unless it is in already.
pub fn join(
    kernel: &mut impl KernelState,
    port: &Link,
    index: u32,
    master: &str,
    port_of: PortOf,
    applied: &mut Applied,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    if port.master == Some(index) {
        // Joined already (an earlier ifup of it was cut short): it is the
        // link's port all the same, and up as a port is.
        if !applied.ports.contains(&port.name) {
            applied.ports.push(port.name.clone());
        }
        if port.up || dry_run {
            return Ok(Vec::new());
        }
        let up = LinkChange {
            up: Some(true),
            ..LinkChange::default()
        };
        kernel.netlink().set_link(port.index, &up)?;
        return Ok(vec![format!("set {} up", port.name)]);
    }
    let change = format!("add {} to {master}", port.name);
    if dry_run {
        return Ok(vec![change]);
    }
    let mut mtu = None;
    if let PortOf::Bridge { mtu: want } = port_of {
        // `ip link set PORT addrgenmode none`, as a sysctl write: mode 1.
        // Without IPv6 on the port there is nothing to turn off.
        match netconf_kernel::netlink::set_ipv6_conf(&port.name, "addr_gen_mode", "1") {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ApplyError::Sysctl {
                    iface: port.name.clone(),
                    key: "addr_gen_mode".into(),
                    source,
                })
            }
        }
        mtu = want.filter(|m| *m != port.mtu);
    }
    if port_of == PortOf::Bond && port.up {
        // A bond takes only slaves that are down.
        kernel.netlink().set_link(
            port.index,
            &LinkChange {
                up: Some(false),
                ..LinkChange::default()
            },
        )?;
    }
    // A bond's slave joins, then goes up, in two requests: in one, the
    // kernel applies the flags first (rtnetlink's do_setlink), and a bond
    // refuses a slave that is up ("Device can not be enslaved while up").
    let bond = port_of == PortOf::Bond;
    kernel.netlink().set_link(
        port.index,
        &LinkChange {
            master: Some(index),
            up: (!bond).then_some(true),
            mtu,
            ..LinkChange::default()
        },
    )?;
    if bond {
        kernel.netlink().set_link(
            port.index,
            &LinkChange {
                up: Some(true),
                ..LinkChange::default()
            },
        )?;
    }
    applied.ports.push(port.name.clone());
    Ok(vec![change])
}

/// Why `remove` runs: `ifdown` takes away everything the stanza owns; a
/// rollback only what this very `ifup` added, and restores what it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `delete_as_group`: a link netconf created is not deleted here but
    /// put down into that group, for the caller to delete the whole group
    /// in one request when its `ifdown` is done.
    Ifdown {
        link_down: bool,
        delete_as_group: Option<u32>,
    },
    Rollback,
}

impl Removal {
    /// What a DHCP lease put in going: addresses and routes only.
    pub const LEASE: Removal = Removal::Ifdown {
        link_down: false,
        delete_as_group: None,
    };
}

/// Undoes `applied`. Missing addresses and routes are fine (someone removed
/// them already); other errors are collected and the rest still undone.
pub fn remove(
    kernel: &mut impl KernelState,
    applied: &Applied,
    how: Removal,
    dry_run: bool,
) -> (Vec<String>, Vec<ApplyError>) {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    let device = applied.device.as_str();
    let link = match kernel.link_by_name(device) {
        Ok(Some(link)) => link,
        // The link is gone: so is everything on it.
        Ok(None) => return (changes, errors),
        Err(e) => return (changes, vec![e.into()]),
    };
    let index = link.index;
    let rollback = how == Removal::Rollback;
    let table = applied.route_table.unwrap_or(MAIN_TABLE);

    // A route's delete request without a metric matches any metric: one
    // that is gone already must not take another of the same destination
    // with it (a lease's new route, after a crash).
    let mut present = Vec::new();
    for family in [NlFamily::V4, NlFamily::V6] {
        if applied
            .routes
            .iter()
            .any(|r| route_family(&r.route) == family)
        {
            match kernel.routes_in(index, family, table) {
                Ok(routes) => present.extend(routes),
                Err(e) => return (changes, vec![e.into()]),
            }
        }
    }
    for r in applied
        .routes
        .iter()
        .rev()
        .filter(|r| !(rollback && r.preexisting))
        .filter(|r| present.iter().any(|p| r.route.matches(p)))
    {
        changes.push(format!("remove route {} dev {device}", r.route));
        if !dry_run {
            if let Err(e) = kernel
                .netlink()
                .del_route(&new_route(index, &r.route, table))
            {
                if !is_gone(&e) {
                    errors.push(e.into());
                }
            }
        }
    }
    for a in applied
        .addresses
        .iter()
        .rev()
        .filter(|a| !(rollback && a.preexisting))
    {
        changes.push(format!(
            "remove address {}/{} from {device}",
            a.addr, a.prefix_len
        ));
        if !dry_run {
            if let Err(e) = kernel
                .netlink()
                .del_address(index, a.addr, a.prefix_len, a.peer)
            {
                if !is_gone(&e) {
                    errors.push(e.into());
                }
            }
        }
    }
    match vrf::leave_vrf(kernel, applied, index, link.master, dry_run) {
        Ok(left) => changes.extend(left),
        Err(e) => errors.push(e),
    }
    match bridge_vlans::leave_bridge_itself(kernel, applied, dry_run) {
        Ok(left) => changes.extend(left),
        Err(e) => errors.push(e),
    }
    let mut change = LinkChange {
        alias: applied
            .previous_alias
            .clone()
            .filter(|a| link.alias.as_deref().unwrap_or_default() != a),
        ..LinkChange::default()
    };
    match how {
        Removal::Rollback => {
            change.mtu = applied.previous_mtu.filter(|m| *m != link.mtu);
            change.mac = applied
                .previous_mac
                .as_deref()
                .and_then(|m| <[u8; 6]>::try_from(m).ok())
                .filter(|m| link.mac.as_deref() != Some(&m[..]));
            if applied.set_up && link.up {
                change.up = Some(false);
            }
            for (key, previous) in applied.ipv6_conf.iter().rev() {
                changes.push(format!("set net.ipv6.conf.{device}.{key} = {previous}"));
                if !dry_run {
                    if let Err(source) =
                        netconf_kernel::netlink::set_ipv6_conf(device, key, previous)
                    {
                        errors.push(ApplyError::Sysctl {
                            iface: device.to_string(),
                            key: key.clone(),
                            source,
                        });
                    }
                }
            }
        }
        Removal::Ifdown { link_down, .. } => {
            if link_down && link.up {
                change.up = Some(false);
            }
        }
    }
    if change != LinkChange::default() {
        if change.up == Some(false) {
            changes.push(format!("set {device} down"));
        }
        if let Some(m) = change.mtu {
            changes.push(format!("set {device} mtu {m}"));
        }
        if let Some(a) = &change.alias {
            changes.push(format!("set {device} alias {a:?}"));
        }
        if !dry_run {
            if let Err(e) = kernel.netlink().set_link(index, &change) {
                errors.push(e.into());
            }
        }
    }
    // Ports go out (and down, as bridge-utils leaves them) before a link
    // netconf created is deleted.
    for port in applied.ports.iter().rev() {
        let Ok(Some(p)) = kernel.link_by_name(port) else {
            continue;
        };
        if p.master != Some(index) {
            continue;
        }
        changes.push(format!("take {port} out of {device}"));
        if !dry_run {
            // A link that goes lets its ports go itself, all in one batch
            // with the deletion; taking each out first costs the kernel a
            // wait for RCU per port.
            let release = LinkChange {
                master: (!applied.created_link).then_some(0),
                up: Some(false),
                ..LinkChange::default()
            };
            if let Err(e) = kernel.netlink().set_link(p.index, &release) {
                if !is_gone(&e) {
                    errors.push(e.into());
                }
            }
        }
    }
    if applied.created_link {
        changes.push(format!("delete {device}"));
        if !dry_run {
            let deleted = match how {
                Removal::Ifdown {
                    delete_as_group: Some(group),
                    ..
                } => {
                    let doomed = LinkChange {
                        up: Some(false),
                        group: Some(group),
                        ..LinkChange::default()
                    };
                    kernel.netlink().set_link(index, &doomed)
                }
                _ => kernel.netlink().del_link(index),
            };
            if let Err(e) = deleted {
                if !is_gone(&e) {
                    errors.push(e.into());
                }
            }
        }
    }
    (changes, errors)
}

/// Errors that mean "already not there".
fn is_gone(e: &NetlinkError) -> bool {
    matches!(
        e.errno(),
        Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ENODEV)
    )
}
