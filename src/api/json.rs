//! Which bodies httpdb checks as JSON: `application/json` and every `+json`
//! type (RFC 8259; RFC 6839 §3.1 for the suffix). A write of such a type
//! must parse, and `/_all` shows such a value as JSON rather than text.

/// Whether `content_type` is JSON: `application/json` or any `+json`
/// type, parameters ignored.
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json")
        || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json")
}

/// Checks that `body` is one JSON text, without building a tree of it; the
/// error says where parsing stopped (line and column).
pub fn check_json(body: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<&serde_json::value::RawValue>(body).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
            "text/x+JSON",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/jsonl",
            "json",
            "+json",
            "application/",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn a_json_body_must_be_one_whole_json_text() {
        assert!(check_json(b"{\"hello\": [1, 2]}").is_ok());
        let error = check_json(b"{\"hello\": world}").unwrap_err();
        assert_eq!((error.line(), error.column()), (1, 11));
        assert!(check_json(b"1 2").is_err());
    }
}
