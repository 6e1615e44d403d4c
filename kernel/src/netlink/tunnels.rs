//! IP tunnels: gre, ipip, sit, ip6tnl, ip6gre and the Ethernet-carrying
//! gretap and ip6gretap, in netconf's own types ([`TunnelAttrs`]), their
//! `IFLA_GRE_*`/`IFLA_IPTUN_*` attributes for [`super::Netlink::add_link`],
//! and their decoding from dumps into [`super::Link::details`].
//!
//! Debian's ifupdown makes these with `ip tunnel add` (an ioctl on the
//! kernel's fallback device, `gre0`, `sit0`, ...); netconf makes the same
//! link with `RTM_NEWLINK`. Where iproute2 fills in a value the stanza leaves
//! out (an IPv6 tunnel's hop limit 64 and encapsulation limit 4), the
//! method does too, so the kernel ends in the same state either way.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::{
    InfoData, InfoGre, InfoGre6, InfoIpTunnel, InfoKind, Ip6TunnelFlags,
};
use netlink_packet_route::IpProtocol;
use serde::{Deserialize, Serialize};

/// The link kinds whose `IFLA_INFO_DATA` [`decode`] reads.
pub(super) const KINDS: &[&str] = &[
    "gre",
    "gretap",
    "ipip",
    "sit",
    "ip6tnl",
    "ip6gre",
    "ip6gretap",
];
/// `IFLA_GRE_FLAGS` (the ip6gre flags; the crate has no variant for it).
const IFLA_GRE_FLAGS: u16 = 13;
/// `IP6_TNL_F_IGN_ENCAP_LIMIT`: send no encapsulation limit option.
const IGN_ENCAP_LIMIT: u32 = 0x1;
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;

/// What a tunnel carries over what: one kernel link kind each, and for
/// `ip6tnl` the inner protocol it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelMode {
    /// GRE over IPv4 (`gre`).
    Gre,
    /// IPv4 in IPv4 (`ipip`).
    Ipip,
    /// IPv6 in IPv4 (`sit`).
    Sit,
    /// IPv6 in IPv6 (`ip6tnl`, proto 41).
    Ip6ip6,
    /// IPv4 in IPv6 (`ip6tnl`, proto 4).
    Ipip6,
    /// Either in IPv6 (`ip6tnl`, proto 0).
    Any,
    /// GRE over IPv6 (`ip6gre`).
    Ip6gre,
    /// Ethernet in GRE over IPv4 (`gretap`).
    Gretap,
    /// Ethernet in GRE over IPv6 (`ip6gretap`).
    Ip6gretap,
}

impl TunnelMode {
    pub const ALL: [TunnelMode; 9] = [
        TunnelMode::Gre,
        TunnelMode::Ipip,
        TunnelMode::Sit,
        TunnelMode::Ip6ip6,
        TunnelMode::Ipip6,
        TunnelMode::Any,
        TunnelMode::Ip6gre,
        TunnelMode::Gretap,
        TunnelMode::Ip6gretap,
    ];

