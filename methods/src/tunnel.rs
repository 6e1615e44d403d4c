//! Debian's tunnel methods — `inet tunnel` (gre, ipip, sit), `inet6
//! v4tunnel` (sit to an IPv4 endpoint), `inet6 6to4` and `inet6 tunnel`
//! (ip6ip6, ipip6, ip6gre, any) — and ifupdown2's and ifupdown-ng's
//! `tunnel-mode` links (gre, gretap, ipip, sit, ip6gre, ip6gretap, ipip6,
//! ip6ip6).
//!
//! Debian runs `ip tunnel add` (or `ip -6 tunnel add`), `ip link set up
//! mtu`, `ip addr add` and `ip route add`, and `ip tunnel del` on `ifdown`.
//! netconf makes the same kernel state over rtnetlink: the tunnel is the
//! stanza's link ([`method_link`], created and deleted as other links
//! are, by [`crate::apply::ensure_link`]), and the addresses and routes are
//! the provider's [`Desired`], written by difference. Where `ip -6 tunnel`
//! fills in a hop limit (64) and an encapsulation limit (4) the stanza
//! leaves out, so does netconf.
//!
//! Differences from Debian, on purpose: an option that is not an address
//! (or a mode `ip` would refuse) is an error before anything is made, not a
//! half-made tunnel; `inet6 tunnel`'s `address` without `netmask`, which
//! Debian's `[[...]]` silently drops, is refused too rather than ignored.

use crate::links::{LinkError, LinkSpec, LinkSpecKind};
use crate::provider::{
    parse_option, AddressWanted, Desired, LinkWanted, MethodError, Provider, RouteWanted,
    StanzaConfig,
};
use netconf_interfaces::linkopts::{self, find};
use netconf_interfaces::variables::inet_pton4;
use netconf_interfaces::{Family, Variables};
use netconf_kernel::netlink::{EncapLimit, TunnelAttrs, TunnelMode};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `inet tunnel`.
pub struct TunnelV4;
/// `inet6 v4tunnel`.
pub struct V4Tunnel;
/// `inet6 6to4`.
pub struct SixToFour;
/// `inet6 tunnel`.
pub struct TunnelV6;

/// iproute2's `DEFAULT_TNL_HOP_LIMIT`, which `ip -6 tunnel add` sends.
const IP6_HOP_LIMIT: u8 = 64;
/// `IPV6_DEFAULT_TNL_ENCAP_LIMIT`, likewise.
const IP6_ENCAP_LIMIT: u8 = 4;
/// The 6to4 relay anycast address (RFC 3068), as Debian routes to it.
const SIXTOFOUR_RELAY: Ipv4Addr = Ipv4Addr::new(192, 88, 99, 1);

/// A tunnel link (of a method or of `tunnel-mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    /// `tunnel-physdev`/`tunnel-dev`: the underlay, by name.
    pub dev: Option<String>,
    /// `link` is filled from `dev` by [`LinkSpec::to_new_link`].
    pub attrs: TunnelAttrs,
}

/// One bad option: name, value, why.
struct Bad {
    option: String,
    value: String,
    reason: String,
}

impl Bad {
    fn new(option: &str, value: &str, reason: &str) -> Bad {
        Bad {
            option: option.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    fn method(self, stanza: &StanzaConfig) -> MethodError {
        MethodError::InvalidOption {
            iface: stanza.iface.clone(),
            option: self.option,
            value: self.value,
            reason: self.reason,
        }
    }

    fn link(self, iface: &str) -> LinkError {
        LinkError::Invalid {
            iface: iface.to_string(),
            option: self.option,
            value: self.value,
            reason: self.reason,
        }
    }
}

fn get<'a>(vars: &'a Variables, option: &str) -> Option<&'a str> {
    vars.get(option).map(str::trim).filter(|v| !v.is_empty())
}

/// An endpoint as `ip tunnel` takes it: an address of the family, or `any`.
fn endpoint(vars: &Variables, option: &str, v6: bool) -> Result<Option<IpAddr>, Bad> {
    let Some(value) = get(vars, option) else {
        return Ok(None);
    };
    if value == "any" {
        return Ok(None);
    }
    let addr = if v6 {
        value.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        inet_pton4(value).map(IpAddr::V4)
    };
    match addr {
        Some(a) if !a.is_unspecified() => Ok(Some(a)),
        _ => Err(Bad::new(
            option,
            value,
            if v6 {
                "is not an IPv6 address or any"
            } else {
                "is not an IPv4 address or any"
            },
        )),
    }
}

