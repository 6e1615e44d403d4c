//! Profiles in the daemon: which one is active and why (kept in
//! `RUN_DIR/profile.json`, so that a restart keeps it), switching between
//! them by difference, and the activation of their units driven by events.
//!
//! A profile is applied as a configuration: its stanzas, with its `auto`
//! lines and the units its activation chose as `auto`. Enabling a profile,
//! a new choice of units and `netconfctl reload` all go through
//! [`crate::reload::apply`], which compares with what is up and changes
//! only the difference (what both want is not touched).
//!
//! The prioritized units' links are kept administratively up (a link that
//! is down has no carrier to hear), and a unit is usable while its link
//! has a carrier. `legacy` — the interfaces file as it is — is the default
//! and then nothing here acts.

use crate::dispatcher::Dispatcher;
use crate::kernel::Change;
use crate::queue::{ConnId, Job, ReplySender};
use netconf_ctlsock_proto::{Body, ErrorCode, ErrorReply, ReloadArgs};
use netconf_interfaces::{parse_bytes, parse_file, InterfacesFile, ParseOptions};
use netconf_kernel::netlink::Event;
use netconf_policy::activation::{self, Choice, Switch};
use netconf_policy::profiles::{self, Invalid, Profile, AUTOMATIC, LEGACY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tracing::{debug, error, info, warn};

/// Where the active profile is kept, next to the state file.
const FILE: &str = "profile.json";

/// The most profiles `profile list` names (replies are bounded).
const MAX_LISTED: usize = 256;

/// Declares links' classes for the `automatic` profile where the kernel
/// cannot tell (tests: veth pairs are neither wired nor wireless):
/// `NAME=wired,NAME=wireless,...`.
pub const LINK_CLASSES_ENV: &str = "NETCONF_LINK_CLASSES";

/// Why the active profile is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Why {
    /// Nobody enabled another: `legacy`.
    Default,
    /// `netconfctl profile enable` by root, at `at` (seconds since 1970).
    Enabled { who: String, at: u64 },
}

/// What `RUN_DIR/profile.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Active {
    pub name: String,
    pub why: Why,
    /// The units the activation chose.
    #[serde(default)]
    pub selected: BTreeSet<String>,
    /// Their priority group.
    #[serde(default)]
    pub group: Option<u32>,
    /// What made the last choice (an event), and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Default for Active {
    fn default() -> Self {
        Active {
            name: LEGACY.to_string(),
            why: Why::Default,
            selected: BTreeSet::new(),
            group: None,
            cause: None,
        }
    }
}

/// `profiles`' table in the dispatcher.
#[derive(Default)]
pub struct Profiles {
    active: Active,
    /// The active profile as last read; `None` for `legacy` (or one that
    /// could not be read at start: see `broken`).
    profile: Option<Profile>,
    /// Why the active profile could not be read at start.
    broken: Vec<String>,
    /// Since when a better group has been waiting for the hold-down.
    held_since: Option<Instant>,
    /// The event that made it usable.
    held_cause: Option<String>,
    /// The last switch, while its downs and ups run.
    switching: Option<crate::queue::EventId>,
    /// An event came during it: the cause to choose again for once it is
    /// done.
    again: Option<String>,
    /// Units whose link has a carrier but that do not work: their `ifup`
    /// failed (no lease in time, DAD failed) or their lease was lost. Until
    /// their carrier changes.
    unusable: BTreeMap<String, String>,
    /// A choice is being made: the kernel changes it makes itself (links
    /// set up) are not a cause of another.
    choosing: bool,
    /// What the last router advertisement of each link of the `automatic`
    /// profile asked of DHCPv6, for links whose router asked something:
    /// `true` for addresses (M), `false` for other configuration only (O).
    ra_dhcp6: BTreeMap<String, bool>,
    /// The active profile's stanzas changed without a change of units (the
    /// `automatic` profile after a router advertisement's flags): applied
    /// by the next choice even if it keeps the same units.
    reapply: bool,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn active_file(d: &Dispatcher) -> PathBuf {
    d.settings.state_file.with_file_name(FILE)
}

fn save(d: &Dispatcher) {
    let path = active_file(d);
    let tmp = path.with_extension("tmp");
    let written = serde_json::to_vec_pretty(&d.profiles.active)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        error!(file = %path.display(), "writing the active profile: {e}");
    }
}

