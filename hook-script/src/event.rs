//! From a DHCP client's environment to the event to post, and the few
//! settings that travel in the same environment.
//!
//! Which client ran the hook is told from what each one always sets, never
//! from a flag: dhcpcd sets `reason` with `if_up`, `if_down` and
//! `ifcarrier`; udhcpc sets no `reason` and passes its event (`deconfig`,
//! `bound`, …) as the first argument, which goes into the event as `ARGV1`;
//! dhcpcanon sets `client=dhcpcanon` and gives its script none of its own
//! environment, so the token and socket come from its (the parent's);
//! anything else with a `reason` is dhclient.
//!
//! Pure: it takes the variables as a list, so it is tested without touching
//! the process environment.

use netconf_ctlsock_proto::{
    DhcpEventArgs, DhcpReason, DEFAULT_SOCKET, DHCPCD_REASONS, SOCKET_ENV, TOKEN_ENV, UDHCPC_EVENTS,
};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Overrides [`DEFAULT_RETRY`]: how long, in milliseconds, to keep trying to
/// reach a daemon that is not there (tests set it small).
pub const RETRY_ENV: &str = "NETCONF_HOOK_RETRY_MS";

/// Overrides [`DEFAULT_REPLY_TIMEOUT`], in milliseconds; `0` waits for ever.
pub const TIMEOUT_ENV: &str = "NETCONF_HOOK_TIMEOUT_MS";

/// How long a daemon that is restarting gets to come back. dhclient is
/// blocked meanwhile, so this is also the longest a lost event delays it.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(10);

/// How long the daemon may stay silent once it has the event. It answers
/// when the event is applied, which takes milliseconds, or seconds with
/// IPv6 duplicate address detection; a minute means it is stuck, and
/// dhclient must not stay blocked behind it (NetworkManager's helper gives
/// its call the same 60 s).
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to post the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `NETCONF_SOCKET`, else the default socket.
    pub socket: PathBuf,
    /// `NETCONF_HOOK_RETRY_MS`, else [`DEFAULT_RETRY`].
    pub retry: Duration,
    /// `NETCONF_HOOK_TIMEOUT_MS`, else [`DEFAULT_REPLY_TIMEOUT`]; `None`
    /// waits for ever.
    pub reply_timeout: Option<Duration>,
}

/// An event ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub args: DhcpEventArgs,
    pub settings: Settings,
    /// Things worth a line on stderr that do not stop the event (a setting
    /// that could not be read, a name or value that was not UTF-8).
    pub notes: Vec<String>,
}

