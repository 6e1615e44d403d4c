//! ifupdown-ng's dialect (`libifupdown/interface-file.c` of ifupdown-ng
//! 0.12/HEAD, read, not copied): interface objects keyed by name (a second
//! `iface X` adds to the first), no address family, executors chosen with
//! `use` or implied by options, `requires`, `template`/`inherit`, ng's own
//! option names (the legacy and ifupdown2 spellings are renamed on reading),
//! `#` anywhere starting a comment, empty values accepted, and addresses
//! without a prefix taking `netmask` or /24 and /64.
//!
//! The objects are kept as ng holds them ([`NgConfig`], for `ifquery`'s ng
//! output) and lowered into the one model: an object becomes `inet` and
//! `inet6` stanzas of its name (`inet dhcp`, `inet static` with the IPv4
//! addresses and gateways, `inet6 static` with the IPv6 ones, `inet
//! loopback`, `inet ppp`, `inet tunnel`, or `inet manual`), with Debian's
//! option names where Debian has one (`dhcp-hostname` → `hostname`,
//! `bond-members` → `bond-slaves`, `tunnel-remote` → `endpoint`, ...), so that
//! the providers, the graph and hook scripts see what Debian's ifupdown
//! would give them for the same configuration.

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::include::{expand_words, include_pattern};
use crate::model::{AllowClass, Family, InterfacesFile, Location, OptionLine, Stanza};
use crate::parser::{ParseOptions, Parsed};
use serde::Serialize;
use std::collections::HashSet;
use std::net::IpAddr;

use super::Dialect;

/// How far `source` lines may nest before we stop following them.
const MAX_INCLUDE_DEPTH: usize = 64;

