//! Step 10: the blog post's key-value store, rebuilt on the steps before.
//!
//! `POST /hello` (or `PUT`) stores the body under the key `/hello` with its
//! Content-Type, `GET /hello` gives it back, `DELETE /hello` removes it, and
//! `GET /_all` returns every entry as one JSON object. A body sent as JSON
//! must parse, or the write is refused with 400, naming the line and column.
//!
//! This is the program the post's parser (step 03) was for. Every fault
//! step 03 showed is gone because the steps between took each one apart:
//! requests read by lines and framed by length (04, 08), on a bounded pool
//! (06), with deadlines (07), on connections that stay open (09). All this
//! step writes is what a request means: `handle`, a function from a request
//! to a response that knows nothing of sockets. httpdb is split the same
//! way: `src/api/` means, `src/http/` reads and writes, `src/server/` runs.
//!
//! The bug this step leaves, and httpdb fixes: it keeps nothing. The map
//! lives in memory, so a restart loses every value; httpdb appends each
//! change to a log on disk before it answers (`src/store/log.rs`). Nor does
//! it give ETags, percent-decode keys, or free a worker held by an idle
//! connection when a new client needs it. From here, the README's
//! Architecture section walks one request through httpdb's own code.
//!
//! Run it: `cargo run --example 10_kv_store [-- ADDR]` (default 127.0.0.1:8080).

#[path = "parts/body.rs"]
mod body;
#[path = "parts/connection.rs"]
mod connection;
#[path = "parts/deadline.rs"]
mod deadline;
#[path = "parts/pool.rs"]
mod pool;
#[path = "parts/request.rs"]
mod request;
#[path = "parts/response.rs"]
mod response;

use std::collections::BTreeMap;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use connection::Timeouts;
use pool::ThreadPool;
use request::Request;
use response::Response;

/// How many connections are served at once.
const WORKERS: usize = 4;
const TIMEOUTS: Timeouts = Timeouts {
    request: Duration::from_secs(5),
    idle: Duration::from_secs(5),
};

/// A stored value and the Content-Type it came with.
struct Entry {
    content_type: String,
    value: Vec<u8>,
}

/// Every entry by key, behind one lock that each request takes in turn.
type Store = Mutex<BTreeMap<String, Entry>>;

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    let store = Arc::new(Store::default());
    let pool = ThreadPool::new(WORKERS);
    connection::serve(listener.incoming(), pool, TIMEOUTS, move |request| {
        handle(&store, request)
    })
}

/// What a request means. The key is the target's path, without the query.
fn handle(store: &Store, request: &Request) -> Response {
    let key = request.target.split('?').next().unwrap_or_default();
    let response = match (request.method.as_str(), key) {
        ("GET", "/_all") => all(store),
        (_, "/_all") => text(405, "/_all can only be read\n").with_header("Allow", "GET"),
        ("GET", key) => get(store, key),
        ("POST" | "PUT", key) => put(store, key, request),
        ("DELETE", key) => delete(store, key),
        _ => text(405, "not a method for a key\n").with_header("Allow", "GET, POST, PUT, DELETE"),
    };
    // An origin server with a clock dates its responses (RFC 9110 §6.6.1).
    response.with_header("Date", httpdate::fmt_http_date(SystemTime::now()))
}

fn get(store: &Store, key: &str) -> Response {
    // `lock` fails only if a thread panicked while holding the lock, and
    // nothing here can panic while it is held.
    match store.lock().unwrap().get(key) {
        Some(entry) => Response::new(200, &entry.content_type, entry.value.clone()),
        None => text(404, &format!("key '{key}' not found\n")),
    }
}

/// Stores the body: 201 and its Location if the key is new, 200 if it
/// replaced a value (RFC 9110 §9.3.4).
fn put(store: &Store, key: &str, request: &Request) -> Response {
    let content_type = request
        .header("content-type")
        .unwrap_or("application/octet-stream");
    if is_json(content_type) {
        // The bytes are stored as sent; parsing only checks them.
        if let Err(error) = serde_json::from_slice::<Value>(&request.body) {
            return text(400, &format!("the body is not valid JSON: {error}\n"));
        }
    }
    let entry = Entry {
        content_type: content_type.to_string(),
        value: request.body.clone(),
    };
    match store.lock().unwrap().insert(key.to_string(), entry) {
        Some(_) => Response::empty(200),
        None => Response::empty(201).with_header("Location", key),
    }
}

fn delete(store: &Store, key: &str) -> Response {
    match store.lock().unwrap().remove(key) {
        Some(_) => Response::empty(204),
        None => text(404, &format!("key '{key}' not found\n")),
    }
}

/// Every entry as one JSON object: key to content type, size and value;
/// the value is the JSON itself for JSON, a string for UTF-8 text, and
/// null for anything else.
fn all(store: &Store) -> Response {
    let mut everything = serde_json::Map::new();
    for (key, entry) in store.lock().unwrap().iter() {
        let value = if is_json(&entry.content_type) {
            serde_json::from_slice(&entry.value).unwrap_or(Value::Null)
        } else {
            String::from_utf8(entry.value.clone()).map_or(Value::Null, Value::String)
        };
        let size = entry.value.len();
        let described = json!({"content_type": entry.content_type, "size": size, "value": value});
        everything.insert(key.clone(), described);
    }
    Response::new(
        200,
        "application/json",
        Value::Object(everything).to_string(),
    )
}

/// `application/json`, or any `+json` type, whatever its parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

fn text(status: u16, message: &str) -> Response {
    Response::new(status, "text/plain", message)
}

#[cfg(test)]
#[path = "tests/10_kv_store.rs"]
mod tests;
