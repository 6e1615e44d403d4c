//! End to end: the hooks netconf's `ifup`/`ifdown` and `netconfd` run, and
//! the environment each of them gets, compared with Debian's ifupdown 0.8.41
//! running the same hooks for the same configuration.
//!
//! It goes through the real binaries, the control socket and the daemon's
//! event dispatcher, down to `netconf_hooks`.
//!
//! The test re-executes itself under `unshare --net --mount`, so everything
//! below happens in one fresh network and mount namespace; Debian's commands,
//! the daemon and our clients are all started from the re-executed test and
//! inherit it (the machine's own network and `/etc` are never touched):
//!
//! 1. a temporary directory is bind-mounted over `/etc/network` (when the
//!    machine has no `/etc/network`, a tmpfs-backed overlay over `/etc`,
//!    private to the namespace, provides the mount point), so that the
//!    hard-coded `/etc/network/if-*.d` of Debian and netconfd's
//!    `--hooks-dir /etc/network` are ours; each holds copies of a dump
//!    script among entries run-parts must skip;
//! 2. the dump script, also called from `pre-up`/`up`/`post-up`/`down`/
//!    `pre-down`/`post-down` lines, copies its caller's initial environment
//!    (`/proc/PID/environ`: raw, order and duplicates included) into the
//!    next numbered file of the current invocation (numbered under `flock`:
//!    netconfd runs hooks of different interfaces at the same time);
//! 3. Debian's `ifup`/`ifdown` run a series of invocations (by name, two
//!    names at once, `PHYS=LOGICAL`, `-a`, `--allow=hotplug`, `-v`) on veth
//!    pairs with `inet manual`/`inet6 manual` stanzas, an `inet static` +
//!    `inet6 static` (`dad-attempts 0`) pair of stanzas and the implicit
//!    `lo`, and the dumps of each invocation are kept;
//! 4. everything is reset (links deleted and made again, `lo` down, dumps
//!    cleared), `netconfd` is started in the same namespace and our
//!    `ifup`/`ifdown --socket` replay the same invocations, with the same
//!    caller environment and working directory (`/`);
//! 5. per invocation and per interface (`IFACE`, `--all` for the `-a` meta
//!    calls), the two sides must have run the same hooks (commands and
//!    scripts, per stanza and phase) in the same order, and each dump must
//!    have the same entries in the same order. The order *across*
//!    interfaces is not compared when an invocation handles more than one
//!    interface: netconfd works on different interfaces concurrently,
//!    Debian one after the other. What is checked instead is that the `-a`
//!    meta hooks bracket everything (pre-up/pre-down before any interface,
//!    post-up/post-down after all of them), and, when an invocation
//!    handles a single interface, the whole order.
//!
//! Two invocations (`*-inherited`) run with `IFUPDOWN_*` variables in the
//! caller's environment, as when a hook calls `ifup`: netconf's clients pass
//! them to the daemon, and the hooks must see them exactly as Debian's do.
//!
//! Binaries: ours from `$NETCONF_BIN_DIR` (default `target/debug`, built by
//! `cargo build --bins`); Debian's from `$DEBIAN_IFUPDOWN_ROOT/sbin` (default
//! `target/debian-ifupdown/root`, unpacked by `scripts/fetch-debian-ifupdown`);
//! relative paths are taken from the repository's root. Needs root,
//! `unshare` and `flock` (util-linux), `ip` (iproute2), `run-parts`
//! (debianutils), `mount`.
//!
//! Run: `cargo build --bins && cargo test -p netconf-tests --test
//! hooks_differential -- --nocapture`.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "hooks_match_debian_end_to_end";
/// Set in the re-executed test: the temporary directory to work in.
const CHILD_MARK: &str = "NETCONF_HOOKS_DIFF_DIR";
/// Set in the re-executed test: the namespaces it must not be in.
const PARENT_NS: &str = "NETCONF_HOOKS_DIFF_PARENT_NS";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CHILD_TIMEOUT: Duration = Duration::from_secs(600);
/// How long one `ifup`/`ifdown` may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The first veth pair; the peer's name has a dot, to exercise
/// `parent-lock` (its "parent" `nch1` does not exist, so ifupdown creates no
/// VLAN).
const IF_A: &str = "nch0";
const IF_B: &str = "nch1.7";
/// The second pair: statically configured `nch2`, peer `nch3` (up, for a
/// carrier).
const IF_S: &str = "nch2";
const IF_S_PEER: &str = "nch3";
/// The working directory of Debian's ifup and of netconfd, as under
/// `networking.service`: hook scripts see it as `PWD`.
const CWD: &str = "/";

