//! netcf's `change-begin`/`change-commit`/`change-rollback`: a snapshot of
//! the network configuration directory, taken before a remote admin edits
//! it, that puts back every byte if the change cuts them off (netconfd rolls
//! back an open transaction at start, before bringing anything up).
//!
//! The snapshot lives in `STATE_DIR/transaction` (`begun`, the start time;
//! `tree`, a copy of the directory). It is built under a temporary name and
//! renamed into place last, and taken away by a rename first, so that a
//! crash never leaves half a snapshot that passes for an open transaction.
//! Rollback only rewrites what differs, so a rollback cut short by a crash
//! is finished by the next one.

use crate::edit::{parent_dir, stage, sync_dir, temp_beside};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Hook directories of ifupdown: scripts, not configuration of interfaces,
/// and maybe large; a rollback leaves them as they are.
const HOOK_DIRS: [&str; 4] = ["if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"];

const SNAPSHOT: &str = "transaction";
/// Snapshots being built or being taken away; stale after a crash.
const TEMP_PREFIX: &str = "transaction.tmp-";
const LOCK: &str = "transaction.lock";
const BEGUN: &str = "begun";
const TREE: &str = "tree";

/// Why a transaction step was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error("a transaction is already open (begun {})", describe_time(*.since))]
    AlreadyOpen { since: SystemTime },
    #[error("no transaction is open")]
    NotOpen,
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{}: {reason}; the snapshot is damaged, restore by hand", .path.display())]
    Corrupt { path: PathBuf, reason: &'static str },
}

