//! A VRF member (`vrf NAME` on its stanza, ifupdown2; `vrf-member NAME`,
//! ifupdown-ng): the device joins the VRF before its addresses go on, so
//! that the kernel puts their connected and local routes into the VRF's
//! table, and the stanza's own routes (`gateway`) go there too. `ifdown`
//! takes it out again (`ip link set DEV nomaster`, as ifupdown2 does).

use super::{Applied, ApplyError, KernelState};
use crate::links::LinkError;
use netconf_kernel::netlink::{LinkChange, LinkKind};

/// Makes `device` a member of `vrf` unless it is one, records that in
/// `applied`, and returns the VRF's routing table.
pub fn join_vrf(
    kernel: &mut impl KernelState,
    device: &str,
    vrf: &str,
    applied: &mut Applied,
    dry_run: bool,
) -> Result<(Vec<String>, u32), ApplyError> {
    let no_vrf = |reason: String| {
        ApplyError::Link(LinkError::Unsupported {
            iface: device.to_string(),
            option: "vrf".to_string(),
            reason,
        })
    };
    let Some(master) = kernel.link_by_name(vrf)? else {
        if dry_run {
            // `ifup --no-act` of a member whose VRF is not made yet.
            return Ok((
                vec![format!("add {device} to VRF {vrf}")],
                super::MAIN_TABLE,
            ));
        }
        return Err(ApplyError::Link(LinkError::NoDevice {
            iface: device.to_string(),
            option: "vrf".to_string(),
            device: vrf.to_string(),
        }));
    };
    let table = match &master.details {
        Some(LinkKind::Vrf(v)) => v.table,
        _ => return Err(no_vrf(format!("{vrf} is not a VRF"))),
    };
    let link = kernel
        .link_by_name(device)?
        .ok_or_else(|| ApplyError::NoSuchInterface(device.to_string()))?;
    let mut changes = Vec::new();
    if link.master != Some(master.index) {
        changes.push(format!("add {device} to VRF {vrf} (table {table})"));
        if !dry_run {
            kernel.netlink().set_link(
                link.index,
                &LinkChange {
                    master: Some(master.index),
                    ..LinkChange::default()
                },
            )?;
        }
    }
    if !dry_run {
        applied.vrf = Some(vrf.to_string());
    }
    Ok((changes, table))
}

/// Takes the device of `applied` out of the VRF it joined, if it is still
/// in it.
pub(super) fn leave_vrf(
    kernel: &mut impl KernelState,
    applied: &Applied,
    index: u32,
    master: Option<u32>,
    dry_run: bool,
) -> Result<Vec<String>, ApplyError> {
    let Some(vrf) = &applied.vrf else {
        return Ok(Vec::new());
    };
    let Some(v) = kernel.link_by_name(vrf)? else {
        return Ok(Vec::new());
    };
    if master != Some(v.index) {
        return Ok(Vec::new());
    }
    if !dry_run {
        kernel.netlink().set_link(
            index,
            &LinkChange {
                master: Some(0),
                ..LinkChange::default()
            },
        )?;
    }
    Ok(vec![format!("take {} out of VRF {vrf}", applied.device)])
}
