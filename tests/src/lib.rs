//! End-to-end tests of netconf's binaries; the tests live in `tests/`.
//!
//! This library holds what the daemon tests share: the binaries under test,
//! a network namespace per test ([`Netns`], removed on every exit path),
//! a `netconfd` running inside it ([`Daemon`], killed by its PID when the test
//! ends), both bundled with a private directory in a [`Harness`], clients run
//! with a generous safety timeout ([`Running`], [`Out`]), readers of the
//! kernel's view (`ip -j ...`, parsed with serde_json) and an `ip monitor`
//! fenced by marker events ([`Monitor`]).
//!
//! Rules every user follows: nothing touches the machine's own network
//! namespace; names, directories and namespaces are unique per test (tests run
//! in parallel); no assertion depends on how long something took, timeouts are
//! only safety nets. Needs root (namespaces); without it, tests fail, loudly.

pub mod ifupdown2_eni;
pub mod links;
pub mod round_trip;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

pub mod debian;

/// Safety net for one client command (ifup, ifdown, ifquery, ip): far beyond
/// anything a healthy run needs; only a hang reaches it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Safety net for waiting on the daemon, the kernel or a monitor.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The protocol number netconf tags its routes with.
pub const NETCONF_PROTO: &str = "93";

// ---------------------------------------------------------------------------
// Preconditions: root, binaries

/// Fails the test (never skips it) unless it runs as root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "the daemon end-to-end tests must run as root (euid is {euid}): they create network \
         namespaces and run netconfd inside them; run them with sudo"
    );
}

/// The binaries under test.
#[derive(Debug)]
pub struct Bins {
    pub dir: PathBuf,
    pub netconfd: PathBuf,
    pub ifup: PathBuf,
    pub ifdown: PathBuf,
    pub ifquery: PathBuf,
    pub ifreload: PathBuf,
    pub netconfctl: PathBuf,
}

pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// `$NETCONF_BIN_DIR` (relative to the repository root if relative), else
/// `<repo>/target/debug`. Panics, saying what to do, if a binary is missing.
pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Result<Bins, String>> = OnceLock::new();
    let found = BINS.get_or_init(|| {
        let dir = match std::env::var_os("NETCONF_BIN_DIR") {
            Some(d) if !d.is_empty() => repo_root().join(d),
            _ => repo_root().join("target/debug"),
        };
        let get = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "missing {}: run `cargo build --bins` first (or set NETCONF_BIN_DIR to \
                     where netconfd and its clients are)",
                    path.display()
                ))
            }
        };
        Ok(Bins {
            netconfd: get("netconfd")?,
            ifup: get("ifup")?,
            ifdown: get("ifdown")?,
            ifquery: get("ifquery")?,
            ifreload: get("ifreload")?,
            netconfctl: get("netconfctl")?,
            dir,
        })
    });
    match found {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------
// Running commands

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Out {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from_output(what: String, o: Output) -> Out {
        Out {
            what,
            status: o.status,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The exit code; None if killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Both streams, for searching a message wherever the client put it.
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the command exited 0.
    pub fn assert_ok(&self) -> &Out {
        assert!(self.success(), "expected success:\n{self}");
        self
    }

    /// Panics with the whole output unless the command exited with `code`.
    pub fn assert_code(&self, code: i32) -> &Out {
        assert_eq!(self.code(), Some(code), "unexpected exit status:\n{self}");
        self
    }

    /// Panics unless stdout or stderr contains `needle`.
    pub fn assert_output_contains(&self, needle: &str) -> &Out {
        assert!(
            self.all_output().contains(needle),
            "expected the output to contain {needle:?}:\n{self}"
        );
        self
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => format!("{:?}", self.status),
        };
        writeln!(f, "$ {}\n[{status}]", self.what)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// Renders a command line for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A command started in the background; [`Running::wait`] collects it.
pub struct Running {
    what: String,
    pid: u32,
    done: Receiver<std::io::Result<Output>>,
}

impl Running {
    /// Starts `cmd` with stdout and stderr captured and stdin empty.
    pub fn spawn(mut cmd: Command) -> Running {
        let what = describe(&cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A script a test has just written may be "busy" for a moment: a
        // child another test thread forked meanwhile holds the write
        // descriptor until its exec closes it (ETXTBSY). Try again briefly.
        let mut tries = 0;
        let child = loop {
            match cmd.spawn() {
                Ok(child) => break child,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("cannot start `{what}`: {e}"),
            }
        };
        let pid = child.id();
        let (tx, done) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        Running { what, pid, done }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the command to finish; after [`COMMAND_TIMEOUT`] it is
    /// killed (by its own PID: it is not reaped until the waiting thread
    /// reaps it, so the PID cannot have been reused) and the test fails.
    pub fn wait(self) -> Out {
        match self.done.recv_timeout(COMMAND_TIMEOUT) {
            Ok(Ok(o)) => Out::from_output(self.what, o),
            Ok(Err(e)) => panic!("waiting for `{}`: {e}", self.what),
            Err(RecvTimeoutError::Timeout) => {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
                let partial = match self.done.recv_timeout(Duration::from_secs(10)) {
                    Ok(Ok(o)) => Out::from_output(self.what.clone(), o).to_string(),
                    _ => String::new(),
                };
                panic!(
                    "`{}` did not finish within {COMMAND_TIMEOUT:?} and was killed (safety net, \
                     not a timing assertion: it hung)\n{partial}",
                    self.what
                )
            }
            Err(RecvTimeoutError::Disconnected) => panic!("lost track of `{}`", self.what),
        }
    }
}

/// `program`, run by `setpriv` as uid and gid `nobody` (65534) with no
/// other groups: a local user who may read but not change the network.
pub fn as_nobody(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ])
    .arg(program);
    c
}

/// Runs `cmd` to completion (bounded by the safety net).
pub fn run(cmd: Command) -> Out {
    Running::spawn(cmd).wait()
}

/// Waits until `cond` holds, polling; fails the test, naming `what`, after
/// [`WAIT_TIMEOUT`] (a safety net: only a hang reaches it).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        if cond() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what} after {WAIT_TIMEOUT:?} (safety net)"
        );
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Polls `done` until it holds, at most `secs` seconds, and says whether it
/// did (a safety net for things that end asynchronously, such as a
/// process's exit; no timing is asserted).
pub fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    done()
}

// ---------------------------------------------------------------------------
// Private mount namespaces: files of Debian packages where their scripts
// expect them, seen by one command only

/// `text` quoted for `sh`.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A command prefix (for [`Command`], or [`Daemon::start_wrapped`]) that
/// runs what follows it in a mount namespace of its own (`unshare --mount`,
/// propagation private: nothing leaks to the machine's), after the `sh`
/// lines `script` (which fail the whole command on error) ran there.
pub fn private_mounts(script: &str) -> Vec<std::ffi::OsString> {
    let body = format!("set -e\n{script}\nexec \"$@\"\n");
    [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        &body,
        "sh",
    ]
    .iter()
    .map(Into::into)
    .collect()
}

/// `sh` lines that lay the files of `extra` over the directory `target`
/// (resolved first: `/sbin` is `/usr/sbin` on a merged-usr system), as a
/// read-only overlay: what `extra` has wins, the rest is still there. For
/// [`private_mounts`] only.
pub fn overlay_lines(extra: &Path, target: &str) -> String {
    let extra = extra.to_string_lossy();
    assert!(
        !extra.contains([':', ',']),
        "an overlay layer's path may not contain ':' or ',': {extra}"
    );
    format!(
        "t=$(readlink -f {target})\nmount -t overlay overlay -o lowerdir={extra}:\"$t\" \"$t\"",
        target = sh_quote(target),
        extra = sh_quote(&extra),
    )
}

// ---------------------------------------------------------------------------
// Network namespaces

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this process and call: `nct-<pid>-<n>`.
pub fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("nct-{}-{n}", std::process::id())
}

/// A named network namespace of our own, deleted on drop. Everything the
/// tests do to the network happens in here.
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Netns {
        require_root();
        let name = unique_name();
        // A namespace of this exact name can only be left over from an
        // earlier run whose process had our PID and was killed hard.
        if Path::new("/run/netns").join(&name).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
        let out = run(cmd("ip", &["netns", "add", &name]));
        assert!(out.success(), "cannot create a network namespace:\n{out}");
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NS ARGS...`, whatever its outcome.
    pub fn try_ip(&self, args: &[&str]) -> Out {
        let mut c = Command::new("ip");
        c.arg("-n").arg(&self.name).args(args);
        run(c)
    }

    /// `ip -n NS ARGS...`; panics if it fails. Returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = self.try_ip(args);
        assert!(out.success(), "ip command failed:\n{out}");
        out.stdout
    }

    /// `ip -n NS -j ARGS...`, parsed; an empty answer is an empty array.
    pub fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let text = self.ip(&all);
        if text.trim().is_empty() {
            return Vec::new();
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => items,
            Ok(other) => panic!("ip -j {args:?} gave a non-array: {other}"),
            Err(e) => panic!("ip -j {args:?} gave unreadable JSON ({e}): {text}"),
        }
    }

    /// Runs a batch of `ip` commands (one per line) in the namespace.
    pub fn batch(&self, commands: &str) {
        let file = tempfile::NamedTempFile::new().expect("temporary batch file");
        fs::write(file.path(), commands).expect("writing the batch file");
        let path = file.path().to_string_lossy().into_owned();
        self.ip(&["-batch", &path]);
    }

    /// A veth pair `name` / `name`p, the peer up (so `name` gets carrier
    /// when it goes up), `name` itself left down.
    pub fn veth(&self, name: &str) {
        let peer = format!("{name}p");
        self.batch(&format!(
            "link add {name} type veth peer name {peer}\nlink set {peer} up\n"
        ));
    }

    /// `ip -j link show dev DEV`.
    pub fn link(&self, dev: &str) -> Value {
        let mut links = self.ip_json(&["link", "show", "dev", dev]);
        assert_eq!(links.len(), 1, "ip link show dev {dev}: {links:?}");
        links.remove(0)
    }

    /// Whether the link is administratively up (IFF_UP).
    pub fn is_up(&self, dev: &str) -> bool {
        has_flag(&self.link(dev), "UP")
    }

    pub fn mtu(&self, dev: &str) -> u64 {
        self.link(dev)["mtu"].as_u64().expect("link has an mtu")
    }

    /// The global-scope addresses of `dev`, as `addr/prefix`.
    pub fn global_addrs(&self, dev: &str) -> BTreeSet<String> {
        let links = self.ip_json(&["addr", "show", "dev", dev]);
        links.iter().flat_map(global_addrs_of).collect()
    }

    /// Every link's global-scope addresses, by name.
    pub fn all_global_addrs(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.ip_json(&["addr", "show"])
            .iter()
            .map(|l| {
                let name = l["ifname"].as_str().unwrap_or_default().to_string();
                (name, global_addrs_of(l).collect())
            })
            .collect()
    }

    /// Every link, by name.
    pub fn all_links(&self) -> BTreeMap<String, Value> {
        self.ip_json(&["link", "show"])
            .into_iter()
            .map(|l| (l["ifname"].as_str().unwrap_or_default().to_string(), l))
            .collect()
    }

    /// The routes netconf owns (protocol 93), both families, all tables,
    /// each as `family dst via gw dev DEV metric M`.
    pub fn netconf_routes(&self) -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        for fam in ["-4", "-6"] {
            for r in self.ip_json(&[fam, "route", "show", "table", "all", "proto", "93"]) {
                set.insert(route_text(fam, &r));
            }
        }
        set
    }

    /// The default routes of one family (`-4` or `-6`) with their protocol.
    pub fn default_routes(&self, fam: &str) -> Vec<Value> {
        self.ip_json(&[fam, "route", "show", "default"])
    }

    /// Everything about `dev` a test compares across a change: link flags,
    /// MTU, global addresses, netconf's routes on it.
    pub fn snapshot(&self, dev: &str) -> String {
        let link = self.link(dev);
        let mut flags: Vec<String> = link["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        flags.sort();
        let routes: Vec<String> = self
            .netconf_routes()
            .into_iter()
            .filter(|r| r.contains(&format!(" dev {dev} ")) || r.ends_with(&format!(" dev {dev}")))
            .collect();
        format!(
            "flags {flags:?} mtu {} addrs {:?} netconf routes {routes:?}",
            link["mtu"],
            self.global_addrs(dev)
        )
    }

    /// Waits until the kernel has stopped doing things on its own after links
    /// went up: no link with carrier waits for linkwatch (operstate UP), every
    /// such link has its IPv6 link-local address, and no address is still
    /// tentative (DAD running). Used before watching for "no change at all".
    /// (A link whose driver reports no operstate, such as a vxlan, counts
    /// as settled with UNKNOWN, and one with `addrgenmode none` needs no
    /// link-local address.)
    pub fn settle(&self) {
        let ipv6 = !self
            .ip_json(&["-6", "addr", "show", "dev", "lo"])
            .iter()
            .all(|l| l["addr_info"].as_array().is_none_or(|a| a.is_empty()));
        wait_until(&format!("the kernel to settle in {}", self.name), || {
            // Links that make no IPv6 address of their own (bridge ports:
            // `addrgenmode none`) never get a link-local one.
            // Nor do links without IPv6 (CAN devices) or VRF devices
            // (the kernel gives an l3mdev master none).
            let no_addrgen: BTreeSet<String> = self
                .ip_json(&["-d", "link", "show"])
                .iter()
                .filter(|l| {
                    l["inet6_addr_gen_mode"] == "none"
                        || l["link_type"] == "can"
                        || l["linkinfo"]["info_kind"] == "vrf"
                })
                .filter_map(|l| l["ifname"].as_str().map(String::from))
                .collect();
            let links = self.ip_json(&["addr", "show"]);
            links.iter().all(|l| {
                let name = l["ifname"].as_str().unwrap_or_default();
                let addrs = l["addr_info"].as_array().cloned().unwrap_or_default();
                let no_tentative = addrs.iter().all(|a| a.get("tentative").is_none());
                if name == "lo" || !has_flag(l, "LOWER_UP") || !has_flag(l, "UP") {
                    return no_tentative;
                }
                // Links without a carrier of their own (vxlan) stay
                // UNKNOWN for good.
                let oper = matches!(l["operstate"].as_str(), Some("UP" | "UNKNOWN"));
                // A bond's slaves (IFF_SLAVE) make none either, nor do
                // some IP tunnels (ipip, a 6to4 sit); a NOARP link's
                // addresses need no DAD, so come with the link going up.
                let link_local = !ipv6
                    || no_addrgen.contains(name)
                    || has_flag(l, "SLAVE")
                    || has_flag(l, "NOARP")
                    || addrs
                        .iter()
                        .any(|a| a["family"] == "inet6" && a["scope"] == "link");
                no_tentative && oper && link_local
            })
        });
    }

    /// Starts `ip monitor link address route` in the namespace; see [`Monitor`].
    pub fn monitor(&self) -> Monitor {
        Monitor::start(self)
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let status = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

pub fn has_flag(link: &Value, flag: &str) -> bool {
    link["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == flag))
}

fn global_addrs_of(link: &Value) -> impl Iterator<Item = String> + '_ {
    link["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or("?"), a["prefixlen"]))
}

fn route_text(fam: &str, r: &Value) -> String {
    let mut s = format!("{fam} {}", r["dst"].as_str().unwrap_or("?"));
    if let Some(gw) = r["gateway"].as_str() {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = r["dev"].as_str() {
        s.push_str(&format!(" dev {dev}"));
    }
    if let Some(m) = r["metric"].as_u64() {
        s.push_str(&format!(" metric {m}"));
    }
    s
}

// ---------------------------------------------------------------------------
// ip monitor, fenced by markers

/// `ip -n NS monitor link address route`, with a fence: [`Monitor::fence`]
/// adds a marker address to a link of its own (`nctmk`, kept down) and
/// returns every event seen since the previous fence, the marker's own events
/// left out. Between two fences, so, is exactly what happened in between;
/// no sleeping, no guessing how long the kernel takes to report.
pub struct Monitor {
    child: Child,
    lines: Receiver<String>,
    next_marker: u32,
}

const MARKER_DEV: &str = "nctmk";

/// Starts `cmd` (standard input and error closed) with a thread that hands
/// over each line of its standard output as it comes, until it ends.
pub fn spawn_lines(mut cmd: Command) -> (Child, mpsc::Receiver<String>) {
    let what = describe(&cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let stdout = child.stdout.take().expect("a piped stdout");
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

impl Monitor {
    fn start(ns: &Netns) -> Monitor {
        if ns.try_ip(&["link", "show", "dev", MARKER_DEV]).code() != Some(0) {
            ns.batch(&format!(
                "link add {MARKER_DEV} type veth peer name {MARKER_DEV}p\n"
            ));
        }
        let mut ip = Command::new("ip");
        ip.args(["-n", ns.name(), "monitor", "link", "address", "route"]);
        let (child, lines) = spawn_lines(ip);
        let mut m = Monitor {
            child,
            lines,
            next_marker: 1,
        };
        // The monitor subscribes some time after it starts; until a marker
        // shows up, nobody knows whether it is listening. Keep adding new
        // markers until one is seen (each try waits; only a dead monitor
        // exhausts the safety net).
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let marker = m.add_marker(ns);
            if m.read_until(&marker, Duration::from_millis(500)).is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ip monitor never reported a marker event (safety net)"
            );
        }
        m
    }

    fn add_marker(&mut self, ns: &Netns) -> String {
        let n = self.next_marker;
        self.next_marker += 1;
        assert!(n < 65000, "too many markers");
        let marker = format!("198.19.{}.{}/32", n / 250, n % 250 + 1);
        ns.ip(&["addr", "add", &marker, "dev", MARKER_DEV]);
        marker
    }

    /// Lines up to (not including) the first that mentions `marker`; None
    /// if `wait` passed first.
    fn read_until(&mut self, marker: &str, wait: Duration) -> Option<Vec<String>> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(marker) => return Some(seen),
                Ok(line) => seen.push(line),
                Err(_) => return None,
            }
        }
    }

    /// Every event (a message's lines joined) between the previous fence and
    /// this one, except those about the marker link.
    pub fn fence(&mut self, ns: &Netns) -> Vec<String> {
        let marker = self.add_marker(ns);
        let lines = self
            .read_until(&marker, WAIT_TIMEOUT)
            .unwrap_or_else(|| panic!("ip monitor did not report marker {marker} (safety net)"));
        // A message's continuation lines are indented; those that open the
        // window continue the previous fence's marker message.
        let mut events: Vec<String> = Vec::new();
        for line in lines {
            let continuation = line.starts_with(char::is_whitespace);
            match events.last_mut() {
                Some(last) if continuation => {
                    last.push('\n');
                    last.push_str(&line);
                }
                None if continuation => {}
                _ => events.push(line),
            }
        }
        events.retain(|e| !e.contains(MARKER_DEV));
        events
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// The daemon

/// Options of one netconfd start.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// `--hook-timeout SECS`
    pub hook_timeout: Option<u64>,
    /// `--admin-group GROUP`
    pub admin_group: Option<String>,
    /// More arguments (`--dhclient PATH`, ...).
    pub extra: Vec<std::ffi::OsString>,
    /// `NETCONF_CRASH_AT`: where the daemon kills itself (docs/RELIABILITY.md).
    pub crash_at: Option<String>,
    /// `--interfaces` relative to the test's directory (default
    /// `interfaces`): `etc/network/interfaces` gives the daemon a
    /// configuration directory of its own, as transactions snapshot it whole.
    pub interfaces: Option<String>,
}

/// A netconfd running in a namespace, started by us. Dropping it kills it
/// (SIGKILL, by the PID we started, never by name) and reaps it.
pub struct Daemon {
    child: Option<Child>,
    pid: u32,
}

impl Daemon {
    /// `ip netns exec NS netconfd --socket DIR/ctl.sock ...`, stderr appended
    /// to `DIR/netconfd.log`; returns once the socket accepts connections.
    /// `ip netns exec` execs netconfd, so the PID is the daemon's own.
    pub fn start(ns: &Netns, dir: &Path, options: &DaemonOptions) -> Daemon {
        Daemon::start_with_args(ns, dir, options, &[])
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status if the daemon has exited (reaping it), else None.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_exit_status().is_none()
    }

    /// Sends `signal` and waits (safety net) for the daemon to exit.
    pub fn stop(mut self, signal: libc::c_int) -> ExitStatus {
        if self.try_exit_status().is_none() {
            // SAFETY: kill has no memory-safety preconditions; the PID is our
            // unreaped child's.
            unsafe { libc::kill(self.pid as libc::pid_t, signal) };
        }
        let mut status = None;
        wait_until("netconfd to exit", || {
            status = self.try_exit_status();
            status.is_some()
        });
        self.child = None;
        status.expect("exit status")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                // SAFETY: as in stop(): our own, unreaped child.
                unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// The harness

/// One test's world: a private directory (mode 0755, so that an unprivileged
/// client may reach the socket and the run directory), a namespace, and a
/// netconfd serving `DIR/ctl.sock` from inside it. On drop the daemon is
/// killed, the namespace deleted and the directory removed, in that order;
/// if the test is failing, the daemon's log is printed first.
pub struct Harness {
    daemon: Option<Daemon>,
    pub ns: Netns,
    pub options: DaemonOptions,
    dir: tempfile::TempDir,
}

impl Harness {
    /// A harness whose daemon runs with default options.
    pub fn new() -> Harness {
        Harness::with_options(DaemonOptions::default())
    }

    pub fn with_options(options: DaemonOptions) -> Harness {
        require_root();
        bins();
        let dir = tempfile::Builder::new()
            .prefix("nct-")
            .tempdir()
            .expect("temporary directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        for sub in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
            fs::create_dir_all(dir.path().join("hooks").join(sub)).expect("hooks dir");
        }
        let interfaces = dir
            .path()
            .join(options.interfaces.as_deref().unwrap_or("interfaces"));
        if let Some(parent) = interfaces.parent() {
            fs::create_dir_all(parent).expect("the interfaces file's directory");
        }
        fs::write(interfaces, "").expect("interfaces file");
        let ns = Netns::new();
        let mut h = Harness {
            daemon: None,
            ns,
            options,
            dir,
        };
        h.start_daemon();
        h
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn socket(&self) -> PathBuf {
        self.path("ctl.sock")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.path("run")
    }

    /// The daemon's interfaces file (`DaemonOptions::interfaces`).
    pub fn interfaces_path(&self) -> PathBuf {
        self.path(self.options.interfaces.as_deref().unwrap_or("interfaces"))
    }

    /// Writes the daemon's interfaces file (read afresh by every request).
    pub fn write_interfaces(&self, text: &str) {
        fs::write(self.interfaces_path(), text).expect("writing the interfaces file");
    }

    /// Writes an executable hook script `DIR/hooks/PHASE_DIR/NAME`.
    pub fn write_hook(&self, phase_dir: &str, name: &str, text: &str) {
        let path = self.path("hooks").join(phase_dir).join(name);
        fs::write(&path, text).expect("writing a hook");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    }

    pub fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "the daemon is already running");
        self.daemon = Some(Daemon::start(&self.ns, self.dir.path(), &self.options));
    }

    /// Starts the daemon (stopped, or never started) under `wrapper`: see
    /// [`Daemon::start_wrapped`].
    pub fn start_daemon_wrapped(&mut self, wrapper: &[std::ffi::OsString]) {
        assert!(self.daemon.is_none(), "the daemon is already running");
        self.daemon = Some(Daemon::start_wrapped(
            &self.ns,
            self.dir.path(),
            &self.options,
            wrapper,
            &[],
        ));
    }

    /// Stops the daemon with `signal` and returns how it ended.
    pub fn stop_daemon(&mut self, signal: libc::c_int) -> ExitStatus {
        self.daemon
            .take()
            .expect("the daemon is not running")
            .stop(signal)
    }

    /// The PID of the daemon we started, while it runs.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Daemon::pid)
    }

    /// Whether the daemon we started is still alive.
    pub fn daemon_alive(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }

    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.path("netconfd.log")).unwrap_or_default()
    }

    /// A client command (`ifup`, `ifdown`) with `--socket DIR/ctl.sock`.
    pub fn client(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.socket())
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        c
    }

    pub fn ifup_cmd(&self, args: &[&str]) -> Command {
        self.client(&bins().ifup, args)
    }

    pub fn ifdown_cmd(&self, args: &[&str]) -> Command {
        self.client(&bins().ifdown, args)
    }

    pub fn ifup(&self, args: &[&str]) -> Out {
        run(self.ifup_cmd(args))
    }

    pub fn ifdown(&self, args: &[&str]) -> Out {
        run(self.ifdown_cmd(args))
    }

    /// `ifquery --state --state-dir DIR/run [ARGS]`.
    pub fn ifquery_state_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&bins().ifquery);
        c.arg("--state")
            .arg("--state-dir")
            .arg(self.run_dir())
            .args(args)
            .current_dir("/");
        c
    }

    /// The lines `ifquery --state` prints (it must succeed).
    pub fn state(&self) -> Vec<String> {
        let out = run(self.ifquery_state_cmd(&[]));
        out.assert_ok();
        out.stdout.lines().map(String::from).collect()
    }

    /// `program` in `DIR/bin` (mode 0755), for commands run as another
    /// user: the build directory may lie where that user cannot go (a
    /// checkout under /root), the test's own directory never does. A hard
    /// link where it can be (a copy just written may not be executed while
    /// another thread's child still holds it open: ETXTBSY), made once.
    pub fn public_copy(&self, program: &Path) -> PathBuf {
        let bin = self.path("bin");
        fs::create_dir_all(&bin).expect("bin dir");
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod bin");
        let name = program.file_name().expect("a program name");
        let copy = bin.join(name);
        if copy.exists() {
            return copy;
        }
        if fs::hard_link(program, &copy).is_err() {
            fs::copy(program, &copy).expect("copying a binary");
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod binary");
        }
        copy
    }

    /// A raw connection to the daemon's socket, with a safety read timeout.
    pub fn connect(&self) -> RawConn {
        RawConn::connect(&self.socket())
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== netconfd log ({}, namespace {}) =====\n{}\n===== end of netconfd log =====",
                self.path("netconfd.log").display(),
                self.ns.name(),
                self.daemon_log()
            );
        }
        // Kill the daemon before the namespace goes; the directory goes last
        // (field order).
        self.daemon.take();
    }
}

// ---------------------------------------------------------------------------
// Raw protocol

/// A raw connection to the control socket: send bytes, read reply lines.
pub struct RawConn {
    reader: BufReader<UnixStream>,
    stream: UnixStream,
}

impl RawConn {
    pub fn connect(path: &Path) -> RawConn {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", path.display()));
        stream
            .set_read_timeout(Some(WAIT_TIMEOUT))
            .expect("read timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone stream"));
        RawConn { reader, stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).expect("writing to the socket");
    }

    /// The next reply line, parsed.
    pub fn reply(&mut self) -> Value {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("the daemon closed the connection"),
            Ok(_) => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("unreadable reply ({e}): {line}")),
            Err(e) => panic!("no reply from the daemon ({e}; safety net)"),
        }
    }

    /// Sends one request line and returns its final reply (progress skipped).
    pub fn request(&mut self, line: &str) -> Value {
        self.send(format!("{line}\n").as_bytes());
        loop {
            let r = self.reply();
            if r["type"] != "progress" {
                return r;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Processes

/// The processes whose process group is `pgid` and that are not zombies
/// (a zombie has exited; only its parent's bookkeeping is left).
pub fn live_group_members(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(mut f) = fs::File::open(entry.path().join("stat")) else {
            continue;
        };
        let mut stat = String::new();
        if f.read_to_string(&mut stat).is_err() {
            continue;
        }
        // pid (comm) state ppid pgrp ...: comm may hold anything, so split
        // after its closing parenthesis.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgrp)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if pgrp.parse::<i32>() == Ok(pgid) && *state != "Z" && *state != "X" {
            found.push(pid);
        }
    }
    found
}

// ---------------------------------------------------------------------------
// DHCP: netconfd with extra flags, a dnsmasq server, the processes of a test

impl Daemon {
    /// As [`Daemon::start`], with `extra` arguments after the usual ones
    /// (`--resolv-conf FILE`, `--dhcp-timeout SECS`, `--dhcp-hook PATH`,
    /// `--dhclient PATH`...). Same files in `dir`, same log, same
    /// readiness check; the PID is netconfd's own.
    pub fn start_with_args(
        ns: &Netns,
        dir: &Path,
        options: &DaemonOptions,
        extra: &[std::ffi::OsString],
    ) -> Daemon {
        Daemon::start_wrapped(ns, dir, options, &[], extra)
    }

    /// As [`Daemon::start_with_args`], the command line (`ip netns exec NS
    /// netconfd ...`) run by `wrapper` (program and arguments), which must
    /// `exec` it in the end: the PID is still netconfd's own. How a test
    /// gives the daemon a mount namespace of its own (`unshare --mount ...
    /// sh -c 'mount ...; exec "$@"' sh`), e.g. to show it a `/sbin/brctl`.
    pub fn start_wrapped(
        ns: &Netns,
        dir: &Path,
        options: &DaemonOptions,
        wrapper: &[std::ffi::OsString],
        extra: &[std::ffi::OsString],
    ) -> Daemon {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("netconfd.log"))
            .expect("opening the daemon log");
        let mut c = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg("ip");
                c
            }
            None => Command::new("ip"),
        };
        c.args(["netns", "exec", ns.name()])
            .arg(&bins().netconfd)
            .arg("--socket")
            .arg(dir.join("ctl.sock"))
            .arg("--run-dir")
            .arg(dir.join("run"))
            .arg("--state-dir")
            .arg(dir.join("lib"))
            .arg("--interfaces")
            .arg(dir.join(options.interfaces.as_deref().unwrap_or("interfaces")))
            .arg("--hooks-dir")
            .arg(dir.join("hooks"));
        if let Some(t) = options.hook_timeout {
            c.arg("--hook-timeout").arg(t.to_string());
        }
        if let Some(g) = &options.admin_group {
            c.arg("--admin-group").arg(g);
        }
        if let Some(point) = &options.crash_at {
            c.env("NETCONF_CRASH_AT", point);
        }
        c.args(&options.extra)
            .args(extra)
            .args(["--log-level", "debug"])
            .current_dir("/")
            .env_remove("NETCONF_SOCKET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        let what = describe(&c);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let pid = child.id();
        let mut daemon = Daemon {
            child: Some(child),
            pid,
        };
        let socket = dir.join("ctl.sock");
        wait_until("netconfd to accept connections", || {
            if let Some(status) = daemon.try_exit_status() {
                let log = fs::read_to_string(dir.join("netconfd.log")).unwrap_or_default();
                panic!("netconfd exited during start-up ({status}):\n{log}");
            }
            // A ping, not a bare connect: the socket listens from the
            // start, but is served only once state is restored and
            // dhclients adopted, which is what callers wait for.
            netconf_ctlsock_proto::Client::connect(&socket)
                .and_then(|mut c| {
                    c.set_read_timeout(Some(Duration::from_secs(1)))?;
                    c.call(netconf_ctlsock_proto::Op::Ping, |_| {})
                })
                .is_ok()
        });
        daemon
    }
}

