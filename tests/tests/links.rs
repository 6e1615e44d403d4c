//! Links that stanzas create, end to end: netconfd in a network namespace
//! of the test's own (see `netconf_tests::Harness`), the real `ifup` and
//! `ifdown`, and the kernel's own view (`ip -j -d link`, addresses) as the
//! judge, never an exit code alone.
//!
//! Bridges over veth ports in both spellings (bridge-utils' `bridge_ports`
//! and ifupdown2's `bridge-ports`), port lists (`all`, `regex`, `none`), a
//! macvlan, a vxlan and a veth pair, a port that appears after its bridge,
//! a three-level stack (ports, bridge, macvlan, vxlan) in dependency order
//! with `ifdown` of a needed lower refused or forced, dependency cycles,
//! bonds and VLANs where the kernel has the modules (this test says loudly
//! when it does not), and bridge-utils' own hook script taking the bridge
//! over when it is installed (which `/sbin/brctl` decides), and a
//! VLAN-aware bridge's port VLANs (`bridge-vids`, `bridge-pvid`,
//! `bridge-access`).
//!
//! Addresses come from the documentation and benchmarking ranges only.
//! Needs root. Run `cargo build --bins` first.

use netconf_tests::links::{
    assert_vlan_aware_ports, bridge_vlans, details, exists, info, kernel_makes, kind, master,
    ports_of, set,
};
use netconf_tests::{
    overlay_lines, private_mounts, require_root, sh_quote, wait_until, Harness, Netns,
};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Index of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

/// Index of the first monitor event that contains `needle`.
fn event_of(events: &[String], needle: &str) -> usize {
    events
        .iter()
        .position(|e| e.contains(needle))
        .unwrap_or_else(|| panic!("no event with {needle:?} among:\n{}", events.join("\n")))
}

/// As bridge-utils leaves a port: no IPv6 address generation of its own
/// (so no link-local address, the port having been down), and `mtu`.
fn assert_bridge_port(ns: &Netns, port: &str, mtu: u64) {
    let d = details(ns, port);
    assert_eq!(
        d["inet6_addr_gen_mode"].as_str(),
        Some("none"),
        "{port}'s addrgenmode: {d}"
    );
    assert_eq!(d["mtu"].as_u64(), Some(mtu), "{port}'s MTU: {d}");
    let v6 = ns.ip_json(&["-6", "addr", "show", "dev", port]);
    let addrs = v6
        .first()
        .map(|l| l["addr_info"].clone())
        .unwrap_or_default();
    assert!(
        addrs.as_array().is_none_or(|a| a.is_empty()),
        "{port} has IPv6 addresses: {addrs}"
    );
}

