//! What a lease asks of the kernel, and what each reason asks of the daemon,
//! after Debian's `/sbin/dhclient-script` (isc-dhcp-client 4.4.3-P1) and its
//! `/etc/dhcp/dhclient-exit-hooks.d/rfc3442-classless-routes`.

use super::{DhcpEvent, Lease, Lease4, Lease6, Reason};
use crate::provider::{AddressWanted, Desired, LinkWanted, RouteWanted};
use std::net::{IpAddr, Ipv4Addr};

/// The kernel state an IPv4 lease asks for, as Debian's script sets it up on
/// BOUND/REBOOT (and on a RENEW/REBIND whose address changed):
///
/// * the address with its prefix and broadcast, `valid_lft` and
///   `preferred_lft` both the lease time, so it cannot outlive the lease (an
///   infinite lease, 4294967295 s, gives `None`, forever). No label: Debian's
///   `label IF` is the kernel's default for a real interface, and dhclient
///   only runs on those;
/// * the link up, and its MTU when the lease has one above 576;
/// * routes. With option 121 (classless routes) present, `routers` is
///   ignored entirely (RFC 3442 says so, and Debian's script skips them) and
///   each classless route is added **without a metric**, as Debian's exit
///   hook does — so `metric` (ifupdown's `IF_METRIC`) does not apply to
///   them; router 0.0.0.0 makes the route on-link. Without option 121: a
///   default route via each router; with one router its metric is `metric`
///   (none if `None`); with several, the first gets `metric` or 1 and each
///   further one the next number, so they never tie. A /32 lease also gets a
///   host route to each router, which is otherwise unreachable.
///
/// A route's gateway is marked on-link when the lease's own prefix does not
/// cover it (a /32 lease, or a classless route via a router behind another,
/// on-link, classless route): the kernel only accepts a gateway it can reach
/// through a link-scope route, the lease's prefix route is the only one of
/// those, and [`crate::apply`] adds gateway-less routes with global scope
/// where `ip route add` would pick link scope. Debian's plain
/// `ip route add … via R` fails (silently) in those cases.
pub fn desired_v4(lease: &Lease4, metric: Option<u32>) -> Desired {
    let lifetime = lease.lease_time.filter(|&t| t != u32::MAX);
    let address = AddressWanted {
        addr: IpAddr::V4(lease.address),
        prefix_len: lease.prefix_len,
        peer: None,
        broadcast: lease.broadcast,
        scope: None,
        label: None,
        nodad: false,
        preferred_lft: lifetime,
        valid_lft: lifetime,
    };
    let subnet = (lease.address, lease.prefix_len);
    let mut routes = Vec::new();
    if lease.classless_routes.is_empty() {
        let mut if_metric = metric;
        if lease.routers.len() > 1 {
            if_metric = if_metric.or(Some(1));
        }
        for &router in &lease.routers {
            if lease.prefix_len == 32 {
                routes.push(RouteWanted {
                    destination: Some((IpAddr::V4(router), 32)),
                    gateway: None,
                    metric: None,
                    onlink: false,
                });
            }
            routes.push(RouteWanted {
                destination: None,
                gateway: Some(IpAddr::V4(router)),
                metric: if_metric,
                onlink: !covers(subnet, router),
            });
            if_metric = if_metric.map(|m| m.saturating_add(1));
        }
    } else {
        for &(dest, width, gw) in &lease.classless_routes {
            let destination = (width > 0).then_some((IpAddr::V4(dest), width));
            let gateway = (!gw.is_unspecified()).then_some(IpAddr::V4(gw));
            let onlink = gateway.is_some() && !covers(subnet, gw);
            routes.push(RouteWanted {
                destination,
                gateway,
                metric: None,
                onlink,
            });
        }
    }
    Desired {
        link: LinkWanted {
            up: true,
            mtu: lease.mtu,
            mac: None,
            alias: None,
        },
        addresses: vec![address],
        routes,
        routes_best_effort: true,
        ..Desired::default()
    }
}

