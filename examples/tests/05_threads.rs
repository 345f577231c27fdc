//! Step 05's tests: a silent client no longer holds anyone up, because
//! every connection gets a thread of its own, as many as there are.

#[path = "support.rs"]
mod support;

use super::serve;
use support::{Server, read_to_close, send, text};

fn start(connections: usize) -> Server {
    support::start(connections, serve)
}

/// Step 04's bug fixed: the silent client's thread waits; the other
/// client's thread answers.
#[test]
fn a_silent_client_holds_up_no_one() {
    let server = start(2);
    let silent = server.connect();
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    assert!(text(&read_to_close(&other)).starts_with("HTTP/1.1 200 OK\r\n"));
    drop((silent, other));
    server.finish();
}

/// The bug: nothing bounds the threads. Sixty-four silent clients hold
/// sixty-four threads, and the next client gets a sixty-fifth; make it ten
/// thousand and the system runs out.
#[test]
fn every_connection_gets_a_thread_however_many_there_are() {
    let server = start(65);
    let silent: Vec<_> = (0..64).map(|_| server.connect()).collect();
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    assert!(text(&read_to_close(&other)).starts_with("HTTP/1.1 200 OK\r\n"));
    drop((silent, other));
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("05_threads", start);
}
