//! `ifquery --depends`, `--graph` and `--print-dependency`: the dependency
//! graph of the configuration (netconf_interfaces::graph), which no Debian
//! `ifquery` has.
//!
//! * `--depends IFACE...`: what the interfaces stand on, recursively, one
//!   per line in the order `ifup` brings them up (lowest first);
//! * `--graph [IFACE...]`: the graph in Graphviz's dot language, of the whole
//!   file or of the named interfaces and what they stand on;
//! * `--print-dependency=list|dot` (ifupdown2's spelling): `list` prints each
//!   interface with its direct lowers as ifupdown2 does (`br0 : ['eth0']`,
//!   `lo : None`), `dot` is `--graph`.
//!
//! Port patterns (`bridge_ports all`, `regex eth.*`) are matched against the
//! interfaces this namespace has. A dependency cycle is reported with the
//! file and line of each interface's stanza, exit status 1.

use crate::ifquery::Args;
use crate::usage::warn;
use netconf_interfaces::graph::Graph;
use netconf_interfaces::system::system_interfaces;
use netconf_interfaces::targets::{class_targets, SystemInterfaces};
use netconf_interfaces::{parse_file, ParseOptions, Severity};
use std::io::Write;
use std::process::ExitCode;

const PROG: &str = "ifquery";

/// What to print.
enum Output {
    Depends,
    Dot,
    List,
}

/// Runs `--depends`, `--graph` or `--print-dependency` for `args`.
pub fn run(args: &Args, options: &ParseOptions) -> ExitCode {
    let output = match args.print_dependency.as_deref() {
        Some("list") => Output::List,
        Some("dot") => Output::Dot,
        Some(other) => {
            warn(
                PROG,
                &format!("--print-dependency: \"{other}\" is not list or dot"),
            );
            return ExitCode::from(1);
        }
        None if args.depends => Output::Depends,
        None => Output::Dot,
    };

    let parsed = parse_file(&args.interfaces, options);
    for d in &parsed.diagnostics {
        if d.debian_prints && (args.common.verbose || d.severity() != Severity::Info) {
            warn(PROG, &d.debian_text(&parsed.config));
        }
    }
    if parsed.rejected {
        warn(
            PROG,
            &format!("couldn't read interfaces file \"{}\"", args.interfaces),
        );
        return ExitCode::from(1);
    }
    let config = &parsed.config;
    let graph = Graph::from_config(config, &system_interfaces());

    // Named interfaces by their logical name (`eth0=home` is `home`).
    let mut targets: Vec<String> = args
        .ifaces
        .iter()
        .map(|t| t.split_once('=').map_or(t.as_str(), |(_, l)| l).to_string())
        .collect();
    if args.common.all {
        let class = args.common.allow.as_deref().unwrap_or("auto");
        targets.extend(class_targets(
            config,
            class,
            &mut SystemInterfaces::default(),
        ));
    }
    if let Some(unknown) = targets.iter().find(|t| graph.node_named(t).is_none()) {
        warn(PROG, &format!("unknown interface {unknown}"));
        return ExitCode::from(1);
    }

    let mut out = String::new();
    let mut status = ExitCode::SUCCESS;
    match output {
        Output::Depends => {
            if targets.is_empty() {
                warn(PROG, "--depends: no interface(s) specified");
                return crate::usage::usage(PROG);
            }
            match graph.order(&targets) {
                Ok(levels) => {
                    let below: Vec<String> =
                        targets.iter().flat_map(|t| graph.closure_down(t)).collect();
                    for name in levels.iter().flatten() {
                        // A named interface is listed only if another named
                        // one stands on it.
                        if !targets.contains(name) || below.contains(name) {
                            out.push_str(name);
                            out.push('\n');
                        }
                    }
                }
                Err(cycle) => {
                    warn(PROG, &cycle.to_string());
                    return ExitCode::from(1);
                }
            }
        }
        Output::Dot => {
            let only = (!targets.is_empty()).then_some(targets.as_slice());
            out = graph.to_dot(only);
            // The picture is worth having even with a cycle (it shows it),
            // but the cycle is still an error.
            let checked = if targets.is_empty() {
                graph.check()
            } else {
                graph.order(&targets)
            };
            if let Err(cycle) = checked {
                warn(PROG, &cycle.to_string());
                status = ExitCode::from(1);
            }
        }
        Output::List => {
            let names: Vec<String> = if targets.is_empty() {
                graph
                    .nodes()
                    .iter()
                    .filter(|n| n.has_stanza)
                    .map(|n| n.name.clone())
                    .collect()
            } else {
                targets.clone()
            };
            for name in names {
                let lowers = graph.lowers(&name);
                if lowers.is_empty() {
                    out.push_str(&format!("{name} : None\n"));
                } else {
                    let quoted: Vec<String> = lowers.iter().map(|l| format!("'{l}'")).collect();
                    out.push_str(&format!("{name} : [{}]\n", quoted.join(", ")));
                }
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`| head`) is not worth a word.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            warn(PROG, &format!("write error: {e}"));
            return ExitCode::from(1);
        }
    }
    status
}
