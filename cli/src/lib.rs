//! The command-line clients of netconf: `ifquery` today; `ifup`, `ifdown`,
//! `ifreload` and `netconfctl` talk to netconfd once it exists. Each binary
//! in `src/bin` is a thin wrapper around its module here.

pub mod ifquery;
pub mod usage;
