//! TEMPORARY: the signatures of `netconf_ifxml::{edit, transaction}` while they are written on other branches; removed when
//! they land on main. Every function fails, saying so.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
#[error("not built yet: {0}")]
pub struct Missing(&'static str);

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
