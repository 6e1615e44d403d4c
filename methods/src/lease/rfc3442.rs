//! DHCP option 121, classless static routes (RFC 3442), as dhclient hands it
//! to its script in `new_rfc3442_classless_static_routes` ([`decode`]), and
//! as dhcpcd and udhcpc print it ([`decode_pairs`]).
//!
//! Debian's `/etc/dhcp/dhclient.conf` declares the option as
//! `array of unsigned integer 8`, so dhclient prints the raw option bytes in
//! decimal, separated by spaces (`16 198 19 198 18 0 1 0 198 18 0 1`, as in
//! every captured fixture). In its lease file dhclient separates them with
//! commas, and an option it has no declaration for comes out as colon-separated
//! hex (`10:c6:13:…`); both are accepted too, because reading a lease file or
//! running with a dhclient.conf without the declaration must not misread the
//! routes.
//!
//! Each route is: the prefix width (0 to 32), then only the significant
//! octets of the destination (`ceil(width / 8)` of them), then the 4 octets of
//! the router; router 0.0.0.0 means the destination is on the link.

use std::net::Ipv4Addr;

/// A route from option 121: destination, prefix width, router (0.0.0.0 for
/// on-link).
pub type ClasslessRoute = (Ipv4Addr, u8, Ipv4Addr);

/// Why option 121 could not be read; the caller adds the variable and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) String);

/// Decodes the option as dhclient prints it. Destination bits beyond the
/// width are cleared (the kernel refuses a route whose prefix has host bits
/// set; Debian's hook would then silently lose that route), so a sloppy
/// server still gets the route it meant.
pub(crate) fn decode(text: &str) -> Result<Vec<ClasslessRoute>, DecodeError> {
    let bytes = octets(text)?;
    let mut routes = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((&width, tail)) = rest.split_first() {
        if width > 32 {
            return Err(DecodeError(format!(
                "prefix width {width} is more than 32 (route {})",
                routes.len() + 1
            )));
        }
        let significant = usize::from(width).div_ceil(8);
        if tail.len() < significant + 4 {
            return Err(DecodeError(format!(
                "route {} (/{width}) is cut short: it needs {} more octets, {} left",
                routes.len() + 1,
                significant + 4,
                tail.len()
            )));
        }
        let mut dest = [0u8; 4];
        dest[..significant].copy_from_slice(&tail[..significant]);
        let mask = if width == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(width))
        };
        let dest = Ipv4Addr::from(u32::from_be_bytes(dest) & mask);
        let gw = &tail[significant..significant + 4];
        let router = Ipv4Addr::new(gw[0], gw[1], gw[2], gw[3]);
        routes.push((dest, width, router));
        rest = &tail[significant + 4..];
    }
    Ok(routes)
}

/// Decodes the option as dhcpcd (`classless_static_routes`) and udhcpc
/// (`staticroutes`) print it: `DEST/WIDTH ROUTER` pairs separated by spaces
/// (`198.19.0.0/16 198.18.0.1 0.0.0.0/0 198.18.0.1`). Host bits beyond the
/// width are cleared, as in [`decode`].
pub(crate) fn decode_pairs(text: &str) -> Result<Vec<ClasslessRoute>, DecodeError> {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    if words.len() % 2 != 0 {
        return Err(DecodeError(format!(
            "{} words: a route is a DEST/WIDTH and a router",
            words.len()
        )));
    }
    words
        .chunks(2)
        .map(|pair| {
            let (dest, width) = pair[0]
                .split_once('/')
                .and_then(|(d, w)| Some((d.parse::<Ipv4Addr>().ok()?, w.parse::<u8>().ok()?)))
                .filter(|&(_, w)| w <= 32)
                .ok_or_else(|| {
                    DecodeError(format!("`{}` is not DEST/WIDTH (width 0 to 32)", pair[0]))
                })?;
            let router = pair[1]
                .parse::<Ipv4Addr>()
                .map_err(|_| DecodeError(format!("`{}` is not a router address", pair[1])))?;
            let mask = u32::MAX.checked_shl(32 - u32::from(width)).unwrap_or(0);
            Ok((Ipv4Addr::from(u32::from(dest) & mask), width, router))
        })
        .collect()
}

