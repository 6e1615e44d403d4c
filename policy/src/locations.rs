//! Locations: the system-wide settings NWAM switches by conditions —
//! resolv.conf's name servers, search and domain (merged with the DNS of
//! DHCP and router advertisements as `dns from` says), a hosts file, an
//! nsswitch.conf, and systemd units started on entry and stopped on exit.
//!
//! One file per location, `DIR/locations/NAME` (NAME of letters, digits,
//! `-`, `_` and `.`, not starting with a dot), of `key value` lines;
//! `#` starts a comment line, blank lines are ignored:
//!
//! ```text
//! activation conditional-any        # manual | conditional-any | conditional-all
//! condition gateway-mac is 02:00:5e:00:53:01
//! condition dhcp-domain is office.example.org
//! dns from both                     # dhcp (default) | static | both
//! nameserver 198.51.100.53          # repeatable
//! search office.example.org lab.example.org
//! domain office.example.org
//! hosts-file hosts.office           # relative to DIR
//! nsswitch-file /etc/netconf/nsswitch.office
//! start-unit office-vpn.service     # repeatable, on entry
//! stop-unit cups-browsed.service    # repeatable, on entry; started again on exit
//! ```
//!
//! Built in, as NWAM's: `automatic` (the default: DNS from DHCP), `no-net`
//! (when no interface has a global address) and `legacy` (the files as they
//! were when locations were first enabled). Files named `automatic` or
//! `no-net` change the built-in's settings (not its activation); `legacy`
//! is a snapshot and cannot be written. A file with any error is refused
//! with every error named, and so is the whole set: the running locations
//! stay as they were.

use crate::conditions::{evaluate, Combine, Condition, Facts};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub const AUTOMATIC: &str = "automatic";
pub const NO_NET: &str = "no-net";
pub const LEGACY: &str = "legacy";

/// Files bigger than this are refused: a location is a few lines.
pub const MAX_FILE: u64 = 64 * 1024;

/// More files than this in one directory are refused: what the daemon
/// holds and answers with stays bounded.
pub const MAX_FILES: usize = 256;

/// How a location (or a modifier) becomes active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// Only when enabled by `netconfctl location enable`.
    Manual,
    ConditionalAny,
    ConditionalAll,
    /// The built-ins' own rules.
    System,
}

impl Activation {
    pub fn word(self) -> &'static str {
        match self {
            Activation::Manual => "manual",
            Activation::ConditionalAny => "conditional-any",
            Activation::ConditionalAll => "conditional-all",
            Activation::System => "system",
        }
    }

    pub fn combine(self) -> Option<Combine> {
        match self {
            Activation::ConditionalAny => Some(Combine::Any),
            Activation::ConditionalAll => Some(Combine::All),
            _ => None,
        }
    }
}

/// Where resolv.conf's name servers come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsFrom {
    /// The leases' and router advertisements' only (the static lines are
    /// ignored): NWAM's automatic.
    #[default]
    Dhcp,
    /// The location's lines only.
    Static,
    /// The location's lines first, then the leases'.
    Both,
}

/// One location, read from its file or built in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub name: String,
    /// The file it was read from; `None` for a built-in left as it is.
    pub file: Option<PathBuf>,
    pub activation: Activation,
    pub conditions: Vec<Condition>,
    pub dns_from: DnsFrom,
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub domain: Option<String>,
    /// The file copied to the hosts file; `None`: the legacy snapshot's.
    pub hosts_file: Option<PathBuf>,
    /// The file copied to nsswitch.conf; `None`: the legacy snapshot's.
    pub nsswitch_file: Option<PathBuf>,
    pub start_units: Vec<String>,
    pub stop_units: Vec<String>,
}

