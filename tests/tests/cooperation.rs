//! End to end: netconfd cooperates with everyone else on the host (the
//! "Cooperation" issue). It mirrors the kernel and reports what others did
//! (`netconfctl status`, `netconfctl monitor`) without reverting it; it
//! adopts what is configured when it starts without writing anything; a
//! restart after `kill -9` changes nothing; a burst of 10,000 changes by
//! others ends with a mirror equal to the kernel; `ifreload -a` changes only
//! what changed in the file; `netconfctl wait-online` answers when the
//! `auto` interfaces are configured.
//!
//! Every test works in network namespaces of its own (see
//! `netconf_tests::Netns`) with addresses from 198.18.0.0/15,
//! 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 only. Processes are
//! killed by the PID the test started (or, for what netconfd started, by the
//! test's private directory in their command line, as the DHCP tests do).
//! Assertions are about outcomes; waits poll with `wait_until` (a safety
//! net, not a timing assertion). Where the issue names a latency target,
//! the measured latency is printed, not asserted (run with `--nocapture`).
//!
//! Needs root, dnsmasq, ISC dhclient and Debian's ifupdown unpacked by
//! `scripts/fetch-debian-ifupdown`. Run: `cargo build --bins && cargo test
//! -p netconf-tests --test cooperation -- --nocapture`.

use netconf_tests::{
    bins, dhcp_world_dir, hook_path, kill_processes_mentioning, process_alive, process_cmdline,
    process_mentions, repo_root, run, run_hook, spawn_lines, wait_until, Daemon, DaemonOptions,
    DhcpServer, Harness, Netns, Out, Renewal, Running, WAIT_TIMEOUT,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------------------
// Shared helpers

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `netconfctl --socket SOCKET ARGS...`.
fn netconfctl(socket: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(&bins().netconfctl);
    c.arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("NETCONF_SOCKET")
        .current_dir("/");
    c
}

/// `netconfctl status --json`, parsed (it must succeed).
fn status(socket: &Path) -> Value {
    let out = run(netconfctl(socket, &["status", "--json"]));
    out.assert_ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("netconfctl status --json is not JSON ({e}):\n{out}"))
}

/// One interface of a status, by name.
fn iface<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == name)
}

/// One interface of a status; panics with the whole status if it is absent.
fn iface_or_panic<'a>(status: &'a Value, name: &str) -> &'a Value {
    iface(status, name).unwrap_or_else(|| panic!("no {name} in the status:\n{status:#}"))
}

/// The origin of `address` (as `addr/len`) on an interface of a status.
fn address_origin(iface: &Value, address: &str) -> Option<String> {
    iface["addresses"]
        .as_array()?
        .iter()
        .find(|a| a["address"] == address)
        .and_then(|a| a["origin"].as_str().map(String::from))
}