/// Where the DHCP tests expect dnsmasq.
pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// The DHCP hook binary under test, beside the other binaries.
pub fn hook_path() -> PathBuf {
    bins().dir.join("netconf-dhcp-hook")
}

/// The directory of a DHCP test world (mode 0755, for dhclient, with empty
/// `hooks/if-*.d`), after checking that dhclient, dnsmasq and the hook are
/// there; `what` names the tests in the message when one is missing.
pub fn dhcp_world_dir(prefix: &str, what: &str) -> tempfile::TempDir {
    require_root();
    bins();
    for (path, package) in [
        ("/sbin/dhclient", "isc-dhcp-client"),
        ("/usr/sbin/dhcpcd", "dhcpcd-base"),
        ("/sbin/udhcpc", "udhcpc"),
        // From PyPI in a virtualenv (.ci/run makes it).
        ("/usr/local/bin/dhcpcanon", "dhcpcanon: see .ci/run"),
        (DNSMASQ, "dnsmasq-base"),
    ] {
        assert!(
            Path::new(path).is_file(),
            "the {what} tests need {path} (apt-get install {package})"
        );
    }
    assert!(
        hook_path().is_file(),
        "missing {}: run `cargo build --bins` first",
        hook_path().display()
    );
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temporary directory");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    for sub in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        fs::create_dir_all(dir.path().join("hooks").join(sub)).expect("hooks dir");
    }
    dir
}

