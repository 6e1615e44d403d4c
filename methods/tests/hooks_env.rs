//! The hook environment and order of `netconf_methods::hooks`, compared with
//! Debian's ifupdown 0.8.41 running the same hooks.
//!
//! The test re-executes itself under `unshare --net --mount`, so everything
//! below happens in a fresh network and mount namespace (the machine's own
//! network and `/etc` are never touched):
//!
//! 1. a temporary directory is bind-mounted over `/etc/network` (when the
//!    machine has no `/etc/network`, a tmpfs-backed overlay over `/etc`,
//!    private to the namespace, provides the mount point), so that Debian's
//!    hard-coded `/etc/network/if-*.d` are ours; each holds copies of a
//!    dump script among entries run-parts must skip;
//! 2. the dump script, also called from `pre-up`/`up`/`post-up`/`down`/
//!    `pre-down`/`post-down` lines, copies its caller's initial environment
//!    (`/proc/PID/environ`: raw, order and duplicates included) into the
//!    next numbered file of the current invocation;
//! 3. Debian's `ifup`/`ifdown` run a series of invocations (by name, with a
//!    logical name, `-a`, `--allow=hotplug`, `-v`, inherited `IFUPDOWN_*`)
//!    on a veth pair with `inet manual`/`inet6 manual` stanzas;
//! 4. our side replays the same invocations with our parser, `environment`,
//!    `plan` and `run_steps` (method steps skipped) into a second set of
//!    dumps;
//! 5. the two sets must have the same dumps in the same order, and each dump
//!    the same entries in the same order.
//!
//! Debian's ifup comes from `scripts/fetch-debian-ifupdown`
//! (`$DEBIAN_IFUPDOWN_ROOT/sbin/ifup`, by default
//! `target/debian-ifupdown/root/sbin/ifup`). Needs root, `unshare`
//! (util-linux), `ip` (iproute2) and `run-parts` (debianutils).

use netconf_interfaces::families::method_def;
use netconf_interfaces::pattern::matches_any;
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions, Stanza, Variables};
use netconf_methods::hooks::{
    environment, meta_context, plan, run_steps, HookContext, Mode, Phase, Step,
};
use std::collections::BTreeSet;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "hook_environment_matches_debian";
/// Set in the re-executed test: the temporary directory to work in.
const CHILD_MARK: &str = "NETCONF_HOOKS_ENV_DIR";
/// Set in the re-executed test: the namespaces it must not be in.
const PARENT_NS: &str = "NETCONF_HOOKS_ENV_PARENT_NS";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The veth pair; the peer's name has a dot, to exercise `parent-lock`
/// (its "parent" `nch1` does not exist, so ifupdown creates no VLAN).
const IF_A: &str = "nch0";
const IF_B: &str = "nch1.7";

#[test]
fn hook_environment_matches_debian() {
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

fn debian_root() -> PathBuf {
    env::var_os("DEBIAN_IFUPDOWN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debian-ifupdown/root"))
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
             Debian's ifup in them. Run it as root, e.g. \
             `sudo -E cargo test -p netconf-methods --test hooks_env`."
        );
    }
    let ifup = debian_root().join("sbin/ifup");
    if !ifup.is_file() {
        panic!(
            "Debian's ifup is missing: no {}.\nRun scripts/fetch-debian-ifupdown first (it \
             unpacks Debian's ifupdown 0.8.41 into target/debian-ifupdown/root, or into \
             $DEBIAN_IFUPDOWN_ROOT).",
            ifup.display()
        );
    }
    for (tool, package) in [
        ("unshare", "util-linux"),
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
        // Its own process group, so that a timeout takes everything down.
        .process_group(0);
    let child = cmd.spawn().expect("starting unshare");
    let (status, stdout, stderr) = wait_with_timeout(child, CHILD_TIMEOUT);
    print!("{stdout}");
    eprint!("{stderr}");
    match status {
        Some(0) => {}
        Some(code) => panic!(
            "the comparison in the namespace failed (exit status {code}); its output is above"
        ),
        None => panic!(
            "the comparison in the namespace did not finish within {}s and was killed",
            CHILD_TIMEOUT.as_secs()
        ),
    }
}

