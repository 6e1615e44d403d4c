//! `ifreload -a`: netconfd reads the configuration again and changes only
//! what changed (unchanged interfaces are not touched; changed ones go down
//! with their old stanzas and up with the new; interfaces whose stanza or
//! `auto` line went away go down; new `auto` interfaces come up).

use crate::ifupdown::{failed, Printer};
use clap::Parser;
use netconf_ctlsock_proto::{socket_path, Client, Op, ReloadArgs};
use std::path::PathBuf;
use std::process::ExitCode;

const PROG: &str = "ifreload";

/// Apply the changes made to /etc/network/interfaces, and only those.
#[derive(Parser, Debug)]
#[command(name = "ifreload", version)]
pub struct Args {
    /// Reload all interfaces (required: as ifupdown2, ifreload works on the whole file)
    #[arg(short = 'a', long = "all", required = true)]
    pub all: bool,
    /// Show the plan: which interfaces would go down, be reconfigured or come up
    #[arg(short = 'n', long = "no-act")]
    pub no_act: bool,
    /// Show every step
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// The control socket of netconfd (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the daemon's messages as JSON, one per line, on standard output
    #[arg(long = "json")]
    pub json: bool,
    /// The dialect netconfd reads its file in (debian, ifupdown2, ifupdown-ng or auto): only
    /// the daemon's own is accepted (netconfd --dialect, DIALECT= in /etc/default/networking)
    #[arg(long = "dialect", value_name = "DIALECT")]
    pub dialect: Option<netconf_interfaces::DialectChoice>,
}

pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let socket = socket_path(args.socket.as_deref());
    let mut client = match Client::connect(&socket) {
        Ok(c) => c,
        Err(e) => return failed(PROG, &e, args.json),
    };
    let mut printer = Printer {
        prog: PROG,
        verbose: true,
        json: args.json,
    };
    let op = Op::Reload(ReloadArgs {
        no_act: args.no_act,
        verbose: args.verbose,
        dialect: args.dialect.map(|d| d.name().to_string()),
    });
    match client.call(op, |p| printer.show(p)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => failed(PROG, &e, args.json),
    }
}