/// What a dhclient's RENEW names, for [`renew_env`].
pub struct Renewal<'a> {
    /// netconfd's control socket.
    pub socket: &'a Path,
    pub iface: &'a str,
    pub token: &'a str,
    pub pid: u32,
    pub old: &'a str,
    pub new: &'a str,
    pub lease_secs: u64,
}

/// A real RENEW environment of ISC dhclient
/// (`hook-script/tests/fixtures/v4-06-RENEW.env`) made to describe `r`:
/// the socket, interface, token, PID, `old_ip_address` -> `new_ip_address`
/// and lease times, the `-e IF_METRIC=50` netconfd gives its dhclient, no
/// option 121 (the tests' servers send none) and no host name (the tests
/// share the machine's UTS namespace: nothing may ever take a test's name
/// for its own). The rest of the fixture (router 198.18.0.1, /24, DNS
/// 198.18.0.53, example.test, MTU 1400) is what the tests' dnsmasq gives.
pub fn renew_env(r: &Renewal) -> Vec<(String, String)> {
    let path = repo_root().join("hook-script/tests/fixtures/v4-06-RENEW.env");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let lease = r.lease_secs;
    let mut env = vec![
        (
            "NETCONF_SOCKET".to_string(),
            r.socket.to_string_lossy().into_owned(),
        ),
        ("IF_METRIC".to_string(), "50".to_string()),
    ];
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.ends_with("rfc3442_classless_static_routes") || k.ends_with("host_name") {
            continue;
        }
        let v = match k {
            "NETCONF_TOKEN" => r.token.to_string(),
            "interface" => r.iface.to_string(),
            "pid" => r.pid.to_string(),
            "old_ip_address" => r.old.to_string(),
            "new_ip_address" => r.new.to_string(),
            "new_dhcp_lease_time" | "old_dhcp_lease_time" => lease.to_string(),
            "new_dhcp_renewal_time" | "old_dhcp_renewal_time" => (lease / 2).to_string(),
            "new_dhcp_rebinding_time" | "old_dhcp_rebinding_time" => (lease * 7 / 8).to_string(),
            "new_expiry" => (now + lease).to_string(),
            "old_expiry" => (now + lease / 2).to_string(),
            _ => v.to_string(),
        };
        env.push((k.to_string(), v));
    }
    env
}

