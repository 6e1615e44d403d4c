//! The blocking NETLINK_ROUTE socket under [`super::Netlink`]: one request at
//! a time, numbered, and read back until the kernel's ACK, error or end of
//! dump (the shape netavark uses). Everything here is synchronous: the kernel
//! answers a request before it reads the next one, so a blocking
//! send-then-receive is as fast as netlink gets (~19 µs per address add).

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket as SysSocket, SocketAddr};

use super::NetlinkError;

/// Size of `struct nlmsghdr`.
pub(super) const HEADER_LEN: usize = 16;

/// `NLMSGERR_ATTR_MSG`: the extended-ACK attribute carrying the kernel's
/// human-readable reason ("Nexthop has invalid gateway").
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Receive buffer. The kernel sizes dump datagrams after the largest buffer a
/// reader has offered, capped at 32 KiB, and single answers (a link, an ACK)
/// are far smaller; 64 KiB therefore always holds a whole datagram. A larger
/// one is still detected (`MSG_TRUNC`) and reported, never half-read.
const RECV_BUFFER: usize = 64 * 1024;

/// How often a dump is restarted when the kernel flags it as interrupted
/// (`NLM_F_DUMP_INTR`: the table changed while it was being read).
const DUMP_ATTEMPTS: usize = 5;

/// What went wrong, before the caller adds the operation's description.
#[derive(Debug)]
pub(super) enum Failure {
    /// The kernel refused: errno (positive) and its extended-ACK message.
    Kernel {
        errno: i32,
        extack: Option<String>,
    },
    Io(io::Error),
    Decode(String),
}

impl Failure {
    pub(super) fn into_error(self, op: String) -> NetlinkError {
        match self {
            Failure::Kernel { errno, extack } => {
                NetlinkError::from_errno(op, errno, extack.as_deref())
            }
            Failure::Io(source) => NetlinkError::Io { op, source },
            Failure::Decode(message) => NetlinkError::Decode { op, message },
        }
    }
}

/// Decodes one message of a dump (type, payload) into a value; `Ok(None)`
/// skips it (e.g. a family we do not model).
pub(super) type Decoder<T> = fn(u16, &[u8]) -> Result<Option<T>, String>;

/// Sees each answer (type, payload) of a request; an error is kept and
/// reported once the kernel has finished answering.
type OnMessage<'a> = dyn FnMut(u16, &[u8]) -> Result<(), String> + 'a;

pub(super) struct Socket {
    sock: SysSocket,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
    /// Set when an exchange ended before the kernel finished answering (an
    /// I/O error, an unreadable datagram). The kernel may still be in the
    /// middle of a dump for us, and refuses a new dump with EBUSY until it is
    /// read to the end, so the next request starts on a fresh socket.
    broken: bool,
}

