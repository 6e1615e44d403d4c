//! ifupdown2's dialect (`ifupdown2/ifupdown/networkinterfaces.py` of
//! ifupdown2 3.x, read, not copied), the part netconf reads so far: `iface
//! NAME` with or without family and method (a family alone means `static`),
//! addresses of both families in one stanza and several on one line,
//! `gateway` per family, option names with `_` read as `-`, `$IFACE` in
//! values, `eth0:1` folded into `eth0`, name ranges (`swp[1-4]`), `auto all`,
//! `allow-CLASS`, and `source`/`source-directory` globs. A file with a `%`
//! goes through the Mako subset of [`super::mako`] first, as ifupdown2's
//! goes through Mako; its lines keep the numbers they were written at.
//!
//! Each stanza becomes Debian stanzas of its name as an ifupdown-ng object
//! does: `inet dhcp` (`inet6 dhcp` for `inet6 dhcp`/`dhcp6`), `inet static`
//! with the IPv4 addresses and gateways, `inet6 static` with the IPv6 ones,
//! or `inet manual`; an address without a prefix is a host address (/32,
//! /128), as ifupdown2 adds it. Stanzas of the same name stay side by side,
//! as ifupdown2 keeps them (one interface, its addresses from all of them).

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::include::include_pattern;
use crate::model::{AllowClass, Family, InterfacesFile, Location, OptionLine, Stanza};
use crate::parser::{ParseOptions, Parsed};
use std::collections::HashSet;
use std::net::IpAddr;

use super::Dialect;

const MAX_INCLUDE_DEPTH: usize = 64;

/// One stanza as ifupdown2 holds it, for its `ifquery -o json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ifupdown2Iface {
    pub name: String,
    /// As written on the `iface` line, if it was.
    pub family: Option<String>,
    pub method: Option<String>,
    pub auto: bool,
    /// A `vlan BRIDGE.VID` object (ifupdown2's `BRIDGE_VLAN`): the layer-2
    /// attributes of one VLAN of a VLAN-aware bridge, no device of its own.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bridge_vlan: bool,
    /// Where its stanza starts: the Debian stanzas it became have this
    /// location (and its name).
    #[serde(skip)]
    pub location: Location,
    /// Attributes in order (`_` read as `-`, `$IFACE` put in, an `address`
    /// line of several addresses as several), as written otherwise.
    pub config: Vec<(String, String)>,
}

/// One stanza as ifupdown2 reads it.
struct Iface {
    name: String,
    bridge_vlan: bool,
    family: Option<Family>,
    method: Option<String>,
    options: Vec<OptionLine>,
    location: Location,
}

struct Reader<'o> {
    options: &'o ParseOptions,
    config: InterfacesFile,
    diagnostics: Vec<Diagnostic>,
    seen: HashSet<String>,
    ifaces: Vec<Iface>,
    classes: Vec<AllowClass>,
    auto_all: bool,
    depth: usize,
}

/// Reads `path` (or `data`) in ifupdown2's dialect.
pub fn parse(path: &str, data: Option<&[u8]>, options: &ParseOptions) -> Parsed {
    let mut reader = Reader {
        options,
        config: InterfacesFile::default(),
        diagnostics: Vec::new(),
        seen: HashSet::new(),
        ifaces: Vec::new(),
        classes: Vec::new(),
        auto_all: false,
        depth: 0,
    };
    let read = reader.read_file(path, None, data);
    reader.finish(read)
}

/// The file's lines, each with its number.
fn physical_lines(data: &[u8]) -> Vec<(String, u32)> {
    String::from_utf8_lossy(data)
        .split('\n')
        .enumerate()
        .map(|(i, line)| (line.trim_end_matches('\r').to_string(), i as u32 + 1))
        .collect()
}

