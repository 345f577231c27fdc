//! End to end over loopback: the real server, in this process on port 0,
//! and client threads that speak HTTP/1.1 to it over real sockets. Requests
//! per second and latency (p50, p99, p99.9) for keep-alive GET and PUT from
//! 1 to 256 clients, one connection per request, PUT under each fsync mode,
//! and 64 busy clients beside 2,000 idle keep-alive connections.
//!
//! The clients run on the same two cores as the server, so the figures
//! compare scenarios with each other; for comparisons with other servers,
//! use `../shared/peers` (README, "Performance").
//!
//! `cargo bench --bench server` (`HTTPDB_BENCH_QUICK=1` for a short run).
//! Writes `target/httpdb-bench/server.csv` and `server.svg`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use httpdb::api::Api;
use httpdb::server::{RunningServer, Server, ServerOptions};
use httpdb::store::{Fsync, Store, StoreOptions};
use support::{Figure, Latency, Plan, Series, Table, micros, save_svg, with_spread};

/// `(clients, figure)` points of one line of the chart.
type Points = Vec<(f64, f64)>;

const VALUE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A running server and, for a store on disk, its directory.
struct Target {
    running: Option<RunningServer>,
    dir: Option<PathBuf>,
}

impl Target {
    fn start(fsync: Option<Fsync>) -> Target {
        let options = ServerOptions {
            threads: 1024,
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
        Target {
            running: Some(server.spawn().expect("spawn")),
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

/// One client connection that reads responses framed by Content-Length.
struct Connection {
    reader: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
}

impl Connection {
    fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Connection {
            reader: BufReader::new(stream),
            line: String::new(),
            body: Vec::new(),
        })
    }

    /// Sends `request` and reads the response: `(status, closes)`.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, bool)> {
        self.reader.get_mut().write_all(request)?;
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = self
            .line
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut closes) = (0, false);
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(": ") {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("connection") {
                    closes = value.eq_ignore_ascii_case("close");
                }
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)?;
        Ok((status, closes))
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
    for (name, kind) in [
        ("keep-alive GET", Kind::Get),
        ("keep-alive PUT (in memory)", Kind::Put),
    ] {
        let (mut throughput, mut p99) = (Vec::new(), Vec::new());
        for &clients in client_counts {
            let measured = measure(&plan, memory.addr(), clients, kind);
            row(&mut table, name.to_string(), clients, &measured);
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
    let idle = idle_connections(memory.addr(), plan.size(2000, 200));
    let measured = measure(&plan, memory.addr(), 64, Kind::Get);
    row(
        &mut table,
        format!("keep-alive GET beside {} idle", idle.len()),
        64,
        &measured,
    );
    drop(idle);
    drop(memory);

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
        }
    }
    println!("\nwrote {}", table.save_csv().display());

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
