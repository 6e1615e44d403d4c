//! Reading the variables DHCP clients give their scripts: the getenv(3)
//! rules, numbers, addresses and names checked and named when wrong, and the
//! dhclient-style lease variables (`new_ip_address`, `new_subnet_mask`,
//! `new_routers`, … with `new_`, `old_` or `cur_` in front) that dhclient,
//! dhcpcd and dhcpcanon share.
//!
//! The rules, from the captured fixtures (`tests/fixtures/*-env/`): lists
//! (routers, name servers, search domains) are separated by single spaces;
//! times are decimal seconds, `expiry` and `*starts` epoch seconds. A
//! variable that is set but empty is treated as absent, as Debian's script
//! does with its `[ -n "$var" ]` tests.

use crate::lease::{rfc3442, Lease4, Lease6, LeaseError};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// How a client prints option 121.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Option121 {
    /// dhclient's `rfc3442_classless_static_routes`: the option's octets.
    Octets,
    /// dhcpcd's `classless_static_routes`: `DEST/WIDTH ROUTER` pairs.
    Pairs,
}

/// The IPv4 lease of the `prefix` variables (`new_`, `old_`), if any is
/// set. The server is `dhcp_server_identifier` (dhclient, dhcpcd) or
/// `server_id` (dhcpcanon).
pub(crate) fn lease4(
    env: &Env<'_>,
    prefix: &'static str,
    option121: Option121,
) -> Result<Option<Lease4>, LeaseError> {
    if !env.has_prefix(prefix) {
        return Ok(None);
    }
    let v = Vars::new(env, prefix);
    let address = v.ip::<Ipv4Addr>("ip_address", "IPv4")?.ok_or_else(|| {
        missing(
            &v.name("ip_address"),
            &format!("the other {prefix}* variables describe a lease, which has an address"),
        )
    })?;
    let prefix_len = match v.get("subnet_mask") {
        None => 32,
        Some((var, value)) => mask_len(value)
            .ok_or_else(|| invalid(&var, value, "is not a subnet mask (contiguous ones)"))?,
    };
    let classless_routes = match option121 {
        Option121::Octets => v
            .get("rfc3442_classless_static_routes")
            .map(|(var, value)| rfc3442::decode(value).map_err(|e| invalid(&var, value, e.0))),
        Option121::Pairs => v.get("classless_static_routes").map(|(var, value)| {
            rfc3442::decode_pairs(value).map_err(|e| invalid(&var, value, e.0))
        }),
    }
    .transpose()?
    .unwrap_or_default();
    let mtu = v.mtu("interface_mtu")?;
    let domain = v.names("domain_name")?;
    Ok(Some(Lease4 {
        address,
        prefix_len,
        broadcast: v.ip("broadcast_address", "IPv4")?,
        routers: v.ips("routers", "IPv4")?,
        classless_routes,
        mtu,
        dns: v.ips("domain_name_servers", "IP")?,
        domain: (!domain.is_empty()).then(|| domain.join(" ")),
        search: v.names("domain_search")?,
        hostname: v.name_one("host_name")?,
        lease_time: v.number("dhcp_lease_time", SECONDS)?,
        renewal: v.number("dhcp_renewal_time", SECONDS)?,
        rebinding: v.number("dhcp_rebinding_time", SECONDS)?,
        expiry: v.number("expiry", EPOCH)?,
        server: match v.ip("dhcp_server_identifier", "IPv4")? {
            Some(server) => Some(server),
            None => v.ip("server_id", "IPv4")?,
        },
    }))
}

