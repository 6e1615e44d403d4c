//! docs/SECURITY.md, rule by rule, tried as someone without root would try
//! it: `nobody` (setpriv), `nobody` holding CAP_NET_ADMIN, a member of the
//! `--admin-group`, and the attack of a client that execs a setuid program
//! after connect(). Each test runs netconfd in a namespace of its own.

use netconf_tests::{
    bins, private_mounts, run, sh_quote, spawn_lines, wait_until, DaemonOptions, Harness, Out,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const NOBODY: &str = "65534";
/// The admin group of these tests: a gid no group of the machine needs to have.
const ADMINS: &str = "4242";

const STATIC_V0: &str = "iface v0 inet static\n    address 198.51.100.10/24\n";

/// What an attacker's own interfaces file asks root to run.
fn attack_file(h: &Harness) -> (PathBuf, PathBuf) {
    let dir = h.path("attack");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let proof = dir.join("ran-as");
    let file = dir.join("interfaces");
    let text = format!(
        "iface v0 inet manual\n    pre-up id > {p}\n    up id > {p}\n",
        p = proof.display()
    );
    fs::write(&file, text).unwrap();
    (file, proof)
}

fn assert_never_ran(proof: &Path) {
    assert!(
        !proof.exists(),
        "the attacker's command ran: {}",
        fs::read_to_string(proof).unwrap_or_default()
    );
}

/// `setpriv` as uid `nobody` (gid `nobody` and no other groups unless
/// `extra` says otherwise: `--regid`, `--groups`, caps), then `program args`.
fn as_user(program: &Path, extra: &[&str], args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", NOBODY]);
    if !extra.contains(&"--regid") {
        c.args(["--regid", NOBODY]);
    }
    if !extra
        .iter()
        .any(|a| *a == "--groups" || *a == "--clear-groups")
    {
        c.arg("--clear-groups");
    }
    c.args(extra)
        .arg("--")
        .arg(program)
        .args(args)
        .env_remove("NETCONF_SOCKET")
        .current_dir("/");
    c
}

/// A client of the harness's daemon (`--socket` first), run by [`as_user`].
fn client_as(h: &Harness, program: &Path, extra: &[&str], args: &[&str]) -> Out {
    let program = h.public_copy(program);
    let socket = h.socket();
    let mut all = vec!["--socket", socket.to_str().unwrap()];
    all.extend_from_slice(args);
    run(as_user(&program, extra, &all))
}

/// One raw request line as that user; the daemon's final reply.
fn raw_request_as(h: &Harness, extra: &[&str], request: &str) -> Value {
    let helper = h.public_copy(Path::new(env!("CARGO_BIN_EXE_raw-request")));
    let socket = h.socket();
    let out = run(as_user(
        &helper,
        extra,
        &[socket.to_str().unwrap(), request],
    ));
    out.assert_ok();
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn assert_denied(reply: &Value, needle: &str) {
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "permission-denied", "{reply}");
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "expected {needle:?} in: {reply}");
}

fn dhcp_event(token: &str) -> String {
    format!(
        r#"{{"version":1,"id":9,"op":"dhcp-event","args":{{"token":"{token}","interface":"v0","reason":"BOUND","env":[["reason","BOUND"],["interface","v0"],["new_ip_address","198.51.100.66"],["new_subnet_mask","255.255.255.0"]]}}}}"#
    )
}

fn ifup_request(file: &Path) -> String {
    format!(
        r#"{{"version":1,"id":7,"op":"ifup","args":{{"targets":["v0"],"interfaces":"{}"}}}}"#,
        file.display()
    )
}

// ---------------------------------------------------------------------------
// 1. the attack: connect, fork, exec a setuid program, finish from the child

