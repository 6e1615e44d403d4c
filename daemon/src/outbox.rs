//! What the daemon owes each client, with a bound on the memory it may
//! take: a client that stops reading must not grow the daemon.
//!
//! Each connection has one [`Outbox`], filled by the dispatcher thread (and
//! the server) through [`ReplySender`]s and emptied onto the socket by the
//! connection's writer task. Two kinds of line go in:
//!
//! * `progress` lines (hook output, `monitor` lines, steps): when the client
//!   is behind (its outbox holds [`CLIENT_BUDGET`] bytes, or, for a client
//!   that is not root, the outboxes of all such clients together hold
//!   [`DAEMON_BUDGET`]), they are dropped and counted; once there is room
//!   again the client gets one `progress` line with `step` `lost` saying
//!   how many of that request's lines it missed, in the place where they
//!   were. Root's clients are not held back by users' slow readers;
//! * final replies (`ok`, `error`) are never dropped. What bounds them is
//!   that the server reads no more requests of a client while it has
//!   [`MAX_IN_FLIGHT`] requests unanswered or its outbox is over budget
//!   ([`Outbox::room`]): a client that sends requests without reading the
//!   answers is simply not read any more.
//!
//! When the client goes away, whatever is still queued is dropped and later
//! lines are not queued at all.

use netconf_ctlsock_proto::{encode, Body, Progress, Response};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Progress lines queued for one client beyond this many bytes are dropped.
pub const CLIENT_BUDGET: usize = 256 * 1024;
/// ... and beyond this many for all clients together.
pub const DAEMON_BUDGET: usize = 4 * 1024 * 1024;
/// Requests of one client answered at the most at once (a `monitor` or a
/// `wait-online` stays in flight until it ends).
pub const MAX_IN_FLIGHT: usize = 16;

/// Bytes queued in the outboxes of clients that are not root.
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// One connection's queue of reply lines.
pub struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the writer (a line came, or the last sender went) and the
    /// reader (room came).
    changed: Notify,
    room: Notify,
    /// Live [`ReplySender`]s: when none is left and the queue is empty, the
    /// writer is done.
    senders: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Progress lines dropped since the client last had room, per request id.
    lost: Vec<(u64, u64)>,
    /// Requests taken from the client and not answered yet.
    in_flight: usize,
    /// The client is gone: nothing is queued any more.
    closed: bool,
    /// The most bytes it held at once.
    peak: usize,
    /// Root's: not counted in, nor held back by, [`DAEMON_BUDGET`].
    root: bool,
}

/// What a queued line costs in memory: its buffer, the allocator's header
/// and its slot in the queue.
fn cost(line: &Vec<u8>) -> usize {
    line.capacity() + 16 + std::mem::size_of::<Vec<u8>>()
}

impl Queue {
    fn push(&mut self, line: Vec<u8>) {
        self.count(cost(&line) as isize);
        self.lines.push_back(line);
    }

    fn pop(&mut self) -> Option<Vec<u8>> {
        let line = self.lines.pop_front()?;
        self.count(-(cost(&line) as isize));
        Some(line)
    }

    /// `delta` bytes more (or fewer) queued.
    fn count(&mut self, delta: isize) {
        self.bytes = self.bytes.saturating_add_signed(delta);
        self.peak = self.peak.max(self.bytes);
        if !self.root {
            if delta >= 0 {
                QUEUED.fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
            } else {
                QUEUED.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
            }
        }
    }

    /// Too much is queued to take more progress lines.
    fn behind(&self) -> bool {
        self.full() || (!self.root && QUEUED.load(Ordering::Relaxed) >= DAEMON_BUDGET)
    }

    /// Too much is queued to take more requests of this client.
    fn full(&self) -> bool {
        self.bytes >= CLIENT_BUDGET
    }

    /// A `lost` line for every request some of whose lines were dropped.
    fn settle_all_lost(&mut self) {
        while let Some(&(id, _)) = self.lost.first() {
            self.settle_lost(id);
        }
    }

    /// The `lost` line owed for request `id`, if lines of it were dropped.
    fn settle_lost(&mut self, id: u64) {
        if let Some(i) = self.lost.iter().position(|(r, _)| *r == id) {
            let (_, count) = self.lost.swap_remove(i);
            let marker = Progress {
                iface: None,
                event: None,
                step: "lost".into(),
                stream: None,
                message: format!("{count} lines lost: the client did not read fast enough"),
            };
            self.push(encode(&Response {
                id,
                body: Body::Progress(marker),
            }));
        }
    }
}

