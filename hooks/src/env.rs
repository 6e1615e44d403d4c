//! The hook environment: ifupdown 0.8.41's `set_environ` (execute.c), entry
//! for entry and in its order.

use super::{HookContext, Mode, Phase};
use netconf_interfaces::model::is_command_option;
use netconf_interfaces::Variables;

/// The fixed `PATH` ifupdown gives every hook.
pub const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The prefix of the variables ifupdown uses for recursion detection; the
/// only ones it passes on from its own environment.
const RECURSION_PREFIX: &str = "IFUPDOWN_";

/// The environment of one phase of one stanza, exactly as Debian's
/// `set_environ` builds it (ifupdown clears everything else):
///
/// 1. `IF_<NAME>=<value>` for every option but the four command options, in
///    the stanza's option order (defaults, overrides and conversions already
///    applied, as [`Variables`] holds them); values verbatim, newlines of
///    repeated options included;
/// 2. the `IFUPDOWN_*` variables of `inherited` (the caller's environment;
///    other variables there are ignored), in their order;
/// 3. `IFUPDOWN_<parent>=parent-lock` when the physical name has a `.` and
///    `inherited` has no such variable yet;
/// 4. `IFUPDOWN_<iface>=<phase>`, `IFACE`, `LOGICAL`, `ADDRFAM`, `METHOD`,
///    `MODE`, `PHASE`, `VERBOSITY`, `PATH`, and `CLASS` when there is a class.
///
/// Names that collide after mangling (`a-b` and `a_b`) appear twice, as in
/// Debian; [`run_steps`](super::run_steps) gives commands both and scripts
/// the last, as Debian's do.
pub fn environment(
    vars: &Variables,
    ctx: &HookContext,
    mode: Mode,
    phase: Phase,
    inherited: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env = Vec::with_capacity(vars.0.len() + 12 + inherited.len());

    for var in &vars.0 {
        if is_command_option(&var.name) {
            continue;
        }
        env.push(setlocalenv(&format!("IF_{}", var.name), &var.value));
    }

    env.extend(
        inherited
            .iter()
            .filter(|(name, _)| name.starts_with(RECURSION_PREFIX))
            .cloned(),
    );

    // A VLAN-style name (`eth0.5`) declares that it holds its parent's lock,
    // unless the parent's variable already came from the caller. Debian
    // looks the name up with `=` turned into `_` but writes it unchanged.
    if let Some((parent, _)) = ctx.iface.split_once('.') {
        let lookup = format!("{RECURSION_PREFIX}{}", parent.replace('=', "_"));
        if !inherited.iter().any(|(name, _)| *name == lookup) {
            env.push(nomangle(
                &format!("{RECURSION_PREFIX}{parent}"),
                "parent-lock",
            ));
        }
    }

    env.push(nomangle(
        &format!("{RECURSION_PREFIX}{}", ctx.iface),
        phase.as_str(),
    ));
    env.push(setlocalenv("IFACE", &ctx.iface));
    env.push(setlocalenv("LOGICAL", &ctx.logical));
    env.push(setlocalenv("ADDRFAM", &ctx.family));
    env.push(setlocalenv("METHOD", &ctx.method));
    env.push(setlocalenv("MODE", mode.as_str()));
    env.push(setlocalenv("PHASE", phase.as_str()));
    env.push(setlocalenv(
        "VERBOSITY",
        if ctx.verbose { "1" } else { "0" },
    ));
    env.push(setlocalenv("PATH", HOOK_PATH));
    if let Some(class) = &ctx.class {
        env.push(setlocalenv("CLASS", class));
    }
    env
}

/// The context of the hooks `ifup -a`/`ifdown -a` run once before and once
/// after all interfaces (`do_pre_all`/`do_post_all` in main.c): `IFACE=--all`,
/// `LOGICAL` and `CLASS` the class (`auto` without `--allow`), `ADDRFAM=meta`,
/// `METHOD=none`; the options are empty. Like any stanza, its scripts are
/// skipped when a `no-scripts` pattern matches its logical name (the class).
pub fn meta_context(class: &str, verbose: bool) -> HookContext {
    HookContext {
        iface: "--all".to_string(),
        logical: class.to_string(),
        family: "meta".to_string(),
        method: "none".to_string(),
        verbose,
        class: Some(class.to_string()),
    }
}

