//! The DHCP lease code against the real dhclient hook environments captured
//! on Debian 12 (isc-dhclient 4.4.3-P1 against dnsmasq 2.90), copied from
//! the project's reference into `tests/fixtures/dhclient-env/` (see its
//! README for how each was provoked). The server handed out 198.18.0.100 to
//! .199/24 for 2 minutes, router 198.18.0.1, DNS 198.18.0.53, domain
//! example.test, search example.test + lab.example.test, MTU 1400, option
//! 121 = 198.19.0.0/16 via 198.18.0.1 + default via 198.18.0.1; DHCPv6
//! 2001:db8:7::100 to ::1ff, DNS 2001:db8:7::53, search example.test.

use netconf_methods::dhclient::parse_event;
use netconf_methods::lease::{
    desired_v4, desired_v6, plan, unchanged, DhcpEvent, Lease, LeaseError, Plan, Reason,
};
use netconf_methods::provider::{AddressWanted, LinkWanted, RouteWanted};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dhclient-env")
}

/// A fixture as the hook got it: `KEY=VALUE` lines.
fn load(name: &str) -> Vec<(String, String)> {
    let text = fs::read_to_string(fixture_dir().join(name)).unwrap();
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn event(name: &str) -> DhcpEvent {
    parse_event(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".env"))
        .collect();
    names.sort();
    names
}

/// Replaces (or adds) one variable.
fn with(mut env: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
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

#[test]
fn every_fixture_parses() {
    let names = fixtures();
    assert_eq!(names.len(), 73, "the reference has 73 captures");
    for name in &names {
        let ev = event(name);
        let reason = name.trim_end_matches(".env").rsplit('-').next().unwrap();
        assert_eq!(ev.reason.as_str(), reason, "{name}");
        assert_eq!(ev.interface, "cli0", "{name}");
        assert!(ev.pid.is_some(), "{name}");
        // The -e variable, and nothing else of dhclient's, is "extra".
        assert_eq!(
            ev.extra,
            vec![("NETCONF_TOKEN".to_string(), "abc123".to_string())],
            "{name}"
        );
        assert_eq!(ev.extra("NETCONF_TOKEN"), Some("abc123"));

        // Which leases come with which reason (the README's table).
        let (new, old, cur) = (ev.new.is_some(), ev.old.is_some(), ev.cur.is_some());
        match ev.reason {
            Reason::Preinit | Reason::Fail | Reason::Preinit6 => {
                assert!(!new && !old && !cur, "{name}")
            }
            Reason::Bound | Reason::Reboot | Reason::Timeout => {
                assert!(new && !cur, "{name}");
                // Only the BOUND after an expired lease still has it.
                assert_eq!(old, name == "v4-05-BOUND.env", "{name}");
            }
            Reason::Renew | Reason::Rebind6 => assert!(new && old && !cur, "{name}"),
            Reason::Renew6 => {
                assert!(new && !cur, "{name}");
                // Stateful renewals carry the old lease, stateless ones not.
                assert_eq!(old, !name.contains("stateless"), "{name}");
            }
            Reason::Bound6 => assert!(new && !old && !cur, "{name}"),
            Reason::Expire | Reason::Release | Reason::Stop | Reason::Release6 => {
                assert!(!new && old && !cur, "{name}")
            }
            Reason::Stop6 => {
                assert!(!new && !cur, "{name}");
                assert_eq!(old, !name.contains("stateless"), "{name}");
            }
            Reason::Depref6 => assert!(!new && !old && cur, "{name}"),
            other => panic!("{name}: no fixture expected for {other}"),
        }
        // The family of the leases follows the reason.
        for lease in [&ev.new, &ev.old, &ev.cur].into_iter().flatten() {
            assert_eq!(matches!(lease, Lease::V6(_)), ev.reason.is_v6(), "{name}");
        }
    }
}

#[test]
fn bound_lease_values() {
    let ev = event("v4-02-BOUND.env");
    let l = ev.new_v4().unwrap();
    assert_eq!(l.address, ip4("198.18.0.126"));
    assert_eq!(l.prefix_len, 24);
    assert_eq!(l.broadcast, Some(ip4("198.18.0.255")));
    assert_eq!(l.routers, vec![ip4("198.18.0.1")]);
    assert_eq!(
        l.classless_routes,
        vec![
            (ip4("198.19.0.0"), 16, ip4("198.18.0.1")),
            (ip4("0.0.0.0"), 0, ip4("198.18.0.1")),
        ]
    );
    assert_eq!(l.mtu, Some(1400));
    assert_eq!(l.dns, vec![IpAddr::V4(ip4("198.18.0.53"))]);
    assert_eq!(l.domain.as_deref(), Some("example.test"));
    assert_eq!(l.search, ["example.test", "lab.example.test"]);
    assert_eq!(l.hostname.as_deref(), Some("vm"));
    assert_eq!(
        (l.lease_time, l.renewal, l.rebinding),
        (Some(120), Some(60), Some(105))
    );
    assert_eq!(l.server, Some(ip4("198.18.0.1")));
    assert!(l.expiry.is_some_and(|e| e > 1_795_637_000));
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));

    // The BOUND after EXPIRE still carries the expired lease as old_*.
    let ev = event("v4-05-BOUND.env");
    assert_eq!(ev.new_v4().unwrap().expiry, Some(1_795_637_637));
    assert_eq!(ev.old_v4().unwrap().expiry, Some(1_795_637_516));
    assert!(matches!(plan(&ev), Plan::Configure { old: Some(_), .. }));

    // Each declined BOUND offers the next address.
    for n in 2..=14 {
        let ev = event(&format!("v4-decline-{n:02}-BOUND.env"));
        assert_eq!(
            ev.new_v4().unwrap().address,
            Ipv4Addr::new(198, 18, 0, 142 + n as u8)
        );
    }
}

