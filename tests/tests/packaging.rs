//! Checks of the boot integration files in `debian-integration/` (what the
//! Debian package installs: the systemd units, the sysvinit script, the udev
//! rule and its helper, the stop helper, the AppArmor lines for dhclient) and
//! of netconfd's readiness notification, which `Type=notify` and the sysvinit
//! script's `start-stop-daemon --notify-await` rely on.
//!
//! Nothing here touches the machine's network, its /etc or systemd's state:
//! `systemd-analyze verify` and `apparmor_parser -Q` only read files (under a
//! temporary root or base directory), the shell scripts run as copies whose
//! few path lines point into a temporary directory, and netconfd runs in a
//! network namespace of its own.
//!
//! Needs, and fails (never skips) without: `systemd-analyze` (package
//! systemd), `apparmor_parser` (apparmor), Debian's dhclient profile
//! (isc-dhcp-client), Debian's ifupdown unpacked by
//! `scripts/fetch-debian-ifupdown`, `start-stop-daemon` (dpkg), the built
//! binaries, and root (network namespaces). `checkbashisms` (devscripts) is
//! used when it is installed.

use netconf_ctlsock_proto::{Client, Op};
use netconf_tests::{bins, describe, repo_root, require_root, run, wait_until, Netns, Out};
use netconf_tests::{COMMAND_TIMEOUT, WAIT_TIMEOUT};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

// ---------------------------------------------------------------------------
// Where things are

/// `debian-integration/` in this repository.
fn integration() -> PathBuf {
    repo_root().join("debian-integration")
}

fn read(rel: &str) -> String {
    let path = integration().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Debian's ifupdown 0.8.41, unpacked (never installed) by
/// `scripts/fetch-debian-ifupdown`: the contract the files keep.
fn debian_root() -> PathBuf {
    let base = std::env::var_os("DEBIAN_IFUPDOWN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/debian-ifupdown/root".into());
    let root = repo_root().join(base);
    assert!(
        root.join("lib/systemd/system/networking.service").is_file(),
        "Debian's ifupdown is missing: no {}/lib/systemd/system/networking.service.\n\
         Run scripts/fetch-debian-ifupdown first (it unpacks Debian's ifupdown 0.8.41 into \
         target/debian-ifupdown/root, or into $DEBIAN_IFUPDOWN_ROOT).",
        root.display()
    );
    root
}

fn read_debian(rel: &str) -> String {
    let path = debian_root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A tool the checks need, by absolute path; fails naming the Debian package
/// CI must install when it is missing.
fn tool(name: &str, package: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: these checks need it. Install the Debian package \
             `{package}` (CI: add it to the apt-get install line of .ci/run)."
        )
    })
}

fn find_tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("nct-pkg-")
        .tempdir()
        .expect("temporary directory");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn write_executable(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("mkdir");
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A copy of the script `rel` at `dest` with each of `lines` (exactly as in
/// the script, where it must occur once) replaced by its new text: how the
/// tests point a script's few absolute paths into a temporary directory
/// without the script having knobs for it.
fn copy_script(rel: &str, dest: &Path, lines: &[(&str, String)]) {
    let mut text = read(rel);
    for (old, new) in lines {
        let count = text.lines().filter(|l| l == old).count();
        assert_eq!(count, 1, "{rel}: expected the line `{old}` exactly once");
        text = text.replacen(&format!("{old}\n"), &format!("{new}\n"), 1);
    }
    write_executable(dest, &text);
}

// ---------------------------------------------------------------------------
// Unit files

/// A unit file as `(section, key, value)` entries in file order.
struct Unit {
    name: String,
    entries: Vec<(String, String, String)>,
}

impl Unit {
    fn parse(name: &str, text: &str) -> Unit {
        let mut section = String::new();
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            assert!(
                !line.ends_with('\\'),
                "{name}:{}: no continuation lines, please",
                n + 1
            );
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_string();
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}:{}: not KEY=VALUE: {line}", n + 1));
            entries.push((section.clone(), key.trim().into(), value.trim().into()));
        }
        Unit {
            name: name.into(),
            entries,
        }
    }

    fn ours(file: &str) -> Unit {
        Unit::parse(file, &read(&format!("systemd/{file}")))
    }

    fn debians(file: &str) -> Unit {
        Unit::parse(
            &format!("Debian's {file}"),
            &read_debian(&format!("lib/systemd/system/{file}")),
        )
    }

    fn values(&self, section: &str, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }

    /// The single value of `key`; fails unless there is exactly one.
    fn one(&self, section: &str, key: &str) -> &str {
        match self.values(section, key)[..] {
            [v] => v,
            ref vs => panic!(
                "{}: [{section}] {key}= is set {} times",
                self.name,
                vs.len()
            ),
        }
    }

    /// The words of every `key=` line (lists such as After=, Wants=).
    fn words(&self, section: &str, key: &str) -> BTreeSet<String> {
        self.values(section, key)
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(String::from)
            .collect()
    }

    /// A systemd boolean, normalised.
    fn boolean(&self, section: &str, key: &str) -> bool {
        match self.one(section, key) {
            "yes" | "true" | "on" | "1" => true,
            "no" | "false" | "off" | "0" => false,
            v => panic!("{}: [{section}] {key}={v} is not a boolean", self.name),
        }
    }

    /// Every command line of the `Exec*=` keys, prefixes (`-`, `@`, ...) removed.
    fn commands(&self) -> Vec<(String, Vec<String>)> {
        self.entries
            .iter()
            .filter(|(s, k, _)| s == "Service" && k.starts_with("Exec"))
            .map(|(_, k, v)| {
                let v = v.trim_start_matches(['-', '@', ':', '+', '!']);
                (k.clone(), shell_words(v))
            })
            .collect()
    }
}

