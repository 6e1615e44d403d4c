//! The dependency graph of a configuration: which interfaces must be up
//! before which. An edge goes from an upper interface to a lower one it
//! stands on: a bridge to its ports, a bond to its slaves (also when the
//! slave's stanza names the bond with `bond-master`), a VLAN to its raw
//! device (by option or by its `eth0.10` name), a macvlan or vxlan to its
//! lower device, a veth's peer to the veth stanza that creates it, an alias
//! (`eth0:1`) to its interface, and a stanza to what it `requires`.
//!
//! `ifup` brings interfaces up level by level ([`Graph::order`]: everything
//! in a level can run at once, after the levels before it), `ifdown` goes
//! the other way, and a cycle is an error naming every interface in it with
//! the place of its stanza.
//!
//! Nodes are logical interface names. Interfaces referred to without a
//! stanza of their own (a bridge port configured nowhere else) are nodes too,
//! marked as such: they must exist (or appear) before their uppers, but
//! there is nothing to configure on them. Port patterns (`bridge_ports all`,
//! `regex eth.*`) are resolved against the interfaces that exist (given by
//! the caller) and the links the file's stanzas create (which will exist
//! once netconf creates them).

use crate::linkopts::{find, references, stanza_kind, PortList, Relation, VETH_PEER};
use crate::model::{InterfacesFile, Location};
use crate::variables::Variables;
use std::collections::HashMap;
use std::fmt;

/// One interface of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// Its first stanza, if it has one.
    pub location: Option<Location>,
    /// That place as `FILE:LINE`; `None` without a stanza (and for the
    /// implicit loopback stanza, which has no line).
    pub place: Option<String>,
    pub has_stanza: bool,
}

/// An edge from an upper interface to a lower one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub upper: String,
    pub lower: String,
    pub relation: Relation,
    /// The option that made it, as spelled in the file (`bridge_ports`,
    /// `bond-master`), or `name`.
    pub via: String,
}

/// A dependency cycle: each interface needs the next, the last the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Cycle {
    /// The interfaces in the cycle with the place of their stanza.
    pub members: Vec<(String, Option<String>)>,
}

impl fmt::Display for Cycle {
    /// `dependency cycle: br0 (FILE:LINE) -> bond0 (FILE:LINE) -> br0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dependency cycle: ")?;
        for (name, place) in &self.members {
            match place {
                Some(place) => write!(f, "{name} ({place}) -> ")?,
                None => write!(f, "{name} (no stanza) -> ")?,
            }
        }
        match self.members.first() {
            Some((first, _)) => f.write_str(first),
            None => f.write_str("?"),
        }
    }
}

/// The graph of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    /// Per node, its edges to lower nodes, in the order found.
    lowers: Vec<Vec<(usize, usize)>>,
    /// Per node, the nodes standing on it.
    uppers: Vec<Vec<usize>>,
    /// Every edge, in the order found.
    edges: Vec<Edge>,
}

impl Graph {
    /// The graph of `config`. `existing` are the interfaces the system has
    /// now, for port patterns.
    pub fn from_config(config: &InterfacesFile, existing: &[String]) -> Graph {
        let mut graph = Graph::default();
        // Stanza nodes first, in file order; several stanzas of one name
        // (inet and inet6) are one node.
        for stanza in &config.stanzas {
            let i = graph.node(&stanza.name);
            let node = &mut graph.nodes[i];
            if !node.has_stanza {
                node.has_stanza = true;
                node.location = stanza.location;
                node.place = stanza.location.map(|l| config.describe(l));
            }
        }
        // Patterns also match the links the file itself creates (and the
        // peers of its veths), but not other stanza names: a logical name
        // such as `eth0-home` is no interface a bridge could take.
        let mut candidates: Vec<String> = existing.to_vec();
        for stanza in &config.stanzas {
            let vars = Variables::from_stanza(stanza);
            let mut add = |name: &str| {
                if !candidates.iter().any(|c| c == name) {
                    candidates.push(name.to_string());
                }
            };
            if stanza_kind(&stanza.name, &vars).is_some() {
                add(&stanza.name);
            }
            if let Some(peer) = find(&vars, VETH_PEER) {
                peer.value.split_ascii_whitespace().for_each(&mut add);
            }
        }
        for stanza in &config.stanzas {
            let vars = Variables::from_stanza(stanza);
            for reference in references(&stanza.name, &vars) {
                for target in resolve(&reference.targets, &stanza.name, &candidates) {
                    let (upper, lower) = if reference.relation.referent_is_upper() {
                        (target, stanza.name.clone())
                    } else {
                        (stanza.name.clone(), target)
                    };
                    graph.edge(upper, lower, reference.relation, reference.via.clone());
                }
            }
        }
        graph.drop_veth_pair_loops();
        graph
    }

