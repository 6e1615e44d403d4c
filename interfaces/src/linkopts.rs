//! The options that make a stanza a link of its own (a bridge, bond, vlan,
//! vxlan, veth, macvlan or dummy) and the ones that name the interfaces it
//! stands on, in the spellings of every peer: Debian's packages
//! (bridge-utils `bridge_ports`, ifenslave `bond-slaves`/`bond-master`, the
//! vlan package's `vlan-raw-device` and `eth0.10`/`vlan10` names) and
//! ifupdown2/ifupdown-ng (`bridge-ports`, `bond-members`, `vxlan-physdev`,
//! `link-type`, `requires`, ...).
//!
//! One vocabulary for two readers: the dependency graph ([`crate::graph`])
//! and netconf's link provider (in the methods crate), so that what orders
//! interfaces and what creates them never disagree.
//!
//! Spelling: Debian's hook scripts see options as `IF_<NAME>` with `-` and
//! `_` both turned into `_` (and letters upper-cased), so to bridge-utils
//! `bridge_ports` and `bridge-ports` are the same option; ifupdown2 turns
//! every `_` into `-` when it parses. netconf does the same: [`find`]
//! compares names as hook scripts see them, and when a stanza gives an
//! option in both spellings the later line wins, as it does for a script
//! (the shell keeps the last of two equal variable names).

use crate::variables::Variables;
use std::ffi::CString;
use std::fmt;

/// An option's name as a hook script sees it, without the `IF_`:
/// `bridge_ports`, `bridge-ports` and `Bridge-Ports` are all `BRIDGE_PORTS`.
pub fn option_key(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            '-' | '_' => Some('_'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

/// An option found in a stanza: the name as the file spells it (for error
/// messages) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// The option known by any of `aliases` (in any `-`/`_` spelling): the last
/// such line of the stanza with a value. Empty values count as unset, as
/// ifupdown's `get_var` has it.
pub fn find<'a>(vars: &'a Variables, aliases: &[&str]) -> Option<Found<'a>> {
    let keys: Vec<String> = aliases.iter().map(|a| option_key(a)).collect();
    vars.0
        .iter()
        .rev()
        .filter(|v| !v.value.is_empty())
        .find(|v| keys.contains(&option_key(&v.name)))
        .map(|v| Found {
            name: &v.name,
            value: &v.value,
        })
}

/// `bridge-ports` / `bridge_ports`: makes the stanza a bridge.
pub const BRIDGE_PORTS: &[&str] = &["bridge-ports"];
/// ifenslave's `bond-slaves` (and its older `slaves`), ifupdown-ng's
/// `bond-members`.
pub const BOND_SLAVES: &[&str] = &["bond-slaves", "bond-members", "slaves"];
/// A bond is also made by its mode alone (ifenslave: slaves or mode).
pub const BOND_MODE: &[&str] = &["bond-mode"];
/// On a slave's stanza: the bond it joins.
pub const BOND_MASTER: &[&str] = &["bond-master"];
pub const VLAN_RAW_DEVICE: &[&str] = &["vlan-raw-device"];
/// ifupdown2 and ifupdown-ng: a VLAN of any name.
pub const VLAN_ID: &[&str] = &["vlan-id"];
pub const VXLAN_ID: &[&str] = &["vxlan-id"];
/// The underlay device of a vxlan.
pub const VXLAN_PHYSDEV: &[&str] = &["vxlan-physdev"];
/// ifupdown2/ifupdown-ng: `veth`, `dummy`; netconf also takes `macvlan`,
/// `macvtap`, `ipvlan`, `vrf` and `wireguard`.
pub const LINK_TYPE: &[&str] = &["link-type"];
pub const VETH_PEER: &[&str] = &["veth-peer-name"];
/// The lower device of a macvlan (neither peer has a native macvlan
/// stanza; the name follows `vlan-raw-device`, `link` follows `ip link add
/// link DEV`).
pub const MACVLAN_RAW_DEVICE: &[&str] = &["macvlan-raw-device", "link"];
/// The lower device of an ipvlan (`link` as for a macvlan).
pub const IPVLAN_RAW_DEVICE: &[&str] = &["ipvlan-raw-device", "link"];
/// ifupdown2 and ifupdown-ng: makes the stanza a VRF with this table
/// (`auto`: ifupdown2 picks a free one).
pub const VRF_TABLE: &[&str] = &["vrf-table"];
/// On a member's stanza: the VRF it joins (ifupdown2's `vrf`,
/// ifupdown-ng's `vrf-member`).
pub const VRF_MEMBER: &[&str] = &["vrf", "vrf-member"];
/// ifupdown2 and ifupdown-ng: a tunnel (gre, gretap, ipip, sit, ...);
/// Debian's own tunnels are methods (`inet tunnel`), not options.
pub const TUNNEL_MODE: &[&str] = &["tunnel-mode"];
/// ifupdown2's `tunnel-physdev`, ifupdown-ng's `tunnel-dev`: the underlay.
pub const TUNNEL_DEV: &[&str] = &["tunnel-physdev", "tunnel-dev"];
/// ifupdown-ng: interfaces to bring up first.
pub const REQUIRES: &[&str] = &["requires"];
/// ifupdown-ng's `use wireguard`: the file `wg setconf` reads (default
/// `/etc/wireguard/IFACE.conf`). Only `link-type wireguard` makes the link,
/// which ng's reader adds for `use wireguard`: in a Debian file this option
/// alone does nothing, as there.
pub const WIREGUARD_CONFIG_PATH: &[&str] = &["wireguard-config-path"];

