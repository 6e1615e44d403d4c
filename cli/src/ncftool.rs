//! `ncftool`: netcf's command-line tool, on netconf. Interfaces are
//! documents in netcf's XML (a bridge or bond with its ports is one
//! "connection"); `list`, `dumpxml`, `define`, `undefine`, `ifup`,
//! `ifdown` and the `change-*` transaction commands work on them, with
//! netcf's command table, messages and exit status (0, or 1 for any
//! failure), one command from the command line or an interactive prompt.
//!
//! Without `--root`, every command is a request to netconfd over its
//! control socket (the `iface-*` and `change-*` ops, and `ifup`/`ifdown`);
//! with `--root DIR`, the files under DIR are read and written directly,
//! without a daemon, as netcf's own tests used it (`local`).

mod commands;
mod local;
mod remote;

use clap::Parser;
use commands::Parsed;
use netconf_ctlsock_proto::{ClientError, ErrorCode, ErrorReply};
use netconf_ifxml::xml::XmlErrors;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Interactive shell for netcf's interface documents, on netconf
#[derive(Parser, Debug)]
#[command(name = "ncftool", version)]
pub struct Args {
    /// Use ROOT as the root of the file system: read and write
    /// ROOT/etc/network/interfaces (and the files it sources) without netconfd
    #[arg(short = 'r', long = "root", value_name = "ROOT")]
    pub root: Option<PathBuf>,
    /// Show debugging output
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// The control socket of netconfd (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// A command and its arguments, run instead of the interactive prompt
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<String>,
}

/// One connection as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub active: bool,
    /// Asked for with `--macs`; `None` when there is none to tell.
    pub mac: Option<String>,
}

/// What `dumpxml` prints: the document, and what of the stanzas it could
/// not say (`FILE:LINE: IFACE: option`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dumped {
    pub xml: String,
    pub unexpressed: Vec<String>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// What the daemon (or the same code here, with `--root`) answered:
    /// printed as netcf prints its errors, `error: MESSAGE` and one
    /// `error: CAUSE` line each.
    #[error("{0}")]
    Reply(ErrorReply),
    /// The daemon could not be asked.
    #[error("{0}")]
    Client(ClientError),
    /// netcf's lookup failed: no such connection (`why`: not in the
    /// configuration, or a port of which connection).
    #[error("Interface {name} does not exist or is not a toplevel interface")]
    NoSuchInterface { name: String, why: Option<String> },
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Failure {
        Failure::Reply(ErrorReply::new(code, message))
    }

    fn print(&self) {
        match self {
            Failure::Reply(reply) => {
                eprintln!("error: {}", reply.message);
                for cause in &reply.causes {
                    eprintln!("error: {cause}");
                }
            }
            Failure::Client(e) => eprintln!("error: {e}"),
            Failure::NoSuchInterface { why, .. } => {
                eprintln!("{self}");
                if let Some(why) = why {
                    eprintln!("error: {why}");
                }
            }
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Remote(reply) => Failure::Reply(reply),
            e => Failure::Client(e),
        }
    }
}

/// An invalid document as the daemon words it too: netcf's category
/// (`XML parser failed` for text that is not XML, else `XML invalid`),
/// then every error with its line:column and element path.
pub fn xml_failure(errors: &XmlErrors) -> Failure {
    Failure::Reply(ErrorReply {
        code: ErrorCode::InvalidXml,
        message: errors.category().into(),
        causes: errors.0.iter().map(|e| e.to_string()).collect(),
    })
}

/// What ncftool works on: netconfd, or the files under `--root`.
pub trait Backend {
    /// The connections: `active` `Some(true)` only the active ones,
    /// `Some(false)` only the inactive ones, `None` all.
    fn list(&mut self, active: Option<bool>, macs: bool) -> Result<Vec<Listed>, Failure>;
    fn dumpxml(&mut self, name: &str, live: bool) -> Result<Dumped, Failure>;
    /// Writes the document's stanzas; returns the connection's name.
    fn define(&mut self, xml: &str) -> Result<String, Failure>;
    fn undefine(&mut self, name: &str) -> Result<(), Failure>;
    fn ifupdown(&mut self, name: &str, up: bool) -> Result<(), Failure>;
    fn change_begin(&mut self) -> Result<(), Failure>;
    fn change_commit(&mut self) -> Result<(), Failure>;
    fn change_rollback(&mut self) -> Result<(), Failure>;
}

/// How a command ended, as netcf's handlers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Failed,
    Quit,
}

pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            // netcf's usage() exits 1, for --help too; clap's help is 0.
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let mut backend: Box<dyn Backend> = match &args.root {
        Some(root) => Box::new(local::Local::new(root)),
        None => Box::new(remote::Remote::new(
            netconf_ctlsock_proto::socket_path(args.socket.as_deref()),
            args.debug,
        )),
    };
    if args.debug {
        match &args.root {
            Some(root) => eprintln!("ncftool: working on the files under {}", root.display()),
            None => eprintln!(
                "ncftool: asking netconfd at {}",
                netconf_ctlsock_proto::socket_path(args.socket.as_deref()).display()
            ),
        }
    }
    let code = if args.command.is_empty() {
        interactive(backend.as_mut())
    } else {
        match run_words(&args.command, backend.as_mut()) {
            Outcome::Ok | Outcome::Quit => 0,
            Outcome::Failed => 1,
        }
    };
    ExitCode::from(code)
}

