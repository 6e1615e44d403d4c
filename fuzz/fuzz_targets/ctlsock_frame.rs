//! The control socket's framing and requests, as the daemon reads a
//! connection: the input is a byte stream fed to `LineDecoder` whole, byte
//! by byte, and in chunks whose sizes the input picks, with the real line
//! limit and with a tiny one (to reach `TooLong`); all three must yield the
//! same lines and errors. Each line goes to `parse_request`: a request it
//! accepts re-encodes (serde) to one line that parses back to the same
//! request; a refusal becomes an error reply to the request's id. Each
//! line is also read as a `Response`, as the commands and the DHCP hook read
//! the daemon's lines, and must survive an encode and a parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netconf_ctlsock_proto::{encode, parse_request, LineDecoder, Response, MAX_LINE, UNKNOWN_ID};

type Lines = (Vec<Result<Vec<u8>, String>>, Result<(), String>);

fn decode(max: usize, chunks: &mut dyn Iterator<Item = &[u8]>) -> Lines {
    let mut decoder = LineDecoder::with_max(max);
    let mut lines = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(line) = decoder.next_line() {
            lines.push(line.map_err(|e| e.to_string()));
        }
    }
    (lines, decoder.finish().map_err(|e| e.to_string()))
}

/// Chunks whose lengths (1 to 23 bytes) come from the byte each starts with.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let first = *rest.first()?;
        let (chunk, tail) = rest.split_at((1 + usize::from(first) % 23).min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

fn one_line(bytes: &[u8]) -> &[u8] {
    assert_eq!(bytes.last(), Some(&b'\n'), "encoded line ends in a newline");
    let line = &bytes[..bytes.len() - 1];
    assert!(!line.contains(&b'\n'), "encoded line holds one newline");
    line
}

fuzz_target!(|data: &[u8]| {
    let mut framed = None;
    for max in [MAX_LINE, 24] {
        let whole = decode(max, &mut std::iter::once(data));
        let bytes = decode(max, &mut data.chunks(1));
        let picked = decode(max, &mut chunks(data));
        assert_eq!(whole, bytes, "byte by byte, max {max}");
        assert_eq!(whole, picked, "in chunks, max {max}");
        for line in whole.0.iter().flatten() {
            assert!(line.len() < max && !line.contains(&b'\n'));
            assert!(!line.iter().all(u8::is_ascii_whitespace), "blank line");
        }
        framed.get_or_insert(whole);
    }
    let Some((lines, _)) = framed else { return };

    for line in lines.iter().flatten() {
        match parse_request(line) {
            Ok(request) => {
                let _ = (
                    request.op.name(),
                    request.op.changes_network(),
                    request.op.root_only(),
                );
                let encoded = encode(&request);
                assert_eq!(
                    parse_request(one_line(&encoded)),
                    Ok(request),
                    "request after encode and parse"
                );
            }
            Err(e) => {
                assert!(!e.message().is_empty());
                let reply = e.to_response();
                assert_eq!(reply.id, e.id().unwrap_or(UNKNOWN_ID));
                let encoded = encode(&reply);
                let back: Response =
                    serde_json::from_slice(one_line(&encoded)).expect("an error reply parses");
                assert_eq!(back, reply);
            }
        }
        if let Ok(response) = serde_json::from_slice::<Response>(line) {
            let encoded = encode(&response);
            let back: Response =
                serde_json::from_slice(one_line(&encoded)).expect("a response parses back");
            assert_eq!(back, response, "response after encode and parse");
        }
    }
});