/// The origins of an interface's routes, by `route` text.
fn route_origins(iface: &Value) -> BTreeMap<String, String> {
    iface["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["route"].as_str().unwrap_or("?").to_string(),
                r["origin"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn differs(iface: &Value) -> Vec<String> {
    iface["differs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(String::from))
        .collect()
}

/// Waits (with the harness's safety net) until `check` answers Ok; when it
/// never does, the failure says what `check` last saw.
fn wait_for(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let mut last = String::new();
    let waited = std::panic::catch_unwind(AssertUnwindSafe(|| {
        wait_until(what, || match check() {
            Ok(()) => true,
            Err(e) => {
                last = e;
                false
            }
        })
    }));
    if let Err(panic) = waited {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("{why}\nlast seen: {last}");
    }
}

/// Polls `netconfctl status --json` until `check` accepts it; returns that
/// status and how long it took from `since`.
fn wait_status(
    socket: &Path,
    what: &str,
    since: Instant,
    mut check: impl FnMut(&Value) -> Result<(), String>,
) -> (Value, Duration) {
    let mut seen = Value::Null;
    wait_for(what, || {
        let s = status(socket);
        let verdict = check(&s).map_err(|e| format!("{e}\n{s:#}"));
        seen = s;
        verdict
    });
    (seen, since.elapsed())
}

/// The link an `ip monitor` event is about: `N: NAME...` for links and
/// addresses, `... dev NAME ...` for routes.
fn subject(event: &str) -> Option<String> {
    let e = event.strip_prefix("Deleted ").unwrap_or(event);
    if let Some((index, rest)) = e.split_once(": ") {
        if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
            let name = rest
                .split(|c: char| c.is_whitespace() || c == '@' || c == ':')
                .next()?;
            return Some(name.to_string());
        }
    }
    let mut words = e.split_whitespace();
    while let Some(w) = words.next() {
        if w == "dev" {
            return words.next().map(String::from);
        }
    }
    None
}

/// Events of a fence about link `dev`.
fn events_about<'a>(events: &'a [String], dev: &str) -> Vec<&'a String> {
    events
        .iter()
        .filter(|e| subject(e).as_deref() == Some(dev))
        .collect()
}

/// Events of a fence that add something to `dev` or set it up: what
/// reverting a removal or a `set down` would look like.
fn additions_to<'a>(events: &'a [String], dev: &str) -> Vec<&'a String> {
    events_about(events, dev)
        .into_iter()
        .filter(|e| !e.starts_with("Deleted"))
        .filter(|e| match (e.find('<'), e.find('>')) {
            // A link event: only one with the UP flag is an addition.
            (Some(a), Some(b)) if a < b => e[a + 1..b].split(',').any(|f| f == "UP"),
            _ => true,
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------
// 1. changes by others show as external, and stay

const STATIC_V0: &str = "\
iface v0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
    metric 100

iface v0 inet6 static
    address 2001:db8:10::10/64
    gateway 2001:db8:10::1
    dad-attempts 0
";

#[test]
fn external_changes_show_as_external_differ_and_are_not_reverted() {
    let h = Harness::new();
    let sock = h.socket();
    h.ns.veth("v0");
    // Not in the configuration: its address is someone else's.
    h.ns.veth("w0");
    h.ns.ip(&["addr", "add", "203.0.113.5/24", "dev", "w0"]);
    h.ns.ip(&["link", "set", "w0", "up"]);
    h.write_interfaces(STATIC_V0);
    h.ifup(&["v0"]).assert_ok();
    h.ns.settle();

    // Before anything: v0 managed and up, its link-local the kernel's, the
    // address on w0 foreign.
    let link_local = |i: &Value| {
        i["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| {
                a["address"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("fe80:"))
            })
            .cloned()
    };
    let (s, _) = wait_status(
        &sock,
        "v0 up with its link-local address",
        Instant::now(),
        |s| {
            let v0 = iface(s, "v0").ok_or("no v0")?;
            if link_local(v0).is_none() {
                return Err("v0 has no link-local address yet".into());
            }
            Ok(())
        },
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(
        (&v0["management"], &v0["state"]),
        (&Value::from("managed"), &Value::from("up")),
        "v0 after ifup:\n{v0:#}"
    );
    assert!(differs(v0).is_empty(), "v0 differs after ifup:\n{v0:#}");
    assert_eq!(
        address_origin(v0, "198.51.100.10/24").as_deref(),
        Some("netconf"),
        "{v0:#}"
    );
    let ll = link_local(v0).expect("a link-local address");
    assert_eq!(ll["origin"], "kernel", "v0's link-local address:\n{v0:#}");
    let w0 = iface_or_panic(&s, "w0");
    assert_eq!(w0["management"], "unmanaged", "w0:\n{w0:#}");
    assert_eq!(
        address_origin(w0, "203.0.113.5/24").as_deref(),
        Some("foreign"),
        "an address on an unmanaged interface is foreign:\n{w0:#}"
    );

    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);

    // An address.
    let t = Instant::now();
    h.ns.ip(&["addr", "add", "203.0.113.7/24", "dev", "v0"]);
    let (s, took) = wait_status(&sock, "the external address in status", t, |s| {
        let v0 = iface(s, "v0").ok_or("no v0")?;
        match address_origin(v0, "203.0.113.7/24").as_deref() {
            Some("external") => Ok(()),
            other => Err(format!("203.0.113.7/24 has origin {other:?}")),
        }
    });
    println!(
        "latency: external `ip addr add` -> netconfctl status: {:.1} ms",
        ms(took)
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(v0["state"], "differs", "v0:\n{v0:#}");
    assert!(
        differs(v0)
            .iter()
            .any(|d| d.contains("203.0.113.7/24") && d.contains("outside netconf")),
        "no sentence in `differs` names the external address:\n{v0:#}"
    );

    // A route.
    let t = Instant::now();
    h.ns.ip(&[
        "route",
        "add",
        "198.18.5.0/24",
        "via",
        "198.51.100.1",
        "dev",
        "v0",
    ]);
    let (s, took) = wait_status(&sock, "the external route in status", t, |s| {
        let v0 = iface(s, "v0").ok_or("no v0")?;
        let origins = route_origins(v0);
        match origins
            .iter()
            .find(|(r, _)| r.starts_with("198.18.5.0/24 via 198.51.100.1"))
        {
            Some((_, o)) if o == "external" => Ok(()),
            other => Err(format!("route 198.18.5.0/24: {other:?}")),
        }
    });
    println!(
        "latency: external `ip route add` -> netconfctl status: {:.1} ms",
        ms(took)
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(v0["state"], "differs", "v0:\n{v0:#}");
    assert!(
        differs(v0)
            .iter()
            .any(|d| d.contains("198.18.5.0/24") && d.contains("outside netconf")),
        "no sentence in `differs` names the external route:\n{v0:#}"
    );
    let defaults = route_origins(v0);
    assert_eq!(
        defaults
            .get("default via 198.51.100.1 metric 100")
            .map(String::as_str),
        Some("netconf"),
        "netconf's own default route:\n{v0:#}"
    );

    // Neither was reverted: only the two additions (and the kernel's
    // routes for them) happened, and both are still there.
    let events = monitor.fence(&h.ns);
    assert!(
        !events.iter().any(|e| e.starts_with("Deleted")),
        "something was removed after the external changes:\n{}",
        events.join("\n")
    );
    assert!(
        h.ns.global_addrs("v0").contains("203.0.113.7/24"),
        "the external address went"
    );
    let routes = h.ns.ip(&["-4", "route", "show", "198.18.5.0/24"]);
    assert!(
        routes.contains("via 198.51.100.1 dev v0"),
        "the external route went: {routes:?}"
    );

    // The link set down.
    let t = Instant::now();
    h.ns.ip(&["link", "set", "v0", "down"]);
    let (s, took) = wait_status(&sock, "v0 down in status", t, |s| {
        let v0 = iface(s, "v0").ok_or("no v0")?;
        if v0["state"] == "differs" && differs(v0).iter().any(|d| d == "link is down") {
            Ok(())
        } else {
            Err("v0 does not differ by its link being down".into())
        }
    });
    println!(
        "latency: external `ip link set down` -> netconfctl status: {:.1} ms",
        ms(took)
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(v0["link"]["up"], false, "v0:\n{v0:#}");
    assert_eq!(v0["management"], "managed", "v0:\n{v0:#}");
    let events = monitor.fence(&h.ns);
    // The kernel takes out IPv6 addresses and the routes through a link
    // that goes down; nobody may put anything back.
    let put_back = additions_to(&events, "v0");
    assert!(
        put_back.is_empty(),
        "something was put back on v0 after it was set down:\n{}",
        events.join("\n")
    );
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the kernel changed after v0 was set down and seen so:\n{}",
        events.join("\n")
    );
    assert!(!h.ns.is_up("v0"), "v0 was set up again");
    assert!(
        h.ns.global_addrs("v0").contains("203.0.113.7/24"),
        "the external address went"
    );

    // Renamed.
    let t = Instant::now();
    h.ns.ip(&["link", "set", "v0", "name", "x0"]);
    let (s, took) = wait_status(&sock, "the rename in status", t, |s| {
        let v0 = iface(s, "v0").ok_or("no v0 (its record)")?;
        if differs(v0).iter().any(|d| d == "renamed to x0") {
            Ok(())
        } else {
            Err("v0 does not differ by its name".into())
        }
    });
    println!(
        "latency: external rename -> netconfctl status: {:.1} ms",
        ms(took)
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(v0["state"], "differs", "v0:\n{v0:#}");
    assert_eq!(v0["link"]["name"], "x0", "v0's link:\n{v0:#}");
    assert!(
        iface(&s, "x0").is_none(),
        "the renamed link is listed twice (as v0 and as x0):\n{s:#}"
    );
    // The kernel re-announces the link and its IPv4 addresses (relabelled;
    // `ip monitor` still calls them v0): nothing may be renamed back, set
    // up or removed.
    let events = monitor.fence(&h.ns);
    let undone: Vec<&String> = events
        .iter()
        .filter(|e| {
            e.starts_with("Deleted")
                || (e.contains('<') && subject(e).as_deref() != Some("x0"))
                || !additions_to(std::slice::from_ref(e), "x0").is_empty()
        })
        .collect();
    assert!(
        undone.is_empty(),
        "the rename was undone, or something else changed:\n{}",
        events.join("\n")
    );
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the kernel changed after the rename was seen:\n{}",
        events.join("\n")
    );
    assert_eq!(
        h.ns.try_ip(&["link", "show", "dev", "v0"]).code(),
        Some(1),
        "a link v0 exists again"
    );
    assert!(!h.ns.is_up("x0"), "x0 was set up");
    assert!(
        h.ns.global_addrs("x0").contains("203.0.113.7/24"),
        "the external address went"
    );
    assert_eq!(h.state(), vec!["v0=v0"], "ifquery --state");
}

/// The other half of "not reverted": what others added to a managed
/// interface is theirs until an admin takes the interface down, and then
/// goes with it (as Debian's `ip addr flush`); an unmanaged interface is
/// never touched.
#[test]
fn ifdown_takes_out_what_others_added_while_managed() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.veth("w0");
    h.ns.ip(&["addr", "add", "203.0.113.5/24", "dev", "w0"]);
    h.ns.ip(&["link", "set", "w0", "up"]);
    h.write_interfaces(STATIC_V0);
    h.ifup(&["v0"]).assert_ok();
    h.ns.ip(&["addr", "add", "203.0.113.7/24", "dev", "v0"]);
    h.ns.ip(&["addr", "add", "2001:db8:77::7/64", "dev", "v0", "nodad"]);
    h.ns.ip(&[
        "route",
        "add",
        "198.18.5.0/24",
        "via",
        "198.51.100.1",
        "dev",
        "v0",
    ]);
    h.ns.ip(&[
        "route",
        "add",
        "2001:db8:78::/64",
        "via",
        "2001:db8:10::1",
        "dev",
        "v0",
    ]);
    let w0_before = h.ns.snapshot("w0");
    let s = status(&h.socket());
    let v0 = iface_or_panic(&s, "v0");
    for a in ["203.0.113.7/24", "2001:db8:77::7/64"] {
        assert_eq!(
            address_origin(v0, a).as_deref(),
            Some("external"),
            "{a}:\n{v0:#}"
        );
    }

    // -v: the kernel itself flushes IPv6 addresses and the routes through a
    // link that goes down, but not IPv4 addresses: ifdown must say it took
    // the external one out.
    let out = h.ifdown(&["-v", "v0"]);
    out.assert_ok();
    assert!(
        out.all_output()
            .lines()
            .any(|l| l.contains("203.0.113.7/24") && l.contains("added outside netconf")),
        "ifdown did not take out 203.0.113.7/24:\n{out}"
    );
    assert_eq!(
        h.ns.global_addrs("v0"),
        BTreeSet::new(),
        "addresses left on v0:\n{out}"
    );
    let left: Vec<String> = ["-4", "-6"]
        .iter()
        .flat_map(|fam| {
            h.ns.ip_json(&[fam, "route", "show", "table", "all", "dev", "v0"])
        })
        .filter(|r| r["table"] != "local" && r["protocol"] != "kernel")
        .map(|r| r.to_string())
        .collect();
    assert!(left.is_empty(), "routes left on v0: {left:?}\n{out}");
    assert!(!h.ns.is_up("v0"), "v0 is still up");
    assert_eq!(
        h.ns.snapshot("w0"),
        w0_before,
        "the unmanaged w0 was touched"
    );
    assert!(h.state().is_empty(), "ifquery --state: {:?}", h.state());
}

// ---------------------------------------------------------------------------
// 2. adopting what Debian's ifupdown (and `ip` by hand) configured

fn debian_sbin() -> PathBuf {
    let root = std::env::var_os("DEBIAN_IFUPDOWN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/debian-ifupdown/root".into());
    let sbin = repo_root().join(root).join("sbin");
    assert!(
        sbin.join("ifup").exists(),
        "Debian's ifup is missing: no {}.\nRun scripts/fetch-debian-ifupdown first (it \
         unpacks Debian's ifupdown 0.8.41 into target/debian-ifupdown/root, or into \
         $DEBIAN_IFUPDOWN_ROOT).",
        sbin.join("ifup").display()
    );
    sbin
}

/// Debian's `ifup`/`ifdown` run inside `ns` (`ip netns exec`: its own
/// mount namespace too), on `interfaces` with its state in `state_dir`,
/// without the machine's `/etc/network/if-*.d` scripts.
fn debian(ns: &Netns, program: &str, interfaces: &Path, state_dir: &Path, args: &[&str]) -> Out {
    fs::create_dir_all(state_dir).expect("Debian's state directory");
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name()])
        .arg(debian_sbin().join(program))
        .arg("--no-scripts")
        .arg("-i")
        .arg(interfaces)
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("LC_ALL", "C")
        .current_dir("/");
    run(c)
}

