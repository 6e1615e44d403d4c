//! What the conditions of locations, units and modifiers are judged on
//! ([`netconf_policy::Facts`]), gathered from what the daemon already holds:
//! the interfaces it has up (its state), the kernel's mirror (addresses,
//! default routes), the neighbour table (the gateways' MACs), the DHCP
//! leases, nl80211 (SSIDs) and the host's name.
//!
//! The neighbour table knows a gateway only once something talked to it.
//! A gateway without an entry is sent one empty UDP datagram (port 9,
//! discard), which makes the kernel resolve it; [`unresolved_gateways`]
//! says which gateways still need that, so the caller can look again once
//! the answer had time to come (the facts are gathered again on events,
//! never by polling).

use crate::dispatcher::Dispatcher;
use netconf_kernel::mirror::Mirror;
use netconf_kernel::netlink::{Family, Neighbour, Scope, MAIN_TABLE};
use netconf_policy::Facts;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use tracing::debug;

/// The facts as they are now.
pub fn gather(d: &mut Dispatcher) -> Facts {
    let active_ncus = d
        .state
        .interfaces
        .iter()
        .filter(|r| r.listed() && r.in_progress.is_none())
        .map(|r| r.logical.clone())
        .collect();
    let dhcp_domains = d.dhcp.domains();
    let mut facts = Facts {
        active_ncus,
        dhcp_domains,
        system_domain: system_domain(&d.locations.settings.hosts_file),
        ..Facts::default()
    };
    let Ok(kernel) = d.kernel.as_mut() else {
        return facts;
    };
    facts.addresses = addresses(&kernel.mirror);
    let gateways = default_gateways(&kernel.mirror);
    facts.default_gateways = gateways.iter().map(|(gw, _)| *gw).collect();
    let mut neighbours = Vec::new();
    for family in [Family::V4, Family::V6] {
        if gateways.iter().any(|(gw, _)| Family::of(gw) == family) {
            match kernel.nl.neighbours(family) {
                Ok(found) => neighbours.extend(found),
                Err(e) => debug!("gateway MACs: {e}"),
            }
        }
    }
    facts.gateway_macs = gateway_macs(&gateways, &neighbours);
    facts.essids = essids(&kernel.mirror, Path::new("/sys/class/net"));
    facts
}

/// Whether any interface that is up has a global address: the built-in
/// `no-net` location is active when none has.
pub fn has_global_address(mirror: &Mirror) -> bool {
    mirror.addresses().any(|a| {
        a.scope == Scope::Universe
            && !a.addr.is_loopback()
            && !a.flags.dadfailed
            && usable(mirror, a.index)
    })
}

/// A link that is up and not loopback: what its addresses say is true of
/// the host's networks (an address on a link that is down reaches no one).
fn usable(mirror: &Mirror, index: u32) -> bool {
    mirror.link(index).is_some_and(|l| l.up && l.name != "lo")
}

/// Every address of the links that are up, but loopback's.
fn addresses(mirror: &Mirror) -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = mirror
        .addresses()
        .filter(|a| !a.addr.is_loopback() && usable(mirror, a.index))
        .map(|a| a.addr)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The gateways of the main table's default routes, with their link.
