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
//! keep-alive clients and the server on one core: p99 0.9-1.2 s with a
//! `Mutex`, 13-16 ms with readers sharing the lock.
//!
//! A write is applied to the map, then waits (outside the lock) until its
//! record is durable (`log.rs`), and only then returns, so its caller
//! acknowledges nothing that a crash could lose. A read that could see a
//! change not yet durable waits for the same group commit before it returns,
//! so no reader sees a write that a crash could undo.
//!
//! The files, in the data directory:
//! - `httpdb.log`: the log (`record.rs` has its format);
//! - `LOCK`: held while a server uses the directory, so a second one is refused;
//! - `httpdb.log.compact`: a compaction in progress (`compaction.rs`);
//! - `httpdb.log.damaged-<time>`: the copy `--repair` keeps of a damaged log.
//!
//! The store knows nothing of HTTP: keys are strings, conditions are
//! closures over the current entry.

mod compaction;
mod crc32;
mod key;
mod log;
mod record;
mod recovery;
mod revision;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use key::Key;
pub use log::{Fsync, LogStats};
use log::{Log, Ticket};
use record::{Change, ChangeView, Record, RecordView};
use recovery::{End, ReplayError};

/// The log file's name in the data directory.
pub const LOG_FILE: &str = "httpdb.log";
/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// One stored value and what is known about it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Arc<[u8]>,
    pub content_type: Arc<str>,
    pub revision: u64,
    pub modified: SystemTime,
}

/// An entry as the map holds it: like [`Entry`], with the time as
/// milliseconds, which takes half the room of a `SystemTime`.
#[derive(Clone, Debug)]
struct Stored {
    value: Arc<[u8]>,
    content_type: Arc<str>,
    revision: u64,
    modified_ms: u64,
}

impl Stored {
    fn new(
        value: Arc<[u8]>,
        content_type: Arc<str>,
        revision: u64,
        modified: SystemTime,
    ) -> Stored {
        Stored {
            value,
            content_type,
            revision,
            modified_ms: record::millis_since_epoch(modified),
        }
    }

    fn entry(&self) -> Entry {
        Entry {
            value: Arc::clone(&self.value),
            content_type: Arc::clone(&self.content_type),
            revision: self.revision,
            modified: UNIX_EPOCH + Duration::from_millis(self.modified_ms),
        }
    }
}

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
    Existed { revision: u64 },
    /// There was nothing to delete.
    Absent,
}

/// Why a write did not happen, or was not made durable.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The caller's condition was false; `current` is the key's revision.
    ConditionFailed { current: Option<u64> },
    /// The key or value is larger than a log record can hold.
    TooLarge,
    /// The log could not be written; nothing more can be stored until the
    /// server restarts. The write was not acknowledged.
    Storage(String),
}

/// The log failed, so what the store holds may include changes that were
/// never made durable: reads are refused until the server restarts.
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
    pub keys: usize,
    pub value_bytes: u64,
    pub last_revision: u64,
    /// Bytes the live entries would take in a freshly compacted log.
    pub live_log_bytes: u64,
    /// `None` for an in-memory store.
    pub log: Option<LogStats>,
}

