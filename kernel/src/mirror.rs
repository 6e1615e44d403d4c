//! The daemon's live copy of the kernel: every link, address and route (IPv4
//! and IPv6, all tables), kept current from [`Monitor`](crate::netlink::Monitor)
//! events, so that the daemon can answer "what is on eth0 now" without asking
//! the kernel, and notice changes it did not make itself.
//!
//! The kernel does not announce everything: it drops IPv4 routes without a
//! word when the address or link under them goes (IPv6 routes it
//! announces), and a full receive buffer loses notifications. [`Mirror::apply`]
//! therefore answers with what must be re-read ([`Resync`]), and
//! [`Mirror::resync`] re-reads it. A caller applies a whole batch of events,
//! keeps the largest answer, and resyncs once.
//!
//! Events read after a resync may be older than what the resync read (they
//! were queued while it ran). Applying them is still right: each one sets or
//! removes one object, so the last event about an object wins, as in the
//! kernel, and the events that would leave something stale (a route whose
//! link went down meanwhile) ask for another resync.
//!
//! Everything an event or a resync changed can be reported as [`Change`]s
//! (`apply_reporting`, `resync_reporting`), without allocating, for the
//! daemon's "external change: 198.51.100.7/24 added on eth0".

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::iter::Peekable;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;

use crate::netlink::{
    Address, Event, Family, Link, Netlink, NetlinkError, Route, RouteKind, Scope,
};

/// What must be re-read from the kernel after an event, because the kernel
/// changed more than it announced. Ordered: combine answers with `max`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resync {
    #[default]
    Nothing,
    /// Both families' routes, all tables.
    Routes,
    /// Links, addresses and routes: notifications were lost.
    Everything,
}

/// An interface name held inline (the kernel's `IFNAMSIZ - 1` bytes), so the
/// name index and change reports need no allocation of their own.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IfName {
    len: u8,
    bytes: [u8; IfName::MAX_LEN],
}

impl IfName {
    /// The longest name the kernel allows.
    pub const MAX_LEN: usize = 15;

    /// `None` for a name longer than the kernel allows.
    pub fn new(name: &str) -> Option<IfName> {
        let len = name.len();
        if len > IfName::MAX_LEN {
            return None;
        }
        let mut bytes = [0; IfName::MAX_LEN];
        bytes[..len].copy_from_slice(name.as_bytes());
        Some(IfName {
            len: len as u8,
            bytes,
        })
    }

    /// The name, or `""` when unknown.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Built from a whole `&str` only, so always UTF-8.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `IfName::new`, or the empty name (unknown) for an impossible name.
    fn of(name: &str) -> IfName {
        IfName::new(name).unwrap_or_default()
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Whether something appeared, went, or changed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One difference the mirror took in, from an event or a resync. It holds
/// no heap memory (a route has none, names are [`IfName`]s), so reporting
/// costs nothing when nobody listens; `Display` gives the sentence.
///
/// A removed link takes its addresses and routes with it; those are not
/// reported one by one (neither by an event nor by a resync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// The link concerned: the link itself, an address's link, a route's
    /// output interface (0 for a route without one).
    pub index: u32,
    /// That link's name when the change was taken in (empty when unknown).
    pub name: IfName,
    pub what: Subject,
}

/// What a [`Change`] is about, with what is needed to tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Link {
        /// For [`ChangeKind::Changed`]: which fields changed.
        fields: LinkFields,
        /// The name before a rename.
        old_name: IfName,
        up: bool,
        lower_up: bool,
        mtu: u32,
        master: Option<u32>,
    },
    Address {
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
        /// For [`ChangeKind::Changed`]: which fields changed (lifetimes
        /// counting down are not a change).
        fields: AddressFields,
    },
    /// Routes are added and removed, never changed: every field we model is
    /// part of a route's identity (the kernel keeps two routes apart by any
    /// of them).
    Route(Route),
}

/// A set of [`Link`] fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkFields(u16);

impl LinkFields {
    pub const NAME: LinkFields = LinkFields(1);
    pub const UP: LinkFields = LinkFields(1 << 1);
    pub const LOWER_UP: LinkFields = LinkFields(1 << 2);
    pub const MTU: LinkFields = LinkFields(1 << 3);
    pub const MAC: LinkFields = LinkFields(1 << 4);
    pub const KIND: LinkFields = LinkFields(1 << 5);
    pub const MASTER: LinkFields = LinkFields(1 << 6);
    pub const PARENT: LinkFields = LinkFields(1 << 7);
    /// The kind's own settings (bridge STP, vlan id, ...).
    pub const DETAILS: LinkFields = LinkFields(1 << 8);
    /// The description (`IFLA_IFALIAS`).
    pub const ALIAS: LinkFields = LinkFields(1 << 9);

    pub fn contains(self, other: LinkFields) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in which two states of a link differ.
    pub fn between(old: &Link, new: &Link) -> LinkFields {
        // Destructured so that a field added to `Link` fails to compile here
        // until it is compared.
        let Link {
            index: _,
            name,
            up,
            lower_up,
            mtu,
            mac,
            kind,
            master,
            parent,
            details,
            alias,
        } = old;
        let mut fields = 0;
        let mut differs = |bit: LinkFields, yes: bool| {
            if yes {
                fields |= bit.0;
            }
        };
        differs(LinkFields::NAME, *name != new.name);
        differs(LinkFields::UP, *up != new.up);
        differs(LinkFields::LOWER_UP, *lower_up != new.lower_up);
        differs(LinkFields::MTU, *mtu != new.mtu);
        differs(LinkFields::MAC, *mac != new.mac);
        differs(LinkFields::KIND, *kind != new.kind);
        differs(LinkFields::MASTER, *master != new.master);
        differs(LinkFields::PARENT, *parent != new.parent);
        differs(LinkFields::DETAILS, *details != new.details);
        differs(LinkFields::ALIAS, *alias != new.alias);
        LinkFields(fields)
    }
}

/// A set of [`Address`] fields, lifetimes left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressFields(u16);

