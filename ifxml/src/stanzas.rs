//! Between documents and interfaces(5): [`render`] writes a document as the
//! stanzas netcf's Debian driver wrote ("best practice": `auto` or
//! `allow-hotplug` for the start mode, an `inet` and an `inet6` stanza,
//! bridge-utils' `bridge_ports`, ifenslave's `bond_*`, the vlan package's
//! `vlan-raw-device`); [`describe`] reads any stanzas in that style back
//! into a document, hand-written ones included (both the `_` and `-`
//! spellings), and lists what it read but the XML cannot say.
//!
//! Where netconf differs from netcf's driver, on purpose:
//! - several addresses of a family are several `address` lines (Debian's
//!   ifupdown 0.8 takes them), not `up ifconfig ... add` commands, which are
//!   still read back;
//! - `<miimon carrier="ioctl">` is `bond_use_carrier 0` and `netif` is `1`,
//!   as the kernel defines `use_carrier` (netcf had them swapped);
//! - a bond or vlan inside a bridge gets its own `manual` stanza and no
//!   `pre-up ifup` line: netconf brings a bridge's ports up itself.

use crate::document::{
    Address, Bond, Bridge, Carrier, Dhcp, Interface, Ipv4, Ipv6, Kind, Monitor, StartMode, Vlan,
};
use netconf_interfaces::linkopts::{self, option_key, PortList};
use netconf_interfaces::{Family, InterfacesFile, Location, Stanza};
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A document as stanzas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The stanzas with their `auto`/`allow-hotplug` lines, blank lines
    /// between interfaces, ending in a newline.
    pub text: String,
    /// Every interface the document owns (the connection first): the stanzas
    /// a define replaces.
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{interface}: {what} cannot be written as interfaces(5) stanzas")]
    Inexpressible { interface: String, what: String },
    #[error("{0} appears twice in the document")]
    Repeated(String),
}

/// The stanzas for `doc`.
pub fn render(doc: &Interface) -> Result<Rendered, RenderError> {
    render_keeping(doc, &[])
}

/// The stanzas for `doc`, with the option lines of `kept` (what a
/// [`describe`] of the old stanzas could not express) added to the stanza
/// of their interface and family, where the new document has one.
pub fn render_keeping(doc: &Interface, kept: &[Unexpressed]) -> Result<Rendered, RenderError> {
    let names = doc.names();
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(name) {
            return Err(RenderError::Repeated(name.clone()));
        }
    }
    let mut text = String::new();
    match doc.start {
        Some(StartMode::Onboot) => writeln!(text, "auto {}", doc.name).ok(),
        Some(StartMode::Hotplug) => writeln!(text, "allow-hotplug {}", doc.name).ok(),
        Some(StartMode::None) | None => None,
    };
    render_interface(doc, &mut text, true, kept)?;
    Ok(Rendered { text, names })
}

fn inexpressible(interface: &Interface, what: &str) -> RenderError {
    RenderError::Inexpressible {
        interface: interface.name.clone(),
        what: what.to_string(),
    }
}

/// `i`'s stanzas, then those of the bonds and vlans nested in it. A nested
/// ethernet has no stanza: its owner sets its MAC with a `pre-up` command,
/// which Debian's ifupdown runs before bridge-utils or ifenslave take the
/// port (it would never run a port's own stanza). A nested bond or vlan
/// gets a `manual` stanza, which netconf brings up with its owner; netcf
/// added `pre-up ifup` lines for that, which are read but not written.
fn render_interface(
    i: &Interface,
    text: &mut String,
    top: bool,
    kept: &[Unexpressed],
) -> Result<(), RenderError> {
    let mut nested = String::new();
    let mut link = link_options(i)?;
    for inner in i.nested() {
        match (&inner.kind, &inner.mac) {
            (Kind::Ethernet, Some(mac)) => link.push((
                "pre-up",
                format!("ip link set dev {} address {mac}", inner.name),
            )),
            (Kind::Ethernet, None) => {}
            _ => {
                nested.push('\n');
                render_interface(inner, &mut nested, false, kept)?;
            }
        }
    }
    let mut stanzas = Vec::new();
    if let Some(v4) = &i.ipv4 {
        stanzas.push(("inet", inet(i, v4)?));
    }
    if let Some(v6) = &i.ipv6 {
        stanzas.push(("inet6", inet6(i, v6)?));
    }
    if stanzas.is_empty() && (top || !link.is_empty()) {
        stanzas.push(("inet", ("manual", Vec::new())));
    }
    // The link's options go with the first stanza, as netcf wrote them.
    let mut link = Some(link);
    for (family, (method, mut options)) in stanzas {
        if let Some(link) = link.take() {
            options.extend(link);
        }
        let family_kept = kept
            .iter()
            .filter(|u| u.interface == i.name)
            .filter_map(|u| u.option.as_ref())
            .filter(|o| o.family.name() == family);
        let mut lines: Vec<(&str, &str)> = options
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .chain(family_kept.map(|o| (o.name.as_str(), o.value.as_str())))
            .collect();
        // Settings first, then the commands in the order of their phases.
        lines.sort_by_key(|(name, _)| {
            ["pre-up", "up", "down", "post-down"]
                .iter()
                .position(|phase| phase == name)
        });
        writeln!(text, "iface {} {family} {method}", i.name).ok();
        for (name, value) in lines {
            writeln!(text, "    {name} {value}").ok();
        }
    }
    text.push_str(&nested);
    Ok(())
}

