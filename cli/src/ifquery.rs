//! `ifquery`: Debian ifupdown 0.8.41's `ifquery`, byte for byte in output and
//! exit status, reading the configuration itself (no daemon needed), plus
//! `--json` for machines, `--syntax-check` for people, and ifupdown2's
//! `--running` and `--check`, which read the kernel over rtnetlink.

use crate::check;
use crate::ifupdown2_report;
use crate::kernel_view::{KernelError, KernelView};
use crate::options::{long_options, Common};
use crate::running;
use crate::usage::{self, warn};
use clap::Parser;
use netconf_ctlsock_proto::{socket_path, Client, Op, StateArgs};
use netconf_interfaces::dialect::ifupdown2::Ifupdown2Iface;
use netconf_interfaces::dialect::ng::NgConfig;
use netconf_interfaces::families::method_def;
use netconf_interfaces::lines::truncate_bytes;
use netconf_interfaces::mapping::run_mapping;
use netconf_interfaces::pattern::fnmatch;
use netconf_interfaces::targets::{
    apply_renames, class_targets, expand, is_ignored, SystemInterfaces,
};
use netconf_interfaces::validate::{dhcp_client_options, missing_required};
use netconf_interfaces::variables::overrides;
use netconf_interfaces::{
    parse_file, DiagnosticKind, Dialect, DialectChoice, InterfacesFile, ParseOptions, Parsed,
    Severity, Variable, Variables,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

const PROG: &str = "ifquery";

/// Query the configuration of network interfaces, as read from
/// /etc/network/interfaces (and the files it sources).
#[derive(Parser, Debug)]
#[command(
    name = "ifquery",
    version,
    args_override_self = true,
    infer_long_args = true,
    // `--running` made `--r` ambiguous; Debian's getopt reads it as
    // `--read-environment`, and so must we.
    mut_arg("read_environment", |a| a.alias("r"))
)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Read interface definitions from FILE
    #[arg(
        short = 'i',
        long = "interfaces",
        value_name = "FILE",
        default_value = "/etc/network/interfaces",
        allow_hyphen_values = true
    )]
    pub interfaces: String,
    /// For --state: read netconfd's state file in DIR (its --run-dir) instead of asking it
    #[arg(long = "state-dir", value_name = "DIR", allow_hyphen_values = true)]
    pub state_dir: Option<String>,
    /// For --state: netconfd's control socket (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<std::path::PathBuf>,
    /// List the matching interfaces instead of their options
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// Show which interfaces are up, as PHYSICAL=LOGICAL (exit 1 if a named one is not)
    #[arg(long = "state")]
    pub state: bool,
    /// Print the parsed configuration (or the queried interfaces, or the --running or --check report) as JSON
    #[arg(long = "json")]
    pub json: bool,
    /// Print the kernel's current configuration of the interfaces, in interfaces(5) syntax
    #[arg(short = 'r', long = "running")]
    pub running: bool,
    /// Compare the configuration of the interfaces with the kernel, option by option; exit 1 on any difference
    #[arg(short = 'c', long = "check")]
    pub check: bool,
    /// Check the configuration and report every problem with file and line (of a profile's
    /// activation options too, netconf-profiles(5)); exit 1 on errors
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// Print what the named interfaces stand on (bridge ports, bond slaves, VLAN raw devices, requires...), recursively, one per line, lowest first
    #[arg(long = "depends")]
    pub depends: bool,
    /// Print the dependency graph (of the whole file, or of the named interfaces) in Graphviz's dot language
    #[arg(long = "graph")]
    pub graph: bool,
    /// ifupdown2's form: "list" prints each interface with its direct lower interfaces, "dot" is --graph
    #[arg(long = "print-dependency", value_name = "FORMAT")]
    pub print_dependency: Option<String>,
    /// ifupdown-ng's -p: print the values of option NAME of the named interfaces, one per line (ifupdown-ng's dialect only)
    #[arg(long = "property", value_name = "NAME")]
    pub property: Option<String>,
    // ifupdown accepts these for ifup/ifdown only; ifquery answers with its usage error.
    #[arg(short = 'n', long = "no-act", hide = true)]
    pub no_act: bool,
    #[arg(short = 'f', long = "force", hide = true)]
    pub force: bool,
    #[arg(long = "ignore-errors", hide = true)]
    pub ignore_errors: bool,
    /// Interfaces to query, as PHYSICAL or PHYSICAL=LOGICAL
    #[arg(value_name = "IFACE")]
    pub ifaces: Vec<String>,
}

