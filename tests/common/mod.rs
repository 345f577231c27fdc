//! Shared by the integration tests: start a real server on 127.0.0.1 port 0,
//! talk to it over real sockets, and read its responses with a small HTTP
//! client that shares no code with the server (a parser bug must not be able
//! to hide itself by agreeing with itself).
//!
//! Every socket gets a read timeout, so a server that fails to answer makes
//! a test fail, not hang.

#![allow(dead_code)]

pub mod process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use httpdb::api::Api;
use httpdb::server::{RunningServer, Server, ServerOptions};
use httpdb::stats::ServerStats;
use httpdb::store::Store;

/// How long a test waits for any single answer before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A server running in this process on an ephemeral port.
pub struct TestServer {
    running: Option<RunningServer>,
    pub store: Arc<Store>,
    pub stats: Arc<ServerStats>,
}

impl TestServer {
    /// A server with the default options, a small pool and no token.
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

    /// A new connection with a read timeout.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr())
    }

    /// Sends `raw` on a new connection and reads one response.
    pub fn exchange(&self, raw: &[u8]) -> RawResponse {
        let mut client = self.connect();
        client.send(raw);
        client.response()
    }

    /// A one-off request with the usual headers; `body` adds Content-Length.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> RawResponse {
        let mut client = self.connect();
        client.request(method, target, headers, body)
    }

    /// Stops the server and waits for every worker.
    pub fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().expect("clean shutdown");
        }
    }
}

/// One client connection, reading through a `BufReader` so that pipelined
/// responses are not lost between reads.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Writes raw bytes; a write the server refused (it already closed) is ignored.
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.reader.get_mut().write_all(bytes);
    }

    /// Sends a request with `Host` and, when there is a body, `Content-Length`,
    /// then reads the response.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> RawResponse {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        self.send(&bytes);
        self.response_to(method)
    }

    /// Reads one response to a request that was not HEAD.
    pub fn response(&mut self) -> RawResponse {
        self.response_to("GET")
    }

    /// Reads one response; after HEAD there is no body whatever Content-Length says.
    pub fn response_to(&mut self, method: &str) -> RawResponse {
        read_response(&mut self.reader, method == "HEAD").expect("a well-formed response")
    }

    /// Whether the server has closed the connection: a read returns end of
    /// stream (or a reset), not data and not a timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.reader.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Ends the client's side of the conversation.
    pub fn finish_writing(&self) {
        let _ = self.reader.get_ref().shutdown(Shutdown::Write);
    }

    pub fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.reader
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// Whether the response announced that the connection closes.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// Checks an RFC 9457 problem body and returns its detail.
    pub fn problem_detail(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let problem = self.json();
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["status"], self.status);
        assert!(problem["title"].is_string());
        problem["detail"].as_str().expect("a detail").to_string()
    }
}

/// Reads a status line, headers and a Content-Length body. Interim 1xx
/// responses are returned like any other, so a test can see `100 Continue`.
pub fn read_response(
    reader: &mut impl BufRead,
    head_request: bool,
) -> std::io::Result<RawResponse> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed before a response",
        ));
    }
    let status_line = line.trim_end_matches("\r\n").to_string();
    assert!(
        line.ends_with("\r\n"),
        "status line must end in CRLF: {line:?}"
    );
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let reason = parts.next().unwrap_or("");
    assert!(!reason.is_empty(), "a reason phrase: {status_line}");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        assert!(
            line.ends_with("\r\n"),
            "header line must end in CRLF: {line:?}"
        );
        let trimmed = line.trim_end_matches("\r\n");
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(": ").expect("name: value");
        headers.push((name.to_string(), value.to_string()));
    }
    let mut response = RawResponse {
        status_line,
        status,
        headers,
        body: Vec::new(),
    };
    let no_body = head_request || status < 200 || status == 204 || status == 304;
    if !no_body {
        let length: usize = response
            .header("content-length")
            .expect("every response with a body has Content-Length")
            .parse()
            .expect("a numeric Content-Length");
        response.body = vec![0; length];
        reader.read_exact(&mut response.body)?;
    }
    Ok(response)
}
