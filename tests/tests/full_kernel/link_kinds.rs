//! Link kinds beyond bonds and VLANs: dummy, vxlan, macvtap, ipvlan, vrf,
//! can, bridge VLAN filtering. Each: up with its attributes in the
//! kernel's view, a second `ifup` writing nothing, `ifdown` giving back
//! what there was.

use super::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs, require_kernel_makes,
};
use netconf_tests::links::{details, exists, info, kind, set};
use netconf_tests::{require_root, Harness};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command};

/// One stanza file, one interface: up, checked, up again, down.
fn up_check_down(h: &Harness, iface: &str, check: impl FnOnce(&serde_json::Value)) {
    let before = links_and_addrs(&h.ns);
    h.ifup(&["-v", iface]).assert_ok();
    let link = details(&h.ns, iface);
    check(&link);
    assert!(h.ns.is_up(iface), "{iface} is not up: {link}");
    assert_second_ifup_writes_nothing(h, &[iface]);
    h.ifdown(&["-v", iface]).assert_ok();
    assert!(!exists(&h.ns, iface), "{iface} is still there");
    assert_back_to(h, &before);
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn dummy_with_an_address_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "dummy", &["type", "dummy"]);
    h.write_interfaces(
        "iface dum0 inet static\n    link-type dummy\n    address 198.51.100.7/24\n",
    );
    up_check_down(&h, "dum0", |link| {
        assert_eq!(kind(link), Some("dummy"), "{link}");
        assert_eq!(h.ns.global_addrs("dum0"), set(&["198.51.100.7/24"]));
    });
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn vxlan_unicast_over_a_dummy_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "dummy", &["type", "dummy"]);
    h.ns.batch(
        "link add under0 type dummy\nlink set under0 up\n\
         addr add 198.51.100.1/24 dev under0\n",
    );
    h.write_interfaces(
        "iface vx0 inet manual\n    vxlan-id 4242\n    vxlan-local-tunnelip 198.51.100.1\n    \
         vxlan-remote-ip 198.51.100.2\n    vxlan-port 4790\n    vxlan-physdev under0\n",
    );
    up_check_down(&h, "vx0", |link| {
        assert_eq!(kind(link), Some("vxlan"), "{link}");
        assert_eq!(info(link, "id").as_u64(), Some(4242), "{link}");
        assert_eq!(info(link, "local").as_str(), Some("198.51.100.1"), "{link}");
        assert_eq!(info(link, "remote").as_str(), Some("198.51.100.2"), "{link}");
        assert_eq!(info(link, "port").as_u64(), Some(4790), "{link}");
        assert_eq!(info(link, "link").as_str(), Some("under0"), "{link}");
    });
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn macvtap_over_a_veth_up_again_and_down() {
    require_root();
    let h = Harness::new();
    h.ns.veth("eth0");
    require_kernel_makes(&h.ns, "macvtap", &["link", "eth0", "type", "macvtap"]);
    h.write_interfaces(
        "iface mvt0 inet static\n    link-type macvtap\n    macvlan-raw-device eth0\n    \
         macvtap-mode private\n    address 198.51.100.20/24\n",
    );
    up_check_down(&h, "mvt0", |link| {
        assert_eq!(kind(link), Some("macvtap"), "{link}");
        assert_eq!(info(link, "mode").as_str(), Some("private"), "{link}");
        assert_eq!(link["link"].as_str(), Some("eth0"), "{link}");
        assert_eq!(h.ns.global_addrs("mvt0"), set(&["198.51.100.20/24"]));
    });
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ipvlan_l3_over_a_veth_up_again_and_down() {
    require_root();
    let h = Harness::new();
    h.ns.veth("eth0");
    require_kernel_makes(&h.ns, "ipvlan", &["link", "eth0", "type", "ipvlan"]);
    h.write_interfaces(
        "iface ipv0 inet static\n    link-type ipvlan\n    ipvlan-raw-device eth0\n    \
         ipvlan-mode l3\n    address 203.0.113.20/24\n",
    );
    up_check_down(&h, "ipv0", |link| {
        assert_eq!(kind(link), Some("ipvlan"), "{link}");
        assert_eq!(info(link, "mode").as_str(), Some("l3"), "{link}");
        assert_eq!(link["link"].as_str(), Some("eth0"), "{link}");
        assert_eq!(h.ns.global_addrs("ipv0"), set(&["203.0.113.20/24"]));
    });
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

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn can_static_on_slcan_up_again_and_down() {
    require_root();
    let h = Harness::new();
    let _slcan = slcan_into(&h, "can0");
    h.write_interfaces(
        "iface can0 can static\n    bitrate 125000\n    listenonly on\n    loopback off\n",
    );
    let before = links_and_addrs(&h.ns);
    h.ifup(&["-v", "can0"]).assert_ok();
    let link = details(&h.ns, "can0");
    assert_eq!(kind(&link), Some("can"), "{link}");
    assert_eq!(info(&link, "bittiming_bitrate").as_u64(), Some(125_000), "{link}");
    let modes = info(&link, "ctrlmode").to_string();
    assert!(modes.contains("LISTEN-ONLY"), "{link}");
    assert!(!modes.contains("LOOPBACK"), "{link}");
    assert!(h.ns.is_up("can0"), "can0 is not up: {link}");
    assert_second_ifup_writes_nothing(&h, &["can0"]);

    // Another bitrate while it is up: down, change, up again.
    h.write_interfaces("iface can0 can static\n    bitrate 500000\n    listenonly on\n");
    h.ifup(&["-v", "--force", "can0"]).assert_ok();
    let link = details(&h.ns, "can0");
    assert_eq!(info(&link, "bittiming_bitrate").as_u64(), Some(500_000), "{link}");
    assert!(h.ns.is_up("can0"), "can0 is not up: {link}");

    // As Debian: ifdown sets it down, the device and its settings stay.
    h.ifdown(&["-v", "can0"]).assert_ok();
    assert!(!h.ns.is_up("can0"), "can0 is still up");
    assert_back_to(&h, &before);
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn can_static_on_vcan_is_refused_clearly() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "vcan", &["type", "vcan"]);
    h.ns.ip(&["link", "add", "vcan0", "type", "vcan"]);
    h.write_interfaces("iface vcan0 can static\n    bitrate 125000\n");
    let out = h.ifup(&["vcan0"]);
    assert!(!out.success(), "{out}");
    out.assert_output_contains("vcan0 is vcan, not a CAN device with bit timing");
    assert!(!h.ns.is_up("vcan0"), "vcan0 went up");
    assert!(h.state().is_empty(), "{:?}", h.state());
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn vrf_device_up_again_and_down() {
    require_root();
    let h = Harness::new();
    require_kernel_makes(&h.ns, "vrf", &["type", "vrf", "table", "4000"]);
    h.write_interfaces(
        "iface red inet manual\n    vrf-table 1010\n\niface blue inet manual\n    vrf-table auto\n",
    );
    let before = links_and_addrs(&h.ns);
    h.ifup(&["-v", "red", "blue"]).assert_ok();
    for (vrf, table) in [("red", 1010), ("blue", 1001)] {
        let link = details(&h.ns, vrf);
        assert_eq!(kind(&link), Some("vrf"), "{link}");
        assert_eq!(info(&link, "table").as_u64(), Some(table), "{link}");
        assert!(h.ns.is_up(vrf), "{vrf} is not up");
    }
    assert_second_ifup_writes_nothing(&h, &["red", "blue"]);
    h.ifdown(&["-v", "red", "blue"]).assert_ok();
    assert_back_to(&h, &before);
}
