//! A blocking client: connect, send a request, hand progress to a callback,
//! return the final outcome.

use crate::frame::{encode, LineDecoder};
use crate::request::{Op, Request};
use crate::response::{Body, ErrorReply, Progress, Response};
use crate::{EXIT_FAILURE, EXIT_NOT_RUNNING, EXIT_PERMISSION_DENIED, MAX_REPLY_LINE, UNKNOWN_ID};
use serde_json::Value;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the socket path: the daemon is stopped (or
    /// restarting). `refused` tells a leftover socket file from no file.
    #[error("netconfd is not running ({})", not_running_detail(path, *refused))]
    NotRunning { path: PathBuf, refused: bool },
    /// The socket's permissions keep this user out.
    #[error("permission denied connecting to {}", path.display())]
    PermissionDenied { path: PathBuf },
    /// Connecting failed for another reason (path too long, not a directory...).
    #[error("cannot connect to {}: {source}", path.display())]
    Connect { path: PathBuf, source: io::Error },
    /// The daemon answered with an `error` reply.
    #[error("{0}")]
    Remote(ErrorReply),
    /// The daemon closed the connection before the final reply (it stopped,
    /// restarted or crashed).
    #[error("netconfd closed the connection before answering")]
    Disconnected,
    /// The daemon sent nothing for longer than the read timeout.
    #[error("no reply from netconfd for {} s", after.as_secs_f64())]
    TimedOut { after: Duration },
    /// The daemon's reply was not understood.
    #[error("protocol error on the control socket: {0}")]
    Protocol(String),
    /// Reading or writing the socket failed.
    #[error("control socket: {0}")]
    Io(#[from] io::Error),
}

fn not_running_detail(path: &Path, refused: bool) -> String {
    if refused {
        format!("nothing is listening on {}", path.display())
    } else {
        format!("no socket at {}", path.display())
    }
}

impl ClientError {
    /// The exit status a command should end with: 3 when the daemon could not
    /// be reached, 4 when permission was denied, the code's own status for a
    /// remote error (`ErrorCode::exit_code`), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::NotRunning { .. } => EXIT_NOT_RUNNING,
            ClientError::PermissionDenied { .. } => EXIT_PERMISSION_DENIED,
            ClientError::Remote(reply) => reply.code.exit_code(),
            _ => EXIT_FAILURE,
        }
    }

    /// Whether the daemon was absent or went away, the cases where waiting
    /// and trying again can help (the DHCP hook does, while netconfd restarts).
    pub fn daemon_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::NotRunning { .. } | ClientError::Disconnected
        )
    }
}

/// A connection to netconfd, carrying one request at a time.
///
/// Request ids start at 1 and increase. Lines left over from an earlier
/// request (one abandoned after a timeout) carry a smaller id and are
/// skipped, so the connection stays usable; a line cut in two by a timeout
/// is kept and completed by the next read.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    decoder: LineDecoder,
    next_id: u64,
    timeout: Option<Duration>,
}

