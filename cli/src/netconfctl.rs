//! `netconfctl`: what netconfd knows and does. `status` shows every
//! interface with its management, state, what differs from its stanza, and
//! the origin of each address and route; `monitor` streams requests, events
//! and kernel changes as they happen; `reload` is `ifreload -a`;
//! `wait-online` returns once the `auto` interfaces are configured;
//! `profile list|show|enable` lists, shows and enables profiles
//! (netconf-profiles(5)).

use crate::ifupdown::{failed, Printer};
use clap::{Parser, Subcommand};
use netconf_ctlsock_proto::{
    socket_path, Client, ClientError, NameArgs, Op, Progress, ReloadArgs, StatusArgs,
    WaitOnlineArgs,
};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const PROG: &str = "netconfctl";

/// Ask netconfd what it knows about the network, and watch it work.
#[derive(Parser, Debug)]
#[command(name = "netconfctl", version)]
pub struct Args {
    /// The control socket of netconfd (default: $NETCONF_SOCKET or /run/netconf/ctl.sock)
    #[arg(long = "socket", value_name = "PATH", global = true)]
    pub socket: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show interfaces: management, state, differences from the configuration,
    /// addresses and routes with their origin, DHCP leases, DNS from router advertisements
    Status {
        /// Only this interface
        #[arg(value_name = "IFACE")]
        iface: Option<String>,
        /// Print the status as JSON (schema in netconf-protocol(7))
        #[arg(long = "json")]
        json: bool,
    },
    /// Print requests, events and kernel changes as they happen, until interrupted
    Monitor {
        /// One JSON object per line
        #[arg(long = "json")]
        json: bool,
    },
    /// Read the configuration again and apply only what changed (as ifreload -a)
    Reload {
        /// Show the plan, change nothing
        #[arg(short = 'n', long = "no-act")]
        no_act: bool,
        /// Show every step
        #[arg(short = 'v', long = "verbose")]
        verbose: bool,
    },
    /// List, show and enable profiles (netconf-profiles(5))
    Profile {
        #[command(subcommand)]
        action: ProfileCommand,
    },
    /// Wait until every "auto" interface (or each IFACE) is configured
    WaitOnline {
        /// Give up after SECONDS (0: wait forever)
        #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 120)]
        timeout: u64,
        /// Interfaces to wait for instead of the "auto" ones
        #[arg(value_name = "IFACE")]
        ifaces: Vec<String>,
    },
    /// Locations (netconf-locations(5)): list them, show one, enable one
    Location {
        #[command(subcommand)]
        action: LocationAction,
    },
    /// External network modifiers (netconf-locations(5)): list, enable, disable
    Enm {
        #[command(subcommand)]
        action: EnmAction,
    },
}

/// How a `list` answer is printed.
#[derive(clap::Args, Debug)]
pub struct Listing {
    /// Print the answer as JSON
    #[arg(long = "json")]
    pub json: bool,
}

/// A named profile, location or modifier, and how the answer is printed.
#[derive(clap::Args, Debug)]
pub struct Named {
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Print the answer as JSON
    #[arg(long = "json")]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum LocationAction {
    /// Every location, the active one marked, with why it is active
    List(Listing),
    /// One location's settings, and which of its conditions hold now
    Show(Named),
    /// Make NAME the active location whatever the conditions say ("automatic":
    /// let the conditions choose again); root only
    Enable(Named),
}

#[derive(Subcommand, Debug)]
pub enum EnmAction {
    /// Every modifier with its state and why
    List(Listing),
    /// Start NAME and keep it running whatever its conditions say; root only
    Enable(Named),
    /// Stop NAME and keep it stopped whatever its conditions say; root only
    Disable(Named),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// The profiles there are, and which is active and why
    List(Listing),
    /// A profile's units and their activation, or every error that refuses it
    Show(Named),
    /// Make NAME the active profile: what the old and the new one both want stays, the old
    /// one's other interfaces go down, the new one's come up (root only)
    Enable(Named),
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
        Err(e) => return failed(PROG, &e, false),
    };
    match args.command {
        Command::Status { iface, json } => status(&mut client, iface, json),
        Command::Monitor { json } => monitor(&mut client, json),
        Command::Reload { no_act, verbose } => reload(&mut client, no_act, verbose),
        Command::Profile { action } => profile(&mut client, action),
        Command::WaitOnline { timeout, ifaces } => {
            wait_online(&mut client, &socket, timeout, ifaces)
        }
        Command::Location { action } => {
            let (op, json) = match action {
                LocationAction::List(Listing { json }) => (Op::LocationList, json),
                LocationAction::Show(Named { name, json }) => {
                    (Op::LocationShow(NameArgs { name }), json)
                }
                LocationAction::Enable(Named { name, json }) => {
                    (Op::LocationEnable(NameArgs { name }), json)
                }
            };
            policy(&mut client, op, json)
        }
        Command::Enm { action } => {
            let (op, json) = match action {
                EnmAction::List(Listing { json }) => (Op::EnmList, json),
                EnmAction::Enable(Named { name, json }) => (Op::EnmEnable(NameArgs { name }), json),
                EnmAction::Disable(Named { name, json }) => {
                    (Op::EnmDisable(NameArgs { name }), json)
                }
            };
            policy(&mut client, op, json)
        }
    }
}

