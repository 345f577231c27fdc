//! A server holding idle keep-alive connections, and no traffic, makes no
//! context switches (`src/server/idle.rs`). This test has a file of its
//! own so that it runs in a process of its own: it counts the context
//! switches of every `httpdb-…` thread in the process, and another test's
//! server would be counted too.

use std::fs;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use httpdb::api::Api;
use httpdb::client::{Client, Request};
use httpdb::server::{Server, ServerOptions};
use httpdb::store::Store;

const PATIENCE: Duration = Duration::from_secs(10);

/// Context switches so far of this process's server threads (named
/// `httpdb-…`), from `/proc/self/task/*/status` (Linux).
fn server_context_switches() -> u64 {
    let mut total = 0;
    for task in fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let task = task.expect("a task").path();
        let name = fs::read_to_string(task.join("comm")).unwrap_or_default();
        if !name.starts_with("httpdb-") {
            continue;
        }
        let status = fs::read_to_string(task.join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|line| line.contains("ctxt_switches"))
            .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

#[test]
fn an_idle_server_does_not_wake_on_a_timer() {
    const CONNECTIONS: usize = 8;
    let options = ServerOptions {
        threads: CONNECTIONS,
        access_log: false,
        idle_timeout: Duration::from_secs(60),
        ..ServerOptions::default()
    };
    let store = Arc::new(Store::in_memory());
    let server =
        Server::bind("127.0.0.1:0", options, |stats| Api::new(store, stats, None)).expect("bind");
    let stats = Arc::clone(server.stats());
    let server = server.spawn().expect("spawn");
    let clients: Vec<Client> = (0..CONNECTIONS)
        .map(|_| {
            let mut client = Client::connect_to(server.addr(), PATIENCE).expect("connect");
            let response = client
                .exchange(&Request::new("GET", "/_health"))
                .expect("answer");
            assert_eq!(response.status(), 200);
            client
        })
        .collect();
    // Every connection has been idle long enough to be reclaimable, so its
    // worker has gone past the short wait that follows a response.
    let deadline = Instant::now() + PATIENCE;
    while stats.snapshot().reclaimable < CONNECTIONS {
        assert!(Instant::now() < deadline, "{:?}", stats.snapshot());
        thread::sleep(Duration::from_millis(5));
    }
    let before = server_context_switches();
    assert!(before > 0, "found the server's threads");
    // A quiet second: nobody sends anything.
    thread::sleep(Duration::from_secs(1));
    let woken = server_context_switches() - before;
    // A worker that looked around every 50 ms would switch 20 times a
    // second per connection (160 here); one asleep in `read` never does.
    assert!(
        woken <= 4,
        "the idle server switched {woken} times in a second"
    );
    drop(clients);
    server.shutdown().expect("shutdown");
}
