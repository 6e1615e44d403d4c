//! DHCP leases, whichever client got them, and what they ask of the kernel,
//! the way Debian's `/sbin/dhclient-script` (and its
//! `rfc3442-classless-routes` exit hook) act on them.
//!
//! A DHCP client runs its script for each [`Reason`] with the lease that is
//! coming, the one that was, and for DEPREF6 the current one; each client
//! module (ISC's: [`crate::dhclient::parse_event`]) reads its own
//! environment into a [`DhcpEvent`] of this model. Nothing here spawns a
//! process or talks to the kernel:
//!
//! * [`desired_v4`] / [`desired_v6`]: the [`Desired`](crate::provider::Desired)
//!   kernel state of a lease, for [`crate::apply`] to write by diff;
//! * [`unchanged`]: whether a renewal asks for exactly what the previous lease
//!   asked (then only the lifetimes need refreshing, see below);
//! * [`plan`]: Debian's action per reason, as data;
//! * [`hostname_to_set`]: Debian's rule for taking the DHCP host name;
//! * [`Lease4::dns`] / [`Lease6::dns`]: what goes to resolv.conf, which
//!   `netconf_dns` writes.
//!
//! # Lifetimes on renewal
//!
//! An IPv4 address is added with `valid_lft` = `preferred_lft` = the lease
//! time (Debian does the same), so that the kernel removes it by itself if the
//! lease runs out while nobody is there to take it away. The other side of
//! that coin: **every** RENEW/REBIND/REBOOT/BOUND must push the new lifetimes
//! into the kernel, even when nothing else changed, or the address vanishes
//! when the first lease would have ended. [`crate::apply::apply`] only adds
//! addresses that are missing, so a present address has to be refreshed with
//! an RTM_NEWADDR carrying `NLM_F_REPLACE`: `Netlink::add_address(&NewAddress
//! { valid_lft, preferred_lft, .. }, true)` (`ip addr change` in Debian's
//! script). That refresh is a kernel write, but not a configuration change: the
//! address, prefix and routes stay as they are, nothing is added to
//! [`Applied`](crate::apply::Applied), the state file need not be rewritten and
//! an `ifup`/status report should not list it as a change. [`unchanged`]
//! tells the daemon when a refresh is all a renewal needs.

pub(crate) mod env;
pub(crate) mod rfc3442;
mod script;

pub use rfc3442::ClasslessRoute;
pub use script::{desired_v4, desired_v6, hostname_to_set, plan, unchanged, Plan};

use netconf_dns::DnsConfig;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why dhclient ran its script (`reason`): every value dhclient 4.4 sets,
/// and the ones Debian's script or dhclient-script(8) know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Reason {
    /// Media selection (not used on Linux).
    Medium,
    /// Before the first DISCOVER: the link must be up.
    Preinit,
    /// A new lease.
    Bound,
    /// The lease was renewed with its server. dhclient 4.4 also reports a
    /// renewal that only succeeded through the T2 broadcast as RENEW.
    Renew,
    /// The lease was renewed with another server.
    Rebind,
    /// The remembered lease was confirmed after a restart (INIT-REBOOT).
    Reboot,
    /// The lease ran out.
    Expire,
    /// No lease could be had.
    Fail,
    /// `dhclient -x`: the client stops, the lease stays with the server.
    Stop,
    /// `dhclient -r`: the lease was given back.
    Release,
    /// No broadcast interfaces (not sent on Linux).
    Nbi,
    /// No server answered; `new_*` is a still valid lease from the lease file.
    Timeout,
    /// Check that an address is unused (not sent on Linux).
    ArpCheck,
    /// Announce an address (not sent on Linux).
    ArpSend,
    /// RFC 8925 "IPv6-only preferred" (in dhclient-script(8); Debian's script
    /// does not handle it).
    V6Only,
    Preinit6,
    Bound6,
    /// Also how a stateless (`-S`) client reports its options.
    Renew6,
    Rebind6,
    /// The preferred lifetime ran out (`cur_*`).
    Depref6,
    Expire6,
    Release6,
    Stop6,
    /// dhcpcd's `NAK`, udhcpc's `nak`: the server refused the address, so
    /// the lease is gone (dhclient only logs a NAK).
    Nak,
    /// udhcpc's `deconfig`: no lease (at start, and when one was lost):
    /// take it off and keep the link up.
    Deconfig,
    /// dhcpcd's `DEPARTED`: the interface went away, and its lease with it.
    Departed,
    /// A call with nothing to apply: dhcpcd's `CARRIER`, `NOCARRIER`,
    /// `STOPPED`, `ROUTERADVERT`, udhcpc's `leasefail`.
    Notice,
}

