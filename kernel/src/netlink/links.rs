//! Creating and changing virtual links over rtnetlink: the wire form of
//! [`NewLink`] and [`LinkKind`] (`IFLA_LINKINFO` with its `IFLA_INFO_DATA`),
//! the decoding of those attributes from dumps into [`Link::details`], and
//! bridge VLANs (`RTM_SETLINK`/`RTM_DELLINK` of family `AF_BRIDGE` with
//! `IFLA_AF_SPEC`, what `bridge vlan add/del` sends).
//!
//! Like `wire.rs`, this file names netlink-packet-route's types so that no
//! other module has to.
//!
//! Bridge times travel as the kernel's `clock_t`: `IFLA_BR_FORWARD_DELAY`,
//! `HELLO_TIME`, `MAX_AGE` and `AGEING_TIME` are converted by the kernel with
//! `clock_t_to_jiffies`, so the unit is `1/USER_HZ` seconds. `USER_HZ` is
//! what `sysconf(_SC_CLK_TCK)` reports (100 on every Debian architecture:
//! 15 s of forward delay is 1500), and it is read from there rather than
//! assumed.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use netlink_packet_route::link::{
    AfSpecBridge, BondAdSelect as WireAdSelect, BondAllPortActive as WireAllPortsActive,
    BondArpAllTargets as WireArpAllTargets, BondArpValidate as WireArpValidate,
    BondFailOverMac as WireFailOverMac, BondLacpRate as WireLacpRate, BondMode as WireBondMode,
    BondPrimaryReselect as WirePrimaryReselect, BondXmitHashPolicy as WireXmitHashPolicy,
    BridgeFlag, BridgeStpState, BridgeVlanInfo, BridgeVlanInfoFlags, InfoBond, InfoBridge,
    InfoData, InfoKind, InfoMacVlan, InfoVeth, InfoVlan, InfoVxlan, LinkAttribute, LinkExtentMask,
    LinkFlags, LinkInfo, LinkMessage, MacVlanMode as WireMacvlanMode,
    VlanProtocol as WireVlanProtocol,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::kinds::{
    AdSelect, ArpAllTargets, ArpValidate, FailOverMac, PrimaryReselect, MAX_ARP_TARGETS,
};
use super::kinds::{
    BondAttrs, BondMode, BridgeAttrs, BridgeVlan, LacpRate, LinkKind, MacvlanAttrs, MacvlanMode,
    NewLink, VethAttrs, VlanAttrs, VlanProtocol, VxlanAttrs, XmitHashPolicy,
};
use super::wire::{valid_ifname, Request};
use super::{Link, Netlink, NetlinkError};

/// The largest VLAN id the kernel takes (4095 is reserved).
const MAX_VLAN_ID: u16 = 4094;
/// VNIs are 24 bits.
const MAX_VNI: u32 = (1 << 24) - 1;