#[test]
fn hooks_match_debian_end_to_end() {
    match env::var_os(CHILD_MARK) {
        Some(dir) => in_namespace(Path::new(&dir)),
        None => outside(),
    }
}

// ---------------------------------------------------------------------------
// Outside: checks, then the re-execution in fresh namespaces.

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// `$VAR` (relative to the repository's root) or the default under it.
fn dir_from_env(var: &str, default: &str) -> PathBuf {
    let dir = env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into());
    repo_root().join(dir)
}

fn debian_sbin() -> PathBuf {
    dir_from_env("DEBIAN_IFUPDOWN_ROOT", "target/debian-ifupdown/root").join("sbin")
}

fn our_bin_dir() -> PathBuf {
    dir_from_env("NETCONF_BIN_DIR", "target/debug")
}

fn on_path(tool: &str) -> bool {
    PATH.split(':')
        .any(|dir| Path::new(dir).join(tool).is_file())
}

fn outside() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "{TEST_NAME} needs root: it creates network and mount namespaces and runs \
             Debian's ifup and netconfd in them. Run it as root, e.g. `cargo build --bins && \
             sudo -E cargo test -p netconf-tests --test hooks_differential`."
        );
    }
    let sbin = debian_sbin();
    for bin in ["ifup", "ifdown"] {
        let path = sbin.join(bin);
        if !path.exists() {
            panic!(
                "Debian's {bin} is missing: no {}.\nRun scripts/fetch-debian-ifupdown first \
                 (it unpacks Debian's ifupdown 0.8.41 into target/debian-ifupdown/root, or \
                 into $DEBIAN_IFUPDOWN_ROOT).",
                path.display()
            );
        }
    }
    let ours = our_bin_dir();
    for bin in ["netconfd", "ifup", "ifdown"] {
        let path = ours.join(bin);
        if !path.is_file() {
            panic!(
                "our {bin} is missing: no {}.\nRun `cargo build --bins` first (or point \
                 $NETCONF_BIN_DIR at the binaries).",
                path.display()
            );
        }
    }
    for (tool, package) in [
        ("unshare", "util-linux"),
        ("flock", "util-linux"),
        ("ip", "iproute2"),
        ("run-parts", "debianutils"),
        ("mount", "mount"),
    ] {
        assert!(
            on_path(tool),
            "{TEST_NAME} needs `{tool}` ({package}) in {PATH}"
        );
    }

    let tmp = tempfile::tempdir().expect("creating a temporary directory");
    let exe = env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_MARK, tmp.path())
        .env(PARENT_NS, namespaces().join(" "))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group (everything it starts stays in it), so
        // that a timeout takes everything down.
        .process_group(0);
    let child = cmd.spawn().expect("starting unshare");
    let (status, stdout, stderr) = wait_with_timeout(child, CHILD_TIMEOUT, true);
    print!("{stdout}");
    eprint!("{stderr}");
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the comparison in the namespace failed ({s}); its output is above"),
        None => panic!(
            "the comparison in the namespace did not finish within {}s and was killed",
            CHILD_TIMEOUT.as_secs()
        ),
    }
}

