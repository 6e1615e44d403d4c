//! External network modifiers (NWAM's ENMs): a VPN client, a tethering
//! tool — something that changes the network by itself, which netconf
//! starts and stops by the same rules as locations and treats the kernel
//! changes of as its own. One file per modifier, `DIR/enms/NAME`, in the
//! locations' `key value` format:
//!
//! ```text
//! activation conditional-all       # manual (default) | conditional-any | conditional-all
//! condition dhcp-domain is hotel.example.net
//! start /usr/sbin/openvpn --daemon --config /etc/openvpn/hotel.conf
//! stop pkill -F /run/openvpn/hotel.pid
//! timeout 30                       # seconds a start or stop may take
//! ```
//!
//! or `unit openvpn@hotel.service` instead of `start` and `stop`: the unit
//! is started and stopped with systemctl. `start` and `stop` are command
//! lines run with `/bin/sh -c`, as root, like the interfaces file's `up`
//! lines; a start command is expected to return once the modifier runs.

use crate::conditions::Condition;
use crate::locations::{lines, read_dir, valid_unit, Activation, FileError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How long a start or stop may take unless the file says otherwise.
pub const DEFAULT_TIMEOUT: u64 = 30;

/// How a modifier is started and stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Commands { start: String, stop: Option<String> },
    Unit(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enm {
    pub name: String,
    pub file: PathBuf,
    pub activation: Activation,
    pub conditions: Vec<Condition>,
    pub method: Method,
    pub timeout: u64,
}

/// Reads one modifier's file, with every error it has.
pub fn parse_enm(name: &str, file: &Path, text: &str) -> Result<Enm, Vec<FileError>> {
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String| {
        errors.push(FileError {
            file: file.to_path_buf(),
            line,
            message,
        })
    };
    let mut activation = Activation::Manual;
    let mut activation_line = 0;
    let mut conditions = Vec::new();
    let (mut start, mut stop, mut unit, mut timeout) = (None, None, None, DEFAULT_TIMEOUT);
    let mut seen: Vec<&str> = Vec::new();
    for (n, key, value) in lines(text) {
        if key != "condition" {
            if seen.contains(&key) {
                err(n, format!("\"{key}\" is given twice"));
                continue;
            }
            seen.push(key);
        }
        if value.is_empty() {
            err(n, format!("\"{key}\" needs a value"));
            continue;
        }
        match key {
            "activation" => {
                activation_line = n;
                activation = match value {
                    "manual" => Activation::Manual,
                    "conditional-any" => Activation::ConditionalAny,
                    "conditional-all" => Activation::ConditionalAll,
                    other => {
                        err(
                            n,
                            format!("activation \"{other}\" is not manual, conditional-any or conditional-all"),
                        );
                        continue;
                    }
                }
            }
            "condition" => match Condition::parse(value) {
                Ok(c) => conditions.push(c),
                Err(e) => err(n, format!("condition: {e}")),
            },
            "start" => start = Some(value.to_string()),
            "stop" => stop = Some(value.to_string()),
            "unit" => {
                if valid_unit(value) {
                    unit = Some(value.to_string());
                } else {
                    err(n, format!("unit: \"{value}\" is not a systemd unit name"));
                }
            }
            "timeout" => match value.parse::<u64>() {
                Ok(t) if (1..=3600).contains(&t) => timeout = t,
                _ => err(
                    n,
                    format!("timeout: \"{value}\" is not a number of seconds from 1 to 3600"),
                ),
            },
            other => err(
                n,
                format!(
                    "unknown key \"{other}\" (activation, condition, start, stop, unit, timeout)"
                ),
            ),
        }
    }
    let method = match (start, stop, unit) {
        (Some(start), stop, None) => Some(Method::Commands { start, stop }),
        (None, None, Some(unit)) => Some(Method::Unit(unit)),
        (None, Some(_), None) => {
            err(0, "a stop command without a start command".into());
            None
        }
        (None, None, None) => {
            err(0, "neither a start command nor a unit".into());
            None
        }
        _ => {
            err(0, "a unit, or start and stop commands: not both".into());
            None
        }
    };
    match (activation.combine(), conditions.is_empty()) {
        (Some(_), true) => err(
            activation_line,
            format!(
                "activation {} needs at least one condition",
                activation.word()
            ),
        ),
        (None, false) => err(
            activation_line,
            "conditions are only for conditional-any or conditional-all, not manual".into(),
        ),
        _ => {}
    }
    match method {
        Some(method) if errors.is_empty() => Ok(Enm {
            name: name.to_string(),
            file: file.to_path_buf(),
            activation,
            conditions,
            method,
            timeout,
        }),
        _ => Err(errors),
    }
}

/// The modifiers of `config_dir` (its `enms/`), by name. `Err` names every
/// error of every file: the set is refused whole.
pub fn read_enms(config_dir: &Path) -> Result<Vec<Enm>, Vec<FileError>> {
    read_dir(&config_dir.join("enms"), parse_enm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Enm, Vec<String>> {
        parse_enm("vpn", Path::new("/cfg/enms/vpn"), text)
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn commands_or_a_unit() {
        let e = parse("activation conditional-any\ncondition dhcp-domain is hotel.example.net\nstart openvpn --daemon\nstop pkill openvpn\ntimeout 5\n").unwrap();
        assert_eq!(
            e.method,
            Method::Commands {
                start: "openvpn --daemon".into(),
                stop: Some("pkill openvpn".into())
            }
        );
        assert_eq!(e.timeout, 5);
        let e = parse("unit openvpn@hotel.service\n").unwrap();
        assert_eq!(e.activation, Activation::Manual);
        assert_eq!(e.method, Method::Unit("openvpn@hotel.service".into()));
    }

    #[test]
    fn errors_are_all_named() {
        let errors =
            parse("activation conditional-all\nstart a\nunit b.service\ntimeout 0\nfoo bar\n")
                .unwrap_err();
        for want in [
            "/cfg/enms/vpn:4: timeout: \"0\"",
            "/cfg/enms/vpn:5: unknown key \"foo\"",
            "/cfg/enms/vpn:0: a unit, or start and stop commands: not both",
            "/cfg/enms/vpn:1: activation conditional-all needs at least one condition",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(want)),
                "{want} in {errors:#?}"
            );
        }
        assert!(parse("stop x\n").is_err());
        assert!(parse("condition ncu eth0 is active\nstart x\n").is_err());
    }
}
