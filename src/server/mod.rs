//! The server: a blocking accept loop that hands each connection to a fixed
//! pool of worker threads.
//!
//! ```text
//!   accept loop ──► queue ──► worker 1: connection ─ request, response, request, …
//!   (one thread)          ──► worker 2: connection ─ …
//!                         ──► worker N
//! ```
//!
//! A worker owns a connection for as long as it stays open. That is the
//! simple model's strength (a request is plain sequential code) and its
//! classic weakness: N idle keep-alive connections can hold all N workers
//! while new clients wait. httpdb keeps the model and removes the weakness:
//! - a worker waiting on an idle connection sleeps in `read`; when a
//!   connection is queued and no worker is free, the accept loop reclaims
//!   the connection idle longest (`idle.rs`): it shuts down that socket's
//!   read side, and its worker wakes at once and closes it (RFC 9112 §9.5
//!   lets a server close an idle connection at any time). A connection
//!   answered less than 50 ms ago (`KEEP_ALIVE_GRACE` in `options.rs`)
//!   is not idle yet: if a connection is still waiting when that time is
//!   up, its worker closes it instead of starting to wait;
//! - while a connection waits and no worker is free, every response also
//!   says `Connection: close` (RFC 9112 §9.6), so busy connections take
//!   turns too;
//! - past `--max-pending` waiting connections, the accept loop answers `503`
//!   with `Retry-After` at once instead of queueing without bound;
//! - deadlines for the whole head, the whole body and the whole response
//!   (`deadline.rs`) keep slow or stalled clients from holding a worker;
//! - a failing `accept` (out of file descriptors) makes the loop back off
//!   and retry, never stop.
//!
//! # How many workers
//!
//! Taking turns works, but each turn costs the client a new TCP connection,
//! so the pool should be large enough that busy keep-alive clients rarely
//! have to. Workers are cheap: they sleep in `read`, and 1024 idle ones take
//! about 12 MB. Measured on the 2-core development machine on 2026-11-23,
//! before idle connections were reclaimed as above (they then looked up
//! every 50 ms to see whether to give their worker up), server pinned to
//! one core and `wrk` to the other, `GET` of a 64-byte value:
//!
//! | `--threads` | 64 clients | 512 clients |
//! |---|---|---|
//! | 64 | 70k req/s | 14k req/s, 5k `503`s |
//! | 128 | 57k req/s | 13k req/s |
//! | 256 | 66k req/s | 14k req/s |
//! | 512 | 63k req/s | 46k req/s |
//! | 1024 | 56k req/s | 46k req/s |
//!
//! (64-client figures vary by ±10% from run to run.) Below the number of
//! busy clients, throughput falls to that of a connection per request; at or
//! above it, it does not depend on the pool size. So the default is
//! [`THREADS_PER_CORE`] workers per core and at least [`MIN_THREADS`].
//!
//! `--max-pending` defaults to [`PENDING_PER_THREAD`] per worker. A waiting
//! connection costs a file descriptor and a queue slot, and gets a worker at
//! once if some connection is idle to reclaim, else within 50 ms (the
//! keep-alive grace) or one response (busy connections close when others
//! wait); the default of at least 4096 waiting connections absorbs bursts
//! such as the 2,000 idle connections of the peer benchmark without a
//! single `503`, while a queue without bound would only turn an overload
//! into timeouts. Both shrink to fit the open-file limit, since each
//! connection holds a file descriptor.
//!
//! One limit is std's: `TcpListener::bind` listens with a backlog of 128
//! connections. When more clients than that connect in the same instant
//! (512 at once, in the peer benchmark), the kernel drops the handshakes it
//! has no room for and the clients retry them a second later; no accept loop
//! drains the queue faster than a burst fills it. A larger backlog would
//! need `listen(2)` called with another value, which std does not offer.
//!
//! Files: `connection.rs` (one connection's request loop), `idle.rs` (idle
//! connections, and reclaiming their workers), `deadline.rs` (reads and
//! writes with a deadline), `budget.rs` (the cap on request bodies in
//! memory), `access_log.rs` (the log writer thread), `options.rs` (the
//! settings and their defaults), `shared.rs` (what the accept loop and the
//! workers share).

mod access_log;
mod budget;
mod connection;
mod deadline;
mod idle;
mod options;
mod shared;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::http::{Handler, Persistence, Response, Status, write_response};
use crate::stats::ServerStats;
use threadpool::ThreadPool;

use access_log::AccessLog;
use budget::BodyBudget;
use connection::Connection;
use idle::IdleConnections;
pub use options::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_MEMORY, DEFAULT_READ_TIMEOUT, KEEP_ALIVE_GRACE,
    MIN_THREADS, PENDING_PER_THREAD, ServerOptions, THREADS_PER_CORE, default_threads,
};
use shared::Shared;

/// A bound listening socket, ready to run.
pub struct Server<H: Handler> {
    listener: TcpListener,
    shared: Arc<Shared<H>>,
}

