//! DNS from DHCP leases and router advertisements, the Debian way.
//!
//! Debian's dhclient-script writes the lease's DNS into `/etc/resolv.conf`
//! with its `make_resolv_conf` (`domain`, `search`, `nameserver` lines); when
//! the `resolvconf` package is installed, its dhclient hook replaces that
//! function and hands the same lines to `resolvconf -a IFACE.dhclient`
//! (`IFACE.ip6.dhclient` for DHCPv6, the name resolvconf's `interface-order`
//! expects), and takes them back with `resolvconf -d` when the lease ends.
//! [`Resolver`] does both, for DHCP leases and for the DNS options of IPv6
//! router advertisements (RFC 8106 RDNSS and DNSSL, `IFACE.ra`, which
//! sorts after the dhclient records, so that DHCP's DNS comes first as RFC
//! 8106 section 5.3.1 recommends, both in the file and in resolvconf's
//! default `interface-order`):
//!
//! * **resolvconf**, when `/sbin/resolvconf` or `/usr/sbin/resolvconf` is
//!   executable (checked when the resolver is made; tests inject their own
//!   program): the fragment goes to its stdin; resolvconf merges and writes.
//! * **the file** otherwise: the resolv.conf path (following a symlink, as
//!   Debian's `readlink -f` does) is replaced atomically — a temporary file in
//!   the same directory, then `rename` — keeping its mode and owner. The
//!   content it had before netconf first wrote it is saved in the state
//!   directory and put back when the last lease's DNS is removed, unless
//!   someone else has changed the file since (then it is theirs, and left
//!   alone). The DNS of every active lease (say DHCPv4 and DHCPv6) is merged
//!   into the one file, so removing one leaves the other's in place.
//!
//! Either way the state directory keeps each record's fragment, so that a
//! renewal that changes nothing writes nothing (no resolvconf run, no file
//! write), also across a restart of the daemon. The state directory should
//! live as long as what it describes: on `/run` like resolvconf's own
//! records (the daemon's run directory). If a reboot loses the saved
//! original while the file still holds netconf's content, the first line
//! netconf writes (a comment) tells it so, and that content is not taken for
//! the original.

use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tracing::warn;

/// Where the daemon writes DNS when resolvconf is not installed.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// Where Debian's scripts look for resolvconf (`[ -x /sbin/resolvconf ]`;
/// on a merged-/usr system both are the same file).
pub const RESOLVCONF_PATHS: [&str; 2] = ["/sbin/resolvconf", "/usr/sbin/resolvconf"];
/// How long a resolvconf run may take before it is killed: the daemon
/// waits for it, and resolvconf's update scripts may restart services.
pub const RESOLVCONF_TIMEOUT: Duration = Duration::from_secs(10);

/// How the first line of a resolv.conf netconf wrote begins (also in the
/// files of versions that said "from DHCP" after it).
const MARKER: &str = "# Written by netconfd";
/// resolvconf runs with dhclient's fixed PATH, not the daemon's.
const PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The DNS part of a lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsConfig {
    pub nameservers: Vec<IpAddr>,
    /// The `domain` line.
    pub domain: Option<String>,
    /// The `search` line.
    pub search: Vec<String>,
}

impl DnsConfig {
    /// Nothing to tell the resolver.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty() && self.domain.is_none() && self.search.is_empty()
    }

    /// The resolv.conf lines, as `make_resolv_conf` writes them: `domain`,
    /// `search`, then one `nameserver` per server. A link-local IPv6 server
    /// gets `%IFACE`, without which it cannot be reached.
    pub fn render(&self, iface: &str) -> String {
        let mut out = String::new();
        if let Some(domain) = &self.domain {
            out.push_str(&format!("domain {domain}\n"));
        }
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for ns in &self.nameservers {
            match ns {
                IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
                    out.push_str(&format!("nameserver {v6}%{iface}\n"));
                }
                _ => out.push_str(&format!("nameserver {ns}\n")),
            }
        }
        out
    }
}

/// What the active location (netconf-policy's locations) says about
/// resolv.conf: its own lines, and whether the leases' and router
/// advertisements' DNS is merged after them (`dns from dhcp|both`) or left
/// out (`dns from static`). While one is set, the file is netconf's even
/// without a lease: the last lease's end does not put the original back;
/// [`Resolver::set_location`] with `None` does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationDns {
    pub name: String,
    pub own: DnsConfig,
    pub from_leases: bool,
}

/// The resolvconf record of a location's own lines: `lo.*` sorts first in
/// resolvconf's default `interface-order`.
pub const LOCATION_RECORD: &str = "lo.netconf-location";

/// Which lease (or router advertisement) the DNS comes from; it names the
/// resolvconf record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `IFACE.dhclient`.
    Dhcp4,
    /// `IFACE.ip6.dhclient`.
    Dhcp6,
    /// `IFACE.ra`: the RDNSS and DNSSL options of the IPv6 router
    /// advertisements received on the interface.
    Ra,
}

