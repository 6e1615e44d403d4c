//! The document corpus: round trips of every element kind of netcf's
//! `interface.rng` through interfaces(5) stanzas, and the exact errors of
//! invalid documents.
//!
//! `tests/corpus/NAME.xml` is a valid document; `NAME.interfaces` is what
//! [`render`] makes of it, committed so that a change of the stanzas is a
//! visible diff, after `# RUN:` lines for the ifquery conformance test
//! (`tests/tests/ifquery_conformance.rs` runs Debian's ifquery and ours on
//! every such file, which checks that the stanzas are what Debian's
//! ifupdown 0.8.41 reads). For each document:
//!
//! 1. it parses;
//! 2. it renders to the committed file, leading `#` lines removed;
//! 3. the committed file, read as `/etc/network/interfaces`, holds one
//!    connection, the document's, and [`describe`] reads it back with
//!    nothing left unexpressed, into the same document (compared as data,
//!    that is as XML, not as text), but for what a file cannot say: a
//!    document without `<start>` comes back with `<start mode="none"/>`,
//!    as neither writes an `auto` or `allow-hotplug` line;
//! 4. the XML [`write`] makes of what was read back parses to it again.
//!
//! `tests/corpus/invalid/NAME.xml` is an invalid document and
//! `NAME.errors` every error it must give, one per line, as
//! `LINE:COLUMN: PATH: MESSAGE`.
//!
//! After a deliberate change of the stanzas or messages,
//! `NETCONF_BLESS=1 cargo test -p netconf-ifxml --test corpus` rewrites the
//! committed files (keeping the `# RUN:` lines); review the diff.

use netconf_ifxml::document::{Carrier, Interface, Kind, Monitor, StartMode};
use netconf_ifxml::stanzas::{connections, describe, render};
use netconf_ifxml::xml::{parse, write};
use netconf_interfaces::{parse_bytes, InterfacesFile, ParseOptions};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// `NETCONF_BLESS=1`: rewrite the committed files instead of failing.
fn bless() -> bool {
    std::env::var_os("NETCONF_BLESS").is_some_and(|v| v == "1")
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The files in `dir` ending in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// One valid document of the corpus.
struct Case {
    name: String,
    doc: Interface,
    /// The committed `.interfaces` file, whole.
    interfaces: String,
}

fn cases() -> Vec<Case> {
    let xmls = files(&corpus_dir(), "xml");
    assert!(xmls.len() >= 30, "the corpus has lost documents: {xmls:?}");
    xmls.iter()
        .map(|path| {
            let name = stem(path);
            let doc = parse(&read(path)).unwrap_or_else(|e| panic!("{name}.xml: invalid:\n{e}"));
            let interfaces = read(&path.with_extension("interfaces"));
            Case {
                name,
                doc,
                interfaces,
            }
        })
        .collect()
}

/// The stanzas of a committed file: without its leading comment lines (the
/// conformance test's directives).
fn stanzas_of(file: &str) -> String {
    let mut rest = file;
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest.to_string()
}

fn read_config(name: &str, text: &str) -> InterfacesFile {
    let parsed = parse_bytes(
        "/etc/network/interfaces",
        text.as_bytes(),
        &ParseOptions {
            no_loopback: true,
            ..Default::default()
        },
    );
    assert!(
        !parsed.rejected && parsed.diagnostics.is_empty(),
        "{name}.interfaces: not read cleanly: {:?}",
        parsed.diagnostics
    );
    parsed.config
}

/// What a document is once it has been through a file: a file cannot tell
/// an absent `<start>` from `none`.
fn as_read_back(doc: &Interface) -> Interface {
    let mut doc = doc.clone();
    doc.start.get_or_insert(StartMode::None);
    doc
}

/// Fails listing every case that failed, not just the first.
fn report(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} corpus document(s) {what}:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_document_renders_to_its_committed_stanzas() {
    let mut failures = Vec::new();
    for case in cases() {
        let rendered = match render(&case.doc) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: render refused it: {e}", case.name));
                continue;
            }
        };
        let committed = stanzas_of(&case.interfaces);
        if rendered.text != committed && bless() {
            let directives = &case.interfaces[..case.interfaces.len() - committed.len()];
            let path = corpus_dir().join(format!("{}.interfaces", case.name));
            fs::write(&path, format!("{directives}{}", rendered.text)).expect("blessing");
        } else if rendered.text != committed {
            failures.push(format!(
                "{}: rendered\n{}--- but {}.interfaces has\n{committed}",
                case.name, rendered.text, case.name
            ));
        }
        // The names a define replaces: the connection and all it holds.
        if rendered.names != case.doc.names() {
            failures.push(format!(
                "{}: names {:?}, expected {:?}",
                case.name,
                rendered.names,
                case.doc.names()
            ));
        }
    }
    report("do not render to their committed stanzas", failures);
}

