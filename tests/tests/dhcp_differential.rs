//! `inet dhcp` with dhcpcd and with udhcpc: the kernel state netconf leaves
//! after `ifup -a` and after `ifdown -a`, compared with what Debian's
//! ifupdown 0.8.41 leaves for the same file with the same client.
//!
//! Each case is run twice, each time in a fresh world of its own: two
//! network namespaces joined by the veth pair `srv0`/`cli0`, dnsmasq on
//! `srv0` (198.18.0.1/24) with [`SERVER_OPTIONS`] (router, DNS, domain and
//! search list, MTU 1400, option 121 routes, a 1 h lease), and `cli0` in the
//! client namespace, down and unconfigured.
//!
//! 1. **Debian**: `ifup -a` / `ifdown -a` of Debian's ifupdown (unpacked by
//!    `scripts/fetch-debian-ifupdown`) on `auto cli0` / `iface cli0 inet
//!    dhcp` (with `metric 50` for dhcpcd, the one of the two clients Debian
//!    passes it to: `dhcpcd -m 50`; udhcpc gets no metric), with
//!    `--no-scripts` (no `/etc/network/if-*.d` hook runs; netconf's hooks
//!    directory is empty).
//!    Both commands run in one private view, a process of ours (`sleep`) in
//!    the client namespace holding a mount and UTS namespace of its own
//!    ([`private_mounts`] behind `unshare --uts`) that they enter with
//!    `nsenter`, so that the client Debian starts and its scripts see the
//!    same files at `ifup` and at `ifdown`: a tmpfs on `/run`,
//!    `/var/lib/dhcp` and `/var/lib/dhcpcd`; `/etc` a writable overlay whose
//!    upper layer is in the test's directory (where the scripts'
//!    `/etc/resolv.conf`, empty at first, is read from); and the other two
//!    clients hidden by a read-only overlay of non-executable files over
//!    the directories that hold them ([`overlay_lines`]), so that Debian's
//!    `execable()` passes dhclient over (`udhcpc` comes before `dhcpcd`, so
//!    the dhcpcd case hides udhcpc too). The host's `/etc`, `/run`, host
//!    name and network are never touched. Debian runs udhcpc with busybox's
//!    `/etc/udhcpc/default.script` and dhcpcd with its own
//!    `dhcpcd-run-hooks`.
//! 2. **netconf**: netconfd in the client namespace, the same file with
//!    `dhcp-client udhcpc|dhcpcd`, an empty hooks directory and
//!    `--resolv-conf` a file of the test's, empty at first.
//!
//! After `ifup -a` and again after `ifdown -a` (once every process of the
//! client has exited), each side's state is written as a set of lines:
//! every link (up or down, MTU, IPv6 address generation mode); every address
//! but IPv6 link-local ones (prefix, broadcast, scope, `noprefixroute`);
//! every route of every table but `local`, both families, without the
//! kernel's `fe80::/64` (destination, gateway, device, metric, scope,
//! source, a route MTU, table); the resolver lines of the resolv.conf the
//! side's scripts write (`domain`, `search`, `nameserver`); and, after
//! `ifdown`, whether dnsmasq got a DHCPRELEASE for the lease (read after a
//! fence: a DHCPDISCOVER sent on `cli0` after the state was taken, which
//! dnsmasq logs after anything sent before it). Normalised away is what
//! must differ: the leased address itself (each world leases its own; it
//! is written `LEASE`), address lifetimes (udhcpc's script adds the
//! address without one), route protocols (`boot`, `dhcp`, `kernel`,
//! netconf's 93), link-local addresses (dhcpcd makes its own),
//! MAC addresses and interface indexes.
//!
//! The lines only one side has must be exactly the by-design differences
//! below (for Debian's `ifdown` with udhcpc, one of the four ways its race
//! can end); any other difference, or one of these not seen, fails the
//! test, showing both sides' whole state.
//!
//! | client | when | Debian's ifupdown leaves | netconf leaves | why |
//! |---|---|---|---|---|
//! | udhcpc | up | `cli0` MTU 1500 | MTU 1400 | Debian runs `udhcpc -n -p PIDFILE -i cli0`, no `-O`: udhcpc asks for no MTU (26), classless routes (121) or search list (119), dnsmasq sends none of them, and busybox's default.script knows nothing of 121 anyway. netconf runs `-O mtu -O search -O staticroutes` and applies them |
//! | udhcpc | up | no `198.51.100.0/24 via 198.18.0.1` | that route, metric 0 | as above. The default route is the same line on both sides: Debian's from option 3, netconf's from option 121 (no metric, as Debian's dhclient rfc3442 hook adds them) |
//! | udhcpc | up | no `search` line | `search example.test lab.example.test` | as above; both write `domain example.test` and `nameserver 198.18.0.53` |
//! | udhcpc | down | MTU 1500, the lease's `domain`/`nameserver` still in resolv.conf | MTU 1400 (the MTU of `up` stays, as with Debian's dhclient-script, which never puts it back), resolv.conf as before `ifup` (empty) | default.script's `deconfig` only talks to resolvconf, so the lease's DNS stays whatever happens |
//! | udhcpc | down | one of four, by a race: (a) `LEASE/24` still on the downed `cli0`, no DHCPRELEASE; (b) nothing on the downed `cli0`, DHCPRELEASE; (c) nothing on `cli0`, DHCPRELEASE, but `cli0` **up**; (d) nothing on `cli0`, `cli0` up, no DHCPRELEASE | nothing on the downed `cli0`, DHCPRELEASE (`-R`, SIGTERM alone, then the wait for its exit) | Debian's `ifdown` runs `kill -USR2 $PID; kill -TERM $PID`, then `ip link set cli0 down`. If both signals are pending when udhcpc runs, the kernel sets up SIGUSR2's handler frame first and SIGTERM's on top of it, so SIGTERM's handler writes first to udhcpc's signal pipe: udhcpc exits at once (a; the link-down takes the routes, the address stays; a udhcpc stopped with SIGSTOP, sent both and continued, always does this). If udhcpc runs in between (the other CPU), SIGUSR2 comes first: RELEASE and `deconfig` (flush, and `ip link set cli0 up`), racing with ifupdown's link-down (b, c, d) |
//! | dhcpcd | up | `cli0` MTU 1500, each route `mtu 1400` | link MTU 1400, routes without an MTU | dhcpcd puts option 26 on its routes, netconf on the link, as dhclient-script does |
//! | dhcpcd | up | `addrgenmode none` | `eui64` | Debian runs dhcpcd for IPv6 too, and it makes its own (stable private) link-local address; netconf runs `dhcpcd -4` |
//! | dhcpcd | up | the address `noprefixroute`; the prefix route `metric 50 src LEASE mtu 1400` | the kernel's prefix route, metric 0 | Debian runs `dhcpcd -m 50 cli0`: dhcpcd adds the prefix route itself, with the metric |
//! | dhcpcd | up | `default` and `198.51.100.0/24` via 198.18.0.1, `metric 50 src LEASE mtu 1400` | the same two, metric 0, no source | dhcpcd gives every route its `-m` metric and a source; netconf gives option 121's routes no metric, as Debian's dhclient rfc3442 hook (the stanza's metric is for option 3's routers, which 121 replaces) |
//! | dhcpcd | down | MTU 1500, `addrgenmode none` | MTU 1400, `eui64` | the MTU of `up` stays on netconf's side; dhcpcd does not put the mode back |
//!
//! Everything else is the same: the address with its prefix and broadcast,
//! the kernel's prefix route with udhcpc, the resolv.conf lines with dhcpcd
//! (`domain`, `search`, `nameserver`; none after `ifdown`), the DHCPRELEASE
//! at dhcpcd's `ifdown` (`dhcpcd -k cli0` on Debian's side, SIGALRM on
//! netconf's), no address and no route left on `cli0` after dhcpcd's
//! `ifdown`, `cli0` down, and `lo`: both `ifup -a` set it up and both
//! `ifdown -a` set it down (Debian's 0.8.41 handles `lo` without a stanza).
//!
//! Each case cleans up fully: after `ifdown` every client process has
//! exited on both sides (checked), and the worlds' drops kill what is left
//! of theirs by PID (netconfd; in the Debian world, the processes of the
//! client namespace in the private view, then the holder), then dnsmasq,
//! then delete the namespaces and the directory.
//!
//! Needs root, dnsmasq, udhcpc (busybox) and dhcpcd (`dhcpcd-base`),
//! `unshare`, `nsenter` and `mount` (util-linux), overlayfs, Debian's
//! ifupdown unpacked (`scripts/fetch-debian-ifupdown`). Run: `cargo build
//! --bins && cargo test -p netconf-tests --test dhcp_differential --
//! --nocapture`.

