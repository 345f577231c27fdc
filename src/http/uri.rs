//! The request target (RFC 9112 §3.2) and percent-decoding (RFC 3986 §2.1).
//!
//! A request names its target in one of four forms. httpdb serves the
//! origin form (`/path?query`), the absolute form a proxy sends
//! (`http://host:port/path?query`, §3.2.2) and the asterisk form of
//! `OPTIONS *` (§3.2.4). The authority form belongs to CONNECT, which httpdb
//! does not implement, so it is refused like any other malformed target.

use std::ops::Range;

use super::error::HttpError;

/// Which of the request-target forms was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host/path?query`
    Absolute,
    /// `*`
    Asterisk,
}

/// Where the path and the query sit inside the target string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetParts {
    /// Which form the target takes.
    pub form: TargetForm,
    /// The path, starting with `/`; empty for `*`, and for an absolute form
    /// without a path, which means `/` (see
    /// [`RequestHead::path`](super::RequestHead::path)).
    pub path: Range<usize>,
    /// The query without its `?`, if there was one.
    pub query: Option<Range<usize>>,
}

/// Splits a request target into its form, path and query.
///
/// The target has already been checked to hold only visible ASCII.
pub fn parse_target(target: &str) -> Result<TargetParts, HttpError> {
    if target == "*" {
        return Ok(TargetParts {
            form: TargetForm::Asterisk,
            path: 0..0,
            query: None,
        });
    }
    if target.contains('#') {
        return Err(HttpError::bad(
            "a request target cannot contain a fragment ('#')",
        ));
    }
    let (form, path_start) = if target.starts_with('/') {
        (TargetForm::Origin, 0)
    } else if let Some(after_scheme) = strip_http_scheme(target) {
        let authority_start = target.len() - after_scheme.len();
        let authority_len = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
        if authority_len == 0 {
            return Err(HttpError::bad(
                "an absolute-form request target needs a host",
            ));
        }
        (TargetForm::Absolute, authority_start + authority_len)
    } else {
        return Err(HttpError::bad(
            "the request target must be a path (/key), an absolute URI (http://host/key) or *",
        ));
    };
    let query_mark = target[path_start..].find('?').map(|i| path_start + i);
    let path_end = query_mark.unwrap_or(target.len());
    let query = query_mark.map(|mark| mark + 1..target.len());
    // `http://host?x` has an empty path, which means `/` (RFC 9110 §4.2.3);
    // in an OPTIONS request it would mean `*` (RFC 9112 §3.2.4), but httpdb
    // reads it as `/` there too.
    let path = if path_start == path_end {
        0..0
    } else {
        path_start..path_end
    };
    Ok(TargetParts { form, path, query })
}

/// The rest of the target after `http://` or `https://` (scheme names are
/// case-insensitive, RFC 3986 §3.1).
fn strip_http_scheme(target: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        if target.len() >= scheme.len()
            && target.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            return Some(&target[scheme.len()..]);
        }
    }
    None
}

/// Decodes `%XX` escapes. Returns `None` for a `%` not followed by two hex
/// digits. With `plus_is_space`, `+` decodes to a space, as in the
/// `application/x-www-form-urlencoded` query strings that browsers and most
/// HTTP libraries send.
pub fn percent_decode(input: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = hex_value(*bytes.get(i + 1)?)?;
                let low = hex_value(*bytes.get(i + 2)?)?;
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Splits a query string into `(name, value)` pairs, percent-decoded as form
/// data. A pair that does not decode to UTF-8 is an error naming it.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |part: &str| {
            percent_decode(part, true)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    format!("query parameter '{pair}' is not valid percent-encoded UTF-8")
                })
        };
        pairs.push((decode(name)?, decode(value)?));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(target: &str) -> (TargetForm, &str, Option<&str>) {
        let parts = parse_target(target).unwrap();
        let path = if parts.path.is_empty() && parts.form != TargetForm::Asterisk {
            "/"
        } else {
            &target[parts.path.clone()]
        };
        (parts.form, path, parts.query.map(|q| &target[q]))
    }

    #[test]
    fn origin_form() {
        assert_eq!(split("/a/b?x=1"), (TargetForm::Origin, "/a/b", Some("x=1")));
        assert_eq!(split("/"), (TargetForm::Origin, "/", None));
        assert_eq!(split("/k?"), (TargetForm::Origin, "/k", Some("")));
    }

    #[test]
    fn absolute_form() {
        assert_eq!(
            split("http://localhost:6111/hello?x"),
            (TargetForm::Absolute, "/hello", Some("x"))
        );
        assert_eq!(split("HTTP://h"), (TargetForm::Absolute, "/", None));
        assert_eq!(split("https://h?q"), (TargetForm::Absolute, "/", Some("q")));
        assert!(parse_target("http:///path").is_err());
    }

    #[test]
    fn asterisk_and_bad_forms() {
        assert_eq!(parse_target("*").unwrap().form, TargetForm::Asterisk);
        assert!(parse_target("localhost:80").is_err());
        assert!(parse_target("ftp://h/x").is_err());
        assert!(parse_target("/a#frag").is_err());
        assert!(parse_target("").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%20b%2Fc", false).unwrap(), b"/a b/c");
        assert_eq!(percent_decode("a+b", false).unwrap(), b"a+b");
        assert_eq!(percent_decode("a+b", true).unwrap(), b"a b");
        assert_eq!(percent_decode("%e2%82%ac", false).unwrap(), "€".as_bytes());
        assert!(percent_decode("%", false).is_none());
        assert!(percent_decode("%4", false).is_none());
        assert!(percent_decode("%zz", false).is_none());
    }

    #[test]
    fn query_pairs() {
        let pairs = parse_query("prefix=%2Fa&limit=10&flag&&after=x+y").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("prefix".into(), "/a".into()),
                ("limit".into(), "10".into()),
                ("flag".into(), "".into()),
                ("after".into(), "x y".into()),
            ]
        );
        assert!(parse_query("a=%ff").is_err());
    }
}
