//! NWAM's condition language in readable words, one condition per
//! `condition` line of a profile unit, location or modifier:
//!
//! ```text
//! ncu eth0 is active              ncu wlan0 is-not active
//! ip-address is-in-range 198.51.100.0/24
//! default-gateway is 198.51.100.1
//! gateway-mac is 02:00:00:00:00:01
//! dhcp-domain contains example.org
//! essid is CoffeeShop
//! system-domain is example.org
//! ```
//!
//! A positive test (`is`, `contains`, `is-in-range`) holds when one fact of
//! its subject matches; its negation holds when none does. An `essid`
//! condition never holds, negated or not, while the host has no wireless
//! link: "not on network X" must not be true of a machine that cannot see
//! networks at all. Conditions are rated for specificity as NWAM rates them,
//! so that the best of several matching locations can be chosen.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

/// What the daemon knows when it evaluates conditions. Gathered from the
/// kernel's mirror, the DHCP leases and the interfaces that are up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Interfaces (logical names) that are up.
    pub active_ncus: BTreeSet<String>,
    /// Every address configured on an interface other than loopback.
    pub addresses: Vec<IpAddr>,
    /// Gateways of the default routes.
    pub default_gateways: Vec<IpAddr>,
    /// Link-layer addresses of the default gateways, from the neighbour table.
    pub gateway_macs: Vec<[u8; 6]>,
    /// Domains the DHCP servers handed out (`domain-name`, DHCPv6 search).
    pub dhcp_domains: Vec<String>,
    /// The networks the wireless links are associated with; `None` when the
    /// host has no wireless link at all.
    pub essids: Option<Vec<String>>,
    /// The host's own DNS domain (`hostname --domain`).
    pub system_domain: Option<String>,
}

/// What a condition is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// A unit of the active profile, by its interface name.
    Ncu(String),
    IpAddress,
    DefaultGateway,
    GatewayMac,
    DhcpDomain,
    Essid,
    SystemDomain,
}

impl Subject {
    fn word(&self) -> &'static str {
        match self {
            Subject::Ncu(_) => "ncu",
            Subject::IpAddress => "ip-address",
            Subject::DefaultGateway => "default-gateway",
            Subject::GatewayMac => "gateway-mac",
            Subject::DhcpDomain => "dhcp-domain",
            Subject::Essid => "essid",
            Subject::SystemDomain => "system-domain",
        }
    }

    /// NWAM's order of specificity: what names one thing of this host
    /// (a unit) over its domain, over where its addresses are, over which
    /// network it sees. `default-gateway` and `gateway-mac`, ours, stand
    /// where NWAM has the wireless BSSID: they name one network's router.
    fn rank(&self) -> u64 {
        match self {
            Subject::Ncu(_) => 7,
            Subject::SystemDomain => 6,
            Subject::DhcpDomain => 5,
            Subject::IpAddress => 4,
            Subject::DefaultGateway => 3,
            Subject::GatewayMac => 2,
            Subject::Essid => 1,
        }
    }
}

/// How the subject is compared with the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Test {
    Is,
    IsNot,
    Contains,
    DoesNotContain,
    IsInRange,
    IsNotInRange,
}

impl Test {
    fn parse(word: &str) -> Option<Test> {
        Some(match word {
            "is" => Test::Is,
            "is-not" => Test::IsNot,
            "contains" => Test::Contains,
            "does-not-contain" => Test::DoesNotContain,
            "is-in-range" => Test::IsInRange,
            "is-not-in-range" => Test::IsNotInRange,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Test::Is => "is",
            Test::IsNot => "is-not",
            Test::Contains => "contains",
            Test::DoesNotContain => "does-not-contain",
            Test::IsInRange => "is-in-range",
            Test::IsNotInRange => "is-not-in-range",
        }
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Test::IsNot | Test::DoesNotContain | Test::IsNotInRange
        )
    }

