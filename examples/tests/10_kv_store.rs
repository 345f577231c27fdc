//! Step 10's tests: the post's key-value store works, including every case
//! step 03 got wrong; and the bug left for httpdb: it keeps nothing.

#[path = "support.rs"]
mod support;

use std::sync::Arc;

use httpdb::client::{Client, Request, Response};

use super::{Store, TIMEOUTS, connection, handle, pool};
use pool::ThreadPool;
use support::Server;

/// The step's server, with a store of its own.
fn start(connections: usize) -> Server {
    let store = Arc::new(Store::default());
    support::start(connections, move |incoming| {
        connection::serve(incoming, ThreadPool::new(2), TIMEOUTS, move |r| {
            handle(&store, r)
        })
    })
}

fn exchange(client: &mut Client, request: Request<'_>) -> Response {
    client.exchange(&request).unwrap()
}

#[test]
fn values_are_stored_replaced_and_deleted() {
    let server = start(1);
    let mut client = server.client();
    let put = |body: &'static [u8]| {
        Request::new("PUT", "/hello")
            .header("Content-Type", "text/plain")
            .body(body)
    };
    let created = exchange(&mut client, put(b"A quick brown fox"));
    assert_eq!(
        (created.status(), created.header("location")),
        (201, Some("/hello"))
    );
    assert_eq!(exchange(&mut client, put(b"A lazy dog")).status(), 200);
    let got = exchange(&mut client, Request::new("GET", "/hello?ignored=query"));
    assert_eq!(
        (got.status(), got.header("content-type")),
        (200, Some("text/plain"))
    );
    assert_eq!(got.body, b"A lazy dog");
    assert!(
        got.header("date")
            .is_some_and(|date| date.ends_with(" GMT"))
    );
    assert_eq!(
        exchange(&mut client, Request::new("DELETE", "/hello")).status(),
        204
    );
    assert_eq!(
        exchange(&mut client, Request::new("DELETE", "/hello")).status(),
        404
    );
    assert_eq!(
        exchange(&mut client, Request::new("GET", "/hello")).status(),
        404
    );
    assert_eq!(
        exchange(&mut client, Request::new("PATCH", "/hello")).status(),
        405
    );
    drop(client);
    server.finish();
}

/// What step 03 lost, kept: a binary value, byte for byte; a JSON body with
/// CRLFs in it, as sent; a body sent in chunks; a request without Host.
#[test]
fn step_03s_requests_are_served() {
    let server = start(2);
    let mut client = server.client();
    let binary = [0xff, 0x00, 0x80, b'\r', b'\n'];
    let stored = exchange(&mut client, Request::new("POST", "/bin").body(&binary));
    assert_eq!(stored.status(), 201);
    let json = b"{\r\n  \"hello\": \"world\"\r\n}";
    let request = Request::new("POST", "/json").header("Content-Type", "application/json");
    assert_eq!(exchange(&mut client, request.body(json)).status(), 201);
    let chunked = b"POST /chunks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    client.send_raw(chunked).unwrap();
    assert_eq!(client.read_response(false).unwrap().status(), 201);
    for (key, value) in [
        ("/bin", &binary[..]),
        ("/json", &json[..]),
        ("/chunks", b"abc"),
    ] {
        assert_eq!(
            exchange(&mut client, Request::new("GET", key)).body,
            value,
            "{key}"
        );
    }
    let without_host = server.connect();
    support::send(&without_host, b"GET /bin HTTP/1.0\r\n\r\n");
    let answer = support::read_to_close(&without_host);
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK\r\n") && answer.ends_with(&binary),
        "{answer:?}"
    );
    drop(without_host);
    drop(client);
    server.finish();
}

/// A JSON body that does not parse is refused, and the answer says where.
#[test]
fn json_must_parse() {
    let server = start(1);
    let mut client = server.client();
    let request = Request::new("POST", "/oops").header("Content-Type", "application/ld+json");
    let refused = exchange(&mut client, request.body(b"{\"hello\": world}"));
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.text(),
        "the body is not valid JSON: expected value at line 1 column 11\n"
    );
    assert_eq!(
        exchange(&mut client, Request::new("GET", "/oops")).status(),
        404
    );
    drop(client);
    server.finish();
}

/// The bug httpdb fixes: the values live in the server's memory. A server
/// started afresh (a restart) has none of them.
#[test]
fn a_restart_forgets_everything() {
    let server = start(1);
    let answer = server.exchange(
        b"POST /hello HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    server.finish();
    let restarted = start(1);
    let answer = restarted.exchange(b"GET /hello HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    restarted.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("10_kv_store", start);
}
