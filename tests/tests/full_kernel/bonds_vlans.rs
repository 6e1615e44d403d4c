//! Bonds and VLANs: made, changed by difference and taken back.

use super::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs, require_kernel_makes,
};
use netconf_tests::links::{details, exists, info, kind, master, ports_of, set};
use netconf_tests::{require_root, Harness};
use std::collections::BTreeSet;

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn bond_active_backup_over_dummies_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "bond", &["type", "bond"]);
    require_kernel_makes(&h.ns, "dummy", &["type", "dummy"]);
    h.ns.batch("link add d0 type dummy\nlink add d1 type dummy\n");
    h.write_interfaces(
        "iface bond0 inet static\n    address 198.51.100.1/24\n    bond-slaves d0 d1\n    \
         bond-mode active-backup\n    bond-miimon 100\n",
    );
    let before = links_and_addrs(&h.ns);

    let out = h.ifup(&["-v", "bond0"]);
    out.assert_ok();
    let bond = details(&h.ns, "bond0");
    assert_eq!(kind(&bond), Some("bond"), "{bond}");
    assert_eq!(
        info(&bond, "mode").as_str(),
        Some("active-backup"),
        "{bond}"
    );
    assert_eq!(info(&bond, "miimon").as_u64(), Some(100), "{bond}");
    assert!(h.ns.is_up("bond0"), "bond0 is not up");
    assert_eq!(h.ns.global_addrs("bond0"), set(&["198.51.100.1/24"]));
    assert_eq!(ports_of(&h.ns, "bond0"), set(&["d0", "d1"]));
    for slave in ["d0", "d1"] {
        let d = details(&h.ns, slave);
        assert_eq!(
            d["linkinfo"]["info_slave_kind"].as_str(),
            Some("bond"),
            "{d}"
        );
        assert!(h.ns.is_up(slave), "{slave} is not up");
    }
    // One active slave, the other the backup.
    let states: BTreeSet<String> = ["d0", "d1"]
        .iter()
        .map(|s| {
            details(&h.ns, s)["linkinfo"]["info_slave_data"]["state"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(states, set(&["ACTIVE", "BACKUP"]), "slave states");
    assert_eq!(h.state(), vec!["bond0=bond0"]);

    assert_second_ifup_writes_nothing(&h, &["bond0"]);

    h.ifdown(&["-v", "bond0"]).assert_ok();
    assert!(!exists(&h.ns, "bond0"), "bond0 is still there");
    for slave in ["d0", "d1"] {
        assert_eq!(master(&h.ns, slave), None, "{slave} still has a master");
    }
    assert_back_to(&h, &before);
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn vlan_eth0_10_over_a_veth_up_again_and_down() {
    require_root();
    let h = Harness::new();
    h.ns.veth("eth0");
    require_kernel_makes(
        &h.ns,
        "VLAN",
        &["link", "eth0", "type", "vlan", "id", "4000"],
    );
    h.write_interfaces(
        "iface eth0.10 inet static\n    address 198.51.100.10/24\n\n\
         iface vlan20 inet static\n    address 203.0.113.20/24\n    vlan-raw-device eth0\n",
    );
    let before = links_and_addrs(&h.ns);

    h.ifup(&["-v", "eth0.10", "vlan20"]).assert_ok();
    for (dev, id, addr) in [
        ("eth0.10", 10, "198.51.100.10/24"),
        ("vlan20", 20, "203.0.113.20/24"),
    ] {
        let vlan = details(&h.ns, dev);
        assert_eq!(kind(&vlan), Some("vlan"), "{vlan}");
        assert_eq!(info(&vlan, "id").as_u64(), Some(id), "{vlan}");
        assert_eq!(info(&vlan, "protocol").as_str(), Some("802.1Q"), "{vlan}");
        assert_eq!(vlan["link"].as_str(), Some("eth0"), "{vlan}");
        assert!(h.ns.is_up(dev), "{dev} is not up");
        assert_eq!(h.ns.global_addrs(dev), set(&[addr]));
    }
    let state: BTreeSet<String> = h.state().into_iter().collect();
    assert_eq!(state, set(&["eth0.10=eth0.10", "vlan20=vlan20"]));

    assert_second_ifup_writes_nothing(&h, &["eth0.10", "vlan20"]);

    h.ifdown(&["-v", "eth0.10", "vlan20"]).assert_ok();
    for dev in ["eth0.10", "vlan20"] {
        assert!(!exists(&h.ns, dev), "{dev} is still there");
    }
    assert_back_to(&h, &before);
}

/// Our `ifquery ARGS` on the harness's file, in its namespace.
fn ifquery(h: &Harness, args: &[&str]) -> netconf_tests::Out {
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&netconf_tests::bins().ifquery)
        .arg("-i")
        .arg(h.interfaces_path())
        .args(args)
        .current_dir("/");
    netconf_tests::run(c)
}

/// `bond0`'s attribute `key` in `ip -d -j link`, as text (strings bare,
/// numbers and lists as JSON).
fn bond_info(h: &Harness, bond: &str, key: &str) -> String {
    let link = details(&h.ns, bond);
    let v = info(&link, key);
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

/// Every mode ifenslave names, by name and by number, each with the
/// options that mode takes: MII and ARP monitoring (two targets, validate,
/// all-targets), primary and its reselection, fail-over-mac, gratuitous
/// ARPs, 802.3ad's lacp-rate/ad-select, xmit-hash-policy, min-links,
/// all-slaves-active, packets-per-slave, tlb-dynamic-lb. (ARP monitoring
/// once a minute: no dummy answers ARP, and each probe round changes the
/// slaves' state, which the second ifup's check would see.) On the
/// 802.3ad bond, VLANs by name (`b4.100`) and by `vlan-raw-device`; beside
/// it ifupdown2's `vlan-id` of any name, tagged 802.1ad.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn bond_every_mode_with_its_options_and_vlans_on_it_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "bond", &["type", "bond"]);
    // One slave each but for the bond with a primary (the kernel's time
    // in the VM is mostly enslaving).
    h.ns.batch(
        "link add d00 type dummy\nlink add d10 type dummy\nlink add d11 type dummy\n\
         link add d20 type dummy\nlink add d30 type dummy\nlink add d40 type dummy\n\
         link add d50 type dummy\nlink add d60 type dummy\nlink add d7 type dummy\n",
    );
    h.write_interfaces(
        "auto b0 b1 b2 b3 b4 b5 b6 b4.100 vlan200 outer\n\
         iface b0 inet manual\n    bond-slaves d00\n    bond-mode 0\n    \
         bond-packets-per-slave 3\n\n\
         iface b1 inet static\n    address 198.51.100.1/24\n    bond-slaves d10 d11\n    \
         bond-mode active-backup\n    bond-arp-interval 60000\n    \
         bond-arp-ip-target 198.51.100.254 198.51.100.253\n    bond-arp-validate all\n    \
         bond-arp-all-targets all\n    bond-primary d99 d11\n    bond-primary-reselect failure\n    \
         bond-fail-over-mac active\n    bond-num-grat-arp 3\n    bond-all-slaves-active 1\n\n\
         iface b2 inet manual\n    bond-slaves d20\n    bond-mode balance-xor\n    \
         bond-xmit-hash-policy layer2+3\n    bond-miimon 100\n    bond-updelay 200\n    \
         bond-downdelay 300\n    bond-use-carrier 0\n\n\
         iface b3 inet manual\n    bond-slaves d30\n    bond-mode 3\n\n\
         iface b4 inet manual\n    bond-slaves d40\n    bond-mode 802.3ad\n    \
         bond-lacp-rate fast\n    bond-xmit-hash-policy layer3+4\n    bond-ad-select bandwidth\n    \
         bond-min-links 1\n\n\
         iface b5 inet manual\n    bond-slaves d50\n    bond-mode 5\n    \
         bond-tlb-dynamic-lb 0\n\n\
         iface b6 inet manual\n    bond-slaves d60\n    bond-mode balance-alb\n    \
         bond-num-unsol-na 2\n\n\
         iface b4.100 inet static\n    address 198.51.100.100/24\n\n\
         iface vlan200 inet static\n    address 203.0.113.200/24\n    vlan-raw-device b4\n\n\
         iface outer inet manual\n    vlan-id 300\n    vlan-raw-device d7\n    \
         vlan-protocol 802.1ad\n",
    );
    let before = links_and_addrs(&h.ns);

    h.ifup(&["-v", "-a"]).assert_ok();
    let modes = [
        "balance-rr",
        "active-backup",
        "balance-xor",
        "broadcast",
        "802.3ad",
        "balance-tlb",
        "balance-alb",
    ];
    for (b, mode) in modes.iter().enumerate() {
        let bond = format!("b{b}");
        assert_eq!(kind(&details(&h.ns, &bond)), Some("bond"));
        assert_eq!(bond_info(&h, &bond, "mode"), *mode, "{bond}");
        let slaves = if b == 1 {
            set(&["d10", "d11"])
        } else {
            set(&[&format!("d{b}0")])
        };
        assert_eq!(ports_of(&h.ns, &bond), slaves, "{bond}");
        assert!(h.ns.is_up(&bond), "{bond} is not up");
    }
    let expect = |bond: &str, pairs: &[(&str, &str)]| {
        for (key, want) in pairs {
            assert_eq!(bond_info(&h, bond, key), *want, "{bond} {key}");
        }
    };
    expect("b0", &[("packets_per_slave", "3")]);
    expect(
        "b1",
        &[
            ("arp_interval", "60000"),
            ("miimon", "0"),
            ("arp_ip_target", r#"["198.51.100.254","198.51.100.253"]"#),
            ("arp_validate", "all"),
            ("arp_all_targets", "all"),
            ("primary", "d11"),
            ("primary_reselect", "failure"),
            ("fail_over_mac", "active"),
            ("num_peer_notif", "3"),
            ("all_slaves_active", "1"),
        ],
    );
    expect(
        "b2",
        &[
            ("xmit_hash_policy", "layer2+3"),
            ("miimon", "100"),
            ("updelay", "200"),
            ("downdelay", "300"),
            ("use_carrier", "0"),
        ],
    );
    expect(
        "b4",
        &[
            ("ad_lacp_rate", "fast"),
            ("xmit_hash_policy", "layer3+4"),
            ("ad_select", "bandwidth"),
            ("min_links", "1"),
        ],
    );
    expect("b5", &[("tlb_dynamic_lb", "0")]);
    expect("b6", &[("num_peer_notif", "2")]);
    assert_eq!(h.ns.global_addrs("b1"), set(&["198.51.100.1/24"]));
    // VLANs on a bond, by name and by vlan-raw-device, and ifupdown2's
    // vlan-id of any name with an 802.1ad tag.
    for (dev, raw, id, protocol) in [
        ("b4.100", "b4", 100, "802.1Q"),
        ("vlan200", "b4", 200, "802.1Q"),
        ("outer", "d7", 300, "802.1ad"),
    ] {
        let vlan = details(&h.ns, dev);
        assert_eq!(kind(&vlan), Some("vlan"), "{vlan}");
        assert_eq!(info(&vlan, "id").as_u64(), Some(id), "{vlan}");
        assert_eq!(info(&vlan, "protocol").as_str(), Some(protocol), "{vlan}");
        assert_eq!(vlan["link"].as_str(), Some(raw), "{vlan}");
        assert!(h.ns.is_up(dev), "{dev} is not up");
    }
    assert_eq!(h.ns.global_addrs("b4.100"), set(&["198.51.100.100/24"]));

    // ifquery reads them back: --running as option lines, --check passes.
    let running = ifquery(&h, &["--running", "b1", "b4", "outer"]);
    running.assert_ok();
    for line in [
        "bond-slaves d10 d11",
        "bond-mode active-backup",
        "bond-arp-interval 60000",
        "bond-arp-ip-target 198.51.100.254 198.51.100.253",
        "bond-arp-validate all",
        "bond-primary d11",
        "bond-fail-over-mac active",
        "bond-mode 802.3ad",
        "bond-lacp-rate fast",
        "bond-ad-select bandwidth",
        "vlan-raw-device d7",
        "vlan-id 300",
        "vlan-protocol 802.1ad",
    ] {
        running.assert_output_contains(line);
    }
    let check = ifquery(&h, &["--check", "-a"]);
    assert!(check.success(), "ifquery --check -a:\n{check}");
    check.assert_output_contains("bond-arp-ip-target");

    assert_second_ifup_writes_nothing(&h, &["-a"]);

    h.ifdown(&["-v", "-a"]).assert_ok();
    assert_back_to(&h, &before);
}

/// Slaves that come after their bond: one whose stanza (`bond-master`,
/// with its own `bond-primary`) is brought up once the bond is, one
/// named in `bond-slaves` that appears later, and an `allow-hotplug` one
/// with `bond-master` that appears later.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn bond_slaves_joining_late() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "bond", &["type", "bond"]);
    h.ns.batch("link add d0 type dummy\nlink add d1 type dummy\n");
    let bond = "auto bond0\niface bond0 inet static\n    address 198.51.100.1/24\n    \
                bond-slaves d2\n    bond-mode active-backup\n    bond-miimon 100\n    \
                bond-primary d0\n\n\
                iface d0 inet manual\n    bond-master bond0\n\n";
    h.write_interfaces(bond);
    let before = links_and_addrs(&h.ns);

    // d0 comes up first (bond0 stands on it) and joins; d2 is not there.
    let out = h.ifup(&["-v", "bond0"]);
    out.assert_ok();
    out.assert_output_contains("d2 is not there (yet)");
    assert_eq!(ports_of(&h.ns, "bond0"), set(&["d0"]));
    assert_eq!(bond_info(&h, "bond0", "primary"), "d0");

    // A slave stanza written and brought up after the bond: it joins,
    // and its own bond-primary wins.
    h.write_interfaces(&format!(
        "{bond}allow-hotplug d3\niface d3 inet manual\n    bond-master bond0\n\n\
         iface d1 inet manual\n    bond-master bond0\n    bond-primary d1 d0\n"
    ));
    let out = h.ifup(&["-v", "d1"]);
    out.assert_ok();
    out.assert_output_contains("add d1 to bond0");
    assert_eq!(ports_of(&h.ns, "bond0"), set(&["d0", "d1"]));
    assert_eq!(bond_info(&h, "bond0", "primary"), "d1");
    let running = ifquery(&h, &["--running", "d1"]);
    running.assert_ok();
    running.assert_output_contains("bond-master bond0");

    // Slaves that appear: by bond-slaves, and by an allow-hotplug stanza.
    h.ns.batch("link add d2 type dummy\nlink add d3 type dummy\n");
    netconf_tests::wait_until("d2 and d3 in bond0", || {
        let now = ports_of(&h.ns, "bond0");
        eprintln!("bond0's slaves: {now:?}");
        now == set(&["d0", "d1", "d2", "d3"])
    });
    netconf_tests::wait_until("d3 up by hotplug", || {
        h.state().contains(&"d3=d3".to_string())
    });
    for slave in ["d0", "d1", "d2", "d3"] {
        assert!(h.ns.is_up(slave), "{slave} is not up");
    }

    h.ifdown(&["-v", "--force", "bond0"]).assert_ok();
    h.ifdown(&["-v", "d0", "d1", "d3"]).assert_ok();
    let mut now = before.clone();
    for d in ["d2", "d3"] {
        now.insert(d.to_string(), BTreeSet::new());
    }
    assert_back_to(&h, &now);
}
