//! How long a request body is, and reading it: step 08 builds this module;
//! steps 09 and 10 read every request with it.
//!
//! RFC 9112 §6.3 decides, in order:
//! - `Transfer-Encoding` with `Content-Length` too: refused (400). A proxy
//!   in front might use one and this server the other, and then a second
//!   request hidden in the first one's body gets through unseen (request
//!   smuggling, RFC 9112 §11.2).
//! - `Transfer-Encoding` whose last coding is `chunked`: the body comes in
//!   chunks (§7.1). Any other last coding: 400. A coding before chunked
//!   (`gzip, chunked`): 501, since these examples decode none (§6.1). And
//!   HTTP/1.0 has no Transfer-Encoding at all: 400 (§6.1).
//! - `Content-Length`: that many bytes (`request.rs`).
//! - Neither: no body. A POST or PUT without one is refused with 411 Length
//!   Required (RFC 9110 §15.5.12), since it surely meant to send one.
//!
//! And `Expect: 100-continue` (RFC 9110 §10.1.1): the client holds its body
//! back until the server answers `100 Continue`, so the server says it
//! before reading the body. Any other expectation: 417.

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{BufRead, Write};
use std::net::TcpStream;

use crate::request::{
    HttpError, MAX_BODY, Request, content_length, error, read_exactly, read_head, read_line,
};

/// The most trailer fields after a chunked body.
const MAX_TRAILERS: usize = 100;

#[derive(Debug, PartialEq)]
pub enum Framing {
    Length(u64),
    Chunked,
}

/// Reads a whole request, its body framed by the rules above. `stream` is
/// where `100 Continue` is written.
pub fn read_request(
    reader: &mut impl BufRead,
    stream: &TcpStream,
) -> Result<Option<Request>, HttpError> {
    let Some(mut request) = read_head(reader)? else {
        return Ok(None);
    };
    let framing = framing(&request)?;
    if expects_continue(&request)? && framing != Framing::Length(0) {
        let mut out = stream;
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    request.body = match framing {
        Framing::Length(length) => read_exactly(reader, length)?,
        Framing::Chunked => read_chunked(reader)?,
    };
    Ok(Some(request))
}

/// How the body after this head is delimited (RFC 9112 §6.3).
pub fn framing(request: &Request) -> Result<Framing, HttpError> {
    let Some(codings) = request.header_list("transfer-encoding") else {
        return match content_length(request)? {
            Some(length) => Ok(Framing::Length(length)),
            None if matches!(request.method.as_str(), "POST" | "PUT") => Err(error(
                411,
                "a POST or PUT needs Content-Length or a chunked body",
            )),
            None => Ok(Framing::Length(0)),
        };
    };
    if request.header("content-length").is_some() {
        return Err(error(400, "Transfer-Encoding and Content-Length together"));
    }
    if request.is_http10() {
        return Err(error(400, "HTTP/1.0 has no Transfer-Encoding"));
    }
    let codings: Vec<&str> = codings.split(',').map(|c| c.trim()).collect();
    if !codings[codings.len() - 1].eq_ignore_ascii_case("chunked") {
        return Err(error(400, "the last transfer coding must be chunked"));
    }
    if codings.len() > 1 {
        return Err(error(501, "no transfer coding but chunked is implemented"));
    }
    Ok(Framing::Chunked)
}

/// Whether the client waits for `100 Continue` (RFC 9110 §10.1.1). An
/// HTTP/1.0 client knows no 1xx responses, so its expectation is ignored.
fn expects_continue(request: &Request) -> Result<bool, HttpError> {
    match request.header("expect") {
        None => Ok(false),
        Some(value) if value.eq_ignore_ascii_case("100-continue") => Ok(!request.is_http10()),
        Some(_) => Err(error(417, "the only expectation served is 100-continue")),
    }
}

/// Reads a chunked body (RFC 9112 §7.1): chunks, each its size in hex, a
/// line end, that many bytes and a line end; a chunk of size 0 ends the
/// body, and trailer fields may follow it, up to an empty line.
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, 400)?.ok_or_else(|| error(400, "the body ended early"))?;
        // Extensions after a `;` are allowed, and ignored (§7.1.1).
        let size = line
            .split(';')
            .next()
            .unwrap_or_default()
            .trim_matches([' ', '\t']);
        // 1*HEXDIG: `u64::from_str_radix` alone would also take a sign.
        let hex =
            !size.is_empty() && size.len() <= 15 && size.bytes().all(|b| b.is_ascii_hexdigit());
        let Some(size) = u64::from_str_radix(size, 16).ok().filter(|_| hex) else {
            return Err(error(400, "a chunk size is not a hexadecimal number"));
        };
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(error(413, "the body is too large"));
        }
        body.extend(read_exactly(reader, size)?);
        if read_line(reader, 400)? != Some(String::new()) {
            return Err(error(400, "a chunk does not end with a line end"));
        }
    }
    // The trailer section (§7.1.2): read and dropped.
    for _ in 0..=MAX_TRAILERS {
        match read_line(reader, 431)? {
            Some(line) if line.is_empty() => return Ok(body),
            Some(_) => continue,
            None => return Err(error(400, "the body ended early")),
        }
    }
    Err(error(431, "too many trailer fields"))
}
