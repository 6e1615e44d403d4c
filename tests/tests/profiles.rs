//! Profiles (netconf-profiles(5)): enabling one switches by difference,
//! prioritized units follow the carrier of their links (veth pairs whose
//! far end is set down and up), a better group takes over after the
//! hold-down, and a daemon killed and started again keeps the active
//! profile without writing anything.

use netconf_tests::{bins, eventually, run, wait_until, DaemonOptions, Harness, Out};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A harness whose netconfd reads profiles from a directory of the test's
/// and waits `hold_down` seconds before a better group takes over.
fn harness(hold_down: &str) -> (Harness, tempfile::TempDir) {
    let config = tempfile::Builder::new()
        .prefix("nct-netconf-")
        .tempdir()
        .expect("config dir");
    std::fs::create_dir_all(config.path().join("profiles")).expect("profiles dir");
    let options = DaemonOptions {
        extra: vec![
            "--config-dir".into(),
            config.path().into(),
            "--hold-down".into(),
            hold_down.into(),
        ],
        ..DaemonOptions::default()
    };
    (Harness::with_options(options), config)
}

fn write_profile(config: &Path, name: &str, text: &str) -> PathBuf {
    let path = config.join("profiles").join(name);
    std::fs::write(&path, text).expect("writing a profile");
    path
}

fn ctl(h: &Harness, args: &[&str]) -> Out {
    run(h.client(&bins().netconfctl, args))
}

