//! Requests: what a client asks of netconfd, and how the daemon reads them
//! from a line while telling the kinds of bad input apart.

use crate::dhcp::DhcpEventArgs;
use crate::response::{ErrorCode, ErrorReply, Response};
use crate::{MAX_LINE, PROTOCOL_VERSION, UNKNOWN_ID};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

/// One request line: `{"version":1,"id":7,"op":"ifup","args":{...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Always [`PROTOCOL_VERSION`] when sent by this crate.
    pub version: u32,
    /// Chosen by the client, at least 1, increasing on a connection; every
    /// reply line to this request carries it.
    pub id: u64,
    /// The operation and its arguments (`op` and `args` on the wire).
    #[serde(flatten)]
    pub op: Op,
}

impl Request {
    /// A request of the current protocol version.
    pub fn new(id: u64, op: Op) -> Request {
        Request {
            version: PROTOCOL_VERSION,
            id,
            op,
        }
    }
}

/// What a request asks for. On the wire, `op` is the kebab-case name and
/// `args` the variant's fields; ops without arguments leave `args` out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "args", rename_all = "kebab-case")]
pub enum Op {
    /// `ifup`: bring interfaces up.
    Ifup(ChangeArgs),
    /// `ifdown`: take interfaces down.
    Ifdown(ChangeArgs),
    /// `ifquery --state`: which interfaces netconf has up, under which name.
    State(StateArgs),
    /// `netconfctl status`: what the daemon knows about interfaces.
    Status(StatusArgs),
    /// `ifreload` / `netconfctl reload` / SIGHUP: read the configuration
    /// again and apply only what changed.
    Reload(ReloadArgs),
    /// `netconfctl monitor`: a stream of progress lines (requests, events,
    /// changes made outside netconf) until the client hangs up.
    Monitor,
    /// `netconf-wait-online`: answers once every `auto` interface (or the
    /// ones named) is configured; the client keeps its own timeout.
    WaitOnline(WaitOnlineArgs),
    /// Is the daemon there and answering?
    Ping,
    /// `netconf-dhcp-hook`: dhclient ran its script; the result is the
    /// [`DhcpVerdict`](crate::DhcpVerdict) the hook exits with.
    DhcpEvent(DhcpEventArgs),
    /// `ncftool list`: the interface documents (connections) of the
    /// configuration, with whether each is active and its MAC.
    IfaceList(IfaceListArgs),
    /// `ncftool dumpxml`: one connection as netcf's interface XML.
    IfaceXml(IfaceXmlArgs),
    /// `ncftool define`: write a document's stanzas into the configuration.
    IfaceDefine(IfaceDefineArgs),
    /// `ncftool undefine`: remove a connection's stanzas.
    IfaceUndefine(IfaceUndefineArgs),
    /// `ncftool change-begin`: snapshot the configuration files.
    ChangeBegin,
    /// `ncftool change-commit`: drop the snapshot.
    ChangeCommit,
    /// `ncftool change-rollback`: restore the snapshot, then apply the
    /// difference to the kernel as `reload` does.
    ChangeRollback,
    /// `netconfctl profile list`: the profiles there are, which is active
    /// and why.
    ProfileList,
    /// `netconfctl profile show NAME`: a profile's units and activation,
    /// or every error that refuses it.
    ProfileShow(NameArgs),
    /// `netconfctl profile enable NAME`: make it the active profile,
    /// switching by difference (root only).
    ProfileEnable(NameArgs),
    /// `netconfctl location list`: every location, which is active and why.
    LocationList,
    /// `netconfctl location show NAME`: one location's settings and
    /// conditions, with which of them hold now.
    LocationShow(NameArgs),
    /// `netconfctl location enable NAME`: hold NAME active (`automatic`:
    /// let the conditions choose again). Root only.
    LocationEnable(NameArgs),
    /// `netconfctl enm list`: the external network modifiers and their state.
    EnmList,
    /// `netconfctl enm enable NAME`: start a modifier and keep it running
    /// whatever its conditions say. Root only.
    EnmEnable(NameArgs),
    /// `netconfctl enm disable NAME`: stop a modifier and keep it stopped.
    /// Root only.
    EnmDisable(NameArgs),
}

