//! A server holding idle keep-alive connections, and no traffic, makes no
//! context switches (`src/server/idle.rs`). This test has a file of its
//! own so that it runs in a process of its own: it counts the context
//! switches of every `httpdb-…` thread in the process, and another test's
//! server would be counted too.

mod common;

#[path = "common/threads.rs"]
mod threads;

use std::thread;
use std::time::Duration;

use common::{Client, TestServer};
use threads::server_context_switches;

#[test]
fn an_idle_server_does_not_wake_on_a_timer() {
    const CONNECTIONS: usize = 8;
    // The idle connections outlast the test: `TestServer`'s idle timeout
    // is longer than it waits for anything.
    let server = TestServer::start_with(|options| options.threads = CONNECTIONS, None);
    let clients: Vec<Client> = (0..CONNECTIONS).map(|_| server.idle_connection()).collect();
    // Every connection has been idle long enough to be reclaimable, so its
    // worker has gone past the short wait that follows a response.
    server.wait_for_stats("every connection to be reclaimable", |s| {
        s.reclaimable == CONNECTIONS
    });
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
