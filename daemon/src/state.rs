//! What netconf has brought up, under which logical name, and what it put
//! into the kernel for each stanza: the daemon's memory across restarts,
//! written atomically to the run directory after every change.

use netconf_interfaces::{Family, Stanza};
use netconf_methods::apply::Applied;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// In ifupdown's `ifstate` order: an interface keeps its place when
    /// brought up again, new ones go last.
    pub interfaces: Vec<IfaceRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfaceRecord {
    pub phys: String,
    pub logical: String,
    pub stanzas: Vec<StanzaRecord>,
    /// The kernel's index of the link, to recognise it after a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    /// The configuration it came up with: `ifreload` compares the file with
    /// it, and takes the interface down with it when its stanza is gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<Stanza>,
    /// It was in the `auto` class when it came up.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto: bool,
    /// Found configured as the file says when netconfd started, and taken
    /// over without a change.
    #[serde(default, skip_serializing_if = "is_false")]
    pub adopted: bool,
    /// An `ifup` or `ifdown` of it has begun and not finished; after a
    /// crash, what of it was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<InProgress>,
}

/// An `ifup` or `ifdown` under way. It is on disk before the first hook of
/// the work runs (as Debian's ifupdown writes its state file before the
/// first hook), and each hook phase is marked before it starts: a daemon
/// that crashed and was started again finishes the work without running a
/// hook twice ([`crate::ifaces`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InProgress {
    pub up: bool,
    /// The hook phases that have started, by stanza family: they do not run
    /// again when the work is taken up again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks_started: Vec<(Family, String)>,
    /// For an `ifup`: the links its stanzas create that existed when it
    /// began (any other one found later is netconf's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links_before: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl IfaceRecord {
    pub fn new(phys: String, logical: String) -> IfaceRecord {
        IfaceRecord {
            phys,
            logical,
            stanzas: Vec::new(),
            ifindex: None,
            config: Vec::new(),
            auto: false,
            adopted: false,
            in_progress: None,
        }
    }

    /// Whether ifupdown's state file would list it: it is up, or an `ifup`
    /// of it has begun (an `ifdown` that has begun takes it out).
    pub fn listed(&self) -> bool {
        self.in_progress.as_ref().is_none_or(|p| p.up)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StanzaRecord {
    pub family: Family,
    pub method: String,
    pub applied: Applied,
    /// The dhclient of a `dhcp` stanza, and what its lease put in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<crate::dhcp::DhcpRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a netconf state file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl State {
    /// The state file in `run_dir`; a missing file is an empty state (first start after boot).
    pub fn load(path: &Path) -> Result<State, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Parse {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes a temporary file next to `path` and renames it over: a crash
    /// leaves the old state or the new one, never half of one; the
    /// directory is synced after the rename, so that a power cut does not
    /// lose the new name. A failed write (a full disk) leaves the old file
    /// and no temporary one.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e));
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)
    }

    pub fn get_mut(&mut self, phys: &str) -> Option<&mut IfaceRecord> {
        self.interfaces.iter_mut().find(|r| r.phys == phys)
    }

    /// It is up: brought up (or adopted) and no `ifup` or `ifdown` of it
    /// under way or cut short.
    pub fn configured(&self, phys: &str) -> bool {
        self.get(phys).is_some_and(|r| r.in_progress.is_none())
    }

    pub fn get(&self, phys: &str) -> Option<&IfaceRecord> {
        self.interfaces.iter().find(|r| r.phys == phys)
    }

    pub fn set(&mut self, record: IfaceRecord) {
        match self.interfaces.iter_mut().find(|r| r.phys == record.phys) {
            Some(existing) => *existing = record,
            None => self.interfaces.push(record),
        }
    }

    pub fn remove(&mut self, phys: &str) -> Option<IfaceRecord> {
        let idx = self.interfaces.iter().position(|r| r.phys == phys)?;
        Some(self.interfaces.remove(idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phys: &str, logical: &str) -> IfaceRecord {
        IfaceRecord::new(phys.into(), logical.into())
    }

    #[test]
    fn order_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut s = State::default();
        s.set(record("eth0", "eth0"));
        s.set(record("eth1", "eth1"));
        s.set(record("eth0", "home"));
        assert_eq!(s.interfaces[0].logical, "home");
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
        assert!(s.remove("eth0").is_some());
        assert_eq!(s.interfaces.len(), 1);
        std::fs::write(&path, "nonsense").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Parse { .. })));
    }
}