#[test]
fn bound_lease_in_the_kernel() {
    let ev = event("v4-02-BOUND.env");
    let lease = ev.new_v4().unwrap();
    // Option 121 is there: the routers (and so the metric) do not count.
    for metric in [None, Some(50)] {
        let d = desired_v4(lease, metric);
        assert_eq!(
            d.link,
            LinkWanted {
                up: true,
                mtu: Some(1400),
                mac: None,
                alias: None,
            }
        );
        assert_eq!(
            d.addresses,
            vec![AddressWanted {
                addr: IpAddr::V4(ip4("198.18.0.126")),
                prefix_len: 24,
                peer: None,
                broadcast: Some(ip4("198.18.0.255")),
                scope: None,
                label: None,
                nodad: false,
                preferred_lft: Some(120),
                valid_lft: Some(120),
            }]
        );
        assert_eq!(
            d.routes,
            vec![
                RouteWanted {
                    destination: Some((IpAddr::V4(ip4("198.19.0.0")), 16)),
                    gateway: Some(IpAddr::V4(ip4("198.18.0.1"))),
                    metric: None,
                    onlink: false,
                },
                RouteWanted {
                    destination: None,
                    gateway: Some(IpAddr::V4(ip4("198.18.0.1"))),
                    metric: None,
                    onlink: false,
                },
            ]
        );
    }
    // Without option 121 the router is the default route, with the metric.
    let env = with(
        load("v4-02-BOUND.env"),
        "new_rfc3442_classless_static_routes",
        "",
    );
    let ev = parse_event(&env).unwrap();
    assert_eq!(
        desired_v4(ev.new_v4().unwrap(), Some(50)).routes,
        vec![RouteWanted {
            destination: None,
            gateway: Some(IpAddr::V4(ip4("198.18.0.1"))),
            metric: Some(50),
            onlink: false,
        }]
    );
}

#[test]
fn bound_lease_dns() {
    let ev = event("v4-02-BOUND.env");
    assert_eq!(
        ev.new_v4().unwrap().dns().render("cli0"),
        "domain example.test\nsearch example.test lab.example.test\nnameserver 198.18.0.53\n"
    );
    let ev = event("v6-02-BOUND6.env");
    assert_eq!(
        ev.new_v6().unwrap().dns().render("cli0"),
        "search example.test\nnameserver 2001:db8:7::53\n"
    );
}

#[test]
fn renew_with_the_same_lease_is_unchanged() {
    for name in ["v4-06-RENEW.env", "v4-rebind-03-RENEW.env"] {
        let ev = event(name);
        let (old, new) = (ev.old.as_ref().unwrap(), ev.new.as_ref().unwrap());
        // T1/T2 and expiry moved on, nothing the kernel is given did.
        assert_ne!(old, new);
        assert!(unchanged(old, new), "{name}");
        assert!(matches!(plan(&ev), Plan::Refresh { .. }), "{name}");
    }
}

