//! Which units of a profile should be up, as pure functions of which links
//! are usable (the daemon decides that from events: carrier, a lease, DAD)
//! and of what is up now. Prioritized units: the best priority group with
//! a usable link is used — the higher the group, the more it is preferred
//! (wired links are group 1 and wireless group 0 in the `automatic`
//! profile, as in NWAM's design, and wired is what is meant to win) — as
//! its mode says:
//!
//! - `exclusive`: one usable unit of the group: the one up now if it still
//!   is usable, else the first in the file (so a link coming back in the
//!   same group does not take over from one that works);
//! - `shared`: every usable unit of the group;
//! - `all`: every usable unit of every group.
//!
//! In `shared` and `all` every unit's default route is given a metric (when
//! its stanza has none): the best group's from [`METRIC_BASE`], each group
//! below [`METRIC_STEP`] more, and within a group one more for each unit
//! in file order (the kernel refuses a second IPv4 default route of the
//! same metric).
//!
//! Conditional units are up while their conditions hold.

use crate::conditions::{evaluate, Facts};
use crate::profiles::{Activation, GroupMode, Profile};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The default-route metric of the best group in mode `all`; each group
/// below it adds [`METRIC_STEP`].
pub const METRIC_BASE: u32 = 100;
pub const METRIC_STEP: u32 = 100;

/// What the prioritized units' activation chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The units to have up.
    pub selected: BTreeSet<String>,
    /// The group they are of (the best of them in mode `all`); `None` when
    /// no prioritized unit has a usable link.
    pub group: Option<u32>,
    /// Default-route metrics for the units of mode `all`.
    pub metrics: BTreeMap<String, u32>,
}

/// The prioritized units' groups, best first, each with its units in file
/// order.
fn groups(profile: &Profile) -> Vec<(u32, Vec<&str>)> {
    let mut by_group: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for unit in &profile.units {
        if let Activation::Prioritized { group } = unit.activation {
            by_group.entry(group).or_default().push(&unit.name);
        }
    }
    by_group.into_iter().rev().collect()
}

/// The prioritized units to have up, given the `usable` links and the
/// `current` ones.
pub fn choose(profile: &Profile, usable: &BTreeSet<String>, current: &BTreeSet<String>) -> Choice {
    let groups = groups(profile);
    let Some((best, units)) = groups
        .iter()
        .find(|(_, units)| units.iter().any(|u| usable.contains(*u)))
    else {
        return Choice::default();
    };
    let usable_of = |units: &[&str]| -> Vec<String> {
        units
            .iter()
            .filter(|u| usable.contains(**u))
            .map(|u| u.to_string())
            .collect()
    };
    let mode = profile.groups.get(best).copied().unwrap_or_default();
    let mut choice = Choice {
        group: Some(*best),
        ..Choice::default()
    };
    match mode {
        GroupMode::Exclusive => {
            let candidates = usable_of(units);
            let keep = candidates.iter().find(|u| current.contains(*u));
            let one = keep.or(candidates.first()).cloned();
            choice.selected.extend(one);
        }
        // Each default route its own metric: the kernel takes a second
        // IPv4 default route of the same metric for a duplicate.
        GroupMode::Shared => {
            for (i, unit) in usable_of(units).into_iter().enumerate() {
                choice.metrics.insert(unit.clone(), METRIC_BASE + i as u32);
                choice.selected.insert(unit);
            }
        }
        GroupMode::All => {
            let mut metric = METRIC_BASE;
            for (_, units) in groups.iter().skip_while(|(g, _)| g != best) {
                for (i, unit) in usable_of(units).into_iter().enumerate() {
                    choice.metrics.insert(unit.clone(), metric + i as u32);
                    choice.selected.insert(unit);
                }
                metric += METRIC_STEP;
            }
        }
    }
    choice
}

/// The best group among `units` (of `profile`).
fn best_group(profile: &Profile, units: &BTreeSet<String>) -> Option<u32> {
    profile
        .units
        .iter()
        .filter(|u| units.contains(&u.name))
        .filter_map(|u| match u.activation {
            Activation::Prioritized { group } => Some(group),
            _ => None,
        })
        .max()
}

/// How to go from the `current` units to the newly chosen ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Switch {
    /// Nothing to change.
    Stay,
    /// Change now: what is up lost its link, or more links of the same
    /// group came.
    Now,
    /// A better group came while what is up still works: change only if
    /// the better group is still usable after the hold-down, so that a
    /// flapping cable does not flap the network.
    HoldDown,
}

pub fn switch(
    profile: &Profile,
    usable: &BTreeSet<String>,
    current: &BTreeSet<String>,
    chosen: &Choice,
) -> Switch {
    if chosen.selected == *current {
        return Switch::Stay;
    }
    let current_works = !current.is_empty() && current.iter().all(|u| usable.contains(u));
    let better = match (best_group(profile, current), chosen.group) {
        (Some(now), Some(new)) => new > now,
        _ => false,
    };
    if current_works && better {
        Switch::HoldDown
    } else {
        Switch::Now
    }
}