impl Source {
    /// The resolvconf record name, as Debian's resolvconf dhclient hook
    /// names it.
    pub fn record(self, iface: &str) -> String {
        match self {
            Source::Dhcp4 => format!("{iface}.dhclient"),
            Source::Dhcp6 => format!("{iface}.ip6.dhclient"),
            Source::Ra => format!("{iface}.ra"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolvError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("running {} {args}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        args: String,
        source: io::Error,
    },
    #[error("{} {args} failed ({status}){}", program.display(), if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        program: PathBuf,
        args: String,
        status: String,
        stderr: String,
    },
    #[error("{} {args} did not finish within {} s and was killed", program.display(), timeout.as_secs())]
    Timeout {
        program: PathBuf,
        args: String,
        timeout: Duration,
    },
    #[error("{0:?} is not an interface name")]
    BadInterface(String),
}

fn io_error(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ResolvError {
    let path = path.to_path_buf();
    move |source| ResolvError::Io { op, path, source }
}

/// Applies and removes the DNS of leases; see the module documentation.
#[derive(Debug, Clone)]
pub struct Resolver {
    resolv_conf: PathBuf,
    state_dir: PathBuf,
    resolvconf: Option<PathBuf>,
    timeout: Duration,
}

impl Resolver {
    /// resolvconf if Debian's script would use it ([`RESOLVCONF_PATHS`]),
    /// else the file `resolv_conf`. `state_dir` is created when needed.
    pub fn new(resolv_conf: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        Self::detect(resolv_conf, state_dir, &RESOLVCONF_PATHS)
    }

    /// As [`Resolver::new`], looking for resolvconf at `candidates`: the
    /// first that is an executable file is used.
    pub fn detect(
        resolv_conf: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        candidates: &[impl AsRef<Path>],
    ) -> Self {
        let resolvconf = candidates
            .iter()
            .map(|c| c.as_ref())
            .find(|c| is_executable(c))
            .map(Path::to_path_buf);
        Resolver {
            resolv_conf: resolv_conf.into(),
            state_dir: state_dir.into(),
            resolvconf,
            timeout: RESOLVCONF_TIMEOUT,
        }
    }

    /// Always the file, never resolvconf.
    pub fn file(resolv_conf: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        Self::detect(resolv_conf, state_dir, &[] as &[&Path])
    }

    /// Always resolvconf, run as `program`.
    pub fn resolvconf(program: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        Resolver {
            resolv_conf: PathBuf::from(RESOLV_CONF),
            state_dir: state_dir.into(),
            resolvconf: Some(program.into()),
            timeout: RESOLVCONF_TIMEOUT,
        }
    }

    /// How long a resolvconf run may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The resolvconf in use, if any.
    pub fn resolvconf_program(&self) -> Option<&Path> {
        self.resolvconf.as_deref()
    }

    /// The file written when resolvconf is not in use.
    pub fn resolv_conf(&self) -> &Path {
        &self.resolv_conf
    }

    /// Applies a DHCPv4 lease's DNS for `iface`; see [`Resolver::apply_for`].
    pub fn apply(&self, iface: &str, dns: &DnsConfig) -> Result<bool, ResolvError> {
        self.apply_for(iface, Source::Dhcp4, dns)
    }

    /// Removes the DHCPv4 DNS of `iface`; see [`Resolver::remove_for`].
    pub fn remove(&self, iface: &str) -> Result<bool, ResolvError> {
        self.remove_for(iface, Source::Dhcp4)
    }

    /// Makes `dns` the DNS of `iface`'s `source` lease. Returns whether
    /// anything was written: not when the record already says the same (and,
    /// for the file, the file already reads as it should). An empty `dns` is
    /// [`Resolver::remove_for`], as with resolvconf's hook, which hands
    /// resolvconf nothing without name servers.
    pub fn apply_for(
        &self,
        iface: &str,
        source: Source,
        dns: &DnsConfig,
    ) -> Result<bool, ResolvError> {
        let record = record_name(iface, source)?;
        if dns.is_empty() {
            return self.remove_for(iface, source);
        }
        let fragment = dns.render(iface);
        match &self.resolvconf {
            Some(program) => {
                if self.read_record(&record)?.as_deref() == Some(fragment.as_str()) {
                    return Ok(false);
                }
                self.run(program, &["-a", &record], Some(&fragment))?;
                self.write_record(&record, &fragment)?;
                Ok(true)
            }
            None => {
                let target = resolve_links(&self.resolv_conf);
                self.save_original(&target)?;
                self.write_record(&record, &fragment)?;
                self.write_merged(&target)
            }
        }
    }

    /// Takes back what [`Resolver::apply_for`] gave for `iface`'s `source`
    /// lease: `resolvconf -d RECORD`, or the file rewritten with the other
    /// leases' DNS, or, for the last one, the file as it was before. Returns
    /// whether anything was written; nothing is when there was no record.
    pub fn remove_for(&self, iface: &str, source: Source) -> Result<bool, ResolvError> {
        let record = record_name(iface, source)?;
        if self.read_record(&record)?.is_none() {
            return Ok(false);
        }
        match &self.resolvconf {
            Some(program) => {
                self.run(program, &["-d", &record], None)?;
                self.delete_record(&record)?;
                Ok(true)
            }
            None => {
                let target = resolve_links(&self.resolv_conf);
                let ours = self.merged()?;
                self.delete_record(&record)?;
                if self.records()?.is_empty() && self.location()?.is_none() {
                    self.restore(&target, &ours)
                } else {
                    self.write_merged(&target)
                }
            }
        }
    }

    /// Makes `location` the active location's DNS (`None`: no location,
    /// the leases' DNS alone, and the original file back when there is
    /// none). Returns whether anything was written. With resolvconf, the
    /// location's lines are the record [`LOCATION_RECORD`]; resolvconf
    /// merges the leases' records as its `interface-order` says, whatever
    /// `from_leases` is.
    pub fn set_location(&self, location: Option<&LocationDns>) -> Result<bool, ResolvError> {
        let path = self.state_dir.join("location");
        let current = self.location()?;
        if let Some(program) = &self.resolvconf {
            if current.as_ref() == location {
                return Ok(false);
            }
            match location {
                Some(loc) if !loc.own.is_empty() => {
                    self.run(
                        program,
                        &["-a", LOCATION_RECORD],
                        Some(&loc.own.render("lo")),
                    )?;
                }
                _ if current.as_ref().is_some_and(|c| !c.own.is_empty()) => {
                    self.run(program, &["-d", LOCATION_RECORD], None)?;
                }
                _ => {}
            }
            self.save_location(&path, location)?;
            return Ok(true);
        }
        let target = resolve_links(&self.resolv_conf);
        match location {
            Some(loc) => {
                self.save_original(&target)?;
                if current.as_ref() != Some(loc) {
                    self.save_location(&path, location)?;
                }
                self.write_merged(&target)
            }
            None => {
                if current.is_none() {
                    return Ok(false);
                }
                let ours = self.merged()?;
                self.save_location(&path, None)?;
                if self.records()?.is_empty() {
                    self.restore(&target, &ours)
                } else {
                    self.write_merged(&target)
                }
            }
        }
    }

    /// The active location's DNS, as [`Resolver::set_location`] last set it.
    pub fn location(&self) -> Result<Option<LocationDns>, ResolvError> {
        let path = self.state_dir.join("location");
        Ok(read_optional(&path)?.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    fn save_location(
        &self,
        path: &Path,
        location: Option<&LocationDns>,
    ) -> Result<(), ResolvError> {
        match location {
            Some(loc) => {
                fs::create_dir_all(&self.state_dir)
                    .map_err(io_error("creating", &self.state_dir))?;
                let text = serde_json::to_vec(loc).unwrap_or_default();
                write_atomic(path, &text, None)
            }
            None => remove_optional(path),
        }
    }

    fn records_dir(&self) -> PathBuf {
        self.state_dir.join("records")
    }

    fn saved(&self, what: &str) -> PathBuf {
        self.state_dir.join(format!("resolv.conf.{what}"))
    }

    fn read_record(&self, record: &str) -> Result<Option<String>, ResolvError> {
        let path = self.records_dir().join(record);
        read_optional(&path).map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    fn write_record(&self, record: &str, fragment: &str) -> Result<(), ResolvError> {
        let dir = self.records_dir();
        fs::create_dir_all(&dir).map_err(io_error("creating", &dir))?;
        write_atomic(&dir.join(record), fragment.as_bytes(), None)
    }

    fn delete_record(&self, record: &str) -> Result<(), ResolvError> {
        remove_optional(&self.records_dir().join(record))
    }

    /// Every record, by name (DHCPv4 before DHCPv6 of the same interface).
    fn records(&self) -> Result<Vec<(String, String)>, ResolvError> {
        let dir = self.records_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("reading", &dir)(e)),
        };
        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error("reading", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Our own temporary files, left by a crash.
            if name.starts_with('.') {
                continue;
            }
            let text = fs::read(entry.path()).map_err(io_error("reading", &entry.path()))?;
            records.push((name, String::from_utf8_lossy(&text).into_owned()));
        }
        records.sort();
        Ok(records)
    }

    /// Remembers what the file held before netconf's first write, once.
    fn save_original(&self, target: &Path) -> Result<(), ResolvError> {
        if ["orig", "absent", "unknown"]
            .iter()
            .any(|w| self.saved(w).exists())
        {
            return Ok(());
        }
        fs::create_dir_all(&self.state_dir).map_err(io_error("creating", &self.state_dir))?;
        match read_optional(target)? {
            None => write_atomic(&self.saved("absent"), b"", None),
            // Ours from before a reboot that lost the state: not an original.
            Some(content) if content.starts_with(MARKER.as_bytes()) => {
                write_atomic(&self.saved("unknown"), b"", None)
            }
            Some(content) => write_atomic(&self.saved("orig"), &content, None),
        }
    }

    /// The file's content for the current records.
    fn merged(&self) -> Result<String, ResolvError> {
        let mut records = self.records()?;
        let original = read_optional(&self.saved("orig"))?.unwrap_or_default();
        let Some(location) = self.location()? else {
            return Ok(merge(&records, &String::from_utf8_lossy(&original)));
        };
        if !location.from_leases {
            records.clear();
        }
        records.insert(
            0,
            (
                format!("location {}", location.name),
                location.own.render("lo"),
            ),
        );
        let mut text = merge(&records, "");
        // The header says where the lines come from.
        if let Some(end) = text.find('\n') {
            let names: Vec<&str> = records.iter().map(|(n, _)| n.as_str()).collect();
            text.replace_range(
                ..end,
                &format!(
                    "{MARKER} for the location \"{}\" ({})",
                    location.name,
                    names.join(", ")
                ),
            );
        }
        Ok(text)
    }

    fn write_merged(&self, target: &Path) -> Result<bool, ResolvError> {
        let content = self.merged()?;
        let current = read_optional(target)?;
        if current.as_deref() == Some(content.as_bytes()) {
            return Ok(false);
        }
        let like = fs::metadata(target).ok();
        write_atomic(target, content.as_bytes(), like.as_ref())?;
        Ok(true)
    }

    /// Puts back the original, if the file still holds what netconf wrote
    /// (`ours`), and forgets it.
    fn restore(&self, target: &Path, ours: &str) -> Result<bool, ResolvError> {
        let current = read_optional(target)?;
        let mut wrote = false;
        if current.as_deref() != Some(ours.as_bytes()) {
            warn!(
                file = %target.display(),
                "changed by someone else since netconf wrote it: left as it is"
            );
        } else if let Some(original) = read_optional(&self.saved("orig"))? {
            let like = fs::metadata(target).ok();
            write_atomic(target, &original, like.as_ref())?;
            wrote = true;
        } else if self.saved("absent").exists() {
            remove_optional(target)?;
            wrote = true;
        }
        for what in ["orig", "absent", "unknown"] {
            remove_optional(&self.saved(what))?;
        }
        Ok(wrote)
    }

    /// Runs resolvconf with `args`, `stdin` as its input, within the
    /// timeout.
    fn run(&self, program: &Path, args: &[&str], stdin: Option<&str>) -> Result<(), ResolvError> {
        let joined = args.join(" ");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", PATH_ENV)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut cmd).map_err(|source| ResolvError::Spawn {
            program: program.to_path_buf(),
            args: joined.clone(),
            source,
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A fragment is far below a pipe's buffer, so this cannot block
            // on a child that does not read. Dropping `pipe` closes it:
            // resolvconf reads to end of file.
            if let Err(e) = pipe.write_all(text.as_bytes()) {
                // A program that exits without reading is judged by its
                // exit status below.
                if e.kind() != io::ErrorKind::BrokenPipe {
                    stop(&mut child);
                    return Err(ResolvError::Spawn {
                        program: program.to_path_buf(),
                        args: joined,
                        source: e,
                    });
                }
            }
        }
        // stderr is read on a thread, so that a chatty program cannot fill
        // the pipe and stall, and collected with a bound below, so that a
        // service started by an update script and holding the pipe open
        // cannot stall the daemon.
        let (tx, rx) = mpsc::channel();
        if let Some(mut err) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = (&mut err).take(16 * 1024).read_to_end(&mut buf);
                let _ = tx.send(buf);
            });
        }
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    stop(&mut child);
                    return Err(ResolvError::Timeout {
                        program: program.to_path_buf(),
                        args: joined,
                        timeout: self.timeout,
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(source) => {
                    stop(&mut child);
                    return Err(ResolvError::Spawn {
                        program: program.to_path_buf(),
                        args: joined,
                        source,
                    });
                }
            }
        };
        if status.success() {
            return Ok(());
        }
        let stderr = rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr).trim().to_string();
        Err(ResolvError::Failed {
            program: program.to_path_buf(),
            args: joined,
            status: status.to_string(),
            stderr,
        })
    }
}

