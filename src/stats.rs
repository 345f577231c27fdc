//! Counters the server keeps about itself, read by `GET /_stats`.
//!
//! The server writes them, the API reads them; plain atomics, because a
//! counter bumped on every request must not take a lock. `Relaxed` ordering
//! is enough: each counter is read on its own, and a figure that is a few
//! nanoseconds stale is still true. Whether a waiting connection needs a
//! worker (`server/idle.rs`) is decided from `queued` and `busy` together:
//! under the lock of the idle registry when the answer reclaims a connection
//! or keeps a worker from starting an idle wait, and a worker moves its
//! connection from one to the other, and out of `busy` after a reclaim,
//! under the same lock, so that decision never sees a move half done;
//! without the lock when the answer only decides whether one response says
//! `Connection: close`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::http::Status;

/// Live counters of one running server.
#[derive(Debug)]
pub struct ServerStats {
    started: Instant,
    workers: usize,
    accepted: AtomicU64,
    open: AtomicUsize,
    rejected: AtomicU64,
    queued: AtomicUsize,
    busy: AtomicUsize,
    idle: AtomicUsize,
    reclaimable: AtomicUsize,
    reclaimed: AtomicU64,
    responses: [AtomicU64; 5],
    access_log_dropped: AtomicU64,
    body_bytes_held: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// How long the server has been running.
    pub uptime: Duration,
    /// Worker threads in the pool.
    pub workers: usize,
    /// Connections accepted since the start.
    pub accepted: u64,
    /// Connections open now, waiting or being served.
    pub open: usize,
    /// Connections turned away with 503 because too many were waiting.
    pub rejected: u64,
    /// Connections waiting for a worker.
    pub queued: usize,
    /// Workers holding a connection, serving it or waiting on it.
    pub busy: usize,
    /// Of those, the workers waiting for a request to begin: the first one
    /// on a new connection, or the next one on a keep-alive connection.
    pub idle: usize,
    /// Of those, the connections idle long enough to be reclaimed for a
    /// newcomer (`server/idle.rs`).
    pub reclaimable: usize,
    /// Idle connections reclaimed for newcomers since the start.
    pub reclaimed: u64,
    /// Responses sent, by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    pub responses: [u64; 5],
    /// Access log lines dropped because the log writer could not keep up.
    pub access_log_dropped: u64,
    /// Bytes of request bodies being received, all connections together.
    pub body_bytes_held: u64,
}

impl ServerStats {
    /// Counters for a server with `workers` worker threads, all zero.
    pub fn new(workers: usize) -> ServerStats {
        ServerStats {
            started: Instant::now(),
            workers,
            accepted: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            reclaimable: AtomicUsize::new(0),
            reclaimed: AtomicU64::new(0),
            responses: Default::default(),
            access_log_dropped: AtomicU64::new(0),
            body_bytes_held: AtomicU64::new(0),
        }
    }

    /// A connection was accepted and handed to the pool's queue.
    pub fn connection_queued(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
        self.queued.fetch_add(1, Relaxed);
    }

    /// A worker took a queued connection.
    pub fn connection_started(&self) {
        self.queued.fetch_sub(1, Relaxed);
        self.busy.fetch_add(1, Relaxed);
    }

    /// A worker is done with its connection.
    pub fn connection_finished(&self) {
        self.busy.fetch_sub(1, Relaxed);
        self.open.fetch_sub(1, Relaxed);
    }

    /// A connection was answered 503 at the door.
    pub fn connection_rejected(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.rejected.fetch_add(1, Relaxed);
        self.responses[Status::SERVICE_UNAVAILABLE.class_index()].fetch_add(1, Relaxed);
    }

    /// Counts a response by its status class.
    pub fn response_sent(&self, status: Status) {
        self.responses[status.class_index()].fetch_add(1, Relaxed);
    }

    /// Counts an access log line that was dropped.
    pub fn access_log_line_dropped(&self) {
        self.access_log_dropped.fetch_add(1, Relaxed);
    }

    /// How many accepted connections are waiting for a worker.
    pub fn queued(&self) -> usize {
        self.queued.load(Relaxed)
    }

    /// How many workers hold a connection, serving it or waiting on it.
    pub fn busy(&self) -> usize {
        self.busy.load(Relaxed)
    }

    /// A worker starts waiting for the next request on its connection.
    pub fn worker_idle(&self) {
        self.idle.fetch_add(1, Relaxed);
    }

    /// The wait is over: a request arrived, or the connection is closing.
    pub fn worker_active(&self) {
        self.idle.fetch_sub(1, Relaxed);
    }

    /// An idle connection became reclaimable (`true`) or stopped being so.
    pub fn set_reclaimable(&self, reclaimable: bool) {
        if reclaimable {
            self.reclaimable.fetch_add(1, Relaxed);
        } else {
            self.reclaimable.fetch_sub(1, Relaxed);
        }
    }

    /// An idle connection was reclaimed for a newcomer.
    pub fn connection_reclaimed(&self) {
        self.reclaimed.fetch_add(1, Relaxed);
    }

    /// Counts `bytes` more of request bodies held, unless that would pass
    /// `limit`; returns whether it did.
    pub fn hold_body_bytes(&self, bytes: u64, limit: u64) -> bool {
        self.body_bytes_held
            .fetch_update(Relaxed, Relaxed, |held| {
                held.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` counted by [`ServerStats::hold_body_bytes`].
    pub fn release_body_bytes(&self, bytes: u64) {
        self.body_bytes_held.fetch_sub(bytes, Relaxed);
    }

    /// A copy of every counter, for `/_stats`.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            uptime: self.started.elapsed(),
            workers: self.workers,
            accepted: self.accepted.load(Relaxed),
            open: self.open.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            queued: self.queued.load(Relaxed),
            busy: self.busy.load(Relaxed),
            idle: self.idle.load(Relaxed),
            reclaimable: self.reclaimable.load(Relaxed),
            reclaimed: self.reclaimed.load(Relaxed),
            responses: self.responses.each_ref().map(|count| count.load(Relaxed)),
            access_log_dropped: self.access_log_dropped.load(Relaxed),
            body_bytes_held: self.body_bytes_held.load(Relaxed),
        }
    }
}