/// The interface objects, in the order ng's collection holds them (`lo`
/// first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NgConfig {
    pub interfaces: Vec<NgInterface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NgInterface {
    pub name: String,
    pub auto: bool,
    pub template: bool,
    pub no_defaults: bool,
    /// ng's dictionary: `use`, `inherit`, `address`, options, in the order
    /// they were added.
    pub vars: Vec<NgVar>,
    /// The first `iface`/`auto` line that named it (`None` for `lo`).
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NgVar {
    pub key: String,
    pub value: String,
    /// An `address`'s prefix length, once known (from the value, the
    /// stanza's `netmask`, or /24 and /64).
    pub prefix: Option<u32>,
    pub location: Option<Location>,
}

impl NgInterface {
    fn new(name: &str, location: Option<Location>) -> Self {
        let mut iface = NgInterface {
            name: name.to_string(),
            auto: false,
            template: false,
            no_defaults: false,
            vars: Vec::new(),
            location,
        };
        iface.use_executor("link", location);
        // ng keeps `use vlan` for dotted names as a hint for old files.
        if name.contains('.') {
            iface.use_executor("vlan", location);
        }
        iface
    }

    fn add(&mut self, key: &str, value: &str, location: Option<Location>) {
        self.vars.push(NgVar {
            key: key.to_string(),
            value: value.to_string(),
            prefix: None,
            location,
        });
    }

    fn add_once(&mut self, key: &str, value: &str, location: Option<Location>) -> bool {
        if self.vars.iter().any(|v| v.key == key && v.value == value) {
            return false;
        }
        self.add(key, value, location);
        true
    }

    fn use_executor(&mut self, executor: &str, location: Option<Location>) {
        let added = self.add_once("use", executor, location);
        if added && executor == "dhcp" {
            // ng's use_hostname_for_dhcp (on by default): the host's name.
            if let Some(host) = host_name() {
                self.add("dhcp-hostname", &host, location);
            }
        }
    }

    /// Values of `key`, in order; addresses with their prefix.
    pub fn values(&self, key: &str) -> Vec<String> {
        self.vars
            .iter()
            .filter(|v| v.key == key)
            .map(|v| v.display())
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|v| v.key == key)
            .map(|v| v.value.as_str())
    }

    pub fn uses(&self, executor: &str) -> bool {
        self.vars
            .iter()
            .any(|v| v.key == "use" && v.value == executor)
    }

    /// ng's `finalize`: every address gets its prefix (the `netmask` option's,
    /// else /24 or /64), and `netmask` goes.
    fn finalize(&mut self) {
        let netmask = self.get("netmask").map(netmask_bits);
        for var in self.vars.iter_mut().filter(|v| v.key == "address") {
            if var.prefix.is_none() {
                let v6 = var.value.contains(':');
                var.prefix = Some(netmask.unwrap_or(if v6 { 64 } else { 24 }));
            }
        }
        self.vars.retain(|v| v.key != "netmask");
    }

    /// The interfaces it stands on, as ng's executors would say in their
    /// `depend` phase: `requires` first, then bridge ports, bond members, the
    /// VLAN's raw device, the VRF, the tunnel's device.
    pub fn dependencies(&self) -> Vec<String> {
        let mut deps: Vec<String> = Vec::new();
        let mut push = |word: &str| {
            if !word.is_empty() && !deps.iter().any(|d| d == word) {
                deps.push(word.to_string());
            }
        };
        for value in self.values("requires") {
            value.split_whitespace().for_each(&mut push);
        }
        for var in self.vars.iter().filter(|v| v.key == "use") {
            match var.value.as_str() {
                "bridge" => {
                    for value in self.values("bridge-ports") {
                        value
                            .split_whitespace()
                            .filter(|w| !matches!(*w, "none" | "all" | "regex" | "noregex"))
                            .for_each(&mut push);
                    }
                }
                "bond" => {
                    for value in self.values("bond-members") {
                        value
                            .split_whitespace()
                            .filter(|w| *w != "none")
                            .for_each(&mut push);
                    }
                }
                "vlan" => match self.get("vlan-raw-device") {
                    Some(raw) => push(raw.trim()),
                    None => {
                        if let Some((raw, _)) = self.name.rsplit_once('.') {
                            push(raw);
                        }
                    }
                },
                "vrf" => {
                    if let Some(vrf) = self.get("vrf-member") {
                        push(vrf.trim());
                    }
                }
                "tunnel" => {
                    if let Some(dev) = self.get("tunnel-dev") {
                        push(dev.trim());
                    }
                }
                "gre" => {
                    if let Some(dev) = self.get("gre-dev") {
                        push(dev.trim());
                    }
                }
                _ => {}
            }
        }
        deps
    }

    /// The object as ng's `ifquery IFACE` prints it: `auto`, `iface` (or
    /// `template`), then every entry with two spaces, the learned `requires`
    /// in place of the written one (or last), and an empty line.
    pub fn to_ng_text(&self) -> String {
        let mut out = String::new();
        if self.auto {
            out.push_str(&format!("auto {}\n", self.name));
        }
        let keyword = if self.template { "template" } else { "iface" };
        out.push_str(&format!("{keyword} {}", self.name));
        if self.no_defaults {
            out.push_str(" no-defaults");
        }
        out.push('\n');
        let deps = self.dependencies().join(" ");
        let mut requires_printed = false;
        for var in &self.vars {
            if var.key == "requires" {
                if !requires_printed {
                    out.push_str(&format!("  requires {deps}\n"));
                    requires_printed = true;
                }
                continue;
            }
            out.push_str(&format!("  {} {}\n", var.key, var.display()));
        }
        if !requires_printed && !deps.is_empty() {
            out.push_str(&format!("  requires {deps}\n"));
        }
        out.push('\n');
        out
    }
}

impl NgVar {
    /// The value as ng prints it: addresses in `inet_ntop`'s form with their
    /// prefix.
    pub fn display(&self) -> String {
        match (self.key.as_str(), self.prefix) {
            ("address", Some(prefix)) => match self.value.parse::<IpAddr>() {
                Ok(addr) => format!("{addr}/{prefix}"),
                Err(_) => self.value.clone(),
            },
            _ => self.value.clone(),
        }
    }
}

