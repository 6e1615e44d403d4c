//! Link creation against the real kernel: bridge, veth, macvlan and vxlan
//! created with [`Netlink::add_link`], enslaved, changed and read back with
//! [`Netlink::links`]; bridge VLANs added, read and removed.
//!
//! Every test moves its own thread into a fresh, anonymous network namespace
//! (`unshare(CLONE_NEWNET)`; never the machine's own) and needs root. Bond,
//! vlan and dummy are tried too: this kernel has no module for them, so the
//! kernel's refusal (EOPNOTSUPP, "Unknown device type") is checked and the
//! test prints that it skipped the rest; on a kernel that has them, the
//! whole check runs. Their requests are proven byte for byte by the unit
//! tests in `src/netlink/links/tests.rs`.
//!
//! Addresses: 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32.

mod common;

use std::time::Duration;

use netconf_kernel::netlink::{
    BondAttrs, BondMode, BridgeAttrs, BridgeVlan, LacpRate, Link, LinkChange, LinkKind,
    MacvlanAttrs, MacvlanMode, Netlink, NetlinkError, NewAddress, NewLink, VethAttrs, VlanAttrs,
    VlanProtocol, VxlanAttrs, XmitHashPolicy,
};

/// Moves this thread into a new network namespace with `lo` up, and opens a
/// Netlink there.
fn netns() -> Netlink {
    common::enter_new_netns();
    Netlink::open().unwrap()
}

use common::ip;

fn find(links: &[Link], name: &str) -> Link {
    links
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no {name} in {links:?}"))
        .clone()
}

