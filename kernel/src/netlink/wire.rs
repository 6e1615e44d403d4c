//! Translation between netconf's types and netlink-packet-route's messages:
//! the only place that knows how a link, address or route looks on the wire.
//! When netlink-packet-route changes its API, this is the file to fix.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{NlaBuffer, NlasIterator, Parseable, ParseableParametrized};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags as WireAddressFlags, AddressHeader, AddressHeaderFlags,
    AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteLwEnCapType, RouteMessage,
    RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{
    Address, AddressFlags, Family, Link, LinkChange, Neighbour, NewAddress, NewRoute, RaFlags,
    Route, RouteKind, Scope,
};

/// A request ready for [`super::socket::Socket`].
pub(super) type Request = RouteNetlinkMessage;

pub(super) const RTM_NEWLINK: u16 = 16;
pub(super) const RTM_DELLINK: u16 = 17;
pub(super) const RTM_NEWADDR: u16 = 20;
pub(super) const RTM_DELADDR: u16 = 21;
pub(super) const RTM_NEWROUTE: u16 = 24;
pub(super) const RTM_DELROUTE: u16 = 25;
pub(super) const RTM_NEWNEIGH: u16 = 28;
/// A router advertisement option for user space ([`super::nduseropt`]).
pub(super) const RTM_NEWNDUSEROPT: u16 = 68;

/// `sizeof(struct ifinfomsg)`, `ifaddrmsg`, `rtmsg`.
const LINK_HEADER_LEN: usize = 16;
const ADDRESS_HEADER_LEN: usize = 8;
const ROUTE_HEADER_LEN: usize = 12;

/// `INFINITY_LIFE_TIME`: an address lifetime of "forever".
const FOREVER: u32 = u32::MAX;

/// `IFNAMSIZ - 1`.
const MAX_IFNAME: usize = 15;

fn wire_family(family: Family) -> AddressFamily {
    match family {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

fn our_family(family: AddressFamily) -> Option<Family> {
    match family {
        AddressFamily::Inet => Some(Family::V4),
        AddressFamily::Inet6 => Some(Family::V6),
        _ => None,
    }
}

/// Whether the kernel could have a link by this name (its `dev_valid_name`).
pub(super) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

// ---------------------------------------------------------------- requests

fn link_request(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    // Statistics are most of a link message and we never read them.
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

pub(super) fn dump_links() -> Request {
    RouteNetlinkMessage::GetLink(link_request(0))
}

/// Every link's IPv6 state (`RTM_GETLINK` of family AF_INET6).
pub(super) fn dump_ipv6_links() -> Request {
    let mut msg = LinkMessage::default();
    msg.header.interface_family = AddressFamily::Inet6;
    RouteNetlinkMessage::GetLink(msg)
}

/// The flags of the last router advertisement a link heard, from the
/// `IFLA_INET6_FLAGS` of an AF_INET6 link message (`IF_RA_MANAGED`,
/// `IF_RA_OTHERCONF`): read from the bytes, as the crate's types of them
/// vary between its versions.
pub(super) fn decode_ra_flags(kind: u16, payload: &[u8]) -> Result<Option<RaFlags>, String> {
    const IFLA_PROTINFO: u16 = 12;
    const IFLA_INET6_FLAGS: u16 = 1;
    const IF_RA_MANAGED: u32 = 0x40;
    const IF_RA_OTHERCONF: u32 = 0x80;
    if kind != RTM_NEWLINK {
        return Ok(None);
    }
    let header = payload.get(..16).ok_or("link message: short header")?;
    if u16::from(header[0]) != libc::AF_INET6 as u16 {
        return Ok(None);
    }
    let index = u32::from_ne_bytes(header[4..8].try_into().expect("four bytes"));
    let attrs = |bytes: &[u8]| -> Vec<(u16, Vec<u8>)> {
        let mut found = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
            let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
            if len < 4 || len > rest.len() {
                break;
            }
            found.push((kind, rest[4..len].to_vec()));
            rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        }
        found
    };
    let flags = attrs(&payload[16..])
        .into_iter()
        .filter(|(k, _)| *k == IFLA_PROTINFO)
        .flat_map(|(_, nested)| attrs(&nested))
        .find(|(k, v)| *k == IFLA_INET6_FLAGS && v.len() == 4)
        .map(|(_, v)| u32::from_ne_bytes(v[..4].try_into().expect("four bytes")));
    Ok(flags.map(|f| RaFlags {
        index,
        managed: f & IF_RA_MANAGED != 0,
        other: f & IF_RA_OTHERCONF != 0,
    }))
}

pub(super) fn get_link_by_index(index: u32) -> Request {
    RouteNetlinkMessage::GetLink(link_request(index))
}

pub(super) fn get_link_by_name(name: &str) -> Request {
    let mut msg = link_request(0);
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    RouteNetlinkMessage::GetLink(msg)
}

pub(super) fn dump_addresses(index: Option<u32>, family: Option<Family>) -> Request {
    let mut msg = AddressMessage::default();
    msg.header.family = family.map_or(AddressFamily::Unspec, wire_family);
    msg.header.index = index.unwrap_or(0);
    RouteNetlinkMessage::GetAddress(msg)
}

pub(super) fn dump_routes(family: Family, table: Option<u32>, oif: Option<u32>) -> Request {
    let mut msg = RouteMessage::default();
    msg.header.address_family = wire_family(family);
    if let Some(table) = table {
        msg.header.table = header_table(table);
        msg.attributes.push(RouteAttribute::Table(table));
    }
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    RouteNetlinkMessage::GetRoute(msg)
}

pub(super) fn dump_neighbours(family: Family) -> Request {
    let mut msg = NeighbourMessage::default();
    msg.header.family = wire_family(family);
    RouteNetlinkMessage::GetNeighbour(msg)
}

/// An entry of the neighbour table; `None` for what is not an IP
/// neighbour (bridge FDB entries, other families).
pub(super) fn decode_neighbour(kind: u16, payload: &[u8]) -> Result<Option<Neighbour>, String> {
    if kind != RTM_NEWNEIGH {
        return Ok(None);
    }
    let msg = NeighbourMessage::parse(payload).map_err(|e| format!("neighbour: {e}"))?;
    if our_family(msg.header.family).is_none() {
        return Ok(None);
    }
    let mut addr = None;
    let mut lladdr = None;
    for attr in msg.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                addr = Some(IpAddr::V4(a))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                addr = Some(IpAddr::V6(a))
            }
            NeighbourAttribute::LinkLayerAddress(bytes) if !bytes.is_empty() => {
                lladdr = Some(bytes)
            }
            _ => {}
        }
    }
    let Some(addr) = addr else {
        return Ok(None);
    };
    // An entry still being resolved, or given up on, names no one.
    let usable = !matches!(
        msg.header.state,
        NeighbourState::Incomplete | NeighbourState::Failed | NeighbourState::None
    );
    Ok(Some(Neighbour {
        index: msg.header.ifindex,
        addr,
        lladdr: lladdr.filter(|_| usable),
    }))
}