/// Renames `temp` over `to` (removing `temp` if that fails) and notes `to`
/// as changed.
fn replace(temp: &Path, to: &Path, changed: &mut Vec<PathBuf>) -> Result<(), TransactionError> {
    if let Err(e) = fs::rename(temp, to) {
        let _ = fs::remove_file(temp);
        return Err(io_error("replace", to)(e));
    }
    if !changed.iter().any(|c| c == to) {
        changed.push(to.to_path_buf());
    }
    Ok(())
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> TransactionError {
    let path = path.to_path_buf();
    move |source| TransactionError::Io {
        action,
        path,
        source,
    }
}

/// The transactions on one configuration directory.
#[derive(Debug, Clone)]
pub struct Transactions {
    state_dir: PathBuf,
    config_dir: PathBuf,
}

impl Transactions {
    /// Snapshots of `config_dir` (`ROOT/etc/network`), kept under `state_dir`.
    pub fn new(state_dir: &Path, config_dir: &Path) -> Self {
        Transactions {
            state_dir: state_dir.to_path_buf(),
            config_dir: config_dir.to_path_buf(),
        }
    }

    fn snapshot(&self) -> PathBuf {
        self.state_dir.join(SNAPSHOT)
    }

    /// Takes the snapshot. Refused with `AlreadyOpen` when one is open.
    pub fn begin(&self) -> Result<(), TransactionError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.state_dir)
            .map_err(io_error("create", &self.state_dir))?;
        let _lock = self.lock()?;
        let snapshot = self.snapshot();
        if exists(&snapshot)? {
            return Err(TransactionError::AlreadyOpen {
                since: since(&snapshot),
            });
        }
        self.remove_stale()?;
        let now = SystemTime::now();
        let age = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let temp = self.state_dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            age.as_nanos()
        ));
        // The copy may hold secrets (wpa-psk and the like).
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&temp)
            .map_err(io_error("create", &temp))?;
        let built = (|| {
            let config_meta =
                fs::metadata(&self.config_dir).map_err(io_error("read", &self.config_dir))?;
            copy_dir(&self.config_dir, &temp.join(TREE), &config_meta, true)?;
            let begun = temp.join(BEGUN);
            let mut file = File::create(&begun).map_err(io_error("create", &begun))?;
            file.write_all(format!("{}.{:09}\n", age.as_secs(), age.subsec_nanos()).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_error("write", &begun))?;
            sync_dir(&temp).map_err(io_error("sync", &temp))?;
            match fs::rename(&temp, &snapshot) {
                Ok(()) => Ok(()),
                // Another process made one meanwhile (without our lock).
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                    Err(TransactionError::AlreadyOpen {
                        since: since(&snapshot),
                    })
                }
                Err(e) => Err(io_error("rename", &temp)(e)),
            }
        })();
        if let Err(e) = built {
            let _ = fs::remove_dir_all(&temp);
            return Err(e);
        }
        sync_dir(&self.state_dir).map_err(io_error("sync", &self.state_dir))
    }

    /// Keeps the changes: drops the snapshot. `NotOpen` when none is open.
    pub fn commit(&self) -> Result<(), TransactionError> {
        let _lock = self.lock_if_any()?.ok_or(TransactionError::NotOpen)?;
        if !exists(&self.snapshot())? {
            return Err(TransactionError::NotOpen);
        }
        self.close()
    }

    /// Puts the configuration back as it was at `begin` and drops the
    /// snapshot. Returns the paths rewritten, created or removed (a removed
    /// directory with everything that was in it). `NotOpen` when none is open.
    pub fn rollback(&self) -> Result<Vec<PathBuf>, TransactionError> {
        let _lock = self.lock_if_any()?.ok_or(TransactionError::NotOpen)?;
        let snapshot = self.snapshot();
        if !exists(&snapshot)? {
            return Err(TransactionError::NotOpen);
        }
        let tree = snapshot.join(TREE);
        let tree_meta = match fs::symlink_metadata(&tree) {
            Ok(m) if m.is_dir() => m,
            // Restoring from it would remove the whole configuration.
            _ => {
                return Err(TransactionError::Corrupt {
                    path: tree,
                    reason: "the copy of the configuration is missing",
                })
            }
        };
        let mut changed = Vec::new();
        let live = match fs::metadata(&self.config_dir) {
            Ok(m) if m.is_dir() => Some(m),
            Ok(_) => {
                remove_any(&self.config_dir, &mut changed)?;
                None
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("read", &self.config_dir)(e)),
        };
        restore_dir(
            &tree,
            &self.config_dir,
            &tree_meta,
            live.as_ref(),
            true,
            &mut changed,
        )?;
        self.close()?;
        // What was in the way of another kind is both removed and created.
        let mut seen = std::collections::HashSet::new();
        changed.retain(|p| seen.insert(p.clone()));
        Ok(changed)
    }

    /// When the open transaction began; `None` when none is open.
    pub fn open_since(&self) -> Result<Option<SystemTime>, TransactionError> {
        let snapshot = self.snapshot();
        Ok(exists(&snapshot)?.then(|| since(&snapshot)))
    }

    /// Serialises begin, commit and rollback (two ncftools, or ncftool and
    /// netconfd starting), which would otherwise remove each other's
    /// half-built snapshots.
    fn lock(&self) -> Result<File, TransactionError> {
        let path = self.state_dir.join(LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error("open", &path))?;
        loop {
            // SAFETY: flock on a descriptor we own, for the life of `file`.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(file);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(io_error("lock", &path)(e));
            }
        }
    }

    /// The lock, unless the state directory does not exist (then nothing
    /// can be open, and we do not create it only to say so).
    fn lock_if_any(&self) -> Result<Option<File>, TransactionError> {
        match fs::metadata(&self.state_dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &self.state_dir)(e)),
            Ok(_) => self.lock().map(Some),
        }
    }

    /// Takes the snapshot away: one rename closes the transaction, the
    /// removal after it may be cut short without harm.
    fn close(&self) -> Result<(), TransactionError> {
        let snapshot = self.snapshot();
        let age = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let temp = self.state_dir.join(format!(
            "{TEMP_PREFIX}{}-{}-closed",
            std::process::id(),
            age.as_nanos()
        ));
        fs::rename(&snapshot, &temp).map_err(io_error("rename", &snapshot))?;
        sync_dir(&self.state_dir).map_err(io_error("sync", &self.state_dir))?;
        // Closed already; what is left is removed by the next begin.
        let _ = fs::remove_dir_all(&temp);
        Ok(())
    }

    fn remove_stale(&self) -> Result<(), TransactionError> {
        let entries = fs::read_dir(&self.state_dir).map_err(io_error("read", &self.state_dir))?;
        for entry in entries {
            let entry = entry.map_err(io_error("read", &self.state_dir))?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let path = entry.path();
                fs::remove_dir_all(&path).map_err(io_error("remove", &path))?;
            }
        }
        Ok(())
    }
}

