//! The listings: `GET /_all` (every entry as one JSON object) and
//! `GET /_keys?prefix=P&limit=N&after=K` (one page of keys).
//!
//! `/_all` writes stored JSON values into its output as they are, without
//! parsing them again: they were checked when they were written, and the
//! bytes sent are the bytes kept.

use std::io::{self, Write};
use std::sync::Arc;

use crate::http::response::StreamedBody;
use crate::http::{Body, Response, Status};
use crate::store::{Entry, Key, Store};

use super::json::is_json_media_type;
use super::problems::unavailable;

/// Keys in one page when the client does not say.
pub const DEFAULT_PAGE: usize = 1000;
/// The most keys one page may ask for.
pub const MAX_PAGE: usize = 10_000;

/// `GET /_all`: `{"<key>": {"content_type", "etag", "size", "value"}, …}`
/// where `value` is the JSON itself for JSON types, a string for UTF-8 text
/// and `null` for anything else.
///
/// The listing can be far larger than the store (escaping a control
/// character takes six bytes), so it is never built in memory: it is written
/// once to count its length, for `Content-Length`, then again to the socket,
/// from a snapshot of the entries that shares their values.
pub fn all(store: &Store) -> Response {
    let entries = match store.entries() {
        Ok(entries) => entries,
        Err(failed) => return unavailable(&failed),
    };
    let listing = AllEntries::new(entries);
    Response::new(Status::OK).with_body("application/json", Body::Streamed(Arc::new(listing)))
}

struct AllEntries {
    entries: Vec<(Key, Entry)>,
    len: u64,
}

impl AllEntries {
    fn new(entries: Vec<(Key, Entry)>) -> AllEntries {
        let mut listing = AllEntries { entries, len: 0 };
        let mut counter = ByteCounter(0);
        listing
            .write_json(&mut counter)
            .expect("counting bytes cannot fail");
        listing.len = counter.0;
        listing
    }

    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"{")?;
        for (index, (key, entry)) in self.entries.iter().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, key.as_str())?;
            out.write_all(b":{\"content_type\":")?;
            serde_json::to_writer(&mut *out, &*entry.content_type)?;
            write!(
                out,
                ",\"etag\":\"\\\"{}\\\"\",\"size\":{},\"value\":",
                entry.revision,
                entry.value.len()
            )?;
            if is_json_media_type(&entry.content_type) {
                out.write_all(&entry.value)?;
            } else if let Ok(text) = std::str::from_utf8(&entry.value) {
                serde_json::to_writer(&mut *out, text)?;
            } else {
                out.write_all(b"null")?;
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"}")
    }
}

impl StreamedBody for AllEntries {
    fn len(&self) -> u64 {
        self.len
    }

    fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_json(out)
    }
}

/// A writer that only counts what it is given.
struct ByteCounter(u64);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `GET /_keys`: a JSON array of keys in byte order. `prefix` keeps keys that
/// start with it, `after` starts after that key (the last key of the previous
/// page), `limit` caps the page (default [`DEFAULT_PAGE`], at most
/// [`MAX_PAGE`]).
pub fn keys(store: &Store, query: Option<&str>) -> Response {
    let pairs = match crate::http::uri::parse_query(query.unwrap_or("")) {
        Ok(pairs) => pairs,
        Err(detail) => return Response::problem(Status::BAD_REQUEST, detail),
    };
    let mut prefix = String::new();
    let mut after = None;
    let mut limit = DEFAULT_PAGE;
    for (name, value) in pairs {
        match name.as_str() {
            "prefix" => prefix = value,
            "after" => after = Some(value),
            "limit" => match value.parse::<usize>() {
                Ok(n) if n <= MAX_PAGE => limit = n,
                _ => {
                    return Response::problem(
                        Status::BAD_REQUEST,
                        format!("limit must be a whole number from 0 to {MAX_PAGE}, not '{value}'"),
                    );
                }
            },
            other => {
                return Response::problem(
                    Status::BAD_REQUEST,
                    format!("unknown parameter '{other}'; /_keys takes prefix, limit and after"),
                );
            }
        }
    }
    match store.keys(&prefix, after.as_deref(), limit) {
        Ok(page) => Response::json(Status::OK, &serde_json::Value::from(page)),
        Err(failed) => unavailable(&failed),
    }
}