type Options = Vec<(&'static str, String)>;

fn inet(i: &Interface, v4: &Ipv4) -> Result<(&'static str, Options), RenderError> {
    if let Some(dhcp) = v4.dhcp {
        if !v4.addresses.is_empty() || v4.gateway.is_some() {
            return Err(inexpressible(
                i,
                "IPv4 by DHCP with static addresses or a gateway",
            ));
        }
        peerdns(i, dhcp)?;
        return Ok(("dhcp", Vec::new()));
    }
    if v4.addresses.is_empty() {
        if v4.gateway.is_some() {
            return Err(inexpressible(i, "an IPv4 gateway without an address"));
        }
        return Ok(("manual", Vec::new()));
    }
    Ok(("static", static_options(&i.name, &v4.addresses, v4.gateway)))
}

fn inet6(i: &Interface, v6: &Ipv6) -> Result<(&'static str, Options), RenderError> {
    if let Some(dhcp) = v6.dhcp {
        if !v6.addresses.is_empty() || v6.gateway.is_some() {
            return Err(inexpressible(
                i,
                "IPv6 by DHCP with static addresses or a gateway",
            ));
        }
        peerdns(i, dhcp)?;
        // The kernel autoconfigures beside DHCPv6 unless told not to.
        let mut options = Vec::new();
        if !v6.autoconf {
            options.push(("autoconf", "0".into()));
        }
        return Ok(("dhcp", options));
    }
    if !v6.addresses.is_empty() {
        let mut options = static_options(&i.name, &v6.addresses, v6.gateway);
        // Debian's static method turns autoconfiguration off by default.
        if v6.autoconf {
            options.push(("autoconf", "1".into()));
        }
        return Ok(("static", options));
    }
    if v6.gateway.is_some() {
        return Err(inexpressible(i, "an IPv6 gateway without an address"));
    }
    if v6.autoconf {
        return Ok(("auto", Vec::new()));
    }
    // IPv6 without addresses: the kernel would autoconfigure on its own, so
    // the stanza turns that off, in netcf's words (Debian's manual method
    // has no option for it).
    Ok((
        "manual",
        vec![
            ("pre-up", autoconf_command(&i.name, 0)),
            ("post-down", autoconf_command(&i.name, 1)),
        ],
    ))
}

fn autoconf_command(name: &str, value: u8) -> String {
    format!("echo {value} > /proc/sys/net/ipv6/conf/{name}/autoconf")
}

/// A static stanza's addresses: the first as `address`, the others as
/// `ip addr` commands, since Debian's ifupdown 0.8 takes one `address` line
/// (it joins repeats into one broken `ip addr add` argument).
fn static_options<A: fmt::Display + Copy>(
    name: &str,
    addresses: &[Address<A>],
    gateway: Option<A>,
) -> Options {
    let mut options: Options = Vec::new();
    let mut rest = Vec::new();
    for (n, a) in addresses.iter().enumerate() {
        let written = match a.prefix {
            Some(p) => format!("{}/{p}", a.address),
            None => a.address.to_string(),
        };
        if n == 0 {
            options.push(("address", written));
        } else {
            rest.push(written);
        }
    }
    if let Some(gw) = gateway {
        options.push(("gateway", gw.to_string()));
    }
    for a in &rest {
        options.push(("up", format!("ip addr add {a} dev {name}")));
    }
    for a in &rest {
        options.push(("down", format!("ip addr del {a} dev {name}")));
    }
    options
}

fn peerdns(i: &Interface, dhcp: Dhcp) -> Result<(), RenderError> {
    if dhcp.peerdns == Some(false) {
        return Err(inexpressible(
            i,
            "peerdns=\"no\" (netconf always uses the name servers of a lease)",
        ));
    }
    Ok(())
}

fn link_options(i: &Interface) -> Result<Options, RenderError> {
    let mut o: Options = Vec::new();
    if let Some(mtu) = i.mtu {
        o.push(("mtu", mtu.to_string()));
    }
    if let Some(mac) = &i.mac {
        o.push(("hwaddress", format!("ether {mac}")));
    }
    match &i.kind {
        Kind::Ethernet => {}
        Kind::Bridge(b) => {
            let ports: Vec<&str> = b.ports.iter().map(|p| p.name.as_str()).collect();
            let ports = if ports.is_empty() {
                "none".to_string()
            } else {
                ports.join(" ")
            };
            o.push(("bridge_ports", ports));
            if let Some(stp) = b.stp {
                o.push(("bridge_stp", if stp { "on" } else { "off" }.into()));
            }
            if let Some(delay) = &b.delay {
                o.push(("bridge_fd", delay.clone()));
            }
        }
        Kind::Bond(b) => {
            let slaves: Vec<&str> = b.slaves.iter().map(|s| s.name.as_str()).collect();
            o.push(("bond_slaves", slaves.join(" ")));
            if let Some(mode) = &b.mode {
                o.push(("bond_mode", mode.clone()));
                if mode == "active-backup" {
                    if let Some(first) = slaves.first() {
                        o.push(("bond_primary", first.to_string()));
                    }
                }
            }
            match &b.monitor {
                Some(Monitor::Mii {
                    freq,
                    downdelay,
                    updelay,
                    carrier,
                }) => {
                    o.push(("bond_miimon", freq.to_string()));
                    if let Some(d) = downdelay {
                        o.push(("bond_downdelay", d.to_string()));
                    }
                    if let Some(u) = updelay {
                        o.push(("bond_updelay", u.to_string()));
                    }
                    match carrier {
                        Some(Carrier::Ioctl) => o.push(("bond_use_carrier", "0".into())),
                        Some(Carrier::Netif) => o.push(("bond_use_carrier", "1".into())),
                        None => {}
                    }
                }
                Some(Monitor::Arp {
                    interval,
                    target,
                    validate,
                }) => {
                    o.push(("bond_arp_interval", interval.to_string()));
                    o.push(("bond_arp_ip_target", target.to_string()));
                    if let Some(v) = validate {
                        o.push(("bond_arp_validate", v.clone()));
                    }
                }
                None => {}
            }
        }
        Kind::Vlan(v) => {
            // Debian's vlan package takes the tag from the name only.
            if name_tag(&i.name, &v.parent) != Some(v.tag) {
                return Err(inexpressible(
                    i,
                    &format!(
                        "a vlan named other than {}.{} or vlan{} (Debian's vlan package reads the tag from the name)",
                        v.parent, v.tag, v.tag
                    ),
                ));
            }
            o.push(("vlan-raw-device", v.parent.clone()));
        }
    }
    Ok(o)
}

/// The tag a vlan's name gives with this device (`eth0.42`, `vlan42`).
fn name_tag(name: &str, parent: &str) -> Option<u16> {
    let vn = linkopts::vlan_name(name)?;
    match vn.raw {
        Some(raw) if raw != parent => None,
        _ => u16::try_from(vn.id).ok(),
    }
}

/// A stanza option the document could not say, reported by `dumpxml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexpressed {
    /// "FILE:LINE".
    pub place: String,
    pub interface: String,
    /// The option line (`metric 10`) or what else was left out.
    pub what: String,
    /// For an option line: the stanza family it sits in and the line, so
    /// that a define of the same connection carries it into the new
    /// stanzas instead of dropping what the document could not say.
    pub option: Option<KeptOption>,
}

