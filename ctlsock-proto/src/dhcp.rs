//! The `dhcp-event` op: what `netconf-dhcp-hook`, the program dhclient runs
//! as its `-sf` script, posts for each hook call, and the verdict the daemon
//! answers with, which becomes the hook's exit status.
//!
//! dhclient reads that exit status as part of its own protocol (see
//! [`ExitEffect`]): a non-zero status on `BOUND` declines the lease, a
//! non-zero status on `TIMEOUT` throws the remembered lease away. So the
//! verdict is the daemon's decision alone, and anything that goes wrong on
//! the way to it ends with the hook exiting 0.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// The variable, passed with `dhclient -e NETCONF_TOKEN=…`, that names the
/// dhclient netconfd started; the hook copies it into
/// [`DhcpEventArgs::token`].
pub const TOKEN_ENV: &str = "NETCONF_TOKEN";

/// The DHCP clients the hook reports for (`client`): ISC dhclient,
/// dhcpcd, busybox udhcpc, dhcpcanon (with dhclient's reasons).
pub const DHCP_CLIENTS: [&str; 4] = ["dhclient", "dhcpcd", "udhcpc", "dhcpcanon"];

/// The reasons dhcpcd 9 gives its script (`dhcpcd-run-hooks(8)`).
pub const DHCPCD_REASONS: &[&str] = &[
    "PREINIT",
    "CARRIER",
    "NOCARRIER",
    "NOCARRIER_ROAMING",
    "DEPARTED",
    "STOPPED",
    "BOUND",
    "RENEW",
    "REBIND",
    "REBOOT",
    "RECONFIGURE",
    "TIMEOUT",
    "EXPIRE",
    "EXPIRED",
    "NAK",
    "FAIL",
    "STOP",
    "RELEASE",
    "TEST",
    "DUMP",
    "IPV4LL",
    "STATIC",
    "INFORM",
    "3RDPARTY",
    "ROUTERADVERT",
    "BOUND6",
    "REBOOT6",
    "RENEW6",
    "REBIND6",
    "INFORM6",
    "DELEGATED6",
    "EXPIRE6",
    "RELEASE6",
    "STOP6",
    "TIMEOUT6",
    "UNKNOWN",
];

/// The events udhcpc gives its script, as its first argument.
pub const UDHCPC_EVENTS: &[&str] = &["deconfig", "bound", "renew", "nak", "leasefail"];

/// Arguments of `dhcp-event`: one call of the hook by a DHCP client.
///
/// `token`, `interface` and `reason` are copies of the `NETCONF_TOKEN`,
/// `interface` and `reason` variables, so that the daemon can route and
/// authorise the event without searching `env`; `env` is everything
/// dhclient passed, unchanged and in dhclient's order. Every field is
/// required, and unknown fields are refused as for the other ops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpEventArgs {
    /// `NETCONF_TOKEN`: identifies the client netconfd started (or
    /// adopted); the daemon refuses a token it did not issue.
    pub token: String,
    /// Which client ran the hook, one of [`DHCP_CLIENTS`], as the hook
    /// tells from the environment; `dhclient` when absent (hooks before
    /// netconf ran other clients).
    #[serde(default = "dhclient")]
    pub client: String,
    /// `interface`: the interface dhclient runs on.
    pub interface: String,
    /// `reason` as the client gives it: for dhclient and dhcpcanon one of
    /// [`DhcpReason::ALL`]'s names, for dhcpcd one of [`DHCPCD_REASONS`],
    /// for udhcpc one of [`UDHCPC_EVENTS`] (its first argument).
    pub reason: String,
    /// The client's whole environment, in its order, nothing removed (for
    /// udhcpc the hook appends its event as `ARGV1`); names
    /// and values that are not UTF-8 arrive with U+FFFD in place of the bad
    /// bytes. `[["reason","BOUND"],["interface","eth0"],…]` on the wire.
    pub env: Vec<(String, String)>,
}

fn dhclient() -> String {
    "dhclient".to_string()
}

impl DhcpEventArgs {
    /// The reason, if it is one dhclient defines.
    pub fn reason(&self) -> Option<DhcpReason> {
        DhcpReason::from_name(&self.reason)
    }