const DEBIAN_D0: &str = "\
auto d0
iface d0 inet static
    address 198.51.100.20/24
    gateway 198.51.100.1
    metric 100

iface d0 inet6 static
    address 2001:db8:20::20/64
    gateway 2001:db8:20::1
    dad-attempts 0
";

/// What `ifdown` leaves of `dev` that Debian's and ours can be compared on:
/// whether it is up, its global addresses, and the routes through it that
/// the kernel did not make itself (`proto kernel`, the local table).
fn down_view(ns: &Netns, dev: &str) -> (bool, BTreeSet<String>, BTreeSet<String>) {
    let mut routes = BTreeSet::new();
    for fam in ["-4", "-6"] {
        for r in ns.ip_json(&[fam, "route", "show", "table", "all", "dev", dev]) {
            if r["protocol"] == "kernel" || r["table"] == "local" {
                continue;
            }
            routes.insert(format!(
                "{fam} {} via {}",
                r["dst"].as_str().unwrap_or("?"),
                r["gateway"].as_str().unwrap_or("-")
            ));
        }
    }
    (ns.is_up(dev), ns.global_addrs(dev), routes)
}

#[test]
fn adopts_what_debian_ifupdown_configured_without_writing() {
    let mut h = Harness::new();
    let sock = h.socket();
    // The daemon starts on a namespace already configured: stop the one the
    // harness started on the empty namespace (it wrote nothing: it had
    // nothing to do).
    let stopped = h.stop_daemon(libc::SIGTERM);
    assert!(stopped.success(), "netconfd after SIGTERM: {stopped:?}");
    h.write_interfaces(DEBIAN_D0);
    h.ns.veth("d0");
    let interfaces = h.path("interfaces");
    let debian_state = h.path("debian-state");
    debian(&h.ns, "ifup", &interfaces, &debian_state, &["-a"]).assert_ok();
    // Configured by hand, in no stanza.
    h.ns.veth("p0");
    h.ns.ip(&["addr", "add", "198.18.3.1/24", "dev", "p0"]);
    h.ns.ip(&["link", "set", "p0", "up"]);
    h.ns.settle();
    let d0_before = h.ns.snapshot("d0");
    assert_eq!(
        h.ns.global_addrs("d0"),
        set(&["198.51.100.20/24", "2001:db8:20::20/64"]),
        "Debian's ifup did not configure d0"
    );

    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);
    h.start_daemon();
    let s = status(&sock);
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "netconfd changed the kernel while it started:\n{}\n{s:#}",
        events.join("\n")
    );
    assert_eq!(h.ns.snapshot("d0"), d0_before, "d0 changed");

    let d0 = iface_or_panic(&s, "d0");
    assert_eq!(
        (&d0["management"], &d0["state"]),
        (&Value::from("adopted"), &Value::from("up")),
        "d0, configured as its stanza says, must be adopted as up:\n{d0:#}"
    );
    assert!(differs(d0).is_empty(), "d0 differs:\n{d0:#}");
    for a in ["198.51.100.20/24", "2001:db8:20::20/64"] {
        assert_eq!(
            address_origin(d0, a).as_deref(),
            Some("netconf"),
            "{a} on the adopted d0 is what its stanza asks for:\n{d0:#}"
        );
    }
    let p0 = iface_or_panic(&s, "p0");
    assert_eq!(
        p0["management"], "adopted",
        "p0, configured outside netconf with no stanza, must be adopted (left alone):\n{p0:#}"
    );
    assert!(
        differs(p0).is_empty(),
        "p0 has no stanza to differ from:\n{p0:#}"
    );
    assert_eq!(h.state(), vec!["d0=d0"], "ifquery --state");

    // Our ifdown of the adopted d0 leaves it as Debian's ifdown leaves it,
    // in a namespace configured the same way.
    let out = h.ifdown(&["d0"]);
    out.assert_ok();
    let ours = down_view(&h.ns, "d0");
    let reference = Netns::new();
    reference.veth("d0");
    let ref_state = h.path("debian-reference-state");
    debian(&reference, "ifup", &interfaces, &ref_state, &["-a"]).assert_ok();
    reference.settle();
    assert_eq!(
        reference.snapshot("d0"),
        d0_before,
        "the reference namespace is not configured as the first was"
    );
    debian(&reference, "ifdown", &interfaces, &ref_state, &["d0"]).assert_ok();
    let theirs = down_view(&reference, "d0");
    assert_eq!(
        ours, theirs,
        "ifdown of the adopted d0 (left) must leave it as Debian's ifdown does (right):\n{out}"
    );
    assert!(!ours.0, "d0 is still up");
    assert!(h.state().is_empty(), "ifquery --state: {:?}", h.state());
    // The interface without a stanza was not touched.
    assert!(h.ns.is_up("p0"), "p0 was taken down");
    assert_eq!(h.ns.global_addrs("p0"), set(&["198.18.3.1/24"]), "p0");
}

// ---------------------------------------------------------------------------
// DHCP worlds: a server namespace and a client namespace with netconfd

/// A DHCP server's options: 198.18.0.100-199 on srv0 (router and DNS
/// itself), and 198.18.1.100-199 on srv1 when asked.
fn server_options(second: bool) -> Vec<&'static str> {
    let mut o = vec![
        "--dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h",
        "--dhcp-option=option:dns-server,198.18.0.53",
        "--dhcp-option=option:domain-name,example.test",
    ];
    if second {
        o.extend([
            "--interface=srv1",
            "--dhcp-range=198.18.1.100,198.18.1.199,255.255.255.0,1h",
        ]);
    }
    o
}

const LEASE_SECS: u64 = 3600;

/// Two namespaces joined by veth pairs (`srvN` in the server's, `cliN` in
/// the client's), dnsmasq on the server side, netconfd on the client side
/// with DNS going to a resolv.conf in the test's directory. On drop:
/// netconfd (its PID), the dhclient the test started by hand (its PID),
/// what else of the test's runs in the client namespace (found by the
/// test's directory in its command line or environment, one PID at a
/// time), dnsmasq (its PID), the namespaces, the directory.
struct DhcpWorld {
    daemon: Option<Daemon>,
    server: Option<DhcpServer>,
    hand: Option<Child>,
    cli: Netns,
    srv: Netns,
    dhcp_timeout: u64,
    dir: tempfile::TempDir,
}

impl DhcpWorld {
    /// `pairs` veth pairs srvN/cliN (N from 0), srvN at 198.18.N.1/24 and
    /// up; the interfaces file; netconfd not started yet.
    fn new(pairs: usize, interfaces: &str, dhcp_timeout: u64) -> DhcpWorld {
        let dir = dhcp_world_dir("nct-coop-", "cooperation");
        fs::write(dir.path().join("interfaces"), interfaces).expect("interfaces file");
        fs::write(dir.path().join("resolv.conf"), "nameserver 203.0.113.53\n").expect("resolv");
        let srv = Netns::new();
        let cli = Netns::new();
        for n in 0..pairs {
            let (s, c) = (format!("srv{n}"), format!("cli{n}"));
            srv.ip(&[
                "link",
                "add",
                &s,
                "type",
                "veth",
                "peer",
                "name",
                &c,
                "netns",
                cli.name(),
            ]);
            srv.ip(&["addr", "add", &format!("198.18.{n}.1/24"), "dev", &s]);
            srv.ip(&["link", "set", &s, "up"]);
        }
        DhcpWorld {
            daemon: None,
            server: None,
            hand: None,
            cli,
            srv,
            dhcp_timeout,
            dir,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tag(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn socket(&self) -> PathBuf {
        self.path("ctl.sock")
    }

    fn start_server(&mut self, second: bool) {
        self.server = Some(DhcpServer::start(
            &self.srv,
            "srv0",
            self.dir.path(),
            "dnsmasq",
            &server_options(second),
        ));
    }

    fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "netconfd is already running");
        let extra: Vec<OsString> = vec![
            "--resolv-conf".into(),
            self.path("resolv.conf").into(),
            "--dhcp-timeout".into(),
            self.dhcp_timeout.to_string().into(),
            "--dhcp-hook".into(),
            hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
        ];
        self.daemon = Some(Daemon::start_with_args(
            &self.cli,
            self.dir.path(),
            &DaemonOptions::default(),
            &extra,
        ));
    }

    fn kill_daemon(&mut self) {
        let status = self
            .daemon
            .take()
            .expect("netconfd is not running")
            .stop(libc::SIGKILL);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "netconfd did not die of SIGKILL: {status}"
        );
    }

