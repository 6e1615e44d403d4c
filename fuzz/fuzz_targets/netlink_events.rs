//! One datagram from the kernel's rtnetlink notification socket:
//! `netlink::decode_notifications` never panics, what it decodes
//! serialises, and the events apply to a `Mirror` (starting empty, all of
//! one datagram in turn) whose reported changes can be printed. Router
//! advertisement DNS options (`RTM_NEWNDUSEROPT`) keep their promises:
//! something in each, no unspecified or multicast server, and search
//! domains that resolv.conf can hold (1 to 253 characters of lower-case
//! letters, digits, `-`, `_` and inner dots).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netconf_kernel::mirror::Mirror;
use netconf_kernel::netlink::{decode_notifications, Event};

fuzz_target!(|data: &[u8]| {
    let events = decode_notifications(data);
    let mut mirror = Mirror::default();
    for event in &events {
        let json = match event {
            Event::NewLink(l) | Event::DelLink(l) => serde_json::to_string(l),
            Event::NewAddress(a) | Event::DelAddress(a) => serde_json::to_string(a),
            Event::NewRoute(r) | Event::ReplaceRoute(r) | Event::DelRoute(r) => {
                serde_json::to_string(r)
            }
            Event::NdUserOption(o) => {
                assert!(!o.rdnss.is_empty() || !o.dnssl.is_empty(), "{o:?}");
                for (server, _) in &o.rdnss {
                    assert!(!server.is_unspecified() && !server.is_multicast(), "{o:?}");
                }
                for (name, _) in &o.dnssl {
                    let fine = (1..=253).contains(&name.len())
                        && !name.starts_with('.')
                        && !name.ends_with('.')
                        && !name.contains("..")
                        && name.bytes().all(|b| {
                            b.is_ascii_lowercase()
                                || b.is_ascii_digit()
                                || matches!(b, b'-' | b'_' | b'.')
                        });
                    assert!(fine, "search domain {name:?} of {o:?}");
                }
                serde_json::to_string(o)
            }
            Event::RaFlags(f) => serde_json::to_string(f),
            Event::Overrun => Ok(String::new()),
        };
        json.expect("a decoded event serialises");
        let _ = mirror.apply_reporting(event, |change| {
            let _ = change.to_string();
        });
    }
    let _ = mirror.links().count() + mirror.addresses().count() + mirror.routes().count();
});