    /// The mode as `ip tunnel`/`ip -6 tunnel` and the interfaces files spell it.
    pub fn name(self) -> &'static str {
        match self {
            TunnelMode::Gre => "gre",
            TunnelMode::Ipip => "ipip",
            TunnelMode::Sit => "sit",
            TunnelMode::Ip6ip6 => "ip6ip6",
            TunnelMode::Ipip6 => "ipip6",
            TunnelMode::Any => "any",
            TunnelMode::Ip6gre => "ip6gre",
            TunnelMode::Gretap => "gretap",
            TunnelMode::Ip6gretap => "ip6gretap",
        }
    }

    pub fn parse(text: &str) -> Option<TunnelMode> {
        TunnelMode::ALL.into_iter().find(|m| m.name() == text)
    }

    /// The kernel's link kind (`IFLA_INFO_KIND`).
    pub fn kind(self) -> &'static str {
        match self {
            TunnelMode::Gre => "gre",
            TunnelMode::Ipip => "ipip",
            TunnelMode::Sit => "sit",
            TunnelMode::Ip6ip6 | TunnelMode::Ipip6 | TunnelMode::Any => "ip6tnl",
            TunnelMode::Ip6gre => "ip6gre",
            TunnelMode::Gretap => "gretap",
            TunnelMode::Ip6gretap => "ip6gretap",
        }
    }

    /// Whether the outer header, so the endpoints, are IPv6.
    pub fn outer_v6(self) -> bool {
        matches!(
            self,
            TunnelMode::Ip6ip6
                | TunnelMode::Ipip6
                | TunnelMode::Any
                | TunnelMode::Ip6gre
                | TunnelMode::Ip6gretap
        )
    }

    /// `IFLA_IPTUN_PROTO` of an ip6tnl.
    fn ip6tnl_proto(self) -> Option<u8> {
        match self {
            TunnelMode::Ip6ip6 => Some(IPPROTO_IPV6),
            TunnelMode::Ipip6 => Some(IPPROTO_IPIP),
            TunnelMode::Any => Some(0),
            _ => None,
        }
    }
}

impl fmt::Display for TunnelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IPv6 tunnel's encapsulation limit option (RFC 2473).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncapLimit {
    /// No such option in the packets (`encaplimit none`).
    None,
    Limit(u8),
}

impl EncapLimit {
    /// `none` or 0 to 255, as `ip -6 tunnel` takes it.
    pub fn parse(text: &str) -> Option<EncapLimit> {
        match text {
            "none" => Some(EncapLimit::None),
            n => n.parse().ok().map(EncapLimit::Limit),
        }
    }
}

impl fmt::Display for EncapLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncapLimit::None => f.write_str("none"),
            EncapLimit::Limit(n) => write!(f, "{n}"),
        }
    }
}

/// A tunnel's configuration. Unset fields are the kernel's defaults when
/// creating; in a dump, `None` is what the kernel reports as 0 ("any"
/// endpoint, TTL inherited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelAttrs {
    pub mode: TunnelMode,
    /// The local endpoint (source of the outer header).
    pub local: Option<IpAddr>,
    /// The remote endpoint; `None` for any (6to4).
    pub remote: Option<IpAddr>,
    /// TTL or hop limit of the outer header; `None` inherits the inner one.
    pub ttl: Option<u8>,
    /// IPv6 tunnels only.
    pub encap_limit: Option<EncapLimit>,
    /// The underlay device the tunnel is bound to, by ifindex.
    pub link: Option<u32>,
}

impl TunnelAttrs {
    pub fn new(mode: TunnelMode) -> TunnelAttrs {
        TunnelAttrs {
            mode,
            local: None,
            remote: None,
            ttl: None,
            encap_limit: None,
            link: None,
        }
    }

    /// Whether `have` (from a dump) is this tunnel: same mode, endpoints
    /// and TTL (`None` is inherit, which every kind can be told), and the
    /// encapsulation limit and underlay where this one sets them.
    pub fn matches(&self, have: &TunnelAttrs) -> bool {
        fn set_equal<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.mode == have.mode
            && self.local == have.local
            && self.remote == have.remote
            && self.ttl == have.ttl
            && set_equal(&self.encap_limit, &have.encap_limit)
            && set_equal(&self.link, &have.link)
    }
}

// ---------------------------------------------------------------- requests

fn v4(what: &str, addr: Option<IpAddr>) -> Result<Option<Ipv4Addr>, String> {
    match addr {
        None => Ok(None),
        Some(IpAddr::V4(a)) => Ok(Some(a)),
        Some(IpAddr::V6(a)) => Err(format!("{what} {a} is not an IPv4 address")),
    }
}

fn v6(what: &str, addr: Option<IpAddr>) -> Result<Option<Ipv6Addr>, String> {
    match addr {
        None => Ok(None),
        Some(IpAddr::V6(a)) => Ok(Some(a)),
        Some(IpAddr::V4(a)) => Err(format!("{what} {a} is not an IPv6 address")),
    }
}

