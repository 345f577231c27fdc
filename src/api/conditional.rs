//! Conditional requests (RFC 9110 §13): `If-Match`, `If-None-Match`,
//! `If-Modified-Since` and `If-Unmodified-Since`.
//!
//! An entry's validators are its ETag, `"<revision>"`, a strong validator,
//! and its Last-Modified time. The preconditions are evaluated in the order
//! of RFC 9110 §13.2.2, against the entry as it is at that moment: for a
//! write, under the store's lock, which is what makes `If-Match` a
//! compare-and-swap.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::RequestHead;
use crate::store::Entry;

/// What the preconditions say about a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Go ahead.
    Proceed,
    /// A GET or HEAD whose client already has this version: 304.
    NotModified,
    /// 412.
    Failed,
}

/// The parsed precondition headers of one request.
#[derive(Clone, Debug, Default)]
pub struct Preconditions {
    if_match: Option<EntityTags>,
    if_none_match: Option<EntityTags>,
    if_modified_since: Option<SystemTime>,
    if_unmodified_since: Option<SystemTime>,
}

/// `*` or a list of entity-tags (RFC 9110 §8.8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
enum EntityTags {
    Any,
    /// `(weak, revision)` pairs; tags that are not one of ours never match
    /// and are left out.
    List(Vec<(bool, u64)>),
}

impl Preconditions {
    /// Reads the conditional header fields of a request (RFC 9110 §13.1).
    pub fn from_head(head: &RequestHead) -> Preconditions {
        // An invalid date is ignored, as if the header were absent (RFC 9110
        // §13.1.3, §13.1.4).
        let date = |name| {
            head.header(name)
                .and_then(|v| httpdate::parse_http_date(v).ok())
        };
        Preconditions {
            if_match: entity_tags(head, "if-match"),
            if_none_match: entity_tags(head, "if-none-match"),
            if_modified_since: date("if-modified-since"),
            if_unmodified_since: date("if-unmodified-since"),
        }
    }

    /// Whether the request has any precondition at all.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// Evaluates the preconditions against `current` (`None`: no entry).
    /// `is_read` is true for GET and HEAD, which get 304 where a write gets 412.
    pub fn evaluate(&self, current: Option<&Entry>, is_read: bool) -> Outcome {
        // Step 1: If-Match needs a current entry with a strongly matching tag.
        if let Some(tags) = &self.if_match {
            if !current.is_some_and(|entry| tags.matches(entry.revision, false)) {
                return Outcome::Failed;
            }
        } else if let (Some(since), Some(entry)) = (self.if_unmodified_since, current) {
            // Step 2: If-Unmodified-Since, only without If-Match.
            if seconds(entry.modified) > seconds(since) {
                return Outcome::Failed;
            }
        }
        // Step 3: If-None-Match fails when any tag matches, weakly.
        if let Some(tags) = &self.if_none_match {
            if current.is_some_and(|entry| tags.matches(entry.revision, true)) {
                return if is_read {
                    Outcome::NotModified
                } else {
                    Outcome::Failed
                };
            }
        } else if let (true, Some(since), Some(entry)) = (is_read, self.if_modified_since, current)
        {
            // Step 4: If-Modified-Since, only on GET and HEAD without If-None-Match.
            if seconds(entry.modified) <= seconds(since) {
                return Outcome::NotModified;
            }
        }
        Outcome::Proceed
    }
}

impl EntityTags {
    /// Strong comparison requires both tags strong; weak comparison ignores
    /// the `W/` prefix (RFC 9110 §8.8.3.2).
    fn matches(&self, revision: u64, weak_comparison: bool) -> bool {
        match self {
            EntityTags::Any => true,
            EntityTags::List(tags) => tags
                .iter()
                .any(|&(weak, tag)| tag == revision && (weak_comparison || !weak)),
        }
    }
}

