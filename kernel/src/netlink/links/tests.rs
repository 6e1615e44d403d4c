//! Message-level proof of link creation: each request is serialised as the
//! socket sends it, then (1) compared byte for byte with a message built here
//! by hand from the kernel's uapi numbers (`if_link.h`), and (2) decoded
//! again with netlink-packet-route and its attributes checked. This is the
//! whole proof for bond and vlan, whose modules this kernel lacks.

use super::*;
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use std::net::Ipv4Addr;

// uapi/linux/if_link.h and rtnetlink.h
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_SETLINK: u16 = 19;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_BOND_MODE: u16 = 1;
const IFLA_BOND_MIIMON: u16 = 3;
const IFLA_BOND_UPDELAY: u16 = 4;
const IFLA_BOND_PRIMARY: u16 = 11;
const IFLA_BOND_XMIT_HASH_POLICY: u16 = 14;
const IFLA_BOND_AD_LACP_RATE: u16 = 21;
const IFLA_VLAN_ID: u16 = 1;
const IFLA_VLAN_PROTOCOL: u16 = 5;
const IFLA_BRIDGE_FLAGS: u16 = 0;
const IFLA_BRIDGE_VLAN_INFO: u16 = 2;
const AF_BRIDGE: u8 = 7;
const IFF_UP: u32 = 1;

/// The request as the socket puts it on the wire, header included.
fn wire(msg: &Request) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = 1;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg.clone()));
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

/// The message type and the payload after the 16-byte nlmsghdr.
fn payload(msg: &Request) -> (u16, Vec<u8>) {
    let bytes = wire(msg);
    let len = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len());
    let kind = u16::from_ne_bytes(bytes[4..6].try_into().unwrap());
    (kind, bytes[16..].to_vec())
}

/// Decodes the payload again with netlink-packet-route.
fn reparse(msg: &Request) -> LinkMessage {
    let bytes = wire(msg);
    let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    match parsed.payload {
        NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewLink(m)
            | RouteNetlinkMessage::SetLink(m)
            | RouteNetlinkMessage::DelLink(m),
        ) => m,
        other => panic!("not a link message: {other:?}"),
    }
}

fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

fn cstr(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    v.push(0);
    v
}

fn ifinfomsg(family: u8, index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut out = vec![family, 0, 0, 0];
    out.extend_from_slice(&index.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&change.to_ne_bytes());
    out
}

fn u32b(v: u32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// The IFLA_LINKINFO nest of a message, decoded.
fn infos(msg: &LinkMessage) -> Vec<LinkInfo> {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i.clone()),
            _ => None,
        })
        .expect("IFLA_LINKINFO")
}

/// Our own decoder of dumps reads the request's attributes back.
fn details_of(msg: &LinkMessage) -> Option<LinkKind> {
    let infos = infos(msg);
    let kind = infos.iter().find_map(|i| match i {
        LinkInfo::Kind(k) => Some(k.to_string()),
        _ => None,
    });
    decode_details(kind.as_deref(), &infos)
}

