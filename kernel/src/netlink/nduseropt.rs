//! The DNS options of IPv6 router advertisements (RFC 8106), as the kernel
//! passes them on.
//!
//! The kernel configures addresses and routes from a router advertisement
//! itself, but leaves the options it does not act on to user space: each one
//! goes out on `RTNLGRP_ND_USEROPT` as an `RTM_NEWNDUSEROPT` message, a
//! `struct nduseroptmsg` (family, pad, `nduseropt_opts_len`, ifindex, ICMPv6
//! type and code, padding: 16 bytes), the raw ND option(s), and the
//! `NDUSEROPT_SRCADDR` attribute (the router's address). That is how rdnssd
//! learns DNS servers, and how netconfd does. Only RDNSS (type 25: servers)
//! and DNSSL (type 31: the search list) are read; the others that travel this
//! way (prefix information, captive portal, PREF64) are skipped.
//!
//! netlink-packet-route has no type for these messages, so they are read by
//! hand here. What is in them came from the network, through a kernel that
//! only checked the options' lengths: every field is checked, a malformed
//! option is dropped (RFC 8106 says "silently discard"), and nothing panics.

use std::net::Ipv6Addr;
use std::time::Duration;

use netlink_packet_core::NlasIterator;
use serde::{Deserialize, Serialize};

/// `sizeof(struct nduseroptmsg)`.
const HEADER_LEN: usize = 16;
/// `NDUSEROPT_SRCADDR`: the address the advertisement came from.
const NDUSEROPT_SRCADDR: u16 = 1;
/// `ND_ROUTER_ADVERT`: the only ICMPv6 type the kernel sends options of.
const ICMPV6_ROUTER_ADVERTISEMENT: u8 = 134;
/// RFC 8106 option types.
const ND_OPT_RDNSS: u8 = 25;
const ND_OPT_DNSSL: u8 = 31;
/// RFC 1035: a label is at most 63 bytes, a name at most 255 on the wire,
/// which is 253 characters as text (no length bytes, no trailing dot).
const MAX_LABEL: usize = 63;
const MAX_NAME_TEXT: usize = 253;

/// How long an RDNSS server or DNSSL domain may be used, in seconds from
/// when the advertisement was received (RFC 8106, section 5): 0 means "stop
/// using it now", `u32::MAX` means for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NdLifetime(pub u32);

impl NdLifetime {
    /// All ones: no end.
    pub const INFINITE: NdLifetime = NdLifetime(u32::MAX);

    pub fn is_infinite(self) -> bool {
        self == NdLifetime::INFINITE
    }

    /// Lifetime 0: the router withdraws the entry.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The time it lasts; `None` for ever.
    pub fn duration(self) -> Option<Duration> {
        (!self.is_infinite()).then(|| Duration::from_secs(u64::from(self.0)))
    }
}

/// The RDNSS and DNSSL options of one router advertisement on one
/// interface, as the kernel passed them on (usually one option per message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NdUserOption {
    /// The interface the advertisement arrived on.
    pub ifindex: u32,
    /// The router (the advertisement's source, normally link-local).
    pub router: Ipv6Addr,
    /// Recursive DNS servers, each with the lifetime of its option, in the
    /// order advertised. Unspecified and multicast addresses are left out.
    pub rdnss: Vec<(Ipv6Addr, NdLifetime)>,
    /// Search domains, lower case, without the trailing dot, each with the
    /// lifetime of its option, in the order advertised. Only names made of
    /// letters, digits, `-` and `_` are kept: they end up in resolv.conf,
    /// and a name with a space or a newline would add words or lines there.
    pub dnssl: Vec<(String, NdLifetime)>,
}

/// Why an `RTM_NEWNDUSEROPT` message could not be read at all. Problems of
/// a single option are not errors: that option is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdUserOptError {
    #[error("{0} bytes are too few for struct nduseroptmsg ({HEADER_LEN})")]
    Truncated(usize),
    #[error("the options ({len} bytes) run past the end of the message ({available} bytes left)")]
    OptionsPastEnd { len: usize, available: usize },
    #[error("interface index {0} is negative")]
    BadIndex(i32),
    #[error("an option's length runs past the options ({len} bytes, {available} left)")]
    OptionPastEnd { len: usize, available: usize },
    #[error("an option of length 0")]
    ZeroLengthOption,
    #[error("unreadable attributes: {0}")]
    Attributes(String),
    #[error("no NDUSEROPT_SRCADDR attribute (the router's address)")]
    NoRouter,
    #[error("NDUSEROPT_SRCADDR of {0} bytes, not 16")]
    BadRouter(usize),
}