impl Reason {
    /// Every reason dhclient gives, in the order of dhclient-script(8);
    /// the others' reasons are mapped onto these and the four after them.
    pub const ALL: [Reason; 23] = [
        Reason::Medium,
        Reason::Preinit,
        Reason::Bound,
        Reason::Renew,
        Reason::Rebind,
        Reason::Reboot,
        Reason::Expire,
        Reason::Fail,
        Reason::Stop,
        Reason::Release,
        Reason::Nbi,
        Reason::Timeout,
        Reason::ArpCheck,
        Reason::ArpSend,
        Reason::V6Only,
        Reason::Preinit6,
        Reason::Bound6,
        Reason::Renew6,
        Reason::Rebind6,
        Reason::Depref6,
        Reason::Expire6,
        Reason::Release6,
        Reason::Stop6,
    ];

    /// The name dhclient uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Medium => "MEDIUM",
            Reason::Preinit => "PREINIT",
            Reason::Bound => "BOUND",
            Reason::Renew => "RENEW",
            Reason::Rebind => "REBIND",
            Reason::Reboot => "REBOOT",
            Reason::Expire => "EXPIRE",
            Reason::Fail => "FAIL",
            Reason::Stop => "STOP",
            Reason::Release => "RELEASE",
            Reason::Nbi => "NBI",
            Reason::Timeout => "TIMEOUT",
            Reason::ArpCheck => "ARPCHECK",
            Reason::ArpSend => "ARPSEND",
            Reason::V6Only => "V6ONLY",
            Reason::Preinit6 => "PREINIT6",
            Reason::Bound6 => "BOUND6",
            Reason::Renew6 => "RENEW6",
            Reason::Rebind6 => "REBIND6",
            Reason::Depref6 => "DEPREF6",
            Reason::Expire6 => "EXPIRE6",
            Reason::Release6 => "RELEASE6",
            Reason::Stop6 => "STOP6",
            Reason::Nak => "NAK",
            Reason::Deconfig => "DECONFIG",
            Reason::Departed => "DEPARTED",
            Reason::Notice => "NOTICE",
        }
    }

    /// A DHCPv6 (`dhclient -6`) reason. `V6ONLY` is not: it is a DHCPv4
    /// option telling the client to go without IPv4.
    pub fn is_v6(self) -> bool {
        matches!(
            self,
            Reason::Preinit6
                | Reason::Bound6
                | Reason::Renew6
                | Reason::Rebind6
                | Reason::Depref6
                | Reason::Expire6
                | Reason::Release6
                | Reason::Stop6
        )
    }

    /// A reason that hands over a lease to use (`new_*` with an address):
    /// BOUND, RENEW, REBIND, REBOOT, TIMEOUT, BOUND6, REBIND6. (RENEW6 is not
    /// in the list: a stateless client reports its options as RENEW6 with no
    /// address.)
    pub fn brings_lease(self) -> bool {
        matches!(
            self,
            Reason::Bound
                | Reason::Renew
                | Reason::Rebind
                | Reason::Reboot
                | Reason::Timeout
                | Reason::Bound6
                | Reason::Rebind6
        )
    }

    /// A reason after which the lease is no longer in use: EXPIRE, FAIL,
    /// RELEASE, STOP and their DHCPv6 forms, NAK, DECONFIG and DEPARTED.
    pub fn ends_lease(self) -> bool {
        matches!(
            self,
            Reason::Expire
                | Reason::Fail
                | Reason::Release
                | Reason::Stop
                | Reason::Expire6
                | Reason::Release6
                | Reason::Stop6
                | Reason::Nak
                | Reason::Deconfig
                | Reason::Departed
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reason {
    type Err = LeaseError;

    /// dhclient's exact (upper-case) names only: anything else is not from
    /// dhclient.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| LeaseError::UnknownReason(s.to_string()))
    }
}

/// What is wrong with a hook environment. Every variant names the variable
/// and, where there is one, the value, so that the log says what dhclient
/// sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("unknown DHCP client reason {0:?}")]
    UnknownReason(String),
    #[error("the DHCP client passed no `{var}`: {why}")]
    Missing { var: String, why: String },
    #[error("`{var}`={value:?}: {why}")]
    Invalid {
        var: String,
        value: String,
        why: String,
    },
}

