//! Checks beyond what the parser sees line by line: what `ifup` would refuse.

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::families::method_def;
use crate::model::{Family, InterfacesFile};
use crate::variables::Variables;

/// Stanzas that lack an option their method cannot run without (ifupdown's
/// `ifup` fails them with "missing required variable"), after defaults and
/// conversions, as `ifup` would see them. Templates (stanzas others inherit
/// from that no `auto`/`allow-*` line names) are not meant to be brought up
/// and are left alone.
pub fn missing_required(config: &InterfacesFile) -> Vec<Diagnostic> {
    let is_template = |name: &str| {
        config
            .stanzas
            .iter()
            .any(|s| s.inherits.as_deref() == Some(name))
            && !config
                .classes
                .iter()
                .any(|c| c.interfaces.iter().any(|i| i == name))
    };
    let mut out = Vec::new();
    for stanza in &config.stanzas {
        if is_template(&stanza.name) {
            continue;
        }
        let Some(method) = method_def(stanza.family, &stanza.method) else {
            continue;
        };
        if method.required.is_empty() {
            continue;
        }
        let mut vars = Variables::from_stanza(stanza);
        vars.apply_defaults(method);
        vars.convert(method, &stanza.name);
        for option in method.required {
            if vars.get(option).is_none() {
                out.push(Diagnostic {
                    kind: DiagnosticKind::MissingRequired {
                        iface: stanza.name.clone(),
                        family: stanza.family,
                        method: stanza.method.clone(),
                        option: (*option).to_string(),
                    },
                    location: stanza.location,
                    debian_prints: false,
                });
            }
        }
    }
    out
}

/// The DHCP clients `dhcp-client` may name.
pub const DHCP_CLIENTS: [&str; 4] = ["dhclient", "dhcpcd", "udhcpc", "dhcpcanon"];

/// `dhcp-client` and `anonymize` options that `ifup` would refuse: a client
/// netconf does not know, one on a method that runs no DHCP client, udhcpc
/// or dhcpcanon for DHCPv6, dhcpcd for a delegated prefix, and `anonymize`
/// with a client other than dhcpcd and dhcpcanon, which alone have RFC 7844.
pub fn dhcp_client_options(config: &InterfacesFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for stanza in &config.stanzas {
        let vars = Variables::from_stanza(stanza);
        let mut refuse = |option: &str, value: &str, reason: String| {
            out.push(Diagnostic {
                kind: DiagnosticKind::InvalidOption {
                    iface: stanza.name.clone(),
                    option: option.to_string(),
                    value: value.to_string(),
                    reason,
                },
                location: stanza.location,
                debian_prints: false,
            })
        };
        let client = vars.get("dhcp-client");
        if let Some(client) = client {
            let runs_dhcp = matches!(
                (stanza.family, stanza.method.as_str()),
                (Family::Inet, "dhcp") | (Family::Inet6, "dhcp") | (Family::Inet6, "auto")
            );
            if !DHCP_CLIENTS.contains(&client) {
                refuse(
                    "dhcp-client",
                    client,
                    format!("unknown DHCP client (known: {})", DHCP_CLIENTS.join(", ")),
                );
            } else if !runs_dhcp {
                refuse(
                    "dhcp-client",
                    client,
                    format!("{} {} runs no DHCP client", stanza.family, stanza.method),
                );
            } else if stanza.family == Family::Inet6 && !matches!(client, "dhclient" | "dhcpcd") {
                refuse(
                    "dhcp-client",
                    client,
                    "netconf runs only dhclient and dhcpcd for DHCPv6".to_string(),
                );
            } else if client == "dhcpcd" && vars.is_true("request_prefix") {
                refuse(
                    "dhcp-client",
                    client,
                    "request_prefix with dhcpcd is not supported yet (dhclient has it)".to_string(),
                );
            }
        }
        if let (Some(anonymize), Some(client)) = (vars.get("anonymize"), client) {
            if vars.is_true("anonymize") && client != "dhcpcd" && client != "dhcpcanon" {
                refuse(
                    "anonymize",
                    anonymize,
                    format!(
                        "RFC 7844 needs dhcp-client dhcpcd or dhcpcanon ({client} has no anonymity profile)"
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(text: &str) -> Vec<String> {
        let parsed = crate::parse_bytes(
            "interfaces",
            text.as_bytes(),
            &crate::ParseOptions::default(),
        );
        dhcp_client_options(&parsed.config)
            .iter()
            .map(|d| d.kind.to_string())
            .collect()
    }

    #[test]
    fn dhcp_client_choices() {
        assert!(reasons("iface a inet dhcp\n dhcp-client udhcpc\n").is_empty());
        assert!(reasons("iface a inet dhcp\n dhcp-client dhcpcd\n anonymize yes\n").is_empty());
        assert_eq!(
            reasons("iface a inet dhcp\n dhcp-client pump\n"),
            ["iface a: `dhcp-client pump`: unknown DHCP client (known: dhclient, dhcpcd, udhcpc, dhcpcanon)"]
        );
        assert_eq!(
            reasons("iface a inet static\n address 198.18.0.1/24\n dhcp-client dhcpcd\n"),
            ["iface a: `dhcp-client dhcpcd`: inet static runs no DHCP client"]
        );
        assert_eq!(
            reasons("iface a inet6 dhcp\n dhcp-client udhcpc\n"),
            ["iface a: `dhcp-client udhcpc`: netconf runs only dhclient and dhcpcd for DHCPv6"]
        );
        assert_eq!(
            reasons("iface a inet dhcp\n dhcp-client dhclient\n anonymize yes\n"),
            ["iface a: `anonymize yes`: RFC 7844 needs dhcp-client dhcpcd or dhcpcanon (dhclient has no anonymity profile)"]
        );
    }

    #[test]
    fn tunnel_methods_need_their_options() {
        let text = "iface t1 inet tunnel\n mode gre\n address 198.51.100.1\n netmask 30\n\n\
                    iface t2 inet6 v4tunnel\n address 2001:db8::1\n\n\
                    iface t3 inet6 6to4\n metric 1\n\n\
                    iface t4 inet6 tunnel\n endpoint 2001:db8::2\n";
        let parsed = crate::parse_bytes(
            "interfaces",
            text.as_bytes(),
            &crate::ParseOptions::default(),
        );
        let found: Vec<(u32, String)> = missing_required(&parsed.config)
            .iter()
            .map(|d| {
                (
                    d.location.as_ref().map_or(0, |l| l.line),
                    d.kind.to_string(),
                )
            })
            .collect();
        let lines: Vec<u32> = found.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 6, 9, 12], "{found:?}");
        for (want, (_, text)) in ["endpoint", "endpoint", "local", "mode"].iter().zip(&found) {
            assert!(text.contains(&format!("`{want}`")), "{text}");
        }
    }
}
