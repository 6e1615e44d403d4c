//! External network modifiers (netconf-policy's `enms`) run: started when
//! their conditions come to hold (or when enabled by hand), stopped when
//! they cease to (or when disabled), through the runner as hooks are run
//! (a process group, a timeout, the output to the log and `monitor`).
//!
//! What the kernel shows while a modifier's start command runs — links it
//! creates, addresses and routes it adds — is the modifier's: `status` and
//! `monitor` give it the origin `enm:NAME`, and netconf never takes it
//! back (a modifier's stop command does). Addresses and routes later put
//! on a link the modifier created are its too. What each modifier holds,
//! and which run, is kept in `RUN_DIR/enms.json` across restarts.

use crate::dispatcher::{Dispatcher, PolicyRun};
use crate::kernel::Change;
use netconf_kernel::netlink::{Address, Event, Route};
use netconf_policy::enms::{read_enms, Enm, Method};
use netconf_policy::{evaluate, Facts};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tracing::{info, warn};

/// Where a modifier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnmState {
    Offline,
    Starting,
    Online,
    Stopping,
    /// Its start or stop failed; tried again when what it wants changes.
    Maintenance,
}

/// What a modifier put into the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Links it created, by index.
    pub links: Vec<u32>,
    pub addresses: Vec<(u32, IpAddr, u8)>,
    pub routes: Vec<(Option<u32>, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    states: BTreeMap<String, EnmState>,
    /// `enm enable` (true) or `enm disable` (false), over the conditions.
    by_hand: BTreeMap<String, bool>,
    claims: BTreeMap<String, Claims>,
    /// Why each is in its state.
    why: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Enms {
    config_dir: PathBuf,
    run_dir: PathBuf,
    systemctl: PathBuf,
    all: Vec<Enm>,
    refused: Vec<String>,
    saved: Saved,
}

impl Enms {
    pub fn new(config_dir: PathBuf, run_dir: PathBuf, systemctl: PathBuf) -> Enms {
        let mut saved: Saved = std::fs::read(run_dir.join("enms.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // A start or stop cut short by a restart: what it reached is unknown,
        // so it is done again.
        for state in saved.states.values_mut() {
            match state {
                EnmState::Starting => *state = EnmState::Maintenance,
                EnmState::Stopping => *state = EnmState::Online,
                _ => {}
            }
        }
        let mut e = Enms {
            config_dir,
            run_dir,
            systemctl,
            all: Vec::new(),
            refused: Vec::new(),
            saved,
        };
        e.read();
        e
    }

    /// Modifiers are configured, or some still run.
    pub fn any(&self) -> bool {
        !self.all.is_empty() || !self.saved.states.is_empty()
    }

    fn read(&mut self) {
        match read_enms(&self.config_dir) {
            Ok(all) => {
                self.all = all;
                self.refused.clear();
            }
            Err(errors) => {
                self.refused = errors.iter().map(|e| e.to_string()).collect();
                for e in &self.refused {
                    warn!("modifiers refused: {e}");
                }
            }
        }
    }

    fn state(&self, name: &str) -> EnmState {
        self.saved
            .states
            .get(name)
            .copied()
            .unwrap_or(EnmState::Offline)
    }

    fn save(&self) {
        let path = self.run_dir.join("enms.json");
        if self.saved == Saved::default() {
            let _ = std::fs::remove_file(&path);
            return;
        }
        let text = serde_json::to_vec_pretty(&self.saved).unwrap_or_default();
        if let Err(e) = crate::locations::write_atomic(&path, &text) {
            warn!("saving the modifiers' state: {e}");
        }
    }

    /// Whether the conditions (or the admin) want it running.
    fn wants(&self, enm: &Enm, facts: &Facts) -> bool {
        if let Some(&by_hand) = self.saved.by_hand.get(&enm.name) {
            return by_hand;
        }
        enm.activation
            .combine()
            .is_some_and(|c| evaluate(&enm.conditions, c, facts).is_some())
    }
}

/// `reload`: the files again.
pub fn reload(d: &mut Dispatcher) -> Vec<String> {
    d.enms.read();
    d.enms.refused.clone()
}

/// Starts what should run and stops what should not, on the facts the
/// locations last gathered.
pub fn check(d: &mut Dispatcher, facts: &Facts) {
    let mut todo = Vec::new();
    for enm in &d.enms.all {
        let want = d.enms.wants(enm, facts);
        match (want, d.enms.state(&enm.name)) {
            (true, EnmState::Offline) => todo.push((enm.clone(), true)),
            (false, EnmState::Online | EnmState::Maintenance) => todo.push((enm.clone(), false)),
            _ => {}
        }
    }
    for (enm, start) in todo {
        let why = if d.enms.saved.by_hand.contains_key(&enm.name) {
            if start {
                "enabled by hand"
            } else {
                "disabled by hand"
            }
            .to_string()
        } else if start {
            "its conditions hold".to_string()
        } else {
            "its conditions no longer hold".to_string()
        };
        run(d, &enm, start, why);
    }
    // A modifier whose file is gone is stopped.
    let gone: Vec<String> = d
        .enms
        .saved
        .states
        .iter()
        .filter(|(n, s)| **s == EnmState::Online && !d.enms.all.iter().any(|e| &e.name == *n))
        .map(|(n, _)| n.clone())
        .collect();
    for name in gone {
        info!(enm = %name, "its file is gone: left running, no longer watched");
        d.enms.saved.states.remove(&name);
        d.enms.saved.claims.remove(&name);
        d.enms.save();
    }
}

fn run(d: &mut Dispatcher, enm: &Enm, start: bool, why: String) {
    let command = match (&enm.method, start) {
        (Method::Commands { start, .. }, true) => Some(start.clone()),
        (Method::Commands { stop, .. }, false) => stop.clone(),
        (Method::Unit(unit), _) => Some(format!(
            "{} {} {}",
            shell_quote(&d.enms.systemctl.to_string_lossy()),
            if start { "start" } else { "stop" },
            shell_quote(unit)
        )),
    };
    let verb = if start { "start" } else { "stop" };
    info!(enm = %enm.name, "{verb}: {why}");
    d.tell_monitors(
        None,
        None,
        "enm",
        format!("enm {}: {verb} ({why})", enm.name),
    );
    d.enms.saved.why.insert(enm.name.clone(), why);
    let Some(command) = command else {
        // No stop command: the modifier stops by itself.
        finish(d, &enm.name, false, Ok(()));
        return;
    };
    if start {
        d.enms.saved.claims.remove(&enm.name);
    }
    d.enms.saved.states.insert(
        enm.name.clone(),
        if start {
            EnmState::Starting
        } else {
            EnmState::Stopping
        },
    );
    d.enms.save();
    crate::locations::run_command(
        d,
        PolicyRun::Enm {
            name: enm.name.clone(),
            start,
        },
        &format!("enm {verb} {}", enm.name),
        command,
        Duration::from_secs(enm.timeout),
    );
}

/// A start or stop command finished.
pub fn finish(d: &mut Dispatcher, name: &str, start: bool, result: Result<(), String>) {
    // What the kernel announced before the command's end is its.
    d.sync_kernel();
    let state = match (&result, start) {
        (Ok(()), true) => EnmState::Online,
        (Ok(()), false) => EnmState::Offline,
        (Err(_), _) => EnmState::Maintenance,
    };
    let verb = if start { "start" } else { "stop" };
    let message = match &result {
        Ok(()) => format!("enm {name}: {}", if start { "online" } else { "offline" }),
        Err(e) => format!("enm {name}: {verb} failed: {e}"),
    };
    match &result {
        Ok(()) => info!(enm = name, "{message}"),
        Err(_) => warn!(enm = name, "{message}"),
    }
    d.tell_monitors(None, None, "enm", message);
    if let Err(e) = result {
        d.enms.saved.why.insert(name.to_string(), e);
    }
    if state == EnmState::Offline {
        d.enms.saved.states.remove(name);
        d.enms.saved.claims.remove(name);
    } else {
        d.enms.saved.states.insert(name.to_string(), state);
    }
    d.enms.save();
}

/// Kernel changes: what appears while a modifier starts (or on a link it
/// made) is recorded as its.
pub fn kernel_changed(d: &mut Dispatcher, changes: &[Change]) {
    let starting: Vec<String> = d
        .enms
        .saved
        .states
        .iter()
        .filter(|(_, s)| **s == EnmState::Starting)
        .map(|(n, _)| n.clone())
        .collect();
    let mut changed = false;
    for change in changes {
        let owner = starting.first().cloned().or_else(|| {
            let index = match &change.event {
                Event::NewAddress(a) => a.index,
                Event::NewRoute(r) => r.oif?,
                _ => return None,
            };
            d.enms
                .saved
                .claims
                .iter()
                .find(|(_, c)| c.links.contains(&index))
                .map(|(n, _)| n.clone())
        });
        let Some(owner) = owner else { continue };
        let claims = d.enms.saved.claims.entry(owner).or_default();
        match &change.event {
            Event::NewLink(l) if change.before.is_none() => claims.links.push(l.index),
            Event::NewAddress(a) if !crate::status::kernel_address(a) => {
                claims.addresses.push((a.index, a.addr, a.prefix_len))
            }
            Event::NewRoute(r) if !crate::status::kernel_route(r) => claims
                .routes
                .push((r.oif, crate::status::describe_route(r))),
            _ => continue,
        }
        changed = true;
    }
    if changed {
        d.enms.save();
    }
}

/// The modifier an address belongs to.
pub fn address_owner<'a>(d: &'a Dispatcher, a: &Address) -> Option<&'a str> {
    d.enms.saved.claims.iter().find_map(|(n, c)| {
        (c.links.contains(&a.index)
            || c.addresses
                .iter()
                .any(|&(i, addr, len)| i == a.index && addr == a.addr && len == a.prefix_len))
        .then_some(n.as_str())
    })
}

/// The modifier a route belongs to.
pub fn route_owner<'a>(d: &'a Dispatcher, r: &Route) -> Option<&'a str> {
    let text = crate::status::describe_route(r);
    d.enms.saved.claims.iter().find_map(|(n, c)| {
        (r.oif.is_some_and(|o| c.links.contains(&o))
            || c.routes.iter().any(|(oif, t)| *oif == r.oif && *t == text))
        .then_some(n.as_str())
    })
}