impl AddressFields {
    pub const PREFIX_LEN: AddressFields = AddressFields(1);
    pub const PEER: AddressFields = AddressFields(1 << 1);
    pub const BROADCAST: AddressFields = AddressFields(1 << 2);
    pub const SCOPE: AddressFields = AddressFields(1 << 3);
    pub const LABEL: AddressFields = AddressFields(1 << 4);
    pub const FLAGS: AddressFields = AddressFields(1 << 5);
    pub const PROTOCOL: AddressFields = AddressFields(1 << 6);
    const NAMES: [(AddressFields, &'static str); 7] = [
        (AddressFields::PREFIX_LEN, "prefix length"),
        (AddressFields::PEER, "peer"),
        (AddressFields::BROADCAST, "broadcast"),
        (AddressFields::SCOPE, "scope"),
        (AddressFields::LABEL, "label"),
        (AddressFields::FLAGS, "flags"),
        (AddressFields::PROTOCOL, "protocol"),
    ];

    pub fn contains(self, other: AddressFields) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in which two states of an address differ, ignoring the
    /// lifetimes (they count down by themselves, and a refresh is not news).
    pub fn between(old: &Address, new: &Address) -> AddressFields {
        let Address {
            index: _,
            addr: _,
            prefix_len,
            peer,
            broadcast,
            scope,
            label,
            flags,
            valid_lft: _,
            preferred_lft: _,
            protocol,
        } = old;
        let mut fields = 0;
        let mut differs = |bit: AddressFields, yes: bool| {
            if yes {
                fields |= bit.0;
            }
        };
        differs(AddressFields::PREFIX_LEN, *prefix_len != new.prefix_len);
        differs(AddressFields::PEER, *peer != new.peer);
        differs(AddressFields::BROADCAST, *broadcast != new.broadcast);
        differs(AddressFields::SCOPE, *scope != new.scope);
        differs(AddressFields::LABEL, *label != new.label);
        differs(AddressFields::FLAGS, *flags != new.flags);
        differs(AddressFields::PROTOCOL, *protocol != new.protocol);
        AddressFields(fields)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.kind {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        };
        let link = LinkText(self.index, self.name);
        match &self.what {
            Subject::Link {
                fields,
                old_name,
                up,
                lower_up,
                mtu,
                master,
            } => {
                write!(f, "link {link} {verb}")?;
                if self.kind != ChangeKind::Changed {
                    return Ok(());
                }
                let mut sep = ": ";
                let mut part = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
                    f.write_str(sep)?;
                    sep = ", ";
                    f.write_fmt(args)
                };
                if fields.contains(LinkFields::NAME) {
                    part(f, format_args!("renamed from {old_name}"))?;
                }
                if fields.contains(LinkFields::UP) {
                    part(f, format_args!("{}", if *up { "up" } else { "down" }))?;
                }
                if fields.contains(LinkFields::LOWER_UP) {
                    let carrier = if *lower_up { "carrier" } else { "no carrier" };
                    part(f, format_args!("{carrier}"))?;
                }
                if fields.contains(LinkFields::MTU) {
                    part(f, format_args!("mtu {mtu}"))?;
                }
                if fields.contains(LinkFields::MAC) {
                    part(f, format_args!("link-layer address"))?;
                }
                if fields.contains(LinkFields::KIND) {
                    part(f, format_args!("kind"))?;
                }
                if fields.contains(LinkFields::ALIAS) {
                    part(f, format_args!("alias"))?;
                }
                if fields.contains(LinkFields::MASTER) {
                    match master {
                        Some(master) => part(f, format_args!("master ifindex {master}"))?,
                        None => part(f, format_args!("no master"))?,
                    }
                }
                if fields.contains(LinkFields::PARENT) {
                    part(f, format_args!("parent"))?;
                }
                if fields.contains(LinkFields::DETAILS) {
                    part(f, format_args!("settings"))?;
                }
                Ok(())
            }
            Subject::Address {
                addr,
                prefix_len,
                peer,
                fields,
            } => {
                match peer {
                    Some(peer) => write!(f, "{addr} peer {peer}/{prefix_len}")?,
                    None => write!(f, "{addr}/{prefix_len}")?,
                }
                match self.kind {
                    ChangeKind::Added => write!(f, " added on {link}"),
                    ChangeKind::Removed => write!(f, " removed from {link}"),
                    ChangeKind::Changed => {
                        write!(f, " changed on {link}")?;
                        let mut sep = ": ";
                        for (bit, name) in AddressFields::NAMES {
                            if fields.contains(bit) {
                                write!(f, "{sep}{name}")?;
                                sep = ", ";
                            }
                        }
                        Ok(())
                    }
                }
            }
            Subject::Route(route) => {
                write!(f, "route {route} {verb}")?;
                if self.index != 0 {
                    write!(f, " ({link})")?;
                }
                Ok(())
            }
        }
    }
}

/// "eth0", or "ifindex 5" when the name is unknown.
struct LinkText(u32, IfName);

impl fmt::Display for LinkText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1.is_empty() {
            write!(f, "ifindex {}", self.0)
        } else {
            write!(f, "{}", self.1)
        }
    }
}

/// The kernel's identity of an address on a link: what makes it refuse a
/// second one (EEXIST) and what a NEWADDR for an existing one keeps.
///
/// IPv4: local address, prefix length and peer (`find_matching_ifa`; a
/// replace updates only flags, lifetimes, metric and protocol, so its
/// notification still carries the old identity). IPv6: the address alone
/// (`ipv6_chk_same_addr`: one per link), since a replace may change the
/// peer (`inet6_addr_modify`) and announces the result as a NEWADDR only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AddressId {
    V4 {
        local: Ipv4Addr,
        prefix_len: u8,
        peer: Option<Ipv4Addr>,
    },
    V6(Ipv6Addr),
}

impl AddressId {
    /// Sorts before every other identity, to start a range at a link.
    const MIN: AddressId = AddressId::V4 {
        local: Ipv4Addr::UNSPECIFIED,
        prefix_len: 0,
        peer: None,
    };

    fn of(a: &Address) -> AddressId {
        match a.addr {
            IpAddr::V4(local) => AddressId::V4 {
                local,
                prefix_len: a.prefix_len,
                peer: match a.peer {
                    Some(IpAddr::V4(peer)) => Some(peer),
                    _ => None,
                },
            },
            IpAddr::V6(addr) => AddressId::V6(addr),
        }
    }
}

/// A route, ordered by output interface first (so a link's routes are one
/// range: `routes_of` and link removal cost the routes concerned, not all
/// of them), then by every other field.
///
/// Identity is the whole route, because the kernel keeps routes apart by
/// nearly everything: routes of the same family, table, destination and
/// metric coexist when their next hop, kind, scope, protocol or source
/// differ (`fe80::/64` on every IPv6 link, one prefix route per link that
/// has an address in the same subnet, the local routes of an address held
/// by two links, `ip route append`), and the kernel refuses only an exact
/// duplicate. A NEWROUTE for an existing route is therefore that route
/// again; a *replace* is announced separately ([`Event::ReplaceRoute`]),
/// and only then does a route of the same family, table, destination and
/// metric go (the "slot" of [`Slot`]). Not modelled: tos and IPv6 source
/// prefixes (routes differing only there collapse into one entry, in the
/// mirror and in a fresh dump alike), multipath next hops.
#[derive(Debug, Clone)]
struct RouteEntry(Route);