    fn client(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.socket())
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        c
    }

    fn ifup(&self, args: &[&str]) -> Out {
        run(self.client(&bins().ifup, args))
    }

    fn ifdown(&self, args: &[&str]) -> Out {
        run(self.client(&bins().ifdown, args))
    }

    fn state_text(&self) -> String {
        fs::read_to_string(self.path("run/state.json")).unwrap_or_default()
    }

    /// `interfaces[].stanzas[].dhcp` of `dev` in the state file.
    fn dhcp_record(&self, dev: &str) -> Value {
        let text = self.state_text();
        let state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("state.json is not JSON ({e}):\n{text}"));
        state["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["phys"] == dev)
            .flat_map(|i| i["stanzas"].as_array().cloned().unwrap_or_default())
            .find_map(|s| s.get("dhcp").filter(|d| !d.is_null()).cloned())
            .unwrap_or_else(|| panic!("no dhclient of {dev} in the state file:\n{text}"))
    }

    /// Starts a dhclient by hand on `dev`, as an admin would (files of its
    /// own, a script that changes nothing, no token of netconf's).
    fn start_hand_dhclient(&mut self, dev: &str) -> u32 {
        fs::write(self.path("hand.conf"), "").expect("hand.conf");
        let log = fs::File::create(self.path("hand-dhclient.log")).expect("hand log");
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            self.cli.name(),
            "/sbin/dhclient",
            "-1",
            "-d",
            "-v",
        ])
        .arg("-cf")
        .arg(self.path("hand.conf"))
        .arg("-pf")
        .arg(self.path("hand.pid"))
        .arg("-lf")
        .arg(self.path("hand.leases"))
        .args(["-sf", "/bin/true", dev])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log fd"))
        .stderr(log);
        let child = c.spawn().expect("starting dhclient by hand");
        // `ip netns exec` execs dhclient: this is dhclient's own PID.
        let pid = child.id();
        self.hand = Some(child);
        pid
    }
}

impl Drop for DhcpWorld {
    fn drop(&mut self) {
        if thread::panicking() {
            let read = |rel: &str| fs::read_to_string(self.path(rel)).unwrap_or_default();
            eprintln!(
                "===== netconfd log (client namespace {}) =====\n{}\n\
                 ===== dnsmasq log (server namespace {}) =====\n{}\n\
                 ===== dhclient of cli0 =====\n{}\n\
                 ===== hand-started dhclient =====\n{}\n\
                 ===== state.json =====\n{}\n===== end =====",
                self.cli.name(),
                read("netconfd.log"),
                self.srv.name(),
                read("dnsmasq.log"),
                read("run/dhclient.cli0.log"),
                read("hand-dhclient.log"),
                self.state_text(),
            );
        }
        self.daemon.take();
        if let Some(mut hand) = self.hand.take() {
            if matches!(hand.try_wait(), Ok(None)) {
                let _ = hand.kill();
            }
            let _ = hand.wait();
        }
        kill_processes_mentioning(&self.cli, &self.tag());
        self.server.take();
        kill_processes_mentioning(&self.srv, &self.tag());
    }
}

/// The RENEW of `dev`'s dhclient in this world
/// ([`netconf_tests::renew_env`]): `old` -> `new`, with its token and pid.
fn renew_env(w: &DhcpWorld, dev: &str, old: &str, new: &str) -> Vec<(String, String)> {
    let record = w.dhcp_record(dev);
    let token = record["token"].as_str().expect("a token");
    netconf_tests::renew_env(&Renewal {
        socket: &w.socket(),
        iface: dev,
        token,
        pid: record["pid"].as_u64().unwrap_or(1) as u32,
        old,
        new,
        lease_secs: LEASE_SECS,
    })
}
/// The one global IPv4 address of `dev`, without its length.
fn leased_address(ns: &Netns, dev: &str) -> String {
    let addrs: Vec<String> = ns
        .global_addrs(dev)
        .into_iter()
        .filter(|a| !a.contains(':'))
        .collect();
    assert_eq!(addrs.len(), 1, "one leased address on {dev}: {addrs:?}");
    addrs[0].split('/').next().expect("an address").to_string()
}

/// Everything the kernel holds in `ns` (`ip -j link`, `ip -j addr`, `ip -j
/// route show table all` of both families), without the harness's marker
/// link and without address lifetimes (a DHCP address's count down every
/// second).
fn full_dump(ns: &Netns) -> String {
    let ours = |v: &Value| {
        let name = v["ifname"].as_str().or(v["dev"].as_str()).unwrap_or("");
        !name.starts_with("nctmk")
    };
    let links: Vec<Value> = ns
        .ip_json(&["link", "show"])
        .into_iter()
        .filter(ours)
        .collect();
    let addrs: Vec<Value> = ns
        .ip_json(&["addr", "show"])
        .into_iter()
        .filter(ours)
        .map(|mut l| {
            if let Some(infos) = l["addr_info"].as_array_mut() {
                for a in infos {
                    if let Some(o) = a.as_object_mut() {
                        o.remove("valid_life_time");
                        o.remove("preferred_life_time");
                    }
                }
            }
            l
        })
        .collect();
    let mut routes: Vec<Value> = Vec::new();
    for fam in ["-4", "-6"] {
        routes.extend(
            ns.ip_json(&[fam, "route", "show", "table", "all"])
                .into_iter()
                .filter(ours),
        );
    }
    serde_json::to_string_pretty(&serde_json::json!({
        "links": links,
        "addresses": addrs,
        "routes": routes,
    }))
    .expect("a dump as JSON")
}

/// The lines that differ between two dumps, for failure messages.
fn dump_diff(a: &str, b: &str) -> String {
    let left: BTreeSet<&str> = a.lines().collect();
    let right: BTreeSet<&str> = b.lines().collect();
    let mut out = String::new();
    for l in left.difference(&right) {
        out.push_str(&format!("- {l}\n"));
    }
    for l in right.difference(&left) {
        out.push_str(&format!("+ {l}\n"));
    }
    out
}

// ---------------------------------------------------------------------------
// 3. kill -9 and restart: nothing changes, every dhclient is where it was

#[test]
fn kill_9_and_restart_changes_nothing_and_keeps_every_dhclient() {
    let mut w = DhcpWorld::new(
        2,
        "\
auto v0 cli0
iface v0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1

iface cli0 inet dhcp
    metric 50
",
        60,
    );
    w.cli.veth("v0");
    w.start_server(true);
    w.start_daemon();
    let sock = w.socket();
    w.ifup(&["-a"]).assert_ok();
    let addr = leased_address(&w.cli, "cli0");
    let ours = w.dhcp_record("cli0")["pid"]
        .as_u64()
        .expect("the pid of netconf's dhclient") as u32;

    // cli1 has no stanza: a dhclient started by hand (as an admin would)
    // runs on it, served by the same dnsmasq on srv1.
    w.cli.ip(&["link", "set", "cli1", "up"]);
    let hand = w.start_hand_dhclient("cli1");
    wait_for("the hand-started dhclient to hold a lease", || {
        let leases = fs::read_to_string(w.path("hand.leases")).unwrap_or_default();
        if leases.contains("lease {") {
            Ok(())
        } else if !process_alive(hand) {
            Err(format!("dhclient {hand} exited"))
        } else {
            Err("no lease yet".into())
        }
    });
    assert!(process_alive(hand), "the hand-started dhclient exited");

    let s = status(&sock);
    let cli1 = iface_or_panic(&s, "cli1");
    assert_eq!(
        cli1["management"], "foreign",
        "a dhclient netconf did not start runs on cli1:\n{cli1:#}"
    );
    w.cli.settle();
    let mut monitor = w.cli.monitor();
    let _ = monitor.fence(&w.cli);
    let before = full_dump(&w.cli);

    w.kill_daemon();
    assert!(process_alive(ours), "netconf's dhclient died with netconfd");
    assert!(process_alive(hand), "the hand-started dhclient died");
    w.start_daemon();
    let events = monitor.fence(&w.cli);
    let after = full_dump(&w.cli);
    assert!(
        events.is_empty(),
        "the kernel changed while netconfd was killed and started again:\n{}",
        events.join("\n")
    );
    assert!(
        before == after,
        "the kernel's state changed across the restart:\n{}",
        dump_diff(&before, &after)
    );
    assert_eq!(
        w.dhcp_record("cli0")["pid"],
        ours,
        "netconf's dhclient after the restart"
    );

    // The adopted dhclient's next RENEW, through the hook with its token:
    // a new address, so that applying it shows.
    let new = "198.18.0.77";
    let out = run_hook(&renew_env(&w, "cli0", &addr, new));
    assert!(
        out.success() && out.stderr.trim().is_empty(),
        "netconfd did not accept the RENEW:\n{out}"
    );
    assert_eq!(
        w.cli
            .global_addrs("cli0")
            .into_iter()
            .filter(|a| !a.contains(':'))
            .collect::<BTreeSet<_>>(),
        set(&["198.18.0.77/24"]),
        "the RENEW's address did not replace the old lease's"
    );
    assert_eq!(
        w.dhcp_record("cli0")["pid"],
        ours,
        "the recorded dhclient changed"
    );
    let s = status(&sock);
    let cli0 = iface_or_panic(&s, "cli0");
    assert_eq!(
        address_origin(cli0, "198.18.0.77/24").as_deref(),
        Some("netconf"),
        "the renewed address:\n{cli0:#}"
    );
    assert_eq!(cli0["dhcp"][0]["pid"], ours, "cli0's dhclient:\n{cli0:#}");
    assert_eq!(cli0["management"], "managed", "cli0:\n{cli0:#}");
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(
        (&v0["management"], &v0["state"]),
        (&Value::from("managed"), &Value::from("up")),
        "v0 after the restart:\n{v0:#}"
    );

    // The hand-started dhclient: same process, still foreign.
    assert!(
        process_alive(hand) && process_cmdline(hand).contains("hand.leases"),
        "the hand-started dhclient {hand} is gone: {}",
        process_cmdline(hand)
    );
    assert!(
        !process_mentions(hand, "NETCONF_TOKEN"),
        "the hand-started dhclient carries a token"
    );
    let cli1 = iface_or_panic(&s, "cli1");
    assert_eq!(
        cli1["management"], "foreign",
        "cli1 after the restart:\n{cli1:#}"
    );
    assert!(
        cli1["dhcp"].as_array().is_none_or(|d| d.is_empty()),
        "netconf claims the hand-started dhclient:\n{cli1:#}"
    );

    // Given a stanza, cli1 is still not netconf's to start a second
    // dhclient on: ifup refuses, naming why, and the hand-started one lives.
    let file = w.path("interfaces");
    let mut text = std::fs::read_to_string(&file).expect("the interfaces file");
    text.push_str("\niface cli1 inet dhcp\n");
    std::fs::write(&file, text).expect("writing the interfaces file");
    let out = w.ifup(&["cli1"]);
    out.assert_code(1);
    out.assert_output_contains("run by a DHCP client netconf did not start");
    assert!(
        process_alive(hand),
        "ifup cli1 stopped the hand-started dhclient"
    );
}

