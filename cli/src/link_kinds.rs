//! The link kinds of a link as interfaces(5) options, for `ifquery
//! --running` (what the kernel shows) and `--check` (each such option of a
//! stanza against the kernel): `vrf-table` and a member's `vrf`,
//! `link-type` with the lower device and mode of a macvtap or an ipvlan, a
//! dummy, a WireGuard link, a vxlan's `vxlan-*`, a VLAN-aware bridge's port's
//! `bridge-vids`/`bridge-pvid` (and `bridge-access` in `--check`), and a
//! CAN device's `can static` options.

use crate::kernel_view::KernelView;
use netconf_interfaces::linkopts::option_key;
use netconf_kernel::netlink::{CanCtrl, Link, LinkKind};
use netconf_methods::links::parse_bool;

/// `can static`'s on/off options, as Debian names them.
const CAN_CTRL: [(&str, CanCtrl); 5] = [
    ("loopback", CanCtrl::Loopback),
    ("listenonly", CanCtrl::ListenOnly),
    ("triple", CanCtrl::TripleSampling),
    ("oneshot", CanCtrl::OneShot),
    ("berr", CanCtrl::BerrReporting),
];

/// The options that say what `link` is, in the spelling `ifquery
/// --running` prints.
pub fn kind_options(view: &KernelView, link: &Link) -> Vec<(&'static str, String)> {
    let name_of = |index: Option<u32>| {
        index
            .and_then(|i| view.link_by_index(i))
            .map(|l| l.name.clone())
    };
    let mut out = Vec::new();
    match &link.details {
        Some(LinkKind::Vrf(v)) => out.push(("vrf-table", v.table.to_string())),
        Some(LinkKind::Dummy) => out.push(("link-type", "dummy".to_string())),
        // Its keys and peers are generic netlink's (`wg showconf`), not shown.
        Some(LinkKind::Wireguard) => out.push(("link-type", "wireguard".to_string())),
        Some(LinkKind::Macvtap(m)) => {
            out.push(("link-type", "macvtap".to_string()));
            if let Some(lower) = name_of(link.parent) {
                out.push(("macvlan-raw-device", lower));
            }
            if let Some(mode) = m.mode {
                let mode = serde_json::to_value(mode).ok();
                if let Some(mode) = mode.as_ref().and_then(|m| m.as_str()) {
                    out.push(("macvtap-mode", mode.to_string()));
                }
            }
        }
        Some(LinkKind::Ipvlan(i)) => {
            out.push(("link-type", "ipvlan".to_string()));
            if let Some(lower) = name_of(link.parent) {
                out.push(("ipvlan-raw-device", lower));
            }
            out.push(("ipvlan-mode", i.mode.name().to_string()));
        }
        Some(LinkKind::Vxlan(v)) => {
            out.push(("vxlan-id", v.id.to_string()));
            if let Some(local) = v.local {
                out.push(("vxlan-local-tunnelip", local.to_string()));
            }
            if let Some(remote) = v.remote {
                out.push(("vxlan-remote-ip", remote.to_string()));
            }
            out.push(("vxlan-port", v.port.to_string()));
            if let Some(dev) = name_of(v.link) {
                out.push(("vxlan-physdev", dev));
            }
        }
        Some(LinkKind::Can(c)) => {
            if let Some(bitrate) = c.bitrate {
                out.push(("bitrate", bitrate.to_string()));
            }
            if let Some(sp) = c.sample_point {
                out.push(("samplepoint", format!("0.{sp:03}")));
            }
            for (option, mode) in CAN_CTRL {
                if let Some((_, on)) = c.ctrl.iter().find(|(m, _)| *m == mode) {
                    out.push((option, if *on { "on" } else { "off" }.to_string()));
                }
            }
            if let Some(ms) = c.restart_ms {
                out.push(("restart-ms", ms.to_string()));
            }
        }
        _ => {}
    }
    if let Some(master) = link.master.and_then(|i| view.link_by_index(i)) {
        if matches!(master.details, Some(LinkKind::Vrf(_))) {
            out.push(("vrf", master.name.clone()));
        }
        if let Some((vids, pvid)) = port_vlans(view, link, master) {
            if !vids.is_empty() {
                let words: Vec<String> = vids.iter().map(u16::to_string).collect();
                out.push(("bridge-vids", words.join(" ")));
            }
            if let Some(pvid) = pvid {
                out.push(("bridge-pvid", pvid.to_string()));
            }
        }
    }
    out
}

