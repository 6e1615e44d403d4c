//! End-to-end tests of `inet dhcp`: the real netconfd, the real ISC dhclient
//! it starts, the real `netconf-dhcp-hook`, against a real DHCP server.
//!
//! Each test builds its own world: two network namespaces of unique names,
//! a server side running dnsmasq on `srv0` (198.18.0.1/24) and a client side
//! running netconfd, joined by the veth pair `srv0`/`cli0`. `ifup`/`ifdown`
//! talk to netconfd over its socket from outside. DNS goes to a resolv.conf
//! in the test's own directory (`--resolv-conf`), never `/etc/resolv.conf`.
//! On every exit path the world is taken down in order: netconfd killed by
//! its PID, then every process left in the namespaces that carries the
//! test's private directory in its command line or environment (dhclient,
//! `dhclient -r`, the hooks dhclient runs) killed by its PID, then dnsmasq
//! by its PID, then the namespaces and the directory. A failing test prints
//! the netconfd, dnsmasq and dhclient logs, the state file and resolv.conf.
//!
//! Assertions are about outcomes (exit statuses, messages, what the kernel
//! holds, what dnsmasq logged); the waits are for events (a process gone, a
//! log line, a new PID in the state file), with timeouts only as safety nets.
//!
//! Needs root, dnsmasq (`/usr/sbin/dnsmasq`) and ISC dhclient
//! (`/sbin/dhclient`). Run: `cargo build --bins && cargo test -p
//! netconf-tests --test dhcp -- --nocapture`.

