//! The interfaces(5) reader: ifupdown 0.8.41's `read_interfaces_defn` state
//! machine, line for line, that keeps reading after an error so that every
//! problem is reported, while building exactly the model Debian builds.

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::families::{family_by_name, method_def};
use crate::include::{directory_entries, expand_words, include_pattern};
use crate::lines::{next_word, words, Lines};
use crate::model::{
    AllowClass, Family, InterfacesFile, Location, Mapping, OptionLine, SourceFile, Stanza,
};
use std::collections::HashSet;
use std::io::Read;

/// How far `source` lines may nest before we stop following them.
const MAX_INCLUDE_DEPTH: usize = 64;

/// No real interfaces file comes near this; `source /dev/zero` would.
const MAX_FILE_SIZE: u64 = 64 << 20;

#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// `--no-loopback`: no implicit `auto lo` / `iface lo inet loopback`.
    pub no_loopback: bool,
    /// Read a copy of a file system (ncftool's `--root`): absolute `source`
    /// and `source-directory` paths are taken under this directory. The
    /// paths in the model are the ones opened, with this prefix.
    pub root: Option<String>,
    /// The dialect to read the file in (`auto`: Debian's unless only
    /// another dialect can mean it; see `dialect`).
    pub dialect: crate::dialect::DialectChoice,
}

/// The outcome of reading a configuration.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub config: InterfacesFile,
    /// Errors, warnings and the verbose trace, in the order Debian prints them.
    pub diagnostics: Vec<Diagnostic>,
    /// Debian would refuse the whole configuration ("couldn't read interfaces
    /// file"): the main file had an error or could not be read. Errors in
    /// sourced files only cut that file short, as in Debian.
    pub rejected: bool,
    /// The dialect the configuration was read in.
    pub dialect: crate::dialect::Dialect,
    /// ifupdown-ng's own view of the objects (`ifquery`'s ng output), when
    /// read in its dialect.
    pub ng: Option<crate::dialect::ng::NgConfig>,
    /// ifupdown2's own view of the stanzas (`ifquery -o json`), when read in
    /// its dialect.
    pub ifupdown2: Option<Vec<crate::dialect::ifupdown2::Ifupdown2Iface>>,
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == crate::Severity::Error)
    }
}

/// Reads `path` and everything it sources.
pub fn parse_file(path: &str, options: &ParseOptions) -> Parsed {
    crate::dialect::parse(path, None, options)
}

/// Reads a main file given as bytes (for tests and fuzzing); `path` names it
/// and anchors relative `source` lines.
pub fn parse_bytes(path: &str, data: &[u8], options: &ParseOptions) -> Parsed {
    crate::dialect::parse(path, Some(data), options)
}

/// Reads in Debian's dialect, whatever `options.dialect` says.
pub(crate) fn parse_debian(path: &str, data: Option<&[u8]>, options: &ParseOptions) -> Parsed {
    Reader::new(options).run(path, data)
}

enum State {
    None,
    Iface(usize),
    Mapping(usize),
    /// After an `iface` line we could not accept (only once Debian has
    /// stopped reading): its option lines are skipped quietly.
    BrokenIface,
}

enum FileOutcome {
    Read,
    /// Debian's `read_interfaces_defn` returned NULL for this file.
    Failed,
}

struct Reader<'o> {
    options: &'o ParseOptions,
    config: InterfacesFile,
    diagnostics: Vec<Diagnostic>,
    seen: HashSet<String>,
    /// Members of each class, to keep class lists free of repeats cheaply.
    class_members: HashSet<(String, String)>,
    no_loopback: bool,
    depth: usize,
}

impl<'o> Reader<'o> {
    fn new(options: &'o ParseOptions) -> Self {
        Reader {
            options,
            config: InterfacesFile::default(),
            diagnostics: Vec::new(),
            seen: HashSet::new(),
            class_members: HashSet::new(),
            no_loopback: options.no_loopback,
            depth: 0,
        }
    }

