//! The mirror against the real kernel: a burst of more than 10,000 address
//! changes, with routes, replaces, a rename, a link going down, bridge
//! ports and a deleted veth pair, followed from monitor events alone (plus
//! the re-reads the mirror asks for), must leave the mirror equal to a fresh
//! dump; and so must the same burst through a receive buffer far too small,
//! where the kernel drops notifications and the mirror re-reads everything.
//!
//! Each test runs in a thread of its own that first moves into a new, empty
//! network namespace (`unshare(CLONE_NEWNET)`): netlink sockets and `ip`
//! started from that thread live there, and the machine's own namespace is
//! never touched. They need root (CAP_SYS_ADMIN), as CI runs them.
//!
//! Addresses: 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32.

mod common;

use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use netconf_kernel::mirror::{Mirror, Resync};
use netconf_kernel::netlink::{set_ipv6_conf, Event, Monitor, Netlink};

/// Runs `test` in a new thread moved into a fresh network namespace.
fn in_new_netns<T: Send + 'static>(test: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = thread::spawn(move || {
        common::enter_new_netns();
        test()
    });
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn ip(args: &[&str]) {
    common::ip(args);
}

/// The burst, as `ip -batch` lines, and how many address changes it asks
/// for (the kernel adds more: secondaries going with their primary).
fn burst() -> (String, usize) {
    let mut lines: Vec<String> = Vec::new();
    let mut changes = 0;
    let mut address = |lines: &mut Vec<String>, line: String| {
        lines.push(line);
        changes += 1;
    };

    // 4000 IPv4 addresses on a0 in 16 subnets: the first of each is the
    // primary (prefix and broadcast routes), the rest secondaries.
    for net in 0..16 {
        for host in 1..=250 {
            address(
                &mut lines,
                format!("address add 198.18.{net}.{host}/24 dev a0"),
            );
        }
    }
    // 1500 IPv6 addresses on a0 (prefix and local routes each).
    for net in 0..1500 {
        address(
            &mut lines,
            format!("address add 2001:db8:a0:{net:x}::1/64 dev a0 nodad"),
        );
    }
    // 1000 on a1: /32s, and point-to-point ones sharing a peer (one peer
    // route each, told apart only by their source).
    for host in 0..900 {
        let (hi, lo) = (host / 250, host % 250 + 1);
        address(
            &mut lines,
            format!("address add 198.19.{hi}.{lo}/32 dev a1"),
        );
    }
    for host in 1..=100 {
        address(
            &mut lines,
            format!("address add 198.19.10.{host}/32 peer 203.0.113.1 dev a1"),
        );
    }
    // One subnet on two links: two prefix routes of the same destination.
    address(&mut lines, "address add 198.18.200.1/24 dev a0".into());
    address(&mut lines, "address add 198.18.200.2/24 dev a1".into());
    // A lifetime, then a replace that changes it.
    address(
        &mut lines,
        "address add 198.51.100.1/24 dev a1 valid_lft 1000 preferred_lft 500".into(),
    );
    address(
        &mut lines,
        "address change 198.51.100.1/24 dev a1 valid_lft 2000 preferred_lft 1000".into(),
    );
    // Addresses on the pair that will be deleted.
    address(&mut lines, "address add 198.51.100.200/24 dev c0".into());
    address(
        &mut lines,
        "address add 2001:db8:c0::1/64 dev c0 nodad".into(),
    );

    lines.extend(
        [
            // Through a gateway of subnet 0, which goes below: dropped silently.
            "route add 198.51.100.0/26 via 198.18.0.254",
            // Two routes in one slot, then a replace of one of them.
            "route add 198.51.100.64/26 via 198.18.1.254 metric 10",
            "route append 198.51.100.64/26 via 198.18.2.254 metric 10",
            "route replace 198.51.100.64/26 via 198.18.3.254 metric 10",
            // A replace that moves a route to another link.
            "route add 198.51.100.128/26 via 198.18.4.254",
            "route replace 198.51.100.128/26 via 198.18.200.254 dev a1",
            "route add blackhole 198.51.100.192/26",
            "route add 198.51.100.192/26 dev a1 table 100",
            "route add unreachable 203.0.113.0/25 table 101",
            "route add 2001:db8:ffff::/48 via 2001:db8:a0:1::fe",
            "route add 2001:db8:fffe::/48 dev a1 metric 5",
            "route replace 2001:db8:fffe::/48 dev a0 metric 5",
            "route add blackhole 2001:db8:fffd::/48",
            "route add 2001:db8:fffc::/48 dev c0",
        ]
        .map(String::from),
    );

    // 2000 removals: subnets 0 to 7, secondaries first, the primary last.
    for net in 0..8 {
        for host in (1..=250).rev() {
            address(
                &mut lines,
                format!("address del 198.18.{net}.{host}/24 dev a0"),
            );
        }
    }
    // A primary before its secondaries: the kernel takes (or promotes) them.
    address(&mut lines, "address del 198.18.8.1/24 dev a0".into());
    // 1000 IPv6 removals.
    for net in 0..1000 {
        address(
            &mut lines,
            format!("address del 2001:db8:a0:{net:x}::1/64 dev a0"),
        );
    }

    // Down: the kernel drops a0's IPv4 routes silently (and removes its
    // IPv6 addresses). Renamed while down, refilled, up again.
    lines.push("link set a0 down".into());
    lines.push("link set a0 name b0".into());
    for host in 1..=250 {
        address(
            &mut lines,
            format!("address add 198.18.100.{host}/24 dev b0"),
        );
    }
    for net in 0..250 {
        address(
            &mut lines,
            format!("address add 2001:db8:b0:{net:x}::1/64 dev b0 nodad"),
        );
    }
    lines.extend(
        [
            "link set b0 up",
            "route add 203.0.113.128/25 via 198.18.100.254 dev b0",
            // A port joins and leaves a bridge: the bridge says RTM_DELLINK
            // (family AF_BRIDGE) for a1, which stays.
            "link set a1 master br0",
            "link set a1 nomaster",
            "link set c1 master br0",
            "link set b0 mtu 9000",
            // Deleting c0 deletes its peer c1 as well.
            "link del c0",
        ]
        .map(String::from),
    );

    let mut text = lines.join("\n");
    text.push('\n');
    (text, changes)
}