/// Waits for a child, reading its piped output; on timeout kills it with
/// SIGKILL (its whole process group when `group`: it must lead its own)
/// and answers None.
fn wait_with_timeout(
    mut child: Child,
    timeout: Duration,
    group: bool,
) -> (Option<ExitStatus>, String, String) {
    fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    }
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                if group {
                    // SAFETY: kill has no memory-safety preconditions; the
                    // group is the child's own (process_group(0)), and the
                    // child is not reaped yet, so its id is still ours.
                    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                } else {
                    let _ = child.kill();
                }
                let _ = child.wait();
                break None;
            }
        }
    };
    (
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// Inside the namespaces: setup.

/// Runs a shell command, panicking with its output when it fails.
fn sh(script: &str) -> String {
    let out = Command::new("/bin/sh")
        .args(["-c", script])
        .env_clear()
        .env("PATH", PATH)
        .output()
        .unwrap_or_else(|e| panic!("cannot run /bin/sh: {e}"));
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// This process's network and mount namespaces, e.g. `net:[4026531840]`.
fn namespaces() -> Vec<String> {
    ["net", "mnt"]
        .iter()
        .map(|ns| {
            fs::read_link(format!("/proc/self/ns/{ns}"))
                .unwrap_or_else(|e| panic!("reading /proc/self/ns/{ns}: {e}"))
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Refuses to go on unless this process really is in namespaces other than
/// those of the test that started it, and the network one is empty.
fn assert_own_namespaces() {
    let parent = env::var(PARENT_NS).unwrap_or_default();
    for ns in namespaces() {
        assert!(
            !parent.split(' ').any(|p| p == ns),
            "refusing to run: still in the caller's namespace {ns}"
        );
    }
    let links = sh("ip -o link show");
    assert!(
        links.lines().count() == 1 && links.contains(": lo:"),
        "refusing to run: the new network namespace is not empty:\n{links}"
    );
}

/// Makes `/etc/network` a bind mount of `etc_network`, private to this
/// mount namespace.
fn mount_etc_network(tmp: &Path, etc_network: &Path) {
    if !Path::new("/etc/network").is_dir() {
        // No mount point: an overlay private to this namespace, on a tmpfs,
        // makes one without writing to the real /etc.
        let ovl = tmp.join("etc-overlay");
        fs::create_dir(&ovl).unwrap();
        sh(&format!(
            "mount -t tmpfs tmpfs {o} && mkdir {o}/upper {o}/work && \
             mount -t overlay overlay -o lowerdir=/etc,upperdir={o}/upper,workdir={o}/work /etc && \
             mkdir /etc/network",
            o = ovl.display()
        ));
    }
    sh(&format!(
        "mount --bind {} /etc/network",
        etc_network.display()
    ));
}

/// The dump script. Called by a command line as `dump TAG $$`, it dumps the
/// initial environment of that command's shell (the `execle` list as is);
/// run as a hook script, its own (what the script got). Each dump is the
/// next numbered file in `DUMPS/current`; the numbering is serialised with
/// `flock`, because netconfd runs the hooks of different interfaces at the
/// same time. (The lock's file descriptor is opened by the script itself:
/// it changes nothing in the environment dumped.)
fn dump_script(dumps: &Path) -> String {
    format!(
        r#"#!/bin/sh
if [ $# -ge 2 ]; then tag=$1; pid=$2; else tag=$0; pid=$$; fi
dir={d}/current
exec 9>>{d}/lock
flock 9
n=$(ls -A "$dir" | wc -l)
cat /proc/$pid/environ > "$dir/$(printf %04d "$n")-$(printf %s "$tag" | tr / :)"
"#,
        d = dumps.display()
    )
}

fn write_exec(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The `if-*.d` directories: dump scripts with names in every byte class of
/// run-parts' sort, a symlink, a failing script on the way down, and
/// entries run-parts skips.
fn make_hook_dirs(etc_network: &Path, dump: &Path, dump_text: &str) {
    let outside = etc_network.join("linked-dump");
    write_exec(&outside, dump_text, 0o755);
    for dir in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        let d = etc_network.join(dir);
        fs::create_dir_all(&d).unwrap();
        for name in ["00first", "A_upper", "a-lower", "_under", "9nine", "-dash"] {
            write_exec(&d.join(name), dump_text, 0o755);
        }
        symlink(&outside, d.join("link-ok")).unwrap();
        for skipped in ["skip.sh", "skip~", "x.dpkg-old"] {
            write_exec(&d.join(skipped), dump_text, 0o755);
        }
        write_exec(&d.join("noexec"), dump_text, 0o644);
        fs::create_dir(d.join("subdir")).unwrap();
        if dir.contains("down") {
            // Failures are ignored on the way down: the next ones still run.
            write_exec(
                &d.join("50fail"),
                &format!("#!/bin/sh\n{} \"$0\" $$\nexit 1\n", dump.display()),
                0o755,
            );
        }
    }
}

/// `manual` stanzas with assorted option names (repeats, `-`, `_`, `.`,
/// upper case), a logical interface, a dotted VLAN-style name, `no-scripts`,
/// plus a statically configured interface (both families; addresses from
/// the documentation ranges) in `auto`.
fn interfaces_file(dump: &Path) -> String {
    let d = dump.display();
    // `; :` keeps the shell from exec'ing the dump script in its place, so
    // that the shell (whose environment is read) is still there.
    let c = |tag: &str| format!("{d} {tag} $$; :");
    format!(
        "\
auto {IF_A} {IF_S}
allow-hotplug {IF_B}
no-scripts alt

iface {IF_A} inet manual
    mtu 1400
    hwaddress ether 02:00:5e:10:00:01
    my-opt value with  spaces
    my_under under
    dotted.name dotted
    UPPER.Case-mix upper
    weird=name v=1
    repeated first
    repeated second
    dup-name dash
    dup_name underscore
    dns-nameservers 198.51.100.53 2001:db8::53
    dns-search example.test
    pre-up {pre_up_1}
    up {up_1}
    post-up {post_up_1}
    up -false
    pre-up {pre_up_2}
    down {down_1}
    pre-down {pre_down_1}
    post-down {post_down_1}

iface {IF_A} inet6 manual
    accept_ra 0
    privext 2
    repeated6 a
    repeated6 b
    pre-up {v6_pre_up}
    up {v6_up}
    down {v6_down}
    post-down {v6_post_down}

iface alt inet manual
    role alternate
    pre-up {alt_pre_up}
    up {alt_up}
    down {alt_down}
    post-down {alt_post_down}

iface {IF_B} inet manual
    description the peer
    vlan-ish yes
    pre-up {b_pre_up}
    post-up {b_post_up}
    pre-down {b_pre_down}
    post-down {b_post_down}

iface {IF_S} inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
    mtu 1400
    pre-up {s_pre_up}
    up {s_up}
    down {s_down}
    post-down {s_post_down}

iface {IF_S} inet6 static
    address 2001:db8:10::10/64
    gateway 2001:db8:10::1
    dad-attempts 0
    pre-up {s6_pre_up}
    up {s6_up}
    down {s6_down}
    post-down {s6_post_down}
",
        pre_up_1 = c("cmd-pre-up-1"),
        up_1 = c("cmd-up-1"),
        post_up_1 = c("cmd-post-up-1"),
        pre_up_2 = c("cmd-pre-up-2"),
        down_1 = c("cmd-down-1"),
        pre_down_1 = c("cmd-pre-down-1"),
        post_down_1 = c("cmd-post-down-1"),
        v6_pre_up = c("cmd-v6-pre-up"),
        v6_up = c("cmd-v6-up"),
        v6_down = c("cmd-v6-down"),
        v6_post_down = c("cmd-v6-post-down"),
        alt_pre_up = c("cmd-alt-pre-up"),
        alt_up = c("cmd-alt-up"),
        alt_down = c("cmd-alt-down"),
        alt_post_down = c("cmd-alt-post-down"),
        b_pre_up = c("cmd-b-pre-up"),
        b_post_up = c("cmd-b-post-up"),
        b_pre_down = c("cmd-b-pre-down"),
        b_post_down = c("cmd-b-post-down"),
        s_pre_up = c("cmd-s-pre-up"),
        s_up = c("cmd-s-up"),
        s_down = c("cmd-s-down"),
        s_post_down = c("cmd-s-post-down"),
        s6_pre_up = c("cmd-s6-pre-up"),
        s6_up = c("cmd-s6-up"),
        s6_down = c("cmd-s6-down"),
        s6_post_down = c("cmd-s6-post-down"),
    )
}

/// (Re)creates the veth pairs: Debian's `ifdown` of a dotted name deletes
/// that link, and with it the pair.
fn ensure_links() {
    sh(&format!(
        "ip link show {IF_A} >/dev/null 2>&1 || ip link add {IF_A} type veth peer name {IF_B}; \
         ip link show {IF_S} >/dev/null 2>&1 || {{ ip link add {IF_S} type veth peer name \
         {IF_S_PEER} && ip link set {IF_S_PEER} up; }}"
    ));
}

/// Back to a fresh namespace's state: the pairs gone (with all addresses and
/// routes on them), `lo` down.
fn reset_links() {
    sh(&format!(
        "ip link del {IF_A} 2>/dev/null; ip link del {IF_B} 2>/dev/null; \
         ip link del {IF_S} 2>/dev/null; ip link set lo down; true"
    ));
    let links = sh("ip -o link show");
    assert!(
        links.lines().count() == 1 && links.contains(": lo:"),
        "the reset left links behind:\n{links}"
    );
}

// ---------------------------------------------------------------------------
// The invocations.

struct Invocation {
    name: &'static str,
    up: bool,
    args: Vec<String>,
    /// `IFUPDOWN_*` in the caller's environment, as a hook calling `ifup`
    /// would have them.
    inherited: Vec<(&'static str, &'static str)>,
}

impl Invocation {
    fn caller_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("LC_ALL".to_string(), "C".to_string()),
            // Not IFUPDOWN_*: neither side may pass it on.
            ("NETCONF_UNRELATED".to_string(), "x".to_string()),
        ];
        env.extend(
            self.inherited
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        // std's Command hands a child its environment sorted by name: this
        // is the order Debian's ifup sees, and passes IFUPDOWN_* on in.
        env.sort();
        env
    }

    fn program(&self) -> &'static str {
        if self.up {
            "ifup"
        } else {
            "ifdown"
        }
    }
}

fn invocations() -> Vec<Invocation> {
    let inv = |name, up, args: &[&str]| Invocation {
        name,
        up,
        args: args.iter().map(|a| a.to_string()).collect(),
        inherited: Vec::new(),
    };
    let logical = format!("{IF_A}=alt");
    vec![
        // Two names: Debian takes them one after the other, netconfd both
        // at once.
        inv("ifup-named", true, &[IF_A, IF_S]),
        inv("ifdown-named", false, &[IF_A, IF_S]),
        // lo (implicit `auto lo`), nch0 and nch2, between the meta hooks.
        inv("ifup-all-verbose", true, &["-v", "-a"]),
        inv("ifdown-all-verbose", false, &["-v", "-a"]),
        inv("ifup-logical", true, &[&logical]),
        inv("ifdown-logical", false, &[&logical]),
        inv("ifup-hotplug", true, &["--allow=hotplug", IF_B]),
        inv("ifdown-hotplug", false, &["--allow=hotplug", IF_B]),
        inv("ifup-all-hotplug", true, &["--allow=hotplug", "-a"]),
        inv(
            "ifdown-all-hotplug",
            false,
            &["-v", "--allow=hotplug", "-a"],
        ),
        // Recursion variables from the caller, passed on to the hooks.
        Invocation {
            inherited: vec![("IFUPDOWN_nch1", "post-up"), ("IFUPDOWN_other0", "pre-up")],
            ..inv(
                "ifup-all-hotplug-inherited",
                true,
                &["--allow=hotplug", "-a"],
            )
        },
        Invocation {
            inherited: vec![("IFUPDOWN_nch1", "pre-down"), ("IFUPDOWN_other0", "pre-up")],
            ..inv(
                "ifdown-all-hotplug-inherited",
                false,
                &["-v", "--allow=hotplug", "-a"],
            )
        },
    ]
}

/// Runs one client (Debian's or ours) to completion, panicking unless it
/// succeeds (netconfd's log follows, when the [`Daemon`] is dropped).
fn run_client(side: &str, mut cmd: Command, inv: &Invocation) {
    cmd.args(&inv.args)
        .env_clear()
        .envs(inv.caller_env())
        .current_dir(CWD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {side} {}: {e}", inv.program()));
    let (status, stdout, stderr) = wait_with_timeout(child, STEP_TIMEOUT, false);
    let ok = status.is_some_and(|s| s.success());
    if !ok {
        panic!(
            "{side} {} {:?} ({}) failed ({}):\n--- stdout\n{stdout}--- stderr\n{stderr}",
            inv.program(),
            inv.args,
            inv.name,
            status.map_or_else(
                || format!("killed after {}s", STEP_TIMEOUT.as_secs()),
                |s| s.to_string()
            ),
        );
    }
}

/// Has the child killed when the thread that started it ends (a panic, or
/// the test process killed): nothing of ours outlives the test.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure only makes a system call, which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Moves `DUMPS/current` to `dest` and makes an empty one.
fn collect_dumps(dumps: &Path, dest: &Path) {
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::rename(dumps.join("current"), dest).unwrap();
    fs::create_dir(dumps.join("current")).unwrap();
}

// ---------------------------------------------------------------------------
// netconfd.

/// netconfd, started by this test; stopped (by its PID) when dropped.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    socket: PathBuf,
}

impl Daemon {
    fn start(bin_dir: &Path, dir: &Path, interfaces: &Path) -> Daemon {
        let socket = dir.join("ctl.sock");
        let log = dir.join("netconfd.log");
        let log_file = fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin_dir.join("netconfd"));
        cmd.arg("--socket")
            .arg(&socket)
            .arg("--run-dir")
            .arg(dir.join("run"))
            .arg("--state-dir")
            .arg(dir.join("lib"))
            .arg("--interfaces")
            .arg(interfaces)
            .args(["--hooks-dir", "/etc/network", "--log-level", "debug"])
            // What the daemon has in its own environment must not matter.
            .env_clear()
            .env("PATH", PATH)
            .env("NETCONF_UNRELATED", "daemon")
            .env("IFUPDOWN_daemon0", "pre-up")
            .current_dir(CWD)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("starting netconfd");
        let mut daemon = Daemon {
            child: Some(child),
            log,
            socket,
        };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("netconfd exited at start ({status}){}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "netconfd did not listen on {} within 20s{}",
                self.socket.display(),
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its log, for failure messages.
    fn log(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        format!("\n--- netconfd's log ({})\n{text}", self.log.display())
    }

    /// SIGTERM, then SIGKILL after 10 s; the exit status, if it exited by
    /// itself.
    fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY: kill has no memory-safety preconditions; the child is not
        // reaped yet, so the PID is still the daemon's.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let stopped = self.stop();
        if thread::panicking() && stopped.is_some() {
            eprintln!("{}", self.log());
        }
    }
}

// ---------------------------------------------------------------------------
// Comparison.

/// One dump: its sequence number (the global order on its side), its tag
/// (the command's tag or the script's path) and its environment entries.
struct Dump {
    seq: usize,
    tag: String,
    env: Vec<String>,
}

impl Dump {
    /// The value of the last `NAME=` entry (what a script sees).
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }

    fn iface(&self) -> &str {
        self.var("IFACE").unwrap_or("(no IFACE)")
    }

    fn is_meta(&self) -> bool {
        self.iface() == "--all"
    }

    /// The tag with the stanza and phase, for reports.
    fn label(&self) -> String {
        format!(
            "{} [{} {} {}]",
            self.tag,
            self.var("ADDRFAM").unwrap_or("?"),
            self.var("METHOD").unwrap_or("?"),
            self.var("PHASE").unwrap_or("?")
        )
    }
}

/// The dumps of one invocation, in the order they were made.
fn read_dumps(dir: &Path) -> Vec<Dump> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let (seq, tag) = name
                .split_once('-')
                .unwrap_or_else(|| panic!("a dump named {name}"));
            let data = fs::read(&f).unwrap();
            let env = data
                .split(|b| *b == 0)
                .filter(|e| !e.is_empty())
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect();
            Dump {
                seq: seq.parse().unwrap(),
                tag: tag.to_string(),
                env,
            }
        })
        .collect()
}