/// The variable an option becomes in the hook environment: `dns-nameservers`
/// is `IF_DNS_NAMESERVERS`, `my_weird.option-x` is `IF_MY_WEIRDOPTION_X`.
/// (An option name with a `=` is cut there; the rest goes into the value.)
pub fn option_variable(option: &str) -> String {
    setlocalenv(&format!("IF_{option}"), "").0
}

/// `setlocalenv("%s=%s", name, value)`: the entry is formatted first, then
/// everything before its first `=` is mangled: `-` becomes `_`, ASCII letters
/// are upper-cased, and any other byte that is not an ASCII letter, digit or
/// `_` is dropped. ifupdown never calls setlocale, so this is the C locale's
/// idea of letters and digits: every non-ASCII byte goes.
fn setlocalenv(name: &str, value: &str) -> (String, String) {
    let (name, value) = split_entry(name, value);
    let mangled = name
        .bytes()
        .map(|b| {
            if b == b'-' {
                b'_'
            } else {
                b.to_ascii_uppercase()
            }
        })
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .map(char::from)
        .collect();
    (mangled, value)
}

/// `setlocalenv_nomangle`: the entry as formatted, split where `execle`'s
/// consumers split it, at the first `=`.
fn nomangle(name: &str, value: &str) -> (String, String) {
    split_entry(name, value)
}