/// What kind of link a stanza makes, by its options and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StanzaKind {
    Bridge,
    Bond,
    Vlan,
    Vxlan,
    Veth,
    Macvlan,
    Dummy,
    Macvtap,
    Ipvlan,
    Vrf,
    /// `tunnel-mode` (ifupdown2, ifupdown-ng).
    Tunnel,
    /// `link-type wireguard` (ifupdown-ng's `use wireguard`).
    Wireguard,
    /// A `link-type` netconf does not know; the value as written.
    UnknownLinkType(String),
}

impl fmt::Display for StanzaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StanzaKind::Bridge => f.write_str("bridge"),
            StanzaKind::Bond => f.write_str("bond"),
            StanzaKind::Vlan => f.write_str("vlan"),
            StanzaKind::Vxlan => f.write_str("vxlan"),
            StanzaKind::Veth => f.write_str("veth"),
            StanzaKind::Macvlan => f.write_str("macvlan"),
            StanzaKind::Dummy => f.write_str("dummy"),
            StanzaKind::Macvtap => f.write_str("macvtap"),
            StanzaKind::Ipvlan => f.write_str("ipvlan"),
            StanzaKind::Vrf => f.write_str("vrf"),
            StanzaKind::Tunnel => f.write_str("tunnel"),
            StanzaKind::Wireguard => f.write_str("wireguard"),
            StanzaKind::UnknownLinkType(t) => write!(f, "link-type {t}"),
        }
    }
}

/// The kind of link the stanza `name` makes, or `None` for an interface
/// that exists by itself (a physical one, or one made elsewhere). In order:
/// bridge ports, bond slaves or mode (unless `bond-master` makes it a
/// slave), `vxlan-id`, `link-type`, then a VLAN
/// by `vlan-raw-device`/`vlan-id` or by name (`eth0.10`; `vlan10` only with
/// `vlan-raw-device`, as the vlan package has it). An alias (`eth0:1`) is
/// never a link.
pub fn stanza_kind(name: &str, vars: &Variables) -> Option<StanzaKind> {
    if name.contains(':') {
        return None;
    }
    if find(vars, BRIDGE_PORTS).is_some() {
        return Some(StanzaKind::Bridge);
    }
    // A slave's stanza may carry the bond's options too (ifenslave's README
    // asks for the same bond-* options in every slave's stanza): with
    // `bond-master` it is a slave, whatever else it says, as ifenslave's
    // hook has it.
    let slave = find(vars, BOND_MASTER).is_some();
    if !slave && (find(vars, BOND_SLAVES).is_some() || find(vars, BOND_MODE).is_some()) {
        return Some(StanzaKind::Bond);
    }
    if find(vars, VXLAN_ID).is_some() {
        return Some(StanzaKind::Vxlan);
    }
    if find(vars, VRF_TABLE).is_some() {
        return Some(StanzaKind::Vrf);
    }
    if find(vars, TUNNEL_MODE).is_some() {
        return Some(StanzaKind::Tunnel);
    }
    if let Some(t) = find(vars, LINK_TYPE) {
        return Some(match t.value {
            "veth" => StanzaKind::Veth,
            "macvlan" => StanzaKind::Macvlan,
            "dummy" => StanzaKind::Dummy,
            "vlan" => StanzaKind::Vlan,
            "bridge" => StanzaKind::Bridge,
            "bond" => StanzaKind::Bond,
            "vxlan" => StanzaKind::Vxlan,
            "macvtap" => StanzaKind::Macvtap,
            "ipvlan" => StanzaKind::Ipvlan,
            "vrf" => StanzaKind::Vrf,
            "wireguard" => StanzaKind::Wireguard,
            other => StanzaKind::UnknownLinkType(other.to_string()),
        });
    }
    let raw = find(vars, VLAN_RAW_DEVICE).is_some();
    if raw || find(vars, VLAN_ID).is_some() {
        return Some(StanzaKind::Vlan);
    }
    match vlan_name(name) {
        Some(VlanName { raw: Some(_), .. }) => Some(StanzaKind::Vlan),
        _ => None,
    }
}