/// The conditional units whose conditions hold on `facts`.
pub fn conditional(profile: &Profile, facts: &Facts) -> BTreeSet<String> {
    profile
        .units
        .iter()
        .filter(|u| match &u.activation {
            Activation::Conditional {
                conditions,
                combine,
            } => evaluate(conditions, *combine, facts).is_some(),
            _ => false,
        })
        .map(|u| u.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::from_parsed;
    use netconf_interfaces::{parse_bytes, ParseOptions};
    use std::path::Path;

    fn profile(mode: &str) -> Profile {
        let text = format!(
            "iface eth0 inet dhcp\n activation prioritized\n priority-group 1\n \
             priority-group-mode {mode}\n\
             iface eth1 inet dhcp\n activation prioritized\n priority-group 1\n\
             iface wlan0 inet dhcp\n activation prioritized\n priority-group 0\n \
             priority-group-mode {mode}\n"
        );
        let parsed = parse_bytes("p", text.as_bytes(), &ParseOptions::default());
        from_parsed("p", Path::new("p"), &parsed).unwrap()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn exclusive_uses_one_link_of_the_best_group() {
        let p = profile("exclusive");
        let all = set(&["eth0", "eth1", "wlan0"]);
        let c = choose(&p, &all, &set(&[]));
        assert_eq!(c.selected, set(&["eth0"]));
        assert_eq!(c.group, Some(1));
        // eth0's cable pulled: eth1, of the same group.
        let c = choose(&p, &set(&["eth1", "wlan0"]), &set(&["eth0"]));
        assert_eq!(c.selected, set(&["eth1"]));
        // eth0 back: eth1 works and stays.
        let c = choose(&p, &all, &set(&["eth1"]));
        assert_eq!(c.selected, set(&["eth1"]));
        // No wired link: the wireless one.
        let c = choose(&p, &set(&["wlan0"]), &set(&["eth1"]));
        assert_eq!(c.selected, set(&["wlan0"]));
        assert_eq!(c.group, Some(0));
        // Nothing usable: nothing.
        assert_eq!(choose(&p, &set(&[]), &set(&["wlan0"])), Choice::default());
    }

    #[test]
    fn shared_uses_every_link_of_the_best_group() {
        let p = profile("shared");
        let c = choose(&p, &set(&["eth0", "eth1", "wlan0"]), &set(&[]));
        assert_eq!(c.selected, set(&["eth0", "eth1"]));
        let c = choose(&p, &set(&["eth1", "wlan0"]), &set(&[]));
        assert_eq!(c.selected, set(&["eth1"]));
        assert_eq!(c.metrics["eth1"], METRIC_BASE);
        let c = choose(&p, &set(&["eth0", "eth1"]), &set(&[]));
        assert_eq!(c.metrics["eth1"], METRIC_BASE + 1);
    }

    #[test]
    fn all_uses_every_group_with_metrics() {
        let p = profile("all");
        let c = choose(&p, &set(&["eth0", "eth1", "wlan0"]), &set(&[]));
        assert_eq!(c.selected, set(&["eth0", "eth1", "wlan0"]));
        assert_eq!(c.metrics["eth0"], METRIC_BASE);
        assert_eq!(c.metrics["eth1"], METRIC_BASE + 1);
        assert_eq!(c.metrics["wlan0"], METRIC_BASE + METRIC_STEP);
        let c = choose(&p, &set(&["wlan0"]), &set(&[]));
        assert_eq!(c.metrics["wlan0"], METRIC_BASE);
    }

    #[test]
    fn a_better_group_waits_for_the_hold_down() {
        let p = profile("exclusive");
        let all = set(&["eth0", "eth1", "wlan0"]);
        // On the wireless fallback, a cable comes back: hold down.
        let c = choose(&p, &all, &set(&["wlan0"]));
        assert_eq!(switch(&p, &all, &set(&["wlan0"]), &c), Switch::HoldDown);
        // The wired link went: at once.
        let usable = set(&["wlan0"]);
        let c = choose(&p, &usable, &set(&["eth0"]));
        assert_eq!(switch(&p, &usable, &set(&["eth0"]), &c), Switch::Now);
        // Nothing was up: at once.
        let c = choose(&p, &all, &set(&[]));
        assert_eq!(switch(&p, &all, &set(&[]), &c), Switch::Now);
        // Already so.
        let c = choose(&p, &all, &set(&["eth0"]));
        assert_eq!(switch(&p, &all, &set(&["eth0"]), &c), Switch::Stay);
    }

    #[test]
    fn conditional_units_follow_their_conditions() {
        let text = "iface vpn0 inet manual\n activation conditional\n \
                    condition ncu eth0 is active\n";
        let parsed = parse_bytes("p", text.as_bytes(), &ParseOptions::default());
        let p = from_parsed("p", Path::new("p"), &parsed).unwrap();
        let mut facts = Facts::default();
        assert!(conditional(&p, &facts).is_empty());
        facts.active_ncus.insert("eth0".into());
        assert_eq!(conditional(&p, &facts), set(&["vpn0"]));
    }
}
