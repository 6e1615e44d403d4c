//! `inet static` and `inet6 static`: the options of Debian's `inet.defn` and
//! `inet6.defn` static methods that Linux supports, as kernel state. Unlike
//! Debian, several `address` lines give several addresses.

use crate::provider::{
    link_options, parse_option, AddressWanted, DadWait, Desired, MethodError, Provider,
    RouteWanted, StanzaConfig,
};
use netconf_interfaces::families::method_def;
use netconf_interfaces::variables::inet_pton4;
use netconf_interfaces::{Family, Variables};
use netconf_kernel::netlink::Scope;
use std::net::{IpAddr, Ipv6Addr};

pub struct StaticV4;
pub struct StaticV6;

/// The `address` lines of a stanza (Debian joins repeats with newlines).
fn address_lines(stanza: &StanzaConfig) -> Result<Vec<&str>, MethodError> {
    let joined = stanza
        .vars
        .get("address")
        .ok_or_else(|| MethodError::MissingOption {
            iface: stanza.iface.clone(),
            family: stanza.family,
            method: stanza.method.clone(),
            option: "address".into(),
        })?;
    Ok(joined.split('\n').filter(|l| !l.is_empty()).collect())
}

fn scope(stanza: &StanzaConfig, vars: &Variables) -> Result<Option<Scope>, MethodError> {
    vars.get("scope")
        .map(|v| {
            parse_option(
                stanza,
                "scope",
                v,
                "is not a scope (global, site, link, host)",
                Scope::from_name,
            )
        })
        .transpose()
}

