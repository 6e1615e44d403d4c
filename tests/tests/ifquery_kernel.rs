//! End-to-end tests of `ifquery --running` and `ifquery --check`: each test
//! builds links, addresses and routes with `ip` in a network namespace of its
//! own, runs our `ifquery` inside it (`ip netns exec NS ifquery -i FILE ...`,
//! with an interfaces file in a private directory) and asserts what it
//! printed — the exact text, the verdict of each option, the JSON — and its
//! exit status. No daemon is involved: ifquery reads the kernel itself.
//!
//! Only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 are used, and only
//! inside the namespaces. Needs root.
//! Run: `cargo build --bins && cargo test -p netconf-tests --test ifquery_kernel`.

use netconf_tests::{bins, run, Netns, Out};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// A namespace and a private directory for interfaces files.
struct World {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let ns = Netns::new();
        let dir = tempfile::Builder::new()
            .prefix("nct-ifquery-")
            .tempdir()
            .expect("temporary directory");
        World { ns, dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).expect("writing an interfaces file");
        path
    }

    /// Our ifquery inside the namespace, reading `file`.
    fn ifquery(&self, file: &PathBuf, args: &[&str]) -> Out {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name()])
            .arg(&bins().ifquery)
            .arg("-i")
            .arg(file)
            .args(args)
            .current_dir("/");
        run(c)
    }

    /// Writes an IPv6 sysctl of a link inside the namespace.
    fn ipv6_conf(&self, dev: &str, key: &str, value: &str) {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name(), "sh", "-c"])
            .arg(format!(
                "echo {value} > /proc/sys/net/ipv6/conf/{dev}/{key}"
            ));
        run(c).assert_ok();
    }
}

/// An `iface` line of `--check`, laid out as ifupdown2 does.
fn iface_row(text: &str, status: &str) -> String {
    format!("{text:65} {:>8}", format!("[{status}]"))
}

/// An option line of `--check`, laid out as ifupdown2 does.
fn option_row(text: &str, status: &str) -> String {
    format!("\t{text:55} {:>10}", format!("[{status}]"))
}

/// Everything [`STATIC_V0`] asks for, made with `ip`: v0 up with MTU 1400,
/// two IPv4 addresses with broadcast, an IPv4 and an IPv6 default route with
/// metrics, one IPv6 address (no DAD, so it is usable at once), accept_ra 0.
const STATIC_V0_SETUP: &str = "\
link set v0 mtu 1400 up
addr add 198.51.100.10/24 brd + dev v0
addr add 198.51.100.11/24 brd + dev v0
route add default via 198.51.100.1 dev v0 metric 100
addr add 2001:db8:10::10/64 dev v0 nodad
route add default via 2001:db8:10::1 dev v0 metric 200
";

const STATIC_V0: &str = "\
auto v0
iface v0 inet static
    address 198.51.100.10/24
    address 198.51.100.11/24
    broadcast 198.51.100.255
    gateway 198.51.100.1
    metric 100
    mtu 1400
    up true

iface v0 inet6 static
    address 2001:db8:10::10/64
    gateway 2001:db8:10::1
    metric 200
    accept_ra 0
    dad-attempts 0
";

/// A world whose v0 holds exactly what [`STATIC_V0`] asks for.
fn static_v0_world() -> (World, PathBuf) {
    let w = World::new();
    w.ns.veth("v0");
    w.ns.batch(STATIC_V0_SETUP);
    w.ipv6_conf("v0", "accept_ra", "0");
    let file = w.write("interfaces", STATIC_V0);
    (w, file)
}

