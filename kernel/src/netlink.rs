//! netconf's one door to rtnetlink.
//!
//! Everything netconf reads from or changes in the kernel's links, addresses
//! and routes goes through [`Netlink`] (requests, synchronous) and
//! [`Monitor`] (notifications, and the DNS options of IPv6 router
//! advertisements that the kernel leaves to user space: [`NdUserOption`]). Both speak only netconf's own plain types
//! (`std::net` addresses, [`Link`], [`Address`], [`Route`], ...): the
//! `netlink-packet-*` crates break their API with almost every release, and
//! this module is the only code that names their types, so an upgrade touches
//! this folder and nothing else.
//!
//! The socket is blocking and used by one thread (the daemon's dispatcher):
//! the kernel handles one request at a time anyway, and a blocking
//! send-and-wait-for-ACK adds the least on top (about 19 µs per address add,
//! measured). Every change is one request, acknowledged by the kernel, and a
//! refusal comes back as a [`NetlinkError`] whose kind says what happened and
//! whose message says what was being done.
//!
//! Sockets belong to the network namespace of the thread that opens them, and
//! so do the `/proc/sys/net` files [`set_ipv6_conf`] writes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

mod error;
mod kinds;
mod links;
mod monitor;
mod nduseropt;
mod socket;
mod sysctl;
mod tunnels;
mod wire;
mod wireless;

pub use error::NetlinkError;
pub use kinds::{
    AdSelect, ArpAllTargets, ArpValidate, BondAttrs, BondMode, BridgeAttrs, BridgeVlan, CanAttrs,
    CanCtrl, FailOverMac, IpvlanAttrs, IpvlanMode, LacpRate, LinkKind, MacvlanAttrs, MacvlanMode,
    NewLink, PrimaryReselect, VethAttrs, VlanAttrs, VlanProtocol, VrfAttrs, VxlanAttrs,
    XmitHashPolicy, MAX_ARP_TARGETS, VXLAN_PORT,
};
pub use monitor::{decode_notifications, Event, Monitor};
pub use nduseropt::{NdLifetime, NdUserOptError, NdUserOption};
pub use sysctl::{get_ipv6_conf, set_ipv6_conf, shares_network_namespace};
pub use tunnels::{EncapLimit, TunnelAttrs, TunnelMode};
pub use wireless::associated_ssids;

use socket::Socket;

/// The route protocol (`rtm_protocol`) netconf tags its own routes with, so
/// that they can be told from the kernel's (2), from `ip route add`'s
/// (3, `boot`), from other daemons' and from an admin's `proto static` (4).
///
/// 93 is free in every list we checked: the kernel's `RTPROT_*` (0–4, 8–18,
/// 42 babel, 99 openr, 186–189 and 192 for bgp/isis/ospf/rip/eigrp; OVN took
/// 84 in Linux 6.15), iproute2's `/etc/iproute2/rt_protos`, FRR (11,
/// 186–198), BIRD (12), keepalived (18) and Calico (80). The kernel does not
/// interpret values above `RTPROT_STATIC`; `ip route` shows it as
/// `proto 93`, or by name once packaging adds `93 netconf` to
/// `/etc/iproute2/rt_protos.d/netconf.conf`.
pub const NETCONF_ROUTE_PROTOCOL: u8 = 93;

/// The main routing table (`RT_TABLE_MAIN`), where routes go by default.
pub const MAIN_TABLE: u32 = 254;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "inet")]
    V4,
    #[serde(rename = "inet6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The longest prefix of the family: 32 or 128.
    pub fn max_prefix_len(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        })
    }
}

