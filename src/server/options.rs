//! The server's settings, and their defaults: the one place the command
//! line's defaults come from (`config.rs` renders them for `--help`).

use std::thread;
use std::time::Duration;

use crate::http::Limits;

/// Workers per CPU core. A worker owns a connection while it is open, and
/// spends nearly all its time blocked on a socket, not on the CPU, so the
/// pool is sized for keep-alive connections served at once, not for cores.
/// Fewer workers than busy clients means connections take turns, and every
/// turn is a new TCP connection (the table in `server/mod.rs`).
pub const THREADS_PER_CORE: usize = 256;
/// Fewest workers by default, whatever the machine: 1024 idle workers take
/// about 12 MB of memory (RSS of an idle server, `--threads 1024` against
/// `--threads 8`).
pub const MIN_THREADS: usize = 1024;
/// Waiting connections allowed per worker, by default, before new ones get 503.
pub const PENDING_PER_THREAD: usize = 4;
/// The default `--read-timeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default `--idle-timeout`. An idle connection costs no CPU (its
/// worker sleeps in `read`: 0 context switches in 4 s for 1,000 of them,
/// `perf stat`), and never keeps a newcomer waiting (`idle.rs` reclaims it),
/// so what it holds is one worker's memory and one file descriptor, both
/// within `--threads`. A long timeout saves clients a new connection after
/// a pause, and a proxy in front must give up its pooled connections first
/// or it reuses ones the node has closed: nginx keeps them 60 s by default,
/// so the node keeps them longer, 75 s, which is also what nginx gives its
/// own clients.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long after a response a keep-alive client is taken to be about to
/// send its next request, and its connection is neither reclaimed nor
/// closed for a newcomer. A client in a request loop sends within tens of
/// microseconds (one client's keep-alive GET takes 23 µs from request to
/// response at the median, `cargo bench --bench server`); one that waits a
/// thousand times that is idle. It is also the longest a newcomer waits for
/// a worker when every worker has just answered a request and no client
/// says more.
pub const KEEP_ALIVE_GRACE: Duration = Duration::from_millis(50);

/// The default cap on request bodies held in memory at once (raised to
/// `--max-body` if that is larger).
pub const DEFAULT_MAX_BODY_MEMORY: u64 = 256 << 20;

/// The default pool: [`THREADS_PER_CORE`] per core, at least [`MIN_THREADS`].
pub fn default_threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (cores * THREADS_PER_CORE).max(MIN_THREADS)
}

/// How the server behaves; `config` fills it from flags and environment,
/// starting from [`ServerOptions::default`], which is what the command line
/// gives when no flag is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// Worker threads: the most connections served at once.
    pub threads: usize,
    /// Accepted connections that may wait for a worker before new ones get 503.
    pub max_pending: usize,
    /// Request size limits.
    pub limits: Limits,
    /// Deadline for a request's head, and then for its body; also for
    /// sending a response, with [`ServerOptions::min_send_rate`].
    pub read_timeout: Duration,
    /// The slowest a client may take a response body, in bytes a second, on
    /// top of `read_timeout` (not a flag: 1 MiB/s gives a 16 MiB value 16 s).
    pub min_send_rate: u64,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// Whether to write an access log line per response to stdout.
    pub access_log: bool,
    /// The most bytes of request bodies held in memory at once, over all
    /// connections (not a flag: [`DEFAULT_MAX_BODY_MEMORY`], or
    /// `limits.max_body` if that is larger).
    pub max_body_memory: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let threads = default_threads();
        ServerOptions {
            threads,
            max_pending: threads * PENDING_PER_THREAD,
            limits: Limits::default(),
            read_timeout: DEFAULT_READ_TIMEOUT,
            min_send_rate: 1024 * 1024,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            access_log: true,
            max_body_memory: DEFAULT_MAX_BODY_MEMORY,
        }
    }
}
