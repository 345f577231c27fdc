//! Durability, tested the only honest way: run the real binary, write to it
//! from many connections, `kill -9` it, start it again on the same data
//! directory, and check that every acknowledged write is there, with its
//! last acknowledged value, and that nothing else appeared.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;

mod common;

use common::process::Process;
use common::temp::TempDir;
use common::{BodyChecks, PATIENCE, Reconnecting, Response, Talk};

/// The real `httpdb` process, and the requests these tests make of it.
struct Server {
    process: Process,
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Server {
        let mut command = Process::command();
        command
            .args(["--addr", "127.0.0.1:0", "--quiet", "--threads", "16"])
            .arg("--data-dir")
            .arg(dir)
            .args(args);
        Server::start_command(command)
    }

    /// Starts whatever `command` runs, which must exec httpdb.
    fn start_command(command: Command) -> Server {
        Server {
            process: Process::start(command),
        }
    }

    fn addr(&self) -> &str {
        &self.process.addr
    }

    /// `kill -9`: no chance to flush or sync anything. Returns what the
    /// process wrote to stderr.
    fn kill_9(self) -> String {
        self.process.kill_9().1
    }

    /// A request on a new connection.
    fn send(&self, method: &str, key: &str, body: Option<&[u8]>) -> Response {
        self.process.connect().request(method, key, &[], body)
    }

    fn get(&self, key: &str) -> Response {
        self.send("GET", key, None)
    }

    /// Every key and value, from `/_all`.
    fn all(&self) -> BTreeMap<String, String> {
        let response = self.get("/_all");
        assert_eq!(response.status(), 200);
        response
            .json()
            .as_object()
            .expect("an object")
            .iter()
            .map(|(key, entry)| {
                (
                    key.clone(),
                    entry["value"].as_str().expect("text").to_string(),
                )
            })
            .collect()
    }
}

/// Runs `httpdb` on `dir` for a test in which it must exit rather than
/// listen, and returns what it printed and its exit status.
fn run_to_exit(dir: &Path) -> Output {
    Process::command()
        .args(["--addr", "127.0.0.1:0", "--quiet", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run httpdb")
}

/// What the writers learned: for each key, the last value the server
/// acknowledged, and the value of a write whose answer never came.
#[derive(Default)]
struct Ledger {
    acknowledged: HashMap<String, String>,
    in_flight: HashMap<String, String>,
}

/// Runs `writers` threads writing (and sometimes deleting) their own keys
/// until `stop` is set or the server goes away. Returns the ledger once all
/// have stopped. `progress` counts acknowledged writes.
fn write_until_stopped(
    addr: &str,
    writers: usize,
    stop: &AtomicBool,
    progress: &(Mutex<usize>, Condvar),
) -> Ledger {
    let ledger = Mutex::new(Ledger::default());
    thread::scope(|scope| {
        for writer in 0..writers {
            let ledger = &ledger;
            scope.spawn(move || {
                let mut client = Reconnecting::new(addr);
                // Bounded: a few thousand writes each at most.
                for i in 0..5_000 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let key = format!("/w{writer}/{}", i % 13);
                    let value = format!("{writer}-{i}");
                    ledger
                        .lock()
                        .unwrap()
                        .in_flight
                        .insert(key.clone(), value.clone());
                    match client.try_request("PUT", &key, Some(value.as_bytes())) {
                        Ok(response) if matches!(response.status(), 200 | 201) => {
                            let mut ledger = ledger.lock().unwrap();
                            ledger.in_flight.remove(&key);
                            ledger.acknowledged.insert(key, value);
                            drop(ledger);
                            let (count, changed) = progress;
                            *count.lock().unwrap() += 1;
                            changed.notify_all();
                        }
                        Ok(response) => panic!("unexpected {response:?} for {key}"),
                        // The server was killed with this write in flight.
                        Err(_) => return,
                    }
                }
            });
        }
    });
    ledger.into_inner().unwrap()
}

/// Waits until the writers have `count` writes acknowledged, failing the
/// test if that takes longer than [`PATIENCE`].
fn await_acknowledged(progress: &(Mutex<usize>, Condvar), count: usize) {
    let (acknowledged, changed) = progress;
    let acknowledged = changed
        .wait_timeout_while(acknowledged.lock().unwrap(), PATIENCE, |n| *n < count)
        .unwrap()
        .0;
    assert!(
        *acknowledged >= count,
        "only {} writes in {PATIENCE:?}",
        *acknowledged
    );
}

/// Reads the writers' keys over and over until the server goes away, and
/// returns every (key, write number) it saw.
fn read_until_gone(addr: &str, reader: usize) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    let mut client = Reconnecting::new(addr);
    // Bounded: the server is killed long before this runs out.
    for i in 0..100_000usize {
        let key = format!("/w{}/{}", (i + reader) % 16, i % 13);
        match client.try_request("GET", &key, None) {
            Ok(response) => match response.status() {
                200 => seen.push((key, sequence_of(&response.text()))),
                404 => {}
                _ => panic!("unexpected {response:?} for {key}"),
            },
            Err(_) => return seen,
        }
    }
    seen
}

