//! Property tests: whatever bytes the parser is given, it neither panics nor
//! loses track of where a problem is, and what it builds survives a JSON
//! round trip.

use netconf_interfaces::{parse_bytes, DiagnosticKind, InterfacesFile, ParseOptions, Parsed};
use proptest::prelude::*;

/// Valid files to mutate, covering every kind of line the parser knows.
const SEEDS: &[&str] = &[
    "auto lo eth0\niface lo inet loopback\n\niface eth0 inet static\n    address 198.51.100.10/24\n    gateway 198.51.100.1\n    up echo up\n    post-up echo post\n",
    "allow-hotplug eth1\niface eth1 inet dhcp\n  hostname box\n  metric 10\niface eth1 inet6 auto\n  privext 2\n",
    "iface base inet static\n  address 203.0.113.1\n  mtu 1400\niface eth2 inet static inherits base\n  address 203.0.113.2/25\niface eth3 inherits base\n",
    "mapping eth*\n  script /bin/true\n  map home eth0\n  map work eth1\nno-auto-down eth0\nno-scripts eth1\nrename eth9=lan0\n",
    "iface eth0 inet6 static \\\n   \n  address 2001:db8::1/64 \\\n # continued\n  dad-attempts 0\n# comment\n  # indented comment\niface can0 can static\n bitrate 125000\niface ipx0 ipx dynamic\n frame 802.2\n",
    "iface t0 inet tunnel\n  mode gre\n  endpoint 198.18.0.1\n  address 198.18.1.1\n  netmask 255.255.255.0\niface s0 inet6 6to4\n  local 198.51.100.7\nauto t0 s0\n",
];

fn check(parsed: &Parsed, input: &[u8]) {
    netconf_interfaces::invariants::assert_invariants(parsed, input);
    let json = serde_json::to_string(&parsed.config).expect("model serialises");
    let back: InterfacesFile = serde_json::from_str(&json).expect("model deserialises");
    assert_eq!(back, parsed.config);
}

fn parse(input: &[u8]) -> Parsed {
    // Relative `source` lines then point into a directory that does not exist.
    parse_bytes(
        "/nonexistent-netconf-fuzz/interfaces",
        input,
        &ParseOptions::default(),
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        b"\\".to_vec(),
        b"\n".to_vec(),
        b"#".to_vec(),
        b" ".to_vec(),
        b"\t".to_vec(),
        b"\r\n".to_vec(),
        b"\0".to_vec(),
        b"iface x inet".to_vec(),
        b"inherits".to_vec(),
        b"auto".to_vec(),
        b"allow-".to_vec(),
        b"mapping".to_vec(),
        b"source".to_vec(),
        b"/".to_vec(),
        b"=".to_vec(),
        "\u{e9}\u{1F600}".as_bytes().to_vec(),
        vec![0xff, 0xfe],
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..20).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            prop_oneof![interesting, prop::collection::vec(any::<u8>(), 1..8)]
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn apply(mut data: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Delete { at, len } => {
            if !data.is_empty() {
                let at = at % data.len();
                let end = (at + len).min(data.len());
                data.drain(at..end);
            }
            data
        }
        Mutation::Insert { at, bytes } => {
            let at = at % (data.len() + 1);
            data.splice(at..at, bytes.iter().copied());
            data
        }
        Mutation::DuplicateLine { line } | Mutation::SwapLines { a: line, .. } => {
            let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let i = line % n;
            match m {
                Mutation::SwapLines { b, .. } => lines.swap(i, b % n),
                _ => {
                    let copy = lines[i].clone();
                    lines.insert(i, copy);
                }
            }
            lines.join(&b'\n')
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let parsed = parse(&input);
        check(&parsed, &input);
    }

    #[test]
    fn mutated_valid_files(seed in 0..SEEDS.len(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let input = mutations.iter().fold(SEEDS[seed].as_bytes().to_vec(), apply);
        let parsed = parse(&input);
        check(&parsed, &input);
    }
}

#[test]
fn seeds_are_valid() {
    for seed in SEEDS {
        let parsed = parse(seed.as_bytes());
        assert!(!parsed.rejected, "{seed}");
        assert_eq!(
            parsed.errors().count(),
            0,
            "{seed}: {:?}",
            parsed.diagnostics
        );
    }
}

/// Found by `scripts/fuzz` (interfaces_bytes; the first two inputs are its
/// reproducers): each backslash that ends the file counts a line, as in
/// Debian's `get_line` (its `ifquery` reports each of these at the same
/// line), so an error may lie past the last physical line plus one, also
/// after empty lines. The parser was right; the bound in `check` was not.
#[test]
fn trailing_backslashes_count_lines() {
    for (input, line) in [
        (&b"\x0e%\\\\"[..], 3),
        (b"\xbf\\\\\\\\\n\n", 5),
        (b"x\\\\\\", 4),
        (b"x\\\\\n", 3),
        (b"a\\\n\\\\", 4),
        (b"x\\\\\0yz", 3),
    ] {
        let parsed = parse(input);
        let error = parsed.errors().next().expect("misplaced option");
        assert_eq!(error.location.map(|l| l.line), Some(line), "{input:?}");
        check(&parsed, input);
    }
}

/// Found by `scripts/fuzz` (interfaces_bytes, after 3.3 million runs): a
/// `source` line naming a directory (there `$@`, which glibc's `wordexp`
/// expands to the process's own arguments, among them libFuzzer's corpus
/// directory) fails to read with an error located at the `source` line of
/// the main file; Debian prints `DIR: Is a directory` and reads on, so the
/// configuration is not rejected. The parser was right; `check` counted the
/// error as one of the main file.
#[test]
fn unreadable_sourced_file_does_not_reject() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "source {}\nauto eth0\niface eth0 inet manual\n",
        dir.path().display()
    );
    let parsed = parse(input.as_bytes());
    assert!(!parsed.rejected);
    assert!(
        parsed
            .errors()
            .any(|d| matches!(d.kind, DiagnosticKind::ReadFailed { .. })
                && d.location.map(|l| (l.file, l.line)) == Some((0, 1))),
        "{:?}",
        parsed.diagnostics
    );
    check(&parsed, input.as_bytes());
    // The fuzzer's input as it was; what `$@` names depends on the process.
    let found = b"#:rce @DIRPrce /th5 /th5 inet al\nsource /th5 i souzArcce.d/*source @DIR@\n\
        source /th5 inet al\nsource /th5$@\nsource /tipxinet al\n";
    check(&parse(found), found);
}