/// An option line of a stanza, kept across a define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOption {
    pub family: Family,
    pub name: String,
    pub value: String,
}

impl fmt::Display for Unexpressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.place, self.interface, self.what)
    }
}

/// A document read from stanzas, with what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub interface: Interface,
    pub unexpressed: Vec<Unexpressed>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescribeError {
    #[error("no interface {0} in the configuration")]
    NotDefined(String),
    #[error("{name} is part of {owner}: its document is {owner}'s")]
    Nested { name: String, owner: String },
}

/// The connections of a configuration: every interface with a stanza that
/// is not a port or slave of another, and not the loopback, in file order.
pub fn connections(config: &InterfacesFile) -> Vec<String> {
    // Every port and slave once, not a search of the file per stanza.
    let owned: HashSet<String> = config
        .stanzas
        .iter()
        .filter_map(|s| Some((s, members(s)?)))
        .flat_map(|(s, m)| {
            m.names()
                .filter(|n| *n != s.name)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut seen = HashSet::new();
    config
        .stanzas
        .iter()
        .filter(|s| s.method != "loopback" && !owned.contains(&s.name))
        .filter(|s| seen.insert(s.name.as_str()))
        .map(|s| s.name.clone())
        .collect()
}

/// The bridge or bond whose ports or slaves name `name`, if any.
pub fn owner(config: &InterfacesFile, name: &str) -> Option<String> {
    config.stanzas.iter().find_map(|s| {
        let members = members(s)?;
        (s.name != name && members.names().any(|m| m == name)).then(|| s.name.clone())
    })
}

/// A bridge stanza's ports or a bond stanza's slaves.
fn members(stanza: &Stanza) -> Option<PortList> {
    let vars = netconf_interfaces::Variables::from_stanza(stanza);
    linkopts::find(&vars, linkopts::BRIDGE_PORTS)
        .and_then(|f| PortList::parse_bridge(f.value).ok())
        .or_else(|| {
            linkopts::find(&vars, linkopts::BOND_SLAVES).map(|f| PortList::parse_bond(f.value))
        })
}

/// The document of connection `name`, read from its stanzas.
pub fn describe(config: &InterfacesFile, name: &str) -> Result<Described, DescribeError> {
    if let Some(owner) = owner(config, name) {
        return Err(DescribeError::Nested {
            name: name.to_string(),
            owner,
        });
    }
    if !config.stanzas.iter().any(|s| s.name == name) {
        return Err(DescribeError::NotDefined(name.to_string()));
    }
    let mut reading = Reading {
        config,
        unexpressed: Vec::new(),
    };
    let mut interface = reading.interface(name, &mut vec![name.to_string()]);
    interface.start = Some(if config.in_class("auto", name) {
        StartMode::Onboot
    } else if config.in_class("hotplug", name) {
        StartMode::Hotplug
    } else {
        StartMode::None
    });
    Ok(Described {
        interface,
        unexpressed: reading.unexpressed,
    })
}

struct Reading<'c> {
    config: &'c InterfacesFile,
    unexpressed: Vec<Unexpressed>,
}

/// One stanza's option lines, each taken at most once; what is left is
/// reported as unexpressed.
struct Lines<'s> {
    stanza: &'s Stanza,
    taken: Vec<bool>,
}

