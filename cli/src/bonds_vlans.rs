//! Bonds, VLANs and bridges in `ifquery --running` and `--check`: the
//! kernel's settings of a bond (`IFLA_BOND_*`, its slaves) and a VLAN (raw
//! device, id, protocol) as ifenslave's and ifupdown2's option lines, and
//! the judgement of a stanza's such lines (and a bridge's ports and
//! `IFLA_BR_*` settings) against them.
//!
//! One renderer ([`bond_value`]) writes an option's value from the
//! kernel's attributes and from the stanza's (parsed by the same code
//! `ifup` uses, `netconf_methods::links`), so that `yes` and `1`, `4` and
//! `802.3ad` compare equal.

use crate::kernel_view::KernelView;
use netconf_interfaces::linkopts::{vlan_name, VlanName};
use netconf_kernel::netlink::{BondAttrs, BridgeAttrs, LacpRate, Link, LinkKind, VlanProtocol};
use netconf_methods::links::{BridgeSpec, LinkSpecKind, StanzaLinks};

/// The bond options `--running` shows, in ifenslave's order, when the
/// kernel's value is not its default for a new bond.
const BOND_OPTIONS: [&str; 19] = [
    "bond-mode",
    "bond-miimon",
    "bond-updelay",
    "bond-downdelay",
    "bond-use-carrier",
    "bond-arp-interval",
    "bond-arp-ip-target",
    "bond-arp-validate",
    "bond-arp-all-targets",
    "bond-ad-select",
    "bond-lacp-rate",
    "bond-xmit-hash-policy",
    "bond-min-links",
    "bond-fail-over-mac",
    "bond-num-grat-arp",
    "bond-all-slaves-active",
    "bond-packets-per-slave",
    "bond-tlb-dynamic-lb",
    "bond-primary-reselect",
];

/// The value of bond option `option` in `attrs`, as `--running` writes it;
/// `None` when `attrs` leaves it unset. `bond-num-unsol-na` is
/// `bond-num-grat-arp` (one setting of the kernel).
pub fn bond_value(attrs: &BondAttrs, option: &str) -> Option<String> {
    let bool01 = |b: bool| if b { "1" } else { "0" }.to_string();
    let key = option.replace('_', "-");
    Some(match key.as_str() {
        "bond-mode" => attrs.mode?.name().to_string(),
        "bond-miimon" => attrs.miimon?.to_string(),
        "bond-updelay" => attrs.updelay?.to_string(),
        "bond-downdelay" => attrs.downdelay?.to_string(),
        "bond-use-carrier" => bool01(attrs.use_carrier?),
        "bond-arp-interval" => attrs.arp_interval?.to_string(),
        "bond-arp-ip-target" => {
            let targets: Vec<String> = attrs
                .arp_ip_target
                .as_ref()?
                .iter()
                .map(ToString::to_string)
                .collect();
            targets.join(" ")
        }
        "bond-arp-validate" => attrs.arp_validate?.name().to_string(),
        "bond-arp-all-targets" => attrs.arp_all_targets?.name().to_string(),
        "bond-ad-select" => attrs.ad_select?.name().to_string(),
        "bond-lacp-rate" => match attrs.lacp_rate? {
            LacpRate::Slow => "slow".to_string(),
            LacpRate::Fast => "fast".to_string(),
        },
        "bond-xmit-hash-policy" => attrs.xmit_hash_policy?.name().to_string(),
        "bond-min-links" => attrs.min_links?.to_string(),
        "bond-fail-over-mac" => attrs.fail_over_mac?.name().to_string(),
        "bond-num-grat-arp" | "bond-num-unsol-na" => attrs.num_peer_notif?.to_string(),
        "bond-all-slaves-active" => bool01(attrs.all_slaves_active?),
        "bond-packets-per-slave" => attrs.packets_per_slave?.to_string(),
        "bond-tlb-dynamic-lb" => bool01(attrs.tlb_dynamic_lb?),
        "bond-primary-reselect" => attrs.primary_reselect?.name().to_string(),
        _ => return None,
    })
}

