//! `ifquery --running`: the kernel's current configuration of interfaces,
//! written back in interfaces(5) syntax (as ifupdown2's `ifquery --running`
//! does), so that it can be read, compared or fed to `ifquery --check`.
//!
//! What is shown, per interface (see `docs/IFQUERY.md`):
//! - `auto NAME` when the configuration's `auto` class holds it;
//! - `lo`: `iface lo inet loopback`, with any global IPv4 address the kernel
//!   did not put there itself;
//! - global IPv4 addresses or an IPv4 default route: `inet static` with
//!   `address A/P` (and `pointopoint`), `gateway` and `metric` (the default
//!   route out of this link in the main table), `mtu` unless 1500; an alias
//!   (`eth0:1`) gets the addresses labelled with its name, its link all;
//! - permanent global IPv6 addresses: `inet6 static` likewise (addresses with
//!   a lifetime are SLAAC's, privacy extensions' or a DHCPv6 lease's: the
//!   kernel or dhclient made them, the configuration did not);
//! - an up link with neither: `inet manual`;
//! - a tunnel: `tunnel-mode`, `tunnel-local`, `tunnel-endpoint` and
//!   `tunnel-ttl` (ifupdown2's spelling) in its first stanza;
//! - pppd's link (kind `ppp`): `inet ppp`, and a link with avahi-autoipd's
//!   address (169.254.0.0/16 labelled `IFACE:avahi`): `inet ipv4ll`, with no
//!   options (the programs choose the addresses);
//! - `hwaddress` only when the configuration sets one (every link has a MAC;
//!   printing it for all would pin addresses nobody chose);
//! - what kind of link it is (`crate::link_kinds`): `vrf-table`, a
//!   member's `vrf`, `link-type` with a macvtap's or an ipvlan's lower device
//!   and mode, a vxlan's `vxlan-*`, with the first stanza; a CAN device as
//!   `can static` with its `bitrate` and modes;
//! - a bond's slaves and settings (`bond-slaves`, `bond-mode`, and the
//!   other `bond-*` options whose value is not a new bond's), a slave's
//!   `bond-master`, a VLAN's `vlan-raw-device` and `vlan-id` where its
//!   name does not say them, and `vlan-protocol 802.1ad`;
//! - a link that is down or absent: a `#` comment line saying so, which keeps
//!   the output a valid interfaces file (so does `# eth0:1: no addresses`
//!   for an alias without any).

use crate::kernel_view::{format_mac, metric_of, KernelView, IPV6_DEFAULT_METRIC};
use netconf_kernel::netlink::{Address, Family, Link};
use netconf_methods::apply::device_of;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The MTU Ethernet-like links start with; only other values are shown.
const DEFAULT_MTU: u32 = 1500;

/// One interface asked about.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name the kernel knows (`eth0`, or an alias `eth0:1`).
    pub name: String,
    /// In the configuration's `auto` class.
    pub auto: bool,
    /// The configuration sets `hwaddress` for it.
    pub wants_hwaddress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Up,
    Down,
    Absent,
}

impl LinkState {
    fn name(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Down => "down",
            LinkState::Absent => "absent",
        }
    }
}

/// One `iface` stanza of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    pub family: &'static str,
    pub method: &'static str,
    pub options: Vec<(&'static str, String)>,
}

/// What the kernel holds for one interface.
#[derive(Debug, Clone)]
pub struct Running {
    pub name: String,
    pub auto: bool,
    pub state: LinkState,
    pub stanzas: Vec<Stanza>,
}

