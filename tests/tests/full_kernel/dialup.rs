//! Methods that run a program of Debian's: `inet ppp`, `inet wvdial`,
//! `inet bootp`, `inet ipv4ll`.
//!
//! `inet ppp`: two pppd joined over a pty pair, the client started by
//! netconfd's `pon PROVIDER` in the test's namespace, the server run by the
//! client's `pty` option inside `ip netns exec` of a namespace of its own
//! (`noauth`, 198.51.100.1 and .2). The provider file is written into
//! `/etc/ppp/peers`, which the VM's throwaway `/etc` overlay allows.
//! Debian's ifupdown 0.8.41 brings the same stanza up and down first, in a
//! namespace of its own: the same pppd command line, the same kernel state
//! after each.
//! `inet ipv4ll` and `inet bootp` need no more than a veth: they are
//! tested on the host, in `tests/program_methods.rs`. `inet wvdial`: started
//! and stopped with Debian's commands against a modem that never answers
//! (dialing through to a pppd is not tested; docs/TESTING.md).

use super::{assert_back_to, links_and_addrs};
use netconf_tests::debian::{assert_same, ifupdown_command, require_ifupdown, snapshot, Shown};
use netconf_tests::eventually;
use netconf_tests::round_trip::address_origins;
use netconf_tests::{
    bins, process_cmdline, processes_mentioning, run, DaemonOptions, Harness, Netns,
};
use std::collections::BTreeSet;
use std::path::Path;

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

/// What Debian's ifupdown 0.8.41 did with the test's file in a namespace
/// of its own: the kernel state after `ifup ppp0` (once pppd's link has its
/// address: Debian's ifup returns as soon as pon has started pppd) and
/// after `ifdown ppp0` (once pppd is gone), and the pppd pon started.
struct Debian {
    up: BTreeSet<String>,
    down: BTreeSet<String>,
    pppd: String,
}

impl Debian {
    fn up(h: &Harness, provider: &str) -> Debian {
        require_ifupdown(&[]);
        let ns = Netns::new();
        let dir = tempfile::tempdir().expect("a directory for Debian's side");
        std::fs::copy(h.interfaces_path(), dir.path().join("interfaces")).expect("the file");
        std::fs::create_dir(dir.path().join("state")).expect("its state directory");
        let ifupdown = |program: &str| {
            let mut wrapper = std::process::Command::new("ip");
            wrapper.args(["netns", "exec", ns.name()]);
            // No /etc/network/if-*.d here: Debian's run-parts would fail.
            let out = run(ifupdown_command(
                wrapper,
                program,
                &["--no-scripts", "ppp0"],
                dir.path(),
            ));
            assert!(out.success(), "Debian's {program} ppp0:\n{out}");
        };
        let pppds = || processes_mentioning(&ns, provider, Some("pppd"));
        ifupdown("ifup");
        // Up, with its address and the kernel's route to the peer.
        assert!(
            eventually(60, || ns
                .try_ip(&["-4", "route", "show", "dev", "ppp0"])
                .stdout
                .contains("198.51.100.1 ")),
            "Debian's pon made no ppp0 with an address"
        );
        let up = snapshot(&ns, &Shown::BASE);
        let found = pppds();
        assert_eq!(found.len(), 1, "Debian's pon started one pppd");
        let pppd = process_cmdline(found[0]);
        ifupdown("ifdown");
        assert!(
            eventually(30, || pppds().is_empty()
                && ns
                    .try_ip(&["link", "show", "dev", "ppp0"])
                    .stdout
                    .is_empty()),
            "Debian's poff left pppd or its link"
        );
        Debian {
            up,
            down: snapshot(&ns, &Shown::BASE),
            pppd,
        }
    }
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ppp_link_from_pon_and_gone_with_poff_as_debian() {
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

    // Debian's ifupdown first, in a namespace of its own, on the same file
    // (one at a time: poff stops every `pppd call PROVIDER` of the machine).
    let debian = Debian::up(&h, &provider);

    let out = h.ifup(&["ppp0"]);
    out.assert_ok();
    eventually(10, || snapshot(&h.ns, &Shown::BASE) == debian.up);
    assert_same(
        "inet ppp",
        "ifup",
        "netconf",
        &debian.up,
        &snapshot(&h.ns, &Shown::BASE),
    );
    assert_eq!(
        pppds(&h, &provider)
            .into_iter()
            .map(process_cmdline)
            .collect::<Vec<_>>(),
        vec![debian.pppd.clone()],
        "the pppd Debian's pon started, and netconf's"
    );
    let addrs = h.ns.ip(&["-4", "-o", "addr", "show", "dev", "ppp0"]);
    assert!(
        addrs.contains("198.51.100.2 peer 198.51.100.1/32"),
        "ppp0 after ifup:\n{addrs}\n{out}"
    );
    assert!(h.ns.is_up("ppp0"));
    assert_eq!(pppds(&h, &provider).len(), 1, "pon's pppd runs");
    assert_eq!(h.state(), vec!["ppp0=ppp0".to_string()]);
    // ifquery reads the kernel: a ppp link is an `inet ppp` stanza, and
    // the stanza passes its check.
    let ifquery = |args: &[&str]| {
        let mut c = std::process::Command::new("ip");
        c.args(["netns", "exec", h.ns.name()])
            .arg(&bins().ifquery)
            .arg("-i")
            .arg(h.interfaces_path())
            .args(args);
        run(c)
    };
    let running = ifquery(&["--running", "ppp0"]);
    assert_eq!(running.stdout, "iface ppp0 inet ppp\n\n", "{running}");
    ifquery(&["--check", "ppp0"]).assert_ok();
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
    // (Without the marker links of the second ifup's `ip monitor` fence.)
    let mut after = snapshot(&h.ns, &Shown::BASE);
    after.retain(|l| !l.contains("nctmk"));
    assert_same("inet ppp", "ifdown", "netconf", &debian.down, &after);
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
fn dialups_that_never_connect_are_stopped_again() {
    let h = Harness::with_options(DaemonOptions {
        extra: vec!["--program-timeout".into(), "3".into()],
        ..DaemonOptions::default()
    });
    let provider = format!("nctdead{}", std::process::id());
    // A peer that never answers, and goes with pppd.
    let _peer = Peer::new(&provider, &format!("{CLIENT}pty \"exec sleep 4\"\n"));
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

    // The same daemon, the same link name: wvdial.
    wvdial_that_cannot_dial_is_stopped_again(&h);
}

/// A pty pair: the master held by the test (nobody answers on it), the
/// slave's path for a program to open as its modem.
fn silent_modem() -> (std::os::fd::OwnedFd, String) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r
    // writes at most buf.len() bytes into the local buffer.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = std::os::fd::OwnedFd::from_raw_fd(fd);
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0);
        let path = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        (master, path)
    }
}

