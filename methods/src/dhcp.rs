//! The DHCP methods: `inet dhcp`, `inet6 dhcp` and `inet6 auto` (SLAAC,
//! with stateless DHCPv6 on `dhcp 1`). Their own kernel work is small (the
//! link up, Debian's IPv6 sysctls); the addresses come from a DHCP client
//! ([`crate::dhclient`]) as leases ([`crate::lease`]), which the daemon
//! applies as they arrive.

use crate::provider::{link_mtu, link_options, Desired, MethodError, Provider, StanzaConfig};
use netconf_interfaces::{Family, Variables};

/// Which DHCPv6 exchange to run (`inet6 dhcp` or `inet6 auto` with `dhcp 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode6 {
    /// Addresses from the server (`inet6 dhcp`).
    Stateful,
    /// Only other configuration, addresses by SLAAC (`-S`).
    Stateless,
    /// A delegated prefix only (`-P`: `inet6 auto` with `request_prefix 1`).
    PrefixDelegation,
    /// Addresses and a delegated prefix (`-P -N`: `inet6 dhcp` with
    /// `request_prefix 1`).
    AddressAndPrefix,
}

/// The DHCPv6 exchange a stanza asks for, as Debian's `inet6.defn` runs it;
/// `None` for stanzas without DHCPv6.
pub fn mode6(stanza: &StanzaConfig) -> Option<Mode6> {
    let vars = stanza.converted();
    let prefix = vars.is_true("request_prefix");
    match (stanza.family, stanza.method.as_str()) {
        (Family::Inet6, "dhcp") if prefix => Some(Mode6::AddressAndPrefix),
        (Family::Inet6, "dhcp") => Some(Mode6::Stateful),
        (Family::Inet6, "auto") if vars.is_true("dhcp") && prefix => Some(Mode6::PrefixDelegation),
        (Family::Inet6, "auto") if vars.is_true("dhcp") => Some(Mode6::Stateless),
        _ => None,
    }
}

/// `inet dhcp`'s own kernel work, before dhclient runs: the link up, with
/// `hwaddress` if given (the address is dhclient's business).
pub struct DhcpLink;

impl Provider for DhcpLink {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let vars = stanza.converted();
        let mut link = link_options(stanza, &vars)?;
        link.mtu = link_mtu(stanza, &vars)?;
        Ok(Desired {
            link,
            ..Desired::default()
        })
    }
}

/// The IPv6 settings both `inet6 dhcp` and `inet6 auto` make: Debian's
/// sysctls, and the kernel's RA-made addresses flushed when RA is off.
fn ipv6_settings(
    stanza: &StanzaConfig,
    vars: &Variables,
    options: &[(&str, &str)],
) -> Result<Desired, MethodError> {
    let mut link = link_options(stanza, vars)?;
    link.mtu = link_mtu(stanza, vars)?;
    let mut ipv6_conf = Vec::new();
    for (option, key) in options {
        if let Some(v) = vars.get(option) {
            if v.parse::<i32>().is_err() {
                return Err(MethodError::InvalidOption {
                    iface: stanza.iface.clone(),
                    option: (*option).to_string(),
                    value: v.to_string(),
                    reason: "is not a number".into(),
                });
            }
            ipv6_conf.push(((*key).to_string(), v.to_string()));
        }
    }
    Ok(Desired {
        link,
        ipv6_conf,
        flush_mngtmpaddr: vars.get("accept_ra").is_some() && !vars.is_true("accept_ra"),
        ..Desired::default()
    })
}

/// `inet6 dhcp`: `accept_ra` (default 1) and `autoconf` as set, the link up;
/// then dhclient -6 once the link-local address is there.
pub struct Dhcp6Link;

impl Provider for Dhcp6Link {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let vars = stanza.converted();
        ipv6_settings(
            stanza,
            &vars,
            &[("accept_ra", "accept_ra"), ("autoconf", "autoconf")],
        )
    }
}

/// `inet6 auto`: SLAAC (`autoconf` 1, `accept_ra` default 2, `privext` as
/// `use_tempaddr`), the link up; stateless DHCPv6 with `dhcp 1`.
pub struct Auto6;

impl Provider for Auto6 {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let mut vars = stanza.converted();
        vars.set("autoconf", "1");
        ipv6_settings(
            stanza,
            &vars,
            &[
                ("privext", "use_tempaddr"),
                ("accept_ra", "accept_ra"),
                ("autoconf", "autoconf"),
            ],
        )
    }
}
