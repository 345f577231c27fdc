//! Step 04: read a request properly.
//!
//! Step 03 took one `read` for the whole request, split it on the wrong
//! character, ignored Content-Length and decoded bytes as text. This step
//! reads the way every later one does, with the modules it introduces,
//! `parts/request.rs` and `parts/response.rs`:
//! - a `BufReader` over the connection, and the request read from it line
//!   by line, so it no longer matters how the bytes were cut into packets;
//! - each line ends in CRLF (or a bare LF), removed (RFC 9112 §2.2);
//! - header names matched without regard to case (RFC 9110 §5.1);
//! - the body read as exactly `Content-Length` bytes (RFC 9112 §6.2), and
//!   kept as bytes;
//! - Host required of HTTP/1.1 only (RFC 9112 §3.2);
//! - limits on everything, and an error status instead of silence;
//! - the connection closed in stages, so the client can read the answer
//!   (RFC 9112 §9.6).
//!
//! It answers with what it understood (`parts/echo.rs`), as step 03 did, so
//! the two can be compared request for request.
//!
//! The bug this step leaves for the next: it serves one connection at a
//! time. A client that connects and sends nothing, like a browser's spare
//! connection, makes everyone else wait, up to its read timeout
//! (`READ_TIMEOUT` in `parts/echo.rs`).
//!
//! Run it: `cargo run --example 04_read_request [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/echo.rs"]
mod echo;
#[path = "parts/request.rs"]
mod request;
#[path = "parts/response.rs"]
mod response;

use std::io;
use std::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener.incoming())
}

/// Answers each connection `incoming` yields, one after the other.
fn serve(incoming: impl Iterator<Item = io::Result<TcpStream>>) -> io::Result<()> {
    for stream in incoming {
        if let Err(error) = stream.and_then(echo::answer_one) {
            eprintln!("connection failed: {error}");
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/04_read_request.rs"]
mod tests;
