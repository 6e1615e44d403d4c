//! `can static`: Debian's method for a Controller Area Network device.
//! Debian runs `ip link set IFACE type can bitrate B`, then one `ip link
//! set IFACE type can ...` per option given (`loopback`, `listenonly`,
//! `triple`, `oneshot`, `berr`, `restart-ms`), then `ip link set IFACE up`;
//! `ifdown` sets it down. netconf sends the same settings over rtnetlink
//! (`IFLA_INFO_DATA` of kind `can`: `IFLA_CAN_BITTIMING`,
//! `IFLA_CAN_CTRLMODE`, `IFLA_CAN_RESTART_MS`) as the stanza's link
//! ([`crate::links`]), by difference with what the device has.
//!
//! Two differences, on purpose: `samplepoint`, which Debian documents but
//! never passes to `ip`, is sent with the bitrate; and a device that is up
//! with other settings is set down for the change and up again (the kernel
//! takes bit timing only while it is down, and Debian's `ifup` fails there).

use crate::links::LinkError;
use crate::provider::{Desired, LinkWanted, MethodError, Provider, StanzaConfig};
use netconf_interfaces::Variables;
use netconf_kernel::netlink::{CanAttrs, CanCtrl};

pub struct CanStatic;

impl Provider for CanStatic {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        can_attrs(&stanza.iface, &stanza.vars).map_err(|e| match e {
            LinkError::Invalid {
                iface,
                option,
                value,
                reason,
            } => MethodError::InvalidOption {
                iface,
                option,
                value,
                reason,
            },
            _ => MethodError::MissingOption {
                iface: stanza.iface.clone(),
                family: stanza.family,
                method: stanza.method.clone(),
                option: "bitrate".to_string(),
            },
        })?;
        Ok(Desired {
            link: LinkWanted {
                up: true,
                ..LinkWanted::default()
            },
            ..Desired::default()
        })
    }
}

/// The options Debian's `can static` passes as `ip link set type can` words.
const CTRL_OPTIONS: [(&str, CanCtrl); 5] = [
    ("loopback", CanCtrl::Loopback),
    ("listenonly", CanCtrl::ListenOnly),
    ("triple", CanCtrl::TripleSampling),
    ("oneshot", CanCtrl::OneShot),
    ("berr", CanCtrl::BerrReporting),
];

/// A `can static` stanza's settings, or what is wrong with them.
pub fn can_attrs(iface: &str, vars: &Variables) -> Result<CanAttrs, LinkError> {
    let invalid = |option: &str, value: &str, reason: &str| LinkError::Invalid {
        iface: iface.to_string(),
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let bitrate = match vars.get("bitrate") {
        None => {
            return Err(LinkError::Missing {
                iface: iface.to_string(),
                what: "can static stanza".to_string(),
                needs: "bitrate".to_string(),
            })
        }
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|b| (1..=1_000_000).contains(b))
            .ok_or_else(|| invalid("bitrate", v, "is not a bitrate (1 to 1000000)"))?,
    };
    let sample_point = vars
        .get("samplepoint")
        .map(|v| {
            parse_sample_point(v.trim())
                .ok_or_else(|| invalid("samplepoint", v, "is not a sample point (0.000 to 0.999)"))
        })
        .transpose()?;
    let mut ctrl = Vec::new();
    for (option, mode) in CTRL_OPTIONS {
        if let Some(v) = vars.get(option) {
            let on = match v.trim() {
                "on" => true,
                "off" => false,
                _ => return Err(invalid(option, v, "is not on or off")),
            };
            ctrl.push((mode, on));
        }
    }
    let restart_ms = vars
        .get("restart-ms")
        .map(|v| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| invalid("restart-ms", v, "is not a number of milliseconds"))
        })
        .transpose()?;
    Ok(CanAttrs {
        bitrate: Some(bitrate),
        sample_point,
        ctrl,
        restart_ms,
    })
}

/// `0.875` as the kernel keeps it, in tenths of a percent (875), as `ip`
/// reads it: at most three decimals.
fn parse_sample_point(text: &str) -> Option<u32> {
    let fraction = text.strip_prefix("0.").or_else(|| text.strip_prefix('.'))?;
    if fraction.is_empty() || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: u32 = fraction.parse().ok()?;
    Some(digits * 10u32.pow(3 - fraction.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::Family;

    fn stanza(options: &[(&str, &str)]) -> StanzaConfig {
        let mut vars = Variables::default();
        for (k, v) in options {
            vars.set(k, v);
        }
        StanzaConfig {
            iface: "can0".into(),
            logical: "can0".into(),
            family: Family::Can,
            method: "static".into(),
            vars,
        }
    }

    #[test]
    fn options() {
        let s = stanza(&[
            ("bitrate", "125000"),
            ("samplepoint", "0.875"),
            ("listenonly", "on"),
            ("loopback", "off"),
            ("restart-ms", "100"),
        ]);
        assert_eq!(
            can_attrs(&s.iface, &s.vars).unwrap(),
            CanAttrs {
                bitrate: Some(125_000),
                sample_point: Some(875),
                ctrl: vec![(CanCtrl::Loopback, false), (CanCtrl::ListenOnly, true)],
                restart_ms: Some(100),
            }
        );
        assert!(CanStatic.desired(&s).unwrap().link.up);
        assert_eq!(parse_sample_point("0.8"), Some(800));
        assert_eq!(parse_sample_point("1.0"), None);
        assert_eq!(parse_sample_point("0.8755"), None);

        let err = CanStatic.desired(&stanza(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "can0: can static needs the option `bitrate`"
        );
        let err = CanStatic
            .desired(&stanza(&[("bitrate", "125000"), ("triple", "yes")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "can0: option `triple`: `yes` is not on or off"
        );
        let err = CanStatic
            .desired(&stanza(&[("bitrate", "2000000")]))
            .unwrap_err();
        assert!(err.to_string().contains("bitrate"), "{err}");
    }
}
