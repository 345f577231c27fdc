//! The HTTP/1.x protocol layer: reading requests and writing responses.
//!
//! Nothing here knows about keys, values or sockets. The parser reads from
//! any `BufRead` and the writer writes to any `Write`, so the same code is
//! driven by a `TcpStream` in the server, by a byte slice in unit tests and
//! benchmarks, and by a fuzzer.
//!
//! The order a request is read in, and the module for each step:
//! - [`line`](mod@line): one CRLF- or LF-terminated line under a byte budget (RFC 9112 §2.2);
//! - [`version`]: `HTTP/1.0` or `HTTP/1.1` (RFC 9112 §2.3);
//! - [`request`]: the request line and header fields, Host, persistence,
//!   `Expect`, and how the body is framed (RFC 9112 §3, §5, §6.3, §9.3;
//!   RFC 9110 §10.1.1);
//! - [`fields`]: the field-line grammar that headers and trailers share
//!   (RFC 9112 §5);
//! - [`uri`]: the request target's form, path and query (RFC 9112 §3.2);
//! - [`body`]: reading a body of the framing the head decided (RFC 9112 §6,
//!   §7.1);
//! - [`response`]: the status line, headers and body of the answer (RFC 9112 §4);
//! - [`persistence`]: whether the connection stays open after it (RFC 9112 §9.3);
//! - [`error`]: every way the above can fail, and the status for each.

pub mod body;
pub mod date;
pub mod error;
pub mod fields;
pub mod line;
pub mod persistence;
pub mod request;
pub mod response;
pub mod status;
pub mod uri;
pub mod version;

pub use body::read_body;
pub use error::HttpError;
pub use persistence::Persistence;
pub use request::{Framing, Limits, Method, Request, RequestHead, read_head};
pub use response::{Body, Response, write_continue, write_response};
pub use status::Status;
pub use uri::TargetForm;
pub use version::Version;

/// What the server calls to answer requests: the seam between the protocol
/// (this module and the server) and the application (`api`).
///
/// Answering happens in two steps so that a request can be refused before
/// its body is read: a client that sent `Expect: 100-continue` then gets the
/// final status instead of `100 Continue`, and never sends a body that would
/// be thrown away (RFC 9110 §10.1.1).
pub trait Handler: Send + Sync + 'static {
    /// What `check_head` learned about an accepted request that `handle`
    /// needs (httpdb's API passes the action the request asks for).
    type Accepted;

    /// Looks at the head alone: `Err(response)` refuses the request, and its
    /// body is never read.
    fn check_head(&self, head: &RequestHead) -> Result<Self::Accepted, Response>;

    /// Answers a complete request that `check_head` accepted. For HEAD,
    /// answer as for GET: the connection drops the body.
    fn handle(&self, accepted: Self::Accepted, request: Request) -> Response;
}
