//! What travels on the daemon's queues: [`Message`]s into the dispatcher (a
//! crossbeam channel, the only way in), and [`Job`]s it hands to the I/O
//! thread for work that takes time (hook scripts, waiting for DAD).

use netconf_ctlsock_proto::{ErrorCode, Request};
use netconf_hooks::{OutputLine, Step};
use netconf_interfaces::Mapping;
use netconf_methods::dhcp_client::DhcpClient;
use netconf_methods::provider::DadWait;
use std::net::Ipv6Addr;
use std::time::Duration;

pub type EventId = u64;
pub type ConnId = u64;

pub use crate::outbox::ReplySender;

pub type Sender = crossbeam_channel::Sender<Message>;
pub type Receiver = crossbeam_channel::Receiver<Message>;

/// Everything the dispatcher reacts to, in arrival order.
pub enum Message {
    /// A parsed request from a client.
    Request {
        conn: ConnId,
        reply: ReplySender,
        request: Request,
        /// What the peer may do, from its credentials at connect().
        role: crate::access::Role,
    },
    /// An event created by the dispatcher is ready to start.
    Run(EventId),
    /// A job finished on the I/O thread.
    JobDone {
        event: EventId,
        result: Result<JobOutput, JobError>,
    },
    /// A line of a hook's output, while it runs.
    Output { event: EventId, line: OutputLine },
    /// A dhclient the daemon started has exited.
    DhcpClientExited {
        key: (String, bool),
        pid: u32,
        /// It exited by itself with status 0.
        success: bool,
        /// It exited by itself (with a status), not killed by a signal.
        by_itself: bool,
        status: String,
    },
    /// The backoff after a dhclient died has passed: start it again if wanted.
    RespawnDue { key: (String, bool) },
    /// SIGHUP: read the configuration again and apply what changed.
    Reload,
    /// SIGCONT: the daemon was stopped; what happened meanwhile is caught
    /// up on (leases renewed without it).
    Continued,
    /// Kernel notifications are waiting on the monitor socket.
    Kernel,
    /// Look again whether udev is done with a new link (hotplug).
    HotplugCheck { name: String, tries: u32 },
    /// Try again to write the state file, which could not be written.
    SaveState,
    /// The active profile's hold-down is over: choose its units again.
    ProfileCheck,
    /// Something the conditions of locations and modifiers read changed
    /// outside the kernel's notifications (a gateway's MAC became known).
    FactsChanged { cause: String },
    /// A client hung up: forget its subscriptions.
    Hangup { conn: ConnId },
    /// SIGTERM/SIGINT: stop, leaving the network as it is.
    Shutdown,
}

/// Work the dispatcher hands to the I/O thread, with the id of its event.
pub enum Job {
    Hooks {
        steps: Vec<Step>,
        env: Vec<(String, String)>,
        timeout: Duration,
        ignore_errors: bool,
        /// `-n`: say what would run, run nothing.
        no_act: bool,
        /// The stanza family and phase (`pre-up`, ...) of an interface's
        /// hooks, marked in its record before they start; `None` for the
        /// `--all` calls.
        phase: Option<(netconf_interfaces::Family, &'static str)>,
    },
    /// Wait until the addresses are no longer tentative (Debian's settle-dad.sh).
    WaitDad {
        device: String,
        addresses: Vec<Ipv6Addr>,
        wait: DadWait,
    },
    /// Wait (up to `max`) for the ports of a bridge with STP on to reach
    /// forwarding, as bridge-utils does (`bridge_maxwait`).
    WaitForwarding {
        bridge: String,
        ports: Vec<String>,
        max: Duration,
    },
    /// Wait for the link-local address dhclient -6 needs (Debian's wait-for-ll6.sh).
    WaitLinkLocal { device: String, wait: DadWait },
    /// Start the long-running dhclient of an interface.
    StartDhcpClient(DhcpClient),
    /// Watch a dhclient an earlier daemon started, to hear of its exit.
    WatchDhcpClient { key: (String, bool), pid: u32 },
    /// Tell the dispatcher when `after` has passed since a dhclient died.
    RespawnDhcpClient { spec: DhcpClient, after: Duration },
    /// Tell the dispatcher to look again at a new link after `after`.
    HotplugCheck {
        name: String,
        tries: u32,
        after: Duration,
    },
    /// Send [`Message::ProfileCheck`] after `after`.
    ProfileCheck { after: Duration },
    /// Send [`Message::SaveState`] after `after`.
    RetrySaveState { after: Duration },
    /// Release the lease and stop the client; waits for it. With the lease
    /// (address, server) netconfd may send the RELEASE itself.
    ReleaseDhcpClient {
        spec: DhcpClient,
        lease: Option<netconf_methods::dhcp_release::HeldLease>,
    },
    /// Fails with `message` after `after`, unless the event completed first.
    Timer { after: Duration, message: String },
    /// Succeeds after `after`, unless the event completed first.
    Sleep(Duration),
    /// Run a `mapping` script to find the logical interface.
    Mapping { mapping: Mapping, physical: String },
}

/// Why a job failed: the reply's error code, and a sentence.
#[derive(Debug, Clone)]
pub struct JobError {
    pub code: ErrorCode,
    pub message: String,
}

/// A plain message is a failed hook (or mapping script).
impl From<String> for JobError {
    fn from(message: String) -> Self {
        JobError {
            code: ErrorCode::HookFailed,
            message,
        }
    }
}

pub enum JobOutput {
    Done,
    /// A mapping script's answer.
    Logical(String),
    /// A long-running dhclient was started with this pid.
    Started {
        key: (String, bool),
        pid: u32,
    },
}
