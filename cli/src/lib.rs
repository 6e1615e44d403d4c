//! The command-line clients of netconf: `ifup`, `ifdown`, `ifreload` and
//! `netconfctl` (requests to netconfd over its control socket), and
//! `ifquery` (reads the configuration, and for `--running`/`--check` the
//! kernel, itself). Each binary in `src/bin` is a thin wrapper around its
//! module here.

pub mod bonds_vlans;
pub mod check;
pub mod graph;
pub mod ifquery;
pub mod ifreload;
pub mod ifupdown;
pub mod ifupdown2_report;
pub mod kernel_view;
pub mod link_kinds;
pub mod ncftool;
pub mod netconfctl;
pub mod options;
pub mod running;
pub mod tunnels;
pub mod usage;
