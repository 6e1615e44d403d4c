//! Links as stanzas ask for them: from a stanza's options, in Debian's
//! spellings (bridge-utils `bridge_ports`, `bridge_stp`, `bridge_fd`, ...;
//! ifenslave `bond-slaves`, `bond-master`, `bond-mode`, ...; the vlan
//! package's `vlan-raw-device` and `eth0.10`/`vlan10` names) and in
//! ifupdown2/ifupdown-ng's (`bridge-ports`, `bridge-vlan-aware`,
//! `bridge-vids`, `bond-members`, `vxlan-id`, `vxlan-local-tunnelip`,
//! `vxlan-remote-ip`, `link-type`, `veth-peer-name`, ...), the [`LinkSpec`]
//! of the link to create (kind, attributes, lower devices and ports by name)
//! and the stanza's part in other links ([`StanzaLinks`]).
//!
//! Which options make which kind, and which name other interfaces, is
//! [`netconf_interfaces::linkopts`]: the dependency graph reads the same
//! vocabulary, so that what orders interfaces and what creates them agree.
//! `-` and `_` are the same in option names, as they are to Debian's hook
//! scripts (both become `IF_BRIDGE_PORTS`).
//!
//! A [`LinkSpec`] knows names; [`LinkSpec::to_new_link`] turns it into the
//! [`NewLink`] request once its lower devices exist, and
//! [`LinkSpec::compare`] says what to do with a link of that name that is
//! already there. Errors name the interface and the option as written:
//! `br0: bridge_fd: "x" is not a number of seconds`.
//!
//! Bonds take every option ifenslave's hook script writes, but
//! `bond-active-slave` and `bond-queue-id` (actions on slaves, not the
//! bond's configuration) and `bond-give-a-chance` (its `if-up.d` wait for
//! a Wi-Fi slave), plus ifupdown2's `bond-min-links`,
//! `bond-all-slaves-active` and `bond-arp-all-targets`; see
//! `man/netconf-interfaces.5`.
//!
//! Not handled (the packages' scripts do them when installed):
//! bridge-utils' per-port `bridge_pathcost`/`bridge_portprio` and
//! `bridge_gcint` (no longer a kernel setting); the bond options above;
//! vxlan head-end replication (several `vxlan-peer-ips`), which is refused
//! rather than half done.

use crate::provider::{parse_mac, StanzaConfig};
use netconf_interfaces::linkopts::{
    self, find, stanza_kind, vlan_name, Found, PortList, PortListError, StanzaKind, VlanName,
};
use netconf_interfaces::Variables;
use netconf_kernel::netlink::{
    AdSelect, ArpAllTargets, ArpValidate, FailOverMac, PrimaryReselect, MAX_ARP_TARGETS,
};
use netconf_kernel::netlink::{
    BondAttrs, BondMode, BridgeAttrs, BridgeVlan, LacpRate, Link, LinkKind, MacvlanAttrs,
    MacvlanMode, NewLink, VethAttrs, VlanAttrs, VlanProtocol, VxlanAttrs, XmitHashPolicy,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

mod l3;
pub use l3::{IpvlanSpec, VrfSpec, VrfTable, VRF_AUTO_TABLES};

/// What is wrong with a stanza's link options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// `br0: bridge_fd: "x" is not a number of seconds`
    #[error("{iface}: {option}: {value:?} {reason}")]
    Invalid {
        iface: String,
        option: String,
        value: String,
        reason: String,
    },
    /// `mgmt: a VLAN needs vlan-raw-device`
    #[error("{iface}: a {what} needs {needs}")]
    Missing {
        iface: String,
        what: String,
        needs: String,
    },
    /// `eth0.10: vlan-raw-device eth1 contradicts the name (VLAN 10 on eth0)`
    #[error("{iface}: {option} {value} contradicts {other}")]
    Conflict {
        iface: String,
        option: String,
        value: String,
        other: String,
    },
    /// Something netconf does not do (yet).
    #[error("{iface}: {option}: {reason}")]
    Unsupported {
        iface: String,
        option: String,
        reason: String,
    },
    /// A lower device named by the stanza is not there (yet).
    #[error("{iface}: {option}: {device} does not exist")]
    NoDevice {
        iface: String,
        option: String,
        device: String,
    },
}

/// A link a stanza creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// The link's name: the physical interface of the stanza.
    pub name: String,
    pub kind: LinkSpecKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSpecKind {
    Bridge(BridgeSpec),
    Bond(BondSpec),
    Vlan(VlanSpec),
    Macvlan(MacvlanSpec),
    /// `peer`: the other end's name, `None` for the kernel's choice.
    Veth(VethAttrs),
    Vxlan(VxlanSpec),
    Dummy,
    /// A macvlan with a tap device: the same options as a macvlan.
    Macvtap(MacvlanSpec),
    Ipvlan(IpvlanSpec),
    Vrf(VrfSpec),
    /// A `can static` stanza: the settings of a device its driver made.
    Can(netconf_kernel::netlink::CanAttrs),
    /// A tunnel method's link, or `tunnel-mode` (`crate::tunnel`).
    Tunnel(crate::tunnel::TunnelSpec),
    /// `link-type wireguard` (ifupdown-ng's `use wireguard`,
    /// `crate::wireguard`).
    Wireguard(crate::wireguard::WireguardSpec),
}

impl LinkSpecKind {
    /// The kernel's name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            LinkSpecKind::Bridge(_) => "bridge",
            LinkSpecKind::Bond(_) => "bond",
            LinkSpecKind::Vlan(_) => "vlan",
            LinkSpecKind::Macvlan(_) => "macvlan",
            LinkSpecKind::Veth(_) => "veth",
            LinkSpecKind::Vxlan(_) => "vxlan",
            LinkSpecKind::Dummy => "dummy",
            LinkSpecKind::Macvtap(_) => "macvtap",
            LinkSpecKind::Ipvlan(_) => "ipvlan",
            LinkSpecKind::Vrf(_) => "vrf",
            LinkSpecKind::Can(_) => "can",
            LinkSpecKind::Tunnel(spec) => spec.attrs.mode.kind(),
            LinkSpecKind::Wireguard(_) => "wireguard",
        }
    }
}

