//! Conformance of our `ifquery` with Debian's (ifupdown 0.8.41).
//!
//! Every corpus file `tests/conformance/ifquery/NAME.interfaces` (and
//! `ifxml/tests/corpus/NAME.interfaces`, the stanzas of netcf documents) is copied,
//! with its sibling directory `NAME.d/` if there is one, into a fresh
//! temporary directory; `@DIR@` in every copied text file becomes that
//! directory's absolute path. The file's directives, lines that start with
//!
//! * `# RUN: ARGS...` -- one invocation (ARGS split on whitespace; at least
//!   one RUN line per file, each a separate invocation),
//! * `# RUN-UB: ARGS...` -- one invocation where Debian's ifquery reads
//!   memory it never wrote (a word cut at 79 bytes is not NUL-terminated),
//!   so that its answer varies from run to run: ours must be one of the
//!   answers Debian gives in up to ten runs,
//! * `# SETUP: COMMAND` -- a shell command run inside the namespace before
//!   each invocation, e.g. to create veth pairs for `/veth*` patterns,
//! * `# ENV: NAME=VALUE` -- an extra environment variable,
//!
//! then drive both binaries, each as
//! `IFQUERY -i DIR/NAME.interfaces --state-dir=STATE ARGS...` with DIR as the
//! working directory, inside a fresh network and mount namespace with its own
//! sysfs mounted, so that only the namespace's interfaces are ever seen
//! (the machine's network is never touched), and with the same small
//! environment. Exit status, stdout and stderr must match byte for byte; all
//! mismatches over the whole corpus are reported together at the end.
//!
//! Debian's ifquery comes from `scripts/fetch-debian-ifupdown`
//! (`$DEBIAN_IFUPDOWN_ROOT/sbin/ifquery`, by default under
//! `target/debian-ifupdown/root`); ours from `$NETCONF_BIN_DIR/ifquery`, by
//! default `target/debug/ifquery` (`cargo build --bins`); relative paths in
//! those variables are taken from the repository's root. Both binaries are
//! run through the same symlink, `.../sbin/ifquery`, so that argv[0] (which
//! Debian dispatches on, and getopt names in its errors) is the same.
//! Needs root, for the namespaces.
//!
//! Run: `cargo build --bins && cargo test -p netconf-tests --test
//! ifquery_conformance -- --nocapture`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::symlink;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The environment's PATH for both binaries, as ifupdown sets it for scripts.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long one invocation may take before it is killed and counted failed.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Exit status and stderr prefix of the namespace script when the harness's
/// own part (sysfs, loopback, SETUP lines) failed: never a binary's answer.
const HARNESS_EXIT: i32 = 97;
const HARNESS_MARK: &str = "ifquery-conformance-harness:";
/// The placeholder for the temporary directory in corpus files.
const DIR_PLACEHOLDER: &str = "@DIR@";

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// Debian's ifquery. It dispatches on the basename of argv[0], so it is run
/// through this path, whose basename is `ifquery` (a symlink to ifup).
fn debian_ifquery(root: &Path) -> Result<PathBuf, String> {
    let base = env::var_os("DEBIAN_IFUPDOWN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/debian-ifupdown/root".into());
    let bin = root.join(base).join("sbin/ifquery");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "Debian's ifquery is missing: no {}.\n\
             Run scripts/fetch-debian-ifupdown first (it unpacks Debian's ifupdown 0.8.41 \
             into target/debian-ifupdown/root, or into $DEBIAN_IFUPDOWN_ROOT).",
            bin.display()
        ))
    }
}

/// Our ifquery.
fn our_ifquery(root: &Path) -> Result<PathBuf, String> {
    let dir = env::var_os("NETCONF_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/debug".into());
    let bin = root.join(dir).join("ifquery");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "our ifquery is missing: no {}.\n\
             Run `cargo build --bins` first (or point $NETCONF_BIN_DIR at the binaries).",
            bin.display()
        ))
    }
}

/// The directives of one corpus file.
#[derive(Debug, Default)]
struct Directives {
    /// Each invocation, and whether Debian's answer to it varies (`RUN-UB`).
    runs: Vec<(Vec<String>, bool)>,
    setup: Vec<String>,
    env: Vec<(String, String)>,
}

