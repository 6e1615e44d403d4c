//! Posting the event: connect, call, and keep trying for a bounded time
//! while the daemon is away.

use crate::event::Settings;
use netconf_ctlsock_proto::{Client, ClientError, DhcpEventArgs, DhcpVerdict, ErrorReply, Op};
use std::io;
use std::time::{Duration, Instant};

/// How often to try again while the daemon is away. Short, because dhclient
/// is blocked until the hook exits and a restarting daemon is back within
/// a fraction of a second; a failed attempt costs two system calls.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// How a delivery ended.
#[derive(Debug)]
pub enum Outcome {
    /// The daemon decided: exit with this status.
    Verdict(DhcpVerdict),
    /// The daemon answered `ok` with a result that holds no verdict.
    NoVerdict(String),
    /// The daemon answered with an `error` (unknown token, bad request...).
    Refused(ErrorReply),
    /// The daemon stayed unreachable for the whole retry window.
    GaveUp {
        last: ClientError,
        attempts: u32,
        waited: Duration,
    },
    /// Anything else: the reply timed out or could not be read, the socket
    /// cannot be reached for a reason waiting will not cure.
    Failed(ClientError),
}

/// Posts `args` to the daemon at `settings.socket` and waits for its answer.
///
/// Each attempt is a fresh connection. Should the daemon close it before
/// answering (it restarts), the event is posted again: the daemon applies
/// events by comparing with the kernel, so one seen twice does no harm.
pub fn deliver(args: DhcpEventArgs, settings: &Settings) -> Outcome {
    let op = Op::DhcpEvent(args);
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = Client::connect(&settings.socket).and_then(|mut client| {
            client.set_read_timeout(settings.reply_timeout)?;
            // Progress lines, should the daemon send any, are its own
            // business: dhclient only reads the exit status.
            client.call(op.clone(), |_| {})
        });
        let error = match result {
            Ok(result) => {
                return match DhcpVerdict::from_result(&result) {
                    Ok(verdict) => Outcome::Verdict(verdict),
                    Err(why) => Outcome::NoVerdict(why),
                }
            }
            Err(ClientError::Remote(reply)) => return Outcome::Refused(reply),
            Err(e) if worth_waiting(&e) => e,
            Err(e) => return Outcome::Failed(e),
        };
        let waited = start.elapsed();
        let left = settings.retry.saturating_sub(waited);
        if left.is_zero() {
            return Outcome::GaveUp {
                last: error,
                attempts,
                waited,
            };
        }
        // The last attempt falls on the end of the window, not before it.
        std::thread::sleep(left.min(RETRY_INTERVAL));
    }
}

// The daemon is absent or went away (no socket, nothing listening, closed
// mid-call), or its listen queue is full (EAGAIN on connect): all things a
// moment can cure.
fn worth_waiting(e: &ClientError) -> bool {
    e.daemon_unreachable()
        || matches!(e, ClientError::Connect { source, .. } if source.kind() == io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args() -> DhcpEventArgs {
        DhcpEventArgs {
            token: "t".into(),
            client: "dhclient".into(),
            interface: "eth0".into(),
            reason: "PREINIT".into(),
            env: vec![],
        }
    }

    #[test]
    fn gives_up_at_the_end_of_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            socket: dir.path().join("absent.sock"),
            retry: Duration::from_millis(250),
            reply_timeout: None,
        };
        let start = Instant::now();
        match deliver(args(), &settings) {
            Outcome::GaveUp {
                last,
                attempts,
                waited,
            } => {
                assert!(matches!(
                    last,
                    ClientError::NotRunning { refused: false, .. }
                ));
                // 0, 100, 200 and 250 ms, or fewer if a sleep overruns.
                assert!((2..=4).contains(&attempts), "{attempts}");
                assert!(waited >= Duration::from_millis(250), "{waited:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn no_window_means_one_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            socket: dir.path().join("absent.sock"),
            retry: Duration::ZERO,
            reply_timeout: None,
        };
        assert!(matches!(
            deliver(args(), &settings),
            Outcome::GaveUp { attempts: 1, .. }
        ));
    }

    #[test]
    fn a_path_that_cannot_be_a_socket_is_not_retried() {
        let settings = Settings {
            // Longer than sun_path can hold.
            socket: PathBuf::from(format!("/tmp/{}", "x".repeat(200))),
            retry: Duration::from_secs(30),
            reply_timeout: None,
        };
        let start = Instant::now();
        assert!(matches!(
            deliver(args(), &settings),
            Outcome::Failed(ClientError::Connect { .. })
        ));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn what_is_worth_waiting_for() {
        let p = PathBuf::from("/x");
        assert!(worth_waiting(&ClientError::NotRunning {
            path: p.clone(),
            refused: true
        }));
        assert!(worth_waiting(&ClientError::Disconnected));
        assert!(worth_waiting(&ClientError::Connect {
            path: p.clone(),
            source: io::Error::from(io::ErrorKind::WouldBlock),
        }));
        assert!(!worth_waiting(&ClientError::Connect {
            path: p.clone(),
            source: io::Error::from(io::ErrorKind::NotADirectory),
        }));
        assert!(!worth_waiting(&ClientError::PermissionDenied { path: p }));
        assert!(!worth_waiting(&ClientError::TimedOut {
            after: Duration::from_secs(1)
        }));
        assert!(!worth_waiting(&ClientError::Protocol("x".into())));
    }
}
