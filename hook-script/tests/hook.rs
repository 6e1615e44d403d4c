//! The built `netconf-dhcp-hook` against a stand-in daemon, with the real
//! dhclient environments of `tests/fixtures/` and the dhcpcd and udhcpc ones
//! of `methods/tests/fixtures/`.
//!
//! The hook is started through `env -i NAME=VALUE... hook` rather than
//! `Command::envs`, because std sorts the variables it passes while
//! dhclient does not, and the hook must forward them in the order it got.

use netconf_ctlsock_proto::{
    encode, parse_request, ErrorCode, ErrorReply, Op, Progress, Request, Response,
};
use serde_json::json;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const HOOK: &str = env!("CARGO_BIN_EXE_netconf-dhcp-hook");

type Env = Vec<(OsString, OsString)>;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every fixture, by file name, with its variables in file order.
fn fixtures() -> Vec<(String, Env)> {
    fixtures_in(&fixtures_dir(), 19)
}

/// The captures of dhcpcd (`"dhcpcd"`) or udhcpc (`"udhcpc"`), kept with
/// the lease readers in `methods/tests/fixtures/<client>-env/` (see their
/// READMEs): the same format as ours, sorted.
fn client_fixtures_dir(client: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../methods/tests/fixtures")
        .join(format!("{client}-env"))
}

/// Every `.env` file of `dir`, by file name, with its variables in file
/// order; at least `expected` of them.
fn fixtures_in(dir: &Path, expected: usize) -> Vec<(String, Env)> {
    let mut out: Vec<(String, Env)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("env")))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, read_env(&p))
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= expected,
        "fixtures missing from {}",
        dir.display()
    );
    out
}

/// A udhcpc capture split into udhcpc's environment and its event: the
/// capture added `ARGV1=<event>` for the script's `$1`, which udhcpc passes
/// as an argument, never as a variable.
fn udhcpc_call(name: &str, mut env: Env) -> (Env, String) {
    let at: Vec<usize> = (0..env.len()).filter(|&i| env[i].0 == "ARGV1").collect();
    assert_eq!(at.len(), 1, "{name}: one ARGV1 line");
    let (_, event) = env.remove(at[0]);
    (env, event.to_string_lossy().into_owned())
}

fn read_env(path: &Path) -> Env {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let eq = line.iter().position(|&b| b == b'=').expect("KEY=VALUE");
            (
                OsString::from_vec(line[..eq].to_vec()),
                OsString::from_vec(line[eq + 1..].to_vec()),
            )
        })
        .collect()
}

fn fixture(name: &str) -> Env {
    read_env(&fixtures_dir().join(name))
}

/// One capture of `client_fixtures_dir(client)`.
fn fixture_of(client: &str, name: &str) -> Env {
    read_env(&client_fixtures_dir(client).join(name))
}

/// Gives the variable `name`, which must be there, another value, in place.
fn set(env: &mut Env, name: &str, value: &str) {
    let (_, v) = env
        .iter_mut()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name}"));
    *v = value.into();
}

fn var(env: &Env, name: &str) -> String {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.to_string_lossy().into_owned())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn pair(k: &str, v: impl AsRef<OsStr>) -> (OsString, OsString) {
    (k.into(), v.as_ref().to_owned())
}

fn as_strings(env: &Env) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

fn command(env: &Env) -> Command {
    let mut cmd = Command::new("env");
    cmd.env_clear().arg("-i");
    for (k, v) in env {
        let mut arg = k.clone();
        arg.push("=");
        arg.push(v);
        cmd.arg(arg);
    }
    cmd.arg(HOOK);
    cmd
}

fn run(env: &Env) -> Output {
    command(env).output().expect("run the hook through env -i")
}

/// As [`run`], with `argument` as the hook's first argument (udhcpc's event).
fn run_with(env: &Env, argument: &str) -> Output {
    command(env)
        .arg(argument)
        .output()
        .expect("run the hook through env -i")
}

fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed: {out:?}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What the stand-in daemon does with each connection, in turn.
#[derive(Clone)]
enum Answer {
    /// `ok` with `{"exit": N}`.
    Exit(i64),
    /// Two progress lines, then `ok` with `{"exit": N}`.
    ProgressThenExit(i64),
    /// An `error` reply.
    Error(ErrorCode, &'static str),
    /// This line, verbatim (newline added).
    Raw(&'static str),
    /// Read the request, close without answering (a daemon restarting).
    Hangup,
    /// Read the request, never answer; wait for the hook to go.
    Silence,
}

struct Daemon {
    requests: mpsc::Receiver<Request>,
}

impl Daemon {
    /// The requests received so far, waiting a little for the first.
    fn received(&self) -> Vec<Request> {
        let mut out: Vec<Request> = self.requests.try_iter().collect();
        if out.is_empty() {
            out.extend(self.requests.recv_timeout(Duration::from_secs(2)).ok());
        }
        out
    }

    fn nothing_received(&self) -> bool {
        self.requests.try_recv().is_err()
    }
}

/// Serves `answers` on `listener`, one connection each, then stops listening.
fn serve(listener: UnixListener, answers: Vec<Answer>) -> Daemon {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for answer in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).unwrap();
            let request = parse_request(line.strip_suffix(b"\n").unwrap_or(&line))
                .unwrap_or_else(|e| panic!("the hook sent a bad request: {e}"));
            let id = request.id;
            let _ = tx.send(request);
            let mut writer = stream;
            let reply = |r: Response| encode(&r);
            let bytes = match answer {
                Answer::Exit(n) => reply(Response::ok(id, json!({ "exit": n }))),
                Answer::ProgressThenExit(n) => {
                    let progress = |m: &str| {
                        reply(Response::progress(
                            id,
                            Progress {
                                iface: Some("cli0".into()),
                                event: Some(4),
                                step: "address".into(),
                                stream: None,
                                message: m.into(),
                            },
                        ))
                    };
                    let mut out = progress("cli0: added 198.18.0.126/24");
                    out.extend(progress("cli0: added default via 198.18.0.1"));
                    out.extend(reply(Response::ok(id, json!({ "exit": n }))));
                    out
                }
                Answer::Error(code, message) => {
                    reply(Response::error(id, ErrorReply::new(code, message)))
                }
                Answer::Raw(line) => format!("{line}\n").into_bytes(),
                Answer::Hangup => continue,
                Answer::Silence => {
                    // Until the hook closes its end.
                    let _ = reader.read_until(b'\n', &mut Vec::new());
                    continue;
                }
            };
            let _ = writer.write_all(&bytes);
        }
    });
    Daemon { requests: rx }
}

fn daemon(answers: Vec<Answer>) -> (tempfile::TempDir, PathBuf, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let d = serve(listener, answers);
    (dir, path, d)
}

/// dhclient's `-e` variables first, as dhclient puts them, then the fixture.
fn with_socket(socket: &Path, env: Env) -> Env {
    let mut out = vec![pair("NETCONF_SOCKET", socket)];
    out.extend(env);
    out
}

fn dhcp_args(request: &Request) -> &netconf_ctlsock_proto::DhcpEventArgs {
    match &request.op {
        Op::DhcpEvent(args) => args,
        other => panic!("expected dhcp-event, got {other:?}"),
    }
}

