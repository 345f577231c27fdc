//! The store alone, without HTTP: get, put and delete operations per second
//! from 1 to 64 threads, over 1 thousand and 1 million keys; and how fast a
//! log of a million records replays at start.
//!
//! `cargo bench --bench store` (`HTTPDB_BENCH_QUICK=1` for a short run).

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use httpdb::store::{Fsync, Store, StoreOptions};
use support::{Figure, Plan, Table, human, with_spread};

const VALUE: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123";

fn key(n: u64) -> String {
    format!("/key/{n:08}")
}

/// Deterministic, cheap pseudo-random numbers, one stream per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[derive(Clone, Copy)]
enum Operation {
    Get,
    Put,
    /// Delete a key and put it back, so the store keeps its size.
    DeleteAndPut,
}

/// Operations per second over `threads` threads, each sample a fresh run of
/// `plan.sample`.
fn measure(
    plan: &Plan,
    store: &Arc<Store>,
    keys: u64,
    threads: usize,
    operation: Operation,
) -> Figure {
    let run = |time: Duration| -> f64 {
        let stop = AtomicBool::new(false);
        let done = AtomicU64::new(0);
        let started = Instant::now();
        thread::scope(|scope| {
            for thread in 0..threads {
                let (stop, done, store) = (&stop, &done, store);
                scope.spawn(move || {
                    let mut random = 0x9E37_79B9 ^ ((thread as u64 + 1) * 0x1234_5678_9ABC);
                    let mut count = 0;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            let key = key(next(&mut random) % keys);
                            match operation {
                                Operation::Get => {
                                    black_box(store.get(&key).expect("readable"));
                                }
                                Operation::Put => {
                                    store
                                        .put(&key, "text/plain", VALUE.to_vec(), |_| true)
                                        .expect("put");
                                }
                                Operation::DeleteAndPut => {
                                    store.delete(&key, |_| true).expect("delete");
                                    store
                                        .put(&key, "text/plain", VALUE.to_vec(), |_| true)
                                        .expect("put");
                                }
                            }
                            count += 1;
                        }
                    }
                    done.fetch_add(count, Ordering::Relaxed);
                });
            }
            thread::sleep(time);
            stop.store(true, Ordering::Relaxed);
        });
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    };
    run(plan.warmup);
    Figure::of((0..plan.samples).map(|_| run(plan.sample)).collect())
}

fn filled_store(keys: u64) -> Arc<Store> {
    let store = Arc::new(Store::in_memory());
    for n in 0..keys {
        store
            .put(&key(n), "text/plain", VALUE.to_vec(), |_| true)
            .expect("put");
    }
    store
}

fn main() {
    let plan = Plan::from_env();
    let mut table = Table::new(
        "store",
        "store: operations per second (in memory, 100-byte values)",
        &[
            "keys / operation",
            "1 thread",
            "2 threads",
            "8 threads",
            "64 threads",
        ],
    );
    let sizes = [1_000u64, plan.size(1_000_000, 20_000) as u64];
    let mut memory = Vec::new();
    for keys in sizes {
        let before = resident_bytes();
        let store = filled_store(keys);
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            memory.push((keys, after.saturating_sub(before)));
        }
        for (name, operation) in [
            ("get", Operation::Get),
            ("put (replace)", Operation::Put),
            ("delete (and put back)", Operation::DeleteAndPut),
        ] {
            let mut row = vec![format!("{} keys / {name}", human(keys as f64))];
            for threads in [1, 2, 8, 64] {
                row.push(with_spread(&measure(
                    &plan, &store, keys, threads, operation,
                )));
            }
            table.row(row);
        }
    }
    println!("\nwrote {}", table.save_csv().display());

    // What the figures in src/store/key.rs and src/store/map.rs (short keys
    // inline, shared content types) were measured with.
    let mut footprint = Table::new(
        "memory",
        "memory: resident bytes the store grew by (keys /key/00000000 ..., 100-byte text/plain values)",
        &["keys", "MB", "bytes per key"],
    );
    for (keys, bytes) in memory {
        footprint.row(vec![
            human(keys as f64),
            format!("{:.0}", bytes as f64 / 1e6),
            format!("{:.0}", bytes as f64 / keys as f64),
        ]);
    }
    println!("\nwrote {}", footprint.save_csv().display());

    replay(&plan);
}

/// The process's resident memory, from `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Writes a log of `records` puts of 100-byte values, then times opening it.
fn replay(plan: &Plan) {
    let records = plan.size(1_000_000, 20_000) as u64;
    let dir = std::env::temp_dir().join(format!("httpdb-bench-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = StoreOptions {
        fsync: Fsync::Never,
        ..StoreOptions::default()
    };
    {
        let (store, _) = Store::open(&dir, options.clone()).expect("open");
        let writers = 4u64;
        thread::scope(|scope| {
            for writer in 0..writers {
                let store = &store;
                scope.spawn(move || {
                    for n in (writer..records).step_by(writers as usize) {
                        store
                            .put(&key(n), "text/plain", VALUE.to_vec(), |_| true)
                            .expect("put");
                    }
                });
            }
        });
    }
    let mut table = Table::new(
        "replay",
        "replay: opening a log (100-byte values, one put per key)",
        &["records", "log bytes", "seconds", "records/s", "MB/s"],
    );
    let mut samples = Vec::new();
    let mut bytes = 0;
    for _ in 0..plan.samples.min(3) {
        let started = Instant::now();
        let (store, report) = Store::open(&dir, options.clone()).expect("open");
        let elapsed = started.elapsed();
        assert_eq!(report.records, records);
        bytes = report.bytes;
        samples.push(elapsed.as_secs_f64());
        drop(store);
    }
    let seconds = Figure::of(samples);
    table.row(vec![
        human(records as f64),
        human(bytes as f64),
        format!(
            "{:.2} ({:.2}-{:.2})",
            seconds.median, seconds.low, seconds.high
        ),
        human(records as f64 / seconds.median),
        human(bytes as f64 / seconds.median / 1e6),
    ]);
    println!("\nwrote {}", table.save_csv().display());
    let _ = std::fs::remove_dir_all(&dir);
}