/// A second burst, on the state the first left, that needs no re-read: no
/// address goes and no link goes down, so every change is announced (routes
/// added, replaced, moved between links, deleted; addresses added; links
/// changed) and the mirror must follow from events alone.
fn announced_burst() -> String {
    let mut lines: Vec<String> = Vec::new();
    for host in 1..=50 {
        lines.push(format!("address add 198.18.150.{host}/24 dev b0"));
    }
    for net in 0..50 {
        lines.push(format!(
            "address add 2001:db8:b1:{net:x}::1/64 dev a1 nodad"
        ));
    }
    lines.extend(
        [
            "route add 198.51.100.0/26 via 198.18.150.254 dev b0",
            // The only route of its slot, replaced by one on another link.
            "route replace 198.51.100.0/26 via 198.18.200.254 dev a1",
            "route add 203.0.113.0/26 via 198.18.150.253 metric 7",
            "route replace 203.0.113.0/26 via 198.18.150.252 metric 7",
            "route add 203.0.113.64/26 via 198.18.150.251",
            "route append 203.0.113.64/26 via 198.18.200.251 dev a1",
            "route del 203.0.113.64/26 via 198.18.150.251",
            // `change` is a replace without create.
            "route change 198.51.100.192/26 dev b0 table 100",
            "route add 2001:db8:eeee::/48 via 2001:db8:b1:1::fe",
            "route replace 2001:db8:eeee::/48 dev b0",
            "route del blackhole 2001:db8:fffd::/48",
            "route add prohibit 2001:db8:eeed::/48 table 200",
            "link set a1 mtu 1400",
            "link set a1 address 02:00:00:00:00:a1",
        ]
        .map(String::from),
    );
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// What following the kernel took.
#[derive(Debug, Default)]
struct Followed {
    events: usize,
    overruns: usize,
    route_resyncs: usize,
    full_resyncs: usize,
    changes: usize,
    /// Time spent in `Mirror::apply`.
    applying: Duration,
    took: Duration,
}

/// Applies every event until `producer` has exited and the kernel has been
/// quiet for a while, resyncing as the mirror asks once the burst is over.
fn follow(
    monitor: &mut Monitor,
    mirror: &mut Mirror,
    nl: &mut Netlink,
    mut producer: Option<Child>,
) -> Followed {
    let mut seen = Followed::default();
    let mut pending = Resync::Nothing;
    loop {
        let mut got = false;
        loop {
            let events = match monitor.recv() {
                Ok(events) => events,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("monitor: {e}"),
            };
            got = true;
            let started = Instant::now();
            for event in &events {
                seen.events += 1;
                if *event == Event::Overrun {
                    seen.overruns += 1;
                }
                let changes = &mut seen.changes;
                pending = pending.max(mirror.apply_reporting(event, |_| *changes += 1));
            }
            seen.applying += started.elapsed();
        }
        if let Some(child) = &mut producer {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "ip -batch failed (its stderr is above)");
                producer = None;
            }
        }
        // The burst is over: re-read what the mirror asked for (events
        // queued meanwhile are applied after, and may ask again).
        if producer.is_none() && pending != Resync::Nothing {
            match pending {
                Resync::Everything => seen.full_resyncs += 1,
                _ => seen.route_resyncs += 1,
            }
            let changes = &mut seen.changes;
            mirror
                .resync_reporting(nl, pending, |_| *changes += 1)
                .unwrap();
            pending = Resync::Nothing;
            continue;
        }
        let wait = if producer.is_some() { 10 } else { 300 };
        if !readable(monitor, wait) && !got && producer.is_none() {
            return seen;
        }
    }
}

