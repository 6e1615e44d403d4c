//! `ncftool`, netcf's command-line tool on netconf, end to end: with
//! `--root` on a copy of a file system (no daemon), and through netconfd in
//! a network namespace of the test's own (the `iface-*` and `change-*` ops,
//! `ifup`/`ifdown`), judged by the files written and the kernel's own view
//! (`ip -j`), never by an exit code alone. Also: who may do what (a reader
//! lists, only root defines), the interactive prompt fed from a pipe and
//! typed into on a terminal (tmux, a server of the test's own), and the
//! errors of an invalid document, each placed, with nothing written.
//!
//! Addresses come from the documentation and benchmarking ranges only.
//! Needs root. Run `cargo build --bins` first.

use netconf_tests::{
    as_nobody, bins, require_root, run, sh_quote, wait_until, DaemonOptions, Harness, Out,
};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Panics unless `errors` place both errors of [`INVALID_XML`], each
/// after `prefix`: the `stp` on line 2, the `colour` on line 5.
fn assert_both_errors_placed(errors: &[&str], prefix: &str, context: &dyn std::fmt::Display) {
    for (place, what) in [("2:", "/bridge/@stp"), ("5:", "colour")] {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{prefix}{place}")) && e.contains(what)),
            "no error at {place} about {what}:\n{context}"
        );
    }
}

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

/// `ncftool ROOT_OPTION ROOT` (`-r` or `--root`) at its prompt, the lines
/// of `input` on its stdin (a file: no terminal).
fn ncf_root_prompt(root_option: &str, root: &Path, input: &str) -> Out {
    let file = root.join("input");
    fs::write(&file, input).unwrap();
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!(
        "exec {} {root_option} {} < {}",
        sh_quote(&ncftool().to_string_lossy()),
        sh_quote(&root.to_string_lossy()),
        sh_quote(&file.to_string_lossy())
    ));
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

/// Panics unless the command succeeded and listed exactly `names`, one a
/// line.
fn assert_lists(out: &Out, names: &[&str]) {
    out.assert_ok();
    assert_eq!(lines(&out.stdout), names, "{out}");
}

/// Panics unless stdout holds every one of `needles`.
fn assert_prints(out: &Out, needles: &[&str]) {
    for needle in needles {
        assert!(out.stdout.contains(needle), "expected {needle:?}:\n{out}");
    }
}

/// Panics unless the command exited 1 with `message` in its stderr.
fn assert_fails_with(out: &Out, message: &str) {
    out.assert_code(1);
    assert!(
        out.stderr.contains(message),
        "expected {message:?} on stderr:\n{out}"
    );
}