#[test]
fn bridge_veth_macvlan_vxlan() {
    let mut nl = netns();

    let attrs = BridgeAttrs {
        stp: Some(false),
        forward_delay: Some(Duration::from_secs(4)),
        hello_time: Some(Duration::from_secs(3)),
        max_age: Some(Duration::from_secs(12)),
        ageing_time: Some(Duration::from_millis(12_500)),
        priority: Some(4096),
        vlan_filtering: Some(false),
    };
    let mut new_br = NewLink::new("nc-br0", LinkKind::Bridge(attrs.clone()));
    new_br.mac = Some([2, 0, 0x5e, 0, 0x53, 1]);
    new_br.mtu = Some(1400);
    new_br.up = true;
    let br = nl.add_link(&new_br).unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert_eq!(br.details, Some(LinkKind::Bridge(attrs.clone())));
    assert_eq!(br.mac.as_deref(), Some(&[2, 0, 0x5e, 0, 0x53, 1][..]));
    assert_eq!(br.mtu, 1400);
    assert!(br.up);
    // An independent reader agrees on the units: iproute2 prints the raw
    // clock_t values (hundredths of a second).
    let detail = ip(&["-d", "link", "show", "nc-br0"]);
    for expected in [
        "forward_delay 400 ",
        "hello_time 300 ",
        "max_age 1200 ",
        "ageing_time 1250 ",
        "stp_state 0 ",
        "priority 4096 ",
        "vlan_filtering 0 ",
    ] {
        assert!(detail.contains(expected), "{expected:?} not in {detail}");
    }
    // A second one of that name is refused as existing.
    assert!(matches!(
        nl.add_link(&new_br),
        Err(NetlinkError::Exists { .. })
    ));

    // A veth pair whose first end is created as a port of the bridge.
    let mut new_veth = NewLink::new(
        "nc-v0",
        LinkKind::Veth(VethAttrs {
            peer: Some("nc-v1".into()),
        }),
    );
    new_veth.master = Some(br.index);
    let v0 = nl.add_link(&new_veth).unwrap();
    let v1 = nl.link_by_name("nc-v1").unwrap().expect("the peer exists");
    assert_eq!(v0.kind.as_deref(), Some("veth"));
    assert_eq!(v0.master, Some(br.index));
    assert_eq!(v0.parent, Some(v1.index));
    assert_eq!(v1.parent, Some(v0.index));

    // A second veth enslaved afterwards, as the daemon enslaves ports.
    nl.add_link(&NewLink::new(
        "nc-v2",
        LinkKind::Veth(VethAttrs {
            peer: Some("nc-v3".into()),
        }),
    ))
    .unwrap();
    let v2 = nl.link_by_name("nc-v2").unwrap().unwrap();
    nl.set_link(
        v2.index,
        &LinkChange {
            master: Some(br.index),
            ..LinkChange::default()
        },
    )
    .unwrap();

    // A macvlan on the peer, and a vxlan over it with an address to use.
    let mut new_mv = NewLink::new(
        "nc-mv0",
        LinkKind::Macvlan(MacvlanAttrs {
            mode: Some(MacvlanMode::Bridge),
        }),
    );
    new_mv.parent = Some(v1.index);
    let mv = nl.add_link(&new_mv).unwrap();
    assert_eq!(mv.parent, Some(v1.index));
    assert_eq!(mv.details, Some(new_mv.kind.clone()));

    nl.add_address(
        &NewAddress::new(v1.index, "198.51.100.1".parse().unwrap(), 24),
        false,
    )
    .unwrap();
    let vx_attrs = VxlanAttrs {
        local: Some("198.51.100.1".parse().unwrap()),
        remote: Some("198.51.100.2".parse().unwrap()),
        learning: Some(false),
        ageing: Some(120),
        link: Some(v1.index),
        ..VxlanAttrs::new(4242)
    };
    let vx = nl
        .add_link(&NewLink::new("nc-vx0", LinkKind::Vxlan(vx_attrs.clone())))
        .unwrap();
    assert_eq!(vx.details, Some(LinkKind::Vxlan(vx_attrs.clone())));
    let detail = ip(&["-d", "link", "show", "nc-vx0"]);
    for expected in [
        "vxlan id 4242 ",
        "remote 198.51.100.2 ",
        "local 198.51.100.1 ",
        "dev nc-v1 ",
        "dstport 4789 ",
        "nolearning ",
    ] {
        assert!(detail.contains(expected), "{expected:?} not in {detail}");
    }
    // A vxlan can be a bridge port too.
    nl.set_link(
        vx.index,
        &LinkChange {
            master: Some(br.index),
            ..LinkChange::default()
        },
    )
    .unwrap();

    // Everything read back in one dump.
    let links = nl.links().unwrap();
    assert_eq!(
        find(&links, "nc-br0").details,
        Some(LinkKind::Bridge(attrs.clone()))
    );
    for port in ["nc-v0", "nc-v2", "nc-vx0"] {
        assert_eq!(find(&links, port).master, Some(br.index), "{port}");
    }
    assert_eq!(find(&links, "nc-v1").master, None);
    assert_eq!(
        find(&links, "nc-v0").details,
        Some(LinkKind::Veth(VethAttrs::default()))
    );
    assert_eq!(find(&links, "nc-mv0").parent, Some(v1.index));
    assert_eq!(find(&links, "lo").details, None);

    // Changing the bridge in place: only what is given changes.
    let change = BridgeAttrs {
        stp: Some(true),
        forward_delay: Some(Duration::from_secs(2)),
        ..BridgeAttrs::default()
    };
    let current = match find(&links, "nc-br0").details {
        Some(LinkKind::Bridge(current)) => current,
        other => panic!("{other:?}"),
    };
    let diff = change.changes_from(&current).unwrap();
    nl.set_link_kind(br.index, &LinkKind::Bridge(diff)).unwrap();
    let after = nl.link(br.index).unwrap().unwrap();
    assert_eq!(
        after.details,
        Some(LinkKind::Bridge(BridgeAttrs {
            stp: Some(true),
            forward_delay: Some(Duration::from_secs(2)),
            ..attrs.clone()
        }))
    );
    // A vxlan's identity is not changed in place.
    assert!(matches!(
        nl.set_link_kind(vx.index, &LinkKind::Vxlan(vx_attrs)),
        Err(NetlinkError::Invalid { .. })
    ));

    // Deleting the bridge releases its ports.
    nl.del_link(br.index).unwrap();
    let links = nl.links().unwrap();
    assert!(links.iter().all(|l| l.name != "nc-br0"));
    assert_eq!(find(&links, "nc-v0").master, None);
}

