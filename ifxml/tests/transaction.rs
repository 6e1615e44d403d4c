//! change-begin/commit/rollback on a throwaway configuration directory:
//! rollback gives back every byte and mode, touches only what changed and
//! finishes the work of a rollback cut short.

use netconf_ifxml::transaction::{TransactionError, Transactions};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

struct Setup {
    _dir: TempDir,
    state: PathBuf,
    net: PathBuf,
    tx: Transactions,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("var/lib/netconf");
    let net = dir.path().join("etc/network");
    fs::create_dir_all(net.join("interfaces.d")).unwrap();
    fs::create_dir_all(net.join("if-up.d")).unwrap();
    fs::create_dir_all(net.join("if-down.d")).unwrap();
    fs::create_dir_all(net.join("extra/deeper")).unwrap();
    fs::write(
        net.join("interfaces"),
        "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n",
    )
    .unwrap();
    fs::write(
        net.join("interfaces.d/eth0"),
        "auto eth0\niface eth0 inet dhcp",
    )
    .unwrap();
    fs::write(net.join("interfaces.d/secret"), "wpa-psk hunter2\n").unwrap();
    fs::set_permissions(
        net.join("interfaces.d/secret"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(net.join("extra/deeper/notes"), "").unwrap();
    fs::write(net.join("if-up.d/hook"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(net.join("if-up.d/hook"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("/run/network", net.join("run")).unwrap();
    let tx = Transactions::new(&state, &net);
    Setup {
        _dir: dir,
        state,
        net,
        tx,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
}

/// Everything under `dir`: kind, mode, bytes or link target.
fn tree(dir: &Path) -> Vec<(PathBuf, Node)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(PathBuf, Node)>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap().to_path_buf();
            let m = fs::symlink_metadata(&path).unwrap();
            let mode = m.mode() & 0o7777;
            if m.file_type().is_symlink() {
                out.push((rel, Node::Link(fs::read_link(&path).unwrap())));
            } else if m.is_dir() {
                out.push((rel, Node::Dir(mode)));
                walk(base, &path, out);
            } else {
                out.push((rel, Node::File(mode, fs::read(&path).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    let mode = fs::metadata(dir).unwrap().mode() & 0o7777;
    out.push((PathBuf::new(), Node::Dir(mode)));
    walk(dir, dir, &mut out);
    out
}

fn sorted(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths
}

#[test]
fn rollback_gives_back_every_byte_and_mode() {
    let s = setup();
    let before = tree(&s.net);
    s.tx.begin().unwrap();
    assert!(s.tx.open_since().unwrap().is_some());

    let n = &s.net;
    fs::write(n.join("interfaces"), "auto lo\n").unwrap();
    fs::set_permissions(
        n.join("interfaces.d/secret"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fs::remove_file(n.join("interfaces.d/eth0")).unwrap();
    fs::write(n.join("interfaces.d/br0"), "iface br0 inet dhcp\n").unwrap();
    fs::create_dir(n.join("new")).unwrap();
    fs::write(n.join("new/file"), "x").unwrap();
    fs::remove_dir_all(n.join("extra/deeper")).unwrap();
    fs::create_dir(n.join("extra/deeper")).unwrap();
    fs::write(n.join("extra/deeper/notes"), "").unwrap();
    fs::remove_file(n.join("run")).unwrap();
    std::os::unix::fs::symlink("/elsewhere", n.join("run")).unwrap();
    fs::set_permissions(n.join("extra"), fs::Permissions::from_mode(0o700)).unwrap();

    let changed = s.tx.rollback().unwrap();
    assert_eq!(tree(&s.net), before);
    assert_eq!(
        sorted(changed),
        sorted(vec![
            n.join("interfaces"),
            n.join("interfaces.d/secret"),
            n.join("interfaces.d/eth0"),
            n.join("interfaces.d/br0"),
            n.join("new"),
            n.join("new/file"),
            n.join("run"),
            n.join("extra"),
        ])
    );
    assert_eq!(s.tx.open_since().unwrap(), None);
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
}

#[test]
fn what_did_not_change_is_not_rewritten() {
    let s = setup();
    let inode = |p: &str| fs::metadata(s.net.join(p)).unwrap().ino();
    let before = (inode("interfaces"), inode("interfaces.d/eth0"));
    s.tx.begin().unwrap();
    assert_eq!(s.tx.rollback().unwrap(), Vec::<PathBuf>::new());
    assert_eq!((inode("interfaces"), inode("interfaces.d/eth0")), before);
}

#[test]
fn a_type_change_is_undone() {
    let s = setup();
    let before = tree(&s.net);
    s.tx.begin().unwrap();
    fs::remove_file(s.net.join("interfaces.d/eth0")).unwrap();
    fs::create_dir(s.net.join("interfaces.d/eth0")).unwrap();
    fs::write(s.net.join("interfaces.d/eth0/x"), "").unwrap();
    fs::remove_dir_all(s.net.join("extra")).unwrap();
    fs::write(s.net.join("extra"), "now a file").unwrap();
    let changed = s.tx.rollback().unwrap();
    assert_eq!(tree(&s.net), before);
    let n = &s.net;
    assert_eq!(
        sorted(changed),
        sorted(vec![
            n.join("interfaces.d/eth0"),
            n.join("interfaces.d/eth0/x"),
            n.join("extra"),
            n.join("extra/deeper"),
            n.join("extra/deeper/notes"),
        ])
    );
}

#[test]
fn commit_keeps_the_changes_and_drops_the_snapshot() {
    let s = setup();
    s.tx.begin().unwrap();
    fs::write(s.net.join("interfaces"), "auto lo\n").unwrap();
    s.tx.commit().unwrap();
    assert_eq!(s.tx.open_since().unwrap(), None);
    assert_eq!(
        fs::read_to_string(s.net.join("interfaces")).unwrap(),
        "auto lo\n"
    );
    let left: Vec<String> = fs::read_dir(&s.state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "transaction.lock")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(matches!(s.tx.commit(), Err(TransactionError::NotOpen)));
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
    // And a new one can begin.
    s.tx.begin().unwrap();
}

#[test]
fn a_second_begin_is_refused() {
    let s = setup();
    s.tx.begin().unwrap();
    let since = s.tx.open_since().unwrap().unwrap();
    let err = s.tx.begin().unwrap_err();
    let TransactionError::AlreadyOpen { since: reported } = err else {
        panic!("{err}");
    };
    assert_eq!(reported, since);
    let age = std::time::SystemTime::now().duration_since(since).unwrap();
    assert!(age.as_secs() < 60);
    assert!(err.to_string().contains("already open (begun 20"), "{err}");
}

#[test]
fn nothing_open_is_refused() {
    let s = setup();
    // Not even the state directory exists yet.
    assert!(matches!(s.tx.commit(), Err(TransactionError::NotOpen)));
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
    assert_eq!(s.tx.open_since().unwrap(), None);
    assert!(!s.state.exists());
    fs::create_dir_all(&s.state).unwrap();
    assert!(matches!(s.tx.commit(), Err(TransactionError::NotOpen)));
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
}

#[test]
fn a_rollback_cut_short_is_finished_by_the_next() {
    let s = setup();
    let before = tree(&s.net);
    let original = fs::read(s.net.join("interfaces")).unwrap();
    s.tx.begin().unwrap();
    fs::write(s.net.join("interfaces"), "broken\n").unwrap();
    fs::write(s.net.join("interfaces.d/eth0"), "broken\n").unwrap();
    fs::remove_file(s.net.join("interfaces.d/secret")).unwrap();

    // The crash: the main file was already put back, and a temporary file
    // of the rollback was left behind; the snapshot is still there.
    fs::write(s.net.join("interfaces"), &original).unwrap();
    let temp = s.net.join("interfaces.d/.eth0.netconf-1-0");
    fs::write(&temp, "half").unwrap();
    assert!(s.tx.open_since().unwrap().is_some());

    let changed = s.tx.rollback().unwrap();
    assert_eq!(tree(&s.net), before);
    assert_eq!(
        sorted(changed),
        sorted(vec![
            temp,
            s.net.join("interfaces.d/eth0"),
            s.net.join("interfaces.d/secret"),
        ])
    );
    // Done twice over, the second finds nothing open.
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
}

#[test]
fn half_made_or_half_removed_snapshots_are_not_open() {
    let s = setup();
    // A begin that crashed while copying, and a close that crashed after
    // its rename: neither is an open transaction.
    fs::create_dir_all(s.state.join("transaction.tmp-1-2/tree")).unwrap();
    fs::create_dir_all(s.state.join("transaction.tmp-3-4-closed/tree")).unwrap();
    assert_eq!(s.tx.open_since().unwrap(), None);
    assert!(matches!(s.tx.rollback(), Err(TransactionError::NotOpen)));
    s.tx.begin().unwrap();
    let mut names: Vec<String> = fs::read_dir(&s.state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["transaction", "transaction.lock"]);
    // The snapshot keeps secrets to us.
    let mode = fs::metadata(s.state.join("transaction")).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_damaged_snapshot_removes_nothing() {
    let s = setup();
    s.tx.begin().unwrap();
    fs::remove_dir_all(s.state.join("transaction/tree")).unwrap();
    let before = tree(&s.net);
    let err = s.tx.rollback().unwrap_err();
    assert!(matches!(err, TransactionError::Corrupt { .. }), "{err}");
    assert_eq!(tree(&s.net), before);
    assert!(s.tx.open_since().unwrap().is_some());
}

#[test]
fn hook_directories_are_left_alone() {
    let s = setup();
    s.tx.begin().unwrap();
    assert!(!s.state.join("transaction/tree/if-up.d").exists());
    assert!(s.state.join("transaction/tree/interfaces").exists());
    fs::write(s.net.join("if-up.d/hook"), "#!/bin/sh\nexit 1\n").unwrap();
    fs::write(s.net.join("if-down.d/new"), "").unwrap();
    fs::create_dir(s.net.join("if-post-down.d")).unwrap();
    fs::remove_dir_all(s.net.join("extra/deeper")).unwrap();
    let changed = s.tx.rollback().unwrap();
    assert_eq!(
        changed,
        vec![s.net.join("extra/deeper"), s.net.join("extra/deeper/notes")]
    );
    assert_eq!(
        fs::read_to_string(s.net.join("if-up.d/hook")).unwrap(),
        "#!/bin/sh\nexit 1\n"
    );
    assert!(s.net.join("if-down.d/new").exists());
    assert!(s.net.join("if-post-down.d").is_dir());
}

#[test]
fn the_configuration_directory_itself_comes_back() {
    let s = setup();
    let before = tree(&s.net);
    s.tx.begin().unwrap();
    fs::remove_dir_all(&s.net).unwrap();
    let changed = s.tx.rollback().unwrap();
    // The hook directories were never in the snapshot.
    let expected: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with("if-up.d") && !p.starts_with("if-down.d"))
        .collect();
    assert_eq!(tree(&s.net), expected);
    assert!(changed.contains(&s.net));
}
