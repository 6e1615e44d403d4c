//! The methods that run a program of Debian's and need no more than a veth
//! (`inet ipv4ll`: avahi-autoipd; `inet bootp`: bootpc against dnsmasq
//! with `--bootp-dynamic` in a second namespace), end to end through
//! netconfd in a namespace of the test's own: `ifup`, the kernel's view,
//! `status`, a second `ifup` writing nothing, `ifdown` giving back what was
//! there. `inet ppp` needs ppp_generic: `tests/full_kernel/dialup.rs`, in
//! the VM. `inet ipv4ll` also against Debian's ifupdown 0.8.41
//! (`scripts/fetch-debian-ifupdown`). Needs root, avahi-autoipd, bootpc and
//! dnsmasq.

use netconf_tests::debian::{assert_same, ifupdown_command, require_ifupdown, snapshot, Shown};
use netconf_tests::eventually;
use netconf_tests::round_trip::{
    address_origins, assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs,
};
use netconf_tests::{
    bins, kill_processes_mentioning, processes_mentioning, run, DhcpServer, Harness, Netns,
};
use std::collections::BTreeSet;

/// On the way out, even a failing one: the avahi-autoipd of `IFACE` in the
/// namespace killed, by PID (it would outlive the namespace).
struct Autoipd<'a>(&'a Netns, &'static str);

impl Drop for Autoipd<'_> {
    fn drop(&mut self) {
        kill_processes_mentioning(self.0, &format!("avahi-autoipd: [{}]", self.1));
    }
}

#[test]
fn ipv4ll_address_from_avahi_autoipd() {
    let h = Harness::new();
    let _stop = Autoipd(&h.ns, "nctll0");
    h.ns.veth("nctll0");
    h.write_interfaces("iface nctll0 inet ipv4ll\n");
    let before = links_and_addrs(&h.ns);
    let link_local = || {
        h.ns.ip(&["-4", "-o", "addr", "show", "dev", "nctll0"])
            .lines()
            .any(|l| l.contains("inet 169.254."))
    };

    let out = h.ifup(&["nctll0"]);
    out.assert_ok();
    assert!(link_local(), "no 169.254.0.0/16 address after ifup:\n{out}");
    // It names itself `avahi-autoipd: [IFACE] STATE`.
    let autoipd = || processes_mentioning(&h.ns, "avahi-autoipd: [nctll0]", None);
    assert!(!autoipd().is_empty(), "avahi-autoipd runs");
    let origins = address_origins(&h, "nctll0");
    assert!(
        !origins.is_empty() && origins.iter().all(|(_, o)| o == "netconf"),
        "{origins:?}"
    );

    // ifquery reads the kernel: avahi-autoipd's address is an ipv4ll stanza.
    let mut c = std::process::Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&bins().ifquery)
        .arg("-i")
        .arg(h.interfaces_path())
        .args(["--running", "nctll0"]);
    let running = run(c);
    running.assert_ok();
    assert_eq!(running.stdout, "iface nctll0 inet ipv4ll\n\n", "{running}");

    assert_second_ifup_writes_nothing(&h, &["nctll0"]);

    h.ifdown(&["nctll0"]).assert_ok();
    assert!(!link_local(), "the link-local address is left after ifdown");
    assert!(
        eventually(10, || autoipd().is_empty()),
        "avahi-autoipd still runs after ifdown"
    );
    assert_back_to(&h, &before);

    // Its stanza gone from the file by the time of the ifdown: the stanza
    // it came up with stops avahi-autoipd all the same.
    h.ifup(&["nctll0"]).assert_ok();
    assert!(!autoipd().is_empty());
    h.write_interfaces("");
    h.ifdown(&["nctll0"]).assert_ok();
    assert!(
        eventually(10, || autoipd().is_empty() && !link_local()),
        "avahi-autoipd or its address left by an ifdown without the stanza"
    );
}

#[test]
fn bootp_answer_from_dnsmasq_applied() {
    let server = Netns::new();
    let h = Harness::new();
    h.ns.veth("nctbp0");
    h.ns.ip(&["link", "set", "nctbp0p", "netns", server.name()]);
    server.batch("addr add 198.51.100.1/24 dev nctbp0p\nlink set nctbp0p up\n");
    let _dnsmasq = DhcpServer::start(
        &server,
        "nctbp0p",
        h.dir(),
        "bootp",
        &[
            "--dhcp-range=198.51.100.10,198.51.100.20,255.255.255.0",
            "--bootp-dynamic",
        ],
    );
    h.write_interfaces("iface nctbp0 inet bootp\n");
    let before = links_and_addrs(&h.ns);

    let out = h.ifup(&["nctbp0"]);
    out.assert_ok();
    let addrs = h.ns.ip(&["-4", "-o", "addr", "show", "dev", "nctbp0"]);
    assert!(
        addrs.contains("inet 198.51.100.") && addrs.contains("/24 brd 198.51.100.255"),
        "nctbp0 after ifup:\n{addrs}\n{out}"
    );
    let routes = h.ns.ip(&["-4", "route", "show"]);
    assert!(
        routes.contains("default via 198.51.100.1 dev nctbp0"),
        "{routes}"
    );
    assert!(
        !routes.contains("255.255.255.255"),
        "bootpc's route is left:\n{routes}"
    );

    assert_second_ifup_writes_nothing(&h, &["nctbp0"]);

    h.ifdown(&["nctbp0"]).assert_ok();
    assert_back_to(&h, &before);
    assert!(
        !h.ns.is_up("nctbp0"),
        "Debian's bootp down sets the link down"
    );
}

