//! The Debian package: `scripts/build-deb` builds it, lintian finds no error
//! or warning in it, and it installs into a throwaway Debian root (never on
//! this machine): alone, and in place of ifupdown; then `dpkg --purge`
//! leaves that root as it was.
//!
//! The root is the host's suite (`VERSION_CODENAME` of /etc/os-release)
//! made by `debootstrap --variant=minbase` from the host's own mirror (its
//! apt sources), with the package's dependencies (isc-dhcp-client,
//! procps), systemd (`systemd-analyze`, `deb-systemd-helper`) and apparmor
//! (the dhclient profile compiled with netconf's lines), and Debian's
//! ifupdown package beside it. It is made once and cached as
//! `target/debian-root-SUITE.tar` (delete the file to make it again); each
//! run unpacks a fresh copy into a temporary directory. Everything that
//! runs inside it runs under `chroot` in mount, network and PID namespaces
//! of its own (`unshare`), with empty /run and /tmp and its own /proc: no
//! systemd runs there, so the maintainer scripts start nothing (one step
//! makes them believe it does, with a systemctl that only notes what it is
//! asked), and nothing can touch this machine's network or mounts.
//!
//! The package is built from the binaries the other tests run
//! (`$NETCONF_BIN_DIR`, else target/debug; build-deb strips them), into a
//! temporary directory, so a release package in target/debian is left
//! alone.
//!
//! Needs, and fails (never skips) without: root, `debootstrap` and a
//! reachable mirror (only the first time), `lintian`, `dpkg-dev`
//! (dpkg-shlibdeps, dpkg-gencontrol), `binutils` (strip), `unshare`
//! (util-linux) and the built binaries.

use netconf_tests::{bins, describe, repo_root, require_root, Out};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Safety nets (only a hang reaches them): one command in the root, and
/// debootstrap downloading and installing a whole system.
const CHROOT_TIMEOUT: Duration = Duration::from_secs(300);
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(1800);

/// What the root holds besides minbase: the package's dependencies
/// (isc-dhcp-client, procps), ifupdown's (iproute2, adduser), systemd and
/// apparmor. A cached root made with another list is made again.
const ROOT_PACKAGES: &str = "isc-dhcp-client,procps,systemd,apparmor,iproute2,adduser";

/// lintian warnings the package may keep (each is also listed, with the
/// reason, in debian-integration/README.md). None today.
const ALLOWED_LINTIAN_WARNINGS: &[&str] = &[];

// ---------------------------------------------------------------------------
// Commands

/// Runs `cmd` (stdin empty, output captured, in a process group of its own)
/// and kills that group if it outlives `limit`.
fn run_for(mut cmd: Command, limit: Duration) -> Out {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let pgid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(limit) {
        Ok(result) => result.unwrap_or_else(|e| panic!("waiting for `{what}`: {e}")),
        Err(_) => {
            // SAFETY: kill has no memory-safety preconditions; the group is
            // the one this function created, and its leader is not reaped
            // until the waiting thread reaps it.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            panic!("`{what}` did not finish within {limit:?} and was killed (it hung)");
        }
    };
    Out {
        what,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A tool of this machine, by absolute path; fails naming the package.
fn tool(name: &str, package: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: this test needs it. Install the Debian package \
                 `{package}` (CI: the apt-get install line of .ci/run)."
            )
        })
}

// ---------------------------------------------------------------------------
// The package

/// Builds the package from the tests' binaries into `out`.
fn build_deb(out: &Path) -> PathBuf {
    let b = bins();
    let mut c = Command::new(repo_root().join("scripts/build-deb"));
    c.env("NETCONF_BIN_DIR", &b.dir)
        .env("NETCONF_DEB_OUT_DIR", out)
        .current_dir(repo_root());
    let built = run_for(c, CHROOT_TIMEOUT);
    assert!(built.success(), "scripts/build-deb failed:\n{built}");
    let deb = PathBuf::from(built.stdout.trim());
    assert!(deb.is_file(), "build-deb printed no package:\n{built}");
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    let version = workspace_version();
    let arch = arch();
    assert_eq!(name, format!("netconf_{version}_{arch}.deb"));
    deb
}

fn workspace_version() -> String {
    let toml = fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    let package = toml
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package]");
    let line = package
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .expect("version");
    line.split('"').nth(1).expect("quoted version").to_string()
}

fn arch() -> String {
    let mut c = Command::new("dpkg");
    c.arg("--print-architecture");
    let out = run_for(c, CHROOT_TIMEOUT);
    out.assert_ok();
    out.stdout.trim().to_string()
}

fn deb_field(deb: &Path, field: &str) -> String {
    let mut c = Command::new("dpkg-deb");
    c.arg("--field").arg(deb).arg(field);
    let out = run_for(c, CHROOT_TIMEOUT);
    out.assert_ok();
    out.stdout.trim().to_string()
}

