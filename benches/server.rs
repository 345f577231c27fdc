//! End to end over loopback: the real server, in this process on port 0,
//! and client threads that speak HTTP/1.1 to it over real sockets, through
//! the project's one client (`httpdb::client`). Requests per second and
//! latency (p50, p99, p99.9) for keep-alive GET and PUT from 1 to 256
//! clients, one connection per request, PUT under each fsync mode, and 64
//! busy clients beside 2,000 idle keep-alive connections. Then two
//! summaries: what idle connections cost (the server's context switches in
//! a quiet second while it holds them, and busy throughput beside them
//! against alone), and what durability costs (PUT per fsync mode against
//! PUT in memory).
//!
//! The clients run on the same two cores as the server, so the figures
//! compare scenarios with each other; for comparisons with other servers,
//! use `../shared/peers` (README, "Performance").
//!
//! `cargo bench --bench server` (`HTTPDB_BENCH_QUICK=1` for a short run).
//! Writes `target/httpdb-bench/server.csv` and `server.svg`.

mod support;
#[path = "../tests/common/threads.rs"]
mod threads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use httpdb::api::Api;
use httpdb::client::{Client, Response};
use httpdb::server::{RunningServer, Server, ServerOptions};
use httpdb::stats::ServerStats;
use httpdb::store::{Fsync, Store, StoreOptions};
use support::{Figure, Latency, Plan, Series, Table, micros, save_svg, with_spread};

/// `(clients, figure)` points of one line of the chart.
type Points = Vec<(f64, f64)>;

const VALUE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The pool of every server here: the default of a 2-core machine.
const WORKERS: usize = 1024;

/// A running server and, for a store on disk, its directory.
struct Target {
    running: Option<RunningServer>,
    stats: Arc<ServerStats>,
    dir: Option<PathBuf>,
}