/// The write number in a value `"<writer>-<number>"`.
fn sequence_of(value: &str) -> u64 {
    value
        .split_once('-')
        .and_then(|(_, number)| number.parse().ok())
        .unwrap_or_else(|| panic!("not a written value: {value}"))
}

/// Checks a restarted server against what the writers were told.
fn check_against(server: &Server, ledger: &Ledger) {
    let stored = server.all();
    for (key, value) in &ledger.acknowledged {
        let found = stored
            .get(key)
            .unwrap_or_else(|| panic!("acknowledged {key} = {value} is gone"));
        let newer_in_flight = ledger.in_flight.get(key);
        assert!(
            found == value || Some(found) == newer_in_flight,
            "{key}: acknowledged {value:?}, in flight {newer_in_flight:?}, found {found:?}"
        );
    }
    for (key, value) in &stored {
        assert!(
            ledger.acknowledged.contains_key(key) || ledger.in_flight.get(key) == Some(value),
            "{key} = {value} appeared without being written"
        );
    }
}

fn kill_while_writing(fsync: &str) {
    let dir = TempDir::new(fsync);
    let server = Server::start(&dir.0, &["--fsync", fsync]);
    let addr = server.addr().to_string();
    let stop = AtomicBool::new(false);
    let progress = (Mutex::new(0usize), Condvar::new());
    let (ledger, seen) = thread::scope(|scope| {
        let writers = scope.spawn(|| write_until_stopped(&addr, 16, &stop, &progress));
        let readers: Vec<_> = (0..4)
            .map(|reader| {
                let addr = &addr;
                scope.spawn(move || read_until_gone(addr, reader))
            })
            .collect();
        // Kill once a good number of writes were acknowledged: in the
        // middle of writing, with many requests in flight.
        await_acknowledged(&progress, 400);
        server.kill_9();
        let seen: Vec<(String, u64)> = readers
            .into_iter()
            .flat_map(|r| r.join().expect("reader"))
            .collect();
        (writers.join().expect("writers"), seen)
    });
    assert!(ledger.acknowledged.len() >= 13, "writes were acknowledged");
    assert!(
        !ledger.in_flight.is_empty(),
        "the kill landed while writes were in flight"
    );

    let restarted = Server::start(&dir.0, &["--fsync", fsync]);
    check_against(&restarted, &ledger);
    // Nothing a reader saw may be undone by the crash: each key now holds
    // what a reader saw there, or something written after it.
    let stored = restarted.all();
    assert!(!seen.is_empty(), "the readers saw writes");
    for (key, sequence) in &seen {
        let now = stored.get(key).map(|value| sequence_of(value)).unwrap_or(0);
        assert!(
            now >= *sequence,
            "{key}: a reader saw write {sequence}, the restart has {now}"
        );
    }
    let stderr = restarted.kill_9();
    assert!(stderr.contains("replayed"), "{stderr}");
}

