//! Reading a request body whose framing the head decided (`request.rs`,
//! RFC 9112 §6.3): exactly Content-Length bytes, or chunks (§7.1).
//!
//! Of what the client merely announces, no more than one piece
//! ([`BODY_PIECE`]) is allocated: a body grows as its bytes arrive, and the
//! limit is checked before each piece is read. The chunked reader is as
//! strict as the head parser: chunk-size lines must end in CRLF, extensions
//! must be well formed, and the trailer section is bounded, because a chunk
//! boundary two parsers read differently is a request-smuggling hole.

use std::io::{BufRead, Read};

use super::error::HttpError;
use super::fields::{is_token_byte, parse_field_line, quoted_string_len};
use super::line::read_line;
use super::request::Framing;

/// The longest chunk-size line, extensions included (they are checked but
/// not interpreted).
const MAX_CHUNK_LINE: usize = 4096;
/// The most bytes of chunk-size lines in one body.
const MAX_CHUNK_LINES_BYTES: usize = 64 * 1024;
/// The largest trailer section, in bytes; its fields are checked and dropped.
const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// The most trailer fields.
const MAX_TRAILER_FIELDS: usize = 100;
/// Bodies are read, and memory for them asked for, this much at a time.
pub const BODY_PIECE: u64 = 64 * 1024;

/// Reads the body that `framing` announces, refusing it as soon as it is
/// larger than `max_body` bytes.
///
/// `may_hold` is asked, before the body grows, whether it may grow to the
/// given size; a server uses it to cap the memory that all the bodies it is
/// receiving take together, and a `false` becomes [`HttpError::Busy`]. The
/// body is read in pieces of [`BODY_PIECE`], so a client that announces a
/// large body and sends it slowly holds no more than it has sent, plus one
/// piece.
pub fn read_body<R: BufRead>(
    reader: &mut R,
    framing: Framing,
    max_body: u64,
    may_hold: &mut dyn FnMut(u64) -> bool,
) -> Result<Vec<u8>, HttpError> {
    match framing {
        Framing::None => Ok(Vec::new()),
        Framing::Length(length) => {
            if length > max_body {
                return Err(HttpError::ContentTooLarge { limit: max_body });
            }
            let mut body = Vec::with_capacity(length.min(BODY_PIECE) as usize);
            read_exactly(reader, length, &mut body, may_hold)?;
            Ok(body)
        }
        Framing::Chunked => read_chunked(reader, max_body, may_hold),
    }
}

/// Appends exactly `length` bytes from `reader` to `body`, a piece at a time.
fn read_exactly<R: BufRead>(
    reader: &mut R,
    length: u64,
    body: &mut Vec<u8>,
    may_hold: &mut dyn FnMut(u64) -> bool,
) -> Result<(), HttpError> {
    let mut left = length;
    while left > 0 {
        let piece = left.min(BODY_PIECE);
        if !may_hold(body.len() as u64 + piece) {
            return Err(HttpError::Busy);
        }
        // Exactly the piece asked for: left to itself the vector would grow
        // by doubling, and hold up to twice what the budget counted.
        body.reserve_exact(piece as usize);
        let read = reader
            .take(piece)
            .read_to_end(body)
            .map_err(HttpError::from_io)?;
        if (read as u64) < piece {
            return Err(HttpError::bad(
                "the connection was closed before the whole body arrived",
            ));
        }
        left -= piece;
    }
    Ok(())
}

/// `chunked-body = *chunk last-chunk trailer-section CRLF` (RFC 9112 §7.1).
fn read_chunked<R: BufRead>(
    reader: &mut R,
    max_body: u64,
    may_hold: &mut dyn FnMut(u64) -> bool,
) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    let mut extension_bytes = 0;
    loop {
        line.clear();
        read_chunk_line(
            reader,
            &mut line,
            MAX_CHUNK_LINE,
            "a chunk-size line is too long",
        )?;
        let size = parse_chunk_size(&line)?;
        // Extensions are read and dropped; their total is bounded so that
        // a stream of tiny chunks with long extensions cannot outlast the
        // body limit.
        extension_bytes += line.len();
        if extension_bytes > MAX_CHUNK_LINES_BYTES {
            return Err(HttpError::bad(
                "the chunk-size lines of this body are too long in total",
            ));
        }
        if size == 0 {
            break;
        }
        // Written as a subtraction: `body.len() + size` could overflow.
        if size > max_body - body.len() as u64 {
            return Err(HttpError::ContentTooLarge { limit: max_body });
        }
        read_exactly(reader, size, &mut body, may_hold)?;
        line.clear();
        read_chunk_line(
            reader,
            &mut line,
            0,
            "chunk data must be followed by CRLF (RFC 9112 §7.1)",
        )?;
    }
    skip_trailers(reader)?;
    Ok(body)
}

