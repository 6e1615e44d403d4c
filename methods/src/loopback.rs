//! `inet loopback` / `inet6 loopback`: the link up; the kernel gives `lo` its
//! addresses itself.

use crate::provider::{Desired, LinkWanted, MethodError, Provider, StanzaConfig};

pub struct Loopback;

impl Provider for Loopback {
    fn desired(&self, _stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        Ok(Desired {
            link: LinkWanted {
                up: true,
                ..LinkWanted::default()
            },
            ..Desired::default()
        })
    }

    /// Debian leaves `lo` up on ifdown.
    fn link_down_on_ifdown(&self, stanza: &StanzaConfig, _all: bool) -> bool {
        stanza.iface != "lo"
    }
}
