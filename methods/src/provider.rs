//! The provider interface: a method turns one stanza into the kernel state it
//! asks for ([`Desired`]); [`crate::apply`] then writes only the difference.
//! Providers know nothing of sockets, queues or hooks.

use crate::program::Program;
use netconf_interfaces::families::method_def;
use netconf_interfaces::{Family, Variables};
use netconf_kernel::netlink::Scope;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// One stanza as a provider sees it.
#[derive(Debug, Clone)]
pub struct StanzaConfig {
    /// The physical interface being configured.
    pub iface: String,
    pub logical: String,
    pub family: Family,
    pub method: String,
    /// Options after the method's defaults and `-o` overrides, before
    /// conversions (providers convert per address, so several addresses work).
    pub vars: Variables,
}

impl StanzaConfig {
    /// The options as ifupdown would use them: conversions applied.
    pub fn converted(&self) -> Variables {
        let mut vars = self.vars.clone();
        if let Some(def) = method_def(self.family, &self.method) {
            vars.convert(def, &self.iface);
        }
        vars
    }
}

/// The kernel state one stanza asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub link: LinkWanted,
    pub addresses: Vec<AddressWanted>,
    pub routes: Vec<RouteWanted>,
    /// `net.ipv6.conf.IFACE.KEY = VALUE`, in order.
    pub ipv6_conf: Vec<(String, String)>,
    /// IPv6 MTU: Debian raises the link MTU when it is lower, else sets the
    /// IPv6 MTU only.
    pub ipv6_mtu: Option<u32>,
    /// Remove addresses the kernel made from router advertisements
    /// (`mngtmpaddr`), as Debian does when `accept_ra` is off.
    pub flush_mngtmpaddr: bool,
    /// Wait for IPv6 duplicate address detection to settle.
    pub dad: Option<DadWait>,
    /// A route the kernel refuses because one like it exists is skipped
    /// with a note, not an error: dhclient-script ignores `ip route add`
    /// failing, and a lease must not fail for a static default route.
    pub routes_best_effort: bool,
    /// The routing table of `routes`, when not the main one: a VRF
    /// member's routes go into the VRF's table (set by whoever knows it).
    pub table: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkWanted {
    pub up: bool,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// The link's description (`IFLA_IFALIAS`): ifupdown2's `alias`, which
    /// its dialect lowers to `ifalias` (Debian's ifupdown has none).
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddressWanted {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub peer: Option<IpAddr>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub nodad: bool,
    pub preferred_lft: Option<u32>,
    /// Seconds until the kernel removes the address; `None` is forever.
    /// A DHCP lease sets it to the lease time, so that an address cannot
    /// outlive its lease even if nobody takes it away (dhclient-script's
    /// `valid_lft`). `preferred_lft` must not exceed it.
    pub valid_lft: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteWanted {
    pub destination: Option<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub metric: Option<u32>,
    pub onlink: bool,
}

/// `default via 198.51.100.1 metric 50`, as `ip route` words it.
impl std::fmt::Display for RouteWanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.destination {
            Some((addr, len)) => write!(f, "{addr}/{len}")?,
            None => f.write_str("default")?,
        }
        if let Some(g) = self.gateway {
            write!(f, " via {g}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}

impl RouteWanted {
    /// Whether the kernel's `route` is this one. An IPv6 route added
    /// without a metric gets 1024 from the kernel, an IPv4 one 0.
    pub fn matches(&self, route: &netconf_kernel::netlink::Route) -> bool {
        let default_metric = match route.family {
            netconf_kernel::netlink::Family::V6 => 1024,
            netconf_kernel::netlink::Family::V4 => 0,
        };
        route.destination == self.destination
            && route.gateway == self.gateway
            && route.priority.unwrap_or(0) == self.metric.unwrap_or(default_metric)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DadWait {
    pub attempts: u32,
    pub interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    #[error("{iface}: option `{option}`: `{value}` {reason}")]
    InvalidOption {
        iface: String,
        option: String,
        value: String,
        reason: String,
    },
    #[error("{iface}: {family} {method} needs the option `{option}`")]
    MissingOption {
        iface: String,
        family: Family,
        method: String,
        option: String,
    },
    /// What a method's program printed cannot be used.
    #[error("{iface}: {program}: {reason}")]
    ProgramOutput {
        iface: String,
        program: String,
        reason: String,
    },
    #[error("{iface}: method `{family} {method}` is not supported by netconf yet")]
    Unsupported {
        iface: String,
        family: Family,
        method: String,
    },
}

pub trait Provider: Sync {
    /// The kernel state the stanza asks for, or what is wrong with it.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError>;

    /// Whether `ifdown` takes the link down afterwards (Debian does for
    /// real links, not for `eth0:1` aliases or `eth0.5` VLANs); `all` is
    /// `ifdown -a`.
    fn link_down_on_ifdown(&self, stanza: &StanzaConfig, all: bool) -> bool {
        let _ = all;
        is_link(&stanza.iface)
    }

    /// The program of Debian's the method runs (pppd through `pon`,
    /// wvdial, avahi-autoipd), and what it leaves in the kernel; `None`
    /// for the methods netconf carries out itself.
    fn program(&self, stanza: &StanzaConfig) -> Result<Option<Program>, MethodError> {
        let _ = stanza;
        Ok(None)
    }
}

/// ifupdown's `iface_is_link()`: a name that is neither an alias nor a VLAN.
pub fn is_link(iface: &str) -> bool {
    !netconf_interfaces::variables::iface_has(iface, ":.")
}

/// The provider for a family and method, if netconf implements it.
pub fn provider_for(family: Family, method: &str) -> Option<&'static dyn Provider> {
    match (family, method) {
        (Family::Inet | Family::Inet6, "loopback") => Some(&crate::loopback::Loopback),
        (Family::Inet | Family::Inet6, "manual") => Some(&crate::manual::Manual),
        (Family::Inet, "static") => Some(&crate::static_::StaticV4),
        (Family::Inet6, "static") => Some(&crate::static_::StaticV6),
        (Family::Meta, "none") => Some(&crate::manual::Nothing),
        (Family::Inet, "dhcp") => Some(&crate::dhcp::DhcpLink),
        (Family::Inet6, "dhcp") => Some(&crate::dhcp::Dhcp6Link),
        (Family::Inet6, "auto") => Some(&crate::dhcp::Auto6),
        (Family::Can, "static") => Some(&crate::can::CanStatic),
        (Family::Inet, "tunnel") => Some(&crate::tunnel::TunnelV4),
        (Family::Inet6, "v4tunnel") => Some(&crate::tunnel::V4Tunnel),
        (Family::Inet6, "6to4") => Some(&crate::tunnel::SixToFour),
        (Family::Inet6, "tunnel") => Some(&crate::tunnel::TunnelV6),
        (Family::Inet, "ppp") => Some(&crate::ppp::Ppp),
        (Family::Inet, "wvdial") => Some(&crate::ppp::Wvdial),
        (Family::Inet, "ipv4ll") => Some(&crate::ipv4ll::Ipv4ll),
        (Family::Inet, "bootp") => Some(&crate::bootp::Bootp),
        _ => None,
    }
}

/// Parses an option's value, or says which option and why not.
pub(crate) fn parse_option<T>(
    stanza: &StanzaConfig,
    option: &str,
    value: &str,
    reason: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, MethodError> {
    parse(value).ok_or_else(|| MethodError::InvalidOption {
        iface: stanza.iface.clone(),
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    })
}

/// `hwaddress` after Debian's cleanup: six colon-separated hex bytes.
pub(crate) fn parse_mac(value: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = value.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The link part shared by static and manual: `mtu` and `hwaddress`.
pub(crate) fn link_options(
    stanza: &StanzaConfig,
    vars: &Variables,
) -> Result<LinkWanted, MethodError> {
    let mtu = vars
        .get("mtu")
        .map(|v| {
            parse_option(stanza, "mtu", v, "is not an MTU (68 to 65535)", |v| {
                v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m))
            })
        })
        .transpose()?;
    let mac = vars
        .get("hwaddress")
        .map(|v| {
            parse_option(
                stanza,
                "hwaddress",
                v,
                "is not a MAC address (xx:xx:xx:xx:xx:xx)",
                parse_mac,
            )
        })
        .transpose()?;
    let alias = vars
        .get("ifalias")
        .map(|v| {
            // The kernel's IFALIASZ, the terminating zero included.
            parse_option(stanza, "ifalias", v, "is longer than 255 bytes", |v| {
                (v.len() <= 255).then(|| v.to_string())
            })
        })
        .transpose()?;
    Ok(LinkWanted {
        up: true,
        mtu,
        mac,
        alias,
    })
}

/// `link-mtu`: the `mtu` of an ifupdown2 stanza that DHCP configures, which
/// its dialect lowers to this name (ifupdown2 sets the link's MTU whatever
/// the method; Debian's `dhcp` method has no `mtu`).
pub(crate) fn link_mtu(
    stanza: &StanzaConfig,
    vars: &Variables,
) -> Result<Option<u32>, MethodError> {
    vars.get("link-mtu")
        .map(|v| {
            parse_option(stanza, "link-mtu", v, "is not an MTU (68 to 65535)", |v| {
                v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:00:5e:00:53:01"),
            Some([2, 0, 0x5e, 0, 0x53, 1])
        );
        assert_eq!(parse_mac("2:0:5e:0:53:1"), Some([2, 0, 0x5e, 0, 0x53, 1]));
        assert_eq!(parse_mac("02:00:5e:00:53"), None);
        assert_eq!(parse_mac("02:00:5e:00:53:01:02"), None);
        assert_eq!(parse_mac("zz:00:5e:00:53:01"), None);
    }

    #[test]
    fn links_and_aliases() {
        assert!(is_link("eth0"));
        assert!(!is_link("eth0:1"));
        assert!(!is_link("eth0.10"));
    }
}
