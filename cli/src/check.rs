//! `ifquery --check`: the configuration compared with the kernel, option by
//! option, with ifupdown2's `[pass]`/`[fail]` layout.
//!
//! What a stanza asks of the kernel is not re-read from its options here: the
//! stanza goes through the same provider `ifup` uses
//! (`netconf_methods::provider::provider_for`), and each option line is judged
//! against the part of the provider's [`Desired`] state it produced, so that
//! `--check` passes exactly when an `ifup` would find nothing to change. An
//! option the provider does not turn into kernel state (hooks such as `up`,
//! `dad-attempts`, DHCP's `hostname`, unknown options) gets no verdict.
//!
//! Besides its options, a stanza fails as a whole when its link is absent,
//! when the provider wants the link up and it is down, when the provider
//! rejects the stanza (a bad value, a method netconf does not implement) and,
//! for `inet dhcp`, when the link has no global IPv4 address. Addresses the
//! kernel has but the configuration does not name are not failures: hooks,
//! DHCP and other daemons add them legitimately (`--running` shows them).

use crate::kernel_view::{format_mac, metric_of, KernelView};
use netconf_interfaces::model::is_command_option;
use netconf_interfaces::{Family as ConfigFamily, Stanza, Variable, Variables};
use netconf_kernel::netlink::{Address, Family, Link};
use netconf_methods::apply::device_of;
use netconf_methods::program::Leaves;
use netconf_methods::provider::{provider_for, AddressWanted, Desired, MethodError, StanzaConfig};
use serde_json::{json, Value};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The kernel cannot answer for this option.
    Unchecked,
}

impl Verdict {
    fn of(pass: bool) -> Verdict {
        if pass {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Unchecked => "unchecked",
        }
    }
}

/// One option line and what the kernel says to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionCheck {
    pub option: String,
    pub value: String,
    pub verdict: Verdict,
    /// The kernel's value for the option, where it has one.
    pub running: Option<String>,
}

/// One stanza checked.
#[derive(Debug, Clone)]
pub struct StanzaCheck {
    /// The physical interface.
    pub name: String,
    pub logical: String,
    pub family: ConfigFamily,
    pub method: String,
    pub auto: bool,
    /// Why the stanza fails as a whole (`not found`, `link down`, ...).
    pub reasons: Vec<String>,
    pub options: Vec<OptionCheck>,
}

impl StanzaCheck {
    pub fn passed(&self) -> bool {
        self.reasons.is_empty() && self.options.iter().all(|o| o.verdict != Verdict::Fail)
    }
}

/// One interface asked about: `PHYS=LOGICAL` and the stanzas of `LOGICAL`.
pub struct Target<'a> {
    pub iface: String,
    pub logical: String,
    pub auto: bool,
    pub stanzas: Vec<&'a Stanza>,
}

/// Checks every stanza of `target` against the kernel snapshot.
pub fn check(view: &KernelView, target: &Target, overrides: &[Variable]) -> Vec<StanzaCheck> {
    target
        .stanzas
        .iter()
        .map(|stanza| check_stanza(view, target, stanza, overrides))
        .collect()
}

