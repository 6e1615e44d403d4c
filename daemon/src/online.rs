//! `wait-online`: requests that are answered once the interfaces they name
//! (every `auto` interface by default) are configured. They are checked
//! whenever an interface finishes going up or down or the kernel changes,
//! never on a timer; the client gives up on its own timeout and then asks
//! `status` what is missing.

use crate::dispatcher::Dispatcher;
use crate::queue::{ConnId, ReplySender};
use netconf_ctlsock_proto::{Body, Progress, WaitOnlineArgs};
use serde_json::json;

/// The `wait-online` requests still waiting, in arrival order.
#[derive(Default)]
pub struct Waiters(Vec<Waiter>);

struct Waiter {
    conn: ConnId,
    reply: ReplySender,
    id: u64,
    targets: Vec<String>,
    /// One of the targets is enough (the `allow-hotplug` ones).
    any: bool,
}

/// The interfaces a waiter waits for, as Debian's wait-online.sh picks
/// them: those named; else every `auto` one but lo; else, when there is
/// none, any one of the `allow-hotplug` ones.
fn targets(d: &Dispatcher, args: &WaitOnlineArgs) -> (Vec<String>, bool) {
    if !args.targets.is_empty() {
        return (args.targets.clone(), false);
    }
    let class = |name: &str| -> Vec<String> {
        d.config
            .class(name)
            .map(|c| {
                c.interfaces
                    .iter()
                    .filter(|i| *i != "lo")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let auto = class("auto");
    if auto.is_empty() {
        (class("hotplug"), true)
    } else {
        (auto, false)
    }
}

impl Waiter {
    fn satisfied(&self, d: &Dispatcher) -> bool {
        if self.any {
            self.targets.is_empty() || self.targets.iter().any(|t| online(d, t))
        } else {
            self.targets.iter().all(|t| online(d, t))
        }
    }
}

/// Configured: netconf brought it up (or adopted it as up) and nothing
/// runs on it now.
fn online(d: &Dispatcher, iface: &str) -> bool {
    d.state.configured(iface) && !d.is_busy(iface)
}

fn answer(waiter: &Waiter) {
    let body = Body::Ok {
        result: json!({ "online": waiter.targets }),
    };
    waiter.reply.send(waiter.id, body);
}

pub fn wait(d: &mut Dispatcher, conn: ConnId, reply: ReplySender, id: u64, args: WaitOnlineArgs) {
    let (targets, any) = targets(d, &args);
    let waiter = Waiter {
        conn,
        reply,
        id,
        targets,
        any,
    };
    if waiter.satisfied(d) {
        return answer(&waiter);
    }
    let pending: Vec<&String> = waiter.targets.iter().filter(|t| !online(d, t)).collect();
    // One line per interface, named in `iface`: the client says which
    // are still missing when it gives up.
    for name in pending {
        let progress = Progress {
            iface: Some(name.clone()),
            event: None,
            step: "wait-online".into(),
            stream: None,
            message: format!("waiting for {}{name}", if any { "one of: " } else { "" }),
        };
        waiter.reply.send(id, Body::Progress(progress));
    }
    d.waiters.0.push(waiter);
}

/// Answers every waiter whose interfaces are all configured now.
pub fn check(d: &mut Dispatcher) {
    if d.waiters.0.is_empty() {
        return;
    }
    let waiters = std::mem::take(&mut d.waiters.0);
    for waiter in waiters {
        if waiter.satisfied(d) {
            answer(&waiter);
        } else {
            d.waiters.0.push(waiter);
        }
    }
}

pub fn hangup(d: &mut Dispatcher, conn: ConnId) {
    d.waiters.0.retain(|w| w.conn != conn);
}
