//! What the kernel tests of this crate share: moving the calling thread
//! into a network namespace of its own (netlink sockets and `ip` started
//! from it live there; the machine's own namespace is never touched), and
//! running `ip` there. Both need root (CAP_SYS_ADMIN), as CI runs them.

use std::process::Command;

/// Moves this thread into a new, empty network namespace and sets `lo` up
/// there. Fails with a clear message when not permitted.
pub fn enter_new_netns() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these tests create a network namespace and links in it: run them as root (CI does)"
    );
    let before = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    // SAFETY: unshare only changes this thread's namespace membership.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET) refused: {} (needs CAP_SYS_ADMIN)",
        std::io::Error::last_os_error()
    );
    let after = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    assert_ne!(before, after, "still in the namespace we started in");
    ip(&["link", "set", "lo", "up"]);
}

/// `ip ARGS` run from this thread (so in its namespace); its output.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