#[test]
fn the_committed_stanzas_read_back_into_the_same_document() {
    let mut failures = Vec::new();
    for case in cases() {
        let config = read_config(&case.name, &case.interfaces);
        let conns = connections(&config);
        if conns != [case.doc.name.clone()] {
            failures.push(format!(
                "{}: connections {conns:?}, expected [{:?}]",
                case.name, case.doc.name
            ));
            continue;
        }
        let described = match describe(&config, &case.doc.name) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: describe failed: {e}", case.name));
                continue;
            }
        };
        if !described.unexpressed.is_empty() {
            failures.push(format!(
                "{}: left unexpressed: {:?}",
                case.name, described.unexpressed
            ));
        }
        let expected = as_read_back(&case.doc);
        if described.interface != expected {
            failures.push(format!(
                "{}: read back as\n{}--- expected\n{}",
                case.name,
                write(&described.interface),
                write(&expected)
            ));
            continue;
        }
        let text = write(&described.interface);
        match parse(&text) {
            Ok(again) if again == described.interface => {}
            Ok(again) => failures.push(format!(
                "{}: the written XML parses to another document:\n{text}--- {again:?}",
                case.name
            )),
            Err(e) => failures.push(format!(
                "{}: the written XML does not parse:\n{text}--- {e}",
                case.name
            )),
        }
    }
    report("do not read back into themselves", failures);
}

/// Every `.interfaces` file runs ifquery on everything it defines, so that
/// the conformance test compares each stanza with Debian's reading of it.
#[test]
fn every_committed_file_has_run_lines_for_all_it_defines() {
    let mut failures = Vec::new();
    let interfaces = files(&corpus_dir(), "interfaces");
    let xmls: BTreeSet<String> = files(&corpus_dir(), "xml")
        .iter()
        .map(|p| stem(p))
        .collect();
    for path in &interfaces {
        let name = stem(path);
        if !xmls.contains(&name) {
            failures.push(format!("{name}.interfaces: no {name}.xml"));
        }
        let text = read(path);
        let runs: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# RUN:"))
            .map(str::trim)
            .collect();
        let mut expected: BTreeSet<String> = ["-l -a".to_string()].into();
        if text.lines().any(|l| l.starts_with("allow-hotplug ")) {
            expected.insert("-l --allow=hotplug".into());
        }
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("iface ") {
                expected.insert(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
        let missing: Vec<&String> = expected
            .iter()
            .filter(|e| !runs.contains(e.as_str()))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{name}.interfaces: no `# RUN:` line for {missing:?}"
            ));
        }
    }
    assert_eq!(interfaces.len(), xmls.len(), "one .interfaces per .xml");
    report("lack RUN lines", failures);
}