#[test]
fn renew_or_rebind_with_another_address_is_changed() {
    for reason in ["RENEW", "REBIND"] {
        let env = with(load("v4-06-RENEW.env"), "reason", reason);
        let env = with(env, "new_ip_address", "198.18.0.127");
        let ev = parse_event(&env).unwrap();
        assert_eq!(ev.reason.as_str(), reason);
        assert!(!unchanged(
            ev.old.as_ref().unwrap(),
            ev.new.as_ref().unwrap()
        ));
        match plan(&ev) {
            Plan::Configure { new, old } => {
                assert_eq!(new.as_v4().unwrap().address, ip4("198.18.0.127"));
                assert_eq!(old.unwrap().as_v4().unwrap().address, ip4("198.18.0.126"));
            }
            other => panic!("{reason}: {other:?}"),
        }
    }
    // New routers are a change too.
    let env = with(
        load("v4-06-RENEW.env"),
        "new_rfc3442_classless_static_routes",
        "",
    );
    let ev = parse_event(&env).unwrap();
    assert!(matches!(plan(&ev), Plan::Configure { .. }));
}

#[test]
fn v6_leases() {
    let ev = event("v6-02-BOUND6.env");
    let l = ev.new_v6().unwrap();
    assert_eq!(l.address, Some((ip6("2001:db8:7::1fa"), 128)));
    assert_eq!(l.prefix, None);
    assert_eq!((l.preferred_life, l.max_life), (Some(120), Some(120)));
    assert_eq!((l.renew, l.rebind), (Some(60), Some(105)));
    assert_eq!(l.dns, vec![ip6("2001:db8:7::53")]);
    assert_eq!(l.search, ["example.test"]);
    assert_eq!(l.iaid.as_deref(), Some("7c:ef:5d:c7"));
    assert_eq!(
        l.client_id.as_deref(),
        Some("0:1:0:1:32:99:fd:11:32:b:7c:ef:5d:c7")
    );
    let d = desired_v6(l);
    assert!(d.routes.is_empty());
    assert_eq!(d.addresses.len(), 1);
    let a = &d.addresses[0];
    assert_eq!(
        (a.addr, a.prefix_len, a.preferred_lft, a.valid_lft),
        (
            IpAddr::V6(ip6("2001:db8:7::1fa")),
            128,
            Some(120),
            Some(120)
        )
    );
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));

    for name in [
        "v6-03-RENEW6.env",
        "v6-04-RENEW6.env",
        "v6-rebind-03-REBIND6.env",
    ] {
        let ev = event(name);
        assert!(ev.new_v6().unwrap().address.is_some(), "{name}");
        assert!(matches!(plan(&ev), Plan::Refresh { .. }), "{name}");
    }
    let env = with(
        load("v6-03-RENEW6.env"),
        "new_ip6_address",
        "2001:db8:7::1fb",
    );
    assert!(matches!(
        plan(&parse_event(&env).unwrap()),
        Plan::Configure { old: Some(_), .. }
    ));

    // Stateless: options only, as RENEW6.
    let ev = event("v6-stateless-01-RENEW6.env");
    let l = ev.new_v6().unwrap();
    assert_eq!(l.address, None);
    assert_eq!(l.dns, vec![ip6("2001:db8:7::53")]);
    assert_eq!(l.search, ["example.test"]);
    assert_eq!(l.info_refresh_time, Some(600));
    assert!(desired_v6(l).addresses.is_empty());
    assert!(matches!(plan(&ev), Plan::Configure { old: None, .. }));
    let ev = event("v6-stateless-04-STOP6.env");
    assert_eq!(plan(&ev), Plan::Deconfigure { old: None });

    // DEPREF6 names the address through cur_*.
    let ev = event("v6-expire-03-DEPREF6.env");
    match plan(&ev) {
        Plan::Deprecate { cur } => {
            assert_eq!(cur.address, Some((ip6("2001:db8:7::134"), 128)))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ends_of_leases_have_only_the_old_one() {
    for name in [
        "v4-03-EXPIRE.env",
        "v4-07-STOP.env",
        "v4-10-RELEASE.env",
        "v4-11-RELEASE.env",
        "v4-expire-03-EXPIRE.env",
        "v4-expire-06-STOP.env",
        "v4-timeout-03-STOP.env",
        "v6-05-STOP6.env",
        "v6-08-RELEASE6.env",
    ] {
        let ev = event(name);
        assert!(ev.new.is_none(), "{name}");
        match plan(&ev) {
            Plan::Deconfigure { old: Some(old) } => {
                let has_address = match old {
                    Lease::V4(_) => true,
                    Lease::V6(l) => l.address.is_some(),
                };
                assert!(has_address, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    for name in ["v4-fail-once-02-FAIL.env", "v4-expire-05-FAIL.env"] {
        assert_eq!(plan(&event(name)), Plan::Deconfigure { old: None });
    }
    for name in ["v4-01-PREINIT.env", "v6-01-PREINIT6.env"] {
        assert!(matches!(plan(&event(name)), Plan::LinkUp { .. }));
    }
}

#[test]
fn timeout_offers_the_recorded_lease() {
    let ev = event("v4-timeout-02-TIMEOUT.env");
    match plan(&ev) {
        Plan::TryRecorded { new } => {
            assert_eq!(new.address, ip4("198.18.0.126"));
            assert_eq!(new.lease_time, Some(120));
            // Recorded 30 s before: only 90 s of it are left.
            let expiry = new.expiry.unwrap();
            assert_eq!(new.remaining(expiry - 90), Some(90));
        }
        other => panic!("{other:?}"),
    }
}

/// Garbage in any variable the lease code reads is an error that names it.
#[test]
fn garbage_in_fixtures_is_named() {
    let v4 = [
        "new_ip_address",
        "new_subnet_mask",
        "new_broadcast_address",
        "new_routers",
        "new_rfc3442_classless_static_routes",
        "new_interface_mtu",
        "new_domain_name_servers",
        "new_domain_name",
        "new_domain_search",
        "new_host_name",
        "new_dhcp_lease_time",
        "new_dhcp_renewal_time",
        "new_dhcp_rebinding_time",
        "new_expiry",
        "new_dhcp_server_identifier",
        "old_ip_address",
        "old_subnet_mask",
        "old_routers",
        "pid",
        "interface",
    ];
    let v6 = [
        "new_ip6_address",
        "new_ip6_prefixlen",
        "new_preferred_life",
        "new_max_life",
        "new_renew",
        "new_rebind",
        "new_starts",
        "new_life_starts",
        "new_dhcp6_name_servers",
        "new_dhcp6_domain_search",
        "old_ip6_address",
    ];
    for (name, vars) in [("v4-06-RENEW.env", &v4[..]), ("v6-03-RENEW6.env", &v6[..])] {
        for var in vars {
            let env = with(load(name), var, "x;y z#");
            match parse_event(&env) {
                Err(LeaseError::Invalid { var: v, value, .. }) => {
                    assert_eq!((v.as_str(), value.as_str()), (*var, "x;y z#"));
                }
                other => panic!("{name} {var}: {other:?}"),
            }
        }
    }
    let env = with(load("v4-06-RENEW.env"), "reason", "RENEWED");
    assert_eq!(
        parse_event(&env).unwrap_err(),
        LeaseError::UnknownReason("RENEWED".into())
    );
}

/// Whatever is missing or mangled, parsing answers and never panics.
#[test]
fn no_panics_on_mangled_fixtures() {
    let mangles = [
        "",
        " ",
        "\u{0}",
        "-1",
        "99999999999999999999999",
        "1 2 3 4 5 6 7 8 9",
        "255.255.255.255",
        "::",
        "\u{fffd}\u{fffd}",
        "a.",
        ".",
    ];
    for name in fixtures() {
        let env = load(&name);
        for i in 0..env.len() {
            let mut without = env.clone();
            without.remove(i);
            let _ = parse_event(&without);
            for m in mangles {
                let mut mangled = env.clone();
                mangled[i].1 = m.to_string();
                if let Ok(ev) = parse_event(&mangled) {
                    // What parses can be planned and put into kernel terms.
                    let _ = plan(&ev);
                    if let Some(l) = ev.new_v4() {
                        let _ = desired_v4(l, Some(u32::MAX));
                    }
                    if let Some(l) = ev.new_v6() {
                        let _ = desired_v6(l);
                    }
                }
            }
        }
    }
}
