//! WireGuard links: ifupdown-ng's `use wireguard` (which ng's reader turns
//! into `link-type wireguard`, the spelling every dialect shares) with
//! `wireguard-config-path`.
//!
//! ng's executor runs `ip link add IFACE type wireguard` when the
//! interface is created, `wg setconf IFACE PATH` in `pre-up` (the path
//! defaulting to `/etc/wireguard/IFACE.conf`) and `ip link delete dev
//! IFACE` when it is destroyed. netconf makes and deletes the link over
//! rtnetlink as every other link of a stanza ([`crate::apply::ensure_link`]),
//! and runs the same `wg setconf` right after the kernel step that made the
//! link: the keys and peers are generic netlink's, not rtnetlink's, and
//! `wg` (wireguard-tools) is the program that reads that file format. The
//! addresses and routes are the stanza's method's (`inet static`, ...), as
//! for any other link.
//!
//! Differences from ng, on purpose: a relative `wireguard-config-path` is
//! refused before anything is made (ng's documentation asks for an absolute
//! one; `wg` would read it relative to netconfd's directory).

use crate::links::LinkError;
use netconf_interfaces::linkopts::{self, find};
use netconf_interfaces::Variables;
use std::path::PathBuf;

/// Where ng's executor looks when the stanza names no file.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/wireguard";

/// A WireGuard link: what `wg setconf` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireguardSpec {
    /// `wireguard-config-path`, or `/etc/wireguard/IFACE.conf`.
    pub config: PathBuf,
}

impl WireguardSpec {
    /// The stanza's WireGuard options, or the one at fault.
    pub fn from_options(iface: &str, vars: &Variables) -> Result<WireguardSpec, LinkError> {
        let config = match find(vars, linkopts::WIREGUARD_CONFIG_PATH) {
            None => PathBuf::from(format!("{DEFAULT_CONFIG_DIR}/{iface}.conf")),
            Some(found) => {
                let value = found.value.trim();
                if !value.starts_with('/') || value.contains('\n') {
                    return Err(LinkError::Invalid {
                        iface: iface.to_string(),
                        option: found.name.to_string(),
                        value: found.value.to_string(),
                        reason: "is not an absolute path".to_string(),
                    });
                }
                PathBuf::from(value)
            }
        };
        Ok(WireguardSpec { config })
    }

    /// ng's `pre-up` command, as `/bin/sh -c` runs it (the path quoted:
    /// the shell sees exactly the one word).
    pub fn setconf_command(&self, iface: &str) -> String {
        format!(
            "wg setconf {} {}",
            shell_word(iface),
            shell_word(&self.config.to_string_lossy())
        )
    }
}

/// `word` as one word to `sh`: as is when it has nothing the shell would
/// read, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(lines: &[(&str, &str)]) -> Variables {
        let mut v = Variables::default();
        for (k, val) in lines {
            v.set(k, val);
        }
        v
    }

    #[test]
    fn config_path_default_and_given() {
        let spec = WireguardSpec::from_options("wg0", &vars(&[])).unwrap();
        assert_eq!(spec.config, PathBuf::from("/etc/wireguard/wg0.conf"));
        assert_eq!(
            spec.setconf_command("wg0"),
            "wg setconf wg0 /etc/wireguard/wg0.conf"
        );
        let spec = WireguardSpec::from_options(
            "wg0",
            &vars(&[("wireguard-config-path", "/etc/wireguard/vpn.conf")]),
        )
        .unwrap();
        assert_eq!(
            spec.setconf_command("wg0"),
            "wg setconf wg0 /etc/wireguard/vpn.conf"
        );
    }

    #[test]
    fn the_path_is_one_word_to_the_shell() {
        let spec = WireguardSpec {
            config: PathBuf::from("/tmp/a b/it's;x.conf"),
        };
        assert_eq!(
            spec.setconf_command("wg0"),
            r"wg setconf wg0 '/tmp/a b/it'\''s;x.conf'"
        );
    }

    #[test]
    fn a_relative_path_is_refused_naming_the_option() {
        let err =
            WireguardSpec::from_options("wg0", &vars(&[("wireguard-config-path", "vpn.conf")]))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "wg0: wireguard-config-path: \"vpn.conf\" is not an absolute path"
        );
    }
}