/// The corpus covers what the schema can say, so that a kind of element
/// dropped from it (or never added) fails here rather than going unnoticed.
#[test]
fn the_corpus_covers_every_element_kind_of_the_schema() {
    let docs: Vec<Interface> = cases().into_iter().map(|c| c.doc).collect();
    let all: Vec<&Interface> = docs
        .iter()
        .flat_map(|d| std::iter::once(d).chain(d.nested()))
        .collect();
    let mut missing: Vec<&str> = Vec::new();
    let mut need = |what: &'static str, found: bool| {
        if !found {
            missing.push(what);
        }
    };
    let top = |f: &dyn Fn(&Interface) -> bool| docs.iter().any(f);

    for start in [
        Some(StartMode::Onboot),
        Some(StartMode::Hotplug),
        Some(StartMode::None),
        None,
    ] {
        need("every start mode and none", top(&|d| d.start == start));
    }
    need("an MTU", top(&|d| d.mtu.is_some()));
    need("a top-level MAC", top(&|d| d.mac.is_some()));
    need(
        "a port's MAC",
        docs.iter()
            .flat_map(|d| {
                d.nested()
                    .iter()
                    .chain(d.nested().iter().flat_map(|n| n.nested()))
            })
            .any(|i| i.mac.is_some()),
    );
    let v4 = |f: &dyn Fn(&netconf_ifxml::document::Ipv4) -> bool| {
        top(&|d| d.ipv4.as_ref().is_some_and(f))
    };
    need("ipv4 dhcp", v4(&|p| p.dhcp.is_some()));
    need(
        "ipv4 with a prefix",
        v4(&|p| p.addresses.iter().any(|a| a.prefix.is_some())),
    );
    need(
        "ipv4 without a prefix",
        v4(&|p| p.addresses.iter().any(|a| a.prefix.is_none())),
    );
    need("several ipv4 addresses", v4(&|p| p.addresses.len() > 1));
    need("an ipv4 gateway", v4(&|p| p.gateway.is_some()));
    let v6 = |f: &dyn Fn(&netconf_ifxml::document::Ipv6) -> bool| {
        top(&|d| d.ipv6.as_ref().is_some_and(f))
    };
    need(
        "ipv6 autoconf only",
        v6(&|p| p.autoconf && p.dhcp.is_none() && p.addresses.is_empty()),
    );
    need("ipv6 dhcp only", v6(&|p| !p.autoconf && p.dhcp.is_some()));
    need(
        "ipv6 autoconf and dhcp",
        v6(&|p| p.autoconf && p.dhcp.is_some()),
    );
    need(
        "ipv6 nothing",
        v6(&|p| !p.autoconf && p.dhcp.is_none() && p.addresses.is_empty()),
    );
    need(
        "ipv6 static",
        v6(&|p| p.addresses.len() == 1 && p.gateway.is_some()),
    );
    need(
        "ipv6 several with a gateway",
        v6(&|p| p.addresses.len() > 1 && p.gateway.is_some()),
    );
    need(
        "ipv6 static and autoconf",
        v6(&|p| p.autoconf && !p.addresses.is_empty()),
    );
    need(
        "both families",
        top(&|d| d.ipv4.is_some() && d.ipv6.is_some()),
    );

    let bridge = |f: &dyn Fn(&netconf_ifxml::document::Bridge) -> bool| {
        top(&|d| matches!(&d.kind, Kind::Bridge(b) if f(b)))
    };
    need(
        "a bridge with stp and delay",
        bridge(&|b| b.stp.is_some() && b.delay.is_some()),
    );
    need("an empty bridge", bridge(&|b| b.ports.is_empty()));
    need(
        "a bridge with defaults",
        bridge(&|b| b.stp.is_none() && b.delay.is_none()),
    );
    need(
        "a bridge over a bond",
        bridge(&|b| b.ports.iter().any(|p| matches!(p.kind, Kind::Bond(_)))),
    );
    need(
        "a bridge over a vlan",
        bridge(&|b| b.ports.iter().any(|p| matches!(p.kind, Kind::Vlan(_)))),
    );
    need(
        "a bridge without addressing",
        top(&|d| matches!(d.kind, Kind::Bridge(_)) && d.ipv4.is_none() && d.ipv6.is_none()),
    );

    let bonds: Vec<&netconf_ifxml::document::Bond> = all
        .iter()
        .filter_map(|i| match &i.kind {
            Kind::Bond(b) => Some(b),
            _ => None,
        })
        .collect();
    for mode in netconf_ifxml::document::Bond::MODES {
        need(
            "every bond mode",
            bonds.iter().any(|b| b.mode.as_deref() == Some(mode)),
        );
    }
    need(
        "a bond without mode or monitor",
        bonds
            .iter()
            .any(|b| b.mode.is_none() && b.monitor.is_none()),
    );
    for carrier in [Carrier::Ioctl, Carrier::Netif] {
        need("both carriers", bonds.iter().any(|b| matches!(b.monitor, Some(Monitor::Mii { carrier: Some(c), .. }) if c == carrier)));
    }
    need(
        "miimon with every attribute",
        bonds.iter().any(|b| {
            matches!(
                b.monitor,
                Some(Monitor::Mii {
                    downdelay: Some(_),
                    updelay: Some(_),
                    carrier: Some(_),
                    ..
                })
            )
        }),
    );
    for v in Monitor::ARP_VALIDATE {
        need(
            "arpmon with every validate",
            bonds.iter().any(
                |b| matches!(&b.monitor, Some(Monitor::Arp { validate: Some(x), .. }) if x == v),
            ),
        );
    }
    need(
        "arpmon without validate",
        bonds
            .iter()
            .any(|b| matches!(b.monitor, Some(Monitor::Arp { validate: None, .. }))),
    );
    need(
        "a top-level vlan",
        top(&|d| matches!(d.kind, Kind::Vlan(_))),
    );
    assert_eq!(missing, Vec::<&str>::new(), "the corpus lacks these");
    // The vlan without a name attribute: its name is its device and tag.
    let unnamed = read(&corpus_dir().join("vlan-unnamed.xml"));
    assert!(!unnamed.contains("name=\"eth1.7\""));
    assert_eq!(parse(&unnamed).unwrap().name, "eth1.7");
}