use netconf_tests::debian::{ifupdown_command, lines, require_ifupdown, require_tools, PATH};
use netconf_tests::{
    bins, dhcp_world_dir, has_flag, hook_path, kill_processes_mentioning, netns_pids,
    overlay_lines, private_mounts, process_alive, process_cmdline, run, sh_quote, wait_until,
    Daemon, DaemonOptions, DhcpServer, Netns, Out,
};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;

const CLI: &str = "cli0";
const SRV: &str = "srv0";
/// The clients `inet dhcp` tries, in Debian's order.
const CLIENTS: [&str; 3] = ["dhclient", "udhcpc", "dhcpcd"];
/// What the lease is written as, in both sides' lines.
const LEASE: &str = "LEASE";

/// One dnsmasq for every world: router 198.18.0.1 (dnsmasq's default: its
/// own address), DNS, domain and search list, MTU, and option 121 with a
/// route and a default route, both via the router.
const SERVER_OPTIONS: &[&str] = &[
    "--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h",
    "--dhcp-option=option:dns-server,198.18.0.53",
    "--dhcp-option=option:domain-name,example.test",
    "--dhcp-option=option:domain-search,example.test,lab.example.test",
    "--dhcp-option=option:mtu,1400",
    "--dhcp-option=121,198.51.100.0/24,198.18.0.1,0.0.0.0/0,198.18.0.1",
];

