//! Step 07's tests: a read timeout does not stop a client that trickles;
//! a deadline does. And the bug: a chunked body is taken for no body.

#[path = "support.rs"]
mod support;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{answer, echo, pool, request};
use pool::ThreadPool;
use support::{Server, assert_answered, read_to_close, send, text};

/// One worker, so a client that holds it holds up everyone.
fn start_with(connections: usize, deadline: Duration) -> Server {
    support::start(connections, move |incoming| {
        pool::serve(incoming, ThreadPool::new(1), move |stream| {
            answer(stream, deadline)
        })
    })
}

/// A client that starts a request and then sends one more byte of a header
/// every 10 ms, until told to stop (or 10 seconds pass).
struct Trickle {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    sender: JoinHandle<()>,
}

impl Trickle {
    fn start(server: &Server) -> Trickle {
        let stream = server.connect();
        send(&stream, b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ");
        let stop = Arc::new(AtomicBool::new(false));
        let (mut writer, stopped) = (stream.try_clone().unwrap(), Arc::clone(&stop));
        let sender = thread::spawn(move || {
            for _ in 0..1000 {
                if stopped.load(Ordering::Relaxed) || writer.write_all(b"a").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
        });
        Trickle {
            stream,
            stop,
            sender,
        }
    }

    fn stop(self) -> TcpStream {
        self.stop.store(true, Ordering::Relaxed);
        self.sender.join().unwrap();
        self.stream
    }
}

/// The trap step 06 fell into, as a listing: a timeout on each read. The
/// client never waits 250 ms between bytes, so the timeout never trips.
fn answer_with_a_read_timeout(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_millis(250)))?;
    echo::answer(&stream, request::read_request(&mut BufReader::new(&stream)))
}

#[test]
fn a_read_timeout_does_not_stop_a_trickle() {
    let server = support::start(2, |incoming| {
        pool::serve(incoming, ThreadPool::new(1), answer_with_a_read_timeout)
    });
    let trickle = Trickle::start(&server);
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    // Four times the read timeout, and the trickle still holds the worker.
    support::assert_unanswered_for(&other, Duration::from_millis(1000));
    drop(trickle.stop());
    assert_answered(&other);
    drop(other);
    server.finish();
}

/// Step 06's bug fixed: the whole request has 300 ms. The trickling client
/// gets 408 when they are up, and the worker moves on to the next client.
#[test]
fn a_deadline_stops_a_trickle() {
    let server = start_with(2, Duration::from_millis(300));
    let trickle = Trickle::start(&server);
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    let refused = text(&read_to_close(&trickle.stream));
    assert!(
        refused.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{refused}"
    );
    assert_answered(&other);
    drop((trickle.stop(), other));
    server.finish();
}

/// The bug: without Content-Length the body is taken to be empty, and the
/// chunks the client sent are never read as a body.
#[test]
fn a_chunked_body_is_taken_for_no_body() {
    let server = start_with(1, Duration::from_secs(5));
    let answer = server.exchange(
        b"POST /k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert!(answer.ends_with("body, 0 bytes: \n"), "{answer}");
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("07_deadline", |connections| {
        start_with(connections, super::DEADLINE)
    });
}
