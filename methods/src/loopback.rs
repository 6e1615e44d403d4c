//! `inet loopback` / `inet6 loopback`: the link up; the kernel gives `lo` its
//! addresses itself. `ifdown` takes the link down again, as Debian's does
//! (its `link` method runs `ip link set down dev lo`), which also drops the
//! kernel's `::1`; `networking.service` keeps `lo` up with `--exclude=lo`.

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
}