/// Parses every field of the named header into one list.
fn entity_tags(head: &RequestHead, name: &str) -> Option<EntityTags> {
    let mut values = head.headers_named(name).peekable();
    values.peek()?;
    let mut tags = Vec::new();
    for value in values {
        let value = value.trim();
        if value == "*" {
            return Some(EntityTags::Any);
        }
        for tag in value.split(',').map(str::trim) {
            let (weak, quoted) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            // Entity-tags compare octet by octet (RFC 9110 §8.8.3.2): `"01"`
            // and `"+1"` are not `"1"`, so only the canonical digits count.
            let revision = quoted
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .and_then(|opaque| {
                    opaque
                        .parse::<u64>()
                        .ok()
                        .filter(|r| r.to_string() == opaque)
                });
            if let Some(revision) = revision {
                tags.push((weak, revision));
            }
        }
    }
    Some(EntityTags::List(tags))
}

/// HTTP dates have one-second resolution, so times are compared in whole seconds.
fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The strong ETag of a revision.
pub fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, read_head};
    use std::sync::Arc;
    use std::time::Duration;

    fn preconditions(headers: &str) -> Preconditions {
        let text = format!("GET /k HTTP/1.1\r\nHost: a\r\n{headers}\r\n");
        let head = read_head(&mut text.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        Preconditions::from_head(&head)
    }

    fn entry(revision: u64, modified_secs: u64) -> Entry {
        Entry {
            value: Arc::from(&b"v"[..]),
            content_type: Arc::from("text/plain"),
            revision,
            modified: UNIX_EPOCH + Duration::from_secs(modified_secs),
        }
    }

    const DATE_1000: &str = "Thu, 01 Jan 1970 00:16:40 GMT";

    #[test]
    fn if_match_is_a_strong_compare() {
        let current = entry(5, 0);
        assert_eq!(
            preconditions("If-Match: \"5\"\r\n").evaluate(Some(&current), false),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-Match: \"4\", \"5\"\r\n").evaluate(Some(&current), false),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-Match: \"4\"\r\n").evaluate(Some(&current), false),
            Outcome::Failed
        );
        assert_eq!(
            preconditions("If-Match: W/\"5\"\r\n").evaluate(Some(&current), false),
            Outcome::Failed
        );
        assert_eq!(
            preconditions("If-Match: *\r\n").evaluate(Some(&current), false),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-Match: *\r\n").evaluate(None, false),
            Outcome::Failed
        );
        assert_eq!(
            preconditions("If-Match: garbage\r\n").evaluate(Some(&current), false),
            Outcome::Failed
        );
    }

    #[test]
    fn if_none_match_is_a_weak_compare() {
        let current = entry(5, 0);
        assert_eq!(
            preconditions("If-None-Match: W/\"5\"\r\n").evaluate(Some(&current), true),
            Outcome::NotModified
        );
        assert_eq!(
            preconditions("If-None-Match: \"5\"\r\n").evaluate(Some(&current), false),
            Outcome::Failed
        );
        assert_eq!(
            preconditions("If-None-Match: \"6\"\r\n").evaluate(Some(&current), true),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-None-Match: *\r\n").evaluate(None, false),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-None-Match: *\r\n").evaluate(Some(&current), false),
            Outcome::Failed
        );
    }

    #[test]
    fn dates() {
        let current = entry(1, 1000);
        let ims = format!("If-Modified-Since: {DATE_1000}\r\n");
        assert_eq!(
            preconditions(&ims).evaluate(Some(&current), true),
            Outcome::NotModified
        );
        assert_eq!(
            preconditions(&ims).evaluate(Some(&entry(1, 1001)), true),
            Outcome::Proceed
        );
        // If-None-Match takes precedence over If-Modified-Since.
        let both = format!("{ims}If-None-Match: \"2\"\r\n");
        assert_eq!(
            preconditions(&both).evaluate(Some(&current), true),
            Outcome::Proceed
        );
        let ius = format!("If-Unmodified-Since: {DATE_1000}\r\n");
        assert_eq!(
            preconditions(&ius).evaluate(Some(&entry(1, 1001)), false),
            Outcome::Failed
        );
        assert_eq!(
            preconditions(&ius).evaluate(Some(&current), false),
            Outcome::Proceed
        );
        assert_eq!(
            preconditions("If-Modified-Since: yesterday\r\n").evaluate(Some(&current), true),
            Outcome::Proceed
        );
    }
}
