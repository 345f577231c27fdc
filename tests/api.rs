//! The key-value API over real sockets: each row of the table in the
//! README's "The API" section and the rules under it: keys, JSON
//! validation, ETags from one store-wide counter, conditional requests
//! (RFC 9110 §13), reserved paths, 405 and 501 (RFC 9110 §15.5.6, §15.6.2),
//! listings, `/_stats`, and bearer tokens (RFC 6750).
//!
//! Every request here is well-formed and the interest is in what it means.
//! How requests are framed, and the HTTP rules every response follows
//! (HEAD, `OPTIONS *`, absolute-form targets, persistence), are tested in
//! `http_rules.rs`; timeouts in `timeouts.rs`.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use common::*;

// ---------------------------------------------------------------- helpers

/// The revision inside a strong ETag `"<n>"`.
fn etag_number(response: &Response) -> u64 {
    let etag = response
        .header("etag")
        .unwrap_or_else(|| panic!("an ETag: {response:?}"));
    parse_etag(etag)
}

fn parse_etag(etag: &str) -> u64 {
    assert!(
        etag.len() >= 3 && etag.starts_with('"') && etag.ends_with('"'),
        "a strong ETag: {etag:?}"
    );
    etag[1..etag.len() - 1]
        .parse()
        .unwrap_or_else(|_| panic!("a numeric ETag: {etag:?}"))
}

/// The methods named by the `Allow` header.
fn allow_set(response: &Response) -> BTreeSet<String> {
    response
        .header("allow")
        .unwrap_or_else(|| panic!("an Allow header: {response:?}"))
        .split(',')
        .map(|method| method.trim().to_string())
        .filter(|method| !method.is_empty())
        .collect()
}

fn methods(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|m| m.to_string()).collect()
}

fn put(server: &TestServer, target: &str, content_type: Option<&str>, body: &[u8]) -> Response {
    write(server, "PUT", target, content_type, body)
}

fn write(
    server: &TestServer,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("Content-Type", ct))
        .into_iter()
        .collect();
    server.request(method, target, &headers, Some(body))
}

/// Percent-encodes a query parameter value (everything but unreserved characters).
fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn keys_page(server: &TestServer, query: &str) -> Vec<String> {
    let response = server.get(&format!("/_keys?{query}"));
    assert_eq!(response.status(), 200, "{query}: {}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("a JSON array of strings ({e}): {}", response.text()))
}

fn stats(server: &TestServer) -> serde_json::Value {
    let response = server.get("/_stats");
    assert_eq!(response.status(), 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json()
}

/// Asserts a 404 problem whose detail names `key`.
fn assert_not_found(response: &Response, key: &str) {
    assert_eq!(response.status(), 404, "{response:?}");
    let detail = response.problem_detail();
    assert!(
        detail.contains(key),
        "detail {detail:?} should name {key:?}"
    );
}

// ------------------------------------------------------------ PUT and POST

#[test]
fn put_and_post_both_create_then_replace() {
    let server = TestServer::start();
    for (method, key) in [("PUT", "/put"), ("POST", "/post")] {
        let created = write(
            &server,
            method,
            key,
            Some("text/plain"),
            b"A quick brown fox",
        );
        assert_eq!(created.status(), 201, "{method}: {}", created.text());
        assert_eq!(created.header("location"), Some(key), "{method}");
        assert!(created.body.is_empty(), "{method}");
        let first = etag_number(&created);

        let replaced = write(&server, method, key, Some("text/csv"), b"jumps over");
        assert_eq!(replaced.status(), 200, "{method}: {}", replaced.text());
        assert_eq!(replaced.header("location"), None, "{method}");
        assert!(
            etag_number(&replaced) > first,
            "{method}: a new version, a new ETag"
        );

        let read = server.get(key);
        assert_eq!(read.status(), 200);
        assert_eq!(read.body, b"jumps over");
        assert_eq!(read.header("content-type"), Some("text/csv"), "{method}");
        assert_eq!(read.header("etag"), replaced.header("etag"), "{method}");
    }
}

#[test]
fn etags_grow_with_every_write_to_any_key() {
    let server = TestServer::start();
    let mut seen = Vec::new();
    for (key, body, status) in [
        ("/a", "1", 201),
        ("/b", "2", 201),
        ("/a", "3", 200),
        ("/c", "4", 201),
        ("/b", "5", 200),
    ] {
        let response = put(&server, key, Some("text/plain"), body.as_bytes());
        assert_eq!(response.status(), status, "{key}: {response:?}");
        seen.push(etag_number(&response));
    }
    // One revision counter for all keys, each write taking a later revision
    // (README, "The API": a hybrid clock, so not one apart).
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "{seen:?}");
    assert_eq!(server.request("DELETE", "/a", &[], None).status(), 204);
    let recreated = put(&server, "/a", Some("text/plain"), b"6");
    assert_eq!(recreated.status(), 201);
    assert!(
        etag_number(&recreated) > seen[4] + 1,
        "a recreated key does not start over, and the delete took a revision too: {recreated:?}"
    );
}

#[test]
fn get_returns_exact_bytes_with_content_type_etag_and_last_modified() {
    let server = TestServer::start();
    let binary: Vec<u8> = (0..=255u8).collect();
    // An HTTP-date has whole seconds: the write's time, rounded down.
    let before = httpdate::parse_http_date(&httpdate::fmt_http_date(SystemTime::now()))
        .expect("an HTTP-date");
    let written = put(&server, "/bin", Some("image/x-test"), &binary);
    assert_eq!(written.status(), 201);

    let read = server.get("/bin");
    let after = SystemTime::now();
    assert_eq!(read.status(), 200);
    assert_eq!(read.body, binary);
    assert_eq!(read.header("content-type"), Some("image/x-test"));
    assert_eq!(read.header("content-length"), Some("256"));
    assert_eq!(read.header("etag"), written.header("etag"));
    let modified = read.header("last-modified").expect("Last-Modified");
    let modified = httpdate::parse_http_date(modified).expect("an HTTP-date");
    assert!(
        before <= modified && modified <= after,
        "Last-Modified {modified:?} is the time of the write, between {before:?} and {after:?}"
    );
}

#[test]
fn empty_body_is_stored_and_returned() {
    let server = TestServer::start();
    let written = put(&server, "/empty", Some("text/plain"), b"");
    assert_eq!(written.status(), 201, "{}", written.text());
    let read = server.get("/empty");
    assert_eq!(read.status(), 200);
    assert_eq!(read.header("content-length"), Some("0"));
    assert_eq!(read.header("content-type"), Some("text/plain"));
    assert!(read.body.is_empty());
}

#[test]
fn one_mebibyte_body_round_trips() {
    let server = TestServer::start();
    let big: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(31) % 251) as u8)
        .collect();
    let written = put(&server, "/big", Some("application/octet-stream"), &big);
    assert_eq!(written.status(), 201, "{}", written.text());
    let read = server.get("/big");
    assert_eq!(read.status(), 200);
    assert_eq!(read.header("content-length"), Some("1048576"));
    assert!(read.body == big, "the 1 MiB body came back different");
}

