//! The store in process: the map's behaviour, and the log's promises —
//! replay, torn tails, damage and repair, the lock, revisions across
//! restarts, and compaction under concurrent writes. (Killing a real process
//! is in `tests/durability.rs`.)

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use super::*;

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "httpdb-store-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn log(&self) -> PathBuf {
        self.0.join(LOG_FILE)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &TempDir) -> Arc<Store> {
    open_with(dir, StoreOptions::default()).0
}

fn open_with(dir: &TempDir, options: StoreOptions) -> (Arc<Store>, OpenReport) {
    Store::open(&dir.0, options).expect("open")
}

fn put(store: &Store, key: &str, value: &str) -> Written {
    store
        .put(key, "text/plain", value.as_bytes().to_vec(), |_| true)
        .expect("put")
}

fn value(store: &Store, key: &str) -> Option<String> {
    store
        .get(key)
        .expect("readable")
        .map(|entry| String::from_utf8_lossy(&entry.value).into_owned())
}

/// Every key and value, for comparing two stores.
fn contents(store: &Store) -> Vec<(String, String, String, u64)> {
    store
        .entries()
        .expect("readable")
        .into_iter()
        .map(|(key, entry)| {
            (
                key.to_string(),
                String::from_utf8_lossy(&entry.value).into_owned(),
                entry.content_type.to_string(),
                entry.revision,
            )
        })
        .collect()
}

#[test]
fn put_get_replace_delete() {
    let store = Store::in_memory();
    let first = put(&store, "/a", "one");
    assert!(first.created);
    let second = put(&store, "/a", "two!");
    assert!(!second.created);
    assert!(second.revision > first.revision, "revisions grow");
    let entry = store.get("/a").unwrap().unwrap();
    assert_eq!(&*entry.value, b"two!");
    assert_eq!(&*entry.content_type, "text/plain");
    assert_eq!(entry.revision, second.revision);
    let stats = store.stats();
    assert_eq!(
        (stats.keys, stats.value_bytes, stats.last_revision),
        (1, 4, second.revision)
    );
    let Ok(Deleted::Existed { revision: deleted }) = store.delete("/a", |_| true) else {
        panic!("the key existed");
    };
    assert!(deleted > second.revision, "a delete takes a revision too");
    assert_eq!(store.delete("/a", |_| true), Ok(Deleted::Absent));
    assert!(store.get("/a").unwrap().is_none());
    let stats = store.stats();
    assert_eq!(
        (
            stats.keys,
            stats.value_bytes,
            stats.last_revision,
            stats.live_log_bytes
        ),
        (0, 0, deleted, 0)
    );
    assert!(stats.log.is_none());
}

#[test]
fn conditions_run_against_the_current_entry() {
    let store = Store::in_memory();
    let create_only = |current: Option<&Entry>| current.is_none();
    let created = store
        .put("/k", "t", b"1".to_vec(), create_only)
        .expect("created");
    let current = Some(created.revision);
    assert_eq!(
        store.put("/k", "t", b"2".to_vec(), create_only),
        Err(WriteError::ConditionFailed { current })
    );
    assert_eq!(
        store.delete("/k", |entry| entry.revision != created.revision),
        Err(WriteError::ConditionFailed { current })
    );
    assert_eq!(&*store.get("/k").unwrap().unwrap().value, b"1");
    assert_eq!(
        store.stats().last_revision,
        created.revision,
        "a refused write takes no revision"
    );
}

#[test]
fn key_pages() {
    let store = Store::in_memory();
    for key in ["/a", "/b/1", "/b/2", "/b/3", "/c"] {
        put(&store, key, "x");
    }
    assert_eq!(store.keys("/b/", None, 2).unwrap(), vec!["/b/1", "/b/2"]);
    assert_eq!(store.keys("/b/", Some("/b/2"), 2).unwrap(), vec!["/b/3"]);
    assert_eq!(store.keys("", Some("/b/3"), 10).unwrap(), vec!["/c"]);
    assert_eq!(
        store.keys("/b/", Some("/a"), 10).unwrap(),
        vec!["/b/1", "/b/2", "/b/3"]
    );
    assert_eq!(store.keys("/z", None, 10).unwrap(), Vec::<String>::new());
}

#[test]
fn live_log_bytes_match_a_compacted_log() {
    let dir = TempDir::new("live");
    let store = open(&dir);
    for i in 0..50 {
        put(&store, &format!("/k{}", i % 7), &"v".repeat(i));
    }
    store.delete("/k3", |_| true).expect("delete");
    store.compact().expect("compact");
    let stats = store.stats();
    let log = stats.log.expect("a log");
    assert_eq!(
        log.bytes,
        record::FILE_HEADER_LEN as u64 + stats.live_log_bytes
    );
    assert_eq!(fs::metadata(dir.log()).unwrap().len(), log.bytes);
}

