//! The kinds of virtual link netconf creates (bridge, bond, vlan, macvlan,
//! veth, vxlan, dummy, wireguard) and their attributes, in netconf's own types: what
//! [`super::Netlink::add_link`] sends and what a dump reads back into
//! [`super::Link::details`].
//!
//! Every attribute a stanza may leave unset is an `Option`: `None` means "the
//! kernel's default" when creating and "leave it" when changing. Times are
//! [`Duration`]s here; the wire code converts them to the kernel's `clock_t`
//! (hundredths of a second on every Linux Debian builds for).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod l3;
pub use l3::{CanAttrs, CanCtrl, IpvlanAttrs, IpvlanMode, VrfAttrs};

/// A link kind with its attributes (`IFLA_INFO_KIND` + `IFLA_INFO_DATA`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LinkKind {
    Bridge(BridgeAttrs),
    Bond(BondAttrs),
    Vlan(VlanAttrs),
    Macvlan(MacvlanAttrs),
    Veth(VethAttrs),
    Vxlan(VxlanAttrs),
    /// No attributes; this kernel lacks the module, others have it.
    Dummy,
    /// A macvlan with a tap device (`/dev/tapN`) of its own.
    Macvtap(MacvlanAttrs),
    Ipvlan(IpvlanAttrs),
    Vrf(VrfAttrs),
    /// A CAN device's settings; made by its driver, never created here.
    Can(CanAttrs),
    /// gre, ipip, sit, ip6tnl, ip6gre, gretap, ip6gretap (`tunnels.rs`).
    Tunnel(super::tunnels::TunnelAttrs),
    /// A WireGuard interface: nothing in `IFLA_INFO_DATA`; its keys and
    /// peers are generic netlink's, set by `wg setconf`.
    Wireguard,
}

impl LinkKind {
    /// The kernel's name of the kind (`IFLA_INFO_KIND`), as in [`super::Link::kind`].
    pub fn name(&self) -> &'static str {
        match self {
            LinkKind::Bridge(_) => "bridge",
            LinkKind::Bond(_) => "bond",
            LinkKind::Vlan(_) => "vlan",
            LinkKind::Macvlan(_) => "macvlan",
            LinkKind::Veth(_) => "veth",
            LinkKind::Vxlan(_) => "vxlan",
            LinkKind::Dummy => "dummy",
            LinkKind::Macvtap(_) => "macvtap",
            LinkKind::Ipvlan(_) => "ipvlan",
            LinkKind::Vrf(_) => "vrf",
            LinkKind::Can(_) => "can",
            LinkKind::Tunnel(attrs) => attrs.mode.kind(),
            LinkKind::Wireguard => "wireguard",
        }
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `IFLA_BR_*`: the bridge options bridge-utils and ifupdown2 set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeAttrs {
    /// Kernel spanning tree on (`IFLA_BR_STP_STATE` 1) or off (0).
    pub stp: Option<bool>,
    /// With STP on the kernel takes 2 to 30 s only.
    pub forward_delay: Option<Duration>,
    /// 1 to 10 s.
    pub hello_time: Option<Duration>,
    /// 6 to 40 s.
    pub max_age: Option<Duration>,
    /// How long a learned MAC address is kept.
    pub ageing_time: Option<Duration>,
    /// Bridge priority (the high part of the bridge id); lowest is root.
    pub priority: Option<u16>,
    /// VLAN-aware bridge (`bridge-vlan-aware`).
    pub vlan_filtering: Option<bool>,
}

impl BridgeAttrs {
    /// What of `self` differs from `current` (the kernel's): only those
    /// fields, or `None` when nothing does. Fields `self` leaves unset are
    /// never a difference.
    pub fn changes_from(&self, current: &BridgeAttrs) -> Option<BridgeAttrs> {
        fn pick<T: PartialEq + Clone>(want: &Option<T>, have: &Option<T>) -> Option<T> {
            want.as_ref().filter(|w| have.as_ref() != Some(*w)).cloned()
        }
        // The kernel keeps times in jiffies and reports them back in
        // clock_t, which can be one tick (10 ms) off what was set: closer
        // than that is no difference, or a diff would never settle.
        fn time(want: &Option<Duration>, have: &Option<Duration>) -> Option<Duration> {
            let tick = Duration::from_millis(10);
            want.filter(|w| have.is_none_or(|h| w.abs_diff(h) > tick))
        }
        let change = BridgeAttrs {
            stp: pick(&self.stp, &current.stp),
            forward_delay: time(&self.forward_delay, &current.forward_delay),
            hello_time: time(&self.hello_time, &current.hello_time),
            max_age: time(&self.max_age, &current.max_age),
            ageing_time: time(&self.ageing_time, &current.ageing_time),
            priority: pick(&self.priority, &current.priority),
            vlan_filtering: pick(&self.vlan_filtering, &current.vlan_filtering),
        };
        (change != BridgeAttrs::default()).then_some(change)
    }
}

/// The bonding modes (`IFLA_BOND_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BondMode {
    #[serde(rename = "balance-rr")]
    BalanceRr = 0,
    #[serde(rename = "active-backup")]
    ActiveBackup = 1,
    #[serde(rename = "balance-xor")]
    BalanceXor = 2,
    #[serde(rename = "broadcast")]
    Broadcast = 3,
    #[serde(rename = "802.3ad")]
    Ieee8023ad = 4,
    #[serde(rename = "balance-tlb")]
    BalanceTlb = 5,
    #[serde(rename = "balance-alb")]
    BalanceAlb = 6,
}

