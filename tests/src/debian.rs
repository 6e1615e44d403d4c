//! Debian's ifupdown beside netconf: what the differential tests
//! (`bridge_differential`, `netcf_differential`, `dhcp_differential`) share.
//!
//! Debian's ifupdown 0.8.41 and bridge-utils 1.7.1 are unpacked under
//! `target/` by `scripts/fetch-debian-ifupdown` and
//! `scripts/fetch-debian-bridge-utils` ([`ifupdown_root`],
//! [`bridge_utils_root`]); [`require_ifupdown`], [`require_bridge_utils`]
//! and [`require_tools`] fail a test (never skip it) when something is
//! missing, saying how to get it. [`ifupdown_command`] runs Debian's
//! `ifup`/`ifdown` on a file of the test's, behind a wrapper that puts it in
//! the test's namespaces. [`BridgeUtilsView`] is the mount namespace in
//! which bridge-utils' files are where its scripts look for them, with
//! Debian's side run in it ([`BridgeUtilsView::up_down`]); [`snapshot`]
//! writes a namespace's kernel state as sorted lines, and [`assert_same`]
//! compares two of them.

use crate::{
    has_flag, overlay_lines, private_mounts, repo_root, require_root, run, sh_quote, Netns, Out,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `PATH` Debian's ifupdown runs with, and the directories it looks
/// for its DHCP clients in (`EXECUTE_LOCAL_PATHLIST`), whatever `PATH`
/// says.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The directories under `/etc/network` that hold bridge-utils' hook
/// script (as `bridge`).
const BRIDGE_UTILS_HOOK_DIRS: [&str; 3] = ["if-pre-up.d", "if-down.d", "if-post-down.d"];

/// `$VAR` (relative to the repository's root) or the default under it.
fn dir_from_env(var: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into());
    repo_root().join(dir)
}

/// Debian's ifupdown, unpacked: `$DEBIAN_IFUPDOWN_ROOT` or
/// `target/debian-ifupdown/root`.
pub fn ifupdown_root() -> PathBuf {
    dir_from_env("DEBIAN_IFUPDOWN_ROOT", "target/debian-ifupdown/root")
}

/// Debian's bridge-utils, unpacked: `$DEBIAN_BRIDGE_UTILS_ROOT` or
/// `target/debian-bridge-utils/root`.
pub fn bridge_utils_root() -> PathBuf {
    dir_from_env(
        "DEBIAN_BRIDGE_UTILS_ROOT",
        "target/debian-bridge-utils/root",
    )
}

/// Fails (never skips) unless the test runs as root and Debian's ifupdown
/// is unpacked: `sbin/ifup`, `sbin/ifdown` and `files` (relative to
/// [`ifupdown_root`]).
pub fn require_ifupdown(files: &[&str]) {
    require_root();
    let root = ifupdown_root();
    for f in ["sbin/ifup", "sbin/ifdown"].iter().chain(files) {
        let path = root.join(f);
        assert!(
            path.exists(),
            "Debian's ifupdown {f} is missing: no {}. Run scripts/fetch-debian-ifupdown first \
             (it unpacks Debian's ifupdown 0.8.41 into target/debian-ifupdown/root, or into \
             $DEBIAN_IFUPDOWN_ROOT).",
            path.display()
        );
    }
}

/// Fails (never skips) unless each of `tools` is in [`PATH`]; `what` names
/// the test.
pub fn require_tools(what: &str, tools: &[&str]) {
    for tool in tools {
        assert!(
            PATH.split(':').any(|d| Path::new(d).join(tool).is_file()),
            "the {what} test needs `{tool}` in {PATH}"
        );
    }
}

/// Fails (never skips) unless bridge-utils is unpacked and the tools of a
/// [`BridgeUtilsView`] are there; `what` names the test.
pub fn require_bridge_utils(what: &str) {
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
    require_tools(what, &["unshare", "mount", "readlink"]);
}