impl<H: Handler> Server<H> {
    /// Binds `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    ///
    /// The server keeps the counters its workers update and its pool
    /// decisions read, sized from `options`; `make_handler` receives them,
    /// so a handler that reports them (`/_stats`) reports this server's.
    pub fn bind(
        addr: impl ToSocketAddrs,
        options: ServerOptions,
        make_handler: impl FnOnce(Arc<ServerStats>) -> H,
    ) -> io::Result<Server<H>> {
        let listener = TcpListener::bind(addr)?;
        let stats = Arc::new(ServerStats::new(options.threads));
        let handler = make_handler(Arc::clone(&stats));
        let access_log = if options.access_log {
            Some(AccessLog::start(Arc::clone(&stats))?)
        } else {
            None
        };
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                handler,
                body_budget: BodyBudget::new(
                    options.max_body_memory.max(options.limits.max_body),
                    Arc::clone(&stats),
                ),
                idle: IdleConnections::new(options.threads),
                options,
                stats,
                shutting_down: Arc::new(AtomicBool::new(false)),
                access_log,
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The server's live counters.
    pub fn stats(&self) -> &Arc<ServerStats> {
        &self.shared.stats
    }

    /// A handle that stops [`Server::run`] from any thread.
    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        Ok(ShutdownHandle {
            shutting_down: Arc::clone(&self.shared.shutting_down),
            wake_addr: wake_address(self.local_addr()?),
        })
    }

    /// Accepts connections until shut down, then waits for every worker to
    /// finish its connection.
    pub fn run(self) -> io::Result<()> {
        let shared = &self.shared;
        // `threadpool` panics if the system will not start a thread (a
        // process or memory limit); that is an error to report, not a crash.
        let threads = shared.options.threads;
        let pool = catch_unwind(|| {
            threadpool::Builder::new()
                .num_threads(threads)
                .thread_name("httpdb-worker".into())
                .build()
        })
        .map_err(|_| {
            io::Error::other(format!(
                "cannot start {threads} worker threads; try fewer with --threads"
            ))
        })?;
        let mut backoff = AcceptBackoff::default();
        loop {
            let accepted = self.listener.accept();
            if shared.is_shutting_down() {
                break;
            }
            match accepted {
                Ok((stream, peer)) => {
                    backoff.reset();
                    self.dispatch(&pool, stream, peer);
                }
                Err(error) => backoff.wait_after(&error),
            }
        }
        drop(self.listener);
        // Idle connections are woken and closed; requests in progress are
        // answered (with `Connection: close`) and their connections closed.
        shared.idle.close(&shared.stats);
        pool.join();
        Ok(())
    }

    /// Queues a connection for the pool, or turns it away with 503 if too
    /// many are waiting already.
    fn dispatch(&self, pool: &ThreadPool, stream: TcpStream, peer: SocketAddr) {
        let shared = &self.shared;
        if shared.stats.queued() >= shared.options.max_pending {
            shared.stats.connection_rejected();
            turn_away(stream);
            return;
        }
        shared.stats.connection_queued();
        let worker_shared = Arc::clone(shared);
        pool.execute(move || {
            let shared = worker_shared;
            let served = catch_unwind(AssertUnwindSafe(|| {
                Connection::new(stream, peer, &shared).run();
            }));
            if served.is_err() {
                eprintln!("httpdb: a worker panicked serving {peer}; its connection was closed");
            }
        });
        // If every worker holds a connection, one idle longest gives its
        // worker up to the connection just queued.
        shared.idle.make_room(&shared.stats);
    }

    /// Runs the server on a background thread: what tests and benchmarks use.
    pub fn spawn(self) -> io::Result<RunningServer> {
        let addr = self.local_addr()?;
        let shutdown = self.shutdown_handle()?;
        let thread = thread::Builder::new()
            .name("httpdb-accept".into())
            .spawn(move || self.run())?;
        Ok(RunningServer {
            addr,
            shutdown,
            thread: Some(thread),
        })
    }
}

/// Stops a running server: the accept loop ends, idle connections are woken
/// and closed at once, and requests in progress are answered first.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    shutting_down: Arc<AtomicBool>,
    wake_addr: SocketAddr,
}

impl ShutdownHandle {
    /// Stops the accept loop; connections finish as [`ShutdownHandle`] says.
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
        // `accept` blocks until a connection arrives, so make one.
        let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_secs(1));
    }
}

/// Where to connect to wake the accept loop: a wildcard address is reached
/// through loopback.
fn wake_address(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

/// A server running on a background thread; dropping it shuts it down.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until every worker has finished.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.shutdown.shutdown();
        thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the accept loop panicked")))
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Answers `503 Service Unavailable` on a connection no worker can take, from
/// the accept thread, without waiting for anything.
fn turn_away(stream: TcpStream) {
    let response = Response::problem(
        Status::SERVICE_UNAVAILABLE,
        "too many connections are waiting for a worker; try again shortly",
    )
    .with_header("Retry-After", "1");
    let mut bytes = Vec::new();
    let mut head = Vec::new();
    if write_response(&mut bytes, &mut head, &response, false, Persistence::Close).is_err() {
        return;
    }
    // The socket buffer of a new connection holds a small response whole, so
    // a non-blocking write never leaves half of it behind in practice; if it
    // would block, the client is gone or hostile and gets nothing.
    if stream.set_nonblocking(true).is_ok() {
        let _ = (&stream).write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

/// Running out of file descriptors (or memory) makes `accept` fail until
/// something is released. Retrying at once would spin, and giving up would
/// stop the server, so the loop sleeps, longer each time, and goes on.
#[derive(Default)]
struct AcceptBackoff {
    delay: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }

    fn wait_after(&mut self, error: &io::Error) {
        // A connection reset before it was accepted is the client's business.
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
        ) {
            return;
        }
        self.delay = (self.delay * 2).clamp(Self::FIRST, Self::MAX);
        eprintln!(
            "httpdb: accept failed ({error}); retrying in {:?}",
            self.delay
        );
        thread::sleep(self.delay);
    }
}