/// Runs `netconf-dhcp-hook` with exactly `env`, as dhclient would.
pub fn run_hook(env: &[(String, String)]) -> Out {
    let mut c = Command::new(hook_path());
    c.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir("/");
    run(c)
}

/// A dnsmasq DHCP server (no DNS: `--port=0`) serving one interface of a
/// namespace, started by us with `ip netns exec NS dnsmasq --no-daemon ...`
/// (which execs dnsmasq, so the PID is dnsmasq's own). Everything it logs,
/// `--log-dhcp` included, goes to a file ([`DhcpServer::log`]) to grep for
/// DHCPRELEASE and friends. Its lease file lives in the test's directory, no
/// configuration file is read and no pid file is written. Dropping it kills
/// it by that PID and reaps it.
pub struct DhcpServer {
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl DhcpServer {
    /// Starts dnsmasq on `iface` of `ns` (the interface must exist, be up and
    /// have its address), files named `dir/PREFIX.*`, with `extra` options
    /// (`--dhcp-range=...`, `--dhcp-option=...`); returns once it has said it
    /// serves DHCP. `--no-ping`: otherwise every first lease waits 3 s for
    /// an ICMP echo that never comes.
    pub fn start(ns: &Netns, iface: &str, dir: &Path, prefix: &str, extra: &[&str]) -> DhcpServer {
        assert!(
            Path::new(DNSMASQ).is_file(),
            "the DHCP tests need dnsmasq at {DNSMASQ} (apt-get install dnsmasq-base)"
        );
        let log = dir.join(format!("{prefix}.log"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("opening the dnsmasq log");
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.name(), DNSMASQ])
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--port=0",
                "--no-resolv",
                "--no-hosts",
                "--no-ping",
                "--bind-interfaces",
                "--log-dhcp",
                "--log-facility=-",
            ])
            .arg(format!("--interface={iface}"))
            .arg(format!(
                "--dhcp-leasefile={}",
                dir.join(format!("{prefix}.leases")).display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.join(format!("{prefix}.pid")).display()
            ))
            .args(extra)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log fd"))
            .stderr(file);
        let what = describe(&c);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let pid = child.id();
        let mut server = DhcpServer {
            child: Some(child),
            pid,
            log,
        };
        wait_until("dnsmasq to serve DHCP", || {
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "dnsmasq exited during start-up ({status}): `{what}`\n{}",
                    server.log()
                );
            }
            // "DHCP, IP range", "DHCPv6, IP range", "DHCPv6 stateless on".
            let log = server.log();
            log.contains("IP range") || log.contains("DHCPv6 stateless")
        });
        server
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything dnsmasq has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DhcpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                // SAFETY: kill has no memory-safety preconditions; the PID is
                // our own unreaped child's.
                unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }
}

