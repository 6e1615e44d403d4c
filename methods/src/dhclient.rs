//! ISC dhclient, the DHCP client netconf runs: Debian's command line with
//! our hook as `-sf`, a config file carrying the stanza's `hostname`,
//! `vendor`, `client` and `leasetime`, pid and lease files in netconf's own
//! directories, and a start that detaches it (own session, no pipes) so it
//! outlives a restart of the daemon. A per-process token passed with `-e`
//! identifies ours, in the hook's events and in `/proc/PID/cmdline`. What
//! dhclient gives its script is read into the shared lease model by
//! [`parse_event`].

mod env;
pub mod leases;

pub use env::parse_event;

use crate::dhcp::Mode6;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where dhclient lives on Debian.
pub const DHCLIENT: &str = "/sbin/dhclient";

/// One dhclient: for which interface, how, and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhclient {
    pub iface: String,
    /// `None` for DHCPv4.
    pub v6: Option<Mode6>,
    /// The `-sf` hook (`netconf-dhcp-hook`).
    pub hook: PathBuf,
    /// The daemon's control socket, for the hook (dhclient passes it no
    /// environment of its own, only `-e` variables).
    pub socket: PathBuf,
    pub token: String,
    /// Pid and config files (`/run/netconf`).
    pub run_dir: PathBuf,
    /// Lease files (`/var/lib/netconf`), kept across reboots for REBOOT.
    pub state_dir: PathBuf,
    /// Extra `-e` variables for the hook, such as `IF_METRIC`.
    pub extra_env: Vec<(String, String)>,
    pub hostname: Option<String>,
    pub vendor: Option<String>,
    /// `client no` turns dhclient's DUID-based client identifier (`-i`) off;
    /// any other value is sent as the client identifier.
    pub client: Option<String>,
    pub lease_seconds: Option<u32>,
    /// The dhclient binary (tests point it elsewhere).
    pub program: PathBuf,
}

/// What a dhclient invocation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run in the foreground, renewing for as long as it lives.
    Run,
    /// `-r`: send a RELEASE, stop the running one, run the hook (RELEASE).
    Release,
    /// `-x`: stop the running one without a release (hook: STOP).
    Stop,
}

impl Dhclient {
    /// Which dhclient this is: the interface, and whether it speaks DHCPv6.
    pub fn key(&self) -> (String, bool) {
        (self.iface.clone(), self.v6.is_some())
    }