    fn node(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            location: None,
            place: None,
            has_stanza: false,
        });
        self.index.insert(name.to_string(), i);
        self.lowers.push(Vec::new());
        self.uppers.push(Vec::new());
        i
    }

    fn edge(&mut self, upper: String, lower: String, relation: Relation, via: String) {
        let u = self.node(&upper);
        let l = self.node(&lower);
        if self.lowers[u].iter().any(|&(to, _)| to == l) {
            return;
        }
        self.lowers[u].push((l, self.edges.len()));
        if !self.uppers[l].contains(&u) {
            self.uppers[l].push(u);
        }
        self.edges.push(Edge {
            upper,
            lower,
            relation,
            via,
        });
    }

    /// A veth pair declared from both ends (each names the other as its
    /// peer) is one link created by whichever comes up first, not a cycle.
    fn drop_veth_pair_loops(&mut self) {
        let veth = |g: &Graph, u: usize, l: usize| {
            g.lowers[u]
                .iter()
                .any(|&(to, e)| to == l && g.edges[e].relation == Relation::VethPeer)
        };
        let mut mutual = Vec::new();
        for u in 0..self.nodes.len() {
            for &(l, _) in &self.lowers[u] {
                if veth(self, u, l) && veth(self, l, u) {
                    mutual.push((u, l));
                }
            }
        }
        for (u, l) in mutual {
            self.lowers[u].retain(|&(to, _)| to != l);
            self.uppers[l].retain(|&up| up != u);
        }
    }

    /// Every node: stanzas in file order, then interfaces only referred to.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node_named(&self, name: &str) -> Option<&Node> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// Every edge still in the graph, in the order found.
    pub fn edges(&self) -> Vec<&Edge> {
        let mut ids: Vec<usize> = self.lowers.iter().flatten().map(|&(_, e)| e).collect();
        ids.sort_unstable();
        ids.into_iter().map(|e| &self.edges[e]).collect()
    }

    /// The edges from `iface` down, in the order found.
    pub fn edges_from(&self, iface: &str) -> Vec<&Edge> {
        self.index
            .get(iface)
            .map(|&i| {
                self.lowers[i]
                    .iter()
                    .map(|&(_, e)| &self.edges[e])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What `iface` stands on directly.
    pub fn lowers(&self, iface: &str) -> Vec<&str> {
        self.index
            .get(iface)
            .map(|&i| {
                self.lowers[i]
                    .iter()
                    .map(|&(l, _)| self.nodes[l].name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What stands on `iface` directly.
    pub fn uppers(&self, iface: &str) -> Vec<&str> {
        self.index
            .get(iface)
            .map(|&i| {
                self.uppers[i]
                    .iter()
                    .map(|&u| self.nodes[u].name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Everything below `iface`, recursively, lowest first (each before
    /// anything that needs it), without `iface` itself. A cycle does not
    /// loop: each interface comes once.
    pub fn closure_down(&self, iface: &str) -> Vec<String> {
        self.closure(iface, |g, i| g.lowers[i].iter().map(|&(l, _)| l).collect())
    }

    /// Everything above `iface`, recursively, highest first (the order to
    /// take them down in before `iface`), without `iface` itself.
    pub fn closure_up(&self, iface: &str) -> Vec<String> {
        self.closure(iface, |g, i| g.uppers[i].clone())
    }

    fn closure(&self, iface: &str, next: impl Fn(&Graph, usize) -> Vec<usize>) -> Vec<String> {
        let Some(&start) = self.index.get(iface) else {
            return Vec::new();
        };
        // Depth-first post-order: a node is listed after everything it
        // leads to.
        let mut seen = vec![false; self.nodes.len()];
        let mut out = Vec::new();
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, next(self, start))];
        seen[start] = true;
        while let Some((node, pending)) = stack.last_mut() {
            match pending.first().copied() {
                Some(n) => {
                    pending.remove(0);
                    if !seen[n] {
                        seen[n] = true;
                        let more = next(self, n);
                        stack.push((n, more));
                    }
                }
                None => {
                    let node = *node;
                    stack.pop();
                    if node != start {
                        out.push(self.nodes[node].name.clone());
                    }
                }
            }
        }
        out
    }

    /// The order to bring `targets` up in, with everything they stand on:
    /// levels, each to be started after the previous ones have finished,
    /// everything within a level at once (in node order). Names the graph
    /// does not know are taken as interfaces with nothing below them. A
    /// cycle among them is an error.
    pub fn order(&self, targets: &[String]) -> Result<Vec<Vec<String>>, Cycle> {
        let mut wanted = vec![false; self.nodes.len()];
        let mut unknown: Vec<String> = Vec::new();
        for target in targets {
            match self.index.get(target) {
                Some(&i) => {
                    wanted[i] = true;
                    for lower in self.closure_down(target) {
                        wanted[self.index[&lower]] = true;
                    }
                }
                None => {
                    if !unknown.contains(target) {
                        unknown.push(target.clone());
                    }
                }
            }
        }
        let mut levels = self.levels(&wanted)?;
        if !unknown.is_empty() {
            if levels.is_empty() {
                levels.push(Vec::new());
            }
            levels[0].extend(unknown);
        }
        Ok(levels)
    }

    /// The whole graph in levels (see [`Graph::order`]), or its first cycle.
    pub fn check(&self) -> Result<Vec<Vec<String>>, Cycle> {
        self.levels(&vec![true; self.nodes.len()])
    }

    /// Kahn's algorithm on the wanted nodes: level 0 is what stands on
    /// nothing, level n what stands only on levels below n.
    fn levels(&self, wanted: &[bool]) -> Result<Vec<Vec<String>>, Cycle> {
        let mut missing: Vec<usize> = (0..self.nodes.len())
            .map(|i| self.lowers[i].iter().filter(|&&(l, _)| wanted[l]).count())
            .collect();
        let mut done = vec![false; self.nodes.len()];
        let mut levels = Vec::new();
        let mut remaining = wanted.iter().filter(|&&w| w).count();
        while remaining > 0 {
            let level: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| wanted[i] && !done[i] && missing[i] == 0)
                .collect();
            if level.is_empty() {
                return Err(self.find_cycle(wanted, &done));
            }
            for &i in &level {
                done[i] = true;
                for &u in &self.uppers[i] {
                    missing[u] = missing[u].saturating_sub(1);
                }
            }
            remaining -= level.len();
            levels.push(level.iter().map(|&i| self.nodes[i].name.clone()).collect());
        }
        Ok(levels)
    }

    /// A cycle among the wanted nodes that are not done (each of them has
    /// a lower among them, so walking down must come back to a node).
    fn find_cycle(&self, wanted: &[bool], done: &[bool]) -> Cycle {
        let open = |i: usize| wanted[i] && !done[i];
        let Some(start) = (0..self.nodes.len()).find(|&i| open(i)) else {
            return Cycle {
                members: Vec::new(),
            };
        };
        let mut path = vec![start];
        let mut at = start;
        while let Some(&(next, _)) = self.lowers[at].iter().find(|&&(l, _)| open(l)) {
            if let Some(pos) = path.iter().position(|&p| p == next) {
                path.drain(..pos);
                break;
            }
            path.push(next);
            at = next;
        }
        Cycle {
            members: path
                .into_iter()
                .map(|i| (self.nodes[i].name.clone(), self.nodes[i].place.clone()))
                .collect(),
        }
    }

    /// The graph in Graphviz's dot language: every node (those without a
    /// stanza dashed) and every edge labelled with the option that made
    /// it. With `only`, just those interfaces and what they stand on.
    pub fn to_dot(&self, only: Option<&[String]>) -> String {
        let mut keep = vec![only.is_none(); self.nodes.len()];
        let mut extra: Vec<&str> = Vec::new();
        for name in only.unwrap_or_default() {
            match self.index.get(name) {
                Some(&i) => {
                    keep[i] = true;
                    for lower in self.closure_down(name) {
                        keep[self.index[&lower]] = true;
                    }
                }
                None => extra.push(name),
            }
        }
        let mut out = String::from("digraph interfaces {\n");
        for (_, node) in self.nodes.iter().enumerate().filter(|&(i, _)| keep[i]) {
            out.push_str(&format!("\t{}", quote(&node.name)));
            if !node.has_stanza {
                out.push_str(" [style=dashed]");
            }
            out.push_str(";\n");
        }
        for name in extra {
            out.push_str(&format!("\t{} [style=dashed];\n", quote(name)));
        }
        for edge in self.edges() {
            if keep[self.index[&edge.upper]] {
                out.push_str(&format!(
                    "\t{} -> {} [label={}];\n",
                    quote(&edge.upper),
                    quote(&edge.lower),
                    quote(&edge.via)
                ));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A dot ID: always quoted, `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The names a reference stands for: literal names, and pattern matches
/// among `candidates`; never the stanza itself.
fn resolve(targets: &PortList, own: &str, candidates: &[String]) -> Vec<String> {
    targets.resolve(own, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse_bytes, ParseOptions};

    fn graph(text: &str, existing: &[&str]) -> Graph {
        let parsed = parse_bytes(
            "/etc/network/interfaces",
            text.as_bytes(),
            &ParseOptions {
                no_loopback: true,
                ..Default::default()
            },
        );
        assert!(!parsed.rejected, "{:?}", parsed.diagnostics);
        let existing: Vec<String> = existing.iter().map(|s| s.to_string()).collect();
        Graph::from_config(&parsed.config, &existing)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// A bridge over a VLAN over a bond over two ports, in Debian's
    /// spellings, written top-down so that file order is no help.
    const STACK_DEBIAN: &str = "\
auto br0
iface br0 inet static
    address 198.51.100.1/24
    bridge_ports bond0.10
    bridge_stp off

iface bond0.10 inet manual

iface bond0 inet manual
    bond-slaves eth0 eth1
    bond-mode active-backup

iface eth0 inet manual
iface eth1 inet manual
";

    /// The same stack in ifupdown2/ifupdown-ng spellings, the slaves naming
    /// their bond instead, the VLAN named freely.
    const STACK_NG: &str = "\
auto br0
iface br0 inet manual
    bridge-ports mgmt
    bridge-vlan-aware yes

iface mgmt inet manual
    vlan-raw-device bond0
    vlan-id 10

iface bond0 inet manual
    bond-mode 802.3ad

iface eth0 inet manual
    bond-master bond0
iface eth1 inet manual
    bond-master bond0
";

    #[test]
    fn three_level_stack_in_levels() {
        for (text, vlan) in [(STACK_DEBIAN, "bond0.10"), (STACK_NG, "mgmt")] {
            let g = graph(text, &[]);
            assert_eq!(g.lowers("br0"), [vlan]);
            assert_eq!(g.lowers(vlan), ["bond0"]);
            let mut slaves = g.lowers("bond0");
            slaves.sort_unstable();
            assert_eq!(slaves, ["eth0", "eth1"]);
            assert_eq!(g.uppers("eth0"), ["bond0"]);
            assert_eq!(g.uppers("bond0"), [vlan]);
            let levels = g.order(&names(&["br0"])).unwrap();
            assert_eq!(
                levels,
                vec![
                    names(&["eth0", "eth1"]),
                    names(&["bond0"]),
                    names(&[vlan]),
                    names(&["br0"])
                ]
            );
            assert_eq!(
                g.closure_down("br0"),
                names(&["eth0", "eth1", "bond0", vlan])
            );
            assert_eq!(g.closure_up("eth1"), names(&["br0", vlan, "bond0"]));
            // Bringing up a lower alone needs nothing above it.
            assert_eq!(g.order(&names(&["bond0"])).unwrap().len(), 2);
        }
    }

    #[test]
    fn independent_branches_share_levels() {
        let g = graph(
            "\
iface br1 inet manual
    bridge-ports ve1
iface br0 inet manual
    bridge_ports eth0
iface ve0 inet manual
    link-type veth
    veth-peer-name ve1
iface vx0 inet manual
    vxlan-id 42
    vxlan-physdev eth1
iface mv0 inet manual
    link-type macvlan
    macvlan-raw-device eth1
",
            &["eth0", "eth1"],
        );
        assert_eq!(g.lowers("ve1"), ["ve0"]);
        let all = names(&["br0", "br1", "vx0", "mv0"]);
        assert_eq!(
            g.order(&all).unwrap(),
            vec![
                names(&["ve0", "eth0", "eth1"]),
                names(&["br0", "vx0", "mv0", "ve1"]),
                names(&["br1"]),
            ]
        );
        assert!(!g.node_named("eth0").unwrap().has_stanza);
        assert!(g.node_named("ve0").unwrap().has_stanza);
        // Unknown targets come first, alone.
        assert_eq!(
            g.order(&names(&["nosuch"])).unwrap(),
            vec![names(&["nosuch"])]
        );
    }

    #[test]
    fn ports_by_pattern_and_requires() {
        let g = graph(
            "\
iface br0 inet manual
    bridge_ports all regex tap[0-9]+ noregex weird0
iface tap1 inet manual
    link-type dummy
    requires eth0
iface web inet manual
    requires br0 tap1
",
            &["lo", "eth0", "eth1", "wlan0", "br0"],
        );
        assert_eq!(g.lowers("br0"), ["eth0", "eth1", "tap1", "weird0"]);
        assert_eq!(g.lowers("tap1"), ["eth0"]);
        assert_eq!(g.lowers("web"), ["br0", "tap1"]);
        let edge = &g.edges_from("web")[0];
        assert_eq!(
            (edge.relation, edge.via.as_str()),
            (Relation::Requires, "requires")
        );
        assert_eq!(
            g.order(&names(&["web"])).unwrap(),
            vec![
                names(&["eth0", "eth1", "weird0"]),
                names(&["tap1"]),
                names(&["br0"]),
                names(&["web"])
            ]
        );
    }

    #[test]
    fn patterns_match_links_the_file_creates_not_logical_names() {
        let g = graph(
            "\
iface br0 inet manual
    bridge_ports regex (eth|ve|tap).*
iface ve0 inet manual
    link-type veth
    veth-peer-name ve9
iface eth0-home inet dhcp
iface eth1:1 inet manual
",
            &["eth1"],
        );
        assert_eq!(g.lowers("br0"), ["eth1", "ve0", "ve9"]);
    }

    #[test]
    fn cycle_names_each_member_with_its_place() {
        let g = graph(
            "\
iface br0 inet manual
    bridge_ports bond0

iface bond0 inet manual
    bond-slaves eth0
    requires br0

iface eth0 inet manual
",
            &[],
        );
        let err = g.order(&names(&["br0"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency cycle: br0 (/etc/network/interfaces:1) -> \
             bond0 (/etc/network/interfaces:4) -> br0"
        );
        assert_eq!(err.members.len(), 2);
        assert!(g.check().is_err());
        // eth0 alone is fine: it is below the cycle.
        assert_eq!(g.order(&names(&["eth0"])).unwrap(), vec![names(&["eth0"])]);
        // closure_down does not loop.
        assert_eq!(g.closure_down("br0"), names(&["eth0", "bond0"]));

        // An interface requiring itself is a cycle of one.
        let g = graph("iface a inet manual\n    requires a\n", &[]);
        assert_eq!(
            g.check().unwrap_err().to_string(),
            "dependency cycle: a (/etc/network/interfaces:1) -> a"
        );
    }

    #[test]
    fn veth_pair_declared_from_both_ends_is_no_cycle() {
        let g = graph(
            "\
iface ve0 inet manual
    link-type veth
    veth-peer-name ve1
iface ve1 inet manual
    link-type veth
    veth-peer-name ve0
",
            &[],
        );
        assert_eq!(g.check().unwrap(), vec![names(&["ve0", "ve1"])]);
    }

    #[test]
    fn aliases_and_dotted_vlans() {
        let g = graph(
            "\
iface eth0.100.20 inet manual
iface eth0.100 inet manual
iface eth0:1 inet static
    address 203.0.113.5/24
",
            &[],
        );
        assert_eq!(g.lowers("eth0.100.20"), ["eth0.100"]);
        assert_eq!(g.lowers("eth0.100"), ["eth0"]);
        assert_eq!(g.lowers("eth0:1"), ["eth0"]);
        let edge = &g.edges_from("eth0.100")[0];
        assert_eq!(
            (edge.relation, edge.via.as_str()),
            (Relation::VlanRawDevice, "name")
        );
    }

    #[test]
    fn dot_output() {
        let g = graph(
            "iface br0 inet manual\n    bridge_ports eth0 \"odd\"\niface lo inet loopback\n",
            &[],
        );
        assert_eq!(
            g.to_dot(None),
            "digraph interfaces {\n\
             \t\"br0\";\n\
             \t\"lo\";\n\
             \t\"eth0\" [style=dashed];\n\
             \t\"\\\"odd\\\"\" [style=dashed];\n\
             \t\"br0\" -> \"eth0\" [label=\"bridge_ports\"];\n\
             \t\"br0\" -> \"\\\"odd\\\"\" [label=\"bridge_ports\"];\n\
             }\n"
        );
        assert_eq!(
            g.to_dot(Some(&names(&["lo"]))),
            "digraph interfaces {\n\t\"lo\";\n}\n"
        );
    }
}