/// Compares each invalid document's errors with its `.errors` file; returns
/// the mismatches.
fn check_invalid() -> (usize, Vec<String>) {
    let dir = corpus_dir().join("invalid");
    let xmls = files(&dir, "xml");
    let errors = files(&dir, "errors");
    assert_eq!(
        xmls.iter().map(|p| stem(p)).collect::<Vec<_>>(),
        errors.iter().map(|p| stem(p)).collect::<Vec<_>>(),
        "every invalid document has its .errors file and the other way round"
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in xmls {
        let name = stem(&path);
        checked += 1;
        let expected: Vec<String> = read(&path.with_extension("errors"))
            .lines()
            .map(str::to_string)
            .collect();
        assert!(!expected.is_empty(), "{name}.errors is empty");
        match parse(&read(&path)) {
            Ok(doc) => failures.push(format!("{name}: accepted as {doc:?}")),
            Err(e) => {
                let got: Vec<String> = e.0.iter().map(ToString::to_string).collect();
                if got != expected && bless() {
                    let text: String = got.iter().map(|l| format!("{l}\n")).collect();
                    fs::write(path.with_extension("errors"), text).expect("blessing");
                } else if got != expected {
                    failures.push(format!(
                        "{name}: errors\n  {}\n--- expected\n  {}",
                        got.join("\n  "),
                        expected.join("\n  ")
                    ));
                }
            }
        }
    }
    (checked, failures)
}

#[test]
fn invalid_documents_give_exactly_their_errors() {
    let (checked, failures) = check_invalid();
    assert!(checked >= 25, "the invalid corpus has lost documents");
    report("give other errors", failures);
}

/// What a file cannot say comes back as its default: `peerdns="yes"` is
/// what `<dhcp/>` means (netconf always takes a lease's name servers), an
/// absent `<start>` is `none`, and an empty IPv4 `<protocol>` is the same
/// `inet manual` stanza as no protocol at all.
#[test]
fn what_a_file_cannot_say_reads_back_as_its_default() {
    for (xml, expected) in [
        (
            r#"<interface type="ethernet" name="eth0"><start mode="onboot"/><protocol family="ipv4"><dhcp peerdns="yes"/></protocol></interface>"#,
            r#"<interface type="ethernet" name="eth0"><start mode="onboot"/><protocol family="ipv4"><dhcp/></protocol></interface>"#,
        ),
        (
            r#"<interface type="ethernet" name="eth0"><protocol family="ipv4"><dhcp/></protocol></interface>"#,
            r#"<interface type="ethernet" name="eth0"><start mode="none"/><protocol family="ipv4"><dhcp/></protocol></interface>"#,
        ),
        (
            r#"<interface type="ethernet" name="eth0"><start mode="onboot"/><protocol family="ipv4"/></interface>"#,
            r#"<interface type="ethernet" name="eth0"><start mode="onboot"/></interface>"#,
        ),
    ] {
        let doc = parse(xml).unwrap();
        let text = render(&doc).unwrap().text;
        let config = read_config("inline", &text);
        let back = describe(&config, "eth0").unwrap();
        assert_eq!(back.unexpressed, [], "{text}");
        assert_eq!(back.interface, parse(expected).unwrap(), "{text}");
    }
}

/// `<protocol family="ipv6"/>` (no autoconf, no DHCP, no address: netcf's
/// `ipv6-local.xml`) cannot be a bare `iface eth0 inet6 manual`, which
/// Debian's ifupdown leaves alone ("no configuration is done"), so that the
/// kernel's defaults (`autoconf` 1, `accept_ra` 1) would autoconfigure the
/// interface all the same. netcf's driver wrote the `pre-up echo 0 > .../autoconf` line
/// for this, and read a bare `inet6 manual` as `<autoconf/>` (its
/// doc/debian.txt: "Stateless autoconf: iface eth5 inet6 manual").
#[test]
fn ipv6_without_autoconf_switches_it_off() {
    let doc = parse(
        r#"<interface type="ethernet" name="eth0"><start mode="onboot"/><protocol family="ipv6"/></interface>"#,
    )
    .unwrap();
    let text = render(&doc).unwrap().text;
    assert!(
        text.contains("pre-up echo 0 > /proc/sys/net/ipv6/conf/eth0/autoconf")
            || text.contains("inet6 dhcp") && text.contains("autoconf 0")
            || text.contains("inet6 auto") && text.contains("accept_ra 0")
            || text.contains("inet6 static") && !text.contains("autoconf 1"),
        "nothing in these stanzas switches autoconfiguration off:\n{text}"
    );
    // And netcf's own spelling of stateless autoconfiguration reads as it.
    let config = read_config("netcf", "auto eth5\niface eth5 inet6 manual\n");
    let back = describe(&config, "eth5").unwrap();
    assert!(back.interface.ipv6.unwrap().autoconf);
}
