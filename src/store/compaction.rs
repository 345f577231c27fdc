//! Compaction: rewriting the log from the live entries.
//!
//! The log only grows: a key written a thousand times has a thousand
//! records, of which the last one matters. When the log is both larger than
//! `StoreOptions::compact_min_bytes` and more than `compact_ratio` times the
//! size the live entries would take ([`Compactor::should_start`]), it is
//! rewritten:
//!
//! 1. Under the store's lock (shared with readers, not with writers), copy
//!    the map (pointers only: values are shared)
//!    and tell the log to keep every record written from this moment on.
//! 2. Without any lock, write a new file, `httpdb.log.compact`: a header whose
//!    base revision is the store's revision counter, then one put record per
//!    live entry. Reads and writes go on; writes still go to the old log.
//! 3. Briefly hold back new batches, append the records written since step
//!    1 to the new file, sync it, rename it over `httpdb.log`, and sync the
//!    directory (`log.rs`, `finish_compaction`). From then on writes go to
//!    the new file.
//!
//! A crash at any point leaves a complete log: before the rename the old
//! file is untouched (the unfinished new one is deleted at the next start),
//! after it the new file holds everything. The base revision in the header
//! keeps revisions from repeating even when the newest ones were deletes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::key::Key;
use super::log::Log;
use super::map::Stored;
use super::record::{Change, Record, encode_file_header};

/// The new log while it is being written, in the data directory.
pub const TEMP_FILE: &str = "httpdb.log.compact";

/// The live entries at one moment, and the revision counter then: what the
/// new log is written from.
pub(super) struct Snapshot {
    pub(super) entries: Vec<(Key, Stored)>,
    pub(super) base_revision: u64,
}

/// When to compact, and one compaction at a time.
pub(super) struct Compactor {
    /// Compact when the log is larger than this many bytes ...
    min_bytes: u64,
    /// ... and more than this many times the bytes of the live entries.
    ratio: u64,
    /// A compaction started by [`Compactor::should_start`] is running, or
    /// about to: no second one is started meanwhile.
    running: AtomicBool,
    /// After a failed compaction, the log size at which to try again.
    retry_at: AtomicU64,
    /// Serialises compactions started by a trigger and by `Store::compact`.
    turn: Mutex<()>,
}

impl Compactor {
    pub(super) fn new(min_bytes: u64, ratio: u64) -> Compactor {
        Compactor {
            min_bytes,
            ratio,
            running: AtomicBool::new(false),
            retry_at: AtomicU64::new(0),
            turn: Mutex::new(()),
        }
    }

    /// Whether a log of `log_bytes`, of which `live_bytes` would survive a
    /// compaction, should be compacted now. A `true` marks a compaction as
    /// running: the caller starts it, or calls [`Compactor::run`] anyway.
    pub(super) fn should_start(&self, log_bytes: u64, live_bytes: u64) -> bool {
        log_bytes > self.min_bytes
            && log_bytes > self.ratio.saturating_mul(live_bytes)
            && log_bytes > self.retry_at.load(Ordering::Relaxed)
            && !self.running.swap(true, Ordering::AcqRel)
    }

    /// The compaction [`Compactor::should_start`] asked for is over, or will
    /// not run (its thread could not start): the next may be started.
    pub(super) fn finished(&self) {
        self.running.store(false, Ordering::Release);
    }

    /// Compacts `log` now, one compaction at a time. `snapshot` runs under
    /// the store's lock: it copies the live entries and marks the log's
    /// place ([`Log::begin_compaction`]) at the same moment.
    pub(super) fn run(&self, log: &Log, snapshot: impl FnOnce() -> Snapshot) -> io::Result<()> {
        let turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        let result = compact(log, snapshot);
        // After a failure (a full disk, say), wait for the log to double
        // before trying again rather than failing on every write.
        let retry_at = match result {
            Ok(()) => 0,
            Err(_) => log.stats().bytes.saturating_mul(2),
        };
        self.retry_at.store(retry_at, Ordering::Relaxed);
        drop(turn);
        result
    }
}

fn compact(log: &Log, snapshot: impl FnOnce() -> Snapshot) -> io::Result<()> {
    let temp_path = log.dir().join(TEMP_FILE);
    let Snapshot {
        entries,
        base_revision,
    } = snapshot();
    let file = match write_snapshot(&temp_path, base_revision, &entries) {
        Ok(file) => file,
        Err(error) => {
            log.abort_compaction();
            let _ = fs::remove_file(&temp_path);
            return Err(error);
        }
    };
    drop(entries);
    log.finish_compaction(file, &temp_path)
        .map(|_| ())
        .inspect_err(|_| {
            let _ = fs::remove_file(&temp_path);
        })
}

/// Writes a log holding exactly `entries`, opened for appending.
fn write_snapshot(path: &Path, base_revision: u64, entries: &[(Key, Stored)]) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(path)?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    writer.write_all(&encode_file_header(base_revision))?;
    let mut buffer = Vec::new();
    for (key, stored) in entries {
        buffer.clear();
        let entry = stored.entry();
        Record {
            revision: entry.revision,
            modified: entry.modified,
            key: key.clone(),
            change: Change::Put {
                content_type: entry.content_type,
                value: entry.value,
            },
        }
        .encode(&mut buffer);
        writer.write_all(&buffer)?;
    }
    writer.into_inner().map_err(|error| error.into_error())
}
