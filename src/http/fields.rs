//! The grammar that header fields, trailer fields and chunk extensions share
//! (RFC 9112 §5, RFC 9110 §5.5-§5.6): a field line `name: value`, the
//! `token` that names methods, fields and extensions, and the
//! `quoted-string`.
//!
//! The request head (`request.rs`) and the chunked body (`body.rs`) both
//! read field lines; keeping the grammar here lets each of them depend on it
//! without depending on the other.

use std::ops::Range;

use super::error::HttpError;

/// `field-name ":" OWS field-value OWS` (RFC 9112 §5), returning the ranges
/// of the name and the trimmed value inside `raw`.
pub fn parse_field_line(
    raw: &[u8],
    line_start: usize,
) -> Result<(Range<usize>, Range<usize>), HttpError> {
    let line = &raw[line_start..];
    if line[0] == b' ' || line[0] == b'\t' {
        return Err(HttpError::bad(
            "obsolete line folding is not allowed (RFC 9112 §5.2)",
        ));
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(HttpError::bad("a header line has no colon"));
    };
    let name = &line[..colon];
    if name.last().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(HttpError::bad(
            "whitespace between a header name and its colon is not allowed (RFC 9112 §5.1)",
        ));
    }
    if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
        return Err(HttpError::bad(
            "a header name is not a valid token (RFC 9110 §5.1)",
        ));
    }
    let value = &line[colon + 1..];
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let leading = value.iter().take_while(|b| is_ows(b)).count();
    let trailing = value[leading..]
        .iter()
        .rev()
        .take_while(|b| is_ows(b))
        .count();
    let value_start = line_start + colon + 1 + leading;
    let value_end = line_start + line.len() - trailing;
    // field-vchar is VCHAR or obs-text, with SP and HTAB between (RFC 9110 §5.5).
    let allowed = |&b: &u8| b == b'\t' || b == b' ' || b >= 0x21 && b != 0x7f;
    if !raw[value_start..value_end].iter().all(allowed) {
        return Err(HttpError::bad(
            "a header value contains a control character (RFC 9110 §5.5)",
        ));
    }
    if INTERPRETED_FIELDS
        .iter()
        .any(|field| name.eq_ignore_ascii_case(field.as_bytes()))
        && !raw[value_start..value_end].is_ascii()
    {
        return Err(HttpError::BadRequest(
            format!("the {} header must be ASCII", String::from_utf8_lossy(name)).into(),
        ));
    }
    Ok((line_start..line_start + colon, value_start..value_end))
}

/// The header fields httpdb acts on. Each has an ASCII grammar, so a value
/// with other bytes is malformed; refusing it keeps
/// [`RequestHead::header`](super::RequestHead::header) from ever treating
/// one as absent.
const INTERPRETED_FIELDS: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "expect",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "transfer-encoding",
];

/// `tchar` (RFC 9110 §5.6.2): the characters of methods and header names.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The length of the quoted-string at the start of `bytes` (RFC 9110 §5.6.4).
pub fn quoted_string_len(bytes: &[u8]) -> Option<usize> {
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
