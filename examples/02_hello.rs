//! Step 02: answer. The smallest honest HTTP/1.0 server (RFC 1945), where
//! httpdb started.
//!
//! Step 01 never answered, so its clients waited forever. This one answers
//! every request the same way, one connection at a time:
//! 1. `accept` waits for a client to connect;
//! 2. read the request line and the header lines, up to the empty line that
//!    ends them (RFC 1945 §5);
//! 3. write a status line, a few headers, an empty line and the body
//!    (RFC 1945 §6), every line ending in CRLF;
//! 4. close the connection.
//!
//! `Content-Length` tells the client how long the body is (RFC 1945 §10.4),
//! so it knows the response is complete without waiting for the close; a
//! response without it only ends when the connection does.
//!
//! The bug this step leaves for the next: it answers without looking at
//! the request. `GET /anything`, `DELETE /`, a line of garbage: all get
//! `200 OK` and the same greeting.
//!
//! Run it: `cargo run --example 02_hello [-- ADDR]` (default 127.0.0.1:8080).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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
        // One bad connection must not stop the server: report it and go on.
        if let Err(error) = stream.and_then(answer) {
            eprintln!("connection failed: {error}");
        }
    }
    Ok(())
}

fn answer(stream: TcpStream) -> io::Result<()> {
    // Without a timeout, a client that connects and says nothing would
    // block this single-threaded server forever.
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Reading at most 64 KiB keeps a client that never sends a newline from
    // filling memory.
    let mut reader = BufReader::new((&stream).take(64 * 1024));

    // Read the head, line by line, up to the empty line, and ignore it.
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }

    let body = "Hello, world!\n";
    let response = format!(
        "HTTP/1.0 200 OK\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\
         \r\n\
         {body}",
        body.len()
    );
    (&stream).write_all(response.as_bytes())
}

#[cfg(test)]
#[path = "tests/02_hello.rs"]
mod tests;
