//! Reading a request head: the request line and the header section
//! (RFC 9112 §2-§5), and deciding from it how the body is framed (§6).
//!
//! The parser is strict on purpose. A server behind a proxy that reads a
//! request differently from the proxy can be made to see two requests where
//! the proxy saw one (request smuggling), so anything the RFCs call invalid,
//! or allow to be read more than one way, is refused with 400 and the
//! connection is closed.
//!
//! The head is read into one buffer and every header is kept as a pair of
//! ranges into it, so a request with twenty headers costs two allocations,
//! not forty.

use std::io::BufRead;
use std::ops::Range;

use super::HttpError;
use super::body::{Framing, framing_from_headers};
use super::line::read_line;
use super::uri::{TargetForm, TargetParts, parse_target};

/// How large a request is allowed to be.
#[derive(Clone, Debug)]
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
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
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

/// The protocol version of a request. A higher 1.x minor version is read as
/// HTTP/1.1 (RFC 9110 §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
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
    keep_alive: bool,
    expects_continue: bool,
}

impl RequestHead {
    pub fn method(&self) -> &Method {
        &self.method
    }

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

    pub fn target_form(&self) -> TargetForm {
        self.target_parts.form
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

    /// Whether the client wants the connection kept open after the response
    /// (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
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
    pub head: RequestHead,
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

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3).
fn parse_version(version: &[u8]) -> Result<Version, HttpError> {
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = *version else {
        return Err(HttpError::bad(
            "the protocol version must look like HTTP/1.1 (RFC 9112 §2.3)",
        ));
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(HttpError::bad(
            "the protocol version must look like HTTP/1.1 (RFC 9112 §2.3)",
        ));
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Version::Http10),
        (b'1', _) => Ok(Version::Http11),
        _ => Err(HttpError::VersionNotSupported(
            String::from_utf8_lossy(version).into_owned(),
        )),
    }
}

/// `field-name ":" OWS field-value OWS` (RFC 9112 §5), returning the ranges
/// of the name and the trimmed value inside `raw`.
pub(super) fn parse_field_line(
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
/// with other bytes is malformed; refusing it keeps [`RequestHead::header`]
/// from ever treating one as absent.
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
pub(super) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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
        keep_alive: false,
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
    head.keep_alive = wants_keep_alive(&head);
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
fn wants_keep_alive(head: &RequestHead) -> bool {
    let has = |option: &str| {
        head.headers_named("connection")
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(option))
    };
    match head.version {
        Version::Http11 => !has("close"),
        Version::Http10 => has("keep-alive") && !has("close"),
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
        match parse(input) {
            Ok(_) => 0,
            Err(e) => e.status().map(|s| s.code()).unwrap_or(1),
        }
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
        assert!(head.keep_alive());
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
        let keep = |input: &[u8]| parse(input).unwrap().unwrap().keep_alive();
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
}
