//! Writing a response, and closing a connection so the client can read it.
//! Step 04 builds this module (and `request.rs`); every later step answers
//! with it.
//!
//! A response is a status line (`HTTP/1.1 200 OK`), header fields, an empty
//! line and the body, every line ending in CRLF (RFC 9112 §2.1, §4), with
//! `Content-Length` to say where the body ends.

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::request::HttpError;

/// A response: a status, header fields and a body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        let headers = vec![("Content-Type", content_type.to_string())];
        let body = body.into();
        Response {
            status,
            headers,
            body,
        }
    }

    /// A response without a body, such as 204 or 201.
    pub fn empty(status: u16) -> Response {
        let (headers, body) = (Vec::new(), Vec::new());
        Response {
            status,
            headers,
            body,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

impl HttpError {
    pub fn response(&self) -> Response {
        Response::new(self.status, "text/plain", format!("{}\n", self.message))
    }
}

/// Writes `response`: status line, header fields, an empty line, the body,
/// every line ending in CRLF (RFC 9112 §2.1, §4).
pub fn write_response(out: &mut impl Write, response: &Response) -> io::Result<()> {
    let status = response.status;
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // Content-Length tells the client where the body ends; a 204 has no
    // body (RFC 9112 §6.3) and must not send Content-Length (RFC 9110 §8.6).
    if status != 204 {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    head.push_str("\r\n");
    // One write for head and body, so a small response leaves in one packet.
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    out.write_all(&bytes)
}

/// The reason phrase for each status these examples send (RFC 9110 §15).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Sends `response` with `Connection: close` (RFC 9112 §9.6: a server that
/// closes says so), then closes the connection in stages.
pub fn respond_and_close(stream: &TcpStream, response: Response) -> io::Result<()> {
    write_response(&mut &*stream, &response.with_header("Connection", "close"))?;
    close_gently(stream);
    Ok(())
}

/// Closes a connection so the client can read the last response.
///
/// Closing a socket that still has unread bytes from the client makes the
/// kernel send a reset, which can destroy the response before the client
/// reads it. So, as RFC 9112 §9.6 describes: half-close (no more writes),
/// then read and drop whatever still arrives, until the client closes too or
/// a second has passed.
pub fn close_gently(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    let (mut reader, mut sink) = (stream, [0; 4096]);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        if let Ok(0) | Err(_) = reader.read(&mut sink) {
            return;
        }
    }
}
