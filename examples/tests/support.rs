//! What every step's tests share: start the step's server in this process
//! on 127.0.0.1 port 0, talk to it over real sockets in raw bytes (or, on
//! the connections steps 09 and 10 keep open, with httpdb's own client),
//! and replay the step's transcripts from docs/LEARN.md.
//!
//! A test's server takes exactly the connections the test makes
//! (`incoming().take(n)`, in effect) and then returns, so every test stops
//! the server it started: `Server::finish` waits for that, within
//! `PATIENCE`. Every socket has a read timeout, so a server that fails to
//! answer fails the test instead of hanging it.

#![allow(dead_code)] // each step's tests use some of it

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use httpdb::client::{Client, is_timeout};

/// The longest a test waits for anything that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test watches a client that must not be answered. Only a
/// lower bound: a slow machine cannot make a stuck server look answered.
pub const STUCK: Duration = Duration::from_millis(300);

/// The connections a step's `serve` gets in a test.
pub type Incoming = Box<dyn Iterator<Item = io::Result<TcpStream>> + Send>;

/// A step's server, running on a thread of this test.
pub struct Server {
    pub addr: SocketAddr,
    done: Receiver<io::Result<String>>,
}

/// Starts `serve` on a new listener; it is given the first `connections`
/// connections, and returns when it has served them.
pub fn start(
    connections: usize,
    serve: impl FnOnce(Incoming) -> io::Result<()> + Send + 'static,
) -> Server {
    start_printing(connections, |incoming, _| serve(incoming))
}

/// `start` for a server that prints what it sees (step 01); `finish`
/// returns what it printed.
pub fn start_printing(
    connections: usize,
    serve: impl FnOnce(Incoming, &mut Vec<u8>) -> io::Result<()> + Send + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let incoming: Incoming =
        Box::new((0..connections).map(move |_| listener.accept().map(|(stream, _)| stream)));
    let (sender, done) = mpsc::channel();
    thread::spawn(move || {
        let mut printed = Vec::new();
        let result = serve(incoming, &mut printed);
        let printed = String::from_utf8_lossy(&printed).into_owned();
        let _ = sender.send(result.map(|()| printed));
    });
    Server { addr, done }
}

impl Server {
    /// A new connection to the server, with a read timeout.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        stream
    }

    /// A new connection through httpdb's client, for many requests on it.
    pub fn client(&self) -> Client {
        Client::connect_to(self.addr, PATIENCE).expect("connect")
    }

    /// Sends `request` on a new connection and returns all the server sends
    /// back until it closes the connection.
    pub fn exchange(&self, request: &[u8]) -> String {
        let stream = self.connect();
        send(&stream, request);
        text(&read_to_close(&stream))
    }

    /// Waits for the server to finish its connections and return; gives
    /// what it printed.
    pub fn finish(self) -> String {
        match self.done.recv_timeout(PATIENCE) {
            Ok(Ok(printed)) => printed,
            Ok(Err(error)) => panic!("the server failed: {error}"),
            Err(_) => panic!("the server did not finish: a connection is still open"),
        }
    }
}

impl Server {
    /// Sends each request on a new connection; asserts the status of each
    /// answer (`"400"`); returns the answers.
    pub fn assert_statuses(&self, cases: &[(&[u8], &str)]) -> Vec<String> {
        let answers = cases.iter().map(|(request, status)| {
            let answer = self.exchange(request);
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status} ")),
                "{answer}"
            );
            answer
        });
        answers.collect()
    }
}

/// Requests that step 03's parser gets wrong, sent again to the steps
/// that get them right.
pub mod post {
    /// A head with Content-Length 5, and the body in a second write.
    pub const HEAD_THEN_BODY: [&[u8]; 2] = [
        b"POST /k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
        b"hello",
    ];
    /// A JSON body of 24 bytes, written with CRLFs.
    pub const JSON_WITH_CRLF: &[u8] = b"POST /json HTTP/1.1\r\nHost: h\r\n\
        Content-Type: application/json\r\nContent-Length: 24\r\n\r\n\
        {\r\n  \"hello\": \"world\"\r\n}";
    /// A body of three bytes that are not UTF-8.
    pub const BINARY: &[u8] =
        b"POST /k HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n\xff\x00\x80";

    /// A request of 2 KB: a body of 2000 `a`s.
    pub fn two_kilobytes() -> Vec<u8> {
        let mut request = b"POST /k HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n".to_vec();
        request.extend([b'a'; 2000]);
        request
    }
}

pub fn send(mut stream: &TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("send");
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything the server sends until it closes the connection. A reset
/// ends it too, keeping what arrived before; a timeout fails the test.
pub fn read_to_close(mut stream: &TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if is_timeout(&e) => {
                panic!(
                    "the server neither answered nor closed: {}",
                    text(&received)
                )
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return received,
        }
    }
}