/// Exit code (None: timed out or killed), stdout, stderr.
fn wait_with_timeout(mut child: Child, timeout: Duration) -> (Option<i32>, String, String) {
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
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                // SAFETY: kill has no memory-safety preconditions; the
                // group is the child's own (process_group(0)).
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                break None;
            }
        }
    };
    (
        code,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// Inside the namespaces.

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
/// those of the test that started it.
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

/// The dump script. Called by a command line as `dump TAG $$`, it dumps the
/// initial environment of that command's shell (ifupdown's `execle` list as
/// is); run as a hook script, its own (what the script got). Each dump is
/// the next numbered file in `DUMPS/current`.
fn dump_script(dumps: &Path) -> String {
    format!(
        r#"#!/bin/sh
if [ $# -ge 2 ]; then tag=$1; pid=$2; else tag=$0; pid=$$; fi
dir={}/current
n=$(ls -A "$dir" | wc -l)
cat /proc/$pid/environ > "$dir/$(printf %03d "$n")-$(printf %s "$tag" | tr / :)"
"#,
        dumps.display()
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

fn interfaces_file(dump: &Path) -> String {
    let d = dump.display();
    // `; :` keeps the shell from exec'ing the dump script in its place, so
    // that the shell (whose environment is read) is still there.
    let c = |tag: &str| format!("{d} {tag} $$; :");
    format!(
        "\
auto {IF_A}
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
    )
}

/// Which interfaces one invocation handles.
enum Targets {
    /// `PHYS[=LOGICAL]` names given on the command line.
    Named(Vec<(&'static str, &'static str)>),
    /// `-a`: the class's interfaces (up), or the reverse of what the
    /// previous `-a` brought up (down), between the meta hooks.
    All(Vec<(&'static str, &'static str)>),
}

struct Invocation {
    name: &'static str,
    mode: Mode,
    verbose: bool,
    /// `--allow=CLASS`.
    allow: Option<&'static str>,
    targets: Targets,
    /// Extra environment of Debian's ifup (and our "caller" environment).
    env: Vec<(&'static str, &'static str)>,
}

impl Invocation {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.verbose {
            args.push("-v".to_string());
        }
        if let Some(class) = self.allow {
            args.push(format!("--allow={class}"));
        }
        match &self.targets {
            Targets::All(_) => args.push("-a".to_string()),
            Targets::Named(names) => {
                for (phys, logical) in names {
                    args.push(if phys == logical {
                        phys.to_string()
                    } else {
                        format!("{phys}={logical}")
                    });
                }
            }
        }
        args
    }

    fn class(&self) -> Option<String> {
        match (&self.targets, self.allow) {
            (_, Some(class)) => Some(class.to_string()),
            (Targets::All(_), None) => Some("auto".to_string()),
            (Targets::Named(_), None) => None,
        }
    }

    fn caller_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("LC_ALL".to_string(), "C".to_string()),
            // Not IFUPDOWN_*: ifupdown must not pass it on.
            ("NETCONF_UNRELATED".to_string(), "x".to_string()),
            ("IFUPDOWN_other0".to_string(), "pre-up".to_string()),
        ];
        env.extend(self.env.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        // std's Command hands a child its environment sorted by name: this
        // is the order Debian's ifup sees, and passes IFUPDOWN_* on in.
        env.sort();
        env
    }
}

fn invocations() -> Vec<Invocation> {
    let inv = |name, mode, verbose, allow, targets| Invocation {
        name,
        mode,
        verbose,
        allow,
        targets,
        env: Vec::new(),
    };
    let auto = vec![("lo", "lo"), (IF_A, IF_A)];
    let auto_rev: Vec<_> = auto.iter().rev().copied().collect();
    vec![
        inv(
            "ifup-named",
            Mode::Start,
            false,
            None,
            Targets::Named(vec![(IF_A, IF_A)]),
        ),
        inv(
            "ifdown-named",
            Mode::Stop,
            false,
            None,
            Targets::Named(vec![(IF_A, IF_A)]),
        ),
        inv(
            "ifup-all-verbose",
            Mode::Start,
            true,
            None,
            Targets::All(auto),
        ),
        inv(
            "ifdown-all-verbose",
            Mode::Stop,
            true,
            None,
            Targets::All(auto_rev),
        ),
        inv(
            "ifup-logical",
            Mode::Start,
            false,
            None,
            Targets::Named(vec![(IF_A, "alt")]),
        ),
        inv(
            "ifdown-logical",
            Mode::Stop,
            false,
            None,
            Targets::Named(vec![(IF_A, "alt")]),
        ),
        inv(
            "ifup-hotplug",
            Mode::Start,
            false,
            Some("hotplug"),
            Targets::Named(vec![(IF_B, IF_B)]),
        ),
        inv(
            "ifdown-hotplug",
            Mode::Stop,
            false,
            Some("hotplug"),
            Targets::Named(vec![(IF_B, IF_B)]),
        ),
        Invocation {
            env: vec![("IFUPDOWN_nch1", "post-up")],
            ..inv(
                "ifup-all-hotplug",
                Mode::Start,
                false,
                Some("hotplug"),
                Targets::All(vec![(IF_B, IF_B)]),
            )
        },
        Invocation {
            env: vec![("IFUPDOWN_nch1", "pre-down")],
            ..inv(
                "ifdown-all-hotplug",
                Mode::Stop,
                true,
                Some("hotplug"),
                Targets::All(vec![(IF_B, IF_B)]),
            )
        },
    ]
}

/// Replaces the (empty) `current` dump directory by a fresh one after
/// moving it to `dest`.
fn collect_dumps(dumps: &Path, dest: &Path) {
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::rename(dumps.join("current"), dest).unwrap();
    fs::create_dir(dumps.join("current")).unwrap();
}

/// (Re)creates the veth pair: `ifdown` of a dotted name deletes that link,
/// and with it the pair.
fn ensure_veth() {
    sh(&format!(
        "ip link show {IF_A} >/dev/null 2>&1 || ip link add {IF_A} type veth peer name {IF_B}"
    ));
}

fn run_debian(inv: &Invocation, ifup_dir: &Path, interfaces: &Path, state: &Path, cwd: &Path) {
    let bin = ifup_dir.join(match inv.mode {
        Mode::Start => "ifup",
        Mode::Stop => "ifdown",
    });
    let out = Command::new(&bin)
        .arg("-i")
        .arg(interfaces)
        .arg("--state-dir")
        .arg(state)
        .args(inv.args())
        .env_clear()
        .envs(inv.caller_env())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "Debian's {} {:?} failed ({}):\n{}{}",
        bin.display(),
        inv.args(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One phase of one stanza (or of the meta interface) on our side.
fn run_ours_phase(
    rt: &tokio::runtime::Runtime,
    vars: &Variables,
    ctx: &HookContext,
    phase: Phase,
    run_scripts: bool,
    inherited: &[(String, String)],
) {
    let env = environment(vars, ctx, phase.mode(), phase, inherited);
    let steps: Vec<Step> = plan(vars, phase, Path::new("/etc/network"), run_scripts)
        .into_iter()
        .filter(|s| *s != Step::Method)
        .collect();
    // Debian's ifdown ignores every failure.
    let ignore_errors = phase.mode() == Mode::Stop;
    let result = rt.block_on(run_steps(
        &steps,
        &env,
        STEP_TIMEOUT,
        ignore_errors,
        |line| eprintln!("[ours {phase} {}] {}", line.step, line.line),
    ));
    if let Err(e) = result {
        panic!("our {phase} hooks for {} failed: {e}", ctx.iface);
    }
}

fn stanza_vars(stanza: &Stanza, phys: &str) -> Variables {
    let method = method_def(stanza.family, &stanza.method)
        .unwrap_or_else(|| panic!("no method {} {}", stanza.family, stanza.method));
    let mut vars = Variables::from_stanza(stanza);
    vars.apply_defaults(method);
    vars.convert(method, phys);
    vars
}

fn run_ours(inv: &Invocation, config: &InterfacesFile, rt: &tokio::runtime::Runtime) {
    let inherited = inv.caller_env();
    let class = inv.class();
    let phases = match inv.mode {
        Mode::Start => [Phase::PreUp, Phase::PostUp],
        Mode::Stop => [Phase::PreDown, Phase::PostDown],
    };
    let (targets, meta) = match &inv.targets {
        Targets::Named(t) => (t, None),
        Targets::All(t) => {
            let class = class.clone().unwrap_or_else(|| "auto".into());
            (t, Some(meta_context(&class, inv.verbose)))
        }
    };
    let none = Variables::default();
    if let Some(meta) = &meta {
        let scripts = !matches_any(&config.no_scripts, &meta.logical);
        run_ours_phase(rt, &none, meta, phases[0], scripts, &inherited);
    }
    for (phys, logical) in targets {
        let stanzas: Vec<&Stanza> = config.stanzas_named(logical).collect();
        assert!(!stanzas.is_empty(), "no stanza {logical}");
        for stanza in stanzas {
            let ctx = HookContext {
                iface: phys.to_string(),
                logical: logical.to_string(),
                family: stanza.family.name().to_string(),
                method: stanza.method.clone(),
                verbose: inv.verbose,
                class: class.clone(),
            };
            let vars = stanza_vars(stanza, phys);
            let scripts = !matches_any(&config.no_scripts, logical);
            for phase in phases {
                run_ours_phase(rt, &vars, &ctx, phase, scripts, &inherited);
            }
        }
    }
    if let Some(meta) = &meta {
        let scripts = !matches_any(&config.no_scripts, &meta.logical);
        run_ours_phase(rt, &none, meta, phases[1], scripts, &inherited);
    }
}

/// One dump: its file name and its environment entries.
type Dump = (String, Vec<String>);

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
            let data = fs::read(&f).unwrap();
            let entries = data
                .split(|b| *b == 0)
                .filter(|e| !e.is_empty())
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect();
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                entries,
            )
        })
        .collect()
}