/// What a new bond has (Linux 6.1): `--running` leaves these out.
fn is_default(option: &str, value: &str) -> bool {
    matches!(
        (option, value),
        ("bond-mode", "balance-rr")
            | ("bond-miimon" | "bond-updelay" | "bond-downdelay", "0")
            | ("bond-use-carrier", "1")
            | ("bond-arp-interval", "0")
            | ("bond-arp-ip-target", "")
            | ("bond-arp-validate", "none")
            | ("bond-arp-all-targets", "any")
            | ("bond-ad-select", "stable")
            | ("bond-lacp-rate", "slow")
            | ("bond-xmit-hash-policy", "layer2")
            | ("bond-min-links", "0")
            | ("bond-fail-over-mac", "none")
            | ("bond-num-grat-arp", "1")
            | ("bond-all-slaves-active", "0")
            | ("bond-packets-per-slave", "1")
            | ("bond-tlb-dynamic-lb", "1")
            | ("bond-primary-reselect", "always")
    )
}

/// The slaves of `bond`, by name, in ifindex order.
fn slaves<'a>(view: &'a KernelView, bond: &Link) -> Vec<&'a str> {
    view.links()
        .iter()
        .filter(|l| l.master == Some(bond.index))
        .map(|l| l.name.as_str())
        .collect()
}

fn name_of(view: &KernelView, index: Option<u32>) -> Option<&str> {
    let index = index?;
    view.links()
        .iter()
        .find(|l| l.index == index)
        .map(|l| l.name.as_str())
}

/// The option lines of a bond's or VLAN's own settings, for `--running`.
pub fn running_options(view: &KernelView, link: &Link) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match &link.details {
        Some(LinkKind::Bond(attrs)) => {
            let slaves = slaves(view, link);
            out.push((
                "bond-slaves",
                if slaves.is_empty() {
                    "none".to_string()
                } else {
                    slaves.join(" ")
                },
            ));
            for option in BOND_OPTIONS {
                let value = bond_value(attrs, option).unwrap_or_default();
                // A mode is always worth saying; the rest when not the default.
                if (option == "bond-mode" || !is_default(option, &value)) && !value.is_empty() {
                    out.push((option, value));
                }
            }
            if let Some(primary) = name_of(view, attrs.primary) {
                out.push(("bond-primary", primary.to_string()));
            }
        }
        Some(LinkKind::Vlan(vlan)) => {
            let raw = name_of(view, link.parent).unwrap_or("?");
            match vlan_name(&link.name) {
                // `eth0.10` says both.
                Some(VlanName { raw: Some(r), id }) if r == raw && id == u32::from(vlan.id) => {}
                // `vlan10` says the id.
                Some(VlanName { raw: None, id }) if id == u32::from(vlan.id) => {
                    out.push(("vlan-raw-device", raw.to_string()));
                }
                _ => {
                    out.push(("vlan-raw-device", raw.to_string()));
                    out.push(("vlan-id", vlan.id.to_string()));
                }
            }
            if vlan.protocol == VlanProtocol::Dot1Ad {
                out.push(("vlan-protocol", "802.1ad".to_string()));
            }
        }
        _ => {}
    }
    out
}

/// `--check` of a bond or VLAN option line of a stanza whose links are
/// `links`, against `link` (the kernel's): `None` when the option is not
/// one of these (or the stanza makes no such link); else pass or fail and
/// the kernel's value.
pub fn check_option(
    view: &KernelView,
    link: &Link,
    links: &StanzaLinks,
    option: &str,
) -> Option<(bool, Option<String>)> {
    let key = option.replace('_', "-");
    if key == "bond-master" {
        let want = links.bond_master.as_deref()?;
        let have = name_of(view, link.master);
        return Some((have == Some(want), have.map(String::from)));
    }
    match (&links.link.as_ref()?.kind, &link.details) {
        (LinkSpecKind::Bond(spec), Some(LinkKind::Bond(have))) => {
            let slaves = slaves(view, link);
            match key.as_str() {
                "bond-slaves" | "bond-members" | "slaves" => {
                    let names: Vec<String> = slaves.iter().map(|s| s.to_string()).collect();
                    let want = spec.slaves.resolve(&link.name, &names);
                    let pass = want.iter().all(|w| slaves.contains(&w.as_str()));
                    Some((pass, Some(slaves.join(" "))))
                }
                "bond-primary" => {
                    // ifenslave's rule: the first listed that is a slave.
                    let want = spec.primary.iter().find(|p| slaves.contains(&p.as_str()));
                    let have = name_of(view, have.primary);
                    let pass = want.is_none_or(|w| have == Some(w.as_str()));
                    Some((pass, have.map(String::from)))
                }
                _ => {
                    let want = bond_value(&spec.attrs, &key)?;
                    let have_value = bond_value(have, &key);
                    // miimon is ignored beside ARP monitoring, as ifenslave
                    // has it; the spec says so by leaving it unset.
                    Some((have_value.as_deref() == Some(&want), have_value))
                }
            }
        }
        (LinkSpecKind::Vlan(spec), Some(LinkKind::Vlan(have))) => {
            let raw = name_of(view, link.parent);
            match key.as_str() {
                "vlan-raw-device" => {
                    Some((raw == Some(spec.raw_device.as_str()), raw.map(String::from)))
                }
                "vlan-id" => Some((have.id == spec.attrs.id, Some(have.id.to_string()))),
                "vlan-protocol" => {
                    let name = |p: VlanProtocol| match p {
                        VlanProtocol::Dot1Q => "802.1q",
                        VlanProtocol::Dot1Ad => "802.1ad",
                    };
                    Some((
                        have.protocol == spec.attrs.protocol,
                        Some(name(have.protocol).to_string()),
                    ))
                }
                _ => None,
            }
        }
        (LinkSpecKind::Bridge(spec), Some(LinkKind::Bridge(have))) => {
            check_bridge_option(view, link, spec, have, &key)
        }
        _ => None,
    }
}