/// `IFLA_INFO_KIND` and `IFLA_INFO_DATA` of a tunnel.
pub(super) fn info(a: &TunnelAttrs) -> Result<(InfoKind, InfoData), String> {
    if a.encap_limit.is_some() && !a.mode.outer_v6() {
        return Err(format!(
            "an encapsulation limit is for IPv6 tunnels, not {}",
            a.mode
        ));
    }
    Ok(match a.mode {
        TunnelMode::Gre | TunnelMode::Gretap => {
            let mut out = Vec::new();
            if let Some(link) = a.link {
                out.push(InfoGre::Link(link));
            }
            if let Some(local) = v4("local", a.local)? {
                out.push(InfoGre::Local(local));
            }
            if let Some(remote) = v4("remote", a.remote)? {
                out.push(InfoGre::Remote(remote));
            }
            if let Some(ttl) = a.ttl {
                out.push(InfoGre::Ttl(ttl));
            }
            if a.mode == TunnelMode::Gre {
                (InfoKind::GreTun, InfoData::GreTun(out))
            } else {
                (InfoKind::GreTap, InfoData::GreTap(out))
            }
        }
        TunnelMode::Ip6gre | TunnelMode::Ip6gretap => {
            let mut out = Vec::new();
            if let Some(link) = a.link {
                out.push(InfoGre6::Link(link));
            }
            if let Some(local) = v6("local", a.local)? {
                out.push(InfoGre6::Local(local));
            }
            if let Some(remote) = v6("remote", a.remote)? {
                out.push(InfoGre6::Remote(remote));
            }
            if let Some(ttl) = a.ttl {
                out.push(InfoGre6::Ttl(ttl));
            }
            match a.encap_limit {
                Some(EncapLimit::Limit(n)) => out.push(InfoGre6::EncapLimit(n)),
                Some(EncapLimit::None) => out.push(InfoGre6::Other(DefaultNla::new(
                    IFLA_GRE_FLAGS,
                    IGN_ENCAP_LIMIT.to_ne_bytes().to_vec(),
                ))),
                None => {}
            }
            if a.mode == TunnelMode::Ip6gre {
                (InfoKind::GreTun6, InfoData::GreTun6(out))
            } else {
                (InfoKind::GreTap6, InfoData::GreTap6(out))
            }
        }
        TunnelMode::Ipip | TunnelMode::Sit => {
            let mut out = Vec::new();
            if let Some(link) = a.link {
                out.push(InfoIpTunnel::Link(link));
            }
            if let Some(local) = v4("local", a.local)? {
                out.push(InfoIpTunnel::Local(IpAddr::V4(local)));
            }
            if let Some(remote) = v4("remote", a.remote)? {
                out.push(InfoIpTunnel::Remote(IpAddr::V4(remote)));
            }
            match a.ttl {
                Some(ttl) => out.push(InfoIpTunnel::Ttl(ttl)),
                // A sit made over rtnetlink gets TTL 64 from the kernel
                // unless told otherwise; `ip tunnel add` leaves it 0
                // (inherit), as `None` means here.
                None if a.mode == TunnelMode::Sit => out.push(InfoIpTunnel::Ttl(0)),
                None => {}
            }
            let kind = if a.mode == TunnelMode::Ipip {
                InfoKind::IpIp
            } else {
                InfoKind::SitTun
            };
            (kind, InfoData::IpTunnel(out))
        }
        TunnelMode::Ip6ip6 | TunnelMode::Ipip6 | TunnelMode::Any => {
            let mut out = Vec::new();
            if let Some(link) = a.link {
                out.push(InfoIpTunnel::Link(link));
            }
            if let Some(local) = v6("local", a.local)? {
                out.push(InfoIpTunnel::Local(IpAddr::V6(local)));
            }
            if let Some(remote) = v6("remote", a.remote)? {
                out.push(InfoIpTunnel::Remote(IpAddr::V6(remote)));
            }
            if let Some(ttl) = a.ttl {
                out.push(InfoIpTunnel::Ttl(ttl));
            }
            match a.encap_limit {
                Some(EncapLimit::Limit(n)) => out.push(InfoIpTunnel::EncapLimit(n)),
                Some(EncapLimit::None) => out.push(InfoIpTunnel::Ipv6Flags(
                    Ip6TunnelFlags::from_bits_retain(IGN_ENCAP_LIMIT),
                )),
                None => {}
            }
            let proto = a.mode.ip6tnl_proto().unwrap_or(0);
            out.push(InfoIpTunnel::Protocol(IpProtocol::from(proto)));
            (InfoKind::Ip6Tnl, InfoData::IpTunnel(out))
        }
    })
}