/// The namespace's state, with the link-local address avahi-autoipd picked
/// at random written as `169.254.x.y`.
fn normalised(ns: &Netns) -> BTreeSet<String> {
    snapshot(ns, &Shown::BASE)
        .into_iter()
        .map(|l| {
            l.split(' ')
                .map(|w| {
                    if w.starts_with("169.254.") && !w.starts_with("169.254.0.0") {
                        match w.split_once('/') {
                            Some((_, len)) => format!("169.254.x.y/{len}"),
                            None => "169.254.x.y".to_string(),
                        }
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// `inet ipv4ll` with Debian's ifupdown 0.8.41 (`--no-scripts`) and with
/// netconf, one after the other (avahi-autoipd's pid file is per interface
/// name, for the whole machine), on a link that is up already (Debian's
/// method does not set it up): the same avahi-autoipd, the same kernel
/// state after `ifup` (but for the address it picks at random) and after
/// `ifdown`.
#[test]
fn ipv4ll_as_debian() {
    require_ifupdown(&[]);
    let file = "iface nctdl0 inet ipv4ll\n";
    let autoipd = |ns: &Netns| processes_mentioning(ns, "avahi-autoipd: [nctdl0]", None);
    let claimed = |ns: &Netns| {
        ns.try_ip(&["-4", "route", "show", "dev", "nctdl0"])
            .stdout
            .contains("default")
    };

    let debian = Netns::new();
    let _stop = Autoipd(&debian, "nctdl0");
    debian.veth("nctdl0");
    debian.ip(&["link", "set", "nctdl0", "up"]);
    let dir = tempfile::tempdir().expect("a directory for Debian's side");
    std::fs::write(dir.path().join("interfaces"), file).expect("the file");
    std::fs::create_dir(dir.path().join("state")).expect("its state directory");
    let ifupdown = |program: &str| {
        let mut wrapper = std::process::Command::new("ip");
        wrapper.args(["netns", "exec", debian.name()]);
        let out = run(ifupdown_command(
            wrapper,
            program,
            &["--no-scripts", "nctdl0"],
            dir.path(),
        ));
        assert!(out.success(), "Debian's {program} nctdl0:\n{out}");
    };
    let debian_before = normalised(&debian);
    ifupdown("ifup");
    // Debian's ifup returns once avahi-autoipd runs; its address (and
    // route, added after it) come a few seconds later.
    assert!(
        eventually(30, || claimed(&debian)),
        "Debian's avahi-autoipd claimed nothing"
    );
    let debian_up = normalised(&debian);
    // (It and its root helper, the callout dispatcher.)
    let processes = autoipd(&debian).len();
    assert!(processes > 0, "Debian's avahi-autoipd runs");
    ifupdown("ifdown");
    assert!(
        eventually(10, || autoipd(&debian).is_empty() && !claimed(&debian)),
        "Debian's avahi-autoipd --kill left it or its address"
    );
    let debian_down = normalised(&debian);

    let h = Harness::new();
    let _stop_ours = Autoipd(&h.ns, "nctdl0");
    h.ns.veth("nctdl0");
    h.ns.ip(&["link", "set", "nctdl0", "up"]);
    h.write_interfaces(file);
    assert_eq!(normalised(&h.ns), debian_before, "the same start");
    h.ifup(&["nctdl0"]).assert_ok();
    eventually(10, || normalised(&h.ns) == debian_up);
    assert_same(
        "inet ipv4ll",
        "ifup",
        "netconf",
        &debian_up,
        &normalised(&h.ns),
    );
    assert_eq!(
        autoipd(&h.ns).len(),
        processes,
        "netconf's avahi-autoipd runs as Debian's"
    );
    h.ifdown(&["nctdl0"]).assert_ok();
    assert!(eventually(10, || autoipd(&h.ns).is_empty()));
    assert_same(
        "inet ipv4ll",
        "ifdown",
        "netconf",
        &debian_down,
        &normalised(&h.ns),
    );
}
