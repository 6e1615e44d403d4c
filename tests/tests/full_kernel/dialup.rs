//! Methods that run a program of Debian's: `inet ppp`, `inet wvdial`,
//! `inet bootp`, `inet ipv4ll`.
//!
//! `inet ppp`: two pppd joined over a pty pair, the client started by
//! netconfd's `pon PROVIDER` in the test's namespace, the server run by the
//! client's `pty` option inside `ip netns exec` of a namespace of its own
//! (`noauth`, 198.51.100.1 and .2). The provider file is written into
//! `/etc/ppp/peers`, which the VM's throwaway `/etc` overlay allows.
//! `inet ipv4ll` and `inet bootp` need no more than a veth: they are
//! tested on the host, in `tests/program_methods.rs`. `inet wvdial` is
//! covered by the unit tests of its command lines only (no modem to dial
//! here; docs/TESTING.md).

use super::{assert_back_to, links_and_addrs};
use netconf_tests::{bins, processes_mentioning, run, DaemonOptions, Harness, Netns};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Polls `done` until it holds, at most `secs` seconds (a safety net for
/// things that end asynchronously, such as a process's exit; no timing is
/// asserted).
fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The origins `netconfctl status --json` gives the IPv4 addresses of `iface`.
fn address_origins(h: &Harness, iface: &str) -> Vec<(String, String)> {
    let mut c = std::process::Command::new(&bins().netconfctl);
    c.arg("--socket").arg(h.socket()).args(["status", "--json"]);
    let out = run(c);
    out.assert_ok();
    let status: Value = serde_json::from_str(&out.stdout).expect("status --json is JSON");
    let ifaces = status["interfaces"].as_array().cloned().unwrap_or_default();
    let entry = ifaces
        .iter()
        .find(|i| i["name"] == iface)
        .unwrap_or_else(|| panic!("{iface} not in status:\n{out}"));
    entry["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["family"] == "inet")
        .map(|a| {
            (
                a["address"].as_str().unwrap_or("").to_string(),
                a["origin"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// `/etc/ppp/peers/NAME` with `options`; removed when dropped.
struct Peer(String);

impl Peer {
    fn new(name: &str, options: &str) -> Peer {
        if !Path::new("/dev/ppp").exists() {
            // Loaded on demand: the node appears with the module.
            let _ = std::process::Command::new("modprobe")
                .arg("ppp_generic")
                .status();
        }
        let _ = std::process::Command::new("modprobe")
            .arg("ppp_async")
            .status();
        assert!(
            Path::new("/dev/ppp").exists(),
            "no /dev/ppp: this kernel has no ppp_generic (run this suite in the VM, scripts/vm-run)"
        );
        let path = format!("/etc/ppp/peers/{name}");
        std::fs::write(&path, options)
            .expect("writing the provider file (a writable /etc: the VM)");
        Peer(path)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The client side: what the provider file asks of pon's pppd.
const CLIENT: &str = "noauth\nlocal\nnolock\nnocrtscts\nnoipv6\nnodefaultroute\n\
                      lcp-echo-interval 0\n198.51.100.2:198.51.100.1\n";

fn pppds(h: &Harness, provider: &str) -> Vec<u32> {
    processes_mentioning(&h.ns, provider, Some("pppd"))
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ppp_link_from_pon_and_gone_with_poff() {
    let server = Netns::new();
    let mut h = Harness::new();
    let provider = format!("nct{}", std::process::id());
    let _peer = Peer::new(
        &provider,
        &format!(
            "{CLIENT}pty \"ip netns exec {} /usr/sbin/pppd notty nodetach noauth local \
             noipv6 lcp-echo-interval 0 198.51.100.1:198.51.100.2\"\n",
            server.name()
        ),
    );
    h.write_interfaces(&format!("iface ppp0 inet ppp\n    provider {provider}\n"));
    let before = links_and_addrs(&h.ns);

    let out = h.ifup(&["ppp0"]);
    out.assert_ok();
    let addrs = h.ns.ip(&["-4", "-o", "addr", "show", "dev", "ppp0"]);
    assert!(
        addrs.contains("198.51.100.2 peer 198.51.100.1/32"),
        "ppp0 after ifup:\n{addrs}\n{out}"
    );
    assert!(h.ns.is_up("ppp0"));
    assert_eq!(pppds(&h, &provider).len(), 1, "pon's pppd runs");
    assert_eq!(h.state(), vec!["ppp0=ppp0".to_string()]);
    // pppd's address is the stanza's: netconf's in status, not someone else's.
    let origins = address_origins(&h, "ppp0");
    assert!(
        !origins.is_empty() && origins.iter().all(|(_, o)| o == "netconf"),
        "{origins:?}"
    );

    // (Not `assert_second_ifup_writes_nothing`: its settling waits for an
    // IPv6 link-local address, which a ppp link without IPV6CP never has.)
    let mut monitor = h.ns.monitor();
    monitor.fence(&h.ns);
    h.ifup(&["ppp0"]).assert_ok();
    let events = monitor.fence(&h.ns);
    assert!(
        events.is_empty(),
        "the second ifup changed the kernel:\n{}",
        events.join("\n")
    );

    // A netconfd started again knows the link as the stanza's, and its
    // ifdown stops the pppd the first one started (poff finds it by
    // provider).
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon();
    let origins = address_origins(&h, "ppp0");
    assert!(
        !origins.is_empty() && origins.iter().all(|(_, o)| o == "netconf"),
        "after a restart: {origins:?}"
    );

    h.ifdown(&["ppp0"]).assert_ok();
    assert!(
        eventually(10, || pppds(&h, &provider).is_empty()),
        "pppd still runs after ifdown"
    );
    assert!(h
        .ns
        .try_ip(&["link", "show", "dev", "ppp0"])
        .stdout
        .is_empty());
    assert_back_to(&h, &before);
    assert!(
        eventually(10, || server
            .try_ip(&["link", "show", "dev", "ppp0"])
            .stdout
            .is_empty()),
        "the server's pppd is left"
    );
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ppp_that_never_connects_times_out_leaving_nothing() {
    let h = Harness::with_options(DaemonOptions {
        extra: vec!["--program-timeout".into(), "3".into()],
        ..DaemonOptions::default()
    });
    let provider = format!("nctdead{}", std::process::id());
    let _peer = Peer::new(&provider, &format!("{CLIENT}pty \"sleep 20\"\n"));
    h.write_interfaces(&format!("iface ppp0 inet ppp\n    provider {provider}\n"));
    let before = links_and_addrs(&h.ns);

    let out = h.ifup(&["ppp0"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains("ppp0: no link ppp0 with an IPv4 address within 3 s"),
        "{out}"
    );
    assert!(
        eventually(10, || pppds(&h, &provider).is_empty()),
        "pppd still runs after the failed ifup"
    );
    assert!(eventually(10, || links_and_addrs(&h.ns) == before));
    assert!(h.state().is_empty());
}
