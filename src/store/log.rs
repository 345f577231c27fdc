//! The append-only log, and group commit.
//!
//! Every change is a record appended to one file (format: `record.rs`). A
//! write is acknowledged only once its record has reached the OS
//! (`--fsync never`, `everysec`) or stable storage (`--fsync always`).
//!
//! # Group commit
//!
//! An fsync takes about as long for one record as for a hundred (on the
//! development machine's ext4, after appending 100 bytes: 265 µs; 10 kB:
//! 370-410 µs; medians of 1,500 `write` + `fdatasync` in a loop), so writers
//! share them. A writer queues its record (under the store's lock, which
//! keeps records in revision order) and then waits for it here:
//!
//! ```text
//!   writer A: queue r1 ─ wait ─ [leader: write r1, fsync] ─────────────────── done
//!   writer B:    queue r2 ─ wait ─────────────────── [leader: write r2 r3, fsync] done
//!   writer C:       queue r3 ─ wait ──────────────────────────────────────────── done
//! ```
//!
//! If nobody is writing, the waiter becomes the leader: it takes everything
//! queued so far, writes it with one `write_all`, syncs once, and wakes,
//! with one signal, the writers whose records its batch made durable (and
//! first one writer of the next batch, to lead it). Records queued while a
//! leader was busy go out together in the next batch. No lock is held during
//! the write or the fsync, so writers keep queueing and readers keep reading.
//!
//! A change is in the store's map as soon as it is queued, but a read that
//! could return it first waits for its batch ([`Log::not_yet_durable`]), so
//! no reader ever sees a write that a crash could still undo: a crash of the
//! process in every mode, and a power cut too with `--fsync always`.
//!
//! With `everysec`, a background thread syncs once a second; with `never`,
//! the OS decides. A failed write or sync stops the log: what was
//! acknowledged is as safe as `--fsync` promised when it was acknowledged,
//! and every later write is refused until the server restarts (retrying an
//! fsync that failed can report success for data that was lost).

use std::fs::{self, File};
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use super::record::Record;

/// When a write's record is forced to stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// Before the write is acknowledged (group commit).
    Always,
    /// Once a second, by a background thread.
    EverySec,
    /// Whenever the operating system decides.
    Never,
}

impl Fsync {
    /// The mode's name, as `--fsync` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::Never => "never",
        }
    }
}

/// The log stopped after a failed write or sync; the text says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFailed(pub String);

/// Figures about the log, for `/_stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStats {
    /// The log file.
    pub path: PathBuf,
    /// When writes reach stable storage.
    pub fsync: Fsync,
    /// Bytes in the file, header included.
    pub bytes: u64,
    /// Compactions since the server started.
    pub compactions: u64,
    /// When the log was last synced to stable storage.
    pub last_sync: Option<SystemTime>,
    /// Why the log stopped accepting writes, if it did.
    pub failed: Option<String>,
    /// Batches written, and the records in them: their ratio is how many
    /// writes share each write (and, with `always`, each fsync).
    pub batches: u64,
    /// Records in those batches.
    pub records: u64,
}

pub struct Log {
    dir: PathBuf,
    path: PathBuf,
    fsync: Fsync,
    shared: Arc<Shared>,
    syncer: Option<Syncer>,
}

struct Shared {
    state: Mutex<State>,
    /// Where writers sleep until the batch their record is in is done: batch
    /// `n` signals `batch_done[n % 2]`. A record queued while batch `n` is
    /// being written goes out in batch `n + 1`, so its writer sleeps on the
    /// other variable from the one batch `n` is about to signal, and the
    /// signal at the end of a batch wakes exactly the writers it made done,
    /// with one `futex` call. Waking each writer with a call of its own let
    /// each one preempt the leader in turn: 3.9 thread switches per durable
    /// write against 2.15 now (`perf record -e context-switches`, 64
    /// writers, server pinned, wrk with `post.lua`), 2 being the floor: one
    /// for the request, one for its batch.
    batch_done: [Condvar; 2],
    /// Signalled when a batch is written while a compaction runs, for the
    /// compaction waiting to switch files.
    changed: Condvar,
    /// Copies of `State::next_seq` and of the durable mark (`synced` or
    /// `written`, by `--fsync`), readable without the lock: a read checks
    /// them to see whether anything it might return is not yet durable.
    queued: AtomicU64,
    durable: AtomicU64,
}

