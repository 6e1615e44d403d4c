//! End-to-end tests of DNS from IPv6 router advertisements (RFC 8106 RDNSS
//! and DNSSL): the real netconfd, the real kernel passing the options on
//! (`RTM_NEWNDUSEROPT`), and a real router, dnsmasq, sending them.
//!
//! Each test builds its own world, as `dhcp.rs` does: two network
//! namespaces of unique names, a router side on `srv0` (2001:db8:1::1/64)
//! and a client side running netconfd, joined by the veth pair
//! `srv0`/`cli0`. DNS goes to a resolv.conf in the test's own directory
//! (`--resolv-conf`), never `/etc/resolv.conf`. On every exit path the
//! world is taken down in order: netconfd killed by its PID, anything else
//! of the test's killed by its PID, dnsmasq by its PID, then the namespaces
//! and the directory. A failing test prints the netconfd and dnsmasq logs,
//! the saved table and resolv.conf.
//!
//! dnsmasq cannot be made to send a short lifetime (its RDNSS lifetime is
//! the prefix's preferred lifetime: at least 2 minutes, or 3 times the
//! advertisement interval), so the tests of lifetimes and withdrawals send
//! their own advertisements from the router side, through a raw ICMPv6
//! socket opened in that namespace by a thread of the test; the expiry
//! itself is also tested with the clock driven by hand in
//! `daemon/src/ra.rs`.
//!
//! Needs root and dnsmasq (`/usr/sbin/dnsmasq`). Run: `cargo build --bins &&
//! cargo test -p netconf-tests --test ra_dns -- --nocapture`.

use netconf_tests::{
    bins, dhcp_world_dir, kill_processes_mentioning, run, wait_until, Daemon, DaemonOptions,
    DhcpServer, Netns, Out,
};
use serde_json::Value;
use std::ffi::{CString, OsString};
use std::fs;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

const CLI: &str = "cli0";
const SRV: &str = "srv0";
/// What the test's resolv.conf holds before any DNS of netconf's.
const ORIGINAL_RESOLV: &str =
    "# the test's own resolv.conf, before any router advertisement\nnameserver 203.0.113.53\n";
const AUTO: &str = "iface cli0 inet6 auto\n";

/// dnsmasq as an IPv6 router with DNS: stateless (addresses by SLAAC), a
/// 10 minute prefix lifetime (so RDNSS and DNSSL last 30 minutes: 3 times
/// its 10 minute advertisement interval), a server and two search domains.
const ROUTER_OPTIONS: &[&str] = &[
    "--enable-ra",
    "--dhcp-range=2001:db8:1::,ra-stateless,64,10m",
    "--dhcp-option=option6:dns-server,[2001:db8:1::53]",
    "--dhcp-option=option6:domain-search,example.test,lab.example.test",
];

// ---------------------------------------------------------------------------
// One test's world

struct World {
    // Drop order matters (see Drop): the processes go first, then the
    // namespaces, then the directory.
    daemon: Option<Daemon>,
    router: Option<DhcpServer>,
    cli: Netns,
    srv: Netns,
    dir: tempfile::TempDir,
}

impl World {
    /// Both namespaces, the veth pair, the router's address, the interfaces
    /// file (`stanza`), the original resolv.conf, and netconfd running in
    /// the client namespace. No dnsmasq yet.
    fn new(stanza: &str) -> World {
        let dir = dhcp_world_dir("nct-ra-", "router advertisement DNS");
        fs::write(dir.path().join("interfaces"), stanza).expect("interfaces file");
        fs::write(dir.path().join("resolv.conf"), ORIGINAL_RESOLV).expect("resolv.conf");
        let srv = Netns::new();
        let cli = Netns::new();
        srv.ip(&[
            "link",
            "add",
            SRV,
            "type",
            "veth",
            "peer",
            "name",
            CLI,
            "netns",
            cli.name(),
        ]);
        srv.ip(&["addr", "add", "2001:db8:1::1/64", "dev", SRV, "nodad"]);
        srv.ip(&["link", "set", SRV, "up"]);
        let mut w = World {
            daemon: None,
            router: None,
            cli,
            srv,
            dir,
        };
        w.start_daemon();
        w
    }