/// The scope of an address or route (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `global` in ifupdown and `ip` (0).
    Universe,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// Reads ifupdown's `scope` option (`global`, `site`, `link`, `host`),
    /// plus `universe`, `nowhere` and a plain number as `ip` accepts them.
    pub fn from_name(name: &str) -> Option<Scope> {
        match name {
            "global" | "universe" => Some(Scope::Universe),
            "site" => Some(Scope::Site),
            "link" => Some(Scope::Link),
            "host" => Some(Scope::Host),
            "nowhere" => Some(Scope::Nowhere),
            number => number.parse::<u8>().ok().map(Scope::from_u8),
        }
    }

    pub fn from_u8(value: u8) -> Scope {
        match value {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            other => Scope::Other(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            Scope::Universe => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(value) => value,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Scope::from_u8(self.as_u8()) {
            Scope::Universe => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(value) => write!(f, "{value}"),
        }
    }
}

/// A network interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier (`IFF_LOWER_UP`).
    pub lower_up: bool,
    pub mtu: u32,
    /// The link-layer address (6 bytes for Ethernet-like links; other
    /// lengths for other link types; `None` when the link has none).
    pub mac: Option<Vec<u8>>,
    /// `IFLA_INFO_KIND` ("veth", "bridge", "macvlan", ...); `None` for
    /// physical devices and loopback.
    pub kind: Option<String>,
    /// The bridge (or bond) this link is a port of (`IFLA_MASTER`).
    pub master: Option<u32>,
    /// `IFLA_LINK`: the lower device of a macvlan or vlan, or a veth's peer
    /// (whose index may belong to another namespace).
    pub parent: Option<u32>,
    /// The configuration of a bridge, bond, vlan, macvlan, vxlan, veth or
    /// dummy (`IFLA_INFO_DATA`): what diffing a link netconf creates needs.
    /// `None` for other kinds and for physical devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<LinkKind>,
    /// The link's description (`IFLA_IFALIAS`, `ip link set alias`);
    /// `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The `IFA_F_*` flags of an address that netconf cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressFlags {
    pub secondary: bool,
    pub permanent: bool,
    /// IPv6 duplicate address detection still running.
    pub tentative: bool,
    pub nodad: bool,
    pub dadfailed: bool,
    pub deprecated: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
}

/// An address on an interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub index: u32,
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when that is all
    /// there is, as for most IPv6 addresses).
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The other end of a point-to-point address (`IFA_ADDRESS` when it
    /// differs from `IFA_LOCAL`).
    pub peer: Option<IpAddr>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Scope,
    /// IPv4 label (`eth0:1`); the kernel reports the interface name when
    /// none was given.
    pub label: Option<String>,
    pub flags: AddressFlags,
    /// Seconds left; `None` is forever.
    pub valid_lft: Option<u32>,
    /// Seconds left; `None` is forever.
    pub preferred_lft: Option<u32>,
    /// `IFA_PROTO` (Linux 5.18+): who added the address; 0 when unset.
    pub protocol: u8,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "{} peer {}/{}", self.addr, peer, self.prefix_len),
            None => write!(f, "{}/{}", self.addr, self.prefix_len),
        }
    }
}

/// The kind of a route (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Unspec,
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
    Other(u8),
}

impl RouteKind {
    pub fn from_u8(value: u8) -> RouteKind {
        match value {
            0 => RouteKind::Unspec,
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            4 => RouteKind::Anycast,
            5 => RouteKind::Multicast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            9 => RouteKind::Throw,
            10 => RouteKind::Nat,
            other => RouteKind::Other(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            RouteKind::Unspec => 0,
            RouteKind::Unicast => 1,
            RouteKind::Local => 2,
            RouteKind::Broadcast => 3,
            RouteKind::Anycast => 4,
            RouteKind::Multicast => 5,
            RouteKind::Blackhole => 6,
            RouteKind::Unreachable => 7,
            RouteKind::Prohibit => 8,
            RouteKind::Throw => 9,
            RouteKind::Nat => 10,
            RouteKind::Other(value) => value,
        }
    }
}

/// A route as the kernel reports it.
///
/// Multipath routes are reported without `gateway` and `oif` (their
/// next hops are not modelled yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub family: Family,
    /// `None` is the default route (prefix length 0).
    pub destination: Option<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    /// The metric (`RTA_PRIORITY`).
    pub priority: Option<u32>,
    pub table: u32,
    /// `rtm_protocol`: 2 kernel, 3 boot (`ip route add`), 4 static, 16 dhcp,
    /// [`NETCONF_ROUTE_PROTOCOL`] for ours.
    pub protocol: u8,
    pub scope: Scope,
    pub kind: RouteKind,
    pub onlink: bool,
    /// Preferred source address (`RTA_PREFSRC`).
    pub prefsrc: Option<IpAddr>,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_route(
            f,
            self.kind,
            self.destination,
            self.gateway,
            self.oif,
            self.priority,
            self.table,
            self.protocol,
        )
    }
}

