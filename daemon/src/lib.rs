//! netconfd: the daemon behind `ifup`/`ifdown`. Two threads: the I/O thread
//! (tokio, current-thread) serves the control socket, runs hook scripts and
//! catches signals; the dispatcher thread owns all state, turns requests into
//! chained events and does the netlink work. They talk through one crossbeam
//! queue into the dispatcher and one channel of jobs back.

pub mod access;
pub mod adopt;
pub mod dhcp;
pub mod dispatcher;
pub mod documents;
pub mod enms;
pub mod facts;
pub mod faults;
pub mod hotplug;
pub mod ifaces;
pub mod kernel;
pub mod locations;
pub mod notify;
pub mod online;
pub mod outbox;
pub mod profiles;
pub mod programs;
pub mod queue;
pub mod ra;
pub mod reload;
pub mod runner;
pub mod server;
pub mod state;
pub mod status;

use clap::Parser;
use dispatcher::{Dispatcher, Settings};
use queue::Message;
use state::State;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tracing::{debug, error, info, warn};

/// The netconf daemon: configures network interfaces from
/// /etc/network/interfaces on behalf of ifup, ifdown and friends.
#[derive(Parser, Debug)]
#[command(name = "netconfd", version)]
pub struct Args {
    /// The control socket clients connect to
    #[arg(long, value_name = "PATH", default_value = netconf_ctlsock_proto::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Persistent state (DHCP leases)
    #[arg(long, value_name = "DIR", default_value = "/var/lib/netconf")]
    pub state_dir: PathBuf,
    /// Runtime state, lost at reboot: what is up and what netconf applied
    #[arg(long, value_name = "DIR", default_value = "/run/netconf")]
    pub run_dir: PathBuf,
    /// The interfaces file read when a request names none
    #[arg(long, value_name = "FILE", default_value = "/etc/network/interfaces")]
    pub interfaces: PathBuf,
    /// The dialect of interfaces files: debian, ifupdown-ng, ifupdown2, or auto (Debian's
    /// unless a line only one other dialect has says otherwise)
    #[arg(long, value_name = "DIALECT", env = "DIALECT", default_value = "auto")]
    pub dialect: netconf_interfaces::DialectChoice,
    /// How many seconds a better priority group of the active profile must stay usable
    /// before it takes over from one that works (so that a flapping cable does not flap
    /// the network)
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_seconds)]
    pub hold_down: f64,
    /// Where the if-pre-up.d, if-up.d, if-down.d and if-post-down.d directories are
    #[arg(long, value_name = "DIR", default_value = "/etc/network")]
    pub hooks_dir: PathBuf,
    /// Where profiles, locations and external network modifiers are kept
    #[arg(long, value_name = "DIR", default_value = "/etc/netconf")]
    pub config_dir: PathBuf,
    /// The hosts file locations write (hosts-file)
    #[arg(long, value_name = "FILE", default_value = "/etc/hosts")]
    pub hosts_file: PathBuf,
    /// The nsswitch.conf locations write (nsswitch-file)
    #[arg(long, value_name = "FILE", default_value = "/etc/nsswitch.conf")]
    pub nsswitch_file: PathBuf,
    /// The program run as PROGRAM start|stop UNIT for locations' start-unit and
    /// stop-unit and for modifiers' unit
    #[arg(long, value_name = "PROGRAM", default_value = "systemctl")]
    pub systemctl: PathBuf,
    /// Kill a hook script that runs longer than this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub hook_timeout: u64,
    /// netconf-dhcp-hook, the DHCP clients' script (default: next to netconfd)
    #[arg(long, value_name = "PATH")]
    pub dhcp_hook: Option<PathBuf>,
    /// The DHCP client of stanzas without a `dhcp-client` option: dhclient,
    /// dhcpcd, udhcpc or dhcpcanon (default: the first installed in Debian's
    /// order, dhclient, udhcpc, dhcpcd)
    #[arg(long, value_name = "CLIENT")]
    pub dhcp_client: Option<netconf_methods::dhcp_client::ClientKind>,
    /// The ISC dhclient to run
    #[arg(long, value_name = "PATH", default_value = netconf_methods::dhclient::DHCLIENT)]
    pub dhclient: PathBuf,
    /// The dhcpcd to run
    #[arg(long, value_name = "PATH", default_value = netconf_methods::dhcpcd::DHCPCD)]
    pub dhcpcd: PathBuf,
    /// The udhcpc to run
    #[arg(long, value_name = "PATH", default_value = netconf_methods::udhcpc::UDHCPC)]
    pub udhcpc: PathBuf,
    /// The dhcpcanon to run (from PyPI: Debian has no package)
    #[arg(long, value_name = "PATH", default_value = netconf_methods::dhcpcanon::DHCPCANON)]
    pub dhcpcanon: PathBuf,
    /// How many seconds ifup waits for the first DHCP lease
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub dhcp_timeout: u64,
    /// How many seconds ifup waits for what the program of a ppp, wvdial or ipv4ll
    /// stanza sets up (the link and its address), and ifdown for it to go
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub program_timeout: u64,
    /// The resolv.conf to write DNS servers from leases to when resolvconf is not installed
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
    /// Members of this group (a name or a gid) may run ifup, ifdown and ifreload
    /// on the daemon's interfaces file, never with -i or -o; only root may by default
    #[arg(long, value_name = "GROUP", env = "NETCONF_ADMIN_GROUP")]
    pub admin_group: Option<String>,
    /// error, warn, info, debug or trace (or a tracing filter such as netconf_daemon=debug)
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "\"{text}\" is not a number of seconds from 0 to 86400"
        )),
    }
}