    /// A world whose router is dnsmasq ([`ROUTER_OPTIONS`]).
    fn routed() -> World {
        let mut w = World::new(AUTO);
        w.router = Some(DhcpServer::start(
            &w.srv,
            SRV,
            w.dir.path(),
            "dnsmasq",
            ROUTER_OPTIONS,
        ));
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "netconfd is already running");
        let extra: Vec<OsString> = vec!["--resolv-conf".into(), self.path("resolv.conf").into()];
        self.daemon = Some(Daemon::start_with_args(
            &self.cli,
            self.dir.path(),
            &DaemonOptions::default(),
            &extra,
        ));
    }

    fn stop_daemon(&mut self) {
        let daemon = self.daemon.take().expect("netconfd is not running");
        let status = daemon.stop(libc::SIGTERM);
        assert!(status.success(), "netconfd did not stop cleanly: {status}");
    }

    fn client(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.path("ctl.sock"))
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        c
    }

    fn ifup(&self) -> Out {
        run(self.client(&bins().ifup, &[CLI]))
    }

    fn ifdown(&self) -> Out {
        run(self.client(&bins().ifdown, &[CLI]))
    }

    /// `netconfctl status cli0`, as a person reads it.
    fn status_text(&self) -> String {
        let out = run(self.client(&bins().netconfctl, &["status", CLI]));
        out.assert_ok();
        out.stdout
    }

    /// The `dns` entries of `netconfctl status --json cli0`.
    fn status_dns(&self) -> Vec<Value> {
        let out = run(self.client(&bins().netconfctl, &["status", "--json", CLI]));
        out.assert_ok();
        let status: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status is not JSON ({e}): {}", out.stdout));
        let iface = &status["interfaces"][0];
        assert_eq!(iface["name"], CLI, "status of cli0: {status}");
        iface["dns"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no `dns` in the status of cli0: {iface}"))
    }

    fn resolv(&self) -> String {
        fs::read_to_string(self.path("resolv.conf")).unwrap_or_default()
    }

    fn resolv_lines(&self) -> Vec<String> {
        self.resolv().lines().map(String::from).collect()
    }

    fn daemon_log(&self) -> String {
        fs::read_to_string(self.path("netconfd.log")).unwrap_or_default()
    }

    fn saved(&self) -> String {
        fs::read_to_string(self.path("run/ra-dns.json")).unwrap_or_default()
    }

    /// Waits (safety net) until resolv.conf holds every line of `present`
    /// and none of `absent`.
    fn wait_resolv(&self, present: &[&str], absent: &[&str]) {
        wait_until(
            &format!("resolv.conf to hold {present:?} and not {absent:?}"),
            || {
                let lines = self.resolv_lines();
                present.iter().all(|p| lines.iter().any(|l| l == p))
                    && absent.iter().all(|a| !lines.iter().any(|l| l == a))
            },
        );
    }

    /// Both sides' addresses out of duplicate address detection: the
    /// router's link-local address is the source of its advertisements.
    fn settle(&self) {
        self.cli.settle();
        self.srv.settle();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== netconfd log (client namespace {}) =====\n{}\n\
                 ===== dnsmasq log (router namespace {}) =====\n{}\n\
                 ===== run/ra-dns.json =====\n{}\n\
                 ===== resolv.conf =====\n{}\n===== end =====",
                self.cli.name(),
                self.daemon_log(),
                self.srv.name(),
                self.router
                    .as_ref()
                    .map(DhcpServer::log)
                    .unwrap_or_default(),
                self.saved(),
                self.resolv(),
            );
        }
        // netconfd first (by its PID), then anything else of ours (only
        // processes that carry our private directory; each by its PID),
        // then dnsmasq (by its PID).
        self.daemon.take();
        let tag = self.dir.path().to_string_lossy().into_owned();
        kill_processes_mentioning(&self.cli, &tag);
        self.router.take();
        kill_processes_mentioning(&self.srv, &tag);
        // The namespaces and the directory go with the fields.
    }
}

// ---------------------------------------------------------------------------
// Advertisements of the test's own

/// An RDNSS option (RFC 8106 5.1).
fn rdnss(lifetime: u32, servers: &[&str]) -> Vec<u8> {
    let mut out = vec![25, (1 + 2 * servers.len()) as u8, 0, 0];
    out.extend_from_slice(&lifetime.to_be_bytes());
    for s in servers {
        let addr: Ipv6Addr = s.parse().expect("an IPv6 address");
        out.extend_from_slice(&addr.octets());
    }
    out
}

