//! The options ifupdown's `ifup`, `ifdown` and `ifquery` share, spelled and
//! checked as ifupdown does.

use crate::usage::{self, warn};
use clap::Args;
use std::process::ExitCode;

/// ifupdown's long options in its getopt order: the order getopt lists them
/// in when an abbreviation is ambiguous.
const IFUPDOWN_LONG_OPTIONS: &[&str] = &[
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
];

/// ifupdown's long options, then a command's own.
pub fn long_options(own: &[&'static str]) -> Vec<&'static str> {
    IFUPDOWN_LONG_OPTIONS.iter().chain(own).copied().collect()
}

#[derive(Args, Debug)]
pub struct Common {
    /// All interfaces marked "auto" (or of the --allow class); ifdown: all that are up
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only interfaces listed in "allow-CLASS" lines
    #[arg(long = "allow", value_name = "CLASS", allow_hyphen_values = true)]
    pub allow: Option<String>,
    /// Leave out interfaces matching PATTERN (a shell glob; repeatable)
    #[arg(
        short = 'X',
        long = "exclude",
        value_name = "PATTERN",
        allow_hyphen_values = true
    )]
    pub exclude: Vec<String>,
    /// Show what is being done, on standard error
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
    /// Do not add the implicit "auto lo" / "iface lo inet loopback"
    #[arg(long = "no-loopback")]
    pub no_loopback: bool,
    /// Honour VERBOSE, CONFIGURE_INTERFACES, EXCLUDE_INTERFACES and DIALECT (/etc/default/networking)
    #[arg(long = "read-environment")]
    pub read_environment: bool,
    /// Read the file in this dialect: debian, ifupdown2, ifupdown-ng, or auto (Debian's unless a
    /// line only one other dialect has says otherwise); ifup and ifdown: default the daemon's
    #[arg(long = "dialect", value_name = "DIALECT")]
    pub dialect: Option<netconf_interfaces::DialectChoice>,
    // Accepted by ifupdown; nothing to do here.
    #[arg(long = "no-act-commands", hide = true)]
    pub no_act_commands: bool,
    // In ifupdown's option string but handled by none: a usage error.
    #[arg(short = 's', hide = true, allow_hyphen_values = true)]
    pub s_unused: Option<String>,
}

impl Common {
    /// `-o` values as pairs, in order; the first without `=` is an error
    /// worded as ifupdown words it.
    pub fn overrides(&self, prog: &str) -> Result<Vec<(String, String)>, ExitCode> {
        let mut pairs = Vec::new();
        for o in &self.option {
            let Some((name, value)) = o.split_once('=') else {
                warn(
                    prog,
                    &format!("error in --option \"{o}\" -- no \"=\" character"),
                );
                return Err(ExitCode::from(1));
            };
            pairs.push((name.to_string(), value.to_string()));
        }
        Ok(pairs)
    }

    /// `--read-environment`: `VERBOSE=yes` and `EXCLUDE_INTERFACES` taken
    /// in; returns whether `CONFIGURE_INTERFACES=no` asks for a dry run.
    pub fn read_environment(&mut self) -> bool {
        if !self.read_environment {
            return false;
        }
        if std::env::var("VERBOSE").is_ok_and(|v| v == "yes") {
            self.verbose = true;
        }
        if self.dialect.is_none() {
            if let Some(d) = std::env::var("DIALECT").ok().and_then(|d| d.parse().ok()) {
                self.dialect = Some(d);
            }
        }
        if let Ok(list) = std::env::var("EXCLUDE_INTERFACES") {
            let words = list.split([' ', '\t', '\n']).filter(|w| !w.is_empty());
            self.exclude.extend(words.map(String::from));
        }
        std::env::var("CONFIGURE_INTERFACES").is_ok_and(|v| v == "no")
    }

    /// ifupdown's checks of `-a` against named interfaces (`listing`: `ifquery -l`,
    /// where neither is needed).
    pub fn check_targets(
        &self,
        prog: &str,
        ifaces: &[String],
        listing: bool,
    ) -> Result<(), ExitCode> {
        if !ifaces.is_empty() && self.all {
            warn(
                prog,
                "either use the --all option, or specify interface(s), but not both",
            );
            return Err(usage::usage(prog));
        }
        if ifaces.is_empty() && !self.all && !listing {
            warn(prog, "no interface(s) specified");
            return Err(usage::usage(prog));
        }
        Ok(())
    }
}
