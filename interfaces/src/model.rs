//! The parsed configuration: plain data, in file order, serialisable.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Everything read from an interfaces file and the files it sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfacesFile {
    /// Every file read, in the order it was opened; the first is the main file.
    pub files: Vec<SourceFile>,
    /// `iface` stanzas in file order. Without `--no-loopback`, and unless the
    /// file defines a loopback stanza itself, Debian's implicit `iface lo inet
    /// loopback` comes first (it has no location).
    pub stanzas: Vec<Stanza>,
    /// `auto` and `allow-CLASS` lists, in the order each class first appears.
    /// `auto` and `allow-auto` are the same class, named `auto`.
    pub classes: Vec<AllowClass>,
    pub mappings: Vec<Mapping>,
    /// `no-auto-down` patterns, in file order.
    pub no_auto_down: Vec<String>,
    /// `no-scripts` patterns, in file order.
    pub no_scripts: Vec<String>,
    /// `rename` entries (`CUR=NEW`, patterns allowed), in file order.
    pub renames: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as ifupdown builds it (relative includes are joined to the
    /// including file's directory, not canonicalised).
    pub path: String,
    /// The `source`/`source-directory` line that pulled this file in.
    pub included_from: Option<Location>,
}

/// A place in the configuration: an index into [`InterfacesFile::files`] and
/// the 1-based line number ifupdown would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: usize,
    pub line: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
    Ipx,
    Can,
    /// ifupdown's internal family for the `--all` hook calls; files may name it.
    Meta,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
            Family::Ipx => "ipx",
            Family::Can => "can",
            Family::Meta => "meta",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `iface NAME FAMILY METHOD` stanza.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stanza {
    /// The logical interface name (what `ifup PHYS=LOGICAL` selects).
    pub name: String,
    pub family: Family,
    pub method: String,
    /// The stanza named by `inherits`, if any; its options were copied first.
    pub inherits: Option<String>,
    /// Option lines in order, inherited ones first. `post-up` is stored as
    /// `up` and `pre-down` as `down`, as ifupdown does.
    pub options: Vec<OptionLine>,
    /// The `iface` line; `None` for the implicit loopback stanza.
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionLine {
    pub name: String,
    pub value: String,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowClass {
    pub name: String,
    /// Interface names or patterns, first mention only.
    pub interfaces: Vec<String>,
}

/// A `mapping` stanza: a script that picks the logical interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Glob patterns matched against the logical interface name.
    pub patterns: Vec<String>,
    pub script: Option<String>,
    /// `map` lines, written to the script's standard input.
    pub maps: Vec<String>,
    pub location: Location,
}

/// The commands ifupdown keeps as a list instead of merging repeats.
pub fn is_command_option(name: &str) -> bool {
    matches!(name, "pre-up" | "up" | "down" | "post-down")
}

impl InterfacesFile {
    /// The class list named `class` (`auto` for `auto` lines).
    pub fn class(&self, class: &str) -> Option<&AllowClass> {
        self.classes.iter().find(|c| c.name == class)
    }

    /// Whether `name` is on a line of `class` (`auto`, `hotplug`, ...),
    /// as written (patterns are not expanded).
    pub fn in_class(&self, class: &str, name: &str) -> bool {
        self.class(class)
            .is_some_and(|c| c.interfaces.iter().any(|i| i == name))
    }

    /// Stanzas whose logical name is `name`, in file order.
    pub fn stanzas_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Stanza> + 'a {
        self.stanzas.iter().filter(move |s| s.name == name)
    }

    /// "FILE:LINE", as ifupdown prints it.
    pub fn describe(&self, location: Location) -> String {
        match self.files.get(location.file) {
            Some(file) => format!("{}:{}", file.path, location.line),
            None => format!("?:{}", location.line),
        }
    }

    /// The chain of `source` lines that led to `location`'s file, innermost first.
    pub fn include_chain(&self, location: Location) -> Vec<Location> {
        let mut chain = Vec::new();
        let mut file = location.file;
        while let Some(from) = self.files.get(file).and_then(|f| f.included_from) {
            if chain.len() > self.files.len() {
                break;
            }
            chain.push(from);
            file = from.file;
        }
        chain
    }
}