use netconf_tests::{
    bins, dhcp_world_dir, has_flag, hook_path, kill_processes_mentioning, process_alive,
    process_cmdline, process_mentions, processes_mentioning, run, run_hook, wait_until, Daemon,
    DaemonOptions, DhcpServer, Netns, Out, Renewal, Running, NETCONF_PROTO,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

const CLI: &str = "cli0";
const SRV: &str = "srv0";
const SERVER: &str = "198.18.0.1";
/// The lease time dnsmasq hands out (`1h`): far beyond a test's run, so the
/// real dhclient never renews on its own while a test watches.
const LEASE_SECS: u64 = 3600;
/// `--dhcp-timeout` of the tests that expect a lease: a safety net only.
const LEASE_WAIT: u64 = 60;
const STANZA: &str = "iface cli0 inet dhcp\n    metric 50\n";
/// What the test's resolv.conf holds before any lease.
const ORIGINAL_RESOLV: &str =
    "# the test's own resolv.conf, before any lease\nnameserver 203.0.113.53\n";
/// "forever" in `ip -j addr`'s `valid_life_time`.
const FOREVER: u64 = 4_294_967_295;

/// A DHCP server that gives what the tests check for: an address in
/// 198.18.0.100-199, itself as the router (dnsmasq's default), DNS, a search
/// list and an MTU.
const SERVER_OPTIONS: &[&str] = &[
    "--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h",
    "--dhcp-option=option:dns-server,198.18.0.53",
    "--dhcp-option=option:domain-name,example.test",
    "--dhcp-option=option:domain-search,example.test,lab.example.test",
    "--dhcp-option=option:mtu,1400",
];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// One test's world

struct World {
    // Drop order matters (see Drop): the processes go first, then the
    // namespaces, then the directory.
    daemon: Option<Daemon>,
    server: Option<DhcpServer>,
    cli: Netns,
    srv: Netns,
    dhcp_timeout: u64,
    /// The dhclient netconfd is told to run.
    dhclient: &'static str,
    dir: tempfile::TempDir,
}

impl World {
    /// Both namespaces, the veth pair, the server's address, the
    /// interfaces file ([`STANZA`]), the original resolv.conf, and netconfd
    /// running in the client namespace. No DHCP server yet.
    fn new(dhcp_timeout: u64) -> World {
        World::with_stanza(STANZA, dhcp_timeout)
    }

    fn with_stanza(stanza: &str, dhcp_timeout: u64) -> World {
        let dir = dhcp_world_dir("nct-dhcp-", "DHCP");
        fs::write(dir.path().join("interfaces"), stanza).expect("interfaces file");
        fs::write(dir.path().join("resolv.conf"), ORIGINAL_RESOLV).expect("resolv.conf");
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
        let mut w = World {
            daemon: None,
            server: None,
            cli,
            srv,
            dhcp_timeout,
            dhclient: "/sbin/dhclient",
            dir,
        };
        w.start_daemon();
        w
    }

    /// A world with dnsmasq serving [`SERVER_OPTIONS`] plus `extra`.
    fn serving(extra: &[&str]) -> World {
        let mut w = World::new(LEASE_WAIT);
        let mut options = SERVER_OPTIONS.to_vec();
        options.extend_from_slice(extra);
        w.start_server(&options);
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The test's private directory: every process of the test carries it.
    fn tag(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn start_server(&mut self, options: &[&str]) {
        assert!(self.server.is_none(), "dnsmasq is already running");
        self.server = Some(DhcpServer::start(
            &self.srv,
            SRV,
            self.dir.path(),
            "dnsmasq",
            options,
        ));
    }

    fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "netconfd is already running");
        let extra: Vec<OsString> = vec![
            "--resolv-conf".into(),
            self.path("resolv.conf").into(),
            "--dhcp-timeout".into(),
            self.dhcp_timeout.to_string().into(),
            "--dhcp-hook".into(),
            hook_path().into(),
            "--dhclient".into(),
            self.dhclient.into(),
        ];
        self.daemon = Some(Daemon::start_with_args(
            &self.cli,
            self.dir.path(),
            &DaemonOptions::default(),
            &extra,
        ));
    }

    /// SIGKILL, by the PID we started: no chance to clean anything up.
    fn kill_daemon(&mut self) {
        let status = self
            .daemon
            .take()
            .expect("netconfd is not running")
            .stop(libc::SIGKILL);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "netconfd did not die of SIGKILL: {status}"
        );
    }

    fn client(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.path("ctl.sock"))
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        c
    }

    fn ifup(&self, args: &[&str]) -> Out {
        run(self.client(&bins().ifup, args))
    }

    fn ifdown(&self, args: &[&str]) -> Out {
        run(self.client(&bins().ifdown, args))
    }

    /// What `ifquery --state` prints (it must succeed).
    fn ifquery_state(&self) -> Vec<String> {
        let mut c = Command::new(&bins().ifquery);
        c.arg("--state")
            .arg("--state-dir")
            .arg(self.path("run"))
            .current_dir("/");
        let out = run(c);
        out.assert_ok();
        out.stdout.lines().map(String::from).collect()
    }

    fn state_text(&self) -> String {
        fs::read_to_string(self.path("run/state.json")).unwrap_or_default()
    }

    fn state(&self) -> Value {
        let text = self.state_text();
        if text.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("state.json ({e}): {text}"))
    }

    /// `interfaces[].stanzas[].dhcp` of `cli0` in the state file.
    fn dhcp_record(&self) -> Option<Value> {
        let state = self.state();
        let ifaces = state["interfaces"].as_array()?;
        let iface = ifaces.iter().find(|i| i["phys"] == CLI)?;
        iface["stanzas"]
            .as_array()?
            .iter()
            .find_map(|s| s.get("dhcp").filter(|d| !d.is_null()).cloned())
    }

    fn recorded(&self) -> Value {
        self.dhcp_record().unwrap_or_else(|| {
            panic!(
                "no dhclient of cli0 in the state file:\n{}",
                self.state_text()
            )
        })
    }

    fn token(&self) -> String {
        self.recorded()["token"]
            .as_str()
            .expect("a token in the state file")
            .to_string()
    }

    fn dhclient_pid(&self) -> Option<u32> {
        self.dhcp_record()
            .and_then(|r| r["pid"].as_u64())
            .map(|p| p as u32)
    }

    /// The live dhclient processes of this test (in the client namespace,
    /// carrying our directory).
    fn dhclients(&self) -> Vec<u32> {
        processes_mentioning(&self.cli, &self.tag(), Some("dhclient"))
    }

    fn addrs(&self) -> BTreeSet<String> {
        self.cli.global_addrs(CLI)
    }

    fn routes(&self) -> BTreeSet<String> {
        self.cli.netconf_routes()
    }

    fn resolv(&self) -> String {
        fs::read_to_string(self.path("resolv.conf")).unwrap_or_default()
    }

    fn dnsmasq_log(&self) -> String {
        self.server
            .as_ref()
            .map(DhcpServer::log)
            .unwrap_or_default()
    }

    fn daemon_log(&self) -> String {
        fs::read_to_string(self.path("netconfd.log")).unwrap_or_default()
    }

    /// The one IPv4 address of cli0 (`ip -j addr`), in dnsmasq's range, /24.
    fn leased(&self) -> (String, Value) {
        let links = self.cli.ip_json(&["-4", "addr", "show", "dev", CLI]);
        let addrs: Vec<Value> = links
            .iter()
            .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["scope"] == "global")
            .collect();
        assert_eq!(addrs.len(), 1, "one leased address on cli0: {addrs:?}");
        let a = addrs[0].clone();
        let local = a["local"].as_str().expect("an address").to_string();
        let last: u32 = local
            .strip_prefix("198.18.0.")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            (100..=199).contains(&last),
            "{local} is not in dnsmasq's range 198.18.0.100-199"
        );
        assert_eq!(a["prefixlen"], 24, "prefix of the lease: {a}");
        (local, a)
    }

    /// ifup cli0 (which must succeed), returning the leased address.
    fn up(&self) -> String {
        self.ifup(&["cli0"]).assert_ok();
        self.leased().0
    }

    /// Waits (safety net) until dnsmasq has logged `needle`.
    fn wait_dnsmasq(&self, needle: &str) {
        wait_until(&format!("dnsmasq to log {needle:?}"), || {
            self.dnsmasq_log().contains(needle)
        });
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if thread::panicking() {
            // Every DHCP client's own log (run/CLIENT.cli0.log).
            let dhclient_log: String = fs::read_dir(self.path("run"))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .map(|e| {
                    format!(
                        "--- {} ---\n{}",
                        e.file_name().to_string_lossy(),
                        fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect();
            eprintln!(
                "===== netconfd log (client namespace {}) =====\n{}\n\
                 ===== dnsmasq log (server namespace {}) =====\n{}\n\
                 ===== DHCP client logs =====\n{}\n\
                 ===== state.json =====\n{}\n\
                 ===== resolv.conf =====\n{}\n===== end =====",
                self.cli.name(),
                self.daemon_log(),
                self.srv.name(),
                self.dnsmasq_log(),
                dhclient_log,
                self.state_text(),
                self.resolv(),
            );
        }
        // netconfd first (by its PID), so that nothing starts a dhclient again.
        let recorded = self.dhclient_pid();
        self.daemon.take();
        // Then whatever of ours is left in the client namespace: dhclient
        // (the recorded one or any other), `dhclient -r`, hooks. Only
        // processes whose command line or environment carries our private
        // directory are ours; each is killed by its PID.
        let tag = self.tag();
        if let Some(pid) = recorded {
            if process_alive(pid) && process_mentions(pid, &tag) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
        kill_processes_mentioning(&self.cli, &tag);
        // dnsmasq (by its PID), then anything else of ours on that side.
        self.server.take();
        kill_processes_mentioning(&self.srv, &tag);
        for ns in [&self.cli, &self.srv] {
            let left: Vec<u32> = netconf_tests::netns_pids(ns)
                .into_iter()
                .filter(|&p| process_alive(p))
                .collect();
            if !left.is_empty() {
                eprintln!(
                    "warning: processes left in namespace {} (not ours, not killed): {left:?}",
                    ns.name()
                );
            }
        }
        // The namespaces and the directory go with the fields.
    }
}

// ---------------------------------------------------------------------------
// The hook, run by hand with an environment like dhclient's

/// The RENEW of this test's dhclient ([`netconf_tests::renew_env`]):
/// `old` -> `new`, with `token`.
fn renew_env(w: &World, token: &str, old: &str, new: &str) -> Vec<(String, String)> {
    netconf_tests::renew_env(&Renewal {
        socket: &w.path("ctl.sock"),
        iface: CLI,
        token,
        pid: w.dhclient_pid().unwrap_or(1),
        old,
        new,
        lease_secs: LEASE_SECS,
    })
}
/// The hook was accepted: exit 0 and nothing on stderr (any refusal or
/// non-zero verdict is reported there).
fn assert_hook_accepted(out: &Out) {
    assert!(
        out.success() && out.stderr.trim().is_empty(),
        "netconfd did not accept the event:\n{out}"
    );
}

// ---------------------------------------------------------------------------
// Shared checks

/// The lease of [`SERVER_OPTIONS`] with `metric 50` is in the kernel.
fn assert_lease_applied(w: &World, addr: &str) {
    let (_, info) = w.leased();
    assert_eq!(info["local"], addr, "leased address: {info}");
    let valid = &info["valid_life_time"];
    assert!(
        valid
            .as_u64()
            .is_some_and(|v| v > 0 && v < FOREVER && v <= LEASE_SECS),
        "the leased address must have the lease's finite valid lifetime, not forever: {info}"
    );
    let defaults = w.cli.default_routes("-4");
    assert_eq!(defaults.len(), 1, "default routes: {defaults:?}");
    let r = &defaults[0];
    assert_eq!(r["gateway"], SERVER, "default route: {r}");
    assert_eq!(r["dev"], CLI, "default route: {r}");
    assert_eq!(r["metric"], 50, "default route must carry `metric 50`: {r}");
    assert_eq!(
        r["protocol"].as_str(),
        Some(NETCONF_PROTO),
        "default route must be netconf's (protocol 93): {r}"
    );
    assert_eq!(
        w.routes(),
        set(&["-4 default via 198.18.0.1 dev cli0 metric 50"]),
        "netconf's routes"
    );
    assert_eq!(w.cli.mtu(CLI), 1400, "MTU from option 26");
    let resolv = w.resolv();
    let lines: Vec<&str> = resolv.lines().collect();
    assert!(
        lines.contains(&"nameserver 198.18.0.53")
            && lines.contains(&"search example.test lab.example.test")
            && !lines.contains(&"nameserver 203.0.113.53"),
        "resolv.conf must hold the lease's DNS (netconfd writes --resolv-conf only when \
         resolvconf is not installed):\n{resolv}"
    );
}

// ---------------------------------------------------------------------------
// 1. ifup returns once the lease is in the kernel

#[test]
fn ifup_returns_with_the_lease_applied() {
    let w = World::serving(&[]);
    let up = w.ifup(&["cli0"]);
    up.assert_ok();
    // No waiting from here on: ifup's exit is the promise.
    let (addr, _) = w.leased();
    assert_lease_applied(&w, &addr);
    assert_eq!(w.ifquery_state(), vec!["cli0=cli0"], "ifquery --state");
    let record = w.recorded();
    assert_eq!(
        record["info"]["address"],
        format!("{addr}/24"),
        "the lease in the state file: {record}"
    );
    let pid = w.dhclient_pid().expect("dhclient's pid in the state file");
    assert!(
        process_alive(pid) && process_cmdline(pid).contains(&w.token()),
        "the recorded dhclient {pid} must run with the recorded token: {}",
        process_cmdline(pid)
    );
    assert_eq!(w.dhclients(), vec![pid], "exactly one dhclient of ours");
    w.wait_dnsmasq(&format!("DHCPACK({SRV}) {addr} "));
}

// ---------------------------------------------------------------------------
// 2. option 121 (RFC 3442): its routes, and no route from `routers`

/// The routes of `121,198.51.100.0/24,198.18.0.1,0.0.0.0/0,198.18.0.1`: added
/// as Debian's rfc3442 hook adds them, without the stanza's metric.
fn classless_routes() -> BTreeSet<String> {
    set(&[
        "-4 198.51.100.0/24 via 198.18.0.1 dev cli0",
        "-4 default via 198.18.0.1 dev cli0",
    ])
}

fn assert_only_classless_routes(w: &World) {
    assert_eq!(
        w.routes(),
        classless_routes(),
        "netconf's routes must be option 121's and nothing from option 3"
    );
    let all = w.cli.ip_json(&["-4", "route", "show", "table", "all"]);
    let defaults: Vec<&Value> = all.iter().filter(|r| r["dst"] == "default").collect();
    assert_eq!(defaults.len(), 1, "one default route only: {defaults:?}");
    assert!(
        !all.iter().any(|r| r["gateway"] == "198.18.0.2"),
        "a route via the `routers` option's 198.18.0.2 exists: {all:?}"
    );
}

#[test]
fn option_121_routes_replace_the_routers() {
    // The router option names another gateway, so that a route from it
    // would show.
    let w = World::serving(&[
        "--dhcp-option=121,198.51.100.0/24,198.18.0.1,0.0.0.0/0,198.18.0.1",
        "--dhcp-option=option:router,198.18.0.2",
    ]);
    w.up();
    assert_only_classless_routes(&w);
    assert!(
        w.dnsmasq_log().contains("option:  3 router  198.18.0.2"),
        "dnsmasq must have sent the router option too, or this proves nothing"
    );
}

#[test]
fn option_121_without_a_router_option() {
    // `--dhcp-option=3` with no value: dnsmasq sends no router option.
    let w = World::serving(&[
        "--dhcp-option=121,198.51.100.0/24,198.18.0.1,0.0.0.0/0,198.18.0.1",
        "--dhcp-option=3",
    ]);
    w.up();
    assert_only_classless_routes(&w);
    assert!(
        !w.dnsmasq_log().contains("option:  3 router"),
        "dnsmasq sent a router option after all"
    );
}

// ---------------------------------------------------------------------------
// 3. RENEW, driven through the real hook

/// Address events only for `addr`, and no deletion: the lifetime refresh.
fn is_refresh_of(event: &str, addr: &str) -> bool {
    !event.starts_with("Deleted") && event.contains(&format!("inet {addr}/24 "))
}

#[test]
fn renew_with_an_unchanged_lease_only_refreshes_the_lifetime() {
    let w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    w.cli.settle();
    let state_before = w.recorded()["lease"].clone();
    let resolv_before = w.resolv();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);

    let out = run_hook(&renew_env(&w, &token, &addr, &addr));
    assert_hook_accepted(&out);
    let events = monitor.fence(&w.cli);
    // Refreshing the address's lifetimes to the renewed lease (an
    // RTM_NEWADDR with NLM_F_REPLACE for the same address) is the one write
    // an unchanged RENEW makes: without it the kernel would drop the address
    // when the first lease would have run out. Nothing else may change.
    eprintln!(
        "unchanged RENEW: {} kernel event(s): {events:?}",
        events.len()
    );
    let others: Vec<&String> = events.iter().filter(|e| !is_refresh_of(e, &addr)).collect();
    assert!(
        others.is_empty() && events.len() <= 1,
        "an unchanged RENEW changed the kernel beyond one lifetime refresh of {addr}:\n{}",
        events.join("\n")
    );
    assert_lease_applied(&w, &addr);
    assert_eq!(w.resolv(), resolv_before, "resolv.conf was rewritten");
    assert_eq!(
        lease_identity(&w.recorded()["lease"]),
        lease_identity(&state_before),
        "what the lease put in changed"
    );
}

/// The addresses and routes a recorded lease (`Applied`) names, without the
/// bookkeeping flags (`preexisting`, `previous_mtu`, ...).
fn lease_identity(lease: &Value) -> (Vec<String>, Vec<String>) {
    let list = |key: &str, f: &dyn Fn(&Value) -> String| -> Vec<String> {
        lease[key]
            .as_array()
            .map(|a| a.iter().map(f).collect())
            .unwrap_or_default()
    };
    (
        list("addresses", &|a| {
            format!("{}/{}", a["addr"], a["prefix_len"])
        }),
        list("routes", &|r| r["route"].to_string()),
    )
}

#[test]
fn renew_with_a_new_address_adds_it_before_removing_the_old() {
    let w = World::serving(&[]);
    let old = w.up();
    let token = w.token();
    // In the subnet, outside dnsmasq's range.
    let new = "198.18.0.77";
    w.cli.settle();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);

    let out = run_hook(&renew_env(&w, &token, &old, new));
    assert_hook_accepted(&out);
    let events = monitor.fence(&w.cli);
    let added = events
        .iter()
        .position(|e| !e.starts_with("Deleted") && e.contains(&format!("inet {new}/24 ")));
    let removed = events
        .iter()
        .position(|e| e.starts_with("Deleted") && e.contains(&format!("inet {old}/24 ")));
    assert!(
        matches!((added, removed), (Some(a), Some(r)) if a < r),
        "{new} must be added before {old} is removed (added at {added:?}, removed at \
         {removed:?}):\n{}",
        events.join("\n")
    );
    assert!(
        !events
            .iter()
            .any(|e| e.starts_with("Deleted") && e.contains(&format!("inet {new}/24 "))),
        "the new address was removed at some point:\n{}",
        events.join("\n")
    );
    assert_eq!(w.addrs(), set(&["198.18.0.77/24"]), "only the new address");
    // netconfd may switch address promotion on to remove the old primary
    // without its secondaries, but must put the setting back.
    let promote = run({
        let mut c = Command::new("ip");
        c.args(["netns", "exec", w.cli.name(), "cat"])
            .arg("/proc/sys/net/ipv4/conf/cli0/promote_secondaries");
        c
    });
    promote.assert_ok();
    assert_eq!(
        promote.stdout.trim(),
        "0",
        "promote_secondaries of cli0 was left changed"
    );
    assert_eq!(
        w.routes(),
        set(&["-4 default via 198.18.0.1 dev cli0 metric 50"]),
        "netconf's routes after the address changed"
    );
    let record = w.recorded();
    assert_eq!(record["info"]["address"], "198.18.0.77/24", "{record}");
    let recorded: Vec<&Value> = record["lease"]["addresses"]
        .as_array()
        .map(|a| a.iter().map(|x| &x["addr"]).collect())
        .unwrap_or_default();
    assert_eq!(
        recorded,
        vec!["198.18.0.77"],
        "the state file's lease: {record}"
    );
}

// ---------------------------------------------------------------------------
// 4. no server: ifup fails after --dhcp-timeout, leaving nothing behind

#[test]
fn no_server_times_out_and_leaves_nothing() {
    let w = World::new(3);
    let up = w.ifup(&["cli0"]);
    up.assert_code(1);
    up.assert_output_contains("no DHCP lease on cli0 within 3 s");
    wait_until("the dhclient of the failed ifup to be gone", || {
        w.dhclients().is_empty()
    });
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes");
    assert!(
        w.ifquery_state().is_empty(),
        "ifquery --state lists something"
    );
    assert_eq!(
        w.state()["interfaces"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "state file: {}",
        w.state_text()
    );
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf was touched");
}

// ---------------------------------------------------------------------------
// 5. ifdown releases the lease and takes everything back

#[test]
fn ifdown_releases_and_restores() {
    let w = World::serving(&[]);
    let addr = w.up();
    let pid = w.dhclient_pid().expect("dhclient's pid");
    assert_ne!(w.resolv(), ORIGINAL_RESOLV, "the lease's DNS never arrived");

    w.ifdown(&["cli0"]).assert_ok();
    w.wait_dnsmasq(&format!("DHCPRELEASE({SRV}) {addr} "));
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf not put back");
    wait_until("the released dhclient to exit", || !process_alive(pid));
    wait_until("no dhclient of this test", || w.dhclients().is_empty());
    assert!(w.ifquery_state().is_empty(), "ifquery --state after ifdown");

    // The released lease is forgotten, as `dhclient -r` would record it: the
    // next dhclient starts with a DISCOVER, not with an INIT-REBOOT request
    // for a lease the server no longer has (which it ignores for seconds).
    // dnsmasq drops such a request without a word: dhclient's own log tells.
    let log = || fs::read_to_string(w.path("run/dhclient.cli0.log")).unwrap_or_default();
    let seen = log().len();
    w.up();
    let asked: Vec<String> = log()[seen..]
        .lines()
        .filter(|l| l.starts_with("DHCPREQUEST") || l.starts_with("DHCPDISCOVER"))
        .map(String::from)
        .collect();
    assert!(
        asked.first().is_some_and(|l| l.starts_with("DHCPDISCOVER")),
        "the next dhclient asked for the released lease first: {asked:?}"
    );
}

/// A lease reported while `ifdown` releases the client (a BOUND or RENEW
/// already on its way when the address went) is acknowledged and not
/// applied: nothing comes back after the interface went down. CI once saw
/// such a BOUND re-add the address during the post-down hooks.
#[test]
fn a_lease_reported_while_ifdown_releases_is_not_applied() {
    let w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    // The post-down hooks hold ifdown after the kernel was cleaned up.
    let marker = w.path("post-down-started");
    let hook = w.path("hooks/if-post-down.d/hold");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh
touch {}
sleep 2
",
            marker.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let down = Running::spawn(w.client(&bins().ifdown, &["cli0"]));
    wait_until("the post-down hook to start", || marker.exists());
    let late = "198.18.0.150";
    let out = run_hook(&renew_env(&w, &token, &addr, late));
    assert_hook_accepted(&out);
    down.wait().assert_ok();
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert!(w.ifquery_state().is_empty(), "ifquery --state after ifdown");
}

// ---------------------------------------------------------------------------
// 6. a dhclient killed with SIGKILL is started again, into the same lease

/// SIGKILLs this test's dhclient `old` and waits for netconfd's new one
/// (it reaches the state file with its REBOOT event), running with the
/// same token; returns its pid.
fn kill_and_await_respawn(w: &World, old: u32, token: &str) -> u32 {
    assert!(
        process_cmdline(old).contains(token),
        "{old} is not our dhclient"
    );
    // SAFETY: kill has no memory-safety preconditions; the PID was just
    // checked to be this test's dhclient.
    unsafe { libc::kill(old as libc::pid_t, libc::SIGKILL) };
    let mut new = None;
    wait_until("a new dhclient pid in the state file", || {
        new = w.dhclient_pid().filter(|&p| p != old);
        new.is_some()
    });
    let new = new.expect("new pid");
    assert!(
        process_alive(new) && process_cmdline(new).contains(token),
        "the new dhclient {new} runs with the same token: {}",
        process_cmdline(new)
    );
    new
}

#[test]
fn killed_dhclient_is_respawned_into_the_same_lease() {
    let w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    let old = w.dhclient_pid().expect("dhclient's pid");
    assert!(process_cmdline(old).contains(&token), "not our dhclient");
    w.cli.settle();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);

    let new = kill_and_await_respawn(&w, old, &token);
    assert!(!process_alive(old), "the killed dhclient {old} is alive");
    assert_eq!(w.dhclients(), vec![new], "exactly one dhclient of ours");
    let log = w.daemon_log();
    assert!(
        log.contains("DHCP client exited") && log.contains("starting the DHCP client again"),
        "netconfd did not log the exit and the respawn"
    );
    // Its pid is recorded as it starts; its REBOOT follows.
    wait_until("the new dhclient to REBOOT into its lease", || {
        w.daemon_log().contains("reason=REBOOT")
    });
    assert_eq!(
        w.recorded()["info"]["address"],
        format!("{addr}/24"),
        "the new dhclient's lease"
    );
    let events = monitor.fence(&w.cli);
    assert!(
        !events.iter().any(|e| e.starts_with("Deleted")),
        "something was removed while dhclient was replaced:\n{}",
        events.join("\n")
    );
    assert_lease_applied(&w, &addr);
}

// ---------------------------------------------------------------------------
// 7. netconfd killed: dhclient lives on, a new netconfd adopts it

#[test]
fn restarted_netconfd_adopts_the_running_dhclient() {
    let mut w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    let pid = w.dhclient_pid().expect("dhclient's pid");

    w.kill_daemon();
    assert!(
        process_alive(pid) && process_cmdline(pid).contains(&token),
        "dhclient {pid} died with netconfd"
    );
    assert_eq!(w.addrs(), set(&[&format!("{addr}/24")]), "the address went");

    w.start_daemon();
    assert!(
        w.daemon_log().contains("adopted"),
        "the new netconfd did not adopt dhclient {pid}"
    );
    // The adopted dhclient's next renewal, through the hook, with its token.
    let out = run_hook(&renew_env(&w, &token, &addr, &addr));
    assert_hook_accepted(&out);
    assert_eq!(w.dhclient_pid(), Some(pid), "the recorded pid changed");
    assert_lease_applied(&w, &addr);

    w.ifdown(&["cli0"]).assert_ok();
    w.wait_dnsmasq(&format!("DHCPRELEASE({SRV}) {addr} "));
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf not put back");
    wait_until("the adopted dhclient to exit", || !process_alive(pid));
    assert!(w.ifquery_state().is_empty(), "ifquery --state after ifdown");
}

// ---------------------------------------------------------------------------
// 8. the hook's exit status for events netconfd does not take

#[test]
fn hook_with_a_bogus_token_exits_0_and_changes_nothing() {
    let w = World::serving(&[]);
    let addr = w.up();
    w.cli.settle();
    let state = w.state_text();
    let resolv = w.resolv();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);

    // Another address, so that accepting it would show.
    let bogus = run_hook(&renew_env(
        &w,
        "0123456789abcdef0123456789abcdef",
        &addr,
        "198.18.0.77",
    ));
    bogus.assert_ok();
    assert!(
        bogus.stderr.contains("refused") && bogus.stderr.contains("not-configured"),
        "the hook must say netconfd refused the event:\n{bogus}"
    );
    // No token at all: not even sent.
    let mut env = renew_env(&w, "", &addr, "198.18.0.77");
    env.retain(|(k, _)| k != "NETCONF_TOKEN");
    let none = run_hook(&env);
    none.assert_ok();
    none.assert_output_contains("NETCONF_TOKEN");

    let events = monitor.fence(&w.cli);
    assert!(
        events.is_empty(),
        "a refused event changed the kernel:\n{}",
        events.join("\n")
    );
    assert_eq!(w.state_text(), state, "the state file changed");
    assert_eq!(w.resolv(), resolv, "resolv.conf changed");
    assert_lease_applied(&w, &addr);
}

