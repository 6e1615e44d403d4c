//! busybox's udhcpc (Debian's `udhcpc`), DHCPv4 only, with our hook as its
//! script (`-s`). udhcpc has no `-e`: its script gets udhcpc's own
//! environment, so the token and socket go there (`/proc/PID/environ`,
//! which only root reads, then tells ours apart). It passes its event only
//! as the script's first argument (`deconfig`, `bound`, `renew`, `nak`,
//! `leasefail`), which the hook appends to the environment as `ARGV1`, and
//! the lease as one variable per option (`ip`, `mask`, `router`, `dns`,
//! `staticroutes`, …), read by [`parse_event`]. The fixtures' README
//! (`tests/fixtures/udhcpc-env/`) records what it sends and when.
//!
//! Run with `-R`, SIGTERM makes it release its lease before it exits.

use crate::dhcp_client::{exe_name, root_process, token_in, DhcpClient};
use crate::lease::env::{invalid, mask_len, missing, Env, Vars, SECONDS};
use crate::lease::{rfc3442, DhcpEvent, Lease, Lease4, LeaseError, Reason};
use std::ffi::OsString;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

/// Where Debian's `udhcpc` package puts it (a link to busybox).
pub const UDHCPC: &str = "/sbin/udhcpc";

/// The variable the hook adds with udhcpc's event (its `argv[1]`).
pub const EVENT_VAR: &str = "ARGV1";

/// `udhcpc -f -R -i IFACE -s HOOK -p PIDFILE -O mtu -O search -O
/// staticroutes`, in the foreground, releasing on SIGTERM; Debian's
/// `hostname`, `vendor`, `client` and `leasetime` as options 12, 60, 61
/// and 51.
pub fn args(spec: &DhcpClient) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-f", "-R", "-i"].map(OsString::from).to_vec();
    args.push(spec.iface.clone().into());
    args.extend(["-s".into(), spec.hook.clone().into()]);
    args.extend(["-p".into(), spec.pid_file().into()]);
    for option in ["mtu", "search", "staticroutes"] {
        args.extend(["-O".into(), option.into()]);
    }
    if let Some(name) = &spec.hostname {
        args.extend(["-x".into(), format!("hostname:{name}").into()]);
    }
    if let Some(vendor) = &spec.vendor {
        args.extend(["-V".into(), vendor.into()]);
    }
    match spec.client.as_deref() {
        Some("no") => args.push("-C".into()),
        // As dhclient sends `send dhcp-client-identifier "..."`: the bytes.
        Some(client) => {
            let hex: String = client.bytes().map(|b| format!("{b:02x}")).collect();
            args.extend(["-x".into(), format!("0x3d:{hex}").into()]);
        }
        None => {}
    }
    if let Some(seconds) = spec.lease_seconds {
        args.extend(["-x".into(), format!("lease:{seconds}").into()]);
    }
    args
}

/// Before the start: no stale pid file.
pub(crate) fn prepare(spec: &DhcpClient) -> io::Result<()> {
    match std::fs::remove_file(spec.pid_file()) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The command line and environment of process `proc_dir` if it is a
/// udhcpc root runs: real uid 0, the busybox (or udhcpc) executable, called
/// as udhcpc.
fn root_udhcpc(proc_dir: &Path) -> Option<(Vec<String>, Vec<String>)> {
    if !matches!(exe_name(proc_dir)?.as_str(), "busybox" | "udhcpc") {
        return None;
    }
    let (args, env) = root_process(proc_dir)?;
    (Path::new(args.first()?).file_name()? == "udhcpc").then_some((args, env))
}

/// The token of process `proc_dir` if it is a udhcpc of ours.
pub(crate) fn token_at(proc_dir: &Path) -> Option<String> {
    token_in(&root_udhcpc(proc_dir)?.1)
}

/// The interface of process `proc_dir` if it is a udhcpc root runs that
/// netconf did not start.
pub(crate) fn foreign_interfaces_at(proc_dir: &Path) -> Vec<String> {
    match root_udhcpc(proc_dir) {
        Some((args, env)) if token_in(&env).is_none() => vec![interface_of(&args)],
        _ => Vec::new(),
    }
}

/// `-i IFACE`, `-iIFACE`, `--interface=IFACE` or `--interface IFACE`;
/// udhcpc's default is eth0.
fn interface_of(args: &[String]) -> String {
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        if word == "-i" || word == "--interface" {
            if let Some(name) = words.next() {
                return name.clone();
            }
        } else if let Some(name) = word
            .strip_prefix("--interface=")
            .or_else(|| word.strip_prefix("-i").filter(|n| !n.is_empty()))
        {
            return name.to_string();
        }
    }
    "eth0".to_string()
}

/// udhcpc's events onto the model's reasons.
fn reason(event: &str) -> Option<Reason> {
    Some(match event {
        "deconfig" => Reason::Deconfig,
        "bound" => Reason::Bound,
        // udhcpc has no rebind event: a renewal by broadcast is `renew`.
        "renew" => Reason::Renew,
        "nak" => Reason::Nak,
        "leasefail" => Reason::Notice,
        _ => return None,
    })
}

