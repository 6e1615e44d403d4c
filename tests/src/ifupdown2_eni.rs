//! ifupdown2's own test files (`tests/conformance/ifupdown2/*.eni`) with
//! the output its test suite expects of `ifquery -a -c -o json` after
//! bringing each up: every option `pass`. [`judge`] reads those options
//! against the kernel of a namespace, as ifupdown2's `--check` would, from
//! one dump of its links, addresses and bridge VLANs. For the VM's test
//! (`tests/full_kernel/dialects_vm.rs`): every file makes a VRF, and bonds
//! or VLAN-aware bridges.

use crate::links::bridge_vlans;
use crate::round_trip::{assert_back_to, links_and_addrs};
use crate::{repo_root, run, Harness, Netns};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The ports ifupdown2's test suite substitutes for `swp_AA_` ...
/// `swp_JJ_`, and `eth0` (the files' `inet dhcp` in VRF `mgmt`).
pub const PORTS: &[&str] = &[
    "swp_AA_", "swp_BB_", "swp_CC_", "swp_DD_", "swp_EE_", "swp_FF_", "swp_GG_", "swp_HH_",
    "swp_II_", "swp_JJ_", "eth0",
];

/// Options of the expected output not judged against the kernel, and why:
/// Cumulus Linux's own kernel's (`bond-lacp-bypass-allow`,
/// `bridge-l2protocol-tunnel`, `bridge-arp-nd-suppress`), and the per-port
/// settings and multicast tuning netconf does not apply
/// (man/netconf-interfaces.5).
pub const NOT_JUDGED: &[&str] = &[
    "bond-lacp-bypass-allow",
    "bridge-l2protocol-tunnel",
    "bridge-arp-nd-suppress",
    "bridge-pathcosts",
    "bridge-portprios",
    "bridge-portmcfl",
    "bridge-learning",
    "bridge-unicast-flood",
    "bridge-multicast-flood",
    "bridge-mclmc",
    "bridge-mcrouter",
    "bridge-mcsnoop",
    "bridge-mcsqc",
    "bridge-mcqifaddr",
    "bridge-mcquerier",
    "bridge-hashmax",
    "bridge-mclmi",
    "bridge-mcmi",
    "bridge-mcqpi",
    "bridge-mcqi",
    "bridge-mcqri",
    "bridge-mcsqi",
    "bridge-igmp-version",
    "bridge-mld-version",
    "bridge-vlan-protocol",
    "bridge-vlan-stats",
    "bridge-mcstats",
];

/// The file `NAME.eni` and its expected output (one entry per interface:
/// `name`, `config`, `config_status`, `status`).
pub fn fixture(name: &str) -> (String, Vec<Value>) {
    let dir = repo_root().join("tests/conformance/ifupdown2");
    let text = std::fs::read_to_string(dir.join(format!("{name}.eni"))).expect("the .eni file");
    let json = std::fs::read_to_string(dir.join(format!("{name}.ifquery.ac.json")))
        .expect("the expected output");
    let expected: Value = serde_json::from_str(&json).expect("the expected output is JSON");
    (text, expected.as_array().cloned().unwrap_or_default())
}

/// Turns off IPv6 duplicate address detection in the namespace (for the
/// links made after): nothing in these files is about it, and without it
/// the kernel settles at once.
pub fn no_dad(ns: &Netns) {
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", ns.name(), "sysctl", "-qw"]).args([
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
    ]);
    run(c).assert_ok();
}

