//! The dialects of interfaces(5): Debian's ifupdown (the one the rest of this
//! crate reads), ifupdown-ng's (Alpine) and ifupdown2's (Proxmox VE,
//! Cumulus). Every dialect is read into the same model ([`crate::model`]),
//! so the daemon, the graph, hooks and `--json` know no dialect; only
//! reading (and `ifquery`'s own output format for ng) differs.
//!
//! Choosing: an admin names the dialect (`--dialect`, `DIALECT=` in
//! `/etc/default/networking`) or leaves it `auto`. `auto` reads a file as
//! Debian's, exactly as before, unless Debian's reader refuses it and a line
//! that only one other dialect has (ifupdown-ng's `use`, `template`,
//! `inherit`; ifupdown2's `vlan` objects, Mako lines, `addr-method`, ...)
//! says whose it is; then it is read as that one's, with one warning naming
//! that line. A file that Debian refuses and that both other dialects could
//! mean (`iface eth0` with addresses and nothing else) stays refused: which
//! of them the admin meant is theirs to say.

pub mod ifupdown2;
pub mod mako;
pub mod ng;

use crate::diagnostics::{Diagnostic, DiagnosticKind, Severity};
use crate::lines::next_word;
use crate::model::{Location, SourceFile};
use crate::parser::{read_limited, ParseOptions, Parsed};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// A file a dialect's reader opens, the main one or one `source`d:
/// `Ok(None)` when it was read already (a `source` loop ends there), else
/// its index in `files` (where it is recorded) and its bytes (`data` when
/// given, else read from `path`). A file that cannot be read is `Err`: the
/// diagnostic to note at the line that named it.
fn open_source(
    seen: &mut HashSet<String>,
    files: &mut Vec<SourceFile>,
    path: &str,
    included_from: Option<Location>,
    data: Option<&[u8]>,
) -> Result<Option<(usize, Vec<u8>)>, DiagnosticKind> {
    if !seen.insert(path.to_string()) {
        return Ok(None);
    }
    let bytes = match data {
        Some(d) => d.to_vec(),
        None => read_limited(path).map_err(|error| DiagnosticKind::ReadFailed {
            path: path.to_string(),
            error,
        })?,
    };
    files.push(SourceFile {
        path: path.to_string(),
        included_from,
    });
    Ok(Some((files.len() - 1, bytes)))
}

/// A dialect a file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Debian's ifupdown 0.8.
    #[default]
    Debian,
    /// ifupdown2 (Cumulus, Proxmox VE).
    Ifupdown2,
    /// ifupdown-ng (Alpine).
    IfupdownNg,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Debian => "debian",
            Dialect::Ifupdown2 => "ifupdown2",
            Dialect::IfupdownNg => "ifupdown-ng",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the admin asked for: one dialect, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialectChoice {
    #[default]
    Auto,
    Debian,
    Ifupdown2,
    IfupdownNg,
}

impl DialectChoice {
    pub fn name(self) -> &'static str {
        match self {
            DialectChoice::Auto => "auto",
            DialectChoice::Debian => "debian",
            DialectChoice::Ifupdown2 => "ifupdown2",
            DialectChoice::IfupdownNg => "ifupdown-ng",
        }
    }

    pub fn fixed(self) -> Option<Dialect> {
        match self {
            DialectChoice::Auto => None,
            DialectChoice::Debian => Some(Dialect::Debian),
            DialectChoice::Ifupdown2 => Some(Dialect::Ifupdown2),
            DialectChoice::IfupdownNg => Some(Dialect::IfupdownNg),
        }
    }
}

impl fmt::Display for DialectChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect `{0}` (known: debian, ifupdown2, ifupdown-ng, auto)")]
pub struct UnknownDialect(pub String);

impl FromStr for DialectChoice {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" | "" => DialectChoice::Auto,
            "debian" | "ifupdown" => DialectChoice::Debian,
            "ifupdown2" => DialectChoice::Ifupdown2,
            "ifupdown-ng" | "ng" => DialectChoice::IfupdownNg,
            other => return Err(UnknownDialect(other.to_string())),
        })
    }
}

/// Reads `path` (or `data`, its bytes) in the dialect `options` ask for.
pub(crate) fn parse(path: &str, data: Option<&[u8]>, options: &ParseOptions) -> Parsed {
    match options.dialect {
        DialectChoice::Debian => crate::parser::parse_debian(path, data, options),
        DialectChoice::IfupdownNg => ng::parse(path, data, options),
        DialectChoice::Ifupdown2 => ifupdown2::parse(path, data, options),
        DialectChoice::Auto => auto(path, data, options),
    }
}

