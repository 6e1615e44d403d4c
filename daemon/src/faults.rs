//! Crash points, for the fault-injection tests (docs/RELIABILITY.md): with
//! `NETCONF_CRASH_AT=WHEN:WHAT[#N]` in its environment, netconfd kills
//! itself with SIGKILL, as `kill -9` would, the Nth time (1st by default)
//! it passes that point:
//!
//! * `start:KIND` as an event of that kind starts, `done:KIND` as one has
//!   done its work (before its completion is recorded); KIND is a word of
//!   `Kind::label` (`iface-up`, `hooks`, `apply`, `start-dhcp-client`, ...) or
//!   `*` for any event;
//! * `start:dhcp-REASON` as a DHCP event of that reason (`BOUND`, `RENEW`,
//!   `EXPIRE`, ...) arrives, `done:dhcp-REASON` once it is applied and
//!   before dhclient's hook is answered;
//! * `start:location-switch` as the active location is about to change,
//!   `done:location-switch` once its files are written and its units asked
//!   for, before the new location is recorded.
//!
//! Without the variable nothing here does anything. Only root sets the
//! environment of a daemon that runs as root.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

struct CrashAt {
    when: String,
    what: String,
    nth: u32,
}

fn configured() -> Option<&'static CrashAt> {
    static AT: OnceLock<Option<CrashAt>> = OnceLock::new();
    AT.get_or_init(|| {
        let spec = std::env::var("NETCONF_CRASH_AT").ok()?;
        let (point, nth) = match spec.split_once('#') {
            Some((point, n)) => (point, n.parse().ok()?),
            None => (spec.as_str(), 1),
        };
        let (when, what) = point.split_once(':')?;
        tracing::warn!(point = %spec, "a crash point is set (NETCONF_CRASH_AT): this netconfd will kill itself there");
        Some(CrashAt {
            when: when.to_string(),
            what: what.to_string(),
            nth,
        })
    })
    .as_ref()
}

/// Passing the point `when`:`what`: the end of the daemon if it is the one.
pub fn point(when: &str, what: &str) {
    static PASSED: AtomicU32 = AtomicU32::new(0);
    let Some(at) = configured() else {
        return;
    };
    if at.when != when || (at.what != "*" && at.what != what) {
        return;
    }
    if PASSED.fetch_add(1, Ordering::SeqCst) + 1 == at.nth {
        tracing::warn!(when, what, "crash point reached: SIGKILL");
        // SAFETY: kill(2) of ourselves; nothing runs after it.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