fn check_stanza(
    view: &KernelView,
    target: &Target,
    stanza: &Stanza,
    overrides: &[Variable],
) -> StanzaCheck {
    let mut result = StanzaCheck {
        name: target.iface.clone(),
        logical: target.logical.clone(),
        family: stanza.family,
        method: stanza.method.clone(),
        auto: target.auto,
        reasons: Vec::new(),
        options: Vec::new(),
    };
    let lines = option_lines(stanza, overrides);
    let unchecked = |lines: &[(String, String)]| {
        lines
            .iter()
            .map(|(option, value)| OptionCheck {
                option: option.clone(),
                value: value.clone(),
                verdict: Verdict::Unchecked,
                running: None,
            })
            .collect::<Vec<_>>()
    };

    // The options exactly as ifup hands them to the provider.
    let mut vars = Variables::from_stanza(stanza);
    if let Some(def) = netconf_interfaces::families::method_def(stanza.family, &stanza.method) {
        vars.apply_defaults(def);
    }
    vars.apply_overrides(overrides);
    let config = StanzaConfig {
        iface: target.iface.clone(),
        logical: target.logical.clone(),
        family: stanza.family,
        method: stanza.method.clone(),
        vars,
    };
    let tunnel = crate::tunnels::wanted_tunnel(&config);
    let provider = provider_for(stanza.family, &stanza.method);
    let desired = match provider {
        None => Err(MethodError::Unsupported {
            iface: target.iface.clone(),
            family: stanza.family,
            method: stanza.method.clone(),
        }),
        Some(provider) => provider.desired(&config),
    };
    let program = provider.map(|p| p.program(&config));
    let (desired, program) = match (desired, program) {
        (Ok(d), Some(Ok(program))) => (d, program),
        (Ok(d), None) => (d, None),
        (Err(e), _) | (_, Some(Err(e))) => {
            result.reasons.push(e.to_string());
            result.options = unchecked(&lines);
            return result;
        }
    };
    if let Some(program) = program {
        // What the program (pppd, avahi-autoipd) leaves: its options are
        // its own business, not the kernel's.
        let device = device_of(&target.iface);
        match view.link(device) {
            None => result.reasons.push("not found".to_string()),
            Some(link) => {
                result.options = unchecked(&lines);
                let has = match program.leaves {
                    // bootpc's answer is an address like any other.
                    Leaves::Output => view.global_addresses(link, Family::V4).next().is_some(),
                    leaves => view
                        .addresses(link, Family::V4)
                        .any(|a| leaves.owns(a.addr)),
                };
                if !link.up {
                    result.reasons.push("link down".to_string());
                }
                if !has {
                    result.reasons.push(match program.leaves {
                        Leaves::LinkLocalAddress => "no IPv4 link-local address".to_string(),
                        _ => "no IPv4 address".to_string(),
                    });
                }
            }
        }
        return result;
    }
    if desired == Desired::default() {
        // `meta none` and the like: nothing in the kernel to look at.
        result.options = unchecked(&lines);
        return result;
    }

    let device = device_of(&target.iface);
    let Some(link) = view.link(device) else {
        // As ifupdown2: an absent interface is one verdict, not one per option.
        result.reasons.push("not found".to_string());
        return result;
    };
    if desired.link.up && !link.up {
        result.reasons.push("link down".to_string());
    }
    if stanza.family == ConfigFamily::Inet
        && stanza.method == "dhcp"
        && view.global_addresses(link, Family::V4).next().is_none()
    {
        result.reasons.push("no IPv4 address".to_string());
    }

    let links = netconf_methods::links::stanza_links(&config).ok();
    let judge = Judge {
        view,
        link,
        device,
        desired: &desired,
        links: links.as_ref(),
        tunnel: tunnel.as_ref(),
        family: match stanza.family {
            ConfigFamily::Inet6 => Family::V6,
            _ => Family::V4,
        },
    };
    // The n-th non-empty `address` line is the provider's n-th address.
    let mut address_index = 0;
    for (option, value) in &lines {
        let (verdict, running) = if option == "address" && !value.is_empty() {
            address_index += 1;
            judge.address(address_index - 1)
        } else {
            judge.option(option, value)
        };
        result.options.push(OptionCheck {
            option: option.clone(),
            value: value.clone(),
            verdict,
            running,
        });
    }
    result
}

