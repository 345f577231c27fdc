//! Idle keep-alive connections, and taking their workers back when a new
//! connection needs one.
//!
//! A worker waiting for its client's next request sleeps in `read` and costs
//! nothing: no periodic timer wakes it, so a server holding a thousand idle
//! connections makes no context switches at all (0 in 4 s, `perf stat` with
//! `idle_hold.py`; `tests/idle_cost.rs` checks it). It is woken by the next
//! request, by its idle timeout, or by a reclaim (and once before it joins
//! this registry: when the grace after a response ends, `KEEP_ALIVE_GRACE`
//! in `options.rs`):
//!
//! ```text
//!   accept loop: new connection, no worker free
//!     └─► reclaim the connection idle longest: shutdown(Read) on its socket
//!           └─► its worker's read returns at once ─► the worker closes it
//!                 └─► the worker takes the next connection from the queue
//! ```
//!
//! RFC 9112 §9.5 lets a server close an idle connection at any time. The
//! idle longest is the one its client is least likely to be about to use
//! (browsers and proxies reuse their most recent connection first). A
//! request that had already arrived when the reclaim came is still
//! answered: on Linux a socket whose read side is shut down still returns
//! the bytes that arrived, it only stops waiting for more. Its response says
//! `Connection: close`, and the connection closes after it.
//!
//! The same registry stops the server without polling: at shutdown every
//! idle connection is reclaimed, and no worker starts a new idle wait.

use std::collections::BTreeMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::stats::ServerStats;

/// The connections whose workers wait for their next request, oldest first.
pub(super) struct IdleConnections {
    state: Mutex<State>,
    /// Connections reclaimed whose workers have not finished with them yet:
    /// workers about to be free, which a waiting connection can count on.
    reclaiming: AtomicUsize,
    /// Worker threads in the pool.
    workers: usize,
}

struct State {
    /// By when each connection became idle (its last response), then by
    /// arrival here: the first entry is the connection idle longest.
    waiting: BTreeMap<(Instant, u64), Arc<TcpStream>>,
    next_ticket: u64,
    /// The server is stopping: no new idle waits.
    closed: bool,
}

/// A worker's place in the registry while it waits.
#[must_use = "a ticket must be given back with `leave`"]
pub(super) struct Ticket((Instant, u64));

/// How an idle wait ended, as far as the registry knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Left {
    /// The worker still owns its connection.
    Kept,
    /// The connection was reclaimed: its read side is shut down, and the
    /// worker must close it once it has answered what had arrived.
    Reclaimed,
}

impl IdleConnections {
    pub(super) fn new(workers: usize) -> IdleConnections {
        IdleConnections {
            state: Mutex::new(State {
                waiting: BTreeMap::new(),
                next_ticket: 0,
                closed: false,
            }),
            reclaiming: AtomicUsize::new(0),
            workers,
        }
    }

    /// Whether a connection is waiting for a worker that no free worker, and
    /// no worker about to be freed by a reclaim, will take.
    pub(super) fn worker_needed(&self, stats: &ServerStats) -> bool {
        let free = self.workers.saturating_sub(stats.busy());
        stats.queued() > free + self.reclaiming.load(Ordering::Acquire)
    }

    /// Registers `stream`, idle since `idle_since`, before its worker sleeps
    /// in `read`. `None` means do not wait, close: the server is stopping, or
    /// a connection is waiting for a worker and this one should make room.
    pub(super) fn enter(
        &self,
        stream: &Arc<TcpStream>,
        idle_since: Instant,
        stats: &ServerStats,
    ) -> Option<Ticket> {
        let mut state = self.lock();
        // Under the lock, so that a connection the accept loop queued before
        // this check is seen here, and one queued after it finds this
        // connection in `waiting` (see `make_room`).
        if state.closed || self.worker_needed(stats) {
            return None;
        }
        let ticket = (idle_since, state.next_ticket);
        state.next_ticket += 1;
        state.waiting.insert(ticket, Arc::clone(stream));
        stats.set_reclaimable(true);
        Some(Ticket(ticket))
    }

    /// Ends an idle wait: says whether the connection was reclaimed meanwhile.
    pub(super) fn leave(&self, Ticket(ticket): Ticket, stats: &ServerStats) -> Left {
        match self.lock().waiting.remove(&ticket) {
            Some(_) => {
                stats.set_reclaimable(false);
                Left::Kept
            }
            None => Left::Reclaimed,
        }
    }

