//! The one error type of the protocol layer, and the status each error maps to.
//!
//! Every way a request can fail to parse ends up here, so the connection loop
//! has a single place to turn a failure into a response: the status code, a
//! detail for the problem+json body, and the rule that the connection is
//! closed afterwards (a request we could not frame leaves the byte stream in
//! an unknown state, RFC 9112 §6.3).

use std::borrow::Cow;
use std::fmt;
use std::io;

use super::status::Status;

/// Why a request could not be read.
#[derive(Debug)]
pub enum HttpError {
    /// Malformed syntax or framing: 400.
    BadRequest(Cow<'static, str>),
    /// The request line is longer than the limit: 414.
    UriTooLong {
        /// The limit that was crossed, in bytes.
        limit: usize,
    },
    /// The header section is over the byte or field limit: 431.
    HeaderFieldsTooLarge(Cow<'static, str>),
    /// The body is, or is announced to be, over `--max-body`: 413.
    ContentTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The head or body did not arrive before its deadline: 408.
    Timeout,
    /// A major version other than 1: 505.
    VersionNotSupported(String),
    /// A transfer coding httpdb does not implement: 501.
    UnsupportedCoding(String),
    /// An `Expect` other than `100-continue`: 417.
    ExpectationFailed(String),
    /// The server is holding as many request bodies as it allows: 503.
    Busy,
    /// The server stopped reading the connection before the whole request
    /// arrived, because it needed the worker for another client (a read
    /// failed with `ConnectionAborted`): 503, and the client may send it
    /// again.
    Interrupted,
    /// The client went away (reset, broken pipe): there is nobody to answer.
    Disconnected(io::Error),
}

impl HttpError {
    /// A 400 with a fixed message.
    pub fn bad(detail: &'static str) -> HttpError {
        HttpError::BadRequest(Cow::Borrowed(detail))
    }

    /// Classifies an I/O error met while reading a request.
    pub fn from_io(error: io::Error) -> HttpError {
        match error.kind() {
            // A socket read timeout surfaces as WouldBlock on Unix and TimedOut on Windows.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HttpError::Timeout,
            io::ErrorKind::UnexpectedEof => {
                HttpError::bad("the connection was closed in the middle of the request")
            }
            io::ErrorKind::ConnectionAborted => HttpError::Interrupted,
            _ => HttpError::Disconnected(error),
        }
    }

    /// The status to answer with, or `None` when the client is gone.
    pub fn status(&self) -> Option<Status> {
        Some(match self {
            HttpError::BadRequest(_) => Status::BAD_REQUEST,
            HttpError::UriTooLong { .. } => Status::URI_TOO_LONG,
            HttpError::HeaderFieldsTooLarge(_) => Status::HEADER_FIELDS_TOO_LARGE,
            HttpError::ContentTooLarge { .. } => Status::CONTENT_TOO_LARGE,
            HttpError::Timeout => Status::REQUEST_TIMEOUT,
            HttpError::VersionNotSupported(_) => Status::HTTP_VERSION_NOT_SUPPORTED,
            HttpError::UnsupportedCoding(_) => Status::NOT_IMPLEMENTED,
            HttpError::ExpectationFailed(_) => Status::EXPECTATION_FAILED,
            HttpError::Busy | HttpError::Interrupted => Status::SERVICE_UNAVAILABLE,
            HttpError::Disconnected(_) => return None,
        })
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadRequest(detail) => f.write_str(detail),
            HttpError::UriTooLong { limit } => {
                write!(f, "the request line is longer than {limit} bytes")
            }
            HttpError::HeaderFieldsTooLarge(detail) => f.write_str(detail),
            HttpError::ContentTooLarge { limit } => {
                write!(
                    f,
                    "the request body is larger than the limit of {limit} bytes"
                )
            }
            HttpError::Timeout => f.write_str("the request did not arrive in time"),
            HttpError::VersionNotSupported(version) => {
                write!(f, "{version} is not supported; use HTTP/1.1 or HTTP/1.0")
            }
            HttpError::UnsupportedCoding(coding) => {
                write!(
                    f,
                    "transfer coding '{coding}' is not implemented; only chunked is"
                )
            }
            HttpError::ExpectationFailed(expectation) => {
                write!(
                    f,
                    "expectation '{expectation}' cannot be met; only 100-continue can"
                )
            }
            HttpError::Busy => {
                f.write_str("too many request bodies are being received at once; try again shortly")
            }
            HttpError::Interrupted => f.write_str(
                "the server needed this connection for another client before the whole request \
                 arrived; send it again",
            ),
            HttpError::Disconnected(error) => write!(f, "the client went away: {error}"),
        }
    }
}

impl std::error::Error for HttpError {}
