//! The HTTP/1.x rules of RFC 9110 and RFC 9112 as httpdb applies them (the
//! README's "Limits and protections"), one rule at a time, over real
//! sockets with raw bytes: versions and the status line, the headers every
//! response carries, HEAD, persistence and pipelining, line endings, header
//! syntax, body framing (Content-Length, Transfer-Encoding, chunked), Host,
//! Expect, 411, the size limits, request-target forms, and garbage.
//!
//! Every malformed request is checked for its status, its problem+json body,
//! `Connection: close`, the connection really closing, and the store being
//! left exactly as it was. What a well-formed request means is tested in
//! `api.rs`; timeouts in `timeouts.rs`.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use httpdb::http::Limits;

/// The version the `Server` header must carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the store holds, comparable before and after a request.
type Snapshot = Vec<(String, Vec<u8>, String, u64)>;

fn snapshot(server: &TestServer) -> Snapshot {
    server
        .store
        .entries()
        .expect("readable")
        .into_iter()
        .map(|(key, entry)| {
            (
                key.to_string(),
                entry.value.to_vec(),
                entry.content_type.to_string(),
                entry.revision,
            )
        })
        .collect()
}

/// A server with default limits holding `/seed` = `original`, so that "the
/// store did not change" is about real data.
fn seeded() -> TestServer {
    seed(TestServer::start())
}

fn seeded_with(configure: impl FnOnce(&mut httpdb::server::ServerOptions)) -> TestServer {
    seed(TestServer::start_with(configure, None))
}

fn seed(server: TestServer) -> TestServer {
    server
        .store
        .put("/seed", "text/plain", b"original".to_vec(), |_| true)
        .expect("seed");
    server
}

/// The stored value of `key`, if any.
fn stored(server: &TestServer, key: &str) -> Option<Vec<u8>> {
    server
        .store
        .get(key)
        .expect("readable")
        .map(|entry| entry.value.to_vec())
}

/// Date, Server, Content-Length, and Content-Type with a body, as httpdb
/// puts them on every final response (RFC 9110 §6.6.1, §10.2.4, §8.6, §8.3).
fn assert_common_headers(response: &Response) {
    let date = response
        .header("date")
        .unwrap_or_else(|| panic!("no Date: {response:?}"));
    let date = httpdate::parse_http_date(date)
        .unwrap_or_else(|e| panic!("Date {date:?} is not an HTTP-date: {e}"));
    let now = SystemTime::now();
    let skew = now.duration_since(date).unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(60), "Date is {skew:?} off");
    assert_eq!(
        response.header("server"),
        Some(format!("httpdb/{VERSION}").as_str()),
        "{response:?}"
    );
    let bodyless = response.status() < 200 || response.status() == 204 || response.status() == 304;
    if bodyless {
        assert_eq!(
            response.header("content-length"),
            None,
            "1xx, 204 and 304 have no Content-Length: {response:?}"
        );
        assert!(response.body.is_empty());
    } else {
        let length: usize = response
            .header("content-length")
            .unwrap_or_else(|| panic!("no Content-Length: {response:?}"))
            .parse()
            .expect("a decimal Content-Length");
        assert_eq!(length, response.body.len());
    }
    if !response.body.is_empty() {
        assert!(
            response.header("content-type").is_some(),
            "a body needs a Content-Type: {response:?}"
        );
    }
    assert_eq!(
        response.headers_named("date").count(),
        1,
        "exactly one Date: {response:?}"
    );
}

/// Reads the answer to a malformed request on `client` and checks that it is
/// `status` with a problem body and `Connection: close`, that the connection
/// then really closes, and that the store is still `before`.
fn assert_refused(
    client: &mut Client,
    server: &TestServer,
    before: &Snapshot,
    status: u16,
    what: &str,
) -> Response {
    let response = client.response();
    assert_eq!(response.status(), status, "{what}: {response:?}");
    assert_common_headers(&response);
    response.problem_detail();
    assert_closes(client, &response, what);
    assert_eq!(&snapshot(server), before, "{what}: the store changed");
    response
}

/// Sends `raw` on a new connection and checks that it is refused with
/// `status` and a close, leaving the store as it was.
fn refused(server: &TestServer, raw: &[u8], status: u16) -> Response {
    let before = snapshot(server);
    let mut client = server.connect();
    client.send_bytes(raw);
    let what = String::from_utf8_lossy(raw).into_owned();
    assert_refused(&mut client, server, &before, status, &what)
}

/// A `PUT /seed` with `Host`, then `fields`, then `body`.
fn put_seed(fields: &[&str], body: &[u8]) -> Vec<u8> {
    let mut lines = vec!["PUT /seed HTTP/1.1", "Host: test"];
    lines.extend_from_slice(fields);
    raw_request(&lines, body)
}

/// The server still answers a fresh connection.
fn assert_alive(server: &TestServer) {
    let response = server.request("GET", "/_health", &[], None);
    assert_eq!(response.status(), 200, "{response:?}");
    assert_eq!(response.text(), "ok\n");
}

// ---------------------------------------------------------------------------
// Versions and the status line
// ---------------------------------------------------------------------------

#[test]
fn http_1_1_and_http_1_0_requests_get_an_http_1_1_status_line() {
    let server = seeded();
    let response = server.exchange(b"GET /seed HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"original");
    assert_common_headers(&response);

    // HTTP/1.0 needs no Host.
    let response = server.exchange(b"GET /seed HTTP/1.0\r\n\r\n");
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"original");
    assert_common_headers(&response);

    let response = server.exchange(b"GET /missing HTTP/1.0\r\n\r\n");
    assert_eq!(response.status_line(), "HTTP/1.1 404 Not Found");
    assert_common_headers(&response);
}