/// The class of link `name` for the `automatic` profile: wired, wireless,
/// or none (not a physical link).
fn link_class(name: &str) -> Option<&'static str> {
    if let Ok(declared) = std::env::var(LINK_CLASSES_ENV) {
        for pair in declared.split(',') {
            if let Some((n, class)) = pair.split_once('=') {
                if n.trim() == name {
                    return match class.trim() {
                        "wired" => Some("wired"),
                        "wireless" => Some("wireless"),
                        _ => None,
                    };
                }
            }
        }
    }
    let sys = PathBuf::from("/sys/class/net").join(name);
    if sys.join("wireless").exists() || sys.join("phy80211").exists() {
        Some("wireless")
    } else if sys.join("device").exists() {
        Some("wired")
    } else {
        None
    }
}

/// The built-in `automatic` profile as it is now: every physical link
/// without a stanza in the interfaces file, DHCPv4 and SLAAC, wired links
/// in group 1 and wireless ones in group 0, exclusive.
fn automatic(d: &Dispatcher) -> Result<Profile, Invalid> {
    let legacy = crate::dispatcher::read_config(&d.settings.interfaces_file, d.settings.dialect);
    let mut names: Vec<String> = d
        .kernel
        .as_ref()
        .map(|k| k.mirror.links().map(|l| l.name.clone()).collect())
        .unwrap_or_default();
    names.sort();
    let mut text = String::new();
    for name in names {
        if name == "lo" || legacy.stanzas_named(&name).next().is_some() {
            continue;
        }
        let group = match link_class(&name) {
            Some("wired") => 1,
            Some("wireless") => 0,
            _ => continue,
        };
        // Debian's ways: `inet6 auto` with `dhcp 1` runs `dhclient -6 -S`
        // (stateless: other configuration), `inet6 dhcp` stateful DHCPv6.
        let inet6 = match d.profiles.ra_dhcp6.get(&name) {
            Some(true) => "inet6 dhcp\n",
            Some(false) => "inet6 auto\n    dhcp 1\n",
            None => "inet6 auto\n",
        };
        text.push_str(&format!(
            "iface {name} inet dhcp\n    activation prioritized\n    priority-group {group}\n    \
             priority-group-mode exclusive\niface {name} {inet6}"
        ));
    }
    let path = "automatic (built in)";
    let parsed = parse_bytes(path, text.as_bytes(), &ParseOptions::default());
    let mut profile = profiles::from_parsed(AUTOMATIC, std::path::Path::new(path), &parsed)?;
    profile.path = None;
    Ok(profile)
}

/// Reads the M and O flags of the router advertisements the links heard
/// (the kernel keeps those of the last one per link); whether what the
/// `automatic` profile makes of them changed.
fn refresh_ra_dhcp6(d: &mut Dispatcher) -> bool {
    let Ok(kernel) = d.kernel.as_mut() else {
        return false;
    };
    let flags = match kernel.nl.ra_flags() {
        Ok(f) => f,
        Err(e) => {
            debug!("router advertisement flags: {e}");
            return false;
        }
    };
    let now: BTreeMap<String, bool> = flags
        .into_iter()
        .filter(|f| f.managed || f.other)
        .filter_map(|f| {
            let link = kernel.mirror.link(f.index)?;
            Some((link.name.clone(), f.managed))
        })
        .collect();
    if now == d.profiles.ra_dhcp6 {
        return false;
    }
    d.profiles.ra_dhcp6 = now;
    true
}

/// Reads profile `name` (not `legacy`).
fn read(d: &Dispatcher, name: &str) -> Result<Profile, Invalid> {
    if name == AUTOMATIC {
        return automatic(d);
    }
    let invalid = |why: String| Invalid {
        name: name.to_string(),
        errors: vec![why],
    };
    if !profiles::valid_name(name) {
        return Err(invalid(format!(
            "\"{name}\" is not a profile name (letters, digits, - and _)"
        )));
    }
    let path = profiles::path_of(&d.settings.config_dir, name);
    if !path.is_file() {
        return Err(invalid(format!(
            "no profile {name}: {} is not a file",
            path.display()
        )));
    }
    let options = ParseOptions {
        dialect: d.settings.dialect,
        ..Default::default()
    };
    let parsed = parse_file(&path.to_string_lossy(), &options);
    profiles::from_parsed(name, &path, &parsed)
}