    /// NWAM's: `is` names most, then `contains`/`is-in-range`, then their
    /// negations, and `is-not` least.
    fn rank(self) -> u64 {
        match self {
            Test::Is => 3,
            Test::Contains | Test::IsInRange => 2,
            Test::DoesNotContain | Test::IsNotInRange => 1,
            Test::IsNot => 0,
        }
    }
}

/// What the subject is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Value {
    Active,
    Address(IpAddr),
    Prefix(IpAddr, u8),
    Mac([u8; 6]),
    Text(String),
}

/// One parsed condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub subject: Subject,
    pub test: Test,
    value: Value,
}

/// Why a condition's text was refused; the caller adds file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("empty condition")]
    Empty,
    #[error("unknown subject \"{0}\" (ncu, ip-address, default-gateway, gateway-mac, dhcp-domain, essid, system-domain)")]
    UnknownSubject(String),
    #[error("\"{subject}\" takes {expected}, not \"{found}\"")]
    BadTest {
        subject: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("\"{subject} {test}\" needs a value")]
    MissingValue {
        subject: &'static str,
        test: &'static str,
    },
    #[error("\"{found}\" is not {expected}")]
    BadValue {
        expected: &'static str,
        found: String,
    },
    #[error("unexpected \"{0}\" after the condition")]
    Trailing(String),
}