#[test]
fn bridge_port_vlans() {
    let mut nl = netns();
    let aware = NewLink::new(
        "nc-br1",
        LinkKind::Bridge(BridgeAttrs {
            vlan_filtering: Some(true),
            ..BridgeAttrs::default()
        }),
    );
    // Kernels built without CONFIG_BRIDGE_VLAN_FILTERING (this one) refuse
    // VLAN-aware bridges: then only the messages are proven (unit tests).
    let Some(br) = try_create(&mut nl, &aware) else {
        // Still, the kernel takes the VLAN dump as asked (strict checking
        // refuses a malformed one) and answers a VLAN change on a port of a
        // plain bridge with EOPNOTSUPP.
        let br = nl
            .add_link(&NewLink::new(
                "nc-br1",
                LinkKind::Bridge(BridgeAttrs::default()),
            ))
            .unwrap();
        let mut new_veth = NewLink::new(
            "nc-p0",
            LinkKind::Veth(VethAttrs {
                peer: Some("nc-p1".into()),
            }),
        );
        new_veth.master = Some(br.index);
        let port = nl.add_link(&new_veth).unwrap();
        let dumped = nl.bridge_vlans().unwrap();
        assert!(
            dumped.iter().all(|(_, vlans)| vlans.is_empty()),
            "{dumped:?}"
        );
        assert!(matches!(
            nl.add_bridge_vlans(port.index, &[BridgeVlan::tagged(100)], false),
            Err(NetlinkError::NotSupported { .. })
        ));
        println!("SKIPPED: bridge VLANs on this kernel (no VLAN filtering)");
        return;
    };
    let mut new_veth = NewLink::new(
        "nc-p0",
        LinkKind::Veth(VethAttrs {
            peer: Some("nc-p1".into()),
        }),
    );
    new_veth.master = Some(br.index);
    let port = nl.add_link(&new_veth).unwrap();

    let default_vlan = BridgeVlan {
        vid: 1,
        pvid: true,
        untagged: true,
    };
    let vlans_of = |nl: &mut Netlink, index: u32| -> Vec<BridgeVlan> {
        let mut all = nl.bridge_vlans().unwrap();
        let mut found = all
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default();
        found.sort_by_key(|v| v.vid);
        found
    };
    // The kernel gives every new port VLAN 1 as PVID, untagged.
    assert_eq!(vlans_of(&mut nl, port.index), vec![default_vlan]);

    nl.add_bridge_vlans(
        port.index,
        &[BridgeVlan::tagged(100), BridgeVlan::tagged(200)],
        false,
    )
    .unwrap();
    nl.add_bridge_vlans(br.index, &[BridgeVlan::tagged(100)], true)
        .unwrap();
    assert_eq!(
        vlans_of(&mut nl, port.index),
        vec![
            default_vlan,
            BridgeVlan::tagged(100),
            BridgeVlan::tagged(200)
        ]
    );
    assert!(vlans_of(&mut nl, br.index).contains(&BridgeVlan::tagged(100)));
    let shown = ip(&["-d", "link", "show", "nc-p0"]);
    assert!(shown.contains("master nc-br1"), "{shown}");

    nl.del_bridge_vlans(port.index, &[BridgeVlan::tagged(200), default_vlan], false)
        .unwrap();
    assert_eq!(vlans_of(&mut nl, port.index), vec![BridgeVlan::tagged(100)]);
}

/// Tries a kind this kernel may lack. `None` when the kernel refused it for
/// want of a module (and says so on the test's output), else the link.
fn try_create(nl: &mut Netlink, link: &NewLink) -> Option<Link> {
    match nl.add_link(link) {
        Ok(created) => Some(created),
        Err(NetlinkError::NotSupported { message, .. }) => {
            println!(
                "SKIPPED: this kernel cannot create {link} ({message}): \
                 no {} module, or built without this feature; checked at the message level only",
                link.kind
            );
            None
        }
        Err(e) => panic!("creating {link}: {e}"),
    }
}

#[test]
fn bond_where_the_kernel_has_it() {
    let mut nl = netns();
    let attrs = BondAttrs {
        mode: Some(BondMode::ActiveBackup),
        miimon: Some(100),
        updelay: Some(200),
        downdelay: Some(200),
        ..BondAttrs::default()
    };
    let Some(bond) = try_create(
        &mut nl,
        &NewLink::new("nc-bond0", LinkKind::Bond(attrs.clone())),
    ) else {
        return;
    };
    assert_eq!(bond.kind.as_deref(), Some("bond"));
    let Some(LinkKind::Bond(got)) = &bond.details else {
        panic!("{:?}", bond.details);
    };
    assert_eq!(got.mode, attrs.mode);
    assert_eq!(got.miimon, Some(100));

    // Two veth ports, enslaved, then the primary (only possible now).
    for (end, peer) in [("nc-s0", "nc-s0p"), ("nc-s1", "nc-s1p")] {
        let mut slave = NewLink::new(
            end,
            LinkKind::Veth(VethAttrs {
                peer: Some(peer.into()),
            }),
        );
        slave.master = Some(bond.index);
        nl.add_link(&slave).unwrap();
    }
    let s1 = nl.link_by_name("nc-s1").unwrap().unwrap();
    assert_eq!(s1.master, Some(bond.index));
    nl.set_link_kind(
        bond.index,
        &LinkKind::Bond(BondAttrs {
            primary: Some(s1.index),
            ..BondAttrs::default()
        }),
    )
    .unwrap();
    let Some(LinkKind::Bond(got)) = nl.link(bond.index).unwrap().unwrap().details else {
        panic!()
    };
    assert_eq!(got.primary, Some(s1.index));

    // 802.3ad options on a second bond.
    let lacp = BondAttrs {
        mode: Some(BondMode::Ieee8023ad),
        lacp_rate: Some(LacpRate::Fast),
        xmit_hash_policy: Some(XmitHashPolicy::Layer34),
        ..BondAttrs::default()
    };
    let bond1 = nl
        .add_link(&NewLink::new("nc-bond1", LinkKind::Bond(lacp.clone())))
        .unwrap();
    let Some(LinkKind::Bond(got)) = bond1.details else {
        panic!()
    };
    assert_eq!(
        (got.mode, got.lacp_rate, got.xmit_hash_policy),
        (lacp.mode, lacp.lacp_rate, lacp.xmit_hash_policy)
    );
}

