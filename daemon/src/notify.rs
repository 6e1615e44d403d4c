//! systemd's readiness protocol (sd_notify(3)) with std only: one datagram
//! of newline-separated `VARIABLE=value` lines to the unix socket named by
//! `$NOTIFY_SOCKET`. netconfd sends `READY=1` once its control socket
//! serves (so `Type=notify` in netconfd.service orders `ifup -a` after it),
//! and `STOPPING=1` when it begins to stop. dpkg's `start-stop-daemon
//! --notify-await` speaks the same protocol, which the sysvinit script uses.
//!
//! Without `$NOTIFY_SOCKET` (started by hand, by the tests) nothing is sent.
//! A failure to notify is reported to the caller, never fatal: the service
//! manager notices a missing `READY=1` by itself.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// The environment variable the service manager names its socket in.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Where notifications go, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<OsString>,
}

impl Notifier {
    /// `$NOTIFY_SOCKET` if set and not empty. The variable is left in the
    /// environment (unsetting it is not thread-safe); children that inherit
    /// it are ignored by systemd under `NotifyAccess=main`.
    pub fn from_env() -> Notifier {
        Notifier::to(std::env::var_os(NOTIFY_SOCKET))
    }

    /// A notifier for `target` (`/path` or `@abstract`), or one that sends
    /// nothing for None or an empty value.
    pub fn to(target: Option<OsString>) -> Notifier {
        Notifier {
            target: target.filter(|t| !t.is_empty()),
        }
    }

    /// Whether a service manager is listening.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state`; Ok(false) when there is no one to tell.
    pub fn notify(&self, state: &str) -> io::Result<bool> {
        match &self.target {
            None => Ok(false),
            Some(target) => send(target, state).map(|()| true),
        }
    }
}

/// Sends one notification datagram to `target`: an absolute path, or an
/// abstract socket name written with a leading `@` (sd_notify's convention).
pub fn send(target: &OsStr, state: &str) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let bytes = target.as_bytes();
    let sent = match bytes.first() {
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(&bytes[1..])?;
            socket.send_to_addr(state.as_bytes(), &addr)?
        }
        Some(b'/') => socket.send_to(state.as_bytes(), Path::new(target))?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{NOTIFY_SOCKET}={} is neither an absolute path nor an @abstract name",
                    target.to_string_lossy()
                ),
            ))
        }
    };
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {sent} of {} bytes", state.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receive(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_to_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::to(Some(path.into_os_string()));
        assert!(notifier.enabled());
        assert!(notifier.notify("READY=1\nSTATUS=serving").unwrap());
        assert_eq!(receive(&listener), "READY=1\nSTATUS=serving");
        assert!(notifier.notify("STOPPING=1").unwrap());
        assert_eq!(receive(&listener), "STOPPING=1");
    }

    #[test]
    fn sends_to_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("netconf-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        let notifier = Notifier::to(Some(format!("@{name}").into()));
        assert!(notifier.notify("READY=1").unwrap());
        assert_eq!(receive(&listener), "READY=1");
    }

    #[test]
    fn unset_or_empty_sends_nothing() {
        for target in [None, Some(OsString::new())] {
            let notifier = Notifier::to(target);
            assert!(!notifier.enabled());
            assert!(!notifier.notify("READY=1").unwrap());
        }
    }

    #[test]
    fn a_relative_path_is_refused() {
        let err = Notifier::to(Some("notify.sock".into()))
            .notify("READY=1")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_missing_socket_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = Notifier::to(Some(dir.path().join("absent").into_os_string()));
        assert!(notifier.notify("READY=1").is_err());
    }
}
