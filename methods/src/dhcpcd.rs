//! dhcpcd (Debian's `dhcpcd-base`), one per interface and family, with our
//! hook as its script (`-c`) and `--noconfigure`: netconf makes every kernel
//! write from the events, dhcpcd only speaks DHCP. Its environment is
//! dhclient's `new_*`/`old_*` names with a few of its own (`subnet_cidr`,
//! option 121 as `DEST/WIDTH ROUTER` pairs, `dhcp6_ia_na1_*`), read by
//! [`parse_event`]; the fixtures' README (`tests/fixtures/dhcpcd-env/`)
//! records what it sends and when.
//!
//! dhcpcd's directories are compiled in (`/run/dhcpcd` for pid files and
//! control sockets, `/var/lib/dhcpcd` for leases and the DUID): each of ours
//! runs in its own mount namespace where netconf's directories are mounted
//! over those, so that it never meets a dhcpcd of the system's (which would
//! take over its command line through the control socket) and its files
//! stay with netconf's. It is stopped by signals through a pidfd (TERM
//! stops, ALRM releases), never with `dhcpcd -x`/`-k`, which would have to
//! find its pid file in that namespace.

use crate::dhcp::Mode6;
use crate::dhcp_client::{exe_name, parent_of, real_uid, words, DhcpClient};
use crate::lease::env::{lease4, missing, Env, Option121, Vars, SECONDS};
use crate::lease::{DhcpEvent, Lease, Lease6, LeaseError, Reason};
use std::collections::HashSet;
use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where dhcpcd lives on Debian.
pub const DHCPCD: &str = "/usr/sbin/dhcpcd";

/// dhcpcd's compiled-in run directory, and where its leases go.
const RUN: &str = "/run/dhcpcd";
const DB: &str = "/var/lib/dhcpcd";

/// The run directory of one dhcpcd: `RUN_DIR/dhcpcd/TOKEN` (the parent is
/// root's alone, so that no one else can open the pid file that proves a
/// process is ours).
fn private_dir(spec: &DhcpClient) -> PathBuf {
    spec.run_dir.join("dhcpcd").join(&spec.token)
}

/// The pid file dhcpcd writes (and keeps open) in its run directory.
pub(crate) fn pid_file(spec: &DhcpClient) -> PathBuf {
    let family = if spec.v6.is_some() { 6 } else { 4 };
    private_dir(spec).join(format!("{}-{family}.pid", spec.iface))
}

/// Debian's `/etc/dhcpcd.conf`, less what netconf does itself, plus what
/// the stanza asks to send.
pub fn config(spec: &DhcpClient) -> String {
    let mut conf = String::from(
        "# Written by netconfd for one dhcpcd; changes are lost.\n\
         duid\n\
         option domain_name_servers, domain_name, domain_search\n\
         option dhcp6_name_servers, dhcp6_domain_search\n\
         option classless_static_routes\n\
         option interface_mtu\n\
         option host_name\n\
         option rapid_commit\n\
         require dhcp_server_identifier\n\
         # No random wait before the first DISCOVER, no ARP probe of the\n\
         # address (Debian's ifupdown with dhcpcd waits 5 s for it), no\n\
         # IPv4 link-local fallback.\n\
         nodelay\n\
         noarp\n\
         noipv4ll\n",
    );
    match &spec.hostname {
        Some(name) => conf.push_str(&format!("hostname {}\n", quote(name))),
        None => conf.push_str("hostname\n"),
    }
    match &spec.vendor {
        Some(vendor) => conf.push_str(&format!("vendorclassid {}\n", quote(vendor))),
        None => conf.push_str("vendorclassid\n"),
    }
    if let Some(client) = spec.client.as_deref().filter(|c| *c != "no") {
        conf.push_str(&format!("clientid {}\n", quote(client)));
    }
    if let Some(seconds) = spec.lease_seconds {
        conf.push_str(&format!("leasetime {seconds}\n"));
    }
    match spec.v6 {
        // DHCPv6 at once, without router solicitations of dhcpcd's own:
        // with them it would take the router advertisements from the
        // kernel (accept_ra 0, addrgenmode none) and, told not to
        // configure anything, leave the link without SLAAC and routes.
        Some(Mode6::Stateful) => conf.push_str("noipv6rs\nia_na\n"),
        Some(_) => conf.push_str("noipv6rs\n"),
        None => {}
    }
    // `anonymous` masks the options named before it (the fixtures'
    // README, v4-anon): the lease time is asked for again after it, so that
    // the address still goes into the kernel with the lease's lifetime.
    if spec.anonymize {
        conf.push_str("anonymous\noption dhcp_lease_time\n");
    }
    conf
}

