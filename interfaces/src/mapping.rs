//! Runs a `mapping` stanza's script the way ifupdown does: `script PHYS`
//! from `/`, the `map` lines on its standard input, and the first line it
//! prints is the logical interface.

use crate::lines::{is_c_space, truncate_bytes};
use crate::model::Mapping;
use crate::parser::strerror;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// The logical name the script chose, or the warnings ifupdown prints when
/// it did not (the caller prefixes them with the program name).
pub fn run_mapping(mapping: &Mapping, physical: &str) -> Result<String, Vec<String>> {
    let script = mapping.script.as_deref().unwrap_or("(null)");
    let failed = |mut lines: Vec<String>| {
        lines.push(format!(
            "error trying to executing mapping script {script} on {physical}"
        ));
        Err(lines)
    };
    let child = Command::new(script)
        .arg(physical)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        // Without a `script` line ifupdown's child crashes, saying nothing.
        Err(_) if mapping.script.is_none() => return failed(Vec::new()),
        // Otherwise it reports the failed exec and exits 127.
        Err(e) => {
            return failed(vec![format!(
                "executing \"{script}\" failed: {}",
                strerror(&e)
            )])
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let mut input = String::new();
        for line in &mapping.maps {
            input.push_str(line);
            input.push('\n');
        }
        // A script that does not read its input is fine.
        let _ = stdin.write_all(input.as_bytes());
    }
    let mut output = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_end(&mut output);
    }
    let ok = child.wait().is_ok_and(|status| status.success());
    if !ok {
        return failed(Vec::new());
    }
    if output.is_empty() {
        return Err(vec![format!(
            "no output from mapping script {script} on {physical}"
        )]);
    }
    // fgets into an 80-byte buffer: the first line, at most 79 bytes.
    let first = match output.iter().position(|&b| b == b'\n') {
        Some(i) => &output[..=i],
        None => &output[..],
    };
    let first = String::from_utf8_lossy(first);
    let first = truncate_bytes(&first, 79);
    Ok(first
        .trim_end_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
        .to_string())
}