/// Splits a command line as systemd does for the simple cases the units
/// use: whitespace, and single or double quotes around one word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in `{line}`");
    if in_word {
        words.push(word);
    }
    words
}

const UNITS: &[&str] = &[
    "netconfd.service",
    "networking.service",
    "ifup@.service",
    "netconf-wait-online.service",
];

/// What the netconf package and Debian's base system install that the
/// units run, by absolute path. Our own helper is copied in as it is; the
/// rest are stubs (systemd-analyze verify only checks that a command is an
/// executable file).
const INSTALLED_STUBS: &[&str] = &[
    "/usr/sbin/netconfd",
    "/usr/bin/netconfctl",
    "/sbin/ifup",
    "/sbin/ifdown",
    "/sbin/ifquery",
    "/bin/sh",
    "/bin/kill",
    "/usr/bin/touch",
];

/// A root with the units where the package installs them
/// (/lib/systemd/system), the helper they run and stubs for the rest,
/// leaving out `without`.
fn verify_root(without: Option<&str>) -> tempfile::TempDir {
    let root = tempdir();
    let units = root.path().join("lib/systemd/system");
    fs::create_dir_all(&units).expect("mkdir");
    for unit in UNITS {
        fs::copy(integration().join("systemd").join(unit), units.join(unit)).expect("copy unit");
    }
    for stub in INSTALLED_STUBS.iter().filter(|s| Some(**s) != without) {
        write_executable(
            &root.path().join(&stub[1..]),
            "#!/bin/sh\necho stub >&2\nexit 1\n",
        );
    }
    write_executable(
        &root.path().join("usr/lib/netconf/netconf-networking-stop"),
        &read("lib/netconf-networking-stop"),
    );
    root
}

fn systemd_analyze_verify(root: &Path) -> Out {
    let mut c = Command::new(tool("systemd-analyze", "systemd"));
    // --man=no: the man pages are not installed in the temporary root (and
    // `man` would look on this machine); --root: units, and the commands
    // they run, are looked up under the temporary root, not in /.
    c.arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .args([
            "netconfd.service",
            "networking.service",
            "ifup@eth0.service",
            "netconf-wait-online.service",
        ])
        .env("SYSTEMD_LOG_COLOR", "0")
        .env("SYSTEMD_PAGER", "")
        .current_dir(root);
    run(c)
}

/// `systemd-analyze verify` finds no problem in any unit: syntax, known
/// keys, values that parse, dependencies that resolve and every command an
/// executable where the package puts it. It reads the units from a
/// temporary root (`--root=`), where the commands they run are stubs at the
/// package's paths, so it passes without anything installed; a second run
/// without /sbin/ifdown proves it really looks for the commands there.
#[test]
fn units_pass_systemd_analyze_verify() {
    let root = verify_root(None);
    let out = systemd_analyze_verify(root.path());
    assert!(
        out.success() && out.all_output().trim().is_empty(),
        "systemd-analyze verify found problems (it must print nothing):\n{out}"
    );

    let root = verify_root(Some("/sbin/ifdown"));
    let out = systemd_analyze_verify(root.path());
    assert!(
        !out.success() && out.all_output().contains("/sbin/ifdown"),
        "systemd-analyze verify did not notice a missing /sbin/ifdown under --root:\n{out}"
    );
}

