//! The methods that run a program of Debian's (`inet ppp`, `inet wvdial`,
//! `inet ipv4ll`, `inet bootp`; `netconf_methods::program`): the program is
//! started and stopped with Debian's own command lines (`pon`/`poff`,
//! wvdial under `start-stop-daemon`, `avahi-autoipd -D`/`--kill`,
//! `bootpc`, whose printed answer is applied here), and what it leaves in
//! the kernel (pppd's link and its addresses, avahi-autoipd's link-local
//! address) is followed here: `ifup` waits for it (up to
//! `--program-timeout`), then records it as the stanza's, so that `status`
//! shows it as netconf's and nothing of it counts as someone else's change;
//! `ifdown` waits for it to go. A pppd that redials (`persist`) brings its
//! link back with new addresses: they become the stanza's again.

use crate::dispatcher::{Dispatcher, Failure};
use crate::queue::{EventId, Job};
use netconf_ctlsock_proto::ErrorCode;
use netconf_kernel::netlink::{Family, RouteKind};
use netconf_methods::apply::{self, Applied, AppliedAddress, AppliedRoute};
use netconf_methods::program::Leaves;
use netconf_methods::provider::{provider_for, RouteWanted};
use tracing::info;

/// `rtm_protocol` of the routes the kernel makes with an address.
const PROTO_KERNEL: u8 = 2;
/// The main routing table.
const MAIN_TABLE: u32 = 254;

/// The waits of `ifup` and `ifdown` for what a program does, and the
/// answers of the programs that print theirs.
#[derive(Default)]
pub struct ProgramWaits {
    waits: Vec<Wait>,
    answers: Vec<Output>,
}

/// What a program that answers on its output (bootpc) printed so far: its
/// event, the `Iface` event and stanza it is for, its standard output.
struct Output {
    event: EventId,
    iface_event: EventId,
    stanza: usize,
    lines: Vec<String>,
}

struct Wait {
    event: EventId,
    iface_event: EventId,
    stanza: usize,
    device: String,
    leaves: Leaves,
    up: bool,
    /// pppd's link appeared, its address not yet: said once.
    link_seen: bool,
}

/// The `Program` event `id` starts: the start (or stop) command runs as a
/// job of its own, with the stanza's hook environment; `ifdown` goes on
/// when the stop command fails, as Debian's does.
pub fn run(
    d: &mut Dispatcher,
    id: EventId,
    (stanza, up): (usize, bool),
    command: String,
    env: Vec<(String, String)>,
    no_act: bool,
) {
    if up {
        if let Some(parent) = d.event(id).and_then(|e| e.parent) {
            crate::ifaces::program_started(d, parent);
            let answers = crate::ifaces::program_of(d, parent, stanza)
                .is_some_and(|(_, leaves)| leaves == Leaves::Output);
            if answers {
                d.program_waits
                    .answers
                    .retain(|o| o.iface_event != parent || o.stanza != stanza);
                d.program_waits.answers.push(Output {
                    event: id,
                    iface_event: parent,
                    stanza,
                    lines: Vec::new(),
                });
            }
        }
    }
    let job = Job::Hooks {
        steps: vec![netconf_hooks::Step::Command(command)],
        env,
        timeout: d.settings.hook_timeout,
        ignore_errors: !up,
        no_act,
        phase: None,
    };
    let _ = d.jobs_sender().send((id, job));
}

