//! The command-line clients of netconf: `ifup`, `ifdown`, `ifreload` and
//! `netconfctl` (requests to netconfd over its control socket), and
//! `ifquery` (reads the configuration itself). Each binary in `src/bin` is a thin wrapper around its module here.

pub mod graph;
pub mod ifquery;
pub mod ifreload;
pub mod ifupdown;
pub mod netconfctl;
pub mod options;
pub mod usage;
