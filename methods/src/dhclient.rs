//! ISC dhclient: Debian's command line with our hook as `-sf`, a config
//! file carrying the stanza's `hostname`, `vendor`, `client` and
//! `leasetime`, pid and lease files in netconf's own directories. The token
//! passed with `-e` identifies ours, in the hook's events and in
//! `/proc/PID/cmdline`. What dhclient gives its script is read into the
//! shared lease model by [`parse_event`].

pub mod leases;

use crate::dhcp::Mode6;
use crate::dhcp_client::{exe_name, real_uid, words, Action, DhcpClient};
use crate::lease::env::{lease4, lease6, missing, Env, Option121, Vars};
use crate::lease::{DhcpEvent, Lease, LeaseError, Reason};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where dhclient lives on Debian.
pub const DHCLIENT: &str = "/sbin/dhclient";

fn conf_file(spec: &DhcpClient) -> PathBuf {
    spec.run_file("conf")
}

/// Lease files, kept across reboots for REBOOT.
pub fn lease_file(spec: &DhcpClient) -> PathBuf {
    spec.state_dir
        .join(format!("dhclient{}.{}.leases", spec.suffix(), spec.iface))
}

/// Debian's default dhclient.conf, plus what the stanza asks to send.
pub fn config(spec: &DhcpClient) -> String {
    let mut conf = String::from(
        "# Written by netconfd for one dhclient; changes are lost.\n\
         option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n",
    );
    match &spec.hostname {
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
    if let Some(vendor) = &spec.vendor {
        conf.push_str(&format!(
            "send vendor-class-identifier \"{}\";\n",
            quote(vendor)
        ));
    }
    if let Some(client) = spec.client.as_deref().filter(|c| *c != "no") {
        conf.push_str(&format!(
            "send dhcp-client-identifier \"{}\";\n",
            quote(client)
        ));
    }
    if let Some(seconds) = spec.lease_seconds {
        conf.push_str(&format!("send dhcp-lease-time {seconds};\n"));
    }
    conf
}

/// The command line, Debian's (`-4 -v -i -pf ... -lf ... IFACE`) with our
/// hook, config and `-e` variables; the long-running one in the foreground
/// (`-d`) so that its exit is ours to see.
pub fn args(spec: &DhcpClient, action: Action) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &str| args.push(a.into());
    match spec.v6 {
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
    if spec.v6.is_none() && spec.client.as_deref() != Some("no") {
        push("-i");
    }
    for (flag, path) in [
        ("-pf", spec.pid_file()),
        ("-lf", lease_file(spec)),
        ("-cf", conf_file(spec)),
        ("-sf", spec.hook.clone()),
    ] {
        args.push(flag.into());
        args.push(path.into_os_string());
    }
    for (name, value) in spec.hook_env() {
        args.push("-e".into());
        args.push(format!("{name}={value}").into());
    }
    args.push(spec.iface.clone().into());
    args
}

/// `dhclient -r` or `-x` for the dhclient `spec` runs.
pub fn command(spec: &DhcpClient, action: Action) -> Command {
    let mut cmd = Command::new(&spec.program);
    cmd.args(args(spec, action))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    cmd
}

/// Before the start: its config file, and no stale pid file (dhclient kills
/// whatever process its pid file names when it starts).
pub(crate) fn prepare(spec: &DhcpClient) -> io::Result<()> {
    std::fs::write(conf_file(spec), config(spec))?;
    match std::fs::remove_file(spec.pid_file()) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Turns the hook's environment (dhclient's order, as the hook got it) into
/// an event. Never panics: a missing or malformed variable is a
/// [`LeaseError`] naming it and its value. A reason that hands over a lease
/// (BOUND, RENEW, REBIND, REBOOT, TIMEOUT) must come with `new_ip_address`;
/// BOUND6 and REBIND6 with `new_ip6_address` or `new_ip6_prefix`; DEPREF6
/// with `cur_ip6_address`.
pub fn parse_event(env: &[(String, String)]) -> Result<DhcpEvent, LeaseError> {
    let env = Env(env);
    let reason: Reason = env
        .get("reason")
        .ok_or_else(|| missing("reason", "dhclient sets it for every call"))?
        .parse()?;
    let interface = env.interface("dhclient")?;
    let pid = Vars::new(&env, "").number::<u32>("pid", "a process id")?;

    let (new, old, cur) = if reason.is_v6() {
        (
            lease6(&env, "new_")?.map(Lease::V6),
            lease6(&env, "old_")?.map(Lease::V6),
            lease6(&env, "cur_")?.map(Lease::V6),
        )
    } else {
        (
            lease4(&env, "new_", Option121::Octets)?.map(Lease::V4),
            lease4(&env, "old_", Option121::Octets)?.map(Lease::V4),
            None,
        )
    };

    match reason {
        r if r.brings_lease() && !r.is_v6() && new.is_none() => {
            return Err(missing(
                "new_ip_address",
                &format!("{r} hands over a lease, and a lease has an address"),
            ));
        }
        Reason::Bound6 | Reason::Rebind6 => {
            let has_address = new
                .as_ref()
                .and_then(Lease::as_v6)
                .is_some_and(|l| l.address.is_some() || l.prefix.is_some());
            if !has_address {
                return Err(missing(
                    "new_ip6_address",
                    &format!("{reason} hands over a lease: an address or a delegated prefix"),
                ));
            }
        }
        Reason::Depref6 => {
            let has_address = cur
                .as_ref()
                .and_then(Lease::as_v6)
                .is_some_and(|l| l.address.is_some());
            if !has_address {
                return Err(missing(
                    "cur_ip6_address",
                    "DEPREF6 deprecates the current lease's address",
                ));
            }
        }
        _ => {}
    }

    let extra = env.others(is_dhclients);
    Ok(DhcpEvent {
        reason,
        interface: interface.to_string(),
        pid,
        new,
        old,
        cur,
        extra,
    })
}

/// Variables dhclient sets itself; everything else came with `-e`.
fn is_dhclients(name: &str) -> bool {
    matches!(
        name,
        "reason" | "interface" | "pid" | "dad_wait_time" | "PATH" | "medium"
    ) || ["new_", "old_", "cur_", "requested_", "alias_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The client identifier (option 61) dhclient sends for `spec` on the
/// interface of hardware address `mac`, as a server keys its lease by it:
/// `Some(None)` when it sends none (`client no`), the stanza's `client`
/// as it is, or with `-i` RFC 4361's 0xff, the IAID (the last four bytes
/// of the hardware address) and the DUID dhclient keeps in its lease file
/// (`default-duid`). `None` when that cannot be known (no lease file yet).
pub fn client_identifier(spec: &DhcpClient, mac: [u8; 6]) -> Option<Option<Vec<u8>>> {
    match spec.client.as_deref() {
        Some("no") => Some(None),
        Some(value) => Some(Some(value.as_bytes().to_vec())),
        None => {
            let text = std::fs::read_to_string(lease_file(spec)).ok()?;
            let duid = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("default-duid "))
                .filter_map(|v| unquote_octal(v.trim_end_matches(';').trim()))
                .next_back()?;
            let mut id = vec![0xff];
            id.extend_from_slice(&mac[2..]);
            id.extend_from_slice(&duid);
            Some(Some(id))
        }
    }
}

/// Forgets the leases in `spec`'s lease file, keeping its DUID: after
/// netconfd released a lease for a dhclient it stopped, the next dhclient
/// must not ask for it again (INIT-REBOOT, which a server that no longer
/// has it ignores, costing seconds before DISCOVER), as `dhclient -r`
/// itself would have recorded.
pub fn forget_leases(spec: &DhcpClient) -> io::Result<()> {
    let path = lease_file(spec);
    let text = match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    let kept: String = text
        .lines()
        .filter(|l| l.trim_start().starts_with("default-duid "))
        .map(|l| format!("{l}\n"))
        .collect();
    let tmp = path.with_extension("leases.tmp");
    std::fs::write(&tmp, kept)?;
    std::fs::rename(&tmp, &path)
}

/// A dhclient string as it writes them to its lease file: double-quoted,
/// bytes outside printable ASCII as `\NNN` octal, `\"` and `\\` escaped.
fn unquote_octal(quoted: &str) -> Option<Vec<u8>> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let octal = inner
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|d| (b'0'..=b'7').contains(d)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(value).ok()?);
            i += 4;
        } else {
            out.push(*inner.get(i + 1)?);
            i += 2;
        }
    }
    Some(out)
}

