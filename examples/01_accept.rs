//! Step 01: accept connections and look at what arrives.
//!
//! A server is a listening socket. `accept` waits for a client to connect and
//! returns the connection, a `TcpStream`: two byte streams, one each way.
//! HTTP/1.x is text on those streams (RFC 9112 §2.1): a request line, header
//! lines, an empty line, and perhaps a body.
//!
//! This server prints what each connection sends, line by line, with the
//! line endings shown (`\r\n`), and never answers. Point a browser at it:
//! the page never loads. When you give up, the next connection shows up,
//! and it sends nothing at all: browsers open a spare connection ahead of
//! the next request, and one server that serves one connection at a time is
//! stuck on it.
//!
//! The bug this step leaves for the next: it never answers, so every client
//! waits forever.
//!
//! Run it: `cargo run --example 01_accept [-- ADDR]` (default 127.0.0.1:8080).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener.incoming(), &mut io::stdout())
}

/// Takes each connection that `incoming` yields, one at a time, and prints
/// to `out` what it sends until it closes. `main` passes every connection
/// the listener accepts; a test passes only the few it makes, so the server
/// stops when they are done.
fn serve(
    incoming: impl Iterator<Item = io::Result<TcpStream>>,
    out: &mut impl Write,
) -> io::Result<()> {
    for (number, stream) in (1..).zip(incoming) {
        writeln!(out, "connection {number} opened")?;
        // A failed connection must not stop the server: report it, go on.
        if let Err(error) = stream.and_then(|stream| show(stream, number, out)) {
            writeln!(out, "connection {number} failed: {error}")?;
        }
        writeln!(out, "connection {number} closed")?;
    }
    Ok(())
}

/// Prints what arrives on `stream` until the client closes its side.
fn show(mut stream: TcpStream, number: u32, out: &mut impl Write) -> io::Result<()> {
    let mut buffer = [0; 1024];
    loop {
        // `read` waits until some bytes arrive and says how many; 0 means
        // the client closed its side. How many come at once is up to the
        // network: one request may take several reads, or one read may
        // hold more than one request.
        let received = stream.read(&mut buffer)?;
        if received == 0 {
            return Ok(());
        }
        writeln!(out, "connection {number} sent {received} bytes:")?;
        for line in buffer[..received].split_inclusive(|&byte| byte == b'\n') {
            writeln!(out, "  {}", line.escape_ascii())?;
        }
    }
}

#[cfg(test)]
#[path = "tests/01_accept.rs"]
mod tests;
