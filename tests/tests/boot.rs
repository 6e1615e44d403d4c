//! Boot simulation (issue 7): the steps the boot units run, in their order,
//! in network namespaces of the test's own, against an interfaces file with
//! a DHCP interface (a real dnsmasq answering, a real ISC dhclient asking),
//! three static interfaces (one with an IPv6 address too) and a bridge over
//! two veth ports.
//!
//! What the units run, and what the tests run in their place:
//!
//! - `netconfd.service`: netconfd, `Type=notify` (ready once its socket
//!   serves). Here: netconfd in the client namespace with the test's own
//!   socket, run, state and hook directories, `--resolv-conf` in the test's
//!   directory, started like every daemon test (it returns once a ping over
//!   the socket is answered, what READY=1 means).
//! - `networking.service`: its first `ExecStart=` line, read from
//!   `debian-integration/systemd/networking.service` (`/sbin/ifup -a
//!   --read-environment`), with the environment of its `EnvironmentFile=`
//!   (a copy of `debian-integration/default/networking` with settings
//!   added), our `ifup` in place of `/sbin/ifup`. Its `ExecStartPre=`
//!   (`udevadm settle`) and its second `ExecStart=` (only after a stop) are
//!   not run: there is no udev in a test namespace, and no earlier stop.
//! - `netconf-wait-online.service`: its `ExecStart=` line, read from the
//!   unit (`/bin/sh -c '... exec /usr/bin/netconfctl wait-online --timeout
//!   "${WAIT_ONLINE_TIMEOUT:-300}" ${WAIT_ONLINE_IFACE}'`), with our
//!   `netconfctl`, and `WAIT_ONLINE_TIMEOUT` from the environment file.
//! - the sysvinit `/etc/init.d/networking start` (and `stop`): a copy of
//!   `debian-integration/sysvinit/networking` whose path lines point at the
//!   test's binaries and files (as `packaging.rs` does with the helpers),
//!   run in the client namespace; it starts netconfd with
//!   `start-stop-daemon --notify-await`, runs `udevadm settle` (a stand-in
//!   that notes the call), `ifup -a --read-environment` and raises the
//!   allow-hotplug interfaces present.
//!
//! The tests:
//!
//! - wait-online started right after netconfd, before `ifup -a` (it may, as
//!   Debian's `ifupdown-wait-online.service` is not ordered after
//!   `networking.service`): it answers only once every `auto` interface is
//!   configured. Two gates hold the last steps: the bridge's `pre-up`
//!   line waits for a marker file, and the hook netconfd gives dhclient
//!   waits for another one before the real hook applies the BOUND lease
//!   (dnsmasq has answered; the lease is held). With everything else done,
//!   wait-online must still be waiting; one test releases the bridge last,
//!   the other the lease; the kernel is checked the moment wait-online has
//!   exited.
//! - systemd's order (wait-online after `networking.service`): `ifup -a`
//!   returns with everything configured, then wait-online answers.
//! - no DHCP server: wait-online (`WAIT_ONLINE_TIMEOUT=3`) exits 1 at its
//!   timeout naming cli0, the static interfaces and the bridge are up
//!   regardless; `ifup -a` fails naming cli0 once netconfd's
//!   `--dhcp-timeout` has passed; a wait-online started after that (systemd's
//!   order) names cli0 alone.
//! - the sysvinit script: `start` brings up everything (the lease, the
//!   allow-hotplug interface; not what `EXCLUDE_INTERFACES` excludes) and
//!   lists netconfd and its dhclient in the omit directory of the
//!   shutdown's sendsigs, and `stop` takes it down, stops netconfd and
//!   takes the omit entries out.
//!
//! Rules, as in the other daemon tests: only namespaces of the test's own
//! and addresses from 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24 and
//! 2001:db8::/32; processes killed by the PID the test started, or, for what
//! netconfd started (dhclient, hooks, gates), one PID at a time by the
//! test's private directory in their command line or environment. Waits
//! are for events (a line, a marker file, a state) with timeouts only as
//! safety nets; nothing asserts how long anything took.
//!
//! Needs root, dnsmasq, ISC dhclient and start-stop-daemon (dpkg). Run:
//! `cargo build --bins && cargo test -p netconf-tests --test boot`.