/// The `location` and `enm` commands: the daemon's answer, as JSON or
/// in short lines.
fn policy(client: &mut Client, op: Op, json: bool) -> ExitCode {
    let name = op.name();
    let result = match client.call(op, |_| {}) {
        Ok(v) => v,
        Err(e) => return failed(PROG, &e, json),
    };
    let text = if json {
        format!("{result:#}\n")
    } else {
        match name {
            "location-list" => show_locations(&result),
            "location-show" => show_location(&result),
            "location-enable" => format!("{}\n", describe_choice(&result["active"])),
            "enm-list" => show_enms(&result),
            _ => format!("{} {}\n", str_of(&result["name"]), str_of(&result["state"])),
        }
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// `office (its conditions hold: gateway-mac is 02:...)`.
fn describe_choice(c: &Value) -> String {
    if c.is_null() {
        return "none".to_string();
    }
    let mut s = format!("{} ({}", str_of(&c["name"]), str_of(&c["reason"]));
    let held: Vec<&str> = c["held"]
        .as_array()
        .into_iter()
        .flatten()
        .map(str_of)
        .collect();
    if !held.is_empty() {
        s.push_str(&format!(": {}", held.join("; ")));
    }
    s.push(')');
    let ties: Vec<&str> = c["ties"]
        .as_array()
        .into_iter()
        .flatten()
        .map(str_of)
        .collect();
    if !ties.is_empty() {
        s.push_str(&format!(", tied with {}", ties.join(", ")));
    }
    s
}

fn show_locations(r: &Value) -> String {
    let mut out = String::new();
    if r["in_use"] != true {
        out.push_str("locations are not in use (no locations directory)\n");
    }
    for l in r["locations"].as_array().into_iter().flatten() {
        let mark = if l["active"] == true { "*" } else { " " };
        let mut line = format!(
            "{mark} {:<20} {}",
            str_of(&l["name"]),
            str_of(&l["activation"])
        );
        if l["enabled"] == true {
            line.push_str(", enabled by hand");
        }
        out.push_str(&line);
        out.push('\n');
    }
    if !r["active"].is_null() {
        out.push_str(&format!("active: {}\n", describe_choice(&r["active"])));
    }
    for e in r["refused"].as_array().into_iter().flatten() {
        out.push_str(&format!("refused: {}\n", str_of(e)));
    }
    out
}

fn show_location(r: &Value) -> String {
    let l = &r["location"];
    let mut out = format!("{}: {}", str_of(&l["name"]), str_of(&l["activation"]));
    if r["active"] == true {
        out.push_str(", active");
    }
    out.push('\n');
    for c in r["conditions"].as_array().into_iter().flatten() {
        let holds = if c["holds"] == true {
            "holds"
        } else {
            "does not hold"
        };
        out.push_str(&format!(
            "    condition  {:<44} {holds}\n",
            str_of(&c["condition"])
        ));
    }
    out.push_str(&format!("    dns from   {}\n", str_of(&l["dns_from"])));
    for (key, label) in [
        ("nameservers", "nameserver"),
        ("search", "search"),
        ("start_units", "start-unit"),
        ("stop_units", "stop-unit"),
    ] {
        for v in l[key].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "    {label:<10} {}\n",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            ));
        }
    }
    for (key, label) in [
        ("domain", "domain"),
        ("hosts_file", "hosts"),
        ("nsswitch_file", "nsswitch"),
    ] {
        if let Some(v) = l[key].as_str() {
            out.push_str(&format!("    {label:<10} {v}\n"));
        }
    }
    out
}

