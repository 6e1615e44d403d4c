//! Links that come and go, handled by netconfd itself: an `allow-hotplug`
//! interface comes up when its link appears and is taken down when it
//! goes; `wait-carrier` holds `ifup` until the carrier is there (or the
//! time is up, then goes on and says so). All in namespaces of the test's
//! own (see `netconf_tests::Netns`).

use netconf_tests::{require_root, wait_until, Harness};
use std::collections::BTreeSet;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn allow_hotplug_interface_follows_its_link() {
    require_root();
    let h = Harness::new();
    h.write_interfaces(
        "allow-hotplug h0\niface h0 inet static\n    address 198.51.100.1/24\n\n\
         iface h9 inet static\n    address 198.51.100.9/24\n",
    );
    // Not allow-hotplug: appears and stays alone.
    h.ns.ip(&["link", "add", "h9", "type", "veth", "peer", "name", "p9"]);
    h.ns.ip(&["link", "add", "h0", "type", "veth", "peer", "name", "p0"]);
    wait_until("h0 to be configured when its link appeared", || {
        h.ns.global_addrs("h0") == set(&["198.51.100.1/24"])
    });
    assert!(h.ns.is_up("h0"), "h0 is not up");
    // The state file is written once the burst of work is through.
    wait_until("ifquery --state to list h0", || h.state() == vec!["h0=h0"]);
    assert!(
        h.ns.global_addrs("h9").is_empty(),
        "h9 is not allow-hotplug"
    );
    let log = h.daemon_log();
    assert!(log.contains("hotplug: the link appeared"), "{log}");

    h.ns.ip(&["link", "del", "h0"]);
    wait_until("h0's record to go with its link", || h.state().is_empty());
    assert!(h.daemon_log().contains("hotplug: the link went away"));
}

#[test]
fn wait_carrier_holds_ifup_until_the_carrier_comes() {
    require_root();
    let h = Harness::new();
    h.write_interfaces(
        "iface c0 inet static\n    address 198.51.100.1/24\n    wait-carrier 60\n\n\
         iface d0 inet static\n    address 198.51.100.2/24\n    wait-carrier 0.5\n\n\
         iface e0 inet static\n    address 198.51.100.3/24\n    wait-carrier soon\n",
    );
    for (dev, peer) in [("c0", "c1"), ("d0", "d1"), ("e0", "e1")] {
        // The peer stays down: no carrier.
        h.ns.ip(&["link", "add", dev, "type", "veth", "peer", "name", peer]);
    }

    let ifup = netconf_tests::Running::spawn(h.ifup_cmd(&["c0"]));
    wait_until("ifup c0 to wait for the carrier", || {
        h.daemon_log().contains("waiting for a carrier on c0")
            || h.ns.global_addrs("c0") == set(&["198.51.100.1/24"])
    });
    // Listed from the start of its ifup, as Debian's state file does, but
    // not up yet.
    let mut conn = h.connect();
    let s = conn.request(r#"{"version":1,"id":1,"op":"status","args":{"iface":"c0"}}"#);
    assert_eq!(
        s["result"]["interfaces"][0]["state"], "configuring",
        "c0 counted as up before its carrier: {s}"
    );
    drop(conn);
    h.ns.ip(&["link", "set", "c1", "up"]);
    let out = ifup.wait();
    out.assert_ok();
    assert_eq!(h.state(), vec!["c0=c0"]);

    // No carrier within the time: configured anyway, with a warning.
    let out = h.ifup(&["d0"]);
    out.assert_ok();
    out.assert_output_contains("no carrier on d0; configuring it anyway");
    assert_eq!(h.ns.global_addrs("d0"), set(&["198.51.100.2/24"]));

    // A value that is no number of seconds: refused before anything runs.
    let out = h.ifup(&["e0"]);
    out.assert_code(1);
    out.assert_output_contains("wait-carrier: \"soon\" is not a number of seconds");
    assert!(h.ns.global_addrs("e0").is_empty());
}