/// The control fields the package promises.
fn check_control(deb: &Path) {
    assert_eq!(deb_field(deb, "Package"), "netconf");
    assert_eq!(deb_field(deb, "Version"), workspace_version());
    assert_eq!(deb_field(deb, "Architecture"), arch());
    assert_eq!(deb_field(deb, "Section"), "net");
    assert_eq!(deb_field(deb, "Priority"), "important");
    assert_eq!(deb_field(deb, "Provides"), "ifupdown");
    for field in ["Conflicts", "Replaces"] {
        assert_eq!(
            deb_field(deb, field),
            "ifupdown, ifupdown-ng, ifupdown2",
            "{field}"
        );
    }
    let depends = deb_field(deb, "Depends");
    let deps: Vec<&str> = depends.split(", ").collect();
    // Any of the DHCP clients netconfd runs, dhclient first (apt's choice).
    assert!(
        deps.contains(&"isc-dhcp-client | dhcpcd-base | udhcpc"),
        "Depends: {depends}"
    );
    // netconfd.service's ExecReload= runs /bin/kill (not in minbase).
    assert!(deps.contains(&"procps"), "Depends: {depends}");
    // From dpkg-shlibdeps: libc6 with the version its symbols need.
    assert!(
        deps.iter().any(|d| d.starts_with("libc6 (>= ")),
        "Depends: {depends}"
    );
    let size: u64 = deb_field(deb, "Installed-Size")
        .parse()
        .expect("Installed-Size is a number");
    assert!(size > 100, "Installed-Size: {size}");
    assert!(!deb_field(deb, "Maintainer").is_empty());
    assert!(deb_field(deb, "Description").starts_with("network configuration daemon"));
}

/// lintian: no error, and no warning but the allowed ones.
fn check_lintian(deb: &Path) {
    let mut c = Command::new(tool("lintian", "lintian"));
    c.arg(deb);
    let out = run_for(c, CHROOT_TIMEOUT);
    let bad: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .filter(|l| {
            !ALLOWED_LINTIAN_WARNINGS
                .iter()
                .any(|tag| l.starts_with("W: ") && l.contains(&format!(" {tag}")))
        })
        .collect();
    assert!(
        bad.is_empty() && out.code().is_some(),
        "lintian finds problems in the package: fix them (or, for a warning that must \
         stay, add its tag to ALLOWED_LINTIAN_WARNINGS and to the list in \
         debian-integration/README.md):\n{}\n{out}",
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The Debian root

/// The host's release: the suite of the root.
fn host_suite() -> String {
    let text = fs::read_to_string("/etc/os-release").expect("/etc/os-release");
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .expect("/etc/os-release has no VERSION_CODENAME: this test needs a Debian host")
}

/// The first `deb` source of the host's apt configuration that carries
/// `suite` with component main (one-line and deb822 formats), as
/// `(mirror, keyring)`.
fn host_mirror(suite: &str) -> (String, Option<String>) {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let name = file.to_string_lossy();
        let found = if name.ends_with(".sources") {
            deb822_mirror(&text, suite)
        } else if name.ends_with(".list") {
            one_line_mirror(&text, suite)
        } else {
            None
        };
        if let Some(found) = found {
            return found;
        }
    }
    panic!(
        "no `deb` source for {suite} (component main) in /etc/apt/sources.list or \
         /etc/apt/sources.list.d: debootstrap needs the mirror this machine uses"
    )
}

fn one_line_mirror(text: &str, suite: &str) -> Option<(String, Option<String>)> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace().peekable();
        if words.next() != Some("deb") {
            continue;
        }
        let mut keyring = None;
        if words.peek().is_some_and(|w| w.starts_with('[')) {
            for w in words.by_ref() {
                let w = w.trim_start_matches('[');
                if let Some(k) = w.strip_prefix("signed-by=") {
                    keyring = Some(k.trim_end_matches(']').to_string());
                }
                if w.ends_with(']') {
                    break;
                }
            }
        }
        let rest: Vec<&str> = words.collect();
        if rest.len() >= 3 && rest[1] == suite && rest[2..].contains(&"main") {
            return Some((rest[0].to_string(), keyring));
        }
    }
    None
}

