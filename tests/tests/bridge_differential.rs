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

use netconf_tests::{
    overlay_lines, private_mounts, repo_root, require_root, run, sh_quote, Harness, Netns,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// bridge-utils' hook script, installed under this name in each directory.
const HOOK_DIRS: [&str; 3] = ["if-pre-up.d", "if-down.d", "if-post-down.d"];

/// `$VAR` (relative to the repository's root) or the default under it.
fn dir_from_env(var: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into());
    repo_root().join(dir)
}

fn debian_sbin() -> PathBuf {
    dir_from_env("DEBIAN_IFUPDOWN_ROOT", "target/debian-ifupdown/root").join("sbin")
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
    for bin in ["ifup", "ifdown"] {
        let path = debian_sbin().join(bin);
        assert!(
            path.exists(),
            "Debian's {bin} is missing: no {}. Run scripts/fetch-debian-ifupdown first.",
            path.display()
        );
    }
    let bu = bridge_utils_root();
    for f in [
        "sbin/brctl",
        "lib/bridge-utils/ifupdown.sh",
        "lib/bridge-utils/bridge-utils.sh",
        "etc/default/bridge-utils",
    ] {
        assert!(
            bu.join(f).exists(),
            "bridge-utils' {f} is missing under {}. Run scripts/fetch-debian-bridge-utils \
             first.",
            bu.display()
        );
    }
    for tool in ["unshare", "mount", "readlink"] {
        assert!(
            PATH.split(':').any(|d| Path::new(d).join(tool).is_file()),
            "the bridge differential test needs `{tool}` in {PATH}"
        );
    }
}

/// The layers laid over `/etc` (`default/bridge-utils`, and `network/`
/// with bridge-utils' hooks, bound over `/etc/network`), in `dir`.
fn etc_layer(dir: &Path) -> PathBuf {
    let etc = dir.join("etc");
    let bu = bridge_utils_root();
    fs::create_dir_all(etc.join("default")).unwrap();
    fs::copy(
        bu.join("etc/default/bridge-utils"),
        etc.join("default/bridge-utils"),
    )
    .unwrap();
    for d in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
        fs::create_dir_all(etc.join("network").join(d)).unwrap();
    }
    install_hooks(&etc.join("network"));
    etc
}

/// bridge-utils' hooks in `root/if-*.d`, as its package has them: links to
/// `/lib/bridge-utils/ifupdown.sh` (resolved in the mount namespace).
fn install_hooks(root: &Path) {
    for d in HOOK_DIRS {
        symlink("/lib/bridge-utils/ifupdown.sh", root.join(d).join("bridge")).unwrap();
    }
}

