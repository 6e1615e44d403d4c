//! `manual`: no addresses, but the link up with its `mtu` and `hwaddress`, as
//! Debian's `inet manual` / `inet6 manual` do.

use crate::provider::{
    is_link, link_options, parse_option, Desired, MethodError, Provider, StanzaConfig,
};
use netconf_interfaces::Family;

pub struct Manual;

impl Provider for Manual {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        let vars = stanza.converted();
        let mut link = link_options(stanza, &vars)?;
        let mut desired = Desired::default();
        if stanza.family == Family::Inet6 {
            // inet6 manual only raises the link MTU; otherwise it is IPv6's own.
            desired.ipv6_mtu = link.mtu.take();
            if let Some(v) = vars.get("mtu") {
                parse_option(stanza, "mtu", v, "is not an MTU", |v| v.parse::<u32>().ok())?;
            }
        }
        desired.link = link;
        Ok(desired)
    }

    /// Debian's `inet manual` keeps the link up on `ifdown -a`; `inet6
    /// manual` takes it down unless it is an alias or VLAN under `-a`.
    fn link_down_on_ifdown(&self, stanza: &StanzaConfig, all: bool) -> bool {
        match stanza.family {
            Family::Inet6 => is_link(&stanza.iface) || !all,
            _ => is_link(&stanza.iface) && !all,
        }
    }
}

/// `meta none`: a family for hook calls only; nothing to configure.
pub struct Nothing;

impl Provider for Nothing {
    fn desired(&self, _stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        Ok(Desired::default())
    }

    fn link_down_on_ifdown(&self, _stanza: &StanzaConfig, _all: bool) -> bool {
        false
    }
}