fn refused(invalid: Invalid) -> ErrorReply {
    ErrorReply {
        code: ErrorCode::ConfigInvalid,
        message: format!("profile {} refused; nothing changed", invalid.name),
        causes: invalid.errors,
    }
}

/// The units whose link has a carrier, but for those found not to work
/// since (`Profiles::unusable`).
fn usable(d: &Dispatcher, profile: &Profile) -> BTreeSet<String> {
    let Ok(kernel) = d.kernel.as_ref() else {
        return BTreeSet::new();
    };
    profile
        .units
        .iter()
        .filter(|u| {
            kernel
                .mirror
                .link_by_name(&u.name)
                .is_some_and(|l| l.up && l.lower_up)
                && !d.profiles.unusable.contains_key(&u.name)
        })
        .map(|u| u.name.clone())
        .collect()
}

/// The units of `profile` netconf has up now.
fn up_now(d: &Dispatcher, profile: &Profile) -> BTreeSet<String> {
    profile
        .units
        .iter()
        .filter(|u| d.state.get(&u.name).is_some())
        .map(|u| u.name.clone())
        .collect()
}

/// At start: the active profile of the last run, as it was. What changed
/// meanwhile (a cable) is looked at once the dispatcher runs.
pub fn restore(d: &mut Dispatcher) {
    let path = active_file(d);
    let active: Active = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(a) => a,
            Err(e) => {
                error!(file = %path.display(), "the active profile cannot be read ({e}); legacy");
                return;
            }
        },
        Err(_) => return,
    };
    if active.name == LEGACY {
        d.profiles.active = active;
        return;
    }
    if active.name == AUTOMATIC {
        refresh_ra_dhcp6(d);
    }
    match read(d, &active.name) {
        Ok(profile) => {
            let choice = Choice {
                selected: active.selected.clone(),
                group: active.group,
                metrics: metrics_of(&profile, &active.selected),
            };
            d.config = profile.effective(&choice.selected, &choice.metrics);
            d.profiles.profile = Some(profile);
        }
        Err(invalid) => {
            error!(profile = %active.name, errors = ?invalid.errors, "the active profile cannot be read; nothing is changed until it can");
            d.profiles.broken = invalid.errors;
        }
    }
    info!(profile = %active.name, "active profile");
    d.profiles.active = active;
    let _ = d.jobs_sender().send((
        0,
        Job::ProfileCheck {
            after: std::time::Duration::ZERO,
        },
    ));
}

/// The default-route metrics of `selected` (groups in mode `shared` or
/// `all`), as the activation gave them.
fn metrics_of(profile: &Profile, selected: &BTreeSet<String>) -> BTreeMap<String, u32> {
    activation::choose(profile, selected, selected).metrics
}

/// The configuration a request without `-i` reads while a profile other
/// than `legacy` is active: its file as it is now, with the activation's
/// current choice. `None` under `legacy`.
pub fn for_request(d: &mut Dispatcher) -> Option<Result<InterfacesFile, ErrorReply>> {
    if d.profiles.active.name == LEGACY {
        return None;
    }
    Some(match read(d, &d.profiles.active.name.clone()) {
        Ok(profile) => {
            let selected = d.profiles.active.selected.clone();
            let metrics = metrics_of(&profile, &selected);
            let config = profile.effective(&selected, &metrics);
            d.profiles.profile = Some(profile);
            d.profiles.broken.clear();
            Ok(config)
        }
        Err(invalid) => Err(refused(invalid)),
    })
}