/// `rtm_table` holds 8 bits; bigger table ids travel in `RTA_TABLE` only.
fn header_table(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC)
}

pub(super) fn set_link(index: u32, change: &LinkChange) -> Request {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    if let Some(up) = change.up {
        // Only the bits in the change mask are touched.
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
    }
    if let Some(mtu) = change.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = change.mac {
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(master) = change.master {
        msg.attributes.push(LinkAttribute::Controller(master));
    }
    if let Some(group) = change.group {
        msg.attributes.push(LinkAttribute::Group(group));
    }
    if let Some(alias) = &change.alias {
        msg.attributes.push(LinkAttribute::IfAlias(alias.clone()));
    }
    RouteNetlinkMessage::SetLink(msg)
}

pub(super) fn describe_link_change(change: &LinkChange) -> String {
    let mut parts = Vec::new();
    match change.up {
        Some(true) => parts.push("up".to_string()),
        Some(false) => parts.push("down".to_string()),
        None => {}
    }
    if let Some(mtu) = change.mtu {
        parts.push(format!("mtu {mtu}"));
    }
    if let Some(mac) = change.mac {
        parts.push(format!("address {}", format_mac(&mac)));
    }
    if let Some(group) = change.group {
        parts.push(format!("group {group}"));
    }
    if let Some(alias) = &change.alias {
        parts.push(format!("alias {alias:?}"));
    }
    match change.master {
        Some(0) => parts.push("nomaster".to_string()),
        Some(master) => parts.push(format!("master ifindex {master}")),
        None => {}
    }
    parts.join(", ")
}

fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(super) fn del_link(index: u32) -> Request {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    RouteNetlinkMessage::DelLink(msg)
}

/// `RTM_DELLINK` with no index and `IFLA_GROUP`: the whole group.
pub(super) fn del_link_group(group: u32) -> Request {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::Group(group));
    RouteNetlinkMessage::DelLink(msg)
}

fn check_prefix(family: Family, prefix_len: u8) -> Result<(), String> {
    if prefix_len > family.max_prefix_len() {
        return Err(format!(
            "prefix length {prefix_len} is too long for {family}"
        ));
    }
    Ok(())
}

fn check_family(family: Family, what: &str, addr: &IpAddr) -> Result<(), String> {
    if Family::of(addr) != family {
        return Err(format!("{what} {addr} is not an {family} address"));
    }
    Ok(())
}