/// A harness (needs root) with the veths `veths` and its interfaces file
/// sourcing `DIR/interfaces.d` after `main`.
fn daemon_harness(veths: &[&str], main: &str) -> Harness {
    require_root();
    let h = Harness::new();
    for veth in veths {
        h.ns.veth(veth);
    }
    daemon_config(&h, main);
    h
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
    assert_lists(&ncf_root(root.path(), &["list"]), &["br0"]);
    assert_lists(&ncf_root(root.path(), &["list", "--inactive"]), &["eth2"]);
    assert_lists(
        &ncf_root(root.path(), &["list", "--all", "--macs"]),
        &["br0      02:00:00:00:00:01", "eth2     02:00:00:00:00:03"],
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
    assert_prints(
        &out,
        &[
            "<start mode=\"onboot\"/>",
            "<ip address=\"198.51.100.1\" prefix=\"24\"/>",
            "<interface type=\"ethernet\" name=\"v0\"/>",
        ],
    );
    // The option the XML cannot say, with its place.
    assert!(
        out.stderr
            .contains("etc/network/interfaces:12: br0: metric 5"),
        "{out}"
    );

    // A port is not a connection: netcf's lookup message, and whose it is.
    let out = ncf_root(root.path(), &["dumpxml", "v0"]);
    assert_fails_with(
        &out,
        "Interface v0 does not exist or is not a toplevel interface",
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
        assert_fails_with(&ncf_root(root.path(), args), "needs netconfd");
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
    assert_lists(&ncf_root(root.path(), &["list", "--all"]), &["br0", "eth2"]);
    let out = ncf_root(root.path(), &["dumpxml", "br0"]);
    out.assert_ok();
    assert_prints(
        &out,
        &[
            "<interface type=\"ethernet\" name=\"v0\"/>",
            "<ip address=\"198.51.100.1\" prefix=\"24\"/>",
        ],
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
        assert_fails_with(
            &ncf_root(root.path(), &["define", xml.to_str().unwrap()]),
            "error: v0 is part of br0: change br0's document",
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
    assert_prints(
        &ncf_root(root.path(), &["dumpxml", "br0"]),
        &["name=\"v2\""],
    );

    let out = ncf_root(root.path(), &["undefine", "br0"]);
    out.assert_ok();
    assert_eq!(out.stdout, "br0 undefined\n", "{out}");
    assert_lists(&ncf_root(root.path(), &["list", "--all"]), &["eth2"]);
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
    assert_both_errors_placed(&errors, "error: ", &out);
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
    let out = ncf_root_prompt(
        "--root",
        root.path(),
        "help\nlsit\n\nhelp list\nlist\nquit\nlist\n",
    );
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
    let out = ncf_root_prompt("-r", root.path(), "list\nundefine\n");
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
// The prompt on a terminal: tmux, typed into as a person would

/// The name of the one session on a [`Tmux`] server.
const SESSION: &str = "ncftool";

/// The prompt as `capture-pane` shows it (trailing spaces trimmed).
const PROMPT: &str = "ncftool>";

/// A tmux server of the test's own (its own `-L` socket, no
/// configuration), with one session running a shell command on a 200×50
/// terminal that stays on the screen after it ends. Dropping it kills
/// that server, and only it, even when the test fails.
struct Tmux {
    socket: String,
    /// The socket's file, which the server leaves behind.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    /// Starts `sh -c SCRIPT` in the session; `NETCONF_SOCKET` (inherited
    /// by the pane from the server) is `socket_env`.
    fn start(test: &str, script: &str, socket_env: &Path) -> Tmux {
        let mut tmux = Tmux {
            socket: format!("netconf-{test}-{}", std::process::id()),
            socket_path: None,
        };
        let mut c = tmux.command();
        c.args(["-f", "/dev/null", "new-session", "-d", "-s", SESSION])
            .args(["-x", "200", "-y", "50"])
            .args(["sh", "-c", script])
            .args([";", "set-option", "-g", "remain-on-exit", "on"])
            .env("NETCONF_SOCKET", socket_env)
            .current_dir("/");
        run(c).assert_ok();
        tmux.socket_path = Some(PathBuf::from(tmux.format("socket_path")));
        tmux
    }

    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-L").arg(&self.socket).env_remove("TMUX");
        c
    }

    /// `tmux -L SOCKET ARGS` on the session, which must succeed.
    fn tmux(&self, args: &[&str]) -> String {
        let mut c = self.command();
        c.args(args);
        let out = run(c);
        out.assert_ok();
        out.stdout
    }

    /// Keys by tmux's names (`Enter`, `Up`, `C-d`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend(keys);
        self.tmux(&args);
    }

    /// `text` typed as it is, then Enter.
    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
        self.keys(&["Enter"]);
    }

    /// All the session has shown, scrolled-off lines too, trailing spaces
    /// and blank lines at the end trimmed.
    fn screen(&self) -> Vec<String> {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION]);
        let mut screen: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        while screen.last().is_some_and(|l| l.is_empty()) {
            screen.pop();
        }
        screen
    }

    /// `#{name}` of the session's pane.
    fn format(&self, name: &str) -> String {
        let out = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            SESSION,
            &format!("#{{{name}}}"),
        ]);
        out.trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = fs::remove_file(path);
        }
    }
}

/// A prompt line: the bare prompt, or one with what was typed at it.
fn is_prompt(line: &str) -> bool {
    line == PROMPT || line.starts_with("ncftool> ")
}

fn prompts(screen: &[String]) -> usize {
    screen.iter().filter(|l| is_prompt(l)).count()
}

