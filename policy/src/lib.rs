//! What chooses the network's configuration by events, after OpenSolaris
//! NWAM's repository (`../shared/reference/designs/nwam-repository.txt`), on
//! Debian's terms: the files under `/etc/netconf/` (profiles of interfaces(5)
//! stanzas with activation options, locations, external network modifiers),
//! read with file:line errors, and the pure decisions made from them — which
//! conditions hold on the facts the daemon gathers, which units, location and
//! modifiers should be active. No I/O on the kernel here: `netconfd` gathers
//! the facts and carries the decisions out.

pub mod activation;
pub mod conditions;
pub mod enms;
pub mod locations;
pub mod profiles;

pub use conditions::{evaluate, Combine, Condition, ConditionError, Facts, Subject, Test};
