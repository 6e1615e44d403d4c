//! The dispatcher: one thread that owns all state and pops [`Message`]s off
//! the queue. Requests become events; an event may spawn children, may wait
//! on other events (a chain: pre-up hooks → apply → DAD → post-up hooks), and
//! completes when all its children have; a failure ends the parent with the
//! child's cause and cancels what waited on it. Events for one interface run
//! one at a time; different interfaces proceed concurrently.

use crate::access::Role;
use crate::ifaces::{self, Iface};
use crate::kernel::Kernel;
use crate::queue::{ConnId, EventId, Job, JobOutput, Message, Receiver, ReplySender, Sender};
use crate::state::State;
use netconf_ctlsock_proto::ReloadArgs;
use netconf_ctlsock_proto::{Body, ChangeArgs, ErrorCode, ErrorReply, Op, Progress, Stream};
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, error, info, info_span, warn, Span};

/// Messages handled at the most while jobs wait for the state file to be
/// written: a long burst of work does not hold them to its end.
const HELD_MESSAGES: usize = 64;

/// How often an unwritable state file is tried again.
const STATE_RETRY: Duration = Duration::from_secs(5);

/// Fixed by the command line of netconfd.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interfaces_file: PathBuf,
    /// The dialect files are read in when a request names none.
    pub dialect: netconf_interfaces::DialectChoice,
    pub state_file: PathBuf,
    /// Where `if-pre-up.d` and friends live (`/etc/network`).
    pub hooks_root: PathBuf,
    pub hook_timeout: Duration,
    /// How long `ifup` waits for what a method's program does.
    pub program_timeout: Duration,
    /// Who may do what over the control socket.
    pub access: crate::access::Policy,
    /// netconf's own configuration (`/etc/netconf`): profiles, locations,
    /// external network modifiers.
    pub config_dir: PathBuf,
    /// How long a better priority group waits before it takes over.
    pub hold_down: Duration,
    /// Where locations write, and the command that starts units.
    pub locations: crate::locations::LocationSettings,
}

/// What a [`Kind::Policy`] event runs for.
#[derive(Debug, Clone)]
pub enum PolicyRun {
    /// `systemctl start|stop` of a location's unit.
    Unit,
    /// A modifier's start or stop.
    Enm { name: String, start: bool },
}

/// Why an event failed: a stable code, a sentence, and the causes below it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    pub causes: Vec<String>,
    /// Not a failure of its own: something it waited on failed.
    pub cancelled: bool,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            causes: Vec::new(),
            cancelled: false,
        }
    }

    /// This failure as the cause of a wider one.
    pub fn wrap(&self, code: ErrorCode, message: impl Into<String>) -> Failure {
        let mut causes = vec![self.message.clone()];
        causes.extend(self.causes.iter().cloned());
        Failure {
            code,
            message: message.into(),
            causes,
            cancelled: false,
        }
    }
}

/// What a Debian-style `ifup`/`ifdown` request shares with its children.
pub struct ChangeCtx {
    pub up: bool,
    pub args: ChangeArgs,
    pub config: InterfacesFile,
    /// `ifreload` of a changed stanza, by physical interface: what of the
    /// old stanza the new one wants too, kept through the down and taken
    /// over by the up, so that only the difference is written.
    pub carried: HashMap<String, crate::reload::Carried>,
}

pub enum Kind {
    /// A client's request; it answers the client when its child completes.
    Request {
        conn: ConnId,
        reply: ReplySender,
        request_id: u64,
        /// The client wants every step, not only hook output and warnings.
        verbose: bool,
        /// The `ok` reply's result (`reload`: the plan).
        result: Value,
    },
    /// `ifup`/`ifdown` of a set of interfaces.
    Change {
        ctx: Arc<ChangeCtx>,
        /// The interfaces that failed (logical name), each with why.
        failed: Vec<(String, String)>,
        /// The `--all` post hooks have been started.
        post_ran: bool,
        targets: ifaces::Targets,
    },
    /// One interface up or down.
    Iface(Box<Iface>),
    /// Work for the I/O thread; taken when it starts.
    Job(Option<Box<Job>>),
    /// Waits for the first lease of a dhclient (or times out).
    WaitLease { key: crate::dhcp::Key },
    /// `wait-carrier SECONDS`: waits for the link's carrier, going on
    /// without it (and saying so) when the time is up.
    WaitCarrier { device: String, timeout: Duration },
    /// Kernel work done right here: apply or remove a stanza of the parent `Iface`.
    Kernel { stanza: usize, up: bool },
    /// The start (`up`) or stop command of a method's program (`pon`,
    /// `avahi-autoipd -D`, ...), as Debian runs it.
    Program {
        stanza: usize,
        up: bool,
        command: String,
        env: Vec<(String, String)>,
        no_act: bool,
    },
    /// Waits for what the program of stanza `stanza` of the parent `Iface`
    /// leaves in the kernel (going up) or for it to go (going down).
    WaitProgram { stanza: usize, up: bool },
    /// A command of a location or modifier (its child job runs it).
    Policy { run: PolicyRun },
}

impl Kind {
    /// What the event is, in a word (logs, crash points).
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Request { .. } => "request",
            Kind::Change { ctx, .. } if ctx.up => "ifup",
            Kind::Change { .. } => "ifdown",
            Kind::Iface(i) if i.up => "iface-up",
            Kind::Iface(_) => "iface-down",
            Kind::Job(None) => "job",
            Kind::Job(Some(job)) => match **job {
                Job::Hooks { .. } => "hooks",
                Job::WaitDad { .. } => "wait-dad",
                Job::Mapping { .. } => "mapping",
                Job::StartDhcpClient(_) => "start-dhcp-client",
                Job::WaitLinkLocal { .. } => "wait-link-local",
                Job::WaitForwarding { .. } => "wait-forwarding",
                Job::WatchDhcpClient { .. } => "watch-dhcp-client",
                Job::ReleaseDhcpClient { .. } => "release-dhcp-client",
                Job::Timer { .. } => "timer",
                Job::Sleep(_) => "sleep",
                Job::RespawnDhcpClient { .. } => "respawn-dhcp-client",
                Job::HotplugCheck { .. } => "hotplug-check",
                Job::RetrySaveState { .. } => "retry-save-state",
                Job::ProfileCheck { .. } => "profile-check",
            },
            Kind::WaitLease { .. } => "wait-lease",
            Kind::WaitCarrier { .. } => "wait-carrier",
            Kind::Program { up: true, .. } => "start-program",
            Kind::Program { .. } => "stop-program",
            Kind::WaitProgram { .. } => "wait-program",
            Kind::Policy {
                run: PolicyRun::Unit,
            } => "location-unit",
            Kind::Policy { .. } => "enm",
            Kind::Kernel { up: true, .. } => "apply",
            Kind::Kernel { up: false, .. } => "remove",
        }
    }
}