/// `reload`: the active profile's file read again and its activation
/// chosen anew. `None` under `legacy`.
pub fn reread(d: &mut Dispatcher) -> Option<Result<InterfacesFile, Body>> {
    if d.profiles.active.name == LEGACY {
        return None;
    }
    let name = d.profiles.active.name.clone();
    if name == AUTOMATIC {
        refresh_ra_dhcp6(d);
    }
    Some(match read(d, &name) {
        Ok(profile) => {
            let current = up_now(d, &profile);
            let prio = activation::choose(&profile, &usable(d, &profile), &current);
            let cond = conditional(d, &profile, &prio.selected);
            let choice = with_conditional(prio, &cond.0);
            let config = profile.effective(&choice.selected, &choice.metrics);
            d.profiles.active.selected = choice.selected;
            d.profiles.active.group = choice.group;
            d.profiles.active.cause = Some("reload".into());
            d.profiles.profile = Some(profile);
            d.profiles.broken.clear();
            d.profiles.held_since = None;
            save(d);
            Ok(config)
        }
        Err(invalid) => {
            warn!(profile = %name, errors = ?invalid.errors, "reload refused");
            Err(Body::Error(refused(invalid)))
        }
    })
}

/// `profile enable NAME`.
pub fn enable(d: &mut Dispatcher, client: (ConnId, ReplySender, u64), name: &str) {
    let (conn, reply, id) = client;
    let (config, profile, choice) = if name == LEGACY {
        let file = d.settings.interfaces_file.to_string_lossy().into_owned();
        let options = ParseOptions {
            dialect: d.settings.dialect,
            ..Default::default()
        };
        let parsed = parse_file(&file, &options);
        if parsed.rejected {
            let causes = parsed.errors().map(|e| e.report(&parsed.config)).collect();
            let body = Body::Error(ErrorReply {
                code: ErrorCode::ConfigInvalid,
                message: format!("profile legacy refused: couldn't read interfaces file \"{file}\"; nothing changed"),
                causes,
            });
            return reply.send(id, body);
        }
        (parsed.config, None, Choice::default())
    } else {
        if name == AUTOMATIC {
            refresh_ra_dhcp6(d);
        }
        match read(d, name) {
            Ok(profile) => {
                let current = up_now(d, &profile);
                d.profiles.choosing = true;
                ensure_links_up(d, &profile);
                d.profiles.choosing = false;
                let prio = activation::choose(&profile, &usable(d, &profile), &current);
                let cond = conditional(d, &profile, &prio.selected);
                let choice = with_conditional(prio, &cond.0);
                let config = profile.effective(&choice.selected, &choice.metrics);
                (config, Some(profile), choice)
            }
            Err(invalid) => {
                warn!(profile = name, errors = ?invalid.errors, "profile enable refused");
                return reply.send(id, Body::Error(refused(invalid)));
            }
        }
    };
    let old = d.profiles.active.name.clone();
    d.profiles.active = Active {
        name: name.to_string(),
        why: Why::Enabled {
            who: "root".into(),
            at: now(),
        },
        selected: choice.selected.clone(),
        group: choice.group,
        cause: Some(format!("profile enable {name}")),
    };
    d.profiles.profile = profile;
    d.profiles.broken.clear();
    d.profiles.held_since = None;
    save(d);
    let units = describe(&choice);
    info!(profile = name, from = %old, units = %units, "profile enabled");
    d.tell_monitors(
        None,
        None,
        "profile",
        format!("profile {old} -> {name} (enabled by root){units}"),
    );
    d.profiles.switching =
        crate::reload::apply(d, (conn, reply, id), ReloadArgs::default(), config);
}

fn describe(choice: &Choice) -> String {
    if choice.selected.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = choice.selected.iter().map(String::as_str).collect();
    match choice.group {
        Some(g) => format!(": {} (priority group {g})", names.join(" ")),
        None => format!(": {}", names.join(" ")),
    }
}

/// Keeps the links of the prioritized units administratively up, so that
/// their carrier can be heard; only what is down is written.
fn ensure_links_up(d: &mut Dispatcher, profile: &Profile) {
    let down: Vec<String> = match d.kernel.as_ref() {
        Ok(k) => profile
            .units
            .iter()
            .filter(|u| matches!(u.activation, profiles::Activation::Prioritized { .. }))
            .filter(|u| k.mirror.link_by_name(&u.name).is_some_and(|l| !l.up))
            .map(|u| u.name.clone())
            .collect(),
        Err(_) => return,
    };
    for name in down {
        if d.is_busy(&name) {
            continue;
        }
        if let Err(f) = crate::dhcp::link_up(d, &name) {
            warn!(iface = %name, "setting the link up to hear its carrier: {}", f.message);
        }
    }
}