/// dhclient.conf strings: backslash and double quote escaped.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The token of the process of `proc_dir` (`/proc/PID`), if it is a
/// dhclient root runs and netconf started (`-e NETCONF_TOKEN=...` in its
/// command line).
pub(crate) fn token_at(proc_dir: &Path) -> Option<String> {
    token_in(&root_dhclient_cmdline(proc_dir)?)
}

/// The interfaces of the process of `proc_dir` if it is a dhclient root
/// runs that netconf did not start.
pub(crate) fn foreign_interfaces_at(proc_dir: &Path) -> Vec<String> {
    match root_dhclient_cmdline(proc_dir) {
        Some(cmdline) if token_in(&cmdline).is_none() => dhclient_interfaces(&cmdline),
        _ => Vec::new(),
    }
}

/// The command that takes down what Debian's ifupdown brought up with the
/// dhclient it runs on `iface`, if one runs in this namespace: ifupdown
/// 0.8.41's `inet dhcp` `down`, which is its `up` command line with `-r`
/// (release the lease, stop that dhclient; its script, dhclient-script,
/// takes the address and routes away). ifupdown's dhclient is a root
/// dhclient without netconf's token whose pid file is named as ifupdown
/// names it, `dhclient.IFACE.pid` (in /run); another foreign DHCP client is
/// not netconf's to stop. Shell words, for `/bin/sh -c`.
pub fn ifupdown_release_command(iface: &str) -> Option<String> {
    crate::dhcp_client::processes().find_map(|(_, dir)| ifupdown_release_at(&dir, iface))
}