/// Waits for the bare prompt on the last line, the cursor after its
/// space, as the `count`th prompt on the screen; returns the screen.
fn wait_for_prompt(t: &Tmux, count: usize) -> Vec<String> {
    let mut screen = Vec::new();
    wait_until(
        &format!("prompt {count} of ncftool on the terminal"),
        || {
            screen = t.screen();
            prompts(&screen) >= count && screen.last().is_some_and(|l| l == PROMPT)
        },
    );
    assert_eq!(prompts(&screen), count, "{}", screen.join("\n"));
    assert_eq!(t.format("cursor_x"), "9", "{}", screen.join("\n"));
    screen
}

/// Types `line` at the prompt and waits for the next one; returns what
/// the command showed between its echoed line and that prompt. The line
/// is echoed once, as typed, after the prompt it was typed at.
fn at_prompt(t: &Tmux, line: &str) -> Vec<String> {
    let count = prompts(&t.screen());
    t.type_line(line);
    let screen = wait_for_prompt(t, count + 1);
    let echoed = screen
        .iter()
        .rposition(|l| l.starts_with("ncftool> "))
        .expect("the typed line");
    assert_eq!(
        screen[echoed],
        format!("ncftool> {line}"),
        "{}",
        screen.join("\n")
    );
    screen[echoed + 1..screen.len() - 1].to_vec()
}

/// Panics unless `shown` (a command's lines on the screen) starts with
/// `first` and has each of `lines` as a whole line.
fn assert_shows(shown: &[String], first: &str, lines: &[&str]) {
    assert_eq!(shown.first().map(String::as_str), Some(first), "{shown:?}");
    for line in lines {
        assert!(shown.iter().any(|l| l == line), "no {line:?} in {shown:?}");
    }
}