/// What a VLAN's name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanName<'a> {
    /// `eth0` of `eth0.10`; `None` for `vlan10`.
    pub raw: Option<&'a str>,
    /// The digits after the dot or after `vlan`, leading zeros allowed
    /// (`eth0.0010` and `vlan0010` are VLAN 10), not yet range-checked.
    pub id: u32,
}

/// `RAW.ID` (split at the last dot, so that `eth0.100.20` is VLAN 20 on
/// `eth0.100`: QinQ) or `vlanID`. Debian's own `link` method splits at the
/// first dot instead; the two agree on every name with a single dot.
pub fn vlan_name(name: &str) -> Option<VlanName<'_>> {
    if name.contains(':') {
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((raw, id)) = name.rsplit_once('.') {
        if !raw.is_empty() && digits(id) {
            return Some(VlanName {
                raw: Some(raw),
                id: id.parse().ok()?,
            });
        }
        return None;
    }
    let id = name.strip_prefix("vlan")?;
    digits(id).then(|| id.parse().ok().map(|id| VlanName { raw: None, id }))?
}

/// One entry of a port list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A literal interface name.
    Name(String),
    /// A POSIX extended regular expression matched, as bridge-utils does
    /// with `egrep "^RE$"`, against the names of existing interfaces.
    Regex(String),
}

/// The ports of a bridge or the slaves of a bond: names and patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortList(pub Vec<PortSpec>);

/// A port list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortListError {
    #[error("regex {pattern:?} is not a valid extended regular expression: {reason}")]
    BadRegex { pattern: String, reason: String },
}

/// bridge-utils' `all`: `regex eth.* em.* en.* p[0-9].* noregex`.
const BRIDGE_ALL: &[&str] = &["eth.*", "em.*", "en.*", "p[0-9].*"];

impl PortList {
    /// `bridge_ports` as bridge-utils' `bridge_parse_ports` reads it: `none`
    /// (the whole value) is no ports; `all` is
    /// `regex eth.* em.* en.* p[0-9].* noregex`; after `regex` every word is
    /// a regular expression until `noregex`; other words are names.
    pub fn parse_bridge(value: &str) -> Result<PortList, PortListError> {
        let words: Vec<&str> = value.split_ascii_whitespace().collect();
        if words == ["none"] {
            return Ok(PortList::default());
        }
        let mut specs = Vec::new();
        let mut regex = false;
        for word in words {
            match word {
                "all" => {
                    specs.extend(BRIDGE_ALL.iter().map(|p| PortSpec::Regex(p.to_string())));
                    regex = false;
                }
                "regex" => regex = true,
                "noregex" => regex = false,
                pattern if regex => {
                    Ere::new(pattern)?;
                    specs.push(PortSpec::Regex(pattern.to_string()));
                }
                name => specs.push(PortSpec::Name(name.to_string())),
            }
        }
        Ok(PortList(specs))
    }

    /// `bond-slaves` as ifenslave reads it: `none` is no slaves, `all` is
    /// every `eth*` interface, anything else a list of names.
    pub fn parse_bond(value: &str) -> PortList {
        let words: Vec<&str> = value.split_ascii_whitespace().collect();
        match words[..] {
            ["none"] => PortList::default(),
            ["all"] => PortList(vec![PortSpec::Regex("eth.*".to_string())]),
            _ => PortList(
                words
                    .iter()
                    .map(|w| PortSpec::Name(w.to_string()))
                    .collect(),
            ),
        }
    }

