//! The other dialects' files brought up end to end where only a full
//! kernel can: ifupdown-ng's `use wireguard` between two namespaces (a real
//! key pair from `wg genkey`, a ping through the tunnel), ifupdown2's own
//! `tests/eni` files that make bonds, VLANs, VRFs and dummies
//! (`tests/conformance/ifupdown2/`), and a Proxmox VE host's file (bond,
//! VLAN-aware bridge, management VLAN) with the `ifreload -a` Proxmox's web
//! interface calls after an edit.

use super::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs, require_kernel_makes,
};
use netconf_tests::ifupdown2_eni;
use netconf_tests::links::{bridge_vlans, details, kind, ports_of, set};
use netconf_tests::{
    bins, private_mounts, repo_root, run, sh_quote, DaemonOptions, Harness, Netns, Out,
};
use std::process::{Command, Stdio};

fn harness(dialect: &str) -> Harness {
    Harness::with_options(DaemonOptions {
        extra: vec!["--dialect".into(), dialect.into()],
        ..Default::default()
    })
}

/// `ip netns exec NS PROGRAM ARGS...`.
fn in_ns(ns: &Netns, program: &str, args: &[&str]) -> Out {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name(), program])
        .args(args)
        .current_dir("/");
    run(c)
}

/// netconf's `ifquery --dialect DIALECT ARGS` on the harness's file, in its
/// namespace.
fn ifquery(h: &Harness, dialect: &str, args: &[&str]) -> Out {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&bins().ifquery)
        .args(["--dialect", dialect, "-i"])
        .arg(h.interfaces_path())
        .args(args)
        .current_dir("/");
    run(c)
}

/// A ping from `ns` that is answered (busybox's, which is in CI's
/// packages). One packet: WireGuard holds it until its handshake is done.
fn ping(ns: &Netns, to: &str) {
    in_ns(ns, "busybox", &["ping", "-c", "1", "-W", "30", to]).assert_ok();
}