/// The `sh` lines that show bridge-utils where its scripts look for it.
fn mount_script(etc: &Path) -> String {
    let bu = bridge_utils_root();
    [
        overlay_lines(&bu.join("sbin"), "/sbin"),
        overlay_lines(&bu.join("lib"), "/lib"),
        overlay_lines(etc, "/etc"),
        format!(
            "mount --bind {} /etc/network",
            sh_quote(&etc.join("network").to_string_lossy())
        ),
    ]
    .join("\n")
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

/// What a run of `ip` says, normalised: one line per link, address and
/// route, sorted.
fn snapshot(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let links = ns.ip_json(&["-d", "link", "show"]);
    let name_of = |index: &Value| -> String {
        links
            .iter()
            .find(|l| l["ifindex"] == *index)
            .and_then(|l| l["ifname"].as_str())
            .unwrap_or("?")
            .to_string()
    };
    for l in &links {
        let name = l["ifname"].as_str().unwrap_or("?");
        let info = &l["linkinfo"];
        let kind = info["info_kind"].as_str().unwrap_or("-");
        let up = netconf_tests::has_flag(l, "UP");
        let mut line = format!(
            "link {name} kind {kind} master {} {} mtu {} addrgenmode {}",
            l["master"].as_str().unwrap_or("-"),
            if up { "UP" } else { "down" },
            l["mtu"],
            l["inet6_addr_gen_mode"].as_str().unwrap_or("-"),
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
        // (`link` of a veth is its peer, by name in the same namespace.)
        if let Some(peer) = l["link"].as_str() {
            out.insert(format!("link {name} peer {peer}"));
        } else if l.get("link_index").is_some() {
            out.insert(format!("link {name} peer {}", name_of(&l["link_index"])));
        }
    }
    for l in ns.ip_json(&["addr", "show"]) {
        let name = l["ifname"].as_str().unwrap_or("?");
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if a["scope"] == "link" {
                continue;
            }
            out.insert(format!(
                "addr {name} {}/{} scope {}",
                a["local"].as_str().unwrap_or("?"),
                a["prefixlen"],
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

/// Fails, showing what differs, unless the two states are the same.
fn assert_same(
    case: &str,
    when: &str,
    who: &str,
    debian: &BTreeSet<String>,
    ours: &BTreeSet<String>,
) {
    if debian == ours {
        return;
    }
    let mut text = String::new();
    for l in debian.difference(ours) {
        let _ = writeln!(text, "  only Debian:  {l}");
    }
    for l in ours.difference(debian) {
        let _ = writeln!(text, "  only {who}: {l}");
    }
    panic!(
        "{case}: after {when}, {who} left another kernel state than Debian's ifupdown with \
         bridge-utils:\n{text}--- Debian's whole state:\n{}",
        debian.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Debian's `ifup`/`ifdown ARGS` in `ns`, in a mount namespace that shows
/// bridge-utils where it expects to be; must succeed.
fn debian(ns: &Netns, etc: &Path, dir: &Path, program: &str, args: &[&str]) {
    let wrapper = private_mounts(&mount_script(etc));
    let mut c = Command::new(&wrapper[0]);
    c.args(&wrapper[1..])
        .args(["ip", "netns", "exec", ns.name()])
        .arg(debian_sbin().join(program))
        .args(args)
        .arg("-i")
        .arg(dir.join("interfaces"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env_clear()
        .env("PATH", PATH)
        .current_dir("/");
    run(c).assert_ok();
}

fn check_case(name: &str, case: &Case) {
    preconditions();
    let tmp = tempfile::tempdir().unwrap();
    let etc = etc_layer(tmp.path());
    fs::write(tmp.path().join("interfaces"), case.interfaces).unwrap();

    // 1. Debian with bridge-utils.
    let deb = Netns::new();
    deb.batch(case.setup);
    debian(&deb, &etc, tmp.path(), "ifup", &["-a"]);
    let deb_up = snapshot(&deb);
    for (bridge, ports) in case.bridges {
        assert!(
            deb_up
                .iter()
                .any(|l| l.starts_with(&format!("link {bridge} kind bridge "))),
            "{name}: Debian's ifup -a made no bridge {bridge}: is bridge-utils' hook running?\n{}",
            deb_up.iter().cloned().collect::<Vec<_>>().join("\n")
        );
        for port in *ports {
            assert!(
                deb_up
                    .iter()
                    .any(|l| l.starts_with(&format!("link {port} kind veth master {bridge} UP"))),
                "{name}: Debian's ifup -a did not make {port} an up port of {bridge}:\n{}",
                deb_up.iter().cloned().collect::<Vec<_>>().join("\n")
            );
        }
    }
    debian(&deb, &etc, tmp.path(), "ifdown", &["-a"]);
    let deb_down = snapshot(&deb);

    // 2. netconf, making the bridges itself.
    let h = Harness::new();
    h.ns.batch(case.setup);
    h.write_interfaces(case.interfaces);
    h.ifup(&["-a"]).assert_ok();
    assert_same(name, "ifup -a", "netconf", &deb_up, &snapshot(&h.ns));
    h.ifdown(&["-a"]).assert_ok();
    assert_same(name, "ifdown -a", "netconf", &deb_down, &snapshot(&h.ns));

    // 3. netconf with bridge-utils' hooks installed: they make the bridges.
    let mut h = Harness::new();
    install_hooks(&h.path("hooks"));
    h.stop_daemon(libc::SIGTERM);
    h.start_daemon_wrapped(&private_mounts(&mount_script(&etc)));
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
    assert_same(name, "ifup -a", who, &deb_up, &snapshot(&h.ns));
    h.ifdown(&["-a"]).assert_ok();
    assert_same(name, "ifdown -a", who, &deb_down, &snapshot(&h.ns));
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