impl Client {
    /// Connects to the daemon's socket.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        match UnixStream::connect(path) {
            Ok(stream) => Ok(Client::from_stream(stream)),
            Err(e) => Err(match e.kind() {
                io::ErrorKind::NotFound => ClientError::NotRunning {
                    path: path.to_path_buf(),
                    refused: false,
                },
                io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
                    path: path.to_path_buf(),
                    refused: true,
                },
                io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
                    path: path.to_path_buf(),
                },
                _ => ClientError::Connect {
                    path: path.to_path_buf(),
                    source: e,
                },
            }),
        }
    }

    /// Wraps a stream already connected to the daemon (or to a test's peer).
    pub fn from_stream(stream: UnixStream) -> Client {
        Client {
            stream,
            decoder: LineDecoder::with_max(MAX_REPLY_LINE),
            next_id: 1,
            timeout: None,
        }
    }

    /// Gives up on a call when the daemon stays silent for longer than
    /// `timeout` (each progress line restarts the clock); `None` waits
    /// for ever, the default, as `ifup` of a slow DHCP server must.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.stream.set_read_timeout(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// Sends `op` and waits for its outcome, passing each progress line to
    /// `on_progress` as it arrives. Returns the `ok` reply's result.
    pub fn call(
        &mut self,
        op: Op,
        on_progress: impl FnMut(&Progress),
    ) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&encode(&Request::new(id, op)))?;
        self.receive(id, on_progress)
    }

    /// Sends `line` verbatim (include the newline) and waits for its outcome
    /// as [`call`](Self::call) does; for tests that need to send what a
    /// well-behaved client never would. Replies are expected to carry the
    /// line's `id` if it has a readable one, else [`UNKNOWN_ID`].
    pub fn call_raw(
        &mut self,
        line: &[u8],
        on_progress: impl FnMut(&Progress),
    ) -> Result<Value, ClientError> {
        let id = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_u64))
            .unwrap_or(UNKNOWN_ID);
        // Keep later `call`s above this id, or their replies would look stale.
        self.next_id = self.next_id.max(id.saturating_add(1));
        self.send(line)?;
        self.receive(id, on_progress)
    }

    fn send(&mut self, line: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(line).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => ClientError::Disconnected,
            _ => ClientError::Io(e),
        })
    }

    fn receive(
        &mut self,
        id: u64,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<Value, ClientError> {
        loop {
            let line = self.next_line()?;
            let response: Response = serde_json::from_slice(&line).map_err(|e| {
                ClientError::Protocol(format!(
                    "unreadable reply ({e}): {}",
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                ))
            })?;
            // The daemon could not read our request's id: since requests go
            // one at a time, its error is about the one outstanding.
            if response.id == UNKNOWN_ID {
                if let Body::Error(reply) = response.body {
                    return Err(ClientError::Remote(reply));
                }
            }
            if response.id < id && response.id != UNKNOWN_ID {
                continue;
            }
            if response.id != id {
                return Err(ClientError::Protocol(format!(
                    "reply for request {} while waiting for request {id}",
                    response.id
                )));
            }
            match response.body {
                Body::Progress(progress) => on_progress(&progress),
                Body::Ok { result } => return Ok(result),
                Body::Error(reply) => return Err(ClientError::Remote(reply)),
            }
        }
    }

    fn next_line(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut buf = [0; 16 * 1024];
        loop {
            match self.decoder.next_line() {
                Some(Ok(line)) => return Ok(line),
                Some(Err(_)) => {
                    return Err(ClientError::Protocol(format!(
                        "reply line longer than {MAX_REPLY_LINE} bytes"
                    )))
                }
                None => {}
            }
            match self.stream.read(&mut buf) {
                // An unfinished last line is lost with the connection all the same.
                Ok(0) => return Err(ClientError::Disconnected),
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    fn read_error(&self, e: io::Error) -> ClientError {
        match e.kind() {
            // What a socket read timeout looks like from std.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::TimedOut {
                after: self.timeout.unwrap_or_default(),
            },
            io::ErrorKind::ConnectionReset => ClientError::Disconnected,
            _ => ClientError::Io(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::read_line;
    use crate::request::{parse_request, ChangeArgs, RequestError};
    use crate::response::{ErrorCode, Stream};
    use crate::MAX_LINE;
    use serde_json::json;
    use std::io::BufReader;
    use std::io::Read;
    use std::os::unix::net::UnixListener;
    use std::thread;

    /// A stand-in daemon: serves one connection, answering each request line
    /// as the real one must (progress for ifup, errors for bad lines).
    fn serve(stream: UnixStream) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = stream;
        let mut decoder = LineDecoder::new();
        let mut buf = vec![0; 8192];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                return;
            }
            decoder.push(&buf[..n]);
            while let Some(line) = decoder.next_line() {
                let replies = match line {
                    Err(_) => vec![RequestError::too_large().to_response()],
                    Ok(line) => match parse_request(&line) {
                        Err(e) => vec![e.to_response()],
                        Ok(request) => answer(request),
                    },
                };
                for reply in replies {
                    writer.write_all(&encode(&reply)).unwrap();
                }
            }
        }
    }

    fn answer(request: Request) -> Vec<Response> {
        let id = request.id;
        match request.op {
            Op::Ping => vec![Response::ok(id, json!({"pong": true}))],
            Op::Ifup(args) => {
                let mut out: Vec<Response> = args
                    .targets
                    .iter()
                    .map(|iface| {
                        Response::progress(
                            id,
                            Progress {
                                iface: Some(iface.clone()),
                                event: Some(id * 10),
                                step: "up".into(),
                                stream: Some(Stream::Stdout),
                                message: format!("{iface} is up"),
                            },
                        )
                    })
                    .collect();
                out.push(Response::ok(id, json!({"up": args.targets})));
                out
            }
            Op::Ifdown(_) => vec![Response::error(
                id,
                ErrorReply::new(ErrorCode::HookFailed, "eth0: pre-down failed")
                    .with_cause("exit status 1"),
            )],
            Op::Status(_) => vec![
                // Left over from an abandoned request: must be skipped.
                Response::ok(id - 1, Value::Null),
                Response::ok(id, json!("fine")),
            ],
            Op::State(_) => vec![Response::ok(id + 5, Value::Null)],
            Op::Reload(_)
            | Op::Monitor
            | Op::WaitOnline(_)
            | Op::IfaceList(_)
            | Op::IfaceXml(_)
            | Op::IfaceDefine(_)
            | Op::IfaceUndefine(_)
            | Op::ChangeBegin
            | Op::ChangeCommit
            | Op::ChangeRollback
            | Op::ProfileList
            | Op::ProfileShow(_)
            | Op::ProfileEnable(_)
            | Op::LocationList
            | Op::LocationShow(_)
            | Op::LocationEnable(_)
            | Op::EnmList
            | Op::EnmEnable(_)
            | Op::EnmDisable(_) => vec![],
            // The verdict is the number of variables, to show they all came.
            Op::DhcpEvent(args) => vec![Response::ok(
                id,
                crate::DhcpVerdict {
                    exit: args.env.len() as u8,
                }
                .to_result(),
            )],
        }
    }

    fn daemon() -> (tempfile::TempDir, PathBuf, thread::JoinHandle<()>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let handle = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            serve(stream);
        });
        (dir, path, handle)
    }

    #[test]
    fn calls_on_one_connection() {
        let (_dir, path, server) = daemon();
        let mut client = Client::connect(&path).unwrap();

        assert_eq!(
            client.call(Op::Ping, |_| panic!("no progress")).unwrap(),
            json!({"pong": true})
        );

        let mut seen = Vec::new();
        let result = client
            .call(
                Op::Ifup(ChangeArgs {
                    targets: vec!["eth0".into(), "eth1".into()],
                    ..ChangeArgs::default()
                }),
                |p| seen.push((p.iface.clone().unwrap(), p.event, p.message.clone())),
            )
            .unwrap();
        assert_eq!(result, json!({"up": ["eth0", "eth1"]}));
        assert_eq!(
            seen,
            [
                ("eth0".into(), Some(20), "eth0 is up".into()),
                ("eth1".into(), Some(20), "eth1 is up".into())
            ]
        );

        let e = client
            .call(Op::Ifdown(ChangeArgs::default()), |_| {})
            .unwrap_err();
        assert_eq!(e.to_string(), "eth0: pre-down failed: exit status 1");
        assert_eq!(e.exit_code(), 1);
        assert!(matches!(&e, ClientError::Remote(r) if r.code == ErrorCode::HookFailed));

        assert_eq!(
            client.call(Op::Status(Default::default()), |_| {}).unwrap(),
            json!("fine")
        );
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn dhcp_event_round_trip() {
        let (_dir, path, server) = daemon();
        let mut client = Client::connect(&path).unwrap();
        let args = crate::DhcpEventArgs {
            token: "abc123".into(),
            client: "dhclient".into(),
            interface: "eth0".into(),
            reason: "BOUND".into(),
            env: vec![("reason".into(), "BOUND".into()), ("a".into(), "b".into())],
        };
        let result = client.call(Op::DhcpEvent(args), |_| {}).unwrap();
        assert_eq!(result, json!({"exit": 2}));
        assert_eq!(
            crate::DhcpVerdict::from_result(&result),
            Ok(crate::DhcpVerdict { exit: 2 })
        );
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn errors_for_bad_lines_keep_the_connection() {
        let (_dir, path, server) = daemon();
        let mut client = Client::connect(&path).unwrap();

        let remote_code = |r: Result<Value, ClientError>| match r {
            Err(ClientError::Remote(reply)) => reply.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            remote_code(client.call_raw(b"garbage\n", |_| {})),
            ErrorCode::BadRequest
        );
        assert_eq!(
            remote_code(client.call_raw(b"{\"version\":1,\"id\":40,\"op\":\"dance\"}\n", |_| {})),
            ErrorCode::UnknownOp
        );
        assert_eq!(
            remote_code(client.call_raw(b"{\"version\":9,\"id\":41,\"op\":\"ping\"}\n", |_| {})),
            ErrorCode::UnsupportedVersion
        );
        let mut huge = vec![b' '; MAX_LINE + 100];
        huge[0] = b'x';
        huge.push(b'\n');
        assert_eq!(
            remote_code(client.call_raw(&huge, |_| {})),
            ErrorCode::TooLarge
        );
        assert_eq!(
            client
                .call_raw(b"{\"version\":1,\"id\":50,\"op\":\"ping\"}\n", |_| {})
                .unwrap(),
            json!({"pong": true})
        );
        // Ids continue above the raw ones.
        assert_eq!(client.next_id, 51);
        assert!(client.call(Op::Ping, |_| {}).is_ok());
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn mismatched_id_is_a_protocol_error() {
        let (_dir, path, _server) = daemon();
        let mut client = Client::connect(&path).unwrap();
        let e = client
            .call(Op::State(Default::default()), |_| {})
            .unwrap_err();
        assert!(matches!(e, ClientError::Protocol(_)), "{e}");
        assert!(e.to_string().contains("reply for request 6"), "{e}");
    }

    #[test]
    fn silence_times_out() {
        let (_dir, path, _server) = daemon();
        let mut client = Client::connect(&path).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let e = client
            .call(Op::Reload(Default::default()), |_| {})
            .unwrap_err();
        assert!(matches!(e, ClientError::TimedOut { .. }), "{e}");
        assert_eq!(e.to_string(), "no reply from netconfd for 0.05 s");
        // The connection is still usable after giving up on a request.
        assert!(client.call(Op::Ping, |_| {}).is_ok());
    }

    #[test]
    fn a_line_cut_by_a_timeout_is_completed_later() {
        let (a, b) = UnixStream::pair().unwrap();
        let peer = thread::spawn(move || {
            let mut b = BufReader::new(b);
            read_line(&mut b, MAX_LINE).unwrap();
            b.get_mut()
                .write_all(b"{\"id\":1,\"type\":\"ok\",\"res")
                .unwrap();
            read_line(&mut b, MAX_LINE).unwrap();
            b.get_mut()
                .write_all(b"ult\":1}\n{\"id\":2,\"type\":\"ok\",\"result\":2}\n")
                .unwrap();
        });
        let mut client = Client::from_stream(a);
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let e = client.call(Op::Ping, |_| {}).unwrap_err();
        assert!(matches!(e, ClientError::TimedOut { .. }), "{e:?}");
        assert_eq!(client.call(Op::Ping, |_| {}).unwrap(), json!(2));
        peer.join().unwrap();
    }

    #[test]
    fn garbage_and_hangups() {
        let (a, b) = UnixStream::pair().unwrap();
        let peer = thread::spawn(move || {
            let mut b = BufReader::new(b);
            read_line(&mut b, MAX_LINE).unwrap();
            b.get_mut().write_all(b"not json\n").unwrap();
            read_line(&mut b, MAX_LINE).unwrap();
            b.get_mut().write_all(b"{\"id\":2,\"type\":\"ok\"").unwrap();
        });
        let mut client = Client::from_stream(a);
        let e = client.call(Op::Ping, |_| {}).unwrap_err();
        assert!(matches!(e, ClientError::Protocol(_)), "{e}");
        let e = client.call(Op::Ping, |_| {}).unwrap_err();
        assert!(matches!(e, ClientError::Disconnected), "{e:?}");
        assert!(e.daemon_unreachable());
        peer.join().unwrap();
        let e = client.call(Op::Ping, |_| {}).unwrap_err();
        assert!(e.daemon_unreachable(), "{e:?}");
    }

    #[test]
    fn not_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let e = Client::connect(&path).unwrap_err();
        assert!(
            matches!(&e, ClientError::NotRunning { path: p, refused: false } if *p == path),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("netconfd is not running (no socket at {})", path.display())
        );
        assert_eq!(e.exit_code(), 3);
        assert!(e.daemon_unreachable());

        // A socket file left behind by a daemon that died.
        drop(UnixListener::bind(&path).unwrap());
        let e = Client::connect(&path).unwrap_err();
        assert!(
            matches!(e, ClientError::NotRunning { refused: true, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("nothing is listening on"), "{e}");
    }

    #[test]
    fn other_connect_failures_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // Longer than sun_path can hold.
        let path = dir.path().join("x".repeat(200));
        let e = Client::connect(&path).unwrap_err();
        assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn exit_codes() {
        let denied = ClientError::PermissionDenied {
            path: PathBuf::from(crate::DEFAULT_SOCKET),
        };
        assert_eq!(denied.exit_code(), 4);
        assert_eq!(
            denied.to_string(),
            "permission denied connecting to /run/netconf/ctl.sock"
        );
        let remote = ClientError::Remote(ErrorReply::new(ErrorCode::PermissionDenied, "no"));
        assert_eq!(remote.exit_code(), 4);
        assert_eq!(ClientError::Disconnected.exit_code(), 1);
        assert_eq!(ClientError::Protocol("x".into()).exit_code(), 1);
    }
}