#[test]
fn http_2_and_http_3_get_505_and_a_close() {
    let server = seeded();
    for version in ["HTTP/2.0", "HTTP/3.0", "HTTP/9.9", "HTTP/0.9"] {
        let request_line = format!("PUT /seed {version}");
        let response = refused(
            &server,
            &raw_request(&[&request_line, "Host: test", "Content-Length: 4"], b"evil"),
            505,
        );
        assert_eq!(
            response.status_line(),
            "HTTP/1.1 505 HTTP Version Not Supported"
        );
    }
    // The HTTP/2 connection preface sent to an HTTP/1 server.
    refused(&server, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    assert_alive(&server);
}

#[test]
fn malformed_request_lines_get_400_and_a_close() {
    let server = seeded();
    for request_line in [
        "PUT  /seed HTTP/1.1",  // double space
        "PUT /seed  HTTP/1.1",  // double space before the version
        " PUT /seed HTTP/1.1",  // leading space
        "PUT /seed HTTP/1.1 ",  // trailing space
        "PUT\t/seed\tHTTP/1.1", // tabs instead of spaces
        "PUT /seed",            // missing version (HTTP/0.9 style)
        "PUT /seed http/1.1",   // lower-case protocol name
        "PUT /seed HTTP/1",     // no minor version
        "PUT /seed HTTP/1.10",  // two-digit minor version
        "PUT /seed HTTP/1.x",
        "PUT /seed HTTPS/1.1",
        "PUT",
    ] {
        let response = refused(
            &server,
            &raw_request(&[request_line, "Host: test", "Content-Length: 4"], b"evil"),
            400,
        );
        assert_eq!(response.status_line(), "HTTP/1.1 400 Bad Request");
    }
    assert_alive(&server);
}

#[test]
fn http_1_2_is_treated_as_http_1_1() {
    let server = seeded();
    let mut client = server.connect();
    // Persistent by default, like 1.1: two requests on one connection.
    client.send_bytes(b"GET /seed HTTP/1.2\r\nHost: test\r\n\r\n");
    let first = client.response();
    assert_eq!(first.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(first.body, b"original");
    assert!(!first.closes(), "{first:?}");
    assert_common_headers(&first);
    client.send_bytes(b"PUT /v12 HTTP/1.2\r\nHost: test\r\nContent-Length: 2\r\n\r\nok");
    let second = client.response();
    assert_eq!(second.status(), 201, "{second:?}");
    assert_eq!(stored(&server, "/v12").as_deref(), Some(&b"ok"[..]));

    // And, like 1.1, it needs a Host.
    refused(
        &server,
        b"PUT /seed HTTP/1.2\r\nContent-Length: 4\r\n\r\nevil",
        400,
    );
}

// ---------------------------------------------------------------------------
// Headers on every response
// ---------------------------------------------------------------------------

#[test]
fn every_response_has_date_server_and_content_length_and_type_with_a_body() {
    let server = seeded();
    let mut client = server.connect();

    let created = client.request(
        "PUT",
        "/k",
        &[("Content-Type", "text/plain")],
        Some(b"hello world"),
    );
    assert_eq!(created.status_line(), "HTTP/1.1 201 Created");
    assert_common_headers(&created);

    let replaced = client.request(
        "POST",
        "/k",
        &[("Content-Type", "text/plain")],
        Some(b"hello world"),
    );
    assert_eq!(replaced.status_line(), "HTTP/1.1 200 OK");
    assert_common_headers(&replaced);
    let etag = replaced.header("etag").expect("an ETag").to_string();

    let got = client.request("GET", "/k", &[], None);
    assert_eq!(got.status(), 200);
    assert_eq!(got.body, b"hello world");
    assert_eq!(got.header("content-length"), Some("11"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_common_headers(&got);

    let not_modified = client.request("GET", "/k", &[("If-None-Match", &etag)], None);
    assert_eq!(not_modified.status_line(), "HTTP/1.1 304 Not Modified");
    assert_common_headers(&not_modified);

    let options = client.request("OPTIONS", "/k", &[], None);
    assert_eq!(options.status_line(), "HTTP/1.1 204 No Content");
    assert!(options.header("allow").is_some());
    assert_common_headers(&options);

    let banner = client.request("GET", "/", &[], None);
    assert_eq!(banner.status(), 200);
    assert!(
        banner
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_common_headers(&banner);

    let deleted = client.request("DELETE", "/k", &[], None);
    assert_eq!(deleted.status_line(), "HTTP/1.1 204 No Content");
    assert_common_headers(&deleted);

    let missing = client.request("GET", "/k", &[], None);
    assert_eq!(missing.status_line(), "HTTP/1.1 404 Not Found");
    assert_common_headers(&missing);
    assert!(missing.problem_detail().contains("/k"));

    let not_allowed = client.request("DELETE", "/_all", &[], None);
    assert_eq!(not_allowed.status_line(), "HTTP/1.1 405 Method Not Allowed");
    assert_common_headers(&not_allowed);
    assert!(not_allowed.header("allow").is_some());

    // And on an error for a malformed request.
    let bad = refused(&server, b"GET / HTTP/1.1\r\nHost : test\r\n\r\n", 400);
    assert_common_headers(&bad);
}

#[test]
fn head_gets_the_header_fields_of_get_and_no_body() {
    // RFC 9110 §9.3.2: the same fields as GET, Content-Length included
    // (§8.6), and no content, whether the key is there or not.
    let server = seeded();
    let mut client = server.connect();
    // Each HEAD is followed by a GET in the same write: a body sent after a
    // HEAD response would be read as the start of the next response.
    client.send_bytes(
        b"HEAD /seed HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /seed HTTP/1.1\r\nHost: test\r\n\r\n\
          HEAD /missing HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /missing HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    // Every field but Date, which may tick between the two.
    let fields = |response: &Response| -> Vec<(String, String)> {
        response
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    };
    // The next HEAD and GET: the same status, and the same fields.
    let mut pair = |status: u16| {
        let head = client.response_to_head();
        let get = client.response();
        assert_eq!(
            (head.status(), get.status()),
            (status, status),
            "{head:?} {get:?}"
        );
        assert_eq!(fields(&head), fields(&get));
        assert!(head.body.is_empty());
        assert!(head.header("date").is_some(), "{head:?}");
        assert_common_headers(&get);
        (head, get)
    };
    let (head, get) = pair(200);
    for name in ["content-type", "content-length", "etag", "last-modified"] {
        assert!(head.header(name).is_some(), "HEAD has no {name}: {head:?}");
    }
    assert_eq!(get.body, b"original");
    let (_, get) = pair(404);
    assert!(get.problem_detail().contains("/missing"), "{get:?}");
}

// ---------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------

#[test]
fn http_1_1_keeps_the_connection_open() {
    let server = seeded();
    let mut client = server.connect();
    for round in 0..3 {
        let body = format!("value {round}");
        let put = client.request("PUT", "/kept", &[], Some(body.as_bytes()));
        assert_eq!(put.status(), if round == 0 { 201 } else { 200 }, "{put:?}");
        assert!(!put.closes(), "{put:?}");
        let get = client.request("GET", "/kept", &[], None);
        assert_eq!(get.body, body.as_bytes());
        assert!(!get.closes(), "{get:?}");
    }
}

#[test]
fn http_1_1_connection_close_closes_after_the_response() {
    let server = seeded();
    let mut client = server.connect();
    let response = client.request("GET", "/seed", &[("Connection", "close")], None);
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, b"original");
    assert_common_headers(&response);
    assert_closes(&mut client, &response, "Connection: close");

    // Connection is a list and its options are case-insensitive.
    let mut client = server.connect();
    let response = client.request(
        "PUT",
        "/closing",
        &[("Connection", "TE, Close")],
        Some(b"data"),
    );
    assert_eq!(response.status(), 201);
    assert_closes(&mut client, &response, "Connection: TE, Close");
    assert_eq!(stored(&server, "/closing").as_deref(), Some(&b"data"[..]));
}

#[test]
fn http_1_0_closes_by_default() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(b"GET /seed HTTP/1.0\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, b"original");
    assert_common_headers(&response);
    assert_closes(&mut client, &response, "HTTP/1.0");
}

#[test]
fn http_1_0_keep_alive_is_announced_and_kept() {
    let server = seeded();
    let mut client = server.connect();
    client
        .send_bytes(b"PUT /old HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
    let put = client.response();
    assert_eq!(put.status(), 201, "{put:?}");
    assert_eq!(
        put.header("connection").map(str::to_ascii_lowercase),
        Some("keep-alive".into()),
        "{put:?}"
    );
    assert_common_headers(&put);

    client.send_bytes(b"GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    let get = client.response();
    assert_eq!(get.status(), 200, "{get:?}");
    assert_eq!(get.body, b"abc");
    assert_eq!(
        get.header("connection").map(str::to_ascii_lowercase),
        Some("keep-alive".into())
    );

    // Without asking again, the connection closes after the next response.
    client.send_bytes(b"GET /old HTTP/1.0\r\n\r\n");
    let last = client.response();
    assert_eq!(last.body, b"abc");
    assert_closes(&mut client, &last, "HTTP/1.0 without keep-alive");
}

// ---------------------------------------------------------------------------
// Pipelining
// ---------------------------------------------------------------------------

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /p1 HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\none\
          GET /p1 HTTP/1.1\r\nHost: test\r\n\r\n\
          PUT /p2 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\ntwo\r\n4\r\n GET\r\n0\r\n\r\n\
          GET /p2 HTTP/1.1\r\nHost: test\r\n\r\n\
          POST /p1 HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nuno\
          GET /p1 HTTP/1.1\r\nHost: test\r\n\r\n\
          DELETE /p2 HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /p2 HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /seed HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    let responses: Vec<Response> = (0..9).map(|_| client.response()).collect();
    let statuses: Vec<u16> = responses.iter().map(Response::status).collect();
    assert_eq!(statuses, [201, 200, 201, 200, 200, 200, 204, 404, 200]);
    let missing = server.get("/p2");
    let bodies: [&[u8]; 9] = [
        b"",
        b"one",
        b"",
        b"two GET",
        b"",
        b"uno",
        b"",
        &missing.body,
        b"original",
    ];
    for (i, (response, body)) in responses.iter().zip(bodies).enumerate() {
        assert_eq!(response.body, body, "response {i}: {response:?}");
        assert_common_headers(response);
    }
    assert_closes(&mut client, &responses[8], "the last request said close");
    assert_eq!(stored(&server, "/p1").as_deref(), Some(&b"uno"[..]));
    assert_eq!(stored(&server, "/p2"), None);
}

#[test]
fn a_malformed_request_in_a_pipeline_is_the_last_one_answered() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /first HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\n1\
          PUT /second HTTP/1.1\r\nHost: test\r\nContent-Length: +1\r\n\r\n2\
          PUT /third HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\n3",
    );
    let first = client.response();
    assert_eq!(first.status(), 201, "{first:?}");
    assert!(!first.closes());
    assert_eq!(stored(&server, "/first").as_deref(), Some(&b"1"[..]));
    // The 400 is the last response: /third is never read, let alone stored.
    let before = snapshot(&server);
    assert_refused(&mut client, &server, &before, 400, "pipelined +1");
    assert_eq!(stored(&server, "/second"), None);
    assert_eq!(stored(&server, "/third"), None);
}

// ---------------------------------------------------------------------------
// Line endings
// ---------------------------------------------------------------------------

#[test]
fn bare_lf_line_endings_are_accepted() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /lf HTTP/1.1\nHost: test\nContent-Type: text/plain\nContent-Length: 5\n\nhello",
    );
    let put = client.response();
    assert_eq!(put.status(), 201, "{put:?}");
    // Mixed endings in one head; trailer fields may end in bare LF too.
    client.send_bytes(b"PUT /lf2 HTTP/1.1\r\nHost: test\nTransfer-Encoding: chunked\r\n\n2\r\nab\r\n0\r\nT: v\n\n");
    let put = client.response();
    assert_eq!(put.status(), 201, "{put:?}");
    client.send_bytes(b"GET /lf HTTP/1.1\nHost: test\n\n");
    let get = client.response();
    assert_eq!(get.status(), 200);
    assert_eq!(get.body, b"hello");
    assert_eq!(get.header("content-type"), Some("text/plain"));
    assert_eq!(stored(&server, "/lf2").as_deref(), Some(&b"ab"[..]));
}

#[test]
fn chunk_framing_needs_crlf_not_a_bare_lf() {
    // RFC 9112 §2.2's bare-LF leniency covers the start line and fields,
    // not chunk-size lines or the end of chunk data, where a parser that
    // reads them differently from a proxy can be smuggled past.
    for body in [
        &b"2\nab\r\n0\r\n\r\n"[..],
        b"2\r\nab\n0\r\n\r\n",
        b"2\r\nab\r\n0\n\r\n",
    ] {
        let server = seeded();
        let mut request =
            b"PUT /lf3 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        let response = refused(&server, &request, 400);
        assert!(response.problem_detail().contains("CRLF"), "{response:?}");
    }
}

#[test]
fn a_bare_cr_in_the_request_line_gets_400_and_a_close() {
    let server = seeded();
    for head in [
        &b"PUT /se\red HTTP/1.1\r\n"[..],
        b"PUT /seed HTTP/1.1\r\r\n",
        b"PUT /seed\rHTTP/1.1\r\n",
        b"PUT /seed HTTP/1.1\rHost: test\r\n",
    ] {
        let mut request = head.to_vec();
        request.extend_from_slice(b"Host: test\r\nContent-Length: 4\r\n\r\nevil");
        refused(&server, &request, 400);
    }
    assert_alive(&server);
}

#[test]
fn a_bare_cr_in_a_header_gets_400_and_a_close() {
    let server = seeded();
    for header in [
        &b"X-A: a\rb\r\n"[..],
        b"X-A: ab\r\r\n",
        b"X-A: ab\rContent-Length: 5\r\n",
        b"X\r-A: ab\r\n",
    ] {
        let mut request = b"PUT /seed HTTP/1.1\r\nHost: test\r\n".to_vec();
        request.extend_from_slice(header);
        request.extend_from_slice(b"Content-Length: 4\r\n\r\nevil");
        refused(&server, &request, 400);
    }
    assert_alive(&server);
}

#[test]
fn empty_lines_before_the_request_line_are_skipped() {
    let server = seeded();
    let mut client = server.connect();
    client
        .send_bytes(b"\r\n\n\r\nPUT /blank HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi");
    let put = client.response();
    assert_eq!(put.status(), 201, "{put:?}");
    // A client that ends a body with an extra CRLF before the next request.
    client.send_bytes(b"\r\nGET /blank HTTP/1.1\r\nHost: test\r\n\r\n");
    let get = client.response();
    assert_eq!(get.status(), 200, "{get:?}");
    assert_eq!(get.body, b"hi");
    assert_eq!(stored(&server, "/blank").as_deref(), Some(&b"hi"[..]));
}

// ---------------------------------------------------------------------------
// Header syntax
// ---------------------------------------------------------------------------

#[test]
fn header_syntax_errors_get_400_and_a_close() {
    let server = seeded();
    for bad in [
        &b"Content-Length : 4\r\n"[..], // space before the colon
        b"X-Thing : v\r\n",
        b"X-Thing\t: v\r\n",           // tab before the colon
        b"X-Thing: v\r\n folded\r\n",  // obs-fold with a space
        b"X-Thing: v\r\n\tfolded\r\n", // obs-fold with a tab
        b" X-Leading: v\r\n",          // first field folded onto the request line
        b"X-Nul: a\x00b\r\n",          // NUL in a value
        b"X-Del: a\x7fb\r\n",          // DEL in a value
        b"X-Esc: a\x1bb\r\n",          // ESC in a value
        b"X-Nul\x00: v\r\n",           // NUL in a name
        b"NoColonHere\r\n",            // no colon
        b": no-name\r\n",              // empty name
        b"X(Bad): v\r\n",              // a delimiter in the name
    ] {
        let mut request = b"PUT /seed HTTP/1.1\r\nHost: test\r\n".to_vec();
        request.extend_from_slice(bad);
        request.extend_from_slice(b"Content-Length: 4\r\n\r\nevil");
        refused(&server, &request, 400);
    }
    assert_alive(&server);
}

#[test]
fn well_formed_headers_in_every_allowed_shape_are_accepted() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /shapes HTTP/1.1\r\n\
          host: test\r\n\
          X-Tab: a\tb\r\n\
          X-Empty:\r\n\
          content-type:   text/plain  \t\r\n\
          CONTENT-LENGTH:5\r\n\
          \r\n\
          fives",
    );
    let response = client.response();
    assert_eq!(response.status(), 201, "{response:?}");
    let entry = server
        .store
        .get("/shapes")
        .expect("readable")
        .expect("stored");
    assert_eq!(&entry.value[..], b"fives");
    assert_eq!(&*entry.content_type, "text/plain", "OWS is trimmed");
    assert!(!response.closes());
}

