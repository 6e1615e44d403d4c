//! `netconf-dhcp-hook`: the program a DHCP client netconfd started runs as
//! its script (dhclient's `-sf`, dhcpcd's `-c`, udhcpc's `-s`).
//!
//! For each hook call, it posts the client's whole environment to netconfd as
//! a `dhcp-event` request (`docs/PROTOCOL.md`, "DHCP hook events") and exits
//! with the status the daemon answers with. That status is dhclient's
//! protocol: non-zero after `BOUND`/`RENEW`/`REBIND`/`REBOOT` makes dhclient
//! decline the lease, non-zero after `TIMEOUT` makes it drop the remembered
//! lease. So the hook exits non-zero only when the daemon said so; whatever
//! else happens (no `reason`, an unknown one, no token, the daemon away for
//! longer than the retry window, an error reply, a reply it cannot read) it
//! says why on stderr and exits 0. It never panics on its input, never
//! signals dhclient and never touches the network itself.
//!
//! dhclient and dhcpcd pass the script no arguments and none of their
//! caller's environment, only their own variables and the `-e` ones, so
//! everything the hook needs comes by `-e` (udhcpc has no `-e` but passes
//! its own environment, where netconfd puts the same variables): `NETCONF_TOKEN` (which dhclient this is),
//! `NETCONF_SOCKET` (default `/run/netconf/ctl.sock`), and for tests
//! `NETCONF_HOOK_RETRY_MS` and `NETCONF_HOOK_TIMEOUT_MS`.
//!
//! dhclient is blocked while the hook runs, so the hook is small and quick:
//! std and ctlsock-proto only, no async runtime.

mod deliver;
mod event;

use deliver::Outcome;
use std::io::Write;
use std::process::ExitCode;

const NAME: &str = "netconf-dhcp-hook";

const USAGE: &str = "\
usage: netconf-dhcp-hook [UDHCPC-EVENT]

The DHCP clients' script for netconf (dhclient -sf, dhcpcd -c, udhcpc -s):
posts each event (its reason and environment) to netconfd and exits with
the daemon's verdict. It is not meant to be run by hand. It reads
reason, interface, NETCONF_TOKEN (pass with dhclient -e), NETCONF_SOCKET
(default /run/netconf/ctl.sock), NETCONF_HOOK_RETRY_MS (default 10000) and
NETCONF_HOOK_TIMEOUT_MS (default 60000, 0 = no limit).
";

fn main() -> ExitCode {
    // No client passes these two; they are for a curious admin.
    match std::env::args_os().nth(1) {
        Some(a) if a == "--help" || a == "-h" => {
            let _ = std::io::stdout().write_all(USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        Some(a) if a == "--version" || a == "-V" => {
            let _ = writeln!(std::io::stdout(), "{NAME} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    ExitCode::from(run(
        std::env::args_os().nth(1),
        std::env::vars_os().collect(),
    ))
}

// The exit status for this environment, with every message already said.
fn run(
    argument: Option<std::ffi::OsString>,
    vars: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> u8 {
    let prepared = match event::prepare(argument, vars, parent_environment) {
        Ok(p) => p,
        Err(why) => {
            say(&format!("{why} (exiting 0)"));
            return 0;
        }
    };
    let what = format!("{} {}", prepared.args.interface, prepared.args.reason);
    for note in &prepared.notes {
        say(&format!("{what}: {note}"));
    }
    match deliver::deliver(prepared.args, &prepared.settings) {
        Outcome::Verdict(v) => {
            if v.exit != 0 {
                // dhclient's own log shows the decline; this line says who
                // decided it.
                say(&format!("{what}: netconfd asks for exit status {}", v.exit));
            }
            v.exit
        }
        Outcome::NoVerdict(why) => {
            say(&format!(
                "{what}: netconfd's answer holds no verdict ({why}); exiting 0"
            ));
            0
        }
        Outcome::Refused(reply) => {
            say(&format!(
                "{what}: netconfd refused the event: {} ({}); exiting 0",
                reply, reply.code
            ));
            0
        }
        Outcome::GaveUp {
            last,
            attempts,
            waited,
        } => {
            let attempts = match attempts {
                1 => "1 attempt".to_owned(),
                n => format!("{n} attempts"),
            };
            say(&format!(
                "{what}: {last}; gave up after {attempts} in {:.1} s, exiting 0 \
                 (netconfd reconciles from the kernel and the lease file when it is back)",
                waited.as_secs_f64()
            ));
            0
        }
        Outcome::Failed(e) => {
            say(&format!("{what}: event not delivered: {e}; exiting 0"));
            0
        }
    }
}

// The environment of the process that ran the hook (dhcpcanon passes its
// script none of its own). Read from /proc: the hook runs as root, as its
// client does.
fn parent_environment() -> Vec<(String, String)> {
    let path = format!("/proc/{}/environ", std::os::unix::process::parent_id());
    std::fs::read(path)
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

// One line on stderr, which dhclient's caller reads (netconfd runs dhclient
// in the foreground). Never `eprintln!`: it panics when the write fails, and
// the write does fail with EPIPE when the netconfd that was reading the pipe
// has died; a panic would abort, and dhclient reads a signal after TIMEOUT
// as "do not keep the lease". One `write_all` keeps the line whole.
fn say(message: &str) {
    let line = format!("{NAME}: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