fn parse_directives(text: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if let Some(args) = line.strip_prefix("# RUN:") {
            d.runs
                .push((args.split_whitespace().map(str::to_owned).collect(), false));
        } else if let Some(args) = line.strip_prefix("# RUN-UB:") {
            d.runs
                .push((args.split_whitespace().map(str::to_owned).collect(), true));
        } else if let Some(cmd) = line.strip_prefix("# SETUP:") {
            let cmd = cmd.trim();
            if cmd.is_empty() {
                return Err(format!("line {}: empty SETUP directive", n + 1));
            }
            d.setup.push(cmd.to_owned());
        } else if let Some(var) = line.strip_prefix("# ENV:") {
            match var.trim().split_once('=') {
                Some((name, value)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                    d.env.push((name.to_owned(), value.to_owned()))
                }
                _ => {
                    return Err(format!(
                        "line {}: ENV directive is not NAME=VALUE: {:?}",
                        n + 1,
                        var.trim()
                    ))
                }
            }
        }
    }
    if d.runs.is_empty() {
        return Err("no `# RUN:` line: every corpus file needs at least one".to_owned());
    }
    Ok(d)
}

/// Copies a file, keeping its permissions; `@DIR@` in a text file (one
/// without NUL bytes) is replaced with `dir`.
fn copy_file(from: &Path, to: &Path, dir: &Path) -> io::Result<()> {
    let data = fs::read(from)?;
    let data = if data.contains(&0) {
        data
    } else {
        replace_bytes(
            &data,
            DIR_PLACEHOLDER.as_bytes(),
            dir.as_os_str().as_encoded_bytes(),
        )
    };
    fs::write(to, data)?;
    fs::set_permissions(to, fs::metadata(from)?.permissions())
}

fn copy_tree(from: &Path, to: &Path, dir: &Path) -> io::Result<()> {
    fs::create_dir(to)?;
    let mut entries = fs::read_dir(from)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            let target = fs::read_link(&src)?;
            let target = target
                .to_string_lossy()
                .replace(DIR_PLACEHOLDER, &dir.to_string_lossy());
            symlink(target, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst, dir)?;
        } else {
            copy_file(&src, &dst, dir)?;
        }
    }
    fs::set_permissions(to, fs::metadata(from)?.permissions())
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// What one binary did.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

/// The shell script run by `sh -c` inside the fresh namespaces: sysfs of
/// the new network namespace on /sys, loopback up, the SETUP lines, then
/// the binary with its arguments ("$@").
fn namespace_script(setup: &[String]) -> String {
    let mut prep = vec![
        "mount -t sysfs sysfs /sys".to_owned(),
        "ip link set lo up".to_owned(),
    ];
    prep.extend(setup.iter().cloned());
    format!(
        "{{ {}; }} || {{ echo '{HARNESS_MARK} namespace setup failed' >&2; exit {HARNESS_EXIT}; }}; exec \"$@\"",
        prep.join(" && ")
    )
}

fn namespace_command(setup: &[String], env: &[(String, String)], cwd: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "sh", "-c"])
        .arg(namespace_script(setup))
        .arg("sh")
        .env_clear()
        .env("PATH", PATH)
        .env("LC_ALL", "C")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout kills mapping scripts too.
        .process_group(0);
    cmd
}

