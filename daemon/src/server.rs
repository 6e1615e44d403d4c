//! The control socket: accepts clients, frames their lines, learns who they
//! are ([`access`](crate::access)), and turns requests into messages for the dispatcher. A
//! malformed or oversized line gets an error reply and the connection goes
//! on; nothing a client sends can disturb another.

use crate::access::{Peer, Policy, Role};
use crate::outbox::Outbox;
use crate::queue::{ConnId, Message, Sender};
use netconf_ctlsock_proto::{
    encode, parse_request, Body, ErrorCode, ErrorReply, FrameError, LineDecoder, Response,
};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

/// File descriptors kept for the daemon's own work when clients are
/// counted against RLIMIT_NOFILE (netlink sockets, hook pipes, dhclients,
/// the state file): users' clients may not take the last 256 of them,
/// root's not the last 128, so that no user can keep root's `ifup` or a
/// dhclient's hook out.
const KEPT_FROM_USERS: u64 = 256;
const KEPT_FROM_ROOT: u64 = 128;

/// How many clients may be connected at once, (users, root included):
/// what RLIMIT_NOFILE leaves after the descriptors kept (at least 16).
pub fn max_clients() -> (usize, usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        1024
    };
    let left = |kept: u64| soft.saturating_sub(kept).max(16) as usize;
    (left(KEPT_FROM_USERS), left(KEPT_FROM_ROOT))
}

pub async fn serve(listener: UnixListener, queue: Sender, policy: Policy) {
    let (users_max, root_max) = max_clients();
    let live = Arc::new(AtomicUsize::new(0));
    let mut refusing = false;
    let mut next: ConnId = 1;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE) or memory: the client waits in
                // the backlog; try again shortly, saying so once.
                if !refusing {
                    warn!("accepting a client: {e}; clients wait until some leave");
                    refusing = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = next;
        next += 1;
        // Read now, from what the kernel fixed at connect().
        let role = match Peer::of(stream.as_raw_fd()) {
            Ok(peer) => {
                let role = policy.role(&peer);
                debug!(conn, ?peer, ?role, "client connected");
                role
            }
            Err(e) => {
                warn!(conn, "peer credentials unreadable ({e}): read-only client");
                Role::Reader
            }
        };
        let max = if role == Role::Root {
            root_max
        } else {
            users_max
        };
        if live.load(Ordering::Relaxed) >= max {
            if !refusing {
                warn!(
                    clients = max,
                    "too many clients: new ones are refused until some leave"
                );
                refusing = true;
            }
            tokio::spawn(refuse(stream, max));
            continue;
        }
        if refusing {
            info!("clients are accepted again");
            refusing = false;
        }
        live.fetch_add(1, Ordering::Relaxed);
        let live = live.clone();
        let queue = queue.clone();
        tokio::spawn(async move {
            connection(stream, conn, role, queue).await;
            live.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// One `busy` line for a client over the limit, then the connection closes.
async fn refuse(mut stream: UnixStream, capacity: usize) {
    let line = error_line(
        0,
        ErrorCode::Busy,
        format!("netconfd serves {capacity} clients at most; try again when some have left"),
    );
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stream.write_all(&line)).await;
}

fn error_line(id: u64, code: ErrorCode, message: String) -> Vec<u8> {
    encode(&Response {
        id,
        body: Body::Error(ErrorReply {
            code,
            message,
            causes: Vec::new(),
        }),
    })
}

async fn connection(stream: UnixStream, conn: ConnId, role: Role, queue: Sender) {
    let (mut reader, mut writer) = stream.into_split();
    let (outbox, reply) = Outbox::new(role == Role::Root);
    let writer_task = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            while let Some(line) = outbox.next_line().await {
                if writer.write_all(&line).await.is_err() {
                    // The client is gone: what it was owed goes nowhere.
                    outbox.close();
                    break;
                }
            }
        }
    });

    let mut decoder = LineDecoder::new();
    let mut buf = vec![0u8; 4 * 1024];
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        while let Some(line) = decoder.next_line() {
            // Nothing more is taken from a client that does not read what
            // it is owed (see `outbox`).
            outbox.room().await;
            let line = match line {
                Ok(line) => line,
                Err(FrameError::TooLong) => {
                    warn!(conn, "request line over the size limit");
                    let message = format!(
                        "request line longer than {} bytes; it was discarded",
                        netconf_ctlsock_proto::MAX_LINE
                    );
                    reply.send(0, error_body(ErrorCode::TooLarge, message));
                    continue;
                }
                Err(e) => {
                    reply.send(0, error_body(ErrorCode::BadRequest, e.to_string()));
                    continue;
                }
            };
            match parse_request(&line) {
                Ok(request) => {
                    let message = Message::Request {
                        conn,
                        reply: reply.clone(),
                        request,
                        role,
                    };
                    if queue.send(message).is_err() {
                        break 'read;
                    }
                }
                Err(e) => {
                    info!(conn, "bad request: {e}");
                    reply.send(e.id().unwrap_or(0), error_body(e.code(), e.to_string()));
                }
            }
        }
    }
    drop(reply);
    let _ = queue.send(Message::Hangup { conn });
    // Replies still owed (the dispatcher holds its own senders) go out first.
    let _ = writer_task.await;
    if outbox.peak() >= 4 * 1024 {
        // A slow reader's backlog is freed now: give the pages back, so the
        // daemon is as small as before it came.
        drop(outbox);
        trim_soon();
    }
    debug!(conn, "client gone");
}

/// Gives free heap pages back to the kernel a moment from now: once for a
/// crowd of clients that leave together, not once each.
fn trim_soon() {
    static SCHEDULED: AtomicBool = AtomicBool::new(false);
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        SCHEDULED.store(false, Ordering::Release);
        // SAFETY: malloc_trim only releases free heap pages.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}

fn error_body(code: ErrorCode, message: String) -> Body {
    Body::Error(ErrorReply {
        code,
        message,
        causes: Vec::new(),
    })
}
