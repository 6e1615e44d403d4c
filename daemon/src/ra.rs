//! DNS from IPv6 router advertisements (RFC 8106): what Debian needs the
//! rdnssd package for, done by the daemon that already reads netlink.
//!
//! The kernel passes the RDNSS (servers) and DNSSL (search domains) options
//! of every advertisement it accepts to user space
//! ([`Event::NdUserOption`]). This module keeps, per interface and per
//! router, the servers and domains learned with when each expires, hands
//! them to the same resolver code as DHCP's DNS (`netconf_dns`, record
//! `IFACE.ra`, after the dhclient records), and takes them back when their
//! lifetime ends, when the link goes down or away, or when netconf no longer
//! configures the interface with a method that takes advertisements.
//!
//! **Which interfaces.** Only those netconf has a record of (brought up, or
//! going up) with an `inet6 auto` or `inet6 dhcp` stanza: the two methods
//! that leave the kernel's `accept_ra` on (2 and 1 by default). On any other
//! interface the DNS is the administrator's (`inet6 static` turns `accept_ra`
//! off, as Debian does), or someone else's (an interface netconf does not
//! manage may have rdnssd or another daemon). The kernel itself sends the
//! options only for advertisements it accepts, so `accept_ra 0` in the
//! stanza turns this off too.
//!
//! **Lifetimes.** An entry lasts its option's lifetime counted from when the
//! daemon reads the kernel's message (RFC 8106 counts from reception; the
//! kernel sends the message as it processes the advertisement, so the two
//! differ by the daemon's queue only); a new advertisement sets it again;
//! lifetime 0 removes the entry, all ones (`0xffffffff`) keeps it for ever.
//! Deadlines are on the monotonic clock, which stands still while the
//! machine sleeps, so an entry can outlive its lifetime by the time spent
//! suspended. The dispatcher waits for messages no longer than until the
//! next deadline ([`next_deadline`], [`tick`]).
//!
//! **Bounds.** At most [`MAX_SERVERS`] servers and [`MAX_DOMAINS`] domains per
//! router (rdnssd keeps three servers), and [`MAX_ROUTERS`] routers per
//! interface: a full list takes a new entry only in place of the one that
//! expires first, and only if the new one lasts longer (rdnssd's rule), so a
//! flood of advertisements with ever new addresses or routers keeps the
//! daemon's memory where it is. The resolver is written at most once per
//! [`WRITE_INTERVAL`] per interface (a removal because the link went down
//! at once), so such a flood cannot keep the daemon running resolvconf
//! either.
//!
//! **Restarts.** What was learned is kept in `RUN_DIR/ra-dns.json`, with
//! wall-clock expiries, and read back when the daemon starts: a restarted
//! daemon neither drops servers the routers still announce nor keeps those
//! whose lifetime ended while it was down.

use crate::dispatcher::Dispatcher;
use netconf_dns::{DnsConfig, ResolvError, Resolver, Source};
use netconf_interfaces::Family;
use netconf_kernel::netlink::{Event, NdLifetime, NdUserOption};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{debug, info, warn};

/// Servers kept per router, as rdnssd keeps (glibc uses three in all).
pub const MAX_SERVERS: usize = 3;
/// Search domains kept per router (glibc before 2.26 used six in all).
pub const MAX_DOMAINS: usize = 6;
/// Routers kept per interface: a link rarely has more than two.
pub const MAX_ROUTERS: usize = 4;
/// The least time between two writes of one interface's DNS.
pub const WRITE_INTERVAL: Duration = Duration::from_secs(1);
/// How long after a failed write it is tried again.
const WRITE_RETRY: Duration = Duration::from_secs(30);
/// The least time between two writes of the saved table.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// The saved table, in the run directory.
const SAVED_FILE: &str = "ra-dns.json";

/// When an entry ends. Ordered: any time before never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    At(Instant),
    Never,
}

impl End {
    /// `lifetime` from `now`; a lifetime the clock cannot hold is never.
    fn after(now: Instant, lifetime: NdLifetime) -> End {
        match lifetime.duration().and_then(|d| now.checked_add(d)) {
            Some(at) => End::At(at),
            None => End::Never,
        }
    }

    fn passed(self, now: Instant) -> bool {
        matches!(self, End::At(at) if at <= now)
    }