impl Location {
    pub fn builtin(name: &str) -> Location {
        Location {
            name: name.to_string(),
            file: None,
            activation: Activation::System,
            conditions: Vec::new(),
            dns_from: if name == NO_NET {
                DnsFrom::Static
            } else {
                DnsFrom::Dhcp
            },
            nameservers: Vec::new(),
            search: Vec::new(),
            domain: None,
            hosts_file: None,
            nsswitch_file: None,
            start_units: Vec::new(),
            stop_units: Vec::new(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        [AUTOMATIC, NO_NET, LEGACY].contains(&self.name.as_str())
    }
}

/// A line of a file that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct FileError {
    pub file: PathBuf,
    /// 0 when the error is about the whole file.
    pub line: usize,
    pub message: String,
}

/// The lines of a `key value` file: (line number, key, rest of the line).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (key, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        Some((i + 1, key, rest.trim()))
    })
}

/// Whether a file name can name a location or modifier.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads `file` (of `dir`) into a `Location`, with every error it has.
pub fn parse_location(
    name: &str,
    file: &Path,
    dir: &Path,
    text: &str,
) -> Result<Location, Vec<FileError>> {
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String| {
        errors.push(FileError {
            file: file.to_path_buf(),
            line,
            message,
        })
    };
    let builtin = name == AUTOMATIC || name == NO_NET;
    if name == LEGACY {
        err(
            0,
            "\"legacy\" is the snapshot taken when locations were first enabled: it cannot be written".into(),
        );
    }
    let mut loc = Location::builtin(name);
    loc.file = Some(file.to_path_buf());
    let mut activation_line = None;
    let mut seen: Vec<&str> = Vec::new();
    for (n, key, value) in lines(text) {
        let once = ["activation", "dns", "domain", "hosts-file", "nsswitch-file"];
        if once.contains(&key) {
            if seen.contains(&key) {
                err(n, format!("\"{key}\" is given twice"));
                continue;
            }
            seen.push(key);
        }
        if value.is_empty() {
            err(n, format!("\"{key}\" needs a value"));
            continue;
        }
        match key {
            "activation" => {
                activation_line = Some(n);
                loc.activation = match value {
                    "manual" => Activation::Manual,
                    "conditional-any" => Activation::ConditionalAny,
                    "conditional-all" => Activation::ConditionalAll,
                    "system" => {
                        err(n, "activation \"system\" is the built-in locations' own".into());
                        continue;
                    }
                    other => {
                        err(
                            n,
                            format!("activation \"{other}\" is not manual, conditional-any or conditional-all"),
                        );
                        continue;
                    }
                };
                if builtin {
                    err(n, format!("\"{name}\" is built in: its activation is its own"));
                }
            }
            "condition" => match Condition::parse(value) {
                Ok(c) => loc.conditions.push(c),
                Err(e) => err(n, format!("condition: {e}")),
            },
            "dns" => {
                let mut words = value.split_whitespace();
                let from = match (words.next(), words.next(), words.next()) {
                    (Some("from"), Some("dhcp"), None) => DnsFrom::Dhcp,
                    (Some("from"), Some("static"), None) => DnsFrom::Static,
                    (Some("from"), Some("both"), None) => DnsFrom::Both,
                    _ => {
                        err(n, format!("\"dns {value}\": expected \"dns from dhcp|static|both\""));
                        continue;
                    }
                };
                loc.dns_from = from;
            }
            "nameserver" => {
                for w in value.split_whitespace() {
                    match w.parse::<IpAddr>() {
                        Ok(a) => loc.nameservers.push(a),
                        Err(_) => err(n, format!("nameserver: \"{w}\" is not an IP address")),
                    }
                }
            }
            "search" => {
                for w in value.split_whitespace() {
                    if valid_domain(w) {
                        loc.search.push(w.trim_end_matches('.').to_string());
                    } else {
                        err(n, format!("search: \"{w}\" is not a domain name"));
                    }
                }
            }
            "domain" => {
                if value.split_whitespace().count() == 1 && valid_domain(value) {
                    loc.domain = Some(value.trim_end_matches('.').to_string());
                } else {
                    err(n, format!("domain: \"{value}\" is not one domain name"));
                }
            }
            "hosts-file" | "nsswitch-file" => {
                let path = dir.join(value);
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => {}
                    Ok(_) => err(n, format!("{key}: {} is not a file", path.display())),
                    Err(e) => err(n, format!("{key}: {}: {e}", path.display())),
                }
                if key == "hosts-file" {
                    loc.hosts_file = Some(path);
                } else {
                    loc.nsswitch_file = Some(path);
                }
            }
            "start-unit" | "stop-unit" => {
                for w in value.split_whitespace() {
                    if !valid_unit(w) {
                        err(n, format!("{key}: \"{w}\" is not a systemd unit name"));
                    } else if key == "start-unit" {
                        loc.start_units.push(w.to_string());
                    } else {
                        loc.stop_units.push(w.to_string());
                    }
                }
            }
            other => err(
                n,
                format!(
                    "unknown key \"{other}\" (activation, condition, dns, nameserver, search, domain, hosts-file, nsswitch-file, start-unit, stop-unit)"
                ),
            ),
        }
    }
    let conditional = loc.activation.combine().is_some();
    if conditional && loc.conditions.is_empty() {
        err(
            activation_line.unwrap_or(0),
            format!(
                "activation {} needs at least one condition",
                loc.activation.word()
            ),
        );
    }
    if !conditional && !loc.conditions.is_empty() && !builtin {
        err(
            activation_line.unwrap_or(0),
            format!(
                "conditions are only for conditional-any or conditional-all, not {}",
                loc.activation.word()
            ),
        );
    }
    if builtin && !loc.conditions.is_empty() {
        err(0, format!("\"{name}\" is built in: it takes no conditions"));
    }
    if loc.dns_from == DnsFrom::Dhcp && !loc.nameservers.is_empty() {
        err(
            0,
            "nameserver lines are ignored with \"dns from dhcp\": say \"dns from static\" or \"dns from both\"".into(),
        );
    }
    if loc.activation == Activation::System && !builtin {
        loc.activation = Activation::Manual;
    }
    if errors.is_empty() {
        Ok(loc)
    } else {
        Err(errors)
    }
}