/// `c` (a wrapper that ends by running what follows it: `ip netns exec
/// NS`, `nsenter ... --`) followed by Debian's `program ARGS -i
/// DIR/interfaces --state-dir DIR/state`, with no environment but [`PATH`],
/// in `/`.
pub fn ifupdown_command(mut c: Command, program: &str, args: &[&str], dir: &Path) -> Command {
    c.arg(ifupdown_root().join("sbin").join(program))
        .args(args)
        .arg("-i")
        .arg(dir.join("interfaces"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env_clear()
        .env("PATH", PATH)
        .current_dir("/");
    c
}

/// bridge-utils' hooks in `root/if-*.d`, as its package has them: links to
/// `/lib/bridge-utils/ifupdown.sh` (resolved in the mount namespace).
pub fn install_bridge_utils_hooks(root: &Path) {
    for d in BRIDGE_UTILS_HOOK_DIRS {
        symlink("/lib/bridge-utils/ifupdown.sh", root.join(d).join("bridge")).unwrap();
    }
}

/// Debian's side with bridge-utils, in a directory of its own (the
/// interfaces file, ifupdown's state directory, the `/etc` layer): each
/// run of Debian's `ifup`/`ifdown` is in a mount namespace of its own
/// (`unshare --mount`) where bridge-utils' files are where its scripts
/// expect them: `/sbin/brctl` and `/lib/bridge-utils/*` laid over the
/// machine's as read-only overlays, `/etc/default/bridge-utils` likewise,
/// and `/etc/network` a bind mount of a directory holding nothing but the
/// package's `if-pre-up.d/bridge`, `if-down.d/bridge` and
/// `if-post-down.d/bridge` (so no hook of the machine runs).
pub struct BridgeUtilsView {
    dir: tempfile::TempDir,
    ifupdown_lib: bool,
}

impl BridgeUtilsView {
    /// The view, for the file `interfaces`.
    pub fn new(interfaces: &str) -> BridgeUtilsView {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        fs::create_dir_all(etc.join("default")).unwrap();
        fs::copy(
            bridge_utils_root().join("etc/default/bridge-utils"),
            etc.join("default/bridge-utils"),
        )
        .unwrap();
        for d in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
            fs::create_dir_all(etc.join("network").join(d)).unwrap();
        }
        install_bridge_utils_hooks(&etc.join("network"));
        fs::write(dir.path().join("interfaces"), interfaces).unwrap();
        BridgeUtilsView {
            dir,
            ifupdown_lib: false,
        }
    }

    /// The same with ifupdown's own `/lib/ifupdown` laid over the machine's
    /// too (`settle-dad.sh` and its siblings, which `inet6 static` runs and
    /// the machine may not have).
    pub fn with_ifupdown_lib(mut self) -> BridgeUtilsView {
        self.ifupdown_lib = true;
        self
    }

    /// The `sh` lines that make the view, for [`private_mounts`].
    pub fn mount_script(&self) -> String {
        let bu = bridge_utils_root();
        let etc = self.dir.path().join("etc");
        let mut lines = vec![
            overlay_lines(&bu.join("sbin"), "/sbin"),
            overlay_lines(&bu.join("lib"), "/lib"),
        ];
        if self.ifupdown_lib {
            lines.push(overlay_lines(&ifupdown_root().join("lib"), "/lib"));
        }
        lines.push(overlay_lines(&etc, "/etc"));
        lines.push(format!(
            "mount --bind {} /etc/network",
            sh_quote(&etc.join("network").to_string_lossy())
        ));
        lines.join("\n")
    }

    /// A command prefix that runs what follows it in the view.
    pub fn wrapper(&self) -> Vec<OsString> {
        private_mounts(&self.mount_script())
    }

    /// Debian's `program ARGS` (`ifup`, `ifdown`) in `ns`, in the view.
    pub fn run(&self, ns: &Netns, program: &str, args: &[&str]) -> Out {
        let wrapper = self.wrapper();
        let mut c = Command::new(&wrapper[0]);
        c.args(&wrapper[1..])
            .args(["ip", "netns", "exec", ns.name()]);
        run(ifupdown_command(c, program, args, self.dir.path()))
    }

    /// Debian's `ifup ARGS` then `ifdown ARGS` (each must succeed) in a
    /// network namespace of their own, which `setup` readies first; the
    /// [`snapshot`]s after each. `check_up` sees the one after `ifup`
    /// before `ifdown` runs.
    pub fn up_down(
        &self,
        setup: impl FnOnce(&Netns),
        args: &[&str],
        shown: &Shown,
        check_up: impl FnOnce(&BTreeSet<String>),
    ) -> (BTreeSet<String>, BTreeSet<String>) {
        let ns = Netns::new();
        setup(&ns);
        self.run(&ns, "ifup", args).assert_ok();
        let up = snapshot(&ns, shown);
        check_up(&up);
        self.run(&ns, "ifdown", args).assert_ok();
        let down = snapshot(&ns, shown);
        (up, down)
    }
}

/// What a [`snapshot`] shows beyond what it always does.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// Each link's MAC where it starts with this (`random` where not, as
    /// the kernel picks those at random); no MAC where `None`.
    pub mac_prefix: Option<&'static str>,
    /// Each link's `autoconf` and `accept_ra` sysctls.
    pub ipv6_sysctls: bool,
    /// A line per link with a peer (a veth's), naming the peer.
    pub peers: bool,
    /// Each address's broadcast.
    pub broadcast: bool,
}

