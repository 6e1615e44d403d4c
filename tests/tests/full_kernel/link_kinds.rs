//! Link kinds beyond bonds and VLANs: dummy, vxlan, macvtap, ipvlan, vrf,
//! can, bridge VLAN filtering. Each: up with its attributes in the
//! kernel's view, a second `ifup` writing nothing, `ifdown` giving back
//! what there was.

use super::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs, require_kernel_makes,
};
use netconf_tests::links::{
    assert_vlan_aware_ports, bridge_vlans, details, exists, info, kind, master, set,
};
use netconf_tests::{require_root, Harness};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command};

/// Our `ifquery -i FILE ARGS` in the test's namespace (it reads the kernel
/// itself, no daemon).
fn ifquery(h: &Harness, args: &[&str]) -> netconf_tests::Out {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&netconf_tests::bins().ifquery)
        .arg("-i")
        .arg(h.interfaces_path())
        .args(args)
        .current_dir("/");
    netconf_tests::run(c)
}

/// `ifquery --check IFACES` passes, and `--running` shows `lines`.
fn check_and_running(h: &Harness, ifaces: &[&str], lines: &[&str]) {
    let mut args = vec!["--check"];
    args.extend_from_slice(ifaces);
    ifquery(h, &args).assert_ok();
    let mut args = vec!["--running"];
    args.extend_from_slice(ifaces);
    let out = ifquery(h, &args);
    out.assert_ok();
    for line in lines {
        out.assert_output_contains(line);
    }
}

/// Four kinds in one file and one namespace (one VM-time budget): each
/// checked in `ip -d -j link`, then a second `ifup` of all of them writing
/// nothing, and `ifdown` giving back what there was.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn dummy_vxlan_macvtap_ipvlan_up_again_and_down() {
    require_root();
    let h = Harness::new();
    h.ns.veth("eth0");
    h.ns.veth("eth1");
    require_kernel_makes(&h.ns, "dummy", &["type", "dummy"]);
    require_kernel_makes(&h.ns, "macvtap", &["link", "eth0", "type", "macvtap"]);
    require_kernel_makes(&h.ns, "ipvlan", &["link", "eth1", "type", "ipvlan"]);
    h.ns.batch(
        "link add under0 type dummy\nlink set under0 up\n\
         addr add 198.51.100.1/24 dev under0\n",
    );
    h.write_interfaces(
        "iface dum0 inet static\n    link-type dummy\n    address 198.51.100.7/24\n\n\
         iface vx0 inet manual\n    vxlan-id 4242\n    vxlan-local-tunnelip 198.51.100.1\n    \
         vxlan-remote-ip 198.51.100.2\n    vxlan-port 4790\n    vxlan-physdev under0\n\n\
         iface mvt0 inet static\n    link-type macvtap\n    macvlan-raw-device eth0\n    \
         macvtap-mode private\n    address 203.0.113.20/24\n\n\
         iface ipv0 inet static\n    link-type ipvlan\n    ipvlan-raw-device eth1\n    \
         ipvlan-mode l3\n    address 198.18.0.20/24\n",
    );
    let all = ["dum0", "vx0", "mvt0", "ipv0"];
    let before = links_and_addrs(&h.ns);
    h.ifup(&["-v", "dum0", "vx0", "mvt0", "ipv0"]).assert_ok();
    for iface in all {
        assert!(h.ns.is_up(iface), "{iface} is not up");
    }

    let dum = details(&h.ns, "dum0");
    assert_eq!(kind(&dum), Some("dummy"), "{dum}");
    assert_eq!(h.ns.global_addrs("dum0"), set(&["198.51.100.7/24"]));

    let vx = details(&h.ns, "vx0");
    assert_eq!(kind(&vx), Some("vxlan"), "{vx}");
    assert_eq!(info(&vx, "id").as_u64(), Some(4242), "{vx}");
    assert_eq!(info(&vx, "local").as_str(), Some("198.51.100.1"), "{vx}");
    assert_eq!(info(&vx, "remote").as_str(), Some("198.51.100.2"), "{vx}");
    assert_eq!(info(&vx, "port").as_u64(), Some(4790), "{vx}");
    assert_eq!(info(&vx, "link").as_str(), Some("under0"), "{vx}");

    let mvt = details(&h.ns, "mvt0");
    assert_eq!(kind(&mvt), Some("macvtap"), "{mvt}");
    assert_eq!(info(&mvt, "mode").as_str(), Some("private"), "{mvt}");
    assert_eq!(mvt["link"].as_str(), Some("eth0"), "{mvt}");
    assert_eq!(h.ns.global_addrs("mvt0"), set(&["203.0.113.20/24"]));

    let ipv = details(&h.ns, "ipv0");
    assert_eq!(kind(&ipv), Some("ipvlan"), "{ipv}");
    assert_eq!(info(&ipv, "mode").as_str(), Some("l3"), "{ipv}");
    assert_eq!(ipv["link"].as_str(), Some("eth1"), "{ipv}");
    assert_eq!(h.ns.global_addrs("ipv0"), set(&["198.18.0.20/24"]));

    check_and_running(
        &h,
        &all,
        &[
            "link-type dummy",
            "vxlan-id 4242",
            "vxlan-remote-ip 198.51.100.2",
            "vxlan-physdev under0",
            "link-type macvtap",
            "macvlan-raw-device eth0",
            "macvtap-mode private",
            "link-type ipvlan",
            "ipvlan-raw-device eth1",
            "ipvlan-mode l3",
        ],
    );
    assert_second_ifup_writes_nothing(&h, &all);
    h.ifdown(&["-v", "dum0", "vx0", "mvt0", "ipv0"]).assert_ok();
    for iface in all {
        assert!(!exists(&h.ns, iface), "{iface} is still there");
    }
    assert_back_to(&h, &before);
}