/// When a burst of work is through: a prioritized unit's link that an
/// `ifdown` set down is set up again, so that its carrier is heard.
pub fn tick(d: &mut Dispatcher) {
    if d.profiles.switching.is_some_and(|id| !d.is_running(id)) {
        d.profiles.switching = None;
        if let Some(cause) = d.profiles.again.take() {
            return reevaluate(d, &cause, false);
        }
    }
    let Some(profile) = d.profiles.profile.as_ref() else {
        return;
    };
    let down = match d.kernel.as_ref() {
        Ok(k) => profile.units.iter().any(|u| {
            matches!(u.activation, profiles::Activation::Prioritized { .. })
                && k.mirror.link_by_name(&u.name).is_some_and(|l| !l.up)
                && !d.is_busy(&u.name)
        }),
        Err(_) => false,
    };
    if down {
        return reevaluate(d, "a unit's link set up to hear its carrier", false);
    }
    if d.profiles.switching.is_none() {
        if let Some(cause) = failed_unit(d) {
            return reevaluate(d, &cause, false);
        }
    }
    // Conditional units: the facts may have changed with what was just
    // done (an address, a lease, an interface up); looked at after each
    // burst of events, never on a timer.
    let Some(profile) = d.profiles.profile.clone() else {
        return;
    };
    if d.profiles.switching.is_some() {
        return;
    }
    let (current_prio, current_cond) = split(&profile, &d.profiles.active.selected);
    let cond = conditional(d, &profile, &current_prio);
    if cond.0 != current_cond {
        reevaluate(d, "facts changed", false);
    }
}

/// A selected unit that does not work although its link has a carrier:
/// its `ifup` failed, or the DHCP lease it came up with is gone. It is
/// usable again when its carrier changes.
fn failed_unit(d: &mut Dispatcher) -> Option<String> {
    let profile = d.profiles.profile.as_ref()?;
    let mut found = None;
    for name in &d.profiles.active.selected {
        if d.profiles.unusable.contains_key(name) {
            continue;
        }
        let why = if let Some(why) = d.failed.get(name) {
            Some(format!("its ifup failed: {why}"))
        } else {
            let up = d.state.get(name).is_some_and(|r| r.in_progress.is_none());
            let dhcp = profile
                .config
                .stanzas_named(name)
                .any(|s| s.method == "dhcp" && s.family == netconf_interfaces::Family::Inet);
            let lost = d
                .dhcp
                .record(&(name.clone(), false))
                .is_some_and(|r| r.lease.addresses.is_empty() && r.info.is_none());
            (up && dhcp && lost).then(|| "its DHCP lease was lost".to_string())
        };
        if let Some(why) = why {
            found = Some((name.clone(), why));
            break;
        }
    }
    let (name, why) = found?;
    warn!(iface = %name, "unit not usable: {why}");
    d.profiles.unusable.insert(name.clone(), why.clone());
    Some(format!("{name}: {why}"))
}