impl Netlink {
    /// Creates a link (`RTM_NEWLINK` with `NLM_F_CREATE | NLM_F_EXCL`) and
    /// returns it as the kernel reports it right after. A link of that name
    /// already there is [`NetlinkError::Exists`]; a kind whose module the
    /// kernel lacks is [`NetlinkError::NotSupported`] ("Unknown device
    /// type").
    pub fn add_link(&mut self, link: &NewLink) -> Result<Link, NetlinkError> {
        let op = || format!("creating {link}");
        let msg = new_link(link).map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, super::create_flags(false), op)?;
        match self.link_by_name(&link.name)? {
            Some(created) => Ok(created),
            // Gone (or renamed) between the ACK and the query.
            None => Err(NetlinkError::from_errno(
                format!("reading {} after creating it", link.name),
                libc::ENODEV,
                None,
            )),
        }
    }

    /// Changes the attributes of an existing bridge or bond in place
    /// (`RTM_NEWLINK` on its index without `NLM_F_CREATE`, as `ip link set
    /// type bridge ...` does); only the fields that are `Some` are sent.
    /// Other kinds cannot be changed this way (their identity is in their
    /// attributes: a vlan's id, a vxlan's VNI): delete and create them.
    /// Changing a bond's mode needs the bond down and without slaves.
    pub fn set_link_kind(&mut self, index: u32, kind: &LinkKind) -> Result<(), NetlinkError> {
        let op = || format!("setting {kind} attributes of ifindex {index}");
        let msg = change_link_kind(index, kind).map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, 0, op)
    }

    /// The VLANs of every bridge port and VLAN-aware bridge, by ifindex
    /// (a dump of family `AF_BRIDGE` with `RTEXT_FILTER_BRVLAN`).
    pub fn bridge_vlans(&mut self) -> Result<Vec<(u32, Vec<BridgeVlan>)>, NetlinkError> {
        let found = self
            .sock
            .dump(dump_bridge_vlans(), decode_bridge_vlans)
            .map_err(|f| f.into_error("listing bridge VLANs".to_string()))?;
        // A device can be reported more than once (as a port, and as a
        // bridge itself): merge.
        let mut merged: Vec<(u32, Vec<BridgeVlan>)> = Vec::new();
        for (index, vlans) in found {
            match merged.iter_mut().find(|(i, _)| *i == index) {
                Some((_, have)) => {
                    for v in vlans {
                        if !have.contains(&v) {
                            have.push(v);
                        }
                    }
                }
                None => merged.push((index, vlans)),
            }
        }
        Ok(merged)
    }

    /// Adds VLANs to a bridge port (`bridge vlan add vid V dev PORT`), or
    /// to the bridge itself with `on_bridge` (`... dev BRIDGE self`).
    /// Adding one that is there updates its flags.
    pub fn add_bridge_vlans(
        &mut self,
        index: u32,
        vlans: &[BridgeVlan],
        on_bridge: bool,
    ) -> Result<(), NetlinkError> {
        let op = || format!("adding VLANs {} to ifindex {index}", vlan_list(vlans));
        let msg = bridge_vlans_request(index, vlans, on_bridge, false)
            .map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, 0, op)
    }

    /// Removes VLANs from a bridge port, or from the bridge itself.
    pub fn del_bridge_vlans(
        &mut self,
        index: u32,
        vlans: &[BridgeVlan],
        on_bridge: bool,
    ) -> Result<(), NetlinkError> {
        let op = || format!("removing VLANs {} from ifindex {index}", vlan_list(vlans));
        let msg = bridge_vlans_request(index, vlans, on_bridge, true)
            .map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, 0, op)
    }
}

fn vlan_list(vlans: &[BridgeVlan]) -> String {
    let ids: Vec<String> = vlans.iter().map(|v| v.vid.to_string()).collect();
    ids.join(",")
}

// ---------------------------------------------------------------- clock_t

/// `USER_HZ`: the kernel's `clock_t` ticks per second.
fn user_hz() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        u64::try_from(hz).ok().filter(|&hz| hz > 0).unwrap_or(100)
    })
}

/// A duration in `clock_t` ticks, rounded to the nearest tick.
pub(super) fn to_clock_t(d: Duration) -> Result<u32, String> {
    let ticks = (d.as_nanos() * u128::from(user_hz()) + 500_000_000) / 1_000_000_000;
    u32::try_from(ticks).map_err(|_| format!("{d:?} is too long"))
}

pub(super) fn from_clock_t(ticks: u32) -> Duration {
    Duration::from_nanos(u64::from(ticks) * 1_000_000_000 / user_hz())
}

// ---------------------------------------------------------------- requests

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if valid_ifname(name) {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} is not an interface name (1 to 15 bytes, no '/', ':' or blanks)"
        ))
    }
}