/// A dhclient adopted from an earlier netconfd is not the new one's child:
/// its death is still noticed (a pidfd) and it is started again.
#[test]
fn adopted_dhclient_that_dies_is_respawned() {
    let mut w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    let old = w.dhclient_pid().expect("dhclient's pid");
    w.kill_daemon();
    w.start_daemon();
    assert!(w.daemon_log().contains("adopted"), "not adopted");

    assert!(process_cmdline(old).contains(&token), "not our dhclient");
    kill_and_await_respawn(&w, old, &token);
    assert_lease_applied(&w, &addr);
}

/// IPv6: `inet6 dhcp` (stateful: an address from the server, with its
/// lifetimes, and DNS) and `inet6 auto` with `dhcp 1` (SLAAC from router
/// advertisements plus stateless DHCPv6 for DNS), each up and down again.
#[test]
fn inet6_dhcp_and_auto() {
    inet6_with(None);
}

/// The same with dhcpcd (`noipv6rs`: the kernel keeps the router
/// advertisements; `ia_na`, or `--inform6` for stateless).
#[test]
fn dhcpcd_inet6_dhcp_and_auto() {
    inet6_with(Some("dhcpcd"));
}

fn inet6_with(client: Option<&str>) {
    for (stanza, range, stateful) in [
        (
            "iface cli0 inet6 dhcp\n",
            "--dhcp-range=2001:db8:7::100,2001:db8:7::1ff,64,1h",
            true,
        ),
        (
            "iface cli0 inet6 auto\n    dhcp 1\n",
            "--dhcp-range=2001:db8:7::,ra-stateless,64,1h",
            false,
        ),
    ] {
        let mut w = World::new(LEASE_WAIT);
        w.srv
            .ip(&["addr", "add", "2001:db8:7::1/64", "dev", SRV, "nodad"]);
        let stanza = match client {
            Some(kind) => format!("{stanza}    dhcp-client {kind}\n"),
            None => stanza.to_string(),
        };
        fs::write(w.path("interfaces"), &stanza).expect("interfaces file");
        w.start_server(&[
            range,
            "--enable-ra",
            "--dhcp-option=option6:dns-server,[2001:db8:7::53]",
            "--dhcp-option=option6:domain-search,example.test",
        ]);
        w.ifup(&[CLI]).assert_ok();
        let resolv = w.resolv();
        assert!(
            resolv.contains("nameserver 2001:db8:7::53") && resolv.contains("example.test"),
            "{stanza}: resolv.conf without the DHCPv6 DNS:\n{resolv}"
        );
        let v6: Vec<String> = w
            .addrs()
            .into_iter()
            .filter(|a| a.starts_with("2001:db8:7::"))
            .collect();
        if stateful {
            assert!(
                v6.iter().any(|a| {
                    let host = a.trim_start_matches("2001:db8:7::");
                    host.len() == 3 + "/128".len() || host.contains('/')
                }),
                "{stanza}: no leased address: {v6:?}"
            );
        } else {
            wait_until("a SLAAC address from the router advertisement", || {
                w.addrs()
                    .iter()
                    .any(|a| a.starts_with("2001:db8:7:") && a.ends_with("/64"))
            });
        }
        assert_eq!(w.ifquery_state(), vec!["cli0=cli0".to_string()]);
        w.ifdown(&[CLI]).assert_ok();
        assert_eq!(
            w.resolv(),
            ORIGINAL_RESOLV,
            "{stanza}: resolv.conf not put back"
        );
        if stateful {
            w.wait_dnsmasq("DHCPRELEASE");
        }
        wait_until("no DHCP client of ours", || {
            processes_mentioning(&w.cli, &w.tag(), None)
                .iter()
                .all(|&p| w.daemon.as_ref().is_some_and(|d| d.pid() == p))
        });
        assert!(
            !w.addrs().iter().any(|a| a.starts_with("2001:db8:7::1")),
            "{stanza}: leased address left: {:?}",
            w.addrs()
        );
    }
}

