//! Tunnels: `inet tunnel`, `inet6 v4tunnel`, `inet6 6to4`, `inet6 tunnel`,
//! and ifupdown2's/ifupdown-ng's `tunnel-mode` gretap and ip6gretap: each
//! made with every option, a second `ifup` writing nothing, `ifdown`
//! leaving nothing; and Debian's ifupdown 0.8.41 (`ip tunnel add ...`)
//! against netconf on the same file, the same kernel state after each.
//!
//! The tunnel modules are loaded before any namespace of a test is made:
//! loading one gives every namespace there is its fallback devices (`gre0`,
//! `sit0`, ...), and a namespace made after has them from the start, so
//! they are part of "before" and of both sides of a comparison.

use super::{assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs};
use netconf_tests::debian::{
    assert_same, lines, require_bridge_utils, require_ifupdown, snapshot, BridgeUtilsView, Shown,
};
use netconf_tests::links::{kind, set};
use netconf_tests::{bins, has_flag, require_root, run, Harness, Netns, Out};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const MODULES: [&str; 5] = ["ip_gre", "ipip", "sit", "ip6_tunnel", "ip6_gre"];

/// Loads the tunnel modules, or fails saying this kernel has none.
fn load_tunnel_modules() {
    require_root();
    let mut c = Command::new("modprobe");
    c.arg("-a").args(MODULES);
    let out = run(c);
    assert!(
        out.success(),
        "this kernel cannot load {MODULES:?} ({}): run this suite in the VM, scripts/vm-run",
        out.all_output().trim()
    );
}

/// The kernel's view, read once (each `ip` is slow in the emulated VM):
/// links with details, addresses, main-table routes of both families.
struct View {
    links: BTreeMap<String, Value>,
    addrs: BTreeMap<String, Vec<Value>>,
    routes: Vec<(&'static str, Value)>,
}

impl View {
    fn read(ns: &Netns) -> View {
        let by_name = |list: Vec<Value>| -> BTreeMap<String, Value> {
            list.into_iter()
                .map(|l| (l["ifname"].as_str().unwrap_or("?").to_string(), l))
                .collect()
        };
        let addrs = by_name(ns.ip_json(&["addr", "show"]))
            .into_iter()
            .map(|(name, l)| (name, l["addr_info"].as_array().cloned().unwrap_or_default()))
            .collect();
        let mut routes = Vec::new();
        for fam in ["-4", "-6"] {
            for r in ns.ip_json(&[fam, "route", "show", "table", "main"]) {
                routes.push((fam, r));
            }
        }
        View {
            links: by_name(ns.ip_json(&["-d", "link", "show"])),
            addrs,
            routes,
        }
    }

    fn link(&self, dev: &str) -> &Value {
        self.links
            .get(dev)
            .unwrap_or_else(|| panic!("no link {dev}: {:?}", self.links.keys()))
    }

    /// A tunnel's `IFLA_INFO_DATA` as `ip -d -j link` shows it.
    fn data(&self, dev: &str) -> &Value {
        &self.link(dev)["linkinfo"]["info_data"]
    }

    fn is_up(&self, dev: &str) -> bool {
        has_flag(self.link(dev), "UP")
    }

    fn addrs(&self, dev: &str) -> &[Value] {
        self.addrs.get(dev).map_or(&[], Vec::as_slice)
    }

    /// `addr/prefix` of the global-scope addresses of `dev`.
    fn global_addrs(&self, dev: &str) -> BTreeSet<String> {
        self.addrs(dev)
            .iter()
            .filter(|a| a["scope"] == "global")
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or("?"), a["prefixlen"]))
            .collect()
    }

    /// The routes on `dev` of a family that are not the kernel's own, as
    /// `dst via gw metric m`.
    fn routes_on(&self, fam: &str, dev: &str) -> BTreeSet<String> {
        self.routes
            .iter()
            .filter(|(f, r)| *f == fam && r["dev"] == dev && r["protocol"] != "kernel")
            .map(|(_, r)| {
                let mut s = r["dst"].as_str().unwrap_or("?").to_string();
                if let Some(gw) = r["gateway"].as_str() {
                    s.push_str(&format!(" via {gw}"));
                }
                if let Some(m) = r["metric"].as_u64() {
                    s.push_str(&format!(" metric {m}"));
                }
                s
            })
            .collect()
    }
}

/// netconf's `ifquery ARGS` on the harness's file, in its namespace.
fn ifquery(h: &Harness, args: &[&str]) -> Out {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", h.ns.name()])
        .arg(&bins().ifquery)
        .arg("-i")
        .arg(h.interfaces_path())
        .args(args)
        .current_dir("/");
    run(c)
}