/// RTM_NEWLINK creating `link`.
pub(super) fn new_link(link: &NewLink) -> Result<Request, String> {
    check_name("name", &link.name)?;
    match &link.kind {
        LinkKind::Vlan(_) | LinkKind::Macvlan(_) | LinkKind::Macvtap(_) | LinkKind::Ipvlan(_)
            if link.parent.is_none() =>
        {
            return Err(format!("a {} needs a lower device", link.kind));
        }
        LinkKind::Can(_) => return Err("a CAN device is made by its driver".to_string()),
        LinkKind::Bridge(_)
        | LinkKind::Bond(_)
        | LinkKind::Veth(_)
        | LinkKind::Vxlan(_)
        | LinkKind::Dummy
        | LinkKind::Wireguard
        | LinkKind::Vrf(_)
        | LinkKind::Tunnel(_)
            if link.parent.is_some() =>
        {
            return Err(format!("a {} has no parent link", link.kind));
        }
        _ => {}
    }
    let mut msg = LinkMessage::default();
    if link.up {
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
    }
    msg.attributes
        .push(LinkAttribute::IfName(link.name.clone()));
    if let Some(parent) = link.parent {
        msg.attributes.push(LinkAttribute::Link(parent));
    }
    if let Some(mtu) = link.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = link.mac {
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(master) = link.master {
        msg.attributes.push(LinkAttribute::Controller(master));
    }
    msg.attributes
        .push(LinkAttribute::LinkInfo(link_info(&link.kind, true)?));
    Ok(RouteNetlinkMessage::NewLink(msg))
}

/// RTM_NEWLINK changing the attributes of existing link `index`.
pub(super) fn change_link_kind(index: u32, kind: &LinkKind) -> Result<Request, String> {
    match kind {
        LinkKind::Bridge(_) | LinkKind::Bond(_) | LinkKind::Can(_) => {}
        other => {
            return Err(format!(
                "the attributes of a {other} cannot be changed in place"
            ))
        }
    }
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes
        .push(LinkAttribute::LinkInfo(link_info(kind, false)?));
    Ok(RouteNetlinkMessage::NewLink(msg))
}

/// `IFLA_LINKINFO`: the kind, and its data when there is any.
fn link_info(kind: &LinkKind, creating: bool) -> Result<Vec<LinkInfo>, String> {
    let (info_kind, data) = match kind {
        LinkKind::Bridge(attrs) => (
            InfoKind::Bridge,
            Some(InfoData::Bridge(bridge(attrs, creating)?)),
        ),
        LinkKind::Bond(attrs) => (InfoKind::Bond, Some(InfoData::Bond(bond(attrs, creating)?))),
        LinkKind::Vlan(attrs) => (InfoKind::Vlan, Some(InfoData::Vlan(vlan(attrs)?))),
        LinkKind::Macvlan(attrs) => (InfoKind::MacVlan, Some(InfoData::MacVlan(macvlan(attrs)))),
        LinkKind::Veth(attrs) => (InfoKind::Veth, veth(attrs)?.map(InfoData::Veth)),
        LinkKind::Vxlan(attrs) => (InfoKind::Vxlan, Some(InfoData::Vxlan(vxlan(attrs)?))),
        LinkKind::Dummy => (InfoKind::Dummy, None),
        LinkKind::Wireguard => (InfoKind::Wireguard, None),
        LinkKind::Macvtap(_) | LinkKind::Ipvlan(_) | LinkKind::Vrf(_) | LinkKind::Can(_) => {
            let info = l3::link_info(kind).ok_or_else(|| format!("a {kind} has no wire form"))?;
            info.map(|(k, data)| (k, Some(data)))?
        }
        LinkKind::Tunnel(attrs) => {
            let (kind, data) = super::tunnels::info(attrs)?;
            (kind, Some(data))
        }
    };
    let mut infos = vec![LinkInfo::Kind(info_kind)];
    // An empty IFLA_INFO_DATA is harmless but noise: leave it out.
    match data {
        Some(InfoData::Bridge(v)) if v.is_empty() => {}
        Some(InfoData::Bond(v)) if v.is_empty() => {}
        Some(InfoData::MacVtap(v)) if v.is_empty() => {}
        Some(InfoData::Can(v)) if v.is_empty() => {}
        Some(data) => infos.push(LinkInfo::Data(data)),
        None => {}
    }
    Ok(infos)
}

fn bridge(a: &BridgeAttrs, creating: bool) -> Result<Vec<InfoBridge>, String> {
    let mut out = Vec::new();
    // The kernel applies them in its own order (delays before the STP
    // state), whatever the order here.
    if let Some(d) = a.forward_delay {
        out.push(InfoBridge::ForwardDelay(to_clock_t(d)?));
    }
    if let Some(d) = a.hello_time {
        out.push(InfoBridge::HelloTime(to_clock_t(d)?));
    }
    if let Some(d) = a.max_age {
        out.push(InfoBridge::MaxAge(to_clock_t(d)?));
    }
    if let Some(d) = a.ageing_time {
        out.push(InfoBridge::AgeingTime(to_clock_t(d)?));
    }
    if let Some(stp) = a.stp {
        // 1 asks for STP; the kernel then picks kernel or user-space STP.
        out.push(InfoBridge::StpState(if stp {
            BridgeStpState::KernelStp
        } else {
            BridgeStpState::Disabled
        }));
    }
    if let Some(priority) = a.priority {
        out.push(InfoBridge::Priority(priority));
    }
    match a.vlan_filtering {
        // Off is what a new bridge has, and a kernel built without
        // CONFIG_BRIDGE_VLAN_FILTERING refuses the attribute whatever its
        // value (EOPNOTSUPP): not sending it lets such kernels create plain
        // bridges. A change still sends it.
        Some(false) if creating => {}
        Some(on) => out.push(InfoBridge::VlanFiltering(on)),
        None => {}
    }
    Ok(out)
}

fn bond(a: &BondAttrs, creating: bool) -> Result<Vec<InfoBond>, String> {
    if creating && a.primary.is_some() {
        // The kernel refuses a primary that is not yet a slave.
        return Err("a bond's primary can only be set once it is a slave".to_string());
    }
    if a.arp_ip_target
        .as_ref()
        .is_some_and(|t| t.len() > MAX_ARP_TARGETS)
    {
        return Err(format!(
            "a bond takes at most {MAX_ARP_TARGETS} ARP targets"
        ));
    }
    if a.miimon.is_some_and(|m| m > 0) && a.arp_interval.is_some_and(|i| i > 0) {
        return Err("a bond monitors by MII or by ARP, not both".to_string());
    }
    // The kernel applies them in its own order (bond_changelink: mode
    // first, then the monitors, ... primary after arp_all_targets),
    // whatever the order here.
    let mut out = Vec::new();
    if let Some(mode) = a.mode {
        out.push(InfoBond::Mode(WireBondMode::from(mode.number())));
    }
    if let Some(ms) = a.miimon {
        out.push(InfoBond::MiiMon(ms));
    }
    // A new bond's delays are 0, and the kernel refuses to set one, even
    // to 0, while MII monitoring is off (EPERM): ifupdown2's `bond.eni`
    // writes `bond-miimon 0` with `bond-updelay 0`, which ifupdown2 (it
    // writes only what differs) brings up.
    let default_delay = |ms: &u32| creating && *ms == 0;
    if let Some(ms) = a.updelay.filter(|ms| !default_delay(ms)) {
        out.push(InfoBond::UpDelay(ms));
    }
    if let Some(ms) = a.downdelay.filter(|ms| !default_delay(ms)) {
        out.push(InfoBond::DownDelay(ms));
    }
    if let Some(on) = a.use_carrier {
        out.push(InfoBond::UseCarrier(on));
    }
    if let Some(ms) = a.arp_interval {
        out.push(InfoBond::ArpInterval(ms));
    }
    if let Some(targets) = &a.arp_ip_target {
        out.push(InfoBond::ArpIpTarget(targets.clone()));
    }
    if let Some(v) = a.arp_validate {
        out.push(InfoBond::ArpValidate(WireArpValidate::from(v.number())));
    }
    if let Some(v) = a.arp_all_targets {
        out.push(InfoBond::ArpAllTargets(WireArpAllTargets::from(v.number())));
    }
    if let Some(index) = a.primary {
        out.push(InfoBond::Primary(index));
    }
    if let Some(v) = a.primary_reselect {
        out.push(InfoBond::PrimaryReselect(WirePrimaryReselect::from(small(
            v.number(),
        ))));
    }
    if let Some(v) = a.fail_over_mac {
        out.push(InfoBond::FailOverMac(WireFailOverMac::from(small(
            v.number(),
        ))));
    }
    if let Some(policy) = a.xmit_hash_policy {
        out.push(InfoBond::XmitHashPolicy(WireXmitHashPolicy::from(
            policy.number(),
        )));
    }
    if let Some(n) = a.num_peer_notif {
        out.push(InfoBond::NumPeerNotif(n));
    }
    if let Some(on) = a.all_slaves_active {
        out.push(InfoBond::AllPortsActive(WireAllPortsActive::from(
            u8::from(on),
        )));
    }
    if let Some(n) = a.min_links {
        out.push(InfoBond::MinLinks(n));
    }
    if let Some(n) = a.packets_per_slave {
        out.push(InfoBond::PacketsPerPort(n));
    }
    if let Some(rate) = a.lacp_rate {
        out.push(InfoBond::AdLacpRate(WireLacpRate::from(match rate {
            LacpRate::Slow => 0u8,
            LacpRate::Fast => 1,
        })));
    }
    if let Some(v) = a.ad_select {
        out.push(InfoBond::AdSelect(WireAdSelect::from(small(v.number()))));
    }
    if let Some(on) = a.tlb_dynamic_lb {
        out.push(InfoBond::TlbDynamicLb(on));
    }
    Ok(out)
}

/// The bonding choices that travel as one byte are all below 8.
fn small(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn vlan(a: &VlanAttrs) -> Result<Vec<InfoVlan>, String> {
    if a.id > MAX_VLAN_ID {
        return Err(format!("VLAN id {} is not 0 to {MAX_VLAN_ID}", a.id));
    }
    Ok(vec![
        InfoVlan::Id(a.id),
        InfoVlan::Protocol(WireVlanProtocol::from(a.protocol.ethertype())),
    ])
}

fn macvlan(a: &MacvlanAttrs) -> Vec<InfoMacVlan> {
    a.mode
        .map(|mode| InfoMacVlan::Mode(WireMacvlanMode::from(mode.bits())))
        .into_iter()
        .collect()
}

fn veth(a: &VethAttrs) -> Result<Option<InfoVeth>, String> {
    let Some(peer) = &a.peer else {
        return Ok(None);
    };
    check_name("veth peer name", peer)?;
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(peer.clone()));
    Ok(Some(InfoVeth::Peer(msg)))
}

fn vxlan(a: &VxlanAttrs) -> Result<Vec<InfoVxlan>, String> {
    if a.id > MAX_VNI {
        return Err(format!("VNI {} is not 0 to {MAX_VNI}", a.id));
    }
    if let (Some(local), Some(remote)) = (a.local, a.remote) {
        if local.is_ipv4() != remote.is_ipv4() {
            return Err(format!(
                "local {local} and remote {remote} are of different families"
            ));
        }
    }
    if a.remote.is_some_and(|r| r.is_multicast()) && a.link.is_none() {
        return Err("a multicast group needs a lower device".to_string());
    }
    let mut out = vec![InfoVxlan::Id(a.id)];
    match a.remote {
        Some(IpAddr::V4(v4)) => out.push(InfoVxlan::Group(v4)),
        Some(IpAddr::V6(v6)) => out.push(InfoVxlan::Group6(v6)),
        None => {}
    }
    match a.local {
        Some(IpAddr::V4(v4)) => out.push(InfoVxlan::Local(v4)),
        Some(IpAddr::V6(v6)) => out.push(InfoVxlan::Local6(v6)),
        None => {}
    }
    if let Some(link) = a.link {
        out.push(InfoVxlan::Link(link));
    }
    out.push(InfoVxlan::Port(a.port));
    if let Some(learning) = a.learning {
        out.push(InfoVxlan::Learning(learning));
    }
    if let Some(ageing) = a.ageing {
        out.push(InfoVxlan::Ageing(ageing));
    }
    Ok(out)
}

/// RTM_GETLINK dump of family AF_BRIDGE asking for VLANs. With strict
/// checking the kernel wants nothing in the header but the family.
pub(super) fn dump_bridge_vlans() -> Request {
    let mut msg = LinkMessage::default();
    msg.header.interface_family = AddressFamily::Bridge;
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Brvlan]));
    RouteNetlinkMessage::GetLink(msg)
}

