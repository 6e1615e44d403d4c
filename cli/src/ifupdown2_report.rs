//! `ifquery -o json` of a file read in ifupdown2's dialect, in ifupdown2's
//! JSON shape (`ifupdown2/ifupdown/iface.py`'s JSON encoders, and the
//! `tests/output/*.ifquery.ac.json` of its test suite; read, not copied):
//! one object per stanza with `name`, `addr_method` and `addr_family` where
//! the stanza has them, `auto` and `config` (a value, or a list of the
//! values of a repeated attribute); `--check` adds `config_status` (`pass`,
//! `fail`, or `""` where nothing judged the attribute) and `status`.
//!
//! `--check` judges the Debian stanzas an object became with the same
//! [`crate::check`] as Debian's files, and writes each verdict back under
//! the attribute as ifupdown2 names and shows it: commands (`up`, ...) are
//! not listed (ifupdown2 checks none), `bridge-trunk` is `bridge-vids`, the
//! lines of `bridge-ports` are one value, `vrf-table`, `bridge-stp` and
//! `bridge-vlan-aware` show the kernel's value (`1001`, `yes`), a failed
//! attribute the kernel's value where there is one. An interface the kernel
//! lacks has no attributes and fails, as in ifupdown2. Without `-o json`
//! the same verdicts are printed in ifupdown2's native layout.

use crate::check::{self, Verdict};
use crate::kernel_view::KernelView;
use crate::running;
use netconf_interfaces::dialect::ifupdown2::{
    Ifupdown2Iface, LOWERED_ALIAS, LOWERED_DHCP_MTU, MSTPCTL_AS_BRIDGE,
};
use netconf_interfaces::model::is_command_option;
use netconf_interfaces::{InterfacesFile, Variable};
use netconf_kernel::netlink::{Link, LinkKind};
use serde_json::{Map, Value};

/// ifupdown2's `ifquery -o json` object of a stanza, as the file says it.
pub fn query_json(o: &Ifupdown2Iface) -> Value {
    let mut config = Config::default();
    for (key, value) in &o.config {
        config.push(key, value.clone(), None);
    }
    let mut object = head(o);
    object.insert("config".into(), config.values());
    Value::Object(object)
}

/// `name`, `addr_method` and `addr_family` when the stanza names them (a
/// family alone: `static`), and `auto`.
fn head(o: &Ifupdown2Iface) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("name".into(), o.name.clone().into());
    let method = match (&o.method, &o.family) {
        (Some(m), _) => Some(m.clone()),
        (None, Some(_)) => Some("static".to_string()),
        (None, None) => None,
    };
    if let Some(m) = method {
        object.insert("addr_method".into(), m.into());
    }
    if let Some(f) = &o.family {
        object.insert("addr_family".into(), f.clone().into());
    }
    object.insert("auto".into(), o.auto.into());
    object
}

/// Attributes in the order first seen, each with its values and, for
/// `--check`, their statuses.
#[derive(Default)]
struct Config {
    keys: Vec<String>,
    values: Vec<Vec<String>>,
    statuses: Vec<Vec<&'static str>>,
}

impl Config {
    fn push(&mut self, key: &str, value: String, status: Option<&'static str>) {
        let i = match self.keys.iter().position(|k| k == key) {
            Some(i) => i,
            None => {
                self.keys.push(key.to_string());
                self.values.push(Vec::new());
                self.statuses.push(Vec::new());
                self.keys.len() - 1
            }
        };
        // ifupdown2's bridge reports its ports as one attribute, however
        // many lines named them.
        if key == "bridge-ports" && !self.values[i].is_empty() {
            let joined = format!("{} {value}", self.values[i][0]);
            self.values[i][0] = joined;
            if let (Some(old), Some(new)) = (self.statuses[i].first_mut(), status) {
                *old = worse(old, new);
            }
            return;
        }
        self.values[i].push(value);
        self.statuses[i].extend(status);
    }