/// Every netconf command line in the units is accepted by the binary built
/// here (run with the unit's arguments and `--version`, which parses them
/// all and then prints the version, changing nothing): an option the units
/// use cannot be misspelt or missing.
#[test]
fn netconf_command_lines_in_units_parse() {
    let b = bins();
    let ours = [
        ("/usr/sbin/netconfd", &b.netconfd),
        ("/sbin/ifup", &b.ifup),
        ("/sbin/ifdown", &b.ifdown),
        ("/sbin/ifquery", &b.ifquery),
        // The stop helper passes its arguments to ifdown.
        ("/usr/lib/netconf/netconf-networking-stop", &b.ifdown),
    ];
    let mut checked = 0;
    for unit in UNITS {
        for (key, words) in Unit::ours(unit).commands() {
            let Some((_, bin)) = ours.iter().find(|(p, _)| *p == words[0]) else {
                continue;
            };
            let args = words[1..].iter().map(|w| w.replace("%I", "eth0"));
            let mut c = Command::new(bin);
            c.args(args).arg("--version");
            let out = run(c);
            assert!(
                out.success(),
                "{unit}: {key}={} is not accepted by {}:\n{out}",
                words.join(" "),
                bin.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "expected netconf commands in the units");
}

/// The shell snippets of the units (`/bin/sh -c '...'`) parse, once systemd
/// has turned `$$` into `$` and `%I` into a name.
#[test]
fn shell_snippets_in_units_parse() {
    let mut checked = 0;
    for unit in UNITS {
        for (key, words) in Unit::ours(unit).commands() {
            if words[0] != "/bin/sh" {
                continue;
            }
            let flag = words
                .iter()
                .position(|w| w.starts_with('-') && w.ends_with('c'));
            let script = &words[flag.expect("sh -c") + 1];
            let script = script.replace("$$", "$").replace("%I", "eth0");
            let mut c = Command::new("sh");
            c.arg("-n").arg("-c").arg(&script);
            let out = run(c);
            assert!(out.success(), "{unit}: {key}: {script}\n{out}");
            checked += 1;
        }
    }
    assert_eq!(
        checked, 4,
        "networking.service has two, ifup@.service and netconf-wait-online.service one each"
    );
}

/// netconfd.service: ready when the socket serves, and neither a stop nor a
/// restart touches the network or the dhclients.
#[test]
fn netconfd_unit_leaves_the_network_alone() {
    let u = Unit::ours("netconfd.service");
    assert_eq!(u.one("Service", "Type"), "notify");
    assert_eq!(u.one("Service", "NotifyAccess"), "main");
    assert_eq!(
        u.one("Service", "ExecStart"),
        "/usr/sbin/netconfd --dhcp-hook /usr/lib/netconf/netconf-dhcp-hook"
    );
    assert_eq!(u.one("Service", "ExecReload"), "/bin/kill -HUP $MAINPID");
    // The dhclients netconfd started live in its cgroup: only netconfd
    // itself may be signalled, or a restart would kill them.
    assert_eq!(u.one("Service", "KillMode"), "process");
    assert_eq!(u.one("Service", "Restart"), "on-failure");
    // The daemon's defaults (--run-dir, --state-dir, --socket) are these
    // directories: state.json and the dhclient files must survive a restart.
    assert_eq!(u.one("Service", "RuntimeDirectory"), "netconf");
    assert!(u.boolean("Service", "RuntimeDirectoryPreserve"));
    assert_eq!(u.one("Service", "StateDirectory"), "netconf");
    assert!(!u.boolean("Unit", "DefaultDependencies"));
    assert!(u.words("Unit", "Before").contains("network.target"));
    assert!(u.words("Unit", "Before").contains("networking.service"));
    assert!(u.words("Unit", "After").contains("network-pre.target"));
    assert!(u.words("Unit", "Conflicts").contains("shutdown.target"));
    assert!(u.words("Unit", "Before").contains("shutdown.target"));
    assert!(
        u.values("Service", "ExecStop").is_empty(),
        "stopping must not run anything"
    );
    assert!(u.words("Install", "WantedBy").contains("multi-user.target"));
}

/// Units depending on netconfd.service must not be stopped or restarted
/// with it: that would run their ExecStop (`ifdown`) on every restart of
/// the daemon. So they want it (and are ordered after it), never require it.
fn assert_wants_netconfd(u: &Unit) {
    assert!(
        u.words("Unit", "Wants").contains("netconfd.service"),
        "{}",
        u.name
    );
    assert!(
        u.words("Unit", "After").contains("netconfd.service"),
        "{}",
        u.name
    );
    for key in ["Requires", "Requisite", "BindsTo", "PartOf", "Upholds"] {
        assert!(
            !u.words("Unit", key).contains("netconfd.service"),
            "{}: {key}=netconfd.service would take the network down when netconfd restarts",
            u.name
        );
    }
}

/// networking.service keeps the name and the contract of ifupdown's: every
/// ordering and dependency of Debian's unit (ifupdown-pre.service's udev
/// settle now runs as ExecStartPre=), the same ExecStart lines, ExecStop
/// with the same ifdown arguments (behind the network file system check),
/// the same environment file and timeout.
#[test]
fn networking_unit_keeps_debians_contract() {
    let ours = Unit::ours("networking.service");
    let debian = Unit::debians("networking.service");
    for (section, key) in [
        ("Unit", "Wants"),
        ("Unit", "After"),
        ("Unit", "Before"),
        ("Unit", "Conflicts"),
        ("Install", "WantedBy"),
    ] {
        let mine = ours.words(section, key);
        for word in debian.words(section, key) {
            if word == "ifupdown-pre.service" {
                continue;
            }
            assert!(
                mine.contains(&word),
                "networking.service: [{section}] {key}= lacks Debian's {word}"
            );
        }
    }
    assert!(ours
        .words("Unit", "After")
        .contains("systemd-udev-trigger.service"));
    assert!(ours
        .one("Service", "ExecStartPre")
        .contains("udevadm settle"));
    assert_wants_netconfd(&ours);
    for (section, key) in [
        ("Unit", "DefaultDependencies"),
        ("Service", "RemainAfterExit"),
    ] {
        assert_eq!(
            ours.boolean(section, key),
            debian.boolean(section, key),
            "{key}"
        );
    }
    for key in ["Type", "EnvironmentFile", "TimeoutStartSec"] {
        assert_eq!(
            ours.one("Service", key),
            debian.one("Service", key),
            "{key}"
        );
    }
    let starts = ours.values("Service", "ExecStart");
    let debian_starts = debian.values("Service", "ExecStart");
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0], debian_starts[0], "the first ExecStart");
    assert_eq!(
        starts[1].replace(
            "/run/netconf/restart-hotplug",
            "/run/network/restart-hotplug"
        ),
        debian_starts[1],
        "the hotplug pass after a restart"
    );
    let stop = shell_words(ours.one("Service", "ExecStop"));
    let debian_stop = shell_words(debian.one("Service", "ExecStop"));
    assert_eq!(stop[0], "/usr/lib/netconf/netconf-networking-stop");
    assert_eq!(debian_stop[0], "/sbin/ifdown");
    assert_eq!(stop[1..], debian_stop[1..], "ExecStop's ifdown arguments");
    assert!(ours
        .one("Service", "ExecStopPost")
        .ends_with("touch /run/netconf/restart-hotplug"));
}