/// An IPv4 lease (`new_*` or `old_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease4 {
    /// `ip_address`.
    pub address: Ipv4Addr,
    /// From `subnet_mask`; 32 when dhclient passes none (as `ip addr add`
    /// without a mask, which is what Debian's script then runs).
    pub prefix_len: u8,
    /// `broadcast_address`.
    pub broadcast: Option<Ipv4Addr>,
    /// `routers`, in the server's order.
    pub routers: Vec<Ipv4Addr>,
    /// `rfc3442_classless_static_routes` decoded: destination, width, router
    /// (0.0.0.0 = on the link). When not empty these replace `routers`.
    pub classless_routes: Vec<ClasslessRoute>,
    /// `interface_mtu`, but only above 576: Debian discards 576 and below as
    /// broken (they are X.25/dial-up values that break UDP), before anything
    /// else looks at the lease.
    pub mtu: Option<u32>,
    /// `domain_name_servers`.
    pub dns: Vec<IpAddr>,
    /// `domain_name` as given (it may hold several names, separated by
    /// spaces; a trailing dot is removed from each).
    pub domain: Option<String>,
    /// `domain_search`, trailing dots removed (dhclient prints FQDNs:
    /// `example.test. lab.example.test.`).
    pub search: Vec<String>,
    /// `host_name`.
    pub hostname: Option<String>,
    /// `dhcp_lease_time`, seconds; 4294967295 is an infinite lease.
    pub lease_time: Option<u32>,
    /// `dhcp_renewal_time` (T1), seconds.
    pub renewal: Option<u32>,
    /// `dhcp_rebinding_time` (T2), seconds.
    pub rebinding: Option<u32>,
    /// `expiry`: when the lease ends, seconds since the epoch.
    pub expiry: Option<u64>,
    /// `dhcp_server_identifier`.
    pub server: Option<Ipv4Addr>,
}

impl Lease4 {
    /// Seconds the lease still has at `now` (epoch seconds): `expiry - now`,
    /// but never more than `lease_time`. A TIMEOUT's lease comes from the
    /// lease file with its original `dhcp_lease_time`, so only `expiry`
    /// says how much of it is left. `None` is forever (or unknown).
    pub fn remaining(&self, now: u64) -> Option<u32> {
        let by_expiry = self
            .expiry
            .map(|e| u32::try_from(e.saturating_sub(now)).unwrap_or(u32::MAX));
        match (self.lease_time.filter(|&t| t != u32::MAX), by_expiry) {
            (Some(t), Some(e)) => Some(t.min(e)),
            (Some(t), None) => Some(t),
            (None, e) => e.filter(|_| self.lease_time != Some(u32::MAX)),
        }
    }

    /// A DHCPv4 lease's DNS, by `make_resolv_conf`'s rules: `domain` is the
    /// first name of `domain_name`; the search list is `domain_search` with
    /// `domain_name` put in front unless the list already holds it, or
    /// `domain_name` alone when there is no search list.
    pub fn dns(&self) -> DnsConfig {
        let words: Vec<&str> = self
            .domain
            .as_deref()
            .map(|d| d.split_whitespace().collect())
            .unwrap_or_default();
        let owned = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let search = if self.search.is_empty() {
            owned(&words)
        } else {
            // Debian compares the whole domain_name with each entry, so a
            // domain_name of several names is never "in the list".
            let listed = matches!(words.as_slice(), [one] if self.search.iter().any(|s| s == one));
            if words.is_empty() || listed {
                self.search.clone()
            } else {
                let mut search = owned(&words);
                search.extend(self.search.iter().cloned());
                search
            }
        };
        DnsConfig {
            nameservers: self.dns.clone(),
            domain: words.first().map(|s| s.to_string()),
            search,
        }
    }
}