/// The DHCPv6 lease of the `prefix` variables, with dhclient's names.
pub(crate) fn lease6(env: &Env<'_>, prefix: &'static str) -> Result<Option<Lease6>, LeaseError> {
    if !env.has_prefix(prefix) {
        return Ok(None);
    }
    let v = Vars::new(env, prefix);
    let prefixlen = match v.get("ip6_prefixlen") {
        None => 128,
        Some((var, value)) => value
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|&l| l <= 128)
            .ok_or_else(|| invalid(&var, value, "is not a prefix length (0 to 128)"))?,
    };
    let address = v
        .ip::<Ipv6Addr>("ip6_address", "IPv6")?
        .map(|a| (a, prefixlen));
    let delegated = match v.get("ip6_prefix") {
        None => None,
        Some((var, value)) => Some(
            value
                .trim()
                .split_once('/')
                .and_then(|(a, l)| {
                    let len = l.parse::<u8>().ok().filter(|&l| l <= 128)?;
                    Some((a.parse::<Ipv6Addr>().ok()?, len))
                })
                .ok_or_else(|| invalid(&var, value, "is not an IPv6 prefix (ADDRESS/LENGTH)"))?,
        ),
    };
    Ok(Some(Lease6 {
        address,
        prefix: delegated,
        iaid: v.text("iaid"),
        starts: v.number("starts", EPOCH)?,
        life_starts: v.number("life_starts", EPOCH)?,
        preferred_life: v.number("preferred_life", SECONDS)?,
        max_life: v.number("max_life", SECONDS)?,
        renew: v.number("renew", SECONDS)?,
        rebind: v.number("rebind", SECONDS)?,
        dns: v.ips("dhcp6_name_servers", "IPv6")?,
        search: v.names("dhcp6_domain_search")?,
        client_id: v.text("dhcp6_client_id"),
        server_id: v.text("dhcp6_server_id"),
        info_refresh_time: v.number("dhcp6_info_refresh_time", SECONDS)?,
    }))
}

/// The prefix length of a contiguous subnet mask.
pub(crate) fn mask_len(text: &str) -> Option<u8> {
    let mask = u32::from(text.trim().parse::<Ipv4Addr>().ok()?);
    let ones = mask.leading_ones();
    // Contiguous: nothing is left once the leading ones are shifted out.
    (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// A DNS name as it may go into resolv.conf or `hostname`: labels of
/// letters, digits, `-` and `_`. Stricter than DNS, on purpose: the names
/// end up in files and command lines, where a `#`, `;` or control character
/// would change their meaning.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What the kernel accepts as a link name (IFNAMSIZ - 1 bytes, no `/`, no
/// blanks).
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
}

pub(crate) fn missing(var: &str, why: &str) -> LeaseError {
    LeaseError::Missing {
        var: var.to_string(),
        why: why.to_string(),
    }
}

pub(crate) fn invalid(var: &str, value: &str, why: impl Into<String>) -> LeaseError {
    LeaseError::Invalid {
        var: var.to_string(),
        value: value.to_string(),
        why: why.into(),
    }
}

/// The environment; the first of two equal names wins, as with getenv(3).
pub(crate) struct Env<'a>(pub(crate) &'a [(String, String)]);

impl<'a> Env<'a> {
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// `interface`, which every client sets for every call, checked to be
    /// an interface name.
    pub(crate) fn interface(&self, client: &str) -> Result<&'a str, LeaseError> {
        let interface = self
            .get("interface")
            .ok_or_else(|| missing("interface", &format!("{client} sets it for every call")))?;
        if !valid_ifname(interface) {
            return Err(invalid("interface", interface, "is not an interface name"));
        }
        Ok(interface)
    }

    /// The variables that are not the client's own (`own`), in order: the
    /// ones netconf passed (`NETCONF_TOKEN`, `IF_METRIC`, ...).
    pub(crate) fn others(&self, own: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.0.iter().filter(|(k, _)| !own(k)).cloned().collect()
    }

    /// Whether any non-empty `PREFIX*` variable is there: then a lease is.
    pub(crate) fn has_prefix(&self, prefix: &str) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k.starts_with(prefix) && !v.trim().is_empty())
    }
}

/// The variables of one lease (`new_`, `old_`, `cur_`, or none).
pub(crate) struct Vars<'e, 'a> {
    env: &'e Env<'a>,
    prefix: &'static str,
}

impl<'e, 'a> Vars<'e, 'a> {
    pub(crate) fn new(env: &'e Env<'a>, prefix: &'static str) -> Self {
        Vars { env, prefix }
    }