struct State {
    file: Arc<File>,
    /// Records waiting for the next batch, in the order they were queued.
    queue: Vec<Queued>,
    /// The sequence number the next queued record gets.
    next_seq: u64,
    /// Every record with a lower sequence number is in the file.
    written: u64,
    /// Every record with a lower sequence number is on stable storage.
    synced: u64,
    /// A leader is writing a batch.
    writing: bool,
    /// Batches started so far: the one being written, if `writing`, is this
    /// number ...
    batches_started: u64,
    /// ... and holds the records numbered below this.
    writing_upto: u64,
    /// A compaction is replacing the file; no batch may start.
    switching: bool,
    failed: Option<String>,
    file_bytes: u64,
    queued_bytes: u64,
    /// While a compaction runs: the records written since its snapshot.
    compaction: Option<Tail>,
    compactions: u64,
    last_sync: Option<SystemTime>,
    batches: u64,
    records: u64,
    /// The encoding buffer, kept between batches.
    buffer: Vec<u8>,
}

struct Queued {
    seq: u64,
    record: Record,
}

struct Tail {
    from_seq: u64,
    records: Vec<Record>,
}

/// A queued record's place in line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// The background thread of `--fsync everysec`.
struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// The largest encoding buffer kept for the next batch.
const KEEP_BUFFER: usize = 1 << 20;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until the end of batch number `batch`.
    fn wait_for_batch<'a>(
        &self,
        state: MutexGuard<'a, State>,
        batch: u64,
    ) -> MutexGuard<'a, State> {
        self.batch_done[(batch % 2) as usize]
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every writer asleep on either batch: the log failed, or a
    /// compaction held batches back and they may go on.
    fn wake_everyone(&self) {
        for done in &self.batch_done {
            done.notify_all();
        }
    }
}

