//! Both spellings of every kind, port lists, errors, the request a spec
//! becomes, comparison with what exists, and the package-hook detection.

use super::*;
use netconf_interfaces::Family;
use netconf_kernel::netlink::Link;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn stanza(iface: &str, pairs: &[(&str, &str)]) -> StanzaConfig {
    let mut vars = Variables::default();
    for (name, value) in pairs {
        vars.add_option_line(name, value);
    }
    StanzaConfig {
        iface: iface.to_string(),
        logical: iface.to_string(),
        family: Family::Inet,
        method: "manual".to_string(),
        vars,
    }
}

fn links_of(iface: &str, pairs: &[(&str, &str)]) -> Result<StanzaLinks, LinkError> {
    stanza_links(&stanza(iface, pairs))
}

fn spec(iface: &str, pairs: &[(&str, &str)]) -> LinkSpecKind {
    links_of(iface, pairs)
        .unwrap_or_else(|e| panic!("{e}"))
        .link
        .unwrap_or_else(|| panic!("{iface} makes no link"))
        .kind
}

fn error(iface: &str, pairs: &[(&str, &str)]) -> String {
    match links_of(iface, pairs) {
        Ok(links) => panic!("{iface}: no error but {links:?}"),
        Err(e) => e.to_string(),
    }
}

