//! A backup is a copy of the live `httpdb.log`, taken while writers write.
//!
//! The log is append-only and every record is framed and checksummed, so
//! a copy read front to back while records are appended holds some prefix
//! of the log, perhaps with a record cut short at its end, which the next
//! start cuts off as a torn tail (`store/recovery.rs`). A server started on
//! the copy therefore holds a prefix of the history: every write that was
//! acknowledged before the copy began, in the order they were made, and
//! nothing that was never written.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use common::PATIENCE;
use common::process::Process;
use common::temp::TempDir;
use httpdb::client::{Client, Request};
use httpdb::store::LOG_FILE;

const WRITERS: usize = 4;
/// Writes each writer makes before the copy starts, at least.
const BEFORE_COPY: usize = 150;
/// Bytes added to each value, so that the copy takes long enough for
/// writes to race it.
const VALUE_PAD: usize = 2000;
/// The most writes one writer makes: the load loop is bounded.
const MOST_WRITES: usize = 5_000;

fn start(dir: &Path) -> Process {
    let mut command = Process::command();
    command
        .args(["--addr", "127.0.0.1:0", "--quiet", "--threads", "16"])
        // What a copy sees is what the server wrote to the OS before each
        // acknowledgement, which every --fsync mode does; `never` only
        // makes the writes quicker, so more of them race the copy.
        .args(["--fsync", "never", "--data-dir"])
        .arg(dir);
    Process::start(command)
}

/// One write as its writer saw it.
struct Write {
    key: String,
    value: String,
    sent: Instant,
    /// When its `201` arrived.
    acknowledged: Instant,
    etag: String,
}

/// Writes `/w{writer}/{n}` one after another until told to stop; says on
/// `warmed` when `BEFORE_COPY` writes are acknowledged.
fn writer(addr: &str, writer: usize, stop: &AtomicBool, warmed: mpsc::Sender<()>) -> Vec<Write> {
    let mut client = Client::connect(addr, PATIENCE).expect("connect");
    let mut writes = Vec::new();
    for n in 0..MOST_WRITES {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let (key, value) = (
            format!("/w{writer}/{n:05}"),
            format!("v{writer}-{n}-{}", "x".repeat(VALUE_PAD)),
        );
        let sent = Instant::now();
        let request = Request::new("PUT", &key).body(value.as_bytes());
        let response = client.exchange(&request).expect("a response");
        assert_eq!(response.status(), 201, "{response:?}");
        let etag = response.header("etag").expect("an ETag").to_string();
        writes.push(Write {
            key,
            value,
            sent,
            acknowledged: Instant::now(),
            etag,
        });
        if n + 1 == BEFORE_COPY {
            warmed.send(()).expect("the test waits");
        }
    }
    writes
}

/// Copies `from` to `to` in small reads until a read finds the end.
fn copy_in_pieces(from: &Path, to: &Path) {
    let mut source = File::open(from).expect("open the live log");
    let mut copy = File::create(to).expect("create the copy");
    let mut piece = [0u8; 4096];
    loop {
        let read = source.read(&mut piece).expect("read the live log");
        if read == 0 {
            return;
        }
        copy.write_all(&piece[..read]).expect("write the copy");
    }
}

#[test]
fn a_copy_of_the_live_log_holds_a_prefix_of_the_acknowledged_writes() {
    let (live_dir, backup_dir) = (TempDir::new("backup-live"), TempDir::new("backup-copy"));
    let live = start(&live_dir.0);
    let stop = AtomicBool::new(false);
    let (warmed, all_warm) = mpsc::channel();

    let (copy_began, writes) = thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (addr, stop, warmed) = (&live.addr, &stop, warmed.clone());
                scope.spawn(move || writer(addr, w, stop, warmed))
            })
            .collect();
        for _ in 0..WRITERS {
            all_warm
                .recv_timeout(PATIENCE)
                .expect("every writer is writing");
        }
        // The backup: the file read front to back, as any copying tool
        // does, a piece at a time, while the writes go on.
        let copy_began = Instant::now();
        copy_in_pieces(&live_dir.0.join(LOG_FILE), &backup_dir.0.join(LOG_FILE));
        stop.store(true, Ordering::Relaxed);
        let writes: Vec<Write> = writers
            .into_iter()
            .flat_map(|handle| handle.join().expect("a writer"))
            .collect();
        (copy_began, writes)
    });
    drop(live);

    let restored = start(&backup_dir.0);
    let mut client = Client::connect(&restored.addr, PATIENCE).expect("connect");
    let all = client
        .exchange(&Request::new("GET", "/_all"))
        .expect("a listing");
    let all: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&all.body).expect("a JSON object");

    // Nothing that was never written, with the bytes and ETag acknowledged.
    let by_key: BTreeMap<&str, &Write> = writes.iter().map(|w| (w.key.as_str(), w)).collect();
    for (key, entry) in &all {
        let write = by_key
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{key} was never written"));
        assert_eq!(entry["value"], write.value.as_str(), "{key}");
        assert_eq!(entry["etag"], write.etag.as_str(), "{key}");
    }
    // Every write acknowledged before the copy began is there...
    let present: BTreeSet<&str> = all.keys().map(String::as_str).collect();
    for write in writes.iter().filter(|w| w.acknowledged < copy_began) {
        assert!(
            present.contains(write.key.as_str()),
            "{} is lost",
            write.key
        );
    }
    // ... and it is a prefix of the history: a write that is there brings
    // every write acknowledged before it was even sent.
    let latest = writes
        .iter()
        .filter(|w| present.contains(w.key.as_str()))
        .map(|w| w.sent)
        .max()
        .expect("the copy holds writes");
    for write in &writes {
        if write.acknowledged < latest {
            assert!(
                present.contains(write.key.as_str()),
                "{} is missing from a copy holding later writes",
                write.key
            );
        }
    }
    assert!(present.len() >= WRITERS * BEFORE_COPY);
}
