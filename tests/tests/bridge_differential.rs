//! Bridges: the kernel state netconf leaves after `ifup -a` and after
//! `ifdown -a`, compared with what Debian's ifupdown 0.8.41 running
//! bridge-utils 1.7.1's hook scripts leaves for the same file.
//!
//! Each case is one interfaces file and the links it finds (veth pairs
//! whose peers are up, so that ports have a carrier and bridge-utils does
//! not wait out its `bridge_maxwait`), run three times, each in a network
//! namespace of its own with the same links:
//!
//! 1. **Debian**: `ifup -a` / `ifdown -a` of Debian's ifupdown (unpacked by
//!    `scripts/fetch-debian-ifupdown`), each run in a mount namespace of its
//!    own (`unshare --mount`) where bridge-utils' files (unpacked by
//!    `scripts/fetch-debian-bridge-utils`) are where its scripts expect
//!    them: `/sbin/brctl` and `/lib/bridge-utils/*` laid over the machine's
//!    as read-only overlays, `/etc/default/bridge-utils` likewise, and
//!    `/etc/network` a bind mount of a directory holding nothing but the
//!    package's `if-pre-up.d/bridge`, `if-down.d/bridge` and
//!    `if-post-down.d/bridge` (so no hook of the machine runs);
//! 2. **netconf**: netconfd with an empty hooks directory, so that it makes
//!    the bridges itself;
//! 3. **netconf + bridge-utils**: netconfd in such a mount namespace, its
//!    hooks directory holding bridge-utils' scripts: netconf must leave
//!    the bridges to them (and say so) and still come to the same state.
//!
//! What is compared, normalised (no ifindex, MAC or link-local address;
//! links sorted by name): each link's kind, master, whether it is up, MTU,
//! IPv6 address generation mode, and a bridge's STP state, forward delay,
//! hello time, max age, ageing time and priority; every address but
//! link-local ones; the main table's routes of both families but the
//! `fe80::/64` ones, without their protocol (ifupdown's are `boot`,
//! netconf's `93`). Each case also checks that Debian's run really made its
//! bridges with their ports, so that two empty states cannot agree.
//!
//! Needs root, `unshare` and `mount` (util-linux, mount), `ip` (iproute2),
//! and overlayfs. Run: `scripts/fetch-debian-ifupdown &&
//! scripts/fetch-debian-bridge-utils && cargo build --bins && cargo test -p
//! netconf-tests --test bridge_differential`.

use netconf_tests::debian::{
    assert_same, install_bridge_utils_hooks, lines, require_bridge_utils, require_ifupdown,
    snapshot, BridgeUtilsView, Shown,
};
use netconf_tests::Harness;

/// What the states show beyond the base: each veth's peer.
const SHOWN: Shown = Shown {
    peers: true,
    ..Shown::BASE
};

/// Fails (never skips) when something the comparison needs is missing,
/// saying how to get it.
fn preconditions() {
    require_ifupdown(&[]);
    require_bridge_utils("bridge differential");
}

/// One configuration: the file, and the links it expects (`ip -batch`).
struct Case {
    interfaces: &'static str,
    setup: &'static str,
    /// What Debian's `ifup -a` must have made: bridges and their ports.
    bridges: &'static [(&'static str, &'static [&'static str])],
}

/// A veth pair `NAME` / `xNAME`, the peer up (a carrier for `NAME`).
macro_rules! pairs {
    ($($name:literal),*) => {
        concat!($("link add ", $name, " type veth peer name x", $name, "\nlink set x", $name, " up\n"),*)
    };
}