#[test]
fn bond_request_bytes() {
    let mut link = NewLink::new(
        "bond0",
        LinkKind::Bond(BondAttrs {
            mode: Some(BondMode::Ieee8023ad),
            miimon: Some(100),
            updelay: Some(200),
            lacp_rate: Some(LacpRate::Fast),
            xmit_hash_policy: Some(XmitHashPolicy::Layer34),
            ..BondAttrs::default()
        }),
    );
    link.mtu = Some(9000);
    link.up = true;
    let (kind, bytes) = payload(&new_link(&link).unwrap());
    assert_eq!(kind, RTM_NEWLINK);

    let data = [
        attr(IFLA_BOND_MODE, &[4]),
        attr(IFLA_BOND_MIIMON, &u32b(100)),
        attr(IFLA_BOND_UPDELAY, &u32b(200)),
        attr(IFLA_BOND_XMIT_HASH_POLICY, &[1]),
        attr(IFLA_BOND_AD_LACP_RATE, &[1]),
    ]
    .concat();
    let linkinfo = [
        attr(IFLA_INFO_KIND, &cstr("bond")),
        attr(IFLA_INFO_DATA, &data),
    ]
    .concat();
    let expected = [
        ifinfomsg(0, 0, IFF_UP, IFF_UP),
        attr(IFLA_IFNAME, &cstr("bond0")),
        attr(IFLA_MTU, &u32b(9000)),
        attr(IFLA_LINKINFO, &linkinfo),
    ]
    .concat();
    assert_eq!(hex(&bytes), hex(&expected));

    let msg = reparse(&new_link(&link).unwrap());
    assert_eq!(msg.header.flags, LinkFlags::Up);
    let infos = infos(&msg);
    assert_eq!(infos[0], LinkInfo::Kind(InfoKind::Bond));
    let LinkInfo::Data(InfoData::Bond(attrs)) = &infos[1] else {
        panic!("{infos:?}");
    };
    assert!(attrs.contains(&InfoBond::Mode(WireBondMode::Ieee8023Ad)));
    assert!(attrs.contains(&InfoBond::MiiMon(100)));
    assert!(attrs.contains(&InfoBond::AdLacpRate(WireLacpRate::Fast)));
    assert!(attrs.contains(&InfoBond::XmitHashPolicy(WireXmitHashPolicy::Layer34)));
    assert_eq!(details_of(&msg), Some(link.kind.clone()));
}

/// Every bonding option ifenslave writes (and ifupdown2's), ARP
/// monitoring with several targets included, decoded back as sent.
#[test]
fn bond_options_round_trip() {
    let attrs = BondAttrs {
        mode: Some(BondMode::ActiveBackup),
        use_carrier: Some(false),
        arp_interval: Some(250),
        arp_ip_target: Some(vec![
            Ipv4Addr::new(198, 51, 100, 1),
            Ipv4Addr::new(198, 51, 100, 2),
        ]),
        arp_validate: Some(ArpValidate::FilterBackup),
        arp_all_targets: Some(ArpAllTargets::All),
        primary_reselect: Some(PrimaryReselect::Failure),
        fail_over_mac: Some(FailOverMac::Follow),
        num_peer_notif: Some(3),
        all_slaves_active: Some(true),
        min_links: Some(1),
        ..BondAttrs::default()
    };
    let link = NewLink::new("bond0", LinkKind::Bond(attrs.clone()));
    let msg = reparse(&new_link(&link).unwrap());
    let LinkInfo::Data(InfoData::Bond(wire)) = &infos(&msg)[1] else {
        panic!("{msg:?}");
    };
    assert!(wire.contains(&InfoBond::ArpValidate(WireArpValidate::FilterBackup)));
    assert!(wire.contains(&InfoBond::FailOverMac(WireFailOverMac::Follow)));
    assert_eq!(details_of(&msg), Some(link.kind.clone()));

    let lacp = BondAttrs {
        mode: Some(BondMode::Ieee8023ad),
        ad_select: Some(AdSelect::Count),
        lacp_rate: Some(LacpRate::Fast),
        ..BondAttrs::default()
    };
    let msg = reparse(&new_link(&NewLink::new("bond1", LinkKind::Bond(lacp.clone()))).unwrap());
    assert_eq!(details_of(&msg), Some(LinkKind::Bond(lacp)));
    let rr = BondAttrs {
        mode: Some(BondMode::BalanceRr),
        packets_per_slave: Some(4),
        tlb_dynamic_lb: Some(false),
        ..BondAttrs::default()
    };
    let msg = reparse(&new_link(&NewLink::new("bond2", LinkKind::Bond(rr.clone()))).unwrap());
    assert_eq!(details_of(&msg), Some(LinkKind::Bond(rr)));

    // Refused before sending: both monitors, too many targets.
    let both = BondAttrs {
        miimon: Some(100),
        arp_interval: Some(100),
        ..BondAttrs::default()
    };
    assert!(new_link(&NewLink::new("bond3", LinkKind::Bond(both))).is_err());
    let many = BondAttrs {
        arp_ip_target: Some(vec![Ipv4Addr::new(198, 51, 100, 1); 17]),
        ..BondAttrs::default()
    };
    assert!(new_link(&NewLink::new("bond3", LinkKind::Bond(many))).is_err());
}

