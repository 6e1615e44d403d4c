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

/// Waits (up to 10 s, then goes on) until every link that is up with a
/// carrier has its operational state: the kernel's linkwatch tells it up
/// to a second late, and a bridge's state `UP` arriving during the second
/// `ifup` is no write of netconf's (a run found `br0` of
/// `bridge_attr_back_to_default` so).
fn operstates_settled(ns: &Netns) {
    crate::eventually(10, || {
        ns.ip_json(&["link", "show"]).iter().all(|l| {
            let flags: Vec<&str> = l["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            !(flags.contains(&"UP") && flags.contains(&"LOWER_UP"))
                || matches!(l["operstate"].as_str(), Some("UP" | "UNKNOWN"))
        })
    });
}

/// The files whose `ifquery -a -c -o json` is not compared with
/// ifupdown2's expected one, and why: ifupdown2's own suite fails them on
/// a stock Debian kernel (their attributes are Cumulus Linux's kernel's).
/// [`judge`] still reads what the kernel can have of them, and netconf's
/// own `ifquery --check` must pass.
pub const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "bridge_l2protocol_tunnel",
        "bridge-l2protocol-tunnel: Cumulus Linux's kernel's bridge port attribute",
    ),
    (
        "bridge_attr_back_to_default",
        "bridge-arp-nd-suppress, bridge-l2protocol-tunnel: Cumulus Linux's kernel's",
    ),
];

/// What a difference on purpose covers in an object of the output.
#[derive(Clone, Copy, Debug)]
pub enum Covers {
    /// The object's `status`.
    Status,
    /// An attribute's `config_status` (its value is the same).
    AttrStatus(&'static str),
    /// An attribute in `config` and `config_status`.
    Attr(&'static str),
}

/// A difference of netconf's `ifquery -a -c -o json` from ifupdown2's
/// expected output that is on purpose: in `file` (`*`: any), of the
/// object `iface` (`*`: any).
pub struct OnPurpose {
    pub file: &'static str,
    pub iface: &'static str,
    pub covers: Covers,
    pub why: &'static str,
}

/// Every difference on purpose; anything else must match.
pub const ON_PURPOSE: &[OnPurpose] = &[
    OnPurpose {
        file: "*",
        iface: "eth0",
        covers: Covers::Status,
        why: "no DHCP server answers the test's eth0: it has no IPv4 address, which \
              netconf's check fails (`no IPv4 address`) and ifupdown2's does not judge",
    },
    OnPurpose {
        file: "bond_lacp",
        iface: "*",
        covers: Covers::Attr("bond-lacp-bypass-allow"),
        why: "Cumulus Linux's kernel's bond attribute: Debian's bond has none, netconf \
              warns and leaves it out",
    },
    OnPurpose {
        file: "*",
        iface: "*",
        covers: Covers::AttrStatus("bridge-igmp-version"),
        why: "netconf does not set a bridge's IGMP version (a warning says so): it \
              does not judge it (\"\")",
    },
    OnPurpose {
        file: "*",
        iface: "*",
        covers: Covers::AttrStatus("bridge-mld-version"),
        why: "netconf does not set a bridge's MLD version (a warning says so): it \
              does not judge it (\"\")",
    },
];

/// `ours` (netconf's `ifquery -a -c -o json` of `file`) against ifupdown2's
/// `expected`, as JSON values, object by object, with [`ON_PURPOSE`] taken
/// out of both: each difference, one line.
pub fn compare(file: &str, ours: &Value, expected: &[Value]) -> Vec<String> {
    let ours = ours.as_array().cloned().unwrap_or_default();
    let name = |o: &Value| o["name"].as_str().unwrap_or_default().to_string();
    let (our_names, their_names): (Vec<String>, Vec<String>) = (
        ours.iter().map(name).collect(),
        expected.iter().map(name).collect(),
    );
    if our_names != their_names {
        return vec![format!(
            "objects {our_names:?}, ifupdown2's {their_names:?}"
        )];
    }
    let mut wrong = Vec::new();
    for (o, t) in ours.iter().zip(expected) {
        let iface = name(t);
        let (mut o, mut t) = (o.clone(), t.clone());
        for p in ON_PURPOSE
            .iter()
            .filter(|p| (p.file == "*" || p.file == file) && (p.iface == "*" || p.iface == iface))
        {
            for v in [&mut o, &mut t] {
                let object = v.as_object_mut().expect("an object");
                let mut take = |part: &str, key: &str| {
                    if let Some(Value::Object(m)) = object.get_mut(part) {
                        m.remove(key);
                    }
                };
                match p.covers {
                    Covers::Status => {
                        object.remove("status");
                    }
                    Covers::AttrStatus(key) => take("config_status", key),
                    Covers::Attr(key) => {
                        take("config", key);
                        take("config_status", key);
                    }
                }
            }
        }
        if o != t {
            wrong.push(format!("{iface}: netconf's {o}\n  ifupdown2's {t}"));
        }
    }
    wrong
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
/// [`judge`] (but the interfaces in `leave_out`), netconf's `ifquery -a -c
/// -o json` the same JSON value as ifupdown2's expected output but for
/// [`ON_PURPOSE`] (for a file of [`NOT_COMPARED`]: netconf's own `ifquery
/// --check` of its interfaces but `eth0` passing), a second `ifup ARGS`
/// writing nothing (one `ip monitor` for all files), `ifdown -a` leaving
/// the namespace as before. Returns what went wrong; panics where going
/// on makes no sense.
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
        if NOT_COMPARED.iter().any(|(file, _)| file == name) {
            // netconf's own check of what it applied: `eth0` has no lease
            // (no DHCP server answers it), which `--check` fails.
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
        } else {
            let check = ifquery(h, &["-a", "-c", "-o", "json"]);
            match serde_json::from_str::<Value>(&check.stdout) {
                Ok(ours) => failures.extend(
                    compare(name, &ours, &expected)
                        .into_iter()
                        .map(|w| format!("{name}: ifquery -a -c -o json: {w}")),
                ),
                Err(e) => failures.push(format!("{name}: ifquery -a -c -o json: {e}:\n{check}")),
            }
        }
        h.ns.settle();
        operstates_settled(&h.ns);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Only what [`ON_PURPOSE`] lists is taken out: a changed value or
    /// status elsewhere is a difference.
    #[test]
    fn compare_takes_out_only_the_differences_on_purpose() {
        let (_, expected) = fixture("bond_lacp");
        let mut ours = Value::Array(expected.clone());
        for o in ours.as_array_mut().unwrap() {
            if let Value::Object(c) = &mut o["config"] {
                c.remove("bond-lacp-bypass-allow");
            }
            if let Value::Object(c) = &mut o["config_status"] {
                c.remove("bond-lacp-bypass-allow");
            }
            if o["name"] == "eth0" {
                o["status"] = "fail".into();
            }
        }
        assert_eq!(compare("bond_lacp", &ours, &expected), Vec::<String>::new());
        assert_eq!(compare("bond", &ours, &expected).len(), 4, "bond4, 7, 8, 9");
        ours[2]["config"]["vrf-table"] = "1002".into();
        assert_eq!(compare("bond_lacp", &ours, &expected).len(), 1);
    }
}