pub(super) fn new_address(a: &NewAddress) -> Result<Request, String> {
    let family = Family::of(&a.addr);
    check_prefix(family, a.prefix_len)?;
    if let Some(peer) = &a.peer {
        check_family(family, "peer", peer)?;
    }
    if family == Family::V6 {
        if a.broadcast.is_some() {
            return Err("IPv6 addresses have no broadcast address".to_string());
        }
        if a.label.is_some() {
            return Err("IPv6 addresses have no label".to_string());
        }
    }
    if let Some(label) = &a.label {
        if label.is_empty() || label.len() > MAX_IFNAME || label.contains('\0') {
            return Err(format!("label {label:?} is not 1 to {MAX_IFNAME} bytes"));
        }
    }
    let valid = a.valid_lft.unwrap_or(FOREVER);
    let preferred = a.preferred_lft.unwrap_or(FOREVER);
    if valid == 0 {
        return Err("valid lifetime 0".to_string());
    }
    if preferred > valid {
        return Err("preferred lifetime longer than valid lifetime".to_string());
    }

    let scope = a.scope.unwrap_or(match a.addr {
        IpAddr::V4(v4) if v4.is_loopback() => Scope::Host,
        _ => Scope::Universe,
    });
    let mut flags = WireAddressFlags::empty();
    if a.nodad {
        flags |= WireAddressFlags::Nodad;
    }
    if a.noprefixroute {
        flags |= WireAddressFlags::Noprefixroute;
    }

    let mut msg = AddressMessage::default();
    msg.header = AddressHeader {
        family: wire_family(family),
        prefix_len: a.prefix_len,
        // The header holds the low 8 flag bits (older kernels read only
        // these); IFA_FLAGS below carries all of them.
        flags: AddressHeaderFlags::from_bits_retain((flags.bits() & 0xff) as u8),
        scope: AddressScope::from(scope.as_u8()),
        index: a.index,
    };
    // As `ip` does: IFA_LOCAL is the address, IFA_ADDRESS the peer (or the
    // address again when there is none).
    msg.attributes.push(AddressAttribute::Local(a.addr));
    msg.attributes
        .push(AddressAttribute::Address(a.peer.unwrap_or(a.addr)));
    if let Some(broadcast) = a.broadcast {
        msg.attributes.push(AddressAttribute::Broadcast(broadcast));
    }
    if let Some(label) = &a.label {
        msg.attributes.push(AddressAttribute::Label(label.clone()));
    }
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    if a.valid_lft.is_some() || a.preferred_lft.is_some() {
        let mut info = CacheInfo::default();
        info.ifa_valid = valid;
        info.ifa_preferred = preferred;
        msg.attributes.push(AddressAttribute::CacheInfo(info));
    }
    Ok(RouteNetlinkMessage::NewAddress(msg))
}

pub(super) fn del_address(
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
    peer: Option<IpAddr>,
) -> Result<Request, String> {
    let family = Family::of(&addr);
    check_prefix(family, prefix_len)?;
    if let Some(peer) = &peer {
        check_family(family, "peer", peer)?;
    }
    let mut msg = AddressMessage::default();
    msg.header.family = wire_family(family);
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    msg.attributes.push(AddressAttribute::Local(addr));
    msg.attributes
        .push(AddressAttribute::Address(peer.unwrap_or(addr)));
    Ok(RouteNetlinkMessage::DelAddress(msg))
}

/// RTM_NEWROUTE (or RTM_DELROUTE with `delete`) for `r`.
pub(super) fn new_route(r: &NewRoute, delete: bool) -> Result<Request, String> {
    if let Some((dst, len)) = &r.destination {
        check_family(r.family, "destination", dst)?;
        check_prefix(r.family, *len)?;
    }
    if let Some(gateway) = &r.gateway {
        check_family(r.family, "gateway", gateway)?;
    }

    let mut msg = RouteMessage::default();
    msg.header.address_family = wire_family(r.family);
    msg.header.destination_prefix_length = r.destination.map_or(0, |(_, len)| len);
    msg.header.table = header_table(r.table);
    msg.header.protocol = RouteProtocol::from(r.protocol);
    msg.header.scope = RouteScope::from(r.scope.as_u8());
    // Adding: a plain unicast route. Deleting: RTN_UNSPEC matches any kind.
    msg.header.kind = if delete {
        RouteType::Unspec
    } else {
        RouteType::Unicast
    };
    if r.onlink {
        msg.header.flags |= RouteFlags::Onlink;
    }
    msg.attributes.push(RouteAttribute::Table(r.table));
    if let Some((dst, len)) = r.destination {
        if len > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(dst)));
        }
    }
    if let Some(gateway) = r.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    }
    if let Some(oif) = r.oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(priority) = r.priority {
        msg.attributes.push(RouteAttribute::Priority(priority));
    }
    Ok(if delete {
        RouteNetlinkMessage::DelRoute(msg)
    } else {
        RouteNetlinkMessage::NewRoute(msg)
    })
}

// ---------------------------------------------------------------- answers
//
// Each decoder first asks netlink-packet-route for the whole message. If the
// crate fails on some attribute (a kernel newer than the crate, or a bug in a
// nested attribute we never read), the message is decoded again attribute by
// attribute, keeping those that parse: one odd link must not hide every
// other one from the daemon.

