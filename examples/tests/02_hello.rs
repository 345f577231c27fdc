//! Step 02's tests: the exact bytes of its answer, and that it is the same
//! answer whatever the request.

#[path = "support.rs"]
mod support;

use super::serve;
use support::Server;

fn start(connections: usize) -> Server {
    support::start(connections, serve)
}

const HELLO: &str =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";

/// Step 01's bug fixed: a status line, headers, an empty line and a body
/// whose length Content-Length gives; then the server closes.
#[test]
fn it_answers_and_closes() {
    let server = start(1);
    assert_eq!(server.exchange(b"GET / HTTP/1.0\r\n\r\n"), HELLO);
    server.finish();
}

/// The bug: the request is read and thrown away, so a key that does not
/// exist, a method it does not know and a line of garbage all get 200.
#[test]
fn it_answers_the_same_whatever_is_asked() {
    let server = start(3);
    assert_eq!(
        server.exchange(b"GET /no/such/thing HTTP/1.1\r\nHost: x\r\n\r\n"),
        HELLO
    );
    assert_eq!(
        server.exchange(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"),
        HELLO
    );
    assert_eq!(server.exchange(b"this is not HTTP\r\n\r\n"), HELLO);
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("02_hello", start);
}
