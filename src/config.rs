//! The command line: flags, their environment variables, defaults and `--help`.
//!
//! Every flag `--some-flag` can also be set as `HTTPDB_SOME_FLAG` in the
//! environment; a flag on the command line wins over the environment, which
//! wins over the default. Values may follow the flag as `--flag value` or
//! `--flag=value`. Durations are seconds and may be fractional (`0.5`);
//! sizes are bytes and may carry a binary suffix (`16MiB`, `64K`).
//!
//! A bad flag or value is reported in one line and the process exits with
//! status 2, as command-line tools do for usage errors.

use std::ffi::OsString;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::Limits;
use crate::server::{MIN_THREADS, PENDING_PER_THREAD, ServerOptions, THREADS_PER_CORE};
use crate::store::{Fsync, StoreOptions};

/// The environment variable prefix.
const ENV_PREFIX: &str = "HTTPDB_";

/// Where the server listens unless told otherwise: the blog post's port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6111";
/// Where the data lives unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./httpdb-data";
/// The most worker threads: each costs a stack, and each of its
/// connections a file descriptor.
const MAX_THREADS: usize = 10_000;
/// File descriptors kept for the listener, the log, stdio and the like.
const RESERVED_FILES: usize = 64;
/// The largest `--max-body`: a value must fit in one log record.
const MAX_BODY_LIMIT: u64 = 1 << 30;

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Nothing on disk; everything is lost on exit.
    InMemory,
    /// An append-only log in `dir`.
    Directory {
        /// The directory the log lives in.
        dir: PathBuf,
        /// When writes reach stable storage.
        fsync: Fsync,
        /// Cut a damaged log at the first bad record instead of refusing to start.
        repair: bool,
    },
}

/// Everything the command line decides.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen, as given (`HOST:PORT`).
    pub addr: String,
    /// How the server behaves.
    pub server: ServerOptions,
    /// Where the data lives.
    pub storage: Storage,
    /// The bearer token every request but `/_health` must carry, if any.
    pub token: Option<String>,
}