    /// The value of the variable `name` in `env`. Should the environment
    /// hold it twice, the first wins, as with `getenv(3)`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Why the daemon must refuse these arguments (`bad-request`), if it
    /// must: an empty token or interface, or a reason dhclient never sends.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.token.is_empty() {
            return Some("\"token\" must not be empty".into());
        }
        if self.interface.is_empty() {
            return Some("\"interface\" must not be empty".into());
        }
        let dhclient: Vec<&str> = DhcpReason::ALL.iter().map(|r| r.as_str()).collect();
        let known: &[&str] = match self.client.as_str() {
            "dhclient" | "dhcpcanon" => &dhclient,
            "dhcpcd" => DHCPCD_REASONS,
            "udhcpc" => UDHCPC_EVENTS,
            other => {
                return Some(format!(
                    "unknown DHCP client \"{other}\" (known: {})",
                    DHCP_CLIENTS.join(", ")
                ))
            }
        };
        if !known.contains(&self.reason.as_str()) {
            return Some(format!(
                "unknown {} reason \"{}\" (known: {})",
                self.client,
                self.reason,
                known.join(", ")
            ));
        }
        None
    }
}

/// Why dhclient ran its script: the `reason` variable of ISC dhclient 4.4
/// (`dhclient-script(8)` and the `*6` reasons of `client/dhc6.c`).
///
/// `NBI` (no broadcast interfaces) is not here: dhclient sends it as
/// `REASON=NBI`, upper case, without an interface, so it names no dhclient
/// netconf could route it to, and the hook only reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhcpReason {
    /// Set the interface's media type (only with `media` in dhclient.conf).
    Medium,
    /// Make the interface able to send before it has an address.
    Preinit,
    /// A new lease.
    Bound,
    /// The lease was renewed (IPv4 also reports a rebind this way).
    Renew,
    /// The lease was renewed by another server.
    Rebind,
    /// The remembered lease was confirmed after a restart (INIT-REBOOT).
    Reboot,
    /// The lease ran out.
    Expire,
    /// No server answered and no remembered lease was usable.
    Fail,
    /// `dhclient -x`: stop, deconfigure.
    Stop,
    /// `dhclient -r`: the lease was released.
    Release,
    /// No server answered; test the remembered lease in `new_*`.
    Timeout,
    /// The server prefers IPv6-only (RFC 8925): leave IPv4 unconfigured.
    V6only,
    /// DHCPv6 `PREINIT`.
    Preinit6,
    /// DHCPv6 new lease (also after a Confirm when restarted).
    Bound6,
    /// DHCPv6 renewal, and every answer of stateless (`-S`) mode.
    Renew6,
    /// DHCPv6 rebind.
    Rebind6,
    /// DHCPv6: the preferred lifetime ran out (`cur_*` variables).
    Depref6,
    /// DHCPv6: the valid lifetime ran out.
    Expire6,
    /// DHCPv6 `dhclient -x`.
    Stop6,
    /// DHCPv6 `dhclient -r`.
    Release6,
}

/// What dhclient does with the hook's exit status after a given reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitEffect {
    /// `BOUND`, `RENEW`, `REBIND`, `REBOOT`: any status but 0 makes dhclient
    /// send DHCPDECLINE, drop the lease and start over after its decline
    /// wait (10 s by default); with `-1` it runs `FAIL` and exits 2.
    DeclineUnlessZero,
    /// `BOUND6`, `RENEW6`, `REBIND6`: status 3 means "duplicate address
    /// detection failed": dhclient declines that address. Every other status
    /// is ignored (as is any status after a stateless `RENEW6`).
    DeclineOn3,
    /// `TIMEOUT`: only 0 makes dhclient use the remembered lease; anything
    /// else (a crash too) discards it and dhclient tries the next one or
    /// runs `FAIL`.
    KeepOnlyOnZero,
    /// `MEDIUM`: anything but 0 rejects the medium and dhclient tries the
    /// next one.
    RejectMediumUnlessZero,
    /// Every other reason: dhclient ignores the status.
    Ignored,
}