use netconf_tests::{
    bins, dhcp_world_dir, has_flag, hook_path, kill_processes_mentioning, process_alive,
    process_cmdline, process_mentions, repo_root, require_root, run, wait_until, Daemon,
    DaemonOptions, DhcpServer, Netns, Out, Running, NETCONF_PROTO, WAIT_TIMEOUT,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SRV: &str = "srv0";
const CLI: &str = "cli0";
/// dnsmasq: leases from 198.18.0.100-199, itself the router, a DNS server.
const SERVER_OPTIONS: &[&str] = &[
    "--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h",
    "--dhcp-option=option:dns-server,198.18.0.53",
];
const NAMESERVER: &str = "nameserver 198.18.0.53";
const ORIGINAL_RESOLV: &str = "# the test's own resolv.conf\nnameserver 203.0.113.53\n";
/// The static interfaces and their IPv4 addresses.
const STATICS: &[(&str, &str)] = &[
    ("st0", "198.51.100.1/28"),
    ("st1", "198.51.100.17/28"),
    ("st2", "198.51.100.33/28"),
];
/// An `inet6 static` stanza too, whose address must be past duplicate
/// address detection when the interface counts as configured.
const V6: (&str, &str) = ("st2", "2001:db8:2::1/64");
const BRIDGE: &str = "br0";
const BRIDGE_ADDR: &str = "203.0.113.1/24";
const PORTS: &[&str] = &["p0", "p1"];
/// The sysvinit test's extras: an allow-hotplug interface that is present,
/// and an `auto` one that EXCLUDE_INTERFACES leaves alone.
const HOTPLUG: (&str, &str) = ("hp0", "198.51.100.49/28");
const EXCLUDED: (&str, &str) = ("st9", "198.51.100.65/28");
/// netconfd's `--dhcp-timeout` where a lease comes: a safety net only.
const LEASE_WAIT: u64 = 60;

/// The `auto` interfaces wait-online waits for (all but lo).
fn auto_ifaces() -> BTreeSet<String> {
    let mut s: BTreeSet<String> = STATICS.iter().map(|(n, _)| n.to_string()).collect();
    s.insert(CLI.into());
    s.insert(BRIDGE.into());
    s
}

fn write_executable(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("mkdir");
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A file of `debian-integration/`.
fn integration(rel: &str) -> String {
    let path = repo_root().join("debian-integration").join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `ExecStart=` values of one of our units, in order.
fn exec_starts(unit: &str) -> Vec<String> {
    integration(&format!("systemd/{unit}"))
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .map(String::from)
        .collect()
}

/// A systemd `EnvironmentFile=`: `KEY=VALUE` lines; comments, blank lines
/// and lines without `=` ignored; one level of quotes taken off.
fn environment_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A command whose output is read line by line while it runs

/// A client started in the background whose stdout and stderr lines are
/// read as they come (wait-online says what it waits for before it
/// answers). Killed by its PID on drop if still running.
struct Streamed {
    what: String,
    child: Child,
    lines: Receiver<String>,
    said: Vec<String>,
    status: Option<ExitStatus>,
}

impl Streamed {
    fn spawn(mut cmd: Command) -> Streamed {
        let what = netconf_tests::describe(&cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let (tx, lines) = mpsc::channel();
        fn pump<R: Read + Send + 'static>(r: R, tx: Sender<String>) {
            thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        pump(child.stdout.take().expect("stdout"), tx.clone());
        pump(child.stderr.take().expect("stderr"), tx);
        Streamed {
            what,
            child,
            lines,
            said: Vec::new(),
            status: None,
        }
    }

    /// Reads lines until one satisfies `want` (safety net: WAIT_TIMEOUT).
    fn expect_line(&mut self, what: &str, want: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            if self.said.iter().any(|l| want(l)) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.said.push(line),
                Err(_) => panic!(
                    "`{}` never said {what} (safety net):\n{}",
                    self.what,
                    self.said.join("\n")
                ),
            }
        }
    }

    fn collect(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.said.push(line);
        }
    }

    fn running(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status.is_none()
    }

    /// Waits (safety net) for it to exit; returns its status right then.
    fn wait_exit(&mut self) -> ExitStatus {
        wait_until(&format!("`{}` to exit", self.what), || !self.running());
        self.status.expect("exit status")
    }

    /// Everything it said, once it has exited (both pipes read to the end).
    fn output(&mut self) -> String {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.said.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("`{}`: output never ended", self.what),
            }
        }
        self.said.join("\n")
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill has no memory-safety preconditions; the PID is
            // our unreaped child's.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// One test's world

#[derive(Clone, Copy, Default)]
struct Setup {
    /// Start dnsmasq.
    server: bool,
    /// The bridge's `pre-up` waits for `go-br0`; the BOUND hook for `go-dhcp`.
    gates: bool,
    /// The allow-hotplug and the excluded interface of the sysvinit test.
    sysvinit: bool,
    /// netconfd's `--dhcp-timeout`.
    dhcp_timeout: u64,
    /// `WAIT_ONLINE_TIMEOUT` in the environment file.
    wait_online_timeout: u64,
}

/// A server namespace with dnsmasq on `srv0`, a client namespace with
/// `cli0` (the other end), the static interfaces' and the bridge ports'
/// veth pairs (peers up), the interfaces file, the environment file, the
/// test's resolv.conf. On drop: netconfd (by the PID we started, or by its
/// pid file when start-stop-daemon started it), what else of the test's
/// runs in the client namespace (one PID at a time, found by the test's
/// directory), dnsmasq (its PID), the namespaces, the directory.
struct Boot {
    daemon: Option<Daemon>,
    server: Option<DhcpServer>,
    setup: Setup,
    cli: Netns,
    srv: Netns,
    dir: tempfile::TempDir,
}

impl Boot {
    fn new(setup: Setup) -> Boot {
        let dir = dhcp_world_dir("nct-boot-", "boot");
        let srv = Netns::new();
        let cli = Netns::new();
        srv.ip(&[
            "link",
            "add",
            SRV,
            "type",
            "veth",
            "peer",
            "name",
            CLI,
            "netns",
            cli.name(),
        ]);
        srv.ip(&["addr", "add", "198.18.0.1/24", "dev", SRV]);
        srv.ip(&["link", "set", SRV, "up"]);
        for (name, _) in STATICS {
            cli.veth(name);
        }
        for port in PORTS {
            cli.veth(port);
        }
        if setup.sysvinit {
            cli.veth(HOTPLUG.0);
            cli.veth(EXCLUDED.0);
        }
        let mut boot = Boot {
            daemon: None,
            server: None,
            setup,
            cli,
            srv,
            dir,
        };
        fs::write(boot.path("interfaces"), boot.interfaces()).expect("interfaces");
        fs::write(boot.path("resolv.conf"), ORIGINAL_RESOLV).expect("resolv.conf");
        // /etc/default/networking as the package installs it, with the
        // settings a boot reads from it.
        let mut defaults = integration("default/networking");
        defaults.push_str(&format!(
            "CONFIGURE_INTERFACES=yes\nVERBOSE=yes\nWAIT_ONLINE_TIMEOUT={}\n",
            setup.wait_online_timeout
        ));
        if setup.sysvinit {
            defaults.push_str(&format!("EXCLUDE_INTERFACES={}\n", EXCLUDED.0));
        }
        fs::write(boot.path("default-networking"), defaults).expect("defaults");
        // dhclient's hook: the real one, behind a gate for BOUND when asked.
        write_executable(
            &boot.path("dhcp-hook"),
            &format!(
                "#!/bin/sh\n\
                 # netconfd's dhclient runs this for each event; the BOUND that\n\
                 # applies the lease waits for {go} when the test holds it.\n\
                 if [ \"$reason\" = BOUND ] && [ -e {gated} ]; then\n\
                 \x20   : > {held}\n\
                 \x20   while [ ! -e {go} ]; do sleep 0.02; done\n\
                 fi\n\
                 exec {hook}\n",
                gated = boot.path("gate-dhcp").display(),
                held = boot.path("held-dhcp").display(),
                go = boot.path("go-dhcp").display(),
                hook = hook_path().display(),
            ),
        );
        if setup.gates {
            fs::write(boot.path("gate-dhcp"), "").expect("gate");
        }
        if setup.server {
            boot.server = Some(DhcpServer::start(
                &boot.srv,
                SRV,
                boot.dir.path(),
                "dnsmasq",
                SERVER_OPTIONS,
            ));
        }
        boot
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tag(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn socket(&self) -> PathBuf {
        self.path("ctl.sock")
    }

    fn interfaces(&self) -> String {
        let mut s =
            String::from("auto lo\niface lo inet loopback\n\nauto cli0\niface cli0 inet dhcp\n");
        for (name, addr) in STATICS {
            s.push_str(&format!(
                "\nauto {name}\niface {name} inet static\n    address {addr}\n"
            ));
        }
        s.push_str(&format!(
            "iface {} inet6 static\n    address {}\n",
            V6.0, V6.1
        ));
        s.push_str(&format!(
            "\nauto {BRIDGE}\niface {BRIDGE} inet static\n    address {BRIDGE_ADDR}\n    \
             bridge-ports {}\n    bridge-stp off\n    bridge-fd 0\n",
            PORTS.join(" ")
        ));
        if self.setup.gates {
            s.push_str(&format!(
                "    pre-up : > {held}; while [ ! -e {go} ]; do sleep 0.02; done\n",
                held = self.path("held-br0").display(),
                go = self.path("go-br0").display()
            ));
        }
        if self.setup.sysvinit {
            s.push_str(&format!(
                "\nallow-hotplug {0}\niface {0} inet static\n    address {1}\n\
                 \nauto {2}\niface {2} inet static\n    address {3}\n",
                HOTPLUG.0, HOTPLUG.1, EXCLUDED.0, EXCLUDED.1
            ));
        }
        s
    }

    /// netconfd as netconfd.service runs it (`--dhcp-hook`), with the
    /// test's directories; returns once it serves.
    fn start_daemon(&mut self) {
        let line = &exec_starts("netconfd.service")[0];
        assert!(
            line.starts_with("/usr/sbin/netconfd --dhcp-hook "),
            "netconfd.service's ExecStart changed; update this test: {line}"
        );
        let extra: Vec<OsString> = vec![
            "--dhcp-hook".into(),
            self.path("dhcp-hook").into(),
            "--resolv-conf".into(),
            self.path("resolv.conf").into(),
            "--dhcp-timeout".into(),
            self.setup.dhcp_timeout.to_string().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
        ];
        self.daemon = Some(Daemon::start_with_args(
            &self.cli,
            self.dir.path(),
            &DaemonOptions::default(),
            &extra,
        ));
    }

    /// The environment a unit's command gets: its `EnvironmentFile=`, a
    /// PATH, and our socket (the units use the default socket path).
    fn unit_env(&self) -> Vec<(String, String)> {
        let text = fs::read_to_string(self.path("default-networking")).expect("defaults");
        let mut env = environment_file(&text);
        env.push(("PATH".into(), PATH.into()));
        env.push(("NETCONF_SOCKET".into(), self.tag() + "/ctl.sock"));
        env
    }

    /// The `n`th `ExecStart=` of `unit`, as systemd runs it (the `$$` of a
    /// unit file is a `$` for the shell), our binaries in place of the
    /// installed ones, in a clean environment.
    fn unit_command(&self, unit: &str, n: usize) -> Command {
        let line = exec_starts(unit)
            .get(n)
            .cloned()
            .unwrap_or_else(|| panic!("{unit} has no ExecStart number {n}"));
        let mut text = line.replace("$$", "$");
        for (installed, ours) in [
            ("/usr/bin/netconfctl", &bins().netconfctl),
            ("/sbin/ifup", &bins().ifup),
        ] {
            text = text.replace(installed, &ours.to_string_lossy());
        }
        assert!(
            text.contains(&*bins().dir.to_string_lossy()),
            "{unit}: `{line}` runs none of our binaries"
        );
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(text)
            .env_clear()
            .envs(self.unit_env())
            .current_dir("/");
        c
    }

    /// networking.service's `ExecStart=/sbin/ifup -a --read-environment`.
    fn networking_service(&self) -> Command {
        let line = &exec_starts("networking.service")[0];
        assert_eq!(
            line, "/sbin/ifup -a --read-environment",
            "networking.service"
        );
        self.unit_command("networking.service", 0)
    }

    /// netconf-wait-online.service's `ExecStart=`, started.
    fn wait_online_service(&self) -> Streamed {
        let line = &exec_starts("netconf-wait-online.service")[0];
        assert!(
            line.contains("/usr/bin/netconfctl wait-online --timeout"),
            "netconf-wait-online.service: {line}"
        );
        Streamed::spawn(self.unit_command("netconf-wait-online.service", 0))
    }

    /// `netconfctl status --json`.
    fn status(&self) -> Value {
        let mut c = Command::new(&bins().netconfctl);
        c.arg("--socket")
            .arg(self.socket())
            .args(["status", "--json"])
            .current_dir("/");
        let out = run(c);
        out.assert_ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status is not JSON ({e}):\n{out}"))
    }

    fn state_of(&self, name: &str) -> String {
        let s = self.status();
        s["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["name"] == name)
            .and_then(|i| i["state"].as_str())
            .unwrap_or("absent")
            .to_string()
    }

    /// What is wrong with the kernel's view of the static interfaces and
    /// the bridge (with its ports), and with cli0's lease when `lease`.
    fn problems(&self, lease: bool) -> Vec<String> {
        let mut bad = Vec::new();
        let ns = &self.cli;
        for (name, addr) in STATICS {
            let mut want: BTreeSet<String> = [addr.to_string()].into();
            if *name == V6.0 {
                want.insert(V6.1.to_string());
            }
            if !ns.is_up(name) {
                bad.push(format!("{name} is down"));
            }
            let have = ns.global_addrs(name);
            if have != want {
                bad.push(format!("{name} has {have:?}, not {want:?}"));
            }
        }
        let v6 = ns.ip_json(&["-6", "addr", "show", "dev", V6.0]);
        let tentative = v6
            .iter()
            .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
            .any(|a| a["local"] == V6.1.split('/').next().unwrap() && a.get("tentative").is_some());
        if tentative {
            bad.push(format!("{} is still tentative on {} (DAD)", V6.1, V6.0));
        }
        match ns.try_ip(&["-j", "-d", "link", "show", "dev", BRIDGE]) {
            out if out.success() => {
                let link: Value = serde_json::from_str::<Vec<Value>>(&out.stdout)
                    .expect("ip -j")
                    .remove(0);
                if link["linkinfo"]["info_kind"] != "bridge" {
                    bad.push(format!("{BRIDGE} is no bridge: {link}"));
                }
                if !has_flag(&link, "UP") {
                    bad.push(format!("{BRIDGE} is down"));
                }
                let have = ns.global_addrs(BRIDGE);
                if have != [BRIDGE_ADDR.to_string()].into() {
                    bad.push(format!("{BRIDGE} has {have:?}"));
                }
                for port in PORTS {
                    let l = ns.link(port);
                    if l["master"] != BRIDGE {
                        bad.push(format!("{port} is not a port of {BRIDGE}: {l}"));
                    }
                    if !has_flag(&l, "UP") {
                        bad.push(format!("{port} is down"));
                    }
                }
            }
            _ => bad.push(format!("no {BRIDGE}")),
        }
        if lease {
            let have = ns.global_addrs(CLI);
            let leased = have.len() == 1
                && have.iter().all(|a| {
                    a.strip_prefix("198.18.0.")
                        .and_then(|r| r.strip_suffix("/24"))
                        .and_then(|h| h.parse::<u8>().ok())
                        .is_some_and(|h| (100..200).contains(&h))
                });
            if !ns.is_up(CLI) || !leased {
                bad.push(format!(
                    "{CLI} has no lease: up {}, {have:?}",
                    ns.is_up(CLI)
                ));
            }
            let defaults = ns.default_routes("-4");
            if !defaults.iter().any(|r| {
                r["gateway"] == "198.18.0.1"
                    && r["dev"] == CLI
                    && r["protocol"].as_str() == Some(NETCONF_PROTO)
            }) {
                bad.push(format!("no default route of the lease: {defaults:?}"));
            }
            let resolv = fs::read_to_string(self.path("resolv.conf")).unwrap_or_default();
            if !resolv.contains(NAMESERVER) {
                bad.push(format!("resolv.conf has not the lease's DNS:\n{resolv}"));
            }
        }
        bad
    }

    /// Fails, showing the kernel's view, unless [`Boot::problems`] is empty.
    fn assert_configured(&self, lease: bool, when: &str) {
        let bad = self.problems(lease);
        assert!(
            bad.is_empty(),
            "{when}:\n  {}\n--- ip addr ---\n{}",
            bad.join("\n  "),
            self.cli.ip(&["addr", "show"])
        );
    }

    /// Waits (safety net) until `check` passes, showing its last answer.
    fn wait_for(&self, what: &str, mut check: impl FnMut() -> Result<(), String>) {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let Err(last) = check() else {
                return;
            };
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what} (safety net): {last}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `names` are all `up` in netconfd's status.
    fn wait_up(&self, names: &[&str]) {
        self.wait_for(&format!("{names:?} up"), || {
            let s = self.status();
            for name in names {
                let state = s["interfaces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["name"] == *name)
                    .map(|i| i["state"].clone());
                if state != Some(Value::from("up")) {
                    return Err(format!("{name} is {state:?}"));
                }
            }
            Ok(())
        });
    }

    fn release(&self, gate: &str) {
        fs::write(self.path(&format!("go-{gate}")), "").expect("opening a gate");
    }

    fn held(&self, gate: &str) -> bool {
        self.path(&format!("held-{gate}")).exists()
    }

    /// The pid file of the netconfd that start-stop-daemon started (the
    /// sysvinit test), and the PID in it if it is that netconfd and alive.
    fn backgrounded_daemon(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.path("pid/netconfd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        (process_alive(pid)
            && process_mentions(pid, &self.tag())
            && process_cmdline(pid).contains("netconfd"))
        .then_some(pid)
    }
}

impl Drop for Boot {
    fn drop(&mut self) {
        if thread::panicking() {
            let read = |rel: &str| fs::read_to_string(self.path(rel)).unwrap_or_default();
            eprintln!(
                "===== interfaces =====\n{}\n===== netconfd log (client namespace {}) =====\n{}\n\
                 ===== dnsmasq log (server namespace {}) =====\n{}\n\
                 ===== dhclient of cli0 =====\n{}\n===== resolv.conf =====\n{}\n===== end =====",
                read("interfaces"),
                self.cli.name(),
                read("netconfd.log"),
                self.srv.name(),
                read("dnsmasq.log"),
                read("run/dhclient.cli0.log"),
                read("resolv.conf"),
            );
        }
        self.daemon.take();
        if let Some(pid) = self.backgrounded_daemon() {
            // SAFETY: kill has no memory-safety preconditions; the PID is
            // the netconfd this test had start-stop-daemon start (checked
            // by its command line just now).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        // dhclient, the hooks (a held gate among them), dhclient -r.
        kill_processes_mentioning(&self.cli, &self.tag());
        self.server.take();
        kill_processes_mentioning(&self.srv, &self.tag());
    }
}

// ---------------------------------------------------------------------------
// systemd: netconfd, networking.service, netconf-wait-online.service

#[derive(Clone, Copy, PartialEq, Debug)]
enum Last {
    Bridge,
    Lease,
}

/// netconfd; wait-online right after it (before `ifup -a`); then `ifup -a`
/// with the bridge's `pre-up` and the BOUND hook held; everything else
/// done and wait-online still waiting; `first` released, wait-online still
/// waiting; the other released: wait-online exits 0, and at that moment
/// everything is configured.
fn wait_online_before_ifup(last: Last) {
    let mut b = Boot::new(Setup {
        server: true,
        gates: true,
        dhcp_timeout: LEASE_WAIT,
        wait_online_timeout: 120,
        ..Setup::default()
    });
    b.start_daemon();

    let mut waiter = b.wait_online_service();
    for name in auto_ifaces() {
        waiter.expect_line(&format!("that it waits for {name}"), |l| {
            l.contains("waiting for") && l.ends_with(&format!(" {name}"))
        });
    }
    waiter.collect();
    assert!(
        !waiter.said.iter().any(|l| l.ends_with(" lo")),
        "wait-online must not wait for lo:\n{}",
        waiter.said.join("\n")
    );
    assert!(
        waiter.running(),
        "wait-online exited before ifup -a ran:\n{}",
        waiter.said.join("\n")
    );

    let ifup = Running::spawn(b.networking_service());
    // The static interfaces are done, the bridge waits in its pre-up line,
    // dnsmasq has answered and the BOUND hook is held.
    let statics: Vec<&str> = STATICS.iter().map(|(n, _)| *n).collect();
    b.wait_up(&statics);
    b.wait_for("both gates to hold", || {
        match (b.held("br0"), b.held("dhcp")) {
            (true, true) => Ok(()),
            other => Err(format!("held (br0, dhcp): {other:?}")),
        }
    });
    assert!(
        waiter.running(),
        "wait-online returned with the bridge and the lease still held:\n{}",
        waiter.said.join("\n")
    );

    let (first, second, first_name) = match last {
        Last::Bridge => ("dhcp", "br0", CLI),
        Last::Lease => ("br0", "dhcp", BRIDGE),
    };
    b.release(first);
    b.wait_up(&[first_name]);
    assert!(b.held(second) && !b.path(&format!("go-{second}")).exists());
    assert!(
        waiter.running(),
        "wait-online returned with {second} still held:\n{}",
        waiter.said.join("\n")
    );

    b.release(second);
    let status = waiter.wait_exit();
    // The moment wait-online has exited: everything is configured.
    b.assert_configured(true, "when wait-online exited");
    let said = waiter.output();
    assert!(status.success(), "wait-online failed ({status}):\n{said}");
    assert!(said.contains("online after"), "{said}");
    for name in auto_ifaces() {
        assert_eq!(b.state_of(&name), "up", "{name} when wait-online exited");
    }
    let up = ifup.wait();
    up.assert_ok();
    b.assert_configured(true, "after ifup -a");
}

#[test]
fn wait_online_started_before_ifup_returns_only_once_the_bridge_is_up() {
    wait_online_before_ifup(Last::Bridge);
}

#[test]
fn wait_online_started_before_ifup_returns_only_once_the_lease_is_applied() {
    wait_online_before_ifup(Last::Lease);
}

/// systemd's order: netconfd.service, networking.service (`ifup -a`
/// returns with every auto interface configured, the lease included), then
/// netconf-wait-online.service (After=networking.service) answers.
#[test]
fn boot_in_systemd_order_ifup_returns_configured_and_wait_online_answers() {
    let mut b = Boot::new(Setup {
        server: true,
        dhcp_timeout: LEASE_WAIT,
        wait_online_timeout: 120,
        ..Setup::default()
    });
    b.start_daemon();
    let up = run(b.networking_service());
    up.assert_ok();
    b.assert_configured(true, "when ifup -a (networking.service) returned");

    let mut waiter = b.wait_online_service();
    let status = waiter.wait_exit();
    let said = waiter.output();
    assert!(status.success(), "wait-online failed ({status}):\n{said}");
    assert!(said.contains("online after"), "{said}");
    b.assert_configured(true, "when wait-online exited");
}

/// The "not configured yet: ..." list of wait-online's timeout message.
fn not_configured(said: &str) -> Vec<String> {
    let line = said
        .lines()
        .find(|l| l.contains("not configured yet:"))
        .unwrap_or_else(|| panic!("no timeout message:\n{said}"));
    let list = line.split("not configured yet:").nth(1).unwrap_or_default();
    // "cli0 (configuring), br0 (failed): error text, ..." -> names.
    list.split(", ")
        .filter_map(|item| item.trim().split(' ').next())
        .filter(|name| !name.is_empty())
        .map(String::from)
        .collect()
}

/// No DHCP server: wait-online (started before `ifup -a`) exits 1 at
/// WAIT_ONLINE_TIMEOUT=3 naming cli0; the static interfaces and the bridge
/// are up regardless, and stay up when `ifup -a` fails on cli0; a
/// wait-online started after `ifup -a` (systemd's order) names cli0 alone.
#[test]
fn without_a_dhcp_server_wait_online_times_out_naming_cli0_and_the_rest_is_up() {
    let mut b = Boot::new(Setup {
        server: false,
        dhcp_timeout: 5,
        wait_online_timeout: 3,
        ..Setup::default()
    });
    b.start_daemon();
    let mut waiter = b.wait_online_service();
    waiter.expect_line("that it waits for cli0", |l| {
        l.contains("waiting for") && l.ends_with(" cli0")
    });
    let ifup = Running::spawn(b.networking_service());

    let status = waiter.wait_exit();
    let said = waiter.output();
    assert_eq!(status.code(), Some(1), "wait-online:\n{said}");
    assert!(said.contains("timed out after 3 s"), "{said}");
    assert!(
        not_configured(&said).contains(&CLI.to_string()),
        "the message must name cli0:\n{said}"
    );
    assert!(!said.contains("online after"), "{said}");

    // ifup -a fails on cli0 once netconfd's --dhcp-timeout has passed; the
    // rest was configured and stays so.
    let up = ifup.wait();
    up.assert_code(1);
    up.assert_output_contains(CLI);
    b.assert_configured(false, "after ifup -a failed on cli0");
    let statics: Vec<&str> = STATICS.iter().map(|(n, _)| *n).collect();
    b.wait_up(&statics);
    b.wait_up(&[BRIDGE]);
    assert!(
        b.cli.global_addrs(CLI).is_empty(),
        "cli0 has addresses without a server: {:?}",
        b.cli.global_addrs(CLI)
    );

    // systemd's order: wait-online after networking.service. Everything
    // else is configured by now, so the message names cli0 alone.
    let mut waiter = b.wait_online_service();
    let status = waiter.wait_exit();
    let said = waiter.output();
    assert_eq!(status.code(), Some(1), "wait-online:\n{said}");
    assert!(said.contains("timed out after 3 s"), "{said}");
    assert_eq!(not_configured(&said), [CLI], "{said}");
    b.assert_configured(false, "after the second wait-online");
}

// ---------------------------------------------------------------------------
// sysvinit: /etc/init.d/networking start, stop

/// A copy of `rel` (in debian-integration/) at `dest` with each of `lines`
/// (exactly as in the script, where it must occur once) replaced.
fn copy_script(rel: &str, dest: &Path, lines: &[(&str, String)]) {
    let mut text = integration(rel);
    for (old, new) in lines {
        let count = text.lines().filter(|l| l == old).count();
        assert_eq!(count, 1, "{rel}: expected the line `{old}` exactly once");
        text = text.replacen(&format!("{old}\n"), &format!("{new}\n"), 1);
    }
    write_executable(dest, &text);
}

impl Boot {
    /// The init script and the stop helper, pointed at the test's
    /// binaries and files: `ifup`, `ifdown` and `ifquery` on PATH are
    /// wrappers adding the socket and the interfaces file; `udevadm` notes
    /// its calls; the stop helper reads empty mount and swap tables.
    fn sysvinit_script(&self) -> PathBuf {
        let p = |rel: &str| self.path(rel).display().to_string();
        let sock = p("ctl.sock");
        for (name, bin) in [("ifup", &bins().ifup), ("ifdown", &bins().ifdown)] {
            write_executable(
                &self.path("bin").join(name),
                &format!("#!/bin/sh\nexec {} --socket {sock} \"$@\"\n", bin.display()),
            );
        }
        write_executable(
            &self.path("bin/ifquery"),
            &format!(
                "#!/bin/sh\nNETCONF_SOCKET={sock}\nexport NETCONF_SOCKET\nexec {} -i {} \"$@\"\n",
                bins().ifquery.display(),
                p("interfaces")
            ),
        );
        write_executable(
            &self.path("bin/udevadm"),
            &format!("#!/bin/sh\necho \"udevadm $*\" >> {}\n", p("udevadm.calls")),
        );
        fs::write(self.path("mounts"), "/dev/vda1 / ext4 rw 0 0\n").expect("mounts");
        fs::write(self.path("swaps"), "Filename\tType\tSize\tUsed\tPriority\n").expect("swaps");
        copy_script(
            "lib/netconf-networking-stop",
            &self.path("netconf-networking-stop"),
            &[
                ("MOUNTS=/proc/mounts", format!("MOUNTS={}", p("mounts"))),
                ("SWAPS=/proc/swaps", format!("SWAPS={}", p("swaps"))),
                (
                    "ISCSI_ROOT=/etc/iscsi/iscsi.initramfs",
                    format!("ISCSI_ROOT={}", p("iscsi.initramfs")),
                ),
                ("IFDOWN=/sbin/ifdown", format!("IFDOWN={}", p("bin/ifdown"))),
            ],
        );
        let script = self.path("init.d-networking");
        copy_script(
            "sysvinit/networking",
            &script,
            &[
                (
                    "PATH=/sbin:/bin:/usr/sbin:/usr/bin",
                    format!("PATH={}:/sbin:/bin:/usr/sbin:/usr/bin", p("bin")),
                ),
                (
                    "DAEMON=/usr/sbin/netconfd",
                    format!("DAEMON={}", bins().netconfd.display()),
                ),
                (
                    "DHCP_HOOK=/usr/lib/netconf/netconf-dhcp-hook",
                    format!("DHCP_HOOK={}", p("dhcp-hook")),
                ),
                (
                    "STOP_HELPER=/usr/lib/netconf/netconf-networking-stop",
                    format!("STOP_HELPER={}", p("netconf-networking-stop")),
                ),
                (
                    "PIDFILE=/run/netconf/netconfd.pid",
                    format!("PIDFILE={}", p("pid/netconfd.pid")),
                ),
                ("RUN_DIR=/run/netconf", format!("RUN_DIR={}", p("run"))),
                (
                    "OMIT_DIR=/run/sendsigs.omit.d",
                    format!("OMIT_DIR={}", p("sendsigs.omit.d")),
                ),
                (
                    "LOGFILE=/var/log/netconfd.log",
                    format!("LOGFILE={}", p("netconfd.log")),
                ),
                (
                    "[ -f /etc/default/networking ] && . /etc/default/networking",
                    format!("[ -f {0} ] && . {0}", p("default-networking")),
                ),
                (
                    "        --exec \"$DAEMON\" -- --dhcp-hook \"$DHCP_HOOK\"",
                    format!(
                        "        --exec \"$DAEMON\" -- --dhcp-hook \"$DHCP_HOOK\" \
                         --socket {sock} --run-dir {} --state-dir {} --interfaces {} \
                         --hooks-dir {} --resolv-conf {} --dhclient /sbin/dhclient \
                         --dhcp-timeout {} --log-level debug",
                        p("run"),
                        p("lib"),
                        p("interfaces"),
                        p("hooks"),
                        p("resolv.conf"),
                        self.setup.dhcp_timeout
                    ),
                ),
            ],
        );
        script
    }

    /// The PIDs the shutdown's sendsigs (initscripts) would spare: every
    /// word of every file in the script's omit directory, links followed,
    /// as sendsigs reads `/run/sendsigs.omit.d`; and the directory's entries.
    fn sendsigs_omitted(&self) -> (BTreeSet<u32>, Vec<String>) {
        let Ok(dir) = fs::read_dir(self.path("sendsigs.omit.d")) else {
            return Default::default();
        };
        let mut pids = BTreeSet::new();
        let mut names = Vec::new();
        for entry in dir.flatten() {
            names.push(entry.file_name().to_string_lossy().into_owned());
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            pids.extend(
                text.split_whitespace()
                    .filter_map(|w| w.parse::<u32>().ok()),
            );
        }
        names.sort();
        (pids, names)
    }

    /// `/etc/init.d/networking ACTION` in the client namespace, as init
    /// runs it (a clean environment).
    fn init_script(&self, script: &Path, action: &str) -> Out {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.cli.name(), "/bin/sh"])
            .arg(script)
            .arg(action)
            .env_clear()
            .env("PATH", PATH)
            .env("LC_ALL", "C")
            .current_dir("/");
        run(c)
    }
}

/// The sysvinit script, for real, in the client namespace: `start` starts
/// netconfd (start-stop-daemon --notify-await), settles udev, runs `ifup -a
/// --read-environment` (lease, statics, bridge; not the interface
/// EXCLUDE_INTERFACES names) and raises the allow-hotplug interface that is
/// present; `stop` takes every interface down (the bridge netconf created
/// is deleted, the lease released) and stops netconfd.
#[test]
fn sysvinit_start_configures_everything_and_stop_takes_it_down() {
    require_root();
    assert!(
        Path::new("/sbin/start-stop-daemon").is_file()
            || Path::new("/usr/sbin/start-stop-daemon").is_file(),
        "the sysvinit test needs start-stop-daemon (dpkg)"
    );
    let b = Boot::new(Setup {
        server: true,
        sysvinit: true,
        dhcp_timeout: LEASE_WAIT,
        wait_online_timeout: 120,
        ..Setup::default()
    });
    let script = b.sysvinit_script();

    let out = b.init_script(&script, "start");
    out.assert_ok();
    let pid = b
        .backgrounded_daemon()
        .unwrap_or_else(|| panic!("no netconfd running after start:\n{out}"));
    b.assert_configured(true, "after /etc/init.d/networking start");
    assert_eq!(
        b.cli.global_addrs(HOTPLUG.0),
        [HOTPLUG.1.to_string()].into(),
        "the allow-hotplug interface present is raised:\n{out}"
    );
    assert!(
        b.cli.global_addrs(EXCLUDED.0).is_empty() && !b.cli.is_up(EXCLUDED.0),
        "EXCLUDE_INTERFACES={} is left alone:\n{out}",
        EXCLUDED.0
    );
    assert_ne!(b.state_of(EXCLUDED.0), "up");
    let calls = fs::read_to_string(b.path("udevadm.calls")).unwrap_or_default();
    assert_eq!(calls, "udevadm settle\n", "udev is settled before ifup -a");
    // The shutdown's sendsigs, which runs before networking's stop, spares
    // netconfd and the DHCP client it started: the stop's ifdown needs the
    // one, and releases the lease through the other (the boot test under
    // sysvinit found them killed, and the stop failing).
    let (spared, names) = b.sendsigs_omitted();
    assert!(
        spared.contains(&pid),
        "netconfd ({pid}) is not in the omit directory ({names:?}: {spared:?}):\n{out}"
    );
    assert!(
        spared
            .iter()
            .any(|p| fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "dhclient")),
        "cli0's dhclient is not in the omit directory ({names:?}: {spared:?}):\n{out}"
    );
    // Started again: netconfd already runs (--oknodo), the interfaces are
    // up; nothing changes.
    let again = b.init_script(&script, "start");
    again.assert_ok();
    assert_eq!(b.backgrounded_daemon(), Some(pid), "{again}");
    b.assert_configured(true, "after a second start");

    let out = b.init_script(&script, "stop");
    out.assert_ok();
    wait_until("netconfd to exit after stop", || !process_alive(pid));
    assert!(
        !b.path("pid/netconfd.pid").exists(),
        "stop removes the pid file"
    );
    assert_eq!(
        b.sendsigs_omitted().1,
        Vec::<String>::new(),
        "stop takes netconf's entries out of the omit directory"
    );
    for name in STATICS.iter().map(|(n, _)| *n).chain([CLI, HOTPLUG.0]) {
        assert!(
            b.cli.global_addrs(name).is_empty(),
            "{name} keeps {:?} after stop:\n{out}",
            b.cli.global_addrs(name)
        );
    }
    assert!(
        !b.cli.try_ip(&["link", "show", "dev", BRIDGE]).success(),
        "the bridge netconf created is deleted by stop:\n{out}"
    );
    let log = fs::read_to_string(b.path("netconfd.log")).unwrap_or_default();
    assert!(log.contains("the network is left as it is"), "{log}");
}
