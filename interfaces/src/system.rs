//! The network interfaces this namespace has, as ifupdown sees them for
//! interface patterns (`/eth*`, `mac/00:11:*`): `getifaddrs` order, each name
//! once at the place of its last entry, and attributes read from sysfs.

use crate::pattern::fnmatch;
use std::collections::HashMap;
use std::ffi::CStr;

/// Interface names in ifupdown's order. Empty if the kernel cannot be asked.
pub fn system_interfaces() -> Vec<String> {
    let mut names = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we only read and then free.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return names;
        }
        let mut cur = head;
        while !cur.is_null() {
            let name = (*cur).ifa_name;
            if !name.is_null() {
                names.push(CStr::from_ptr(name).to_string_lossy().into_owned());
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(head);
    }
    // ifupdown marks every entry that has a later one of the same name.
    let last: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    names
        .iter()
        .enumerate()
        .filter(|(i, n)| last[n.as_str()] == *i)
        .map(|(_, n)| n.clone())
        .collect()
}

/// ifupdown's `variable_match`: whether a line of
/// `/sys/class/net/IFACE/VARIABLE` (`mac` means `address`) matches `pattern`.
pub fn sysfs_attribute_matches(iface: &str, variable: &str, pattern: &str) -> bool {
    let variable = if variable.eq_ignore_ascii_case("mac") {
        "address"
    } else {
        variable
    };
    let path = format!("/sys/class/net/{iface}/{variable}");
    if pattern == "*" {
        // ifupdown 0.8.41 returns access()'s result here, so `*` matches
        // exactly when the attribute does NOT exist.
        return std::fs::metadata(&path).is_err();
    }
    let Ok(content) = std::fs::read(&path) else {
        return false;
    };
    String::from_utf8_lossy(&content)
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .any(|line| fnmatch(pattern, line, true))
}