    fn suffix(&self) -> &'static str {
        if self.v6.is_some() {
            "6"
        } else {
            ""
        }
    }

    pub fn pid_file(&self) -> PathBuf {
        self.run_dir
            .join(format!("dhclient{}.{}.pid", self.suffix(), self.iface))
    }

    pub fn lease_file(&self) -> PathBuf {
        self.state_dir
            .join(format!("dhclient{}.{}.leases", self.suffix(), self.iface))
    }

    pub fn conf_file(&self) -> PathBuf {
        self.run_dir
            .join(format!("dhclient{}.{}.conf", self.suffix(), self.iface))
    }

    /// dhclient's own messages (its stderr), for the admin: a file, never a
    /// pipe a dhclient could die on when the daemon goes away.
    pub fn log_file(&self) -> PathBuf {
        self.run_dir
            .join(format!("dhclient{}.{}.log", self.suffix(), self.iface))
    }

    /// Debian's default dhclient.conf, plus what the stanza asks to send.
    pub fn config(&self) -> String {
        let mut conf = String::from(
            "# Written by netconfd for one dhclient; changes are lost.\n\
             option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n",
        );
        match &self.hostname {
            Some(name) => conf.push_str(&format!("send host-name \"{}\";\n", quote(name))),
            None => conf.push_str("send host-name = gethostname();\n"),
        }
        conf.push_str(
            "request subnet-mask, broadcast-address, time-offset, routers,\n\
             \tdomain-name, domain-name-servers, domain-search, host-name,\n\
             \tdhcp6.name-servers, dhcp6.domain-search, dhcp6.fqdn, dhcp6.sntp-servers,\n\
             \tnetbios-name-servers, netbios-scope, interface-mtu,\n\
             \trfc3442-classless-static-routes, ntp-servers;\n",
        );
        if let Some(vendor) = &self.vendor {
            conf.push_str(&format!(
                "send vendor-class-identifier \"{}\";\n",
                quote(vendor)
            ));
        }
        if let Some(client) = self.client.as_deref().filter(|c| *c != "no") {
            conf.push_str(&format!(
                "send dhcp-client-identifier \"{}\";\n",
                quote(client)
            ));
        }
        if let Some(seconds) = self.lease_seconds {
            conf.push_str(&format!("send dhcp-lease-time {seconds};\n"));
        }
        conf
    }

    /// The command line, Debian's (`-4 -v -i -pf ... -lf ... IFACE`) with our
    /// hook, config and `-e` variables, in the foreground (`-d`) so that its
    /// exit is ours to see.
    pub fn args(&self, action: Action) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &str| args.push(a.into());
        match self.v6 {
            None => push("-4"),
            Some(mode) => {
                push("-6");
                match mode {
                    Mode6::Stateful => {}
                    Mode6::Stateless => push("-S"),
                    Mode6::PrefixDelegation => push("-P"),
                    Mode6::AddressAndPrefix => {
                        push("-P");
                        push("-N");
                    }
                }
            }
        }
        push("-v");
        match action {
            Action::Run => push("-d"),
            Action::Release => push("-r"),
            Action::Stop => push("-x"),
        }
        if self.v6.is_none() && self.client.as_deref() != Some("no") {
            push("-i");
        }
        let mut args: Vec<OsString> = args;
        for (flag, path) in [
            ("-pf", self.pid_file()),
            ("-lf", self.lease_file()),
            ("-cf", self.conf_file()),
            ("-sf", self.hook.clone()),
        ] {
            args.push(flag.into());
            args.push(path.into_os_string());
        }
        let mut env = vec![
            ("NETCONF_TOKEN".to_string(), self.token.clone()),
            (
                "NETCONF_SOCKET".to_string(),
                self.socket.to_string_lossy().into_owned(),
            ),
        ];
        env.extend(self.extra_env.iter().cloned());
        for (name, value) in env {
            args.push("-e".into());
            args.push(format!("{name}={value}").into());
        }
        args.push(self.iface.clone().into());
        args
    }

    pub fn command(&self, action: Action) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.args(action))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }

    /// Starts the long-running dhclient, detached: its own session, stdin
    /// from /dev/null, output to its log file. The caller reaps the child.
    pub fn start(&self) -> io::Result<Child> {
        std::fs::write(self.conf_file(), self.config())?;
        // dhclient kills whatever process its pid file names when it starts:
        // never let it find a stale one.
        match std::fs::remove_file(self.pid_file()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let mut cmd = self.command(Action::Run);
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
}

/// dhclient.conf strings: backslash and double quote escaped.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A fresh token: 16 random bytes in hex.
pub fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token a running process was given (`-e NETCONF_TOKEN=...` in its
/// command line), if it is a dhclient of ours: see [`root_dhclient_cmdline`].
pub fn token_of(pid: u32) -> Option<String> {
    token_in(&root_dhclient_cmdline(Path::new(&format!("/proc/{pid}")))?)
}

/// The command line of the process of `proc_dir` (`/proc/PID`), if it is a
/// dhclient that root runs. Anyone can name a process `dhclient` and give it
/// our token (command lines are public): what no one but root can make is a
/// process whose real uid is 0 (a setuid program keeps its caller's) running
/// the dhclient executable (the kernel's `exe` link, not `argv[0]`).
fn root_dhclient_cmdline(proc_dir: &Path) -> Option<Vec<u8>> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    let real_uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?;
    if real_uid != "0" {
        return None;
    }
    let exe = std::fs::read_link(proc_dir.join("exe")).ok()?;
    // After an upgrade replaced the binary it still runs, as "... (deleted)".
    let exe = exe.to_string_lossy();
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
    if Path::new(exe).file_name()? != "dhclient" {
        return None;
    }
    std::fs::read(proc_dir.join("cmdline")).ok()
}

/// A running dhclient of ours, held by a pidfd: a signal sent through it
/// reaches that process, or none if it has exited, never another process
/// that took its PID since it was checked.
pub struct OwnDhclient(OwnedFd);

impl OwnDhclient {
    /// Process `pid`, if it is root's dhclient carrying `token`. The pidfd
    /// is taken first, so the process checked is the one it holds (or, if
    /// that exited in between, the pidfd holds a dead one).
    pub fn find(pid: u32, token: &str) -> Option<OwnDhclient> {
        let pidfd = pidfd_open(pid).ok()?;
        (token_of(pid)? == token).then_some(OwnDhclient(pidfd))
    }

    /// SIGTERM: dhclient exits without releasing its lease.
    pub fn terminate(&self) -> io::Result<()> {
        // SAFETY: pidfd_send_signal takes a valid fd, a signal number, no
        // siginfo and no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGTERM,
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

fn token_in(cmdline: &[u8]) -> Option<String> {
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let is_dhclient = args.first().is_some_and(|a| {
        Path::new(&*String::from_utf8_lossy(a))
            .file_name()
            .is_some_and(|n| n == "dhclient")
    });
    if !is_dhclient {
        return None;
    }
    args.windows(2).find_map(|w| {
        (w[0] == b"-e")
            .then(|| w[1].strip_prefix(b"NETCONF_TOKEN="))
            .flatten()
            .map(|t| String::from_utf8_lossy(t).into_owned())
    })
}

/// The dhclient of ours that carries `token`, in this network namespace:
/// one started just before the daemon stopped, whose pid was never
/// recorded.
pub fn pid_with_token(token: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let dir = entry.path();
            if !netconf_kernel::netlink::shares_network_namespace(&dir) {
                return None;
            }
            (token_in(&root_dhclient_cmdline(&dir)?)? == token).then_some(pid)
        })
}

/// The interfaces a dhclient runs on that netconf did not start (no token
/// of ours in its command line), in this network namespace: netconf leaves
/// those interfaces to whoever runs them. Only root's dhclients count
/// ([`root_dhclient_cmdline`]): a user's process named `dhclient` must not
/// keep netconf off an interface.
pub fn foreign_interfaces() -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let pid = entry.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let dir = entry.path();
        if !netconf_kernel::netlink::shares_network_namespace(&dir) {
            continue;
        }
        let Some(cmdline) = root_dhclient_cmdline(&dir) else {
            continue;
        };
        if token_in(&cmdline).is_none() {
            found.extend(dhclient_interfaces(&cmdline));
        }
    }
    found
}

