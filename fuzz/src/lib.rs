//! What the fuzz targets share: the checks of the interfaces(5) reader, the
//! reading of a DHCP hook environment from bytes, and a Landlock sandbox
//! that keeps the reader's `source` lines off this machine's files.
//!
//! The targets themselves are in `fuzz_targets/`; `scripts/fuzz` runs them.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use netconf_interfaces::families::method_def;
use netconf_interfaces::graph::Graph;
use netconf_interfaces::validate::missing_required;
use netconf_interfaces::{parse_bytes, InterfacesFile, ParseOptions, Parsed, Variables};
use netconf_methods::links::stanza_links;
use netconf_methods::provider::{provider_for, StanzaConfig};

/// The name the fuzzed bytes are read under: a directory that does not
/// exist, so that relative `source` lines resolve nowhere.
pub const INTERFACES_PATH: &str = "/nonexistent-netconf-fuzz/interfaces";

/// Parses `input` as the main interfaces file and checks what
/// `interfaces/tests/never_panics.rs` checks: every error has a location
/// (a line of the file that exists, for the main file) and both wordings,
/// `rejected` is exactly "Debian saw an error in the main file", and the
/// model survives a JSON round trip. Then runs what `ifquery` and `ifup`
/// compute from the model (method defaults and conversions, the required
/// options, the dependency graph, each stanza's provider and links), which
/// must not panic either.
pub fn check_interfaces(input: &[u8]) {
    let parsed = parse_bytes(INTERFACES_PATH, input, &ParseOptions::default());
    check_parsed(&parsed, input);
    use_model(&parsed.config);
}

fn check_parsed(parsed: &Parsed, input: &[u8]) {
    netconf_interfaces::invariants::assert_invariants(parsed, input);
    let json = serde_json::to_string(&parsed.config).expect("model serialises");
    let back: InterfacesFile = serde_json::from_str(&json).expect("model deserialises");
    assert_eq!(back, parsed.config, "model after a JSON round trip");
}

fn use_model(config: &InterfacesFile) {
    for d in missing_required(config) {
        assert!(!d.report(config).is_empty());
    }
    let graph = Graph::from_config(config, &[]);
    let _ = graph.check();
    let _ = graph.to_dot(None);
    for stanza in &config.stanzas {
        let mut vars = Variables::from_stanza(stanza);
        if let Some(def) = method_def(stanza.family, &stanza.method) {
            vars.apply_defaults(def);
            // What `ifquery IFACE` prints; providers convert per address.
            let mut converted = vars.clone();
            converted.convert(def, &stanza.name);
        }
        let _ = graph.closure_up(&stanza.name);
        let _ = graph.closure_down(&stanza.name);
        let cfg = StanzaConfig {
            iface: stanza.name.clone(),
            logical: stanza.name.clone(),
            family: stanza.family,
            method: stanza.method.clone(),
            vars,
        };
        if let Some(provider) = provider_for(cfg.family, &cfg.method) {
            let _ = provider.desired(&cfg);
            let _ = provider.link_down_on_ifdown(&cfg, false);
        }
        let _ = stanza_links(&cfg);
    }
}

/// A DHCP hook environment from bytes: one `NAME=VALUE` per line (the
/// format of `methods/tests/fixtures/dhclient-env/*.env`), split at the
/// first `=`; a line without one is a name with an empty value. Bytes that
/// are not UTF-8 become U+FFFD, as `netconf-dhcp-hook` passes them on.
pub fn env_from_bytes(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = match line.iter().position(|&b| b == b'=') {
                Some(eq) => (&line[..eq], &line[eq + 1..]),
                None => (line, &[][..]),
            };
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect()
}