/// What the last router advertisement a link heard said of DHCPv6: its M
/// (managed: addresses by DHCPv6) and O (other configuration by DHCPv6)
/// flags, as the kernel keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaFlags {
    pub index: u32,
    pub managed: bool,
    pub other: bool,
}

/// An entry of the kernel's neighbour table (ARP, NDP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    pub index: u32,
    pub addr: IpAddr,
    /// The link-layer address; `None` while it is being resolved or when
    /// resolution failed.
    pub lladdr: Option<Vec<u8>>,
}

/// A change to a link: only the fields that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkChange {
    /// Bring the link up (`IFF_UP`) or down.
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    /// Some drivers refuse a new address while the link is up (EBUSY);
    /// veth and bridge take it.
    pub mac: Option<[u8; 6]>,
    /// Make the link a port of this bridge (or bond); `Some(0)` releases it.
    pub master: Option<u32>,
    /// The link's group (`IFLA_GROUP`): links of one group can be deleted
    /// in one request ([`Netlink::del_link_group`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// The link's description (`IFLA_IFALIAS`); `Some("")` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl LinkChange {
    fn is_empty(&self) -> bool {
        *self == LinkChange::default()
    }
}

/// An address to add (see [`Netlink::add_address`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAddress {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The remote end of a point-to-point link (`pointopoint`).
    pub peer: Option<IpAddr>,
    pub broadcast: Option<Ipv4Addr>,
    /// `None`: host for 127.0.0.0/8, global otherwise (as `ip` does). The
    /// kernel picks IPv6 scopes itself.
    pub scope: Option<Scope>,
    /// IPv4 only; like `ip`, give the interface name or `name:suffix` (the
    /// kernel does not check, but other tools expect it), 15 bytes at most.
    pub label: Option<String>,
    /// IPv6: skip duplicate address detection (the address is usable at once).
    pub nodad: bool,
    /// Do not add the prefix route for the address.
    pub noprefixroute: bool,
    /// Seconds; `None` is forever.
    pub valid_lft: Option<u32>,
    /// Seconds; `None` is forever; must not exceed `valid_lft`.
    pub preferred_lft: Option<u32>,
}

impl NewAddress {
    /// `addr/prefix_len` on interface `index`, everything else unset.
    pub fn new(index: u32, addr: IpAddr, prefix_len: u8) -> NewAddress {
        NewAddress {
            index,
            addr,
            prefix_len,
            peer: None,
            broadcast: None,
            scope: None,
            label: None,
            nodad: false,
            noprefixroute: false,
            valid_lft: None,
            preferred_lft: None,
        }
    }
}

impl fmt::Display for NewAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "{} peer {}/{}", self.addr, peer, self.prefix_len),
            None => write!(f, "{}/{}", self.addr, self.prefix_len),
        }
    }
}

/// A unicast route to add or delete (see [`Netlink::add_route`],
/// [`Netlink::del_route`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRoute {
    pub family: Family,
    /// `None` is the default route.
    pub destination: Option<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    /// The metric. When deleting, `None` matches any.
    pub priority: Option<u32>,
    /// [`MAIN_TABLE`] unless policy routing says otherwise.
    pub table: u32,
    /// When deleting, 0 matches any protocol.
    pub protocol: u8,
    /// Usually [`Scope::Universe`] for a route via a gateway and
    /// [`Scope::Link`] for one straight on the link (what `ip` picks). When
    /// deleting an IPv4 route, [`Scope::Nowhere`] matches any scope.
    pub scope: Scope,
    /// Trust that the gateway is on the link even if no prefix says so.
    pub onlink: bool,
}

impl NewRoute {
    /// A default route of `family` in the main table, global scope, tagged
    /// as netconf's; fill in the rest with struct update syntax.
    pub fn new(family: Family) -> NewRoute {
        NewRoute {
            family,
            destination: None,
            gateway: None,
            oif: None,
            priority: None,
            table: MAIN_TABLE,
            protocol: NETCONF_ROUTE_PROTOCOL,
            scope: Scope::Universe,
            onlink: false,
        }
    }
}