/// The `WaitProgram` event `id` starts: done at once if the kernel shows
/// what the program leaves (or, going down, that it is gone), else when it
/// does, or when `--program-timeout` has passed: then `ifup` fails (and
/// its rollback stops the program), `ifdown` goes on, saying so.
pub fn wait(d: &mut Dispatcher, id: EventId, stanza: usize, up: bool) {
    let Some(iface_event) = d.event(id).and_then(|e| e.parent) else {
        return d.complete(id, Ok(()));
    };
    let Some((device, leaves)) = crate::ifaces::program_of(d, iface_event, stanza) else {
        return d.complete(id, Ok(()));
    };
    if leaves == Leaves::Output {
        let result = if up {
            apply_answer(d, id, iface_event, stanza, &device)
        } else {
            Ok(())
        };
        return d.complete(id, result);
    }
    d.sync_kernel();
    let mut wait = Wait {
        event: id,
        iface_event,
        stanza,
        device,
        leaves,
        up,
        link_seen: false,
    };
    if let Some(applied) = check(d, &mut wait) {
        return finish(d, &wait, applied);
    }
    let after = d.settings.program_timeout;
    let what = if up {
        leaves.describe(&wait.device)
    } else if leaves.makes_link() {
        format!("link {} to go", wait.device)
    } else {
        format!("the link-local address of {} to go", wait.device)
    };
    d.progress(id, "program", format!("waiting for {what}"));
    let job = if up {
        Job::Timer {
            after,
            message: format!(
                "{}: no {} within {} s",
                wait.device,
                leaves.describe(&wait.device),
                after.as_secs()
            ),
        }
    } else {
        Job::Sleep(after)
    };
    d.program_waits.waits.push(wait);
    let _ = d.jobs_sender().send((id, job));
}

/// A line the program of event `event` printed: kept when it is an
/// answer (bootpc's standard output).
pub fn output(d: &mut Dispatcher, event: EventId, line: &netconf_hooks::OutputLine) {
    if line.stream != netconf_hooks::Stream::Stdout {
        return;
    }
    if let Some(o) = d
        .program_waits
        .answers
        .iter_mut()
        .find(|o| o.event == event)
    {
        o.lines.push(line.line.clone());
    }
}

/// bootpc's answer applied, by difference, as the stanza's; the route its
/// broadcast needed goes.
fn apply_answer(
    d: &mut Dispatcher,
    id: EventId,
    iface_event: EventId,
    stanza: usize,
    device: &str,
) -> Result<(), Failure> {
    let lines = d
        .program_waits
        .answers
        .iter()
        .position(|o| o.iface_event == iface_event && o.stanza == stanza)
        .map(|i| d.program_waits.answers.remove(i).lines)
        .unwrap_or_default();
    let cfg = crate::ifaces::program_cfg(d, iface_event, stanza)
        .ok_or_else(|| Failure::new(ErrorCode::Internal, "the stanza is gone"))?;
    let desired = netconf_methods::bootp::answer(&cfg, &lines)
        .map_err(|e| Failure::new(ErrorCode::HookFailed, e.to_string()))?;
    let mut applied = crate::ifaces::program_applied(d, iface_event, stanza).unwrap_or_default();
    let scaffold = netconf_methods::bootp::broadcast_route();
    let outcome = d.with_kernel(|k| {
        let mut changes = apply::apply(k, &cfg.iface, &desired, &mut applied, false)?;
        let temporary = Applied {
            device: device.to_string(),
            routes: applied
                .routes
                .iter()
                .filter(|r| r.route == scaffold && !r.preexisting)
                .cloned()
                .collect(),
            ..Applied::default()
        };
        let (removed, errors) = apply::remove(k, &temporary, apply::Removal::LEASE, false);
        changes.extend(removed);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(changes),
        }
    })?;
    let changes =
        outcome.map_err(|e| Failure::new(ErrorCode::Netlink, format!("{}: {e}", cfg.iface)))?;
    applied.routes.retain(|r| r.route != scaffold);
    for change in changes {
        d.progress(id, "apply", change);
    }
    crate::ifaces::set_program_applied(d, iface_event, stanza, applied);
    Ok(())
}

/// The timer of event `id` ran out (or it failed): an `ifdown` goes on
/// without what it waited for, saying so.
pub fn wait_over(d: &mut Dispatcher, id: EventId, ok: bool) {
    let waits = &mut d.program_waits.waits;
    let Some(i) = waits.iter().position(|w| w.event == id) else {
        return;
    };
    let wait = waits.remove(i);
    if ok && !wait.up {
        d.progress(
            id,
            "warning",
            format!(
                "{}: still there {} s after the stop command; going on",
                wait.device,
                d.settings.program_timeout.as_secs()
            ),
        );
    }
}

