//! Defining and undefining a connection in a configuration, as ncftool
//! `define`/`undefine` and netconfd's `iface-define`/`iface-undefine` do:
//! the steps between a document and [`crate::edit`], in one place for both.

use crate::document::Interface;
use crate::edit::{self, EditError};
use crate::stanzas::{self, DescribeError, RenderError};
use crate::xml::{self, XmlErrors};
use netconf_interfaces::InterfacesFile;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("{0}")]
    Invalid(#[from] XmlErrors),
    #[error(transparent)]
    Inexpressible(#[from] RenderError),
    #[error(
        "{name} is part of {owner}: change {owner}'s document, or take {name} out of it first"
    )]
    Taken { name: String, owner: String },
    #[error(transparent)]
    NotFound(#[from] DescribeError),
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// What a define did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defined {
    pub name: String,
    pub files: Vec<PathBuf>,
}

/// Writes the document `text` into the configuration `current` (as read
/// from `config`): its stanzas replace the connection's and those of the
/// ports or slaves it had (the new document may leave some out), keeping
/// the option lines the document cannot say. Refused when an interface of
/// the document is another connection's port: its stanza would contradict
/// that connection's.
pub fn define(
    config: &edit::Config,
    current: &InterfacesFile,
    text: &str,
) -> Result<Defined, ConnectionError> {
    let doc = xml::parse(text)?;
    for name in doc.names() {
        if let Some(owner) = stanzas::owner(current, &name).filter(|o| *o != doc.name) {
            return Err(ConnectionError::Taken { name, owner });
        }
    }
    let old = stanzas::describe(current, &doc.name).ok();
    let kept = old.as_ref().map_or(&[][..], |o| &o.unexpressed[..]);
    let rendered = stanzas::render_keeping(&doc, kept)?;
    let mut names = rendered.names;
    if let Some(old) = &old {
        for name in old.interface.names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let files = edit::define(config, &doc.name, &names, &rendered.text)?;
    Ok(Defined {
        name: doc.name,
        files,
    })
}

/// Takes the connection `name` out of the configuration: its stanzas and
/// those of its ports and slaves.
pub fn undefine(
    config: &edit::Config,
    current: &InterfacesFile,
    name: &str,
) -> Result<Vec<PathBuf>, ConnectionError> {
    let described = stanzas::describe(current, name)?;
    Ok(edit::undefine(
        config,
        &with_stanzas(current, &described.interface),
    )?)
}

/// The interfaces of a document that have stanzas (a port with nothing to
/// configure has none).
fn with_stanzas(config: &InterfacesFile, doc: &Interface) -> Vec<String> {
    doc.names()
        .into_iter()
        .filter(|n| config.stanzas.iter().any(|s| &s.name == n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::{parse_file, ParseOptions};
    use std::fs;

    fn setup(text: &str) -> (tempfile::TempDir, edit::Config) {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("etc/network/interfaces.d")).unwrap();
        fs::write(root.path().join("etc/network/interfaces"), text).unwrap();
        let config = edit::Config {
            main: root.path().join("etc/network/interfaces"),
            root: Some(root.path().to_path_buf()),
        };
        (root, config)
    }

    fn read(config: &edit::Config) -> InterfacesFile {
        let parsed = parse_file(
            &config.main.to_string_lossy(),
            &ParseOptions {
                no_loopback: true,
                root: config
                    .root
                    .as_ref()
                    .map(|r| r.to_string_lossy().into_owned()),
                dialect: netconf_interfaces::DialectChoice::Debian,
            },
        );
        assert!(!parsed.rejected, "{:?}", parsed.diagnostics);
        parsed.config
    }

    #[test]
    fn a_redefine_keeps_what_the_document_cannot_say() {
        let (_root, config) = setup(
            "auto eth0\niface eth0 inet static\n    address 198.51.100.5/24\n    metric 5\n    dns-nameservers 198.51.100.53\n# after\n",
        );
        let doc = r#"<interface type="ethernet" name="eth0"><start mode="onboot"/><protocol family="ipv4"><ip address="198.51.100.6" prefix="24"/></protocol></interface>"#;
        let defined = define(&config, &read(&config), doc).unwrap();
        assert_eq!(defined.name, "eth0");
        assert_eq!(
            fs::read_to_string(&config.main).unwrap(),
            "auto eth0\niface eth0 inet static\n    address 198.51.100.6/24\n    metric 5\n    dns-nameservers 198.51.100.53\n# after\n"
        );
    }

    #[test]
    fn another_connections_port_is_refused_and_nothing_written() {
        let text = "iface br0 inet manual\n    bridge_ports eth0\n";
        let (_root, config) = setup(text);
        let doc = r#"<interface type="ethernet" name="eth0"/>"#;
        let e = define(&config, &read(&config), doc).unwrap_err();
        assert!(matches!(e, ConnectionError::Taken { .. }), "{e}");
        assert_eq!(fs::read_to_string(&config.main).unwrap(), text);
        // Undefining the bridge takes its port's nothing: it has no stanza.
        undefine(&config, &read(&config), "br0").unwrap();
        assert_eq!(fs::read_to_string(&config.main).unwrap(), "");
    }
}
