//! One connection's life, from its first request to its close (RFC 9112
//! §9). Step 09 builds this module; step 10 serves its store with it.
//!
//! A connection carries one request after another:
//! 1. Wait for the next request's first byte, for at most the idle timeout.
//!    A client that stays silent that long is closed quietly (RFC 9112 §9.5
//!    lets a server close an idle connection at any time).
//! 2. Read the request, all of it before its deadline (`deadline.rs`), its
//!    body framed as `body.rs` says.
//! 3. Answer with the handler, and keep the connection or close it (§9.3).
//!
//! One `BufReader` serves the whole connection. When a client sends its
//! next request before the answer to this one (pipelining, §9.3.2), those
//! bytes may already sit in the reader's buffer; they are the start of the
//! next request, and a `BufReader` made anew for each request would drop
//! them. And each request is read to the exact end of its body as
//! `body.rs` frames it: a chunked body taken for no body would leave its
//! chunks to be read as the next request, which is how a smuggled request
//! gets in. After a malformed request nothing says where the next one
//! starts, so the connection is answered and closed.

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::body::read_request;
use crate::deadline::Deadline;
use crate::pool::{self, ThreadPool};
use crate::request::Request;
use crate::response::{Response, respond_and_close, write_response};

#[derive(Clone, Copy)]
pub struct Timeouts {
    /// How long a whole request may take to arrive. httpdb: `--read-timeout`.
    pub request: Duration,
    /// How long a connection may wait for its next request. httpdb:
    /// `--idle-timeout`.
    pub idle: Duration,
}

/// Serves every connection `incoming` yields on the pool, each request
/// answered by `handler`.
pub fn serve<H>(
    incoming: impl Iterator<Item = io::Result<TcpStream>>,
    pool: ThreadPool,
    timeouts: Timeouts,
    handler: H,
) -> io::Result<()>
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    pool::serve(incoming, pool, move |stream| {
        serve_connection(&stream, timeouts, &handler)
    })
}

/// Serves requests on `stream` until the client closes it, stays idle too
/// long, or sends something malformed.
pub fn serve_connection(
    stream: &TcpStream,
    timeouts: Timeouts,
    handler: &dyn Fn(&Request) -> Response,
) -> io::Result<()> {
    let mut reader = BufReader::new(Deadline::new(stream, Instant::now()));
    loop {
        // Idle: wait for the first byte of the next request. The client
        // closed, or stayed silent too long: close without a word.
        reader.get_mut().until = Instant::now() + timeouts.idle;
        match reader.fill_buf() {
            Ok([]) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        // A request has begun: all of it must arrive by its deadline.
        reader.get_mut().until = Instant::now() + timeouts.request;
        let (response, keep) = match read_request(&mut reader, stream) {
            Ok(Some(request)) => {
                let mut response = handler(&request);
                let keep = keep_alive(&request);
                if keep && request.is_http10() {
                    // An HTTP/1.0 client closes unless told otherwise.
                    response = response.with_header("Connection", "keep-alive");
                }
                (response, keep)
            }
            Ok(None) => return Ok(()),
            Err(error) => (error.response(), false),
        };
        if !keep {
            return respond_and_close(stream, response);
        }
        write_response(&mut &*stream, &response)?;
    }
}

/// Whether the client wants the connection kept after this request
/// (RFC 9112 §9.3): not if it said `Connection: close`; otherwise HTTP/1.1
/// keeps it, and HTTP/1.0 keeps it only if it said `Connection: keep-alive`.
pub fn keep_alive(request: &Request) -> bool {
    let options = request.header_list("connection").unwrap_or_default();
    let says = |option: &str| {
        options
            .split(',')
            .any(|o| o.trim().eq_ignore_ascii_case(option))
    };
    !says("close") && (!request.is_http10() || says("keep-alive"))
}
