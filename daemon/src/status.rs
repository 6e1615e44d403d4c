//! What `netconfctl status` shows, computed when asked from the mirror of
//! the kernel, the state records and the configuration: for every interface
//! how netconf relates to it (management), where it stands (state), what
//! differs from its configuration, and for each address and route who put
//! it there (origin). The JSON schema is in docs/PROTOCOL.md.

use crate::dispatcher::Dispatcher;
use crate::state::IfaceRecord;
use netconf_interfaces::{Family, InterfacesFile};
use netconf_kernel::mirror::Mirror;
use netconf_kernel::netlink::{
    Address, Family as NlFamily, Link, Route, RouteKind, NETCONF_ROUTE_PROTOCOL,
};
use netconf_methods::apply::Applied;
use netconf_methods::provider::RouteWanted;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Who put an address or route into the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// netconf applied it.
    Netconf,
    /// Someone else added it to an interface netconf manages.
    External,
    /// It is on an interface netconf does not manage.
    Foreign,
    /// The kernel made it (link-local and loopback addresses, prefix and
    /// local routes, router advertisements).
    Kernel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Management {
    /// netconf brought it up (or adopted it matching its configuration and
    /// an admin has acted on it since).
    Managed,
    /// Found configured when netconfd started; left as it is until an
    /// admin runs ifup, ifdown or ifreload on it.
    Adopted,
    /// Someone else runs it (a DHCP client netconf did not start).
    Foreign,
    Unmanaged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IfState {
    Down,
    Configuring,
    /// An `ifup` or `ifdown` of it was cut short (netconfd stopped).
    Interrupted,
    Up,
    Failed,
    Differs,
}

/// What netconf put on an interface, to tell its entries from others'.
#[derive(Debug, Default)]
pub struct Owned {
    pub addresses: Vec<(IpAddr, u8)>,
    pub routes: Vec<RouteWanted>,
}

impl Owned {
    fn add(&mut self, applied: &Applied) {
        self.addresses
            .extend(applied.addresses.iter().map(|a| (a.addr, a.prefix_len)));
        self.routes
            .extend(applied.routes.iter().map(|r| r.route.clone()));
    }

    pub fn of(d: &Dispatcher, record: &IfaceRecord) -> Owned {
        let mut owned = Owned::default();
        for stanza in &record.stanzas {
            owned.add(&stanza.applied);
            let key = (record.phys.clone(), stanza.family == Family::Inet6);
            match (d.dhcp.record(&key), &stanza.dhcp) {
                (Some(running), _) => owned.add(&running.lease),
                (None, Some(rec)) => owned.add(&rec.lease),
                (None, None) => {}
            }
        }
        owned
    }

    pub fn address(&self, a: &Address) -> bool {
        self.addresses.contains(&(a.addr, a.prefix_len))
    }

    pub fn route(&self, r: &Route) -> bool {
        r.protocol == NETCONF_ROUTE_PROTOCOL || self.routes.iter().any(|w| w.matches(r))
    }
}

/// Addresses only the kernel makes: loopback, link-local, and those with
/// a kernel `IFA_PROTO` (1 loopback, 2 router advertisement, 3 link-local).
pub fn kernel_address(a: &Address) -> bool {
    matches!(a.protocol, 1..=3)
        || a.addr.is_loopback()
        || matches!(a.addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// Routes only the kernel makes: `proto kernel` (prefix routes), `proto ra`,
/// the local table, and local/broadcast/multicast routes.
pub fn kernel_route(r: &Route) -> bool {
    const RTPROT_KERNEL: u8 = 2;
    const RTPROT_RA: u8 = 9;
    const LOCAL_TABLE: u32 = 255;
    matches!(r.protocol, RTPROT_KERNEL | RTPROT_RA)
        || r.table == LOCAL_TABLE
        || matches!(
            r.kind,
            RouteKind::Local | RouteKind::Broadcast | RouteKind::Multicast
        )
        || matches!(r.destination, Some((IpAddr::V6(d), _)) if d.segments()[0] & 0xff00 == 0xff00)
}

pub fn address_origin(a: &Address, managed: bool, owned: &Owned) -> Origin {
    if owned.address(a) {
        Origin::Netconf
    } else if kernel_address(a) {
        Origin::Kernel
    } else if managed {
        Origin::External
    } else {
        Origin::Foreign
    }
}

pub fn route_origin(r: &Route, managed: bool, owned: &Owned) -> Origin {
    if owned.route(r) {
        Origin::Netconf
    } else if kernel_route(r) {
        Origin::Kernel
    } else if managed {
        Origin::External
    } else {
        Origin::Foreign
    }
}

/// An origin as `status` shows it: `enm:NAME` for what a modifier put
/// there, else the word of [`Origin`].
fn origin_text(enm: Option<&str>, origin: Origin) -> Value {
    match enm {
        Some(name) => Value::String(format!("enm:{name}")),
        None => serde_json::to_value(origin).unwrap_or(Value::Null),
    }
}

/// A route as `ip route` words it, without the device.
pub fn describe_route(r: &Route) -> String {
    let dest = r
        .destination
        .map_or_else(|| "default".to_string(), |(a, l)| format!("{a}/{l}"));
    let mut s = dest;
    if let Some(g) = r.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(m) = r.priority {
        s.push_str(&format!(" metric {m}"));
    }
    if r.table != netconf_kernel::netlink::MAIN_TABLE {
        s.push_str(&format!(" table {}", r.table));
    }
    s
}

/// The kernel link a record stands for: by name, or by its index when it
/// was renamed.
fn record_link<'m>(mirror: &'m Mirror, record: &IfaceRecord) -> Option<&'m Link> {
    mirror
        .link_by_name(&record.phys)
        .or_else(|| record.ifindex.and_then(|i| mirror.link(i)))
}

/// How a managed interface's kernel state differs from what netconf put
/// there, one sentence each; empty when it matches.
pub fn differences(d: &Dispatcher, mirror: &Mirror, record: &IfaceRecord) -> Vec<String> {
    let Some(link) = record_link(mirror, record) else {
        return vec![format!("link {} is gone", record.phys)];
    };
    let mut diffs = Vec::new();
    if link.name != record.phys {
        diffs.push(format!("renamed to {}", link.name));
    }
    if !link.up {
        diffs.push("link is down".to_string());
    }
    let owned = Owned::of(d, record);
    let addresses: Vec<&Address> = mirror.addresses_of(link.index).collect();
    for &(addr, len) in &owned.addresses {
        if !addresses
            .iter()
            .any(|a| a.addr == addr && a.prefix_len == len)
        {
            diffs.push(format!("address {addr}/{len} is missing"));
        }
    }
    for a in &addresses {
        if address_origin(a, true, &owned) == Origin::External
            && crate::enms::address_owner(d, a).is_none()
        {
            diffs.push(format!("address {a} added outside netconf"));
        }
    }
    let routes: Vec<&Route> = mirror.routes_of(link.index).collect();
    for want in &owned.routes {
        if !routes.iter().any(|r| want.matches(r)) {
            diffs.push(format!("route {want} is missing"));
        }
    }
    for r in &routes {
        if route_origin(r, true, &owned) == Origin::External
            && crate::enms::route_owner(d, r).is_none()
        {
            diffs.push(format!("route {} added outside netconf", describe_route(r)));
        }
    }
    diffs
}

fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn family_name(a: &IpAddr) -> &'static str {
    match NlFamily::of(a) {
        NlFamily::V4 => "inet",
        NlFamily::V6 => "inet6",
    }
}

