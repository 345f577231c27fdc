//! The key-value API: what each request means, as a function from a request
//! to a response. No sockets here; the server hands requests in.
//!
//! A key is the request path, percent-decoded, without the query: `/hello`,
//! `/users/42`. `/` and every path starting with `/_` belong to the server.
//!
//! | request | response |
//! |---|---|
//! | `PUT`/`POST /k` + body | `201 Created` + `Location` if new, `200 OK` if replaced; `ETag` |
//! | `GET /k` (`HEAD /k`) | `200`, the stored bytes and Content-Type, `ETag`, `Last-Modified`; `404` |
//! | `DELETE /k` | `204`, or `404` |
//! | `OPTIONS /k`, `OPTIONS *` | `204` + `Allow` |
//! | `GET /`, `/_all`, `/_keys`, `/_stats`, `/_health` | banner, listings, figures, liveness |
//!
//! Errors are RFC 9457 problem details. A method httpdb knows but the target
//! does not allow gets 405 with `Allow` (RFC 9110 §15.5.6); a method it does
//! not know gets 501 (§15.6.2).

pub mod conditional;
pub mod json;
pub mod listing;
mod problems;

use std::sync::Arc;

use crate::http::response::HeaderValue;
use crate::http::{Body, Framing, Handler, Method, Request, RequestHead, Response, Status};
use crate::stats::ServerStats;
use crate::store::{Deleted, Store, StoreStats};

use conditional::{Outcome, Preconditions};
use json::{check_json, is_json_media_type};
use problems::{not_found, precondition_failed, unavailable, write_failed};

/// The longest key, in bytes after percent-decoding.
pub const MAX_KEY_BYTES: usize = 1024;

/// Methods allowed on a key, and on `OPTIONS *`.
const KEY_METHODS: &str = "GET, HEAD, PUT, POST, DELETE, OPTIONS";
/// Methods allowed on the server's own paths.
const READ_ONLY_METHODS: &str = "GET, HEAD, OPTIONS";

/// The API over one store.
pub struct Api {
    store: Arc<Store>,
    stats: Arc<ServerStats>,
    token: Option<String>,
}

/// What a request target names. `check_head` finds it and, with the
/// method, turns it into the [`Action`] that `handle` carries out.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `OPTIONS *`: the server as a whole.
    Server,
    /// `/`
    Banner,
    /// `/_all`
    All,
    /// `/_keys`
    Keys,
    /// `/_stats`
    Stats,
    /// `/_health`
    Health,
    /// Any other `/_…` path: reserved, nothing there.
    Reserved,
    /// A user key.
    Key(String),
}

impl Route {
    fn of(head: &RequestHead) -> Result<Route, Response> {
        if head.targets_the_server() {
            return Ok(Route::Server);
        }
        let key = decode_key(head.path())?;
        Ok(match key.as_str() {
            "/" => Route::Banner,
            "/_all" => Route::All,
            "/_keys" => Route::Keys,
            "/_stats" => Route::Stats,
            "/_health" => Route::Health,
            reserved if reserved.starts_with("/_") => Route::Reserved,
            _ => Route::Key(key),
        })
    }

    fn allowed_methods(&self) -> &'static str {
        match self {
            Route::Server | Route::Key(_) => KEY_METHODS,
            _ => READ_ONLY_METHODS,
        }
    }

    fn allows(&self, method: &Method) -> bool {
        match method {
            Method::Get | Method::Head | Method::Options => true,
            Method::Put | Method::Post | Method::Delete => matches!(self, Route::Key(_)),
            Method::Other(_) => false,
        }
    }
}

/// What an accepted request asks for. `check_head` decides it from the
/// route and the method, having refused every combination the API does not
/// serve, so `handle` has exactly one thing to do for each.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// `OPTIONS`: answer with the methods the target allows.
    Options(&'static str),
    /// `GET` or `HEAD` of a key.
    Read(String),
    /// `PUT` or `POST` to a key.
    Write(String),
    /// `DELETE` of a key.
    Delete(String),
    /// `GET /`.
    Banner,
    /// `GET /_all`.
    All,
    /// `GET /_keys`.
    Keys,
    /// `GET /_stats`.
    Stats,
    /// `GET /_health`.
    Health,
    /// `GET` or `HEAD` of a reserved path that holds nothing (`OPTIONS *`
    /// is the only request on the server as a whole, and it is `Options`).
    NothingThere,
}

impl Action {
    /// The action for a method that `route` allows.
    fn of(route: Route, method: &Method) -> Action {
        match (route, method) {
            (route, Method::Options) => Action::Options(route.allowed_methods()),
            (Route::Key(key), Method::Put | Method::Post) => Action::Write(key),
            (Route::Key(key), Method::Delete) => Action::Delete(key),
            (Route::Key(key), _) => Action::Read(key),
            (Route::Banner, _) => Action::Banner,
            (Route::All, _) => Action::All,
            (Route::Keys, _) => Action::Keys,
            (Route::Stats, _) => Action::Stats,
            (Route::Health, _) => Action::Health,
            (Route::Reserved | Route::Server, _) => Action::NothingThere,
        }
    }
}

