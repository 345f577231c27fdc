//! Step 03's tests: each fault of the post's parser, asserted. Step 04's
//! tests send the same requests and get them right.

#[path = "support.rs"]
mod support;

use super::serve;
use support::{Server, post, read_to_close, send, text};

fn start(connections: usize) -> Server {
    support::start(connections, serve)
}

/// The request comes in two writes, as many clients send a head and then a
/// body. The server answers the first write alone, before the second is
/// even sent: the body it saw is the `\n` that splitting on `\r` left.
#[test]
fn a_request_in_two_writes_is_cut_at_the_first() {
    let server = start(1);
    let stream = server.connect();
    send(&stream, post::HEAD_THEN_BODY[0]);
    let answer = text(&read_to_close(&stream));
    assert!(answer.contains("body, 1 bytes: \\n\n"), "{answer}");
    server.finish();
}

/// A 2 KB request, such as a browser's with a few cookies: one read takes
/// 1024 bytes and the rest is never read. The body is cut; and closing
/// with unread bytes makes the kernel reset the connection, which can
/// destroy even that answer before the client reads it.
#[test]
fn a_2_kb_request_is_cut_at_1024_bytes() {
    let server = start(1);
    let answer = server.exchange(&post::two_kilobytes());
    // Read whole, the body would hold all 2000 `a`s (after the `\n` that
    // the split on `\r` puts in front): it does not.
    assert!(!answer.contains(&"a".repeat(2000)), "{answer}");
    server.finish();
}

/// A JSON body, as the post's own example sends it: the body the parser
/// hands on starts with a `\n` and has lost every `\r`, so it is not the
/// bytes that were sent.
#[test]
fn a_json_body_is_not_the_bytes_sent() {
    let server = start(1);
    let answer = server.exchange(post::JSON_WITH_CRLF);
    assert!(
        answer.contains(r#"body, 23 bytes: \n{\n  \"hello\": \"world\"\n}"#),
        "{answer}"
    );
    server.finish();
}

/// Bytes that are not UTF-8 fail the decoding, and the client gets nothing.
#[test]
fn a_binary_body_gets_no_answer() {
    let server = start(1);
    assert_eq!(server.exchange(post::BINARY), "");
    server.finish();
}

/// HTTP/1.0 need not send Host; the response needs it, so no answer.
#[test]
fn http_1_0_without_host_gets_no_answer() {
    let server = start(1);
    assert_eq!(server.exchange(b"GET / HTTP/1.0\r\n\r\n"), "");
    server.finish();
}

/// The response: bare LF line endings, no reason phrase, `http` + host.
#[test]
fn the_response_is_malformed() {
    let server = start(1);
    let answer = server.exchange(b"GET /k HTTP/1.1\r\nHost: h:1\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 200\nLocation: httph:1/k\n"),
        "{answer}"
    );
    assert!(!answer.contains('\r'), "{answer}");
    server.finish();
}

#[test]
fn transcripts_in_the_guide() {
    support::replay_transcripts("03_the_post", start);
}
