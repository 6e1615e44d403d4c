//! End-to-end tests of netconf's binaries; the tests live in `tests/`.
