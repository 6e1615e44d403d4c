//! A stanza's options as ifupdown 0.8 holds them in memory: repeated options
//! merged with newlines, `name?` meaning "only if unset", method defaults
//! appended, `-o` overrides applied and the method's conversions run. This is
//! what `ifquery IFACE` prints and what hooks see as `IF_*` variables.

use crate::families::{Conversion, Convert, MethodDef};
use crate::lines::truncate_bytes;
use crate::model::{is_command_option, Stanza};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
}

/// The ordered variable list of one stanza.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variables(pub Vec<Variable>);

impl Variables {
    /// Replays a stanza's option lines as ifupdown's parser stores them.
    pub fn from_stanza(stanza: &Stanza) -> Self {
        let mut vars = Variables::default();
        for opt in &stanza.options {
            vars.add_option_line(&opt.name, &opt.value);
        }
        vars
    }

    /// One option line of a stanza: a repeated non-command option gets the
    /// new value appended after a newline.
    pub fn add_option_line(&mut self, name: &str, value: &str) {
        let mut value = value.to_string();
        if !is_command_option(name) {
            for var in self.0.iter_mut().filter(|v| v.name == name) {
                var.value.push('\n');
                var.value.push_str(&value);
                value.clone_from(&var.value);
            }
        }
        self.set(name, &value);
    }

    /// ifupdown's `set_variable`: replaces a variable of the same name (a
    /// trailing `?` on `name` keeps an existing one), except the four command
    /// options, which always append. Returns the index written, if any.
    pub fn set(&mut self, name: &str, value: &str) -> Option<usize> {
        let (base, keep_existing) = match name.strip_suffix('?') {
            Some(base) => (base, true),
            None => (name, false),
        };
        if !is_command_option(name) {
            if let Some(i) = self.0.iter().position(|v| v.name == base) {
                if keep_existing {
                    return None;
                }
                self.0[i].value = value.to_string();
                return Some(i);
            }
        }
        self.0.push(Variable {
            name: base.to_string(),
            value: value.to_string(),
        });
        Some(self.0.len() - 1)
    }

    /// The value ifupdown's `get_var` finds: the first of that name, unless empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// ifupdown's `var_true`: a non-zero number, `on`, `true` or `yes`.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            scanf_int(v).is_some_and(|n| n != 0)
                || ["on", "true", "yes"]
                    .iter()
                    .any(|t| v.eq_ignore_ascii_case(t))
        })
    }

    /// Adds the method's defaults for options the stanza does not set.
    pub fn apply_defaults(&mut self, method: &MethodDef) {
        for (name, value) in method.defaults {
            if !self.0.iter().any(|v| v.name == *name) {
                self.set(name, value);
            }
        }
    }

    /// Applies `-o NAME=VALUE` overrides. An empty value removes an option,
    /// with ifupdown 0.8.41's off-by-position bug: it drops the stanza's last
    /// option (only when one of that name exists).
    pub fn apply_overrides(&mut self, overrides: &[Variable]) {
        for o in overrides {
            if o.value.is_empty() {
                if !is_command_option(&o.name) && self.0.iter().any(|v| v.name == o.name) {
                    self.0.pop();
                }
            } else {
                self.set(&o.name, &o.value);
            }
        }
    }

    /// Runs the method's conversions; `real_iface` is the physical interface.
    pub fn convert(&mut self, method: &MethodDef, real_iface: &str) {
        for c in method.conversions {
            self.run_conversion(c, real_iface);
        }
    }

    fn run_conversion(&mut self, c: &Conversion, real_iface: &str) {
        // The list may grow while we walk it, as in ifupdown's loop.
        let mut j = 0;
        while j < self.0.len() {
            if self.0[j].name == c.option {
                let target = match c.new_option {
                    Some(new) => {
                        let value = self.0[j].value.clone();
                        self.set(new, &value)
                    }
                    None => Some(j),
                };
                if let Some(t) = target {
                    if let Some(converted) = self.converted(c.convert, &self.0[t].value, real_iface)
                    {
                        self.0[t].value = converted;
                    }
                }
            }
            j += 1;
        }
    }

    /// The converted value, or `None` to leave it as it is.
    fn converted(&self, convert: Convert, value: &str, real_iface: &str) -> Option<String> {
        match convert {
            Convert::CleanupHwaddress => cleanup_hwaddress(value),
            Convert::V4Mask => v4_mask(value),
            Convert::V4Addr => v4_addr(value),
            Convert::V4Broadcast => self.v4_broadcast(value),
            Convert::PreferredLifetime => iface_has(real_iface, ":").then(|| "0".to_string()),
            Convert::Token {
                delims,
                index,
                default,
            } => strtok(value, delims)
                .nth(index)
                .or(default)
                .map(str::to_string),
            Convert::Set(v) => Some(v.to_string()),
            Convert::HexAddress => hex_address(value),
        }
    }

    fn v4_broadcast(&self, value: &str) -> Option<String> {
        if value != "+" && value != "-" {
            return None;
        }
        let addr = u32::from(inet_pton4(self.get("address")?)?);
        let mask = u32::from(inet_pton4(self.get("netmask")?)?);
        let bcast = match (mask == 0xffff_fffe, value == "+") {
            (false, true) => addr | !mask,
            (false, false) => addr & mask,
            (true, true) => 0xffff_ffff,
            (true, false) => 0,
        };
        Some(Ipv4Addr::from(bcast).to_string())
    }
}

