//! Compaction: rewriting the log from the live entries.
//!
//! The log only grows: a key written a thousand times has a thousand
//! records, of which the last one matters. When the log is both larger than
//! `compact_min_bytes` (64 MiB) and more than `compact_ratio` (2) times the
//! size the live entries would take, it is rewritten:
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
use std::sync::atomic::Ordering;
use std::thread;

use super::map::Stored;
use super::record::{Change, Record, encode_file_header};
use super::{Disk, Key, PoisonError, Store};

/// The new log while it is being written, in the data directory.
pub const TEMP_FILE: &str = "httpdb.log.compact";

/// Compacts on a thread of its own; the write that noticed the log had
/// grown does not wait for it.
pub(super) fn start_in_background(store: &Store) {
    let Some(store) = store.myself.upgrade() else {
        return;
    };
    let spawned = thread::Builder::new()
        .name("httpdb-compaction".into())
        .spawn(move || {
            if let Err(error) = run(&store) {
                eprintln!("httpdb: compaction failed, the log is unchanged: {error}");
            }
        });
    if let Err(error) = spawned {
        eprintln!("httpdb: cannot start a compaction: {error}");
    }
}

/// Compacts now, one compaction at a time.
pub(super) fn run(store: &Store) -> io::Result<()> {
    let Some(disk) = &store.disk else {
        return Ok(());
    };
    let turn = disk
        .compaction_turn
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let result = compact(store, disk);
    let log_bytes = disk.log.stats().bytes;
    // After a failure (a full disk, say), wait for the log to double before
    // trying again rather than failing on every write.
    let retry_at = if result.is_ok() {
        0
    } else {
        log_bytes.saturating_mul(2)
    };
    disk.retry_compaction_at.store(retry_at, Ordering::Relaxed);
    disk.compacting.store(false, Ordering::Release);
    drop(turn);
    result
}

fn compact(store: &Store, disk: &Disk) -> io::Result<()> {
    let temp_path = disk.log.dir().join(TEMP_FILE);
    let (snapshot, base_revision) = {
        let map = store.read();
        disk.log.begin_compaction();
        let snapshot: Vec<(Key, Stored)> = map
            .entries
            .iter()
            .map(|(key, stored)| (key.clone(), stored.clone()))
            .collect();
        (snapshot, map.last_revision)
    };
    let file = match write_snapshot(&temp_path, base_revision, &snapshot) {
        Ok(file) => file,
        Err(error) => {
            disk.log.abort_compaction();
            let _ = fs::remove_file(&temp_path);
            return Err(error);
        }
    };
    drop(snapshot);
    disk.log
        .finish_compaction(file, &temp_path)
        .map(|_| ())
        .inspect_err(|_| {
            let _ = fs::remove_file(&temp_path);
        })
}

/// Writes a log holding exactly `entries`, opened for appending.
fn write_snapshot(
    path: &std::path::Path,
    base_revision: u64,
    entries: &[(Key, Stored)],
) -> io::Result<File> {
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
