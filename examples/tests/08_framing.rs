//! Step 08's tests: every framing rule, and `100 Continue`. And the bug:
//! one request per connection, so a second request sent at once is lost.

#[path = "support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use super::answer;
use super::pool::{self, ThreadPool};
use support::{Server, read_to_close, send, text};

fn start(connections: usize) -> Server {
    support::start(connections, |incoming| {
        pool::serve(incoming, ThreadPool::new(2), |stream| {
            answer(stream, Duration::from_secs(5))
        })
    })
}

/// Step 07's bug fixed: the chunks are the body. Extensions after `;` and
/// a trailer field are read and dropped (RFC 9112 §7.1.1, §7.1.2).
#[test]
fn a_chunked_body_is_read() {
    let server = start(1);
    let answer = server.exchange(
        b"POST /k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;note=x\r\nhello\r\n6\r\n world\r\n0\r\nChecksum: 1\r\n\r\n",
    );
    assert!(
        answer.ends_with("body, 11 bytes: hello world\n"),
        "{answer}"
    );
    server.finish();
}

/// Whatever leaves the length unclear, or missing where a body is due, is
/// refused before a byte of the body is read.
#[test]
fn unclear_framing_is_refused() {
    let cases: [(&[u8], &str); 8] = [
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "400"),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", "501"),
        (b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", "411"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nHost: h\r\nExpect: the-moon\r\nContent-Length: 1\r\n\r\nx", "417"),
    ];
    let server = start(cases.len());
    server.assert_statuses(&cases);
    server.finish();
}

/// A client that sends `Expect: 100-continue` holds its body back until
/// the server says `100 Continue`; then it gets the final answer.
#[test]
fn a_client_that_expects_100_continue_is_told_to_go_on() {
    let server = start(1);
    let stream = server.connect();
    send(
        &stream,
        b"PUT /k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let mut reader = BufReader::new(&stream);
    let mut interim = String::new();
    while !interim.ends_with("\r\n\r\n") {
        assert_ne!(
            reader.read_line(&mut interim).unwrap(),
            0,
            "closed: {interim}"
        );
    }
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    send(&stream, b"hello");
    let answer = text(&read_to_close(&stream));
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("body, 5 bytes: hello\n"),
        "{answer}"
    );
    drop(reader);
    drop(stream);
    server.finish();
}

/// The bug: one request per connection. Two requests sent at once get one
/// answer, and the connection closes.
#[test]
fn a_second_request_on_the_connection_is_not_answered() {
    let server = start(1);
    let answer =
        server.exchange(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(support::responses(&answer), 1, "{answer}");
    assert!(
        answer.contains("GET /1 HTTP/1.1\n") && answer.contains("\r\nConnection: close\r\n"),
        "{answer}"
    );
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("08_framing", start);
}
