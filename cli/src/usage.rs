//! Command-line errors worded as ifupdown's GNU `getopt_long` words them,
//! followed by its "Use --help for help" and exit status 1, so that scripts
//! written against ifupdown see the same thing.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::process::ExitCode;

/// Prints `PROG: MESSAGE` on standard error.
pub fn warn(prog: &str, message: &str) {
    eprintln!("{prog}: {message}");
}

/// getopt names the program as it was invoked (`argv[0]`), not by its short name.
fn invoked_as(prog: &str) -> String {
    std::env::args_os()
        .next()
        .map_or_else(|| prog.to_string(), |a| a.to_string_lossy().into_owned())
}

/// ifupdown's `usage()`.
pub fn usage(prog: &str) -> ExitCode {
    warn(prog, "Use --help for help");
    ExitCode::from(1)
}

/// Parses the command line; on `--help`/`--version` prints and exits 0, on an
/// error prints getopt's wording and returns the exit code. `long_options`
/// lists the long options in ifupdown's order, for getopt's "is ambiguous".
pub fn parse<T: clap::Parser>(prog: &str, long_options: &[&str]) -> Result<T, ExitCode> {
    T::try_parse().map_err(|e| report(prog, &e, long_options))
}

/// What a command-line error becomes: help and version printed (exit 0), or
/// getopt's message and ifupdown's usage line (exit 1).
pub fn report(prog: &str, e: &clap::Error, long_options: &[&str]) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            warn(&invoked_as(prog), &getopt_message(e, long_options));
            usage(prog)
        }
    }
}

fn getopt_message(e: &clap::Error, long_options: &[&str]) -> String {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.first().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    // clap names a value-taking option as "--interfaces <FILE>" or "-i <FILE>".
    let option = arg
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    match e.kind() {
        ErrorKind::UnknownArgument if option.starts_with("--") => {
            let typed = option[2..].split('=').next().unwrap_or_default();
            let candidates: Vec<String> = long_options
                .iter()
                .filter(|l| l.starts_with(typed))
                .map(|l| format!("'--{l}'"))
                .collect();
            if candidates.len() > 1 {
                format!(
                    "option '--{typed}' is ambiguous; possibilities: {}",
                    candidates.join(" ")
                )
            } else {
                format!("unrecognized option '{option}'")
            }
        }
        ErrorKind::UnknownArgument => {
            let c = option.trim_start_matches('-').chars().next().unwrap_or('?');
            format!("invalid option -- '{c}'")
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals if !option.is_empty() => {
            // A value can only be missing at the end: the last word says how
            // the option was spelled.
            let typed = std::env::args_os()
                .next_back()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default();
            match (typed.starts_with("--"), option.strip_prefix("--")) {
                (true, Some(long)) => format!("option '--{long}' requires an argument"),
                _ => {
                    let c = typed.chars().last().unwrap_or('?');
                    format!("option requires an argument -- '{c}'")
                }
            }
        }
        _ => e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    }
}
