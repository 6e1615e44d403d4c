//! TEMPORARY: the signatures of `netconf_ifxml::{stanzas, edit,
//! transaction}` while they are written on other branches; removed when
//! they land on main. Every function fails, saying so.

#![allow(dead_code)]

use netconf_ifxml::document::Interface;
use netconf_interfaces::InterfacesFile;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
#[error("not built yet: {0}")]
pub struct Missing(&'static str);

pub mod stanzas {
    use super::*;
    use std::fmt;

    pub type RenderError = Missing;
    pub type DescribeError = Missing;

    pub struct Rendered {
        pub text: String,
        pub names: Vec<String>,
    }
    pub fn render(_doc: &Interface) -> Result<Rendered, RenderError> {
        Err(Missing("ifxml::stanzas::render"))
    }
    pub struct Described {
        pub interface: Interface,
        pub unexpressed: Vec<Unexpressed>,
    }
    pub struct Unexpressed {
        pub place: String,
        pub interface: String,
        pub what: String,
    }
    impl fmt::Display for Unexpressed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}: {}: {}", self.place, self.interface, self.what)
        }
    }
    pub fn describe(_config: &InterfacesFile, _name: &str) -> Result<Described, DescribeError> {
        Err(Missing("ifxml::stanzas::describe"))
    }
    pub fn connections(_config: &InterfacesFile) -> Vec<String> {
        Vec::new()
    }
}

pub mod edit {
    use super::*;
    pub type EditError = Missing;
    pub struct Config {
        pub main: PathBuf,
        pub root: Option<PathBuf>,
    }
    pub fn define(
        _config: &Config,
        _primary: &str,
        _names: &[String],
        _text: &str,
    ) -> Result<Vec<PathBuf>, EditError> {
        Err(Missing("ifxml::edit::define"))
    }
    pub fn undefine(_config: &Config, _names: &[String]) -> Result<Vec<PathBuf>, EditError> {
        Err(Missing("ifxml::edit::undefine"))
    }
}

pub mod transaction {
    use super::*;
    pub type TransactionError = Missing;
    pub struct Transactions;
    impl Transactions {
        pub fn new(_state_dir: &Path, _config_dir: &Path) -> Self {
            Transactions
        }
        pub fn begin(&self) -> Result<(), TransactionError> {
            Err(Missing("ifxml::transaction"))
        }
        pub fn commit(&self) -> Result<(), TransactionError> {
            Err(Missing("ifxml::transaction"))
        }
        pub fn rollback(&self) -> Result<Vec<PathBuf>, TransactionError> {
            Err(Missing("ifxml::transaction"))
        }
        pub fn open_since(&self) -> Result<Option<SystemTime>, TransactionError> {
            Ok(None)
        }
    }
}