    fn one_or_list<T: Clone + Into<Value>>(list: &[T]) -> Value {
        match list {
            [one] => one.clone().into(),
            many => Value::Array(many.iter().cloned().map(Into::into).collect()),
        }
    }

    fn values(&self) -> Value {
        let map = self
            .keys
            .iter()
            .zip(&self.values)
            .map(|(k, v)| (k.clone(), Self::one_or_list(v)))
            .collect();
        Value::Object(map)
    }

    fn statuses(&self) -> Value {
        let map = self
            .keys
            .iter()
            .zip(&self.statuses)
            .map(|(k, v)| (k.clone(), Self::one_or_list(v)))
            .collect();
        Value::Object(map)
    }

    /// In the order the file wrote the attributes (the lowering moved
    /// addresses after the rest).
    fn order_as(&mut self, o: &Ifupdown2Iface) {
        let rank = |key: &str| {
            o.config
                .iter()
                .position(|(k, _)| k == key || shown_key(o, k) == key)
                .unwrap_or(usize::MAX)
        };
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by_key(|&i| rank(&self.keys[i]));
        self.keys = reordered(std::mem::take(&mut self.keys), &order);
        self.values = reordered(std::mem::take(&mut self.values), &order);
        self.statuses = reordered(std::mem::take(&mut self.statuses), &order);
    }

    fn failed(&self) -> bool {
        self.statuses.iter().flatten().any(|s| *s == "fail")
    }
}

/// `list` with its items in the order of the indices in `order`.
fn reordered<T>(list: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut items: Vec<Option<T>> = list.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| items[i].take()).collect()
}

fn worse(a: &'static str, b: &'static str) -> &'static str {
    match (a, b) {
        ("fail", _) | (_, "fail") => "fail",
        ("pass", _) | (_, "pass") => "pass",
        _ => "",
    }
}

/// The attributes whose checked value ifupdown2 shows as the kernel has it.
const KERNEL_RENDERED: [&str; 3] = ["vrf-table", "bridge-stp", "bridge-vlan-aware"];

/// One object checked: its attributes with their statuses, why it fails
/// as a whole (`not found`, ...), and whether it failed.
struct Checked<'a> {
    object: &'a Ifupdown2Iface,
    attrs: Config,
    reasons: Vec<String>,
    failed: bool,
}

fn check_objects<'a>(
    view: &KernelView,
    config: &InterfacesFile,
    objects: &[&'a Ifupdown2Iface],
    overrides: &[Variable],
) -> Vec<Checked<'a>> {
    let mut out = Vec::new();
    for o in objects {
        let mut attrs = Config::default();
        let mut reasons = Vec::new();
        if o.bridge_vlan {
            // Its only attribute ifupdown2 acts on, the per-VLAN querier
            // source, is not in Linux: never there. Others: ifupdown2
            // ignores them.
            for (key, value) in &o.config {
                let status = if key == "bridge-igmp-querier-src" {
                    "fail"
                } else {
                    ""
                };
                attrs.push(key, value.clone(), Some(status));
            }
        } else {
            let stanzas = config
                .stanzas
                .iter()
                .filter(|s| s.name == o.name && s.location == Some(o.location))
                .collect();
            let target = check::Target {
                iface: o.name.clone(),
                logical: o.name.clone(),
                auto: o.auto,
                stanzas,
            };
            for stanza in check::check(view, &target, overrides) {
                for reason in stanza.reasons {
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
                for c in &stanza.options {
                    if is_command_option(&c.option) {
                        continue;
                    }
                    let key = shown_key(o, &c.option);
                    let shown = match (c.verdict, &c.running) {
                        (Verdict::Fail, Some(r)) if key != "address" => r.clone(),
                        (Verdict::Pass, Some(r))
                            if KERNEL_RENDERED.contains(&c.option.replace('_', "-").as_str()) =>
                        {
                            r.clone()
                        }
                        _ => c.value.clone(),
                    };
                    let status = match c.verdict {
                        Verdict::Pass => "pass",
                        Verdict::Fail => "fail",
                        Verdict::Unchecked => "",
                    };
                    attrs.push(&key, shown, Some(status));
                }
            }
        }
        attrs.order_as(o);
        let failed = !reasons.is_empty() || attrs.failed();
        out.push(Checked {
            object: o,
            attrs,
            reasons,
            failed,
        });
    }
    out
}

