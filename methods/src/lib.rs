//! Methods: what turns a stanza (or a DHCP lease) into the kernel state it
//! asks for, and writes only the difference.
//!
//! * [`provider`]: the [`Provider`](provider::Provider) trait, the
//!   [`Desired`](provider::Desired) state, and the lookup of a stanza's
//!   family and method ([`provider_for`](provider::provider_for));
//! * one file per method: [`loopback`], [`manual`], [`static_`], [`dhcp`]
//!   (`inet dhcp`, `inet6 dhcp`, `inet6 auto`), [`can`] (`can static`),
//!   [`tunnel`] (Debian's tunnel methods); the methods that run a
//!   program of Debian's, [`ppp`] (`inet ppp`, `inet wvdial`), [`ipv4ll`]
//!   and [`bootp`], with what they share in [`program`];
//! * the DHCP clients, behind one hook: [`dhcp_client`] (the spec of one,
//!   its start, ours and foreign ones told apart in /proc), then one file
//!   per client: [`dhclient`], [`dhcpcd`], [`udhcpc`], [`dhcpcanon`] (its
//!   command line, and its script's environment read into the shared lease
//!   model, [`lease`]);
//! * [`links`]: the link a stanza creates (bridge, bond, vlan, macvlan,
//!   veth, vxlan, ...) from its options, with [`wireguard`] (ifupdown-ng's
//!   `use wireguard`: the link, and the `wg setconf` that configures it);
//! * [`apply`]: the difference between wanted and present state, written
//!   through `netconf_kernel`, and recorded so that it can be taken back.
//!
//! Nothing here knows of sockets, queues or the daemon; the kernel is
//! `netconf_kernel`'s, hook scripts are `netconf_hooks`', DNS `netconf_dns`'.

pub mod apply;
pub mod bootp;
pub mod can;
pub mod dhclient;
pub mod dhcp;
pub mod dhcp_client;
pub mod dhcp_release;
pub mod dhcpcanon;
pub mod dhcpcd;
pub mod ipv4ll;
pub mod lease;
pub mod links;
pub mod loopback;
pub mod manual;
pub mod ppp;
pub mod program;
pub mod provider;
pub mod static_;
pub mod tunnel;
pub mod udhcpc;
pub mod wireguard;
