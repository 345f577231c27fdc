//! The `Date` header (RFC 9110 §6.6.1), formatted once a second per thread.
//!
//! Every response carries the current date at one-second resolution, so
//! formatting it for every response would repeat the same work thousands of
//! times a second. Each worker thread keeps the last string it made and
//! reuses it until the second changes.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends the current date in IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn append_now(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with_borrow_mut(|(cached_second, text)| {
        if *cached_second != second {
            *cached_second = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_a_parseable_current_date() {
        let mut out = Vec::new();
        super::append_now(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.len(), 29, "{text}");
        let parsed = httpdate::parse_http_date(&text).unwrap();
        let age = std::time::SystemTime::now().duration_since(parsed).unwrap();
        assert!(age.as_secs() <= 2);
    }
}