/// Fails (never skips) when something the comparison needs is missing,
/// saying how to get it. Returns the world's directory (checked by
/// [`dhcp_world_dir`]: dnsmasq, the three clients, the hook).
fn preconditions(what: &str) -> tempfile::TempDir {
    let dir = dhcp_world_dir("nct-dhcpdiff-", "DHCP differential");
    require_ifupdown(&[]);
    require_tools(what, &["unshare", "nsenter", "mount", "readlink", "sleep"]);
    assert!(
        Path::new("/etc/udhcpc/default.script").is_file(),
        "Debian's udhcpc runs busybox's /etc/udhcpc/default.script (apt-get install udhcpc)"
    );
    dir
}

// ---------------------------------------------------------------------------
// The part both worlds share: two namespaces, the veth pair, dnsmasq

struct Net {
    // Dropped in this order: dnsmasq, then the namespaces.
    server: Option<DhcpServer>,
    cli: Netns,
    srv: Netns,
}

impl Net {
    fn new(dir: &Path) -> Net {
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
        let server = DhcpServer::start(&srv, SRV, dir, "dnsmasq", SERVER_OPTIONS);
        Net {
            server: Some(server),
            cli,
            srv,
        }
    }

    fn dnsmasq_log(&self) -> String {
        self.server
            .as_ref()
            .map(DhcpServer::log)
            .unwrap_or_default()
    }

    /// The one global IPv4 address of `cli0`: the lease, in dnsmasq's range,
    /// acknowledged by dnsmasq.
    fn lease(&self) -> String {
        let links = self.cli.ip_json(&["-4", "addr", "show", "dev", CLI]);
        let addrs: Vec<String> = links
            .iter()
            .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["scope"] == "global")
            .filter_map(|a| a["local"].as_str().map(String::from))
            .collect();
        assert_eq!(addrs.len(), 1, "one leased address on cli0: {addrs:?}");
        let lease = addrs[0].clone();
        let last: u32 = lease
            .strip_prefix("198.18.0.")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            (100..=199).contains(&last),
            "{lease} is not in dnsmasq's range 198.18.0.100-199"
        );
        let ack = format!("DHCPACK({SRV}) {lease} ");
        wait_until(&format!("dnsmasq to log {ack:?}"), || {
            self.dnsmasq_log().contains(&ack)
        });
        lease
    }

    /// Whether dnsmasq got a DHCPRELEASE of `lease`, once everything sent
    /// on `cli0` so far has reached it: the fence is one more DHCPDISCOVER
    /// (busybox udhcpc, configuring nothing: its script is `/bin/true`),
    /// sent after the state was taken (it sets `cli0` up), which dnsmasq
    /// reads from the same socket after anything sent before it.
    fn released_after_fence(&self, lease: &str) -> bool {
        let discovers = |log: &str| log.matches(&format!("DHCPDISCOVER({SRV}) ")).count();
        let before = discovers(&self.dnsmasq_log());
        self.cli.ip(&["link", "set", CLI, "up"]);
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.cli.name(), "/sbin/udhcpc"])
            .args(["-f", "-q", "-n", "-t", "5", "-T", "1", "-A", "1"])
            .args(["-i", CLI, "-s", "/bin/true"])
            .env_clear()
            .env("PATH", PATH)
            .current_dir("/");
        let _ = run(c);
        wait_until("dnsmasq to log the fence's DHCPDISCOVER", || {
            discovers(&self.dnsmasq_log()) > before
        });
        let log = self.dnsmasq_log();
        let fence = log
            .match_indices(&format!("DHCPDISCOVER({SRV}) "))
            .nth(before)
            .map_or(log.len(), |(i, _)| i);
        log[..fence].contains(&format!("DHCPRELEASE({SRV}) {lease} "))
    }
}