impl Op {
    /// Every op name the daemon knows, as written on the wire.
    pub const NAMES: &'static [&'static str] = &[
        "ifup",
        "ifdown",
        "state",
        "status",
        "reload",
        "ping",
        "dhcp-event",
        "monitor",
        "wait-online",
        "iface-list",
        "iface-xml",
        "iface-define",
        "iface-undefine",
        "change-begin",
        "change-commit",
        "change-rollback",
        "profile-list",
        "profile-show",
        "profile-enable",
        "location-list",
        "location-show",
        "location-enable",
        "enm-list",
        "enm-enable",
        "enm-disable",
    ];

    /// The op's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Ifup(_) => "ifup",
            Op::Ifdown(_) => "ifdown",
            Op::State(_) => "state",
            Op::Status(_) => "status",
            Op::Reload(_) => "reload",
            Op::Ping => "ping",
            Op::DhcpEvent(_) => "dhcp-event",
            Op::Monitor => "monitor",
            Op::WaitOnline(_) => "wait-online",
            Op::IfaceList(_) => "iface-list",
            Op::IfaceXml(_) => "iface-xml",
            Op::IfaceDefine(_) => "iface-define",
            Op::IfaceUndefine(_) => "iface-undefine",
            Op::ChangeBegin => "change-begin",
            Op::ChangeCommit => "change-commit",
            Op::ChangeRollback => "change-rollback",
            Op::ProfileList => "profile-list",
            Op::ProfileShow(_) => "profile-show",
            Op::ProfileEnable(_) => "profile-enable",
            Op::LocationList => "location-list",
            Op::LocationShow(_) => "location-show",
            Op::LocationEnable(_) => "location-enable",
            Op::EnmList => "enm-list",
            Op::EnmEnable(_) => "enm-enable",
            Op::EnmDisable(_) => "enm-disable",
        }
    }

    /// Whether the op may change the network, and so needs a peer with uid 0
    /// (or, but for [`root_only`](Op::root_only) ops, in netconfd's admin
    /// group); the others are open to every local user.
    pub fn changes_network(&self) -> bool {
        match self {
            Op::Ifup(_)
            | Op::Ifdown(_)
            | Op::Reload(_)
            | Op::DhcpEvent(_)
            | Op::IfaceDefine(_)
            | Op::IfaceUndefine(_)
            | Op::ChangeBegin
            | Op::ChangeCommit
            | Op::ChangeRollback
            | Op::ProfileEnable(_)
            | Op::LocationEnable(_)
            | Op::EnmEnable(_)
            | Op::EnmDisable(_) => true,
            Op::State(_)
            | Op::Status(_)
            | Op::Ping
            | Op::Monitor
            | Op::WaitOnline(_)
            | Op::IfaceList(_)
            | Op::IfaceXml(_)
            | Op::ProfileList
            | Op::ProfileShow(_)
            | Op::LocationList
            | Op::LocationShow(_)
            | Op::EnmList => false,
        }
    }

    /// Whether only a peer with uid 0 may make the request, whatever its
    /// groups: `dhcp-event`, which only the hook run by a dhclient that
    /// netconfd started (as root) sends (the daemon also checks its
    /// token); and the ops that write the configuration files
    /// (`iface-define`, `iface-undefine`, `change-*`): an admin may apply
    /// root's configuration, not rewrite it (docs/SECURITY.md).
    pub fn root_only(&self) -> bool {
        matches!(
            self,
            Op::DhcpEvent(_)
                | Op::IfaceDefine(_)
                | Op::IfaceUndefine(_)
                | Op::ChangeBegin
                | Op::ChangeCommit
                | Op::ChangeRollback
                | Op::LocationEnable(_)
                | Op::EnmEnable(_)
                | Op::EnmDisable(_)
        )
    }
}

// Whether the op named `name` has an `args` object; `parse_request` uses it
// to accept `args` missing, `null` or `{}` where the derive alone would not.
fn takes_args(name: &str) -> bool {
    !matches!(
        name,
        "ping"
            | "monitor"
            | "change-begin"
            | "change-commit"
            | "change-rollback"
            | "location-list"
            | "enm-list"
            | "profile-list"
    )
}

