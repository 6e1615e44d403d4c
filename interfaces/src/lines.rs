//! Logical lines of an interfaces file, cut exactly as ifupdown 0.8's `get_line`
//! cuts them: comments only where a line starts with `#` (after leading blanks),
//! a trailing backslash joins the next physical line as it is, and blanks are
//! trimmed at both ends of the joined line.

/// One logical line: its text and the physical lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    pub text: String,
    /// Number of the first physical line of the logical line (1-based).
    pub first: u32,
    /// Number Debian reports in its messages: the last physical line read.
    pub last: u32,
    /// Where it is in the file: from the start of its first physical line
    /// to the start of the line after its last. What a file edit cuts.
    pub span: Range<usize>,
    /// The file's bytes that make up the text, in order: one piece per
    /// physical line, without the blanks trimmed or the backslashes that
    /// join them (a word of the text can be found in the file with these).
    pub pieces: Vec<Range<usize>>,
}

use std::ops::Range;

/// C's `isspace` in the C locale (Rust's `is_ascii_whitespace` lacks `\v`).
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub fn trim_c_space(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

/// Iterates over the logical lines of a file's bytes.
pub struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> Lines<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Lines {
            data,
            pos: 0,
            line: 0,
        }
    }

    /// The next physical line without its newline, as the range of the
    /// file it is. Like `fgets` + `strlen`, whatever follows a NUL byte on
    /// that line is lost.
    fn physical(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        if start >= self.data.len() {
            return None;
        }
        let rest = &self.data[start..];
        let (len, advance) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        self.pos += advance;
        let len = rest[..len].iter().position(|&b| b == 0).unwrap_or(len);
        Some(start..start + len)
    }
}

impl Iterator for Lines<'_> {
    type Item = LogicalLine;

    fn next(&mut self) -> Option<LogicalLine> {
        let data = self.data;
        let (start, mut pieces) = loop {
            let phys = self.physical()?;
            self.line += 1;
            let lead = data[phys.clone()]
                .iter()
                .position(|&b| !is_c_space(b))
                .map_or(phys.end, |i| phys.start + i);
            if data.get(lead) != Some(&b'#') || lead == phys.end {
                break (
                    phys.start,
                    std::iter::once(lead..phys.end).collect::<Vec<_>>(),
                );
            }
        };
        let first = self.line;
        let mut len: usize = pieces.iter().map(|p| p.len()).sum();

        while last_byte(data, &pieces) == Some(b'\\') {
            trim_back(&mut pieces, len - 1);
            len -= 1;
            match self.physical() {
                Some(next) => {
                    len += next.len();
                    pieces.push(next);
                }
                // ifupdown gives up on a file that ends in a lone backslash line.
                None if len == 0 => return None,
                None => {}
            }
            self.line += 1;
        }

        let buf: Vec<u8> = pieces
            .iter()
            .flat_map(|p| &data[p.clone()])
            .copied()
            .collect();
        let end = buf
            .iter()
            .rposition(|&b| !is_c_space(b))
            .map_or(0, |i| i + 1);
        trim_back(&mut pieces, end);

        Some(LogicalLine {
            text: String::from_utf8_lossy(&buf[..end]).into_owned(),
            first,
            last: self.line,
            span: start..self.pos,
            pieces,
        })
    }
}

/// The last byte of what `pieces` hold, if any.
fn last_byte(data: &[u8], pieces: &[Range<usize>]) -> Option<u8> {
    let last = pieces.iter().rev().find(|p| !p.is_empty())?;
    Some(data[last.end - 1])
}

/// Cuts `pieces` to `len` bytes in all, from the back; empty pieces go.
fn trim_back(pieces: &mut Vec<Range<usize>>, len: usize) {
    let mut left = len;
    for piece in pieces.iter_mut() {
        let keep = piece.len().min(left);
        piece.end = piece.start + keep;
        left -= keep;
    }
    pieces.retain(|p| !p.is_empty());
}

/// Splits off the first blank-separated word as ifupdown's `next_word` does:
/// the word is cut to 79 bytes (its buffer holds 80), the rest starts after
/// the blanks that follow it. `None` when nothing is left.
pub fn next_word(s: &str) -> Option<(&str, &str)> {
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let end = bytes
        .iter()
        .position(|&b| is_c_space(b))
        .unwrap_or(bytes.len());
    let mut rest_start = end;
    while rest_start < bytes.len() && is_c_space(bytes[rest_start]) {
        rest_start += 1;
    }
    Some((truncate_bytes(&s[..end], 79), &s[rest_start..]))
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// All words of `s`, each cut as `next_word` cuts it.
pub fn words(mut s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    while let Some((word, rest)) = next_word(s) {
        out.push(word);
        s = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<(String, u32, u32)> {
        Lines::new(s.as_bytes())
            .map(|l| (l.text, l.first, l.last))
            .collect()
    }

    #[test]
    fn comments_only_at_line_start() {
        assert_eq!(
            lines("  # c\nauto eth0 # not a comment\n"),
            vec![("auto eth0 # not a comment".into(), 2, 2)]
        );
    }

    #[test]
    fn continuation_keeps_next_line_verbatim() {
        assert_eq!(
            lines("iface eth0 \\\n   inet static\n"),
            vec![("iface eth0    inet static".into(), 1, 2)]
        );
        // A comment line is joined too once a continuation is under way.
        assert_eq!(lines("up a \\\n# b\n"), vec![("up a # b".into(), 1, 2)]);
        // A backslash followed by blanks is no continuation.
        assert_eq!(lines("a \\ \nb\n").len(), 2);
    }

    #[test]
    fn continuation_at_end_of_file() {
        assert_eq!(lines("auto a\\"), vec![("auto a".into(), 1, 2)]);
        assert_eq!(lines("auto a\n\\"), vec![("auto a".into(), 1, 1)]);
        // Each trailing backslash at the end counts a line, as get_line's
        // loop does (Debian's ifquery reports line 3 and line 5 for these,
        // the inputs with which scripts/fuzz found it).
        let at_end = |b: &[u8]| Lines::new(b).map(|l| (l.first, l.last)).collect::<Vec<_>>();
        assert_eq!(at_end(b"\x0e%\\\\"), [(1, 3)]);
        assert_eq!(at_end(b"\xbf\\\\\\\\\n\n"), [(1, 5)]);
    }

    #[test]
    fn nul_cuts_the_physical_line() {
        assert_eq!(
            lines("auto a\0junk\nauto b\n"),
            vec![("auto a".into(), 1, 1), ("auto b".into(), 2, 2)]
        );
    }

    #[test]
    fn words_are_cut_like_c_buffers() {
        let long = "x".repeat(100);
        let line = format!("{long}  tail");
        let (w, rest) = next_word(&line).unwrap();
        assert_eq!(w.len(), 79);
        assert_eq!(rest, "tail");
        assert_eq!(words("a\x0bb\x0cc"), vec!["a", "b", "c"]);
    }
}