// ---------------------------------------------------------------------------
// 3b. the dhclient of Debian's ifupdown, which netconf replaced while it ran

/// dhclient-script's address part (Debian's would also write the host's
/// /etc/resolv.conf), noting each reason it is run with.
const IFUPDOWN_DHCLIENT_SCRIPT: &str = r#"#!/bin/sh
echo "$reason" >>"${0%/*}/reasons"
case "$reason" in
BOUND|RENEW|REBIND|REBOOT) ip -4 addr replace "$new_ip_address/24" dev "$interface" ;;
RELEASE|STOP|EXPIRE|FAIL) [ -z "$old_ip_address" ] || ip -4 addr del "$old_ip_address/24" dev "$interface" ;;
esac
exit 0
"#;

/// `apt install netconf` on a system that runs Debian's ifupdown leaves
/// ifupdown's dhclient running (scripts/boot-test, scenario 3): netconf
/// shows the interface `foreign` and refuses to `ifup` it, and `ifdown`
/// takes it down as ifupdown's `ifdown` would: ifupdown's command line
/// again with `-r` (the lease released, that dhclient gone, its script's
/// address removed, the link down). Then `ifup` starts netconf's own.
#[test]
fn ifdown_releases_the_dhclient_debians_ifupdown_started() {
    let mut w = DhcpWorld::new(1, "auto cli0\niface cli0 inet dhcp\n", 60);
    w.start_server(false);
    w.cli.ip(&["link", "set", "cli0", "up"]);
    let script = w.path("dhclient-script");
    fs::write(&script, IFUPDOWN_DHCLIENT_SCRIPT).expect("the script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(w.path("hand.conf"), "").expect("hand.conf");
    let pid_file = w.path("dhclient.cli0.pid");
    // ifupdown 0.8.41's `inet dhcp` `up`, with the test's files: dhclient
    // goes into the background once it has a lease.
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        w.cli.name(),
        "dhclient",
        "-4",
        "-v",
        "-i",
        "-pf",
    ])
    .arg(&pid_file)
    .arg("-lf")
    .arg(w.path("dhclient.cli0.leases"))
    .arg("-I")
    .arg("-df")
    .arg(w.path("dhclient6.cli0.leases"))
    .arg("-cf")
    .arg(w.path("hand.conf"))
    .arg("-sf")
    .arg(&script)
    .arg("cli0")
    .env("PATH", PATH)
    .current_dir("/");
    run(c).assert_ok();
    let pid: u32 = fs::read_to_string(&pid_file)
        .expect("ifupdown's dhclient's pid file")
        .trim()
        .parse()
        .expect("a pid");
    let addr = leased_address(&w.cli, "cli0");

    w.start_daemon();
    let s = status(&w.socket());
    let cli0 = iface_or_panic(&s, "cli0");
    assert_eq!(
        cli0["management"], "foreign",
        "ifupdown's dhclient runs on cli0:\n{cli0:#}"
    );
    let out = w.ifup(&["cli0"]);
    out.assert_code(1);
    out.assert_output_contains("run by a DHCP client netconf did not start");

    let out = w.ifdown(&["cli0"]);
    out.assert_ok();
    wait_for("ifupdown's dhclient to exit", || {
        if process_alive(pid) {
            Err(format!("dhclient {pid} still runs"))
        } else {
            Ok(())
        }
    });
    let reasons = fs::read_to_string(w.path("reasons")).unwrap_or_default();
    assert!(
        reasons.lines().any(|r| r == "RELEASE"),
        "ifupdown's dhclient did not release its lease (its script's reasons: {reasons:?}):\n{out}"
    );
    assert!(
        !w.cli.global_addrs("cli0").contains(&format!("{addr}/24")),
        "{addr} is still on cli0 after ifdown:\n{out}"
    );
    assert!(
        !w.cli.is_up("cli0"),
        "cli0 is still up after ifdown (ifupdown's ifdown sets it down)"
    );

    w.ifup(&["cli0"]).assert_ok();
    let ours = w.dhcp_record("cli0")["pid"]
        .as_u64()
        .expect("the pid of netconf's dhclient");
    assert_ne!(ours, u64::from(pid));
    let s = status(&w.socket());
    let cli0 = iface_or_panic(&s, "cli0");
    assert_eq!(
        (&cli0["management"], &cli0["state"]),
        (&Value::from("managed"), &Value::from("up")),
        "cli0 after ifup:\n{cli0:#}"
    );
    leased_address(&w.cli, "cli0");
}