#[test]
fn every_fixture_is_posted_whole_and_the_verdict_is_the_exit_status() {
    for (i, (name, env)) in fixtures().into_iter().enumerate() {
        let verdict = [0, 1, 2][i % 3];
        let (_dir, socket, daemon) = daemon(vec![Answer::Exit(verdict)]);
        let env = with_socket(&socket, env);
        let out = run(&env);
        assert_eq!(code(&out), verdict as i32, "{name}: {}", stderr(&out));

        let requests = daemon.received();
        assert_eq!(requests.len(), 1, "{name}");
        let args = dhcp_args(&requests[0]);
        assert_eq!(args.reason, var(&env, "reason"), "{name}");
        assert!(name.ends_with(&format!("-{}.env", args.reason)), "{name}");
        assert_eq!(args.interface, "cli0", "{name}");
        assert_eq!(args.token, "abc123", "{name}");
        assert_eq!(args.env, as_strings(&env), "{name}");
        if verdict == 0 {
            assert_eq!(stderr(&out), "", "{name}");
        } else {
            assert!(
                stderr(&out).contains(&format!(
                    "cli0 {}: netconfd asks for exit status {verdict}",
                    args.reason
                )),
                "{name}: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn verdicts_become_exit_statuses() {
    for (verdict, status) in [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 3),
        (255, 255),
        (300, 255),
        (-5, 0),
    ] {
        let (_dir, socket, _daemon) = daemon(vec![Answer::Exit(verdict)]);
        let out = run(&with_socket(&socket, fixture("v4-02-BOUND.env")));
        assert_eq!(code(&out), status, "verdict {verdict}: {}", stderr(&out));
    }
}

#[test]
fn the_order_dhclient_used_is_kept() {
    // dhclient's own order is not sorted: `-e` variables first, then the
    // ones it adds, newest first, and PATH last. Reversed, the fixture is
    // just as unsorted.
    let mut env = fixture("v4-06-RENEW.env");
    env.reverse();
    let (_dir, socket, daemon) = daemon(vec![Answer::Exit(0)]);
    let env = with_socket(&socket, env);
    assert_eq!(code(&run(&env)), 0);
    let requests = daemon.received();
    let sent = &dhcp_args(&requests[0]).env;
    assert_eq!(sent, &as_strings(&env));
    assert_eq!(sent.last().unwrap().0, "NETCONF_TOKEN");
}

#[test]
fn progress_lines_are_skipped() {
    let (_dir, socket, _daemon) = daemon(vec![Answer::ProgressThenExit(1)]);
    let out = run(&with_socket(&socket, fixture("v4-02-BOUND.env")));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

#[test]
fn absent_daemon_means_exit_0_after_the_retry_window() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.push(pair("NETCONF_HOOK_RETRY_MS", "300"));
    let start = Instant::now();
    let out = run(&env);
    let took = start.elapsed();
    assert_eq!(code(&out), 0);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let err = stderr(&out);
    assert!(
        err.starts_with("netconf-dhcp-hook: cli0 BOUND: netconfd is not running (no socket at "),
        "{err}"
    );
    // Every 100 ms: four attempts on a quiet machine, fewer if sleeps overrun.
    assert!(err.contains("; gave up after "), "{err}");
    assert!(err.ends_with(
        " s, exiting 0 (netconfd reconciles from the kernel and the lease file when it is back)\n"
    ), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_leftover_socket_with_nobody_listening_is_waited_for_too() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    drop(UnixListener::bind(&socket).unwrap());
    let mut env = with_socket(&socket, fixture("v4-01-PREINIT.env"));
    env.push(pair("NETCONF_HOOK_RETRY_MS", "200"));
    let out = run(&env);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("nothing is listening on"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_daemon_that_appears_within_the_window_gets_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.push(pair("NETCONF_HOOK_RETRY_MS", "10000"));
    let start = Instant::now();
    let hook = command(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(350));
    let daemon = serve(UnixListener::bind(&socket).unwrap(), vec![Answer::Exit(1)]);
    let out = hook.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(dhcp_args(&daemon.received()[0]).reason, "BOUND");
}

#[test]
fn a_restarting_daemon_gets_the_event_again() {
    // The first daemon reads the event and dies before answering, leaving
    // its socket file behind; the next one answers.
    let (_dir, socket, first) = daemon(vec![Answer::Hangup]);
    let mut env = with_socket(&socket, fixture("v6-02-BOUND6.env"));
    env.push(pair("NETCONF_HOOK_RETRY_MS", "10000"));
    let hook = command(&env).stderr(Stdio::piped()).spawn().unwrap();
    let got = first.received();
    assert_eq!(got.len(), 1);
    thread::sleep(Duration::from_millis(250));
    std::fs::remove_file(&socket).unwrap();
    let second = serve(UnixListener::bind(&socket).unwrap(), vec![Answer::Exit(3)]);
    let out = hook.wait_with_output().unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let again = second.received();
    assert_eq!(dhcp_args(&again[0]), dhcp_args(&got[0]));
}

#[test]
fn an_error_reply_means_exit_0() {
    let (_dir, socket, _daemon) = daemon(vec![Answer::Error(
        ErrorCode::NotConfigured,
        "no dhclient of netconf's runs on cli0 with that token",
    )]);
    let out = run(&with_socket(&socket, fixture("v4-02-BOUND.env")));
    assert_eq!(code(&out), 0);
    assert_eq!(
        stderr(&out),
        "netconf-dhcp-hook: cli0 BOUND: netconfd refused the event: no dhclient of netconf's runs on cli0 \
         with that token (not-configured); exiting 0\n"
    );
}

#[test]
fn replies_without_a_verdict_mean_exit_0() {
    for (answer, says) in [
        (r#"{"id":1,"type":"ok","result":null}"#, "holds no verdict"),
        (
            r#"{"id":1,"type":"ok","result":{"exit":"1"}}"#,
            "holds no verdict",
        ),
        ("garbage", "protocol error"),
        (
            r#"{"id":7,"type":"ok","result":{"exit":1}}"#,
            "reply for request 7",
        ),
    ] {
        let (_dir, socket, _daemon) = daemon(vec![Answer::Raw(answer)]);
        let out = run(&with_socket(&socket, fixture("v4-timeout-02-TIMEOUT.env")));
        assert_eq!(code(&out), 0, "{answer}");
        assert!(stderr(&out).contains(says), "{answer}: {}", stderr(&out));
    }
}

#[test]
fn a_silent_daemon_is_given_up_on() {
    let (_dir, socket, _daemon) = daemon(vec![Answer::Silence]);
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.push(pair("NETCONF_HOOK_TIMEOUT_MS", "200"));
    let start = Instant::now();
    let out = run(&env);
    assert_eq!(code(&out), 0);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        stderr(&out).contains("no reply from netconfd for 0.2 s"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn confusion_means_exit_0_and_nothing_posted() {
    let (_dir, socket, daemon) = daemon(vec![Answer::Exit(1)]);
    let s = || pair("NETCONF_SOCKET", &socket);
    let token = || pair("NETCONF_TOKEN", "abc123");
    let cases: Vec<(Env, &str)> = vec![
        (vec![], "no \"reason\" in the environment"),
        (
            vec![s(), token(), pair("interface", "cli0")],
            "no \"reason\" in the environment",
        ),
        (
            vec![s(), pair("REASON", "NBI")],
            "dhclient found no interface to configure (reason NBI)",
        ),
        (
            vec![s(), token(), pair("reason", "BOUND")],
            "reason BOUND without an \"interface\": not reported",
        ),
        (
            vec![
                s(),
                token(),
                pair("reason", "bound"),
                pair("interface", "cli0"),
            ],
            "unknown reason \"bound\" from dhclient: not reported",
        ),
        (
            vec![s(), pair("reason", "BOUND"), pair("interface", "cli0")],
            "cli0 BOUND: no NETCONF_TOKEN, so this dhclient was not started by netconfd",
        ),
        (
            vec![
                s(),
                token(),
                (
                    OsString::from("reason"),
                    OsString::from_vec(b"BOUND\xff".to_vec()),
                ),
                pair("interface", "cli0"),
            ],
            "unknown reason \"BOUND\u{fffd}\"",
        ),
    ];
    for (env, says) in cases {
        let out = run(&env);
        assert_eq!(code(&out), 0, "{says}");
        let err = stderr(&out);
        assert!(err.starts_with("netconf-dhcp-hook: "), "{err}");
        assert!(err.contains(says), "{says}: {err}");
        assert!(err.ends_with("(exiting 0)\n"), "{err}");
    }
    thread::sleep(Duration::from_millis(50));
    assert!(daemon.nothing_received());
}

#[test]
fn bytes_that_are_not_utf8_do_no_harm() {
    let (_dir, socket, daemon) = daemon(vec![Answer::Exit(2)]);
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.push((
        // Not in the fixture: `env -i` would merge a second one into the first.
        OsString::from("new_nis_domain"),
        OsString::from_vec(b"caf\xe9 \xff".to_vec()),
    ));
    env.push((
        OsString::from_vec(b"odd\x80name".to_vec()),
        OsString::from("1"),
    ));
    let out = run(&env);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let requests = daemon.received();
    let sent = &dhcp_args(&requests[0]).env;
    assert_eq!(sent.len(), env.len());
    assert_eq!(
        sent[sent.len() - 2],
        ("new_nis_domain".into(), "caf\u{fffd} \u{fffd}".into())
    );
    assert_eq!(sent[sent.len() - 1], ("odd\u{fffd}name".into(), "1".into()));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
}

#[test]
fn a_dead_stderr_changes_nothing() {
    // A netconfd that was reading dhclient's stderr and died leaves a pipe
    // with no reader: writing to it fails with EPIPE, which must not become
    // a panic (an abort, which dhclient would read as a failure).
    let (_dir, socket, _daemon) = daemon(vec![
        Answer::Exit(1),
        Answer::Error(ErrorCode::Internal, "oops"),
    ]);
    for (env, expected) in [
        (with_socket(&socket, fixture("v4-02-BOUND.env")), 1),
        (with_socket(&socket, fixture("v4-02-BOUND.env")), 0),
        (vec![pair("reason", "BOUND")], 0),
    ] {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(ours);
        let out = command(&env)
            .stderr(Stdio::from(OwnedFd::from(theirs)))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(expected), "{out:?}");
    }
}

#[test]
fn help_and_version() {
    let out = Command::new(HOOK).arg("--help").output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: netconf-dhcp-hook"));
    let out = Command::new(HOOK).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("netconf-dhcp-hook {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn fixtures_match_the_shared_captures() {
    // The copies stand alone; where the captures they came from are at hand
    // (`shared/` beside the repository, as in CI), they must not have drifted.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/dhclient-env");
    if !shared.is_dir() {
        eprintln!("{} not found: comparison skipped", shared.display());
        return;
    }
    let mut reasons = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&shared).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() == Some(OsStr::new("env")) {
            reasons.insert(var(&read_env(&path), "reason"));
        }
    }
    for (name, env) in fixtures() {
        let original = std::fs::read(shared.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            std::fs::read(fixtures_dir().join(&name)).unwrap(),
            original,
            "{name}"
        );
        reasons.remove(&var(&env, "reason"));
    }
    assert!(
        reasons.is_empty(),
        "reasons captured but not among the fixtures: {reasons:?}"
    );
}

// dhcpcd and udhcpc: the real environments of `methods/tests/fixtures/`.
// What a call costs is measured by `bench/dhcp-hook-cost.sh`
// (docs/PERFORMANCE.md), not here: no timings in these tests.

#[test]
fn every_dhcpcd_fixture_is_posted_whole_and_the_verdict_is_the_exit_status() {
    // dhcpcd ignores its script's exit status (`v4-exit1-*`), but the hook
    // does not know that: the verdict goes through as for dhclient.
    let all = fixtures_in(&client_fixtures_dir("dhcpcd"), 144);
    for (i, (name, env)) in all.into_iter().enumerate() {
        let verdict = [0, 1, 2][i % 3];
        let (_dir, socket, daemon) = daemon(vec![Answer::Exit(verdict)]);
        let env = with_socket(&socket, env);
        let out = run(&env);
        assert_eq!(code(&out), verdict as i32, "{name}: {}", stderr(&out));

        let requests = daemon.received();
        assert_eq!(requests.len(), 1, "{name}");
        let args = dhcp_args(&requests[0]);
        assert_eq!(args.client, "dhcpcd", "{name}");
        assert_eq!(args.reason, var(&env, "reason"), "{name}");
        assert!(name.ends_with(&format!("-{}.env", args.reason)), "{name}");
        assert_eq!(args.interface, "cli0", "{name}");
        assert_eq!(args.token, "abc123", "{name}");
        assert_eq!(args.env, as_strings(&env), "{name}");
        if verdict == 0 {
            assert_eq!(stderr(&out), "", "{name}");
        } else {
            assert!(
                stderr(&out).contains(&format!(
                    "cli0 {}: netconfd asks for exit status {verdict}",
                    args.reason
                )),
                "{name}: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn every_udhcpc_fixture_is_posted_with_its_event_last() {
    let all = fixtures_in(&client_fixtures_dir("udhcpc"), 31);
    for (i, (name, capture)) in all.into_iter().enumerate() {
        let (env, event) = udhcpc_call(&name, capture);
        assert!(name.ends_with(&format!("-{event}.env")), "{name}");
        let verdict = [0, 1, 2][i % 3];
        let (_dir, socket, daemon) = daemon(vec![Answer::Exit(verdict)]);
        let env = with_socket(&socket, env);
        let out = run_with(&env, &event);
        assert_eq!(code(&out), verdict as i32, "{name}: {}", stderr(&out));

        let requests = daemon.received();
        assert_eq!(requests.len(), 1, "{name}");
        let args = dhcp_args(&requests[0]);
        assert_eq!(args.client, "udhcpc", "{name}");
        assert_eq!(args.reason, event, "{name}");
        assert_eq!(args.interface, "cli0", "{name}");
        assert_eq!(args.token, "abc123", "{name}");
        // udhcpc's environment as it was, then the event the hook adds.
        let mut expected = as_strings(&env);
        expected.push(("ARGV1".into(), event.clone()));
        assert_eq!(args.env, expected, "{name}");
        if verdict == 0 {
            assert_eq!(stderr(&out), "", "{name}");
        } else {
            assert!(
                stderr(&out).contains(&format!(
                    "cli0 {event}: netconfd asks for exit status {verdict}"
                )),
                "{name}: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn unknown_dhcpcd_reasons_and_udhcpc_events_are_not_posted() {
    let (_dir, socket, daemon) = daemon(vec![Answer::Exit(1)]);

    // dhcpcd's own variables are there, so it is dhcpcd, with a reason it
    // never gives.
    let mut env = with_socket(&socket, fixture_of("dhcpcd", "v4-04-BOUND.env"));
    set(&mut env, "reason", "BOGUS");
    let out = run(&env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "netconf-dhcp-hook: unknown reason \"BOGUS\" from dhcpcd: not reported (exiting 0)\n"
    );

    // udhcpc's environment (no `reason`) with an argument that is none of
    // its events, or none at all.
    let (env, _) = udhcpc_call(
        "main-02-bound.env",
        fixture_of("udhcpc", "main-02-bound.env"),
    );
    let env = with_socket(&socket, env);
    for out in [
        run_with(&env, "bogus"),
        run_with(&env, "BOUND"),
        run_with(&env, ""),
        run(&env),
    ] {
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(
                "netconf-dhcp-hook: no \"reason\" in the environment and no udhcpc event as the argument"
            ),
            "{err}"
        );
        assert!(err.ends_with("(exiting 0)\n"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    thread::sleep(Duration::from_millis(50));
    assert!(daemon.nothing_received());
}

#[test]
fn dhcpcd_is_told_by_its_own_variables_even_under_a_dhclient_reason() {
    // By design: `if_up`, `if_down` and `ifcarrier` are dhcpcd's own (every
    // dhcpcd call has all three) and dhclient never sets any of them, so
    // with the three a `reason` is dhcpcd's, even one that both clients use
    // (BOUND). Only a dhclient started with `-e if_up=… -e if_down=… -e
    // ifcarrier=…` would be taken for dhcpcd, and netconfd never does that.
    let dhcpcd_vars = [
        pair("if_up", "true"),
        pair("if_down", "false"),
        pair("ifcarrier", "up"),
    ];
    let (_dir, socket, daemon) = daemon(vec![Answer::Exit(0), Answer::Exit(0)]);
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.extend(dhcpcd_vars.iter().cloned());
    let out = run(&env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let requests = daemon.received();
    assert_eq!(requests.len(), 1);
    let args = dhcp_args(&requests[0]);
    assert_eq!(args.client, "dhcpcd");
    assert_eq!(args.reason, "BOUND");
    assert_eq!(args.env, as_strings(&env));

    // Two of the three are not enough: still dhclient.
    let mut env = with_socket(&socket, fixture("v4-02-BOUND.env"));
    env.extend(dhcpcd_vars[..2].iter().cloned());
    let out = run(&env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let requests = daemon.received();
    assert_eq!(requests.len(), 1);
    assert_eq!(dhcp_args(&requests[0]).client, "dhclient");
    assert_eq!(dhcp_args(&requests[0]).reason, "BOUND");
}
