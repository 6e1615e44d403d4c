//! The kinds whose attributes are about layer 3 or the link layer below
//! the host rather than a switch: ipvlan, vrf, and CAN bit timing (a CAN
//! device is made by its driver; netconf only sets its attributes).

use serde::{Deserialize, Serialize};

/// `IFLA_IPVLAN_MODE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// The kernel's default.
    #[default]
    L2,
    L3,
    L3s,
}

impl IpvlanMode {
    /// `l2`, `l3` or `l3s`, as `ip` and ifupdown-ng spell them.
    pub fn parse(text: &str) -> Option<IpvlanMode> {
        match text.to_ascii_lowercase().as_str() {
            "l2" => Some(IpvlanMode::L2),
            "l3" => Some(IpvlanMode::L3),
            "l3s" => Some(IpvlanMode::L3s),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IpvlanMode::L2 => "l2",
            IpvlanMode::L3 => "l3",
            IpvlanMode::L3s => "l3s",
        }
    }

    /// `IPVLAN_MODE_*`.
    pub fn number(self) -> u16 {
        match self {
            IpvlanMode::L2 => 0,
            IpvlanMode::L3 => 1,
            IpvlanMode::L3s => 2,
        }
    }

    pub fn from_number(n: u16) -> Option<IpvlanMode> {
        [IpvlanMode::L2, IpvlanMode::L3, IpvlanMode::L3s]
            .into_iter()
            .find(|m| m.number() == n)
    }
}

/// An ipvlan; its lower device is the link's parent (`IFLA_LINK`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvlanAttrs {
    pub mode: IpvlanMode,
}

/// A VRF device (`IFLA_VRF_TABLE`): the routing table of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrfAttrs {
    pub table: u32,
}

/// `CAN_CTRLMODE_*` bits that Debian's `can static` method sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CanCtrl {
    Loopback,
    ListenOnly,
    TripleSampling,
    OneShot,
    BerrReporting,
}

impl CanCtrl {
    pub const ALL: [CanCtrl; 5] = [
        CanCtrl::Loopback,
        CanCtrl::ListenOnly,
        CanCtrl::TripleSampling,
        CanCtrl::OneShot,
        CanCtrl::BerrReporting,
    ];

    pub fn bit(self) -> u32 {
        match self {
            CanCtrl::Loopback => 0x1,
            CanCtrl::ListenOnly => 0x2,
            CanCtrl::TripleSampling => 0x4,
            CanCtrl::OneShot => 0x8,
            CanCtrl::BerrReporting => 0x10,
        }
    }

    /// As `ip link set type can` names it.
    pub fn name(self) -> &'static str {
        match self {
            CanCtrl::Loopback => "loopback",
            CanCtrl::ListenOnly => "listen-only",
            CanCtrl::TripleSampling => "triple-sampling",
            CanCtrl::OneShot => "one-shot",
            CanCtrl::BerrReporting => "berr-reporting",
        }
    }
}

/// The settings of a CAN device (`IFLA_CAN_*`). `None` leaves the
/// device's value; the kernel takes them only while the link is down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanAttrs {
    /// Bits per second (`IFLA_CAN_BITTIMING`'s `bitrate`).
    pub bitrate: Option<u32>,
    /// Sample point in tenths of a percent (0.875 is 875), sent with the
    /// bitrate.
    pub sample_point: Option<u32>,
    /// Control modes turned on (`true`) or off (`false`); the others are
    /// left alone (`IFLA_CAN_CTRLMODE`'s mask).
    pub ctrl: Vec<(CanCtrl, bool)>,
    /// Milliseconds before an automatic restart after bus-off (0: none).
    pub restart_ms: Option<u32>,
}

impl CanAttrs {
    /// What of `self` differs from `current` (the kernel's), or `None`.
    pub fn changes_from(&self, current: &CanAttrs) -> Option<CanAttrs> {
        let mut change = CanAttrs::default();
        // The kernel recomputes the sample point from the bitrate when none
        // is given: a change of either sends both.
        let sp_differs = self.sample_point.is_some() && self.sample_point != current.sample_point;
        if self.bitrate.is_some() && (self.bitrate != current.bitrate || sp_differs) {
            change.bitrate = self.bitrate;
            change.sample_point = self.sample_point;
        }
        for &(mode, on) in &self.ctrl {
            let have = current.ctrl.iter().any(|&(m, o)| m == mode && o);
            if have != on {
                change.ctrl.push((mode, on));
            }
        }
        if self.restart_ms.is_some() && self.restart_ms != current.restart_ms {
            change.restart_ms = self.restart_ms;
        }
        (change != CanAttrs::default()).then_some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_changes() {
        let want = CanAttrs {
            bitrate: Some(125_000),
            sample_point: None,
            ctrl: vec![(CanCtrl::ListenOnly, true), (CanCtrl::Loopback, false)],
            restart_ms: None,
        };
        let have = CanAttrs {
            bitrate: Some(125_000),
            sample_point: Some(875),
            ctrl: vec![(CanCtrl::ListenOnly, true)],
            restart_ms: Some(0),
        };
        assert_eq!(want.changes_from(&have), None);
        let have = CanAttrs {
            bitrate: Some(500_000),
            ..have
        };
        assert_eq!(
            want.changes_from(&have),
            Some(CanAttrs {
                bitrate: Some(125_000),
                ..CanAttrs::default()
            })
        );
        assert_eq!(IpvlanMode::parse("L3S"), Some(IpvlanMode::L3s));
        assert_eq!(IpvlanMode::from_number(1), Some(IpvlanMode::L3));
    }
}