impl Condition {
    /// Reads `SUBJECT TEST VALUE` (`ncu NAME is|is-not active`).
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let mut words = text.split_whitespace();
        let first = words.next().ok_or(ConditionError::Empty)?;
        let subject = match first {
            "ncu" => {
                let name = words.next().ok_or(ConditionError::MissingValue {
                    subject: "ncu",
                    test: "NAME",
                })?;
                Subject::Ncu(name.to_string())
            }
            "ip-address" => Subject::IpAddress,
            "default-gateway" => Subject::DefaultGateway,
            "gateway-mac" => Subject::GatewayMac,
            "dhcp-domain" => Subject::DhcpDomain,
            "essid" => Subject::Essid,
            "system-domain" => Subject::SystemDomain,
            other => return Err(ConditionError::UnknownSubject(other.to_string())),
        };
        let (allowed, expected): (&[Test], &'static str) = match subject {
            Subject::Ncu(_) | Subject::DefaultGateway | Subject::GatewayMac => {
                (&[Test::Is, Test::IsNot], "is or is-not")
            }
            Subject::IpAddress => (
                &[Test::Is, Test::IsNot, Test::IsInRange, Test::IsNotInRange],
                "is, is-not, is-in-range or is-not-in-range",
            ),
            Subject::DhcpDomain | Subject::Essid | Subject::SystemDomain => (
                &[Test::Is, Test::IsNot, Test::Contains, Test::DoesNotContain],
                "is, is-not, contains or does-not-contain",
            ),
        };
        let found = words.next().unwrap_or("");
        let test = Test::parse(found)
            .filter(|t| allowed.contains(t))
            .ok_or_else(|| ConditionError::BadTest {
                subject: subject.word(),
                expected,
                found: found.to_string(),
            })?;
        let raw = words.next().ok_or(ConditionError::MissingValue {
            subject: subject.word(),
            test: test.word(),
        })?;
        let bad = |expected| ConditionError::BadValue {
            expected,
            found: raw.to_string(),
        };
        let value = match (&subject, test) {
            (Subject::Ncu(_), _) if raw == "active" => Value::Active,
            (Subject::Ncu(_), _) => return Err(bad("\"active\"")),
            (Subject::IpAddress, Test::IsInRange | Test::IsNotInRange) => {
                parse_prefix(raw).ok_or_else(|| bad("a prefix such as 198.51.100.0/24"))?
            }
            (Subject::IpAddress | Subject::DefaultGateway, _) => {
                Value::Address(raw.parse().map_err(|_| bad("an IP address"))?)
            }
            (Subject::GatewayMac, _) => {
                Value::Mac(parse_mac(raw).ok_or_else(|| bad("a MAC address"))?)
            }
            (Subject::Essid, _) => Value::Text(raw.to_string()),
            (Subject::DhcpDomain | Subject::SystemDomain, _) => Value::Text(domain(raw)),
        };
        if let Some(extra) = words.next() {
            return Err(ConditionError::Trailing(extra.to_string()));
        }
        Ok(Condition {
            subject,
            test,
            value,
        })
    }

    /// Whether the condition holds on these facts.
    pub fn holds(&self, facts: &Facts) -> bool {
        if self.subject == Subject::Essid && facts.essids.is_none() {
            return false;
        }
        self.matches(facts) != self.test.negated()
    }

    /// Whether one fact of the subject matches the value (the positive test).
    fn matches(&self, facts: &Facts) -> bool {
        match (&self.subject, &self.value) {
            (Subject::Ncu(name), _) => facts.active_ncus.contains(name),
            (Subject::IpAddress, Value::Prefix(net, len)) => {
                facts.addresses.iter().any(|a| in_prefix(*a, *net, *len))
            }
            (Subject::IpAddress, Value::Address(want)) => facts.addresses.contains(want),
            (Subject::DefaultGateway, Value::Address(want)) => {
                facts.default_gateways.contains(want)
            }
            (Subject::GatewayMac, Value::Mac(want)) => facts.gateway_macs.contains(want),
            (Subject::DhcpDomain, Value::Text(want)) => {
                let seen = facts.dhcp_domains.iter().map(|d| domain(d));
                self.text_matches(seen, want)
            }
            (Subject::SystemDomain, Value::Text(want)) => {
                let seen = facts.system_domain.iter().map(|d| domain(d));
                self.text_matches(seen, want)
            }
            (Subject::Essid, Value::Text(want)) => {
                let seen = facts.essids.iter().flatten().cloned();
                self.text_matches(seen, want)
            }
            // parse() makes no other pairs.
            _ => false,
        }
    }

    fn text_matches(&self, mut seen: impl Iterator<Item = String>, want: &str) -> bool {
        match self.test {
            Test::Contains | Test::DoesNotContain => seen.any(|s| s.contains(want)),
            _ => seen.any(|s| s == want),
        }
    }

    /// How specific the condition is (NWAM's rating): the subject first,
    /// the test second.
    pub fn rating(&self) -> u64 {
        self.subject.rank() * 4 + self.test.rank()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Subject::Ncu(name) => write!(f, "ncu {name}")?,
            other => f.write_str(other.word())?,
        }
        write!(f, " {} ", self.test.word())?;
        match &self.value {
            Value::Active => f.write_str("active"),
            Value::Address(a) => write!(f, "{a}"),
            Value::Prefix(a, len) => write!(f, "{a}/{len}"),
            Value::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            Value::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How several conditions combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// One is enough.
    Any,
    /// Every one must hold.
    All,
}

/// Whether the conditions hold together, and their rating as NWAM rates a
/// set: the best held condition of an `any` set, the sum of an `all` set.
/// `None` when they do not hold (an empty set never holds).
pub fn evaluate(conditions: &[Condition], combine: Combine, facts: &Facts) -> Option<u64> {
    let mut held = conditions.iter().filter(|c| c.holds(facts)).peekable();
    held.peek()?;
    match combine {
        Combine::Any => held.map(Condition::rating).max(),
        Combine::All => {
            let sum = held.map(Condition::rating).sum();
            conditions.iter().all(|c| c.holds(facts)).then_some(sum)
        }
    }
}

/// Domains compare without case and without the root's dot.
fn domain(text: &str) -> String {
    text.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_prefix(text: &str) -> Option<Value> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some(Value::Prefix(addr, len))
}

