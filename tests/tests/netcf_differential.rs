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

use netconf_tests::{
    has_flag, overlay_lines, private_mounts, repo_root, require_root, run, sh_quote, Harness,
    Netns, Out,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The MACs the corpus documents set (`02:00:5e:10:00:NN`): the only ones a
/// snapshot shows.
const CORPUS_MAC_PREFIX: &str = "02:00:5e:10:";

// The next five helpers are the ones of bridge_differential.rs (private
// there): Debian's ifupdown and bridge-utils unpacked, and the mount
// namespace that shows bridge-utils where its scripts look for it. They
// belong in tests/src; until then they are repeated here, plus the overlay
// of ifupdown's own /lib/ifupdown that inet6 static needs.

/// `$VAR` (relative to the repository's root) or the default under it.
fn dir_from_env(var: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into());
    repo_root().join(dir)
}

fn debian_root() -> PathBuf {
    dir_from_env("DEBIAN_IFUPDOWN_ROOT", "target/debian-ifupdown/root")
}

fn bridge_utils_root() -> PathBuf {
    dir_from_env(
        "DEBIAN_BRIDGE_UTILS_ROOT",
        "target/debian-bridge-utils/root",
    )
}

/// Fails (never skips) when something the comparison needs is missing,
/// saying how to get it.
fn preconditions() {
    require_root();
    for f in ["sbin/ifup", "sbin/ifdown", "lib/ifupdown/settle-dad.sh"] {
        assert!(
            debian_root().join(f).exists(),
            "Debian's ifupdown {f} is missing under {}. Run scripts/fetch-debian-ifupdown first.",
            debian_root().display()
        );
    }
    for f in [
        "sbin/brctl",
        "lib/bridge-utils/ifupdown.sh",
        "etc/default/bridge-utils",
    ] {
        assert!(
            bridge_utils_root().join(f).exists(),
            "bridge-utils' {f} is missing under {}. Run scripts/fetch-debian-bridge-utils first.",
            bridge_utils_root().display()
        );
    }
}

/// `/etc` for Debian's side, in `dir`: bridge-utils' defaults, and a
/// `network/` holding nothing but its hooks (links resolved in the mount
/// namespace).
fn etc_layer(dir: &Path) -> PathBuf {
    let etc = dir.join("etc");
    fs::create_dir_all(etc.join("default")).unwrap();
    fs::copy(
        bridge_utils_root().join("etc/default/bridge-utils"),
        etc.join("default/bridge-utils"),
    )
    .unwrap();
    for d in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        fs::create_dir_all(etc.join("network").join(d)).unwrap();
    }
    for d in ["if-pre-up.d", "if-down.d", "if-post-down.d"] {
        symlink(
            "/lib/bridge-utils/ifupdown.sh",
            etc.join("network").join(d).join("bridge"),
        )
        .unwrap();
    }
    etc
}

/// The `sh` lines of Debian's mount namespace.
fn mount_script(etc: &Path) -> String {
    let bu = bridge_utils_root();
    [
        overlay_lines(&bu.join("sbin"), "/sbin"),
        overlay_lines(&bu.join("lib"), "/lib"),
        // settle-dad.sh and its siblings, which the machine may not have.
        overlay_lines(&debian_root().join("lib"), "/lib"),
        overlay_lines(etc, "/etc"),
        format!(
            "mount --bind {} /etc/network",
            sh_quote(&etc.join("network").to_string_lossy())
        ),
    ]
    .join("\n")
}

/// Debian's `ifup`/`ifdown ARGS` in `ns`, in Debian's mount namespace.
fn debian(ns: &Netns, etc: &Path, dir: &Path, program: &str, args: &[&str]) -> Out {
    let wrapper = private_mounts(&mount_script(etc));
    let mut c = Command::new(&wrapper[0]);
    c.args(&wrapper[1..])
        .args(["ip", "netns", "exec", ns.name()])
        .arg(debian_root().join("sbin").join(program))
        .args(args)
        .arg("-i")
        .arg(dir.join("interfaces"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env_clear()
        .env("PATH", PATH)
        .current_dir("/");
    run(c)
}

/// A sysctl of the namespace, read from inside it.
fn sysctl(ns: &Netns, key: &str) -> String {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name(), "cat"])
        .arg(Path::new("/proc/sys").join(key.replace('.', "/")));
    let out = run(c);
    if out.success() {
        out.stdout.trim().to_string()
    } else {
        "-".into()
    }
}

