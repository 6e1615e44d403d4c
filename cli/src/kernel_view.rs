//! One snapshot of what the kernel holds, for `ifquery --running` and
//! `--check`: every link, every address and the main table's routes, read
//! over rtnetlink (through `netconf_kernel::netlink`, the one module that
//! speaks it) in the calling process's network namespace. No daemon needed.
//!
//! Reading everything once and answering from memory keeps the answers of one
//! run consistent with each other, and costs four dumps whatever the number of
//! interfaces asked about.

use netconf_kernel::netlink::{
    get_ipv6_conf, Address, BridgeVlan, Family, Link, Netlink, NetlinkError, Route, Scope,
    MAIN_TABLE,
};
use std::net::IpAddr;

/// The kernel default for the metric of an IPv6 route added without one
/// (`IP6_RT_PRIO_USER`); IPv4's is 0.
pub const IPV6_DEFAULT_METRIC: u32 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot read the kernel's network configuration: {0}")]
    Netlink(#[from] NetlinkError),
}

/// Links, addresses and routes (the main table's and the VRFs') as they
/// were when read.
#[derive(Debug, Default)]
pub struct KernelView {
    links: Vec<Link>,
    addresses: Vec<Address>,
    routes: Vec<Route>,
    /// The VLANs of bridge ports, by ifindex.
    bridge_vlans: Vec<(u32, Vec<BridgeVlan>)>,
}

impl KernelView {
    /// Reads the kernel's state in this namespace.
    pub fn read() -> Result<KernelView, KernelError> {
        let mut nl = Netlink::open()?;
        let links = nl.links()?;
        let addresses = nl.addresses(None, None)?;
        let mut routes = nl.routes(Family::V4, Some(MAIN_TABLE), None)?;
        // A kernel built without IPv6 refuses the dump; it has no IPv6 routes
        // to report either, so that is no reason to fail the whole query.
        if let Ok(v6) = nl.routes(Family::V6, Some(MAIN_TABLE), None) {
            routes.extend(v6);
        }
        // A VRF member's routes are in its VRF's table.
        for table in links.iter().filter_map(|l| match &l.details {
            Some(netconf_kernel::netlink::LinkKind::Vrf(v)) => Some(v.table),
            _ => None,
        }) {
            for family in [Family::V4, Family::V6] {
                if let Ok(found) = nl.routes(family, Some(table), None) {
                    routes.extend(found);
                }
            }
        }
        // A kernel without bridges answers nothing here: no VLANs to show.
        let bridge_vlans = nl.bridge_vlans().unwrap_or_default();
        Ok(KernelView {
            links,
            addresses,
            routes,
            bridge_vlans,
        })
    }

    /// The VLANs of a bridge port (empty for other links).
    pub fn bridge_vlans(&self, link: &Link) -> &[BridgeVlan] {
        self.bridge_vlans
            .iter()
            .find(|(index, _)| *index == link.index)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// The link of this index, if there is one.
    pub fn link_by_index(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// Every link.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The link of this name, if there is one.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The addresses of a link in one family, in the kernel's order (primary
    /// addresses first).
    pub fn addresses(&self, link: &Link, family: Family) -> impl Iterator<Item = &Address> {
        let index = link.index;
        self.addresses
            .iter()
            .filter(move |a| a.index == index && Family::of(&a.addr) == family)
    }

    /// The global-scope addresses of a link in one family.
    pub fn global_addresses(&self, link: &Link, family: Family) -> impl Iterator<Item = &Address> {
        self.addresses(link, family)
            .filter(|a| a.scope == Scope::Universe)
    }

    /// Default routes of the main table out of this link with a gateway,
    /// lowest metric first (the one the kernel uses).
    pub fn default_routes(&self, link: &Link, family: Family) -> Vec<&Route> {
        let mut found: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| {
                r.family == family
                    && r.destination.is_none()
                    && r.oif == Some(link.index)
                    && r.gateway.is_some()
            })
            .collect();
        found.sort_by_key(|r| r.priority.unwrap_or(0));
        found
    }

    /// The default route out of this link through `gateway`, if any.
    pub fn default_route_via(&self, link: &Link, gateway: IpAddr) -> Option<&Route> {
        self.default_routes(link, Family::of(&gateway))
            .into_iter()
            .find(|r| r.gateway == Some(gateway))
    }

    /// `net.ipv6.conf.DEVICE.KEY`; `None` when the kernel has no such file
    /// (no IPv6 on the link, or none in the kernel).
    pub fn ipv6_conf(&self, device: &str, key: &str) -> Option<String> {
        get_ipv6_conf(device, key)
            .ok()
            .map(|v| v.trim().to_string())
    }
}

/// A link-layer address as `ip` prints it.
pub fn format_mac(mac: &[u8]) -> String {
    let bytes: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    bytes.join(":")
}

/// The metric a route reports, with the kernel's default when it has none.
pub fn metric_of(route: &Route) -> u32 {
    route.priority.unwrap_or(match route.family {
        Family::V4 => 0,
        Family::V6 => IPV6_DEFAULT_METRIC,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(format_mac(&[2, 0, 0x5e, 0, 0x53, 1]), "02:00:5e:00:53:01");
        assert_eq!(format_mac(&[]), "");
    }
}
