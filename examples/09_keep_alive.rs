//! Step 09: keep the connection open for the next request.
//!
//! Step 08 closed the connection after every response. HTTP/1.1 keeps it
//! open unless a side says `Connection: close`; HTTP/1.0 closes it unless
//! the client says `Connection: keep-alive` (RFC 9112 §9.3). So requests
//! follow one another on one connection, even several sent at once
//! (pipelining, §9.3.2), answered in order. The loop that does it is
//! `parts/connection.rs`, the module this step introduces; read its doc
//! for the two traps it avoids (a new `BufReader` per request loses the
//! pipelined requests; reading a chunked body as no body reads the chunks
//! as the next request, the way a smuggled request gets through).
//!
//! Between requests a connection is idle, and idle connections still hold
//! a worker each. The idle timeout closes them at last; until then,
//! `WORKERS` idle keep-alive clients make everyone else wait.
//!
//! The bug this step leaves for the next: the server answers, but remembers
//! nothing. Step 10 puts the blog post's key-value store behind it.
//!
//! Run it: `cargo run --example 09_keep_alive [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/body.rs"]
mod body;
#[path = "parts/connection.rs"]
mod connection;
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

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use connection::Timeouts;
use pool::ThreadPool;

/// How many connections are served at once.
const WORKERS: usize = 4;
const TIMEOUTS: Timeouts = Timeouts {
    request: Duration::from_secs(5),
    idle: Duration::from_secs(5),
};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    let pool = ThreadPool::new(WORKERS);
    connection::serve(listener.incoming(), pool, TIMEOUTS, echo::describe)
}

#[cfg(test)]
#[path = "tests/09_keep_alive.rs"]
mod tests;