/// Reads the client's environment, in its order, with the hook's first
/// argument (udhcpc's event) and the environment of the process that ran
/// the hook (read only for dhcpcanon). `Err` is the reason not to post
/// anything at all, for a line on stderr before exiting 0.
pub fn prepare(
    argument: Option<OsString>,
    vars: Vec<(OsString, OsString)>,
    parent_env: impl FnOnce() -> Vec<(String, String)>,
) -> Result<Prepared, String> {
    let mut notes = Vec::new();
    let mut lossy = Vec::new();
    let mut env: Vec<(String, String)> = vars
        .into_iter()
        .map(|(k, v)| {
            let key = k.to_string_lossy().into_owned();
            let value = v.to_string_lossy().into_owned();
            // A replaced byte shows as U+FFFD in one of the two, and is rare
            // enough (dhclient escapes unprintable option bytes) to mention.
            if k.to_str().is_none() || v.to_str().is_none() {
                lossy.push(key.clone());
            }
            (key, value)
        })
        .collect();
    if !lossy.is_empty() {
        notes.push(format!(
            "not UTF-8, sent with U+FFFD in place of the bad bytes: {}",
            lossy.join(", ")
        ));
    }
    let (client, reason) = identify(&env, argument)?;
    if client == "udhcpc" {
        env.push(("ARGV1".to_owned(), reason.clone()));
    }
    // The settings dhcpcanon's script cannot get: from dhcpcanon itself.
    let inherited: Vec<(String, String)> = if client == "dhcpcanon" {
        parent_env()
            .into_iter()
            .filter(|(k, _)| k.starts_with("NETCONF_"))
            .collect()
    } else {
        Vec::new()
    };
    // The first occurrence wins, as with getenv(3).
    let get = |name: &str| {
        env.iter()
            .chain(&inherited)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let reason = reason.as_str();
    let interface = match get("interface") {
        Some(i) if !i.is_empty() => i,
        _ => {
            return Err(format!(
                "reason {reason} without an \"interface\": not reported"
            ))
        }
    };
    let token = match get(TOKEN_ENV) {
        Some(t) if !t.is_empty() => t,
        _ => {
            return Err(format!(
                "{interface} {reason}: no {TOKEN_ENV}, so this {client} was not started by netconfd: not reported"
            ))
        }
    };

    let settings = Settings {
        socket: match get(SOCKET_ENV) {
            // The same rule as the commands: empty counts as unset.
            Some(s) if !s.is_empty() => PathBuf::from(s),
            _ => PathBuf::from(DEFAULT_SOCKET),
        },
        retry: millis(get(RETRY_ENV), RETRY_ENV, &mut notes).unwrap_or(DEFAULT_RETRY),
        reply_timeout: match millis(get(TIMEOUT_ENV), TIMEOUT_ENV, &mut notes) {
            None => Some(DEFAULT_REPLY_TIMEOUT),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        },
    };
    Ok(Prepared {
        args: DhcpEventArgs {
            token: token.to_owned(),
            client: client.to_owned(),
            interface: interface.to_owned(),
            reason: reason.to_owned(),
            env: env.clone(),
        },
        settings,
        notes,
    })
}

// Which client ran the hook, and its reason; `Err` when it is none of
// them.
fn identify(
    env: &[(String, String)],
    argument: Option<OsString>,
) -> Result<(&'static str, String), String> {
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(reason) = get("reason") else {
        // dhclient runs its script with REASON=NBI, upper-case and without
        // an interface, when it finds no interface to work on.
        if get("REASON") == Some("NBI") {
            return Err(
                "dhclient found no interface to configure (reason NBI): nothing to report".into(),
            );
        }
        let event = argument.map(|a| a.to_string_lossy().into_owned());
        return match event {
            Some(e) if UDHCPC_EVENTS.contains(&e.as_str()) && get("interface").is_some() => {
                Ok(("udhcpc", e))
            }
            _ => Err(
                "no \"reason\" in the environment and no udhcpc event as the argument: \
                 this program is run by a DHCP client as its script"
                    .into(),
            ),
        };
    };
    if get("client") == Some("dhcpcanon") {
        return if DhcpReason::from_name(reason).is_some() {
            Ok(("dhcpcanon", reason.to_owned()))
        } else {
            Err(format!(
                "unknown reason \"{reason}\" from dhcpcanon: not reported"
            ))
        };
    }
    if ["if_up", "if_down", "ifcarrier"]
        .iter()
        .all(|v| get(v).is_some())
    {
        return if DHCPCD_REASONS.contains(&reason) {
            Ok(("dhcpcd", reason.to_owned()))
        } else {
            Err(format!(
                "unknown reason \"{reason}\" from dhcpcd: not reported"
            ))
        };
    }
    if DhcpReason::from_name(reason).is_none() {
        return Err(format!(
            "unknown reason \"{reason}\" from dhclient: not reported"
        ));
    }
    Ok(("dhclient", reason.to_owned()))
}

// A duration in milliseconds from a setting; a value that cannot be read is
// noted and ignored rather than fatal, like every other confusion here.
fn millis(value: Option<&str>, name: &str, notes: &mut Vec<String>) -> Option<Duration> {
    let value = value?;
    match value.trim().parse::<u64>() {
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => {
            notes.push(format!(
                "ignoring {name}={value:?}: not a whole number of milliseconds"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // No parent environment: only dhcpcanon's hook reads it.
    fn prep(
        argument: Option<OsString>,
        vars: Vec<(OsString, OsString)>,
    ) -> Result<Prepared, String> {
        prepare(argument, vars, Vec::new)
    }
    use std::os::unix::ffi::OsStringExt;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    const BASE: &[(&str, &str)] = &[
        ("NETCONF_TOKEN", "abc123"),
        ("requested_routers", "1"),
        ("new_ip_address", "198.18.0.126"),
        ("dad_wait_time", "0"),
        ("pid", "4524"),
        ("reason", "BOUND"),
        ("interface", "cli0"),
        ("PATH", "/usr/sbin:/sbin:/bin:/usr/sbin:/usr/bin"),
    ];

    #[test]
    fn a_bound_event_keeps_everything_in_order() {
        let p = prep(None, vars(BASE)).unwrap();
        assert_eq!(p.args.token, "abc123");
        assert_eq!(p.args.interface, "cli0");
        assert_eq!(p.args.reason, "BOUND");
        let expected: Vec<(String, String)> = BASE
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(p.args.env, expected);
        assert_eq!(
            p.settings,
            Settings {
                socket: PathBuf::from("/run/netconf/ctl.sock"),
                retry: Duration::from_secs(10),
                reply_timeout: Some(Duration::from_secs(60)),
            }
        );
        assert!(p.notes.is_empty());
    }

    #[test]
    fn settings_from_the_environment() {
        let mut v = vars(BASE);
        v.extend(vars(&[
            ("NETCONF_SOCKET", "/tmp/x.sock"),
            ("NETCONF_HOOK_RETRY_MS", "250"),
            ("NETCONF_HOOK_TIMEOUT_MS", "0"),
        ]));
        let p = prep(None, v).unwrap();
        assert_eq!(p.settings.socket, PathBuf::from("/tmp/x.sock"));
        assert_eq!(p.settings.retry, Duration::from_millis(250));
        assert_eq!(p.settings.reply_timeout, None);
        // The settings are part of the environment, so they are sent too.
        assert_eq!(p.args.env.len(), BASE.len() + 3);

        let mut v = vars(BASE);
        v.extend(vars(&[
            ("NETCONF_SOCKET", ""),
            ("NETCONF_HOOK_RETRY_MS", "soon"),
            ("NETCONF_HOOK_TIMEOUT_MS", "-1"),
        ]));
        let p = prep(None, v).unwrap();
        assert_eq!(p.settings.socket, PathBuf::from("/run/netconf/ctl.sock"));
        assert_eq!(p.settings.retry, DEFAULT_RETRY);
        assert_eq!(p.settings.reply_timeout, Some(DEFAULT_REPLY_TIMEOUT));
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        assert!(p.notes[0].contains("NETCONF_HOOK_RETRY_MS=\"soon\""));
    }

    #[test]
    fn every_reason_is_accepted() {
        for reason in DhcpReason::ALL {
            let mut v = vars(&[("NETCONF_TOKEN", "t"), ("interface", "eth0")]);
            v.push(("reason".into(), reason.as_str().into()));
            assert_eq!(prep(None, v).unwrap().args.reason, reason.as_str());
        }
    }

    fn refusal(pairs: &[(&str, &str)]) -> String {
        prep(None, vars(pairs)).unwrap_err()
    }

    #[test]
    fn what_is_not_posted() {
        assert!(refusal(&[]).starts_with("no \"reason\""));
        assert!(
            refusal(&[("interface", "eth0"), ("NETCONF_TOKEN", "t")]).starts_with("no \"reason\"")
        );
        assert!(refusal(&[("REASON", "NBI")]).contains("(reason NBI)"));
        assert_eq!(
            refusal(&[
                ("reason", "HELLO"),
                ("interface", "eth0"),
                ("NETCONF_TOKEN", "t")
            ]),
            "unknown reason \"HELLO\" from dhclient: not reported"
        );
        assert_eq!(
            refusal(&[("reason", "BOUND"), ("NETCONF_TOKEN", "t")]),
            "reason BOUND without an \"interface\": not reported"
        );
        assert!(refusal(&[
            ("reason", "BOUND"),
            ("interface", ""),
            ("NETCONF_TOKEN", "t")
        ])
        .contains("without an \"interface\""));
        for token in [None, Some("")] {
            let mut v = vec![("reason", "STOP"), ("interface", "eth0")];
            if let Some(t) = token {
                v.push(("NETCONF_TOKEN", t));
            }
            assert_eq!(
                refusal(&v),
                "eth0 STOP: no NETCONF_TOKEN, so this dhclient was not started by netconfd: not reported"
            );
        }
    }

    #[test]
    fn first_occurrence_wins() {
        let mut v = vars(BASE);
        v.push(("reason".into(), "STOP".into()));
        let p = prep(None, v).unwrap();
        assert_eq!(p.args.reason, "BOUND");
        assert_eq!(
            p.args.env.last().unwrap(),
            &("reason".into(), "STOP".into())
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced() {
        let mut v = vars(BASE);
        v.push((
            OsString::from("new_host_name"),
            OsString::from_vec(b"caf\xe9".to_vec()),
        ));
        v.push((OsString::from_vec(b"x\xff".to_vec()), OsString::from("1")));
        let p = prep(None, v).unwrap();
        let tail = &p.args.env[p.args.env.len() - 2..];
        assert_eq!(tail[0], ("new_host_name".into(), "caf\u{fffd}".into()));
        assert_eq!(tail[1], ("x\u{fffd}".into(), "1".into()));
        assert_eq!(
            p.notes,
            ["not UTF-8, sent with U+FFFD in place of the bad bytes: new_host_name, x\u{fffd}"]
        );
    }

    #[test]
    fn dhcpcd_and_udhcpc_are_told_apart_by_their_environment() {
        let dhcpcd = vars(&[
            ("reason", "ROUTERADVERT"),
            ("interface", "cli0"),
            ("if_up", "false"),
            ("if_down", "false"),
            ("ifcarrier", "up"),
            ("NETCONF_TOKEN", "abc"),
        ]);
        let p = prep(None, dhcpcd.clone()).unwrap();
        assert_eq!(
            (p.args.client.as_str(), p.args.reason.as_str()),
            ("dhcpcd", "ROUTERADVERT")
        );
        // Without dhcpcd's own variables ROUTERADVERT is no dhclient reason.
        let dhclient_like: Vec<_> = dhcpcd[..2].iter().chain(&dhcpcd[5..]).cloned().collect();
        assert!(prep(None, dhclient_like)
            .unwrap_err()
            .contains("from dhclient"));
        let mut bogus = dhcpcd.clone();
        bogus[0].1 = "BOGUS".into();
        assert!(prep(None, bogus).unwrap_err().contains("from dhcpcd"));

        let udhcpc = vars(&[
            ("interface", "cli0"),
            ("ip", "198.18.0.9"),
            ("NETCONF_TOKEN", "abc"),
        ]);
        let p = prep(Some("bound".into()), udhcpc.clone()).unwrap();
        assert_eq!(
            (p.args.client.as_str(), p.args.reason.as_str()),
            ("udhcpc", "bound")
        );
        assert_eq!(
            p.args.env.last(),
            Some(&("ARGV1".to_string(), "bound".to_string()))
        );
        // An argument is an event only for a client that sets no reason.
        let with_reason = vars(&[
            ("reason", "BOUND"),
            ("interface", "cli0"),
            ("NETCONF_TOKEN", "abc"),
        ]);
        let p = prep(Some("bound".into()), with_reason).unwrap();
        assert_eq!(p.args.client, "dhclient");
        assert!(prep(Some("bogus".into()), udhcpc.clone()).is_err());
        assert!(prep(None, udhcpc).is_err());
    }

    #[test]
    fn dhcpcanon_settings_come_from_its_own_environment() {
        let env = vars(&[
            ("reason", "BOUND"),
            ("interface", "cli0"),
            ("client", "dhcpcanon"),
            ("new_ip_address", "198.18.0.9"),
        ]);
        let parent = || {
            vec![
                ("PATH".to_string(), "/bin".to_string()),
                ("NETCONF_TOKEN".to_string(), "abc".to_string()),
                ("NETCONF_SOCKET".to_string(), "/tmp/x.sock".to_string()),
            ]
        };
        let p = prepare(None, env.clone(), parent).unwrap();
        assert_eq!(p.args.client, "dhcpcanon");
        assert_eq!(p.args.token, "abc");
        assert_eq!(p.settings.socket, PathBuf::from("/tmp/x.sock"));
        // What dhcpcanon passed is posted as it was: nothing added.
        assert_eq!(p.args.env.len(), 4);
        // No token in dhcpcanon's environment either: not posted.
        assert!(prepare(None, env.clone(), Vec::new)
            .unwrap_err()
            .contains("NETCONF_TOKEN"));
        // Only dhcpcanon's hook looks at the parent.
        let mut dhclient = env;
        dhclient.retain(|(k, _)| k != "client");
        assert!(prepare(None, dhclient, parent).is_err());
    }
}