/// Logical lines: a backslash at the end of a line joins the next one;
/// comments only where a line starts with `#`. Each keeps the number of
/// its first line (in a template, the line it was expanded from).
fn logical_lines(lines: Vec<(String, u32)>) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut pending: Option<(String, u32)> = None;
    for (line, number) in lines {
        let (mut acc, start) = pending.take().unwrap_or((String::new(), number));
        match line.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head.trim());
                acc.push(' ');
                pending = Some((acc, start));
            }
            None => {
                acc.push_str(line.trim());
                out.push((acc, start));
            }
        }
    }
    if let Some(last) = pending {
        out.push(last);
    }
    out
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "iface" | "auto" | "source" | "source-directory" | "vlan"
    ) || word.split('-').next() == Some("allow")
}

/// ifupdown2's name ranges: `swp[1-4]`, `swp1.[2-3]`, `swp[1-2].100`.
fn expand_range(name: &str) -> Option<Vec<String>> {
    let open = name.find('[')?;
    let close = open + name[open..].find(']')?;
    let (start, end) = name[open + 1..close].split_once('-')?;
    let (start, end): (u32, u32) = (start.parse().ok()?, end.parse().ok()?);
    let (prefix, suffix) = (&name[..open], &name[close + 1..]);
    let word = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    };
    if prefix.is_empty() || !word(prefix) || !word(suffix) || end < start || end - start > 4096 {
        return None;
    }
    Some(
        (start..=end)
            .map(|i| format!("{prefix}{i}{suffix}"))
            .collect(),
    )
}

