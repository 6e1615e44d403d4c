//! The command-line clients of netconf: `ifup` and `ifdown` (requests to
//! netconfd over its control socket), and `ifquery` (reads the configuration
//! itself). Each binary in `src/bin` is a thin wrapper around its module here.

pub mod check;
pub mod ifquery;
pub mod ifupdown;
pub mod kernel_view;
pub mod options;
pub mod running;
pub mod usage;
