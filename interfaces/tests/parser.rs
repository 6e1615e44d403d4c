//! The parser's behaviour on whole files, including the places where Debian's
//! ifupdown 0.8.41 does something surprising that we keep.

use netconf_interfaces::{
    parse_bytes, parse_file, DiagnosticKind, Family, ParseOptions, Parsed, Severity,
};
use std::fs;

fn parse(text: &str) -> Parsed {
    parse_bytes(
        "/nonexistent/interfaces",
        text.as_bytes(),
        &ParseOptions::default(),
    )
}

fn names(parsed: &Parsed) -> Vec<&str> {
    parsed
        .config
        .stanzas
        .iter()
        .map(|s| s.name.as_str())
        .collect()
}

fn kinds(parsed: &Parsed) -> Vec<&DiagnosticKind> {
    parsed.diagnostics.iter().map(|d| &d.kind).collect()
}

#[test]
fn implicit_loopback_and_auto_lo() {
    let p = parse("auto eth0\niface eth0 inet manual\n");
    assert_eq!(names(&p), vec!["lo", "eth0"]);
    assert!(p.config.stanzas[0].location.is_none());
    assert_eq!(
        p.config.class("auto").unwrap().interfaces,
        vec!["lo", "eth0"]
    );

    // A loopback stanza of the file's own replaces the implicit one, but
    // `auto lo` stays first, as in Debian.
    let p = parse("auto eth0\niface lo inet loopback\n");
    assert_eq!(names(&p), vec!["lo"]);
    assert_eq!(
        p.config.class("auto").unwrap().interfaces,
        vec!["lo", "eth0"]
    );

    let p = parse_bytes(
        "x",
        b"iface eth0 inet manual\n",
        &ParseOptions {
            no_loopback: true,
            ..Default::default()
        },
    );
    assert_eq!(names(&p), vec!["eth0"]);
    assert!(p.config.class("auto").is_none());
}

#[test]
fn classes_dedupe_and_allow_auto_is_auto() {
    let p =
        parse("auto a b a\nallow-auto c a\nallow-hotplug h\niface h inet dhcp\n  allow-hotplug\n");
    assert_eq!(
        p.config.class("auto").unwrap().interfaces,
        vec!["lo", "a", "b", "c"]
    );
    assert_eq!(p.config.class("hotplug").unwrap().interfaces, vec!["h"]);
}

#[test]
fn bare_keywords_inside_a_stanza_name_it() {
    let p = parse("iface eth0 inet manual\n  auto\n  no-auto-down\n  mtu 1500\n");
    assert!(p
        .config
        .class("auto")
        .unwrap()
        .interfaces
        .contains(&"eth0".to_string()));
    assert_eq!(p.config.no_auto_down, vec!["eth0"]);
    // The stanza goes on after a bare keyword.
    assert_eq!(p.config.stanzas[1].options[0].name, "mtu");
}

#[test]
fn options_keep_order_and_aliases() {
    let p = parse("iface eth0 inet static\n address 198.51.100.1\n post-up a\n up b\n pre-down c\n down d\n up b\n");
    let opts: Vec<(&str, &str)> = p.config.stanzas[1]
        .options
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        opts,
        vec![
            ("address", "198.51.100.1"),
            ("up", "a"),
            ("up", "b"),
            ("down", "c"),
            ("down", "d"),
            ("up", "b")
        ]
    );
    assert_eq!(p.config.stanzas[1].options[1].location.line, 3);
}

#[test]
fn every_error_reported_but_model_stops_where_debian_stops() {
    let p = parse("iface a inet manual\n  mtu\niface b inet bogus\nfoo bar\niface c inet manual\n");
    let errors: Vec<_> = p.errors().collect();
    assert_eq!(errors.len(), 2, "{:?}", p.diagnostics);
    assert!(errors[0].debian_prints);
    assert!(matches!(errors[0].kind, DiagnosticKind::EmptyValue { .. }));
    assert!(!errors[1].debian_prints);
    assert!(matches!(
        errors[1].kind,
        DiagnosticKind::UnknownMethod { .. }
    ));
    // `foo bar` belongs to the broken stanza b and is not reported again.
    assert!(p.rejected);
    assert_eq!(
        names(&p),
        vec!["a"],
        "no implicit lo on a rejected file, nothing after the error"
    );
}

#[test]
fn iface_line_errors() {
    let cases = [
        ("iface\n", "too few parameters for iface line"),
        (
            "iface eth0\n",
            "unknown or no address type and no inherits keyword specified",
        ),
        (
            "iface eth0 inet4 static\n",
            "unknown or no address type and no inherits keyword specified",
        ),
        (
            "iface eth0 inet\n",
            "unknown or no method and no inherits keyword specified",
        ),
        (
            "iface eth0 inet static inherits\n",
            "'inherits' keyword is missing a parameter",
        ),
        (
            "iface eth0 inet static inherits nope\n",
            "unknown iface to inherit from: nope (inet)",
        ),
        (
            "iface eth0 inherits nope\n",
            "unknown iface to inherit from: nope (*)",
        ),
        ("mtu 1500\n", "misplaced option"),
        (
            "mapping eth*\n script a\n script b\n",
            "duplicate script in mapping",
        ),
        ("mapping eth*\n mtu 1\n", "misplaced option"),
    ];
    for (text, want) in cases {
        let p = parse(text);
        let first = p
            .errors()
            .next()
            .unwrap_or_else(|| panic!("no error for {text:?}"));
        assert_eq!(first.kind.debian_message(), want, "{text:?}");
        assert_eq!(
            first.debian_text(&p.config),
            format!(
                "/nonexistent/interfaces:{}: {want}",
                first.location.unwrap().line
            )
        );
        assert!(p.rejected);
    }
}