/// Every field of a route as one sortable tuple.
type RouteOrder = (
    Option<u32>,
    u8,
    u32,
    Option<(IpAddr, u8)>,
    Option<u32>,
    u8,
    Option<IpAddr>,
    u8,
    u8,
    bool,
    Option<IpAddr>,
);

impl RouteEntry {
    fn order(&self) -> RouteOrder {
        // Destructured so that a field added to `Route` fails to compile
        // here until it takes part in the identity.
        let Route {
            family,
            destination,
            gateway,
            oif,
            priority,
            table,
            protocol,
            scope,
            kind,
            onlink,
            prefsrc,
        } = &self.0;
        (
            *oif,
            family_order(*family),
            *table,
            *destination,
            *priority,
            kind.as_u8(),
            *gateway,
            *protocol,
            scope.as_u8(),
            *onlink,
            *prefsrc,
        )
    }

    /// Sorts before every route with output interface `oif`.
    fn first_of(oif: Option<u32>) -> RouteEntry {
        RouteEntry(Route {
            family: Family::V4,
            destination: None,
            gateway: None,
            oif,
            priority: None,
            table: 0,
            protocol: 0,
            scope: Scope::from_u8(0),
            kind: RouteKind::from_u8(0),
            onlink: false,
            prefsrc: None,
        })
    }
}

