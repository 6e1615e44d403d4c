//! Bonds and VLANs: the kernel state netconf leaves after `ifup -a` and
//! after `ifdown -a`, compared with what Debian's ifupdown 0.8.41 running
//! ifenslave 2.13's and vlan 2.0.5's own hook scripts leaves for the same
//! file (as `tests/bridge_differential.rs` does for bridge-utils; here in
//! the VM, where the kernel has bonding and 8021q).
//!
//! Each case is one interfaces file and the links it finds, run twice,
//! each in a network namespace of its own with the same links:
//!
//! 1. **Debian**: `ifup -a` / `ifdown -a` of Debian's ifupdown (unpacked by
//!    `scripts/fetch-debian-ifupdown`) in a mount namespace of its own
//!    where everything is where the hook scripts look for it, since they
//!    call `ifup`, `ifquery` and `ifquery --state` themselves (ifenslave's
//!    does, for slaves and masters) with ifupdown's default paths:
//!    Debian's `ifup`/`ifdown`/`ifquery` laid over `/sbin`, `/etc/network`
//!    a bind mount of a directory holding the file as `interfaces` and
//!    nothing in `if-*.d` but ifenslave's and vlan's scripts (unpacked by
//!    `scripts/fetch-debian-ifenslave-vlan`), and `/run/network` (the
//!    state) a directory of the test's;
//! 2. **netconf**: netconfd with an empty hooks directory, so that it makes
//!    the bonds and VLANs itself.
//!
//! What is compared is [`snapshot`]'s: each link's kind, master, up or
//! down, MTU and IPv6 address generation mode, a bond's settings (mode,
//! monitors, ARP targets, primary, ...), a VLAN's raw device, id and
//! protocol; addresses; routes. Each case also checks that Debian's run
//! really made its bonds with their slaves, so that two empty states
//! cannot agree.
//!
//! Where netconf differs on purpose, the cases leave it out (docs/
//! ARCHITECTURE.md, "Bonds and VLANs"): `bond-min-links`,
//! `bond-all-slaves-active` and `bond-arp-all-targets` are ifupdown2's,
//! which ifenslave does not write; `vlan-id` and `vlan-protocol` are
//! ifupdown2's too (neither Debian's ifupdown nor the vlan script reads
//! them); a `bond-primary` in a mode without a primary is refused by
//! netconf where ifenslave's write fails and is ignored.

