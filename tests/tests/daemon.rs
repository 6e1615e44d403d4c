//! End-to-end tests of the daemon core: netconfd runs inside a network
//! namespace of each test's own, `ifup`/`ifdown`/`ifquery` talk to it over
//! its socket from outside, and every assertion is about outcomes — exit
//! statuses, messages, and what the kernel holds (`ip -j ...`) — never about
//! how long something took (timeouts are only safety nets).
//!
//! Needs root. Run: `cargo build --bins && cargo test -p netconf-tests --test daemon`.

use netconf_tests::{
    bins, live_group_members, run, wait_until, DaemonOptions, Harness, Out, Running,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// One interface with everything `static` does in both families: two
/// addresses each, a default route with a metric, an MTU; `dad-attempts 0`
/// so that nothing waits for duplicate address detection.
const STATIC_V0: &str = "\
iface v0 inet static
    address 198.51.100.10/24
    address 198.51.100.11/24
    gateway 198.51.100.1
    metric 100
    mtu 1400

iface v0 inet6 static
    address 2001:db8:10::10/64
    address 2001:db8:10::11/64
    gateway 2001:db8:10::1
    metric 200
    dad-attempts 0
";

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn static_v0_addrs() -> BTreeSet<String> {
    set(&[
        "198.51.100.10/24",
        "198.51.100.11/24",
        "2001:db8:10::10/64",
        "2001:db8:10::11/64",
    ])
}

fn static_v0_routes() -> BTreeSet<String> {
    set(&[
        "-4 default via 198.51.100.1 dev v0 metric 100",
        "-6 default via 2001:db8:10::1 dev v0 metric 200",
    ])
}

/// A harness with the veth `v0` (peer up, v0 down) and [`STATIC_V0`].
fn static_v0_harness() -> Harness {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(STATIC_V0);
    h
}

/// The kernel holds exactly what [`STATIC_V0`] asks for, and netconf says so.
fn assert_static_v0_configured(h: &Harness) {
    let ns = &h.ns;
    assert_eq!(ns.global_addrs("v0"), static_v0_addrs(), "addresses of v0");
    assert_eq!(ns.netconf_routes(), static_v0_routes(), "netconf's routes");
    for (fam, gateway, metric) in [("-4", "198.51.100.1", 100), ("-6", "2001:db8:10::1", 200)] {
        let defaults = ns.default_routes(fam);
        assert_eq!(defaults.len(), 1, "default routes ({fam}): {defaults:?}");
        let r = &defaults[0];
        assert_eq!(r["gateway"], gateway, "default route ({fam}): {r}");
        assert_eq!(r["dev"], "v0", "default route ({fam}): {r}");
        assert_eq!(r["metric"], metric, "default route ({fam}): {r}");
        assert_eq!(
            r["protocol"].as_str(),
            Some(netconf_tests::NETCONF_PROTO),
            "default route ({fam}) must be tagged with netconf's protocol: {r}"
        );
    }
    let link = ns.link("v0");
    assert_eq!(link["mtu"], 1400, "mtu of v0: {link}");
    assert!(netconf_tests::has_flag(&link, "UP"), "v0 is not up: {link}");
    assert!(
        netconf_tests::has_flag(&link, "LOWER_UP"),
        "v0 has no carrier: {link}"
    );
    assert_eq!(h.state(), vec!["v0=v0"], "ifquery --state");
}

/// Nothing of netconf's is left on `dev`: no global address, no route of
/// protocol 93, the link down, not in the state.
fn assert_clean(h: &Harness, dev: &str) {
    let ns = &h.ns;
    assert_eq!(
        ns.global_addrs(dev),
        BTreeSet::new(),
        "addresses left on {dev}"
    );
    assert_eq!(ns.netconf_routes(), BTreeSet::new(), "netconf routes left");
    assert!(!ns.is_up(dev), "{dev} is still up: {}", ns.link(dev));
    let state = h.state();
    assert!(
        !state.iter().any(|l| l.starts_with(&format!("{dev}="))),
        "{dev} still in ifquery --state: {state:?}"
    );
}

// ---------------------------------------------------------------------------
// 1. static IPv4 + IPv6

#[test]
fn static_ipv4_and_ipv6_reach_the_kernel_exactly() {
    let h = static_v0_harness();
    assert!(!h.ns.is_up("v0"), "v0 must start down");
    h.ifup(&["v0"]).assert_ok();
    assert_static_v0_configured(&h);
}

// ---------------------------------------------------------------------------
// 2. a second ifup changes nothing; --force re-applies by diff, writing nothing

#[test]
fn second_ifup_and_force_write_nothing() {
    let h = static_v0_harness();
    h.ifup(&["v0"]).assert_ok();
    assert_static_v0_configured(&h);
    // Let the kernel finish what it does by itself after a link goes up
    // (carrier, link-local address, DAD), so the monitor sees only us.
    h.ns.settle();
    let before = h.ns.snapshot("v0");
    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);

    let again = h.ifup(&["v0"]);
    again.assert_ok();
    again.assert_output_contains("already configured");
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "a second `ifup v0` changed the kernel:\n{}\n{again}",
        events.join("\n")
    );

    let forced = h.ifup(&["--force", "v0"]);
    forced.assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "`ifup --force v0` on a configured v0 wrote to the kernel:\n{}\n{forced}",
        events.join("\n")
    );
    assert_eq!(h.ns.snapshot("v0"), before, "v0 changed");
    assert_static_v0_configured(&h);
}