    /// A worker took a queued connection. The connection moves from
    /// `queued` to `busy` under the lock that [`IdleConnections::make_room`]
    /// decides under, so that no decision sees it counted in neither, finds
    /// no worker needed, and leaves a newcomer without a reclaim of its own.
    pub(super) fn connection_started(&self, stats: &ServerStats) {
        let _decisions = self.lock();
        stats.connection_started();
    }

    /// A worker is done with its connection, and with the reclaim it was
    /// part of if `reclaimed`. The worker stops counting as about to be
    /// free (`reclaiming`) as it starts counting as free (`busy`), under
    /// the lock: in between, a decision would count it as free twice.
    pub(super) fn connection_finished(&self, reclaimed: bool, stats: &ServerStats) {
        if !reclaimed {
            stats.connection_finished();
            return;
        }
        let _decisions = self.lock();
        stats.connection_finished();
        self.reclaiming.fetch_sub(1, Ordering::AcqRel);
    }

    /// Called by the accept loop after queueing a connection: if no worker
    /// will take it, reclaims the connection idle longest.
    pub(super) fn make_room(&self, stats: &ServerStats) {
        let mut state = self.lock();
        if self.worker_needed(stats) && self.reclaim_oldest(&mut state, stats) {
            stats.connection_reclaimed();
        }
    }

    /// Reclaims every idle connection and refuses new idle waits: the server
    /// is stopping.
    pub(super) fn close(&self, stats: &ServerStats) {
        let mut state = self.lock();
        state.closed = true;
        while self.reclaim_oldest(&mut state, stats) {}
    }

    fn reclaim_oldest(&self, state: &mut MutexGuard<'_, State>, stats: &ServerStats) -> bool {
        let Some((_, stream)) = state.waiting.pop_first() else {
            return false;
        };
        stats.set_reclaimable(false);
        self.reclaiming.fetch_add(1, Ordering::AcqRel);
        // Wakes the worker's `read` with end-of-stream at once. An error
        // means the socket is already closed, which wakes it as well.
        let _ = stream.shutdown(Shutdown::Read);
        true
    }

    /// A poisoned lock (a worker panicked holding it) still holds a
    /// consistent map: every change to it is a single insert or remove.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::thread;

