//! The lease model against the real hook environments of the other two DHCP
//! clients netconf runs, dhcpcd 9.4.1 and busybox udhcpc 1.35.0, captured on
//! Debian 12 against dnsmasq 2.90 (`tests/fixtures/dhcpcd-env/` and
//! `tests/fixtures/udhcpc-env/`; their READMEs say how each call was
//! provoked). The server was the one of the dhclient captures
//! (`tests/dhclient.rs`): 198.18.0.100 to .199/24 for 2 minutes, router
//! 198.18.0.1, DNS 198.18.0.53, domain example.test, search example.test +
//! lab.example.test, MTU 1400, option 121 = 198.19.0.0/16 via 198.18.0.1 +
//! default via 198.18.0.1; DHCPv6 2001:db8:7::/64, DNS 2001:db8:7::53,
//! search example.test.
//!
//! The property that matters most: whichever client got the lease, the
//! same server leads to the same kernel writes and the same resolv.conf.

use netconf_methods::dhcp_client::ClientKind;
use netconf_methods::lease::{
    desired_v4, desired_v6, plan, unchanged, DhcpEvent, Lease, Lease4, LeaseError, Plan, Reason,
};
use netconf_methods::provider::{AddressWanted, Desired, LinkWanted, RouteWanted};
use netconf_methods::{dhclient, dhcpcd, udhcpc};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

type Env = Vec<(String, String)>;
type Parser = fn(&[(String, String)]) -> Result<DhcpEvent, LeaseError>;

const DHCPCD: &str = "dhcpcd-env";
const UDHCPC: &str = "udhcpc-env";
const DHCLIENT: &str = "dhclient-env";

fn fixture_dir(client: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(client)
}

/// A fixture as the hook got it: `KEY=VALUE` lines.
fn load(client: &str, name: &str) -> Env {
    let text = fs::read_to_string(fixture_dir(client).join(name))
        .unwrap_or_else(|e| panic!("{client}/{name}: {e}"));
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn fixtures(client: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixture_dir(client))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".env"))
        .collect();
    names.sort();
    names
}

/// The client's reason (dhcpcd) or event (udhcpc), from the file name.
fn reason_in_name(name: &str) -> &str {
    name.trim_end_matches(".env").rsplit('-').next().unwrap()
}

