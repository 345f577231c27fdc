//! Step 05's tests: a silent client no longer holds anyone up, because
//! every connection gets a thread of its own, as many as there are.

#[path = "support.rs"]
mod support;

use super::serve;
use support::{Server, assert_answered, assert_unanswered, send};

fn start(connections: usize) -> Server {
    support::start(connections, serve)
}

/// `silent` clients connect and say nothing; one more asks, and is
/// answered, each connection on a thread of its own.
fn answered_beside_silent_clients(silent: usize) {
    let server = start(silent + 1);
    let silent: Vec<_> = (0..silent).map(|_| server.connect()).collect();
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    assert_answered(&other);
    // Answered while the first silent client still holds its own thread.
    assert_unanswered(&silent[0]);
    drop((silent, other));
    server.finish();
}

/// Step 04's bug fixed: the silent client's thread waits; the other
/// client's thread answers.
#[test]
fn a_silent_client_holds_up_no_one() {
    answered_beside_silent_clients(1);
}

/// The bug: nothing bounds the threads. Sixty-four silent clients hold
/// sixty-four threads, and the next client gets a sixty-fifth; make it ten
/// thousand and the system runs out.
#[test]
fn every_connection_gets_a_thread_however_many_there_are() {
    answered_beside_silent_clients(64);
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("05_threads", start);
}
