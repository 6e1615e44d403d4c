//! Shell-style matching as ifupdown does it, through the C library's
//! `fnmatch`, so that patterns in `mapping`, `--exclude`, `no-scripts` and
//! interface patterns (`/eth*`, with `FNM_EXTMATCH`) behave exactly alike.

use std::ffi::CString;

/// glibc's `FNM_EXTMATCH`: ksh-style `+(...)`, `!(...)` and friends.
const FNM_EXTMATCH: libc::c_int = 1 << 5;

/// Whether `name` matches `pattern`; `extended` adds ksh-style patterns.
pub fn fnmatch(pattern: &str, name: &str, extended: bool) -> bool {
    // Values come from C strings in ifupdown; a NUL cannot match anything there.
    let (Ok(pattern), Ok(name)) = (CString::new(pattern), CString::new(name)) else {
        return false;
    };
    let flags = if extended { FNM_EXTMATCH } else { 0 };
    // SAFETY: both pointers are valid NUL-terminated strings for the call.
    unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), flags) == 0 }
}

/// Whether any of `patterns` matches `name` (ifupdown's `match_patterns`).
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| fnmatch(p, name, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(fnmatch("eth*", "eth0", false));
        assert!(!fnmatch("eth?", "eth10", false));
        assert!(fnmatch("+(eth|wlan)[0-9]", "wlan3", true));
        assert!(!fnmatch("a\0", "a", false));
    }
}
