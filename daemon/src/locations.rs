//! Locations (netconf-policy's `locations`) carried out: which one is
//! active, chosen again whenever something its conditions read may have
//! changed (a kernel change, a lease, an `ifup`/`ifdown`, a reload, a
//! request) — never on a timer — and what entering and leaving one does:
//! resolv.conf through the DNS resolver the leases already use (so the
//! location's lines and the leases' merge as `dns from` says), the hosts
//! file and nsswitch.conf replaced atomically, systemd units started and
//! stopped through the runner (`--systemctl`, a command tests replace).
//!
//! Locations are in use while `CONFIG_DIR/locations/` exists. The first
//! time they are, the hosts file and nsswitch.conf are copied to
//! `STATE_DIR/locations/legacy/` (resolv.conf's original the resolver keeps
//! itself): the built-in `legacy` location, and what is put back when the
//! directory goes. What is active is kept in `RUN_DIR/locations.json`, so a
//! restarted daemon that finds the same location active writes nothing.

use crate::dispatcher::{Dispatcher, Kind};
use crate::queue::Job;
use netconf_dns::{DnsConfig, LocationDns, Resolver};
use netconf_policy::locations::{
    self, choose, Choice, DnsFrom, Location, Reason, AUTOMATIC, LEGACY, NO_NET,
};
use netconf_policy::Facts;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::{info, info_span, warn};

/// How long a `systemctl start|stop` may take.
const UNIT_TIMEOUT: Duration = Duration::from_secs(90);

/// Fixed by netconfd's command line.
#[derive(Debug, Clone)]
pub struct LocationSettings {
    pub config_dir: PathBuf,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    pub hosts_file: PathBuf,
    pub nsswitch_file: PathBuf,
    /// Run as `SYSTEMCTL start|stop UNIT`.
    pub systemctl: PathBuf,
}

/// What survives a restart (`RUN_DIR/locations.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    active: Option<Choice>,
    /// Enabled by hand (`netconfctl location enable`).
    manual: Option<String>,
    /// The event that made the active location active.
    cause: Option<String>,
    since: u64,
}

/// The locations' table (the dispatcher's `locations`).
#[derive(Debug)]
pub struct Locations {
    pub settings: LocationSettings,
    /// `CONFIG_DIR/locations/` exists.
    in_use: bool,
    all: Vec<Location>,
    /// Why the files were last refused (the running set stays).
    refused: Vec<String>,
    saved: Saved,
    /// Something the conditions read may have changed since the last look.
    dirty: bool,
    /// What it was, for `monitor`.
    cause: Option<String>,
    /// A gateway's MAC is being asked for.
    probing: bool,
    /// A reload: the active location's files are written again where
    /// they differ.
    reapply: bool,
    pub facts: Facts,
}

