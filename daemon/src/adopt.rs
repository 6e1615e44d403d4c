//! Adopting what is already configured when netconfd starts: an interface
//! that is up with an address of its own (IPv4, or IPv6 beyond link-local),
//! or is a port of a bridge or bond netconf does not manage, or is a bridge
//! someone made. Nothing is written: adopting only records. An interface
//! that matches its stanza is simply up (and `ifdown` takes down what the
//! stanza describes, as Debian would); one that does not, or has no stanza,
//! is left alone until an admin runs ifup, ifdown or ifreload on it. A port
//! of a bridge or bond netconf manages is part of its master's record.

use crate::dispatcher::{ChangeCtx, Dispatcher};
use crate::ifaces::{applied_from_desired, is_dhcp, stanza_config};
use crate::state::{IfaceRecord, StanzaRecord};
use crate::status::kernel_address;
use netconf_kernel::mirror::Mirror;
use netconf_kernel::netlink::Link;
use netconf_methods::provider::{provider_for, Desired};
use std::sync::Arc;
use tracing::info;

/// Whether someone configured `link`: what NetworkManager 0.9.10 took as
/// "leave it alone".
fn configured(mirror: &Mirror, link: &Link) -> bool {
    let own_address = || mirror.addresses_of(link.index).any(|a| !kernel_address(a));
    link.kind.as_deref() == Some("bridge") || (link.up && (link.master.is_some() || own_address()))
}

/// What of `desired` the kernel lacks on `link`, one sentence each.
fn missing(mirror: &Mirror, link: &Link, desired: &Desired) -> Vec<String> {
    let mut diffs = Vec::new();
    if desired.link.up && !link.up {
        diffs.push("link is down".to_string());
    }
    if let Some(mtu) = desired.link.mtu.filter(|m| *m != link.mtu) {
        diffs.push(format!("mtu is {}, not {mtu}", link.mtu));
    }
    for want in &desired.addresses {
        let present = mirror
            .addresses_of(link.index)
            .any(|a| a.addr == want.addr && a.prefix_len == want.prefix_len);
        if !present {
            diffs.push(format!(
                "address {}/{} is missing",
                want.addr, want.prefix_len
            ));
        }
    }
    for want in &desired.routes {
        if !mirror.routes_of(link.index).any(|r| want.matches(r)) {
            diffs.push(format!("route {want} is missing"));
        }
    }
    diffs
}

/// Whether `link` is a port of a bridge or bond that netconf has a record
/// of, or adopts now (`adopting`): a port without a stanza of its own
/// belongs to its master's configuration (as before netconfd restarted,
/// or as the master's stanza says), it was not configured outside netconf.
fn port_of_managed(d: &Dispatcher, mirror: &Mirror, link: &Link, adopting: &[IfaceRecord]) -> bool {
    link.master.is_some_and(|master| {
        d.state
            .interfaces
            .iter()
            .chain(adopting)
            .any(|r| r.ifindex == Some(master))
            || mirror
                .link(master)
                .is_some_and(|m| d.state.get(&m.name).is_some())
    })
}

/// Records every configured interface netconf has no record of.
pub fn adopt(d: &mut Dispatcher) {
    let Ok(kernel) = d.kernel.as_ref() else {
        return;
    };
    let mirror = &kernel.mirror;
    let ctx = Arc::new(ChangeCtx {
        up: true,
        args: Default::default(),
        config: d.config.clone(),
        carried: Default::default(),
    });
    let mut records = Vec::new();
    let mut left_alone = Vec::new();
    // Ports after the other links: a port comes before its bridge in the
    // kernel's order (it existed first), and belongs to the bridge adopted
    // here (a bridge Debian's ifupdown and bridge-utils made, netconf
    // installed in ifupdown's place: scripts/boot-test's scenario 3).
    let mut links: Vec<&Link> = mirror.links().collect();
    links.sort_by_key(|l| l.master.is_some());
    for link in links {
        let name = link.name.as_str();
        if d.state.get(name).is_some()
            || !configured(mirror, link)
            || d.foreign_dhcp_client(name)
            || port_of_managed(d, mirror, link, &records)
        {
            continue;
        }
        let stanzas: Vec<_> = ctx.config.stanzas_named(name).collect();
        if stanzas.is_empty() {
            info!(
                iface = name,
                "configured outside netconf and not in the configuration: left alone"
            );
            left_alone.push((name.to_string(), Vec::new()));
            continue;
        }
        let mut diffs = Vec::new();
        let mut stanza_records = Vec::new();
        for stanza in &stanzas {
            let cfg = stanza_config(&ctx, stanza, name, name);
            let Some(provider) = provider_for(stanza.family, &stanza.method) else {
                diffs.push(format!(
                    "method {} {} is not supported",
                    stanza.family, stanza.method
                ));
                continue;
            };
            if is_dhcp(&cfg) {
                diffs.push("no dhclient of netconf's runs on it".to_string());
                continue;
            }
            match provider.desired(&cfg) {
                Ok(desired) => {
                    diffs.extend(missing(mirror, link, &desired));
                    stanza_records.push(StanzaRecord {
                        family: stanza.family,
                        method: stanza.method.clone(),
                        applied: applied_from_desired(name, &desired),
                        dhcp: None,
                    });
                }
                Err(e) => diffs.push(e.to_string()),
            }
        }
        if diffs.is_empty() {
            info!(
                iface = name,
                "configured as the file says: adopted as up, nothing changed"
            );
            records.push(IfaceRecord {
                phys: name.to_string(),
                logical: name.to_string(),
                stanzas: stanza_records,
                ifindex: Some(link.index),
                config: stanzas.into_iter().cloned().collect(),
                auto: ctx.config.in_class("auto", name),
                adopted: true,
                in_progress: None,
            });
        } else {
            info!(iface = name, differs = ?diffs, "configured outside netconf, not as the file says: left alone");
            left_alone.push((name.to_string(), diffs));
        }
    }
    if !records.is_empty() {
        for record in records {
            d.state.set(record);
        }
        d.save_state();
    }
    d.adopted.extend(left_alone);
}
