//! `ifquery --depends`, `--graph` and `--print-dependency` end to end: the
//! real binary over real files, run in a fresh network namespace (`unshare
//! -n`, only `lo` there, veths made for the port patterns to find), so that
//! pattern matching sees nothing of the machine's own interfaces.
//!
//! A three-level stack (a bridge over a VLAN over a bond over two ports) in
//! both spellings, port patterns, `requires`, the dot output parsed back,
//! and a cycle: exit status 1 and every interface in it with its file:line.
//! Needs root (for the namespace). Run `cargo build --bins` first.

use netconf_tests::{bins, require_root, run, Out};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

/// `ifquery -i FILE ARGS...` in a new network namespace, after `setup` (a
/// shell line run there first, e.g. to create links).
fn ifquery(file: &Path, setup: &str, args: &[&str]) -> Out {
    require_root();
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "sh", "-c"])
        .arg(format!(
            "ip link set lo up && {} exec \"$0\" \"$@\"",
            if setup.is_empty() {
                String::new()
            } else {
                format!("{setup} &&")
            }
        ))
        .arg(&bins().ifquery)
        .arg("-i")
        .arg(file)
        .args(args);
    run(cmd)
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn lines(out: &Out) -> Vec<&str> {
    out.stdout.lines().collect()
}

/// The stack in Debian's spellings (bridge-utils, ifenslave, a dotted VLAN),
/// written top-down so that file order is no help.
const DEBIAN: &str = "\
auto br0
iface br0 inet static
    address 198.51.100.1/24
    bridge_ports bond0.10 regex nc-p[0-9]+
    bridge_stp off
    bridge_fd 0

iface bond0.10 inet manual

iface bond0 inet manual
    bond-slaves eth0 eth1
    bond-mode active-backup
    bond-miimon 100

iface eth0 inet manual
iface eth1 inet manual
";

/// The same in ifupdown2/ifupdown-ng's spellings: slaves name their bond,
/// the VLAN is named freely, a service `requires` the bridge.
const NG: &str = "\
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

iface svc inet static
    address 203.0.113.7/24
    requires br0
";

#[test]
fn depends_lists_the_stack_lowest_first() {
    let dir = tempfile::tempdir().unwrap();
    let debian = write(dir.path(), "debian", DEBIAN);
    let veths = "ip link add nc-p1 type veth peer name nc-x1";
    let out = ifquery(&debian, veths, &["--depends", "br0"]);
    out.assert_ok();
    assert_eq!(
        lines(&out),
        ["eth0", "eth1", "nc-p1", "bond0", "bond0.10"],
        "{out}"
    );
    // Without the veth the pattern matches nothing.
    let out = ifquery(&debian, "", &["--depends", "br0"]);
    assert_eq!(lines(&out), ["eth0", "eth1", "bond0", "bond0.10"], "{out}");
    // A lower alone, and a named interface that another one stands on.
    let out = ifquery(&debian, "", &["--depends", "bond0.10", "eth1"]);
    assert_eq!(lines(&out), ["eth0", "eth1", "bond0"], "{out}");
    let out = ifquery(&debian, "", &["--depends", "eth0"]);
    out.assert_ok();
    assert_eq!(out.stdout, "");

    let ng = write(dir.path(), "ng", NG);
    let out = ifquery(&ng, "", &["--depends", "svc"]);
    out.assert_ok();
    assert_eq!(
        lines(&out),
        ["eth0", "eth1", "bond0", "mgmt", "br0"],
        "{out}"
    );
    // -a: everything the auto interfaces stand on.
    let out = ifquery(&ng, "", &["--depends", "-a"]);
    assert_eq!(lines(&out), ["eth0", "eth1", "bond0", "mgmt"], "{out}");

    let out = ifquery(&ng, "", &["--depends", "nosuch"]);
    out.assert_code(1);
    assert_eq!(out.stderr, "ifquery: unknown interface nosuch\n");
}

/// The dot output's nodes (with their attributes) and edges (with labels).
fn parse_dot(text: &str) -> (BTreeSet<String>, BTreeSet<(String, String, String)>) {
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    let body: Vec<&str> = text.lines().collect();
    assert_eq!(body.first(), Some(&"digraph interfaces {"), "{text}");
    assert_eq!(body.last(), Some(&"}"), "{text}");
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    for line in &body[1..body.len() - 1] {
        let line = line
            .strip_prefix('\t')
            .and_then(|l| l.strip_suffix(';'))
            .unwrap_or_else(|| panic!("not a statement: {line:?}"));
        match line.split_once(" -> ") {
            Some((from, rest)) => {
                let (to, attrs) = rest.split_once(" [label=").unwrap();
                let label = attrs.strip_suffix(']').unwrap();
                edges.insert((unquote(from), unquote(to), unquote(label)));
            }
            None => {
                nodes.insert(line.replace('"', ""));
            }
        }
    }
    (nodes, edges)
}

