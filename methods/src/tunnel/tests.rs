//! Stanza in, tunnel and `Desired` out, as Debian's commands would make them.

use super::*;
use crate::links::{stanza_links, LinkDiff};
use crate::provider::provider_for;
use netconf_interfaces::families::method_def;
use netconf_kernel::netlink::{Link, LinkKind};

fn stanza(iface: &str, family: Family, method: &str, pairs: &[(&str, &str)]) -> StanzaConfig {
    let mut vars = Variables::default();
    for (name, value) in pairs {
        vars.add_option_line(name, value);
    }
    if let Some(def) = method_def(family, method) {
        vars.apply_defaults(def);
    }
    StanzaConfig {
        iface: iface.to_string(),
        logical: iface.to_string(),
        family,
        method: method.to_string(),
        vars,
    }
}

fn desired(s: &StanzaConfig) -> Result<Desired, MethodError> {
    provider_for(s.family, &s.method)
        .expect("a provider")
        .desired(s)
}

fn tunnel_of(s: &StanzaConfig) -> TunnelAttrs {
    match stanza_links(s).unwrap().link.unwrap().kind {
        LinkSpecKind::Tunnel(spec) => spec.attrs,
        other => panic!("not a tunnel: {other:?}"),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn inet_tunnel_gre_as_debian_makes_it() {
    let s = stanza(
        "gre1",
        Family::Inet,
        "tunnel",
        &[
            ("mode", "gre"),
            ("endpoint", "198.51.100.2"),
            ("local", "198.51.100.1"),
            ("address", "203.0.113.1"),
            ("netmask", "255.255.255.252"),
            ("dstaddr", "203.0.113.2"),
            ("gateway", "203.0.113.2"),
            ("metric", "5"),
            ("ttl", "64"),
            ("mtu", "1400"),
        ],
    );
    assert_eq!(
        tunnel_of(&s),
        TunnelAttrs {
            local: Some(ip("198.51.100.1")),
            remote: Some(ip("198.51.100.2")),
            ttl: Some(64),
            ..TunnelAttrs::new(TunnelMode::Gre)
        }
    );
    let d = desired(&s).unwrap();
    assert_eq!(d.link.mtu, Some(1400));
    assert!(d.link.up);
    assert_eq!(d.addresses.len(), 1);
    assert_eq!(d.addresses[0].addr, ip("203.0.113.1"));
    // `ip addr add A/N peer P`: the prefix is the peer's.
    assert_eq!(d.addresses[0].prefix_len, 32);
    assert_eq!(d.addresses[0].peer, Some(ip("203.0.113.2")));
    assert_eq!(d.addresses[0].broadcast, None);
    assert_eq!(d.routes.len(), 1);
    assert_eq!(d.routes[0].to_string(), "default via 203.0.113.2 metric 5");
    assert!(d.routes[0].onlink);
}

#[test]
fn inet_tunnel_modes_and_bad_options() {
    let base = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("mode", "ipip"),
            ("endpoint", "198.51.100.2"),
            ("address", "203.0.113.1"),
            ("netmask", "30"),
        ];
        for (name, value) in extra {
            pairs.retain(|(n, _)| n != name);
            pairs.push((name, value));
        }
        stanza("tun0", Family::Inet, "tunnel", &pairs)
    };
    assert_eq!(tunnel_of(&base(&[])).mode, TunnelMode::Ipip);
    assert_eq!(tunnel_of(&base(&[("mode", "sit")])).mode, TunnelMode::Sit);
    let err = desired(&base(&[("mode", "GRE")])).unwrap_err().to_string();
    assert!(err.contains("tun0") && err.contains("mode"), "{err}");
    let err = stanza_links(&base(&[("mode", "ip6gre")])).unwrap_err();
    assert!(
        err.to_string().contains("is not a tunnel mode here"),
        "{err}"
    );
    let err = desired(&base(&[("endpoint", "x")]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "tun0: option `endpoint`: `x` is not an IPv4 address or any"
    );
    let err = desired(&base(&[("ttl", "300")])).unwrap_err().to_string();
    assert!(err.contains("ttl"), "{err}");
    let err = desired(&base(&[("netmask", "255.0.255.0")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("netmask"), "{err}");
    let no_endpoint = stanza(
        "tun0",
        Family::Inet,
        "tunnel",
        &[
            ("mode", "gre"),
            ("address", "203.0.113.1"),
            ("netmask", "30"),
        ],
    );
    assert_eq!(
        desired(&no_endpoint).unwrap_err().to_string(),
        "tun0: inet tunnel needs the option `endpoint`"
    );
}

#[test]
fn v4tunnel_routes_to_the_gateway_then_by_default() {
    let s = stanza(
        "he0",
        Family::Inet6,
        "v4tunnel",
        &[
            ("endpoint", "198.51.100.2"),
            ("local", "198.51.100.1"),
            ("address", "2001:db8::1"),
            ("netmask", "64"),
            ("gateway", "2001:db8::2"),
            ("metric", "7"),
            ("ttl", "64"),
            ("preferred-lifetime", "100"),
        ],
    );
    assert_eq!(
        tunnel_of(&s),
        TunnelAttrs {
            local: Some(ip("198.51.100.1")),
            remote: Some(ip("198.51.100.2")),
            ttl: Some(64),
            ..TunnelAttrs::new(TunnelMode::Sit)
        }
    );
    let d = desired(&s).unwrap();
    assert_eq!(d.addresses[0].addr, ip("2001:db8::1"));
    assert_eq!(d.addresses[0].prefix_len, 64);
    assert_eq!(d.addresses[0].preferred_lft, Some(100));
    let routes: Vec<String> = d.routes.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        vec!["2001:db8::2/128", "default via 2001:db8::2 metric 7"]
    );
    // No address, no gateway: only the tunnel.
    let bare = stanza(
        "he0",
        Family::Inet6,
        "v4tunnel",
        &[("endpoint", "198.51.100.2")],
    );
    let d = desired(&bare).unwrap();
    assert!(d.addresses.is_empty() && d.routes.is_empty());
    assert_eq!(d.addresses.first().and_then(|a| a.preferred_lft), None);
}

#[test]
fn sixtofour_address_and_relay_route() {
    assert_eq!(
        sixtofour_address(Ipv4Addr::new(198, 51, 100, 1)),
        "2002:c633:6401::1".parse::<Ipv6Addr>().unwrap()
    );
    let s = stanza(
        "tun6to4",
        Family::Inet6,
        "6to4",
        &[("local", "198.51.100.1"), ("metric", "9"), ("mtu", "1280")],
    );
    assert_eq!(
        tunnel_of(&s),
        TunnelAttrs {
            local: Some(ip("198.51.100.1")),
            ..TunnelAttrs::new(TunnelMode::Sit)
        }
    );
    let d = desired(&s).unwrap();
    assert_eq!(d.addresses[0].addr, ip("2002:c633:6401::1"));
    assert_eq!(d.addresses[0].prefix_len, 16);
    assert_eq!(d.routes[0].to_string(), "2000::/3 via ::c058:6301 metric 9");
    assert!(!d.routes[0].onlink);
    let none = stanza("tun6to4", Family::Inet6, "6to4", &[]);
    assert_eq!(
        desired(&none).unwrap_err().to_string(),
        "tun6to4: inet6 6to4 needs the option `local`"
    );
}

#[test]
fn inet6_tunnel_takes_iproute2s_defaults() {
    let s = stanza(
        "ip6t",
        Family::Inet6,
        "tunnel",
        &[
            ("mode", "ip6ip6"),
            ("endpoint", "2001:db8:1::2"),
            ("local", "2001:db8:1::1"),
            ("address", "2001:db8:2::1"),
            ("netmask", "64"),
            ("gateway", "2001:db8:2::2"),
        ],
    );
    assert_eq!(
        tunnel_of(&s),
        TunnelAttrs {
            local: Some(ip("2001:db8:1::1")),
            remote: Some(ip("2001:db8:1::2")),
            ttl: Some(64),
            encap_limit: Some(EncapLimit::Limit(4)),
            ..TunnelAttrs::new(TunnelMode::Ip6ip6)
        }
    );
    let d = desired(&s).unwrap();
    assert_eq!(d.addresses[0].addr, ip("2001:db8:2::1"));
    assert_eq!(d.routes[0].to_string(), "default via 2001:db8:2::2");

    // ipip6 carries IPv4: its address and gateway are IPv4.
    let s = stanza(
        "ip6t",
        Family::Inet6,
        "tunnel",
        &[
            ("mode", "ipip6"),
            ("endpoint", "2001:db8:1::2"),
            ("address", "203.0.113.1"),
            ("netmask", "30"),
            ("gateway", "203.0.113.2"),
            ("ttl", "20"),
            ("encaplimit", "none"),
        ],
    );
    let t = tunnel_of(&s);
    assert_eq!(
        (t.mode, t.ttl, t.encap_limit),
        (TunnelMode::Ipip6, Some(20), Some(EncapLimit::None))
    );
    let d = desired(&s).unwrap();
    assert_eq!(d.addresses[0].addr, ip("203.0.113.1"));
    assert_eq!(d.routes[0].to_string(), "default via 203.0.113.2");

    let bad = stanza(
        "ip6t",
        Family::Inet6,
        "tunnel",
        &[("mode", "ip6gre"), ("endpoint", "198.51.100.2")],
    );
    assert_eq!(
        desired(&bad).unwrap_err().to_string(),
        "ip6t: option `endpoint`: `198.51.100.2` is not an IPv6 address or any"
    );
}

#[test]
fn ifupdown2_and_ng_tunnel_options() {
    let mut s = stanza(
        "gt0",
        Family::Inet,
        "manual",
        &[
            ("tunnel-mode", "gretap"),
            ("tunnel-local", "198.51.100.1"),
            ("tunnel-endpoint", "198.51.100.2"),
            ("tunnel-ttl", "10"),
        ],
    );
    assert_eq!(
        tunnel_of(&s),
        TunnelAttrs {
            local: Some(ip("198.51.100.1")),
            remote: Some(ip("198.51.100.2")),
            ttl: Some(10),
            ..TunnelAttrs::new(TunnelMode::Gretap)
        }
    );
    s.vars = Variables::default();
    for (n, v) in [
        ("tunnel-mode", "ip6gretap"),
        ("tunnel-remote", "2001:db8::2"),
        ("tunnel-dev", "eth0"),
    ] {
        s.vars.add_option_line(n, v);
    }
    let spec = match stanza_links(&s).unwrap().link.unwrap().kind {
        LinkSpecKind::Tunnel(spec) => spec,
        other => panic!("{other:?}"),
    };
    assert_eq!(spec.dev.as_deref(), Some("eth0"));
    assert_eq!(spec.attrs.mode, TunnelMode::Ip6gretap);
    assert_eq!(spec.attrs.remote, Some(ip("2001:db8::2")));
    s.vars = Variables::default();
    s.vars.add_option_line("tunnel-mode", "vti");
    let err = stanza_links(&s).unwrap_err().to_string();
    assert!(
        err.starts_with("gt0: tunnel-mode: \"vti\" is not a tunnel mode"),
        "{err}"
    );
}

#[test]
fn an_existing_tunnel_is_compared() {
    let s = stanza(
        "gre1",
        Family::Inet,
        "tunnel",
        &[
            ("mode", "gre"),
            ("endpoint", "198.51.100.2"),
            ("address", "203.0.113.1"),
            ("netmask", "30"),
        ],
    );
    let spec = stanza_links(&s).unwrap().link.unwrap();
    let new = spec.to_new_link(&[]).unwrap();
    let mut link = Link {
        index: 7,
        name: "gre1".to_string(),
        up: false,
        lower_up: false,
        mtu: 1476,
        mac: None,
        kind: Some("gre".to_string()),
        master: None,
        parent: None,
        details: Some(new.kind.clone()),
        alias: None,
    };
    assert_eq!(spec.compare(&link, &[]), LinkDiff::Same);
    // A TTL where the stanza sets none (inherit) is a difference.
    if let Some(LinkKind::Tunnel(t)) = &mut link.details {
        t.ttl = Some(5);
    }
    assert!(matches!(spec.compare(&link, &[]), LinkDiff::Recreate(_)));
    if let Some(LinkKind::Tunnel(t)) = &mut link.details {
        t.ttl = None;
    }
    if let Some(LinkKind::Tunnel(t)) = &mut link.details {
        t.remote = Some(ip("198.51.100.9"));
    }
    assert!(matches!(spec.compare(&link, &[]), LinkDiff::Recreate(_)));
    link.kind = Some("ipip".to_string());
    assert!(matches!(spec.compare(&link, &[]), LinkDiff::Recreate(_)));
}
