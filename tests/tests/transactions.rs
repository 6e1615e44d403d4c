//! A configuration transaction (`ncftool change-begin`) left open when
//! netconfd dies: the next netconfd restores the files byte for byte before
//! it reads them and brings the kernel back in line, before any request is
//! served — an admin who cut themselves off gets the old network back by
//! restarting (or rebooting).
//!
//! The daemon gets a configuration directory of its own
//! (`etc/network/interfaces` under the test's directory), since a
//! transaction snapshots that directory whole. Needs root. Run
//! `cargo build --bins` first.

use netconf_ifxml::transaction::Transactions;
use netconf_tests::{wait_until, DaemonOptions, Harness};
use std::fs;

const BEFORE: &str = "# the network as it was
auto v0
iface v0 inet static
    address 198.51.100.10/24
";

const AFTER: &str = "auto v0
iface v0 inet static
    address 198.51.100.20/24

auto br0
iface br0 inet static
    address 203.0.113.1/24
    bridge_ports v1
";

#[test]
fn a_transaction_open_at_a_crash_is_rolled_back_before_anything_else() {
    let mut h = Harness::with_options(DaemonOptions {
        interfaces: Some("etc/network/interfaces".into()),
        ..DaemonOptions::default()
    });
    h.ns.veth("v0");
    h.ns.veth("v1");
    h.write_interfaces(BEFORE);
    fs::create_dir_all(h.path("etc/network/interfaces.d")).unwrap();
    fs::write(h.path("etc/network/interfaces.d/keep"), "# untouched\n").unwrap();
    h.ifup(&["-a"]).assert_ok();
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));

    let transactions = Transactions::new(&h.path("lib"), &h.path("etc/network"));
    transactions.begin().unwrap();
    // The change: v0 renumbered, a bridge added, a file dropped, one added.
    h.write_interfaces(AFTER);
    fs::remove_file(h.path("etc/network/interfaces.d/keep")).unwrap();
    fs::write(h.path("etc/network/interfaces.d/new"), "# new\n").unwrap();
    let reload = h.client(&netconf_tests::bins().ifreload, &["-a"]);
    netconf_tests::run(reload).assert_ok();
    assert!(h.ns.global_addrs("v0").contains("198.51.100.20/24"));
    assert!(h.ns.global_addrs("br0").contains("203.0.113.1/24"));

    // The admin is cut off; netconfd dies with the transaction open.
    h.stop_daemon(libc::SIGKILL);
    assert!(transactions.open_since().unwrap().is_some());
    h.start_daemon();

    // The files first, byte for byte, the moment the daemon answers.
    assert_eq!(fs::read_to_string(h.interfaces_path()).unwrap(), BEFORE);
    assert_eq!(
        fs::read_to_string(h.path("etc/network/interfaces.d/keep")).unwrap(),
        "# untouched\n"
    );
    assert!(!h.path("etc/network/interfaces.d/new").exists());
    assert!(transactions.open_since().unwrap().is_none());
    let log = h.daemon_log();
    let restart = log
        .rfind("state read")
        .expect("the second start in the log");
    let rolled = log[restart..]
        .find("an open configuration transaction was rolled back")
        .expect("the rollback logged");
    let ready = log[restart..].find("netconfd ready").expect("ready logged");
    assert!(rolled < ready, "rolled back after serving:\n{log}");

    // Then the kernel: the old address back, the bridge gone.
    wait_until("v0 to get its old address back", || {
        let addrs = h.ns.global_addrs("v0");
        addrs.contains("198.51.100.10/24") && !addrs.contains("198.51.100.20/24")
    });
    wait_until("br0 to go", || {
        !h.ns.try_ip(&["link", "show", "dev", "br0"]).success()
    });
    let mut state = h.state();
    state.sort();
    assert_eq!(
        state,
        ["lo=lo", "v0=v0"],
        "ifquery --state after the rollback"
    );
}

#[test]
fn a_daemon_without_an_open_transaction_starts_as_before() {
    let mut h = Harness::with_options(DaemonOptions {
        interfaces: Some("etc/network/interfaces".into()),
        ..DaemonOptions::default()
    });
    h.ns.veth("v0");
    h.write_interfaces(BEFORE);
    h.ifup(&["v0"]).assert_ok();
    let transactions = Transactions::new(&h.path("lib"), &h.path("etc/network"));
    transactions.begin().unwrap();
    transactions.commit().unwrap();
    h.write_interfaces(AFTER);
    h.stop_daemon(libc::SIGKILL);
    h.start_daemon();
    // A committed change is the configuration now; a restart changes nothing.
    assert_eq!(fs::read_to_string(h.interfaces_path()).unwrap(), AFTER);
    assert!(h.ns.global_addrs("v0").contains("198.51.100.10/24"));
    assert!(!h.daemon_log().contains("rolled back"));
}
