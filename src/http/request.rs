//! Reading a request head: the request line and the header section
//! (RFC 9112 §2-§5), and deciding from it how the body is framed (§6).
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
//! The parser is strict on purpose. A server behind a proxy that reads a
//! request differently from the proxy can be made to see two requests where
//! the proxy saw one (request smuggling), so anything the RFCs call invalid,
//! or allow to be read more than one way, is refused with 400 and the
//! connection is closed.
//!
//! The head is read into one buffer and every header is kept as a pair of
//! ranges into it, so a request with twenty headers costs two growing
//! buffers (the bytes, and the ranges), not forty strings.

use std::io::BufRead;
use std::ops::Range;

use super::error::HttpError;
use super::fields::{is_token_byte, parse_field_line};
use super::line::read_line;
use super::persistence::Persistence;
use super::uri::{TargetForm, TargetParts, parse_target};
use super::version::{Version, parse_version};

/// How large a request is allowed to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version), in bytes: 414 beyond.
    pub max_request_line: usize,
    /// Largest request line plus header section, in bytes: 431 beyond.
    pub max_header_bytes: usize,
    /// Most header fields: 431 beyond.
    pub max_header_count: usize,
    /// Largest body, in bytes: 413 beyond.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_bytes: 64 * 1024,
            max_header_count: 100,
            max_body: 16 * 1024 * 1024,
        }
    }
}

/// The request methods httpdb implements (RFC 9110 §9). Anything else is
/// `Other` and gets 501.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET` (RFC 9110 §9.3.1).
    Get,
    /// `HEAD`: as GET, without the body (RFC 9110 §9.3.2).
    Head,
    /// `POST` (RFC 9110 §9.3.3); httpdb treats it as PUT, as the blog post did.
    Post,
    /// `PUT` (RFC 9110 §9.3.4).
    Put,
    /// `DELETE` (RFC 9110 §9.3.5).
    Delete,
    /// `OPTIONS` (RFC 9110 §9.3.7).
    Options,
    /// Any other token: a method httpdb does not implement (501).
    Other(Box<str>),
}

impl Method {
    fn from_token(token: &[u8]) -> Method {
        // Method names are case-sensitive (RFC 9110 §9.1): `get` is not GET.
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            // Token bytes are ASCII, so nothing is replaced.
            other => Method::Other(String::from_utf8_lossy(other).into()),
        }
    }

    /// The method's name as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(name) => name,
        }
    }
}

/// The request line and header section of one request.
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// The request line and every header line, without line endings. The
    /// request line and header names are ASCII; values may hold obs-text.
    raw: Vec<u8>,
    method: Method,
    version: Version,
    target: Range<usize>,
    target_parts: TargetParts,
    fields: Vec<(Range<usize>, Range<usize>)>,
    framing: Framing,
    persistence: Persistence,
    expects_continue: bool,
}

impl RequestHead {
    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request's protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request line exactly as sent, without its line ending.
    pub fn request_line(&self) -> &str {
        let end = self
            .fields
            .first()
            .map_or(self.raw.len(), |(name, _)| name.start);
        self.ascii(0..end)
    }

    /// The request target exactly as sent.
    pub fn target(&self) -> &str {
        self.ascii(self.target.clone())
    }

    /// Which of the four forms the target takes (RFC 9112 §3.2).
    pub fn target_form(&self) -> TargetForm {
        self.target_parts.form
    }

    /// Whether the request is about the server as a whole rather than one
    /// resource: `OPTIONS *`, or `OPTIONS` of an absolute URI with no path
    /// and no query, which is how `*` travels through a proxy (RFC 9112
    /// §3.2.4).
    pub fn targets_the_server(&self) -> bool {
        match self.target_parts.form {
            TargetForm::Asterisk => true,
            TargetForm::Absolute => {
                self.method == Method::Options
                    && self.target_parts.path.is_empty()
                    && self.target_parts.query.is_none()
            }
            _ => false,
        }
    }

