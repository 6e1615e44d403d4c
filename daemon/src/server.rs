//! The control socket: accepts clients, frames their lines, learns who they
//! are ([`access`](crate::access)), and turns requests into messages for the dispatcher. A
//! malformed or oversized line gets an error reply and the connection goes
//! on; nothing a client sends can disturb another.

use crate::access::{Peer, Policy, Role};
use crate::queue::{ConnId, Message, Sender};
use netconf_ctlsock_proto::{
    encode, parse_request, Body, ErrorCode, ErrorReply, FrameError, LineDecoder, Response,
};
use std::os::fd::AsRawFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

pub async fn serve(listener: UnixListener, queue: Sender, policy: Policy) {
    let mut next: ConnId = 1;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
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
                tokio::spawn(connection(stream, conn, role, queue.clone()));
            }
            Err(e) => {
                warn!("accepting a client: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
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
    let (reply, mut replies) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer_task = tokio::spawn(async move {
        while let Some(line) = replies.recv().await {
            if writer.write_all(&line).await.is_err() {
                break;
            }
        }
    });

    let mut decoder = LineDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        while let Some(line) = decoder.next_line() {
            let line = match line {
                Ok(line) => line,
                Err(FrameError::TooLong) => {
                    warn!(conn, "request line over the size limit");
                    let message = format!(
                        "request line longer than {} bytes; it was discarded",
                        netconf_ctlsock_proto::MAX_LINE
                    );
                    let _ = reply.send(error_line(0, ErrorCode::TooLarge, message));
                    continue;
                }
                Err(e) => {
                    let _ = reply.send(error_line(0, ErrorCode::BadRequest, e.to_string()));
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
                        return;
                    }
                }
                Err(e) => {
                    info!(conn, "bad request: {e}");
                    let _ = reply.send(error_line(e.id().unwrap_or(0), e.code(), e.to_string()));
                }
            }
        }
    }
    drop(reply);
    let _ = queue.send(Message::Hangup { conn });
    // Replies still owed (the dispatcher holds its own sender) go out first.
    let _ = writer_task.await;
    debug!(conn, "client gone");
}