// ---------------------------------------------------------------------------
// The state, as lines

/// `addr` as written in the lines: the lease is [`LEASE`].
fn norm(addr: &str, lease: &str) -> String {
    if addr == lease {
        LEASE.to_string()
    } else {
        addr.to_string()
    }
}

/// The kernel state of the client namespace (see the module's doc), plus
/// `dns` lines from `resolv_conf`.
fn snapshot(ns: &Netns, lease: &str, resolv_conf: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in ns.ip_json(&["-d", "link", "show"]) {
        out.insert(format!(
            "link {} {} mtu {} addrgenmode {}",
            l["ifname"].as_str().unwrap_or("?"),
            if has_flag(&l, "UP") { "UP" } else { "down" },
            l["mtu"],
            l["inet6_addr_gen_mode"].as_str().unwrap_or("-"),
        ));
    }
    for l in ns.ip_json(&["addr", "show"]) {
        let dev = l["ifname"].as_str().unwrap_or("?");
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if a["family"] == "inet6" && a["scope"] == "link" {
                continue;
            }
            let mut line = format!(
                "addr {dev} {}/{}",
                norm(a["local"].as_str().unwrap_or("?"), lease),
                a["prefixlen"]
            );
            if let Some(b) = a["broadcast"].as_str() {
                let _ = write!(line, " brd {b}");
            }
            let _ = write!(line, " scope {}", a["scope"].as_str().unwrap_or("?"));
            if a["noprefixroute"] == true {
                line.push_str(" noprefixroute");
            }
            out.insert(line);
        }
    }
    for fam in ["-4", "-6"] {
        for r in ns.ip_json(&[fam, "route", "show", "table", "all"]) {
            let dst = r["dst"].as_str().unwrap_or("?");
            let table = r["table"].as_str().unwrap_or("main");
            if table == "local" || (fam == "-6" && dst == "fe80::/64") {
                continue;
            }
            let mut line = format!("route {fam} {dst}");
            if let Some(t) = r["type"].as_str() {
                let _ = write!(line, " type {t}");
            }
            if let Some(gw) = r["gateway"].as_str() {
                let _ = write!(line, " via {}", norm(gw, lease));
            }
            let _ = write!(
                line,
                " dev {} metric {}",
                r["dev"].as_str().unwrap_or("-"),
                r["metric"].as_u64().unwrap_or(0)
            );
            if let Some(s) = r["scope"].as_str() {
                let _ = write!(line, " scope {s}");
            }
            if let Some(src) = r["prefsrc"].as_str() {
                let _ = write!(line, " src {}", norm(src, lease));
            }
            for m in r["metrics"].as_array().into_iter().flatten() {
                if let Some(mtu) = m.get("mtu") {
                    let _ = write!(line, " mtu {mtu}");
                }
            }
            if table != "main" {
                let _ = write!(line, " table {table}");
            }
            out.insert(line);
        }
    }
    for l in resolv_conf.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let words: Vec<String> = l.split_whitespace().map(|w| norm(w, lease)).collect();
        out.insert(format!("dns {}", words.join(" ")));
    }
    out
}

/// The line saying whether dnsmasq got the lease's DHCPRELEASE.
fn release_line(released: bool) -> String {
    format!(
        "server {} DHCPRELEASE of {LEASE}",
        if released { "got" } else { "got no" }
    )
}

/// What one side left after `up` and after `down`.
struct Outcome {
    up: BTreeSet<String>,
    down: BTreeSet<String>,
}

// ---------------------------------------------------------------------------
// Debian's world

struct DebianWorld {
    // Dropped after Drop::drop has killed the processes: the namespaces
    // (with dnsmasq first), then the directory.
    holder: Option<Child>,
    net: Net,
    dir: tempfile::TempDir,
}

