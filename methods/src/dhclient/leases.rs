//! dhclient's lease file (`-lf`), read back: the latest lease of an
//! interface as the environment dhclient would give its script for it
//! (`new_*` variables), so that [`parse_event`](super::parse_event) reads
//! and checks it as it reads a hook's. The daemon uses it to catch up on a
//! renewal it missed (it was stopped while dhclient renewed).
//!
//! The file is a list of `lease { ... }` blocks, the newest last, of lines
//! such as `fixed-address 198.18.0.107;`, `option routers 198.18.0.1;`,
//! `option domain-search "example.test.", "lab.example.test.";` and
//! `expire 0 2026/12/06 23:42:13;` (UTC), or `expire epoch 1796000000;`
//! with `db-time-format local`. The variable of `option NAME` is `new_NAME`
//! with `-` as `_`, as in the script's environment; lists lose their commas
//! and strings their quotes.

/// The `new_*` environment of the newest lease of `iface` in `text`, with
/// `reason` and `interface`; `None` when there is none.
pub fn latest(text: &str, iface: &str, reason: &str) -> Option<Vec<(String, String)>> {
    let block = blocks(text)
        .into_iter()
        .rfind(|b| statements(b).any(|(k, v)| k == "interface" && unquote(v) == iface))?;
    let mut env = vec![
        ("reason".to_string(), reason.to_string()),
        ("interface".to_string(), iface.to_string()),
    ];
    for (key, value) in statements(block) {
        let (name, value) = match key {
            "fixed-address" => ("ip_address".to_string(), value.to_string()),
            "expire" => ("expiry".to_string(), epoch(value)?.to_string()),
            _ => match key.strip_prefix("option ") {
                Some(option) => (option.replace('-', "_"), list(value)),
                None => continue,
            },
        };
        env.push((format!("new_{name}"), value));
    }
    Some(env)
}

/// The bodies of the `lease { ... }` blocks, in file order.
fn blocks(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("lease {") {
        let body = &rest[start + "lease {".len()..];
        let Some(end) = body.find('}') else {
            break;
        };
        found.push(&body[..end]);
        rest = &body[end + 1..];
    }
    found
}

/// The `KEY VALUE;` statements of a block; an option's key is `option NAME`.
fn statements(block: &str) -> impl Iterator<Item = (&str, &str)> {
    block.split(';').filter_map(|s| {
        let s = s.trim();
        let split_at = match s.strip_prefix("option ") {
            Some(rest) => rest.find(char::is_whitespace)? + "option ".len(),
            None => s.find(char::is_whitespace)?,
        };
        let (key, value) = s.split_at(split_at);
        Some((key, value.trim()))
    })
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// `a, b` or `"a", "b"` as the script's `a b`.
fn list(value: &str) -> String {
    value
        .split(',')
        .map(|item| unquote(item.trim()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `0 2026/12/06 23:42:13` (UTC) or `epoch 1796000000` as epoch seconds;
/// `never` as the largest.
fn epoch(value: &str) -> Option<u64> {
    let words: Vec<&str> = value.split_whitespace().collect();
    match words.as_slice() {
        ["never"] => Some(u64::from(u32::MAX)),
        ["epoch", secs, ..] => secs.parse().ok(),
        [_weekday, date, time] => {
            let mut d = date.split('/').map(str::parse::<i64>);
            let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
            let mut t = time.split(':').map(str::parse::<i64>);
            let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
            let in_range = (1970..=9999).contains(&y)
                && (1..=12).contains(&m)
                && (1..=31).contains(&day)
                && (0..=23).contains(&h)
                && (0..=59).contains(&min)
                && (0..=60).contains(&s);
            if !in_range {
                return None;
            }
            let days = days_from_civil(y, m, day);
            u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()
        }
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::Reason;

    const FILE: &str = r#"lease {
  interface "cli0";
  fixed-address 198.18.0.107;
  option subnet-mask 255.255.255.0;
  option routers 198.18.0.1;
  option dhcp-lease-time 120;
  renew 0 2026/12/06 23:41:02;
  expire 0 2026/12/06 23:42:13;
}
lease {
  interface "cli1";
  fixed-address 198.18.1.5;
  expire 0 2026/12/06 23:50:00;
}
lease {
  interface "cli0";
  fixed-address 198.18.0.108;
  option subnet-mask 255.255.255.0;
  option routers 198.18.0.1,198.18.0.2;
  option domain-name-servers 198.18.0.53;
  option domain-search "example.test.", "lab.example.test.";
  option rfc3442-classless-static-routes 16,198,19,198,18,0,1;
  option dhcp-lease-time 120;
  option dhcp-server-identifier 198.18.0.1;
  renew 0 2026/12/06 23:43:02;
  rebind 0 2026/12/06 23:43:58;
  expire 0 2026/12/06 23:44:13;
}
"#;

    #[test]
    fn the_newest_lease_of_the_interface_reads_as_a_renewal() {
        let env = latest(FILE, "cli0", "RENEW").expect("a lease");
        let event = crate::dhclient::parse_event(&env).expect("a valid event");
        assert_eq!(event.reason, Reason::Renew);
        let lease = event.new_v4().expect("a lease");
        assert_eq!(lease.address.to_string(), "198.18.0.108");
        assert_eq!(lease.prefix_len, 24);
        assert_eq!(lease.routers.len(), 2);
        assert_eq!(lease.search, ["example.test", "lab.example.test"]);
        assert_eq!(lease.classless_routes.len(), 1);
        assert_eq!(lease.lease_time, Some(120));
        // `date -u -d '2026-12-06 23:44:13' +%s`
        assert_eq!(lease.expiry, Some(1_796_600_653));
        assert!(latest(FILE, "eth9", "RENEW").is_none());
    }

    #[test]
    fn dates_and_odd_files() {
        assert_eq!(epoch("4 1970/01/01 00:00:10"), Some(10));
        assert_eq!(epoch("epoch 1796000000"), Some(1_796_000_000));
        assert_eq!(epoch("never"), Some(u64::from(u32::MAX)));
        assert_eq!(epoch("0 2026/13/06 23:44:13"), None);
        // Found by fuzzing (dhcp_lease_file): a year that overflowed the
        // seconds.
        assert_eq!(epoch("0 8888888888888888/1/1 0:0:0"), None);
        assert_eq!(epoch("0 2026/1/1 -1:0:0"), None);
        assert_eq!(epoch("garbage"), None);
        for text in [
            "",
            "lease {",
            "lease { interface \"cli0\"; expire nonsense; }",
            "}}lease{",
        ] {
            if let Some(env) = latest(text, "cli0", "RENEW") {
                let _ = crate::dhclient::parse_event(&env);
            }
        }
    }
}