/// Reads a chunk-size line or the CRLF after chunk data. These must end in
/// CRLF: the bare-LF leniency of RFC 9112 §2.2 covers the start line and
/// fields, not chunk framing, where parsers that disagree are a smuggling
/// hole.
fn read_chunk_line<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    budget: usize,
    too_long: &'static str,
) -> Result<(), HttpError> {
    let consumed = read_line(reader, line, budget, || HttpError::bad(too_long))?;
    if consumed == 0 {
        return Err(HttpError::bad(
            "the connection was closed in the middle of a chunked body",
        ));
    }
    if consumed != line.len() + 2 {
        return Err(HttpError::bad(
            "chunk lines must end in CRLF, not a bare LF (RFC 9112 §7.1)",
        ));
    }
    Ok(())
}

/// `chunk-size [ chunk-ext ]` (RFC 9112 §7.1): hex digits, then extensions,
/// which are checked for syntax and ignored.
fn parse_chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::bad(
            "a chunk size must be hexadecimal digits (RFC 9112 §7.1)",
        ));
    }
    let mut size: u64 = 0;
    for &digit in &line[..digits] {
        let value = u64::from(char::from(digit).to_digit(16).unwrap_or(0));
        size = size
            .checked_mul(16)
            .and_then(|size| size.checked_add(value))
            .ok_or_else(|| HttpError::bad("a chunk size does not fit in 64 bits"))?;
    }
    check_chunk_extensions(&line[digits..])?;
    Ok(size)
}

/// `chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`, where a
/// name is a token and a value a token or a quoted-string (RFC 9112 §7.1.1).
fn check_chunk_extensions(mut rest: &[u8]) -> Result<(), HttpError> {
    let malformed = || HttpError::bad("a chunk extension is malformed (RFC 9112 §7.1.1)");
    let skip_whitespace = |bytes: &[u8]| -> usize {
        bytes
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    };
    let token_len = |bytes: &[u8]| bytes.iter().take_while(|&&b| is_token_byte(b)).count();
    loop {
        rest = &rest[skip_whitespace(rest)..];
        if rest.is_empty() {
            return Ok(());
        }
        rest = rest.strip_prefix(b";").ok_or_else(malformed)?;
        rest = &rest[skip_whitespace(rest)..];
        let name = token_len(rest);
        if name == 0 {
            return Err(malformed());
        }
        rest = &rest[name..];
        let after_name = &rest[skip_whitespace(rest)..];
        if let Some(value) = after_name.strip_prefix(b"=") {
            let value = &value[skip_whitespace(value)..];
            let value_len = if value.first() == Some(&b'"') {
                quoted_string_len(value).ok_or_else(malformed)?
            } else {
                token_len(value)
            };
            if value_len == 0 {
                return Err(malformed());
            }
            rest = &value[value_len..];
        }
    }
}