#[test]
fn kill_9_while_writing_loses_no_acknowledged_write_with_fsync_always() {
    kill_while_writing("always");
}

#[test]
fn kill_9_while_writing_loses_no_acknowledged_write_with_fsync_everysec() {
    kill_while_writing("everysec");
}

#[test]
fn kill_9_while_writing_loses_no_acknowledged_write_with_fsync_never() {
    kill_while_writing("never");
}

#[test]
fn kill_9_after_writing_keeps_exactly_what_was_acknowledged() {
    for fsync in ["always", "everysec", "never"] {
        let dir = TempDir::new("quiet");
        let server = Server::start(&dir.0, &["--fsync", fsync]);
        let stop = AtomicBool::new(false);
        let progress = (Mutex::new(0usize), Condvar::new());
        let addr = server.addr().to_string();
        // Let the writers work a while, then stop them cleanly: every write
        // has its answer before the kill.
        let ledger = thread::scope(|scope| {
            let writers = scope.spawn(|| write_until_stopped(&addr, 4, &stop, &progress));
            await_acknowledged(&progress, 200);
            stop.store(true, Ordering::Relaxed);
            writers.join().expect("writers")
        });
        assert!(
            ledger.in_flight.is_empty(),
            "{fsync}: every write was answered"
        );
        server.kill_9();
        let restarted = Server::start(&dir.0, &["--fsync", fsync]);
        let stored = restarted.all();
        let expected: BTreeMap<String, String> = ledger.acknowledged.into_iter().collect();
        assert_eq!(stored, expected, "{fsync}");
    }
}

#[test]
fn deletes_survive_and_etags_keep_growing_across_kill_9() {
    let dir = TempDir::new("deletes");
    let server = Server::start(&dir.0, &[]);
    for key in ["/a", "/b", "/c"] {
        assert_eq!(server.send("PUT", key, Some(b"v")).status(), 201);
    }
    assert_eq!(server.send("DELETE", "/b", None).status(), 204);
    let last_etag = server
        .send("PUT", "/a", Some(b"w"))
        .header("etag")
        .expect("an ETag")
        .to_string();
    server.kill_9();

    let server = Server::start(&dir.0, &[]);
    assert_eq!(
        server.get("/b").status(),
        404,
        "a delete survives the restart"
    );
    assert_eq!(server.get("/a").body, b"w");
    assert_eq!(
        server.get("/a").header("etag"),
        Some(last_etag.as_str()),
        "the ETag survives too"
    );
    let new_etag = server
        .send("PUT", "/d", Some(b"x"))
        .header("etag")
        .expect("an ETag")
        .to_string();
    let number = |etag: &str| etag.trim_matches('"').parse::<u64>().expect("numeric");
    assert!(
        number(&new_etag) > number(&last_etag),
        "{new_etag} after {last_etag}"
    );
}

#[test]
fn a_second_server_on_the_same_directory_is_refused_and_the_first_keeps_running() {
    let dir = TempDir::new("lock");
    let first = Server::start(&dir.0, &[]);
    assert_eq!(first.send("PUT", "/k", Some(b"v")).status(), 201);
    let second = run_to_exit(&dir.0);
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another httpdb"), "{stderr}");
    assert!(second.stdout.is_empty(), "it never listened");
    assert_eq!(first.get("/k").body, b"v");
    assert_eq!(first.send("PUT", "/k2", Some(b"v2")).status(), 201);
}