    /// The path of the target, still percent-encoded; `/` for an absolute
    /// form without a path, empty for `*`.
    pub fn path(&self) -> &str {
        let path = self.target_parts.path.clone();
        if path.is_empty() && self.target_parts.form == TargetForm::Absolute {
            return "/";
        }
        &self.target()[path]
    }

    /// The query string without its `?`, still percent-encoded.
    pub fn query(&self) -> Option<&str> {
        let query = self.target_parts.query.clone()?;
        Some(&self.target()[query])
    }

    /// The first value of the named header (names are case-insensitive).
    ///
    /// A field value may contain obs-text, bytes 0x80-0xFF (RFC 9110 §5.5),
    /// which need not be UTF-8. Such a value reads as absent here. That
    /// hides nothing httpdb acts on: every header it interprets has an ASCII
    /// grammar, and [`read_head`] refuses a non-ASCII value in any of them.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// Every UTF-8 value of the named header, in the order they were sent.
    pub fn headers_named<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h str> {
        self.fields
            .iter()
            .filter(move |(n, _)| self.raw[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .filter_map(|(_, v)| std::str::from_utf8(&self.raw[v.clone()]).ok())
    }

    /// A part of the head that was checked to be ASCII when it was read.
    fn ascii(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(&self.raw[range]).unwrap_or_default()
    }

    /// How the body that follows this head is delimited.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// What the client asked to happen to the connection after the
    /// response (RFC 9112 §9.3): kept open, or closed.
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// Whether the client waits for `100 Continue` before sending the body
    /// (RFC 9110 §10.1.1).
    pub fn expects_continue(&self) -> bool {
        self.expects_continue
    }
}

/// A whole request: its head and its body, read in full.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request line and header fields.
    pub head: RequestHead,
    /// The body, de-chunked; empty when there was none.
    pub body: Vec<u8>,
}

/// Reads one request head from `reader`.
///
/// Returns `Ok(None)` when the stream ends cleanly before the first byte of a
/// request: the client closed an idle connection, which is not an error.
pub fn read_head<R: BufRead>(
    reader: &mut R,
    limits: &Limits,
) -> Result<Option<RequestHead>, HttpError> {
    let mut raw = Vec::with_capacity(256);

    // A server should ignore empty lines before the request line (RFC 9112
    // §2.2); they still count toward the request-line budget, so an endless
    // stream of them is refused rather than read forever.
    let mut skipped = 0;
    loop {
        let budget = limits.max_request_line.saturating_sub(skipped);
        let consumed = read_line(reader, &mut raw, budget, || HttpError::UriTooLong {
            limit: limits.max_request_line,
        })?;
        if consumed == 0 {
            return if skipped == 0 {
                Ok(None)
            } else {
                Err(HttpError::bad(
                    "the connection was closed before a request line",
                ))
            };
        }
        if !raw.is_empty() {
            break;
        }
        skipped += consumed;
    }
    let request_line = parse_request_line(&raw)?;

    // The header section: one field per line until an empty line.
    let mut fields = Vec::new();
    let mut head_bytes = raw.len();
    loop {
        let budget = limits.max_header_bytes.saturating_sub(head_bytes);
        let line_start = raw.len();
        let too_large = || {
            HttpError::HeaderFieldsTooLarge(
                format!(
                    "the request head is larger than the limit of {} bytes",
                    limits.max_header_bytes
                )
                .into(),
            )
        };
        let consumed = read_line(reader, &mut raw, budget, too_large)?;
        if consumed == 0 {
            return Err(HttpError::bad(
                "the connection was closed before the end of the header section",
            ));
        }
        head_bytes += consumed;
        if raw.len() == line_start {
            break;
        }
        if fields.len() == limits.max_header_count {
            return Err(HttpError::HeaderFieldsTooLarge(
                format!(
                    "the request has more than {} header fields",
                    limits.max_header_count
                )
                .into(),
            ));
        }
        fields.push(parse_field_line(&raw, line_start)?);
    }

    finish_head(raw, request_line, fields, limits)
}

/// The pieces of a request line, as ranges into the raw head.
struct RequestLine {
    method: Method,
    target: Range<usize>,
    version: Version,
}

/// `method SP request-target SP HTTP-version` (RFC 9112 §3), with exactly one
/// space between the parts.
fn parse_request_line(line: &[u8]) -> Result<RequestLine, HttpError> {
    const SHAPE: &str = "the request line must be METHOD SP TARGET SP HTTP/1.1";
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::bad(SHAPE));
    };
    if method.is_empty() || !method.iter().all(|&b| is_token_byte(b)) {
        return Err(HttpError::bad(
            "the method is not a valid token (RFC 9110 §9.1)",
        ));
    }
    if target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
        return Err(HttpError::bad(
            "the request target must be visible ASCII: percent-encode anything else",
        ));
    }
    let version = parse_version(version)?;
    let target_start = method.len() + 1;
    let method = Method::from_token(method);
    Ok(RequestLine {
        method,
        target: target_start..target_start + target.len(),
        version,
    })
}

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
fn framing_from_headers(head: &RequestHead) -> Result<Framing, HttpError> {
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

/// Applies the rules that need the whole head: Host, target form, body
/// framing, persistence and expectations.
fn finish_head(
    raw: Vec<u8>,
    line: RequestLine,
    fields: Vec<(Range<usize>, Range<usize>)>,
    limits: &Limits,
) -> Result<Option<RequestHead>, HttpError> {
    // The target was checked to be visible ASCII.
    let target_parts =
        parse_target(std::str::from_utf8(&raw[line.target.clone()]).unwrap_or_default())?;
    if target_parts.form == TargetForm::Asterisk && line.method != Method::Options {
        return Err(HttpError::bad(
            "the target * is only allowed with OPTIONS (RFC 9112 §3.2.4)",
        ));
    }
    let mut head = RequestHead {
        raw,
        method: line.method,
        version: line.version,
        target: line.target,
        target_parts,
        fields,
        framing: Framing::None,
        persistence: Persistence::Close,
        expects_continue: false,
    };

    check_host(&head)?;
    head.framing = framing_from_headers(&head)?;
    if let Framing::Length(length) = head.framing
        && length > limits.max_body
    {
        return Err(HttpError::ContentTooLarge {
            limit: limits.max_body,
        });
    }
    head.persistence = requested_persistence(&head);
    head.expects_continue = read_expectation(&head)?;
    Ok(Some(head))
}

/// A request must have at most one Host, and an HTTP/1.1 request exactly
/// one (RFC 9112 §3.2).
fn check_host(head: &RequestHead) -> Result<(), HttpError> {
    let mut hosts = head.headers_named("host");
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(HttpError::bad("the request has more than one Host header"));
    }
    match first {
        None if head.version == Version::Http11 => Err(HttpError::bad(
            "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)",
        )),
        // uri-host [ ":" port ] (RFC 3986 §3.2.2): no spaces, slashes or userinfo.
        Some(host) if !host.bytes().all(is_host_byte) => {
            Err(HttpError::bad("the Host header is not a valid host[:port]"))
        }
        _ => Ok(()),
    }
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b)
}