impl Reader<'_> {
    fn note(&mut self, kind: DiagnosticKind, location: Option<Location>) {
        self.diagnostics.push(Diagnostic {
            kind,
            location,
            debian_prints: true,
        });
    }

    fn error(&mut self, message: String, location: Location) {
        self.note(DiagnosticKind::DialectSyntax { message }, Some(location));
    }

    fn read_file(
        &mut self,
        path: &str,
        included_from: Option<Location>,
        data: Option<&[u8]>,
    ) -> bool {
        let opened = super::open_source(
            &mut self.seen,
            &mut self.config.files,
            path,
            included_from,
            data,
        );
        let (file, bytes) = match opened {
            Ok(Some(opened)) => opened,
            Ok(None) => return true,
            Err(kind) => {
                self.note(kind, included_from);
                return false;
            }
        };
        let lines = match super::mako::expand(physical_lines(&bytes)) {
            Ok(lines) => lines,
            Err(e) => {
                self.error(e.message, Location { file, line: e.line });
                return true;
            }
        };
        let mut current: Option<usize> = None;
        for (text, line) in logical_lines(lines) {
            let location = Location { file, line };
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let (first, rest) = match text.split_once(char::is_whitespace) {
                Some((f, r)) => (f, r.trim()),
                None => (text.as_str(), ""),
            };
            if !is_keyword(first) {
                match current {
                    Some(i) => self.option(i, first, rest, location),
                    None => self.error(format!("error processing line '{text}'"), location),
                }
                continue;
            }
            current = None;
            match first {
                "iface" => current = self.iface(rest, location),
                "vlan" => {
                    current = self.iface(rest, location);
                    if let Some(i) = current {
                        self.ifaces[i].bridge_vlan = true;
                    }
                }
                "auto" => self.class("auto", rest, location),
                "source" => self.source(path, rest, location, false),
                "source-directory" => self.source(path, rest, location, true),
                allow => {
                    let class = allow.split_once('-').map_or("", |(_, c)| c).to_string();
                    let class = if class == "auto" {
                        "auto".into()
                    } else {
                        class
                    };
                    self.class(&class, rest, location)
                }
            }
        }
        true
    }

    fn class(&mut self, class: &str, rest: &str, location: Location) {
        let names: Vec<&str> = rest.split_whitespace().collect();
        if names.is_empty() || class.is_empty() {
            self.error(format!("invalid {class} line"), location);
            return;
        }
        if class == "auto" && names.contains(&"all") {
            self.auto_all = true;
            return;
        }
        let index = match self.classes.iter().position(|c| c.name == class) {
            Some(i) => i,
            None => {
                self.classes.push(AllowClass {
                    name: class.to_string(),
                    interfaces: Vec::new(),
                });
                self.classes.len() - 1
            }
        };
        for name in names {
            for name in expand_range(name).unwrap_or_else(|| vec![name.to_string()]) {
                let list = &mut self.classes[index].interfaces;
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
    }

    fn iface(&mut self, rest: &str, location: Location) -> Option<usize> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let Some(name) = words.first() else {
            self.note(DiagnosticKind::IfaceTooFewParameters, Some(location));
            return None;
        };
        // `eth0:1` is eth0.
        let name = name.split(':').next().unwrap_or(name).to_string();
        let family = match words.get(1) {
            None => None,
            Some(&"inet") => Some(Family::Inet),
            Some(&"inet6") => Some(Family::Inet6),
            Some(other) => {
                self.error(
                    format!("iface {name}: unsupported address family '{other}'"),
                    location,
                );
                return None;
            }
        };
        let method = words.get(2).map(|m| m.to_string());
        if let Some(m) = &method {
            if !METHODS.contains(&m.as_str()) {
                self.error(
                    format!("iface {name}: unsupported address method '{m}'"),
                    location,
                );
                return None;
            }
        }
        self.ifaces.push(Iface {
            name,
            bridge_vlan: false,
            family,
            method,
            options: Vec::new(),
            location,
        });
        Some(self.ifaces.len() - 1)
    }

    fn option(&mut self, i: usize, name: &str, value: &str, location: Location) {
        let iface = &self.ifaces[i];
        if value.is_empty() {
            let message = format!("iface {}: invalid syntax '{name}'", iface.name);
            self.error(message, location);
            return;
        }
        let name = name.replace('_', "-");
        // `$IFACE` is put in once ranges are expanded (ifupdown2 puts in the
        // range as written: `swp[1-2]`).
        let value = value.to_string();
        if matches!(name.as_str(), "address" | "gateway") {
            for word in value.split_whitespace() {
                if name == "address" && !is_address(word) {
                    let kind = DiagnosticKind::InvalidOption {
                        iface: self.ifaces[i].name.clone(),
                        option: name.clone(),
                        value: word.into(),
                        reason: "is not an address (ADDRESS or ADDRESS/PREFIX)".into(),
                    };
                    self.note(kind, Some(location));
                    continue;
                }
                self.ifaces[i].options.push(OptionLine {
                    name: name.clone(),
                    value: word.to_string(),
                    location,
                });
            }
            return;
        }
        self.ifaces[i].options.push(OptionLine {
            name,
            value,
            location,
        });
    }

    fn source(&mut self, path: &str, rest: &str, location: Location, directory: bool) {
        let Some(name) = rest.split_whitespace().next() else {
            let what = if directory {
                "source-directory"
            } else {
                "source"
            };
            self.error(format!("unable to read {what} line"), location);
            return;
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            let kind = DiagnosticKind::IncludeTooDeep {
                path: name.into(),
                depth: MAX_INCLUDE_DEPTH,
            };
            self.note(kind, Some(location));
            return;
        }
        let pattern = match &self.options.root {
            Some(root) if name.starts_with('/') => format!("{}{name}", root.trim_end_matches('/')),
            _ => include_pattern(path, name),
        };
        // Python's glob: no other shell expansion, sorted for `source`.
        let mut matches = crate::include::glob(&pattern);
        matches.sort();
        self.depth += 1;
        if matches.is_empty() && !directory && !pattern.contains('*') {
            self.note(
                DiagnosticKind::OpenFailed {
                    path: pattern.clone(),
                    error: "No such file or directory".into(),
                },
                Some(location),
            );
        }
        for found in matches {
            if directory {
                let Ok(entries) = std::fs::read_dir(&found) else {
                    continue;
                };
                let mut files: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().to_string_lossy().into_owned())
                    .collect();
                files.sort();
                for file in files {
                    self.read_file(&file, Some(location), None);
                }
            } else {
                self.read_file(&found, Some(location), None);
            }
        }
        self.depth -= 1;
    }

    fn finish(self, read: bool) -> Parsed {
        let Reader {
            mut config,
            mut diagnostics,
            ifaces,
            mut classes,
            auto_all,
            ..
        } = self;
        let mut ifaces = ifaces;
        for iface in ifaces.iter_mut().filter(|i| !i.bridge_vlan) {
            diagnostics.extend(method_attributes(iface));
            diagnostics.extend(not_applied(iface));
        }
        let mut expanded = Vec::new();
        for iface in ifaces {
            let names = expand_range(&iface.name).unwrap_or_else(|| vec![iface.name.clone()]);
            for name in names {
                let options = iface
                    .options
                    .iter()
                    .map(|o| OptionLine {
                        value: o.value.replace("$IFACE", &name),
                        ..o.clone()
                    })
                    .collect();
                expanded.push(Iface {
                    name,
                    bridge_vlan: iface.bridge_vlan,
                    family: iface.family,
                    method: iface.method.clone(),
                    options,
                    location: iface.location,
                });
            }
        }
        if auto_all {
            let auto = match classes.iter().position(|c| c.name == "auto") {
                Some(i) => i,
                None => {
                    classes.insert(
                        0,
                        AllowClass {
                            name: "auto".into(),
                            interfaces: Vec::new(),
                        },
                    );
                    0
                }
            };
            for iface in &expanded {
                if !classes[auto].interfaces.contains(&iface.name) {
                    classes[auto].interfaces.push(iface.name.clone());
                }
            }
        }
        for iface in &expanded {
            if iface.bridge_vlan {
                diagnostics.extend(bridge_vlan_notes(iface));
            } else {
                config.stanzas.extend(lower(iface));
            }
        }
        let auto: &[String] = classes
            .iter()
            .find(|c| c.name == "auto")
            .map_or(&[], |c| &c.interfaces);
        let objects = expanded
            .iter()
            .map(|i| Ifupdown2Iface {
                name: i.name.clone(),
                family: i.family.map(|f| f.name().to_string()),
                method: i.method.clone(),
                auto: auto.contains(&i.name),
                bridge_vlan: i.bridge_vlan,
                location: i.location,
                config: i
                    .options
                    .iter()
                    .map(|o| (o.name.clone(), o.value.clone()))
                    .collect(),
            })
            .collect();
        config.classes = classes;
        let rejected = !read
            || diagnostics
                .iter()
                .any(|d| d.severity() == crate::Severity::Error);
        Parsed {
            config,
            diagnostics,
            rejected,
            dialect: Dialect::Ifupdown2,
            ng: None,
            ifupdown2: Some(objects),
        }
    }
}