impl BondMode {
    pub const ALL: [BondMode; 7] = [
        BondMode::BalanceRr,
        BondMode::ActiveBackup,
        BondMode::BalanceXor,
        BondMode::Broadcast,
        BondMode::Ieee8023ad,
        BondMode::BalanceTlb,
        BondMode::BalanceAlb,
    ];

    /// The kernel's number for the mode (what sysfs also accepts).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The kernel's name (`/sys/class/net/BOND/bonding/mode`).
    pub fn name(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Ieee8023ad => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }

    /// A name or number as the bonding driver's sysfs file takes it (and
    /// so as ifenslave passes `bond-mode` on).
    pub fn parse(text: &str) -> Option<BondMode> {
        BondMode::ALL
            .into_iter()
            .find(|m| m.name() == text || text.parse::<u8>().ok() == Some(m.number()))
    }
}

/// `IFLA_BOND_AD_LACP_RATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LacpRate {
    Slow,
    Fast,
}

impl LacpRate {
    /// `slow`/`fast` or `0`/`1`, as sysfs takes it.
    pub fn parse(text: &str) -> Option<LacpRate> {
        match text {
            "slow" | "0" => Some(LacpRate::Slow),
            "fast" | "1" => Some(LacpRate::Fast),
            _ => None,
        }
    }
}

/// `IFLA_BOND_XMIT_HASH_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum XmitHashPolicy {
    #[serde(rename = "layer2")]
    Layer2 = 0,
    #[serde(rename = "layer3+4")]
    Layer34 = 1,
    #[serde(rename = "layer2+3")]
    Layer23 = 2,
    #[serde(rename = "encap2+3")]
    Encap23 = 3,
    #[serde(rename = "encap3+4")]
    Encap34 = 4,
    #[serde(rename = "vlan+srcmac")]
    VlanSrcMac = 5,
}

impl XmitHashPolicy {
    pub const ALL: [XmitHashPolicy; 6] = [
        XmitHashPolicy::Layer2,
        XmitHashPolicy::Layer34,
        XmitHashPolicy::Layer23,
        XmitHashPolicy::Encap23,
        XmitHashPolicy::Encap34,
        XmitHashPolicy::VlanSrcMac,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            XmitHashPolicy::Layer2 => "layer2",
            XmitHashPolicy::Layer34 => "layer3+4",
            XmitHashPolicy::Layer23 => "layer2+3",
            XmitHashPolicy::Encap23 => "encap2+3",
            XmitHashPolicy::Encap34 => "encap3+4",
            XmitHashPolicy::VlanSrcMac => "vlan+srcmac",
        }
    }

    /// A name or number, as sysfs takes it.
    pub fn parse(text: &str) -> Option<XmitHashPolicy> {
        XmitHashPolicy::ALL
            .into_iter()
            .find(|p| p.name() == text || text.parse::<u8>().ok() == Some(p.number()))
    }
}