fn auto(path: &str, data: Option<&[u8]>, options: &ParseOptions) -> Parsed {
    let debian = crate::parser::parse_debian(path, data, options);
    if !debian
        .diagnostics
        .iter()
        .any(|d| d.severity() == Severity::Error)
    {
        return debian;
    }
    let Some((dialect, location, reason)) = evidence(&debian, data) else {
        return debian;
    };
    let mut other = match dialect {
        Dialect::IfupdownNg => ng::parse(path, data, options),
        Dialect::Ifupdown2 => ifupdown2::parse(path, data, options),
        Dialect::Debian => return debian,
    };
    if other.rejected || other.errors().next().is_some() {
        return debian;
    }
    // The deciding line is in one of the files Debian read; the other
    // reader read the same file under the same path.
    let file = debian.config.files.get(location.file).map(|f| &f.path);
    let location = file
        .and_then(|path| other.config.files.iter().position(|f| &f.path == path))
        .map(|file| Location {
            file,
            line: location.line,
        });
    other.diagnostics.insert(
        0,
        Diagnostic {
            kind: DiagnosticKind::DialectDetected {
                dialect: dialect.name().into(),
                reason,
            },
            location,
            debian_prints: true,
        },
    );
    other
}

/// The first line of the files Debian read that only one other dialect
/// has, and whose; nothing when lines of both are there.
fn evidence(debian: &Parsed, data: Option<&[u8]>) -> Option<(Dialect, Location, String)> {
    let mut ng = None;
    let mut two = None;
    for (index, file) in debian.config.files.iter().enumerate() {
        let bytes = match (index, data) {
            (0, Some(data)) => data.to_vec(),
            _ => match std::fs::read(&file.path) {
                Ok(bytes) => bytes,
                Err(_) => continue,
            },
        };
        for line in crate::lines::Lines::new(&bytes) {
            let Some((first, rest)) = next_word(&line.text) else {
                continue;
            };
            let location = Location {
                file: index,
                line: line.first,
            };
            if ng.is_none() {
                ng = ng_only(first, rest).map(|why| (location, why));
            }
            if two.is_none() {
                two = ifupdown2_only(first, rest).map(|why| (location, why));
            }
        }
    }
    match (ng, two) {
        (Some((at, why)), None) => Some((Dialect::IfupdownNg, at, why)),
        (None, Some((at, why))) => Some((Dialect::Ifupdown2, at, why)),
        _ => None,
    }
}

/// Why the line `first rest` can only be ifupdown-ng's.
fn ng_only(first: &str, rest: &str) -> Option<String> {
    let word = next_word(rest).map(|(w, _)| w).unwrap_or_default();
    match first {
        "use" => Some(format!("`use {word}` names an ifupdown-ng executor")),
        "template" => Some(format!("`template {word}` is ifupdown-ng's template")),
        "inherit" => Some(format!("`inherit {word}` is ifupdown-ng's inheritance")),
        "interface" => Some(format!("`interface {word}` is ifupdown-ng's stanza")),
        "defaults" if rest.is_empty() => Some("`defaults` is ifupdown-ng's stanza".into()),
        _ => None,
    }
}

/// Why the line `first rest` can only be ifupdown2's: Mako templates,
/// `vlan` objects, attributes only its addons have.
fn ifupdown2_only(first: &str, rest: &str) -> Option<String> {
    if first.starts_with('%') || first.starts_with("<%") {
        return Some("Mako template lines are ifupdown2's".into());
    }
    let word = next_word(rest).map(|(w, _)| w).unwrap_or_default();
    match first {
        "vlan" => Some(format!("`vlan {word}` is ifupdown2's bridge VLAN object")),
        "addr-method" | "address-purge" => Some(format!("`{first}` is ifupdown2's attribute")),
        m if m.starts_with("mstpctl-") => Some(format!("`{first}` is ifupdown2's attribute")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!("auto".parse(), Ok(DialectChoice::Auto));
        assert_eq!("ifupdown-ng".parse(), Ok(DialectChoice::IfupdownNg));
        assert_eq!("debian".parse(), Ok(DialectChoice::Debian));
        assert!("ng2".parse::<DialectChoice>().is_err());
    }
}
