//! The smallest honest HTTP/1.0 server (RFC 1945): where httpdb started.
//!
//! Run it with `cargo run --example hello`, then try `curl -i localhost:8080/`.
//!
//! One thread, one connection at a time:
//! 1. `accept` waits for a client to connect;
//! 2. read the request line and the header lines, up to the empty line that
//!    ends them (RFC 1945 §5);
//! 3. write a status line, a few headers, an empty line and the body
//!    (RFC 1945 §6);
//! 4. close the connection, which in HTTP/1.0 tells the client the response
//!    is complete.
//!
//! Everything httpdb adds — a pool of threads, keep-alive, request bodies,
//! limits and timeouts — is there to make these four steps safe when many
//! clients, some of them hostile, arrive at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:8080")?;
    println!("listening on http://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        // One bad connection must not stop the server: report it and go on.
        if let Err(error) = stream.and_then(answer) {
            eprintln!("connection failed: {error}");
        }
    }
    Ok(())
}

fn answer(stream: TcpStream) -> std::io::Result<()> {
    // Without a timeout, a client that connects and says nothing would
    // block this single-threaded server forever.
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Reading at most 64 KiB keeps a client that never sends a newline from
    // filling memory.
    let mut reader = BufReader::new((&stream).take(64 * 1024));

    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    println!("{}", request_line.trim_end());
    // Skip the header lines; this server needs none of them.
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