impl NgConfig {
    pub fn interface(&self, name: &str) -> Option<&NgInterface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

/// `netmask` as ng counts it: a prefix length as it is, a dotted mask by its
/// bits (anything else: 0, as ng's `count_set_bits` gives).
fn netmask_bits(mask: &str) -> u32 {
    let mask = mask.trim();
    if !mask.contains('.') {
        return mask.parse().unwrap_or(0);
    }
    match mask.parse::<std::net::Ipv4Addr>() {
        Ok(m) => {
            let bits = !u32::from(m);
            32 - (32 - bits.leading_zeros())
        }
        Err(_) => 0,
    }
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

/// ng's renames of legacy (Debian) and ifupdown2 option names: its
/// `interface-file.c` table, minus the ethtool names (kept as written:
/// netconf reads Debian's ethtool spellings).
const RENAMES: &[(&str, &str)] = &[
    ("accept_ra", "ipv6-accept-ra"),
    ("autoconf", "ipv6-autoconf"),
    ("bond-ad-sys-priority", "bond-ad-actor-sys-prio"),
    ("bond-slaves", "bond-members"),
    ("client", "dhcp-client-id"),
    ("dad_transmits", "ipv6-dad-transmits"),
    ("endpoint", "tunnel-remote"),
    ("key", "tunnel-key"),
    ("leasetime", "dhcp-leasetime"),
    ("local", "tunnel-local"),
    ("mode", "tunnel-mode"),
    ("pointopoint", "point-to-point"),
    ("provider", "ppp-provider"),
    ("script", "dhcp-script"),
    ("ttl", "tunnel-ttl"),
    ("tunnel-endpoint", "tunnel-remote"),
    ("tunnel-physdev", "tunnel-dev"),
    ("vendor", "dhcp-vendor"),
    ("vrf", "vrf-member"),
    ("vrrp", "vrrp-cfg"),
    ("vxlan-local-tunnelip", "vxlan-local-ip"),
    ("vxlan-remote-group", "vxlan-peer-group"),
    ("vxlan-remoteip", "vxlan-peer-ips"),
    ("vxlan-remote-ip", "vxlan-peer-ips"),
    ("vxlan-svcnodeip", "vxlan-peer-group"),
];

/// ng's names that Debian (or the Debian packages netconf stands in for)
/// spells otherwise: the model gets Debian's, which the providers read and
/// hook scripts expect as `IF_*`.
const DEBIAN_NAMES: &[(&str, &str)] = &[
    ("dhcp-hostname", "hostname"),
    ("dhcp-client-id", "client"),
    ("dhcp-vendor", "vendor"),
    ("dhcp-leasetime", "leasetime"),
    ("point-to-point", "pointopoint"),
    ("ppp-provider", "provider"),
    ("tunnel-remote", "endpoint"),
    ("tunnel-local", "local"),
    ("tunnel-mode", "mode"),
    ("tunnel-ttl", "ttl"),
    ("gre-remote", "endpoint"),
    ("gre-local", "local"),
    ("gre-ttl", "ttl"),
    ("bond-members", "bond-slaves"),
    ("ipv6-accept-ra", "accept_ra"),
    ("ipv6-autoconf", "autoconf"),
];

/// The executors ng ships (`executors/linux`) and its built-in ones: an
/// option `WORD-...` implies `use WORD` only for these (ng adds `use pre`
/// for `pre-up`, an executor that does not exist and that it then skips).
const EXECUTORS: &[&str] = &[
    "batman",
    "bond",
    "bridge",
    "cake",
    "dhcp",
    "ethtool",
    "forward",
    "gre",
    "ipv6",
    "link",
    "loopback",
    "mpls",
    "ppp",
    "static",
    "tunnel",
    "vlan",
    "vrf",
    "vrrp",
    "vxlan",
    "wifi",
    "wireguard",
];

fn rename(token: &str) -> &str {
    RENAMES
        .iter()
        .find(|(from, _)| *from == token)
        .map_or(token, |(_, to)| to)
}

fn debian_name(key: &str) -> &str {
    DEBIAN_NAMES
        .iter()
        .find(|(from, _)| *from == key)
        .map_or(key, |(_, to)| to)
}

/// One logical line as ng's `lif_fgetline` cuts it: `#` anywhere ends it
/// (unless after a backslash), a backslash before the newline joins the next
/// line without its leading blanks, other backslashes go.
fn logical_lines(data: &[u8]) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut line_no: u32 = 1;
    let mut start = 1;
    let mut buf = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        i += 1;
        match c {
            b'\\' if !quoted => quoted = true,
            b'#' if !quoted => {
                while i < data.len() && data[i] != b'\n' {
                    i += 1;
                }
            }
            b'\r' if data.get(i) == Some(&b'\n') => {}
            b'\n' if quoted => {
                quoted = false;
                line_no += 1;
                while i < data.len() && matches!(data[i], b' ' | b'\t') {
                    i += 1;
                }
            }
            b'\n' => {
                out.push((String::from_utf8_lossy(&buf).into_owned(), start));
                buf.clear();
                line_no += 1;
                start = line_no;
            }
            _ => {
                quoted = false;
                buf.push(c);
            }
        }
    }
    if !buf.is_empty() {
        out.push((String::from_utf8_lossy(&buf).into_owned(), start));
    }
    out
}

fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

struct Reader<'o> {
    options: &'o ParseOptions,
    config: InterfacesFile,
    ng: NgConfig,
    diagnostics: Vec<Diagnostic>,
    seen: HashSet<String>,
    current: Option<usize>,
    depth: usize,
    /// `allow-CLASS` lines (not ng's: Debian's, kept for hotplug).
    classes: Vec<AllowClass>,
}

/// Reads `path` (or `data`) in ifupdown-ng's dialect.
pub fn parse(path: &str, data: Option<&[u8]>, options: &ParseOptions) -> Parsed {
    let mut reader = Reader {
        options,
        config: InterfacesFile::default(),
        ng: NgConfig::default(),
        diagnostics: Vec::new(),
        seen: HashSet::new(),
        current: None,
        depth: 0,
        classes: Vec::new(),
    };
    if !options.no_loopback {
        let lo = reader.find("lo", None);
        reader.ng.interfaces[lo].auto = true;
        reader.ng.interfaces[lo].use_executor("loopback", None);
    }
    let read = reader.read_file(path, None, data);
    reader.finish(read)
}

impl Reader<'_> {
    fn note(&mut self, kind: DiagnosticKind, location: Option<Location>) {
        self.diagnostics.push(Diagnostic {
            kind,
            location,
            debian_prints: true,
        });
    }

    /// ng's `collection_find`: the object of that name, made if new.
    fn find(&mut self, name: &str, location: Option<Location>) -> usize {
        match self.ng.interfaces.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                self.ng.interfaces.push(NgInterface::new(name, location));
                self.ng.interfaces.len() - 1
            }
        }
    }

    fn finalize_current(&mut self) {
        if let Some(i) = self.current {
            self.ng.interfaces[i].finalize();
        }
    }

    /// Returns false when the file could not be read at all.
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
        for (text, line) in logical_lines(&bytes) {
            let location = Location { file, line };
            let (token, rest) = split_token(&text);
            if !token.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            self.line(token, rest, location, path);
        }
        self.finalize_current();
        true
    }

    fn line(&mut self, token: &str, rest: &str, location: Location, path: &str) {
        let first = split_token(rest).0;
        match token {
            "iface" | "interface" | "template" | "defaults" => {
                self.iface(token, rest, location);
            }
            "auto" => self.auto(rest, location),
            class if class.len() > 6 && class.starts_with("allow-") => {
                let names = rest.split_ascii_whitespace();
                if class == "allow-auto" {
                    self.auto(rest, location);
                    return;
                }
                let class = &class[6..];
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
                    let list = &mut self.classes[index].interfaces;
                    if !list.iter().any(|n| n == name) {
                        list.push(name.to_string());
                    }
                }
            }
            "source" => self.source(path, first, location, false),
            "source-directory" => self.source(path, first, location, true),
            "inherit" => {
                if let Some(i) = self.current_or_warn(token, location) {
                    self.inherit(i, first, location);
                }
            }
            "use" => {
                if let Some(i) = self.current_or_warn(token, location) {
                    self.ng.interfaces[i].use_executor(first, Some(location));
                }
            }
            "address" => {
                let Some(i) = self.current_or_warn(token, location) else {
                    return;
                };
                let (addr, prefix) = match first.rsplit_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (first, None),
                };
                let parsed_prefix = prefix.map(|p| p.parse::<u32>());
                let ok = addr.parse::<IpAddr>().ok().filter(|a| match parsed_prefix {
                    None => true,
                    Some(Ok(p)) => p <= if a.is_ipv6() { 128 } else { 32 },
                    Some(Err(_)) => false,
                });
                let Some(addr) = ok else {
                    let iface = self.ng.interfaces[i].name.clone();
                    self.note(
                        DiagnosticKind::InvalidOption {
                            iface,
                            option: "address".into(),
                            value: first.into(),
                            reason: "is not an address (ADDRESS or ADDRESS/PREFIX)".into(),
                        },
                        Some(location),
                    );
                    return;
                };
                let iface = &mut self.ng.interfaces[i];
                iface.use_executor("static", Some(location));
                iface.vars.push(NgVar {
                    key: "address".into(),
                    value: addr.to_string(),
                    prefix: parsed_prefix.and_then(Result::ok).filter(|p| *p != 0),
                    location: Some(location),
                });
            }
            "gateway" => {
                if let Some(i) = self.current_or_warn(token, location) {
                    let iface = &mut self.ng.interfaces[i];
                    iface.use_executor("static", Some(location));
                    iface.add("gateway", first, Some(location));
                }
            }
            "hostname" | "dhcp-hostname" => {
                if let Some(i) = self.current_or_warn(token, location) {
                    let iface = &mut self.ng.interfaces[i];
                    iface.vars.retain(|v| v.key != "dhcp-hostname");
                    iface.add("dhcp-hostname", first, Some(location));
                }
            }
            _ => self.generic(token, rest, location),
        }
    }

    fn current_or_warn(&mut self, token: &str, location: Location) -> Option<usize> {
        if self.current.is_none() {
            self.note(
                DiagnosticKind::OutsideInterface {
                    option: token.into(),
                },
                Some(location),
            );
        }
        self.current
    }

    fn iface(&mut self, keyword: &str, rest: &str, location: Location) {
        let (name, mut rest) = if keyword == "defaults" {
            ("defaults", rest)
        } else {
            split_token(rest)
        };
        if name.is_empty() {
            self.note(DiagnosticKind::IfaceTooFewParameters, Some(location));
            return;
        }
        self.finalize_current();
        let i = self.find(name, Some(location));
        self.current = Some(i);
        if matches!(keyword, "template" | "defaults") {
            self.ng.interfaces[i].auto = false;
            self.ng.interfaces[i].template = true;
        }
        // Debian's `inet dhcp`, `inet ppp` are hints; other families and
        // methods say nothing to ng.
        loop {
            let (word, r) = split_token(rest);
            rest = r;
            match word {
                "" => break,
                "dhcp" | "ppp" => self.ng.interfaces[i].use_executor(word, Some(location)),
                "loopback" => self.ng.interfaces[i].use_executor("loopback", Some(location)),
                "inherits" => {
                    let (parent, r) = split_token(rest);
                    rest = r;
                    self.inherit(i, parent, location);
                }
                "no-defaults" => self.ng.interfaces[i].no_defaults = true,
                _ => {}
            }
        }
        let iface = &self.ng.interfaces[i];
        if !iface.template && !iface.no_defaults && iface.name != "defaults" {
            if let Some(d) = self.ng.interfaces.iter().position(|x| x.name == "defaults") {
                if !self.ng.interfaces[i]
                    .vars
                    .iter()
                    .any(|v| v.key == "inherit" && v.value == "defaults")
                {
                    self.copy_from(i, d, location);
                }
            }
        }
    }

    fn inherit(&mut self, i: usize, parent: &str, location: Location) {
        let name = self.ng.interfaces[i].name.clone();
        if parent.is_empty() {
            self.note(
                DiagnosticKind::KeywordMissingParameter {
                    keyword: "inherit".into(),
                },
                Some(location),
            );
            return;
        }
        let Some(p) = self
            .ng
            .interfaces
            .iter()
            .position(|x| x.name == parent && x.name != name)
        else {
            self.note(
                DiagnosticKind::UnknownInheritTarget {
                    name: parent.into(),
                    family: None,
                },
                Some(location),
            );
            return;
        };
        self.copy_from(i, p, location);
    }

    /// ng's `collection_inherit`: the parent becomes a template, `inherit
    /// PARENT` is noted, its addresses are copied and its other entries
    /// unless the child has them already.
    fn copy_from(&mut self, i: usize, p: usize, location: Location) {
        self.ng.interfaces[p].template = true;
        self.ng.interfaces[p].auto = false;
        let parent = self.ng.interfaces[p].clone();
        let child = &mut self.ng.interfaces[i];
        child.add("inherit", &parent.name, Some(location));
        for var in parent.vars {
            let repeat = child
                .vars
                .iter()
                .any(|v| v.key == var.key && v.value == var.value);
            if var.key == "address" || !repeat {
                child.vars.push(var);
            }
        }
    }

    fn auto(&mut self, rest: &str, location: Location) {
        let names: Vec<&str> = rest.split_ascii_whitespace().collect();
        if names.is_empty() {
            match self.current {
                Some(i) if !self.ng.interfaces[i].template => self.ng.interfaces[i].auto = true,
                Some(_) => {}
                None => self.note(
                    DiagnosticKind::OutsideInterface {
                        option: "auto".into(),
                    },
                    Some(location),
                ),
            }
            return;
        }
        for name in names {
            self.finalize_current();
            let i = self.find(name, Some(location));
            if !self.ng.interfaces[i].template {
                self.ng.interfaces[i].auto = true;
            }
            self.current = Some(i);
        }
    }

    fn generic(&mut self, token: &str, rest: &str, location: Location) {
        let Some(i) = self.current else {
            self.note(
                DiagnosticKind::OutsideInterface {
                    option: token.into(),
                },
                Some(location),
            );
            return;
        };
        let key = rename(token);
        let iface = &mut self.ng.interfaces[i];
        iface.add(key, rest, Some(location));
        if let Some((word, _)) = key.split_once('-') {
            if EXECUTORS.contains(&word) {
                iface.use_executor(word, Some(location));
            }
        }
    }

    fn source(&mut self, path: &str, name: &str, location: Location, directory: bool) {
        if name.is_empty() {
            self.note(
                DiagnosticKind::KeywordMissingParameter {
                    keyword: if directory {
                        "source-directory"
                    } else {
                        "source"
                    }
                    .into(),
                },
                Some(location),
            );
            return;
        }
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
        let current = self.current.take();
        self.depth += 1;
        for word in expand_words(&pattern) {
            if directory {
                let Ok(entries) = std::fs::read_dir(&word) else {
                    self.note(
                        DiagnosticKind::OpenFailed {
                            path: word.clone(),
                            error: "cannot read the directory".into(),
                        },
                        Some(location),
                    );
                    continue;
                };
                let mut files: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .map(|e| e.path().to_string_lossy().into_owned())
                    .collect();
                files.sort();
                for file in files {
                    self.finalize_current();
                    self.current = None;
                    self.read_file(&file, Some(location), None);
                }
            } else if std::fs::metadata(&word).is_ok() {
                self.finalize_current();
                self.current = None;
                self.read_file(&word, Some(location), None);
            }
        }
        self.depth -= 1;
        self.current = current;
    }

    fn finish(self, read: bool) -> Parsed {
        let Reader {
            mut config,
            ng,
            diagnostics,
            options,
            classes,
            ..
        } = self;
        let rejected = !read
            || diagnostics
                .iter()
                .any(|d| d.severity() == crate::Severity::Error);
        let mut auto = AllowClass {
            name: "auto".into(),
            interfaces: Vec::new(),
        };
        for iface in ng.interfaces.iter().filter(|i| !i.template) {
            if iface.auto {
                auto.interfaces.push(iface.name.clone());
            }
            config.stanzas.extend(lower(iface));
        }
        if !auto.interfaces.is_empty() {
            config.classes.push(auto);
        }
        config.classes.extend(classes);
        let _ = options;
        Parsed {
            config,
            diagnostics,
            rejected,
            dialect: Dialect::IfupdownNg,
            ng: Some(ng),
            ifupdown2: None,
        }
    }
}