/// The stanza's option lines as written (inherited ones first), with `-o`
/// overrides in their place: what the check shows, line by line.
fn option_lines(stanza: &Stanza, overrides: &[Variable]) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = stanza
        .options
        .iter()
        .map(|o| (o.name.clone(), o.value.clone()))
        .collect();
    for o in overrides {
        let (name, keep_existing) = match o.name.strip_suffix('?') {
            Some(base) => (base, true),
            None => (o.name.as_str(), false),
        };
        let present = lines.iter().position(|(n, _)| n == name);
        if is_command_option(name) {
            if !o.value.is_empty() {
                lines.push((name.to_string(), o.value.clone()));
            }
        } else if o.value.is_empty() {
            lines.retain(|(n, _)| n != name);
        } else if let Some(first) = present {
            if !keep_existing {
                lines[first].1.clone_from(&o.value);
                let mut seen = 0;
                lines.retain(|(n, _)| {
                    if n == name {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
        } else {
            lines.push((name.to_string(), o.value.clone()));
        }
    }
    lines
}

type Judgement = (Verdict, Option<String>);

const UNCHECKED: Judgement = (Verdict::Unchecked, None);

/// Compares the parts of a [`Desired`] with one link's kernel state.
struct Judge<'a> {
    view: &'a KernelView,
    link: &'a Link,
    device: &'a str,
    desired: &'a Desired,
    /// The links the stanza makes or joins (bond, VLAN, `bond-master`).
    links: Option<&'a netconf_methods::links::StanzaLinks>,
    /// The tunnel the stanza's link is, if it is one.
    tunnel: Option<&'a netconf_kernel::netlink::TunnelAttrs>,
    family: Family,
}

impl Judge<'_> {
    /// The link's addresses in the family of `want`, any scope.
    fn kernel_addresses(&self, want: &AddressWanted) -> Vec<&Address> {
        self.view
            .addresses(self.link, Family::of(&want.addr))
            .collect()
    }

    /// The kernel's address that `apply` would take for `want`.
    fn exact(&self, want: &AddressWanted) -> Option<&Address> {
        self.kernel_addresses(want).into_iter().find(|a| {
            a.addr == want.addr
                && a.prefix_len == want.prefix_len
                && (want.peer.is_none() || a.peer == want.peer)
        })
    }

    /// The kernel's address with the same IP, whatever its prefix.
    fn same_ip(&self, want: &AddressWanted) -> Option<&Address> {
        self.kernel_addresses(want)
            .into_iter()
            .find(|a| a.addr == want.addr)
    }

    fn address(&self, index: usize) -> Judgement {
        let Some(want) = self.desired.addresses.get(index) else {
            // dhcp, manual and loopback take no addresses from the file.
            return UNCHECKED;
        };
        let exact = self.exact(want);
        let running = exact
            .or_else(|| self.same_ip(want))
            .map(|a| format!("{}/{}", a.addr, a.prefix_len));
        (Verdict::of(exact.is_some()), running)
    }

    /// Judges a property of addresses (netmask, broadcast, ...) on every
    /// wanted address that has an opinion about it (`Some`): unchecked when
    /// none has. An address missing altogether is its `address` line's
    /// failure, not this property's; only when none of them is there does
    /// the property fail too, as nothing in the kernel has it.
    fn per_address<T: PartialEq>(
        &self,
        wanted: impl Fn(&AddressWanted) -> Option<T>,
        kernel: impl Fn(&Address) -> Option<T>,
        show: impl Fn(&T) -> String,
    ) -> Judgement {
        let mut opinions = 0;
        let mut judged = 0;
        let mut pass = true;
        let mut running = None;
        for want in &self.desired.addresses {
            let Some(value) = wanted(want) else { continue };
            opinions += 1;
            let Some(found) = self.same_ip(want) else {
                continue;
            };
            judged += 1;
            let have = kernel(found);
            // Show the first value that differs, else the first one.
            if running.is_none() || (have.as_ref() != Some(&value) && pass) {
                running = have.as_ref().map(&show);
            }
            pass &= have.as_ref() == Some(&value);
        }
        match (opinions, judged) {
            (0, _) => UNCHECKED,
            (_, 0) => (Verdict::Fail, None),
            _ => (Verdict::of(pass), running),
        }
    }

    fn option(&self, option: &str, value: &str) -> Judgement {
        match option {
            "netmask" => {
                let dotted = self.family == Family::V4 && value.contains('.');
                self.per_address(
                    |w| Some(w.prefix_len),
                    |a| Some(a.prefix_len),
                    |p| {
                        if dotted {
                            let mask = u32::MAX.checked_shl(32 - u32::from(*p)).unwrap_or(0);
                            std::net::Ipv4Addr::from(mask).to_string()
                        } else {
                            p.to_string()
                        }
                    },
                )
            }
            "broadcast" => self.per_address(|w| w.broadcast, |a| a.broadcast, ToString::to_string),
            "pointopoint" => self.per_address(|w| w.peer, |a| a.peer, ToString::to_string),
            "scope" => self.per_address(|w| w.scope, |a| Some(a.scope), ToString::to_string),
            "gateway" => self.gateway(),
            "metric" => self.metric(),
            // ifupdown2's `mtu` of a DHCP stanza, as its dialect lowers it.
            "mtu" | "link-mtu" => self.mtu(),
            // ifupdown2's `alias`, as its dialect lowers it.
            "ifalias" => match &self.desired.link.alias {
                None => UNCHECKED,
                Some(alias) => (
                    Verdict::of(self.link.alias.as_ref() == Some(alias)),
                    Some(self.link.alias.clone().unwrap_or_default()),
                ),
            },
            "hwaddress" => match self.desired.link.mac {
                None => UNCHECKED,
                Some(mac) => (
                    Verdict::of(self.link.mac.as_deref() == Some(&mac[..])),
                    self.link.mac.as_deref().map(format_mac),
                ),
            },
            "accept_ra" => self.ipv6_conf("accept_ra"),
            "autoconf" => self.ipv6_conf("autoconf"),
            "privext" => self.ipv6_conf("use_tempaddr"),
            // A tunnel's inner peer (`inet tunnel`, `inet6 tunnel`).
            "dstaddr" if self.tunnel.is_some() => {
                self.per_address(|w| w.peer, |a| a.peer, ToString::to_string)
            }
            _ => match crate::link_kinds::judge(self.view, self.link, option, value) {
                Some((pass, running)) => (Verdict::of(pass), Some(running)),
                None => self
                    .tunnel
                    .and_then(|want| {
                        crate::tunnels::judge(
                            option,
                            want,
                            crate::tunnels::kernel_tunnel(self.link),
                        )
                    })
                    .or_else(|| {
                        self.links.and_then(|l| {
                            crate::bonds_vlans::check_option(self.view, self.link, l, option)
                        })
                    })
                    .map_or(UNCHECKED, |(pass, running)| (Verdict::of(pass), running)),
            },
        }
    }

    fn gateway(&self) -> Judgement {
        let gateways: Vec<_> = self
            .desired
            .routes
            .iter()
            .filter(|r| r.destination.is_none())
            .filter_map(|r| r.gateway)
            .collect();
        if gateways.is_empty() {
            return UNCHECKED;
        }
        let family = Family::of(&gateways[0]);
        let pass = gateways
            .iter()
            .all(|gw| self.view.default_route_via(self.link, *gw).is_some());
        let running = self
            .view
            .default_routes(self.link, family)
            .first()
            .and_then(|r| r.gateway)
            .map(|g| g.to_string());
        (Verdict::of(pass), running)
    }

    fn metric(&self) -> Judgement {
        let mut judgement = UNCHECKED;
        for route in self
            .desired
            .routes
            .iter()
            .filter(|r| r.destination.is_none())
        {
            let (Some(gateway), Some(metric)) = (route.gateway, route.metric) else {
                continue;
            };
            let found = self.view.default_route_via(self.link, gateway);
            let pass = found.is_some_and(|r| metric_of(r) == metric);
            let running = judgement
                .1
                .or_else(|| found.map(|r| metric_of(r).to_string()));
            let verdict = if judgement.0 == Verdict::Fail || !pass {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            judgement = (verdict, running);
        }
        judgement
    }

    fn mtu(&self) -> Judgement {
        if let Some(mtu) = self.desired.link.mtu {
            return (
                Verdict::of(self.link.mtu == mtu),
                Some(self.link.mtu.to_string()),
            );
        }
        let Some(mtu) = self.desired.ipv6_mtu else {
            return UNCHECKED;
        };
        // IPv6's own MTU; without IPv6 on the link there is only the link's.
        let have = self
            .view
            .ipv6_conf(self.device, "mtu")
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(self.link.mtu);
        (Verdict::of(have == mtu), Some(have.to_string()))
    }

    fn ipv6_conf(&self, key: &str) -> Judgement {
        let Some((_, want)) = self.desired.ipv6_conf.iter().find(|(k, _)| k == key) else {
            return UNCHECKED;
        };
        // No such file: no IPv6 on this link; ifup skips it too.
        let Some(have) = self.view.ipv6_conf(self.device, key) else {
            return UNCHECKED;
        };
        let same = match (want.trim().parse::<i64>(), have.parse::<i64>()) {
            (Ok(w), Ok(h)) => w == h,
            _ => want.trim() == have,
        };
        (Verdict::of(same), Some(have))
    }
}

/// ifupdown2's layout: the `iface` line padded to 65 columns and its verdict
/// right-aligned in 8; each option after a tab, padded to 55, its verdict
/// right-aligned in 10; an empty line after each stanza. Options without a
/// verdict are printed without one.
pub fn render_text(all: &[StanzaCheck]) -> String {
    let mut out = String::new();
    let mut previous: Option<(&str, &str)> = None;
    for s in all {
        let key = (s.name.as_str(), s.logical.as_str());
        if s.auto && previous != Some(key) {
            let _ = writeln!(out, "auto {}", s.name);
        }
        previous = Some(key);
        let mut line = format!("iface {} {} {}", display_name(s), s.family, s.method);
        if !s.reasons.is_empty() {
            let _ = write!(line, " ({})", s.reasons.join(", "));
        }
        let status = if s.passed() { "[pass]" } else { "[fail]" };
        let _ = writeln!(out, "{line:65} {status:>8}");
        for o in &s.options {
            let text = format!("{} {}", o.option, o.value);
            match o.verdict {
                Verdict::Unchecked => {
                    let _ = writeln!(out, "\t{text}");
                }
                v => {
                    let status = format!("[{}]", v.name());
                    let _ = writeln!(out, "\t{text:55} {status:>10}");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// `eth0`, or `eth0=home` when the stanza is a logical interface of another name.
fn display_name(s: &StanzaCheck) -> String {
    if s.name == s.logical {
        s.name.clone()
    } else {
        format!("{}={}", s.name, s.logical)
    }
}

/// The report as JSON (schema in `docs/IFQUERY.md`).
pub fn render_json(all: &[StanzaCheck]) -> Value {
    Value::Array(
        all.iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "logical": s.logical,
                    "family": s.family,
                    "method": s.method,
                    "auto": s.auto,
                    "status": if s.passed() { "pass" } else { "fail" },
                    "reasons": s.reasons,
                    "config": s.options.iter().map(|o| json!({
                        "option": o.option,
                        "value": o.value,
                        "status": o.verdict.name(),
                        "running": o.running,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{Location, OptionLine};

    fn stanza(options: &[(&str, &str)]) -> Stanza {
        Stanza {
            name: "eth0".into(),
            family: ConfigFamily::Inet,
            method: "static".into(),
            inherits: None,
            options: options
                .iter()
                .map(|(n, v)| OptionLine {
                    name: (*n).into(),
                    value: (*v).into(),
                    location: Location { file: 0, line: 1 },
                })
                .collect(),
            location: None,
        }
    }

    fn var(name: &str, value: &str) -> Variable {
        Variable {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn overrides_replace_remove_and_append() {
        let s = stanza(&[
            ("address", "198.51.100.1/24"),
            ("address", "198.51.100.2/24"),
            ("mtu", "1400"),
            ("up", "true"),
        ]);
        let lines = option_lines(
            &s,
            &[
                var("address", "203.0.113.1/24"),
                var("mtu", ""),
                var("gateway?", "203.0.113.254"),
                var("up", "false"),
            ],
        );
        let want: Vec<(String, String)> = [
            ("address", "203.0.113.1/24"),
            ("up", "true"),
            ("gateway", "203.0.113.254"),
            ("up", "false"),
        ]
        .iter()
        .map(|(n, v)| ((*n).into(), (*v).into()))
        .collect();
        assert_eq!(lines, want);
        let kept = option_lines(&s, &[var("mtu?", "9000")]);
        assert!(kept.contains(&("mtu".into(), "1400".into())));
    }

    #[test]
    fn layout_is_ifupdown2s() {
        let all = vec![StanzaCheck {
            name: "eth0".into(),
            logical: "eth0".into(),
            family: ConfigFamily::Inet,
            method: "static".into(),
            auto: true,
            reasons: Vec::new(),
            options: vec![
                OptionCheck {
                    option: "address".into(),
                    value: "198.51.100.1/24".into(),
                    verdict: Verdict::Pass,
                    running: Some("198.51.100.1/24".into()),
                },
                OptionCheck {
                    option: "gateway".into(),
                    value: "198.51.100.254".into(),
                    verdict: Verdict::Fail,
                    running: None,
                },
                OptionCheck {
                    option: "up".into(),
                    value: "true".into(),
                    verdict: Verdict::Unchecked,
                    running: None,
                },
            ],
        }];
        let text = render_text(&all);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "auto eth0");
        assert_eq!(
            lines[1],
            format!("{:65} {:>8}", "iface eth0 inet static", "[fail]")
        );
        assert_eq!(lines[1].len(), 74);
        assert_eq!(
            lines[2],
            format!("\t{:55} {:>10}", "address 198.51.100.1/24", "[pass]")
        );
        assert!(lines[3].ends_with("    [fail]"), "{}", lines[3]);
        assert_eq!(lines[4], "\tup true");
        assert_eq!(lines[5], "");
        let json = render_json(&all);
        assert_eq!(json[0]["status"], "fail");
        assert_eq!(json[0]["config"][2]["status"], "unchecked");
        assert_eq!(json[0]["config"][0]["running"], "198.51.100.1/24");
    }
}