    /// `requires` and other plain lists: names only.
    pub fn parse_names(value: &str) -> PortList {
        PortList(
            value
                .split_ascii_whitespace()
                .map(|w| PortSpec::Name(w.to_string()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The literal names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().filter_map(|s| match s {
            PortSpec::Name(n) => Some(n.as_str()),
            PortSpec::Regex(_) => None,
        })
    }

    /// Whether the list has patterns (its members depend on what exists).
    pub fn has_patterns(&self) -> bool {
        self.0.iter().any(|s| matches!(s, PortSpec::Regex(_)))
    }

    /// The ports now: literal names as given, each pattern's matches among
    /// `existing` in that order, each name once. A pattern never yields
    /// `own` (the bridge or bond itself, which `all` or a loose pattern may
    /// match); a literal `own` stays, for the caller to refuse.
    pub fn resolve(&self, own: &str, existing: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |name: &str| {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        };
        for spec in &self.0 {
            match spec {
                PortSpec::Name(name) => push(name),
                PortSpec::Regex(pattern) => {
                    // Checked when parsed; a bad one matches nothing.
                    if let Ok(re) = Ere::new(pattern) {
                        for name in existing.iter().filter(|n| *n != own && re.is_match(n)) {
                            push(name);
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether `name` belongs in the list (a port that appears later joins
    /// its bridge when this says so).
    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|spec| match spec {
            PortSpec::Name(n) => n == name,
            PortSpec::Regex(p) => Ere::new(p).is_ok_and(|re| re.is_match(name)),
        })
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for spec in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            match spec {
                PortSpec::Name(n) => f.write_str(n)?,
                PortSpec::Regex(p) => write!(f, "/{p}/")?,
            }
        }
        Ok(())
    }
}

/// The most copies of subexpressions [`regex_copies`] lets `regcomp` make.
/// bridge-utils' own patterns need 4 or 5.
const MAX_REGEX_COPIES: u64 = 10_000;

/// An upper bound of the subexpression copies glibc's `regcomp` makes for an
/// ERE: it copies the operand of each repetition (`a+` is two copies of `a`,
/// `a{1,100}` a hundred and one), so stacked repetitions multiply. Found by
/// fuzzing: a word with 80 `+` in a row made `regcomp` take 8 GB and more.
/// Alternatives add; brackets and escapes are one atom. Saturates.
fn regex_copies(pattern: &[u8]) -> u64 {
    // Per open group: the finished alternatives, the current branch, and the
    // cost of its last atom (what a repetition applies to).
    let mut frames: Vec<(u64, u64, u64)> = vec![(0, 0, 0)];
    let mut i = 0;
    while i < pattern.len() {
        let mut atom = 1;
        let mut factor = None;
        match pattern[i] {
            b'\\' => i += 1,
            b'[' => {
                // The closing `]`: not the first one of the list, nor one
                // inside `[:class:]`, `[=x=]` or `[.x.]`.
                i += 1;
                if pattern.get(i) == Some(&b'^') {
                    i += 1;
                }
                if pattern.get(i) == Some(&b']') {
                    i += 1;
                }
                while i < pattern.len() && pattern[i] != b']' {
                    if pattern[i] == b'[' && matches!(pattern.get(i + 1), Some(b':' | b'=' | b'.'))
                    {
                        let close = pattern[i + 1];
                        i += 2;
                        while i + 1 < pattern.len()
                            && !(pattern[i] == close && pattern[i + 1] == b']')
                        {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' => {
                frames.push((0, 0, 0));
                i += 1;
                continue;
            }
            b')' if frames.len() > 1 => {
                let (done, branch, _) = frames.pop().unwrap_or_default();
                atom = done.saturating_add(branch).max(1);
            }
            b'|' => {
                if let Some(frame) = frames.last_mut() {
                    *frame = (frame.0.saturating_add(frame.1), 0, 0);
                }
                i += 1;
                continue;
            }
            b'*' | b'+' | b'?' => factor = Some(2),
            b'{' => {
                let digits = |from: usize| {
                    let n = pattern[from..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    let value = std::str::from_utf8(&pattern[from..from + n])
                        .ok()
                        .and_then(|d| d.parse::<u64>().ok());
                    (value, from + n)
                };
                let (min, mut end) = digits(i + 1);
                let mut max = None;
                if pattern.get(end) == Some(&b',') {
                    (max, end) = digits(end + 1);
                }
                if min.is_some() && pattern.get(end) == Some(&b'}') {
                    factor = Some(max.or(min).unwrap_or(0).saturating_add(1));
                    i = end;
                }
            }
            _ => {}
        }
        i += 1;
        let Some(frame) = frames.last_mut() else {
            break;
        };
        match factor {
            Some(f) => {
                let grown = frame.2.max(1).saturating_mul(f);
                frame.1 = frame.1.saturating_sub(frame.2).saturating_add(grown);
                frame.2 = grown;
            }
            None => {
                frame.1 = frame.1.saturating_add(atom);
                frame.2 = atom;
            }
        }
    }
    frames
        .iter()
        .fold(0, |sum, f| sum.saturating_add(f.0).saturating_add(f.1))
}

/// A compiled POSIX extended regular expression (glibc's `regcomp`, what
/// `egrep` uses), anchored as bridge-utils anchors it: `^PATTERN$`.
struct Ere(Box<libc::regex_t>);

impl Ere {
    fn new(pattern: &str) -> Result<Ere, PortListError> {
        let bad = |reason: String| PortListError::BadRegex {
            pattern: pattern.to_string(),
            reason,
        };
        let copies = regex_copies(pattern.as_bytes());
        if copies > MAX_REGEX_COPIES {
            return Err(bad(format!(
                "its repetitions nest too deep (regcomp would copy parts of it {copies} times, \
                 at most {MAX_REGEX_COPIES} are accepted)"
            )));
        }
        let anchored =
            CString::new(format!("^{pattern}$")).map_err(|_| bad("it contains NUL".into()))?;
        // SAFETY: regex_t is plain data that regcomp initialises; zeroed is
        // a valid starting value for it.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` points to writable regex_t storage, `anchored` is a
        // NUL-terminated string alive for the call.
        let rc = unsafe {
            libc::regcomp(
                &mut *re,
                anchored.as_ptr(),
                libc::REG_EXTENDED | libc::REG_NOSUB,
            )
        };
        if rc != 0 {
            let mut buf = [0u8; 256];
            // SAFETY: `re` is the regex regcomp just failed on (regerror
            // accepts it), `buf` is writable for its length.
            unsafe { libc::regerror(rc, &*re, buf.as_mut_ptr().cast(), buf.len()) };
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            // A failed regcomp owns nothing to free (no regfree), but the box
            // is ours: forgetting it leaked 64 bytes a refused pattern (found
            // by scripts/fuzz under LeakSanitizer).
            drop(re);
            return Err(bad(String::from_utf8_lossy(&buf[..end]).into_owned()));
        }
        Ok(Ere(re))
    }

    fn is_match(&self, text: &str) -> bool {
        let Ok(text) = CString::new(text) else {
            return false;
        };
        // SAFETY: self.0 was compiled by regcomp; with REG_NOSUB no match
        // array is needed.
        unsafe { libc::regexec(&*self.0, text.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

impl Drop for Ere {
    fn drop(&mut self) {
        // SAFETY: compiled by regcomp (a failed one is never wrapped).
        unsafe { libc::regfree(&mut *self.0) }
    }
}

/// How a stanza refers to another interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// A bridge's port (`bridge_ports`).
    BridgePort,
    /// A bond's slave (`bond-slaves`).
    BondSlave,
    /// A slave naming its bond (`bond-master`): the bond depends on it.
    BondMaster,
    /// A VLAN's raw device, named by option or by the VLAN's own name.
    VlanRawDevice,
    /// The lower device of a macvlan or vxlan.
    LowerDevice,
    /// The peer a veth stanza creates along with itself (`veth-peer-name`):
    /// the peer depends on it.
    VethPeer,
    /// An alias (`eth0:1`) on its interface.
    Alias,
    /// ifupdown-ng's `requires`.
    Requires,
}

impl Relation {
    /// Whether the referenced interface depends on the referring stanza
    /// (rather than the other way round).
    pub fn referent_is_upper(self) -> bool {
        matches!(self, Relation::BondMaster | Relation::VethPeer)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Relation::BridgePort => "bridge port",
            Relation::BondSlave => "bond slave",
            Relation::BondMaster => "bond master",
            Relation::VlanRawDevice => "vlan raw device",
            Relation::LowerDevice => "lower device",
            Relation::VethPeer => "veth peer",
            Relation::Alias => "alias",
            Relation::Requires => "requires",
        }
    }
}

/// One reference from a stanza to other interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub relation: Relation,
    /// The option as the file spells it, or `name` when the stanza's own
    /// name says it (`eth0.10`, `eth0:1`).
    pub via: String,
    pub targets: PortList,
}

/// Every interface the stanza `name` refers to through its options or
/// name. Malformed lists (a bad regex) are left out here; the link provider
/// reports them.
pub fn references(name: &str, vars: &Variables) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut push = |relation, via: &str, targets: PortList| {
        if !targets.is_empty() {
            refs.push(Reference {
                relation,
                via: via.to_string(),
                targets,
            });
        }
    };
    if let Some((base, _)) = name.split_once(':') {
        if !base.is_empty() {
            push(Relation::Alias, "name", PortList::parse_names(base));
        }
        // An alias stanza makes no link of its own.
        if let Some(r) = find(vars, REQUIRES) {
            push(Relation::Requires, r.name, PortList::parse_names(r.value));
        }
        return refs;
    }
    let kind = stanza_kind(name, vars);
    if let Some(p) = find(vars, BRIDGE_PORTS) {
        if let Ok(list) = PortList::parse_bridge(p.value) {
            push(Relation::BridgePort, p.name, list);
        }
    }
    if let (Some(s), Some(StanzaKind::Bond)) = (find(vars, BOND_SLAVES), &kind) {
        push(Relation::BondSlave, s.name, PortList::parse_bond(s.value));
    }
    if let Some(m) = find(vars, BOND_MASTER) {
        push(Relation::BondMaster, m.name, PortList::parse_names(m.value));
    }
    match kind {
        Some(StanzaKind::Vlan) => {
            if let Some(raw) = find(vars, VLAN_RAW_DEVICE) {
                push(
                    Relation::VlanRawDevice,
                    raw.name,
                    PortList::parse_names(raw.value),
                );
            } else if let Some(VlanName { raw: Some(raw), .. }) = vlan_name(name) {
                push(Relation::VlanRawDevice, "name", PortList::parse_names(raw));
            }
        }
        Some(StanzaKind::Tunnel) => {
            if let Some(dev) = find(vars, TUNNEL_DEV) {
                push(
                    Relation::LowerDevice,
                    dev.name,
                    PortList::parse_names(dev.value),
                );
            }
        }
        Some(StanzaKind::Vxlan) => {
            if let Some(dev) = find(vars, VXLAN_PHYSDEV) {
                push(
                    Relation::LowerDevice,
                    dev.name,
                    PortList::parse_names(dev.value),
                );
            }
        }
        Some(StanzaKind::Macvlan | StanzaKind::Macvtap) => {
            if let Some(dev) = find(vars, MACVLAN_RAW_DEVICE) {
                push(
                    Relation::LowerDevice,
                    dev.name,
                    PortList::parse_names(dev.value),
                );
            }
        }
        Some(StanzaKind::Ipvlan) => {
            if let Some(dev) = find(vars, IPVLAN_RAW_DEVICE) {
                push(
                    Relation::LowerDevice,
                    dev.name,
                    PortList::parse_names(dev.value),
                );
            }
        }
        Some(StanzaKind::Veth) => {
            if let Some(peer) = find(vars, VETH_PEER) {
                push(
                    Relation::VethPeer,
                    peer.name,
                    PortList::parse_names(peer.value),
                );
            }
        }
        _ => {}
    }
    // A VRF's member joins it: the VRF must be there first.
    if let Some(v) = find(vars, VRF_MEMBER).filter(|_| kind != Some(StanzaKind::Vrf)) {
        push(
            Relation::LowerDevice,
            v.name,
            PortList::parse_names(v.value),
        );
    }
    if let Some(r) = find(vars, REQUIRES) {
        push(Relation::Requires, r.name, PortList::parse_names(r.value));
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::default();
        for (n, val) in pairs {
            v.add_option_line(n, val);
        }
        v
    }

    /// ifenslave's README has the bond's options repeated on each slave's
    /// stanza: with `bond-master` the stanza is a slave, not a bond.
    #[test]
    fn bond_master_makes_a_slave_whatever_else_it_says() {
        let slave = vars(&[
            ("bond-master", "bond0"),
            ("bond-mode", "active-backup"),
            ("bond-slaves", "eth0 eth1"),
        ]);
        assert_eq!(stanza_kind("eth0", &slave), None);
        let refs = references("eth0", &slave);
        assert!(
            refs.iter().all(|r| r.relation == Relation::BondMaster),
            "{refs:?}"
        );
        let bond = vars(&[("bond-mode", "1")]);
        assert_eq!(stanza_kind("bond0", &bond), Some(StanzaKind::Bond));
    }

    /// Found by `scripts/fuzz` (interfaces_bytes, after 8.4 million runs:
    /// out of memory): this word of a `bridge-ports regex` line, 80 `+` in a
    /// row, made glibc's `regcomp` take 8 GB and more (in ifquery, ifup and
    /// the daemon). Such patterns are refused before `regcomp`, naming why.
    #[test]
    fn stacked_repetitions_are_refused_before_regcomp() {
        let word = format!("\"sourcefoo\",\x19{}\"mappings\")", "+".repeat(80));
        let start = std::time::Instant::now();
        let err = PortList::parse_bridge(&format!("regex {word}")).unwrap_err();
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(err.to_string().contains("nest too deep"), "{err}");
        for (pattern, copies) in [
            ("eth.*", 5),
            ("p[0-9].*", 4),
            ("(eth|vif).*", 8),
            ("[]a[:digit:]]+x", 3),
            ("a\\+", 2),
            ("a{2,5}", 6),
            ("(a{1,100}){1,90}", 101 * 91),
            ("a++++++++++", 1024),
        ] {
            assert_eq!(regex_copies(pattern.as_bytes()), copies, "{pattern}");
        }
        // The largest accepted compiles at once; one more level is refused.
        let start = std::time::Instant::now();
        assert!(PortList::parse_bridge("regex (a{1,100}){1,90}").is_ok());
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(PortList::parse_bridge("regex (a{1,100}){1,99}").is_err());
        assert_eq!(regex_copies(&[b'+'; 200]), u64::MAX);
    }

    /// Found by `scripts/fuzz` (interfaces_bytes under LeakSanitizer): a
    /// pattern `regcomp` refuses (this word of the fuzzer's
    /// `bridge-ports ... regex ARCn{{{{` line) leaked the `regex_t` box.
    /// The leak shows only under a leak checker; here, the refusal itself.
    #[test]
    fn refused_pattern_is_an_error_naming_it() {
        let err = PortList::parse_bridge("hwaavesding cl(r, regex ARCn{{{{").unwrap_err();
        let PortListError::BadRegex { pattern, reason } = &err;
        assert_eq!(pattern, "ARCn{{{{");
        assert!(!reason.is_empty(), "{err}");
    }

    #[test]
    fn both_spellings_last_wins() {
        assert_eq!(option_key("bridge_ports"), "BRIDGE_PORTS");
        assert_eq!(option_key("Bridge-Ports"), "BRIDGE_PORTS");
        let v = vars(&[("bridge_ports", "eth0"), ("bridge-ports", "eth1")]);
        let f = find(&v, BRIDGE_PORTS).unwrap();
        assert_eq!((f.name, f.value), ("bridge-ports", "eth1"));
        let v = vars(&[("bridge-stp", "on"), ("bridge_stp", "off")]);
        assert_eq!(find(&v, &["bridge-stp"]).unwrap().value, "off");
        let v = vars(&[("bond_members", "eth0 eth1")]);
        assert_eq!(find(&v, BOND_SLAVES).unwrap().name, "bond_members");
        assert_eq!(find(&vars(&[("bridge-ports", "")]), BRIDGE_PORTS), None);
    }

    #[test]
    fn kinds() {
        let k = |name: &str, pairs: &[(&str, &str)]| stanza_kind(name, &vars(pairs));
        assert_eq!(
            k("br0", &[("bridge_ports", "none")]),
            Some(StanzaKind::Bridge)
        );
        assert_eq!(k("bond0", &[("bond-mode", "1")]), Some(StanzaKind::Bond));
        assert_eq!(k("bond0", &[("slaves", "eth0")]), Some(StanzaKind::Bond));
        assert_eq!(k("vx0", &[("vxlan-id", "5")]), Some(StanzaKind::Vxlan));
        assert_eq!(k("ve0", &[("link-type", "veth")]), Some(StanzaKind::Veth));
        assert_eq!(k("red", &[("vrf-table", "auto")]), Some(StanzaKind::Vrf));
        assert_eq!(
            k("mvt0", &[("link-type", "macvtap")]),
            Some(StanzaKind::Macvtap)
        );
        assert_eq!(
            k("ipv0", &[("link-type", "ipvlan")]),
            Some(StanzaKind::Ipvlan)
        );
        // A VRF member stands on its VRF; an ipvlan on its lower device.
        let member = references("d0", &vars(&[("vrf", "red")]));
        assert_eq!(member.len(), 1);
        assert_eq!(member[0].relation, Relation::LowerDevice);
        assert_eq!(member[0].targets.names().collect::<Vec<_>>(), ["red"]);
        let ipv = references("ipv0", &vars(&[("link-type", "ipvlan"), ("link", "eth0")]));
        assert_eq!(ipv[0].targets.names().collect::<Vec<_>>(), ["eth0"]);
        assert!(references("red", &vars(&[("vrf-table", "10")])).is_empty());
        assert_eq!(
            k("x0", &[("link-type", "tap")]),
            Some(StanzaKind::UnknownLinkType("tap".into()))
        );
        assert_eq!(k("eth0.10", &[]), Some(StanzaKind::Vlan));
        assert_eq!(k("eth0.10:1", &[]), None);
        assert_eq!(k("vlan10", &[]), None);
        assert_eq!(
            k("vlan10", &[("vlan-raw-device", "eth0")]),
            Some(StanzaKind::Vlan)
        );
        assert_eq!(
            k("mgmt", &[("vlan_raw_device", "eth0"), ("vlan-id", "5")]),
            Some(StanzaKind::Vlan)
        );
        assert_eq!(k("eth0", &[("bond-master", "bond0")]), None);
        assert_eq!(k("br0.lan", &[]), None);
    }

    #[test]
    fn vlan_names() {
        let v = |n| vlan_name(n);
        assert_eq!(
            v("eth0.10"),
            Some(VlanName {
                raw: Some("eth0"),
                id: 10
            })
        );
        assert_eq!(
            v("eth0.0010"),
            Some(VlanName {
                raw: Some("eth0"),
                id: 10
            })
        );
        assert_eq!(
            v("eth0.100.20"),
            Some(VlanName {
                raw: Some("eth0.100"),
                id: 20
            })
        );
        assert_eq!(v("vlan0010"), Some(VlanName { raw: None, id: 10 }));
        assert_eq!(v("vlan"), None);
        assert_eq!(v(".10"), None);
        assert_eq!(v("eth0."), None);
        assert_eq!(v("eth0.x"), None);
        assert_eq!(v("eth0.10:1"), None);
        assert_eq!(v("eth0.99999999999"), None);
    }

    #[test]
    fn bridge_port_lists() {
        let existing: Vec<String> = [
            "lo", "eth0", "eth1", "enp3s0", "p1p1", "em1", "wlan0", "vif1.0", "br0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ports = |v: &str| PortList::parse_bridge(v).unwrap().resolve("br0", &existing);
        assert_eq!(ports("none"), Vec::<String>::new());
        assert_eq!(ports("eth1 weird0"), ["eth1", "weird0"]);
        assert_eq!(ports("all"), ["eth0", "eth1", "em1", "enp3s0", "p1p1"]);
        assert_eq!(
            ports("all weird0"),
            ["eth0", "eth1", "em1", "enp3s0", "p1p1", "weird0"]
        );
        // bridge-utils' own example: after regex, words are patterns until noregex.
        assert_eq!(
            ports("regex (eth|vif).* noregex wlan0"),
            ["eth0", "eth1", "vif1.0", "wlan0"]
        );
        // Anchored at both ends, as egrep "^RE$".
        assert_eq!(ports("regex eth"), Vec::<String>::new());
        assert_eq!(ports("regex eth0|wlan0"), ["eth0", "wlan0"]);
        // The bridge itself never becomes its own port; names come once.
        assert_eq!(
            ports("regex .* "),
            ["lo", "eth0", "eth1", "enp3s0", "p1p1", "em1", "wlan0", "vif1.0"]
        );
        assert_eq!(ports("eth0 regex eth.*"), ["eth0", "eth1"]);

        let list = PortList::parse_bridge("all tap9").unwrap();
        assert!(list.matches("eth7") && list.matches("tap9") && !list.matches("tap1"));
        assert!(list.has_patterns());
        assert_eq!(list.names().collect::<Vec<_>>(), ["tap9"]);
        assert!(matches!(
            PortList::parse_bridge("regex (eth"),
            Err(PortListError::BadRegex { .. })
        ));
    }

    #[test]
    fn bond_slave_lists() {
        let existing: Vec<String> = ["lo", "eth0", "eth1", "enp3s0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let slaves = |v: &str| PortList::parse_bond(v).resolve("bond0", &existing);
        assert_eq!(slaves("none"), Vec::<String>::new());
        assert_eq!(slaves("all"), ["eth0", "eth1"]);
        assert_eq!(slaves("enp3s0 eth1"), ["enp3s0", "eth1"]);
    }

    #[test]
    fn references_of_stanzas() {
        let r = |name: &str, pairs: &[(&str, &str)]| {
            references(name, &vars(pairs))
                .into_iter()
                .map(|r| (r.relation, r.via, r.targets.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            r(
                "br0",
                &[("bridge_ports", "eth0 regex vif.*"), ("requires", "bond0")]
            ),
            [
                (
                    Relation::BridgePort,
                    "bridge_ports".into(),
                    "eth0 /vif.*/".into()
                ),
                (Relation::Requires, "requires".into(), "bond0".into())
            ]
        );
        assert_eq!(
            r("eth0.10", &[]),
            [(Relation::VlanRawDevice, "name".into(), "eth0".into())]
        );
        assert_eq!(
            r("vlan10", &[("vlan-raw-device", "bond0")]),
            [(
                Relation::VlanRawDevice,
                "vlan-raw-device".into(),
                "bond0".into()
            )]
        );
        assert_eq!(
            r("eth1", &[("bond-master", "bond0")]),
            [(Relation::BondMaster, "bond-master".into(), "bond0".into())]
        );
        assert_eq!(
            r("vx0", &[("vxlan-id", "7"), ("vxlan-physdev", "eth0")]),
            [(Relation::LowerDevice, "vxlan-physdev".into(), "eth0".into())]
        );
        assert_eq!(
            r("mv0", &[("link-type", "macvlan"), ("link", "eth0")]),
            [(Relation::LowerDevice, "link".into(), "eth0".into())]
        );
        assert_eq!(
            r("ve0", &[("link-type", "veth"), ("veth-peer-name", "ve1")]),
            [(Relation::VethPeer, "veth-peer-name".into(), "ve1".into())]
        );
        assert_eq!(
            r("eth0:1", &[]),
            [(Relation::Alias, "name".into(), "eth0".into())]
        );
        // `link` means nothing outside a macvlan stanza.
        assert_eq!(r("eth0", &[("link", "eth1")]), []);
        assert_eq!(r("br0", &[("bridge-ports", "none")]), []);
    }
}