/// Reads all the server sends on `stream` until it closes, and asserts that
/// it is an answer, `200 OK`.
pub fn assert_answered(stream: &TcpStream) {
    let answer = text(&read_to_close(stream));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

/// Asserts that nothing arrives on `stream` for `STUCK`: the server has not
/// answered, and has not closed the connection either.
pub fn assert_unanswered(stream: &TcpStream) {
    assert_unanswered_for(stream, STUCK);
}

/// `assert_unanswered`, watching for `wait`.
pub fn assert_unanswered_for(mut stream: &TcpStream, wait: Duration) {
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut byte = [0];
    match stream.read(&mut byte) {
        Err(e) if is_timeout(&e) => {}
        Ok(0) => panic!("the server closed the connection instead of leaving it waiting"),
        other => panic!("the server answered, or failed, when it should be stuck: {other:?}"),
    }
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
}

/// How many status lines (`HTTP/1.x NNN`) `received` holds.
pub fn responses(received: &str) -> usize {
    received
        .lines()
        .filter(|line| line.starts_with("HTTP/1."))
        .count()
}

// ---------------------------------------------------------------------------
// Transcripts. docs/LEARN.md shows, for each step, console blocks a reader
// can type. Each `$` line is a command and the lines after it, up to the
// next `$` line, are what it prints. A step's transcripts are the console
// blocks in the section whose heading names the step (`04_read_request`).
// The commands this replays, exactly as a shell would run them:
//
//   $ cargo run --example NN_name          the server: prints `listening on
//                                          http://127.0.0.1:8080`, then (step 01)
//                                          what it sees
//   $ printf 'BYTES' | nc 127.0.0.1 8080   one connection: send BYTES, print
//                                          all that comes back until the
//                                          server closes
//   $ (printf 'A'; sleep N; printf 'B') | nc 127.0.0.1 8080
//                                          send A, wait N seconds (or less,
//                                          if the server closes), send B
//   $ curl ARGS                            the real curl, one connection
//
// `printf` takes `\r`, `\n`, `\\`, `\xHH` and `%%`. A comment after a
// command that says `Ctrl-C` means: send, then close without reading (the
// reader stops a client that waits forever). Before comparing, CRLF becomes
// LF, every `Date:` value becomes `<date>`, and the test server's real
// port is written as 8080.
// ---------------------------------------------------------------------------

/// Replays every transcript of `step` against one server from `start`,
/// given as many connections as the transcripts make, and fails on the
/// first difference.
pub fn replay_transcripts(step: &str, start: impl FnOnce(usize) -> Server) {
    let commands = transcript_commands(step);
    assert!(
        !commands.is_empty(),
        "docs/LEARN.md shows no transcript for {step}"
    );
    let clients = commands.iter().filter(|c| !c.is_server()).count();
    let server = start(clients);
    let port = server.addr.port();
    let mut server_blocks = Vec::new();
    for command in &commands {
        if command.is_server() {
            server_blocks.push(command);
            continue;
        }
        let printed = command.run(server.addr);
        compare(command, &normalise(&printed, port));
    }
    let printed = server.finish();
    for command in server_blocks {
        let banner = format!("listening on http://{}", command.server_addr(step));
        check_main_prints_its_address(step);
        compare(command, &format!("{banner}\n{printed}"));
    }
}

/// One `$` line of a transcript and the lines shown after it.
pub struct Shown {
    line: usize,
    command: String,
    comment: String,
    output: String,
}

impl Shown {
    fn is_server(&self) -> bool {
        self.command.starts_with("cargo run --example ")
    }

    fn server_addr(&self, step: &str) -> String {
        let rest = self.command.trim_start_matches("cargo run --example ");
        let mut words = rest.split_whitespace();
        assert_eq!(
            words.next(),
            Some(step),
            "docs/LEARN.md:{}: runs another step",
            self.line
        );
        match (words.next(), words.next()) {
            (None, _) => "127.0.0.1:8080".to_string(),
            (Some("--"), Some(addr)) => addr.to_string(),
            _ => panic!(
                "docs/LEARN.md:{}: cannot read `{}`",
                self.line, self.command
            ),
        }
    }

    /// Runs a client command against `addr`; returns what it prints.
    fn run(&self, addr: SocketAddr) -> String {
        if self.command.starts_with("curl ") {
            return self.run_curl(addr);
        }
        let Some(script) = self.command.strip_suffix(" | nc 127.0.0.1 8080") else {
            panic!(
                "docs/LEARN.md:{}: cannot replay `{}`",
                self.line, self.command
            );
        };
        let script = script.trim_start_matches('(').trim_end_matches(')');
        let stream = TcpStream::connect(addr).expect("connect");
        let mut received = Vec::new();
        for step in split_outside_quotes(script, "; ") {
            if let Some(format) = step
                .strip_prefix("printf '")
                .and_then(|s| s.strip_suffix('\''))
            {
                // The server may have closed already; a shell's printf would
                // die of SIGPIPE just as quietly.
                let _ = (&stream).write_all(&printf(format, self.line));
            } else if let Some(seconds) = step.strip_prefix("sleep ") {
                let seconds: f64 = seconds.parse().expect("sleep N");
                read_until(&stream, Duration::from_secs_f64(seconds), &mut received);
            } else {
                panic!("docs/LEARN.md:{}: cannot replay `{step}`", self.line);
            }
        }
        if self.comment.contains("Ctrl-C") {
            return text(&received);
        }
        received.extend(read_to_close(&stream));
        text(&received)
    }

    fn run_curl(&self, addr: SocketAddr) -> String {
        let args = shell_words(&self.command["curl ".len()..], self.line);
        let args = args
            .iter()
            .map(|arg| arg.replace("127.0.0.1:8080", &addr.to_string()));
        let output = Command::new("curl")
            .args(args)
            .output()
            .expect("run curl (CI installs it)");
        text(&output.stdout)
    }
}

/// Reads into `received` until the server closes or `wait` has passed.
fn read_until(mut stream: &TcpStream, wait: Duration, received: &mut Vec<u8>) {
    let until = Instant::now() + wait;
    let mut buffer = [0; 4096];
    while let Some(left) = until
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
    {
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if is_timeout(&e) => break,
            Err(_) => break,
        }
    }
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
}