pub struct Event {
    pub parent: Option<EventId>,
    pub kind: Kind,
    pub span: Span,
    children: usize,
    waiting_on: usize,
    pub failure: Option<Failure>,
}

impl Event {
    pub fn children_pending(&self) -> usize {
        self.children
    }
}

/// A `monitor` client: its connection, reply channel, request id, and role
/// (what root's hook scripts print is not for everyone).
struct MonitorClient {
    conn: ConnId,
    reply: ReplySender,
    id: u64,
    role: Role,
}

/// Everything the daemon knows and does, owned by one thread. Handlers
/// (`ifaces`, `dhcp`, `hotplug`, `reload`, `online`, `status`, `adopt`) take
/// `&mut Dispatcher`: they read and write the shared facts below, keep their
/// own tables in types only their module can open, and reach the event
/// machinery through the dispatcher's methods.
pub struct Dispatcher {
    // Fixed at start.
    pub settings: Settings,
    pub dhcp_settings: crate::dhcp::DhcpSettings,

    // What every handler shares: the records, the kernel, the file.
    pub state: State,
    pub kernel: Result<Kernel, String>,
    /// The configuration as last read (at start, by a request or a reload).
    pub config: InterfacesFile,
    /// Interfaces found configured at start and left alone, with how they
    /// differ from their stanza (empty when they have none).
    pub adopted: HashMap<String, Vec<String>>,
    /// Interfaces whose last `ifup` failed, with why.
    pub failed: HashMap<String, String>,

    // Each handler's own table.
    /// The dhclients netconf runs (`dhcp`'s).
    pub dhcp: crate::dhcp::Clients,
    /// `wait-online` requests still waiting (`online`'s).
    pub waiters: crate::online::Waiters,
    /// `wait-carrier` events still waiting (`hotplug`'s).
    pub carrier_waits: crate::hotplug::CarrierWaits,
    /// `ifup`s and `ifdown`s waiting for a method's program (`programs`').
    pub program_waits: crate::programs::ProgramWaits,
    /// DNS learned from router advertisements (`ra`'s).
    pub ra: crate::ra::RaDns,
    /// The active profile and what its activation chose (`profiles`').
    pub profiles: crate::profiles::Profiles,
    /// The active location (`locations`').
    pub locations: crate::locations::Locations,
    /// The external network modifiers (`enms`').
    pub enms: crate::enms::Enms,

    /// The dispatcher's own state: no handler sees it.
    own: Own,
}

/// The event machinery and the clients the dispatcher talks to.
struct Own {
    events: HashMap<EventId, Event>,
    dependents: HashMap<EventId, Vec<EventId>>,
    /// Per physical interface: the event running on it first, then those waiting.
    iface_queues: HashMap<String, VecDeque<EventId>>,
    next_id: EventId,
    /// The records changed since the state file was last written.
    state_dirty: bool,
    /// Why the state file could not be written, while it cannot (a retry
    /// is due then).
    state_unsaved: Option<String>,
    /// Jobs that start once the state file says they do, and the messages
    /// handled since the first of them was held.
    held: Vec<(EventId, Job)>,
    held_for: usize,
    /// `monitor` clients.
    monitors: Vec<MonitorClient>,
    /// Interfaces a DHCP client runs on that netconf did not start.
    foreign_dhcp_clients: BTreeSet<String>,
    /// The dispatcher's own queue (events it creates come back through it).
    queue: Sender,
    /// Work for the I/O thread.
    jobs: tokio::sync::mpsc::UnboundedSender<(EventId, Job)>,
}

impl Dispatcher {
    pub fn new(
        settings: Settings,
        dhcp_settings: crate::dhcp::DhcpSettings,
        state: State,
        queue: Sender,
        jobs: tokio::sync::mpsc::UnboundedSender<(EventId, Job)>,
    ) -> Self {
        let kernel = Kernel::open(queue.clone());
        let config = read_config(&settings.interfaces_file, settings.dialect);
        let foreign_dhcp_clients =
            netconf_methods::dhcp_client::foreign_interfaces(&dhcp_settings.run_dir);
        let locations = crate::locations::Locations::new(settings.locations.clone());
        let enms = crate::enms::Enms::new(
            settings.locations.config_dir.clone(),
            settings.locations.run_dir.clone(),
            settings.locations.systemctl.clone(),
        );
        Dispatcher {
            settings,
            dhcp_settings,
            state,
            kernel,
            config,
            adopted: HashMap::new(),
            failed: HashMap::new(),
            dhcp: Default::default(),
            waiters: Default::default(),
            carrier_waits: Default::default(),
            program_waits: Default::default(),
            ra: Default::default(),
            profiles: Default::default(),
            locations,
            enms,
            own: Own {
                events: HashMap::new(),
                dependents: HashMap::new(),
                iface_queues: HashMap::new(),
                next_id: 1,
                state_dirty: false,
                state_unsaved: None,
                held: Vec::new(),
                held_for: 0,
                monitors: Vec::new(),
                foreign_dhcp_clients,
                queue,
                jobs,
            },
        }
    }

