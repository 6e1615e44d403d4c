//! Kernel notifications of link, address and route changes, decoded into
//! netconf's types, for the daemon's mirror of the kernel; and the DNS
//! options of IPv6 router advertisements, which the kernel leaves to user
//! space ([`NdUserOption`]).
//!
//! Open the [`Monitor`] *before* the initial dumps, so no change falls
//! between dump and subscription; and treat [`Event::Overrun`] as "re-dump
//! everything": the kernel drops notifications when the receive buffer is
//! full, and it also removes IPv4 routes silently when the address under
//! them goes, so routes need a re-dump after address removals and link-down
//! anyway.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket as SysSocket, SocketAddr};

use super::nduseropt::{self, NdUserOption};
use super::socket::{split_message, Failure};
use super::wire;
use super::{Address, Link, NetlinkError, RaFlags, Route};

/// Receive buffer asked for by [`Monitor::open`]: a burst of 1000 address
/// adds overran the default 208 KiB in tests, 4 MiB never did.
const DEFAULT_BUFFER: usize = 4 * 1024 * 1024;

/// Largest notification datagram we accept (they are one message each, a
/// few KiB at most); a bigger one is reported as an overrun, since a change
/// was lost.
const RECV_BUFFER: usize = 64 * 1024;

/// A change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A link appeared or changed (flags, carrier, name, mtu, master, ...).
    NewLink(Link),
    DelLink(Link),
    NewAddress(Address),
    DelAddress(Address),
    NewRoute(Route),
    /// A route that took the place of another (`NLM_F_REPLACE`): the
    /// kernel replaced the first route of the same family, table,
    /// destination and metric (and tos, or IPv6 source prefix) with this
    /// one, and does not announce the one it replaced.
    ReplaceRoute(Route),
    DelRoute(Route),
    /// DNS servers or search domains from an IPv6 router advertisement
    /// (RFC 8106 RDNSS, DNSSL). Not a change of links, addresses or routes:
    /// the mirror ignores it.
    NdUserOption(NdUserOption),
    /// A link's IPv6 state (an AF_INET6 link message): the M and O flags of
    /// the last router advertisement it heard, sent when they change. Not a
    /// change of the link itself: the mirror ignores it.
    RaFlags(RaFlags),
    /// Notifications were lost (the receive buffer overflowed, or one could
    /// not be read): re-dump everything.
    Overrun,
}

/// A socket subscribed to link, IPv4/IPv6 address and IPv4/IPv6 route
/// notifications, and to router advertisement options for user space, of
/// the calling thread's network namespace.
///
/// Blocking by default; [`Monitor::set_nonblocking`] and [`AsRawFd`] let an
/// event loop (tokio's `AsyncFd`) wait for it instead.
pub struct Monitor {
    sock: SysSocket,
    rx: Vec<u8>,
}

impl Monitor {
    /// Subscribes with a 4 MiB receive buffer.
    pub fn open() -> Result<Monitor, NetlinkError> {
        Monitor::with_buffer(DEFAULT_BUFFER)
    }

    /// Subscribes with a receive buffer of about `bytes` (the kernel doubles
    /// it for bookkeeping). With CAP_NET_ADMIN the size is forced past
    /// `net.core.rmem_max` (208 KiB on a stock system).
    pub fn with_buffer(bytes: usize) -> Result<Monitor, NetlinkError> {
        let io_err = |source| NetlinkError::Io {
            op: "subscribing to netlink notifications".to_string(),
            source,
        };
        let mut sock = SysSocket::new(NETLINK_ROUTE).map_err(io_err)?;
        sock.bind_auto().map_err(io_err)?;
        // Only the kernel may send to us: a local process could otherwise
        // feed the daemon invented changes.
        sock.connect(&SocketAddr::new(0, 0)).map_err(io_err)?;
        for group in [
            libc::RTNLGRP_LINK,
            libc::RTNLGRP_IPV4_IFADDR,
            libc::RTNLGRP_IPV6_IFADDR,
            libc::RTNLGRP_IPV4_ROUTE,
            libc::RTNLGRP_IPV6_ROUTE,
            // RDNSS and DNSSL, which the kernel does not act on itself.
            libc::RTNLGRP_ND_USEROPT,
            // The M and O flags of router advertisements (DHCPv6).
            libc::RTNLGRP_IPV6_IFINFO,
        ] {
            sock.add_membership(group).map_err(io_err)?;
        }
        let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        if force_rcvbuf(&sock, size).is_err() {
            sock.set_rx_buf_sz(size).map_err(io_err)?;
        }
        Ok(Monitor {
            sock,
            rx: Vec::with_capacity(RECV_BUFFER),
        })
    }