fn check_case(name: &str, case: &Case) {
    preconditions();
    let view = BridgeUtilsView::new(case.interfaces);

    // 1. Debian with bridge-utils.
    let setup = |ns: &netconf_tests::Netns| ns.batch(case.setup);
    let (deb_up, deb_down) = view.up_down(setup, &["-a"], &SHOWN, |deb_up| {
        for (bridge, ports) in case.bridges {
            assert!(
                deb_up
                    .iter()
                    .any(|l| l.starts_with(&format!("link {bridge} kind bridge "))),
                "{name}: Debian's ifup -a made no bridge {bridge}: is bridge-utils' hook \
                 running?\n{}",
                lines(deb_up, "")
            );
            for port in *ports {
                assert!(
                    deb_up.iter().any(
                        |l| l.starts_with(&format!("link {port} kind veth master {bridge} UP"))
                    ),
                    "{name}: Debian's ifup -a did not make {port} an up port of {bridge}:\n{}",
                    lines(deb_up, "")
                );
            }
        }
    });

    // 2. netconf, making the bridges itself.
    let h = Harness::new();
    h.ns.batch(case.setup);
    h.write_interfaces(case.interfaces);
    h.ifup(&["-a"]).assert_ok();
    assert_same(
        name,
        "ifup -a",
        "netconf",
        &deb_up,
        &snapshot(&h.ns, &SHOWN),
    );
    h.ifdown(&["-a"]).assert_ok();
    assert_same(
        name,
        "ifdown -a",
        "netconf",
        &deb_down,
        &snapshot(&h.ns, &SHOWN),
    );

    // 3. netconf with bridge-utils' hooks installed: they make the bridges.
    let mut h = Harness::new();
    install_bridge_utils_hooks(&h.path("hooks"));
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon_wrapped(&view.wrapper());
    h.ns.batch(case.setup);
    h.write_interfaces(case.interfaces);
    let out = h.ifup(&["-v", "-a"]);
    out.assert_ok();
    for (bridge, _) in case.bridges {
        out.assert_output_contains(&format!(
            "{bridge}: link left to bridge-utils's hook script"
        ));
    }
    assert!(
        !out.all_output().contains("create bridge"),
        "{name}: netconf made a bridge although bridge-utils' hook is installed:\n{out}"
    );
    let who = "netconf + bridge-utils";
    assert_same(name, "ifup -a", who, &deb_up, &snapshot(&h.ns, &SHOWN));
    h.ifdown(&["-a"]).assert_ok();
    assert_same(name, "ifdown -a", who, &deb_down, &snapshot(&h.ns, &SHOWN));
}

#[test]
fn dual_stack_bridge_with_gateways_in_debian_spelling() {
    check_case(
        "debian-spelling",
        &Case {
            interfaces: "\
auto br0
iface br0 inet static
    address 198.51.100.1/24
    gateway 198.51.100.254
    bridge_ports p0 p1
    bridge_stp off
    bridge_fd 0

iface br0 inet6 static
    address 2001:db8:1::1/64
    gateway 2001:db8:1::ff
    dad-attempts 0
",
            setup: pairs!("p0", "p1"),
            bridges: &[("br0", &["p0", "p1"])],
        },
    );
}

#[test]
fn bridge_in_ifupdown2_spelling_with_a_port_stanza() {
    check_case(
        "ifupdown2-spelling",
        &Case {
            interfaces: "\
auto p0 br0
iface p0 inet manual

iface br0 inet manual
    bridge-ports p0 p1
    bridge-stp off
    bridge-fd 0
",
            setup: pairs!("p0", "p1"),
            bridges: &[("br0", &["p0", "p1"])],
        },
    );
}

#[test]
fn bridge_of_all_ports_with_stp_timers_and_mtu() {
    // `all`: eth0, en1 and p7 match bridge-utils' patterns, wan0 and the
    // peers (x...) do not.
    check_case(
        "all-stp-mtu",
        &Case {
            interfaces: "\
auto br1
iface br1 inet static
    address 203.0.113.1/24
    mtu 1400
    bridge_ports all
    bridge_stp on
    bridge_fd 2
    bridge_hello 1
    bridge_maxage 6
    bridge_ageing 100
    bridge_bridgeprio 4096
    bridge_maxwait 0
",
            setup: pairs!("eth0", "en1", "p7", "wan0"),
            bridges: &[("br1", &["eth0", "en1", "p7"])],
        },
    );
}

#[test]
fn bridges_by_regex_and_without_ports() {
    check_case(
        "regex-none",
        &Case {
            interfaces: "\
auto br3 br4
iface br3 inet static
    address 198.51.100.3/24
    bridge_ports none
    bridge_fd 0

iface br4 inet manual
    bridge_ports regex tap[0-9]+ noregex q1
    bridge_fd 0.5
",
            setup: pairs!("tap1", "tap22", "tapx", "q1"),
            bridges: &[("br3", &[]), ("br4", &["tap1", "tap22", "q1"])],
        },
    );
}