impl<'s> Lines<'s> {
    fn new(stanza: &'s Stanza) -> Self {
        Lines {
            stanza,
            taken: vec![false; stanza.options.len()],
        }
    }

    /// Every value of the option known by `names` (any `-`/`_` spelling).
    fn take_all(&mut self, names: &[&str]) -> Vec<&'s str> {
        let keys: Vec<String> = names.iter().map(|n| option_key(n)).collect();
        let mut out = Vec::new();
        for (i, o) in self.stanza.options.iter().enumerate() {
            if keys.contains(&option_key(&o.name)) {
                self.taken[i] = true;
                out.push(o.value.as_str());
            }
        }
        out
    }

    /// The last value (a script sees the last of two equal names).
    fn take(&mut self, names: &[&str]) -> Option<&'s str> {
        self.take_all(names).pop().filter(|v| !v.is_empty())
    }

    /// Takes the command lines for which `keep` says yes.
    fn take_commands(&mut self, name: &str, mut keep: impl FnMut(&str) -> bool) {
        for (i, o) in self.stanza.options.iter().enumerate() {
            if o.name == name && !self.taken[i] && keep(&o.value) {
                self.taken[i] = true;
            }
        }
    }

    fn left(&self) -> impl Iterator<Item = (&'s str, &'s str, Location)> + '_ {
        self.stanza
            .options
            .iter()
            .zip(&self.taken)
            .filter(|(_, taken)| !**taken)
            .map(|(o, _)| (o.name.as_str(), o.value.as_str(), o.location))
    }
}