/// A bridge (bridge-utils, ifupdown2, ifupdown-ng).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// `bridge_ports`: names and patterns; empty for `none`. Resolve with
    /// [`BridgeSpec::ports_now`]; a link that appears later joins when
    /// [`PortList::matches`] says so.
    pub ports: PortList,
    pub attrs: BridgeAttrs,
    /// `bridge_hw`: the bridge's MAC address.
    pub hw: Option<BridgeHw>,
    /// `bridge_maxwait`: how long to wait for the ports to forward after
    /// the bridge is up; `None`: bridge-utils' estimate (twice the forward
    /// delay plus one second, see [`BridgeSpec::wait_for_forwarding`]).
    pub maxwait: Option<Duration>,
    /// `bridge_waitport`: wait up to this long for ports to exist before
    /// adding them.
    pub waitport: Option<WaitPort>,
    /// `bridge-vids`/`bridge-pvid` on the bridge's stanza: ifupdown2's
    /// default VLANs for the ports that have none of their own.
    pub port_vlans: Option<PortVlans>,
    /// The stanza's `mtu`, which bridge-utils also gives each port it adds.
    pub port_mtu: Option<u32>,
    /// The VLANs the ports' own stanzas give them (`bridge-vids`,
    /// `bridge-pvid`, `bridge-access`), by port name: filled in by whoever
    /// reads the whole file (the daemon), empty from one stanza alone.
    pub member_vlans: Vec<(String, PortVlans)>,
}

impl BridgeSpec {
    /// The ports now, given the links there are: literal names (whether
    /// they exist or not) and pattern matches.
    pub fn ports_now(&self, bridge: &str, links: &[Link]) -> Vec<String> {
        let names: Vec<String> = links.iter().map(|l| l.name.clone()).collect();
        self.ports.resolve(bridge, &names)
    }

    /// How long to wait for the ports to reach forwarding, as bridge-utils
    /// does: `bridge_maxwait` if given (0: no wait), else twice the forward
    /// delay plus one second each (`2 * (fd + 1)`), the kernel's default
    /// forward delay of 15 s when none is set.
    pub fn wait_for_forwarding(&self) -> Duration {
        if let Some(maxwait) = self.maxwait {
            return maxwait;
        }
        let fd = self
            .attrs
            .forward_delay
            .unwrap_or(Duration::from_secs(15))
            .as_secs();
        Duration::from_secs(2 * (fd + 1))
    }
}

/// `bridge_hw`: an address, or the name of an interface to copy it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeHw {
    Mac([u8; 6]),
    CopyFrom(String),
}

/// `bridge_waitport TIME [PORTS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitPort {
    pub timeout: Duration,
    /// Empty: the bridge's ports.
    pub ports: Vec<String>,
}

/// The VLANs of a bridge port (ifupdown2's `bridge-vids`, `bridge-pvid`,
/// `bridge-access`; an access port has its one VLAN in both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortVlans {
    /// Tagged VLANs.
    pub vids: Vec<u16>,
    /// Untagged frames belong to this one, which leaves untagged.
    pub pvid: Option<u16>,
}

impl PortVlans {
    /// As the kernel's bridge VLAN entries.
    pub fn to_bridge_vlans(&self) -> Vec<BridgeVlan> {
        let mut out = Vec::new();
        if let Some(pvid) = self.pvid {
            out.push(BridgeVlan {
                vid: pvid,
                pvid: true,
                untagged: true,
            });
        }
        for &vid in &self.vids {
            if Some(vid) != self.pvid {
                out.push(BridgeVlan::tagged(vid));
            }
        }
        out
    }
}

