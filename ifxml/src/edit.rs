//! Puts one connection's stanzas into the interfaces(5) configuration as an
//! admin would by hand (ncftool `define`/`undefine`): the old stanzas of its
//! interfaces go wherever they were, the new text takes the place of the
//! first, and every other byte of every file stays as it was. Files are
//! found and cut the way ifupdown reads them (`source` globs, continuation
//! lines, comments), and replaced atomically.

use netconf_interfaces::diagnostics::{Diagnostic, DiagnosticKind};
use netconf_interfaces::include::{dirname, include_pattern, is_sourceable_name};
use netconf_interfaces::lines::{is_c_space, next_word, Lines};
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions, Severity};
use std::collections::{BTreeSet, HashSet};
use std::ffi::CString;
use std::fs::{self, Metadata, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the configuration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The main file, `ROOT/etc/network/interfaces`.
    pub main: PathBuf,
    /// ncftool's `--root`: absolute `source` paths are read under it.
    /// `None` is the real root.
    pub root: Option<PathBuf>,
}

/// Why an edit was refused or failed; each names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{reason}")]
    InvalidName { name: String, reason: String },
    #[error("{}: the path is not valid UTF-8", .path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}{}: {message} (fix the configuration first)", .file.display(), line_suffix(*.line))]
    Parse {
        file: PathBuf,
        line: Option<u32>,
        message: String,
    },
    #[error("no stanza for {name} in {}", .file.display())]
    NoStanza { name: String, file: PathBuf },
    #[error("{} does not read {}: add the line `{line}` to it", .main.display(), .target.display())]
    NotSourced {
        main: PathBuf,
        target: PathBuf,
        line: String,
    },
    #[error("{}:{line}: iface {stanza} inherits from {name}; change that stanza first", .file.display())]
    Inherited {
        file: PathBuf,
        line: u32,
        stanza: String,
        name: String,
    },
    #[error("{}:{line}: no `iface {name}` line here any more: the file changed while it was being edited", .file.display())]
    Changed {
        file: PathBuf,
        line: u32,
        name: String,
    },
    #[error("{} is read twice by the configuration (also as {}); edit it by hand", .path.display(), .other.display())]
    ReadTwice { path: PathBuf, other: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {}: {source}", .path.display())]
    Remove { path: PathBuf, source: io::Error },
}

fn line_suffix(line: Option<u32>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// Writes `text`, the complete stanzas of the connection `primary` (with
/// their own `auto`/`allow-*` lines, ending in a newline), into the
/// configuration. Every `iface` stanza of every name in `names` (and
/// `primary`) is removed from the file that holds it, and those names from
/// `auto` and `allow-*` lines; `text` takes the place of the first removed
/// stanza of `primary`, else of the first removed one, else goes to
/// `interfaces.d/PRIMARY` next to the main file, which must source it.
/// Returns the files written or removed.
pub fn define(
    config: &Config,
    primary: &str,
    names: &[String],
    text: &str,
) -> Result<Vec<PathBuf>, EditError> {
    check_name(primary)?;
    for name in names {
        check_name(name)?;
    }
    let mut set: HashSet<&str> = names.iter().map(String::as_str).collect();
    set.insert(primary);
    let mut text = text.as_bytes().to_vec();
    // A missing newline would glue the next line of the file to our last.
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }

    let loaded = load(config, true)?;
    let mut plan = plan_removal(&loaded, &set)?;
    let anchor = plan
        .stanzas
        .iter()
        .position(|s| s.name == primary)
        .or((!plan.stanzas.is_empty()).then_some(0));
    match anchor {
        Some(i) => plan.stanzas[i].replacement = text,
        None => {
            let target = format!("{}/{primary}", loaded.interfaces_d);
            if !loaded.sources(&target) {
                return Err(EditError::NotSourced {
                    main: config.main.clone(),
                    target: PathBuf::from(&target),
                    line: loaded.suggested_source_line(),
                });
            }
            plan.new_text = Some((target, text));
        }
    }
    let changes = loaded.changes(plan)?;
    apply(&changes)
}