/// Up with `args`, `check` the kernel, up again writing nothing, down
/// leaving the links and addresses that were there before.
fn up_again_and_down(stanzas: &str, args: &[&str], check: impl FnOnce(&View)) {
    load_tunnel_modules();
    let h = Harness::new();
    h.write_interfaces(stanzas);
    let before = links_and_addrs(&h.ns);
    h.ifup(&[&["-v"], args].concat()).assert_ok();
    check(&View::read(&h.ns));
    // `ifquery --check` passes every option; `--running` shows the tunnels.
    let check = ifquery(&h, &[&["--check"], args].concat());
    assert!(check.success(), "{}", check.all_output());
    let running = ifquery(&h, &[&["--running"], args].concat());
    assert!(running.success(), "{}", running.all_output());
    for name in args {
        assert!(
            running.stdout.contains(&format!("iface {name} ")),
            "{}",
            running.stdout
        );
    }
    assert!(
        running.stdout.contains("\ttunnel-mode "),
        "{}",
        running.stdout
    );
    assert_second_ifup_writes_nothing(&h, args);
    h.ifdown(&[&["-v"], args].concat()).assert_ok();
    assert_back_to(&h, &before);
}

const INET_TUNNEL: &str = "iface gre1 inet tunnel\n    mode gre\n    endpoint 198.51.100.2\n    \
         local 198.51.100.1\n    address 203.0.113.1\n    netmask 255.255.255.252\n    \
         dstaddr 203.0.113.2\n    gateway 203.0.113.2\n    metric 5\n    ttl 64\n    \
         mtu 1400\n\n\
         iface ipip1 inet tunnel\n    mode ipip\n    endpoint 198.51.100.4\n    \
         address 203.0.113.5\n    netmask 30\n\n\
         iface sit1 inet tunnel\n    mode sit\n    endpoint 198.51.100.6\n    \
         local 198.51.100.5\n    address 203.0.113.9\n    netmask 30\n    ttl 30\n";

fn check_inet_tunnel(v: &View) {
    let gre = v.link("gre1");
    assert_eq!(kind(gre), Some("gre"), "{gre}");
    let d = v.data("gre1");
    assert_eq!(d["remote"], "198.51.100.2", "{gre}");
    assert_eq!(d["local"], "198.51.100.1", "{gre}");
    assert_eq!(d["ttl"], 64, "{gre}");
    assert_eq!(gre["mtu"], 1400, "{gre}");
    assert!(v.is_up("gre1"));
    let a = &v.addrs("gre1")[0];
    assert_eq!(
        (&a["local"], &a["address"], &a["prefixlen"]),
        (
            &Value::from("203.0.113.1"),
            &Value::from("203.0.113.2"),
            &Value::from(32)
        ),
        "{a}"
    );
    assert_eq!(
        v.routes_on("-4", "gre1"),
        set(&["default via 203.0.113.2 metric 5"])
    );

    let ipip = v.link("ipip1");
    assert_eq!(kind(ipip), Some("ipip"), "{ipip}");
    assert_eq!(v.data("ipip1")["remote"], "198.51.100.4", "{ipip}");
    assert_eq!(v.data("ipip1")["local"], "any", "{ipip}");
    assert_eq!(v.global_addrs("ipip1"), set(&["203.0.113.5/30"]));

    let sit = v.link("sit1");
    assert_eq!(kind(sit), Some("sit"), "{sit}");
    let d = v.data("sit1");
    assert_eq!(
        (&d["remote"], &d["local"], &d["ttl"]),
        (
            &Value::from("198.51.100.6"),
            &Value::from("198.51.100.5"),
            &Value::from(30)
        ),
        "{sit}"
    );
    assert!(v.global_addrs("sit1").contains("203.0.113.9/30"));
}

const V4TUNNEL: &str =
    "iface he0 inet6 v4tunnel\n    endpoint 198.51.100.2\n    local 198.51.100.1\n    \
         address 2001:db8::1\n    netmask 64\n    gateway 2001:db8::2\n    metric 7\n    \
         ttl 64\n    mtu 1280\n    preferred-lifetime 3600\n";

fn check_v4tunnel(v: &View) {
    let he = v.link("he0");
    assert_eq!(kind(he), Some("sit"), "{he}");
    let d = v.data("he0");
    assert_eq!(d["remote"], "198.51.100.2", "{he}");
    assert_eq!(d["local"], "198.51.100.1", "{he}");
    assert_eq!(d["ttl"], 64, "{he}");
    assert_eq!(he["mtu"], 1280, "{he}");
    let a = v
        .addrs("he0")
        .iter()
        .find(|a| a["local"] == "2001:db8::1")
        .unwrap_or_else(|| panic!("no 2001:db8::1 on he0: {:?}", v.addrs("he0")));
    assert_eq!(a["prefixlen"], 64, "{a}");
    let preferred = a["preferred_life_time"].as_u64().unwrap_or(0);
    assert!((3000..=3600).contains(&preferred), "{a}");
    assert_eq!(
        v.routes_on("-6", "he0"),
        set(&[
            "2001:db8::2 metric 1024",
            "default via 2001:db8::2 metric 7",
        ])
    );
}

