//! The `essid` condition end to end: a radio of mac80211_hwsim moved into
//! the test's namespace and joined by `iw` to an ad-hoc (IBSS) network; a
//! profile's conditional unit `cafe0` (a veth with a static address) is
//! up while the radio is in network `NetconfTest` and down once it leaves.
//! The SSID is read by netconfd over nl80211 (`facts::gather`) when the
//! kernel reports a change on a link (the radio's carrier, its link-local
//! address), never on a timer.
//!
//! Needs mac80211_hwsim (Debian's kernel has it) and iw.

use netconf_tests::{bins, eventually, run, DaemonOptions, Harness, Netns};
use serde_json::Value;
use std::process::Command;

const SSID: &str = "NetconfTest";

fn iw(ns: &Netns, args: &[&str]) {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name(), "iw"]).args(args);
    let out = run(c);
    assert!(out.success(), "iw {}:\n{out}", args.join(" "));
}

fn status(h: &Harness) -> Value {
    let out = run(h.client(&bins().netconfctl, &["status", "--json"]));
    out.assert_ok();
    serde_json::from_str(&out.stdout).expect("status --json is JSON")
}

fn wait_cafe(h: &Harness, up: bool) {
    let done = eventually(20, || {
        h.ns.global_addrs("cafe0").contains("198.51.100.1/24") == up
    });
    assert!(
        done,
        "cafe0 {} configured\n{:#}\n{}",
        if up { "not" } else { "still" },
        status(h)["profile"],
        h.daemon_log()
    );
}

/// A fresh radio of mac80211_hwsim in the VM's first namespace (where
/// the module makes it), moved into `ns`; its link's name there.
fn radio_into(ns: &Netns) -> String {
    let load = || {
        let loaded = Command::new("modprobe")
            .args(["mac80211_hwsim", "radios=1"])
            .status()
            .expect("modprobe");
        assert!(loaded.success(), "modprobe mac80211_hwsim radios=1");
    };
    let radio = || {
        std::fs::read_dir("/sys/class/ieee80211")
            .ok()?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .max()
    };
    load();
    // Loaded before, its radio moved away by another test: loaded again.
    let phy = radio()
        .or_else(|| {
            let _ = Command::new("modprobe")
                .args(["-r", "mac80211_hwsim"])
                .status();
            load();
            radio()
        })
        .expect("a radio");
    let mut c = Command::new("iw");
    c.args(["phy", &phy, "set", "netns", "name", ns.name()]);
    let out = run(c);
    assert!(out.success(), "moving {phy} into {}:\n{out}", ns.name());
    // The radio's link as iw lists it: modules earlier tests loaded make
    // fallback links (gre0, tunl0, ...) in every new namespace.
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name(), "iw", "dev"]);
    let listed = run(c);
    listed
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Interface "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the radio's link in `iw dev`:\n{listed}"))
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn a_conditional_unit_follows_the_essid() {
    let config = tempfile::tempdir().expect("config dir");
    std::fs::create_dir_all(config.path().join("profiles")).expect("profiles dir");
    std::fs::write(
        config.path().join("profiles/cafe"),
        format!(
            "iface cafe0 inet static\n    address 198.51.100.1/24\n    \
             activation conditional\n    condition essid is {SSID}\n"
        ),
    )
    .expect("profile");
    let h = Harness::with_options(DaemonOptions {
        extra: vec!["--config-dir".into(), config.path().into()],
        ..DaemonOptions::default()
    });
    h.ns.veth("cafe0");
    run(h.client(&bins().netconfctl, &["profile", "enable", "cafe"])).assert_ok();
    // No wireless link at all: the condition is false, cafe0 stays down.
    wait_cafe(&h, false);

    let wlan = radio_into(&h.ns);
    iw(&h.ns, &["dev", &wlan, "set", "type", "ibss"]);
    h.ns.ip(&["link", "set", &wlan, "up"]);
    // A radio that is up but in no network: still false.
    wait_cafe(&h, false);
    iw(&h.ns, &["dev", &wlan, "ibss", "join", SSID, "2412"]);
    wait_cafe(&h, true);
    let s = status(&h);
    assert_eq!(
        s["profile"]["selected"],
        serde_json::json!(["cafe0"]),
        "{s:#}"
    );
    let cause = s["profile"]["cause"].as_str().unwrap_or("");
    assert!(
        cause.contains(&format!("cafe0 (essid is {SSID}) holds")),
        "{s:#}"
    );

    // Leaving the network takes the unit down.
    iw(&h.ns, &["dev", &wlan, "ibss", "leave"]);
    wait_cafe(&h, false);
    let s = status(&h);
    assert_eq!(s["profile"]["selected"], serde_json::json!([]), "{s:#}");
}
