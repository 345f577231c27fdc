//! Hostile and broken clients, many at once: garbage, half requests,
//! endless headers, slow trickles, resets. None of it may crash the server,
//! stall it for others, or change stored data; running out of file
//! descriptors must not stop the accept loop; and request bodies, announced
//! or arriving, take no more memory than the budget the README's "Limits
//! and protections" gives them.

mod common;

use std::io::Read;
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::process::Process;
use common::{
    BodyChecks, Client, Noise, Reconnecting, Request, TLS_CLIENT_HELLO, Talk, TestServer,
};
use httpdb::http::body::BODY_PIECE;

/// One kind of misbehaviour, sent on a fresh connection. Every kind but the
/// last gets a 4xx response (from 400 for garbage to 408 for a request that
/// never ends, 414 and 431); the last sends nothing and gets nothing.
const KINDS: usize = 8;

fn misbehave(server: &TestServer, kind: usize, seed: u64) {
    let mut client = server.connect();
    match kind {
        0 => client.send_bytes(&Noise::new(seed).bytes(512)),
        1 => client.send_bytes(TLS_CLIENT_HELLO),
        2 => client.send_bytes(b"PUT /seed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it"),
        3 => client.send_bytes(format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000)).as_bytes()),
        4 => {
            client.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ");
            client.send_bytes(&vec![b'z'; 100_000]);
        }
        5 => client.send_bytes(b"PUT /seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"),
        6 => client.send_bytes(b"PUT /seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        _ => {} // connect and vanish
    }
    // Half of them leave without reading; the others read whatever comes,
    // until the server closes.
    if kind.is_multiple_of(2) {
        let mut sink = Vec::new();
        let _ = client.stream().read_to_end(&mut sink);
    }
}

#[test]
fn many_garbage_connections_leave_the_data_intact_and_the_server_answering() {
    const THREADS: usize = 8;
    const EACH: usize = 40;
    const GOOD_REQUESTS: u64 = 50;
    let server = TestServer::start_with(
        |options| {
            options.threads = 16;
            // Short, so the requests that never end are answered soon.
            options.read_timeout = Duration::from_millis(100);
            options.idle_timeout = Duration::from_millis(100);
        },
        None,
    );
    let seed = server.request(
        "PUT",
        "/seed",
        &[("Content-Type", "text/plain")],
        Some(b"original"),
    );
    assert_eq!(seed.status(), 201);
    let seeded = server.store.stats().last_revision;
    thread::scope(|scope| {
        for thread in 0..THREADS {
            let server = &server;
            scope.spawn(move || {
                for i in 0..EACH {
                    misbehave(server, (thread + i) % KINDS, (thread * 1000 + i) as u64);
                }
            });
        }
        // Meanwhile, a well-behaved client is served throughout.
        let mut client = Reconnecting::new(server.addr());
        for _ in 0..GOOD_REQUESTS {
            assert_eq!(client.request("GET", "/seed", None).body, b"original");
        }
    });
    let entry = server
        .store
        .get("/seed")
        .expect("readable")
        .expect("the seed survives");
    assert_eq!(&*entry.value, b"original");
    assert_eq!(entry.revision, seeded, "no garbage became a write");
    assert_eq!(server.store.stats().last_revision, seeded);
    assert_eq!(server.store.stats().keys, 1);
    // Each kind of misbehaviour but "connect and vanish" came EACH times per
    // KINDS connections, and each got one 4xx; the server may still be
    // answering the last of the clients that left without reading.
    let refused = (THREADS * EACH / KINDS * (KINDS - 1)) as u64;
    server.wait_for_stats("every garbage connection answered", |stats| {
        stats.responses[3] >= refused
    });
    assert_eq!(
        server.stats.snapshot().responses,
        [0, 1 + GOOD_REQUESTS, 0, refused, 0],
        "the seed and the good GETs, and a 4xx for each garbage request"
    );
    assert_eq!(server.request("GET", "/_health", &[], None).status(), 200);
}