/// `ifup --force` of an interface whose dhclient runs keeps that dhclient
/// (a second one would fight it) and its lease.
#[test]
fn forced_ifup_keeps_the_running_dhclient() {
    let w = World::serving(&[]);
    let addr = w.up();
    let pid = w.dhclient_pid().expect("dhclient's pid");
    w.ifup(&["--force", CLI]).assert_ok();
    assert_eq!(w.dhclient_pid(), Some(pid), "the dhclient was replaced");
    assert_eq!(w.dhclients(), vec![pid], "exactly one dhclient of ours");
    assert_lease_applied(&w, &addr);
}

/// `ifdown` goes on when the release fails (here: no DUID to send the
/// RELEASE with, and `dhclient -r` cannot even start, a restarted netconfd
/// being told to run a dhclient that does not exist): what the lease added
/// is still removed.
#[test]
fn ifdown_cleans_up_even_when_the_release_fails() {
    let mut w = World::serving(&[]);
    w.up();
    let pid = w.dhclient_pid().expect("dhclient's pid");
    w.kill_daemon();
    w.dhclient = "/nonexistent/dhclient";
    // Without dhclient's DUID (in its lease file) netconfd cannot send the
    // RELEASE itself and falls back on `dhclient -r`, which fails here.
    let leases = w.path("lib/dhclient.cli0.leases");
    fs::remove_file(&leases).unwrap_or_else(|e| panic!("{}: {e}", leases.display()));
    w.start_daemon();
    w.ifdown(&[CLI]).assert_ok();
    assert!(
        w.daemon_log().contains("dhclient -r on cli0"),
        "the release did not fail as the test meant it to"
    );
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert!(w.ifquery_state().is_empty(), "ifquery --state after ifdown");
    // The old dhclient was not told to stop: this test's teardown ends it.
    assert!(process_alive(pid), "the old dhclient was killed, by whom?");
}