impl Reading<'_> {
    fn place(&self, location: Option<Location>) -> String {
        location
            .map(|l| self.config.describe(l))
            .unwrap_or_else(|| "(built in)".into())
    }

    fn note(&mut self, location: Option<Location>, interface: &str, what: String) {
        self.unexpressed.push(Unexpressed {
            place: self.place(location),
            interface: interface.to_string(),
            what,
            option: None,
        });
    }

    /// `name` and, through its ports or slaves, what is nested in it;
    /// `path` holds the names above, so that a loop in the file ends.
    fn interface(&mut self, name: &str, path: &mut Vec<String>) -> Interface {
        let config = self.config;
        let stanzas: Vec<&Stanza> = config.stanzas_named(name).collect();
        let mut lines: Vec<Lines> = stanzas.iter().map(|s| Lines::new(s)).collect();
        let mut interface = Interface::bare(name, Kind::Ethernet);

        // Link options may sit in any of the stanzas: the last one wins.
        let link_value = |lines: &mut Vec<Lines>, names: &[&str]| {
            lines
                .iter_mut()
                .filter_map(|l| l.take(names))
                .last()
                .map(str::to_string)
        };
        if let Some(mtu) = link_value(&mut lines, &["mtu"]) {
            match mtu.parse() {
                Ok(m) => interface.mtu = Some(m),
                Err(_) => self.note(stanzas[0].location, name, format!("mtu {mtu}")),
            }
        }
        if let Some(hw) = link_value(&mut lines, &["hwaddress"]) {
            let mac = hw.strip_prefix("ether ").unwrap_or(&hw).trim();
            if mac.split(':').count() == 6 {
                interface.mac = Some(mac.to_string());
            } else {
                self.note(stanzas[0].location, name, format!("hwaddress {hw}"));
            }
        }

        let bridge_ports = link_value(&mut lines, linkopts::BRIDGE_PORTS);
        let bond_slaves = link_value(&mut lines, linkopts::BOND_SLAVES);
        let raw_device = link_value(&mut lines, linkopts::VLAN_RAW_DEVICE);
        let vlan_id = link_value(&mut lines, linkopts::VLAN_ID);
        if let Some(ports) = bridge_ports {
            interface.kind = Kind::Bridge(self.bridge(name, &ports, &mut lines, path));
        } else if let Some(slaves) = bond_slaves {
            interface.kind = Kind::Bond(self.bond(name, &slaves, &mut lines, path));
        } else if let Some(vlan) = self.vlan(name, raw_device, vlan_id, stanzas.first()) {
            interface.kind = Kind::Vlan(vlan);
        }

        for (stanza, l) in stanzas.iter().zip(lines.iter_mut()) {
            match stanza.family {
                Family::Inet if interface.ipv4.is_none() => {
                    interface.ipv4 = self.ipv4(stanza, l);
                }
                Family::Inet6 if interface.ipv6.is_none() => {
                    interface.ipv6 = self.ipv6(stanza, l);
                }
                _ => self.note(
                    stanza.location,
                    name,
                    format!("iface {} {} {}", name, stanza.family, stanza.method),
                ),
            }
        }
        for l in &lines {
            for (option, value, location) in l.left() {
                self.unexpressed.push(Unexpressed {
                    place: self.place(Some(location)),
                    interface: name.to_string(),
                    what: format!("{option} {value}"),
                    option: Some(KeptOption {
                        family: l.stanza.family,
                        name: option.to_string(),
                        value: value.to_string(),
                    }),
                });
            }
        }
        interface
    }

    fn nested(&mut self, owner: &str, member: &str, path: &mut Vec<String>) -> Option<Interface> {
        if path.iter().any(|p| p == member) {
            self.note(None, owner, format!("{member} is its own port (a loop)"));
            return None;
        }
        path.push(member.to_string());
        let mut inner = if self.config.stanzas.iter().any(|s| s.name == member) {
            self.interface(member, path)
        } else {
            Interface::bare(member, Kind::Ethernet)
        };
        path.pop();
        // A nested interface has no addressing of its own in the schema.
        if inner.ipv4.take().is_some() || inner.ipv6.take().is_some() || inner.mtu.take().is_some()
        {
            self.note(
                None,
                member,
                format!("addressing or MTU of {member}, a port of {owner}"),
            );
        }
        Some(inner)
    }

    fn bridge(
        &mut self,
        name: &str,
        ports: &str,
        lines: &mut [Lines],
        path: &mut Vec<String>,
    ) -> Bridge {
        let list = PortList::parse_bridge(ports).unwrap_or_default();
        if list.has_patterns() {
            self.note(None, name, format!("bridge_ports {ports} (patterns)"));
        }
        let mut bridge = Bridge {
            stp: None,
            delay: None,
            ports: Vec::new(),
        };
        for l in lines.iter_mut() {
            if let Some(stp) = l.take(&["bridge_stp"]) {
                match stp {
                    "on" | "yes" | "true" | "1" => bridge.stp = Some(true),
                    "off" | "no" | "false" | "0" => bridge.stp = Some(false),
                    _ => self.note(l.stanza.location, name, format!("bridge_stp {stp}")),
                }
            }
            if let Some(fd) = l.take(&["bridge_fd"]) {
                bridge.delay = Some(fd.to_string());
            }
        }
        for port in list.names() {
            let mac = take_member_commands(lines, port);
            if let Some(mut p) = self.nested(name, port, path) {
                if mac.is_some() {
                    p.mac = mac;
                }
                if matches!(p.kind, Kind::Bridge(_)) {
                    self.note(None, name, format!("{port}, a bridge, as a port"));
                    continue;
                }
                bridge.ports.push(p);
            }
        }
        bridge
    }

    fn bond(
        &mut self,
        name: &str,
        slaves: &str,
        lines: &mut [Lines],
        path: &mut Vec<String>,
    ) -> Bond {
        let list = PortList::parse_bond(slaves);
        if list.has_patterns() {
            self.note(None, name, format!("bond_slaves {slaves} (patterns)"));
        }
        let mut bond = Bond {
            mode: None,
            monitor: None,
            slaves: Vec::new(),
        };
        let mut primary = None;
        let mut mii = None;
        let (mut downdelay, mut updelay, mut carrier) = (None, None, None);
        let (mut arp_interval, mut arp_target, mut arp_validate) = (None, None, None);
        for l in lines.iter_mut() {
            let location = l.stanza.location;
            if let Some(mode) = l.take(linkopts::BOND_MODE) {
                match bond_mode(mode) {
                    Some(m) => bond.mode = Some(m.to_string()),
                    None => self.note(location, name, format!("bond_mode {mode}")),
                }
            }
            primary = l.take(&["bond-primary"]).or(primary);
            let uint = |this: &mut Self, l: &mut Lines, option: &str| {
                let value = l.take(&[option])?;
                let parsed = value.parse::<u32>().ok();
                if parsed.is_none() {
                    this.note(location, name, format!("{option} {value}"));
                }
                parsed
            };
            mii = uint(self, l, "bond-miimon").or(mii);
            downdelay = uint(self, l, "bond-downdelay").or(downdelay);
            updelay = uint(self, l, "bond-updelay").or(updelay);
            arp_interval = uint(self, l, "bond-arp-interval").or(arp_interval);
            if let Some(c) = l.take(&["bond-use-carrier"]) {
                carrier = match c {
                    "0" => Some(Carrier::Ioctl),
                    "1" => Some(Carrier::Netif),
                    _ => {
                        self.note(location, name, format!("bond_use_carrier {c}"));
                        carrier
                    }
                };
            }
            if let Some(t) = l.take(&["bond-arp-ip-target"]) {
                match Ipv4Addr::from_str(t) {
                    Ok(a) => arp_target = Some(a),
                    Err(_) => self.note(location, name, format!("bond_arp_ip_target {t}")),
                }
            }
            if let Some(v) = l.take(&["bond-arp-validate"]) {
                if Monitor::ARP_VALIDATE.contains(&v) {
                    arp_validate = Some(v.to_string());
                } else {
                    self.note(location, name, format!("bond_arp_validate {v}"));
                }
            }
        }
        bond.monitor = match (mii, arp_interval.zip(arp_target)) {
            (Some(freq), _) => Some(Monitor::Mii {
                freq,
                downdelay,
                updelay,
                carrier,
            }),
            (None, Some((interval, target))) => Some(Monitor::Arp {
                interval,
                target,
                validate: arp_validate,
            }),
            (None, None) => None,
        };
        let mut names: Vec<&str> = list.names().collect();
        if let Some(p) = primary {
            if let Some(at) = names.iter().position(|n| *n == p) {
                let p = names.remove(at);
                names.insert(0, p);
            } else {
                self.note(None, name, format!("bond_primary {p} (not a slave)"));
            }
        }
        for slave in names {
            let mac = take_member_commands(lines, slave);
            if let Some(mut s) = self.nested(name, slave, path) {
                if mac.is_some() {
                    s.mac = mac;
                }
                if !matches!(s.kind, Kind::Ethernet) {
                    self.note(
                        None,
                        name,
                        format!("{slave}, a {}, as a slave", s.kind.type_name()),
                    );
                    continue;
                }
                bond.slaves.push(s);
            }
        }
        bond
    }

    fn vlan(
        &mut self,
        name: &str,
        raw_device: Option<String>,
        vlan_id: Option<String>,
        stanza: Option<&&Stanza>,
    ) -> Option<Vlan> {
        let by_name = linkopts::vlan_name(name);
        let parent = raw_device.or_else(|| by_name.and_then(|v| v.raw).map(str::to_string))?;
        let tag = match vlan_id {
            Some(id) => id.parse::<u16>().ok(),
            None => by_name.and_then(|v| u16::try_from(v.id).ok()),
        };
        match tag.filter(|t| *t <= 4095) {
            Some(tag) => Some(Vlan { tag, parent }),
            None => {
                self.note(
                    stanza.and_then(|s| s.location),
                    name,
                    "a vlan without a tag from 0 to 4095".into(),
                );
                None
            }
        }
    }

    fn ipv4(&mut self, stanza: &Stanza, l: &mut Lines) -> Option<Ipv4> {
        let name = &stanza.name;
        match stanza.method.as_str() {
            "manual" => None,
            "dhcp" => Some(Ipv4 {
                dhcp: Some(Dhcp::default()),
                ..Ipv4::default()
            }),
            "loopback" => Some(Ipv4 {
                addresses: vec![Address {
                    address: Ipv4Addr::LOCALHOST,
                    prefix: Some(8),
                }],
                ..Ipv4::default()
            }),
            "static" => {
                let netmask = l.take(&["netmask"]);
                let mut v4 = Ipv4::default();
                for a in l.take_all(&["address"]) {
                    match address4(a, netmask) {
                        Some(a) => v4.addresses.push(a),
                        None => self.note(stanza.location, name, format!("address {a}")),
                    }
                }
                v4.addresses.extend(extra_addresses(l, name, address4));
                if let Some(gw) = l.take(&["gateway"]) {
                    match Ipv4Addr::from_str(gw) {
                        Ok(gw) => v4.gateway = Some(gw),
                        Err(_) => self.note(stanza.location, name, format!("gateway {gw}")),
                    }
                }
                Some(v4)
            }
            other => {
                self.note(stanza.location, name, format!("iface {name} inet {other}"));
                None
            }
        }
    }

    fn ipv6(&mut self, stanza: &Stanza, l: &mut Lines) -> Option<Ipv6> {
        let name = &stanza.name;
        let mut v6 = Ipv6::default();
        // netcf's own way to say "no autoconfiguration".
        let off = format!("echo 0 > /proc/sys/net/ipv6/conf/{name}/autoconf");
        let on = format!("echo 1 > /proc/sys/net/ipv6/conf/{name}/autoconf");
        let mut netcf_off = false;
        l.take_commands("pre-up", |c| {
            let hit = c == off;
            netcf_off |= hit;
            hit
        });
        l.take_commands("post-down", |c| c == on);
        let autoconf_option = l.take(&["autoconf"]).map(|v| v != "0");
        match stanza.method.as_str() {
            // The kernel autoconfigures unless the stanza turns it off.
            "manual" => v6.autoconf = autoconf_option.unwrap_or(!netcf_off),
            "auto" => {
                v6.autoconf = true;
                if l.take(&["dhcp"]).is_some_and(|v| v != "0") {
                    v6.dhcp = Some(Dhcp::default());
                }
            }
            "dhcp" => {
                v6.dhcp = Some(Dhcp::default());
                v6.autoconf = autoconf_option.unwrap_or(!netcf_off);
            }
            "loopback" => v6.addresses.push(Address {
                address: Ipv6Addr::LOCALHOST,
                prefix: Some(128),
            }),
            "static" => {
                v6.autoconf = autoconf_option.unwrap_or(false);
                let netmask = l.take(&["netmask"]);
                for a in l.take_all(&["address"]) {
                    match address6(a, netmask) {
                        Some(a) => v6.addresses.push(a),
                        None => self.note(stanza.location, name, format!("address {a}")),
                    }
                }
                v6.addresses.extend(extra_addresses(l, name, address6));
                if let Some(gw) = l.take(&["gateway"]) {
                    match Ipv6Addr::from_str(gw) {
                        Ok(gw) => v6.gateway = Some(gw),
                        Err(_) => self.note(stanza.location, name, format!("gateway {gw}")),
                    }
                }
            }
            other => {
                self.note(stanza.location, name, format!("iface {name} inet6 {other}"));
                return None;
            }
        }
        Some(v6)
    }
}