    fn pair() -> (TcpStream, Arc<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, Arc::new(server))
    }

    #[test]
    fn the_connection_idle_longest_is_reclaimed_first_and_its_read_returns() {
        let stats = ServerStats::new(2);
        let idle = IdleConnections::new(2);
        let (_client_a, a) = pair();
        let (_client_b, b) = pair();
        stats.connection_queued();
        stats.connection_started();
        stats.connection_queued();
        stats.connection_started();
        let ticket_a = idle.enter(&a, Instant::now(), &stats).unwrap();
        let ticket_b = idle.enter(&b, Instant::now(), &stats).unwrap();
        // Both workers hold idle connections; a third connection arrives.
        stats.connection_queued();
        assert!(idle.worker_needed(&stats));
        idle.make_room(&stats);
        assert!(
            !idle.worker_needed(&stats),
            "the reclaim counts as a free worker"
        );
        let mut byte = [0u8; 1];
        assert_eq!(
            (&*a).read(&mut byte).unwrap(),
            0,
            "a's read returns at once"
        );
        assert_eq!(idle.leave(ticket_a, &stats), Left::Reclaimed);
        assert_eq!(idle.leave(ticket_b, &stats), Left::Kept);
        assert_eq!(stats.snapshot().reclaimable, 0);
        assert_eq!(stats.snapshot().reclaimed, 1);
        idle.connection_finished(true, &stats);
        assert!(
            !idle.worker_needed(&stats),
            "the reclaimed worker is free for the newcomer"
        );
        assert_eq!(idle.reclaiming.load(Ordering::Acquire), 0);
    }

    /// What answering a request that raced the reclaim relies on: a socket
    /// whose read side is shut down still gives the bytes that had arrived,
    /// and can still be written to.
    #[test]
    fn a_reclaimed_socket_still_reads_what_arrived_and_still_writes() {
        use std::io::Write;
        const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let stats = ServerStats::new(1);
        let idle = IdleConnections::new(1);
        let (mut client, server) = pair();
        stats.connection_queued();
        stats.connection_started();
        let ticket = idle.enter(&server, Instant::now(), &stats).unwrap();
        client.write_all(REQUEST).unwrap();
        // Until the request has arrived (one segment); peek leaves it queued.
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        assert_eq!(server.peek(&mut [0u8; 64]).unwrap(), REQUEST.len());
        stats.connection_queued();
        idle.make_room(&stats);
        assert_eq!(idle.leave(ticket, &stats), Left::Reclaimed);
        let mut received = Vec::new();
        let mut buffer = [0u8; 64];
        // Until the end the shutdown makes: no read waits for more.
        loop {
            match (&*server).read(&mut buffer).unwrap() {
                0 => break,
                read => received.extend_from_slice(&buffer[..read]),
            }
        }
        assert_eq!(received, REQUEST);
        (&*server)
            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 25];
        client.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"HTTP/1.1 204 No Content\r\n");
    }

    #[test]
    fn a_worker_does_not_start_waiting_when_its_worker_is_needed() {
        let stats = ServerStats::new(1);
        let idle = IdleConnections::new(1);
        let (_client, a) = pair();
        stats.connection_queued();
        stats.connection_started();
        stats.connection_queued();
        assert!(idle.enter(&a, Instant::now(), &stats).is_none());
    }

    #[test]
    fn closing_reclaims_everyone_and_refuses_new_waits() {
        let stats = ServerStats::new(4);
        let idle = IdleConnections::new(4);
        let (_client_a, a) = pair();
        let (_client_b, b) = pair();
        let ticket = idle.enter(&a, Instant::now(), &stats).unwrap();
        idle.close(&stats);
        assert_eq!(idle.leave(ticket, &stats), Left::Reclaimed);
        assert!(idle.enter(&b, Instant::now(), &stats).is_none());
    }

    /// While a reclaimed worker finishes and takes its next connection, a
    /// connection queued beside the one its reclaim was for must find a
    /// worker needed at every moment: the finishing worker counts as free
    /// (no longer busy) or as about to be (its reclaim under way), never as
    /// both, and the connection it takes counts as queued or busy, never as
    /// neither. Otherwise the newcomer would get no reclaim of its own, and
    /// the worker would close the connection it has just taken to serve it
    /// instead of one that sat idle.
    #[test]
    fn a_finishing_reclaimed_worker_is_never_counted_free_twice() {
        use std::sync::Barrier;
        use std::sync::atomic::AtomicBool;
        // The two threads race for a fraction of a second. With either pair
        // of changes made outside the lock, five runs in six found the need
        // lapse (2 cores, six runs each).
        const CHECKS: usize = 2_000_000;
        let stats = ServerStats::new(1);
        let idle = IdleConnections::new(1);
        // The one worker holds a reclaimed connection; two connections wait,
        // one of them for that worker.
        stats.connection_queued();
        idle.connection_started(&stats);
        stats.connection_queued();
        stats.connection_queued();
        idle.reclaiming.fetch_add(1, Ordering::AcqRel);
        let checked = AtomicBool::new(false);
        let start = Barrier::new(2);
        thread::scope(|scope| {
            scope.spawn(|| {
                start.wait();
                while !checked.load(Ordering::Acquire) {
                    idle.connection_finished(true, &stats);
                    // It takes a waiting connection, another arrives, and
                    // another idle connection is reclaimed for it: the same
                    // state again, reached without the need ever lapsing.
                    idle.connection_started(&stats);
                    stats.connection_queued();
                    // As `reclaim_oldest` counts a reclaim: under the lock.
                    let _reclaim = idle.lock();
                    idle.reclaiming.fetch_add(1, Ordering::AcqRel);
                }
            });
            start.wait();
            for check in 0..CHECKS {
                // As `make_room` decides: under the lock.
                let needed = {
                    let _decisions = idle.lock();
                    idle.worker_needed(&stats)
                };
                if !needed {
                    checked.store(true, Ordering::Release);
                    panic!("check {check}: a finishing worker was counted free twice");
                }
            }
            checked.store(true, Ordering::Release);
        });
    }
}
