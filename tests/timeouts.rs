//! Timeouts: a deadline for the whole request head and for the body (408,
//! then close), and a quiet close for idle connections.
//!
//! The slow clients here really are slow: they send a byte at a time with
//! pauses, because that is the behaviour under test. The server is given
//! short timeouts so the tests take a fraction of a second.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, TestServer};

const READ_TIMEOUT: Duration = Duration::from_millis(400);
const IDLE_TIMEOUT: Duration = Duration::from_millis(300);

fn server() -> TestServer {
    TestServer::start_with(
        |options| {
            options.read_timeout = READ_TIMEOUT;
            options.idle_timeout = IDLE_TIMEOUT;
        },
        None,
    )
}

/// Writes `bytes` one at a time, `pause` apart, on its own thread, until
/// they are all sent or the server stops accepting them. A per-read timeout
/// would never fire against this client, since no pause is as long as it.
fn trickle(stream: &TcpStream, bytes: &'static [u8], pause: Duration) -> thread::JoinHandle<()> {
    let mut stream = stream.try_clone().expect("clone");
    thread::spawn(move || {
        for byte in bytes {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(pause);
        }
    })
}

#[test]
fn a_head_trickled_in_slower_than_the_deadline_gets_408_and_a_close() {
    let server = server();
    let mut client = server.connect();
    let started = Instant::now();
    // 60 bytes at 25 ms is 1.5 s, well past the 400 ms deadline; every pause
    // is far shorter than the deadline.
    let writer = trickle(
        client.stream(),
        b"GET /slow HTTP/1.1\r\nHost: test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n",
        Duration::from_millis(25),
    );
    let response = client.response();
    let waited = started.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    assert!(response.closes());
    assert!(response.problem_detail().contains("in time"));
    assert!(waited >= READ_TIMEOUT, "answered after {waited:?}");
    assert!(client.is_closed());
    writer.join().expect("writer");
    // The server is still there for everyone else.
    assert_eq!(server.request("GET", "/_health", &[], None).status, 200);
}

#[test]
fn a_body_trickled_in_slower_than_the_deadline_gets_408() {
    let server = server();
    let mut client = server.connect();
    client.send(b"PUT /slow-body HTTP/1.1\r\nHost: test\r\nContent-Length: 40\r\n\r\nab");
    let writer = trickle(
        client.stream(),
        b"cdefghijklmnopqrstuvwxyz0123456789",
        Duration::from_millis(25),
    );
    let response = client.response();
    assert_eq!(response.status, 408, "{response:?}");
    assert!(response.closes());
    assert!(client.is_closed());
    writer.join().expect("writer");
    assert!(
        server.store.get("/slow-body").is_none(),
        "a partial body must not be stored"
    );
}

#[test]
fn a_chunked_body_trickled_in_slower_than_the_deadline_gets_408() {
    let server = server();
    let mut client = server.connect();
    client.send(b"PUT /slow-chunks HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    let writer = trickle(
        client.stream(),
        b"1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n1\r\nf\r\n1\r\ng\r\n0\r\n\r\n",
        Duration::from_millis(25),
    );
    let response = client.response();
    assert_eq!(response.status, 408, "{response:?}");
    writer.join().expect("writer");
    assert!(server.store.get("/slow-chunks").is_none());
}

#[test]
fn a_request_that_arrives_in_pieces_within_the_deadline_is_served() {
    let server = server();
    let mut client = server.connect();
    let writer = trickle(
        client.stream(),
        b"PUT /pieces HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok",
        Duration::from_millis(1),
    );
    let response = client.response();
    writer.join().expect("writer");
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(&*server.store.get("/pieces").expect("stored").value, b"ok");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_quietly() {
    let server = server();
    let mut client = server.connect();
    let response = client.request("GET", "/_health", &[], None);
    assert_eq!(response.status, 200);
    assert!(!response.closes());
    let started = Instant::now();
    // No 408 and no other bytes: just the end of the stream.
    assert!(
        client.is_closed(),
        "the idle connection must be closed without a response"
    );
    assert!(started.elapsed() >= IDLE_TIMEOUT - Duration::from_millis(50));
}

#[test]
fn a_connection_that_never_sends_anything_is_closed_quietly() {
    let server = server();
    let mut client = server.connect();
    assert!(client.is_closed());
}

#[test]
fn a_connection_that_keeps_sending_within_the_idle_timeout_stays_open() {
    let server = server();
    let mut client = server.connect();
    for _ in 0..4 {
        assert_eq!(client.request("GET", "/_health", &[], None).status, 200);
        // Shorter than the idle timeout: the connection must still be there.
        thread::sleep(IDLE_TIMEOUT / 3);
    }
    assert_eq!(client.request("GET", "/_health", &[], None).status, 200);
}

#[test]
fn timeouts_do_not_outlive_their_request() {
    // A keep-alive connection whose requests each arrive promptly is never
    // cut off, however long the connection as a whole lives.
    let server = server();
    let mut client = Client::connect(server.addr());
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < READ_TIMEOUT * 2 && served < 10_000 {
        let response = client.request("PUT", "/busy", &[], Some(b"x"));
        assert!(matches!(response.status, 200 | 201), "{response:?}");
        served += 1;
    }
    assert!(served > 1);
}