fn deb822_mirror(text: &str, suite: &str) -> Option<(String, Option<String>)> {
    for stanza in text.split("\n\n") {
        let mut fields = BTreeMap::new();
        for line in stanza.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once(':') {
                fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let words = |k: &str| -> Vec<String> {
            fields
                .get(k)
                .map(|v| v.split_whitespace().map(String::from).collect())
                .unwrap_or_default()
        };
        if fields.get("enabled").is_some_and(|v| v == "no")
            || !words("types").contains(&"deb".to_string())
            || !words("suites").contains(&suite.to_string())
            || !words("components").contains(&"main".to_string())
        {
            continue;
        }
        let keyring = fields
            .get("signed-by")
            .filter(|k| k.starts_with('/'))
            .cloned();
        if let Some(uri) = words("uris").into_iter().next() {
            return Some((uri, keyring));
        }
    }
    None
}

/// The cached root, made first if it is missing.
fn root_tarball() -> PathBuf {
    let suite = host_suite();
    let target = repo_root().join("target");
    let tarball = target.join(format!("debian-root-{suite}.tar"));
    // Beside it, the packages it was made with.
    let made_with = target.join(format!("debian-root-{suite}.tar.packages"));
    if tarball.is_file() && fs::read_to_string(&made_with).ok().as_deref() == Some(ROOT_PACKAGES) {
        return tarball;
    }
    let debootstrap = tool("debootstrap", "debootstrap");
    let (mirror, keyring) = host_mirror(&suite);
    fs::create_dir_all(&target).expect("mkdir target");
    let build = tempfile::Builder::new()
        .prefix("debian-root-build-")
        .tempdir_in(&target)
        .expect("temporary directory");
    let root = build.path().join("root");

    let started = Instant::now();
    let mut c = Command::new(debootstrap);
    c.arg("--variant=minbase")
        .arg(format!("--include={ROOT_PACKAGES}"));
    if let Some(k) = &keyring {
        c.arg(format!("--keyring={k}"));
    }
    c.arg(&suite).arg(&root).arg(&mirror);
    let out = run_for(c, DEBOOTSTRAP_TIMEOUT);
    assert!(
        out.success(),
        "debootstrap could not make a {suite} root from {mirror} (the mirror of this \
         machine's apt sources): is the mirror reachable? This test needs it the first time \
         (it then caches the root as {}).\n{}",
        tarball.display(),
        tail(&out.to_string(), 60)
    );

    // Debian's ifupdown, to be replaced: this machine's candidate (its
    // suite is the root's), downloaded as scripts/fetch-debian-ifupdown
    // does. It waits in the root's package cache, which is emptied first.
    let archives = root.join("var/cache/apt/archives");
    for entry in fs::read_dir(&archives).expect("archives").flatten() {
        if entry.path().extension().is_some_and(|e| e == "deb") {
            fs::remove_file(entry.path()).expect("rm deb");
        }
    }
    let lists = root.join("var/lib/apt/lists");
    if lists.is_dir() {
        fs::remove_dir_all(&lists).expect("rm lists");
        fs::create_dir(&lists).expect("mkdir lists");
    }
    let download = build.path().join("download");
    fs::create_dir(&download).expect("mkdir");
    // apt-get download, run as root, writes as the _apt user.
    fs::set_permissions(&download, fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut c = Command::new("apt-get");
    c.args(["download", "-q", "ifupdown"])
        .current_dir(&download);
    let out = run_for(c, CHROOT_TIMEOUT);
    assert!(
        out.success(),
        "apt-get download ifupdown failed (run apt-get update?):\n{out}"
    );
    for entry in fs::read_dir(&download).expect("download").flatten() {
        fs::copy(entry.path(), archives.join(entry.file_name())).expect("copy ifupdown");
    }

    let partial = target.join(format!(".debian-root-{suite}.tar.partial"));
    let mut c = Command::new("tar");
    c.arg("--numeric-owner")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&partial)
        .arg(".");
    run_for(c, CHROOT_TIMEOUT).assert_ok();
    fs::rename(&partial, &tarball).expect("rename the tarball into place");
    fs::write(&made_with, ROOT_PACKAGES).expect("write the package list");
    eprintln!(
        "made the {suite} root from {mirror} in {:?}, cached as {}",
        started.elapsed(),
        tarball.display()
    );
    tarball
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A fresh copy of the cached root, removed on drop, and the directory the
/// package is in (bind-mounted read-only on the root's /mnt).
struct Root {
    dir: tempfile::TempDir,
    debs: PathBuf,
}

/// Runs inside `unshare --mount --net --pid --fork`: fresh /run, /tmp and
/// /proc for the root, the package directory on /mnt, then the script under
/// chroot (`sh -e`: the first command that fails ends it). $1 the root, $2
/// the package directory, $3 the script.
const NAMESPACE_SETUP: &str = r#"set -e
root=$1
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t proc proc "$root/proc"
mount --bind "$2" "$root/mnt"
mount -o remount,bind,ro "$root/mnt"
exec chroot "$root" /bin/sh -ec "$3"
"#;

impl Root {
    fn new(debs: &Path) -> Root {
        let tarball = root_tarball();
        let dir = tempfile::Builder::new()
            .prefix("nct-deb-root-")
            .tempdir()
            .expect("temporary directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut c = Command::new("tar");
        c.arg("--numeric-owner")
            .arg("-C")
            .arg(dir.path())
            .arg("-xpf")
            .arg(&tarball);
        run_for(c, CHROOT_TIMEOUT).assert_ok();
        Root {
            dir,
            debs: debs.to_path_buf(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel.trim_start_matches('/'))
    }

    /// `script` (sh -c, in the root).
    fn sh(&self, script: &str) -> Out {
        let mut c = Command::new(tool("unshare", "util-linux"));
        c.args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", NAMESPACE_SETUP, "sh"])
        .arg(self.dir.path())
        .arg(&self.debs)
        .arg(script)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .env("DEBIAN_FRONTEND", "noninteractive");
        run_for(c, CHROOT_TIMEOUT)
    }

    /// `script` in the root; fails the test unless it exits 0.
    fn ok(&self, script: &str) -> Out {
        let out = self.sh(script);
        assert!(out.success(), "in the Debian root:\n{out}");
        out
    }

    fn read(&self, rel: &str) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    fn mode(&self, rel: &str) -> u32 {
        let path = self.path(rel);
        fs::symlink_metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .mode()
            & 0o7777
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    /// dpkg's state of a package: "installed", "config-files" (removed,
    /// its configuration files left), "not-installed", ...
    fn status(&self, package: &str) -> String {
        let out = self.sh(&format!(
            "dpkg-query -W -f='${{db:Status-Status}}' {package} 2>/dev/null || true"
        ));
        match out.stdout.trim() {
            "" => "not-installed".to_string(),
            s => s.to_string(),
        }
    }

    /// Every file of the root: type, mode, and size and hash for regular
    /// files, links' targets; but dpkg's database and logs.
    fn snapshot(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut files);
        files
    }
}

/// What dpkg itself writes on every run: its database and logs.
fn is_dpkg_bookkeeping(rel: &str) -> bool {
    rel.starts_with("/var/lib/dpkg/")
        || rel == "/var/log/dpkg.log"
        || rel == "/var/log/alternatives.log"
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = format!("/{}", path.strip_prefix(root).unwrap().display());
        if is_dpkg_bookkeeping(&rel) {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("lstat");
        let mode = meta.mode() & 0o7777;
        let t = meta.file_type();
        let desc = if t.is_dir() {
            walk(root, &path, files);
            format!("dir {mode:o}")
        } else if t.is_symlink() {
            format!("link -> {}", fs::read_link(&path).unwrap().display())
        } else if t.is_file() {
            format!("file {mode:o} {} bytes {:016x}", meta.len(), hash(&path))
        } else if t.is_char_device() || t.is_block_device() {
            format!("device {mode:o} {:x}", meta.rdev())
        } else {
            format!("special {mode:o}")
        };
        files.insert(rel, desc);
    }
}

fn hash(path: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    let mut f = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
    }
    h.finish()
}

/// The paths whose entry differs between two snapshots, with both entries.
fn differences(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| (k.clone(), (before.get(k).cloned(), after.get(k).cloned())))
        .collect()
}

// ---------------------------------------------------------------------------
// What the package holds

/// Every path the package installs but directories, where Debian expects
/// it; with the repository file whose copy it is, when it is one.
fn expected_files() -> Vec<(String, Option<&'static str>)> {
    let mut files: Vec<(String, Option<&'static str>)> = [
        ("/sbin/ifup", None),
        ("/sbin/ifdown", None),
        ("/sbin/ifquery", None),
        ("/sbin/ifreload", None),
        ("/usr/bin/netconfctl", None),
        ("/usr/bin/ncftool", None),
        ("/usr/sbin/netconfd", None),
        ("/usr/lib/netconf/netconf-dhcp-hook", None),
        (
            "/usr/lib/netconf/netconf-networking-stop",
            Some("debian-integration/lib/netconf-networking-stop"),
        ),
        (
            "/usr/lib/netconf/netconf-handover",
            Some("debian-integration/lib/netconf-handover"),
        ),
        (
            "/lib/systemd/system/netconfd.service",
            Some("debian-integration/systemd/netconfd.service"),
        ),
        (
            "/lib/systemd/system/networking.service",
            Some("debian-integration/systemd/networking.service"),
        ),
        (
            "/lib/systemd/system/ifup@.service",
            Some("debian-integration/systemd/ifup@.service"),
        ),
        (
            "/lib/systemd/system/netconf-wait-online.service",
            Some("debian-integration/systemd/netconf-wait-online.service"),
        ),
        (
            "/etc/init.d/networking",
            Some("debian-integration/sysvinit/networking"),
        ),
        (
            "/etc/default/networking",
            Some("debian-integration/default/networking"),
        ),
        (
            "/lib/udev/rules.d/80-netconf.rules",
            Some("debian-integration/udev/80-netconf.rules"),
        ),
        (
            "/lib/udev/netconf-hotplug",
            Some("debian-integration/udev/netconf-hotplug"),
        ),
        (
            "/usr/share/netconf/apparmor/sbin.dhclient",
            Some("debian-integration/apparmor/local/sbin.dhclient"),
        ),
        (
            "/usr/share/netconf/interfaces",
            Some("debian-integration/interfaces"),
        ),
        ("/usr/share/man/man5/interfaces.5.gz", None),
        ("/usr/share/doc/netconf/copyright", Some("debian/copyright")),
        ("/usr/share/doc/netconf/changelog.gz", None),
        (
            "/usr/share/doc/netconf/SECURITY.md",
            Some("docs/SECURITY.md"),
        ),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_string(), s))
    .collect();
    // Every man page of man/, gzipped into its section.
    for entry in fs::read_dir(repo_root().join("man"))
        .expect("man/")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((_, section)) = name.rsplit_once('.') {
            if section.len() == 1 && section.chars().all(|c| ('1'..='9').contains(&c)) {
                files.push((format!("/usr/share/man/man{section}/{name}.gz"), None));
            }
        }
    }
    files
}