/// `inet wvdial` with a modem that never answers: Debian's start command
/// starts wvdial under start-stop-daemon with its pid file, `ifup` fails
/// when no link comes, naming the interface, and its rollback's stop
/// command leaves no wvdial running. (Dialing through to a pppd would need
/// a modem that answers AT commands: not done, docs/TESTING.md.)
fn wvdial_that_cannot_dial_is_stopped_again(h: &Harness) {
    let (_master, modem) = silent_modem();
    let dialer = format!("nctwv{}", std::process::id());
    let conf = "/etc/wvdial.conf";
    let saved = std::fs::read(conf).ok();
    std::fs::write(
        conf,
        format!(
            "[Dialer {dialer}]\nModem = {modem}\nBaud = 115200\nInit1 = ATZ\nPhone = 1\n\
             Username = x\nPassword = x\nStupid Mode = 1\n"
        ),
    )
    .expect("writing /etc/wvdial.conf (a writable /etc: the VM)");
    h.write_interfaces(&format!("iface ppp0 inet wvdial\n    provider {dialer}\n"));
    let before = links_and_addrs(&h.ns);
    let wvdials = || processes_mentioning(&h.ns, &dialer, Some("wvdial"));

    let out = h.ifup(&["ppp0"]);
    if let Some(saved) = saved {
        let _ = std::fs::write(conf, saved);
    }
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains("ppp0: no link ppp0 with an IPv4 address within 3 s"),
        "{out}"
    );
    let pid: u32 = std::fs::read_to_string("/run/wvdial.ppp0.pid")
        .expect("start-stop-daemon's pid file")
        .trim()
        .parse()
        .expect("a pid");
    assert!(
        eventually(10, || wvdials().is_empty()),
        "wvdial still runs after the failed ifup"
    );
    assert!(
        !netconf_tests::process_alive(pid) || !process_cmdline(pid).contains("wvdial"),
        "the wvdial of the pid file runs"
    );
    assert!(eventually(10, || links_and_addrs(&h.ns) == before));
    assert!(h.state().is_empty());
}