fn link(index: u32, name: &str, kind: Option<&str>) -> Link {
    Link {
        index,
        name: name.to_string(),
        up: false,
        lower_up: false,
        mtu: 1500,
        mac: Some(vec![2, 0, 0, 0, 0, index as u8]),
        kind: kind.map(String::from),
        master: None,
        parent: None,
        details: None,
        alias: None,
    }
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

#[test]
fn bridge_in_bridge_utils_spelling() {
    let LinkSpecKind::Bridge(br) = spec(
        "br0",
        &[
            ("address", "198.51.100.1/24"),
            ("bridge_ports", "eth0 eth1"),
            ("bridge_stp", "on"),
            ("bridge_fd", "2.5"),
            ("bridge_hello", "1"),
            ("bridge_maxage", "12"),
            ("bridge_ageing", "300"),
            ("bridge_bridgeprio", "32767"),
            ("bridge_hw", "02:00:5e:00:53:01"),
            ("bridge_maxwait", "0"),
            ("bridge_waitport", "30 eth1"),
            ("bridge_vlan_aware", "no"),
            ("mtu", "9000"),
        ],
    ) else {
        panic!()
    };
    // bridge-utils gives the ports the bridge's MTU too.
    assert_eq!(br.port_mtu, Some(9000));
    assert_eq!(br.ports, PortList::parse_bridge("eth0 eth1").unwrap());
    assert_eq!(
        br.attrs,
        BridgeAttrs {
            stp: Some(true),
            forward_delay: Some(Duration::from_millis(2500)),
            hello_time: secs(1),
            max_age: secs(12),
            ageing_time: secs(300),
            priority: Some(32767),
            vlan_filtering: Some(false),
        }
    );
    assert_eq!(br.hw, Some(BridgeHw::Mac([2, 0, 0x5e, 0, 0x53, 1])));
    assert_eq!(br.maxwait, secs(0));
    assert_eq!(br.wait_for_forwarding(), Duration::ZERO);
    assert_eq!(
        br.waitport,
        Some(WaitPort {
            timeout: Duration::from_secs(30),
            ports: vec!["eth1".into()]
        })
    );
}

#[test]
fn bridge_in_ifupdown2_spelling() {
    let LinkSpecKind::Bridge(br) = spec(
        "br0",
        &[
            ("bridge-ports", "swp1 swp2"),
            ("bridge-stp", "no"),
            ("bridge-fd", "0"),
            ("bridge-vlan-aware", "yes"),
            ("bridge-vids", "100 200-202"),
            ("bridge-pvid", "1"),
            ("bridge-hw", "eth0"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(br.ports.names().collect::<Vec<_>>(), ["swp1", "swp2"]);
    assert_eq!(br.attrs.stp, Some(false));
    assert_eq!(br.attrs.forward_delay, secs(0));
    assert_eq!(br.attrs.vlan_filtering, Some(true));
    assert_eq!(br.hw, Some(BridgeHw::CopyFrom("eth0".into())));
    assert_eq!(br.port_mtu, None);
    // bridge-utils' estimate without bridge_maxwait: 2 * (fd + 1).
    assert_eq!(br.wait_for_forwarding(), Duration::from_secs(2));
    let vlans = br.port_vlans.unwrap();
    assert_eq!(vlans.vids, [100, 200, 201, 202]);
    assert_eq!(
        vlans.to_bridge_vlans(),
        [
            BridgeVlan {
                vid: 1,
                pvid: true,
                untagged: true
            },
            BridgeVlan::tagged(100),
            BridgeVlan::tagged(200),
            BridgeVlan::tagged(201),
            BridgeVlan::tagged(202),
        ]
    );

    // Both spellings in one stanza: the later line wins, as for hook scripts.
    let LinkSpecKind::Bridge(br) = spec(
        "br0",
        &[
            ("bridge_ports", "eth0"),
            ("bridge-ports", "eth1"),
            ("bridge-stp", "on"),
            ("bridge_stp", "off"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(br.ports.names().collect::<Vec<_>>(), ["eth1"]);
    assert_eq!(br.attrs.stp, Some(false));
    // The default wait with nothing set: 2 * (15 + 1).
    assert_eq!(br.wait_for_forwarding(), Duration::from_secs(32));
}

#[test]
fn bridge_ports_all_none_regex() {
    let links: Vec<Link> = ["lo", "eth0", "eth1", "enp1s0", "wlan0", "tap3", "br0"]
        .iter()
        .enumerate()
        .map(|(i, n)| link(i as u32 + 1, n, None))
        .collect();
    let ports = |value: &str| match spec("br0", &[("bridge_ports", value)]) {
        LinkSpecKind::Bridge(br) => br.ports_now("br0", &links),
        other => panic!("{other:?}"),
    };
    assert_eq!(ports("none"), Vec::<String>::new());
    assert_eq!(ports("all"), ["eth0", "eth1", "enp1s0"]);
    assert_eq!(ports("regex tap[0-9]+ noregex wlan0"), ["tap3", "wlan0"]);
    assert_eq!(ports("all regex br.*"), ["eth0", "eth1", "enp1s0"]);
    let LinkSpecKind::Bridge(br) = spec("br0", &[("bridge_ports", "regex tap.*")]) else {
        panic!()
    };
    assert!(br.ports.matches("tap9"), "a tap that appears later joins");
    assert!(!br.ports.matches("eth0"));
    // A bridge made by link-type alone has no ports.
    let LinkSpecKind::Bridge(br) = spec("br1", &[("link-type", "bridge")]) else {
        panic!()
    };
    assert!(br.ports.is_empty());
}

#[test]
fn bridge_errors_name_interface_and_option() {
    assert_eq!(
        error("br0", &[("bridge_ports", "eth0"), ("bridge_fd", "x")]),
        r#"br0: bridge_fd: "x" is not a number of seconds"#
    );
    assert_eq!(
        error("br0", &[("bridge-ports", "eth0"), ("bridge-stp", "maybe")]),
        r#"br0: bridge-stp: "maybe" is not on or off (yes/no, 1/0)"#
    );
    assert_eq!(
        error(
            "br0",
            &[
                ("bridge_ports", "eth0"),
                ("bridge_stp", "on"),
                ("bridge_fd", "0")
            ]
        ),
        r#"br0: bridge_fd: "0" is not 2 to 30 seconds, which the kernel requires with STP on"#
    );
    assert_eq!(
        error("br0", &[("bridge_ports", "eth0"), ("bridge_hello", "20")]),
        r#"br0: bridge_hello: "20" is not a number of seconds from 1 to 10"#
    );
    assert_eq!(
        error("br0", &[("bridge_ports", "regex (eth")]),
        r#"br0: bridge_ports: "regex (eth" has a bad regex "(eth": Missing ')' or '\)'"#
            .replace("Missing ')' or '\\)'", &regex_paren_message())
    );
    assert_eq!(
        error(
            "br0",
            &[("bridge_ports", "eth0"), ("bridge_bridgeprio", "70000")]
        ),
        r#"br0: bridge_bridgeprio: "70000" is not a priority (0 to 65535)"#
    );
    assert_eq!(
        error(
            "br0",
            &[("bridge-ports", "eth0"), ("bridge-vids", "10 30-20")]
        ),
        r#"br0: bridge-vids: "10 30-20" is not a list of VLAN ids and ranges (1 to 4094, as 10 20-30)"#
    );
    assert_eq!(
        error(
            "br0",
            &[("bridge-ports", "eth0"), ("bridge_hw", "02:00:zz:00:00:01")]
        ),
        r#"br0: bridge_hw: "02:00:zz:00:00:01" is not a MAC address or an interface name"#
    );
}

/// glibc's wording for an unmatched parenthesis.
fn regex_paren_message() -> String {
    match PortList::parse_bridge("regex (eth") {
        Err(PortListError::BadRegex { reason, .. }) => reason,
        other => panic!("{other:?}"),
    }
}

/// Every option ifenslave's hook writes, as it writes them (names or
/// numbers), and its README's rule that miimon wins over arp-interval.
#[test]
fn bond_options_of_ifenslave() {
    let LinkSpecKind::Bond(bond) = spec(
        "bond0",
        &[
            ("bond-slaves", "none"),
            ("bond-mode", "1"),
            ("bond-use-carrier", "0"),
            ("bond-arp-interval", "250"),
            ("bond-arp-ip-target", "198.51.100.1 198.51.100.2"),
            ("bond-arp-validate", "3"),
            ("bond-arp-all-targets", "all"),
            ("bond-fail-over-mac", "follow"),
            ("bond-num-grat-arp", "2"),
            ("bond-num-unsol-na", "5"),
            ("bond-primary-reselect", "better"),
            ("bond-all-slaves-active", "yes"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(
        bond.attrs,
        BondAttrs {
            mode: Some(BondMode::ActiveBackup),
            use_carrier: Some(false),
            arp_interval: Some(250),
            arp_ip_target: Some(vec![
                "198.51.100.1".parse().unwrap(),
                "198.51.100.2".parse().unwrap()
            ]),
            arp_validate: Some(ArpValidate::All),
            arp_all_targets: Some(ArpAllTargets::All),
            fail_over_mac: Some(FailOverMac::Follow),
            num_peer_notif: Some(5),
            primary_reselect: Some(PrimaryReselect::Better),
            all_slaves_active: Some(true),
            ..BondAttrs::default()
        }
    );
    let LinkSpecKind::Bond(bond) = spec(
        "bond1",
        &[
            ("bond-mode", "802.3ad"),
            ("bond-miimon", "100"),
            ("bond-arp-interval", "250"),
            ("bond-ad-select", "count"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(bond.attrs.miimon, Some(100));
    assert_eq!(bond.attrs.arp_interval, None, "miimon wins");
    assert_eq!(bond.attrs.ad_select, Some(AdSelect::Count));
    for (option, value, why) in [
        (
            "bond-arp-validate",
            "sometimes",
            "is not one of none, active",
        ),
        ("bond-arp-ip-target", "2001:db8::1", "IPv4 addresses"),
        ("bond-num-grat-arp", "256", "0 to 255"),
        ("bond-fail-over-mac", "7", "none, active, follow"),
        (
            "bond-primary",
            "eth0",
            "active-backup, balance-tlb and balance-alb only",
        ),
    ] {
        let err = links_of("bond2", &[("bond-mode", "balance-xor"), (option, value)])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("bond2: {option}: ")), "{err}");
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn bond_in_both_spellings() {
    let ifenslave = spec(
        "bond0",
        &[
            ("bond-slaves", "eth0 eth1"),
            ("bond-mode", "active-backup"),
            ("bond-miimon", "100"),
            ("bond-updelay", "200"),
            ("bond-downdelay", "200"),
            ("bond-primary", "eth1 eth0"),
        ],
    );
    let LinkSpecKind::Bond(bond) = ifenslave else {
        panic!()
    };
    assert_eq!(bond.slaves.names().collect::<Vec<_>>(), ["eth0", "eth1"]);
    assert_eq!(bond.attrs.mode, Some(BondMode::ActiveBackup));
    assert_eq!(bond.attrs.miimon, Some(100));
    assert_eq!(bond.attrs.updelay, Some(200));
    assert_eq!(bond.primary, ["eth1", "eth0"]);

    // ifenslave's underscores and numbers; ifupdown-ng's bond-members.
    let LinkSpecKind::Bond(bond) = spec(
        "bond1",
        &[
            ("bond_members", "eth2"),
            ("bond_mode", "4"),
            ("bond_lacp_rate", "fast"),
            ("bond-xmit-hash-policy", "layer3+4"),
            ("bond-min-links", "1"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(bond.slaves.names().collect::<Vec<_>>(), ["eth2"]);
    assert_eq!(
        bond.attrs,
        BondAttrs {
            mode: Some(BondMode::Ieee8023ad),
            lacp_rate: Some(LacpRate::Fast),
            xmit_hash_policy: Some(XmitHashPolicy::Layer34),
            min_links: Some(1),
            ..BondAttrs::default()
        }
    );
    // A mode alone makes a bond (ifenslave), slaves `none` and `all`.
    let LinkSpecKind::Bond(bond) =
        spec("bond2", &[("bond-mode", "balance-rr"), ("slaves", "none")])
    else {
        panic!()
    };
    assert!(bond.slaves.is_empty());
    let LinkSpecKind::Bond(bond) = spec("bond3", &[("bond-slaves", "all")]) else {
        panic!()
    };
    assert!(bond.slaves.matches("eth7") && !bond.slaves.matches("enp1s0"));

    assert_eq!(
        error("bond0", &[("bond-mode", "lacp")]),
        "bond0: bond-mode: \"lacp\" is not a bonding mode (balance-rr, active-backup, \
         balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb, or 0 to 6)"
    );
    assert_eq!(
        error("bond0", &[("bond-slaves", "eth0"), ("bond-miimon", "-1")]),
        r#"bond0: bond-miimon: "-1" is not a number of milliseconds"#
    );

    // The slave's side.
    let slave = links_of("eth0", &[("bond-master", "bond0")]).unwrap();
    assert_eq!(slave.link, None);
    assert_eq!(slave.bond_master.as_deref(), Some("bond0"));
    assert_eq!(
        error("eth0", &[("bond-master", "bond0 bond1")]),
        r#"eth0: bond-master: "bond0 bond1" is not one interface name"#
    );
}

#[test]
fn vlans_by_name_and_by_option() {
    let vlan = |iface: &str, pairs: &[(&str, &str)]| match spec(iface, pairs) {
        LinkSpecKind::Vlan(v) => (v.raw_device, v.attrs.id, v.attrs.protocol, v.source),
        other => panic!("{other:?}"),
    };
    let q = VlanProtocol::Dot1Q;
    assert_eq!(
        vlan("eth0.10", &[]),
        ("eth0".into(), 10, q, VlanSource::Name)
    );
    assert_eq!(
        vlan("eth0.0010", &[]),
        ("eth0".into(), 10, q, VlanSource::Name)
    );
    assert_eq!(
        vlan("bond0.100.20", &[]),
        ("bond0.100".into(), 20, q, VlanSource::Name)
    );
    // The option may repeat what the name says.
    assert_eq!(
        vlan("br0.2", &[("vlan-raw-device", "br0")]),
        ("br0".into(), 2, q, VlanSource::Name)
    );
    assert_eq!(
        vlan("vlan10", &[("vlan_raw_device", "eth0")]),
        ("eth0".into(), 10, q, VlanSource::VlanName)
    );
    assert_eq!(
        vlan("vlan0010", &[("vlan-raw-device", "eth0")]),
        ("eth0".into(), 10, q, VlanSource::VlanName)
    );
    assert_eq!(
        vlan(
            "mgmt",
            &[
                ("vlan-raw-device", "bond0"),
                ("vlan-id", "30"),
                ("vlan-protocol", "802.1ad")
            ]
        ),
        (
            "bond0".into(),
            30,
            VlanProtocol::Dot1Ad,
            VlanSource::Options
        )
    );
    // `vlan10` without a raw device is just an interface, as with Debian's
    // vlan package; an alias of a VLAN makes no link.
    assert_eq!(links_of("vlan10", &[]).unwrap().link, None);
    assert_eq!(links_of("eth0.10:1", &[]).unwrap().link, None);

    assert_eq!(
        error("eth0.10", &[("vlan-raw-device", "eth1")]),
        "eth0.10: vlan-raw-device eth1 contradicts the name (VLAN 10 on eth0)"
    );
    assert_eq!(
        error("vlan10", &[("vlan-raw-device", "eth1"), ("vlan-id", "11")]),
        "vlan10: vlan-id 11 contradicts the name (VLAN 10)"
    );
    assert_eq!(
        error("mgmt", &[("vlan-raw-device", "eth0")]),
        "mgmt: a VLAN needs vlan-id (or a name such as eth0.10 or vlan10)"
    );
    assert_eq!(
        error("mgmt", &[("vlan-id", "5")]),
        "mgmt: a VLAN needs vlan-raw-device"
    );
    assert_eq!(
        error("eth0.4095", &[]),
        r#"eth0.4095: name: "eth0.4095" has VLAN id 4095, which is not 1 to 4094"#
    );
    assert_eq!(
        error("mgmt", &[("vlan-raw-device", "eth0"), ("vlan-id", "0")]),
        r#"mgmt: vlan-id: "0" is not a VLAN id (1 to 4094)"#
    );
    assert_eq!(
        error("eth0.5", &[("vlan-protocol", "qinq")]),
        r#"eth0.5: vlan-protocol: "qinq" is not 802.1q or 802.1ad"#
    );
}

#[test]
fn macvlan_veth_dummy_and_unknown_types() {
    let LinkSpecKind::Macvlan(mv) = spec(
        "mv0",
        &[
            ("link-type", "macvlan"),
            ("macvlan-raw-device", "eth0"),
            ("macvlan-mode", "vepa"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(
        (mv.lower.as_str(), mv.attrs.mode),
        ("eth0", Some(MacvlanMode::Vepa))
    );
    let LinkSpecKind::Macvlan(mv) = spec("mv1", &[("link-type", "macvlan"), ("link", "eth0")])
    else {
        panic!()
    };
    assert_eq!(
        mv.attrs.mode,
        Some(MacvlanMode::Bridge),
        "bridge by default"
    );
    assert_eq!(
        error("mv0", &[("link-type", "macvlan")]),
        "mv0: a macvlan needs macvlan-raw-device"
    );
    assert_eq!(
        spec("ve0", &[("link-type", "veth"), ("veth-peer-name", "ve1")]),
        LinkSpecKind::Veth(VethAttrs {
            peer: Some("ve1".into())
        })
    );
    assert_eq!(
        spec("ve0", &[("link_type", "veth")]),
        LinkSpecKind::Veth(VethAttrs { peer: None })
    );
    assert_eq!(spec("d0", &[("link-type", "dummy")]), LinkSpecKind::Dummy);
    assert_eq!(
        error("t0", &[("link-type", "tap")]),
        r#"t0: link-type: "tap" is not a link type netconf creates (veth, macvlan, macvtap, ipvlan, vrf, dummy, wireguard)"#
    );
    let wg = LinkSpecKind::Wireguard(crate::wireguard::WireguardSpec {
        config: "/etc/wireguard/wg0.conf".into(),
    });
    assert_eq!(spec("wg0", &[("link-type", "wireguard")]), wg);
    let mut have = link(7, "wg0", Some("wireguard"));
    have.details = Some(LinkKind::Wireguard);
    let wg = LinkSpec {
        name: "wg0".into(),
        kind: wg,
    };
    assert_eq!(wg.compare(&have, &[]), LinkDiff::Same);
    assert!(matches!(
        wg.compare(&link(7, "wg0", Some("dummy")), &[]),
        LinkDiff::Recreate(_)
    ));
    // Without link-type (a Debian file), the path alone makes nothing.
    assert_eq!(
        links_of("wg0", &[("wireguard-config-path", "/etc/wireguard/a.conf")]).unwrap(),
        StanzaLinks::default()
    );
    // Plain interfaces make no link.
    assert_eq!(
        links_of("eth0", &[("address", "198.51.100.1/24")]).unwrap(),
        StanzaLinks::default()
    );
}

#[test]
fn vxlan_in_both_spellings() {
    let ifupdown2 = spec(
        "vx0",
        &[
            ("vxlan-id", "42"),
            ("vxlan-local-tunnelip", "198.51.100.1"),
            ("vxlan-remoteip", "203.0.113.9"),
            ("vxlan-port", "8472"),
            ("vxlan-learning", "no"),
            ("vxlan-physdev", "eth0"),
        ],
    );
    let LinkSpecKind::Vxlan(vx) = ifupdown2 else {
        panic!()
    };
    assert_eq!(vx.physdev.as_deref(), Some("eth0"));
    assert_eq!(
        vx.attrs,
        VxlanAttrs {
            local: Some("198.51.100.1".parse().unwrap()),
            remote: Some("203.0.113.9".parse().unwrap()),
            port: 8472,
            learning: Some(false),
            ..VxlanAttrs::new(42)
        }
    );
    let LinkSpecKind::Vxlan(vx) = spec(
        "vx1",
        &[
            ("vxlan-id", "43"),
            ("vxlan-local-ip", "2001:db8::1"),
            ("vxlan-remote-ip", "2001:db8::2"),
            ("vxlan-ageing", "300"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(vx.attrs.port, 4789, "the IANA port, not the kernel's 8472");
    assert_eq!(vx.attrs.ageing, Some(300));
    let LinkSpecKind::Vxlan(vx) = spec(
        "vx2",
        &[
            ("vxlan-id", "44"),
            ("vxlan-peer-group", "239.1.1.1"),
            ("vxlan-physdev", "eth0"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(vx.attrs.remote, Some("239.1.1.1".parse().unwrap()));

    assert_eq!(
        error("vx0", &[("vxlan-id", "16777216")]),
        r#"vx0: vxlan-id: "16777216" is not a VXLAN id (0 to 16777215)"#
    );
    assert_eq!(
        error(
            "vx0",
            &[
                ("vxlan-id", "1"),
                ("vxlan-peer-ips", "203.0.113.1 203.0.113.2")
            ]
        ),
        "vx0: vxlan-peer-ips: several remote ends (head-end replication) are not supported \
         yet; give one, or a multicast group"
    );
    assert_eq!(
        error(
            "vx0",
            &[("vxlan-id", "1"), ("vxlan-svcnodeip", "239.1.1.1")]
        ),
        "vx0: a vxlan with a multicast group needs vxlan-physdev"
    );
    assert_eq!(
        error(
            "vx0",
            &[("vxlan-id", "1"), ("vxlan-remote-ip", "239.1.1.1")]
        ),
        r#"vx0: vxlan-remote-ip: "239.1.1.1" is not a unicast IP address"#
    );
    assert_eq!(
        error(
            "vx0",
            &[
                ("vxlan-id", "1"),
                ("vxlan-local-ip", "2001:db8::1"),
                ("vxlan-remote-ip", "203.0.113.1")
            ]
        ),
        r#"vx0: vxlan-local-ip: "2001:db8::1" and 203.0.113.1 are of different families"#
    );
}

#[test]
fn port_vlans_of_a_port_stanza() {
    let port = links_of("swp1", &[("bridge-vids", "10 20"), ("bridge-pvid", "10")]).unwrap();
    assert_eq!(
        port.port_vlans.unwrap().to_bridge_vlans(),
        [
            BridgeVlan {
                vid: 10,
                pvid: true,
                untagged: true
            },
            BridgeVlan::tagged(20)
        ]
    );
    // ifupdown2's older name.
    let trunk = links_of("swp1", &[("bridge-trunk", "10 20"), ("bridge-pvid", "10")]).unwrap();
    let vids = links_of("swp1", &[("bridge-vids", "10 20"), ("bridge-pvid", "10")]).unwrap();
    assert_eq!(trunk.port_vlans, vids.port_vlans);
    let access = links_of("swp2", &[("bridge-access", "30")]).unwrap();
    assert_eq!(
        access.port_vlans,
        Some(PortVlans {
            vids: vec![30],
            pvid: Some(30)
        })
    );
}

#[test]
fn specs_become_requests() {
    let links = vec![
        link(1, "lo", None),
        link(2, "eth0", None),
        link(3, "eth1", None),
    ];
    let new = |iface: &str, pairs: &[(&str, &str)]| {
        links_of(iface, pairs)
            .unwrap()
            .link
            .unwrap()
            .to_new_link(&links)
    };
    let vlan = new("eth0.10", &[]).unwrap();
    assert_eq!(vlan.parent, Some(2));
    assert_eq!(
        vlan.kind,
        LinkKind::Vlan(VlanAttrs {
            id: 10,
            protocol: VlanProtocol::Dot1Q
        })
    );
    let br = new("br0", &[("bridge_ports", "eth0"), ("bridge_hw", "eth1")]).unwrap();
    assert_eq!(br.mac, Some([2, 0, 0, 0, 0, 3]));
    assert_eq!(br.parent, None);
    let vx = new("vx0", &[("vxlan-id", "5"), ("vxlan-physdev", "eth1")]).unwrap();
    let LinkKind::Vxlan(attrs) = vx.kind else {
        panic!()
    };
    assert_eq!(attrs.link, Some(3));
    let bond = new(
        "bond0",
        &[
            ("bond-slaves", "eth0"),
            ("bond-mode", "active-backup"),
            ("bond-primary", "eth0"),
        ],
    )
    .unwrap();
    assert_eq!(
        bond.kind,
        LinkKind::Bond(BondAttrs {
            mode: Some(BondMode::ActiveBackup),
            ..BondAttrs::default()
        }),
        "the primary comes after enslaving"
    );
    assert_eq!(
        new("eth9.10", &[]).unwrap_err().to_string(),
        "eth9.10: name: eth9 does not exist"
    );
    assert_eq!(
        new(
            "mv0",
            &[("link-type", "macvlan"), ("macvlan-raw-device", "eth7")]
        )
        .unwrap_err()
        .to_string(),
        "mv0: macvlan-raw-device: eth7 does not exist"
    );
}

#[test]
fn comparing_with_what_exists() {
    let eth0 = link(2, "eth0", None);
    let spec_of =
        |iface: &str, pairs: &[(&str, &str)]| links_of(iface, pairs).unwrap().link.unwrap();

    let br = spec_of(
        "br0",
        &[
            ("bridge_ports", "eth0"),
            ("bridge_stp", "off"),
            ("bridge_fd", "0"),
        ],
    );
    let mut have = link(5, "br0", Some("bridge"));
    have.details = Some(LinkKind::Bridge(BridgeAttrs {
        stp: Some(false),
        forward_delay: secs(15),
        hello_time: secs(2),
        ..BridgeAttrs::default()
    }));
    let all = vec![eth0.clone(), have.clone()];
    assert_eq!(
        br.compare(&have, &all),
        LinkDiff::Change(LinkKind::Bridge(BridgeAttrs {
            forward_delay: secs(0),
            ..BridgeAttrs::default()
        }))
    );
    have.details = Some(LinkKind::Bridge(BridgeAttrs {
        stp: Some(false),
        forward_delay: secs(0),
        ..BridgeAttrs::default()
    }));
    assert_eq!(br.compare(&have, &all), LinkDiff::Same);

    let mut veth = link(6, "br0", Some("veth"));
    veth.details = Some(LinkKind::Veth(VethAttrs::default()));
    assert_eq!(
        br.compare(&veth, &all),
        LinkDiff::Recreate("br0 is veth, not a bridge".into())
    );
    assert_eq!(
        br.compare(&link(6, "br0", None), &all),
        LinkDiff::Recreate("br0 is not a virtual link, not a bridge".into())
    );

    let vlan = spec_of("eth0.10", &[]);
    let mut have = link(7, "eth0.10", Some("vlan"));
    have.parent = Some(2);
    have.details = Some(LinkKind::Vlan(VlanAttrs {
        id: 10,
        protocol: VlanProtocol::Dot1Q,
    }));
    assert_eq!(
        vlan.compare(&have, std::slice::from_ref(&eth0)),
        LinkDiff::Same
    );
    have.details = Some(LinkKind::Vlan(VlanAttrs {
        id: 11,
        protocol: VlanProtocol::Dot1Q,
    }));
    assert_eq!(
        vlan.compare(&have, std::slice::from_ref(&eth0)),
        LinkDiff::Recreate("eth0.10 is VLAN 11 on eth0, not VLAN 10 on eth0".into())
    );

    let vx = spec_of("vx0", &[("vxlan-id", "5"), ("vxlan-physdev", "eth0")]);
    let mut have = link(8, "vx0", Some("vxlan"));
    have.details = Some(LinkKind::Vxlan(VxlanAttrs {
        link: Some(2),
        learning: Some(true),
        ageing: Some(300),
        ..VxlanAttrs::new(5)
    }));
    assert_eq!(
        vx.compare(&have, std::slice::from_ref(&eth0)),
        LinkDiff::Same
    );
}

#[test]
fn seconds_and_booleans() {
    assert_eq!(parse_seconds("15"), secs(15));
    assert_eq!(parse_seconds("2.5"), Some(Duration::from_millis(2500)));
    assert_eq!(parse_seconds(".25"), Some(Duration::from_millis(250)));
    assert_eq!(parse_seconds("3."), secs(3));
    for bad in ["", ".", "-1", "1e3", "x", "1.2.3", " 1"] {
        assert_eq!(parse_seconds(bad), None, "{bad:?}");
    }
    assert_eq!(parse_bool("YES"), Some(true));
    assert_eq!(parse_bool("0"), Some(false));
    assert_eq!(parse_bool("maybe"), None);
}

#[test]
fn package_scripts_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pre_up = root.join("if-pre-up.d");
    fs::create_dir(&pre_up).unwrap();
    let brctl = root.join("brctl");
    let script = |path: &Path, mode: u32| {
        fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    };
    assert_eq!(
        PackageHooks::detect_with(root, &brctl),
        PackageHooks::default()
    );

    // As the packages install them: bridge is a symlink to ifupdown.sh.
    let lib = root.join("ifupdown.sh");
    script(&lib, 0o755);
    std::os::unix::fs::symlink(&lib, pre_up.join("bridge")).unwrap();
    script(&pre_up.join("ifenslave"), 0o755);
    script(&pre_up.join("vlan"), 0o644);
    let found = PackageHooks::detect_with(root, &brctl);
    assert_eq!(
        found,
        PackageHooks {
            bridge_utils: false, // no brctl: the script exits 0 at once
            ifenslave: true,
            vlan: false, // not executable: run-parts skips it
        }
    );
    script(&brctl, 0o755);
    script(&pre_up.join("vlan"), 0o755);
    let all = PackageHooks::detect_with(root, &brctl);
    assert_eq!(
        all,
        PackageHooks {
            bridge_utils: true,
            ifenslave: true,
            vlan: true
        }
    );

    let owner = |iface: &str, pairs: &[(&str, &str)]| all.owner(iface, &stanza(iface, pairs).vars);
    assert_eq!(
        owner("br0", &[("bridge_ports", "eth0")]),
        Some(Package::BridgeUtils)
    );
    assert_eq!(
        owner("br0", &[("bridge-ports", "none")]),
        Some(Package::BridgeUtils)
    );
    assert_eq!(owner("br1", &[("link-type", "bridge")]), None);
    assert_eq!(
        owner("bond0", &[("bond-slaves", "eth0")]),
        Some(Package::Ifenslave)
    );
    assert_eq!(
        owner("bond0", &[("bond_mode", "1")]),
        Some(Package::Ifenslave)
    );
    assert_eq!(
        owner("eth0", &[("bond-master", "bond0")]),
        Some(Package::Ifenslave)
    );
    // ifenslave does not know ifupdown-ng's name.
    assert_eq!(owner("bond1", &[("bond-members", "eth1")]), None);
    assert_eq!(
        owner("vlan10", &[("vlan-raw-device", "eth0")]),
        Some(Package::Vlan)
    );
    assert_eq!(
        owner("br0.2", &[("vlan-raw-device", "br0")]),
        Some(Package::Vlan)
    );
    // Names the vlan script ignores, and dotted names without the option
    // (Debian ifupdown's own job).
    assert_eq!(
        owner("mgmt", &[("vlan-raw-device", "eth0"), ("vlan-id", "5")]),
        None
    );
    assert_eq!(owner("eth0.10", &[]), None);
    assert_eq!(owner("eth0", &[("address", "198.51.100.1/24")]), None);
    assert_eq!(
        PackageHooks::default().owner("br0", &stanza("br0", &[("bridge_ports", "eth0")]).vars),
        None
    );
}

#[test]
fn macvtap_ipvlan_vrf_and_members() {
    use netconf_kernel::netlink::{IpvlanAttrs, IpvlanMode, VrfAttrs};
    assert_eq!(
        spec(
            "mvt0",
            &[
                ("link-type", "macvtap"),
                ("link", "eth0"),
                ("macvtap-mode", "vepa")
            ]
        ),
        LinkSpecKind::Macvtap(MacvlanSpec {
            lower: "eth0".into(),
            attrs: MacvlanAttrs {
                mode: Some(MacvlanMode::Vepa)
            },
        })
    );
    assert_eq!(
        spec(
            "ipv0",
            &[("link-type", "ipvlan"), ("ipvlan-raw-device", "eth0")]
        ),
        LinkSpecKind::Ipvlan(IpvlanSpec {
            lower: "eth0".into(),
            attrs: IpvlanAttrs {
                mode: IpvlanMode::L2
            },
        })
    );
    assert_eq!(
        error(
            "ipv0",
            &[
                ("link-type", "ipvlan"),
                ("link", "eth0"),
                ("ipvlan-mode", "l4")
            ]
        ),
        r#"ipv0: ipvlan-mode: "l4" is not an ipvlan mode (l2, l3, l3s)"#
    );
    assert_eq!(
        error("ipv0", &[("link-type", "ipvlan")]),
        "ipv0: a link of type ipvlan needs ipvlan-raw-device (or link)"
    );
    assert_eq!(
        spec("red", &[("vrf-table", "1010")]),
        LinkSpecKind::Vrf(VrfSpec {
            table: VrfTable::Fixed(1010)
        })
    );
    assert_eq!(
        error("red", &[("vrf-table", "254")]),
        r#"red: vrf-table: "254" is not a routing table (1 to 4294967295, not 253 to 255) or auto"#
    );
    assert_eq!(
        error("red", &[("link-type", "vrf")]),
        "red: a vrf needs vrf-table (a number, or auto)"
    );
    // Members, in both spellings; a VRF's own stanza is no member.
    assert_eq!(
        links_of("d0", &[("vrf", "red")]).unwrap().vrf.as_deref(),
        Some("red")
    );
    assert_eq!(
        links_of("d0", &[("vrf-member", "blue")])
            .unwrap()
            .vrf
            .as_deref(),
        Some("blue")
    );
    assert_eq!(links_of("red", &[("vrf-table", "auto")]).unwrap().vrf, None);

    // `auto` takes the first table from 1001 no VRF has.
    let mut taken = link(5, "green", Some("vrf"));
    taken.details = Some(LinkKind::Vrf(VrfAttrs { table: 1001 }));
    let links = vec![link(1, "lo", None), taken.clone()];
    let auto = links_of("blue", &[("vrf-table", "auto")])
        .unwrap()
        .link
        .unwrap();
    assert_eq!(
        auto.to_new_link(&links).unwrap().kind,
        LinkKind::Vrf(VrfAttrs { table: 1002 })
    );
    assert_eq!(auto.compare(&taken, &links), LinkDiff::Same);
    let fixed = links_of("green", &[("vrf-table", "7")])
        .unwrap()
        .link
        .unwrap();
    assert!(matches!(
        fixed.compare(&taken, &links),
        LinkDiff::Recreate(_)
    ));
}
