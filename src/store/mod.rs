//! The key-value store: an ordered map behind one lock, and optionally the
//! append-only log that makes it durable.
//!
//! Every entry has a value, the content type it was stored with, a revision
//! and a modification time. Revisions come from one store-wide clock that
//! only grows (`revision.rs`), across restarts too, so a revision names one
//! version of one key for the life of the data; the API turns it into the
//! entry's ETag.
//!
//! The lock is held only to look up or change the map and to queue the
//! change's log record, never across a write or fsync. Values are
//! `Arc<[u8]>`, so a reader clones a pointer under the lock and copies
//! nothing. Conditional writes (compare-and-swap) pass their condition in as
//! a closure that runs under the lock, so no other write can slip in between
//! the check and the change.
//!
//! The lock is std's `RwLock`, a mutex that lets readers share it. With a
//! plain `Mutex`, a thread paused by the scheduler while holding the lock
//! stops every other request behind it; with hundreds of workers on one
//! core that happens a few times a second, and the requests queued behind
//! it wait for hundreds of workers to get their turn. Measured with 512
//! keep-alive clients (`wrk -t2 -c512` GET, the server pinned to one core,
//! wrk to the other): p99 0.9-1.2 s with a `Mutex`, 13-16 ms with readers
//! sharing the lock.
//!
//! A write is applied to the map, then waits (outside the lock) until its
//! record is as durable as `--fsync` promises (`log.rs`: on stable storage
//! with `always`, handed to the OS with `everysec` and `never`), and only
//! then returns, so its caller acknowledges nothing that a crash could lose
//! (with `everysec` and `never`, a crash of the process; a power cut can
//! still take the last writes). A read that could see a change not yet
//! durable waits for the same group commit before it returns, so no reader
//! sees a write that such a crash could undo.
//!
//! The store knows nothing of HTTP: keys are strings, conditions are
//! closures over the current entry.
//!
//! The files of this module, one job each:
//! - `mod.rs` (here): the [`Store`] and its operations;
//! - `map.rs`: the ordered map behind the lock, and its totals;
//! - `open.rs`: opening a data directory (lock, create, replay, report);
//! - `log.rs`: the append-only log and group commit;
//! - `record.rs`: the log's format, byte by byte; `crc32.rs`, its checksum;
//! - `recovery.rs`: replaying a log, and what a torn or damaged end means;
//! - `compaction.rs`: rewriting the log from the live entries;
//! - `revision.rs`: the clock revisions come from;
//! - `key.rs`: keys, short ones kept inline;
//! - `tests.rs`: the store's unit tests.

mod compaction;
mod crc32;
mod key;
mod log;
mod map;
mod open;
mod record;
mod recovery;
mod revision;

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use compaction::{Compactor, Snapshot};
pub use key::Key;
pub use log::{Fsync, LogStats};
use log::{Log, Ticket};
pub use map::Entry;
use map::{Map, Stored};
pub use open::{LOCK_FILE, LOG_FILE, OpenError, OpenReport};
use record::{Change, Record};

/// The result of a successful put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Whether the key was new.
    pub created: bool,
    /// The revision of the new value.
    pub revision: u64,
}

/// The result of a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The key existed and is gone; the delete took this revision.
    Existed {
        /// The revision the delete took.
        revision: u64,
    },
    /// There was nothing to delete.
    Absent,
}

/// Why a write did not happen, or was not made durable.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The caller's condition was false; `current` is the key's revision.
    ConditionFailed {
        /// The key's current revision; `None` if it is absent.
        current: Option<u64>,
    },
    /// The key or value is larger than a log record can hold.
    TooLarge,
    /// The log could not be written; nothing more can be stored until the
    /// server restarts. The write was not acknowledged.
    Storage(String),
}

/// A read could return a change that the log failed to make durable, so it
/// is refused. After a failed write (or, with `--fsync always`, a failed
/// sync) that is every read until the server restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageFailed(pub String);

impl fmt::Display for StorageFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the log failed ({}); restart the server", self.0)
    }
}

