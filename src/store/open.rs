//! Opening a data directory: take its lock, create the log if there is
//! none, replay the log into a fresh map, deal with what a crash or damage
//! left at its end (`recovery.rs` decides which is which), and report what
//! was found.
//!
//! The files, in the data directory:
//! - `httpdb.log`: the log (`record.rs` has its format);
//! - `LOCK`: held while a server uses the directory, so a second one is refused;
//! - `httpdb.log.compact`: a compaction in progress (`compaction.rs`);
//! - `httpdb.log.damaged-<time>`: the copy `--repair` keeps of a damaged log.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::compaction;
use super::log::{self, Fsync, Log};
use super::map::Map;
use super::record;
use super::recovery::{self, End, ReplayError};

/// The log file's name in the data directory.
pub const LOG_FILE: &str = "httpdb.log";
/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// An opened data directory: what a store on disk is made of.
pub(super) struct Opened {
    /// Every entry the log holds.
    pub(super) map: Map,
    /// The log, appending after its last good record.
    pub(super) log: Log,
    /// The directory's lock, held for as long as this is kept.
    pub(super) lock: File,
    /// What was found.
    pub(super) report: OpenReport,
}

/// What opening a data directory found.
#[derive(Debug)]
pub struct OpenReport {
    /// Records replayed.
    pub records: u64,
    /// Bytes of the log that were good.
    pub bytes: u64,
    /// How long opening took.
    pub elapsed: Duration,
    /// Warnings worth printing: a torn tail cut off, a repair made.
    pub warnings: Vec<String>,
}

/// Why a data directory could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Another process holds the directory's lock.
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// The log is damaged before its end; `--repair` can cut it there.
    Damaged {
        /// The log file.
        path: PathBuf,
        /// Where the first bad record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
        /// How many good records come before it.
        records: u64,
    },
    /// The log cannot be read at all.
    Unreadable {
        /// The log file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Creating, opening, reading or syncing a file failed.
    Io {
        /// What was being done, for the message.
        action: String,
        /// The error the system gave.
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

/// Opens (creating if needed) the data directory `dir`: takes its lock,
/// replays its log, and returns the log ready to append to. `repair` cuts a
/// damaged log at its first bad record, after keeping a copy.
pub(super) fn open_directory(dir: &Path, fsync: Fsync, repair: bool) -> Result<Opened, OpenError> {
    let started = Instant::now();
    let io_error = |action: String| move |error| OpenError::Io { action, error };
    fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
    let lock = lock_directory(dir)?;
    let path = dir.join(LOG_FILE);
    // A compaction that was interrupted left its new file unfinished; the
    // log itself was never touched, so the partial file is dropped.
    let _ = fs::remove_file(dir.join(compaction::TEMP_FILE));
    if !path.exists() {
        create_log(dir, &path, 0).map_err(io_error(format!("cannot create {}", path.display())))?;
    }

    let mut map = Map::default();
    let replayed =
        recovery::replay(&path, &mut |record| map.apply(record)).map_err(|error| match error {
            ReplayError::Io(error) => OpenError::Io {
                action: format!("cannot read {}", path.display()),
                error,
            },
            ReplayError::BadHeader(reason) => OpenError::Unreadable {
                path: path.clone(),
                reason,
            },
        })?;
    map.last_revision = replayed.last_revision;
    let mut warnings = Vec::new();
    match &replayed.end {
            End::Clean => {}
            End::Torn { bytes } => warnings.push(format!(
                "cut off a torn record at the end of {} (byte {}, {bytes} bytes): a write interrupted by a crash",
                path.display(),
                replayed.good_len
            )),
            End::Damaged { reason } if repair => {
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
    let log = Log::new(dir, &path, file, replayed.good_len, fsync)
        .map_err(io_error("cannot start the log".into()))?;

    let report = OpenReport {
        records: replayed.records,
        bytes: replayed.good_len,
        elapsed: started.elapsed(),
        warnings,
    };
    Ok(Opened {
        map,
        log,
        lock,
        report,
    })
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