/// An option of the bonding driver that takes one of a few names, or
/// their numbers (as its sysfs files, and so ifenslave, take them).
macro_rules! bond_choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $number:literal $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The kernel's number.
            pub fn number(self) -> u32 {
                match self { $($name::$variant => $number,)+ }
            }

            /// The kernel's name (what sysfs shows).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// A name or number, as sysfs takes it.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| {
                    v.name() == text || text.parse::<u32>().ok() == Some(v.number())
                })
            }

            pub fn from_number(n: u32) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.number() == n)
            }

            /// The names, for error messages.
            pub fn names() -> String {
                let names: Vec<&str> = $name::ALL.iter().map(|v| v.name()).collect();
                names.join(", ")
            }
        }
    };
}

bond_choice! {
    /// `IFLA_BOND_ARP_VALIDATE`: which ARP replies and probes count.
    ArpValidate {
        None = 0 "none",
        Active = 1 "active",
        Backup = 2 "backup",
        All = 3 "all",
        Filter = 4 "filter",
        FilterActive = 5 "filter_active",
        FilterBackup = 6 "filter_backup",
    }
}

bond_choice! {
    /// `IFLA_BOND_ARP_ALL_TARGETS`: a slave is up when any, or all, of the
    /// ARP targets answer.
    ArpAllTargets {
        Any = 0 "any",
        All = 1 "all",
    }
}

bond_choice! {
    /// `IFLA_BOND_PRIMARY_RESELECT`: when the primary takes over again.
    PrimaryReselect {
        Always = 0 "always",
        Better = 1 "better",
        Failure = 2 "failure",
    }
}

bond_choice! {
    /// `IFLA_BOND_FAIL_OVER_MAC`: the MAC addresses of active-backup slaves.
    FailOverMac {
        None = 0 "none",
        Active = 1 "active",
        Follow = 2 "follow",
    }
}

bond_choice! {
    /// `IFLA_BOND_AD_SELECT`: how 802.3ad picks its aggregator.
    AdSelect {
        Stable = 0 "stable",
        Bandwidth = 1 "bandwidth",
        Count = 2 "count",
    }
}

/// The most ARP targets a bond takes (`BOND_MAX_ARP_TARGETS`).
pub const MAX_ARP_TARGETS: usize = 16;

/// `IFLA_BOND_*`: the bonding options of ifenslave (every one its hook
/// script writes but `queue_id` and `active_slave`, which are not
/// configuration but actions on slaves) and of ifupdown2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondAttrs {
    pub mode: Option<BondMode>,
    /// MII link monitoring interval, milliseconds (0: off).
    pub miimon: Option<u32>,
    /// Milliseconds; multiples of `miimon`.
    pub updelay: Option<u32>,
    pub downdelay: Option<u32>,
    /// MII monitoring by the carrier (on) or by MII/ethtool ioctls (off).
    pub use_carrier: Option<bool>,
    /// ARP monitoring interval, milliseconds (0: off). The kernel does
    /// one kind of monitoring: setting this turns `miimon` off.
    pub arp_interval: Option<u32>,
    /// The addresses ARP monitoring probes; sent, they replace the
    /// bond's whole list (empty: none).
    pub arp_ip_target: Option<Vec<Ipv4Addr>>,
    pub arp_validate: Option<ArpValidate>,
    pub arp_all_targets: Option<ArpAllTargets>,
    /// 802.3ad only.
    pub lacp_rate: Option<LacpRate>,
    /// 802.3ad only; changed only while the bond is down.
    pub ad_select: Option<AdSelect>,
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    pub min_links: Option<u32>,
    /// Set before any slave joins (the kernel refuses it after).
    pub fail_over_mac: Option<FailOverMac>,
    /// Gratuitous ARPs and unsolicited IPv6 neighbour advertisements after
    /// a failover (ifenslave's `num_grat_arp` and `num_unsol_na` are both
    /// this one setting).
    pub num_peer_notif: Option<u8>,
    /// Deliver what arrives on inactive slaves too.
    pub all_slaves_active: Option<bool>,
    /// balance-rr only.
    pub packets_per_slave: Option<u32>,
    /// balance-tlb only.
    pub tlb_dynamic_lb: Option<bool>,
    /// The preferred slave, by ifindex. The kernel takes it only once that
    /// link is a slave of the bond (and only in active-backup, balance-tlb
    /// and balance-alb): set it after enslaving, with
    /// [`super::Netlink::set_link_kind`].
    pub primary: Option<u32>,
    pub primary_reselect: Option<PrimaryReselect>,
}

