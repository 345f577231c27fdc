//! A small blocking HTTP/1.1 client on `std`: the other side of the wire.
//!
//! The `httpdb cluster` tools use it to talk to nodes, and the tests and
//! benchmarks use it to talk to servers, so it is written to be read as the
//! mirror image of the server: it writes a request head and body, then reads
//! a status line, header fields and a body framed as RFC 9112 §6.3 says a
//! *response* body is framed:
//! 1. a response to HEAD, and every 1xx, 204 and 304 response, has no body;
//! 2. `Transfer-Encoding: chunked` means chunks (§7.1);
//! 3. otherwise `Content-Length` gives the length;
//! 4. otherwise the body runs until the server closes the connection.
//!
//! It shares no code with the server's request parser (`http/`): a test that
//! read responses with the server's own code could not catch a bug the two
//! agreed on. It is strict where the server must be: lines end in CRLF, the
//! status line is `HTTP/1.x NNN reason`, and a malformed response is an
//! error, never a guess.
//!
//! One [`Client`] is one connection. Requests on it go one after another
//! (keep-alive); bytes the server sent past one response stay in the
//! client's buffer for the next, so pipelined responses are not lost.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::Range;
use std::time::Duration;

/// The largest response head (status line and header fields) read.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest response body read: above httpdb's largest `--max-body`
/// (1 GiB), so any value a node can hold can be copied.
const MAX_BODY_BYTES: u64 = (1 << 30) + (1 << 20);