/// Decodes RTM_NEWLINK/RTM_DELLINK; other messages are skipped.
pub(super) fn decode_link(kind: u16, payload: &[u8]) -> Result<Option<Link>, String> {
    if kind != RTM_NEWLINK && kind != RTM_DELLINK {
        return Ok(None);
    }
    let msg = link_message(payload)?;
    // The bridge announces its ports' bridge state in the same group, as
    // link messages of family AF_BRIDGE, and says RTM_DELLINK when a port
    // merely leaves the bridge. They describe a port, not the link: taken
    // as links they would delete a link that still exists, or strip its
    // kind.
    if msg.header.interface_family != AddressFamily::Unspec {
        return Ok(None);
    }
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        up: msg.header.flags.contains(LinkFlags::Up),
        lower_up: msg.header.flags.contains(LinkFlags::LowerUp),
        mtu: 0,
        mac: None,
        kind: None,
        master: None,
        parent: None,
        details: None,
        alias: None,
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name,
            LinkAttribute::Mtu(mtu) => link.mtu = mtu,
            LinkAttribute::IfAlias(alias) if !alias.is_empty() => link.alias = Some(alias),
            LinkAttribute::Address(mac) if !mac.is_empty() => link.mac = Some(mac),
            LinkAttribute::Controller(master) if master != 0 => link.master = Some(master),
            LinkAttribute::Link(parent) if parent != 0 => link.parent = Some(parent),
            LinkAttribute::LinkInfo(infos) => {
                for info in &infos {
                    if let LinkInfo::Kind(kind) = info {
                        link.kind = Some(kind.to_string());
                    }
                }
                link.details = super::links::decode_details(link.kind.as_deref(), &infos);
            }
            _ => {}
        }
    }
    if link.name.is_empty() {
        return Err(format!(
            "link message for ifindex {} without a name",
            link.index
        ));
    }
    Ok(Some(link))
}

// The link attributes `decode_link` reads (linux/if_link.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_IFALIAS: u16 = 20;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;

/// The kinds whose `IFLA_INFO_DATA` [`super::links`] reads.
const DATA_KINDS: &[&str] = &[
    "bridge", "bond", "vlan", "macvlan", "vxlan", "macvtap", "ipvlan", "vrf", "can",
];

/// A link message with only the attributes `decode_link` reads, each
/// decoded alone: one the crate cannot parse is skipped, not fatal.
///
/// The others never reach netlink-packet-route, nor does the
/// `IFLA_INFO_DATA` of a kind netconf does not read (nor port data or
/// statistics): some of its parsers panic on malformed input instead of
/// failing (bareudp's `IFLA_BAREUDP_SRCPORT_MIN` of the wrong length, found
/// by fuzzing), and in the daemon a panic is an abort.
fn link_message(payload: &[u8]) -> Result<LinkMessage, String> {
    let header = LinkHeader::parse(payload).map_err(|e| e.to_string())?;
    let mut msg = LinkMessage::default();
    let mut skipped = Vec::new();
    for nla in NlasIterator::new(payload.get(LINK_HEADER_LEN..).unwrap_or_default()) {
        // A broken attribute length leaves the rest unreadable.
        let Ok(nla) = nla else { break };
        let attr = match nla.kind() {
            IFLA_LINKINFO => link_info(nla.value()).map(LinkAttribute::LinkInfo),
            IFLA_ADDRESS | IFLA_IFNAME | IFLA_MTU | IFLA_LINK | IFLA_MASTER | IFLA_IFALIAS => {
                LinkAttribute::parse_with_param(&nla, header.interface_family)
                    .map_err(|e| e.to_string())
            }
            _ => continue,
        };
        match attr {
            Ok(attr) => msg.attributes.push(attr),
            Err(_) => skipped.push(nla.kind()),
        }
    }
    if !skipped.is_empty() {
        tracing::debug!(
            ifindex = header.index,
            ?skipped,
            "link message decoded without the attributes netlink-packet-route could not parse"
        );
    }
    msg.header = header;
    Ok(msg)
}

/// `IFLA_LINKINFO`: the kind, and the kind's data for [`DATA_KINDS`] (the
/// kind alone when its data cannot be parsed).
fn link_info(nest: &[u8]) -> Result<Vec<LinkInfo>, String> {
    let mut kind = None;
    let mut data = None;
    for nla in NlasIterator::new(nest) {
        let nla = nla.map_err(|e| format!("IFLA_LINKINFO: {e}"))?;
        match nla.kind() {
            IFLA_INFO_KIND => {
                let value = nla.value();
                let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
                kind = Some(String::from_utf8_lossy(&value[..end]).into_owned());
            }
            IFLA_INFO_DATA => data = Some(nla.value().to_vec()),
            _ => {}
        }
    }
    let Some(kind) = kind else {
        return Ok(Vec::new());
    };
    let just_kind = vec![LinkInfo::Kind(InfoKind::from(kind.as_str()))];
    let reads_data =
        DATA_KINDS.contains(&kind.as_str()) || super::tunnels::KINDS.contains(&kind.as_str());
    let Some(data) = data.filter(|_| reads_data) else {
        return Ok(just_kind);
    };
    // Only the kind and its data, nested again, go to the crate.
    let mut nest = nla_bytes(IFLA_INFO_KIND, kind.as_bytes());
    nest.extend(nla_bytes(IFLA_INFO_DATA, &data));
    let outer = nla_bytes(IFLA_LINKINFO, &nest);
    let parsed = NlaBuffer::new_checked(&outer[..])
        .map_err(|e| e.to_string())
        .and_then(|nla| {
            LinkAttribute::parse_with_param(&nla, AddressFamily::Unspec).map_err(|e| e.to_string())
        });
    match parsed {
        Ok(LinkAttribute::LinkInfo(infos)) => Ok(infos),
        Ok(_) | Err(_) => Ok(just_kind),
    }
}