#[test]
fn a_new_bond_leaves_zero_delays_to_the_kernel() {
    // The kernel refuses any delay while MII monitoring is off.
    let quiet = BondAttrs {
        miimon: Some(0),
        updelay: Some(0),
        downdelay: Some(0),
        ..BondAttrs::default()
    };
    let sent = bond(&quiet, true).unwrap();
    assert_eq!(sent, vec![InfoBond::MiiMon(0)]);
    // A change says what it says.
    assert!(bond(&quiet, false).unwrap().contains(&InfoBond::UpDelay(0)));
}

#[test]
fn bond_primary_only_after_enslaving() {
    let with_primary = LinkKind::Bond(BondAttrs {
        primary: Some(7),
        ..BondAttrs::default()
    });
    assert!(new_link(&NewLink::new("bond0", with_primary.clone())).is_err());
    // As a change of the existing bond 5: RTM_NEWLINK on its index, no name.
    let (kind, bytes) = payload(&change_link_kind(5, &with_primary).unwrap());
    assert_eq!(kind, RTM_NEWLINK);
    let linkinfo = [
        attr(IFLA_INFO_KIND, &cstr("bond")),
        attr(IFLA_INFO_DATA, &attr(IFLA_BOND_PRIMARY, &u32b(7))),
    ]
    .concat();
    let expected = [ifinfomsg(0, 5, 0, 0), attr(IFLA_LINKINFO, &linkinfo)].concat();
    assert_eq!(hex(&bytes), hex(&expected));
    // Kinds whose identity is in their attributes are not changed in place.
    let vlan = LinkKind::Vlan(VlanAttrs {
        id: 5,
        protocol: VlanProtocol::Dot1Q,
    });
    assert!(change_link_kind(5, &vlan).is_err());
}

#[test]
fn vlan_request_bytes() {
    let mut link = NewLink::new(
        "eth0.10",
        LinkKind::Vlan(VlanAttrs {
            id: 10,
            protocol: VlanProtocol::Dot1Q,
        }),
    );
    link.parent = Some(2);
    let (kind, bytes) = payload(&new_link(&link).unwrap());
    assert_eq!(kind, RTM_NEWLINK);
    let data = [
        attr(IFLA_VLAN_ID, &10u16.to_ne_bytes()),
        // The protocol is big-endian on the wire (__be16).
        attr(IFLA_VLAN_PROTOCOL, &[0x81, 0x00]),
    ]
    .concat();
    let linkinfo = [
        attr(IFLA_INFO_KIND, &cstr("vlan")),
        attr(IFLA_INFO_DATA, &data),
    ]
    .concat();
    let expected = [
        ifinfomsg(0, 0, 0, 0),
        attr(IFLA_IFNAME, &cstr("eth0.10")),
        attr(IFLA_LINK, &u32b(2)),
        attr(IFLA_LINKINFO, &linkinfo),
    ]
    .concat();
    assert_eq!(hex(&bytes), hex(&expected));

    let msg = reparse(&new_link(&link).unwrap());
    assert!(msg.attributes.contains(&LinkAttribute::Link(2)));
    assert_eq!(details_of(&msg), Some(link.kind.clone()));

    // QinQ's outer tag.
    link.kind = LinkKind::Vlan(VlanAttrs {
        id: 100,
        protocol: VlanProtocol::Dot1Ad,
    });
    let msg = reparse(&new_link(&link).unwrap());
    let LinkInfo::Data(InfoData::Vlan(attrs)) = &infos(&msg)[1] else {
        panic!()
    };
    assert!(attrs.contains(&InfoVlan::Protocol(WireVlanProtocol::Ieee8021Ad)));
    assert_eq!(details_of(&msg), Some(link.kind.clone()));

    // No raw device, or an id the kernel refuses: refused before sending.
    link.parent = None;
    assert!(new_link(&link).is_err());
    link.parent = Some(2);
    link.kind = LinkKind::Vlan(VlanAttrs {
        id: 4095,
        protocol: VlanProtocol::Dot1Q,
    });
    assert!(new_link(&link).is_err());
}

