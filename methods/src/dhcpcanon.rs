//! dhcpcanon (PyPI `dhcpcanon` 0.8.2): a DHCPv4 client of RFC 7844's
//! anonymity profile, with dhclient's `-sf`/`-pf` contract and dhclient's
//! variable names (plus `client=dhcpcanon`), so [`crate::dhclient::parse_event`]
//! reads its environment. It calls its script only with PREINIT, BOUND and
//! FAIL (the fixtures' README, `tests/fixtures/dhcpcanon-env/`, says why:
//! its renewal timers never fire, so it never renews, and it sends no
//! RELEASE), with none of its own environment: the hook finds the token
//! and socket in the environment of dhcpcanon itself, its parent.
//!
//! Debian has no package: it runs from a virtualenv with scapy-python3 0.25
//! (docs in `man/netconf-interfaces.5`).

use crate::dhcp_client::{exe_name, root_process, token_in, DhcpClient};
use std::ffi::OsString;
use std::io;
use std::path::Path;

/// Where netconfd looks for it by default (`--dhcpcanon` changes it).
pub const DHCPCANON: &str = "/usr/local/bin/dhcpcanon";

/// `dhcpcanon -sf HOOK -pf PIDFILE IFACE`.
pub fn args(spec: &DhcpClient) -> Vec<OsString> {
    vec![
        "-sf".into(),
        spec.hook.clone().into(),
        "-pf".into(),
        spec.pid_file().into(),
        spec.iface.clone().into(),
    ]
}

/// Before the start: no stale pid file.
pub(crate) fn prepare(spec: &DhcpClient) -> io::Result<()> {
    match std::fs::remove_file(spec.pid_file()) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The command line and environment of process `proc_dir` if it is a
/// dhcpcanon root runs: real uid 0, a Python interpreter running a script
/// named `dhcpcanon`.
fn root_dhcpcanon(proc_dir: &Path) -> Option<(Vec<String>, Vec<String>)> {
    if !exe_name(proc_dir)?.starts_with("python3") {
        return None;
    }
    let (args, env) = root_process(proc_dir)?;
    (Path::new(args.get(1)?).file_name()? == "dhcpcanon").then_some((args, env))
}

/// The token of process `proc_dir` if it is a dhcpcanon of ours.
pub(crate) fn token_at(proc_dir: &Path) -> Option<String> {
    token_in(&root_dhcpcanon(proc_dir)?.1)
}

/// The interface of process `proc_dir` if it is a dhcpcanon root runs that
/// netconf did not start: its last argument that is neither an option nor
/// an option's value.
pub(crate) fn foreign_interfaces_at(proc_dir: &Path) -> Vec<String> {
    match root_dhcpcanon(proc_dir) {
        Some((args, env)) if token_in(&env).is_none() => interface_of(&args[2..]),
        _ => Vec::new(),
    }
}

fn interface_of(args: &[String]) -> Vec<String> {
    let mut words = args.iter();
    let mut name = None;
    while let Some(word) = words.next() {
        if word == "-sf" || word == "-pf" {
            words.next();
        } else if !word.starts_with('-') {
            name = Some(word.clone());
        }
    }
    name.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp_client::{tests::spec, ClientKind};

    #[test]
    fn command_line() {
        let line: Vec<String> = args(&spec(ClientKind::Dhcpcanon))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line.join(" "),
            "-sf /usr/lib/netconf/netconf-dhcp-hook -pf /run/netconf/dhcpcanon.eth0.pid eth0"
        );
    }

    #[test]
    fn interfaces_of_command_lines() {
        let w = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(interface_of(&w("-v -sf /x -pf /y eth1")), ["eth1"]);
        assert!(interface_of(&w("-sf /x")).is_empty());
    }
}