/// The modifier a kernel change is of, for `monitor`.
pub fn change_owner(d: &Dispatcher, change: &Change) -> Option<String> {
    match &change.event {
        Event::NewAddress(a) | Event::DelAddress(a) => address_owner(d, a).map(str::to_string),
        Event::NewRoute(r) | Event::DelRoute(r) | Event::ReplaceRoute(r) => {
            route_owner(d, r).map(str::to_string)
        }
        Event::NewLink(l) | Event::DelLink(l) => d
            .enms
            .saved
            .claims
            .iter()
            .find(|(_, c)| c.links.contains(&l.index))
            .map(|(n, _)| n.clone()),
        _ => None,
    }
}

/// `enm-list`.
pub fn list(d: &mut Dispatcher) -> Value {
    crate::locations::check(d);
    let enms: Vec<Value> = d
        .enms
        .all
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "activation": e.activation,
                "conditions": e.conditions,
                "method": e.method,
                "state": d.enms.state(&e.name),
                "by_hand": d.enms.saved.by_hand.get(&e.name),
                "why": d.enms.saved.why.get(&e.name),
                "claims": d.enms.saved.claims.get(&e.name),
                "wanted": d.enms.wants(e, &d.locations.facts),
            })
        })
        .collect();
    json!({ "enms": enms, "refused": d.enms.refused })
}

/// `enm-enable` / `enm-disable`.
pub fn set(d: &mut Dispatcher, name: &str, enable: bool) -> Result<Value, String> {
    if !d.enms.all.iter().any(|e| e.name == name) {
        let names: Vec<&str> = d.enms.all.iter().map(|e| e.name.as_str()).collect();
        return Err(format!(
            "no modifier \"{name}\" (known: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    d.enms.saved.by_hand.insert(name.to_string(), enable);
    // Enabled by hand after a failure: tried again.
    if enable && d.enms.state(name) == EnmState::Maintenance {
        d.enms.saved.states.remove(name);
    }
    d.enms.save();
    let facts = d.locations.facts.clone();
    check(d, &facts);
    Ok(json!({ "name": name, "state": d.enms.state(name) }))
}

/// What `status` says of modifiers.
pub fn status(d: &Dispatcher) -> Value {
    if d.enms.all.is_empty() && d.enms.saved.states.is_empty() {
        return Value::Null;
    }
    let states: BTreeMap<&str, EnmState> = d
        .enms
        .all
        .iter()
        .map(|e| (e.name.as_str(), d.enms.state(&e.name)))
        .collect();
    json!(states)
}

/// `text` quoted for `/bin/sh`.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}
