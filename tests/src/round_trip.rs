//! The checks of an `ifup`, a second `ifup` and an `ifdown` of the same
//! stanzas, shared by the end-to-end tests of links and methods: what the
//! kernel held before, that the second `ifup` writes nothing, that `ifdown`
//! gives back exactly what was there, and whose `status` says the
//! addresses are.

use crate::{bins, run, Harness, Netns};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every link with its global addresses: what `ifdown` must give back.
/// (Without the marker link pair an `ip monitor` fence leaves, `nctmk`.)
pub fn links_and_addrs(ns: &Netns) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = ns.all_global_addrs();
    for name in ns.all_links().into_keys() {
        all.entry(name).or_default();
    }
    all.retain(|name, _| !name.starts_with("nctmk"));
    all
}

/// After `ifdown`: the links and addresses there were before `ifup`, no
/// route of netconf's, nothing up in netconf's state.
pub fn assert_back_to(h: &Harness, before: &BTreeMap<String, BTreeSet<String>>) {
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

/// `ifup ARGS` again once the kernel has settled: nothing reaches the
/// kernel, not even an event.
pub fn assert_second_ifup_writes_nothing(h: &Harness, args: &[&str]) {
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

/// The origins `netconfctl status --json` gives the IPv4 addresses of `iface`.
pub fn address_origins(h: &Harness, iface: &str) -> Vec<(String, String)> {
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