#[test]
fn obs_text_in_a_header_value_is_accepted() {
    // RFC 9110 §5.5: field-vchar = VCHAR / obs-text (%x80-FF); only CTLs are
    // invalid, and a recipient should treat obs-text as opaque. A Latin-1
    // byte is not a control character, so the request is well-formed.
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /latin1 HTTP/1.1\r\nHost: test\r\nX-Name: caf\xe9\r\nContent-Length: 2\r\n\r\nok",
    );
    let response = client.response();
    assert_eq!(response.status(), 201, "{}", response.text());
    assert_eq!(stored(&server, "/latin1").as_deref(), Some(&b"ok"[..]));
}

// ---------------------------------------------------------------------------
// Content-Length
// ---------------------------------------------------------------------------

#[test]
fn malformed_content_length_gets_400_and_a_close() {
    let server = seeded();
    for fields in [
        &["Content-Length: +5"][..],
        &["Content-Length: -1"],
        &["Content-Length: 0x10"],
        &["Content-Length: 1 2"],
        &["Content-Length: 5a"],
        &["Content-Length: 5.0"],
        &["Content-Length: "],
        &["Content-Length: 99999999999999999999999"],
        &["Content-Length: 5", "Content-Length: 6"],
        &["Content-Length: 5, 6"],
    ] {
        refused(&server, &put_seed(fields, b"hello"), 400);
    }
    assert_alive(&server);
}