/// The lines `ncftool --root ROOT WORDS` prints from a pipe (stdout, then
/// stderr): a terminal shows the same.
fn from_a_pipe(root: &Path, words: &[&str]) -> Vec<String> {
    let out = ncf_root(root, words);
    lines(&out.all_output())
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// What the shell around ncftool on a terminal says when it ends, with
/// its exit status.
const EXITED: &str = "ncftool exited";

/// `ncftool --root ROOT` at its prompt on a terminal of its own, started
/// from `sh` as from a person's shell, which then says [`EXITED`] and
/// the status (the shell waits for it: tmux may learn a pane's status
/// late, or not at all, when it runs the program itself).
fn ncftool_on_a_terminal(test: &str, root: &Path) -> Tmux {
    let script = format!(
        "{} --root {}; echo \"{EXITED} $?\"",
        sh_quote(&ncftool().to_string_lossy()),
        sh_quote(&root.to_string_lossy())
    );
    Tmux::start(test, &script, &root.join("no-daemon.sock"))
}

/// Two bridges, `br0` up and `br1` down, for the terminal tests.
fn two_bridges() -> tempfile::TempDir {
    root_tree(
        &format!("{BRIDGE_STANZAS}\nauto br1\niface br1 inet static\n    address 203.0.113.1/24\n    bridge_ports none\n"),
        &[
            ("br0", "02:00:00:00:00:01", true),
            ("v0", "02:00:00:00:00:02", true),
            ("br1", "02:00:00:00:00:03", false),
        ],
    )
}

#[test]
fn interactive_prompt_on_a_terminal() {
    let root = two_bridges();
    let t = ncftool_on_a_terminal("prompt", root.path());
    // The prompt and nothing else.
    assert_eq!(wait_for_prompt(&t, 1), [PROMPT]);

    let help = at_prompt(&t, "help");
    assert_shows(
        &help,
        "Commands:",
        &[
            "    list       - list network interfaces",
            "    dumpxml    - dump the XML description of an interface",
            "    define     - define an interface from an XML file",
            "    change-rollback - rollback (revert) a set of network config changes",
            "    quit       - exit the program",
            "Type 'help <command>' for more information on a command",
        ],
    );
    assert_eq!(help, from_a_pipe(root.path(), &["help"]));

    let define = at_prompt(&t, "help define");
    let synopsis = define.iter().position(|l| l == "  SYNOPSIS");
    assert_eq!(
        synopsis.map(|i| define[i + 1].as_str()),
        Some("    define <xmlfile>"),
        "{define:?}"
    );
    assert_eq!(define, from_a_pipe(root.path(), &["help", "define"]));

    assert_eq!(at_prompt(&t, "list"), ["br0"]);
    assert_eq!(at_prompt(&t, "list --all"), ["br0", "br1"]);
    assert_eq!(at_prompt(&t, "lsit"), ["Unknown command 'lsit'"]);

    let xml = at_prompt(&t, "dumpxml br0");
    assert_shows(
        &xml,
        "<interface type=\"bridge\" name=\"br0\">",
        &[
            "    <ip address=\"198.51.100.1\" prefix=\"24\"/>",
            "    <interface type=\"ethernet\" name=\"v0\"/>",
        ],
    );
    assert_eq!(
        xml.last().map(String::as_str),
        Some("</interface>"),
        "{xml:?}"
    );
    assert_eq!(xml, from_a_pipe(root.path(), &["dumpxml", "br0"]));

    // quit ends the program, with the status of the command before it,
    // and no prompt after it.
    t.type_line("quit");
    let mut screen = Vec::new();
    wait_until("ncftool to end after quit", || {
        screen = t.screen();
        screen.iter().any(|l| l.starts_with(EXITED))
    });
    let quit = screen
        .iter()
        .position(|l| l == "ncftool> quit")
        .unwrap_or_else(|| panic!("no quit typed:\n{}", screen.join("\n")));
    let after: Vec<&str> = screen[quit + 1..]
        .iter()
        .map(String::as_str)
        .filter(|l| !l.is_empty() && !l.starts_with("Pane is dead"))
        .collect();
    assert_eq!(after, [format!("{EXITED} 0")], "{}", screen.join("\n"));
    // The terminal closed with the shell.
    wait_until("the pane to close", || t.format("pane_dead") == "1");
}

/// What a person presses at a prompt, expecting readline (netcf's ncftool
/// has it): Up for the last command. ncftool has no line editing, so the
/// escape sequence is an unknown command; the message shows it escaped, so
/// the screen stays readable: what was there stays, and the next prompt
/// stands on a line of its own.
#[test]
fn interactive_prompt_on_a_terminal_survives_an_arrow_key() {
    let root = two_bridges();
    let t = ncftool_on_a_terminal("arrow", root.path());
    wait_for_prompt(&t, 1);
    assert_eq!(at_prompt(&t, "list"), ["br0"]);
    t.keys(&["Up", "Enter"]);
    let mut screen = Vec::new();
    wait_until("ncftool to answer Up and Enter", || {
        screen = t.screen();
        prompts(&screen) >= 3
    });
    let text = format!("the screen after Up, Enter:\n{}", screen.join("\n"));
    assert_eq!(screen[..2], ["ncftool> list", "br0"], "{text}");
    assert_eq!(screen.last().map(String::as_str), Some(PROMPT), "{text}");
    assert_eq!(prompts(&screen), 3, "{text}");
}

// ---------------------------------------------------------------------------
// Through netconfd

#[test]
fn daemon_lists_and_dumps_with_the_kernels_state() {
    let h = daemon_harness(
        &["v0", "v1"],
        &format!("{BRIDGE_STANZAS}\niface v1 inet static\n    address 203.0.113.5/24\n"),
    );
    // Nothing is up: both connections are inactive.
    let out = ncf(&h, &["list"]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");
    assert_lists(&ncf(&h, &["list", "--inactive"]), &["br0", "v1"]);

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

    assert_lists(&ncf(&h, &["list"]), &["br0"]);
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
    // Still a document of the schema (a port's link-local address is no
    // addressing of the port's).
    if let Err(e) = netconf_ifxml::xml::parse(&out.stdout) {
        panic!("dumpxml --live printed an invalid document:\n{e}\n{out}");
    }
    // The port's MAC, from the kernel.
    let port_mac = h.ns.link("v0")["address"].as_str().unwrap().to_string();
    assert_prints(
        &out,
        &[
            "<ip address=\"198.51.100.1\" prefix=\"24\"/>",
            "<ip address=\"198.18.0.1\" prefix=\"15\"/>",
            "<link ",
            "state=\"",
            &format!("<mac address=\"{port_mac}\"/>"),
        ],
    );

    // A port is no connection, for the daemon either.
    assert_fails_with(&ncf(&h, &["dumpxml", "v0"]), "v0 is part of br0");

    let out = ncf(&h, &["ifdown", "br0"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("Interface br0 successfully brought down"),
        "{out}"
    );
    assert!(!h.ns.try_ip(&["link", "show", "dev", "br0"]).success());
    assert_fails_with(
        &ncf(&h, &["ifup", "nosuch0"]),
        "Interface nosuch0 does not exist or is not a toplevel interface",
    );
}

#[test]
fn daemon_defines_a_bridge_that_ifup_brings_up() {
    let h = daemon_harness(&["v0"], "iface v1 inet manual\n");
    let main_before = fs::read_to_string(h.path("interfaces")).unwrap();
    let xml = write_xml(h.dir(), "br0.xml", BRIDGE_XML);

    let out = ncf(&h, &["define", xml.to_str().unwrap()]);
    out.assert_ok();
    assert_eq!(out.stdout, "Defined interface br0\n", "{out}");
    assert_eq!(
        fs::read_to_string(h.path("interfaces")).unwrap(),
        main_before
    );
    assert_lists(&ncf(&h, &["list", "--all"]), &["br0", "v1"]);

    let out = ncf(&h, &["ifup", "br0"]);
    out.assert_ok();
    assert_eq!(
        h.ns.global_addrs("br0").into_iter().collect::<Vec<_>>(),
        ["198.51.100.1/24"]
    );
    assert_eq!(ports_of(&h, "br0"), ["v0"]);
    let out = ncf(&h, &["dumpxml", "--live", "br0"]);
    out.assert_ok();
    assert_prints(&out, &["<ip address=\"198.51.100.1\" prefix=\"24\"/>"]);

    ncf(&h, &["ifdown", "br0"]).assert_ok();
    let out = ncf(&h, &["undefine", "br0"]);
    out.assert_ok();
    assert_eq!(out.stdout, "br0 undefined\n", "{out}");
    assert_lists(&ncf(&h, &["list", "--all"]), &["v1"]);
    assert_eq!(
        fs::read_to_string(h.path("interfaces")).unwrap(),
        main_before
    );
}

#[test]
fn daemon_refuses_an_invalid_document_naming_every_error() {
    let h = daemon_harness(&[], BRIDGE_STANZAS);
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
    assert_both_errors_placed(&causes, "", &reply);

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
    let mut c = as_nobody(&program);
    c.arg("--socket")
        .arg(h.socket())
        .args(args)
        .env_remove("NETCONF_SOCKET")
        .current_dir("/");
    run(c)
}

#[test]
fn readers_list_and_dump_but_only_root_defines() {
    let h = daemon_harness(&["v0"], BRIDGE_STANZAS);
    let xml = write_xml(
        h.dir(),
        "br0.xml",
        &BRIDGE_XML.replace("198.51.100.1", "198.51.100.2"),
    );
    let before = fs::read_to_string(h.path("interfaces")).unwrap();

    assert_lists(&ncf_as_nobody(&h, &["list", "--all"]), &["br0"]);
    ncf_as_nobody(&h, &["dumpxml", "--live", "br0"]).assert_ok();

    for args in [
        &["define", xml.to_str().unwrap()][..],
        &["undefine", "br0"],
        &["change-begin"],
        &["change-rollback"],
        &["ifup", "br0"],
    ] {
        assert_fails_with(&ncf_as_nobody(&h, args), "permission denied");
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
        assert_fails_with(&out, "is not readable by every user");
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
    assert_fails_with(&ncf(&h, &["change-begin"]), "a transaction is already open");

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
    assert_lists(&ncf(&h, &["list", "--all"]), &["v1"]);

    // Nothing open any more.
    for op in ["change-rollback", "change-commit"] {
        assert_fails_with(&ncf(&h, &[op]), "no transaction is open");
    }

    // A committed change stays.
    ncf(&h, &["change-begin"]).assert_ok();
    ncf(&h, &["define", xml.to_str().unwrap()]).assert_ok();
    let out = ncf(&h, &["change-commit"]);
    out.assert_ok();
    assert_eq!(out.stdout, "config change transaction committed\n", "{out}");
    assert_lists(&ncf(&h, &["list", "--all"]), &["br0", "v1"]);
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