/// A DNSSL option (RFC 8106 5.2): the names in DNS wire format, padded.
fn dnssl(lifetime: u32, names: &[&str]) -> Vec<u8> {
    let mut out = vec![31, 0, 0, 0];
    out.extend_from_slice(&lifetime.to_be_bytes());
    for name in names {
        for label in name.split('.') {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }
    out.resize(out.len().next_multiple_of(8), 0);
    out[1] = (out.len() / 8) as u8;
    out
}

/// Sends one router advertisement carrying `options` out of `iface` of
/// `ns`; see [`send_advertisements`].
fn send_advertisement(ns: &Netns, iface: &str, options: &[u8]) {
    send_advertisements(ns, iface, &[(None, options.to_vec())]);
}

/// Sends router advertisements out of `iface` of `ns` to all nodes, as a
/// router does: hop limit 255, router lifetime 0 (not a default router:
/// RFC 8106's options do not need one), each with its options and from its
/// link-local source address (`None`: the link's own, which the kernel
/// picks). The sockets are opened by a thread of its own that first enters
/// `ns` (`setns` moves that thread only), so nothing is ever sent from the
/// test's own namespace.
fn send_advertisements(ns: &Netns, iface: &str, packets: &[(Option<Ipv6Addr>, Vec<u8>)]) {
    let netns = PathBuf::from("/run/netns").join(ns.name());
    let iface = iface.to_string();
    let packets = packets.to_vec();
    let sent = thread::spawn(move || -> Result<(), String> {
        let io = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        let file = fs::File::open(&netns).map_err(|e| format!("{}: {e}", netns.display()))?;
        // SAFETY: setns with a namespace file we hold open; it moves this
        // thread only, which ends below.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io("setns"));
        }
        let name = CString::new(iface).map_err(|e| e.to_string())?;
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io("if_nametoindex"));
        }
        let address = |addr: Ipv6Addr| libc::sockaddr_in6 {
            sin6_family: libc::AF_INET6 as libc::sa_family_t,
            sin6_port: 0,
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr {
                s6_addr: addr.octets(),
            },
            sin6_scope_id: index,
        };
        let len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        let all_nodes = address(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
        for (source, options) in packets {
            // SAFETY: plain socket creation; the descriptor is owned below.
            let raw = unsafe {
                libc::socket(
                    libc::AF_INET6,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    libc::IPPROTO_ICMPV6,
                )
            };
            if raw < 0 {
                return Err(io("socket"));
            }
            // SAFETY: a descriptor just returned by socket(), owned by no one else.
            let sock = unsafe { OwnedFd::from_raw_fd(raw) };
            let set = |option: libc::c_int, value: libc::c_int| {
                // SAFETY: a c_int option value of the right size.
                let res = unsafe {
                    libc::setsockopt(
                        sock.as_raw_fd(),
                        libc::IPPROTO_IPV6,
                        option,
                        (&value as *const libc::c_int).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                };
                if res == 0 {
                    Ok(())
                } else {
                    Err(io("setsockopt"))
                }
            };
            set(libc::IPV6_MULTICAST_HOPS, 255)?;
            set(libc::IPV6_MULTICAST_IF, index as libc::c_int)?;
            if let Some(source) = source {
                let from = address(source);
                // SAFETY: the address lives across the call, with its length.
                let res = unsafe {
                    libc::bind(
                        sock.as_raw_fd(),
                        (&from as *const libc::sockaddr_in6).cast(),
                        len,
                    )
                };
                if res != 0 {
                    return Err(io(&format!("bind {source}")));
                }
            }
            // Type 134, code 0, checksum (the kernel fills it in for ICMPv6
            // raw sockets), hop limit 64, no flags, router lifetime 0,
            // reachable time 0, retransmission timer 0.
            let mut packet = vec![134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            packet.extend_from_slice(&options);
            // SAFETY: the packet and the address live across the call, with
            // their true lengths.
            let n = unsafe {
                libc::sendto(
                    sock.as_raw_fd(),
                    packet.as_ptr().cast(),
                    packet.len(),
                    0,
                    (&all_nodes as *const libc::sockaddr_in6).cast(),
                    len,
                )
            };
            if n < 0 || n as usize != packet.len() {
                return Err(io("sendto"));
            }
        }
        Ok(())
    })
    .join()
    .expect("the sending thread panicked");
    if let Err(e) = sent {
        panic!("sending router advertisements from {}: {e}", ns.name());
    }
}

/// The resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The entry of `dns` with this type and value.
fn entry<'a>(dns: &'a [Value], kind: &str, value: &str) -> Option<&'a Value> {
    dns.iter()
        .find(|d| d["type"] == kind && d["value"] == value)
}

// ---------------------------------------------------------------------------
// 1. dnsmasq's advertisement: applied, shown, kept across a restart, gone
//    with ifdown

