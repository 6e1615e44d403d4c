//! `wait-online`: requests that are answered once the interfaces they name
//! (every `auto` interface by default) are configured. They are checked
//! whenever an interface finishes going up or down or the kernel changes,
//! never on a timer; the client gives up on its own timeout and then asks
//! `status` what is missing.

use crate::dispatcher::Dispatcher;
use crate::queue::{ConnId, ReplySender};
use netconf_ctlsock_proto::{encode, Body, Progress, Response, WaitOnlineArgs};
use serde_json::json;

pub struct Waiter {
    conn: ConnId,
    reply: ReplySender,
    id: u64,
    targets: Vec<String>,
}

/// The interfaces a waiter waits for: those named, or every `auto` one.
fn targets(d: &Dispatcher, args: &WaitOnlineArgs) -> Vec<String> {
    if !args.targets.is_empty() {
        return args.targets.clone();
    }
    d.config
        .class("auto")
        .map(|c| c.interfaces.clone())
        .unwrap_or_default()
}

/// Configured: netconf brought it up (or adopted it as up) and nothing
/// runs on it now.
fn online(d: &Dispatcher, iface: &str) -> bool {
    d.state.get(iface).is_some() && !d.is_busy(iface)
}

fn answer(waiter: &Waiter) {
    let body = Body::Ok {
        result: json!({ "online": waiter.targets }),
    };
    let _ = waiter.reply.send(encode(&Response {
        id: waiter.id,
        body,
    }));
}

pub fn wait(d: &mut Dispatcher, conn: ConnId, reply: ReplySender, id: u64, args: WaitOnlineArgs) {
    let waiter = Waiter {
        conn,
        reply,
        id,
        targets: targets(d, &args),
    };
    let pending: Vec<&String> = waiter.targets.iter().filter(|t| !online(d, t)).collect();
    if pending.is_empty() {
        return answer(&waiter);
    }
    let message = format!(
        "waiting for {}",
        pending
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let progress = Progress {
        iface: None,
        event: None,
        step: "wait-online".into(),
        stream: None,
        message,
    };
    let _ = waiter.reply.send(encode(&Response {
        id,
        body: Body::Progress(progress),
    }));
    d.waiters.push(waiter);
}

/// Answers every waiter whose interfaces are all configured now.
pub fn check(d: &mut Dispatcher) {
    if d.waiters.is_empty() {
        return;
    }
    let waiters = std::mem::take(&mut d.waiters);
    for waiter in waiters {
        if waiter.targets.iter().all(|t| online(d, t)) {
            answer(&waiter);
        } else {
            d.waiters.push(waiter);
        }
    }
}

pub fn hangup(d: &mut Dispatcher, conn: ConnId) {
    d.waiters.retain(|w| w.conn != conn);
}