fn show_enms(r: &Value) -> String {
    let mut out = String::new();
    for e in r["enms"].as_array().into_iter().flatten() {
        let mut line = format!(
            "{:<20} {:<12} {}",
            str_of(&e["name"]),
            str_of(&e["state"]),
            str_of(&e["activation"])
        );
        if let Some(why) = e["why"].as_str() {
            line.push_str(&format!(" ({why})"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    for e in r["refused"].as_array().into_iter().flatten() {
        out.push_str(&format!("refused: {}\n", str_of(e)));
    }
    out
}

fn status(client: &mut Client, iface: Option<String>, json: bool) -> ExitCode {
    let args = StatusArgs {
        iface: iface.clone(),
        records: false,
    };
    let result = match client.call(Op::Status(args), |_| {}) {
        Ok(v) => v,
        Err(e) => return failed(PROG, &e, json),
    };
    let interfaces = result["interfaces"].as_array().cloned().unwrap_or_default();
    if let Some(name) = &iface {
        if interfaces.is_empty() {
            crate::usage::warn(PROG, &format!("unknown interface {name}"));
            return ExitCode::from(1);
        }
    }
    let text = if json {
        format!("{result:#}\n")
    } else {
        let mut text = String::new();
        // Under the default (legacy, not enabled), status reads as it
        // always has.
        let profile = &result["profile"];
        let default = str_of(&profile["name"]) == "legacy" && profile["why"]["by"] == "default";
        if iface.is_none() && profile.is_object() && !default {
            text.push_str(&format!(
                "profile {}: {}\n",
                str_of(&profile["name"]),
                why_active(profile)
            ));
        }
        if iface.is_none() && !result["location"].is_null() {
            let l = &result["location"];
            text.push_str(&format!("location: {}\n", describe_choice(&l["active"])));
            if let Some(cause) = l["cause"].as_str() {
                text.push_str(&format!("    after    {cause}\n"));
            }
            for e in l["refused"].as_array().into_iter().flatten() {
                text.push_str(&format!("    refused  {}\n", str_of(e)));
            }
        }
        if let Some(enms) = result["enms"].as_object().filter(|_| iface.is_none()) {
            for (name, state) in enms {
                text.push_str(&format!("enm {name}: {}\n", str_of(state)));
            }
        }
        text.extend(interfaces.iter().map(show_interface));
        text
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// One interface as a person reads it at a glance:
///
/// ```text
/// eth0: managed, up
///     config   inet static (/etc/network/interfaces:5)
///     link     up, carrier, mtu 1500, 02:00:00:00:00:01
///     address  198.51.100.1/24                         netconf
///     route    default via 198.51.100.254              netconf
///     dns      nameserver 2001:db8:1::53               ra (router fe80::1, 1795 s left)
/// ```
fn show_interface(i: &Value) -> String {
    let mut out = format!(
        "{}: {}, {}",
        str_of(&i["name"]),
        str_of(&i["management"]),
        str_of(&i["state"])
    );
    if let Some(logical) = i["logical"].as_str().filter(|l| *l != str_of(&i["name"])) {
        out.push_str(&format!(" (as {logical})"));
    }
    out.push('\n');
    let line = |out: &mut String, label: &str, text: &str| {
        out.push_str(&format!("    {label:<8} {text}\n"));
    };
    if let Some(error) = i["error"].as_str() {
        line(&mut out, "error", error);
    }
    for d in i["differs"].as_array().into_iter().flatten() {
        line(&mut out, "differs", str_of(d));
    }
    for c in i["config"].as_array().into_iter().flatten() {
        let place = c["location"]
            .as_str()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        line(
            &mut out,
            "config",
            &format!("{} {}{place}", str_of(&c["family"]), str_of(&c["method"])),
        );
    }
    match i["link"].as_object() {
        Some(l) => {
            let mut parts = vec![if l["up"] == true { "up" } else { "down" }.to_string()];
            if l["carrier"] == true {
                parts.push("carrier".into());
            }
            parts.push(format!("mtu {}", l["mtu"]));
            if let Some(mac) = l["mac"].as_str() {
                parts.push(mac.to_string());
            }
            if let Some(kind) = l["kind"].as_str() {
                parts.push(kind.to_string());
            }
            if let Some(master) = l["master"].as_str() {
                parts.push(format!("port of {master}"));
            }
            line(&mut out, "link", &parts.join(", "));
        }
        None => line(&mut out, "link", "absent"),
    }
    for a in i["addresses"].as_array().into_iter().flatten() {
        let text = format!("{:<40} {}", str_of(&a["address"]), str_of(&a["origin"]));
        line(&mut out, "address", &text);
    }
    for r in i["routes"].as_array().into_iter().flatten() {
        let text = format!("{:<40} {}", str_of(&r["route"]), str_of(&r["origin"]));
        line(&mut out, "route", &text);
    }
    for d in i["dhcp"].as_array().into_iter().flatten() {
        let lease = &d["lease"];
        // A daemon from before other clients has no "client".
        let client = d["client"].as_str().unwrap_or("dhclient");
        let mut text = format!("{} {client}", str_of(&d["family"]));
        match d["pid"].as_u64() {
            Some(pid) => text.push_str(&format!(" pid {pid}")),
            None => text.push_str(" (not running)"),
        }
        if let Some(addr) = lease["address"].as_str() {
            text.push_str(&format!(", lease {addr}"));
        }
        if let Some(server) = lease["server"].as_str() {
            text.push_str(&format!(" from {server}"));
        }
        line(&mut out, "dhcp", &text);
    }
    for d in i["dns"].as_array().into_iter().flatten() {
        let what = format!("{} {}", str_of(&d["type"]), str_of(&d["value"]));
        let left = match d["lifetime"].as_u64() {
            Some(secs) => format!("{secs} s left"),
            None => "no end".to_string(),
        };
        let text = format!(
            "{what:<40} {} (router {}, {left})",
            str_of(&d["origin"]),
            str_of(&d["router"])
        );
        line(&mut out, "dns", &text);
    }
    out
}

fn monitor(client: &mut Client, json: bool) -> ExitCode {
    let mut out = std::io::stdout();
    let show = |p: &Progress| {
        let text = if json {
            serde_json::to_string(p).unwrap_or_default()
        } else {
            match &p.iface {
                Some(iface) => format!("{:<10} {:<8} {}", iface, p.step, p.message),
                None => format!("{:<10} {:<8} {}", "-", p.step, p.message),
            }
        };
        // A closed pipe (monitor | head) ends the monitor.
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            std::process::exit(0);
        }
    };
    match client.call(Op::Monitor, show) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => failed(PROG, &e, json),
    }
}

fn reload(client: &mut Client, no_act: bool, verbose: bool) -> ExitCode {
    let mut printer = Printer {
        prog: PROG,
        verbose: true,
        json: false,
    };
    match client.call(
        Op::Reload(ReloadArgs {
            no_act,
            verbose,
            dialect: None,
        }),
        |p| printer.show(p),
    ) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => failed(PROG, &e, false),
    }
}

fn profile(client: &mut Client, action: ProfileCommand) -> ExitCode {
    let (op, json) = match action {
        ProfileCommand::List(Listing { json }) => (Op::ProfileList, json),
        ProfileCommand::Show(Named { name, json }) => (Op::ProfileShow(NameArgs { name }), json),
        ProfileCommand::Enable(Named { name, json }) => {
            (Op::ProfileEnable(NameArgs { name }), json)
        }
    };
    let enable = matches!(op, Op::ProfileEnable(_));
    let mut printer = Printer {
        prog: PROG,
        verbose: true,
        json,
    };
    let result = match client.call(op.clone(), |p| {
        if enable {
            printer.show(p)
        }
    }) {
        Ok(v) => v,
        Err(e) => return failed(PROG, &e, json),
    };
    let text = if json {
        format!("{result:#}\n")
    } else {
        match op {
            Op::ProfileList => show_profiles(&result),
            Op::ProfileShow(_) => show_profile(&result),
            _ => String::new(),
        }
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Why the active profile is active, in words.
fn why_active(active: &Value) -> String {
    let why = &active["why"];
    let mut out = match str_of(&why["by"]) {
        "enabled" => format!("enabled by {}", str_of(&why["who"])),
        _ => "the default".to_string(),
    };
    if let Some(at) = why["at"].as_u64() {
        out.push_str(&format!(" at {at} (seconds since 1970)"));
    }
    if let Some(units) = active["selected"].as_array().filter(|u| !u.is_empty()) {
        let names: Vec<&str> = units.iter().map(str_of).collect();
        out.push_str(&format!("; up: {}", names.join(" ")));
        if let Some(g) = active["group"].as_u64() {
            out.push_str(&format!(" (priority group {g})"));
        }
    }
    if let Some(cause) = active["cause"].as_str() {
        out.push_str(&format!("; last choice: {cause}"));
    }
    if active["hold_down"].as_bool() == Some(true) {
        out.push_str("; a better group waits for the hold-down");
    }
    out
}

/// ```text
/// * legacy      built in (the default)
///   automatic   built in
///   office
///   broken      invalid: netconfctl profile show broken
/// ```
fn show_profiles(result: &Value) -> String {
    let mut out = String::new();
    for p in result["profiles"].as_array().into_iter().flatten() {
        let name = str_of(&p["name"]);
        let active = p["active"].as_bool() == Some(true);
        let mut notes = Vec::new();
        if p["builtin"].as_bool() == Some(true) {
            notes.push("built in".to_string());
        }
        if p["valid"].as_bool() == Some(false) {
            notes.push(format!("invalid: {PROG} profile show {name}"));
        }
        if active {
            notes.push(format!("active: {}", why_active(&result["active"])));
        }
        let mark = if active { '*' } else { ' ' };
        out.push_str(format!("{mark} {name:<12} {}", notes.join(", ")).trim_end());
        out.push('\n');
    }
    if let Some(n) = result["truncated"].as_u64() {
        out.push_str(&format!("  ... and {n} more\n"));
    }
    out
}

/// ```text
/// office: /etc/netconf/profiles/office
///     eth0      prioritized, priority group 1 (exclusive)
///     vpn0      conditional (any): ncu eth0 is active
/// ```
fn show_profile(p: &Value) -> String {
    let file = p["file"].as_str().unwrap_or("built in");
    let mut out = format!("{}: {file}", str_of(&p["name"]));
    if p["active"].as_bool() == Some(true) {
        out.push_str(" (active)");
    }
    out.push('\n');
    for u in p["units"].as_array().into_iter().flatten() {
        let a = &u["activation"];
        let how = match str_of(&a["mode"]) {
            "prioritized" => {
                let group = a["group"].as_u64().unwrap_or(0);
                let mode = str_of(&p["groups"][group.to_string()]);
                format!("prioritized, priority group {group} ({mode})")
            }
            "conditional" => {
                let conditions: Vec<&str> = a["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(str_of)
                    .collect();
                format!(
                    "conditional ({}): {}",
                    str_of(&a["combine"]),
                    conditions.join("; ")
                )
            }
            other => other.to_string(),
        };
        out.push_str(&format!("    {:<9} {how}\n", str_of(&u["name"])));
    }
    out
}

fn wait_online(
    client: &mut Client,
    socket: &std::path::Path,
    timeout: u64,
    ifaces: Vec<String>,
) -> ExitCode {
    if timeout > 0 {
        if let Err(e) = client.set_read_timeout(Some(Duration::from_secs(timeout))) {
            return failed(PROG, &e, false);
        }
    }
    let started = std::time::Instant::now();
    let args = WaitOnlineArgs { targets: ifaces };
    let mut waiting = Vec::new();
    let result = client.call(Op::WaitOnline(args), |p| {
        eprintln!("{PROG}: {}", p.message);
        waiting.extend(p.iface.clone());
    });
    match result {
        Ok(_) => {
            eprintln!(
                "{PROG}: online after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(ClientError::TimedOut { .. }) => {
            let missing = not_online(socket, &waiting).unwrap_or_else(|_| waiting.join(", "));
            crate::usage::warn(
                PROG,
                &format!("timed out after {timeout} s; not configured yet: {missing}"),
            );
            ExitCode::from(1)
        }
        Err(e) => failed(PROG, &e, false),
    }
}

/// Those of `waiting` that are not up, with their state, for the timeout
/// message.
fn not_online(socket: &std::path::Path, waiting: &[String]) -> Result<String, ClientError> {
    let mut client = Client::connect(socket)?;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    let status = client.call(Op::Status(StatusArgs::default()), |_| {})?;
    let names: Vec<String> = status["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| waiting.iter().any(|w| i["name"] == w.as_str()))
        .filter(|i| i["state"] != "up" && i["state"] != "differs")
        .map(|i| {
            let mut s = format!("{} ({})", str_of(&i["name"]), str_of(&i["state"]));
            if let Some(e) = i["error"].as_str() {
                s.push_str(&format!(": {e}"));
            }
            s
        })
        .collect();
    Ok(names.join(", "))
}
