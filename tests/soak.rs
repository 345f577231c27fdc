//! The soak test: mixed GET/PUT/DELETE load from many threads, alongside
//! slow clients, garbage clients and idle connections, against the real
//! binary on a data directory, for a bounded time. Afterwards every
//! acknowledged write must be readable, the server must still answer, and
//! after a `kill -9` and a restart everything must still be there.
//!
//! Ignored by default (it runs for a while); run it with
//! `cargo test --release -- --ignored soak`. `SOAK_SECONDS` sets the
//! duration (default 20).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::process::Process;
use common::{Client, Noise, PATIENCE, Reconnecting, TLS_CLIENT_HELLO, Talk};

const WRITERS: usize = 16;
const KEYS_EACH: usize = 50;

fn start(dir: &Path) -> Process {
    let mut command = Process::command();
    command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--quiet",
            "--threads",
            "64",
            "--read-timeout",
            "1",
            "--idle-timeout",
            "1",
        ])
        .arg("--data-dir")
        .arg(dir);
    Process::start(command)
}

/// Sends a request on `client` and returns its status and body.
fn send(client: &mut Reconnecting, method: &str, key: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let response = client.request(method, key, body);
    (response.status(), response.body)
}

/// Mixed load over one writer's own keys; returns what each key should hold.
fn mixed_load(
    addr: &str,
    writer: usize,
    stop: &AtomicBool,
    operations: &AtomicU64,
) -> HashMap<String, Option<Vec<u8>>> {
    let mut client = Reconnecting::new(addr);
    let mut expected: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    let mut random = Noise::new(writer as u64 * 7919 + 1);
    let mut sequence = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("/soak/{writer}/{}", random.next() % KEYS_EACH as u64);
        match random.next() % 10 {
            0..=3 => {
                sequence += 1;
                let value = format!("{writer}-{sequence}").into_bytes();
                let (status, _) = send(&mut client, "PUT", &key, Some(&value));
                assert!(matches!(status, 200 | 201), "PUT {key}: {status}");
                expected.insert(key, Some(value));
            }
            4 => {
                let (status, _) = send(&mut client, "DELETE", &key, None);
                let existed = matches!(expected.get(&key), Some(Some(_)));
                assert_eq!(status, if existed { 204 } else { 404 }, "DELETE {key}");
                expected.insert(key, None);
            }
            _ => {
                let (status, body) = send(&mut client, "GET", &key, None);
                match expected.get(&key) {
                    Some(Some(value)) => assert_eq!((status, &body), (200, value), "GET {key}"),
                    _ => assert_eq!(status, 404, "GET {key}"),
                }
            }
        }
        operations.fetch_add(1, Ordering::Relaxed);
    }
    expected
}

/// Sends a request a byte at a time, slower than the read timeout allows.
fn slow_client(addr: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut client) = Client::connect(addr, PATIENCE) else {
            continue;
        };
        for byte in b"PUT /soak/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nslow" {
            if stop.load(Ordering::Relaxed) || client.send_raw(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Sends garbage of several kinds, over and over, reading what comes back.
fn garbage_client(addr: &str, stop: &AtomicBool) {
    let payloads: [&[u8]; 5] = [
        TLS_CLIENT_HELLO,
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"PUT /soak/0/1 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"PUT /soak/0/2 HTTP/2.0\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
    ];
    for payload in payloads.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut client) = Client::connect(addr, Duration::from_secs(2)) {
            client.send_bytes(payload);
            let _ = client.stream().read_to_end(&mut Vec::new());
        }
    }
}

#[test]
#[ignore = "runs for SOAK_SECONDS (default 20); run with --ignored soak"]
fn soak_mixed_load_with_slow_garbage_and_idle_clients() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("httpdb-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start(&dir);
    let addr = server.addr.clone();
    let stop = AtomicBool::new(false);
    let operations = AtomicU64::new(0);
    let started = Instant::now();

    let expected: HashMap<String, Option<Vec<u8>>> = thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (addr, stop, operations) = (&addr, &stop, &operations);
                scope.spawn(move || mixed_load(addr, writer, stop, operations))
            })
            .collect();
        for _ in 0..4 {
            scope.spawn(|| slow_client(&addr, &stop));
        }
        for _ in 0..2 {
            scope.spawn(|| garbage_client(&addr, &stop));
        }
        // Idle keep-alive connections, opened and left alone.
        let idle: Vec<Client> = (0..100)
            .filter_map(|_| Client::connect(&addr, PATIENCE).ok())
            .collect();
        thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        drop(idle);
        writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("a writer failed"))
            .collect()
    });
    let ran = started.elapsed();
    let total = operations.load(Ordering::Relaxed);
    eprintln!(
        "soak: {total} operations in {ran:.1?} ({:.0}/s)",
        total as f64 / ran.as_secs_f64()
    );
    assert!(total > 0);

    let check = |addr: &str, when: &str| {
        let mut client = Reconnecting::new(addr);
        for (key, value) in &expected {
            let (status, body) = send(&mut client, "GET", key, None);
            match value {
                Some(value) => assert_eq!((status, &body), (200, value), "{when}: {key}"),
                None => assert_eq!(status, 404, "{when}: {key}"),
            }
        }
        assert_eq!(
            send(&mut client, "GET", "/_health", None).0,
            200,
            "{when}: health"
        );
        assert_eq!(
            send(&mut client, "GET", "/soak/slow", None).0,
            404,
            "{when}: no slow write completed"
        );
    };
    check(&addr, "after the load");

    server.kill_9();
    let restarted = start(&dir);
    let addr = restarted.addr.clone();
    check(&addr, "after kill -9 and a restart");
    restarted.kill_9();
    let _ = std::fs::remove_dir_all(&dir);
}
