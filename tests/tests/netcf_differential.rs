//! netcf documents brought up: the kernel state netconf leaves after
//! `ifup -a` and after `ifdown -a` on the stanzas ifxml renders from a
//! document of its corpus, compared with what Debian's ifupdown 0.8.41
//! (with bridge-utils 1.7.1's hook scripts) leaves for the same stanzas.
//!
//! The stanzas are `ifxml/tests/corpus/NAME.interfaces`, which
//! `ifxml/tests/corpus.rs` checks are exactly what `stanzas::render` makes
//! of `NAME.xml` (this crate does not depend on ifxml: the committed file
//! is the rendering). Each case runs twice, each time in a network
//! namespace of its own (nothing here touches the machine's) holding the
//! same veth pairs, which stand in for the document's ethernets (`eth0`
//! with its peer `eth0p` up, so that it has a carrier):
//!
//! 1. **Debian**: Debian's `ifup -a` / `ifdown -a` in a mount namespace of
//!    their own where bridge-utils' files and ifupdown's own helpers
//!    (`/lib/ifupdown/settle-dad.sh`, which `inet6 static` runs) are laid
//!    over the machine's as read-only overlays, and `/etc/network` is a
//!    directory holding only bridge-utils' hooks (so no hook of the
//!    machine runs);
//! 2. **netconf**: netconfd with an empty hooks directory.
//!
//! What is compared, normalised (no ifindex; MAC addresses only where a
//! document sets one, as the kernel picks the others at random; links
//! sorted): each link's kind, master, up or down, MTU, IPv6 address
//! generation mode, its `autoconf` and `accept_ra` sysctls, a bridge's STP
//! state, forward delay and other timers; every address but link-local
//! ones; the main table's routes of both families but `fe80::/64`,
//! without their protocol. Each case also checks that Debian's run did
//! what the document says (the bridge with its ports, the addresses), so
//! that two empty states cannot agree.
//!
//! Bonds and vlans are not brought up here: this machine's kernel has
//! neither the bonding nor the 8021q module (`ip link add type bond`
//! answers "Unknown device type"), and Debian's side would also need
//! ifenslave and vlan unpacked.
//!
//! Needs root, `unshare` and `mount` (util-linux), `ip` (iproute2),
//! overlayfs. Run: `scripts/fetch-debian-ifupdown &&
//! scripts/fetch-debian-bridge-utils && cargo build --bins && cargo test -p
//! netconf-tests --test netcf_differential`.

use netconf_tests::debian::{
    assert_same, lines, require_bridge_utils, require_ifupdown, snapshot, BridgeUtilsView, Shown,
};
use netconf_tests::{repo_root, Harness, Netns};
use std::fs;

/// What the states show beyond the base: the MACs the corpus documents
/// set (`02:00:5e:10:00:NN`, the only ones shown), each link's `autoconf`
/// and `accept_ra`, each address's broadcast.
const SHOWN: Shown = Shown {
    mac_prefix: Some("02:00:5e:10:"),
    ipv6_sysctls: true,
    peers: false,
    broadcast: true,
};

/// Fails (never skips) when something the comparison needs is missing,
/// saying how to get it.
fn preconditions() {
    require_ifupdown(&["lib/ifupdown/settle-dad.sh"]);
    require_bridge_utils("netcf differential");
}

/// One corpus document brought up.
struct Case {
    /// `ifxml/tests/corpus/NAME.interfaces`.
    name: &'static str,
    /// The veth pairs standing in for the document's ethernets.
    links: &'static [&'static str],
    /// What `ifup` and `ifdown` are given: `-a`, or `-a --allow=hotplug`
    /// for a document whose start mode is hotplug.
    args: &'static [&'static str],
    /// Lines Debian's `ifup -a` state must have (prefixes of them): what
    /// the document says, so that the comparison is not of two failures.
    expect: &'static [&'static str],
}

fn check(case: &Case) {
    preconditions();
    let path = repo_root()
        .join("ifxml/tests/corpus")
        .join(format!("{}.interfaces", case.name));
    let stanzas =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    // Debian's, in a mount namespace that also has ifupdown's own
    // /lib/ifupdown, which inet6 static needs.
    let view = BridgeUtilsView::new(&stanzas).with_ifupdown_lib();
    let setup = |ns: &Netns| {
        for l in case.links {
            ns.veth(l);
        }
    };
    let (deb_up, deb_down) = view.up_down(setup, case.args, &SHOWN, |deb_up| {
        for want in case.expect {
            assert!(
                deb_up.iter().any(|l| l.starts_with(want)),
                "{}: Debian's ifup {:?} left no `{want}...`:\n{}",
                case.name,
                case.args,
                lines(deb_up, "")
            );
        }
    });

    let h = Harness::new();
    setup(&h.ns);
    h.write_interfaces(&stanzas);
    h.ifup(case.args).assert_ok();
    assert_same(
        case.name,
        "ifup",
        "netconf",
        &deb_up,
        &snapshot(&h.ns, &SHOWN),
    );
    h.ifdown(case.args).assert_ok();
    assert_same(
        case.name,
        "ifdown",
        "netconf",
        &deb_down,
        &snapshot(&h.ns, &SHOWN),
    );
}