fn family_order(family: Family) -> u8 {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

impl PartialEq for RouteEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RouteEntry {}

impl PartialOrd for RouteEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RouteEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

/// Where the kernel replaces a route: same family, table, destination and
/// metric (IPv4 `fib_table_insert`, IPv6 `fib6_add_rt2leaf`).
#[derive(PartialEq, Eq)]
struct Slot(Family, u32, Option<(IpAddr, u8)>, Option<u32>);

impl Slot {
    fn of(r: &Route) -> Slot {
        Slot(r.family, r.table, r.destination, r.priority)
    }
}

/// The kernel's links (by ifindex), addresses and routes, as last dumped and
/// since updated by events. See the module documentation.
///
/// Sizes: a link, address or route costs its own struct plus a map slot;
/// the name index holds [`IfName`]s, not strings. Events cost O(log n);
/// per-link lookups are ranges.
#[derive(Debug, Clone, Default)]
pub struct Mirror {
    links: BTreeMap<u32, Link>,
    /// Follows renames; may briefly point at a link that no longer has the
    /// name while old events are replayed, so lookups check the link.
    names: HashMap<IfName, u32>,
    /// By link, then identity: a link's addresses are one range.
    addresses: BTreeMap<(u32, AddressId), Address>,
    routes: BTreeSet<RouteEntry>,
}

impl Mirror {
    /// Reads everything: links, addresses of both families, routes of both
    /// families in every table. Open the [`Monitor`](crate::netlink::Monitor)
    /// first, so no change falls between the dump and the events.
    pub fn dump(nl: &mut Netlink) -> Result<Mirror, NetlinkError> {
        let mut mirror = Mirror::default();
        for link in nl.links()? {
            mirror.names.insert(IfName::of(&link.name), link.index);
            mirror.links.insert(link.index, link);
        }
        for address in nl.addresses(None, None)? {
            mirror
                .addresses
                .insert((address.index, AddressId::of(&address)), address);
        }
        mirror.routes = dump_routes(nl)?;
        Ok(mirror)
    }

    /// Applies one event; answers what must be re-read because the kernel
    /// changed more than it said.
    pub fn apply(&mut self, event: &Event) -> Resync {
        self.apply_reporting(event, |_| {})
    }

    /// [`Mirror::apply`], telling `report` each change made to the mirror
    /// (nothing for an event that changes nothing, such as one replayed
    /// after a resync).
    pub fn apply_reporting(&mut self, event: &Event, mut report: impl FnMut(Change)) -> Resync {
        match event {
            Event::NewLink(link) => self.new_link(link, &mut report),
            Event::DelLink(link) => self.del_link(link.index, &mut report),
            Event::NewAddress(address) => {
                self.new_address(address, &mut report);
                Resync::Nothing
            }
            Event::DelAddress(address) => {
                if let Some(old) = self
                    .addresses
                    .remove(&(address.index, AddressId::of(address)))
                {
                    report(self.address_change(ChangeKind::Removed, &old, AddressFields(0)));
                }
                // IPv4 routes through a gateway in the address's subnet go
                // silently with it.
                Resync::Routes
            }
            Event::NewRoute(route) => self.new_route(route, false, &mut report),
            Event::ReplaceRoute(route) => self.new_route(route, true, &mut report),
            Event::DelRoute(route) => {
                let entry = RouteEntry(route.clone());
                if self.routes.remove(&entry) {
                    report(self.route_change(ChangeKind::Removed, entry.0));
                }
                Resync::Nothing
            }
            // Not about links, addresses or routes (the daemon's `ra`).
            Event::NdUserOption(_) | Event::RaFlags(_) => Resync::Nothing,
            Event::Overrun => Resync::Everything,
        }
    }

    fn new_link(&mut self, link: &Link, report: &mut impl FnMut(Change)) -> Resync {
        let name = IfName::of(&link.name);
        let mut resync = Resync::Nothing;
        let change = match self.links.get(&link.index) {
            None => Some((ChangeKind::Added, LinkFields(0), IfName::default())),
            Some(old) => {
                // Down: the kernel drops the link's IPv4 routes without a
                // word. Carrier lost: it keeps them (flagged linkdown, not
                // modelled), but a re-read costs little next to a missed
                // drop.
                if (old.up && !link.up) || (old.lower_up && !link.lower_up) {
                    resync = Resync::Routes;
                }
                let fields = LinkFields::between(old, link);
                if fields.contains(LinkFields::NAME) {
                    let old_name = IfName::of(&old.name);
                    if self.names.get(&old_name) == Some(&link.index) {
                        self.names.remove(&old_name);
                    }
                    Some((ChangeKind::Changed, fields, old_name))
                } else if fields.is_empty() {
                    None
                } else {
                    Some((ChangeKind::Changed, fields, IfName::default()))
                }
            }
        };
        // Inserted even when the name did not change: a replayed event may
        // have lent the name to another link meanwhile.
        self.names.insert(name, link.index);
        self.links.insert(link.index, link.clone());
        if let Some((kind, fields, old_name)) = change {
            report(Change {
                kind,
                index: link.index,
                name,
                what: Subject::Link {
                    fields,
                    old_name,
                    up: link.up,
                    lower_up: link.lower_up,
                    mtu: link.mtu,
                    master: link.master,
                },
            });
        }
        resync
    }

    fn del_link(&mut self, index: u32, report: &mut impl FnMut(Change)) -> Resync {
        if let Some(old) = self.links.remove(&index) {
            let name = IfName::of(&old.name);
            if self.names.get(&name) == Some(&index) {
                self.names.remove(&name);
            }
            report(Change {
                kind: ChangeKind::Removed,
                index,
                name,
                what: Subject::Link {
                    fields: LinkFields(0),
                    old_name: IfName::default(),
                    up: old.up,
                    lower_up: old.lower_up,
                    mtu: old.mtu,
                    master: old.master,
                },
            });
        }
        let addresses: Vec<(u32, AddressId)> = self
            .addresses
            .range((index, AddressId::MIN)..)
            .take_while(|((i, _), _)| *i == index)
            .map(|(key, _)| *key)
            .collect();
        for key in addresses {
            self.addresses.remove(&key);
        }
        let routes: Vec<RouteEntry> = self
            .routes_from(Some(index))
            .take_while(|e| e.0.oif == Some(index))
            .cloned()
            .collect();
        for entry in routes {
            self.routes.remove(&entry);
        }
        // Routes through the link that we do not model (a multipath next
        // hop) changed silently.
        Resync::Routes
    }

    fn new_address(&mut self, address: &Address, report: &mut impl FnMut(Change)) {
        let key = (address.index, AddressId::of(address));
        match self.addresses.insert(key, address.clone()) {
            None => report(self.address_change(ChangeKind::Added, address, AddressFields(0))),
            Some(old) => {
                let fields = AddressFields::between(&old, address);
                if !fields.is_empty() {
                    report(self.address_change(ChangeKind::Changed, address, fields));
                }
            }
        }
    }

    fn new_route(
        &mut self,
        route: &Route,
        replace: bool,
        report: &mut impl FnMut(Change),
    ) -> Resync {
        let mut resync = Resync::Nothing;
        // The kernel refuses routes through a link that is down, and drops
        // them when it goes down (IPv4 local routes excepted): this one is
        // an old event replayed after a resync, and the link-down event that
        // would ask for the next resync may be behind us already.
        if route.kind != RouteKind::Local {
            if let Some(link) = route.oif.and_then(|oif| self.links.get(&oif)) {
                if !link.up {
                    resync = Resync::Routes;
                }
            }
        }
        let entry = RouteEntry(route.clone());
        if replace {
            if self.routes.contains(&entry) {
                // Either an old event replayed after a resync, or an IPv6
                // replace by an identical route: which route went cannot
                // be told.
                return Resync::Routes;
            }
            let slot = Slot::of(route);
            // One pass over all routes: replaces are rare (admin commands),
            // and ordering by slot would make link removal the slow one.
            let (first, more) = {
                let mut others = self.routes.iter().filter(|e| Slot::of(&e.0) == slot);
                (others.next().cloned(), others.next().is_some())
            };
            match (first, more) {
                (Some(replaced), false) => {
                    self.routes.remove(&replaced);
                    report(self.route_change(ChangeKind::Removed, replaced.0));
                }
                (Some(_), true) => resync = Resync::Routes,
                // We did not have the replaced route: nothing to remove.
                (None, _) => {}
            }
        }
        if self.routes.insert(entry) {
            report(self.route_change(ChangeKind::Added, route.clone()));
        }
        resync
    }

    /// Re-reads what `what` names and replaces it in the mirror.
    pub fn resync(&mut self, nl: &mut Netlink, what: Resync) -> Result<(), NetlinkError> {
        self.resync_reporting(nl, what, |_| {})
    }

    /// [`Mirror::resync`], telling `report` how the kernel differed from the
    /// mirror: the changes the kernel did not announce, or whose
    /// announcements were lost.
    pub fn resync_reporting(
        &mut self,
        nl: &mut Netlink,
        what: Resync,
        mut report: impl FnMut(Change),
    ) -> Result<(), NetlinkError> {
        match what {
            Resync::Nothing => {}
            Resync::Routes => {
                let fresh = Mirror {
                    routes: dump_routes(nl)?,
                    ..Mirror::default()
                };
                tracing::debug!(routes = fresh.routes.len(), "routes re-read");
                self.take(fresh, Resync::Routes, &mut report);
            }
            Resync::Everything => {
                let fresh = Mirror::dump(nl)?;
                tracing::debug!(
                    links = fresh.links.len(),
                    addresses = fresh.addresses.len(),
                    routes = fresh.routes.len(),
                    "links, addresses and routes re-read"
                );
                self.take(fresh, Resync::Everything, &mut report);
            }
        }
        Ok(())
    }

    /// Takes the routes (`Resync::Routes`) or everything of a fresh dump,
    /// reporting how they differ from ours.
    fn take(&mut self, fresh: Mirror, what: Resync, report: &mut impl FnMut(Change)) {
        let mut seen = |old, new| {
            report_difference(self, &fresh, old, new, report);
            ControlFlow::Continue(())
        };
        match what {
            Resync::Nothing => {}
            Resync::Routes => {
                let _ = self.diff_routes(&fresh, &mut seen);
                self.routes = fresh.routes;
            }
            Resync::Everything => {
                let _ = self.diff(&fresh, &mut seen);
                *self = fresh;
            }
        }
    }

    /// Whether this mirror holds what `other` holds (typically a fresh
    /// [`Mirror::dump`]), ignoring address lifetimes; the error names the
    /// first difference. Also checks that the name index agrees with the
    /// links.
    pub fn same_as(&self, other: &Mirror) -> Result<(), String> {
        for mirror in [self, other] {
            for link in mirror.links.values() {
                if mirror.link_by_name(&link.name).map(|l| l.index) != Some(link.index) {
                    return Err(format!(
                        "name index out of step: {} does not find ifindex {}",
                        link.name, link.index
                    ));
                }
            }
        }
        let mut first = None;
        let _ = self.diff(other, &mut |old, new| {
            first = Some(match (old, new) {
                (Some(old), None) => format!("only in the first: {old:?}"),
                (None, Some(new)) => format!("only in the second: {new:?}"),
                (Some(old), Some(new)) => format!("differs: {old:?} against {new:?}"),
                (None, None) => String::new(),
            });
            ControlFlow::Break(())
        });
        match first {
            Some(difference) => Err(difference),
            None => Ok(()),
        }
    }

    /// Every link, by ifindex.
    pub fn links(&self) -> impl Iterator<Item = &Link> + '_ {
        self.links.values()
    }

    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.get(&index)
    }

    /// The link now called `name` (renames are followed).
    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        let index = self.names.get(&IfName::new(name)?)?;
        self.links.get(index).filter(|link| link.name == name)
    }

    /// Every address, by link.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> + '_ {
        self.addresses.values()
    }

    /// The addresses of one link.
    pub fn addresses_of(&self, index: u32) -> impl Iterator<Item = &Address> + '_ {
        self.addresses
            .range((index, AddressId::MIN)..)
            .take_while(move |((i, _), _)| *i == index)
            .map(|(_, address)| address)
    }

    /// Every route, both families, all tables.
    pub fn routes(&self) -> impl Iterator<Item = &Route> + '_ {
        self.routes.iter().map(|e| &e.0)
    }

    /// The routes whose output interface is `index`.
    pub fn routes_of(&self, index: u32) -> impl Iterator<Item = &Route> + '_ {
        self.routes_from(Some(index))
            .take_while(move |e| e.0.oif == Some(index))
            .map(|e| &e.0)
    }

    fn routes_from(&self, oif: Option<u32>) -> impl Iterator<Item = &RouteEntry> + '_ {
        self.routes.range(RouteEntry::first_of(oif)..)
    }

    fn name_of(&self, index: u32) -> IfName {
        self.links
            .get(&index)
            .map(|l| IfName::of(&l.name))
            .unwrap_or_default()
    }

    fn address_change(&self, kind: ChangeKind, a: &Address, fields: AddressFields) -> Change {
        Change {
            kind,
            index: a.index,
            name: self.name_of(a.index),
            what: Subject::Address {
                addr: a.addr,
                prefix_len: a.prefix_len,
                peer: a.peer,
                fields,
            },
        }
    }

    fn route_change(&self, kind: ChangeKind, route: Route) -> Change {
        let index = route.oif.unwrap_or(0);
        Change {
            kind,
            index,
            name: self.name_of(index),
            what: Subject::Route(route),
        }
    }

    /// Walks both mirrors in order and calls `seen` with each difference
    /// (only-here, only-there, or both when different), until it breaks.
    fn diff<'a>(
        &'a self,
        other: &'a Mirror,
        seen: &mut dyn FnMut(Option<Item<'a>>, Option<Item<'a>>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        merge(
            self.links.iter(),
            other.links.iter(),
            |a, b| a == b,
            &mut |old, new| seen(old.map(Item::Link), new.map(Item::Link)),
        )?;
        merge(
            self.addresses.iter(),
            other.addresses.iter(),
            |a, b| AddressFields::between(a, b).is_empty(),
            &mut |old, new| seen(old.map(Item::Address), new.map(Item::Address)),
        )?;
        self.diff_routes(other, seen)
    }

    fn diff_routes<'a>(
        &'a self,
        other: &'a Mirror,
        seen: &mut dyn FnMut(Option<Item<'a>>, Option<Item<'a>>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        merge(
            self.routes.iter().map(|e| (e, &e.0)),
            other.routes.iter().map(|e| (e, &e.0)),
            |_, _| true,
            &mut |old, new| seen(old.map(Item::Route), new.map(Item::Route)),
        )
    }
}