// ---------------------------------------------------------------------------
// 3. ifdown takes out exactly what netconf put in

#[test]
fn ifdown_removes_what_ifup_added_and_nothing_else() {
    let h = static_v0_harness();
    h.ns.veth("w0");
    h.ns.ip(&["addr", "add", "203.0.113.5/24", "dev", "w0"]);
    h.ns.ip(&["link", "set", "w0", "up"]);
    h.ifup(&["v0"]).assert_ok();
    assert_static_v0_configured(&h);

    h.ifdown(&["v0"]).assert_ok();
    assert_clean(&h, "v0");
    assert!(h.state().is_empty(), "state after ifdown: {:?}", h.state());
    assert_eq!(
        h.ns.global_addrs("w0"),
        set(&["203.0.113.5/24"]),
        "the hand-made address on w0 was touched"
    );
    assert!(h.ns.is_up("w0"), "w0 was taken down");
}

// ---------------------------------------------------------------------------
// 4. failing hooks: nothing left behind

#[test]
fn failing_pre_up_leaves_nothing_behind() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(
        "\
iface v0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
    mtu 1400
    pre-up false
",
    );
    let out = h.ifup(&["v0"]);
    out.assert_code(1);
    out.assert_output_contains("pre-up command `false`");
    out.assert_output_contains("v0");
    assert_clean(&h, "v0");
    assert_eq!(h.ns.mtu("v0"), 1500, "the mtu was changed");
}

#[test]
fn failing_up_command_rolls_back() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces(
        "\
iface v0 inet static
    address 198.51.100.10/24
    address 198.51.100.11/24
    gateway 198.51.100.1
    mtu 1400
    up ip -4 addr show dev v0 | grep -q 198.51.100.11 && exit 7
",
    );
    let out = h.ifup(&["v0"]);
    out.assert_code(1);
    // Status 7 only if the command saw the addresses: they were applied.
    out.assert_output_contains("command `ip -4 addr show dev v0");
    out.assert_output_contains("exited with status 7");
    assert_clean(&h, "v0");
    assert_eq!(h.ns.mtu("v0"), 1500, "the mtu was not restored");
}

// ---------------------------------------------------------------------------
// 5. a hung hook is killed, with its whole process group

/// Kills a hook's process group if the test fails while it lives.
struct GroupReaper(Option<i32>);