/// ifup@.service: Debian's per-interface hotplug unit, with netconfd wanted.
#[test]
fn ifup_at_unit_keeps_debians_contract() {
    let ours = Unit::ours("ifup@.service");
    let debian = Unit::debians("ifup@.service");
    for key in ["After", "Before", "Conflicts", "BindsTo"] {
        let mine = ours.words("Unit", key);
        for word in debian.words("Unit", key) {
            assert!(
                mine.contains(&word),
                "ifup@.service: {key}= lacks Debian's {word}"
            );
        }
    }
    assert_wants_netconfd(&ours);
    for (section, key) in [
        ("Unit", "DefaultDependencies"),
        ("Unit", "IgnoreOnIsolate"),
        ("Service", "RemainAfterExit"),
    ] {
        assert_eq!(
            ours.boolean(section, key),
            debian.boolean(section, key),
            "{key}"
        );
    }
    for key in ["Slice", "ExecStop", "TimeoutStartSec"] {
        assert_eq!(
            ours.one("Service", key),
            debian.one("Service", key),
            "{key}"
        );
    }
    let start = shell_words(ours.one("Service", "ExecStart"));
    assert_eq!(start[..2], ["/bin/sh", "-ec"]);
    assert!(start[2].contains("/sbin/ifup --allow=hotplug \"$$1\""));
    assert!(start[2].contains("/sbin/ifquery --state \"$$1\""));
    assert_eq!(
        start[3..],
        ["ifup", "%I"],
        "the interface is an argument, not script text"
    );
}