fn dhcpcd_event(name: &str) -> DhcpEvent {
    dhcpcd::parse_event(&load(DHCPCD, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn udhcpc_event(name: &str) -> DhcpEvent {
    udhcpc::parse_event(&load(UDHCPC, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn dhclient_event(name: &str) -> DhcpEvent {
    dhclient::parse_event(&load(DHCLIENT, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Replaces (or adds) one variable.
fn with(mut env: Env, key: &str, value: &str) -> Env {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value.to_string()));
    env
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Env {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// dhcpcd's reasons onto the model's (its README lists the ones captured).
fn dhcpcd_reason(name: &str) -> Reason {
    match name {
        "PREINIT" => Reason::Preinit,
        "BOUND" => Reason::Bound,
        "RENEW" | "RECONFIGURE" => Reason::Renew,
        "REBIND" => Reason::Rebind,
        "REBOOT" => Reason::Reboot,
        "TIMEOUT" => Reason::Timeout,
        "EXPIRE" => Reason::Expire,
        "NAK" => Reason::Nak,
        "STOP" => Reason::Stop,
        "DEPARTED" => Reason::Departed,
        "CARRIER" | "NOCARRIER" | "STOPPED" | "ROUTERADVERT" => Reason::Notice,
        "BOUND6" | "REBOOT6" => Reason::Bound6,
        "RENEW6" | "INFORM6" => Reason::Renew6,
        "REBIND6" => Reason::Rebind6,
        "EXPIRE6" => Reason::Expire6,
        "RELEASE6" => Reason::Release6,
        "STOP6" => Reason::Stop6,
        other => panic!("no dhcpcd fixture expected for {other}"),
    }
}

fn udhcpc_reason(event: &str) -> Reason {
    match event {
        "deconfig" => Reason::Deconfig,
        "bound" => Reason::Bound,
        "renew" => Reason::Renew,
        "nak" => Reason::Nak,
        "leasefail" => Reason::Notice,
        other => panic!("no udhcpc fixture expected for {other}"),
    }
}

#[test]
fn every_dhcpcd_fixture_parses() {
    let names = fixtures(DHCPCD);
    assert_eq!(names.len(), 144, "the capture has 144 calls");
    for name in &names {
        let env = load(DHCPCD, name);
        let ev = dhcpcd_event(name);
        let raw = reason_in_name(name);
        assert_eq!(env_value(&env, "reason"), Some(raw), "{name}");
        assert_eq!(ev.reason, dhcpcd_reason(raw), "{name}");
        // The dispatch by client kind is the same parser.
        assert_eq!(
            ClientKind::Dhcpcd.parse_event(&env).as_ref(),
            Ok(&ev),
            "{name}"
        );
        assert_eq!(ev.interface, "cli0", "{name}");
        let pid = env_value(&env, "pid").unwrap().parse::<u32>().unwrap();
        assert_eq!(ev.pid, Some(pid), "{name}");
        assert!(ev.cur.is_none(), "{name}");

        // Which leases come with which reason (the README's table).
        let (new, old) = (ev.new.is_some(), ev.old.is_some());
        match raw {
            "PREINIT" | "CARRIER" | "NOCARRIER" | "DEPARTED" | "STOPPED" | "NAK"
            | "ROUTERADVERT" => assert!(!new && !old, "{name}"),
            "BOUND" | "REBOOT" | "TIMEOUT" | "BOUND6" | "REBOOT6" => {
                assert!(new && !old, "{name}")
            }
            "RENEW" | "REBIND" | "RECONFIGURE" | "RENEW6" | "REBIND6" => {
                assert!(new && old, "{name}")
            }
            // old_* on the second and later ones.
            "INFORM6" => assert!(new && old == (name != "v6-inform-04-INFORM6.env"), "{name}"),
            "EXPIRE" | "EXPIRE6" | "STOP6" | "RELEASE6" => assert!(!new && old, "{name}"),
            // None when the lease had already expired.
            "STOP" => assert!(!new && old == (name != "v4-expire-05-STOP.env"), "{name}"),
            other => panic!("{name}: {other}"),
        }
        // The family of the leases follows the reason.
        for lease in [&ev.new, &ev.old].into_iter().flatten() {
            assert_eq!(matches!(lease, Lease::V6(_)), ev.reason.is_v6(), "{name}");
        }
        // What a lease-bringing reason hands over has an address, except for
        // stateless DHCPv6 (INFORM6).
        if let Some(l) = ev.new_v6() {
            assert_eq!(l.address.is_some(), raw != "INFORM6", "{name}");
        }
    }
}

#[test]
fn every_udhcpc_fixture_parses() {
    let names = fixtures(UDHCPC);
    assert_eq!(names.len(), 31, "the capture has 31 calls");
    for name in &names {
        let env = load(UDHCPC, name);
        let ev = udhcpc_event(name);
        let raw = reason_in_name(name);
        assert_eq!(env_value(&env, udhcpc::EVENT_VAR), Some(raw), "{name}");
        assert_eq!(ev.reason, udhcpc_reason(raw), "{name}");
        assert_eq!(
            ClientKind::Udhcpc.parse_event(&env).as_ref(),
            Ok(&ev),
            "{name}"
        );
        assert_eq!(ev.interface, "cli0", "{name}");
        // No pid variable, no old lease, no DHCPv6.
        assert_eq!(ev.pid, None, "{name}");
        assert!(ev.old.is_none() && ev.cur.is_none(), "{name}");
        match ev.reason {
            Reason::Bound | Reason::Renew => {
                let l = ev.new_v4().unwrap_or_else(|| panic!("{name}: no lease"));
                assert_eq!(l.prefix_len, 24, "{name}");
                assert_eq!(l.lease_time, Some(120), "{name}");
                assert_eq!(l.server, Some(ip4("198.18.0.1")), "{name}");
                // The first range, or the one after the NAK.
                let host = l.address.octets()[3];
                assert!((100..=250).contains(&host), "{name}: {}", l.address);
            }
            // nak has `ip=0.0.0.0`: no lease.
            _ => assert!(ev.new.is_none(), "{name}"),
        }
    }
}

fn env_value<'a>(env: &'a Env, key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn each_client_refuses_the_others_environment() {
    let dhcpcd_env = load(DHCPCD, "v4-04-BOUND.env");
    let udhcpc_env = load(UDHCPC, "main-02-bound.env");
    // No ARGV1 in dhcpcd's: udhcpc says so.
    match udhcpc::parse_event(&dhcpcd_env) {
        Err(LeaseError::Missing { var, .. }) => assert_eq!(var, "ARGV1"),
        other => panic!("{other:?}"),
    }
    // No `reason` in udhcpc's.
    match dhcpcd::parse_event(&udhcpc_env) {
        Err(LeaseError::Missing { var, .. }) => assert_eq!(var, "reason"),
        other => panic!("{other:?}"),
    }
    // dhclient's reasons are upper case, udhcpc's events are not.
    let env = with(udhcpc_env, "ARGV1", "BOUND");
    assert_eq!(
        udhcpc::parse_event(&env).unwrap_err(),
        LeaseError::UnknownReason("BOUND".into())
    );
    let env = with(dhcpcd_env, "reason", "RENEWED");
    assert_eq!(
        dhcpcd::parse_event(&env).unwrap_err(),
        LeaseError::UnknownReason("RENEWED".into())
    );
}

/// What the server handed out, as every client's lease says it.
fn assert_server_options(l: &Lease4, what: &str) {
    assert_eq!(l.prefix_len, 24, "{what}");
    assert_eq!(l.broadcast, Some(ip4("198.18.0.255")), "{what}");
    assert_eq!(l.routers, vec![ip4("198.18.0.1")], "{what}");
    assert_eq!(
        l.classless_routes,
        vec![
            (ip4("198.19.0.0"), 16, ip4("198.18.0.1")),
            (ip4("0.0.0.0"), 0, ip4("198.18.0.1")),
        ],
        "{what}"
    );
    assert_eq!(l.mtu, Some(1400), "{what}");
    assert_eq!(l.dns, vec![IpAddr::V4(ip4("198.18.0.53"))], "{what}");
    assert_eq!(l.domain.as_deref(), Some("example.test"), "{what}");
    assert_eq!(l.search, ["example.test", "lab.example.test"], "{what}");
    assert_eq!(l.lease_time, Some(120), "{what}");
    assert_eq!(l.server, Some(ip4("198.18.0.1")), "{what}");
}

#[test]
fn dhcpcd_bound_lease_values() {
    let ev = dhcpcd_event("v4-04-BOUND.env");
    let l = ev.new_v4().unwrap();
    assert_eq!(l.address, ip4("198.18.0.184"));
    assert_server_options(l, "dhcpcd BOUND");
    assert_eq!((l.renewal, l.rebinding), (Some(60), Some(105)));
    // dhcpcd passes no expiry, and dnsmasq sent no host name.
    assert_eq!((l.expiry, l.hostname.as_deref()), (None, None));
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));

    // The host name dnsmasq echoed (`-h myhost.example.test`).
    let ev = dhcpcd_event("v4-opts-04-BOUND.env");
    assert_eq!(ev.new_v4().unwrap().hostname.as_deref(), Some("myhost"));
}

#[test]
fn udhcpc_bound_lease_values() {
    let ev = udhcpc_event("main-02-bound.env");
    let l = ev.new_v4().unwrap();
    assert_eq!(l.address, ip4("198.18.0.129"));
    assert_server_options(l, "udhcpc bound");
    // udhcpc passes T1/T2 only as hex `opt58`/`opt59` and ignores them
    // itself (it renews at half the lease); no expiry either.
    assert_eq!((l.renewal, l.rebinding, l.expiry), (None, None, None));
    assert_eq!(l.hostname, None);
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));

    // Debian ifupdown's command line asks for no MTU, search list or
    // option 121: the router is the default route, with the metric.
    let ev = udhcpc_event("ifupdown-02-bound.env");
    let l = ev.new_v4().unwrap();
    assert_eq!(l.address, ip4("198.18.0.148"));
    assert_eq!(l.hostname.as_deref(), Some("myhost"));
    assert!(l.classless_routes.is_empty() && l.search.is_empty());
    assert_eq!(l.mtu, None);
    let d = desired_v4(l, Some(50));
    assert_eq!(d.link.mtu, None);
    assert_eq!(d.routes, vec![default_via("198.18.0.1", Some(50))]);

    // After the NAK the new range's address.
    let ev = udhcpc_event("nak-05-bound.env");
    assert_eq!(ev.new_v4().unwrap().address, ip4("198.18.0.246"));
}

fn default_via(gw: &str, metric: Option<u32>) -> RouteWanted {
    RouteWanted {
        destination: None,
        gateway: Some(IpAddr::V4(ip4(gw))),
        metric,
        onlink: false,
    }
}

/// What `desired_v4` must give for a lease of this server at `addr`.
fn expected_kernel(addr: &str) -> (LinkWanted, Vec<AddressWanted>, Vec<RouteWanted>) {
    (
        LinkWanted {
            up: true,
            mtu: Some(1400),
            mac: None,
            alias: None,
        },
        vec![AddressWanted {
            addr: IpAddr::V4(ip4(addr)),
            prefix_len: 24,
            peer: None,
            broadcast: Some(ip4("198.18.0.255")),
            scope: None,
            label: None,
            nodad: false,
            preferred_lft: Some(120),
            valid_lft: Some(120),
        }],
        // Option 121 is there: the routers (and so the metric) do not count.
        vec![
            RouteWanted {
                destination: Some((IpAddr::V4(ip4("198.19.0.0")), 16)),
                gateway: Some(IpAddr::V4(ip4("198.18.0.1"))),
                metric: None,
                onlink: false,
            },
            default_via("198.18.0.1", None),
        ],
    )
}

/// A [`Desired`] with its address replaced by a fixed one, to compare the
/// rest.
fn but_address(mut d: Desired) -> Desired {
    assert_eq!(d.addresses.len(), 1);
    d.addresses[0].addr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    d
}

#[test]
fn three_clients_same_kernel_writes() {
    let dhclient = dhclient_event("v4-02-BOUND.env");
    let dhcpcd = dhcpcd_event("v4-04-BOUND.env");
    let udhcpc = udhcpc_event("main-02-bound.env");
    let leases = [
        ("dhclient", dhclient.new_v4().unwrap(), "198.18.0.126"),
        ("dhcpcd", dhcpcd.new_v4().unwrap(), "198.18.0.184"),
        ("udhcpc", udhcpc.new_v4().unwrap(), "198.18.0.129"),
    ];
    for metric in [None, Some(50)] {
        let mut rest = Vec::new();
        for (client, lease, addr) in leases {
            let d = desired_v4(lease, metric);
            let (link, addresses, routes) = expected_kernel(addr);
            assert_eq!(d.link, link, "{client}");
            assert_eq!(d.addresses, addresses, "{client}");
            assert_eq!(d.routes, routes, "{client}");
            assert!(d.routes_best_effort, "{client}");
            rest.push((client, but_address(d)));
        }
        // Equal in everything but the address they leased.
        for (client, d) in &rest[1..] {
            assert_eq!(d, &rest[0].1, "{client} vs dhclient, metric {metric:?}");
        }
    }
    // And the same resolv.conf.
    for (client, lease, _) in leases {
        assert_eq!(
            lease.dns().render("cli0"),
            "domain example.test\nsearch example.test lab.example.test\nnameserver 198.18.0.53\n",
            "{client}"
        );
    }
    // The same lease at one address is "unchanged" whoever got it: the
    // daemon may switch clients without touching the kernel.
    let mut moved = leases[2].1.clone();
    moved.address = leases[1].1.address;
    assert!(unchanged(
        &Lease::V4(leases[1].1.clone()),
        &Lease::V4(moved)
    ));
}

#[test]
fn token_and_environment_are_extra() {
    // dhcpcd: the `-e` variable and nothing else (it drops the caller's
    // environment but PATH, which is its own).
    for name in fixtures(DHCPCD) {
        let ev = dhcpcd_event(&name);
        assert_eq!(ev.extra, pairs(&[("NETCONF_TOKEN", "abc123")]), "{name}");
    }
    let ev = dhcpcd_event("v4-04-BOUND.env");
    assert_eq!(ev.extra("NETCONF_TOKEN"), Some("abc123"));
    for var in [
        "PATH",
        "pid",
        "reason",
        "protocol",
        "ifmetric",
        "if_up",
        "interface_order",
        "new_ip_address",
    ] {
        assert_eq!(ev.extra(var), None, "{var}");
    }
    let ev = dhcpcd_event("v6-03-ROUTERADVERT.env");
    assert_eq!(ev.extra("nd1_flags"), None);
    // Another `-e`, in its place.
    let env = with(load(DHCPCD, "v4-04-BOUND.env"), "IF_METRIC", "10");
    let ev = dhcpcd::parse_event(&env).unwrap();
    assert_eq!(
        ev.extra,
        pairs(&[("NETCONF_TOKEN", "abc123"), ("IF_METRIC", "10")])
    );
    assert_eq!(ev.extra("IF_METRIC"), Some("10"));

    // udhcpc: its whole inherited environment but PATH (the token is
    // there); not its own variables, nor the hook's ARGV1.
    for name in fixtures(UDHCPC) {
        let ev = udhcpc_event(&name);
        assert_eq!(
            ev.extra,
            pairs(&[
                ("CALLER_MARKER", "set-in-caller-env"),
                ("NETCONF_TOKEN", "abc123")
            ]),
            "{name}"
        );
    }
    let ev = udhcpc_event("main-02-bound.env");
    assert_eq!(ev.extra("NETCONF_TOKEN"), Some("abc123"));
    for var in [
        "ARGV1",
        "PATH",
        "interface",
        "ip",
        "opt53",
        "staticroutes",
        "serverid",
    ] {
        assert_eq!(ev.extra(var), None, "{var}");
    }
    let env = with(load(UDHCPC, "main-02-bound.env"), "IF_METRIC", "10");
    assert_eq!(
        udhcpc::parse_event(&env).unwrap().extra("IF_METRIC"),
        Some("10")
    );
}

#[test]
fn dhcpcd_renewals_with_the_same_lease_refresh() {
    for name in [
        "v4-05-RENEW.env",
        "v4-06-RECONFIGURE.env",
        "v4-07-RENEW.env",
        "v4-08-RENEW.env",
        "v4-rebind-05-REBIND.env",
    ] {
        let ev = dhcpcd_event(name);
        let (old, new) = (ev.old.as_ref().unwrap(), ev.new.as_ref().unwrap());
        assert_eq!(old.as_v4().unwrap().address, new.as_v4().unwrap().address);
        assert!(unchanged(old, new), "{name}");
        assert_eq!(plan(&ev), Plan::Refresh { new }, "{name}");
    }
    // T1/T2 moved on (the ACK to the renewal said 53/98), nothing the
    // kernel is given did.
    let ev = dhcpcd_event("v4-05-RENEW.env");
    let (old, new) = (ev.old_v4().unwrap(), ev.new_v4().unwrap());
    assert_eq!((old.renewal, new.renewal), (Some(60), Some(53)));
    assert_ne!(old, new);

    // Another address is a change, with the old lease to take away.
    let env = with(
        load(DHCPCD, "v4-05-RENEW.env"),
        "new_ip_address",
        "198.18.0.185",
    );
    let ev = dhcpcd::parse_event(&env).unwrap();
    match plan(&ev) {
        Plan::Configure { new, old } => {
            assert_eq!(new.as_v4().unwrap().address, ip4("198.18.0.185"));
            assert_eq!(old.unwrap().as_v4().unwrap().address, ip4("198.18.0.184"));
        }
        other => panic!("{other:?}"),
    }
    // So are other routes (without option 121: the routers).
    let env = with(
        load(DHCPCD, "v4-05-RENEW.env"),
        "new_classless_static_routes",
        "",
    );
    assert!(matches!(
        plan(&dhcpcd::parse_event(&env).unwrap()),
        Plan::Configure { old: Some(_), .. }
    ));

    // REBOOT is a (re)configuration, TIMEOUT tries the recorded lease.
    for name in ["v4-13-REBOOT.env", "v4-carrier-07-REBOOT.env"] {
        assert!(matches!(
            plan(&dhcpcd_event(name)),
            Plan::Configure { old: None, .. }
        ));
    }
    match plan(&dhcpcd_event("v4-timeout-09-TIMEOUT.env")) {
        Plan::TryRecorded { new } => {
            assert_eq!(new.lease_time, Some(120));
            assert_eq!(new.expiry, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dhcpcd_ends_of_leases() {
    for name in [
        "v4-09-STOP.env",
        "v4-14-STOP.env",
        "v4-carrier-05-EXPIRE.env",
        "v4-carrier-09-EXPIRE.env",
        "v4-carrier-13-EXPIRE.env",
        "v4-expire-04-EXPIRE.env",
        "v4-nak-04-STOP.env",
        "v4-rebind-06-STOP.env",
        "v4-timeout-10-STOP.env",
    ] {
        let ev = dhcpcd_event(name);
        assert!(ev.new.is_none(), "{name}");
        match plan(&ev) {
            Plan::Deconfigure {
                old: Some(Lease::V4(old)),
            } => {
                assert_eq!(old.prefix_len, 24, "{name}");
                assert!((100..=199).contains(&old.address.octets()[3]), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The main run's STOP takes away the address BOUND gave.
    let bound = dhcpcd_event("v4-04-BOUND.env");
    let stop = dhcpcd_event("v4-09-STOP.env");
    assert_eq!(
        stop.old_v4().unwrap().address,
        bound.new_v4().unwrap().address
    );

    // NAK carries no lease at all; DEPARTED and a STOP after the lease
    // expired neither: remove what was recorded.
    for name in [
        "v4-nak-08-NAK.env",
        "v4-carrier-14-DEPARTED.env",
        "v4-expire-05-STOP.env",
    ] {
        let ev = dhcpcd_event(name);
        assert!(ev.new.is_none() && ev.old.is_none(), "{name}");
        assert_eq!(plan(&ev), Plan::Deconfigure { old: None }, "{name}");
    }
    assert_eq!(dhcpcd_event("v4-nak-08-NAK.env").reason, Reason::Nak);

    // Notices ask for nothing; PREINIT for the link.
    for name in [
        "v4-02-NOCARRIER.env",
        "v4-03-CARRIER.env",
        "v4-10-STOPPED.env",
        "v6-03-ROUTERADVERT.env",
        "v6-19-ROUTERADVERT.env",
    ] {
        assert_eq!(plan(&dhcpcd_event(name)), Plan::Nothing, "{name}");
    }
    assert_eq!(
        plan(&dhcpcd_event("v4-01-PREINIT.env")),
        Plan::LinkUp { v6: false }
    );

    // DHCPv6 ends: the old lease, with its address.
    for name in [
        "v6-18-RELEASE6.env",
        "v6-stop-06-STOP6.env",
        "v6-expire-05-EXPIRE6.env",
    ] {
        match plan(&dhcpcd_event(name)) {
            Plan::Deconfigure {
                old: Some(Lease::V6(old)),
            } => {
                let (addr, len) = old.address.unwrap();
                assert_eq!(len, 128, "{name}");
                assert_eq!(&addr.segments()[..4], &[0x2001, 0xdb8, 7, 0], "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn udhcpc_plans() {
    for name in fixtures(UDHCPC) {
        let ev = udhcpc_event(&name);
        match (ev.reason, plan(&ev)) {
            // udhcpc passes no old lease: each renew is a configuration
            // against what the daemon recorded.
            (Reason::Bound | Reason::Renew, Plan::Configure { old: None, .. }) => {}
            (Reason::Deconfig | Reason::Nak, Plan::Deconfigure { old: None }) => {}
            (Reason::Notice, Plan::Nothing) => {}
            (reason, other) => panic!("{name}: {reason} gave {other:?}"),
        }
    }
    // What the daemon compares: renewals (unicast, at half the lease, and
    // the one by broadcast) ask for what bound asked.
    for (bound, renew) in [
        ("main-02-bound.env", "main-03-renew.env"),
        ("main-02-bound.env", "main-04-renew.env"),
        ("rebind-02-bound.env", "rebind-03-renew.env"),
    ] {
        let (b, r) = (udhcpc_event(bound), udhcpc_event(renew));
        assert!(
            unchanged(b.new.as_ref().unwrap(), r.new.as_ref().unwrap()),
            "{renew}"
        );
    }
    // The NAK's `ip=0.0.0.0` is not a lease.
    let ev = udhcpc_event("nak-03-nak.env");
    assert_eq!((ev.reason, &ev.new), (Reason::Nak, &None));
}

#[test]
fn dhcpcd_v6_leases() {
    let ev = dhcpcd_event("v6-04-BOUND6.env");
    assert_eq!(ev.reason, Reason::Bound6);
    let l = ev.new_v6().unwrap();
    assert_eq!(l.address, Some((ip6("2001:db8:7::1b9"), 128)));
    assert_eq!(l.prefix, None);
    assert_eq!((l.preferred_life, l.max_life), (Some(120), Some(120)));
    assert_eq!((l.renew, l.rebind), (Some(60), Some(105)));
    assert_eq!(l.dns, vec![ip6("2001:db8:7::53")]);
    assert_eq!(l.search, ["example.test"]);
    assert_eq!(l.iaid.as_deref(), Some("0b2e13a6"));
    assert_eq!(l.client_id.as_deref(), Some("0001000132a8b90722f90b2e13a6"));
    assert_eq!(l.server_id.as_deref(), Some("0001000132a8b907de9cc991d73b"));
    assert_eq!(l.info_refresh_time, None);
    let d = desired_v6(l);
    assert!(d.routes.is_empty() && d.link.up);
    assert_eq!(d.addresses.len(), 1);
    let a = &d.addresses[0];
    assert_eq!(
        (a.addr, a.prefix_len, a.preferred_lft, a.valid_lft),
        (
            IpAddr::V6(ip6("2001:db8:7::1b9")),
            128,
            Some(120),
            Some(120)
        )
    );
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));
    // The same resolv.conf as dhclient's BOUND6.
    let dhclient = dhclient_event("v6-02-BOUND6.env");
    assert_eq!(
        l.dns().render("cli0"),
        dhclient.new_v6().unwrap().dns().render("cli0")
    );
    assert_eq!(
        l.dns().render("cli0"),
        "search example.test\nnameserver 2001:db8:7::53\n"
    );
    // And the same kernel writes, but for the address.
    let mut theirs = desired_v6(dhclient.new_v6().unwrap());
    theirs.addresses[0].addr = a.addr;
    assert_eq!(theirs, d);

    // REBOOT6 confirms the same address: a (re)configuration.
    let ev = dhcpcd_event("v6-17-REBOOT6.env");
    assert_eq!(ev.reason, Reason::Bound6);
    assert_eq!(
        ev.new_v6().unwrap().address,
        Some((ip6("2001:db8:7::1b9"), 128))
    );
    // Renewals and the rebind keep the address: a refresh.
    for name in [
        "v6-09-RENEW6.env",
        "v6-11-RENEW6.env",
        "v6-rebind-07-REBIND6.env",
    ] {
        let ev = dhcpcd_event(name);
        assert!(ev.new_v6().unwrap().address.is_some(), "{name}");
        assert!(matches!(plan(&ev), Plan::Refresh { .. }), "{name}");
    }
    let env = with(
        load(DHCPCD, "v6-09-RENEW6.env"),
        "new_dhcp6_ia_na1_ia_addr1",
        "2001:db8:7::1ba",
    );
    assert!(matches!(
        plan(&dhcpcd::parse_event(&env).unwrap()),
        Plan::Configure { old: Some(_), .. }
    ));
}

#[test]
fn dhcpcd_inform6_is_options_only() {
    let ev = dhcpcd_event("v6-inform-04-INFORM6.env");
    assert_eq!(ev.reason, Reason::Renew6);
    assert!(ev.old.is_none());
    let l = ev.new_v6().unwrap();
    assert_eq!((l.address, l.prefix), (None, None));
    assert_eq!(l.dns, vec![ip6("2001:db8:7::53")]);
    assert_eq!(l.search, ["example.test"]);
    assert_eq!(l.info_refresh_time, Some(600));
    assert_eq!((l.preferred_life, l.max_life), (None, None));
    let d = desired_v6(l);
    assert!(d.addresses.is_empty() && d.routes.is_empty() && d.link.up);
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));
    // The second one, with the same options as old_*: a refresh.
    let ev = dhcpcd_event("v6-inform-06-INFORM6.env");
    assert_eq!(ev.reason, Reason::Renew6);
    assert_eq!(ev.old_v6().unwrap().address, None);
    assert!(matches!(plan(&ev), Plan::Refresh { .. }));
}

#[test]
fn dhcpcd_anonymous_lease_has_no_lifetime() {
    // `--anonymous` alone masks the lease time, MTU and host name.
    let ev = dhcpcd_event("v4-anon-04-BOUND.env");
    assert_eq!(ev.reason, Reason::Bound);
    let l = ev.new_v4().unwrap();
    assert_eq!(l.address, ip4("198.18.0.158"));
    assert_eq!(
        (l.lease_time, l.mtu, l.hostname.as_deref()),
        (None, None, None)
    );
    assert_eq!((l.renewal, l.rebinding), (Some(60), Some(105)));
    assert_eq!(l.classless_routes.len(), 2);
    assert_eq!(l.remaining(0), None);
    // Without a lease time desired_v4 adds the address for ever (as for
    // an infinite lease), with the link's own MTU.
    let d = desired_v4(l, Some(50));
    assert_eq!(d.addresses.len(), 1);
    let a = &d.addresses[0];
    assert_eq!(
        (a.addr, a.prefix_len, a.preferred_lft, a.valid_lft),
        (IpAddr::V4(ip4("198.18.0.158")), 24, None, None)
    );
    assert_eq!(d.link.mtu, None);
    assert_eq!(d.routes, expected_kernel("198.18.0.158").2);
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));
    // The STOP has the same masked lease as old_*.
    let stop = dhcpcd_event("v4-anon-05-STOP.env");
    assert_eq!(stop.old_v4(), Some(l));

    // With `-o dhcp_lease_time,interface_mtu` after it, both are back.
    let ev = dhcpcd_event("v4-anon-09-BOUND.env");
    let l = ev.new_v4().unwrap();
    assert_eq!((l.lease_time, l.mtu), (Some(120), Some(1400)));
    let a = &desired_v4(l, None).addresses[0];
    assert_eq!((a.preferred_lft, a.valid_lft), (Some(120), Some(120)));
}

/// Garbage in any variable the lease code reads is an error that names it.
#[test]
fn garbage_is_named() {
    let dhcpcd_v4 = [
        "new_ip_address",
        "new_subnet_mask",
        "new_broadcast_address",
        "new_routers",
        "new_classless_static_routes",
        "new_interface_mtu",
        "new_domain_name_servers",
        "new_domain_name",
        "new_domain_search",
        "new_dhcp_lease_time",
        "new_dhcp_renewal_time",
        "new_dhcp_rebinding_time",
        "new_dhcp_server_identifier",
        "old_ip_address",
        "old_subnet_mask",
        "old_routers",
        "old_classless_static_routes",
        "pid",
        "interface",
    ];
    let dhcpcd_v6 = [
        "new_dhcp6_ia_na1_ia_addr1",
        "new_dhcp6_ia_na1_ia_addr1_pltime",
        "new_dhcp6_ia_na1_ia_addr1_vltime",
        "new_dhcp6_ia_na1_t1",
        "new_dhcp6_ia_na1_t2",
        "new_dhcp6_name_servers",
        "new_dhcp6_domain_search",
        "old_dhcp6_ia_na1_ia_addr1",
    ];
    let udhcpc_vars = [
        "ip",
        "mask",
        "broadcast",
        "router",
        "staticroutes",
        "mtu",
        "dns",
        "domain",
        "search",
        "lease",
        "serverid",
        "interface",
    ];
    let cases: [(&str, &str, &[&str], Parser); 3] = [
        (DHCPCD, "v4-05-RENEW.env", &dhcpcd_v4, dhcpcd::parse_event),
        (DHCPCD, "v6-09-RENEW6.env", &dhcpcd_v6, dhcpcd::parse_event),
        (
            UDHCPC,
            "main-03-renew.env",
            &udhcpc_vars,
            udhcpc::parse_event,
        ),
    ];
    for (client, name, vars, parse) in cases {
        for var in vars {
            let env = with(load(client, name), var, "x;y z#");
            match parse(&env) {
                Err(LeaseError::Invalid { var: v, value, .. }) => {
                    assert_eq!((v.as_str(), value.as_str()), (*var, "x;y z#"));
                }
                other => panic!("{name} {var}: {other:?}"),
            }
        }
    }
}

/// A reason that hands over a lease, without the lease's address, is
/// refused, naming the variable.
#[test]
fn v4_lease_without_address_is_refused() {
    for (client, name, var, parse) in [
        (
            DHCPCD,
            "v4-04-BOUND.env",
            "new_ip_address",
            dhcpcd::parse_event as Parser,
        ),
        (
            DHCPCD,
            "v4-13-REBOOT.env",
            "new_ip_address",
            dhcpcd::parse_event,
        ),
        (
            DHCPCD,
            "v4-rebind-05-REBIND.env",
            "new_ip_address",
            dhcpcd::parse_event,
        ),
        (
            DHCPCD,
            "v4-timeout-09-TIMEOUT.env",
            "new_ip_address",
            dhcpcd::parse_event,
        ),
        (UDHCPC, "main-02-bound.env", "ip", udhcpc::parse_event),
        (UDHCPC, "main-03-renew.env", "ip", udhcpc::parse_event),
    ] {
        let mut env = load(client, name);
        env.retain(|(k, _)| k != var);
        match parse(&env) {
            Err(LeaseError::Missing { var: v, .. }) => assert_eq!(v, var, "{name}"),
            other => panic!("{name} without {var}: {other:?}"),
        }
    }
}

/// As dhclient's parser does for BOUND6/REBIND6 without `new_ip6_address`
/// (or a delegated prefix), and as the error dhcpcd's parser has ready for
/// it says.
#[test]
fn dhcpcd_v6_lease_without_address_is_refused() {
    for name in [
        "v6-04-BOUND6.env",
        "v6-17-REBOOT6.env",
        "v6-rebind-07-REBIND6.env",
    ] {
        let mut env = load(DHCPCD, name);
        env.retain(|(k, _)| k != "new_dhcp6_ia_na1_ia_addr1");
        match dhcpcd::parse_event(&env) {
            Err(LeaseError::Missing { var, .. }) => {
                assert_eq!(var, "new_dhcp6_ia_na1_ia_addr1", "{name}")
            }
            other => panic!("{name} without new_dhcp6_ia_na1_ia_addr1: {other:?}"),
        }
    }
}

/// Whatever is missing or mangled, parsing answers and never panics.
#[test]
fn no_panics_on_mangled_fixtures() {
    let mangles = ["", "x", "999999999999"];
    let mut panics = Vec::new();
    let mut try_one = |client: &str, name: &str, what: String, env: &Env, parse: Parser| {
        let run = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(ev) = parse(env) {
                // What parses can be planned and put into kernel terms.
                let _ = plan(&ev);
                if let Some(l) = ev.new_v4() {
                    let _ = desired_v4(l, Some(u32::MAX));
                    let _ = l.dns();
                }
                if let Some(l) = ev.new_v6() {
                    let _ = desired_v6(l);
                }
                if let (Some(old), Some(new)) = (&ev.old, &ev.new) {
                    let _ = unchanged(old, new);
                }
            }
        }));
        if run.is_err() {
            panics.push(format!("{client}/{name}: {what}"));
        }
    };
    let mut calls = 0;
    for (client, parse) in [
        (DHCPCD, dhcpcd::parse_event as Parser),
        (UDHCPC, udhcpc::parse_event),
    ] {
        for name in fixtures(client) {
            let env = load(client, &name);
            for i in 0..env.len() {
                let mut without = env.clone();
                let (key, _) = without.remove(i);
                try_one(client, &name, format!("without {key}"), &without, parse);
                calls += 1;
                for m in mangles {
                    let mut mangled = env.clone();
                    mangled[i].1 = m.to_string();
                    try_one(client, &name, format!("{key}={m:?}"), &mangled, parse);
                    calls += 1;
                }
            }
        }
    }
    assert!(calls > 10_000, "{calls} calls");
    assert!(panics.is_empty(), "panics: {panics:#?}");
}

/// dhcpcanon's environments are dhclient's names: every one parses as
/// dhclient's, its BOUND with the server from `new_server_id` and no lease
/// time (it asks for none), its FAIL ends the lease.
#[test]
fn every_dhcpcanon_fixture_parses() {
    let names = fixtures("dhcpcanon-env");
    assert_eq!(names.len(), 6, "{names:?}");
    for name in &names {
        let env = load("dhcpcanon-env", name);
        let event = ClientKind::Dhcpcanon
            .parse_event(&env)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.reason.as_str(), reason_in_name(name), "{name}");
        assert_eq!(event.interface, "cli0", "{name}");
        match event.reason {
            Reason::Bound => {
                let l = event.new_v4().expect("a lease");
                assert_eq!(l.prefix_len, 24, "{name}");
                assert_eq!(l.routers, vec![ip4("198.18.0.1")], "{name}");
                assert_eq!(l.server, Some(ip4("198.18.0.1")), "{name}");
                assert_eq!(l.lease_time, None, "{name}");
                assert_eq!(l.dns().nameservers, vec![IpAddr::V4(ip4("198.18.0.53"))]);
            }
            Reason::Preinit => assert!(event.new.is_none(), "{name}"),
            Reason::Fail => assert!(event.reason.ends_lease(), "{name}"),
            other => panic!("{name}: unexpected {other}"),
        }
    }
}

/// Every reason the protocol lets through for dhcpcd and udhcpc is one the
/// client's parser maps (the two lists are kept in two crates).
#[test]
fn every_name_the_protocol_accepts_is_mapped() {
    use netconf_ctlsock_proto::{DHCPCD_REASONS, UDHCPC_EVENTS};
    use netconf_methods::lease::LeaseError;
    for name in DHCPCD_REASONS {
        let env = pairs(&[("reason", name), ("interface", "cli0")]);
        let got = ClientKind::Dhcpcd.parse_event(&env);
        assert!(
            !matches!(got, Err(LeaseError::UnknownReason(_))),
            "dhcpcd {name}: {got:?}"
        );
    }
    for name in UDHCPC_EVENTS {
        let env = pairs(&[("interface", "cli0"), ("ARGV1", name)]);
        let got = ClientKind::Udhcpc.parse_event(&env);
        assert!(
            !matches!(got, Err(LeaseError::UnknownReason(_))),
            "udhcpc {name}: {got:?}"
        );
    }
}