pub fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_level);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("netconfd: {e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stderr = std::io::stderr();
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr.is_terminal())
        .with_target(false);
    // The journal stamps each line itself.
    if under_systemd {
        builder.without_time().init();
    } else {
        builder.init();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("creating {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("another netconfd is already serving {0}")]
    AlreadyRunning(PathBuf),
    #[error(transparent)]
    Access(#[from] access::AccessError),
    #[error("listening on {path}: {source}")]
    Listen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

fn make_dir(path: &Path) -> Result<(), StartError> {
    std::fs::create_dir_all(path).map_err(|source| StartError::Dir {
        path: path.to_path_buf(),
        source,
    })
}

/// Binds the socket, replacing a stale one but never a live daemon's.
fn bind(path: &Path) -> Result<std::os::unix::net::UnixListener, StartError> {
    if let Some(dir) = path.parent() {
        make_dir(dir)?;
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(StartError::AlreadyRunning(path.to_path_buf()));
    }
    let _ = std::fs::remove_file(path);
    let listener =
        std::os::unix::net::UnixListener::bind(path).map_err(|source| StartError::Listen {
            path: path.to_path_buf(),
            source,
        })?;
    // Anyone may ask; what they may change is decided per request by SO_PEERCRED.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Listen {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(listener)
}

pub fn run(args: Args) -> Result<(), StartError> {
    // Two threads do not need glibc's eight arenas per core: one keeps an
    // idle daemon's memory small.
    // SAFETY: called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    raise_fd_limit();
    let started = std::time::Instant::now();
    let ms = |since: std::time::Instant| since.elapsed().as_secs_f64() * 1000.0;
    make_dir(&args.run_dir)?;
    make_dir(&args.state_dir)?;
    let state_file = args.run_dir.join("state.json");
    let state = State::load(&state_file)?;
    debug!(
        interfaces = state.interfaces.len(),
        ms = ms(started),
        "state read"
    );
    let access = access::Policy::new(args.admin_group.as_deref())?;
    let listener = bind(&args.socket)?;
    // Before the configuration is read: an admin who cut themselves off
    // inside a transaction gets the old network back by restarting or
    // rebooting, as netcf's netcf-transaction service gave it.
    let rolled_back = documents::roll_back_open_transaction(&args.state_dir, &args.interfaces);

    let (queue, messages) = crossbeam_channel::unbounded::<Message>();
    let (jobs, job_queue) = tokio::sync::mpsc::unbounded_channel();
    let settings = Settings {
        interfaces_file: args.interfaces.clone(),
        dialect: args.dialect,
        state_file,
        hooks_root: args.hooks_dir.clone(),
        hook_timeout: Duration::from_secs(args.hook_timeout),
        program_timeout: Duration::from_secs(args.program_timeout),
        access: access.clone(),
        config_dir: args.config_dir.clone(),
        hold_down: Duration::from_secs_f64(args.hold_down),
        locations: locations::LocationSettings {
            config_dir: args.config_dir.clone(),
            run_dir: args.run_dir.clone(),
            state_dir: args.state_dir.clone(),
            hosts_file: args.hosts_file.clone(),
            nsswitch_file: args.nsswitch_file.clone(),
            systemctl: args.systemctl.clone(),
        },
    };
    let hook = args.dhcp_hook.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("netconf-dhcp-hook")))
            .unwrap_or_else(|| PathBuf::from("/usr/lib/netconf/netconf-dhcp-hook"))
    });
    let dhcp_settings = dhcp::DhcpSettings {
        hook,
        default_client: args.dhcp_client,
        dhclient: args.dhclient.clone(),
        dhcpcd: args.dhcpcd.clone(),
        udhcpc: args.udhcpc.clone(),
        dhcpcanon: args.dhcpcanon.clone(),
        socket: std::path::absolute(&args.socket).unwrap_or_else(|_| args.socket.clone()),
        run_dir: args.run_dir.clone(),
        state_dir: args.state_dir.clone(),
        timeout: Duration::from_secs(args.dhcp_timeout),
        resolv_conf: args.resolv_conf.clone(),
    };
    let mut dispatcher = Dispatcher::new(settings, dhcp_settings, state, queue.clone(), jobs);
    debug!(ms = ms(started), "configuration and kernel read");
    // The active profile first: its stanzas are the configuration the DHCP
    // clients of an earlier netconfd and what is up are judged against.
    profiles::restore(&mut dispatcher);
    dhcp::restore(&mut dispatcher);
    match &dispatcher.kernel {
        Ok(_) => adopt::adopt(&mut dispatcher),
        Err(e) => error!("{e}"),
    }
    ra::restore(&mut dispatcher);
    if rolled_back {
        // Queued before any client can be: the kernel follows the restored
        // files (what the transaction brought up goes) before anything else.
        let _ = queue.send(Message::Reload);
    }
    debug!(
        ms = ms(started),
        "DHCP clients and existing configuration adopted"
    );
    let dispatcher_thread = std::thread::Builder::new()
        .name("dispatcher".into())
        .spawn(move || dispatcher.run(messages))
        .map_err(StartError::Runtime)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(StartError::Runtime)?;
    let socket = args.socket.clone();
    let notifier = notify::Notifier::from_env();
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async move {
        let listener =
            tokio::net::UnixListener::from_std(listener).map_err(|source| StartError::Listen {
                path: socket.clone(),
                source,
            })?;
        tokio::spawn(server::serve(listener, queue.clone(), access));
        tokio::task::spawn_local(runner::run_jobs(job_queue, queue.clone()));
        info!(socket = %socket.display(), ms = ms(started), "netconfd ready");
        // The socket has listened since bind() and its accept loop runs as
        // soon as this task yields: a client that connects now is served.
        tell_manager(
            &notifier,
            &format!("READY=1\nSTATUS=Serving {}", socket.display()),
        );
        signals(queue).await;
        // start-stop-daemon's socket is gone by now: no warning for that.
        let _ = notifier.notify("STOPPING=1\nSTATUS=Stopping; the network is left as it is");
        Ok(())
    });
    let _ = std::fs::remove_file(&args.socket);
    let _ = dispatcher_thread.join();
    // Not a plain drop: that would wait for the threads that wait on our
    // dhclients, which go on running (a restart adopts them).
    runtime.shutdown_background();
    result
}