/// RTM_SETLINK (or RTM_DELLINK with `delete`) of family AF_BRIDGE carrying
/// the VLANs in IFLA_AF_SPEC.
pub(super) fn bridge_vlans_request(
    index: u32,
    vlans: &[BridgeVlan],
    on_bridge: bool,
    delete: bool,
) -> Result<Request, String> {
    if vlans.is_empty() {
        return Err("no VLANs given".to_string());
    }
    let mut spec = Vec::new();
    if on_bridge {
        // BRIDGE_FLAGS_SELF (the crate calls it LowerDev): the bridge
        // device's own VLANs rather than a port's.
        spec.push(AfSpecBridge::Flags(BridgeFlag::LowerDev));
    }
    for v in vlans {
        if v.vid == 0 || v.vid > MAX_VLAN_ID {
            return Err(format!("VLAN id {} is not 1 to {MAX_VLAN_ID}", v.vid));
        }
        let mut flags = BridgeVlanInfoFlags::empty();
        if v.pvid {
            flags |= BridgeVlanInfoFlags::Pvid;
        }
        if v.untagged {
            flags |= BridgeVlanInfoFlags::Untagged;
        }
        spec.push(AfSpecBridge::VlanInfo(BridgeVlanInfo { flags, vid: v.vid }));
    }
    let mut msg = LinkMessage::default();
    msg.header.interface_family = AddressFamily::Bridge;
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::AfSpecBridge(spec));
    Ok(if delete {
        RouteNetlinkMessage::DelLink(msg)
    } else {
        RouteNetlinkMessage::SetLink(msg)
    })
}