fn exists(path: &Path) -> Result<bool, TransactionError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("read", path)(e)),
    }
}

/// The begin time recorded in the snapshot, or (should that file be
/// damaged) the time the snapshot was renamed into place.
fn since(snapshot: &Path) -> SystemTime {
    let recorded = fs::read_to_string(snapshot.join(BEGUN))
        .ok()
        .and_then(|text| {
            let (secs, nanos) = text.trim().split_once('.')?;
            Some(Duration::new(secs.parse().ok()?, nanos.parse().ok()?))
        })
        .and_then(|d| UNIX_EPOCH.checked_add(d));
    recorded
        .or_else(|| fs::metadata(snapshot).and_then(|m| m.modified()).ok())
        .unwrap_or(UNIX_EPOCH)
}

/// `YYYY-MM-DD HH:MM:SS UTC`, without pulling in a date crate.
fn describe_time(t: SystemTime) -> String {
    let Ok(d) = t.duration_since(UNIX_EPOCH) else {
        return "before 1970".into();
    };
    let secs = d.as_secs();
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Symlink,
    Dir,
}

fn kind(m: &Metadata) -> Option<Kind> {
    let t = m.file_type();
    if t.is_file() {
        Some(Kind::File)
    } else if t.is_symlink() {
        Some(Kind::Symlink)
    } else if t.is_dir() {
        Some(Kind::Dir)
    } else {
        // Sockets, fifos and devices are nobody's configuration.
        None
    }
}

fn mode(m: &Metadata) -> u32 {
    m.mode() & 0o7777
}

/// The entries of `dir` by name, without the hook directories at the top.
fn entries(dir: &Path, top: bool) -> Result<BTreeMap<OsString, Metadata>, TransactionError> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io_error("read", dir))? {
        let entry = entry.map_err(io_error("read", dir))?;
        let name = entry.file_name();
        if top && HOOK_DIRS.iter().any(|h| name == *h) {
            continue;
        }
        let meta = entry.metadata().map_err(io_error("read", &entry.path()))?;
        out.insert(name, meta);
    }
    Ok(out)
}

/// Best effort: the copy keeps the owner when we may set it (as root).
fn copy_owner(path: &Path, like: &Metadata) {
    let _ = std::os::unix::fs::lchown(path, Some(like.uid()), Some(like.gid()));
}

fn copy_dir(src: &Path, dst: &Path, meta: &Metadata, top: bool) -> Result<(), TransactionError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dst)
        .map_err(io_error("create", dst))?;
    for (name, m) in entries(src, top)? {
        let (from, to) = (src.join(&name), dst.join(&name));
        match kind(&m) {
            Some(Kind::File) => copy_file(&from, &to, &m)?,
            Some(Kind::Symlink) => {
                let target = fs::read_link(&from).map_err(io_error("read", &from))?;
                std::os::unix::fs::symlink(&target, &to).map_err(io_error("create", &to))?;
                copy_owner(&to, &m);
            }
            Some(Kind::Dir) => copy_dir(&from, &to, &m, false)?,
            None => {}
        }
    }
    copy_owner(dst, meta);
    fs::set_permissions(dst, fs::Permissions::from_mode(mode(meta)))
        .map_err(io_error("set the mode of", dst))?;
    sync_dir(dst).map_err(io_error("sync", dst))
}

fn copy_file(from: &Path, to: &Path, meta: &Metadata) -> Result<(), TransactionError> {
    let mut input = File::open(from).map_err(io_error("read", from))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(io_error("create", to))?;
    io::copy(&mut input, &mut output).map_err(io_error("copy", from))?;
    copy_owner(to, meta);
    output
        .set_permissions(fs::Permissions::from_mode(mode(meta)))
        .and_then(|()| output.sync_all())
        .map_err(io_error("write", to))
}