/// A DHCPv6 lease (`new_*`, `old_*` or `cur_*`). A stateless client's
/// (`-S`) has options only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease6 {
    /// `ip6_address` with `ip6_prefixlen` (dhclient's `--address-prefix-len`,
    /// 128 unless told otherwise; 128 when missing).
    pub address: Option<(Ipv6Addr, u8)>,
    /// `ip6_prefix`, a delegated prefix (`dhclient -P`), given as `addr/len`.
    pub prefix: Option<(Ipv6Addr, u8)>,
    /// `iaid`, as printed (`7c:ef:5d:c7`).
    pub iaid: Option<String>,
    /// `starts`: when the IA was obtained, epoch seconds.
    pub starts: Option<u64>,
    /// `life_starts`: when the lifetimes below started, epoch seconds.
    pub life_starts: Option<u64>,
    /// `preferred_life`, seconds.
    pub preferred_life: Option<u32>,
    /// `max_life` (valid lifetime), seconds.
    pub max_life: Option<u32>,
    /// `renew` (T1), seconds.
    pub renew: Option<u32>,
    /// `rebind` (T2), seconds.
    pub rebind: Option<u32>,
    /// `dhcp6_name_servers`.
    pub dns: Vec<Ipv6Addr>,
    /// `dhcp6_domain_search`, trailing dots removed.
    pub search: Vec<String>,
    /// `dhcp6_client_id`, the DUID as dhclient prints it.
    pub client_id: Option<String>,
    /// `dhcp6_server_id`.
    pub server_id: Option<String>,
    /// `dhcp6_info_refresh_time` (stateless), seconds.
    pub info_refresh_time: Option<u32>,
}

impl Lease6 {
    /// A DHCPv6 lease's DNS: its name servers and search list (DHCPv6 has no
    /// `domain`).
    pub fn dns(&self) -> DnsConfig {
        DnsConfig {
            nameservers: self.dns.iter().copied().map(IpAddr::V6).collect(),
            domain: None,
            search: self.search.clone(),
        }
    }
}

/// A lease of either family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lease {
    V4(Lease4),
    V6(Lease6),
}

impl Lease {
    pub fn as_v4(&self) -> Option<&Lease4> {
        match self {
            Lease::V4(l) => Some(l),
            Lease::V6(_) => None,
        }
    }

    pub fn as_v6(&self) -> Option<&Lease6> {
        match self {
            Lease::V6(l) => Some(l),
            Lease::V4(_) => None,
        }
    }
}

/// One run of the hook by dhclient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpEvent {
    pub reason: Reason,
    pub interface: String,
    /// `pid`: the dhclient that ran the hook. For STOP/RELEASE that is the
    /// short-lived `dhclient -x`/`-r`, not the one that held the lease.
    pub pid: Option<u32>,
    /// `new_*`: the lease to use (BOUND, RENEW, …, the recorded lease on
    /// TIMEOUT, a stateless client's options on RENEW6).
    pub new: Option<Lease>,
    /// `old_*`: the lease before (RENEW, REBIND, EXPIRE, STOP, RELEASE, and
    /// BOUND after an expired lease).
    pub old: Option<Lease>,
    /// `cur_*`: the lease whose address DEPREF6 deprecates.
    pub cur: Option<Lease>,
    /// The variables that are not dhclient's own, in order: the `-e` ones
    /// (`NETCONF_TOKEN`, `IF_METRIC`, …).
    pub extra: Vec<(String, String)>,
}

impl DhcpEvent {
    pub fn new_v4(&self) -> Option<&Lease4> {
        self.new.as_ref().and_then(Lease::as_v4)
    }

    pub fn old_v4(&self) -> Option<&Lease4> {
        self.old.as_ref().and_then(Lease::as_v4)
    }