const OWNED_DIRECTORIES: &[&str] = &[
    "/etc/network/if-pre-up.d",
    "/etc/network/if-up.d",
    "/etc/network/if-down.d",
    "/etc/network/if-post-down.d",
    "/etc/network/interfaces.d",
];

const CONFFILES: &[&str] = &["/etc/default/networking", "/etc/init.d/networking"];

/// The enablement symlinks of the units ([Install] sections).
const ENABLED: &[(&str, &str)] = &[
    (
        "/etc/systemd/system/multi-user.target.wants/netconfd.service",
        "/lib/systemd/system/netconfd.service",
    ),
    (
        "/etc/systemd/system/multi-user.target.wants/networking.service",
        "/lib/systemd/system/networking.service",
    ),
    (
        "/etc/systemd/system/network-online.target.wants/networking.service",
        "/lib/systemd/system/networking.service",
    ),
];

/// The files are where Debian expects them, as dpkg knows them, with the
/// right modes and the repository's contents; nothing else is in the
/// package.
fn check_installed_files(root: &Root) {
    let listed = root.ok("dpkg -L netconf").stdout;
    let listed: BTreeSet<&str> = listed.lines().collect();
    let expected = expected_files();
    for (path, source) in &expected {
        assert!(
            listed.contains(path.as_str()),
            "dpkg -L netconf lacks {path}"
        );
        assert!(root.exists(path), "{path} is not installed");
        if let Some(source) = source {
            let want = fs::read(repo_root().join(source)).expect("repository file");
            assert_eq!(
                fs::read(root.path(path)).expect("installed file"),
                want,
                "{path} is not a copy of {source}"
            );
        }
    }
    for dir in OWNED_DIRECTORIES {
        assert!(listed.contains(dir), "dpkg -L netconf lacks {dir}");
        assert!(root.path(dir).is_dir(), "{dir} is not a directory");
    }
    // Nothing but these (and their parent directories).
    let expected_paths: BTreeSet<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    for path in &listed {
        // Directories (on merged /usr, /lib and /sbin are links to them).
        if *path == "/." || root.path(path).is_dir() {
            continue;
        }
        assert!(
            expected_paths.contains(path),
            "the package installs {path}, which this test does not know"
        );
    }
    assert!(
        !listed.contains("/etc/network/interfaces"),
        "/etc/network/interfaces is the admin's: the package must not ship it"
    );
    for (path, _) in &expected {
        let mode = root.mode(path);
        let executable = path.starts_with("/sbin/")
            || path.starts_with("/usr/sbin/")
            || path.starts_with("/usr/bin/")
            || path.starts_with("/usr/lib/netconf/")
            || path == "/etc/init.d/networking"
            || path == "/lib/udev/netconf-hotplug";
        if root.path(path).is_symlink() {
            continue;
        }
        let want = if executable { 0o755 } else { 0o644 };
        assert_eq!(mode, want, "{path} has mode {mode:o}");
    }
    assert_eq!(
        fs::read_link(root.path("/usr/share/man/man5/interfaces.5.gz")).expect("a link"),
        Path::new("netconf-interfaces.5.gz")
    );
    let conffiles = root.ok("dpkg-query -W -f='${Conffiles}\\n' netconf").stdout;
    let conffiles: BTreeSet<&str> = conffiles
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        conffiles,
        CONFFILES.iter().copied().collect::<BTreeSet<_>>(),
        "conffiles"
    );
}