/// The cable comes back (carrier lost, then found): a new network may be
/// behind it, so netconfd starts DHCP over with a new dhclient, which
/// gets the lease again.
#[test]
fn carrier_back_restarts_dhcp() {
    let w = World::serving(&[]);
    let addr = w.up();
    let token = w.token();
    let old = w.dhclient_pid().expect("dhclient's pid");
    // The server's end of the veth going down takes the carrier off cli0.
    w.srv.ip(&["link", "set", SRV, "down"]);
    wait_until("cli0 to lose its carrier", || {
        !has_flag(&w.cli.link(CLI), "LOWER_UP")
    });
    w.srv.ip(&["link", "set", SRV, "up"]);
    wait_until("a new dhclient after the carrier came back", || {
        w.dhclient_pid().is_some_and(|p| p != old)
    });
    let new = w.dhclient_pid().expect("dhclient's pid");
    assert!(!process_alive(old), "the old dhclient {old} still runs");
    assert!(process_cmdline(new).contains(&token), "not our dhclient");
    wait_until("the lease applied again", || {
        w.recorded()["info"]["address"] == format!("{addr}/24")
    });
    let log = w.daemon_log();
    assert!(
        log.contains("carrier is back: DHCP starts over"),
        "netconfd did not say why it restarted dhclient"
    );
    assert_lease_applied(&w, &addr);
}