const SIXTOFOUR: &str =
    "iface tun6to4 inet6 6to4\n    local 198.51.100.1\n    metric 9\n    ttl 64\n    \
         mtu 1280\n    preferred-lifetime 3600\n";

fn check_6to4(v: &View) {
    let t = v.link("tun6to4");
    assert_eq!(kind(t), Some("sit"), "{t}");
    let d = v.data("tun6to4");
    assert_eq!(d["remote"], "any", "{t}");
    assert_eq!(d["local"], "198.51.100.1", "{t}");
    assert_eq!(d["ttl"], 64, "{t}");
    assert_eq!(t["mtu"], 1280, "{t}");
    assert!(
        v.global_addrs("tun6to4").contains("2002:c633:6401::1/16"),
        "{:?}",
        v.global_addrs("tun6to4")
    );
    assert!(
        v.routes_on("-6", "tun6to4")
            .contains("2000::/3 via ::192.88.99.1 metric 9"),
        "{:?}",
        v.routes_on("-6", "tun6to4")
    );
}

const INET6_TUNNEL: &str =
    "iface t66 inet6 tunnel\n    mode ip6ip6\n    endpoint 2001:db8:1::2\n    \
         local 2001:db8:1::1\n    address 2001:db8:2::1\n    netmask 64\n    \
         gateway 2001:db8:2::2\n    metric 3\n    ttl 30\n    encaplimit 2\n    mtu 1400\n\n\
         iface t46 inet6 tunnel\n    mode ipip6\n    endpoint 2001:db8:1::4\n    \
         address 203.0.113.1\n    netmask 30\n    dstaddr 203.0.113.2\n    \
         gateway 203.0.113.2\n    encaplimit none\n\n\
         iface t6gre inet6 tunnel\n    mode ip6gre\n    endpoint 2001:db8:1::6\n    \
         local 2001:db8:1::5\n    address 2001:db8:3::1\n    netmask 64\n";

fn check_inet6_tunnel(v: &View) {
    let t = v.link("t66");
    assert_eq!(kind(t), Some("ip6tnl"), "{t}");
    let d = v.data("t66");
    assert_eq!(d["proto"], "ip6ip6", "{t}");
    assert_eq!(d["remote"], "2001:db8:1::2", "{t}");
    assert_eq!(d["local"], "2001:db8:1::1", "{t}");
    assert_eq!(d["ttl"], 30, "{t}");
    assert_eq!(d["encap_limit"], 2, "{t}");
    assert_eq!(t["mtu"], 1400, "{t}");
    assert!(v.global_addrs("t66").contains("2001:db8:2::1/64"));
    assert!(v
        .routes_on("-6", "t66")
        .contains("default via 2001:db8:2::2 metric 3"));

    let t = v.link("t46");
    let d = v.data("t46");
    assert_eq!(d["proto"], "ipip6", "{t}");
    assert_eq!(d["ttl"], 64, "{t}");
    assert_eq!(d["ip6_tnl_f_ign_encap_limit"], true, "{t}");
    assert_eq!(v.global_addrs("t46"), set(&["203.0.113.1/32"]));
    assert_eq!(v.routes_on("-4", "t46"), set(&["default via 203.0.113.2"]));

    let t = v.link("t6gre");
    assert_eq!(kind(t), Some("ip6gre"), "{t}");
    let d = v.data("t6gre");
    assert_eq!(d["remote"], "2001:db8:1::6", "{t}");
    assert_eq!(d["local"], "2001:db8:1::5", "{t}");
    assert_eq!(d["ttl"], 64, "{t}");
    assert_eq!(d["encap_limit"], 4, "{t}");
    assert!(v.global_addrs("t6gre").contains("2001:db8:3::1/64"));
}

const GRETAPS: &str =
    "iface gt4 inet static\n    address 198.18.0.1/24\n    tunnel-mode gretap\n    \
         tunnel-local 198.51.100.1\n    tunnel-endpoint 198.51.100.2\n    tunnel-ttl 10\n\n\
         iface gt6 inet manual\n    use tunnel\n    tunnel-mode ip6gretap\n    \
         tunnel-local 2001:db8:1::1\n    tunnel-remote 2001:db8:1::2\n";

