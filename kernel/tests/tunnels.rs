//! Tunnels against the real kernel: each kind created with
//! [`Netlink::add_link`] and read back from a dump into the same
//! [`TunnelAttrs`], so that a second `ifup` finds nothing to change. On a
//! kernel without the tunnel modules (this machine's) the kernel's refusal
//! is said aloud and the rest skipped; `scripts/vm-run` runs it on Debian's.
//!
//! Addresses: 198.51.100.0/24, 2001:db8::/32.

mod common;

use netconf_kernel::netlink::{
    EncapLimit, LinkKind, Netlink, NetlinkError, NewLink, TunnelAttrs, TunnelMode,
};

#[test]
fn every_tunnel_kind_reads_back() {
    common::enter_new_netns();
    let mut nl = Netlink::open().unwrap();
    let v4 = |m| TunnelAttrs {
        local: Some("198.51.100.1".parse().unwrap()),
        remote: Some("198.51.100.2".parse().unwrap()),
        ttl: Some(64),
        ..TunnelAttrs::new(m)
    };
    // Two ip6tnl of one pair of endpoints are one tunnel to the kernel.
    let v6 = |m, limit, remote: &str| TunnelAttrs {
        local: Some("2001:db8::1".parse().unwrap()),
        remote: Some(remote.parse().unwrap()),
        ttl: Some(64),
        encap_limit: Some(limit),
        ..TunnelAttrs::new(m)
    };
    let cases = [
        ("nct-gre", v4(TunnelMode::Gre)),
        ("nct-gretap", v4(TunnelMode::Gretap)),
        ("nct-ipip", v4(TunnelMode::Ipip)),
        (
            "nct-sit",
            TunnelAttrs {
                remote: None,
                ttl: None,
                ..v4(TunnelMode::Sit)
            },
        ),
        (
            "nct-6in6",
            v6(TunnelMode::Ip6ip6, EncapLimit::Limit(4), "2001:db8::2"),
        ),
        (
            "nct-4in6",
            v6(TunnelMode::Ipip6, EncapLimit::None, "2001:db8::3"),
        ),
        (
            "nct-ip6gre",
            v6(TunnelMode::Ip6gre, EncapLimit::Limit(2), "2001:db8::4"),
        ),
        (
            "nct-ip6gtap",
            v6(TunnelMode::Ip6gretap, EncapLimit::None, "2001:db8::5"),
        ),
    ];
    for (name, attrs) in cases {
        let link = match nl.add_link(&NewLink::new(name, LinkKind::Tunnel(attrs.clone()))) {
            Ok(link) => link,
            Err(NetlinkError::NotSupported { .. }) => {
                eprintln!(
                    "SKIPPED {name}: this kernel has no {} module",
                    attrs.mode.kind()
                );
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(link.kind.as_deref(), Some(attrs.mode.kind()), "{name}");
        let dumped = nl.links().unwrap();
        let found = dumped.iter().find(|l| l.name == name).unwrap();
        assert_eq!(found.details, Some(LinkKind::Tunnel(attrs)), "{name}");
    }
}