/// A pty whose master end is read (and dropped) by a thread, so that what
/// slcan writes to the "serial line" always goes through.
fn drained_pty() -> (OwnedFd, String) {
    // SAFETY: plain libc calls on a descriptor we own; ptsname's buffer is
    // copied at once.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(fd))
            .to_string_lossy()
            .into_owned();
        let master = OwnedFd::from_raw_fd(fd);
        let reader = libc::dup(master.as_raw_fd());
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while libc::read(reader, buf.as_mut_ptr().cast(), buf.len()) > 0 {}
            libc::close(reader);
        });
        (master, name)
    }
}

/// An slcan device: the SLCAN line discipline on a pty (`ldattach`, from
/// util-linux), the software CAN device of Debian's kernel that has bit
/// timing (vcan has none). The kernel makes it in the VM's initial
/// namespace, named `canN`; it is moved into the test's at once.
struct Slcan {
    ldattach: Child,
    _master: OwnedFd,
}

impl Drop for Slcan {
    fn drop(&mut self) {
        // Its line discipline goes with the tty, and the device with it.
        let _ = self.ldattach.kill();
        let _ = self.ldattach.wait();
    }
}

fn slcan_into(h: &Harness, name: &str) -> Slcan {
    let _ = Command::new("modprobe").arg("slcan").status();
    let cans_now = || -> Vec<String> {
        let out = Command::new("ip")
            .args(["-j", "link", "show", "type", "can"])
            .output()
            .expect("ip");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["ifname"].as_str().map(String::from))
            .collect()
    };
    let before = cans_now();
    let (master, pts) = drained_pty();
    // N_SLCAN is line discipline 17; -d keeps ldattach as our child.
    let ldattach = Command::new("ldattach")
        .args(["-d", "17", &pts])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ldattach (util-linux)");
    let slcan = Slcan {
        ldattach,
        _master: master,
    };
    let mut made = None;
    netconf_tests::wait_until("the slcan device", || {
        made = cans_now().into_iter().find(|c| !before.contains(c));
        made.is_some()
    });
    let made = made.unwrap_or_default();
    let moved = Command::new("ip")
        .args(["link", "set", &made, "netns", h.ns.name(), "name", name])
        .status()
        .expect("ip");
    assert!(moved.success(), "moving {made} into the test's namespace");
    slcan
}