fn same_content(a: &Path, b: &Path) -> Result<bool, TransactionError> {
    let mut fa = File::open(a).map_err(io_error("read", a))?;
    let mut fb = File::open(b).map_err(io_error("read", b))?;
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(io_error("read", a))?;
        let nb = read_full(&mut fb, &mut bb).map_err(io_error("read", b))?;
        if ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` unless the file ends first.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Removes whatever is at `path`, reporting it (a directory with all it held).
fn remove_any(path: &Path, changed: &mut Vec<PathBuf>) -> Result<(), TransactionError> {
    let meta = fs::symlink_metadata(path).map_err(io_error("read", path))?;
    if meta.is_dir() {
        let mut inside = Vec::new();
        list_tree(path, &mut inside)?;
        fs::remove_dir_all(path).map_err(io_error("remove", path))?;
        changed.push(path.to_path_buf());
        changed.extend(inside);
    } else {
        fs::remove_file(path).map_err(io_error("remove", path))?;
        changed.push(path.to_path_buf());
    }
    Ok(())
}

fn list_tree(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TransactionError> {
    for (name, m) in entries(dir, false)? {
        let path = dir.join(name);
        out.push(path.clone());
        if m.is_dir() {
            list_tree(&path, out)?;
        }
    }
    Ok(())
}

/// Makes `live` what `snap` is, touching only what differs. `live_meta` is
/// `None` when nothing is at `live`.
fn restore_dir(
    snap: &Path,
    live: &Path,
    snap_meta: &Metadata,
    live_meta: Option<&Metadata>,
    top: bool,
    changed: &mut Vec<PathBuf>,
) -> Result<(), TransactionError> {
    if live_meta.is_none() {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(live)
            .map_err(io_error("create", live))?;
        copy_owner(live, snap_meta);
        changed.push(live.to_path_buf());
    }
    let wanted = entries(snap, top)?;
    let present = entries(live, top)?;
    let mut dirty = live_meta.is_none();
    for name in present.keys().filter(|n| !wanted.contains_key(*n)) {
        remove_any(&live.join(name), changed)?;
        dirty = true;
    }
    for (name, sm) in &wanted {
        let (from, to) = (snap.join(name), live.join(name));
        let lm = present.get(name);
        let Some(want) = kind(sm) else {
            continue;
        };
        let have = lm.and_then(kind);
        // Something of another kind is in the way.
        let lm = match (lm, have == Some(want)) {
            (Some(_), false) => {
                remove_any(&to, changed)?;
                dirty = true;
                None
            }
            (lm, _) => lm,
        };
        match want {
            Kind::Dir => restore_dir(&from, &to, sm, lm, false, changed)?,
            Kind::File => {
                if let Some(lm) = lm {
                    if same_content(&from, &to)? {
                        if mode(lm) != mode(sm) {
                            fs::set_permissions(&to, fs::Permissions::from_mode(mode(sm)))
                                .map_err(io_error("set the mode of", &to))?;
                            changed.push(to);
                        }
                        continue;
                    }
                }
                let content = fs::read(&from).map_err(io_error("read", &from))?;
                let temp = stage(&to, &content, Some(sm)).map_err(io_error("write", &to))?;
                replace(&temp, &to, changed)?;
                dirty = true;
            }
            Kind::Symlink => {
                let target = fs::read_link(&from).map_err(io_error("read", &from))?;
                if lm.is_some() && fs::read_link(&to).ok().as_ref() == Some(&target) {
                    continue;
                }
                let temp = temp_beside(&to);
                std::os::unix::fs::symlink(&target, &temp).map_err(io_error("create", &temp))?;
                copy_owner(&temp, sm);
                replace(&temp, &to, changed)?;
                dirty = true;
            }
        }
    }
    if live_meta.is_some_and(|m| mode(m) != mode(snap_meta)) || live_meta.is_none() {
        fs::set_permissions(live, fs::Permissions::from_mode(mode(snap_meta)))
            .map_err(io_error("set the mode of", live))?;
        if live_meta.is_some() {
            changed.push(live.to_path_buf());
        }
    }
    if dirty {
        sync_dir(live).map_err(io_error("sync", live))?;
        if live_meta.is_none() {
            sync_dir(parent_dir(live)).map_err(io_error("sync", parent_dir(live)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(describe_time(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_616_209);
        assert_eq!(describe_time(t), "2026-12-07 04:03:29 UTC");
        let leap = UNIX_EPOCH + Duration::from_secs(951_825_600);
        assert_eq!(describe_time(leap), "2000-02-29 12:00:00 UTC");
    }
}
