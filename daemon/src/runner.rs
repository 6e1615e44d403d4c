//! The I/O thread's half of event handling: runs the [`Job`]s the dispatcher
//! hands over (hook scripts, DAD waits, mapping scripts) as tokio tasks, so
//! that a slow script on one interface never holds up another, and posts
//! their output and outcome back onto the dispatcher's queue.

use crate::queue::{EventId, Job, JobError, JobOutput, Message, Sender};
use netconf_ctlsock_proto::ErrorCode;
use netconf_hooks::{self as hooks, OutputLine, Step, Stream};
use netconf_kernel::netlink::{Family, Netlink};
use netconf_methods::dhclient;
use netconf_methods::dhcp_client::{Action, ClientKind, DhcpClient, OwnClient};
use netconf_methods::dhcp_release::{self, HeldLease};
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::debug;

/// Must run inside a `LocalSet`: hook runs stream output through a callback
/// that never leaves this thread.
pub async fn run_jobs(mut jobs: UnboundedReceiver<(EventId, Job)>, queue: Sender) {
    while let Some((event, job)) = jobs.recv().await {
        tokio::task::spawn_local(run_job(event, job, queue.clone()));
    }
}

async fn run_job(event: EventId, job: Job, queue: Sender) {
    if let Job::WatchDhcpClient { key, pid } = job {
        watch_exit(pid).await;
        // Not our child: how it ended is not known.
        let _ = queue.send(Message::DhcpClientExited {
            key,
            pid,
            success: false,
            by_itself: false,
            status: "exited".into(),
        });
        return;
    }
    if let Job::RespawnDhcpClient { spec, after } = job {
        // The dispatcher decides then whether it is still wanted.
        tokio::time::sleep(after).await;
        let _ = queue.send(Message::RespawnDue { key: spec.key() });
        return;
    }
    if let Job::RetrySaveState { after } = job {
        tokio::time::sleep(after).await;
        let _ = queue.send(Message::SaveState);
        return;
    }
    if let Job::ProfileCheck { after } = job {
        tokio::time::sleep(after).await;
        let _ = queue.send(Message::ProfileCheck);
        return;
    }
    if let Job::HotplugCheck { name, tries, after } = job {
        tokio::time::sleep(after).await;
        let _ = queue.send(Message::HotplugCheck { name, tries });
        return;
    }
    let result = match job {
        Job::Hooks {
            steps,
            env,
            timeout,
            ignore_errors,
            no_act,
            ..
        } => hooks(event, &steps, &env, timeout, ignore_errors, no_act, &queue).await,
        Job::WaitDad {
            device,
            addresses,
            wait,
        } => {
            let interval = Duration::from_millis(wait.interval_ms);
            wait_dad(&device, &addresses, wait.attempts, interval).await
        }
        Job::StartDhcpClient(spec) => start_client(spec, &queue),
        Job::WatchDhcpClient { .. } => Ok(JobOutput::Done),
        Job::WaitLinkLocal { device, wait } => {
            let interval = Duration::from_millis(wait.interval_ms);
            wait_link_local(&device, wait.attempts, interval).await
        }
        Job::RespawnDhcpClient { .. }
        | Job::HotplugCheck { .. }
        | Job::ProfileCheck { .. }
        | Job::RetrySaveState { .. } => Ok(JobOutput::Done),
        Job::WaitForwarding { bridge, ports, max } => {
            wait_forwarding(&bridge, &ports, max).await;
            Ok(JobOutput::Done)
        }
        // ifdown goes on whatever happens here, as Debian's does: what the
        // lease added is removed by the kernel step after it anyway.
        Job::ReleaseDhcpClient { spec, lease } => match release(&spec, lease.as_ref()).await {
            Ok(done) => Ok(done),
            Err(e) => {
                tracing::warn!(iface = %spec.iface, "{}", e.message);
                Ok(JobOutput::Done)
            }
        },
        Job::Timer { after, message } => {
            tokio::time::sleep(after).await;
            Err(JobError {
                code: ErrorCode::Timeout,
                message,
            })
        }
        Job::Sleep(after) => {
            tokio::time::sleep(after).await;
            Ok(JobOutput::Done)
        }
        Job::Mapping { mapping, physical } => {
            let answer = tokio::task::spawn_blocking(move || {
                netconf_interfaces::mapping::run_mapping(&mapping, &physical)
            })
            .await;
            match answer {
                Ok(Ok(logical)) => Ok(JobOutput::Logical(logical)),
                Ok(Err(lines)) => Err(lines.join("; ").into()),
                Err(e) => Err(format!("mapping script: {e}").into()),
            }
        }
    };
    let _ = queue.send(Message::JobDone { event, result });
}

