//! Step 06's tests: a pool's workers answer side by side; the lock-scope
//! trap makes them take turns; and silent clients starve a fixed pool.

#[path = "support.rs"]
mod support;

use std::net::TcpStream;

use super::{WORKERS, echo, pool};
use pool::{Jobs, ThreadPool};
use support::{Server, assert_answered, assert_unanswered, send};

fn start_with(connections: usize, pool: ThreadPool) -> Server {
    support::start(connections, move |incoming| {
        pool::serve(incoming, pool, echo::answer_one)
    })
}

/// The trap, as the Rust Book's readers keep writing it (rust-lang/book
/// #972 and others): the temporaries of a `while let` condition, the lock
/// guard among them, live until the end of the loop body. The job runs
/// with the lock held, and no other worker can take a job until it is done.
fn work_holding_the_lock(jobs: &Jobs) {
    while let Ok(job) = jobs.lock().unwrap().recv() {
        job();
    }
}

fn get(stream: &TcpStream) {
    send(stream, b"GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn a_free_worker_answers_while_another_is_busy() {
    let server = start_with(2, ThreadPool::new(2));
    let silent = server.connect();
    let other = server.connect();
    get(&other);
    assert_answered(&other);
    // Answered while the silent client still holds the other worker.
    assert_unanswered(&silent);
    drop((silent, other));
    server.finish();
}

/// The same two clients, with the trap: the second worker is free, and
/// still the second client waits until the first job is over.
#[test]
fn holding_the_lock_across_the_job_runs_one_job_at_a_time() {
    let server = start_with(2, ThreadPool::with_worker_loop(2, work_holding_the_lock));
    let silent = server.connect();
    let other = server.connect();
    get(&other);
    assert_unanswered(&other);
    drop(silent);
    assert_answered(&other);
    drop(other);
    server.finish();
}

/// The bug: a worker belongs to its connection until it closes, so as many
/// silent clients as workers, and the next client waits.
#[test]
fn silent_clients_starve_a_fixed_pool() {
    let server = start_with(WORKERS + 1, ThreadPool::new(WORKERS));
    let mut silent: Vec<_> = (0..WORKERS).map(|_| server.connect()).collect();
    let other = server.connect();
    get(&other);
    assert_unanswered(&other);
    silent.pop();
    assert_answered(&other);
    drop((silent, other));
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("06_pool", |connections| {
        start_with(connections, ThreadPool::new(WORKERS))
    });
}