/// Whether the prefix `net` contains `addr`.
fn covers((net, len): (Ipv4Addr, u8), addr: Ipv4Addr) -> bool {
    let mask = match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    };
    u32::from(net) & mask == u32::from(addr) & mask
}

/// The kernel state a DHCPv6 lease asks for: the link up and the leased
/// address with `preferred_lft` = `preferred_life` and `valid_lft` =
/// `max_life` (4294967295 = forever; a preferred lifetime above the valid
/// one is cut to it, as the kernel requires). No routes: router
/// advertisements provide those. Debian adds the address without a prefix
/// length, i.e. /128, which is also what dhclient reports unless it was
/// started with `--address-prefix-len`; the lease's length is used here.
/// A delegated prefix (`ip6_prefix`) is not configured on this link: it is
/// for downstream interfaces, and Debian's script does nothing with it
/// either. A stateless lease (options only) gives just the link.
pub fn desired_v6(lease: &Lease6) -> Desired {
    let valid = lease.max_life.filter(|&t| t != u32::MAX);
    let preferred = match (lease.preferred_life.filter(|&t| t != u32::MAX), valid) {
        (Some(p), Some(v)) => Some(p.min(v)),
        // Forever-preferred but not forever-valid is not allowed.
        (None, Some(v)) => Some(v),
        (p, None) => p,
    };
    let addresses = lease
        .address
        .map(|(addr, prefix_len)| AddressWanted {
            addr: IpAddr::V6(addr),
            prefix_len,
            peer: None,
            broadcast: None,
            scope: None,
            label: None,
            nodad: false,
            preferred_lft: preferred,
            valid_lft: valid,
        })
        .into_iter()
        .collect();
    Desired {
        link: LinkWanted {
            up: true,
            mtu: None,
            mac: None,
            alias: None,
        },
        addresses,
        ..Desired::default()
    }
}

/// Whether `new` asks the kernel for exactly what `old` asked: same address,
/// prefix, broadcast, routes (as [`desired_v4`] derives them) and MTU; for
/// DHCPv6 the same address and delegated prefix. Lifetimes, timers, the
/// server and DNS are not compared: a renewal that changes only those needs
/// a lifetime refresh (see the module documentation), and DNS is compared
/// by `netconf_dns` itself. Leases of different families are never
/// unchanged.
///
/// netconf is stricter here than Debian, which on a RENEW/REBIND with the
/// same address only refreshes the lifetimes, even when the routers or the
/// MTU changed.
pub fn unchanged(old: &Lease, new: &Lease) -> bool {
    match (old, new) {
        (Lease::V4(old), Lease::V4(new)) => {
            without_lifetimes(desired_v4(old, None)) == without_lifetimes(desired_v4(new, None))
        }
        (Lease::V6(old), Lease::V6(new)) => {
            old.prefix == new.prefix
                && without_lifetimes(desired_v6(old)) == without_lifetimes(desired_v6(new))
        }
        _ => false,
    }
}

fn without_lifetimes(mut desired: Desired) -> Desired {
    for a in &mut desired.addresses {
        a.valid_lft = None;
        a.preferred_lft = None;
    }
    desired
}