fn valid_domain(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 253
        && w.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// systemd's unit name rules, in short: a name, a dot, a known suffix.
pub fn valid_unit(w: &str) -> bool {
    let suffixes = [
        ".service",
        ".socket",
        ".target",
        ".mount",
        ".timer",
        ".path",
        ".scope",
        ".slice",
        ".device",
        ".swap",
        ".automount",
    ];
    w.len() <= 255
        && !w.starts_with('-')
        && suffixes.iter().any(|s| w.len() > s.len() && w.ends_with(s))
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c))
}

/// Reads every `NAME` file of `dir` with `parse`; an entry whose name is
/// not a valid name (editor backups `NAME~`, `.swp`, dpkg's leftovers) is
/// skipped. All or nothing: any error refuses the set.
pub(crate) fn read_dir<T>(
    dir: &Path,
    parse: impl Fn(&str, &Path, &str) -> Result<T, Vec<FileError>>,
) -> Result<Vec<T>, Vec<FileError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(vec![FileError {
                file: dir.to_path_buf(),
                line: 0,
                message: e.to_string(),
            }])
        }
    };
    let mut names: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let skipped = !valid_name(&name)
                || name.ends_with(".dpkg-old")
                || name.ends_with(".dpkg-dist")
                || name.ends_with(".dpkg-new");
            (!skipped).then(|| (name, e.path()))
        })
        .collect();
    names.sort();
    if names.len() > MAX_FILES {
        return Err(vec![FileError {
            file: dir.to_path_buf(),
            line: 0,
            message: format!(
                "{} files, more than the {MAX_FILES} netconf reads",
                names.len()
            ),
        }]);
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (name, path) in names {
        let whole = |message: String| FileError {
            file: path.clone(),
            line: 0,
            message,
        };
        let text = match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => continue,
            Ok(m) if m.len() > MAX_FILE => {
                errors.push(whole(format!("larger than {MAX_FILE} bytes")));
                continue;
            }
            Ok(_) => match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => {
                        errors.push(whole("not UTF-8 text".into()));
                        continue;
                    }
                },
                Err(e) => {
                    errors.push(whole(e.to_string()));
                    continue;
                }
            },
            Err(e) => {
                errors.push(whole(e.to_string()));
                continue;
            }
        };
        match parse(&name, &path, &text) {
            Ok(t) => found.push(t),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// The locations of `config_dir` (its `locations/`), built-ins included,
/// built-ins first. `Err` names every error of every file.
pub fn read_locations(config_dir: &Path) -> Result<Vec<Location>, Vec<FileError>> {
    let read = read_dir(&config_dir.join("locations"), |name, path, text| {
        parse_location(name, path, config_dir, text)
    })?;
    let mut all: Vec<Location> = [AUTOMATIC, NO_NET, LEGACY]
        .iter()
        .map(|n| {
            read.iter()
                .find(|l| l.name == *n)
                .cloned()
                .unwrap_or_else(|| Location::builtin(n))
        })
        .collect();
    all.extend(read.into_iter().filter(|l| !l.is_builtin()));
    Ok(all)
}

/// Why a location is the active one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Enabled by `netconfctl location enable`.
    Enabled,
    /// No interface has a global address.
    NoGlobalAddress,
    /// Its conditions hold, and no other location's hold more specifically.
    Conditions,
    /// Nothing else applies.
    Default,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Enabled => "enabled by hand",
            Reason::NoGlobalAddress => "no interface has a global address",
            Reason::Conditions => "its conditions hold",
            Reason::Default => "the default: no other location applies",
        })
    }
}