use netconf_tests::debian::{
    assert_same, ifupdown_root, lines, require_ifupdown, require_tools, snapshot, Shown, PATH,
};
use netconf_tests::{overlay_lines, private_mounts, repo_root, run, sh_quote, Harness, Netns, Out};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/debian-ifenslave/root` or `$DEBIAN_IFENSLAVE_ROOT`; the same
/// for vlan.
fn package_root(var: &str, default: &str) -> PathBuf {
    repo_root().join(std::env::var_os(var).map_or_else(|| default.into(), PathBuf::from))
}

/// The hook scripts of both packages: (directory, name, source).
fn hook_scripts() -> Vec<(&'static str, &'static str, PathBuf)> {
    let ifenslave = package_root("DEBIAN_IFENSLAVE_ROOT", "target/debian-ifenslave/root");
    let vlan = package_root("DEBIAN_VLAN_ROOT", "target/debian-vlan/root");
    let mut out = Vec::new();
    for dir in ["if-pre-up.d", "if-up.d", "if-post-down.d"] {
        out.push((dir, "ifenslave", ifenslave.join("etc/network").join(dir)));
    }
    for dir in ["if-pre-up.d", "if-post-down.d"] {
        out.push((dir, "vlan", vlan.join("etc/network").join(dir)));
    }
    out
}

/// Fails (never skips) when something the comparison needs is missing,
/// saying how to get it.
fn preconditions() {
    require_ifupdown(&[]);
    for (_, name, dir) in hook_scripts() {
        assert!(
            dir.join(name).is_file(),
            "{} is missing: run scripts/fetch-debian-ifenslave-vlan first",
            dir.join(name).display()
        );
    }
    require_tools(
        "bond and VLAN differential",
        &["unshare", "mount", "readlink"],
    );
}

/// Debian's side: the directory with `network/` (the file and the hooks)
/// and `state/`, and the mount namespace that puts them in place.
struct DebianView {
    dir: tempfile::TempDir,
}

impl DebianView {
    fn new(interfaces: &str) -> DebianView {
        let dir = tempfile::tempdir().unwrap();
        let network = dir.path().join("network");
        for d in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
            fs::create_dir_all(network.join(d)).unwrap();
        }
        for (d, name, from) in hook_scripts() {
            fs::copy(from.join(name), network.join(d).join(name)).unwrap();
        }
        fs::write(network.join("interfaces"), interfaces).unwrap();
        fs::create_dir_all(dir.path().join("state")).unwrap();
        DebianView { dir }
    }

    fn wrapper(&self) -> Vec<std::ffi::OsString> {
        let quoted = |p: &Path| sh_quote(&p.to_string_lossy());
        let script = [
            overlay_lines(&ifupdown_root().join("sbin"), "/sbin"),
            format!(
                "mount --bind {} /etc/network",
                quoted(&self.dir.path().join("network"))
            ),
            "mkdir -p /run/network".to_string(),
            format!(
                "mount --bind {} /run/network",
                quoted(&self.dir.path().join("state"))
            ),
        ]
        .join("\n");
        private_mounts(&script)
    }

    /// Debian's `program ARGS` in `ns`, with ifupdown's default paths.
    fn run(&self, ns: &Netns, program: &str, args: &[&str]) -> Out {
        let wrapper = self.wrapper();
        let mut c = Command::new(&wrapper[0]);
        c.args(&wrapper[1..])
            .args(["ip", "netns", "exec", ns.name()])
            .arg(Path::new("/sbin").join(program))
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .current_dir("/");
        run(c)
    }
}

/// One configuration: the file, the links it expects (`ip -batch`), and
/// what Debian's `ifup -a` must have made: bonds with their slaves, VLANs.
struct Case {
    interfaces: &'static str,
    setup: &'static str,
    bonds: &'static [(&'static str, &'static [&'static str])],
    vlans: &'static [&'static str],
}

fn check_case(name: &str, case: &Case) {
    preconditions();
    let shown = Shown::BASE;

    // 1. Debian with ifenslave and vlan.
    let view = DebianView::new(case.interfaces);
    let ns = Netns::new();
    ns.batch(case.setup);
    view.run(&ns, "ifup", &["-a"]).assert_ok();
    let deb_up = snapshot(&ns, &shown);
    let has = |prefix: &str| deb_up.iter().any(|l| l.starts_with(prefix));
    for (bond, slaves) in case.bonds {
        assert!(
            has(&format!("link {bond} kind bond ")),
            "{name}: Debian's ifup -a made no bond {bond}: is ifenslave's hook running?\n{}",
            lines(&deb_up, "")
        );
        for slave in *slaves {
            assert!(
                deb_up
                    .iter()
                    .any(|l| l.starts_with(&format!("link {slave} ")) && l.contains(bond)),
                "{name}: Debian's ifup -a did not enslave {slave} to {bond}:\n{}",
                lines(&deb_up, "")
            );
        }
    }
    for vlan in case.vlans {
        assert!(
            has(&format!("link {vlan} kind vlan ")),
            "{name}: Debian's ifup -a made no VLAN {vlan}:\n{}",
            lines(&deb_up, "")
        );
    }
    view.run(&ns, "ifdown", &["-a"]).assert_ok();
    let deb_down = snapshot(&ns, &shown);
    drop(ns);

    // 2. netconf, making them itself.
    let h = Harness::new();
    h.ns.batch(case.setup);
    h.write_interfaces(case.interfaces);
    h.ifup(&["-a"]).assert_ok();
    let ours = snapshot(&h.ns, &shown);
    assert_same(name, "ifup -a", "netconf", &deb_up, &ours);
    h.ifdown(&["-a"]).assert_ok();
    assert_same(
        name,
        "ifdown -a",
        "netconf",
        &deb_down,
        &snapshot(&h.ns, &shown),
    );
}

/// One file with every form the suite compares (one case, as Debian's
/// side is slow in the VM: ifenslave's hook runs a nested `ifup` per
/// slave, and every command of the scripts costs a process under
/// emulation, about 70 s for this file): active-backup with miimon,
/// delays and a list of primaries; active-backup with ARP monitoring (two
/// targets, validation, primary reselection, fail-over-mac, gratuitous
/// ARPs), no `bond-slaves` but slaves naming it (`bond-master`); 802.3ad
/// with lacp-rate, xmit-hash-policy and ad-select, with a VLAN on it by
/// name (`bond2.100`, ifupdown's own) and one by `vlan-raw-device`
/// (`vlan200`, the vlan package's); balance-xor by number; `eth0.10` and
/// `vlan20` on a veth.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn bonds_and_vlans_in_every_form_as_debian_makes_them() {
    check_case(
        "bonds-vlans",
        &Case {
            interfaces: "\
auto bond0
iface bond0 inet static
    address 198.51.100.1/26
    bond-slaves d0 d1
    bond-mode active-backup
    bond-miimon 100
    bond-updelay 200
    bond-downdelay 200
    bond-primary d1 d0

auto bond1
iface bond1 inet static
    address 203.0.113.1/26
    bond-slaves none
    bond-mode 1
    bond-arp-interval 60000
    bond-arp-ip-target 203.0.113.62 203.0.113.61
    bond-arp-validate all
    bond-primary-reselect better
    bond-fail-over-mac active
    bond-num-grat-arp 2

auto d2
iface d2 inet manual
    bond-master bond1

auto d3
iface d3 inet manual
    bond-master bond1

auto bond2 bond3 bond2.100 vlan200 eth0.10 vlan20
iface bond2 inet manual
    bond-slaves d4 d5
    bond-mode 802.3ad
    bond-lacp-rate fast
    bond-xmit-hash-policy layer3+4
    bond-ad-select count

iface bond3 inet static
    address 198.51.100.65/26
    bond-slaves d6
    bond-mode 2
    bond-xmit-hash-policy layer2+3
    bond-miimon 100

iface bond2.100 inet static
    address 198.51.100.129/26

iface vlan200 inet static
    address 203.0.113.65/26
    vlan-raw-device bond2

iface eth0.10 inet static
    address 198.51.100.193/26

iface vlan20 inet static
    address 203.0.113.129/26
    vlan-raw-device eth0
",
            setup: "link add d0 type dummy\nlink add d1 type dummy\nlink add d2 type dummy\n\
                    link add d3 type dummy\nlink add d4 type dummy\nlink add d5 type dummy\n\
                    link add d6 type dummy\n\
                    link add eth0 type veth peer name xeth0\nlink set xeth0 up\n",
            bonds: &[
                ("bond0", &["d0", "d1"]),
                ("bond1", &["d2", "d3"]),
                ("bond2", &["d4", "d5"]),
                ("bond3", &["d6"]),
            ],
            vlans: &["bond2.100", "vlan200", "eth0.10", "vlan20"],
        },
    );
}