impl DebianWorld {
    /// The world, and the holder of its private view, in which only
    /// `client` of the three can run.
    fn new(client: &str, dir: tempfile::TempDir, interfaces: &str) -> DebianWorld {
        let d = dir.path();
        fs::write(d.join("interfaces"), interfaces).expect("interfaces file");
        for sub in ["state", "etc/upper", "etc/work", "hide"] {
            fs::create_dir_all(d.join(sub)).expect("a directory of the private view");
        }
        // Each client Debian must pass over, as a non-executable file laid
        // over every directory that holds it.
        let mut script = vec![
            "mount -t tmpfs -o mode=0755 tmpfs /run".to_string(),
            "[ ! -d /var/lib/dhcp ] || mount -t tmpfs -o mode=0755 tmpfs /var/lib/dhcp".into(),
            "[ ! -d /var/lib/dhcpcd ] || mount -t tmpfs -o mode=0755 tmpfs /var/lib/dhcpcd".into(),
            format!(
                "mount -t overlay overlay -o lowerdir=/etc,upperdir={},workdir={} /etc",
                sh_quote(&d.join("etc/upper").to_string_lossy()),
                sh_quote(&d.join("etc/work").to_string_lossy()),
            ),
            "rm -f /etc/resolv.conf".into(),
            ": > /etc/resolv.conf".into(),
        ];
        let mut hidden_dirs = BTreeSet::new();
        for other in CLIENTS.iter().filter(|c| **c != client) {
            let file = d.join("hide").join(other);
            fs::write(&file, "").expect("a hiding file");
            fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
            for dir in PATH.split(':') {
                if Path::new(dir).join(other).exists() {
                    let real = fs::canonicalize(dir).expect("a directory of PATH");
                    hidden_dirs.insert(real);
                }
            }
        }
        for real in &hidden_dirs {
            script.push(overlay_lines(&d.join("hide"), &real.to_string_lossy()));
        }
        let log = fs::File::create(d.join("holder.log")).expect("holder log");
        let mut c = Command::new("ip");
        let net = Net::new(d);
        c.args(["netns", "exec", net.cli.name(), "unshare", "--uts", "--"])
            .args(private_mounts(&script.join("\n")))
            .args(["sleep", "infinity"])
            .env_clear()
            .env("PATH", PATH)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        let child = c.spawn().expect("starting the private view's holder");
        let pid = child.id();
        let mut w = DebianWorld {
            holder: Some(child),
            net,
            dir,
        };
        // `ip netns exec`, both `unshare` and `sh` exec what follows them:
        // the PID ends up sleep's, once every mount is made.
        wait_until("the private view to be ready", || {
            if let Some(status) = w.holder.as_mut().and_then(|h| h.try_wait().ok().flatten()) {
                panic!(
                    "the private view could not be made ({status}):\n{}",
                    fs::read_to_string(w.path("holder.log")).unwrap_or_default()
                );
            }
            process_cmdline(pid) == "sleep infinity"
        });
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn holder_pid(&self) -> u32 {
        self.holder.as_ref().expect("the holder").id()
    }

    /// Debian's `program ARGS` in the private view; must succeed.
    fn debian(&self, program: &str, args: &[&str]) -> Out {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder_pid().to_string())
            .args(["-m", "-u", "-n", "--"]);
        let args = [args, &["--no-scripts"]].concat();
        let mut c = ifupdown_command(c, program, &args, self.dir.path());
        c.env("LC_ALL", "C");
        let out = run(c);
        out.assert_ok();
        out
    }

    /// The live processes of the client namespace, holder aside: Debian's
    /// client, its helpers and scripts (nothing else runs there).
    fn processes(&self) -> Vec<u32> {
        let holder = self.holder.as_ref().map(Child::id);
        netns_pids(&self.net.cli)
            .into_iter()
            .filter(|&p| Some(p) != holder && process_alive(p))
            .collect()
    }

    /// Of [`DebianWorld::processes`], those in the private view (its mount
    /// namespace): what Drop may kill, checked again right before.
    fn processes_in_view(&self) -> Vec<u32> {
        let Some(holder) = self.holder.as_ref().map(Child::id) else {
            return Vec::new();
        };
        let view = fs::read_link(format!("/proc/{holder}/ns/mnt")).ok();
        self.processes()
            .into_iter()
            .filter(|&p| view.is_some() && fs::read_link(format!("/proc/{p}/ns/mnt")).ok() == view)
            .collect()
    }

    /// The resolv.conf the private view's scripts write.
    fn resolv(&self) -> String {
        fs::read_to_string(self.path("etc/upper/resolv.conf")).unwrap_or_default()
    }