    fn run(mut self, path: &str, data: Option<&[u8]>) -> Parsed {
        if !self.options.no_loopback {
            self.add_to_class("auto", "lo");
        }
        let outcome = self.read_file(path, None, data);
        let rejected = matches!(outcome, FileOutcome::Failed);
        if !rejected && !self.no_loopback {
            self.config.stanzas.insert(
                0,
                Stanza {
                    name: "lo".into(),
                    family: Family::Inet,
                    method: "loopback".into(),
                    inherits: None,
                    options: Vec::new(),
                    location: None,
                },
            );
        }
        Parsed {
            config: self.config,
            diagnostics: self.diagnostics,
            rejected,
            dialect: crate::dialect::Dialect::Debian,
            ng: None,
            ifupdown2: None,
        }
    }

    fn note(&mut self, kind: DiagnosticKind, location: Option<Location>, debian_prints: bool) {
        self.diagnostics.push(Diagnostic {
            kind,
            location,
            debian_prints,
        });
    }

    fn add_to_class(&mut self, class: &str, iface: &str) {
        if !self
            .class_members
            .insert((class.to_string(), iface.to_string()))
        {
            return;
        }
        let idx = match self.config.classes.iter().position(|c| c.name == class) {
            Some(i) => i,
            None => {
                self.config.classes.push(AllowClass {
                    name: class.to_string(),
                    interfaces: Vec::new(),
                });
                self.config.classes.len() - 1
            }
        };
        self.config.classes[idx].interfaces.push(iface.to_string());
    }

    /// Reads one file. `data` supplies the main file's bytes instead of disk.
    fn read_file(
        &mut self,
        path: &str,
        included_from: Option<Location>,
        data: Option<&[u8]>,
    ) -> FileOutcome {
        if !self.seen.insert(path.to_string()) {
            return FileOutcome::Failed;
        }
        let bytes = match data {
            Some(d) => d.to_vec(),
            None => {
                let file = match std::fs::File::open(path) {
                    Ok(f) => f,
                    Err(e) => {
                        let kind = DiagnosticKind::OpenFailed {
                            path: path.to_string(),
                            error: strerror(&e),
                        };
                        self.note(kind, included_from, true);
                        return FileOutcome::Read;
                    }
                };
                match read_bounded(file) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        let kind = DiagnosticKind::ReadFailed {
                            path: path.to_string(),
                            error,
                        };
                        self.note(kind, included_from, true);
                        return FileOutcome::Failed;
                    }
                }
            }
        };
        self.config.files.push(SourceFile {
            path: path.to_string(),
            included_from,
        });
        let file = self.config.files.len() - 1;
        FileReader {
            reader: self,
            path,
            file,
            state: State::None,
            stopped: None,
        }
        .read(&bytes)
    }
}

/// The state of reading one file.
struct FileReader<'r, 'o> {
    reader: &'r mut Reader<'o>,
    path: &'r str,
    file: usize,
    state: State,
    /// Set at the first error: the reader as it was, to restore at the end
    /// (Debian stops reading there; we only read on to report).
    stopped: Option<Snapshot>,
}

struct Snapshot {
    config: InterfacesFile,
    class_members: HashSet<(String, String)>,
    no_loopback: bool,
}

impl FileReader<'_, '_> {
    fn read(mut self, bytes: &[u8]) -> FileOutcome {
        for line in Lines::new(bytes) {
            let location = Location {
                file: self.file,
                line: line.last,
            };
            let Some((first, rest)) = next_word(&line.text) else {
                continue;
            };
            self.line(first, rest, location);
        }
        match self.stopped.take() {
            None => FileOutcome::Read,
            Some(mut saved) => {
                saved.config.files = std::mem::take(&mut self.reader.config.files);
                self.reader.config = saved.config;
                self.reader.class_members = saved.class_members;
                self.reader.no_loopback = saved.no_loopback;
                FileOutcome::Failed
            }
        }
    }

    fn debian_reading(&self) -> bool {
        self.stopped.is_none()
    }

    /// An error that makes Debian stop reading this file.
    fn fail(&mut self, kind: DiagnosticKind, location: Location) {
        let debian_prints = self.debian_reading();
        self.reader.note(kind, Some(location), debian_prints);
        if self.stopped.is_none() {
            self.stopped = Some(Snapshot {
                config: self.reader.config.clone(),
                class_members: self.reader.class_members.clone(),
                no_loopback: self.reader.no_loopback,
            });
        }
    }

