//! Step 04's tests: step 03's requests, read right; the errors a careful
//! reader answers; and the bug: one connection at a time.

#[path = "support.rs"]
mod support;

use super::serve;
use support::{Server, assert_answered, assert_unanswered, post, read_to_close, send, text};

fn start(connections: usize) -> Server {
    support::start(connections, serve)
}

/// The status line and the body of a response.
fn status_and_body(answer: &str) -> (String, String) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status = head.lines().next().unwrap_or_default();
    (status.to_string(), body.to_string())
}

/// Step 03 answered the first write alone. This server waits for the rest
/// of the body, however long the gap between the writes.
#[test]
fn a_request_in_two_writes_is_read_whole() {
    let server = start(1);
    let stream = server.connect();
    send(&stream, post::HEAD_THEN_BODY[0]);
    assert_unanswered(&stream);
    send(&stream, post::HEAD_THEN_BODY[1]);
    let answer = text(&read_to_close(&stream));
    assert!(answer.ends_with("body, 5 bytes: hello\n"), "{answer}");
    drop(stream);
    server.finish();
}

#[test]
fn a_2_kb_request_is_read_whole() {
    let server = start(1);
    let answer = server.exchange(&post::two_kilobytes());
    assert!(answer.contains("body, 2000 bytes: aaaa"), "{answer}");
    server.finish();
}

/// The body is exactly the bytes sent: no `\n` added, no `\r` lost, and
/// bytes that are not text are kept too.
#[test]
fn bodies_are_the_bytes_sent() {
    let server = start(2);
    let answer = server.exchange(post::JSON_WITH_CRLF);
    assert!(
        answer.contains(r#"body, 24 bytes: {\r\n  \"hello\": \"world\"\r\n}"#),
        "{answer}"
    );
    let answer = server.exchange(post::BINARY);
    assert!(
        answer.ends_with("body, 3 bytes: \\xff\\x00\\x80\n"),
        "{answer}"
    );
    server.finish();
}

/// HTTP/1.0 may leave Host out; HTTP/1.1 must send one; neither may send
/// two (RFC 9112 §3.2).
#[test]
fn host_is_required_of_http_1_1_only() {
    let server = start(4);
    let (status, _) = status_and_body(&server.exchange(b"GET / HTTP/1.0\r\n\r\n"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    for request in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    ] {
        let (status, body) = status_and_body(&server.exchange(request));
        assert_eq!(status, "HTTP/1.1 400 Bad Request");
        assert_eq!(body, "a request needs one Host; HTTP/1.0 may omit it\n");
    }
    server.finish();
}

/// What cannot be read is refused with the status that says why.
#[test]
fn malformed_requests_get_an_error_status() {
    let cases: [(&[u8], &str); 6] = [
        (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400"),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello",
            "400",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            "400",
        ),
        (b"GET / HTTP/2.0\r\n\r\n", "505"),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999\r\n\r\n",
            "413",
        ),
        (b"GET /\rx HTTP/1.1\r\nHost: h\r\n\r\n", "400"),
    ];
    let server = start(cases.len());
    for answer in server.assert_statuses(&cases) {
        assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    }
    server.finish();
}

/// The bug: one connection at a time. A client that connects and sends
/// nothing holds up the next one, whose complete request waits unanswered
/// until the first goes away (or its five-second read timeout ends).
#[test]
fn one_silent_client_holds_up_everyone() {
    let server = start(2);
    let silent = server.connect();
    let other = server.connect();
    send(&other, b"GET / HTTP/1.0\r\n\r\n");
    assert_unanswered(&other);
    drop(silent);
    assert_answered(&other);
    drop(other);
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("04_read_request", start);
}
