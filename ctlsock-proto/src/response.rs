//! Replies: progress lines while a request runs, then one final `ok` or
//! `error`, and the stable error codes the final `error` carries.

use crate::{EXIT_FAILURE, EXIT_PERMISSION_DENIED};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// One reply line: `{"id":7,"type":"ok","result":{...}}` and the like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The id of the request answered, or [`UNKNOWN_ID`](crate::UNKNOWN_ID)
    /// for an error about a request whose id could not be read.
    pub id: u64,
    /// `type` and the fields that go with it.
    #[serde(flatten)]
    pub body: Body,
}

impl Response {
    /// A progress line.
    pub fn progress(id: u64, progress: Progress) -> Response {
        Response {
            id,
            body: Body::Progress(progress),
        }
    }

    /// The final line of a request that succeeded.
    pub fn ok(id: u64, result: Value) -> Response {
        Response {
            id,
            body: Body::Ok { result },
        }
    }

    /// The final line of a request that failed.
    pub fn error(id: u64, error: ErrorReply) -> Response {
        Response {
            id,
            body: Body::Error(error),
        }
    }

    /// Whether this line ends the request's exchange.
    pub fn is_final(&self) -> bool {
        !matches!(self.body, Body::Progress(_))
    }
}

/// What a reply line says, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Body {
    /// Something happened while the request runs; more lines follow.
    Progress(Progress),
    /// The request succeeded; `result` is op-specific (`docs/PROTOCOL.md`).
    Ok {
        #[serde(default)]
        result: Value,
    },
    /// The request failed.
    Error(ErrorReply),
}

/// A step of the work a request caused, or a line a hook script printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The interface concerned (the physical name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    /// The daemon's event id, so the lines of one event can be told apart
    /// when a request fans out into several (one per interface, children).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
    /// A short machine word for the phase: `pre-up`, `up`, `post-up`,
    /// `pre-down`, `down`, `post-down`, `link`, `address`, `route`, `dhcp`,
    /// `mapping`, `warning`, ... New words may appear; clients show the
    /// message of a step they do not know like any other.
    pub step: String,
    /// Set when `message` is a line of a hook script's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    /// The text for a human (one line of output, without its newline).
    pub message: String,
}

/// Which output of a hook script a progress line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The body of an `error` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// Stable, for programs.
    pub code: ErrorCode,
    /// One line for a human: what failed.
    pub message: String,
    /// Why, outermost first (each the cause of the one before); left out of
    /// the wire form when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