/// The prompt: one command a line until `quit` or the end of the input,
/// which need not be a terminal. The exit status is that of the last
/// command before it, as netcf's.
fn interactive(backend: &mut dyn Backend) -> u8 {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut status = 0;
    loop {
        let mut out = std::io::stdout();
        let _ = write!(out, "ncftool> ");
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                // Leave the shell's prompt on a line of its own after ^D.
                if tty {
                    let _ = writeln!(out);
                }
                return status;
            }
            Ok(_) => {}
        }
        // ^D after some text hands the text over without a newline: end
        // the line, so that the output does not stick to what was typed.
        if tty && !line.ends_with('\n') {
            let _ = writeln!(out);
        }
        let words = commands::words(&line);
        // netcf's readline hands an empty line to the parser, which calls
        // it an unknown command ''; an empty line does nothing here.
        if words.is_empty() {
            continue;
        }
        match run_words(&words, backend) {
            Outcome::Quit => return status,
            Outcome::Ok => status = 0,
            Outcome::Failed => status = 1,
        }
    }
}

fn run_words(words: &[String], backend: &mut dyn Backend) -> Outcome {
    let parsed = match commands::parse(words) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("{message}");
            return Outcome::Failed;
        }
    };
    for warning in &parsed.warnings {
        eprintln!("{warning}");
    }
    match run(&parsed, backend) {
        Ok(outcome) => outcome,
        Err(failure) => {
            failure.print();
            Outcome::Failed
        }
    }
}

fn run(cmd: &Parsed, backend: &mut dyn Backend) -> Result<Outcome, Failure> {
    let mut out = std::io::stdout();
    // The parser made sure mandatory arguments are there.
    let arg = |name: &str| cmd.arg(name).unwrap_or_default().to_string();
    match cmd.def.name {
        "list" => {
            let active = if cmd.flag("all") {
                None
            } else {
                Some(!cmd.flag("inactive"))
            };
            let macs = cmd.flag("macs");
            for i in backend.list(active, macs)? {
                let line = match (macs, &i.mac) {
                    (false, _) => i.name.clone(),
                    (true, Some(mac)) => format!("{:<8} {mac}", i.name),
                    (true, None) => format!("{:<8} could not get MAC", i.name),
                };
                let _ = writeln!(out, "{line}");
            }
        }
        "dumpxml" => {
            let mut name = arg("name");
            if cmd.flag("mac") {
                let mac = name.clone();
                let owners: Vec<String> = backend
                    .list(None, true)?
                    .into_iter()
                    .filter(|i| {
                        i.mac
                            .as_deref()
                            .is_some_and(|m| m.eq_ignore_ascii_case(&mac))
                    })
                    .map(|i| i.name)
                    .collect();
                match owners.as_slice() {
                    [] => {
                        return Err(Failure::NoSuchInterface {
                            name: mac,
                            why: Some("no connection has this MAC address".into()),
                        })
                    }
                    [one] => name = one.clone(),
                    [first, ..] => {
                        eprintln!(
                            "warning: {} interfaces have MAC {mac}, only showing one",
                            owners.len()
                        );
                        name = first.clone();
                    }
                }
            }
            let dumped = backend.dumpxml(&name, cmd.flag("live"))?;
            let _ = writeln!(out, "{}", dumped.xml.trim_end());
            for what in &dumped.unexpressed {
                eprintln!("warning: not in the document: {what}");
            }
        }
        "define" => {
            let file = arg("xmlfile");
            let xml = match read_document(&file) {
                Some(xml) => xml,
                None => {
                    eprintln!("Failed to read {}", commands::shown(&file));
                    return Ok(Outcome::Failed);
                }
            };
            let name = backend.define(&xml)?;
            let _ = writeln!(out, "Defined interface {name}");
        }
        "undefine" => {
            let name = arg("iface");
            backend.undefine(&name)?;
            let _ = writeln!(out, "{name} undefined");
        }
        "ifup" | "ifdown" => {
            let name = arg("iface");
            let up = cmd.def.name == "ifup";
            match backend.ifupdown(&name, up) {
                Ok(()) => eprintln!(
                    "Interface {name} successfully brought {}",
                    if up { "up" } else { "down" }
                ),
                Err(f @ Failure::NoSuchInterface { .. }) => return Err(f),
                Err(f) => {
                    eprintln!(
                        "Interface {name} {} failed!",
                        if up { "bring-up" } else { "bring-down" }
                    );
                    return Err(f);
                }
            }
        }
        "change-begin" => {
            backend.change_begin()?;
            let _ = writeln!(out, "config change transaction started");
        }
        "change-commit" => {
            backend.change_commit()?;
            let _ = writeln!(out, "config change transaction committed");
        }
        "change-rollback" => {
            backend.change_rollback()?;
            let _ = writeln!(out, "config change transaction rolled back");
        }
        "help" => match cmd.arg("command") {
            None => {
                let _ = write!(out, "{}", commands::overview());
            }
            Some(name) => match commands::lookup(name) {
                Some(def) => {
                    let _ = write!(out, "{}", commands::details(def));
                }
                None => {
                    eprintln!("unknown command {}", commands::shown(name));
                    return Ok(Outcome::Failed);
                }
            },
        },
        "quit" => return Ok(Outcome::Quit),
        // The table and this match list the same commands.
        other => {
            eprintln!("Unknown command '{}'", commands::shown(other));
            return Ok(Outcome::Failed);
        }
    }
    Ok(Outcome::Ok)
}

/// The document in `file`, if it can be read as text. A file larger than
/// a document may be is read only that far (and then refused by the
/// parser with its size), so `define /dev/zero` ends.
fn read_document(file: &str) -> Option<String> {
    use std::io::Read;
    let limit = netconf_ifxml::xml::MAX_DOCUMENT as u64 + 1;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .ok()?
        .take(limit)
        .read_to_end(&mut bytes)
        .ok()?;
    String::from_utf8(bytes).ok()
}