/// The `pre-up ifup MEMBER`/`post-down ifdown MEMBER` lines with which a
/// bridge or bond brings a member's own stanza up and down.
/// Also the `pre-up ip link set dev MEMBER address MAC` line that sets a
/// member's MAC: the MAC, if there is one.
fn take_member_commands(lines: &mut [Lines], member: &str) -> Option<String> {
    let (up, down) = (format!("ifup {member}"), format!("ifdown {member}"));
    let mut mac = None;
    for l in lines.iter_mut() {
        l.take_commands("pre-up", |c| {
            if c == up {
                return true;
            }
            let words: Vec<&str> = c.split_ascii_whitespace().collect();
            match words[..] {
                ["ip", "link", "set", "dev", m, "address", a]
                | ["ip", "link", "set", m, "address", a]
                    if m == member && crate::xml::is_mac(a) =>
                {
                    mac = Some(a.to_string());
                    true
                }
                _ => false,
            }
        });
        l.take_commands("post-down", |c| c == down);
    }
    mac
}

/// The addresses a static stanza adds with commands beyond its `address`:
/// `up ip addr add A/P dev NAME` (as [`render`] writes them) and netcf's
/// `up /sbin/ifconfig NAME inet6 add A/P`, with their `down` lines.
fn extra_addresses<A: Copy>(
    l: &mut Lines,
    name: &str,
    parse: fn(&str, Option<&str>) -> Option<Address<A>>,
) -> Vec<Address<A>> {
    let mut written = Vec::new();
    let mut found = Vec::new();
    l.take_commands("up", |c| match address_command(c, name, "add") {
        Some(text) => match parse(text, None) {
            Some(a) => {
                written.push(text.to_string());
                found.push(a);
                true
            }
            None => false,
        },
        None => false,
    });
    l.take_commands("down", |c| {
        address_command(c, name, "del").is_some_and(|text| written.iter().any(|w| w == text))
    });
    found
}