/// `ifquery --check -o json`: the objects, and whether all passed.
pub fn check_json(
    view: &KernelView,
    config: &InterfacesFile,
    objects: &[&Ifupdown2Iface],
    overrides: &[Variable],
) -> (Value, bool) {
    let checked = check_objects(view, config, objects, overrides);
    let passed = checked.iter().all(|c| !c.failed);
    let list = checked
        .into_iter()
        .map(|c| {
            let mut object = head(c.object);
            object.insert("config".into(), c.attrs.values());
            object.insert("config_status".into(), c.attrs.statuses());
            let status = if c.failed { "fail" } else { "pass" };
            object.insert("status".into(), status.into());
            Value::Object(object)
        })
        .collect();
    (Value::Array(list), passed)
}

/// `ifquery --check` (ifupdown2's `-o native`): each object as ifupdown2
/// prints it with statuses: `auto NAME`, its `iface` (or `vlan`) line as
/// written, with the reasons it fails in parentheses, padded to 65
/// columns and its `[pass]`/`[fail]` right-aligned in 8; each attribute
/// after a tab, padded to 55, its status right-aligned in 10 (`[]` where
/// nothing judged it); an empty line after each.
pub fn check_text(
    view: &KernelView,
    config: &InterfacesFile,
    objects: &[&Ifupdown2Iface],
    overrides: &[Variable],
) -> (String, bool) {
    use std::fmt::Write as _;
    let checked = check_objects(view, config, objects, overrides);
    let passed = checked.iter().all(|c| !c.failed);
    let mut out = String::new();
    for c in &checked {
        let o = c.object;
        if o.auto {
            let _ = writeln!(out, "auto {}", o.name);
        }
        let keyword = if o.bridge_vlan { "vlan" } else { "iface" };
        let mut line = format!("{keyword} {}", o.name);
        for word in [&o.family, &o.method].into_iter().flatten() {
            let _ = write!(line, " {word}");
        }
        if !c.reasons.is_empty() {
            let _ = write!(line, " ({})", c.reasons.join(", "));
        }
        let status = if c.failed { "[fail]" } else { "[pass]" };
        let _ = writeln!(out, "{line:65} {status:>8}");
        for ((key, values), statuses) in c
            .attrs
            .keys
            .iter()
            .zip(&c.attrs.values)
            .zip(&c.attrs.statuses)
        {
            for (value, status) in values.iter().zip(statuses) {
                let text = format!("{key} {value}");
                let status = format!("[{status}]");
                let _ = writeln!(out, "\t{text:55} {status:>10}");
            }
        }
        out.push('\n');
    }
    (out, passed)
}

/// The attribute a checked option line is shown under: ifupdown2's check
/// shows `bridge-trunk` as `bridge-vids`; an `mstpctl-*` attribute netconf
/// set as the kernel bridge's option keeps the name the file gave it.
fn shown_key(o: &Ifupdown2Iface, option: &str) -> String {
    let key = option.replace('_', "-");
    if key == "bridge-trunk" {
        return "bridge-vids".to_string();
    }
    // Lowered to names of their own (Debian's ifupdown has neither).
    if key == LOWERED_ALIAS {
        return "alias".to_string();
    }
    if key == LOWERED_DHCP_MTU {
        return "mtu".to_string();
    }
    let written = |name: &str| o.config.iter().any(|(k, _)| k == name);
    MSTPCTL_AS_BRIDGE
        .iter()
        .find(|(m, b)| *b == key && written(m) && !written(b))
        .map_or(key.clone(), |(m, _)| m.to_string())
}

