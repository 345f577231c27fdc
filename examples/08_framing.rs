//! Step 08: every way a request body can be framed.
//!
//! Step 07 knew only Content-Length, so a chunked body was taken for no
//! body at all. This step reads a body as RFC 9112 §6.3 says, with the
//! module it introduces, `parts/body.rs`: chunked bodies (§7.1), and a
//! refusal wherever the length is ambiguous or missing: Transfer-Encoding
//! with Content-Length (400), a POST without either (411 Length Required),
//! a coding it cannot decode (501); and `100 Continue` for a client that
//! waits for it before sending its body (RFC 9110 §10.1.1).
//!
//! The bug this step leaves for the next: one request per connection.
//! Every response closes the connection, so every request pays for a new
//! one, and a client that sends two requests at once (pipelining) gets an
//! answer to the first only. HTTP/1.1 keeps connections open by default
//! (RFC 9112 §9.3).
//!
//! Run it: `cargo run --example 08_framing [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/body.rs"]
mod body;
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
/// How long a whole request may take to arrive.
const DEADLINE: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    let pool = ThreadPool::new(WORKERS);
    pool::serve(listener.incoming(), pool, |stream| answer(stream, DEADLINE))
}

/// Reads one request, its body framed by every rule, and answers it.
fn answer(stream: TcpStream, deadline: Duration) -> io::Result<()> {
    let mut reader = BufReader::new(Deadline::new(&stream, Instant::now() + deadline));
    echo::answer(&stream, body::read_request(&mut reader, &stream))
}

#[cfg(test)]
#[path = "tests/08_framing.rs"]
mod tests;