/// What the program left on the stanza's link, if it is there yet; going
/// down, what of the stanza is still there once the program's work is gone.
fn check(d: &mut Dispatcher, wait: &mut Wait) -> Option<Applied> {
    let recorded = crate::ifaces::program_applied(d, wait.iface_event, wait.stanza)?;
    let kernel = d.kernel.as_ref().ok()?;
    let link = kernel.mirror.link_by_name(&wait.device);
    if !wait.up {
        return match link {
            None => Some(Applied {
                device: wait.device.clone(),
                ..Applied::default()
            }),
            Some(link) => {
                let present: Vec<_> = kernel.mirror.addresses_of(link.index).collect();
                let gone = recorded
                    .addresses
                    .iter()
                    .all(|a| !present.iter().any(|p| p.addr == a.addr));
                (!wait.leaves.makes_link() && gone).then(|| {
                    // What is left is what netconf did before the program
                    // (the link up): the kernel step takes care of it.
                    let mut left = recorded.clone();
                    left.addresses.clear();
                    left.routes.clear();
                    left
                })
            }
        };
    }
    let link = link?;
    let seen = found(kernel, link.index, wait.leaves);
    if seen.addresses.is_empty() || (wait.leaves.makes_link() && !link.up) {
        if wait.leaves.makes_link() && !wait.link_seen {
            wait.link_seen = true;
            let device = wait.device.clone();
            d.progress(
                wait.event,
                "program",
                format!("link {device} appeared; waiting for its address"),
            );
        }
        return None;
    }
    let mut applied = recorded;
    applied.device = wait.device.clone();
    applied.addresses = seen.addresses;
    applied.routes = seen.routes;
    Some(applied)
}

/// The addresses and routes on link `index` that a program leaving
/// `leaves` put there (the kernel's own prefix routes are not).
fn found(kernel: &crate::kernel::Kernel, index: u32, leaves: Leaves) -> Applied {
    let addresses = kernel
        .mirror
        .addresses_of(index)
        .filter(|a| leaves.owns(a.addr))
        .map(|a| AppliedAddress {
            addr: a.addr,
            prefix_len: a.prefix_len,
            peer: a.peer,
            preexisting: false,
        })
        .collect();
    let routes = kernel
        .mirror
        .routes_of(index)
        .filter(|r| {
            r.family == Family::V4
                && r.protocol != PROTO_KERNEL
                && r.table == MAIN_TABLE
                && r.kind == RouteKind::Unicast
        })
        .map(|r| AppliedRoute {
            route: RouteWanted {
                destination: r.destination,
                gateway: r.gateway,
                metric: r.priority,
                onlink: r.onlink,
            },
            preexisting: false,
        })
        .collect();
    Applied {
        addresses,
        routes,
        ..Applied::default()
    }
}

fn finish(d: &mut Dispatcher, wait: &Wait, applied: Applied) {
    if wait.up {
        let addresses: Vec<String> = applied
            .addresses
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix_len))
            .collect();
        d.progress(
            wait.event,
            "program",
            format!("{}: up with {}", wait.device, addresses.join(", ")),
        );
    }
    crate::ifaces::set_program_applied(d, wait.iface_event, wait.stanza, applied);
    d.complete(wait.event, Ok(()));
}

/// The kernel changed: the waits whose program has done its work end, and
/// the interfaces up with a program that makes its own link follow it.
pub fn kernel_changed(d: &mut Dispatcher) {
    // (The mirror is current: this runs on the changes just read.)
    if d.program_waits.waits.is_empty() && !d.state.interfaces.iter().any(follows_program) {
        return;
    }
    let mut done = Vec::new();
    for mut wait in std::mem::take(&mut d.program_waits.waits) {
        if d.event(wait.event).is_none() {
            continue;
        }
        match check(d, &mut wait) {
            Some(applied) => done.push((wait, applied)),
            None => d.program_waits.waits.push(wait),
        }
    }
    for (wait, applied) in done {
        finish(d, &wait, applied);
    }
    follow(d);
}

fn follows_program(record: &crate::state::IfaceRecord) -> bool {
    record.in_progress.is_none() && record.stanzas.iter().any(|s| leaves(s).is_some())
}