/// Files in the other dialects to mutate.
const OTHER_SEEDS: &[&str] = &[
    "auto eth0\niface eth0\n  use dhcp\n  address 2001:db8::2 # c\n  netmask 64\ntemplate t\n  mtu 1400\niface eth1 inherits t\n  inherit t\n  requires eth0\n  bond-slaves a b\n",
    "auto all\niface swp[1-3]\n  address 198.51.100.1 2001:db8::1/64\n  bridge_vids 10 $IFACE\niface eth0 inet dhcp\niface eth0:1 inet6 dhcp6\n  netmask 255.255.255.0\nallow-mgmt eth0\n",
];

/// What the other dialects' readers must keep whatever their input: no
/// panic, every error at a line of the file, a model that survives JSON.
fn check_other(parsed: &Parsed, input: &[u8]) {
    let max = input.split(|&b| b == b'\n').count() as u32;
    for d in parsed.errors() {
        if let Some(loc) = d.location {
            assert!(loc.line >= 1, "line 0 in {d:?}");
            if loc.file == 0 {
                assert!(loc.line <= max, "line past the end in {d:?}");
            }
        }
        assert!(!d.report(&parsed.config).is_empty());
    }
    let json = serde_json::to_string(&parsed.config).expect("model serialises");
    let back: InterfacesFile = serde_json::from_str(&json).expect("model deserialises");
    assert_eq!(back, parsed.config);
}

fn parse_in(input: &[u8], dialect: netconf_interfaces::DialectChoice) -> Parsed {
    parse_bytes(
        "/nonexistent-netconf-fuzz/interfaces",
        input,
        &ParseOptions {
            dialect,
            ..Default::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn other_dialects_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        use netconf_interfaces::DialectChoice::{Ifupdown2, IfupdownNg};
        for dialect in [IfupdownNg, Ifupdown2] {
            check_other(&parse_in(&input, dialect), &input);
        }
    }

    #[test]
    fn other_dialects_mutated_files(seed in 0..OTHER_SEEDS.len(), mutations in prop::collection::vec(mutation(), 1..6)) {
        use netconf_interfaces::DialectChoice::{Auto, Ifupdown2, IfupdownNg};
        let input = mutations.iter().fold(OTHER_SEEDS[seed].as_bytes().to_vec(), apply);
        for dialect in [IfupdownNg, Ifupdown2] {
            check_other(&parse_in(&input, dialect), &input);
        }
        // `auto` keeps Debian's invariants whatever it chooses.
        let parsed = parse_in(&input, Auto);
        if parsed.dialect == netconf_interfaces::Dialect::Debian {
            check(&parsed, &input);
        } else {
            check_other(&parsed, &input);
        }
    }
}

#[test]
fn other_seeds_are_valid() {
    use netconf_interfaces::DialectChoice::{Ifupdown2, IfupdownNg};
    for (seed, dialect) in OTHER_SEEDS.iter().zip([IfupdownNg, Ifupdown2]) {
        let parsed = parse_in(seed.as_bytes(), dialect);
        assert!(!parsed.rejected, "{seed}: {:?}", parsed.diagnostics);
    }
}