/// Clients, hook pipes and dhclients all take file descriptors: the soft
/// limit goes up to the hard one (at most 65536), as systemd advises
/// services to do themselves. What is left after the daemon's own needs is
/// how many clients it serves at once (`server::max_clients`).
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            let wanted = limit.rlim_max.min(65536);
            if wanted > limit.rlim_cur {
                limit.rlim_cur = wanted;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    warn!("raising RLIMIT_NOFILE: {}", std::io::Error::last_os_error());
                }
            }
        }
    }
}

/// Tells the service manager (systemd's `Type=notify`, start-stop-daemon's
/// `--notify-await`) about `state`, if one listens; a failure is logged only.
fn tell_manager(notifier: &notify::Notifier, state: &str) {
    if let Err(e) = notifier.notify(state) {
        warn!(
            "notifying the service manager ({}): {e}",
            notify::NOTIFY_SOCKET
        );
    }
}

/// SIGHUP re-reads the configuration; SIGTERM and SIGINT stop the daemon
/// without touching the network.
async fn signals(queue: queue::Sender) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut cont)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::from_raw(libc::SIGCONT)),
    ) else {
        error!("cannot install signal handlers; stop netconfd with SIGKILL");
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let _ = queue.send(Message::Reload);
            }
            _ = cont.recv() => {
                let _ = queue.send(Message::Continued);
            }
        }
    }
    info!("stopping; the network is left as it is");
    let _ = queue.send(Message::Shutdown);
}
