//! One datagram from the kernel's rtnetlink notification socket:
//! `netlink::decode_notifications` never panics, what it decodes
//! serialises, and the events apply to a `Mirror` (starting empty, all of
//! one datagram in turn) whose reported changes can be printed.
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
            Event::Overrun => Ok(String::new()),
        };
        json.expect("a decoded event serialises");
        let _ = mirror.apply_reporting(event, |change| {
            let _ = change.to_string();
        });
    }
    let _ = mirror.links().count() + mirror.addresses().count() + mirror.routes().count();
});