/// What netconf says of a `vlan BRIDGE.VID` object. ifupdown2 makes no
/// device for it (its addons skip `BRIDGE_VLAN` objects) and applies only
/// `bridge-igmp-querier-src`, through a per-VLAN querier source that
/// Cumulus' kernel has and Linux has not; netconf reads the object for
/// `ifquery` and does nothing with it. A name that is not `BRIDGE.VID` is
/// the error ifupdown2 gives when it brings the object up.
fn bridge_vlan_notes(iface: &Iface) -> Vec<Diagnostic> {
    let note = |kind| Diagnostic {
        kind,
        location: Some(iface.location),
        debian_prints: true,
    };
    let name = &iface.name;
    let valid = name
        .split_once('.')
        .is_some_and(|(bridge, vid)| !bridge.is_empty() && vid.parse::<u16>().is_ok());
    if !valid {
        return vec![note(DiagnosticKind::DialectSyntax {
            message: format!(
                "vlan {name}: bridge vlan interface name does not correspond to format \
                 (eg. br0.100)"
            ),
        })];
    }
    iface
        .options
        .iter()
        .map(|o| {
            let message = if o.name == "bridge-igmp-querier-src" {
                format!(
                    "vlan {name}: `{}` is not applied: Linux bridges have no per-VLAN IGMP \
                     querier source (Cumulus' kernel has)",
                    o.name
                )
            } else {
                format!(
                    "vlan {name}: `{}` is ignored in a `vlan` object, as ifupdown2 ignores it \
                     (it takes only bridge-igmp-querier-src)",
                    o.name
                )
            };
            Diagnostic {
                location: Some(o.location),
                ..note(DiagnosticKind::DialectIgnored { message })
            }
        })
        .collect()
}