/// Per interface (`IFACE`), its dumps in order.
fn by_iface(dumps: &[Dump]) -> BTreeMap<&str, Vec<&Dump>> {
    let mut map: BTreeMap<&str, Vec<&Dump>> = BTreeMap::new();
    for d in dumps {
        map.entry(d.iface()).or_default().push(d);
    }
    map
}

fn show(entry: &str) -> String {
    entry.escape_debug().to_string()
}

fn labels(dumps: &[&Dump]) -> Vec<String> {
    dumps.iter().map(|d| d.label()).collect()
}

/// What came out of comparing one invocation.
#[derive(Default)]
struct Findings {
    /// Differences that fail the test.
    failures: String,
    /// Dumps compared and found identical.
    identical: usize,
}

/// Distinct environment differences, each with the hooks it was seen in,
/// in the order first seen.
#[derive(Default)]
struct Differences(Vec<(String, Vec<String>)>);

impl Differences {
    fn add(&mut self, text: String, at: String) {
        match self.0.iter_mut().find(|(t, _)| *t == text) {
            Some((_, places)) => places.push(at),
            None => self.0.push((text, vec![at])),
        }
    }

    fn write(&self, prefix: &str, out: &mut String) {
        for (text, places) in &self.0 {
            let _ = write!(
                out,
                "{prefix}: the environment of {} hook run(s) differs: {}\n{text}",
                places.len(),
                places.join(", ")
            );
        }
    }
}

