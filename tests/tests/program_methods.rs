//! The methods that run a program of Debian's and need no more than a veth
//! (`inet ipv4ll`: avahi-autoipd; `inet bootp`: bootpc against dnsmasq
//! with `--bootp-dynamic` in a second namespace), end to end through
//! netconfd in a namespace of the test's own: `ifup`, the kernel's view,
//! `status`, a second `ifup` writing nothing, `ifdown` giving back what was
//! there. `inet ppp` needs ppp_generic: `tests/full_kernel/dialup.rs`, in
//! the VM. Needs root, avahi-autoipd, bootpc and dnsmasq.

use netconf_tests::{bins, processes_mentioning, run, DhcpServer, Harness, Netns};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Polls `done` until it holds, at most `secs` seconds (a safety net for
/// things that end asynchronously, such as a process's exit; no timing is
/// asserted).
fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The origins `netconfctl status --json` gives the IPv4 addresses of `iface`.
fn address_origins(h: &Harness, iface: &str) -> Vec<(String, String)> {
    let mut c = std::process::Command::new(&bins().netconfctl);
    c.arg("--socket").arg(h.socket()).args(["status", "--json"]);
    let out = run(c);
    out.assert_ok();
    let status: Value = serde_json::from_str(&out.stdout).expect("status --json is JSON");
    let ifaces = status["interfaces"].as_array().cloned().unwrap_or_default();
    let entry = ifaces
        .iter()
        .find(|i| i["name"] == iface)
        .unwrap_or_else(|| panic!("{iface} not in status:\n{out}"));
    entry["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["family"] == "inet")
        .map(|a| {
            (
                a["address"].as_str().unwrap_or("").to_string(),
                a["origin"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every link with its global addresses: what `ifdown` must give back.
fn links_and_addrs(ns: &Netns) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = ns.all_global_addrs();
    for name in ns.all_links().into_keys() {
        all.entry(name).or_default();
    }
    all.retain(|name, _| !name.starts_with("nctmk"));
    all
}

fn assert_back_to(h: &Harness, before: &BTreeMap<String, BTreeSet<String>>) {
    assert_eq!(
        &links_and_addrs(&h.ns),
        before,
        "links and addresses after ifdown"
    );
    assert!(
        h.ns.netconf_routes().is_empty(),
        "{:?}",
        h.ns.netconf_routes()
    );
    assert!(h.state().is_empty(), "{:?}", h.state());
}

fn assert_second_ifup_writes_nothing(h: &Harness, args: &[&str]) {
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.ifup(args).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the second ifup {args:?} changed the kernel:\n{}",
        events.join("\n")
    );
}

#[test]
fn ipv4ll_address_from_avahi_autoipd() {
    let h = Harness::new();
    h.ns.veth("nctll0");
    h.write_interfaces("iface nctll0 inet ipv4ll\n");
    let before = links_and_addrs(&h.ns);
    let link_local = || {
        h.ns.ip(&["-4", "-o", "addr", "show", "dev", "nctll0"])
            .lines()
            .any(|l| l.contains("inet 169.254."))
    };

    let out = h.ifup(&["nctll0"]);
    out.assert_ok();
    assert!(link_local(), "no 169.254.0.0/16 address after ifup:\n{out}");
    // It names itself `avahi-autoipd: [IFACE] STATE`.
    let autoipd = || processes_mentioning(&h.ns, "avahi-autoipd: [nctll0]", None);
    assert!(!autoipd().is_empty(), "avahi-autoipd runs");
    let origins = address_origins(&h, "nctll0");
    assert!(
        !origins.is_empty() && origins.iter().all(|(_, o)| o == "netconf"),
        "{origins:?}"
    );

    // ifquery reads the kernel: avahi-autoipd's address is an ipv4ll stanza.
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&bins().ifquery)
        .arg("-i")
        .arg(h.interfaces_path())
        .args(["--running", "nctll0"]);
    let running = run(c);
    running.assert_ok();
    assert_eq!(running.stdout, "iface nctll0 inet ipv4ll\n\n", "{running}");

    assert_second_ifup_writes_nothing(&h, &["nctll0"]);

    h.ifdown(&["nctll0"]).assert_ok();
    assert!(!link_local(), "the link-local address is left after ifdown");
    assert!(
        eventually(10, || autoipd().is_empty()),
        "avahi-autoipd still runs after ifdown"
    );
    assert_back_to(&h, &before);
}

#[test]
fn bootp_answer_from_dnsmasq_applied() {
    let server = Netns::new();
    let h = Harness::new();
    h.ns.veth("nctbp0");
    h.ns.ip(&["link", "set", "nctbp0p", "netns", server.name()]);
    server.batch("addr add 198.51.100.1/24 dev nctbp0p\nlink set nctbp0p up\n");
    let _dnsmasq = DhcpServer::start(
        &server,
        "nctbp0p",
        h.dir(),
        "bootp",
        &[
            "--dhcp-range=198.51.100.10,198.51.100.20,255.255.255.0",
            "--bootp-dynamic",
        ],
    );
    h.write_interfaces("iface nctbp0 inet bootp\n");
    let before = links_and_addrs(&h.ns);

    let out = h.ifup(&["nctbp0"]);
    out.assert_ok();
    let addrs = h.ns.ip(&["-4", "-o", "addr", "show", "dev", "nctbp0"]);
    assert!(
        addrs.contains("inet 198.51.100.1") && addrs.contains("/24 brd 198.51.100.255"),
        "nctbp0 after ifup:\n{addrs}\n{out}"
    );
    let routes = h.ns.ip(&["-4", "route", "show"]);
    assert!(
        routes.contains("default via 198.51.100.1 dev nctbp0"),
        "{routes}"
    );
    assert!(
        !routes.contains("255.255.255.255"),
        "bootpc's route is left:\n{routes}"
    );

    assert_second_ifup_writes_nothing(&h, &["nctbp0"]);

    h.ifdown(&["nctbp0"]).assert_ok();
    assert_back_to(&h, &before);
    assert!(
        !h.ns.is_up("nctbp0"),
        "Debian's bootp down sets the link down"
    );
}