pub(crate) fn ifupdown_release_at(proc_dir: &Path, iface: &str) -> Option<String> {
    let cmdline = root_dhclient_cmdline(proc_dir)?;
    ifupdown_release_of(&cmdline, iface)
}

fn ifupdown_release_of(cmdline: &[u8], iface: &str) -> Option<String> {
    if token_in(cmdline).is_some() || dhclient_interfaces(cmdline) != [iface] {
        return None;
    }
    let args = words(cmdline);
    let pid_file = args
        .windows(2)
        .find_map(|w| (w[0] == "-pf").then_some(w[1].as_str()))?;
    if Path::new(pid_file).file_name()? != format!("dhclient.{iface}.pid").as_str() {
        return None;
    }
    // Debian's dhclient, not what the process calls itself; its arguments
    // are a root process's, quoted for the shell.
    let mut words = vec![DHCLIENT.to_string(), "-r".to_string()];
    words.extend(args.iter().skip(1).filter(|w| *w != "-r").cloned());
    Some(
        words
            .iter()
            .map(|w| shell_word(w))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `word` quoted for `/bin/sh` (as is when it needs no quoting).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command line of the process of `proc_dir`, if it is a dhclient that
/// root runs: real uid 0, the dhclient executable.
fn root_dhclient_cmdline(proc_dir: &Path) -> Option<Vec<u8>> {
    if real_uid(proc_dir)? != 0 || exe_name(proc_dir)? != "dhclient" {
        return None;
    }
    std::fs::read(proc_dir.join("cmdline")).ok()
}

fn is_dhclient_argv0(args: &[String]) -> bool {
    args.first()
        .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "dhclient"))
}