fn metric(stanza: &StanzaConfig, vars: &Variables) -> Result<Option<u32>, MethodError> {
    vars.get("metric")
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

/// A dotted netmask (contiguous ones) or a prefix length, as a prefix length.
pub(crate) fn v4_prefix(mask: &str) -> Option<u8> {
    if let Ok(bits) = mask.parse::<u8>() {
        return (bits <= 32).then_some(bits);
    }
    let m = u32::from(inet_pton4(mask)?);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

impl Provider for StaticV4 {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let vars = stanza.converted();
        let def = method_def(Family::Inet, "static");
        let scope = scope(stanza, &vars)?;
        let peer = vars
            .get("pointopoint")
            .map(|v| {
                parse_option(
                    stanza,
                    "pointopoint",
                    v,
                    "is not an IPv4 address",
                    inet_pton4,
                )
            })
            .transpose()?;

        let mut addresses = Vec::new();
        for line in address_lines(stanza)? {
            // Debian's conversions, one address at a time.
            let mut one = Variables::default();
            one.set("address", line);
            if let Some(mask) = stanza.vars.get("netmask") {
                one.set("netmask", mask);
            }
            one.set("broadcast", stanza.vars.get("broadcast").unwrap_or("+"));
            if let Some(def) = def {
                one.convert(def, &stanza.iface);
            }
            let reason = "is not an IPv4 address (dotted quad, optionally /prefix)";
            let addr = parse_option(stanza, "address", line, reason, |_| {
                one.get("address").and_then(inet_pton4)
            })?;
            let mask = one.get("netmask").unwrap_or("32");
            let prefix_len = parse_option(
                stanza,
                "netmask",
                mask,
                "is not a netmask (dotted quad or 0 to 32)",
                v4_prefix,
            )?;
            let broadcast = match one.get("broadcast") {
                None => None,
                Some(b) => Some(parse_option(
                    stanza,
                    "broadcast",
                    b,
                    "is not an IPv4 address, + or -",
                    inet_pton4,
                )?),
            };
            addresses.push(AddressWanted {
                addr: IpAddr::V4(addr),
                prefix_len,
                peer: peer.map(IpAddr::V4),
                broadcast,
                scope,
                label: Some(stanza.iface.clone()),
                nodad: false,
                preferred_lft: None,
                valid_lft: None,
            });
        }

        let mut routes = Vec::new();
        if let Some(gw) = vars.get("gateway") {
            let gateway =
                parse_option(stanza, "gateway", gw, "is not an IPv4 address", inet_pton4)?;
            routes.push(RouteWanted {
                destination: None,
                gateway: Some(IpAddr::V4(gateway)),
                metric: metric(stanza, &vars)?,
                onlink: true,
            });
        }
        Ok(Desired {
            link: link_options(stanza, &vars)?,
            addresses,
            routes,
            ..Desired::default()
        })
    }
}

impl Provider for StaticV6 {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let vars = stanza.converted();
        let scope = scope(stanza, &vars)?;
        let preferred_lft = vars
            .get("preferred-lifetime")
            .map(|v| {
                parse_option(
                    stanza,
                    "preferred-lifetime",
                    v,
                    "is not a number of seconds",
                    |v| v.parse().ok(),
                )
            })
            .transpose()?;
        let nodad = vars.get("dad-attempts").is_some() && !vars.is_true("dad-attempts");

        let mut addresses = Vec::new();
        for line in address_lines(stanza)? {
            let (addr_part, prefix_part) = match line.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (line, stanza.vars.get("netmask")),
            };
            let addr: Ipv6Addr = parse_option(
                stanza,
                "address",
                line,
                "is not an IPv6 address (optionally /prefix)",
                |_| addr_part.parse().ok(),
            )?;
            let prefix_len = match prefix_part {
                None => 128,
                Some(p) => parse_option(
                    stanza,
                    "netmask",
                    p,
                    "is not a prefix length (0 to 128)",
                    |p| p.parse::<u8>().ok().filter(|l| *l <= 128),
                )?,
            };
            addresses.push(AddressWanted {
                addr: IpAddr::V6(addr),
                prefix_len,
                peer: None,
                broadcast: None,
                scope,
                label: None,
                nodad,
                preferred_lft,
                valid_lft: None,
            });
        }

        let mut routes = Vec::new();
        if let Some(gw) = vars.get("gateway") {
            let gateway: Ipv6Addr =
                parse_option(stanza, "gateway", gw, "is not an IPv6 address", |v| {
                    v.parse().ok()
                })?;
            routes.push(RouteWanted {
                destination: None,
                gateway: Some(IpAddr::V6(gateway)),
                metric: metric(stanza, &vars)?,
                onlink: true,
            });
        }

        let mut ipv6_conf = Vec::new();
        for (option, key) in [
            ("privext", "use_tempaddr"),
            ("accept_ra", "accept_ra"),
            ("autoconf", "autoconf"),
        ] {
            if let Some(v) = vars.get(option) {
                parse_option(stanza, option, v, "is not a number", |v| {
                    v.parse::<i32>().ok()
                })?;
                ipv6_conf.push((key.to_string(), v.to_string()));
            }
        }

        let mut link = link_options(stanza, &vars)?;
        let ipv6_mtu = link.mtu.take();
        let dad = if vars.is_true("dad-attempts") {
            let attempts = parse_option(
                stanza,
                "dad-attempts",
                vars.get("dad-attempts").unwrap_or("60"),
                "is not a number",
                |v| v.parse::<u32>().ok(),
            )?;
            let interval = vars.get("dad-interval").unwrap_or("0.1");
            let seconds = parse_option(
                stanza,
                "dad-interval",
                interval,
                "is not a number of seconds",
                |v| v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0),
            )?;
            Some(DadWait {
                attempts,
                interval_ms: (seconds * 1000.0).round() as u64,
            })
        } else {
            None
        };
        Ok(Desired {
            link,
            addresses,
            routes,
            ipv6_conf,
            ipv6_mtu,
            flush_mngtmpaddr: vars.get("accept_ra").is_some() && !vars.is_true("accept_ra"),
            dad,
            // As Debian's static method: a gateway that cannot be added
            // fails the ifup.
            routes_best_effort: false,
            table: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::families::method_def;

    fn stanza(family: Family, options: &[(&str, &str)]) -> StanzaConfig {
        let mut vars = Variables::default();
        for (n, v) in options {
            vars.add_option_line(n, v);
        }
        if let Some(def) = method_def(family, "static") {
            vars.apply_defaults(def);
        }
        StanzaConfig {
            iface: "eth0".into(),
            logical: "eth0".into(),
            family,
            method: "static".into(),
            vars,
        }
    }

    #[test]
    fn v4_with_prefix_gateway_and_two_addresses() {
        let s = stanza(
            Family::Inet,
            &[
                ("address", "198.51.100.10/24"),
                ("address", "198.51.100.11"),
                ("netmask", "255.255.255.128"),
                ("gateway", "198.51.100.1"),
                ("metric", "7"),
                ("mtu", "1400"),
            ],
        );
        let d = StaticV4.desired(&s).unwrap();
        assert_eq!(d.addresses.len(), 2);
        // An explicit netmask wins over the prefix, as in Debian.
        assert_eq!(d.addresses[0].prefix_len, 25);
        assert_eq!(
            d.addresses[0].broadcast,
            Some("198.51.100.127".parse().unwrap())
        );
        assert_eq!(
            d.addresses[1].addr,
            "198.51.100.11".parse::<IpAddr>().unwrap()
        );
        assert_eq!(d.routes[0].metric, Some(7));
        assert_eq!(d.link.mtu, Some(1400));
    }

    #[test]
    fn v4_classful_default_and_bad_values() {
        let d = StaticV4
            .desired(&stanza(Family::Inet, &[("address", "203.0.113.5")]))
            .unwrap();
        assert_eq!(d.addresses[0].prefix_len, 24);
        let e = StaticV4
            .desired(&stanza(Family::Inet, &[("address", "203.0.113.300")]))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("`203.0.113.300` is not an IPv4 address"),
            "{e}"
        );
        let e = StaticV4.desired(&stanza(Family::Inet, &[])).unwrap_err();
        assert!(matches!(e, MethodError::MissingOption { .. }));
        let e = StaticV4
            .desired(&stanza(
                Family::Inet,
                &[("address", "203.0.113.5/24"), ("mtu", "huge")],
            ))
            .unwrap_err();
        assert!(e.to_string().contains("mtu"), "{e}");
    }

    #[test]
    fn v6_defaults_dad_and_sysctls() {
        let d = StaticV6
            .desired(&stanza(
                Family::Inet6,
                &[("address", "2001:db8::1/64"), ("gateway", "2001:db8::ff")],
            ))
            .unwrap();
        assert_eq!(d.addresses[0].prefix_len, 64);
        assert_eq!(
            d.dad,
            Some(DadWait {
                attempts: 60,
                interval_ms: 100
            })
        );
        assert!(d.ipv6_conf.contains(&("accept_ra".into(), "0".into())));
        assert!(d.ipv6_conf.contains(&("autoconf".into(), "0".into())));
        assert!(d.flush_mngtmpaddr);
        let d = StaticV6
            .desired(&stanza(
                Family::Inet6,
                &[("address", "2001:db8::1"), ("dad-attempts", "0")],
            ))
            .unwrap();
        assert_eq!(d.addresses[0].prefix_len, 128);
        assert!(d.addresses[0].nodad);
        assert_eq!(d.dad, None);
    }

    #[test]
    fn netmasks() {
        assert_eq!(v4_prefix("255.255.255.0"), Some(24));
        assert_eq!(v4_prefix("0.0.0.0"), Some(0));
        assert_eq!(v4_prefix("255.255.255.255"), Some(32));
        assert_eq!(v4_prefix("255.0.255.0"), None);
        assert_eq!(v4_prefix("24"), Some(24));
        assert_eq!(v4_prefix("33"), None);
    }
}
