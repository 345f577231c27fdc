//! A deadline for a whole request. Step 07 builds it; steps 08 to 10 read
//! every request through it.
//!
//! `set_read_timeout` limits each `read` call, not the request: a client
//! that sends one byte every few seconds never trips it and can hold its
//! worker forever. `Deadline` wraps the connection and, before every read,
//! sets the timeout to what is left until one fixed instant, `until`, so the
//! whole request has to arrive by then, however it trickles in. A read past
//! the deadline fails at once, and the request is answered `408 Request
//! Timeout` (RFC 9110 §15.5.9).

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::time::Instant;

pub struct Deadline<'a> {
    stream: &'a TcpStream,
    /// When reading must be done. The connection loop of step 09 moves it
    /// for each request, and for the idle wait between requests.
    pub until: Instant,
}

impl<'a> Deadline<'a> {
    pub fn new(stream: &'a TcpStream, until: Instant) -> Deadline<'a> {
        Deadline { stream, until }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}