/// A bridge's own option against the kernel's bridge: its ports, and the
/// settings `ifup` gives it (`BridgeAttrs`), each passing when `ifup` would
/// change nothing of it. Times within one kernel tick are the same, as
/// `ifup` has them. The kernel's value is written as ifupdown2's check
/// writes it (`yes`/`no`, seconds).
fn check_bridge_option(
    view: &KernelView,
    link: &Link,
    spec: &BridgeSpec,
    have: &BridgeAttrs,
    key: &str,
) -> Option<(bool, Option<String>)> {
    let yes_no = |b: Option<bool>| b.map(|b| if b { "yes" } else { "no" }.to_string());
    let seconds = |d: Option<std::time::Duration>| d.map(|d| d.as_secs().to_string());
    let mut want = BridgeAttrs::default();
    let running = match key {
        "bridge-ports" => {
            let ports = slaves(view, link);
            let wanted = spec.ports_now(&link.name, view.links());
            let pass = wanted.iter().all(|w| ports.contains(&w.as_str()));
            return Some((pass, Some(ports.join(" "))));
        }
        "bridge-stp" => {
            want.stp = spec.attrs.stp;
            yes_no(have.stp)
        }
        "bridge-vlan-aware" => {
            want.vlan_filtering = spec.attrs.vlan_filtering;
            yes_no(have.vlan_filtering)
        }
        "bridge-fd" => {
            want.forward_delay = spec.attrs.forward_delay;
            seconds(have.forward_delay)
        }
        "bridge-hello" => {
            want.hello_time = spec.attrs.hello_time;
            seconds(have.hello_time)
        }
        "bridge-maxage" => {
            want.max_age = spec.attrs.max_age;
            seconds(have.max_age)
        }
        "bridge-ageing" => {
            want.ageing_time = spec.attrs.ageing_time;
            seconds(have.ageing_time)
        }
        "bridge-bridgeprio" => {
            want.priority = spec.attrs.priority;
            have.priority.map(|p| p.to_string())
        }
        _ => return None,
    };
    if want == BridgeAttrs::default() {
        return None;
    }
    Some((want.changes_from(have).is_none(), running))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_kernel::netlink::{ArpValidate, BondMode, FailOverMac};

    #[test]
    fn values_and_defaults() {
        let attrs = BondAttrs {
            mode: Some(BondMode::ActiveBackup),
            arp_ip_target: Some(vec!["198.51.100.1".parse().unwrap()]),
            arp_validate: Some(ArpValidate::All),
            fail_over_mac: Some(FailOverMac::None),
            use_carrier: Some(true),
            num_peer_notif: Some(3),
            ..BondAttrs::default()
        };
        assert_eq!(bond_value(&attrs, "bond-mode").unwrap(), "active-backup");
        assert_eq!(
            bond_value(&attrs, "bond_arp_ip_target").unwrap(),
            "198.51.100.1"
        );
        assert_eq!(bond_value(&attrs, "bond-num-unsol-na").unwrap(), "3");
        assert_eq!(bond_value(&attrs, "bond-miimon"), None);
        assert_eq!(bond_value(&attrs, "bond-slaves"), None);
        assert!(is_default("bond-fail-over-mac", "none"));
        assert!(is_default("bond-use-carrier", "1"));
        assert!(!is_default("bond-arp-validate", "all"));
    }
}
