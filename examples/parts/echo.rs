//! The answer of steps 04 to 09: what the server understood of a request.
//! Step 04 builds it. It is the application those steps run; the protocol
//! is in `request.rs`, `response.rs`, `body.rs` and `connection.rs`.

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{self, BufReader};
use std::net::TcpStream;
use std::time::Duration;

use crate::request::{HttpError, Request, read_request};
use crate::response::{Response, respond_and_close};

/// A plain-text account of `request`: its request line, its header fields
/// as they came, and its body, with every byte that is not printable ASCII
/// escaped (`\n`, `\r`, `\xff`), so you see exactly what arrived.
pub fn describe(request: &Request) -> Response {
    let mut text = format!(
        "{} {} {}\n",
        request.method, request.target, request.version
    );
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    let body = request.body.escape_ascii();
    text.push_str(&format!("body, {} bytes: {body}\n", request.body.len()));
    Response::new(200, "text/plain", text)
}

/// Answers the request that was read, or the error that reading it met,
/// then closes the connection. `Ok(None)`: the client left without asking.
pub fn answer(stream: &TcpStream, read: Result<Option<Request>, HttpError>) -> io::Result<()> {
    let response = match read {
        Ok(Some(request)) => describe(&request),
        Ok(None) => return Ok(()),
        Err(error) => error.response(),
    };
    respond_and_close(stream, response)
}

/// How long each read of steps 04 to 06 waits, as in step 02.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads one request and answers it (steps 04 to 06). Each read waits at
/// most [`READ_TIMEOUT`].
pub fn answer_one(stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(&stream);
    answer(&stream, read_request(&mut reader))
}
