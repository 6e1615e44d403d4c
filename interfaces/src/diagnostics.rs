//! What the parser has to say about a file: errors, warnings and the verbose
//! trace, each with Debian's exact wording (for byte-compatible `ifquery`)
//! and our own, which says what was expected.

use crate::families::method_names;
use crate::model::{Family, InterfacesFile, Location};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Debian stops reading the file here.
    Error,
    Warning,
    /// Printed with `--verbose` only.
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DiagnosticKind {
    #[error("`iface` needs an interface name, an address family and a method")]
    IfaceTooFewParameters,
    #[error("{}", unknown_family(.family.as_deref()))]
    UnknownFamily { family: Option<String> },
    #[error("{}", unknown_method(*.family, .method.as_deref()))]
    UnknownMethod {
        family: Family,
        method: Option<String>,
    },
    #[error("`{keyword}` needs the name of the interface to inherit from")]
    KeywordMissingParameter { keyword: String },
    #[error("cannot inherit from `{name}`: no {} stanza of that name above this line", .family.as_deref().unwrap_or("such"))]
    UnknownInheritTarget {
        name: String,
        /// The family as written on the `iface` line, if it named one.
        family: Option<String>,
    },
    #[error("option `{option}` has no value")]
    EmptyValue { option: String },
    #[error("a mapping has only one `script`; this is the second")]
    DuplicateMappingScript,
    #[error("{}", misplaced(.option, *.in_mapping))]
    MisplacedOption { option: String, in_mapping: bool },
    #[error("cannot read {path}: {error}")]
    ReadFailed { path: String, error: String },
    #[error("extra word `{word}` on the iface line is ignored (only `inherits NAME` may follow the method)")]
    ExtraIfaceParameter { word: String },
    #[error("cannot open {path}: {error}")]
    OpenFailed { path: String, error: String },
    #[error("`source` lines nest more than {depth} files deep; not reading {path}")]
    IncludeTooDeep { path: String, depth: usize },
    #[error("iface {iface} ({family} {method}) lacks `{option}`, which `ifup` requires")]
    MissingRequired {
        iface: String,
        family: Family,
        method: String,
        option: String,
    },
    #[error("iface {iface}: `{option} {value}`: {reason}")]
    InvalidOption {
        iface: String,
        option: String,
        value: String,
        reason: String,
    },
    #[error("parsing file {path}")]
    ParsingFile { path: String },
    #[error("reading directory {path}")]
    ReadingDirectory { path: String },
    #[error("read in {dialect}'s dialect: this line cannot be Debian's ({reason}); say --dialect (or DIALECT= in /etc/default/networking) to choose")]
    DialectDetected { dialect: String, reason: String },
    #[error("`{option}` before any iface stanza is ignored")]
    OutsideInterface { option: String },
    /// An error of another dialect's reader, in its words.
    #[error("{message}")]
    DialectSyntax { message: String },
    /// What another dialect's file says that netconf reads but does not do,
    /// in its words.
    #[error("{message}")]
    DialectIgnored { message: String },
}

fn unknown_family(family: Option<&str>) -> String {
    match family {
        Some(f) => format!(
            "unknown address family `{f}` (known: inet, inet6, ipx, can, meta; or `inherits NAME`)"
        ),
        None => "`iface NAME` needs an address family and a method (or `inherits NAME`); \
                 ifupdown-ng's and ifupdown2's files have none: --dialect ifupdown-ng or \
                 --dialect ifupdown2 reads them"
            .into(),
    }
}

fn unknown_method(family: Family, method: Option<&str>) -> String {
    let known = method_names(family).join(", ");
    match method {
        Some(m) => {
            format!("unknown method `{m}` for {family} (known: {known}; or `inherits NAME`)")
        }
        None => format!("`iface NAME {family}` needs a method (one of: {known})"),
    }
}

fn misplaced(option: &str, in_mapping: bool) -> String {
    if in_mapping {
        format!("`{option}` does not belong in a mapping stanza (only `script` and `map` do)")
    } else {
        format!("option `{option}` is outside any iface or mapping stanza")
    }
}

impl DiagnosticKind {
    pub fn severity(&self) -> Severity {
        use DiagnosticKind::*;
        match self {
            ExtraIfaceParameter { .. }
            | OpenFailed { .. }
            | DialectDetected { .. }
            | DialectIgnored { .. }
            | OutsideInterface { .. } => Severity::Warning,
            ParsingFile { .. } | ReadingDirectory { .. } => Severity::Info,
            _ => Severity::Error,
        }
    }

    /// Debian ifupdown 0.8.41's text, without its `FILE:LINE: ` prefix.
    pub fn debian_message(&self) -> String {
        use DiagnosticKind::*;
        match self {
            IfaceTooFewParameters => "too few parameters for iface line".into(),
            UnknownFamily { .. } => {
                "unknown or no address type and no inherits keyword specified".into()
            }
            UnknownMethod { .. } => "unknown or no method and no inherits keyword specified".into(),
            KeywordMissingParameter { keyword } => {
                format!("'{keyword}' keyword is missing a parameter")
            }
            UnknownInheritTarget { name, family } => format!(
                "unknown iface to inherit from: {name} ({})",
                family.as_deref().unwrap_or("*")
            ),
            EmptyValue { .. } => "option with empty value".into(),
            DuplicateMappingScript => "duplicate script in mapping".into(),
            MisplacedOption { .. } => "misplaced option".into(),
            ReadFailed { path, error } => format!("{path}: {error}"),
            ExtraIfaceParameter { word } => {
                format!("extra parameter for the iface line not understood and ignored: {word}")
            }
            OpenFailed { path, error } => {
                format!("couldn't open interfaces file \"{path}\": {error}")
            }
            other => other.to_string(),
        }
    }

    /// Whether Debian's message starts with the file and line.
    fn debian_has_location(&self) -> bool {
        use DiagnosticKind::*;
        !matches!(
            self,
            ReadFailed { .. } | OpenFailed { .. } | ParsingFile { .. } | ReadingDirectory { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// The offending line; for files that cannot be opened or read, the line
    /// that sourced them (none for the main file).
    pub location: Option<Location>,
    /// Whether Debian prints this too. It stops reading a file at its first
    /// error; we read on to report everything, but stay silent about what
    /// Debian would never have seen.
    pub debian_prints: bool,
}

impl Diagnostic {
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// The line Debian's `ifquery` writes (after `PROGRAM: `).
    pub fn debian_text(&self, config: &InterfacesFile) -> String {
        match self.location {
            Some(loc) if self.kind.debian_has_location() => {
                format!("{}: {}", config.describe(loc), self.kind.debian_message())
            }
            _ => self.kind.debian_message(),
        }
    }

    /// Our report: `FILE:LINE: severity: message`, then the include chain.
    pub fn report(&self, config: &InterfacesFile) -> String {
        let severity = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut out = match self.location {
            Some(loc) if self.kind.debian_has_location() => {
                format!("{}: {severity}: {}", config.describe(loc), self.kind)
            }
            _ => format!("{severity}: {}", self.kind),
        };
        let chain = match self.location {
            Some(loc) if self.kind.debian_has_location() => config.include_chain(loc),
            Some(loc) => std::iter::once(loc)
                .chain(config.include_chain(loc))
                .collect(),
            None => Vec::new(),
        };
        for from in chain {
            out.push_str(&format!("\n    included from {}", config.describe(from)));
        }
        out
    }
}