/// Arguments of `ifup` and `ifdown`: the command line of ifupdown's
/// commands, as typed, so that the daemon resolves it exactly as ifupdown
/// would. Every field may be left out (it then takes its default), and this
/// crate leaves out fields that hold their default.
///
/// Unknown fields are rejected rather than ignored: a newer client's flag
/// silently dropped by an older daemon could turn `--no-act` into a real
/// change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeArgs {
    /// Interfaces as typed: `PHYS` or `PHYS=LOGICAL`, patterns included.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `-a`: every interface of the `auto` class (or of `--allow`'s class).
    #[serde(skip_serializing_if = "is_false")]
    pub all: bool,
    /// `--allow CLASS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// `-X PATTERN`, each occurrence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `-o NAME=VALUE`, in command-line order; `[["mtu","9000"]]` on the wire.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
    /// `-i FILE`, made absolute by the client (the daemon's working directory
    /// is not the caller's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<String>,
    /// `--dialect`: `debian`, `ifupdown2`, `ifupdown-ng` or `auto`; absent: the
    /// daemon's own (`netconfd --dialect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// `-f` / `--force`.
    #[serde(skip_serializing_if = "is_false")]
    pub force: bool,
    /// `-n` / `--no-act`: report what would be done, change nothing.
    #[serde(skip_serializing_if = "is_false")]
    pub no_act: bool,
    /// `--no-scripts`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_scripts: bool,
    /// `--no-mappings`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_mappings: bool,
    /// `--no-loopback`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_loopback: bool,
    /// `--ignore-errors`.
    #[serde(skip_serializing_if = "is_false")]
    pub ignore_errors: bool,
    /// `-v`: the daemon sends detailed progress (commands, hook output).
    #[serde(skip_serializing_if = "is_false")]
    pub verbose: bool,
    /// `--no-wait`: return once DHCP clients are started, without waiting for
    /// their first lease (boot, hotplug); the daemon keeps trying.
    #[serde(skip_serializing_if = "is_false")]
    pub no_wait: bool,
    /// The caller's `IFUPDOWN_*` environment variables, in order: hooks get
    /// them as under ifupdown, and they tell a hook's recursive `ifup` of its
    /// own interface (refused) from a fresh one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inherited: Vec<(String, String)>,
}

/// Arguments of `state` (`ifquery --state`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateArgs {
    /// Interfaces to report, as typed; empty means all that are up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Arguments of `reload` (`ifreload`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReloadArgs {
    /// `-n`: say what would change, change nothing.
    #[serde(skip_serializing_if = "is_false")]
    pub no_act: bool,
    /// Show every step, not only hook output and the plan.
    #[serde(skip_serializing_if = "is_false")]
    pub verbose: bool,
    /// `--dialect`: must be the daemon's own (a reload reads the daemon's
    /// file as the daemon always reads it); absent: the daemon's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
}

/// Arguments of `wait-online`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WaitOnlineArgs {
    /// Interfaces to wait for; empty means every `auto` interface.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Arguments of `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusArgs {
    /// One interface, or every interface when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    /// The daemon's records (what `RUN_DIR/state.json` holds) instead of
    /// the status of interfaces: `ifquery --state --json`.
    #[serde(skip_serializing_if = "is_false")]
    pub records: bool,
}

/// Arguments of `iface-list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IfaceListArgs {
    /// `true`: only the active connections (netcf's default), `false`: only
    /// the inactive ones, absent or `null`: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Each with its MAC address.
    #[serde(skip_serializing_if = "is_false")]
    pub macs: bool,
}

/// Arguments of the ops about one named profile, location or modifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameArgs {
    pub name: String,
}

/// Arguments of `iface-xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceXmlArgs {
    /// A connection (a top-level interface document).
    pub name: String,
    /// Add the kernel's state: addresses, link state and speed, MAC.
    #[serde(default, skip_serializing_if = "is_false")]
    pub live: bool,
}

/// Arguments of `iface-define`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceDefineArgs {
    /// The interface document, netcf's XML.
    pub xml: String,
}

/// Arguments of `iface-undefine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceUndefineArgs {
    /// A connection (a top-level interface document).
    pub name: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a request line was refused: the code and message of the `error` reply,
/// and the request's id when it could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    id: Option<u64>,
    code: ErrorCode,
    message: String,
}