/// One attribute (length, type, value, padding to 4 bytes); an empty one
/// when the value does not fit its 16-bit length, which the caller's parse
/// then refuses.
fn nla_bytes(kind: u16, value: &[u8]) -> Vec<u8> {
    let Ok(len) = u16::try_from(value.len() + 4) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(value.len() + 7);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// Decodes RTM_NEWADDR/RTM_DELADDR of IPv4 and IPv6; other messages are
/// skipped.
pub(super) fn decode_address(kind: u16, payload: &[u8]) -> Result<Option<Address>, String> {
    if kind != RTM_NEWADDR && kind != RTM_DELADDR {
        return Ok(None);
    }
    let msg = match AddressMessage::parse(payload) {
        Ok(msg) => msg,
        Err(_) => lenient_address(payload)?,
    };
    if our_family(msg.header.family).is_none() {
        return Ok(None);
    }
    let mut local = None;
    let mut address = None;
    let mut broadcast = None;
    let mut label = None;
    let mut flags = u32::from(msg.header.flags.bits());
    let mut valid_lft = None;
    let mut preferred_lft = None;
    let mut protocol = 0;
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(addr) => local = Some(addr),
            AddressAttribute::Address(addr) => address = Some(addr),
            AddressAttribute::Broadcast(addr) => broadcast = Some(addr),
            AddressAttribute::Label(text) => label = Some(text),
            // IFA_FLAGS has all 32 bits; the header only the low 8.
            AddressAttribute::Flags(all) => flags = all.bits(),
            AddressAttribute::CacheInfo(info) => {
                valid_lft = Some(info.ifa_valid).filter(|&t| t != FOREVER);
                preferred_lft = Some(info.ifa_preferred).filter(|&t| t != FOREVER);
            }
            AddressAttribute::Protocol(proto) => protocol = u8::from(proto),
            _ => {}
        }
    }
    let Some(addr) = local.or(address) else {
        return Err(format!(
            "address message for ifindex {} without an address",
            msg.header.index
        ));
    };
    let peer = match (local, address) {
        (Some(local), Some(address)) if local != address => Some(address),
        _ => None,
    };
    let flags = WireAddressFlags::from_bits_retain(flags);
    Ok(Some(Address {
        index: msg.header.index,
        addr,
        prefix_len: msg.header.prefix_len,
        peer,
        broadcast,
        scope: Scope::from_u8(u8::from(msg.header.scope)),
        label,
        flags: AddressFlags {
            secondary: flags.contains(WireAddressFlags::Secondary),
            permanent: flags.contains(WireAddressFlags::Permanent),
            tentative: flags.contains(WireAddressFlags::Tentative),
            nodad: flags.contains(WireAddressFlags::Nodad),
            dadfailed: flags.contains(WireAddressFlags::Dadfailed),
            deprecated: flags.contains(WireAddressFlags::Deprecated),
            mngtmpaddr: flags.contains(WireAddressFlags::Managetempaddr),
            noprefixroute: flags.contains(WireAddressFlags::Noprefixroute),
        },
        valid_lft,
        preferred_lft,
        protocol,
    }))
}

fn lenient_address(payload: &[u8]) -> Result<AddressMessage, String> {
    let header = AddressHeader::parse(payload).map_err(|e| e.to_string())?;
    let mut msg = AddressMessage::default();
    let mut skipped = Vec::new();
    for nla in NlasIterator::new(payload.get(ADDRESS_HEADER_LEN..).unwrap_or_default()) {
        let Ok(nla) = nla else { break };
        match AddressAttribute::parse(&nla) {
            Ok(attr) => msg.attributes.push(attr),
            Err(_) => skipped.push(nla.kind()),
        }
    }
    tracing::debug!(
        ifindex = header.index,
        ?skipped,
        "address message decoded without the attributes netlink-packet-route could not parse"
    );
    msg.header = header;
    Ok(msg)
}

