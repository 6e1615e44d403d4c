//! The kernel boundary: the ground floor every other netconf crate may stand
//! on, which stands on none of them.
//!
//! * [`netlink`]: the one door to rtnetlink (requests on a blocking socket,
//!   notifications on a [`Monitor`](netlink::Monitor), with the DNS options
//!   of IPv6 router advertisements, IPv6 sysctls), in
//!   netconf's own plain types. No type of the `netlink-packet-*` crates is
//!   seen outside it, so their frequent breaking releases touch one folder.
//! * [`mirror`]: a live copy of the kernel's links, addresses and routes,
//!   kept current from notifications, re-reading what the kernel changes
//!   without a word, and saying what each notification changed.

pub mod mirror;
pub mod netlink;