/// A default route with the lease's metric is there already (another
/// interface's static gateway): as dhclient-script, netconfd keeps the
/// lease and leaves that route alone, saying why, instead of failing.
#[test]
fn lease_whose_default_route_clashes_is_kept() {
    let w = World::serving(&[]);
    w.cli.veth("x0");
    w.cli.ip(&["link", "set", "x0", "up"]);
    w.cli.ip(&["addr", "add", "203.0.113.2/24", "dev", "x0"]);
    w.cli.ip(&[
        "route",
        "add",
        "default",
        "via",
        "203.0.113.1",
        "dev",
        "x0",
        "metric",
        "50",
    ]);
    w.ifup(&[CLI]).assert_ok();
    let (addr, _) = w.leased();
    assert!(addr.starts_with("198.18.0."), "no lease on cli0: {addr}");
    let defaults = w.cli.default_routes("-4");
    assert_eq!(
        defaults.len(),
        1,
        "the other default route must stay alone: {defaults:?}"
    );
    assert_eq!(defaults[0]["dev"], "x0", "{defaults:?}");
    assert!(
        w.daemon_log()
            .contains("not added: another route to it with that metric exists"),
        "netconfd did not say why the lease's route is missing"
    );
}

// ---------------------------------------------------------------------------
// 11. dhcpcd and udhcpc behind the same hook (`dhcp-client`): the same
// promises as dhclient's, against the same dnsmasq

/// [`STANZA`] with `dhcp-client KIND`.
fn client_stanza(kind: &str) -> String {
    format!("{STANZA}    dhcp-client {kind}\n")
}

/// A world whose stanza runs `kind`, with dnsmasq serving [`SERVER_OPTIONS`].
fn serving_with(kind: &str) -> World {
    let mut w = World::with_stanza(&client_stanza(kind), LEASE_WAIT);
    w.start_server(SERVER_OPTIONS);
    w
}

/// The recorded client's pid, checked to be this test's and alive.
fn client_pid(w: &World, kind: &str) -> u32 {
    assert_eq!(w.recorded()["client"], kind, "the client in the state file");
    let pid = w
        .dhclient_pid()
        .expect("the client's pid in the state file");
    assert!(
        process_alive(pid) && process_mentions(pid, &w.tag()),
        "the recorded {kind} {pid} is not this test's running client"
    );
    pid
}

/// Sends `signal` to this test's client `pid` (checked again first).
fn signal_client(w: &World, pid: u32, signal: i32) {
    assert!(process_mentions(pid, &w.tag()), "{pid} is not ours");
    // SAFETY: kill has no memory-safety preconditions; the PID was just
    // checked to be this test's client.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// How many events of `reason` netconfd has answered so far.
fn answered(w: &World, reason: &str) -> usize {
    w.daemon_log()
        .lines()
        .filter(|l| l.contains("DHCP event answered") && l.contains(&format!("reason={reason} ")))
        .count()
}

/// The name of the renewal event of `kind`.
fn renew_reason(kind: &str) -> &'static str {
    if kind == "udhcpc" {
        "renew"
    } else {
        "RENEW"
    }
}

/// ifup applies the lease, ifdown releases it (dnsmasq sees the RELEASE)
/// and takes everything back; the client exits.
fn up_and_down(kind: &str) {
    let w = serving_with(kind);
    let addr = w.up();
    assert_lease_applied(&w, &addr);
    let pid = client_pid(&w, kind);
    assert!(
        w.daemon_log().contains(&format!("client={kind}")),
        "netconfd's log does not name {kind}"
    );
    w.wait_dnsmasq(&format!("DHCPACK({SRV}) {addr} "));

    w.ifdown(&["cli0"]).assert_ok();
    w.wait_dnsmasq(&format!("DHCPRELEASE({SRV}) {addr} "));
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf not put back");
    wait_until("the released client to exit", || !process_alive(pid));
    assert!(w.ifquery_state().is_empty(), "ifquery --state after ifdown");
}

/// A renewal (SIGUSR1) with the same lease writes nothing but the
/// address's lifetime; one after the server changed its DNS and MTU
/// applies them.
fn renewals(kind: &str) {
    let mut w = serving_with(kind);
    let addr = w.up();
    let pid = client_pid(&w, kind);
    let reason = renew_reason(kind);
    w.cli.settle();
    let resolv_before = w.resolv();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);

    let before = answered(&w, reason);
    signal_client(&w, pid, libc::SIGUSR1);
    wait_until(&format!("{kind}'s {reason}"), || {
        answered(&w, reason) > before
    });
    let events = monitor.fence(&w.cli);
    let others: Vec<&String> = events.iter().filter(|e| !is_refresh_of(e, &addr)).collect();
    assert!(
        others.is_empty() && events.len() <= 1,
        "an unchanged {reason} changed the kernel beyond one lifetime refresh of {addr}:\n{}",
        events.join("\n")
    );
    assert_eq!(w.resolv(), resolv_before, "resolv.conf was rewritten");
    assert_lease_applied(&w, &addr);

    // The server's DNS and MTU change; the lease (in dnsmasq's lease file)
    // stays.
    w.server.take();
    let changed: Vec<&str> = SERVER_OPTIONS
        .iter()
        .map(|o| match *o {
            "--dhcp-option=option:dns-server,198.18.0.53" => {
                "--dhcp-option=option:dns-server,198.18.0.54"
            }
            "--dhcp-option=option:mtu,1400" => "--dhcp-option=option:mtu,1300",
            other => other,
        })
        .collect();
    w.start_server(&changed);
    let before = answered(&w, reason);
    signal_client(&w, pid, libc::SIGUSR1);
    wait_until(&format!("{kind}'s second {reason}"), || {
        answered(&w, reason) > before
    });
    assert!(
        w.resolv().lines().any(|l| l == "nameserver 198.18.0.54"),
        "the new DNS server is not in resolv.conf:\n{}",
        w.resolv()
    );
    assert_eq!(w.cli.mtu(CLI), 1300, "the new MTU");
    assert_eq!(
        w.addrs(),
        set(&[&format!("{addr}/24")]),
        "the address changed"
    );
}

/// The server forgets the lease and NAKs it: the old address goes, the
/// client starts over and the new lease is applied. udhcpc is asked to
/// renew (SIGUSR1); dhcpcd 9.4 does not act on a NAK to its unicast renewal
/// (it retries until its broadcast at T2), so it meets the NAK where it
/// does act on one, INIT-REBOOT: it is killed, and netconfd starts it again.
fn nak(kind: &str) {
    let mut w = serving_with(kind);
    let old = w.up();
    let pid = client_pid(&w, kind);
    w.server.take();
    let _ = fs::remove_file(w.path("dnsmasq.leases"));
    w.start_server(&[
        "--dhcp-range=198.18.0.200,198.18.0.250,255.255.255.0,1h",
        "--dhcp-authoritative",
    ]);
    let signal = if kind == "dhcpcd" {
        libc::SIGKILL
    } else {
        libc::SIGUSR1
    };
    signal_client(&w, pid, signal);
    w.wait_dnsmasq(&format!("DHCPNAK({SRV}) {old} "));
    let mut new = String::new();
    wait_until("a lease in the new range", || {
        let addrs = w.addrs();
        new = addrs.iter().next().cloned().unwrap_or_default();
        addrs.len() == 1 && new.starts_with("198.18.0.2")
    });
    assert!(
        !w.addrs().contains(&format!("{old}/24")),
        "the NAKed {old} stayed"
    );
    assert!(
        answered(&w, if kind == "udhcpc" { "nak" } else { "NAK" }) > 0,
        "no NAK event"
    );
}

