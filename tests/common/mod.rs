//! Shared by the integration tests: start a real server on 127.0.0.1 port 0,
//! talk to it over real sockets with the project's one HTTP/1.1 client
//! (`httpdb::client`, which shares no code with the server's parser, so a
//! parser bug cannot hide by agreeing with itself), and check what every
//! test relies on.
//!
//! What a test gets back has already passed the checks every response must
//! pass to be read at all: the client refuses a head whose lines do not end
//! in CRLF or whose status line is not `HTTP/1.x NNN`, and [`read_checked`]
//! adds that the status line is `HTTP/1.1 NNN reason` with a reason phrase
//! and that a response that may carry a body is framed by `Content-Length`
//! (RFC 9112 §4, §6.3). A response that fails them fails the test, with the
//! client's error.
//!
//! The other checks tests share: [`BodyChecks::problem_detail`] for an
//! RFC 9457 problem body, [`assert_closes`] for `Connection: close` and the
//! close that must follow it (RFC 9112 §9.6). Raw bytes, for the requests a
//! well-behaved client would never send, go through [`Talk::send_bytes`],
//! [`raw_request`] and [`Noise`].
//!
//! Every connection has a read timeout of [`PATIENCE`], so a server that
//! fails to answer makes a test fail, not hang; and a [`TestServer`] keeps
//! idle connections open longer than that, so a connection it should have
//! closed fails the test instead of being closed late.

#![allow(dead_code)]

pub mod process;
pub mod temp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use httpdb::api::Api;
use httpdb::server::{RunningServer, Server, ServerOptions};
use httpdb::stats::{ServerStats, StatsSnapshot};
use httpdb::store::Store;

pub use httpdb::client::{Client, ClientError, Request, Response, is_timeout};

/// How long a test waits for any single answer before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The start of a TLS ClientHello (a handshake record, version 3.1): what an
/// `https://` client sends to a plain-HTTP port.
pub const TLS_CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";

/// A server running in this process on an ephemeral port, with an in-memory
/// store the test may also read directly.
pub struct TestServer {
    running: Option<RunningServer>,
    pub store: Arc<Store>,
    pub stats: Arc<ServerStats>,
}

impl TestServer {
    /// A server with the default options, a small pool, a long idle timeout
    /// and no token.
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {}, None)
    }

    /// A server whose options `configure` adjusts, optionally requiring `token`.
    pub fn start_with(
        configure: impl FnOnce(&mut ServerOptions),
        token: Option<&str>,
    ) -> TestServer {
        let mut options = ServerOptions {
            threads: 8,
            max_pending: 64,
            // Longer than a test waits for anything: a connection the server
            // should close, and does not, fails the test rather than being
            // closed late by the idle timeout.
            idle_timeout: PATIENCE * 2,
            access_log: false,
            ..ServerOptions::default()
        };
        configure(&mut options);
        let store = Arc::new(Store::in_memory());
        let token = token.map(String::from);
        let server = Server::bind("127.0.0.1:0", options, |stats| {
            Api::new(Arc::clone(&store), stats, token)
        })
        .expect("bind");
        let stats = Arc::clone(server.stats());
        TestServer {
            running: Some(server.spawn().expect("spawn")),
            store,
            stats,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.as_ref().expect("running").addr()
    }

    /// A new connection.
    pub fn connect(&self) -> Client {
        connect(self.addr())
    }

    /// Sends `raw` on a new connection and reads one response.
    pub fn exchange(&self, raw: &[u8]) -> Response {
        let mut client = self.connect();
        client.send_bytes(raw);
        client.response()
    }

    /// A one-off request on a new connection (see [`Talk::request`]).
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        self.connect().request(method, target, headers, body)
    }

    /// A keep-alive connection that has had one request answered, and is
    /// now idle.
    pub fn idle_connection(&self) -> Client {
        let mut client = self.connect();
        let response = client.request("GET", "/_health", &[], None);
        assert_eq!(response.status(), 200, "{response:?}");
        assert!(!response.closes(), "{response:?}");
        client
    }

    /// `GET target` on a new connection.
    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[], None)
    }

    /// Stops the server and waits for every worker.
    pub fn shutdown(mut self) -> std::io::Result<()> {
        match self.running.take() {
            Some(running) => running.shutdown(),
            None => Ok(()),
        }
    }

    /// Waits until the server's counters satisfy `condition`, failing the
    /// test if they do not within [`PATIENCE`]. For what the server shows
    /// but does not announce: the memory bodies hold, idle connections,
    /// responses counted. The poll interval only bounds how late the test
    /// notices.
    pub fn wait_for_stats(&self, what: &str, condition: impl Fn(&StatsSnapshot) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let stats = self.stats.snapshot();
            if condition(&stats) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}: {stats:?}"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A new connection to `addr`, waiting at most [`PATIENCE`] for anything.