/// Kills and reaps a child of ours.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Spawns, retrying briefly on ETXTBSY: a program written just before (a
/// test's fake resolvconf, a package being upgraded) can still be open for
/// writing in a process forked meanwhile.
fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn record_name(iface: &str, source: Source) -> Result<String, ResolvError> {
    let ok = !iface.is_empty()
        && iface.len() < 16
        && iface != "."
        && iface != ".."
        && !iface.starts_with('.')
        && !iface
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(source.record(iface))
    } else {
        Err(ResolvError::BadInterface(iface.to_string()))
    }
}

/// What `[ -x PATH ]` says, for root: a file with an execute bit.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The file a symlink chain ends at (`readlink -f` for the last component),
/// since that is the file Debian's script writes; the path itself when it is
/// not a link.
fn resolve_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    // The kernel's own limit on a chain of links.
    for _ in 0..40 {
        match fs::read_link(&path) {
            Ok(target) if target.is_absolute() => path = target,
            Ok(target) => {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                path = dir.join(target);
            }
            Err(_) => break,
        }
    }
    path
}

/// The merged resolv.conf: the first `domain`, every search domain and
/// name server once, in record order. Without any name server the original
/// file's `nameserver` lines are kept, as `make_resolv_conf` keeps the old
/// ones.
fn merge(records: &[(String, String)], original: &str) -> String {
    let mut domain = None;
    let mut search: Vec<&str> = Vec::new();
    let mut servers: Vec<&str> = Vec::new();
    for (_, fragment) in records {
        for line in fragment.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("domain") => domain = domain.or(words.next()),
                Some("search") => {
                    for w in words {
                        if !search.contains(&w) {
                            search.push(w);
                        }
                    }
                }
                Some("nameserver") => {
                    if let Some(w) = words.next().filter(|w| !servers.contains(w)) {
                        servers.push(w);
                    }
                }
                _ => {}
            }
        }
    }
    let names: Vec<&str> = records.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = format!(
        "{MARKER} from DHCP and router advertisements ({}); the previous file is put back \
         when the last of them ends.\n",
        names.join(", ")
    );
    if let Some(d) = domain {
        out.push_str(&format!("domain {d}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if servers.is_empty() {
        for line in original.lines() {
            if line
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("nameserver")
            {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ResolvError> {
    match fs::read(path) {
        Ok(content) => Ok(Some(content)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("reading", path)(e)),
    }
}

fn remove_optional(path: &Path) -> Result<(), ResolvError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("removing", path)(e)),
    }
}

/// Replaces `path` with `content` so that readers see the old or the new
/// file, never half of one: a temporary file in the same directory, synced,
/// then renamed over it. Mode and owner come from `like` (the file being
/// replaced), as Debian's `chmod/chown --reference`.
fn write_atomic(
    path: &Path,
    content: &[u8],
    like: Option<&fs::Metadata>,
) -> Result<(), ResolvError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io_error("writing", path)(io::ErrorKind::InvalidInput.into()))?;
    let tmp = dir.join(format!(".{name}.netconf-new.{}", std::process::id()));
    // Left by a crash of an earlier daemon with the same pid.
    remove_optional(&tmp)?;
    let mode = like.map_or(0o644, |m| m.mode() & 0o7777);
    let written = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have taken bits away.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some(m) = like {
            let mine = file.metadata()?;
            if (mine.uid(), mine.gid()) != (m.uid(), m.gid()) {
                if let Err(e) = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid())) {
                    warn!(file = %path.display(), "keeping the owner: {e}");
                }
            }
        }
        file.write_all(content)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("writing", &tmp)(e));
    }
    match fs::rename(&tmp, path) {
        Ok(()) => {
            // Make the rename itself durable; failing that is not fatal.
            if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
                warn!(dir = %dir.display(), "syncing: {e}");
            }
            Ok(())
        }
        // A bind-mounted file (`ip netns exec` mounts /etc/netns/NS/resolv.conf
        // over /etc/resolv.conf) cannot be renamed over: write it in place,
        // as Debian's script does (`cat new > resolv.conf`) for this reason.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EXDEV)) => {
            let _ = fs::remove_file(&tmp);
            let mut file = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(io_error("opening", path))?;
            file.write_all(content)
                .and_then(|()| file.sync_all())
                .map_err(io_error("writing", path))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(io_error("replacing", path)(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
    }

    fn example() -> DnsConfig {
        DnsConfig {
            nameservers: vec![v4("198.18.0.53"), v4("198.18.0.54")],
            domain: Some("example.test".into()),
            search: vec!["example.test".into(), "lab.example.test".into()],
        }
    }

    #[test]
    fn render_like_make_resolv_conf() {
        assert_eq!(
            example().render("eth0"),
            "domain example.test\n\
             search example.test lab.example.test\n\
             nameserver 198.18.0.53\n\
             nameserver 198.18.0.54\n"
        );
    }

    #[test]
    fn v6_link_local_servers_get_the_interface() {
        let dns = DnsConfig {
            nameservers: vec![
                "2001:db8:7::53".parse().unwrap(),
                "fe80::1".parse::<Ipv6Addr>().unwrap().into(),
            ],
            domain: None,
            search: vec!["example.test".into()],
        };
        assert_eq!(
            dns.render("eth0"),
            "search example.test\nnameserver 2001:db8:7::53\nnameserver fe80::1%eth0\n"
        );
    }

    #[test]
    fn record_names() {
        assert_eq!(Source::Dhcp4.record("eth0"), "eth0.dhclient");
        assert_eq!(Source::Dhcp6.record("eth0"), "eth0.ip6.dhclient");
        assert_eq!(Source::Ra.record("eth0"), "eth0.ra");
        for bad in ["", "..", "../x", "a b", ".hidden", "averyveryverylongname"] {
            assert!(matches!(
                record_name(bad, Source::Dhcp4),
                Err(ResolvError::BadInterface(_))
            ));
        }
    }

    struct Files {
        _dir: tempfile::TempDir,
        conf: PathBuf,
        state: PathBuf,
    }

    fn files(original: Option<&str>) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("etc").join("resolv.conf");
        fs::create_dir_all(conf.parent().unwrap()).unwrap();
        if let Some(text) = original {
            fs::write(&conf, text).unwrap();
        }
        let state = dir.path().join("state");
        Files {
            conf,
            state,
            _dir: dir,
        }
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    const ORIGINAL: &str = "# the admin's\nnameserver 203.0.113.53\noptions edns0\n";

    #[test]
    fn a_location_merges_or_replaces_the_leases_dns() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        let office = LocationDns {
            name: "office".into(),
            own: DnsConfig {
                nameservers: vec!["198.51.100.53".parse().unwrap()],
                domain: None,
                search: vec!["office.example.org".into()],
            },
            from_leases: true,
        };
        assert!(r.set_location(Some(&office)).unwrap());
        let both = read(&f.conf);
        assert!(
            both.starts_with("# Written by netconfd for the location \"office\""),
            "{both}"
        );
        assert!(
            both.ends_with("search office.example.org example.test lab.example.test\nnameserver 198.51.100.53\nnameserver 198.18.0.53\nnameserver 198.18.0.54\n"),
            "{both}"
        );
        assert!(
            !r.set_location(Some(&office)).unwrap(),
            "the same location writes nothing"
        );
        let alone = LocationDns {
            from_leases: false,
            ..office.clone()
        };
        r.set_location(Some(&alone)).unwrap();
        assert!(!read(&f.conf).contains("198.18.0.53"));
        // The last lease's end keeps the location's file.
        r.remove("eth0").unwrap();
        assert!(read(&f.conf).contains("nameserver 198.51.100.53"));
        // No location and no lease: the original is back.
        assert!(r.set_location(None).unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
        assert!(!r.set_location(None).unwrap());
    }

    #[test]
    fn file_write_and_restore() {
        let f = files(Some(ORIGINAL));
        fs::set_permissions(&f.conf, fs::Permissions::from_mode(0o640)).unwrap();
        let r = Resolver::file(&f.conf, &f.state);
        assert!(r.resolvconf_program().is_none());
        assert!(r.apply("eth0", &example()).unwrap());
        let written = read(&f.conf);
        assert!(written.starts_with(MARKER), "{written}");
        assert!(written.ends_with(&example().render("eth0")), "{written}");
        assert_eq!(
            fs::metadata(&f.conf).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(read(&f.state.join("resolv.conf.orig")), ORIGINAL);
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(f.conf.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["resolv.conf"]);

        // The same again (a RENEW) writes nothing, not even the same bytes.
        let before = fs::metadata(&f.conf).unwrap().ino();
        assert!(!r.apply("eth0", &example()).unwrap());
        assert_eq!(fs::metadata(&f.conf).unwrap().ino(), before);

        // A changed lease rewrites; the saved original stays the admin's.
        let mut changed = example();
        changed.nameservers = vec![v4("198.18.0.99")];
        assert!(r.apply("eth0", &changed).unwrap());
        assert!(read(&f.conf).contains("nameserver 198.18.0.99\n"));
        assert_eq!(read(&f.state.join("resolv.conf.orig")), ORIGINAL);

        assert!(r.remove("eth0").unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
        assert_eq!(
            fs::metadata(&f.conf).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(!f.state.join("resolv.conf.orig").exists());
        // Nothing left to remove.
        assert!(!r.remove("eth0").unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
    }

    #[test]
    fn v4_and_v6_merge_and_leave_one_by_one() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        let six = DnsConfig {
            nameservers: vec!["2001:db8:7::53".parse().unwrap()],
            domain: None,
            search: vec!["example.test".into(), "six.example.test".into()],
        };
        assert!(r.apply("eth0", &example()).unwrap());
        assert!(r.apply_for("eth0", Source::Dhcp6, &six).unwrap());
        let both = read(&f.conf);
        assert!(
            both.contains(
                "domain example.test\n\
             search example.test lab.example.test six.example.test\n\
             nameserver 198.18.0.53\n\
             nameserver 198.18.0.54\n\
             nameserver 2001:db8:7::53\n"
            ),
            "{both}"
        );
        assert!(r.remove("eth0").unwrap());
        let six_only = read(&f.conf);
        assert!(six_only.contains(&six.render("eth0")), "{six_only}");
        assert!(!six_only.contains("198.18.0.53"));
        assert!(r.remove_for("eth0", Source::Dhcp6).unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
    }

    /// A router advertisement's DNS merges with a lease's, after it (RFC
    /// 8106 5.3.1: DHCP's first), and each goes on its own.
    #[test]
    fn router_advertisement_dns_comes_after_the_leases() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        let ra = DnsConfig {
            nameservers: vec!["2001:db8:1::53".parse().unwrap(), v4("198.18.0.53")],
            domain: None,
            search: vec!["ra.example.test".into()],
        };
        assert!(r.apply_for("eth0", Source::Ra, &ra).unwrap());
        assert!(r.apply("eth0", &example()).unwrap());
        let both = read(&f.conf);
        assert!(
            both.starts_with(
                "# Written by netconfd from DHCP and router advertisements \
                 (eth0.dhclient, eth0.ra);"
            ) && both.ends_with(
                "domain example.test\n\
                 search example.test lab.example.test ra.example.test\n\
                 nameserver 198.18.0.53\n\
                 nameserver 198.18.0.54\n\
                 nameserver 2001:db8:1::53\n"
            ),
            "{both}"
        );
        assert!(r.remove("eth0").unwrap());
        let ra_only = read(&f.conf);
        assert!(ra_only.ends_with(&ra.render("eth0")), "{ra_only}");
        assert!(r.remove_for("eth0", Source::Ra).unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
    }

    #[test]
    fn no_nameservers_keeps_the_old_ones() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        let search_only = DnsConfig {
            search: vec!["example.test".into()],
            ..DnsConfig::default()
        };
        r.apply("eth0", &search_only).unwrap();
        let text = read(&f.conf);
        assert!(
            text.ends_with("search example.test\nnameserver 203.0.113.53\n"),
            "{text}"
        );
    }

    #[test]
    fn empty_dns_is_removal() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        assert!(!r.apply("eth0", &DnsConfig::default()).unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
        r.apply("eth0", &example()).unwrap();
        assert!(r.apply("eth0", &DnsConfig::default()).unwrap());
        assert_eq!(read(&f.conf), ORIGINAL);
    }

    #[test]
    fn missing_file_is_removed_again() {
        let f = files(None);
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        assert_eq!(
            fs::metadata(&f.conf).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert!(r.remove("eth0").unwrap());
        assert!(!f.conf.exists());
    }

    #[test]
    fn someone_elses_change_is_left_alone() {
        let f = files(Some(ORIGINAL));
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        fs::write(&f.conf, "nameserver 198.51.100.1\n").unwrap();
        assert!(!r.remove("eth0").unwrap());
        assert_eq!(read(&f.conf), "nameserver 198.51.100.1\n");
        assert!(!f.state.join("resolv.conf.orig").exists());
    }

    #[test]
    fn our_own_file_is_not_taken_for_the_original() {
        let f = files(None);
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        // A reboot loses the state directory but not the file.
        fs::remove_dir_all(&f.state).unwrap();
        let mut changed = example();
        changed.nameservers = vec![v4("198.18.0.99")];
        r.apply("eth0", &changed).unwrap();
        assert!(f.state.join("resolv.conf.unknown").exists());
        // Not restorable: netconf's last content stays.
        assert!(!r.remove("eth0").unwrap());
        assert!(read(&f.conf).contains("198.18.0.99"));

        // Nor is a file of an earlier netconf, whose first line said less.
        let f = files(Some(
            "# Written by netconfd from DHCP (eth0.dhclient); the previous file is put back \
             when the lease ends.\nnameserver 198.18.0.53\n",
        ));
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        assert!(f.state.join("resolv.conf.unknown").exists());
    }

    #[test]
    fn symlinked_resolv_conf_is_written_through() {
        let f = files(None);
        let run = f.conf.parent().unwrap().parent().unwrap().join("run");
        fs::create_dir_all(&run).unwrap();
        let target = run.join("resolv.conf");
        fs::write(&target, ORIGINAL).unwrap();
        std::os::unix::fs::symlink("../run/resolv.conf", &f.conf).unwrap();
        let r = Resolver::file(&f.conf, &f.state);
        r.apply("eth0", &example()).unwrap();
        assert!(fs::symlink_metadata(&f.conf)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(read(&target).contains("nameserver 198.18.0.53"));
        r.remove("eth0").unwrap();
        assert!(fs::symlink_metadata(&f.conf)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read(&target), ORIGINAL);
    }

    #[test]
    fn unwritable_place_is_a_named_error() {
        let f = files(None);
        let r = Resolver::file(f.conf.join("below-a-missing-dir"), &f.state);
        let err = r.apply("eth0", &example()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("below-a-missing-dir"), "{text}");
    }

    /// A fake resolvconf: records each call's arguments and stdin in its own
    /// directory, and fails when told to.
    fn fake_resolvconf(dir: &Path, body: &str) -> PathBuf {
        let program = dir.join("resolvconf");
        let script = format!(
            "#!/bin/sh\nd=$(dirname \"$0\")\nn=$(ls \"$d\" | grep -c '^call')\n\
             echo \"$@\" > \"$d/call$n.args\"\ncat > \"$d/call$n.stdin\"\n{body}\n"
        );
        fs::write(&program, script).unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        program
    }

    fn calls(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in 0.. {
            let args = dir.join(format!("call{}.args", 2 * n));
            if !args.exists() {
                break;
            }
            let stdin = dir.join(format!("call{}.stdin", 2 * n));
            out.push((read(&args).trim().to_string(), read(&stdin)));
        }
        out
    }

    #[test]
    fn resolvconf_is_used_when_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let program = fake_resolvconf(&bin, "exit 0");
        let not_exec = dir.path().join("not-executable");
        fs::write(&not_exec, "#!/bin/sh\n").unwrap();
        let conf = dir.path().join("resolv.conf");
        let state = dir.path().join("state");
        let r = Resolver::detect(
            &conf,
            &state,
            &[dir.path().join("absent"), not_exec, program.clone()],
        );
        assert_eq!(r.resolvconf_program(), Some(program.as_path()));

        assert!(r.apply("eth0", &example()).unwrap());
        // Unchanged: resolvconf is not run again.
        assert!(!r.apply("eth0", &example()).unwrap());
        let six = DnsConfig {
            nameservers: vec!["2001:db8:7::53".parse().unwrap()],
            ..DnsConfig::default()
        };
        assert!(r.apply_for("eth0", Source::Dhcp6, &six).unwrap());
        assert!(r.remove("eth0").unwrap());
        assert!(!r.remove("eth0").unwrap());
        assert_eq!(
            calls(&bin),
            vec![
                ("-a eth0.dhclient".to_string(), example().render("eth0")),
                (
                    "-a eth0.ip6.dhclient".to_string(),
                    "nameserver 2001:db8:7::53\n".to_string()
                ),
                ("-d eth0.dhclient".to_string(), String::new()),
            ]
        );
        // resolv.conf itself is never touched.
        assert!(!conf.exists());
    }

    #[test]
    fn a_location_is_a_resolvconf_record_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_resolvconf(dir.path(), "exit 0");
        let r = Resolver::resolvconf(&program, dir.path().join("state"));
        let office = LocationDns {
            name: "office".into(),
            own: DnsConfig {
                nameservers: vec!["198.51.100.53".parse().unwrap()],
                domain: None,
                search: vec!["office.example.org".into()],
            },
            from_leases: false,
        };
        assert!(r.set_location(Some(&office)).unwrap());
        assert!(
            !r.set_location(Some(&office)).unwrap(),
            "unchanged: not run again"
        );
        assert!(r.set_location(None).unwrap());
        assert!(!r.set_location(None).unwrap());
        assert_eq!(
            calls(dir.path()),
            vec![
                (
                    format!("-a {LOCATION_RECORD}"),
                    "search office.example.org\nnameserver 198.51.100.53\n".to_string()
                ),
                (format!("-d {LOCATION_RECORD}"), String::new()),
            ]
        );
    }

    #[test]
    fn resolvconf_failure_and_timeout_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_resolvconf(dir.path(), "echo 'no way' >&2; exit 3");
        let r = Resolver::resolvconf(&program, dir.path().join("state"));
        let err = r.apply("eth0", &example()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ResolvError::Failed { .. })
                && text.contains("-a eth0.dhclient")
                && text.contains("no way"),
            "{text}"
        );
        // A failed apply is not remembered: the next one tries again.
        assert!(r.apply("eth0", &example()).is_err());

        let slow = tempfile::tempdir().unwrap();
        let program = fake_resolvconf(slow.path(), "sleep 5");
        let r = Resolver::resolvconf(&program, slow.path().join("state"))
            .with_timeout(Duration::from_millis(200));
        let started = Instant::now();
        let err = r.apply("eth0", &example()).unwrap_err();
        assert!(matches!(err, ResolvError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));

        let r = Resolver::resolvconf(dir.path().join("missing"), dir.path().join("s2"));
        assert!(matches!(
            r.apply("eth0", &example()).unwrap_err(),
            ResolvError::Spawn { .. }
        ));
    }
}