impl Drop for GroupReaper {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            if thread::panicking() && !live_group_members(pgid).is_empty() {
                // SAFETY: kill has no memory-safety preconditions; the group
                // is the hook's, still alive.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn hung_hook_times_out_and_its_process_group_is_killed() {
    let h = Harness::with_options(DaemonOptions {
        hook_timeout: Some(2),
        ..Default::default()
    });
    // v0 through ifup (the message), v1 through a raw request (the code),
    // at the same time.
    let mut config = String::new();
    for (dev, addr) in [("v0", "198.51.100.10/24"), ("v1", "203.0.113.10/24")] {
        h.ns.veth(dev);
        config.push_str(&format!(
            "iface {dev} inet static\n    address {addr}\n    \
             pre-up echo $$ > {}; sleep 1001 & exec sleep 1000\n\n",
            h.path(&format!("hook-{dev}.pid")).display()
        ));
    }
    h.write_interfaces(&config);
    let ifup = Running::spawn(h.ifup_cmd(&["v0"]));
    let mut conn = h.connect();
    let raw = thread::spawn(move || {
        conn.request(r#"{"version":1,"id":1,"op":"ifup","args":{"targets":["v1"]}}"#)
    });

    // While the hooks hang: each is a process group of two (the shell, now
    // `sleep 1000`, and the background `sleep 1001`).
    let mut reapers = Vec::new();
    let mut groups = Vec::new();
    for dev in ["v0", "v1"] {
        let pidfile = h.path(&format!("hook-{dev}.pid"));
        let mut pgid = 0;
        wait_until(&format!("the {dev} hook to start"), || {
            pgid = fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pgid > 0 && live_group_members(pgid).len() >= 2
        });
        reapers.push(GroupReaper(Some(pgid)));
        groups.push(pgid);
    }

    let out = ifup.wait();
    out.assert_code(1);
    out.assert_output_contains("pre-up command `echo $$");
    out.assert_output_contains("timed out");
    let reply = raw.join().expect("the raw client thread");
    assert_eq!(
        (&reply["type"], &reply["code"]),
        (&json!("error"), &json!("timeout")),
        "a hung hook must fail with the code `timeout`: {reply}"
    );
    assert!(
        reply.to_string().contains("timed out"),
        "the reply must say the hook timed out: {reply}"
    );
    for pgid in groups {
        // The group is signalled before the reply is sent; dying takes the
        // kernel a moment, so wait for the outcome (safety net only).
        wait_until(
            &format!("the hook's process group {pgid} to be gone"),
            || live_group_members(pgid).is_empty(),
        );
    }
    assert_clean(&h, "v0");
    assert_clean(&h, "v1");
}

// ---------------------------------------------------------------------------
// 6. hook output streams to the client; if-up.d scripts get the environment

#[test]
fn hook_output_streams_to_the_client_and_scripts_see_the_environment() {
    // A shorter hook timeout, so that a client that does not stream (the
    // test then never opens the gate) fails in a minute, not five.
    let h = Harness::with_options(DaemonOptions {
        hook_timeout: Some(60),
        ..Default::default()
    });
    h.ns.veth("v0");
    let gate = h.path("gate");
    let c_gate = std::ffi::CString::new(gate.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_gate.as_ptr(), 0o600) }, 0, "mkfifo");
    let envfile = h.path("env.txt");
    h.write_hook(
        "if-up.d",
        "dump-env",
        &format!("#!/bin/sh\nenv > {}\n", envfile.display()),
    );
    // The `up` line prints, then blocks until the test has seen the line on
    // ifup's stdout: only a client that streams can get past it.
    h.write_interfaces(&format!(
        "\
iface office inet static
    address 198.51.100.10/24
    up echo hello-from-up; echo hello-on-stderr >&2; cat {} > /dev/null
",
        gate.display()
    ));