    fn line(&mut self, first: &str, rest: &str, location: Location) {
        match first {
            "mapping" => {
                let config = &mut self.reader.config;
                config.mappings.push(Mapping {
                    patterns: words(rest).into_iter().map(String::from).collect(),
                    script: None,
                    maps: Vec::new(),
                    location,
                });
                self.state = State::Mapping(config.mappings.len() - 1);
            }
            "source" => {
                self.source(rest, location, false);
                self.state = State::None;
            }
            w if w.starts_with("source-dir") => {
                self.source(rest, location, true);
                self.state = State::None;
            }
            "iface" => self.iface(rest, location),
            "auto" => self.list_line(rest, |r, iface| r.add_to_class("auto", iface)),
            w if w.len() > 6 && w.starts_with("allow-") => {
                let class = w[6..].to_string();
                self.list_line(rest, |r, iface| r.add_to_class(&class, iface))
            }
            "no-auto-down" => {
                self.list_line(rest, |r, iface| r.config.no_auto_down.push(iface.into()))
            }
            "no-scripts" => self.list_line(rest, |r, iface| r.config.no_scripts.push(iface.into())),
            "rename" => {
                let renames = words(rest).into_iter().map(String::from);
                self.reader.config.renames.extend(renames);
                self.state = State::None;
            }
            option => self.option(option, rest, location),
        }
    }

    /// `auto`, `allow-*`, `no-auto-down`, `no-scripts`: a bare keyword inside
    /// a stanza names that stanza; otherwise each word is added.
    fn list_line(&mut self, rest: &str, mut add: impl FnMut(&mut Reader, &str)) {
        if rest.is_empty() {
            if let State::Iface(idx) = self.state {
                let name = self.reader.config.stanzas[idx].name.clone();
                add(self.reader, &name);
                return;
            }
        }
        for word in words(rest) {
            add(self.reader, word);
        }
        self.state = State::None;
    }

    fn source(&mut self, rest: &str, location: Location, directory: bool) {
        if !self.debian_reading() {
            return;
        }
        let pattern = match &self.reader.options.root {
            Some(root) if rest.starts_with('/') => format!("{}{rest}", root.trim_end_matches('/')),
            _ => include_pattern(self.path, rest),
        };
        let reader = &mut *self.reader;
        if reader.depth >= MAX_INCLUDE_DEPTH {
            let kind = DiagnosticKind::IncludeTooDeep {
                path: pattern,
                depth: MAX_INCLUDE_DEPTH,
            };
            reader.note(kind, Some(location), false);
            return;
        }
        reader.depth += 1;
        for word in expand_words(&pattern) {
            if directory {
                let Some(entries) = directory_entries(&word) else {
                    continue;
                };
                reader.note(DiagnosticKind::ReadingDirectory { path: word }, None, true);
                for entry in entries {
                    reader.note(
                        DiagnosticKind::ParsingFile {
                            path: entry.clone(),
                        },
                        None,
                        true,
                    );
                    reader.read_file(&entry, Some(location), None);
                }
            } else {
                if let Err(e) = std::fs::metadata(&word) {
                    // wordexp leaves a glob that matched nothing as it is.
                    if e.raw_os_error() == Some(libc::ENOENT) {
                        continue;
                    }
                }
                reader.note(
                    DiagnosticKind::ParsingFile { path: word.clone() },
                    None,
                    true,
                );
                reader.read_file(&word, Some(location), None);
            }
        }
        reader.depth -= 1;
    }

    fn iface(&mut self, rest: &str, location: Location) {
        match self.parse_iface(rest, location) {
            Ok(stanza) => {
                let iface_words = words(rest);
                let names_loopback = matches!(iface_words.get(1), Some(&("inet" | "inet6")))
                    && iface_words.get(2) == Some(&"loopback");
                if names_loopback {
                    self.reader.no_loopback = true;
                }
                self.reader.config.stanzas.push(stanza);
                self.state = State::Iface(self.reader.config.stanzas.len() - 1);
            }
            Err(kind) => {
                self.fail(kind, location);
                self.state = State::BrokenIface;
            }
        }
    }