/// `ifquery --running -o json`: what the kernel holds for each object's
/// interface, once per name, in the shape of `ifquery -o json` (the
/// options `ifquery --running` prints, without family but for `lo`'s
/// `loopback` and a `dhcp` stanza); an interface the kernel lacks is left
/// out, as ifupdown2 leaves out objects with nothing running. A bridge
/// also shows its `bridge-ports`, `bridge-vlan-aware` and `bridge-stp`; a
/// link with a description its `alias`.
pub fn running_json(
    view: &KernelView,
    config: &InterfacesFile,
    objects: &[&Ifupdown2Iface],
) -> Value {
    let mut seen: Vec<&str> = Vec::new();
    let mut list = Vec::new();
    for o in objects {
        if o.bridge_vlan || seen.contains(&o.name.as_str()) {
            continue;
        }
        seen.push(&o.name);
        let wants_hwaddress = config
            .stanzas
            .iter()
            .filter(|s| s.name == o.name)
            .any(|s| s.options.iter().any(|opt| opt.name == "hwaddress"));
        let target = running::Target {
            name: o.name.clone(),
            auto: o.auto,
            wants_hwaddress,
        };
        let answer = running::running(view, &target);
        if answer.state == running::LinkState::Absent {
            continue;
        }
        let mut object = Map::new();
        object.insert("name".into(), o.name.clone().into());
        let special = answer
            .stanzas
            .iter()
            .find(|s| matches!(s.method, "loopback" | "dhcp"));
        if let Some(s) = special {
            object.insert("addr_method".into(), s.method.into());
            object.insert("addr_family".into(), s.family.into());
        }
        object.insert("auto".into(), o.auto.into());
        let mut attrs = Config::default();
        for stanza in &answer.stanzas {
            for (key, value) in &stanza.options {
                attrs.push(key, value.clone(), None);
            }
        }
        if let Some(link) = view.link(&o.name) {
            for (key, value) in bridge_options(view, link) {
                attrs.push(key, value, None);
            }
            if let Some(alias) = &link.alias {
                attrs.push("alias", alias.clone(), None);
            }
        }
        object.insert("config".into(), attrs.values());
        list.push(Value::Object(object));
    }
    Value::Array(list)
}

/// A bridge's ports and the settings ifupdown2's `--running` shows first.
fn bridge_options(view: &KernelView, link: &Link) -> Vec<(&'static str, String)> {
    let Some(LinkKind::Bridge(attrs)) = &link.details else {
        return Vec::new();
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let ports: Vec<&str> = view
        .links()
        .iter()
        .filter(|l| l.master == Some(link.index))
        .map(|l| l.name.as_str())
        .collect();
    let mut out = Vec::new();
    if !ports.is_empty() {
        out.push(("bridge-ports", ports.join(" ")));
    }
    if let Some(on) = attrs.vlan_filtering {
        out.push(("bridge-vlan-aware", yes_no(on)));
    }
    if let Some(on) = attrs.stp {
        out.push(("bridge-stp", yes_no(on)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_attributes_are_lists_and_ports_one_value() {
        let mut c = Config::default();
        c.push("address", "198.51.100.1/32".into(), Some("pass"));
        c.push("bridge-ports", "swp1 swp2".into(), Some("pass"));
        c.push("address", "2001:db8::1/128".into(), Some("fail"));
        c.push("bridge-ports", "swp3".into(), Some(""));
        c.push("bridge-vids", "1-20".into(), Some(""));
        assert_eq!(
            c.values(),
            serde_json::json!({
                "address": ["198.51.100.1/32", "2001:db8::1/128"],
                "bridge-ports": "swp1 swp2 swp3",
                "bridge-vids": "1-20",
            })
        );
        assert_eq!(
            c.statuses(),
            serde_json::json!({
                "address": ["pass", "fail"],
                "bridge-ports": "pass",
                "bridge-vids": "",
            })
        );
        assert!(c.failed());
    }
}