    fn run_case(&self) -> Outcome {
        let up = self.debian("ifup", &["-a"]);
        let lease = self.net.lease();
        let state_up = snapshot(&self.net.cli, &lease, &self.resolv());
        assert!(
            !self.processes().is_empty(),
            "Debian's client is not running after ifup:\n{up}"
        );
        self.debian("ifdown", &["-a"]);
        wait_until("Debian's client to exit after ifdown", || {
            self.processes().is_empty()
        });
        let mut down = snapshot(&self.net.cli, &lease, &self.resolv());
        down.insert(release_line(self.net.released_after_fence(&lease)));
        Outcome { up: state_up, down }
    }
}

impl Drop for DebianWorld {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== Debian's world (client namespace {}) =====\n--- dnsmasq (server namespace {}) ---\n{}\n\
                 --- resolv.conf ---\n{}\n--- holder ---\n{}\n===== end =====",
                self.net.cli.name(),
                self.net.srv.name(),
                self.net.dnsmasq_log(),
                self.resolv(),
                fs::read_to_string(self.path("holder.log")).unwrap_or_default(),
            );
        }
        if self.holder.is_some() {
            // Debian's client and its helpers, each by its PID (checked to
            // be in our namespace and our private view), then the holder.
            for pid in self.processes_in_view() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            wait_until("Debian's client processes to be gone", || {
                self.processes_in_view().is_empty()
            });
            let left = self.processes();
            if !left.is_empty() {
                eprintln!(
                    "warning: processes left in namespace {} (not in the private view, not \
                     killed): {left:?}",
                    self.net.cli.name()
                );
            }
        }
        if let Some(mut holder) = self.holder.take() {
            if matches!(holder.try_wait(), Ok(None)) {
                // SAFETY: as above; our own unreaped child.
                unsafe { libc::kill(holder.id() as libc::pid_t, libc::SIGKILL) };
            }
            let _ = holder.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// netconf's world

struct NetconfWorld {
    // netconfd goes first (Drop), then what is left of ours, then dnsmasq
    // and the namespaces, then the directory.
    daemon: Option<Daemon>,
    net: Net,
    dir: tempfile::TempDir,
}

impl NetconfWorld {
    fn new(dir: tempfile::TempDir, interfaces: &str) -> NetconfWorld {
        let d = dir.path();
        fs::write(d.join("interfaces"), interfaces).expect("interfaces file");
        fs::write(d.join("resolv.conf"), "").expect("resolv.conf");
        let net = Net::new(d);
        let extra: Vec<OsString> = vec![
            "--resolv-conf".into(),
            d.join("resolv.conf").into(),
            "--dhcp-timeout".into(),
            "60".into(),
            "--dhcp-hook".into(),
            hook_path().into(),
        ];
        let daemon = Daemon::start_with_args(&net.cli, d, &DaemonOptions::default(), &extra);
        NetconfWorld {
            daemon: Some(daemon),
            net,
            dir,
        }
    }

    fn tag(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn client(&self, program: &Path, args: &[&str]) -> Out {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.dir.path().join("ctl.sock"))
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        let out = run(c);
        out.assert_ok();
        out
    }

    /// The live processes of the client namespace, netconfd aside: the
    /// DHCP client, its helpers and hooks (nothing else runs there).
    fn processes(&self) -> Vec<u32> {
        let daemon = self.daemon.as_ref().map(Daemon::pid);
        netns_pids(&self.net.cli)
            .into_iter()
            .filter(|&p| Some(p) != daemon && process_alive(p))
            .collect()
    }

    fn daemon_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("netconfd.log")).unwrap_or_default()
    }

    fn resolv(&self) -> String {
        fs::read_to_string(self.dir.path().join("resolv.conf")).unwrap_or_default()
    }

    fn run_case(&self) -> Outcome {
        self.client(&bins().ifup, &["-a"]);
        let lease = self.net.lease();
        let up = snapshot(&self.net.cli, &lease, &self.resolv());
        assert!(
            !self.processes().is_empty(),
            "netconf's client is not running after ifup"
        );
        self.client(&bins().ifdown, &["-a"]);
        // netconfd says so when the client did not release (and exit) in
        // its time: no need to wait for the exit below to fail.
        let unreleased: Vec<String> = self
            .daemon_log()
            .lines()
            .filter(|l| l.contains("did not release within"))
            .map(String::from)
            .collect();
        assert!(
            unreleased.is_empty(),
            "netconf's ifdown -a did not release the lease (no DHCPRELEASE: {}):\n{}\n\
             processes still running in the client namespace: {:?}",
            !self
                .net
                .dnsmasq_log()
                .contains(&format!("DHCPRELEASE({SRV}) {lease} ")),
            unreleased.join("\n"),
            self.processes()
                .iter()
                .map(|&p| format!("{p} {}", process_cmdline(p).trim_end()))
                .collect::<Vec<_>>()
        );
        wait_until("netconf's client to exit after ifdown", || {
            self.processes().is_empty()
        });
        let mut down = snapshot(&self.net.cli, &lease, &self.resolv());
        down.insert(release_line(self.net.released_after_fence(&lease)));
        Outcome { up, down }
    }
}

