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
use netconf_tests::links::{details, exists, kind, set};
use netconf_tests::{require_root, run, Harness, Netns};
use serde_json::Value;
use std::collections::BTreeSet;
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

/// A tunnel's `IFLA_INFO_DATA` as `ip -d -j link` shows it.
fn data(ns: &Netns, dev: &str) -> Value {
    details(ns, dev)["linkinfo"]["info_data"].clone()
}

/// The main table's routes on `dev` of a family, as `dst via gw metric m`.
fn routes_on(ns: &Netns, fam: &str, dev: &str) -> BTreeSet<String> {
    ns.ip_json(&[fam, "route", "show", "table", "main", "dev", dev])
        .iter()
        .filter(|r| !r["dst"].as_str().unwrap_or("").starts_with("fe80:"))
        .filter(|r| r["protocol"] != "kernel")
        .map(|r| {
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

/// Up with `args`, `check` the kernel, up again writing nothing, down
/// leaving what was there before, the `gone` links deleted.
fn up_again_and_down(stanzas: &str, args: &[&str], gone: &[&str], check: impl FnOnce(&Netns)) {
    load_tunnel_modules();
    let h = Harness::new();
    h.write_interfaces(stanzas);
    let before = links_and_addrs(&h.ns);
    h.ifup(&[&["-v"], args].concat()).assert_ok();
    check(&h.ns);
    assert_second_ifup_writes_nothing(&h, args);
    h.ifdown(&[&["-v"], args].concat()).assert_ok();
    for dev in gone {
        assert!(!exists(&h.ns, dev), "{dev} is still there");
    }
    assert_back_to(&h, &before);
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn inet_tunnel_gre_ipip_sit_up_again_and_down() {
    up_again_and_down(
        "iface gre1 inet tunnel\n    mode gre\n    endpoint 198.51.100.2\n    \
         local 198.51.100.1\n    address 203.0.113.1\n    netmask 255.255.255.252\n    \
         dstaddr 203.0.113.2\n    gateway 203.0.113.2\n    metric 5\n    ttl 64\n    \
         mtu 1400\n\n\
         iface ipip1 inet tunnel\n    mode ipip\n    endpoint 198.51.100.4\n    \
         address 203.0.113.5\n    netmask 30\n\n\
         iface sit1 inet tunnel\n    mode sit\n    endpoint 198.51.100.6\n    \
         local 198.51.100.5\n    address 203.0.113.9\n    netmask 30\n    ttl 30\n",
        &["gre1", "ipip1", "sit1"],
        &["gre1", "ipip1", "sit1"],
        |ns| {
            let gre = details(ns, "gre1");
            assert_eq!(kind(&gre), Some("gre"), "{gre}");
            let d = data(ns, "gre1");
            assert_eq!(d["remote"], "198.51.100.2", "{gre}");
            assert_eq!(d["local"], "198.51.100.1", "{gre}");
            assert_eq!(d["ttl"], 64, "{gre}");
            assert_eq!(gre["mtu"], 1400, "{gre}");
            assert!(ns.is_up("gre1"));
            let addrs = ns.ip_json(&["-4", "addr", "show", "dev", "gre1"]);
            let a = &addrs[0]["addr_info"][0];
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
                routes_on(ns, "-4", "gre1"),
                set(&["default via 203.0.113.2 metric 5"])
            );

            let ipip = details(ns, "ipip1");
            assert_eq!(kind(&ipip), Some("ipip"), "{ipip}");
            assert_eq!(data(ns, "ipip1")["remote"], "198.51.100.4", "{ipip}");
            assert_eq!(data(ns, "ipip1")["local"], "any", "{ipip}");
            assert_eq!(ns.global_addrs("ipip1"), set(&["203.0.113.5/30"]));

            let sit = details(ns, "sit1");
            assert_eq!(kind(&sit), Some("sit"), "{sit}");
            let d = data(ns, "sit1");
            assert_eq!(
                (&d["remote"], &d["local"], &d["ttl"]),
                (
                    &Value::from("198.51.100.6"),
                    &Value::from("198.51.100.5"),
                    &Value::from(30)
                ),
                "{sit}"
            );
            assert!(ns.global_addrs("sit1").contains("203.0.113.9/30"));
        },
    );
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn v4tunnel_up_again_and_down() {
    up_again_and_down(
        "iface he0 inet6 v4tunnel\n    endpoint 198.51.100.2\n    local 198.51.100.1\n    \
         address 2001:db8::1\n    netmask 64\n    gateway 2001:db8::2\n    metric 7\n    \
         ttl 64\n    mtu 1280\n    preferred-lifetime 3600\n",
        &["he0"],
        &["he0"],
        |ns| {
            let he = details(ns, "he0");
            assert_eq!(kind(&he), Some("sit"), "{he}");
            let d = data(ns, "he0");
            assert_eq!(d["remote"], "198.51.100.2", "{he}");
            assert_eq!(d["local"], "198.51.100.1", "{he}");
            assert_eq!(d["ttl"], 64, "{he}");
            assert_eq!(he["mtu"], 1280, "{he}");
            let addrs = ns.ip_json(&["-6", "addr", "show", "dev", "he0", "scope", "global"]);
            let a = addrs[0]["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["local"] == "2001:db8::1")
                .unwrap_or_else(|| panic!("no 2001:db8::1 on he0: {addrs:?}"))
                .clone();
            assert_eq!(a["prefixlen"], 64, "{a}");
            let preferred = a["preferred_life_time"].as_u64().unwrap_or(0);
            assert!((3000..=3600).contains(&preferred), "{a}");
            assert_eq!(
                routes_on(ns, "-6", "he0"),
                set(&[
                    "2001:db8::2 metric 1024",
                    "default via 2001:db8::2 metric 7",
                ])
            );
        },
    );
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn sixtofour_up_again_and_down() {
    up_again_and_down(
        "iface tun6to4 inet6 6to4\n    local 198.51.100.1\n    metric 9\n    ttl 64\n    \
         mtu 1280\n    preferred-lifetime 3600\n",
        &["tun6to4"],
        &["tun6to4"],
        |ns| {
            let t = details(ns, "tun6to4");
            assert_eq!(kind(&t), Some("sit"), "{t}");
            let d = data(ns, "tun6to4");
            assert_eq!(d["remote"], "any", "{t}");
            assert_eq!(d["local"], "198.51.100.1", "{t}");
            assert_eq!(d["ttl"], 64, "{t}");
            assert_eq!(t["mtu"], 1280, "{t}");
            assert!(
                ns.global_addrs("tun6to4").contains("2002:c633:6401::1/16"),
                "{:?}",
                ns.global_addrs("tun6to4")
            );
            assert!(
                routes_on(ns, "-6", "tun6to4").contains("2000::/3 via ::192.88.99.1 metric 9"),
                "{:?}",
                routes_on(ns, "-6", "tun6to4")
            );
        },
    );
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn inet6_tunnel_ip6ip6_ipip6_ip6gre_up_again_and_down() {
    up_again_and_down(
        "iface t66 inet6 tunnel\n    mode ip6ip6\n    endpoint 2001:db8:1::2\n    \
         local 2001:db8:1::1\n    address 2001:db8:2::1\n    netmask 64\n    \
         gateway 2001:db8:2::2\n    metric 3\n    ttl 30\n    encaplimit 2\n    mtu 1400\n\n\
         iface t46 inet6 tunnel\n    mode ipip6\n    endpoint 2001:db8:1::4\n    \
         address 203.0.113.1\n    netmask 30\n    dstaddr 203.0.113.2\n    \
         gateway 203.0.113.2\n    encaplimit none\n\n\
         iface t6gre inet6 tunnel\n    mode ip6gre\n    endpoint 2001:db8:1::6\n    \
         local 2001:db8:1::5\n    address 2001:db8:3::1\n    netmask 64\n",
        &["t66", "t46", "t6gre"],
        &["t66", "t46", "t6gre"],
        |ns| {
            let t = details(ns, "t66");
            assert_eq!(kind(&t), Some("ip6tnl"), "{t}");
            let d = data(ns, "t66");
            assert_eq!(d["proto"], "ip6ip6", "{t}");
            assert_eq!(d["remote"], "2001:db8:1::2", "{t}");
            assert_eq!(d["local"], "2001:db8:1::1", "{t}");
            assert_eq!(d["ttl"], 30, "{t}");
            assert_eq!(d["encap_limit"], 2, "{t}");
            assert_eq!(t["mtu"], 1400, "{t}");
            assert!(ns.global_addrs("t66").contains("2001:db8:2::1/64"));
            assert!(routes_on(ns, "-6", "t66").contains("default via 2001:db8:2::2 metric 3"));

            let t = details(ns, "t46");
            let d = data(ns, "t46");
            assert_eq!(d["proto"], "ipip6", "{t}");
            assert_eq!(d["ttl"], 64, "{t}");
            assert_eq!(d["ip6_tnl_f_ign_encap_limit"], true, "{t}");
            assert_eq!(ns.global_addrs("t46"), set(&["203.0.113.1/32"]));
            assert_eq!(
                routes_on(ns, "-4", "t46"),
                set(&["default via 203.0.113.2"])
            );

            let t = details(ns, "t6gre");
            assert_eq!(kind(&t), Some("ip6gre"), "{t}");
            let d = data(ns, "t6gre");
            assert_eq!(d["remote"], "2001:db8:1::6", "{t}");
            assert_eq!(d["local"], "2001:db8:1::5", "{t}");
            assert_eq!(d["ttl"], 64, "{t}");
            assert_eq!(d["encap_limit"], 4, "{t}");
            assert!(ns.global_addrs("t6gre").contains("2001:db8:3::1/64"));
        },
    );
}

#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn gretap_and_ip6gretap_in_ifupdown2_and_ng_spelling() {
    up_again_and_down(
        "iface gt4 inet static\n    address 198.18.0.1/24\n    tunnel-mode gretap\n    \
         tunnel-local 198.51.100.1\n    tunnel-endpoint 198.51.100.2\n    tunnel-ttl 10\n\n\
         iface gt6 inet manual\n    use tunnel\n    tunnel-mode ip6gretap\n    \
         tunnel-local 2001:db8:1::1\n    tunnel-remote 2001:db8:1::2\n",
        &["gt4", "gt6"],
        &["gt4", "gt6"],
        |ns| {
            let t = details(ns, "gt4");
            assert_eq!(kind(&t), Some("gretap"), "{t}");
            let d = data(ns, "gt4");
            assert_eq!(d["remote"], "198.51.100.2", "{t}");
            assert_eq!(d["local"], "198.51.100.1", "{t}");
            assert_eq!(d["ttl"], 10, "{t}");
            assert_eq!(ns.global_addrs("gt4"), set(&["198.18.0.1/24"]));
            assert!(ns.is_up("gt4"));

            let t = details(ns, "gt6");
            assert_eq!(kind(&t), Some("ip6gretap"), "{t}");
            let d = data(ns, "gt6");
            assert_eq!(d["remote"], "2001:db8:1::2", "{t}");
            assert_eq!(d["local"], "2001:db8:1::1", "{t}");
            assert!(ns.is_up("gt6"));
        },
    );
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