/// A port's VLANs in a VLAN-aware bridge `master`: all of them, and its
/// PVID; `None` when `master` is no VLAN-aware bridge.
fn port_vlans(view: &KernelView, link: &Link, master: &Link) -> Option<(Vec<u16>, Option<u16>)> {
    match &master.details {
        Some(LinkKind::Bridge(b)) if b.vlan_filtering == Some(true) => {}
        _ => return None,
    }
    let vlans = view.bridge_vlans(link);
    let mut vids: Vec<u16> = vlans.iter().map(|v| v.vid).collect();
    vids.sort_unstable();
    Some((vids, vlans.iter().find(|v| v.pvid).map(|v| v.vid)))
}

/// `10 20-22` as a list of VLAN ids; `None` when it is not one.
fn vid_list(text: &str) -> Option<Vec<u16>> {
    let mut out = Vec::new();
    for word in text.split_ascii_whitespace() {
        let (lo, hi) = match word.split_once('-') {
            Some((lo, hi)) => (lo.parse::<u16>().ok()?, hi.parse::<u16>().ok()?),
            None => (word.parse().ok()?, word.parse().ok()?),
        };
        out.extend(lo..=hi);
    }
    Some(out)
}

/// A port's `bridge-vids`, `bridge-pvid` and `bridge-access` against its
/// VLANs in the kernel, when it is a port of a VLAN-aware bridge.
fn judge_port_vlans(
    view: &KernelView,
    link: &Link,
    key: &str,
    value: &str,
) -> Option<(bool, String)> {
    let master = link.master.and_then(|i| view.link_by_index(i))?;
    let (vids, pvid) = port_vlans(view, link, master)?;
    let words: Vec<String> = vids.iter().map(u16::to_string).collect();
    let running = words.join(" ");
    Some(match key {
        // Each VLAN named is the port's (the PVID counts).
        "BRIDGE_VIDS" => (
            vid_list(value).is_some_and(|want| want.iter().all(|v| vids.contains(v))),
            running,
        ),
        "BRIDGE_PVID" => (
            value.trim().parse::<u16>().ok() == pvid,
            pvid.map(|p| p.to_string()).unwrap_or_default(),
        ),
        // One VLAN, untagged, the PVID.
        _ => {
            let access = value.trim().parse::<u16>().ok();
            let untagged = view
                .bridge_vlans(link)
                .iter()
                .all(|v| v.untagged && Some(v.vid) == access);
            (vids.len() == 1 && pvid == access && untagged, running)
        }
    })
}

/// The verdict on one option of a stanza about link kinds (pass or not,
/// and the kernel's value), or `None` when the option is not one of them.
pub fn judge(view: &KernelView, link: &Link, option: &str, value: &str) -> Option<(bool, String)> {
    let key = option_key(option);
    // Other spellings of the same option.
    let canonical = match key.as_str() {
        "VRF_MEMBER" => "VRF".to_string(),
        "BRIDGE_TRUNK" => "BRIDGE_VIDS".to_string(),
        "MACVLAN_MODE" => "MACVTAP_MODE".to_string(),
        "VXLAN_LOCAL_IP" => "VXLAN_LOCAL_TUNNELIP".to_string(),
        "VXLAN_REMOTEIP" => "VXLAN_REMOTE_IP".to_string(),
        "VXLAN_DSTPORT" => "VXLAN_PORT".to_string(),
        "LINK" => match &link.details {
            Some(LinkKind::Ipvlan(_)) => "IPVLAN_RAW_DEVICE".to_string(),
            _ => "MACVLAN_RAW_DEVICE".to_string(),
        },
        _ => key,
    };
    if matches!(
        canonical.as_str(),
        "BRIDGE_VIDS" | "BRIDGE_PVID" | "BRIDGE_ACCESS"
    ) {
        return judge_port_vlans(view, link, &canonical, value);
    }
    let options = kind_options(view, link);
    let known = [
        "VRF_TABLE",
        "VRF",
        "LINK_TYPE",
        "MACVLAN_RAW_DEVICE",
        "MACVTAP_MODE",
        "IPVLAN_RAW_DEVICE",
        "IPVLAN_MODE",
        "VXLAN_ID",
        "VXLAN_LOCAL_TUNNELIP",
        "VXLAN_REMOTE_IP",
        "VXLAN_PORT",
        "VXLAN_PHYSDEV",
        "BITRATE",
        "SAMPLEPOINT",
        "LOOPBACK",
        "LISTENONLY",
        "TRIPLE",
        "ONESHOT",
        "BERR",
        "RESTART_MS",
    ];
    if !known.contains(&canonical.as_str()) {
        return None;
    }
    let have = options
        .iter()
        .find(|(name, _)| option_key(name) == canonical)
        .map(|(_, v)| v.clone());
    let want = value.trim();
    let pass = match (&have, canonical.as_str()) {
        (None, _) => false,
        (Some(_), "VRF_TABLE") if want == "auto" => true,
        (Some(h), "LOOPBACK" | "LISTENONLY" | "TRIPLE" | "ONESHOT" | "BERR") => {
            parse_bool(want).is_some() && parse_bool(want) == parse_bool(h)
        }
        (Some(h), "SAMPLEPOINT") => {
            want.parse::<f64>().ok().map(|w| (w * 1000.0).round())
                == h.parse::<f64>().ok().map(|h| (h * 1000.0).round())
        }
        (Some(h), _) => h.eq_ignore_ascii_case(want),
    };
    Some((pass, have.unwrap_or_default()))
}

