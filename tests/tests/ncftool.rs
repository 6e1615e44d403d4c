//! `ncftool`, netcf's command-line tool on netconf, end to end: with
//! `--root` on a copy of a file system (no daemon), and through netconfd in
//! a network namespace of the test's own (the `iface-*` and `change-*` ops,
//! `ifup`/`ifdown`), judged by the files written and the kernel's own view
//! (`ip -j`), never by an exit code alone. Also: who may do what (a reader
//! lists, only root defines), the interactive prompt fed from a pipe, and
//! the errors of an invalid document, each placed, with nothing written.
//!
//! Addresses come from the documentation and benchmarking ranges only.
//! Needs root. Run `cargo build --bins` first.

use netconf_tests::{bins, require_root, run, sh_quote, DaemonOptions, Harness, Out};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOBODY: &str = "65534";

/// A bridge over the veth `v0` with an address: one connection, `br0`.
const BRIDGE_XML: &str = r#"<interface type="bridge" name="br0">
  <start mode="onboot"/>
  <protocol family="ipv4">
    <ip address="198.51.100.1" prefix="24"/>
  </protocol>
  <bridge stp="off" delay="0">
    <interface type="ethernet" name="v0"/>
  </bridge>
</interface>
"#;

/// The same bridge as hand-written stanzas in netcf's Debian style.
const BRIDGE_STANZAS: &str = "auto br0\niface br0 inet static\n    address 198.51.100.1/24\n    bridge_ports v0\n    bridge_stp off\n    bridge_fd 0\n\niface v0 inet manual\n";

/// Two errors in one document: each must be reported with its place.
const INVALID_XML: &str = r#"<interface type="bridge" name="br0">
  <bridge stp="maybe">
    <interface type="ethernet" name="v0"/>
  </bridge>
  <colour name="blue"/>
</interface>
"#;

fn ncftool() -> PathBuf {
    let path = bins().dir.join("ncftool");
    assert!(
        path.is_file(),
        "missing {}: run `cargo build --bins` first",
        path.display()
    );
    path
}

/// `ncftool --root ROOT ARGS...` (no daemon: `NETCONF_SOCKET` points
/// nowhere, so a stray request would fail loudly).
fn ncf_root(root: &Path, args: &[&str]) -> Out {
    let mut c = Command::new(ncftool());
    c.arg("--root")
        .arg(root)
        .args(args)
        .env("NETCONF_SOCKET", root.join("no-daemon.sock"))
        .current_dir("/");
    run(c)
}

/// `ncftool --socket DIR/ctl.sock ARGS...`: through the harness's netconfd.
fn ncf(h: &Harness, args: &[&str]) -> Out {
    run(h.client(&ncftool(), args))
}

/// A copy of a file system: `etc/network/interfaces` sourcing
/// `interfaces.d`, with `main` in it, and sysfs entries for `links`
/// (name, MAC, up).
fn root_tree(main: &str, links: &[(&str, &str, bool)]) -> tempfile::TempDir {
    let root = tempfile::Builder::new()
        .prefix("ncf-root-")
        .tempdir()
        .expect("temporary directory");
    let net = root.path().join("etc/network");
    fs::create_dir_all(net.join("interfaces.d")).unwrap();
    fs::write(
        net.join("interfaces"),
        format!("auto lo\niface lo inet loopback\n\nsource-directory /etc/network/interfaces.d\n\n{main}"),
    )
    .unwrap();
    for (name, mac, up) in links {
        let dir = root.path().join("sys/class/net").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
        fs::write(dir.join("flags"), if *up { "0x1003\n" } else { "0x1002\n" }).unwrap();
    }
    root
}

/// Every file under `dir` with its contents, to prove nothing changed.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.is_file() {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The harness's interfaces file, sourcing `DIR/interfaces.d` where
/// `define` writes new connections.
fn daemon_config(h: &Harness, main: &str) {
    let dir = h.path("interfaces.d");
    fs::create_dir_all(&dir).unwrap();
    h.write_interfaces(&format!("source-directory {}\n\n{main}", dir.display()));
}