/// Percent-decodes a path into a key: valid UTF-8, at most [`MAX_KEY_BYTES`].
fn decode_key(path: &str) -> Result<String, Response> {
    let bad = |detail: String| Response::problem(Status::BAD_REQUEST, detail);
    let bytes = crate::http::uri::percent_decode(path, false).ok_or_else(|| {
        bad(format!(
            "the path '{path}' has a '%' not followed by two hex digits"
        ))
    })?;
    if bytes.len() > MAX_KEY_BYTES {
        return Err(bad(format!(
            "a key is at most {MAX_KEY_BYTES} bytes; this one is {}",
            bytes.len()
        )));
    }
    String::from_utf8(bytes).map_err(|_| bad(format!("the path '{path}' does not decode to UTF-8")))
}

impl Api {
    /// `token`, when set, is required as `Authorization: Bearer <token>` on
    /// every request but `/_health`.
    pub fn new(store: Arc<Store>, stats: Arc<ServerStats>, token: Option<String>) -> Api {
        Api {
            store,
            stats,
            token,
        }
    }

    /// Bearer token check (RFC 6750 §2.1, §3). The comparison takes the same
    /// time wherever the tokens differ, so timing does not reveal a prefix.
    fn authorize(&self, head: &RequestHead, route: &Route) -> Result<(), Response> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        if *route == Route::Health {
            return Ok(());
        }
        let presented = head.header("authorization").and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        let (challenge, detail) = match presented {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => return Ok(()),
            Some(_) => (
                "Bearer realm=\"httpdb\", error=\"invalid_token\"",
                "the bearer token is not valid",
            ),
            None => (
                "Bearer realm=\"httpdb\"",
                "this server requires 'Authorization: Bearer <token>'",
            ),
        };
        Err(Response::problem(Status::UNAUTHORIZED, detail)
            .with_header("WWW-Authenticate", challenge))
    }

    fn get(&self, key: &str, head: &RequestHead) -> Response {
        let entry = match self.store.get(key) {
            Ok(Some(entry)) => entry,
            Ok(None) => return not_found(key),
            Err(failed) => return unavailable(&failed),
        };
        let validators = |response: Response| {
            response
                .with_header("ETag", HeaderValue::ETag(entry.revision))
                .with_header("Last-Modified", HeaderValue::Date(entry.modified))
        };
        match Preconditions::from_head(head).evaluate(Some(&entry), true) {
            Outcome::Proceed => validators(Response::new(Status::OK)).with_body(
                HeaderValue::Shared(Arc::clone(&entry.content_type)),
                Body::Shared(Arc::clone(&entry.value)),
            ),
            Outcome::NotModified => validators(Response::new(Status::NOT_MODIFIED)),
            Outcome::Failed => precondition_failed(key, Some(entry.revision)),
        }
    }

    fn put(&self, key: &str, request: Request) -> Response {
        let head = &request.head;
        let content_type = head
            .header("content-type")
            .filter(|value| !value.is_empty())
            .unwrap_or("application/octet-stream");
        if is_json_media_type(content_type)
            && let Err(error) = check_json(&request.body)
        {
            return Response::problem(
                Status::BAD_REQUEST,
                format!("the body is not valid JSON: {error}"),
            );
        }
        let preconditions = Preconditions::from_head(head);
        let result = self.store.put(key, content_type, request.body, |current| {
            preconditions.evaluate(current, false) == Outcome::Proceed
        });
        match result {
            Ok(written) if written.created => Response::new(Status::CREATED)
                .with_header("Location", head.path().to_owned())
                .with_header("ETag", HeaderValue::ETag(written.revision)),
            Ok(written) => {
                Response::new(Status::OK).with_header("ETag", HeaderValue::ETag(written.revision))
            }
            Err(error) => write_failed(key, error),
        }
    }

    fn delete(&self, key: &str, head: &RequestHead) -> Response {
        let preconditions = Preconditions::from_head(head);
        let result = self.store.delete(key, |current| {
            preconditions.evaluate(Some(current), false) == Outcome::Proceed
        });
        match result {
            Ok(Deleted::Existed { .. }) => Response::new(Status::NO_CONTENT),
            Ok(Deleted::Absent) => not_found(key),
            Err(error) => write_failed(key, error),
        }
    }

    fn banner(&self) -> Response {
        Response::text(
            Status::OK,
            format!(
                "httpdb {}: a key-value database that speaks HTTP/1.1.\n\n\
                 PUT /some/key      store the request body under /some/key\n\
                 GET /some/key      read it back (HEAD for headers only)\n\
                 DELETE /some/key   remove it\n\
                 GET /_keys         list keys (?prefix=/some/&limit=100&after=/some/key)\n\
                 GET /_all          every entry as one JSON object\n\
                 GET /_stats        figures about the server and the store\n\
                 GET /_health       200 ok while the server is up\n",
                env!("CARGO_PKG_VERSION")
            ),
        )
    }

    fn stats(&self) -> Response {
        let server = self.stats.snapshot();
        let store = self.store.stats();
        let log_stats = |store: &StoreStats| match &store.log {
            None => serde_json::Value::Null,
            Some(log) => serde_json::json!({
                "path": log.path.display().to_string(),
                "fsync": log.fsync.as_str(),
                "bytes": log.bytes,
                "live_bytes": store.live_log_bytes,
                "compactions": log.compactions,
                "batches": log.batches,
                "records_per_batch": log.records as f64 / log.batches.max(1) as f64,
                "last_sync": log.last_sync.map(httpdate::fmt_http_date),
                "failed": log.failed,
            }),
        };
        let [r1, r2, r3, r4, r5] = server.responses;
        Response::json(
            Status::OK,
            &serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_seconds": server.uptime.as_secs_f64(),
                "keys": store.keys,
                "bytes": store.value_bytes,
                "revision": store.last_revision,
                "connections": {
                    "open": server.open,
                    "accepted": server.accepted,
                    "rejected": server.rejected,
                    "reclaimed": server.reclaimed,
                },
                "workers": {
                    "total": server.workers,
                    "busy": server.busy,
                    "idle_keep_alive": server.idle,
                    "reclaimable": server.reclaimable,
                    "queued": server.queued,
                },
                "requests": { "1xx": r1, "2xx": r2, "3xx": r3, "4xx": r4, "5xx": r5 },
                "log": log_stats(&store),
                "access_log_dropped": server.access_log_dropped,
                "body_bytes_held": server.body_bytes_held,
            }),
        )
    }
}