impl BondAttrs {
    /// What of `self` differs from `current`; `None` when nothing does.
    pub fn changes_from(&self, current: &BondAttrs) -> Option<BondAttrs> {
        fn pick<T: PartialEq + Clone>(want: &Option<T>, have: &Option<T>) -> Option<T> {
            want.as_ref().filter(|w| have.as_ref() != Some(*w)).cloned()
        }
        // The kernel reports no IFLA_BOND_ARP_IP_TARGET when there is none.
        let targets = match (&self.arp_ip_target, &current.arp_ip_target) {
            (Some(want), have) if want.as_slice() != have.as_deref().unwrap_or_default() => {
                Some(want.clone())
            }
            _ => None,
        };
        let change = BondAttrs {
            mode: pick(&self.mode, &current.mode),
            miimon: pick(&self.miimon, &current.miimon),
            updelay: pick(&self.updelay, &current.updelay),
            downdelay: pick(&self.downdelay, &current.downdelay),
            use_carrier: pick(&self.use_carrier, &current.use_carrier),
            arp_interval: pick(&self.arp_interval, &current.arp_interval),
            arp_ip_target: targets,
            arp_validate: pick(&self.arp_validate, &current.arp_validate),
            arp_all_targets: pick(&self.arp_all_targets, &current.arp_all_targets),
            lacp_rate: pick(&self.lacp_rate, &current.lacp_rate),
            ad_select: pick(&self.ad_select, &current.ad_select),
            xmit_hash_policy: pick(&self.xmit_hash_policy, &current.xmit_hash_policy),
            min_links: pick(&self.min_links, &current.min_links),
            fail_over_mac: pick(&self.fail_over_mac, &current.fail_over_mac),
            num_peer_notif: pick(&self.num_peer_notif, &current.num_peer_notif),
            all_slaves_active: pick(&self.all_slaves_active, &current.all_slaves_active),
            packets_per_slave: pick(&self.packets_per_slave, &current.packets_per_slave),
            tlb_dynamic_lb: pick(&self.tlb_dynamic_lb, &current.tlb_dynamic_lb),
            primary: pick(&self.primary, &current.primary),
            primary_reselect: pick(&self.primary_reselect, &current.primary_reselect),
        };
        (change != BondAttrs::default()).then_some(change)
    }

    /// Whether the kernel takes this change only while the bond is down
    /// (`BOND_OPTFLAG_IFDOWN`: mode, ad_select, lacp_rate; ifenslave
    /// also puts it down for xmit_hash_policy and tlb_dynamic_lb).
    pub fn needs_down(&self) -> bool {
        self.mode.is_some()
            || self.ad_select.is_some()
            || self.lacp_rate.is_some()
            || self.xmit_hash_policy.is_some()
            || self.tlb_dynamic_lb.is_some()
    }

    /// Whether the kernel takes this change only while the bond has no
    /// slaves (`BOND_OPTFLAG_NOSLAVES`: mode, fail_over_mac).
    pub fn needs_no_slaves(&self) -> bool {
        self.mode.is_some() || self.fail_over_mac.is_some()
    }
}

/// The VLAN tag protocol (`IFLA_VLAN_PROTOCOL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VlanProtocol {
    /// 0x8100, the usual tag.
    #[default]
    #[serde(rename = "802.1q")]
    Dot1Q,
    /// 0x88a8, the outer (service) tag of QinQ.
    #[serde(rename = "802.1ad")]
    Dot1Ad,
}

impl VlanProtocol {
    /// `802.1q`/`802.1ad` in either case, as `ip` and ifupdown2 spell them.
    pub fn parse(text: &str) -> Option<VlanProtocol> {
        match text.to_ascii_lowercase().as_str() {
            "802.1q" => Some(VlanProtocol::Dot1Q),
            "802.1ad" => Some(VlanProtocol::Dot1Ad),
            _ => None,
        }
    }

