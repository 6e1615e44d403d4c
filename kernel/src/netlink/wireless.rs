//! The networks wireless links are associated with, from nl80211 over
//! generic netlink: what the `essid` condition of a location compares.
//! Only two requests are needed (the family's id from the generic netlink
//! controller, then `NL80211_CMD_GET_INTERFACE` of each link), so they are
//! built by hand here rather than pulling in a generic-netlink crate.

use std::io;

use netlink_sys::{protocols::NETLINK_GENERIC, Socket as SysSocket, SocketAddr};

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NL80211_CMD_GET_INTERFACE: u8 = 5;
const NL80211_ATTR_IFINDEX: u16 = 3;
const NL80211_ATTR_SSID: u16 = 52;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HEADER_LEN: usize = 16;
const GENL_HEADER_LEN: usize = 4;

/// The SSID each of these links (by index) is associated with; a link
/// that is not associated, or not wireless, has none. An empty answer when
/// the kernel has no nl80211 (no wireless driver loaded).
pub fn associated_ssids(indexes: &[u32]) -> io::Result<Vec<(u32, Vec<u8>)>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sock = SysSocket::new(NETLINK_GENERIC)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    let mut seq = 0;
    let family = {
        seq += 1;
        let name = attr(CTRL_ATTR_FAMILY_NAME, b"nl80211\0");
        match request(&mut sock, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, seq, &name)? {
            Answer::Attributes(attrs) => find(&attrs, CTRL_ATTR_FAMILY_ID)
                .and_then(|v| v.get(..2))
                .map(|v| u16::from_ne_bytes([v[0], v[1]])),
            Answer::Error(errno) => {
                tracing::debug!(errno, "no nl80211 family: no wireless driver is loaded");
                None
            }
        }
    };
    let Some(family) = family else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for &index in indexes {
        seq += 1;
        let body = attr(NL80211_ATTR_IFINDEX, &index.to_ne_bytes());
        if let Answer::Attributes(attrs) =
            request(&mut sock, family, NL80211_CMD_GET_INTERFACE, seq, &body)?
        {
            if let Some(ssid) = find(&attrs, NL80211_ATTR_SSID) {
                found.push((index, ssid.to_vec()));
            }
        }
    }
    Ok(found)
}

enum Answer {
    Attributes(Vec<u8>),
    /// The kernel's errno (positive): no such device, not wireless.
    Error(i32),
}

fn request(sock: &mut SysSocket, kind: u16, cmd: u8, seq: u32, body: &[u8]) -> io::Result<Answer> {
    let len = HEADER_LEN + GENL_HEADER_LEN + body.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&[cmd, 1, 0, 0]);
    msg.extend_from_slice(body);
    sock.send(&msg, 0)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut rx = &mut buf[..];
        let n = sock.recv(&mut rx, 0)?;
        if let Some(answer) = parse_answer(&buf[..n], seq) {
            return Ok(answer);
        }
    }
}

/// The answer to request `seq` in a datagram, if it holds one.
fn parse_answer(mut data: &[u8], seq: u32) -> Option<Answer> {
    while data.len() >= HEADER_LEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(data[4..6].try_into().ok()?);
        let got = u32::from_ne_bytes(data[8..12].try_into().ok()?);
        if len < HEADER_LEN || len > data.len() {
            return Some(Answer::Error(libc::EBADMSG));
        }
        let payload = &data[HEADER_LEN..len];
        data = &data[align(len).min(data.len())..];
        if got != seq {
            continue;
        }
        return Some(match kind {
            NLMSG_ERROR => {
                let code = i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?);
                Answer::Error(code.saturating_neg())
            }
            NLMSG_DONE => Answer::Error(libc::ENOENT),
            _ => Answer::Attributes(payload.get(GENL_HEADER_LEN..)?.to_vec()),
        });
    }
    None
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut out = Vec::with_capacity(align(len));
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(align(len), 0);
    out
}

/// The value of the first attribute of this type.
fn find(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let got = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if got == kind {
            return Some(&attrs[4..len]);
        }
        attrs = &attrs[align(len).min(attrs.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_found_after_padding() {
        let mut attrs = attr(NL80211_ATTR_IFINDEX, &7u32.to_ne_bytes());
        attrs.extend(attr(99, b"x"));
        attrs.extend(attr(NL80211_ATTR_SSID, b"Cafe"));
        assert_eq!(find(&attrs, NL80211_ATTR_SSID), Some(&b"Cafe"[..]));
        assert_eq!(find(&attrs, 99), Some(&b"x"[..]));
        assert_eq!(find(&attrs, 1), None);
        assert_eq!(find(&attrs[..5], 99), None, "a cut attribute is not read");
    }

    #[test]
    fn answers_are_matched_by_sequence() {
        let mut datagram = Vec::new();
        for (seq, payload) in [
            (1u32, attr(NL80211_ATTR_SSID, b"Old")),
            (2, attr(NL80211_ATTR_SSID, b"New")),
        ] {
            let len = HEADER_LEN + GENL_HEADER_LEN + payload.len();
            datagram.extend_from_slice(&(len as u32).to_ne_bytes());
            datagram.extend_from_slice(&30u16.to_ne_bytes());
            datagram.extend_from_slice(&0u16.to_ne_bytes());
            datagram.extend_from_slice(&seq.to_ne_bytes());
            datagram.extend_from_slice(&0u32.to_ne_bytes());
            datagram.extend_from_slice(&[NL80211_CMD_GET_INTERFACE, 1, 0, 0]);
            datagram.extend_from_slice(&payload);
        }
        let Some(Answer::Attributes(attrs)) = parse_answer(&datagram, 2) else {
            panic!("the second answer");
        };
        assert_eq!(find(&attrs, NL80211_ATTR_SSID), Some(&b"New"[..]));
        assert!(parse_answer(&datagram, 3).is_none());
    }

    #[test]
    fn no_links_asks_nothing() {
        assert!(associated_ssids(&[]).unwrap().is_empty());
    }
}