#[test]
fn setuid_exec_after_connect_is_refused_under_load() {
    const ATTEMPTS: usize = 40;
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.veth("v1");
    h.write_interfaces("iface v1 inet static\n    address 198.51.100.20/24\n");
    let (file, proof) = attack_file(&h);
    let helper = h.public_copy(Path::new(env!("CARGO_BIN_EXE_raw-request")));
    let suid = h.path("suid");
    fs::create_dir_all(&suid).unwrap();

    // Keep the daemon busy: root takes v1 up and down, and a crowd asks
    // for status, all the time the attack runs.
    let stop = Arc::new(AtomicBool::new(false));
    let busy = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    {
        let (stop, busy) = (stop.clone(), busy.clone());
        let (up, down) = (h.ifup_cmd(&["v1"]), h.ifdown_cmd(&["v1"]));
        let (up, down) = (command_again(&up), command_again(&down));
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                run(up()).assert_ok();
                run(down()).assert_ok();
                busy.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for _ in 0..4 {
        let (stop, busy, socket) = (stop.clone(), busy.clone(), h.socket());
        load.push(std::thread::spawn(move || {
            let mut conn = netconf_tests::RawConn::connect(&socket);
            while !stop.load(Ordering::Relaxed) {
                let r = conn.request(r#"{"version":1,"id":1,"op":"status"}"#);
                assert_eq!(r["type"], "ok", "{r}");
                busy.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // The setuid-root program: a copy of sleep on a tmpfs of a private
    // mount namespace (whatever the options of the test's directory).
    let requests = [
        ifup_request(&file),
        r#"{"version":1,"id":8,"op":"reload"}"#.to_string(),
        dhcp_event("not-a-token"),
    ];
    let mut script = String::new();
    for i in 0..ATTEMPTS {
        script.push_str(&format!(
            "echo \"$(setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups {helper} {socket} \
             {request} {suid}/setuid-sleep 60 2>&1)\" | tr '\\n' ' '; echo\n",
            helper = sh_quote(&helper.to_string_lossy()),
            socket = sh_quote(&h.socket().to_string_lossy()),
            request = sh_quote(&requests[i % requests.len()]),
            suid = sh_quote(&suid.to_string_lossy()),
        ));
    }
    let mounts = format!(
        "mount -t tmpfs -o mode=0755 netconf-suid {d}\ncp /bin/sleep {d}/setuid-sleep\nchmod 4755 {d}/setuid-sleep",
        d = sh_quote(&suid.to_string_lossy())
    );
    let prefix = private_mounts(&mounts);
    let mut attack = Command::new(&prefix[0]);
    attack.args(&prefix[1..]).args(["/bin/sh", "-c", &script]);
    let out = run(attack);
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().expect("a load thread failed");
    }
    out.assert_ok();

    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), ATTEMPTS, "one line per attempt:\n{out}");
    for (i, line) in lines.iter().enumerate() {
        // The reply the child printed (the exit status is the setuid
        // program's, which the child killed).
        let reply: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("attempt {i} got no reply ({e}): {line}"));
        let needle = match i % requests.len() {
            0 => "ifup changes the network, which needs root",
            1 => "reload changes the network, which needs root",
            _ => "DHCP events come from root's DHCP clients only",
        };
        assert_denied(&reply, needle);
    }
    assert!(
        busy.load(Ordering::Relaxed) > 0,
        "the load never got a request through"
    );
    assert_never_ran(&proof);
    assert!(!h.ns.is_up("v0"), "v0 was brought up");
    assert!(
        !h.state().iter().any(|l| l.starts_with("v0=")),
        "{:?}",
        h.state()
    );
}

/// A way to build `cmd` again (a Command is not Clone).
fn command_again(cmd: &Command) -> impl Fn() -> Command + Send + 'static {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    move || {
        let mut c = Command::new(&program);
        c.args(&args).env_remove("NETCONF_SOCKET").current_dir("/");
        c
    }
}

// ---------------------------------------------------------------------------
// 2. anyone may look; only root changes the network

#[test]
fn others_may_look_but_not_change() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(STATIC_V0);
    let b = bins();
    let denied = "permission denied: ifup changes the network, which needs root";

    for args in [&["v0"][..], &["-n", "v0"], &["-a"]] {
        let out = client_as(&h, &b.ifup, &[], args);
        out.assert_code(4);
        out.assert_output_contains(denied);
    }
    // A member of a group is nobody special without --admin-group.
    let out = client_as(&h, &b.ifup, &["--groups", ADMINS], &["v0"]);
    out.assert_code(4);
    out.assert_output_contains(denied);
    let out = client_as(&h, &b.ifreload, &[], &["-a"]);
    out.assert_code(4);
    out.assert_output_contains("permission denied: reload changes the network");
    assert!(!h.ns.is_up("v0"), "v0 came up");
    assert!(h.state().is_empty(), "{:?}", h.state());

    // Root's ifup; then nobody may not take it down, nor feed it a lease.
    h.write_hook(
        "if-up.d",
        "tell",
        "#!/bin/sh\necho \"hook says $IFACE is up\"\n",
    );
    let (mut root_monitor, root_lines) = spawn_lines(netconfctl(&h, &["monitor"], None));
    let (mut user_monitor, user_lines) = spawn_lines(netconfctl(
        &h,
        &["monitor"],
        Some(&h.public_copy(&b.netconfctl)),
    ));
    for lines in [&root_lines, &user_lines] {
        lines_until(lines, |l| l.contains("watching requests"));
    }
    h.ifup(&["v0"]).assert_ok();
    let out = client_as(&h, &b.ifdown, &[], &["v0"]);
    out.assert_code(4);
    out.assert_output_contains("permission denied: ifdown changes the network");
    assert_denied(
        &raw_request_as(&h, &[], &dhcp_event("anything")),
        "DHCP events come from root's DHCP clients only",
    );
    assert_eq!(
        h.ns.global_addrs("v0"),
        BTreeSet::from(["198.51.100.10/24".to_string()])
    );

    // Both monitors saw the request; only root's saw what the hook printed.
    lines_until(&root_lines, |l| l.contains("hook says v0 is up"));
    let user_saw = lines_until(&user_lines, |l| l.contains("ifup v0: done"));
    assert!(
        user_saw
            .iter()
            .any(|l| l.contains("request") && l.contains("ifup v0")),
        "{user_saw:#?}"
    );
    assert!(
        !user_saw.iter().any(|l| l.contains("hook says")),
        "a user's monitor saw root's hook output: {user_saw:#?}"
    );
    let _ = root_monitor.kill();
    let _ = user_monitor.kill();
    let _ = root_monitor.wait();
    let _ = user_monitor.wait();

    // Looking is for everyone.
    let out = client_as(&h, &b.netconfctl, &[], &["status", "v0"]);
    out.assert_ok();
    out.assert_output_contains("198.51.100.10/24");
    client_as(
        &h,
        &b.netconfctl,
        &[],
        &["wait-online", "--timeout", "30", "v0"],
    )
    .assert_ok();
    let ifquery = h.public_copy(&b.ifquery);
    let run_dir = h.run_dir();
    let out = run(as_user(
        &ifquery,
        &[],
        &["--state", "--state-dir", run_dir.to_str().unwrap()],
    ));
    out.assert_ok();
    assert_eq!(out.stdout, "v0=v0\n", "{out}");
    let ping = raw_request_as(&h, &[], r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(ping["type"], "ok", "{ping}");
}

fn netconfctl(h: &Harness, args: &[&str], as_nobody: Option<&Path>) -> Command {
    let socket = h.socket();
    let mut all = vec!["--socket", socket.to_str().unwrap()];
    all.extend_from_slice(args);
    match as_nobody {
        Some(program) => as_user(program, &[], &all),
        None => {
            let mut c = Command::new(&bins().netconfctl);
            c.args(&all).env_remove("NETCONF_SOCKET");
            c
        }
    }
}

/// The lines up to and including the first that satisfies `want`.
fn lines_until(
    lines: &std::sync::mpsc::Receiver<String>,
    want: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + netconf_tests::WAIT_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = want(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("the line never came (safety net); seen: {seen:#?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// 3. CAP_NET_ADMIN without root is not root

#[test]
fn net_admin_capability_without_root_is_refused() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(STATIC_V0);
    let caps = ["--inh-caps", "+net_admin", "--ambient-caps", "+net_admin"];
    // The client really holds the capability.
    let out = run(as_user(
        Path::new("/bin/grep"),
        &caps,
        &["CapEff", "/proc/self/status"],
    ));
    out.assert_ok();
    let eff = u64::from_str_radix(out.stdout.trim_start_matches("CapEff:").trim(), 16).unwrap();
    assert_ne!(eff & (1 << 12), 0, "no CAP_NET_ADMIN: {out}");

    let out = client_as(&h, &bins().ifup, &caps, &["v0"]);
    out.assert_code(4);
    out.assert_output_contains("permission denied: ifup changes the network, which needs root");
    assert!(!h.ns.is_up("v0"));
    let (file, proof) = attack_file(&h);
    assert_denied(
        &raw_request_as(&h, &caps, &ifup_request(&file)),
        "needs root",
    );
    assert_never_ran(&proof);
}

// ---------------------------------------------------------------------------
// 4. the admin group: root's file, nothing that names commands

#[test]
fn admin_group_members_change_the_network_with_roots_file_only() {
    let h = Harness::with_options(DaemonOptions {
        admin_group: Some(ADMINS.into()),
        ..Default::default()
    });
    h.ns.veth("v0");
    h.write_interfaces(STATIC_V0);
    let b = bins();
    let supplementary = ["--groups", ADMINS];
    let primary = ["--regid", ADMINS, "--clear-groups"];

    // Up with the daemon's file, named or not; down as a primary-group member.
    client_as(&h, &b.ifup, &supplementary, &["v0"]).assert_ok();
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));
    let own = h.path("interfaces");
    client_as(
        &h,
        &b.ifdown,
        &primary,
        &["-i", own.to_str().unwrap(), "v0"],
    )
    .assert_ok();
    assert!(h.ns.global_addrs("v0").is_empty());
    assert!(h.state().is_empty());

    // Commands of the member's choosing: refused, nothing runs.
    let (file, proof) = attack_file(&h);
    let out = client_as(
        &h,
        &b.ifup,
        &supplementary,
        &["-i", file.to_str().unwrap(), "v0"],
    );
    out.assert_code(4);
    out.assert_output_contains("only root may name an interfaces file");
    let out = client_as(
        &h,
        &b.ifup,
        &supplementary,
        &["-o", &format!("up=id > {}", proof.display()), "v0"],
    );
    out.assert_code(4);
    out.assert_output_contains("only root may set options on the command line");
    assert_denied(
        &raw_request_as(&h, &supplementary, &dhcp_event("anything")),
        "DHCP events come from root's DHCP clients only",
    );
    // A name with `/` is a pattern (Debian's), matched against existing
    // links: no file name is ever made of it.
    client_as(&h, &b.ifup, &supplementary, &["../../x=v0"]).assert_ok();
    assert_never_ran(&proof);
    assert!(!h.ns.is_up("v0"));

    // ifreload as a member brings up what is auto.
    h.write_interfaces(&format!("auto v0\n{STATIC_V0}"));
    client_as(&h, &b.ifreload, &supplementary, &["-a"]).assert_ok();
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));
    client_as(&h, &b.ifdown, &supplementary, &["v0"]).assert_ok();

    // A file others than root may change is root's only.
    fs::set_permissions(&own, fs::Permissions::from_mode(0o664)).unwrap();
    let out = client_as(&h, &b.ifup, &supplementary, &["v0"]);
    out.assert_code(4);
    out.assert_output_contains("may be changed by others than root");
    let out = client_as(&h, &b.ifreload, &supplementary, &["-a"]);
    out.assert_code(4);
    out.assert_output_contains("may be changed by others than root");
    assert!(!h.ns.is_up("v0"));
    h.ifup(&["v0"]).assert_ok();
}