fn write_xml(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    path
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn ports_of(h: &Harness, bridge: &str) -> Vec<String> {
    h.ns.ip_json(&["link", "show", "master", bridge])
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(String::from))
        .collect()
}

// ---------------------------------------------------------------------------
// --root: a copy of a file system, no daemon

#[test]
fn root_lists_connections_with_activity_and_macs() {
    let root = root_tree(
        &format!("{BRIDGE_STANZAS}\nallow-hotplug eth2\niface eth2 inet dhcp\n"),
        &[
            ("br0", "02:00:00:00:00:01", true),
            ("v0", "02:00:00:00:00:02", true),
            ("eth2", "02:00:00:00:00:03", false),
        ],
    );
    // netcf's default: the active ones; a port is inside its bridge.
    let out = ncf_root(root.path(), &["list"]);
    out.assert_ok();
    assert_eq!(lines(&out.stdout), ["br0"], "{out}");
    let out = ncf_root(root.path(), &["list", "--inactive"]);
    assert_eq!(lines(&out.stdout), ["eth2"], "{out}");
    let out = ncf_root(root.path(), &["list", "--all", "--macs"]);
    out.assert_ok();
    assert_eq!(
        lines(&out.stdout),
        ["br0      02:00:00:00:00:01", "eth2     02:00:00:00:00:03"],
        "{out}"
    );
    // No sysfs entry: netcf's words.
    fs::remove_dir_all(root.path().join("sys/class/net/eth2")).unwrap();
    let out = ncf_root(root.path(), &["list", "--all", "--macs"]);
    assert!(out.stdout.contains("eth2     could not get MAC"), "{out}");
}

