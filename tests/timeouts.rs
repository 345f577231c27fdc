//! Timeouts, as the README's "Limits and protections" gives them: a
//! deadline for the whole request head and then for the whole body (408,
//! then close), one for the whole response (a client that reads too slowly
//! loses its connection, not a worker), and a quiet close for idle
//! keep-alive connections (RFC 9112 §9.5).
//!
//! The slow clients here really are slow: they send a byte at a time with
//! pauses, because that is the behaviour under test. The server is given
//! timeouts of a few hundred milliseconds, so the tests take seconds rather
//! than the minutes the defaults would cost.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{BodyChecks, Talk, TestServer, assert_closes};

const READ_TIMEOUT: Duration = Duration::from_millis(400);
const IDLE_TIMEOUT: Duration = Duration::from_millis(300);
/// How much earlier than asked a wait may end, as the two clocks see it.
const TIMER_SLACK: Duration = Duration::from_millis(50);

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
    // Every byte comes far sooner than the deadline; the head as a whole,
    // a byte every 25 ms, far later.
    let head = b"GET /slow HTTP/1.1\r\nHost: test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    assert!(Duration::from_millis(25) * head.len() as u32 > READ_TIMEOUT * 2);
    let writer = trickle(client.stream(), head, Duration::from_millis(25));
    let response = client.response();
    let waited = started.elapsed();
    assert_eq!(response.status(), 408, "{response:?}");
    assert!(response.problem_detail().contains("in time"));
    assert!(waited >= READ_TIMEOUT, "answered after {waited:?}");
    assert_closes(&mut client, &response, "408");
    writer.join().expect("writer");
    // The server is still there for everyone else.
    assert_eq!(server.request("GET", "/_health", &[], None).status(), 200);
}

/// Sends `head` at once and trickles `body` after it, a byte every 25 ms:
/// the body as a whole arrives later than the deadline, each byte sooner.
/// Checks the 408, the close, and that nothing was stored under `key`.
fn trickled_body_gets_408(head: &[u8], body: &'static [u8], key: &str) {
    assert!(Duration::from_millis(25) * body.len() as u32 > READ_TIMEOUT);
    let server = server();
    let mut client = server.connect();
    client.send_bytes(head);
    let writer = trickle(client.stream(), body, Duration::from_millis(25));
    let response = client.response();
    assert_eq!(response.status(), 408, "{response:?}");
    assert_closes(&mut client, &response, "408");
    writer.join().expect("writer");
    assert!(
        server.store.get(key).expect("readable").is_none(),
        "a partial body must not be stored"
    );
}

#[test]
fn a_body_trickled_in_slower_than_the_deadline_gets_408() {
    trickled_body_gets_408(
        b"PUT /slow-body HTTP/1.1\r\nHost: test\r\nContent-Length: 40\r\n\r\nab",
        b"cdefghijklmnopqrstuvwxyz0123456789",
        "/slow-body",
    );
}

