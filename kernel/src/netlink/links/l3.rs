//! The wire form of macvtap, ipvlan, vrf and CAN attributes, both ways
//! (kept apart from the older kinds in `links.rs`).

use netlink_packet_route::link::{
    CanBitTiming, CanCtrlMode, CanCtrlModeFlags, InfoCan, InfoData, InfoIpVlan, InfoKind,
    InfoMacVtap, InfoVrf, IpVlanMode as WireIpvlanMode, MacVlanMode as WireMacvlanMode,
};

use super::super::kinds::{
    CanAttrs, CanCtrl, IpvlanAttrs, IpvlanMode, LinkKind, MacvlanAttrs, MacvlanMode, VrfAttrs,
};

/// `IFLA_INFO_KIND` and `IFLA_INFO_DATA` of the kinds this file holds;
/// `None` for the others.
pub(super) fn link_info(kind: &LinkKind) -> Option<Result<(InfoKind, InfoData), String>> {
    Some(Ok(match kind {
        LinkKind::Macvtap(a) => (
            InfoKind::MacVtap,
            InfoData::MacVtap(
                a.mode
                    .map(|m| InfoMacVtap::Mode(WireMacvlanMode::from(m.bits())))
                    .into_iter()
                    .collect(),
            ),
        ),
        LinkKind::Ipvlan(a) => (
            InfoKind::IpVlan,
            InfoData::IpVlan(vec![InfoIpVlan::Mode(WireIpvlanMode::from(
                a.mode.number(),
            ))]),
        ),
        LinkKind::Vrf(a) => {
            if a.table == 0 {
                return Some(Err("a vrf needs a table other than 0".to_string()));
            }
            (
                InfoKind::Vrf,
                InfoData::Vrf(vec![InfoVrf::TableId(a.table)]),
            )
        }
        LinkKind::Can(a) => (InfoKind::Can, InfoData::Can(can(a))),
        _ => return None,
    }))
}

fn can(a: &CanAttrs) -> Vec<InfoCan> {
    let mut out = Vec::new();
    if let Some(bitrate) = a.bitrate {
        // Everything else 0: the kernel computes the timing from the
        // bitrate (and sample point) with the device's constants.
        let mut bt = CanBitTiming::new(bitrate);
        bt.sample_point = a.sample_point.unwrap_or(0);
        out.push(InfoCan::BitTiming(bt));
    }
    if !a.ctrl.is_empty() {
        let mut mask = 0u32;
        let mut flags = 0u32;
        for &(mode, on) in &a.ctrl {
            mask |= mode.bit();
            if on {
                flags |= mode.bit();
            }
        }
        out.push(InfoCan::CtrlMode(CanCtrlMode {
            mask: CanCtrlModeFlags::from_bits_retain(mask),
            flags: CanCtrlModeFlags::from_bits_retain(flags),
        }));
    }
    if let Some(ms) = a.restart_ms {
        out.push(InfoCan::RestartMs(ms));
    }
    out
}

/// The kinds of this file from a dump, `None` for others.
pub(super) fn decode(kind: &str, data: Option<&InfoData>) -> Option<LinkKind> {
    match (kind, data) {
        ("macvtap", Some(InfoData::MacVtap(attrs))) => {
            let mode = attrs.iter().find_map(|a| match a {
                InfoMacVtap::Mode(mode) => MacvlanMode::from_bits(u32::from(*mode)),
                _ => None,
            });
            Some(LinkKind::Macvtap(MacvlanAttrs { mode }))
        }
        ("ipvlan", Some(InfoData::IpVlan(attrs))) => {
            let mode = attrs
                .iter()
                .find_map(|a| match a {
                    InfoIpVlan::Mode(mode) => IpvlanMode::from_number(u16::from(*mode)),
                    _ => None,
                })
                .unwrap_or_default();
            Some(LinkKind::Ipvlan(IpvlanAttrs { mode }))
        }
        ("vrf", Some(InfoData::Vrf(attrs))) => attrs.iter().find_map(|a| match a {
            InfoVrf::TableId(table) => Some(LinkKind::Vrf(VrfAttrs { table: *table })),
            _ => None,
        }),
        ("can", Some(InfoData::Can(attrs))) => {
            let mut out = CanAttrs::default();
            for attr in attrs {
                match attr {
                    InfoCan::BitTiming(bt) => {
                        out.bitrate = (bt.bitrate != 0).then_some(bt.bitrate);
                        out.sample_point = (bt.sample_point != 0).then_some(bt.sample_point);
                    }
                    InfoCan::CtrlMode(cm) => {
                        out.ctrl = CanCtrl::ALL
                            .into_iter()
                            .map(|m| (m, cm.flags.bits() & m.bit() != 0))
                            .collect();
                    }
                    InfoCan::RestartMs(ms) => out.restart_ms = Some(*ms),
                    _ => {}
                }
            }
            Some(LinkKind::Can(out))
        }
        // A CAN device that is not configured reports no data.
        ("can", None) => Some(LinkKind::Can(CanAttrs::default())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{change_link_kind, new_link};
    use super::*;
    use crate::netlink::kinds::NewLink;

    #[test]
    fn round_trips() {
        for kind in [
            LinkKind::Macvtap(MacvlanAttrs {
                mode: Some(MacvlanMode::Bridge),
            }),
            LinkKind::Ipvlan(IpvlanAttrs {
                mode: IpvlanMode::L3s,
            }),
            LinkKind::Vrf(VrfAttrs { table: 1001 }),
        ] {
            let (info_kind, data) = link_info(&kind).unwrap().unwrap();
            assert_eq!(decode(&info_kind.to_string(), Some(&data)), Some(kind));
        }
        let can = LinkKind::Can(CanAttrs {
            bitrate: Some(125_000),
            sample_point: Some(875),
            ctrl: CanCtrl::ALL
                .into_iter()
                .map(|m| (m, m == CanCtrl::ListenOnly))
                .collect(),
            restart_ms: Some(100),
        });
        let (_, data) = link_info(&can).unwrap().unwrap();
        assert_eq!(decode("can", Some(&data)), Some(can.clone()));
        // Set on the device the driver made, never created.
        assert!(change_link_kind(4, &can).is_ok());
        assert!(new_link(&NewLink::new("can0", can)).is_err());
        // Lower devices: a macvtap and an ipvlan need one, a vrf has none.
        let mut mvt = NewLink::new("mvt0", LinkKind::Macvtap(MacvlanAttrs::default()));
        assert!(new_link(&mvt).is_err());
        mvt.parent = Some(2);
        assert!(new_link(&mvt).is_ok());
        let mut vrf = NewLink::new("red", LinkKind::Vrf(VrfAttrs { table: 10 }));
        assert!(new_link(&vrf).is_ok());
        vrf.parent = Some(2);
        assert!(new_link(&vrf).is_err());
        assert!(new_link(&NewLink::new("red", LinkKind::Vrf(VrfAttrs { table: 0 }))).is_err());
    }
}
