//! The failures the API's routes share, each answered the same way
//! wherever it happens, as an RFC 9457 problem details body.

use crate::http::{Response, Status};
use crate::store::{StorageFailed, WriteError};

use super::conditional::etag;

/// The answer when the store cannot be read because its log failed.
pub(super) fn unavailable(failed: &StorageFailed) -> Response {
    Response::problem(Status::SERVICE_UNAVAILABLE, failed.to_string())
}

/// The answer for a key that holds nothing.
pub(super) fn not_found(key: &str) -> Response {
    Response::problem(Status::NOT_FOUND, format!("key '{key}' not found"))
}

/// The answer to a write the store refused or could not make durable.
pub(super) fn write_failed(key: &str, error: WriteError) -> Response {
    match error {
        WriteError::ConditionFailed { current } => precondition_failed(key, current),
        WriteError::TooLarge => Response::problem(
            Status::CONTENT_TOO_LARGE,
            format!("key '{key}' and its value are too large for one log record"),
        ),
        WriteError::Storage(reason) => Response::problem(
            Status::SERVICE_UNAVAILABLE,
            format!(
                "the write was not stored: {reason}; writes are refused until the server restarts"
            ),
        ),
    }
}

/// The answer to a request whose precondition failed (`If-Match`,
/// `If-None-Match` or `If-Unmodified-Since`): the detail names the key's
/// current ETag, so a client can retry.
pub(super) fn precondition_failed(key: &str, current: Option<u64>) -> Response {
    let detail = match current {
        Some(revision) => format!(
            "precondition failed: key '{key}' is at ETag {}",
            etag(revision)
        ),
        None => format!("precondition failed: key '{key}' does not exist"),
    };
    Response::problem(Status::PRECONDITION_FAILED, detail)
}
