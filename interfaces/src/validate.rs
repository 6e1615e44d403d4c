//! Checks beyond what the parser sees line by line: what `ifup` would refuse.

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::families::method_def;
use crate::model::InterfacesFile;
use crate::variables::Variables;

/// Stanzas that lack an option their method cannot run without (ifupdown's
/// `ifup` fails them with "missing required variable"), after defaults and
/// conversions, as `ifup` would see them. Templates (stanzas others inherit
/// from that no `auto`/`allow-*` line names) are not meant to be brought up
/// and are left alone.
pub fn missing_required(config: &InterfacesFile) -> Vec<Diagnostic> {
    let is_template = |name: &str| {
        config
            .stanzas
            .iter()
            .any(|s| s.inherits.as_deref() == Some(name))
            && !config
                .classes
                .iter()
                .any(|c| c.interfaces.iter().any(|i| i == name))
    };
    let mut out = Vec::new();
    for stanza in &config.stanzas {
        if is_template(&stanza.name) {
            continue;
        }
        let Some(method) = method_def(stanza.family, &stanza.method) else {
            continue;
        };
        if method.required.is_empty() {
            continue;
        }
        let mut vars = Variables::from_stanza(stanza);
        vars.apply_defaults(method);
        vars.convert(method, &stanza.name);
        for option in method.required {
            if vars.get(option).is_none() {
                out.push(Diagnostic {
                    kind: DiagnosticKind::MissingRequired {
                        iface: stanza.name.clone(),
                        family: stanza.family,
                        method: stanza.method.clone(),
                        option: (*option).to_string(),
                    },
                    location: stanza.location,
                    debian_prints: false,
                });
            }
        }
    }
    out
}