fn read_pipe<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn wait_with_timeout(mut child: Child) -> Result<Outcome, String> {
    let out = read_pipe(child.stdout.take());
    let err = read_pipe(child.stderr.take());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // The whole process group: the binary and anything it started.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "timed out after {}s and was killed",
                    TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for it failed: {e}")),
        }
    };
    Ok(Outcome {
        status: describe_status(status),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs `bin` in fresh namespaces; Err is a failure of the harness itself.
fn run_one(bin: &Path, args: &[String], d: &Directives, cwd: &Path) -> Result<Outcome, String> {
    let mut cmd = namespace_command(&d.setup, &d.env, cwd);
    cmd.arg(bin).args(args);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start unshare: {e}"))?;
    let outcome = wait_with_timeout(child)?;
    if outcome.status == format!("exit {HARNESS_EXIT}")
        && String::from_utf8_lossy(&outcome.stderr).contains(HARNESS_MARK)
    {
        return Err(format!(
            "the namespace setup failed (sysfs, lo or a SETUP line):\n{}",
            indent(&String::from_utf8_lossy(&outcome.stderr))
        ));
    }
    Ok(outcome)
}

/// Checks once that namespaces work here and show only their own loopback,
/// so that neither binary can ever see (or touch) the machine's interfaces.
fn probe_namespaces() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let mut cmd = namespace_command(&[], &[], tmp.path());
    cmd.args(["ls", "/sys/class/net"]);
    let outcome = wait_with_timeout(
        cmd.spawn()
            .map_err(|e| format!("cannot start unshare: {e}"))?,
    )?;
    if outcome.status == "exit 0" && outcome.stdout == b"lo\n" {
        Ok(())
    } else {
        Err(format!(
            "`unshare --net --mount` with a fresh sysfs does not work here ({}); \
             this test needs root (CAP_SYS_ADMIN) and util-linux + iproute2.\n\
             stdout:\n{}stderr:\n{}",
            outcome.status,
            indent(&String::from_utf8_lossy(&outcome.stdout)),
            indent(&String::from_utf8_lossy(&outcome.stderr)),
        ))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A stream for the report: one `| ` line per line, control characters
/// escaped, temporary paths shown as their placeholders.
fn render(bytes: &[u8], subst: &[(String, &str)]) -> String {
    if bytes.is_empty() {
        return "        (empty)\n".to_owned();
    }
    let text = mask(&String::from_utf8_lossy(bytes), subst);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let shown: String = body
            .chars()
            .map(|c| {
                if c.is_control() && c != '\t' {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        let _ = writeln!(out, "        | {shown}");
        if !newline {
            out.push_str("        (no newline at end)\n");
        }
    }
    out
}

/// Temporary paths shown as placeholders.
fn mask(text: &str, subst: &[(String, &str)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in subst {
        text = text.replace(from.as_str(), to);
    }
    text
}

struct Mismatch {
    file: String,
    args: String,
    detail: String,
}

#[test]
fn ifquery_matches_debian() {
    let root = repo_root();
    let debian = debian_ifquery(&root);
    let ours = our_ifquery(&root);
    let (debian, ours) = match (debian, ours) {
        (Ok(d), Ok(o)) => (d, o),
        (d, o) => {
            let msgs: Vec<String> = [d.err(), o.err()].into_iter().flatten().collect();
            panic!("{}", msgs.join("\n"));
        }
    };
    if let Err(e) = probe_namespaces() {
        panic!("{e}");
    }

    // Our own corpus, and the stanzas ifxml renders from netcf's interface
    // documents (ifxml/tests/corpus.rs checks that they are its output):
    // Debian's reading of them must be ours.
    let mut corpus: Vec<PathBuf> = Vec::new();
    for corpus_dir in [
        root.join("tests/conformance/ifquery"),
        root.join("ifxml/tests/corpus"),
    ] {
        let mut files: Vec<PathBuf> = fs::read_dir(&corpus_dir)
            .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", corpus_dir.display()))
            .map(|e| e.expect("reading the corpus directory").path())
            .filter(|p| p.extension().is_some_and(|x| x == "interfaces") && p.is_file())
            .collect();
        assert!(
            !files.is_empty(),
            "no *.interfaces files in {}",
            corpus_dir.display()
        );
        files.sort();
        corpus.extend(files);
    }

    let mut mismatches: Vec<Mismatch> = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);

    for file in &corpus {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let mut corpus_error = |detail: String| {
            failed += 1;
            mismatches.push(Mismatch {
                file: name.clone(),
                args: "(the corpus file itself)".to_owned(),
                detail: format!("  {detail}\n"),
            });
        };

        // The copy, under the placeholder's path.
        let tmp = tempfile::Builder::new()
            .prefix("ifquery-conformance.")
            .tempdir()
            .expect("creating a temporary directory");
        let dir = tmp.path().canonicalize().expect("canonical temporary path");
        let copied = dir.join(&name);
        if let Err(e) = copy_file(file, &copied, &dir) {
            corpus_error(format!("copying failed: {e}"));
            continue;
        }
        let sibling = file.with_file_name(format!("{stem}.d"));
        if sibling.is_dir() {
            if let Err(e) = copy_tree(&sibling, &dir.join(format!("{stem}.d")), &dir) {
                corpus_error(format!("copying {stem}.d/ failed: {e}"));
                continue;
            }
        }
        let text = fs::read_to_string(&copied).unwrap_or_else(|_| {
            String::from_utf8_lossy(&fs::read(&copied).unwrap_or_default()).into_owned()
        });
        let directives = match parse_directives(&text) {
            Ok(d) => d,
            Err(e) => {
                corpus_error(format!("bad directives: {e}"));
                continue;
            }
        };

        for (run_args, varies) in &directives.runs {
            // Per invocation: a state directory and a path to run the binary
            // through, both the same for the two binaries (fresh for each),
            // so that neither can be why two outputs differ: getopt's errors
            // name argv[0], which is this path, whose basename is `ifquery`.
            let scratch = tempfile::Builder::new()
                .prefix("ifquery-conformance-run.")
                .tempdir()
                .expect("creating a temporary directory");
            let scratch_dir = scratch
                .path()
                .canonicalize()
                .expect("canonical temporary path");
            let state = scratch_dir.join("state");
            let bin_dir = scratch_dir.join("sbin");
            let argv0 = bin_dir.join("ifquery");
            fs::create_dir(&bin_dir).expect("creating the binary's directory");
            let mut args = vec![
                "-i".to_owned(),
                copied.to_string_lossy().into_owned(),
                format!("--state-dir={}", state.display()),
            ];
            args.extend(run_args.iter().cloned());

            let run_with = |bin: &Path| {
                let _ = fs::remove_dir_all(&state);
                fs::create_dir(&state).expect("creating the state directory");
                let _ = fs::remove_file(&argv0);
                symlink(bin, &argv0).expect("linking the binary");
                run_one(&argv0, &args, &directives, &dir)
            };
            let ours_outcome = run_with(&ours);
            let mut debian_outcome = run_with(&debian);
            // Debian's undefined behaviour: another run may give ours.
            for _ in 1..if *varies { 10 } else { 1 } {
                if matches!((&debian_outcome, &ours_outcome), (Ok(d), Ok(o)) if d == o) {
                    break;
                }
                debian_outcome = run_with(&debian);
            }

            let subst = [
                (argv0.to_string_lossy().into_owned(), "@IFQUERY@"),
                (state.to_string_lossy().into_owned(), "@STATE@"),
                (dir.to_string_lossy().into_owned(), DIR_PLACEHOLDER),
            ];
            let shown_args = mask(&format!("ifquery {}", run_args.join(" ")), &subst);
            match (debian_outcome, ours_outcome) {
                (Ok(expected), Ok(got)) if expected == got => passed += 1,
                (Ok(expected), Ok(got)) => {
                    failed += 1;
                    let mut detail = String::new();
                    if expected.status != got.status {
                        let _ = writeln!(
                            detail,
                            "  status: Debian {}, ours {}",
                            expected.status, got.status
                        );
                    }
                    for (stream, e, g) in [
                        ("stdout", &expected.stdout, &got.stdout),
                        ("stderr", &expected.stderr, &got.stderr),
                    ] {
                        if e != g {
                            let _ = write!(
                                detail,
                                "  {stream}:\n    Debian:\n{}    ours:\n{}",
                                render(e, &subst),
                                render(g, &subst)
                            );
                        }
                    }
                    mismatches.push(Mismatch {
                        file: name.clone(),
                        args: shown_args,
                        detail,
                    });
                }
                (Err(e), _) => {
                    failed += 1;
                    mismatches.push(Mismatch {
                        file: name.clone(),
                        args: shown_args,
                        detail: format!("  harness error running Debian's ifquery: {e}\n"),
                    });
                }
                (_, Err(e)) => {
                    failed += 1;
                    mismatches.push(Mismatch {
                        file: name.clone(),
                        args: shown_args,
                        detail: format!("  harness error running our ifquery: {e}\n"),
                    });
                }
            }
        }
    }

    println!("{passed} passed, {failed} failed");
    if !mismatches.is_empty() {
        let mut report = format!(
            "{} of {} ifquery invocations differ from Debian's ifquery \
             (each run as `@IFQUERY@ -i @DIR@/FILE --state-dir=@STATE@ ARGS`, \
             @IFQUERY@ a symlink to the binary):\n",
            failed,
            passed + failed
        );
        for m in &mismatches {
            let _ = write!(report, "\n--- {}: {}\n{}", m.file, m.args, m.detail);
        }
        panic!("{report}");
    }
}

#[test]
fn directives_are_read_from_comment_lines() {
    let d = parse_directives(
        "# RUN: -l -a\r\n# RUN:\n#RUN: not-a-directive\n  # RUN: nor this\n\
         # RUN-UB: x\n# SETUP: ip link add veth0 type veth peer name veth1\n\
         # ENV: EXCLUDE_INTERFACES=eth1\twlan*\niface eth0 inet manual\n",
    )
    .expect("valid directives");
    let runs: Vec<(Vec<&str>, bool)> = d
        .runs
        .iter()
        .map(|(a, ub)| (a.iter().map(String::as_str).collect(), *ub))
        .collect();
    assert_eq!(
        runs,
        vec![
            (vec!["-l", "-a"], false),
            (vec![], false),
            (vec!["x"], true)
        ]
    );
    assert_eq!(d.setup, ["ip link add veth0 type veth peer name veth1"]);
    assert_eq!(
        d.env,
        [("EXCLUDE_INTERFACES".to_owned(), "eth1\twlan*".to_owned())]
    );
    assert!(parse_directives("iface eth0 inet manual\n").is_err());
    assert!(parse_directives("# RUN: eth0\n# ENV: NOEQUALS\n").is_err());
    assert_eq!(
        replace_bytes(b"a @DIR@/x @DIR@", b"@DIR@", b"/tmp/t"),
        b"a /tmp/t/x /tmp/t"
    );
}