/// The processes in a namespace (`ip netns pids NS`).
pub fn netns_pids(ns: &Netns) -> Vec<u32> {
    let out = run(cmd("ip", &["netns", "pids", ns.name()]));
    out.stdout
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether a process is alive: it exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

/// `/proc/PID/cmdline`, arguments joined by spaces (empty if it is gone).
pub fn process_cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

/// Whether the command line, the environment or the mounts of `pid`
/// contain `needle`, or it holds a file under the directory `needle` open:
/// how a test recognises its own processes (its private directory is in the
/// arguments of dnsmasq, netconfd and dhclient, in the environment of udhcpc
/// and of the hooks, in the mounts of dhcpcd's helpers, and dhcpcd holds its
/// pid file there).
pub fn process_mentions(pid: u32, needle: &str) -> bool {
    let has = |what: &str| {
        fs::read(format!("/proc/{pid}/{what}")).is_ok_and(|b| {
            b.windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes())
        })
    };
    !needle.is_empty()
        && (has("cmdline") || has("environ") || has("mountinfo") || holds_file_under(pid, needle))
}

/// Whether process `pid` holds open a file under the directory `dir`.
/// dhcpcd rewrites its command line and environment and chroots itself,
/// but keeps its pid file (in the test's directory) open.
fn holds_file_under(pid: u32, dir: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mut ours = std::collections::HashSet::new();
    let mut todo = vec![PathBuf::from(dir)];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                ours.insert((meta.dev(), meta.ino()));
            }
        }
    }
    fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| fs::metadata(fd.path()).ok())
        .any(|m| ours.contains(&(m.dev(), m.ino())))
}