impl DhcpReason {
    /// Every reason, IPv4 first, in the order of `dhclient-script(8)`.
    pub const ALL: &'static [DhcpReason] = &[
        DhcpReason::Medium,
        DhcpReason::Preinit,
        DhcpReason::Bound,
        DhcpReason::Renew,
        DhcpReason::Rebind,
        DhcpReason::Reboot,
        DhcpReason::Expire,
        DhcpReason::Fail,
        DhcpReason::Stop,
        DhcpReason::Release,
        DhcpReason::Timeout,
        DhcpReason::V6only,
        DhcpReason::Preinit6,
        DhcpReason::Bound6,
        DhcpReason::Renew6,
        DhcpReason::Rebind6,
        DhcpReason::Depref6,
        DhcpReason::Expire6,
        DhcpReason::Stop6,
        DhcpReason::Release6,
    ];

    /// The reason as dhclient writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DhcpReason::Medium => "MEDIUM",
            DhcpReason::Preinit => "PREINIT",
            DhcpReason::Bound => "BOUND",
            DhcpReason::Renew => "RENEW",
            DhcpReason::Rebind => "REBIND",
            DhcpReason::Reboot => "REBOOT",
            DhcpReason::Expire => "EXPIRE",
            DhcpReason::Fail => "FAIL",
            DhcpReason::Stop => "STOP",
            DhcpReason::Release => "RELEASE",
            DhcpReason::Timeout => "TIMEOUT",
            DhcpReason::V6only => "V6ONLY",
            DhcpReason::Preinit6 => "PREINIT6",
            DhcpReason::Bound6 => "BOUND6",
            DhcpReason::Renew6 => "RENEW6",
            DhcpReason::Rebind6 => "REBIND6",
            DhcpReason::Depref6 => "DEPREF6",
            DhcpReason::Expire6 => "EXPIRE6",
            DhcpReason::Stop6 => "STOP6",
            DhcpReason::Release6 => "RELEASE6",
        }
    }

    /// The reason named `name` (exactly as dhclient writes it: upper case).
    pub fn from_name(name: &str) -> Option<DhcpReason> {
        DhcpReason::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// Whether the reason comes from a DHCPv6 client (`dhclient -6`).
    pub fn is_v6(self) -> bool {
        matches!(
            self,
            DhcpReason::Preinit6
                | DhcpReason::Bound6
                | DhcpReason::Renew6
                | DhcpReason::Rebind6
                | DhcpReason::Depref6
                | DhcpReason::Expire6
                | DhcpReason::Stop6
                | DhcpReason::Release6
        )
    }

    /// What the hook's exit status means to dhclient after this reason.
    pub fn exit_effect(self) -> ExitEffect {
        match self {
            DhcpReason::Bound | DhcpReason::Renew | DhcpReason::Rebind | DhcpReason::Reboot => {
                ExitEffect::DeclineUnlessZero
            }
            DhcpReason::Bound6 | DhcpReason::Renew6 | DhcpReason::Rebind6 => ExitEffect::DeclineOn3,
            DhcpReason::Timeout => ExitEffect::KeepOnlyOnZero,
            DhcpReason::Medium => ExitEffect::RejectMediumUnlessZero,
            DhcpReason::Preinit
            | DhcpReason::Expire
            | DhcpReason::Fail
            | DhcpReason::Stop
            | DhcpReason::Release
            | DhcpReason::V6only
            | DhcpReason::Preinit6
            | DhcpReason::Depref6
            | DhcpReason::Expire6
            | DhcpReason::Stop6
            | DhcpReason::Release6 => ExitEffect::Ignored,
        }
    }
}

impl fmt::Display for DhcpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of `dhcp-event`: `{"exit": N}`, the status the hook exits
/// with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DhcpVerdict {
    /// 0 accepts; see [`ExitEffect`] for what other values do.
    pub exit: u8,
}

impl DhcpVerdict {
    /// Exit 0: whatever dhclient did, let it stand.
    pub const ACCEPT: DhcpVerdict = DhcpVerdict { exit: 0 };

    /// Exit 1: after `BOUND`/`RENEW`/`REBIND`/`REBOOT`, decline the lease;
    /// after `TIMEOUT`, do not use the remembered lease.
    pub const DECLINE: DhcpVerdict = DhcpVerdict { exit: 1 };

    /// Exit 3: after `BOUND6`/`RENEW6`/`REBIND6`, decline the address
    /// (duplicate address detection failed).
    pub const DECLINE6: DhcpVerdict = DhcpVerdict { exit: 3 };

    /// The `ok` reply's `result`.
    pub fn to_result(self) -> Value {
        json!({ "exit": self.exit })
    }