#[test]
fn write_without_content_type_is_octet_stream() {
    let server = TestServer::start();
    assert_eq!(
        put(&server, "/untyped", None, b"\x01\x02\x03").status(),
        201
    );
    let read = server.get("/untyped");
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(read.body, b"\x01\x02\x03");
}

// ------------------------------------------------------------------- JSON

#[test]
fn json_is_stored_byte_for_byte() {
    let server = TestServer::start();
    let body = b"{ \"a\" :1 }";
    let written = put(&server, "/j", Some("application/json"), body);
    assert_eq!(written.status(), 201, "{}", written.text());
    let read = server.get("/j");
    assert_eq!(read.status(), 200);
    assert_eq!(read.body, body, "not re-serialised: {}", read.text());
    assert_eq!(read.header("content-type"), Some("application/json"));

    let odd = b"\n\t[1,  2 ,\r\n 3.50, \"\\u00e9\", {}]  \n";
    assert_eq!(
        put(&server, "/j2", Some("application/json"), odd).status(),
        201
    );
    assert_eq!(server.get("/j2").body, odd);
}

#[test]
fn invalid_json_is_refused_with_line_and_column_and_nothing_stored() {
    let server = TestServer::start();
    let response = put(
        &server,
        "/bad",
        Some("application/json"),
        b"{\n  \"a\": x\n}",
    );
    assert_eq!(response.status(), 400);
    let detail = response.problem_detail();
    assert!(detail.ends_with("at line 2 column 8"), "{detail}");
    assert_not_found(&server.get("/bad"), "/bad");

    let response = write(
        &server,
        "POST",
        "/bad",
        Some("application/json"),
        b"{\"a\":}",
    );
    assert_eq!(response.status(), 400);
    let detail = response.problem_detail();
    assert!(detail.ends_with("at line 1 column 6"), "{detail}");
    assert_not_found(&server.get("/bad"), "/bad");

    // Trailing garbage and an empty body are not JSON either.
    for body in [&b"{} {}"[..], b"", b"[1,2"] {
        let response = put(&server, "/bad", Some("application/json"), body);
        assert_eq!(
            response.status(),
            400,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        response.problem_detail();
    }
    assert_not_found(&server.get("/bad"), "/bad");
}

#[test]
fn invalid_json_does_not_replace_a_stored_value() {
    let server = TestServer::start();
    let written = put(&server, "/doc", Some("application/json"), b"{\"v\":1}");
    assert_eq!(written.status(), 201);
    let refused = put(&server, "/doc", Some("application/json"), b"{\"v\":");
    assert_eq!(refused.status(), 400);
    refused.problem_detail();
    let read = server.get("/doc");
    assert_eq!(read.body, b"{\"v\":1}");
    assert_eq!(read.header("etag"), written.header("etag"));
}

#[test]
fn plus_json_types_and_parameters_are_validated() {
    let server = TestServer::start();
    for content_type in [
        "application/problem+json",
        "application/vnd.x+json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let refused = put(&server, "/typed", Some(content_type), b"{not json");
        assert_eq!(refused.status(), 400, "{content_type}");
        let detail = refused.problem_detail();
        assert!(
            detail.contains("line") && detail.contains("column"),
            "{detail}"
        );
        assert_eq!(
            server.get("/typed").status(),
            404,
            "{content_type}: nothing stored"
        );

        let stored = put(&server, "/typed", Some(content_type), b"{\"ok\" : true}");
        assert_eq!(stored.status(), 201, "{content_type}: {}", stored.text());
        let read = server.get("/typed");
        assert_eq!(read.header("content-type"), Some(content_type));
        assert_eq!(read.body, b"{\"ok\" : true}");
        assert_eq!(server.request("DELETE", "/typed", &[], None).status(), 204);
    }
}

#[test]
fn non_json_types_are_not_validated() {
    let server = TestServer::start();
    for (key, content_type) in [
        ("/t1", "text/plain"),
        ("/t2", "application/jsonl"),
        ("/t3", "text/json-ish"),
    ] {
        let written = put(&server, key, Some(content_type), b"{\"a\": tru");
        assert_eq!(written.status(), 201, "{content_type}: {}", written.text());
        assert_eq!(server.get(key).body, b"{\"a\": tru");
    }
}

// ----------------------------------------------------------------- DELETE

#[test]
fn delete_existing_then_missing() {
    let server = TestServer::start();
    put(&server, "/gone", Some("text/plain"), b"soon");
    let deleted = server.request("DELETE", "/gone", &[], None);
    assert_eq!(deleted.status(), 204);
    assert!(deleted.body.is_empty());
    assert_not_found(&server.get("/gone"), "/gone");
    assert_not_found(&server.request("DELETE", "/gone", &[], None), "/gone");
    assert_not_found(&server.request("DELETE", "/never", &[], None), "/never");
}

// ---------------------------------------------------------------- OPTIONS

#[test]
fn options_on_a_key_lists_every_method() {
    let server = TestServer::start();
    let all = methods(&["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]);
    // Whether or not the key exists.
    let response = server.request("OPTIONS", "/anything", &[], None);
    assert_eq!(response.status(), 204);
    assert_eq!(allow_set(&response), all);
    put(&server, "/anything", None, b"x");
    let response = server.request("OPTIONS", "/anything", &[], None);
    assert_eq!(response.status(), 204);
    assert_eq!(allow_set(&response), all);
}

#[test]
fn options_on_server_paths_lists_only_reads() {
    let server = TestServer::start();
    for target in ["/_stats", "/_all", "/_keys", "/_health", "/_x", "/"] {
        let response = server.request("OPTIONS", target, &[], None);
        assert_eq!(response.status(), 204, "{target}");
        assert_eq!(allow_set(&response), methods(&READS), "{target}");
    }
}

// --------------------------------------------------------- reserved paths

/// What `/` and the `/_` paths allow.
const READS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

#[test]
fn writes_to_reserved_paths_get_405_with_allow() {
    // RFC 9110 §15.5.6: a method the target does not allow gets 405, with
    // the methods it does allow.
    let server = TestServer::start();
    for target in [
        "/", "/_all", "/_keys", "/_x", "/%5Fall", "/%5fkeys", "/_health", "/_stats", "/_x/y",
    ] {
        for method in ["PUT", "POST", "DELETE"] {
            let body: Option<&[u8]> = (method != "DELETE").then_some(b"data");
            let response = server.request(method, target, &[("Content-Type", "text/plain")], body);
            assert_eq!(
                response.status(),
                405,
                "{method} {target}: {}",
                response.text()
            );
            assert_eq!(allow_set(&response), methods(&READS), "{method} {target}");
            let detail = response.problem_detail();
            assert!(detail.contains(method), "{method} {target}: {detail}");
        }
    }
    // Nothing was written anywhere.
    assert_eq!(keys_page(&server, ""), Vec::<String>::new());
    assert_eq!(stats(&server)["keys"], 0);
}

#[test]
fn unknown_reserved_path_is_404() {
    let server = TestServer::start();
    for target in ["/_nothing", "/_x/deeper"] {
        let response = server.get(target);
        assert_eq!(response.status(), 404, "{target}");
        let detail = response.problem_detail();
        assert!(detail.contains("reserved"), "{target}: {detail}");
    }
}

// ---------------------------------------------------------------- methods

#[test]
fn unknown_methods_are_501() {
    let server = TestServer::start();
    for (method, target) in [
        ("PATCH", "/k"),
        ("BREW", "/k"),
        ("BREW", "/"),
        ("PATCH", "/_all"),
    ] {
        let response = server.request(method, target, &[], None);
        assert_eq!(
            response.status(),
            501,
            "{method} {target}: {}",
            response.text()
        );
        response.problem_detail();
    }
}

// --------------------------------------------------------- server's pages

#[test]
fn banner_names_the_server_and_version() {
    let server = TestServer::start();
    let response = server.get("/");
    assert_eq!(response.status(), 200);
    let content_type = response.header("content-type").expect("Content-Type");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text();
    assert!(text.contains("httpdb"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[test]
fn health_says_ok() {
    let server = TestServer::start();
    let response = server.get("/_health");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, b"ok\n");
    assert!(
        response
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/plain")
    );
}

#[test]
fn all_lists_every_entry() {
    let server = TestServer::start();
    let json = put(&server, "/json", Some("application/json"), b"{ \"a\" :1 }");
    let vnd = put(
        &server,
        "/vnd",
        Some("application/vnd.x+json"),
        b"[true, null]",
    );
    let text = put(&server, "/text", Some("text/plain"), "héllo".as_bytes());
    let binary = put(&server, "/binary", None, &[0xff, 0xfe, 0x00]);
    let empty = put(&server, "/empty", Some("text/plain"), b"");

    let response = server.get("/_all");
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let all = response.json();
    let object = all.as_object().expect("a JSON object");
    assert_eq!(
        object.keys().cloned().collect::<BTreeSet<_>>(),
        methods(&["/json", "/vnd", "/text", "/binary", "/empty"])
    );
    let expect =
        |key: &str, written: &Response, content_type: &str, size: u64, value: serde_json::Value| {
            let entry = &all[key];
            assert_eq!(
                entry,
                &serde_json::json!({
                    "content_type": content_type,
                    "etag": written.header("etag").expect("ETag"),
                    "size": size,
                    "value": value,
                }),
                "{key}"
            );
        };
    expect(
        "/json",
        &json,
        "application/json",
        10,
        serde_json::json!({"a": 1}),
    );
    expect(
        "/vnd",
        &vnd,
        "application/vnd.x+json",
        12,
        serde_json::json!([true, null]),
    );
    expect("/text", &text, "text/plain", 6, serde_json::json!("héllo"));
    expect(
        "/binary",
        &binary,
        "application/octet-stream",
        3,
        serde_json::Value::Null,
    );
    expect("/empty", &empty, "text/plain", 0, serde_json::json!(""));
}

#[test]
fn all_of_an_empty_store_is_an_empty_object() {
    let server = TestServer::start();
    let response = server.get("/_all");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json(), serde_json::json!({}));
}

// ------------------------------------------------------------------ /_keys

#[test]
fn keys_are_listed_in_byte_order_with_prefix() {
    let server = TestServer::start();
    for key in ["/b", "/a", "/B", "/a/b", "/%C3%A9", "/a%20c"] {
        assert_eq!(put(&server, key, None, b"v").status(), 201, "{key}");
    }
    assert_eq!(
        put(&server, "/_", None, b"v").status(),
        405,
        "/_ is reserved"
    );
    assert_eq!(
        keys_page(&server, ""),
        ["/B", "/a", "/a c", "/a/b", "/b", "/é"]
    );
    assert_eq!(keys_page(&server, "prefix=/a"), ["/a", "/a c", "/a/b"]);
    assert_eq!(keys_page(&server, "prefix=%2Fa%2F"), ["/a/b"]);
    assert_eq!(keys_page(&server, "prefix=%2Fa%20"), ["/a c"]);
    assert_eq!(
        keys_page(&server, &format!("prefix={}", encode_query("/é"))),
        ["/é"]
    );
    assert_eq!(keys_page(&server, "prefix=/zzz"), Vec::<String>::new());
    assert_eq!(keys_page(&server, "limit=2"), ["/B", "/a"]);
    assert_eq!(keys_page(&server, "limit=0"), Vec::<String>::new());
    assert_eq!(keys_page(&server, "after=/a%2Fb"), ["/b", "/é"]);
    assert_eq!(keys_page(&server, "prefix=/a&after=/a&limit=1"), ["/a c"]);
}

#[test]
fn keys_paging_visits_each_key_once() {
    let server = TestServer::start();
    let wanted: Vec<String> = (0..25).map(|i| format!("/page/{i:02}")).collect();
    for key in &wanted {
        assert_eq!(put(&server, key, None, b"v").status(), 201);
    }
    // Neighbours that the prefix must leave out.
    put(&server, "/pag", None, b"v");
    put(&server, "/page", None, b"v");
    put(&server, "/pagez", None, b"v");

    let mut collected = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = format!("prefix={}&limit=10", encode_query("/page/"));
        if let Some(after) = &after {
            query.push_str(&format!("&after={}", encode_query(after)));
        }
        let page = keys_page(&server, &query);
        if page.is_empty() {
            break;
        }
        assert!(sizes.len() < 10, "paging does not end");
        sizes.push(page.len());
        after = page.last().cloned();
        collected.extend(page);
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(collected, wanted);
}

#[test]
fn keys_rejects_bad_parameters() {
    let server = TestServer::start();
    for query in [
        "limit=-1",
        "limit=abc",
        "limit=100000",
        "limit=",
        "limit=1.5",
        "colour=blue",
        "prefix=/a&sort=desc",
        "prefix=%zz",
    ] {
        let response = server.get(&format!("/_keys?{query}"));
        assert_eq!(response.status(), 400, "{query}: {}", response.text());
        let detail = response.problem_detail();
        assert!(!detail.is_empty(), "{query}");
    }
}

// ----------------------------------------------------------------- /_stats

#[test]
fn stats_reflect_what_happened() {
    let started = Instant::now();
    let server = TestServer::start();
    // Everything on one connection: a response is counted before the worker
    // reads the next request, so each figure below is exact, with no waiting.
    let mut client = server.connect();
    // Reads /_stats; checks every figure but the uptime and the revision,
    // which it returns.
    let stats = |client: &mut Client, keys: u64, bytes: u64, requests: [u64; 5]| {
        let response = client.request("GET", "/_stats", &[], None);
        assert_eq!(response.status(), 200, "{}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        let mut stats = response.json();
        let uptime = stats["uptime_seconds"].take();
        let revision = stats["revision"].take().as_u64().expect("a revision");
        let [r1, r2, r3, r4, r5] = requests;
        let expected = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": null,
            "keys": keys,
            "bytes": bytes,
            "revision": null,
            // This connection, served by the one busy worker.
            "connections": { "open": 1, "accepted": 1, "rejected": 0, "reclaimed": 0 },
            "workers": {
                "total": 8,
                "busy": 1,
                "idle_keep_alive": 0,
                "reclaimable": 0,
                "queued": 0,
            },
            "requests": { "1xx": r1, "2xx": r2, "3xx": r3, "4xx": r4, "5xx": r5 },
            // In memory: no log.
            "log": null,
            "access_log_dropped": 0,
            "body_bytes_held": 0,
        });
        assert_eq!(stats, expected);
        let uptime = uptime.as_f64().expect("uptime_seconds");
        assert!(
            0.0 < uptime && uptime <= started.elapsed().as_secs_f64(),
            "uptime {uptime} s: the time since the server started"
        );
        (uptime, revision)
    };
    let (first_uptime, revision) = stats(&mut client, 0, 0, [0, 0, 0, 0, 0]);
    assert_eq!(revision, 0, "nothing written yet");

    let mut last_etag = 0;
    for (key, body) in [("/one", &b"1"[..]), ("/two", b"22"), ("/three", b"333")] {
        let written = client.request("PUT", key, &[], Some(body));
        assert_eq!(written.status(), 201);
        last_etag = etag_number(&written);
    }
    // One /_stats and three PUTs answered; the revision is the last write's.
    let (_, revision) = stats(&mut client, 3, 6, [0, 4, 0, 0, 0]);
    assert_eq!(revision, last_etag);

    let replaced = client.request("PUT", "/three", &[], Some(b"3"));
    assert_eq!(replaced.status(), 200);
    assert_eq!(client.request("DELETE", "/two", &[], None).status(), 204);
    let (_, after_delete) = stats(&mut client, 2, 2, [0, 7, 0, 0, 0]);
    assert!(
        after_delete > etag_number(&replaced),
        "the delete took a revision after the PUT's"
    );

    assert_eq!(client.request("GET", "/nope", &[], None).status(), 404);
    assert_eq!(client.request("DELETE", "/_x", &[], None).status(), 405);
    let (_, revision) = stats(&mut client, 2, 2, [0, 8, 0, 2, 0]);
    assert_eq!(revision, after_delete, "refused requests change nothing");

    let put = client.request("PUT", "/four", &[], Some(b"4444"));
    assert_eq!(put.status(), 201);
    let etag = put.header("etag").expect("an ETag");
    let not_modified = client.request("GET", "/four", &[("If-None-Match", etag)], None);
    assert_eq!(not_modified.status(), 304);
    let (last_uptime, revision) = stats(&mut client, 3, 6, [0, 10, 1, 2, 0]);
    assert_eq!(revision, etag_number(&put));
    assert!(
        last_uptime > first_uptime,
        "uptime grows: {first_uptime} s, then {last_uptime} s"
    );
}

// ------------------------------------------------------------------- keys

#[test]
fn keys_are_percent_decoded() {
    let server = TestServer::start();
    let created = put(&server, "/a%20b", Some("text/plain"), b"spaced");
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("location"), Some("/a%20b"));
    assert_eq!(server.get("/a%20b").body, b"spaced");
    assert_eq!(server.get("/%61%20%62").body, b"spaced");
    // Another encoding of the same key replaces it.
    assert_eq!(
        put(&server, "/%61%20b", Some("text/plain"), b"again").status(),
        200
    );
    assert_eq!(server.get("/a%20b").body, b"again");
    // '+' is a literal plus in a path, not a space.
    assert_not_found(&server.get("/a+b"), "/a+b");
    assert_eq!(keys_page(&server, ""), ["/a b"]);
}

#[test]
fn encoded_slash_decodes_to_slash() {
    let server = TestServer::start();
    assert_eq!(put(&server, "/x%2Fy", None, b"slash").status(), 201);
    assert_eq!(server.get("/x/y").body, b"slash");
    assert_eq!(server.get("/x%2fy").body, b"slash");
    assert_eq!(keys_page(&server, ""), ["/x/y"]);
}

#[test]
fn query_is_not_part_of_the_key() {
    let server = TestServer::start();
    let created = put(&server, "/k?x=1", Some("text/plain"), b"queried");
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("location"), Some("/k"));
    assert_eq!(server.get("/k").body, b"queried");
    assert_eq!(server.get("/k?y=2&z").body, b"queried");
    assert_eq!(keys_page(&server, ""), ["/k"]);
    assert_eq!(server.request("DELETE", "/k?x=1", &[], None).status(), 204);
    assert_not_found(&server.get("/k"), "/k");
}

#[test]
fn bad_keys_are_400() {
    let server = TestServer::start();
    for target in ["/%FF", "/%C3", "/%zz", "/%", "/%4", "/a%2"] {
        let response = server.get(target);
        assert_eq!(response.status(), 400, "GET {target}: {}", response.text());
        response.problem_detail();
        let response = put(&server, target, None, b"v");
        assert_eq!(response.status(), 400, "PUT {target}: {}", response.text());
        response.problem_detail();
    }
    assert_eq!(keys_page(&server, ""), Vec::<String>::new());
}

#[test]
fn keys_are_at_most_1024_bytes() {
    let server = TestServer::start();
    let longest = format!("/{}", "k".repeat(1023));
    assert_eq!(longest.len(), 1024);
    let created = put(&server, &longest, None, b"long");
    assert_eq!(created.status(), 201, "{}", created.text());
    assert_eq!(server.get(&longest).body, b"long");

    let too_long = format!("/{}", "k".repeat(1024));
    let response = put(&server, &too_long, None, b"v");
    assert_eq!(response.status(), 400);
    response.problem_detail();
    let response = server.get(&too_long);
    assert_eq!(response.status(), 400);
    response.problem_detail();

    // The limit counts decoded bytes, not the characters of the target.
    let encoded_longest = format!("/{}", "%41".repeat(1023));
    let created = put(&server, &encoded_longest, None, b"A");
    assert_eq!(created.status(), 201, "{}", created.text());
    assert_eq!(server.get(&format!("/{}", "A".repeat(1023))).body, b"A");
    let encoded_too_long = format!("/{}", "%41".repeat(1024));
    assert_eq!(put(&server, &encoded_too_long, None, b"A").status(), 400);
    assert_eq!(stats(&server)["keys"], 2);
}

// ---------------------------------------------------- conditional requests

#[test]
fn if_none_match_on_get_and_head() {
    let server = TestServer::start();
    let written = put(&server, "/c", Some("text/plain"), b"cached");
    let etag = written.header("etag").unwrap().to_string();
    let n = etag_number(&written);

    let mut client = server.connect();
    let not_modified = client.request("GET", "/c", &[("If-None-Match", &etag)], None);
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(
        not_modified.header("last-modified"),
        server.get("/c").header("last-modified")
    );
    assert!(not_modified.body.is_empty());
    // No body followed the 304: the next response is read from the right place.
    let fresh = client.request("GET", "/c", &[("If-None-Match", "\"999999\"")], None);
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.body, b"cached");

    let any = client.request("GET", "/c", &[("If-None-Match", "*")], None);
    assert_eq!(any.status(), 304);
    let weak = format!("W/\"{n}\"");
    let weakly = client.request("GET", "/c", &[("If-None-Match", &weak)], None);
    assert_eq!(
        weakly.status(),
        304,
        "If-None-Match uses the weak comparison"
    );
    let list = format!("\"1000000\", {etag}");
    assert_eq!(
        client
            .request("GET", "/c", &[("If-None-Match", &list)], None)
            .status(),
        304
    );

    let head = client.request("HEAD", "/c", &[("If-None-Match", &etag)], None);
    assert_eq!(head.status(), 304);
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    let after = client.request("GET", "/c", &[], None);
    assert_eq!(after.status(), 200);
    assert_eq!(after.body, b"cached");

    // A missing key is still 404, whatever If-None-Match says.
    assert_eq!(
        client
            .request("GET", "/absent", &[("If-None-Match", "*")], None)
            .status(),
        404
    );
}

#[test]
fn if_modified_since() {
    let server = TestServer::start();
    put(&server, "/m", Some("text/plain"), b"dated");
    let read = server.get("/m");
    let last_modified = read.header("last-modified").unwrap().to_string();
    let modified = httpdate::parse_http_date(&last_modified).expect("an HTTP-date");
    let earlier = httpdate::fmt_http_date(modified - Duration::from_secs(3600));
    let later = httpdate::fmt_http_date(modified + Duration::from_secs(3600));

    let equal = server.request("GET", "/m", &[("If-Modified-Since", &last_modified)], None);
    assert_eq!(equal.status(), 304);
    assert_eq!(equal.header("etag"), read.header("etag"));
    assert_eq!(
        server
            .request("GET", "/m", &[("If-Modified-Since", &later)], None)
            .status(),
        304
    );
    let before = server.request("GET", "/m", &[("If-Modified-Since", &earlier)], None);
    assert_eq!(before.status(), 200);
    assert_eq!(before.body, b"dated");
    // An unparseable date is ignored.
    assert_eq!(
        server
            .request("GET", "/m", &[("If-Modified-Since", "yesterday")], None)
            .status(),
        200
    );
    // If-None-Match takes precedence: a non-matching tag means 200 even with a later date.
    let both = server.request(
        "GET",
        "/m",
        &[
            ("If-None-Match", "\"999999\""),
            ("If-Modified-Since", &later),
        ],
        None,
    );
    assert_eq!(both.status(), 200);
}

#[test]
fn if_match_is_compare_and_swap() {
    let server = TestServer::start();
    let first = put(&server, "/cas", Some("text/plain"), b"v1");
    let stale = first.header("etag").unwrap().to_string();
    let swapped = server.request(
        "PUT",
        "/cas",
        &[("If-Match", &stale), ("Content-Type", "text/plain")],
        Some(b"v2"),
    );
    assert_eq!(swapped.status(), 200, "{}", swapped.text());
    let current = swapped.header("etag").unwrap().to_string();
    assert!(parse_etag(&current) > parse_etag(&stale));

    let refused = server.request(
        "PUT",
        "/cas",
        &[("If-Match", &stale), ("Content-Type", "text/plain")],
        Some(b"v3"),
    );
    assert_eq!(refused.status(), 412);
    refused.problem_detail();
    let read = server.get("/cas");
    assert_eq!(read.body, b"v2");
    assert_eq!(read.header("etag"), Some(current.as_str()));

    // A weak tag never matches strongly.
    let weak = format!("W/{current}");
    assert_eq!(
        server
            .request("PUT", "/cas", &[("If-Match", &weak)], Some(b"v4"))
            .status(),
        412
    );
    // `*` matches any current entry.
    assert_eq!(
        server
            .request("PUT", "/cas", &[("If-Match", "*")], Some(b"v5"))
            .status(),
        200
    );
    assert_eq!(server.get("/cas").body, b"v5");
    // POST is a write too.
    assert_eq!(
        server
            .request("POST", "/cas", &[("If-Match", &stale)], Some(b"v6"))
            .status(),
        412
    );
    assert_eq!(server.get("/cas").body, b"v5");
}

#[test]
fn if_match_on_a_missing_key_fails() {
    let server = TestServer::start();
    let response = server.request("PUT", "/nobody", &[("If-Match", "*")], Some(b"x"));
    assert_eq!(response.status(), 412);
    response.problem_detail();
    let response = server.request("PUT", "/nobody", &[("If-Match", "\"1\"")], Some(b"x"));
    assert_eq!(response.status(), 412);
    assert_not_found(&server.get("/nobody"), "/nobody");
}

#[test]
fn if_none_match_star_creates_only() {
    let server = TestServer::start();
    let created = server.request("PUT", "/once", &[("If-None-Match", "*")], Some(b"first"));
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("location"), Some("/once"));
    let again = server.request("PUT", "/once", &[("If-None-Match", "*")], Some(b"second"));
    assert_eq!(again.status(), 412);
    again.problem_detail();
    let posted = server.request("POST", "/once", &[("If-None-Match", "*")], Some(b"third"));
    assert_eq!(posted.status(), 412);
    let read = server.get("/once");
    assert_eq!(read.body, b"first");
    assert_eq!(read.header("etag"), created.header("etag"));
}