#[test]
fn dns_from_dnsmasq_is_applied_shown_and_taken_back() {
    let mut w = World::routed();
    w.ifup().assert_ok();
    // The kernel solicits a router once the link is up; the answer's
    // options come to netconfd, which writes them.
    w.wait_resolv(
        &[
            "nameserver 2001:db8:1::53",
            "search example.test lab.example.test",
        ],
        // Servers of netconf's replace the file's (as with DHCP).
        &["nameserver 203.0.113.53"],
    );
    assert!(
        w.resolv().starts_with("# Written by netconfd"),
        "{}",
        w.resolv()
    );
    assert!(
        w.router
            .as_ref()
            .is_some_and(|r| r.log().contains("RTR-ADVERT(srv0)")),
        "dnsmasq must have advertised"
    );

    let dns = w.status_dns();
    let server = entry(&dns, "nameserver", "2001:db8:1::53")
        .unwrap_or_else(|| panic!("the server in status: {dns:?}"));
    assert_eq!(server["origin"], "ra", "{server}");
    let router = server["router"].as_str().unwrap_or_default();
    assert!(
        router
            .parse::<Ipv6Addr>()
            .is_ok_and(|r| r.segments()[0] == 0xfe80),
        "the router is srv0's link-local address: {server}"
    );
    // 3 times dnsmasq's 600 s interval, counting down.
    let left = server["lifetime"].as_u64().unwrap_or(0);
    assert!(left > 0 && left <= 1800, "lifetime left: {server}");
    for domain in ["example.test", "lab.example.test"] {
        let d =
            entry(&dns, "search", domain).unwrap_or_else(|| panic!("{domain} in status: {dns:?}"));
        assert_eq!(d["origin"], "ra", "{d}");
    }
    let text = w.status_text();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("dns")
            && l.contains("nameserver 2001:db8:1::53")
            && l.contains(" ra (router fe80::")),
        "netconfctl status must show the server with origin ra:\n{text}"
    );

    // A restarted daemon reads back what it learned: nothing is written
    // again, nothing is lost.
    wait_until("the table to be saved", || {
        w.saved().contains("2001:db8:1::53")
    });
    let before = w.resolv();
    w.stop_daemon();
    w.start_daemon();
    assert_eq!(w.resolv(), before, "resolv.conf changed across a restart");
    let dns = w.status_dns();
    assert!(
        entry(&dns, "nameserver", "2001:db8:1::53").is_some_and(|s| s["origin"] == "ra"),
        "the server after a restart: {dns:?}"
    );

    // ifdown takes the link down, and the DNS with it, before it answers.
    w.ifdown().assert_ok();
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf not put back");
    assert_eq!(w.status_dns(), Vec::<Value>::new(), "dns after ifdown");
}

// ---------------------------------------------------------------------------
// 2. Lifetimes: an entry goes when its lifetime ends, lifetime 0 withdraws

