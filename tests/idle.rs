//! Idle keep-alive connections: they cost nothing while nobody needs their
//! worker, and give it up at once when somebody does (README, "Limits and
//! protections"; `src/server/idle.rs`).
//!
//! The servers here run in this process, so a test can read their counters
//! (`ServerStats`) and their threads' context switches without going
//! through a worker it would have to take from an idle connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use httpdb::api::Api;
use httpdb::client::{Client, Request};
use httpdb::server::{RunningServer, Server, ServerOptions};
use httpdb::stats::{ServerStats, StatsSnapshot};
use httpdb::store::Store;

/// How long a test waits for anything before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A server with `threads` workers whose idle connections would stay open
/// for a minute: anything that frees a worker sooner is a reclaim.
fn start(threads: usize) -> (RunningServer, Arc<ServerStats>) {
    let options = ServerOptions {
        threads,
        max_pending: 64,
        access_log: false,
        idle_timeout: Duration::from_secs(60),
        ..ServerOptions::default()
    };
    let store = Arc::new(Store::in_memory());
    let server =
        Server::bind("127.0.0.1:0", options, |stats| Api::new(store, stats, None)).expect("bind");
    let stats = Arc::clone(server.stats());
    (server.spawn().expect("spawn"), stats)
}

/// A keep-alive connection that has had one request answered, and is now
/// idle.
fn idle_connection(addr: SocketAddr) -> Client {
    let mut client = Client::connect_to(addr, PATIENCE).expect("connect");
    let response = client
        .exchange(&Request::new("GET", "/_health"))
        .expect("a response");
    assert_eq!(response.status(), 200);
    assert!(!response.closes(), "{response:?}");
    client
}

/// Waits until the server's counters satisfy `condition`, looking every few
/// milliseconds; fails the test after [`PATIENCE`].
fn wait_until(stats: &ServerStats, what: &str, condition: impl Fn(&StatsSnapshot) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition(&stats.snapshot()) {
        assert!(
            Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}: {:?}",
            stats.snapshot()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_newcomer_is_served_when_every_worker_holds_an_idle_connection() {
    let (server, stats) = start(2);
    let mut oldest = idle_connection(server.addr());
    let mut newer = idle_connection(server.addr());
    wait_until(&stats, "both connections to be idle", |s| {
        s.reclaimable == 2
    });

    // Both workers sleep on idle connections that would stay open for a
    // minute; the newcomer is answered within the client's patience only
    // because one of them is reclaimed.
    let mut newcomer = Client::connect_to(server.addr(), PATIENCE).expect("connect");
    let response = newcomer
        .exchange(&Request::new("GET", "/_health"))
        .expect("the newcomer is answered");
    assert_eq!(response.status(), 200);

    assert_eq!(stats.snapshot().reclaimed, 1);
    assert!(
        oldest.is_closed(),
        "the connection idle longest was reclaimed"
    );
    let response = newer
        .exchange(&Request::new("GET", "/_health"))
        .expect("the newer connection is still served");
    assert_eq!(response.status(), 200);
    server.shutdown().expect("shutdown");
}

#[test]
fn a_request_racing_the_reclaim_is_answered() {
    let (server, stats) = start(1);
    let request = b"GET /_health HTTP/1.1\r\nHost: t\r\n\r\n";
    // Each round sends a request on the idle connection and, at the same
    // moment, brings the newcomer that reclaims it. Whichever the worker
    // sees first, the request that was sent must be answered.
    for round in 0..20 {
        let mut idle = idle_connection(server.addr());
        wait_until(&stats, "the connection to be idle", |s| s.reclaimable == 1);
        idle.send_raw(request).expect("send");
        let mut newcomer = Client::connect_to(server.addr(), PATIENCE).expect("connect");
        newcomer.send_raw(request).expect("send");

        let response = idle
            .read_response(false)
            .unwrap_or_else(|e| panic!("round {round}: the raced request got no answer: {e}"));
        assert_eq!(response.status(), 200, "round {round}");
        let response = newcomer
            .read_response(false)
            .expect("the newcomer is answered");
        assert_eq!(response.status(), 200, "round {round}");
        // Both hang up, so the one worker is free for the next round.
        drop((idle, newcomer));
        wait_until(&stats, "the worker to be free", |s| s.open == 0);
    }
    server.shutdown().expect("shutdown");
}

#[test]
fn shutdown_wakes_idle_workers_at_once() {
    let (server, stats) = start(4);
    let mut clients: Vec<Client> = (0..4).map(|_| idle_connection(server.addr())).collect();
    wait_until(&stats, "every connection to be idle", |s| {
        s.reclaimable == 4
    });
    // With a minute of idle timeout left, only the shutdown's reclaim ends
    // these waits; `shutdown` returns once every worker is done.
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || done.send(server.shutdown()));
    finished
        .recv_timeout(PATIENCE)
        .expect("shutdown did not wait for the idle timeout")
        .expect("a clean shutdown");
    for client in &mut clients {
        assert!(client.is_closed());
    }
}