/// No server: ifup fails after --dhcp-timeout, the client is stopped and
/// nothing is left.
fn no_server(kind: &str) {
    let w = World::with_stanza(&client_stanza(kind), 3);
    let up = w.ifup(&["cli0"]);
    up.assert_code(1);
    up.assert_output_contains("no DHCP lease on cli0 within 3 s");
    wait_until(&format!("the {kind} of the failed ifup to be gone"), || {
        processes_mentioning(&w.cli, &w.tag(), None)
            .iter()
            .all(|&p| w.daemon.as_ref().is_some_and(|d| d.pid() == p))
    });
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes");
    assert!(
        w.ifquery_state().is_empty(),
        "ifquery --state lists something"
    );
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf was touched");
}

/// The client killed with SIGKILL is started again, into the same lease,
/// with nothing taken out meanwhile.
fn respawn(kind: &str) {
    let w = serving_with(kind);
    let addr = w.up();
    let old = client_pid(&w, kind);
    w.cli.settle();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);
    // udhcpc remembers no lease: the new one gets it again by DISCOVER;
    // dhcpcd asks for it again from its lease file (INIT-REBOOT).
    let again = if kind == "udhcpc" { "bound" } else { "REBOOT" };
    let before = answered(&w, again);
    signal_client(&w, old, libc::SIGKILL);
    let mut new = None;
    wait_until("a new client pid in the state file", || {
        new = w.dhclient_pid().filter(|&p| p != old);
        new.is_some()
    });
    wait_until("the lease applied again by the new client", || {
        answered(&w, again) > before
    });
    let new = client_pid(&w, kind);
    assert!(!process_alive(old), "the killed {kind} {old} is alive");
    let events = monitor.fence(&w.cli);
    assert!(
        !events.iter().any(|e| e.starts_with("Deleted")),
        "something was removed while {kind} was replaced:\n{}",
        events.join("\n")
    );
    assert_lease_applied(&w, &addr);
    // Only the new client and its helpers are left of ours.
    let ours: Vec<u32> = processes_mentioning(&w.cli, &w.tag(), None)
        .into_iter()
        .filter(|&p| w.daemon.as_ref().is_none_or(|d| d.pid() != p))
        .collect();
    assert!(ours.contains(&new), "{new} is not among {ours:?}");
    if kind == "dhcpcd" {
        // The killed one's helpers (its privileged proxy outlives it, and
        // ignores SIGTERM) were stopped: every dhcpcd left is the new one
        // or under it.
        let parent = |pid: u32| -> Option<u32> {
            fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("PPid:"))?
                .trim()
                .parse()
                .ok()
        };
        let under_new = |mut pid: u32| loop {
            if pid == new {
                return true;
            }
            match parent(pid) {
                Some(p) if p > 1 => pid = p,
                _ => return false,
            }
        };
        let strays: Vec<String> = netconf_tests::netns_pids(&w.cli)
            .into_iter()
            .filter(|&p| process_alive(p) && process_cmdline(p).starts_with("dhcpcd"))
            .filter(|&p| !under_new(p))
            .map(|p| format!("{p}: {}", process_cmdline(p)))
            .collect();
        assert!(
            strays.is_empty(),
            "dhcpcd processes of the killed one: {strays:?}"
        );
    }
    w.ifdown(&["cli0"]).assert_ok();
    w.wait_dnsmasq(&format!("DHCPRELEASE({SRV}) {addr} "));
}

/// netconfd killed: the client lives on, a new netconfd adopts it (by its
/// token), takes its renewal and releases it on ifdown.
fn adoption(kind: &str) {
    let mut w = serving_with(kind);
    let addr = w.up();
    let pid = client_pid(&w, kind);
    w.kill_daemon();
    assert!(process_alive(pid), "{kind} {pid} died with netconfd");
    w.start_daemon();
    assert!(
        w.daemon_log().contains("adopted"),
        "the new netconfd did not adopt {kind} {pid}"
    );
    assert_eq!(w.dhclient_pid(), Some(pid), "the recorded pid changed");
    let reason = renew_reason(kind);
    let before = answered(&w, reason);
    signal_client(&w, pid, libc::SIGUSR1);
    wait_until(&format!("the adopted {kind}'s {reason}"), || {
        answered(&w, reason) > before
    });
    assert!(
        !w.daemon_log().contains("refused"),
        "the adopted client's event was refused"
    );
    assert_lease_applied(&w, &addr);
    w.ifdown(&["cli0"]).assert_ok();
    w.wait_dnsmasq(&format!("DHCPRELEASE({SRV}) {addr} "));
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    wait_until("the adopted client to exit", || !process_alive(pid));
}

macro_rules! per_client {
    ($($name:ident: $scenario:ident($kind:literal);)*) => {
        $(
            #[test]
            fn $name() {
                $scenario($kind);
            }
        )*
    };
}

per_client! {
    dhcpcd_up_and_down: up_and_down("dhcpcd");
    udhcpc_up_and_down: up_and_down("udhcpc");
    dhcpcd_renewals: renewals("dhcpcd");
    udhcpc_renewals: renewals("udhcpc");
    dhcpcd_nak: nak("dhcpcd");
    udhcpc_nak: nak("udhcpc");
    dhcpcd_no_server: no_server("dhcpcd");
    udhcpc_no_server: no_server("udhcpc");
    dhcpcd_respawn: respawn("dhcpcd");
    udhcpc_respawn: respawn("udhcpc");
    dhcpcd_adoption: adoption("dhcpcd");
    udhcpc_adoption: adoption("udhcpc");
}

/// A client that is not installed fails the ifup before anything runs,
/// naming the package; one that cannot do what the stanza asks is refused
/// with the reason.
#[test]
fn missing_or_unable_client_is_named() {
    let w = World::with_stanza(
        &format!(
            "{STANZA}    dhcp-client udhcpc\n\niface cli0 inet6 dhcp\n    dhcp-client udhcpc\n"
        ),
        3,
    );
    // udhcpc speaks only DHCPv4.
    let up = w.ifup(&["cli0"]);
    up.assert_code(1);
    up.assert_output_contains("udhcpc speaks only DHCPv4");
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses on cli0");
    assert!(
        processes_mentioning(&w.cli, &w.tag(), Some("udhcpc")).is_empty(),
        "a udhcpc was started"
    );
}