#[test]
fn delete_with_if_match() {
    let server = TestServer::start();
    let first = put(&server, "/d", None, b"1");
    let second = put(&server, "/d", None, b"2");
    let stale = first.header("etag").unwrap();
    let refused = server.request("DELETE", "/d", &[("If-Match", stale)], None);
    assert_eq!(refused.status(), 412);
    refused.problem_detail();
    assert_eq!(server.get("/d").body, b"2");
    let current = second.header("etag").unwrap();
    assert_eq!(
        server
            .request("DELETE", "/d", &[("If-Match", current)], None)
            .status(),
        204
    );
    assert_not_found(&server.get("/d"), "/d");
}

#[test]
fn compare_and_swap_race_has_one_winner_per_round() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 5;
    let server = Arc::new(TestServer::start());
    put(&server, "/race", Some("text/plain"), b"start");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for round in 0..ROUNDS {
                    let read = server.get("/race");
                    assert_eq!(read.status(), 200);
                    let etag = read.header("etag").unwrap().to_string();
                    // Everyone has read before anyone writes.
                    barrier.wait();
                    let body = format!("round {round} thread {thread}");
                    let response = server.request(
                        "PUT",
                        "/race",
                        &[("If-Match", &etag), ("Content-Type", "text/plain")],
                        Some(body.as_bytes()),
                    );
                    statuses.push(response.status());
                    // Everyone has written before the next round reads.
                    barrier.wait();
                }
                statuses
            })
        })
        .collect();
    let results: Vec<Vec<u16>> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let mut last_winner = None;
    for round in 0..ROUNDS {
        let statuses: Vec<u16> = results.iter().map(|r| r[round]).collect();
        let winners: Vec<usize> = (0..THREADS).filter(|&t| statuses[t] == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {statuses:?}");
        assert_eq!(
            statuses.iter().filter(|&&s| s == 412).count(),
            THREADS - 1,
            "round {round}: {statuses:?}"
        );
        last_winner = Some(winners[0]);
    }
    let expected = format!("round {} thread {}", ROUNDS - 1, last_winner.unwrap());
    assert_eq!(server.get("/race").text(), expected);
}

