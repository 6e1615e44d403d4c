//! The language spoken on netconf's control socket, shared by everyone who
//! speaks it: the daemon (`netconfd`), the commands (`ifup`, `ifdown`,
//! `ifquery --state`, `ifreload`, `netconfctl`) and the DHCP hook.
//!
//! The protocol is newline-delimited JSON over a `SOCK_STREAM` Unix socket
//! (`docs/PROTOCOL.md` is the reference): a client writes one [`Request`] per
//! line, the daemon answers each with zero or more progress lines and exactly
//! one final `ok` or `error` line, all carrying the request's id.
//!
//! This crate holds:
//! - the wire types ([`Request`], [`Op`], [`Response`], [`Body`],
//!   [`ErrorCode`]) with their exact JSON form;
//! - [`parse_request`], which classifies bad input into the error codes the
//!   daemon sends back;
//! - framing ([`encode`], the incremental [`LineDecoder`] for any reader,
//!   the blocking [`read_line`]) with the line size cap;
//! - a small blocking [`Client`];
//! - the DHCP hook's vocabulary ([`DhcpEventArgs`], [`DhcpReason`] and
//!   what dhclient makes of each exit status, [`DhcpVerdict`]).
//!
//! It depends on std, serde and serde_json only, never on an async runtime:
//! the commands and the hook link it and must start in about a millisecond.
//!
//! A client:
//!
//! ```no_run
//! use netconf_ctlsock_proto::{socket_path, ChangeArgs, Client, Op};
//!
//! let mut client = Client::connect(&socket_path(None))?;
//! let args = ChangeArgs { targets: vec!["eth0".into()], ..ChangeArgs::default() };
//! let result = client.call(Op::Ifup(args), |p| eprintln!("{}", p.message))?;
//! # Ok::<(), netconf_ctlsock_proto::ClientError>(())
//! ```
//!
//! The daemon's side of one connection, whatever reads its bytes:
//!
//! ```
//! use netconf_ctlsock_proto::{encode, parse_request, LineDecoder, RequestError, Response};
//!
//! let mut decoder = LineDecoder::new();
//! decoder.push(b"{\"version\":1,\"id\":1,\"op\":\"ping\"}\nnonsense\n");
//! let mut out = Vec::new();
//! while let Some(line) = decoder.next_line() {
//!     let reply = match line.map_err(|_| RequestError::too_large()) {
//!         Err(e) => e.to_response(),
//!         Ok(line) => match parse_request(&line) {
//!             Err(e) => e.to_response(),
//!             Ok(request) => Response::ok(request.id, serde_json::json!({})),
//!         },
//!     };
//!     out.extend(encode(&reply));
//! }
//! assert_eq!(
//!     String::from_utf8(out).unwrap().lines().collect::<Vec<_>>()[0],
//!     r#"{"id":1,"type":"ok","result":{}}"#
//! );
//! ```

mod client;
mod dhcp;
mod frame;
mod request;
mod response;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use client::{Client, ClientError};
pub use dhcp::{
    DhcpEventArgs, DhcpReason, DhcpVerdict, ExitEffect, DHCPCD_REASONS, DHCP_CLIENTS, TOKEN_ENV,
    UDHCPC_EVENTS,
};
pub use frame::{encode, read_line, FrameError, LineDecoder};
pub use request::{
    parse_request, ChangeArgs, IfaceDefineArgs, IfaceListArgs, IfaceUndefineArgs, IfaceXmlArgs,
    NameArgs, Op, ReloadArgs, Request, RequestError, StateArgs, StatusArgs, WaitOnlineArgs,
};
pub use response::{Body, ErrorCode, ErrorReply, Progress, Response, Stream};

/// The protocol version this crate speaks; a request carrying another one is
/// answered with [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line the daemon accepts, in bytes, newline included.
pub const MAX_LINE: usize = 1 << 20;

/// The longest reply line a [`Client`] accepts, in bytes, newline included.
///
/// Larger than [`MAX_LINE`] because the cap on requests protects the daemon
/// from its clients, while a reply (say, the status of ten thousand
/// interfaces) grows with the host, and the client trusts the daemon.
pub const MAX_REPLY_LINE: usize = 64 << 20;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/netconf/ctl.sock";