/// The option's bytes: decimal separated by blanks or commas, or hex
/// separated by colons.
fn octets(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim();
    if text.contains(':') {
        return text
            .split(':')
            .map(|part| {
                u8::from_str_radix(part.trim(), 16)
                    .map_err(|_| DecodeError(format!("`{part}` is not a hex octet")))
            })
            .collect();
    }
    text.split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<u8>()
                .map_err(|_| DecodeError(format!("`{part}` is not an octet (0 to 255)")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pairs() {
        use super::decode_pairs;
        use std::net::Ipv4Addr;
        let gw = Ipv4Addr::new(198, 18, 0, 1);
        assert_eq!(
            decode_pairs("198.19.0.0/16 198.18.0.1 0.0.0.0/0 198.18.0.1").unwrap(),
            vec![
                (Ipv4Addr::new(198, 19, 0, 0), 16, gw),
                (Ipv4Addr::UNSPECIFIED, 0, gw)
            ]
        );
        assert_eq!(
            decode_pairs("198.19.1.7/16 0.0.0.0").unwrap()[0].0,
            Ipv4Addr::new(198, 19, 0, 0)
        );
        assert_eq!(decode_pairs("").unwrap(), vec![]);
        for bad in [
            "198.19.0.0/16",
            "198.19.0.0/33 198.18.0.1",
            "x/1 198.18.0.1",
            "198.19.0.0/16 y",
        ] {
            assert!(decode_pairs(bad).is_err(), "{bad}");
        }
    }

    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn fixture_value() {
        assert_eq!(
            decode("16 198 19 198 18 0 1 0 198 18 0 1").unwrap(),
            vec![
                (ip("198.19.0.0"), 16, ip("198.18.0.1")),
                (ip("0.0.0.0"), 0, ip("198.18.0.1")),
            ]
        );
    }

    #[test]
    fn every_width_class() {
        // /32 host route via a router, /25 (4 octets), /24 (3), /17 (3),
        // /9 (2), /1 (1), on-link /24.
        let text = "32 203 0 113 7 198 18 0 1 \
                    25 203 0 113 128 198 18 0 1 \
                    24 198 51 100 198 18 0 1 \
                    17 198 19 128 198 18 0 1 \
                    9 198 128 198 18 0 1 \
                    1 128 198 18 0 1 \
                    24 203 0 113 0 0 0 0";
        assert_eq!(
            decode(text).unwrap(),
            vec![
                (ip("203.0.113.7"), 32, ip("198.18.0.1")),
                (ip("203.0.113.128"), 25, ip("198.18.0.1")),
                (ip("198.51.100.0"), 24, ip("198.18.0.1")),
                (ip("198.19.128.0"), 17, ip("198.18.0.1")),
                (ip("198.128.0.0"), 9, ip("198.18.0.1")),
                (ip("128.0.0.0"), 1, ip("198.18.0.1")),
                (ip("203.0.113.0"), 24, ip("0.0.0.0")),
            ]
        );
    }

    #[test]
    fn host_bits_beyond_the_width_are_cleared() {
        assert_eq!(
            decode("12 198 31 198 18 0 1").unwrap(),
            vec![(ip("198.16.0.0"), 12, ip("198.18.0.1"))]
        );
    }

    #[test]
    fn comma_and_colon_forms() {
        let want = vec![
            (ip("198.19.0.0"), 16, ip("198.18.0.1")),
            (ip("0.0.0.0"), 0, ip("198.18.0.1")),
        ];
        assert_eq!(decode("16,198,19,198,18,0,1,0,198,18,0,1").unwrap(), want);
        assert_eq!(decode("10:c6:13:c6:12:0:1:0:c6:12:0:1").unwrap(), want);
    }

    #[test]
    fn empty_is_no_routes() {
        assert_eq!(decode("").unwrap(), vec![]);
        assert_eq!(decode("   ").unwrap(), vec![]);
    }

    #[test]
    fn garbage_and_truncation() {
        for bad in [
            "16 198 19 198 18 0",      // router cut short
            "24 198 51",               // destination cut short
            "0 198 18 0",              // default route without a whole router
            "33 1 2 3 4 5 6 7 8",      // width
            "16 198 19 198 18 0 1 24", // a second route that is only a width
            "16 198 19 198 18 0 256",  // octet out of range
            "16 198 nineteen 198 18 0 1",
            "-1 0 0 0 0",
            "10:zz:13",
        ] {
            assert!(decode(bad).is_err(), "{bad} decoded");
        }
    }
}
