//! Hostile and broken clients, many at once: garbage, half requests,
//! endless headers, slow trickles, resets. None of it may crash the server,
//! stall it for others, or change stored data; and running out of file
//! descriptors must not stop the accept loop.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::process::Process;
use common::{Client, PATIENCE, TestServer};

/// One kind of misbehaviour, sent on a fresh connection.
fn misbehave(server: &TestServer, kind: usize, seed: u64) {
    let mut client = server.connect();
    let mut noise = seed;
    let mut random_bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                noise as u8
            })
            .collect()
    };
    match kind % 8 {
        0 => client.send(&random_bytes(512)),
        1 => client.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        2 => client.send(b"PUT /seed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it"),
        3 => client.send(format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000)).as_bytes()),
        4 => {
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ");
            client.send(&vec![b'z'; 100_000]);
        }
        5 => client.send(b"PUT /seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"),
        6 => client.send(b"PUT /seed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        _ => {} // connect and vanish
    }
    // Half of them leave without reading; the others read whatever comes.
    if kind.is_multiple_of(2) {
        let _ = client
            .stream()
            .set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = Vec::new();
        let _ = client.reader().read_to_end(&mut sink);
    }
}

#[test]
fn many_garbage_connections_leave_the_data_intact_and_the_server_answering() {
    let server = TestServer::start_with(
        |options| {
            options.threads = 16;
            options.read_timeout = Duration::from_millis(300);
            options.idle_timeout = Duration::from_millis(300);
        },
        None,
    );
    let seed = server.request(
        "PUT",
        "/seed",
        &[("Content-Type", "text/plain")],
        Some(b"original"),
    );
    assert_eq!(seed.status, 201);
    let seeded = server.store.stats().last_revision;
    thread::scope(|scope| {
        for thread in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for i in 0..40 {
                    misbehave(server, thread + i, (thread * 1000 + i) as u64 + 1);
                }
            });
        }
        // Meanwhile, a well-behaved client is served throughout.
        let mut client = Client::connect(server.addr());
        for _ in 0..50 {
            let response = client.request("GET", "/seed", &[], None);
            assert_eq!(response.body, b"original");
            if response.closes() {
                client = Client::connect(server.addr());
            }
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
    assert_eq!(server.request("GET", "/_health", &[], None).status, 200);
    let stats = server.stats.snapshot();
    assert!(
        stats.responses[3] > 0,
        "the garbage was answered with 4xx: {stats:?}"
    );
}

fn get_health(stream: &mut TcpStream) -> std::io::Result<String> {
    stream.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    Ok(status)
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
    let addr = server.addr.clone();
    // Let the running server open at most 32 files.
    let limited = Command::new("prlimit")
        .arg(format!("--pid={}", server.pid()))
        .arg("--nofile=32:32")
        .status()
        .expect("prlimit (util-linux) is needed for this test");
    assert!(limited.success());

    // Hold keep-alive connections until the server cannot accept more.
    let mut held = Vec::new();
    for _ in 0..24 {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        assert!(
            get_health(&mut stream)
                .expect("answered")
                .starts_with("HTTP/1.1 200")
        );
        held.push(stream);
    }
    // These connect (the kernel completes the handshake) but cannot be
    // accepted yet: accept fails with EMFILE, and the loop backs off.
    let mut waiting: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).expect("connect");
            stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
            stream
                .write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
            stream
        })
        .collect();
    let backed_off = server
        .next_stderr_line()
        .expect("the server reports the failing accept");
    assert!(backed_off.contains("accept failed"), "{backed_off}");
    // Free the descriptors: every waiting client is then served.
    drop(held);
    for stream in &mut waiting {
        let mut status = String::new();
        BufReader::new(stream.try_clone().expect("clone"))
            .read_line(&mut status)
            .expect("an answer once descriptors are free");
        assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    }
    let mut fresh = TcpStream::connect(&addr).expect("connect");
    fresh.set_read_timeout(Some(PATIENCE)).expect("timeout");
    assert!(
        get_health(&mut fresh)
            .expect("answered")
            .starts_with("HTTP/1.1 200")
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
            client.send(
                format!("PUT /up{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n")
                    .as_bytes(),
            );
            client
        })
        .collect();
    // Await what the server reports holding (bounded; no sleeping).
    let mut held = 0;
    for _ in 0..10_000 {
        held = server.stats.snapshot().body_bytes_held;
        if held == 2048 {
            break;
        }
        thread::yield_now();
    }
    assert_eq!(held, 2048, "both uploads hold their bodies' memory");
    // So a third upload is told to come back, chunked or not.
    let response = server.request("PUT", "/third", &[], Some(&[b'x'; 16]));
    assert_eq!(response.status, 503, "{response:?}");
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(response.problem_detail().contains("try again"));
    let chunked = server.exchange(
        b"PUT /fourth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    );
    assert_eq!(chunked.status, 503);
    // Requests without a body are not affected.
    assert_eq!(server.request("GET", "/_health", &[], None).status, 200);
    // Finishing the uploads gives the budget back.
    for (i, client) in uploading.iter_mut().enumerate() {
        client.send(&[b'y'; 1024]);
        assert_eq!(client.response().status, 201, "upload {i}");
    }
    assert_eq!(server.stats.snapshot().body_bytes_held, 0);
    assert_eq!(
        server
            .request("PUT", "/third", &[], Some(&[b'x'; 16]))
            .status,
        201
    );
}

#[test]
fn announcing_a_large_body_holds_no_more_than_one_piece() {
    // Sixteen clients announce 16 MiB each and send nothing: they may hold
    // a piece each (64 KiB), not what they announced, so small writes go on.
    let server = TestServer::start_with(
        |options| {
            options.threads = 32;
            options.max_body_memory = 16 << 20;
        },
        None,
    );
    let _announcing: Vec<Client> = (0..16)
        .map(|i| {
            let mut client = server.connect();
            client.send(
                format!("PUT /big{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n")
                    .as_bytes(),
            );
            client
        })
        .collect();
    for i in 0..10 {
        let response = server.request("PUT", &format!("/small{i}"), &[], Some(b"fits"));
        assert_eq!(response.status, 201, "{response:?}");
    }
    assert!(server.stats.snapshot().body_bytes_held <= 16 * 64 * 1024);
}