/// The environment variable that overrides [`DEFAULT_SOCKET`] for clients.
pub const SOCKET_ENV: &str = "NETCONF_SOCKET";

/// The id of a reply to a request whose own id could not be read (not JSON,
/// too large, no `id`). Clients therefore never use it for a request.
pub const UNKNOWN_ID: u64 = 0;

/// Exit status of a command when the operation failed.
pub const EXIT_FAILURE: u8 = 1;

/// Exit status of a command that could not reach the daemon at all.
pub const EXIT_NOT_RUNNING: u8 = 3;

/// Exit status of a command that was not allowed to do what it asked.
pub const EXIT_PERMISSION_DENIED: u8 = 4;

/// The socket a client should connect to: the `--socket` flag if given, else
/// `$NETCONF_SOCKET` if set and non-empty, else [`DEFAULT_SOCKET`].
pub fn socket_path(flag: Option<&Path>) -> PathBuf {
    choose_socket(flag, std::env::var_os(SOCKET_ENV).as_deref())
}

// Split from `socket_path` so tests need not change the process environment,
// which other test threads read concurrently.
fn choose_socket(flag: Option<&Path>, env: Option<&OsStr>) -> PathBuf {
    if let Some(flag) = flag {
        return flag.to_path_buf();
    }
    match env {
        // An empty variable is what `NETCONF_SOCKET= ifup` leaves behind: treat
        // it as unset rather than as a path to the current directory.
        Some(env) if !env.is_empty() => PathBuf::from(env),
        _ => PathBuf::from(DEFAULT_SOCKET),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_over_everything() {
        let flag = Path::new("/tmp/a.sock");
        assert_eq!(
            choose_socket(Some(flag), Some(OsStr::new("/tmp/b.sock"))),
            flag
        );
        assert_eq!(socket_path(Some(flag)), flag);
    }

    #[test]
    fn environment_then_default() {
        assert_eq!(
            choose_socket(None, Some(OsStr::new("/tmp/b.sock"))),
            Path::new("/tmp/b.sock")
        );
        assert_eq!(
            choose_socket(None, Some(OsStr::new(""))),
            Path::new(DEFAULT_SOCKET)
        );
        assert_eq!(choose_socket(None, None), Path::new(DEFAULT_SOCKET));
    }

    #[test]
    fn limits() {
        assert_eq!(MAX_LINE, 1_048_576);
        const { assert!(MAX_REPLY_LINE >= MAX_LINE) };
    }
}

// docs/PROTOCOL.md shows exact lines; they must stay what the crate sends and
// accepts, byte for byte.
#[cfg(test)]
mod protocol_md {
    use super::*;

    const DOC: &str = include_str!("../../docs/PROTOCOL.md");

    fn check_reply(line: &str) {
        let reply: Response = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            String::from_utf8(encode(&reply)).unwrap(),
            format!("{line}\n")
        );
    }

    fn check_request(line: &str) {
        match parse_request(line.as_bytes()) {
            Ok(request) => {
                assert_eq!(
                    String::from_utf8(encode(&request)).unwrap(),
                    format!("{line}\n")
                )
            }
            // The examples of refused requests are followed by their reply,
            // itself checked as a reply.
            Err(e) => assert!(DOC.contains(&format!(
                "← {}",
                String::from_utf8(encode(&e.to_response()))
                    .unwrap()
                    .trim_end()
            ))),
        }
    }

    #[test]
    fn examples_are_exact() {
        let mut checked = 0;
        let mut in_json = false;
        for line in DOC.lines() {
            if let Some(reply) = line.strip_prefix("← ") {
                check_reply(reply);
            } else if let Some(request) = line.strip_prefix("→ ") {
                check_request(request);
            } else if line == "```json" {
                in_json = true;
                continue;
            } else if line == "```" {
                in_json = false;
                continue;
            } else if in_json {
                if line.contains("\"type\"") {
                    check_reply(line);
                } else {
                    check_request(line);
                }
            } else {
                continue;
            }
            checked += 1;
        }
        assert!(checked >= 15, "only {checked} example lines found");
    }
}
