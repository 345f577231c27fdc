//! The request parser alone, from memory: requests per second and the bytes
//! per second that makes, for the shapes of request a server meets.
//!
//! `cargo bench --bench parser` (`HTTPDB_BENCH_QUICK=1` for a short run).

mod support;

use std::hint::black_box;

use httpdb::http::{Limits, read_body, read_head};
use support::{Plan, Table, human, rate, with_spread};

/// Requests parsed per timed call, so the clock is read rarely.
const BATCH: u64 = 64;

fn small_get() -> Vec<u8> {
    b"GET /hello HTTP/1.1\r\nHost: localhost:6111\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        .to_vec()
}

fn put_with_body(size: usize) -> Vec<u8> {
    let mut request = format!(
        "PUT /some/key HTTP/1.1\r\nHost: localhost:6111\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b'x', size));
    request
}

fn chunked_put(size: usize, chunk: usize) -> Vec<u8> {
    let mut request =
        b"PUT /some/key HTTP/1.1\r\nHost: localhost:6111\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let mut left = size;
    while left > 0 {
        let this = left.min(chunk);
        request.extend_from_slice(format!("{this:x}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'y', this));
        request.extend_from_slice(b"\r\n");
        left -= this;
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

/// A GET with forty headers, the size of what a browser sends.
fn browser_get() -> Vec<u8> {
    let mut request = String::from(
        "GET /assets/app.js?v=1234 HTTP/1.1\r\nHost: www.example.com\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
         Accept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
         Connection: keep-alive\r\nReferer: https://www.example.com/\r\n\
         Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes\r\n\
         Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\n\
         Sec-Fetch-Site: same-origin\r\nIf-None-Match: \"17\"\r\nCache-Control: max-age=0\r\n",
    );
    for i in 14..40 {
        request.push_str(&format!(
            "X-Custom-Header-{i}: value-{i}-abcdefghijklmnopqrstuvwxyz\r\n"
        ));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

fn main() {
    let plan = Plan::from_env();
    let limits = Limits {
        max_body: 1 << 20,
        ..Limits::default()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("small GET", small_get()),
        ("PUT, 1 KiB body", put_with_body(1024)),
        ("PUT, 64 KiB body", put_with_body(64 * 1024)),
        ("PUT, 64 KiB chunked (4 KiB)", chunked_put(64 * 1024, 4096)),
        ("browser GET, 40 headers", browser_get()),
    ];
    let mut table = Table::new(
        "parser",
        "parser: one request from memory (median of samples, ± half the range)",
        &["request", "bytes", "requests/s", "MB/s"],
    );
    for (name, request) in &cases {
        let figure = rate(&plan, || {
            for _ in 0..BATCH {
                let mut input = &request[..];
                let head = read_head(&mut input, &limits)
                    .expect("a valid request")
                    .expect("a head");
                let body = read_body(&mut input, head.framing(), limits.max_body, &mut |_| true)
                    .expect("a body");
                black_box((&head, &body));
            }
            BATCH
        });
        let megabytes = figure.median * request.len() as f64 / 1e6;
        table.row(vec![
            name.to_string(),
            request.len().to_string(),
            with_spread(&figure),
            human(megabytes),
        ]);
    }
    println!("\nwrote {}", table.save_csv().display());
}
