//! `inet ppp` and `inet wvdial`: pppd makes the link (`ppp0`) and its
//! addresses; netconf runs Debian's commands to start and stop it
//! (`pon`/`poff`, wvdial under `start-stop-daemon`), then follows the link
//! (see [`crate::program`]).

use crate::program::{optional, words, Leaves, Program};
use crate::provider::{parse_option, Desired, MethodError, Provider, StanzaConfig};

/// `inet ppp`: `pon [[PROVIDER]] [[unit UNIT]] [[OPTIONS]]`, `poff
/// [[PROVIDER]]`. Without `provider`, pon uses `/etc/ppp/peers/provider`
/// (or `/etc/ppp/ppp_on_boot`), as with Debian's.
pub struct Ppp;

impl Provider for Ppp {
    /// Nothing of netconf's own: the link is pppd's.
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        self.program(stanza)?;
        Ok(Desired::default())
    }

    /// pppd's link goes with pppd.
    fn link_down_on_ifdown(&self, _stanza: &StanzaConfig, _all: bool) -> bool {
        false
    }

    fn program(&self, stanza: &StanzaConfig) -> Result<Option<Program>, MethodError> {
        let vars = stanza.converted();
        if let Some(unit) = vars.get("unit") {
            // pppd refuses it too, but only once ifup has started it.
            parse_option(stanza, "unit", unit, "is not a unit number", |v| {
                v.parse::<u32>().ok()
            })?;
        }
        let provider = vars.get("provider");
        Ok(Some(Program {
            start: words(&[
                Some("pon".into()),
                optional("%", provider),
                optional("unit %", vars.get("unit")),
                optional("%", vars.get("options")),
            ]),
            stop: Some(words(&[Some("poff".into()), optional("%", provider)])),
            leaves: Leaves::Link,
        }))
    }
}

/// `inet wvdial`: wvdial in the background under start-stop-daemon with a
/// pid file per interface, stopped with SIGINT (`-s 2`), on which wvdial
/// hangs up and stops its pppd.
pub struct Wvdial;

impl Provider for Wvdial {
    fn desired(&self, stanza: &StanzaConfig) -> Result<Desired, MethodError> {
        self.program(stanza)?;
        Ok(Desired::default())
    }

    fn link_down_on_ifdown(&self, _stanza: &StanzaConfig, _all: bool) -> bool {
        false
    }

    fn program(&self, stanza: &StanzaConfig) -> Result<Option<Program>, MethodError> {
        let vars = stanza.converted();
        let pid_file = format!("/run/wvdial.{}.pid", stanza.iface);
        Ok(Some(Program {
            start: words(&[
                Some(format!(
                    "start-stop-daemon --start -x /usr/bin/wvdial -p {pid_file} -b -m --"
                )),
                optional("%", vars.get("provider")),
            ]),
            stop: Some(format!(
                "start-stop-daemon --stop -x /usr/bin/wvdial -p {pid_file} -s 2"
            )),
            leaves: Leaves::Link,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{Family, Variables};

    fn stanza(method: &str, options: &[(&str, &str)]) -> StanzaConfig {
        let mut vars = Variables::default();
        for (k, v) in options {
            vars.set(k, v);
        }
        StanzaConfig {
            iface: "ppp0".into(),
            logical: "ppp0".into(),
            family: Family::Inet,
            method: method.into(),
            vars,
        }
    }

    #[test]
    fn pon_and_poff_as_debian_runs_them() {
        let p = Ppp
            .program(&stanza(
                "ppp",
                &[
                    ("provider", "dsl"),
                    ("unit", "3"),
                    ("options", "debug persist"),
                ],
            ))
            .unwrap()
            .unwrap();
        assert_eq!(p.start, "pon dsl unit 3 debug persist");
        assert_eq!(p.stop.as_deref(), Some("poff dsl"));
        assert_eq!(p.leaves, Leaves::Link);
        // pon's own default provider.
        let p = Ppp.program(&stanza("ppp", &[])).unwrap().unwrap();
        assert_eq!((p.start.as_str(), p.stop.as_deref()), ("pon", Some("poff")));
        assert_eq!(
            Ppp.desired(&stanza("ppp", &[])).unwrap(),
            Desired::default()
        );
    }

    #[test]
    fn a_unit_that_is_no_number_names_the_option() {
        let e = Ppp
            .desired(&stanza("ppp", &[("unit", "zero")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ppp0: option `unit`: `zero` is not a unit number"
        );
    }

    #[test]
    fn wvdial_under_start_stop_daemon() {
        let p = Wvdial
            .program(&stanza("wvdial", &[("provider", "isp")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            p.start,
            "start-stop-daemon --start -x /usr/bin/wvdial -p /run/wvdial.ppp0.pid -b -m -- isp"
        );
        assert_eq!(
            p.stop.as_deref(),
            Some("start-stop-daemon --stop -x /usr/bin/wvdial -p /run/wvdial.ppp0.pid -s 2")
        );
    }
}