fn route_ip(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Decodes RTM_NEWROUTE/RTM_DELROUTE of IPv4 and IPv6 (not the multicast
/// routing families); other messages are skipped.
pub(super) fn decode_route(kind: u16, payload: &[u8]) -> Result<Option<Route>, String> {
    if kind != RTM_NEWROUTE && kind != RTM_DELROUTE {
        return Ok(None);
    }
    let msg = match RouteMessage::parse(payload) {
        Ok(msg) => msg,
        Err(_) => lenient_route(payload)?,
    };
    let Some(family) = our_family(msg.header.address_family) else {
        return Ok(None);
    };
    let mut destination = None;
    let mut route = Route {
        family,
        destination: None,
        gateway: None,
        oif: None,
        priority: None,
        table: u32::from(msg.header.table),
        protocol: u8::from(msg.header.protocol),
        scope: Scope::from_u8(u8::from(msg.header.scope)),
        kind: RouteKind::from_u8(u8::from(msg.header.kind)),
        onlink: msg.header.flags.contains(RouteFlags::Onlink),
        prefsrc: None,
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(addr) => destination = route_ip(addr),
            RouteAttribute::Gateway(addr) => route.gateway = route_ip(addr),
            RouteAttribute::PrefSource(addr) => route.prefsrc = route_ip(addr),
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Priority(priority) => route.priority = Some(*priority),
            // The full table id; the header holds only 8 bits.
            RouteAttribute::Table(table) => route.table = *table,
            _ => {}
        }
    }
    let len = msg.header.destination_prefix_length;
    if len > 0 {
        let unspecified = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        route.destination = Some((destination.unwrap_or(unspecified), len));
    }
    Ok(Some(route))
}

fn lenient_route(payload: &[u8]) -> Result<RouteMessage, String> {
    let header = RouteHeader::parse(payload).map_err(|e| e.to_string())?;
    let mut msg = RouteMessage::default();
    let mut skipped = Vec::new();
    for nla in NlasIterator::new(payload.get(ROUTE_HEADER_LEN..).unwrap_or_default()) {
        let Ok(nla) = nla else { break };
        let param = (header.address_family, header.kind, RouteLwEnCapType::None);
        match RouteAttribute::parse_with_param(&nla, param) {
            Ok(attr) => msg.attributes.push(attr),
            Err(_) => skipped.push(nla.kind()),
        }
    }
    tracing::debug!(
        ?skipped,
        "route message decoded without the attributes netlink-packet-route could not parse"
    );
    msg.header = header;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AF_INET6 link message as the kernel writes it: ifinfomsg, then
    /// IFLA_PROTINFO (nested) holding IFLA_INET6_FLAGS among others.
    fn inet6_link(index: u32, flags: u32) -> Vec<u8> {
        let mut msg = vec![libc::AF_INET6 as u8, 0, 0, 0];
        msg.extend(index.to_ne_bytes());
        msg.extend([0u8; 8]);
        let attr = |kind: u16, body: &[u8]| {
            let mut a = Vec::new();
            a.extend(u16::try_from(4 + body.len()).unwrap().to_ne_bytes());
            a.extend(kind.to_ne_bytes());
            a.extend(body);
            a.resize(a.len().next_multiple_of(4), 0);
            a
        };
        let mut nested = attr(5, &[1, 2, 3]); // IFLA_INET6_CACHEINFO-like noise
        nested.extend(attr(1, &flags.to_ne_bytes()));
        msg.extend(attr(3, b"eth0\0"));
        msg.extend(attr(12 | 0x8000, &nested));
        msg
    }

    #[test]
    fn ra_flags_come_from_ifla_inet6_flags() {
        let o = decode_ra_flags(RTM_NEWLINK, &inet6_link(7, 0x80 | 0x10)).unwrap();
        assert_eq!(
            o,
            Some(RaFlags {
                index: 7,
                managed: false,
                other: true
            })
        );
        let m = decode_ra_flags(RTM_NEWLINK, &inet6_link(8, 0xc0)).unwrap();
        assert!(m.is_some_and(|f| f.managed && f.other));
        // Another family, a short message: nothing, no panic.
        let mut bridge = inet6_link(9, 0x80);
        bridge[0] = libc::AF_BRIDGE as u8;
        assert_eq!(decode_ra_flags(RTM_NEWLINK, &bridge).unwrap(), None);
        assert!(decode_ra_flags(RTM_NEWLINK, &[10, 0]).is_err());
        let mut cut = inet6_link(9, 0x80);
        cut.truncate(cut.len() - 3);
        assert!(decode_ra_flags(RTM_NEWLINK, &cut).is_ok());
    }
    use netlink_packet_core::NetlinkSerializable;

    fn emit(msg: &RouteNetlinkMessage) -> (u16, Vec<u8>) {
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        (msg.message_type(), buf)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn address_request_round_trips() {
        let a = NewAddress {
            broadcast: Some("198.51.100.255".parse().unwrap()),
            label: Some("nc0:1".into()),
            noprefixroute: true,
            valid_lft: Some(600),
            preferred_lft: Some(300),
            ..NewAddress::new(5, ip("198.51.100.1"), 24)
        };
        let (kind, bytes) = emit(&new_address(&a).unwrap());
        assert_eq!(kind, RTM_NEWADDR);
        let got = decode_address(kind, &bytes).unwrap().unwrap();
        assert_eq!(got.index, 5);
        assert_eq!(got.addr, ip("198.51.100.1"));
        assert_eq!(got.prefix_len, 24);
        assert_eq!(got.peer, None);
        assert_eq!(got.broadcast, a.broadcast);
        assert_eq!(got.label.as_deref(), Some("nc0:1"));
        assert!(got.flags.noprefixroute && !got.flags.nodad);
        assert_eq!((got.valid_lft, got.preferred_lft), (Some(600), Some(300)));
        assert_eq!(got.protocol, 0);
        assert_eq!(got.scope, Scope::Universe);

        let p = NewAddress {
            peer: Some(ip("198.51.100.2")),
            ..NewAddress::new(5, ip("198.51.100.1"), 32)
        };
        let (kind, bytes) = emit(&new_address(&p).unwrap());
        let got = decode_address(kind, &bytes).unwrap().unwrap();
        assert_eq!(got.peer, Some(ip("198.51.100.2")));

        let lo = NewAddress::new(1, ip("127.0.0.2"), 8);
        let (kind, bytes) = emit(&new_address(&lo).unwrap());
        assert_eq!(
            decode_address(kind, &bytes).unwrap().unwrap().scope,
            Scope::Host
        );
    }

    #[test]
    fn address_requests_refused_before_sending() {
        let v6 = ip("2001:db8::1");
        let bad = [
            NewAddress::new(1, v6, 129),
            NewAddress {
                broadcast: Some(Ipv4Addr::BROADCAST),
                ..NewAddress::new(1, v6, 64)
            },
            NewAddress {
                label: Some("x".into()),
                ..NewAddress::new(1, v6, 64)
            },
            NewAddress {
                peer: Some(ip("198.51.100.2")),
                ..NewAddress::new(1, v6, 64)
            },
            NewAddress {
                label: Some("sixteen-bytes-xx".into()),
                ..NewAddress::new(1, ip("198.51.100.1"), 24)
            },
            NewAddress {
                valid_lft: Some(10),
                preferred_lft: Some(20),
                ..NewAddress::new(1, v6, 64)
            },
            NewAddress {
                valid_lft: Some(0),
                ..NewAddress::new(1, v6, 64)
            },
        ];
        for a in bad {
            assert!(new_address(&a).is_err(), "{a:?}");
        }
        assert!(del_address(1, v6, 200, None).is_err());
        assert!(del_address(1, v6, 64, Some(ip("198.51.100.1"))).is_err());
    }

    #[test]
    fn route_request_round_trips() {
        let r = NewRoute {
            destination: Some((ip("203.0.113.0"), 24)),
            gateway: Some(ip("198.51.100.254")),
            oif: Some(7),
            priority: Some(100),
            table: 1000,
            onlink: true,
            ..NewRoute::new(Family::V4)
        };
        let (kind, bytes) = emit(&new_route(&r, false).unwrap());
        assert_eq!(kind, RTM_NEWROUTE);
        let got = decode_route(kind, &bytes).unwrap().unwrap();
        assert_eq!(got.destination, r.destination);
        assert_eq!(got.gateway, r.gateway);
        assert_eq!(got.oif, Some(7));
        assert_eq!(got.priority, Some(100));
        assert_eq!(got.table, 1000);
        assert_eq!(got.protocol, super::super::NETCONF_ROUTE_PROTOCOL);
        assert_eq!(got.scope, Scope::Universe);
        assert_eq!(got.kind, RouteKind::Unicast);
        assert!(got.onlink);
        assert_eq!(NewRoute::from(&got), r);

        // Deleting matches any kind.
        let dev = NewRoute {
            destination: Some((ip("2001:db8:1::"), 64)),
            oif: Some(3),
            scope: Scope::Link,
            ..NewRoute::new(Family::V6)
        };
        let (kind, bytes) = emit(&new_route(&dev, true).unwrap());
        assert_eq!(kind, RTM_DELROUTE);
        let got = decode_route(kind, &bytes).unwrap().unwrap();
        assert_eq!(got.kind, RouteKind::Unspec);
        assert_eq!(got.scope, Scope::Link);
        assert_eq!(got.table, 254);

        let mixed = NewRoute {
            gateway: Some(ip("198.51.100.1")),
            ..NewRoute::new(Family::V6)
        };
        assert!(new_route(&mixed, false).is_err());
        let long = NewRoute {
            destination: Some((ip("198.51.100.0"), 33)),
            ..NewRoute::new(Family::V4)
        };
        assert!(new_route(&long, false).is_err());
    }

    #[test]
    fn link_change_carries_only_what_is_given() {
        let change = LinkChange {
            up: Some(false),
            mtu: Some(1400),
            ..LinkChange::default()
        };
        let RouteNetlinkMessage::SetLink(msg) = set_link(9, &change) else {
            panic!("not a SetLink");
        };
        assert_eq!(msg.header.index, 9);
        assert_eq!(msg.header.change_mask, LinkFlags::Up);
        assert_eq!(msg.header.flags, LinkFlags::empty());
        assert_eq!(msg.attributes, vec![LinkAttribute::Mtu(1400)]);
        assert_eq!(describe_link_change(&change), "down, mtu 1400");
        let change = LinkChange {
            alias: Some("uplink".into()),
            ..LinkChange::default()
        };
        let RouteNetlinkMessage::SetLink(msg) = set_link(9, &change) else {
            panic!("not a SetLink");
        };
        assert_eq!(
            msg.attributes,
            vec![LinkAttribute::IfAlias("uplink".into())]
        );
        assert_eq!(describe_link_change(&change), "alias \"uplink\"");
        let change = LinkChange {
            mac: Some([2, 0, 0, 0, 0, 0xab]),
            master: Some(0),
            ..LinkChange::default()
        };
        assert_eq!(
            describe_link_change(&change),
            "address 02:00:00:00:00:ab, nomaster"
        );
    }

    /// A link message the crate refuses as a whole (an IFLA_MTU of 2 bytes)
    /// still yields the link, without the broken attribute.
    #[test]
    fn odd_link_attribute_is_skipped_not_fatal() {
        let mut msg = LinkMessage::default();
        msg.header.index = 4;
        msg.header.flags = LinkFlags::Up | LinkFlags::LowerUp;
        msg.attributes.push(LinkAttribute::IfName("nc0".into()));
        msg.attributes
            .push(LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]));
        let good = RouteNetlinkMessage::NewLink(msg);
        let (kind, mut bytes) = emit(&good);
        // Append IFLA_MTU (4) with a 2-byte value: len 6, padded to 8.
        bytes.extend_from_slice(&[6, 0, 4, 0, 0xdc, 0x05, 0, 0]);
        assert!(LinkMessage::parse(&bytes[..]).is_err());
        let link = decode_link(kind, &bytes).unwrap().unwrap();
        assert_eq!(link.index, 4);
        assert_eq!(link.name, "nc0");
        assert!(link.up && link.lower_up);
        assert_eq!(link.mac, Some(vec![2, 0, 0, 0, 0, 1]));
        assert_eq!(link.mtu, 0);

        // Not even a header: that is an error, not a silent skip.
        assert!(decode_link(kind, &bytes[..8]).is_err());
        // Messages of other types are skipped.
        assert_eq!(decode_link(RTM_NEWADDR, &bytes).unwrap(), None);
    }

    /// Found by `scripts/fuzz` (netlink_events; its datagram is in
    /// `monitor.rs`'s tests): netlink-packet-route 0.34 panics on a bareudp
    /// link whose `IFLA_BAREUDP_SRCPORT_MIN` is not 2 bytes. Data of kinds
    /// netconf does not read is no longer handed to it, and data it cannot
    /// parse leaves the kind known.
    #[test]
    fn link_data_is_parsed_only_for_the_kinds_read() {
        let mut msg = LinkMessage::default();
        msg.header.index = 7;
        msg.attributes.push(LinkAttribute::IfName("bu0".into()));
        let (kind, bytes) = emit(&RouteNetlinkMessage::NewLink(msg));
        let with_info = |info_kind: &[u8; 8], data: &[u8]| {
            let mut nest = nla_bytes(IFLA_INFO_KIND, info_kind);
            nest.extend(nla_bytes(IFLA_INFO_DATA, data));
            let mut bytes = bytes.clone();
            bytes.extend(nla_bytes(IFLA_LINKINFO, &nest));
            bytes
        };
        // IFLA_BAREUDP_SRCPORT_MIN (3) with 6 bytes instead of 2.
        let srcport_min = nla_bytes(3, &[0x64, 0x30, 0, 0, 0, 0]);
        let link = decode_link(kind, &with_info(b"bareudp\0", &srcport_min))
            .unwrap()
            .unwrap();
        assert_eq!(
            (link.name.as_str(), link.kind.as_deref()),
            ("bu0", Some("bareudp"))
        );
        // A bridge's data that the crate refuses: the kind stays.
        let broken = nla_bytes(1, &[1]);
        let link = decode_link(kind, &with_info(b"bridge\0\0", &broken))
            .unwrap()
            .unwrap();
        assert_eq!(link.kind.as_deref(), Some("bridge"));
    }

    #[test]
    fn names() {
        assert!(valid_ifname("eth0"));
        assert!(valid_ifname("fifteen-bytes-x"));
        assert!(!valid_ifname("sixteen-bytes-xx"));
        for bad in ["", ".", "..", "a/b", "eth0:1", "a b", "a\0"] {
            assert!(!valid_ifname(bad), "{bad:?}");
        }
    }
}
