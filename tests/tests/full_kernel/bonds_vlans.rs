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