impl Shown {
    /// Nothing more.
    pub const BASE: Shown = Shown {
        mac_prefix: None,
        ipv6_sysctls: false,
        peers: false,
        broadcast: false,
    };
}

/// A sysctl of the namespace, read from inside it (`-` if there is none).
pub fn sysctl(ns: &Netns, key: &str) -> String {
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

/// The namespace's state as sorted lines, normalised (no ifindex, no MAC
/// but as [`Shown`] says, no link-local address): each link's kind,
/// master, up or down, MTU, IPv6 address generation mode (and what
/// `shown` adds), a bridge's STP state, forward delay, hello time, max
/// age, ageing time and priority; every address but link-local ones; the
/// main table's routes of both families but the `fe80::/64` ones, without
/// their protocol; a bond's settings ([`BOND_KEYS`]), a VLAN's raw
/// device, id and protocol.
pub fn snapshot(ns: &Netns, shown: &Shown) -> BTreeSet<String> {
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
        let mut line = format!(
            "link {name} kind {kind} master {} {} mtu {} addrgenmode {}",
            l["master"].as_str().unwrap_or("-"),
            if has_flag(l, "UP") { "UP" } else { "down" },
            l["mtu"],
            l["inet6_addr_gen_mode"].as_str().unwrap_or("-"),
        );
        if let Some(prefix) = shown.mac_prefix {
            let mac = l["address"].as_str().unwrap_or("-");
            let mac = if mac.starts_with(prefix) {
                mac
            } else {
                "random"
            };
            let _ = write!(line, " mac {mac}");
        }
        if shown.ipv6_sysctls {
            let _ = write!(
                line,
                " autoconf {} accept_ra {}",
                sysctl(ns, &format!("net.ipv6.conf.{name}.autoconf")),
                sysctl(ns, &format!("net.ipv6.conf.{name}.accept_ra")),
            );
        }
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
        if kind == "bond" {
            for key in BOND_KEYS {
                let _ = write!(line, " {key} {}", info["info_data"][key]);
            }
        }
        if kind == "vlan" {
            let _ = write!(
                line,
                " on {} id {} protocol {}",
                l["link"].as_str().unwrap_or("-"),
                info["info_data"]["id"],
                info["info_data"]["protocol"],
            );
        }
        out.insert(line);
        if shown.peers {
            // (`link` of a veth is its peer, by name in the same namespace.)
            if let Some(peer) = l["link"].as_str() {
                out.insert(format!("link {name} peer {peer}"));
            } else if l.get("link_index").is_some() {
                out.insert(format!("link {name} peer {}", name_of(&l["link_index"])));
            }
        }
    }
    for l in ns.ip_json(&["addr", "show"]) {
        let name = l["ifname"].as_str().unwrap_or("?");
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if a["scope"] == "link" {
                continue;
            }
            let mut line = format!(
                "addr {name} {}/{}",
                a["local"].as_str().unwrap_or("?"),
                a["prefixlen"]
            );
            if shown.broadcast {
                let _ = write!(line, " brd {}", a["broadcast"].as_str().unwrap_or("-"));
            }
            let _ = write!(line, " scope {}", a["scope"].as_str().unwrap_or("?"));
            out.insert(line);
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

/// What a [`snapshot`] shows of a bond: every setting ifenslave's hook
/// writes that `ip -d link` reports (the slaves are each slave's
/// `master`).
const BOND_KEYS: [&str; 18] = [
    "mode",
    "miimon",
    "updelay",
    "downdelay",
    "use_carrier",
    "arp_interval",
    "arp_ip_target",
    "arp_validate",
    "primary",
    "primary_reselect",
    "fail_over_mac",
    "xmit_hash_policy",
    "num_peer_notif",
    "packets_per_slave",
    "ad_lacp_rate",
    "ad_select",
    "tlb_dynamic_lb",
    "all_slaves_active",
];

/// A state's lines, one a line, each after `indent`.
pub fn lines(state: &BTreeSet<String>, indent: &str) -> String {
    state
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails, showing what differs, unless the state `who` left `when` (`ifup
/// -a`, ...) in `case` is the same as Debian's.
pub fn assert_same(
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
         its packages' hook scripts:\n{text}--- Debian's whole state:\n{}",
        lines(debian, "")
    );
}