/// A bridge over two veth ports with an address, in one spelling: created
/// with its attributes, the ports in and up (with the bridge's MTU, no
/// IPv6 of their own); a second `ifup` writes nothing at all; `ifdown`
/// deletes the bridge and takes the ports out and down.
fn bridge_lifecycle(options: &str, stp: u64, forward_delay_cs: u64, mtu: u64) {
    require_root();
    let h = Harness::new();
    h.ns.veth("p0");
    h.ns.veth("p1");
    h.write_interfaces(&format!(
        "iface br0 inet static\n    address 198.51.100.1/24\n{options}"
    ));

    let out = h.ifup(&["-v", "br0"]);
    out.assert_ok();
    out.assert_output_contains("create bridge br0");
    let br = details(&h.ns, "br0");
    assert_eq!(kind(&br), Some("bridge"), "{br}");
    assert_eq!(
        info(&br, "stp_state").as_u64(),
        Some(stp),
        "stp_state: {br}"
    );
    assert_eq!(
        info(&br, "forward_delay").as_u64(),
        Some(forward_delay_cs),
        "forward_delay (centiseconds): {br}"
    );
    assert!(h.ns.is_up("br0"), "br0 is not up");
    assert_eq!(h.ns.global_addrs("br0"), set(&["198.51.100.1/24"]));
    assert_eq!(ports_of(&h.ns, "br0"), set(&["p0", "p1"]));
    assert_eq!(br["mtu"].as_u64(), Some(mtu), "{br}");
    for port in ["p0", "p1"] {
        assert!(h.ns.is_up(port), "{port} is not up");
        let d = details(&h.ns, port);
        assert_eq!(
            d["linkinfo"]["info_slave_kind"].as_str(),
            Some("bridge"),
            "{d}"
        );
        assert_bridge_port(&h.ns, port, mtu);
    }
    assert_eq!(h.state(), vec!["br0=br0"]);

    // Again: nothing at all reaches the kernel.
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.ifup(&["br0"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the second ifup changed the kernel:\n{}",
        events.join("\n")
    );

    let out = h.ifdown(&["-v", "br0"]);
    out.assert_ok();
    out.assert_output_contains("delete br0");
    assert!(!exists(&h.ns, "br0"), "br0 is still there");
    for port in ["p0", "p1"] {
        assert_eq!(master(&h.ns, port), None, "{port} still has a master");
        assert!(!h.ns.is_up(port), "{port} is still up");
    }
    assert!(h.state().is_empty(), "{:?}", h.state());
}

#[test]
fn bridge_in_debian_spelling_created_kept_and_deleted() {
    bridge_lifecycle(
        "    mtu 1400\n    bridge_ports p0 p1\n    bridge_stp off\n    bridge_fd 0\n",
        0,
        0,
        1400,
    );
}

#[test]
fn bridge_in_ifupdown2_spelling_created_kept_and_deleted() {
    // STP off forwards at once whatever the delay, so the monitor sees no
    // port change after the settle; 3 s shows the value was read.
    bridge_lifecycle(
        "    bridge-ports p0 p1\n    bridge-stp off\n    bridge-fd 3\n",
        0,
        300,
        1500,
    );
}

#[test]
fn bridge_port_lists_all_regex_and_none() {
    require_root();
    let h = Harness::new();
    // `all` is bridge-utils' `regex eth.* em.* en.* p[0-9].*`: the first
    // three match, `wan0` and the peers (named `x...`) do not.
    for (dev, peer) in [
        ("eth0", "xeth0"),
        ("en1", "xen1"),
        ("p7", "xp7"),
        ("wan0", "xwan0"),
        ("tap1", "xtap1"),
        ("tap22", "xtap22"),
        ("tapx", "xtapx"),
        ("q1", "xq1"),
    ] {
        h.ns.ip(&["link", "add", dev, "type", "veth", "peer", "name", peer]);
    }
    h.write_interfaces(
        "iface br1 inet manual\n    bridge_ports all\n    bridge_stp on\n    bridge_fd 2\n    \
         bridge_maxwait 0\n\n\
         iface br2 inet manual\n    bridge_ports regex tap[0-9]+ noregex q1\n    bridge_fd 0\n\n\
         iface br3 inet static\n    address 198.51.100.3/24\n    bridge_ports none\n",
    );
    h.ifup(&["br1", "br2", "br3"]).assert_ok();
    assert_eq!(ports_of(&h.ns, "br1"), set(&["eth0", "en1", "p7"]));
    assert_eq!(ports_of(&h.ns, "br2"), set(&["tap1", "tap22", "q1"]));
    assert_eq!(ports_of(&h.ns, "br3"), set(&[]));
    let br1 = details(&h.ns, "br1");
    assert_eq!(info(&br1, "stp_state").as_u64(), Some(1), "{br1}");
    assert_eq!(info(&br1, "forward_delay").as_u64(), Some(200), "{br1}");
    let br3 = details(&h.ns, "br3");
    assert_eq!(kind(&br3), Some("bridge"), "{br3}");
    assert_eq!(h.ns.global_addrs("br3"), set(&["198.51.100.3/24"]));
    for dev in ["wan0", "tapx", "xeth0"] {
        assert_eq!(master(&h.ns, dev), None, "{dev} was not to be a port");
    }

    h.ifdown(&["br1", "br2", "br3"]).assert_ok();
    for br in ["br1", "br2", "br3"] {
        assert!(!exists(&h.ns, br), "{br} is still there");
    }
    for dev in ["eth0", "en1", "p7", "tap1", "tap22", "q1"] {
        assert_eq!(master(&h.ns, dev), None, "{dev} still has a master");
    }
}

#[test]
fn macvlan_vxlan_and_veth_pair_created_and_deleted() {
    require_root();
    let h = Harness::new();
    h.ns.veth("m0");
    h.write_interfaces(
        "iface mv1 inet static\n    address 198.51.100.2/24\n    link-type macvlan\n    \
         macvlan-raw-device m0\n\n\
         iface vx1 inet static\n    address 203.0.113.1/24\n    vxlan-id 100\n    \
         vxlan-local-tunnelip 198.18.0.1\n    vxlan-remote-ip 198.18.0.2\n\n\
         iface ve0 inet static\n    address 198.19.0.1/24\n    link-type veth\n    \
         veth-peer-name ve0p\n",
    );
    let out = h.ifup(&["-v", "mv1", "vx1", "ve0"]);
    out.assert_ok();

    let mv = details(&h.ns, "mv1");
    assert_eq!(kind(&mv), Some("macvlan"), "{mv}");
    assert_eq!(mv["link"].as_str(), Some("m0"), "{mv}");
    assert_eq!(info(&mv, "mode").as_str(), Some("bridge"), "{mv}");
    assert_eq!(h.ns.global_addrs("mv1"), set(&["198.51.100.2/24"]));

    let vx = details(&h.ns, "vx1");
    assert_eq!(kind(&vx), Some("vxlan"), "{vx}");
    assert_eq!(info(&vx, "id").as_u64(), Some(100), "{vx}");
    assert_eq!(info(&vx, "local").as_str(), Some("198.18.0.1"), "{vx}");
    assert_eq!(info(&vx, "remote").as_str(), Some("198.18.0.2"), "{vx}");
    assert_eq!(info(&vx, "port").as_u64(), Some(4789), "{vx}");
    assert_eq!(h.ns.global_addrs("vx1"), set(&["203.0.113.1/24"]));

    let ve = details(&h.ns, "ve0");
    assert_eq!(kind(&ve), Some("veth"), "{ve}");
    assert_eq!(ve["link"].as_str(), Some("ve0p"), "{ve}");
    assert_eq!(kind(&details(&h.ns, "ve0p")), Some("veth"));
    assert_eq!(h.ns.global_addrs("ve0"), set(&["198.19.0.1/24"]));
    for dev in ["mv1", "vx1", "ve0"] {
        assert!(h.ns.is_up(dev), "{dev} is not up");
    }

    h.ifdown(&["mv1", "vx1", "ve0"]).assert_ok();
    for dev in ["mv1", "vx1", "ve0", "ve0p"] {
        assert!(!exists(&h.ns, dev), "{dev} is still there");
    }
    // The macvlan's lower device was there before: it stays.
    assert!(exists(&h.ns, "m0"));
    assert!(h.state().is_empty(), "{:?}", h.state());
}

#[test]
fn a_port_that_appears_later_joins_its_bridge() {
    require_root();
    let h = Harness::new();
    h.ns.veth("lp0");
    h.write_interfaces(
        "iface br0 inet static\n    address 198.51.100.1/24\n    bridge_ports lp0 lp1\n    \
         bridge_fd 0\n",
    );
    let out = h.ifup(&["-v", "br0"]);
    out.assert_ok();
    out.assert_output_contains("lp1 is not there (yet): it joins br0 when it appears");
    assert_eq!(ports_of(&h.ns, "br0"), set(&["lp0"]));

    h.ns.veth("lp1");
    wait_until("lp1 to join br0", || {
        master(&h.ns, "lp1").as_deref() == Some("br0")
    });
    assert!(h.ns.is_up("lp1"), "lp1 joined but is not up");
    assert_bridge_port(&h.ns, "lp1", 1500);
    assert_eq!(ports_of(&h.ns, "br0"), set(&["lp0", "lp1"]));

    h.ifdown(&["br0"]).assert_ok();
    assert!(!exists(&h.ns, "br0"));
    for port in ["lp0", "lp1"] {
        assert_eq!(master(&h.ns, port), None, "{port} still has a master");
        assert!(!h.ns.is_up(port), "{port} is still up");
    }
}

/// ports p0 p1 → br0 → macvlan mv0 → vxlan vx0 (over mv0), each with an
/// address; `auto` lists them top-down so that file order is no help.
const STACK: &str = "\
auto vx0 mv0 br0

iface vx0 inet static
    address 203.0.113.1/24
    vxlan-id 42
    vxlan-local-tunnelip 198.51.100.2
    vxlan-remote-ip 198.51.100.9
    vxlan-physdev mv0

iface mv0 inet static
    address 198.51.100.2/24
    link-type macvlan
    macvlan-raw-device br0

iface br0 inet static
    address 198.51.100.1/24
    bridge_ports p0 p1
    bridge_stp off
    bridge_fd 0
";

fn assert_stack_up(h: &Harness) {
    assert_eq!(kind(&details(&h.ns, "br0")), Some("bridge"));
    assert_eq!(ports_of(&h.ns, "br0"), set(&["p0", "p1"]));
    let mv = details(&h.ns, "mv0");
    assert_eq!(kind(&mv), Some("macvlan"), "{mv}");
    assert_eq!(mv["link"].as_str(), Some("br0"), "{mv}");
    let vx = details(&h.ns, "vx0");
    assert_eq!(kind(&vx), Some("vxlan"), "{vx}");
    assert_eq!(info(&vx, "link").as_str(), Some("mv0"), "{vx}");
    for (dev, addr) in [
        ("br0", "198.51.100.1/24"),
        ("mv0", "198.51.100.2/24"),
        ("vx0", "203.0.113.1/24"),
    ] {
        assert!(h.ns.is_up(dev), "{dev} is not up");
        assert_eq!(h.ns.global_addrs(dev), set(&[addr]), "{dev}");
    }
}

fn assert_stack_gone(h: &Harness) {
    for dev in ["vx0", "mv0", "br0"] {
        assert!(!exists(&h.ns, dev), "{dev} is still there");
    }
    for port in ["p0", "p1"] {
        assert_eq!(master(&h.ns, port), None, "{port} still has a master");
        assert!(!h.ns.is_up(port), "{port} is still up");
    }
}

#[test]
fn three_level_stack_in_dependency_order() {
    require_root();
    let h = Harness::new();
    h.ns.veth("p0");
    h.ns.veth("p1");
    h.write_interfaces(STACK);

    // ifup of the top brings up what it stands on first, each finished
    // (address and all) before the next is created.
    let mut monitor = h.ns.monitor();
    let out = h.ifup(&["-v", "vx0"]);
    out.assert_ok();
    let text = out.all_output();
    out.assert_output_contains("bringing up br0 first: others stand on it");
    out.assert_output_contains("bringing up mv0 first: others stand on it");
    let br0 = line_of(&text, "configuring interface br0=br0");
    let mv0 = line_of(&text, "configuring interface mv0=mv0");
    let vx0 = line_of(&text, "configuring interface vx0=vx0");
    assert!(br0 < mv0 && mv0 < vx0, "not lowers first:\n{text}");
    let events = monitor.fence(&h.ns);
    assert!(
        event_of(&events, "inet 198.51.100.1/24") < event_of(&events, ": mv0@br0:"),
        "mv0 was created before br0 had its address:\n{}",
        events.join("\n")
    );
    assert!(
        event_of(&events, "inet 198.51.100.2/24") < event_of(&events, ": vx0:"),
        "vx0 was created before mv0 had its address:\n{}",
        events.join("\n")
    );
    assert_stack_up(&h);
    let state: BTreeSet<String> = h.state().into_iter().collect();
    assert_eq!(state, set(&["br0=br0", "mv0=mv0", "vx0=vx0"]));

    // ifdown of a lower others still stand on: refused, naming them, and
    // nothing in the kernel changes.
    h.ns.settle();
    monitor.fence(&h.ns);
    let out = h.ifdown(&["br0"]);
    out.assert_code(1);
    out.assert_output_contains("br0 is needed by");
    for upper in ["mv0", "vx0"] {
        assert!(
            out.all_output().contains(upper),
            "the refusal does not name {upper}:\n{out}"
        );
    }
    out.assert_output_contains("use --force");
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "a refused ifdown changed the kernel:\n{}",
        events.join("\n")
    );
    assert_stack_up(&h);
    h.ifdown(&["mv0"]).assert_code(1);
    assert_stack_up(&h);

    // With --force the uppers go first, and the client is told.
    let out = h.ifdown(&["-v", "--force", "br0"]);
    out.assert_ok();
    out.assert_output_contains("taking vx0, mv0 down first: they stand on br0");
    let text = out.all_output();
    let vx0 = line_of(&text, "deconfiguring interface vx0=vx0");
    let mv0 = line_of(&text, "deconfiguring interface mv0=mv0");
    let br0 = line_of(&text, "deconfiguring interface br0=br0");
    assert!(vx0 < mv0 && mv0 < br0, "not uppers first:\n{text}");
    assert_stack_gone(&h);
    assert!(h.state().is_empty(), "{:?}", h.state());

    // The whole stack with -a, and down again.
    let out = h.ifup(&["-v", "-a"]);
    out.assert_ok();
    let text = out.all_output();
    let br0 = line_of(&text, "configuring interface br0=br0");
    let mv0 = line_of(&text, "configuring interface mv0=mv0");
    let vx0 = line_of(&text, "configuring interface vx0=vx0");
    assert!(
        br0 < mv0 && mv0 < vx0,
        "ifup -a not in graph order:\n{text}"
    );
    assert_stack_up(&h);
    let out = h.ifdown(&["-v", "-a"]);
    out.assert_ok();
    assert_stack_gone(&h);
    let state: Vec<String> = h.state().into_iter().filter(|s| s != "lo=lo").collect();
    assert!(state.is_empty(), "{state:?}");
}

