//! The control socket: accepts clients, frames their lines, checks who they
//! are (SO_PEERCRED), and turns requests into messages for the dispatcher. A
//! malformed or oversized line gets an error reply and the connection goes
//! on; nothing a client sends can disturb another.

use crate::queue::{ConnId, Message, Sender};
use netconf_ctlsock_proto::{
    encode, parse_request, Body, ErrorCode, ErrorReply, FrameError, LineDecoder, Response,
};
use std::os::fd::AsRawFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
}

impl Peer {
    fn of(stream: &UnixStream) -> Option<Peer> {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `cred` and `len` are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(Peer {
            pid: cred.pid,
            uid: cred.uid,
        })
    }

    /// Root, or a process holding CAP_NET_ADMIN in its effective set.
    pub fn may_change_network(&self) -> bool {
        self.uid == 0 || has_net_admin(self.pid)
    }
}

fn has_net_admin(pid: i32) -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

pub async fn serve(listener: UnixListener, queue: Sender) {
    let mut next: ConnId = 1;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let conn = next;
                next += 1;
                tokio::spawn(connection(stream, conn, queue.clone()));
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

async fn connection(stream: UnixStream, conn: ConnId, queue: Sender) {
    let peer = Peer::of(&stream);
    let privileged = peer.is_some_and(|p| p.may_change_network());
    debug!(conn, ?peer, privileged, "client connected");
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
                        privileged,
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