/// The commands run in the root: the clients parse, ifquery reads the
/// interfaces file postinst created, ifup finds no daemon (none runs in a
/// chroot) and says so with its exit status 3, netconfd answers --help.
fn check_commands(root: &Root) {
    let version = workspace_version();
    let out = root.ok("ifquery --version");
    assert!(out.stdout.contains(&version), "{out}");
    let out = root.ok("ifquery -a -l");
    assert_eq!(out.stdout, "lo\n", "{out}");
    root.ok("ifquery --syntax-check");
    for cmd in ["ifup", "ifdown"] {
        let out = root.ok(&format!("{cmd} --version"));
        assert!(out.stdout.contains(&version), "{out}");
    }
    let out = root.ok("netconfd --help");
    assert!(out.stdout.contains("Usage: netconfd"), "{out}");
    let out = root.sh("ifup lo");
    assert_eq!(out.code(), Some(3), "ifup without netconfd:\n{out}");
}

/// systemd-analyze verify, the root's own, on the installed units: it
/// checks the units and that each command they run is an executable file
/// where they say.
fn check_units(root: &Root) {
    let out = root.sh("SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no \
         netconfd.service networking.service ifup@eth0.service netconf-wait-online.service");
    assert!(
        out.success() && out.all_output().trim().is_empty(),
        "systemd-analyze verify found problems in the installed units:\n{out}"
    );
}