#[test]
fn bridge_times_are_clock_t() {
    assert_eq!(user_hz(), 100, "every Debian architecture has USER_HZ 100");
    assert_eq!(to_clock_t(Duration::from_secs(15)).unwrap(), 1500);
    assert_eq!(to_clock_t(Duration::from_millis(2500)).unwrap(), 250);
    assert_eq!(to_clock_t(Duration::from_millis(4)).unwrap(), 0);
    assert_eq!(to_clock_t(Duration::from_millis(5)).unwrap(), 1);
    assert_eq!(from_clock_t(250), Duration::from_millis(2500));
    assert!(to_clock_t(Duration::from_secs(u64::MAX / 1000)).is_err());

    let attrs = BridgeAttrs {
        stp: Some(true),
        forward_delay: Some(Duration::from_secs(4)),
        hello_time: Some(Duration::from_secs(2)),
        max_age: Some(Duration::from_secs(12)),
        ageing_time: Some(Duration::from_secs(300)),
        priority: Some(4096),
        vlan_filtering: Some(true),
    };
    let mut link = NewLink::new("br0", LinkKind::Bridge(attrs.clone()));
    link.mac = Some([2, 0, 0x5e, 0, 0x53, 1]);
    let msg = reparse(&new_link(&link).unwrap());
    assert!(msg
        .attributes
        .contains(&LinkAttribute::Address(vec![2, 0, 0x5e, 0, 0x53, 1])));
    let LinkInfo::Data(InfoData::Bridge(wire)) = &infos(&msg)[1] else {
        panic!()
    };
    for expected in [
        InfoBridge::ForwardDelay(400),
        InfoBridge::HelloTime(200),
        InfoBridge::MaxAge(1200),
        InfoBridge::AgeingTime(30000),
        InfoBridge::StpState(BridgeStpState::KernelStp),
        InfoBridge::Priority(4096),
        InfoBridge::VlanFiltering(true),
    ] {
        assert!(wire.contains(&expected), "{expected:?} not in {wire:?}");
    }
    assert_eq!(details_of(&msg), Some(LinkKind::Bridge(attrs)));

    // VLAN filtering off is not sent at creation (kernels without
    // CONFIG_BRIDGE_VLAN_FILTERING refuse the attribute), but is as a change.
    let off = LinkKind::Bridge(BridgeAttrs {
        vlan_filtering: Some(false),
        ..BridgeAttrs::default()
    });
    let created = reparse(&new_link(&NewLink::new("br1", off.clone())).unwrap());
    assert_eq!(infos(&created), vec![LinkInfo::Kind(InfoKind::Bridge)]);
    let changed = reparse(&change_link_kind(3, &off).unwrap());
    assert_eq!(
        infos(&changed)[1],
        LinkInfo::Data(InfoData::Bridge(vec![InfoBridge::VlanFiltering(false)]))
    );

    // A bridge with nothing set sends no empty IFLA_INFO_DATA.
    let plain = reparse(
        &new_link(&NewLink::new(
            "br1",
            LinkKind::Bridge(BridgeAttrs::default()),
        ))
        .unwrap(),
    );
    assert_eq!(infos(&plain), vec![LinkInfo::Kind(InfoKind::Bridge)]);
}