/// A bond (ifenslave, ifupdown2, ifupdown-ng).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondSpec {
    /// `bond-slaves`; empty for `none`. Slaves may also join from their own
    /// stanzas (`bond-master`).
    pub slaves: PortList,
    /// Without `primary`: that one is set after enslaving, from
    /// [`BondSpec::primary`].
    pub attrs: BondAttrs,
    /// `bond-primary`: the first of these that is a slave becomes primary
    /// (ifenslave's rule).
    pub primary: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VlanSource {
    /// `eth0.10` (raw device and id from the name).
    Name,
    /// `vlan10` + `vlan-raw-device`.
    VlanName,
    /// `vlan-raw-device` + `vlan-id`, any name (ifupdown2).
    Options,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanSpec {
    pub raw_device: String,
    pub attrs: VlanAttrs,
    /// Where the raw device and id came from.
    pub source: VlanSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvlanSpec {
    pub lower: String,
    /// `macvlan-mode`, `bridge` when not given (the kernel's own default,
    /// `vepa`, is rarely what anyone means).
    pub attrs: MacvlanAttrs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSpec {
    /// `vxlan-physdev`: the underlay device (needed for a multicast group).
    pub physdev: Option<String>,
    /// `link` is filled from `physdev` by [`LinkSpec::to_new_link`].
    pub attrs: VxlanAttrs,
}

/// A stanza's part in links: the link it creates, and how it joins others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StanzaLinks {
    /// The link this stanza creates, if any.
    pub link: Option<LinkSpec>,
    /// `bond-master` on a slave's stanza: the bond it joins.
    pub bond_master: Option<String>,
    /// `bridge-vids`/`bridge-pvid`/`bridge-access` on a port's stanza: its
    /// own VLANs in its bridge (on a bridge's stanza they are the ports'
    /// defaults: [`BridgeSpec::port_vlans`]).
    pub port_vlans: Option<PortVlans>,
    /// `vrf NAME` (ifupdown2) or `vrf-member NAME` (ifupdown-ng) on a
    /// member's stanza: the VRF it joins.
    pub vrf: Option<String>,
}

/// The stanza's links, or what is wrong with its options.
pub fn stanza_links(stanza: &StanzaConfig) -> Result<StanzaLinks, LinkError> {
    let opts = Options {
        iface: &stanza.iface,
        vars: &stanza.vars,
    };
    if stanza.family == netconf_interfaces::Family::Can {
        let attrs = crate::can::can_attrs(&stanza.iface, &stanza.vars)?;
        return Ok(StanzaLinks {
            link: Some(LinkSpec {
                name: stanza.iface.clone(),
                kind: LinkSpecKind::Can(attrs),
            }),
            ..StanzaLinks::default()
        });
    }
    let kind = stanza_kind(&stanza.iface, &stanza.vars);
    let method_link = crate::tunnel::method_link(stanza)?;
    let link = match kind {
        _ if method_link.is_some() => method_link,
        None => None,
        Some(kind) => Some(LinkSpec {
            name: stanza.iface.clone(),
            kind: opts.kind(kind)?,
        }),
    };
    let bond_master = match opts.find(linkopts::BOND_MASTER) {
        Some(master) => {
            let mut words = master.value.split_ascii_whitespace();
            match (words.next(), words.next()) {
                (Some(name), None) => Some(name.to_string()),
                _ => return Err(opts.invalid(master, "is not one interface name")),
            }
        }
        None => None,
    };
    let is_bridge = matches!(
        &link,
        Some(LinkSpec {
            kind: LinkSpecKind::Bridge(_),
            ..
        })
    );
    let port_vlans = if is_bridge { None } else { opts.port_vlans()? };
    let is_vrf = matches!(
        &link,
        Some(LinkSpec {
            kind: LinkSpecKind::Vrf(_),
            ..
        })
    );
    let vrf = if is_vrf { None } else { opts.vrf_member()? };
    Ok(StanzaLinks {
        link,
        bond_master,
        port_vlans,
        vrf,
    })
}

/// A stanza's options with its interface name, for lookups and errors.
struct Options<'a> {
    iface: &'a str,
    vars: &'a Variables,
}

impl<'a> Options<'a> {
    fn find(&self, aliases: &[&str]) -> Option<Found<'a>> {
        find(self.vars, aliases)
    }

    fn invalid(&self, found: Found<'_>, reason: &str) -> LinkError {
        LinkError::Invalid {
            iface: self.iface.to_string(),
            option: found.name.to_string(),
            value: found.value.to_string(),
            reason: reason.to_string(),
        }
    }

    fn missing(&self, what: &str, needs: &str) -> LinkError {
        LinkError::Missing {
            iface: self.iface.to_string(),
            what: what.to_string(),
            needs: needs.to_string(),
        }
    }

    /// Parses an option, if given.
    fn parse<T>(
        &self,
        aliases: &[&str],
        reason: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, LinkError> {
        match self.find(aliases) {
            None => Ok(None),
            Some(found) => parse(found.value.trim())
                .map(Some)
                .ok_or_else(|| self.invalid(found, reason)),
        }
    }

    fn seconds(&self, aliases: &[&str]) -> Result<Option<Duration>, LinkError> {
        self.parse(aliases, "is not a number of seconds", parse_seconds)
    }

    /// Seconds within `range` (the kernel refuses others with ERANGE).
    fn seconds_in(
        &self,
        aliases: &[&str],
        min: u64,
        max: u64,
    ) -> Result<Option<Duration>, LinkError> {
        let reason = format!("is not a number of seconds from {min} to {max}");
        self.parse(aliases, &reason, |v| {
            parse_seconds(v)
                .filter(|d| *d >= Duration::from_secs(min) && *d <= Duration::from_secs(max))
        })
    }

    fn number<T: std::str::FromStr>(
        &self,
        aliases: &[&str],
        reason: &str,
    ) -> Result<Option<T>, LinkError> {
        self.parse(aliases, reason, |v| v.parse().ok())
    }

    fn boolean(&self, aliases: &[&str]) -> Result<Option<bool>, LinkError> {
        self.parse(aliases, "is not on or off (yes/no, 1/0)", parse_bool)
    }

    fn address(&self, aliases: &[&str]) -> Result<Option<IpAddr>, LinkError> {
        self.parse(aliases, "is not an IP address", |v| v.parse().ok())
    }

    fn one_name(&self, aliases: &[&str]) -> Result<Option<String>, LinkError> {
        self.parse(aliases, "is not one interface name", |v| {
            let mut words = v.split_ascii_whitespace();
            match (words.next(), words.next()) {
                (Some(name), None) => Some(name.to_string()),
                _ => None,
            }
        })
    }

    fn kind(&self, kind: StanzaKind) -> Result<LinkSpecKind, LinkError> {
        Ok(match kind {
            StanzaKind::Bridge => LinkSpecKind::Bridge(self.bridge()?),
            StanzaKind::Bond => LinkSpecKind::Bond(self.bond()?),
            StanzaKind::Vlan => LinkSpecKind::Vlan(self.vlan()?),
            StanzaKind::Macvlan => LinkSpecKind::Macvlan(self.macvlan()?),
            StanzaKind::Veth => LinkSpecKind::Veth(VethAttrs {
                peer: self.one_name(linkopts::VETH_PEER)?,
            }),
            StanzaKind::Vxlan => LinkSpecKind::Vxlan(self.vxlan()?),
            StanzaKind::Dummy => LinkSpecKind::Dummy,
            StanzaKind::Macvtap => LinkSpecKind::Macvtap(self.macvtap()?),
            StanzaKind::Ipvlan => LinkSpecKind::Ipvlan(self.ipvlan()?),
            StanzaKind::Vrf => LinkSpecKind::Vrf(self.vrf()?),
            StanzaKind::Tunnel => {
                LinkSpecKind::Tunnel(crate::tunnel::option_tunnel(self.iface, self.vars)?)
            }
            StanzaKind::Wireguard => LinkSpecKind::Wireguard(
                crate::wireguard::WireguardSpec::from_options(self.iface, self.vars)?,
            ),
            StanzaKind::UnknownLinkType(_) => {
                let found = self.find(linkopts::LINK_TYPE);
                return Err(match found {
                    Some(found) => self.invalid(
                        found,
                        "is not a link type netconf creates (veth, macvlan, macvtap, ipvlan, vrf, \
                         dummy, wireguard)",
                    ),
                    None => self.missing("link", "link-type"),
                });
            }
        })
    }

    fn bridge(&self) -> Result<BridgeSpec, LinkError> {
        let ports = match self.find(linkopts::BRIDGE_PORTS) {
            Some(found) => PortList::parse_bridge(found.value).map_err(|e| match e {
                PortListError::BadRegex { pattern, reason } => {
                    self.invalid(found, &format!("has a bad regex {pattern:?}: {reason}"))
                }
            })?,
            // `link-type bridge` without ports (ifupdown2).
            None => PortList::default(),
        };
        let stp = self.boolean(&["bridge-stp"])?;
        let forward_delay = self.seconds(&["bridge-fd"])?;
        // With STP on, the kernel takes 2 to 30 s only; say so now rather
        // than have the kernel answer ERANGE.
        if let (Some(true), Some(fd), Some(found)) = (stp, forward_delay, self.find(&["bridge-fd"]))
        {
            if fd < Duration::from_secs(2) || fd > Duration::from_secs(30) {
                return Err(self.invalid(
                    found,
                    "is not 2 to 30 seconds, which the kernel requires with STP on",
                ));
            }
        }
        let attrs = BridgeAttrs {
            stp,
            forward_delay,
            hello_time: self.seconds_in(&["bridge-hello"], 1, 10)?,
            max_age: self.seconds_in(&["bridge-maxage"], 6, 40)?,
            ageing_time: self.seconds(&["bridge-ageing"])?,
            priority: self.number(&["bridge-bridgeprio"], "is not a priority (0 to 65535)")?,
            vlan_filtering: self.boolean(&["bridge-vlan-aware"])?,
        };
        let hw = self.parse(
            &["bridge-hw"],
            "is not a MAC address or an interface name",
            |v| match parse_mac(v) {
                Some(mac) => Some(BridgeHw::Mac(mac)),
                // bridge-utils: anything not shaped like ..:..:..:..:..:..
                // names an interface to copy the address from.
                None if !v.contains(':') && !v.contains(char::is_whitespace) => {
                    Some(BridgeHw::CopyFrom(v.to_string()))
                }
                None => None,
            },
        )?;
        let maxwait = self.parse(
            &["bridge-maxwait"],
            "is not a whole number of seconds",
            |v| v.parse::<u64>().ok().map(Duration::from_secs),
        )?;
        let waitport = self.parse(
            &["bridge-waitport"],
            "is not a number of seconds followed by port names",
            |v| {
                let mut words = v.split_ascii_whitespace();
                let timeout = Duration::from_secs(words.next()?.parse().ok()?);
                Some(WaitPort {
                    timeout,
                    ports: words.map(String::from).collect(),
                })
            },
        )?;
        Ok(BridgeSpec {
            ports,
            attrs,
            hw,
            maxwait,
            waitport,
            port_vlans: self.port_vlans()?,
            // As the static and manual methods read it.
            port_mtu: self.parse(&["mtu"], "is not an MTU (68 to 65535)", |v| {
                v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m))
            })?,
            member_vlans: Vec::new(),
        })
    }

    /// `bridge-vids`, `bridge-pvid` and `bridge-access`.
    fn port_vlans(&self) -> Result<Option<PortVlans>, LinkError> {
        let vlan_id = |v: &str| v.parse::<u16>().ok().filter(|id| (1..=4094).contains(id));
        // ifupdown2's `bridge-trunk` is an older name of `bridge-vids`.
        let vids = self.parse(
            &["bridge-vids", "bridge-trunk"],
            "is not a list of VLAN ids and ranges (1 to 4094, as 10 20-30)",
            |v| {
                let mut out: Vec<u16> = Vec::new();
                for word in v.split_ascii_whitespace() {
                    let (lo, hi) = match word.split_once('-') {
                        Some((lo, hi)) => (vlan_id(lo)?, vlan_id(hi)?),
                        None => (vlan_id(word)?, vlan_id(word)?),
                    };
                    if lo > hi {
                        return None;
                    }
                    for id in lo..=hi {
                        if !out.contains(&id) {
                            out.push(id);
                        }
                    }
                }
                Some(out)
            },
        )?;
        let pvid = self.parse(&["bridge-pvid"], "is not a VLAN id (1 to 4094)", vlan_id)?;
        // On a bridge's stanza, `bridge-access` makes every port without
        // VLANs of its own an access port of that VLAN.
        let access = self.parse(&["bridge-access"], "is not a VLAN id (1 to 4094)", vlan_id)?;
        if let Some(access) = access {
            // An access port is in one VLAN, untagged.
            return Ok(Some(PortVlans {
                vids: vec![access],
                pvid: Some(access),
            }));
        }
        Ok((vids.is_some() || pvid.is_some()).then(|| PortVlans {
            vids: vids.unwrap_or_default(),
            pvid,
        }))
    }

    fn bond(&self) -> Result<BondSpec, LinkError> {
        let slaves = self
            .find(linkopts::BOND_SLAVES)
            .map(|found| PortList::parse_bond(found.value))
            .unwrap_or_default();
        let modes: Vec<&str> = BondMode::ALL.iter().map(|m| m.name()).collect();
        let policies: Vec<&str> = XmitHashPolicy::ALL.iter().map(|p| p.name()).collect();
        let ms = "is not a number of milliseconds";
        let choice = |names: String| format!("is not one of {names} (or their numbers)");
        // ifenslave writes num_grat_arp, then num_unsol_na: one kernel
        // setting, the second write wins.
        let peer_notif =
            |aliases: &[&str]| self.number::<u8>(aliases, "is not a number from 0 to 255");
        let num_peer_notif =
            peer_notif(&["bond-num-unsol-na"])?.or(peer_notif(&["bond-num-grat-arp"])?);
        let arp_ip_target = self.parse(
            &["bond-arp-ip-target"],
            &format!("is not a list of up to {MAX_ARP_TARGETS} IPv4 addresses"),
            |v| {
                let mut out: Vec<Ipv4Addr> = Vec::new();
                for word in v.split_ascii_whitespace() {
                    let addr: Ipv4Addr = word.parse().ok()?;
                    if !out.contains(&addr) {
                        out.push(addr);
                    }
                }
                (!out.is_empty() && out.len() <= MAX_ARP_TARGETS).then_some(out)
            },
        )?;
        let attrs = BondAttrs {
            mode: self.parse(
                linkopts::BOND_MODE,
                &format!("is not a bonding mode ({}, or 0 to 6)", modes.join(", ")),
                BondMode::parse,
            )?,
            miimon: self.number(&["bond-miimon"], ms)?,
            updelay: self.number(&["bond-updelay"], ms)?,
            downdelay: self.number(&["bond-downdelay"], ms)?,
            use_carrier: self.boolean(&["bond-use-carrier"])?,
            arp_interval: self.number(&["bond-arp-interval"], ms)?,
            arp_ip_target,
            arp_validate: self.parse(
                &["bond-arp-validate"],
                &choice(ArpValidate::names()),
                ArpValidate::parse,
            )?,
            arp_all_targets: self.parse(
                &["bond-arp-all-targets"],
                &choice(ArpAllTargets::names()),
                ArpAllTargets::parse,
            )?,
            lacp_rate: self.parse(
                &["bond-lacp-rate"],
                "is not slow or fast (0 or 1)",
                LacpRate::parse,
            )?,
            ad_select: self.parse(
                &["bond-ad-select"],
                &choice(AdSelect::names()),
                AdSelect::parse,
            )?,
            xmit_hash_policy: self.parse(
                &["bond-xmit-hash-policy"],
                &format!("is not a transmit hash policy ({})", policies.join(", ")),
                XmitHashPolicy::parse,
            )?,
            min_links: self.number(&["bond-min-links"], "is not a number of links")?,
            fail_over_mac: self.parse(
                &["bond-fail-over-mac"],
                &choice(FailOverMac::names()),
                FailOverMac::parse,
            )?,
            num_peer_notif,
            all_slaves_active: self.boolean(&["bond-all-slaves-active"])?,
            packets_per_slave: self.parse(
                &["bond-packets-per-slave"],
                "is not a number from 0 to 65535",
                |v| v.parse::<u32>().ok().filter(|n| *n <= 65535),
            )?,
            tlb_dynamic_lb: self.boolean(&["bond-tlb-dynamic-lb"])?,
            primary: None,
            primary_reselect: self.parse(
                &["bond-primary-reselect"],
                &choice(PrimaryReselect::names()),
                PrimaryReselect::parse,
            )?,
        };
        // The kernel monitors one way. ifenslave writes arp_interval, then
        // miimon, which turns ARP monitoring off again: "If both
        // bond-arp-interval and bond-miimon options are given,
        // bond-arp-interval will be ignored" (its README). So here.
        let mut attrs = attrs;
        if attrs.miimon.is_some_and(|m| m > 0) && attrs.arp_interval.is_some_and(|a| a > 0) {
            attrs.arp_interval = None;
        }
        let primary: Vec<String> = self
            .find(&["bond-primary"])
            .map(|found| {
                found
                    .value
                    .split_ascii_whitespace()
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        // The kernel has a primary in these modes only (and refuses it in
        // others); ifenslave's write would fail, and be ignored.
        let mode = attrs.mode.unwrap_or(BondMode::BalanceRr);
        let with_primary = [
            BondMode::ActiveBackup,
            BondMode::BalanceTlb,
            BondMode::BalanceAlb,
        ];
        if let (false, Some(found)) = (with_primary.contains(&mode), self.find(&["bond-primary"])) {
            return Err(self.invalid(
                found,
                &format!(
                    "is for modes active-backup, balance-tlb and balance-alb only, not {}",
                    mode.name()
                ),
            ));
        }
        Ok(BondSpec {
            slaves,
            attrs,
            primary,
        })
    }

    fn vlan(&self) -> Result<VlanSpec, LinkError> {
        let raw_option = self.one_name(linkopts::VLAN_RAW_DEVICE)?;
        let raw_name = self
            .find(linkopts::VLAN_RAW_DEVICE)
            .map_or("vlan-raw-device", |f| f.name);
        let id_option = self.find(linkopts::VLAN_ID);
        let id_name = id_option.map_or("vlan-id", |f| f.name);
        let named = vlan_name(self.iface);
        let range = "is not a VLAN id (1 to 4094)";
        let id_ok = |id: u32| u16::try_from(id).ok().filter(|id| (1..=4094).contains(id));
        let id_from_option = match id_option {
            Some(found) => Some(
                found
                    .value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .and_then(id_ok)
                    .ok_or_else(|| self.invalid(found, range))?,
            ),
            None => None,
        };
        let conflict = |option: &str, value: String, named: &VlanName<'_>| LinkError::Conflict {
            iface: self.iface.to_string(),
            option: option.to_string(),
            value,
            other: match named.raw {
                Some(raw) => format!("the name (VLAN {} on {raw})", named.id),
                None => format!("the name (VLAN {})", named.id),
            },
        };
        let (raw_device, id, source) = match (named, raw_option, id_from_option) {
            // `eth0.10`: the name says both; options may only agree.
            (Some(n @ VlanName { raw: Some(raw), id }), raw_opt, id_opt) => {
                if let Some(other) = raw_opt.filter(|r| r != raw) {
                    return Err(conflict(raw_name, other, &n));
                }
                if let Some(other) = id_opt.filter(|i| u32::from(*i) != id) {
                    return Err(conflict(id_name, other.to_string(), &n));
                }
                let id = id_ok(id).ok_or_else(|| LinkError::Invalid {
                    iface: self.iface.to_string(),
                    option: "name".to_string(),
                    value: self.iface.to_string(),
                    reason: format!("has VLAN id {id}, which is not 1 to 4094"),
                })?;
                (raw.to_string(), id, VlanSource::Name)
            }
            // `vlan10` with `vlan-raw-device`.
            (Some(n @ VlanName { raw: None, id }), Some(raw), id_opt) => {
                if let Some(other) = id_opt.filter(|i| u32::from(*i) != id) {
                    return Err(conflict(id_name, other.to_string(), &n));
                }
                let id = id_ok(id).ok_or_else(|| LinkError::Invalid {
                    iface: self.iface.to_string(),
                    option: "name".to_string(),
                    value: self.iface.to_string(),
                    reason: format!("has VLAN id {id}, which is not 1 to 4094"),
                })?;
                (raw, id, VlanSource::VlanName)
            }
            // Any name, both options (ifupdown2).
            (_, Some(raw), Some(id)) => (raw, id, VlanSource::Options),
            (_, None, _) => return Err(self.missing("VLAN", "vlan-raw-device")),
            (_, Some(_), None) => {
                return Err(self.missing("VLAN", "vlan-id (or a name such as eth0.10 or vlan10)"))
            }
        };
        let protocol = self
            .parse(
                &["vlan-protocol"],
                "is not 802.1q or 802.1ad",
                VlanProtocol::parse,
            )?
            .unwrap_or_default();
        Ok(VlanSpec {
            raw_device,
            attrs: VlanAttrs { id, protocol },
            source,
        })
    }

    fn macvlan(&self) -> Result<MacvlanSpec, LinkError> {
        let lower = self
            .one_name(linkopts::MACVLAN_RAW_DEVICE)?
            .ok_or_else(|| self.missing("macvlan", "macvlan-raw-device"))?;
        let mode = self
            .parse(
                &["macvlan-mode"],
                "is not a macvlan mode (bridge, vepa, private, passthru, source)",
                MacvlanMode::parse,
            )?
            .unwrap_or(MacvlanMode::Bridge);
        Ok(MacvlanSpec {
            lower,
            attrs: MacvlanAttrs { mode: Some(mode) },
        })
    }

    fn vxlan(&self) -> Result<VxlanSpec, LinkError> {
        let id = self
            .parse(
                linkopts::VXLAN_ID,
                "is not a VXLAN id (0 to 16777215)",
                |v| v.parse::<u32>().ok().filter(|id| *id < 1 << 24),
            )?
            .ok_or_else(|| self.missing("vxlan", "vxlan-id"))?;
        let local = self.address(&["vxlan-local-tunnelip", "vxlan-local-ip"])?;
        let remotes = ["vxlan-remote-ip", "vxlan-remoteip", "vxlan-peer-ips"];
        let remote = match self.find(&remotes) {
            None => None,
            Some(found) => {
                let words: Vec<&str> = found.value.split_ascii_whitespace().collect();
                if words.len() > 1 {
                    return Err(LinkError::Unsupported {
                        iface: self.iface.to_string(),
                        option: found.name.to_string(),
                        reason: "several remote ends (head-end replication) are not supported \
                                 yet; give one, or a multicast group"
                            .to_string(),
                    });
                }
                let addr: Option<IpAddr> = words.first().and_then(|w| w.parse().ok());
                match addr {
                    Some(addr) if !addr.is_multicast() => Some(addr),
                    _ => return Err(self.invalid(found, "is not a unicast IP address")),
                }
            }
        };
        let groups = [
            "vxlan-svcnodeip",
            "vxlan-peer-group",
            "vxlan-remote-group",
            "vxlan-mcastgrp",
        ];
        let group = self.parse(&groups, "is not a multicast IP address", |v| {
            v.parse::<IpAddr>().ok().filter(IpAddr::is_multicast)
        })?;
        if let (Some(_), Some(_), Some(found)) = (remote, group, self.find(&groups)) {
            return Err(LinkError::Conflict {
                iface: self.iface.to_string(),
                option: found.name.to_string(),
                value: found.value.to_string(),
                other: "a unicast remote end (a vxlan has one or the other)".to_string(),
            });
        }
        let physdev = self.one_name(linkopts::VXLAN_PHYSDEV)?;
        if group.is_some() && physdev.is_none() {
            return Err(self.missing("vxlan with a multicast group", "vxlan-physdev"));
        }
        let remote = remote.or(group);
        let local_found = self.find(&["vxlan-local-tunnelip", "vxlan-local-ip"]);
        if let (Some(l), Some(r), Some(found)) = (local, remote, local_found) {
            if l.is_ipv4() != r.is_ipv4() {
                return Err(self.invalid(found, &format!("and {r} are of different families")));
            }
        }
        let attrs = VxlanAttrs {
            local,
            remote,
            port: self
                .number(&["vxlan-port", "vxlan-dstport"], "is not a UDP port")?
                .unwrap_or(netconf_kernel::netlink::VXLAN_PORT),
            learning: self.boolean(&["vxlan-learning"])?,
            ageing: self.number(&["vxlan-ageing"], "is not a number of seconds")?,
            link: None,
            ..VxlanAttrs::new(id)
        };
        Ok(VxlanSpec { physdev, attrs })
    }
}