/// One ng object as the model's stanzas (see the module's comment).
pub fn lower(iface: &NgInterface) -> Vec<Stanza> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut gw4 = Vec::new();
    let mut gw6 = Vec::new();
    let mut rest = Vec::new();
    for var in &iface.vars {
        let location = var.location.unwrap_or(Location { file: 0, line: 0 });
        let line = |name: &str, value: String| OptionLine {
            name: name.to_string(),
            value,
            location,
        };
        match var.key.as_str() {
            "use" | "inherit" | "netmask" => {}
            "address" if var.value.contains(':') => v6.push(line("address", var.display())),
            "address" => v4.push(line("address", var.display())),
            "gateway" if var.value.contains(':') => gw6.push(line("gateway", var.value.clone())),
            "gateway" => gw4.push(line("gateway", var.value.clone())),
            "post-up" => rest.push(line("up", var.value.clone())),
            "pre-down" => rest.push(line("down", var.value.clone())),
            key => {
                let name = debian_name(key);
                // The IPv6 knobs are Debian's inet6 options only.
                if matches!(name, "accept_ra" | "autoconf") {
                    continue;
                }
                rest.push(line(name, var.value.clone()))
            }
        }
    }
    // What the executor alone says, in the options netconf reads: ng's
    // bridge takes its `requires` as ports when it has no `bridge-ports`
    // (no ports: an empty bridge); a `use bond` without members or mode is
    // still a bond; `use wireguard` is a WireGuard link.
    let here = iface.location.unwrap_or(Location { file: 0, line: 0 });
    let has =
        |rest: &[OptionLine], names: &[&str]| rest.iter().any(|o| names.contains(&o.name.as_str()));
    if iface.uses("bridge") && !has(&rest, &["bridge-ports", "bridge_ports"]) {
        let ports = iface.values("requires").join(" ");
        let ports = if ports.trim().is_empty() {
            "none".to_string()
        } else {
            ports
        };
        rest.push(OptionLine {
            name: "bridge-ports".into(),
            value: ports,
            location: here,
        });
    }
    if iface.uses("bond") && !has(&rest, &["bond-slaves", "bond-mode", "link-type"]) {
        rest.push(OptionLine {
            name: "link-type".into(),
            value: "bond".into(),
            location: here,
        });
    }
    // ng's wireguard executor makes the link (`ip link add IFACE type
    // wireguard`) and runs `wg setconf IFACE wireguard-config-path`.
    if iface.uses("wireguard") && !has(&rest, &["link-type", "link_type"]) {
        rest.push(OptionLine {
            name: "link-type".into(),
            value: "wireguard".into(),
            location: here,
        });
    }
    // A gateway without an address of its family (a VRF's default route)
    // stays with the stanza's other options.
    if v4.is_empty() {
        rest.append(&mut gw4);
    }
    if v6.is_empty() {
        rest.append(&mut gw6);
    }
    let v6_knobs: Vec<OptionLine> = iface
        .vars
        .iter()
        .filter(|v| matches!(v.key.as_str(), "ipv6-accept-ra" | "ipv6-autoconf"))
        .map(|v| OptionLine {
            name: debian_name(&v.key).to_string(),
            value: v.value.clone(),
            location: v.location.unwrap_or(Location { file: 0, line: 0 }),
        })
        .collect();
    let stanza = |family, method: &str, options: Vec<OptionLine>| Stanza {
        name: iface.name.clone(),
        family,
        method: method.to_string(),
        inherits: None,
        options,
        location: iface.location,
    };
    let mut out = Vec::new();
    let first_method = if iface.uses("loopback") {
        Some("loopback")
    } else if iface.uses("dhcp") {
        Some("dhcp")
    } else if iface.uses("ppp") {
        Some("ppp")
    } else if iface.uses("tunnel") || iface.uses("gre") {
        Some("tunnel")
    } else {
        None
    };
    match first_method {
        Some("tunnel") => {
            let mut options = rest;
            if iface.uses("gre") && !options.iter().any(|o| o.name == "mode") {
                options.push(OptionLine {
                    name: "mode".into(),
                    value: "gre".into(),
                    location: iface.location.unwrap_or(Location { file: 0, line: 0 }),
                });
            }
            // Debian's `inet tunnel` takes the prefix as `netmask` only.
            for (i, line) in v4.into_iter().enumerate() {
                match line.value.split_once('/') {
                    Some((addr, len)) if i == 0 => {
                        options.push(OptionLine {
                            value: addr.to_string(),
                            ..line.clone()
                        });
                        options.push(OptionLine {
                            name: "netmask".into(),
                            value: len.to_string(),
                            ..line
                        });
                    }
                    _ => options.push(line),
                }
            }
            options.extend(gw4);
            out.push(stanza(Family::Inet, "tunnel", options));
            v4 = Vec::new();
            gw4 = Vec::new();
            rest = Vec::new();
        }
        Some(method) => {
            out.push(stanza(Family::Inet, method, std::mem::take(&mut rest)));
        }
        None => {}
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
        options.extend(v6_knobs);
        out.push(stanza(Family::Inet6, "static", options));
    }
    if out.is_empty() {
        out.push(stanza(Family::Inet, "manual", rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_anywhere_and_continuations() {
        let lines = logical_lines(b"iface eth0 # c\n  address 198.51.100.1 \\\n   /24\nup a\\#b\n");
        assert_eq!(
            lines,
            vec![
                ("iface eth0 ".to_string(), 1),
                ("  address 198.51.100.1 /24".to_string(), 2),
                ("up a#b".to_string(), 4),
            ]
        );
    }

    #[test]
    fn use_wireguard_is_a_wireguard_link() {
        let text = b"auto wg0\niface wg0\n  use wireguard\n  address 198.18.3.4/24\n\
                     iface wg1\n  wireguard-config-path /etc/wireguard/vpn.conf\n";
        let parsed = parse("/e/n/i", Some(text), &ParseOptions::default());
        assert!(parsed.errors().next().is_none(), "{:?}", parsed.diagnostics);
        let stanzas = &parsed.config.stanzas;
        let wg0: Vec<_> = stanzas.iter().filter(|s| s.name == "wg0").collect();
        assert_eq!(wg0.len(), 1);
        assert_eq!(
            (wg0[0].family, wg0[0].method.as_str()),
            (Family::Inet, "static")
        );
        let opts = |s: &Stanza| -> Vec<(String, String)> {
            s.options
                .iter()
                .map(|o| (o.name.clone(), o.value.clone()))
                .collect()
        };
        assert!(opts(wg0[0]).contains(&("link-type".into(), "wireguard".into())));
        // ng selects the executor by the option's prefix.
        let wg1 = stanzas.iter().find(|s| s.name == "wg1").expect("wg1");
        let wg1 = opts(wg1);
        assert!(
            wg1.contains(&("link-type".into(), "wireguard".into())),
            "{wg1:?}"
        );
        assert!(wg1.contains(&(
            "wireguard-config-path".into(),
            "/etc/wireguard/vpn.conf".into()
        )));
    }

    #[test]
    fn netmasks() {
        assert_eq!(netmask_bits("255.255.255.248"), 29);
        assert_eq!(netmask_bits("24"), 24);
        assert_eq!(netmask_bits("0.0.0.0"), 0);
        assert_eq!(netmask_bits("255.255.255.255"), 32);
    }
}