#[test]
fn macvlan_veth_vxlan_dummy_requests() {
    let mut mv = NewLink::new(
        "mv0",
        LinkKind::Macvlan(MacvlanAttrs {
            mode: Some(MacvlanMode::Bridge),
        }),
    );
    mv.parent = Some(3);
    let msg = reparse(&new_link(&mv).unwrap());
    assert!(msg.attributes.contains(&LinkAttribute::Link(3)));
    assert_eq!(
        infos(&msg)[1],
        LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
            WireMacvlanMode::Bridge
        )]))
    );
    assert_eq!(details_of(&msg), Some(mv.kind.clone()));

    let veth = NewLink::new(
        "ve0",
        LinkKind::Veth(VethAttrs {
            peer: Some("ve1".into()),
        }),
    );
    let msg = reparse(&new_link(&veth).unwrap());
    let LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))) = &infos(&msg)[1] else {
        panic!("{:?}", infos(&msg));
    };
    assert_eq!(peer.attributes, vec![LinkAttribute::IfName("ve1".into())]);
    let bad_peer = NewLink::new(
        "ve0",
        LinkKind::Veth(VethAttrs {
            peer: Some("a-name-much-too-long".into()),
        }),
    );
    assert!(new_link(&bad_peer).is_err());

    let vx = NewLink::new(
        "vx0",
        LinkKind::Vxlan(VxlanAttrs {
            local: Some("198.51.100.1".parse().unwrap()),
            remote: Some("203.0.113.9".parse().unwrap()),
            learning: Some(false),
            link: Some(4),
            ..VxlanAttrs::new(4242)
        }),
    );
    let msg = reparse(&new_link(&vx).unwrap());
    let LinkInfo::Data(InfoData::Vxlan(attrs)) = &infos(&msg)[1] else {
        panic!()
    };
    for expected in [
        InfoVxlan::Id(4242),
        InfoVxlan::Local(Ipv4Addr::new(198, 51, 100, 1)),
        InfoVxlan::Group(Ipv4Addr::new(203, 0, 113, 9)),
        InfoVxlan::Link(4),
        InfoVxlan::Port(4789),
        InfoVxlan::Learning(false),
    ] {
        assert!(attrs.contains(&expected), "{expected:?} not in {attrs:?}");
    }
    // The port is big-endian on the wire: 4789 is 0x12b5.
    let bytes = wire(&new_link(&vx).unwrap());
    let port = attr(15, &[0x12, 0xb5]);
    assert!(bytes.windows(port.len()).any(|w| w == port.as_slice()));
    assert_eq!(details_of(&msg), Some(vx.kind.clone()));

    let mixed = NewLink::new(
        "vx1",
        LinkKind::Vxlan(VxlanAttrs {
            local: Some("2001:db8::1".parse().unwrap()),
            remote: Some("203.0.113.9".parse().unwrap()),
            ..VxlanAttrs::new(1)
        }),
    );
    assert!(new_link(&mixed).is_err());
    let group_without_link = NewLink::new(
        "vx1",
        LinkKind::Vxlan(VxlanAttrs {
            remote: Some("239.1.1.1".parse().unwrap()),
            ..VxlanAttrs::new(1)
        }),
    );
    assert!(new_link(&group_without_link).is_err());
    assert!(new_link(&NewLink::new(
        "vx1",
        LinkKind::Vxlan(VxlanAttrs::new(1 << 24))
    ))
    .is_err());

    let dummy = reparse(&new_link(&NewLink::new("d0", LinkKind::Dummy)).unwrap());
    assert_eq!(infos(&dummy), vec![LinkInfo::Kind(InfoKind::Dummy)]);
    let wg = reparse(&new_link(&NewLink::new("wg0", LinkKind::Wireguard)).unwrap());
    assert_eq!(infos(&wg), vec![LinkInfo::Kind(InfoKind::Wireguard)]);
    assert_eq!(details_of(&wg), Some(LinkKind::Wireguard));
    let mut wg_over = NewLink::new("wg1", LinkKind::Wireguard);
    wg_over.parent = Some(2);
    assert!(
        new_link(&wg_over).is_err(),
        "a WireGuard link has no lower device"
    );

    let mut enslaved = NewLink::new("d1", LinkKind::Dummy);
    enslaved.master = Some(9);
    let msg = reparse(&new_link(&enslaved).unwrap());
    assert!(msg.attributes.contains(&LinkAttribute::Controller(9)));
    let (_, bytes) = payload(&new_link(&enslaved).unwrap());
    let master = attr(IFLA_MASTER, &u32b(9));
    assert!(bytes.windows(master.len()).any(|w| w == master.as_slice()));

    assert!(new_link(&NewLink::new("bad/name", LinkKind::Dummy)).is_err());
    let mut bridge_with_parent = NewLink::new("br0", LinkKind::Bridge(BridgeAttrs::default()));
    bridge_with_parent.parent = Some(1);
    assert!(new_link(&bridge_with_parent).is_err());
}

