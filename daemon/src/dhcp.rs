//! DHCP in the daemon: the DHCP clients netconf runs (dhclient, dhcpcd or
//! udhcpc; one per interface and family: `inet dhcp`, `inet6 dhcp`, `inet6
//! auto` with `dhcp 1`), and what each of their hook events does to the
//! kernel. An event is answered with the exit code the hook returns to the
//! client (for dhclient, non-zero on BOUND/RENEW/REBIND/REBOOT declines the
//! lease; dhcpcd and udhcpc ignore it), so it is answered only once the
//! lease is applied, or has failed to be.

use crate::dispatcher::{Dispatcher, Failure};
use crate::queue::EventId;
use netconf_ctlsock_proto::{DhcpEventArgs, ErrorCode};
use netconf_dns::{DnsConfig, Resolver, Source};
use netconf_interfaces::Family;
use netconf_methods::apply::{self, Applied, Removal};
use netconf_methods::dhclient;
use netconf_methods::dhcp::{mode6, Mode6};
use netconf_methods::dhcp_client::{installed, ClientKind, DhcpClient, OwnClient};
use netconf_methods::dhcp_release::HeldLease;
use netconf_methods::lease::{self, Reason};
use netconf_methods::provider::{Desired, LinkWanted, StanzaConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tracing::{debug, info, warn};

/// A DHCP client is known by its interface and whether it speaks DHCPv6.
pub type Key = (String, bool);

/// Fixed by netconfd's command line.
#[derive(Debug, Clone)]
pub struct DhcpSettings {
    /// `netconf-dhcp-hook`, the clients' script.
    pub hook: PathBuf,
    /// `--dhcp-client`: for stanzas without `dhcp-client`.
    pub default_client: Option<ClientKind>,
    pub dhclient: PathBuf,
    pub dhcpcd: PathBuf,
    pub udhcpc: PathBuf,
    pub dhcpcanon: PathBuf,
    /// The control socket, for the hook.
    pub socket: PathBuf,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    /// How long `ifup` waits for the first lease.
    pub timeout: Duration,
    /// Written when resolvconf is not installed.
    pub resolv_conf: PathBuf,
}

impl DhcpSettings {
    /// Where the client `kind` is.
    pub fn program(&self, kind: ClientKind) -> &PathBuf {
        match kind {
            ClientKind::Dhclient => &self.dhclient,
            ClientKind::Dhcpcd => &self.dhcpcd,
            ClientKind::Udhcpc => &self.udhcpc,
            ClientKind::Dhcpcanon => &self.dhcpcanon,
        }
    }
}

/// What the state file keeps of a DHCP client, so that a restarted daemon
/// can still serve its events and release its lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRecord {
    pub token: String,
    /// Which client (state files from before it was recorded: dhclient).
    #[serde(default)]
    pub client: ClientKind,
    pub pid: Option<u32>,
    /// What the current lease put into the kernel.
    pub lease: Applied,
    /// The lease as the last hook event gave it, for `status`.
    pub info: Option<Value>,
}

/// The dhclients netconf runs, by interface and family. Other modules see
/// them only through this module's functions and [`Clients::record`].
#[derive(Debug, Default)]
pub struct Clients(HashMap<Key, Client>);

impl Clients {
    /// What the state file keeps of the dhclient `key`, if netconf runs one.
    pub fn record(&self, key: &Key) -> Option<&DhcpRecord> {
        self.0.get(key).map(|c| &c.record)
    }