#[test]
fn extra_iface_words_warn_and_go_on() {
    let p = parse("iface eth0 inet manual junk\n  mtu 1500\n");
    assert!(!p.rejected);
    assert!(
        matches!(&p.diagnostics[0].kind, DiagnosticKind::ExtraIfaceParameter { word } if word == "junk")
    );
    assert_eq!(p.diagnostics[0].severity(), Severity::Warning);
}

#[test]
fn inherits_copies_options_and_family() {
    let p = parse(
        "iface base inet static\n mtu 9000\n up a\niface base inet6 auto\n privext 2\n\
         iface x inet static inherits base\n address 198.51.100.9\niface y inherits base\niface z inet6 inherits base\n",
    );
    let x = &p.config.stanzas[3];
    assert_eq!(x.inherits.as_deref(), Some("base"));
    assert_eq!(
        x.options
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        vec!["mtu", "up", "address"]
    );
    assert_eq!(
        x.options[0].location.line, 2,
        "inherited options keep their own location"
    );
    let y = &p.config.stanzas[4];
    assert_eq!((y.family, y.method.as_str()), (Family::Inet, "static"));
    let z = &p.config.stanzas[5];
    assert_eq!((z.family, z.method.as_str()), (Family::Inet6, "auto"));
    assert_eq!(z.options[0].name, "privext");
}

#[test]
fn continuation_and_comments() {
    let p = parse("iface eth0 inet static \\\n  # not a comment here\n  address 198.51.100.1\n # comment\n\tmtu 1400\r\n");
    let s = &p.config.stanzas[1];
    // The joined line `... static   # not a comment here` has an extra word: a warning.
    assert!(
        matches!(&p.diagnostics[0].kind, DiagnosticKind::ExtraIfaceParameter { word } if word == "#")
    );
    assert_eq!(s.location.unwrap().line, 2);
    assert_eq!(s.options.len(), 2);
    assert_eq!(s.options[1].value, "1400");
}

#[test]
fn sources_relative_globbed_once_and_errors_contained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("inc")).unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    fs::write(
        d.join("interfaces"),
        "source inc/*\nsource inc/a\nsource-directory dir\nsource missing*\niface main inet manual\n",
    )
    .unwrap();
    fs::write(
        d.join("inc/a"),
        "iface a1 inet manual\n  mtu\niface a2 inet manual\n",
    )
    .unwrap();
    fs::write(d.join("inc/b"), "iface b inet manual\n").unwrap();
    fs::write(d.join("dir/ok_1-x"), "iface d inet manual\n").unwrap();
    fs::write(d.join("dir/skipped.cfg"), "iface skipped inet manual\n").unwrap();
    let main = d.join("interfaces");
    let p = parse_file(main.to_str().unwrap(), &ParseOptions::default());
    assert!(!p.rejected, "{:?}", p.diagnostics);
    // a2 comes after the error in inc/a: Debian never sees it.
    assert_eq!(names(&p), vec!["lo", "a1", "b", "d", "main"]);
    let err = p.errors().next().unwrap();
    let report = err.report(&p.config);
    assert!(
        report.contains("/inc/a:2: error: option `mtu` has no value"),
        "{report}"
    );
    assert!(report.contains("included from"), "{report}");
    assert!(report.ends_with("interfaces:1"), "{report}");
    let read: Vec<_> = p
        .config
        .files
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(read, vec!["interfaces", "a", "b", "ok_1-x"]);
}

#[test]
fn missing_main_file_is_a_warning_like_debian() {
    let p = parse_file("/nonexistent/netconf/interfaces", &ParseOptions::default());
    assert!(!p.rejected);
    assert_eq!(names(&p), vec!["lo"]);
    assert_eq!(
        p.diagnostics[0].debian_text(&p.config),
        "couldn't open interfaces file \"/nonexistent/netconf/interfaces\": No such file or directory"
    );
    assert!(kinds(&p).len() == 1);
}

#[test]
fn mapping_stanzas() {
    let p = parse("mapping eth0 eth1\n  script /bin/map\n  map home eth0\n  map work\n");
    let m = &p.config.mappings[0];
    assert_eq!(m.patterns, vec!["eth0", "eth1"]);
    assert_eq!(m.script.as_deref(), Some("/bin/map"));
    assert_eq!(m.maps, vec!["home eth0", "work"]);
}