fn edge(from: &str, to: &str, label: &str) -> (String, String, String) {
    (from.into(), to.into(), label.into())
}

#[test]
fn graph_in_dot() {
    let dir = tempfile::tempdir().unwrap();
    let ng = write(dir.path(), "ng", NG);
    let out = ifquery(&ng, "", &["--graph"]);
    out.assert_ok();
    let (nodes, edges) = parse_dot(&out.stdout);
    assert_eq!(
        nodes,
        ["lo", "br0", "mgmt", "bond0", "eth0", "eth1", "svc"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(
        edges,
        [
            edge("br0", "mgmt", "bridge-ports"),
            edge("mgmt", "bond0", "vlan-raw-device"),
            edge("bond0", "eth0", "bond-master"),
            edge("bond0", "eth1", "bond-master"),
            edge("svc", "br0", "requires"),
        ]
        .into_iter()
        .collect()
    );

    // Of one interface: it and what it stands on; ports without a stanza dashed.
    let debian = write(dir.path(), "debian", DEBIAN);
    let out = ifquery(&debian, "", &["--graph", "bond0.10"]);
    out.assert_ok();
    let (nodes, edges) = parse_dot(&out.stdout);
    assert_eq!(
        nodes,
        ["bond0.10", "bond0", "eth0", "eth1"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(edges.len(), 3);
    assert!(edges.contains(&edge("bond0.10", "bond0", "name")));

    // ifupdown2's spellings of the same.
    let dot = ifquery(&debian, "", &["--print-dependency=dot", "bond0.10"]);
    assert_eq!(dot.stdout, out.stdout);
    let list = ifquery(&debian, "", &["--print-dependency", "list"]);
    list.assert_ok();
    assert_eq!(
        list.stdout,
        "lo : None\n\
         br0 : ['bond0.10']\n\
         bond0.10 : ['bond0']\n\
         bond0 : ['eth0', 'eth1']\n\
         eth0 : None\n\
         eth1 : None\n"
    );
    let bad = ifquery(&debian, "", &["--print-dependency=xml"]);
    bad.assert_code(1);
    assert_eq!(
        bad.stderr,
        "ifquery: --print-dependency: \"xml\" is not list or dot\n"
    );
}

#[test]
fn cycle_is_an_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let sourced = write(
        dir.path(),
        "bond",
        "\
iface bond0 inet manual
    bond-slaves eth0
    requires br0
",
    );
    let main = write(
        dir.path(),
        "interfaces",
        &format!(
            "\
auto br0
iface br0 inet manual
    bridge_ports bond0

source {}
",
            sourced.display()
        ),
    );
    let out = ifquery(&main, "", &["--depends", "br0"]);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "ifquery: dependency cycle: br0 ({}:2) -> bond0 ({}:1) -> br0\n",
            main.display(),
            sourced.display()
        )
    );
    // --graph still draws it (that is how to see a cycle), and fails.
    let out = ifquery(&main, "", &["--graph"]);
    out.assert_code(1);
    assert!(out
        .stdout
        .contains("\t\"bond0\" -> \"br0\" [label=\"requires\"];\n"));
    assert!(out.stderr.contains("dependency cycle: "));
    // What stands below the cycle is still fine.
    let out = ifquery(&main, "", &["--depends", "eth0"]);
    out.assert_ok();
}

#[test]
fn debian_paths_are_untouched() {
    // The new options leave the Debian-exact ones alone: a plain query
    // prints the stanza's options.
    let dir = tempfile::tempdir().unwrap();
    let debian = write(dir.path(), "debian", DEBIAN);
    let out = ifquery(&debian, "", &["bond0"]);
    out.assert_ok();
    assert_eq!(
        out.stdout,
        "bond-slaves: eth0 eth1\nbond-mode: active-backup\nbond-miimon: 100\n"
    );
    let out = ifquery(&debian, "", &["-l"]);
    assert_eq!(out.stdout, "lo\nbr0\n");
}