#[test]
fn identical_duplicate_content_lengths_are_one_value() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(&raw_request(
        &[
            "PUT /dup HTTP/1.1",
            "Host: test",
            "Content-Length: 5",
            "Content-Length: 5",
        ],
        b"hello",
    ));
    let first = client.response();
    assert_eq!(first.status(), 201, "{first:?}");
    client.send_bytes(&raw_request(
        &["PUT /dup HTTP/1.1", "Host: test", "Content-Length: 5, 5"],
        b"HELLO",
    ));
    let second = client.response();
    assert_eq!(second.status(), 200, "{second:?}");
    // Framing stayed right: the next request on the connection is read cleanly.
    let get = client.request("GET", "/dup", &[], None);
    assert_eq!(get.body, b"HELLO");
}

#[test]
fn leading_zeros_in_content_length_are_accepted() {
    // Content-Length = 1*DIGIT (RFC 9110 §8.6): 005 is five.
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(&raw_request(
        &["PUT /zeros HTTP/1.1", "Host: test", "Content-Length: 005"],
        b"fives",
    ));
    assert_eq!(client.response().status(), 201);
    let get = client.request("GET", "/zeros", &[], None);
    assert_eq!(get.body, b"fives");
}

#[test]
fn a_body_on_a_get_or_delete_is_framed_and_never_read_as_a_request() {
    // The body of a GET looks like a request; it must be skipped as body
    // bytes, not answered (that would be request smuggling).
    let server = seeded();
    let smuggled = b"PUT /smuggled HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nevil";
    let mut client = server.connect();
    let length = format!("Content-Length: {}", smuggled.len());
    let mut bytes = raw_request(&["GET /seed HTTP/1.1", "Host: test", &length], smuggled);
    bytes.extend_from_slice(
        b"DELETE /gone HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    bytes.extend_from_slice(format!("{:x}\r\n", smuggled.len()).as_bytes());
    bytes.extend_from_slice(smuggled);
    bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    bytes.extend_from_slice(b"GET /seed HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    client.send_bytes(&bytes);
    let get = client.response();
    assert_eq!(get.status(), 200, "{get:?}");
    assert_eq!(get.body, b"original");
    let delete = client.response();
    assert_eq!(delete.status(), 404, "{delete:?}");
    let last = client.response();
    assert_eq!(last.status(), 200, "{last:?}");
    assert_eq!(last.body, b"original");
    // Closed, with no response to a smuggled request before the end.
    assert_closes(&mut client, &last, "the last request said close");
    assert_eq!(stored(&server, "/smuggled"), None);
}

// ---------------------------------------------------------------------------
// Transfer-Encoding
// ---------------------------------------------------------------------------

#[test]
fn transfer_encoding_with_content_length_gets_400_and_a_close() {
    let server = seeded();
    let body = b"4\r\nevil\r\n0\r\n\r\n";
    for fields in [
        ["Transfer-Encoding: chunked", "Content-Length: 14"],
        ["Content-Length: 4", "Transfer-Encoding: chunked"],
    ] {
        refused(&server, &put_seed(&fields, body), 400);
    }
}

#[test]
fn transfer_encoding_in_http_1_0_gets_400_and_a_close() {
    let server = seeded();
    refused(
        &server,
        &raw_request(
            &["PUT /seed HTTP/1.0", "Transfer-Encoding: chunked"],
            b"4\r\nevil\r\n0\r\n\r\n",
        ),
        400,
    );
    // The same body as HTTP/1.1 is fine.
    let mut client = server.connect();
    client.send_bytes(&put_seed(
        &["Transfer-Encoding: chunked"],
        b"4\r\ngood\r\n0\r\n\r\n",
    ));
    assert_eq!(client.response().status(), 200);
    assert_eq!(stored(&server, "/seed").as_deref(), Some(&b"good"[..]));
}

#[test]
fn a_final_coding_other_than_chunked_gets_400_and_a_close() {
    let server = seeded();
    for fields in [
        &["Transfer-Encoding: chunked, gzip"][..],
        &["Transfer-Encoding: gzip"],
        &["Transfer-Encoding: identity"],
        &["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
        &["Transfer-Encoding: "],
    ] {
        refused(&server, &put_seed(fields, b"4\r\nevil\r\n0\r\n\r\n"), 400);
    }
}

#[test]
fn an_unimplemented_coding_before_chunked_gets_501() {
    let server = seeded();
    for fields in [
        &["Transfer-Encoding: gzip, chunked"][..],
        &["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
    ] {
        // The body was not decoded, so the connection cannot go on.
        let response = refused(&server, &put_seed(fields, b"4\r\nevil\r\n0\r\n\r\n"), 501);
        assert_eq!(response.status_line(), "HTTP/1.1 501 Not Implemented");
        assert!(response.problem_detail().contains("gzip"));
    }
}

#[test]
fn chunked_applied_twice_gets_400_and_a_close() {
    let server = seeded();
    for fields in [
        &["Transfer-Encoding: chunked, chunked"][..],
        &["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
    ] {
        refused(&server, &put_seed(fields, b"4\r\nevil\r\n0\r\n\r\n"), 400);
    }
}

// ---------------------------------------------------------------------------
// Chunked bodies
// ---------------------------------------------------------------------------

#[test]
fn chunked_bodies_are_stored_exactly() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /chunks HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: Chunked\r\n\
          Content-Type: application/octet-stream\r\n\r\n\
          5;a=b\r\nhello\r\n\
          A\r\n 0123\r\n89\x00\r\n\
          a ; name=\"quoted; value\" ; flag\r\nabcdefghij\r\n\
          0005\r\n\xff\xfe\r\n\n\r\n\
          0;last=yes\r\n\
          X-Trailer: t\r\n\
          X-Checksum: abc\r\n\
          \r\n",
    );
    let put = client.response();
    assert_eq!(put.status(), 201, "{put:?}");
    assert!(!put.closes());
    let mut expected = b"hello".to_vec();
    expected.extend_from_slice(b" 0123\r\n89\x00");
    expected.extend_from_slice(b"abcdefghij");
    expected.extend_from_slice(b"\xff\xfe\r\n\n");
    assert_eq!(stored(&server, "/chunks"), Some(expected.clone()));
    let get = client.request("GET", "/chunks", &[], None);
    assert_eq!(get.body, expected);

    // An empty chunked body is an empty value.
    client.send_bytes(
        b"PUT /empty HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(client.response().status(), 201);
    assert_eq!(stored(&server, "/empty"), Some(Vec::new()));
}

#[test]
fn a_bad_chunk_gets_400_and_stores_nothing() {
    let server = seeded();
    for body in [
        &b"zz\r\nhello\r\n0\r\n\r\n"[..], // not hex
        b"-1\r\nhello\r\n0\r\n\r\n",      // signed
        b"+5\r\nhello\r\n0\r\n\r\n",      // signed
        b"0x5\r\nhello\r\n0\r\n\r\n",     // a 0x prefix
        b"\r\nhello\r\n0\r\n\r\n",        // empty size
        b"5 5\r\nhello\r\n0\r\n\r\n",     // junk after the size
        b"5\r\nhelloXY\r\n0\r\n\r\n",     // no CRLF after the data
        b"5\r\nhello0\r\n\r\n",           // no CRLF, next size glued on
        b"3\r\nhello\r\n0\r\n\r\n",       // size shorter than the data
        b"5\r\nhello\r0\r\n\r\n",         // a bare CR after the data
        b"5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
    ] {
        let mut request =
            b"PUT /seed HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        refused(&server, &request, 400);
        let mut request =
            b"PUT /fresh HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        refused(&server, &request, 400);
        assert_eq!(stored(&server, "/fresh"), None);
    }
    assert_alive(&server);
}

#[test]
fn chunk_extensions_and_trailers_are_bounded() {
    let server = seeded();
    // A bare CR inside a chunk extension is still a bare CR.
    refused(
        &server,
        b"PUT /seed HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          4;a=b\rc\r\nevil\r\n0\r\n\r\n",
        400,
    );
    let head = b"PUT /seed HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    // One chunk-size line over 4 KiB.
    let long_line = format!("4;x={}\r\nevil\r\n0\r\n\r\n", "e".repeat(5000));
    // Short chunks whose extensions add up to over 64 KiB.
    let many_lines = format!("1;x={}\r\ne\r\n", "e".repeat(4000)).repeat(20) + "0\r\n\r\n";
    // A trailer section over 16 KiB, in few fields.
    let big_trailer = format!(
        "4\r\nevil\r\n0\r\n{}\r\n",
        format!("X-T: {}\r\n", "t".repeat(1000)).repeat(20)
    );
    // More than 100 trailer fields, each small.
    let many_trailers = format!("4\r\nevil\r\n0\r\n{}\r\n", "X-T: t\r\n".repeat(101));
    for (body, detail) in [
        (long_line, "a chunk-size line is too long"),
        (
            many_lines,
            "the chunk-size lines of this body are too long in total",
        ),
        (big_trailer, "the trailer section is too large"),
        (many_trailers, "the trailer section has too many fields"),
    ] {
        let mut request = head.to_vec();
        request.extend_from_slice(body.as_bytes());
        assert_eq!(refused(&server, &request, 400).problem_detail(), detail);
    }
    assert_alive(&server);
}

// ---------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------

#[test]
fn http_1_1_without_exactly_one_host_gets_400_and_a_close() {
    let server = seeded();
    for hosts in [
        &[][..],
        &["Host: test", "Host: test"],
        &["Host: a", "Host: b"],
    ] {
        let mut lines = vec!["PUT /seed HTTP/1.1"];
        lines.extend_from_slice(hosts);
        lines.push("Content-Length: 4");
        let response = refused(&server, &raw_request(&lines, b"evil"), 400);
        assert!(
            response
                .problem_detail()
                .to_ascii_lowercase()
                .contains("host"),
            "{response:?}"
        );
    }
}

#[test]
fn http_1_0_without_host_is_fine() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(b"PUT /nohost HTTP/1.0\r\nContent-Length: 3\r\n\r\nold");
    let response = client.response();
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(stored(&server, "/nohost").as_deref(), Some(&b"old"[..]));
    // One Host in HTTP/1.0 is fine too.
    let response = server.exchange(b"GET /nohost HTTP/1.0\r\nHost: test\r\n\r\n");
    assert_eq!(response.body, b"old");
}

// ---------------------------------------------------------------------------
// Expect
// ---------------------------------------------------------------------------

#[test]
fn expect_100_continue_gets_100_before_the_body_is_sent() {
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /cont HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.response();
    assert_eq!(interim.status_line(), "HTTP/1.1 100 Continue");
    assert_eq!(interim.header("content-length"), None);
    assert!(interim.body.is_empty());
    assert_eq!(stored(&server, "/cont"), None, "stored before the body");

    client.send_bytes(b"hello");
    let created = client.response();
    assert_eq!(created.status(), 201, "{created:?}");
    assert_common_headers(&created);
    assert_eq!(stored(&server, "/cont").as_deref(), Some(&b"hello"[..]));

    // Chunked works the same way, and the connection is still usable.
    client.send_bytes(b"PUT /cont HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n");
    assert_eq!(client.response().status(), 100);
    client.send_bytes(b"3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(client.response().status(), 200);
    assert_eq!(stored(&server, "/cont").as_deref(), Some(&b"abc"[..]));
}

#[test]
fn expect_100_continue_from_http_1_0_gets_no_interim_response() {
    // RFC 9110 §10.1.1: a server must not send 100 to an HTTP/1.0 client.
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(b"PUT /old HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok");
    let response = client.response();
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(stored(&server, "/old").as_deref(), Some(&b"ok"[..]));
}

#[test]
fn expect_100_continue_with_the_body_already_sent_is_answered() {
    // A client may stop waiting and send the body at once (RFC 9110
    // §10.1.1). httpdb answers the head before it reads any body, so the
    // 100 comes all the same, then the final status.
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(b"PUT /eager HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\neager");
    let interim = client.response();
    assert_eq!(interim.status_line(), "HTTP/1.1 100 Continue");
    let response = client.response();
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(stored(&server, "/eager").as_deref(), Some(&b"eager"[..]));
    let get = client.request("GET", "/eager", &[], None);
    assert_eq!(get.body, b"eager");
}

#[test]
fn expect_100_continue_over_max_body_gets_413_without_100() {
    let server = seeded_with(|options| {
        options.limits = Limits {
            max_body: 64,
            ..Limits::default()
        }
    });
    let before = snapshot(&server);
    let mut client = server.connect();
    // The body is never sent: the 413 must come from the head alone.
    client.send_bytes(
        b"PUT /seed HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
    );
    let response = assert_refused(&mut client, &server, &before, 413, "expect + too large");
    assert_eq!(response.status_line(), "HTTP/1.1 413 Content Too Large");
}

#[test]
fn expect_100_continue_to_a_reserved_path_gets_405_without_100() {
    let server = seeded();
    let before = snapshot(&server);
    let mut client = server.connect();
    client.send_bytes(
        b"PUT /_all HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    // The body was never sent nor read, so the connection must close.
    let response = assert_refused(&mut client, &server, &before, 405, "expect + /_all");
    let allow = response.header("allow").expect("Allow");
    assert!(allow.contains("GET") && !allow.contains("PUT"), "{allow}");
}

#[test]
fn any_other_expectation_gets_417() {
    let server = seeded();
    for expectation in ["something-else", "100-continue, magic", "200-ok"] {
        let expect = format!("Expect: {expectation}");
        let request = put_seed(&[&expect, "Content-Length: 4"], b"evil");
        let response = refused(&server, &request, 417);
        assert_eq!(response.status_line(), "HTTP/1.1 417 Expectation Failed");
    }
    assert_alive(&server);
}

// ---------------------------------------------------------------------------
// 411
// ---------------------------------------------------------------------------

#[test]
fn a_write_without_length_or_chunked_gets_411() {
    let server = seeded();
    for method in ["PUT", "POST"] {
        for key in ["/seed", "/nolength"] {
            let before = snapshot(&server);
            let request_line = format!("{method} {key} HTTP/1.1");
            let response = server.exchange(&raw_request(&[&request_line, "Host: test"], b""));
            assert_eq!(response.status_line(), "HTTP/1.1 411 Length Required");
            assert_common_headers(&response);
            response.problem_detail();
            assert_eq!(snapshot(&server), before);
        }
    }
    // An explicit zero length is a (empty) body, not a missing one.
    let response =
        server.exchange(b"PUT /zero HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(stored(&server, "/zero"), Some(Vec::new()));
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

fn small_limits() -> TestServer {
    seeded_with(|options| {
        options.limits = Limits {
            max_request_line: 256,
            max_header_bytes: 1024,
            max_header_count: 8,
            max_body: 64,
        }
    })
}

#[test]
fn a_request_line_over_the_limit_gets_414() {
    let server = small_limits();
    // Exactly at the limit is fine ("over" the limit is refused).
    let at_limit = format!("GET /{} HTTP/1.1", "a".repeat(256 - "GET / HTTP/1.1".len()));
    assert_eq!(at_limit.len(), 256);
    let response = server.exchange(&raw_request(&[&at_limit, "Host: test"], b""));
    assert_eq!(response.status(), 404, "{response:?}");

    let long = format!("PUT /{} HTTP/1.1", "a".repeat(1000));
    let response = refused(
        &server,
        &raw_request(&[&long, "Host: test", "Content-Length: 4"], b"evil"),
        414,
    );
    assert_eq!(response.status_line(), "HTTP/1.1 414 URI Too Long");
    assert_alive(&server);
}

#[test]
fn a_header_section_over_the_limit_gets_431_while_it_is_still_arriving() {
    let server = small_limits();
    // Under the limit: fine.
    let padding = format!("X-Pad: {}", "p".repeat(700));
    let response = server.exchange(&raw_request(
        &["GET /seed HTTP/1.1", "Host: test", &padding],
        b"",
    ));
    assert_eq!(response.status(), 200, "{response:?}");

    // An endless header line: the 431 must come before the line ends.
    let before = snapshot(&server);
    let mut client = server.connect();
    let mut partial =
        b"PUT /seed HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\nX-Endless: ".to_vec();
    // Far more than the server reads at once, so that closing without
    // draining what is left would reset the connection under the response.
    partial.extend(std::iter::repeat_n(b'a', 128 * 1024));
    client.send_bytes(&partial);
    let response = assert_refused(&mut client, &server, &before, 431, "endless header");
    assert_eq!(
        response.status_line(),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    // Many small lines that add up to too much.
    let mut lines = vec!["PUT /seed HTTP/1.1".to_string(), "Host: test".to_string()];
    for i in 0..6 {
        lines.push(format!("X-{i}: {}", "v".repeat(200)));
    }
    lines.push("Content-Length: 4".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    refused(&server, &raw_request(&lines, b"evil"), 431);
    assert_alive(&server);
}

/// A request: `request_line`, `Host`, `count` fields `X-<i>: v`, the
/// `last` fields, and `body`.
fn with_fields(request_line: &str, count: usize, last: &[&str], body: &[u8]) -> Vec<u8> {
    let fields: Vec<String> = (0..count).map(|i| format!("X-{i}: v")).collect();
    let mut lines = vec![request_line, "Host: test"];
    lines.extend(fields.iter().map(String::as_str));
    lines.extend_from_slice(last);
    raw_request(&lines, body)
}

#[test]
fn more_header_fields_than_the_limit_get_431() {
    let server = small_limits();
    // Eight fields: the limit, fine.
    let at_limit = with_fields("PUT /fields HTTP/1.1", 6, &["Content-Length: 2"], b"ok");
    let response = server.exchange(&at_limit);
    assert_eq!(response.status(), 201, "{response:?}");
    // Nine: refused, and the write does not happen.
    let over = with_fields("PUT /seed HTTP/1.1", 7, &["Content-Length: 2"], b"ev");
    refused(&server, &over, 431);
}

#[test]
fn the_default_field_limit_is_100() {
    let server = seeded();
    // Host and 99 more: a hundred fields, fine.
    let hundred = with_fields("GET /seed HTTP/1.1", 99, &[], b"");
    let response = server.exchange(&hundred);
    assert_eq!(response.status(), 200, "{response:?}");
    // A hundred and one: refused.
    let over = with_fields("PUT /seed HTTP/1.1", 99, &["Content-Length: 4"], b"evil");
    refused(&server, &over, 431);
}

#[test]
fn content_length_over_max_body_gets_413_before_the_body_is_sent() {
    let server = small_limits();
    let at_limit = vec![b'x'; 64];
    let response = server.exchange(&raw_request(
        &["PUT /big HTTP/1.1", "Host: test", "Content-Length: 64"],
        &at_limit,
    ));
    assert_eq!(response.status(), 201, "{response:?}");

    // Only the head is sent; the answer must come anyway.
    for length in ["65", "1000000000000"] {
        let before = snapshot(&server);
        let mut client = server.connect();
        let field = format!("Content-Length: {length}");
        client.send_bytes(&put_seed(&[&field], b""));
        let response = assert_refused(&mut client, &server, &before, 413, length);
        assert_eq!(response.status_line(), "HTTP/1.1 413 Content Too Large");
    }
}

#[test]
fn a_chunked_body_crossing_max_body_gets_413() {
    let server = small_limits();
    // Exactly the limit in chunks: fine.
    let mut at_limit =
        b"PUT /chunky HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    at_limit.extend_from_slice(b"20\r\n");
    at_limit.extend_from_slice(&[b'a'; 32]);
    at_limit.extend_from_slice(b"\r\n20\r\n");
    at_limit.extend_from_slice(&[b'b'; 32]);
    at_limit.extend_from_slice(b"\r\n0\r\n\r\n");
    let response = server.exchange(&at_limit);
    assert_eq!(response.status(), 201, "{response:?}");
    assert_eq!(stored(&server, "/chunky").map(|v| v.len()), Some(64));

    // 40 bytes, then a chunk of 40 more announced but not sent: the 413
    // must come as soon as the size line shows the limit is crossed.
    let before = snapshot(&server);
    let mut client = server.connect();
    let mut partial =
        b"PUT /seed HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n".to_vec();
    partial.extend_from_slice(&[b'c'; 40]);
    partial.extend_from_slice(b"\r\n28\r\n");
    client.send_bytes(&partial);
    assert_refused(&mut client, &server, &before, 413, "chunked over max_body");

    // Many small chunks that add up past the limit.
    let mut request =
        b"PUT /seed HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        request.extend_from_slice(b"4\r\nzzzz\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    refused(&server, &request, 413);
}

// ---------------------------------------------------------------------------
// Request targets
// ---------------------------------------------------------------------------

#[test]
fn an_absolute_form_target_is_accepted_and_its_authority_overrides_host() {
    // RFC 9112 §3.2.2: a server must accept the absolute-form, and an origin
    // server then ignores Host for the target's own authority (§3.2.2,
    // RFC 9110 §7.2). The key is the path alone; the scheme is
    // case-insensitive (RFC 9110 §4.2.3).
    let server = seeded();
    let mut client = server.connect();
    let put = client.request(
        "PUT",
        "http://localhost:6111/abs",
        &[("Host", "localhost:6111")],
        Some(b"hi"),
    );
    assert_eq!(put.status(), 201, "{put:?}");
    assert_eq!(put.header("location"), Some("/abs"));
    assert_eq!(stored(&server, "/abs").as_deref(), Some(&b"hi"[..]));
    assert_eq!(stored(&server, "http://localhost:6111/abs"), None);

    for (target, host, body) in [
        (
            "http://localhost:6111/seed?x=1",
            "localhost:6111",
            &b"original"[..],
        ),
        ("/abs", "test", b"hi"),
        ("HTTP://example.com/abs", "example.com", b"hi"),
        ("http://localhost:6111/abs", "elsewhere.example", b"hi"),
    ] {
        let get = client.request("GET", target, &[("Host", host)], None);
        assert_eq!(get.status(), 200, "{target}: {get:?}");
        assert_eq!(get.body, body, "{target}");
    }
    // An authority with no path addresses "/", the banner.
    let banner = client.request("GET", "http://localhost:6111", &[("Host", "test")], None);
    assert_eq!(banner.status(), 200, "{banner:?}");
    assert!(banner.text().starts_with("httpdb "), "{banner:?}");
    assert_eq!(server.store.stats().keys, 2, "only /seed and /abs");
}

#[test]
fn options_asterisk_gets_204_with_every_method_the_server_knows() {
    // RFC 9110 §9.3.7: `OPTIONS *` asks about the server as a whole; the
    // asterisk-form is for OPTIONS alone (RFC 9112 §3.2.4).
    let server = seeded();
    let mut client = server.connect();
    client.send_bytes(
        b"OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\nGET /seed HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    let options = client.response();
    assert_eq!(options.status_line(), "HTTP/1.1 204 No Content");
    assert_eq!(
        options.header("allow"),
        Some("GET, HEAD, PUT, POST, DELETE, OPTIONS")
    );
    assert_common_headers(&options);
    // No body followed the 204: the next response parses.
    let get = client.response();
    assert_eq!(get.body, b"original");
}

#[test]
fn an_asterisk_target_with_another_method_gets_400_and_a_close() {
    let server = seeded();
    refused(&server, b"GET * HTTP/1.1\r\nHost: test\r\n\r\n", 400);
    refused(&server, b"DELETE * HTTP/1.1\r\nHost: test\r\n\r\n", 400);
    refused(
        &server,
        b"PUT * HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nevil",
        400,
    );
    assert_alive(&server);
}

// ---------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------

/// Sends `bytes` on a new connection and ends the client's side, so that
/// the server reads to the end of them and never waits for more; checks
/// that they are refused with a 400 and a close. Returns the detail.
fn refused_garbage(server: &TestServer, bytes: &[u8], what: &str) -> String {
    let before = snapshot(server);
    let mut client = server.connect();
    client.send_bytes(bytes);
    client.finish_writing().expect("half-close");
    assert_refused(&mut client, server, &before, 400, what).problem_detail()
}

#[test]
fn random_binary_bytes_get_400_and_a_close() {
    let server = seeded();
    for seed in 1..=12u64 {
        let bytes = Noise::new(seed).bytes(64 + seed as usize * 97);
        refused_garbage(&server, &bytes, &format!("noise seed {seed}"));
    }
    // Noise ending in a blank line: a head that ends, and is garbage.
    let mut bytes = Noise::new(99).bytes(300);
    bytes.extend_from_slice(b"\r\n\r\n");
    refused(&server, &bytes, 400);
    assert_alive(&server);
}

#[test]
fn a_tls_client_hello_gets_400_and_a_close() {
    // What an `https://` URL sends to this plain-HTTP port: a handshake
    // record and the start of a ClientHello.
    let server = seeded();
    let mut hello = TLS_CLIENT_HELLO.to_vec();
    hello.extend(Noise::new(7).bytes(32)); // client random
    hello.extend_from_slice(&[0x00, 0x00, 0x20, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e]);
    hello.extend(Noise::new(8).bytes(120));
    // A TLS client waits for the server's hello: no half-close. These bytes
    // hold a LF, so the server has a "request line" to refuse at once.
    assert!(hello.contains(&b'\n'));
    let refusal = refused(&server, &hello, 400);
    assert_eq!(
        refusal.problem_detail(),
        "the request line must be METHOD SP TARGET SP HTTP/1.1"
    );
    assert_alive(&server);
}

#[test]
fn a_connection_closed_at_once_is_closed_quietly() {
    let server = seeded();
    let before = snapshot(&server);
    // Half-closed before sending anything: no response, just a close.
    let mut client = server.connect();
    client.finish_writing().expect("half-close");
    assert!(
        client.is_closed(),
        "the server answered an empty connection"
    );
    // Dropped outright, several times.
    for _ in 0..5 {
        drop(server.connect());
    }
    assert_eq!(snapshot(&server), before);
    assert_alive(&server);
}