impl Outbox {
    /// A new outbox and its first sender; `root`: the client is root's.
    pub fn new(root: bool) -> (Arc<Outbox>, ReplySender) {
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(Queue {
                root,
                ..Queue::default()
            }),
            changed: Notify::new(),
            room: Notify::new(),
            senders: AtomicUsize::new(1),
        });
        let sender = ReplySender(outbox.clone());
        (outbox, sender)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding it cannot leave the queue inconsistent
        // (every change is one push or pop): go on with it.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next line to write; `None` once the client is gone, or no sender
    /// is left and everything was written.
    pub async fn next_line(&self) -> Option<Vec<u8>> {
        loop {
            let notified = self.changed.notified();
            {
                let mut q = self.lock();
                if q.closed {
                    return None;
                }
                if q.lines.is_empty() {
                    // Everything kept was written: now the client hears
                    // what was not.
                    q.settle_all_lost();
                }
                if let Some(line) = q.pop() {
                    if !q.full() {
                        self.room.notify_waiters();
                    }
                    return Some(line);
                }
                if self.senders.load(Ordering::Acquire) == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Waits until the client may have one more request taken: fewer than
    /// [`MAX_IN_FLIGHT`] unanswered and its outbox not over budget. Then
    /// counts that request in.
    pub async fn room(&self) {
        loop {
            let notified = self.room.notified();
            {
                let mut q = self.lock();
                if q.closed || (q.in_flight < MAX_IN_FLIGHT && !q.full()) {
                    q.in_flight += 1;
                    return;
                }
            }
            notified.await;
        }
    }

    /// The most bytes this outbox held at once.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    /// The client is gone: drop what is queued and take nothing more.
    pub fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        let queued = q.bytes as isize;
        q.count(-queued);
        q.lines = VecDeque::new();
        q.lost = Vec::new();
        drop(q);
        self.room.notify_waiters();
        self.changed.notify_one();
    }
}

/// Where a request's reply lines go. Cheap to clone; the dispatcher keeps
/// one per request, `monitor` and `wait-online` client.
pub struct ReplySender(Arc<Outbox>);

impl ReplySender {
    /// A sender whose lines go nowhere (a reload from SIGHUP has no client).
    pub fn nowhere() -> ReplySender {
        let (outbox, sender) = Outbox::new(true);
        outbox.close();
        sender
    }

    /// Queues the reply line `body` to request `id`: see the module doc for
    /// which lines may be dropped.
    pub fn send(&self, id: u64, body: Body) {
        let progress = matches!(body, Body::Progress(_));
        let mut q = self.0.lock();
        if q.closed {
            return;
        }
        if progress {
            if q.behind() {
                match q.lost.iter_mut().find(|(r, _)| *r == id) {
                    Some((_, count)) => *count += 1,
                    None => q.lost.push((id, 1)),
                }
                return;
            }
            q.settle_lost(id);
        } else {
            q.settle_lost(id);
            q.in_flight = q.in_flight.saturating_sub(1);
        }
        q.push(encode(&Response { id, body }));
        drop(q);
        self.0.changed.notify_one();
        if !progress {
            self.0.room.notify_waiters();
        }
    }
}

impl Clone for ReplySender {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::AcqRel);
        ReplySender(self.0.clone())
    }
}

impl Drop for ReplySender {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_ctlsock_proto::ErrorReply;

    fn progress(message: &str) -> Body {
        Body::Progress(Progress {
            iface: None,
            event: None,
            step: "kernel".into(),
            stream: None,
            message: message.into(),
        })
    }

    fn drain(outbox: &Outbox) -> Vec<String> {
        let mut q = outbox.lock();
        let mut lines = Vec::new();
        while let Some(l) = q.pop() {
            lines.push(String::from_utf8(l).unwrap());
        }
        lines
    }

    #[test]
    fn a_client_that_does_not_read_costs_a_budget_and_hears_what_it_lost() {
        let (outbox, reply) = Outbox::new(false);
        let line = "x".repeat(1000);
        for _ in 0..10_000 {
            reply.send(1, progress(&line));
        }
        let queued = outbox.lock().bytes;
        assert!(
            queued < CLIENT_BUDGET + 2000,
            "{queued} bytes queued for one client"
        );
        let kept = drain(&outbox).len();
        assert!(kept > 100, "{kept} lines kept");
        // Room again: the next line comes after one saying what was lost.
        reply.send(1, progress("after"));
        let lines = drain(&outbox);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].contains(&format!("\"{} lines lost", 10_000 - kept)),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("\"step\":\"lost\""), "{}", lines[0]);
        assert!(lines[1].contains("after"));
    }

    #[test]
    fn final_replies_are_never_dropped_and_say_what_was_lost_first() {
        let (outbox, reply) = Outbox::new(false);
        let line = "y".repeat(CLIENT_BUDGET);
        reply.send(7, progress(&line));
        reply.send(7, progress("dropped"));
        reply.send(
            7,
            Body::Error(ErrorReply::new(
                netconf_ctlsock_proto::ErrorCode::HookFailed,
                "failed",
            )),
        );
        let lines = drain(&outbox);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].contains("1 lines lost"), "{}", lines[1]);
        assert!(lines[2].contains("\"type\":\"error\""), "{}", lines[2]);
    }

    #[test]
    fn a_closed_outbox_takes_nothing() {
        let (outbox, reply) = Outbox::new(false);
        reply.send(1, progress("before"));
        outbox.close();
        reply.send(1, progress("after"));
        assert!(outbox.lock().lines.is_empty());
        assert_eq!(outbox.lock().bytes, 0);
    }

    #[test]
    fn requests_in_flight_are_bounded() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (outbox, reply) = Outbox::new(false);
        rt.block_on(async {
            for _ in 0..MAX_IN_FLIGHT {
                outbox.room().await;
            }
            let blocked =
                tokio::time::timeout(std::time::Duration::from_millis(50), outbox.room()).await;
            assert!(blocked.is_err(), "a request past the limit was taken");
            // One answer makes room for one more.
            reply.send(
                1,
                Body::Ok {
                    result: serde_json::Value::Null,
                },
            );
            outbox.room().await;
        });
        drain(&outbox);
    }

    #[test]
    fn the_writer_ends_when_the_last_sender_goes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (outbox, reply) = Outbox::new(false);
        let second = reply.clone();
        reply.send(1, progress("one"));
        drop(reply);
        second.send(
            1,
            Body::Ok {
                result: serde_json::Value::Null,
            },
        );
        drop(second);
        rt.block_on(async {
            assert!(outbox.next_line().await.is_some());
            assert!(outbox.next_line().await.is_some());
            assert!(outbox.next_line().await.is_none());
        });
    }
}