    pub fn ethertype(self) -> u16 {
        match self {
            VlanProtocol::Dot1Q => 0x8100,
            VlanProtocol::Dot1Ad => 0x88a8,
        }
    }
}

/// A VLAN; its raw device is the link's parent (`IFLA_LINK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VlanAttrs {
    /// 1 to 4094 (the kernel also takes 0).
    pub id: u16,
    #[serde(default)]
    pub protocol: VlanProtocol,
}

/// `IFLA_MACVLAN_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MacvlanMode {
    Private,
    Vepa,
    Bridge,
    Passthru,
    Source,
}

impl MacvlanMode {
    pub fn parse(text: &str) -> Option<MacvlanMode> {
        match text {
            "private" => Some(MacvlanMode::Private),
            "vepa" => Some(MacvlanMode::Vepa),
            "bridge" => Some(MacvlanMode::Bridge),
            "passthru" => Some(MacvlanMode::Passthru),
            "source" => Some(MacvlanMode::Source),
            _ => None,
        }
    }

    /// The `MACVLAN_MODE_*` bit.
    pub fn bits(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
            MacvlanMode::Passthru => 8,
            MacvlanMode::Source => 16,
        }
    }

    pub fn from_bits(bits: u32) -> Option<MacvlanMode> {
        [
            MacvlanMode::Private,
            MacvlanMode::Vepa,
            MacvlanMode::Bridge,
            MacvlanMode::Passthru,
            MacvlanMode::Source,
        ]
        .into_iter()
        .find(|m| m.bits() == bits)
    }
}

/// A macvlan; its lower device is the link's parent (`IFLA_LINK`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacvlanAttrs {
    /// `None`: the kernel's default, which is `vepa`.
    pub mode: Option<MacvlanMode>,
}

/// A veth pair, created from one end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VethAttrs {
    /// The other end's name; `None` lets the kernel pick `vethN`. The kernel
    /// does not report it back (the peer is the link's `IFLA_LINK`).
    pub peer: Option<String>,
}

/// The IANA port of VXLAN (the kernel's own default is 8472, Linux's
/// pre-standard choice; every peer implementation uses 4789).
pub const VXLAN_PORT: u16 = 4789;

/// `IFLA_VXLAN_*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VxlanAttrs {
    /// The VNI, 24 bits.
    pub id: u32,
    /// Source address of the tunnel.
    pub local: Option<IpAddr>,
    /// The remote end: a unicast address (point to point), or a multicast
    /// group (which needs `link`). The kernel keeps both in
    /// `IFLA_VXLAN_GROUP`/`GROUP6`.
    pub remote: Option<IpAddr>,
    /// UDP destination port.
    pub port: u16,
    /// Learn remote MAC addresses (the kernel's default is on).
    pub learning: Option<bool>,
    /// Seconds a learned entry lives.
    pub ageing: Option<u32>,
    /// The lower (underlay) device, by ifindex.
    pub link: Option<u32>,
}

impl VxlanAttrs {
    /// VNI `id` on the IANA port, everything else the kernel's default.
    pub fn new(id: u32) -> VxlanAttrs {
        VxlanAttrs {
            id,
            local: None,
            remote: None,
            port: VXLAN_PORT,
            learning: None,
            ageing: None,
            link: None,
        }
    }
}

/// A link to create (see [`super::Netlink::add_link`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLink {
    pub name: String,
    pub kind: LinkKind,
    /// `IFLA_LINK`: the raw device of a vlan, the lower device of a macvlan
    /// (both need one). A vxlan names its lower device in its attributes.
    pub parent: Option<u32>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// Create it as a port of this bridge or bond.
    pub master: Option<u32>,
    /// Create it up (`IFF_UP`).
    pub up: bool,
}

impl NewLink {
    /// A link named `name` of `kind`, down, everything else unset.
    pub fn new(name: &str, kind: LinkKind) -> NewLink {
        NewLink {
            name: name.to_string(),
            kind,
            parent: None,
            mtu: None,
            mac: None,
            master: None,
            up: false,
        }
    }
}

impl fmt::Display for NewLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if let Some(parent) = self.parent {
            write!(f, " on ifindex {parent}")?;
        }
        Ok(())
    }
}