/// dhcpcd.conf quoting: a double-quoted string with `\` and `"` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn conf_file(spec: &DhcpClient) -> PathBuf {
    spec.run_file("conf")
}

/// `dhcpcd -f CONF -4 -B --noconfigure -c HOOK -e … IFACE`: in the
/// foreground (`-B`; without it dhcpcd waits for an address it will never
/// add itself and gives up), one family, one interface.
pub fn args(spec: &DhcpClient) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-f".into(), conf_file(spec).into()];
    args.push(if spec.v6.is_some() { "-6" } else { "-4" }.into());
    args.extend(["-B".into(), "--noconfigure".into()]);
    if spec.v6 == Some(Mode6::Stateless) {
        // Options only: what dhcpcd would do on an RA's O flag.
        args.push("--inform6".into());
    }
    args.extend(["-c".into(), spec.hook.clone().into()]);
    for (name, value) in spec.hook_env() {
        args.push("-e".into());
        args.push(format!("{name}={value}").into());
    }
    args.push(spec.iface.clone().into());
    args
}

/// Before the start: the config file and the directories, and the
/// command's own mount namespace with them mounted over dhcpcd's.
pub(crate) fn prepare(spec: &DhcpClient, cmd: &mut Command) -> io::Result<()> {
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true).mode(0o700);
    dirs.create(private_dir(spec))?;
    let db = spec.state_dir.join("dhcpcd");
    dirs.create(&db)?;
    // The mount points: dhcpcd-base makes them, but a system that never
    // ran dhcpcd may lack the run directory.
    for dir in [RUN, DB] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    std::fs::write(conf_file(spec), config(spec))?;
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
    };
    let mounts = [
        (cstr(&private_dir(spec))?, cstr(Path::new(RUN))?),
        (cstr(&db)?, cstr(Path::new(DB))?),
    ];
    let root = cstr(Path::new("/"))?;
    // SAFETY: only syscalls between fork and exec (unshare, mount), on
    // strings made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) < 0 {
                return Err(io::Error::last_os_error());
            }
            // Nothing mounted here may reach the daemon's namespace.
            let flags = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) < 0
            {
                return Err(io::Error::last_os_error());
            }
            for (source, target) in &mounts {
                if libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) < 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Ok(())
}

