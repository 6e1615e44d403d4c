//! The DHCP hook's environment: `NAME=VALUE` lines (as in
//! `methods/tests/fixtures/*-env/*.env`) into each client's `parse_event`
//! (dhclient's, dhcpcd's, udhcpc's); an event one accepts goes through
//! everything the daemon does with it before touching the kernel: the plan,
//! each lease's desired state and DNS, what is left of it, the host name
//! rule, and a JSON round trip of the event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netconf_methods::dhcp_client::ClientKind;
use netconf_methods::lease::{
    desired_v4, desired_v6, hostname_to_set, plan, unchanged, DhcpEvent, Lease, LeaseError,
};

fuzz_target!(|data: &[u8]| {
    let env = netconf_fuzz::env_from_bytes(data);
    for kind in ClientKind::DEBIAN_ORDER {
        check(kind, &env);
    }
});

fn check(kind: ClientKind, env: &[(String, String)]) {
    let event = match kind.parse_event(env) {
        Ok(event) => event,
        Err(e) => {
            // An error names what is wrong.
            match &e {
                LeaseError::UnknownReason(_) => {}
                LeaseError::Missing { var, why } | LeaseError::Invalid { var, why, .. } => {
                    assert!(!var.is_empty() && !why.is_empty(), "{e:?}");
                }
            }
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let _ = plan(&event);
    let metric = event.extra("IF_METRIC").and_then(|m| m.parse().ok());
    for lease in [&event.new, &event.old, &event.cur].into_iter().flatten() {
        match lease {
            Lease::V4(l) => {
                let _ = desired_v4(l, metric);
                let _ = desired_v4(l, Some(u32::MAX));
                let _ = l.dns();
                for now in [0, l.expiry.unwrap_or(0), u64::MAX] {
                    let _ = l.remaining(now);
                }
                for current in ["", "localhost", "host"] {
                    let _ = hostname_to_set(current, event.old_v4(), l);
                }
            }
            Lease::V6(l) => {
                let _ = desired_v6(l);
                let _ = l.dns();
            }
        }
    }
    if let (Some(old), Some(new)) = (&event.old, &event.new) {
        let _ = unchanged(old, new);
    }
    let json = serde_json::to_string(&event).expect("event serialises");
    let back: DhcpEvent = serde_json::from_str(&json).expect("event deserialises");
    assert_eq!(back, event, "event after a JSON round trip");
}