#[test]
fn dependency_cycles_are_refused_with_their_places() {
    require_root();
    let h = Harness::new();
    h.ns.ip(&["link", "add", "r1", "type", "veth", "peer", "name", "r2"]);
    h.write_interfaces(
        "auto brA brB\n\
         iface brA inet static\n    address 198.51.100.1/24\n    bridge_ports brB\n\n\
         iface brB inet manual\n    bridge_ports brA\n\n\
         iface r1 inet static\n    address 198.51.100.11/24\n    requires r2\n\n\
         iface r2 inet static\n    address 198.51.100.12/24\n    requires r1\n",
    );
    let file = h.path("interfaces");
    let file = file.display();
    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    let links_before: BTreeSet<String> = h.ns.all_links().into_keys().collect();
    for (args, members) in [
        (vec!["brA"], [("brA", 2), ("brB", 6)]),
        (vec!["-a"], [("brA", 2), ("brB", 6)]),
        (vec!["r1"], [("r1", 9), ("r2", 13)]),
    ] {
        let out = h.ifup(&args);
        out.assert_code(1);
        out.assert_output_contains("dependency cycle");
        for (name, line) in members {
            out.assert_output_contains(&format!("{name} ({file}:{line})"));
        }
    }
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "a refused ifup changed the kernel:\n{}",
        events.join("\n")
    );
    let links_after: BTreeSet<String> = h.ns.all_links().into_keys().collect();
    assert_eq!(links_before, links_after);
    assert!(h.state().is_empty(), "{:?}", h.state());
}

