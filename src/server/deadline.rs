//! A socket with deadlines for a whole exchange, not for each call.
//!
//! `TcpStream::set_read_timeout` bounds one `read` call. A client that sends
//! one byte every nine seconds never trips a ten-second timeout, yet holds a
//! worker forever (the slowloris attack); one that reads a byte every nine
//! seconds does the same to `write`. So the connection sets a deadline —
//! "the head must be here by 12:00:10", "the response must be gone by
//! 12:00:25" — and before every call this wrapper sets the socket timeout to
//! the time that is left. A call that runs out of that time fails as the
//! socket's timeout makes it (`WouldBlock` on Unix), and once the deadline
//! has passed, calls fail at once with `TimedOut`: the parser turns either
//! into 408, the writer into a close.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `TcpStream` whose reads and writes fail once their deadline has passed.
///
/// The socket is shared (`Arc`) with the registry of idle connections
/// (`idle.rs`), which may shut its read side down to take the worker back.
#[derive(Debug)]
pub struct DeadlineStream {
    stream: Arc<TcpStream>,
    /// The read side was shut down by a reclaim: reads still return what had
    /// arrived, but end-of-stream no longer means the client closed.
    reclaimed: bool,
    read_deadline: Option<Instant>,
    write_deadline: Option<Instant>,
    /// The timeouts last set on the socket, to skip the `setsockopt` call
    /// when they would not change.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl DeadlineStream {
    pub fn new(stream: TcpStream) -> DeadlineStream {
        DeadlineStream {
            stream: Arc::new(stream),
            reclaimed: false,
            read_deadline: None,
            write_deadline: None,
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Reads after `deadline` fail with `TimedOut`; `None` waits forever.
    pub fn set_read_deadline(&mut self, deadline: Option<Instant>) {
        self.read_deadline = deadline;
    }

    /// Writes after `deadline` fail with `TimedOut`; `None` waits forever.
    pub fn set_write_deadline(&mut self, deadline: Option<Instant>) {
        self.write_deadline = deadline;
    }

    /// The socket, shared.
    pub fn stream(&self) -> &Arc<TcpStream> {
        &self.stream
    }

    /// From now on the socket's read side is shut down (`idle.rs`): a read
    /// that finds nothing more fails with `ConnectionAborted` instead of
    /// returning end-of-stream, so that a request cut short by the reclaim
    /// is answered as the server's doing (503), not as a client that left.
    pub fn set_reclaimed(&mut self) {
        self.reclaimed = true;
    }

    fn before_read(&mut self) -> io::Result<()> {
        let timeout = time_left(self.read_deadline)?;
        if timeout != self.read_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    fn before_write(&mut self) -> io::Result<()> {
        let timeout = time_left(self.write_deadline)?;
        if timeout != self.write_timeout {
            self.stream.set_write_timeout(timeout)?;
            self.write_timeout = timeout;
        }
        Ok(())
    }
}

/// The socket timeout that ends a call at `deadline`: whole milliseconds,
/// rounded up, so a call never gives up before the deadline, and calls with
/// the same time left (each idle wait starts with the whole idle timeout)
/// reuse the socket's setting without a syscall. `TimedOut` once the
/// deadline has passed.
fn time_left(deadline: Option<Instant>) -> io::Result<Option<Duration>> {
    let Some(deadline) = deadline else {
        return Ok(None);
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    Ok(Some(Duration::from_millis(
        left.as_micros().div_ceil(1000) as u64
    )))
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.before_read()?;
        match (&*self.stream).read(buf)? {
            0 if self.reclaimed && !buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the connection was reclaimed for another client",
            )),
            read => Ok(read),
        }
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.before_write()?;
        (&*self.stream).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.before_write()?;
        (&*self.stream).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.stream).flush()
    }
}