    /// The domains the current leases name: each IPv4 lease's
    /// `domain-name` (every name of it) and each DHCPv6 lease's search
    /// list. What the location conditions call `dhcp-domain`.
    pub fn domains(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for ((_, v6), client) in &self.0 {
            let Some(info) = &client.record.info else {
                continue;
            };
            for name in lease_domains(info, *v6) {
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
        found.sort();
        found
    }
}

/// The domains of one lease as the hook event recorded it.
fn lease_domains(info: &Value, v6: bool) -> Vec<String> {
    let words = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Array(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    if v6 {
        words(&info["search"])
    } else {
        words(&info["domain"])
    }
}

/// A dhclient of ours, running or about to.
#[derive(Debug, Clone)]
struct Client {
    spec: DhcpClient,
    record: DhcpRecord,
    metric: Option<u32>,
    /// The `ifup` waiting for the first lease.
    waiter: Option<EventId>,
    /// `ifdown` is releasing it: its exit is expected.
    stopping: bool,
    /// Times it died and was started again, for the backoff.
    respawns: u32,
    /// Stopped on purpose to start over (the carrier came back): start it
    /// again at once when it exits.
    restart: bool,
    /// Started and not yet handed a lease: udhcpc's first `deconfig` then
    /// only means "none yet", and the lease of the one it replaces stays.
    fresh: bool,
}

impl Client {
    fn new(spec: DhcpClient, record: DhcpRecord, metric: Option<u32>) -> Client {
        Client {
            spec,
            record,
            metric,
            waiter: None,
            stopping: false,
            respawns: 0,
            restart: false,
            fresh: true,
        }
    }
}

/// Whether a stanza runs a DHCP client.
pub fn runs_dhcp_client(cfg: &StanzaConfig) -> bool {
    (cfg.family == Family::Inet && cfg.method == "dhcp") || mode6(cfg).is_some()
}

/// The client a stanza runs: its `dhcp-client` option, else netconfd's
/// `--dhcp-client`, else the first installed in Debian's order (dhclient,
/// udhcpc, dhcpcd). `Err` names what to install when it is missing.
pub fn choose(settings: &DhcpSettings, cfg: &StanzaConfig) -> Result<ClientKind, String> {
    let named = match cfg.converted().get("dhcp-client") {
        Some(name) => Some(
            name.parse::<ClientKind>()
                .map_err(|e| format!("{}: dhcp-client: {e}", cfg.iface))?,
        ),
        None => settings.default_client,
    };
    if let Some(kind) = named {
        let program = settings.program(kind);
        return if installed(program) {
            Ok(kind)
        } else {
            Err(format!(
                "{}: the DHCP client {kind} is not installed ({} is missing): {}",
                cfg.iface,
                program.display(),
                kind.how_to_install()
            ))
        };
    }
    ClientKind::DEBIAN_ORDER
        .into_iter()
        .filter(|k| cfg.family == Family::Inet || k.speaks_v6())
        .find(|&k| installed(settings.program(k)))
        .ok_or_else(|| {
            format!(
                "{}: no DHCP client is installed: apt install isc-dhcp-client (or dhcpcd-base, or udhcpc)",
                cfg.iface
            )
        })
}

/// The `kind` client for a stanza: Debian's `inet dhcp`/`inet6` options,
/// our files.
pub fn client_for(
    settings: &DhcpSettings,
    cfg: &StanzaConfig,
    kind: ClientKind,
    token: String,
) -> DhcpClient {
    let vars = cfg.converted();
    let get = |name: &str| vars.get(name).map(str::to_string);
    let lease_seconds = vars
        .get("leasetime")
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            vars.get("leasehours")
                .and_then(|v| v.parse::<u32>().ok())
                .map(|h| h.saturating_mul(3600))
        });
    let v6 = if cfg.family == Family::Inet6 {
        Some(mode6(cfg).unwrap_or(Mode6::Stateful))
    } else {
        None
    };
    let mut extra_env = Vec::new();
    if let (Some(metric), None) = (vars.get("metric"), v6) {
        extra_env.push(("IF_METRIC".to_string(), metric.to_string()));
    }
    DhcpClient {
        kind,
        program: settings.program(kind).clone(),
        iface: cfg.iface.clone(),
        v6,
        hook: settings.hook.clone(),
        socket: settings.socket.clone(),
        token,
        run_dir: settings.run_dir.clone(),
        state_dir: settings.state_dir.clone(),
        extra_env,
        hostname: get("hostname"),
        vendor: get("vendor"),
        client: get("client"),
        lease_seconds,
        anonymize: vars.is_true("anonymize"),
    }
}

pub fn key_of(cfg: &StanzaConfig) -> Key {
    (cfg.iface.clone(), cfg.family == Family::Inet6)
}

fn resolver(settings: &DhcpSettings) -> Resolver {
    Resolver::new(
        settings.resolv_conf.clone(),
        settings.run_dir.join("resolv"),
    )
}

fn source(key: &Key) -> Source {
    if key.1 {
        Source::Dhcp6
    } else {
        Source::Dhcp4
    }
}

/// A hook event: find our client by its token, apply what the reason says,
/// and say which exit code the hook should give the client.
pub fn event(d: &mut Dispatcher, args: &DhcpEventArgs) -> Result<i32, Failure> {
    let started = std::time::Instant::now();
    let point = format!("dhcp-{}", args.reason);
    crate::faults::point("start", &point);
    let result = handle(d, args);
    crate::faults::point("done", &point);
    // The time dhclient waits on us, beyond the hook's own start-up.
    let elapsed_us = started.elapsed().as_micros() as u64;
    info!(iface = %args.interface, client = %args.client, reason = %args.reason, elapsed_us, exit = ?result.as_ref().ok(), "DHCP event answered");
    result
}

fn handle(d: &mut Dispatcher, args: &DhcpEventArgs) -> Result<i32, Failure> {
    let key = d
        .dhcp
        .0
        .iter()
        .find(|(k, c)| k.0 == args.interface && c.record.token == args.token)
        .map(|(k, _)| k.clone());
    let Some(key) = key else {
        return Err(Failure::new(
            ErrorCode::NotConfigured,
            format!(
                "no DHCP client of netconf's runs on {} with that token",
                args.interface
            ),
        ));
    };
    let kind = d.dhcp.0.get(&key).map(|c| c.spec.kind).unwrap_or_default();
    if args.client != kind.name() {
        return Err(Failure::new(
            ErrorCode::BadRequest,
            format!(
                "the event is {}'s, but netconf runs {kind} on {}",
                args.client, args.interface
            ),
        ));
    }
    let event = kind
        .parse_event(&args.env)
        .map_err(|e| Failure::new(ErrorCode::BadRequest, e.to_string()))?;
    // `ifdown` is releasing this client: what it still reports (a BOUND
    // already on its way, its own RELEASE) is acknowledged and not applied,
    // or a lease would come back after the interface went down.
    if d.dhcp.0.get(&key).is_some_and(|c| c.stopping) {
        debug!(iface = %key.0, reason = %args.reason, "event of a client being released: not applied");
        return Ok(0);
    }
    let applied = match event.reason {
        Reason::Preinit | Reason::Preinit6 => {
            link_up(d, &key.0)?;
            return Ok(0);
        }
        // udhcpc's "no lease": at its start (nothing to take out) and when
        // one was lost. Like PREINIT, its link must be up to send.
        Reason::Deconfig => {
            if !d.dhcp.0.get(&key).is_some_and(|c| c.fresh) {
                lost(d, &key);
            }
            link_up(d, &key.0)?;
            return Ok(0);
        }
        Reason::Bound | Reason::Reboot | Reason::Renew | Reason::Rebind | Reason::Timeout => {
            let Some(new) = event.new_v4() else {
                return Ok(0);
            };
            // A dhclient adopted after a restart has no stanza behind it
            // (`restore`), but carries the stanza's metric in its own
            // `-e IF_METRIC`, as Debian's script reads it.
            let metric = d
                .dhcp
                .0
                .get(&key)
                .and_then(|c| c.metric)
                .or_else(|| event.extra("IF_METRIC").and_then(|m| m.trim().parse().ok()));
            let info = json!({
                "reason": args.reason,
                "address": format!("{}/{}", new.address, new.prefix_len),
                "routers": new.routers,
                "dns": new.dns,
                "domain": new.domain,
                "search": new.search,
                "server": new.server,
                "mtu": new.mtu,
                "obtained": now(),
                "lease_time": new.lease_time,
                "renewal": new.renewal,
                "rebinding": new.rebinding,
                "expiry": new.expiry,
            });
            apply_lease(d, &key, &lease::desired_v4(new, metric), &new.dns(), info)
        }
        Reason::Bound6 | Reason::Renew6 | Reason::Rebind6 => {
            let Some(new) = event.new_v6() else {
                return Ok(0);
            };
            let info = json!({
                "reason": args.reason,
                "obtained": now(),
                "address": new.address.map(|(a, l)| format!("{a}/{l}")),
                "prefix": new.prefix.map(|(a, l)| format!("{a}/{l}")),
                "dns": new.dns,
                "search": new.search,
                "preferred_life": new.preferred_life,
                "max_life": new.max_life,
            });
            apply_lease(d, &key, &lease::desired_v6(new), &new.dns(), info)
        }
        Reason::Expire
        | Reason::Fail
        | Reason::Release
        | Reason::Stop
        | Reason::Expire6
        | Reason::Release6
        | Reason::Stop6
        | Reason::Nak
        | Reason::Departed => {
            lost(d, &key);
            return Ok(0);
        }
        _ => return Ok(0),
    };
    match applied {
        Ok(()) => Ok(0),
        // dhclient declines a lease whose hook fails: only when it cannot be
        // applied (for DHCPv6 that takes exit 3).
        Err(f) => {
            warn!(iface = %key.0, "{}", f.message);
            if let Some(waiter) = d.dhcp.0.get_mut(&key).and_then(|c| c.waiter.take()) {
                d.complete(waiter, Err(f));
            }
            Ok(if key.1 { 3 } else { 1 })
        }
    }
}

/// An `ifup` is about to start the client `spec`: it is known from now
/// on. False when one for that interface and family runs already (`ifup
/// --force`): that one is kept, since a second would fight it for the link.
pub fn register(d: &mut Dispatcher, spec: &DhcpClient, metric: Option<u32>) -> bool {
    let key = spec.key();
    if d.dhcp.0.get(&key).is_some_and(|c| c.record.pid.is_some()) {
        return false;
    }
    let record = DhcpRecord {
        token: spec.token.clone(),
        client: spec.kind,
        ..Default::default()
    };
    d.dhcp
        .0
        .insert(key, Client::new(spec.clone(), record, metric));
    true
}

/// The `WaitLease` event `id` starts: done at once if the dhclient has a
/// lease, else the first one completes it, or a timer fails it.
pub fn wait_lease(d: &mut Dispatcher, id: EventId, key: &Key) {
    let iface = key.0.clone();
    let Some(client) = d.dhcp.0.get_mut(key) else {
        let gone = Failure::new(ErrorCode::Internal, format!("no DHCP client for {iface}"));
        return d.complete(id, Err(gone));
    };
    if client.record.info.is_some() {
        return d.complete(id, Ok(()));
    }
    client.waiter = Some(id);
    let after = d.dhcp_settings.timeout;
    let message = format!("no DHCP lease on {iface} within {} s", after.as_secs());
    d.progress(id, "dhcp", format!("waiting for a DHCP lease on {iface}"));
    let _ = d
        .jobs_sender()
        .send((id, crate::queue::Job::Timer { after, message }));
}

/// The backoff after the client `key` died has passed: it starts again,
/// unless it was stopped or started meanwhile.
pub fn respawn_due(d: &mut Dispatcher, key: &Key) {
    let spec = d
        .dhcp
        .0
        .get(key)
        .filter(|c| !c.stopping && c.record.pid.is_none())
        .map(|c| c.spec.clone());
    if let Some(spec) = spec {
        info!(iface = %key.0, client = %spec.kind, "starting the DHCP client again");
        // No event waits on it: its pid comes back as a job of event 0.
        let _ = d
            .jobs_sender()
            .send((0, crate::queue::Job::StartDhcpClient(spec)));
    }
}

/// The client `ifdown` must release, with the IPv4 lease it holds: known
/// to the daemon, or (after a restart) rebuilt from the state file so that
/// its RELEASE is accepted.
/// What its lease added is taken out too, should the RELEASE not come.
pub fn to_release(
    d: &mut Dispatcher,
    cfg: &StanzaConfig,
    record: &DhcpRecord,
    applied: &mut Applied,
) -> (DhcpClient, Option<HeldLease>) {
    let spec = client_for(&d.dhcp_settings, cfg, record.client, record.token.clone());
    let client = d
        .dhcp
        .0
        .entry(key_of(cfg))
        .or_insert_with(|| Client::new(spec.clone(), record.clone(), None));
    applied
        .addresses
        .extend(client.record.lease.addresses.iter().cloned());
    applied
        .routes
        .extend(client.record.lease.routes.iter().cloned());
    let held = client.record.info.as_ref().and_then(held_lease);
    (spec, held)
}

/// `ifdown` releases `spec`'s client now: its exit is expected, and what it
/// still reports is no longer applied.
pub fn releasing(d: &mut Dispatcher, spec: &DhcpClient) {
    if let Some(client) = d.dhcp.0.get_mut(&(spec.iface.clone(), spec.v6.is_some())) {
        client.stopping = true;
    }
}

/// The IPv4 lease a recorded event describes (`address` and `server`).
fn held_lease(info: &Value) -> Option<HeldLease> {
    let address = info["address"].as_str()?.split('/').next()?.parse().ok()?;
    let server = info["server"].as_str()?.parse().ok()?;
    Some(HeldLease { address, server })
}

/// The daemon was stopped (SIGSTOP, a debugger) and goes on: its
/// dhclients may have renewed meanwhile, their hook giving up on the
/// daemon after its retry window and dhclient keeping the lease. The
/// newest lease of each lease file that ends later than the recorded one
/// is applied as the RENEW it was.
pub fn catch_up(d: &mut Dispatcher) {
    let renewed: Vec<DhcpEventArgs> = d
        .dhcp
        .0
        .iter()
        .filter(|(key, client)| {
            !key.1 && client.record.pid.is_some() && client.spec.kind == ClientKind::Dhclient
        })
        .filter_map(|(key, client)| {
            let text = std::fs::read_to_string(dhclient::lease_file(&client.spec)).ok()?;
            let env = dhclient::leases::latest(&text, &key.0, "RENEW")?;
            let expiry = dhclient::parse_event(&env).ok()?.new_v4()?.expiry?;
            let recorded = client
                .record
                .info
                .as_ref()
                .and_then(|i| i["expiry"].as_u64());
            (recorded < Some(expiry)).then(|| DhcpEventArgs {
                token: client.record.token.clone(),
                client: ClientKind::Dhclient.name().into(),
                interface: key.0.clone(),
                reason: "RENEW".into(),
                env,
            })
        })
        .collect();
    for args in renewed {
        info!(iface = %args.interface, "a lease renewed while netconfd was stopped: applied now");
        if let Err(f) = event(d, &args) {
            warn!(iface = %args.interface, "catching up on the lease: {}", f.message);
        }
    }
}

/// Seconds since the epoch, for `status`.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn link_up(d: &mut Dispatcher, iface: &str) -> Result<(), Failure> {
    let desired = Desired {
        link: LinkWanted {
            up: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut scratch = Applied::default();
    d.with_kernel(|k| apply::apply(k, iface, &desired, &mut scratch, false))?
        .map(|_| ())
        .map_err(|e| Failure::new(ErrorCode::Netlink, format!("{iface}: {e}")))
}

/// A lease to apply: by diff, replacing what an earlier lease put in.
fn apply_lease(
    d: &mut Dispatcher,
    key: &Key,
    desired: &Desired,
    dns: &DnsConfig,
    info: Value,
) -> Result<(), Failure> {
    let iface = key.0.as_str();
    let Some(previous) = d.dhcp.0.get(key).map(|c| c.record.lease.clone()) else {
        return Ok(());
    };
    let mut applied = Applied::default();
    let outcome = d.with_kernel(|k| {
        let outcome = apply::apply(k, iface, desired, &mut applied, false);
        if outcome.is_err() {
            // Half a lease is worse than none: take back what went in.
            let _ = apply::remove(k, &applied, Removal::Rollback, false);
        }
        outcome
    })?;
    let changes = outcome.map_err(|e| Failure::new(ErrorCode::Netlink, format!("{iface}: {e}")))?;
    // What the old lease had and the new one does not goes, after the new
    // is in place: no moment without an address.
    let stale = Applied {
        device: previous.device.clone(),
        addresses: previous
            .addresses
            .iter()
            .filter(|a| {
                !applied
                    .addresses
                    .iter()
                    .any(|n| n.addr == a.addr && n.prefix_len == a.prefix_len)
            })
            .cloned()
            .collect(),
        routes: previous
            .routes
            .iter()
            .filter(|r| !applied.routes.iter().any(|n| n.route == r.route))
            .cloned()
            .collect(),
        ..Applied::default()
    };
    let promoting = PromoteSecondaries::enable(&stale);
    let (removed, errors) = d.with_kernel(|k| apply::remove(k, &stale, Removal::LEASE, false))?;
    drop(promoting);
    for e in errors {
        warn!(iface, "removing what the old lease added: {e}");
    }
    if let Err(e) = resolver(&d.dhcp_settings).apply_for(iface, source(key), dns) {
        warn!(iface, "DNS: {e}");
    }
    if let Some(client) = d.dhcp.0.get_mut(key) {
        client.record.lease = applied;
        client.record.info = Some(info);
        client.respawns = 0;
        client.fresh = false;
        if let Some(waiter) = client.waiter.take() {
            d.complete(waiter, Ok(()));
        }
    }
    for change in changes.into_iter().chain(removed) {
        info!(iface, "{change}");
    }
    record_lease(d, key);
    Ok(())
}

/// The lease is gone (expired, released, dhclient stopped): take out what it added.
fn lost(d: &mut Dispatcher, key: &Key) {
    let iface = key.0.as_str();
    let Some(client) = d.dhcp.0.get_mut(key) else {
        return;
    };
    let lease = std::mem::take(&mut client.record.lease);
    client.record.info = None;
    if let Ok((_, errors)) = d.with_kernel(|k| apply::remove(k, &lease, Removal::LEASE, false)) {
        for e in errors {
            warn!(iface, "removing what the lease added: {e}");
        }
    }
    if let Err(e) = resolver(&d.dhcp_settings).remove_for(iface, source(key)) {
        warn!(iface, "DNS: {e}");
    }
    record_lease(d, key);
}

/// A dhclient was started: its pid goes into the record, and into the
/// state file at once (its first events may already have been recorded
/// without it), so that a daemon killed now still finds it.
pub fn started(d: &mut Dispatcher, key: &Key, pid: u32) {
    if let Some(client) = d.dhcp.0.get_mut(key) {
        client.record.pid = Some(pid);
        client.fresh = true;
        record_lease(d, key);
    }
}

/// Keeps the state file's copy of the dhclient record current.
fn record_lease(d: &mut Dispatcher, key: &Key) {
    let Some(record) = d.dhcp.0.get(key).map(|c| c.record.clone()) else {
        return;
    };
    let family = if key.1 { Family::Inet6 } else { Family::Inet };
    if let Some(r) = d.state.interfaces.iter_mut().find(|r| r.phys == key.0) {
        for s in r
            .stanzas
            .iter_mut()
            .filter(|s| s.dhcp.is_some() && s.family == family)
        {
            s.dhcp = Some(record.clone());
        }
        d.save_state();
    }
}

/// dhclient died on its own: the lease file lets a new one REBOOT into the
/// same address. Waits 1 s, 2 s, 4 s... up to a minute between attempts.
/// `(success, by_itself)`: it exited with status 0; it exited with a
/// status (not killed by a signal).
pub fn exited(d: &mut Dispatcher, key: &Key, pid: u32, how: (bool, bool), status: &str) {
    let (success, by_itself) = how;
    let iface = key.0.as_str();
    let Some(client) = d.dhcp.0.get_mut(key) else {
        return;
    };
    if client.record.pid != Some(pid) {
        return;
    }
    client.record.pid = None;
    if client.spec.kind == ClientKind::Dhcpcd && !by_itself {
        // Killed: its helpers did not hear of it.
        netconf_methods::dhcpcd::stop_leftovers(&client.spec);
    }
    if client.stopping {
        return;
    }
    if client.restart {
        client.restart = false;
        info!(iface, "starting the DHCP client again: the carrier is back");
        let spec = client.spec.clone();
        let _ = d
            .jobs_sender()
            .send((0, crate::queue::Job::StartDhcpClient(spec)));
        return;
    }
    // Stateless DHCPv6 asks once and is done.
    if client.spec.v6 == Some(Mode6::Stateless) && success {
        return;
    }
    warn!(iface, pid, client = %client.spec.kind, "DHCP client exited: {status}");
    // One that gave up by itself before its first lease (a bad option, a
    // missing interface) will not do better: the ifup fails, naming it.
    // One that was killed starts again, as later on, while the ifup waits.
    if by_itself && client.waiter.is_some() {
        let waiter = client.waiter.take();
        let f = Failure::new(
            ErrorCode::Internal,
            format!(
                "{} on {iface} exited before a lease: {status}",
                client.spec.kind
            ),
        );
        if let Some(waiter) = waiter {
            d.complete(waiter, Err(f));
        }
        return;
    }
    let after = Duration::from_secs(1u64 << client.respawns.min(6)).min(Duration::from_secs(60));
    client.respawns += 1;
    let spec = client.spec.clone();
    info!(iface, after = ?after, "starting the DHCP client again");
    let _ = d
        .jobs_sender()
        .send((0, crate::queue::Job::RespawnDhcpClient { spec, after }));
}

/// The carrier of `iface` came back: DHCP starts over, since the cable may
/// now lead to another network. dhclient and dhcpcanon do not notice by
/// themselves: they are stopped here and started again when they exit; udhcpc is told to renew
/// (SIGUSR1: a NAK from another network sends it back to DISCOVER); dhcpcd
/// watches the carrier itself (REBOOT). One still waiting for its first
/// lease is left alone.
pub fn carrier_back(d: &mut Dispatcher, iface: &str) {
    for v6 in [false, true] {
        let Some(client) = d.dhcp.0.get_mut(&(iface.to_string(), v6)) else {
            continue;
        };
        let Some(pid) = client.record.pid else {
            continue;
        };
        if client.stopping || client.waiter.is_some() || client.spec.kind == ClientKind::Dhcpcd {
            continue;
        }
        let Some(running) = OwnClient::find(pid, &client.spec) else {
            continue;
        };
        info!(iface, pid, client = %client.spec.kind, "carrier is back: DHCP starts over");
        let sent = if client.spec.kind == ClientKind::Udhcpc {
            running.signal(libc::SIGUSR1)
        } else {
            client.restart = true;
            running.terminate()
        };
        if let Err(e) = sent {
            warn!(iface, pid, "telling the DHCP client: {e}");
        }
    }
}

/// Brings back what a restarted daemon knows of its dhclients, from the
/// state file: a dhclient still running with our token keeps being served.
pub fn restore(d: &mut Dispatcher) {
    let mut found = Vec::new();
    for r in &d.state.interfaces {
        for s in &r.stanzas {
            if let Some(record) = &s.dhcp {
                found.push((
                    r.phys.clone(),
                    r.logical.clone(),
                    s.family,
                    s.method.clone(),
                    record.clone(),
                ));
            }
        }
    }
    // The stanzas as the file says now: a dhclient started again keeps its
    // hostname, metric and the rest.
    if found.is_empty() {
        return;
    }
    let config = d.config.clone();
    for (phys, logical, family, method, mut record) in found {
        let mut vars = config
            .stanzas_named(&logical)
            .find(|s| s.family == family && s.method == method)
            .map(netconf_interfaces::Variables::from_stanza)
            .unwrap_or_default();
        if let Some(def) = netconf_interfaces::families::method_def(family, &method) {
            vars.apply_defaults(def);
        }
        let cfg = StanzaConfig {
            iface: phys,
            logical,
            family,
            method,
            vars,
        };
        let spec = client_for(&d.dhcp_settings, &cfg, record.client, record.token.clone());
        let alive = record
            .pid
            .filter(|&pid| spec.runs_as(pid))
            // One started just before the daemon stopped may not have its
            // pid recorded yet: it is found by its token.
            .or_else(|| spec.find_pid());
        record.pid = alive;
        let what = if alive.is_some() {
            "adopted"
        } else {
            "is gone"
        };
        info!(iface = %cfg.iface, pid = ?record.pid, client = %spec.kind, "DHCP client of an earlier netconfd {what}");
        let metric = cfg.converted().get("metric").and_then(|m| m.parse().ok());
        let key = key_of(&cfg);
        // Not our child any more: its exit is seen through a pidfd.
        if let Some(pid) = record.pid {
            let _ = d.jobs_sender().send((
                0,
                crate::queue::Job::WatchDhcpClient {
                    key: key.clone(),
                    pid,
                },
            ));
        }
        let mut client = Client::new(spec, record, metric);
        client.fresh = client.record.info.is_none();
        d.dhcp.0.insert(key, client);
    }
}

/// `ifdown` is done with an interface: its DHCP clients are forgotten and the
/// DNS their leases gave is taken back (stateless DHCPv6 has no RELEASE).
pub fn forget(d: &mut Dispatcher, iface: &str) {
    for v6 in [false, true] {
        let key = (iface.to_string(), v6);
        if d.dhcp.0.remove(&key).is_some() {
            if let Err(e) = resolver(&d.dhcp_settings).remove_for(iface, source(&key)) {
                warn!(iface, "DNS: {e}");
            }
        }
    }
}

/// Stops the DHCP clients that were started for a failed `ifup` (SIGTERM:
/// dhclient keeps the lease with the server, udhcpc releases it; dhcpcd is
/// killed) and takes out their leases.
pub fn abandon(d: &mut Dispatcher, iface: &str) {
    for v6 in [false, true] {
        let Some(client) = d.dhcp.0.get(&(iface.to_string(), v6)).cloned() else {
            continue;
        };
        let running = client
            .record
            .pid
            .and_then(|pid| OwnClient::find(pid, &client.spec));
        // dhcpcd 9.4 may lose a SIGTERM that comes while it waits on its
        // privileged helper (as when the rollback takes the link down at
        // that moment), and would then run on: it is killed, helpers and
        // all; it holds nothing to give back here.
        let stopped = running.map(|running| match client.spec.kind {
            ClientKind::Dhcpcd => running.signal(libc::SIGKILL),
            _ => running.terminate(),
        });
        if let Some(Err(e)) = stopped {
            warn!(iface, "stopping the DHCP client: {e}");
        }
        if client.spec.kind == ClientKind::Dhcpcd {
            netconf_methods::dhcpcd::stop_leftovers(&client.spec);
        }
        let _ = std::fs::remove_file(client.spec.pid_file());
        let _ = d.with_kernel(|k| apply::remove(k, &client.record.lease, Removal::LEASE, false));
    }
    forget(d, iface);
}

/// Deleting an interface's primary IPv4 address deletes its secondaries (the
/// other addresses in its subnet) too, unless `promote_secondaries` is on,
/// and a new lease in the old one's subnet is added as a secondary: removing
/// the old address would take the new one with it, and with the last
/// address every route of the link. So promotion is switched on for the
/// removal of a stale lease's addresses, and put back as it was when this
/// is dropped. (systemd's and NetworkManager's defaults keep it on for good.)
struct PromoteSecondaries(Option<std::path::PathBuf>);

impl PromoteSecondaries {
    fn enable(stale: &Applied) -> Self {
        let dev = stale.device.as_str();
        let v4 = stale.addresses.iter().any(|a| a.addr.is_ipv4());
        if !v4 || dev.is_empty() || dev == "." || dev == ".." || dev.contains('/') {
            return PromoteSecondaries(None);
        }
        let path = std::path::Path::new("/proc/sys/net/ipv4/conf")
            .join(dev)
            .join("promote_secondaries");
        match std::fs::read_to_string(&path) {
            Ok(v) if v.trim() == "0" => match std::fs::write(&path, "1") {
                Ok(()) => PromoteSecondaries(Some(path)),
                Err(e) => {
                    warn!(dev, "cannot turn promote_secondaries on: {e}");
                    PromoteSecondaries(None)
                }
            },
            _ => PromoteSecondaries(None),
        }
    }
}

impl Drop for PromoteSecondaries {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = std::fs::write(&path, "0") {
                warn!("putting {} back to 0: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(installed_dir: &std::path::Path) -> DhcpSettings {
        let missing = PathBuf::from("/nonexistent/client");
        DhcpSettings {
            hook: missing.clone(),
            default_client: None,
            dhclient: missing.clone(),
            dhcpcd: installed_dir.join("dhcpcd"),
            udhcpc: missing.clone(),
            dhcpcanon: missing,
            socket: PathBuf::from("/run/netconf/ctl.sock"),
            run_dir: PathBuf::from("/run/netconf"),
            state_dir: PathBuf::from("/var/lib/netconf"),
            timeout: Duration::from_secs(1),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }

    fn stanza(family: Family, method: &str, options: &[(&str, &str)]) -> StanzaConfig {
        let mut vars = netconf_interfaces::Variables::default();
        for (k, v) in options {
            vars.add_option_line(k, v);
        }
        StanzaConfig {
            iface: "eth0".into(),
            logical: "eth0".into(),
            family,
            method: method.into(),
            vars,
        }
    }

    /// Debian's order among what is installed; a named client that is not
    /// installed is refused, saying how to get it.
    #[test]
    fn the_client_a_stanza_runs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dhcpcd = dir.path().join("dhcpcd");
        std::fs::write(&dhcpcd, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&dhcpcd, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = settings(dir.path());
        assert_eq!(
            choose(&s, &stanza(Family::Inet, "dhcp", &[])),
            Ok(ClientKind::Dhcpcd),
            "dhclient and udhcpc are missing: dhcpcd, the last in Debian's order"
        );
        let err = choose(
            &s,
            &stanza(Family::Inet, "dhcp", &[("dhcp-client", "udhcpc")]),
        )
        .unwrap_err();
        assert!(err.contains("apt install udhcpc"), "{err}");
        let err = choose(
            &s,
            &stanza(Family::Inet, "dhcp", &[("dhcp-client", "dhcpcanon")]),
        )
        .unwrap_err();
        assert!(err.contains("PyPI"), "{err}");
        let err = choose(
            &s,
            &stanza(Family::Inet, "dhcp", &[("dhcp-client", "pump")]),
        )
        .unwrap_err();
        assert!(err.contains("unknown DHCP client \"pump\""), "{err}");
        let mut none = settings(dir.path());
        none.dhcpcd = PathBuf::from("/nonexistent/dhcpcd");
        let err = choose(&none, &stanza(Family::Inet, "dhcp", &[])).unwrap_err();
        assert!(err.contains("no DHCP client is installed"), "{err}");
    }
}
