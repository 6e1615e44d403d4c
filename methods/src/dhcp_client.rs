//! The DHCP clients netconf runs behind its one hook: which there are
//! ([`ClientKind`]), one client's spec ([`DhcpClient`]: interface, family,
//! what the stanza asks to send, netconf's files), its start (detached, so
//! that it outlives a restart of the daemon), and the processes in `/proc`
//! told apart: ours (by the token each one is given), foreign ones (whose
//! interfaces netconf leaves alone), the rest. What is particular to one
//! client, its command line and its script's environment, is in its own
//! module: [`crate::dhclient`], [`crate::dhcpcd`], [`crate::udhcpc`],
//! [`crate::dhcpcanon`].

use crate::dhcp::Mode6;
use crate::lease::{DhcpEvent, LeaseError};
use crate::{dhclient, dhcpcanon, dhcpcd, udhcpc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;

/// A DHCP client netconf can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// ISC dhclient (`isc-dhcp-client`).
    #[default]
    Dhclient,
    /// Roy Marples' dhcpcd (`dhcpcd-base`).
    Dhcpcd,
    /// busybox's udhcpc (`udhcpc`).
    Udhcpc,
    /// dhcpcanon, RFC 7844's anonymity profile (PyPI; no Debian package).
    Dhcpcanon,
}

impl ClientKind {
    /// Debian's order when the stanza names none: `inet dhcp` in ifupdown
    /// 0.8.41 tries dhclient, then udhcpc, then dhcpcd.
    pub const DEBIAN_ORDER: [ClientKind; 3] =
        [ClientKind::Dhclient, ClientKind::Udhcpc, ClientKind::Dhcpcd];