impl From<&Route> for NewRoute {
    /// The route as dumped, e.g. to delete exactly it.
    fn from(route: &Route) -> NewRoute {
        NewRoute {
            family: route.family,
            destination: route.destination,
            gateway: route.gateway,
            oif: route.oif,
            priority: route.priority,
            table: route.table,
            protocol: route.protocol,
            scope: route.scope,
            onlink: route.onlink,
        }
    }
}

impl fmt::Display for NewRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_route(
            f,
            RouteKind::Unicast,
            self.destination,
            self.gateway,
            self.oif,
            self.priority,
            self.table,
            self.protocol,
        )
    }
}

/// Route text in `ip route`'s words, for messages and logs.
#[allow(clippy::too_many_arguments)]
fn write_route(
    f: &mut fmt::Formatter<'_>,
    kind: RouteKind,
    destination: Option<(IpAddr, u8)>,
    gateway: Option<IpAddr>,
    oif: Option<u32>,
    priority: Option<u32>,
    table: u32,
    protocol: u8,
) -> fmt::Result {
    match kind {
        RouteKind::Unicast | RouteKind::Unspec => {}
        other => write!(f, "{} ", format!("{other:?}").to_lowercase())?,
    }
    match destination {
        Some((addr, len)) => write!(f, "{addr}/{len}")?,
        None => f.write_str("default")?,
    }
    if let Some(gateway) = gateway {
        write!(f, " via {gateway}")?;
    }
    if let Some(oif) = oif {
        write!(f, " dev ifindex {oif}")?;
    }
    if let Some(priority) = priority {
        write!(f, " metric {priority}")?;
    }
    write!(f, " table {table} proto {protocol}")
}

/// A NETLINK_ROUTE connection for queries and changes.
///
/// Blocking, one request at a time; not for sharing between threads (it
/// lives in the namespace of the thread that opened it).
pub struct Netlink {
    sock: Socket,
    writes: u64,
}