/// The methods an `iface` line (or `addr-method`) may name.
const METHODS: [&str; 7] = [
    "static", "manual", "loopback", "dhcp", "dhcp6", "ppp", "tunnel",
];

/// `addr-method` and `addr-family` attributes: the method and family of a
/// stanza whose `iface` line names none (the `addr_method` and
/// `addr_family` of ifupdown2's JSON form of a stanza). The `iface` line
/// wins; either way they are no attributes of the interface.
fn method_attributes(iface: &mut Iface) -> Vec<Diagnostic> {
    let mut notes = Vec::new();
    let name = iface.name.clone();
    let mut error = |message: String, location| {
        notes.push(Diagnostic {
            kind: DiagnosticKind::DialectSyntax { message },
            location: Some(location),
            debian_prints: true,
        })
    };
    for o in iface
        .options
        .iter()
        .filter(|o| matches!(o.name.as_str(), "addr-method" | "addr-family"))
    {
        let value = o.value.trim();
        if o.name == "addr-method" {
            if !METHODS.contains(&value) {
                error(
                    format!("iface {name}: unsupported address method '{value}'"),
                    o.location,
                );
            } else if iface.method.is_none() {
                iface.method = Some(value.to_string());
            }
        } else {
            let family = match value {
                "inet" => Family::Inet,
                "inet6" => Family::Inet6,
                other => {
                    error(
                        format!("iface {name}: unsupported address family '{other}'"),
                        o.location,
                    );
                    continue;
                }
            };
            iface.family.get_or_insert(family);
        }
    }
    iface
        .options
        .retain(|o| !matches!(o.name.as_str(), "addr-method" | "addr-family"));
    notes
}

/// ifupdown2's `mstpctl-*` attributes that the kernel's own bridge has
/// (its STP, priority and timers), with the bridge option netconf sets
/// them as. ifupdown2 hands them to mstpd when it runs; without mstpd the
/// kernel's STP is the one there is, and these are its settings.
pub const MSTPCTL_AS_BRIDGE: [(&str, &str); 6] = [
    ("mstpctl-stp", "bridge-stp"),
    ("mstpctl-ports", "bridge-ports"),
    ("mstpctl-treeprio", "bridge-bridgeprio"),
    ("mstpctl-hello", "bridge-hello"),
    ("mstpctl-fdelay", "bridge-fd"),
    ("mstpctl-maxage", "bridge-maxage"),
];

/// The option an ifupdown2 `alias` (the link's description, IFLA_IFALIAS)
/// is lowered to.
pub const LOWERED_ALIAS: &str = "ifalias";

/// The option the `mtu` of an ifupdown2 stanza that DHCP configures is
/// lowered to (the `dhcp` method reads it; Debian's has no `mtu`).
pub const LOWERED_DHCP_MTU: &str = "link-mtu";

/// ifupdown2's other names of attributes (its addons' `aliases`), with the
/// name netconf reads: its check shows them under that name too.
const ALIASES: [(&str, &str); 2] = [
    ("bridge-trunk", "bridge-vids"),
    ("bond-ports", "bond-slaves"),
];

/// The option netconf reads for an attribute it knows under another name.
fn as_bridge_option(name: &str) -> Option<&'static str> {
    MSTPCTL_AS_BRIDGE
        .iter()
        .chain(&ALIASES)
        .find(|(m, _)| *m == name)
        .map(|(_, b)| *b)
}

