//! DHCP in the daemon: the dhclient netconf runs for each `inet dhcp`
//! interface, and what each of its hook events does to the kernel. An event
//! is answered with the exit code the hook returns to dhclient (non-zero on
//! BOUND/RENEW/REBIND/REBOOT declines the lease), so it is answered only once
//! the lease is applied, or has failed to be.

use crate::dispatcher::{Dispatcher, Failure};
use crate::queue::EventId;
use netconf_ctlsock_proto::{DhcpEventArgs, ErrorCode};
use netconf_methods::apply::{self, Applied, Removal};
use netconf_methods::dhclient::Dhclient;
use netconf_methods::dhcp::{self as lease, Reason};
use netconf_methods::provider::StanzaConfig;
use netconf_methods::resolv::{DnsConfig, Resolver};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use tracing::{info, warn};

/// Fixed by netconfd's command line.
#[derive(Debug, Clone)]
pub struct DhcpSettings {
    /// `netconf-dhcp-hook`, dhclient's `-sf`.
    pub hook: PathBuf,
    pub dhclient: PathBuf,
    /// The control socket, for the hook.
    pub socket: PathBuf,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    /// How long `ifup` waits for the first lease.
    pub timeout: Duration,
    /// Written when resolvconf is not installed.
    pub resolv_conf: PathBuf,
}

/// What the state file keeps of a dhclient, so that a restarted daemon can
/// still serve its events and release its lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRecord {
    pub token: String,
    pub pid: Option<u32>,
    /// What the current lease put into the kernel.
    pub lease: Applied,
    /// The lease as the last hook event gave it, for `status`.
    pub info: Option<Value>,
}

/// A dhclient of ours, running or about to.
#[derive(Debug, Clone)]
pub struct Client {
    pub spec: Dhclient,
    pub record: DhcpRecord,
    pub metric: Option<u32>,
    /// The `ifup` waiting for the first lease.
    pub waiter: Option<EventId>,
    /// `ifdown` is releasing it: its exit is expected.
    pub stopping: bool,
    /// Times it died and was started again, for the backoff.
    pub respawns: u32,
}

/// dhclient died on its own: the lease file lets a new one REBOOT into the
/// same address. Waits 1 s, 2 s, 4 s... up to a minute between attempts.
pub fn exited(d: &mut Dispatcher, iface: &str, pid: u32, status: &str) {
    let Some(client) = d.dhcp.get_mut(iface) else {
        return;
    };
    if client.record.pid != Some(pid) {
        return;
    }
    client.record.pid = None;
    if client.stopping {
        return;
    }
    warn!(iface, pid, "dhclient exited: {status}");
    if let Some(waiter) = client.waiter.take() {
        let f = Failure::new(
            ErrorCode::Internal,
            format!("dhclient on {iface} exited before a lease: {status}"),
        );
        d.complete(waiter, Err(f));
        return;
    }
    let after = Duration::from_secs(1u64 << client.respawns.min(6)).min(Duration::from_secs(60));
    client.respawns += 1;
    let spec = client.spec.clone();
    info!(iface, after = ?after, "starting dhclient again");
    let _ = d
        .jobs_sender()
        .send((0, crate::queue::Job::RespawnDhclient { spec, after }));
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
    for (phys, logical, family, method, mut record) in found {
        let cfg = StanzaConfig {
            iface: phys.clone(),
            logical,
            family,
            method,
            vars: netconf_interfaces::Variables::default(),
        };
        let alive = record.pid.is_some_and(|pid| {
            netconf_methods::dhclient::token_of(pid).as_deref() == Some(record.token.as_str())
        });
        if !alive {
            record.pid = None;
        }
        info!(iface = %phys, pid = ?record.pid, "dhclient of an earlier netconfd {}", if alive { "adopted" } else { "is gone" });
        let spec = dhclient_for(&d.dhcp_settings, &cfg, record.token.clone());
        d.dhcp.insert(
            phys,
            Client {
                spec,
                record,
                metric: None,
                waiter: None,
                stopping: false,
                respawns: 0,
            },
        );
    }
}

/// The dhclient for a stanza: Debian's `inet dhcp` options, our files.
pub fn dhclient_for(settings: &DhcpSettings, cfg: &StanzaConfig, token: String) -> Dhclient {
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
    let mut extra_env = Vec::new();
    if let Some(metric) = vars.get("metric") {
        extra_env.push(("IF_METRIC".to_string(), metric.to_string()));
    }
    Dhclient {
        iface: cfg.iface.clone(),
        v6: None,
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
        program: settings.dhclient.clone(),
    }
}

fn resolver(settings: &DhcpSettings) -> Resolver {
    Resolver::new(
        settings.resolv_conf.clone(),
        settings.run_dir.join("resolv"),
    )
}

/// A hook event: find our dhclient by its token, apply what the reason says,
/// and say which exit code the hook should give dhclient.
pub fn event(d: &mut Dispatcher, args: &DhcpEventArgs) -> Result<i32, Failure> {
    let started = std::time::Instant::now();
    let result = handle(d, args);
    // The time dhclient waits on us, beyond the hook's own start-up.
    info!(iface = %args.interface, reason = %args.reason, elapsed_us = started.elapsed().as_micros() as u64, exit = ?result.as_ref().ok(), "dhclient event answered");
    result
}