/// Device and inode of a file, as the kernel names it.
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// The files process `proc_dir` holds open.
fn open_files(proc_dir: &Path) -> Vec<(u64, u64)> {
    std::fs::read_dir(proc_dir.join("fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::metadata(fd.path()).ok())
        .map(|m| file_id(&m))
        .collect()
}

/// Whether process `proc_dir` is `spec`'s dhcpcd. dhcpcd rewrites its
/// command line and environment (setproctitle) and drops to its own user,
/// so neither tells; but it keeps its pid file open, and that file is in a
/// directory only root can enter: holding it is the proof.
pub(crate) fn is_ours(proc_dir: &Path, spec: &DhcpClient) -> bool {
    let Ok(pid_file) = std::fs::metadata(pid_file(spec)) else {
        return false;
    };
    exe_name(proc_dir).as_deref() == Some("dhcpcd")
        && open_files(proc_dir).contains(&file_id(&pid_file))
}

/// The pid files of every dhcpcd netconf runs.
pub(crate) fn our_pid_files(run_dir: &Path) -> HashSet<(u64, u64)> {
    std::fs::read_dir(run_dir.join("dhcpcd"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|dir| {
            std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|f| f.file_name().to_string_lossy().ends_with(".pid"))
        .filter_map(|f| std::fs::metadata(f.path()).ok())
        .map(|m| file_id(&m))
        .collect()
}

/// Stops what is left of `spec`'s dhcpcd after it was killed: its helper
/// processes, which run on when the main process dies of SIGKILL and
/// ignore SIGTERM: the privileged proxy (root, known by its mounts:
/// netconf's private directory of that dhcpcd over `/run/dhcpcd`) and the
/// processes under it (`[BPF BOOTP] IFACE`, as dhcpcd's user). SIGKILL:
/// they have nothing to hand back, the kernel closes their sockets.
pub fn stop_leftovers(spec: &DhcpClient) {
    let private = private_dir(spec);
    let Some(name) = private
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    else {
        return;
    };
    let suffix = format!("/dhcpcd/{name}");
    // Every dhcpcd process, each held by a pidfd taken before it is
    // looked at, so that what is checked is what is signalled.
    let helpers: Vec<(u32, Option<u32>, bool, crate::dhcp_client::OwnClient)> =
        crate::dhcp_client::processes()
            .filter_map(|(pid, dir)| {
                let own = crate::dhcp_client::OwnClient::pidfd_of(pid)?;
                if exe_name(&dir).as_deref() != Some("dhcpcd") {
                    return None;
                }
                let mounted = real_uid(&dir) == Some(0)
                    && std::fs::read_to_string(dir.join("mountinfo")).is_ok_and(|m| {
                        m.lines().any(|l| {
                            let mut f = l.split(' ').skip(3);
                            f.next().is_some_and(|root| root.ends_with(&suffix))
                                && f.next() == Some(RUN)
                        })
                    });
                Some((pid, parent_of(&dir), mounted, own))
            })
            .collect();
    let mut doomed: HashSet<u32> = helpers.iter().filter(|h| h.2).map(|h| h.0).collect();
    // Their descendants, however deep.
    loop {
        let more: Vec<u32> = helpers
            .iter()
            .filter(|h| !doomed.contains(&h.0) && h.1.is_some_and(|p| doomed.contains(&p)))
            .map(|h| h.0)
            .collect();
        if more.is_empty() {
            break;
        }
        doomed.extend(more);
    }
    for (pid, _, _, own) in &helpers {
        if doomed.contains(pid) {
            let _ = own.signal(libc::SIGKILL);
        }
    }
}

/// The uid dhcpcd drops to (its system user), from /etc/passwd.
fn dhcpcd_uid() -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find_map(|l| l.strip_prefix("dhcpcd:"))?
        .split(':')
        .nth(1)?
        .parse()
        .ok()
}

/// The interface of process `proc_dir` if it is a dhcpcd that root started
/// and netconf did not. Its title is `dhcpcd: IFACE [ip4]`; its helpers'
/// (`dhcpcd: [privileged proxy] IFACE [ip4]`) are skipped, and so is a
/// dhcpcd in manager mode (`dhcpcd: [manager] [ip4] [ip6]`), whose
/// interfaces its title does not say.
pub(crate) fn foreign_interfaces_at(proc_dir: &Path, ours: &HashSet<(u64, u64)>) -> Vec<String> {
    if exe_name(proc_dir).as_deref() != Some("dhcpcd") {
        return Vec::new();
    }
    let uid = real_uid(proc_dir);
    if uid != Some(0) && uid != dhcpcd_uid() {
        return Vec::new();
    }
    let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) else {
        return Vec::new();
    };
    let title = words(&cmdline).join(" ");
    let Some(rest) = title.strip_prefix("dhcpcd: ") else {
        return Vec::new();
    };
    if rest.starts_with('[') || open_files(proc_dir).iter().any(|f| ours.contains(f)) {
        return Vec::new();
    }
    rest.split_whitespace()
        .filter(|w| !w.starts_with('['))
        .map(str::to_string)
        .collect()
}

/// dhcpcd's reasons, onto the model's. What is not about a lease (the
/// carrier, router advertisements, the daemon stopping) is a notice.
fn reason(name: &str) -> Option<Reason> {
    Some(match name {
        "PREINIT" => Reason::Preinit,
        "BOUND" => Reason::Bound,
        // The same lease handed over again (a SIGHUP, `dhcpcd -n`).
        "RENEW" | "RECONFIGURE" => Reason::Renew,
        "REBIND" => Reason::Rebind,
        "REBOOT" => Reason::Reboot,
        "TIMEOUT" => Reason::Timeout,
        "EXPIRE" | "EXPIRED" => Reason::Expire,
        "NAK" => Reason::Nak,
        "FAIL" => Reason::Fail,
        "STOP" => Reason::Stop,
        "RELEASE" => Reason::Release,
        "DEPARTED" => Reason::Departed,
        "BOUND6" | "REBOOT6" => Reason::Bound6,
        // INFORM6: the options of stateless DHCPv6, as dhclient's RENEW6.
        "RENEW6" | "INFORM6" => Reason::Renew6,
        "REBIND6" => Reason::Rebind6,
        "EXPIRE6" => Reason::Expire6,
        "RELEASE6" => Reason::Release6,
        "STOP6" => Reason::Stop6,
        "CARRIER" | "NOCARRIER" | "NOCARRIER_ROAMING" | "STOPPED" | "ROUTERADVERT" | "TEST"
        | "DUMP" | "IPV4LL" | "STATIC" | "INFORM" | "3RDPARTY" | "DELEGATED6" | "TIMEOUT6"
        | "UNKNOWN" => Reason::Notice,
        _ => return None,
    })
}

/// Variables dhcpcd sets itself; everything else came with `-e`.
fn is_dhcpcds(name: &str) -> bool {
    matches!(
        name,
        "reason"
            | "interface"
            | "pid"
            | "protocol"
            | "PATH"
            | "if_configured"
            | "ifcarrier"
            | "ifmetric"
            | "ifwireless"
            | "ifflags"
            | "ifmtu"
            | "ifssid"
            | "interface_order"
            | "if_up"
            | "if_down"
            | "profile"
            | "skip_hooks"
    ) || ["new_", "old_", "nd"].iter().any(|p| name.starts_with(p))
}

/// Turns dhcpcd's environment into an event. Never panics: what is missing
/// or malformed is a [`LeaseError`] naming the variable.
pub fn parse_event(env: &[(String, String)]) -> Result<DhcpEvent, LeaseError> {
    let env = Env(env);
    let name = env
        .get("reason")
        .ok_or_else(|| missing("reason", "dhcpcd sets it for every call"))?;
    let reason = reason(name).ok_or_else(|| LeaseError::UnknownReason(name.to_string()))?;
    let interface = env.interface("dhcpcd")?;
    let pid = Vars::new(&env, "").number::<u32>("pid", "a process id")?;
    let v6 = reason.is_v6() || env.get("protocol") == Some("dhcp6");
    let (new, old) = if v6 {
        (lease6(&env, "new_")?, lease6(&env, "old_")?)
    } else {
        (
            lease4(&env, "new_", Option121::Pairs)?.map(Lease::V4),
            lease4(&env, "old_", Option121::Pairs)?.map(Lease::V4),
        )
    };
    let has_address = match &new {
        Some(Lease::V4(_)) => true,
        Some(Lease::V6(l)) => l.address.is_some() || l.prefix.is_some(),
        None => false,
    };
    if reason.brings_lease() && !has_address {
        let (var, what) = if v6 {
            (
                "new_dhcp6_ia_na1_ia_addr1",
                "an address or a delegated prefix",
            )
        } else {
            ("new_ip_address", "an address")
        };
        return Err(missing(
            var,
            &format!("{name} hands over a lease, which has {what}"),
        ));
    }
    let extra = env.others(is_dhcpcds);
    Ok(DhcpEvent {
        reason,
        interface: interface.to_string(),
        pid,
        new,
        old,
        cur: None,
        extra,
    })
}

/// A DHCPv6 lease in dhcpcd's names: the first address of the first IA_NA
/// (`dhcp6_ia_na1_ia_addr1`, no prefix length: 128), the first delegated
/// prefix (`dhcp6_ia_pd1_prefix1` with `_length`), the options.
fn lease6(env: &Env<'_>, prefix: &'static str) -> Result<Option<Lease>, LeaseError> {
    if !env.has_prefix(prefix) {
        return Ok(None);
    }
    let v = Vars::new(env, prefix);
    let address = v
        .ip("dhcp6_ia_na1_ia_addr1", "IPv6")?
        .map(|a: std::net::Ipv6Addr| (a, 128));
    let delegated = match v.ip("dhcp6_ia_pd1_prefix1", "IPv6")? {
        None => None,
        Some(p) => {
            let len = v
                .number::<u8>("dhcp6_ia_pd1_prefix1_length", "a prefix length")?
                .filter(|&l| l <= 128)
                .ok_or_else(|| {
                    missing(
                        &v.name("dhcp6_ia_pd1_prefix1_length"),
                        "a delegated prefix has a length (0 to 128)",
                    )
                })?;
            Some((p, len))
        }
    };
    let (pltime, vltime) = if address.is_some() {
        (
            "dhcp6_ia_na1_ia_addr1_pltime",
            "dhcp6_ia_na1_ia_addr1_vltime",
        )
    } else {
        ("dhcp6_ia_pd1_prefix1_pltime", "dhcp6_ia_pd1_prefix1_vltime")
    };
    let ia = if address.is_some() { "na" } else { "pd" };
    let lease = Lease6 {
        address,
        prefix: delegated,
        iaid: v.text(&format!("dhcp6_ia_{ia}1_iaid")),
        starts: None,
        life_starts: None,
        preferred_life: v.number(pltime, SECONDS)?,
        max_life: v.number(vltime, SECONDS)?,
        renew: v.number(&format!("dhcp6_ia_{ia}1_t1"), SECONDS)?,
        rebind: v.number(&format!("dhcp6_ia_{ia}1_t2"), SECONDS)?,
        dns: v.ips("dhcp6_name_servers", "IPv6")?,
        search: v.names("dhcp6_domain_search")?,
        client_id: v.text("dhcp6_client_id"),
        server_id: v.text("dhcp6_server_id"),
        info_refresh_time: v.number("dhcp6_info_refresh_time", SECONDS)?,
    };
    Ok(Some(Lease::V6(lease)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp_client::{tests::spec, ClientKind};
    use crate::lease::env::tests::env;
    use std::net::Ipv4Addr;

    #[test]
    fn command_line_and_config() {
        let s = spec(ClientKind::Dhcpcd);
        let line: Vec<String> = args(&s)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line.join(" "),
            "-f /run/netconf/dhcpcd.eth0.conf -4 -B --noconfigure -c /usr/lib/netconf/netconf-dhcp-hook \
             -e NETCONF_TOKEN=abc -e NETCONF_SOCKET=/run/netconf/ctl.sock -e IF_METRIC=10 eth0"
        );
        assert_eq!(
            s.pid_file(),
            PathBuf::from("/run/netconf/dhcpcd/abc/eth0-4.pid")
        );
        let conf = config(&s);
        assert!(conf.contains("hostname \"box \\\"1\\\"\"\n"), "{conf}");
        assert!(conf.contains("leasetime 3600\n") && conf.contains("noarp\n"));
        assert!(!conf.contains("anonymous"));
        let mut anon = s.clone();
        anon.anonymize = true;
        assert!(config(&anon).ends_with("anonymous\noption dhcp_lease_time\n"));
    }

    #[test]
    fn bound_with_pairs_and_cidr() {
        let ev = parse_event(&env(&[
            ("reason", "BOUND"),
            ("interface", "cli0"),
            ("pid", "7"),
            ("protocol", "dhcp"),
            ("new_ip_address", "198.18.0.184"),
            ("new_subnet_cidr", "24"),
            ("new_subnet_mask", "255.255.255.0"),
            (
                "new_classless_static_routes",
                "198.19.0.0/16 198.18.0.1 0.0.0.0/0 198.18.0.1",
            ),
            ("new_dhcp_server_identifier", "198.18.0.1"),
            ("NETCONF_TOKEN", "abc"),
        ]))
        .unwrap();
        assert_eq!(ev.reason, Reason::Bound);
        let l = ev.new_v4().unwrap();
        assert_eq!(
            (l.address, l.prefix_len),
            (Ipv4Addr::new(198, 18, 0, 184), 24)
        );
        assert_eq!(l.classless_routes.len(), 2);
        assert_eq!(l.server, Some(Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(ev.extra("NETCONF_TOKEN"), Some("abc"));
        assert_eq!(ev.extra("protocol"), None);
    }

    #[test]
    fn notices_and_errors() {
        for name in ["CARRIER", "NOCARRIER", "STOPPED", "ROUTERADVERT"] {
            let ev = parse_event(&env(&[("reason", name), ("interface", "cli0")])).unwrap();
            assert_eq!(ev.reason, Reason::Notice, "{name}");
        }
        let err = parse_event(&env(&[("reason", "BOGUS"), ("interface", "cli0")])).unwrap_err();
        assert!(err.to_string().contains("BOGUS"));
        let err = parse_event(&env(&[("reason", "BOUND"), ("interface", "cli0")])).unwrap_err();
        assert!(err.to_string().contains("new_ip_address"), "{err}");
        let err = parse_event(&env(&[("reason", "BOUND"), ("interface", "a/b")])).unwrap_err();
        assert!(err.to_string().contains("interface"), "{err}");
    }

    #[test]
    fn foreign_titles() {
        // The title parse alone: a process that is not dhcpcd never counts.
        assert!(foreign_interfaces_at(Path::new("/proc/self"), &HashSet::new()).is_empty());
    }
}
