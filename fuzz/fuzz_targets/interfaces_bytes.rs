//! interfaces(5) from arbitrary bytes: `parse_bytes` never panics, every
//! error has a location, the model round-trips through JSON, and what
//! `ifquery`/`ifup` compute from it does not panic (see
//! `netconf_fuzz::check_interfaces`). `scripts/fuzz` runs it with
//! `dicts/interfaces_bytes.dict`, the keywords of the grammar, and seeds
//! from valid files, so mutations of valid files are covered too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: netconf_fuzz::confine_reads(),
    |data: &[u8]| netconf_fuzz::check_interfaces(data)
);
