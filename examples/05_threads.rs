//! Step 05: a thread for each connection.
//!
//! Step 04 served one connection at a time, so one client that connected
//! and said nothing held up every other. Here each accepted connection gets
//! a thread of its own (`std::thread::spawn`), and the accept loop goes
//! straight back to `accept`. A blocking `read` now blocks only the thread
//! of the connection it waits on.
//!
//! The bug this step leaves for the next: nothing bounds the threads. Every
//! connection, busy or idle, costs a thread for as long as it is open, with
//! a stack reserved for it (2 MiB by default for Rust's threads). Ten
//! thousand idle connections are ten thousand threads; at some point the
//! system refuses to start another and `thread::spawn` panics, taking the
//! accept loop with it.
//!
//! Run it: `cargo run --example 05_threads [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/echo.rs"]
mod echo;
#[path = "parts/request.rs"]
mod request;
#[path = "parts/response.rs"]
mod response;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener.incoming())
}

/// Starts a thread for each connection `incoming` yields. The threads are
/// not waited for: each ends when its connection does.
fn serve(incoming: impl Iterator<Item = io::Result<TcpStream>>) -> io::Result<()> {
    for stream in incoming {
        match stream {
            // `move` hands the connection to the new thread, which owns it.
            Ok(stream) => {
                thread::spawn(move || {
                    if let Err(error) = echo::answer_one(stream) {
                        eprintln!("connection failed: {error}");
                    }
                });
            }
            // A failed accept (say, out of file descriptors) is not the end
            // of the server: the next one may succeed.
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/05_threads.rs"]
mod tests;
