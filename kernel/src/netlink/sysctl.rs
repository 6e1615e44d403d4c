//! The per-interface IPv6 knobs ifupdown sets through sysctl (`accept_ra`,
//! `autoconf`, `disable_ipv6`, ...), read and written in
//! `/proc/sys/net/ipv6/conf/IFACE/KEY`.
//!
//! These files belong to the network namespace of the *calling thread*
//! (unlike `/proc/net`, which follows the process), the same namespace a
//! [`super::Netlink`] opened on that thread talks to.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

const CONF: &str = "/proc/sys/net/ipv6/conf";

/// Reads `/proc/sys/net/ipv6/conf/IFACE/KEY`, without the trailing newline.
/// `iface` may also be `all` or `default`. A missing interface (or IPv6
/// disabled in the kernel) is `ErrorKind::NotFound`.
pub fn get_ipv6_conf(iface: &str, key: &str) -> io::Result<String> {
    let path = conf_path(iface, key)?;
    Ok(fs::read_to_string(path)?.trim_end().to_string())
}

/// Writes `value` to `/proc/sys/net/ipv6/conf/IFACE/KEY` unless it already
/// holds it (compared without surrounding whitespace); returns whether it
/// wrote. Writing only on a difference keeps an `ifup` of a configured
/// interface from changing anything, and avoids side effects some knobs have
/// on every write.
pub fn set_ipv6_conf(iface: &str, key: &str, value: &str) -> io::Result<bool> {
    let path = conf_path(iface, key)?;
    let want = value.trim();
    if fs::read_to_string(&path)?.trim() == want {
        return Ok(false);
    }
    // One write() of the whole value: sysctl handlers parse each write on
    // its own.
    OpenOptions::new()
        .write(true)
        .open(&path)?
        .write_all(want.as_bytes())?;
    Ok(true)
}

/// The file for `iface`/`key`, refusing names that would leave the
/// directory (`..`, `/`) rather than trusting callers.
fn conf_path(iface: &str, key: &str) -> io::Result<PathBuf> {
    let iface_ok = !iface.is_empty()
        && iface.len() <= 15
        && iface != "."
        && iface != ".."
        && !iface
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace());
    if !iface_ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{iface:?} is not an interface name"),
        ));
    }
    let key_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{key:?} is not an IPv6 conf key"),
        ));
    }
    Ok([CONF, iface, key].iter().collect())
}

/// Whether the process whose `/proc` directory is `proc_dir` (`/proc/1`,
/// `/proc/PID`) lives in the calling thread's network namespace; `false`
/// when either cannot be read.
pub fn shares_network_namespace(proc_dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        fs::metadata("/proc/thread-self/ns/net"),
        fs::metadata(proc_dir.join("ns/net")),
    ) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_outside_the_directory() {
        for (iface, key) in [
            ("..", "x"),
            (".", "x"),
            ("a/b", "x"),
            ("", "x"),
            ("eth0", "../../x"),
            ("eth0", "Accept_RA"),
            ("eth0", ""),
            ("sixteen-bytes-xx", "x"),
        ] {
            let err = get_ipv6_conf(iface, key).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{iface} {key}");
            let err = set_ipv6_conf(iface, key, "1").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{iface} {key}");
        }
        assert_eq!(
            conf_path("eth0.100", "accept_ra").unwrap(),
            PathBuf::from("/proc/sys/net/ipv6/conf/eth0.100/accept_ra")
        );
    }
}