/// Says so on the real stderr: cargo's test harness captures `eprintln!`
/// of a passing test, and a skip must be seen.
fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}

/// Where the module is missing, netconf must fail cleanly: exit 1, the
/// kernel's refusal in the message, nothing left behind.
fn assert_refused_cleanly(h: &Harness, iface: &str) {
    let before: BTreeSet<String> = h.ns.all_links().into_keys().collect();
    let out = h.ifup(&[iface]);
    out.assert_code(1);
    out.assert_output_contains("Operation not supported");
    let after: BTreeSet<String> = h.ns.all_links().into_keys().collect();
    assert_eq!(before, after, "a failed ifup {iface} left links behind");
    assert!(h.state().is_empty(), "{:?}", h.state());
}

#[test]
fn bond_where_the_kernel_has_bonding() {
    require_root();
    let h = Harness::new();
    h.ns.veth("s0");
    h.ns.veth("s1");
    h.write_interfaces(
        "iface bond0 inet static\n    address 198.51.100.1/24\n    bond-slaves s0 s1\n    \
         bond-mode active-backup\n    bond-miimon 100\n",
    );
    if let Err(why) = kernel_makes(&h.ns, &["type", "bond"]) {
        skipped(&format!(
            "bond_where_the_kernel_has_bonding, the bond part: this kernel makes no \
             bond (`ip link add nctprobe type bond`: {why}); only checked that ifup fails \
             cleanly"
        ));
        assert_refused_cleanly(&h, "bond0");
        return;
    }
    h.ifup(&["bond0"]).assert_ok();
    let bond = details(&h.ns, "bond0");
    assert_eq!(kind(&bond), Some("bond"), "{bond}");
    assert_eq!(
        info(&bond, "mode").as_str(),
        Some("active-backup"),
        "{bond}"
    );
    assert_eq!(info(&bond, "miimon").as_u64(), Some(100), "{bond}");
    assert_eq!(ports_of(&h.ns, "bond0"), set(&["s0", "s1"]));
    assert!(h.ns.is_up("bond0"));
    assert_eq!(h.ns.global_addrs("bond0"), set(&["198.51.100.1/24"]));

    h.ifdown(&["bond0"]).assert_ok();
    assert!(!exists(&h.ns, "bond0"), "bond0 is still there");
    for slave in ["s0", "s1"] {
        assert_eq!(master(&h.ns, slave), None, "{slave} still has a master");
    }
}

