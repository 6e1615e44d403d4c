//! dhclient's lease file, read back when netconfd catches up on a renewal
//! it missed (`dhclient::leases`): any bytes as the file; the newest lease
//! of `cli0`, if one is found, goes through `parse_event` as the script's
//! environment would, and an accepted one through the lease's desired state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netconf_methods::dhclient::{leases, parse_event};
use netconf_methods::lease::desired_v4;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Some(env) = leases::latest(&text, "cli0", "RENEW") else {
        return;
    };
    assert!(env.iter().all(|(name, _)| !name.is_empty()));
    if let Ok(event) = parse_event(&env) {
        if let Some(lease) = event.new_v4() {
            let _ = desired_v4(lease, None);
            let _ = lease.dns();
        }
    }
});
