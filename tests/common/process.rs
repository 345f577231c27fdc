//! The `httpdb` binary as a child process: started, read from, killed.
//!
//! Tests that need the real process (the command line, `kill -9`, resource
//! limits) start it here. The first line it prints, `listening on
//! http://HOST:PORT`, gives the address; its other stdout and stderr lines
//! arrive on channels, so a test can wait for one with a timeout instead of
//! sleeping.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;

use super::{Client, PATIENCE};

/// A running `httpdb`, killed when dropped.
pub struct Process {
    child: Child,
    /// `127.0.0.1:PORT`, from the first line it printed.
    pub addr: String,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Process {
    /// A command for the binary built with these tests.
    pub fn command() -> Command {
        Command::new(env!("CARGO_BIN_EXE_httpdb"))
    }

    /// Runs `command` (the binary, or a shell that execs it) and waits for
    /// its first line.
    pub fn start(mut command: Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start httpdb");
        let stdout = lines_of(child.stdout.take().expect("stdout"));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        let first = match stdout.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(_) => {
                let errors: Vec<String> = stderr.try_iter().collect();
                panic!("httpdb printed no first line; stderr: {errors:?}");
            }
        };
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        Process {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new connection to it.
    pub fn connect(&self) -> Client {
        Client::connect(&self.addr, PATIENCE)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line, waiting at most [`PATIENCE`].
    pub fn next_stdout_line(&self) -> Option<String> {
        self.stdout.recv_timeout(PATIENCE).ok()
    }

    /// The next stderr line, waiting at most [`PATIENCE`].
    pub fn next_stderr_line(&self) -> Option<String> {
        self.stderr.recv_timeout(PATIENCE).ok()
    }

    /// `kill -9`: no chance to flush or sync anything. Returns the rest of
    /// what the process printed: stdout lines, and stderr as one text.
    pub fn kill_9(mut self) -> (Vec<String>, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stdout = self.stdout.iter().collect();
        let stderr: Vec<String> = self.stderr.iter().collect();
        (stdout, stderr.join("\n"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of a pipe, read on a thread of their own; the channel ends when
/// the pipe does.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}