impl Drop for NetconfWorld {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== netconf's world (client namespace {}) =====\n--- netconfd ---\n{}\n\
                 --- dnsmasq (server namespace {}) ---\n{}\n--- resolv.conf ---\n{}\n===== end =====",
                self.net.cli.name(),
                self.daemon_log(),
                self.net.srv.name(),
                self.net.dnsmasq_log(),
                self.resolv(),
            );
        }
        self.daemon.take();
        kill_processes_mentioning(&self.net.cli, &self.tag());
    }
}

// ---------------------------------------------------------------------------
// The comparison

/// One way the two sides may differ by design: the lines only Debian's
/// side has and the lines only netconf's has.
struct Differences {
    name: &'static str,
    only_debian: &'static [&'static str],
    only_netconf: &'static [&'static str],
}

/// One client: the options its stanza has besides the method, and the
/// by-design differences (the module's table) after `up` and after `down`,
/// each a list of the ways they may come out (one, unless Debian's side
/// races with itself).
struct Case {
    client: &'static str,
    options: &'static str,
    up: &'static [Differences],
    down: &'static [Differences],
}

fn to_set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The name of the way (of `allowed`) the two states differ in, or what
/// is wrong with each.
fn check_differences(
    client: &str,
    when: &str,
    debian: &BTreeSet<String>,
    ours: &BTreeSet<String>,
    allowed: &[Differences],
) -> Result<&'static str, String> {
    let got_debian: BTreeSet<String> = debian.difference(ours).cloned().collect();
    let got_netconf: BTreeSet<String> = ours.difference(debian).cloned().collect();
    let mut text = format!("{client} after {when}:\n");
    for way in allowed {
        let expected_debian = to_set(way.only_debian);
        let expected_netconf = to_set(way.only_netconf);
        if got_debian == expected_debian && got_netconf == expected_netconf {
            return Ok(way.name);
        }
        let _ = writeln!(
            text,
            "  compared with the by-design differences \"{}\":",
            way.name
        );
        for (what, got, expected) in [
            ("only Debian", &got_debian, &expected_debian),
            ("only netconf", &got_netconf, &expected_netconf),
        ] {
            for l in got.difference(expected) {
                let _ = writeln!(text, "    unexpected, {what}: {l}");
            }
            for l in expected.difference(got) {
                let _ = writeln!(text, "    by-design difference not seen, {what}: {l}");
            }
        }
    }
    let _ = write!(
        text,
        "--- Debian's state:\n{}\n--- netconf's state:\n{}\n",
        lines(debian, "    "),
        lines(ours, "    ")
    );
    Err(text)
}

fn check_case(case: &Case) {
    let debian_file = format!("auto cli0\niface cli0 inet dhcp\n{}", case.options);
    let ours_file = format!("{debian_file}    dhcp-client {}\n", case.client);

    let debian = {
        let w = DebianWorld::new(
            case.client,
            preconditions("DHCP differential"),
            &debian_file,
        );
        w.run_case()
    };
    let ours = {
        let w = NetconfWorld::new(preconditions("DHCP differential"), &ours_file);
        w.run_case()
    };

    // Neither side may agree by both doing nothing.
    for (who, state) in [("Debian", &debian), ("netconf", &ours)] {
        assert!(
            state
                .up
                .iter()
                .any(|l| l.starts_with(&format!("addr {CLI} {LEASE}/24 "))),
            "{}: {who} did not apply the lease:\n{}",
            case.client,
            lines(&state.up, "    ")
        );
    }
    let mut failures = Vec::new();
    for (when, d, o, allowed) in [
        ("ifup -a", &debian.up, &ours.up, case.up),
        ("ifdown -a", &debian.down, &ours.down, case.down),
    ] {
        match check_differences(case.client, when, d, o, allowed) {
            Ok(way) => eprintln!(
                "{} after {when}: by-design differences \"{way}\"",
                case.client
            ),
            Err(text) => failures.push(text),
        }
    }
    assert!(
        failures.is_empty(),
        "netconf and Debian's ifupdown differ otherwise than by design:\n{}",
        failures.join("\n")
    );
}

