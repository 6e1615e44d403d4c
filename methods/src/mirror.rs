//! TEMPORARY stub, replaced by the real mirror.
use crate::netlink::{Address, Event, Family, Link, Netlink, NetlinkError, Route};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resync {
    Nothing,
    Routes,
    Everything,
}

#[derive(Debug, Default)]
pub struct Mirror {
    links: BTreeMap<u32, Link>,
    addresses: BTreeMap<u32, Vec<Address>>,
    routes: Vec<Route>,
}

impl Mirror {
    pub fn dump(nl: &mut Netlink) -> Result<Mirror, NetlinkError> {
        let mut m = Mirror::default();
        m.resync(nl, Resync::Everything)?;
        Ok(m)
    }
    pub fn apply(&mut self, _event: &Event) -> Resync {
        Resync::Everything
    }
    pub fn resync(&mut self, nl: &mut Netlink, _what: Resync) -> Result<(), NetlinkError> {
        self.links = nl.links()?.into_iter().map(|l| (l.index, l)).collect();
        self.addresses.clear();
        for a in nl.addresses(None, None)? {
            self.addresses.entry(a.index).or_default().push(a);
        }
        self.routes = nl.routes(Family::V4, None, None)?;
        self.routes.extend(nl.routes(Family::V6, None, None)?);
        Ok(())
    }
    pub fn links(&self) -> impl Iterator<Item = &Link> {
        self.links.values()
    }
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.get(&index)
    }
    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        self.links.values().find(|l| l.name == name)
    }
    pub fn addresses_of(&self, index: u32) -> impl Iterator<Item = &Address> {
        self.addresses.get(&index).into_iter().flatten()
    }
    pub fn routes_of(&self, index: u32) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.oif == Some(index))
    }
}