impl Locations {
    pub fn new(settings: LocationSettings) -> Locations {
        let saved = std::fs::read(settings.run_dir.join("locations.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut l = Locations {
            settings,
            in_use: false,
            all: Vec::new(),
            refused: Vec::new(),
            saved,
            dirty: true,
            cause: Some("netconfd started".into()),
            probing: false,
            reapply: false,
            facts: Facts::default(),
        };
        l.read();
        l
    }

    /// Reads the files again; a refused set leaves the running one.
    fn read(&mut self) -> bool {
        let dir = self.settings.config_dir.join("locations");
        self.in_use = dir.is_dir();
        match locations::read_locations(&self.settings.config_dir) {
            Ok(all) => {
                self.all = all;
                self.refused.clear();
                true
            }
            Err(errors) => {
                self.refused = errors.iter().map(|e| e.to_string()).collect();
                for e in &self.refused {
                    warn!("locations refused: {e}");
                }
                if self.all.is_empty() {
                    self.all = [AUTOMATIC, NO_NET, LEGACY]
                        .iter()
                        .map(|n| Location::builtin(n))
                        .collect();
                }
                false
            }
        }
    }

    pub fn active(&self) -> Option<&Choice> {
        self.saved.active.as_ref()
    }

    fn save(&self) {
        let path = self.settings.run_dir.join("locations.json");
        if self.saved == Saved::default() {
            let _ = std::fs::remove_file(&path);
            return;
        }
        let text = serde_json::to_vec_pretty(&self.saved).unwrap_or_default();
        if let Err(e) = write_atomic(&path, &text) {
            warn!("saving the active location: {e}");
        }
    }
}

/// Something the conditions read may have changed: look again once the
/// burst of work is through.
pub fn touch(d: &mut Dispatcher, cause: impl FnOnce() -> String) {
    if !d.locations.in_use && d.locations.saved.active.is_none() && !d.enms.any() {
        return;
    }
    // The latest event is the one that tipped the choice, if any did.
    d.locations.cause = Some(cause());
    d.locations.dirty = true;
}

/// As [`touch`], keeping the cause already named: for what follows from
/// another event (the state file written after an `ifup`).
pub fn touch_quietly(d: &mut Dispatcher, cause: impl FnOnce() -> String) {
    if d.locations.cause.is_some() {
        d.locations.dirty = true;
        return;
    }
    touch(d, cause);
}

/// `reload`: the files again.
pub fn reload(d: &mut Dispatcher) -> Vec<String> {
    d.locations.read();
    // The active location's files may have changed (its own, or the ones
    // it names): written again where they differ.
    d.locations.reapply = d.locations.saved.active.is_some();
    d.locations.dirty = true;
    d.locations.cause.get_or_insert_with(|| "reload".into());
    d.locations.refused.clone()
}

/// Chooses again if something changed, and switches when the choice is
/// another location.
pub fn check(d: &mut Dispatcher) {
    if !d.locations.dirty {
        return;
    }
    d.locations.dirty = false;
    let cause = d
        .locations
        .cause
        .take()
        .unwrap_or_else(|| "a change".into());
    if !d.locations.in_use {
        if d.locations.saved.active.is_some() {
            disable(d, &cause);
        }
        if !d.enms.any() {
            return;
        }
    }
    let facts = crate::facts::gather(d);
    let global = d
        .kernel
        .as_ref()
        .is_ok_and(|k| crate::facts::has_global_address(&k.mirror));
    probe_gateways(d, &facts);
    let choice = choose(
        &d.locations.all,
        &facts,
        global,
        d.locations.saved.manual.as_deref(),
    );
    crate::enms::check(d, &facts);
    d.locations.facts = facts;
    if !d.locations.in_use {
        return;
    }
    let before = d.locations.saved.active.clone();
    if d.locations.probing && before.as_ref().is_some_and(|b| b.name != choice.name) {
        // A gateway's MAC is being asked for (the carrier came back, a new
        // gateway): decide once it is known, not on half the facts.
        d.locations.cause = Some(cause);
        return;
    }
    if before.as_ref().map(|c| &c.name) == Some(&choice.name) {
        if std::mem::take(&mut d.locations.reapply) {
            if let Some(loc) = d
                .locations
                .all
                .iter()
                .find(|l| l.name == choice.name)
                .cloned()
            {
                if let Err(e) = apply_files(&d.locations.settings, &d.dhcp_settings, &loc) {
                    warn!(location = %loc.name, "{e}");
                }
            }
        }
        // Same location: only what is said about it may change.
        if before.as_ref() != Some(&choice) {
            d.locations.saved.active = Some(choice);
            d.locations.save();
        }
        return;
    }
    switch(d, before, choice, cause);
}

fn switch(d: &mut Dispatcher, before: Option<Choice>, choice: Choice, cause: String) {
    crate::faults::point("start", "location-switch");
    snapshot_legacy(&d.locations.settings);
    let old = before
        .as_ref()
        .and_then(|c| d.locations.all.iter().find(|l| l.name == c.name).cloned());
    let Some(new) = d
        .locations
        .all
        .iter()
        .find(|l| l.name == choice.name)
        .cloned()
    else {
        return;
    };
    let from = before.as_ref().map_or("none", |c| c.name.as_str());
    let why = describe(&choice);
    info!(from, to = %new.name, %cause, "location: {why}");
    d.tell_monitors(
        None,
        None,
        "location",
        format!("location {from} -> {}: {why} (after {cause})", new.name),
    );
    if !choice.ties.is_empty() {
        let tied = format!(
            "locations {} hold as specifically as {}: {} taken (first by name)",
            choice.ties.join(", "),
            new.name,
            new.name
        );
        warn!("{tied}");
        d.tell_monitors(None, None, "warning", tied);
    }
    let mut units = Vec::new();
    if let Some(old) = &old {
        units.extend(leaving(old));
    }
    if let Err(e) = apply_files(&d.locations.settings, &d.dhcp_settings, &new) {
        warn!(location = %new.name, "{e}");
        d.tell_monitors(None, None, "warning", format!("location {}: {e}", new.name));
    }
    units.extend(new.stop_units.iter().map(|u| ("stop", u.clone())));
    units.extend(new.start_units.iter().map(|u| ("start", u.clone())));
    run_units(d, units);
    // Files written, units asked for, not yet recorded: a daemon killed
    // here chooses again and finds the files as they should be.
    crate::faults::point("done", "location-switch");
    d.locations.saved.active = Some(choice);
    d.locations.saved.cause = Some(cause);
    d.locations.saved.since = now();
    d.locations.save();
}

/// Locations are no longer in use: the active one is left, the legacy
/// files put back, and the snapshot forgotten.
fn disable(d: &mut Dispatcher, cause: &str) {
    let old = d
        .locations
        .saved
        .active
        .as_ref()
        .and_then(|c| d.locations.all.iter().find(|l| l.name == c.name).cloned());
    if let Some(old) = &old {
        run_units(d, leaving(old));
    }
    let legacy = Location::builtin(LEGACY);
    if let Err(e) = apply_files(&d.locations.settings, &d.dhcp_settings, &legacy) {
        warn!("putting the legacy files back: {e}");
    }
    let _ = std::fs::remove_dir_all(legacy_dir(&d.locations.settings));
    let from = d
        .locations
        .saved
        .active
        .as_ref()
        .map_or("none".to_string(), |c| c.name.clone());
    info!(
        from,
        "locations are no longer in use: the legacy files are back"
    );
    d.tell_monitors(
        None,
        None,
        "location",
        format!("location {from} -> none: locations are no longer in use, the files are as they were (after {cause})"),
    );
    d.locations.saved = Saved::default();
    d.locations.save();
}

fn describe(choice: &Choice) -> String {
    match choice.reason {
        Reason::Conditions => format!("{} ({})", choice.reason, choice.held.join("; ")),
        _ => choice.reason.to_string(),
    }
}

fn legacy_dir(s: &LocationSettings) -> PathBuf {
    s.state_dir.join("locations").join("legacy")
}

/// The first time locations are in use: the files as they are now, for
/// `legacy` and for when locations are no longer used.
fn snapshot_legacy(s: &LocationSettings) {
    let dir = legacy_dir(s);
    if dir.join("taken").exists() {
        return;
    }
    let taken = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        for (name, path) in [
            ("hosts", &s.hosts_file),
            ("nsswitch.conf", &s.nsswitch_file),
        ] {
            match std::fs::read(path) {
                Ok(bytes) => write_atomic(&dir.join(name), &bytes)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        write_atomic(&dir.join("taken"), now().to_string().as_bytes())
    })();
    match taken {
        Ok(()) => {
            info!(dir = %dir.display(), "legacy location: the hosts file and nsswitch.conf saved")
        }
        Err(e) => warn!(dir = %dir.display(), "saving the legacy location: {e}"),
    }
}

/// The resolver the leases write through, so that their DNS and the
/// location's merge in one file.
fn resolver(dhcp: &crate::dhcp::DhcpSettings) -> Resolver {
    Resolver::new(dhcp.resolv_conf.clone(), dhcp.run_dir.join("resolv"))
}

/// What the location says of resolv.conf; `None`: the leases' DNS as
/// without locations (`automatic` as built in, `legacy`).
fn location_dns(loc: &Location) -> Option<LocationDns> {
    let own = DnsConfig {
        nameservers: if loc.dns_from == DnsFrom::Dhcp {
            Vec::new()
        } else {
            loc.nameservers.clone()
        },
        domain: loc.domain.clone(),
        search: loc.search.clone(),
    };
    if loc.name == LEGACY || (loc.dns_from == DnsFrom::Dhcp && own.is_empty()) {
        return None;
    }
    Some(LocationDns {
        name: loc.name.clone(),
        own,
        from_leases: loc.dns_from != DnsFrom::Static,
    })
}

/// resolv.conf, the hosts file and nsswitch.conf as the location says;
/// what it does not name is the legacy snapshot's. Files already as they
/// should be are not written.
fn apply_files(
    s: &LocationSettings,
    dhcp: &crate::dhcp::DhcpSettings,
    loc: &Location,
) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = resolver(dhcp).set_location(location_dns(loc).as_ref()) {
        errors.push(format!("resolv.conf: {e}"));
    }
    let legacy = legacy_dir(s);
    for (own, target, saved) in [
        (&loc.hosts_file, &s.hosts_file, legacy.join("hosts")),
        (
            &loc.nsswitch_file,
            &s.nsswitch_file,
            legacy.join("nsswitch.conf"),
        ),
    ] {
        let source = own.clone().unwrap_or(saved);
        let content = match std::fs::read(&source) {
            Ok(c) => c,
            // No snapshot of a file that did not exist: nothing to restore.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && own.is_none() => continue,
            Err(e) => {
                errors.push(format!("{}: {e}", source.display()));
                continue;
            }
        };
        if std::fs::read(target).ok().as_deref() == Some(&content[..]) {
            continue;
        }
        if let Err(e) = write_atomic(target, &content) {
            errors.push(format!("{}: {e}", target.display()));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// What leaving a location does to units: those it started stop, those it
/// stopped start again.
fn leaving(loc: &Location) -> Vec<(&'static str, String)> {
    let mut units: Vec<(&'static str, String)> = loc
        .start_units
        .iter()
        .map(|u| ("stop", u.clone()))
        .collect();
    units.extend(loc.stop_units.iter().map(|u| ("start", u.clone())));
    units
}

/// `SYSTEMCTL VERB UNIT` of each, in order (the same twice once), in one
/// job through the runner, as hooks run: a process group each, a timeout,
/// the output to the log and `monitor`; one failing does not stop the rest.
fn run_units(d: &mut Dispatcher, units: Vec<(&'static str, String)>) {
    let mut steps: Vec<String> = Vec::new();
    let program = crate::enms::shell_quote(&d.locations.settings.systemctl.to_string_lossy());
    for (verb, unit) in units {
        let command = format!("{program} {verb} {}", crate::enms::shell_quote(&unit));
        if !steps.contains(&command) {
            steps.push(command);
        }
    }
    if steps.is_empty() {
        return;
    }
    run_commands(
        d,
        crate::dispatcher::PolicyRun::Unit,
        "location units",
        steps,
        UNIT_TIMEOUT,
        true,
    );
}

/// Runs `command` (`/bin/sh -c`) as a job of its own event.
pub fn run_command(
    d: &mut Dispatcher,
    run: crate::dispatcher::PolicyRun,
    what: &str,
    command: String,
    timeout: Duration,
) -> crate::queue::EventId {
    run_commands(d, run, what, vec![command], timeout, false)
}

fn run_commands(
    d: &mut Dispatcher,
    run: crate::dispatcher::PolicyRun,
    what: &str,
    commands: Vec<String>,
    timeout: Duration,
    ignore_errors: bool,
) -> crate::queue::EventId {
    let root = d.add_event(
        None,
        Kind::Policy { run },
        info_span!(parent: None, "policy", what = what.to_string()),
    );
    let job = Job::Hooks {
        steps: commands
            .into_iter()
            .map(netconf_hooks::Step::Command)
            .collect(),
        env: vec![(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        )],
        timeout,
        ignore_errors,
        no_act: false,
        phase: None,
    };
    d.spawn(root, Kind::Job(Some(Box::new(job))), &[]);
    root
}

/// A gateway the conditions (of a location, or of the active profile's
/// conditional units) want the MAC of and the neighbour table does not
/// know is asked for once; when the table has it (or after a second) the
/// conditions are looked at again.
pub fn probe_gateways(d: &mut Dispatcher, facts: &Facts) {
    if d.locations.probing {
        return;
    }
    let by_mac = |c: &netconf_policy::Condition| c.subject == netconf_policy::Subject::GatewayMac;
    let wanted = d
        .locations
        .all
        .iter()
        .any(|l| l.conditions.iter().any(by_mac))
        || crate::profiles::conditions_use(d, by_mac);
    if !wanted {
        return;
    }
    let missing = crate::facts::unresolved_gateways(d, facts);
    if missing.is_empty() {
        return;
    }
    d.locations.probing = true;
    let queue = d.queue();
    let spawned = std::thread::Builder::new()
        .name("gateway-mac".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for gw in &missing {
                crate::facts::provoke_resolution(*gw);
            }
            let mut nl = netconf_kernel::netlink::Netlink::open().ok();
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(50));
                let known = nl.as_mut().is_some_and(|nl| {
                    let mut all = Vec::new();
                    for f in [
                        netconf_kernel::netlink::Family::V4,
                        netconf_kernel::netlink::Family::V6,
                    ] {
                        all.extend(nl.neighbours(f).unwrap_or_default());
                    }
                    missing
                        .iter()
                        .all(|gw| all.iter().any(|n| n.addr == *gw && n.lladdr.is_some()))
                });
                if known {
                    break;
                }
            }
            let _ = queue.send(crate::queue::Message::FactsChanged {
                cause: "a gateway's MAC is known".into(),
            });
        });
    if spawned.is_err() {
        d.locations.probing = false;
    }
}

/// The probe is back.
pub fn facts_changed(d: &mut Dispatcher, cause: String) {
    d.locations.probing = false;
    // The event that made the gateway's MAC worth asking for is the cause.
    d.locations.cause.get_or_insert(cause);
    d.locations.dirty = true;
}

/// `location-list`.
pub fn list(d: &mut Dispatcher) -> Value {
    check(d);
    let active = d.locations.saved.active.clone();
    let locations: Vec<Value> = d
        .locations
        .all
        .iter()
        .map(|l| {
            let is_active = active.as_ref().is_some_and(|a| a.name == l.name);
            json!({
                "name": l.name,
                "activation": l.activation,
                "builtin": l.is_builtin(),
                "active": is_active,
                "enabled": d.locations.saved.manual.as_deref() == Some(l.name.as_str()),
                "conditions": l.conditions.len(),
                "held": locations::held(l, &d.locations.facts),
            })
        })
        .collect();
    json!({
        "in_use": d.locations.in_use,
        "active": active,
        "cause": d.locations.saved.cause,
        "since": d.locations.saved.since,
        "manual": d.locations.saved.manual,
        "refused": d.locations.refused,
        "locations": locations,
    })
}

/// `location-show NAME`.
pub fn show(d: &mut Dispatcher, name: &str) -> Result<Value, String> {
    check(d);
    let loc = d
        .locations
        .all
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| unknown(d, name))?;
    let conditions: Vec<Value> = loc
        .conditions
        .iter()
        .map(|c| json!({"condition": c.to_string(), "holds": c.holds(&d.locations.facts), "rating": c.rating()}))
        .collect();
    Ok(json!({
        "location": loc,
        "conditions": conditions,
        "active": d.locations.saved.active.as_ref().is_some_and(|a| a.name == name),
    }))
}

fn unknown(d: &Dispatcher, name: &str) -> String {
    let names: Vec<&str> = d.locations.all.iter().map(|l| l.name.as_str()).collect();
    format!("no location \"{name}\" (known: {})", names.join(", "))
}

/// `location-enable NAME`.
pub fn enable(d: &mut Dispatcher, name: &str) -> Result<Value, String> {
    if !d.locations.in_use {
        return Err(format!(
            "locations are not in use: create {} first",
            d.locations.settings.config_dir.join("locations").display()
        ));
    }
    if !d.locations.all.iter().any(|l| l.name == name) {
        return Err(unknown(d, name));
    }
    d.locations.saved.manual = (name != AUTOMATIC).then(|| name.to_string());
    d.locations.save();
    d.locations.dirty = true;
    d.locations.cause = Some(format!("location enable {name}"));
    check(d);
    Ok(json!({ "active": d.locations.saved.active }))
}

/// What `status` says of locations.
pub fn status(d: &Dispatcher) -> Value {
    if !d.locations.in_use && d.locations.saved.active.is_none() {
        return Value::Null;
    }
    json!({
        "active": d.locations.saved.active,
        "cause": d.locations.saved.cause,
        "since": d.locations.saved.since,
        "refused": d.locations.refused,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Replaces `path` so that readers see the old or the new file, never
/// half of one; mode and owner of the file replaced are kept.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.netconf-new.{}", std::process::id()));
    let like = std::fs::metadata(path).ok();
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        if let Some(m) = &like {
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
            let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
        }
        f.write_all(content)?;
        f.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