/// The address of `ip addr VERB A dev NAME` (`/sbin/ip`, `-4`/`-6`,
/// `address` allowed) or `/sbin/ifconfig NAME inet6 VERB A`.
fn address_command<'c>(command: &'c str, name: &str, verb: &str) -> Option<&'c str> {
    let words: Vec<&str> = command.split_ascii_whitespace().collect();
    let program = |w: &str, p: &str| w == p || w.rsplit_once('/').is_some_and(|(_, b)| b == p);
    match words[..] {
        [ip, "-4" | "-6", "addr" | "address", v, a, "dev", n]
        | [ip, "addr" | "address", v, a, "dev", n]
            if program(ip, "ip") && v == verb && n == name =>
        {
            Some(a)
        }
        [ifconfig, n, "inet6", v, a] if program(ifconfig, "ifconfig") && v == verb && n == name => {
            Some(a)
        }
        _ => None,
    }
}

/// `A`, `A/PREFIX`, or `A` with a `netmask` (dotted or a length).
fn address4(value: &str, netmask: Option<&str>) -> Option<Address<Ipv4Addr>> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, netmask),
    };
    let address = Ipv4Addr::from_str(addr).ok()?;
    let prefix = match prefix {
        None => None,
        Some(p) => Some(match p.parse::<u8>() {
            Ok(n) if n <= 32 => n,
            Ok(_) => return None,
            Err(_) => {
                let mask = u32::from(Ipv4Addr::from_str(p).ok()?);
                let ones = mask.leading_ones();
                if mask.checked_shl(ones).unwrap_or(0) != 0 {
                    return None;
                }
                ones as u8
            }
        }),
    };
    Some(Address { address, prefix })
}

fn address6(value: &str, netmask: Option<&str>) -> Option<Address<Ipv6Addr>> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, netmask),
    };
    let address = Ipv6Addr::from_str(addr).ok()?;
    let prefix = match prefix {
        None => None,
        Some(p) => Some(p.parse::<u8>().ok().filter(|n| *n <= 128)?),
    };
    Some(Address { address, prefix })
}

