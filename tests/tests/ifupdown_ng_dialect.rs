//! ifupdown-ng's dialect, proved on ifupdown-ng's own test fixtures
//! (`tests/conformance/ifupdown-ng/`, with their source and licence there).
//!
//! 1. `ng_ifquery_expectations`: every `-o match:` expectation of ifupdown-ng's
//!    `tests/ifquery_test` that is about reading the file and printing it,
//!    checked against netconf's `ifquery --dialect ifupdown-ng` (ng's `-p NAME`
//!    is our `--property NAME`; ng's `-P`, pretty printing, is our plain
//!    output; ng's `-S/dev/null` and `-E DIR` are dropped: see below). ng's
//!    `match:` is an extended regular expression; every one of them is a plain
//!    string whose dots match themselves too, so it is checked as a
//!    substring of one line of the output.
//!
//!    Left out, and why:
//!    - `state_query_home`, `state_query_work`, `state_print`: they read
//!      ng's own state file (`-S FILE.ifstate`); netconf's state is
//!      netconfd's (`ifquery --state`), which no file of ng's fills;
//!    - `learned_dependency`, `learned_dependency_2`, `learned_executor`:
//!      they run ng's mock executors (`-E tests/executors`,
//!      `mock-dependency-generator`) through ng's executor protocol (the
//!      `depend` phase of an executor script); netconf has no executors: it
//!      knows the dependencies of bridges, bonds, VLANs, VRFs and tunnels
//!      itself, which the expectations that only used `-E` to learn those
//!      (`implicit_vlan`, `vrf_dependency`, `tunnel_*_dependency`, ...)
//!      check;
//!    - `allow_undefined_positive`: ng's `-U` (an unknown interface is no
//!      error) has no counterpart; `allow_undefined_negative` is checked.
//!
//! 2. `auto_chooses_ng_only_where_a_line_says_so`: `--dialect auto` reads as
//!    ng's exactly the fixtures with a line only ng has (`use`, `inherit`),
//!    with one warning naming it, and their expectations hold there too; the
//!    others stay Debian's (`dhcp-eth0` and `ppp-legacy` are valid Debian
//!    files; the rest Debian refuses, and ifupdown2 could mean them as well).
//!
//! 3. `ng_fixtures_come_up_in_a_namespace` (root): netconfd `--dialect
//!    ifupdown-ng` in a namespace brings up the fixtures with static
//!    addresses for real (veth links named as the fixtures' interfaces) and
//!    takes them down again; `ng_fixtures_ifup_no_act` runs `ifup -a
//!    --no-act` of every fixture through the daemon.
//!
//! Run: `cargo build --bins && cargo test -p netconf-tests --test
//! ifupdown_ng_dialect`.

use netconf_tests::{bins, repo_root, run, DaemonOptions, Harness, Out};
use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    repo_root()
        .join("tests/conformance/ifupdown-ng")
        .join(format!("{name}.interfaces"))
}

fn ifquery(dialect: &str, file: &str, args: &[&str]) -> Out {
    let mut c = Command::new(&bins().ifquery);
    c.arg("--dialect")
        .arg(dialect)
        .arg("-i")
        .arg(if file.starts_with('/') {
            PathBuf::from(file)
        } else {
            fixture(file)
        })
        .args(args)
        .current_dir("/");
    run(c)
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// One `atf_check` of ifquery_test: its name, fixture, our arguments, exit
/// status and the `match:` strings.
struct Expectation {
    test: &'static str,
    fixture: &'static str,
    args: &'static [&'static str],
    status: i32,
    matches: Vec<String>,
}

fn expect(
    test: &'static str,
    fixture: &'static str,
    args: &'static [&'static str],
    matches: &[&str],
) -> Expectation {
    Expectation {
        test,
        fixture,
        args,
        status: 0,
        matches: matches.iter().map(|m| m.to_string()).collect(),
    }
}

