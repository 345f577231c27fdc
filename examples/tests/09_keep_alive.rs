//! Step 09's tests: requests follow one another on one connection, in
//! order, with the rules of RFC 9112 §9.3; the `BufReader` trap; idle
//! connections closed at their timeout; and the bug: idle connections still
//! hold the workers until then.

#[path = "support.rs"]
mod support;

use std::io::{self, BufReader};
use std::net::TcpStream;
use std::time::Duration;

use httpdb::client::{Client, Response};

use super::connection::{self, Timeouts};
use super::request::read_request;
use super::response::write_response;
use super::{echo, pool};
use pool::ThreadPool;
use support::{PATIENCE, Server, assert_unanswered};

fn start_with(connections: usize, workers: usize, idle: Duration) -> Server {
    let timeouts = Timeouts {
        request: Duration::from_secs(5),
        idle,
    };
    support::start(connections, move |incoming| {
        connection::serve(incoming, ThreadPool::new(workers), timeouts, echo::describe)
    })
}

fn start(connections: usize) -> Server {
    start_with(connections, 2, Duration::from_secs(5))
}

fn next(client: &mut Client) -> Response {
    client.read_response(false).unwrap()
}

/// Step 08's bug fixed: three requests in one write, three answers in
/// order, and the connection stays open until the last says `close`.
#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(1);
    let mut client = server.client();
    client
        .send_raw(
            b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\
              POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
              GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    for request_line in ["GET /1 HTTP/1.1\n", "POST /2 HTTP/1.1\n"] {
        let response = next(&mut client);
        assert!(
            response.text().starts_with(request_line) && !response.closes(),
            "{response:?}"
        );
    }
    let last = next(&mut client);
    assert!(
        last.text().starts_with("GET /3 HTTP/1.1\n") && last.closes(),
        "{last:?}"
    );
    assert!(client.is_closed());
    drop(client);
    server.finish();
}

/// HTTP/1.0 closes unless the client asks to keep the connection, and then
/// the server says `Connection: keep-alive` back (RFC 9112 §9.3).
#[test]
fn http_1_0_keeps_the_connection_only_when_asked() {
    let server = start(2);
    let mut asked = server.client();
    asked
        .send_raw(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
        .unwrap();
    let first = next(&mut asked);
    assert_eq!(first.header("connection"), Some("keep-alive"));
    let second = next(&mut asked);
    assert!(
        second.text().starts_with("GET /b HTTP/1.0\n") && second.closes(),
        "{second:?}"
    );
    assert!(asked.is_closed());
    let mut plain = server.client();
    plain.send_raw(b"GET /c HTTP/1.0\r\n\r\n").unwrap();
    assert!(next(&mut plain).closes());
    assert!(plain.is_closed());
    drop((asked, plain));
    server.finish();
}

/// The trap: a new `BufReader` for each request. The first one read both
/// requests into its buffer, and dropped the second with it; the server
/// then waits for a request the client has already sent.
fn serve_with_a_reader_per_request(stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(PATIENCE))?;
    loop {
        let mut reader = BufReader::new(&stream);
        let Ok(Some(request)) = read_request(&mut reader) else {
            return Ok(());
        };
        write_response(&mut &stream, &echo::describe(&request))?;
    }
}

#[test]
fn a_reader_per_request_loses_pipelined_requests() {
    let server = support::start(1, |incoming| {
        pool::serve(
            incoming,
            ThreadPool::new(1),
            serve_with_a_reader_per_request,
        )
    });
    let mut client = server.client();
    client
        .send_raw(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert!(next(&mut client).text().starts_with("GET /1 HTTP/1.1\n"));
    assert!(client.buffered().is_empty());
    assert_unanswered(client.stream());
    drop(client);
    server.finish();
}

/// A connection that stays idle past its timeout is closed quietly.
#[test]
fn an_idle_connection_is_closed_at_its_timeout() {
    let server = start_with(1, 1, Duration::from_millis(200));
    let mut client = server.client();
    client
        .send_raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert!(!next(&mut client).closes());
    assert!(client.is_closed(), "still open after the idle timeout");
    drop(client);
    server.finish();
}

/// The bug: between requests a keep-alive connection holds its worker. As
/// many idle keep-alive clients as workers, and the next client waits
/// until one of them leaves, or its idle timeout ends.
#[test]
fn idle_keep_alive_connections_hold_the_workers() {
    let server = start_with(3, 2, Duration::from_secs(10));
    let mut idle: Vec<Client> = (0..2).map(|_| server.client()).collect();
    for client in &mut idle {
        client
            .send_raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        assert!(!next(client).closes());
    }
    let mut other = server.client();
    other
        .send_raw(b"GET /other HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_unanswered(other.stream());
    idle.pop();
    assert!(next(&mut other).text().starts_with("GET /other HTTP/1.1\n"));
    drop((idle, other));
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("09_keep_alive", |connections| {
        start_with(connections, super::WORKERS, super::TIMEOUTS.idle)
    });
}