#[test]
fn running_out_of_file_descriptors_does_not_stop_the_accept_loop() {
    let mut command = Process::command();
    command.args([
        "--addr",
        "127.0.0.1:0",
        "--in-memory",
        "--quiet",
        "--threads",
        "64",
        "--max-pending",
        "64",
        "--idle-timeout",
        "30",
    ]);
    let server = Process::start(command);
    // Let the running server open at most 32 files.
    let limited = Command::new("prlimit")
        .arg(format!("--pid={}", server.pid()))
        .arg("--nofile=32:32")
        .status()
        .expect("prlimit (util-linux) is needed for this test");
    assert!(limited.success());

    // Hold keep-alive connections until the server cannot accept more.
    let health = || Request::new("GET", "/_health");
    let mut held = Vec::new();
    for _ in 0..24 {
        let mut client = server.connect();
        assert_eq!(client.request("GET", "/_health", &[], None).status(), 200);
        held.push(client);
    }
    // These connect (the kernel completes the handshake) but cannot be
    // accepted yet: accept fails with EMFILE, and the loop backs off.
    let mut waiting: Vec<Client> = (0..10)
        .map(|_| {
            let mut client = server.connect();
            client.send(&health()).expect("send");
            client
        })
        .collect();
    let backed_off = server
        .next_stderr_line()
        .expect("the server reports the failing accept");
    assert!(backed_off.contains("accept failed"), "{backed_off}");
    // Free the descriptors: every waiting client is then served.
    drop(held);
    for client in &mut waiting {
        assert_eq!(client.response().status(), 200);
    }
    assert_eq!(
        server
            .connect()
            .request("GET", "/_health", &[], None)
            .status(),
        200
    );
    server.kill_9();
}

#[test]
fn bodies_beyond_the_memory_budget_wait_their_turn_with_503() {
    let server = TestServer::start_with(
        |options| {
            options.limits.max_body = 1024;
            options.max_body_memory = 2048;
        },
        None,
    );
    // Two uploads in progress hold the whole budget: a body's memory is
    // reserved as its worker starts reading it, a piece at a time.
    let mut uploading: Vec<Client> = (0..2)
        .map(|i| {
            let mut client = server.connect();
            client.send_bytes(
                format!("PUT /up{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n")
                    .as_bytes(),
            );
            client
        })
        .collect();
    server.wait_for_stats("both uploads to hold their bodies' memory", |stats| {
        stats.body_bytes_held == 2048
    });
    // So a third upload is told to come back, chunked or not.
    let response = server.request("PUT", "/third", &[], Some(&[b'x'; 16]));
    assert_eq!(response.status(), 503, "{response:?}");
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(response.problem_detail().contains("try again"));
    let chunked = server.exchange(
        b"PUT /fourth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    );
    assert_eq!(chunked.status(), 503);
    // Requests without a body are not affected.
    assert_eq!(server.request("GET", "/_health", &[], None).status(), 200);
    // Finishing the uploads gives the budget back.
    for (i, client) in uploading.iter_mut().enumerate() {
        client.send_bytes(&[b'y'; 1024]);
        assert_eq!(client.response().status(), 201, "upload {i}");
    }
    assert_eq!(server.stats.snapshot().body_bytes_held, 0);
    assert_eq!(
        server
            .request("PUT", "/third", &[], Some(&[b'x'; 16]))
            .status(),
        201
    );
}

#[test]
fn announcing_a_large_body_holds_no_more_than_one_piece() {
    // Sixteen clients announce 16 MiB each and send nothing. Each worker
    // asks for the first piece of its body before reading it, and no more:
    // together they hold sixteen pieces, not the 256 MiB announced, so
    // small writes go on beside them.
    const ANNOUNCING: u64 = 16;
    let server = TestServer::start_with(
        |options| {
            options.threads = 32;
            options.max_body_memory = 16 << 20;
        },
        None,
    );
    let _announcing: Vec<Client> = (0..ANNOUNCING)
        .map(|i| {
            let mut client = server.connect();
            client.send_bytes(
                format!("PUT /big{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n")
                    .as_bytes(),
            );
            client
        })
        .collect();
    let pieces = ANNOUNCING * BODY_PIECE;
    server.wait_for_stats("each announcing client to hold its piece", |stats| {
        stats.body_bytes_held == pieces
    });
    for i in 0..10 {
        let response = server.request("PUT", &format!("/small{i}"), &[], Some(b"fits"));
        assert_eq!(response.status(), 201, "{response:?}");
    }
    // A small write's memory is given back before its response is sent.
    assert_eq!(server.stats.snapshot().body_bytes_held, pieces);
}