    pub(crate) fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The full variable name and its (non-empty) value.
    pub(crate) fn get(&self, key: &str) -> Option<(String, &'a str)> {
        let var = self.name(key);
        self.env.get(&var).map(|value| (var, value))
    }

    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|(_, v)| v.trim().to_string())
    }

    pub(crate) fn number<T: FromStr>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, LeaseError> {
        self.get(key)
            .map(|(var, value)| {
                value
                    .trim()
                    .parse::<T>()
                    .map_err(|_| invalid(&var, value, format!("is not {what}")))
            })
            .transpose()
    }

    pub(crate) fn ip<T: FromStr>(&self, key: &str, family: &str) -> Result<Option<T>, LeaseError> {
        self.get(key)
            .map(|(var, value)| {
                value
                    .trim()
                    .parse::<T>()
                    .map_err(|_| invalid(&var, value, format!("is not an {family} address")))
            })
            .transpose()
    }

    pub(crate) fn ips<T: FromStr>(&self, key: &str, family: &str) -> Result<Vec<T>, LeaseError> {
        let Some((var, value)) = self.get(key) else {
            return Ok(Vec::new());
        };
        value
            .split_ascii_whitespace()
            .map(|word| {
                word.parse::<T>().map_err(|_| {
                    invalid(&var, value, format!("`{word}` is not an {family} address"))
                })
            })
            .collect()
    }

    /// A space-separated list of domain names, each without its trailing
    /// dot.
    pub(crate) fn names(&self, key: &str) -> Result<Vec<String>, LeaseError> {
        let Some((var, value)) = self.get(key) else {
            return Ok(Vec::new());
        };
        value
            .split_ascii_whitespace()
            .map(|word| {
                let name = word.strip_suffix('.').unwrap_or(word);
                if valid_name(name) {
                    Ok(name.to_string())
                } else {
                    Err(invalid(
                        &var,
                        value,
                        format!("`{word}` is not a domain name"),
                    ))
                }
            })
            .collect()
    }

    pub(crate) fn name_one(&self, key: &str) -> Result<Option<String>, LeaseError> {
        let names = self.names(key)?;
        match names.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ => {
                let (var, value) = self.get(key).unwrap_or_default();
                Err(invalid(&var, value, "is more than one name"))
            }
        }
    }
}

impl Vars<'_, '_> {
    /// An interface MTU, but only above 576: Debian's script empties
    /// `new_interface_mtu` at 576 and below (X.25 and dial-up values that
    /// break UDP).
    pub(crate) fn mtu(&self, key: &str) -> Result<Option<u32>, LeaseError> {
        let Some((var, value)) = self.get(key) else {
            return Ok(None);
        };
        let mtu = value
            .trim()
            .parse::<u16>()
            .map_err(|_| invalid(&var, value, "is not an MTU (0 to 65535)"))?;
        Ok(Some(u32::from(mtu)).filter(|&m| m > 576))
    }
}

