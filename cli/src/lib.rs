//! The command-line clients of netconf: `ifup` and `ifdown` (requests to
//! netconfd over its control socket), and `ifquery` (reads the configuration
//! itself). Each binary in `src/bin` is a thin wrapper around its module here.

pub mod ifquery;
pub mod ifupdown;
pub mod options;
pub mod usage;