/// Waits up to `ms` for the monitor to have something to read.
fn readable(monitor: &Monitor, ms: i32) -> bool {
    let mut fd = libc::pollfd {
        fd: monitor.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    n > 0
}

/// The scenario: links, a mirror, the big burst and then the announced one,
/// each followed through a monitor with `buffer` bytes of receive buffer and
/// checked against a fresh dump.
fn scenario(buffer: usize) -> (Followed, Followed) {
    // No duplicate address detection: its verdicts would arrive
    // asynchronously, seconds after the burst.
    set_ipv6_conf("default", "accept_dad", "0").unwrap();
    set_ipv6_conf("all", "accept_dad", "0").unwrap();
    ip(&["link", "set", "lo", "up"]);
    ip(&["link", "add", "a0", "type", "veth", "peer", "name", "a1"]);
    ip(&["link", "add", "c0", "type", "veth", "peer", "name", "c1"]);
    ip(&["link", "add", "br0", "type", "bridge"]);
    for link in ["a0", "a1", "c0", "c1"] {
        ip(&["link", "set", link, "up"]);
    }

    let mut nl = Netlink::open().unwrap();
    let mut monitor = Monitor::with_buffer(buffer).unwrap();
    monitor.set_nonblocking(true).unwrap();
    let granted = monitor.buffer_size().unwrap();
    assert!(granted >= buffer, "asked for {buffer} bytes, got {granted}");
    let mut mirror = Mirror::dump(&mut nl).unwrap();
    mirror.same_as(&Mirror::dump(&mut nl).unwrap()).unwrap();
    let a0 = mirror.link_by_name("a0").unwrap().index;
    let a1 = mirror.link_by_name("a1").unwrap().index;

    let (batch, changes) = burst();
    assert!(changes >= 10_000, "only {changes} address changes");
    let seen = run_batch(&batch, &mut monitor, &mut mirror, &mut nl);
    eprintln!("burst of {changes} address changes: {seen:?}");

    // What the burst did, as the mirror has it.
    let b0 = mirror.link_by_name("b0").expect("a0 renamed to b0");
    assert_eq!(b0.index, a0, "a rename keeps the link");
    assert_eq!((b0.up, b0.mtu), (true, 9000));
    assert!(mirror.link_by_name("a0").is_none());
    assert_eq!(
        mirror.link_by_name("a1").map(|l| l.index),
        Some(a1),
        "a1 left a bridge and stayed"
    );
    assert!(mirror.link_by_name("c0").is_none() && mirror.link_by_name("c1").is_none());
    assert_eq!(
        mirror
            .addresses_of(a0)
            .filter(|a| a.addr.to_string().starts_with("198.18.100."))
            .count(),
        250
    );
    assert!(mirror.addresses_of(a1).count() >= 1002);
    let dropped = "198.51.100.0".parse().unwrap();
    assert!(
        !mirror
            .routes()
            .any(|r| r.destination == Some((dropped, 26))),
        "the route through a gateway of a removed subnet went"
    );
    assert!(mirror.routes_of(a0).count() > 250);

    let announced = run_batch(&announced_burst(), &mut monitor, &mut mirror, &mut nl);
    eprintln!("announced changes: {announced:?}");
    (seen, announced)
}

/// Runs `ip -batch -` over `batch` while following the kernel, then checks
/// the mirror against a fresh dump.
fn run_batch(
    batch: &str,
    monitor: &mut Monitor,
    mirror: &mut Mirror,
    nl: &mut Netlink,
) -> Followed {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(batch.as_bytes()).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    let started = Instant::now();
    let producer = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(Stdio::from(file))
        .spawn()
        .unwrap();
    let mut seen = follow(monitor, mirror, nl, Some(producer));
    seen.took = started.elapsed();
    let fresh = Mirror::dump(nl).unwrap();
    if let Err(difference) = mirror.same_as(&fresh) {
        panic!("the mirror is not the kernel: {difference}");
    }
    seen
}

/// Enough receive buffer for the whole first burst (about 26,000
/// notifications; 4 MiB, the daemon's, holds about 9,500), so that no event
/// is lost even if this thread does not run until `ip` is done.
const WHOLE_BURST: usize = 32 << 20;

#[test]
fn mirror_follows_a_burst_of_changes() {
    let (seen, announced) = in_new_netns(|| scenario(WHOLE_BURST));
    assert_eq!(
        seen.overruns, 0,
        "events were lost, so this run proves less than it should: {seen:?}"
    );
    assert_eq!(seen.full_resyncs, 0);
    assert!(seen.route_resyncs > 0, "{seen:?}");
    assert!(seen.events > 20_000, "{seen:?}");
    assert_eq!(
        (
            announced.overruns,
            announced.route_resyncs,
            announced.full_resyncs
        ),
        (0, 0, 0),
        "the second burst is followed from events alone: {announced:?}"
    );
    assert!(announced.events >= 250, "{announced:?}");
}

#[test]
fn mirror_recovers_from_lost_events() {
    // The smallest buffer the kernel grants: every burst overruns it.
    let (seen, announced) = in_new_netns(|| scenario(4096));
    assert!(seen.overruns > 0, "no overrun happened: {seen:?}");
    assert!(seen.full_resyncs > 0, "{seen:?}");
    // The second burst is small (a few hundred events): a reader that
    // keeps up may see no overrun there, and that is fine. It must still
    // end equal to a dump, which `scenario` checks.
    let _ = announced;
}