/// A bond mode by name or by the kernel's number.
fn bond_mode(value: &str) -> Option<&'static str> {
    if let Ok(n) = value.parse::<usize>() {
        return Bond::MODES.get(n).copied();
    }
    Bond::MODES.iter().copied().find(|m| *m == value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{parse_bytes, ParseOptions};

    fn config(text: &str) -> InterfacesFile {
        let parsed = parse_bytes(
            "/etc/network/interfaces",
            text.as_bytes(),
            &ParseOptions {
                no_loopback: true,
                ..Default::default()
            },
        );
        assert!(!parsed.rejected, "{:?}", parsed.diagnostics);
        parsed.config
    }

    #[test]
    fn a_bridge_with_a_bond_and_a_vlan_goes_to_stanzas_and_back() {
        let xml = r#"<interface type="bridge" name="br0">
  <start mode="onboot"/>
  <mtu size="1400"/>
  <protocol family="ipv4">
    <ip address="198.51.100.10" prefix="24"/>
    <ip address="198.51.100.11" prefix="24"/>
    <route gateway="198.51.100.1"/>
  </protocol>
  <protocol family="ipv6">
    <autoconf/>
    <ip address="2001:db8::10" prefix="64"/>
  </protocol>
  <bridge stp="off" delay="0.5">
    <interface type="ethernet" name="eth0">
      <mac address="02:00:00:00:00:01"/>
    </interface>
    <interface type="bond" name="bond0">
      <bond mode="active-backup">
        <miimon freq="100" updelay="10" carrier="ioctl"/>
        <interface type="ethernet" name="eth2"/>
        <interface type="ethernet" name="eth1"/>
      </bond>
    </interface>
    <interface type="vlan" name="eth3.42">
      <vlan tag="42">
        <interface name="eth3"/>
      </vlan>
    </interface>
  </bridge>
</interface>
"#;
        let doc = crate::xml::parse(xml).unwrap();
        let r = render(&doc).unwrap();
        assert_eq!(
            r.text,
            "auto br0
iface br0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
    mtu 1400
    bridge_ports eth0 bond0 eth3.42
    bridge_stp off
    bridge_fd 0.5
    pre-up ip link set dev eth0 address 02:00:00:00:00:01
    up ip addr add 198.51.100.11/24 dev br0
    down ip addr del 198.51.100.11/24 dev br0
iface br0 inet6 static
    address 2001:db8::10/64
    autoconf 1

iface bond0 inet manual
    bond_slaves eth2 eth1
    bond_mode active-backup
    bond_primary eth2
    bond_miimon 100
    bond_updelay 10
    bond_use_carrier 0

iface eth3.42 inet manual
    vlan-raw-device eth3
"
        );
        assert_eq!(r.names, ["br0", "eth0", "bond0", "eth2", "eth1", "eth3.42"]);
        let c = config(&r.text);
        assert_eq!(connections(&c), ["br0"]);
        let back = describe(&c, "br0").unwrap();
        assert_eq!(back.unexpressed, []);
        assert_eq!(back.interface, doc);
        assert_eq!(crate::xml::write(&back.interface), xml);
    }

    #[test]
    fn hand_written_stanzas_read_in_both_spellings_with_the_rest_reported() {
        let c = config(
            "allow-hotplug bond0
iface bond0 inet dhcp
    bond-slaves eth1 eth2
    bond-mode 1
    bond-primary eth2
    bond-arp-interval 200
    bond-arp-ip-target 198.51.100.1
    metric 5
iface bond0 inet6 dhcp
    autoconf 0
",
        );
        let d = describe(&c, "bond0").unwrap();
        let i = &d.interface;
        assert_eq!(i.start, Some(StartMode::Hotplug));
        assert_eq!(i.ipv4.as_ref().unwrap().dhcp, Some(Dhcp::default()));
        let v6 = i.ipv6.as_ref().unwrap();
        assert!(!v6.autoconf && v6.dhcp.is_some());
        let Kind::Bond(b) = &i.kind else {
            panic!("{i:?}")
        };
        assert_eq!(b.mode.as_deref(), Some("active-backup"));
        let slaves: Vec<&str> = b.slaves.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(slaves, ["eth2", "eth1"]);
        assert!(matches!(
            b.monitor,
            Some(Monitor::Arp { interval: 200, .. })
        ));
        assert_eq!(
            d.unexpressed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["/etc/network/interfaces:8: bond0: metric 5"]
        );
        assert_eq!(
            describe(&c, "eth1"),
            Err(DescribeError::Nested {
                name: "eth1".into(),
                owner: "bond0".into()
            })
        );
    }

    #[test]
    fn netcf_written_ipv6_extras_and_netmasks_read_back() {
        let c = config(
            "iface eth0 inet static
    address 198.51.100.7
    netmask 255.255.255.0
iface eth0 inet6 static
    address 2001:db8::1
    netmask 64
    pre-up echo 0 > /proc/sys/net/ipv6/conf/eth0/autoconf
    post-down echo 1 > /proc/sys/net/ipv6/conf/eth0/autoconf
    up /sbin/ifconfig eth0 inet6 add 2001:db8::2/64
    down /sbin/ifconfig eth0 inet6 del 2001:db8::2/64
",
        );
        let d = describe(&c, "eth0").unwrap();
        assert_eq!(d.unexpressed, []);
        let v4 = d.interface.ipv4.unwrap();
        assert_eq!(v4.addresses[0].prefix, Some(24));
        let v6 = d.interface.ipv6.unwrap();
        assert_eq!(v6.addresses.len(), 2);
        assert!(!v6.autoconf);
    }

    #[test]
    fn what_the_style_cannot_say_is_refused() {
        let doc = crate::xml::parse(
            r#"<interface type="ethernet" name="eth0"><protocol family="ipv4"><dhcp/><ip address="198.51.100.1"/></protocol></interface>"#,
        )
        .unwrap();
        assert!(matches!(
            render(&doc),
            Err(RenderError::Inexpressible { .. })
        ));
        let doc = crate::xml::parse(
            r#"<interface type="bridge" name="br0"><bridge><interface type="ethernet" name="br0"/></bridge></interface>"#,
        )
        .unwrap();
        assert_eq!(render(&doc), Err(RenderError::Repeated("br0".into())));
        // Debian's vlan package takes a vlan's tag from its name only.
        let doc = crate::xml::parse(
            r#"<interface type="vlan" name="mgmt"><vlan tag="5"><interface name="eth3"/></vlan></interface>"#,
        )
        .unwrap();
        assert!(matches!(
            render(&doc),
            Err(RenderError::Inexpressible { .. })
        ));
    }
}