/// What `can static` sets, as `ip -d -j link` shows it: the bitrate, the
/// control modes on, and whether the link is up.
fn can_settings(link: &serde_json::Value) -> (Option<u64>, String, bool) {
    (
        info(link, "bittiming_bitrate").as_u64(),
        info(link, "ctrlmode").to_string(),
        netconf_tests::has_flag(link, "UP"),
    )
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn can_static_on_slcan_up_again_down_as_debian_and_refused_on_vcan() {
    require_root();
    let h = Harness::new();
    netconf_tests::debian::require_ifupdown(&[]);
    let _slcan = slcan_into(&h, "can0");
    let stanza = "iface can0 can static\n    bitrate 125000\n    listenonly on\n    loopback off\n";
    h.write_interfaces(stanza);
    let before = links_and_addrs(&h.ns);
    h.ifup(&["-v", "can0"]).assert_ok();
    let link = details(&h.ns, "can0");
    assert_eq!(kind(&link), Some("can"), "{link}");
    assert_eq!(
        info(&link, "bittiming_bitrate").as_u64(),
        Some(125_000),
        "{link}"
    );
    let modes = info(&link, "ctrlmode").to_string();
    assert!(modes.contains("LISTEN-ONLY"), "{link}");
    assert!(!modes.contains("LOOPBACK"), "{link}");
    assert!(h.ns.is_up("can0"), "can0 is not up: {link}");
    let netconfs = can_settings(&link);
    check_and_running(
        &h,
        &["can0"],
        &["iface can0 can static", "bitrate 125000", "listenonly on"],
    );
    assert_second_ifup_writes_nothing(&h, &["can0"]);

    // Another bitrate while it is up: down, change, up again.
    h.write_interfaces("iface can0 can static\n    bitrate 500000\n    listenonly on\n");
    h.ifup(&["-v", "--force", "can0"]).assert_ok();
    let link = details(&h.ns, "can0");
    assert_eq!(
        info(&link, "bittiming_bitrate").as_u64(),
        Some(500_000),
        "{link}"
    );
    assert!(h.ns.is_up("can0"), "can0 is not up: {link}");

    // As Debian: ifdown sets it down, the device and its settings stay.
    h.ifdown(&["-v", "can0"]).assert_ok();
    assert!(!h.ns.is_up("can0"), "can0 is still up");
    assert_back_to(&h, &before);

    // Debian's ifup on the same device and stanza: the same settings.
    let debian = tempfile::tempdir().expect("a directory for Debian's side");
    std::fs::write(debian.path().join("interfaces"), stanza).expect("interfaces");
    std::fs::create_dir(debian.path().join("state")).expect("state dir");
    let debian_run = |program: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", h.ns.name()]);
        netconf_tests::run(netconf_tests::debian::ifupdown_command(
            c,
            program,
            &["--no-scripts", "can0"],
            debian.path(),
        ))
    };
    debian_run("ifup").assert_ok();
    let link = details(&h.ns, "can0");
    assert_eq!(can_settings(&link), netconfs, "Debian's ifup: {link}");
    debian_run("ifdown").assert_ok();
    assert!(
        !h.ns.is_up("can0"),
        "can0 is still up after Debian's ifdown"
    );

    // vcan has no bit timing: the kernel refuses the bitrate (as it does
    // Debian's `ip link set vcan0 type can bitrate`), and netconf says so
    // before writing anything.
    require_kernel_makes(&h.ns, "vcan", &["type", "vcan"]);
    h.ns.ip(&["link", "add", "vcan0", "type", "vcan"]);
    h.write_interfaces("iface vcan0 can static\n    bitrate 125000\n");
    let out = h.ifup(&["vcan0"]);
    assert!(!out.success(), "{out}");
    out.assert_output_contains("vcan0 is vcan, not a CAN device with bit timing");
    assert!(!h.ns.is_up("vcan0"), "vcan0 went up");
    assert!(h.state().is_empty(), "{:?}", h.state());
}