/// Decodes the payload of an `RTM_NEWNDUSEROPT` message (after the netlink
/// header). `Ok(None)` for one that holds no DNS option (a prefix option,
/// all DNS options dropped as malformed) or is not about an IPv6 router
/// advertisement.
pub(super) fn decode(payload: &[u8]) -> Result<Option<NdUserOption>, NdUserOptError> {
    let header = payload
        .get(..HEADER_LEN)
        .ok_or(NdUserOptError::Truncated(payload.len()))?;
    let family = header[0];
    let opts_len = usize::from(u16::from_ne_bytes([header[2], header[3]]));
    let raw_index = i32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let icmp_type = header[8];
    if i32::from(family) != libc::AF_INET6 || icmp_type != ICMPV6_ROUTER_ADVERTISEMENT {
        return Ok(None);
    }
    let ifindex = u32::try_from(raw_index).map_err(|_| NdUserOptError::BadIndex(raw_index))?;
    let rest = &payload[HEADER_LEN..];
    let options = rest.get(..opts_len).ok_or(NdUserOptError::OptionsPastEnd {
        len: opts_len,
        available: rest.len(),
    })?;
    // The attributes start at the next 4-byte boundary (NLMSG_ALIGN).
    let attrs = payload
        .get((HEADER_LEN + opts_len).next_multiple_of(4)..)
        .unwrap_or_default();
    let router = router(attrs)?;

    let mut found = NdUserOption {
        ifindex,
        router,
        rdnss: Vec::new(),
        dnssl: Vec::new(),
    };
    let mut rest = options;
    // A trailing byte or two cannot hold an option header: ignored, as the
    // kernel's own option parser ignores them.
    while rest.len() >= 2 {
        let len = usize::from(rest[1]) * 8;
        if len == 0 {
            return Err(NdUserOptError::ZeroLengthOption);
        }
        let option = rest.get(..len).ok_or(NdUserOptError::OptionPastEnd {
            len,
            available: rest.len(),
        })?;
        rest = &rest[len..];
        let dropped = match option[0] {
            ND_OPT_RDNSS => rdnss(option, &mut found.rdnss),
            ND_OPT_DNSSL => dnssl(option, &mut found.dnssl),
            _ => None,
        };
        if let Some(why) = dropped {
            // From the network: worth a look when debugging, not a warning
            // anyone can fill the log with.
            tracing::debug!(ifindex, %router, option = option[0], "router advertisement option dropped: {why}");
        }
    }
    let any = !found.rdnss.is_empty() || !found.dnssl.is_empty();
    Ok(any.then_some(found))
}

/// The router's address from the attributes after the options.
fn router(attrs: &[u8]) -> Result<Ipv6Addr, NdUserOptError> {
    for nla in NlasIterator::new(attrs) {
        let nla = nla.map_err(|e| NdUserOptError::Attributes(e.to_string()))?;
        if nla.kind() == NDUSEROPT_SRCADDR {
            let bytes: [u8; 16] = nla
                .value()
                .try_into()
                .map_err(|_| NdUserOptError::BadRouter(nla.value().len()))?;
            return Ok(Ipv6Addr::from(bytes));
        }
    }
    Err(NdUserOptError::NoRouter)
}

/// The lifetime field of an RDNSS or DNSSL option (bytes 4 to 7, network
/// order); the caller has checked the option is at least 8 bytes.
fn lifetime(option: &[u8]) -> NdLifetime {
    NdLifetime(u32::from_be_bytes([
        option[4], option[5], option[6], option[7],
    ]))
}

/// RFC 8106 5.1: type, length (1 + 2 per address, in units of 8 bytes, so
/// odd and at least 3), reserved, lifetime, addresses. Appends the servers;
/// says why when the option is dropped.
fn rdnss(option: &[u8], out: &mut Vec<(Ipv6Addr, NdLifetime)>) -> Option<&'static str> {
    let units = option.len() / 8;
    if units < 3 {
        return Some("RDNSS shorter than one address");
    }
    if units % 2 == 0 {
        return Some("RDNSS length is not 1 + 2 per address");
    }
    let lifetime = lifetime(option);
    for chunk in option[8..].chunks_exact(16) {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(chunk);
        let addr = Ipv6Addr::from(bytes);
        // Neither can be asked anything.
        if addr.is_unspecified() || addr.is_multicast() {
            continue;
        }
        out.push((addr, lifetime));
    }
    None
}

