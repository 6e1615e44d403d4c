//! What needs a full kernel (bonding, 8021q, dummy, tunnels, vrf, ppp,
//! can, ...): the suite of the VM test bed, one module per subject. Every test is `#[ignore]`d: this machine's
//! kernel lacks those modules, and `scripts/test` runs the suite inside a
//! VM booting Debian's own kernel (`scripts/vm-run`, docs/TESTING.md):
//!
//! ```sh
//! cargo test -p netconf-tests --test full_kernel --no-run   # prints the binary
//! scripts/vm-run target/debug/deps/full_kernel-HASH --ignored --test-threads=1
//! ```
//!
//! Each test as in `tests/links.rs`: netconfd in a network namespace of the
//! test's own (`netconf_tests::Harness`), the real `ifup` and `ifdown`, and
//! the kernel's view (`ip -j -d link`) as the judge: up with every
//! attribute, a second `ifup` writing nothing (an `ip monitor` fenced by
//! markers sees no event), `ifdown` leaving the links that were there
//! before and nothing else. Where the kernel cannot make the link kind the
//! test fails, saying so: this suite exists to run on a kernel that can.
//!
//! Addresses come from the documentation and benchmarking ranges only.
//! Needs root.

use netconf_tests::links::kernel_makes;
pub(crate) use netconf_tests::round_trip::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs,
};
use netconf_tests::Netns;

mod bonds_vlans;
mod bonds_vlans_differential;
mod dialects;
mod dialects_vm;
mod dialup;
mod link_kinds;
mod tunnels;
mod wireless;

/// Fails, loudly, unless the kernel makes such a link.
pub(crate) fn require_kernel_makes(ns: &Netns, what: &str, args: &[&str]) {
    if let Err(why) = kernel_makes(ns, args) {
        panic!(
            "this kernel ({}) makes no {what} (`ip link add nctprobe {}`: {why}): run this \
             suite in the VM, scripts/vm-run",
            kernel_release(),
            args.join(" ")
        );
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}
