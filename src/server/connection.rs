//! One connection, from accept to close, on one worker thread.
//!
//! The loop for each request:
//! 1. wait for its first byte, asleep in `read` until it comes, the idle
//!    timeout ends, or the connection is reclaimed for a newcomer (`idle.rs`;
//!    RFC 9112 §9.5 lets a server close an idle connection at any time);
//! 2. read the head under a deadline, then ask the handler whether to go on;
//! 3. send `100 Continue` if the client waits for it (RFC 9110 §10.1.1);
//! 4. read the body under a fresh deadline;
//! 5. call the handler and write its response;
//! 6. keep the connection (RFC 9112 §9.3) or close it.
//!
//! The same `BufReader` serves every request, so bytes of a pipelined next
//! request that arrived with this one stay buffered for it (RFC 9112 §9.3.2).
//! After a malformed request the byte stream cannot be trusted, so the
//! connection is answered and closed.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::http::{
    Handler, HttpError, Method, Persistence, Request, RequestHead, Response, Status, read_body,
    read_head, write_continue, write_response,
};

use super::access_log::Record;
use super::deadline::DeadlineStream;
use super::idle::Left;
use super::options::KEEP_ALIVE_GRACE;
use super::shared::Shared;

/// How a wait for more bytes ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Bytes arrived.
    Arrived,
    /// The client closed, the connection failed, or (after a reclaim) the
    /// read side has nothing more to give.
    Ended,
    /// The deadline passed first.
    TimedOut,
}

/// How long to keep reading (and discarding) after an error response before
/// closing, so that the client reads the response instead of a reset.
const LINGER: Duration = Duration::from_secs(1);

/// Bytes the connection reads from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;

/// What the connection remembers of a request after handing it to the handler.
struct Answering {
    omit_body: bool,
    request_line: Option<String>,
}

pub(super) struct Connection<'a, H: Handler> {
    reader: BufReader<DeadlineStream>,
    peer: SocketAddr,
    shared: &'a Shared<H>,
    /// The buffer each response head is formatted into, reused.
    scratch: Vec<u8>,
    /// The connection was reclaimed while idle (`idle.rs`): what had arrived
    /// is answered, then it closes.
    reclaimed: bool,
}

impl<'a, H: Handler> Connection<'a, H> {
    pub(super) fn new(stream: TcpStream, peer: SocketAddr, shared: &'a Shared<H>) -> Self {
        // A response goes out in one write (or one writev), with nothing
        // after it to wait for; Nagle's algorithm would only hold its last
        // segment back until the client's ACK.
        let _ = stream.set_nodelay(true);
        shared.idle.connection_started(&shared.stats);
        Connection {
            reader: BufReader::with_capacity(READ_BUFFER, DeadlineStream::new(stream)),
            peer,
            shared,
            scratch: Vec::with_capacity(512),
            reclaimed: false,
        }
    }

    /// Serves requests until the connection closes.
    pub(super) fn run(mut self) {
        loop {
            let after = if self.wait_for_request() {
                self.serve_one()
            } else {
                Persistence::Close
            };
            match after {
                Persistence::KeepOpen(_) => continue,
                Persistence::Close => return,
                Persistence::CloseLingering => return self.linger(),
            }
        }
    }

    /// Waits for the first byte of the next request. `false` means close
    /// instead: the client closed, stayed idle too long, the server is
    /// stopping, or the connection was reclaimed with nothing to answer.
    ///
    /// The wait has two parts. For [`KEEP_ALIVE_GRACE`] the client is taken
    /// to be in the middle of a conversation, about to send its next
    /// request, and the connection is not given up: closing it now would
    /// race that request. After that it is idle, and the worker sleeps in
    /// `read` as one of the idle connections a newcomer may reclaim
    /// (`idle.rs`), until a request comes or the idle timeout ends.
    fn wait_for_request(&mut self) -> bool {
        let now = Instant::now();
        let idle_deadline = now + self.shared.options.idle_timeout;
        let grace_deadline = (now + KEEP_ALIVE_GRACE).min(idle_deadline);
        let stats = &self.shared.stats;
        stats.worker_idle();
        let ready = loop {
            // Bytes of a pipelined request may be buffered already; empty
            // lines between requests count as idle time.
            if self.skip_empty_lines() {
                break true;
            }
            if self.reclaimed {
                break false;
            }
            if Instant::now() < grace_deadline {
                match self.read_more(grace_deadline) {
                    Wait::Arrived => continue,
                    Wait::Ended => break false,
                    Wait::TimedOut => {}
                }
            }
            if Instant::now() >= idle_deadline {
                break false;
            }
            let stream = Arc::clone(self.reader.get_ref().stream());
            let Some(ticket) = self.shared.idle.enter(&stream, now, stats) else {
                // The server is stopping, or a newcomer needs this worker.
                break false;
            };
            let read = self.read_more(idle_deadline);
            if self.shared.idle.leave(ticket, stats) == Left::Reclaimed {
                self.reclaimed = true;
                self.reader.get_mut().set_reclaimed();
            }
            if read != Wait::Arrived {
                break false;
            }
        };
        stats.worker_active();
        ready
    }