// ------------------------------------------------------------------- auth

const TOKEN: &str = "s3cret";

fn with_token() -> TestServer {
    TestServer::start_with(|_| {}, Some(TOKEN))
}

/// The challenge to a request with no bearer token: no error code (RFC 6750
/// §3.1, "if the request lacks any authentication information").
const NO_TOKEN: &str = "Bearer realm=\"httpdb\"";
/// The challenge to a wrong bearer token (RFC 6750 §3.1).
const INVALID_TOKEN: &str = "Bearer realm=\"httpdb\", error=\"invalid_token\"";

#[test]
fn auth_missing_token_is_401_with_challenge() {
    let server = with_token();
    for (method, target) in [
        ("GET", "/k"),
        ("GET", "/"),
        ("GET", "/_stats"),
        ("GET", "/_all"),
        ("DELETE", "/k"),
    ] {
        let response = server.request(method, target, &[], None);
        assert_eq!(response.status(), 401, "{method} {target}");
        assert_eq!(response.header("www-authenticate"), Some(NO_TOKEN));
        response.problem_detail();
    }
}

#[test]
fn auth_wrong_token_is_401() {
    let server = with_token();
    for (authorization, challenge) in [
        ("Bearer wrong", INVALID_TOKEN),
        ("Bearer s3cre", INVALID_TOKEN),
        ("Bearer s3cret!", INVALID_TOKEN),
        // Not a bearer token at all: no token was presented.
        ("Basic czNjcmV0", NO_TOKEN),
        ("s3cret", NO_TOKEN),
        ("Bearer ", NO_TOKEN),
    ] {
        let response = server.request("GET", "/k", &[("Authorization", authorization)], None);
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(
            response.header("www-authenticate"),
            Some(challenge),
            "{authorization:?}"
        );
        response.problem_detail();
    }
}

