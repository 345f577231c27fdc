//! A socket reader with a deadline for a whole exchange, not for each read.
//!
//! `TcpStream::set_read_timeout` bounds one `read` call. A client that sends
//! one byte every nine seconds never trips a ten-second timeout, yet holds a
//! worker forever (the slowloris attack). So the connection sets a deadline
//! — "the head must be here by 12:00:10" — and before every read this
//! wrapper sets the socket timeout to the time that is left. Once the
//! deadline has passed, reads fail with `TimedOut`, which the parser turns
//! into 408.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A `TcpStream` whose reads fail once a deadline has passed.
#[derive(Debug)]
pub struct DeadlineStream {
    stream: TcpStream,
    deadline: Option<Instant>,
    /// The read timeout last set on the socket, to skip the `setsockopt`
    /// call when it would not change.
    socket_timeout: Option<Duration>,
}

impl DeadlineStream {
    pub fn new(stream: TcpStream) -> DeadlineStream {
        DeadlineStream {
            stream,
            deadline: None,
            socket_timeout: None,
        }
    }

    /// Reads after `deadline` fail with `TimedOut`; `None` waits forever.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let timeout = match self.deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // Whole milliseconds, rounded up: a read never wakes before
                // the deadline, and reads with the same time left (the idle
                // poll) reuse the socket's timeout without a syscall.
                Some(Duration::from_millis(left.as_micros().div_ceil(1000) as u64))
            }
        };
        if timeout != self.socket_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.socket_timeout = timeout;
        }
        self.stream.read(buf)
    }
}

/// Whether a read failed because its timeout ran out: `WouldBlock` on Unix,
/// `TimedOut` on Windows and from [`DeadlineStream`] itself.
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