// ---------------------------------------------------------------- answers

fn some_addr(a: IpAddr) -> Option<IpAddr> {
    (!a.is_unspecified()).then_some(a)
}

/// The tunnel of a dumped link of kind `kind`, if it is one.
pub(super) fn decode(kind: &str, data: Option<&InfoData>) -> Option<TunnelAttrs> {
    let default_mode = match kind {
        "gre" => TunnelMode::Gre,
        "gretap" => TunnelMode::Gretap,
        "ipip" => TunnelMode::Ipip,
        "sit" => TunnelMode::Sit,
        "ip6tnl" => TunnelMode::Ip6ip6,
        "ip6gre" => TunnelMode::Ip6gre,
        "ip6gretap" => TunnelMode::Ip6gretap,
        _ => return None,
    };
    let mut out = TunnelAttrs::new(default_mode);
    match data? {
        InfoData::GreTun(attrs) | InfoData::GreTap(attrs) => {
            for attr in attrs {
                match attr {
                    InfoGre::Link(i) if *i != 0 => out.link = Some(*i),
                    InfoGre::Local(a) => out.local = some_addr(IpAddr::V4(*a)),
                    InfoGre::Remote(a) => out.remote = some_addr(IpAddr::V4(*a)),
                    InfoGre::Ttl(t) if *t != 0 => out.ttl = Some(*t),
                    _ => {}
                }
            }
        }
        InfoData::GreTun6(attrs) | InfoData::GreTap6(attrs) => {
            let mut limit = None;
            let mut ignore_limit = false;
            for attr in attrs {
                match attr {
                    InfoGre6::Link(i) if *i != 0 => out.link = Some(*i),
                    InfoGre6::Local(a) => out.local = some_addr(IpAddr::V6(*a)),
                    InfoGre6::Remote(a) => out.remote = some_addr(IpAddr::V6(*a)),
                    InfoGre6::Ttl(t) if *t != 0 => out.ttl = Some(*t),
                    InfoGre6::EncapLimit(n) => limit = Some(*n),
                    InfoGre6::Other(nla) if nla.kind() == IFLA_GRE_FLAGS => {
                        let mut buf = vec![0u8; nla.value_len()];
                        nla.emit_value(&mut buf);
                        if let Ok(bytes) = <[u8; 4]>::try_from(buf.as_slice()) {
                            ignore_limit = u32::from_ne_bytes(bytes) & IGN_ENCAP_LIMIT != 0;
                        }
                    }
                    _ => {}
                }
            }
            out.encap_limit = if ignore_limit {
                Some(EncapLimit::None)
            } else {
                limit.map(EncapLimit::Limit)
            };
        }
        InfoData::IpTunnel(attrs) => {
            let mut limit = None;
            let mut ignore_limit = false;
            for attr in attrs {
                match attr {
                    InfoIpTunnel::Link(i) if *i != 0 => out.link = Some(*i),
                    InfoIpTunnel::Local(a) => out.local = some_addr(*a),
                    InfoIpTunnel::Remote(a) => out.remote = some_addr(*a),
                    InfoIpTunnel::Ttl(t) if *t != 0 => out.ttl = Some(*t),
                    InfoIpTunnel::EncapLimit(n) => limit = Some(*n),
                    InfoIpTunnel::Ipv6Flags(f) => {
                        ignore_limit = f.bits() & IGN_ENCAP_LIMIT != 0;
                    }
                    InfoIpTunnel::Protocol(p) if kind == "ip6tnl" => {
                        out.mode = match u8::from(*p) {
                            IPPROTO_IPIP => TunnelMode::Ipip6,
                            IPPROTO_IPV6 => TunnelMode::Ip6ip6,
                            _ => TunnelMode::Any,
                        };
                    }
                    _ => {}
                }
            }
            if kind == "ip6tnl" {
                out.encap_limit = if ignore_limit {
                    Some(EncapLimit::None)
                } else {
                    limit.map(EncapLimit::Limit)
                };
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_kinds() {
        for mode in TunnelMode::ALL {
            assert_eq!(TunnelMode::parse(mode.name()), Some(mode));
        }
        assert_eq!(TunnelMode::parse("GRE"), None);
        assert_eq!(TunnelMode::Ipip6.kind(), "ip6tnl");
        assert!(TunnelMode::Ip6gretap.outer_v6());
        assert!(!TunnelMode::Sit.outer_v6());
        assert_eq!(EncapLimit::parse("none"), Some(EncapLimit::None));
        assert_eq!(EncapLimit::parse("4"), Some(EncapLimit::Limit(4)));
        assert_eq!(EncapLimit::parse("256"), None);
    }

    #[test]
    fn requests_read_back() {
        let cases = [
            TunnelAttrs {
                local: Some("198.51.100.1".parse().unwrap()),
                remote: Some("198.51.100.2".parse().unwrap()),
                ttl: Some(64),
                ..TunnelAttrs::new(TunnelMode::Gre)
            },
            TunnelAttrs {
                local: Some("198.51.100.1".parse().unwrap()),
                ..TunnelAttrs::new(TunnelMode::Sit)
            },
            TunnelAttrs {
                local: Some("2001:db8::1".parse().unwrap()),
                remote: Some("2001:db8::2".parse().unwrap()),
                ttl: Some(64),
                encap_limit: Some(EncapLimit::None),
                ..TunnelAttrs::new(TunnelMode::Ipip6)
            },
            TunnelAttrs {
                remote: Some("2001:db8::2".parse().unwrap()),
                encap_limit: Some(EncapLimit::None),
                ..TunnelAttrs::new(TunnelMode::Ip6gretap)
            },
            TunnelAttrs {
                remote: Some("2001:db8::2".parse().unwrap()),
                encap_limit: Some(EncapLimit::Limit(4)),
                ..TunnelAttrs::new(TunnelMode::Ip6gre)
            },
        ];
        for want in cases {
            let (kind, data) = info(&want).unwrap();
            let name = kind.to_string();
            assert_eq!(name, want.mode.kind());
            assert_eq!(decode(&name, Some(&data)), Some(want.clone()), "{want:?}");
        }
    }

    #[test]
    fn wrong_families_are_refused() {
        let bad = TunnelAttrs {
            remote: Some("2001:db8::2".parse().unwrap()),
            ..TunnelAttrs::new(TunnelMode::Gre)
        };
        assert!(info(&bad).unwrap_err().contains("not an IPv4"));
        let bad = TunnelAttrs {
            encap_limit: Some(EncapLimit::Limit(1)),
            ..TunnelAttrs::new(TunnelMode::Ipip)
        };
        assert!(info(&bad).is_err());
    }

    #[test]
    fn matching_ignores_what_is_unset() {
        let want = TunnelAttrs {
            remote: Some("198.51.100.2".parse().unwrap()),
            ..TunnelAttrs::new(TunnelMode::Gre)
        };
        let have = TunnelAttrs {
            encap_limit: Some(EncapLimit::Limit(4)),
            link: Some(2),
            ..want.clone()
        };
        assert!(want.matches(&have));
        assert!(!have.matches(&want));
        let ttl = TunnelAttrs {
            ttl: Some(64),
            ..want.clone()
        };
        assert!(!want.matches(&ttl));
        let other = TunnelAttrs {
            mode: TunnelMode::Gretap,
            ..want.clone()
        };
        assert!(!want.matches(&other));
    }
}