#[test]
fn an_unknown_admin_group_stops_netconfd_at_start() {
    let h = Harness::new();
    let mut c = Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&bins().netconfd)
        .arg("--socket")
        .arg(h.path("other.sock"))
        .arg("--run-dir")
        .arg(h.path("other-run"))
        .arg("--state-dir")
        .arg(h.path("other-lib"))
        .args(["--admin-group", "no-such-group-of-netconf"]);
    let out = run(c);
    out.assert_code(1);
    out.assert_output_contains("--admin-group no-such-group-of-netconf: no such group");
    assert!(!h.path("other.sock").exists());
}

// ---------------------------------------------------------------------------
// 5. a user's process that calls itself dhclient is not one

#[test]
fn a_users_process_named_dhclient_is_not_a_dhclient() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(STATIC_V0);
    // A shell named dhclient, with v0 where dhclient names its interface.
    let fake = h.path("bin/dhclient");
    fs::create_dir_all(h.path("bin")).unwrap();
    fs::copy("/bin/sh", &fake).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new("ip");
    c.args(["netns", "exec", h.ns.name(), "setpriv", "--reuid", NOBODY])
        .args(["--regid", NOBODY, "--clear-groups", "--"])
        .arg(&fake)
        .args(["-c", "sleep 120; :", "v0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut fake_dhclient = c.spawn().expect("starting the fake dhclient");
    let pid = fake_dhclient.id();
    wait_until("the fake dhclient to run", || {
        fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.ends_with(b"v0\0"))
    });

    let out = h.ifup(&["v0"]);
    // SAFETY: kill has no memory-safety preconditions; the group is the one
    // our unreaped child leads (its sleep included).
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
    let _ = fake_dhclient.wait();
    out.assert_ok();
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));
}