// ---------------------------------------------------------------- answers

/// The kind attributes of a dumped link, for the kinds netconf creates.
/// Only configuration is kept, never timers or counters, so that two dumps
/// of an unchanged link compare equal.
pub(super) fn decode_details(kind: Option<&str>, infos: &[LinkInfo]) -> Option<LinkKind> {
    let data = infos.iter().find_map(|i| match i {
        LinkInfo::Data(data) => Some(data),
        _ => None,
    });
    match (kind?, data) {
        ("bridge", Some(InfoData::Bridge(attrs))) => Some(LinkKind::Bridge(read_bridge(attrs))),
        ("bond", Some(InfoData::Bond(attrs))) => Some(LinkKind::Bond(read_bond(attrs))),
        ("vlan", Some(InfoData::Vlan(attrs))) => read_vlan(attrs).map(LinkKind::Vlan),
        ("macvlan", Some(InfoData::MacVlan(attrs))) => Some(LinkKind::Macvlan(read_macvlan(attrs))),
        ("vxlan", Some(InfoData::Vxlan(attrs))) => read_vxlan(attrs).map(LinkKind::Vxlan),
        // The kernel reports nothing of a veth (no fill_info) but its peer
        // as IFLA_LINK; a dummy has nothing to report.
        ("veth", _) => Some(LinkKind::Veth(VethAttrs::default())),
        ("dummy", _) => Some(LinkKind::Dummy),
        // Its configuration is not rtnetlink's (generic netlink, `wg show`).
        ("wireguard", _) => Some(LinkKind::Wireguard),
        (other, data) => l3::decode(other, data)
            .or_else(|| super::tunnels::decode(other, data).map(LinkKind::Tunnel)),
    }
}