#[test]
fn vlan_where_the_kernel_has_it() {
    let mut nl = netns();
    let v0 = nl
        .add_link(&NewLink::new(
            "nc-raw0",
            LinkKind::Veth(VethAttrs {
                peer: Some("nc-raw1".into()),
            }),
        ))
        .unwrap();
    let attrs = VlanAttrs {
        id: 10,
        protocol: VlanProtocol::Dot1Q,
    };
    let mut new_vlan = NewLink::new("nc-raw0.10", LinkKind::Vlan(attrs));
    new_vlan.parent = Some(v0.index);
    let Some(vlan) = try_create(&mut nl, &new_vlan) else {
        return;
    };
    assert_eq!(vlan.parent, Some(v0.index));
    assert_eq!(vlan.details, Some(LinkKind::Vlan(attrs)));
    let qinq = VlanAttrs {
        id: 100,
        protocol: VlanProtocol::Dot1Ad,
    };
    let mut outer = NewLink::new("nc-raw0.100", LinkKind::Vlan(qinq));
    outer.parent = Some(v0.index);
    assert_eq!(
        nl.add_link(&outer).unwrap().details,
        Some(LinkKind::Vlan(qinq))
    );
}

#[test]
fn dummy_where_the_kernel_has_it() {
    let mut nl = netns();
    if let Some(dummy) = try_create(&mut nl, &NewLink::new("nc-d0", LinkKind::Dummy)) {
        assert_eq!(dummy.kind.as_deref(), Some("dummy"));
        assert_eq!(dummy.details, Some(LinkKind::Dummy));
    }
}

/// macvtap, ipvlan and vrf made and read back (where the kernel has the
/// modules: Debian's has, so this runs whole in the VM).
#[test]
fn macvtap_ipvlan_vrf_read_back() {
    use netconf_kernel::netlink::{IpvlanAttrs, IpvlanMode, VrfAttrs};
    let mut nl = netns();
    ip(&[
        "link", "add", "nc-low", "type", "veth", "peer", "name", "nc-lowp",
    ]);
    // A device takes macvlan-type or ipvlan-type links, not both.
    ip(&[
        "link", "add", "nc-low2", "type", "veth", "peer", "name", "nc-low2p",
    ]);
    let low = nl.link_by_name("nc-low").unwrap().unwrap();
    let low2 = nl.link_by_name("nc-low2").unwrap().unwrap();
    let kinds = [
        (
            "nc-mvt",
            LinkKind::Macvtap(MacvlanAttrs {
                mode: Some(MacvlanMode::Bridge),
            }),
            Some(low.index),
        ),
        (
            "nc-ipv",
            LinkKind::Ipvlan(IpvlanAttrs {
                mode: IpvlanMode::L3s,
            }),
            Some(low2.index),
        ),
        ("nc-vrf", LinkKind::Vrf(VrfAttrs { table: 1234 }), None),
    ];
    for (name, kind, parent) in kinds {
        let mut new = NewLink::new(name, kind.clone());
        new.parent = parent;
        match nl.add_link(&new) {
            Ok(link) => {
                assert_eq!(link.details, Some(kind.clone()), "{link:?}");
                let dumped = find(&nl.links().unwrap(), name);
                assert_eq!(dumped.details, Some(kind), "{dumped:?}");
            }
            Err(e) if matches!(e, NetlinkError::NotSupported { .. }) => {
                eprintln!("SKIPPED {name}: this kernel has no {kind} ({e})");
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}