/// Totals over the whole store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// How many keys are stored.
    pub keys: usize,
    /// Bytes of all values together.
    pub value_bytes: u64,
    /// The revision of the last change.
    pub last_revision: u64,
    /// Bytes the live entries would take in a freshly compacted log.
    pub live_log_bytes: u64,
    /// `None` for an in-memory store.
    pub log: Option<LogStats>,
}

/// How a store on disk behaves.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// When writes reach stable storage.
    pub fsync: Fsync,
    /// Cut a damaged log at the first bad record (after a backup) instead of
    /// refusing to start.
    pub repair: bool,
    /// Compact when the log is larger than this many bytes ...
    pub compact_min_bytes: u64,
    /// ... and more than this many times the bytes of the live entries.
    pub compact_ratio: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            fsync: Fsync::Always,
            repair: false,
            compact_min_bytes: 64 << 20,
            compact_ratio: 2,
        }
    }
}

/// The store. Share it between threads with an `Arc`.
pub struct Store {
    map: RwLock<Map>,
    disk: Option<Disk>,
    /// The `Arc` this store lives in, for starting a background compaction.
    myself: Weak<Store>,
}

/// What a store on disk has besides the map.
struct Disk {
    log: Log,
    /// When to compact the log, and one compaction at a time.
    compactor: Compactor,
    /// Held for the life of the store: the directory's lock.
    _lock: File,
}

impl Store {
    /// An empty store that keeps nothing on disk.
    pub fn in_memory() -> Store {
        Store {
            map: RwLock::default(),
            disk: None,
            myself: Weak::new(),
        }
    }

