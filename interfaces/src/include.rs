//! What `source` and `source-directory` lines name, resolved as ifupdown
//! 0.8 resolves them: relative to the including file's directory (`dirname`,
//! not canonicalised), expanded by the C library's `wordexp` without command
//! substitution, and for directories only the file names made of letters,
//! digits, `_` and `-`, in byte order.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};

#[repr(C)]
struct WordExp {
    we_wordc: libc::size_t,
    we_wordv: *mut *mut c_char,
    we_offs: libc::size_t,
}

extern "C" {
    fn wordexp(words: *const c_char, pwordexp: *mut WordExp, flags: c_int) -> c_int;
    fn wordfree(pwordexp: *mut WordExp);
}

/// glibc's `WRDE_NOCMD`: refuse command substitution.
const WRDE_NOCMD: c_int = 1 << 2;

/// The pattern a `source`-style line stands for: `rest` as it is when
/// absolute, else joined to the directory of `including_file`.
pub fn include_pattern(including_file: &str, rest: &str) -> String {
    if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("{}/{}", dirname(including_file), rest)
    }
}

/// The paths that match the glob `pattern` (the C library's `glob`, as
/// Python's `glob.glob` matches: no other expansion; hidden files only by a
/// leading dot), in byte order; nothing when nothing matches.
pub fn glob(pattern: &str) -> Vec<String> {
    let Ok(c_pattern) = CString::new(pattern) else {
        return Vec::new();
    };
    // SAFETY: a zeroed glob_t is what glob expects; glob fills it and
    // globfree frees what it allocated, whatever glob returned.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        let rc = libc::glob(c_pattern.as_ptr(), 0, None, &mut g);
        let mut out = Vec::new();
        if rc == 0 {
            for i in 0..g.gl_pathc {
                let path = *g.gl_pathv.add(i);
                if !path.is_null() {
                    out.push(CStr::from_ptr(path).to_string_lossy().into_owned());
                }
            }
        }
        libc::globfree(&mut g);
        out
    }
}

/// Shell word expansion of `pattern` (variables, `~`, quotes, globs sorted in
/// byte order). Whatever `wordexp` refuses (command substitution, unquoted
/// `|&;<>(){}`, bad quoting) yields nothing, as in ifupdown.
pub fn expand_words(pattern: &str) -> Vec<String> {
    let Ok(c_pattern) = CString::new(pattern) else {
        return Vec::new();
    };
    let mut we = WordExp {
        we_wordc: 0,
        we_wordv: std::ptr::null_mut(),
        we_offs: 0,
    };
    // SAFETY: `we` is a properly laid out wordexp_t; on success glibc fills it
    // and we free it with wordfree; on failure nothing needs freeing except
    // after WRDE_NOSPACE, which wordfree also handles.
    unsafe {
        let rc = wordexp(c_pattern.as_ptr(), &mut we, WRDE_NOCMD);
        if rc != 0 {
            if !we.we_wordv.is_null() {
                wordfree(&mut we);
            }
            return Vec::new();
        }
        let mut words = Vec::with_capacity(we.we_wordc);
        for i in 0..we.we_wordc {
            let word = *we.we_wordv.add(i);
            if !word.is_null() {
                words.push(CStr::from_ptr(word).to_string_lossy().into_owned());
            }
        }
        wordfree(&mut we);
        words
    }
}

/// POSIX `dirname` as glibc implements it (`a/b/` → `a`, `/a` → `/`,
/// `//a` → `//`, `a` → `.`).
pub fn dirname(path: &str) -> String {
    let bytes = path.as_bytes();
    let Some(mut last_slash) = bytes.iter().rposition(|&b| b == b'/') else {
        return ".".to_string();
    };
    if last_slash != 0 && last_slash == bytes.len() - 1 {
        // Trailing slashes: look for the slash before the last component.
        let mut run = last_slash;
        while run > 0 && bytes[run - 1] == b'/' {
            run -= 1;
        }
        if run != 0 {
            match bytes[..run].iter().rposition(|&b| b == b'/') {
                Some(i) => last_slash = i,
                None => return ".".to_string(),
            }
        }
    }
    let mut run = last_slash;
    while run > 0 && bytes[run - 1] == b'/' {
        run -= 1;
    }
    let end = if run == 0 {
        if last_slash == 1 {
            2
        } else {
            1
        }
    } else {
        run
    };
    path[..end].to_string()
}

/// `source-directory`'s file name rule (`^[a-zA-Z0-9_-]+$`).
pub fn is_sourceable_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The files `source-directory DIR` reads, in ifupdown's order; `None` when
/// DIR cannot be listed (ifupdown then skips it silently).
pub fn directory_entries(dir: &str) -> Option<Vec<String>> {
    use std::os::unix::ffi::OsStrExt;
    let mut names: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().as_bytes().to_vec())
        .filter(|n| is_sourceable_name(n))
        .collect();
    names.sort();
    Some(
        names
            .into_iter()
            .map(|n| format!("{dir}/{}", String::from_utf8_lossy(&n)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_like_glibc() {
        for (input, want) in [
            ("/etc/network/interfaces", "/etc/network"),
            ("interfaces", "."),
            ("a/b/", "a"),
            ("a//b", "a"),
            ("/a", "/"),
            ("//a", "//"),
            ("///a", "/"),
            ("/", "/"),
            ("a/", "."),
            ("", "."),
        ] {
            assert_eq!(dirname(input), want, "dirname({input:?})");
        }
    }

    #[test]
    fn wordexp_expands_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        std::fs::write(format!("{d}/b"), "").unwrap();
        std::fs::write(format!("{d}/a"), "").unwrap();
        assert_eq!(
            expand_words(&format!("{d}/*")),
            vec![format!("{d}/a"), format!("{d}/b")]
        );
        assert_eq!(
            expand_words(&format!("{d}/nomatch*")),
            vec![format!("{d}/nomatch*")]
        );
        assert!(expand_words("$(echo hi)").is_empty());
        assert!(expand_words("a;b").is_empty());
        assert_eq!(expand_words("'x y' z"), vec!["x y", "z"]);
    }

    #[test]
    fn directory_filter() {
        assert!(is_sourceable_name(b"eth0-v_1"));
        assert!(!is_sourceable_name(b"eth0.cfg"));
        assert!(!is_sourceable_name(b"eth0~"));
    }
}