/// The location that should be active, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub name: String,
    pub reason: Reason,
    /// The conditions of the chosen location that held.
    pub held: Vec<String>,
    /// NWAM's rating of them.
    pub rating: Option<u64>,
    /// Other locations whose conditions held with the same rating: the
    /// first by name was taken.
    pub ties: Vec<String>,
}

/// NWAM's choice: a location enabled by hand first; then `no-net` when no
/// interface has a global address; then the conditional location whose
/// conditions hold with the best rating (ties go to the first by name, and
/// are reported); else `automatic`. `enabled` naming `automatic` (or a
/// location that is gone) leaves the choice to the conditions.
pub fn choose(
    locations: &[Location],
    facts: &Facts,
    global_address: bool,
    enabled: Option<&str>,
) -> Choice {
    let choice = |name: &str, reason| Choice {
        name: name.to_string(),
        reason,
        held: Vec::new(),
        rating: None,
        ties: Vec::new(),
    };
    if let Some(name) = enabled.filter(|n| *n != AUTOMATIC) {
        if let Some(loc) = locations.iter().find(|l| l.name == name) {
            let mut c = choice(&loc.name, Reason::Enabled);
            c.held = held(loc, facts);
            return c;
        }
    }
    if !global_address {
        return choice(NO_NET, Reason::NoGlobalAddress);
    }
    let mut rated: Vec<(u64, &Location)> = locations
        .iter()
        .filter_map(|l| {
            let combine = l.activation.combine()?;
            evaluate(&l.conditions, combine, facts).map(|r| (r, l))
        })
        .collect();
    // Best rating first, then by name.
    rated.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    match rated.first() {
        Some(&(rating, loc)) => Choice {
            name: loc.name.clone(),
            reason: Reason::Conditions,
            held: held(loc, facts),
            rating: Some(rating),
            ties: rated
                .iter()
                .skip(1)
                .take_while(|(r, _)| *r == rating)
                .map(|(_, l)| l.name.clone())
                .collect(),
        },
        None => choice(AUTOMATIC, Reason::Default),
    }
}

