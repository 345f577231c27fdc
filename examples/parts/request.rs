//! Reading a request, done properly. Step 04 builds this module (and
//! `response.rs`); every later step reads requests with it.
//!
//! - A request is read from a `BufRead`, line by line, so it does not matter
//!   how its bytes were cut into packets: TCP is a byte stream (RFC 9293
//!   §2.2), so one `read` may return half a line or three requests.
//! - A line ends in CRLF; a bare LF is accepted too, and the line ending is
//!   removed (RFC 9112 §2.2). A CR anywhere else is an error.
//! - Header names are compared without regard to case (RFC 9110 §5.1).
//! - The head is ASCII text; the body stays bytes and is never decoded.
//! - The body is exactly `Content-Length` bytes (RFC 9112 §6.2), read with
//!   `read_exact`, however many reads it takes.
//! - Everything a client sends is bounded: line length, header count, body
//!   size. Past a limit the answer is an error status, not more memory.
//! - Whatever goes wrong is an `HttpError`: the status to answer with, and
//!   why (`response.rs` turns it into a response).

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{self, BufRead, ErrorKind, Read};

/// The longest line of a request head. httpdb: `Limits::max_request_line`
/// for the request line, `--max-header-bytes` for the whole head.
const MAX_LINE: usize = 8 * 1024;
/// The most header fields. httpdb: `Limits::max_header_count`.
const MAX_HEADERS: usize = 100;
/// The largest body. httpdb: `--max-body`.
pub const MAX_BODY: u64 = 1024 * 1024;

/// A request: its head, and its body once it has been read.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Every value of the header `name`, in the order they came, whatever
    /// the case either is written in (RFC 9110 §5.1).
    pub fn values(&self, name: &str) -> Vec<&str> {
        let named = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        named.map(|(_, value)| value.as_str()).collect()
    }

    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.values(name).first().copied()
    }

    /// Every value of the header `name`, joined with commas: a field sent
    /// on several lines is one list (RFC 9110 §5.3).
    pub fn header_list(&self, name: &str) -> Option<String> {
        let values = self.values(name);
        (!values.is_empty()).then(|| values.join(","))
    }

    pub fn is_http10(&self) -> bool {
        self.version == "HTTP/1.0"
    }
}

/// A request that cannot be served: the status to answer with, and why.
#[derive(Debug)]
pub struct HttpError {
    pub status: u16,
    pub message: String,
}

pub fn error(status: u16, message: &str) -> HttpError {
    HttpError {
        status,
        message: message.to_string(),
    }
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> HttpError {
        match e.kind() {
            // What a read timeout looks like (`WouldBlock` on Unix).
            ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                error(408, "the request did not arrive in time")
            }
            _ => error(400, "the connection ended in the middle of the request"),
        }
    }
}

/// Reads a whole request: the head, then the body Content-Length announces.
/// `Ok(None)` means the client closed the connection before sending a byte.
pub fn read_request(reader: &mut impl BufRead) -> Result<Option<Request>, HttpError> {
    let Some(mut request) = read_head(reader)? else {
        return Ok(None);
    };
    if let Some(length) = content_length(&request)? {
        request.body = read_exactly(reader, length)?;
    }
    Ok(Some(request))
}

/// Reads the request line and the header fields, up to the empty line that
/// ends them (RFC 9112 §2.1).
pub fn read_head(reader: &mut impl BufRead) -> Result<Option<Request>, HttpError> {
    // A server should skip empty lines before a request (RFC 9112 §2.2).
    let line = loop {
        match read_line(reader, 414)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(error(400, "the request line must be METHOD TARGET VERSION"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(error(505, "only HTTP/1.0 and HTTP/1.1 are served"));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader, 431)? else {
            return Err(error(400, "the connection closed inside the head"));
        };
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(error(431, "too many header fields"));
        }
        // field-line = field-name ":" OWS field-value OWS (RFC 9112 §5.1); a
        // space before the colon, or a line that starts with one (obsolete
        // line folding, §5.2), is refused: proxies read them differently.
        let Some((name, value)) = line.split_once(':') else {
            return Err(error(400, "a header line has no colon"));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(error(400, "a header name is empty or has white space"));
        }
        let value = value.trim_matches([' ', '\t']);
        headers.push((name.to_string(), value.to_string()));
    }
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
        body: Vec::new(),
    };
    // HTTP/1.1 requires a Host, HTTP/1.0 may omit it, and no request may
    // have two (RFC 9112 §3.2).
    let hosts = request.values("host").len();
    if hosts > 1 || (hosts == 0 && !request.is_http10()) {
        return Err(error(400, "a request needs one Host; HTTP/1.0 may omit it"));
    }
    Ok(Some(request))
}

/// Reads one line and returns it without its CRLF or LF; `Ok(None)` if the
/// stream ended before the line began. A line that is too long is answered
/// with `too_long` (414 for the request line, 431 for a header line).
pub fn read_line(reader: &mut impl BufRead, too_long: u16) -> Result<Option<String>, HttpError> {
    let mut line = Vec::new();
    // `take` bounds the line: a client that never sends a newline cannot
    // make it grow without end.
    let limit = MAX_LINE as u64 + 2;
    if reader.by_ref().take(limit).read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if line.len() as u64 + 1 == limit {
            error(too_long, "a line of the request is too long")
        } else {
            error(400, "the connection closed in the middle of a line")
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.contains(&b'\r') || !line.is_ascii() {
        return Err(error(400, "a bare CR or a non-ASCII byte in the head"));
    }
    // Checked to be ASCII just above, so this cannot fail.
    Ok(Some(String::from_utf8(line).unwrap_or_default()))
}

/// The body length Content-Length announces, if any (RFC 9112 §6.3).
pub fn content_length(request: &Request) -> Result<Option<u64>, HttpError> {
    let mut length = None;
    for value in request.values("content-length") {
        // Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, no spaces, and
        // two different values mean no one can tell where the body ends.
        let valid = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        let parsed: Option<u64> = value.parse().ok().filter(|_| valid);
        if parsed.is_none() || length.is_some_and(|l| Some(l) != parsed) {
            return Err(error(400, "Content-Length is not one decimal number"));
        }
        length = parsed;
    }
    match length {
        Some(length) if length > MAX_BODY => Err(error(413, "the body is too large")),
        length => Ok(length),
    }
}

/// Reads exactly `length` bytes, however many reads they take to arrive.
pub fn read_exactly(reader: &mut impl Read, length: u64) -> Result<Vec<u8>, HttpError> {
    let mut body = vec![0; length as usize];
    reader.read_exact(&mut body)?;
    Ok(body)
}