fn in_prefix(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `02:00:5e:00:53:01` (or with dashes), in any case.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            active_ncus: ["eth0".to_string()].into(),
            addresses: vec![
                "198.51.100.7".parse().unwrap(),
                "2001:db8::7".parse().unwrap(),
            ],
            default_gateways: vec!["198.51.100.1".parse().unwrap()],
            gateway_macs: vec![[2, 0, 0x5e, 0, 0x53, 1]],
            dhcp_domains: vec!["Office.Example.org.".into()],
            essids: None,
            system_domain: Some("example.org".into()),
        }
    }

    fn holds(text: &str) -> bool {
        Condition::parse(text).unwrap().holds(&facts())
    }

    #[test]
    fn each_subject_is_compared_with_its_facts() {
        assert!(holds("ncu eth0 is active"));
        assert!(holds("ncu eth1 is-not active"));
        assert!(holds("ip-address is-in-range 198.51.100.0/24"));
        assert!(holds("ip-address is-in-range 2001:db8::/32"));
        assert!(!holds("ip-address is-in-range 203.0.113.0/24"));
        assert!(holds("ip-address is-not-in-range 203.0.113.0/24"));
        assert!(holds("ip-address is 198.51.100.7"));
        assert!(holds("default-gateway is 198.51.100.1"));
        assert!(holds("gateway-mac is 02:00:5E:00:53:01"));
        assert!(!holds("gateway-mac is 02:00:5e:00:53:02"));
        assert!(holds("dhcp-domain is office.example.org"));
        assert!(holds("dhcp-domain contains example"));
        assert!(holds("dhcp-domain does-not-contain home"));
        assert!(holds("system-domain is Example.org."));
    }

    #[test]
    fn essid_never_holds_without_a_wireless_link() {
        assert!(!holds("essid is Cafe"));
        assert!(!holds("essid is-not Cafe"));
        let mut f = facts();
        f.essids = Some(vec!["Cafe Wifi".into()]);
        assert!(Condition::parse("essid contains Cafe").unwrap().holds(&f));
        assert!(Condition::parse("essid is-not Home").unwrap().holds(&f));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let err = |t| Condition::parse(t).unwrap_err().to_string();
        assert_eq!(err(""), "empty condition");
        assert!(err("carrier is up").starts_with("unknown subject \"carrier\""));
        assert_eq!(
            err("default-gateway contains 1"),
            "\"default-gateway\" takes is or is-not, not \"contains\""
        );
        assert_eq!(
            err("ip-address is-in-range"),
            "\"ip-address is-in-range\" needs a value"
        );
        assert_eq!(
            err("ip-address is-in-range 198.51.100.0/33"),
            "\"198.51.100.0/33\" is not a prefix such as 198.51.100.0/24"
        );
        assert_eq!(err("ncu eth0 is up"), "\"up\" is not \"active\"");
        assert_eq!(
            err("gateway-mac is 02:00"),
            "\"02:00\" is not a MAC address"
        );
        assert_eq!(err("essid is a b"), "unexpected \"b\" after the condition");
    }

    #[test]
    fn text_round_trips() {
        for t in [
            "ncu eth0 is-not active",
            "ip-address is-in-range 198.51.100.0/24",
            "gateway-mac is 02:00:5e:00:53:01",
            "dhcp-domain contains example.org",
        ] {
            assert_eq!(Condition::parse(t).unwrap().to_string(), t);
        }
    }

    #[test]
    fn sets_are_rated_as_nwam_rates_them() {
        let c = |t| Condition::parse(t).unwrap();
        let f = facts();
        let domain = c("dhcp-domain is office.example.org");
        let range = c("ip-address is-in-range 198.51.100.0/24");
        let miss = c("default-gateway is 203.0.113.1");
        assert!(domain.rating() > range.rating());
        let both = [domain.clone(), range.clone()];
        assert_eq!(
            evaluate(&both, Combine::All, &f),
            Some(domain.rating() + range.rating())
        );
        assert_eq!(evaluate(&both, Combine::Any, &f), Some(domain.rating()));
        let some = [range.clone(), miss];
        assert_eq!(evaluate(&some, Combine::All, &f), None);
        assert_eq!(evaluate(&some, Combine::Any, &f), Some(range.rating()));
        assert_eq!(evaluate(&[], Combine::Any, &f), None);
    }
}