    /// `iface NAME FAMILY METHOD [inherits OTHER]`, or `iface NAME [FAMILY] inherits OTHER`.
    fn parse_iface(&mut self, rest: &str, location: Location) -> Result<Stanza, DiagnosticKind> {
        let (name, mut rest) = next_word(rest).ok_or(DiagnosticKind::IfaceTooFewParameters)?;
        let mut family_word = None;
        let mut family = None;
        let mut method_word = None;
        let mut method = None;
        let mut inherits_keyword = false;

        if let Some((word, r)) = next_word(rest) {
            rest = r;
            family_word = Some(word);
            family = family_by_name(word);
            match family {
                None => inherits_keyword = word == "inherits",
                Some(f) => {
                    if let Some((word, r)) = next_word(rest) {
                        rest = r;
                        method_word = Some(word);
                        method = method_def(f, word).map(|m| m.name.to_string());
                        inherits_keyword = method.is_none() && word == "inherits";
                    }
                }
            }
        }
        if family.is_none() && !inherits_keyword {
            return Err(DiagnosticKind::UnknownFamily {
                family: family_word.map(String::from),
            });
        }
        if let (Some(f), None, false) = (family, &method, inherits_keyword) {
            return Err(DiagnosticKind::UnknownMethod {
                family: f,
                method: method_word.map(String::from),
            });
        }
        if !inherits_keyword {
            if let Some((word, r)) = next_word(rest) {
                rest = r;
                if word == "inherits" {
                    inherits_keyword = true;
                } else {
                    let kind = DiagnosticKind::ExtraIfaceParameter { word: word.into() };
                    let prints = self.debian_reading();
                    self.reader.note(kind, Some(location), prints);
                }
            }
        }

        let mut stanza = Stanza {
            name: name.to_string(),
            family: family.unwrap_or(Family::Inet),
            method: method.clone().unwrap_or_default(),
            inherits: None,
            options: Vec::new(),
            location: Some(location),
        };
        if inherits_keyword {
            let (parent_name, _) =
                next_word(rest).ok_or_else(|| DiagnosticKind::KeywordMissingParameter {
                    keyword: "inherits".into(),
                })?;
            let parent = self
                .reader
                .config
                .stanzas
                .iter()
                .find(|s| s.name == parent_name && family.is_none_or(|f| s.family == f))
                .ok_or_else(|| DiagnosticKind::UnknownInheritTarget {
                    name: parent_name.into(),
                    family: family.map(|_| family_word.unwrap_or_default().to_string()),
                })?;
            stanza.options.clone_from(&parent.options);
            stanza.family = family.unwrap_or(parent.family);
            stanza.method = method.unwrap_or_else(|| parent.method.clone());
            stanza.inherits = Some(parent_name.to_string());
        }
        Ok(stanza)
    }

    fn option(&mut self, option: &str, rest: &str, location: Location) {
        match self.state {
            State::Iface(idx) => {
                let name = match option {
                    "post-up" => "up",
                    "pre-down" => "down",
                    other => other,
                };
                if rest.is_empty() {
                    self.fail(
                        DiagnosticKind::EmptyValue {
                            option: name.into(),
                        },
                        location,
                    );
                    return;
                }
                self.reader.config.stanzas[idx].options.push(OptionLine {
                    name: name.to_string(),
                    value: rest.to_string(),
                    location,
                });
            }
            State::Mapping(idx) => {
                let mapping = &mut self.reader.config.mappings[idx];
                match option {
                    "script" if mapping.script.is_some() => {
                        self.fail(DiagnosticKind::DuplicateMappingScript, location)
                    }
                    "script" => mapping.script = Some(rest.to_string()),
                    "map" => mapping.maps.push(rest.to_string()),
                    _ => self.fail(
                        DiagnosticKind::MisplacedOption {
                            option: option.into(),
                            in_mapping: true,
                        },
                        location,
                    ),
                }
            }
            State::None => self.fail(
                DiagnosticKind::MisplacedOption {
                    option: option.into(),
                    in_mapping: false,
                },
                location,
            ),
            State::BrokenIface => {}
        }
    }
}

/// The C library's message for an I/O error, without Rust's "(os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A whole file, refused beyond `MAX_FILE_SIZE`: a file that large is a
/// mistake, and reading it all would take the daemon's memory.
pub(crate) fn read_bounded(file: std::fs::File) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| strerror(&e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!("File larger than {} MiB", MAX_FILE_SIZE >> 20));
    }
    Ok(bytes)
}

/// [`read_bounded`] of the file at `path`.
pub(crate) fn read_limited(path: &str) -> Result<Vec<u8>, String> {
    read_bounded(std::fs::File::open(path).map_err(|e| strerror(&e))?)
}