    pub fn new_v6(&self) -> Option<&Lease6> {
        self.new.as_ref().and_then(Lease::as_v6)
    }

    pub fn old_v6(&self) -> Option<&Lease6> {
        self.old.as_ref().and_then(Lease::as_v6)
    }

    pub fn cur_v6(&self) -> Option<&Lease6> {
        self.cur.as_ref().and_then(Lease::as_v6)
    }

    /// A variable passed with `dhclient -e NAME=VALUE`.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_lease(domain: Option<&str>, search: &[&str]) -> Lease4 {
        Lease4 {
            address: "198.18.0.126".parse().unwrap(),
            prefix_len: 24,
            broadcast: None,
            routers: vec![],
            classless_routes: vec![],
            mtu: None,
            dns: vec!["198.18.0.53".parse().unwrap()],
            domain: domain.map(str::to_string),
            search: search.iter().map(|s| s.to_string()).collect(),
            hostname: None,
            lease_time: None,
            renewal: None,
            rebinding: None,
            expiry: None,
            server: None,
        }
    }

    #[test]
    fn domain_goes_in_front_of_the_search_list_unless_there() {
        let dns = v4_lease(Some("corp.test"), &["lab.example.test"]).dns();
        assert_eq!(dns.search, ["corp.test", "lab.example.test"]);
        assert_eq!(dns.domain.as_deref(), Some("corp.test"));
        let dns = v4_lease(Some("corp.test"), &[]).dns();
        assert_eq!(dns.search, ["corp.test"]);
        let dns = v4_lease(None, &["lab.example.test"]).dns();
        assert_eq!(
            (dns.domain, dns.search),
            (None, vec!["lab.example.test".into()])
        );
        // Several names in domain_name: `domain` takes the first, and the
        // search list gets all of them in front (Debian compares the whole
        // value with each entry).
        let dns = v4_lease(Some("a.test b.test"), &["a.test"]).dns();
        assert_eq!(dns.domain.as_deref(), Some("a.test"));
        assert_eq!(dns.search, ["a.test", "b.test", "a.test"]);
    }

    #[test]
    fn reasons_round_trip() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>().unwrap(), r);
            assert_eq!(r.to_string(), r.as_str());
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), r);
        }
    }

    #[test]
    fn unknown_reason_is_named() {
        let err = "REBOOT6".parse::<Reason>().unwrap_err();
        assert_eq!(err, LeaseError::UnknownReason("REBOOT6".into()));
        assert!(err.to_string().contains("REBOOT6"));
        assert!("bound".parse::<Reason>().is_err());
        assert!("".parse::<Reason>().is_err());
    }

    #[test]
    fn families() {
        let v6: Vec<_> = Reason::ALL.into_iter().filter(|r| r.is_v6()).collect();
        assert_eq!(
            v6,
            [
                Reason::Preinit6,
                Reason::Bound6,
                Reason::Renew6,
                Reason::Rebind6,
                Reason::Depref6,
                Reason::Expire6,
                Reason::Release6,
                Reason::Stop6
            ]
        );
        assert!(!Reason::V6Only.is_v6());
    }

    fn lease(lease_time: Option<u32>, expiry: Option<u64>) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(198, 18, 0, 126),
            prefix_len: 24,
            broadcast: None,
            routers: vec![],
            classless_routes: vec![],
            mtu: None,
            dns: vec![],
            domain: None,
            search: vec![],
            hostname: None,
            lease_time,
            renewal: None,
            rebinding: None,
            expiry,
            server: None,
        }
    }

    #[test]
    fn remaining_time() {
        assert_eq!(lease(Some(120), Some(1000)).remaining(950), Some(50));
        assert_eq!(lease(Some(120), Some(1000)).remaining(500), Some(120));
        assert_eq!(lease(Some(120), Some(1000)).remaining(2000), Some(0));
        assert_eq!(lease(Some(120), None).remaining(2000), Some(120));
        assert_eq!(lease(None, Some(1000)).remaining(900), Some(100));
        assert_eq!(lease(None, None).remaining(900), None);
        assert_eq!(lease(Some(u32::MAX), Some(1000)).remaining(900), None);
    }
}
