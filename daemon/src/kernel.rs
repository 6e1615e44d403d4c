//! The daemon's hold on the kernel: the rtnetlink socket it writes with, the
//! notification socket, and the mirror of links, addresses and routes the
//! notifications keep current.
//!
//! The dispatcher owns all three and reads notifications itself, so the
//! mirror is exact whenever it looks: the kernel queues the notification of
//! a change before it acknowledges it, so draining the monitor right after
//! a write yields exactly that write. A small watcher thread only polls the
//! monitor and nudges the dispatcher ([`Message::Kernel`]) when something
//! arrived unasked (a change made by someone else).

use crate::queue::{Message, Sender};
use netconf_kernel::mirror::{Mirror, Resync};
use netconf_kernel::netlink::{
    Address, Event as MonitorEvent, Family, Link, Monitor, Netlink, NetlinkError, Route,
};
use netconf_methods::apply::KernelState;
use std::collections::BTreeSet;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use tracing::{debug, warn};

/// A notification, with the link as it was before when it is about one.
#[derive(Debug)]
pub struct Change {
    pub event: MonitorEvent,
    pub before: Option<Link>,
}

pub struct Kernel {
    pub nl: Netlink,
    monitor: Monitor,
    pub mirror: Mirror,
    /// Lets the watcher poll again once the dispatcher has drained.
    drained: crossbeam_channel::Sender<()>,
    /// Notifications read into the mirror, not yet handed out by `sync`.
    unreported: Vec<Change>,
    /// Links whose routes the kernel may have removed without a notification
    /// (an address went, or the link went down). Re-reading all routes after
    /// each such change made `ifdown -a` of 1000 interfaces quadratic.
    stale_routes: BTreeSet<u32>,
}

/// The link a notification is about.
fn link_of(event: &MonitorEvent) -> Option<u32> {
    match event {
        MonitorEvent::NewLink(l) | MonitorEvent::DelLink(l) => Some(l.index),
        MonitorEvent::NewAddress(a) | MonitorEvent::DelAddress(a) => Some(a.index),
        _ => None,
    }
}

impl Kernel {
    /// Subscribes first, then dumps, so no change falls between the two.
    pub fn open(queue: Sender) -> Result<Kernel, String> {
        let monitor = Monitor::open().map_err(|e| format!("cannot watch the kernel: {e}"))?;
        monitor
            .set_nonblocking(true)
            .map_err(|e| format!("cannot watch the kernel: {e}"))?;
        let mut nl = Netlink::open().map_err(|e| format!("cannot open rtnetlink: {e}"))?;
        let mirror =
            Mirror::dump(&mut nl).map_err(|e| format!("cannot read the kernel's state: {e}"))?;
        let watched = monitor
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("cannot watch the kernel: {e}"))?;
        let (drained, wait_drained) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("kernel-watch".into())
            .stack_size(64 * 1024)
            .spawn(move || watch(watched, queue, wait_drained))
            .map_err(|e| format!("cannot watch the kernel: {e}"))?;
        Ok(Kernel {
            nl,
            monitor,
            mirror,
            drained,
            unreported: Vec::new(),
            stale_routes: BTreeSet::new(),
        })
    }

    /// Reads every pending notification into the mirror (re-reading what
    /// the kernel changes without telling) and returns them, with those
    /// read earlier by [`KernelState`] lookups.
    pub fn sync(&mut self) -> Vec<Change> {
        self.drain();
        std::mem::take(&mut self.unreported)
    }

    fn drain(&mut self) {
        let events = &mut self.unreported;
        let mut resync = Resync::Nothing;
        loop {
            match self.monitor.recv() {
                Ok(batch) => {
                    for event in batch {
                        let before = match &event {
                            MonitorEvent::NewLink(l) | MonitorEvent::DelLink(l) => {
                                self.mirror.link(l.index).cloned()
                            }
                            _ => None,
                        };
                        let wants = self.mirror.apply(&event);
                        match (wants, link_of(&event)) {
                            // Routes the kernel may have dropped silently are
                            // those of this link: read again when someone
                            // looks at them, or once things are quiet.
                            (Resync::Routes, Some(index)) => {
                                self.stale_routes.insert(index);
                            }
                            (wants, _) => resync = resync.max(wants),
                        }
                        if event != MonitorEvent::Overrun {
                            events.push(Change { event, before });
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    warn!("reading kernel notifications: {e}");
                    resync = Resync::Everything;
                    break;
                }
            }
        }
        if resync == Resync::Everything {
            debug!("kernel notifications were lost; reading everything again");
        }
        if resync != Resync::Nothing {
            if let Err(e) = self.mirror.resync(&mut self.nl, resync) {
                warn!("re-reading the kernel: {e}");
            }
            self.stale_routes.clear();
        }
    }

    /// Re-reads the routes if any may have been dropped without a word: when
    /// the dispatcher's queue runs dry, and before the mirror is shown.
    pub fn settle(&mut self) {
        self.drain();
        if self.stale_routes.is_empty() {
            return;
        }
        if let Err(e) = self.mirror.resync(&mut self.nl, Resync::Routes) {
            warn!("re-reading the kernel's routes: {e}");
        }
        self.stale_routes.clear();
    }

    /// The dispatcher has drained the monitor: the watcher may poll again.
    pub fn drained(&self) {
        let _ = self.drained.try_send(());
    }
}

/// Polls the monitor and nudges the dispatcher, one nudge per drain, so a
/// burst of changes costs one message, not one per change.
fn watch(fd: OwnedFd, queue: Sender, drained: crossbeam_channel::Receiver<()>) {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, for a descriptor this thread owns.
        let n = unsafe { libc::poll(&mut pfd, 1, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            warn!("watching the kernel: {}", io::Error::last_os_error());
            return;
        }
        if queue.send(Message::Kernel).is_err() || drained.recv().is_err() {
            return;
        }
    }
}

/// `apply` and `remove` diff against the mirror, brought up to date first:
/// the notification of every write netconf made is already queued, so the
/// mirror after a drain is the kernel as it is.
impl KernelState for Kernel {
    fn netlink(&mut self) -> &mut Netlink {
        &mut self.nl
    }

    fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        self.drain();
        Ok(self.mirror.links().cloned().collect())
    }

    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        self.drain();
        Ok(self.mirror.link_by_name(name).cloned())
    }

    fn addresses_of(&mut self, index: u32, family: Family) -> Result<Vec<Address>, NetlinkError> {
        self.drain();
        Ok(self
            .mirror
            .addresses_of(index)
            .filter(|a| Family::of(&a.addr) == family)
            .cloned()
            .collect())
    }

    fn routes_in(
        &mut self,
        index: u32,
        family: Family,
        table: u32,
    ) -> Result<Vec<Route>, NetlinkError> {
        self.drain();
        if self.stale_routes.contains(&index) {
            self.settle();
        }
        Ok(self
            .mirror
            .routes_of(index)
            .filter(|r| r.family == family && r.table == table)
            .cloned()
            .collect())
    }
}