#[test]
fn bridge_vlan_requests() {
    let vlans = [
        BridgeVlan {
            vid: 1,
            pvid: true,
            untagged: true,
        },
        BridgeVlan::tagged(100),
    ];
    let (kind, bytes) = payload(&bridge_vlans_request(6, &vlans, false, false).unwrap());
    assert_eq!(kind, RTM_SETLINK);
    // struct bridge_vlan_info { __u16 flags; __u16 vid; }
    let info = |flags: u16, vid: u16| [flags.to_ne_bytes(), vid.to_ne_bytes()].concat();
    let spec = [
        attr(IFLA_BRIDGE_VLAN_INFO, &info(0b110, 1)),
        attr(IFLA_BRIDGE_VLAN_INFO, &info(0, 100)),
    ]
    .concat();
    let expected = [ifinfomsg(AF_BRIDGE, 6, 0, 0), attr(IFLA_AF_SPEC, &spec)].concat();
    assert_eq!(hex(&bytes), hex(&expected));

    // The bridge's own VLANs carry BRIDGE_FLAGS_SELF; deleting is RTM_DELLINK.
    let (kind, bytes) = payload(&bridge_vlans_request(4, &vlans[1..], true, true).unwrap());
    assert_eq!(kind, RTM_DELLINK);
    let spec = [
        attr(IFLA_BRIDGE_FLAGS, &2u16.to_ne_bytes()),
        attr(IFLA_BRIDGE_VLAN_INFO, &info(0, 100)),
    ]
    .concat();
    let expected = [ifinfomsg(AF_BRIDGE, 4, 0, 0), attr(IFLA_AF_SPEC, &spec)].concat();
    assert_eq!(hex(&bytes), hex(&expected));

    assert!(bridge_vlans_request(4, &[], false, false).is_err());
    assert!(bridge_vlans_request(4, &[BridgeVlan::tagged(0)], false, false).is_err());
    assert!(bridge_vlans_request(4, &[BridgeVlan::tagged(4095)], false, false).is_err());

    // The dump asks for AF_BRIDGE with RTEXT_FILTER_BRVLAN (2) only.
    let (_, bytes) = payload(&dump_bridge_vlans());
    let expected = [ifinfomsg(AF_BRIDGE, 0, 0, 0), attr(29, &u32b(2))].concat();
    assert_eq!(hex(&bytes), hex(&expected));

    // What the kernel answers decodes into our VLANs.
    let mut answer = LinkMessage::default();
    answer.header.interface_family = AddressFamily::Bridge;
    answer.header.index = 6;
    answer
        .attributes
        .push(LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(
            BridgeVlanInfo {
                flags: BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged,
                vid: 1,
            },
        )]));
    let (kind, bytes) = payload(&RouteNetlinkMessage::NewLink(answer));
    assert_eq!(
        decode_bridge_vlans(kind, &bytes).unwrap(),
        Some((6, vec![vlans[0]]))
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(4)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn tunnel_requests_read_back_from_the_wire() {
    use super::super::tunnels::{EncapLimit, TunnelAttrs, TunnelMode};
    let v4 = |m| TunnelAttrs {
        local: Some("198.51.100.1".parse().unwrap()),
        remote: Some("198.51.100.2".parse().unwrap()),
        ttl: Some(64),
        ..TunnelAttrs::new(m)
    };
    let v6 = |m| TunnelAttrs {
        local: Some("2001:db8::1".parse().unwrap()),
        remote: Some("2001:db8::2".parse().unwrap()),
        ttl: Some(64),
        encap_limit: Some(EncapLimit::None),
        ..TunnelAttrs::new(m)
    };
    let cases = [
        v4(TunnelMode::Gre),
        v4(TunnelMode::Gretap),
        v4(TunnelMode::Ipip),
        v4(TunnelMode::Sit),
        v6(TunnelMode::Ip6ip6),
        v6(TunnelMode::Ipip6),
        v6(TunnelMode::Any),
        v6(TunnelMode::Ip6gre),
        v6(TunnelMode::Ip6gretap),
    ];
    for attrs in cases {
        let link = NewLink::new("t0", LinkKind::Tunnel(attrs.clone()));
        let msg = reparse(&new_link(&link).unwrap());
        assert_eq!(details_of(&msg), Some(LinkKind::Tunnel(attrs)), "{link}");
    }
}