impl Config {
    /// Every connection, served or waiting, holds a file descriptor. If the
    /// pool and the queue together need more than the process may open,
    /// `accept` would fail under load instead of answering 503, so both are
    /// shrunk to fit, keeping their ratio. Returns a warning when it shrinks.
    pub fn fit_to_open_file_limit(&mut self, limit: usize) -> Option<String> {
        let server = &mut self.server;
        let wanted = server.threads + server.max_pending;
        let available = limit.saturating_sub(RESERVED_FILES).max(2);
        if wanted <= available {
            return None;
        }
        let threads = (available * server.threads / wanted).max(1);
        let pending = (available - threads).max(1);
        let warning = format!(
            "only {limit} files may be open (ulimit -n); using {threads} threads and \
             --max-pending {pending} instead of {} and {}",
            server.threads, server.max_pending
        );
        server.threads = threads;
        server.max_pending = pending;
        Some(warning)
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None`
/// when it is unlimited or cannot be read.
pub fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server with this configuration.
    Run(Box<Config>),
    /// Print `--help`.
    Help,
    /// Print the version.
    Version,
}

/// One flag: its name, the placeholder for its value (`None` for a switch),
/// its default as `--help` shows it, and what it does. The default is
/// rendered from the constant the code uses, so the two cannot disagree.
struct Flag {
    name: &'static str,
    value: Option<&'static str>,
    default: fn() -> String,
    help: &'static str,
}

const FLAGS: &[Flag] = &[
    Flag {
        name: "addr",
        value: Some("HOST:PORT"),
        default: || DEFAULT_ADDR.to_string(),
        help: "where to listen (port 0 picks a free port)",
    },
    Flag {
        name: "threads",
        value: Some("N"),
        default: || format!("{THREADS_PER_CORE} per core, at least {MIN_THREADS}"),
        help: "worker threads: connections served at once",
    },
    Flag {
        name: "data-dir",
        value: Some("DIR"),
        default: || DEFAULT_DATA_DIR.to_string(),
        help: "where the log lives",
    },
    Flag {
        name: "in-memory",
        value: None,
        default: || "off".to_string(),
        help: "keep nothing on disk",
    },
    Flag {
        name: "fsync",
        value: Some("MODE"),
        default: || StoreOptions::default().fsync.as_str().to_string(),
        help: "always, everysec or never: when writes reach stable storage",
    },
    Flag {
        name: "max-body",
        value: Some("BYTES"),
        default: || show_size(Limits::default().max_body),
        help: "largest request body",
    },
    Flag {
        name: "max-header-bytes",
        value: Some("BYTES"),
        default: || show_size(Limits::default().max_header_bytes as u64),
        help: "largest request line + header section",
    },
    Flag {
        name: "read-timeout",
        value: Some("SECONDS"),
        default: || show_seconds(ServerOptions::default().read_timeout),
        help: "deadline to receive a request's head, and then its body",
    },
    Flag {
        name: "idle-timeout",
        value: Some("SECONDS"),
        default: || show_seconds(ServerOptions::default().idle_timeout),
        help: "how long a keep-alive connection may sit idle",
    },
    Flag {
        name: "max-pending",
        value: Some("N"),
        default: || format!("{PENDING_PER_THREAD} x threads"),
        help: "connections waiting for a worker before new ones get 503",
    },
    Flag {
        name: "token",
        value: Some("TOKEN"),
        default: || "none".to_string(),
        help: "require 'Authorization: Bearer TOKEN' (except on /_health)",
    },
    Flag {
        name: "quiet",
        value: None,
        default: || "off".to_string(),
        help: "no access log on stdout",
    },
    Flag {
        name: "repair",
        value: None,
        default: || "off".to_string(),
        help: "cut a damaged log at the first bad record (after a backup)",
    },
];

/// The `--help` text.
pub fn help() -> String {
    let mut text = format!(
        "httpdb {}: a key-value database that speaks HTTP/1.1\n\n\
         Usage: httpdb [FLAGS]\n\n\
         Flags (each also read from the environment variable shown):\n",
        env!("CARGO_PKG_VERSION")
    );
    for flag in FLAGS {
        let left = match flag.value {
            Some(value) => format!("--{} {value}", flag.name),
            None => format!("--{}", flag.name),
        };
        text.push_str(&format!(
            "  {left:<26} {}\n  {:<26} [default: {}] [env: {}]\n",
            flag.help,
            "",
            (flag.default)(),
            env_name(flag.name)
        ));
    }
    text.push_str(
        "  --help                     print this help\n  \
         --version                  print the version\n\n\
         httpdb cluster --help: tools for several nodes behind nginx\n",
    );
    text
}

fn env_name(flag: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        flag.to_ascii_uppercase().replace('-', "_")
    )
}

/// Reads the command line `args` (without the program name), looking up
/// environment variables with `env`.
pub fn parse<I, E>(args: I, env: E) -> Result<Command, String>
where
    I: IntoIterator<Item = OsString>,
    E: Fn(&str) -> Option<OsString>,
{
    // Each flag's raw value and where it came from, for error messages.
    let mut raw: Vec<Option<(String, String)>> = Vec::with_capacity(FLAGS.len());
    for flag in FLAGS {
        let name = env_name(flag.name);
        let value = match env(&name) {
            Some(value) => Some(utf8(value, &name)?),
            None => None,
        };
        raw.push(value.map(|value| (value, name)));
    }

    let mut args = args.into_iter().map(|arg| utf8(arg, "an argument"));
    while let Some(arg) = args.next() {
        let arg = arg?;
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            _ => {}
        }
        let Some(stripped) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument '{arg}' (see httpdb --help)"));
        };
        let (name, inline_value) = match stripped.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (stripped, None),
        };
        let Some(index) = FLAGS.iter().position(|flag| flag.name == name) else {
            return Err(format!("unknown flag '--{name}' (see httpdb --help)"));
        };
        let value = match (FLAGS[index].value, inline_value) {
            (Some(_), Some(value)) => value,
            (Some(placeholder), None) => args
                .next()
                .ok_or_else(|| format!("--{name} needs a value ({placeholder})"))??,
            (None, None) => "true".to_string(),
            (None, Some(value)) => value,
        };
        raw[index] = Some((value, format!("--{name}")));
    }

    let lookup = |name: &str| {
        let index = FLAGS
            .iter()
            .position(|flag| flag.name == name)
            .expect("a known flag");
        raw[index]
            .as_ref()
            .map(|(value, source)| (value.as_str(), source.as_str()))
    };
    build(&lookup).map(|config| Command::Run(Box::new(config)))
}

/// Turns raw values into a typed [`Config`], filling in defaults.
fn build<'a>(lookup: &dyn Fn(&str) -> Option<(&'a str, &'a str)>) -> Result<Config, String> {
    let default_server = ServerOptions::default();
    let addr = match lookup("addr") {
        Some((value, source)) => {
            let resolves = value
                .to_socket_addrs()
                .map(|mut addrs| addrs.next().is_some());
            if !matches!(resolves, Ok(true)) {
                return Err(format!("{source}: '{value}' is not a HOST:PORT address"));
            }
            value.to_string()
        }
        None => DEFAULT_ADDR.to_string(),
    };
    let threads = match lookup("threads") {
        Some((value, source)) => match positive_number((value, source))? {
            n if n > MAX_THREADS => {
                return Err(format!("{source}: at most {MAX_THREADS} threads, got {n}"));
            }
            n => n,
        },
        None => default_server.threads,
    };
    let max_pending = match lookup("max-pending") {
        Some(given) => positive_number(given)?,
        None => threads * PENDING_PER_THREAD,
    };
    let defaults = default_server.limits.clone();
    let limits = Limits {
        max_body: match optional(lookup("max-body"), size)? {
            Some(bytes) if bytes > MAX_BODY_LIMIT => {
                return Err(format!(
                    "--max-body can be at most {}, got {bytes} bytes",
                    show_size(MAX_BODY_LIMIT)
                ));
            }
            Some(bytes) => bytes,
            None => defaults.max_body,
        },
        max_header_bytes: match optional(lookup("max-header-bytes"), size)? {
            Some(bytes) => {
                usize::try_from(bytes).map_err(|_| "--max-header-bytes is too large".to_string())?
            }
            None => defaults.max_header_bytes,
        },
        ..defaults
    };
    let server = ServerOptions {
        threads,
        max_pending,
        limits,
        read_timeout: optional(lookup("read-timeout"), seconds)?
            .unwrap_or(default_server.read_timeout),
        idle_timeout: optional(lookup("idle-timeout"), seconds)?
            .unwrap_or(default_server.idle_timeout),
        access_log: !optional(lookup("quiet"), switch)?.unwrap_or(false),
        ..default_server
    };
    // Every storage flag is checked, whichever storage is chosen: a typo in
    // --fsync is an error even when --in-memory makes it moot.
    let in_memory = optional(lookup("in-memory"), switch)?.unwrap_or(false);
    let fsync = optional(lookup("fsync"), fsync_mode)?;
    let repair = optional(lookup("repair"), switch)?;
    let data_dir = lookup("data-dir");
    if let Some(("", source)) = data_dir {
        return Err(format!("{source}: the data directory cannot be empty"));
    }
    let storage = match (in_memory, data_dir) {
        // Two answers to "where does the data live?": refusing is safer
        // than guessing which one was meant.
        (true, Some((_, source))) => {
            let in_memory_source = lookup("in-memory").map_or("--in-memory", |(_, source)| source);
            return Err(format!(
                "{in_memory_source} and {source} contradict each other: keep the data in memory or in a directory, not both"
            ));
        }
        (true, None) => Storage::InMemory,
        (false, dir) => Storage::Directory {
            dir: PathBuf::from(dir.map_or(DEFAULT_DATA_DIR, |(value, _)| value)),
            fsync: fsync.unwrap_or(StoreOptions::default().fsync),
            repair: repair.unwrap_or(false),
        },
    };
    let token = match lookup("token") {
        Some((value, _)) if is_b64token(value) => Some(value.to_string()),
        Some((_, source)) => {
            return Err(format!(
                "{source}: a token is letters, digits and - . _ ~ + /, optionally ending in =, \
                 as an Authorization header can carry it (RFC 6750 §2.1)"
            ));
        }
        None => None,
    };
    Ok(Config {
        addr,
        server,
        storage,
        token,
    })
}

/// Flags and environment variables must be text.
fn utf8(value: OsString, source: &str) -> Result<String, String> {
    value
        .into_string()
        .map_err(|value| format!("{source} is not valid UTF-8: {}", value.to_string_lossy()))
}

/// A size as `--help` shows it: in the largest binary unit that divides it
/// (`16MiB`), in the form [`size`] reads back.
fn show_size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A duration as `--help` shows it: seconds, in the form [`seconds`] reads back.
fn show_seconds(duration: Duration) -> String {
    duration.as_secs_f64().to_string()
}

fn optional<T>(
    given: Option<(&str, &str)>,
    parse: fn((&str, &str)) -> Result<T, String>,
) -> Result<Option<T>, String> {
    given.map(parse).transpose()
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fn positive_number((value, source): (&str, &str)) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{source}: expected a positive whole number, got '{value}'"
        )),
    }
}

/// Seconds, possibly fractional, more than zero and at most a day.
fn seconds((value, source): (&str, &str)) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{source}: expected seconds between 0 and 86400 (like 10 or 0.5), got '{value}'"
        )),
    }
}

/// Bytes, with an optional binary suffix: K/KiB, M/MiB, G/GiB.
fn size((value, source): (&str, &str)) -> Result<u64, String> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = value.split_at(digits);
    let multiplier: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| multiplier > 0)
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| {
            format!("{source}: expected a size in bytes (like 1048576 or 16MiB), got '{value}'")
        })
}

fn switch((value, source): (&str, &str)) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("{source}: expected true or false, got '{value}'")),
    }
}

fn fsync_mode((value, source): (&str, &str)) -> Result<Fsync, String> {
    match value {
        "always" => Ok(Fsync::Always),
        "everysec" => Ok(Fsync::EverySec),
        "never" => Ok(Fsync::Never),
        _ => Err(format!(
            "{source}: expected always, everysec or never, got '{value}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        match parse(args.iter().map(OsString::from), |name| {
            lookup(name).map(OsString::from)
        })? {
            Command::Run(config) => Ok(*config),
            other => panic!("expected a config, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let config = run(&[], &[]).unwrap();
        assert_eq!(config.addr, "127.0.0.1:6111");
        assert!(config.server.threads >= MIN_THREADS);
        assert_eq!(
            config.server.max_pending,
            config.server.threads * PENDING_PER_THREAD
        );
        assert_eq!(config.server.limits.max_body, 16 << 20);
        assert_eq!(config.server.limits.max_header_bytes, 64 << 10);
        assert_eq!(config.server.read_timeout, Duration::from_secs(10));
        assert!(config.server.access_log);
        // The library's defaults are the command line's: a program that
        // embeds the server gets what `httpdb` with no flags gets.
        assert_eq!(config.server, ServerOptions::default());
        assert_eq!(
            config.storage,
            Storage::Directory {
                dir: "./httpdb-data".into(),
                fsync: Fsync::Always,
                repair: false
            }
        );
        assert_eq!(config.token, None);
    }

    #[test]
    fn flags_environment_and_precedence() {
        let config = run(
            &[
                "--threads",
                "8",
                "--max-body=1KiB",
                "--read-timeout",
                "0.5",
                "--quiet",
                "--in-memory",
            ],
            &[
                ("HTTPDB_THREADS", "99"),
                ("HTTPDB_IDLE_TIMEOUT", "2"),
                ("HTTPDB_TOKEN", "s3cret"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.threads, 8);
        assert_eq!(config.server.max_pending, 32);
        assert_eq!(config.server.limits.max_body, 1024);
        assert_eq!(config.server.read_timeout, Duration::from_millis(500));
        assert_eq!(config.server.idle_timeout, Duration::from_secs(2));
        assert!(!config.server.access_log);
        assert_eq!(config.storage, Storage::InMemory);
        assert_eq!(config.token.as_deref(), Some("s3cret"));
    }

    #[test]
    fn bad_input_names_the_flag() {
        for (args, env, mentions) in [
            (&["--threads", "0"][..], &[][..], "--threads"),
            (&["--threads"], &[], "--threads"),
            (&["--bogus"], &[], "--bogus"),
            (&["stray"], &[], "stray"),
            (&["--fsync", "sometimes"], &[], "--fsync"),
            (&["--max-body", "12XB"], &[], "--max-body"),
            (&["--max-body", "2GiB"], &[], "--max-body"),
            (&["--read-timeout", "-1"], &[], "--read-timeout"),
            (&["--addr", "nowhere"], &[], "--addr"),
            (&["--token="], &[], "--token"),
            (&["--token", "has space"], &[], "--token"),
            (&["--token", "caf\u{e9}"], &[], "--token"),
            (&["--threads", "100000"], &[], "--threads"),
            (&[], &[("HTTPDB_QUIET", "maybe")], "HTTPDB_QUIET"),
        ] {
            let error = run(args, env).unwrap_err();
            assert!(error.contains(mentions), "{args:?}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn storage_flags_are_checked_even_in_memory() {
        for (args, env, mentions) in [
            (
                &["--in-memory", "--fsync", "sometimes"][..],
                &[][..],
                "--fsync",
            ),
            (
                &["--in-memory"],
                &[("HTTPDB_FSYNC", "sometimes")],
                "HTTPDB_FSYNC",
            ),
            (&["--in-memory", "--repair=maybe"], &[], "--repair"),
            (&["--in-memory", "--data-dir", "d"], &[], "--data-dir"),
            (
                &["--data-dir", "d"],
                &[("HTTPDB_IN_MEMORY", "1")],
                "HTTPDB_IN_MEMORY",
            ),
            (&["--data-dir="], &[], "--data-dir"),
        ] {
            let error = run(args, env).unwrap_err();
            assert!(error.contains(mentions), "{args:?} {env:?}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
        // Valid values that only matter on disk are accepted, and moot.
        let config = run(&["--in-memory", "--fsync", "never"], &[]).unwrap();
        assert_eq!(config.storage, Storage::InMemory);
        let config = run(&["--in-memory=false", "--data-dir", "d"], &[]).unwrap();
        assert!(matches!(config.storage, Storage::Directory { .. }));
    }

    #[test]
    fn help_shows_sizes_and_durations_as_they_are_typed() {
        assert_eq!(show_size(16 << 20), "16MiB");
        assert_eq!(show_size(64 << 10), "64KiB");
        assert_eq!(show_size(1 << 30), "1GiB");
        assert_eq!(show_size(1000), "1000");
        assert_eq!(show_seconds(Duration::from_millis(500)), "0.5");
        for flag in FLAGS {
            let shown = (flag.default)();
            match flag.name {
                "max-body" | "max-header-bytes" => {
                    assert!(size((&shown, "default")).is_ok(), "{shown}")
                }
                "read-timeout" | "idle-timeout" => {
                    assert!(seconds((&shown, "default")).is_ok(), "{shown}")
                }
                _ => {}
            }
        }
    }

    /// README's flag table and limits table repeat the defaults; they must
    /// say what `--help` says, which is what the code uses.
    #[test]
    fn readme_gives_the_defaults_the_code_uses() {
        let readme = include_str!("../README.md");
        let cells = |first: &str| -> Vec<String> {
            let row = readme
                .lines()
                .find(|line| line.starts_with(&format!("| {first} |")))
                .unwrap_or_else(|| panic!("README has no table row for {first}"));
            row.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().replace('`', ""))
                .collect()
        };
        for flag in FLAGS {
            let row = cells(&format!("`--{}`", flag.name));
            assert_eq!(
                row[1],
                (flag.default)(),
                "README's default for --{}",
                flag.name
            );
        }
        let limits = ServerOptions::default().limits;
        for (what, expected) in [
            ("request line", show_size(limits.max_request_line as u64)),
            ("header fields", limits.max_header_count.to_string()),
            (
                "key",
                format!("{} bytes after decoding", crate::api::MAX_KEY_BYTES),
            ),
            (
                "request bodies in memory at once",
                show_size(crate::server::DEFAULT_MAX_BODY_MEMORY),
            ),
        ] {
            let row = cells(what);
            assert!(
                row[1].starts_with(&expected),
                "README's limit for {what} is {:?}, the code's {expected}",
                row[1]
            );
        }
        let page = cells("`GET /_keys?prefix=P&limit=N&after=K`");
        let pages = format!(
            "defaults to {} (at most {})",
            crate::api::listing::DEFAULT_PAGE,
            crate::api::listing::MAX_PAGE
        );
        assert!(
            page[1].contains(&pages),
            "README's /_keys row must say {pages}"
        );
        let turns = cells("connections served at once");
        let grace = format!(
            "less than {} ms ago",
            crate::server::KEEP_ALIVE_GRACE.as_millis()
        );
        assert!(turns[2].contains(&grace), "README must say {grace}");
        let bodies = cells("request bodies in memory at once");
        let piece = format!("{} at a time", show_size(crate::http::body::BODY_PIECE));
        assert!(bodies[1].contains(&piece), "README must say {piece}");
        let store = StoreOptions::default();
        let compaction = format!(
            "When the log is larger than {} and more than {} the size of the live data",
            show_size(store.compact_min_bytes),
            match store.compact_ratio {
                2 => "twice".to_string(),
                ratio => format!("{ratio} times"),
            }
        );
        assert!(
            readme.replace('\n', " ").contains(&compaction),
            "README's Compaction paragraph must say: {compaction}"
        );
        // Rows whose limit is a flag give the flag's default in brackets.
        for line in readme.lines().filter(|line| line.starts_with("| ")) {
            let row: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace('`', ""))
                .collect();
            let Some(flag) = row.get(1).and_then(|cell| cell.strip_prefix("--")) else {
                continue;
            };
            let (name, rest) = flag.split_once(' ').unwrap_or((flag, ""));
            let Some(known) = FLAGS.iter().find(|f| f.name == name) else {
                continue;
            };
            if let Some(shown) = rest.strip_prefix('(').and_then(|r| r.split(')').next()) {
                assert_eq!(shown, (known.default)(), "README row {line:?}");
            }
        }
    }

    #[test]
    fn the_pool_and_queue_shrink_to_the_open_file_limit() {
        let mut config = run(&["--threads", "1000", "--max-pending", "3000"], &[]).unwrap();
        assert_eq!(config.fit_to_open_file_limit(100_000), None);
        let warning = config.fit_to_open_file_limit(1024).expect("a warning");
        assert!(warning.contains("ulimit -n"), "{warning}");
        let server = &config.server;
        assert_eq!((server.threads, server.max_pending), (240, 720));
        assert!(server.threads + server.max_pending + RESERVED_FILES <= 1024);
        assert!(open_file_limit().is_none_or(|limit| limit > 0));
    }

    #[test]
    fn tokens_are_b64tokens() {
        for good in ["s3cret", "a-b.c_d~e+f/g", "YWJj==", "x="] {
            assert!(is_b64token(good), "{good}");
        }
        for bad in ["", "=", "a b", "a=b", "tok\u{e9}n", " x"] {
            assert!(!is_b64token(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn arguments_and_variables_that_are_not_utf8_are_refused() {
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = || OsString::from_vec(vec![0x2d, 0x2d, 0xff]);
        let error = parse([not_utf8()], |_| None).unwrap_err();
        assert!(error.contains("not valid UTF-8"), "{error}");
        let error = parse([], |name| (name == "HTTPDB_TOKEN").then(not_utf8)).unwrap_err();
        assert!(error.contains("HTTPDB_TOKEN"), "{error}");
    }

    #[test]
    fn help_lists_every_flag_with_its_default_and_variable() {
        let text = help();
        for flag in FLAGS {
            assert!(text.contains(&format!("--{}", flag.name)));
            assert!(text.contains(&env_name(flag.name)));
        }
        assert!(matches!(
            parse([OsString::from("--help")], |_| None),
            Ok(Command::Help)
        ));
        assert!(matches!(
            parse([OsString::from("--version")], |_| None),
            Ok(Command::Version)
        ));
    }
}
