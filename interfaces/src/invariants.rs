//! What the reader promises of any input, whatever its bytes: checked by
//! the property tests (`tests/never_panics.rs`) and by the fuzzer
//! (`fuzz/fuzz_targets/interfaces_bytes.rs`).

use crate::{DiagnosticKind, Parsed, Severity};

/// Panics, naming the broken promise, unless `parsed` (what was read of
/// `input`, the main file) keeps them: every error has a location, within
/// the file when it is the main file's, and both wordings; the
/// configuration is rejected exactly when Debian saw an error in the main
/// file.
pub fn assert_invariants(parsed: &Parsed, input: &[u8]) {
    let max_line = max_line(input);
    for d in parsed.errors() {
        let loc = d
            .location
            .unwrap_or_else(|| panic!("error without a location: {d:?}"));
        assert!(loc.line >= 1, "line 0 in {d:?}");
        if loc.file == 0 {
            assert!(loc.line <= max_line, "line past the end in {d:?}");
        }
        assert!(!d.report(&parsed.config).is_empty());
        assert!(!d.debian_text(&parsed.config).is_empty());
    }
    // A sourced file that cannot be read is located at the line that sources
    // it, but Debian only stops reading that file, as for its other errors.
    let main_file_error = parsed.diagnostics.iter().any(|d| {
        d.debian_prints
            && d.severity() == Severity::Error
            && d.location.map(|l| l.file) == Some(0)
            && !matches!(d.kind, DiagnosticKind::ReadFailed { .. })
    });
    assert_eq!(
        parsed.rejected, main_file_error,
        "rejected iff Debian saw an error in the main file"
    );
}

/// A bound on the line numbers Debian can report for `input`: its physical
/// lines, plus one for each backslash in it. At the end of the file,
/// ifupdown's `get_line` counts a line for every trailing backslash it
/// removes, though no line follows (a file of `x\\` and no newline has an
/// error at line 3), and a continuation can carry backslashes across empty
/// lines to the end.
fn max_line(input: &[u8]) -> u32 {
    let physical = input.split(|&b| b == b'\n').count();
    let backslashes = input.iter().filter(|&&b| b == b'\\').count();
    u32::try_from(physical + backslashes).unwrap_or(u32::MAX)
}