fn compare(shown: &Shown, actual: &str) {
    let expected = normalise(&shown.output, 0);
    let actual = actual.trim_end_matches('\n');
    assert!(
        expected == actual,
        "docs/LEARN.md:{}: `{}` printed something else.\n--- the guide shows:\n{expected}\n--- it printed:\n{actual}\n---",
        shown.line,
        shown.command
    );
}

/// CRLF to LF, `Date:` values to `<date>`, the test server's port to 8080.
fn normalise(text: &str, port: u16) -> String {
    let text = text.replace("\r\n", "\n");
    let text = match port {
        0 => text,
        port => text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:8080"),
    };
    let lines = text.lines().map(|line| match line.split_once(": ") {
        Some((name, _)) if name.eq_ignore_ascii_case("date") => "Date: <date>".to_string(),
        _ => line.to_string(),
    });
    lines
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end_matches('\n')
        .to_string()
}

/// The console blocks of the section of docs/LEARN.md that names `step`.
pub fn transcript_commands(step: &str) -> Vec<Shown> {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LEARN.md"))
        .expect("read docs/LEARN.md");
    let mut in_section = false;
    let mut in_console = false;
    let mut shown: Vec<Shown> = Vec::new();
    for (index, line) in guide.lines().enumerate() {
        if line.starts_with("## ") {
            in_section = line.contains(&format!("`{step}`"));
        } else if line.starts_with("```") {
            in_console = in_section && !in_console && line == "```console";
        } else if in_console {
            if let Some(command) = line.strip_prefix("$ ") {
                let (command, comment) = match split_outside_quotes(command, " # ").as_slice() {
                    [command] => (command.to_string(), String::new()),
                    [command, comment] => (command.trim_end().to_string(), comment.to_string()),
                    _ => panic!("docs/LEARN.md:{}: two comments", index + 1),
                };
                shown.push(Shown {
                    line: index + 1,
                    command,
                    comment,
                    output: String::new(),
                });
            } else if let Some(last) = shown.last_mut() {
                last.output.push_str(line);
                last.output.push('\n');
            } else {
                panic!("docs/LEARN.md:{}: output before any command", index + 1);
            }
        }
    }
    shown
}

/// Splits `text` at each `separator` that is not inside single quotes.
fn split_outside_quotes<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in text.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && i >= start && text[i..].starts_with(separator) {
            parts.push(&text[start..i]);
            start = i + separator.len();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The bytes `printf FORMAT` writes, for the escapes the guide uses.
fn printf(format: &str, line: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('r') => out.push(b'\r'),
                Some('n') => out.push(b'\n'),
                Some('\\') => out.push(b'\\'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).expect("\\xHH"));
                }
                other => panic!("docs/LEARN.md:{line}: printf escape \\{other:?} is not replayed"),
            },
            '%' => match chars.next() {
                Some('%') => out.push(b'%'),
                other => panic!("docs/LEARN.md:{line}: printf %{other:?} is not replayed"),
            },
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// Words as a shell splits them: at spaces, but not inside '…' or "…".
fn shell_words(command: &str, line: usize) -> Vec<String> {
    let (mut words, mut word, mut quote) = (Vec::new(), None::<String>, None);
    for c in command.chars() {
        match (quote, c) {
            (None, ' ') => words.extend(word.take()),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "docs/LEARN.md:{line}: an unclosed quote");
    words.extend(word);
    words
}

/// Every step's `main` binds the address given on the command line, or
/// 127.0.0.1:8080, and prints it first: the guide's `cargo run` lines show
/// that banner, and these are the lines that print it.
fn check_main_prints_its_address(step: &str) {
    let path = format!("{}/examples/{step}.rs", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).expect("read the step");
    for line in [
        r#"let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;"#,
        r#"println!("listening on http://{}", listener.local_addr()?);"#,
    ] {
        assert!(source.contains(line), "{path}: main no longer has `{line}`");
    }
}