fn ttl(vars: &Variables, option: &str) -> Result<Option<u8>, Bad> {
    match get(vars, option) {
        None | Some("inherit") => Ok(None),
        Some(v) => v
            .parse::<u8>()
            .map(|t| (t != 0).then_some(t))
            .map_err(|_| Bad::new(option, v, "is not a TTL (1 to 255, or inherit)")),
    }
}

fn mode_of(vars: &Variables, option: &str, allowed: &[TunnelMode]) -> Result<TunnelMode, Bad> {
    let value = get(vars, option).unwrap_or("");
    TunnelMode::parse(value)
        .filter(|m| allowed.contains(m))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|m| m.name()).collect();
            Bad::new(
                option,
                value,
                &format!("is not a tunnel mode here ({})", names.join(", ")),
            )
        })
}

const INET_MODES: &[TunnelMode] = &[TunnelMode::Gre, TunnelMode::Ipip, TunnelMode::Sit];
const INET6_MODES: &[TunnelMode] = &[
    TunnelMode::Ip6ip6,
    TunnelMode::Ipip6,
    TunnelMode::Ip6gre,
    TunnelMode::Any,
];
const OPTION_MODES: &[TunnelMode] = &[
    TunnelMode::Gre,
    TunnelMode::Gretap,
    TunnelMode::Ipip,
    TunnelMode::Sit,
    TunnelMode::Ip6gre,
    TunnelMode::Ip6gretap,
    TunnelMode::Ipip6,
    TunnelMode::Ip6ip6,
];

/// The tunnel a Debian tunnel method asks for; `None` for other methods.
fn method_attrs(stanza: &StanzaConfig) -> Result<Option<TunnelAttrs>, Bad> {
    let vars = &stanza.vars;
    let (mode, v6) = match (stanza.family, stanza.method.as_str()) {
        (Family::Inet, "tunnel") => (mode_of(vars, "mode", INET_MODES)?, false),
        (Family::Inet6, "v4tunnel" | "6to4") => (TunnelMode::Sit, false),
        (Family::Inet6, "tunnel") => (mode_of(vars, "mode", INET6_MODES)?, true),
        _ => return Ok(None),
    };
    let mut attrs = TunnelAttrs {
        local: endpoint(vars, "local", v6)?,
        ttl: ttl(vars, "ttl")?,
        ..TunnelAttrs::new(mode)
    };
    if stanza.method != "6to4" {
        attrs.remote = endpoint(vars, "endpoint", v6)?;
    }
    if stanza.method == "6to4" && attrs.local.is_none() {
        let value = get(vars, "local").unwrap_or("");
        return Err(Bad::new("local", value, "is not an IPv4 address"));
    }
    if v6 {
        attrs.ttl = attrs.ttl.or(Some(IP6_HOP_LIMIT));
        attrs.encap_limit = Some(match get(vars, "encaplimit") {
            None => EncapLimit::Limit(IP6_ENCAP_LIMIT),
            Some(v) => EncapLimit::parse(v).ok_or_else(|| {
                Bad::new(
                    "encaplimit",
                    v,
                    "is not an encapsulation limit (0 to 255, or none)",
                )
            })?,
        });
    }
    Ok(Some(attrs))
}

/// The link of a stanza with a Debian tunnel method; `None` for other
/// methods.
pub fn method_link(stanza: &StanzaConfig) -> Result<Option<LinkSpec>, LinkError> {
    let attrs = method_attrs(stanza).map_err(|b| b.link(&stanza.iface))?;
    Ok(attrs.map(|attrs| LinkSpec {
        name: stanza.iface.clone(),
        kind: LinkSpecKind::Tunnel(TunnelSpec { dev: None, attrs }),
    }))
}