    /// Seconds left (rounded up), `None` for never.
    fn left(self, now: Instant) -> Option<u64> {
        match self {
            End::At(at) => {
                let left = at.saturating_duration_since(now);
                Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            }
            End::Never => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry<T> {
    value: T,
    end: End,
}

/// What one router advertised on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Router {
    addr: Ipv6Addr,
    servers: Vec<Entry<Ipv6Addr>>,
    domains: Vec<Entry<String>>,
}

impl Router {
    fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.domains.is_empty()
    }

    /// When its last entry ends.
    fn last_end(&self) -> Option<End> {
        let servers = self.servers.iter().map(|e| e.end);
        servers.chain(self.domains.iter().map(|e| e.end)).max()
    }
}

/// One interface's learned DNS and what of it the resolver holds.
#[derive(Debug, Clone)]
struct Learned {
    /// The interface's name when it was learned: the resolver record's.
    name: String,
    routers: Vec<Router>,
    /// What the resolver was last given; `None` when unknown (read back
    /// after a restart, or never written).
    applied: Option<DnsConfig>,
    /// The entries changed since the resolver was last given them.
    dirty: bool,
    /// No write before this (the rate limit, or the retry after a failure).
    next_write: Option<Instant>,
}

impl Learned {
    fn new(name: &str) -> Learned {
        Learned {
            name: name.to_string(),
            routers: Vec::new(),
            applied: None,
            dirty: false,
            next_write: None,
        }
    }

    /// The entries changed: a write is due, at once unless one was made
    /// less than [`WRITE_INTERVAL`] ago.
    fn mark_dirty(&mut self, now: Instant) {
        self.dirty = true;
        self.next_write.get_or_insert(now);
    }

    /// The resolver's view: every router's servers, then every router's
    /// domains, in the order first heard, each once.
    fn dns(&self) -> DnsConfig {
        let mut dns = DnsConfig::default();
        for router in &self.routers {
            for server in &router.servers {
                let addr = IpAddr::V6(server.value);
                if !dns.nameservers.contains(&addr) {
                    dns.nameservers.push(addr);
                }
            }
            for domain in &router.domains {
                if !dns.search.contains(&domain.value) {
                    dns.search.push(domain.value.clone());
                }
            }
        }
        dns
    }
}

/// The DNS learned from router advertisements, by interface index; see the
/// module documentation. Only this module opens it.
#[derive(Debug, Default)]
pub struct RaDns {
    ifaces: BTreeMap<u32, Learned>,
    /// The table changed since it was saved: save at this time.
    save_due: Option<Instant>,
    last_save: Option<Instant>,
}

/// A write of one interface's DNS, done by [`RaDns::write_due`].
#[derive(Debug)]
pub struct Written {
    pub iface: String,
    pub dns: DnsConfig,
    pub result: Result<bool, ResolvError>,
}

impl RaDns {
    pub fn is_empty(&self) -> bool {
        self.ifaces.is_empty() && self.save_due.is_none()
    }

    /// Takes in one advertisement's options received on the interface
    /// `option.ifindex`, named `name`, at `now`. Returns whether anything
    /// changed.
    pub fn learn(&mut self, name: &str, option: &NdUserOption, now: Instant) -> bool {
        let changed = self.learn_into(name, option, now);
        // An interface met only through withdrawals or refusals is not kept.
        let unused = self
            .ifaces
            .get(&option.ifindex)
            .is_some_and(|l| l.routers.is_empty() && !l.dirty && l.applied.is_none());
        if unused {
            self.ifaces.remove(&option.ifindex);
        }
        if changed {
            self.changed(now);
        }
        changed
    }

