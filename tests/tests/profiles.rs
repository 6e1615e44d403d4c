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

    let show = ctl(&h, &["profile", "show", "legacy"]);
    show.assert_output_contains("    va        manual\n    vb        manual\n");
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
    // Edited and reloaded: the change applies; made invalid: refused, and
    // nothing changes.
    let edited = OFFICE.replace("198.18.0.1/24", "198.18.0.2/24");
    write_profile(config.path(), "office", &edited);
    ctl(&h, &["reload"]).assert_ok();
    assert!(has_addr(&h, "vc", "198.18.0.2/24"));
    assert!(!has_addr(&h, "vc", "198.18.0.1/24"));
    write_profile(
        config.path(),
        "office",
        &format!("{edited}    activation sometimes\n"),
    );
    h.ns.settle();
    monitor.fence(&h.ns);
    let out = ctl(&h, &["reload"]);
    out.assert_code(1);
    out.assert_output_contains("profile office refused; nothing changed");
    assert!(monitor.fence(&h.ns).is_empty());
    write_profile(config.path(), "office", &edited);

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
    // Watching from here on.
    let hello = lines
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("monitor's first line");
    carrier(&h, "w2", true);
    wait_configured(&h, &LINKS, &["w2"]);
    let _ = child.kill();
    let _ = child.wait();
    let seen: Vec<String> = std::iter::once(hello).chain(lines.try_iter()).collect();
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
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    // w1 comes and goes within the hold-down: wl stays, w1 is never
    // configured.
    for _ in 0..3 {
        carrier(&h, "w1", true);
        std::thread::sleep(std::time::Duration::from_millis(200));
        carrier(&h, "w1", false);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(3500));
    wait_configured(&h, &LINKS, &["wl"]);
    let events = monitor.fence(&h.ns);
    let addresses: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("inet ") && !e.contains("inet6"))
        .collect();
    assert!(
        addresses.is_empty(),
        "the flapping cable changed addresses:\n{addresses:#?}"
    );
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

/// One DHCP network per wired or wireless link: the far end of each veth
/// pair in a server namespace, with a dnsmasq of its own.
const NETWORKS: [(&str, &str, &str); 3] = [
    ("e1", "s1", "198.18.1"),
    ("e2", "s2", "198.18.2"),
    ("wl", "sw", "198.18.3"),
];

fn leased(h: &Harness, dev: &str, net: &str) -> bool {
    h.ns.global_addrs(dev)
        .iter()
        .any(|a| a.starts_with(&format!("{net}.")))
}

fn wait_leased(h: &Harness, up: &[&str]) {
    let done = eventually(30, || {
        NETWORKS
            .iter()
            .all(|(dev, _, net)| leased(h, dev, net) == up.contains(dev))
    });
    let now: Vec<(&str, bool)> = NETWORKS
        .iter()
        .map(|(dev, _, net)| (*dev, leased(h, dev, net)))
        .collect();
    assert!(
        done,
        "wanted leases on {up:?}, have {now:?}\n{}",
        h.daemon_log()
    );
}