/// Reads one interface's configuration out of the kernel snapshot.
pub fn running(view: &KernelView, target: &Target) -> Running {
    let name = target.name.as_str();
    let device = device_of(name);
    let alias = device != name;
    let Some(link) = view.link(device) else {
        return Running {
            name: name.to_string(),
            auto: target.auto,
            state: LinkState::Absent,
            stanzas: Vec::new(),
        };
    };
    let state = if link.up {
        LinkState::Up
    } else {
        LinkState::Down
    };

    // An alias (`eth0:1`) is the IPv4 addresses labelled with its name; the
    // link itself shows all of its addresses, aliases' included, so that
    // nothing the kernel holds goes unseen.
    let v4: Vec<&Address> = view
        .global_addresses(link, Family::V4)
        .filter(|a| !alias || a.label.as_deref() == Some(name))
        .collect();
    let v6: Vec<&Address> = if alias {
        Vec::new()
    } else {
        view.global_addresses(link, Family::V6)
            .filter(|a| a.valid_lft.is_none())
            .collect()
    };
    let gateway = |family| {
        if alias {
            None
        } else {
            view.default_routes(link, family).into_iter().next()
        }
    };
    let gw4 = gateway(Family::V4);
    let gw6 = gateway(Family::V6);

    let mut stanzas = Vec::new();
    // pppd's link (kind `ppp`): its addresses are pppd's to choose, from
    // the peers file the kernel does not know.
    let ppp = !alias && link.kind.as_deref() == Some("ppp");
    // avahi-autoipd's address: 169.254.0.0/16, labelled `IFACE:avahi` by
    // its action script.
    let avahi_label = format!("{device}:avahi");
    let ipv4ll = !alias
        && view.addresses(link, Family::V4).any(|a| match a.addr {
            std::net::IpAddr::V4(v4) => {
                v4.is_link_local() && a.label.as_deref() == Some(avahi_label.as_str())
            }
            _ => false,
        });
    if link.kind.as_deref() == Some("can") && !alias {
        // A CAN device has no addresses: Debian's `can static`.
        stanzas.push(Stanza {
            family: "can",
            method: "static",
            options: crate::link_kinds::kind_options(view, link),
        });
    } else if ppp {
        stanzas.push(Stanza {
            family: "inet",
            method: "ppp",
            options: Vec::new(),
        });
    } else if name == "lo" {
        let mut options = Vec::new();
        push_addresses(&mut options, &v4);
        stanzas.push(Stanza {
            family: "inet",
            method: "loopback",
            options,
        });
    } else {
        let v6_mtu = view
            .ipv6_conf(device, "mtu")
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(link.mtu);
        if ipv4ll {
            stanzas.push(Stanza {
                family: "inet",
                method: "ipv4ll",
                options: Vec::new(),
            });
        }
        // (avahi-autoipd's default route is its own.)
        if !v4.is_empty() || (gw4.is_some() && !ipv4ll) {
            let mut options = Vec::new();
            push_addresses(&mut options, &v4);
            if let Some(route) = gw4 {
                push_gateway(&mut options, route, 0);
            }
            if !alias {
                push_mtu(&mut options, link.mtu, DEFAULT_MTU);
                push_hwaddress(&mut options, link, target);
            }
            stanzas.push(Stanza {
                family: "inet",
                method: "static",
                options,
            });
        }
        if !v6.is_empty() {
            let mut options = Vec::new();
            push_addresses(&mut options, &v6);
            if let Some(route) = gw6 {
                push_gateway(&mut options, route, IPV6_DEFAULT_METRIC);
            }
            // inet6's `mtu` is IPv6's own MTU (Debian raises the link's to
            // it when lower): after an inet stanza that gave the link's, it
            // is worth a line only when it differs.
            if stanzas.is_empty() {
                push_mtu(&mut options, v6_mtu, DEFAULT_MTU);
                push_hwaddress(&mut options, link, target);
            } else {
                push_mtu(&mut options, v6_mtu, link.mtu);
            }
            stanzas.push(Stanza {
                family: "inet6",
                method: "static",
                options,
            });
        }
        if stanzas.is_empty() && link.up && !alias {
            let mut options = Vec::new();
            push_mtu(&mut options, link.mtu, DEFAULT_MTU);
            push_hwaddress(&mut options, link, target);
            stanzas.push(Stanza {
                family: "inet",
                method: "manual",
                options,
            });
        }
        // A tunnel's own options, in ifupdown2's spelling, which netconf
        // reads back as the same link.
        if !alias {
            if let Some(first) = stanzas.first_mut() {
                first.options.extend(crate::tunnels::running_options(link));
            }
        }
    }
    // What kind of link it is goes with its first stanza, and so do a
    // bond's or VLAN's own settings and a slave's bond.
    if !alias && link.kind.as_deref() != Some("can") {
        if let Some(first) = stanzas.first_mut() {
            first
                .options
                .extend(crate::link_kinds::kind_options(view, link));
            first
                .options
                .extend(crate::bonds_vlans::running_options(view, link));
            if let Some(bond) = link
                .master
                .and_then(|m| view.link_by_index(m))
                .filter(|m| m.kind.as_deref() == Some("bond"))
            {
                first.options.push(("bond-master", bond.name.clone()));
            }
        }
    }
    Running {
        name: name.to_string(),
        auto: target.auto,
        state,
        stanzas,
    }
}