pub fn connect(addr: SocketAddr) -> Client {
    Client::connect_to(addr, PATIENCE).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// What a test does on a [`Client`], with every response checked.
pub trait Talk {
    /// The connection talked on.
    fn client(&mut self) -> &mut Client;

    /// Sends a request (the client adds `Host`, and `Content-Length` when
    /// there is a body) and reads its final response.
    fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let mut request = Request::new(method, target).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        read_checked(self.client().exchange(&request), method == "HEAD")
    }

    /// Writes `bytes` as they are. A write the server refused because it
    /// already answered and closed is not an error here: what matters is
    /// the answer, read next.
    fn send_bytes(&mut self, bytes: &[u8]) {
        let _ = self.client().send_raw(bytes);
    }

    /// Reads the next response, interim (1xx) ones included, to a request
    /// that was not HEAD.
    fn response(&mut self) -> Response {
        read_checked(self.client().read_response(false), false)
    }

    /// Reads the next response to a HEAD request: no body follows it.
    fn response_to_head(&mut self) -> Response {
        read_checked(self.client().read_response(true), true)
    }
}

impl Talk for Client {
    fn client(&mut self) -> &mut Client {
        self
    }
}

/// The response, once it has passed the checks every response must pass:
/// an `HTTP/1.1` status line with a reason phrase, and `Content-Length`
/// giving the length of any body (the server never sends a body delimited
/// by the close, or chunked).
pub fn read_checked(read: Result<Response, ClientError>, to_head: bool) -> Response {
    let response = read.unwrap_or_else(|error| panic!("no well-formed response: {error}"));
    assert!(
        response.status_line().starts_with("HTTP/1.1 ") && !response.reason().is_empty(),
        "a status line 'HTTP/1.1 NNN reason': {response:?}"
    );
    let status = response.status();
    if !(response.is_interim() || status == 204 || status == 304) {
        let length = response
            .header("content-length")
            .unwrap_or_else(|| panic!("a response with a body has Content-Length: {response:?}"));
        if !to_head {
            assert_eq!(length, response.body.len().to_string(), "{response:?}");
        }
    }
    response
}

/// Checks that `response` says `Connection: close` (RFC 9112 §9.6) and that
/// the server then really closes: the next read is the end of the stream,
/// with no byte of anything else before it.
pub fn assert_closes(client: &mut Client, response: &Response, what: &str) {
    assert!(
        response.closes(),
        "{what}: no Connection: close: {response:?}"
    );
    assert!(client.is_closed(), "{what}: the connection stayed open");
}

/// Checks on a response's body.
pub trait BodyChecks {
    /// The body as JSON.
    fn json(&self) -> serde_json::Value;

    /// Checks an RFC 9457 problem body (type `about:blank`, the status, the
    /// reason phrase as its title) and returns its detail.
    fn problem_detail(&self) -> String;
}

impl BodyChecks for Response {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    fn problem_detail(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let problem = self.json();
        assert_eq!(problem["type"], "about:blank", "{self:?}");
        assert_eq!(problem["status"], self.status(), "{self:?}");
        assert_eq!(problem["title"], self.reason(), "{self:?}");
        let detail = problem["detail"].as_str().expect("a detail").to_string();
        assert!(!detail.is_empty(), "an empty detail: {self:?}");
        detail
    }
}

/// Requests over keep-alive connections, as a browser makes them: a new
/// connection whenever the server says it closes the current one, and after
/// any error.
///
/// A server may close a keep-alive connection it finds idle at any moment
/// (RFC 9112 §9.5), and httpdb does when a newcomer needs the worker; a
/// request sent just then meets a connection closed without a response.
/// As RFC 9112 §9.3.1 allows for idempotent requests (all these tests
/// send), such a request is sent once more, on a new connection. A request
/// on a new connection is never repeated.
pub struct Reconnecting {
    addr: String,
    client: Option<Client>,
}

impl Reconnecting {
    pub fn new(addr: impl ToString) -> Reconnecting {
        Reconnecting {
            addr: addr.to_string(),
            client: None,
        }
    }

    /// Sends the request and reads its final response; an error means no
    /// response came (the next request starts on a new connection).
    pub fn try_request(
        &mut self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        let mut request = Request::new(method, target);
        if let Some(body) = body {
            request = request.body(body);
        }
        if let Some(mut kept) = self.client.take() {
            match kept.exchange(&request) {
                Err(ClientError::Closed) => {}
                Err(ClientError::Io(error)) if !is_timeout(&error) => {}
                answer => return self.keep(kept, answer, method),
            }
        }
        let mut fresh = Client::connect(&self.addr, PATIENCE)?;
        let answer = fresh.exchange(&request);
        self.keep(fresh, answer, method)
    }

    /// Keeps `client` for the next request unless the answer says it closes.
    fn keep(
        &mut self,
        client: Client,
        answer: Result<Response, ClientError>,
        method: &str,
    ) -> Result<Response, ClientError> {
        let response = answer?;
        if !response.closes() {
            self.client = Some(client);
        }
        Ok(read_checked(Ok(response), method == "HEAD"))
    }

    /// [`Reconnecting::try_request`], failing the test on an error.
    pub fn request(&mut self, method: &str, target: &str, body: Option<&[u8]>) -> Response {
        self.try_request(method, target, body)
            .unwrap_or_else(|error| panic!("{method} {target}: {error}"))
    }
}

/// A request of `lines` (the request line and header lines, without their
/// endings) joined by CRLF, the empty line, then `body`.
pub fn raw_request(lines: &[&str], body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Deterministic pseudo-random numbers (xorshift64), so that a failure with
/// random input can be replayed from its seed.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `length` pseudo-random bytes.
    pub fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| (self.next() >> 24) as u8).collect()
    }
}