/// What `ifup` would refuse in a stanza's link options (a macvtap without
/// its lower device, a `vrf-table` that is no table, a `can static`
/// `bitrate` out of range, ...), with the stanza's place: for `ifquery
/// --syntax-check`. Each stanza's options as `ifup` reads them (defaults
/// applied); a `bitrate` missing from `can static` is the method's
/// required option, reported by `missing_required` already.
pub fn link_option_diagnostics(
    config: &netconf_interfaces::InterfacesFile,
) -> Vec<netconf_interfaces::Diagnostic> {
    use netconf_interfaces::{Diagnostic, DiagnosticKind, Variables};
    use netconf_methods::links::{stanza_links, LinkError};
    use netconf_methods::provider::StanzaConfig;
    let mut out = Vec::new();
    for stanza in &config.stanzas {
        let mut vars = Variables::from_stanza(stanza);
        if let Some(def) = netconf_interfaces::families::method_def(stanza.family, &stanza.method) {
            vars.apply_defaults(def);
        }
        let cfg = StanzaConfig {
            iface: stanza.name.clone(),
            logical: stanza.name.clone(),
            family: stanza.family,
            method: stanza.method.clone(),
            vars,
        };
        let kind = match stanza_links(&cfg) {
            Ok(_) => continue,
            Err(LinkError::Missing { .. }) if stanza.family == netconf_interfaces::Family::Can => {
                continue
            }
            Err(LinkError::Missing { needs, .. }) => DiagnosticKind::MissingRequired {
                iface: stanza.name.clone(),
                family: stanza.family,
                method: stanza.method.clone(),
                option: needs,
            },
            Err(LinkError::Invalid {
                option,
                value,
                reason,
                ..
            }) => DiagnosticKind::InvalidOption {
                iface: stanza.name.clone(),
                option,
                value,
                reason,
            },
            Err(LinkError::Conflict {
                option,
                value,
                other,
                ..
            }) => DiagnosticKind::InvalidOption {
                iface: stanza.name.clone(),
                option,
                value,
                reason: format!("contradicts {other}"),
            },
            Err(LinkError::Unsupported { option, reason, .. }) => DiagnosticKind::InvalidOption {
                iface: stanza.name.clone(),
                option,
                value: String::new(),
                reason,
            },
            Err(LinkError::NoDevice { .. }) => continue,
        };
        out.push(Diagnostic {
            kind,
            location: stanza.location,
            debian_prints: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{parse_bytes, ParseOptions};

    #[test]
    fn syntax_check_of_link_options() {
        let text = "iface mvt0 inet manual\n    link-type macvtap\n\n\
                    iface red inet manual\n    vrf-table main\n\n\
                    iface can0 can static\n    bitrate 125000\n    triple yes\n\n\
                    iface can1 can static\n\n\
                    iface ipv0 inet manual\n    link-type ipvlan\n    link eth0\n\n\
                    iface d0 inet manual\n    vrf red\n";
        let parsed = parse_bytes("interfaces", text.as_bytes(), &ParseOptions::default());
        let reports: Vec<String> = link_option_diagnostics(&parsed.config)
            .iter()
            .map(|d| d.report(&parsed.config))
            .collect();
        assert_eq!(
            reports,
            [
                "interfaces:1: error: iface mvt0 (inet manual) lacks `macvlan-raw-device (or \
                 link)`, which `ifup` requires",
                "interfaces:4: error: iface red: `vrf-table main`: is not a routing table (1 to \
                 4294967295, not 253 to 255) or auto",
                "interfaces:7: error: iface can0: `triple yes`: is not on or off",
            ]
        );
    }
}
