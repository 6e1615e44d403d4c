//! Providers: each method (`loopback`, `manual`, `static_`) turns a stanza
//! into the kernel state it asks for; `apply` writes only the difference over
//! `netlink` (the one module that speaks rtnetlink) and records what it did;
//! `hooks` runs the stanza's commands and the if-*.d scripts as Debian does;
//! `mirror` keeps a live copy of the kernel's links, addresses and routes;
//! `links` reads the links a stanza creates (bridge, bond, vlan, macvlan,
//! veth, vxlan) from its options. Nothing here knows of sockets, queues or
//! the daemon.

pub mod apply;
pub mod dhclient;
pub mod dhcp;
pub mod hooks;
pub mod links;
pub mod loopback;
pub mod manual;
pub mod mirror;
pub mod netlink;
pub mod provider;
pub mod resolv;
pub mod static_;