/// Seconds as bridge-utils takes them (`brctl setfd br0 2.5`): digits with
/// an optional fraction; no sign, no exponent.
pub fn parse_seconds(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    // Nanoseconds from at most nine fraction digits; more are below any
    // clock the kernel keeps.
    let mut nanos = 0u32;
    for (i, d) in fraction.bytes().take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
    }
    Some(Duration::new(secs, nanos))
}

/// On/off as the peers spell it: `on`/`yes`/`true`/`1` and
/// `off`/`no`/`false`/`0`, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// What to do with a link of the spec's name that is already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDiff {
    /// It is what the stanza asks for.
    Same,
    /// Change these attributes in place ([`netconf_kernel::netlink::Netlink::set_link_kind`]).
    Change(LinkKind),
    /// It cannot become what the stanza asks for in place: another kind, or
    /// another identity (raw device, id, VNI, ...). Delete and create it, or
    /// refuse: the reason says what differs.
    Recreate(String),
}

impl LinkSpec {
    /// The request that creates this link, once the devices it names exist
    /// in `links` (a dump). Ports and slaves are not part of it: they join
    /// afterwards (their own `ifup`, then `master`).
    pub fn to_new_link(&self, links: &[Link]) -> Result<NewLink, LinkError> {
        let lookup = |option: &str, device: &str| {
            links
                .iter()
                .find(|l| l.name == device)
                .ok_or_else(|| LinkError::NoDevice {
                    iface: self.name.clone(),
                    option: option.to_string(),
                    device: device.to_string(),
                })
        };
        let mut parent = None;
        let mut mac = None;
        let kind = match &self.kind {
            LinkSpecKind::Bridge(spec) => {
                mac = match &spec.hw {
                    None => None,
                    Some(BridgeHw::Mac(mac)) => Some(*mac),
                    Some(BridgeHw::CopyFrom(dev)) => {
                        let from = lookup("bridge_hw", dev)?;
                        from.mac
                            .as_deref()
                            .and_then(|m| <[u8; 6]>::try_from(m).ok())
                    }
                };
                LinkKind::Bridge(spec.attrs.clone())
            }
            LinkSpecKind::Bond(spec) => LinkKind::Bond(BondAttrs {
                primary: None,
                ..spec.attrs.clone()
            }),
            LinkSpecKind::Vlan(spec) => {
                let option = match spec.source {
                    VlanSource::Name => "name",
                    VlanSource::VlanName | VlanSource::Options => "vlan-raw-device",
                };
                parent = Some(lookup(option, &spec.raw_device)?.index);
                LinkKind::Vlan(spec.attrs)
            }
            LinkSpecKind::Macvlan(spec) => {
                parent = Some(lookup("macvlan-raw-device", &spec.lower)?.index);
                LinkKind::Macvlan(spec.attrs)
            }
            LinkSpecKind::Veth(attrs) => LinkKind::Veth(attrs.clone()),
            LinkSpecKind::Vxlan(spec) => {
                let mut attrs = spec.attrs.clone();
                if let Some(dev) = &spec.physdev {
                    attrs.link = Some(lookup("vxlan-physdev", dev)?.index);
                }
                LinkKind::Vxlan(attrs)
            }
            LinkSpecKind::Dummy => LinkKind::Dummy,
            LinkSpecKind::Wireguard(_) => LinkKind::Wireguard,
            LinkSpecKind::Macvtap(spec) => {
                parent = Some(lookup("macvlan-raw-device", &spec.lower)?.index);
                LinkKind::Macvtap(spec.attrs)
            }
            LinkSpecKind::Ipvlan(spec) => {
                parent = Some(lookup("ipvlan-raw-device", &spec.lower)?.index);
                LinkKind::Ipvlan(spec.attrs)
            }
            LinkSpecKind::Vrf(spec) => {
                let table = spec
                    .table_for(links)
                    .ok_or_else(|| LinkError::Unsupported {
                        iface: self.name.clone(),
                        option: "vrf-table".to_string(),
                        reason: "auto: every table from 1001 to 5000 has a VRF".to_string(),
                    })?;
                LinkKind::Vrf(netconf_kernel::netlink::VrfAttrs { table })
            }
            LinkSpecKind::Can(_) => {
                return Err(LinkError::Unsupported {
                    iface: self.name.clone(),
                    option: "can static".to_string(),
                    reason: format!(
                        "{} does not exist (a CAN device is made by its driver)",
                        self.name
                    ),
                })
            }
            LinkSpecKind::Tunnel(spec) => {
                let mut attrs = spec.attrs.clone();
                if let Some(dev) = &spec.dev {
                    attrs.link = Some(lookup("tunnel-dev", dev)?.index);
                }
                LinkKind::Tunnel(attrs)
            }
        };
        Ok(NewLink {
            parent,
            mac,
            ..NewLink::new(&self.name, kind)
        })
    }