/// `wg ARGS` with `input` on its standard input: its output, trimmed.
fn wg(args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("wg")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("wg (wireguard-tools) is not installed here: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing to wg");
    let out = child.wait_with_output().expect("wg");
    assert!(out.status.success(), "wg {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A private key and its public key, as `wg genkey | wg pubkey` makes them.
fn key_pair() -> (String, String) {
    let private = wg(&["genkey"], "");
    let public = wg(&["pubkey"], &format!("{private}\n"));
    (private, public)
}

/// A `wg setconf` file: our key and port, one peer at `endpoint` that may
/// send from 198.18.3.0/24.
fn wg_conf(private: &str, peer: &str, endpoint: &str) -> String {
    format!(
        "[Interface]\nPrivateKey = {private}\nListenPort = 51820\n\n[Peer]\nPublicKey = {peer}\n\
         AllowedIPs = 198.18.3.0/24\nEndpoint = {endpoint}:51820\n"
    )
}

fn write_private(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("writing a WireGuard configuration");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// ifupdown-ng's `wireguard` fixture on one end (verbatim: its
/// configuration in the default `/etc/wireguard/wg0.conf`, which the test
/// gives that daemon in a mount namespace of its own), the same with
/// `wireguard-config-path` on the other, a veth pair between them as
/// `eth0`: both `ifup -a`, the keys and port are the files', a ping goes
/// through the tunnel, a second `ifup` writes nothing, `ifdown -a` leaves
/// what was there. A configuration `wg` cannot read fails the `ifup`, and
/// the link it made goes with the rollback.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ng_wireguard_between_two_namespaces() {
    let mut a = harness("ifupdown-ng");
    let b = harness("ifupdown-ng");
    require_kernel_makes(&a.ns, "wireguard", &["type", "wireguard"]);
    let (a_private, a_public) = key_pair();
    let (b_private, b_public) = key_pair();

    let etc = a.path("etc-wireguard");
    std::fs::create_dir(&etc).expect("the configuration directory");
    write_private(
        &etc.join("wg0.conf"),
        &wg_conf(&a_private, &b_public, "203.0.113.1"),
    );
    a.stop_daemon(libc::SIGTERM);
    a.start_daemon_wrapped(&private_mounts(&format!(
        "mount --bind {} /etc/wireguard",
        sh_quote(&etc.to_string_lossy())
    )));
    let fixture = repo_root().join("tests/conformance/ifupdown-ng/wireguard.interfaces");
    a.write_interfaces(&std::fs::read_to_string(fixture).expect("fixture"));

    let b_conf = b.path("peer.conf");
    write_private(&b_conf, &wg_conf(&b_private, &a_public, "203.0.113.2"));
    b.write_interfaces(&format!(
        "iface eth0\n\taddress 203.0.113.1/24\n\nauto wg0\niface wg0\n\tuse wireguard\n\t\
         wireguard-config-path {}\n\taddress 198.18.3.5/24\n\trequires eth0\n",
        b_conf.display()
    ));
    a.ns.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        b.ns.name(),
    ]);
    let (before_a, before_b) = (links_and_addrs(&a.ns), links_and_addrs(&b.ns));

    b.ifup(&["-a"]).assert_ok();
    a.ifup(&["-a"]).assert_ok();
    for (h, addr, public) in [
        (&a, "198.18.3.4/24", &a_public),
        (&b, "198.18.3.5/24", &b_public),
    ] {
        let link = details(&h.ns, "wg0");
        assert_eq!(kind(&link), Some("wireguard"), "{link}");
        assert!(h.ns.is_up("wg0"));
        assert_eq!(h.ns.global_addrs("wg0"), set(&[addr]));
        let shown = in_ns(&h.ns, "wg", &["show", "wg0", "public-key"]);
        assert_eq!(shown.assert_ok().stdout.trim(), public.as_str());
        let port = in_ns(&h.ns, "wg", &["show", "wg0", "listen-port"]);
        assert_eq!(port.assert_ok().stdout.trim(), "51820");
    }
    ping(&a.ns, "198.18.3.5");
    let handshake = in_ns(&a.ns, "wg", &["show", "wg0", "latest-handshakes"]);
    assert!(
        handshake.assert_ok().stdout.contains(b_public.as_str()),
        "{handshake}"
    );

    let running = ifquery(&a, "ifupdown-ng", &["--running", "wg0"]);
    running
        .assert_ok()
        .assert_output_contains("link-type wireguard");
    let check = ifquery(&a, "ifupdown-ng", &["--check", "wg0"]);
    check.assert_ok().assert_output_contains("198.18.3.4/24");

    assert_second_ifup_writes_nothing(&a, &["-a"]);
    a.ifdown(&["-a"]).assert_ok();
    b.ifdown(&["-a"]).assert_ok();
    assert_back_to(&a, &before_a);
    assert_back_to(&b, &before_b);

    // A file `wg` cannot read: the `ifup` fails, naming the command, and
    // the link it made is gone again.
    b.write_interfaces(
        "auto wg0\niface wg0\n\tuse wireguard\n\twireguard-config-path /nonexistent/wg0.conf\n\t\
         address 198.18.3.5/24\n",
    );
    let out = b.ifup(&["wg0"]);
    assert!(!out.success(), "{out}");
    out.assert_output_contains("wg setconf wg0 /nonexistent/wg0.conf");
    assert_back_to(&b, &before_b);
}

/// ifupdown2's `tests/eni` files, as committed: each makes a VRF (`mgmt`,
/// `vrf-table auto`, with `eth0` in it), and bonds or VLAN-aware bridges
/// (which this machine's kernel does not make either).
const IFUPDOWN2_ENI: &[&str] = &[
    "address",
    "bond",
    "bond_lacp",
    "bridge1",
    "bridge2",
    "bridge3",
    "bridge4",
    "bridge5",
    "bridge6_multiple_bridge_ports_lines",
    "bridge_access",
    "bridge_attr_back_to_default",
    "bridge_igmp_version",
    "bridge_l2protocol_tunnel",
];