/// ifupdown2's and ifupdown-ng's tunnel options: `tunnel-mode`,
/// `tunnel-local`, `tunnel-endpoint` (ifupdown2) or `tunnel-remote`
/// (ifupdown-ng), `tunnel-ttl`, `tunnel-physdev` or `tunnel-dev`.
pub fn option_tunnel(iface: &str, vars: &Variables) -> Result<TunnelSpec, LinkError> {
    let found = |aliases: &[&str]| find(vars, aliases).map(|f| (f.name.to_string(), f.value));
    let one = |aliases: &[&str]| -> Variables {
        let mut v = Variables::default();
        if let Some((name, value)) = found(aliases) {
            v.set(&name, value);
        }
        v
    };
    let bad = |b: Bad| b.link(iface);
    let (mode_name, _) = found(linkopts::TUNNEL_MODE).unwrap_or_default();
    let mode = mode_of(&one(linkopts::TUNNEL_MODE), &mode_name, OPTION_MODES).map_err(bad)?;
    let v6 = mode.outer_v6();
    let (local_name, _) = found(&["tunnel-local"]).unwrap_or_default();
    let (remote_name, _) = found(&["tunnel-endpoint", "tunnel-remote"]).unwrap_or_default();
    let (ttl_name, _) = found(&["tunnel-ttl"]).unwrap_or_default();
    let mut attrs = TunnelAttrs {
        local: endpoint(&one(&["tunnel-local"]), &local_name, v6).map_err(bad)?,
        remote: endpoint(
            &one(&["tunnel-endpoint", "tunnel-remote"]),
            &remote_name,
            v6,
        )
        .map_err(bad)?,
        ttl: ttl(&one(&["tunnel-ttl"]), &ttl_name).map_err(bad)?,
        ..TunnelAttrs::new(mode)
    };
    if v6 {
        // `ip link add type ip6tnl/ip6gre` sends these, as `ip -6 tunnel` does.
        attrs.ttl = attrs.ttl.or(Some(IP6_HOP_LIMIT));
        attrs.encap_limit = Some(EncapLimit::Limit(IP6_ENCAP_LIMIT));
    }
    let dev = match find(vars, linkopts::TUNNEL_DEV) {
        None => None,
        Some(f) => {
            let mut words = f.value.split_ascii_whitespace();
            match (words.next(), words.next()) {
                (Some(name), None) => Some(name.to_string()),
                _ => {
                    return Err(LinkError::Invalid {
                        iface: iface.to_string(),
                        option: f.name.to_string(),
                        value: f.value.to_string(),
                        reason: "is not one interface name".to_string(),
                    })
                }
            }
        }
    };
    Ok(TunnelSpec { dev, attrs })
}

// ---------------------------------------------------------------- providers

fn missing(stanza: &StanzaConfig, option: &str) -> MethodError {
    MethodError::MissingOption {
        iface: stanza.iface.clone(),
        family: stanza.family,
        method: stanza.method.clone(),
        option: option.to_string(),
    }
}

fn required<'a>(stanza: &'a StanzaConfig, option: &str) -> Result<&'a str, MethodError> {
    get(&stanza.vars, option).ok_or_else(|| missing(stanza, option))
}

/// The tunnel's link: up, with the stanza's `mtu`. Checks the tunnel's own
/// options too, so that a bad one fails before anything is written.
fn tunnel_link(stanza: &StanzaConfig) -> Result<LinkWanted, MethodError> {
    method_attrs(stanza).map_err(|b| b.method(stanza))?;
    let mtu = get(&stanza.vars, "mtu")
        .map(|v| {
            parse_option(stanza, "mtu", v, "is not an MTU (68 to 65535)", |v| {
                v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m))
            })
        })
        .transpose()?;
    Ok(LinkWanted {
        up: true,
        mtu,
        mac: None,
        alias: None,
    })
}

fn metric(stanza: &StanzaConfig) -> Result<Option<u32>, MethodError> {
    get(&stanza.vars, "metric")
        .map(|v| {
            parse_option(
                stanza,
                "metric",
                v,
                "is not a metric (0 to 4294967295)",
                |v| v.parse().ok(),
            )
        })
        .transpose()
}

fn v4_addr(stanza: &StanzaConfig, option: &str, value: &str) -> Result<Ipv4Addr, MethodError> {
    parse_option(stanza, option, value, "is not an IPv4 address", inet_pton4)
}