/// Turns udhcpc's environment (with the hook's `ARGV1`) into an event.
/// Never panics: what is missing or malformed is a [`LeaseError`] naming
/// the variable.
pub fn parse_event(env: &[(String, String)]) -> Result<DhcpEvent, LeaseError> {
    let env = Env(env);
    let event = env.get(EVENT_VAR).ok_or_else(|| {
        missing(
            EVENT_VAR,
            "the hook passes udhcpc's event, its first argument, as ARGV1",
        )
    })?;
    let reason = reason(event).ok_or_else(|| LeaseError::UnknownReason(event.to_string()))?;
    let interface = env.interface("udhcpc")?;
    let new = if reason.brings_lease() {
        Some(Lease::V4(lease(&env)?))
    } else {
        None
    };
    // udhcpc's own variables are lower case (`ip`, `opt53`); what is ours
    // (`NETCONF_TOKEN`, `IF_METRIC`) is upper case.
    let extra = env.others(|k| {
        !k.starts_with(|c: char| c.is_ascii_uppercase()) || k == "PATH" || k == EVENT_VAR
    });
    Ok(DhcpEvent {
        reason,
        interface: interface.to_string(),
        pid: None,
        new,
        old: None,
        cur: None,
        extra,
    })
}

fn lease(env: &Env<'_>) -> Result<Lease4, LeaseError> {
    let v = Vars::new(env, "");
    let address = v.ip::<Ipv4Addr>("ip", "IPv4")?.ok_or_else(|| {
        missing(
            "ip",
            "bound and renew hand over a lease, which has an address",
        )
    })?;
    // `mask` is the prefix length udhcpc derives from `subnet`.
    let prefix_len = match (v.get("mask"), v.get("subnet")) {
        (Some((var, value)), _) => value
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|&l| l <= 32)
            .ok_or_else(|| invalid(&var, value, "is not a prefix length (0 to 32)"))?,
        (None, Some((var, value))) => mask_len(value)
            .ok_or_else(|| invalid(&var, value, "is not a subnet mask (contiguous ones)"))?,
        (None, None) => 32,
    };
    let classless_routes = match v.get("staticroutes") {
        None => Vec::new(),
        Some((var, value)) => {
            rfc3442::decode_pairs(value).map_err(|e| invalid(&var, value, e.0))?
        }
    };
    let domain = v.names("domain")?;
    Ok(Lease4 {
        address,
        prefix_len,
        broadcast: v.ip("broadcast", "IPv4")?,
        routers: v.ips("router", "IPv4")?,
        classless_routes,
        mtu: v.mtu("mtu")?,
        dns: v.ips("dns", "IP")?,
        domain: (!domain.is_empty()).then(|| domain.join(" ")),
        search: v.names("search")?,
        hostname: v.name_one("hostname")?,
        lease_time: v.number("lease", SECONDS)?,
        renewal: None,
        rebinding: None,
        expiry: None,
        server: v.ip("serverid", "IPv4")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp_client::{tests::spec, ClientKind};
    use crate::lease::env::tests::env;

    #[test]
    fn command_line() {
        let mut s = spec(ClientKind::Udhcpc);
        s.client = Some("id".into());
        let line: Vec<String> = args(&s)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line.join(" "),
            "-f -R -i eth0 -s /usr/lib/netconf/netconf-dhcp-hook -p /run/netconf/udhcpc.eth0.pid \
             -O mtu -O search -O staticroutes -x hostname:box \"1\" -x 0x3d:6964 -x lease:3600"
        );
        s.client = Some("no".into());
        assert!(args(&s).contains(&OsString::from("-C")));
    }

    #[test]
    fn interfaces_of_command_lines() {
        let w = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(interface_of(&w("udhcpc -n -i eth1 -p x")), "eth1");
        assert_eq!(interface_of(&w("udhcpc -ieth2")), "eth2");
        assert_eq!(interface_of(&w("udhcpc --interface=eth3")), "eth3");
        assert_eq!(interface_of(&w("udhcpc -n")), "eth0");
    }

    #[test]
    fn bound_and_the_others() {
        let ev = parse_event(&env(&[
            ("NETCONF_TOKEN", "abc"),
            ("interface", "cli0"),
            ("ip", "198.18.0.129"),
            ("mask", "24"),
            ("router", "198.18.0.1"),
            ("staticroutes", "198.19.0.0/16 198.18.0.1"),
            ("lease", "120"),
            ("serverid", "198.18.0.1"),
            ("ARGV1", "bound"),
        ]))
        .unwrap();
        assert_eq!(ev.reason, Reason::Bound);
        let l = ev.new_v4().unwrap();
        assert_eq!((l.prefix_len, l.lease_time), (24, Some(120)));
        assert_eq!(l.classless_routes.len(), 1);
        assert_eq!(ev.extra, env(&[("NETCONF_TOKEN", "abc")]));
        let ev = parse_event(&env(&[("interface", "cli0"), ("ARGV1", "deconfig")])).unwrap();
        assert_eq!((ev.reason, ev.new), (Reason::Deconfig, None));
        let err = parse_event(&env(&[("interface", "cli0"), ("ARGV1", "bound")])).unwrap_err();
        assert!(err.to_string().contains("`ip`"), "{err}");
        let err = parse_event(&env(&[("interface", "cli0")])).unwrap_err();
        assert!(err.to_string().contains("ARGV1"), "{err}");
        let err = parse_event(&env(&[("interface", "cli0"), ("ARGV1", "x")])).unwrap_err();
        assert!(err.to_string().contains("\"x\""), "{err}");
    }
}
