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
use netconf_tests::links::{details, kind, set};
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