#[test]
fn a_reopened_store_has_everything_and_revisions_go_on() {
    let dir = TempDir::new("reopen");
    let (before, last) = {
        let store = open(&dir);
        put(&store, "/a", "1");
        put(&store, "/b", "2");
        put(&store, "/a", "3");
        store
            .put("/bin", "application/octet-stream", vec![0, 255, 10], |_| {
                true
            })
            .unwrap();
        store.delete("/b", |_| true).unwrap();
        (contents(&store), store.stats().last_revision)
    };
    let store = open(&dir);
    assert_eq!(contents(&store), before);
    assert!(
        store.get("/b").unwrap().is_none(),
        "deletes survive a restart"
    );
    assert_eq!(store.stats().last_revision, last);
    assert!(put(&store, "/c", "4").revision > last);
}

#[test]
fn revisions_never_repeat_even_when_the_newest_was_a_delete_and_the_log_was_compacted() {
    let dir = TempDir::new("revisions");
    let deleted = {
        let store = open(&dir);
        put(&store, "/keep", "x");
        put(&store, "/gone", "y");
        let Ok(Deleted::Existed { revision }) = store.delete("/gone", |_| true) else {
            panic!("the key existed");
        };
        store.compact().unwrap();
        revision
    };
    let store = open(&dir);
    assert_eq!(store.stats().last_revision, deleted);
    assert!(put(&store, "/gone", "again").revision > deleted);
}

/// Every revision a store hands out, in order: the ETag rule needs them all
/// to stay unique for each key, whatever happens to the directory.
fn revisions_of(store: &Store, writes: &[(&str, &str)]) -> Vec<u64> {
    writes
        .iter()
        .map(|(key, value)| put(store, key, value).revision)
        .collect()
}

#[test]
fn a_wiped_directory_starts_above_every_revision_it_gave_out() {
    let dir = TempDir::new("wiped");
    let given = revisions_of(&open(&dir), &[("/k", "a"), ("/k", "b"), ("/k", "c")]);
    fs::remove_dir_all(&dir.0).unwrap();
    let again = put(&open(&dir), "/k", "other bytes").revision;
    assert!(
        given.iter().all(|&old| again > old),
        "{again} must be above {given:?}"
    );
}

#[test]
fn a_restored_older_log_starts_above_every_revision_given_out_since() {
    let dir = TempDir::new("restored");
    let backup = dir.0.with_extension("backup");
    let (kept, lost) = {
        let store = open(&dir);
        let kept = revisions_of(&store, &[("/k", "a")]);
        fs::copy(dir.log(), &backup).unwrap();
        (kept, revisions_of(&store, &[("/k", "b"), ("/k", "c")]))
    };
    fs::copy(&backup, dir.log()).unwrap();
    fs::remove_file(&backup).unwrap();
    let store = open(&dir);
    let entry = store.get("/k").unwrap().unwrap();
    assert_eq!(
        (&*entry.value, entry.revision),
        (&b"a"[..], kept[0]),
        "the restored log serves its own version under its own ETag"
    );
    let again = put(&store, "/k", "d").revision;
    assert!(
        lost.iter().all(|&old| again > old),
        "{again} must be above the revisions the restore forgot, {lost:?}"
    );
}

/// Writes four records and returns where the last one starts and ends.
fn four_records(dir: &TempDir) -> (u64, u64) {
    let store = open(dir);
    put(&store, "/one", "1");
    put(&store, "/two", "22");
    put(&store, "/three", "333");
    let start = store.stats().log.unwrap().bytes;
    put(&store, "/four", "a value long enough to cut in many places");
    let end = store.stats().log.unwrap().bytes;
    (start, end)
}

#[test]
fn a_log_cut_anywhere_in_its_last_record_keeps_everything_before_it() {
    let original = TempDir::new("torn-original");
    let (start, end) = four_records(&original);
    let bytes = fs::read(original.log()).unwrap();
    assert_eq!(bytes.len() as u64, end);
    for cut in start + 1..end {
        let dir = TempDir::new("torn");
        fs::create_dir_all(&dir.0).unwrap();
        fs::write(dir.log(), &bytes[..cut as usize]).unwrap();
        {
            let (store, report) = open_with(&dir, StoreOptions::default());
            assert_eq!(report.records, 3, "cut at {cut}");
            assert_eq!(report.warnings.len(), 1, "cut at {cut}");
            assert!(
                report.warnings[0].contains(&format!("byte {start}")),
                "{:?}",
                report.warnings
            );
            assert_eq!(value(&store, "/three").as_deref(), Some("333"));
            assert!(store.get("/four").unwrap().is_none());
            assert_eq!(
                fs::metadata(dir.log()).unwrap().len(),
                start,
                "the torn bytes are cut off"
            );
            put(&store, "/five", "5");
        }
        let (store, report) = open_with(&dir, StoreOptions::default());
        assert!(
            report.warnings.is_empty(),
            "cut at {cut}: {:?}",
            report.warnings
        );
        assert_eq!(report.records, 4);
        assert_eq!(value(&store, "/one").as_deref(), Some("1"));
        assert_eq!(value(&store, "/five").as_deref(), Some("5"));
    }
}