fn expectations() -> Vec<Expectation> {
    let hostname = host_name();
    let mut all = vec![
        expect(
            "loopback_always_configured",
            "static-eth0",
            &["lo"],
            &["use loopback"],
        ),
        expect(
            "static_dual_stack",
            "static-eth0",
            &["eth0"],
            &[
                "address 203.0.113.2/24",
                "address 2001:db8:1000:2::2/64",
                "gateway 203.0.113.1",
                "gateway 2001:db8:1000:2::1",
            ],
        ),
        expect(
            "static_ipv4",
            "static-eth0-v4",
            &["eth0"],
            &["address 203.0.113.2/24", "gateway 203.0.113.1"],
        ),
        expect(
            "static_ipv6",
            "static-eth0-v6",
            &["eth0"],
            &[
                "address 2001:db8:1000:2::2/64",
                "gateway 2001:db8:1000:2::1",
            ],
        ),
        expect("dhcp_ipv4", "dhcp-eth0", &["eth0"], &["use dhcp"]),
        expect("use_dhcp", "use-dhcp-eth0", &["eth0"], &["use dhcp"]),
        expect(
            "inheritance_0",
            "inheritance",
            &["inherit0"],
            &[
                "inherit base0",
                "address 203.0.113.2/24",
                "address 203.0.113.3/24",
                "address 2001:db8:1000:2::2/64",
            ],
        ),
        expect(
            "inheritance_1",
            "inheritance",
            &["inherit1"],
            &[
                "inherit base0",
                "address 203.0.113.2/24",
                "address 203.0.113.4/24",
                "address 2001:db8:1000:2::2/64",
            ],
        ),
        expect(
            "implicit_vlan",
            "vlan",
            &["eth0.8"],
            &["requires eth0", "use vlan"],
        ),
        expect("vrf_dependency", "vrf", &["eth0"], &["requires vrf-red"]),
        expect(
            "vrf_ifupdown2_rewrite",
            "vrf-ifupdown2",
            &["eth0"],
            &["vrf-member vrf-red"],
        ),
        expect(
            "vrf_ifupdown2_dependency",
            "vrf-ifupdown2",
            &["eth0"],
            &["requires vrf-red"],
        ),
        expect(
            "vrf_implicit_static_gateway",
            "vrf",
            &["vrf-red"],
            &["use static"],
        ),
        expect("ppp_dependency", "ppp", &["ppp0"], &["requires eth0"]),
        expect(
            "ppp_legacy_rewrite",
            "ppp-legacy",
            &["ppp0"],
            &["ppp-provider someisp"],
        ),
        expect("tunnel_dependency", "tunnel", &["tun0"], &["requires eth0"]),
        expect(
            "tunnel_legacy_dependency",
            "tunnel-legacy",
            &["tun0"],
            &["requires eth0"],
        ),
        expect(
            "tunnel_ifupdown2_dependency",
            "tunnel-ifupdown2",
            &["tun0"],
            &["requires eth0"],
        ),
        expect(
            "tunnel_legacy_rewrite",
            "tunnel-legacy",
            &["tun0"],
            &[
                "tunnel-local 203.0.113.2",
                "tunnel-remote 203.0.113.1",
                "tunnel-mode gre",
                "tunnel-ttl 255",
            ],
        ),
        expect(
            "tunnel_ifupdown2_rewrite",
            "tunnel-ifupdown2",
            &["tun0"],
            &[
                "tunnel-local 203.0.113.2",
                "tunnel-remote 203.0.113.1",
                "tunnel-mode gre",
                "tunnel-ttl 255",
            ],
        ),
        expect("gre_dependency", "gre", &["tun0"], &["requires eth0"]),
        expect(
            "vlan_explicit_learned_dependency",
            "vlan-named",
            &["servers"],
            &["requires eth0", "use vlan"],
        ),
        expect(
            "vlan_guessed_learned_dependency",
            "vlan",
            &["eth0.8"],
            &["requires eth0", "use vlan"],
        ),
        // Addresses as in our copy of the fixture (README.md there).
        expect(
            "vlan_complex_learned_dependency",
            "vlan-complex",
            &["servers"],
            &[
                "requires eth0",
                "use vlan",
                "address 198.18.10.4/24",
                "gateway 198.18.10.1",
                "address 2001:db8:3456:10::4/64",
                "gateway 2001:db8:3456:10::1",
                "vlan-raw-device eth0",
            ],
        ),
        expect(
            "wireguard",
            "wireguard",
            &["wg0"],
            &["requires eth0", "use wireguard"],
        ),
        expect(
            "default_netmask_v4",
            "without-netmask",
            &["--property", "address", "v4"],
            &["203.0.113.2/24"],
        ),
        expect(
            "default_netmask_v6",
            "without-netmask",
            &["--property", "address", "v6"],
            &["2001:db8:1f10::1/64"],
        ),
        expect(
            "stanza_merging_with_cidr",
            "stanza-merging",
            &["--property", "address", "cidr"],
            &["203.0.113.1/32", "203.0.113.2/24"],
        ),
        expect(
            "stanza_merging_without_cidr",
            "stanza-merging",
            &["--property", "address", "without-cidr"],
            &["203.0.113.1/32", "203.0.113.2/24"],
        ),
        expect(
            "dhcp_hostname_rewrite",
            "dhcp-hostname-rewrite",
            &["eth0"],
            &["dhcp-hostname foo"],
        ),
        expect(
            "dhcp_hostname_inference",
            "dhcp-hostname-rewrite",
            &["eth1"],
            &[&format!("dhcp-hostname {hostname}")],
        ),
        expect(
            "dhcp_hostname_replacement",
            "dhcp-hostname-rewrite",
            &["eth2"],
            &["dhcp-hostname bar"],
        ),
    ];
    // `ifquery -S/dev/null`: no interface named, exit 1.
    all.push(Expectation {
        test: "noargs",
        fixture: "static-eth0",
        args: &[],
        status: 1,
        matches: Vec::new(),
    });
    // `ifquery -i /dev/null -p address foo`: exit 1.
    all.push(Expectation {
        test: "allow_undefined_negative",
        fixture: "/dev/null",
        args: &["--property", "address", "foo"],
        status: 1,
        matches: Vec::new(),
    });
    all
}