/// Checks one side's global order: the `-a` meta hooks before (pre-up,
/// pre-down) and after (post-up, post-down) every interface's.
fn check_meta_bracket(side: &str, name: &str, dumps: &[Dump], out: &mut String) {
    let first = dumps.iter().filter(|d| !d.is_meta()).map(|d| d.seq).min();
    let last = dumps.iter().filter(|d| !d.is_meta()).map(|d| d.seq).max();
    let (Some(first), Some(last)) = (first, last) else {
        return;
    };
    for d in dumps.iter().filter(|d| d.is_meta()) {
        let pre = matches!(d.var("PHASE"), Some("pre-up" | "pre-down"));
        if (pre && d.seq > first) || (!pre && d.seq < last) {
            let _ = writeln!(
                out,
                "{name}: {side}'s meta hook {} ran {} an interface's hooks",
                d.label(),
                if pre { "after" } else { "before" }
            );
        }
    }
}

/// Multiset difference: the entries of `a` not matched in `b`.
fn missing_from<'a>(a: &'a [String], b: &[String]) -> Vec<&'a String> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for e in b {
        *counts.entry(e).or_default() += 1;
    }
    a.iter()
        .filter(|e| match counts.get_mut(e) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn compare(inv: &Invocation, debian: &[Dump], ours: &[Dump]) -> Findings {
    let mut f = Findings::default();
    let name = inv.name;
    if debian.is_empty() {
        let _ = writeln!(f.failures, "{name}: Debian ran no hooks at all");
    }
    check_meta_bracket("Debian", name, debian, &mut f.failures);
    check_meta_bracket("netconf", name, ours, &mut f.failures);

    let (d_ifaces, o_ifaces) = (by_iface(debian), by_iface(ours));
    let real = d_ifaces.keys().filter(|i| **i != "--all").count();
    if real <= 1 {
        // One interface: nothing runs concurrently, the whole order counts.
        let all_d: Vec<&Dump> = debian.iter().collect();
        let all_o: Vec<&Dump> = ours.iter().collect();
        if labels(&all_d) != labels(&all_o) {
            let _ = writeln!(
                f.failures,
                "{name}: different hooks, or in a different order.\n  Debian: {:#?}\n  \
                 netconf: {:#?}",
                labels(&all_d),
                labels(&all_o)
            );
        }
    }
    // Several interfaces: Debian handles them one after the other, netconfd
    // concurrently (one event per interface), so their hooks interleave in
    // any order. Only that interleaving is let go: per interface, the hooks,
    // their order and their environments must be Debian's.
    let d_keys: Vec<_> = d_ifaces.keys().collect();
    let o_keys: Vec<_> = o_ifaces.keys().collect();
    if d_keys != o_keys {
        let _ = writeln!(
            f.failures,
            "{name}: hooks ran for different interfaces: Debian {d_keys:?}, netconf {o_keys:?}"
        );
    }
    for (iface, d) in &d_ifaces {
        let Some(o) = o_ifaces.get(iface) else {
            continue;
        };
        if labels(d) != labels(o) {
            let _ = writeln!(
                f.failures,
                "{name}: IFACE={iface}: different hooks, or in a different order.\n  \
                 Debian: {:#?}\n  netconf: {:#?}",
                labels(d),
                labels(o)
            );
            continue;
        }
        // The same difference usually affects every hook of a stanza and
        // phase: each distinct one is reported once, with where it occurs.
        let mut failed = Differences::default();
        for (k, (dd, od)) in d.iter().zip(o).enumerate() {
            let at = format!("#{k} {}", dd.label());
            if dd.env == od.env {
                f.identical += 1;
                continue;
            }
            let only_d = missing_from(&dd.env, &od.env);
            let only_o = missing_from(&od.env, &dd.env);
            let mut text = String::new();
            if only_d.is_empty() && only_o.is_empty() {
                let _ = writeln!(
                    text,
                    "    same entries in a different order\n    Debian:  {:?}\n    netconf: {:?}",
                    dd.env, od.env
                );
            } else {
                for e in only_d {
                    let _ = writeln!(text, "    only Debian:  {}", show(e));
                }
                for e in only_o {
                    let _ = writeln!(text, "    only netconf: {}", show(e));
                }
            }
            failed.add(text, at);
        }
        failed.write(&format!("{name}: IFACE={iface}"), &mut f.failures);
    }
    f
}

/// Checks that the dumps really cover what the test claims to cover.
fn assert_coverage(all: &[(&str, Vec<Dump>)]) {
    let has = |inv: &str, tag_part: &str, entry: &str| {
        all.iter().any(|(name, dumps)| {
            *name == inv
                && dumps
                    .iter()
                    .any(|d| d.tag.contains(tag_part) && d.env.iter().any(|e| e == entry))
        })
    };
    let checks = [
        ("ifup-named", "cmd-pre-up-1", "IF_REPEATED=first\nsecond"),
        ("ifup-named", "cmd-pre-up-1", "IF_WEIRD=name=v=1"),
        ("ifup-named", "cmd-pre-up-1", "IF_DUP_NAME=dash"),
        ("ifup-named", "cmd-pre-up-1", "IF_DUP_NAME=underscore"),
        (
            "ifup-named",
            "cmd-pre-up-1",
            "IF_HWADDRESS=02:00:5e:10:00:01",
        ),
        ("ifup-named", "cmd-v6-up", "ADDRFAM=inet6"),
        ("ifup-named", "if-up.d:link-ok", "PHASE=post-up"),
        ("ifup-named", "cmd-s-up", "METHOD=static"),
        ("ifup-named", "cmd-s-up", "IF_GATEWAY=198.51.100.1"),
        ("ifup-named", "cmd-s6-up", "IF_DAD_ATTEMPTS=0"),
        ("ifdown-named", "cmd-s6-post-down", "PHASE=post-down"),
        ("ifdown-named", "if-down.d:50fail", "MODE=stop"),
        ("ifup-all-verbose", "if-pre-up.d:00first", "IFACE=--all"),
        ("ifup-all-verbose", "if-pre-up.d:00first", "CLASS=auto"),
        ("ifup-all-verbose", "if-up.d:00first", "VERBOSITY=1"),
        ("ifup-all-verbose", "if-up.d:00first", "IFACE=lo"),
        ("ifup-all-verbose", "cmd-s6-up", "CLASS=auto"),
        ("ifdown-all-verbose", "cmd-s-post-down", "VERBOSITY=1"),
        ("ifup-logical", "cmd-alt-up", "LOGICAL=alt"),
        ("ifup-hotplug", "cmd-b-pre-up", "IFUPDOWN_nch1=parent-lock"),
        ("ifup-hotplug", "cmd-b-pre-up", "IFUPDOWN_nch1.7=pre-up"),
        ("ifup-hotplug", "cmd-b-pre-up", "CLASS=hotplug"),
        (
            "ifdown-all-hotplug",
            "if-post-down.d:00first",
            "LOGICAL=hotplug",
        ),
        // The caller's recursion variables reach the hooks.
        (
            "ifup-all-hotplug-inherited",
            "cmd-b-post-up",
            "IFUPDOWN_nch1=post-up",
        ),
        (
            "ifup-all-hotplug-inherited",
            "cmd-b-post-up",
            "IFUPDOWN_other0=pre-up",
        ),
    ];
    for (inv, tag, entry) in checks {
        assert!(
            has(inv, tag, entry),
            "coverage: no dump of {inv} matching {tag} has {}",
            show(entry)
        );
    }
    // `no-scripts alt`: the logical interface ran only its commands.
    let logical = all.iter().find(|(n, _)| *n == "ifup-logical").unwrap();
    assert!(logical.1.iter().all(|d| d.tag.starts_with("cmd-")));
    // No caller variable but IFUPDOWN_* reaches any hook, on either side.
    for (name, dumps) in all {
        for d in dumps {
            assert!(
                !d.env.iter().any(|e| e.starts_with("NETCONF_UNRELATED=")
                    || e.starts_with("LC_ALL=")
                    || e.starts_with("IFUPDOWN_daemon0=")),
                "{name}: {} got a caller's variable: {:?}",
                d.label(),
                d.env
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The run.

fn in_namespace(tmp: &Path) {
    assert_own_namespaces();
    sh("mount --make-rprivate / && mount -t sysfs sysfs /sys");

    let etc_network = tmp.join("etc-network");
    fs::create_dir(&etc_network).unwrap();
    mount_etc_network(tmp, &etc_network);

    let dumps = tmp.join("dumps");
    fs::create_dir_all(dumps.join("current")).unwrap();
    let dump = tmp.join("dump");
    let dump_text = dump_script(&dumps);
    write_exec(&dump, &dump_text, 0o755);
    make_hook_dirs(Path::new("/etc/network"), &dump, &dump_text);
    let interfaces = tmp.join("interfaces");
    fs::write(&interfaces, interfaces_file(&dump)).unwrap();

    let invs = invocations();

    // 1. Debian.
    let sbin = debian_sbin();
    let state = tmp.join("debian-state");
    for inv in &invs {
        ensure_links();
        let mut cmd = Command::new(sbin.join(inv.program()));
        cmd.arg("-i")
            .arg(&interfaces)
            .arg("--state-dir")
            .arg(&state);
        run_client("Debian's", cmd, inv);
        collect_dumps(&dumps, &tmp.join("debian").join(inv.name));
    }

    // 2. Reset, then netconf in the same namespace.
    reset_links();
    assert!(
        fs::read_dir(dumps.join("current"))
            .unwrap()
            .next()
            .is_none(),
        "dumps left over"
    );
    let bin = our_bin_dir();
    let ours_dir = tmp.join("netconf");
    fs::create_dir(&ours_dir).unwrap();
    ensure_links();
    let mut daemon = Daemon::start(&bin, &ours_dir, &interfaces);
    for inv in &invs {
        ensure_links();
        let mut cmd = Command::new(bin.join(inv.program()));
        cmd.arg("--socket").arg(&daemon.socket);
        run_client("our", cmd, inv);
        collect_dumps(&dumps, &tmp.join("ours").join(inv.name));
    }
    match daemon.stop() {
        Some(s) if s.success() => {}
        other => panic!(
            "netconfd did not stop cleanly on SIGTERM ({other:?}){}",
            daemon.log()
        ),
    }

    // 3. Compare.
    let mut failures = String::new();
    let mut identical = 0;
    let mut total = 0;
    let mut all = Vec::new();
    for inv in &invs {
        let debian = read_dumps(&tmp.join("debian").join(inv.name));
        let ours = read_dumps(&tmp.join("ours").join(inv.name));
        total += debian.len();
        let f = compare(inv, &debian, &ours);
        failures.push_str(&f.failures);
        identical += f.identical;
        all.push((inv.name, debian));
    }
    assert!(
        failures.is_empty(),
        "the hooks netconf ran differ from Debian's:\n{failures}"
    );
    assert_coverage(&all);
    eprintln!(
        "{TEST_NAME}: {total} hook runs in {} invocations; {identical} environments identical to Debian's",
        invs.len()
    );
    assert_eq!(
        identical, total,
        "every environment must be identical to Debian's"
    );
    sh("umount /etc/network");
}