/// The `--check` text for [`STATIC_V0`] with the given verdicts for the
/// IPv4 stanza's option lines, in order (address, address, broadcast,
/// gateway, metric, mtu), and the IPv6 stanza's (address, gateway, metric,
/// accept_ra).
fn static_v0_check(v4: [&str; 6], v6: [&str; 4]) -> String {
    let status = |all: &[&str]| {
        if all.contains(&"fail") {
            "fail"
        } else {
            "pass"
        }
    };
    let mut lines = vec![
        "auto v0".to_string(),
        iface_row("iface v0 inet static", status(&v4)),
    ];
    for (text, verdict) in [
        "address 198.51.100.10/24",
        "address 198.51.100.11/24",
        "broadcast 198.51.100.255",
        "gateway 198.51.100.1",
        "metric 100",
        "mtu 1400",
    ]
    .iter()
    .zip(v4)
    {
        lines.push(option_row(text, verdict));
    }
    lines.push("\tup true".to_string());
    lines.push(String::new());
    lines.push(iface_row("iface v0 inet6 static", status(&v6)));
    for (text, verdict) in [
        "address 2001:db8:10::10/64",
        "gateway 2001:db8:10::1",
        "metric 200",
        "accept_ra 0",
    ]
    .iter()
    .zip(v6)
    {
        lines.push(option_row(text, verdict));
    }
    lines.push("\tdad-attempts 0".to_string());
    lines.push(String::new());
    lines.join("\n") + "\n"
}

const PASS: &str = "pass";
const FAIL: &str = "fail";

/// A configuration the kernel matches passes every checkable option, hooks
/// and DAD settings get no verdict, and the exit status is 0. The layout is
/// ifupdown2's to the column.
#[test]
fn check_passes_when_the_kernel_matches() {
    let (w, file) = static_v0_world();
    let out = w.ifquery(&file, &["--check", "v0"]);
    out.assert_ok();
    assert_eq!(out.stdout, static_v0_check([PASS; 6], [PASS; 4]), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    // The columns themselves: `[` of an iface line's verdict at 68, of an
    // option's at 61 (after the tab), as ifupdown2's '{0:65} {1:>8}' and
    // '\t{0:55} {1:>10}' put them.
    let first_iface = out.stdout.lines().nth(1).expect("an iface line");
    assert_eq!(first_iface.find('['), Some(68), "{first_iface:?}");
    let first_option = out.stdout.lines().nth(2).expect("an option line");
    assert_eq!(first_option.find('['), Some(61), "{first_option:?}");

    // -a is the auto class: lo (Debian's implicit stanza) and v0.
    let out = w.ifquery(&file, &["--check", "-a"]);
    out.assert_ok();
    let lo = format!("auto lo\n{}\n\n", iface_row("iface lo inet loopback", PASS));
    assert_eq!(
        out.stdout,
        lo + &static_v0_check([PASS; 6], [PASS; 4]),
        "{out}"
    );
}

/// Each change made behind the configuration's back fails exactly the
/// option it touches, and the exit status becomes 1.
#[test]
fn check_fails_the_option_that_differs() {
    let (w, file) = static_v0_world();

    w.ns.ip(&["addr", "del", "198.51.100.11/24", "dev", "v0"]);
    let out = w.ifquery(&file, &["--check", "v0"]);
    out.assert_code(1);
    assert_eq!(
        out.stdout,
        static_v0_check([PASS, FAIL, PASS, PASS, PASS, PASS], [PASS; 4]),
        "{out}"
    );

    w.ns.ip(&[
        "route",
        "del",
        "default",
        "via",
        "198.51.100.1",
        "dev",
        "v0",
    ]);
    w.ns.ip(&["link", "set", "v0", "mtu", "1500"]);
    w.ipv6_conf("v0", "accept_ra", "1");
    let out = w.ifquery(&file, &["--check", "v0"]);
    out.assert_code(1);
    // The IPv6 MTU followed the link's; inet6 has no mtu line here.
    assert_eq!(
        out.stdout,
        static_v0_check(
            [PASS, FAIL, PASS, FAIL, FAIL, FAIL],
            [PASS, PASS, PASS, FAIL]
        ),
        "{out}"
    );

    // A metric of its own is a metric failure, not a gateway failure.
    w.ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "198.51.100.1",
        "dev",
        "v0",
        "metric",
        "7",
    ]);
    w.ns.ip(&[
        "-6",
        "route",
        "del",
        "default",
        "via",
        "2001:db8:10::1",
        "dev",
        "v0",
    ]);
    let out = w.ifquery(&file, &["--check", "v0"]);
    out.assert_code(1);
    assert_eq!(
        out.stdout,
        static_v0_check(
            [PASS, FAIL, PASS, PASS, FAIL, FAIL],
            [PASS, FAIL, FAIL, FAIL]
        ),
        "{out}"
    );

    // The JSON says the same, with the kernel's values.
    let out = w.ifquery(&file, &["--check", "--json", "v0"]);
    out.assert_code(1);
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let v4 = &report[0];
    assert_eq!(v4["status"], "fail");
    let metric = &v4["config"][4];
    assert_eq!(metric["option"], "metric");
    assert_eq!(metric["value"], "100");
    assert_eq!(metric["status"], "fail");
    assert_eq!(metric["running"], "7");
    let mtu = &v4["config"][5];
    assert_eq!(
        (&mtu["option"], &mtu["status"], &mtu["running"]),
        (&"mtu".into(), &"fail".into(), &"1500".into())
    );
    let gone = &v4["config"][1];
    assert_eq!(
        (&gone["value"], &gone["status"], &gone["running"]),
        (&"198.51.100.11/24".into(), &"fail".into(), &Value::Null)
    );
}

