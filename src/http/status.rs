//! Status codes and their reason phrases (RFC 9110 §15).
//!
//! Only the codes httpdb sends are named. The status line always carries the
//! reason phrase: RFC 9112 §4 lets it be empty, but HTTP/1.0 clients and
//! people reading `curl -i` output expect one.

use std::fmt;

/// An HTTP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(u16);

impl Status {
    /// 100 Continue (RFC 9110 §15.2.1).
    pub const CONTINUE: Status = Status(100);
    /// 200 OK (RFC 9110 §15.3.1).
    pub const OK: Status = Status(200);
    /// 201 Created (RFC 9110 §15.3.2).
    pub const CREATED: Status = Status(201);
    /// 204 No Content (RFC 9110 §15.3.5).
    pub const NO_CONTENT: Status = Status(204);
    /// 304 Not Modified (RFC 9110 §15.4.5).
    pub const NOT_MODIFIED: Status = Status(304);
    /// 400 Bad Request (RFC 9110 §15.5.1).
    pub const BAD_REQUEST: Status = Status(400);
    /// 401 Unauthorized (RFC 9110 §15.5.2).
    pub const UNAUTHORIZED: Status = Status(401);
    /// 404 Not Found (RFC 9110 §15.5.5).
    pub const NOT_FOUND: Status = Status(404);
    /// 405 Method Not Allowed (RFC 9110 §15.5.6).
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 408 Request Timeout (RFC 9110 §15.5.9).
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// 411 Length Required (RFC 9110 §15.5.12).
    pub const LENGTH_REQUIRED: Status = Status(411);
    /// 412 Precondition Failed (RFC 9110 §15.5.13).
    pub const PRECONDITION_FAILED: Status = Status(412);
    /// 413 Content Too Large (RFC 9110 §15.5.14).
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    /// 414 URI Too Long (RFC 9110 §15.5.15).
    pub const URI_TOO_LONG: Status = Status(414);
    /// 417 Expectation Failed (RFC 9110 §15.5.18).
    pub const EXPECTATION_FAILED: Status = Status(417);
    /// 431 Request Header Fields Too Large (RFC 6585 §5).
    pub const HEADER_FIELDS_TOO_LARGE: Status = Status(431);
    /// 500 Internal Server Error (RFC 9110 §15.6.1).
    pub const INTERNAL_SERVER_ERROR: Status = Status(500);
    /// 501 Not Implemented (RFC 9110 §15.6.2).
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// 503 Service Unavailable (RFC 9110 §15.6.4).
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    /// 505 HTTP Version Not Supported (RFC 9110 §15.6.6).
    pub const HTTP_VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The three-digit code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// The reason phrase from the RFC that defines the code.
    pub fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            304 => "Not Modified",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            411 => "Length Required",
            412 => "Precondition Failed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            417 => "Expectation Failed",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "Unknown",
        }
    }

    /// Whether a response with this status never has content (RFC 9110 §6.4.1):
    /// 1xx, 204 and 304.
    pub fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }

    /// The status class as an index 0..=4 for 1xx..5xx, for counting.
    pub fn class_index(self) -> usize {
        usize::from(self.0 / 100).clamp(1, 5) - 1
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}