impl Target {
    fn start(fsync: Option<Fsync>) -> Target {
        let options = ServerOptions {
            threads: WORKERS,
            max_pending: 4096,
            access_log: false,
            ..ServerOptions::default()
        };
        let (store, dir) = match fsync {
            None => (Arc::new(Store::in_memory()), None),
            Some(fsync) => {
                let dir = std::env::temp_dir().join(format!(
                    "httpdb-bench-{}-{}",
                    fsync.as_str(),
                    std::process::id()
                ));
                let _ = std::fs::remove_dir_all(&dir);
                let store_options = StoreOptions {
                    fsync,
                    ..StoreOptions::default()
                };
                (
                    Store::open(&dir, store_options).expect("open the store").0,
                    Some(dir),
                )
            }
        };
        store
            .put("/bench", "text/plain", VALUE.as_bytes().to_vec(), |_| true)
            .expect("seed");
        let server = Server::bind("127.0.0.1:0", options, |stats| Api::new(store, stats, None))
            .expect("bind");
        let stats = Arc::clone(server.stats());
        Target {
            running: Some(server.spawn().expect("spawn")),
            stats,
            dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.running.as_ref().expect("running").addr()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.shutdown();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// One connection of the project's client (`httpdb::client`), with one
/// [`Response`] that every exchange reads into, so that reading a response
/// reuses the memory of the last one instead of allocating.
struct Connection {
    client: Client,
    response: Response,
}

impl Connection {
    fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        Ok(Connection {
            client: Client::connect_to(addr, Duration::from_secs(10))?,
            response: Response::default(),
        })
    }

    /// Sends `request` (raw bytes) and reads the response: `(status, closes)`.
    fn exchange(&mut self, request: &[u8]) -> Result<(u16, bool), httpdb::client::ClientError> {
        self.client.send_raw(request)?;
        self.client.read_response_into(false, &mut self.response)?;
        Ok((self.response.status(), self.response.closes()))
    }
}

/// What the clients of one sample did.
struct Load {
    requests: u64,
    errors: u64,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

#[derive(Clone, Copy)]
enum Kind {
    Get,
    Put,
    /// HTTP/1.0 GET, a new connection per request.
    Close,
}

fn request_bytes(kind: Kind, client: usize, n: u64) -> Vec<u8> {
    match kind {
        Kind::Get => b"GET /bench HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec(),
        Kind::Close => b"GET /bench HTTP/1.0\r\nHost: bench\r\n\r\n".to_vec(),
        Kind::Put => format!(
            "PUT /k{} HTTP/1.1\r\nHost: bench\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{VALUE}",
            (client as u64 * 7919 + n) % 1000,
            VALUE.len()
        )
        .into_bytes(),
    }
}

/// `clients` threads sending `kind` requests for `time`.
fn load(addr: SocketAddr, clients: usize, kind: Kind, time: Duration) -> Load {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let results: Vec<(u64, u64, Vec<Duration>)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|client| {
                let stop = &stop;
                scope.spawn(move || {
                    let (mut requests, mut errors, mut latencies) =
                        (0u64, 0u64, Vec::with_capacity(1 << 16));
                    let mut connection = None;
                    while !stop.load(Ordering::Relaxed) {
                        let request = request_bytes(kind, client, requests + errors);
                        let began = Instant::now();
                        let conn = match connection.take() {
                            Some(conn) => conn,
                            None => match Connection::open(addr) {
                                Ok(conn) => conn,
                                Err(_) => {
                                    errors += 1;
                                    continue;
                                }
                            },
                        };
                        let mut conn: Connection = conn;
                        match conn.exchange(&request) {
                            Ok((status, closes)) if (200..300).contains(&status) => {
                                latencies.push(began.elapsed());
                                requests += 1;
                                if !closes && !matches!(kind, Kind::Close) {
                                    connection = Some(conn);
                                }
                            }
                            _ => errors += 1,
                        }
                    }
                    (requests, errors, latencies)
                })
            })
            .collect();
        thread::sleep(time);
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .map(|w| w.join().expect("a client thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut load = Load {
        requests: 0,
        errors: 0,
        latencies: Vec::new(),
        elapsed,
    };
    for (requests, errors, latencies) in results {
        load.requests += requests;
        load.errors += errors;
        load.latencies.extend(latencies);
    }
    load
}

/// The figures of one scenario: rate and latency, median over samples.
struct Measured {
    rate: Figure,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    errors: u64,
}

fn measure(plan: &Plan, addr: SocketAddr, clients: usize, kind: Kind) -> Measured {
    load(addr, clients, kind, plan.warmup);
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for _ in 0..plan.samples {
        let sample = load(addr, clients, kind, plan.sample);
        rates.push(sample.requests as f64 / sample.elapsed.as_secs_f64());
        errors += sample.errors;
        latencies.push(Latency::of(sample.latencies));
    }
    let median = |pick: fn(&Latency) -> Duration| {
        let mut values: Vec<Duration> = latencies.iter().map(pick).collect();
        values.sort_unstable();
        values[values.len() / 2]
    };
    Measured {
        rate: Figure::of(rates),
        p50: median(|l| l.p50),
        p99: median(|l| l.p99),
        p999: median(|l| l.p999),
        errors,
    }
}

fn row(table: &mut Table, name: String, clients: usize, measured: &Measured) {
    table.row(vec![
        name,
        clients.to_string(),
        with_spread(&measured.rate),
        micros(measured.p50),
        micros(measured.p99),
        micros(measured.p999),
        measured.errors.to_string(),
    ]);
}

/// Opens `count` keep-alive connections, each with one request answered.
fn idle_connections(addr: SocketAddr, count: usize) -> Vec<Connection> {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut connection) = Connection::open(addr) else {
            break;
        };
        if connection
            .exchange(b"GET /bench HTTP/1.1\r\nHost: idle\r\n\r\n")
            .is_ok()
        {
            idle.push(connection);
        }
    }
    idle
}

fn main() {
    let plan = Plan::from_env();
    let client_counts: &[usize] = if plan.quick {
        &[1, 16, 64]
    } else {
        &[1, 16, 64, 256]
    };
    let mut table = Table::new(
        "server",
        "server: end to end over loopback (clients on the same 2 cores; 64-byte values)",
        &[
            "scenario",
            "clients",
            "requests/s",
            "p50",
            "p99",
            "p99.9",
            "errors",
        ],
    );
    // For the chart: per scenario, throughput and p99 against client count.
    let mut chart: Vec<(String, Points, Points)> = Vec::new();

    let memory = Target::start(None);
    // 64 clients alone, for the summaries below.
    let (mut get_alone, mut put_in_memory) = (0.0, 0.0);
    for (name, kind) in [
        ("keep-alive GET", Kind::Get),
        ("keep-alive PUT (in memory)", Kind::Put),
    ] {
        let (mut throughput, mut p99) = (Vec::new(), Vec::new());
        for &clients in client_counts {
            let measured = measure(&plan, memory.addr(), clients, kind);
            row(&mut table, name.to_string(), clients, &measured);
            if clients == 64 {
                match kind {
                    Kind::Put => put_in_memory = measured.rate.median,
                    _ => get_alone = measured.rate.median,
                }
            }
            throughput.push((clients as f64, measured.rate.median));
            p99.push((clients as f64, measured.p99.as_secs_f64() * 1e6));
        }
        chart.push((name.to_string(), throughput, p99));
    }
    for clients in [16, 64] {
        let measured = measure(&plan, memory.addr(), clients, Kind::Close);
        row(
            &mut table,
            "HTTP/1.0, a connection per request".into(),
            clients,
            &measured,
        );
    }
    // The summaries print after the main table, which prints as it fills.
    let mut idle_rows = Vec::new();
    for count in [plan.size(1000, 100), plan.size(2000, 200)] {
        let idle = idle_connections(memory.addr(), count);
        let count = idle.len();
        // Past the pool's size, each newcomer reclaimed the connection idle
        // longest: the server holds at most WORKERS of them. Once each has
        // been idle past the grace that follows a response, its worker
        // sleeps in `read` until a request, a reclaim or the idle timeout.
        let held = count.min(WORKERS);
        let deadline = Instant::now() + Duration::from_secs(30);
        while memory.stats.snapshot().reclaimable < held && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let before = threads::server_context_switches();
        let quiet = Instant::now();
        thread::sleep(Duration::from_secs(1));
        let switches = threads::server_context_switches() - before;
        let per_second = switches as f64 / quiet.elapsed().as_secs_f64();
        let measured = measure(&plan, memory.addr(), 64, Kind::Get);
        row(
            &mut table,
            format!("keep-alive GET beside {count} idle"),
            64,
            &measured,
        );
        idle_rows.push(vec![
            format!("{count} ({held} held)"),
            format!("{per_second:.1}"),
            with_spread(&measured.rate),
            format!("{:.2}", measured.rate.median / get_alone),
        ]);
        drop(idle);
    }
    drop(memory);

    let mut durability_rows = Vec::new();
    for fsync in [Fsync::Always, Fsync::EverySec, Fsync::Never] {
        let disk = Target::start(Some(fsync));
        for clients in [1, 64] {
            let measured = measure(&plan, disk.addr(), clients, Kind::Put);
            row(
                &mut table,
                format!("keep-alive PUT, --fsync {}", fsync.as_str()),
                clients,
                &measured,
            );
            if clients == 64 {
                durability_rows.push(vec![
                    fsync.as_str().to_string(),
                    with_spread(&measured.rate),
                    format!("{:.2}", measured.rate.median / put_in_memory),
                ]);
            }
        }
    }
    println!("\nwrote {}", table.save_csv().display());

    let mut idle_cost = Table::new(
        "idle",
        "idle keep-alive connections: the server's context switches in a quiet second, \
         and 64 busy clients beside them against alone",
        &[
            "idle connections",
            "switches/s",
            "GET req/s beside them",
            "of alone",
        ],
    );
    for cells in idle_rows {
        idle_cost.row(cells);
    }
    let mut durability = Table::new(
        "durability",
        "keep-alive PUT, 64 clients: each --fsync mode against in memory",
        &["--fsync", "PUT req/s", "of in memory"],
    );
    for cells in durability_rows {
        durability.row(cells);
    }
    println!("\nwrote {}", idle_cost.save_csv().display());
    println!("wrote {}", durability.save_csv().display());
    let throughput = chart
        .iter()
        .map(|(name, points, _)| Series {
            name: name.clone(),
            points: points.clone(),
        })
        .collect();
    let p99 = chart
        .iter()
        .map(|(name, _, points)| Series {
            name: name.clone(),
            points: points.clone(),
        })
        .collect();
    let svg = save_svg(
        "server.svg",
        "httpdb over loopback: keep-alive clients",
        &[
            ("throughput", "requests/s", throughput),
            ("p99 latency", "µs", p99),
        ],
    );
    println!("wrote {}", svg.display());
}