/// Splits the entry `name=value` at its first `=`, which lies inside `name`
/// when `name` has one.
fn split_entry(name: &str, value: &str) -> (String, String) {
    match name.split_once('=') {
        Some((head, tail)) => (head.to_string(), format!("{tail}={value}")),
        None => (name.to_string(), value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::Variable;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        Variables(
            pairs
                .iter()
                .map(|(n, v)| Variable {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        )
    }

    fn ctx(iface: &str, class: Option<&str>) -> HookContext {
        HookContext {
            iface: iface.into(),
            logical: "lan".into(),
            family: "inet".into(),
            method: "static".into(),
            verbose: false,
            class: class.map(str::to_string),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn option_names_are_mangled_like_setlocalenv() {
        assert_eq!(option_variable("dns-nameservers"), "IF_DNS_NAMESERVERS");
        assert_eq!(option_variable("my_weird.option-x"), "IF_MY_WEIRDOPTION_X");
        assert_eq!(option_variable("MiXed.Case-9"), "IF_MIXEDCASE_9");
        assert_eq!(option_variable("bridge_ports"), "IF_BRIDGE_PORTS");
        assert_eq!(option_variable("a+b/c:d@e"), "IF_ABCDE");
        // Non-ASCII bytes are not letters in the C locale.
        assert_eq!(option_variable("größe"), "IF_GRE");
        assert_eq!(option_variable("..."), "IF_");
    }

    #[test]
    fn an_equals_sign_in_a_name_ends_the_name() {
        let env = environment(
            &vars(&[("weird=na-me", "v a l")]),
            &ctx("eth0", None),
            Mode::Start,
            Phase::PreUp,
            &[],
        );
        assert_eq!(env[0], ("IF_WEIRD".into(), "na-me=v a l".into()));
    }

    #[test]
    fn values_are_verbatim_and_commands_left_out() {
        let env = environment(
            &vars(&[
                ("address", "198.51.100.7"),
                ("pre-up", "echo 1"),
                ("repeated", "a\nb"),
                ("up", "echo 2"),
                ("down", "echo 3"),
                ("post-down", "echo 4"),
                ("empty", ""),
                ("dns-search", " spaced  out "),
            ]),
            &ctx("eth0", None),
            Mode::Start,
            Phase::PreUp,
            &[],
        );
        assert_eq!(
            env[..4],
            pairs(&[
                ("IF_ADDRESS", "198.51.100.7"),
                ("IF_REPEATED", "a\nb"),
                ("IF_EMPTY", ""),
                ("IF_DNS_SEARCH", " spaced  out "),
            ])[..]
        );
        assert_eq!(env[4].0, "IFUPDOWN_eth0");
    }

    #[test]
    fn full_environment_in_debian_order() {
        let inherited = pairs(&[
            ("PATH", "/somewhere"),
            ("IFUPDOWN_br0", "post-up"),
            ("HOME", "/root"),
            ("IFUPDOWN_x", "pre-up"),
        ]);
        let mut c = ctx("eth0.5", Some("hotplug"));
        c.verbose = true;
        let env = environment(
            &vars(&[("mtu", "1400"), ("vlan-raw-device", "eth0")]),
            &c,
            Mode::Stop,
            Phase::PreDown,
            &inherited,
        );
        assert_eq!(
            env,
            pairs(&[
                ("IF_MTU", "1400"),
                ("IF_VLAN_RAW_DEVICE", "eth0"),
                ("IFUPDOWN_br0", "post-up"),
                ("IFUPDOWN_x", "pre-up"),
                ("IFUPDOWN_eth0", "parent-lock"),
                ("IFUPDOWN_eth0.5", "pre-down"),
                ("IFACE", "eth0.5"),
                ("LOGICAL", "lan"),
                ("ADDRFAM", "inet"),
                ("METHOD", "static"),
                ("MODE", "stop"),
                ("PHASE", "pre-down"),
                ("VERBOSITY", "1"),
                ("PATH", HOOK_PATH),
                ("CLASS", "hotplug"),
            ])
        );
    }

    #[test]
    fn parent_lock_only_when_not_inherited() {
        let inherited = pairs(&[("IFUPDOWN_eth0", "post-up")]);
        let env = environment(
            &Variables::default(),
            &ctx("eth0.5.7", None),
            Mode::Start,
            Phase::PostUp,
            &inherited,
        );
        let recursion: Vec<_> = env
            .iter()
            .filter(|(n, _)| n.starts_with("IFUPDOWN_"))
            .cloned()
            .collect();
        assert_eq!(
            recursion,
            pairs(&[
                ("IFUPDOWN_eth0", "post-up"),
                ("IFUPDOWN_eth0.5.7", "post-up"),
            ])
        );
        // No class: no CLASS at all.
        assert!(env.iter().all(|(n, _)| n != "CLASS"));
        // Without the inherited variable the parent is locked (first dot).
        let env = environment(
            &Variables::default(),
            &ctx("eth0.5.7", None),
            Mode::Start,
            Phase::PostUp,
            &[],
        );
        assert!(env.contains(&("IFUPDOWN_eth0".into(), "parent-lock".into())));
    }

    #[test]
    fn parent_lookup_sanitises_equals_signs() {
        // Debian looks up IFUPDOWN_a_b but would write IFUPDOWN_a=b=...
        let inherited = pairs(&[("IFUPDOWN_a_b", "pre-up")]);
        let env = environment(
            &Variables::default(),
            &ctx("a=b.1", None),
            Mode::Start,
            Phase::PreUp,
            &inherited,
        );
        assert!(!env.iter().any(|(_, v)| v.ends_with("parent-lock")));
        let env = environment(
            &Variables::default(),
            &ctx("a=b.1", None),
            Mode::Start,
            Phase::PreUp,
            &[],
        );
        assert!(env.contains(&("IFUPDOWN_a".into(), "b=parent-lock".into())));
    }

    #[test]
    fn meta_calls() {
        let c = meta_context("auto", false);
        let env = environment(&Variables::default(), &c, Mode::Start, Phase::PreUp, &[]);
        assert_eq!(
            env,
            pairs(&[
                ("IFUPDOWN_--all", "pre-up"),
                ("IFACE", "--all"),
                ("LOGICAL", "auto"),
                ("ADDRFAM", "meta"),
                ("METHOD", "none"),
                ("MODE", "start"),
                ("PHASE", "pre-up"),
                ("VERBOSITY", "0"),
                ("PATH", HOOK_PATH),
                ("CLASS", "auto"),
            ])
        );
    }

    #[test]
    fn colliding_names_stay_duplicated() {
        let env = environment(
            &vars(&[("dup-name", "a"), ("dup_name", "b")]),
            &ctx("eth0", None),
            Mode::Start,
            Phase::PreUp,
            &[],
        );
        assert_eq!(
            env[..2],
            pairs(&[("IF_DUP_NAME", "a"), ("IF_DUP_NAME", "b")])[..]
        );
    }
}