#[test]
fn auth_right_token_gets_normal_answers() {
    let server = with_token();
    let auth = [("Authorization", "Bearer s3cret")];
    let created = server.request("PUT", "/k", &auth, Some(b"secret value"));
    assert_eq!(created.status(), 201, "{}", created.text());
    let read = server.request("GET", "/k", &auth, None);
    assert_eq!(read.status(), 200);
    assert_eq!(read.body, b"secret value");
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let lower = server.request("GET", "/k", &[("Authorization", "bearer s3cret")], None);
    assert_eq!(lower.status(), 200);
    assert_eq!(lower.body, b"secret value");
    let upper = server.request("GET", "/k", &[("Authorization", "BEARER s3cret")], None);
    assert_eq!(upper.status(), 200);
    assert_not_found(&server.request("GET", "/nothing", &auth, None), "/nothing");
    assert_eq!(
        server.request("GET", "/_stats", &auth, None).json()["keys"],
        1
    );
}

#[test]
fn auth_health_needs_no_token() {
    let server = with_token();
    let response = server.get("/_health");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body, b"ok\n");
}

#[test]
fn auth_refused_write_stores_nothing() {
    let server = with_token();
    let refused = server.request(
        "PUT",
        "/sneaky",
        &[("Content-Type", "text/plain")],
        Some(b"payload"),
    );
    assert_eq!(refused.status(), 401);
    refused.problem_detail();
    let refused = server.request(
        "POST",
        "/sneaky",
        &[("Authorization", "Bearer nope")],
        Some(b"payload"),
    );
    assert_eq!(refused.status(), 401);
    let auth = [("Authorization", "Bearer s3cret")];
    assert_not_found(&server.request("GET", "/sneaky", &auth, None), "/sneaky");
    assert_eq!(
        server.request("GET", "/_stats", &auth, None).json()["keys"],
        0
    );
}

