//! The `/etc/network/interfaces` reader of netconf: the whole of interfaces(5)
//! as Debian's ifupdown 0.8.41 reads it (families and methods of its `*.defn`
//! files, `source`, `mapping`, `inherits`, `rename`, ...), into a plain,
//! serialisable model that keeps file and line of everything, with errors that
//! say what is wrong and where, and Debian's own wording where `ifquery` must
//! print it byte for byte.

pub mod diagnostics;
pub mod dialect;
pub mod families;
pub mod graph;
pub mod include;
pub mod invariants;
pub mod lines;
pub mod linkopts;
pub mod mapping;
pub mod model;
pub mod parser;
pub mod pattern;
pub mod system;
pub mod targets;
pub mod validate;
pub mod variables;

pub use diagnostics::{Diagnostic, DiagnosticKind, Severity};
pub use dialect::{Dialect, DialectChoice};
pub use model::{
    AllowClass, Family, InterfacesFile, Location, Mapping, OptionLine, SourceFile, Stanza,
};
pub use parser::{parse_bytes, parse_file, ParseOptions, Parsed};
pub use variables::{Variable, Variables};