impl Socket {
    /// Opens, binds and connects a NETLINK_ROUTE socket in the calling
    /// thread's network namespace, with strict checking (so the kernel
    /// honours dump filters and rejects malformed requests instead of
    /// guessing) and extended ACKs (so errors come with the kernel's reason).
    pub(super) fn open() -> io::Result<Socket> {
        let mut sock = SysSocket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        // Only the kernel (port 0) may talk to us.
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_netlink_get_strict_chk(true)?;
        // Both are conveniences (readable reasons, smaller error messages):
        // a kernel without them still works, so their failure is not fatal.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Socket {
            sock,
            seq: 0,
            tx: Vec::new(),
            rx: Vec::with_capacity(RECV_BUFFER),
            broken: false,
        })
    }

    /// Sends a change (`flags` such as `NLM_F_CREATE | NLM_F_EXCL`) and waits
    /// for the kernel's ACK.
    pub(super) fn ack(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), Failure> {
        self.exchange(msg, flags | NLM_F_ACK, &mut |_, _| Ok(()))
            .map(|_| ())
    }

    /// Sends a single-object query (no `NLM_F_DUMP`) and decodes the answer.
    pub(super) fn get<T>(
        &mut self,
        msg: RouteNetlinkMessage,
        decode: Decoder<T>,
    ) -> Result<Option<T>, Failure> {
        let mut found = None;
        self.exchange(msg, 0, &mut |kind, payload| {
            if found.is_none() {
                found = decode(kind, payload)?;
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Dumps a table, restarting when the kernel says the dump was
    /// interrupted by a concurrent change.
    pub(super) fn dump<T>(
        &mut self,
        msg: RouteNetlinkMessage,
        decode: Decoder<T>,
    ) -> Result<Vec<T>, Failure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut found = Vec::new();
            let interrupted = self.exchange(msg.clone(), NLM_F_DUMP, &mut |kind, payload| {
                if let Some(value) = decode(kind, payload)? {
                    found.push(value);
                }
                Ok(())
            })?;
            if !interrupted {
                return Ok(found);
            }
            if attempt == DUMP_ATTEMPTS {
                return Err(Failure::Kernel {
                    errno: libc::EINTR,
                    extack: Some(format!(
                        "the dump was interrupted by concurrent changes {DUMP_ATTEMPTS} times"
                    )),
                });
            }
        }
    }

    /// Sends one request and reads answers until its end: an ACK or error,
    /// `NLMSG_DONE` for a dump, or the single answer to a plain query.
    /// `on_msg` sees every other message of this request. Returns whether
    /// the kernel flagged the dump as interrupted.
    fn exchange(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        on_msg: &mut OnMessage<'_>,
    ) -> Result<bool, Failure> {
        if self.broken {
            *self = Socket::open().map_err(Failure::Io)?;
        }
        let result = self.exchange_on(msg, flags, on_msg);
        if matches!(result, Err(Failure::Io(_) | Failure::Decode(_))) {
            self.broken = true;
        }
        result
    }

    fn exchange_on(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        on_msg: &mut OnMessage<'_>,
    ) -> Result<bool, Failure> {
        let seq = self.send(msg, flags)?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let acked = flags & NLM_F_ACK != 0;
        let mut decode_error = None;
        let mut interrupted = false;
        loop {
            let len = self.recv()?;
            let mut rest = &self.rx[..len];
            while !rest.is_empty() {
                let (header, payload, next) = split_message(rest)?;
                rest = next;
                if header.sequence_number != seq {
                    // A late answer to an earlier request that ended early
                    // (e.g. an error in the middle of a datagram): not ours.
                    continue;
                }
                if header.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match header.message_type {
                    NLMSG_NOOP => {}
                    NLMSG_ERROR => {
                        let code = read_i32(payload)
                            .ok_or_else(|| Failure::Decode("truncated NLMSG_ERROR".to_string()))?;
                        if code == 0 {
                            return finish(decode_error, interrupted);
                        }
                        return Err(Failure::Kernel {
                            errno: code.saturating_neg(),
                            extack: error_extack(header.flags, &payload[4..]),
                        });
                    }
                    NLMSG_DONE => {
                        // The kernel reports a dump that failed part way
                        // (e.g. ENOENT for a table that does not exist) in
                        // the DONE message's code.
                        let code = read_i32(payload).unwrap_or(0);
                        if code < 0 {
                            let extack = if header.flags & NLM_F_ACK_TLVS != 0 {
                                tlv_message(&payload[4..])
                            } else {
                                None
                            };
                            return Err(Failure::Kernel {
                                errno: code.saturating_neg(),
                                extack,
                            });
                        }
                        return finish(decode_error, interrupted);
                    }
                    NLMSG_OVERRUN => {
                        return Err(Failure::Decode(
                            "the kernel reported an overrun".to_string(),
                        ))
                    }
                    kind => {
                        if let Err(e) = on_msg(kind, payload) {
                            decode_error.get_or_insert(e);
                        }
                        if !dump && !acked && header.flags & NLM_F_MULTIPART == 0 {
                            return finish(decode_error, interrupted);
                        }
                    }
                }
            }
        }
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, Failure> {
        // Sequence 0 is what the kernel uses for notifications: skip it.
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        self.tx.clear();
        self.tx.resize(packet.buffer_len(), 0);
        packet.serialize(&mut self.tx);
        loop {
            match self.sock.send(&self.tx, 0) {
                Ok(n) if n == self.tx.len() => return Ok(self.seq),
                Ok(n) => {
                    return Err(Failure::Io(io::Error::other(format!(
                        "short netlink send: {n} of {} bytes",
                        self.tx.len()
                    ))))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Io(e)),
            }
        }
    }

    /// Reads one datagram into `self.rx`, returns its length.
    fn recv(&mut self) -> Result<usize, Failure> {
        loop {
            self.rx.clear();
            // MSG_TRUNC makes recv return the datagram's real length, so a
            // datagram larger than the buffer is noticed.
            match self.sock.recv(&mut self.rx, libc::MSG_TRUNC) {
                Ok(n) if n > self.rx.capacity() => {
                    return Err(Failure::Decode(format!(
                        "a {n}-byte datagram does not fit the {}-byte receive buffer",
                        self.rx.capacity()
                    )))
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Io(e)),
            }
        }
    }
}

fn finish(decode_error: Option<String>, interrupted: bool) -> Result<bool, Failure> {
    match decode_error {
        Some(e) => Err(Failure::Decode(e)),
        None => Ok(interrupted),
    }
}

/// The header fields of one netlink message that the receive loop needs.
pub(super) struct Header {
    pub(super) message_type: u16,
    pub(super) flags: u16,
    pub(super) sequence_number: u32,
}

/// Splits the first message off a datagram: its header, its payload and the
/// rest of the datagram (messages are 4-byte aligned).
pub(super) fn split_message(buf: &[u8]) -> Result<(Header, &[u8], &[u8]), Failure> {
    let truncated = || Failure::Decode(format!("truncated netlink message ({} bytes)", buf.len()));
    if buf.len() < HEADER_LEN {
        return Err(truncated());
    }
    let field = |at: usize| [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    let len = u32::from_ne_bytes(field(0)) as usize;
    if len < HEADER_LEN || len > buf.len() {
        return Err(truncated());
    }
    let header = Header {
        message_type: u16::from_ne_bytes([buf[4], buf[5]]),
        flags: u16::from_ne_bytes([buf[6], buf[7]]),
        sequence_number: u32::from_ne_bytes(field(8)),
    };
    let next = align4(len).min(buf.len());
    Ok((header, &buf[HEADER_LEN..len], &buf[next..]))
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

fn read_i32(buf: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(buf.get(..4)?.try_into().ok()?))
}

/// The kernel's extended-ACK message of an `NLMSG_ERROR`. `after_code` is
/// the payload after the error code: the echoed request (only its header
/// when `NLM_F_CAPPED`), then, with `NLM_F_ACK_TLVS`, the attributes.
fn error_extack(flags: u16, after_code: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        HEADER_LEN
    } else {
        u32::from_ne_bytes(after_code.get(..4)?.try_into().ok()?) as usize
    };
    tlv_message(after_code.get(align4(echoed)..)?)
}

/// `NLMSGERR_ATTR_MSG` among extended-ACK attributes.
fn tlv_message(tlvs: &[u8]) -> Option<String> {
    for nla in NlasIterator::new(tlvs) {
        let nla = nla.ok()?;
        if nla.kind() == NLMSGERR_ATTR_MSG {
            let value = nla.value();
            let text = value.split(|&b| b == 0).next().unwrap_or(value);
            return Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = HEADER_LEN + payload.len();
        let mut out = Vec::new();
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(payload);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn splits_a_datagram_into_messages() {
        let mut datagram = nlmsg(16, NLM_F_MULTIPART, 7, &[1, 2, 3]);
        datagram.extend(nlmsg(NLMSG_DONE, NLM_F_MULTIPART, 7, &0i32.to_ne_bytes()));
        let (h, payload, rest) = split_message(&datagram).unwrap();
        assert_eq!((h.message_type, h.sequence_number), (16, 7));
        assert_eq!(payload, &[1, 2, 3]);
        let (h, payload, rest) = split_message(rest).unwrap();
        assert_eq!(h.message_type, NLMSG_DONE);
        assert_eq!(payload, &0i32.to_ne_bytes());
        assert!(rest.is_empty());
    }

    #[test]
    fn rejects_truncated_messages() {
        assert!(split_message(&[0; 8]).is_err());
        let mut msg = nlmsg(16, 0, 1, &[0; 8]);
        msg.truncate(20);
        assert!(split_message(&msg).is_err());
        let mut msg = nlmsg(16, 0, 1, &[]);
        msg[0] = 4; // shorter than a header
        assert!(split_message(&msg).is_err());
    }

    #[test]
    fn extended_ack_message_capped_and_full() {
        let request_header = nlmsg(24, NLM_F_REQUEST, 3, &[0; 20]);
        let tlvs = nla(NLMSGERR_ATTR_MSG, b"Nexthop has invalid gateway\0");

        // NETLINK_CAP_ACK: only the request's header is echoed.
        let mut after_code = request_header[..HEADER_LEN].to_vec();
        after_code.extend(&tlvs);
        assert_eq!(
            error_extack(NLM_F_ACK_TLVS | NLM_F_CAPPED, &after_code).as_deref(),
            Some("Nexthop has invalid gateway")
        );

        // Without it, the whole request comes back before the attributes.
        let mut after_code = request_header.clone();
        after_code.extend(&tlvs);
        assert_eq!(
            error_extack(NLM_F_ACK_TLVS, &after_code).as_deref(),
            Some("Nexthop has invalid gateway")
        );

        // No NLM_F_ACK_TLVS: nothing to read, whatever follows.
        assert_eq!(error_extack(0, &after_code), None);
        // Garbage must not panic.
        assert_eq!(error_extack(NLM_F_ACK_TLVS, &[0xff; 3]), None);
        assert_eq!(
            error_extack(NLM_F_ACK_TLVS | NLM_F_CAPPED, &[0xff; 21]),
            None
        );
    }

    #[test]
    fn failures_become_errors_with_the_operation() {
        let e = Failure::Kernel {
            errno: libc::ENETUNREACH,
            extack: Some("Nexthop has invalid gateway".into()),
        }
        .into_error("adding route default via 203.0.113.1".into());
        assert_eq!(
            e.to_string(),
            "adding route default via 203.0.113.1: Network is unreachable (Nexthop has invalid gateway)"
        );
    }
}