    /// Runs until told to shut down.
    pub fn run(mut self, messages: Receiver) {
        while let Some(message) = self.next_message(&messages) {
            if !self.handle(message) {
                break;
            }
            // Jobs that wait for the state file go once it is written: when
            // the burst is through, or after a few messages in a long one.
            if !self.own.held.is_empty() {
                self.own.held_for += 1;
                if messages.is_empty() || self.own.held_for >= HELD_MESSAGES {
                    let _ = self.flush_state();
                    self.release_held();
                }
            }
            // Write the state once a burst of work is through, not per interface.
            if messages.is_empty() {
                let _ = self.flush_state();
                if let Ok(k) = self.kernel.as_mut() {
                    k.settle();
                }
                self.sync_kernel();
                crate::online::check(&mut self);
                crate::ra::tick(&mut self);
                crate::profiles::tick(&mut self);
                crate::locations::check(&mut self);
                if self.own.events.is_empty() {
                    self.give_back_memory();
                }
            }
        }
        let _ = self.flush_state();
        info!("dispatcher stopped; the network is left as it is");
    }

    /// The next message (`None`: every sender is gone). Until it comes,
    /// what falls due of the DNS learned from router advertisements (a
    /// lifetime's end, a deferred write) is done when it falls due.
    fn next_message(&mut self, messages: &Receiver) -> Option<Message> {
        use crossbeam_channel::RecvTimeoutError;
        loop {
            let Some(due) = crate::ra::next_deadline(self) else {
                return messages.recv().ok();
            };
            // Also under a queue that never runs dry.
            if due <= std::time::Instant::now() {
                crate::ra::tick(self);
                continue;
            }
            match messages.recv_deadline(due) {
                Ok(message) => return Some(message),
                Err(RecvTimeoutError::Timeout) => crate::ra::tick(self),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Handles one message; false to stop.
    pub fn handle(&mut self, message: Message) -> bool {
        match message {
            Message::Request {
                conn,
                reply,
                request,
                role,
            } => self.request(conn, reply, request.id, request.op, role),
            Message::Run(id) => self.start(id),
            Message::JobDone { event, result } => match result {
                Ok(output) => {
                    match &output {
                        JobOutput::Logical(logical) => self.mapped(event, logical.clone()),
                        JobOutput::Started { key, pid } => crate::dhcp::started(self, key, *pid),
                        JobOutput::Done => {}
                    }
                    crate::hotplug::carrier_wait_over(self, event);
                    crate::programs::wait_over(self, event, true);
                    self.complete(event, Ok(()));
                }
                Err(e) => {
                    crate::programs::wait_over(self, event, false);
                    self.complete(event, Err(Failure::new(e.code, e.message)))
                }
            },
            Message::Output { event, line } => {
                crate::programs::output(self, event, &line);
                let stream = match line.stream {
                    netconf_hooks::Stream::Stdout => Stream::Stdout,
                    netconf_hooks::Stream::Stderr => Stream::Stderr,
                };
                self.progress_stream(event, "output", Some(stream), line.line);
            }
            Message::DhcpClientExited {
                key,
                pid,
                success,
                by_itself,
                status,
            } => crate::dhcp::exited(self, &key, pid, (success, by_itself), &status),
            Message::RespawnDue { key } => crate::dhcp::respawn_due(self, &key),
            Message::Reload => {
                self.reload_policy();
                crate::reload::start(self, None, ReloadArgs::default())
            }
            Message::FactsChanged { cause } => crate::locations::facts_changed(self, cause),
            Message::Continued => crate::dhcp::catch_up(self),
            Message::Kernel => {
                let events = match self.kernel.as_mut() {
                    Ok(k) => {
                        let events = k.sync();
                        k.drained();
                        events
                    }
                    Err(_) => Vec::new(),
                };
                self.kernel_changed(&events, false);
            }
            Message::HotplugCheck { name, tries } => crate::hotplug::appeared(self, &name, tries),
            Message::ProfileCheck => crate::profiles::check_due(self),
            Message::SaveState => {
                self.own.state_unsaved = None;
                let _ = self.flush_state();
            }
            Message::Hangup { conn } => {
                self.own.monitors.retain(|m| m.conn != conn);
                crate::online::hangup(self, conn);
            }
            Message::Shutdown => return false,
        }
        true
    }

    fn send(reply: &ReplySender, id: u64, body: Body) {
        reply.send(id, body);
    }

    fn request(&mut self, conn: ConnId, reply: ReplySender, id: u64, mut op: Op, role: Role) {
        let span = info_span!("request", conn, request = id);
        let _enter = span.enter();
        let error = |code, message: String, causes: Vec<String>| {
            Body::Error(ErrorReply {
                code,
                message,
                causes,
            })
        };
        let admitted = self.settings.access.admit(
            role,
            &mut op,
            &self.settings.interfaces_file,
            self.settings.dialect,
        );
        let op_name = op.name();
        if let Err(why) = admitted {
            info!(op = op.name(), ?role, "refused: {why}");
            return Self::send(&reply, id, error(ErrorCode::PermissionDenied, why, vec![]));
        }
        let (up, args) = match op {
            Op::Ping => {
                return Self::send(
                    &reply,
                    id,
                    Body::Ok {
                        result: json!({"daemon": "netconfd", "version": env!("CARGO_PKG_VERSION")}),
                    },
                );
            }
            Op::State(args) => {
                return Self::send(
                    &reply,
                    id,
                    Body::Ok {
                        result: self.state_result(&args.targets),
                    },
                )
            }
            Op::Status(args) => {
                self.own.foreign_dhcp_clients =
                    netconf_methods::dhcp_client::foreign_interfaces(&self.dhcp_settings.run_dir);
                if let Ok(k) = self.kernel.as_mut() {
                    k.settle();
                }
                self.sync_kernel();
                let result = if args.records {
                    let mut records = serde_json::to_value(&self.state).unwrap_or(Value::Null);
                    if let (Some(only), Some(list)) =
                        (&args.iface, records["interfaces"].as_array_mut())
                    {
                        list.retain(|r| r["phys"] == only.as_str());
                    }
                    records
                } else {
                    let mut status =
                        crate::status::status(self, &self.config, args.iface.as_deref());
                    status["profile"] = crate::profiles::status(self);
                    status
                };
                return Self::send(&reply, id, Body::Ok { result });
            }
            Op::Monitor => {
                self.own.monitors.push(MonitorClient {
                    conn,
                    reply: reply.clone(),
                    id,
                    role,
                });
                let hello = Progress {
                    iface: None,
                    event: None,
                    step: "monitor".into(),
                    stream: None,
                    message: "watching requests, events and kernel changes".into(),
                };
                return Self::send(&reply, id, Body::Progress(hello));
            }
            Op::WaitOnline(args) => {
                return crate::online::wait(self, conn, reply, id, args);
            }
            Op::Reload(args) => {
                for refused in self.reload_policy() {
                    Self::send(&reply, id, Body::Progress(warning(refused)));
                }
                return crate::reload::start(self, Some((conn, reply, id, role)), args);
            }
            Op::ProfileList => {
                let result = crate::profiles::list(self);
                return Self::send(&reply, id, Body::Ok { result });
            }
            Op::ProfileShow(args) => {
                let body = match crate::profiles::show(self, &args.name) {
                    Ok(result) => Body::Ok { result },
                    Err(e) => Body::Error(e),
                };
                return Self::send(&reply, id, body);
            }
            Op::ProfileEnable(args) => {
                self.tell_monitors(
                    None,
                    None,
                    "request",
                    format!("profile enable {}", args.name),
                );
                return crate::profiles::enable(self, (conn, reply, id), &args.name);
            }
            Op::LocationList => {
                let result = crate::locations::list(self);
                return Self::send(&reply, id, Body::Ok { result });
            }
            Op::EnmList => {
                let result = crate::enms::list(self);
                return Self::send(&reply, id, Body::Ok { result });
            }
            Op::LocationShow(args) => {
                let body = match crate::locations::show(self, &args.name) {
                    Ok(result) => Body::Ok { result },
                    Err(e) => error(ErrorCode::BadRequest, e, vec![]),
                };
                return Self::send(&reply, id, body);
            }
            Op::LocationEnable(args) => {
                let body = match crate::locations::enable(self, &args.name) {
                    Ok(result) => Body::Ok { result },
                    Err(e) => error(ErrorCode::BadRequest, e, vec![]),
                };
                return Self::send(&reply, id, body);
            }
            Op::EnmEnable(args) | Op::EnmDisable(args) => {
                let enable = matches!(op_name, "enm-enable");
                let body = match crate::enms::set(self, &args.name, enable) {
                    Ok(result) => Body::Ok { result },
                    Err(e) => error(ErrorCode::BadRequest, e, vec![]),
                };
                return Self::send(&reply, id, body);
            }
            Op::DhcpEvent(args) => {
                let body = match crate::dhcp::event(self, &args) {
                    Ok(exit) => Body::Ok {
                        result: json!({ "exit": exit }),
                    },
                    Err(f) => error(f.code, f.message, f.causes),
                };
                crate::locations::touch(self, || {
                    format!("DHCP {} on {}", args.reason, args.interface)
                });
                // The lease is on disk before dhclient hears it was taken:
                // a daemon that crashes before that hears it again from
                // the hook, one that crashes after finds it in the state.
                let _ = self.flush_state();
                return Self::send(&reply, id, body);
            }
            // Interfaces as documents (ncftool): docs/PROTOCOL.md.
            op @ (Op::IfaceList(_)
            | Op::IfaceXml(_)
            | Op::IfaceDefine(_)
            | Op::IfaceUndefine(_)
            | Op::ChangeBegin
            | Op::ChangeCommit
            | Op::ChangeRollback) => {
                return crate::documents::request(self, conn, reply, id, op, role);
            }
            Op::Ifup(args) => (true, args),
            Op::Ifdown(args) => (false, args),
        };
        let verb = if up { "ifup" } else { "ifdown" };
        let file = args
            .interfaces
            .clone()
            .unwrap_or_else(|| self.settings.interfaces_file.to_string_lossy().into_owned());
        let dialect = match args.dialect.as_deref().map(str::parse) {
            None => self.settings.dialect,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                let e: netconf_interfaces::dialect::UnknownDialect = e;
                return Self::send(
                    &reply,
                    id,
                    error(ErrorCode::BadRequest, e.to_string(), vec![]),
                );
            }
        };
        let mut parsed = parse_file(
            &file,
            &ParseOptions {
                no_loopback: args.no_loopback,
                dialect,
                ..Default::default()
            },
        );
        // Another profile than `legacy` is active: a request that names
        // no file acts on it.
        if args.interfaces.is_none() {
            match crate::profiles::for_request(self) {
                None => {}
                Some(Ok(config)) => {
                    parsed.config = config;
                    parsed.diagnostics.clear();
                    parsed.rejected = false;
                }
                Some(Err(e)) => return Self::send(&reply, id, Body::Error(e)),
            }
        }
        if let Err(why) = self.settings.access.check_files(role, &parsed.config.files) {
            info!(op = verb, ?role, "refused: {why}");
            return Self::send(&reply, id, error(ErrorCode::PermissionDenied, why, vec![]));
        }
        for d in &parsed.diagnostics {
            if d.debian_prints && d.severity() != netconf_interfaces::Severity::Info {
                let message = d.debian_text(&parsed.config);
                self.show_monitors(warning(message.clone()));
                Self::send(&reply, id, Body::Progress(warning(message)));
            }
        }
        if parsed.rejected {
            let causes: Vec<String> = parsed.errors().map(|d| d.report(&parsed.config)).collect();
            let refused = format!("{verb} refused: couldn't read interfaces file \"{file}\"");
            self.tell_monitors(None, None, "request", refused);
            let body = error(
                ErrorCode::ConfigInvalid,
                format!("couldn't read interfaces file \"{file}\""),
                causes,
            );
            return Self::send(&reply, id, body);
        }
        info!(op = verb, targets = ?args.targets, all = args.all, "request");
        self.own.foreign_dhcp_clients =
            netconf_methods::dhcp_client::foreign_interfaces(&self.dhcp_settings.run_dir);
        if args.interfaces.is_none() {
            self.config = parsed.config.clone();
        }
        let what = if args.all {
            "-a".to_string()
        } else {
            args.targets.join(" ")
        };
        self.tell_monitors(None, None, "request", format!("{verb} {what}"));
        let root = self.add_event(
            None,
            Kind::Request {
                conn,
                reply,
                request_id: id,
                verbose: args.verbose || args.no_act,
                result: Value::Null,
            },
            info_span!(parent: None, "request", conn, request = id, op = verb),
        );
        self.spawn_change(root, up, args, parsed.config);
    }

    /// The `Change` child of a request: `ifup`/`ifdown` of what `args` selects.
    fn spawn_change(
        &mut self,
        root: EventId,
        up: bool,
        args: ChangeArgs,
        config: InterfacesFile,
    ) -> EventId {
        let ctx = Arc::new(ChangeCtx {
            up,
            args,
            config,
            carried: HashMap::new(),
        });
        self.spawn(
            root,
            Kind::Change {
                ctx,
                failed: Vec::new(),
                post_ran: false,
                targets: ifaces::Targets::default(),
            },
            &[],
        )
    }

    /// `ifquery --state`: `phys=logical`, most recently added first; with
    /// targets, those of them that are up, in their order.
    fn state_result(&self, targets: &[String]) -> Value {
        let line = |r: &crate::state::IfaceRecord| format!("{}={}", r.phys, r.logical);
        let listed = |r: &&crate::state::IfaceRecord| r.listed();
        let lines: Vec<String> = if targets.is_empty() {
            self.state
                .interfaces
                .iter()
                .rev()
                .filter(listed)
                .map(line)
                .collect()
        } else {
            targets
                .iter()
                .filter_map(|t| self.state.get(t))
                .filter(listed)
                .map(line)
                .collect()
        };
        let all_up = targets
            .iter()
            .all(|t| self.state.get(t).is_some_and(|r| r.listed()));
        json!({ "interfaces": lines, "all_up": all_up })
    }

    pub fn add_event(&mut self, parent: Option<EventId>, kind: Kind, span: Span) -> EventId {
        let id = self.own.next_id;
        self.own.next_id += 1;
        self.own.events.insert(
            id,
            Event {
                parent,
                kind,
                span,
                children: 0,
                waiting_on: 0,
                failure: None,
            },
        );
        id
    }

    /// Creates a child of `parent` that starts once every event in `after`
    /// has completed successfully.
    pub fn spawn(&mut self, parent: EventId, kind: Kind, after: &[EventId]) -> EventId {
        let label = kind.label();
        let iface = match &kind {
            Kind::Iface(i) => Some(i.phys.clone()),
            _ => None,
        };
        let parent_span = self.own.events.get(&parent).map(|e| e.span.clone());
        let id = self.own.next_id;
        let span = match (parent_span, iface) {
            (Some(p), Some(iface)) => {
                info_span!(parent: &p, "event", id, parent = parent, kind = label, iface = %iface)
            }
            (Some(p), None) => info_span!(parent: &p, "event", id, parent = parent, kind = label),
            (None, _) => info_span!("event", id, parent = parent, kind = label),
        };
        let id = self.add_event(Some(parent), kind, span);
        if let Some(p) = self.own.events.get_mut(&parent) {
            p.children += 1;
        }
        let mut waiting = 0;
        for dep in after {
            if self.own.events.contains_key(dep) {
                self.own.dependents.entry(*dep).or_default().push(id);
                waiting += 1;
            }
        }
        if let Some(e) = self.own.events.get_mut(&id) {
            e.waiting_on = waiting;
        }
        if waiting == 0 {
            self.enqueue(id);
        }
        id
    }

    fn enqueue(&self, id: EventId) {
        // The receiver lives as long as the dispatcher: this cannot fail.
        let _ = self.own.queue.send(Message::Run(id));
    }

    fn start(&mut self, id: EventId) {
        let Some(event) = self.own.events.get_mut(&id) else {
            return;
        };
        crate::faults::point("start", event.kind.label());
        let span = event.span.clone();
        let _enter = span.enter();
        match &mut event.kind {
            Kind::Request { .. } | Kind::Policy { .. } => {}
            Kind::Change { ctx, .. } => {
                let ctx = ctx.clone();
                ifaces::plan_change(self, id, &ctx);
                self.settle(id);
            }
            Kind::Iface(iface) => {
                let phys = iface.phys.clone();
                let busy = self
                    .own
                    .iface_queues
                    .get(&phys)
                    .is_some_and(|q| !q.is_empty());
                if let Some(f) = busy.then(|| ifaces::recursion(&iface.ctx, &phys)).flatten() {
                    return self.complete(id, Err(f));
                }
                let queue = self.own.iface_queues.entry(phys.clone()).or_default();
                queue.push_back(id);
                if queue.front() == Some(&id) {
                    ifaces::begin(self, id);
                    self.settle(id);
                } else {
                    debug!(iface = %phys, "waiting for the interface's previous request");
                }
            }
            Kind::Job(job) => match job.take().map(|j| *j) {
                Some(Job::Hooks { ref steps, .. }) if steps.is_empty() => self.complete(id, Ok(())),
                Some(Job::Hooks {
                    phase: Some((family, phase)),
                    no_act: false,
                    ..
                }) if !ifaces::hooks_start(self, id, family, phase) => self.complete(id, Ok(())),
                Some(job) => {
                    // Hooks and dhclients start only once the record that
                    // says so is on disk: after a crash, the daemon must
                    // know what it had started.
                    let announced = matches!(
                        job,
                        Job::Hooks { phase: Some(_), .. } | Job::StartDhcpClient(_)
                    );
                    if announced && self.own.state_dirty {
                        self.own.held.push((id, job));
                    } else {
                        self.send_job(id, job);
                    }
                }
                None => {}
            },
            Kind::WaitLease { key } => {
                let key = key.clone();
                crate::dhcp::wait_lease(self, id, &key);
            }
            Kind::WaitCarrier { device, timeout } => {
                let (device, timeout) = (device.clone(), *timeout);
                crate::hotplug::wait_carrier(self, id, device, timeout);
            }
            Kind::Kernel { stanza, up } => {
                let (stanza, up) = (*stanza, *up);
                let result = ifaces::kernel(self, id, stanza, up);
                self.complete(id, result);
            }
            Kind::Program {
                stanza,
                up,
                command,
                env,
                no_act,
            } => {
                let (stanza, up, no_act) = (*stanza, *up, *no_act);
                let (command, env) = (std::mem::take(command), std::mem::take(env));
                crate::programs::run(self, id, (stanza, up), command, env, no_act);
            }
            Kind::WaitProgram { stanza, up } => {
                let (stanza, up) = (*stanza, *up);
                crate::programs::wait(self, id, stanza, up);
            }
        }
    }

    /// A parent whose planning spawned no children completes right away.
    fn settle(&mut self, id: EventId) {
        if self.own.events.get(&id).is_some_and(|e| e.children == 0) {
            self.children_done(id);
        }
    }

    fn mapped(&mut self, job: EventId, logical: String) {
        let Some(parent) = self.own.events.get(&job).and_then(|e| e.parent) else {
            return;
        };
        if let Some(Event {
            kind: Kind::Iface(iface),
            ..
        }) = self.own.events.get_mut(&parent)
        {
            iface.logical = logical;
        }
    }

    /// Ends an event, tells its parent, and wakes or cancels what waited on it.
    pub fn complete(&mut self, id: EventId, result: Result<(), Failure>) {
        let Some(mut event) = self.own.events.remove(&id) else {
            return;
        };
        crate::faults::point("done", event.kind.label());
        let result = match (result, event.failure.take()) {
            (Err(f), _) | (Ok(()), Some(f)) => Err(f),
            (Ok(()), None) => Ok(()),
        };
        {
            let _enter = event.span.enter();
            match &result {
                Ok(()) => debug!("done"),
                Err(f) if f.cancelled => debug!("cancelled"),
                Err(f) => debug!(error = %f.message, "failed"),
            }
        }
        if !self.own.monitors.is_empty() {
            let what = match &event.kind {
                Kind::Iface(i) => Some((
                    Some(i.phys.clone()),
                    format!("{} {}", if i.up { "ifup" } else { "ifdown" }, i.logical),
                )),
                Kind::Request { .. } => Some((None, "request".to_string())),
                _ => None,
            };
            if let Some((iface, what)) = what {
                let outcome = match &result {
                    Ok(()) => format!("{what}: done"),
                    Err(f) => format!("{what}: failed: {}", f.message),
                };
                self.tell_monitors(iface, Some(id), "event", outcome);
            }
        }
        let dependents = self.own.dependents.remove(&id).unwrap_or_default();
        if let Kind::Policy {
            run: PolicyRun::Enm { name, start },
        } = &event.kind
        {
            let outcome = result.as_ref().map_err(|f| f.message.clone()).copied();
            crate::enms::finish(self, name, *start, outcome);
        } else if let (Kind::Policy { .. }, Err(f)) = (&event.kind, &result) {
            warn!(error = %f.message, "a location's unit");
        }
        if let Kind::Request {
            conn,
            reply,
            request_id,
            result: answer,
            ..
        } = &event.kind
        {
            // What the client is told is done is on disk first, or the
            // client hears that it is not.
            if let Err(why) = self.flush_state() {
                let warning = warning(format!(
                    "the state could not be saved ({why}); netconfd keeps trying, and until \
                     it can, a restarted netconfd finds these interfaces by adoption only"
                ));
                Self::send(reply, *request_id, Body::Progress(warning));
            }
            if let (0, Err(f)) = (*conn, &result) {
                // Nobody asked (SIGHUP, hotplug): the log is all there is.
                warn!(error = %f.message, causes = ?f.causes, "failed");
            }
            let body = match result {
                Ok(()) => Body::Ok {
                    result: answer.clone(),
                },
                Err(f) => Body::Error(ErrorReply {
                    code: f.code,
                    message: f.message,
                    causes: f.causes,
                }),
            };
            Self::send(reply, *request_id, body);
            return;
        }
        if let Some(p) = event.parent.and_then(|p| self.own.events.get_mut(&p)) {
            p.children -= 1;
            if let Err(f) = &result {
                // A cancellation only echoes the failure that caused it.
                match &p.failure {
                    Some(existing) if !existing.cancelled || f.cancelled => {}
                    _ => p.failure = Some(f.clone()),
                }
            }
        }
        for dep in dependents {
            match &result {
                Ok(()) => {
                    let ready = self.own.events.get_mut(&dep).is_some_and(|d| {
                        d.waiting_on -= 1;
                        d.waiting_on == 0
                    });
                    if ready {
                        self.enqueue(dep);
                    }
                }
                Err(f) => {
                    let mut cancelled = f.clone();
                    cancelled.cancelled = true;
                    self.complete(dep, Err(cancelled));
                }
            }
        }
        if let Some(parent) = event.parent {
            if matches!(
                self.own.events.get(&parent).map(|p| &p.kind),
                Some(Kind::Change { .. })
            ) {
                ifaces::change_child_done(self, parent, id, result.is_ok());
            }
            if self
                .own
                .events
                .get(&parent)
                .is_some_and(|p| p.children == 0)
            {
                self.children_done(parent);
            }
        }
    }

    /// All children of `id` have completed: the event decides what is next.
    fn children_done(&mut self, id: EventId) {
        let Some(event) = self.own.events.get(&id) else {
            return;
        };
        match &event.kind {
            Kind::Request { .. }
            | Kind::Job(_)
            | Kind::Kernel { .. }
            | Kind::WaitLease { .. }
            | Kind::WaitCarrier { .. }
            | Kind::Program { .. }
            | Kind::WaitProgram { .. }
            | Kind::Policy { .. } => {
                let failure = event.failure.clone();
                self.complete(id, failure.map_or(Ok(()), Err));
            }
            Kind::Change { .. } => {
                if let Some(result) = ifaces::change_done(self, id) {
                    self.complete(id, result);
                }
            }
            Kind::Iface(_) => {
                if let Some(result) = ifaces::iface_step(self, id) {
                    let phys = match self.own.events.get(&id).map(|e| &e.kind) {
                        Some(Kind::Iface(i)) => Some(i.phys.clone()),
                        _ => None,
                    };
                    self.complete(id, result);
                    if let Some(phys) = phys {
                        self.release(&phys, id);
                    }
                }
            }
        }
    }

    /// The interface is free: start the next request waiting for it.
    fn release(&mut self, phys: &str, id: EventId) {
        let Some(queue) = self.own.iface_queues.get_mut(phys) else {
            return;
        };
        queue.retain(|e| *e != id);
        match queue.front().copied() {
            Some(next) => {
                let span = self.own.events.get(&next).map(|e| e.span.clone());
                let _enter = span.as_ref().map(Span::enter);
                ifaces::begin(self, next);
                self.settle(next);
            }
            None => {
                self.own.iface_queues.remove(phys);
            }
        }
    }

    fn send_job(&mut self, id: EventId, job: Job) {
        if let Err(unsent) = self.own.jobs.send((id, job)) {
            drop(unsent);
            let gone = Failure::new(ErrorCode::Internal, "the I/O thread is gone");
            self.complete(id, Err(gone));
        }
    }

    /// The held jobs go, the state that announces them written (or, on a
    /// full disk, not: they cannot wait for ever).
    fn release_held(&mut self) {
        self.own.held_for = 0;
        for (id, job) in std::mem::take(&mut self.own.held) {
            self.send_job(id, job);
        }
    }

    pub fn jobs_sender(&self) -> &tokio::sync::mpsc::UnboundedSender<(EventId, Job)> {
        &self.own.jobs
    }

    pub fn event(&self, id: EventId) -> Option<&Event> {
        self.own.events.get(&id)
    }

    pub fn event_mut(&mut self, id: EventId) -> Option<&mut Event> {
        self.own.events.get_mut(&id)
    }

    fn root_reply(&self, mut id: EventId) -> Option<(&ReplySender, u64, bool)> {
        loop {
            let event = self.own.events.get(&id)?;
            if let Kind::Request {
                reply,
                request_id,
                verbose,
                ..
            } = &event.kind
            {
                return Some((reply, *request_id, *verbose));
            }
            id = event.parent?;
        }
    }

    /// The physical interface an event works on (its `Iface` ancestor's).
    pub fn iface_of(&self, mut id: EventId) -> Option<String> {
        loop {
            let event = self.own.events.get(&id)?;
            if let Kind::Iface(i) = &event.kind {
                return Some(i.phys.clone());
            }
            id = event.parent?;
        }
    }

    /// Tells the client behind `id` what is happening.
    pub fn progress(&self, id: EventId, step: &str, message: impl Into<String>) {
        self.progress_stream(id, step, None, message.into());
    }

    fn progress_stream(&self, id: EventId, step: &str, stream: Option<Stream>, message: String) {
        if step == "warning" {
            warn!(event = id, "{message}");
        }
        if !self.own.monitors.is_empty() {
            self.show_monitors(Progress {
                iface: self.iface_of(id),
                event: Some(id),
                step: step.to_string(),
                stream,
                message: message.clone(),
            });
        }
        if let Some((reply, request_id, verbose)) = self.root_reply(id) {
            if !verbose && !matches!(step, "warning" | "output") {
                return;
            }
            let progress = Progress {
                iface: self.iface_of(id),
                event: Some(id),
                step: step.to_string(),
                stream,
                message,
            };
            Self::send(reply, request_id, Body::Progress(progress));
        }
    }

    /// Sends a line to every `monitor` client.
    pub fn tell_monitors(
        &self,
        iface: Option<String>,
        event: Option<EventId>,
        step: &str,
        message: String,
    ) {
        self.show_monitors(Progress {
            iface,
            event,
            step: step.to_string(),
            stream: None,
            message,
        });
    }

    fn show_monitors(&self, progress: Progress) {
        let hook_output = progress.step == "output";
        for m in &self.own.monitors {
            if hook_output && !m.role.sees_hook_output() {
                continue;
            }
            Self::send(&m.reply, m.id, Body::Progress(progress.clone()));
        }
    }

    /// Brings the mirror up to date with what the kernel announced.
    pub fn sync_kernel(&mut self) {
        let events = match self.kernel.as_mut() {
            Ok(k) => k.sync(),
            Err(_) => return,
        };
        self.kernel_changed(&events, false);
    }

    /// Runs `write` on the kernel: changes made by others before it are
    /// reported as theirs, what the kernel announces during and right
    /// after it as netconf's own.
    pub fn with_kernel<T>(&mut self, write: impl FnOnce(&mut Kernel) -> T) -> Result<T, Failure> {
        self.sync_kernel();
        let kernel = self
            .kernel
            .as_mut()
            .map_err(|e| Failure::new(ErrorCode::Netlink, e.clone()))?;
        let out = write(kernel);
        let ours = kernel.sync();
        self.kernel_changed(&ours, true);
        Ok(out)
    }

    /// Reports kernel changes: to the log and `monitor` clients, and to
    /// `wait-online` waiters. Changes by others to interfaces netconf
    /// manages are logged as external; netconf does not revert them.
    fn kernel_changed(&mut self, changes: &[crate::kernel::Change], ours: bool) {
        if changes.is_empty() {
            return;
        }
        if !ours {
            crate::enms::kernel_changed(self, changes);
        }
        crate::locations::touch(self, || {
            changes
                .iter()
                .find_map(crate::status::describe_change)
                .map_or_else(|| "a kernel change".to_string(), |(_, text, _)| text)
        });
        crate::ra::kernel_changed(self, changes);
        crate::programs::kernel_changed(self);
        crate::profiles::kernel_changed(self, changes);
        // netconf's own writes are only told to monitors and the debug log:
        // with neither, there is nothing to say (an `ifup -a` of 1000
        // interfaces brings some 6000 of them).
        if ours && self.own.monitors.is_empty() && !tracing::enabled!(tracing::Level::DEBUG) {
            crate::online::check(self);
            return;
        }
        let Ok(kernel) = self.kernel.as_ref() else {
            return;
        };
        for change in changes {
            let Some((index, text, by_kernel)) = crate::status::describe_change(change) else {
                continue;
            };
            let name = kernel
                .mirror
                .link(index)
                .map(|l| l.name.clone())
                .or_else(|| change.before.as_ref().map(|l| l.name.clone()));
            let managed = name
                .as_deref()
                .is_some_and(|n| self.state.get(n).is_some() || self.adopted.contains_key(n))
                || self
                    .state
                    .interfaces
                    .iter()
                    .any(|r| r.ifindex == Some(index));
            let enm = crate::enms::change_owner(self, change).map(|n| format!("enm:{n}"));
            let origin = if let Some(enm) = enm.as_deref() {
                enm
            } else if by_kernel {
                "kernel"
            } else if ours {
                "netconf"
            } else if name
                .as_deref()
                .is_some_and(|n| crate::programs::by_program(self, n, &change.event))
            {
                // pppd's link, avahi-autoipd's address: the stanza's own.
                "method"
            } else if managed {
                "external"
            } else {
                "foreign"
            };
            if managed && origin == "external" {
                info!(
                    iface = name.as_deref().unwrap_or("?"),
                    origin, "external change: {text}"
                );
            } else {
                debug!(
                    iface = name.as_deref().unwrap_or("?"),
                    origin, "kernel change: {text}"
                );
            }
            self.tell_monitors(name, None, "kernel", format!("{text} ({origin})"));
        }
        crate::online::check(self);
        crate::hotplug::kernel_changed(self, changes, ours);
    }

    /// Starts an `ifup`/`ifdown` nobody asked for on the socket (hotplug,
    /// SIGHUP): its progress goes to the log and to `monitor` clients.
    pub fn internal_change(&mut self, what: &str, up: bool, args: ChangeArgs) -> EventId {
        info!(what, up, targets = ?args.targets, "starting on our own");
        let reply = ReplySender::nowhere();
        let root = self.add_event(
            None,
            Kind::Request {
                conn: 0,
                reply,
                request_id: 0,
                verbose: false,
                result: Value::Null,
            },
            info_span!(parent: None, "internal", what = what.to_string()),
        );
        let config = self.config.clone();
        self.spawn_change(root, up, args, config)
    }

    /// The dispatcher's own queue, for threads that report back.
    pub fn queue(&self) -> Sender {
        self.own.queue.clone()
    }

    /// `reload`: the locations' and modifiers' files again; what was
    /// refused, one line each.
    fn reload_policy(&mut self) -> Vec<String> {
        let mut refused = crate::locations::reload(self);
        refused.extend(crate::enms::reload(self));
        refused
    }

    /// The kernel's index of a link, by name.
    pub fn link_index(&self, name: &str) -> Option<u32> {
        self.kernel
            .as_ref()
            .ok()
            .and_then(|k| k.mirror.link_by_name(name))
            .map(|l| l.index)
    }

    /// Event `id` has not completed yet.
    pub fn is_running(&self, id: EventId) -> bool {
        self.own.events.contains_key(&id)
    }

    /// An event runs (or waits) on this physical interface.
    pub fn is_busy(&self, phys: &str) -> bool {
        self.own
            .iface_queues
            .get(phys)
            .is_some_and(|q| !q.is_empty())
    }

    pub fn foreign_dhcp_client(&self, iface: &str) -> bool {
        self.own.foreign_dhcp_clients.contains(iface)
    }

    /// An idle daemon should be small: after a burst (say `ifup -a` of a
    /// thousand interfaces) the tables shrink and the allocator returns what
    /// it no longer needs to the kernel.
    fn give_back_memory(&mut self) {
        if self.own.events.capacity() == 0 {
            return;
        }
        self.own.events = HashMap::new();
        self.own.dependents = HashMap::new();
        self.own.iface_queues = HashMap::new();
        // SAFETY: malloc_trim only releases free heap pages; it is always safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    /// Marks the state changed; it is written before the next reply or
    /// when the queue runs dry.
    pub fn save_state(&mut self) {
        self.own.state_dirty = true;
    }

    /// Writes the state file if the records changed. When it cannot be
    /// written (a full run directory), it is tried again every few seconds
    /// until it can; the error is returned for the client to hear.
    fn flush_state(&mut self) -> Result<(), String> {
        if !self.own.state_dirty {
            return Ok(());
        }
        // Which interfaces are up (`ncu NAME is active`) may have changed.
        crate::locations::touch_quietly(self, || "interfaces up or down".to_string());
        if let Some(why) = &self.own.state_unsaved {
            // A retry is already due.
            return Err(why.clone());
        }
        match self.state.save(&self.settings.state_file) {
            Ok(()) => {
                self.own.state_dirty = false;
                Ok(())
            }
            Err(e) => {
                let why = e.to_string();
                error!("{why}; trying again every {} s", STATE_RETRY.as_secs());
                self.own.state_unsaved = Some(why.clone());
                let retry = Job::RetrySaveState { after: STATE_RETRY };
                let _ = self.own.jobs.send((0, retry));
                Err(why)
            }
        }
    }
}

/// The configuration file as it is now; a file with errors still gives
/// what Debian would read of it, and the errors are logged.
pub fn read_config(
    path: &std::path::Path,
    dialect: netconf_interfaces::DialectChoice,
) -> InterfacesFile {
    let options = ParseOptions {
        dialect,
        ..Default::default()
    };
    let parsed = parse_file(&path.to_string_lossy(), &options);
    for d in parsed.errors() {
        warn!(file = %path.display(), "{}", d.report(&parsed.config));
    }
    // `auto` read it in another dialect than Debian's: which line decided.
    for d in &parsed.diagnostics {
        if matches!(
            d.kind,
            netconf_interfaces::DiagnosticKind::DialectDetected { .. }
        ) {
            info!(file = %path.display(), dialect = %parsed.dialect, "{}", d.report(&parsed.config));
        }
    }
    parsed.config
}

fn warning(message: String) -> Progress {
    Progress {
        iface: None,
        event: None,
        step: "warning".into(),
        stream: None,
        message,
    }
}