/// Persistence (RFC 9112 §9.3): HTTP/1.1 keeps the connection unless told
/// `close`; HTTP/1.0 closes unless told `keep-alive`.
fn requested_persistence(head: &RequestHead) -> Persistence {
    let has = |option: &str| {
        head.headers_named("connection")
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(option))
    };
    let keep_open = match head.version {
        Version::Http11 => !has("close"),
        Version::Http10 => has("keep-alive") && !has("close"),
    };
    if keep_open {
        Persistence::KeepOpen(head.version)
    } else {
        Persistence::Close
    }
}

/// `Expect: 100-continue` is the only expectation defined (RFC 9110
/// §10.1.1); anything else is 417. An HTTP/1.0 client cannot understand a
/// 100 response, so its `100-continue` is ignored.
fn read_expectation(head: &RequestHead) -> Result<bool, HttpError> {
    let mut expects_continue = false;
    for expectation in head
        .headers_named("expect")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if !expectation.eq_ignore_ascii_case("100-continue") {
            return Err(HttpError::ExpectationFailed(expectation.to_string()));
        }
        expects_continue = head.version == Version::Http11;
    }
    Ok(expects_continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<RequestHead>, HttpError> {
        read_head(&mut &input[..], &Limits::default())
    }

    fn status_of(input: &[u8]) -> u16 {
        status(parse(input))
    }

    #[test]
    fn parses_a_simple_get() {
        let head = parse(b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nX-Y:  z \r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.method(), &Method::Get);
        assert_eq!(head.version(), Version::Http11);
        assert_eq!(head.target(), "/hello?x=1");
        assert_eq!(head.path(), "/hello");
        assert_eq!(head.query(), Some("x=1"));
        assert_eq!(head.header("x-y"), Some("z"));
        assert_eq!(head.header("HOST"), Some("a"));
        assert_eq!(head.persistence(), Persistence::KeepOpen(Version::Http11));
        assert_eq!(head.framing(), Framing::None);
    }

    #[test]
    fn clean_end_of_stream_is_not_an_error() {
        assert!(parse(b"").unwrap().is_none());
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped() {
        let head = parse(b"\r\n\nGET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.path(), "/");
    }

    #[test]
    fn bare_lf_line_endings_are_accepted() {
        let head = parse(b"GET / HTTP/1.1\nHost: a\n\n").unwrap().unwrap();
        assert_eq!(head.header("host"), Some("a"));
    }

    #[test]
    fn request_line_shape() {
        assert_eq!(status_of(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /\r\n\r\n"), 400);
        assert_eq!(status_of(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    }

    #[test]
    fn versions() {
        assert_eq!(status_of(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status_of(b"GET / HTTP/0.9\r\n\r\n"), 505);
        assert_eq!(status_of(b"GET / HTTP/1.10\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / http/1.1\r\n\r\n"), 400);
        let head = parse(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.version(), Version::Http11);
    }

    #[test]
    fn header_syntax() {
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
            400
        );
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), 400);
        // A tab inside a value is allowed.
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n"),
            0
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(status_of(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            400
        );
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.0\r\n\r\n"), 0);
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), 0);
    }

    #[test]
    fn limits() {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
        assert_eq!(status_of(long_target.as_bytes()), 414);
        let big_header = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(70_000)
        );
        assert_eq!(status_of(big_header.as_bytes()), 431);
        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..100 {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(status_of(many.as_bytes()), 431);
    }

    #[test]
    fn persistence() {
        let keep = |input: &[u8]| parse(input).unwrap().unwrap().persistence().keeps_open();
        assert!(keep(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n"
        ));
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn expectations() {
        let head = parse(
            b"PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(head.expects_continue());
        let old = parse(b"PUT /k HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!old.expects_continue());
        assert_eq!(
            status_of(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n"),
            417
        );
    }

    #[test]
    fn options_of_a_pathless_absolute_uri_targets_the_server() {
        let targets = |input: &[u8]| parse(input).unwrap().unwrap().targets_the_server();
        assert!(targets(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(targets(b"OPTIONS http://a:1 HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!targets(b"OPTIONS http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!targets(
            b"OPTIONS http://a:1?x HTTP/1.1\r\nHost: a\r\n\r\n"
        ));
        assert!(!targets(b"GET http://a:1 HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!targets(b"OPTIONS /k HTTP/1.1\r\nHost: a\r\n\r\n"));
    }

    #[test]
    fn asterisk_only_with_options() {
        assert_eq!(status_of(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
        assert_eq!(status_of(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    }

    #[test]
    fn obs_text_is_opaque_except_in_interpreted_headers() {
        let head =
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\nX-Utf8: \xc3\xa9\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(head.header("x-name"), None);
        assert_eq!(head.header("x-utf8"), Some("é"));
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nHost: \xe9\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\xff\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Type: text/\xc3\xa9\r\n\r\n"),
            400
        );
    }

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
}
