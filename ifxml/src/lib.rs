//! Interfaces as documents, after netcf: one XML document per connection (a
//! bridge or bond with the links under it, or a lone ethernet or vlan), in
//! the format of netcf's `interface.rng` (serial 4) that libvirt's
//! `virsh iface-*` uses. This crate reads and validates those documents
//! ([`xml`]), turns them into interfaces(5) stanzas in the style netcf's
//! Debian driver wrote and back ([`stanzas`]), writes the stanzas into the
//! configuration files keeping every other byte ([`edit`]), and keeps the
//! snapshot behind `change-begin`/`change-rollback` ([`transaction`]);
//! [`connection`] holds the define and undefine that ncftool and netconfd
//! share.

pub mod connection;
pub mod document;
pub mod edit;
pub mod stanzas;
pub mod transaction;
pub mod xml;
