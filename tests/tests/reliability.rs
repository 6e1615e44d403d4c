//! docs/RELIABILITY.md's promises about clients and disks, each checked
//! against netconfd in a namespace of its own: a client that does not read
//! costs the daemon a bounded amount of memory, given back when it leaves;
//! a full run directory is told to the client, retried and cleaned up;
//! clients beyond the file-descriptor limit are refused while those already
//! there are served. Memory figures are read from `/proc/PID/status`
//! (VmRSS); the bounds are generous: what they catch is growth with the
//! number of lines, not a few pages.

use netconf_tests::{
    as_nobody, private_mounts, run, sh_quote, wait_until, Harness, RawConn, WAIT_TIMEOUT,
};
use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("the daemon's status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// `count` address changes by someone else on `dev` (added, then removed),
/// and a `status` afterwards, which the daemon answers only once it has
/// read every notification.
fn address_burst(h: &Harness, dev: &str, count: usize) {
    let mut batch = String::new();
    for i in 0..count / 2 {
        batch.push_str(&format!(
            "address add 198.18.{}.{}/32 dev {dev}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    for i in 0..count / 2 {
        batch.push_str(&format!(
            "address del 198.18.{}.{}/32 dev {dev}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    h.ns.batch(&batch);
    let r = h
        .connect()
        .request(r#"{"version":1,"id":1,"op":"status","args":{"iface":"lo"}}"#);
    assert_eq!(r["type"], "ok", "{r}");
}

/// A `monitor` connection that reads nothing until asked to.
fn silent_monitor(h: &Harness) -> UnixStream {
    let mut s = UnixStream::connect(h.socket()).expect("connecting");
    s.write_all(b"{\"version\":1,\"id\":5,\"op\":\"monitor\"}\n")
        .expect("the monitor request");
    s
}

fn daemon_pid(h: &Harness) -> u32 {
    h.daemon_pid().expect("netconfd runs")
}

/// `count` connections of user `nobody`, each having sent `request` and
/// read the first line of its answer, held open until [`Held`] is dropped.
struct Held {
    child: std::process::Child,
    ok: usize,
    busy: usize,
}

impl Held {
    fn open(h: &Harness, count: usize, request: &str) -> Held {
        let holder = h.public_copy(Path::new(env!("CARGO_BIN_EXE_raw-request")));
        let mut hold = as_nobody(&holder);
        hold.arg(h.socket())
            .args(["--hold", &count.to_string(), request])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = hold.spawn().expect("the holder");
        let mut counts = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut counts)
            .unwrap();
        let field = |name: &str| -> usize {
            counts
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("odd counts: {counts}"))
        };
        assert_eq!(field("other"), 0, "{counts}");
        Held {
            ok: field("ok"),
            busy: field("busy"),
            child,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// 1. slow readers

#[test]
fn a_monitor_that_never_reads_costs_a_bounded_amount_given_back_when_it_leaves() {
    const CHANGES: usize = 40_000;
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.ip(&["link", "set", "v0", "up"]);
    let pid = daemon_pid(&h);
    // The daemon's own growth with a burst (its mirror, the backlog of
    // kernel messages while it catches up), without monitors: the higher of
    // two bursts, since that backlog depends on how the scheduler ran it.
    address_burst(&h, "v0", CHANGES);
    let first = rss_kib(pid);
    address_burst(&h, "v0", CHANGES);
    let without = first.max(rss_kib(pid));

    let monitor = silent_monitor(&h);
    address_burst(&h, "v0", CHANGES);
    let with = rss_kib(pid);
    eprintln!("VmRSS after {CHANGES} changes: {without} KiB; with a monitor that does not read: {with} KiB");
    assert!(
        with < without + 4 * 1024,
        "a monitor that does not read grew netconfd from {without} KiB to {with} KiB"
    );

    // Reading now: what was kept, then one line saying how much was lost.
    monitor
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut lines = 0;
    let mut lost = None;
    for line in BufReader::new(monitor.try_clone().unwrap()).lines() {
        let Ok(line) = line else { break };
        lines += 1;
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        if v["step"] == "lost" {
            lost = Some(v["message"].as_str().unwrap_or_default().to_string());
        }
    }
    let lost = lost.unwrap_or_else(|| panic!("no `lost` line among {lines} lines"));
    let count: usize = lost
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("odd lost line: {lost}"));
    assert!(
        lines < CHANGES && count > CHANGES / 2,
        "{lines} lines read, {lost}"
    );

    drop(monitor);
    let r = h.connect().request(r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(r["type"], "ok");
    wait_until("netconfd to give the memory back", || {
        rss_kib(pid) < without + 1024
    });
}

#[test]
fn many_slow_readers_share_one_bounded_budget() {
    const CHANGES: usize = 20_000;
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.ip(&["link", "set", "v0", "up"]);
    let pid = daemon_pid(&h);
    address_burst(&h, "v0", CHANGES);
    let without = rss_kib(pid);
    let monitors = Held::open(&h, 100, r#"{"version":1,"id":1,"op":"monitor"}"#);
    assert_eq!(monitors.ok, 100);
    address_burst(&h, "v0", CHANGES);
    let with = rss_kib(pid);
    eprintln!("VmRSS: {without} KiB; with 100 monitors that do not read: {with} KiB");
    // Users' outboxes share one budget (4 MiB).
    assert!(
        with < without + 12 * 1024,
        "100 monitors that do not read grew netconfd from {without} KiB to {with} KiB"
    );
    drop(monitors);
    let r = h.connect().request(r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(r["type"], "ok");
    wait_until("netconfd to give the memory back", || {
        rss_kib(pid) < without + 1024
    });
}

#[test]
fn a_client_that_sends_without_reading_is_no_longer_read() {
    let h = Harness::new();
    let pid = daemon_pid(&h);
    let before = rss_kib(pid);
    let mut greedy = UnixStream::connect(h.socket()).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // `status` answers are large; the client reads none of them.
    let request = b"{\"version\":1,\"id\":1,\"op\":\"status\"}\n";
    let mut sent = 0usize;
    let started = Instant::now();
    while greedy.write_all(request).is_ok() {
        sent += 1;
        assert!(
            started.elapsed() < WAIT_TIMEOUT,
            "netconfd read {sent} requests and never stopped"
        );
    }
    let after = rss_kib(pid);
    eprintln!(
        "{sent} requests written before netconfd stopped reading; VmRSS {before} -> {after} KiB"
    );
    assert!(after < before + 4 * 1024, "VmRSS {before} -> {after} KiB");
    // Everyone else is served meanwhile.
    let r = h.connect().request(r#"{"version":1,"id":2,"op":"ping"}"#);
    assert_eq!(r["type"], "ok", "{r}");
    drop(greedy);
    let r = h.connect().request(r#"{"version":1,"id":3,"op":"ping"}"#);
    assert_eq!(r["type"], "ok", "{r}");
}

// ---------------------------------------------------------------------------
// 2. a full run directory

#[test]
fn a_full_run_directory_is_told_retried_and_cleaned_up() {
    let mut h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces("auto v0\niface v0 inet static\n    address 198.51.100.10/24\n");
    // The run directory on a small tmpfs that only the daemon sees.
    h.stop_daemon(libc::SIGTERM);
    let run_dir = h.run_dir();
    fs::create_dir_all(&run_dir).unwrap();
    let mounts = format!(
        "mount -t tmpfs -o size=64k,mode=0755 netconf-run {}",
        sh_quote(&run_dir.to_string_lossy())
    );
    h.start_daemon_wrapped(&private_mounts(&mounts));
    let pid = daemon_pid(&h);
    let seen = |rel: &str| {
        Path::new(&format!("/proc/{pid}/root")).join(run_dir.strip_prefix("/").unwrap().join(rel))
    };

    // Fill it.
    let filler = seen("filler");
    let mut f = fs::File::create(&filler).unwrap();
    while f.write_all(&[0u8; 4096]).is_ok() {}
    drop(f);

    let out = run(h.ifup_cmd(&["-a"]));
    out.assert_ok();
    out.assert_output_contains("the state could not be saved");
    out.assert_output_contains("No space left on device");
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));
    assert!(!seen("state.tmp").exists(), "state.tmp left behind");
    assert!(
        !fs::read_to_string(seen("state.json"))
            .unwrap_or_default()
            .contains("v0"),
        "a state file was written on a full disk"
    );

    // Room again: the state is written by the next retry, unasked.
    fs::remove_file(&filler).unwrap();
    wait_until("netconfd to write the state file", || {
        fs::read_to_string(seen("state.json"))
            .unwrap_or_default()
            .contains("\"v0\"")
    });
    assert!(!seen("state.tmp").exists(), "state.tmp left behind");
    h.ifdown(&["-a"]).assert_ok();
    assert!(h.ns.global_addrs("v0").is_empty());
}

// ---------------------------------------------------------------------------
// 3. out of file descriptors

#[test]
fn clients_beyond_the_descriptor_limit_are_refused_and_root_is_still_served() {
    let mut h = Harness::new();
    h.ns.veth("v0");
    h.write_interfaces("iface v0 inet static\n    address 198.51.100.10/24\n");
    h.write_hook("if-up.d", "tell", "#!/bin/sh\necho \"$IFACE is up\"\n");
    // 400 descriptors: 144 clients for users, a few more for root.
    h.stop_daemon(libc::SIGTERM);
    let limit: Vec<std::ffi::OsString> = ["prlimit", "--nofile=400:400", "--"]
        .iter()
        .map(Into::into)
        .collect();
    h.start_daemon_wrapped(&limit);

    // A user takes every slot users may have, and some.
    let held = Held::open(&h, 200, r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!((held.ok, held.busy), (144, 200 - 144));
    assert!(
        h.daemon_log().contains("too many clients"),
        "no log line for the refusals"
    );

    // Root still gets in: ifup runs its hook and writes to the kernel.
    let out = h.ifup(&["v0"]);
    out.assert_ok();
    out.assert_output_contains("v0 is up");
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));

    // They leave: users are served again, once the daemon has seen the
    // connections close (their hang-ups reach it after our close() returns,
    // so the first ping may still be told "busy", as the refusal says).
    drop(held);
    let holder = h.public_copy(Path::new(env!("CARGO_BIN_EXE_raw-request")));
    let ping = || {
        let mut c = as_nobody(&holder);
        c.arg(h.socket()).arg(r#"{"version":1,"id":1,"op":"ping"}"#);
        run(c)
    };
    wait_until("a user to be served again after the others left", || {
        let reply = ping();
        reply.assert_ok();
        if reply.stdout.contains("\"type\":\"ok\"") {
            return true;
        }
        assert!(reply.stdout.contains("\"code\":\"busy\""), "{reply}");
        false
    });
}

// ---------------------------------------------------------------------------
// 4. load

/// Raises this process's soft RLIMIT_NOFILE to at least `want` (within the
/// hard limit): a test holding a thousand connections needs the descriptors.
fn descriptors(want: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// 1000 clients at once (`status`, `monitor`, and an `ifup` or `ifdown` of
/// each of 100 interfaces), twice over: every one answered, the kernel as
/// the last requests asked, and the daemon, once they are gone, back to its
/// descriptors and to the size it had after the first round (the first
/// round grows the allocator's and tokio's tables to what such a crowd
/// needs; a leak would grow it again).
#[test]
fn a_thousand_clients_at_once() {
    const IFACES: usize = 100;
    descriptors(4096);
    let h = Harness::new();
    let mut file = String::new();
    let mut batch = String::new();
    for i in 0..IFACES {
        batch.push_str(&format!(
            "link add l{i} type veth peer name l{i}p\nlink set l{i}p up\n"
        ));
        file.push_str(&format!(
            "iface l{i} inet static\n    address 198.18.{}.{}/24\n",
            i / 200,
            i % 200 + 1
        ));
    }
    h.ns.batch(&batch);
    h.write_interfaces(&file);
    let pid = daemon_pid(&h);
    let r = h.connect().request(r#"{"version":1,"id":1,"op":"ping"}"#);
    assert_eq!(r["type"], "ok");
    let (cold, idle_fds) = (rss_kib(pid), open_fds(pid));
    let mut after_first = 0;
    for round in 1..=2 {
        for (op, up) in [("ifup", true), ("ifdown", false)] {
            crowd(&h, op);
            for i in 0..IFACES {
                let addrs = h.ns.global_addrs(&format!("l{i}"));
                assert_eq!(addrs.is_empty(), !up, "l{i} after the {op}s: {addrs:?}");
            }
        }
        let r = h.connect().request(r#"{"version":1,"id":1,"op":"ping"}"#);
        assert_eq!(r["type"], "ok");
        let settled = |limit: u64| rss_kib(pid) < limit && open_fds(pid) <= idle_fds;
        if round == 1 {
            wait_until("netconfd's descriptors to be back", || settled(u64::MAX));
            after_first = rss_kib(pid);
        } else {
            wait_until(
                "netconfd to be back to its size after the first round",
                || settled(after_first + 1024),
            );
        }
        eprintln!(
            "after round {round}: VmRSS {} KiB (cold {cold}), {} descriptors (idle {idle_fds})",
            rss_kib(pid),
            open_fds(pid)
        );
    }
}

/// 1000 clients connect and send before any reads: 800 `status`, 100
/// `monitor`, 100 `op` of one interface each; every one is answered.
fn crowd(h: &Harness, op: &str) {
    let mut conns: Vec<(UnixStream, String)> = (0..1000)
        .map(|i| {
            let line = match i % 10 {
                0 => format!(
                    r#"{{"version":1,"id":{},"op":"{op}","args":{{"targets":["l{}"]}}}}"#,
                    i + 1,
                    i / 10
                ),
                1 => r#"{"version":1,"id":1,"op":"monitor"}"#.to_string(),
                _ => format!(r#"{{"version":1,"id":{},"op":"status"}}"#, i + 1),
            };
            let mut s = UnixStream::connect(h.socket()).expect("connecting");
            s.write_all(format!("{line}\n").as_bytes())
                .expect("sending");
            (s, line)
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for chunk in conns.chunks_mut(50) {
            scope.spawn(move || {
                for (s, line) in chunk {
                    s.set_read_timeout(Some(WAIT_TIMEOUT)).unwrap();
                    let monitor = line.contains("\"monitor\"");
                    let mut reader = BufReader::new(&*s);
                    loop {
                        let mut reply = String::new();
                        let n = reader.read_line(&mut reply).expect("a reply (safety net)");
                        assert!(n > 0, "no answer to {line}");
                        let v: Value = serde_json::from_str(&reply).expect("JSON");
                        if monitor && v["step"] == "monitor" {
                            break;
                        }
                        if v["type"] != "progress" {
                            assert_eq!(v["type"], "ok", "{line}: {v}");
                            break;
                        }
                    }
                }
            });
        }
    });
    eprintln!("1000 clients ({op}) answered in {:?}", started.elapsed());
}

/// Ten thousand connections, one after another: no descriptor and no
/// memory left behind.
#[test]
fn ten_thousand_connections_leave_nothing_behind() {
    let h = Harness::new();
    let pid = daemon_pid(&h);
    let ping = |i: usize| {
        let mut c = RawConn::connect(&h.socket());
        let r = c.request(&format!(r#"{{"version":1,"id":{},"op":"ping"}}"#, i + 1));
        assert_eq!(r["type"], "ok", "{r}");
    };
    for i in 0..100 {
        ping(i);
    }
    let (fds, rss) = (open_fds(pid), rss_kib(pid));
    for i in 0..10_000 {
        ping(i);
    }
    wait_until("netconfd's descriptors and memory to settle", || {
        open_fds(pid) <= fds && rss_kib(pid) < rss + 1024
    });
    eprintln!(
        "after 10,000 connections: {} descriptors (was {fds}), VmRSS {} KiB (was {rss})",
        open_fds(pid),
        rss_kib(pid)
    );
}