fn handle(d: &mut Dispatcher, args: &DhcpEventArgs) -> Result<i32, Failure> {
    let iface = args.interface.clone();
    let known = d
        .dhcp
        .get(&iface)
        .is_some_and(|c| c.record.token == args.token);
    if !known {
        return Err(Failure::new(
            ErrorCode::NotConfigured,
            format!("no dhclient of netconf's runs on {iface} with that token"),
        ));
    }
    let event = lease::parse_event(&args.env)
        .map_err(|e| Failure::new(ErrorCode::BadRequest, e.to_string()))?;
    match event.reason {
        Reason::Preinit => {
            link_up(d, &iface)?;
            Ok(0)
        }
        Reason::Bound | Reason::Reboot | Reason::Renew | Reason::Rebind | Reason::Timeout => {
            let Some(new) = event.new_v4() else {
                return Ok(0);
            };
            match bound(d, &iface, new) {
                Ok(()) => Ok(0),
                // dhclient declines a lease whose hook fails: only when it cannot be applied.
                Err(f) => {
                    warn!(iface = %iface, "{}", f.message);
                    fail_waiter(d, &iface, &f);
                    Ok(1)
                }
            }
        }
        Reason::Expire | Reason::Fail | Reason::Release | Reason::Stop => {
            lost(d, &iface);
            Ok(0)
        }
        _ => Ok(0),
    }
}

fn link_up(d: &mut Dispatcher, iface: &str) -> Result<(), Failure> {
    let nl = d
        .netlink
        .as_mut()
        .map_err(|e| Failure::new(ErrorCode::Netlink, e.clone()))?;
    let desired = netconf_methods::provider::Desired {
        link: netconf_methods::provider::LinkWanted {
            up: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut scratch = Applied::default();
    apply::apply(nl, iface, &desired, &mut scratch, false)
        .map(|_| ())
        .map_err(|e| Failure::new(ErrorCode::Netlink, format!("{iface}: {e}")))
}

/// A lease to apply: by diff, replacing what an earlier lease put in.
fn bound(d: &mut Dispatcher, iface: &str, new: &lease::Lease4) -> Result<(), Failure> {
    let Some(client) = d.dhcp.get(iface) else {
        return Ok(());
    };
    let desired = lease::desired_v4(new, client.metric);
    let previous = client.record.lease.clone();
    let nl = d
        .netlink
        .as_mut()
        .map_err(|e| Failure::new(ErrorCode::Netlink, e.clone()))?;
    let mut applied = Applied::default();
    let changes = apply::apply(nl, iface, &desired, &mut applied, false)
        .map_err(|e| Failure::new(ErrorCode::Netlink, format!("{iface}: {e}")))?;
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
    let (removed, errors) = apply::remove(nl, &stale, Removal::Ifdown { link_down: false }, false);
    for e in errors {
        warn!(iface, "removing what the old lease added: {e}");
    }
    let dns = DnsConfig::from_lease(new);
    if let Err(e) = resolver(&d.dhcp_settings).apply(iface, &dns) {
        warn!(iface, "DNS: {e}");
    }
    let info = json!({
        "address": format!("{}/{}", new.address, new.prefix_len),
        "routers": new.routers,
        "dns": new.dns,
        "server": new.server,
        "lease_time": new.lease_time,
        "expiry": new.expiry,
    });
    if let Some(client) = d.dhcp.get_mut(iface) {
        client.record.lease = applied;
        client.record.info = Some(info);
        if let Some(waiter) = client.waiter.take() {
            d.complete(waiter, Ok(()));
        }
    }
    for change in changes.into_iter().chain(removed) {
        info!(iface, "{change}");
    }
    record_lease(d, iface);
    Ok(())
}

/// The lease is gone (expired, released, dhclient stopped): take out what it added.
fn lost(d: &mut Dispatcher, iface: &str) {
    let Some(client) = d.dhcp.get_mut(iface) else {
        return;
    };
    let lease = std::mem::take(&mut client.record.lease);
    client.record.info = None;
    if let Ok(nl) = d.netlink.as_mut() {
        let (_, errors) = apply::remove(nl, &lease, Removal::Ifdown { link_down: false }, false);
        for e in errors {
            warn!(iface, "removing what the lease added: {e}");
        }
    }
    if let Err(e) = resolver(&d.dhcp_settings).remove(iface) {
        warn!(iface, "DNS: {e}");
    }
    record_lease(d, iface);
}

fn fail_waiter(d: &mut Dispatcher, iface: &str, f: &Failure) {
    if let Some(waiter) = d.dhcp.get_mut(iface).and_then(|c| c.waiter.take()) {
        d.complete(waiter, Err(f.clone()));
    }
}

/// Keeps the state file's copy of the dhclient record current.
fn record_lease(d: &mut Dispatcher, iface: &str) {
    let Some(record) = d.dhcp.get(iface).map(|c| c.record.clone()) else {
        return;
    };
    if let Some(r) = d.state.interfaces.iter_mut().find(|r| r.phys == iface) {
        for s in r.stanzas.iter_mut().filter(|s| s.dhcp.is_some()) {
            s.dhcp = Some(record.clone());
        }
        d.save_state();
    }
}

/// Stops a dhclient that was started for a failed `ifup` (SIGTERM: it has
/// nothing to release that we want kept) and takes out its lease.
pub fn abandon(d: &mut Dispatcher, iface: &str) {
    let Some(client) = d.dhcp.remove(iface) else {
        return;
    };
    if let Some(pid) = client.record.pid {
        if netconf_methods::dhclient::token_of(pid).as_deref() == Some(client.record.token.as_str())
        {
            // SAFETY: a plain kill(2) of a process we verified is ours.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
    }
    let _ = std::fs::remove_file(client.spec.pid_file());
    if let Ok(nl) = d.netlink.as_mut() {
        let _ = apply::remove(
            nl,
            &client.record.lease,
            Removal::Ifdown { link_down: false },
            false,
        );
    }
    let _ = resolver(&d.dhcp_settings).remove(iface);
}