impl fmt::Debug for Netlink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netlink")
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace, with strict
    /// checking (`NETLINK_GET_STRICT_CHK`, so the kernel filters dumps as
    /// asked) and extended ACKs (errors come with the kernel's reason).
    pub fn open() -> Result<Netlink, NetlinkError> {
        let sock = Socket::open().map_err(|source| NetlinkError::Io {
            op: "opening a NETLINK_ROUTE socket".to_string(),
            source,
        })?;
        Ok(Netlink { sock, writes: 0 })
    }

    /// How many change requests this connection has sent (successful or
    /// not). Queries do not count: a caller can prove it changed nothing.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Every link.
    pub fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        self.sock
            .dump(wire::dump_links(), wire::decode_link)
            .map_err(|f| f.into_error("listing links".to_string()))
    }

    /// The link with this index; `None` when there is none.
    pub fn link(&mut self, index: u32) -> Result<Option<Link>, NetlinkError> {
        if index == 0 {
            return Ok(None);
        }
        self.get_link(wire::get_link_by_index(index), || {
            format!("reading link ifindex {index}")
        })
    }

    /// The link with this name (or alternative name); `None` when there is
    /// none (the kernel's ENODEV) or the name cannot be one (longer than 15
    /// bytes, or containing `/`, whitespace or NUL).
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        if !wire::valid_ifname(name) {
            return Ok(None);
        }
        self.get_link(wire::get_link_by_name(name), || {
            format!("reading link {name}")
        })
    }

    fn get_link(
        &mut self,
        request: wire::Request,
        op: impl FnOnce() -> String,
    ) -> Result<Option<Link>, NetlinkError> {
        match self.sock.get(request, wire::decode_link) {
            Ok(link) => Ok(link),
            Err(socket::Failure::Kernel {
                errno: libc::ENODEV,
                ..
            }) => Ok(None),
            Err(f) => Err(f.into_error(op())),
        }
    }

    /// Addresses, of one link (`index`) and/or family or all of them; the
    /// kernel filters. A link that does not exist is
    /// [`NetlinkError::NoDevice`].
    pub fn addresses(
        &mut self,
        index: Option<u32>,
        family: Option<Family>,
    ) -> Result<Vec<Address>, NetlinkError> {
        let mut found = self
            .sock
            .dump(wire::dump_addresses(index, family), wire::decode_address)
            .map_err(|f| {
                let mut op = "listing addresses".to_string();
                if let Some(family) = family {
                    op = format!("listing {family} addresses");
                }
                if let Some(index) = index {
                    op.push_str(&format!(" of ifindex {index}"));
                }
                f.into_error(op)
            })?;
        // The kernel filtered already (strict checking); this keeps the
        // promise even if a kernel ever did not.
        found.retain(|a| {
            index.is_none_or(|i| a.index == i) && family.is_none_or(|f| Family::of(&a.addr) == f)
        });
        Ok(found)
    }

    /// Routes of a family, optionally of one table and one output
    /// interface; the kernel filters. Without a table, every table is
    /// listed, including `local` (255) with its local and broadcast routes.
    /// A table that does not exist has no routes; an `oif` that does not
    /// exist is [`NetlinkError::NoDevice`]. Cached exceptions (PMTU,
    /// redirects) are not listed.
    pub fn routes(
        &mut self,
        family: Family,
        table: Option<u32>,
        oif: Option<u32>,
    ) -> Result<Vec<Route>, NetlinkError> {
        let mut found = match self
            .sock
            .dump(wire::dump_routes(family, table, oif), wire::decode_route)
        {
            Ok(routes) => routes,
            // The kernel answers a dump of a table it has never created
            // with ENOENT ("FIB table does not exist").
            Err(socket::Failure::Kernel {
                errno: libc::ENOENT,
                ..
            }) if table.is_some() => Vec::new(),
            Err(f) => {
                let mut op = format!("listing {family} routes");
                if let Some(table) = table {
                    op.push_str(&format!(" of table {table}"));
                }
                if let Some(oif) = oif {
                    op.push_str(&format!(" via ifindex {oif}"));
                }
                return Err(f.into_error(op));
            }
        };
        // Filtered by the kernel already; this keeps the promise even if a
        // kernel ever did not.
        found.retain(|r| {
            r.family == family
                && table.is_none_or(|t| r.table == t)
                && oif.is_none_or(|o| r.oif == Some(o))
        });
        Ok(found)
    }

    /// The neighbour table of a family (ARP for IPv4, NDP for IPv6).
    pub fn neighbours(&mut self, family: Family) -> Result<Vec<Neighbour>, NetlinkError> {
        self.sock
            .dump(wire::dump_neighbours(family), wire::decode_neighbour)
            .map_err(|f| f.into_error(format!("listing {family} neighbours")))
    }

    /// The M and O flags of the last router advertisement each link heard
    /// (links that heard none have both false).
    pub fn ra_flags(&mut self) -> Result<Vec<RaFlags>, NetlinkError> {
        self.sock
            .dump(wire::dump_ipv6_links(), wire::decode_ra_flags)
            .map_err(|f| f.into_error("listing the IPv6 state of links".to_string()))
    }

    /// Changes a link in one request carrying only the fields given. An
    /// empty change sends nothing.
    pub fn set_link(&mut self, index: u32, change: &LinkChange) -> Result<(), NetlinkError> {
        if change.is_empty() {
            return Ok(());
        }
        self.write(wire::set_link(index, change), 0, || {
            format!(
                "setting {} on ifindex {index}",
                wire::describe_link_change(change)
            )
        })
    }

    /// Deletes a link (a virtual one: veth, bridge, macvlan, ...).
    pub fn del_link(&mut self, index: u32) -> Result<(), NetlinkError> {
        self.write(wire::del_link(index), 0, || {
            format!("deleting link ifindex {index}")
        })
    }

    /// Deletes every link of `group` in one request: the kernel unregisters
    /// them as one batch, waiting for RCU once rather than once per link
    /// (~40 ms each for a bridge).
    pub fn del_link_group(&mut self, group: u32) -> Result<(), NetlinkError> {
        self.write(wire::del_link_group(group), 0, || {
            format!("deleting the links of group {group}")
        })
    }

    /// Adds an address; with `replace`, an existing one with the same
    /// address and prefix length is updated instead of refused
    /// ([`NetlinkError::Exists`]).
    pub fn add_address(&mut self, addr: &NewAddress, replace: bool) -> Result<(), NetlinkError> {
        let op = || {
            if replace {
                format!("replacing {addr} on ifindex {}", addr.index)
            } else {
                format!("adding {addr} to ifindex {}", addr.index)
            }
        };
        let msg = wire::new_address(addr).map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, create_flags(replace), op)
    }

    /// Deletes an address. `peer` must be given for a point-to-point address
    /// (the kernel matches IPv4 addresses by their `IFA_ADDRESS`).
    pub fn del_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> Result<(), NetlinkError> {
        let op = || {
            let text = match peer {
                Some(peer) => format!("{addr} peer {peer}/{prefix_len}"),
                None => format!("{addr}/{prefix_len}"),
            };
            format!("removing {text} from ifindex {index}")
        };
        let msg = wire::del_address(index, addr, prefix_len, peer)
            .map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, 0, op)
    }

    /// Adds a route; with `replace`, an existing one with the same
    /// destination, table and metric is updated instead of refused
    /// ([`NetlinkError::Exists`]).
    pub fn add_route(&mut self, route: &NewRoute, replace: bool) -> Result<(), NetlinkError> {
        let op = || {
            let verb = if replace { "replacing" } else { "adding" };
            format!("{verb} route {route}")
        };
        let msg = wire::new_route(route, false).map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, create_flags(replace), op)
    }

    /// Deletes the first route matching `route`: destination and table
    /// always; gateway, oif, metric, protocol (non-zero) and (IPv4) scope
    /// when given (see [`NewRoute`]).
    pub fn del_route(&mut self, route: &NewRoute) -> Result<(), NetlinkError> {
        let op = || format!("deleting route {route}");
        let msg = wire::new_route(route, true).map_err(|why| NetlinkError::invalid(op(), &why))?;
        self.write(msg, 0, op)
    }

    fn write(
        &mut self,
        msg: wire::Request,
        flags: u16,
        op: impl FnOnce() -> String,
    ) -> Result<(), NetlinkError> {
        self.writes += 1;
        self.sock.ack(msg, flags).map_err(|f| f.into_error(op()))
    }
}