/// RFC 8106 5.2: type, length (at least 2), reserved, lifetime, then domain
/// names in DNS wire format (RFC 1035 3.1, no compression), zero-padded.
/// Appends the names that are usable as search domains; drops the rest of
/// the option at the first name whose encoding is broken (where the next
/// name starts is unknown then).
fn dnssl(option: &[u8], out: &mut Vec<(String, NdLifetime)>) -> Option<&'static str> {
    if option.len() < 16 {
        return Some("DNSSL without room for a name");
    }
    let lifetime = lifetime(option);
    let mut rest = &option[8..];
    let mut dropped = None;
    while let Some((&first, _)) = rest.split_first() {
        // A zero length where a name would start is the padding.
        if first == 0 {
            rest = &rest[1..];
            continue;
        }
        match domain(rest) {
            Ok((name, after)) => {
                rest = after;
                match name {
                    Some(name) => out.push((name, lifetime)),
                    None => {
                        dropped = Some("DNSSL name with characters a search domain cannot have")
                    }
                }
            }
            Err(why) => return Some(why),
        }
    }
    dropped
}

/// One name in DNS wire format at the start of `wire`: the name as text
/// (`None` when it is well encoded but not a usable search domain) and what
/// follows it; an error when the encoding itself is broken.
fn domain(wire: &[u8]) -> Result<(Option<String>, &[u8]), &'static str> {
    let mut text = String::new();
    let mut usable = true;
    let mut rest = wire;
    loop {
        let (&len, after) = rest.split_first().ok_or("DNSSL name without its end")?;
        let len = usize::from(len);
        if len == 0 {
            let name = (usable && !text.is_empty() && text.len() <= MAX_NAME_TEXT).then_some(text);
            return Ok((name, after));
        }
        // 0xC0 is a compression pointer, 0x40 and 0x80 are extended label
        // types: none belongs in a DNSSL option.
        if len > MAX_LABEL {
            return Err("DNSSL name with a compression pointer or a label over 63 bytes");
        }
        let label = after.get(..len).ok_or("DNSSL label runs past the option")?;
        rest = &after[len..];
        usable &= label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        // Bounded by the option's length (2040 bytes at most).
        if usable {
            if !text.is_empty() {
                text.push('.');
            }
            text.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: &str = "fe80::1841:c0ff:fe81:c775";

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    /// An `RTM_NEWNDUSEROPT` payload as the kernel builds it
    /// (`ndisc_ra_useropt`): header, options, padding, `NDUSEROPT_SRCADDR`.
    fn message(ifindex: i32, options: &[u8], router: Option<&[u8]>) -> Vec<u8> {
        let mut out = vec![libc::AF_INET6 as u8, 0];
        out.extend_from_slice(&(options.len() as u16).to_ne_bytes());
        out.extend_from_slice(&ifindex.to_ne_bytes());
        out.extend_from_slice(&[ICMPV6_ROUTER_ADVERTISEMENT, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(options);
        out.resize(out.len().next_multiple_of(4), 0);
        if let Some(router) = router {
            out.extend_from_slice(&((4 + router.len()) as u16).to_ne_bytes());
            out.extend_from_slice(&NDUSEROPT_SRCADDR.to_ne_bytes());
            out.extend_from_slice(router);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    fn ra(options: &[u8]) -> Vec<u8> {
        message(3, options, Some(&v6(ROUTER).octets()))
    }

    fn rdnss_option(lifetime: u32, servers: &[&str]) -> Vec<u8> {
        let units = 1 + 2 * servers.len();
        let mut out = vec![ND_OPT_RDNSS, units as u8, 0, 0];
        out.extend_from_slice(&lifetime.to_be_bytes());
        for s in servers {
            out.extend_from_slice(&v6(s).octets());
        }
        out
    }

    /// `names` as DNS wire format, padded to 8 bytes.
    fn dnssl_option(lifetime: u32, names: &[&str]) -> Vec<u8> {
        let mut wire = Vec::new();
        for name in names {
            for label in name.split('.') {
                wire.push(label.len() as u8);
                wire.extend_from_slice(label.as_bytes());
            }
            wire.push(0);
        }
        dnssl_raw(lifetime, &wire)
    }

    fn dnssl_raw(lifetime: u32, wire: &[u8]) -> Vec<u8> {
        let mut out = vec![ND_OPT_DNSSL, 0, 0, 0];
        out.extend_from_slice(&lifetime.to_be_bytes());
        out.extend_from_slice(wire);
        out.resize(out.len().next_multiple_of(8), 0);
        out[1] = (out.len() / 8) as u8;
        out
    }

    fn decoded(payload: &[u8]) -> NdUserOption {
        decode(payload).unwrap().unwrap()
    }

    /// What Linux 6.18 passed on from dnsmasq 2.90's advertisement
    /// (`--dhcp-option=option6:dns-server,[2001:db8:1::53]`,
    /// `option6:domain-search,example.test,lab.example.test`, no lease time,
    /// so lifetimes for ever), whole datagrams with their netlink header.
    #[test]
    fn real_kernel_messages() {
        let fixture = |name: &str| {
            let path = format!(
                "{}/tests/fixtures/notifications/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            std::fs::read(path).unwrap()
        };
        let rdnss = fixture("nduseropt-rdnss.bin");
        let got = decoded(&rdnss[16..]);
        assert_eq!(got.ifindex, 2);
        assert_eq!(got.router, v6(ROUTER));
        assert_eq!(got.rdnss, [(v6("2001:db8:1::53"), NdLifetime::INFINITE)]);
        assert!(got.dnssl.is_empty());

        let dnssl = fixture("nduseropt-dnssl.bin");
        let got = decoded(&dnssl[16..]);
        assert_eq!(
            got.dnssl,
            [
                ("example.test".to_string(), NdLifetime::INFINITE),
                ("lab.example.test".to_string(), NdLifetime::INFINITE)
            ]
        );
        assert!(got.rdnss.is_empty());

        // Prefix information comes the same way: not ours.
        let prefix = fixture("nduseropt-prefix.bin");
        assert_eq!(decode(&prefix[16..]), Ok(None));
    }

    #[test]
    fn several_servers_and_options_in_one_message() {
        let mut options = rdnss_option(600, &["2001:db8:1::53", "2001:db8:1::54", "fe80::53"]);
        options.extend(dnssl_option(0, &["Example.TEST", "b_c.example.test"]));
        let got = decoded(&ra(&options));
        assert_eq!(
            got.rdnss,
            [
                (v6("2001:db8:1::53"), NdLifetime(600)),
                (v6("2001:db8:1::54"), NdLifetime(600)),
                (v6("fe80::53"), NdLifetime(600)),
            ]
        );
        assert_eq!(
            got.dnssl,
            [
                ("example.test".to_string(), NdLifetime(0)),
                ("b_c.example.test".to_string(), NdLifetime(0)),
            ]
        );
        assert!(got.dnssl[0].1.is_zero());
        assert_eq!(NdLifetime(600).duration(), Some(Duration::from_secs(600)));
        assert_eq!(NdLifetime::INFINITE.duration(), None);
    }

    #[test]
    fn useless_servers_are_left_out() {
        let got = decoded(&ra(&rdnss_option(60, &["::", "ff02::1", "2001:db8::53"])));
        assert_eq!(got.rdnss, [(v6("2001:db8::53"), NdLifetime(60))]);
    }

    #[test]
    fn malformed_options_are_dropped_alone() {
        let good = dnssl_option(60, &["example.test"]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            // Length 2: no room for an address.
            ("short rdnss", {
                let mut o = rdnss_option(60, &["2001:db8::53"]);
                o.truncate(16);
                o[1] = 2;
                o
            }),
            // Length 4: an address and a half.
            ("even rdnss", {
                let mut o = rdnss_option(60, &["2001:db8::53"]);
                o.extend_from_slice(&[0; 8]);
                o[1] = 4;
                o
            }),
            ("dnssl of 8 bytes", {
                let mut o = dnssl_option(60, &[]);
                o.truncate(8);
                o[1] = 1;
                o
            }),
            // A compression pointer.
            ("pointer", dnssl_raw(60, &[0xc0, 0x0c, 0])),
            // A label longer than 63 bytes.
            ("long label", {
                let mut wire = vec![64];
                wire.extend_from_slice(&[b'a'; 64]);
                wire.push(0);
                dnssl_raw(60, &wire)
            }),
            // A label that runs past the option.
            ("label past the end", dnssl_raw(60, &[7, b'e', b'x', b'a'])),
            // A name with no zero label before the option ends.
            // A name with no zero label before the option ends (16 bytes,
            // no padding).
            (
                "unterminated",
                dnssl_raw(60, &[4, b't', b'e', b's', b't', 2, b'x', b'y']),
            ),
        ];
        for (what, bad) in cases {
            let mut options = bad.clone();
            options.extend_from_slice(&good);
            let got = decoded(&ra(&options));
            assert_eq!(got.rdnss, [], "{what}");
            assert_eq!(
                got.dnssl,
                [("example.test".to_string(), NdLifetime(60))],
                "{what}"
            );
            // Alone, nothing is left.
            assert_eq!(decode(&ra(&bad)), Ok(None), "{what}");
        }
    }

    /// Names that would add words or lines to resolv.conf are not search
    /// domains; the names around them are.
    #[test]
    fn names_resolv_conf_cannot_hold_are_skipped() {
        let wire: Vec<u8> = [
            &b"\x03a b\x04test\x00"[..],
            b"\x0cx\nnameserver\x00",
            b"\x04caf\xc3\x00",
            b"\x02ok\x04test\x00",
        ]
        .concat();
        let got = decoded(&ra(&dnssl_raw(30, &wire)));
        assert_eq!(got.dnssl, [("ok.test".to_string(), NdLifetime(30))]);
        // A name of 254 characters is one too many.
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        let just = format!("{}.{}", [label.as_str(); 3].join("."), "a".repeat(61));
        assert_eq!(just.len(), 253);
        let got = decoded(&ra(&dnssl_option(30, &[&long, &just])));
        assert_eq!(got.dnssl, [(just, NdLifetime(30))]);
    }

    #[test]
    fn unreadable_messages_are_errors() {
        let options = rdnss_option(60, &["2001:db8::53"]);
        let good = ra(&options);
        assert!(matches!(
            decode(&good[..10]),
            Err(NdUserOptError::Truncated(10))
        ));
        // The options say they are longer than the message.
        let mut long = good.clone();
        long[2..4].copy_from_slice(&200u16.to_ne_bytes());
        assert!(matches!(
            decode(&long),
            Err(NdUserOptError::OptionsPastEnd { .. })
        ));
        assert!(matches!(
            decode(&message(-1, &options, Some(&v6(ROUTER).octets()))),
            Err(NdUserOptError::BadIndex(-1))
        ));
        assert_eq!(
            decode(&message(3, &options, None)),
            Err(NdUserOptError::NoRouter)
        );
        assert_eq!(
            decode(&message(3, &options, Some(&[0xfe, 0x80, 0, 0]))),
            Err(NdUserOptError::BadRouter(4))
        );
        let mut zero = options.clone();
        zero[1] = 0;
        assert_eq!(decode(&ra(&zero)), Err(NdUserOptError::ZeroLengthOption));
        let mut past = options.clone();
        past[1] = 5;
        assert!(matches!(
            decode(&ra(&past)),
            Err(NdUserOptError::OptionPastEnd { .. })
        ));
    }

    #[test]
    fn other_families_and_messages_are_skipped() {
        let mut other = ra(&rdnss_option(60, &["2001:db8::53"]));
        other[0] = libc::AF_INET as u8;
        assert_eq!(decode(&other), Ok(None));
        let mut solicit = ra(&rdnss_option(60, &["2001:db8::53"]));
        solicit[8] = 133;
        assert_eq!(decode(&solicit), Ok(None));
    }

    /// Every prefix of a message and every single-byte change of it: an
    /// answer, never a panic.
    #[test]
    fn never_panics_on_cut_or_changed_bytes() {
        let mut options = rdnss_option(60, &["2001:db8::53", "2001:db8::54"]);
        options.extend(dnssl_option(60, &["example.test", "lab.example.test"]));
        let whole = ra(&options);
        for len in 0..=whole.len() {
            let _ = decode(&whole[..len]);
        }
        for at in 0..whole.len() {
            for value in [0u8, 1, 2, 3, 7, 8, 31, 63, 64, 0x7f, 0xc0, 0xff] {
                let mut changed = whole.clone();
                changed[at] = value;
                let _ = decode(&changed);
            }
        }
    }
}