/// Reads the trailer section and its closing empty line; trailer fields are
/// checked for syntax and then dropped, since httpdb stores no metadata from
/// them.
fn skip_trailers<R: BufRead>(reader: &mut R) -> Result<(), HttpError> {
    let mut line = Vec::new();
    let mut bytes = 0;
    for _ in 0..=MAX_TRAILER_FIELDS {
        line.clear();
        let consumed = read_line(
            reader,
            &mut line,
            MAX_TRAILER_BYTES - bytes.min(MAX_TRAILER_BYTES),
            || HttpError::bad("the trailer section is too large"),
        )?;
        if consumed == 0 {
            return Err(HttpError::bad(
                "the connection was closed before the end of the trailer section",
            ));
        }
        if line.is_empty() {
            return Ok(());
        }
        bytes += consumed;
        parse_field_line(&line, 0)?;
    }
    Err(HttpError::bad("the trailer section has too many fields"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(result: Result<impl Sized, HttpError>) -> u16 {
        match result {
            Ok(_) => 0,
            Err(e) => e.status().map(|s| s.code()).unwrap_or(1),
        }
    }

    fn chunked(body: &[u8], max: u64) -> Result<Vec<u8>, HttpError> {
        let mut reader = body;
        let result = read_body(&mut reader, Framing::Chunked, max, &mut |_| true);
        if result.is_ok() {
            assert!(reader.is_empty(), "chunked body must be consumed exactly");
        }
        result
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 100).unwrap(),
            b"hello world"
        );
        assert_eq!(
            chunked(b"5;ext=1;x\r\nhello\r\n0\r\nTrailer: yes\r\n\r\n", 100).unwrap(),
            b"hello"
        );
        assert_eq!(
            chunked(b"A\r\nabcdefghij\r\n0\r\n\r\n", 100).unwrap(),
            b"abcdefghij"
        );
        // Trailer fields, like header fields, may end in a bare LF.
        assert_eq!(chunked(b"1\r\nx\r\n0\r\nT: v\n\n", 100).unwrap(), b"x");
        assert_eq!(
            chunked(b"3 ; a = \"q\\\"t\" ;b;c=d\r\nabc\r\n0;last\r\n\r\n", 100).unwrap(),
            b"abc"
        );
        assert_eq!(chunked(b"0000\r\n\r\n", 100).unwrap(), b"");
        assert_eq!(
            chunked(b"5 ;ext\r\nhello\r\n0\r\n\r\n", 100).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn bad_chunked_bodies() {
        for bad in [
            &b"x\r\n"[..],
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"5\r\nhel",
            b"5\r\nhello\r\n",
            b"11111111111111111\r\n",
            b"0\r\nBad Trailer\r\n\r\n",
            b"\r\n",
            b"2\nhi\r\n0\r\n\r\n",
            b"2\r\nhi\n0\r\n\r\n",
            b"2;\x00\r\nhi\r\n0\r\n\r\n",
            b"2\x0c;x\r\nhi\r\n0\r\n\r\n",
            b"2;\r\nhi\r\n0\r\n\r\n",
            b"2;a=\r\nhi\r\n0\r\n\r\n",
            b"2;a=\"open\r\nhi\r\n0\r\n\r\n",
            b"2 x\r\nhi\r\n0\r\n\r\n",
        ] {
            assert_eq!(
                status(chunked(bad, 100)),
                400,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn chunked_limit_is_checked_before_reading_the_chunk() {
        assert_eq!(status(chunked(b"5\r\nhello\r\n6\r\n", 10)), 413);
        assert_eq!(status(chunked(b"ffffffffffffffff\r\n", 10)), 413);
        // A size that would overflow the running total must not wrap around.
        assert_eq!(status(chunked(b"1\r\nX\r\nffffffffffffffff\r\n", 10)), 413);
    }

    #[test]
    fn the_body_asks_before_it_grows() {
        let mut asked = Vec::new();
        let body = vec![b'x'; 150 * 1024];
        let mut reader = &body[..];
        let result = read_body(
            &mut reader,
            Framing::Length(body.len() as u64),
            1 << 20,
            &mut |size| {
                asked.push(size);
                true
            },
        );
        let read = result.unwrap();
        assert_eq!(read.len(), body.len());
        assert_eq!(asked, vec![64 * 1024, 128 * 1024, 150 * 1024]);
        // The memory held is what was asked for, not the next power of two.
        assert_eq!(read.capacity(), read.len());
        let mut reader = &body[..];
        let refused = read_body(
            &mut reader,
            Framing::Length(body.len() as u64),
            1 << 20,
            &mut |size| size <= 64 * 1024,
        );
        assert_eq!(status(refused), 503);
    }

    #[test]
    fn content_length_body_must_arrive_in_full() {
        let mut reader = &b"abc"[..];
        assert_eq!(
            status(read_body(&mut reader, Framing::Length(5), 100, &mut |_| {
                true
            })),
            400
        );
        let mut reader = &b"abcdeXYZ"[..];
        assert_eq!(
            read_body(&mut reader, Framing::Length(5), 100, &mut |_| true).unwrap(),
            b"abcde"
        );
        assert_eq!(reader, b"XYZ");
    }
}