/// The routes of routing table `table` in the namespace, as `ip route`
/// prints them.
fn routes_in_table(h: &Harness, table: &str) -> Vec<String> {
    h.ns.ip(&["route", "show", "table", table])
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn vrf_with_members_routes_in_its_table_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "vrf", &["type", "vrf", "table", "4000"]);
    h.ns.batch("link add d0 type dummy\nlink add d1 type dummy\n");
    h.write_interfaces(
        "iface red inet manual\n    vrf-table 1010\n\n\
         iface blue inet manual\n    vrf-table auto\n\n\
         iface d0 inet static\n    address 198.51.100.5/24\n    gateway 198.51.100.254\n    \
         vrf red\n\n\
         iface d1 inet static\n    address 203.0.113.5/24\n    vrf-member blue\n",
    );
    let before = links_and_addrs(&h.ns);
    // The members alone: their VRFs come up first (the graph's order).
    h.ifup(&["-v", "d0", "d1"]).assert_ok();
    for (vrf, table, member) in [("red", 1010, "d0"), ("blue", 1001, "d1")] {
        let link = details(&h.ns, vrf);
        assert_eq!(kind(&link), Some("vrf"), "{link}");
        assert_eq!(info(&link, "table").as_u64(), Some(table), "{link}");
        assert!(h.ns.is_up(vrf), "{vrf} is not up");
        assert_eq!(master(&h.ns, member).as_deref(), Some(vrf));
    }
    let red = routes_in_table(&h, "1010");
    for want in [
        "default via 198.51.100.254 dev d0 proto 93",
        "198.51.100.0/24 dev d0 proto kernel scope link src 198.51.100.5",
    ] {
        assert!(
            red.iter().any(|r| r.starts_with(want)),
            "{want:?} not in {red:?}"
        );
    }
    let blue = routes_in_table(&h, "1001");
    assert!(
        blue.iter()
            .any(|r| r.starts_with("203.0.113.0/24 dev d1 proto kernel")),
        "{blue:?}"
    );
    let main = routes_in_table(&h, "main");
    assert!(
        main.iter().all(|r| !r.contains("d0") && !r.contains("d1")),
        "the members' routes are in the main table: {main:?}"
    );
    check_and_running(
        &h,
        &["red", "blue", "d0", "d1"],
        &[
            "vrf-table 1010",
            "vrf-table 1001",
            "vrf red",
            "gateway 198.51.100.254",
            "vrf blue",
        ],
    );
    assert_second_ifup_writes_nothing(&h, &["d0", "d1"]);
    h.ifdown(&["-v", "d0", "d1", "red", "blue"]).assert_ok();
    for member in ["d0", "d1"] {
        assert_eq!(master(&h.ns, member), None, "{member} is still in a VRF");
    }
    assert!(!exists(&h.ns, "red") && !exists(&h.ns, "blue"));
    assert_back_to(&h, &before);
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn vlan_aware_bridge_with_port_vlans_up_again_and_down() {
    require_root();
    let h = Harness::new();
    for p in ["p0", "p1", "p2"] {
        h.ns.veth(p);
    }
    require_kernel_makes(
        &h.ns,
        "VLAN-aware bridge",
        &["type", "bridge", "vlan_filtering", "1"],
    );
    h.write_interfaces(
        "iface br0 inet static\n    address 198.51.100.1/24\n    bridge-ports p0 p1 p2 p3\n    \
         bridge-vlan-aware yes\n    bridge-vids 100 200\n    bridge-stp off\n\n\
         iface p0 inet manual\n    bridge-access 10\n\n\
         iface p1 inet manual\n    bridge-vids 20-22\n    bridge-pvid 20\n",
    );
    let before = links_and_addrs(&h.ns);
    let vlans_before = bridge_vlans(&h.ns);
    h.ifup(&["-v", "br0"]).assert_ok();
    let vlans = assert_vlan_aware_ports(&h.ns);
    check_and_running(
        &h,
        &["p0", "p1"],
        &[
            "bridge-vids 10",
            "bridge-pvid 10",
            "bridge-vids 20 21 22",
            "bridge-pvid 20",
        ],
    );
    assert_second_ifup_writes_nothing(&h, &["br0"]);
    assert_eq!(bridge_vlans(&h.ns), vlans, "the second ifup changed VLANs");

    // A port that appears later joins (hotplug) with the bridge's VLANs.
    h.ns.veth("p3");
    netconf_tests::wait_until("p3 in br0 with the bridge's VLANs", || {
        bridge_vlans(&h.ns).get("p3") == Some(&set(&["1 pvid untagged", "100", "200"]))
    });

    h.ifdown(&["-v", "br0", "p0", "p1"]).assert_ok();
    assert!(!exists(&h.ns, "br0"), "br0 is still there");
    assert_eq!(bridge_vlans(&h.ns), vlans_before);
    h.ns.ip(&["link", "del", "p3"]);
    assert_back_to(&h, &before);
}