#[test]
fn vlans_where_the_kernel_has_8021q() {
    require_root();
    let h = Harness::new();
    h.ns.veth("eth0");
    h.write_interfaces(
        "iface eth0.10 inet static\n    address 198.51.100.10/24\n\n\
         iface vlan20 inet static\n    address 203.0.113.20/24\n    vlan-raw-device eth0\n",
    );
    if let Err(why) = kernel_makes(&h.ns, &["link", "eth0", "type", "vlan", "id", "4000"]) {
        skipped(&format!(
            "vlans_where_the_kernel_has_8021q, the VLAN part: this kernel makes no \
             VLAN (`ip link add nctprobe link eth0 type vlan id 4000`: {why}); only checked \
             that ifup fails cleanly"
        ));
        assert_refused_cleanly(&h, "eth0.10");
        assert_refused_cleanly(&h, "vlan20");
        return;
    }
    h.ifup(&["eth0.10", "vlan20"]).assert_ok();
    for (dev, id, addr) in [
        ("eth0.10", 10, "198.51.100.10/24"),
        ("vlan20", 20, "203.0.113.20/24"),
    ] {
        let vlan = details(&h.ns, dev);
        assert_eq!(kind(&vlan), Some("vlan"), "{vlan}");
        assert_eq!(info(&vlan, "id").as_u64(), Some(id), "{vlan}");
        assert_eq!(vlan["link"].as_str(), Some("eth0"), "{vlan}");
        assert!(h.ns.is_up(dev), "{dev} is not up");
        assert_eq!(h.ns.global_addrs(dev), set(&[addr]));
    }
    h.ifdown(&["eth0.10", "vlan20"]).assert_ok();
    for dev in ["eth0.10", "vlan20"] {
        assert!(!exists(&h.ns, dev), "{dev} is still there");
    }
    assert!(exists(&h.ns, "eth0"));
}