/// The live processes of `ns` whose command line or environment mentions
/// `needle`; with `program`, only those whose first argument ends with it.
pub fn processes_mentioning(ns: &Netns, needle: &str, program: Option<&str>) -> Vec<u32> {
    netns_pids(ns)
        .into_iter()
        .filter(|&pid| process_alive(pid) && process_mentions(pid, needle))
        .filter(|&pid| {
            program.is_none_or(|p| {
                process_cmdline(pid)
                    .split(' ')
                    .next()
                    .is_some_and(|a| a.ends_with(p))
            })
        })
        .collect()
}

/// Kills (SIGKILL, one PID at a time) every live process of `ns` that
/// mentions `needle` (see [`process_mentions`]: only a test's own processes
/// carry its private directory), and waits (safety net) until they are gone.
/// Returns the PIDs it killed.
pub fn kill_processes_mentioning(ns: &Netns, needle: &str) -> Vec<u32> {
    let found = processes_mentioning(ns, needle, None);
    for &pid in &found {
        // Checked again right before the kill: the PID must still be ours.
        if process_mentions(pid, needle) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
    let deadline = Instant::now() + WAIT_TIMEOUT;
    while found
        .iter()
        .any(|&p| process_alive(p) && process_mentions(p, needle))
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(20));
    }
    found
}