/// A bridge with two ports, STP off, a forward delay, an MTU below the
/// ports', and an address and gateway of each family.
#[test]
fn bridge_with_ports_and_both_families() {
    check(&Case {
        name: "bridge-static",
        args: &["-a"],
        links: &["eth0", "eth1"],
        expect: &[
            "link br7 kind bridge master - UP mtu 1400",
            "link eth0 kind veth master br7 UP",
            "link eth1 kind veth master br7 UP",
            "addr br7 203.0.113.7/24 brd 203.0.113.255",
            "addr br7 2001:db8:70::7/64",
            "route -4 default via 203.0.113.1 dev br7",
            "route -6 default via 2001:db8:70::1 dev br7",
        ],
    });
}

/// The same with STP on, and a port with a `<mac>`, which is a stanza of
/// its own, `iface eth0 inet manual` with `hwaddress ether ...`. Nothing
/// makes Debian's ifupdown run that stanza: eth0 is in no `auto` line, and
/// bridge-utils' hook only sets the bridge's ports up. netconf brings a
/// bridge's ports up through their stanzas, so eth0 (and with it br0,
/// which takes the lowest MAC of its ports) gets the document's MAC on
/// netconf's side only.
#[test]
fn bridge_with_a_port_mac() {
    check(&Case {
        name: "bridge",
        args: &["-a"],
        links: &["eth0", "eth1"],
        expect: &[
            "link br0 kind bridge master - UP mtu 1500",
            "link eth0 kind veth master br0 UP mtu 1500 addrgenmode none mac 02:00:5e:10:00:02",
            "addr br0 198.51.100.2/24",
            "addr br0 2001:db8:10::2/64",
        ],
    });
}

/// `bridge_ports none`, STP off, no forward delay, an MTU, no address.
#[test]
fn empty_bridge() {
    check(&Case {
        name: "bridge-empty",
        args: &["-a"],
        links: &[],
        expect: &["link br2 kind bridge master - UP mtu 1500"],
    });
}

/// A bridge with a port and no addressing (`inet manual`).
#[test]
fn bridge_without_addressing() {
    check(&Case {
        name: "bridge-no-address",
        args: &["-a"],
        links: &["eth3"],
        expect: &[
            "link br3 kind bridge master - UP",
            "link eth3 kind veth master br3 UP",
        ],
    });
}

/// An ethernet with an MTU and one static address and gateway per family.
#[test]
fn ethernet_static_both_families_with_mtu() {
    check(&Case {
        name: "dual-stack-static-mtu",
        args: &["-a"],
        links: &["eth0"],
        expect: &[
            "link eth0 kind veth master - UP mtu 1400",
            "addr eth0 198.51.100.30/24 brd 198.51.100.255",
            "addr eth0 2001:db8:3::30/64",
            "route -4 default via 198.51.100.1 dev eth0",
            "route -6 default via 2001:db8:3::1 dev eth0",
        ],
    });
}

/// An address without a prefix: Debian's classful default (/24 for
/// 203.0.113.9), and the MTU-less `inet static`.
#[test]
fn ethernet_static_without_prefix() {
    check(&Case {
        name: "ethernet-static-no-prefix",
        args: &["-a"],
        links: &["eth1"],
        expect: &["addr eth1 203.0.113.9/24 brd 203.0.113.255"],
    });
}

/// `<autoconf/>` beside a static IPv6 address: `autoconf 1`, and Debian's
/// static method leaves `accept_ra` alone when autoconf is asked for.
#[test]
fn ipv6_static_with_autoconf() {
    check(&Case {
        name: "ipv6-static-autoconf",
        args: &["-a", "--allow=hotplug"],
        links: &["eth0"],
        expect: &["addr eth0 2001:db8:0:7::1/64"],
    });
}

/// Several addresses of a family are several `address` lines, which the
/// module doc of ifxml's `stanzas` says Debian's ifupdown 0.8 takes. It
/// does not: ifupdown joins repeated options with newlines, so that
/// `inet static` adds only the first IPv4 address, and `inet6 static`
/// runs `ip -6 addr add 2001:db8:1::20/64<newline>2001:db8:2::20 dev eth0`,
/// whose first line fails ("dev" argument is required) and fails `ifup`.
#[test]
fn several_addresses_of_each_family() {
    check(&Case {
        name: "dual-stack-static",
        args: &["-a"],
        links: &["eth0"],
        expect: &[
            "addr eth0 198.51.100.20/24",
            "addr eth0 203.0.113.20/24",
            "addr eth0 2001:db8:1::20/64",
            "addr eth0 2001:db8:2::20/64",
        ],
    });
}