/// Starts a DHCP client detached and watches for its exit (it is our child
/// until the daemon restarts; then another daemon adopts it).
fn start_client(spec: DhcpClient, queue: &Sender) -> Result<JobOutput, JobError> {
    let mut child = spec.start().map_err(|e| JobError {
        code: ErrorCode::Internal,
        message: format!("starting {}: {e}", spec.program.display()),
    })?;
    let pid = child.id();
    let queue = queue.clone();
    let key = spec.key();
    tokio::task::spawn_blocking(move || {
        let (success, by_itself, status) = match child.wait() {
            Ok(s) => (s.success(), s.code().is_some(), s.to_string()),
            Err(e) => (false, false, e.to_string()),
        };
        let _ = queue.send(Message::DhcpClientExited {
            key,
            pid,
            success,
            by_itself,
            status,
        });
    });
    Ok(JobOutput::Started {
        key: spec.key(),
        pid,
    })
}

/// Waits until a process that is not our child exits: its pidfd becomes
/// readable then. Without pidfds (old kernels) it polls /proc.
async fn watch_exit(pid: u32) {
    if let Ok(pidfd) = netconf_methods::dhcp_client::pidfd_open(pid) {
        if wait_pidfd(pidfd).await {
            return;
        }
    }
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Releases the lease and stops the client. dhclient: when the lease and
/// the client identifier dhclient sent are known, it is stopped (SIGTERM,
/// no release) and netconfd sends the RELEASE itself, in milliseconds;
/// else `dhclient -r` (it sends the RELEASE, the hook reports it while we
/// wait, it stops the running one, and it waits a second of its own);
/// for dhcpcd SIGALRM and for udhcpc (run with `-R`) SIGTERM, then the
/// wait for its exit; dhcpcanon cannot release and is only stopped
/// (SIGTERM), the kernel step then takes its lease out.
async fn release(spec: &DhcpClient, lease: Option<&HeldLease>) -> Result<JobOutput, JobError> {
    const MAX: Duration = Duration::from_secs(30);
    let released = async {
        if spec.kind == ClientKind::Dhclient && spec.v6.is_none() {
            if let Some(sent) = release_for_dhclient(spec, lease).await {
                return sent;
            }
        }
        if spec.kind == ClientKind::Dhclient {
            let mut cmd = tokio::process::Command::from(dhclient::command(spec, Action::Release));
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            return cmd.status().await.map(|_| ()).map_err(|e| JobError {
                code: ErrorCode::Internal,
                message: format!("dhclient -r on {}: {e}", spec.iface),
            });
        }
        // None running: nothing holds a lease to release.
        let Some(running) = running_client(spec) else {
            return Ok(());
        };
        let signal = match spec.kind {
            ClientKind::Dhcpcd => libc::SIGALRM,
            _ => libc::SIGTERM,
        };
        let exited = running.watch().map_err(|e| JobError {
            code: ErrorCode::Internal,
            message: format!("watching {} on {}: {e}", spec.kind, spec.iface),
        })?;
        let exited = wait_pidfd(exited);
        tokio::pin!(exited);
        // Sent again until it exits: dhcpcd 9.4 loses a SIGALRM that comes
        // while it waits on its privileged helper (as when `ifdown -a` takes
        // lo down at the same moment), and then neither releases nor exits.
        loop {
            if let Err(e) = running.signal(signal) {
                // Gone already: nothing left to release.
                if e.raw_os_error() == Some(libc::ESRCH) {
                    return Ok(());
                }
                return Err(JobError {
                    code: ErrorCode::Internal,
                    message: format!("signalling {} on {}: {e}", spec.kind, spec.iface),
                });
            }
            tokio::select! {
                _ = &mut exited => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    };
    match tokio::time::timeout(MAX, released).await {
        Ok(Ok(())) => Ok(JobOutput::Done),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            // Not left running with a lease netconf no longer serves.
            if let Some(running) = running_client(spec) {
                let _ = running.signal(libc::SIGKILL);
            }
            if spec.kind == ClientKind::Dhcpcd {
                netconf_methods::dhcpcd::stop_leftovers(spec);
            }
            Err(JobError {
                code: ErrorCode::Timeout,
                message: format!(
                    "{} on {} did not release within {} s: killed",
                    spec.kind,
                    spec.iface,
                    MAX.as_secs()
                ),
            })
        }
    }
}

/// The running client of `spec`, by its pid file or its token.
fn running_client(spec: &DhcpClient) -> Option<OwnClient> {
    let recorded = std::fs::read_to_string(spec.pid_file())
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok());
    recorded
        .and_then(|pid| OwnClient::find(pid, spec))
        .or_else(|| OwnClient::find(spec.find_pid()?, spec))
}

/// dhclient stopped without its release, and the RELEASE sent by netconfd;
/// `None` when what the RELEASE needs is not known (then `dhclient -r`).
async fn release_for_dhclient(
    spec: &DhcpClient,
    lease: Option<&HeldLease>,
) -> Option<Result<(), JobError>> {
    let lease = lease?;
    let mac = dhcp_release::mac_of(&spec.iface)?;
    let client_id = dhclient::client_identifier(spec, mac)?;
    // Stopped first, so that it does not renew what is being given back.
    if let Some(running) = running_client(spec) {
        if running.terminate().is_ok() {
            wait_pidfd(running.into_pidfd()).await;
        }
    }
    let sent = dhcp_release::send(&spec.iface, lease, mac, client_id.as_deref());
    if let Err(e) = dhclient::forget_leases(spec) {
        tracing::warn!(iface = %spec.iface, "forgetting the released lease: {e}");
    }
    Some(sent.map_err(|e| JobError {
        code: ErrorCode::Internal,
        message: format!("DHCPRELEASE on {}: {e}", spec.iface),
    }))
}

/// Until the process of a pidfd has exited; false at once if the pidfd
/// cannot be watched.
async fn wait_pidfd(pidfd: std::os::fd::OwnedFd) -> bool {
    // SAFETY: the OwnedFd is moved in: it stays open and the same for as
    // long as the AsyncFd lives.
    match unsafe { tokio::io::unix::AsyncFd::register(pidfd) } {
        Ok(async_fd) => {
            let _ = async_fd.readable().await;
            true
        }
        Err(_) => false,
    }
}

fn output(queue: &Sender, event: EventId, line: OutputLine) {
    let _ = queue.send(Message::Output { event, line });
}

async fn hooks(
    event: EventId,
    steps: &[Step],
    env: &[(String, String)],
    timeout: Duration,
    ignore_errors: bool,
    no_act: bool,
    queue: &Sender,
) -> Result<JobOutput, JobError> {
    if no_act {
        for step in steps {
            let what = match step {
                Step::Command(c) => c.clone(),
                Step::Script(p) => p.display().to_string(),
                Step::Method => continue,
            };
            output(
                queue,
                event,
                OutputLine {
                    step: what.clone(),
                    stream: Stream::Stderr,
                    line: format!("would run {what}"),
                },
            );
        }
        return Ok(JobOutput::Done);
    }
    let result = hooks::run_steps(steps, env, timeout, ignore_errors, |line| {
        output(queue, event, line)
    })
    .await;
    result.map(|()| JobOutput::Done).map_err(|e| JobError {
        // A hung script is a timeout (PROTOCOL.md), not a failed hook.
        code: match e {
            hooks::HookError::TimedOut { .. } => ErrorCode::Timeout,
            _ => ErrorCode::HookFailed,
        },
        message: e.to_string(),
    })
}

/// Debian's wait-for-ll6.sh: poll until the link has a link-local IPv6
/// address that is no longer tentative (dhclient -6 binds to it).
/// Polls, as bridge-utils' script does, until every port of `bridge` that
/// has a carrier forwards (`brport/state` 3), or `max` has passed; then
/// goes on either way. A port without carrier cannot get there.
async fn wait_forwarding(bridge: &str, ports: &[String], max: Duration) {
    const FORWARDING: &str = "3";
    let deadline = tokio::time::Instant::now() + max;
    let read = |port: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{port}/{file}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    loop {
        let waiting: Vec<&String> = ports
            .iter()
            .filter(|p| read(p, "carrier") == "1" && read(p, "brport/state") != FORWARDING)
            .collect();
        if waiting.is_empty() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                iface = bridge,
                ports = ?waiting,
                "ports not forwarding after {} s; going on",
                max.as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_link_local(
    device: &str,
    attempts: u32,
    interval: Duration,
) -> Result<JobOutput, JobError> {
    let failed = |message: String| JobError {
        code: ErrorCode::Timeout,
        message,
    };
    let mut nl = Netlink::open()
        .map_err(|e| failed(format!("waiting for a link-local address on {device}: {e}")))?;
    for attempt in 0..=attempts {
        let ready = nl
            .link_by_name(device)
            .ok()
            .flatten()
            .and_then(|link| nl.addresses(Some(link.index), Some(Family::V6)).ok())
            .is_some_and(|addrs| {
                addrs.iter().any(|a| {
                    matches!(a.addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
                        && !a.flags.tentative
                })
            });
        if ready {
            return Ok(JobOutput::Done);
        }
        if attempt < attempts {
            tokio::time::sleep(interval).await;
        }
    }
    Err(failed(format!(
        "{device}: could not get a link-local address"
    )))
}

/// Debian's settle-dad.sh: poll until no address is tentative, at most
/// `attempts` times, `interval` apart; a duplicate address is a failure.
async fn wait_dad(
    device: &str,
    addresses: &[Ipv6Addr],
    attempts: u32,
    interval: Duration,
) -> Result<JobOutput, JobError> {
    let mut nl = Netlink::open().map_err(|e| format!("waiting for DAD on {device}: {e}"))?;
    for attempt in 0..=attempts {
        let link = nl
            .link_by_name(device)
            .map_err(|e| format!("waiting for DAD on {device}: {e}"))?
            .ok_or_else(|| format!("{device} disappeared while waiting for DAD"))?;
        let present = nl
            .addresses(Some(link.index), Some(Family::V6))
            .map_err(|e| format!("waiting for DAD on {device}: {e}"))?;
        let ours: Vec<_> = present
            .iter()
            .filter(|a| matches!(a.addr, IpAddr::V6(v6) if addresses.contains(&v6)))
            .collect();
        if let Some(failed) = ours.iter().find(|a| a.flags.dadfailed) {
            return Err(format!("{device}: duplicate address detected for {}", failed.addr).into());
        }
        if !ours.iter().any(|a| a.flags.tentative) {
            debug!(device, attempt, "DAD settled");
            return Ok(JobOutput::Done);
        }
        if attempt < attempts {
            tokio::time::sleep(interval).await;
        }
    }
    Err(JobError {
        code: ErrorCode::Timeout,
        message: format!(
            "{device}: duplicate address detection did not finish after {attempts} attempts {} ms apart (is the link's carrier up?)",
            interval.as_millis()
        ),
    })
}