fn show(entry: &str) -> String {
    entry.escape_debug().to_string()
}

/// Differences between Debian's and our dumps of one invocation.
fn compare(name: &str, debian: &[Dump], ours: &[Dump]) -> String {
    let mut report = String::new();
    let names = |d: &[Dump]| d.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(debian) != names(ours) {
        let _ = writeln!(
            report,
            "{name}: different hooks ran.\n  Debian: {:#?}\n  ours:   {:#?}",
            names(debian),
            names(ours)
        );
        return report;
    }
    for ((file, d), (_, o)) in debian.iter().zip(ours) {
        let ds: BTreeSet<&String> = d.iter().collect();
        let os: BTreeSet<&String> = o.iter().collect();
        if ds != os || d.len() != o.len() {
            let _ = writeln!(report, "{name}/{file}: the environments differ");
            for e in ds.difference(&os) {
                let _ = writeln!(report, "    only Debian: {}", show(e));
            }
            for e in os.difference(&ds) {
                let _ = writeln!(report, "    only ours:   {}", show(e));
            }
            if ds == os {
                let _ = writeln!(
                    report,
                    "    same entries, different repeats: Debian {} entries, ours {}",
                    d.len(),
                    o.len()
                );
            }
        } else if d != o {
            let _ = writeln!(
                report,
                "{name}/{file}: same entries in a different order\n  Debian: {:?}\n  ours:   {:?}",
                d, o
            );
        }
    }
    report
}