/// dhclient's AppArmor profile, compiled by the root's apparmor_parser,
/// holds netconf's child profile for the hook when the package is
/// installed, and compiles without it when it is not.
fn check_apparmor(root: &Root, installed: bool) {
    let out = root.ok("apparmor_parser -Q -K -N /etc/apparmor.d/sbin.dhclient");
    let has_hook = out
        .stdout
        .lines()
        .any(|l| l.ends_with("//netconf_dhcp_hook"));
    assert_eq!(has_hook, installed, "dhclient's profiles:\n{out}");
}

/// What the maintainer scripts ask of systemctl when systemd runs (see the
/// test, step 3).
fn check_systemd_actions(root: &Root, deb_name: &str) {
    let out = root.ok(&format!(
        r##"mkdir -p /run/systemd/system /tmp/stub
cat >/tmp/stub/systemctl <<'STUB'
#!/bin/sh
echo "$*" >>/tmp/systemctl.log
case " $* " in *" is-enabled "*) echo enabled ;; esac
exit 0
STUB
chmod 0755 /tmp/stub/systemctl
export PATH=/tmp/stub:$PATH
for step in install upgrade remove purge; do
    echo "# $step" >>/tmp/systemctl.log
    case $step in
    install|upgrade) dpkg -i /mnt/{deb_name} ;;
    remove) dpkg -r netconf ;;
    purge) dpkg --purge netconf ;;
    esac
done
cat /tmp/systemctl.log"##
    ));
    // The changing calls (not is-enabled, is-active, preset, daemon-reload)
    // of each step.
    let mut steps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut step = String::new();
    for line in out.stdout.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            step = name.to_string();
            steps.entry(step.clone()).or_default();
            continue;
        }
        let words: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        if ["start", "stop", "restart", "try-restart", "reload", "kill"]
            .iter()
            .any(|verb| words.first() == Some(verb))
        {
            steps.entry(step.clone()).or_default().push(words.join(" "));
        }
    }
    let want = |calls: &[&str]| calls.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let expected: BTreeMap<String, Vec<String>> = [
        (
            "install",
            want(&["start netconfd.service networking.service"]),
        ),
        ("upgrade", want(&["restart netconfd.service"])),
        ("remove", want(&["stop netconfd.service"])),
        ("purge", want(&[])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        steps, expected,
        "what the maintainer scripts ask of systemd:\n{out}"
    );
    assert!(
        out.stdout.lines().any(|l| l.ends_with("daemon-reload")),
        "{out}"
    );
}

/// The package's sysvinit path, run in the root (see the test, step 4).
fn check_sysvinit(root: &Root, deb_name: &str) {
    let out = root.ok(&format!(
        r##"procs() {{ for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null || true; done | sort -u | tr '\n' ' '; }}
dpkg -i /mnt/{deb_name}
/etc/init.d/networking start
echo "started: $(cat /run/netconf/netconfd.pid) $(ifquery --state)"
# The chroot has no runlevel: invoke-rc.d runs the init script only when
# policy-rc.d says so.
printf '#!/bin/sh\nexit 0\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
dpkg -i /mnt/{deb_name}
rm /usr/sbin/policy-rc.d
echo "upgraded: $(cat /run/netconf/netconfd.pid) $(ifquery --state)"
kill -0 "$(cat /run/netconf/netconfd.pid)"
dpkg -r netconf
echo "removed: $(procs)"
echo "lo: $(ip -br link show lo)"
dpkg --purge netconf"##
    ));
    let line = |prefix: &str| -> Vec<String> {
        let line = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line:\n{out}"));
        line.split_whitespace().map(String::from).collect()
    };
    let started = line("started: ");
    let upgraded = line("upgraded: ");
    assert_eq!(started[1..], ["lo=lo"], "ifup -a raised lo:\n{out}");
    assert_ne!(
        started[0], upgraded[0],
        "the upgrade restarts netconfd:\n{out}"
    );
    assert_eq!(
        upgraded[1..],
        ["lo=lo"],
        "the restarted netconfd keeps its state:\n{out}"
    );
    assert!(
        !line("removed: ").iter().any(|p| p == "netconfd"),
        "the removal stops netconfd:\n{out}"
    );
    assert!(
        line("lo: ").iter().any(|w| w.contains("UP")),
        "lo stays up:\n{out}"
    );
}