#[test]
fn entries_go_when_their_lifetime_ends_or_is_zero() {
    let w = World::new(AUTO);
    w.ifup().assert_ok();
    w.settle();
    let mut options = rdnss(5, &["2001:db8:1::54"]);
    options.extend(rdnss(600, &["2001:db8:1::55"]));
    options.extend(dnssl(5, &["short.example.test"]));
    options.extend(dnssl(600, &["long.example.test"]));
    send_advertisement(&w.srv, SRV, &options);
    w.wait_resolv(
        &[
            "nameserver 2001:db8:1::54",
            "nameserver 2001:db8:1::55",
            "search short.example.test long.example.test",
        ],
        &[],
    );
    let dns = w.status_dns();
    let short = entry(&dns, "nameserver", "2001:db8:1::54")
        .unwrap_or_else(|| panic!("the 5 s server in status: {dns:?}"));
    assert!(
        short["lifetime"].as_u64().is_some_and(|l| l <= 5),
        "{short}"
    );

    // 5 s later, with no other advertisement: the short ones are gone, on
    // the daemon's own timer.
    w.wait_resolv(
        &["nameserver 2001:db8:1::55", "search long.example.test"],
        &["nameserver 2001:db8:1::54"],
    );
    assert!(
        w.daemon_log().contains("lifetime ended"),
        "the daemon must say why they went"
    );
    let dns = w.status_dns();
    assert!(
        entry(&dns, "nameserver", "2001:db8:1::54").is_none(),
        "{dns:?}"
    );
    assert!(
        entry(&dns, "search", "short.example.test").is_none(),
        "{dns:?}"
    );

    // The router withdraws the rest: the file is the test's own again.
    let mut withdraw = rdnss(0, &["2001:db8:1::55"]);
    withdraw.extend(dnssl(0, &["long.example.test"]));
    send_advertisement(&w.srv, SRV, &withdraw);
    wait_until("resolv.conf to be put back", || {
        w.resolv() == ORIGINAL_RESOLV
    });
    assert_eq!(w.status_dns(), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------
// 3. Only interfaces netconf configures with inet6 auto or dhcp

#[test]
fn a_static_stanza_keeps_its_own_dns() {
    // accept_ra 1: the kernel takes the advertisement and passes its
    // options on; netconfd leaves them alone on a static stanza.
    let w = World::new("iface cli0 inet6 static\n    address 2001:db8:1::10/64\n    accept_ra 1\n");
    w.ifup().assert_ok();
    w.settle();
    send_advertisement(&w.srv, SRV, &rdnss(600, &["2001:db8:1::56"]));
    wait_until("netconfd to hear the advertisement", || {
        w.daemon_log()
            .contains("router advertisement DNS ignored: not an interface netconf configures")
    });
    assert_eq!(w.resolv(), ORIGINAL_RESOLV, "resolv.conf was touched");
    assert_eq!(w.status_dns(), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------
// 4. A flood of advertisements with ever new routers, servers and domains

#[test]
fn a_flood_of_advertisements_stays_bounded() {
    const ROUTERS: u16 = 200;
    let w = World::new(AUTO);
    // Routers of the flood: link-local addresses of srv0's own.
    let batch: String = (1..=ROUTERS)
        .map(|r| format!("addr add fe80::1:{r:x}/64 dev {SRV} nodad\n"))
        .collect();
    w.srv.batch(&batch);
    w.ifup().assert_ok();
    w.settle();
    let pid = w.daemon.as_ref().expect("netconfd").pid();
    // Rounds of advertisements, each from a new router, with a new server
    // and domain, lasting longer than the one before: each one is worth
    // taking in place of what ends first. After each batch, one from srv0's
    // own address with a new server lasting longest: once it shows, the
    // daemon has read every advertisement before it.
    let mut n = 0u32;
    let mut flood = |rounds: u32| {
        for _ in 0..rounds {
            let packets: Vec<(Option<Ipv6Addr>, Vec<u8>)> = (1..=ROUTERS)
                .map(|r| {
                    n += 1;
                    let source = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, r);
                    let server = format!("2001:db8:2:{:x}::{:x}", n >> 16, n & 0xffff);
                    let domain = format!("d{n}.example.test");
                    let mut options = rdnss(1000 + n, &[&server]);
                    options.extend(dnssl(1000 + n, &[&domain]));
                    (Some(source), options)
                })
                .collect();
            send_advertisements(&w.srv, SRV, &packets);
        }
        let last = format!("2001:db8:1::{:x}", n & 0xffff);
        send_advertisement(&w.srv, SRV, &rdnss(1_000_000 + n, &[&last]));
        wait_until("the last advertisement to show in status", || {
            entry(&w.status_dns(), "nameserver", &last).is_some()
        });
        n
    };
    // The first burst of a thousand sets up what such a burst costs (the
    // kernel's notifications are read in bursts, and the buffers grow to a
    // burst's size once); five more of the same size must cost nothing more.
    let warm = flood(5);
    let before = rss_kib(pid);
    let mut total = warm;
    for _ in 0..5 {
        total = flood(5);
    }
    let after = rss_kib(pid);
    let dns = w.status_dns();
    let routers: std::collections::BTreeSet<&str> =
        dns.iter().filter_map(|d| d["router"].as_str()).collect();
    eprintln!(
        "{total} advertisements from {} routers: {} entries from {} routers kept; \
         VmRSS {before} KiB after {warm}, {after} KiB after {total}",
        ROUTERS + 1,
        dns.len(),
        routers.len()
    );
    assert!(routers.len() <= 4, "routers kept: {routers:?}");
    assert!(dns.len() <= 4 * (3 + 6), "entries kept: {dns:?}");
    let servers = w
        .resolv_lines()
        .iter()
        .filter(|l| l.starts_with("nameserver "))
        .count();
    assert!(servers <= 4 * 3, "{}", w.resolv());
    // The entries kept (above) are the bound that matters: without the
    // caps, these 6000 advertisements left 12,006. The memory is a guard
    // against growth per advertisement anywhere else on the way; the margin
    // is the allocator's (32 to 784 KiB measured).
    assert!(
        after <= before + 2048,
        "VmRSS grew from {before} to {after} KiB over {} advertisements",
        total - warm
    );
}
