//! Framing: one JSON value per line, with a cap on line length that lets a
//! connection survive an oversized line.

use crate::{MAX_LINE, UNKNOWN_ID};
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{self, BufRead};

/// What can go wrong while cutting a byte stream into lines.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A line was longer than the limit; its bytes were dropped.
    #[error("line longer than the limit")]
    TooLong,
    /// The stream ended in the middle of a line.
    #[error("connection closed in the middle of a line")]
    Truncated,
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Encodes one message as one line: compact JSON and a trailing `\n`.
///
/// The result never holds a newline other than the last byte. The crate's own
/// types always serialise; should a foreign type's `Serialize` fail, the line
/// is an `internal` error reply with id [`UNKNOWN_ID`], so the peer still
/// reads a well-formed line rather than nothing.
pub fn encode<T: Serialize + ?Sized>(msg: &T) -> Vec<u8> {
    let mut line = match serde_json::to_vec(msg) {
        Ok(line) => line,
        Err(e) => format!(
            r#"{{"id":{UNKNOWN_ID},"type":"error","code":"internal","message":{}}}"#,
            Value::String(format!("cannot encode a message: {e}"))
        )
        .into_bytes(),
    };
    // JSON can only hold a raw newline as whitespace between tokens (inside a
    // string it must be escaped), so a space means the same. serde_json's
    // compact writer emits none, but a `RawValue` in someone's message could.
    for byte in &mut line {
        if *byte == b'\n' {
            *byte = b' ';
        }
    }
    line.push(b'\n');
    line
}

// Lines of nothing but whitespace carry no message; skipping them lets
// someone type at the socket with socat and press Enter without penalty.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Cuts a byte stream into lines, whatever the size of the chunks it arrives
/// in; usable from blocking and async readers alike.
///
/// Feed it with [`push`](Self::push), then take lines with
/// [`next_line`](Self::next_line) until it returns `None`. Lines come without
/// their newline; blank lines are skipped. A line longer than the limit
/// (newline included) yields one [`FrameError::TooLong`], in its place among
/// the other lines, and its bytes are dropped up to the next newline: the
/// stream is in step again afterwards and the peer can be answered and kept.
/// Memory stays bounded by the limit plus the complete lines not yet taken.
#[derive(Debug)]
pub struct LineDecoder {
    max: usize,
    partial: Vec<u8>,
    discarding: bool,
    ready: VecDeque<Result<Vec<u8>, FrameError>>,
}

impl Default for LineDecoder {
    fn default() -> Self {
        LineDecoder::new()
    }
}

impl LineDecoder {
    /// A decoder for request lines of at most [`MAX_LINE`] bytes.
    pub fn new() -> LineDecoder {
        LineDecoder::with_max(MAX_LINE)
    }

    /// A decoder for lines of at most `max` bytes, newline included.
    pub fn with_max(max: usize) -> LineDecoder {
        LineDecoder {
            max,
            partial: Vec::new(),
            discarding: false,
            ready: VecDeque::new(),
        }
    }

    /// Adds bytes as they were read.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let (chunk, rest) = (&bytes[..end], &bytes[end + 1..]);
                    if self.discarding {
                        self.discarding = false;
                    } else if self.partial.len() + chunk.len() + 1 > self.max {
                        self.partial.clear();
                        self.ready.push_back(Err(FrameError::TooLong));
                    } else {
                        self.partial.extend_from_slice(chunk);
                        let line = std::mem::take(&mut self.partial);
                        if !is_blank(&line) {
                            self.ready.push_back(Ok(line));
                        }
                    }
                    bytes = rest;
                }
                None => {
                    if !self.discarding {
                        // Already at the limit without the newline: report
                        // now rather than buffer what can only be refused.
                        if self.partial.len() + bytes.len() >= self.max {
                            self.partial.clear();
                            self.discarding = true;
                            self.ready.push_back(Err(FrameError::TooLong));
                        } else {
                            self.partial.extend_from_slice(bytes);
                        }
                    }
                    bytes = &[];
                }
            }
        }
    }

    /// The next complete line, or the error in its place; `None` when more
    /// bytes are needed.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        self.ready.pop_front()
    }

    /// To call at end of stream: [`FrameError::Truncated`] if an unfinished
    /// line (other than blanks or the tail of an oversized one) was left.
    /// The decoder is empty afterwards.
    pub fn finish(&mut self) -> Result<(), FrameError> {
        let partial = std::mem::take(&mut self.partial);
        self.discarding = false;
        if is_blank(&partial) {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }
}