fn push_addresses(options: &mut Vec<(&'static str, String)>, addresses: &[&Address]) {
    for a in addresses {
        options.push(("address", format!("{}/{}", a.addr, a.prefix_len)));
    }
    // interfaces(5) has one `pointopoint` per stanza: the first peer found.
    if let Some(peer) = addresses.iter().find_map(|a| a.peer) {
        options.push(("pointopoint", peer.to_string()));
    }
}

fn push_gateway(
    options: &mut Vec<(&'static str, String)>,
    route: &netconf_kernel::netlink::Route,
    default_metric: u32,
) {
    if let Some(gw) = route.gateway {
        options.push(("gateway", gw.to_string()));
        let metric = metric_of(route);
        if metric != default_metric {
            options.push(("metric", metric.to_string()));
        }
    }
}

fn push_mtu(options: &mut Vec<(&'static str, String)>, mtu: u32, unless: u32) {
    if mtu != unless {
        options.push(("mtu", mtu.to_string()));
    }
}

fn push_hwaddress(options: &mut Vec<(&'static str, String)>, link: &Link, target: &Target) {
    if target.wants_hwaddress {
        if let Some(mac) = link.mac.as_deref() {
            options.push(("hwaddress", format_mac(mac)));
        }
    }
}

/// The answer as interfaces(5) text: stanzas indented with a tab and
/// followed by an empty line, as ifupdown2 prints them.
pub fn render_text(all: &[Running]) -> String {
    let mut out = String::new();
    for r in all {
        match r.state {
            LinkState::Absent => {
                let _ = writeln!(out, "# {}: no such interface\n", r.name);
                continue;
            }
            LinkState::Down => {
                let _ = writeln!(out, "# {}: link is down", r.name);
            }
            LinkState::Up => {}
        }
        if r.auto && !r.stanzas.is_empty() {
            let _ = writeln!(out, "auto {}", r.name);
        }
        for s in &r.stanzas {
            let _ = writeln!(out, "iface {} {} {}", r.name, s.family, s.method);
            for (option, value) in &s.options {
                let _ = writeln!(out, "\t{option} {value}");
            }
            out.push('\n');
        }
        if r.stanzas.is_empty() {
            if r.state == LinkState::Up {
                // Only an alias can be up with nothing to show.
                let _ = writeln!(out, "# {}: no addresses", r.name);
            }
            out.push('\n');
        }
    }
    out
}

/// The answer as JSON (schema in `docs/IFQUERY.md`).
pub fn render_json(all: &[Running]) -> Value {
    Value::Array(
        all.iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "auto": r.auto,
                    "state": r.state.name(),
                    "stanzas": r.stanzas.iter().map(|s| json!({
                        "family": s.family,
                        "method": s.method,
                        "config": s.options.iter().map(|(o, v)| json!({
                            "option": o,
                            "value": v,
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_layout() {
        let all = vec![
            Running {
                name: "v0".into(),
                auto: true,
                state: LinkState::Up,
                stanzas: vec![Stanza {
                    family: "inet",
                    method: "static",
                    options: vec![
                        ("address", "198.51.100.10/24".into()),
                        ("gateway", "198.51.100.1".into()),
                    ],
                }],
            },
            Running {
                name: "v1".into(),
                auto: false,
                state: LinkState::Down,
                stanzas: Vec::new(),
            },
            Running {
                name: "v2".into(),
                auto: true,
                state: LinkState::Absent,
                stanzas: Vec::new(),
            },
        ];
        assert_eq!(
            render_text(&all),
            "auto v0\niface v0 inet static\n\taddress 198.51.100.10/24\n\tgateway 198.51.100.1\n\n\
             # v1: link is down\n\n\
             # v2: no such interface\n\n"
        );
        let json = render_json(&all);
        assert_eq!(json[0]["stanzas"][0]["config"][1]["option"], "gateway");
        assert_eq!(json[1]["state"], "down");
        assert_eq!(json[2]["stanzas"], json!([]));
    }
}