/// One object of a mirror, in a difference.
#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Link(&'a Link),
    Address(&'a Address),
    Route(&'a Route),
}

/// Reports a difference found by a resync as the change the kernel made:
/// names come from the side that has the link.
fn report_difference(
    old_mirror: &Mirror,
    new_mirror: &Mirror,
    old: Option<Item<'_>>,
    new: Option<Item<'_>>,
    report: &mut impl FnMut(Change),
) {
    let went_with_its_link = |index: Option<u32>| {
        index.is_some_and(|i| {
            old_mirror.links.contains_key(&i) && !new_mirror.links.contains_key(&i)
        })
    };
    match (old, new) {
        (Some(Item::Address(a)), None) if went_with_its_link(Some(a.index)) => return,
        (Some(Item::Route(r)), None) if went_with_its_link(r.oif) => return,
        _ => {}
    }
    let change = match (old, new) {
        (Some(Item::Link(old)), Some(Item::Link(new))) => Change {
            kind: ChangeKind::Changed,
            index: new.index,
            name: IfName::of(&new.name),
            what: Subject::Link {
                fields: LinkFields::between(old, new),
                old_name: IfName::of(&old.name),
                up: new.up,
                lower_up: new.lower_up,
                mtu: new.mtu,
                master: new.master,
            },
        },
        (None, Some(Item::Link(link))) | (Some(Item::Link(link)), None) => Change {
            kind: if new.is_some() {
                ChangeKind::Added
            } else {
                ChangeKind::Removed
            },
            index: link.index,
            name: IfName::of(&link.name),
            what: Subject::Link {
                fields: LinkFields(0),
                old_name: IfName::default(),
                up: link.up,
                lower_up: link.lower_up,
                mtu: link.mtu,
                master: link.master,
            },
        },
        (Some(Item::Address(old)), Some(Item::Address(new))) => {
            new_mirror.address_change(ChangeKind::Changed, new, AddressFields::between(old, new))
        }
        (None, Some(Item::Address(a))) => {
            new_mirror.address_change(ChangeKind::Added, a, AddressFields(0))
        }
        (Some(Item::Address(a)), None) => {
            old_mirror.address_change(ChangeKind::Removed, a, AddressFields(0))
        }
        (None, Some(Item::Route(r))) => {
            let mut change = new_mirror.route_change(ChangeKind::Added, r.clone());
            if change.name.is_empty() {
                change.name = old_mirror.name_of(change.index);
            }
            change
        }
        (Some(Item::Route(r)), None) => {
            let mut change = old_mirror.route_change(ChangeKind::Removed, r.clone());
            if change.name.is_empty() {
                change.name = new_mirror.name_of(change.index);
            }
            change
        }
        // Both sides of a difference are always of one kind.
        _ => return,
    };
    report(change);
}

/// Walks two sorted maps together and calls `seen` where they differ.
fn merge<'a, K: Ord, V: 'a>(
    old: impl Iterator<Item = (K, &'a V)>,
    new: impl Iterator<Item = (K, &'a V)>,
    same: impl Fn(&V, &V) -> bool,
    seen: &mut dyn FnMut(Option<&'a V>, Option<&'a V>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut old: Peekable<_> = old.peekable();
    let mut new: Peekable<_> = new.peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => return ControlFlow::Continue(()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            Ordering::Less => {
                if let Some((_, a)) = old.next() {
                    seen(Some(a), None)?;
                }
            }
            Ordering::Greater => {
                if let Some((_, b)) = new.next() {
                    seen(None, Some(b))?;
                }
            }
            Ordering::Equal => {
                if let (Some((_, a)), Some((_, b))) = (old.next(), new.next()) {
                    if !same(a, b) {
                        seen(Some(a), Some(b))?;
                    }
                }
            }
        }
    }
}

fn dump_routes(nl: &mut Netlink) -> Result<BTreeSet<RouteEntry>, NetlinkError> {
    let mut routes = BTreeSet::new();
    for family in [Family::V4, Family::V6] {
        routes.extend(nl.routes(family, None, None)?.into_iter().map(RouteEntry));
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{AddressFlags, MAIN_TABLE};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn link(index: u32, name: &str, up: bool) -> Link {
        Link {
            index,
            name: name.to_string(),
            up,
            lower_up: up,
            mtu: 1500,
            mac: Some(vec![2, 0, 0, 0, 0, index as u8]),
            kind: Some("veth".to_string()),
            master: None,
            parent: None,
            details: None,
            alias: None,
        }
    }

    fn address(index: u32, text: &str, prefix_len: u8) -> Address {
        let addr = ip(text);
        Address {
            index,
            addr,
            prefix_len,
            peer: None,
            broadcast: None,
            scope: Scope::Universe,
            label: matches!(addr, IpAddr::V4(_)).then(|| format!("if{index}")),
            flags: AddressFlags::default(),
            valid_lft: None,
            preferred_lft: None,
            protocol: 0,
        }
    }

    fn route(dst: &str, len: u8, oif: u32) -> Route {
        let dst = ip(dst);
        Route {
            family: Family::of(&dst),
            destination: Some((dst, len)),
            gateway: None,
            oif: Some(oif),
            priority: None,
            table: MAIN_TABLE,
            protocol: 2,
            scope: Scope::Link,
            kind: RouteKind::Unicast,
            onlink: false,
            prefsrc: None,
        }
    }

    fn via(dst: &str, len: u8, gateway: &str, oif: u32) -> Route {
        Route {
            gateway: Some(ip(gateway)),
            scope: Scope::Universe,
            protocol: 3,
            ..route(dst, len, oif)
        }
    }

    /// Applies events, returning the largest resync and the change texts.
    fn apply(mirror: &mut Mirror, events: &[Event]) -> (Resync, Vec<String>) {
        let mut texts = Vec::new();
        let mut resync = Resync::Nothing;
        for event in events {
            resync = resync.max(mirror.apply_reporting(event, |c| texts.push(c.to_string())));
        }
        (resync, texts)
    }

    /// Two veth links (3 "a0" and 4 "a1"), up, with an address each.
    fn two_links() -> Mirror {
        let mut mirror = Mirror::default();
        apply(
            &mut mirror,
            &[
                Event::NewLink(link(3, "a0", true)),
                Event::NewLink(link(4, "a1", true)),
                Event::NewAddress(address(3, "198.51.100.1", 24)),
                Event::NewAddress(address(4, "203.0.113.1", 24)),
                Event::NewRoute(route("198.51.100.0", 24, 3)),
                Event::NewRoute(route("203.0.113.0", 24, 4)),
            ],
        );
        mirror
    }

    #[test]
    fn rename_is_the_same_link_and_lookups_follow() {
        let mut mirror = two_links();
        let (resync, texts) = apply(&mut mirror, &[Event::NewLink(link(3, "b0", true))]);
        assert_eq!(resync, Resync::Nothing);
        assert_eq!(texts, ["link b0 changed: renamed from a0"]);
        assert_eq!(mirror.link_by_name("b0").map(|l| l.index), Some(3));
        assert!(mirror.link_by_name("a0").is_none());
        assert_eq!(mirror.links().count(), 2);
        // Its addresses and routes stay: they are keyed by index.
        assert_eq!(mirror.addresses_of(3).count(), 1);
        assert_eq!(mirror.routes_of(3).count(), 1);

        // Swapping names through a third one, as udev does.
        apply(
            &mut mirror,
            &[
                Event::NewLink(link(3, "tmp", true)),
                Event::NewLink(link(4, "b0", true)),
                Event::NewLink(link(3, "a1", true)),
            ],
        );
        assert_eq!(mirror.link_by_name("a1").map(|l| l.index), Some(3));
        assert_eq!(mirror.link_by_name("b0").map(|l| l.index), Some(4));
        assert!(mirror.link_by_name("tmp").is_none());
        assert!(mirror.link_by_name("a-name-longer-than-fifteen").is_none());
        mirror.same_as(&mirror.clone()).unwrap();
    }

    #[test]
    fn a_replayed_rename_leaves_the_name_index_right() {
        // The mirror was re-read after: 5 is "a", 7 is "x". Queued before
        // the re-read: 7 was "a", 7 became "x", 5 became "a".
        let mut mirror = Mirror::default();
        apply(
            &mut mirror,
            &[
                Event::NewLink(link(5, "a", true)),
                Event::NewLink(link(7, "x", true)),
            ],
        );
        apply(
            &mut mirror,
            &[
                Event::NewLink(link(7, "a", true)),
                Event::NewLink(link(7, "x", true)),
                Event::NewLink(link(5, "a", true)),
            ],
        );
        assert_eq!(mirror.link_by_name("a").map(|l| l.index), Some(5));
        assert_eq!(mirror.link_by_name("x").map(|l| l.index), Some(7));
        mirror.same_as(&mirror.clone()).unwrap();
    }

    #[test]
    fn link_changes_are_described() {
        let mut mirror = two_links();
        let mut changed = link(3, "a0", false);
        changed.mtu = 9000;
        changed.master = Some(9);
        let (resync, texts) = apply(&mut mirror, &[Event::NewLink(changed.clone())]);
        assert_eq!(resync, Resync::Routes, "went down");
        assert_eq!(
            texts,
            ["link a0 changed: down, no carrier, mtu 9000, master ifindex 9"]
        );
        // The same state again is no change.
        let (resync, texts) = apply(&mut mirror, &[Event::NewLink(changed)]);
        assert_eq!((resync, texts.len()), (Resync::Nothing, 0));
        let (_, texts) = apply(&mut mirror, &[Event::NewLink(link(8, "c0", false))]);
        assert_eq!(texts, ["link c0 added"]);
    }

    #[test]
    fn deleting_a_link_drops_its_addresses_and_routes() {
        let mut mirror = two_links();
        apply(
            &mut mirror,
            &[
                Event::NewAddress(address(3, "2001:db8::1", 64)),
                Event::NewRoute(route("2001:db8::", 64, 3)),
                Event::NewRoute(via("192.0.2.0", 24, "198.51.100.254", 3)),
                // Addresses of a link we never saw are kept all the same.
                Event::NewAddress(address(2, "198.18.0.1", 24)),
            ],
        );
        assert_eq!(mirror.addresses_of(3).count(), 2);
        assert_eq!(mirror.routes_of(3).count(), 3);
        let (resync, texts) = apply(&mut mirror, &[Event::DelLink(link(3, "a0", true))]);
        assert_eq!(resync, Resync::Routes);
        assert_eq!(texts, ["link a0 removed"], "its contents go with it");
        assert!(mirror.link(3).is_none());
        assert!(mirror.link_by_name("a0").is_none());
        assert_eq!(mirror.addresses_of(3).count(), 0);
        assert_eq!(mirror.routes_of(3).count(), 0);
        // Neighbours keep theirs.
        assert_eq!(mirror.addresses_of(4).count(), 1);
        assert_eq!(mirror.addresses_of(2).count(), 1);
        assert_eq!(mirror.routes_of(4).count(), 1);
        assert_eq!(mirror.routes().count(), 1);
        // The kernel's own DELADDR after the DELLINK: nothing left to do.
        let (_, texts) = apply(
            &mut mirror,
            &[Event::DelAddress(address(3, "198.51.100.1", 24))],
        );
        assert!(texts.is_empty());
    }

    #[test]
    fn addresses_are_replaced_by_identity() {
        let mut mirror = two_links();
        // Lifetimes counting down: the new values are kept, nobody is told.
        let mut renewed = address(3, "198.51.100.1", 24);
        renewed.valid_lft = Some(600);
        renewed.preferred_lft = Some(300);
        let (resync, texts) = apply(&mut mirror, &[Event::NewAddress(renewed)]);
        assert_eq!((resync, texts.len()), (Resync::Nothing, 0));
        let kept: Vec<_> = mirror.addresses_of(3).collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].valid_lft, Some(600));

        // Flags are news.
        let mut secondary = address(3, "198.51.100.1", 24);
        secondary.flags.secondary = true;
        secondary.label = Some("a0:1".into());
        let (_, texts) = apply(&mut mirror, &[Event::NewAddress(secondary)]);
        assert_eq!(texts, ["198.51.100.1/24 changed on a0: label, flags"]);

        // IPv4: another prefix length or peer is another address.
        let mut peer = address(3, "198.51.100.1", 32);
        peer.peer = Some(ip("198.51.100.2"));
        let (_, texts) = apply(
            &mut mirror,
            &[
                Event::NewAddress(address(3, "198.51.100.1", 25)),
                Event::NewAddress(peer),
            ],
        );
        assert_eq!(
            texts,
            [
                "198.51.100.1/25 added on a0",
                "198.51.100.1 peer 198.51.100.2/32 added on a0"
            ]
        );
        assert_eq!(mirror.addresses_of(3).count(), 3);

        // IPv6: one per address and link; a replace may change the peer.
        let mut v6 = address(3, "2001:db8::1", 64);
        apply(&mut mirror, &[Event::NewAddress(v6.clone())]);
        v6.peer = Some(ip("2001:db8::2"));
        let (_, texts) = apply(&mut mirror, &[Event::NewAddress(v6.clone())]);
        assert_eq!(
            texts,
            ["2001:db8::1 peer 2001:db8::2/64 changed on a0: peer"]
        );
        assert_eq!(mirror.addresses_of(3).count(), 4);

        // Removal by identity; the kernel may have dropped routes with it.
        let (resync, texts) = apply(&mut mirror, &[Event::DelAddress(v6)]);
        assert_eq!(resync, Resync::Routes);
        assert_eq!(texts, ["2001:db8::1 peer 2001:db8::2/64 removed from a0"]);
        assert_eq!(mirror.addresses_of(3).count(), 3);
    }

    #[test]
    fn routes_of_the_same_destination_on_two_links_coexist() {
        let mut mirror = two_links();
        let (resync, texts) = apply(
            &mut mirror,
            &[
                Event::NewRoute(route("fe80::", 64, 3)),
                Event::NewRoute(route("fe80::", 64, 4)),
                Event::NewRoute(route("198.51.100.0", 24, 4)),
                // Announced again: the same route.
                Event::NewRoute(route("fe80::", 64, 3)),
            ],
        );
        assert_eq!(resync, Resync::Nothing);
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(
            texts[0],
            "route fe80::/64 dev ifindex 3 table 254 proto 2 added (a0)"
        );
        assert_eq!(mirror.routes().count(), 5);
        assert_eq!(mirror.routes_of(4).count(), 3);
        let (resync, texts) = apply(&mut mirror, &[Event::DelRoute(route("fe80::", 64, 4))]);
        assert_eq!(resync, Resync::Nothing);
        assert_eq!(texts.len(), 1);
        assert_eq!(mirror.routes_of(4).count(), 2);
        assert_eq!(mirror.routes_of(3).count(), 2);
    }

    #[test]
    fn replace_takes_the_place_of_the_route_in_its_slot() {
        let mut mirror = two_links();
        let old = via("192.0.2.0", 24, "198.51.100.254", 3);
        apply(&mut mirror, &[Event::NewRoute(old.clone())]);

        // One route in the slot: it is the one replaced, even on another link.
        let new = via("192.0.2.0", 24, "203.0.113.254", 4);
        let (resync, texts) = apply(&mut mirror, &[Event::ReplaceRoute(new.clone())]);
        assert_eq!(resync, Resync::Nothing);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].ends_with("removed (a0)"), "{texts:?}");
        assert!(texts[1].ends_with("added (a1)"), "{texts:?}");
        assert!(!mirror.routes().any(|r| *r == old));
        assert!(mirror.routes().any(|r| *r == new));

        // Another metric is another slot.
        let metric = Route {
            priority: Some(10),
            ..via("192.0.2.0", 24, "198.51.100.253", 3)
        };
        let (resync, _) = apply(&mut mirror, &[Event::ReplaceRoute(metric)]);
        assert_eq!(resync, Resync::Nothing);
        assert_eq!(
            mirror
                .routes()
                .filter(|r| r.destination == new.destination)
                .count(),
            2
        );

        // Two in the slot (`ip route append`): which one went cannot be told.
        let appended = via("192.0.2.0", 24, "203.0.113.253", 4);
        apply(&mut mirror, &[Event::NewRoute(appended)]);
        let third = via("192.0.2.0", 24, "203.0.113.252", 4);
        let (resync, _) = apply(&mut mirror, &[Event::ReplaceRoute(third.clone())]);
        assert_eq!(resync, Resync::Routes);
        assert!(mirror.routes().any(|r| *r == third));

        // Replayed after a resync (already there): cannot be told either.
        let (resync, texts) = apply(&mut mirror, &[Event::ReplaceRoute(third)]);
        assert_eq!((resync, texts.len()), (Resync::Routes, 0));

        // Nothing in the slot: just added.
        let lone = via("192.0.2.128", 25, "198.51.100.254", 3);
        let (resync, texts) = apply(&mut mirror, &[Event::ReplaceRoute(lone)]);
        assert_eq!((resync, texts.len()), (Resync::Nothing, 1));
    }

    #[test]
    fn resync_answers() {
        let mut mirror = two_links();
        let cases: Vec<(Event, Resync)> = vec![
            (
                Event::NewAddress(address(3, "198.51.100.9", 24)),
                Resync::Nothing,
            ),
            (Event::NewRoute(route("192.0.2.0", 24, 3)), Resync::Nothing),
            (Event::DelRoute(route("192.0.2.0", 24, 3)), Resync::Nothing),
            (
                Event::DelAddress(address(3, "198.51.100.9", 24)),
                Resync::Routes,
            ),
            (Event::Overrun, Resync::Everything),
            // Carrier lost, still up.
            (
                Event::NewLink(Link {
                    lower_up: false,
                    ..link(3, "a0", true)
                }),
                Resync::Routes,
            ),
            // Carrier back: the kernel announces what it adds.
            (Event::NewLink(link(3, "a0", true)), Resync::Nothing),
            (Event::NewLink(link(3, "a0", false)), Resync::Routes),
            // Already down: no news.
            (Event::NewLink(link(3, "a0", false)), Resync::Nothing),
            // A route through a link that is down is an old event replayed:
            // the kernel has dropped it since.
            (Event::NewRoute(route("192.0.2.0", 24, 3)), Resync::Routes),
            // IPv4 local routes stay on a link that is down.
            (
                Event::NewRoute(Route {
                    kind: RouteKind::Local,
                    table: 255,
                    ..route("198.51.100.9", 32, 3)
                }),
                Resync::Nothing,
            ),
            (Event::DelLink(link(4, "a1", true)), Resync::Routes),
        ];
        for (event, want) in cases {
            assert_eq!(mirror.apply(&event), want, "{event:?}");
        }
        assert_eq!(Resync::Nothing.max(Resync::Routes), Resync::Routes);
        assert_eq!(Resync::Everything.max(Resync::Routes), Resync::Everything);
    }

    #[test]
    fn same_as_ignores_lifetimes_and_names_the_first_difference() {
        let mirror = two_links();
        let mut other = two_links();
        let mut counted_down = address(3, "198.51.100.1", 24);
        counted_down.valid_lft = Some(17);
        other.apply(&Event::NewAddress(counted_down));
        mirror.same_as(&other).unwrap();

        other.apply(&Event::NewAddress(address(4, "203.0.113.2", 24)));
        let err = mirror.same_as(&other).unwrap_err();
        assert!(err.starts_with("only in the second: Address("), "{err}");
        assert!(err.contains("203.0.113.2"), "{err}");

        let mut other = two_links();
        other.apply(&Event::NewLink(Link {
            mtu: 1400,
            ..link(4, "a1", true)
        }));
        let err = mirror.same_as(&other).unwrap_err();
        assert!(err.starts_with("differs: Link("), "{err}");
        assert!(err.contains("1400"), "{err}");

        let mut other = two_links();
        other.apply(&Event::DelRoute(route("203.0.113.0", 24, 4)));
        let err = mirror.same_as(&other).unwrap_err();
        assert!(err.starts_with("only in the first: Route("), "{err}");

        let mut broken = two_links();
        broken.names.clear();
        let err = broken.same_as(&mirror).unwrap_err();
        assert!(err.starts_with("name index out of step"), "{err}");
    }

    #[test]
    fn taking_a_fresh_dump_reports_what_the_kernel_did_silently() {
        let mut mirror = two_links();
        mirror.apply(&Event::NewRoute(via("192.0.2.0", 24, "198.51.100.254", 3)));
        let mut fresh = two_links();
        fresh.apply(&Event::NewLink(Link {
            mtu: 9000,
            ..link(4, "a1", true)
        }));
        fresh.apply(&Event::NewAddress(address(4, "203.0.113.2", 24)));
        fresh.apply(&Event::DelAddress(address(3, "198.51.100.1", 24)));
        fresh.apply(&Event::NewLink(link(6, "c0", false)));

        // Routes only: the route through the gateway went.
        let mut texts = Vec::new();
        let mut routes_only = mirror.clone();
        routes_only.take(fresh.clone(), Resync::Routes, &mut |c| {
            texts.push(c.to_string())
        });
        assert_eq!(
            texts,
            ["route 192.0.2.0/24 via 198.51.100.254 dev ifindex 3 table 254 proto 3 removed (a0)"]
        );
        assert_eq!(routes_only.links().count(), 2, "links are not re-read");

        let mut texts = Vec::new();
        mirror.take(fresh.clone(), Resync::Everything, &mut |c| {
            texts.push(c.to_string())
        });
        assert_eq!(
            texts,
            [
                "link a1 changed: mtu 9000",
                "link c0 added",
                "198.51.100.1/24 removed from a0",
                "203.0.113.2/24 added on a1",
                "route 192.0.2.0/24 via 198.51.100.254 dev ifindex 3 table 254 proto 3 removed (a0)",
            ]
        );
        mirror.same_as(&fresh).unwrap();
        assert_eq!(mirror.link_by_name("c0").map(|l| l.index), Some(6));

        // A link gone: its addresses and routes are not listed.
        let mut gone = fresh.clone();
        gone.apply(&Event::DelLink(link(4, "a1", true)));
        let mut texts = Vec::new();
        mirror.take(gone, Resync::Everything, &mut |c| texts.push(c.to_string()));
        assert_eq!(texts, ["link a1 removed"]);
    }

    #[test]
    fn names_are_held_inline() {
        let name = IfName::new("fifteen-bytes-x").unwrap();
        assert_eq!(name.as_str(), "fifteen-bytes-x");
        assert_eq!(name.to_string(), "fifteen-bytes-x");
        assert!(IfName::new("sixteen-bytes-xx").is_none());
        assert!(IfName::default().is_empty());
        let change = Change {
            kind: ChangeKind::Added,
            index: 12,
            name: IfName::default(),
            what: Subject::Address {
                addr: ip("198.51.100.7"),
                prefix_len: 24,
                peer: None,
                fields: AddressFields::default(),
            },
        };
        assert_eq!(change.to_string(), "198.51.100.7/24 added on ifindex 12");
    }
}