/// How a store on disk behaves.
#[derive(Clone, Debug)]
pub struct StoreOptions {
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

/// What opening a data directory found.
#[derive(Debug)]
pub struct OpenReport {
    pub records: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Warnings worth printing: a torn tail cut off, a repair made.
    pub warnings: Vec<String>,
}

/// Why a data directory could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Another process holds the directory's lock.
    Locked {
        dir: PathBuf,
    },
    /// The log is damaged before its end; `--repair` can cut it there.
    Damaged {
        path: PathBuf,
        offset: u64,
        reason: String,
        records: u64,
    },
    /// The log cannot be read at all.
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Io {
        action: String,
        error: io::Error,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Locked { dir } => write!(
                f,
                "{} is in use by another httpdb (it holds {})",
                dir.display(),
                dir.join(LOCK_FILE).display()
            ),
            OpenError::Damaged {
                path,
                offset,
                reason,
                records,
            } => write!(
                f,
                "{} is damaged at byte {offset}: {reason}; the {records} records before it are intact. \
                 Start with --repair to keep a copy of the file and cut it at that byte",
                path.display()
            ),
            OpenError::Unreadable { path, reason } => {
                write!(f, "{} cannot be used: {reason}", path.display())
            }
            OpenError::Io { action, error } => write!(f, "{action}: {error}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// The store. Share it between threads with an `Arc`.
pub struct Store {
    state: RwLock<State>,
    disk: Option<Disk>,
    /// The `Arc` this store lives in, for starting a background compaction.
    myself: Weak<Store>,
}

/// What a store on disk has besides the map.
struct Disk {
    log: Log,
    options: StoreOptions,
    /// Held for the life of the store: the directory's lock.
    _lock: File,
    /// A compaction is running.
    compacting: AtomicBool,
    /// After a failed compaction, the log size at which to try again.
    retry_compaction_at: AtomicU64,
    /// Serialises compactions started by a trigger and by [`Store::compact`].
    compaction_turn: Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<Key, Stored>,
    last_revision: u64,
    value_bytes: u64,
    live_log_bytes: u64,
    /// One shared copy of each content type in use: a million values of
    /// `text/plain` share one string instead of holding a million.
    content_types: HashSet<Arc<str>>,
}

/// The most distinct content types shared; past this, each value keeps its
/// own copy, so a client inventing types cannot grow the set without bound.
const MAX_SHARED_CONTENT_TYPES: usize = 1024;
/// The longest content type shared: real ones are short, and a long one
/// kept forever would be memory a client could pin.
const MAX_SHARED_CONTENT_TYPE_LEN: usize = 128;

impl State {
    /// The shared copy of `content_type`.
    fn shared_content_type(&mut self, content_type: &str) -> Arc<str> {
        if let Some(shared) = self.content_types.get(content_type) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = content_type.into();
        if self.content_types.len() < MAX_SHARED_CONTENT_TYPES
            && content_type.len() <= MAX_SHARED_CONTENT_TYPE_LEN
        {
            self.content_types.insert(Arc::clone(&shared));
        }
        shared
    }

    /// Adds or replaces an entry, keeping the totals. Returns whether the
    /// key is new.
    fn insert(&mut self, key: Key, stored: Stored) -> bool {
        self.count(key.len(), &stored, true);
        match self.entries.get_mut(key.as_bytes()) {
            // A rewrite keeps the key the map already holds.
            Some(current) => {
                let previous = std::mem::replace(current, stored);
                self.count(key.len(), &previous, false);
                false
            }
            None => {
                self.entries.insert(key, stored);
                true
            }
        }
    }

    /// Applies a change read back from the log.
    fn apply(&mut self, record: RecordView<'_>) {
        match record.change {
            ChangeView::Put {
                content_type,
                value,
            } => {
                let content_type = self.shared_content_type(content_type);
                let stored =
                    Stored::new(value.into(), content_type, record.revision, record.modified);
                self.insert(Key::new(record.key), stored);
            }
            ChangeView::Delete => {
                self.remove(record.key);
            }
        }
    }

    /// Removes an entry, keeping the totals.
    fn remove(&mut self, key: &str) -> Option<Stored> {
        let removed = self.entries.remove(key.as_bytes())?;
        self.count(key.len(), &removed, false);
        Some(removed)
    }

    fn count(&mut self, key_len: usize, stored: &Stored, added: bool) {
        let value = stored.value.len() as u64;
        let record = record::put_len(key_len, stored.content_type.len(), stored.value.len()) as u64;
        if added {
            self.value_bytes += value;
            self.live_log_bytes += record;
        } else {
            self.value_bytes -= value;
            self.live_log_bytes -= record;
        }
    }
}

impl Store {
    /// An empty store that keeps nothing on disk.
    pub fn in_memory() -> Store {
        Store {
            state: RwLock::default(),
            disk: None,
            myself: Weak::new(),
        }
    }

    /// Opens (creating if needed) the store in `dir`: takes the directory's
    /// lock, replays the log, and appends to it from then on.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<(Arc<Store>, OpenReport), OpenError> {
        let started = Instant::now();
        let io_error = |action: String| move |error| OpenError::Io { action, error };
        fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
        let lock = lock_directory(dir)?;
        let path = dir.join(LOG_FILE);
        // A compaction that was interrupted left its new file unfinished; the
        // log itself was never touched, so the partial file is dropped.
        let _ = fs::remove_file(dir.join(compaction::TEMP_FILE));
        if !path.exists() {
            create_log(dir, &path, 0)
                .map_err(io_error(format!("cannot create {}", path.display())))?;
        }

        let mut state = State::default();
        let replayed = recovery::replay(&path, &mut |record| state.apply(record)).map_err(
            |error| match error {
                ReplayError::Io(error) => OpenError::Io {
                    action: format!("cannot read {}", path.display()),
                    error,
                },
                ReplayError::BadHeader(reason) => OpenError::Unreadable {
                    path: path.clone(),
                    reason,
                },
            },
        )?;
        state.last_revision = replayed.last_revision;
        let mut warnings = Vec::new();
        match &replayed.end {
            End::Clean => {}
            End::Torn { bytes } => warnings.push(format!(
                "cut off a torn record at the end of {} (byte {}, {bytes} bytes): a write interrupted by a crash",
                path.display(),
                replayed.good_len
            )),
            End::Damaged { reason } if options.repair => {
                let backup = dir.join(format!(
                    "{LOG_FILE}.damaged-{}",
                    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
                ));
                fs::copy(&path, &backup)
                    .and_then(|_| File::open(&backup)?.sync_all())
                    .map_err(io_error(format!("cannot back up {} to {}", path.display(), backup.display())))?;
                warnings.push(format!(
                    "repaired {}: {reason} at byte {}; kept the {} records before it, and the whole damaged file as {}",
                    path.display(),
                    replayed.good_len,
                    replayed.records,
                    backup.display()
                ));
            }
            End::Damaged { reason } => {
                return Err(OpenError::Damaged {
                    path,
                    offset: replayed.good_len,
                    reason: reason.clone(),
                    records: replayed.records,
                });
            }
        }

        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_error(format!("cannot open {}", path.display())))?;
        // New records must follow the last good one, not the garbage. And
        // what was replayed may still be only in the OS's cache (after a
        // crash of the process under `everysec` or `never`); it is served
        // as durable from now on, so it is synced first.
        if replayed.end != End::Clean {
            file.set_len(replayed.good_len)
                .and_then(|()| file.sync_all())
                .map_err(io_error(format!(
                    "cannot cut {} at byte {}",
                    path.display(),
                    replayed.good_len
                )))?;
        }
        file.sync_all()
            .map_err(io_error(format!("cannot sync {}", path.display())))?;
        let log = Log::new(dir, &path, file, replayed.good_len, options.fsync)
            .map_err(io_error("cannot start the log".into()))?;

        let report = OpenReport {
            records: replayed.records,
            bytes: replayed.good_len,
            elapsed: started.elapsed(),
            warnings,
        };
        let store = Arc::new_cyclic(|myself| Store {
            state: RwLock::new(state),
            disk: Some(Disk {
                log,
                options,
                _lock: lock,
                compacting: AtomicBool::new(false),
                retry_compaction_at: AtomicU64::new(0),
                compaction_turn: Mutex::new(()),
            }),
            myself: myself.clone(),
        });
        Ok((store, report))
    }

    /// The entry under `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Entry>, StorageFailed> {
        let (entry, pending) = {
            let state = self.read();
            (
                state.entries.get(key.as_bytes()).map(Stored::entry),
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
    /// wait is for the group commit already under way, and is skipped when
    /// nothing is pending. If the log has failed, what is pending will never
    /// be durable, and the read is refused.
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
            let mut state = self.write();
            let current = state.entries.get(key.as_bytes());
            if !condition(current.map(Stored::entry).as_ref()) {
                let error = WriteError::ConditionFailed {
                    current: current.map(|stored| stored.revision),
                };
                let pending = self.not_yet_durable();
                drop(state);
                return self.refuse(error, pending);
            }
            let revision = revision::next(state.last_revision).ok_or_else(revisions_exhausted)?;
            let modified = now_to_the_millisecond();
            let content_type = state.shared_content_type(content_type);
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
            let ticket = self.queue_record(&state, record)?;
            state.last_revision = revision;
            let created = state.insert(
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
            let mut state = self.write();
            let Some(current) = state.entries.get(key.as_bytes()) else {
                let pending = self.not_yet_durable();
                drop(state);
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
                drop(state);
                return self.refuse(error, pending);
            }
            let revision = revision::next(state.last_revision).ok_or_else(revisions_exhausted)?;
            let record = Record {
                revision,
                modified: now_to_the_millisecond(),
                key: Key::new(key),
                change: Change::Delete,
            };
            let ticket = self.queue_record(&state, record)?;
            state.last_revision = revision;
            state.remove(key);
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
    fn queue_record(&self, state: &State, record: Record) -> Result<Option<Ticket>, WriteError> {
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
        let options = &disk.options;
        if log_bytes > options.compact_min_bytes
            && log_bytes > options.compact_ratio.saturating_mul(state.live_log_bytes)
            && log_bytes > disk.retry_compaction_at.load(Ordering::Relaxed)
            && !disk.compacting.swap(true, Ordering::AcqRel)
        {
            compaction::start_in_background(self);
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
            let state = self.read();
            let entries = state
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
            let state = self.read();
            let keys = state
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

    pub fn stats(&self) -> StoreStats {
        let (keys, value_bytes, last_revision, live_log_bytes) = {
            let state = self.read();
            (
                state.entries.len(),
                state.value_bytes,
                state.last_revision,
                state.live_log_bytes,
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
        compaction::run(self)
    }

    /// Takes the lock to read. Readers share it, so a reader that the
    /// scheduler pauses while it holds the lock does not stop the others.
    ///
    /// Nothing done under the lock can panic halfway through a change, so if
    /// another thread panicked while holding it (a poisoned lock), the map is
    /// still consistent and is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the lock to change the map: alone.
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// No revision follows `u64::MAX` (`revision.rs`).
fn revisions_exhausted() -> WriteError {
    WriteError::Storage("the revision counter is exhausted".into())
}

/// Times are kept to the millisecond, as the log records them, so an entry
/// reads the same before and after a restart.
fn now_to_the_millisecond() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(record::millis_since_epoch(SystemTime::now()))
}

/// Takes `dir/LOCK` for this process, or says who has it.
fn lock_directory(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let io_error = |error| OpenError::Io {
        action: format!("cannot open {}", path.display()),
        error,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(OpenError::Locked {
                dir: dir.to_owned(),
            });
        }
        Err(TryLockError::Error(error)) => return Err(io_error(error)),
    }
    // For people: which process holds it.
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(file)
}

/// Creates an empty log at `path` and makes it durable.
fn create_log(dir: &Path, path: &Path, base_revision: u64) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(&record::encode_file_header(base_revision))?;
    file.sync_all()?;
    log::sync_directory(dir)
}

#[cfg(test)]
mod tests;