/// Checks that the dumps really cover what the test claims to cover.
fn assert_coverage(all: &[(String, Vec<Dump>)]) {
    let has = |inv: &str, file_part: &str, entry: &str| {
        all.iter().any(|(name, dumps)| {
            name == inv
                && dumps
                    .iter()
                    .any(|(f, env)| f.contains(file_part) && env.iter().any(|e| e == entry))
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
        ("ifup-named", "cmd-pre-up-1", "IFUPDOWN_other0=pre-up"),
        ("ifup-named", "cmd-v6-up", "ADDRFAM=inet6"),
        ("ifup-named", "if-up.d:link-ok", "PHASE=post-up"),
        ("ifdown-named", "if-down.d:50fail", "MODE=stop"),
        ("ifup-all-verbose", "if-pre-up.d:00first", "IFACE=--all"),
        ("ifup-all-verbose", "if-pre-up.d:00first", "CLASS=auto"),
        ("ifup-all-verbose", "if-up.d:00first", "VERBOSITY=1"),
        ("ifup-logical", "cmd-alt-up", "LOGICAL=alt"),
        ("ifup-hotplug", "cmd-b-pre-up", "IFUPDOWN_nch1=parent-lock"),
        ("ifup-hotplug", "cmd-b-pre-up", "IFUPDOWN_nch1.7=pre-up"),
        ("ifup-hotplug", "cmd-b-pre-up", "CLASS=hotplug"),
        ("ifup-all-hotplug", "cmd-b-post-up", "IFUPDOWN_nch1=post-up"),
        (
            "ifdown-all-hotplug",
            "if-post-down.d:00first",
            "LOGICAL=hotplug",
        ),
    ];
    for (inv, file, entry) in checks {
        assert!(
            has(inv, file, entry),
            "coverage: no dump of {inv} matching {file} has {}",
            show(entry)
        );
    }
    // `no-scripts alt`: the logical interface ran only its commands.
    let logical = all.iter().find(|(n, _)| n == "ifup-logical").unwrap();
    assert!(logical.1.iter().all(|(f, _)| f.contains("cmd-")));
}

fn in_namespace(tmp: &Path) {
    assert_own_namespaces();
    sh("mount --make-rprivate / && mount -t sysfs sysfs /sys");

    // /etc/network, ours: a bind mount of a temporary directory.
    let etc_network = tmp.join("etc-network");
    fs::create_dir(&etc_network).unwrap();
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

    let dumps = tmp.join("dumps");
    fs::create_dir_all(dumps.join("current")).unwrap();
    let dump = tmp.join("dump");
    let dump_text = dump_script(&dumps);
    write_exec(&dump, &dump_text, 0o755);
    make_hook_dirs(Path::new("/etc/network"), &dump, &dump_text);
    let interfaces = tmp.join("interfaces");
    fs::write(&interfaces, interfaces_file(&dump)).unwrap();
    let cwd = tmp.join("work");
    fs::create_dir(&cwd).unwrap();
    // Our hooks inherit our cwd (and scripts see it as PWD); Debian's
    // inherit ifup's, which runs there too.
    env::set_current_dir(&cwd).unwrap();

    let parsed = parse_file(&interfaces.to_string_lossy(), &ParseOptions::default());
    assert!(
        !parsed.rejected && parsed.errors().next().is_none(),
        "our parser rejects the test file: {:?}",
        parsed.diagnostics
    );
    let config = parsed.config;

    let ifup_dir = debian_root().join("sbin");
    let invs = invocations();
    for (i, inv) in invs.iter().enumerate() {
        ensure_veth();
        let state = tmp.join(format!("state-debian-{}", state_group(i)));
        run_debian(inv, &ifup_dir, &interfaces, &state, &cwd);
        collect_dumps(&dumps, &tmp.join("debian").join(inv.name));
    }
    sh(&format!("ip link del {IF_A} 2>/dev/null || true"));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for inv in &invs {
        run_ours(inv, &config, &rt);
        collect_dumps(&dumps, &tmp.join("ours").join(inv.name));
    }

    let mut report = String::new();
    let mut all = Vec::new();
    let mut total = 0;
    for inv in &invs {
        let debian = read_dumps(&tmp.join("debian").join(inv.name));
        let ours = read_dumps(&tmp.join("ours").join(inv.name));
        total += debian.len();
        report.push_str(&compare(inv.name, &debian, &ours));
        all.push((inv.name.to_string(), debian));
    }
    sh("umount /etc/network");
    assert!(
        report.is_empty(),
        "the hook environments differ from Debian's:\n{report}"
    );
    assert_coverage(&all);
    eprintln!(
        "{TEST_NAME}: {total} hook environments in {} invocations identical to Debian's",
        invs.len()
    );
}

/// Up and down of one pair share a state directory.
fn state_group(index: usize) -> usize {
    index / 2
}