/// Removes every `iface` stanza of `names` and their mentions on `auto` and
/// `allow-*` lines; a file of `interfaces.d` left with nothing but blanks
/// is removed. Each name must have a stanza. Returns the files written or
/// removed.
pub fn undefine(config: &Config, names: &[String]) -> Result<Vec<PathBuf>, EditError> {
    for name in names {
        check_name(name)?;
    }
    let set: HashSet<&str> = names.iter().map(String::as_str).collect();
    let loaded = load(config, true)?;
    for name in names {
        if loaded.config.stanzas_named(name).next().is_none() {
            return Err(EditError::NoStanza {
                name: name.clone(),
                file: config.main.clone(),
            });
        }
    }
    let plan = plan_removal(&loaded, &set)?;
    let changes = loaded.changes(plan)?;
    apply(&changes)
}

/// The file that holds the first stanza of `name`, as the configuration
/// names it (with the `--root` prefix); `None` when there is none.
pub fn defined_in(config: &Config, name: &str) -> Result<Option<PathBuf>, EditError> {
    check_name(name)?;
    let loaded = load(config, false)?;
    let file = loaded
        .config
        .stanzas_named(name)
        .find_map(|s| s.location)
        .and_then(|l| loaded.config.files.get(l.file))
        .map(|f| PathBuf::from(&f.path));
    Ok(file)
}

