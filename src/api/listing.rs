//! The listings: `GET /_all` (every entry as one JSON object) and
//! `GET /_keys?prefix=P&limit=N&after=K` (one page of keys).
//!
//! `/_all` writes stored JSON values into its output as they are, without
//! parsing them again: they were checked when they were written, and the
//! bytes sent are the bytes kept.

use crate::http::{Body, Response, Status};
use crate::store::{Entry, Store};

use super::conditional::etag;
use super::is_json_media_type;

/// Keys in one page when the client does not say.
pub const DEFAULT_PAGE: usize = 1000;
/// The most keys one page may ask for.
pub const MAX_PAGE: usize = 10_000;

/// `GET /_all`: `{"<key>": {"content_type", "etag", "size", "value"}, …}`
/// where `value` is the JSON itself for JSON types, a string for UTF-8 text
/// and `null` for anything else.
pub fn all(store: &Store) -> Response {
    let entries = store.entries();
    let mut out = Vec::with_capacity(64 + entries.len() * 96);
    out.push(b'{');
    for (index, (key, entry)) in entries.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_json_string(&mut out, key);
        out.extend_from_slice(b":{\"content_type\":");
        push_json_string(&mut out, &entry.content_type);
        out.extend_from_slice(b",\"etag\":");
        push_json_string(&mut out, &etag(entry.revision));
        out.extend_from_slice(b",\"size\":");
        out.extend_from_slice(entry.value.len().to_string().as_bytes());
        out.extend_from_slice(b",\"value\":");
        push_value(&mut out, entry);
        out.push(b'}');
    }
    out.push(b'}');
    Response::new(Status::OK).with_body("application/json", Body::Owned(out))
}

fn push_value(out: &mut Vec<u8>, entry: &Entry) {
    if is_json_media_type(&entry.content_type) {
        out.extend_from_slice(&entry.value);
    } else if let Ok(text) = std::str::from_utf8(&entry.value) {
        push_json_string(out, text);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("serialising a str into a Vec cannot fail");
}

/// `GET /_keys`: a JSON array of keys in byte order. `prefix` keeps keys that
/// start with it, `after` starts after that key (the last key of the previous
/// page), `limit` caps the page (default 1000, at most 10000).
pub fn keys(store: &Store, query: Option<&str>) -> Response {
    let pairs = match crate::http::uri::parse_query(query.unwrap_or("")) {
        Ok(pairs) => pairs,
        Err(detail) => return Response::problem(Status::BAD_REQUEST, detail),
    };
    let mut prefix = String::new();
    let mut after = None;
    let mut limit = DEFAULT_PAGE;
    for (name, value) in pairs {
        match name.as_str() {
            "prefix" => prefix = value,
            "after" => after = Some(value),
            "limit" => match value.parse::<usize>() {
                Ok(n) if n <= MAX_PAGE => limit = n,
                _ => {
                    return Response::problem(
                        Status::BAD_REQUEST,
                        format!("limit must be a whole number from 0 to {MAX_PAGE}, not '{value}'"),
                    );
                }
            },
            other => {
                return Response::problem(
                    Status::BAD_REQUEST,
                    format!("unknown parameter '{other}'; /_keys takes prefix, limit and after"),
                );
            }
        }
    }
    let page = store.keys(&prefix, after.as_deref(), limit);
    Response::json(Status::OK, &serde_json::Value::from(page))
}