/// Reads one line (without its newline) of at most `max` bytes, newline
/// included, skipping blank lines. `Ok(None)` at a clean end of stream.
///
/// A line over the limit is read to its end and dropped before
/// [`FrameError::TooLong`] is returned, so the next call starts on the next
/// line. An unfinished line at end of stream is [`FrameError::Truncated`].
pub fn read_line<R: BufRead + ?Sized>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if buf.is_empty() {
            return if too_long {
                Err(FrameError::TooLong)
            } else if is_blank(&line) {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        let (taken, end_of_line) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (end, true),
            None => (buf.len(), false),
        };
        if !too_long {
            let limit = if end_of_line {
                line.len() + taken + 1 > max
            } else {
                line.len() + taken >= max
            };
            if limit {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(&buf[..taken]);
            }
        }
        r.consume(taken + usize::from(end_of_line));
        if end_of_line {
            if too_long {
                return Err(FrameError::TooLong);
            }
            if !is_blank(&line) {
                return Ok(Some(line));
            }
            line.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Op, Progress, Request, Response};
    use std::io::{BufReader, Cursor, Read};

    fn drain(decoder: &mut LineDecoder) -> Vec<Result<String, String>> {
        std::iter::from_fn(|| decoder.next_line())
            .map(|r| match r {
                Ok(line) => Ok(String::from_utf8(line).unwrap()),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    fn ok(s: &str) -> Result<String, String> {
        Ok(s.to_owned())
    }

    fn too_long() -> Result<String, String> {
        Err(FrameError::TooLong.to_string())
    }

    #[test]
    fn encode_is_one_line() {
        let progress = Response::progress(
            1,
            Progress {
                iface: None,
                event: None,
                step: "up".into(),
                stream: None,
                message: "two\nlines\r\n".into(),
            },
        );
        for line in [
            encode(&progress),
            encode(&Request::new(2, Op::Ping)),
            encode(&Value::String("\n".into())),
        ] {
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        }
        assert_eq!(
            encode(&Request::new(2, Op::Ping)),
            b"{\"version\":1,\"id\":2,\"op\":\"ping\"}\n"
        );
        let back: Response = serde_json::from_slice(&encode(&progress)).unwrap();
        assert_eq!(back, progress);
    }

    #[test]
    fn encode_failure_still_yields_a_line() {
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("broken \"on\" purpose"))
            }
        }
        let line = encode(&Broken);
        assert_eq!(line.last(), Some(&b'\n'));
        let reply: Response = serde_json::from_slice(&line).unwrap();
        assert_eq!(reply.id, UNKNOWN_ID);
        match reply.body {
            crate::Body::Error(e) => {
                assert_eq!(e.code, crate::ErrorCode::Internal);
                assert!(e.message.contains("broken \"on\" purpose"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decoder_reassembles_split_lines() {
        let mut d = LineDecoder::new();
        d.push(b"{\"a\"");
        assert!(d.next_line().is_none());
        d.push(b":1}");
        assert!(d.next_line().is_none());
        d.push(b"\n{\"b\":2}\n{\"c\"");
        assert_eq!(drain(&mut d), [ok("{\"a\":1}"), ok("{\"b\":2}")]);
        d.push(b":3}\n");
        assert_eq!(drain(&mut d), [ok("{\"c\":3}")]);
        assert!(d.finish().is_ok());
    }

    #[test]
    fn decoder_byte_by_byte_equals_all_at_once() {
        let input = b"one\n\ntwo\r\n  \nthree\n";
        let mut whole = LineDecoder::new();
        whole.push(input);
        let mut bytes = LineDecoder::new();
        for b in input {
            bytes.push(std::slice::from_ref(b));
        }
        let expected = [ok("one"), ok("two\r"), ok("three")];
        assert_eq!(drain(&mut whole), expected);
        assert_eq!(drain(&mut bytes), expected);
    }

    #[test]
    fn decoder_limit_counts_the_newline() {
        let mut d = LineDecoder::with_max(4);
        d.push(b"abc\nabcd\nxy\n");
        assert_eq!(drain(&mut d), [ok("abc"), too_long(), ok("xy")]);
        // The same, in pieces: the error comes as soon as the limit is hit.
        let mut d = LineDecoder::with_max(4);
        d.push(b"ab");
        d.push(b"cd");
        assert_eq!(drain(&mut d), [too_long()]);
        d.push(b"efgh");
        d.push(b"ijkl");
        assert!(d.next_line().is_none(), "one error per oversized line");
        d.push(b"mn\nok\n");
        assert_eq!(drain(&mut d), [ok("ok")]);
    }

    #[test]
    fn decoder_recovers_after_an_oversized_line() {
        let mut d = LineDecoder::new();
        d.push(b"{\"first\":1}\n");
        let huge = vec![b'x'; MAX_LINE + 10];
        for chunk in huge.chunks(8192) {
            d.push(chunk);
        }
        assert!(d.partial.is_empty(), "oversized bytes are not kept");
        d.push(b"still the same line\n{\"after\":2}\n");
        assert_eq!(
            drain(&mut d),
            [ok("{\"first\":1}"), too_long(), ok("{\"after\":2}")]
        );
        // Exactly at the limit is fine.
        let mut exact = vec![b'y'; MAX_LINE - 1];
        exact.push(b'\n');
        d.push(&exact);
        assert_eq!(d.next_line().unwrap().unwrap().len(), MAX_LINE - 1);
    }

    #[test]
    fn decoder_finish() {
        let mut d = LineDecoder::new();
        d.push(b"done\nhalf");
        assert!(matches!(d.finish(), Err(FrameError::Truncated)));
        assert_eq!(drain(&mut d), [ok("done")]);
        d.push(b"  ");
        assert!(d.finish().is_ok());
        let mut d = LineDecoder::with_max(2);
        d.push(b"toolong");
        assert!(d.finish().is_ok(), "an oversized tail was already reported");
        assert_eq!(drain(&mut d), [too_long()]);
    }

    fn lines(input: &[u8], max: usize, buffer: usize) -> Vec<Result<Option<String>, String>> {
        let mut r = BufReader::with_capacity(buffer, Cursor::new(input.to_vec()));
        let mut out = Vec::new();
        loop {
            let result = read_line(&mut r, max);
            let end = !matches!(result, Ok(Some(_)) | Err(FrameError::TooLong));
            out.push(
                result
                    .map(|l| l.map(|l| String::from_utf8(l).unwrap()))
                    .map_err(|e| e.to_string()),
            );
            if end {
                return out;
            }
        }
    }

    #[test]
    fn read_line_blocking() {
        for buffer in [1, 3, 64] {
            assert_eq!(
                lines(b"a\n\nbb\n \n", 8, buffer),
                [Ok(Some("a".into())), Ok(Some("bb".into())), Ok(None)]
            );
            assert_eq!(lines(b"", 8, buffer), [Ok(None)]);
            assert_eq!(
                lines(b"a\nhalf", 8, buffer),
                [Ok(Some("a".into())), Err(FrameError::Truncated.to_string())]
            );
            assert_eq!(
                lines(b"abc\nabcd\nabcdefgh\nz\nabcdefg", 4, buffer),
                [
                    Ok(Some("abc".into())),
                    Err(FrameError::TooLong.to_string()),
                    Err(FrameError::TooLong.to_string()),
                    Ok(Some("z".into())),
                    Err(FrameError::TooLong.to_string()),
                    Ok(None)
                ]
            );
        }
    }

    #[test]
    fn read_line_retries_interrupted_reads() {
        struct Flaky(Cursor<Vec<u8>>, bool);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.1 = !self.1;
                if self.1 {
                    Err(io::ErrorKind::Interrupted.into())
                } else {
                    self.0.read(buf)
                }
            }
        }
        let mut r = BufReader::with_capacity(2, Flaky(Cursor::new(b"abc\n".to_vec()), false));
        assert_eq!(read_line(&mut r, 10).unwrap(), Some(b"abc".to_vec()));
        assert!(read_line(&mut r, 10).unwrap().is_none());
    }
}