pub fn main() -> ExitCode {
    let own = [
        "socket",
        "json",
        "syntax-check",
        "running",
        "check",
        "depends",
        "graph",
        "print-dependency",
        "dialect",
        "property",
    ];
    let args: Args = match usage::parse(PROG, &long_options(&own)) {
        Ok(a) => a,
        Err(code) => return code,
    };
    run(args)
}

fn run(mut args: Args) -> ExitCode {
    if args.no_act || args.force || args.common.s_unused.is_some() {
        return usage::usage(PROG);
    }
    args.common.read_environment();
    let dialect = args.common.dialect.unwrap_or_else(default_dialect);
    // ifupdown2's `-o json` / `-o native` (its output format), where
    // Debian's `-o` sets an option: only for files read as ifupdown2's.
    let mut format = None;
    let is_format = |o: &String| matches!(o.as_str(), "json" | "native");
    // `auto`: only a file that turns out to be ifupdown2's takes them so;
    // for any other, `-o json` stays Debian's error.
    let ifupdown2 = dialect == DialectChoice::Ifupdown2
        || (dialect == DialectChoice::Auto && args.common.option.iter().any(is_format) && {
            let options = ParseOptions {
                dialect,
                ..Default::default()
            };
            parse_file(&args.interfaces, &options).dialect == Dialect::Ifupdown2
        });
    if ifupdown2 {
        args.common.option.retain(|o| match o.as_str() {
            "json" | "native" => {
                format = Some(o.clone());
                false
            }
            _ => true,
        });
    }
    let overrides = match args.common.overrides(PROG) {
        Ok(pairs) => overrides(&pairs),
        Err(code) => return code,
    };
    let kernel = args.running || args.check;
    if kernel && ((args.running && args.check) || args.list || args.state || args.syntax_check) {
        warn(
            PROG,
            "--running and --check go with none of --list, --state, --syntax-check and each other",
        );
        return usage::usage(PROG);
    }
    if args.state {
        return state(&args);
    }
    let options = ParseOptions {
        no_loopback: args.common.no_loopback,
        dialect,
        ..Default::default()
    };
    if args.depends || args.graph || args.print_dependency.is_some() {
        return crate::graph::run(&args, &options);
    }
    if args.syntax_check {
        return syntax_check(&args, &options);
    }
    if args.json && args.ifaces.is_empty() && !args.list && !kernel {
        return json_model(&args, &options);
    }
    if let Err(code) = args.common.check_targets(PROG, &args.ifaces, args.list) {
        return code;
    }
    // Debian's ifquery lists with -a but queries only named interfaces;
    // ifupdown2's --running and --check take -a, and so does its query.
    if args.common.all && !args.list && !kernel && !ifupdown2 {
        return usage::usage(PROG);
    }

    let parsed = parse_file(&args.interfaces, &options);
    print_debian_diagnostics(&parsed, args.common.verbose);
    if parsed.rejected {
        warn(
            PROG,
            &format!("couldn't read interfaces file \"{}\"", args.interfaces),
        );
        return ExitCode::from(1);
    }

    if let Some(ng) = &parsed.ng {
        if !args.list && !kernel && !args.json {
            return ng_query(&args, ng);
        }
    }
    if let Some(objects) = &parsed.ifupdown2 {
        // netconf's `--json` keeps its own report, per Debian stanza.
        if (args.check && !args.json) || (kernel && format.as_deref() == Some("json")) {
            let json = format.as_deref() == Some("json");
            return ifupdown2_kernel(&args, &parsed.config, objects, &overrides, json);
        }
        if !args.list && !kernel && !args.json {
            return ifupdown2_query(&args, objects, format.as_deref() == Some("json"));
        }
    }
    if format.is_some() {
        warn(
            PROG,
            "-o json and -o native are ifupdown2's query formats; --json is netconf's",
        );
        return usage::usage(PROG);
    }
    if args.property.is_some() {
        warn(
            PROG,
            "--property goes with files read in ifupdown-ng's dialect (--dialect ifupdown-ng)",
        );
        return usage::usage(PROG);
    }

    let mut query = Query::new(&parsed.config, &args, overrides);
    let targets = query.targets();
    let mut success = true;
    for target in &targets {
        success &= query.interface(target);
    }
    let mut written = Ok(());
    if kernel {
        match query.kernel_report() {
            Ok((report, passed)) => {
                success &= passed;
                written = query.out.write_all(report.as_bytes());
            }
            Err(e) => {
                let _ = query.finish();
                warn(PROG, &e.to_string());
                return ExitCode::from(1);
            }
        }
    }
    if let Err(e) = written.and_then(|()| query.finish()) {
        // A closed pipe (`ifquery -l | head`) is not worth a word.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            warn(PROG, &format!("write error: {e}"));
        }
        return ExitCode::from(1);
    }
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `DIALECT=` of `/etc/default/networking` (the file netconfd's unit and
/// init script read it from), else `auto`.
fn default_dialect() -> DialectChoice {
    let Ok(text) = std::fs::read_to_string("/etc/default/networking") else {
        return DialectChoice::Auto;
    };
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("DIALECT="))
        .filter_map(|v| {
            v.trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .parse()
                .ok()
        })
        .next_back()
        .unwrap_or_default()
}