/// The namespace's state as sorted lines: links, addresses, routes.
fn snapshot(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let links = ns.ip_json(&["-d", "link", "show"]);
    for l in &links {
        let name = l["ifname"].as_str().unwrap_or("?");
        let info = &l["linkinfo"];
        let kind = info["info_kind"].as_str().unwrap_or("-");
        let mac = l["address"].as_str().unwrap_or("-");
        let mut line = format!(
            "link {name} kind {kind} master {} {} mtu {} addrgenmode {} mac {} \
             autoconf {} accept_ra {}",
            l["master"].as_str().unwrap_or("-"),
            if has_flag(l, "UP") { "UP" } else { "down" },
            l["mtu"],
            l["inet6_addr_gen_mode"].as_str().unwrap_or("-"),
            if mac.starts_with(CORPUS_MAC_PREFIX) {
                mac
            } else {
                "random"
            },
            sysctl(ns, &format!("net.ipv6.conf.{name}.autoconf")),
            sysctl(ns, &format!("net.ipv6.conf.{name}.accept_ra")),
        );
        if kind == "bridge" {
            for key in [
                "stp_state",
                "forward_delay",
                "hello_time",
                "max_age",
                "ageing_time",
                "priority",
            ] {
                let _ = write!(line, " {key} {}", info["info_data"][key]);
            }
        }
        out.insert(line);
    }
    for l in ns.ip_json(&["addr", "show"]) {
        let name = l["ifname"].as_str().unwrap_or("?");
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if a["scope"] == "link" {
                continue;
            }
            out.insert(format!(
                "addr {name} {}/{} brd {} scope {}",
                a["local"].as_str().unwrap_or("?"),
                a["prefixlen"],
                a["broadcast"].as_str().unwrap_or("-"),
                a["scope"].as_str().unwrap_or("?")
            ));
        }
    }
    for fam in ["-4", "-6"] {
        for r in ns.ip_json(&[fam, "route", "show", "table", "main"]) {
            let dst = r["dst"].as_str().unwrap_or("?");
            if dst.starts_with("fe80:") {
                continue;
            }
            let mut flags: Vec<&str> = r["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            flags.sort();
            out.insert(format!(
                "route {fam} {dst} via {} dev {} metric {} scope {} flags {flags:?}",
                r["gateway"].as_str().unwrap_or("-"),
                r["dev"].as_str().unwrap_or("-"),
                r["metric"],
                r["scope"].as_str().unwrap_or("global"),
            ));
        }
    }
    out
}

fn lines(state: &BTreeSet<String>) -> String {
    state.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// Fails, showing what differs, unless the two states are the same.
fn assert_same(case: &str, when: &str, debian: &BTreeSet<String>, ours: &BTreeSet<String>) {
    if debian == ours {
        return;
    }
    let mut text = String::new();
    for l in debian.difference(ours) {
        let _ = writeln!(text, "  only Debian:  {l}");
    }
    for l in ours.difference(debian) {
        let _ = writeln!(text, "  only netconf: {l}");
    }
    panic!(
        "{case}: after {when}, netconf left another kernel state than Debian's ifupdown:\n\
         {text}--- Debian's whole state:\n{}",
        lines(debian)
    );
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
    let tmp = tempfile::tempdir().unwrap();
    let etc = etc_layer(tmp.path());
    fs::write(tmp.path().join("interfaces"), &stanzas).unwrap();

    let deb = Netns::new();
    for l in case.links {
        deb.veth(l);
    }
    debian(&deb, &etc, tmp.path(), "ifup", case.args).assert_ok();
    let deb_up = snapshot(&deb);
    for want in case.expect {
        assert!(
            deb_up.iter().any(|l| l.starts_with(want)),
            "{}: Debian's ifup {:?} left no `{want}...`:\n{}",
            case.name,
            case.args,
            lines(&deb_up)
        );
    }
    debian(&deb, &etc, tmp.path(), "ifdown", case.args).assert_ok();
    let deb_down = snapshot(&deb);

    let h = Harness::new();
    for l in case.links {
        h.ns.veth(l);
    }
    h.write_interfaces(&stanzas);
    h.ifup(case.args).assert_ok();
    assert_same(case.name, "ifup", &deb_up, &snapshot(&h.ns));
    h.ifdown(case.args).assert_ok();
    assert_same(case.name, "ifdown", &deb_down, &snapshot(&h.ns));
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
