//! Property tests of the dependency graph: over random stacks of bridges,
//! bonds, VLANs, vxlans, veths and `requires` (with odd names and values,
//! bad regexes, self references and cycles), building the graph never
//! panics, `order` puts every interface after everything it stands on and
//! each exactly once, and a reported cycle really is one.

use netconf_interfaces::graph::Graph;
use netconf_interfaces::{parse_bytes, ParseOptions};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "eth0", "eth1", "br0", "bond0", "bond0.10", "eth0.5", "vlan7", "ve0", "ve1", "vx0", "mgmt",
    "eth0:1", "a.b", "tap3",
];
const OPTIONS: &[&str] = &[
    "bridge_ports",
    "bridge-ports",
    "bond-slaves",
    "bond-members",
    "slaves",
    "bond-master",
    "bond-mode",
    "vlan-raw-device",
    "vlan-id",
    "vxlan-id",
    "vxlan-physdev",
    "link-type",
    "veth-peer-name",
    "macvlan-raw-device",
    "link",
    "requires",
];
const VALUES: &[&str] = &[
    "eth0",
    "eth1 eth0",
    "br0",
    "bond0",
    "none",
    "all",
    "regex eth.*",
    "regex (",
    "regex .* noregex ve1",
    "veth",
    "macvlan",
    "bridge",
    "bond0.10",
    "mgmt",
    "10",
    "ve0",
    "ve1",
    "vx0",
    "tap3 br0",
];

fn stanza() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (
        0..NAMES.len(),
        prop::collection::vec((0..OPTIONS.len(), 0..VALUES.len()), 0..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn graphs_are_ordered_or_cycles_are_real(
        stanzas in prop::collection::vec(stanza(), 0..8),
        existing in prop::collection::vec(0..NAMES.len(), 0..5),
    ) {
        let mut text = String::new();
        for (name, options) in &stanzas {
            text.push_str(&format!("iface {} inet manual\n", NAMES[*name]));
            for (option, value) in options {
                text.push_str(&format!("    {} {}\n", OPTIONS[*option], VALUES[*value]));
            }
        }
        let parsed = parse_bytes("/etc/network/interfaces", text.as_bytes(), &ParseOptions::default());
        let existing: Vec<String> = existing.iter().map(|&i| NAMES[i].to_string()).collect();
        let graph = Graph::from_config(&parsed.config, &existing);
        let _ = graph.to_dot(None);
        let all: Vec<String> = graph.nodes().iter().map(|n| n.name.clone()).collect();
        for name in &all {
            let down = graph.closure_down(name);
            prop_assert!(!down.contains(name) || graph.order(std::slice::from_ref(name)).is_err());
            let _ = graph.closure_up(name);
        }
        match graph.order(&all) {
            Ok(levels) => {
                let flat: Vec<&String> = levels.iter().flatten().collect();
                prop_assert_eq!(flat.len(), all.len());
                let level_of = |n: &str| levels.iter().position(|l| l.iter().any(|m| m == n)).unwrap();
                for name in &all {
                    for lower in graph.lowers(name) {
                        prop_assert!(level_of(lower) < level_of(name), "{} before {}", lower, name);
                    }
                }
            }
            Err(cycle) => {
                prop_assert!(!cycle.members.is_empty());
                let n = cycle.members.len();
                for i in 0..n {
                    let (from, _) = &cycle.members[i];
                    let (to, _) = &cycle.members[(i + 1) % n];
                    prop_assert!(graph.lowers(from).contains(&to.as_str()), "{} -> {} in {}", from, to, cycle);
                }
                prop_assert!(cycle.to_string().starts_with("dependency cycle: "));
            }
        }
    }
}
