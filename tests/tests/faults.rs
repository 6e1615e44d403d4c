//! netconfd killed (SIGKILL, from a crash point: `NETCONF_CRASH_AT`, see
//! `daemon/src/faults.rs`) at every event boundary of `ifup -a`, `ifdown -a`
//! and `ifreload -a`, and as it handles a DHCP lease's BOUND, RENEW and
//! EXPIRE, for a static stanza, a bridge and a DHCP stanza. After each
//! crash the daemon is started again and the admin does what an admin
//! does: the command again, then `ifup -a` and `ifdown -a`. The kernel
//! must then be as after the same commands without the crash, nothing may
//! be left behind, and no hook may run more often than without the crash.
//!
//! Each case runs in namespaces of its own; the crash points of one
//! command are tried one after another (`start:*#1`, `#2`, ... until the
//! command runs through without reaching one).

use netconf_tests::{
    hook_path, kill_processes_mentioning, processes_mentioning, run, wait_until, DhcpServer,
    Harness, Netns, Out, Running,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Static,
    Bridge,
    Dhcp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Command {
    Up,
    Down,
    Reload,
    /// A lease event dhclient's hook posts (a RENEW or an EXPIRE made from
    /// a real dhclient environment, for the running dhclient).
    Lease(&'static str),
}

const STATIC: &str = "auto v0
iface v0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
iface v0 inet6 static
    address 2001:db8:10::10/64
    dad-attempts 0
";
const STATIC_CHANGED: &str = "auto v0
iface v0 inet static
    address 198.51.100.11/24
    gateway 198.51.100.1
iface v0 inet6 static
    address 2001:db8:10::10/64
    dad-attempts 0
";
const BRIDGE: &str = "auto br0
iface br0 inet static
    bridge_ports p0 p1
    bridge_stp off
    bridge_fd 0
    bridge_maxwait 0
    address 203.0.113.1/24
";
const BRIDGE_CHANGED: &str = "auto br0
iface br0 inet static
    bridge_ports p0
    bridge_stp off
    bridge_fd 0
    bridge_maxwait 0
    address 203.0.113.2/24
";
const DHCP: &str = "auto cli0
iface cli0 inet dhcp
";
const DHCP_CHANGED: &str = "auto cli0
iface cli0 inet dhcp
    metric 50
";

/// A hook for every phase that notes which ran, for which interface.
const HOOK: &str =
    "#!/bin/sh\necho \"$PHASE $IFACE $ADDRFAM\" >> \"$(dirname \"$0\")/../../hooks.log\"\n";

struct World {
    kind: Kind,
    // Drop order: dhclients (in Drop), then the daemon and the client
    // namespace (h), then the server.
    h: Harness,
    _server: Option<(DhcpServer, Netns)>,
}

impl World {
    fn new(kind: Kind) -> World {
        World::with_lease(kind, "10m")
    }

    /// A world whose DHCP server gives leases of `lease` (`2m`: dnsmasq's
    /// shortest, renewed after a minute).
    fn with_lease(kind: Kind, lease: &str) -> World {
        let mut h = Harness::new();
        for dir in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
            h.write_hook(dir, "log", HOOK);
        }
        let mut server = None;
        match kind {
            Kind::Static => {
                h.ns.veth("v0");
                h.write_interfaces(STATIC);
            }
            Kind::Bridge => {
                h.ns.veth("p0");
                h.ns.veth("p1");
                h.write_interfaces(BRIDGE);
            }
            Kind::Dhcp => {
                let srv = Netns::new();
                srv.ip(&[
                    "link", "add", "srv0", "type", "veth", "peer", "name", "cli0",
                ]);
                srv.ip(&["link", "set", "cli0", "netns", h.ns.name()]);
                srv.ip(&["addr", "add", "198.18.0.1/24", "dev", "srv0"]);
                srv.ip(&["link", "set", "srv0", "up"]);
                // One address to give: the same lease whatever the run.
                let range = format!("--dhcp-range=198.18.0.100,198.18.0.100,255.255.255.0,{lease}");
                let options = [range.as_str(), "--dhcp-option=option:router,198.18.0.1"];
                let dnsmasq = DhcpServer::start(&srv, "srv0", h.dir(), "dnsmasq", &options);
                server = Some((dnsmasq, srv));
                fs::write(h.path("resolv.conf"), "").unwrap();
                h.write_interfaces(DHCP);
                h.options.extra = [
                    "--dhcp-hook".into(),
                    hook_path().into_os_string(),
                    "--dhclient".into(),
                    "/sbin/dhclient".into(),
                    "--resolv-conf".into(),
                    h.path("resolv.conf").into_os_string(),
                    "--dhcp-timeout".into(),
                    "30".into(),
                ]
                .into_iter()
                .collect::<Vec<OsString>>();
                h.stop_daemon(libc::SIGTERM);
                h.start_daemon();
            }
        }
        World {
            kind,
            h,
            _server: server,
        }
    }

    fn changed(&self) -> &'static str {
        match self.kind {
            Kind::Static => STATIC_CHANGED,
            Kind::Bridge => BRIDGE_CHANGED,
            Kind::Dhcp => DHCP_CHANGED,
        }
    }

    /// Runs `command` to its end, whatever its exit status (a client
    /// whose daemon died fails, which is what happens).
    fn command(&self, command: Command) {
        let h = &self.h;
        let _: Out = match command {
            Command::Up => run(h.ifup_cmd(&["-a"])),
            Command::Down => run(h.ifdown_cmd(&["-a"])),
            Command::Reload => run(h.client(&netconf_tests::bins().ifreload, &["-a"])),
            Command::Lease(reason) => self.lease_event(reason).wait(),
        };
    }

    /// dhclient's hook posting `reason` for the running dhclient, started.
    fn lease_event(&self, reason: &str) -> Running {
        let state: Value = serde_json::from_slice(
            &fs::read(self.h.run_dir().join("state.json")).expect("the state file"),
        )
        .expect("state.json");
        let cli0 = state["interfaces"]
            .as_array()
            .and_then(|list| list.iter().find(|r| r["phys"] == "cli0"))
            .expect("cli0's record");
        let dhcp = &cli0["stanzas"][0]["dhcp"];
        let token = dhcp["token"].as_str().expect("a token").to_string();
        let pid = dhcp["pid"].as_u64().expect("a pid") as u32;
        let env = match reason {
            "RENEW" => netconf_tests::renew_env(&netconf_tests::Renewal {
                socket: &self.h.socket(),
                iface: "cli0",
                token: &token,
                pid,
                old: "198.18.0.100",
                new: "198.18.0.100",
                lease_secs: 600,
            }),
            _ => {
                let fixture =
                    netconf_tests::repo_root().join("hook-script/tests/fixtures/v4-03-EXPIRE.env");
                let mut env = vec![(
                    "NETCONF_SOCKET".to_string(),
                    self.h.socket().to_string_lossy().into_owned(),
                )];
                for line in fs::read_to_string(fixture).unwrap().lines() {
                    let Some((k, v)) = line.split_once('=') else {
                        continue;
                    };
                    let v = match k {
                        "NETCONF_TOKEN" => token.clone(),
                        "pid" => pid.to_string(),
                        "old_ip_address" => "198.18.0.100".into(),
                        _ => v.to_string(),
                    };
                    if !k.contains("rfc3442") && !k.contains("host_name") {
                        env.push((k.to_string(), v));
                    }
                }
                env
            }
        };
        let mut hook = std::process::Command::new(hook_path());
        hook.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir("/");
        Running::spawn(hook)
    }

    /// The kernel as the comparison sees it: every link (kind, up, master,
    /// mtu), the global addresses, netconf's routes and the default routes.
    fn kernel(&self) -> String {
        let ns = &self.h.ns;
        let links: Vec<String> = ns
            .ip_json(&["-d", "link", "show"])
            .iter()
            .map(|l| {
                let master = l["master"].as_str().unwrap_or("-");
                format!(
                    "{} {} up={} master={master} mtu={}",
                    l["ifname"].as_str().unwrap_or("?"),
                    l["linkinfo"]["info_kind"].as_str().unwrap_or("-"),
                    netconf_tests::has_flag(l, "UP"),
                    l["mtu"]
                )
            })
            .collect();
        let defaults: Vec<String> = ["-4", "-6"]
            .iter()
            .flat_map(|f| ns.default_routes(f))
            .map(|r| format!("{} via {} dev {}", r["dst"], r["gateway"], r["dev"]))
            .collect();
        format!(
            "links {links:#?}\naddresses {:#?}\nnetconf routes {:#?}\ndefault routes {defaults:#?}",
            ns.all_global_addrs(),
            ns.netconf_routes()
        )
    }

    /// How often each interface's hooks ran, by phase and family (the
    /// `--all` calls, which every `ifup -a` makes, left out).
    fn hooks(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for line in fs::read_to_string(self.h.path("hooks.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains(" --all "))
        {
            *counts.entry(line.to_string()).or_default() += 1;
        }
        counts
    }

    fn dhclients(&self) -> Vec<u32> {
        processes_mentioning(
            &self.h.ns,
            &self.h.dir().to_string_lossy(),
            Some("dhclient"),
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        kill_processes_mentioning(&self.h.ns, &self.h.dir().to_string_lossy());
    }
}

/// What one run ended with.
#[derive(Debug, PartialEq)]
struct Outcome {
    after_up: String,
    after_down: String,
}

/// `command` (after what it needs first), the command again, `ifup -a`
/// and `ifdown -a`; with `crash_at`, the daemon that runs the command
/// has that crash point and is started again afterwards. `None` when the
/// crash point was not reached.
fn run_case(kind: Kind, command: Command, crash_at: Option<&str>) -> Option<(Outcome, World)> {
    let mut w = World::new(kind);
    if command != Command::Up {
        w.command(Command::Up);
    }
    if command == Command::Reload {
        w.h.write_interfaces(w.changed());
    }
    if let Some(point) = crash_at {
        w.h.stop_daemon(libc::SIGTERM);
        w.h.options.crash_at = Some(point.to_string());
        w.h.start_daemon();
    }
    match command {
        Command::Lease(reason) => {
            // The hook waits for an answer; if the daemon dies, it posts
            // the event again to the daemon that comes back (its retry
            // window), as it does for dhclient.
            let hook = w.lease_event(reason);
            if crash_at.is_some() {
                wait_until("the hook to be answered or netconfd to die", || {
                    !w.h.daemon_alive() || !netconf_tests::process_alive(hook.pid())
                });
                let crashed = restart_if_crashed(&mut w);
                hook.wait();
                if !crashed {
                    return None;
                }
            } else {
                hook.wait();
            }
        }
        _ => {
            w.command(command);
            if crash_at.is_some() && !restart_if_crashed(&mut w) {
                return None;
            }
            w.command(command);
        }
    }
    w.command(Command::Up);
    let after_up = w.kernel();
    w.command(Command::Down);
    let after_down = w.kernel();
    Some((
        Outcome {
            after_up,
            after_down,
        },
        w,
    ))
}

/// The daemon with the crash point is dead: a plain one starts. False if
/// it is still alive (its crash point was not reached).
fn restart_if_crashed(w: &mut World) -> bool {
    // A SIGKILL takes effect at once, but the client may hear the socket
    // close a moment before the process is gone.
    let grace = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while w.h.daemon_alive() {
        if std::time::Instant::now() > grace {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    w.h.stop_daemon(libc::SIGKILL);
    w.h.options.crash_at = None;
    w.h.start_daemon();
    true
}

/// The crash points of `command` on `kind`, each compared with the run
/// without a crash; with `until_unreached`, the points are tried in order
/// until one is not reached (the command ran through).
fn crash_at_each(kind: Kind, command: Command, points: &[String], until_unreached: bool) {
    let (reference, w) = run_case(kind, command, None).expect("the run without a crash");
    let reference_hooks = w.hooks();
    drop(w);
    let mut tried = 0;
    for point in points {
        let Some((outcome, w)) = run_case(kind, command, Some(point)) else {
            if until_unreached {
                break;
            }
            continue;
        };
        tried += 1;
        assert_eq!(
            outcome.after_up, reference.after_up,
            "{kind:?} {command:?}, killed at {point}: the kernel after ifup -a differs"
        );
        assert_eq!(
            outcome.after_down, reference.after_down,
            "{kind:?} {command:?}, killed at {point}: the kernel after ifdown -a differs"
        );
        let hooks = w.hooks();
        for (hook, times) in &hooks {
            let without = reference_hooks.get(hook).copied().unwrap_or(0);
            assert!(
                *times <= without,
                "{kind:?} {command:?}, killed at {point}: `{hook}` ran {times} times, \
                 {without} without the crash\n{hooks:#?}"
            );
        }
        assert!(
            w.h.state().is_empty(),
            "{point}: left in the state: {:?}",
            w.h.state()
        );
        assert!(
            w.dhclients().is_empty(),
            "{point}: dhclients left: {:?}",
            w.dhclients()
        );
    }
    eprintln!("{kind:?} {command:?}: {tried} crash points tried");
    assert!(tried > 0, "no crash point was reached");
}

/// `start:*#N` and `done:*#N` for every N until the command runs through.
fn every_event(kind: Kind, command: Command) {
    for when in ["start", "done"] {
        let points: Vec<String> = (1..=80).map(|n| format!("{when}:*#{n}")).collect();
        crash_at_each(kind, command, &points, true);
    }
}

#[test]
fn static_ifup() {
    every_event(Kind::Static, Command::Up);
}

#[test]
fn static_ifdown() {
    every_event(Kind::Static, Command::Down);
}

#[test]
fn static_ifreload() {
    every_event(Kind::Static, Command::Reload);
}

#[test]
fn bridge_ifup() {
    every_event(Kind::Bridge, Command::Up);
}

#[test]
fn bridge_ifdown() {
    every_event(Kind::Bridge, Command::Down);
}

#[test]
fn bridge_ifreload() {
    every_event(Kind::Bridge, Command::Reload);
}

#[test]
fn dhcp_ifup() {
    every_event(Kind::Dhcp, Command::Up);
}

#[test]
fn dhcp_ifdown() {
    every_event(Kind::Dhcp, Command::Down);
}

#[test]
fn dhcp_ifreload() {
    every_event(Kind::Dhcp, Command::Reload);
}

#[test]
fn dhcp_lease_events() {
    let bound: Vec<String> = ["start:dhcp-BOUND", "done:dhcp-BOUND"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    crash_at_each(Kind::Dhcp, Command::Up, &bound, false);
    for reason in ["RENEW", "EXPIRE"] {
        let points: Vec<String> = ["start", "done"]
            .iter()
            .map(|w| format!("{w}:dhcp-{reason}"))
            .collect();
        crash_at_each(Kind::Dhcp, Command::Lease(reason), &points, false);
    }
}

// ---------------------------------------------------------------------------
// Other faults: a dhclient killed, the file changing under a request, hooks
// that misbehave, an ifdown during a slow ifup.

/// A dhclient killed (SIGKILL, from its own `-sf` script, once) as it runs
/// its script for `reason`: netconfd starts another, which gets the lease;
/// `ifdown` then leaves nothing.
fn dhclient_killed_at(reason: &str) {
    let mut w = World::new(Kind::Dhcp);
    let marker = w.h.path(&format!("killed-{reason}"));
    let wrapper = w.h.path("kill-hook");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             if [ \"$reason\" = {reason} ] && [ ! -e {m} ]; then\n\
               : > {m}; kill -9 $PPID; exit 0\n\
             fi\n\
             exec {hook}\n",
            m = marker.display(),
            hook = hook_path().display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let at =
        w.h.options
            .extra
            .iter()
            .position(|a| a == "--dhcp-hook")
            .unwrap();
    w.h.options.extra[at + 1] = wrapper.into_os_string();
    w.h.stop_daemon(libc::SIGTERM);
    w.h.start_daemon();

    let out = run(w.h.ifup_cmd(&["cli0"]));
    if reason == "RELEASE" {
        out.assert_ok();
        // netconfd sends the RELEASE itself when it knows dhclient's client
        // identifier (the DUID in its lease file): without the DUID,
        // `dhclient -r` releases the lease of the file, and runs its script
        // for RELEASE.
        let leases = w.h.path("lib/dhclient.cli0.leases");
        let text =
            fs::read_to_string(&leases).unwrap_or_else(|e| panic!("{}: {e}", leases.display()));
        let without_duid: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("default-duid"))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&leases, without_duid).unwrap();
        run(w.h.ifdown_cmd(&["cli0"])).assert_ok();
    } else {
        out.assert_ok();
        assert!(
            marker.exists(),
            "dhclient never ran its script for {reason}"
        );
        assert!(
            w.h.ns.global_addrs("cli0").contains("198.18.0.100/24"),
            "no lease after dhclient was killed at {reason}"
        );
        assert_eq!(w.dhclients().len(), 1, "{:?}", w.dhclients());
        run(w.h.ifdown_cmd(&["cli0"])).assert_ok();
    }
    assert!(
        marker.exists(),
        "dhclient never ran its script for {reason}"
    );
    assert!(w.h.ns.global_addrs("cli0").is_empty());
    assert!(w.h.state().is_empty());
    wait_until("the dhclients to be gone", || w.dhclients().is_empty());
}

#[test]
fn a_dhclient_killed_at_preinit_is_started_again() {
    dhclient_killed_at("PREINIT");
}

#[test]
fn a_dhclient_killed_at_bound_is_started_again() {
    dhclient_killed_at("BOUND");
}

#[test]
fn a_dhclient_killed_at_release_leaves_nothing() {
    dhclient_killed_at("RELEASE");
}

/// The request reads the file once: a hook that rewrites it changes
/// nothing of this `ifup`, and `ifdown` takes out what was put in.
#[test]
fn the_file_changing_during_a_request_changes_nothing_of_it() {
    let w = World::new(Kind::Static);
    let file = w.h.path("interfaces");
    w.h.write_hook(
        "if-pre-up.d",
        "rewrite",
        &format!(
            "#!/bin/sh\nsed -i 's/198.51.100.10/198.51.100.20/' {}\n",
            file.display()
        ),
    );
    run(w.h.ifup_cmd(&["v0"])).assert_ok();
    assert!(fs::read_to_string(&file).unwrap().contains("198.51.100.20"));
    assert!(w.h.ns.global_addrs("v0").contains("198.51.100.10/24"));
    run(w.h.ifdown_cmd(&["v0"])).assert_ok();
    assert!(
        w.h.ns.global_addrs("v0").is_empty(),
        "{:?}",
        w.h.ns.global_addrs("v0")
    );
    assert!(w.h.ns.netconf_routes().is_empty());
}

/// A hook that leaves a child running (holding its output) is over when
/// it exits; one that closes its output early is fine too.
#[test]
fn hooks_that_leave_children_or_close_their_output_do_not_hold_the_ifup() {
    let mut w = World::new(Kind::Static);
    w.h.options.hook_timeout = Some(20);
    w.h.stop_daemon(libc::SIGTERM);
    w.h.start_daemon();
    let pid_file = w.h.path("child.pid");
    w.h.write_hook(
        "if-up.d",
        "leave-a-child",
        &format!(
            "#!/bin/sh\nsleep 60 &\necho $! > {}\necho started\n",
            pid_file.display()
        ),
    );
    w.h.write_hook(
        "if-up.d",
        "zz-close-output",
        "#!/bin/sh\nexec 1>&-\necho closed >&2\n",
    );
    let out = run(w.h.ifup_cmd(&["v0"]));
    let child: Option<i32> = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse().ok());
    if let Some(pid) = child {
        // SAFETY: kill has no memory-safety preconditions; the sleep our
        // hook started, by the PID it wrote.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    out.assert_ok();
    out.assert_output_contains("started");
    out.assert_output_contains("closed");
    assert!(w.h.ns.global_addrs("v0").contains("198.51.100.10/24"));
}

/// An `ifdown` that comes while the `ifup` of the same interface runs
/// waits for it, then takes it down: nothing is left.
#[test]
fn an_ifdown_during_a_slow_ifup_waits_for_it() {
    let w = World::new(Kind::Static);
    let gate = w.h.path("gate");
    w.h.write_hook(
        "if-pre-up.d",
        "slow",
        &format!(
            "#!/bin/sh\ni=0\nwhile [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n",
            gate.display()
        ),
    );
    let up = Running::spawn(w.h.ifup_cmd(&["v0"]));
    wait_until("the ifup to wait in its hook", || {
        w.h.daemon_log().contains("if-pre-up.d/slow")
    });
    let down = Running::spawn(w.h.ifdown_cmd(&["v0"]));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        netconf_tests::process_alive(down.pid()),
        "the ifdown did not wait for the ifup"
    );
    fs::write(&gate, "").unwrap();
    up.wait().assert_ok();
    down.wait().assert_ok();
    assert!(w.h.ns.global_addrs("v0").is_empty());
    assert!(!w.h.ns.is_up("v0"));
    assert!(w.h.state().is_empty());
}

/// netconfd stopped (SIGSTOP) for longer than the hook's retry window while
/// dhclient renews: dhclient keeps its lease (the hook gives up and exits
/// 0), and the daemon, continued, applies the renewal from the lease file.
#[test]
fn a_renewal_while_netconfd_is_stopped_is_caught_up_on() {
    let mut w = World::with_lease(Kind::Dhcp, "2m");
    // The hook waits 5 s for a daemon that took its event and says nothing
    // (60 s by default: more than half of dnsmasq's shortest lease).
    let wrapper = w.h.path("impatient-hook");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nNETCONF_HOOK_TIMEOUT_MS=5000 exec {}\n",
            hook_path().display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let at =
        w.h.options
            .extra
            .iter()
            .position(|a| a == "--dhcp-hook")
            .unwrap();
    w.h.options.extra[at + 1] = wrapper.into_os_string();
    w.h.stop_daemon(libc::SIGTERM);
    w.h.start_daemon();
    run(w.h.ifup_cmd(&["cli0"])).assert_ok();
    let pid = w.h.daemon_pid().expect("netconfd");
    let dhclient = w.dhclients();
    assert_eq!(dhclient.len(), 1, "{dhclient:?}");
    let leases = fs::read_dir(w.h.path("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".leases"))
        .expect("dhclient's lease file");
    let before = fs::read_to_string(&leases).unwrap();
    let expiry = || -> u64 {
        let mut conn = w.h.connect();
        let s = conn.request(r#"{"version":1,"id":1,"op":"status","args":{"iface":"cli0"}}"#);
        s["result"]["interfaces"][0]["dhcp"][0]["lease"]["expiry"]
            .as_u64()
            .unwrap_or(0)
    };
    let first = expiry();

    // SAFETY: kill has no memory-safety preconditions; our own daemon.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
    // dhclient renews after half the lease (a minute), waits for its hook
    // (5 s), then writes the lease down.
    let renewed = std::time::Instant::now() + std::time::Duration::from_secs(110);
    while fs::read_to_string(&leases).unwrap_or_default() == before {
        assert!(
            std::time::Instant::now() < renewed,
            "dhclient did not renew within 110 s (safety net)"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) };
    assert_eq!(w.dhclients(), dhclient, "dhclient was replaced");
    wait_until("netconfd to apply the renewal", || expiry() > first);
    let addr = w.h.ns.ip_json(&["-4", "addr", "show", "dev", "cli0"]);
    let valid = addr[0]["addr_info"][0]["valid_life_time"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        valid > 90,
        "the address's lifetime was not refreshed: {valid} s left"
    );
    assert!(w
        .h
        .daemon_log()
        .contains("a lease renewed while netconfd was stopped"));
    run(w.h.ifdown_cmd(&["cli0"])).assert_ok();
    assert!(w.h.ns.global_addrs("cli0").is_empty());
}