#[test]
fn a_chunked_body_trickled_in_slower_than_the_deadline_gets_408() {
    trickled_body_gets_408(
        b"PUT /slow-chunks HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n1\r\nf\r\n1\r\ng\r\n0\r\n\r\n",
        "/slow-chunks",
    );
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
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(
        &*server
            .store
            .get("/pieces")
            .expect("readable")
            .expect("stored")
            .value,
        b"ok"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_quietly() {
    let server = server();
    let mut client = server.connect();
    let response = client.request("GET", "/_health", &[], None);
    assert_eq!(response.status(), 200);
    assert!(!response.closes());
    let started = Instant::now();
    // No 408 and no other bytes: just the end of the stream.
    assert!(
        client.is_closed(),
        "the idle connection must be closed without a response"
    );
    // The server's wait began as it sent the response, a moment before the
    // test's clock started.
    let waited = started.elapsed();
    assert!(
        waited >= IDLE_TIMEOUT - TIMER_SLACK,
        "closed after {waited:?}"
    );
}

#[test]
fn a_connection_that_never_sends_anything_is_closed_quietly() {
    let server = server();
    let started = Instant::now();
    let mut client = server.connect();
    // No 408 and no other bytes, and not before the idle timeout (less the
    // tick by which a kernel timer may end a socket's wait early).
    assert!(client.is_closed(), "closed without a response");
    let waited = started.elapsed();
    assert!(
        waited >= IDLE_TIMEOUT - TIMER_SLACK,
        "closed after {waited:?}"
    );
}

#[test]
fn a_connection_that_keeps_sending_within_the_idle_timeout_stays_open() {
    let server = server();
    let mut client = server.connect();
    // Four pauses of a third of the idle timeout each: the connection
    // lives longer than the idle timeout, but is never idle that long.
    for _ in 0..4 {
        let response = client.request("GET", "/_health", &[], None);
        assert_eq!(response.status(), 200);
        assert!(!response.closes(), "{response:?}");
        thread::sleep(IDLE_TIMEOUT / 3);
    }
    assert_eq!(client.request("GET", "/_health", &[], None).status(), 200);
}

#[test]
fn timeouts_do_not_outlive_their_request() {
    // A keep-alive connection whose requests each arrive promptly is never
    // cut off, however long the connection as a whole lives: here, more
    // than two read deadlines, on one connection. Each body is sent only
    // after the server's `100 Continue`, so the server is sure to read it
    // from the socket, under the deadline of its own request (a request
    // that arrives whole is read from the buffer, deadline or not).
    let server = server();
    let mut client = server.connect();
    let started = Instant::now();
    let lifetime = READ_TIMEOUT * 2;
    let mut served = 0;
    // Bounded in time, and in count far beyond what that time allows.
    while started.elapsed() <= lifetime && served < 1_000_000 {
        client.send_bytes(
            b"PUT /busy HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        );
        assert_eq!(client.response().status(), 100);
        client.send_bytes(b"x");
        let response = client.response();
        assert!(matches!(response.status(), 200 | 201), "{response:?}");
        assert!(!response.closes(), "{response:?}");
        served += 1;
    }
    assert!(
        started.elapsed() > lifetime,
        "{served} requests ran out before the connection outlived two deadlines"
    );
}

#[test]
fn a_client_that_reads_a_response_too_slowly_does_not_keep_the_worker() {
    // One worker. 16 MiB must be taken within the read timeout plus 16 MiB
    // at 64 MiB/s: about 0.65 s. The slow client reads 4 KiB every 10 ms, so
    // every single write makes progress and a per-write timeout never fires.
    let server = TestServer::start_with(
        |options| {
            options.threads = 1;
            options.read_timeout = READ_TIMEOUT;
            options.min_send_rate = 64 << 20;
        },
        None,
    );
    let value = vec![b'v'; 16 << 20];
    assert_eq!(
        server.request("PUT", "/big", &[], Some(&value)).status(),
        201
    );
    // A client that reads at full speed gets all of it in time.
    assert_eq!(
        server.request("GET", "/big", &[], None).body.len(),
        value.len()
    );

    let mut slow = server.connect();
    slow.send_bytes(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| {
            let mut chunk = [0u8; 4096];
            // Bounded: at most 20 s of reading.
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match slow.stream().read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        // The only worker is writing to the slow client; this request is
        // answered only once the response deadline has freed it.
        let response = server.request("GET", "/_health", &[], None);
        stop.store(true, Ordering::Relaxed);
        assert_eq!(response.status(), 200);
    });
}

#[test]
fn an_extra_crlf_after_a_body_counts_as_idle_time() {
    // Some old clients send CRLF after a POST body (RFC 9112 §2.2); that must
    // not start a request whose head then times out with 408.
    let server = server();
    let mut client = server.connect();
    client.send_bytes(b"POST /crlf HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nX\r\n");
    assert_eq!(client.response().status(), 201);
    assert!(
        client.is_closed(),
        "closed quietly after the idle timeout, with no 408"
    );
    // And the CRLF before a next request is simply skipped.
    let mut client = server.connect();
    client.send_bytes(b"POST /crlf HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nY\r\n");
    assert_eq!(client.response().status(), 200);
    client.send_bytes(b"GET /crlf HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().body, b"Y");
}
