//! Which interfaces a command acts on: interface patterns expanded against the
//! system's interfaces (`[VARIABLE]/PATTERN[/N][=LOGICAL]`, ifupdown's
//! `expand_matches`) and `rename` entries applied to the targets.

use crate::model::InterfacesFile;
use crate::pattern::{fnmatch, matches_any};
use crate::system::{sysfs_attribute_matches, system_interfaces};
use std::collections::HashSet;

/// The system's interfaces, asked for once and only when a pattern needs them.
#[derive(Default)]
pub struct SystemInterfaces(Option<Vec<String>>);

impl SystemInterfaces {
    fn get(&mut self) -> &[String] {
        self.0.get_or_insert_with(system_interfaces)
    }
}

/// Expands interface patterns; plain names pass through. Duplicates dropped.
pub fn expand(names: &[String], system: &mut SystemInterfaces) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push_unique = |out: &mut Vec<String>, entry: String| {
        if seen.insert(entry.clone()) {
            out.push(entry);
        }
    };
    for name in names {
        // Only names with a slash are patterns.
        let Some((variable, spec)) = name.split_once('/') else {
            push_unique(&mut out, name.clone());
            continue;
        };
        let variable = (!variable.is_empty()).then_some(variable);
        let (pattern, options) = match spec.split_once('/') {
            Some((p, o)) if !spec.is_empty() => (p, Some(o)),
            _ => (spec, None),
        };
        let (pattern, options, logical) = match options {
            Some(o) => match o.split_once('=') {
                Some((o, l)) => (pattern, Some(o), Some(l)),
                None => (pattern, Some(o), None),
            },
            None => match pattern.split_once('=') {
                Some((p, l)) => (p, None, Some(l)),
                None => (pattern, None, None),
            },
        };
        let wanted = options.map_or(0, atoi);

        let mut n = 0;
        for iface in system.get() {
            let matched = match variable {
                Some(var) => sysfs_attribute_matches(iface, var, pattern),
                None => fnmatch(pattern, iface, true),
            };
            if !matched {
                continue;
            }
            n += 1;
            if wanted > 0 && wanted != n {
                continue;
            }
            let entry = match logical {
                Some(l) => format!("{iface}={l}"),
                None => iface.clone(),
            };
            push_unique(&mut out, entry);
        }
    }
    out
}

/// The expanded members of `class` (`auto` for `-a`), as `ifup -a` takes them.
pub fn class_targets(
    config: &InterfacesFile,
    class: &str,
    system: &mut SystemInterfaces,
) -> Vec<String> {
    let names = config
        .class(class)
        .map(|c| c.interfaces.clone())
        .unwrap_or_default();
    expand(&names, system)
}

/// ifupdown's `ignore_interface` for `--allow` and `--exclude`: a physical
/// interface outside the class, or matching an exclude pattern, is skipped.
pub fn is_ignored(
    config: &InterfacesFile,
    allow: Option<&str>,
    exclude: &[String],
    iface: &str,
    system: &mut SystemInterfaces,
) -> bool {
    if let Some(class) = allow {
        if config.class(class).is_none() {
            return true;
        }
        let listed = class_targets(config, class, system)
            .iter()
            .any(|m| m.split_once('=').map_or(m.as_str(), |(p, _)| p) == iface);
        if !listed {
            return true;
        }
    }
    matches_any(exclude, iface)
}

/// C's `atoi`: leading blanks, optional sign, digits; 0 if none.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    sign * n
}

/// Rewrites targets that a `rename CUR=NEW` entry would rename to `NEW`
/// (keeping a `=LOGICAL` part), as ifupdown does before acting.
pub fn apply_renames(targets: &mut [String], renames: &[String]) {
    for rename in renames {
        let Some((from, to)) = rename.split_once('=') else {
            continue;
        };
        for target in targets.iter_mut() {
            let (phys, logical) = match target.split_once('=') {
                Some((p, l)) => (p, Some(l)),
                None => (target.as_str(), None),
            };
            if phys != from {
                continue;
            }
            *target = match logical {
                Some(l) => format!("{to}={l}"),
                None => to.to_string(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_through_once() {
        let mut sys = SystemInterfaces(Some(vec!["eth0".into()]));
        let names = vec!["eth0".into(), "eth1=home".into(), "eth0".into()];
        assert_eq!(expand(&names, &mut sys), vec!["eth0", "eth1=home"]);
    }

    #[test]
    fn patterns_pick_system_interfaces() {
        let mut sys = SystemInterfaces(Some(vec!["lo".into(), "veth0".into(), "veth1".into()]));
        assert_eq!(expand(&["/veth*".into()], &mut sys), vec!["veth0", "veth1"]);
        assert_eq!(
            expand(&["/veth*=lan".into()], &mut sys),
            vec!["veth0=lan", "veth1=lan"]
        );
        assert_eq!(expand(&["/veth*/2".into()], &mut sys), vec!["veth1"]);
        assert_eq!(expand(&["/veth*/2=x".into()], &mut sys), vec!["veth1=x"]);
        assert!(expand(&["/nothing*".into()], &mut sys).is_empty());
    }

    #[test]
    fn renames() {
        let mut t = vec!["eth0".to_string(), "eth0=work".into(), "eth1".into()];
        apply_renames(&mut t, &["eth0=lan0".into()]);
        assert_eq!(t, vec!["lan0", "lan0=work", "eth1"]);
    }
}