    /// The name in `dhcp-client`, the protocol and the logs.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Dhclient => "dhclient",
            ClientKind::Dhcpcd => "dhcpcd",
            ClientKind::Udhcpc => "udhcpc",
            ClientKind::Dhcpcanon => "dhcpcanon",
        }
    }

    /// The Debian package that installs it (dhcpcanon has none).
    pub fn package(self) -> Option<&'static str> {
        match self {
            ClientKind::Dhclient => Some("isc-dhcp-client"),
            ClientKind::Dhcpcd => Some("dhcpcd-base"),
            ClientKind::Udhcpc => Some("udhcpc"),
            ClientKind::Dhcpcanon => None,
        }
    }

    /// What to do to have it, for the error that says it is missing.
    pub fn how_to_install(self) -> String {
        match self.package() {
            Some(package) => format!("apt install {package}"),
            None => {
                format!("install {self} from PyPI into a virtualenv (netconf-interfaces(5), DHCP)")
            }
        }
    }

    /// Where Debian installs it.
    pub fn program(self) -> &'static str {
        match self {
            ClientKind::Dhclient => dhclient::DHCLIENT,
            ClientKind::Dhcpcd => dhcpcd::DHCPCD,
            ClientKind::Udhcpc => udhcpc::UDHCPC,
            ClientKind::Dhcpcanon => dhcpcanon::DHCPCANON,
        }
    }

    /// Whether it speaks DHCPv6 as netconf runs it (udhcpc's DHCPv6
    /// sibling, udhcpc6, is not one Debian's ifupdown uses).
    pub fn speaks_v6(self) -> bool {
        !matches!(self, ClientKind::Udhcpc | ClientKind::Dhcpcanon)
    }

    /// Its script's environment, read into the lease model.
    pub fn parse_event(self, env: &[(String, String)]) -> Result<DhcpEvent, LeaseError> {
        match self {
            // dhcpcanon speaks dhclient's variables.
            ClientKind::Dhclient | ClientKind::Dhcpcanon => dhclient::parse_event(env),
            ClientKind::Dhcpcd => dhcpcd::parse_event(env),
            ClientKind::Udhcpc => udhcpc::parse_event(env),
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`ClientKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DHCP client \"{0}\" (known: dhclient, dhcpcd, udhcpc, dhcpcanon)")]
pub struct UnknownClient(pub String);

impl FromStr for ClientKind {
    type Err = UnknownClient;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ClientKind::Dhclient,
            ClientKind::Dhcpcd,
            ClientKind::Udhcpc,
            ClientKind::Dhcpcanon,
        ]
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or_else(|| UnknownClient(s.to_string()))
    }
}

/// One DHCP client: which program, for which interface, how, and what to
/// send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpClient {
    pub kind: ClientKind,
    /// The client's binary (tests point it elsewhere).
    pub program: PathBuf,
    pub iface: String,
    /// `None` for DHCPv4.
    pub v6: Option<Mode6>,
    /// The script (`netconf-dhcp-hook`).
    pub hook: PathBuf,
    /// The daemon's control socket, for the hook.
    pub socket: PathBuf,
    pub token: String,
    /// Pid, config and log files (`/run/netconf`).
    pub run_dir: PathBuf,
    /// Lease files (`/var/lib/netconf`), kept across reboots for REBOOT.
    pub state_dir: PathBuf,
    /// Extra variables for the hook, such as `IF_METRIC`.
    pub extra_env: Vec<(String, String)>,
    pub hostname: Option<String>,
    pub vendor: Option<String>,
    /// `client no` turns the client identifier off; any other value is sent
    /// as the client identifier.
    pub client: Option<String>,
    pub lease_seconds: Option<u32>,
    /// RFC 7844 anonymity profile (`anonymize yes`: dhcpcd's `anonymous`;
    /// dhcpcanon has nothing else).
    pub anonymize: bool,
}

/// What a dhclient invocation does (the other clients take signals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run in the foreground, renewing for as long as it lives.
    Run,
    /// `-r`: send a RELEASE, stop the running one, run the hook (RELEASE).
    Release,
    /// `-x`: stop the running one without a release (hook: STOP).
    Stop,
}

impl DhcpClient {
    /// Which client this is: the interface, and whether it speaks DHCPv6.
    pub fn key(&self) -> (String, bool) {
        (self.iface.clone(), self.v6.is_some())
    }

    /// `""` or `"6"`, for file names.
    pub(crate) fn suffix(&self) -> &'static str {
        if self.v6.is_some() {
            "6"
        } else {
            ""
        }
    }

    /// `NAME[6].IFACE.EXT` in the run directory.
    pub(crate) fn run_file(&self, ext: &str) -> PathBuf {
        self.run_dir.join(format!(
            "{}{}.{}.{ext}",
            self.kind.name(),
            self.suffix(),
            self.iface
        ))
    }

    /// Where the client writes its pid.
    pub fn pid_file(&self) -> PathBuf {
        match self.kind {
            ClientKind::Dhcpcd => dhcpcd::pid_file(self),
            _ => self.run_file("pid"),
        }
    }

    /// The client's own messages (its stderr), for the admin: a file, never
    /// a pipe a client could die on when the daemon goes away.
    pub fn log_file(&self) -> PathBuf {
        self.run_file("log")
    }

    /// The variables the hook needs from us: the token and the socket, then
    /// the stanza's (`IF_METRIC`).
    pub(crate) fn hook_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("NETCONF_TOKEN".to_string(), self.token.clone()),
            (
                "NETCONF_SOCKET".to_string(),
                self.socket.to_string_lossy().into_owned(),
            ),
        ];
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// The long-running command line.
    pub fn args(&self) -> Vec<OsString> {
        match self.kind {
            ClientKind::Dhclient => dhclient::args(self, Action::Run),
            ClientKind::Dhcpcd => dhcpcd::args(self),
            ClientKind::Udhcpc => udhcpc::args(self),
            ClientKind::Dhcpcanon => dhcpcanon::args(self),
        }
    }

    /// What the stanza asks that this client cannot do, if anything: said
    /// before anything runs.
    pub fn unsupported(&self) -> Option<String> {
        if self.v6.is_some() && !self.kind.speaks_v6() {
            return Some(format!(
                "{} speaks only DHCPv4: choose dhclient or dhcpcd for inet6 ({})",
                self.kind, self.iface
            ));
        }
        let prefix = matches!(
            self.v6,
            Some(Mode6::PrefixDelegation | Mode6::AddressAndPrefix)
        );
        if prefix && self.kind == ClientKind::Dhcpcd {
            return Some(format!(
                "{}: request_prefix with dhcpcd is not supported by netconf yet: choose dhclient",
                self.iface
            ));
        }
        if self.anonymize && !matches!(self.kind, ClientKind::Dhcpcd | ClientKind::Dhcpcanon) {
            return Some(format!(
                "{}: `anonymize yes` asks for RFC 7844, which {} does not have (dhcpcd and dhcpcanon have)",
                self.iface, self.kind
            ));
        }
        None
    }

    /// Starts the long-running client, detached: its own session, stdin from
    /// /dev/null, output to its log file. The caller reaps the child.
    pub fn start(&self) -> io::Result<Child> {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.args())
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        match self.kind {
            ClientKind::Dhclient => dhclient::prepare(self)?,
            ClientKind::Dhcpcd => dhcpcd::prepare(self, &mut cmd)?,
            // udhcpc has no -e: its script gets udhcpc's own environment.
            ClientKind::Udhcpc => {
                udhcpc::prepare(self)?;
                cmd.envs(self.hook_env());
            }
            // dhcpcanon gives its script none of its environment: the hook
            // reads it from dhcpcanon's.
            ClientKind::Dhcpcanon => {
                dhcpcanon::prepare(self)?;
                cmd.envs(self.hook_env());
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: setsid is async-signal-safe and touches nothing of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn()
    }

    /// Whether the process of `proc_dir` (`/proc/PID`) is this client: run
    /// by root with this spec's token. Anyone can name a process after a
    /// client and put a token in its command line (command lines are
    /// public); what no one but root can make is a process whose real uid is
    /// 0 (a setuid program keeps its caller's) running the client's
    /// executable (the kernel's `exe` link, not `argv[0]`), or one holding a
    /// file of netconf's private directory open.
    fn is(&self, proc_dir: &Path) -> bool {
        match self.kind {
            ClientKind::Dhclient => dhclient::token_at(proc_dir).as_deref() == Some(&self.token),
            ClientKind::Dhcpcd => dhcpcd::is_ours(proc_dir, self),
            ClientKind::Udhcpc => udhcpc::token_at(proc_dir).as_deref() == Some(&self.token),
            ClientKind::Dhcpcanon => dhcpcanon::token_at(proc_dir).as_deref() == Some(&self.token),
        }
    }

    /// Whether process `pid` is this client.
    pub fn runs_as(&self, pid: u32) -> bool {
        self.is(Path::new(&format!("/proc/{pid}")))
    }

    /// This client's process in this network namespace, found by its token:
    /// one started just before the daemon stopped, whose pid was never
    /// recorded.
    pub fn find_pid(&self) -> Option<u32> {
        processes().find_map(|(pid, dir)| self.is(&dir).then_some(pid))
    }
}

/// The processes of this network namespace: pid and `/proc/PID`.
pub(crate) fn processes() -> impl Iterator<Item = (u32, PathBuf)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let dir = entry.path();
            netconf_kernel::netlink::shares_network_namespace(&dir).then_some((pid, dir))
        })
}

/// The real uid of the process of `proc_dir`.
pub(crate) fn real_uid(proc_dir: &Path) -> Option<u32> {
    status_number(proc_dir, "Uid:")
}

/// The parent of the process of `proc_dir`.
pub(crate) fn parent_of(proc_dir: &Path) -> Option<u32> {
    status_number(proc_dir, "PPid:")
}

/// The first number of the `/proc/PID/status` line starting with `field`.
fn status_number(proc_dir: &Path, field: &str) -> Option<u32> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The file name of the executable the process of `proc_dir` runs.
pub(crate) fn exe_name(proc_dir: &Path) -> Option<String> {
    let exe = std::fs::read_link(proc_dir.join("exe")).ok()?;
    // After an upgrade replaced the binary it still runs, as "... (deleted)".
    let exe = exe.to_string_lossy();
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
    Some(Path::new(exe).file_name()?.to_string_lossy().into_owned())
}

/// The `NUL`-separated words of `/proc/PID/cmdline` or `environ`.
pub(crate) fn words(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// The command line and environment of the process of `proc_dir`, if its
/// real uid is 0. The environment only root can read: a client that gets
/// its token there (udhcpc, dhcpcanon) cannot be imitated by another user.
pub(crate) fn root_process(proc_dir: &Path) -> Option<(Vec<String>, Vec<String>)> {
    if real_uid(proc_dir)? != 0 {
        return None;
    }
    let args = words(&std::fs::read(proc_dir.join("cmdline")).ok()?);
    let env = words(&std::fs::read(proc_dir.join("environ")).ok()?);
    Some((args, env))
}

/// `NETCONF_TOKEN` in an environment read by [`root_process`].
pub(crate) fn token_in(env: &[String]) -> Option<String> {
    env.iter()
        .find_map(|v| v.strip_prefix("NETCONF_TOKEN="))
        .map(str::to_string)
}

/// The interfaces a DHCP client runs on that netconf did not start, in this
/// network namespace: netconf leaves those interfaces to whoever runs them.
/// Only root's clients count: a user's process named `dhclient` must not
/// keep netconf off an interface.
pub fn foreign_interfaces(run_dir: &Path) -> BTreeSet<String> {
    let ours = dhcpcd::our_pid_files(run_dir);
    let mut found = BTreeSet::new();
    for (_, dir) in processes() {
        found.extend(dhclient::foreign_interfaces_at(&dir));
        found.extend(udhcpc::foreign_interfaces_at(&dir));
        found.extend(dhcpcd::foreign_interfaces_at(&dir, &ours));
        found.extend(dhcpcanon::foreign_interfaces_at(&dir));
    }
    found
}

/// A running client of ours, held by a pidfd: a signal sent through it
/// reaches that process, or none if it has exited, never another process
/// that took its PID since it was checked.
pub struct OwnClient(OwnedFd);

impl OwnClient {
    /// Process `pid`, if it is `spec`'s client. The pidfd is taken first, so
    /// the process checked is the one it holds (or, if that exited in
    /// between, the pidfd holds a dead one).
    pub fn find(pid: u32, spec: &DhcpClient) -> Option<OwnClient> {
        let pidfd = pidfd_open(pid).ok()?;
        spec.runs_as(pid).then_some(OwnClient(pidfd))
    }

    /// Process `pid`, already known to be a client of ours.
    pub(crate) fn pidfd_of(pid: u32) -> Option<OwnClient> {
        pidfd_open(pid).ok().map(OwnClient)
    }

    /// Sends `signal`.
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: pidfd_send_signal takes a valid fd, a signal number, no
        // siginfo and no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// SIGTERM: dhclient and dhcpcd exit without releasing their lease
    /// (dhcpcd runs STOP); udhcpc, run with `-R`, releases it first.
    pub fn terminate(&self) -> io::Result<()> {
        self.signal(libc::SIGTERM)
    }

    /// The pidfd, readable once the process has exited.
    pub fn into_pidfd(self) -> OwnedFd {
        self.0
    }

    /// A second pidfd of the process, to wait on while this one signals.
    pub fn watch(&self) -> io::Result<OwnedFd> {
        self.0.try_clone()
    }
}

/// A pidfd for `pid` (Linux 5.3): it stays bound to that process.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A fresh token: 16 random bytes in hex.
pub fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `path` can be run: the check `ifup` makes before anything runs,
/// so that a missing client is named with its package.
pub fn installed(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn spec(kind: ClientKind) -> DhcpClient {
        DhcpClient {
            kind,
            program: kind.program().into(),
            iface: "eth0".into(),
            v6: None,
            hook: "/usr/lib/netconf/netconf-dhcp-hook".into(),
            socket: "/run/netconf/ctl.sock".into(),
            token: "abc".into(),
            run_dir: "/run/netconf".into(),
            state_dir: "/var/lib/netconf".into(),
            extra_env: vec![("IF_METRIC".into(), "10".into())],
            hostname: Some("box \"1\"".into()),
            vendor: None,
            client: None,
            lease_seconds: Some(3600),
            anonymize: false,
        }
    }

    #[test]
    fn how_to_install() {
        assert_eq!(
            ClientKind::Dhcpcd.how_to_install(),
            "apt install dhcpcd-base"
        );
        assert!(ClientKind::Dhcpcanon.how_to_install().contains("PyPI"));
    }

    #[test]
    fn kinds_by_name() {
        for kind in ClientKind::DEBIAN_ORDER {
            assert_eq!(kind.name().parse::<ClientKind>(), Ok(kind));
        }
        assert_eq!("dhcpcanon".parse::<ClientKind>(), Ok(ClientKind::Dhcpcanon));
        let err = "pump".parse::<ClientKind>().unwrap_err();
        assert!(err.to_string().contains("pump"), "{err}");
    }

    #[test]
    fn what_a_client_cannot_do_is_said() {
        let mut s = spec(ClientKind::Udhcpc);
        assert_eq!(s.unsupported(), None);
        s.v6 = Some(Mode6::Stateful);
        assert!(s.unsupported().unwrap().contains("only DHCPv4"));
        s.kind = ClientKind::Dhcpcd;
        assert_eq!(s.unsupported(), None);
        s.v6 = Some(Mode6::PrefixDelegation);
        assert!(s.unsupported().unwrap().contains("request_prefix"));
        let mut s = spec(ClientKind::Dhclient);
        s.anonymize = true;
        assert!(s.unsupported().unwrap().contains("RFC 7844"));
        s.kind = ClientKind::Dhcpcd;
        assert_eq!(s.unsupported(), None);
    }

    #[test]
    fn files_are_named_for_the_client() {
        let s = spec(ClientKind::Udhcpc);
        assert_eq!(s.pid_file(), PathBuf::from("/run/netconf/udhcpc.eth0.pid"));
        assert_eq!(s.log_file(), PathBuf::from("/run/netconf/udhcpc.eth0.log"));
        let mut s = spec(ClientKind::Dhclient);
        s.v6 = Some(Mode6::Stateless);
        assert_eq!(
            s.pid_file(),
            PathBuf::from("/run/netconf/dhclient6.eth0.pid")
        );
    }

    #[test]
    fn tokens_are_fresh() {
        assert_eq!(new_token().unwrap().len(), 32);
        assert_ne!(new_token().unwrap(), new_token().unwrap());
    }
}