    let mut child = h
        .ifup_cmd(&["v0=office"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ifup");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut seen = Vec::new();
    let streamed = loop {
        match lines.recv_timeout(netconf_tests::WAIT_TIMEOUT) {
            Ok(line) => {
                let hit = line == "hello-from-up";
                seen.push(line);
                if hit {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    // Open the gate whatever happened, so the hook can finish.
    let mut opener = fs::OpenOptions::new()
        .write(true)
        .open(&gate)
        .expect("opening the gate");
    let _ = opener.write_all(b"go\n");
    drop(opener);
    let status = child.wait().expect("waiting for ifup");
    seen.extend(lines.iter());
    let err = err_reader.join().unwrap();
    let out = Out {
        what: "ifup v0=office".into(),
        status,
        stdout: seen.join("\n"),
        stderr: err,
    };
    assert!(
        streamed,
        "ifup did not print the up command's output while the command ran:\n{out}"
    );
    out.assert_ok();
    assert!(
        out.stdout.lines().any(|l| l == "hello-from-up"),
        "stdout of the hook must go to ifup's stdout:\n{out}"
    );
    assert!(
        out.stderr.lines().any(|l| l == "hello-on-stderr")
            && !out.stdout.contains("hello-on-stderr"),
        "stderr of the hook must go to ifup's stderr:\n{out}"
    );

    let env = fs::read_to_string(&envfile)
        .unwrap_or_else(|e| panic!("the if-up.d script did not run ({e}):\n{out}"));
    for expected in [
        "IFACE=v0",
        "LOGICAL=office",
        "ADDRFAM=inet",
        "METHOD=static",
        "MODE=start",
        "PHASE=post-up",
        "IF_ADDRESS=198.51.100.10",
    ] {
        assert!(
            env.lines().any(|l| l == expected),
            "the if-up.d script's environment lacks {expected}:\n{env}"
        );
    }
    assert_eq!(h.state(), vec!["v0=office"], "ifquery --state");
}

// ---------------------------------------------------------------------------
// 7. fifty interfaces at once

const MANY: usize = 50;

fn many_config() -> String {
    let names: Vec<String> = (0..MANY).map(|i| format!("v{i}")).collect();
    let mut text = format!("auto {}\n", names.join(" "));
    for i in 0..MANY {
        text.push_str(&format!(
            "\niface v{i} inet static\n    address 198.18.{i}.1/24\n    gateway 198.18.{i}.254\n    metric {}\n    mtu {}\n",
            1000 + i,
            1300 + i
        ));
    }
    text
}

/// `with_lo`: `ifup -a` also brings up the implicit `auto lo` stanza, as
/// Debian's does.
fn assert_many_configured(h: &Harness, with_lo: bool) {
    let addrs = h.ns.all_global_addrs();
    let links = h.ns.all_links();
    for i in 0..MANY {
        let name = format!("v{i}");
        assert_eq!(
            addrs.get(&name).cloned().unwrap_or_default(),
            set(&[&format!("198.18.{i}.1/24")]),
            "addresses of {name}"
        );
        let link = &links[&name];
        assert!(netconf_tests::has_flag(link, "UP"), "{name} down: {link}");
        assert_eq!(link["mtu"], 1300 + i, "mtu of {name}: {link}");
    }
    let expected: BTreeSet<String> = (0..MANY)
        .map(|i| format!("-4 default via 198.18.{i}.254 dev v{i} metric {}", 1000 + i))
        .collect();
    assert_eq!(h.ns.netconf_routes(), expected, "netconf's routes");
    let state: BTreeSet<String> = h.state().into_iter().collect();
    let mut expected: BTreeSet<String> = (0..MANY).map(|i| format!("v{i}=v{i}")).collect();
    if with_lo {
        expected.insert("lo=lo".into());
    }
    assert_eq!(state, expected, "ifquery --state");
}

fn assert_many_clean(h: &Harness) {
    let addrs = h.ns.all_global_addrs();
    let links = h.ns.all_links();
    for i in 0..MANY {
        let name = format!("v{i}");
        let left = addrs.get(&name).cloned().unwrap_or_default();
        assert!(left.is_empty(), "{name} still has {left:?}");
        assert!(
            !netconf_tests::has_flag(&links[&name], "UP"),
            "{name} still up"
        );
    }
    assert_eq!(
        h.ns.netconf_routes(),
        BTreeSet::new(),
        "netconf routes left"
    );
    assert!(h.state().is_empty(), "ifquery --state: {:?}", h.state());
}

#[test]
fn fifty_interfaces_concurrently_and_with_all() {
    let h = Harness::new();
    let mut batch = String::new();
    for i in 0..MANY {
        batch.push_str(&format!(
            "link add v{i} type veth peer name v{i}p\nlink set v{i}p up\n"
        ));
    }
    h.ns.batch(&batch);
    h.write_interfaces(&many_config());

    let ups: Vec<Running> = (0..MANY)
        .map(|i| Running::spawn(h.ifup_cmd(&[&format!("v{i}")])))
        .collect();
    for up in ups {
        up.wait().assert_ok();
    }
    assert_many_configured(&h, false);

    let downs: Vec<Running> = (0..MANY)
        .map(|i| Running::spawn(h.ifdown_cmd(&[&format!("v{i}")])))
        .collect();
    for down in downs {
        down.wait().assert_ok();
    }
    assert_many_clean(&h);

    h.ifup(&["-a"]).assert_ok();
    assert_many_configured(&h, true);
    h.ifdown(&["-a"]).assert_ok();
    assert_many_clean(&h);
}

// ---------------------------------------------------------------------------
// 8. ifup and ifdown racing on one interface

#[test]
fn racing_ifup_and_ifdown_on_one_interface_stay_consistent() {
    let mut h = static_v0_harness();
    let allowed = ["already configured", "not configured"];
    let mut configured_rounds = 0;
    for round in 0..20 {
        // Two of each, interleaved, all at once.
        let clients: Vec<Running> = (0..4)
            .map(|i| match i % 2 {
                0 => Running::spawn(h.ifup_cmd(&["v0"])),
                _ => Running::spawn(h.ifdown_cmd(&["v0"])),
            })
            .collect();
        for out in clients.into_iter().map(Running::wait) {
            out.assert_ok();
            for line in out.stderr.lines() {
                assert!(
                    allowed.iter().any(|a| line.contains(a)),
                    "round {round}: unexpected message:\n{out}"
                );
            }
        }
        assert!(h.daemon_alive(), "round {round}: netconfd died");
        // Whoever went last, kernel and state must tell the same story.
        if h.state() == vec!["v0=v0"] {
            configured_rounds += 1;
            assert_static_v0_configured(&h);
        } else {
            assert_clean(&h, "v0");
        }
    }
    eprintln!("v0 ended configured in {configured_rounds} of 20 rounds");
    let mut conn = h.connect();
    let pong = conn.request(r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(pong["type"], "ok", "ping after the races: {pong}");
    h.ifdown(&["v0"]).assert_ok();
    assert_clean(&h, "v0");
}

// ---------------------------------------------------------------------------
// 9. unknown interface

/// A hook may bring up another interface, but an `ifup` of the interface it
/// runs for would wait for itself: it is refused, as ifupdown refuses it.
#[test]
fn hooks_may_ifup_other_interfaces_but_not_their_own() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.veth("v1");
    let ifup = bins().ifup.display().to_string();
    let socket = h.socket().display().to_string();
    h.write_interfaces(&format!(
        "\
iface v0 inet static
    address 198.51.100.10/24
    post-up {ifup} --socket {socket} v1
iface v1 inet static
    address 203.0.113.10/24
iface v2 inet manual
    pre-up {ifup} --socket {socket} v2
"
    ));
    h.ifup(&["v0"]).assert_ok();
    assert_eq!(h.ns.global_addrs("v1"), set(&["203.0.113.10/24"]));
    let state = h.state();
    assert!(
        state.contains(&"v0=v0".to_string()) && state.contains(&"v1=v1".to_string()),
        "state: {state:?}"
    );

    h.ns.veth("v2");
    let out = h.ifup(&["v2"]);
    out.assert_code(1);
    out.assert_output_contains("recursion detected for interface v2 in pre-up phase");
    assert!(!h.state().contains(&"v2=v2".to_string()));
}

#[test]
fn unknown_interface_is_an_error() {
    let h = static_v0_harness();
    let out = h.ifup(&["nosuch"]);
    out.assert_code(1);
    out.assert_output_contains("unknown interface nosuch");
    assert!(h.state().is_empty(), "state: {:?}", h.state());
    assert_eq!(h.ns.global_addrs("v0"), BTreeSet::new());
}

// ---------------------------------------------------------------------------
// 10. malformed and oversized requests

#[test]
fn malformed_and_oversized_requests_get_errors_and_the_connection_goes_on() {
    let h = Harness::new();
    let mut conn = h.connect();

    let r = conn.request("this is not json");
    assert_eq!(
        (&r["id"], &r["type"], &r["code"]),
        (&json!(0), &json!("error"), &json!("bad-request")),
        "garbage line: {r}"
    );

    // Over 1 MiB, sent in two halves; between them, another client is served.
    let limit = netconf_ctlsock_proto::MAX_LINE;
    let first = vec![b'x'; limit / 2 + 1000];
    conn.send(&first);
    let mut other = h.connect();
    let pong = other.request(r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(
        pong["type"], "ok",
        "a second client was not served while the first sent a huge line: {pong}"
    );
    assert_eq!(pong["result"]["daemon"], "netconfd", "{pong}");
    let mut rest = vec![b'x'; limit / 2 + 1000];
    rest.push(b'\n');
    conn.send(&rest);
    let r = conn.reply();
    assert_eq!(
        (&r["id"], &r["type"], &r["code"]),
        (&json!(0), &json!("error"), &json!("too-large")),
        "oversized line: {r}"
    );

    let r = conn.request(r#"{"version":2,"id":5,"op":"ping"}"#);
    assert_eq!(
        (&r["id"], &r["type"], &r["code"]),
        (&json!(5), &json!("error"), &json!("unsupported-version")),
        "wrong version: {r}"
    );

    let r = conn.request(r#"{"version":1,"id":6,"op":"ping"}"#);
    assert_eq!(
        (&r["id"], &r["type"]),
        (&json!(6), &json!("ok")),
        "a valid ping on the same connection: {r}"
    );
    assert_eq!(r["result"]["daemon"], "netconfd", "{r}");
}

// 11. an unprivileged client: tests/tests/security.rs

// ---------------------------------------------------------------------------
// 12. restarting the daemon changes nothing

fn restart_changes_nothing(signal: libc::c_int) {
    let mut h = static_v0_harness();
    h.ifup(&["v0"]).assert_ok();
    // Not netconf's: must survive the restarts, be shown as added by
    // someone else, and go with ifdown (as Debian's `ip addr flush`).
    h.ns.ip(&["addr", "add", "203.0.113.77/32", "dev", "v0"]);
    let before = h.ns.snapshot("v0");

    let status = h.stop_daemon(signal);
    if signal == libc::SIGTERM {
        assert!(status.success(), "netconfd after SIGTERM: {status:?}");
    } else {
        assert_eq!(status.signal(), Some(signal), "netconfd: {status:?}");
    }
    assert_eq!(h.ns.snapshot("v0"), before, "stopping netconfd changed v0");
    assert_eq!(h.state(), vec!["v0=v0"], "ifquery --state, daemon stopped");

    h.start_daemon();
    assert_eq!(h.ns.snapshot("v0"), before, "starting netconfd changed v0");
    assert_eq!(h.state(), vec!["v0=v0"], "ifquery --state after restart");
    let mut conn = h.connect();
    let r = conn.request(r#"{"version":1,"id":1,"op":"state"}"#);
    assert_eq!(
        r["result"]["interfaces"],
        json!(["v0=v0"]),
        "the new daemon's state: {r}"
    );
    let r = conn.request(r#"{"version":1,"id":2,"op":"status","args":{"iface":"v0"}}"#);
    let v0 = &r["result"]["interfaces"][0];
    let origin_of = |addr: &str| {
        v0["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["address"] == addr)
            .map(|a| a["origin"].clone())
    };
    assert_eq!(
        origin_of("198.51.100.10/24"),
        Some(json!("netconf")),
        "{v0:#}"
    );
    assert_eq!(
        origin_of("203.0.113.77/32"),
        Some(json!("external")),
        "{v0:#}"
    );
    assert_eq!(v0["state"], "differs", "{v0:#}");
    drop(conn);

    h.ifdown(&["v0"]).assert_ok();
    assert_eq!(
        h.ns.global_addrs("v0"),
        BTreeSet::new(),
        "ifdown after a restart removes netconf's addresses and those added while it managed v0"
    );
    assert_eq!(
        h.ns.netconf_routes(),
        BTreeSet::new(),
        "netconf routes left"
    );
    assert!(!h.ns.is_up("v0"), "v0 still up");
    assert!(h.state().is_empty(), "state: {:?}", h.state());
}

#[test]
fn restart_after_sigterm_changes_nothing() {
    restart_changes_nothing(libc::SIGTERM);
}

#[test]
fn restart_after_sigkill_changes_nothing() {
    restart_changes_nothing(libc::SIGKILL);
}

// ---------------------------------------------------------------------------
// 13. the daemon not running

#[test]
fn daemon_not_running_exits_3() {
    let mut c = Command::new(&bins().ifup);
    c.args(["--socket", "/nonexistent/sock", "v0"])
        .env_remove("NETCONF_SOCKET");
    let out = run(c);
    out.assert_code(3);
    out.assert_output_contains("netconfd is not running");

    // A socket file with nobody listening (a daemon that died) is the same.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ctl.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new(&bins().ifdown);
    c.arg("--socket")
        .arg(&sock)
        .arg("v0")
        .env_remove("NETCONF_SOCKET");
    let out = run(c);
    out.assert_code(3);
    out.assert_output_contains("netconfd is not running");
}

/// A bridge port with no stanza of its own is part of its bridge's
/// configuration: a restarted netconfd does not take it for something
/// configured outside netconf (the boot test saw `bp0` logged as "left
/// alone" and shown `adopted` after `systemctl restart netconfd`, where it
/// had been `unmanaged` before).
#[test]
fn restart_keeps_a_bridge_port_as_it_was() {
    let mut h = Harness::new();
    h.ns.veth("p0");
    h.write_interfaces(
        "auto br0\niface br0 inet static\n    bridge_ports p0\n    address 203.0.113.1/24\n",
    );
    h.ifup(&["br0"]).assert_ok();
    let status_of = |h: &Harness, name: &str| {
        let mut conn = h.connect();
        let r = conn.request(&format!(
            r#"{{"version":1,"id":1,"op":"status","args":{{"iface":"{name}"}}}}"#
        ));
        let i = r["result"]["interfaces"][0].clone();
        (
            i["management"].clone(),
            i["state"].clone(),
            i["differs"].clone(),
        )
    };
    let port = status_of(&h, "p0");
    let bridge = status_of(&h, "br0");
    assert_eq!(bridge.0, "managed", "br0 before the restart: {bridge:?}");

    h.stop_daemon(libc::SIGKILL);
    h.start_daemon();
    assert_eq!(status_of(&h, "p0"), port, "p0's status after a restart");
    assert_eq!(status_of(&h, "br0"), bridge, "br0's status after a restart");

    h.ifdown(&["br0"]).assert_ok();
    assert!(h.state().is_empty(), "state: {:?}", h.state());
}

/// A bridge someone else made as its stanza says (Debian's ifupdown with
/// bridge-utils, which netconf replaced while it ran: scripts/boot-test's
/// scenario 3) is adopted as up, nothing written, and its port, which the
/// kernel lists before it, belongs to it: not adopted on its own, shown as
/// the port of a bridge netconf brought up is.
#[test]
fn adopts_a_bridge_made_outside_with_its_port() {
    let mut h = Harness::new();
    let stopped = h.stop_daemon(libc::SIGTERM);
    assert!(stopped.success(), "netconfd after SIGTERM: {stopped:?}");
    h.write_interfaces(
        "auto br0\niface br0 inet static\n    bridge_ports p0\n    address 203.0.113.1/24\n",
    );
    h.ns.veth("p0");
    for args in [
        &["link", "add", "br0", "type", "bridge"][..],
        &["link", "set", "p0", "master", "br0"],
        &["link", "set", "p0", "up"],
        &["addr", "add", "203.0.113.1/24", "dev", "br0"],
        &["link", "set", "br0", "up"],
    ] {
        h.ns.ip(args);
    }
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);
    h.start_daemon();
    let status_of = |h: &Harness, name: &str| {
        let mut conn = h.connect();
        let r = conn.request(&format!(
            r#"{{"version":1,"id":1,"op":"status","args":{{"iface":"{name}"}}}}"#
        ));
        let i = &r["result"]["interfaces"][0];
        (i["management"].clone(), i["state"].clone())
    };
    let bridge = status_of(&h, "br0");
    let port = status_of(&h, "p0");
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "netconfd changed the kernel while it adopted br0:\n{}",
        events.join("\n")
    );
    assert_eq!(bridge, ("adopted".into(), "up".into()), "br0");
    assert_eq!(
        port.0, "unmanaged",
        "p0, a port of the adopted br0: {port:?}"
    );
    assert_eq!(h.state(), vec!["br0=br0"], "ifquery --state");
    h.ifdown(&["br0"]).assert_ok();
    assert!(h.state().is_empty(), "state: {:?}", h.state());
}
