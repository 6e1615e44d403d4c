//! Which files of an `if-*.d` directory Debian's `run-parts` (debianutils 5)
//! runs, and in which order.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One name that passed run-parts' name rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// A regular file (or a symlink to one) that is executable: run it.
    Run(PathBuf),
    /// An entry run-parts reports as an error and counts as a failure: a
    /// dangling symlink, or something neither a regular file nor a
    /// directory (a fifo, a socket, a device).
    Broken(PathBuf),
}

/// The scripts `run-parts DIR` runs, in the order it runs them:
///
/// * names made only of ASCII letters, digits, `_` and `-` (run-parts'
///   default rule: `a.sh`, `b~`, `x.dpkg-old` are ignored);
/// * sorted byte by byte (its `alphasort` in the C locale: ifupdown gives it
///   no locale variables, and it calls no `setlocale` anyway);
/// * regular files, symlinks to them included, that the caller may execute
///   (`access(X_OK)`, so for root: any execute bit); directories and files
///   without execute permission are skipped silently.
///
/// A missing or unreadable directory gives an empty list (Debian's run-parts
/// fails there instead). Dangling symlinks and fifos, sockets or devices are
/// left out here; [`plan`](super::plan) keeps them as scripts, which then
/// fail as run-parts fails on them.
pub fn run_parts(dir: &Path) -> Vec<PathBuf> {
    scan(dir)
        .into_iter()
        .filter_map(|part| match part {
            Part::Run(path) => Some(path),
            Part::Broken(_) => None,
        })
        .collect()
}

/// Every name of `dir` that passes the name rule and that run-parts would
/// either run or complain about, in its order.
pub(crate) fn scan(dir: &Path) -> Vec<Part> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|name| valid_name(name.as_bytes()))
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));

    let mut parts = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        // run-parts uses stat(), which follows symlinks.
        match fs::metadata(&path) {
            Err(_) => parts.push(Part::Broken(path)),
            Ok(meta) if meta.is_file() => {
                if executable(&path) {
                    parts.push(Part::Run(path));
                }
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => parts.push(Part::Broken(path)),
        }
    }
    parts
}

/// run-parts' default rule, `^[a-zA-Z0-9_-]+$`.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// `access(path, X_OK) == 0`, as run-parts asks it (real uid and gid).
fn executable(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::process::Command;

    fn file(dir: &Path, name: &str, mode: u32) {
        let path = dir.join(name);
        fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn names(list: &[PathBuf]) -> Vec<String> {
        list.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// A directory with one of everything run-parts distinguishes.
    fn assorted() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let outside = tmp.path().join("-outside-");
        fs::create_dir(&outside).unwrap();
        file(&outside, "target", 0o755);
        for name in ["b", "a", "A", "_x", "-x", "9", "Z9-_z", "zz"] {
            file(d, name, 0o755);
        }
        file(d, "owner-only", 0o700);
        file(d, "group-only", 0o650);
        file(d, "a.sh", 0o755);
        file(d, "b~", 0o755);
        file(d, "x.dpkg-old", 0o755);
        file(d, "noexec", 0o644);
        fs::create_dir(d.join("dir")).unwrap();
        fs::set_permissions(d.join("dir"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink(outside.join("target"), d.join("link")).unwrap();
        symlink(outside.join("missing"), d.join("dangling")).unwrap();
        symlink(&outside, d.join("linkdir")).unwrap();
        let fifo = CString::new(d.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o755) }, 0);
        tmp
    }

    #[test]
    fn name_rule_order_and_file_kinds() {
        let tmp = assorted();
        let got = names(&run_parts(tmp.path()));
        let mut expected = vec![
            "-x",
            "9",
            "A",
            "Z9-_z",
            "_x",
            "a",
            "b",
            "link",
            "owner-only",
            "zz",
        ];
        // As root, any execute bit makes a file executable (access(2)).
        // SAFETY: getuid cannot fail.
        if unsafe { libc::getuid() } == 0 {
            expected.insert(7, "group-only");
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn broken_entries_are_kept_for_the_plan() {
        let tmp = assorted();
        let broken: Vec<_> = scan(tmp.path())
            .into_iter()
            .filter_map(|p| match p {
                Part::Broken(p) => Some(p),
                Part::Run(_) => None,
            })
            .collect();
        assert_eq!(names(&broken), ["dangling", "fifo"]);
    }

    #[test]
    fn missing_or_empty_directory_runs_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(run_parts(tmp.path()).is_empty());
        assert!(run_parts(&tmp.path().join("nope")).is_empty());
        file(tmp.path(), "plain", 0o755);
        assert!(run_parts(&tmp.path().join("plain")).is_empty());
    }

    /// The selection agrees with Debian's own run-parts (debianutils is
    /// Essential on Debian, so it is always there).
    #[test]
    fn agrees_with_debian_run_parts() {
        let tmp = assorted();
        let out = Command::new("run-parts")
            .arg("--test")
            .arg(tmp.path())
            .env_clear()
            .env("PATH", super::super::HOOK_PATH)
            .output()
            .expect("run-parts (debianutils) must be installed");
        let theirs: Vec<PathBuf> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(PathBuf::from)
            .collect();
        assert!(!theirs.is_empty());
        assert_eq!(run_parts(tmp.path()), theirs);
    }
}