impl Handler for Api {
    type Accepted = Action;

    fn check_head(&self, head: &RequestHead) -> Result<Action, Response> {
        let route = Route::of(head)?;
        self.authorize(head, &route)?;
        let method = head.method();
        if let Method::Other(name) = method {
            return Err(Response::problem(
                Status::NOT_IMPLEMENTED,
                format!("method {name} is not implemented"),
            ));
        }
        if !route.allows(method) {
            return Err(method_not_allowed(method, &route));
        }
        if matches!(method, Method::Put | Method::Post) {
            if head.framing() == Framing::None {
                return Err(Response::problem(
                    Status::LENGTH_REQUIRED,
                    "a write needs a body with Content-Length or Transfer-Encoding: chunked",
                ));
            }
            // A write that is going to fail its precondition is refused
            // before its body is read, so a client waiting for `100 Continue`
            // does not upload it for nothing. The store checks again under
            // its lock, where it counts.
            if let Route::Key(key) = &route {
                let preconditions = Preconditions::from_head(head);
                if !preconditions.is_empty() {
                    let current = self.store.get(key).map_err(|failed| unavailable(&failed))?;
                    if preconditions.evaluate(current.as_ref(), false) == Outcome::Failed {
                        return Err(precondition_failed(
                            key,
                            current.map(|entry| entry.revision),
                        ));
                    }
                }
            }
        }
        Ok(Action::of(route, method))
    }

    fn handle(&self, action: Action, request: Request) -> Response {
        match action {
            Action::Options(allowed) => {
                Response::new(Status::NO_CONTENT).with_header("Allow", allowed)
            }
            Action::Read(key) => self.get(&key, &request.head),
            Action::Write(key) => self.put(&key, request),
            Action::Delete(key) => self.delete(&key, &request.head),
            Action::Banner => self.banner(),
            Action::All => listing::all(&self.store),
            Action::Keys => listing::keys(&self.store, request.head.query()),
            Action::Stats => self.stats(),
            Action::Health => match self.store.failure() {
                None => Response::text(Status::OK, "ok\n"),
                Some(reason) => Response::problem(
                    Status::SERVICE_UNAVAILABLE,
                    format!("the log failed, writes are refused: {reason}"),
                ),
            },
            Action::NothingThere => Response::problem(
                Status::NOT_FOUND,
                format!(
                    "'{}' is reserved for the server and holds nothing",
                    request.head.path()
                ),
            ),
        }
    }
}

fn method_not_allowed(method: &Method, route: &Route) -> Response {
    let detail = match route {
        Route::Key(_) | Route::Server => format!("{} is not allowed here", method.as_str()),
        _ => format!(
            "{} is not allowed: '/' and paths starting with '/_' belong to the server",
            method.as_str()
        ),
    };
    Response::problem(Status::METHOD_NOT_ALLOWED, detail)
        .with_header("Allow", route.allowed_methods())
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut difference = presented.len() ^ expected.len();
    for (i, &byte) in expected.iter().enumerate() {
        let other = presented.get(i).copied().unwrap_or(!byte);
        difference |= usize::from(byte ^ other);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }

    #[test]
    fn keys_decode_and_are_bounded() {
        assert_eq!(decode_key("/a%20b").unwrap(), "/a b");
        assert!(decode_key("/%zz").is_err());
        assert!(decode_key("/%ff").is_err());
        assert!(decode_key(&format!("/{}", "k".repeat(MAX_KEY_BYTES))).is_err());
        assert!(decode_key(&format!("/{}", "k".repeat(MAX_KEY_BYTES - 1))).is_ok());
    }
}
