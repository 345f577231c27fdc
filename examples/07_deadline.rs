//! Step 07: a deadline for the whole request.
//!
//! Step 06's workers could be held by slow clients: its read timeout
//! limits each `read`, so a client trickling a byte every few seconds never
//! trips it. Here each request gets one deadline (`parts/deadline.rs`, the
//! module this step introduces): all of it must arrive within `DEADLINE`
//! of a worker taking the connection, or the answer is `408 Request
//! Timeout` and the connection is closed (RFC 9110 §15.5.9). Reading a
//! request never holds a worker longer, whatever the client does. (RFC 9112
//! §9.5 lets a server close a connection that takes too long. Writing the
//! answer has no deadline here; httpdb's has one.)
//!
//! The bug this step leaves for the next: the body is framed by
//! Content-Length alone. A body sent in chunks (`Transfer-Encoding:
//! chunked`, RFC 9112 §7.1), which is how a client sends a body whose length
//! it does not know in advance, is not read at all: the server sees no
//! Content-Length, takes the body to be empty, and answers the wrong thing.
//!
//! Run it: `cargo run --example 07_deadline [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/deadline.rs"]
mod deadline;
#[path = "parts/echo.rs"]
mod echo;
#[path = "parts/pool.rs"]
mod pool;
#[path = "parts/request.rs"]
mod request;
#[path = "parts/response.rs"]
mod response;

use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use deadline::Deadline;
use pool::ThreadPool;

/// How many connections are served at once.
const WORKERS: usize = 4;
/// How long a whole request may take to arrive. httpdb: `--read-timeout`.
const DEADLINE: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    let pool = ThreadPool::new(WORKERS);
    pool::serve(listener.incoming(), pool, |stream| answer(stream, DEADLINE))
}

/// Reads one request, all of it within `deadline`, and answers it.
fn answer(stream: TcpStream, deadline: Duration) -> io::Result<()> {
    let mut reader = BufReader::new(Deadline::new(&stream, Instant::now() + deadline));
    echo::answer(&stream, request::read_request(&mut reader))
}

#[cfg(test)]
#[path = "tests/07_deadline.rs"]
mod tests;
