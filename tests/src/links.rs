//! Readers of the kernel's view of links that stanzas create, shared by
//! `tests/links.rs` (on this machine's kernel) and `tests/full_kernel.rs`
//! (in the VM, on Debian's: `scripts/vm-run`).

use crate::Netns;
use serde_json::Value;
use std::collections::BTreeSet;

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `ip -j -d link show dev DEV`.
pub fn details(ns: &Netns, dev: &str) -> Value {
    let mut links = ns.ip_json(&["-d", "link", "show", "dev", dev]);
    assert_eq!(links.len(), 1, "ip -d link show dev {dev}: {links:?}");
    links.remove(0)
}

pub fn exists(ns: &Netns, dev: &str) -> bool {
    ns.try_ip(&["link", "show", "dev", dev]).success()
}

pub fn kind(link: &Value) -> Option<&str> {
    link["linkinfo"]["info_kind"].as_str()
}

/// An attribute of the link's kind (`stp_state`, `id`, `mode`, ...).
pub fn info<'a>(link: &'a Value, key: &str) -> &'a Value {
    &link["linkinfo"]["info_data"][key]
}

pub fn master(ns: &Netns, dev: &str) -> Option<String> {
    ns.link(dev)["master"].as_str().map(String::from)
}

/// The links whose master is `master` (a bridge's ports, a bond's slaves).
pub fn ports_of(ns: &Netns, master: &str) -> BTreeSet<String> {
    ns.all_links()
        .into_iter()
        .filter(|(_, l)| l["master"].as_str() == Some(master))
        .map(|(name, _)| name)
        .collect()
}

/// Whether the kernel makes such a link here (it may lack the module):
/// tries `ip link add nctprobe ARGS` in the namespace, and says why not.
pub fn kernel_makes(ns: &Netns, args: &[&str]) -> Result<(), String> {
    let mut all = vec!["link", "add", "nctprobe"];
    all.extend_from_slice(args);
    let out = ns.try_ip(&all);
    if out.success() {
        ns.ip(&["link", "del", "nctprobe"]);
        Ok(())
    } else {
        Err(out.stderr.trim().to_string())
    }
}

/// After the `ifup` of a VLAN-aware `br0` (`bridge-vids 100 200`) over p0
/// (`bridge-access 10`), p1 (`bridge-vids 20-22`, `bridge-pvid 20`) and p2
/// (nothing of its own): the bridge filters VLANs and each port has its
/// own, p2 the bridge's with PVID 1. Returns every port's VLANs.
pub fn assert_vlan_aware_ports(ns: &Netns) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let br = details(ns, "br0");
    assert_eq!(info(&br, "vlan_filtering").as_u64(), Some(1), "{br}");
    let vlans = bridge_vlans(ns);
    assert_eq!(vlans["p0"], set(&["10 pvid untagged"]), "{vlans:?}");
    assert_eq!(
        vlans["p1"],
        set(&["20 pvid untagged", "21", "22"]),
        "{vlans:?}"
    );
    assert_eq!(
        vlans["p2"],
        set(&["1 pvid untagged", "100", "200"]),
        "{vlans:?}"
    );
    vlans
}

/// `bridge -j vlan show` in the namespace: each port's (and bridge's) VLANs
/// as `VID`, `VID pvid`, `VID untagged` or `VID pvid untagged`.
pub fn bridge_vlans(ns: &Netns) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let out = std::process::Command::new("bridge")
        .args(["-n", ns.name(), "-j", "vlan", "show"])
        .output()
        .expect("bridge (iproute2)");
    assert!(out.status.success(), "bridge vlan show: {out:?}");
    let all: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut map = std::collections::BTreeMap::new();
    for dev in all.as_array().into_iter().flatten() {
        let name = dev["ifname"].as_str().unwrap_or_default().to_string();
        let vlans: BTreeSet<String> = dev["vlans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let flags = v["flags"].to_string();
                let mut w = v["vlan"].to_string();
                if flags.contains("PVID") {
                    w.push_str(" pvid");
                }
                if flags.contains("Untagged") {
                    w.push_str(" untagged");
                }
                w
            })
            .collect();
        map.insert(name, vlans);
    }
    map
}