fn read_bridge(attrs: &[InfoBridge]) -> BridgeAttrs {
    let mut out = BridgeAttrs::default();
    for attr in attrs {
        match attr {
            InfoBridge::StpState(state) => out.stp = Some(*state != BridgeStpState::Disabled),
            InfoBridge::ForwardDelay(t) => out.forward_delay = Some(from_clock_t(*t)),
            InfoBridge::HelloTime(t) => out.hello_time = Some(from_clock_t(*t)),
            InfoBridge::MaxAge(t) => out.max_age = Some(from_clock_t(*t)),
            InfoBridge::AgeingTime(t) => out.ageing_time = Some(from_clock_t(*t)),
            InfoBridge::Priority(p) => out.priority = Some(*p),
            InfoBridge::VlanFiltering(on) => out.vlan_filtering = Some(*on),
            _ => {}
        }
    }
    out
}

fn read_bond(attrs: &[InfoBond]) -> BondAttrs {
    let mut out = BondAttrs::default();
    for attr in attrs {
        match attr {
            InfoBond::Mode(mode) => {
                let n = u8::from(*mode);
                out.mode = BondMode::ALL.into_iter().find(|m| m.number() == n);
            }
            InfoBond::MiiMon(ms) => out.miimon = Some(*ms),
            InfoBond::UpDelay(ms) => out.updelay = Some(*ms),
            InfoBond::DownDelay(ms) => out.downdelay = Some(*ms),
            InfoBond::UseCarrier(on) => out.use_carrier = Some(*on),
            InfoBond::ArpInterval(ms) => out.arp_interval = Some(*ms),
            InfoBond::ArpIpTarget(targets) => out.arp_ip_target = Some(targets.clone()),
            InfoBond::ArpValidate(v) => out.arp_validate = ArpValidate::from_number(u32::from(*v)),
            InfoBond::ArpAllTargets(v) => {
                out.arp_all_targets = ArpAllTargets::from_number(u32::from(*v));
            }
            InfoBond::AdLacpRate(rate) => {
                out.lacp_rate = match u8::from(*rate) {
                    0 => Some(LacpRate::Slow),
                    1 => Some(LacpRate::Fast),
                    _ => None,
                }
            }
            InfoBond::AdSelect(v) => out.ad_select = AdSelect::from_number(u8::from(*v).into()),
            InfoBond::XmitHashPolicy(policy) => {
                let n = u8::from(*policy);
                out.xmit_hash_policy = XmitHashPolicy::ALL.into_iter().find(|p| p.number() == n);
            }
            InfoBond::MinLinks(n) => out.min_links = Some(*n),
            InfoBond::FailOverMac(v) => {
                out.fail_over_mac = FailOverMac::from_number(u8::from(*v).into());
            }
            InfoBond::NumPeerNotif(n) => out.num_peer_notif = Some(*n),
            InfoBond::AllPortsActive(v) => out.all_slaves_active = Some(u8::from(*v) != 0),
            InfoBond::PacketsPerPort(n) => out.packets_per_slave = Some(*n),
            InfoBond::TlbDynamicLb(on) => out.tlb_dynamic_lb = Some(*on),
            InfoBond::Primary(index) if *index != 0 => out.primary = Some(*index),
            InfoBond::PrimaryReselect(v) => {
                out.primary_reselect = PrimaryReselect::from_number(u8::from(*v).into());
            }
            _ => {}
        }
    }
    out
}