fn v6_addr(stanza: &StanzaConfig, option: &str, value: &str) -> Result<Ipv6Addr, MethodError> {
    parse_option(stanza, option, value, "is not an IPv6 address", |v| {
        v.parse().ok()
    })
}

/// A dotted netmask (contiguous ones) or a prefix length.
fn v4_prefix(stanza: &StanzaConfig, value: &str) -> Result<u8, MethodError> {
    parse_option(
        stanza,
        "netmask",
        value,
        "is not a netmask (dotted quad or 0 to 32)",
        |mask| {
            if let Ok(bits) = mask.parse::<u8>() {
                return (bits <= 32).then_some(bits);
            }
            let m = u32::from(inet_pton4(mask)?);
            let len = m.leading_ones();
            (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
        },
    )
}

fn v6_prefix(stanza: &StanzaConfig, value: &str) -> Result<u8, MethodError> {
    parse_option(
        stanza,
        "netmask",
        value,
        "is not a prefix length (0 to 128)",
        |p| p.parse::<u8>().ok().filter(|l| *l <= 128),
    )
}

fn preferred_lft(stanza: &StanzaConfig) -> Result<Option<u32>, MethodError> {
    let vars = stanza.converted();
    get(&vars, "preferred-lifetime")
        .map(|v| {
            parse_option(
                stanza,
                "preferred-lifetime",
                v,
                "is not a number of seconds",
                |v| v.parse().ok(),
            )
        })
        .transpose()
}

fn address(addr: IpAddr, prefix_len: u8, peer: Option<IpAddr>) -> AddressWanted {
    AddressWanted {
        addr,
        prefix_len,
        peer,
        broadcast: None,
        scope: None,
        label: None,
        nodad: false,
        preferred_lft: None,
        valid_lft: None,
    }
}

fn default_via(gateway: IpAddr, metric: Option<u32>, onlink: bool) -> RouteWanted {
    RouteWanted {
        destination: None,
        gateway: Some(gateway),
        metric,
        onlink,
    }
}

impl Provider for TunnelV4 {
    /// `ip addr add ADDRESS/NETMASK dev IFACE [peer DSTADDR]` and `ip route
    /// add default via GATEWAY [metric M] dev IFACE onlink`.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        for option in ["mode", "endpoint"] {
            required(stanza, option)?;
        }
        let link = tunnel_link(stanza)?;
        let addr = v4_addr(stanza, "address", required(stanza, "address")?)?;
        let mut prefix_len = v4_prefix(stanza, required(stanza, "netmask")?)?;
        let peer = get(&stanza.vars, "dstaddr")
            .map(|v| v4_addr(stanza, "dstaddr", v))
            .transpose()?;
        if peer.is_some() {
            // `ip addr add A/N peer P` takes the prefix from the peer (/32),
            // so Debian's address is A peer P/32 whatever the netmask.
            prefix_len = 32;
        }
        let mut routes = Vec::new();
        if let Some(gw) = get(&stanza.vars, "gateway") {
            let gw = v4_addr(stanza, "gateway", gw)?;
            routes.push(default_via(IpAddr::V4(gw), metric(stanza)?, true));
        }
        Ok(Desired {
            link,
            addresses: vec![AddressWanted {
                label: Some(stanza.iface.clone()),
                ..address(IpAddr::V4(addr), prefix_len, peer.map(IpAddr::V4))
            }],
            routes,
            ..Desired::default()
        })
    }
}