fn status(h: &Harness) -> Value {
    let out = ctl(h, &["status", "--json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout).expect("status --json is JSON")
}

fn has_addr(h: &Harness, dev: &str, addr: &str) -> bool {
    h.ns.global_addrs(dev).contains(addr)
}

/// Waits until exactly `up` of `all` carry their address (`dev` → address).
fn wait_configured(h: &Harness, all: &[(&str, &str)], up: &[&str]) {
    let done = eventually(20, || {
        all.iter()
            .all(|(dev, addr)| has_addr(h, dev, addr) == up.contains(dev))
    });
    let now: Vec<(&str, bool)> = all
        .iter()
        .map(|(dev, addr)| (*dev, has_addr(h, dev, addr)))
        .collect();
    assert!(
        done,
        "wanted {up:?} configured, have {now:?}\n{}",
        h.daemon_log()
    );
}

/// Whether an `ip monitor` line is about link `dev`.
fn mentions(line: &str, dev: &str) -> bool {
    line.split_whitespace().any(|w| {
        let w = w.trim_end_matches(':');
        w == dev || w.starts_with(&format!("{dev}@"))
    })
}

const LEGACY: &str = "\
auto va
iface va inet static
    address 198.51.100.1/24

auto vb
iface vb inet static
    address 203.0.113.1/24
";

const OFFICE: &str = "\
auto va
iface va inet static
    address 198.51.100.1/24

auto vc
iface vc inet static
    address 198.18.0.1/24
";

#[test]
fn enabling_a_profile_switches_by_difference_and_survives_kill_9() {
    let (mut h, config) = harness("0.5");
    for dev in ["va", "vb", "vc"] {
        h.ns.veth(dev);
    }
    h.write_interfaces(LEGACY);
    h.ifup(&["-a"]).assert_ok();
    assert!(has_addr(&h, "va", "198.51.100.1/24"));
    assert!(has_addr(&h, "vb", "203.0.113.1/24"));
    // Under the default, status says nothing of profiles in its text.
    let text = ctl(&h, &["status"]);
    assert!(!text.stdout.contains("profile"), "{text}");
    assert_eq!(status(&h)["profile"]["name"], "legacy");

    write_profile(config.path(), "office", OFFICE);
    let list = ctl(&h, &["profile", "list"]);
    list.assert_ok();
    assert!(list.stdout.contains("* legacy"), "{list}");
    assert!(list.stdout.contains("  office"), "{list}");

    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    ctl(&h, &["profile", "enable", "office"]).assert_ok();
    let events = monitor.fence(&h.ns);
    // What both want (va) is not touched; vb goes, vc comes.
    assert!(
        events.iter().all(|e| !mentions(e, "va")),
        "enabling office touched va:\n{}",
        events.join("\n")
    );
    assert!(has_addr(&h, "va", "198.51.100.1/24"));
    assert!(!has_addr(&h, "vb", "203.0.113.1/24"));
    assert!(has_addr(&h, "vc", "198.18.0.1/24"));
    let s = status(&h);
    assert_eq!(s["profile"]["name"], "office", "{s:#}");
    assert_eq!(s["profile"]["why"]["by"], "enabled", "{s:#}");
    let text = ctl(&h, &["status"]);
    assert!(
        text.stdout.starts_with("profile office: enabled by root"),
        "{text}"
    );
    // `ifup` without a file acts on the active profile.
    h.ifdown(&["vc"]).assert_ok();
    assert!(!has_addr(&h, "vc", "198.18.0.1/24"));
    h.ifup(&["vc"]).assert_ok();
    assert!(has_addr(&h, "vc", "198.18.0.1/24"));

    // An invalid profile is refused whole, every error named, and nothing
    // changes.
    let bad = write_profile(
        config.path(),
        "broken",
        "iface va inet static\n    address 198.51.100.1/24\n    activation sometimes\n\
         iface vb inet dhcp\n    activation prioritized\n",
    );
    h.ns.settle();
    monitor.fence(&h.ns);
    let out = ctl(&h, &["profile", "enable", "broken"]);
    out.assert_code(1);
    let bad = bad.display();
    out.assert_output_contains(&format!("{bad}:3: va: activation: \"sometimes\""));
    out.assert_output_contains(&format!(
        "{bad}:4: vb: activation prioritized needs a priority-group"
    ));
    assert!(monitor.fence(&h.ns).is_empty());
    assert_eq!(status(&h)["profile"]["name"], "office");
    let show = ctl(&h, &["profile", "show", "broken", "--json"]);
    show.assert_code(1);

    // kill -9 and a restart: the same profile, nothing written.
    h.ns.settle();
    monitor.fence(&h.ns);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon();
    // The first look after the start has been taken.
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctl(&h, &["status"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the restart wrote:\n{}",
        events.join("\n")
    );
    assert_eq!(status(&h)["profile"]["name"], "office");
    // A reload re-reads the profile: unchanged, nothing written.
    ctl(&h, &["reload"]).assert_ok();
    assert!(monitor.fence(&h.ns).is_empty());

    // Back to legacy, by difference again.
    ctl(&h, &["profile", "enable", "legacy"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(events.iter().all(|e| !mentions(e, "va")), "{events:?}");
    assert!(has_addr(&h, "vb", "203.0.113.1/24"));
    assert!(!has_addr(&h, "vc", "198.18.0.1/24"));
}

fn prioritized(mode: &str) -> String {
    format!(
        "\
iface w1 inet static
    address 198.51.100.1/24
    gateway 198.51.100.254
    activation prioritized
    priority-group 1
    priority-group-mode {mode}

iface w2 inet static
    address 203.0.113.1/24
    gateway 203.0.113.254
    activation prioritized
    priority-group 1

iface wl inet static
    address 198.18.0.1/24
    gateway 198.18.0.254
    activation prioritized
    priority-group 0
    priority-group-mode {mode}
"
    )
}

const LINKS: [(&str, &str); 3] = [
    ("w1", "198.51.100.1/24"),
    ("w2", "203.0.113.1/24"),
    ("wl", "198.18.0.1/24"),
];

fn carrier(h: &Harness, dev: &str, on: bool) {
    let state = if on { "up" } else { "down" };
    h.ns.ip(&["link", "set", &format!("{dev}p"), state]);
}

fn prioritized_harness(mode: &str, hold_down: &str) -> (Harness, tempfile::TempDir) {
    let (h, config) = harness(hold_down);
    for (dev, _) in LINKS {
        h.ns.veth(dev);
    }
    write_profile(config.path(), "roaming", &prioritized(mode));
    ctl(&h, &["profile", "enable", "roaming"]).assert_ok();
    (h, config)
}

#[test]
fn exclusive_falls_back_and_takes_over_after_the_hold_down() {
    let (mut h, _config) = prioritized_harness("exclusive", "1");
    wait_configured(&h, &LINKS, &["w1"]);
    let show = ctl(&h, &["profile", "show", "roaming"]);
    show.assert_output_contains("w1        prioritized, priority group 1 (exclusive)");

    // The cable of w1 pulled: w2, of the same group.
    carrier(&h, "w1", false);
    wait_configured(&h, &LINKS, &["w2"]);
    // w1 back: w2 works and stays (same group, no flapping).
    carrier(&h, "w1", true);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    wait_configured(&h, &LINKS, &["w2"]);
    // Both wired cables out: the wireless group.
    carrier(&h, "w1", false);
    carrier(&h, "w2", false);
    wait_configured(&h, &LINKS, &["wl"]);
    assert_eq!(status(&h)["profile"]["group"], 0);

    // kill -9 and restart while on the fallback: same profile, same
    // units, nothing written.
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctl(&h, &["status"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the restart wrote:\n{}",
        events.join("\n")
    );
    let s = status(&h);
    assert_eq!(s["profile"]["name"], "roaming");
    assert_eq!(s["profile"]["selected"], serde_json::json!(["wl"]));

    // A wired cable back: the hold-down first, then the better group.
    let mut watch = std::process::Command::new(&bins().netconfctl);
    watch
        .arg("--socket")
        .arg(h.socket())
        .arg("monitor")
        .stdout(std::process::Stdio::piped());
    let (mut child, lines) = netconf_tests::spawn_lines(watch);
    carrier(&h, "w2", true);
    wait_configured(&h, &LINKS, &["w2"]);
    let _ = child.kill();
    let _ = child.wait();
    let seen: Vec<String> = lines.try_iter().collect();
    let held = seen
        .iter()
        .position(|l| l.contains("taking over after 1.0 s"))
        .unwrap_or_else(|| panic!("no hold-down announced: {seen:#?}"));
    let switched = seen
        .iter()
        .position(|l| l.contains("profile roaming: w2 (priority group 1)"))
        .unwrap_or_else(|| panic!("no switch shown: {seen:#?}"));
    assert!(held < switched, "{seen:#?}");
    assert!(
        seen[switched].contains("cause: w2: carrier, after the hold-down"),
        "{seen:#?}"
    );
}

#[test]
fn a_flapping_cable_does_not_flap_the_network() {
    let (h, _config) = prioritized_harness("exclusive", "3");
    carrier(&h, "w1", false);
    carrier(&h, "w2", false);
    wait_configured(&h, &LINKS, &["wl"]);
    // w1 comes and goes within the hold-down: wl stays.
    for _ in 0..3 {
        carrier(&h, "w1", true);
        std::thread::sleep(std::time::Duration::from_millis(200));
        carrier(&h, "w1", false);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(3500));
    wait_configured(&h, &LINKS, &["wl"]);
}

#[test]
fn shared_uses_every_link_of_the_best_group() {
    let (h, _config) = prioritized_harness("shared", "0.5");
    wait_configured(&h, &LINKS, &["w1", "w2"]);
    carrier(&h, "w1", false);
    wait_configured(&h, &LINKS, &["w2"]);
    carrier(&h, "w2", false);
    wait_configured(&h, &LINKS, &["wl"]);
}

#[test]
fn all_uses_every_group_and_prefers_the_best_by_metric() {
    let (h, _config) = prioritized_harness("all", "0.5");
    wait_configured(&h, &LINKS, &["w1", "w2", "wl"]);
    let metric_of = |gw: &str| {
        h.ns.default_routes("-4")
            .iter()
            .find(|r| r["gateway"] == gw)
            .map(|r| r["metric"].as_u64().unwrap_or(0))
    };
    wait_until("the default routes", || {
        metric_of("198.51.100.254").is_some() && metric_of("198.18.0.254").is_some()
    });
    assert_eq!(metric_of("198.51.100.254"), Some(100));
    assert_eq!(metric_of("203.0.113.254"), Some(101));
    assert_eq!(metric_of("198.18.0.254"), Some(200));
    // The wired cables out: the wireless link stays, and is now the best.
    carrier(&h, "w1", false);
    carrier(&h, "w2", false);
    wait_configured(&h, &LINKS, &["wl"]);
    wait_until("wl's route to be the best", || {
        metric_of("198.18.0.254") == Some(100)
    });
}