/// Names become file names and words of the configuration: the rule of
/// documents' names, which keeps them inside `interfaces.d`, one word, and
/// free of what `source`, `fnmatch` or the shell would read as a pattern.
fn check_name(name: &str) -> Result<(), EditError> {
    crate::xml::check_device_name(name).map_err(|reason| EditError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

fn utf8(path: &Path) -> Result<&str, EditError> {
    path.to_str().ok_or_else(|| EditError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// The configuration as parsed, with the bytes of each of its files.
struct Loaded {
    config: InterfacesFile,
    files: Vec<SourceText>,
    main: String,
    root: Option<String>,
    /// `interfaces.d` beside the main file, as the parser spells paths.
    interfaces_d: String,
}

struct SourceText {
    path: PathBuf,
    bytes: Vec<u8>,
    lines: Vec<Logical>,
}

/// Parses the configuration and reads its files. `strict` also refuses
/// errors in sourced files: ifupdown stops reading a file at its first
/// error, so whatever follows (maybe a stanza we must remove) is unseen.
/// Only sourced files that cannot be read at all are let through, having
/// nothing in them to edit.
fn load(config: &Config, strict: bool) -> Result<Loaded, EditError> {
    let main = utf8(&config.main)?.to_string();
    let root = match &config.root {
        Some(r) => Some(utf8(r)?.to_string()),
        None => None,
    };
    // The parser only warns about a main file it cannot open (ifup has then
    // nothing to do); an edit needs to say why.
    fs::File::open(&config.main).map_err(|source| EditError::Read {
        path: config.main.clone(),
        source,
    })?;
    let parsed = parse_file(
        &main,
        &ParseOptions {
            no_loopback: true,
            root: root.clone(),
            // The edits write Debian's stanzas, into a file read as Debian's.
            dialect: netconf_interfaces::DialectChoice::Debian,
        },
    );
    let errors: Vec<&Diagnostic> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .collect();
    let refusal = if parsed.rejected {
        // The reason is in the main file, even when a sourced file had an
        // error before it.
        errors
            .iter()
            .find(|d| d.location.is_none_or(|l| l.file == 0))
            .or(errors.first())
            .copied()
    } else if strict {
        errors
            .iter()
            .find(|d| {
                !(matches!(d.kind, DiagnosticKind::ReadFailed { .. }) && d.location.is_some())
            })
            .copied()
    } else {
        None
    };
    let config_model = parsed.config;
    if parsed.rejected || refusal.is_some() || config_model.files.is_empty() {
        let (file, line, message) = match refusal {
            Some(d) => (
                d.location
                    .and_then(|l| config_model.files.get(l.file))
                    .map_or_else(|| main.clone(), |f| f.path.clone()),
                d.location.map(|l| l.line),
                d.kind.to_string(),
            ),
            None => (main.clone(), None, "cannot be read".to_string()),
        };
        return Err(EditError::Parse {
            file: PathBuf::from(file),
            line,
            message,
        });
    }
    let mut files = Vec::with_capacity(config_model.files.len());
    for f in &config_model.files {
        let path = PathBuf::from(&f.path);
        let bytes = fs::read(&path).map_err(|source| EditError::Read {
            path: path.clone(),
            source,
        })?;
        let lines = logical_lines(&bytes);
        files.push(SourceText { path, bytes, lines });
    }
    let interfaces_d = format!("{}/interfaces.d", dirname(&main));
    Ok(Loaded {
        config: config_model,
        files,
        main,
        root,
        interfaces_d,
    })
}

/// A stanza to take out, in the order ifupdown read it.
struct RemovedStanza {
    name: String,
    file: usize,
    range: Range<usize>,
    /// What goes in its place: nothing, or the new text.
    replacement: Vec<u8>,
}

struct Plan {
    stanzas: Vec<RemovedStanza>,
    /// `auto`/`allow-*` words or whole lines to drop: file and byte range.
    class_cuts: Vec<(usize, Range<usize>)>,
    /// The new text when it goes to a file of its own: its path and text.
    new_text: Option<(String, Vec<u8>)>,
}

fn plan_removal(loaded: &Loaded, names: &HashSet<&str>) -> Result<Plan, EditError> {
    let mut stanzas = Vec::new();
    for stanza in &loaded.config.stanzas {
        if !names.contains(stanza.name.as_str()) {
            if let (Some(parent), Some(location)) = (&stanza.inherits, stanza.location) {
                // Its options were copied from a stanza we remove or move
                // (maybe below it, where ifupdown no longer finds it).
                if names.contains(parent.as_str()) {
                    return Err(EditError::Inherited {
                        file: loaded.files[location.file].path.clone(),
                        line: location.line,
                        stanza: stanza.name.clone(),
                        name: parent.clone(),
                    });
                }
            }
            continue;
        }
        let Some(location) = stanza.location else {
            continue;
        };
        let source = &loaded.files[location.file];
        let range = stanza_range(&source.lines, location.line, &stanza.name).ok_or_else(|| {
            EditError::Changed {
                file: source.path.clone(),
                line: location.line,
                name: stanza.name.clone(),
            }
        })?;
        stanzas.push(RemovedStanza {
            name: stanza.name.clone(),
            file: location.file,
            range,
            replacement: Vec::new(),
        });
    }
    let mut class_cuts = Vec::new();
    for (index, source) in loaded.files.iter().enumerate() {
        for line in &source.lines {
            for range in class_line_cuts(line, names) {
                class_cuts.push((index, range));
            }
        }
    }
    Ok(Plan {
        stanzas,
        class_cuts,
        new_text: None,
    })
}

/// One file to write or remove. `path` is as the configuration names it.
enum Change {
    Write { path: PathBuf, content: Vec<u8> },
    Remove { path: PathBuf },
}

impl Loaded {
    /// Whether a `source` or `source-directory` line of the configuration
    /// reads `target`, a file that need not exist yet.
    fn sources(&self, target: &str) -> bool {
        let target = normalize(target);
        let (dir, name) = target.rsplit_once('/').unwrap_or((".", target.as_str()));
        if self
            .config
            .files
            .iter()
            .any(|f| normalize(&f.path) == target)
        {
            return true;
        }
        for (index, source) in self.files.iter().enumerate() {
            let including = &self.config.files[index].path;
            for line in &source.lines {
                let text = String::from_utf8_lossy(&line.text);
                let Some((keyword, rest)) = next_word(&text) else {
                    continue;
                };
                let directory = match keyword {
                    "source" => false,
                    w if w.starts_with("source-dir") => true,
                    _ => continue,
                };
                // As the parser builds it: only the first word is joined to
                // the directory, wordexp splits the rest.
                let pattern = match &self.root {
                    Some(root) if rest.starts_with('/') => {
                        format!("{}{rest}", root.trim_end_matches('/'))
                    }
                    _ => include_pattern(including, rest),
                };
                for word in pattern
                    .split(|c: char| c.is_ascii() && is_c_space(c as u8))
                    .filter(|w| !w.is_empty())
                {
                    // Quotes, variables and `~` need the shell's expansion,
                    // which we cannot run on a file that does not exist yet;
                    // the admin is then asked for a plain line.
                    if word.contains(|c| "$'\"\\`~{}".contains(c)) {
                        continue;
                    }
                    let word = normalize(word);
                    let reads = if directory {
                        glob_matches(&word, dir) && is_sourceable_name(name.as_bytes())
                    } else {
                        glob_matches(&word, &target)
                    };
                    if reads {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Debian's own line when the main file is where Debian has it,
    /// otherwise one relative to the main file, which always fits.
    fn suggested_source_line(&self) -> String {
        let standard = format!(
            "{}/etc/network/interfaces",
            self.root.as_deref().unwrap_or("")
        );
        if normalize(&standard) == normalize(&self.main) {
            "source /etc/network/interfaces.d/*".into()
        } else {
            "source interfaces.d/*".into()
        }
    }

    fn is_in_interfaces_d(&self, path: &str) -> bool {
        normalize(&dirname(path)) == normalize(&self.interfaces_d)
    }

    /// The new bytes of every file the plan touches.
    fn changes(&self, plan: Plan) -> Result<Vec<Change>, EditError> {
        let mut splices: Vec<Vec<(Range<usize>, Vec<u8>)>> = vec![Vec::new(); self.files.len()];
        for s in plan.stanzas {
            splices[s.file].push((s.range, s.replacement));
        }
        for (file, range) in plan.class_cuts {
            splices[file].push((range, Vec::new()));
        }
        let (new_path, new_text) = match plan.new_text {
            Some((path, text)) => (Some(normalize(&path)), text),
            None => (None, Vec::new()),
        };
        let mut new_in_config = false;
        let mut changes = Vec::new();
        for (index, (source, edits)) in self.files.iter().zip(splices).enumerate() {
            let spec = &self.config.files[index].path;
            let is_target = new_path.as_deref() == Some(normalize(spec).as_str());
            if edits.is_empty() && !is_target {
                continue;
            }
            let mut content = splice(&source.bytes, edits);
            if is_target {
                new_in_config = true;
                content = add_text(content, &new_text);
            }
            if content == source.bytes {
                continue;
            }
            self.check_read_once(index)?;
            if index != 0 && self.is_in_interfaces_d(spec) && is_blank(&content) {
                changes.push(Change::Remove {
                    path: source.path.clone(),
                });
            } else {
                changes.push(Change::Write {
                    path: source.path.clone(),
                    content,
                });
            }
        }
        if let (Some(path), false) = (new_path, new_in_config) {
            let path = PathBuf::from(path);
            let old = match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                // `interfaces.d` exists but is no directory: apply says so.
                Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Vec::new(),
                _ => fs::read(&path).map_err(|source| EditError::Read {
                    path: path.clone(),
                    source,
                })?,
            };
            changes.push(Change::Write {
                content: add_text(old, &new_text),
                path,
            });
        }
        Ok(changes)
    }

    /// ifupdown reads a file once per path that names it; two paths of
    /// one file would give us two sets of edits for the same bytes.
    fn check_read_once(&self, index: usize) -> Result<(), EditError> {
        let path = &self.files[index].path;
        let Ok(me) = fs::metadata(path) else {
            return Ok(());
        };
        for (other_index, other) in self.files.iter().enumerate() {
            if other_index == index {
                continue;
            }
            if let Ok(m) = fs::metadata(&other.path) {
                if (m.dev(), m.ino()) == (me.dev(), me.ino()) {
                    return Err(EditError::ReadTwice {
                        path: path.clone(),
                        other: other.path.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A file of only blanks is taken as empty and replaced; otherwise the text
/// is appended, so that whatever else an admin put there stays.
fn add_text(mut content: Vec<u8>, text: &[u8]) -> Vec<u8> {
    if is_blank(&content) {
        return text.to_vec();
    }
    if !content.ends_with(b"\n") {
        content.push(b'\n');
    }
    content.extend_from_slice(text);
    content
}

fn is_blank(content: &[u8]) -> bool {
    content.iter().all(|&b| is_c_space(b))
}

fn splice(old: &[u8], mut edits: Vec<(Range<usize>, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = Vec::with_capacity(old.len());
    let mut at = 0;
    for (range, with) in edits {
        // Stanzas end where a class line starts, and a class line inside a
        // stanza has no words, so cuts never overlap; should one, the
        // stanza that came first wins.
        if range.start < at {
            continue;
        }
        out.extend_from_slice(&old[at..range.start]);
        out.extend_from_slice(&with);
        at = range.end;
    }
    out.extend_from_slice(&old[at..]);
    out
}

/// Collapses `//` and `/./` and drops a trailing `/`, so that paths the
/// parser built from different spellings compare equal.
fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `glob`'s idea of a match (as `wordexp` uses it): `*` stops at `/` and
/// does not match a leading dot.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let (Ok(pattern), Ok(path)) = (CString::new(pattern), CString::new(path)) else {
        return false;
    };
    // SAFETY: both pointers are valid NUL-terminated strings for the call.
    unsafe {
        libc::fnmatch(
            pattern.as_ptr(),
            path.as_ptr(),
            libc::FNM_PATHNAME | libc::FNM_PERIOD,
        ) == 0
    }
}

/// One logical line as ifupdown reads it, with where each of its bytes is
/// in the file, so that a word can be cut out of a line continued with `\`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Logical {
    first: u32,
    last: u32,
    /// From the start of its first physical line to the end (newline
    /// included) of its last.
    span: Range<usize>,
    text: Vec<u8>,
    /// File offset of each byte of `text`.
    at: Vec<usize>,
}

/// The file's logical lines, as the parser cuts them, with the bytes of
/// each and where each byte is.
fn logical_lines(data: &[u8]) -> Vec<Logical> {
    Lines::new(data)
        .map(|l| {
            let at: Vec<usize> = l.pieces.iter().flat_map(|p| p.clone()).collect();
            Logical {
                first: l.first,
                last: l.last,
                text: at.iter().map(|&i| data[i]).collect(),
                at,
                span: l.span,
            }
        })
        .collect()
}

/// Byte ranges of the blank-separated words of `text`.
fn word_spans(text: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if is_c_space(text[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && !is_c_space(text[i]) {
            i += 1;
        }
        spans.push(start..i);
    }
    spans
}

/// Whether a logical line ends the stanza above it, as the parser's state
/// machine has it: every keyword does, except `auto`, `allow-*`,
/// `no-auto-down` and `no-scripts` without a word (they name the stanza
/// they are in).
fn ends_stanza(text: &[u8]) -> bool {
    let spans = word_spans(text);
    let Some(first) = spans.first() else {
        return false;
    };
    let keyword = &text[first.clone()];
    match keyword {
        b"iface" | b"mapping" | b"source" | b"rename" => true,
        k if k.starts_with(b"source-dir") => true,
        b"auto" | b"no-auto-down" | b"no-scripts" => spans.len() > 1,
        k if is_allow(k) => spans.len() > 1,
        _ => false,
    }
}

fn is_allow(keyword: &[u8]) -> bool {
    keyword.len() > 6 && keyword.starts_with(b"allow-")
}

/// The bytes of the stanza whose `iface NAME` line the parser reported at
/// `line` (the last physical line of a continued one): that line through
/// its last option line, continuations and whatever lies between included.
/// `None` when no such line is there.
fn stanza_range(lines: &[Logical], line: u32, name: &str) -> Option<Range<usize>> {
    let index = lines.iter().position(|l| l.last == line)?;
    let iface = &lines[index];
    let spans = word_spans(&iface.text);
    let word = |i: usize| spans.get(i).map(|s| &iface.text[s.clone()]);
    if word(0) != Some(b"iface".as_slice()) || word(1) != Some(name.as_bytes()) {
        return None;
    }
    let mut end = iface.span.end;
    for option in &lines[index + 1..] {
        if option.text.is_empty() {
            continue;
        }
        if ends_stanza(&option.text) {
            break;
        }
        end = option.span.end;
    }
    Some(iface.span.start..end)
}

/// Cuts that take `names` off an `auto`/`allow-*` line: each word with the
/// blanks before it, or the whole line when no word would be left (a bare
/// `auto` inside a stanza would name that stanza).
fn class_line_cuts(line: &Logical, names: &HashSet<&str>) -> Vec<Range<usize>> {
    let spans = word_spans(&line.text);
    if spans.len() < 2 {
        return Vec::new();
    }
    let keyword = &line.text[spans[0].clone()];
    if keyword != b"auto" && !is_allow(keyword) {
        return Vec::new();
    }
    let hit: Vec<bool> = spans[1..]
        .iter()
        .map(|s| std::str::from_utf8(&line.text[s.clone()]).is_ok_and(|w| names.contains(w)))
        .collect();
    if !hit.contains(&true) {
        return Vec::new();
    }
    if hit.iter().all(|&h| h) {
        return vec![line.span.clone()];
    }
    let mut cuts = Vec::new();
    for (i, _) in hit.iter().enumerate().filter(|(_, &h)| h) {
        let from = spans[i].end;
        let to = spans[i + 1].end;
        cuts.push(line.at[from]..line.at[to - 1] + 1);
    }
    cuts
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh name beside `dest` for a file that becomes `dest` by rename. It
/// starts with a dot, which neither `source DIR/*` nor `source-directory`
/// reads, should a crash leave it behind.
pub(crate) fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = format!(".{name}.netconf-{}-{n}", std::process::id());
    dest.with_file_name(temp)
}

/// Writes `content` to a new file beside `dest`, with `like`'s mode and
/// owner (0644 and ours without it), synced to disk. Nothing is left
/// behind on failure.
pub(crate) fn stage(dest: &Path, content: &[u8], like: Option<&Metadata>) -> io::Result<PathBuf> {
    let temp = temp_beside(dest);
    let mode = like.map_or(0o644, |m| m.mode() & 0o7777);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        if let Some(m) = like {
            let mine = file.metadata()?;
            if (mine.uid(), mine.gid()) != (m.uid(), m.gid()) {
                std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()))?;
            }
        }
        // After the chown, which clears set-id bits, and past the umask.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(content)?;
        file.sync_all()
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Makes renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Where to write a file the configuration names `path`: a symbolic link
/// is kept and the file it points to replaced.
fn write_target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

struct Staged {
    temp: PathBuf,
    dest: PathBuf,
    report: PathBuf,
}

/// Writes every new file beside its target first and renames them all only
/// then, so that a failure before the renames leaves every file as it was.
fn apply(changes: &[Change]) -> Result<Vec<PathBuf>, EditError> {
    let mut staged: Vec<Staged> = Vec::new();
    let mut made_dirs: Vec<PathBuf> = Vec::new();
    let undo = |staged: &[Staged], made_dirs: &[PathBuf]| {
        for s in staged {
            let _ = fs::remove_file(&s.temp);
        }
        for d in made_dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    };
    for change in changes {
        let Change::Write { path, content } = change else {
            continue;
        };
        let write_error = |source| EditError::Write {
            path: path.clone(),
            source,
        };
        let result = (|| {
            let dest = write_target(path)?;
            let like = match fs::metadata(&dest) {
                Ok(m) => Some(m),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => None,
                Err(e) => return Err(e),
            };
            if like.is_none() {
                let dir = parent_dir(&dest);
                match fs::symlink_metadata(dir) {
                    // `interfaces.d` may be sourced by a glob yet missing.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        fs::DirBuilder::new().mode(0o755).create(dir)?;
                        made_dirs.push(dir.to_path_buf());
                    }
                    Err(e) => return Err(e),
                    Ok(_) if dir.is_dir() => {}
                    Ok(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                }
            }
            let temp = stage(&dest, content, like.as_ref())?;
            Ok((temp, dest))
        })();
        match result {
            Ok((temp, dest)) => staged.push(Staged {
                temp,
                dest,
                report: path.clone(),
            }),
            Err(e) => {
                undo(&staged, &made_dirs);
                return Err(write_error(e));
            }
        }
    }
    let mut done = Vec::new();
    let mut dirs = BTreeSet::new();
    for (i, s) in staged.iter().enumerate() {
        if let Err(source) = fs::rename(&s.temp, &s.dest) {
            undo(&staged[i..], &[]);
            return Err(EditError::Write {
                path: s.report.clone(),
                source,
            });
        }
        dirs.insert(parent_dir(&s.dest).to_path_buf());
        done.push(s.report.clone());
    }
    for change in changes {
        let Change::Remove { path } = change else {
            continue;
        };
        fs::remove_file(path).map_err(|source| EditError::Remove {
            path: path.clone(),
            source,
        })?;
        dirs.insert(parent_dir(path).to_path_buf());
        done.push(path.clone());
    }
    for dir in dirs {
        // The renames are done and visible; a failed sync must not make the
        // caller believe otherwise and edit again.
        let _ = sync_dir(&dir);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::lines::Lines;

    /// Our offsets-keeping cut must be ifupdown's cut.
    fn same_cut(data: &[u8]) {
        let ours: Vec<(String, u32, u32)> = logical_lines(data)
            .into_iter()
            .map(|l| {
                for (i, &b) in l.text.iter().enumerate() {
                    assert_eq!(data[l.at[i]], b, "{data:?}");
                }
                (
                    String::from_utf8_lossy(&l.text).into_owned(),
                    l.first,
                    l.last,
                )
            })
            .collect();
        let theirs: Vec<(String, u32, u32)> = Lines::new(data)
            .map(|l| (l.text, l.first, l.last))
            .collect();
        assert_eq!(ours, theirs, "{data:?}");
    }

    #[test]
    fn logical_lines_match_the_parser() {
        for case in [
            "",
            "\n",
            "auto a\n",
            "  # c\nauto eth0 # x\n",
            "iface eth0 \\\n   inet static\n",
            "up a \\\n# b\n",
            "a \\ \nb\n",
            "auto a\\",
            "auto a\n\\",
            "\\\\",
            "x\\\\\\\\\n\n",
            "auto a\0junk\nauto b\n",
            "\t\x0b\x0c\r\n#\n  \\\n\n",
        ] {
            same_cut(case.as_bytes());
        }
        // A cheap generator over the bytes that matter to the cut.
        let alphabet = b"a #\\\n\t\0";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 59) as usize;
            let mut data = Vec::with_capacity(len);
            let mut s = seed;
            for _ in 0..len {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                data.push(alphabet[(s >> 33) as usize % alphabet.len()]);
            }
            same_cut(&data);
        }
    }

    #[test]
    fn names() {
        for good in [
            "eth0",
            "br0",
            "eth0.100",
            "enp0s31f6",
            "bond-1",
            "eth0:1",
            "a23456789012345",
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "/",
            ".",
            "..",
            "a b",
            "a234567890123456",
            "eth*",
            "é",
            "a=b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn class_cuts() {
        let names: HashSet<&str> = ["eth0", "eth1"].into_iter().collect();
        let cut = |s: &str| {
            let data = s.as_bytes();
            let edits = logical_lines(data)
                .iter()
                .flat_map(|l| class_line_cuts(l, &names))
                .map(|r| (r, Vec::new()))
                .collect();
            String::from_utf8(splice(data, edits)).unwrap()
        };
        assert_eq!(cut("auto lo eth0 br0\n"), "auto lo br0\n");
        assert_eq!(cut("auto eth0   br0  \n"), "auto   br0  \n");
        assert_eq!(cut("auto eth0 eth1\nx\n"), "x\n");
        assert_eq!(cut("allow-hotplug eth1\n"), "");
        assert_eq!(cut("allow-auto br0 eth1"), "allow-auto br0");
        assert_eq!(cut("auto br0 \\\n  eth0\n"), "auto br0\n");
        assert_eq!(cut("auto eth0 \\\n  br0\n"), "auto \\\n  br0\n");
        assert_eq!(cut("auto eth0 \\\n  eth1\nauto lo\n"), "auto lo\n");
        assert_eq!(
            cut("no-scripts eth0\nauto eth00\n"),
            "no-scripts eth0\nauto eth00\n"
        );
    }

    #[test]
    fn paths() {
        assert_eq!(normalize("/a//b/./c/"), "/a/b/c");
        assert_eq!(normalize("./x"), "x");
        assert!(glob_matches("/e/interfaces.d/*", "/e/interfaces.d/br0"));
        assert!(!glob_matches("/e/interfaces.d/*", "/e/interfaces.d/.br0"));
        assert!(!glob_matches("/e/*", "/e/interfaces.d/br0"));
    }
}
