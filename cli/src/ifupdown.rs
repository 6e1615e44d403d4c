//! `ifup` and `ifdown`: Debian ifupdown's command lines, sent to netconfd as
//! one request; the daemon's progress is printed as it comes (hook output as
//! the hooks wrote it), and the exit status says whether every interface got
//! where it was asked to go.

use crate::usage::{self, warn};
use clap::Parser;
use netconf_ctlsock_proto::{socket_path, ChangeArgs, Client, ClientError, Op, Progress, Stream};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Long options in ifupdown's order (then ours), as getopt lists them.
const LONG_OPTIONS: &[&str] = &[
    "help",
    "version",
    "verbose",
    "all",
    "allow",
    "interfaces",
    "exclude",
    "no-act",
    "no-act-commands",
    "no-mappings",
    "no-scripts",
    "no-loopback",
    "force",
    "ignore-errors",
    "option",
    "list",
    "state",
    "read-environment",
    "state-dir",
    "socket",
    "json",
];

/// Bring network interfaces up or down, as configured in
/// /etc/network/interfaces, through netconfd.
#[derive(Parser, Debug)]
#[command(version, args_override_self = true, infer_long_args = true)]
pub struct Args {
    /// All interfaces marked "auto" (ifup), or all that are up (ifdown)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only interfaces listed in "allow-CLASS" lines
    #[arg(long = "allow", value_name = "CLASS", allow_hyphen_values = true)]
    pub allow: Option<String>,
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
    /// Leave out interfaces matching PATTERN (a shell glob; repeatable)
    #[arg(
        short = 'X',
        long = "exclude",
        value_name = "PATTERN",
        allow_hyphen_values = true
    )]
    pub exclude: Vec<String>,
    /// Print what would be done, but change nothing
    #[arg(short = 'n', long = "no-act")]
    pub no_act: bool,
    /// Show every step, on standard error
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Set OPTION to VALUE as though it were in the interfaces file
    #[arg(
        short = 'o',
        long = "option",
        value_name = "OPTION=VALUE",
        allow_hyphen_values = true
    )]
    pub option: Vec<String>,
    /// Do not run mapping scripts
    #[arg(long = "no-mappings")]
    pub no_mappings: bool,
    /// Do not run hook scripts (if-*.d)
    #[arg(long = "no-scripts")]
    pub no_scripts: bool,
    /// Do not treat the loopback interface specially
    #[arg(long = "no-loopback")]
    pub no_loopback: bool,
    /// Act even if the interface is recorded as already up (ifup) or down (ifdown)
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Go on after a failing command
    #[arg(long = "ignore-errors")]
    pub ignore_errors: bool,
    /// Honour VERBOSE, CONFIGURE_INTERFACES and EXCLUDE_INTERFACES (/etc/default/networking)
    #[arg(long = "read-environment")]
    pub read_environment: bool,
    /// The control socket of netconfd (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the daemon's messages as JSON, one per line, on standard output
    #[arg(long = "json")]
    pub json: bool,
    #[arg(long = "no-act-commands", hide = true)]
    pub no_act_commands: bool,
    #[arg(short = 'l', long = "list", hide = true)]
    pub list: bool,
    #[arg(long = "state", hide = true)]
    pub state: bool,
    #[arg(short = 's', hide = true, allow_hyphen_values = true)]
    pub s_unused: Option<String>,
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
        Err(e) => return usage::report(prog, &e, LONG_OPTIONS),
    };
    run(prog, up, args)
}

fn run(prog: &'static str, up: bool, mut args: Args) -> ExitCode {
    if args.list || args.state || args.s_unused.is_some() {
        return usage::usage(prog);
    }
    let mut options = Vec::new();
    for o in &args.option {
        let Some((name, value)) = o.split_once('=') else {
            warn(
                prog,
                &format!("error in --option \"{o}\" -- no \"=\" character"),
            );
            return ExitCode::from(1);
        };
        options.push((name.to_string(), value.to_string()));
    }
    if args.read_environment {
        if std::env::var("VERBOSE").is_ok_and(|v| v == "yes") {
            args.verbose = true;
        }
        if std::env::var("CONFIGURE_INTERFACES").is_ok_and(|v| v == "no") {
            args.no_act = true;
        }
        if let Ok(list) = std::env::var("EXCLUDE_INTERFACES") {
            let words = list.split([' ', '\t', '\n']).filter(|w| !w.is_empty());
            args.exclude.extend(words.map(String::from));
        }
    }
    if !args.ifaces.is_empty() && args.all {
        warn(
            prog,
            "either use the --all option, or specify interface(s), but not both",
        );
        return usage::usage(prog);
    }
    if args.ifaces.is_empty() && !args.all {
        warn(prog, "no interface(s) specified");
        return usage::usage(prog);
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
        all: args.all,
        allow: args.allow.clone(),
        exclude: args.exclude.clone(),
        options,
        interfaces,
        force: args.force,
        no_act: args.no_act,
        no_scripts: args.no_scripts,
        no_mappings: args.no_mappings,
        no_loopback: args.no_loopback,
        ignore_errors: args.ignore_errors,
        verbose: args.verbose,
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
        verbose: args.verbose || args.no_act,
        json: args.json,
    };
    match client.call(op, |p| printer.show(p)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => failed(prog, &e, args.json),
    }
}

fn failed(prog: &str, e: &ClientError, json: bool) -> ExitCode {
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

struct Printer {
    prog: &'static str,
    verbose: bool,
    json: bool,
}

impl Printer {
    fn show(&mut self, p: &Progress) {
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