#[test]
fn root_dumps_a_connection_and_reports_what_it_cannot_say() {
    let root = root_tree(
        &BRIDGE_STANZAS.replace("bridge_fd 0\n", "bridge_fd 0\n    metric 5\n"),
        &[],
    );
    let out = ncf_root(root.path(), &["dumpxml", "br0"]);
    out.assert_ok();
    assert!(
        out.stdout
            .starts_with("<interface type=\"bridge\" name=\"br0\">"),
        "{out}"
    );
    assert!(out.stdout.contains("<start mode=\"onboot\"/>"), "{out}");
    assert!(
        out.stdout
            .contains("<ip address=\"198.51.100.1\" prefix=\"24\"/>"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("<interface type=\"ethernet\" name=\"v0\"/>"),
        "{out}"
    );
    // The option the XML cannot say, with its place.
    assert!(
        out.stderr
            .contains("etc/network/interfaces:12: br0: metric 5"),
        "{out}"
    );

    // A port is not a connection: netcf's lookup message, and whose it is.
    let out = ncf_root(root.path(), &["dumpxml", "v0"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("Interface v0 does not exist or is not a toplevel interface"),
        "{out}"
    );
    assert!(out.stderr.contains("v0 is part of br0"), "{out}");
    ncf_root(root.path(), &["dumpxml", "eth9"]).assert_code(1);
}

#[test]
fn root_refuses_what_needs_the_daemon() {
    let root = root_tree(BRIDGE_STANZAS, &[]);
    let before = tree(root.path());
    for args in [
        &["ifup", "br0"][..],
        &["ifdown", "br0"],
        &["dumpxml", "--live", "br0"],
    ] {
        let out = ncf_root(root.path(), args);
        out.assert_code(1);
        assert!(out.stderr.contains("needs netconfd"), "{out}");
    }
    assert_eq!(tree(root.path()), before);
}

#[test]
fn root_defines_and_undefines_keeping_every_other_byte() {
    let root = root_tree("# the admin's comment\niface eth2 inet dhcp\n", &[]);
    let main = root.path().join("etc/network/interfaces");
    let main_before = fs::read_to_string(&main).unwrap();
    let xml = write_xml(root.path(), "br0.xml", BRIDGE_XML);

    let out = ncf_root(root.path(), &["define", xml.to_str().unwrap()]);
    out.assert_ok();
    assert_eq!(out.stdout, "Defined interface br0\n", "{out}");
    // The main file is untouched; the connection went to interfaces.d.
    assert_eq!(fs::read_to_string(&main).unwrap(), main_before);
    let out = ncf_root(root.path(), &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["br0", "eth2"], "{out}");
    let out = ncf_root(root.path(), &["dumpxml", "br0"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("<interface type=\"ethernet\" name=\"v0\"/>"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("<ip address=\"198.51.100.1\" prefix=\"24\"/>"),
        "{out}"
    );

    // A port of br0 is not defined on its own, nor into another bridge.
    let before = tree(root.path());
    for (file, text) in [
        (
            "v0.xml",
            "<interface type=\"ethernet\" name=\"v0\">\n  <protocol family=\"ipv4\"><dhcp/></protocol>\n</interface>\n",
        ),
        (
            "br1.xml",
            "<interface type=\"bridge\" name=\"br1\">\n  <bridge>\n    <interface type=\"ethernet\" name=\"v0\"/>\n  </bridge>\n</interface>\n",
        ),
    ] {
        let xml = write_xml(root.path(), file, text);
        let out = ncf_root(root.path(), &["define", xml.to_str().unwrap()]);
        out.assert_code(1);
        assert!(
            out.stderr.contains("error: v0 is part of br0: change br0's document"),
            "{out}"
        );
    }
    let after: Vec<(PathBuf, Vec<u8>)> = tree(root.path())
        .into_iter()
        .filter(|(p, _)| !p.ends_with("v0.xml") && !p.ends_with("br1.xml"))
        .collect();
    assert_eq!(after, before);

    // Defined again with another port: the old port's stanza goes with it.
    fs::write(
        root.path().join("etc/network/interfaces.d/v0"),
        "iface v0 inet manual\n",
    )
    .unwrap();
    let xml = write_xml(
        root.path(),
        "br0.xml",
        &BRIDGE_XML.replace("\"v0\"", "\"v2\""),
    );
    ncf_root(root.path(), &["define", xml.to_str().unwrap()]).assert_ok();
    assert!(!root.path().join("etc/network/interfaces.d/v0").exists());
    let out = ncf_root(root.path(), &["dumpxml", "br0"]);
    assert!(out.stdout.contains("name=\"v2\""), "{out}");

    let out = ncf_root(root.path(), &["undefine", "br0"]);
    out.assert_ok();
    assert_eq!(out.stdout, "br0 undefined\n", "{out}");
    let out = ncf_root(root.path(), &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["eth2"], "{out}");
    assert_eq!(fs::read_to_string(&main).unwrap(), main_before);
    ncf_root(root.path(), &["undefine", "br0"]).assert_code(1);
}

#[test]
fn root_refuses_an_invalid_document_naming_every_error() {
    let root = root_tree(BRIDGE_STANZAS, &[]);
    let xml = write_xml(root.path(), "bad.xml", INVALID_XML);
    let before = tree(root.path());
    let out = ncf_root(root.path(), &["define", xml.to_str().unwrap()]);
    out.assert_code(1);
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(errors.first(), Some(&"error: XML invalid"), "{out}");
    assert!(
        errors
            .iter()
            .any(|l| l.starts_with("error: 2:") && l.contains("/bridge/@stp")),
        "{out}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.starts_with("error: 5:") && l.contains("colour")),
        "{out}"
    );
    // Not XML at all: netcf's other category.
    let junk = write_xml(root.path(), "junk.xml", "<interface");
    let out = ncf_root(root.path(), &["define", junk.to_str().unwrap()]);
    out.assert_code(1);
    assert!(
        out.stderr
            .starts_with("error: XML parser failed\nerror: 1:"),
        "{out}"
    );
    let out = ncf_root(root.path(), &["define", "/nonexistent.xml"]);
    out.assert_code(1);
    assert_eq!(out.stderr, "Failed to read /nonexistent.xml\n", "{out}");
    // Nothing written (the two documents are the only new files).
    let after: Vec<(PathBuf, Vec<u8>)> = tree(root.path())
        .into_iter()
        .filter(|(p, _)| !p.ends_with("junk.xml"))
        .collect();
    assert_eq!(after, before);
}

// ---------------------------------------------------------------------------
// The prompt

#[test]
fn interactive_prompt_from_a_pipe() {
    let root = root_tree(BRIDGE_STANZAS, &[("br0", "02:00:00:00:00:01", true)]);
    let input = root.path().join("input");
    fs::write(&input, "help\nlsit\n\nhelp list\nlist\nquit\nlist\n").unwrap();
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!(
        "exec {} --root {} < {}",
        sh_quote(&ncftool().to_string_lossy()),
        sh_quote(&root.path().to_string_lossy()),
        sh_quote(&input.to_string_lossy())
    ));
    let out = run(c);
    // The last command before quit succeeded.
    out.assert_ok();
    assert!(out.stdout.starts_with("ncftool> Commands:\n\n"), "{out}");
    assert!(
        out.stdout
            .contains("    list       - list network interfaces\n"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("\nType 'help <command>' for more information on a command\n"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("  SYNOPSIS\n    list [--macs] [--all] [--inactive]\n"),
        "{out}"
    );
    assert!(out.stdout.contains("ncftool> br0\nncftool> "), "{out}");
    assert_eq!(out.stderr, "Unknown command 'lsit'\n", "{out}");
    // One prompt per line read up to quit; the line after it is not run.
    assert_eq!(out.stdout.matches("ncftool> ").count(), 6, "{out}");

    // A failed last command is the exit status; the end of input ends it.
    fs::write(&input, "list\nundefine\n").unwrap();
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!(
        "exec {} -r {} < {}",
        sh_quote(&ncftool().to_string_lossy()),
        sh_quote(&root.path().to_string_lossy()),
        sh_quote(&input.to_string_lossy())
    ));
    let out = run(c);
    out.assert_code(1);
    assert_eq!(out.stderr, "Not enough arguments for undefine\n", "{out}");

    // One command from the command line, with netcf's refusals.
    let out = ncf_root(root.path(), &["lsit"]);
    out.assert_code(1);
    assert_eq!(out.stderr, "Unknown command 'lsit'\n");
    let out = ncf_root(root.path(), &["ifup", "a", "b"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "Too many arguments. Command ifup takes only 1 arguments\n"
    );
}

// ---------------------------------------------------------------------------
// Through netconfd

#[test]
fn daemon_lists_and_dumps_with_the_kernels_state() {
    require_root();
    let h = Harness::new();
    h.ns.veth("v0");
    h.ns.veth("v1");
    daemon_config(
        &h,
        &format!("{BRIDGE_STANZAS}\niface v1 inet static\n    address 203.0.113.5/24\n"),
    );
    // Nothing is up: both connections are inactive.
    let out = ncf(&h, &["list"]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");
    let out = ncf(&h, &["list", "--inactive"]);
    assert_eq!(lines(&out.stdout), ["br0", "v1"], "{out}");

    // ifup of the connection brings up the bridge with its port.
    let out = ncf(&h, &["ifup", "br0"]);
    out.assert_ok();
    assert!(
        out.stderr.contains("Interface br0 successfully brought up"),
        "{out}"
    );
    assert_eq!(
        h.ns.global_addrs("br0").into_iter().collect::<Vec<_>>(),
        ["198.51.100.1/24"]
    );
    assert_eq!(ports_of(&h, "br0"), ["v0"]);
    assert!(h.ns.is_up("v0"));

    let out = ncf(&h, &["list"]);
    assert_eq!(lines(&out.stdout), ["br0"], "{out}");
    let mac = h.ns.link("br0")["address"].as_str().unwrap().to_string();
    let out = ncf(&h, &["list", "--all", "--macs"]);
    out.assert_ok();
    assert_eq!(lines(&out.stdout)[0], format!("br0      {mac}"), "{out}");
    // dumpxml --mac finds the connection by its MAC.
    let out = ncf(&h, &["dumpxml", "--mac", &mac.to_uppercase()]);
    out.assert_ok();
    assert!(
        out.stdout
            .starts_with("<interface type=\"bridge\" name=\"br0\">"),
        "{out}"
    );

    // The configured document, then the live one with the kernel's address.
    let out = ncf(&h, &["dumpxml", "br0"]);
    out.assert_ok();
    assert!(!out.stdout.contains("<link"), "{out}");
    h.ns.ip(&["addr", "add", "198.18.0.1/15", "dev", "br0"]);
    let out = ncf(&h, &["dumpxml", "--live", "br0"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("<ip address=\"198.51.100.1\" prefix=\"24\"/>"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("<ip address=\"198.18.0.1\" prefix=\"15\"/>"),
        "{out}"
    );
    assert!(out.stdout.contains("<link "), "{out}");
    assert!(out.stdout.contains("state=\""), "{out}");
    // The port's MAC, from the kernel.
    let port_mac = h.ns.link("v0")["address"].as_str().unwrap().to_string();
    assert!(
        out.stdout
            .contains(&format!("<mac address=\"{port_mac}\"/>")),
        "{out}"
    );

    // A port is no connection, for the daemon either.
    let out = ncf(&h, &["dumpxml", "v0"]);
    out.assert_code(1);
    assert!(out.stderr.contains("v0 is part of br0"), "{out}");

    let out = ncf(&h, &["ifdown", "br0"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("Interface br0 successfully brought down"),
        "{out}"
    );
    assert!(!h.ns.try_ip(&["link", "show", "dev", "br0"]).success());
    let out = ncf(&h, &["ifup", "nosuch0"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("Interface nosuch0 does not exist or is not a toplevel interface"),
        "{out}"
    );
}

#[test]
fn daemon_defines_a_bridge_that_ifup_brings_up() {
    require_root();
    let h = Harness::new();
    h.ns.veth("v0");
    daemon_config(&h, "iface v1 inet manual\n");
    let main_before = fs::read_to_string(h.path("interfaces")).unwrap();
    let xml = write_xml(h.dir(), "br0.xml", BRIDGE_XML);

    let out = ncf(&h, &["define", xml.to_str().unwrap()]);
    out.assert_ok();
    assert_eq!(out.stdout, "Defined interface br0\n", "{out}");
    assert_eq!(
        fs::read_to_string(h.path("interfaces")).unwrap(),
        main_before
    );
    let out = ncf(&h, &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["br0", "v1"], "{out}");

    let out = ncf(&h, &["ifup", "br0"]);
    out.assert_ok();
    assert_eq!(
        h.ns.global_addrs("br0").into_iter().collect::<Vec<_>>(),
        ["198.51.100.1/24"]
    );
    assert_eq!(ports_of(&h, "br0"), ["v0"]);
    let out = ncf(&h, &["dumpxml", "--live", "br0"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("<ip address=\"198.51.100.1\" prefix=\"24\"/>"),
        "{out}"
    );

    ncf(&h, &["ifdown", "br0"]).assert_ok();
    let out = ncf(&h, &["undefine", "br0"]);
    out.assert_ok();
    assert_eq!(out.stdout, "br0 undefined\n", "{out}");
    let out = ncf(&h, &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["v1"], "{out}");
    assert_eq!(
        fs::read_to_string(h.path("interfaces")).unwrap(),
        main_before
    );
}

#[test]
fn daemon_refuses_an_invalid_document_naming_every_error() {
    require_root();
    let h = Harness::new();
    daemon_config(&h, BRIDGE_STANZAS);
    let before = fs::read_to_string(h.path("interfaces")).unwrap();
    // Sent raw, past ncftool's own check, the daemon says the same.
    let mut conn = h.connect();
    let request = serde_json::json!({
        "version": 1, "id": 1, "op": "iface-define", "args": {"xml": INVALID_XML}
    });
    let reply = conn.request(&request.to_string());
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "invalid-xml", "{reply}");
    assert_eq!(reply["message"], "XML invalid", "{reply}");
    let causes: Vec<&str> = reply["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(
        causes
            .iter()
            .any(|c| c.starts_with("2:") && c.contains("@stp")),
        "{reply}"
    );
    assert!(
        causes
            .iter()
            .any(|c| c.starts_with("5:") && c.contains("colour")),
        "{reply}"
    );

    let xml = write_xml(h.dir(), "bad.xml", INVALID_XML);
    let out = ncf(&h, &["define", xml.to_str().unwrap()]);
    out.assert_code(1);
    assert!(
        out.stderr.starts_with("error: XML invalid\nerror: 2:"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(h.path("interfaces")).unwrap(), before);
    assert!(fs::read_dir(h.path("interfaces.d"))
        .unwrap()
        .next()
        .is_none());
}

/// `setpriv` as `nobody`, no groups: a reader.
fn ncf_as_nobody(h: &Harness, args: &[&str]) -> Out {
    let program = h.public_copy(&ncftool());
    let mut c = Command::new("setpriv");
    c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
        .arg(program)
        .arg("--socket")
        .arg(h.socket())
        .args(args)
        .env_remove("NETCONF_SOCKET")
        .current_dir("/");
    run(c)
}

#[test]
fn readers_list_and_dump_but_only_root_defines() {
    require_root();
    let h = Harness::new();
    h.ns.veth("v0");
    daemon_config(&h, BRIDGE_STANZAS);
    let xml = write_xml(
        h.dir(),
        "br0.xml",
        &BRIDGE_XML.replace("198.51.100.1", "198.51.100.2"),
    );
    let before = fs::read_to_string(h.path("interfaces")).unwrap();

    let out = ncf_as_nobody(&h, &["list", "--all"]);
    out.assert_ok();
    assert_eq!(lines(&out.stdout), ["br0"], "{out}");
    ncf_as_nobody(&h, &["dumpxml", "--live", "br0"]).assert_ok();

    for args in [
        &["define", xml.to_str().unwrap()][..],
        &["undefine", "br0"],
        &["change-begin"],
        &["change-rollback"],
        &["ifup", "br0"],
    ] {
        let out = ncf_as_nobody(&h, args);
        out.assert_code(1);
        assert!(out.stderr.contains("permission denied"), "{out}");
    }
    assert_eq!(fs::read_to_string(h.path("interfaces")).unwrap(), before);
    assert!(!h.ns.try_ip(&["link", "show", "dev", "br0"]).success());

    // A file kept from others (a wpa-psk in it) is not read out to them.
    let private = h.path("interfaces.d/wlan0");
    fs::write(
        &private,
        "iface wlan0 inet dhcp\n    wpa-ssid lab\n    wpa-psk not-for-nobody\n",
    )
    .unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).unwrap();
    for args in [&["list", "--all"][..], &["dumpxml", "wlan0"]] {
        let out = ncf_as_nobody(&h, args);
        out.assert_code(1);
        assert!(
            out.stderr.contains("is not readable by every user"),
            "{out}"
        );
        assert!(!out.all_output().contains("not-for-nobody"), "{out}");
    }
    let out = ncf(&h, &["dumpxml", "wlan0"]);
    out.assert_ok();
    assert!(out.stderr.contains("wpa-psk"), "root sees it all: {out}");
}

// ---------------------------------------------------------------------------
// Transactions through netconfd

/// A harness whose daemon reads `DIR/etc/network/interfaces`: the
/// transaction snapshots that directory whole.
fn etc_network_harness(main: &str) -> Harness {
    let h = Harness::with_options(DaemonOptions {
        interfaces: Some("etc/network/interfaces".into()),
        ..DaemonOptions::default()
    });
    let net = h.path("etc/network");
    fs::create_dir_all(net.join("interfaces.d")).unwrap();
    h.write_interfaces(&format!(
        "source-directory {}\n\n{main}",
        net.join("interfaces.d").display()
    ));
    h
}

#[test]
fn rollback_restores_the_files_and_the_kernel() {
    require_root();
    let h =
        etc_network_harness("# kept as it is\niface v1 inet static\n    address 203.0.113.5/24\n");
    h.ns.veth("v0");
    h.ns.veth("v1");
    ncf(&h, &["ifup", "v1"]).assert_ok();
    let net = h.path("etc/network");
    let before = tree(&net);
    let xml = write_xml(h.dir(), "br0.xml", BRIDGE_XML);

    let out = ncf(&h, &["change-begin"]);
    out.assert_ok();
    assert_eq!(out.stdout, "config change transaction started\n", "{out}");
    // One at a time.
    let out = ncf(&h, &["change-begin"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("a transaction is already open"),
        "{out}"
    );

    ncf(&h, &["define", xml.to_str().unwrap()]).assert_ok();
    ncf(&h, &["ifdown", "v1"]).assert_ok();
    ncf(&h, &["undefine", "v1"]).assert_ok();
    ncf(&h, &["ifup", "br0"]).assert_ok();
    assert_eq!(ports_of(&h, "br0"), ["v0"]);
    assert!(h.ns.global_addrs("v1").is_empty());
    assert_ne!(tree(&net), before);

    let out = ncf(&h, &["change-rollback"]);
    out.assert_ok();
    assert_eq!(
        out.stdout, "config change transaction rolled back\n",
        "{out}"
    );
    // Byte for byte, and the kernel as the files say: the bridge gone,
    // its port out; v1 is not brought back, as it is not `auto` (reload
    // brings up only auto interfaces), and its stanza is back.
    assert_eq!(tree(&net), before);
    assert!(!h.ns.try_ip(&["link", "show", "dev", "br0"]).success());
    assert!(
        h.ns.link("v0").get("master").is_none(),
        "{}",
        h.ns.link("v0")
    );
    let out = ncf(&h, &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["v1"], "{out}");

    // Nothing open any more.
    let out = ncf(&h, &["change-rollback"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no transaction is open"), "{out}");
    let out = ncf(&h, &["change-commit"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no transaction is open"), "{out}");

    // A committed change stays.
    ncf(&h, &["change-begin"]).assert_ok();
    ncf(&h, &["define", xml.to_str().unwrap()]).assert_ok();
    let out = ncf(&h, &["change-commit"]);
    out.assert_ok();
    assert_eq!(out.stdout, "config change transaction committed\n", "{out}");
    let out = ncf(&h, &["list", "--all"]);
    assert_eq!(lines(&out.stdout), ["br0", "v1"], "{out}");
}

#[test]
fn rollback_takes_an_auto_interface_back_up() {
    require_root();
    let h = etc_network_harness("auto v1\niface v1 inet static\n    address 203.0.113.5/24\n");
    h.ns.veth("v1");
    ncf(&h, &["ifup", "v1"]).assert_ok();
    ncf(&h, &["change-begin"]).assert_ok();
    ncf(&h, &["ifdown", "v1"]).assert_ok();
    ncf(&h, &["undefine", "v1"]).assert_ok();
    assert!(h.ns.global_addrs("v1").is_empty());
    ncf(&h, &["change-rollback"]).assert_ok();
    assert_eq!(
        h.ns.global_addrs("v1").into_iter().collect::<Vec<_>>(),
        ["203.0.113.5/24"]
    );
}

#[test]
fn root_transactions_restore_the_files() {
    let root = root_tree("iface eth2 inet dhcp\n", &[]);
    let net = root.path().join("etc/network");
    let before = tree(&net);
    let xml = write_xml(root.path(), "br0.xml", BRIDGE_XML);
    ncf_root(root.path(), &["change-begin"]).assert_ok();
    ncf_root(root.path(), &["define", xml.to_str().unwrap()]).assert_ok();
    ncf_root(root.path(), &["undefine", "eth2"]).assert_ok();
    assert_ne!(tree(&net), before);
    let out = ncf_root(root.path(), &["change-rollback"]);
    out.assert_ok();
    assert_eq!(tree(&net), before);
    // The snapshot was under the root, not on this machine.
    assert!(root.path().join("var/lib/netconf").is_dir());
}

#[test]
fn without_a_daemon_requests_fail_and_help_works() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let ncf_nowhere = |args: &[&str]| {
        let mut c = Command::new(ncftool());
        c.arg("--socket").arg(&socket).args(args).current_dir("/");
        run(c)
    };
    let out = ncf_nowhere(&["list"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: netconfd is not running (no socket at {})\n",
            socket.display()
        )
    );
    // Help needs no daemon.
    let out = ncf_nowhere(&["help", "define"]);
    out.assert_ok();
    assert!(out.stdout.contains("    define <xmlfile>\n"), "{out}");
}