    /// Opens (creating if needed) the store in `dir`: takes the directory's
    /// lock, replays the log (`open.rs`), and appends to it from then on.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<(Arc<Store>, OpenReport), OpenError> {
        let opened = open::open_directory(dir, options.fsync, options.repair)?;
        let store = Arc::new_cyclic(|myself| Store {
            map: RwLock::new(opened.map),
            disk: Some(Disk {
                log: opened.log,
                compactor: Compactor::new(options.compact_min_bytes, options.compact_ratio),
                _lock: opened.lock,
            }),
            myself: myself.clone(),
        });
        Ok((store, opened.report))
    }

    /// The entry under `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StorageFailed> {
        // The entry may be a change whose record is queued but not yet
        // durable: `settle` waits for it (and may lead its group commit).
        let (entry, pending) = {
            let map = self.read();
            (
                map.entries.get(key.as_bytes()).map(Stored::entry),
                self.not_yet_durable(),
            )
        };
        self.settle(pending)?;
        Ok(entry)
    }

    /// Under the lock: the last change that a read could see and that is
    /// not durable yet.
    fn not_yet_durable(&self) -> Option<Ticket> {
        self.disk
            .as_ref()
            .and_then(|disk| disk.log.not_yet_durable())
    }

    /// After the lock: waits until every change a read could have seen is
    /// durable, so a reader never sees a write that a crash could undo. The
    /// wait is skipped when nothing is pending. When something is, the
    /// reader waits like a writer does, so a GET may find no batch under way
    /// and lead the group commit itself: write the queued records and, with
    /// `--fsync always`, fsync them (`Log::wait`). If the log has failed,
    /// what is pending will never be durable, and the read is refused.
    fn settle(&self, pending: Option<Ticket>) -> Result<(), StorageFailed> {
        match (&self.disk, pending) {
            (Some(disk), Some(ticket)) => disk
                .log
                .wait(ticket)
                .map_err(|failed| StorageFailed(failed.0)),
            _ => Ok(()),
        }
    }

    /// Why the log stopped accepting writes, if it did.
    pub fn failure(&self) -> Option<String> {
        self.disk.as_ref().and_then(|disk| disk.log.stats().failed)
    }

    /// Stores `value` under `key` if `condition` holds for the current entry
    /// (`None` when the key is absent). Returns once the change is durable.
    pub fn put(
        &self,
        key: &str,
        content_type: &str,
        value: Vec<u8>,
        condition: impl FnOnce(Option<&Entry>) -> bool,
    ) -> Result<Written, WriteError> {
        // Build the shared value before taking the lock: it copies the bytes.
        let value: Arc<[u8]> = value.into();
        let (written, ticket) = {
            let mut map = self.write();
            let current = map.entries.get(key.as_bytes());
            if !condition(current.map(Stored::entry).as_ref()) {
                let error = WriteError::ConditionFailed {
                    current: current.map(|stored| stored.revision),
                };
                let pending = self.not_yet_durable();
                drop(map);
                return self.refuse(error, pending);
            }
            // One reading of the clock for the revision and the time.
            let now = SystemTime::now();
            let revision =
                revision::next(map.last_revision, now).ok_or_else(revisions_exhausted)?;
            let modified = to_the_millisecond(now);
            let content_type = map.shared_content_type(content_type);
            let record_key = Key::new(key);
            let record = Record {
                revision,
                modified,
                key: record_key.clone(),
                change: Change::Put {
                    content_type: Arc::clone(&content_type),
                    value: Arc::clone(&value),
                },
            };
            let ticket = self.queue_record(&map, record)?;
            map.last_revision = revision;
            let created = map.insert(
                record_key,
                Stored::new(value, content_type, revision, modified),
            );
            (Written { created, revision }, ticket)
        };
        self.wait_durable(ticket)?;
        Ok(written)
    }

    /// Removes `key` if it exists and `condition` holds for it. The condition
    /// is not asked about an absent key: there is nothing to compare with.
    pub fn delete(
        &self,
        key: &str,
        condition: impl FnOnce(&Entry) -> bool,
    ) -> Result<Deleted, WriteError> {
        let (deleted, ticket) = {
            let mut map = self.write();
            let Some(current) = map.entries.get(key.as_bytes()) else {
                let pending = self.not_yet_durable();
                drop(map);
                return self
                    .settle(pending)
                    .map(|()| Deleted::Absent)
                    .map_err(|failed| WriteError::Storage(failed.0));
            };
            if !condition(&current.entry()) {
                let error = WriteError::ConditionFailed {
                    current: Some(current.revision),
                };
                let pending = self.not_yet_durable();
                drop(map);
                return self.refuse(error, pending);
            }
            let now = SystemTime::now();
            let revision =
                revision::next(map.last_revision, now).ok_or_else(revisions_exhausted)?;
            let record = Record {
                revision,
                modified: to_the_millisecond(now),
                key: Key::new(key),
                change: Change::Delete,
            };
            let ticket = self.queue_record(&map, record)?;
            map.last_revision = revision;
            map.remove(key);
            (Deleted::Existed { revision }, ticket)
        };
        self.wait_durable(ticket)?;
        Ok(deleted)
    }

    /// Answers a write that its condition refused. The refusal reveals the
    /// key's state, which must be durable before anyone is told about it.
    fn refuse<T>(&self, error: WriteError, pending: Option<Ticket>) -> Result<T, WriteError> {
        self.settle(pending)
            .map_err(|failed| WriteError::Storage(failed.0))?;
        Err(error)
    }

    /// Queues the record of a change about to be applied; starts a
    /// compaction if the log has outgrown the live data.
    fn queue_record(&self, map: &Map, record: Record) -> Result<Option<Ticket>, WriteError> {
        let Some(disk) = &self.disk else {
            return Ok(None);
        };
        if record.key.len() > usize::from(u16::MAX)
            || record.encoded_len() as u64 > u64::from(record::MAX_PAYLOAD)
        {
            return Err(WriteError::TooLarge);
        }
        let (ticket, log_bytes) = disk
            .log
            .queue(record)
            .map_err(|failed| WriteError::Storage(failed.0))?;
        // Compaction starts here, from the write that takes the log past
        // its threshold; it runs on a thread of its own.
        if disk.compactor.should_start(log_bytes, map.live_log_bytes) {
            self.compact_in_background(disk);
        }
        Ok(Some(ticket))
    }

    fn wait_durable(&self, ticket: Option<Ticket>) -> Result<(), WriteError> {
        match (&self.disk, ticket) {
            (Some(disk), Some(ticket)) => disk
                .log
                .wait(ticket)
                .map_err(|failed| WriteError::Storage(failed.0)),
            _ => Ok(()),
        }
    }

    /// A copy of every entry in key order. Values are shared, not copied.
    pub fn entries(&self) -> Result<Vec<(Key, Entry)>, StorageFailed> {
        let (entries, pending) = {
            let map = self.read();
            let entries = map
                .entries
                .iter()
                .map(|(key, stored)| (key.clone(), stored.entry()))
                .collect();
            (entries, self.not_yet_durable())
        };
        self.settle(pending)?;
        Ok(entries)
    }

    /// Up to `limit` keys that start with `prefix` and sort after `after`,
    /// in byte order: one page of a listing.
    pub fn keys(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageFailed> {
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.as_bytes()),
            _ => Bound::Included(prefix.as_bytes()),
        };
        let (keys, pending) = {
            let map = self.read();
            let keys = map
                .entries
                .range::<[u8], _>((start, Bound::Unbounded))
                .map(|(key, _)| key)
                .take_while(|key| key.as_bytes().starts_with(prefix.as_bytes()))
                .take(limit)
                .map(|key| key.to_string())
                .collect();
            (keys, self.not_yet_durable())
        };
        self.settle(pending)?;
        Ok(keys)
    }

    /// Totals over the whole store, for `/_stats`.
    pub fn stats(&self) -> StoreStats {
        let (keys, value_bytes, last_revision, live_log_bytes) = {
            let map = self.read();
            (
                map.entries.len(),
                map.value_bytes,
                map.last_revision,
                map.live_log_bytes,
            )
        };
        StoreStats {
            keys,
            value_bytes,
            last_revision,
            live_log_bytes,
            log: self.disk.as_ref().map(|disk| disk.log.stats()),
        }
    }

    /// Rewrites the log from the live entries now, whatever its size.
    /// Reads and writes go on meanwhile. Does nothing in memory.
    pub fn compact(&self) -> io::Result<()> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        disk.compactor.run(&disk.log, || {
            // Under the lock (shared with readers, not writers): the entries
            // and the log's place are taken at the same moment.
            let map = self.read();
            disk.log.begin_compaction();
            Snapshot {
                entries: map
                    .entries
                    .iter()
                    .map(|(key, stored)| (key.clone(), stored.clone()))
                    .collect(),
                base_revision: map.last_revision,
            }
        })
    }

    /// Compacts on a thread of its own: the write that noticed the log had
    /// grown does not wait for it.
    fn compact_in_background(&self, disk: &Disk) {
        let Some(store) = self.myself.upgrade() else {
            return disk.compactor.finished();
        };
        let spawned = thread::Builder::new()
            .name("httpdb-compaction".into())
            .spawn(move || {
                if let Err(error) = store.compact() {
                    eprintln!("httpdb: compaction failed, the log is unchanged: {error}");
                }
                if let Some(disk) = &store.disk {
                    disk.compactor.finished();
                }
            });
        if let Err(error) = spawned {
            eprintln!("httpdb: cannot start a compaction: {error}");
            disk.compactor.finished();
        }
    }

    /// Takes the lock to read. Readers share it, so a reader that the
    /// scheduler pauses while it holds the lock does not stop the others.
    ///
    /// Nothing done under the lock can panic halfway through a change, so if
    /// another thread panicked while holding it (a poisoned lock), the map is
    /// still consistent and is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the lock to change the map: alone.
    fn write(&self) -> RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// No revision follows `u64::MAX` (`revision.rs`).
fn revisions_exhausted() -> WriteError {
    WriteError::Storage("the revision counter is exhausted".into())
}

/// Times are kept to the millisecond, as the log records them, so an entry
/// reads the same before and after a restart.
fn to_the_millisecond(time: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(record::millis_since_epoch(time))
}

#[cfg(test)]
mod tests;