impl RequestError {
    fn new(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> RequestError {
        RequestError {
            id,
            code,
            message: message.into(),
        }
    }

    fn bad(id: Option<u64>, message: impl Into<String>) -> RequestError {
        RequestError::new(id, ErrorCode::BadRequest, message)
    }

    /// The refusal of a line longer than [`MAX_LINE`], for the daemon to send
    /// when its [`LineDecoder`](crate::LineDecoder) reports
    /// [`FrameError::TooLong`](crate::FrameError::TooLong).
    pub fn too_large() -> RequestError {
        RequestError::new(
            None,
            ErrorCode::TooLarge,
            format!("request line longer than {MAX_LINE} bytes"),
        )
    }

    /// The request's id, if the line got far enough to have one.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// One of `bad-request`, `too-large`, `unsupported-version`, `unknown-op`.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What was wrong, for a human (also the `Display` form).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error reply's body.
    pub fn reply(&self) -> ErrorReply {
        ErrorReply::new(self.code, self.message.clone())
    }

    /// The whole reply, addressed to the request's id, or to
    /// [`UNKNOWN_ID`] when the id could not be read.
    pub fn to_response(&self) -> Response {
        Response::error(self.id.unwrap_or(UNKNOWN_ID), self.reply())
    }
}

/// Reads one request line (without its newline) the way the daemon must:
///
/// - not JSON, not an object, `id` or `version` missing or not an integer
///   (or `id` 0), `op` missing or not a string, or bad `args`:
///   [`ErrorCode::BadRequest`];
/// - a `version` other than [`PROTOCOL_VERSION`]: [`ErrorCode::UnsupportedVersion`];
/// - an `op` not in [`Op::NAMES`]: [`ErrorCode::UnknownOp`].
///
/// The error carries the id whenever it was readable, so the reply reaches
/// the right caller. Unknown top-level fields are ignored; unknown fields in
/// `args` are not.
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| RequestError::bad(None, format!("request is not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(RequestError::bad(None, "request is not a JSON object"));
    };

    // The id first: every later error is then addressed to it.
    let id = match map.get("id") {
        None => return Err(RequestError::bad(None, "request has no \"id\"")),
        Some(v) => match v.as_u64() {
            Some(id) if id != UNKNOWN_ID => id,
            _ => {
                return Err(RequestError::bad(
                    None,
                    format!("\"id\" must be an integer from 1 to {}, not {v}", u64::MAX),
                ))
            }
        },
    };
    let id_known = Some(id);

    let version = match map.get("version") {
        None => return Err(RequestError::bad(id_known, "request has no \"version\"")),
        Some(v) => v.as_u64().ok_or_else(|| {
            RequestError::bad(
                id_known,
                format!("\"version\" must be a non-negative integer, not {v}"),
            )
        })?,
    };
    if version != u64::from(PROTOCOL_VERSION) {
        return Err(RequestError::new(
            id_known,
            ErrorCode::UnsupportedVersion,
            format!(
                "protocol version {version} is not supported (this netconfd speaks version {PROTOCOL_VERSION})"
            ),
        ));
    }

    let op = match map.get("op") {
        None => return Err(RequestError::bad(id_known, "request has no \"op\"")),
        Some(Value::String(op)) => op.clone(),
        Some(v) => {
            return Err(RequestError::bad(
                id_known,
                format!("\"op\" must be a string, not {v}"),
            ))
        }
    };
    if !Op::NAMES.contains(&op.as_str()) {
        return Err(RequestError::new(
            id_known,
            ErrorCode::UnknownOp,
            format!("unknown op \"{op}\" (known: {})", Op::NAMES.join(", ")),
        ));
    }

    match map.get("args") {
        None | Some(Value::Null | Value::Object(_)) => {}
        // serde would read a struct from an array by position; nobody means that.
        Some(v) => {
            return Err(RequestError::bad(
                id_known,
                format!("invalid arguments for {op}: \"args\" must be an object, not {v}"),
            ))
        }
    }
    normalise_args(&op, &mut map);
    let request: Request = serde_json::from_value(Value::Object(map))
        .map_err(|e| RequestError::bad(id_known, format!("invalid arguments for {op}: {e}")))?;

    match &request.op {
        Op::Ifup(args) | Op::Ifdown(args) => {
            if let Some(file) = &args.interfaces {
                if !Path::new(file).is_absolute() {
                    return Err(RequestError::bad(
                        id_known,
                        format!("\"interfaces\" must be an absolute path, not \"{file}\""),
                    ));
                }
            }
        }
        Op::DhcpEvent(args) => {
            if let Some(problem) = args.problem() {
                return Err(RequestError::bad(
                    id_known,
                    format!("invalid arguments for dhcp-event: {problem}"),
                ));
            }
        }
        Op::IfaceXml(IfaceXmlArgs { name, .. })
        | Op::IfaceUndefine(IfaceUndefineArgs { name })
        | Op::ProfileShow(NameArgs { name })
        | Op::ProfileEnable(NameArgs { name })
        | Op::LocationShow(NameArgs { name })
        | Op::LocationEnable(NameArgs { name })
        | Op::EnmEnable(NameArgs { name })
        | Op::EnmDisable(NameArgs { name }) => {
            if name.is_empty() {
                return Err(RequestError::bad(
                    id_known,
                    format!("invalid arguments for {op}: \"name\" must not be empty"),
                ));
            }
        }
        Op::State(_)
        | Op::Status(_)
        | Op::Reload(_)
        | Op::Ping
        | Op::Monitor
        | Op::WaitOnline(_)
        | Op::IfaceList(_)
        | Op::IfaceDefine(_)
        | Op::ChangeBegin
        | Op::ChangeCommit
        | Op::ChangeRollback
        | Op::ProfileList
        | Op::LocationList
        | Op::EnmList => {}
    }
    Ok(request)
}

// Hand-written clients (socat, scripts) reasonably send `"args":{}` to ping
// or leave `args` out of `status`; the derived adjacently tagged form would
// refuse both, so the line is brought to the derive's shape first.
fn normalise_args(op: &str, map: &mut Map<String, Value>) {
    let empty = match map.get("args") {
        None | Some(Value::Null) => true,
        Some(Value::Object(args)) => args.is_empty(),
        Some(_) => false,
    };
    if !empty {
        return;
    }
    if takes_args(op) {
        map.insert("args".to_owned(), Value::Object(Map::new()));
    } else {
        map.remove("args");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(request: &Request) -> String {
        serde_json::to_string(request).unwrap()
    }

    fn samples() -> Vec<Op> {
        vec![
            Op::Ifup(ChangeArgs {
                targets: vec!["eth0".into(), "eth1=home".into()],
                all: true,
                allow: Some("hotplug".into()),
                exclude: vec!["lo".into()],
                options: vec![("mtu".into(), "9000".into()), ("a".into(), "b=c".into())],
                interfaces: Some("/etc/network/interfaces".into()),
                dialect: Some("ifupdown-ng".into()),
                force: true,
                no_act: true,
                no_scripts: true,
                no_mappings: true,
                no_loopback: true,
                ignore_errors: true,
                verbose: true,
                no_wait: true,
                inherited: vec![("IFUPDOWN_eth0".into(), "pre-up".into())],
            }),
            Op::Ifdown(ChangeArgs::default()),
            Op::State(StateArgs {
                targets: vec!["eth0".into()],
            }),
            Op::State(StateArgs::default()),
            Op::Status(StatusArgs {
                iface: Some("eth0".into()),
                records: true,
            }),
            Op::Status(StatusArgs::default()),
            Op::Reload(ReloadArgs::default()),
            Op::Reload(ReloadArgs {
                no_act: true,
                verbose: true,
                dialect: Some("debian".into()),
            }),
            Op::Ping,
            Op::Monitor,
            Op::WaitOnline(WaitOnlineArgs::default()),
            Op::WaitOnline(WaitOnlineArgs {
                targets: vec!["eth0".into()],
            }),
            Op::DhcpEvent(dhcp_args()),
            Op::IfaceList(IfaceListArgs::default()),
            Op::IfaceList(IfaceListArgs {
                active: Some(false),
                macs: true,
            }),
            Op::IfaceXml(IfaceXmlArgs {
                name: "br0".into(),
                live: true,
            }),
            Op::IfaceXml(IfaceXmlArgs {
                name: "br0".into(),
                live: false,
            }),
            Op::IfaceDefine(IfaceDefineArgs {
                xml: "<interface type=\"ethernet\" name=\"eth0\"/>\n".into(),
            }),
            Op::IfaceUndefine(IfaceUndefineArgs { name: "br0".into() }),
            Op::ChangeBegin,
            Op::ChangeCommit,
            Op::ChangeRollback,
            Op::ProfileList,
            Op::ProfileShow(NameArgs {
                name: "office".into(),
            }),
            Op::ProfileEnable(NameArgs {
                name: "automatic".into(),
            }),
        ]
    }

    fn dhcp_args() -> DhcpEventArgs {
        DhcpEventArgs {
            token: "abc123".into(),
            client: "dhclient".into(),
            interface: "eth0".into(),
            reason: "BOUND".into(),
            env: vec![
                ("NETCONF_TOKEN".into(), "abc123".into()),
                ("new_ip_address".into(), "198.51.100.7".into()),
                (
                    "new_domain_search".into(),
                    "example.test. lab.example.test.".into(),
                ),
                ("reason".into(), "BOUND".into()),
                ("interface".into(), "eth0".into()),
                (
                    "PATH".into(),
                    "/usr/sbin:/sbin:/bin:/usr/sbin:/usr/bin".into(),
                ),
            ],
        }
    }

    #[test]
    fn wire_form_is_pinned() {
        let ifup = Request::new(
            7,
            Op::Ifup(ChangeArgs {
                targets: vec!["eth0".into()],
                ..ChangeArgs::default()
            }),
        );
        assert_eq!(
            json(&ifup),
            r#"{"version":1,"id":7,"op":"ifup","args":{"targets":["eth0"]}}"#
        );
        assert_eq!(
            json(&Request::new(8, Op::Ping)),
            r#"{"version":1,"id":8,"op":"ping"}"#
        );
        assert_eq!(
            json(&Request::new(9, Op::Status(StatusArgs::default()))),
            r#"{"version":1,"id":9,"op":"status","args":{}}"#
        );
        assert_eq!(
            json(&Request::new(10, Op::DhcpEvent(dhcp_args()))),
            concat!(
                r#"{"version":1,"id":10,"op":"dhcp-event","args":{"token":"abc123","#,
                r#""client":"dhclient","interface":"eth0","reason":"BOUND","env":[["NETCONF_TOKEN","abc123"],"#,
                r#"["new_ip_address","198.51.100.7"],"#,
                r#"["new_domain_search","example.test. lab.example.test."],"#,
                r#"["reason","BOUND"],["interface","eth0"],"#,
                r#"["PATH","/usr/sbin:/sbin:/bin:/usr/sbin:/usr/bin"]]}}"#
            )
        );
        let full = Request::new(1, samples().remove(0));
        assert_eq!(
            json(&full),
            concat!(
                r#"{"version":1,"id":1,"op":"ifup","args":{"targets":["eth0","eth1=home"],"#,
                r#""all":true,"allow":"hotplug","exclude":["lo"],"#,
                r#""options":[["mtu","9000"],["a","b=c"]],"interfaces":"/etc/network/interfaces","#,
                r#""dialect":"ifupdown-ng","#,
                r#""force":true,"no_act":true,"no_scripts":true,"no_mappings":true,"#,
                r#""no_loopback":true,"ignore_errors":true,"verbose":true,"no_wait":true,"#,
                r#""inherited":[["IFUPDOWN_eth0","pre-up"]]}}"#
            )
        );
    }

    #[test]
    fn every_op_round_trips_through_parse_request() {
        for (i, op) in samples().into_iter().enumerate() {
            let request = Request::new(i as u64 + 1, op);
            let line = json(&request);
            assert_eq!(
                parse_request(line.as_bytes()),
                Ok(request.clone()),
                "{line}"
            );
            // The derive alone reads what the derive writes, too.
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);
        }
    }

    #[test]
    fn names_match_the_wire() {
        for op in samples() {
            let value = serde_json::to_value(Request::new(1, op.clone())).unwrap();
            assert_eq!(value["op"], op.name());
            assert!(Op::NAMES.contains(&op.name()));
            assert_eq!(takes_args(op.name()), value.get("args").is_some());
        }
    }

    #[test]
    fn authorisation_classes() {
        assert!(Op::Ifup(ChangeArgs::default()).changes_network());
        assert!(Op::Ifdown(ChangeArgs::default()).changes_network());
        assert!(Op::Reload(ReloadArgs::default()).changes_network());
        assert!(!Op::Monitor.changes_network());
        assert!(!Op::State(StateArgs::default()).changes_network());
        assert!(!Op::Status(StatusArgs::default()).changes_network());
        assert!(!Op::Ping.changes_network());
        let dhcp = Op::DhcpEvent(dhcp_args());
        assert!(dhcp.changes_network());
        assert!(dhcp.root_only());
        for op in samples() {
            let writes_config = matches!(
                op.name(),
                "iface-define"
                    | "iface-undefine"
                    | "change-begin"
                    | "change-commit"
                    | "change-rollback"
            );
            assert_eq!(
                op.root_only(),
                op.name() == "dhcp-event" || writes_config,
                "{}",
                op.name()
            );
            // Root-only ops change the network; reads are open to all.
            // (profile-enable is root's too, but by the daemon's policy:
            // it writes no configuration file.)
            assert!(!op.root_only() || op.changes_network(), "{}", op.name());
        }
        assert!(!Op::IfaceList(IfaceListArgs::default()).changes_network());
        assert!(!Op::IfaceXml(IfaceXmlArgs {
            name: "br0".into(),
            live: true
        })
        .changes_network());
    }

    #[test]
    fn dhcp_event_arguments_are_checked() {
        let line =
            |args: &str| format!(r#"{{"version":1,"id":5,"op":"dhcp-event","args":{args}}}"#);
        let ok = line(r#"{"token":"t","interface":"eth0","reason":"PREINIT","env":[]}"#);
        assert!(parse_request(ok.as_bytes()).is_ok(), "{ok}");
        for (args, why) in [
            ("{}", "missing field `token`"),
            (
                r#"{"token":"t","interface":"eth0","reason":"BOUND"}"#,
                "missing field `env`",
            ),
            (
                r#"{"token":"t","interface":"eth0","reason":"BOUND","env":{"a":"b"}}"#,
                "expected a sequence",
            ),
            (
                r#"{"token":"t","interface":"eth0","reason":"BOUND","env":[["a"]]}"#,
                "invalid length 1",
            ),
            (
                r#"{"token":"t","interface":"eth0","reason":"BOUND","env":[],"pid":1}"#,
                "unknown field `pid`",
            ),
            (
                r#"{"token":"","interface":"eth0","reason":"BOUND","env":[]}"#,
                "\"token\" must not be empty",
            ),
            (
                r#"{"token":"t","interface":"","reason":"BOUND","env":[]}"#,
                "\"interface\" must not be empty",
            ),
            (
                r#"{"token":"t","interface":"eth0","reason":"NBI","env":[]}"#,
                "unknown dhclient reason \"NBI\"",
            ),
        ] {
            let e = refused(&line(args));
            assert_eq!(
                (e.code, e.id),
                (ErrorCode::BadRequest, Some(5)),
                "{args}: {e}"
            );
            assert!(
                e.message.starts_with("invalid arguments for dhcp-event: "),
                "{e}"
            );
            assert!(e.message.contains(why), "{args}: {e}");
        }
        // Without `args` at all, the fields are missing like with `{}`.
        let e = refused(r#"{"version":1,"id":5,"op":"dhcp-event"}"#);
        assert!(e.message.contains("missing field `token`"), "{e}");
    }

    #[test]
    fn lenient_about_empty_args() {
        for line in [
            r#"{"version":1,"id":3,"op":"ping","args":{}}"#,
            r#"{"version":1,"id":3,"op":"ping","args":null}"#,
        ] {
            assert_eq!(parse_request(line.as_bytes()).unwrap().op, Op::Ping);
        }
        for line in [
            r#"{"version":1,"id":3,"op":"ifup"}"#,
            r#"{"version":1,"id":3,"op":"ifup","args":null}"#,
            r#"{"id":3,"op":"ifup","args":{},"version":1}"#,
        ] {
            assert_eq!(
                parse_request(line.as_bytes()).unwrap().op,
                Op::Ifup(ChangeArgs::default())
            );
        }
        let status = parse_request(br#"{"version":1,"id":3,"op":"status"}"#).unwrap();
        assert_eq!(status.op, Op::Status(StatusArgs::default()));
        // Unknown top-level fields leave room for later additions.
        let extra = parse_request(br#"{"version":1,"id":3,"op":"ping","trace":"x"}"#).unwrap();
        assert_eq!(extra.op, Op::Ping);
        // Surrounding whitespace, e.g. a CR from a terminal, is harmless.
        assert!(parse_request(b" {\"version\":1,\"id\":3,\"op\":\"ping\"}\r").is_ok());
    }

    fn refused(line: &str) -> RequestError {
        parse_request(line.as_bytes()).unwrap_err()
    }

    #[test]
    fn bad_request_without_id() {
        for line in [
            "",
            "not json",
            "{\"version\":1,",
            "[1,2]",
            "\"ping\"",
            "{}",
            r#"{"version":1,"op":"ping"}"#,
            r#"{"version":1,"id":"7","op":"ping"}"#,
            r#"{"version":1,"id":-1,"op":"ping"}"#,
            r#"{"version":1,"id":1.5,"op":"ping"}"#,
            r#"{"version":1,"id":0,"op":"ping"}"#,
            r#"{"version":1,"id":18446744073709551616,"op":"ping"}"#,
        ] {
            let e = refused(line);
            assert_eq!((e.code, e.id), (ErrorCode::BadRequest, None), "{line}: {e}");
        }
        assert!(parse_request(b"\xff\xfe").is_err());
    }

    #[test]
    fn bad_request_with_id() {
        for line in [
            r#"{"id":5,"op":"ping"}"#,
            r#"{"version":"1","id":5,"op":"ping"}"#,
            r#"{"version":1.0,"id":5,"op":"ping"}"#,
            r#"{"version":1,"id":5}"#,
            r#"{"version":1,"id":5,"op":7}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":{"targets":"eth0"}}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":{"no-act":true}}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":[]}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":[["eth0"],true]}"#,
            r#"{"version":1,"id":5,"op":"ping","args":[]}"#,
            r#"{"version":1,"id":5,"op":"ping","args":"x"}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":{"options":[["a"]]}}"#,
            r#"{"version":1,"id":5,"op":"ifup","args":{"interfaces":"interfaces"}}"#,
            r#"{"version":1,"id":5,"op":"ping","args":{"x":1}}"#,
            r#"{"version":1,"id":5,"op":"status","args":{"iface":3}}"#,
            r#"{"version":1,"id":5,"op":"iface-xml","args":{}}"#,
            r#"{"version":1,"id":5,"op":"iface-xml","args":{"name":""}}"#,
            r#"{"version":1,"id":5,"op":"iface-xml","args":{"name":"br0","mac":true}}"#,
            r#"{"version":1,"id":5,"op":"iface-define"}"#,
            r#"{"version":1,"id":5,"op":"iface-define","args":{"xml":7}}"#,
            r#"{"version":1,"id":5,"op":"iface-undefine","args":{"name":""}}"#,
            r#"{"version":1,"id":5,"op":"iface-list","args":{"active":"yes"}}"#,
            r#"{"version":1,"id":5,"op":"change-begin","args":{"force":true}}"#,
        ] {
            let e = refused(line);
            assert_eq!(
                (e.code, e.id),
                (ErrorCode::BadRequest, Some(5)),
                "{line}: {e}"
            );
        }
        let e = refused(r#"{"version":1,"id":5,"op":"ifup","args":{"targets":"eth0"}}"#);
        assert!(e.message.starts_with("invalid arguments for ifup: "), "{e}");
        assert!(e.message.contains("expected a sequence"), "{e}");
        let e = refused(r#"{"version":1,"id":5,"op":"ifdown","args":{"no-act":true}}"#);
        assert!(e.message.contains("unknown field `no-act`"), "{e}");
    }

    #[test]
    fn unsupported_version() {
        for line in [
            r#"{"version":2,"id":5,"op":"ping"}"#,
            r#"{"version":0,"id":5,"op":"ping"}"#,
            r#"{"version":4294967297,"id":5,"op":"ping"}"#,
            // The version is judged before the op: a newer client's new op
            // is reported as a version problem, which is the real one.
            r#"{"version":2,"id":5,"op":"frobnicate"}"#,
        ] {
            let e = refused(line);
            assert_eq!(
                (e.code, e.id),
                (ErrorCode::UnsupportedVersion, Some(5)),
                "{line}: {e}"
            );
        }
    }

    #[test]
    fn unknown_op() {
        let e = refused(r#"{"version":1,"id":6,"op":"frobnicate","args":{"x":1}}"#);
        assert_eq!((e.code, e.id), (ErrorCode::UnknownOp, Some(6)));
        assert!(e.message.contains("\"frobnicate\""), "{e}");
        // Op names are case-sensitive kebab-case.
        assert_eq!(
            refused(r#"{"version":1,"id":6,"op":"Ifup"}"#).code,
            ErrorCode::UnknownOp
        );
    }

    #[test]
    fn protocol_md_examples() {
        let reply =
            |line: &str| String::from_utf8(crate::encode(&refused(line).to_response())).unwrap();
        assert_eq!(
            reply("hello"),
            "{\"id\":0,\"type\":\"error\",\"code\":\"bad-request\",\"message\":\"request is not valid JSON: expected value at line 1 column 1\"}\n"
        );
        assert_eq!(
            reply(r#"{"version":2,"id":3,"op":"ping"}"#),
            "{\"id\":3,\"type\":\"error\",\"code\":\"unsupported-version\",\"message\":\"protocol version 2 is not supported (this netconfd speaks version 1)\"}\n"
        );
    }

    #[test]
    fn errors_become_replies() {
        let e = refused(r#"{"version":1,"id":6,"op":"frobnicate"}"#);
        let reply = e.to_response();
        assert_eq!(reply.id, 6);
        assert_eq!(reply.body, crate::Body::Error(e.reply()));
        assert_eq!(refused("nope").to_response().id, UNKNOWN_ID);
        let big = RequestError::too_large();
        assert_eq!((big.code, big.id), (ErrorCode::TooLarge, None));
        assert_eq!(big.to_string(), "request line longer than 1048576 bytes");
    }
}