/// Why a request got no usable response.
#[derive(Debug)]
pub enum ClientError {
    /// The socket failed, or the wait for the server timed out.
    Io(io::Error),
    /// The server closed the connection before the first byte of a response.
    Closed,
    /// The server sent something that is not an HTTP/1.x response.
    Malformed(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(error) if is_timeout(error) => {
                write!(f, "no answer in time ({error})")
            }
            ClientError::Io(error) => write!(f, "{error}"),
            ClientError::Closed => write!(f, "the connection closed before a response"),
            ClientError::Malformed(what) => write!(f, "a malformed response: {what}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(error: io::Error) -> Self {
        ClientError::Io(error)
    }
}

fn malformed(what: impl Into<String>) -> ClientError {
    ClientError::Malformed(what.into())
}

/// Whether an I/O error is a socket timeout running out (`WouldBlock` on
/// Unix, `TimedOut` elsewhere).
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A request to send: method, target, header fields and an optional body.
/// `Host` is added from the connection unless given, and `Content-Length`
/// whenever there is a body.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request with no header fields and no body.
    pub fn new(method: &'a str, target: &'a str) -> Request<'a> {
        Request {
            method,
            target,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &'a str, value: &'a str) -> Request<'a> {
        self.headers.push((name, value));
        self
    }

    /// Adds every header field of `headers`.
    pub fn headers(mut self, headers: &[(&'a str, &'a str)]) -> Request<'a> {
        self.headers.extend_from_slice(headers);
        self
    }

    /// Sets the body, sent with `Content-Length`.
    pub fn body(mut self, body: &'a [u8]) -> Request<'a> {
        self.body = Some(body);
        self
    }

    /// The method, as sent.
    pub fn method(&self) -> &str {
        self.method
    }

    /// Appends the request's bytes to `out`.
    pub fn encode(&self, host: &str, out: &mut Vec<u8>) {
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !has("host") {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(host.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(body) = self.body
            && !has("content-length")
            && !has("transfer-encoding")
        {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body.unwrap_or_default());
    }
}

/// A response as read off the wire. The head is kept as it arrived, with
/// ranges for its parts, so a [`Response`] can be read into again without
/// allocating (what a benchmark's client needs).
#[derive(Clone, Default)]
pub struct Response {
    head: Vec<u8>,
    status: u16,
    reason: Range<usize>,
    fields: Vec<(Range<usize>, Range<usize>)>,
    /// The body: empty when the response has none.
    pub body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        self.text_at(self.reason.clone())
    }

    /// The status line, without its CRLF.
    pub fn status_line(&self) -> &str {
        let end = self
            .fields
            .first()
            .map_or(self.head.len(), |(name, _)| name.start);
        self.text_at(0..end).trim_end()
    }

    /// The first value of the named header field (names are
    /// case-insensitive); `None` if absent or not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// Every value of the named header field, in order.
    pub fn headers_named<'r, 'n>(
        &'r self,
        name: &'n str,
    ) -> impl Iterator<Item = &'r str> + use<'r, 'n> {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every header field, in the order sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(name, value)| (self.text_at(name.clone()), self.text_at(value.clone())))
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the server said it closes the connection after this response
    /// (`Connection: close`, RFC 9112 §9.6).
    pub fn closes(&self) -> bool {
        self.headers_named("connection")
            .flat_map(|value| value.split(','))
            .any(|option| option.trim().eq_ignore_ascii_case("close"))
    }

    /// Whether this is an interim (1xx) response, such as `100 Continue`.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }

    fn text_at(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(&self.head[range]).unwrap_or_default()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("head", &String::from_utf8_lossy(&self.head))
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// One connection to an HTTP/1.x server.
pub struct Client {
    reader: BufReader<TcpStream>,
    /// The `Host` value sent: the address connected to.
    host: String,
    /// A request's bytes, built here and reused.
    outgoing: Vec<u8>,
}

impl Client {
    /// Connects to `addr`, waiting at most `timeout` for the connection and
    /// then for each read and write.
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Client> {
        let mut last_error = io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{addr}' names no address"),
        );
        for resolved in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&resolved, timeout) {
                Ok(stream) => return Client::over(stream, addr, timeout),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// Connects to a socket address (see [`Client::connect`]).
    pub fn connect_to(addr: SocketAddr, timeout: Duration) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        Client::over(stream, &addr.to_string(), timeout)
    }

    fn over(stream: TcpStream, host: &str, timeout: Duration) -> io::Result<Client> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        // A request leaves in one write; Nagle would only delay its last segment.
        stream.set_nodelay(true)?;
        Ok(Client {
            reader: BufReader::new(stream),
            host: host.to_string(),
            outgoing: Vec::new(),
        })
    }

    /// The socket, to set options on or to shut down.
    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Bytes received and not yet read as part of a response.
    pub fn buffered(&self) -> &[u8] {
        self.reader.buffer()
    }

    /// Writes `bytes` as they are: for requests a test builds by hand.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Writes `request`.
    pub fn send(&mut self, request: &Request<'_>) -> io::Result<()> {
        let mut bytes = std::mem::take(&mut self.outgoing);
        bytes.clear();
        request.encode(&self.host, &mut bytes);
        let sent = self.reader.get_mut().write_all(&bytes);
        self.outgoing = bytes;
        sent
    }

    /// Sends `request` and reads its final response, passing over interim
    /// (1xx) responses.
    pub fn exchange(&mut self, request: &Request<'_>) -> Result<Response, ClientError> {
        self.send(request)?;
        let to_head = request.method.eq_ignore_ascii_case("HEAD");
        loop {
            let response = self.read_response(to_head)?;
            if !response.is_interim() {
                return Ok(response);
            }
        }
    }

    /// Reads the next response, interim ones included. `to_head` says the
    /// request was HEAD, whose response has no body whatever its
    /// Content-Length says (RFC 9110 §9.3.2).
    pub fn read_response(&mut self, to_head: bool) -> Result<Response, ClientError> {
        let mut response = Response::default();
        self.read_response_into(to_head, &mut response)?;
        Ok(response)
    }

    /// [`Client::read_response`] into an existing [`Response`], reusing its
    /// memory.
    pub fn read_response_into(
        &mut self,
        to_head: bool,
        response: &mut Response,
    ) -> Result<(), ClientError> {
        read_head(&mut self.reader, response)?;
        read_body(&mut self.reader, to_head, response)
    }

    /// Whether the server has closed the connection: a read returns end of
    /// stream (or a reset) rather than data or a timeout.
    pub fn is_closed(&mut self) -> bool {
        match self.reader.fill_buf() {
            Ok(buffered) => buffered.is_empty(),
            Err(error) => !is_timeout(&error),
        }
    }

    /// Ends the client's side of the conversation (a half-close): the server
    /// reads end of stream, and can still answer.
    pub fn finish_writing(&self) -> io::Result<()> {
        self.stream().shutdown(Shutdown::Write)
    }
}

/// `status-line = HTTP-version SP status-code SP [ reason-phrase ]`, then
/// `field-name ":" OWS field-value OWS` lines until an empty one (RFC 9112
/// §4, §5).
fn read_head(reader: &mut impl BufRead, response: &mut Response) -> Result<(), ClientError> {
    let head = &mut response.head;
    head.clear();
    response.fields.clear();
    if read_crlf_line(reader, head)? == 0 {
        return Err(ClientError::Closed);
    }
    let line = &head[..];
    let (version, rest) = line.split_at(line.len().min(9));
    if !(version.starts_with(b"HTTP/1.") && version.ends_with(b" ")) {
        return Err(malformed(format!(
            "the status line does not start with HTTP/1.x: {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    let code = rest.get(..3).unwrap_or_default();
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || rest.get(3) != Some(&b' ') {
        return Err(malformed(format!(
            "the status line has no three-digit code and space: {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    response.status = code.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0'));
    response.reason = 13..line.len();
    loop {
        let start = head.len();
        if read_crlf_line(reader, head)? == 0 {
            return Err(malformed("the connection closed inside the response head"));
        }
        if head.len() == start {
            return Ok(());
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(malformed("the response head is larger than 64 KiB"));
        }
        let line = &head[start..];
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| malformed("a header line has no colon"))?;
        let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
        let leading = line[colon + 1..].iter().take_while(|b| is_ows(b)).count();
        let trailing = line[colon + 1..]
            .iter()
            .rev()
            .take_while(|b| is_ows(b))
            .count();
        let value_start = (start + colon + 1 + leading).min(head.len() - trailing);
        response
            .fields
            .push((start..start + colon, value_start..head.len() - trailing));
    }
}

/// Reads the body of a response whose head is read, framed as RFC 9112
/// §6.3 says (the list at the top of this file).
fn read_body(
    reader: &mut impl BufRead,
    to_head: bool,
    response: &mut Response,
) -> Result<(), ClientError> {
    response.body.clear();
    let status = response.status;
    if to_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(());
    }
    let chunked = response
        .headers_named("transfer-encoding")
        .flat_map(|value| value.split(','))
        .last()
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
    if chunked {
        return read_chunked(reader, &mut response.body);
    }
    match content_length(response)? {
        Some(length) => read_exactly(reader, length, &mut response.body),
        None => read_until_close(reader, &mut response.body),
    }
}

/// Appends one line to `out` without its CRLF; returns the bytes consumed
/// (0 at end of stream). A line not ending in CRLF is malformed.
fn read_crlf_line(reader: &mut impl BufRead, out: &mut Vec<u8>) -> Result<usize, ClientError> {
    let start = out.len();
    let read = reader
        .take(MAX_HEAD_BYTES as u64 + 2)
        .read_until(b'\n', out)?;
    if read == 0 {
        return Ok(0);
    }
    if !out.ends_with(b"\r\n") {
        out.truncate(start);
        return Err(malformed(
            "a line of the response head does not end in CRLF",
        ));
    }
    out.truncate(out.len() - 2);
    Ok(read)
}

fn content_length(response: &Response) -> Result<Option<u64>, ClientError> {
    let Some(value) = response.header("content-length") else {
        return Ok(None);
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!(
            "Content-Length {value:?} is not a number"
        )));
    }
    let length: u64 = value
        .parse()
        .map_err(|_| malformed("Content-Length is too large"))?;
    if length > MAX_BODY_BYTES {
        return Err(malformed(format!("a body of {length} bytes is too large")));
    }
    Ok(Some(length))
}

fn read_exactly(
    reader: &mut impl Read,
    length: u64,
    body: &mut Vec<u8>,
) -> Result<(), ClientError> {
    let read = reader.take(length).read_to_end(body)?;
    if (read as u64) < length {
        return Err(malformed(format!(
            "the connection closed after {read} of {length} body bytes"
        )));
    }
    Ok(())
}

fn read_until_close(reader: &mut impl Read, body: &mut Vec<u8>) -> Result<(), ClientError> {
    reader.take(MAX_BODY_BYTES + 1).read_to_end(body)?;
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(malformed("the body is too large"));
    }
    Ok(())
}

/// `chunked-body = *chunk last-chunk trailer-section CRLF` (RFC 9112 §7.1);
/// extensions and trailer fields are read and dropped.
fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> Result<(), ClientError> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_crlf_line(reader, &mut line)? == 0 {
            return Err(malformed("the connection closed inside a chunked body"));
        }
        let digits = line.split(|&b| b == b';').next().unwrap_or_default();
        let digits = std::str::from_utf8(digits).unwrap_or_default().trim();
        let size = u64::from_str_radix(digits, 16)
            .map_err(|_| malformed(format!("a bad chunk size {digits:?}")))?;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY_BYTES {
            return Err(malformed("the body is too large"));
        }
        read_exactly(reader, size, body)?;
        line.clear();
        if read_crlf_line(reader, &mut line)? == 0 || !line.is_empty() {
            return Err(malformed("chunk data is not followed by CRLF"));
        }
    }
    loop {
        line.clear();
        if read_crlf_line(reader, &mut line)? == 0 {
            return Err(malformed("the connection closed inside the trailers"));
        }
        if line.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], to_head: bool) -> Result<Response, ClientError> {
        let mut response = Response::default();
        let mut reader = BufReader::new(bytes);
        read_head(&mut reader, &mut response)?;
        read_body(&mut reader, to_head, &mut response)?;
        Ok(response)
    }

    #[test]
    fn reads_a_response_with_content_length() {
        let response = read(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nETag:  \"7\" \r\n\r\nhelloextra",
            false,
        )
        .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.reason(), "OK");
        assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(response.header("etag"), Some("\"7\""));
        assert_eq!(response.body, b"hello");
        assert!(!response.closes());
    }

    #[test]
    fn reads_chunked_and_close_delimited_bodies() {
        let chunked = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        let until_close = read(
            b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nall of it",
            false,
        )
        .unwrap();
        assert_eq!(until_close.body, b"all of it");
        assert!(until_close.closes());
    }

    #[test]
    fn no_body_after_head_and_on_204_304_and_1xx() {
        let head = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true).unwrap();
        assert!(head.body.is_empty());
        for status in ["100 Continue", "204 No Content", "304 Not Modified"] {
            let raw = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
            assert!(read(raw.as_bytes(), false).unwrap().body.is_empty());
        }
    }

    #[test]
    fn malformed_responses_are_errors() {
        for bad in [
            &b"HTTP/1.1 200 OK\n\r\n"[..],
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(
                matches!(read(bad, false), Err(ClientError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(read(b"", false), Err(ClientError::Closed)));
    }

    #[test]
    fn requests_carry_host_and_content_length() {
        let mut out = Vec::new();
        Request::new("PUT", "/k")
            .header("If-Match", "\"1\"")
            .body(b"abc")
            .encode("127.0.0.1:1", &mut out);
        assert_eq!(
            out,
            b"PUT /k HTTP/1.1\r\nHost: 127.0.0.1:1\r\nIf-Match: \"1\"\r\nContent-Length: 3\r\n\r\nabc"
        );
    }
}