// Landlock's ABI (linux/landlock.h).
const LANDLOCK_ACCESS_FS_READ_FILE: u64 = 1 << 2;
const LANDLOCK_ACCESS_FS_READ_DIR: u64 = 1 << 3;
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// Lets this process read only the paths named on its command line (the
/// corpus directories, the dictionary, the artifact directory, an input to
/// reproduce), its own executable and `/proc/self`, with Landlock; writing
/// stays free, so libFuzzer still saves inputs and crashes.
///
/// Without it, `source /dev/*` in a fuzzed file would make the reader open
/// and read the machine's files: `/dev/kmsg` blocks forever, `/proc` holds
/// pipes. Confined, such a line reads nothing, as a relative one does under
/// [`INTERFACES_PATH`]. Where the kernel has no Landlock, says so on stderr
/// and goes on unconfined. A crash's Rust panic message and backtrace are
/// complete; the sanitizer's own stack trace shows bare addresses.
pub fn confine_reads() {
    // The sanitizers' symbolizer is a child process that cannot load its
    // libraries under the sandbox; writing to it must fail with EPIPE
    // (then addresses go unnamed) rather than kill the fuzzer with SIGPIPE.
    // SAFETY: setting a signal's disposition to SIG_IGN.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut paths: Vec<PathBuf> = vec!["/proc/self".into()];
    if let Ok(exe) = std::env::current_exe() {
        paths.push(exe);
    }
    paths.extend(std::env::args_os().skip(1).filter_map(argument_path));
    if let Err(e) = landlock_reads(&paths) {
        eprintln!(
            "netconf-fuzz: cannot confine reads with Landlock ({e}); \
             absolute `source` lines will read this machine's files"
        );
    }
}

/// The path a libFuzzer argument names, if any: a positional argument (a
/// corpus directory or an input), or the value of `-flag=VALUE`; when it
/// does not exist yet, its directory.
fn argument_path(arg: OsString) -> Option<PathBuf> {
    let bytes = arg.as_bytes();
    let value = if bytes.starts_with(b"-") {
        let eq = bytes.iter().position(|&b| b == b'=')?;
        std::ffi::OsStr::from_bytes(&bytes[eq + 1..])
    } else {
        arg.as_os_str()
    };
    let path = Path::new(value);
    if value.is_empty() {
        None
    } else if path.exists() {
        Some(path.to_path_buf())
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty() && p.exists())
            .map(Path::to_path_buf)
    }
}

fn landlock_reads(paths: &[PathBuf]) -> std::io::Result<()> {
    let last_error = std::io::Error::last_os_error;
    let handled = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    let attr = RulesetAttr {
        handled_access_fs: handled,
    };
    // SAFETY: the kernel reads `size_of::<RulesetAttr>()` bytes of `attr`.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    if ruleset < 0 {
        return Err(last_error());
    }
    // SAFETY: a descriptor the kernel just gave us, owned from here on.
    let ruleset =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ruleset as i32) };
    for path in paths {
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)
        else {
            continue;
        };
        let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
        let rule = PathBeneathAttr {
            allowed_access: if is_dir {
                handled
            } else {
                LANDLOCK_ACCESS_FS_READ_FILE
            },
            parent_fd: file.as_raw_fd(),
        };
        // SAFETY: the kernel reads the packed rule; both descriptors are open.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset.as_raw_fd(),
                LANDLOCK_RULE_PATH_BENEATH,
                &rule as *const PathBeneathAttr,
                0u32,
            )
        };
        if rc != 0 {
            return Err(last_error());
        }
    }
    // SAFETY: plain prctl and landlock_restrict_self calls on our own process.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(last_error());
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) != 0 {
            return Err(last_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines() {
        assert_eq!(
            env_from_bytes(b"reason=BOUND\n\nempty=\nbare\na=b=c\n\xff=x"),
            [
                ("reason".into(), "BOUND".into()),
                ("empty".into(), String::new()),
                ("bare".into(), String::new()),
                ("a".into(), "b=c".into()),
                ("\u{fffd}".into(), "x".into()),
            ]
        );
    }
}
