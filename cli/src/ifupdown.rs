//! `ifup` and `ifdown`: Debian ifupdown's command lines, sent to netconfd as
//! one request; the daemon's progress is printed as it comes (hook output as
//! the hooks wrote it), and the exit status says whether every interface got
//! where it was asked to go.

use crate::options::{long_options, Common};
use crate::usage::{self, warn};
use clap::Parser;
use netconf_ctlsock_proto::{socket_path, ChangeArgs, Client, ClientError, Op, Progress, Stream};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Bring network interfaces up or down, as configured in
/// /etc/network/interfaces, through netconfd.
#[derive(Parser, Debug)]
#[command(version, args_override_self = true, infer_long_args = true)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Read interface definitions from FILE
    #[arg(
        short = 'i',
        long = "interfaces",
        value_name = "FILE",
        allow_hyphen_values = true
    )]
    pub interfaces: Option<PathBuf>,
    /// Accepted for compatibility with ifupdown; netconfd keeps the state
    #[arg(long = "state-dir", value_name = "DIR", allow_hyphen_values = true)]
    pub state_dir: Option<String>,
    /// Print what would be done, but change nothing
    #[arg(short = 'n', long = "no-act")]
    pub no_act: bool,
    /// Act even if the interface is recorded as already up (ifup) or down (ifdown)
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Go on after a failing command
    #[arg(long = "ignore-errors")]
    pub ignore_errors: bool,
    /// Return once DHCP clients are started, without waiting for a lease (netconfd keeps trying)
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// The control socket of netconfd (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the daemon's messages as JSON, one per line, on standard output
    #[arg(long = "json")]
    pub json: bool,
    #[arg(short = 'l', long = "list", hide = true)]
    pub list: bool,
    #[arg(long = "state", hide = true)]
    pub state: bool,
    /// Interfaces, as PHYSICAL or PHYSICAL=LOGICAL
    #[arg(value_name = "IFACE")]
    pub ifaces: Vec<String>,
}

pub fn ifup() -> ExitCode {
    main("ifup", true)
}

pub fn ifdown() -> ExitCode {
    main("ifdown", false)
}

fn main(prog: &'static str, up: bool) -> ExitCode {
    let command = <Args as clap::CommandFactory>::command().name(prog);
    let args = match command
        .try_get_matches()
        .and_then(|m| <Args as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(a) => a,
        Err(e) => {
            return usage::report(
                prog,
                &e,
                &long_options(&["no-wait", "socket", "json", "dialect"]),
            )
        }
    };
    run(prog, up, args)
}

fn run(prog: &'static str, up: bool, mut args: Args) -> ExitCode {
    if args.list || args.state || args.common.s_unused.is_some() {
        return usage::usage(prog);
    }
    let options = match args.common.overrides(prog) {
        Ok(pairs) => pairs,
        Err(code) => return code,
    };
    if args.common.read_environment() {
        args.no_act = true;
    }
    if let Err(code) = args.common.check_targets(prog, &args.ifaces, false) {
        return code;
    }
    // The daemon's working directory is not ours.
    let interfaces = match args
        .interfaces
        .as_deref()
        .map(std::path::absolute)
        .transpose()
    {
        Ok(p) => p.map(|p| p.to_string_lossy().into_owned()),
        Err(e) => {
            warn(
                prog,
                &format!("{}: {e}", args.interfaces.unwrap_or_default().display()),
            );
            return ExitCode::from(1);
        }
    };
    let change = ChangeArgs {
        targets: args.ifaces.clone(),
        all: args.common.all,
        allow: args.common.allow.clone(),
        exclude: args.common.exclude.clone(),
        options,
        interfaces,
        dialect: args.common.dialect.map(|d| d.name().to_string()),
        force: args.force,
        no_act: args.no_act,
        no_scripts: args.common.no_scripts,
        no_mappings: args.common.no_mappings,
        no_loopback: args.common.no_loopback,
        ignore_errors: args.ignore_errors,
        verbose: args.common.verbose,
        no_wait: args.no_wait,
        inherited: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("IFUPDOWN_"))
            .collect(),
    };
    let op = if up {
        Op::Ifup(change)
    } else {
        Op::Ifdown(change)
    };
    let socket = socket_path(args.socket.as_deref());
    let mut client = match Client::connect(&socket) {
        Ok(c) => c,
        Err(e) => return failed(prog, &e, args.json),
    };
    let mut printer = Printer {
        prog,
        verbose: args.common.verbose || args.no_act,
        json: args.json,
    };
    match client.call(op, |p| printer.show(p)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => failed(prog, &e, args.json),
    }
}

pub fn failed(prog: &str, e: &ClientError, json: bool) -> ExitCode {
    if json {
        let out = serde_json::json!({ "type": "error", "message": e.to_string(), "exit_code": e.exit_code() });
        let _ = writeln!(std::io::stdout(), "{out}");
    }
    match e {
        // The causes, one per line, under the message.
        ClientError::Remote(reply) => {
            warn(prog, &reply.message);
            for cause in &reply.causes {
                eprintln!("  {cause}");
            }
        }
        _ => warn(prog, &e.to_string()),
    }
    ExitCode::from(e.exit_code())
}

/// Prints the daemon's progress lines as ifupdown prints its own.
pub struct Printer {
    pub prog: &'static str,
    pub verbose: bool,
    pub json: bool,
}

impl Printer {
    pub fn show(&mut self, p: &Progress) {
        if self.json {
            if let Ok(line) = serde_json::to_string(p) {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            return;
        }
        match (p.step.as_str(), p.stream) {
            // Hook output goes where the hook wrote it, as with ifupdown.
            ("output", Some(Stream::Stdout)) => {
                let _ = writeln!(std::io::stdout(), "{}", p.message);
            }
            ("output", _) => eprintln!("{}", p.message),
            ("warning", _) => warn(self.prog, &p.message),
            _ if self.verbose => match &p.iface {
                Some(iface) if !p.message.contains(iface.as_str()) => {
                    warn(self.prog, &format!("{iface}: {}", p.message))
                }
                _ => warn(self.prog, &p.message),
            },
            _ => {}
        }
    }
}