#[test]
fn a_damaged_log_refuses_to_start_and_repair_keeps_what_came_before() {
    let dir = TempDir::new("damaged");
    let server = Server::start(&dir.0, &[]);
    for i in 0..10 {
        assert_eq!(
            server
                .send(
                    "PUT",
                    &format!("/k{i}"),
                    Some(format!("value {i}").as_bytes())
                )
                .status(),
            201
        );
    }
    server.kill_9();
    let mut bytes = std::fs::read(dir.0.join("httpdb.log")).expect("the log");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(dir.0.join("httpdb.log"), &bytes).expect("damage it");

    let refused = run_to_exit(&dir.0);
    assert_ne!(refused.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&dir.0.join("httpdb.log").display().to_string()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("damaged at byte"),
        "names the offset: {stderr}"
    );
    assert!(stderr.contains("--repair"), "says how to go on: {stderr}");
    assert!(refused.stdout.is_empty());

    let repaired = Server::start(&dir.0, &["--repair"]);
    // After the 24-byte file header come ten records of one size R (keys,
    // values and the fields around them are all the same length), so the
    // middle byte, at 12 + 5R, falls inside the fifth record: the four
    // before it are kept.
    let stored = repaired.all();
    let kept: BTreeMap<String, String> = (0..4)
        .map(|i| (format!("/k{i}"), format!("value {i}")))
        .collect();
    assert_eq!(stored, kept, "kept the records before the damage");
    let stderr = repaired.kill_9();
    assert!(stderr.contains("repaired"), "{stderr}");
    // And kept a copy of the damaged file.
    let copies: Vec<Vec<u8>> = std::fs::read_dir(&dir.0)
        .expect("read dir")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("httpdb.log.damaged-"))
        })
        .map(|path| std::fs::read(path).expect("the copy"))
        .collect();
    assert_eq!(copies.len(), 1, "one copy");
    assert!(copies[0] == bytes, "the copy is the file before the repair");
}

#[test]
fn in_memory_leaves_no_files_behind() {
    let dir = TempDir::new("in-memory");
    std::fs::create_dir_all(&dir.0).expect("dir");
    let mut command = Process::command();
    command
        .args(["--addr", "127.0.0.1:0", "--in-memory"])
        .current_dir(&dir.0);
    let server = Process::start(command);
    let mut client = server.connect();
    for i in 0..20 {
        let key = format!("/m{i}");
        assert_eq!(client.request("PUT", &key, &[], Some(b"x")).status(), 201);
    }
    server.kill_9();
    let left: Vec<_> = std::fs::read_dir(&dir.0).expect("read dir").collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn a_failing_log_refuses_writes_and_reads_and_keeps_what_was_acknowledged() {
    let dir = TempDir::new("failing");
    // A file size limit of 64 KiB makes the log's append fail the way a full
    // disk would (SIGXFSZ ignored, so write returns EFBIG).
    let mut command = Command::new("bash");
    command.arg("-c").arg(format!(
        "trap '' XFSZ; ulimit -f 64; exec '{}' --addr 127.0.0.1:0 --quiet --threads 16 --data-dir '{}'",
        env!("CARGO_BIN_EXE_httpdb"),
        dir.0.display()
    ));
    let server = Server::start_command(command);
    assert_eq!(server.send("PUT", "/small", Some(b"kept")).status(), 201);
    let refused = server.send("PUT", "/big", Some(&vec![b'x'; 100_000]));
    assert_eq!(
        refused.status(),
        503,
        "the write that could not be logged is refused"
    );
    assert!(refused.problem_detail().contains("not stored"));
    // What the failed write left in memory is never served, and nothing
    // more is accepted until a restart.
    assert_eq!(server.get("/big").status(), 503);
    assert_eq!(server.send("PUT", "/later", Some(b"x")).status(), 503);
    assert_eq!(server.get("/_health").status(), 503);
    server.kill_9();

    let restarted = Server::start(&dir.0, &[]);
    assert_eq!(
        restarted.get("/small").body,
        b"kept",
        "the acknowledged write survived"
    );
    assert_eq!(
        restarted.get("/big").status(),
        404,
        "the refused one did not"
    );
    assert_eq!(restarted.get("/later").status(), 404);
}
