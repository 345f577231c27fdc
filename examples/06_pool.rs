//! Step 06: a fixed pool of worker threads.
//!
//! Step 05 started a thread for every connection, without limit. Here a
//! fixed number of workers (`parts/pool.rs`, the module this step
//! introduces) take the connections from a queue, so the server never runs
//! more than `WORKERS` threads however many clients come.
//!
//! Two traps, each shown by a test in `tests/06_pool.rs`:
//! - Holding the lock across the job. Write the worker loop as
//!   `while let Ok(job) = jobs.lock().unwrap().recv() { job(); }` and the
//!   guard lives until the end of the loop body: one worker runs its job
//!   while the others wait for the lock, and the pool runs one job at a
//!   time (`work` in `parts/pool.rs` explains the fix).
//! - Idle connections. A worker owns its connection until it closes, and a
//!   connection that sends nothing still holds one. `WORKERS` idle clients
//!   and the pool is full: everyone else waits.
//!
//! The bug this step leaves for the next: idle and slow clients hold the
//! workers. The read timeout (`READ_TIMEOUT`) frees a silent one at last, but a
//! client that sends a byte every few seconds never trips it, and holds its
//! worker for as long as it likes.
//!
//! Run it: `cargo run --example 06_pool [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/echo.rs"]
mod echo;
#[path = "parts/pool.rs"]
mod pool;
#[path = "parts/request.rs"]
mod request;
#[path = "parts/response.rs"]
mod response;

use std::io;
use std::net::TcpListener;

use pool::ThreadPool;

/// How many connections are served at once.
const WORKERS: usize = 4;

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    pool::serve(
        listener.incoming(),
        ThreadPool::new(WORKERS),
        echo::answer_one,
    )
}

#[cfg(test)]
#[path = "tests/06_pool.rs"]
mod tests;