// ---------------------------------------------------------------------------
// The test

/// One test, in sequence: build, lint, install into a fresh root (ifupdown
/// absent), check, purge and compare; what the maintainer scripts ask of a
/// running systemd; the sysvinit path, run; then install ifupdown, replace
/// it, check, and go back to ifupdown.
#[test]
fn deb_installs_replaces_ifupdown_and_purges_clean() {
    require_root();
    let started = Instant::now();
    let out_dir = tempfile::Builder::new()
        .prefix("nct-deb-")
        .tempdir()
        .expect("temporary directory");
    fs::set_permissions(out_dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let deb = build_deb(out_dir.path());
    let deb_name = deb.file_name().unwrap().to_string_lossy().into_owned();
    check_control(&deb);
    check_lintian(&deb);

    let root = Root::new(out_dir.path());
    eprintln!(
        "built, linted and unpacked the root in {:?}",
        started.elapsed()
    );
    assert_eq!(root.status("ifupdown"), "not-installed");
    assert_eq!(root.status("netconf"), "not-installed");
    assert!(!root.exists("/etc/network/interfaces"));

    // --- 1. Installed alone.
    let before = root.snapshot();
    let install = root.ok(&format!(
        "dpkg -i /mnt/{deb_name}\n\
         # nothing was started: no process but this shell and its children\n\
         for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null || true; done | sort -u"
    ));
    assert_eq!(root.status("netconf"), "installed");
    for daemon in ["netconfd", "dhclient", "systemctl"] {
        assert!(
            !install.stdout.lines().any(|l| l == daemon),
            "the installation left {daemon} running in the chroot:\n{install}"
        );
    }
    check_installed_files(&root);
    assert_eq!(
        root.read("/etc/network/interfaces"),
        fs::read_to_string(repo_root().join("debian-integration/interfaces")).unwrap(),
        "postinst creates /etc/network/interfaces when there is none"
    );
    assert!(
        root.read("/etc/group")
            .lines()
            .any(|l| l.starts_with("netdev:")),
        "postinst creates the netdev group (udev's rfkill rule)"
    );
    for (link, target) in ENABLED {
        assert_eq!(
            fs::read_link(root.path(link)).unwrap_or_else(|e| panic!("{link}: {e}")),
            Path::new(target),
            "{link}"
        );
    }
    assert!(
        root.read("/etc/apparmor.d/local/sbin.dhclient")
            .lines()
            .any(|l| l == r#"include if exists "/usr/share/netconf/apparmor/sbin.dhclient""#),
        "postinst includes netconf's lines in dhclient's local AppArmor file"
    );
    check_commands(&root);
    check_units(&root);
    check_apparmor(&root, true);

    // A reinstallation (postinst configure with the old version: the
    // upgrade path) changes nothing, starts nothing.
    let again = root.snapshot();
    root.ok(&format!("dpkg -i /mnt/{deb_name}"));
    let diff = differences(&again, &root.snapshot());
    assert!(diff.is_empty(), "reinstalling changed the root:\n{diff:#?}");

    // --- 2. Purged: the root is as before, but for the netdev group,
    // which stays (as ifupdown's does).
    root.ok("dpkg --purge netconf");
    assert_eq!(root.status("netconf"), "not-installed");
    check_apparmor(&root, false);
    let diff = differences(&before, &root.snapshot());
    let group_files = ["/etc/group", "/etc/group-", "/etc/gshadow", "/etc/gshadow-"];
    let left: BTreeMap<_, _> = diff
        .iter()
        .filter(|(path, _)| !group_files.contains(&path.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "dpkg --purge netconf left the root changed (path: (before, after)):\n{left:#?}"
    );

    // --- 3. Under systemd, as far as the maintainer scripts see it: with
    // /run/systemd/system there and a systemctl that only notes what it is
    // asked (in /tmp: all of it goes with this one shell), the first
    // installation starts netconfd and networking.service, an upgrade
    // restarts netconfd alone, a removal stops netconfd alone:
    // networking.service is never stopped or restarted (its stop is
    // `ifdown -a`).
    check_systemd_actions(&root, &deb_name);
    assert_eq!(root.status("netconf"), "not-installed");

    // --- 4. Under sysvinit, for real: /etc/init.d/networking starts
    // netconfd (in the root's namespaces) and raises lo with it; an
    // upgrade restarts netconfd on the new binary, which keeps the state;
    // a removal stops it; lo stays up throughout.
    check_sysvinit(&root, &deb_name);
    assert_eq!(root.status("netconf"), "not-installed");

    // --- 5. In place of ifupdown.
    root.ok("dpkg -i /var/cache/apt/archives/ifupdown_*.deb");
    assert_eq!(root.status("ifupdown"), "installed");
    let admin_interfaces = "# the admin's\nauto lo\niface lo inet loopback\n\n\
                            allow-hotplug eth0\niface eth0 inet dhcp\n";
    let admin_hook = "#!/bin/sh\n# the admin's hook\nexit 0\n";
    fs::write(root.path("/etc/network/interfaces"), admin_interfaces).unwrap();
    fs::write(root.path("/etc/network/if-up.d/admin-hook"), admin_hook).unwrap();
    fs::set_permissions(
        root.path("/etc/network/if-up.d/admin-hook"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    // No conffile question may come (stdin is empty: dpkg would fail).
    let replace = root.ok(&format!("dpkg -i /mnt/{deb_name}"));
    assert!(
        replace.all_output().contains("ifupdown"),
        "dpkg says nothing of ifupdown:\n{replace}"
    );
    assert_eq!(root.status("netconf"), "installed");
    assert_eq!(
        root.status("ifupdown"),
        "config-files",
        "ifupdown is removed (its configuration files stay)"
    );
    for path in [
        "/sbin/ifup",
        "/sbin/ifdown",
        "/sbin/ifquery",
        "/etc/init.d/networking",
    ] {
        let out = root.ok(&format!("dpkg -S {path}"));
        assert_eq!(out.stdout.trim(), format!("netconf: {path}"), "{out}");
    }
    check_installed_files(&root);
    assert_eq!(
        root.mode("/etc/init.d/networking"),
        0o755,
        "ifupdown's postrm makes the init script non-executable; ours is again"
    );
    assert!(
        !root.exists("/lib/udev/rules.d/80-ifupdown.rules"),
        "ifupdown's udev rule would run a second ifup"
    );
    assert_eq!(root.read("/etc/network/interfaces"), admin_interfaces);
    assert_eq!(root.read("/etc/network/if-up.d/admin-hook"), admin_hook);
    for (link, target) in ENABLED {
        assert_eq!(
            fs::read_link(root.path(link)).unwrap_or_else(|e| panic!("{link}: {e}")),
            Path::new(target),
            "{link}"
        );
    }
    let out = root.ok("ifquery -a -l; ifquery --allow=hotplug -l");
    assert_eq!(out.stdout, "lo\neth0\n", "{out}");
    check_units(&root);
    check_apparmor(&root, true);

    // --- 6. And back: netconf removed, ifupdown installed again, netconf
    // purged; ifupdown keeps its files, its units' links, the admin's.
    root.ok("dpkg -r netconf");
    assert_eq!(root.status("netconf"), "config-files");
    assert_eq!(root.read("/etc/network/interfaces"), admin_interfaces);
    root.ok("dpkg -i /var/cache/apt/archives/ifupdown_*.deb");
    root.ok("dpkg --purge netconf");
    assert_eq!(root.status("ifupdown"), "installed");
    assert_eq!(root.status("netconf"), "not-installed");
    for path in [
        "/sbin/ifup",
        "/etc/init.d/networking",
        "/etc/default/networking",
    ] {
        let out = root.ok(&format!("dpkg -S {path}"));
        assert_eq!(out.stdout.trim(), format!("ifupdown: {path}"), "{out}");
    }
    assert_eq!(root.mode("/etc/init.d/networking"), 0o755);
    for conffile in CONFFILES {
        let out = root.sh(&format!(
            "dpkg-deb --fsys-tarfile /var/cache/apt/archives/ifupdown_*.deb | \
             tar -xO .{conffile} | cmp - {conffile}"
        ));
        assert!(out.success(), "{conffile} is not ifupdown's again:\n{out}");
    }
    assert_eq!(root.read("/etc/network/interfaces"), admin_interfaces);
    assert_eq!(root.read("/etc/network/if-up.d/admin-hook"), admin_hook);
    for (link, target) in ENABLED
        .iter()
        .filter(|(l, _)| l.ends_with("networking.service"))
    {
        assert_eq!(
            fs::read_link(root.path(link)).unwrap_or_else(|e| panic!("{link}: {e}")),
            Path::new(target),
            "ifupdown's networking.service stays enabled"
        );
    }
    assert!(!root.exists("/etc/systemd/system/multi-user.target.wants/netconfd.service"));
    let out = root.ok("ifquery --version");
    assert!(
        out.stdout.starts_with("ifquery version "),
        "Debian's ifquery:\n{out}"
    );

    eprintln!("the Debian package test took {:?}", started.elapsed());
}