/// The `status` reply: every kernel link, and every configured or recorded
/// interface that has none; or only `only`.
pub fn status(d: &Dispatcher, config: &InterfacesFile, only: Option<&str>) -> Value {
    let Ok(kernel) = d.kernel.as_ref() else {
        return json!({ "interfaces": [], "error": d.kernel.as_ref().err() });
    };
    let mirror = &kernel.mirror;
    // A managed link renamed by someone else is shown once, under the
    // name netconf knows it by (with "renamed to ..." in its differences).
    let renamed: BTreeSet<u32> = d
        .state
        .interfaces
        .iter()
        .filter_map(|r| {
            let index = r.ifindex?;
            (mirror.link(index)?.name != r.phys).then_some(index)
        })
        .collect();
    let mut names: Vec<String> = mirror
        .links()
        .filter(|l| !renamed.contains(&l.index))
        .map(|l| l.name.clone())
        .collect();
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    let extra = d
        .state
        .interfaces
        .iter()
        .map(|r| r.phys.clone())
        .chain(config.stanzas.iter().map(|s| s.name.clone()));
    for name in extra {
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    let interfaces: Vec<Value> = names
        .iter()
        .filter(|n| only.is_none_or(|o| o == n.as_str()))
        .map(|name| interface(d, mirror, config, name))
        .collect();
    let mut result = json!({ "interfaces": interfaces });
    let location = crate::locations::status(d);
    if !location.is_null() {
        result["location"] = location;
    }
    let enms = crate::enms::status(d);
    if !enms.is_null() {
        result["enms"] = enms;
    }
    result
}

fn interface(d: &Dispatcher, mirror: &Mirror, config: &InterfacesFile, name: &str) -> Value {
    let record = d.state.get(name);
    let link = match record {
        Some(r) => record_link(mirror, r),
        None => mirror.link_by_name(name),
    };
    let management = management(d, name);
    let managed = matches!(management, Management::Managed | Management::Adopted);
    let owned = record.map(|r| Owned::of(d, r)).unwrap_or_default();
    let differs = match record {
        Some(r) => differences(d, mirror, r),
        None => d.adopted.get(name).cloned().unwrap_or_default(),
    };
    let state = if d.is_busy(name) {
        IfState::Configuring
    } else if record.is_some_and(|r| r.in_progress.is_some()) {
        IfState::Interrupted
    } else if d.failed.contains_key(name) {
        IfState::Failed
    } else if !differs.is_empty() {
        IfState::Differs
    } else if record.is_some() || link.is_some_and(|l| l.up && managed) {
        IfState::Up
    } else {
        IfState::Down
    };
    let logical = record.map(|r| r.logical.clone());
    let stanza_name = logical.as_deref().unwrap_or(name);
    let stanzas: Vec<Value> = config
        .stanzas_named(stanza_name)
        .map(|s| {
            let place = s.location.map(|l| config.describe(l));
            json!({ "family": s.family, "method": s.method, "location": place })
        })
        .collect();
    let addresses: Vec<Value> = link
        .map(|l| {
            mirror
                .addresses_of(l.index)
                .map(|a| {
                    json!({
                        "address": a.to_string(),
                        "family": family_name(&a.addr),
                        "origin": origin_text(crate::enms::address_owner(d, a), address_origin(a, managed, &owned)),
                        "valid_lft": a.valid_lft,
                        "preferred_lft": a.preferred_lft,
                        "tentative": a.flags.tentative,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let routes: Vec<Value> = link
        .map(|l| {
            mirror
                .routes_of(l.index)
                .filter(|r| r.table != 255)
                .map(|r| {
                    json!({
                        "route": describe_route(r),
                        "family": family_name(&r.destination.map_or_else(|| r.gateway.unwrap_or(IpAddr::from([0u8; 4])), |(a, _)| a)),
                        "destination": r.destination.map(|(a, l)| format!("{a}/{l}")),
                        "gateway": r.gateway,
                        "metric": r.priority,
                        "table": r.table,
                        "protocol": r.protocol,
                        "origin": origin_text(crate::enms::route_owner(d, r), route_origin(r, managed, &owned)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let dhcp: Vec<Value> = [false, true]
        .iter()
        .filter_map(|v6| {
            let record = d.dhcp.record(&(name.to_string(), *v6))?;
            Some(json!({
                "family": if *v6 { "inet6" } else { "inet" },
                "client": record.client,
                "pid": record.pid,
                "lease": record.info,
            }))
        })
        .collect();
    let link_json = link.map(|l| {
        json!({
            "index": l.index,
            "name": l.name,
            "up": l.up,
            "carrier": l.lower_up,
            "mtu": l.mtu,
            "mac": l.mac.as_deref().map(mac_text),
            "kind": l.kind,
            "master": l.master.and_then(|m| mirror.link(m)).map(|m| m.name.clone()),
        })
    });
    let mut value = json!({
        "name": name,
        "logical": logical,
        "management": management,
        "state": state,
        "differs": differs,
        "config": stanzas,
        "link": link_json,
        "addresses": addresses,
        "routes": routes,
        "dhcp": dhcp,
        "dns": crate::ra::status(d, link.map(|l| l.index)),
    });
    if let Some(why) = d.failed.get(name) {
        value["error"] = json!(why);
    }
    value
}

pub fn management(d: &Dispatcher, name: &str) -> Management {
    if d.foreign_dhcp_client(name) {
        Management::Foreign
    } else if let Some(r) = d.state.get(name) {
        if r.adopted {
            Management::Adopted
        } else {
            Management::Managed
        }
    } else if d.adopted.contains_key(name) {
        Management::Adopted
    } else {
        Management::Unmanaged
    }
}

/// A kernel notification as a line for the log and `monitor`, with the
/// index of the link it concerns and whether the kernel made it itself
/// (carrier, prefix and local routes, link-local addresses); `None` for a
/// notification that changes nothing worth telling.
pub fn describe_change(change: &crate::kernel::Change) -> Option<(u32, String, bool)> {
    use netconf_kernel::netlink::Event;
    Some(match &change.event {
        Event::NewLink(l) => {
            let Some(b) = &change.before else {
                return Some((l.index, format!("link {} appeared", l.name), false));
            };
            let mut what = Vec::new();
            if b.name != l.name {
                what.push(format!("renamed from {}", b.name));
            }
            if b.up != l.up {
                what.push(if l.up { "set up" } else { "set down" }.to_string());
            }
            if b.mtu != l.mtu {
                what.push(format!("mtu {} (was {})", l.mtu, b.mtu));
            }
            if b.mac != l.mac {
                what.push("hardware address changed".to_string());
            }
            if b.master != l.master {
                what.push(match l.master {
                    Some(m) => format!("enslaved to link {m}"),
                    None => "released from its master".to_string(),
                });
            }
            let by_kernel = what.is_empty();
            if b.lower_up != l.lower_up {
                what.push(
                    if l.lower_up {
                        "carrier on"
                    } else {
                        "carrier lost"
                    }
                    .to_string(),
                );
            }
            if what.is_empty() {
                return None;
            }
            (
                l.index,
                format!("link {}: {}", l.name, what.join(", ")),
                by_kernel,
            )
        }
        Event::DelLink(l) => (l.index, format!("link {} removed", l.name), false),
        Event::NewAddress(a) => (a.index, format!("address {a} added"), kernel_address(a)),
        Event::DelAddress(a) => (a.index, format!("address {a} removed"), kernel_address(a)),
        Event::NewRoute(r) => (
            r.oif?,
            format!("route {} added", describe_route(r)),
            kernel_route(r),
        ),
        Event::ReplaceRoute(r) => (
            r.oif?,
            format!("route {} replaced", describe_route(r)),
            kernel_route(r),
        ),
        Event::DelRoute(r) => (
            r.oif?,
            format!("route {} removed", describe_route(r)),
            kernel_route(r),
        ),
        // Router advertisement options change no link, address or route.
        Event::NdUserOption(_) | Event::RaFlags(_) | Event::Overrun => return None,
    })
}
