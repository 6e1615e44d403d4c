//! One interface document as data: what netcf's `interface.rng` (serial 4)
//! can say about a connection, nothing more. [`crate::xml`] reads and writes
//! it, [`crate::stanzas`] turns it into interfaces(5) stanzas and back.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An `<interface>`: the connection at the top of a document, or a link
/// nested in a bridge or bond (a "bare" interface: no start mode, MTU or
/// addressing of its own, as the schema has it).
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub name: String,
    pub kind: Kind,
    /// `<start mode=...>`; `None` when the element is absent.
    pub start: Option<StartMode>,
    pub mtu: Option<u32>,
    /// `<mac address=...>` as written (ethernet only).
    pub mac: Option<String>,
    /// `<link speed state>`: reported by `dumpxml --live`, ignored by define.
    pub link: Option<Link>,
    pub ipv4: Option<Ipv4>,
    pub ipv6: Option<Ipv6>,
}

impl Interface {
    /// A bare interface of `kind` named `name`, with nothing else set.
    pub fn bare(name: &str, kind: Kind) -> Interface {
        Interface {
            name: name.to_string(),
            kind,
            start: None,
            mtu: None,
            mac: None,
            link: None,
            ipv4: None,
            ipv6: None,
        }
    }

    /// The interfaces nested in this one (bridge ports, bond slaves).
    pub fn nested(&self) -> &[Interface] {
        match &self.kind {
            Kind::Bridge(b) => &b.ports,
            Kind::Bond(b) => &b.slaves,
            Kind::Ethernet | Kind::Vlan(_) => &[],
        }
    }

    /// This interface's name and those of every interface nested in it, at
    /// any depth, in document order: the stanzas a document owns.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        for inner in self.nested() {
            names.extend(inner.names());
        }
        names
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Ethernet,
    Bridge(Bridge),
    Bond(Bond),
    Vlan(Vlan),
}

impl Kind {
    /// The `type` attribute.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Ethernet => "ethernet",
            Kind::Bridge(_) => "bridge",
            Kind::Bond(_) => "bond",
            Kind::Vlan(_) => "vlan",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    Onboot,
    None,
    Hotplug,
}

impl StartMode {
    pub const NAMES: &'static [&'static str] = &["onboot", "none", "hotplug"];

    pub fn name(self) -> &'static str {
        match self {
            StartMode::Onboot => "onboot",
            StartMode::None => "none",
            StartMode::Hotplug => "hotplug",
        }
    }

    pub fn from_name(name: &str) -> Option<StartMode> {
        match name {
            "onboot" => Some(StartMode::Onboot),
            "none" => Some(StartMode::None),
            "hotplug" => Some(StartMode::Hotplug),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Mb/s.
    pub speed: Option<u32>,
    /// One of [`Link::STATES`].
    pub state: Option<String>,
}

impl Link {
    pub const STATES: &'static [&'static str] = &[
        "unknown",
        "notpresent",
        "down",
        "lowerlayerdown",
        "testing",
        "dormant",
        "up",
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bridge {
    pub stp: Option<bool>,
    /// Forward delay in seconds, as written (a non-negative decimal).
    pub delay: Option<String>,
    pub ports: Vec<Interface>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bond {
    /// One of [`Bond::MODES`].
    pub mode: Option<String>,
    pub monitor: Option<Monitor>,
    /// For `active-backup`, the first is the primary.
    pub slaves: Vec<Interface>,
}

impl Bond {
    /// In the kernel's numbering (mode 0 is `balance-rr`).
    pub const MODES: &'static [&'static str] = &[
        "balance-rr",
        "active-backup",
        "balance-xor",
        "broadcast",
        "802.3ad",
        "balance-tlb",
        "balance-alb",
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub enum Monitor {
    Mii {
        /// Milliseconds between checks.
        freq: u32,
        downdelay: Option<u32>,
        updelay: Option<u32>,
        carrier: Option<Carrier>,
    },
    Arp {
        interval: u32,
        target: Ipv4Addr,
        /// One of [`Monitor::ARP_VALIDATE`].
        validate: Option<String>,
    },
}

impl Monitor {
    pub const ARP_VALIDATE: &'static [&'static str] = &["none", "active", "backup", "all"];
}

/// How a bond's MII monitor sees the carrier (the kernel's `use_carrier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// MII or ethtool ioctls: `use_carrier 0`.
    Ioctl,
    /// The driver's `netif_carrier_ok()`: `use_carrier 1`.
    Netif,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vlan {
    pub tag: u16,
    /// The device the vlan stands on.
    pub parent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipv4 {
    pub dhcp: Option<Dhcp>,
    pub addresses: Vec<Address<Ipv4Addr>>,
    pub gateway: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipv6 {
    pub autoconf: bool,
    pub dhcp: Option<Dhcp>,
    pub addresses: Vec<Address<Ipv6Addr>>,
    pub gateway: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dhcp {
    /// `peerdns="yes|no"`; `None` when not written.
    pub peerdns: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<A> {
    pub address: A,
    pub prefix: Option<u8>,
}
