//! The one error type of the netlink module: the kernel's errno sorted into the
//! kinds callers act on, always with the operation that failed.

use std::io;

/// A failed netlink operation.
///
/// Every variant names the operation (`op`, e.g. "adding 198.51.100.1/24 to
/// ifindex 5"), and the kernel variants carry the errno and a readable reason:
/// `strerror` plus the kernel's extended-ACK text when it gave one (e.g.
/// "Network is unreachable (Nexthop has invalid gateway)"). Raw request bytes
/// never appear in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetlinkError {
    /// EEXIST: the address, route or link is already there (an add without
    /// `replace`).
    #[error("{op}: {message}")]
    Exists {
        op: String,
        errno: i32,
        message: String,
    },
    /// ENODEV: no link with that index or name.
    #[error("{op}: {message}")]
    NoDevice {
        op: String,
        errno: i32,
        message: String,
    },
    /// ESRCH, ENOENT, EADDRNOTAVAIL: the address or route to delete or change
    /// is not there.
    #[error("{op}: {message}")]
    NotFound {
        op: String,
        errno: i32,
        message: String,
    },
    /// ENETUNREACH, EHOSTUNREACH: e.g. a gateway that is not on-link.
    #[error("{op}: {message}")]
    Unreachable {
        op: String,
        errno: i32,
        message: String,
    },
    /// EOPNOTSUPP, EAFNOSUPPORT: the kernel lacks the feature (a link kind,
    /// IPv6 disabled, ...).
    #[error("{op}: {message}")]
    NotSupported {
        op: String,
        errno: i32,
        message: String,
    },
    /// EPERM, EACCES: the caller lacks CAP_NET_ADMIN.
    #[error("{op}: {message}")]
    Permission {
        op: String,
        errno: i32,
        message: String,
    },
    /// EINVAL, ERANGE: the kernel (or our own check before sending) rejected
    /// a value.
    #[error("{op}: {message}")]
    Invalid {
        op: String,
        errno: i32,
        message: String,
    },
    /// Any other errno from the kernel.
    #[error("{op}: {message}")]
    Other {
        op: String,
        errno: i32,
        message: String,
    },
    /// The socket itself failed (open, send, receive).
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
    /// The kernel's answer could not be decoded.
    #[error("{op}: cannot decode the kernel's answer: {message}")]
    Decode { op: String, message: String },
}

impl NetlinkError {
    /// Sorts a kernel errno (positive) into its kind. `extack` is the kernel's
    /// extended-ACK message, if any.
    pub(crate) fn from_errno(op: String, errno: i32, extack: Option<&str>) -> Self {
        let mut message = strerror(errno);
        if let Some(text) = extack.map(str::trim).filter(|t| !t.is_empty()) {
            message.push_str(" (");
            message.push_str(text);
            message.push(')');
        }
        match errno {
            libc::EEXIST => Self::Exists { op, errno, message },
            libc::ENODEV => Self::NoDevice { op, errno, message },
            libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL => {
                Self::NotFound { op, errno, message }
            }
            libc::ENETUNREACH | libc::EHOSTUNREACH => Self::Unreachable { op, errno, message },
            libc::EOPNOTSUPP | libc::EAFNOSUPPORT => Self::NotSupported { op, errno, message },
            libc::EPERM | libc::EACCES => Self::Permission { op, errno, message },
            libc::EINVAL | libc::ERANGE => Self::Invalid { op, errno, message },
            _ => Self::Other { op, errno, message },
        }
    }

    /// A request we refuse to send because the kernel would reject it anyway
    /// (or, worse, misread it). Reported as EINVAL, like the kernel would.
    pub(crate) fn invalid(op: String, why: &str) -> Self {
        Self::Invalid {
            op,
            errno: libc::EINVAL,
            message: why.to_string(),
        }
    }

    /// The errno behind the error, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Exists { errno, .. }
            | Self::NoDevice { errno, .. }
            | Self::NotFound { errno, .. }
            | Self::Unreachable { errno, .. }
            | Self::NotSupported { errno, .. }
            | Self::Permission { errno, .. }
            | Self::Invalid { errno, .. }
            | Self::Other { errno, .. } => Some(*errno),
            Self::Io { source, .. } => source.raw_os_error(),
            Self::Decode { .. } => None,
        }
    }

    /// The operation that failed, e.g. "adding 198.51.100.1/24 to ifindex 5".
    pub fn op(&self) -> &str {
        match self {
            Self::Exists { op, .. }
            | Self::NoDevice { op, .. }
            | Self::NotFound { op, .. }
            | Self::Unreachable { op, .. }
            | Self::NotSupported { op, .. }
            | Self::Permission { op, .. }
            | Self::Invalid { op, .. }
            | Self::Other { op, .. }
            | Self::Io { op, .. }
            | Self::Decode { op, .. } => op,
        }
    }
}

/// `strerror(errno)` without std's " (os error N)" suffix, so messages read
/// like iproute2's ("File exists").
pub(crate) fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match text.strip_suffix(&suffix) {
        Some(bare) => bare.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let e = NetlinkError::from_errno(
            "adding 198.51.100.1/24 to ifindex 5".into(),
            libc::EEXIST,
            None,
        );
        assert!(matches!(e, NetlinkError::Exists { .. }));
        assert_eq!(
            e.to_string(),
            "adding 198.51.100.1/24 to ifindex 5: File exists"
        );
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert_eq!(e.op(), "adding 198.51.100.1/24 to ifindex 5");

        let e = NetlinkError::from_errno(
            "adding route".into(),
            libc::ENETUNREACH,
            Some("Nexthop has invalid gateway"),
        );
        assert!(matches!(e, NetlinkError::Unreachable { .. }));
        assert_eq!(
            e.to_string(),
            "adding route: Network is unreachable (Nexthop has invalid gateway)"
        );

        for (errno, want) in [
            (libc::ENODEV, "NoDevice"),
            (libc::ESRCH, "NotFound"),
            (libc::EADDRNOTAVAIL, "NotFound"),
            (libc::EOPNOTSUPP, "NotSupported"),
            (libc::EPERM, "Permission"),
            (libc::EACCES, "Permission"),
            (libc::EINVAL, "Invalid"),
            (libc::EBUSY, "Other"),
        ] {
            let e = NetlinkError::from_errno("x".into(), errno, Some("  "));
            let got = format!("{e:?}");
            assert!(got.starts_with(want), "{errno}: {got}");
            assert_eq!(e.errno(), Some(errno));
            assert!(!e.to_string().contains("os error"), "{e}");
            assert!(!e.to_string().ends_with(')'), "{e}");
        }
    }

    #[test]
    fn io_and_decode() {
        let e = NetlinkError::Io {
            op: "opening".into(),
            source: io::Error::from_raw_os_error(libc::EMFILE),
        };
        assert_eq!(e.errno(), Some(libc::EMFILE));
        let e = NetlinkError::Decode {
            op: "dumping links".into(),
            message: "short".into(),
        };
        assert_eq!(e.errno(), None);
        assert_eq!(
            e.to_string(),
            "dumping links: cannot decode the kernel's answer: short"
        );
    }
}