fn check_gretaps(v: &View) {
    let t = v.link("gt4");
    assert_eq!(kind(t), Some("gretap"), "{t}");
    let d = v.data("gt4");
    assert_eq!(d["remote"], "198.51.100.2", "{t}");
    assert_eq!(d["local"], "198.51.100.1", "{t}");
    assert_eq!(d["ttl"], 10, "{t}");
    assert_eq!(v.global_addrs("gt4"), set(&["198.18.0.1/24"]));
    assert!(v.is_up("gt4"));

    let t = v.link("gt6");
    assert_eq!(kind(t), Some("ip6gretap"), "{t}");
    let d = v.data("gt6");
    assert_eq!(d["remote"], "2001:db8:1::2", "{t}");
    assert_eq!(d["local"], "2001:db8:1::1", "{t}");
    assert!(v.is_up("gt6"));
}

/// `inet tunnel` (gre, ipip, sit), `inet6 v4tunnel`, `inet6 6to4` and
/// ifupdown2's gretap and ifupdown-ng's ip6gretap: each method's stanzas
/// checked on their own, in one namespace (one netconfd, one settle: the
/// emulated VM is slow).
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ipv4_methods_and_gretaps_up_again_and_down() {
    let all = [INET_TUNNEL, V4TUNNEL, SIXTOFOUR, GRETAPS].join("\n");
    let names = ["gre1", "ipip1", "sit1", "he0", "tun6to4", "gt4", "gt6"];
    up_again_and_down(&all, &names, |v| {
        check_inet_tunnel(v);
        check_v4tunnel(v);
        check_6to4(v);
        check_gretaps(v);
    });
}

/// `inet6 tunnel`: ip6ip6, ipip6 and ip6gre, with iproute2's defaults.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn inet6_tunnel_up_again_and_down() {
    let names = ["t66", "t46", "t6gre"];
    up_again_and_down(INET6_TUNNEL, &names, check_inet6_tunnel);
}

/// Each tunnel's attributes as lines (`tunnel NAME KEY VALUE`), for the
/// comparison with Debian's: the base snapshot has kinds, not these.
fn tunnel_lines(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in ns.ip_json(&["-d", "link", "show"]) {
        let name = l["ifname"].as_str().unwrap_or("?");
        if let Some(data) = l["linkinfo"]["info_data"].as_object() {
            for (key, value) in data {
                out.insert(format!("tunnel {name} {key} {value}"));
            }
        }
    }
    out
}

/// Debian's `ifup -a` and `ifdown -a` (`ip tunnel add ...`) and netconf's on
/// `inet tunnel` gre and sit, `v4tunnel` and `6to4`: the same kernel state.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn tunnels_as_debian_makes_them() {
    require_ifupdown(&[]);
    require_bridge_utils("tunnel differential");
    load_tunnel_modules();
    let stanzas = "auto gre1 sit1 he0 tun6to4\n\
        iface gre1 inet tunnel\n    mode gre\n    endpoint 198.51.100.2\n    \
        local 198.51.100.1\n    address 203.0.113.1\n    netmask 255.255.255.252\n    \
        dstaddr 203.0.113.2\n    gateway 203.0.113.2\n    metric 5\n    ttl 64\n    mtu 1400\n\n\
        iface sit1 inet tunnel\n    mode sit\n    endpoint 198.51.100.4\n    \
        address 203.0.113.5\n    netmask 30\n\n\
        iface he0 inet6 v4tunnel\n    endpoint 198.51.100.6\n    local 198.51.100.5\n    \
        address 2001:db8::1\n    netmask 64\n    gateway 2001:db8::2\n    metric 7\n    \
        ttl 64\n    mtu 1280\n\n\
        iface tun6to4 inet6 6to4\n    local 198.51.100.9\n    metric 9\n    mtu 1280\n";
    let shown = Shown::BASE;
    let state = |ns: &Netns| -> BTreeSet<String> {
        let mut all = snapshot(ns, &shown);
        all.extend(tunnel_lines(ns));
        all
    };
    let view = BridgeUtilsView::new(stanzas);
    let ns = Netns::new();
    view.run(&ns, "ifup", &["-a"]).assert_ok();
    let deb_up = state(&ns);
    for want in [
        "link gre1 kind gre",
        "link sit1 kind sit",
        "link he0 kind sit",
        "link tun6to4 kind sit",
        "route -6 2000::/3 via ::192.88.99.1 dev tun6to4",
    ] {
        assert!(
            deb_up.iter().any(|l| l.starts_with(want)),
            "Debian's ifup -a left no `{want}...`:\n{}",
            lines(&deb_up, "")
        );
    }
    view.run(&ns, "ifdown", &["-a"]).assert_ok();
    let deb_down = state(&ns);
    drop(ns);

    let h = Harness::new();
    h.write_interfaces(stanzas);
    h.ifup(&["-a"]).assert_ok();
    assert_same("tunnels", "ifup -a", "netconf", &deb_up, &state(&h.ns));
    h.ifdown(&["-a"]).assert_ok();
    assert_same("tunnels", "ifdown -a", "netconf", &deb_down, &state(&h.ns));
}