/// The warnings for what an ifupdown2 stanza asks that netconf reads but
/// does not do: said once, at the line, rather than dropped in silence.
fn not_applied(iface: &Iface) -> Vec<Diagnostic> {
    let name = &iface.name;
    // The methods whose link's MTU and description netconf does not set
    // from the stanza (the lowering gives their stanza the link options).
    let method = iface.method.as_deref();
    let own_mtu = matches!(method, Some("ppp" | "loopback"));
    let own_alias = matches!(method, Some("ppp" | "loopback" | "tunnel"));
    iface
        .options
        .iter()
        .filter_map(|o| {
            let why = match o.name.as_str() {
                "alias" if own_alias => {
                    "netconf sets the description (IFLA_IFALIAS) of a link it configures \
                     with static, manual or dhcp only"
                }
                // ifupdown2 purges, at each ifup and ifreload, the addresses
                // the file does not list; netconf never reverts others'
                // changes (docs/ARCHITECTURE.md, "Watching the kernel"), so
                // `no` is what it does, whatever the file says.
                "address-purge" if o.value.trim() != "no" => {
                    "netconf never removes addresses it did not add (they show as \
                     `external` in netconfctl status), as with address-purge no"
                }
                "bridge-igmp-version" | "bridge-mld-version" => {
                    "netconf sets no bridge multicast versions"
                }
                "bond-lacp-bypass-allow" => "Linux bonds have no LACP bypass (Cumulus' kernel has)",
                "mtu" if own_mtu => {
                    "the MTU of an interface configured by PPP is its program's, the \
                     loopback's the kernel's"
                }
                m if m.starts_with("mstpctl-")
                    && !MSTPCTL_AS_BRIDGE.iter().any(|(known, _)| *known == m) =>
                {
                    "netconf runs no mstpd; only mstpctl-stp, -ports, -treeprio, -hello, \
                     -fdelay and -maxage are the kernel bridge's"
                }
                _ => return None,
            };
            Some(Diagnostic {
                kind: DiagnosticKind::DialectIgnored {
                    message: format!("iface {name}: `{}` is not applied: {why}", o.name),
                },
                location: Some(o.location),
                debian_prints: true,
            })
        })
        .collect()
}

fn is_address(word: &str) -> bool {
    let (addr, prefix) = match word.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (word, None),
    };
    match addr.parse::<IpAddr>() {
        Ok(a) => prefix.is_none_or(|p| {
            p.parse::<u8>()
                .is_ok_and(|p| p <= if a.is_ipv6() { 128 } else { 32 })
        }),
        Err(_) => false,
    }
}

/// A `netmask`: a prefix length, or a dotted IPv4 mask.
fn mask_bits(mask: &str) -> Option<u32> {
    let mask = mask.trim();
    if let Ok(bits) = mask.parse::<u32>() {
        return (bits <= 128).then_some(bits);
    }
    let m = u32::from(mask.parse::<std::net::Ipv4Addr>().ok()?);
    (m.leading_ones() + m.trailing_zeros() == 32).then_some(m.leading_ones())
}

/// An address as ifupdown2 adds it: without a prefix, a host address.
fn with_prefix(word: &str) -> String {
    if word.contains('/') {
        word.to_string()
    } else if word.contains(':') {
        format!("{word}/128")
    } else {
        format!("{word}/32")
    }
}