    /// The receive buffer the kernel granted, in bytes (doubled, as
    /// `getsockopt(SO_RCVBUF)` reports it).
    pub fn buffer_size(&self) -> io::Result<usize> {
        self.sock.get_rx_buf_sz()
    }

    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_non_blocking(nonblocking)
    }

    /// Reads the next datagram of notifications (waits for one unless
    /// non-blocking, where an empty socket is `ErrorKind::WouldBlock`).
    /// Messages of other kinds are skipped, so the list may be empty.
    pub fn recv(&mut self) -> io::Result<Vec<Event>> {
        let len = loop {
            self.rx.clear();
            // MSG_TRUNC: the real length, to notice an oversized datagram.
            match self.sock.recv_from(&mut self.rx, libc::MSG_TRUNC) {
                Ok((_, from)) if from.port_number() != 0 => continue,
                Ok((n, _)) if n > self.rx.capacity() => return Ok(vec![Event::Overrun]),
                Ok((n, _)) => break n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(vec![Event::Overrun])
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        Ok(decode_notifications(&self.rx[..len]))
    }
}

/// The parser of one datagram from the kernel: the events of the
/// notifications it holds, in order. Messages of other kinds are skipped;
/// anything unreadable turns into an [`Event::Overrun`] (a change was
/// missed, so the caller must re-read the kernel). Never panics, whatever
/// the bytes.
///
/// [`Monitor::recv`] is what the daemon uses; this is public for fuzzing
/// (`fuzz/fuzz_targets/netlink_events.rs`).
pub fn decode_notifications(mut rest: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    while !rest.is_empty() {
        let (header, payload, next) = match split_message(rest) {
            Ok(parts) => parts,
            Err(Failure::Decode(why)) => {
                tracing::warn!("unreadable netlink notification: {why}");
                events.push(Event::Overrun);
                break;
            }
            Err(_) => break,
        };
        rest = next;
        let event = match header.message_type {
            wire::RTM_NEWLINK if payload.first() == Some(&(libc::AF_INET6 as u8)) => {
                wire::decode_ra_flags(header.message_type, payload).map(|f| f.map(Event::RaFlags))
            }
            wire::RTM_NEWLINK => {
                wire::decode_link(header.message_type, payload).map(|l| l.map(Event::NewLink))
            }
            wire::RTM_DELLINK => {
                wire::decode_link(header.message_type, payload).map(|l| l.map(Event::DelLink))
            }
            wire::RTM_NEWADDR => {
                wire::decode_address(header.message_type, payload).map(|a| a.map(Event::NewAddress))
            }
            wire::RTM_DELADDR => {
                wire::decode_address(header.message_type, payload).map(|a| a.map(Event::DelAddress))
            }
            wire::RTM_NEWROUTE => {
                let replaced = header.flags & netlink_packet_core::NLM_F_REPLACE != 0;
                wire::decode_route(header.message_type, payload).map(|r| {
                    r.map(if replaced {
                        Event::ReplaceRoute
                    } else {
                        Event::NewRoute
                    })
                })
            }
            wire::RTM_DELROUTE => {
                wire::decode_route(header.message_type, payload).map(|r| r.map(Event::DelRoute))
            }
            // An option the kernel passed on is no change to re-read:
            // one it could not be read from is skipped, not an overrun.
            wire::RTM_NEWNDUSEROPT => match nduseropt::decode(payload) {
                Ok(option) => Ok(option.map(Event::NdUserOption)),
                Err(why) => {
                    tracing::warn!(%why, "unreadable router advertisement option; skipped");
                    Ok(None)
                }
            },
            netlink_packet_core::NLMSG_OVERRUN => Ok(Some(Event::Overrun)),
            _ => Ok(None),
        };
        match event {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {}
            Err(why) => {
                tracing::warn!("unreadable netlink notification: {why}");
                events.push(Event::Overrun);
            }
        }
    }
    events
}

/// `SO_RCVBUFFORCE`: like `SO_RCVBUF` but past `rmem_max`, for
/// CAP_NET_ADMIN (netlink-sys only offers the capped one).
fn force_rcvbuf(sock: &SysSocket, size: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a pointer to
    // a live c_int; the fd is owned by `sock` and open.
    let res = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if res == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("fd", &self.sock.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl AsRawFd for Monitor {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Monitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{Family, NewRoute};
    use netlink_packet_core::{
        NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
    };
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};
    use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

    fn datagram(msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        buf
    }

    #[test]
    fn a_replacing_route_is_told_apart() {
        let route = NewRoute {
            destination: Some(("198.51.100.0".parse().unwrap(), 24)),
            oif: Some(3),
            ..NewRoute::new(Family::V4)
        };
        let msg = wire::new_route(&route, false).unwrap();
        let added = decode_notifications(&datagram(msg.clone(), NLM_F_CREATE | NLM_F_EXCL));
        assert!(matches!(added[..], [Event::NewRoute(_)]), "{added:?}");
        let replaced = decode_notifications(&datagram(msg, NLM_F_REPLACE));
        assert!(
            matches!(&replaced[..], [Event::ReplaceRoute(r)] if r.oif == Some(3)),
            "{replaced:?}"
        );
    }

    /// Found by `scripts/fuzz` (netlink_events, after 4.9 million runs):
    /// this datagram (a captured bridge RTM_NEWLINK, mutated into a bareudp
    /// link with a 6-byte `IFLA_BAREUDP_SRCPORT_MIN`, then more messages)
    /// made netlink-packet-route panic, which aborts the daemon. Now the
    /// link comes out, with its kind.
    #[test]
    fn malformed_data_of_a_kind_not_read_is_skipped() {
        let datagram = include_bytes!("../../tests/fixtures/notifications/bareudp-srcport-min.bin");
        let events = decode_notifications(datagram);
        assert!(
            matches!(&events[0], Event::NewLink(l) if l.name == "br0" && l.kind.as_deref() == Some("bareudp")),
            "{events:?}"
        );
    }

    /// An AF_INET6 link message (RTNLGRP_IPV6_IFINFO) is the flags of the
    /// link's router advertisements, never a link: taken as one it would
    /// strip the link of its name and kind in the mirror.
    #[test]
    fn ipv6_link_messages_are_ra_flags() {
        let mut payload = vec![libc::AF_INET6 as u8, 0, 0, 0];
        payload.extend(3u32.to_ne_bytes());
        payload.extend([0u8; 8]);
        // IFLA_PROTINFO { IFLA_INET6_FLAGS = IF_READY | IF_RA_OTHERCONF }
        payload.extend(12u16.to_ne_bytes());
        payload.extend((12u16 | 0x8000).to_ne_bytes());
        payload.extend(8u16.to_ne_bytes());
        payload.extend(1u16.to_ne_bytes());
        payload.extend((0x8000_0000u32 | 0x80).to_ne_bytes());
        let mut datagram = Vec::new();
        datagram.extend(u32::try_from(16 + payload.len()).unwrap().to_ne_bytes());
        datagram.extend(wire::RTM_NEWLINK.to_ne_bytes());
        datagram.extend([0u8; 10]);
        datagram.extend(payload);
        let events = decode_notifications(&datagram);
        assert_eq!(
            events,
            [Event::RaFlags(RaFlags {
                index: 3,
                managed: false,
                other: true
            })]
        );
    }

    /// Router advertisement options come out as events of their own (the
    /// datagrams are the kernel's, from dnsmasq's advertisement); prefix
    /// information, which travels the same way, and an option message that
    /// cannot be read are skipped, not taken for lost notifications.
    #[test]
    fn router_advertisement_options() {
        let rdnss = include_bytes!("../../tests/fixtures/notifications/nduseropt-rdnss.bin");
        let dnssl = include_bytes!("../../tests/fixtures/notifications/nduseropt-dnssl.bin");
        let prefix = include_bytes!("../../tests/fixtures/notifications/nduseropt-prefix.bin");
        let events = decode_notifications(rdnss);
        assert!(
            matches!(&events[..], [Event::NdUserOption(o)] if o.ifindex == 2 && o.rdnss.len() == 1),
            "{events:?}"
        );
        let events = decode_notifications(dnssl);
        assert!(
            matches!(&events[..], [Event::NdUserOption(o)] if o.dnssl.len() == 2),
            "{events:?}"
        );
        assert_eq!(decode_notifications(prefix), []);
        // Cut inside the option header: the message says 76 bytes, so the
        // netlink header is rewritten to the cut length.
        let mut cut = rdnss[..30].to_vec();
        cut[..4].copy_from_slice(&30u32.to_ne_bytes());
        assert_eq!(decode_notifications(&cut), []);
    }

    /// A bridge port's AF_BRIDGE RTM_DELLINK (it left the bridge) is not the
    /// link going away.
    #[test]
    fn bridge_port_messages_are_not_links() {
        let mut msg = LinkMessage::default();
        msg.header.index = 4;
        msg.attributes.push(LinkAttribute::IfName("a1".into()));
        let link = RouteNetlinkMessage::DelLink(msg.clone());
        assert!(matches!(
            decode_notifications(&datagram(link, 0))[..],
            [Event::DelLink(_)]
        ));
        msg.header.interface_family = AddressFamily::Bridge;
        let port = RouteNetlinkMessage::DelLink(msg);
        assert_eq!(decode_notifications(&datagram(port, 0)), []);
    }
}