impl ErrorReply {
    /// An error without causes.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
        ErrorReply {
            code,
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// Adds the next cause in the chain.
    pub fn with_cause(mut self, cause: impl Into<String>) -> ErrorReply {
        self.causes.push(cause.into());
        self
    }
}

/// The message followed by its causes, `message: cause: cause`, so that one
/// line tells the whole story (the form `ifup: ...` prints).
impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorReply {}

/// The machine-readable kind of an `error` reply. The strings are stable:
/// scripts and other programs match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The line is not a well-formed request.
    BadRequest,
    /// The line is longer than [`MAX_LINE`](crate::MAX_LINE).
    TooLarge,
    /// The request's `version` is not one the daemon speaks.
    UnsupportedVersion,
    /// The request's `op` is not one the daemon knows.
    UnknownOp,
    /// The peer may not do this (changing ops need uid 0 or netconfd's admin group).
    PermissionDenied,
    /// No such interface in the configuration (or in the kernel, for status).
    UnknownInterface,
    /// The interfaces file has errors that stop the request.
    ConfigInvalid,
    /// A hook script (`pre-up`, `up`, `/etc/network/if-*.d`, ...) failed.
    HookFailed,
    /// The work did not finish in time (DHCP lease, DAD, a hung script).
    Timeout,
    /// The kernel refused a change.
    Netlink,
    /// The daemon cannot take the request now (shutting down, overloaded).
    Busy,
    /// The interface is not configured by netconf (e.g. `ifdown` of an
    /// interface that is not up).
    NotConfigured,
    /// A bug or unexpected failure in the daemon.
    Internal,
    /// An interface document is not well-formed or not valid against
    /// netcf's `interface.rng`; the causes list every error.
    InvalidXml,
    /// `iface-define`/`iface-undefine` could not write the configuration
    /// (nothing was written).
    EditFailed,
    /// A `change-*` op does not fit the transaction's state (a second
    /// `change-begin`, a `change-commit` with none open), or its files
    /// could not be saved or restored.
    Transaction,
    /// A code this client does not know, from a newer daemon. Never sent.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedVersion,
        ErrorCode::UnknownOp,
        ErrorCode::PermissionDenied,
        ErrorCode::UnknownInterface,
        ErrorCode::ConfigInvalid,
        ErrorCode::HookFailed,
        ErrorCode::Timeout,
        ErrorCode::Netlink,
        ErrorCode::Busy,
        ErrorCode::NotConfigured,
        ErrorCode::Internal,
        ErrorCode::InvalidXml,
        ErrorCode::EditFailed,
        ErrorCode::Transaction,
        ErrorCode::Unknown,
    ];

    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad-request",
            ErrorCode::TooLarge => "too-large",
            ErrorCode::UnsupportedVersion => "unsupported-version",
            ErrorCode::UnknownOp => "unknown-op",
            ErrorCode::PermissionDenied => "permission-denied",
            ErrorCode::UnknownInterface => "unknown-interface",
            ErrorCode::ConfigInvalid => "config-invalid",
            ErrorCode::HookFailed => "hook-failed",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Netlink => "netlink",
            ErrorCode::Busy => "busy",
            ErrorCode::NotConfigured => "not-configured",
            ErrorCode::Internal => "internal",
            ErrorCode::InvalidXml => "invalid-xml",
            ErrorCode::EditFailed => "edit-failed",
            ErrorCode::Transaction => "transaction",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The exit status of a command whose request ended with this code:
    /// [`EXIT_PERMISSION_DENIED`] (4) for `permission-denied`, else
    /// [`EXIT_FAILURE`] (1), which is what ifupdown's scripts expect of any
    /// failure.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::PermissionDenied => EXIT_PERMISSION_DENIED,
            _ => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(response: &Response, wire: &str) {
        assert_eq!(serde_json::to_string(response).unwrap(), wire);
        assert_eq!(&serde_json::from_str::<Response>(wire).unwrap(), response);
    }

    #[test]
    fn progress_wire_form() {
        round_trip(
            &Response::progress(
                7,
                Progress {
                    iface: Some("eth0".into()),
                    event: Some(12),
                    step: "pre-up".into(),
                    stream: Some(Stream::Stdout),
                    message: "hello \"world\"\n".into(),
                },
            ),
            r#"{"id":7,"type":"progress","iface":"eth0","event":12,"step":"pre-up","stream":"stdout","message":"hello \"world\"\n"}"#,
        );
        round_trip(
            &Response::progress(
                7,
                Progress {
                    iface: None,
                    event: None,
                    step: "reload".into(),
                    stream: None,
                    message: "reading /etc/network/interfaces".into(),
                },
            ),
            r#"{"id":7,"type":"progress","step":"reload","message":"reading /etc/network/interfaces"}"#,
        );
        let stderr: Progress = serde_json::from_str(
            r#"{"step":"up","stream":"stderr","message":"x","event":18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(stderr.stream, Some(Stream::Stderr));
        assert_eq!(stderr.event, Some(u64::MAX));
    }

    #[test]
    fn ok_wire_form() {
        round_trip(
            &Response::ok(7, json!({"up": ["eth0"]})),
            r#"{"id":7,"type":"ok","result":{"up":["eth0"]}}"#,
        );
        round_trip(
            &Response::ok(u64::MAX, Value::Null),
            r#"{"id":18446744073709551615,"type":"ok","result":null}"#,
        );
        // A daemon may leave out an empty result.
        assert_eq!(
            serde_json::from_str::<Response>(r#"{"id":1,"type":"ok"}"#).unwrap(),
            Response::ok(1, Value::Null)
        );
    }

    #[test]
    fn error_wire_form() {
        round_trip(
            &Response::error(
                7,
                ErrorReply::new(ErrorCode::HookFailed, "eth0: pre-up failed")
                    .with_cause("/bin/false exited with status 1")
                    .with_cause("no route"),
            ),
            r#"{"id":7,"type":"error","code":"hook-failed","message":"eth0: pre-up failed","causes":["/bin/false exited with status 1","no route"]}"#,
        );
        round_trip(
            &Response::error(0, ErrorReply::new(ErrorCode::TooLarge, "too long")),
            r#"{"id":0,"type":"error","code":"too-large","message":"too long"}"#,
        );
    }

    #[test]
    fn unknown_fields_and_field_order_are_tolerated() {
        let r: Response = serde_json::from_str(
            r#"{"message":"m","type":"progress","future":[1],"step":"up","id":3}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Response::progress(
                3,
                Progress {
                    iface: None,
                    event: None,
                    step: "up".into(),
                    stream: None,
                    message: "m".into()
                }
            )
        );
        assert!(!r.is_final());
        assert!(Response::ok(1, Value::Null).is_final());
    }

    #[test]
    fn malformed_replies_are_errors() {
        for wire in [
            r#"{"id":3,"type":"gossip"}"#,
            r#"{"id":3}"#,
            r#"{"type":"ok","result":1}"#,
            r#"{"id":3,"type":"progress","message":"no step"}"#,
            r#"{"id":3,"type":"error","message":"no code"}"#,
        ] {
            assert!(serde_json::from_str::<Response>(wire).is_err(), "{wire}");
        }
    }

    #[test]
    fn codes_are_stable_strings() {
        for &code in ErrorCode::ALL {
            let wire = serde_json::to_string(&code).unwrap();
            assert_eq!(wire, format!("\"{}\"", code.as_str()));
            assert_eq!(code.to_string(), code.as_str());
            assert_eq!(serde_json::from_str::<ErrorCode>(&wire).unwrap(), code);
        }
        assert_eq!(
            serde_json::to_string(&ErrorCode::UnsupportedVersion).unwrap(),
            "\"unsupported-version\""
        );
    }

    #[test]
    fn newer_codes_survive() {
        let reply: ErrorReply =
            serde_json::from_str(r#"{"code":"quantum-flux","message":"m"}"#).unwrap();
        assert_eq!(reply.code, ErrorCode::Unknown);
        assert_eq!(reply.code.exit_code(), EXIT_FAILURE);
    }

    #[test]
    fn exit_codes() {
        for &code in ErrorCode::ALL {
            let expected = if code == ErrorCode::PermissionDenied {
                4
            } else {
                1
            };
            assert_eq!(code.exit_code(), expected, "{code}");
        }
    }

    #[test]
    fn display_chains_causes() {
        let e = ErrorReply::new(ErrorCode::Netlink, "eth0: cannot add 198.51.100.1/24")
            .with_cause("File exists");
        assert_eq!(
            e.to_string(),
            "eth0: cannot add 198.51.100.1/24: File exists"
        );
        assert_eq!(ErrorReply::new(ErrorCode::Busy, "busy").to_string(), "busy");
    }

    /// Found by `scripts/fuzz` (ctlsock_frame): a number that is no `u64`
    /// is read as an `f64`; serde_json without `float_roundtrip` printed this
    /// one as `1.8400000000081002e20` and read that back a unit in the last
    /// place off, so a client that decodes a reply and prints it again
    /// (`netconfctl status --json`) would change the daemon's numbers. The
    /// line is the fuzzer's.
    #[test]
    fn numbers_survive_decode_and_encode() {
        let line = r#"{"id":7,"type":"ok","result":184000000000810016996}"#;
        let reply: Response = serde_json::from_str(line).unwrap();
        let again: Response = serde_json::from_slice(&crate::encode(&reply)).unwrap();
        assert_eq!(again, reply);
        assert_eq!(
            reply.body,
            Body::Ok {
                result: json!(1.8400000000081002e20)
            }
        );
    }
}