/// `ifquery IFACE...` of a file in ifupdown-ng's dialect: each object as
/// ifupdown-ng prints it, or with `--property` the values of one option.
fn ng_query(args: &Args, ng: &NgConfig) -> ExitCode {
    let mut out = String::new();
    let mut success = true;
    for target in &args.ifaces {
        let name = target.split_once('=').map_or(target.as_str(), |(_, l)| l);
        let Some(iface) = ng.interface(name) else {
            warn(PROG, &format!("unknown interface {name}"));
            success = false;
            continue;
        };
        match &args.property {
            Some(key) => {
                for value in iface.values(key) {
                    out.push_str(&value);
                    out.push('\n');
                }
            }
            None => out.push_str(&iface.to_ng_text()),
        }
    }
    print_stdout(&out);
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `ifquery [-a] [IFACE...] [-o json]` of a file read as ifupdown2's: each
/// stanza as ifupdown2 prints it, natively (the stanza as written, a tab
/// before each attribute) or as its JSON objects.
fn ifupdown2_query(args: &Args, objects: &[Ifupdown2Iface], json: bool) -> ExitCode {
    let chosen = match ifupdown2_chosen(args, objects) {
        Ok(chosen) => chosen,
        Err(code) => return code,
    };
    let out = if json {
        let list: Vec<Value> = chosen
            .iter()
            .map(|o| ifupdown2_report::query_json(o))
            .collect();
        format!("{:#}\n", Value::Array(list))
    } else {
        let mut out = String::new();
        for o in chosen {
            if o.auto {
                out.push_str(&format!("auto {}\n", o.name));
            }
            let keyword = if o.bridge_vlan { "vlan" } else { "iface" };
            out.push_str(&format!("{keyword} {}", o.name));
            for word in [&o.family, &o.method].into_iter().flatten() {
                out.push_str(&format!(" {word}"));
            }
            out.push('\n');
            for (key, value) in &o.config {
                out.push_str(&format!("\t{key} {value}\n"));
            }
            out.push('\n');
        }
        out
    };
    print_stdout(&out);
    ExitCode::SUCCESS
}

/// The objects `-a` (those in `auto`) and the named interfaces (all
/// objects of each name) ask for, in the file's order of each; a name
/// without any is ifupdown2's error.
fn ifupdown2_chosen<'a>(
    args: &Args,
    objects: &'a [Ifupdown2Iface],
) -> Result<Vec<&'a Ifupdown2Iface>, ExitCode> {
    let mut chosen: Vec<&Ifupdown2Iface> = Vec::new();
    let mut missing = Vec::new();
    if args.common.all {
        chosen.extend(objects.iter().filter(|o| o.auto));
    }
    for target in &args.ifaces {
        let found: Vec<&Ifupdown2Iface> = objects.iter().filter(|o| &o.name == target).collect();
        if found.is_empty() {
            missing.push(target.as_str());
        }
        chosen.extend(found);
    }
    if !missing.is_empty() {
        warn(
            PROG,
            &format!(
                "error: main exception: cannot find interfaces: {}",
                missing.join(" ")
            ),
        );
        return Err(ExitCode::from(1));
    }
    Ok(chosen)
}

