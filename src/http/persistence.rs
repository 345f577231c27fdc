//! What happens to a connection after a response (RFC 9112 §9.3, §9.6).
//!
//! Three parties have a say, and this one type carries the outcome from
//! each to the next:
//! 1. the client asks, in its request: HTTP/1.1 keeps the connection unless
//!    it sends `Connection: close`; HTTP/1.0 closes it unless it sends
//!    `Connection: keep-alive` ([`RequestHead::persistence`]);
//! 2. the server may overrule a request to keep it: after a malformed
//!    request, when shutting down, when it needs the worker elsewhere
//!    (`server/connection.rs`);
//! 3. the response says what was decided in its `Connection` header
//!    ([`Persistence::connection_header`]), and the connection does it.
//!
//! [`RequestHead::persistence`]: super::RequestHead::persistence

use super::version::Version;

/// What happens to the connection once the response is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// Kept open for the next request. The version is the request's: an
    /// HTTP/1.1 client needs no header to know, an HTTP/1.0 client that
    /// asked for keep-alive must be told it got it (RFC 9112 §9.3, and
    /// RFC 1945's keep-alive convention as HTTP/1.0 clients use it).
    KeepOpen(Version),
    /// Closed once the response is sent: `Connection: close`.
    Close,
    /// Closed after the response, but first the server reads and discards
    /// what the client may still be sending (a body it did not read, a
    /// pipelined request), so that closing with unread data does not become
    /// a TCP reset that destroys the response in flight (RFC 9112 §9.6).
    CloseLingering,
}

impl Persistence {
    /// The `Connection` header value the response carries, if any.
    pub fn connection_header(self) -> Option<&'static str> {
        match self {
            Persistence::KeepOpen(Version::Http11) => None,
            Persistence::KeepOpen(Version::Http10) => Some("keep-alive"),
            Persistence::Close | Persistence::CloseLingering => Some("close"),
        }
    }

    /// Whether the connection stays open.
    pub fn keeps_open(self) -> bool {
        matches!(self, Persistence::KeepOpen(_))
    }

    /// A close decided by the server, lingering if the client's bytes are
    /// still arriving.
    pub fn close(lingering: bool) -> Persistence {
        if lingering {
            Persistence::CloseLingering
        } else {
            Persistence::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_1_0_keep_alive_and_closes_need_a_header() {
        assert_eq!(
            Persistence::KeepOpen(Version::Http11).connection_header(),
            None
        );
        assert_eq!(
            Persistence::KeepOpen(Version::Http10).connection_header(),
            Some("keep-alive")
        );
        assert_eq!(Persistence::Close.connection_header(), Some("close"));
        assert_eq!(
            Persistence::CloseLingering.connection_header(),
            Some("close")
        );
    }
}