/// The kernel changed: a unit's link came, went, or its carrier changed.
pub fn kernel_changed(d: &mut Dispatcher, changes: &[Change]) {
    if d.profiles.choosing {
        return;
    }
    let Some(profile) = d.profiles.profile.as_ref() else {
        return;
    };
    let mut cause = None;
    let mut cables = Vec::new();
    for change in changes {
        let (name, text) = match (&change.event, &change.before) {
            (Event::NewLink(link), None) => (link.name.clone(), "appeared"),
            (Event::NewLink(link), Some(before)) => {
                let was = before.up && before.lower_up;
                let is = link.up && link.lower_up;
                // The carrier of a link that stayed up: the far end, not an
                // `ifdown` that set it down and netconfd setting it up again.
                if before.up && link.up && before.lower_up != link.lower_up {
                    cables.push(link.name.clone());
                }
                match (was, is) {
                    (false, true) => (link.name.clone(), "carrier"),
                    (true, false) => (link.name.clone(), "carrier lost"),
                    _ => continue,
                }
            }
            (Event::DelLink(link), _) => (link.name.clone(), "gone"),
            _ => continue,
        };
        if text == "appeared" || text == "gone" {
            cables.push(name.clone());
        }
        let automatic_joins = profile.name == AUTOMATIC && text == "appeared";
        if profile.unit(&name).is_some() || automatic_joins {
            cause = Some(format!("{name}: {text}"));
        }
    }
    // A new cable may mean a network that works.
    for name in cables {
        d.profiles.unusable.remove(&name);
    }
    // The kernel tells when the M and O flags of a link's router
    // advertisements change (`RaFlags`); they are read again also when an
    // advertisement leaves a route or an address: DHCPv6 of the automatic
    // profile's links as they say.
    let ipv6 = changes.iter().any(|c| match &c.event {
        Event::RaFlags(_) => true,
        Event::NewRoute(r) | Event::DelRoute(r) | Event::ReplaceRoute(r) => {
            r.gateway.is_some_and(|g| g.is_ipv6())
                || r.destination.is_some_and(|(a, _)| a.is_ipv6())
        }
        Event::NewAddress(a) | Event::DelAddress(a) => a.addr.is_ipv6(),
        _ => false,
    });
    if d.profiles.active.name == AUTOMATIC && ipv6 && refresh_ra_dhcp6(d) {
        if let Ok(p) = automatic(d) {
            d.profiles.profile = Some(p);
            d.profiles.reapply = true;
            cause.get_or_insert_with(|| "a router advertisement's DHCPv6 flags".to_string());
        }
    }
    if let Some(cause) = cause {
        if d.profiles.active.name == AUTOMATIC {
            // New links join it, gone ones leave it.
            if let Ok(p) = automatic(d) {
                d.profiles.profile = Some(p);
            }
        }
        reevaluate(d, &cause, false);
    }
}

/// The hold-down (or the first look after a start) is over.
pub fn check_due(d: &mut Dispatcher) {
    reevaluate(d, "hold-down over", true);
}

/// Chooses the units anew and switches when the choice changed: at once
/// when what is up lost its link, after the hold-down when a better group
/// came while what is up works.
fn reevaluate(d: &mut Dispatcher, cause: &str, timer: bool) {
    let Some(profile) = d.profiles.profile.clone() else {
        return;
    };
    // One switch at a time: a plan made while the last one's downs and ups
    // run would see half of them.
    if d.profiles.switching.is_some_and(|id| d.is_running(id)) {
        d.profiles.again.get_or_insert_with(|| cause.to_string());
        return;
    }
    d.profiles.switching = None;
    d.profiles.choosing = true;
    ensure_links_up(d, &profile);
    d.profiles.choosing = false;
    let usable = usable(d, &profile);
    let current = d.profiles.active.selected.clone();
    let (current_prio, current_cond) = split(&profile, &current);
    let prio = activation::choose(&profile, &usable, &current_prio);
    let verdict = activation::switch(&profile, &usable, &current_prio, &prio);
    // Conditional units follow their conditions at once, whatever the
    // prioritized ones wait for.
    let kept = if verdict == Switch::Now {
        prio.clone()
    } else {
        kept_choice(&profile, &current_prio, d.profiles.active.group)
    };
    let cond = conditional(d, &profile, &kept.selected);
    let changed_cond = cond.0 != current_cond;
    let choice = with_conditional(prio, &cond.0);
    match verdict {
        Switch::Stay | Switch::HoldDown if changed_cond => {
            let why = cond_cause(&current_cond, &cond);
            switch(
                d,
                &profile,
                with_conditional(kept, &cond.0),
                &format!("{cause}: {why}"),
            );
            if verdict == Switch::HoldDown {
                // The better group is looked at again once this is done.
                d.profiles.again.get_or_insert_with(|| cause.to_string());
            }
        }
        Switch::Stay if d.profiles.reapply => {
            d.profiles.held_since = None;
            switch(d, &profile, with_conditional(kept, &cond.0), cause);
        }
        Switch::Stay => {
            d.profiles.held_since = None;
        }
        Switch::HoldDown => {
            let hold = d.settings.hold_down;
            let first = d.profiles.held_since.is_none();
            let since = *d.profiles.held_since.get_or_insert_with(Instant::now);
            if first {
                d.profiles.held_cause = Some(cause.to_string());
            }
            let waited = since.elapsed();
            if waited >= hold {
                d.profiles.held_since = None;
                let cause = d
                    .profiles
                    .held_cause
                    .take()
                    .unwrap_or_else(|| cause.to_string());
                switch(
                    d,
                    &profile,
                    choice,
                    &format!("{cause}, after the hold-down"),
                );
            } else if timer || first {
                if first {
                    d.tell_monitors(
                        None,
                        None,
                        "profile",
                        format!(
                            "profile {}: priority group {} usable again ({cause}); taking over \
                             after {:.1} s if it stays so",
                            profile.name,
                            choice.group.unwrap_or(0),
                            hold.as_secs_f64()
                        ),
                    );
                }
                let _ = d.jobs_sender().send((
                    0,
                    Job::ProfileCheck {
                        after: hold - waited,
                    },
                ));
            }
        }
        Switch::Now => {
            d.profiles.held_since = None;
            let cause = if changed_cond {
                format!("{cause}; {}", cond_cause(&current_cond, &cond))
            } else {
                cause.to_string()
            };
            switch(d, &profile, choice, &cause);
        }
    }
}