fn read_vlan(attrs: &[InfoVlan]) -> Option<VlanAttrs> {
    let mut id = None;
    let mut protocol = VlanProtocol::Dot1Q;
    for attr in attrs {
        match attr {
            InfoVlan::Id(v) => id = Some(*v),
            InfoVlan::Protocol(p) if u16::from(*p) == VlanProtocol::Dot1Ad.ethertype() => {
                protocol = VlanProtocol::Dot1Ad;
            }
            _ => {}
        }
    }
    Some(VlanAttrs { id: id?, protocol })
}

fn read_macvlan(attrs: &[InfoMacVlan]) -> MacvlanAttrs {
    let mode = attrs.iter().find_map(|a| match a {
        InfoMacVlan::Mode(mode) => MacvlanMode::from_bits(u32::from(*mode)),
        _ => None,
    });
    MacvlanAttrs { mode }
}

fn read_vxlan(attrs: &[InfoVxlan]) -> Option<VxlanAttrs> {
    let mut id = None;
    let mut out = VxlanAttrs::new(0);
    for attr in attrs {
        match attr {
            InfoVxlan::Id(v) => id = Some(*v),
            InfoVxlan::Group(v4) if !v4.is_unspecified() => out.remote = Some(IpAddr::V4(*v4)),
            InfoVxlan::Group6(v6) if !v6.is_unspecified() => out.remote = Some(IpAddr::V6(*v6)),
            InfoVxlan::Local(v4) if !v4.is_unspecified() => out.local = Some(IpAddr::V4(*v4)),
            InfoVxlan::Local6(v6) if !v6.is_unspecified() => out.local = Some(IpAddr::V6(*v6)),
            InfoVxlan::Link(index) if *index != 0 => out.link = Some(*index),
            InfoVxlan::Port(port) => out.port = *port,
            InfoVxlan::Learning(on) => out.learning = Some(*on),
            InfoVxlan::Ageing(secs) => out.ageing = Some(*secs),
            _ => {}
        }
    }
    out.id = id?;
    Some(out)
}

/// One AF_BRIDGE link message of the VLAN dump: its index and VLANs.
fn decode_bridge_vlans(
    kind: u16,
    payload: &[u8],
) -> Result<Option<(u32, Vec<BridgeVlan>)>, String> {
    use netlink_packet_core::Parseable;
    if kind != super::wire::RTM_NEWLINK {
        return Ok(None);
    }
    let msg = LinkMessage::parse(payload).map_err(|e| e.to_string())?;
    if msg.header.interface_family != AddressFamily::Bridge {
        return Ok(None);
    }
    let mut vlans = Vec::new();
    for attr in &msg.attributes {
        if let LinkAttribute::AfSpecBridge(spec) = attr {
            for entry in spec {
                if let AfSpecBridge::VlanInfo(info) = entry {
                    vlans.push(BridgeVlan {
                        vid: info.vid,
                        pvid: info.flags.contains(BridgeVlanInfoFlags::Pvid),
                        untagged: info.flags.contains(BridgeVlanInfoFlags::Untagged),
                    });
                }
            }
        }
    }
    Ok(Some((msg.header.index, vlans)))
}

mod l3;
#[cfg(test)]
mod tests;