fn leaves(stanza: &crate::state::StanzaRecord) -> Option<Leaves> {
    let provider = provider_for(stanza.family, &stanza.method)?;
    let cfg = netconf_methods::provider::StanzaConfig {
        iface: String::new(),
        logical: String::new(),
        family: stanza.family,
        method: stanza.method.clone(),
        vars: Default::default(),
    };
    Some(provider.program(&cfg).ok()??.leaves)
}

/// What the program does after `ifup` is the stanza's too: a pppd that
/// redialled (`persist`, `demand`) made its link again with the addresses
/// of the new connection; avahi-autoipd claimed another address after a
/// conflict, or added its route a moment after the address.
fn follow(d: &mut Dispatcher) {
    let Ok(kernel) = d.kernel.as_ref() else {
        return;
    };
    let mut changed = false;
    let busy: Vec<String> = d
        .state
        .interfaces
        .iter()
        .filter(|r| follows_program(r) && d.is_busy(&r.phys))
        .map(|r| r.phys.clone())
        .collect();
    for record in d.state.interfaces.iter_mut() {
        if !follows_program(record) || busy.contains(&record.phys) {
            continue;
        }
        let device = netconf_methods::apply::device_of(&record.phys).to_string();
        let Some(link) = kernel.mirror.link_by_name(&device) else {
            continue;
        };
        for stanza in &mut record.stanzas {
            let Some(leaves) = leaves(stanza) else {
                continue;
            };
            let seen = found(kernel, link.index, leaves);
            if !seen.addresses.is_empty()
                && (seen.addresses != stanza.applied.addresses
                    || seen.routes != stanza.applied.routes
                    || record.ifindex != Some(link.index))
            {
                info!(iface = %record.phys, "following what the stanza's program changed");
                stanza.applied.device = device.clone();
                stanza.applied.addresses = seen.addresses;
                stanza.applied.routes = seen.routes;
                record.ifindex = Some(link.index);
                changed = true;
            }
        }
    }
    if changed {
        d.save_state();
    }
}

/// Whether the link `name` is one a stanza's program makes (pppd's): it
/// comes and goes with the program, and its going is no reason to take
/// the interface down.
pub fn program_link(d: &Dispatcher, name: &str) -> bool {
    d.state.get(name).is_some_and(|r| {
        r.stanzas
            .iter()
            .any(|s| leaves(s).is_some_and(Leaves::makes_link))
    })
}

/// Whether a kernel change on link `name` is the work of a stanza's
/// program: anything on pppd's link; on avahi-autoipd's, its address
/// (`Some`) and the routes (`None`; a change of the link itself is not).
pub fn by_program(d: &Dispatcher, name: &str, change: &netconf_kernel::netlink::Event) -> bool {
    use netconf_kernel::netlink::Event;
    d.state.get(name).is_some_and(|r| {
        r.stanzas.iter().any(|s| match (leaves(s), change) {
            (Some(Leaves::Link), _) => true,
            (Some(Leaves::LinkLocalAddress), Event::NewAddress(a) | Event::DelAddress(a)) => {
                Leaves::LinkLocalAddress.owns(a.addr)
            }
            (
                Some(Leaves::LinkLocalAddress),
                Event::NewRoute(_) | Event::ReplaceRoute(_) | Event::DelRoute(_),
            ) => true,
            // bootpc's answer is applied by netconf: its changes are netconf's.
            _ => false,
        })
    })
}

/// A failed `ifup` whose program was started: stopped again (as the
/// `ifdown` would), right away, so that nothing of it is left running.
pub fn stop_now(d: &Dispatcher, id: EventId, stop: &str) {
    let output = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(stop)
        .env_clear()
        .env("PATH", netconf_hooks::HOOK_PATH)
        .stdin(std::process::Stdio::null())
        .output();
    match output {
        Ok(out) => {
            for line in String::from_utf8_lossy(&out.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&out.stderr).lines())
            {
                d.progress(id, "rollback", format!("{stop}: {line}"));
            }
            d.progress(id, "rollback", format!("undo: ran {stop}"));
        }
        Err(e) => d.progress(id, "warning", format!("rollback: {stop}: {e}")),
    }
}