/// What an event asks the daemon to do: Debian's per-reason table as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan<'a> {
    /// MEDIUM, ARPCHECK, ARPSEND, NBI, V6ONLY: Debian's script does nothing;
    /// nor is there anything to do on a NOTICE.
    Nothing,
    /// PREINIT, PREINIT6: bring the link up. On PREINIT6 Debian also flushes
    /// the link's global permanent IPv6 addresses (stale leases); a daemon
    /// that knows what it added need only remove those.
    LinkUp { v6: bool },
    /// Make the kernel match `new` ([`desired_v4`]/[`desired_v6`]), refresh
    /// the lifetimes of addresses already there, remove what `old` asked for
    /// and `new` does not, and set DNS from `new`. BOUND, REBOOT, BOUND6, and
    /// RENEW/REBIND(6) that change something.
    Configure {
        new: &'a Lease,
        old: Option<&'a Lease>,
    },
    /// A renewal asking for what the previous lease asked: refresh the
    /// address lifetimes only (DNS too, if it changed).
    Refresh { new: &'a Lease },
    /// TIMEOUT: no server answered, `new` is a still valid lease from the
    /// lease file. Debian puts it in place, then keeps it only if it has no
    /// router or its first router answers a ping; otherwise it flushes the
    /// addresses and exits 2, so that dhclient drops the lease.
    TryRecorded { new: &'a Lease4 },
    /// DEPREF6: set the preferred lifetime of `cur`'s address to 0.
    Deprecate { cur: &'a Lease6 },
    /// EXPIRE, FAIL, RELEASE, STOP, EXPIRE6, RELEASE6, STOP6 (and the other
    /// clients' NAK, DECONFIG, DEPARTED): take away what
    /// the lease put there. `old` is the lease if dhclient passed it (FAIL and
    /// a stateless STOP6 have none): without it, remove what was recorded as
    /// applied for this interface, if anything. (Debian's script exits 2 on a
    /// DHCPv6 one without `old_ip6_address`; the other reasons exit 0.)
    Deconfigure { old: Option<&'a Lease> },
}

/// The [`Plan`] for an event. RENEW/REBIND/RENEW6/REBIND6 whose lease is
/// [`unchanged`] get [`Plan::Refresh`]; everything else that brings a lease
/// gets [`Plan::Configure`]. A lease-bringing event without its lease (which
/// [`crate::dhclient::parse_event`] refuses, except for RENEW6) plans nothing.
pub fn plan(event: &DhcpEvent) -> Plan<'_> {
    let new = event.new.as_ref();
    let old = event.old.as_ref();
    match event.reason {
        Reason::Medium
        | Reason::ArpCheck
        | Reason::ArpSend
        | Reason::Nbi
        | Reason::V6Only
        | Reason::Notice => Plan::Nothing,
        Reason::Preinit => Plan::LinkUp { v6: false },
        Reason::Preinit6 => Plan::LinkUp { v6: true },
        Reason::Bound | Reason::Reboot | Reason::Bound6 => match new {
            Some(new) => Plan::Configure { new, old },
            None => Plan::Nothing,
        },
        Reason::Renew | Reason::Rebind | Reason::Renew6 | Reason::Rebind6 => match (new, old) {
            (Some(new), Some(old)) if unchanged(old, new) => Plan::Refresh { new },
            (Some(new), old) => Plan::Configure { new, old },
            (None, _) => Plan::Nothing,
        },
        Reason::Timeout => match event.new_v4() {
            Some(new) => Plan::TryRecorded { new },
            None => Plan::Nothing,
        },
        Reason::Depref6 => match event.cur_v6() {
            Some(cur) => Plan::Deprecate { cur },
            None => Plan::Nothing,
        },
        Reason::Expire
        | Reason::Fail
        | Reason::Release
        | Reason::Stop
        | Reason::Expire6
        | Reason::Release6
        | Reason::Stop6
        | Reason::Nak
        | Reason::Deconfig
        | Reason::Departed => Plan::Deconfigure { old },
    }
}

/// The host name to set from a lease, by Debian's rule: only when the lease
/// has one, and the current name is empty, `(none)`, `localhost`, or the
/// name the previous lease gave (so that an admin's own host name is never
/// replaced); `None` when nothing is to be done (also when it is already
/// set).
pub fn hostname_to_set<'a>(
    current: &str,
    old: Option<&Lease4>,
    new: &'a Lease4,
) -> Option<&'a str> {
    let wanted = new.hostname.as_deref()?;
    let current = current.trim();
    let replaceable = current.is_empty()
        || current == "(none)"
        || current == "localhost"
        || old.and_then(|o| o.hostname.as_deref()) == Some(current);
    (replaceable && wanted != current).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn lease() -> Lease4 {
        Lease4 {
            address: ip("198.18.0.126"),
            prefix_len: 24,
            broadcast: Some(ip("198.18.0.255")),
            routers: vec![ip("198.18.0.1")],
            classless_routes: vec![],
            mtu: Some(1400),
            dns: vec![IpAddr::V4(ip("198.18.0.53"))],
            domain: Some("example.test".into()),
            search: vec!["example.test".into()],
            hostname: Some("vm".into()),
            lease_time: Some(120),
            renewal: Some(60),
            rebinding: Some(105),
            expiry: Some(1_795_637_637),
            server: Some(ip("198.18.0.1")),
        }
    }

    fn default_via(gw: &str, metric: Option<u32>) -> RouteWanted {
        RouteWanted {
            destination: None,
            gateway: Some(IpAddr::V4(ip(gw))),
            metric,
            onlink: false,
        }
    }

    #[test]
    fn address_link_and_router() {
        let d = desired_v4(&lease(), None);
        assert_eq!(
            d.addresses,
            vec![AddressWanted {
                addr: IpAddr::V4(ip("198.18.0.126")),
                prefix_len: 24,
                peer: None,
                broadcast: Some(ip("198.18.0.255")),
                scope: None,
                label: None,
                nodad: false,
                preferred_lft: Some(120),
                valid_lft: Some(120),
            }]
        );
        assert_eq!(
            d.link,
            LinkWanted {
                up: true,
                mtu: Some(1400),
                mac: None,
                alias: None,
            }
        );
        assert_eq!(d.routes, vec![default_via("198.18.0.1", None)]);
        assert_eq!(
            desired_v4(&lease(), Some(50)).routes,
            vec![default_via("198.18.0.1", Some(50))]
        );
    }

    #[test]
    fn infinite_lease_is_forever() {
        let mut l = lease();
        l.lease_time = Some(u32::MAX);
        let d = desired_v4(&l, None);
        assert_eq!(
            (d.addresses[0].valid_lft, d.addresses[0].preferred_lft),
            (None, None)
        );
        l.lease_time = None;
        assert_eq!(desired_v4(&l, None).addresses[0].valid_lft, None);
    }

    #[test]
    fn several_routers_get_increasing_metrics() {
        let mut l = lease();
        l.routers = vec![ip("198.18.0.1"), ip("198.18.0.2"), ip("198.18.0.3")];
        assert_eq!(
            desired_v4(&l, None).routes,
            vec![
                default_via("198.18.0.1", Some(1)),
                default_via("198.18.0.2", Some(2)),
                default_via("198.18.0.3", Some(3)),
            ]
        );
        assert_eq!(
            desired_v4(&l, Some(100)).routes,
            vec![
                default_via("198.18.0.1", Some(100)),
                default_via("198.18.0.2", Some(101)),
                default_via("198.18.0.3", Some(102)),
            ]
        );
    }

    #[test]
    fn host_route_to_router_on_a_slash_32() {
        let mut l = lease();
        l.prefix_len = 32;
        l.broadcast = None;
        l.routers = vec![ip("198.51.100.1")];
        assert_eq!(
            desired_v4(&l, Some(5)).routes,
            vec![
                RouteWanted {
                    destination: Some((IpAddr::V4(ip("198.51.100.1")), 32)),
                    gateway: None,
                    metric: None,
                    onlink: false,
                },
                RouteWanted {
                    destination: None,
                    gateway: Some(IpAddr::V4(ip("198.51.100.1"))),
                    metric: Some(5),
                    onlink: true,
                },
            ]
        );
    }

    #[test]
    fn classless_routes_replace_routers() {
        let mut l = lease();
        l.routers = vec![ip("198.18.0.1"), ip("198.18.0.2")];
        l.classless_routes = vec![
            (ip("198.19.0.0"), 16, ip("198.18.0.1")),
            (ip("203.0.113.0"), 24, ip("0.0.0.0")),
            (ip("198.51.100.0"), 24, ip("203.0.113.1")),
            (ip("0.0.0.0"), 0, ip("198.18.0.254")),
        ];
        assert_eq!(
            desired_v4(&l, Some(50)).routes,
            vec![
                RouteWanted {
                    destination: Some((IpAddr::V4(ip("198.19.0.0")), 16)),
                    gateway: Some(IpAddr::V4(ip("198.18.0.1"))),
                    metric: None,
                    onlink: false,
                },
                RouteWanted {
                    destination: Some((IpAddr::V4(ip("203.0.113.0")), 24)),
                    gateway: None,
                    metric: None,
                    onlink: false,
                },
                RouteWanted {
                    destination: Some((IpAddr::V4(ip("198.51.100.0")), 24)),
                    gateway: Some(IpAddr::V4(ip("203.0.113.1"))),
                    metric: None,
                    onlink: true,
                },
                RouteWanted {
                    destination: None,
                    gateway: Some(IpAddr::V4(ip("198.18.0.254"))),
                    metric: None,
                    onlink: false,
                },
            ]
        );
    }

    #[test]
    fn v6_lifetimes() {
        let addr: Ipv6Addr = "2001:db8:7::1fa".parse().unwrap();
        let mut l = Lease6 {
            address: Some((addr, 128)),
            preferred_life: Some(120),
            max_life: Some(300),
            ..Lease6::default()
        };
        let d = desired_v6(&l);
        assert!(d.routes.is_empty() && d.link.up);
        assert_eq!(d.addresses.len(), 1);
        let a = &d.addresses[0];
        assert_eq!(
            (a.addr, a.prefix_len, a.preferred_lft, a.valid_lft),
            (IpAddr::V6(addr), 128, Some(120), Some(300))
        );
        l.preferred_life = Some(600);
        assert_eq!(desired_v6(&l).addresses[0].preferred_lft, Some(300));
        l.preferred_life = None;
        assert_eq!(desired_v6(&l).addresses[0].preferred_lft, Some(300));
        l.preferred_life = Some(u32::MAX);
        l.max_life = Some(u32::MAX);
        let a = &desired_v6(&l).addresses[0];
        assert_eq!((a.preferred_lft, a.valid_lft), (None, None));
        assert!(desired_v6(&Lease6::default()).addresses.is_empty());
    }

    #[test]
    fn unchanged_ignores_lifetimes_and_dns_only() {
        let old = Lease::V4(lease());
        let mut n = lease();
        n.lease_time = Some(3600);
        n.renewal = Some(1800);
        n.expiry = Some(2_000_000_000);
        n.dns = vec![];
        n.server = None;
        assert!(unchanged(&old, &Lease::V4(n.clone())));
        for change in [
            |l: &mut Lease4| l.address = "198.18.0.127".parse().unwrap(),
            |l: &mut Lease4| l.prefix_len = 25,
            |l: &mut Lease4| l.routers.push("198.18.0.2".parse().unwrap()),
            |l: &mut Lease4| l.mtu = None,
            |l: &mut Lease4| l.broadcast = None,
            |l: &mut Lease4| {
                l.classless_routes = vec![(Ipv4Addr::UNSPECIFIED, 0, "198.18.0.2".parse().unwrap())]
            },
        ] {
            let mut changed = n.clone();
            change(&mut changed);
            assert!(!unchanged(&old, &Lease::V4(changed)));
        }
        assert!(!unchanged(&old, &Lease::V6(Lease6::default())));
        // Option 121 saying what the routers said asks for the same routes.
        let mut same = n.clone();
        same.classless_routes = vec![(Ipv4Addr::UNSPECIFIED, 0, "198.18.0.1".parse().unwrap())];
        assert!(unchanged(&old, &Lease::V4(same)));
    }

    #[test]
    fn hostname_rule() {
        let new = lease();
        let mut old = lease();
        assert_eq!(hostname_to_set("", None, &new), Some("vm"));
        assert_eq!(hostname_to_set("(none)", None, &new), Some("vm"));
        assert_eq!(hostname_to_set("localhost", None, &new), Some("vm"));
        assert_eq!(hostname_to_set("vm", None, &new), None);
        assert_eq!(hostname_to_set("myhost", None, &new), None);
        old.hostname = Some("oldname".into());
        assert_eq!(hostname_to_set("oldname", Some(&old), &new), Some("vm"));
        let mut none = lease();
        none.hostname = None;
        assert_eq!(hostname_to_set("", None, &none), None);
    }
}