/// `yes`/`on`/`1` and `no`/`off`/`0`, as ifupdown2 reads them.
fn yes(value: &str) -> Option<bool> {
    match value {
        "yes" | "on" | "1" => Some(true),
        "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `1-20 40` as VLAN ids.
fn vids(text: &str) -> Vec<u64> {
    text.split_ascii_whitespace()
        .flat_map(|w| {
            let (lo, hi) = w.split_once('-').unwrap_or((w, w));
            lo.parse().unwrap_or(0)..=hi.parse().unwrap_or(0)
        })
        .collect()
}

/// The kernel's view, read once.
struct Dump {
    links: BTreeMap<String, Value>,
    addrs: BTreeMap<String, BTreeSet<String>>,
    vlans: BTreeMap<String, BTreeSet<String>>,
}

impl Dump {
    fn read(ns: &Netns) -> Dump {
        let links = ns
            .ip_json(&["-d", "link", "show"])
            .into_iter()
            .map(|l| (l["ifname"].as_str().unwrap_or_default().to_string(), l))
            .collect();
        Dump {
            links,
            addrs: ns.all_global_addrs(),
            vlans: bridge_vlans(ns),
        }
    }

    fn data(&self, iface: &str, key: &str) -> Value {
        self.links
            .get(iface)
            .map_or(Value::Null, |l| l["linkinfo"]["info_data"][key].clone())
    }

    fn ports_of(&self, master: &str) -> BTreeSet<String> {
        self.links
            .iter()
            .filter(|(_, l)| l["master"].as_str() == Some(master))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A port's VLAN ids, and its PVID (untagged).
    fn port_vlans(&self, port: &str) -> (BTreeSet<u64>, Option<u64>) {
        let mut ids = BTreeSet::new();
        let mut pvid = None;
        for v in self.vlans.get(port).into_iter().flatten() {
            let id: u64 = v
                .split(' ')
                .next()
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            ids.insert(id);
            if v.ends_with("pvid untagged") {
                pvid = Some(id);
            }
        }
        (ids, pvid)
    }
}

/// Every option of the expected output (but [`NOT_JUDGED`], and the
/// interfaces in `leave_out`) against the kernel of `ns`: what is wrong,
/// one line each.
pub fn judge(ns: &Netns, expected: &[Value], leave_out: &[&str]) -> Vec<String> {
    let dump = Dump::read(ns);
    let mut wrong = Vec::new();
    for entry in expected {
        let iface = entry["name"].as_str().unwrap_or_default();
        if leave_out.contains(&iface) {
            continue;
        }
        assert_eq!(entry["status"], "pass", "{iface}: the expected output");
        for (key, want) in entry["config"].as_object().into_iter().flatten() {
            if NOT_JUDGED.contains(&key.as_str()) {
                continue;
            }
            match judge_one(&dump, expected, iface, key, want) {
                Some(true) => {}
                Some(false) => wrong.push(format!(
                    "{iface}: {key} {want}: the kernel has {}",
                    dump.links
                        .get(iface)
                        .map_or("no such link".into(), Value::to_string)
                )),
                None => wrong.push(format!("{iface}: {key}: not judged by this test (add it)")),
            }
        }
    }
    wrong
}

/// Whether the kernel has what `key` `want` says of `iface`; `None` for
/// an option this test does not know.
fn judge_one(
    dump: &Dump,
    expected: &[Value],
    iface: &str,
    key: &str,
    want: &Value,
) -> Option<bool> {
    let text = want.as_str().unwrap_or_default();
    let data = |k: &str| dump.data(iface, k);
    let number = |k: &str| data(k).as_u64() == text.parse().ok();
    let kind = dump
        .links
        .get(iface)
        .map(|l| l["linkinfo"]["info_kind"].clone());
    let config_of = |name: &str| -> Value {
        expected
            .iter()
            .find(|e| e["name"] == name)
            .map_or(Value::Null, |e| e["config"].clone())
    };
    Some(match key {
        "vrf" => dump.links.get(iface).and_then(|l| l["master"].as_str()) == Some(text),
        "vrf-table" => number("table"),
        "address" => {
            let want: BTreeSet<String> = want
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            dump.addrs.get(iface) == Some(&want)
        }
        "bond-slaves" | "bridge-ports" => {
            let want: BTreeSet<String> = text.split_ascii_whitespace().map(String::from).collect();
            dump.ports_of(iface) == want
        }
        "bond-mode" => data("mode").as_str() == Some(text),
        "bond-xmit-hash-policy" => data("xmit_hash_policy").as_str() == Some(text),
        "bond-miimon" => number("miimon"),
        "bond-min-links" => number("min_links"),
        "bond-updelay" => number("updelay"),
        "bond-use-carrier" => data("use_carrier").as_u64().map(|v| v == 1) == yes(text),
        // One kernel setting, `num_peer_notif`, for both.
        "bond-num-grat-arp" | "bond-num-unsol-na" => number("num_peer_notif"),
        "bond-lacp-rate" => {
            let fast = matches!(text, "fast" | "1");
            data("ad_lacp_rate").as_str() == Some(if fast { "fast" } else { "slow" })
        }
        "bridge-vlan-aware" => data("vlan_filtering").as_u64().map(|v| v == 1) == yes(text),
        "bridge-stp" => data("stp_state").as_u64().map(|v| v != 0) == yes(text),
        "bridge-bridgeprio" => number("priority"),
        // Seconds, which the kernel shows in hundredths.
        "bridge-fd" | "bridge-hello" | "bridge-maxage" | "bridge-ageing" => {
            let attr = match key {
                "bridge-fd" => "forward_delay",
                "bridge-hello" => "hello_time",
                "bridge-maxage" => "max_age",
                _ => "ageing_time",
            };
            data(attr).as_u64() == text.parse::<u64>().ok().map(|s| s * 100)
        }
        "vxlan-id" => number("id"),
        "vxlan-local-tunnelip" => data("local").as_str() == Some(text),
        // On a bridge: the VLANs of each port that has none of its own.
        "bridge-vids" | "bridge-pvid" if kind.as_ref().is_some_and(|k| k == "bridge") => {
            dump.ports_of(iface).iter().all(|port| {
                let own = config_of(port);
                if own.get("bridge-access").is_some() || own.get(key).is_some() {
                    return true;
                }
                let (ids, pvid) = dump.port_vlans(port);
                match key {
                    "bridge-vids" => vids(text).iter().all(|v| ids.contains(v)),
                    _ => pvid == text.parse().ok(),
                }
            })
        }
        "bridge-vids" | "bridge-pvid" | "bridge-access" => {
            let (ids, pvid) = dump.port_vlans(iface);
            match key {
                "bridge-vids" => vids(text).iter().all(|v| ids.contains(v)),
                "bridge-pvid" => pvid == text.parse().ok(),
                _ => {
                    let access: Option<u64> = text.parse().ok();
                    ids.iter().copied().collect::<Vec<_>>()
                        == access.into_iter().collect::<Vec<_>>()
                        && pvid == access
                }
            }
        }
        _ => return None,
    })
}

/// netconf's `ifquery --dialect ifupdown2 ARGS` on the harness's file, in
/// its namespace.
fn ifquery(h: &Harness, args: &[&str]) -> crate::Out {
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&crate::bins().ifquery)
        .args(["--dialect", "ifupdown2", "-i"])
        .arg(h.interfaces_path())
        .args(args)
        .current_dir("/");
    run(c)
}

/// Each file of `names` in turn on the harness (netconfd `--dialect
/// ifupdown2`), in its namespace with [`PORTS`] as veths: `ifup ARGS`,
/// [`judge`] (but the interfaces in `leave_out`), netconf's own `ifquery
/// --check` of the file's interfaces (but `eth0`, whose DHCP has no
/// server), a second `ifup ARGS` writing
/// nothing (one `ip monitor` for all files), `ifdown -a` leaving the
/// namespace as before. Returns what went wrong; panics where going on
/// makes no sense.
pub fn round_trips(h: &Harness, names: &[&str], args: &[&str], leave_out: &[&str]) -> Vec<String> {
    no_dad(&h.ns);
    for port in PORTS {
        h.ns.veth(port);
    }
    let before = links_and_addrs(&h.ns);
    let mut monitor = h.ns.monitor();
    let mut failures = Vec::new();
    for name in names {
        let (text, expected) = fixture(name);
        h.write_interfaces(&text);
        let up = h.ifup(args);
        if !up.success() {
            failures.push(format!("{name}: ifup {args:?} failed:\n{up}"));
            h.ifdown(&["-a"]);
            assert_back_to(h, &before);
            continue;
        }
        failures.extend(
            judge(&h.ns, &expected, leave_out)
                .into_iter()
                .map(|w| format!("{name}: {w}")),
        );
        // `eth0` has no lease (no DHCP server answers it), which `--check`
        // counts as a failure.
        let mut check_args = vec!["--check"];
        check_args.extend(
            expected
                .iter()
                .filter_map(|e| e["name"].as_str())
                .filter(|n| *n != "eth0" && !leave_out.contains(n)),
        );
        let check = ifquery(h, &check_args);
        if !check.success() {
            failures.push(format!("{name}: netconf's ifquery --check:\n{check}"));
        }
        h.ns.settle();
        monitor.fence(&h.ns);
        h.ifup(args).assert_ok();
        // A bond's gratuitous ARPs and unsolicited NAs after a failover
        // (`bond-num-grat-arp 255`) are the kernel's own events.
        let mut events = monitor.fence(&h.ns);
        events.retain(|e| !e.contains("event NOTIFY PEERS"));
        if !events.is_empty() {
            failures.push(format!(
                "{name}: the second ifup {args:?} changed the kernel:\n{}",
                events.join("\n")
            ));
        }
        h.ifdown(&["-a"]).assert_ok();
        assert_back_to(h, &before);
    }
    failures
}