/// The interfaces named on a dhclient command line (none if it is not
/// dhclient's): the words that are neither options nor their values.
fn dhclient_interfaces(cmdline: &[u8]) -> Vec<String> {
    const WITH_VALUE: &[&str] = &[
        "-p",
        "-s",
        "-g",
        "-pf",
        "-lf",
        "-cf",
        "-sf",
        "-e",
        "-D",
        "-H",
        "-F",
        "-V",
        "-C",
        "--timeout",
        "--decline-wait-time",
        "--dad-wait-time",
        "--prefix-len-hint",
        "--address-prefix-len",
        "--local-address",
    ];
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let is_dhclient = args
        .first()
        .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "dhclient"));
    if !is_dhclient {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        if WITH_VALUE.contains(&word.as_str()) {
            words.next();
        } else if !word.starts_with('-') {
            names.push(word.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that runs an executable named `dhclient` (a copy of `sh`
    /// waiting on its standard input, given our token) counts only when its
    /// real uid is 0; a process that only calls itself `dhclient` never does.
    #[test]
    fn only_roots_dhclient_executables_count() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let exe = dir.path().join("dhclient");
        std::fs::copy("/bin/sh", &exe).unwrap();
        let start = |program: &Path, argv0: &str, uid: Option<u32>| {
            let mut c = Command::new(program);
            c.arg0(argv0)
                .args(["-c", "read line", "-e", "NETCONF_TOKEN=abc"])
                .stdin(Stdio::piped());
            if let Some(uid) = uid {
                c.uid(uid);
            }
            c.spawn().unwrap()
        };
        let proc_dir = |c: &Child| PathBuf::from(format!("/proc/{}", c.id()));
        // SAFETY: getuid has no preconditions.
        let root = unsafe { libc::getuid() } == 0;

        let mut named = start(Path::new("/bin/sh"), "dhclient", None);
        assert_eq!(root_dhclient_cmdline(&proc_dir(&named)), None);
        let mut ours = start(&exe, "dhclient", None);
        assert_eq!(root_dhclient_cmdline(&proc_dir(&ours)).is_some(), root);
        let mut others = root.then(|| start(&exe, "dhclient", Some(65534)));
        if let Some(user) = &others {
            assert_eq!(root_dhclient_cmdline(&proc_dir(user)), None);
            assert!(OwnDhclient::find(user.id(), "abc").is_none());
        }
        if root {
            assert_eq!(token_of(ours.id()).as_deref(), Some("abc"));
            assert!(OwnDhclient::find(ours.id(), "abd").is_none());
            let found = OwnDhclient::find(ours.id(), "abc").expect("our dhclient");
            found.terminate().unwrap();
            let status = ours.wait().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(libc::SIGTERM)
            );
            // Exited and reaped: the pidfd signals no one.
            assert!(found.terminate().is_err());
        }
        for c in [Some(&mut named), Some(&mut ours), others.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    #[test]
    fn interfaces_of_a_dhclient_command_line() {
        let args = [
            "/sbin/dhclient",
            "-4",
            "-v",
            "-i",
            "-pf",
            "/run/dhclient.eth0.pid",
            "-lf",
            "/var/lib/dhcp/dhclient.eth0.leases",
            "eth0",
        ]
        .join("\0");
        assert_eq!(
            dhclient_interfaces(args.as_bytes()),
            vec!["eth0".to_string()]
        );
        assert!(dhclient_interfaces(b"/bin/sh\0eth0").is_empty());
    }

    fn client() -> Dhclient {
        Dhclient {
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
            program: DHCLIENT.into(),
        }
    }

    #[test]
    fn command_lines() {
        let c = client();
        let args: Vec<String> = c
            .args(Action::Run)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-4 -v -d -i -pf /run/netconf/dhclient.eth0.pid -lf /var/lib/netconf/dhclient.eth0.leases \
             -cf /run/netconf/dhclient.eth0.conf -sf /usr/lib/netconf/netconf-dhcp-hook \
             -e NETCONF_TOKEN=abc -e NETCONF_SOCKET=/run/netconf/ctl.sock -e IF_METRIC=10 eth0"
        );
        let mut v6 = client();
        v6.v6 = Some(Mode6::Stateless);
        let args: Vec<String> = v6
            .args(Action::Release)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&args[..4], ["-6", "-S", "-v", "-r"]);
        assert!(args.contains(&"/run/netconf/dhclient6.eth0.pid".to_string()));
        let mut no_client = client();
        no_client.client = Some("no".into());
        assert!(!no_client.args(Action::Run).contains(&OsString::from("-i")));
    }

    #[test]
    fn config_sends_what_the_stanza_says() {
        let conf = client().config();
        assert!(conf.contains("send host-name \"box \\\"1\\\"\";"), "{conf}");
        assert!(conf.contains("send dhcp-lease-time 3600;"));
        assert!(conf.contains("rfc3442-classless-static-routes code 121"));
    }

    #[test]
    fn tokens_in_command_lines() {
        let ours = b"/sbin/dhclient\0-4\0-e\0NETCONF_TOKEN=f00d\0eth0\0";
        assert_eq!(token_in(ours).as_deref(), Some("f00d"));
        assert_eq!(token_in(b"/sbin/dhclient\0-4\0eth0\0"), None);
        assert_eq!(token_in(b"/bin/sleep\0-e\0NETCONF_TOKEN=f00d\0"), None);
        assert_eq!(new_token().unwrap().len(), 32);
    }
}