/// netconf removed in favour of Debian's ifupdown (`apt install ifupdown`:
/// scripts/boot-test's scenario 3): after netconfd stopped, the prerm's
/// netconf-handover writes ifupdown's state and starts netconfd's dhclient
/// again as ifupdown runs it, on the same lease, without a release: the
/// address stays, the new dhclient asks for it (REBOOT), and nothing is
/// left to run netconf's hook, which goes with the package.
#[test]
fn handover_restarts_netconfs_dhclient_as_ifupdown_runs_it() {
    let mut w = DhcpWorld::new(1, "auto cli0\niface cli0 inet dhcp\n", 60);
    w.start_server(false);
    w.start_daemon();
    w.ifup(&["cli0"]).assert_ok();
    let addr = leased_address(&w.cli, "cli0");
    let ours = w.dhcp_record("cli0")["pid"]
        .as_u64()
        .expect("the pid of netconf's dhclient") as u32;
    let up = run(w.client(&bins().ifquery, &["--state"]));
    up.assert_ok();
    fs::write(w.path("up"), &up.stdout).expect("the state");
    let stopped = w.daemon.take().expect("netconfd").stop(libc::SIGTERM);
    assert!(stopped.success(), "netconfd after SIGTERM: {stopped}");
    assert!(process_alive(ours), "netconf's dhclient died with netconfd");

    let script = w.path("dhclient-script");
    fs::write(&script, IFUPDOWN_DHCLIENT_SCRIPT).expect("the script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(w.path("hand.conf"), "").expect("hand.conf");
    let dir = w
        .path("")
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string();
    let mut copy = fs::read_to_string(repo_root().join("debian-integration/lib/netconf-handover"))
        .expect("netconf-handover");
    for (line, ours) in [
        (
            "SOCKET=/run/netconf/ctl.sock",
            format!("SOCKET={}", w.socket().display()),
        ),
        (
            "IFSTATE_DIR=/run/network",
            format!("IFSTATE_DIR={dir}/ifupdown-run"),
        ),
        ("DHCP_STATE=/var/lib/dhcp", format!("DHCP_STATE={dir}/dhcp")),
        ("PID_DIR=/run", format!("PID_DIR={dir}")),
        (
            "DHCLIENT_EXTRA=",
            format!(
                "DHCLIENT_EXTRA=\"-cf {dir}/hand.conf -sf {script}\"",
                script = script.display()
            ),
        ),
        (
            "SYSTEMD_DIR=/run/systemd/system",
            format!("SYSTEMD_DIR={dir}/no-systemd"),
        ),
    ] {
        let at = copy
            .find(&format!("\n{line}\n"))
            .unwrap_or_else(|| panic!("no line {line}"));
        copy.replace_range(at + 1..at + 1 + line.len(), &ours);
    }
    fs::write(w.path("handover"), copy).expect("the copy");
    let mut c = Command::new("ip");
    c.args(["netns", "exec", w.cli.name(), "sh", "-c"])
        .arg(format!("sh {dir}/handover <{dir}/up"))
        .env("PATH", PATH)
        .current_dir("/");
    let out = run(c);
    out.assert_ok();

    wait_for("netconf's dhclient to exit", || {
        if process_alive(ours) {
            Err(format!("dhclient {ours} still runs"))
        } else {
            Ok(())
        }
    });
    wait_for("the new dhclient's REBOOT", || {
        let reasons = fs::read_to_string(w.path("reasons")).unwrap_or_default();
        if reasons.lines().any(|r| r == "REBOOT") {
            Ok(())
        } else {
            Err(format!("its script's reasons: {reasons:?}"))
        }
    });
    let pid: u32 = fs::read_to_string(w.path("dhclient.cli0.pid"))
        .expect("the new dhclient's pid file, where ifupdown keeps it")
        .trim()
        .parse()
        .expect("a pid");
    assert!(process_alive(pid), "the new dhclient {pid} exited");
    let cmdline = process_cmdline(pid);
    assert!(
        cmdline.contains("dhclient.cli0.leases") && !cmdline.contains("NETCONF_TOKEN"),
        "the new dhclient: {cmdline}"
    );
    assert_eq!(leased_address(&w.cli, "cli0"), addr, "the address changed");
    // ifupdown's state as its own ifup leaves it: `ifquery --state` reads
    // `ifstate`, `ifdown` reads `ifstate.PHYS` (the logical name).
    assert_eq!(
        fs::read_to_string(w.path("ifupdown-run/ifstate.cli0")).unwrap_or_default(),
        "cli0\n",
        "ifupdown's ifstate.cli0"
    );
    let mut c = Command::new(debian_sbin().join("ifquery"));
    c.arg("--state")
        .arg("-i")
        .arg(w.path("interfaces"))
        .arg("--state-dir")
        .arg(w.path("ifupdown-run"))
        .env_clear()
        .env("PATH", PATH)
        .current_dir("/");
    let out = run(c);
    out.assert_ok();
    assert_eq!(
        out.stdout, "cli0=cli0\n",
        "Debian's ifquery --state:\n{out}"
    );
}

// ---------------------------------------------------------------------------
// 4. a burst of 10,000 changes by others: the mirror ends equal to the kernel

/// Each interface's addresses as `ip -j addr` has them (`addr/len`).
fn kernel_addresses(ns: &Netns) -> BTreeMap<String, BTreeSet<String>> {
    ns.ip_json(&["addr", "show"])
        .iter()
        .map(|l| {
            let name = l["ifname"].as_str().unwrap_or("?").to_string();
            let addrs = l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or("?"), a["prefixlen"]))
                .collect();
            (name, addrs)
        })
        .collect()
}