/// `ifquery --check [-o json]` and `--running -o json` of a file read as
/// ifupdown2's, per ifupdown2 object, natively or in its JSON shape;
/// `--check` exits 1 when anything fails.
fn ifupdown2_kernel(
    args: &Args,
    config: &InterfacesFile,
    objects: &[Ifupdown2Iface],
    overrides: &[Variable],
    json: bool,
) -> ExitCode {
    let chosen = match ifupdown2_chosen(args, objects) {
        Ok(chosen) => chosen,
        Err(code) => return code,
    };
    let view = match KernelView::read() {
        Ok(view) => view,
        Err(e) => {
            warn(PROG, &e.to_string());
            return ExitCode::from(1);
        }
    };
    let (report, passed) = match (args.check, json) {
        (true, true) => {
            let (report, passed) = ifupdown2_report::check_json(&view, config, &chosen, overrides);
            (format!("{report:#}\n"), passed)
        }
        (true, false) => ifupdown2_report::check_text(&view, config, &chosen, overrides),
        _ => {
            let report = ifupdown2_report::running_json(&view, config, &chosen);
            (format!("{report:#}\n"), true)
        }
    };
    print_stdout(&report);
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--state`: what netconfd has brought up, `PHYS=LOGICAL`, most recent
/// first as in ifupdown. Asked of the daemon, or read from the state file it
/// keeps (with `--state-dir`, or when it is not running).
fn state(args: &Args) -> ExitCode {
    if args.json {
        return state_json(args);
    }
    let lines = match &args.state_dir {
        Some(dir) => state_from_file(dir),
        None => match state_from_daemon(args) {
            Some(lines) => lines,
            None => state_from_file("/run/netconf"),
        },
    };
    let lines = match lines {
        Ok(lines) => lines,
        Err(message) => {
            warn(PROG, &message);
            return ExitCode::from(1);
        }
    };
    let phys = |line: &str| line.split_once('=').map_or(line, |(p, _)| p).to_string();
    let mut out = String::new();
    let mut all_up = true;
    if args.ifaces.is_empty() {
        for line in &lines {
            out.push_str(&format!("{line}\n"));
        }
    } else {
        for target in &args.ifaces {
            match lines.iter().find(|l| phys(l) == *target) {
                Some(line) => out.push_str(&format!("{line}\n")),
                None => all_up = false,
            }
        }
    }
    print_stdout(&out);
    if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--state --json`: everything netconfd records per interface (logical
/// name, what was applied, the DHCP lease and the DHCP client pid).
fn state_json(args: &Args) -> ExitCode {
    let from_file = |dir: &str| -> Result<Value, String> {
        let path = std::path::Path::new(dir).join("state.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({ "interfaces": [] })),
            Err(e) => Err(format!(
                "{}: {}",
                path.display(),
                netconf_interfaces::parser::strerror(&e)
            )),
        }
    };
    let status = match &args.state_dir {
        Some(dir) => from_file(dir),
        None => {
            let socket = socket_path(args.socket.as_deref());
            match Client::connect(&socket).and_then(|mut c| {
                let args = netconf_ctlsock_proto::StatusArgs {
                    iface: None,
                    records: true,
                };
                c.call(Op::Status(args), |_| {})
            }) {
                Ok(v) => Ok(v),
                Err(e) if e.daemon_unreachable() => from_file("/run/netconf"),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match status {
        Ok(v) => {
            print_stdout(&format!("{v:#}\n"));
            ExitCode::SUCCESS
        }
        Err(message) => {
            warn(PROG, &message);
            ExitCode::from(1)
        }
    }
}

/// `None` when the daemon is not there to ask.
fn state_from_daemon(args: &Args) -> Option<Result<Vec<String>, String>> {
    let socket = socket_path(args.socket.as_deref());
    let answer =
        Client::connect(&socket).and_then(|mut c| c.call(Op::State(StateArgs::default()), |_| {}));
    match answer {
        Err(e) if e.daemon_unreachable() => None,
        Err(e) => Some(Err(e.to_string())),
        Ok(result) => Some(
            serde_json::from_value::<StateReply>(result)
                .map(|r| r.interfaces)
                .map_err(|e| format!("netconfd's state reply: {e}")),
        ),
    }
}

#[derive(serde::Deserialize)]
struct StateReply {
    interfaces: Vec<String>,
}

/// The part of netconfd's state file that `--state` reads.
#[derive(serde::Deserialize)]
struct StateFile {
    interfaces: Vec<StateEntry>,
}

#[derive(serde::Deserialize)]
struct StateEntry {
    phys: String,
    logical: String,
    /// An `ifdown` of it has begun: it is not listed (as Debian's state
    /// file no longer lists it by then).
    #[serde(default)]
    in_progress: Option<InProgress>,
}

#[derive(serde::Deserialize)]
struct InProgress {
    up: bool,
}

fn state_from_file(dir: &str) -> Result<Vec<String>, String> {
    let path = std::path::Path::new(dir).join("state.json");
    let entries = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice::<StateFile>(&bytes)
                .map_err(|e| format!("{}: not a netconf state file: {e}", path.display()))?
                .interfaces
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(format!(
                "{}: {}",
                path.display(),
                netconf_interfaces::parser::strerror(&e)
            ));
        }
    };
    Ok(entries
        .iter()
        .rev()
        .filter(|e| e.in_progress.as_ref().is_none_or(|p| p.up))
        .map(|e| format!("{}={}", e.phys, e.logical))
        .collect())
}

fn print_debian_diagnostics(parsed: &Parsed, verbose: bool) {
    for d in &parsed.diagnostics {
        if d.debian_prints && (verbose || d.severity() != Severity::Info) {
            warn(PROG, &d.debian_text(&parsed.config));
        }
    }
}

fn syntax_check(args: &Args, options: &ParseOptions) -> ExitCode {
    let parsed = parse_file(&args.interfaces, options);
    let mut diagnostics = parsed.diagnostics.clone();
    diagnostics.extend(missing_required(&parsed.config));
    diagnostics.extend(dhcp_client_options(&parsed.config));
    diagnostics.extend(crate::link_kinds::link_option_diagnostics(&parsed.config));
    let mut errors = 0;
    let mut warnings = 0;
    let activation = activation_errors(&parsed);
    for d in &diagnostics {
        // The main file missing is only a warning to ifupdown; here it is the point.
        let main_missing =
            matches!(d.kind, DiagnosticKind::OpenFailed { .. }) && d.location.is_none();
        let severity = if main_missing {
            Severity::Error
        } else {
            d.severity()
        };
        match severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Info if !args.common.verbose => continue,
            Severity::Info => {}
        }
        let report = d.report(&parsed.config);
        let report = if main_missing {
            report.replacen("warning:", "error:", 1)
        } else {
            report
        };
        eprintln!("{report}");
    }
    for (location, message) in &activation {
        errors += 1;
        eprintln!("{location}: error: {message}");
    }
    if args.json {
        let mut all = diagnostics_json(&parsed.config, &diagnostics);
        if let Value::Array(list) = &mut all {
            list.extend(activation.iter().map(|(location, message)| {
                json!({
                    "severity": "error",
                    "location": location,
                    "included_from": [],
                    "message": message,
                    "detail": null,
                })
            }));
        }
        let out = json!({
            "file": args.interfaces,
            "dialect": parsed.dialect,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": all,
        });
        print_stdout(&format!("{out:#}\n"));
    } else {
        eprintln!(
            "{PROG}: {}: {errors} error{}, {warnings} warning{} (read in the {} dialect)",
            args.interfaces,
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
            parsed.dialect,
        );
    }
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The errors of a profile's activation options (netconf-profiles(5)),
/// as location and message, when the file has any such option: a profile
/// is checked as netconfd will read it. A file without them (the
/// interfaces file) gets nothing more.
fn activation_errors(parsed: &netconf_interfaces::Parsed) -> Vec<(String, String)> {
    use netconf_policy::profiles::{from_parsed, ACTIVATION_OPTIONS};
    let has_activation = parsed
        .config
        .stanzas
        .iter()
        .flat_map(|s| &s.options)
        .any(|o| ACTIVATION_OPTIONS.contains(&o.name.as_str()));
    if !has_activation {
        return Vec::new();
    }
    // The reader's own diagnostics are reported already.
    let mut alone = parsed.clone();
    alone.diagnostics.clear();
    alone.rejected = false;
    let path = parsed
        .config
        .files
        .first()
        .map(|f| f.path.clone())
        .unwrap_or_default();
    match from_parsed("", std::path::Path::new(&path), &alone) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid
            .errors
            .into_iter()
            .map(|e| {
                // "FILE:LINE: IFACE: message"; the line number ends the location.
                let cut = e
                    .match_indices(": ")
                    .find(|(i, _)| {
                        e[..*i]
                            .rsplit(':')
                            .next()
                            .is_some_and(|l| l.parse::<u32>().is_ok())
                    })
                    .map(|(i, _)| i);
                match cut {
                    Some(i) => (e[..i].to_string(), e[i + 2..].to_string()),
                    None => (path.clone(), e),
                }
            })
            .collect(),
    }
}

/// Writes to standard output; a reader that went away (`| head`) is no error.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn diagnostics_json(
    config: &InterfacesFile,
    diagnostics: &[netconf_interfaces::Diagnostic],
) -> Value {
    diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": d.severity(),
                "location": d.location.map(|l| config.describe(l)),
                "included_from": d.location.map(|l| config.include_chain(l).into_iter().map(|c| config.describe(c)).collect::<Vec<_>>()),
                "message": d.kind.to_string(),
                "detail": d.kind,
            })
        })
        .collect()
}