    fn learn_into(&mut self, name: &str, option: &NdUserOption, now: Instant) -> bool {
        let learned = self
            .ifaces
            .entry(option.ifindex)
            .or_insert_with(|| Learned::new(name));
        let position = learned.routers.iter().position(|r| r.addr == option.router);
        let index = match position {
            Some(index) => index,
            None => {
                // The last moment the new router's entries would last.
                let lifetimes = option.rdnss.iter().map(|(_, l)| *l);
                let lifetimes = lifetimes.chain(option.dnssl.iter().map(|(_, l)| *l));
                let Some(end) = lifetimes
                    .filter(|l| !l.is_zero())
                    .map(|l| End::after(now, l))
                    .max()
                else {
                    // Only withdrawals, of what was never learned.
                    return false;
                };
                if learned.routers.len() >= MAX_ROUTERS {
                    let soonest = learned
                        .routers
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, r)| r.last_end())
                        .map(|(i, r)| (i, r.last_end()));
                    match soonest {
                        Some((i, last)) if last < Some(end) => {
                            let gone = learned.routers.remove(i);
                            debug!(iface = name, router = %gone.addr, new = %option.router, "router advertisement DNS: too many routers, the one that ends first replaced");
                        }
                        _ => {
                            debug!(iface = name, router = %option.router, "router advertisement DNS: too many routers, ignored");
                            return false;
                        }
                    }
                }
                learned.routers.push(Router {
                    addr: option.router,
                    servers: Vec::new(),
                    domains: Vec::new(),
                });
                learned.routers.len() - 1
            }
        };
        let mut changed = position.is_none();
        if let Some(router) = learned.routers.get_mut(index) {
            for (server, lifetime) in &option.rdnss {
                changed |= update(&mut router.servers, *server, *lifetime, now, MAX_SERVERS);
            }
            for (domain, lifetime) in &option.dnssl {
                changed |= update(
                    &mut router.domains,
                    domain.clone(),
                    *lifetime,
                    now,
                    MAX_DOMAINS,
                );
            }
        }
        learned.routers.retain(|r| !r.is_empty());
        if changed {
            learned.mark_dirty(now);
        }
        changed
    }

    /// Drops what has expired at `now`; returns what, as `(interface,
    /// entry)` for the log.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, String)> {
        let mut gone = Vec::new();
        for learned in self.ifaces.values_mut() {
            let before = gone.len();
            for router in &mut learned.routers {
                router.servers.retain(|e| {
                    let keep = !e.end.passed(now);
                    if !keep {
                        gone.push((learned.name.clone(), format!("nameserver {}", e.value)));
                    }
                    keep
                });
                router.domains.retain(|e| {
                    let keep = !e.end.passed(now);
                    if !keep {
                        gone.push((learned.name.clone(), format!("search {}", e.value)));
                    }
                    keep
                });
            }
            learned.routers.retain(|r| !r.is_empty());
            if gone.len() > before {
                learned.mark_dirty(now);
            }
        }
        if !gone.is_empty() {
            self.changed(now);
        }
        gone
    }

    /// Forgets an interface at once (its link went down or away); returns
    /// its name if anything was known of it, for the caller to take its
    /// record out of the resolver.
    pub fn forget(&mut self, ifindex: u32, now: Instant) -> Option<String> {
        let learned = self.ifaces.remove(&ifindex)?;
        self.changed(now);
        Some(learned.name)
    }

    /// The interfaces known, with their names.
    pub fn interfaces(&self) -> Vec<(u32, String)> {
        self.ifaces
            .iter()
            .map(|(i, l)| (*i, l.name.clone()))
            .collect()
    }

    /// Gives the resolver each interface's DNS that changed, unless it was
    /// written less than [`WRITE_INTERVAL`] ago (or failed less than 30 s
    /// ago); an interface left with nothing is forgotten once that is
    /// written.
    pub fn write_due(&mut self, resolver: &Resolver, now: Instant) -> Vec<Written> {
        let mut done = Vec::new();
        for learned in self.ifaces.values_mut() {
            if !learned.dirty || learned.next_write.is_some_and(|t| t > now) {
                continue;
            }
            let dns = learned.dns();
            if learned.applied.as_ref() == Some(&dns) {
                learned.dirty = false;
                continue;
            }
            // An empty configuration is a removal (`apply_for` says so).
            let result = resolver.apply_for(&learned.name, Source::Ra, &dns);
            match &result {
                Ok(_) => {
                    learned.applied = Some(dns.clone());
                    learned.dirty = false;
                    learned.next_write = Some(now + WRITE_INTERVAL);
                }
                Err(_) => learned.next_write = Some(now + WRITE_RETRY),
            }
            done.push(Written {
                iface: learned.name.clone(),
                dns,
                result,
            });
        }
        self.ifaces.retain(|_, l| {
            !(l.routers.is_empty() && l.applied.as_ref().is_some_and(DnsConfig::is_empty))
        });
        done
    }

    /// When something is next due: an entry's end, a deferred write, a save.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next = self.save_due;
        let mut earlier = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        for learned in self.ifaces.values() {
            if let Some(at) = learned.next_write.filter(|_| learned.dirty) {
                earlier(at);
            }
            for router in &learned.routers {
                let ends = router.servers.iter().map(|e| e.end);
                for end in ends.chain(router.domains.iter().map(|e| e.end)) {
                    if let End::At(at) = end {
                        earlier(at);
                    }
                }
            }
        }
        next
    }

    /// `status` entries of an interface: servers, then domains, each with
    /// its router and seconds left (`null`: for ever).
    pub fn status(&self, ifindex: u32, now: Instant) -> Vec<Value> {
        let Some(learned) = self.ifaces.get(&ifindex) else {
            return Vec::new();
        };
        let entry = |kind: &str, value: String, router: &Router, end: End| {
            json!({
                "type": kind,
                "value": value,
                "origin": "ra",
                "router": router.addr.to_string(),
                "lifetime": end.left(now),
            })
        };
        let servers = learned.routers.iter().flat_map(|r| {
            r.servers
                .iter()
                .map(move |e| entry("nameserver", e.value.to_string(), r, e.end))
        });
        let domains = learned.routers.iter().flat_map(|r| {
            r.domains
                .iter()
                .map(move |e| entry("search", e.value.clone(), r, e.end))
        });
        servers.chain(domains).collect()
    }

    fn changed(&mut self, now: Instant) {
        if self.save_due.is_none() {
            let allowed = self.last_save.map_or(now, |t| t + SAVE_INTERVAL);
            self.save_due = Some(allowed.max(now));
        }
    }

    /// Whether the table should be saved now; if so, it counts as saved.
    fn save_now(&mut self, now: Instant) -> bool {
        if self.save_due.is_some_and(|t| t <= now) {
            self.save_due = None;
            self.last_save = Some(now);
            return true;
        }
        false
    }

    /// The table as saved: expiries on the wall clock (`wall` is `now`).
    fn saved(&self, now: Instant, wall: SystemTime) -> Saved {
        let at = |end: End| {
            end.left(now).map(|left| {
                let since_epoch = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
                since_epoch.as_secs() + left
            })
        };
        let interfaces = self
            .ifaces
            .iter()
            .map(|(&ifindex, learned)| SavedIface {
                ifindex,
                name: learned.name.clone(),
                routers: learned
                    .routers
                    .iter()
                    .map(|r| SavedRouter {
                        router: r.addr,
                        servers: r.servers.iter().map(|e| (e.value, at(e.end))).collect(),
                        domains: r
                            .domains
                            .iter()
                            .map(|e| (e.value.clone(), at(e.end)))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Saved { interfaces }
    }

    /// The table read back from `saved` at `now` (`wall` on the wall
    /// clock): entries already ended are left out, and so are interfaces
    /// `keep` refuses (returned by index and name, for their records to be
    /// taken out of the resolver). Every interface kept is written again
    /// (a no-op when the resolver already holds it).
    fn restored(
        saved: Saved,
        now: Instant,
        wall: SystemTime,
        keep: impl Fn(u32, &str) -> bool,
    ) -> (RaDns, Vec<String>) {
        let wall_secs = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let end = |at: Option<u64>| match at {
            None => Some(End::Never),
            Some(at) if at <= wall_secs => None,
            Some(at) => {
                let lifetime = NdLifetime(u32::try_from(at - wall_secs).unwrap_or(u32::MAX - 1));
                Some(End::after(now, lifetime))
            }
        };
        let mut table = RaDns::default();
        let mut dropped = Vec::new();
        for iface in saved.interfaces {
            if !keep(iface.ifindex, &iface.name) {
                dropped.push(iface.name);
                continue;
            }
            let mut learned = Learned::new(&iface.name);
            for r in iface.routers.into_iter().take(MAX_ROUTERS) {
                let router = Router {
                    addr: r.router,
                    servers: r
                        .servers
                        .into_iter()
                        .filter_map(|(value, at)| {
                            Some(Entry {
                                value,
                                end: end(at)?,
                            })
                        })
                        .take(MAX_SERVERS)
                        .collect(),
                    // The file is root's, but what it says goes into
                    // resolv.conf: the decoder's rule again.
                    domains: r
                        .domains
                        .into_iter()
                        .filter(|(d, _)| search_domain(d))
                        .filter_map(|(value, at)| {
                            Some(Entry {
                                value,
                                end: end(at)?,
                            })
                        })
                        .take(MAX_DOMAINS)
                        .collect(),
                };
                if !router.is_empty() {
                    learned.routers.push(router);
                }
            }
            learned.mark_dirty(now);
            table.ifaces.insert(iface.ifindex, learned);
        }
        (table, dropped)
    }
}

/// Sets, refreshes, withdraws (lifetime 0) or adds an entry of a list of
/// at most `cap`; a full list takes a new entry only in place of the one
/// that ends first, and only if the new one ends later. Returns whether the
/// list changed.
fn update<T: PartialEq>(
    list: &mut Vec<Entry<T>>,
    value: T,
    lifetime: NdLifetime,
    now: Instant,
    cap: usize,
) -> bool {
    if lifetime.is_zero() {
        let before = list.len();
        list.retain(|e| e.value != value);
        return list.len() != before;
    }
    let end = End::after(now, lifetime);
    if let Some(entry) = list.iter_mut().find(|e| e.value == value) {
        let changed = entry.end != end;
        entry.end = end;
        return changed;
    }
    if list.len() < cap {
        list.push(Entry { value, end });
        return true;
    }
    let soonest = list
        .iter()
        .enumerate()
        .min_by_key(|(_, e)| e.end)
        .map(|(i, e)| (i, e.end));
    match soonest {
        Some((i, first)) if first < end => {
            list.remove(i);
            list.push(Entry { value, end });
            true
        }
        _ => false,
    }
}

/// What the kernel crate lets through as a DNSSL name.
fn search_domain(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `RUN_DIR/ra-dns.json`.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    interfaces: Vec<SavedIface>,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SavedIface {
    ifindex: u32,
    name: String,
    routers: Vec<SavedRouter>,
}

/// Each entry with when it ends, in seconds since the epoch (`null`: never).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SavedRouter {
    router: Ipv6Addr,
    servers: Vec<(Ipv6Addr, Option<u64>)>,
    domains: Vec<(String, Option<u64>)>,
}

#[derive(Debug, thiserror::Error)]
enum SaveError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a saved table of router advertisement DNS: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn save(path: &Path, saved: &Saved) -> Result<(), SaveError> {
    let tmp = path.with_extension("tmp");
    // On /run: a crash keeps the old file or the new one, no fsync needed
    // for a file that does not outlive a reboot anyway.
    let written = serde_json::to_vec(saved)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        SaveError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn load(path: &Path) -> Result<Option<Saved>, SaveError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SaveError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| SaveError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

// ------------------------------------------------------------ the daemon's

/// The same resolver (and state directory) as DHCP's DNS in `dhcp.rs`, so
/// that both merge into one resolv.conf.
fn resolver(d: &Dispatcher) -> Resolver {
    Resolver::new(
        d.dhcp_settings.resolv_conf.clone(),
        d.dhcp_settings.run_dir.join("resolv"),
    )
}

fn saved_path(d: &Dispatcher) -> PathBuf {
    d.dhcp_settings.run_dir.join(SAVED_FILE)
}

/// The name of the link `ifindex` if netconf configures it with a method
/// that takes router advertisements (the module documentation says why
/// these).
fn takes_ra(d: &Dispatcher, ifindex: u32) -> Option<String> {
    let link = d.kernel.as_ref().ok()?.mirror.link(ifindex)?;
    let record = d.state.get(&link.name)?;
    let auto_or_dhcp = record
        .stanzas
        .iter()
        .any(|s| s.family == Family::Inet6 && matches!(s.method.as_str(), "auto" | "dhcp"));
    (record.listed() && auto_or_dhcp).then(|| link.name.clone())
}

/// Kernel notifications (from `Dispatcher::kernel_changed`): options of
/// router advertisements are learned, a link that goes down or away takes
/// its DNS with it at once.
pub fn kernel_changed(d: &mut Dispatcher, changes: &[crate::kernel::Change]) {
    let now = Instant::now();
    let mut any = false;
    for change in changes {
        match &change.event {
            Event::NdUserOption(option) => {
                any = true;
                learn(d, option, now);
            }
            // The kernel flushes what it learned from advertisements when
            // the link goes down; so does this. A lost carrier is not down:
            // the kernel keeps its addresses and routes then, and so the
            // DNS stays until it expires.
            Event::NewLink(link) if !link.up => forget(d, link.index, "the link went down"),
            Event::DelLink(link) => forget(d, link.index, "the link is gone"),
            _ => {}
        }
    }
    if any {
        flush(d, now);
    }
}

fn learn(d: &mut Dispatcher, option: &NdUserOption, now: Instant) {
    let Some(name) = takes_ra(d, option.ifindex) else {
        debug!(ifindex = option.ifindex, router = %option.router, "router advertisement DNS ignored: not an interface netconf configures with inet6 auto or inet6 dhcp");
        return;
    };
    // Renamed since: the record under the old name goes first.
    let renamed =
        d.ra.interfaces()
            .into_iter()
            .any(|(i, old)| i == option.ifindex && old != name);
    if renamed {
        forget(d, option.ifindex, "the link was renamed");
    }
    if d.ra.learn(&name, option, now) {
        debug!(iface = %name, router = %option.router, rdnss = ?option.rdnss, dnssl = ?option.dnssl, "router advertisement DNS learned");
    }
}

fn forget(d: &mut Dispatcher, ifindex: u32, why: &str) {
    let Some(name) = d.ra.forget(ifindex, Instant::now()) else {
        return;
    };
    match resolver(d).remove_for(&name, Source::Ra) {
        Ok(true) => {
            info!(iface = %name, why, "DNS from router advertisements removed");
            d.tell_monitors(
                Some(name.clone()),
                None,
                "dns",
                format!("DNS from router advertisements removed: {why}"),
            );
        }
        Ok(false) => {}
        Err(e) => warn!(iface = %name, why, error = %e, "removing DNS from router advertisements"),
    }
}

/// Writes what is due to the resolver and the saved table.
fn flush(d: &mut Dispatcher, now: Instant) {
    let resolver = resolver(d);
    for w in d.ra.write_due(&resolver, now) {
        let servers: Vec<String> = w.dns.nameservers.iter().map(|s| s.to_string()).collect();
        match w.result {
            Ok(wrote) => {
                if wrote {
                    info!(iface = %w.iface, ?servers, search = ?w.dns.search, "DNS from router advertisements applied");
                }
                let text = if w.dns.is_empty() {
                    "DNS from router advertisements: none".to_string()
                } else {
                    let mut words: Vec<String> =
                        servers.iter().map(|s| format!("nameserver {s}")).collect();
                    if !w.dns.search.is_empty() {
                        words.push(format!("search {}", w.dns.search.join(" ")));
                    }
                    format!("DNS from router advertisements: {}", words.join(", "))
                };
                d.tell_monitors(Some(w.iface), None, "dns", text);
            }
            Err(e) => {
                warn!(iface = %w.iface, error = %e, "writing DNS from router advertisements; trying again in {} s", WRITE_RETRY.as_secs())
            }
        }
    }
    if d.ra.save_now(now) {
        let saved = d.ra.saved(now, SystemTime::now());
        if let Err(e) = save(&saved_path(d), &saved) {
            warn!(error = %e, "saving DNS from router advertisements");
        }
    }
}

/// When the dispatcher must next call [`tick`], if ever.
pub fn next_deadline(d: &Dispatcher) -> Option<Instant> {
    d.ra.next_deadline()
}

/// What is due: entries whose lifetime ended go, interfaces netconf no
/// longer configures with `inet6 auto`/`dhcp` lose theirs (once no request
/// runs on them: an `ifreload` that reconfigures one brings it back),
/// deferred writes happen. Called when a deadline passes and whenever the
/// dispatcher's queue runs dry.
pub fn tick(d: &mut Dispatcher) {
    if d.ra.is_empty() {
        return;
    }
    let now = Instant::now();
    for (iface, entry) in d.ra.expire(now) {
        info!(iface = %iface, entry = %entry, "DNS from router advertisements: lifetime ended");
    }
    for (ifindex, name) in d.ra.interfaces() {
        if !d.is_busy(&name) && takes_ra(d, ifindex).is_none() {
            forget(
                d,
                ifindex,
                "netconf no longer configures it with inet6 auto or dhcp",
            );
        }
    }
    flush(d, now);
}

/// Reads back what an earlier daemon learned (at start, after adoption:
/// adopted interfaces have records too). What ended meanwhile, and what
/// belongs to an interface netconf no longer configures so, goes.
pub fn restore(d: &mut Dispatcher) {
    let path = saved_path(d);
    let saved = match load(&path) {
        Ok(Some(saved)) => saved,
        Ok(None) => return,
        Err(e) => {
            warn!(error = %e, "router advertisement DNS of the previous daemon not read");
            return;
        }
    };
    let keep = |ifindex: u32, name: &str| takes_ra(d, ifindex).as_deref() == Some(name);
    let (table, dropped) = RaDns::restored(saved, Instant::now(), SystemTime::now(), keep);
    let resolver = resolver(d);
    for name in dropped {
        if let Err(e) = resolver.remove_for(&name, Source::Ra) {
            warn!(iface = %name, error = %e, "removing DNS from router advertisements");
        }
    }
    debug!(
        interfaces = table.ifaces.len(),
        "router advertisement DNS read back"
    );
    d.ra = table;
    d.ra.changed(Instant::now());
    flush(d, Instant::now());
}

/// The `dns` entries of `status` for the link `ifindex`.
pub fn status(d: &Dispatcher, ifindex: Option<u32>) -> Vec<Value> {
    ifindex.map_or_else(Vec::new, |i| d.ra.status(i, Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: &str = "fe80::1";

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    fn option(router: &str, servers: &[(&str, u32)], domains: &[(&str, u32)]) -> NdUserOption {
        NdUserOption {
            ifindex: 3,
            router: v6(router),
            rdnss: servers
                .iter()
                .map(|(s, l)| (v6(s), NdLifetime(*l)))
                .collect(),
            dnssl: domains
                .iter()
                .map(|(d, l)| (d.to_string(), NdLifetime(*l)))
                .collect(),
        }
    }

    fn servers(table: &RaDns) -> Vec<String> {
        table
            .ifaces
            .get(&3)
            .map(|l| l.dns().nameservers.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }

    fn search(table: &RaDns) -> Vec<String> {
        table
            .ifaces
            .get(&3)
            .map(|l| l.dns().search)
            .unwrap_or_default()
    }

    struct Files {
        _dir: tempfile::TempDir,
        conf: PathBuf,
        resolver: Resolver,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("resolv.conf");
        std::fs::write(&conf, "nameserver 203.0.113.53\n").unwrap();
        let resolver = Resolver::file(&conf, dir.path().join("state"));
        Files {
            conf,
            resolver,
            _dir: dir,
        }
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    /// Time driven by hand: learned at t0 with 10 s, refreshed at t0+8 s
    /// with 10 s, the file follows; at t0+18 s the lifetime has ended and
    /// the file is the admin's again.
    #[test]
    fn lifetime_counts_from_reception_and_ends() {
        let f = files();
        let t0 = Instant::now();
        let mut table = RaDns::default();
        let ra = option(ROUTER, &[("2001:db8:1::53", 10)], &[("example.test", 10)]);
        assert!(table.learn("cli0", &ra, t0));
        let written = table.write_due(&f.resolver, t0);
        assert!(matches!(&written[..], [w] if w.iface == "cli0" && matches!(w.result, Ok(true))));
        assert!(table.save_now(t0));
        let text = read(&f.conf);
        assert!(
            text.contains("nameserver 2001:db8:1::53\n") && text.contains("search example.test\n"),
            "{text}"
        );
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(10)));
        // Refreshed: the same servers, so no write; the end moves.
        assert!(table.learn("cli0", &ra, t0 + Duration::from_secs(8)));
        assert!(table
            .write_due(&f.resolver, t0 + Duration::from_secs(8))
            .is_empty());
        assert!(table.save_now(t0 + Duration::from_secs(8)));
        assert!(table.expire(t0 + Duration::from_secs(10)).is_empty());
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(18)));
        let status = table.status(3, t0 + Duration::from_secs(10));
        assert_eq!(status.len(), 2);
        assert_eq!(status[0]["value"], "2001:db8:1::53");
        assert_eq!(status[0]["origin"], "ra");
        assert_eq!(status[0]["lifetime"], 8);
        assert_eq!(status[1]["type"], "search");

        let t = t0 + Duration::from_secs(18);
        let gone = table.expire(t);
        assert_eq!(gone.len(), 2, "{gone:?}");
        let written = table.write_due(&f.resolver, t);
        assert!(matches!(&written[..], [w] if w.dns.is_empty()));
        assert_eq!(read(&f.conf), "nameserver 203.0.113.53\n");
        assert!(table.ifaces.is_empty());
        assert!(table.status(3, t).is_empty());
    }

    #[test]
    fn lifetime_zero_withdraws_and_all_ones_is_for_ever() {
        let t0 = Instant::now();
        let mut table = RaDns::default();
        let ra = option(
            ROUTER,
            &[("2001:db8:1::53", u32::MAX), ("2001:db8:1::54", 60)],
            &[],
        );
        table.learn("cli0", &ra, t0);
        assert_eq!(table.next_deadline(), Some(t0));
        let later = t0 + Duration::from_secs(3600 * 24 * 365);
        table.expire(later);
        assert_eq!(servers(&table), ["2001:db8:1::53"]);
        assert_eq!(table.status(3, later)[0]["lifetime"], Value::Null);
        let withdraw = option(ROUTER, &[("2001:db8:1::53", 0)], &[]);
        assert!(table.learn("cli0", &withdraw, later));
        assert!(servers(&table).is_empty());
        // A withdrawal of what is not known changes nothing, and a router
        // that only withdraws is not taken in.
        assert!(!table.learn("cli0", &withdraw, later));
        assert!(!table.learn(
            "cli0",
            &option("fe80::2", &[("2001:db8:1::53", 0)], &[]),
            later
        ));
    }

    #[test]
    fn routers_merge_in_the_order_heard() {
        let t0 = Instant::now();
        let mut table = RaDns::default();
        table.learn(
            "cli0",
            &option(ROUTER, &[("2001:db8:1::53", 60)], &[("example.test", 60)]),
            t0,
        );
        table.learn(
            "cli0",
            &option(
                "fe80::2",
                &[("2001:db8:2::53", 60), ("2001:db8:1::53", 60)],
                &[("example.test", 60), ("two.example.test", 60)],
            ),
            t0,
        );
        assert_eq!(servers(&table), ["2001:db8:1::53", "2001:db8:2::53"]);
        assert_eq!(search(&table), ["example.test", "two.example.test"]);
    }

    /// rdnssd's rule: a full list takes a new server in place of the one
    /// that ends first, only if the new one ends later.
    #[test]
    fn full_lists_keep_what_lasts_longest() {
        let t0 = Instant::now();
        let mut table = RaDns::default();
        let ra = option(
            ROUTER,
            &[
                ("2001:db8::1", 100),
                ("2001:db8::2", 50),
                ("2001:db8::3", 200),
                ("2001:db8::4", 10),
            ],
            &[],
        );
        table.learn("cli0", &ra, t0);
        assert_eq!(
            servers(&table),
            ["2001:db8::1", "2001:db8::2", "2001:db8::3"]
        );
        table.learn("cli0", &option(ROUTER, &[("2001:db8::5", 60)], &[]), t0);
        assert_eq!(
            servers(&table),
            ["2001:db8::1", "2001:db8::3", "2001:db8::5"]
        );
        let domains: Vec<(String, u32)> = (0..10).map(|i| (format!("d{i}.test"), 60)).collect();
        let mut many = option(ROUTER, &[], &[]);
        many.dnssl = domains
            .iter()
            .map(|(d, l)| (d.clone(), NdLifetime(*l)))
            .collect();
        table.learn("cli0", &many, t0);
        assert_eq!(search(&table).len(), MAX_DOMAINS);
    }

    /// Advertisements from ever new routers with ever new servers, by the
    /// thousand: the table stays at its bounds, and a write of the result is
    /// due once (not once per advertisement).
    #[test]
    fn a_flood_stays_bounded() {
        let f = files();
        let t0 = Instant::now();
        let mut table = RaDns::default();
        table.learn("cli0", &option(ROUTER, &[("2001:db8::53", 600)], &[]), t0);
        assert_eq!(table.write_due(&f.resolver, t0).len(), 1);
        let mut writes = 0;
        for i in 0..5000u32 {
            let t = t0 + Duration::from_millis(u64::from(i));
            let router = format!("fe80::{:x}:{:x}", i >> 16, i & 0xffff);
            let server = format!("2001:db8:{:x}:{:x}::53", i >> 16, i & 0xffff);
            let domain = format!("d{i}.example.test");
            let ra = option(&router, &[(&server, 1000 + i)], &[(&domain, 1000 + i)]);
            table.learn("cli0", &ra, t);
            writes += table.write_due(&f.resolver, t).len();
            let learned = &table.ifaces[&3];
            assert!(learned.routers.len() <= MAX_ROUTERS);
            assert!(learned
                .routers
                .iter()
                .all(|r| r.servers.len() <= MAX_SERVERS && r.domains.len() <= MAX_DOMAINS));
        }
        // One write per second at most: 5 s of flood, 5 writes.
        assert!(writes <= 5, "{writes} writes");
        let file = read(&f.conf);
        assert!(file.contains("nameserver 2001:db8"), "{file}");
        assert_eq!(table.ifaces.len(), 1);
    }

    #[test]
    fn writes_are_spaced_and_failures_retried() {
        let f = files();
        let t0 = Instant::now();
        let mut table = RaDns::default();
        table.learn("cli0", &option(ROUTER, &[("2001:db8::53", 600)], &[]), t0);
        assert_eq!(table.write_due(&f.resolver, t0).len(), 1);
        let t1 = t0 + Duration::from_millis(100);
        table.learn("cli0", &option(ROUTER, &[("2001:db8::54", 600)], &[]), t1);
        assert!(table.write_due(&f.resolver, t1).is_empty());
        assert!(table.save_now(t1));
        assert_eq!(table.next_deadline(), Some(t0 + WRITE_INTERVAL));
        assert_eq!(table.write_due(&f.resolver, t0 + WRITE_INTERVAL).len(), 1);
        assert!(read(&f.conf).contains("nameserver 2001:db8::54"));

        // A resolver that cannot write: tried again 30 s later.
        let bad = Resolver::file(f.conf.join("not-a-dir"), f.conf.with_extension("state"));
        let t2 = t0 + Duration::from_secs(5);
        table.learn("cli0", &option(ROUTER, &[("2001:db8::55", 600)], &[]), t2);
        let failed = table.write_due(&bad, t2);
        assert!(matches!(&failed[..], [w] if w.result.is_err()));
        assert!(table
            .write_due(&bad, t2 + Duration::from_secs(29))
            .is_empty());
        assert_eq!(table.write_due(&bad, t2 + WRITE_RETRY).len(), 1);
    }

    #[test]
    fn forgetting_names_the_interface() {
        let t0 = Instant::now();
        let mut table = RaDns::default();
        assert_eq!(table.forget(3, t0), None);
        table.learn("cli0", &option(ROUTER, &[("2001:db8::53", 600)], &[]), t0);
        assert_eq!(table.forget(3, t0), Some("cli0".to_string()));
        assert!(table.ifaces.is_empty());
    }

    /// Saved with wall-clock ends, read back by a daemon started later:
    /// what ended meanwhile is gone, the rest ends when it would have, and
    /// interfaces no longer configured so are named for removal.
    #[test]
    fn saved_and_read_back_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SAVED_FILE);
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut table = RaDns::default();
        table.learn(
            "cli0",
            &option(
                ROUTER,
                &[("2001:db8::53", 100), ("2001:db8::54", u32::MAX)],
                &[("example.test", 10)],
            ),
            t0,
        );
        let mut other = option(ROUTER, &[("2001:db8:9::53", 100)], &[]);
        other.ifindex = 4;
        table.learn("cli1", &other, t0);
        assert!(table.save_now(t0));
        assert!(!table.save_now(t0));
        save(&path, &table.saved(t0, wall)).unwrap();
        let saved = load(&path).unwrap().unwrap();
        assert_eq!(saved, table.saved(t0, wall));

        // 30 s later, in a new daemon.
        let t1 = Instant::now();
        let (back, dropped) = RaDns::restored(saved, t1, wall + Duration::from_secs(30), |i, n| {
            i == 3 && n == "cli0"
        });
        assert_eq!(dropped, ["cli1"]);
        assert_eq!(back.interfaces(), [(3, "cli0".to_string())]);
        let status = back.status(3, t1);
        let values: Vec<&str> = status.iter().filter_map(|s| s["value"].as_str()).collect();
        assert_eq!(values, ["2001:db8::53", "2001:db8::54"]);
        assert_eq!(status[0]["lifetime"], 70);
        assert_eq!(status[1]["lifetime"], Value::Null);
        assert!(back.ifaces[&3].dirty);
        assert_eq!(load(&dir.path().join("absent.json")).unwrap(), None);
        std::fs::write(&path, "nonsense").unwrap();
        assert!(matches!(load(&path), Err(SaveError::Parse { .. })));
    }

    #[test]
    fn search_domains_read_back_are_checked_again() {
        assert!(search_domain("example.test"));
        assert!(search_domain("_srv.x-y.test"));
        for bad in [
            "",
            "a b",
            "a\nnameserver 1.2.3.4",
            "a..b",
            ".a",
            "a.",
            &"a".repeat(254),
        ] {
            assert!(!search_domain(bad), "{bad:?}");
        }
    }
}