#[test]
fn a_failing_precondition_is_answered_before_100_continue() {
    let server = TestServer::start();
    assert_eq!(
        server.request("PUT", "/cas", &[], Some(b"v1")).status(),
        201
    );
    let mut client = server.connect();
    // The client waits for 100 Continue before sending its megabyte; a
    // write that cannot succeed gets its 412 instead, and no body is read.
    client.send_bytes(
        b"PUT /cas HTTP/1.1\r\nHost: t\r\nIf-Match: \"99\"\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n",
    );
    let response = client.response();
    assert_eq!(response.status(), 412, "{response:?}");
    assert!(response.problem_detail().contains("precondition failed"));
    // The body was never read, so the connection cannot carry another request.
    assert_closes(&mut client, &response, "412 before the body");
    assert_eq!(server.request("GET", "/cas", &[], None).body, b"v1");
    // Create-only on an existing key, likewise.
    let mut client = server.connect();
    client.send_bytes(b"PUT /cas HTTP/1.1\r\nHost: t\r\nIf-None-Match: *\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(client.response().status(), 412);
}

#[test]
fn head_of_all_announces_the_length_that_get_sends() {
    let server = TestServer::start();
    // Control characters grow sixfold when escaped in JSON.
    let controls: Vec<u8> = (0u8..32).cycle().take(5000).collect();
    assert_eq!(
        server
            .request(
                "PUT",
                "/controls",
                &[("Content-Type", "text/plain")],
                Some(&controls)
            )
            .status(),
        201
    );
    assert_eq!(
        server
            .request(
                "PUT",
                "/json",
                &[("Content-Type", "application/json")],
                Some(b"[1, 2]")
            )
            .status(),
        201
    );
    assert_eq!(
        server
            .request("PUT", "/bin", &[], Some(&[0xff, 0xfe]))
            .status(),
        201
    );
    let mut client = server.connect();
    let head = client.request("HEAD", "/_all", &[], None);
    let get = client.request("GET", "/_all", &[], None);
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(
        get.body.len().to_string(),
        get.header("content-length").unwrap()
    );
    let all = get.json();
    assert_eq!(
        all["/controls"]["value"].as_str().unwrap().as_bytes(),
        &controls[..]
    );
    assert_eq!(all["/json"]["value"], serde_json::json!([1, 2]));
    assert_eq!(all["/bin"]["value"], serde_json::Value::Null);
}