#[test]
fn a_bad_checksum_on_the_last_record_is_a_torn_tail() {
    let dir = TempDir::new("torn-crc");
    let (start, end) = four_records(&dir);
    let mut bytes = fs::read(dir.log()).unwrap();
    bytes[(end - 2) as usize] ^= 0x40;
    fs::write(dir.log(), &bytes).unwrap();
    let (store, report) = open_with(&dir, StoreOptions::default());
    assert_eq!(report.records, 3);
    assert!(report.warnings[0].contains(&format!("byte {start}")));
    assert!(store.get("/four").unwrap().is_none());
}

#[test]
fn zeros_at_the_end_are_a_torn_tail() {
    let dir = TempDir::new("zeros");
    let (_, end) = four_records(&dir);
    let mut bytes = fs::read(dir.log()).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(dir.log(), &bytes).unwrap();
    let (store, report) = open_with(&dir, StoreOptions::default());
    assert_eq!(report.records, 4);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(fs::metadata(dir.log()).unwrap().len(), end);
    assert!(store.get("/four").unwrap().is_some());
}

#[test]
fn a_flipped_byte_in_the_middle_stops_the_start_and_repair_cuts_there() {
    for (what, flip_at) in [("payload", 30u64), ("length", 0)] {
        let dir = TempDir::new("damaged");
        let second_record = {
            let store = open(&dir);
            put(&store, "/one", "1");
            let second = store.stats().log.unwrap().bytes;
            put(&store, "/two", "22");
            put(&store, "/three", "333");
            second
        };
        let mut bytes = fs::read(dir.log()).unwrap();
        bytes[(second_record + flip_at) as usize] ^= 0x01;
        fs::write(dir.log(), &bytes).unwrap();

        let error = Store::open(&dir.0, StoreOptions::default())
            .err()
            .expect("a damaged log must not open");
        match &error {
            OpenError::Damaged {
                path,
                offset,
                records,
                ..
            } => {
                assert_eq!(path, &dir.log());
                assert_eq!(*offset, second_record, "{what}");
                assert_eq!(*records, 1);
            }
            other => panic!("{what}: expected Damaged, got {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains(&dir.log().display().to_string()) && message.contains("--repair"),
            "{message}"
        );
        assert_eq!(
            fs::read(dir.log()).unwrap(),
            bytes,
            "refusing to start changes nothing"
        );

        let (store, report) = open_with(
            &dir,
            StoreOptions {
                repair: true,
                ..StoreOptions::default()
            },
        );
        assert_eq!(report.records, 1);
        assert!(
            report.warnings[0].contains("repaired"),
            "{:?}",
            report.warnings
        );
        assert_eq!(value(&store, "/one").as_deref(), Some("1"));
        assert!(store.get("/two").unwrap().is_none() && store.get("/three").unwrap().is_none());
        let backups: Vec<_> = fs::read_dir(&dir.0)
            .unwrap()
            .filter_map(|entry| entry.ok())
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("httpdb.log.damaged-")
            })
            .collect();
        assert_eq!(backups.len(), 1);
        assert_eq!(
            fs::read(backups[0].path()).unwrap(),
            bytes,
            "the backup is the damaged file as it was"
        );
        put(&store, "/after", "repair");
        drop(store);
        assert_eq!(value(&open(&dir), "/after").as_deref(), Some("repair"));
    }
}

#[test]
fn a_file_that_is_not_a_log_is_refused() {
    let dir = TempDir::new("not-a-log");
    fs::create_dir_all(&dir.0).unwrap();
    fs::write(dir.log(), b"hello, this is not a log at all").unwrap();
    let error = Store::open(&dir.0, StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, OpenError::Unreadable { .. }), "{error:?}");
    assert!(error.to_string().contains("not an httpdb log"));
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = TempDir::new("lock");
    let first = open(&dir);
    let error = Store::open(&dir.0, StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, OpenError::Locked { .. }), "{error:?}");
    assert!(error.to_string().contains("in use by another httpdb"));
    put(&first, "/still", "works");
    drop(first);
    assert_eq!(value(&open(&dir), "/still").as_deref(), Some("works"));
}