/// dhcpcanon (RFC 7844, from PyPI): the lease it gets is applied, though it
/// asks for less (no MTU, no search list, no lease time: the address stays
/// until ifdown); it has no RELEASE, so ifdown stops it and takes the lease
/// out itself.
#[test]
fn dhcpcanon_up_and_down() {
    let w = serving_with("dhcpcanon");
    let addr = w.up();
    let pid = client_pid(&w, "dhcpcanon");
    let defaults = w.cli.default_routes("-4");
    assert_eq!(defaults.len(), 1, "default routes: {defaults:?}");
    assert_eq!(defaults[0]["gateway"], SERVER, "{defaults:?}");
    assert_eq!(defaults[0]["metric"], 50, "{defaults:?}");
    let resolv = w.resolv();
    assert!(
        resolv.lines().any(|l| l == "nameserver 198.18.0.53")
            && resolv.lines().any(|l| l == "search example.test"),
        "the lease's DNS:\n{resolv}"
    );
    w.ifdown(&["cli0"]).assert_ok();
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    assert_eq!(w.routes(), BTreeSet::new(), "netconf's routes left");
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf not put back");
    wait_until("dhcpcanon to exit", || !process_alive(pid));
    assert!(
        !w.dnsmasq_log()
            .contains(&format!("DHCPRELEASE({SRV}) {addr} ")),
        "dhcpcanon has no release, yet one was seen"
    );
}

/// A udhcpc or dhcpcd that an admin started by hand (no token of ours)
/// keeps netconf off its interface: `status` shows it foreign and `ifup`
/// refuses it, naming why; netconfd never signals it.
#[test]
fn foreign_udhcpc_and_dhcpcd_are_left_alone() {
    for kind in ["udhcpc", "dhcpcd"] {
        let w = serving_with(kind);
        w.cli.ip(&["link", "set", CLI, "up"]);
        let script = w.path("foreign-script");
        fs::write(&script, "#!/bin/sh\nexit 0\n").expect("script");
        fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let mut c = Command::new("ip");
        c.args(["netns", "exec", w.cli.name()]);
        match kind {
            "udhcpc" => c
                .arg("/sbin/udhcpc")
                .args(["-f", "-i", CLI, "-s"])
                .arg(&script)
                .arg("-p")
                .arg(w.path("foreign.pid")),
            // Its own mount namespace over a private /run/dhcpcd, as
            // netconf's are, so that it never meets another test's.
            _ => c
                .args(["unshare", "-m", "sh", "-c"])
                .arg(format!(
                    "mount --make-rprivate / && mkdir -p {dir}/frun {dir}/fdb && \
                     mount --bind {dir}/frun /run/dhcpcd && mount --bind {dir}/fdb /var/lib/dhcpcd && \
                     exec /usr/sbin/dhcpcd -4 -B --noconfigure -c {script} {CLI}",
                    dir = w.tag(),
                    script = script.display()
                )),
        };
        c.env_remove("NETCONF_TOKEN")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut hand = c.spawn().expect("the hand-started client");
        let is_foreign = || {
            let out = run(w.client(&bins().netconfctl, &["status", "--json"]));
            serde_json::from_str::<Value>(&out.stdout)
                .ok()
                .and_then(|s| {
                    s["interfaces"]
                        .as_array()?
                        .iter()
                        .find(|i| i["name"] == CLI)
                        .map(|i| i["management"] == "foreign")
                })
                .unwrap_or(false)
        };
        wait_until(&format!("the hand-started {kind} to be seen"), is_foreign);
        let up = w.ifup(&[CLI]);
        up.assert_code(1);
        up.assert_output_contains("run by a DHCP client netconf did not start");
        assert!(
            matches!(hand.try_wait(), Ok(None)),
            "the hand-started {kind} died"
        );
        // SAFETY: kill has no memory-safety preconditions; the PID is our
        // own unreaped child's (`ip netns exec` execs into the client).
        unsafe { libc::kill(hand.id() as libc::pid_t, libc::SIGKILL) };
        let _ = hand.wait();
    }
}

/// dhcpcd drops its lease when the carrier goes (NOCARRIER, EXPIRE) and
/// asks for it again when it comes back (CARRIER, REBOOT): netconfd takes
/// the lease out and puts it back with it. (dhcpcd watches the carrier
/// itself: netconfd does not restart it.)
#[test]
fn dhcpcd_follows_the_carrier() {
    let w = serving_with("dhcpcd");
    let addr = w.up();
    let pid = client_pid(&w, "dhcpcd");
    let expires = answered(&w, "EXPIRE");
    w.srv.ip(&["link", "set", SRV, "down"]);
    wait_until("dhcpcd's EXPIRE on carrier loss", || {
        answered(&w, "EXPIRE") > expires
    });
    assert_eq!(w.addrs(), BTreeSet::new(), "the expired lease stayed");
    assert_eq!(
        w.routes(),
        BTreeSet::new(),
        "the expired lease's routes stayed"
    );
    let reboots = answered(&w, "REBOOT");
    w.srv.ip(&["link", "set", SRV, "up"]);
    wait_until("dhcpcd's REBOOT when the carrier is back", || {
        answered(&w, "REBOOT") > reboots
    });
    assert_lease_applied(&w, &addr);
    assert_eq!(w.dhclient_pid(), Some(pid), "dhcpcd was restarted");
}

/// dhcpcanon survives a kill -9 of netconfd and is adopted by the next
/// one, found by the token in its environment; ifdown stops it.
#[test]
fn dhcpcanon_is_adopted_after_a_restart() {
    let mut w = serving_with("dhcpcanon");
    let addr = w.up();
    let pid = client_pid(&w, "dhcpcanon");
    w.kill_daemon();
    assert!(process_alive(pid), "dhcpcanon {pid} died with netconfd");
    w.start_daemon();
    assert!(
        w.daemon_log().contains("adopted"),
        "the new netconfd did not adopt dhcpcanon {pid}"
    );
    assert_eq!(w.dhclient_pid(), Some(pid), "the recorded pid changed");
    assert_eq!(w.addrs(), set(&[&format!("{addr}/24")]), "the lease went");
    w.ifdown(&["cli0"]).assert_ok();
    assert_eq!(w.addrs(), BTreeSet::new(), "addresses left on cli0");
    wait_until("the adopted dhcpcanon to exit", || !process_alive(pid));
}

/// The server goes away and the lease runs out (dnsmasq's shortest, 2
/// minutes): the client says so (dhcpcd's EXPIRE at the lease's end;
/// udhcpc's `deconfig` once its renewals and rebinds have failed, some
/// seconds before) and netconfd takes the lease out: address, routes, DNS.
fn lease_runs_out(kind: &str) {
    let mut w = World::with_stanza(&client_stanza(kind), LEASE_WAIT);
    let short: Vec<&str> = SERVER_OPTIONS
        .iter()
        .map(|o| {
            if o.starts_with("--dhcp-range=") {
                "--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,2m"
            } else {
                o
            }
        })
        .collect();
    w.start_server(&short);
    w.up();
    let pid = client_pid(&w, kind);
    w.server.take();
    // Longer than wait_until's safety net: the lease has 2 minutes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while !w.addrs().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never ran out: {:?}",
            w.addrs()
        );
        thread::sleep(std::time::Duration::from_millis(500));
    }
    let ended = if kind == "udhcpc" {
        "deconfig"
    } else {
        "EXPIRE"
    };
    assert!(answered(&w, ended) > 0, "no {ended} event");
    assert_eq!(w.routes(), BTreeSet::new(), "the lease's routes stayed");
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "the lease's DNS stayed");
    assert!(process_alive(pid), "{kind} gave up");
}

per_client! {
    dhcpcd_lease_runs_out: lease_runs_out("dhcpcd");
    udhcpc_lease_runs_out: lease_runs_out("udhcpc");
}