/// `--check --json`: one object per stanza with exactly the documented keys,
/// every option with one of the three statuses.
#[test]
fn check_json_schema() {
    let (w, file) = static_v0_world();
    let out = w.ifquery(&file, &["--check", "--json", "-a"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let stanzas = report.as_array().expect("an array");
    assert_eq!(stanzas.len(), 3, "lo, v0 inet, v0 inet6: {report:#}");
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    let stanza_keys: BTreeSet<String> = [
        "name", "logical", "family", "method", "auto", "status", "reasons", "config",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let option_keys: BTreeSet<String> = ["option", "value", "status", "running"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for s in stanzas {
        assert_eq!(keys(s), stanza_keys, "{s:#}");
        assert_eq!(s["status"], "pass", "{s:#}");
        assert_eq!(s["reasons"], Value::Array(Vec::new()), "{s:#}");
        assert_eq!(s["auto"], true, "{s:#}");
        for o in s["config"].as_array().expect("config array") {
            assert_eq!(keys(o), option_keys, "{o:#}");
            assert!(
                ["pass", "fail", "unchecked"].contains(&o["status"].as_str().unwrap_or("")),
                "{o:#}"
            );
        }
    }
    assert_eq!(
        (&stanzas[0]["name"], &stanzas[0]["method"]),
        (&"lo".into(), &"loopback".into())
    );
    let v6 = &stanzas[2];
    assert_eq!(
        (&v6["name"], &v6["logical"], &v6["family"], &v6["method"]),
        (
            &"v0".into(),
            &"v0".into(),
            &"inet6".into(),
            &"static".into()
        )
    );
    let summary: Vec<(String, String, String)> = v6["config"]
        .as_array()
        .expect("config")
        .iter()
        .map(|o| {
            (
                o["option"].as_str().unwrap_or("").to_string(),
                o["status"].as_str().unwrap_or("").to_string(),
                o["running"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("address", "pass", "2001:db8:10::10/64"),
        ("gateway", "pass", "2001:db8:10::1"),
        ("metric", "pass", "200"),
        ("accept_ra", "pass", "0"),
        ("dad-attempts", "unchecked", "-"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(summary, want);
}

/// `--running` writes the kernel's state as interfaces(5): static stanzas
/// from addresses and default routes, `inet manual` for an up link without
/// addresses, `hwaddress` only where the configuration has one, comments for
/// a link that is down and one that does not exist.
#[test]
fn running_prints_the_kernels_configuration() {
    let (w, _) = static_v0_world();
    w.ns.veth("v1");
    w.ns.veth("v2");
    w.ns.batch("link set v1 address 02:00:5e:00:53:01 mtu 9000 up\n");
    let file = w.write(
        "interfaces",
        &format!(
            "{STATIC_V0}\niface v1 inet manual\n    hwaddress 02:00:5e:00:53:01\n\n\
             auto v2\niface v2 inet manual\n\nauto v3\niface v3 inet dhcp\n"
        ),
    );
    let out = w.ifquery(&file, &["--running", "lo", "v0", "v1", "v2", "v3"]);
    out.assert_ok();
    assert_eq!(
        out.stdout,
        "auto lo\n\
         iface lo inet loopback\n\
         \n\
         auto v0\n\
         iface v0 inet static\n\
         \taddress 198.51.100.10/24\n\
         \taddress 198.51.100.11/24\n\
         \tgateway 198.51.100.1\n\
         \tmetric 100\n\
         \tmtu 1400\n\
         \n\
         iface v0 inet6 static\n\
         \taddress 2001:db8:10::10/64\n\
         \tgateway 2001:db8:10::1\n\
         \tmetric 200\n\
         \n\
         iface v1 inet manual\n\
         \tmtu 9000\n\
         \thwaddress 02:00:5e:00:53:01\n\
         \n\
         # v2: link is down\n\
         \n\
         # v3: no such interface\n\
         \n",
        "{out}"
    );
    assert_eq!(out.stderr, "", "{out}");

    let out = w.ifquery(&file, &["--running", "--json", "v0", "v2", "v3"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let v0 = &report[0];
    assert_eq!(
        (&v0["name"], &v0["auto"], &v0["state"]),
        (&"v0".into(), &true.into(), &"up".into())
    );
    let stanzas = v0["stanzas"].as_array().expect("stanzas");
    assert_eq!(stanzas.len(), 2);
    assert_eq!(
        (&stanzas[1]["family"], &stanzas[1]["method"]),
        (&"inet6".into(), &"static".into())
    );
    assert_eq!(
        stanzas[0]["config"][0],
        serde_json::json!({"option": "address", "value": "198.51.100.10/24"})
    );
    assert_eq!(report[1]["state"], "down");
    assert_eq!(report[2]["state"], "absent");
    assert_eq!(report[2]["stanzas"], Value::Array(Vec::new()));
}

/// What `--running` prints, read back as the configuration, passes
/// `--check`; after a change it no longer does, on that option.
#[test]
fn running_round_trips_through_check() {
    let (w, file) = static_v0_world();
    let running = w.ifquery(&file, &["--running", "-a"]);
    running.assert_ok();
    let saved = w.write("running", &running.stdout);

    let out = w.ifquery(&saved, &["--check", "-a"]);
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    // Every line of the saved file, with a verdict (auto lines have none).
    let saved_lines = running
        .stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("auto "))
        .count();
    let passes = lines.iter().filter(|l| l.ends_with("[pass]")).count();
    assert_eq!(passes, saved_lines, "{out}");
    assert!(!out.stdout.contains("[fail]"), "{out}");

    w.ns.ip(&["addr", "del", "198.51.100.11/24", "dev", "v0"]);
    let out = w.ifquery(&saved, &["--check", "-a"]);
    out.assert_code(1);
    let failed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.ends_with("[fail]"))
        .collect();
    assert_eq!(
        failed,
        vec![
            iface_row("iface v0 inet static", FAIL).as_str(),
            option_row("address 198.51.100.11/24", FAIL).as_str(),
        ],
        "{out}"
    );
}

/// The stanza as a whole: a link that is down, one that does not exist, a
/// DHCP stanza without an address, an invalid stanza, a ppp stanza whose
/// link pppd has not made. Each fails with its reason on the `iface` line; loopback,
/// an up manual link and a DHCP link with an address pass.
#[test]
fn check_of_links_methods_and_bad_stanzas() {
    let w = World::new();
    for name in ["m0", "m1", "d0", "d1"] {
        w.ns.veth(name);
    }
    w.ns.batch("link set m1 up\nlink set d0 up\nlink set d1 up\naddr add 203.0.113.6/24 dev d1\n");
    let file = w.write(
        "interfaces",
        "iface m0 inet manual\n\
         iface m1 inet manual\n\
         iface d0 inet dhcp\n\
         \x20   hostname box\n\
         iface d1 inet dhcp\n\
         iface gone0 inet manual\n\
         iface bad0 inet static\n\
         \x20   address 203.0.113.300/24\n\
         iface ppp0 inet ppp\n\
         \x20   provider isp\n",
    );
    let out = w.ifquery(
        &file,
        &[
            "--check", "lo", "m0", "m1", "d0", "d1", "gone0", "bad0", "ppp0",
        ],
    );
    out.assert_code(1);
    let want = [
        "auto lo".to_string(),
        iface_row("iface lo inet loopback", PASS),
        String::new(),
        iface_row("iface m0 inet manual (link down)", FAIL),
        String::new(),
        iface_row("iface m1 inet manual", PASS),
        String::new(),
        iface_row("iface d0 inet dhcp (no IPv4 address)", FAIL),
        "\thostname box".to_string(),
        String::new(),
        iface_row("iface d1 inet dhcp", PASS),
        String::new(),
        iface_row("iface gone0 inet manual (not found)", FAIL),
        String::new(),
        iface_row(
            "iface bad0 inet static (bad0: option `address`: `203.0.113.300/24` is not an \
             IPv4 address (dotted quad, optionally /prefix))",
            FAIL,
        ),
        "\taddress 203.0.113.300/24".to_string(),
        String::new(),
        // pppd's link is not there.
        iface_row("iface ppp0 inet ppp (not found)", FAIL),
        String::new(),
    ];
    assert_eq!(out.stdout, want.join("\n") + "\n", "{out}");

    // Only the healthy ones: exit 0.
    let out = w.ifquery(&file, &["--check", "lo", "m1", "d1"]);
    out.assert_ok();
}

/// Errors keep ifquery's ways: an interface without a stanza is Debian's
/// "unknown interface" (the others are still answered, exit 1); --running
/// and --check exclude each other and --list; `-a` without them is still
/// Debian's usage error, and `--r` still Debian's `--read-environment`.
#[test]
fn unknown_interfaces_and_usage() {
    let (w, file) = static_v0_world();
    for mode in ["--check", "--running"] {
        let out = w.ifquery(&file, &[mode, "nosuch", "v0"]);
        out.assert_code(1);
        assert_eq!(out.stderr, "ifquery: unknown interface nosuch\n", "{out}");
        assert!(
            out.stdout.starts_with("auto v0\niface v0 inet static"),
            "{out}"
        );
    }
    for args in [
        &["--running", "--check", "v0"][..],
        &["--check", "-l"][..],
        &["--running", "--state", "v0"][..],
    ] {
        let out = w.ifquery(&file, args);
        out.assert_code(1);
        assert_eq!(
            out.stderr,
            "ifquery: --running and --check go with none of --list, --state, --syntax-check \
             and each other\nifquery: Use --help for help\n",
            "{out}"
        );
        assert_eq!(out.stdout, "");
    }
    let out = w.ifquery(&file, &["--check"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "ifquery: no interface(s) specified\nifquery: Use --help for help\n"
    );
    let out = w.ifquery(&file, &["-a"]);
    out.assert_code(1);
    assert_eq!(out.stderr, "ifquery: Use --help for help\n");
    let out = w.ifquery(&file, &["--r", "-l"]);
    out.assert_ok();
    assert_eq!(out.stdout, "lo\nv0\n");
    // Short options as ifupdown2's.
    let short = w.ifquery(&file, &["-c", "v0"]);
    let long = w.ifquery(&file, &["--check", "v0"]);
    assert_eq!(short.stdout, long.stdout);
    let short = w.ifquery(&file, &["-r", "v0"]);
    let long = w.ifquery(&file, &["--running", "v0"]);
    assert_eq!(short.stdout, long.stdout);
}