fn create_flags(replace: bool) -> u16 {
    use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
    if replace {
        NLM_F_CREATE | NLM_F_REPLACE
    } else {
        NLM_F_CREATE | NLM_F_EXCL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names() {
        assert_eq!(Scope::from_name("global"), Some(Scope::Universe));
        assert_eq!(Scope::from_name("site"), Some(Scope::Site));
        assert_eq!(Scope::from_name("link"), Some(Scope::Link));
        assert_eq!(Scope::from_name("host"), Some(Scope::Host));
        assert_eq!(Scope::from_name("253"), Some(Scope::Link));
        assert_eq!(Scope::from_name("17"), Some(Scope::Other(17)));
        assert_eq!(Scope::from_name("galaxy"), None);
        for value in 0..=255u8 {
            assert_eq!(Scope::from_u8(value).as_u8(), value);
            assert_eq!(RouteKind::from_u8(value).as_u8(), value);
        }
        assert_eq!(Scope::Other(253).to_string(), "link");
        assert_eq!(Scope::Universe.to_string(), "global");
    }

    #[test]
    fn route_text() {
        let route = NewRoute {
            gateway: Some("198.51.100.254".parse().unwrap()),
            oif: Some(5),
            priority: Some(100),
            ..NewRoute::new(Family::V4)
        };
        assert_eq!(
            route.to_string(),
            "default via 198.51.100.254 dev ifindex 5 metric 100 table 254 proto 93"
        );
        let route = NewRoute {
            destination: Some(("2001:db8::".parse().unwrap(), 32)),
            ..NewRoute::new(Family::V6)
        };
        assert_eq!(route.to_string(), "2001:db8::/32 table 254 proto 93");
    }

    #[test]
    fn serde_names() {
        assert_eq!(serde_json::to_string(&Family::V6).unwrap(), "\"inet6\"");
        assert_eq!(serde_json::to_string(&Scope::Link).unwrap(), "\"link\"");
    }
}