// ---------------------------------------------------------------------------
// bridge-utils' hook script installed

/// A stand-in for bridge-utils' `/lib/bridge-utils/ifupdown.sh`, installed
/// as `if-pre-up.d/bridge` and `if-post-down.d/bridge`: like the real one
/// it does nothing without an executable `/sbin/brctl` or `bridge_ports`;
/// otherwise it logs its call and makes (pre-up) or deletes (post-down) the
/// bridge, without ports, so that whoever added ports is plain to see.
fn stub_bridge_hook(log: &Path) -> String {
    format!(
        "#!/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n[ -x /sbin/brctl ] || exit 0\n\
         [ -n \"$IF_BRIDGE_PORTS\" ] || exit 0\n\
         echo \"$MODE $PHASE $IFACE $IF_BRIDGE_PORTS\" >> {log}\n\
         case $MODE/$PHASE in\n\
         start/pre-up) ip link show dev \"$IFACE\" >/dev/null 2>&1 || ip link add \"$IFACE\" type bridge ;;\n\
         stop/post-down) ip link del \"$IFACE\" ;;\n\
         esac\n",
        log = sh_quote(&log.to_string_lossy())
    )
}

/// A harness whose daemon sees `/sbin/brctl` executable (a stub laid over
/// `/sbin` in a mount namespace of its own) or not (an existing one
/// hidden under a file without execute permission), with the stub hook.
fn harness_with_bridge_hook(brctl: bool) -> Harness {
    let mut h = Harness::new();
    let hook = stub_bridge_hook(&h.path("hook.log"));
    h.write_hook("if-pre-up.d", "bridge", &hook);
    h.write_hook("if-post-down.d", "bridge", &hook);
    let script = if brctl {
        let sbin = h.path("sbin");
        fs::create_dir(&sbin).unwrap();
        fs::write(sbin.join("brctl"), "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(sbin.join("brctl"), fs::Permissions::from_mode(0o755)).unwrap();
        overlay_lines(&sbin, "/sbin")
    } else {
        let blank = h.path("not-brctl");
        fs::write(&blank, "").unwrap();
        fs::set_permissions(&blank, fs::Permissions::from_mode(0o644)).unwrap();
        format!(
            "if [ -e /sbin/brctl ]; then mount --bind {} /sbin/brctl; fi",
            sh_quote(&blank.to_string_lossy())
        )
    };
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon_wrapped(&private_mounts(&script));
    h.ns.veth("p0");
    h.ns.veth("p1");
    h.write_interfaces(
        "iface br0 inet static\n    address 198.51.100.1/24\n    bridge_ports p0 p1\n    \
         bridge_fd 0\n",
    );
    h
}

#[test]
fn bridge_utils_hook_with_brctl_gets_the_bridge() {
    require_root();
    let h = harness_with_bridge_hook(true);
    let out = h.ifup(&["-v", "br0"]);
    out.assert_ok();
    out.assert_output_contains("br0: link left to bridge-utils's hook script");
    assert!(
        !out.all_output().contains("create bridge"),
        "netconf created the bridge as well:\n{out}"
    );
    let log = fs::read_to_string(h.path("hook.log")).unwrap_or_default();
    assert_eq!(log, "start pre-up br0 p0 p1\n", "the hook's calls");
    // The hook's bridge, without ports (the stub adds none, and netconf
    // must not); netconf still did the rest of the stanza.
    assert_eq!(kind(&details(&h.ns, "br0")), Some("bridge"));
    assert_eq!(ports_of(&h.ns, "br0"), set(&[]));
    assert_eq!(h.ns.global_addrs("br0"), set(&["198.51.100.1/24"]));
    assert!(h.ns.is_up("br0"));

    let out = h.ifdown(&["-v", "br0"]);
    out.assert_ok();
    assert!(
        !out.all_output().contains("delete br0"),
        "netconf deleted a bridge it did not create:\n{out}"
    );
    let log = fs::read_to_string(h.path("hook.log")).unwrap_or_default();
    assert_eq!(log, "start pre-up br0 p0 p1\nstop post-down br0 p0 p1\n");
    assert!(!exists(&h.ns, "br0"), "the hook's post-down left br0");
}

#[test]
fn bridge_utils_hook_without_brctl_leaves_the_bridge_to_netconf() {
    require_root();
    let h = harness_with_bridge_hook(false);
    let out = h.ifup(&["-v", "br0"]);
    out.assert_ok();
    out.assert_output_contains("create bridge br0");
    assert!(
        !out.all_output().contains("left to bridge-utils"),
        "netconf left the bridge to a script that does nothing:\n{out}"
    );
    assert!(
        !h.path("hook.log").exists(),
        "the stub hook acted without brctl"
    );
    assert_eq!(ports_of(&h.ns, "br0"), set(&["p0", "p1"]));
    h.ifdown(&["br0"]).assert_ok();
    assert!(!exists(&h.ns, "br0"));
}

/// The state of a bridge port, as `ip -d link` names it (`forwarding`,
/// `listening`, `learning`, ...).
fn port_state(ns: &Netns, port: &str) -> String {
    details(ns, port)["linkinfo"]["info_slave_data"]["state"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// With STP on, ports listen and learn for the forward delay each before
/// they forward: `ifup` returns once they do (bridge-utils'
/// `bridge_maxwait`), or at once with `bridge_maxwait 0`.
#[test]
fn bridge_with_stp_waits_for_its_ports_to_forward() {
    require_root();
    let h = Harness::new();
    h.ns.veth("p0");
    h.ns.veth("q0");
    h.write_interfaces(
        "iface br0 inet manual\n    bridge_ports p0\n    bridge_stp on\n    bridge_fd 2\n\n\
         iface br1 inet manual\n    bridge_ports q0\n    bridge_stp on\n    bridge_fd 2\n    \
         bridge_maxwait 0\n",
    );
    h.ifup(&["br0"]).assert_ok();
    assert_eq!(
        port_state(&h.ns, "p0"),
        "forwarding",
        "ifup br0 returned too early"
    );
    h.ifup(&["br1"]).assert_ok();
    let state = port_state(&h.ns, "q0");
    assert!(
        matches!(state.as_str(), "listening" | "learning" | "blocking"),
        "with bridge_maxwait 0 ifup must not wait: q0 is {state}"
    );
}

/// A VLAN-aware bridge: each port's VLANs from its own stanza
/// (`bridge-access`, `bridge-vids` + `bridge-pvid`) or the bridge's
/// defaults, PVID 1 where nobody names one; set by difference (a second
/// `ifup` changes nothing), gone with the bridge.
#[test]
fn vlan_aware_bridge_gives_its_ports_their_vlans() {
    require_root();
    let h = Harness::new();
    for p in ["p0", "p1", "p2"] {
        h.ns.veth(p);
    }
    if let Err(why) = kernel_makes(&h.ns, &["type", "bridge", "vlan_filtering", "1"]) {
        // Debian's kernel has CONFIG_BRIDGE_VLAN_FILTERING; in the VM this
        // runs whole (full_kernel's link_kinds too).
        skipped(&format!(
            "VLAN-aware bridge: this kernel has no bridge VLAN filtering ({why})"
        ));
        h.write_interfaces(
            "iface br0 inet manual\n    bridge-ports p0\n    bridge-vlan-aware yes\n",
        );
        assert_refused_cleanly(&h, "br0");
        return;
    }
    h.write_interfaces(
        "iface br0 inet manual\n    bridge-ports p0 p1 p2\n    bridge-vlan-aware yes\n    \
         bridge-vids 100 200\n    bridge-stp off\n\n\
         iface p0 inet manual\n    bridge-access 10\n\n\
         iface p1 inet manual\n    bridge-vids 20-22\n    bridge-pvid 20\n",
    );
    let out = h.ifup(&["-v", "br0"]);
    out.assert_ok();
    let vlans = assert_vlan_aware_ports(&h.ns);

    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.ifup(&["br0"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(events.is_empty(), "the second ifup: {events:?}");
    assert_eq!(bridge_vlans(&h.ns), vlans, "the second ifup changed VLANs");

    h.ifdown(&["-v", "br0"]).assert_ok();
    assert!(!exists(&h.ns, "br0"), "br0 is still there");
    let left = bridge_vlans(&h.ns);
    assert!(
        left.keys()
            .all(|k| !["p0", "p1", "p2"].contains(&k.as_str())),
        "{left:?}"
    );

    // VLANs changed behind netconf's back: a forced ifup writes only the
    // difference back. (On a bridge of the admin's: a forced ifup of a
    // link netconf created forgets that it did.)
    h.ns.ip(&[
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "vlan_filtering",
        "1",
    ]);
    h.ifup(&["br0"]).assert_ok();
    assert_eq!(bridge_vlans(&h.ns)["p2"], vlans["p2"]);
    for args in [
        ["vlan", "add", "vid", "55", "dev", "p2"],
        ["vlan", "del", "vid", "100", "dev", "p2"],
    ] {
        let ok = std::process::Command::new("bridge")
            .args(["-n", h.ns.name()])
            .args(args)
            .status()
            .expect("bridge");
        assert!(ok.success(), "bridge {args:?}");
    }
    let out = h.ifup(&["-v", "--force", "br0"]);
    out.assert_ok();
    out.assert_output_contains("add VLANs 100 to port p2");
    out.assert_output_contains("remove VLANs 55 from port p2");
    assert!(
        !out.all_output().contains("port p0"),
        "p0 was touched:\n{}",
        out.all_output()
    );
    assert_eq!(bridge_vlans(&h.ns)["p2"], vlans["p2"]);

    h.ifdown(&["-v", "br0"]).assert_ok();
    assert!(exists(&h.ns, "br0"), "the admin's br0 is gone");
    let left = bridge_vlans(&h.ns);
    assert!(
        left.keys()
            .all(|k| !["p0", "p1", "p2"].contains(&k.as_str())),
        "{left:?}"
    );
}