/// Checks `e` with `--dialect dialect`; the failures, as text.
fn check(e: &Expectation, dialect: &str) -> Vec<String> {
    let out = ifquery(dialect, e.fixture, e.args);
    let mut failures = Vec::new();
    if out.code() != Some(e.status) {
        failures.push(format!(
            "{}: exit status, want {}:\n{out}",
            e.test, e.status
        ));
    }
    for m in &e.matches {
        if !out.stdout.lines().any(|l| l.contains(m.as_str())) {
            failures.push(format!("{}: no line matches {m:?}:\n{out}", e.test));
        }
    }
    failures
}

#[test]
fn ng_ifquery_expectations() {
    let failures: Vec<String> = expectations()
        .iter()
        .flat_map(|e| check(e, "ifupdown-ng"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The fixtures `auto` must read as ng's, each with the line that decides.
const AUTO_NG: &[(&str, u32)] = &[
    ("bonded-bridge", 2),
    ("dependency-loop", 3),
    ("dhcp-hostname-rewrite", 2),
    ("inheritance", 9),
    ("mock-dependency-generator", 2),
    ("mock-dependency-generator-2", 2),
    ("use-dhcp-eth0", 3),
    ("vrf", 7),
    ("vrf-ifupdown2", 6),
    ("wireguard", 7),
];

fn all_fixtures() -> Vec<String> {
    let dir = repo_root().join("tests/conformance/ifupdown-ng");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the fixtures' directory")
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".interfaces"))
                .map(String::from)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn auto_chooses_ng_only_where_a_line_says_so() {
    let mut failures = Vec::new();
    for name in all_fixtures() {
        let out = ifquery("auto", &name, &["--syntax-check", "--json"]);
        let report: serde_json::Value = match serde_json::from_str(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: {e}:\n{out}"));
                continue;
            }
        };
        let want = AUTO_NG.iter().find(|(n, _)| *n == name);
        let dialect = report["dialect"].as_str().unwrap_or_default();
        match want {
            Some((_, line)) => {
                let warning = format!("{}:{line}", fixture(&name).display());
                let first = &report["diagnostics"][0];
                if dialect != "ifupdown-ng"
                    || first["location"].as_str() != Some(warning.as_str())
                    || report["diagnostics"].as_array().map(Vec::len) != Some(1)
                {
                    failures.push(format!(
                        "{name}: want ifupdown-ng, decided by {warning}:\n{out}"
                    ));
                }
            }
            None if dialect != "debian" => {
                failures.push(format!("{name}: want debian:\n{out}"));
            }
            None => {}
        }
    }
    // Where auto reads ng's, ng's expectations hold.
    for e in expectations() {
        if AUTO_NG.iter().any(|(n, _)| *n == e.fixture) {
            failures.extend(check(&e, "auto"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Fixtures with static addresses only: the links they name (veths) and
/// the addresses the kernel must have after `ifup`.
/// A link and the addresses it must have.
type LinkAddresses = (&'static str, &'static [&'static str]);

const REAL: &[(&str, &[&str], &[LinkAddresses])] = &[
    (
        "static-eth0",
        &["eth0"],
        &[("eth0", &["203.0.113.2/24", "2001:db8:1000:2::2/64"])],
    ),
    (
        "static-eth0-v4",
        &["eth0"],
        &[("eth0", &["203.0.113.2/24"])],
    ),
    (
        "static-eth0-v4-netmask",
        &["eth0"],
        &[("eth0", &["203.0.113.2/29"])],
    ),
    (
        "static-eth0-v6",
        &["eth0"],
        &[("eth0", &["2001:db8:1000:2::2/64"])],
    ),
    (
        "static-eth0-v6-netmask",
        &["eth0"],
        &[("eth0", &["2001:db8:1000:2::2/112"])],
    ),
    (
        "without-netmask",
        &["v4", "v6"],
        &[
            ("v4", &["203.0.113.2/24"]),
            ("v6", &["2001:db8:1f10::1/64"]),
        ],
    ),
    (
        "stanza-merging",
        &["cidr", "without-cidr"],
        &[
            ("cidr", &["203.0.113.1/32", "203.0.113.2/24"]),
            ("without-cidr", &["203.0.113.1/32", "203.0.113.2/24"]),
        ],
    ),
    (
        "inheritance",
        &["inherit0", "inherit1"],
        &[
            (
                "inherit0",
                &["203.0.113.2/24", "203.0.113.3/24", "2001:db8:1000:2::2/64"],
            ),
            (
                "inherit1",
                &["203.0.113.2/24", "203.0.113.4/24", "2001:db8:1000:2::2/64"],
            ),
        ],
    ),
];

fn ng_daemon() -> Harness {
    Harness::with_options(DaemonOptions {
        extra: vec!["--dialect".into(), "ifupdown-ng".into()],
        ..Default::default()
    })
}

#[test]
fn ng_fixtures_come_up_in_a_namespace() {
    for (name, links, want) in REAL {
        let h = ng_daemon();
        let text = std::fs::read_to_string(fixture(name)).expect("fixture");
        h.write_interfaces(&text);
        for link in *links {
            h.ns.veth(link);
        }
        let before = h.ns.all_global_addrs();
        let targets: Vec<&str> = links.to_vec();
        h.ifup(&targets).assert_ok();
        for (link, addrs) in *want {
            let have = h.ns.global_addrs(link);
            for addr in *addrs {
                assert!(
                    have.contains(*addr),
                    "{name}: {link} lacks {addr} after ifup (has {have:?})\n{}",
                    h.daemon_log()
                );
            }
            assert!(h.ns.is_up(link), "{name}: {link} is not up");
        }
        h.ifdown(&targets).assert_ok();
        assert_eq!(
            h.ns.all_global_addrs(),
            before,
            "{name}: ifdown left addresses behind"
        );
    }
}

/// ng's `alias-home-work`: `ifup wlan0=work`, a logical interface.
#[test]
fn ng_logical_interface_comes_up() {
    let h = ng_daemon();
    let text = std::fs::read_to_string(fixture("alias-home-work")).expect("fixture");
    h.write_interfaces(&text);
    h.ns.veth("wlan0");
    h.ifup(&["wlan0=work"]).assert_ok();
    let have = h.ns.global_addrs("wlan0");
    assert!(have.contains("203.0.113.2/24"), "{have:?}");
    assert!(have.contains("2001:db8:1000:2::2/64"), "{have:?}");
    assert_eq!(h.state(), ["wlan0=work"]);
    h.ifdown(&["wlan0"]).assert_ok();
    assert!(h.ns.global_addrs("wlan0").is_empty());
}

/// Fixtures whose `ifup -a --no-act` netconf refuses: the message, and why.
const NO_ACT_REFUSED: &[(&str, &str)] = &[
    // Made for ng's teardown tests from a state file: `bond0` is only
    // `requires eth0 eth1`, no executor makes it, and no link of that name
    // exists (ng's own `ifup` of it fails the same way).
    ("deferred-teardown-1", "bond0: no such interface bond0"),
    // A loop, which ng refuses too (its `dependency loop` test).
    ("dependency-loop", "dependency cycle: a ("),
];

#[test]
fn ng_fixtures_ifup_no_act() {
    let h = ng_daemon();
    // The physical interfaces the fixtures name.
    for link in ["eth0", "eth1", "eth2", "eth3", "eth4", "wlan0"] {
        h.ns.veth(link);
    }
    let mut failures = Vec::new();
    for name in all_fixtures() {
        let text = std::fs::read_to_string(fixture(&name)).expect("fixture");
        h.write_interfaces(&text);
        let out = h.ifup(&["-a", "--no-act"]);
        match NO_ACT_REFUSED.iter().find(|(n, _)| *n == name) {
            Some((_, message)) if out.success() || !out.stderr.contains(message) => {
                failures.push(format!("{name}: want a refusal with {message:?}:\n{out}"));
            }
            None if !out.success() => failures.push(format!("{name}:\n{out}")),
            _ => {}
        }
    }
    assert!(h.state().is_empty(), "--no-act brought something up");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A hook's environment is Debian's: an ng interface and the Debian stanzas
/// it stands for give every hook script the same variables.
#[test]
fn ng_hooks_get_debians_environment() {
    const NG: &str = "auto eth0\niface eth0\n  address 198.51.100.2\n  address 2001:db8::2/64\n  \
                      gateway 198.51.100.1\n  mtu 1400\n  hostname h1 # ng's dhcp-hostname\n";
    const DEBIAN: &str = "auto eth0\niface eth0 inet static\n  mtu 1400\n  hostname h1\n  \
                          address 198.51.100.2/24\n  gateway 198.51.100.1\n\
                          iface eth0 inet6 static\n  address 2001:db8::2/64\n";
    let dump = |text: &str, dialect: &str| {
        let h = Harness::with_options(DaemonOptions {
            extra: vec!["--dialect".into(), dialect.into()],
            ..Default::default()
        });
        let out = h.path("env");
        std::fs::create_dir(&out).expect("env dir");
        let script = format!(
            "#!/bin/sh\nenv | grep -E '^(IF_|IFACE=|LOGICAL=|ADDRFAM=|METHOD=|MODE=|PHASE=)' \
             | sort > {}/\"$PHASE.$IFACE.$ADDRFAM\"\n",
            out.display()
        );
        for dir in ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"] {
            h.write_hook(dir, "dump", &script);
        }
        h.write_interfaces(text);
        h.ns.veth("eth0");
        h.ifup(&["-a"]).assert_ok();
        h.ifdown(&["-a"]).assert_ok();
        let mut files: Vec<(String, String)> = std::fs::read_dir(&out)
            .expect("env dir")
            .map(|e| {
                let e = e.expect("entry");
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(e.path()).expect("dump"))
            })
            .collect();
        files.sort();
        files
    };
    let ng = dump(NG, "ifupdown-ng");
    let debian = dump(DEBIAN, "debian");
    assert!(
        ng.iter().any(|(n, env)| n == "post-up.eth0.inet"
            && env.contains("IF_ADDRESS=198.51.100.2\n")
            && env.contains("IF_NETMASK=255.255.255.0\n")
            && env.contains("IF_HOSTNAME=h1\n")),
        "{ng:#?}"
    );
    assert_eq!(ng, debian);
}

/// netconfd's default, `auto`: an ng file with a line only ng has comes up,
/// and the warning naming that line reaches `ifup`; `ifreload --dialect`
/// of another dialect than the daemon's is refused.
#[test]
fn auto_daemon_reads_ng_files_and_says_so() {
    let h = Harness::new();
    h.write_interfaces("auto eth0\niface eth0\n  use static\n  address 198.51.100.7\n");
    h.ns.veth("eth0");
    let up = h.ifup(&["eth0"]);
    up.assert_ok();
    up.assert_output_contains("interfaces:3: read in ifupdown-ng's dialect");
    assert!(h.ns.global_addrs("eth0").contains("198.51.100.7/24"));
    h.ifdown(&["eth0"]).assert_ok();
    let reload = run(h.client(&bins().ifreload, &["-a", "--dialect", "debian"]));
    assert!(!reload.success(), "{reload}");
    reload.assert_output_contains("a reload reads it the same way");
}