#[test]
fn every_fsync_mode_keeps_writes_across_a_reopen() {
    for fsync in [Fsync::Always, Fsync::EverySec, Fsync::Never] {
        let dir = TempDir::new(fsync.as_str());
        let options = StoreOptions {
            fsync,
            ..StoreOptions::default()
        };
        {
            let (store, _) = open_with(&dir, options.clone());
            for i in 0..20 {
                put(&store, &format!("/k{i}"), &i.to_string());
            }
        }
        let (store, report) = open_with(&dir, options);
        assert_eq!(report.records, 20, "{fsync:?}");
        assert_eq!(value(&store, "/k19").as_deref(), Some("19"));
    }
}

#[test]
fn compaction_under_concurrent_writes_loses_nothing_and_shrinks_the_log() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 300;
    let dir = TempDir::new("compaction");
    let store = open(&dir);
    // Many versions of few keys: mostly garbage.
    for round in 0..50 {
        for key in 0..20 {
            put(&store, &format!("/old/{key}"), &format!("{round}"));
        }
    }
    let before = store.stats().log.unwrap().bytes;
    let compactions = thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = &store;
                scope.spawn(move || {
                    for round in 0..ROUNDS {
                        put(
                            store,
                            &format!("/w{writer}/{}", round % 10),
                            &format!("{round}"),
                        );
                    }
                })
            })
            .collect();
        let mut compactions = 0;
        while writers.iter().any(|w| !w.is_finished()) && compactions < 20 {
            store.compact().expect("compact");
            compactions += 1;
        }
        for writer in writers {
            writer.join().expect("writer");
        }
        compactions
    });
    assert!(compactions >= 1);
    for writer in 0..WRITERS {
        for slot in 0..10 {
            let last = (ROUNDS - 10 + slot).to_string();
            assert_eq!(
                value(&store, &format!("/w{writer}/{slot}")),
                Some(last),
                "writer {writer} slot {slot}"
            );
        }
    }
    store.compact().expect("compact");
    let stats = store.stats();
    let after = stats.log.as_ref().unwrap().bytes;
    assert!(after < before, "the log shrank from {before} to {after}");
    assert_eq!(stats.log.unwrap().compactions as usize, compactions + 1);
    let expected = contents(&store);
    drop(store);
    let store = open(&dir);
    assert_eq!(
        contents(&store),
        expected,
        "the compacted log replays to the same store"
    );
}

#[test]
fn compaction_starts_by_itself_when_the_log_outgrows_the_data() {
    let dir = TempDir::new("auto-compaction");
    let options = StoreOptions {
        compact_min_bytes: 16 * 1024,
        ..StoreOptions::default()
    };
    let (store, _) = open_with(&dir, options.clone());
    let mut rounds = 0;
    // Overwrite one key until a compaction has happened; bounded.
    while store.stats().log.unwrap().compactions == 0 && rounds < 100_000 {
        put(&store, "/same", &"x".repeat(100));
        rounds += 1;
    }
    // The compaction thread may still be finishing: take our turn after it.
    store.compact().unwrap();
    let log = store.stats().log.unwrap();
    assert!(log.compactions >= 2, "no compaction after {rounds} writes");
    assert!(log.bytes < 1024, "{} bytes for one small key", log.bytes);
    drop(store);
    let (store, _) = open_with(&dir, options);
    assert_eq!(value(&store, "/same"), Some("x".repeat(100)));
}

#[test]
fn an_interrupted_compaction_leaves_the_log_as_it_was() {
    let dir = TempDir::new("interrupted");
    {
        let store = open(&dir);
        put(&store, "/a", "1");
    }
    // A crash in the middle of writing the new file leaves it behind.
    fs::write(dir.0.join(compaction::TEMP_FILE), b"HTTPDBLG half a file").unwrap();
    let store = open(&dir);
    assert_eq!(value(&store, "/a").as_deref(), Some("1"));
    assert!(!dir.0.join(compaction::TEMP_FILE).exists());
}

#[test]
fn a_read_waits_until_what_it_could_see_is_durable() {
    let dir = TempDir::new("read-committed");
    let store = open(&dir);
    put(&store, "/a", "1");
    let log = &store.disk.as_ref().expect("on disk").log;
    assert_eq!(log.not_yet_durable(), None);
    let size = fs::metadata(dir.log()).unwrap().len();
    // A change queued (as a write does under the lock) but not yet written:
    // a crash now would lose it, so no read may return until it is durable.
    let record = Record {
        revision: 2,
        modified: SystemTime::now(),
        key: Key::new("/b"),
        change: Change::Delete,
    };
    let (ticket, _) = log.queue(record).expect("queue");
    assert_eq!(log.not_yet_durable(), Some(ticket));
    assert_eq!(fs::metadata(dir.log()).unwrap().len(), size);
    assert_eq!(value(&store, "/a").as_deref(), Some("1"));
    assert_eq!(
        log.not_yet_durable(),
        None,
        "the read waited for the pending record"
    );
    assert!(fs::metadata(dir.log()).unwrap().len() > size);
}