    /// Reads an `ok` reply's `result`. An integer `exit` outside 0..=255 is
    /// clamped into it (a negative one reads as 0), since the hook can only
    /// exit with a byte; anything else that is not an integer `exit` is
    /// refused with a description of what came.
    pub fn from_result(result: &Value) -> Result<DhcpVerdict, String> {
        let exit = match result.get("exit") {
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    i.clamp(0, 255)
                } else if n.as_u64().is_some() {
                    // Above i64::MAX.
                    255
                } else {
                    return Err(format!("\"exit\" is not an integer: {n}"));
                }
            }
            Some(other) => return Err(format!("\"exit\" is not an integer: {other}")),
            None => return Err(format!("the result has no \"exit\": {result}")),
        };
        // The clamp above keeps `exit` within a byte.
        Ok(DhcpVerdict { exit: exit as u8 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_round_trip() {
        for &reason in DhcpReason::ALL {
            assert_eq!(DhcpReason::from_name(reason.as_str()), Some(reason));
            assert_eq!(reason.to_string(), reason.as_str());
            assert_eq!(reason.is_v6(), reason.as_str().ends_with('6'));
        }
        assert_eq!(DhcpReason::ALL.len(), 20);
        for name in ["bound", "NBI", "", "BOUND ", "REBOOT6", "INFORM6"] {
            assert_eq!(DhcpReason::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn exit_effects_follow_dhclient() {
        use DhcpReason::*;
        let effect = |r: DhcpReason| r.exit_effect();
        for r in [Bound, Renew, Rebind, Reboot] {
            assert_eq!(effect(r), ExitEffect::DeclineUnlessZero, "{r}");
        }
        for r in [Bound6, Renew6, Rebind6] {
            assert_eq!(effect(r), ExitEffect::DeclineOn3, "{r}");
        }
        assert_eq!(effect(Timeout), ExitEffect::KeepOnlyOnZero);
        assert_eq!(effect(Medium), ExitEffect::RejectMediumUnlessZero);
        let ignored = DhcpReason::ALL
            .iter()
            .filter(|r| r.exit_effect() == ExitEffect::Ignored)
            .count();
        assert_eq!(ignored, 11);
    }

    #[test]
    fn verdict_wire_form() {
        assert_eq!(
            serde_json::to_string(&DhcpVerdict::ACCEPT.to_result()).unwrap(),
            r#"{"exit":0}"#
        );
        assert_eq!(
            serde_json::to_string(&DhcpVerdict { exit: 255 }).unwrap(),
            r#"{"exit":255}"#
        );
        assert_eq!(DhcpVerdict::DECLINE.exit, 1);
        assert_eq!(DhcpVerdict::DECLINE6.exit, 3);
    }

    #[test]
    fn verdicts_are_read_and_clamped() {
        let read = |v: Value| DhcpVerdict::from_result(&v).map(|v| v.exit);
        assert_eq!(read(json!({"exit": 0})), Ok(0));
        assert_eq!(read(json!({"exit": 2, "why": "in use"})), Ok(2));
        assert_eq!(read(json!({"exit": 255})), Ok(255));
        assert_eq!(read(json!({"exit": 256})), Ok(255));
        assert_eq!(read(json!({"exit": -1})), Ok(0));
        assert_eq!(read(json!({"exit": i64::MIN})), Ok(0));
        assert_eq!(read(json!({"exit": u64::MAX})), Ok(255));
        for bad in [
            json!(null),
            json!({}),
            json!(0),
            json!({"exit": 1.5}),
            json!({"exit": "1"}),
            json!({"exit": null}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(
            read(json!({"status": 1})),
            Err(r#"the result has no "exit": {"status":1}"#.into())
        );
    }

    fn args() -> DhcpEventArgs {
        DhcpEventArgs {
            token: "abc123".into(),
            client: "dhclient".into(),
            interface: "eth0".into(),
            reason: "BOUND".into(),
            env: vec![
                ("reason".into(), "BOUND".into()),
                ("new_ip_address".into(), "198.51.100.7".into()),
                ("reason".into(), "STOP".into()),
            ],
        }
    }

    #[test]
    fn lookups() {
        let a = args();
        assert_eq!(a.reason(), Some(DhcpReason::Bound));
        assert_eq!(a.var("new_ip_address"), Some("198.51.100.7"));
        assert_eq!(a.var("reason"), Some("BOUND"));
        assert_eq!(a.var("old_ip_address"), None);
        assert_eq!(a.problem(), None);
    }

    #[test]
    fn problems() {
        let with = |f: fn(&mut DhcpEventArgs)| {
            let mut a = args();
            f(&mut a);
            a.problem().unwrap()
        };
        assert_eq!(with(|a| a.token.clear()), "\"token\" must not be empty");
        assert_eq!(
            with(|a| a.interface.clear()),
            "\"interface\" must not be empty"
        );
        let e = with(|a| a.reason = "bound".into());
        assert!(e.starts_with("unknown dhclient reason \"bound\" (known: MEDIUM, PREINIT, BOUND,"));
        assert!(e.ends_with("STOP6, RELEASE6)"), "{e}");
        let e = with(|a| a.client = "pump".into());
        assert!(e.starts_with("unknown DHCP client \"pump\""), "{e}");
        let e = with(|a| a.client = "udhcpc".into());
        assert!(e.starts_with("unknown udhcpc reason \"BOUND\""), "{e}");
        let mut a = args();
        a.client = "udhcpc".into();
        a.reason = "bound".into();
        assert_eq!(a.problem(), None);
        a.client = "dhcpcd".into();
        a.reason = "ROUTERADVERT".into();
        assert_eq!(a.problem(), None);
        // A hook from before `client` existed is dhclient's.
        let old: DhcpEventArgs = serde_json::from_value(
            json!({"token": "t", "interface": "eth0", "reason": "BOUND", "env": []}),
        )
        .unwrap();
        assert_eq!(old.client, "dhclient");
    }
}