#[test]
fn automatic_runs_dhcp_on_every_link_without_a_stanza() {
    let dir = netconf_tests::dhcp_world_dir("nct-auto-", "automatic profile");
    let config = dir.path().join("netconf");
    std::fs::create_dir_all(config.join("profiles")).expect("config dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 203.0.113.53\n").expect("resolv.conf");
    let options = DaemonOptions {
        extra: vec![
            "--config-dir".into(),
            config.into(),
            "--hold-down".into(),
            "1".into(),
            "--resolv-conf".into(),
            resolv.into(),
            "--dhcp-hook".into(),
            netconf_tests::hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
            "--dhcp-timeout".into(),
            "20".into(),
        ],
        ..DaemonOptions::default()
    };
    let mut h = Harness::with_options(options);
    let srv = netconf_tests::Netns::new();
    let mut servers = Vec::new();
    for (dev, far, net) in NETWORKS {
        srv.ip(&[
            "link",
            "add",
            far,
            "type",
            "veth",
            "peer",
            "name",
            dev,
            "netns",
            h.ns.name(),
        ]);
        srv.ip(&["addr", "add", &format!("{net}.1/24"), "dev", far]);
        srv.ip(&["link", "set", far, "up"]);
        servers.push(netconf_tests::DhcpServer::start(
            &srv,
            far,
            dir.path(),
            far,
            &[&format!(
                "--dhcp-range={net}.100,{net}.199,255.255.255.0,1h"
            )],
        ));
    }
    // A link with a stanza of its own is not the automatic profile's.
    h.ns.veth("own");
    h.write_interfaces("iface own inet manual\n");
    // veth pairs are neither wired nor wireless: declared, as tests may.
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon_wrapped(&[
        "env".into(),
        "NETCONF_LINK_CLASSES=e1=wired,e2=wired,e3=wired,wl=wireless,ownp=wired".into(),
    ]);
    let show = ctl(&h, &["profile", "show", "automatic"]);
    show.assert_ok();
    for line in [
        "e1        prioritized, priority group 1 (exclusive)",
        "e2        prioritized, priority group 1 (exclusive)",
        "wl        prioritized, priority group 0 (exclusive)",
        "ownp      prioritized, priority group 1 (exclusive)",
    ] {
        assert!(show.stdout.contains(line), "{show}");
    }
    assert!(!show.stdout.contains("own "), "{show}");
    // ownp has no carrier (own stays down): only the DHCP links count.
    ctl(&h, &["profile", "enable", "automatic"]).assert_ok();
    wait_leased(&h, &["e1"]);

    // e1's cable pulled: e2, by DHCP.
    srv.ip(&["link", "set", "s1", "down"]);
    wait_leased(&h, &["e2"]);
    // Both wired cables out: the wireless link.
    srv.ip(&["link", "set", "s2", "down"]);
    wait_leased(&h, &["wl"]);

    // kill -9 and a restart on the fallback: same profile, nothing written.
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon_wrapped(&[
        "env".into(),
        "NETCONF_LINK_CLASSES=e1=wired,e2=wired,e3=wired,wl=wireless,ownp=wired".into(),
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctl(&h, &["status"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the restart wrote:\n{}",
        events.join("\n")
    );
    assert_eq!(status(&h)["profile"]["name"], "automatic");

    // e1 back: after the hold-down, the wired link again.
    srv.ip(&["link", "set", "s1", "up"]);
    wait_leased(&h, &["e1"]);
    // A new link joins the profile when it appears.
    h.ns.veth("e3");
    wait_until("e3 to join the automatic profile", || {
        let show = ctl(&h, &["profile", "show", "automatic"]);
        show.stdout
            .contains("e3        prioritized, priority group 1 (exclusive)")
    });
    wait_leased(&h, &["e1"]);
    // The namespace goes with the harness; its dhclients do not.
    netconf_tests::kill_processes_mentioning(&h.ns, &h.run_dir().to_string_lossy());
    drop(servers);
}

#[test]
fn only_root_enables_a_profile_and_everyone_lists_them() {
    let (h, config) = harness("0.5");
    write_profile(config.path(), "office", OFFICE);
    let netconfctl = h.public_copy(&bins().netconfctl);
    let as_nobody = |args: &[&str]| {
        let mut c = netconf_tests::as_nobody(&netconfctl);
        c.arg("--socket").arg(h.socket()).args(args);
        run(c)
    };
    let list = as_nobody(&["profile", "list", "--json"]);
    list.assert_ok();
    assert!(list.stdout.contains("\"office\""), "{list}");
    as_nobody(&["profile", "show", "office"]).assert_ok();
    let out = as_nobody(&["profile", "enable", "office"]);
    out.assert_code(4);
    out.assert_output_contains("profile-enable chooses the configuration that runs");
    assert_eq!(status(&h)["profile"]["name"], "legacy");
}

#[test]
fn conditional_units_follow_their_conditions() {
    let (h, config) = harness("0.5");
    for (dev, _) in LINKS {
        h.ns.veth(dev);
    }
    h.ns.veth("vc");
    h.ns.veth("vd");
    let text = format!(
        "{}
iface vc inet static
    address 198.19.0.1/24
    activation conditional
    condition ncu w1 is active

iface vd inet static
    address 198.19.1.1/24
    activation conditional
    condition ip-address is-in-range 203.0.113.0/24
    condition default-gateway is 203.0.113.254
    condition-mode all
",
        prioritized("exclusive")
    );
    write_profile(config.path(), "cond", &text);
    ctl(&h, &["profile", "enable", "cond"]).assert_ok();
    let units = [
        ("w1", "198.51.100.1/24"),
        ("w2", "203.0.113.1/24"),
        ("wl", "198.18.0.1/24"),
        ("vc", "198.19.0.1/24"),
        ("vd", "198.19.1.1/24"),
    ];
    wait_configured(&h, &units, &["w1", "vc"]);
    let show = ctl(&h, &["profile", "show", "cond"]);
    show.assert_output_contains("vc        conditional (any): ncu w1 is active");
    show.assert_output_contains(
        "vd        conditional (all): ip-address is-in-range 203.0.113.0/24; \
         default-gateway is 203.0.113.254",
    );
    // w1's cable pulled: w2 comes, vc goes, and once w2's address and
    // gateway are there, vd comes (an event, not a timer).
    carrier(&h, "w1", false);
    wait_configured(&h, &units, &["w2", "vd"]);
    let s = status(&h);
    assert_eq!(
        s["profile"]["selected"],
        serde_json::json!(["vd", "w2"]),
        "{s:#}"
    );
    let cause = s["profile"]["cause"].as_str().unwrap_or("");
    assert!(
        cause.contains(
            "vd (ip-address is-in-range 203.0.113.0/24, default-gateway is 203.0.113.254) holds"
        ),
        "{s:#}"
    );
}

#[test]
fn a_link_without_a_lease_is_not_usable() {
    let dir = netconf_tests::dhcp_world_dir("nct-nolease-", "profile lease");
    let config = dir.path().join("netconf");
    std::fs::create_dir_all(config.join("profiles")).expect("config dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 203.0.113.53\n").expect("resolv.conf");
    let options = DaemonOptions {
        extra: vec![
            "--config-dir".into(),
            config.clone().into(),
            "--hold-down".into(),
            "0.5".into(),
            "--resolv-conf".into(),
            resolv.into(),
            "--dhcp-hook".into(),
            netconf_tests::hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
            "--dhcp-timeout".into(),
            "2".into(),
        ],
        ..DaemonOptions::default()
    };
    let h = Harness::with_options(options);
    h.ns.veth("d1");
    h.ns.veth("s2");
    // d1 has a carrier, but no DHCP server answers on it.
    write_profile(
        &config,
        "lease",
        "iface d1 inet dhcp\n    activation prioritized\n    priority-group 1\n\n\
         iface s2 inet static\n    address 203.0.113.1/24\n    activation prioritized\n    \
         priority-group 0\n",
    );
    ctl(&h, &["profile", "enable", "lease"]);
    let units = [("s2", "203.0.113.1/24")];
    wait_configured(&h, &units, &["s2"]);
    let s = status(&h);
    assert_eq!(s["profile"]["selected"], serde_json::json!(["s2"]), "{s:#}");
    assert!(
        s["profile"]["unusable"]["d1"]
            .as_str()
            .is_some_and(|w| w.starts_with("its ifup failed")),
        "{s:#}"
    );
}

#[test]
fn a_lost_lease_makes_the_next_group_come_up() {
    let dir = netconf_tests::dhcp_world_dir("nct-lost-", "profile lease");
    let config = dir.path().join("netconf");
    std::fs::create_dir_all(config.join("profiles")).expect("config dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 203.0.113.53\n").expect("resolv.conf");
    let options = DaemonOptions {
        extra: vec![
            "--config-dir".into(),
            config.clone().into(),
            "--resolv-conf".into(),
            resolv.into(),
            "--dhcp-hook".into(),
            netconf_tests::hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
            "--dhcp-timeout".into(),
            "20".into(),
        ],
        ..DaemonOptions::default()
    };
    let h = Harness::with_options(options);
    let srv = netconf_tests::Netns::new();
    srv.ip(&[
        "link",
        "add",
        "s1",
        "type",
        "veth",
        "peer",
        "name",
        "d1",
        "netns",
        h.ns.name(),
    ]);
    srv.ip(&["addr", "add", "198.18.1.1/24", "dev", "s1"]);
    srv.ip(&["link", "set", "s1", "up"]);
    let _server = netconf_tests::DhcpServer::start(
        &srv,
        "s1",
        dir.path(),
        "dnsmasq",
        &["--dhcp-range=198.18.1.100,198.18.1.199,255.255.255.0,1h"],
    );
    h.ns.veth("s2");
    write_profile(
        &config,
        "lease",
        "iface d1 inet dhcp\n    activation prioritized\n    priority-group 1\n\n\
         iface s2 inet static\n    address 203.0.113.1/24\n    activation prioritized\n    \
         priority-group 0\n",
    );
    ctl(&h, &["profile", "enable", "lease"]).assert_ok();
    let mut addr = String::new();
    wait_until("d1's lease", || {
        addr =
            h.ns.global_addrs("d1")
                .into_iter()
                .find(|a| a.starts_with("198.18.1."))
                .unwrap_or_default();
        !addr.is_empty()
    });
    let ip = addr.split('/').next().unwrap_or("").to_string();
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(h.run_dir().join("state.json")).expect("state file"),
    )
    .expect("state JSON");
    let dhcp = state["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["phys"] == "d1")
        .flat_map(|r| r["stanzas"].as_array().cloned().unwrap_or_default())
        .find_map(|s| s.get("dhcp").filter(|d| !d.is_null()).cloned())
        .expect("d1's dhclient in the state file");
    // The lease expires (as dhclient says when it cannot renew in time).
    let mut env = netconf_tests::renew_env(&netconf_tests::Renewal {
        socket: &h.socket(),
        iface: "d1",
        token: dhcp["token"].as_str().expect("a token"),
        pid: dhcp["pid"].as_u64().expect("a pid") as u32,
        old: &ip,
        new: &ip,
        lease_secs: 3600,
    });
    for (k, v) in &mut env {
        if k == "reason" {
            *v = "EXPIRE".to_string();
        }
    }
    netconf_tests::run_hook(&env).assert_ok();
    wait_configured(&h, &[("s2", "203.0.113.1/24")], &["s2"]);
    let s = status(&h);
    assert_eq!(s["profile"]["selected"], serde_json::json!(["s2"]), "{s:#}");
    assert_eq!(
        s["profile"]["unusable"]["d1"], "its DHCP lease was lost",
        "{s:#}"
    );
    assert!(
        !h.ns.global_addrs("d1").contains(&addr),
        "{:?}",
        h.ns.global_addrs("d1")
    );
}

#[test]
fn ifquery_checks_a_profiles_activation_with_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("roaming");
    std::fs::write(
        &path,
        "iface eth0 inet dhcp\n    activation prioritized\n\n\
         iface eth1 inet static\n    address 198.51.100.1/24\n    activation sometimes\n",
    )
    .expect("profile");
    let mut c = std::process::Command::new(&bins().ifquery);
    c.arg("-i").arg(&path).arg("--syntax-check");
    let out = run(c);
    out.assert_code(1);
    let p = path.display();
    out.assert_output_contains(&format!(
        "{p}:1: error: eth0: activation prioritized needs a priority-group"
    ));
    out.assert_output_contains(&format!(
        "{p}:6: error: eth1: activation: \"sometimes\" is not manual, prioritized or conditional"
    ));
    out.assert_output_contains("2 errors, 0 warnings");
}

/// The `automatic` profile's link `e1` on a network whose dnsmasq serves
/// DHCPv4 and sends router advertisements for `range6` (`ra-stateless`:
/// the O flag; a range of addresses: M).
fn dhcpv6_world(
    range6: &str,
) -> (
    Harness,
    netconf_tests::Netns,
    netconf_tests::DhcpServer,
    tempfile::TempDir,
) {
    let dir = netconf_tests::dhcp_world_dir("nct-ra6-", "automatic DHCPv6");
    let config = dir.path().join("netconf");
    std::fs::create_dir_all(config.join("profiles")).expect("config dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 203.0.113.53\n").expect("resolv.conf");
    let options = DaemonOptions {
        extra: vec![
            "--config-dir".into(),
            config.into(),
            "--resolv-conf".into(),
            resolv.into(),
            "--dhcp-hook".into(),
            netconf_tests::hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
            "--dhcp-timeout".into(),
            "20".into(),
        ],
        ..DaemonOptions::default()
    };
    let mut h = Harness::with_options(options);
    let srv = netconf_tests::Netns::new();
    srv.ip(&[
        "link",
        "add",
        "s1",
        "type",
        "veth",
        "peer",
        "name",
        "e1",
        "netns",
        h.ns.name(),
    ]);
    srv.ip(&["addr", "add", "198.18.1.1/24", "dev", "s1"]);
    srv.ip(&["addr", "add", "2001:db8:1::1/64", "dev", "s1", "nodad"]);
    srv.ip(&["link", "set", "s1", "up"]);
    let server = netconf_tests::DhcpServer::start(
        &srv,
        "s1",
        dir.path(),
        "dnsmasq",
        &[
            "--dhcp-range=198.18.1.100,198.18.1.199,255.255.255.0,1h",
            "--enable-ra",
            "--ra-param=s1,3",
            range6,
            "--dhcp-option=option6:dns-server,[2001:db8:1::53]",
        ],
    );
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon_wrapped(&link_classes());
    ctl(&h, &["profile", "enable", "automatic"]).assert_ok();
    (h, srv, server, dir)
}

fn link_classes() -> Vec<std::ffi::OsString> {
    vec!["env".into(), "NETCONF_LINK_CLASSES=e1=wired".into()]
}

/// The dhclients of `e1` for IPv6 whose command line has `flag`, or none.
fn dhclient6(h: &Harness, flag: Option<&str>) -> Vec<u32> {
    netconf_tests::processes_mentioning(&h.ns, "e1", Some("dhclient"))
        .into_iter()
        .filter(|&pid| {
            let line = netconf_tests::process_cmdline(pid);
            let has = |f: &str| line.split_whitespace().any(|w| w == f);
            has("-6") && flag.map_or(!has("-S") && !has("-P"), has)
        })
        .collect()
}

#[test]
fn automatic_runs_stateless_dhcpv6_when_the_ra_says_so() {
    // Router advertisements with the O flag (and not M): addresses by
    // SLAAC, the rest by stateless DHCPv6.
    let (mut h, _srv, _server, _dir) = dhcpv6_world("--dhcp-range=2001:db8:1::,ra-stateless");
    let classes = link_classes;
    let stateless = |h: &Harness| dhclient6(h, Some("-S"));
    // dhclient -6 -S asks once and exits (dnsmasq sends no information
    // refresh time): seen running, then its answer in its log.
    let found = eventually(30, || !stateless(&h).is_empty());
    assert!(
        found,
        "no dhclient -6 -S on e1\n{}\n{}",
        ctl(&h, &["profile", "show", "automatic"]),
        h.daemon_log()
    );
    let log = h.run_dir().join("dhclient6.e1.log");
    wait_until("the stateless exchange", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("RCV: Reply message"))
    });
    assert!(
        h.ns.global_addrs("e1")
            .iter()
            .any(|a| a.starts_with("198.18.1.")),
        "DHCPv4 as before"
    );
    assert!(
        h.ns.global_addrs("e1")
            .iter()
            .any(|a| a.starts_with("2001:db8:1:")),
        "SLAAC as before: {:?}",
        h.ns.global_addrs("e1")
    );
    let s = status(&h);
    assert_eq!(
        s["profile"]["cause"], "a router advertisement's DHCPv6 flags",
        "{s:#}"
    );

    // kill -9 and a restart: the same profile, nothing written.
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon_wrapped(&classes());
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctl(&h, &["status"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the restart wrote:\n{}",
        events.join("\n")
    );
    assert_eq!(status(&h)["profile"]["name"], "automatic");
    netconf_tests::kill_processes_mentioning(&h.ns, &h.run_dir().to_string_lossy());
}

#[test]
fn automatic_runs_stateful_dhcpv6_when_the_ra_says_managed() {
    // A range of addresses: dnsmasq's advertisements say M.
    let (mut h, _srv, _server, _dir) =
        dhcpv6_world("--dhcp-range=2001:db8:1::100,2001:db8:1::1ff,64,1h");
    let mut pids = Vec::new();
    let found = eventually(30, || {
        pids = dhclient6(&h, None);
        !pids.is_empty()
    });
    assert!(found, "no stateful dhclient -6 on e1\n{}", h.daemon_log());
    wait_until("a DHCPv6 address", || {
        h.ns.global_addrs("e1")
            .iter()
            .any(|a| a.starts_with("2001:db8:1::1"))
    });
    assert!(dhclient6(&h, Some("-S")).is_empty(), "not stateless");

    // kill -9 and a restart: the same client adopted, nothing written.
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon_wrapped(&link_classes());
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctl(&h, &["status"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the restart wrote:\n{}",
        events.join("\n")
    );
    assert_eq!(dhclient6(&h, None), pids, "the same client");
    netconf_tests::kill_processes_mentioning(&h.ns, &h.run_dir().to_string_lossy());
}
