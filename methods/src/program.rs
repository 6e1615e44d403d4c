//! What the methods that run a program of Debian's have in common (`inet
//! ppp`, `inet wvdial`, `inet ipv4ll`): the command lines Debian's
//! `inet.defn` runs to start and stop it, and what the program leaves in
//! the kernel, which netconf waits for and then counts as the stanza's.

/// A method's program, as Debian's ifupdown 0.8.41 runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The `up` command, run with `/bin/sh -c` as ifupdown's `execute()`
    /// runs it (so `options` is split into words as there).
    pub start: String,
    /// The `down` command, if the method has one.
    pub stop: Option<String>,
    /// What the program leaves in the kernel once it has done its work.
    pub leaves: Leaves,
}

/// What a method's program leaves in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaves {
    /// A link of its own, named as the stanza (pppd's `ppp0`), up with an
    /// IPv4 address: it appears with its process and goes with it.
    Link,
    /// An IPv4 link-local address (169.254.0.0/16) on the stanza's link,
    /// which must exist and is set up first.
    LinkLocalAddress,
    /// Nothing: it prints what it learned (bootpc's `IPADDR='...'`), and
    /// netconf applies that itself ([`crate::bootp::answer`]).
    Output,
}

impl Leaves {
    /// Whether the program makes the link itself: there is nothing to set
    /// up before it runs, and nothing of the link to take down after.
    pub fn makes_link(self) -> bool {
        self == Leaves::Link
    }

    /// Whether `addr` is one the program leaves (and so the stanza's).
    pub fn owns(self, addr: std::net::IpAddr) -> bool {
        match (self, addr) {
            (Leaves::Link, std::net::IpAddr::V4(_)) => true,
            (Leaves::LinkLocalAddress, std::net::IpAddr::V4(v4)) => v4.is_link_local(),
            _ => false,
        }
    }

    /// What `ifup` waits for, in words.
    pub fn describe(self, iface: &str) -> String {
        match self {
            Leaves::Link => format!("link {iface} with an IPv4 address"),
            Leaves::LinkLocalAddress => format!("an IPv4 link-local address on {iface}"),
            Leaves::Output => format!("an answer for {iface}"),
        }
    }
}

/// ifupdown's `[[...]]`: the text with `value` in place of the variable,
/// or nothing when the option is not set (or empty).
pub(crate) fn optional(text: &str, value: Option<&str>) -> Option<String> {
    value.map(|v| text.replace("%", v))
}

/// Words joined by one space, the empty ones left out (as the `[[...]]`
/// that expand to nothing leave two spaces in Debian's command; the shell
/// sees the same words).
pub(crate) fn words(parts: &[Option<String>]) -> String {
    parts
        .iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn what_each_leaves_is_its_own() {
        let ll: IpAddr = "169.254.3.4".parse().unwrap();
        let other: IpAddr = "198.51.100.2".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(Leaves::Link.owns(ll) && Leaves::Link.owns(other) && !Leaves::Link.owns(v6));
        assert!(Leaves::LinkLocalAddress.owns(ll) && !Leaves::LinkLocalAddress.owns(other));
    }
}