/// Every file of [`IFUPDOWN2_ENI`], one after the other in a namespace
/// (two namespaces, half the files each; ports `swp_AA_`... as veths): netconfd `--dialect ifupdown2`, `ifup -a
/// --no-wait` (no DHCP server answers `eth0`: its client goes on trying),
/// every option of ifupdown2's expected `ifquery -a -c -o json` judged
/// against the kernel (`netconf_tests::ifupdown2_eni::judge`), netconf's
/// `ifquery -a -c -o json` the same JSON value as that expected output but
/// for the differences on purpose listed with why in
/// `ifupdown2_eni::ON_PURPOSE` (and for the two files ifupdown2's own suite
/// fails on a stock Debian kernel, `ifupdown2_eni::NOT_COMPARED`), a
/// second `ifup -a` writing nothing,
/// `ifdown -a` leaving the namespace as it was. `-o bridge-maxwait=0`:
/// ifupdown2 does not wait for a bridge's ports to forward, netconf waits
/// as bridge-utils does unless told (32 s for `bridge6`'s spanning tree).
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ifupdown2_eni_files_up_again_and_down() {
    const ARGS: &[&str] = &["-a", "--no-wait", "-o", "bridge-maxwait=0"];
    // Two namespaces, each with its netconfd and half the files, side by
    // side: the VM has two processors.
    let (first, second) = IFUPDOWN2_ENI.split_at(IFUPDOWN2_ENI.len() / 2);
    let failures: Vec<String> = std::thread::scope(|s| {
        let halves = [first, second].map(|files| {
            s.spawn(move || {
                let h = harness("ifupdown2");
                require_kernel_makes(&h.ns, "vrf", &["type", "vrf", "table", "1001"]);
                require_kernel_makes(&h.ns, "bond", &["type", "bond"]);
                ifupdown2_eni::round_trips(&h, files, ARGS, &[])
            })
        });
        halves
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A Proxmox VE host's `/etc/network/interfaces` as its installer and web
/// interface write it (ifupdown2's dialect): two ports in an LACP bond, a
/// VLAN-aware bridge over it carrying VLANs 2-4094, the host's own
/// address on the management VLAN 10 of that bridge.
const PROXMOX: &str = "auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

auto bond0
iface bond0 inet manual
\tbond-slaves eno1 eno2
\tbond-miimon 100
\tbond-mode 802.3ad
\tbond-xmit-hash-policy layer2+3

auto vmbr0
iface vmbr0 inet manual
\tbridge-ports bond0
\tbridge-stp off
\tbridge-fd 0
\tbridge-vlan-aware yes
\tbridge-vids 2-4094

auto vmbr0.10
iface vmbr0.10 inet static
\taddress 198.51.100.2/24
\tgateway 198.51.100.1

source /etc/network/interfaces.d/*
";

/// What the web interface adds for a second bridge (no ports yet).
const PROXMOX_VMBR1: &str = "
auto vmbr1
iface vmbr1 inet manual
\tbridge-ports none
\tbridge-stp off
\tbridge-fd 0
";

/// [`PROXMOX`] end to end: the ports `eno1` and `eno2` are veths whose
/// other ends form an LACP bond in a second namespace (the switch), with
/// VLAN 10 on it and the gateway's address. `ifup -a`: the bond, the
/// VLAN-aware bridge over it with VLANs 2-4094, `vmbr0.10` with its
/// address and default route; a ping from the switch's side over VLAN 10;
/// a second `ifup -a` writes nothing. Then the edit the web interface
/// makes (a `vmbr1`) and the `ifreload -a` it calls: `vmbr1` appears and
/// nothing else changes. `ifdown -a` leaves what was there before.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn proxmox_host_bond_vlan_aware_bridge_and_management_vlan() {
    let h = harness("ifupdown2");
    require_kernel_makes(&h.ns, "bond", &["type", "bond"]);
    ifupdown2_eni::no_dad(&h.ns);
    let switch = Netns::new();
    for port in ["eno1", "eno2"] {
        h.ns.ip(&[
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{port}p"),
            "netns",
            switch.name(),
        ]);
    }
    switch.batch(
        "link add sw type bond mode 802.3ad lacp_rate fast miimon 100\n\
         link set eno1p master sw\nlink set eno2p master sw\nlink set sw up\n\
         link add link sw name sw.10 type vlan id 10\n\
         addr add 198.51.100.1/24 dev sw.10\nlink set sw.10 up\n",
    );
    h.write_interfaces(PROXMOX);
    let before = links_and_addrs(&h.ns);

    h.ifup(&["-a"]).assert_ok();
    let bond = details(&h.ns, "bond0");
    assert_eq!(kind(&bond), Some("bond"), "{bond}");
    let data = &bond["linkinfo"]["info_data"];
    assert_eq!(data["mode"], "802.3ad", "{bond}");
    assert_eq!(data["miimon"], 100, "{bond}");
    assert_eq!(data["xmit_hash_policy"], "layer2+3", "{bond}");
    assert_eq!(ports_of(&h.ns, "bond0"), set(&["eno1", "eno2"]));
    let vmbr0 = details(&h.ns, "vmbr0");
    let data = &vmbr0["linkinfo"]["info_data"];
    assert_eq!(kind(&vmbr0), Some("bridge"), "{vmbr0}");
    assert_eq!(
        (&data["vlan_filtering"], &data["stp_state"]),
        (&1.into(), &0.into())
    );
    assert_eq!(ports_of(&h.ns, "vmbr0"), set(&["bond0"]));
    let vlans = bridge_vlans(&h.ns);
    let on_bond = &vlans["bond0"];
    assert_eq!(on_bond.len(), 4094, "bond0: VLAN 1 and 2-4094");
    assert!(on_bond.contains("1 pvid untagged") && on_bond.contains("4094"));
    assert!(
        vlans["vmbr0"].contains("10"),
        "the bridge itself in VLAN 10: {:?}",
        vlans["vmbr0"]
    );
    let mgmt = details(&h.ns, "vmbr0.10");
    assert_eq!(
        (kind(&mgmt), &mgmt["link"]),
        (Some("vlan"), &"vmbr0".into())
    );
    assert_eq!(h.ns.global_addrs("vmbr0.10"), set(&["198.51.100.2/24"]));
    let default = h.ns.default_routes("-4");
    assert!(
        default
            .iter()
            .any(|r| r["gateway"] == "198.51.100.1" && r["dev"] == "vmbr0.10"),
        "{default:?}"
    );
    // Until LACP has both sides distributing.
    let answered = netconf_tests::eventually(30, || {
        in_ns(
            &switch,
            "busybox",
            &["ping", "-c", "1", "-W", "1", "198.51.100.2"],
        )
        .success()
    });
    assert!(answered, "no answer from the host over VLAN 10");

    h.ns.settle();
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.ifup(&["-a"]).assert_ok();
    let mut events = monitor.fence(&h.ns);
    events.retain(|e| !e.contains("event NOTIFY PEERS"));
    assert!(
        events.is_empty(),
        "the second ifup -a changed:\n{}",
        events.join("\n")
    );

    h.write_interfaces(&format!("{PROXMOX}{PROXMOX_VMBR1}"));
    let reload = run(h.client(&bins().ifreload, &["-a"]));
    reload.assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(!events.is_empty(), "ifreload -a made no vmbr1");
    let others: Vec<&String> = events.iter().filter(|e| !e.contains("vmbr1")).collect();
    assert!(
        others.is_empty(),
        "ifreload -a changed more than vmbr1:\n{others:?}"
    );
    assert_eq!(kind(&details(&h.ns, "vmbr1")), Some("bridge"));
    in_ns(
        &switch,
        "busybox",
        &["ping", "-c", "1", "-W", "5", "198.51.100.2"],
    )
    .assert_ok();

    // The management VLAN alone goes, and its VLAN off the bridge with it.
    h.ifdown(&["vmbr0.10"]).assert_ok();
    assert!(!bridge_vlans(&h.ns)["vmbr0"].contains("10"));
    h.ifdown(&["-a"]).assert_ok();
    assert_back_to(&h, &before);
}