#[test]
fn udhcpc_like_debian_but_by_design() {
    check_case(&Case {
        client: "udhcpc",
        options: "",
        up: &[Differences {
            name: "udhcpc asks Debian's script for no MTU, routes or search list",
            only_debian: &["link cli0 UP mtu 1500 addrgenmode eui64"],
            only_netconf: &[
                "link cli0 UP mtu 1400 addrgenmode eui64",
                "route -4 198.51.100.0/24 via 198.18.0.1 dev cli0 metric 0",
                "dns search example.test lab.example.test",
            ],
        }],
        // Debian's ifdown sends SIGUSR2 and SIGTERM back to back, then sets
        // the link down: which of the three udhcpc acts on first is a race.
        down: &[
            Differences {
                name: "(a) SIGTERM first: no release, the lease left on cli0",
                only_debian: &[
                    "link cli0 down mtu 1500 addrgenmode eui64",
                    "addr cli0 LEASE/24 brd 198.18.0.255 scope global",
                    "dns domain example.test",
                    "dns nameserver 198.18.0.53",
                    "server got no DHCPRELEASE of LEASE",
                ],
                only_netconf: &[
                    "link cli0 down mtu 1400 addrgenmode eui64",
                    "server got DHCPRELEASE of LEASE",
                ],
            },
            Differences {
                name: "(b) SIGUSR2 first: released and deconfigured before the link went down",
                only_debian: &[
                    "link cli0 down mtu 1500 addrgenmode eui64",
                    "dns domain example.test",
                    "dns nameserver 198.18.0.53",
                ],
                only_netconf: &["link cli0 down mtu 1400 addrgenmode eui64"],
            },
            Differences {
                name: "(c) SIGUSR2 first: released, then deconfig set the downed link up again",
                only_debian: &[
                    "link cli0 UP mtu 1500 addrgenmode eui64",
                    "dns domain example.test",
                    "dns nameserver 198.18.0.53",
                ],
                only_netconf: &["link cli0 down mtu 1400 addrgenmode eui64"],
            },
            Differences {
                name: "(d) SIGUSR2 first, after the link went down: no release, deconfig set it up",
                only_debian: &[
                    "link cli0 UP mtu 1500 addrgenmode eui64",
                    "dns domain example.test",
                    "dns nameserver 198.18.0.53",
                    "server got no DHCPRELEASE of LEASE",
                ],
                only_netconf: &[
                    "link cli0 down mtu 1400 addrgenmode eui64",
                    "server got DHCPRELEASE of LEASE",
                ],
            },
        ],
    });
}

#[test]
fn dhcpcd_like_debian_but_by_design() {
    check_case(&Case {
        client: "dhcpcd",
        options: "    metric 50\n",
        up: &[Differences {
            name: "dhcpcd-run-hooks configure: metric 50 and MTU on every route, IPv6 too",
            only_debian: &[
                "link cli0 UP mtu 1500 addrgenmode none",
                "addr cli0 LEASE/24 brd 198.18.0.255 scope global noprefixroute",
                "route -4 198.18.0.0/24 dev cli0 metric 50 scope link src LEASE mtu 1400",
                "route -4 198.51.100.0/24 via 198.18.0.1 dev cli0 metric 50 src LEASE mtu 1400",
                "route -4 default via 198.18.0.1 dev cli0 metric 50 src LEASE mtu 1400",
            ],
            only_netconf: &[
                "link cli0 UP mtu 1400 addrgenmode eui64",
                "addr cli0 LEASE/24 brd 198.18.0.255 scope global",
                "route -4 198.18.0.0/24 dev cli0 metric 0 scope link src LEASE",
                "route -4 198.51.100.0/24 via 198.18.0.1 dev cli0 metric 0",
                "route -4 default via 198.18.0.1 dev cli0 metric 0",
            ],
        }],
        down: &[Differences {
            name: "the MTU of up stays; dhcpcd leaves addrgenmode none",
            only_debian: &["link cli0 down mtu 1500 addrgenmode none"],
            only_netconf: &["link cli0 down mtu 1400 addrgenmode eui64"],
        }],
    });
}
