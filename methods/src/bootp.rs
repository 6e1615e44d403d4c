//! `inet bootp`: Debian runs `bootpc ... --returniffail --serverbcast`,
//! which asks a BOOTP server and prints what it learned as shell
//! assignments (`IPADDR='198.51.100.17'`, `NETMASK=...`, `GATEWAYS=...`)
//! but configures nothing: with Debian's ifupdown the stanza leaves the
//! interface without an address. netconf runs the same command and
//! applies the answer (address, netmask, broadcast, the first gateway as
//! the default route), by difference and recorded as the stanza's, so that
//! `ifdown` takes it out again. bootpc sends to 255.255.255.255, which the
//! kernel refuses without a route: the link is set up with a host route
//! for it while bootpc runs (as bootpc's own example script sets a default
//! route on the bare interface first), taken out after.

use crate::program::{optional, words, Leaves, Program};
use crate::provider::{
    AddressWanted, Desired, LinkWanted, MethodError, Provider, RouteWanted, StanzaConfig,
};
use std::net::{IpAddr, Ipv4Addr};

pub struct Bootp;

/// The route bootpc's broadcast needs while it runs.
pub fn broadcast_route() -> RouteWanted {
    RouteWanted {
        destination: Some((IpAddr::V4(Ipv4Addr::BROADCAST), 32)),
        gateway: None,
        metric: None,
        onlink: false,
    }
}

impl Provider for Bootp {
    /// Before bootpc: the link up, the route for its broadcast.
    fn desired(&self, _stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        Ok(Desired {
            link: LinkWanted {
                up: true,
                ..LinkWanted::default()
            },
            routes: vec![broadcast_route()],
            ..Desired::default()
        })
    }

    fn program(&self, stanza: &StanzaConfig) -> Result<Option<Program>, MethodError> {
        let vars = stanza.converted();
        Ok(Some(Program {
            start: words(&[
                Some("bootpc".into()),
                optional("--bootfile %", vars.get("bootfile")),
                Some(format!("--dev {}", stanza.iface)),
                optional("--server %", vars.get("server")),
                optional("--hwaddr %", vars.get("hwaddr")),
                Some("--returniffail --serverbcast".into()),
            ]),
            stop: None,
            leaves: Leaves::Output,
        }))
    }
}

/// The value of `NAME='VALUE'` in bootpc's output.
fn value<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let v = l.strip_prefix(name)?.strip_prefix('=')?;
        Some(v.trim().trim_matches('\''))
    })
}

/// What bootpc's answer (its standard output, line by line) asks of the
/// kernel: the link up, the address with its netmask and broadcast, a
/// default route through the first gateway.
pub fn answer(stanza: &StanzaConfig, lines: &[String]) -> Result<Desired, MethodError> {
    let bad = |reason: String| MethodError::ProgramOutput {
        iface: stanza.iface.clone(),
        program: "bootpc".into(),
        reason,
    };
    let ip = |name: &str| -> Result<Option<Ipv4Addr>, MethodError> {
        value(lines, name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<Ipv4Addr>()
                    .map_err(|_| bad(format!("{name} `{v}` is not an IPv4 address")))
            })
            .transpose()
    };
    let addr = ip("IPADDR")?.ok_or_else(|| bad("no IPADDR in its answer".into()))?;
    let prefix_len = match value(lines, "NETMASK").filter(|v| !v.is_empty()) {
        Some(mask) => crate::static_::v4_prefix(mask)
            .ok_or_else(|| bad(format!("NETMASK `{mask}` is not a netmask")))?,
        None => 32,
    };
    let broadcast = ip("BROADCAST")?;
    let gateway = value(lines, "GATEWAYS")
        .and_then(|g| g.split_whitespace().next())
        .map(|g| {
            g.parse::<Ipv4Addr>()
                .map_err(|_| bad(format!("gateway `{g}` is not an IPv4 address")))
        })
        .transpose()?
        .filter(|g| !g.is_unspecified());
    Ok(Desired {
        link: LinkWanted {
            up: true,
            ..LinkWanted::default()
        },
        addresses: vec![AddressWanted {
            addr: IpAddr::V4(addr),
            prefix_len,
            peer: None,
            broadcast,
            scope: None,
            label: None,
            nodad: false,
            preferred_lft: None,
            valid_lft: None,
        }],
        routes: gateway
            .map(|g| RouteWanted {
                destination: None,
                gateway: Some(IpAddr::V4(g)),
                metric: None,
                onlink: false,
            })
            .into_iter()
            .collect(),
        ..Desired::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{Family, Variables};

    fn stanza(options: &[(&str, &str)]) -> StanzaConfig {
        let mut vars = Variables::default();
        for (k, v) in options {
            vars.set(k, v);
        }
        StanzaConfig {
            iface: "eth0".into(),
            logical: "eth0".into(),
            family: Family::Inet,
            method: "bootp".into(),
            vars,
        }
    }

    #[test]
    fn bootpc_as_debian_runs_it() {
        let p = Bootp.program(&stanza(&[])).unwrap().unwrap();
        assert_eq!(p.start, "bootpc --dev eth0 --returniffail --serverbcast");
        assert_eq!(p.stop, None);
        let p = Bootp
            .program(&stanza(&[
                ("bootfile", "pxe.0"),
                ("server", "198.51.100.1"),
                ("hwaddr", "02:00:5e:00:53:01"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(
            p.start,
            "bootpc --bootfile pxe.0 --dev eth0 --server 198.51.100.1 \
             --hwaddr 02:00:5e:00:53:01 --returniffail --serverbcast"
        );
    }

    #[test]
    fn the_answer_becomes_address_and_route() {
        let out: Vec<String> = [
            "GATEWAY='0.0.0.0'",
            "SERVER='198.51.100.1'",
            "IPADDR='198.51.100.17'",
            "BOOTFILE=''",
            "NETMASK='255.255.255.0'",
            "NETWORK='198.51.100.0'",
            "BROADCAST='198.51.100.255'",
            "GATEWAYS_1='198.51.100.1'",
            "GATEWAYS='198.51.100.1'",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let d = answer(&stanza(&[]), &out).unwrap();
        assert_eq!(d.addresses.len(), 1);
        assert_eq!(
            d.addresses[0].addr,
            "198.51.100.17".parse::<IpAddr>().unwrap()
        );
        assert_eq!(d.addresses[0].prefix_len, 24);
        assert_eq!(
            d.addresses[0].broadcast,
            Some("198.51.100.255".parse().unwrap())
        );
        assert_eq!(d.routes[0].to_string(), "default via 198.51.100.1");
    }

    #[test]
    fn no_address_in_the_answer_names_the_interface() {
        let e = answer(&stanza(&[]), &["SERVER='198.51.100.1'".into()]).unwrap_err();
        assert_eq!(e.to_string(), "eth0: bootpc: no IPADDR in its answer");
    }
}
