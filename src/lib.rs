//! httpdb: a key-value database that speaks HTTP/1.x, built on blocking
//! sockets and a pool of threads, with no async runtime.
//!
//! `PUT /hello` stores the request body under the key `/hello`, with its
//! Content-Type; `GET /hello` returns it. The whole contract is in the
//! README; this page is the map of the code.
//!
//! # One request, through the code
//!
//! ```text
//! main.rs        flags -> Config -> Store -> Api -> Server::run
//! server/        accept loop -> worker pool -> one connection's request loop
//!   idle.rs        idle connections, reclaimed when a newcomer needs a worker
//!   deadline.rs    reads that give up at a deadline (408, idle close)
//! http/          bytes -> RequestHead -> body -> Request ... Response -> bytes
//! api/           Request -> Response: routes, conditions, listings
//! store/         the ordered map behind one lock, and its log
//! client.rs      the other side of the wire: a small HTTP/1.1 client
//! cluster/       `httpdb cluster ...`: nginx in front of several nodes
//! ```
//!
//! Dependencies point one way: `server` drives `http` and calls the
//! [`http::Handler`] that `api` implements; `api` uses `http` types and the
//! `store`; the `store` knows nothing of HTTP and `http` knows nothing of
//! keys or sockets. `stats` holds the counters the server writes and
//! `/_stats` reads. The `cluster` tools talk to nodes through `client`,
//! which shares no code with the server's parser. `tests/architecture.rs`
//! holds the code to this picture: no file of `src/` depends on itself
//! through others, and no layer uses one it must not.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod client;
pub mod cluster;
pub mod config;
pub mod http;
pub mod server;
pub mod stats;
pub mod store;