/// One VLAN of a bridge port, or of the bridge itself (`bridge vlan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BridgeVlan {
    /// 1 to 4094.
    pub vid: u16,
    /// Untagged frames arriving on the port belong to this VLAN.
    pub pvid: bool,
    /// Frames of this VLAN leave the port untagged.
    pub untagged: bool,
}

impl BridgeVlan {
    /// A tagged VLAN.
    pub fn tagged(vid: u16) -> BridgeVlan {
        BridgeVlan {
            vid,
            pvid: false,
            untagged: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(BondMode::parse("802.3ad"), Some(BondMode::Ieee8023ad));
        assert_eq!(BondMode::parse("4"), Some(BondMode::Ieee8023ad));
        assert_eq!(BondMode::parse("1"), Some(BondMode::ActiveBackup));
        assert_eq!(BondMode::parse("7"), None);
        assert_eq!(BondMode::parse("lacp"), None);
        assert_eq!(
            XmitHashPolicy::parse("layer3+4"),
            Some(XmitHashPolicy::Layer34)
        );
        assert_eq!(XmitHashPolicy::parse("2"), Some(XmitHashPolicy::Layer23));
        assert_eq!(LacpRate::parse("fast"), Some(LacpRate::Fast));
        assert_eq!(
            ArpValidate::parse("filter_active"),
            Some(ArpValidate::FilterActive)
        );
        assert_eq!(ArpValidate::parse("6"), Some(ArpValidate::FilterBackup));
        assert_eq!(ArpValidate::parse("7"), None);
        assert_eq!(AdSelect::parse("bandwidth"), Some(AdSelect::Bandwidth));
        assert_eq!(FailOverMac::parse("2"), Some(FailOverMac::Follow));
        assert_eq!(PrimaryReselect::names(), "always, better, failure");
        assert_eq!(VlanProtocol::parse("802.1AD"), Some(VlanProtocol::Dot1Ad));
        assert_eq!(MacvlanMode::from_bits(4), Some(MacvlanMode::Bridge));
        assert_eq!(
            serde_json::to_string(&LinkKind::Vlan(VlanAttrs {
                id: 10,
                protocol: VlanProtocol::Dot1Q
            }))
            .unwrap(),
            r#"{"kind":"vlan","id":10,"protocol":"802.1q"}"#
        );
    }

    #[test]
    fn changes_are_only_what_differs() {
        let want = BridgeAttrs {
            stp: Some(false),
            forward_delay: Some(Duration::from_secs(0)),
            ..BridgeAttrs::default()
        };
        let have = BridgeAttrs {
            stp: Some(false),
            forward_delay: Some(Duration::from_secs(15)),
            hello_time: Some(Duration::from_secs(2)),
            ..BridgeAttrs::default()
        };
        assert_eq!(
            want.changes_from(&have),
            Some(BridgeAttrs {
                forward_delay: Some(Duration::ZERO),
                ..BridgeAttrs::default()
            })
        );
        assert_eq!(want.changes_from(&want), None);
        // One clock_t tick of rounding by the kernel is no difference.
        let ageing = |ms| BridgeAttrs {
            ageing_time: Some(Duration::from_millis(ms)),
            ..BridgeAttrs::default()
        };
        assert_eq!(ageing(12_350).changes_from(&ageing(12_340)), None);
        assert!(ageing(12_350).changes_from(&ageing(12_330)).is_some());
        let bond = BondAttrs {
            miimon: Some(100),
            ..BondAttrs::default()
        };
        assert_eq!(bond.changes_from(&bond), None);
        assert_eq!(bond.changes_from(&BondAttrs::default()), Some(bond.clone()));
        // No targets reported is the same as an empty list wanted.
        let none = BondAttrs {
            arp_ip_target: Some(Vec::new()),
            ..BondAttrs::default()
        };
        assert_eq!(none.changes_from(&BondAttrs::default()), None);
        let one = BondAttrs {
            arp_ip_target: Some(vec![Ipv4Addr::new(198, 51, 100, 1)]),
            ..BondAttrs::default()
        };
        assert_eq!(one.changes_from(&none), Some(one.clone()));
        assert!(!one.changes_from(&none).unwrap().needs_down());
    }
}