    /// How the existing `link` (of this name) compares with the spec;
    /// `links` is the dump it came from (for lower devices by name).
    pub fn compare(&self, link: &Link, links: &[Link]) -> LinkDiff {
        let wanted = self.kind.name();
        if link.kind.as_deref() != Some(wanted) {
            let what = link.kind.as_deref().unwrap_or("not a virtual link");
            return LinkDiff::Recreate(format!("{} is {what}, not a {wanted}", self.name));
        }
        let name_of = |index: Option<u32>| {
            index.and_then(|i| links.iter().find(|l| l.index == i).map(|l| l.name.as_str()))
        };
        match (&self.kind, &link.details) {
            (LinkSpecKind::Bridge(spec), Some(LinkKind::Bridge(have))) => {
                match spec.attrs.changes_from(have) {
                    Some(change) => LinkDiff::Change(LinkKind::Bridge(change)),
                    None => LinkDiff::Same,
                }
            }
            (LinkSpecKind::Bond(spec), Some(LinkKind::Bond(have))) => {
                let want = BondAttrs {
                    primary: None,
                    ..spec.attrs.clone()
                };
                match want.changes_from(have) {
                    Some(change) => LinkDiff::Change(LinkKind::Bond(change)),
                    None => LinkDiff::Same,
                }
            }
            (LinkSpecKind::Vlan(spec), Some(LinkKind::Vlan(have))) => {
                let raw = name_of(link.parent);
                if raw != Some(spec.raw_device.as_str()) || *have != spec.attrs {
                    LinkDiff::Recreate(format!(
                        "{} is VLAN {} on {}, not VLAN {} on {}",
                        self.name,
                        have.id,
                        raw.unwrap_or("?"),
                        spec.attrs.id,
                        spec.raw_device
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Macvlan(spec), Some(LinkKind::Macvlan(have))) => {
                let lower = name_of(link.parent);
                if lower != Some(spec.lower.as_str()) || have.mode != spec.attrs.mode {
                    LinkDiff::Recreate(format!(
                        "{} is a macvlan on {} in mode {:?}",
                        self.name,
                        lower.unwrap_or("?"),
                        have.mode
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Veth(want), _) => match (&want.peer, name_of(link.parent)) {
                (Some(peer), Some(have)) if peer != have => {
                    LinkDiff::Recreate(format!("{}'s peer is {have}, not {peer}", self.name))
                }
                _ => LinkDiff::Same,
            },
            (LinkSpecKind::Vxlan(spec), Some(LinkKind::Vxlan(have))) => {
                let lower = name_of(have.link);
                let mut want = spec.attrs.clone();
                want.link = have.link;
                // What the stanza leaves unset is whatever the kernel has.
                want.learning = want.learning.or(have.learning);
                want.ageing = want.ageing.or(have.ageing);
                if lower != spec.physdev.as_deref() || want != *have {
                    LinkDiff::Recreate(format!(
                        "{} is VNI {} to {:?} on {}",
                        self.name,
                        have.id,
                        have.remote,
                        lower.unwrap_or("no lower device")
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Dummy, _) => LinkDiff::Same,
            // Its keys and peers are not rtnetlink's: `wg setconf` sets them.
            (LinkSpecKind::Wireguard(_), _) => LinkDiff::Same,
            (LinkSpecKind::Macvtap(spec), Some(LinkKind::Macvtap(have))) => {
                let lower = name_of(link.parent);
                if lower != Some(spec.lower.as_str()) || have.mode != spec.attrs.mode {
                    LinkDiff::Recreate(format!(
                        "{} is a macvtap on {} in mode {:?}",
                        self.name,
                        lower.unwrap_or("?"),
                        have.mode
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Tunnel(spec), Some(LinkKind::Tunnel(have))) => {
                let lower = name_of(have.link);
                let mut want = spec.attrs.clone();
                want.link = have.link;
                if lower != spec.dev.as_deref() || !want.matches(have) {
                    LinkDiff::Recreate(format!(
                        "{} is a {} tunnel from {} to {}",
                        self.name,
                        have.mode,
                        have.local.map_or("any".to_string(), |a| a.to_string()),
                        have.remote.map_or("any".to_string(), |a| a.to_string()),
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Ipvlan(spec), Some(LinkKind::Ipvlan(have))) => {
                let lower = name_of(link.parent);
                if lower != Some(spec.lower.as_str()) || *have != spec.attrs {
                    LinkDiff::Recreate(format!(
                        "{} is an ipvlan on {} in mode {}",
                        self.name,
                        lower.unwrap_or("?"),
                        have.mode.name()
                    ))
                } else {
                    LinkDiff::Same
                }
            }
            (LinkSpecKind::Vrf(spec), Some(LinkKind::Vrf(have))) => match spec.table {
                VrfTable::Fixed(t) if t != have.table => LinkDiff::Recreate(format!(
                    "{} is a VRF with table {}, not {t}",
                    self.name, have.table
                )),
                _ => LinkDiff::Same,
            },
            (LinkSpecKind::Can(want), Some(LinkKind::Can(have))) => match want.changes_from(have) {
                Some(change) => LinkDiff::Change(LinkKind::Can(change)),
                None => LinkDiff::Same,
            },
            (_, _) => LinkDiff::Recreate(format!(
                "{}'s {wanted} attributes cannot be read",
                self.name
            )),
        }
    }
}

/// A Debian package whose `if-pre-up.d` script creates links itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Package {
    /// `if-pre-up.d/bridge` (and `if-down.d`, `if-post-down.d`).
    BridgeUtils,
    /// `if-pre-up.d/ifenslave` (and `if-up.d`, `if-post-down.d`).
    Ifenslave,
    /// `if-pre-up.d/vlan` (and `if-post-down.d`).
    Vlan,
}

impl Package {
    pub fn name(self) -> &'static str {
        match self {
            Package::BridgeUtils => "bridge-utils",
            Package::Ifenslave => "ifenslave",
            Package::Vlan => "vlan",
        }
    }
}

/// Which link-making hook scripts of Debian packages are installed.
///
/// **Decision.** When a package's script will act on a stanza (it is
/// installed where `run-parts` runs it, and the stanza has what that script
/// looks for), netconf leaves that link to the script, as Debian's ifupdown
/// would: it does not create it, set its attributes or enslave its ports
/// (or, for a slave's `bond-master`, enslave the slave), and it still
/// orders the stanza in the dependency graph, so that the script runs (in
/// the stanza's `pre-up` hooks) after the lowers are up. Everything else
/// about the stanza (addresses, routes, MTU, DHCP) netconf does as always.
/// Doing the same work twice would not be harmless: ifenslave writes bond
/// options through sysfs and some (mode) are refused once slaves are in;
/// bridge-utils adds ports and then sleeps until they forward (up to
/// `2 * (bridge_fd + 1)` s); the vlan script picks names after its own
/// name-type file. And whoever installed those packages expects their
/// behaviour. When the hooks do not run for a stanza (`--no-scripts`, a
/// `no-scripts` line), netconf does the work itself: ask
/// [`PackageHooks::owner`] only when the scripts will run.
///
/// What each script acts on (read from the packages in Debian bookworm):
/// bridge-utils' `ifupdown.sh` when `IF_BRIDGE_PORTS` is set (from
/// `bridge_ports` or `bridge-ports`) and `/sbin/brctl` is executable (it
/// exits 0 otherwise); ifenslave's when `IF_BOND_SLAVES`, `IF_SLAVES`,
/// `IF_BOND_MODE` or `IF_BOND_MASTER` is set (not ifupdown-ng's
/// `bond-members`); vlan's when `IF_VLAN_RAW_DEVICE` is set and the name is
/// `vlan*` or has a dot (other names it ignores, and a dotted name without
/// the option is ifupdown's own job, so netconf's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackageHooks {
    pub bridge_utils: bool,
    pub ifenslave: bool,
    pub vlan: bool,
}

impl PackageHooks {
    /// Looks in the hooks root (`/etc/network`) for the packages' scripts.
    pub fn detect(hooks_dir: &Path) -> PackageHooks {
        PackageHooks::detect_with(hooks_dir, Path::new("/sbin/brctl"))
    }

    /// As [`PackageHooks::detect`], with bridge-utils' `brctl` at `brctl`.
    pub fn detect_with(hooks_dir: &Path, brctl: &Path) -> PackageHooks {
        let pre_up = netconf_hooks::run_parts(&hooks_dir.join("if-pre-up.d"));
        let runs = |script: &str| {
            pre_up
                .iter()
                .any(|p| p.file_name() == Some(script.as_ref()))
        };
        PackageHooks {
            bridge_utils: runs("bridge") && is_executable(brctl),
            ifenslave: runs("ifenslave"),
            vlan: runs("vlan"),
        }
    }

    /// The package whose script does the link work of the stanza for
    /// interface `iface` with options `vars`, if any.
    pub fn owner(&self, iface: &str, vars: &Variables) -> Option<Package> {
        let set = |key: &str| {
            vars.0
                .iter()
                .any(|v| !v.value.is_empty() && linkopts::option_key(&v.name) == key)
        };
        if self.bridge_utils && set("BRIDGE_PORTS") {
            return Some(Package::BridgeUtils);
        }
        if self.ifenslave
            && ["BOND_SLAVES", "SLAVES", "BOND_MODE", "BOND_MASTER"]
                .iter()
                .any(|k| set(k))
        {
            return Some(Package::Ifenslave);
        }
        let vlan_named = !iface.contains(':') && (iface.starts_with("vlan") || iface.contains('.'));
        if self.vlan && set("VLAN_RAW_DEVICE") && vlan_named {
            return Some(Package::Vlan);
        }
        None
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access only reads it.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests;