/// `-o NAME=VALUE` overrides as ifupdown keeps them: `post-up` and `pre-down`
/// renamed as in files, a repeated name replacing the earlier value.
pub fn overrides(pairs: &[(String, String)]) -> Vec<Variable> {
    let mut vars = Variables::default();
    for (name, value) in pairs {
        let name = match name.as_str() {
            "post-up" => "up",
            "pre-down" => "down",
            other => other,
        };
        vars.set(name, value);
    }
    vars.0
}

/// C's `strtok`: the non-empty runs between delimiter characters.
fn strtok<'a>(s: &'a str, delims: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    s.split(move |c| delims.contains(c))
        .filter(|t| !t.is_empty())
}

/// ifupdown's `_iface_has`: the name splits into at least two tokens.
pub fn iface_has(iface: &str, delims: &str) -> bool {
    strtok(truncate_bytes(iface, 79), delims).nth(1).is_some()
}

/// glibc's `inet_pton(AF_INET)`: exactly four decimal parts of 0-255, no
/// leading zeros, nothing else.
pub fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty()
            || part.len() > 3
            || !part.bytes().all(|b| b.is_ascii_digit())
            || (part.len() > 1 && part.starts_with('0'))
        {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// ifupdown copies `address` into a 34-byte buffer before splitting it.
fn addr_buffer(value: &str) -> &str {
    truncate_bytes(value, 33)
}

fn v4_addr(value: &str) -> Option<String> {
    strtok(addr_buffer(value), "/").next().map(str::to_string)
}

/// `compute_v4_mask`, including what C's shift does with odd prefix lengths.
fn v4_mask(value: &str) -> Option<String> {
    let mut tokens = strtok(addr_buffer(value), "/");
    let addr = inet_pton4(tokens.next()?)?;
    let width: i64 = match tokens.next() {
        None => match addr.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            192..=223 => 24,
            _ => 32,
        },
        Some(token) => {
            if let Some(mask) = inet_pton4(token) {
                return Some(mask.to_string());
            }
            scanf_int(token)?
        }
    };
    if width == -1 {
        // ifupdown then prints an uninitialised mask; say nothing instead.
        return None;
    }
    // `1L << (32 - width)` on x86-64: the shift count is taken modulo 64.
    let shift = (32 - width).rem_euclid(64) as u32;
    let mask = !((1u64 << shift).wrapping_sub(1)) as u32;
    Some(Ipv4Addr::from(mask).to_string())
}

/// `sscanf("%d")`: optional blanks and sign, then at least one digit.
fn scanf_int(s: &str) -> Option<i64> {
    let s = s.trim_start_matches(|c: char| c.is_ascii() && crate::lines::is_c_space(c as u8));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    // C's int conversion wraps; what matters here is the value modulo 2^32.
    let magnitude = digits[..end].bytes().fold(0i64, |acc, d| {
        (acc * 10 + i64::from(d - b'0')) & 0xffff_ffff
    });
    let value = (if neg { -magnitude } else { magnitude }) as i32;
    Some(i64::from(value))
}

fn cleanup_hwaddress(value: &str) -> Option<String> {
    if value == "random" {
        return Some(random_mac());
    }
    let (class, rest) = value.split_once(' ')?;
    ["ether", "ax25", "ARCnet", "netrom"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(class))
        .then(|| rest.to_string())
}

