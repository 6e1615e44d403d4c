//! `inet ipv4ll`: avahi-autoipd claims an address of 169.254.0.0/16 and
//! puts it on the link itself (its action script, with a default route of
//! scope link); netconf runs Debian's commands, sets the link up first
//! (avahi-autoipd only works on a link that is up; Debian's method leaves
//! that to whoever set it up) and follows the address (see
//! [`crate::program`]).

use crate::program::{Leaves, Program};
use crate::provider::{Desired, LinkWanted, MethodError, Provider, StanzaConfig};

pub struct Ipv4ll;

impl Provider for Ipv4ll {
    fn desired(&self, _stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        Ok(Desired {
            link: LinkWanted {
                up: true,
                ..LinkWanted::default()
            },
            ..Desired::default()
        })
    }

    /// Debian's `down` only stops avahi-autoipd: the link stays up.
    fn link_down_on_ifdown(&self, _stanza: &StanzaConfig, _all: bool) -> bool {
        false
    }

    fn program(&self, stanza: &StanzaConfig) -> Result<Option<Program>, MethodError> {
        Ok(Some(Program {
            start: format!("avahi-autoipd -D {}", stanza.iface),
            stop: Some(format!("avahi-autoipd --kill {}", stanza.iface)),
            leaves: Leaves::LinkLocalAddress,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{Family, Variables};

    #[test]
    fn avahi_autoipd_as_debian_runs_it() {
        let cfg = StanzaConfig {
            iface: "eth0".into(),
            logical: "eth0".into(),
            family: Family::Inet,
            method: "ipv4ll".into(),
            vars: Variables::default(),
        };
        let p = Ipv4ll.program(&cfg).unwrap().unwrap();
        assert_eq!(p.start, "avahi-autoipd -D eth0");
        assert_eq!(p.stop.as_deref(), Some("avahi-autoipd --kill eth0"));
        assert_eq!(p.leaves, Leaves::LinkLocalAddress);
        assert!(Ipv4ll.desired(&cfg).unwrap().link.up);
    }
}