impl Provider for V4Tunnel {
    /// `ip addr add ADDRESS[/NETMASK] dev IFACE [preferred_lft P]`, `ip route
    /// add GATEWAY dev IFACE` and `ip route add ::/0 via GATEWAY [metric M]
    /// dev IFACE onlink`.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        required(stanza, "endpoint")?;
        let link = tunnel_link(stanza)?;
        let mut addresses = Vec::new();
        if let Some(line) = get(&stanza.vars, "address") {
            let (addr_part, prefix_part) = match line.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (line, get(&stanza.vars, "netmask")),
            };
            let addr = v6_addr(stanza, "address", addr_part)?;
            let prefix_len = match prefix_part {
                None => 128,
                Some(p) => v6_prefix(stanza, p)?,
            };
            addresses.push(AddressWanted {
                preferred_lft: preferred_lft(stanza)?,
                ..address(IpAddr::V6(addr), prefix_len, None)
            });
        }
        let mut routes = Vec::new();
        if let Some(gw) = get(&stanza.vars, "gateway") {
            let gw = IpAddr::V6(v6_addr(stanza, "gateway", gw)?);
            routes.push(RouteWanted {
                destination: Some((gw, 128)),
                gateway: None,
                metric: None,
                onlink: false,
            });
            routes.push(default_via(gw, metric(stanza)?, true));
        }
        Ok(Desired {
            link,
            addresses,
            routes,
            ..Desired::default()
        })
    }
}

/// 6to4's address: `2002:WWXX:YYZZ::1` for local `W.X.Y.Z`.
pub fn sixtofour_address(local: Ipv4Addr) -> Ipv6Addr {
    let [w, x, y, z] = local.octets();
    Ipv6Addr::new(
        0x2002,
        u16::from_be_bytes([w, x]),
        u16::from_be_bytes([y, z]),
        0,
        0,
        0,
        0,
        1,
    )
}

impl Provider for SixToFour {
    /// `ip addr add 2002:HEX::1/16 dev IFACE [preferred_lft P]` and `ip route
    /// add 2000::/3 via ::192.88.99.1 [metric M] dev IFACE`.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let local = v4_addr(stanza, "local", required(stanza, "local")?)?;
        let link = tunnel_link(stanza)?;
        let addresses = vec![AddressWanted {
            preferred_lft: preferred_lft(stanza)?,
            ..address(IpAddr::V6(sixtofour_address(local)), 16, None)
        }];
        let routes = vec![RouteWanted {
            destination: Some((IpAddr::V6(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0)), 3)),
            gateway: Some(IpAddr::V6(SIXTOFOUR_RELAY.to_ipv6_compatible())),
            metric: metric(stanza)?,
            onlink: false,
        }];
        Ok(Desired {
            link,
            addresses,
            routes,
            ..Desired::default()
        })
    }
}

impl Provider for TunnelV6 {
    /// `ip -4 addr add` (mode ipip6) or `ip -6 addr add ADDRESS/NETMASK dev
    /// IFACE [peer DSTADDR]`, and the default route of that family via
    /// GATEWAY `[metric M] dev IFACE onlink`.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        for option in ["mode", "endpoint"] {
            required(stanza, option)?;
        }
        let link = tunnel_link(stanza)?;
        let inner_v4 = get(&stanza.vars, "mode") == Some("ipip6");
        let parse = |option: &str, value: &str| -> Result<IpAddr, MethodError> {
            if inner_v4 {
                v4_addr(stanza, option, value).map(IpAddr::V4)
            } else {
                v6_addr(stanza, option, value).map(IpAddr::V6)
            }
        };
        let mut addresses = Vec::new();
        match (get(&stanza.vars, "address"), get(&stanza.vars, "netmask")) {
            (Some(a), Some(mask)) => {
                let addr = parse("address", a)?;
                let mut prefix_len = if inner_v4 {
                    v4_prefix(stanza, mask)?
                } else {
                    v6_prefix(stanza, mask)?
                };
                let peer = get(&stanza.vars, "dstaddr")
                    .map(|v| parse("dstaddr", v))
                    .transpose()?;
                // As for `inet tunnel`: the peer's prefix, a host's.
                if peer.is_some() {
                    prefix_len = if inner_v4 { 32 } else { 128 };
                }
                addresses.push(AddressWanted {
                    label: inner_v4.then(|| stanza.iface.clone()),
                    ..address(addr, prefix_len, peer)
                });
            }
            (Some(_), None) => return Err(missing(stanza, "netmask")),
            (None, _) => {}
        }
        let mut routes = Vec::new();
        if let Some(gw) = get(&stanza.vars, "gateway") {
            routes.push(default_via(parse("gateway", gw)?, metric(stanza)?, true));
        }
        Ok(Desired {
            link,
            addresses,
            routes,
            ..Desired::default()
        })
    }
}

#[cfg(test)]
mod tests;