impl Log {
    /// Starts appending to `file`, a log of `file_len` valid bytes at `path`.
    pub fn new(
        dir: &Path,
        path: &Path,
        file: File,
        file_len: u64,
        fsync: Fsync,
    ) -> io::Result<Log> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                file: Arc::new(file),
                queue: Vec::new(),
                next_seq: 0,
                written: 0,
                synced: 0,
                writing: false,
                batches_started: 0,
                writing_upto: 0,
                switching: false,
                failed: None,
                file_bytes: file_len,
                queued_bytes: 0,
                compaction: None,
                compactions: 0,
                last_sync: None,
                batches: 0,
                records: 0,
                buffer: Vec::new(),
            }),
            batch_done: [Condvar::new(), Condvar::new()],
            changed: Condvar::new(),
            queued: AtomicU64::new(0),
            durable: AtomicU64::new(0),
        });
        let syncer = match fsync {
            Fsync::EverySec => Some(Syncer::start(Arc::clone(&shared), path.to_owned())?),
            Fsync::Always | Fsync::Never => None,
        };
        Ok(Log {
            dir: dir.to_owned(),
            path: path.to_owned(),
            fsync,
            shared,
            syncer,
        })
    }

    /// Queues a record. Call it under the store's lock, so that records are
    /// queued in revision order. Returns the ticket to [`Log::wait`] on and
    /// the size the log will have once everything queued is written.
    pub fn queue(&self, record: Record) -> Result<(Ticket, u64), LogFailed> {
        let mut state = self.shared.lock();
        if let Some(reason) = &state.failed {
            return Err(LogFailed(reason.clone()));
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        self.shared.queued.store(state.next_seq, Ordering::Release);
        state.queued_bytes += record.encoded_len() as u64;
        state.queue.push(Queued { seq, record });
        Ok((Ticket(seq), state.file_bytes + state.queued_bytes))
    }

    /// The ticket of the last record queued, if it is not yet durable. Call
    /// it under the store's lock, with the data a read is about to return;
    /// waiting on the ticket then makes sure that data cannot be undone.
    pub fn not_yet_durable(&self) -> Option<Ticket> {
        let queued = self.shared.queued.load(Ordering::Acquire);
        (self.shared.durable.load(Ordering::Acquire) < queued).then(|| Ticket(queued - 1))
    }

    /// Returns once the record of `ticket` is as durable as `--fsync` promises.
    pub fn wait(&self, Ticket(seq): Ticket) -> Result<(), LogFailed> {
        // Without the lock: a reader whose change is already durable goes on
        // at once.
        if self.shared.durable.load(Ordering::Acquire) > seq {
            return Ok(());
        }
        let mut state = self.shared.lock();
        loop {
            if self.durable_mark(&state) > seq {
                return Ok(());
            }
            if let Some(reason) = &state.failed {
                return Err(LogFailed(reason.clone()));
            }
            if !state.writing && !state.switching {
                self.write_batch(state);
                state = self.shared.lock();
                continue;
            }
            // The record is in the batch being written, or it goes out in
            // the next one (also while a compaction holds batches back). The
            // end of that batch wakes this writer; the end of the one before
            // it may wake it first, to lead it.
            let batch = if state.writing && seq < state.writing_upto {
                state.batches_started
            } else {
                state.batches_started + 1
            };
            state = self.shared.wait_for_batch(state, batch);
        }
    }

    /// Every record below this sequence number is as durable as `--fsync`
    /// promises.
    fn durable_mark(&self, state: &State) -> u64 {
        match self.fsync {
            Fsync::Always => state.synced,
            Fsync::EverySec | Fsync::Never => state.written,
        }
    }

    /// As the leader: writes every queued record with one `write`, syncs if
    /// `--fsync always`, and wakes the writers waiting for them.
    fn write_batch(&self, mut state: MutexGuard<'_, State>) {
        state.writing = true;
        state.batches_started += 1;
        let number = state.batches_started;
        let batch = mem::take(&mut state.queue);
        let upto = state.next_seq;
        state.writing_upto = upto;
        let file = Arc::clone(&state.file);
        let mut buffer = mem::take(&mut state.buffer);
        drop(state);

        buffer.clear();
        for queued in &batch {
            queued.record.encode(&mut buffer);
        }
        let mut result = (&*file).write_all(&buffer);
        if result.is_ok() && self.fsync == Fsync::Always {
            result = file.sync_data();
        }

        let mut state = self.shared.lock();
        state.writing = false;
        match result {
            Ok(()) => {
                state.batches += 1;
                state.records += batch.len() as u64;
                state.written = upto;
                self.shared.durable.store(upto, Ordering::Release);
                if self.fsync == Fsync::Always {
                    state.synced = upto;
                    state.last_sync = Some(SystemTime::now());
                }
                state.file_bytes += buffer.len() as u64;
                state.queued_bytes -= buffer.len() as u64;
                if let Some(tail) = &mut state.compaction {
                    let from = tail.from_seq;
                    tail.records.extend(
                        batch
                            .into_iter()
                            .filter(|q| q.seq >= from)
                            .map(|q| q.record),
                    );
                }
            }
            Err(error) => {
                state.failed = Some(format!("writing {} failed: {error}", self.path.display()));
            }
        }
        if buffer.capacity() <= KEEP_BUFFER {
            state.buffer = buffer;
        }
        let failed = state.failed.is_some();
        let next_is_waiting = !state.queue.is_empty();
        // Only a compaction waits on `changed`, and only while it runs; a
        // signal costs a `futex` call even when nobody waits.
        let compaction_waits = state.compaction.is_some();
        drop(state);
        // Wake one writer of the next batch to lead it, if records wait for
        // it (any will do: each waits for its own record anyway), and then
        // the writers this batch made done. In that order: woken together,
        // they tend to run in the order they were woken, and the sooner the
        // next batch is on its way to the disk, the more of the responses to
        // this one are sent while the disk works (measured: the gap between
        // two batches' fsyncs went from about 225 to 125 µs, and 64 writers
        // from about 31k to 34k writes/s, server pinned, wrk post.lua).
        if failed {
            self.shared.wake_everyone();
        } else {
            if next_is_waiting {
                self.shared.batch_done[((number + 1) % 2) as usize].notify_one();
            }
            self.shared.batch_done[(number % 2) as usize].notify_all();
        }
        if compaction_waits {
            self.shared.changed.notify_all();
        }
    }

    /// Marks the start of a compaction: from now on, written records are
    /// also kept for the new file. Call it under the store's lock, at the
    /// moment the snapshot is taken.
    pub fn begin_compaction(&self) {
        let mut state = self.shared.lock();
        let from_seq = state.next_seq;
        state.compaction = Some(Tail {
            from_seq,
            records: Vec::new(),
        });
    }

    /// Gives up a compaction begun with [`Log::begin_compaction`].
    pub fn abort_compaction(&self) {
        self.shared.lock().compaction = None;
    }

    /// Ends a compaction: appends to `new_file` (which holds the snapshot,
    /// opened in append mode at `new_path`) the records written since the
    /// snapshot, syncs it, renames it over the log, syncs the directory, and
    /// appends to it from then on. Batches are held back from the appending
    /// of those records until the directory is synced; writers keep queueing
    /// meanwhile, and readers keep reading.
    pub fn finish_compaction(&self, mut new_file: File, new_path: &Path) -> io::Result<u64> {
        let tail = {
            let mut state = self.shared.lock();
            // Wait until every record the snapshot holds has been written (or
            // has failed): a record in the snapshot whose own write failed
            // after the switch would otherwise come back from the new file.
            loop {
                if state.writing {
                    state = self.shared.wait(state);
                    continue;
                }
                let snapshot_upto = state.compaction.as_ref().map_or(0, |tail| tail.from_seq);
                if state.failed.is_none() && state.written < snapshot_upto {
                    self.write_batch(state);
                    state = self.shared.lock();
                    continue;
                }
                break;
            }
            if let Some(reason) = state.failed.clone() {
                // The records of a failed batch are in the map but were
                // never acknowledged; the snapshot must not make them stick.
                state.compaction = None;
                return Err(io::Error::other(format!("the log has failed: {reason}")));
            }
            state.switching = true;
            state
                .compaction
                .take()
                .map(|tail| tail.records)
                .unwrap_or_default()
        };
        let written = (|| {
            let mut buffer = Vec::new();
            for record in &tail {
                record.encode(&mut buffer);
            }
            new_file.write_all(&buffer)?;
            new_file.sync_all()?;
            new_file.metadata().map(|metadata| metadata.len())
        })();
        // Once the rename has happened, the new file is the log whatever
        // comes next: appending to the old one would write to a file that
        // no longer has a name, and lose every write after this.
        let renamed = written.and_then(|len| fs::rename(new_path, &self.path).map(|()| len));
        // The rename must be durable before anything written to the new file
        // is acknowledged, so batches stay held back (`switching`) until the
        // directory is synced; but the lock is not held meanwhile, since a
        // writer queueing a record needs it, under the store's lock.
        let directory_synced = match &renamed {
            Ok(_) => sync_directory(&self.dir),
            Err(_) => Ok(()),
        };

        let mut state = self.shared.lock();
        state.switching = false;
        let result = match renamed {
            Ok(len) => {
                state.file = Arc::new(new_file);
                state.file_bytes = len;
                // The new file was synced whole, so everything written is durable.
                state.synced = state.written;
                state.last_sync = Some(SystemTime::now());
                state.compactions += 1;
                match directory_synced {
                    Ok(()) => Ok(len),
                    Err(error) => {
                        // The rename may not survive a power cut; nothing
                        // acknowledged from now on could be promised either.
                        state.failed = Some(format!(
                            "syncing {} after a compaction failed: {error}",
                            self.dir.display()
                        ));
                        Err(error)
                    }
                }
            }
            Err(error) => Err(error),
        };
        drop(state);
        // Batches were held back while the file was switched: the writers
        // waiting for them go on (one of them leads).
        self.shared.wake_everyone();
        self.shared.changed.notify_all();
        result
    }

    pub fn stats(&self) -> LogStats {
        let state = self.shared.lock();
        LogStats {
            path: self.path.clone(),
            fsync: self.fsync,
            bytes: state.file_bytes,
            compactions: state.compactions,
            last_sync: state.last_sync,
            failed: state.failed.clone(),
            batches: state.batches,
            records: state.records,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Log {
    /// Stops the syncer and syncs what was written, so that a program that
    /// drops its store (a test, or one that embeds the library) loses
    /// nothing in any mode. The `httpdb` binary, stopped by a signal, never
    /// gets here: it keeps what `--fsync` promised.
    fn drop(&mut self) {
        if let Some(mut syncer) = self.syncer.take() {
            syncer.stop();
        }
        sync_written(&self.shared, &self.path);
    }
}

impl Syncer {
    fn start(shared: Arc<Shared>, path: PathBuf) -> io::Result<Syncer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("httpdb-fsync".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    guard = match wake.wait_timeout_while(guard, Duration::from_secs(1), |s| !*s) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                    if *guard {
                        return;
                    }
                    sync_written(&shared, &path);
                }
            })?;
        Ok(Syncer {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Syncs the file if anything written is not yet synced.
fn sync_written(shared: &Shared, path: &Path) {
    let (file, target) = {
        let state = shared.lock();
        if state.written == state.synced || state.failed.is_some() {
            return;
        }
        (Arc::clone(&state.file), state.written)
    };
    let result = file.sync_data();
    let mut state = shared.lock();
    match result {
        Ok(()) => {
            state.synced = state.synced.max(target);
            state.last_sync = Some(SystemTime::now());
        }
        Err(error) => {
            state.failed = Some(format!("syncing {} failed: {error}", path.display()));
        }
    }
}

/// Makes a rename or a new file in `dir` durable: the directory entry is
/// data too (POSIX leaves it to fsync on the directory).
pub fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