/// What the numbers are, for error messages.
pub(crate) const SECONDS: &str = "a number of seconds (0 to 4294967295)";
pub(crate) const EPOCH: &str = "a time (seconds since 1970)";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dhclient::parse_event;
    use crate::lease::Reason;
    use std::net::Ipv4Addr;

    /// An environment from `NAME, VALUE` pairs (the clients' tests use it too).
    pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn bound(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut e = env(&[
            ("reason", "BOUND"),
            ("interface", "eth0"),
            ("pid", "42"),
            ("new_ip_address", "198.18.0.126"),
            ("new_subnet_mask", "255.255.255.0"),
        ]);
        e.extend(env(extra));
        e
    }

    #[test]
    fn masks() {
        assert_eq!(mask_len("255.255.255.0"), Some(24));
        assert_eq!(mask_len("255.255.255.255"), Some(32));
        assert_eq!(mask_len("0.0.0.0"), Some(0));
        assert_eq!(mask_len("255.255.254.0"), Some(23));
        assert_eq!(mask_len("128.0.0.0"), Some(1));
        assert_eq!(mask_len("255.0.255.0"), None);
        assert_eq!(mask_len("0.255.255.255"), None);
        assert_eq!(mask_len("255.255.255.1"), None);
        assert_eq!(mask_len("24"), None);
    }

    #[test]
    pub(crate) fn names() {
        assert!(valid_name("example.test"));
        assert!(valid_name("_srv.lab-1.example"));
        assert!(!valid_name(""));
        assert!(!valid_name("a..b"));
        assert!(!valid_name(".example"));
        assert!(!valid_name("exa mple"));
        assert!(!valid_name("example#x"));
        assert!(!valid_name("example;x"));
        assert!(!valid_name("ex\nample"));
        assert!(!valid_name(&"a".repeat(64)));
    }

    #[test]
    fn minimal_bound() {
        let ev = parse_event(&bound(&[])).unwrap();
        assert_eq!(ev.reason, Reason::Bound);
        assert_eq!(ev.interface, "eth0");
        assert_eq!(ev.pid, Some(42));
        let l = ev.new_v4().unwrap();
        assert_eq!(l.address, Ipv4Addr::new(198, 18, 0, 126));
        assert_eq!(l.prefix_len, 24);
        assert!(l.routers.is_empty() && l.dns.is_empty() && l.mtu.is_none());
        assert!(ev.old.is_none() && ev.cur.is_none());
    }

    #[test]
    fn no_mask_is_a_host_address() {
        let mut e = bound(&[]);
        e.retain(|(k, _)| k != "new_subnet_mask");
        assert_eq!(parse_event(&e).unwrap().new_v4().unwrap().prefix_len, 32);
    }

    #[test]
    fn empty_counts_as_absent() {
        let ev = parse_event(&bound(&[
            ("new_routers", ""),
            ("new_interface_mtu", ""),
            ("new_domain_search", ""),
        ]))
        .unwrap();
        let l = ev.new_v4().unwrap();
        assert!(l.routers.is_empty() && l.mtu.is_none() && l.search.is_empty());
    }

    #[test]
    fn first_of_two_wins() {
        let e = bound(&[("new_routers", "198.18.0.1"), ("new_routers", "198.18.0.2")]);
        assert_eq!(
            parse_event(&e).unwrap().new_v4().unwrap().routers,
            vec![Ipv4Addr::new(198, 18, 0, 1)]
        );
    }

    #[test]
    fn mtu_at_or_below_576_is_dropped() {
        for (value, want) in [
            ("1400", Some(1400)),
            ("577", Some(577)),
            ("576", None),
            ("68", None),
        ] {
            let ev = parse_event(&bound(&[("new_interface_mtu", value)])).unwrap();
            assert_eq!(ev.new_v4().unwrap().mtu, want, "{value}");
        }
    }

    #[test]
    fn extra_variables_are_the_e_ones() {
        let ev = parse_event(&bound(&[
            ("NETCONF_TOKEN", "abc"),
            ("IF_METRIC", "50"),
            ("PATH", "/usr/sbin:/sbin"),
            ("dad_wait_time", "0"),
            ("requested_routers", "1"),
        ]))
        .unwrap();
        assert_eq!(
            ev.extra,
            vec![
                ("NETCONF_TOKEN".to_string(), "abc".to_string()),
                ("IF_METRIC".to_string(), "50".to_string())
            ]
        );
        assert_eq!(ev.extra("IF_METRIC"), Some("50"));
    }

    /// Every bad value is an error naming the variable and the value.
    #[test]
    fn garbage_is_named() {
        let cases: &[(&str, &str)] = &[
            ("new_ip_address", "198.18.0"),
            ("new_subnet_mask", "255.0.255.0"),
            ("new_broadcast_address", "everyone"),
            ("new_routers", "198.18.0.1 gateway"),
            ("new_domain_name_servers", "198.18.0.53,198.18.0.54"),
            ("new_domain_search", "example.test. bad;name."),
            ("new_domain_name", "exa#mple"),
            ("new_host_name", "two names"),
            ("new_interface_mtu", "1500000"),
            ("new_interface_mtu", "-1"),
            ("new_dhcp_lease_time", "two minutes"),
            ("new_dhcp_lease_time", "4294967296"),
            ("new_expiry", "-5"),
            ("new_dhcp_server_identifier", "::1"),
            ("new_rfc3442_classless_static_routes", "16 198 19"),
        ];
        for (var, value) in cases {
            let mut e = bound(&[]);
            e.retain(|(k, _)| k != var);
            e.insert(0, (var.to_string(), value.to_string()));
            let err = parse_event(&e).unwrap_err();
            match &err {
                LeaseError::Invalid {
                    var: v, value: x, ..
                } => {
                    assert_eq!((v.as_str(), x.as_str()), (*var, *value));
                }
                other => panic!("{var}={value}: {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(var) && text.contains(value.trim()), "{text}");
        }
    }

    #[test]
    fn base_variables() {
        let err = parse_event(&env(&[("interface", "eth0")])).unwrap_err();
        assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "reason"));
        let err = parse_event(&env(&[("reason", "PREINIT")])).unwrap_err();
        assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "interface"));
        let err = parse_event(&env(&[("reason", "HELLO"), ("interface", "eth0")])).unwrap_err();
        assert_eq!(err, LeaseError::UnknownReason("HELLO".into()));
        for bad in ["../etc", "eth 0", "averyveryverylongname", "a\nb"] {
            let err = parse_event(&env(&[("reason", "PREINIT"), ("interface", bad)])).unwrap_err();
            assert!(matches!(err, LeaseError::Invalid { ref var, .. } if var == "interface"));
        }
        let err = parse_event(&env(&[
            ("reason", "PREINIT"),
            ("interface", "eth0"),
            ("pid", "x"),
        ]))
        .unwrap_err();
        assert!(matches!(err, LeaseError::Invalid { ref var, .. } if var == "pid"));
    }

    #[test]
    fn lease_reasons_need_an_address() {
        for reason in ["BOUND", "RENEW", "REBIND", "REBOOT", "TIMEOUT"] {
            let err = parse_event(&env(&[("reason", reason), ("interface", "eth0")])).unwrap_err();
            assert!(
                matches!(err, LeaseError::Missing { ref var, .. } if var == "new_ip_address"),
                "{reason}: {err:?}"
            );
            // Options without the address are no lease either.
            let err = parse_event(&env(&[
                ("reason", reason),
                ("interface", "eth0"),
                ("new_routers", "198.18.0.1"),
            ]))
            .unwrap_err();
            assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "new_ip_address"));
        }
        for reason in ["BOUND6", "REBIND6"] {
            let err = parse_event(&env(&[
                ("reason", reason),
                ("interface", "eth0"),
                ("new_dhcp6_name_servers", "2001:db8::53"),
            ]))
            .unwrap_err();
            assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "new_ip6_address"));
        }
        let err = parse_event(&env(&[("reason", "DEPREF6"), ("interface", "eth0")])).unwrap_err();
        assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "cur_ip6_address"));
        // An old lease without its address is garbage too.
        let err = parse_event(&env(&[
            ("reason", "EXPIRE"),
            ("interface", "eth0"),
            ("old_routers", "198.18.0.1"),
        ]))
        .unwrap_err();
        assert!(matches!(err, LeaseError::Missing { ref var, .. } if var == "old_ip_address"));
    }

    #[test]
    fn delegated_prefix() {
        let ev = parse_event(&env(&[
            ("reason", "BOUND6"),
            ("interface", "eth0"),
            ("new_ip6_prefix", "2001:db8:100::/56"),
            ("new_max_life", "7200"),
        ]))
        .unwrap();
        let l = ev.new_v6().unwrap();
        assert_eq!(l.prefix, Some(("2001:db8:100::".parse().unwrap(), 56)));
        assert_eq!(l.address, None);
        for bad in ["2001:db8:100::", "2001:db8:100::/129", "nope/56"] {
            let err = parse_event(&env(&[
                ("reason", "BOUND6"),
                ("interface", "eth0"),
                ("new_ip6_prefix", bad),
            ]))
            .unwrap_err();
            assert!(matches!(err, LeaseError::Invalid { ref var, .. } if var == "new_ip6_prefix"));
        }
    }

    #[test]
    fn v6_prefixlen() {
        let ev = parse_event(&env(&[
            ("reason", "BOUND6"),
            ("interface", "eth0"),
            ("new_ip6_address", "2001:db8:7::1fa"),
        ]))
        .unwrap();
        assert_eq!(
            ev.new_v6().unwrap().address,
            Some(("2001:db8:7::1fa".parse().unwrap(), 128))
        );
        let err = parse_event(&env(&[
            ("reason", "BOUND6"),
            ("interface", "eth0"),
            ("new_ip6_address", "2001:db8:7::1fa"),
            ("new_ip6_prefixlen", "200"),
        ]))
        .unwrap_err();
        assert!(matches!(err, LeaseError::Invalid { ref var, .. } if var == "new_ip6_prefixlen"));
    }
}
