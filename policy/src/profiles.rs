//! Profiles (NWAM's NCPs): named sets of units, each an interfaces(5)
//! stanza (or the `inet` and `inet6` stanzas of one interface) with an
//! activation. A profile is a file `CONFIG_DIR/profiles/NAME` in
//! interfaces(5) syntax, read by the interfaces crate's parser, whose
//! activation is said by stanza options:
//!
//! ```text
//! iface eth0 inet dhcp
//!     activation prioritized
//!     priority-group 1
//!     priority-group-mode exclusive
//! iface eth9 inet static
//!     address 198.51.100.9/24
//!     activation conditional
//!     condition ncu eth0 is-not active
//!     condition-mode all
//! ```
//!
//! A stanza without an `activation` line is `manual`: as in the interfaces
//! file, an `auto` line brings it up when the profile is enabled, and
//! `ifup` at any time. Two profiles are built in: `legacy`, the interfaces
//! file as it is (the default, so that nothing changes for anyone who does
//! not enable another), and `automatic`.
//!
//! A profile is read whole or refused whole: every error is named with its
//! file and line, and the caller keeps what it had.

use crate::conditions::{Combine, Condition};
use netconf_interfaces::{InterfacesFile, Location, Parsed, Stanza};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The interfaces file as it is, and the default.
pub const LEGACY: &str = "legacy";
/// Every physical link without a stanza, by DHCP and SLAAC.
pub const AUTOMATIC: &str = "automatic";

/// The stanza options that say a unit's activation; they are taken out of
/// the stanza before it is applied (methods and hooks never see them).
pub const ACTIVATION_OPTIONS: &[&str] = &[
    "activation",
    "priority-group",
    "priority-group-mode",
    "condition",
    "condition-mode",
];

/// How a group's usable links are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GroupMode {
    /// One usable link of the group (the one already up, else the first).
    #[default]
    Exclusive,
    /// Every usable link of the group.
    Shared,
    /// Every usable link of every group in this mode, the best group's
    /// default route preferred by metric.
    All,
}

impl GroupMode {
    fn parse(word: &str) -> Option<GroupMode> {
        Some(match word {
            "exclusive" => GroupMode::Exclusive,
            "shared" => GroupMode::Shared,
            "all" => GroupMode::All,
            _ => return None,
        })
    }
}

/// When a unit is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Activation {
    /// Only by `ifup` (or an `auto` line when the profile is enabled).
    Manual,
    /// When its group is the best one with a usable link: the higher the
    /// group, the more it is preferred.
    Prioritized { group: u32 },
    /// While its conditions hold.
    Conditional {
        conditions: Vec<Condition>,
        #[serde(serialize_with = "combine_word")]
        combine: Combine,
    },
}

fn combine_word<S: serde::Serializer>(c: &Combine, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match c {
        Combine::Any => "any",
        Combine::All => "all",
    })
}

/// One unit: an interface's stanzas and their activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The interface (the stanzas' name).
    pub name: String,
    pub activation: Activation,
    /// Where its first stanza is, `FILE:LINE`.
    pub place: String,
}

/// A profile read and checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    /// Its file; none for the built-in ones.
    pub path: Option<PathBuf>,
    /// Its stanzas without the activation options.
    #[serde(skip)]
    pub config: InterfacesFile,
    pub units: Vec<Unit>,
    /// The mode of each priority group that has a unit.
    pub groups: BTreeMap<u32, GroupMode>,
}

/// Why a profile is refused: every error, each `FILE:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile {name} refused: {}", errors.join("; "))]
pub struct Invalid {
    pub name: String,
    pub errors: Vec<String>,
}

/// Whether `name` may name a profile file (the rule of run-parts and
/// `source-directory`: no dots, so no backups or `.dpkg-old`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `CONFIG_DIR/profiles`.
pub fn dir(config_dir: &Path) -> PathBuf {
    config_dir.join("profiles")
}