fn token_in(cmdline: &[u8]) -> Option<String> {
    let args = words(cmdline);
    if !is_dhclient_argv0(&args) {
        return None;
    }
    args.windows(2).find_map(|w| {
        (w[0] == "-e")
            .then(|| w[1].strip_prefix("NETCONF_TOKEN="))
            .flatten()
            .map(str::to_string)
    })
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
        // the DUID's lease file (ifupdown passes it)
        "-df",
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
    let args = words(cmdline);
    if !is_dhclient_argv0(&args) {
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

    fn cmdline(words: &[&str]) -> Vec<u8> {
        words
            .iter()
            .flat_map(|w| [w.as_bytes(), b"\0"].concat())
            .collect()
    }

    /// ifupdown 0.8.41's `ifup eth0` of an `inet dhcp` stanza runs this
    /// dhclient; its `ifdown` the same line with `-r`.
    #[test]
    fn ifupdown_dhclient_is_released_with_its_own_command_line() {
        let up = [
            "dhclient",
            "-4",
            "-v",
            "-i",
            "-pf",
            "/run/dhclient.eth0.pid",
            "-lf",
            "/var/lib/dhcp/dhclient.eth0.leases",
            "-I",
            "-df",
            "/var/lib/dhcp/dhclient6.eth0.leases",
            "eth0",
            "-e",
            "IF_METRIC=50",
        ];
        assert_eq!(
            ifupdown_release_of(&cmdline(&up), "eth0").as_deref(),
            Some(
                "/sbin/dhclient -r -4 -v -i -pf /run/dhclient.eth0.pid -lf \
                 /var/lib/dhcp/dhclient.eth0.leases -I -df /var/lib/dhcp/dhclient6.eth0.leases \
                 eth0 -e IF_METRIC=50"
            )
        );
        assert_eq!(ifupdown_release_of(&cmdline(&up), "eth1"), None);
        // netconf's own (a token), or another's pid file: not ifupdown's.
        let mut ours = up.to_vec();
        ours.extend(["-e", "NETCONF_TOKEN=abc"]);
        assert_eq!(ifupdown_release_of(&cmdline(&ours), "eth0"), None);
        let mut other = up.to_vec();
        other[5] = "/run/dhclient-eth0.pid";
        assert_eq!(ifupdown_release_of(&cmdline(&other), "eth0"), None);
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
    use crate::dhcp_client::{ClientKind, OwnClient};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Stdio};

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
            assert!(OwnClient::find(user.id(), &client()).is_none());
        }
        if root {
            assert_eq!(token_at(&proc_dir(&ours)).as_deref(), Some("abc"));
            let mut other = client();
            other.token = "abd".into();
            assert!(OwnClient::find(ours.id(), &other).is_none());
            let found = OwnClient::find(ours.id(), &client()).expect("our dhclient");
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

    fn client() -> DhcpClient {
        crate::dhcp_client::tests::spec(ClientKind::Dhclient)
    }

    #[test]
    fn command_lines() {
        let c = client();
        let line: Vec<String> = args(&c, Action::Run)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line.join(" "),
            "-4 -v -d -i -pf /run/netconf/dhclient.eth0.pid -lf /var/lib/netconf/dhclient.eth0.leases \
             -cf /run/netconf/dhclient.eth0.conf -sf /usr/lib/netconf/netconf-dhcp-hook \
             -e NETCONF_TOKEN=abc -e NETCONF_SOCKET=/run/netconf/ctl.sock -e IF_METRIC=10 eth0"
        );
        let mut v6 = client();
        v6.v6 = Some(Mode6::Stateless);
        let line: Vec<String> = args(&v6, Action::Release)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&line[..4], ["-6", "-S", "-v", "-r"]);
        assert!(line.contains(&"/run/netconf/dhclient6.eth0.pid".to_string()));
        let mut no_client = client();
        no_client.client = Some("no".into());
        assert!(!args(&no_client, Action::Run).contains(&OsString::from("-i")));
    }

    #[test]
    fn client_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = client();
        c.state_dir = dir.path().into();
        let mac = [0xc6, 0x68, 0xc9, 0xa3, 0x5a, 0x03];
        assert_eq!(client_identifier(&c, mac), None, "no lease file yet");
        std::fs::write(
            lease_file(&c),
            "default-duid \"\\000\\001\\000\\0012\\250\\313\\254\\306h\\311\\243Z\\003\";\n",
        )
        .unwrap();
        // As dnsmasq recorded it for that dhclient -i.
        let want = "ff:c9:a3:5a:03:00:01:00:01:32:a8:cb:ac:c6:68:c9:a3:5a:03";
        let got = client_identifier(&c, mac).unwrap().unwrap();
        let hex: Vec<String> = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.join(":"), want);
        c.client = Some("no".into());
        assert_eq!(client_identifier(&c, mac), Some(None));
        c.client = Some("id".into());
        assert_eq!(client_identifier(&c, mac), Some(Some(b"id".to_vec())));
        assert_eq!(unquote_octal("\"a\\\"b\\\\\""), Some(b"a\"b\\".to_vec()));
        assert_eq!(unquote_octal("\"\\9\""), Some(b"9".to_vec()));
        assert_eq!(unquote_octal("no quotes"), None);
        std::fs::write(
            lease_file(&c),
            "default-duid \"\\000\";\nlease {\n  interface \"eth0\";\n}\n",
        )
        .unwrap();
        forget_leases(&c).unwrap();
        assert_eq!(
            std::fs::read_to_string(lease_file(&c)).unwrap(),
            "default-duid \"\\000\";\n"
        );
        assert_eq!(unquote_octal("\"\\777\""), None);
    }

    #[test]
    fn config_sends_what_the_stanza_says() {
        let conf = config(&client());
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
    }
}
