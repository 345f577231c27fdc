//! Fuzzes the request parser the way a connection drives it: read a head,
//! then its body, over and over until the input runs out (pipelining), and
//! answer each request with the real API over an in-memory store.
//!
//! What must hold for any input: no panic, every parse error maps to a 4xx
//! or 5xx status (a client can never cause a "nobody to answer" error from
//! memory), and every response can be written.
//!
//! Run it with `cargo fuzz run parse_request` (cargo-fuzz installed).

#![no_main]

use std::io::BufReader;
use std::sync::Arc;

use httpdb::api::Api;
use httpdb::http::{
    Handler, Limits, Persistence, Request, Version, read_body, read_head, write_response,
};
use httpdb::stats::ServerStats;
use httpdb::store::Store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_request_line: 256,
        max_header_bytes: 1024,
        max_header_count: 16,
        max_body: 4096,
    };
    let api = Api::new(
        Arc::new(Store::in_memory()),
        Arc::new(ServerStats::new(1)),
        None,
    );
    // A small buffer makes lines and bodies cross buffer boundaries.
    let mut reader = BufReader::with_capacity(7, data);
    let mut scratch = Vec::new();
    let mut out = Vec::new();
    for _ in 0..16 {
        let head = match read_head(&mut reader, &limits) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(error) => {
                let status = error.status().expect("an error from memory has a status");
                assert!((400..600).contains(&status.code()), "{error:?}");
                return;
            }
        };
        let accepted = match api.check_head(&head) {
            Ok(accepted) => accepted,
            Err(response) => {
                assert!(response.status().code() >= 400);
                write_response(&mut out, &mut scratch, &response, false, Persistence::Close)
                    .expect("writing to memory");
                return;
            }
        };
        let body = match read_body(&mut reader, head.framing(), limits.max_body, &mut |_| true) {
            Ok(body) => body,
            Err(error) => {
                let status = error.status().expect("an error from memory has a status");
                assert!((400..600).contains(&status.code()), "{error:?}");
                return;
            }
        };
        let response = api.handle(accepted, Request { head, body });
        out.clear();
        write_response(
            &mut out,
            &mut scratch,
            &response,
            false,
            Persistence::KeepOpen(Version::Http11),
        )
        .expect("writing to memory");
        assert!(out.starts_with(b"HTTP/1.1 "));
    }
});
