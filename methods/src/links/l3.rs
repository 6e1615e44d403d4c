//! macvtap, ipvlan and VRF stanzas (`link-type macvtap`, `link-type ipvlan`
//! with `ipvlan-mode`, ifupdown2's and ifupdown-ng's `vrf-table`), and a
//! member's `vrf NAME` / `vrf-member NAME`.

use super::{LinkError, MacvlanSpec, Options};
use netconf_interfaces::linkopts;
use netconf_kernel::netlink::{IpvlanAttrs, IpvlanMode, Link, LinkKind, MacvlanAttrs, MacvlanMode};

/// The tables ifupdown2 picks from for `vrf-table auto` (its policy's
/// default `vrf-table-id-start`/`-end`).
pub const VRF_AUTO_TABLES: std::ops::RangeInclusive<u32> = 1001..=5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvlanSpec {
    pub lower: String,
    pub attrs: IpvlanAttrs,
}

/// `vrf-table N` or `vrf-table auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrfTable {
    Fixed(u32),
    /// The first table of [`VRF_AUTO_TABLES`] no other VRF uses.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrfSpec {
    pub table: VrfTable,
}

impl VrfSpec {
    /// The table to create the VRF with, given the links there are.
    pub fn table_for(&self, links: &[Link]) -> Option<u32> {
        match self.table {
            VrfTable::Fixed(t) => Some(t),
            VrfTable::Auto => {
                let used: Vec<u32> = links
                    .iter()
                    .filter_map(|l| match &l.details {
                        Some(LinkKind::Vrf(v)) => Some(v.table),
                        _ => None,
                    })
                    .collect();
                VRF_AUTO_TABLES.into_iter().find(|t| !used.contains(t))
            }
        }
    }
}

impl Options<'_> {
    pub(super) fn macvtap(&self) -> Result<MacvlanSpec, LinkError> {
        let lower = self
            .one_name(linkopts::MACVLAN_RAW_DEVICE)?
            .ok_or_else(|| self.missing("macvtap", "macvlan-raw-device (or link)"))?;
        let mode = self
            .parse(
                &["macvtap-mode", "macvlan-mode"],
                "is not a macvtap mode (bridge, vepa, private, passthru, source)",
                MacvlanMode::parse,
            )?
            .unwrap_or(MacvlanMode::Bridge);
        Ok(MacvlanSpec {
            lower,
            attrs: MacvlanAttrs { mode: Some(mode) },
        })
    }

    pub(super) fn ipvlan(&self) -> Result<IpvlanSpec, LinkError> {
        let lower = self
            .one_name(linkopts::IPVLAN_RAW_DEVICE)?
            .ok_or_else(|| self.missing("link of type ipvlan", "ipvlan-raw-device (or link)"))?;
        let mode = self
            .parse(
                &["ipvlan-mode"],
                "is not an ipvlan mode (l2, l3, l3s)",
                IpvlanMode::parse,
            )?
            .unwrap_or_default();
        Ok(IpvlanSpec {
            lower,
            attrs: IpvlanAttrs { mode },
        })
    }

    pub(super) fn vrf(&self) -> Result<VrfSpec, LinkError> {
        let table = self.parse(
            linkopts::VRF_TABLE,
            "is not a routing table (1 to 4294967295, not 253 to 255) or auto",
            |v| match v {
                "auto" => Some(VrfTable::Auto),
                // default, main and local are the host's own tables.
                n => n
                    .parse::<u32>()
                    .ok()
                    .filter(|t| *t != 0 && !(253..=255).contains(t))
                    .map(VrfTable::Fixed),
            },
        )?;
        let table = table.ok_or_else(|| self.missing("vrf", "vrf-table (a number, or auto)"))?;
        Ok(VrfSpec { table })
    }

    /// `vrf NAME` / `vrf-member NAME` on a member's stanza.
    pub(super) fn vrf_member(&self) -> Result<Option<String>, LinkError> {
        self.one_name(linkopts::VRF_MEMBER)
    }
}