fn lower(iface: &Iface) -> Vec<Stanza> {
    // Addresses as written, each with the `netmask` line after it (ifupdown2
    // keeps a `netmask` at the index of the address before it).
    let mut addresses: Vec<(OptionLine, Option<String>)> = Vec::new();
    let mut gw4 = Vec::new();
    let mut gw6 = Vec::new();
    let mut rest = Vec::new();
    let dhcp = matches!(iface.method.as_deref(), Some("dhcp" | "dhcp6"));
    for o in &iface.options {
        let v6_value = o.value.contains(':');
        match o.name.as_str() {
            "address" => addresses.push((o.clone(), None)),
            "netmask" => match addresses.last_mut() {
                Some((_, mask @ None)) => *mask = Some(o.value.clone()),
                _ => rest.push(o.clone()),
            },
            "gateway" if v6_value => gw6.push(o.clone()),
            "gateway" => gw4.push(o.clone()),
            "post-up" => rest.push(OptionLine {
                name: "up".into(),
                ..o.clone()
            }),
            "pre-down" => rest.push(OptionLine {
                name: "down".into(),
                ..o.clone()
            }),
            // Debian's ifupdown has no `alias`: its own name, which only
            // this dialect gives, keeps a Debian file's `alias` inert.
            "alias" => rest.push(OptionLine {
                name: LOWERED_ALIAS.into(),
                ..o.clone()
            }),
            // ifupdown2 sets the MTU whatever the method; Debian's `dhcp`
            // has no `mtu`, so a DHCP stanza's is lowered to its own name.
            "mtu" if dhcp => rest.push(OptionLine {
                name: LOWERED_DHCP_MTU.into(),
                ..o.clone()
            }),
            name => match as_bridge_option(name) {
                // The bridge's own spelling, when the stanza has it, wins.
                Some(bridge) if iface.options.iter().any(|b| b.name == bridge) => {}
                Some(bridge) => rest.push(OptionLine {
                    name: bridge.into(),
                    ..o.clone()
                }),
                None => rest.push(o.clone()),
            },
        }
    }
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for (line, mask) in addresses {
        let value = match mask.as_deref().and_then(mask_bits) {
            Some(bits) if !line.value.contains('/') => format!("{}/{bits}", line.value),
            _ => with_prefix(&line.value),
        };
        let v6_value = line.value.contains(':');
        let line = OptionLine { value, ..line };
        if v6_value {
            v6.push(line)
        } else {
            v4.push(line)
        }
    }
    if v4.is_empty() {
        rest.append(&mut gw4);
    }
    if v6.is_empty() {
        rest.append(&mut gw6);
    }
    let stanza = |family, method: &str, options| Stanza {
        name: iface.name.clone(),
        family,
        method: method.to_string(),
        inherits: None,
        options,
        location: Some(iface.location),
    };
    let mut out = Vec::new();
    match iface.method.as_deref() {
        Some("loopback") => out.push(stanza(
            iface.family.unwrap_or(Family::Inet),
            "loopback",
            std::mem::take(&mut rest),
        )),
        Some("dhcp6") => out.push(stanza(Family::Inet6, "dhcp", std::mem::take(&mut rest))),
        Some(m @ ("dhcp" | "ppp" | "tunnel")) => out.push(stanza(
            iface.family.unwrap_or(Family::Inet),
            m,
            std::mem::take(&mut rest),
        )),
        _ => {}
    }
    if !v4.is_empty() {
        let mut options = std::mem::take(&mut rest);
        options.extend(v4);
        options.extend(gw4);
        out.push(stanza(Family::Inet, "static", options));
    }
    if !v6.is_empty() {
        let mut options = std::mem::take(&mut rest);
        options.extend(v6);
        options.extend(gw6);
        out.push(stanza(Family::Inet6, "static", options));
    }
    if out.is_empty() {
        let family = iface.family.unwrap_or(Family::Inet);
        out.push(stanza(family, "manual", rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            expand_range("swp[1-3]"),
            Some(vec!["swp1".into(), "swp2".into(), "swp3".into()])
        );
        assert_eq!(
            expand_range("swp[1-2].100"),
            Some(vec!["swp1.100".into(), "swp2.100".into()])
        );
        assert_eq!(expand_range("swp1"), None);
        assert_eq!(expand_range("[1-2]"), None);
    }

    #[test]
    fn continuation_and_comments() {
        let lines = logical_lines(physical_lines(
            b"iface a\n  address 198.51.100.1/24 \\\n  198.51.100.2/24\n# c\n",
        ));
        assert_eq!(
            lines[1],
            ("address 198.51.100.1/24 198.51.100.2/24".into(), 2)
        );
        assert_eq!(lines[2].0, "# c");
    }
}