/// The prioritized and the conditional units among `units`.
fn split(profile: &Profile, units: &BTreeSet<String>) -> (BTreeSet<String>, BTreeSet<String>) {
    units.iter().cloned().partition(|u| {
        profile
            .unit(u)
            .is_some_and(|u| matches!(u.activation, profiles::Activation::Prioritized { .. }))
    })
}

/// The choice that keeps the prioritized `units` up as they are.
fn kept_choice(profile: &Profile, units: &BTreeSet<String>, group: Option<u32>) -> Choice {
    let mut kept = activation::choose(profile, units, units);
    kept.selected = units.clone();
    kept.group = group;
    kept
}

fn with_conditional(mut choice: Choice, cond: &BTreeSet<String>) -> Choice {
    choice.selected.extend(cond.iter().cloned());
    choice
}

/// The conditional units whose conditions hold, on the facts as they will
/// be once `prioritized` are the prioritized units up, with the conditions
/// that held for each.
fn conditional(
    d: &mut Dispatcher,
    profile: &Profile,
    prioritized: &BTreeSet<String>,
) -> (BTreeSet<String>, Vec<String>) {
    let has_conditional = profile
        .units
        .iter()
        .any(|u| matches!(u.activation, profiles::Activation::Conditional { .. }));
    if !has_conditional {
        return Default::default();
    }
    let mut facts = crate::facts::gather(d);
    // A gateway-mac condition needs the gateway resolved: asked for here
    // as for locations, and judged again when the answer is in.
    crate::locations::probe_gateways(d, &facts);
    for u in &profile.units {
        if matches!(u.activation, profiles::Activation::Prioritized { .. }) {
            if prioritized.contains(&u.name) {
                facts.active_ncus.insert(u.name.clone());
            } else {
                facts.active_ncus.remove(&u.name);
            }
        }
    }
    let held = activation::conditional(profile, &facts);
    let why = profile
        .units
        .iter()
        .filter(|u| held.contains(&u.name))
        .filter_map(|u| match &u.activation {
            profiles::Activation::Conditional { conditions, .. } => {
                let true_ones: Vec<String> = conditions
                    .iter()
                    .filter(|c| c.holds(&facts))
                    .map(|c| c.to_string())
                    .collect();
                Some(format!("{} ({})", u.name, true_ones.join(", ")))
            }
            _ => None,
        })
        .collect();
    (held, why)
}

/// Whether a conditional unit of the active profile has a condition that
/// `pred` accepts.
pub fn conditions_use(d: &Dispatcher, pred: impl Fn(&netconf_policy::Condition) -> bool) -> bool {
    d.profiles.profile.as_ref().is_some_and(|p| {
        p.units.iter().any(|u| match &u.activation {
            profiles::Activation::Conditional { conditions, .. } => conditions.iter().any(&pred),
            _ => false,
        })
    })
}

/// `conditions: vpn0 (ncu eth0 is active) holds, tun1 no longer`.
fn cond_cause(before: &BTreeSet<String>, now: &(BTreeSet<String>, Vec<String>)) -> String {
    let mut parts: Vec<String> = now.1.iter().map(|w| format!("{w} holds")).collect();
    parts.extend(
        before
            .difference(&now.0)
            .map(|u| format!("{u} no longer holds")),
    );
    format!("conditions: {}", parts.join(", "))
}