/// The conditions of `loc` that hold, as text.
pub fn held(loc: &Location, facts: &Facts) -> Vec<String> {
    loc.conditions
        .iter()
        .filter(|c| c.holds(facts))
        .map(|c| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<Location, Vec<String>> {
        parse_location(name, Path::new("/cfg/locations/x"), Path::new("/cfg"), text)
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    fn facts() -> Facts {
        Facts {
            addresses: vec!["198.51.100.7".parse().unwrap()],
            default_gateways: vec!["198.51.100.1".parse().unwrap()],
            gateway_macs: vec![[2, 0, 0x5e, 0, 0x53, 1]],
            dhcp_domains: vec!["office.example.org".into()],
            ..Facts::default()
        }
    }

    #[test]
    fn a_location_file_is_read() {
        let loc = parse(
            "office",
            "# the office\nactivation conditional-any\ncondition gateway-mac is 02:00:5e:00:53:01\n\
             condition dhcp-domain is office.example.org\ndns from both\nnameserver 198.51.100.53 2001:db8::53\n\
             search office.example.org. lab.example.org\ndomain office.example.org\n\
             start-unit office-vpn.service\nstop-unit cups-browsed.service\n",
        )
        .unwrap();
        assert_eq!(loc.activation, Activation::ConditionalAny);
        assert_eq!(loc.conditions.len(), 2);
        assert_eq!(loc.dns_from, DnsFrom::Both);
        assert_eq!(loc.nameservers.len(), 2);
        assert_eq!(loc.search, ["office.example.org", "lab.example.org"]);
        assert_eq!(loc.start_units, ["office-vpn.service"]);
        assert_eq!(loc.stop_units, ["cups-browsed.service"]);
    }

    #[test]
    fn every_error_is_named_with_its_line() {
        let errors = parse(
            "bad",
            "activation sometimes\ncondition carrier is up\nnameserver 198.51.100.300\ndns from dhcp\ndns from static\nhosts-file nowhere\nstart-unit vpn\ncolour blue\n",
        )
        .unwrap_err();
        let want = [
            "/cfg/locations/x:1: activation \"sometimes\" is not",
            "/cfg/locations/x:2: condition: unknown subject \"carrier\"",
            "/cfg/locations/x:3: nameserver: \"198.51.100.300\" is not an IP address",
            "/cfg/locations/x:5: \"dns\" is given twice",
            "/cfg/locations/x:6: hosts-file: /cfg/nowhere:",
            "/cfg/locations/x:7: start-unit: \"vpn\" is not a systemd unit name",
            "/cfg/locations/x:8: unknown key \"colour\"",
        ];
        for w in want {
            assert!(
                errors.iter().any(|e| e.starts_with(w)),
                "{w} in {errors:#?}"
            );
        }
        let errors = parse("c", "activation conditional-all\n").unwrap_err();
        assert_eq!(
            errors,
            ["/cfg/locations/x:1: activation conditional-all needs at least one condition"]
        );
        assert!(parse("legacy", "").is_err());
        assert!(parse("automatic", "activation manual\n").is_err());
        assert!(parse("automatic", "dns from both\nnameserver 198.51.100.53\n").is_ok());
    }

    #[test]
    fn the_most_specific_match_wins_and_ties_are_reported() {
        let mut all = vec![
            Location::builtin(AUTOMATIC),
            Location::builtin(NO_NET),
            Location::builtin(LEGACY),
        ];
        let mut add = |name: &str, text: &str| all.push(parse(name, text).unwrap());
        add(
            "by-range",
            "activation conditional-any\ncondition ip-address is-in-range 198.51.100.0/24\n",
        );
        add(
            "by-domain",
            "activation conditional-any\ncondition dhcp-domain is office.example.org\n",
        );
        add(
            "also-domain",
            "activation conditional-any\ncondition dhcp-domain is office.example.org\n",
        );
        add("elsewhere", "activation conditional-all\ncondition gateway-mac is 02:00:5e:00:53:09\ncondition dhcp-domain is office.example.org\n");
        add("by-hand", "activation manual\n");
        let f = facts();
        let c = choose(&all, &f, true, None);
        assert_eq!(c.name, "also-domain");
        assert_eq!(c.reason, Reason::Conditions);
        assert_eq!(c.ties, ["by-domain"]);
        assert_eq!(c.held, ["dhcp-domain is office.example.org"]);
        assert_eq!(choose(&all, &f, false, None).name, NO_NET);
        let c = choose(&all, &f, false, Some("by-hand"));
        assert_eq!((c.name.as_str(), c.reason), ("by-hand", Reason::Enabled));
        assert_eq!(choose(&all, &f, true, Some(AUTOMATIC)).name, "also-domain");
        assert_eq!(choose(&all, &Facts::default(), true, None).name, AUTOMATIC);
    }
}