/// A random locally administered unicast MAC, as `hwaddress random` asks.
fn random_mac() -> String {
    let mut mac = [0u8; 6];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut mac));
    if read.is_err() {
        // No urandom: still a valid local address, just a less random one.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in mac.iter_mut().enumerate() {
            *b = (nanos >> (i * 8)) as u8;
        }
    }
    mac[0] = (mac[0] | 0x02) & !0x01;
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `make_hex_address`: `sscanf("%3hhu.%3hhu.%3hhu.%3hhu")` then `%.2hhx%.2hhx:%.2hhx%.2hhx`.
fn hex_address(value: &str) -> Option<String> {
    let mut rest = value;
    let mut octets = [0u8; 4];
    for (i, octet) in octets.iter_mut().enumerate() {
        if i > 0 {
            rest = rest.strip_prefix('.')?;
        }
        rest = rest.trim_start_matches(|c: char| c.is_ascii() && crate::lines::is_c_space(c as u8));
        let bytes = rest.as_bytes();
        let sign = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
        let digits = bytes[sign..]
            .iter()
            .take(3 - sign)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[sign..sign + digits].parse().ok()?;
        *octet = (if bytes[0] == b'-' { -n } else { n }) as u8;
        rest = &rest[sign + digits..];
    }
    let [a, b, c, d] = octets;
    Some(format!("{a:02x}{b:02x}:{c:02x}{d:02x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::method_def;
    use crate::model::Family;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::default();
        for (n, val) in pairs {
            v.add_option_line(n, val);
        }
        v
    }

    fn dump(v: &Variables) -> Vec<(String, String)> {
        v.0.iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }

    #[test]
    fn repeats_merge_commands_append() {
        let v = vars(&[("foo", "a"), ("up", "x"), ("foo", "b"), ("up", "y")]);
        assert_eq!(
            dump(&v),
            vec![
                ("foo".into(), "a\nb".into()),
                ("up".into(), "x".into()),
                ("up".into(), "y".into())
            ]
        );
    }

    #[test]
    fn question_mark_keeps_existing() {
        let v = vars(&[("mtu", "1500"), ("mtu?", "9000"), ("x?", "1")]);
        assert_eq!(
            dump(&v),
            vec![("mtu".into(), "1500".into()), ("x".into(), "1".into())]
        );
    }

    #[test]
    fn v4_static_conversions() {
        let m = method_def(Family::Inet, "static").unwrap();
        let mut v = vars(&[("address", "198.51.100.10/24")]);
        v.apply_defaults(m);
        v.convert(m, "eth0");
        assert_eq!(
            dump(&v),
            vec![
                ("address".into(), "198.51.100.10".into()),
                ("broadcast".into(), "198.51.100.255".into()),
                ("netmask".into(), "255.255.255.0".into()),
            ]
        );
    }

    #[test]
    fn classful_and_odd_masks() {
        assert_eq!(v4_mask("10.1.2.3").as_deref(), Some("255.0.0.0"));
        assert_eq!(v4_mask("172.16.1.1").as_deref(), Some("255.255.0.0"));
        assert_eq!(v4_mask("203.0.113.1").as_deref(), Some("255.255.255.0"));
        assert_eq!(v4_mask("224.0.0.1").as_deref(), Some("255.255.255.255"));
        assert_eq!(v4_mask("1.2.3.4/0").as_deref(), Some("0.0.0.0"));
        assert_eq!(v4_mask("1.2.3.4/33").as_deref(), Some("0.0.0.0"));
        assert_eq!(v4_mask("1.2.3.4/65").as_deref(), Some("128.0.0.0"));
        assert_eq!(
            v4_mask("1.2.3.4/255.255.0.0").as_deref(),
            Some("255.255.0.0")
        );
        assert_eq!(v4_mask("1.2.3.4/abc"), None);
        assert_eq!(v4_mask("bogus"), None);
    }

    #[test]
    fn broadcast_for_31_and_minus() {
        let m = method_def(Family::Inet, "static").unwrap();
        let mut v = vars(&[("address", "198.51.100.10/31"), ("broadcast", "-")]);
        v.convert(m, "eth0");
        assert_eq!(v.get("broadcast"), Some("0.0.0.0"));
        let mut v = vars(&[("address", "198.51.100.10/24"), ("broadcast", "-")]);
        v.convert(m, "eth0");
        assert_eq!(v.get("broadcast"), Some("198.51.100.0"));
    }

    #[test]
    fn inet6_static_conversions() {
        let m = method_def(Family::Inet6, "static").unwrap();
        let mut v = vars(&[("address", "2001:db8::1/64"), ("gateway", "2001:db8::ff")]);
        v.apply_defaults(m);
        v.convert(m, "eth0:1");
        assert_eq!(v.get("netmask"), Some("64"));
        assert_eq!(v.get("address"), Some("2001:db8::1"));
        assert_eq!(v.get("accept_ra"), Some("0"));
        assert_eq!(v.get("preferred-lifetime"), Some("0"));
    }

    #[test]
    fn hwaddress_and_hex() {
        assert_eq!(
            cleanup_hwaddress("ether 00:11:22:33:44:55").as_deref(),
            Some("00:11:22:33:44:55")
        );
        assert_eq!(cleanup_hwaddress("00:11:22:33:44:55"), None);
        let r = cleanup_hwaddress("random").unwrap();
        assert_eq!(r.len(), 17);
        assert_eq!(hex_address("198.51.100.1").as_deref(), Some("c633:6401"));
        assert_eq!(hex_address("1.2.3"), None);
    }

    #[test]
    fn pton_is_strict() {
        assert!(inet_pton4("1.2.3.4").is_some());
        assert!(inet_pton4("01.2.3.4").is_none());
        assert!(inet_pton4("1.2.3").is_none());
        assert!(inet_pton4("1.2.3.256").is_none());
        assert!(inet_pton4("1.2.3.4 ").is_none());
    }

    #[test]
    fn overrides() {
        let mut v = vars(&[("a", "1"), ("b", "2")]);
        v.apply_overrides(&[Variable {
            name: "c".into(),
            value: "3".into(),
        }]);
        assert_eq!(v.get("c"), Some("3"));
        v.apply_overrides(&[Variable {
            name: "a".into(),
            value: String::new(),
        }]);
        // ifupdown drops the last option, not the named one.
        assert_eq!(v.get("a"), Some("1"));
        assert_eq!(v.get("c"), None);
    }
}