/// Every unit named in a dependency or ordering exists: one of ours, one
/// systemd installs on this machine, or one of the few that other Debian
/// packages ship. Catches a misspelt name, which systemd ignores silently.
#[test]
fn units_named_in_dependencies_exist() {
    // From packages that may be absent here: apparmor, udev.
    let elsewhere = [
        "apparmor.service",
        "systemd-udevd.service",
        "systemd-udev-trigger.service",
    ];
    let installed = |name: &str| {
        ["/lib/systemd/system", "/usr/lib/systemd/system"]
            .iter()
            .any(|dir| Path::new(dir).join(name).exists())
    };
    for unit in UNITS {
        let u = Unit::ours(unit);
        for (section, key, value) in &u.entries {
            if !matches!(
                key.as_str(),
                "Wants" | "Requires" | "After" | "Before" | "Conflicts" | "BindsTo" | "WantedBy"
            ) {
                continue;
            }
            for name in value.split_whitespace() {
                if name.ends_with(".device") {
                    continue;
                }
                assert!(
                    UNITS.contains(&name) || elsewhere.contains(&name) || installed(name),
                    "{unit}: [{section}] {key}={name}: no such unit"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shell scripts

/// Every shell script of the folder.
fn shell_scripts() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![integration()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if fs::read(&path).is_ok_and(|b| b.starts_with(b"#!/bin/sh")) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The scripts are POSIX sh: `sh -n` (dash, Debian's /bin/sh) parses them,
/// `checkbashisms` (when installed) finds nothing, and they are executable.
#[test]
fn shell_scripts_are_posix_sh() {
    let scripts = shell_scripts();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.strip_prefix(integration()).unwrap().display().to_string())
        .collect();
    for expected in [
        "sysvinit/networking",
        "udev/netconf-hotplug",
        "lib/netconf-networking-stop",
    ] {
        assert!(names.iter().any(|n| n == expected), "no script {expected}");
    }
    let checkbashisms = find_tool("checkbashisms");
    if checkbashisms.is_none() {
        eprintln!("checkbashisms (package devscripts) is not installed: only `sh -n` runs");
    }
    for script in &scripts {
        let mode = fs::metadata(script).expect("stat").permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", script.display());
        let mut c = Command::new("sh");
        c.arg("-n").arg(script);
        run(c).assert_ok();
        if let Some(cb) = &checkbashisms {
            let mut c = Command::new(cb);
            c.arg("--posix").arg("--extra").arg(script);
            let out = run(c);
            assert!(
                out.success() && out.all_output().trim().is_empty(),
                "checkbashisms:\n{out}"
            );
        }
    }
}

/// The LSB header fields of an init script.
fn lsb_header(text: &str) -> Vec<(String, String)> {
    let start = text.find("### BEGIN INIT INFO").expect("BEGIN INIT INFO");
    let end = text.find("### END INIT INFO").expect("END INIT INFO");
    text[start..end]
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("# "))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// /etc/init.d/networking says what Debian's does to insserv: it provides
/// `networking ifupdown` ($network), starts in rcS after the same facilities
/// and stops at halt and reboot.
#[test]
fn init_script_lsb_header_matches_debians() {
    let ours = lsb_header(&read("sysvinit/networking"));
    let debian = lsb_header(&read_debian("etc/init.d/networking"));
    for key in [
        "Provides",
        "Required-Start",
        "Required-Stop",
        "Default-Start",
        "Default-Stop",
    ] {
        let get = |h: &[(String, String)]| {
            h.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        assert_eq!(get(&ours), get(&debian), "LSB header field {key}");
    }
    let script = read("sysvinit/networking");
    // Ready means serving: start-stop-daemon waits for netconfd's READY=1.
    assert!(script.contains("--notify-await"));
    assert!(script.contains("--dhcp-hook \"$DHCP_HOOK\""));
    assert!(script.contains("\"$STOP_HELPER\" -a --read-environment --exclude=lo"));
}

/// The udev rule is Debian's, running our helper.
#[test]
fn udev_rule_matches_debians() {
    let rules = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    let ours = rules(&read("udev/80-netconf.rules"));
    let debian: Vec<String> = rules(&read_debian("lib/udev/rules.d/80-ifupdown.rules"))
        .iter()
        .map(|l| l.replace("\"ifupdown-hotplug\"", "\"netconf-hotplug\""))
        .collect();
    assert_eq!(ours, debian);
}

// -- netconf-networking-stop

struct StopHelper {
    dir: tempfile::TempDir,
    script: PathBuf,
}

impl StopHelper {
    fn new() -> StopHelper {
        let dir = tempdir();
        let script = dir.path().join("netconf-networking-stop");
        let p = |name: &str| dir.path().join(name).display().to_string();
        copy_script(
            "lib/netconf-networking-stop",
            &script,
            &[
                ("MOUNTS=/proc/mounts", format!("MOUNTS={}", p("mounts"))),
                ("SWAPS=/proc/swaps", format!("SWAPS={}", p("swaps"))),
                (
                    "ISCSI_ROOT=/etc/iscsi/iscsi.initramfs",
                    format!("ISCSI_ROOT={}", p("iscsi.initramfs")),
                ),
                ("IFDOWN=/sbin/ifdown", format!("IFDOWN={}", p("ifdown"))),
            ],
        );
        // The fake ifdown records its arguments and exits 7, which the
        // helper must pass on (it execs ifdown).
        write_executable(
            &dir.path().join("ifdown"),
            &format!("#!/bin/sh\necho \"$*\" >> {}\nexit 7\n", p("ifdown.log")),
        );
        fs::write(
            dir.path().join("mounts"),
            "/dev/vda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("swaps"),
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
             /dev/vda2 partition\t1048572\t\t0\t\t-2\n",
        )
        .unwrap();
        StopHelper { dir, script }
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn run(&self) -> Out {
        let mut c = Command::new(&self.script);
        c.args(["-a", "--read-environment", "--exclude=lo"])
            .env_clear()
            .current_dir("/");
        run(c)
    }

    fn ifdown_calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("ifdown.log")).unwrap_or_default()
    }

    /// ifdown was not run, the helper exited 0 and said why.
    fn assert_kept(&self, why: &str) {
        let out = self.run();
        out.assert_code(0);
        out.assert_output_contains("not deconfiguring network interfaces");
        out.assert_output_contains(why);
        assert_eq!(self.ifdown_calls(), "", "ifdown must not run");
    }
}

#[test]
fn stop_helper_runs_ifdown_when_nothing_needs_the_network() {
    let h = StopHelper::new();
    let out = h.run();
    out.assert_code(7);
    assert_eq!(h.ifdown_calls(), "-a --read-environment --exclude=lo\n");
    // No /proc/mounts, /proc/swaps: nothing known to need the network.
    fs::remove_file(h.dir.path().join("mounts")).unwrap();
    fs::remove_file(h.dir.path().join("swaps")).unwrap();
    h.run().assert_code(7);
}

#[test]
fn stop_helper_keeps_the_network_for_network_file_systems() {
    for (line, why) in [
        ("server:/export / nfs4 rw,vers=4.2 0 0", "nfs4"),
        ("server:/home /home nfs rw 0 0", "on /home"),
        ("//nas/share /mnt/share cifs rw 0 0", "cifs"),
        ("user@host:/ /mnt/ssh fuse.sshfs rw 0 0", "fuse.sshfs"),
        ("/dev/nbd0 /srv ext4 rw 0 0", "/dev/nbd0"),
        ("/dev/etherd/e0.1 /aoe xfs rw 0 0", "/dev/etherd/e0.1"),
    ] {
        let h = StopHelper::new();
        h.write(
            "mounts",
            &format!("/dev/vda1 / ext4 rw 0 0\n{line}\ntmpfs /run tmpfs rw 0 0\n"),
        );
        h.assert_kept(why);
    }
}

#[test]
fn stop_helper_keeps_the_network_for_network_swap_and_iscsi_root() {
    let h = StopHelper::new();
    h.write(
        "swaps",
        "Filename\tType\tSize\tUsed\tPriority\n/dev/nbd1 partition\t1048572\t0\t-2\n",
    );
    h.assert_kept("network swap /dev/nbd1");

    let h = StopHelper::new();
    h.write("iscsi.initramfs", "");
    h.assert_kept("iSCSI root");
}

// -- netconf-hotplug

struct Hotplug {
    dir: tempfile::TempDir,
    script: PathBuf,
    _socket: UnixListener,
}

const HOTPLUG_INTERFACES: &str = "\
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp

allow-hotplug br-lan
iface br-lan inet manual

auto eth1
iface eth1 inet dhcp
";

impl Hotplug {
    /// The helper, with PATH starting at a directory of fakes (ifquery runs
    /// ours on a test interfaces file; systemctl, ifup, ifdown and logger
    /// record their arguments), and systemd taken as running or not.
    fn new(systemd: bool) -> Hotplug {
        let dir = tempdir();
        let p = |name: &str| dir.path().join(name).display().to_string();
        let script = dir.path().join("netconf-hotplug");
        let systemd_dir = dir.path().join("run-systemd-system");
        if systemd {
            fs::create_dir(&systemd_dir).unwrap();
        }
        copy_script(
            "udev/netconf-hotplug",
            &script,
            &[
                (
                    "PATH=/sbin:/bin:/usr/sbin:/usr/bin",
                    format!("PATH={}:/usr/bin:/bin", p("bin")),
                ),
                (
                    "SYSTEMD_RUNNING=/run/systemd/system",
                    format!("SYSTEMD_RUNNING={}", systemd_dir.display()),
                ),
                (
                    "CTL_SOCKET=/run/netconf/ctl.sock",
                    format!("CTL_SOCKET={}", p("ctl.sock")),
                ),
            ],
        );
        // netconfd's socket is there: the helper need not wait for it.
        let socket = UnixListener::bind(dir.path().join("ctl.sock")).expect("bind");
        fs::write(dir.path().join("interfaces"), HOTPLUG_INTERFACES).unwrap();
        write_executable(
            &dir.path().join("bin/ifquery"),
            &format!(
                "#!/bin/sh\nexec {} -i {} \"$@\"\n",
                bins().ifquery.display(),
                p("interfaces")
            ),
        );
        for fake in ["systemctl", "ifup", "ifdown", "logger"] {
            write_executable(
                &dir.path().join("bin").join(fake),
                &format!("#!/bin/sh\necho \"{fake} $*\" >> {}\n", p("calls")),
            );
        }
        Hotplug {
            dir,
            script,
            _socket: socket,
        }
    }

    /// Runs the helper as udev does: no environment but the device's.
    fn event(&self, action: &str, interface: Option<&str>) -> Out {
        let mut c = Command::new(&self.script);
        c.env_clear().env("ACTION", action).current_dir("/");
        if let Some(i) = interface {
            c.env("INTERFACE", i);
        }
        run(c)
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default()
    }
}

/// Under systemd, an allow-hotplug interface that appears gets its
/// ifup@.service (name escaped as systemd-escape does), started without
/// waiting; anything else, and every removal, does nothing.
#[test]
fn hotplug_helper_under_systemd_starts_ifup_at_for_allow_hotplug_interfaces() {
    let h = Hotplug::new(true);
    h.event("add", Some("eth0")).assert_ok();
    assert_eq!(h.calls(), "systemctl --no-block start ifup@eth0.service\n");

    let h = Hotplug::new(true);
    h.event("add", Some("br-lan")).assert_ok();
    assert_eq!(
        h.calls(),
        "systemctl --no-block start ifup@br\\x2dlan.service\n"
    );

    for (action, iface) in [
        ("add", "eth1"),
        ("add", "eth9"),
        ("add", "lo"),
        ("add", "ppp0"),
        ("remove", "eth0"),
        ("remove", "ppp0"),
    ] {
        let h = Hotplug::new(true);
        h.event(action, Some(iface)).assert_ok();
        assert_eq!(h.calls(), "", "{action} {iface} must do nothing");
    }
}

#[test]
fn hotplug_helper_refuses_bad_events() {
    let h = Hotplug::new(true);
    h.event("add", None).assert_code(1);
    assert!(h.calls().contains("INTERFACE is not set"), "{}", h.calls());
    let h = Hotplug::new(true);
    h.event("change", Some("eth0")).assert_code(1);
    assert!(h.calls().contains("NET change event not supported"));
}

/// Without systemd the helper forks `ifup --allow=hotplug` (or `ifdown`)
/// and returns at once, as ifupdown's does.
#[test]
fn hotplug_helper_without_systemd_runs_ifup_and_ifdown() {
    let h = Hotplug::new(false);
    h.event("add", Some("eth0")).assert_ok();
    wait_until("the forked ifup", || !h.calls().is_empty());
    assert_eq!(h.calls(), "ifup --allow=hotplug eth0\n");

    let h = Hotplug::new(false);
    h.event("remove", Some("eth0")).assert_ok();
    wait_until("the forked ifdown", || !h.calls().is_empty());
    assert_eq!(h.calls(), "ifdown --allow=hotplug eth0\n");
}

// ---------------------------------------------------------------------------
// AppArmor

/// Debian's dhclient profile, as isc-dhcp-client installs it (read only).
const DHCLIENT_PROFILE: &str = "/etc/apparmor.d/sbin.dhclient";

/// `apparmor_parser -Q -K` (compile everything, load nothing, no cache) on
/// Debian's dhclient profile with `local` holding the profile's
/// `#include <local/sbin.dhclient>`, in a base directory of its own whose
/// abstractions, tunables and abi are the system's.
fn apparmor_compile(local: &str, extra: &[&str]) -> Out {
    let parser = tool("apparmor_parser", "apparmor");
    assert!(
        Path::new(DHCLIENT_PROFILE).is_file(),
        "{DHCLIENT_PROFILE} is missing: install the Debian package isc-dhcp-client"
    );
    let base = tempdir();
    for dir in ["abstractions", "tunables", "abi"] {
        let system = Path::new("/etc/apparmor.d").join(dir);
        assert!(
            system.is_dir(),
            "{} is missing: install the Debian package apparmor",
            system.display()
        );
        std::os::unix::fs::symlink(&system, base.path().join(dir)).expect("symlink");
    }
    let profile = base.path().join("sbin.dhclient");
    fs::copy(DHCLIENT_PROFILE, &profile).expect("copy the dhclient profile");
    fs::create_dir(base.path().join("local")).unwrap();
    fs::write(base.path().join("local/sbin.dhclient"), local).unwrap();
    let mut c = Command::new(parser);
    c.args(["-Q", "-K", "-q"])
        .args(extra)
        .arg("--base")
        .arg(base.path())
        .arg(&profile);
    run(c)
}

/// Our lines compile inside Debian's dhclient profile and define the hook's
/// child profile; a broken local file fails, so the file is really read.
#[test]
fn apparmor_lines_compile_with_debians_dhclient_profile() {
    let ours = read("apparmor/local/sbin.dhclient");
    apparmor_compile(&ours, &[]).assert_ok();

    let names = apparmor_compile(&ours, &["-N"]);
    names.assert_ok();
    let names: Vec<&str> = names.stdout.lines().collect();
    assert!(
        names.contains(&"/{,usr/}sbin/dhclient//netconf_dhcp_hook"),
        "the hook's child profile is not defined: {names:?}"
    );
    assert!(ours.contains("/usr/lib/netconf/netconf-dhcp-hook Cx -> netconf_dhcp_hook,"));

    let out = apparmor_compile("/usr/lib/netconf/netconf-dhcp-hook rwzx,\n", &[]);
    assert!(!out.success(), "a broken local file must fail:\n{out}");
}

// ---------------------------------------------------------------------------
// Readiness: netconfd's sd_notify

/// A process we started, SIGKILLed by its PID if still there at the end.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if matches!(child.try_wait(), Ok(None)) {
                // SAFETY: kill has no memory-safety preconditions; the PID
                // is our unreaped child's.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }
}

/// netconfd's arguments for a private directory.
fn daemon_args(dir: &Path) -> Vec<String> {
    fs::write(dir.join("interfaces"), "").unwrap();
    let p = |name: &str| dir.join(name).display().to_string();
    vec![
        "--socket".into(),
        p("ctl.sock"),
        "--run-dir".into(),
        p("run"),
        "--state-dir".into(),
        p("lib"),
        "--interfaces".into(),
        p("interfaces"),
        "--hooks-dir".into(),
        p("hooks"),
        "--log-level".into(),
        "debug".into(),
    ]
}

/// A ping over the control socket, at once: no retry, no waiting.
fn ping(socket: &Path) {
    let mut client = Client::connect(socket)
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", socket.display()));
    client.set_read_timeout(Some(COMMAND_TIMEOUT)).unwrap();
    client.call(Op::Ping, |_| {}).expect("ping");
}

/// With $NOTIFY_SOCKET set, netconfd sends READY=1 once its socket serves
/// (a ping right then is answered) and STOPPING=1 when SIGTERM stops it.
#[test]
fn netconfd_notifies_ready_and_stopping() {
    require_root();
    let ns = Netns::new();
    let dir = tempdir();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
    notify.set_read_timeout(Some(WAIT_TIMEOUT)).unwrap();
    let log = fs::File::create(dir.path().join("netconfd.log")).unwrap();
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name()])
        .arg(&bins().netconfd)
        .args(daemon_args(dir.path()))
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("NETCONF_SOCKET")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let what = describe(&c);
    let mut daemon = Reaped(Some(
        c.spawn()
            .unwrap_or_else(|e| panic!("starting `{what}`: {e}")),
    ));
    let daemon_log = || fs::read_to_string(dir.path().join("netconfd.log")).unwrap_or_default();

    let mut buf = [0u8; 4096];
    let n = notify
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification from netconfd ({e}):\n{}", daemon_log()));
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    assert!(
        ready.lines().any(|l| l.starts_with("STATUS=Serving ")),
        "{ready:?}"
    );
    ping(&dir.path().join("ctl.sock"));

    let child = daemon.0.as_mut().unwrap();
    // SAFETY: kill has no memory-safety preconditions; our unreaped child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let n = notify
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no STOPPING=1 ({e}):\n{}", daemon_log()));
    let stopping = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    let mut status = None;
    wait_until("netconfd to exit", || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(status.unwrap().success(), "{:?}\n{}", status, daemon_log());
}

/// Whether `pid` names a live process (a zombie is not).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// A netconfd started by start-stop-daemon in the background (so not our
/// child): SIGKILLed by the PID its pid file names if still there at the end.
struct Backgrounded(PathBuf);

impl Backgrounded {
    fn pid(&self) -> Option<i32> {
        fs::read_to_string(&self.0).ok()?.trim().parse().ok()
    }
}

impl Drop for Backgrounded {
    fn drop(&mut self) {
        if let Some(pid) = self.pid().filter(|p| alive(*p)) {
            // SAFETY: kill has no memory-safety preconditions; the PID is
            // the netconfd this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The sysvinit script's way to start and stop netconfd works:
/// `start-stop-daemon --background --notify-await` returns once netconfd is
/// ready, so `ifup -a` right after finds it serving; `--stop` ends it with
/// SIGTERM and removes its pid file.
#[test]
fn start_stop_daemon_waits_for_netconfd_to_be_ready() {
    require_root();
    let ssd = tool("start-stop-daemon", "dpkg");
    let ns = Netns::new();
    let dir = tempdir();
    let pidfile = dir.path().join("netconfd.pid");
    let guard = Backgrounded(pidfile.clone());
    let log = dir.path().join("netconfd.log");
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name()])
        .arg(&ssd)
        .args(["--start", "--background", "--make-pidfile", "--pidfile"])
        .arg(&pidfile)
        .args(["--name", "netconfd", "--notify-await", "--notify-timeout"])
        .arg(WAIT_TIMEOUT.as_secs().to_string())
        .arg("--output")
        .arg(&log)
        .arg("--exec")
        .arg(&bins().netconfd)
        .arg("--")
        .args(daemon_args(dir.path()))
        .env_remove("NETCONF_SOCKET")
        .current_dir("/");
    let out = run(c);
    assert!(
        out.success(),
        "{out}\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    let pid = guard.pid().expect("a pid file");
    assert!(alive(pid));
    ping(&dir.path().join("ctl.sock"));

    let mut c = Command::new(&ssd);
    c.args(["--stop", "--pidfile"])
        .arg(&pidfile)
        .args(["--name", "netconfd", "--remove-pidfile", "--retry"])
        .arg(format!("TERM/{}", WAIT_TIMEOUT.as_secs()));
    run(c).assert_ok();
    assert!(!pidfile.exists(), "the pid file is removed");
    wait_until("netconfd to be gone", || !alive(pid));
    let daemon_log = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        daemon_log.contains("the network is left as it is"),
        "{daemon_log}"
    );
}
