//! Step 01's tests: what the server prints, and that it never answers.

#[path = "support.rs"]
mod support;

use std::net::Shutdown;

use super::serve;
use support::{Server, read_to_close, send, start_printing};

fn start(connections: usize) -> Server {
    start_printing(connections, serve)
}

/// The bug: a complete request, and then nothing. The client even says it
/// has finished sending (a half-close), and the server still does not
/// answer; it closes.
#[test]
fn it_reads_a_whole_request_and_never_answers() {
    let server = start(1);
    let stream = server.connect();
    send(&stream, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&stream), b"", "step 01 answered");
    let printed = server.finish();
    assert!(
        printed.contains("  GET / HTTP/1.1\\r\\n\n  Host: localhost\\r\\n\n  \\r\\n\n"),
        "{printed}"
    );
}

/// One server, one connection at a time: the second connection is not
/// even looked at until the first one closes, and a connection that sends
/// nothing (a browser's spare one) shows up as just that.
#[test]
fn connections_are_taken_one_at_a_time() {
    let server = start(2);
    let first = server.connect();
    let spare = server.connect();
    send(&first, b"GET / HTTP/1.1\r\n");
    send(&first, b"Host: localhost\r\n\r\n");
    drop(first);
    drop(spare);
    let printed = server.finish();
    let second = printed
        .find("connection 2 opened")
        .expect("the second connection");
    assert!(
        printed[..second].contains("connection 1 closed"),
        "{printed}"
    );
    assert!(
        printed[second..].ends_with("connection 2 opened\nconnection 2 closed\n"),
        "{printed}"
    );
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("01_accept", start);
}
