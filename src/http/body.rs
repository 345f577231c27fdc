//! Request bodies: how their length is known (RFC 9112 §6.3) and how they are
//! read, either as Content-Length bytes or in chunks (§7.1).
//!
//! The framing rules are where a parser is most often fooled. httpdb takes
//! the strict reading of each one:
//! - Transfer-Encoding and Content-Length together: 400 (§6.3, item 3).
//! - Transfer-Encoding in HTTP/1.0: 400 (§6.1).
//! - A final coding other than chunked, or chunked twice: 400 (§6.3, item 4).
//! - A coding before chunked that httpdb does not implement (`gzip, chunked`): 501 (§6.1).
//! - Content-Length with a sign, spaces, hex or overflow, or several
//!   different values: 400 (§6.3, item 5); identical repeats are one value
//!   (RFC 9110 §8.6).
//!
//! Nothing the client merely announces is allocated: a body grows as its
//! bytes arrive, and the limit is checked before each piece is read.

use std::io::{BufRead, Read};

use super::HttpError;
use super::line::read_line;
use super::request::{RequestHead, Version, is_token_byte, parse_field_line};

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

/// How the body after a request head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No Content-Length and no Transfer-Encoding: the body is empty.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl Framing {
    /// Whether any body bytes may follow the head.
    pub fn has_body(self) -> bool {
        matches!(self, Framing::Chunked | Framing::Length(1..))
    }
}

/// Works out the framing from the head's Transfer-Encoding and
/// Content-Length fields, refusing anything ambiguous.
pub(super) fn framing_from_headers(head: &RequestHead) -> Result<Framing, HttpError> {
    let has_content_length = head.header("content-length").is_some();
    if head.header("transfer-encoding").is_some() {
        if head.version() == Version::Http10 {
            return Err(HttpError::bad(
                "Transfer-Encoding is not allowed in an HTTP/1.0 request (RFC 9112 §6.1)",
            ));
        }
        if has_content_length {
            return Err(HttpError::bad(
                "a request cannot have both Transfer-Encoding and Content-Length (RFC 9112 §6.3)",
            ));
        }
        return transfer_codings(head);
    }
    if has_content_length {
        return content_length(head).map(Framing::Length);
    }
    Ok(Framing::None)
}

/// Transfer-Encoding must end in exactly one `chunked`.
fn transfer_codings(head: &RequestHead) -> Result<Framing, HttpError> {
    let codings: Vec<&str> = head
        .headers_named("transfer-encoding")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty())
        .collect();
    let is_chunked = |coding: &&str| coding.eq_ignore_ascii_case("chunked");
    match codings.split_last() {
        Some((last, before)) if is_chunked(last) => {
            if before.iter().any(is_chunked) {
                return Err(HttpError::bad(
                    "chunked cannot be applied more than once (RFC 9112 §6.1)",
                ));
            }
            match before.first() {
                Some(other) => Err(HttpError::UnsupportedCoding(other.to_string())),
                None => Ok(Framing::Chunked),
            }
        }
        _ => Err(HttpError::bad(
            "Transfer-Encoding must end with chunked (RFC 9112 §6.3)",
        )),
    }
}

/// `Content-Length = 1*DIGIT`; a list of identical values counts as one.
fn content_length(head: &RequestHead) -> Result<u64, HttpError> {
    let mut length = None;
    for value in head
        .headers_named("content-length")
        .flat_map(|value| value.split(','))
        .map(str::trim)
    {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::bad(
                "Content-Length must be a non-negative decimal number (RFC 9110 §8.6)",
            ));
        }
        let parsed: u64 = value
            .parse()
            .map_err(|_| HttpError::bad("Content-Length is too large"))?;
        if length.is_some_and(|previous| previous != parsed) {
            return Err(HttpError::bad(
                "the request has several different Content-Length values (RFC 9112 §6.3)",
            ));
        }
        length = Some(parsed);
    }
    length.ok_or_else(|| HttpError::bad("Content-Length is empty"))
}

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

/// The length of the quoted-string at the start of `bytes` (RFC 9110 §5.6.4).
fn quoted_string_len(bytes: &[u8]) -> Option<usize> {
    let is_text = |b: u8| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' if bytes.get(i + 1).is_some_and(|&b| is_text(b)) => i += 2,
            b if is_text(b) && b != b'\\' => i += 1,
            _ => return None,
        }
    }
    None
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
    use crate::http::{Limits, read_head};

    fn head(text: &str) -> Result<RequestHead, HttpError> {
        read_head(&mut text.as_bytes(), &Limits::default()).map(|h| h.expect("a head"))
    }

    fn status(result: Result<impl Sized, HttpError>) -> u16 {
        match result {
            Ok(_) => 0,
            Err(e) => e.status().map(|s| s.code()).unwrap_or(1),
        }
    }

    fn framing(headers: &str) -> Result<Framing, HttpError> {
        head(&format!("POST /k HTTP/1.1\r\nHost: a\r\n{headers}\r\n")).map(|h| h.framing())
    }

    #[test]
    fn content_length_values() {
        assert_eq!(
            framing("Content-Length: 5\r\n").unwrap(),
            Framing::Length(5)
        );
        assert_eq!(
            framing("Content-Length: 5, 5\r\n").unwrap(),
            Framing::Length(5)
        );
        assert_eq!(
            framing("Content-Length: 5\r\nContent-Length: 5\r\n").unwrap(),
            Framing::Length(5)
        );
        assert_eq!(
            framing("Content-Length: 007\r\n").unwrap(),
            Framing::Length(7)
        );
        for bad in [
            "+5",
            "-5",
            "0x5",
            "5 5",
            "",
            "5,6",
            "99999999999999999999999",
        ] {
            assert_eq!(
                status(framing(&format!("Content-Length: {bad}\r\n"))),
                400,
                "{bad}"
            );
        }
        assert_eq!(
            status(framing("Content-Length: 5\r\nContent-Length: 6\r\n")),
            400
        );
    }

    #[test]
    fn transfer_encoding_values() {
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n").unwrap(),
            Framing::Chunked
        );
        assert_eq!(
            framing("Transfer-Encoding: Chunked\r\n").unwrap(),
            Framing::Chunked
        );
        assert_eq!(status(framing("Transfer-Encoding: gzip, chunked\r\n")), 501);
        assert_eq!(status(framing("Transfer-Encoding: chunked, gzip\r\n")), 400);
        assert_eq!(
            status(framing("Transfer-Encoding: chunked, chunked\r\n")),
            400
        );
        assert_eq!(status(framing("Transfer-Encoding: identity\r\n")), 400);
        assert_eq!(status(framing("Transfer-Encoding: \r\n")), 400);
        assert_eq!(
            status(framing(
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"
            )),
            400
        );
        assert_eq!(
            status(head(
                "POST /k HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
            )),
            400
        );
    }

    #[test]
    fn declared_length_over_the_limit_is_refused_from_the_head() {
        let limits = Limits {
            max_body: 10,
            ..Limits::default()
        };
        let result = read_head(
            &mut &b"PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"[..],
            &limits,
        );
        assert_eq!(status(result), 413);
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
        assert_eq!(result.unwrap().len(), body.len());
        assert_eq!(asked, vec![64 * 1024, 128 * 1024, 150 * 1024]);
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
