//! The man pages in `man/`: the generated ones are what `gen-man` writes
//! now, and every page formats without a warning.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REGENERATE: &str = "run `cargo run -p netconf-man --bin gen-man -- man/`";

/// Every page that must be in `man/`: generated, then hand-written.
const PAGES: &[&str] = &[
    "ifquery.8",
    "ifup.8",
    "ifdown.8",
    "netconfd.8",
    "netconfctl.8",
    "ifreload.8",
    "ncftool.8",
    "netconf-dhcp-hook.8",
    "netconf-interfaces.5",
    "netconf-profiles.5",
    "netconf-locations.5",
    "netconf-protocol.7",
];

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages in `man/`: files named `NAME.N`, N a section digit.
fn pages_in(dir: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.len() == 1 && e.as_bytes()[0].is_ascii_digit())
        })
        .collect();
    pages.sort();
    pages
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The first line where two texts differ, for the failure message.
fn first_difference(fresh: &str, checked_in: &str) -> String {
    let mut old = checked_in.lines();
    for (n, new) in fresh.lines().enumerate() {
        match old.next() {
            Some(o) if o == new => continue,
            Some(o) => return format!("line {}: checked in {o:?}, generated {new:?}", n + 1),
            None => return format!("line {}: generated {new:?}, not checked in", n + 1),
        }
    }
    match old.next() {
        Some(o) => format!("checked in has more: {o:?}"),
        None => "line endings differ".into(),
    }
}

#[test]
fn generated_pages_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gen-man"))
        .arg(dir.path())
        .output()
        .expect("running gen-man");
    assert!(
        out.status.success(),
        "gen-man failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = pages_in(dir.path());
    assert!(!generated.is_empty(), "gen-man wrote no page");
    let mut stale = Vec::new();
    for page in &generated {
        let name = file_name(page);
        let fresh = std::fs::read_to_string(page).unwrap();
        match std::fs::read_to_string(man_dir().join(&name)) {
            Ok(checked_in) if checked_in == fresh => {}
            Ok(checked_in) => stale.push(format!(
                "man/{name} is stale ({})",
                first_difference(&fresh, &checked_in)
            )),
            Err(e) => stale.push(format!("man/{name}: {e}")),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n{REGENERATE} and commit the result",
        stale.join("\n")
    );
}

#[test]
fn every_page_is_there_and_named_in_its_title() {
    let pages: Vec<String> = pages_in(&man_dir()).iter().map(|p| file_name(p)).collect();
    for page in PAGES {
        assert!(
            pages.iter().any(|p| p == page),
            "man/{page} is missing ({REGENERATE} for generated pages)"
        );
    }
    for page in &pages {
        let text = std::fs::read_to_string(man_dir().join(page)).unwrap();
        let title = text
            .lines()
            .find(|l| l.starts_with(".TH "))
            .unwrap_or_else(|| panic!("man/{page}: no .TH line"));
        let (name, section) = page.rsplit_once('.').unwrap();
        let want = format!(".TH {} {section} ", name.to_uppercase().replace('-', "\\-"));
        assert!(
            title.starts_with(&want),
            "man/{page}: title {title:?} does not name the page"
        );
    }
}

/// How to format a page and see groff's warnings: man-db's `man`, else
/// groff itself.
fn checker() -> Option<(&'static str, Vec<&'static str>)> {
    let exists = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if exists("man") {
        Some(("man", vec!["--warnings", "-E", "UTF-8", "-l", "-Tutf8"]))
    } else if exists("groff") {
        Some(("groff", vec!["-man", "-ww", "-z"]))
    } else {
        None
    }
}

#[test]
fn every_page_formats_without_warnings() {
    let Some((program, args)) = checker() else {
        panic!(
            "neither man nor groff found: install man-db and groff-base \
             (apt-get install man-db groff-base) to check the man pages"
        );
    };
    let pages = pages_in(&man_dir());
    assert!(!pages.is_empty());
    let mut problems = Vec::new();
    for page in &pages {
        let out = Command::new(program)
            .args(&args)
            .arg(page)
            // Same width and locale everywhere; man-db complains on stderr
            // about a locale it cannot set.
            .env("LC_ALL", "C.UTF-8")
            .env("MANWIDTH", "80")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.is_empty() {
            problems.push(format!(
                "{program} {} {}: {}\n{stderr}",
                args.join(" "),
                page.display(),
                out.status
            ));
        }
        // man-db's parser of the NAME section, which whatis and apropos
        // rely on (it comes with man).
        if program == "man" {
            let out = Command::new("lexgrog")
                .arg(page)
                .env("LC_ALL", "C.UTF-8")
                .output()
                .unwrap_or_else(|e| panic!("running lexgrog: {e}"));
            if !out.status.success() {
                problems.push(format!(
                    "lexgrog {}: cannot read the NAME section\n{}{}",
                    page.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