fn default_gateways(mirror: &Mirror) -> Vec<(IpAddr, Option<u32>)> {
    let mut found: Vec<(IpAddr, Option<u32>)> = mirror
        .routes()
        .filter(|r| r.destination.is_none() && r.table == MAIN_TABLE)
        .filter_map(|r| r.gateway.map(|gw| (gw, r.oif)))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The MACs the neighbour table holds for these gateways (on their link
/// when the route names one).
fn gateway_macs(gateways: &[(IpAddr, Option<u32>)], neighbours: &[Neighbour]) -> Vec<[u8; 6]> {
    let mut found = Vec::new();
    for (gw, oif) in gateways {
        for n in neighbours {
            if n.addr != *gw || oif.is_some_and(|o| o != n.index) {
                continue;
            }
            if let Some(mac) = n
                .lladdr
                .as_deref()
                .and_then(|m| <[u8; 6]>::try_from(m).ok())
            {
                if !found.contains(&mac) {
                    found.push(mac);
                }
            }
        }
    }
    found
}

/// The default gateways whose MAC the neighbour table does not know yet.
pub fn unresolved_gateways(d: &mut Dispatcher, facts: &Facts) -> Vec<IpAddr> {
    let Ok(kernel) = d.kernel.as_mut() else {
        return Vec::new();
    };
    let gateways = default_gateways(&kernel.mirror);
    let mut neighbours = Vec::new();
    for family in [Family::V4, Family::V6] {
        neighbours.extend(kernel.nl.neighbours(family).unwrap_or_default());
    }
    gateways
        .into_iter()
        .filter(|(gw, oif)| gateway_macs(&[(*gw, *oif)], &neighbours).is_empty())
        .map(|(gw, _)| gw)
        .filter(|gw| facts.default_gateways.contains(gw))
        .collect()
}

/// Makes the kernel resolve a gateway's MAC: one empty datagram to its
/// discard port. Nothing is written over netlink; the answer (or its
/// absence) is for the neighbour table.
pub fn provoke_resolution(gateway: IpAddr) {
    let bind: SocketAddr = match gateway {
        IpAddr::V4(_) => "0.0.0.0:0".parse().expect("a literal"),
        IpAddr::V6(_) => "[::]:0".parse().expect("a literal"),
    };
    let sent = UdpSocket::bind(bind).and_then(|s| s.send_to(&[], SocketAddr::new(gateway, 9)));
    if let Err(e) = sent {
        debug!(%gateway, "asking for the gateway's MAC: {e}");
    }
}

/// The SSIDs of the wireless links; `None` when the host has none
/// (a link is wireless when sysfs gives it a `wireless` or `phy80211`).
fn essids(mirror: &Mirror, sysfs_net: &Path) -> Option<Vec<String>> {
    let wireless: Vec<u32> = mirror
        .links()
        .filter(|l| {
            let dir = sysfs_net.join(&l.name);
            dir.join("wireless").exists() || dir.join("phy80211").exists()
        })
        .map(|l| l.index)
        .collect();
    if wireless.is_empty() {
        return None;
    }
    let ssids = netconf_kernel::netlink::associated_ssids(&wireless).unwrap_or_else(|e| {
        debug!("reading SSIDs over nl80211: {e}");
        Vec::new()
    });
    Some(
        ssids
            .into_iter()
            .map(|(_, ssid)| String::from_utf8_lossy(&ssid).into_owned())
            .collect(),
    )
}

/// The host's DNS domain as `hostname --domain` finds it without asking
/// DNS: the part of the kernel's host name after its first dot, or else
/// that of the first dotted name on the hosts line that names the host.
pub fn system_domain(hosts: &Path) -> Option<String> {
    let nodename = nodename()?;
    let text = std::fs::read_to_string(hosts).unwrap_or_default();
    domain_of(&nodename, &text)
}

fn nodename() -> Option<String> {
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct it is given.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: the kernel terminates nodename with NUL.
    let name = unsafe { std::ffi::CStr::from_ptr(uts.nodename.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn domain_of(nodename: &str, hosts: &str) -> Option<String> {
    let after_dot = |name: &str| {
        name.split_once('.')
            .map(|(_, d)| d.trim_end_matches('.').to_string())
            .filter(|d| !d.is_empty())
    };
    if let Some(d) = after_dot(nodename) {
        return Some(d);
    }
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next().is_none() {
            continue;
        }
        let names: Vec<&str> = words.collect();
        let names_host = names
            .iter()
            .any(|n| *n == nodename || n.split('.').next() == Some(nodename));
        if names_host {
            if let Some(d) = names
                .iter()
                .filter(|n| n.split('.').next() == Some(nodename))
                .find_map(|n| after_dot(n))
            {
                return Some(d);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_domain_comes_from_the_name_or_the_hosts_line() {
        assert_eq!(domain_of("box.example.org", ""), Some("example.org".into()));
        let hosts =
            "127.0.0.1 localhost\n# 127.0.1.1 box.old.test box\n127.0.1.1\tbox.example.org box\n";
        assert_eq!(domain_of("box", hosts), Some("example.org".into()));
        assert_eq!(domain_of("other", hosts), None);
        assert_eq!(domain_of("box", "127.0.1.1 box\n"), None);
    }

    #[test]
    fn gateway_macs_come_from_resolved_entries_on_the_gateways_link() {
        let gateways = vec![(ip("198.51.100.1"), Some(3)), (ip("203.0.113.1"), None)];
        let neighbours = vec![
            Neighbour {
                index: 3,
                addr: ip("198.51.100.1"),
                lladdr: Some(vec![2, 0, 0x5e, 0, 0x53, 1]),
            },
            // The same address on another link is another network.
            Neighbour {
                index: 4,
                addr: ip("198.51.100.1"),
                lladdr: Some(vec![2, 0, 0x5e, 0, 0x53, 4]),
            },
            Neighbour {
                index: 5,
                addr: ip("203.0.113.1"),
                lladdr: None,
            },
        ];
        assert_eq!(
            gateway_macs(&gateways, &neighbours),
            vec![[2, 0, 0x5e, 0, 0x53, 1]]
        );
    }
}
