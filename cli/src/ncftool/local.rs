//! `ncftool --root DIR`: the files under DIR, read and written here, no
//! daemon. DIR is a copy of a file system: its `etc/network/interfaces`
//! (with what it sources, absolute paths taken under DIR), its
//! `sys/class/net/NAME/` for MACs and whether a connection is active, and
//! its `var/lib/netconf` for the transaction's snapshot. Nothing here
//! touches the kernel: `ifup`, `ifdown` and `dumpxml --live` say so.

use super::{xml_failure, Backend, Dumped, Failure, Listed};
use netconf_ctlsock_proto::{ErrorCode, ErrorReply};
use netconf_ifxml::connection::{self, ConnectionError};
use netconf_ifxml::{edit, stanzas, transaction, xml};
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions};
use std::path::{Path, PathBuf};

/// `IFF_UP` in `/sys/class/net/NAME/flags`.
const IFF_UP: u64 = 0x1;

pub struct Local {
    root: PathBuf,
}

impl Local {
    pub fn new(root: &Path) -> Local {
        Local {
            root: root.to_path_buf(),
        }
    }

    fn main_file(&self) -> PathBuf {
        self.root.join("etc/network/interfaces")
    }

    fn edit_config(&self) -> edit::Config {
        edit::Config {
            main: self.main_file(),
            root: Some(self.root.clone()),
        }
    }

    fn transactions(&self) -> transaction::Transactions {
        transaction::Transactions::new(
            &self.root.join("var/lib/netconf"),
            &self.root.join("etc/network"),
        )
    }

    /// The configuration, refused as the daemon refuses it when Debian
    /// would not read it.
    fn config(&self) -> Result<InterfacesFile, Failure> {
        let file = self.main_file().to_string_lossy().into_owned();
        let parsed = parse_file(
            &file,
            &ParseOptions {
                no_loopback: true,
                root: Some(self.root.to_string_lossy().into_owned()),
                // netcf's documents are Debian's stanzas.
                dialect: netconf_interfaces::DialectChoice::Debian,
            },
        );
        if parsed.rejected {
            return Err(Failure::Reply(ErrorReply {
                code: ErrorCode::ConfigInvalid,
                message: format!("couldn't read interfaces file \"{file}\""),
                causes: parsed.errors().map(|d| d.report(&parsed.config)).collect(),
            }));
        }
        Ok(parsed.config)
    }

    fn sysfs(&self, name: &str) -> PathBuf {
        self.root.join("sys/class/net").join(name)
    }

    /// Active: the link exists, and is up if its flags say.
    fn active(&self, name: &str) -> bool {
        let dir = self.sysfs(name);
        if !dir.is_dir() {
            return false;
        }
        match std::fs::read_to_string(dir.join("flags")) {
            Ok(flags) => {
                let flags = flags.trim();
                let value = flags.strip_prefix("0x").unwrap_or(flags);
                u64::from_str_radix(value, 16).is_ok_and(|f| f & IFF_UP != 0)
            }
            Err(_) => true,
        }
    }

    fn mac(&self, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.sysfs(name).join("address")).ok()?;
        let mac = text.trim();
        (!mac.is_empty()).then(|| mac.to_ascii_lowercase())
    }
}

fn no_daemon(what: &str) -> Failure {
    Failure::new(
        ErrorCode::BadRequest,
        format!("{what} needs netconfd: with --root, ncftool only reads and writes the files under the root"),
    )
}

fn not_found(name: &str, e: stanzas::DescribeError) -> Failure {
    Failure::NoSuchInterface {
        name: name.to_string(),
        why: Some(e.to_string()),
    }
}

fn connection_failure(e: ConnectionError, name: Option<&str>) -> Failure {
    match e {
        ConnectionError::Invalid(errors) => xml_failure(&errors),
        ConnectionError::Inexpressible(e) => Failure::Reply(
            ErrorReply::new(ErrorCode::InvalidXml, "XML invalid").with_cause(e.to_string()),
        ),
        ConnectionError::Taken { .. } => Failure::Reply(
            ErrorReply::new(ErrorCode::EditFailed, "Operation invalid in this state")
                .with_cause(e.to_string()),
        ),
        ConnectionError::NotFound(e) => not_found(name.unwrap_or_default(), e),
        ConnectionError::Edit(e) => edit_failure(e),
    }
}

fn edit_failure(e: impl std::fmt::Display) -> Failure {
    Failure::Reply(
        ErrorReply::new(ErrorCode::EditFailed, "File operation failed").with_cause(e.to_string()),
    )
}

fn transaction_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorCode::Transaction, e.to_string())
}

impl Backend for Local {
    fn list(&mut self, active: Option<bool>, macs: bool) -> Result<Vec<Listed>, Failure> {
        let config = self.config()?;
        Ok(stanzas::connections(&config)
            .into_iter()
            .map(|name| Listed {
                active: self.active(&name),
                mac: if macs { self.mac(&name) } else { None },
                name,
            })
            .filter(|i| active.is_none_or(|a| a == i.active))
            .collect())
    }

    fn dumpxml(&mut self, name: &str, live: bool) -> Result<Dumped, Failure> {
        if live {
            return Err(no_daemon("dumpxml --live"));
        }
        let config = self.config()?;
        let described = stanzas::describe(&config, name).map_err(|e| not_found(name, e))?;
        Ok(Dumped {
            xml: xml::write(&described.interface),
            unexpressed: described
                .unexpressed
                .iter()
                .map(|u| u.to_string())
                .collect(),
        })
    }

    fn define(&mut self, text: &str) -> Result<String, Failure> {
        let current = self.config()?;
        connection::define(&self.edit_config(), &current, text)
            .map(|defined| defined.name)
            .map_err(|e| connection_failure(e, None))
    }

    fn undefine(&mut self, name: &str) -> Result<(), Failure> {
        let current = self.config()?;
        connection::undefine(&self.edit_config(), &current, name)
            .map(|_| ())
            .map_err(|e| connection_failure(e, Some(name)))
    }

    fn ifupdown(&mut self, _name: &str, up: bool) -> Result<(), Failure> {
        Err(no_daemon(if up { "ifup" } else { "ifdown" }))
    }

    fn change_begin(&mut self) -> Result<(), Failure> {
        self.transactions().begin().map_err(transaction_failure)
    }

    fn change_commit(&mut self) -> Result<(), Failure> {
        self.transactions().commit().map_err(transaction_failure)
    }

    /// Only the files: there is no kernel to bring back with `--root`.
    fn change_rollback(&mut self) -> Result<(), Failure> {
        self.transactions()
            .rollback()
            .map(|_| ())
            .map_err(transaction_failure)
    }
}