fn json_model(args: &Args, options: &ParseOptions) -> ExitCode {
    let parsed = parse_file(&args.interfaces, options);
    let out = json!({
        "config": parsed.config,
        "dialect": parsed.dialect,
        "rejected": parsed.rejected,
        "diagnostics": diagnostics_json(&parsed.config, &parsed.diagnostics),
    });
    print_stdout(&format!("{out:#}\n"));
    if parsed.rejected {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One `ifquery` run over a parsed configuration: ifupdown's `do_interface`
/// for `--list` and for the option dump.
struct Query<'a> {
    config: &'a InterfacesFile,
    args: &'a Args,
    overrides: Vec<Variable>,
    system: SystemInterfaces,
    /// Stanza indexes by logical name, in file order.
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Per stanza, its variables once queried; ifupdown applies defaults and
    /// conversions in place, so a stanza queried twice is converted twice.
    vars: Vec<Option<Variables>>,
    out: BufWriter<std::io::StdoutLock<'static>>,
    json: Vec<Value>,
    /// `--running`/`--check`: the interfaces selected, answered together
    /// from one reading of the kernel.
    selected: Vec<Selected>,
}

/// An interface selected for `--running` or `--check`.
struct Selected {
    iface: String,
    logical: String,
    /// The stanzas of `logical`, after mapping scripts.
    stanzas: Vec<usize>,
}

impl<'a> Query<'a> {
    fn new(config: &'a InterfacesFile, args: &'a Args, overrides: Vec<Variable>) -> Self {
        Query {
            config,
            args,
            overrides,
            system: SystemInterfaces::default(),
            by_name: config
                .stanzas
                .iter()
                .enumerate()
                .fold(HashMap::new(), |mut m, (i, s)| {
                    m.entry(s.name.as_str()).or_insert_with(Vec::new).push(i);
                    m
                }),
            vars: vec![None; config.stanzas.len()],
            out: BufWriter::new(std::io::stdout().lock()),
            json: Vec::new(),
            selected: Vec::new(),
        }
    }

    /// The interfaces to act on, in order (`select_interfaces`).
    fn targets(&mut self) -> Vec<String> {
        let renames = expand(&self.config.renames, &mut self.system);
        let mut targets = if self.args.common.all || self.args.ifaces.is_empty() {
            let class = self.args.common.allow.as_deref().unwrap_or("auto");
            class_targets(self.config, class, &mut self.system)
        } else {
            expand(&self.args.ifaces, &mut self.system)
        };
        apply_renames(&mut targets, &renames);
        targets
    }

    /// `--allow` and `--exclude` filters (`ignore_interface`).
    fn ignored(&mut self, iface: &str) -> bool {
        is_ignored(
            self.config,
            self.args.common.allow.as_deref(),
            &self.args.common.exclude,
            iface,
            &mut self.system,
        )
    }

    fn has_stanza(&self, logical: &str) -> bool {
        self.by_name.contains_key(logical)
    }

    fn has_mapping(&self, logical: &str) -> bool {
        self.config
            .mappings
            .iter()
            .any(|m| m.patterns.iter().any(|p| fnmatch(p, logical, false)))
    }

    fn interface(&mut self, target: &str) -> bool {
        // ifupdown copies the target into 80-byte buffers.
        let target = truncate_bytes(target, 79);
        let (iface, logical) = target.split_once('=').unwrap_or((target, target));
        let mut logical = logical.to_string();

        if self.ignored(iface) {
            return true;
        }
        if !self.has_stanza(&logical) && !self.has_mapping(&logical) {
            warn(PROG, &format!("unknown interface {logical}"));
            return false;
        }

        if self.args.list {
            if self.args.json {
                self.json.push(Value::String(iface.to_string()));
            } else {
                let _ = writeln!(self.out, "{iface}");
            }
            return true;
        }

        if self.args.running {
            // The kernel's view of a device does not depend on which
            // logical interface a mapping script would pick.
            let stanzas = self
                .by_name
                .get(logical.as_str())
                .cloned()
                .unwrap_or_default();
            self.selected.push(Selected {
                iface: iface.to_string(),
                logical,
                stanzas,
            });
            return true;
        }

        let mut mapping_skipped = false;
        for mapping in &self.config.mappings {
            if !mapping.patterns.iter().any(|p| fnmatch(p, &logical, false)) {
                continue;
            }
            if self.args.common.no_mappings {
                if self.args.common.verbose {
                    warn(PROG, &format!("not running mapping scripts for {logical}"));
                }
                mapping_skipped = true;
                continue;
            }
            if self.args.common.verbose {
                let script = mapping.script.as_deref().unwrap_or("(null)");
                warn(
                    PROG,
                    &format!("running mapping script {script} on {logical}"),
                );
            }
            match run_mapping(mapping, iface) {
                Ok(mapped) => logical = mapped,
                Err(lines) => {
                    for line in lines {
                        warn(PROG, &line);
                    }
                    return false;
                }
            }
        }

        let indexes = self
            .by_name
            .get(logical.as_str())
            .cloned()
            .unwrap_or_default();
        let found = !indexes.is_empty();
        if self.args.check {
            if found {
                self.selected.push(Selected {
                    iface: iface.to_string(),
                    logical: logical.clone(),
                    stanzas: indexes,
                });
            }
        } else {
            self.dump(&indexes, iface, &logical);
        }
        if !found && !mapping_skipped {
            warn(PROG, &format!("unknown interface {iface}"));
            return false;
        }
        true
    }

    /// The options of `logical`'s stanzas, as ifupdown prints them.
    fn dump(&mut self, indexes: &[usize], iface: &str, logical: &str) {
        for &idx in indexes {
            let stanza = &self.config.stanzas[idx];
            let vars = self.vars[idx].get_or_insert_with(|| Variables::from_stanza(stanza));
            if let Some(method) = method_def(stanza.family, &stanza.method) {
                vars.apply_defaults(method);
                vars.apply_overrides(&self.overrides);
                vars.convert(method, iface);
            }
            if self.args.common.verbose {
                warn(
                    PROG,
                    &format!("querying interface {iface}={logical} ({})", stanza.family),
                );
            }
            if self.args.json {
                self.json.push(json!({
                    "iface": iface,
                    "logical": logical,
                    "family": stanza.family,
                    "method": stanza.method,
                    "location": stanza.location.map(|l| self.config.describe(l)),
                    "options": vars.0,
                }));
            } else {
                for v in &vars.0 {
                    let _ = writeln!(self.out, "{}: {}", v.name, v.value);
                }
            }
        }
    }

    /// `--running` or `--check` for the selected interfaces: the text (or
    /// JSON) to print, and whether every check passed.
    fn kernel_report(&mut self) -> Result<(String, bool), KernelError> {
        let selected = std::mem::take(&mut self.selected);
        let view = if selected.is_empty() {
            KernelView::default()
        } else {
            KernelView::read()?
        };
        let auto: Vec<String> = class_targets(self.config, "auto", &mut self.system)
            .into_iter()
            .map(|m| m.split_once('=').map_or(m.as_str(), |(p, _)| p).to_string())
            .collect();
        let mut passed = true;
        let (text, json) = if self.args.running {
            let answers: Vec<running::Running> = selected
                .iter()
                .map(|s| {
                    let target = running::Target {
                        name: s.iface.clone(),
                        auto: auto.contains(&s.iface),
                        wants_hwaddress: s.stanzas.iter().any(|&i| {
                            self.config.stanzas[i]
                                .options
                                .iter()
                                .any(|o| o.name == "hwaddress")
                        }),
                    };
                    running::running(&view, &target)
                })
                .collect();
            (
                running::render_text(&answers),
                running::render_json(&answers),
            )
        } else {
            let mut checks = Vec::new();
            for s in &selected {
                let target = check::Target {
                    iface: s.iface.clone(),
                    logical: s.logical.clone(),
                    auto: auto.contains(&s.iface),
                    stanzas: s.stanzas.iter().map(|&i| &self.config.stanzas[i]).collect(),
                };
                checks.extend(check::check(&view, &target, &self.overrides));
            }
            passed = checks.iter().all(check::StanzaCheck::passed);
            (check::render_text(&checks), check::render_json(&checks))
        };
        let report = if self.args.json {
            format!("{json:#}\n")
        } else {
            text
        };
        Ok((report, passed))
    }

    fn finish(mut self) -> std::io::Result<()> {
        if self.args.json && !self.args.running && !self.args.check {
            let text = serde_json::to_string_pretty(&self.json).map_err(std::io::Error::other)?;
            writeln!(self.out, "{text}")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--syntax-check` reports what `ifup` would refuse in a bond's and a
    /// VLAN's options, at the stanza's line.
    #[test]
    fn link_options_are_checked_at_their_stanza() {
        let file = std::env::temp_dir().join(format!(
            "netconf-link-options-{}.interfaces",
            std::process::id()
        ));
        std::fs::write(
            &file,
            "iface bond0 inet manual\n    bond-slaves d0\n    bond-mode lacp\n\n\
             iface bond1 inet manual\n    bond-mode balance-xor\n    bond-primary d0\n\n\
             iface bond2 inet manual\n    bond-mode 1\n    bond-arp-ip-target 198.51.100.1 x\n\n\
             iface mgmt inet manual\n    vlan-raw-device eth0\n\n\
             iface eth0.10 inet manual\n    vlan-raw-device eth1\n\n\
             iface bond3 inet manual\n    bond-mode 4\n    bond-lacp-rate fast\n",
        )
        .unwrap();
        let parsed = parse_file(file.to_str().unwrap(), &ParseOptions::default());
        std::fs::remove_file(&file).unwrap();
        let found: Vec<(u32, String)> = crate::link_kinds::link_option_diagnostics(&parsed.config)
            .iter()
            .map(|d| (d.location.map_or(0, |l| l.line), d.kind.to_string()))
            .collect();
        let lines: Vec<u32> = found.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 5, 9, 13, 16], "{found:#?}");
        assert!(found[0].1.contains("bond-mode lacp"), "{found:?}");
        assert!(found[1].1.contains("active-backup"), "{found:?}");
        assert!(found[2].1.contains("IPv4 addresses"), "{found:?}");
        assert!(found[3].1.contains("lacks `vlan-id"), "{found:?}");
        assert!(found[4].1.contains("contradicts"), "{found:?}");
    }
}