/// The profiles there are: the built-in ones, then the files of
/// `CONFIG_DIR/profiles` with a valid name, sorted (a file named as a
/// built-in one is left out: the built-in one is meant).
pub fn names(config_dir: &Path) -> Vec<String> {
    let mut names = vec![LEGACY.to_string(), AUTOMATIC.to_string()];
    let mut files: Vec<String> = std::fs::read_dir(dir(config_dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| valid_name(n) && n != LEGACY && n != AUTOMATIC)
        .collect();
    files.sort();
    names.extend(files);
    names
}

/// The file of profile `name`.
pub fn path_of(config_dir: &Path, name: &str) -> PathBuf {
    dir(config_dir).join(name)
}

/// Reads profile `name` from its parsed file. The parser's errors and
/// every activation error are reported together.
pub fn from_parsed(name: &str, path: &Path, parsed: &Parsed) -> Result<Profile, Invalid> {
    let mut errors: Vec<String> = parsed.errors().map(|d| d.report(&parsed.config)).collect();
    if parsed.rejected && errors.is_empty() {
        errors.push(format!("{}: cannot be read", path.display()));
    }
    let config = &parsed.config;
    let mut units: Vec<Unit> = Vec::new();
    let mut groups: BTreeMap<u32, (GroupMode, String)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    // The parser's implicit `lo` is no unit of the file's.
    for stanza in config.stanzas.iter().filter(|s| s.location.is_some()) {
        if !seen.insert(stanza.name.clone()) {
            continue;
        }
        let stanzas: Vec<&Stanza> = config.stanzas_named(&stanza.name).collect();
        match unit(config, &stanzas) {
            Ok((unit, mode)) => {
                if let (Activation::Prioritized { group }, Some((mode, at))) =
                    (&unit.activation, mode)
                {
                    match groups.get(group) {
                        Some((other, first)) if *other != mode => errors.push(format!(
                            "{at}: {}: priority-group-mode of group {group} is already \
                             {} at {first}",
                            unit.name,
                            mode_word(*other)
                        )),
                        Some(_) => {}
                        None => {
                            groups.insert(*group, (mode, at));
                        }
                    }
                }
                if !matches!(unit.activation, Activation::Manual)
                    && config.in_class("auto", &unit.name)
                {
                    errors.push(format!(
                        "{}: {}: an auto line and activation {}: the activation decides \
                         when it is up",
                        unit.place,
                        unit.name,
                        activation_word(&unit.activation)
                    ));
                }
                units.push(unit);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    // A group whose units all leave the mode out is exclusive.
    for unit in &units {
        if let Activation::Prioritized { group } = unit.activation {
            groups
                .entry(group)
                .or_insert((GroupMode::Exclusive, String::new()));
        }
    }
    if !errors.is_empty() {
        return Err(Invalid {
            name: name.to_string(),
            errors,
        });
    }
    let mut config = config.clone();
    for stanza in &mut config.stanzas {
        stanza
            .options
            .retain(|o| !ACTIVATION_OPTIONS.contains(&o.name.as_str()));
    }
    Ok(Profile {
        name: name.to_string(),
        path: Some(path.to_path_buf()),
        config,
        units,
        groups: groups.into_iter().map(|(g, (m, _))| (g, m)).collect(),
    })
}

fn mode_word(mode: GroupMode) -> &'static str {
    match mode {
        GroupMode::Exclusive => "exclusive",
        GroupMode::Shared => "shared",
        GroupMode::All => "all",
    }
}

pub fn activation_word(a: &Activation) -> &'static str {
    match a {
        Activation::Manual => "manual",
        Activation::Prioritized { .. } => "prioritized",
        Activation::Conditional { .. } => "conditional",
    }
}

/// One option of a unit, which may be on any of its stanzas but must say
/// the same on each: its value and where it is.
fn single<'a>(
    config: &InterfacesFile,
    name: &str,
    stanzas: &[&'a Stanza],
    option: &str,
    errors: &mut Vec<String>,
) -> Option<(&'a str, Location)> {
    let mut found: Option<(&'a str, Location)> = None;
    for stanza in stanzas {
        for o in stanza.options.iter().filter(|o| o.name == option) {
            match found {
                Some((v, at)) if v != o.value => errors.push(format!(
                    "{}: {name}: {option} \"{}\" but \"{v}\" at {}",
                    config.describe(o.location),
                    o.value,
                    config.describe(at)
                )),
                Some(_) => {}
                None => found = Some((o.value.as_str(), o.location)),
            }
        }
    }
    found
}

type UnitRead = (Unit, Option<(GroupMode, String)>);

fn unit(config: &InterfacesFile, stanzas: &[&Stanza]) -> Result<UnitRead, Vec<String>> {
    let name = stanzas[0].name.clone();
    let place = stanzas[0]
        .location
        .map(|l| config.describe(l))
        .unwrap_or_else(|| "?".to_string());
    let mut errors = Vec::new();
    let activation = single(config, &name, stanzas, "activation", &mut errors);
    let group = single(config, &name, stanzas, "priority-group", &mut errors);
    let mode = single(config, &name, stanzas, "priority-group-mode", &mut errors);
    let combine = single(config, &name, stanzas, "condition-mode", &mut errors);
    let conditions: Vec<(&str, Location)> = stanzas
        .iter()
        .flat_map(|s| s.options.iter())
        .filter(|o| o.name == "condition")
        .map(|o| (o.value.as_str(), o.location))
        .collect();
    let at = |l: Location| config.describe(l);
    let word = activation.map(|(w, _)| w).unwrap_or("manual");
    let not_here = |option: &str, l: Location, errors: &mut Vec<String>| {
        errors.push(format!(
            "{}: {name}: {option} is for activation {}, not {word}",
            at(l),
            if option.starts_with("priority") {
                "prioritized"
            } else {
                "conditional"
            }
        ))
    };
    let activation = match word {
        "manual" => Activation::Manual,
        "prioritized" => match group {
            Some((g, l)) => match g.parse::<u32>() {
                Ok(group) => Activation::Prioritized { group },
                Err(_) => {
                    errors.push(format!(
                        "{}: {name}: priority-group: \"{g}\" is not a number from 0 to {}",
                        at(l),
                        u32::MAX
                    ));
                    Activation::Manual
                }
            },
            None => {
                errors.push(format!(
                    "{place}: {name}: activation prioritized needs a priority-group"
                ));
                Activation::Manual
            }
        },
        "conditional" => {
            let mut parsed = Vec::new();
            for (text, l) in &conditions {
                match Condition::parse(text) {
                    Ok(c) => parsed.push(c),
                    Err(e) => errors.push(format!("{}: {name}: condition: {e}", at(*l))),
                }
            }
            if conditions.is_empty() {
                errors.push(format!(
                    "{place}: {name}: activation conditional needs at least one condition"
                ));
            }
            let combine = match combine {
                None | Some(("any", _)) => Combine::Any,
                Some(("all", _)) => Combine::All,
                Some((other, l)) => {
                    errors.push(format!(
                        "{}: {name}: condition-mode: \"{other}\" is not any or all",
                        at(l)
                    ));
                    Combine::Any
                }
            };
            Activation::Conditional {
                conditions: parsed,
                combine,
            }
        }
        other => {
            let l = activation
                .map(|(_, l)| l)
                .expect("a word read from an option");
            errors.push(format!(
                "{}: {name}: activation: \"{other}\" is not manual, prioritized or conditional",
                at(l)
            ));
            Activation::Manual
        }
    };
    let known = matches!(word, "manual" | "prioritized" | "conditional");
    if known && word != "prioritized" {
        for (option, found) in [("priority-group", group), ("priority-group-mode", mode)] {
            if let Some((_, l)) = found {
                not_here(option, l, &mut errors);
            }
        }
    }
    if known && word != "conditional" {
        if let Some((_, l)) = conditions.first() {
            not_here("condition", *l, &mut errors);
        }
        if let Some((_, l)) = combine {
            not_here("condition-mode", l, &mut errors);
        }
    }
    let mode = match mode {
        Some((m, l)) => match GroupMode::parse(m) {
            Some(mode) => Some((mode, at(l))),
            None => {
                errors.push(format!(
                    "{}: {name}: priority-group-mode: \"{m}\" is not exclusive, shared or all",
                    at(l)
                ));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        Unit {
            name,
            activation,
            place,
        },
        mode,
    ))
}

impl Profile {
    /// The unit named `name`.
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }

    /// The configuration to apply while `selected` (prioritized and
    /// conditional units the activation chose) are up: the profile's
    /// stanzas, its own `auto` lines and the selected units as `auto`, so
    /// that a reload by difference brings up exactly these and takes down
    /// what is no longer wanted. `metrics` gives default-route metrics to
    /// units of groups in mode `all` that leave `metric` out.
    pub fn effective(
        &self,
        selected: &BTreeSet<String>,
        metrics: &BTreeMap<String, u32>,
    ) -> InterfacesFile {
        let mut config = self.config.clone();
        let chosen: Vec<String> = self
            .units
            .iter()
            .filter(|u| selected.contains(&u.name) && u.activation != Activation::Manual)
            .map(|u| u.name.clone())
            .collect();
        if !chosen.is_empty() {
            match config.classes.iter_mut().find(|c| c.name == "auto") {
                Some(auto) => auto.interfaces.extend(chosen),
                None => config.classes.push(netconf_interfaces::AllowClass {
                    name: "auto".to_string(),
                    interfaces: chosen,
                }),
            }
        }
        for stanza in &mut config.stanzas {
            let Some(metric) = metrics.get(&stanza.name) else {
                continue;
            };
            let takes_metric = matches!(stanza.method.as_str(), "static" | "dhcp");
            if takes_metric && !stanza.options.iter().any(|o| o.name == "metric") {
                let location = stanza.location.unwrap_or(Location { file: 0, line: 0 });
                stanza.options.push(netconf_interfaces::OptionLine {
                    name: "metric".to_string(),
                    value: metric.to_string(),
                    location,
                });
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{parse_bytes, ParseOptions};

    fn read(text: &str) -> Result<Profile, Invalid> {
        let parsed = parse_bytes(
            "/etc/netconf/profiles/test",
            text.as_bytes(),
            &ParseOptions::default(),
        );
        from_parsed("test", Path::new("/etc/netconf/profiles/test"), &parsed)
    }

    #[test]
    fn units_and_groups() {
        let p = read(
            "auto lo\niface lo inet loopback\n\
             iface eth0 inet dhcp\n activation prioritized\n priority-group 1\n \
             priority-group-mode shared\n\
             iface eth0 inet6 auto\n\
             iface wlan0 inet dhcp\n activation prioritized\n priority-group 0\n\
             iface vpn0 inet static\n address 198.51.100.9/24\n activation conditional\n \
             condition ncu eth0 is active\n condition ip-address is-in-range 198.51.100.0/24\n \
             condition-mode all\n",
        )
        .unwrap();
        let names: Vec<&str> = p.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0", "wlan0", "vpn0"]);
        assert_eq!(p.units[0].activation, Activation::Manual);
        assert_eq!(p.units[1].activation, Activation::Prioritized { group: 1 });
        assert_eq!(p.groups[&1], GroupMode::Shared);
        assert_eq!(p.groups[&0], GroupMode::Exclusive);
        match &p.units[3].activation {
            Activation::Conditional {
                conditions,
                combine,
            } => {
                assert_eq!(conditions.len(), 2);
                assert_eq!(*combine, Combine::All);
            }
            other => panic!("{other:?}"),
        }
        // The activation options are gone from what is applied.
        assert!(p
            .config
            .stanzas
            .iter()
            .flat_map(|s| &s.options)
            .all(|o| !ACTIVATION_OPTIONS.contains(&o.name.as_str())));
        assert_eq!(p.units[1].place, "/etc/netconf/profiles/test:3");
    }

    #[test]
    fn every_error_with_its_line() {
        let e = read(
            "auto eth0\n\
             iface eth0 inet dhcp\n activation prioritized\n priority-group one\n\
             iface eth1 inet dhcp\n activation sometimes\n\
             iface eth2 inet dhcp\n activation conditional\n condition essid near x\n\
             iface eth3 inet dhcp\n priority-group 2\n\
             iface eth4 inet dhcp\n activation prioritized\n priority-group 2\n \
             priority-group-mode shared\n\
             iface eth5 inet dhcp\n activation prioritized\n priority-group 2\n \
             priority-group-mode all\n\
             iface eth6 inet dhcp\n activation prioritized\n\
             iface eth7 inet dhcp\n activation prioritized\n priority-group 3\n\
             iface eth7 inet6 auto\n activation manual\n",
        )
        .unwrap_err();
        let f = "/etc/netconf/profiles/test";
        assert_eq!(
            e.errors,
            [
                format!(
                    "{f}:4: eth0: priority-group: \"one\" is not a number from 0 to 4294967295"
                ),
                format!(
                    "{f}:6: eth1: activation: \"sometimes\" is not manual, prioritized or \
                     conditional"
                ),
                format!(
                    "{f}:9: eth2: condition: \"essid\" takes is, is-not, contains or \
                     does-not-contain, not \"near\""
                ),
                format!("{f}:11: eth3: priority-group is for activation prioritized, not manual"),
                format!("{f}:19: eth5: priority-group-mode of group 2 is already shared at {f}:15"),
                format!("{f}:20: eth6: activation prioritized needs a priority-group"),
                format!("{f}:26: eth7: activation \"manual\" but \"prioritized\" at {f}:23"),
            ]
        );
    }

    #[test]
    fn parser_errors_refuse_the_profile() {
        let e = read("iface eth0 inet static\n address 198.51.100.1/24\niface eth1 inet\n")
            .unwrap_err();
        assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
        assert!(
            e.errors[0].starts_with("/etc/netconf/profiles/test:3:"),
            "{:?}",
            e.errors
        );
    }

    #[test]
    fn auto_and_a_chosen_activation_do_not_mix() {
        let e =
            read("auto eth0\niface eth0 inet dhcp\n activation prioritized\n priority-group 1\n")
                .unwrap_err();
        assert_eq!(
            e.errors,
            [
                "/etc/netconf/profiles/test:2: eth0: an auto line and activation prioritized: \
              the activation decides when it is up"
            ]
        );
    }

    #[test]
    fn the_effective_configuration() {
        let p = read(
            "auto lo\niface lo inet loopback\n\
             iface eth0 inet dhcp\n activation prioritized\n priority-group 1\n\
             iface eth1 inet static\n address 198.51.100.1/24\n gateway 198.51.100.254\n \
             activation prioritized\n priority-group 0\n",
        )
        .unwrap();
        let selected: BTreeSet<String> = ["eth1".to_string()].into();
        let metrics: BTreeMap<String, u32> = [("eth1".to_string(), 1001)].into();
        let c = p.effective(&selected, &metrics);
        assert!(c.in_class("auto", "lo"));
        assert!(c.in_class("auto", "eth1"));
        assert!(!c.in_class("auto", "eth0"));
        let eth1 = c.stanzas_named("eth1").next().unwrap();
        assert!(eth1
            .options
            .iter()
            .any(|o| o.name == "metric" && o.value == "1001"));
    }

    #[test]
    fn profile_names() {
        assert!(valid_name("office-2"));
        assert!(!valid_name("office.dpkg-old"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name(""));
    }
}