    /// Waits until more bytes arrive, the connection ends, or `deadline`.
    fn read_more(&mut self, deadline: Instant) -> Wait {
        self.reader.get_mut().set_read_deadline(Some(deadline));
        loop {
            return match self.reader.fill_buf() {
                Ok([]) => Wait::Ended,
                Ok(_) => Wait::Arrived,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    Wait::TimedOut
                }
                // A reset, or (after a reclaim) a read side with nothing more.
                Err(_) => Wait::Ended,
            };
        }
    }

    /// Consumes the empty lines (CRLF or LF) at the front of the buffer,
    /// which some clients send after a body (RFC 9112 §2.2), so that they
    /// count as idle time rather than as the start of a request. Returns
    /// whether a byte of the next request is buffered.
    fn skip_empty_lines(&mut self) -> bool {
        let buffered = self.reader.buffer();
        let mut empty = 0;
        loop {
            match buffered[empty..] {
                [b'\n', ..] => empty += 1,
                [b'\r', b'\n', ..] => empty += 2,
                _ => break,
            }
        }
        self.reader.consume(empty);
        !self.reader.buffer().is_empty()
    }

    /// Reads one request and answers it; says what happens to the
    /// connection next.
    fn serve_one(&mut self) -> Persistence {
        let shared = self.shared;
        let options = &shared.options;
        self.start_read_deadline();
        let head = match read_head(&mut self.reader, &options.limits) {
            Ok(Some(head)) => head,
            Ok(None) => return Persistence::Close,
            Err(error) => return self.refuse(error, None),
        };
        let has_body = head.framing().has_body();
        let accepted = match shared.handler.check_head(&head) {
            Ok(accepted) => accepted,
            Err(response) => {
                // The body was not read, so the connection cannot carry another request.
                let after = if has_body {
                    Persistence::CloseLingering
                } else {
                    self.persistence_after(&head)
                };
                let answering = self.answering(&head);
                return self.respond(answering, &response, after);
            }
        };
        if has_body {
            // After a reclaim no read waits for bytes still to come
            // (`idle.rs`), so a body sent on invitation would not be read:
            // the body is read only as far as it had arrived, and if it had
            // not, the head gets its final answer (503) without an
            // invitation (RFC 9110 §10.1.1 lets a server answer instead).
            if head.expects_continue() && !self.reclaimed {
                self.start_write_deadline(0);
                if write_continue(self.reader.get_mut()).is_err() {
                    return Persistence::Close;
                }
            }
            self.start_read_deadline();
        }
        let mut reservation = shared.body_budget.reservation();
        let body = match read_body(
            &mut self.reader,
            head.framing(),
            options.limits.max_body,
            &mut |size| reservation.grow_to(size),
        ) {
            Ok(body) => body,
            Err(error) => return self.refuse(error, Some(&head)),
        };
        let answering = self.answering(&head);
        let after = self.persistence_after(&head);
        let handler = &shared.handler;
        let request = Request { head, body };
        let handled = catch_unwind(AssertUnwindSafe(|| handler.handle(accepted, request)));
        // The body is stored or dropped by now: its memory is no longer the
        // request's, and the next request may have it.
        drop(reservation);
        match handled {
            Ok(response) => self.respond(answering, &response, after),
            Err(_) => {
                eprintln!("httpdb: a request handler panicked; answering 500");
                let response = Response::problem(
                    Status::INTERNAL_SERVER_ERROR,
                    "the server failed while answering this request",
                );
                self.respond(answering, &response, Persistence::Close)
            }
        }
    }

    /// The head, and then the body, must arrive within `--read-timeout`.
    fn start_read_deadline(&mut self) {
        let deadline = Instant::now() + self.shared.options.read_timeout;
        self.reader.get_mut().set_read_deadline(Some(deadline));
    }

    /// A response must be taken by the client within `--read-timeout`, plus
    /// a second per `min_send_rate` bytes of body: a client that stops
    /// reading, or reads a byte now and then, cannot hold a worker longer.
    fn start_write_deadline(&mut self, body_len: u64) {
        let options = &self.shared.options;
        let allowance =
            Duration::from_secs_f64(body_len as f64 / options.min_send_rate.max(1) as f64);
        let deadline = Instant::now() + options.read_timeout + allowance;
        self.reader.get_mut().set_write_deadline(Some(deadline));
    }

    /// What to do after answering this request: keep the connection if the
    /// client asked, unless the server is stopping or a connection is
    /// waiting and no worker is free (then this one makes room, RFC 9112
    /// §9.5). If more of the client's bytes are already here, it may be
    /// pipelining, so the close lingers rather than resetting what it sent.
    fn persistence_after(&self, head: &RequestHead) -> Persistence {
        let shared = self.shared;
        let make_room =
            self.reclaimed || shared.idle.worker_needed(&shared.stats) || shared.is_shutting_down();
        match head.persistence() {
            keep @ Persistence::KeepOpen(_) if !make_room => keep,
            _ => Persistence::close(!self.reader.buffer().is_empty()),
        }
    }

    fn answering(&self, head: &RequestHead) -> Answering {
        Answering {
            omit_body: *head.method() == Method::Head,
            request_line: self
                .shared
                .access_log
                .is_some()
                .then(|| head.request_line().to_owned()),
        }
    }

    /// Answers a request that could not be read, then closes.
    fn refuse(&mut self, error: HttpError, head: Option<&RequestHead>) -> Persistence {
        let Some(status) = error.status() else {
            return Persistence::Close;
        };
        let mut response = Response::problem(status, error.to_string());
        if status == Status::SERVICE_UNAVAILABLE {
            response = response.with_header("Retry-After", "1");
        }
        let answering = match head {
            Some(head) => self.answering(head),
            None => Answering {
                omit_body: false,
                request_line: None,
            },
        };
        self.respond(answering, &response, Persistence::CloseLingering)
    }

    /// Writes the response with the `Connection` header that `after` calls
    /// for; a response that cannot be written closes the connection.
    fn respond(
        &mut self,
        answering: Answering,
        response: &Response,
        after: Persistence,
    ) -> Persistence {
        // Counted before it is sent, so a client that has read this response
        // and then asks /_stats finds it counted.
        self.shared.stats.response_sent(response.status());
        let body_len = if answering.omit_body {
            0
        } else {
            response.body_len()
        };
        self.start_write_deadline(body_len);
        let written = write_response(
            self.reader.get_mut(),
            &mut self.scratch,
            response,
            answering.omit_body,
            after,
        );
        if let Some(log) = &self.shared.access_log {
            log.record(Record {
                time: SystemTime::now(),
                peer: self.peer.ip(),
                request_line: answering.request_line.unwrap_or_else(|| "-".into()),
                status: response.status().code(),
                body_bytes: *written.as_ref().unwrap_or(&0),
            });
        }
        match written {
            Ok(_) => after,
            Err(_) => Persistence::Close,
        }
    }

    /// Half-closes the connection and reads until the client closes its side
    /// or [`LINGER`] passes, discarding what arrives.
    fn linger(mut self) {
        let stream = self.reader.get_ref().stream();
        if stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER;
        let inner = self.reader.get_mut();
        inner.set_read_deadline(Some(deadline));
        let mut sink = [0u8; 4096];
        while let Ok(read) = inner.read(&mut sink) {
            if read == 0 {
                break;
            }
        }
    }
}

impl<H: Handler> Drop for Connection<'_, H> {
    /// The worker is free again, and the reclaim it was part of, if any, is
    /// over: one change to the counts (`IdleConnections::connection_finished`).
    fn drop(&mut self) {
        self.shared
            .idle
            .connection_finished(self.reclaimed, &self.shared.stats);
    }
}