fn status_addresses(status: &Value) -> BTreeMap<String, BTreeSet<String>> {
    status["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| !i["link"].is_null())
        .map(|i| {
            let name = i["name"].as_str().unwrap_or("?").to_string();
            let addrs = i["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["address"].as_str().map(String::from))
                .collect();
            (name, addrs)
        })
        .collect()
}

/// A route as `destination gateway metric table`, both sides written alike.
fn route_key(v6: bool, dst: Option<&str>, gw: Option<&str>, metric: u64, table: u64) -> String {
    let dst = match dst {
        None | Some("default") => (if v6 { "::/0" } else { "0.0.0.0/0" }).to_string(),
        Some(d) if d.contains('/') => d.to_string(),
        Some(d) => format!("{d}/{}", if v6 { 128 } else { 32 }),
    };
    format!(
        "{dst} via {} metric {metric} table {table}",
        gw.unwrap_or("-")
    )
}

fn table_number(t: &Value) -> u64 {
    match t.as_str() {
        None => t.as_u64().unwrap_or(254),
        Some("main") => 254,
        Some("local") => 255,
        Some("default") => 253,
        Some(n) => n.parse().unwrap_or(0),
    }
}

/// Each interface's routes outside the local table, from `ip -j route`.
fn kernel_routes(ns: &Netns) -> BTreeMap<String, BTreeSet<String>> {
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (fam, v6) in [("-4", false), ("-6", true)] {
        for r in ns.ip_json(&[fam, "route", "show", "table", "all"]) {
            let table = table_number(&r["table"]);
            let Some(dev) = r["dev"].as_str() else {
                continue;
            };
            if table == 255 {
                continue;
            }
            let key = route_key(
                v6,
                r["dst"].as_str(),
                r["gateway"].as_str(),
                r["metric"].as_u64().unwrap_or(0),
                table,
            );
            all.entry(dev.to_string()).or_default().insert(key);
        }
    }
    all
}

fn status_routes(status: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in status["interfaces"].as_array().into_iter().flatten() {
        let Some(name) = i["link"]["name"].as_str() else {
            continue;
        };
        for r in i["routes"].as_array().into_iter().flatten() {
            let key = route_key(
                r["family"] == "inet6",
                r["destination"].as_str(),
                r["gateway"].as_str(),
                r["metric"].as_u64().unwrap_or(0),
                r["table"].as_u64().unwrap_or(0),
            );
            all.entry(name.to_string()).or_default().insert(key);
        }
    }
    all
}

/// What differs between two maps of sets, shortened for a message.
fn map_diff(
    left_name: &str,
    left: &BTreeMap<String, BTreeSet<String>>,
    right_name: &str,
    right: &BTreeMap<String, BTreeSet<String>>,
) -> String {
    let mut out = String::new();
    let names: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    let empty = BTreeSet::new();
    for name in names {
        let l = left.get(name).unwrap_or(&empty);
        let r = right.get(name).unwrap_or(&empty);
        let only_l: Vec<&String> = l.difference(r).take(10).collect();
        let only_r: Vec<&String> = r.difference(l).take(10).collect();
        if !only_l.is_empty() || !only_r.is_empty() {
            out.push_str(&format!(
                "{name}: {} only in {left_name} (first: {only_l:?}), {} only in {right_name} \
                 (first: {only_r:?})\n",
                l.difference(r).count(),
                r.difference(l).count()
            ));
        }
    }
    out
}

#[test]
fn burst_of_10000_external_changes_ends_with_status_equal_to_the_kernel() {
    let h = Harness::new();
    let sock = h.socket();
    h.ns.veth("v0");
    h.ns.veth("w0");
    h.ns.ip(&["link", "set", "w0", "up"]);
    h.write_interfaces(
        "\
iface v0 inet static
    address 198.51.100.10/24
    gateway 198.51.100.1
",
    );
    h.ifup(&["v0"]).assert_ok();
    h.ns.settle();

    // 6,000 additions, 3,000 removals of those, 1,000 routes: on the managed
    // v0 and the unmanaged w0, interleaved.
    let a = |i: usize| format!("198.18.{}.{}/32", 10 + i / 250, i % 250 + 1);
    let b = |i: usize| format!("198.18.{}.{}/32", 100 + i / 250, i % 250 + 1);
    let mut batch = String::new();
    let mut lines = 0;
    for i in 0..3000 {
        batch.push_str(&format!("address add {} dev v0\n", a(i)));
        batch.push_str(&format!("address add {} dev w0\n", b(i)));
        lines += 2;
        if i % 2 == 1 {
            batch.push_str(&format!("address del {} dev v0\n", a(i - 1)));
            batch.push_str(&format!("address del {} dev w0\n", b(i)));
            lines += 2;
        }
        if i % 6 == 5 {
            let n = i / 6;
            batch.push_str(&format!("route add 2001:db8:a:{n:x}::/64 dev v0\n"));
            batch.push_str(&format!("route add 2001:db8:b:{n:x}::/64 dev w0\n"));
            lines += 2;
        }
    }
    assert_eq!(lines, 10_000, "the batch");
    let started = Instant::now();
    h.ns.batch(&batch);
    let applied = Instant::now();

    let mut kernel_addrs = BTreeMap::new();
    let mut s = Value::Null;
    let mut caught_up = Duration::ZERO;
    wait_for("status to equal the kernel", || {
        s = status(&sock);
        caught_up = applied.elapsed();
        kernel_addrs = kernel_addresses(&h.ns);
        let kernel_rts = kernel_routes(&h.ns);
        let mut why = map_diff("status", &status_addresses(&s), "the kernel", &kernel_addrs);
        why.push_str(&map_diff(
            "status",
            &status_routes(&s),
            "the kernel",
            &kernel_rts,
        ));
        if why.is_empty() {
            Ok(())
        } else {
            Err(format!("addresses/routes differ:\n{why}"))
        }
    });
    println!(
        "latency: burst of 10,000 external changes: ip -batch took {:.1} ms; the status that \
         equalled the kernel returned {:.1} ms after ip -batch did",
        ms(applied - started),
        ms(caught_up),
    );
    // The outcome is the one the batch meant, and status says whose it is.
    let expect_v0 = (0..3000).filter(|i| i % 2 == 1).count() + 1;
    assert_eq!(
        kernel_addrs["v0"]
            .iter()
            .filter(|x| !x.starts_with("fe80:"))
            .count(),
        expect_v0,
        "v0's addresses after the burst"
    );
    let v0 = iface_or_panic(&s, "v0");
    assert_eq!(
        address_origin(v0, &a(2999)).as_deref(),
        Some("external"),
        "an address of the burst on v0"
    );
    assert_eq!(v0["state"], "differs", "v0 after the burst");
    let w0 = iface_or_panic(&s, "w0");
    assert_eq!(
        address_origin(w0, &b(2998)).as_deref(),
        Some("foreign"),
        "an address of the burst on w0"
    );
    // The daemon keeps answering with the same picture.
    let again = status(&sock);
    assert_eq!(
        status_addresses(&again),
        kernel_addresses(&h.ns),
        "status drifted after the burst"
    );
}

// ---------------------------------------------------------------------------
// 5. ifreload: only what changed

fn reload_config(h: &Harness, b_hooks: bool, b_addr: &str, c: bool, d: bool) -> String {
    let mut auto = vec!["a0", "b0"];
    if c {
        auto.push("c0");
    }
    if d {
        auto.push("d0");
    }
    let mut text = format!(
        "auto {}\n\niface a0 inet static\n    address 198.51.100.1/24\n\n\
         iface b0 inet static\n    address {b_addr}\n",
        auto.join(" ")
    );
    if b_hooks {
        text.push_str(&format!(
            "    down echo down >> {m}\n    post-down echo post-down >> {m}\n",
            m = h.path("b0-hooks").display()
        ));
    }
    if c {
        text.push_str("\niface c0 inet static\n    address 198.18.2.1/24\n");
    }
    if d {
        text.push_str("\niface d0 inet static\n    address 198.18.4.1/24\n");
    }
    text
}

fn ifreload(h: &Harness, args: &[&str]) -> Out {
    run(h.client(&bins().ifreload, args))
}

#[test]
fn ifreload_changes_only_what_changed() {
    let h = Harness::new();
    for dev in ["a0", "b0", "c0", "d0"] {
        h.ns.veth(dev);
    }
    h.write_interfaces(&reload_config(&h, true, "203.0.113.1/24", true, false));
    h.ifup(&["-a"]).assert_ok();
    h.ns.settle();
    let snap = |dev: &str| h.ns.snapshot(dev);
    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);

    // The file as it was: nothing to do.
    let out = ifreload(&h, &["-a"]);
    out.assert_ok();
    for dev in ["a0", "b0", "c0"] {
        out.assert_output_contains(&format!("{dev}: unchanged"));
    }
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "ifreload -a of an unchanged file changed the kernel:\n{}\n{out}",
        events.join("\n")
    );

    // One stanza of three changed, and its old down hooks are gone from
    // the file: they run all the same, on the way down.
    let (a_before, c_before) = (snap("a0"), snap("c0"));
    h.write_interfaces(&reload_config(&h, false, "203.0.113.2/24", true, false));
    let out = ifreload(&h, &["-a"]);
    out.assert_ok();
    out.assert_output_contains("b0: reconfigure");
    out.assert_output_contains("a0: unchanged");
    out.assert_output_contains("c0: unchanged");
    let events = monitor.fence(&h.ns);
    for dev in ["a0", "c0"] {
        let about = events_about(&events, dev);
        assert!(
            about.is_empty(),
            "reloading b0 touched {dev}:\n{}\n{out}",
            about
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        !events_about(&events, "b0").is_empty(),
        "b0 was not touched:\n{out}"
    );
    assert_eq!(snap("a0"), a_before, "a0 changed");
    assert_eq!(snap("c0"), c_before, "c0 changed");
    assert_eq!(
        h.ns.global_addrs("b0"),
        set(&["203.0.113.2/24"]),
        "b0 after its stanza changed"
    );
    assert!(h.ns.is_up("b0"), "b0 is down after the reload");
    let hooks = fs::read_to_string(h.path("b0-hooks")).unwrap_or_default();
    assert_eq!(
        hooks, "down\npost-down\n",
        "the old stanza's down and post-down lines must have run, once each, in order"
    );

    // c0's stanza removed, d0 a new auto stanza: -n shows it and does nothing.
    h.write_interfaces(&reload_config(&h, false, "203.0.113.2/24", false, true));
    let before: Vec<String> = ["a0", "b0", "c0", "d0"].iter().map(|d| snap(d)).collect();
    let out = ifreload(&h, &["-a", "-n"]);
    out.assert_ok();
    out.assert_output_contains("c0: down");
    out.assert_output_contains("d0: up");
    out.assert_output_contains("a0: unchanged");
    out.assert_output_contains("b0: unchanged");
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "ifreload -a -n changed the kernel:\n{}\n{out}",
        events.join("\n")
    );
    let after: Vec<String> = ["a0", "b0", "c0", "d0"].iter().map(|d| snap(d)).collect();
    assert_eq!(
        after, before,
        "ifreload -a -n changed an interface (a0, b0, c0, d0)"
    );
    assert_eq!(
        configured(&h),
        set(&["a0=a0", "b0=b0", "c0=c0"]),
        "ifquery --state after -n"
    );

    // Now for real: c0 goes down, d0 comes up, a0 and b0 stay as they are.
    let out = ifreload(&h, &["-a"]);
    out.assert_ok();
    let events = monitor.fence(&h.ns);
    for dev in ["a0", "b0"] {
        let about = events_about(&events, dev);
        assert!(
            about.is_empty(),
            "the reload touched {dev}:\n{}\n{out}",
            about
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert_eq!(snap("a0"), before[0], "a0 changed");
    assert_eq!(snap("b0"), before[1], "b0 changed");
    assert_eq!(h.ns.global_addrs("c0"), BTreeSet::new(), "c0's addresses");
    assert!(!h.ns.is_up("c0"), "c0, whose stanza went, is still up");
    assert_eq!(h.ns.global_addrs("d0"), set(&["198.18.4.1/24"]), "d0");
    assert!(h.ns.is_up("d0"), "the new auto d0 is not up");
    assert_eq!(
        configured(&h),
        set(&["a0=a0", "b0=b0", "d0=d0"]),
        "ifquery --state after the reload"
    );
}

/// What `ifquery --state` lists, without `lo` (which `ifup -a` brings up
/// too, as Debian's does).
fn configured(h: &Harness) -> BTreeSet<String> {
    h.state().into_iter().filter(|l| l != "lo=lo").collect()
}

// ---------------------------------------------------------------------------
// 6. monitor

/// `netconfctl monitor --json`, its lines read by a thread.
struct MonitorClient {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl MonitorClient {
    fn start(socket: &Path) -> MonitorClient {
        let (child, lines) = spawn_lines(netconfctl(socket, &["monitor", "--json"]));
        MonitorClient {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one (parsed) satisfies `want`; panics with every
    /// line seen after the safety net.
    fn expect(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                        panic!("monitor printed a non-JSON line ({e}): {line}")
                    });
                    if want(&v) {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "netconfctl monitor never printed {what} (safety net); it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for MonitorClient {
    fn drop(&mut self) {
        // Child::kill signals the PID we started, not yet reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn monitor_streams_requests_events_and_external_changes() {
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.veth("w0");
    h.ns.ip(&["link", "set", "w0", "up"]);
    h.write_interfaces("iface v0 inet static\n    address 198.51.100.10/24\n");
    let mut m = MonitorClient::start(&h.socket());
    m.expect("its greeting", |v| v["step"] == "monitor");

    h.ifup(&["v0"]).assert_ok();
    m.expect("the request", |v| {
        v["step"] == "request" && v["message"] == "ifup v0"
    });
    m.expect("netconf's own kernel change", |v| {
        v["step"] == "kernel"
            && v["iface"] == "v0"
            && v["message"]
                .as_str()
                .is_some_and(|s| s.contains("198.51.100.10/24 added") && s.ends_with("(netconf)"))
    });
    m.expect("the interface's event done", |v| {
        v["step"] == "event" && v["iface"] == "v0" && v["message"] == "ifup v0: done"
    });
    m.expect("the request done", |v| {
        v["step"] == "event" && v["message"] == "request: done"
    });

    let t = Instant::now();
    h.ns.ip(&["addr", "add", "203.0.113.9/24", "dev", "v0"]);
    m.expect("the external change", |v| {
        v["step"] == "kernel"
            && v["iface"] == "v0"
            && v["message"] == "address 203.0.113.9/24 added (external)"
    });
    println!(
        "latency: external `ip addr add` -> netconfctl monitor line: {:.1} ms",
        ms(t.elapsed())
    );
    h.ns.ip(&["addr", "add", "203.0.113.10/24", "dev", "w0"]);
    m.expect("the foreign change", |v| {
        v["step"] == "kernel"
            && v["iface"] == "w0"
            && v["message"] == "address 203.0.113.10/24 added (foreign)"
    });
    let pid = m.child.id();
    drop(m);
    assert!(!process_alive(pid), "netconfctl monitor {pid} still runs");
}

// ---------------------------------------------------------------------------
// 7. wait-online

#[test]
fn wait_online_returns_once_the_auto_dhcp_interface_is_up() {
    let mut w = DhcpWorld::new(1, "", 60);
    let go = w.path("go");
    fs::write(
        w.path("interfaces"),
        format!(
            "auto cli0\niface cli0 inet dhcp\n    \
             post-up while [ ! -e {go} ]; do sleep 0.05; done\n",
            go = go.display()
        ),
    )
    .expect("interfaces");
    w.start_server(false);
    w.start_daemon();
    let sock = w.socket();

    let mut waiter = netconfctl(&sock, &["wait-online", "--timeout", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting netconfctl wait-online");
    let stderr = waiter.stderr.take().expect("wait-online's stderr");
    let (tx, lines) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    loop {
        match lines.recv_timeout(WAIT_TIMEOUT) {
            Ok(line) => {
                let waiting = line.contains("waiting for") && line.contains("cli0");
                said.push(line);
                if waiting {
                    break;
                }
            }
            Err(_) => panic!(
                "wait-online never said it waits for cli0 (safety net):\n{}",
                said.join("\n")
            ),
        }
    }
    assert!(
        matches!(waiter.try_wait(), Ok(None)),
        "wait-online exited before anything was brought up:\n{}",
        said.join("\n")
    );

    let ifup = Running::spawn(w.client(&bins().ifup, &["-a"]));
    // The lease is in the kernel; ifup still runs its post-up line, so the
    // interface is not configured yet and wait-online must still wait.
    wait_status(
        &sock,
        "cli0's lease, ifup still running",
        Instant::now(),
        |s| {
            let cli0 = iface(s, "cli0").ok_or("no cli0")?;
            let leased = cli0["addresses"].as_array().into_iter().flatten().any(|a| {
                a["address"]
                    .as_str()
                    .is_some_and(|x| x.starts_with("198.18.0."))
            });
            if leased && cli0["state"] == "configuring" {
                Ok(())
            } else {
                Err("no lease yet".into())
            }
        },
    );
    let early = waiter.try_wait();
    assert!(
        matches!(early, Ok(None)),
        "wait-online returned ({early:?}) while ifup -a was still running its post-up line"
    );
    fs::write(&go, "").expect("opening the gate");
    let up = ifup.wait();
    up.assert_ok();
    let mut status = None;
    wait_until("wait-online to exit", || {
        status = waiter.try_wait().ok().flatten();
        status.is_some()
    });
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        said.push(line);
    }
    let status = status.expect("wait-online's status");
    assert!(
        status.success(),
        "wait-online failed ({status}):\n{}",
        said.join("\n")
    );
    assert!(
        said.iter().any(|l| l.contains("online after")),
        "wait-online did not say it is online:\n{}",
        said.join("\n")
    );
    let s = status_of(&sock, "cli0");
    assert_eq!(s["state"], "up", "cli0 when wait-online returned:\n{s:#}");
}

fn status_of(socket: &Path, name: &str) -> Value {
    let s = status(socket);
    iface_or_panic(&s, name).clone()
}

#[test]
fn wait_online_without_a_dhcp_server_times_out_naming_the_interface() {
    let mut w = DhcpWorld::new(1, "auto cli0\niface cli0 inet dhcp\n", 5);
    w.start_daemon();
    let sock = w.socket();
    let ifup = Running::spawn(w.client(&bins().ifup, &["-a"]));
    let out = run(netconfctl(&sock, &["wait-online", "--timeout", "2"]));
    out.assert_code(1);
    out.assert_output_contains("cli0");
    out.assert_output_contains("timed out after 2 s");
    // No server: the ifup fails once its --dhcp-timeout has passed.
    let up = ifup.wait();
    up.assert_code(1);
    let s = status_of(&sock, "cli0");
    assert_ne!(s["state"], "up", "cli0 with no DHCP server:\n{s:#}");
}

/// A changed stanza is reconfigured by difference: what the old and the new
/// stanza both want stays in place (no removal, no re-add, the link not set
/// down), only the difference is written, the old stanza's down hooks run,
/// and what stayed counts as netconf's afterwards (ifdown takes it out).
#[test]
fn ifreload_reconfigures_a_changed_stanza_by_difference() {
    let h = Harness::new();
    h.ns.veth("b0");
    let marker = h.path("down-ran");
    let stanza = |second: &str, hook: bool| {
        let mut text = format!(
            "auto b0\niface b0 inet static\n    address 198.51.100.1/24\n    \
             address {second}\n    gateway 198.51.100.254\n"
        );
        if hook {
            text.push_str(&format!("    down echo down >> {}\n", marker.display()));
        }
        text
    };
    h.write_interfaces(&stanza("203.0.113.1/24", true));
    h.ifup(&["-a"]).assert_ok();
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    let _ = monitor.fence(&h.ns);

    h.write_interfaces(&stanza("203.0.113.2/24", false));
    let out = ifreload(&h, &["-a"]);
    out.assert_ok();
    out.assert_output_contains("b0: reconfigure");
    let events = monitor.fence(&h.ns);
    let text = events.join("\n");
    assert!(
        !text.contains("198.51.100.1/24") && !text.contains("198.51.100.254"),
        "the address and gateway both stanzas want were touched:\n{text}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.contains("b0") && e.contains("state DOWN")),
        "the link went down:\n{text}"
    );
    assert!(
        text.contains("203.0.113.1/24"),
        "the old address did not go:\n{text}"
    );
    assert!(
        text.contains("203.0.113.2/24"),
        "the new address did not come:\n{text}"
    );
    assert_eq!(
        h.ns.global_addrs("b0"),
        ["198.51.100.1/24", "203.0.113.2/24"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        fs::read_to_string(&marker).unwrap_or_default(),
        "down\n",
        "the old stanza's down hook did not run"
    );

    // What stayed through the reload is netconf's: ifdown takes it all.
    h.ifdown(&["b0"]).assert_ok();
    assert!(
        h.ns.global_addrs("b0").is_empty(),
        "{:?}",
        h.ns.global_addrs("b0")
    );
    assert!(h.ns.default_routes("-4").is_empty(), "the gateway stayed");
}

/// A new `auto` name that only a `mapping` leads to a stanza is brought up
/// by the reload, through the mapping, as `ifup -a` would.
#[test]
fn ifreload_brings_up_a_new_auto_interface_through_its_mapping() {
    let h = Harness::new();
    h.ns.veth("m0");
    let script = h.path("map.sh");
    fs::write(&script, "#!/bin/sh\necho m0-home\n").expect("mapping script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    h.write_interfaces("iface m0-home inet static\n    address 198.51.100.7/24\n");
    h.ifup(&["-a"]).assert_ok();
    assert!(h.ns.global_addrs("m0").is_empty());

    h.write_interfaces(&format!(
        "auto m0\nmapping m*\n    script {}\n\niface m0-home inet static\n    address 198.51.100.7/24\n",
        script.display()
    ));
    let out = ifreload(&h, &["-a"]);
    out.assert_ok();
    out.assert_output_contains("m0: up (new auto interface)");
    assert_eq!(
        h.ns.global_addrs("m0"),
        ["198.51.100.7/24"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    assert!(
        h.state().contains(&"m0=m0-home".to_string()),
        "ifquery --state: {:?}",
        h.state()
    );
}