fn switch(d: &mut Dispatcher, profile: &Profile, choice: Choice, cause: &str) {
    d.profiles.reapply = false;
    let config = profile.effective(&choice.selected, &choice.metrics);
    let units = describe(&choice);
    let units = if units.is_empty() {
        ": no usable link".to_string()
    } else {
        units
    };
    info!(profile = %profile.name, cause, "switch{units}");
    d.tell_monitors(
        None,
        None,
        "profile",
        format!("profile {}{units} (cause: {cause})", profile.name),
    );
    d.profiles.active.selected = choice.selected;
    d.profiles.active.group = choice.group;
    d.profiles.active.cause = Some(cause.to_string());
    save(d);
    d.profiles.switching = crate::reload::apply(
        d,
        (0, ReplySender::nowhere(), 0),
        ReloadArgs::default(),
        config,
    );
}

/// The configuration of the active profile for handlers that re-read the
/// file (hotplug): `None` under `legacy`.
pub fn current_config(d: &mut Dispatcher) -> Option<InterfacesFile> {
    for_request(d).and_then(Result::ok)
}

/// The active profile for `status`.
pub fn status(d: &Dispatcher) -> Value {
    let a = &d.profiles.active;
    let mut v = json!({
        "name": a.name,
        "why": a.why,
        "selected": a.selected,
    });
    if let Some(g) = a.group {
        v["group"] = json!(g);
    }
    if let Some(c) = &a.cause {
        v["cause"] = json!(c);
    }
    if d.profiles.held_since.is_some() {
        v["hold_down"] = json!(true);
    }
    if !d.profiles.broken.is_empty() {
        v["errors"] = json!(d.profiles.broken);
    }
    if !d.profiles.unusable.is_empty() {
        v["unusable"] = json!(d.profiles.unusable);
    }
    v
}

/// `profile list`.
pub fn list(d: &Dispatcher) -> Value {
    let names = profiles::names(&d.settings.config_dir);
    let total = names.len();
    let listed: Vec<Value> = names
        .into_iter()
        .take(MAX_LISTED)
        .map(|name| {
            let builtin = name == LEGACY || name == AUTOMATIC;
            let valid = match name.as_str() {
                LEGACY | AUTOMATIC => true,
                _ => read(d, &name).is_ok(),
            };
            json!({
                "name": name,
                "active": name == d.profiles.active.name,
                "builtin": builtin,
                "valid": valid,
            })
        })
        .collect();
    let mut v = json!({ "active": status(d), "profiles": listed });
    if total > MAX_LISTED {
        v["truncated"] = json!(total - MAX_LISTED);
    }
    v
}

/// `profile show NAME`.
pub fn show(d: &Dispatcher, name: &str) -> Result<Value, ErrorReply> {
    let active = name == d.profiles.active.name;
    if name == LEGACY {
        // Every stanza of the interfaces file, as it is: manual (`auto`
        // lines bring some up), activation options meaning nothing there.
        let config =
            crate::dispatcher::read_config(&d.settings.interfaces_file, d.settings.dialect);
        let mut seen = BTreeSet::new();
        let units: Vec<profiles::Unit> = config
            .stanzas
            .iter()
            .filter(|s| s.location.is_some() && seen.insert(s.name.clone()))
            .map(|s| profiles::Unit {
                name: s.name.clone(),
                activation: profiles::Activation::Manual,
                place: s.location.map(|l| config.describe(l)).unwrap_or_default(),
            })
            .collect();
        return Ok(json!({
            "name": LEGACY,
            "builtin": true,
            "active": active,
            "file": d.settings.interfaces_file,
            "units": units,
        }));
    }
    match read(d, name) {
        Ok(p) => Ok(json!({
            "name": p.name,
            "builtin": name == AUTOMATIC,
            "active": active,
            "file": p.path,
            "units": p.units,
            "groups": p.groups,
        })),
        Err(invalid) => Err(ErrorReply {
            code: ErrorCode::ConfigInvalid,
            message: format!("profile {name} is refused"),
            causes: invalid.errors,
        }),
    }
}
