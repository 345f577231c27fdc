//! The access log: one line per response on stdout, in the Common Log Format
//! that web servers have written since NCSA httpd:
//!
//! ```text
//! 127.0.0.1 - - [23/Nov/2026:23:03:50 +0000] "GET /hello HTTP/1.1" 200 17
//! ```
//!
//! Workers must not wait on stdout (a slow terminal or a full pipe would
//! stall every request), so they hand a record to a bounded channel and go
//! on. One writer thread formats the records and writes each batch it finds
//! waiting with a single `write`. If the channel is full, the line is dropped
//! and counted in `/_stats` rather than slowing the server down.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::{self, JoinHandle};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::stats::ServerStats;

/// Lines that may wait for the writer before new ones are dropped.
const QUEUE_LINES: usize = 64 * 1024;

/// What one access log line says.
#[derive(Debug)]
pub struct Record {
    pub time: SystemTime,
    pub peer: IpAddr,
    /// `GET /hello HTTP/1.1`, or `-` when no request line could be read.
    pub request_line: String,
    pub status: u16,
    pub body_bytes: u64,
}

/// The sending end, shared by the workers.
#[derive(Debug)]
pub struct AccessLog {
    sender: Option<SyncSender<Record>>,
    writer: Option<JoinHandle<()>>,
    stats: Arc<ServerStats>,
}

impl AccessLog {
    /// Starts the writer thread.
    pub fn start(stats: Arc<ServerStats>) -> io::Result<AccessLog> {
        let (sender, receiver) = sync_channel(QUEUE_LINES);
        let writer = thread::Builder::new()
            .name("httpdb-access-log".into())
            .spawn(move || write_lines(receiver))?;
        Ok(AccessLog {
            sender: Some(sender),
            writer: Some(writer),
            stats,
        })
    }

    /// Queues a line without waiting.
    pub fn record(&self, record: Record) {
        if let Some(sender) = &self.sender
            && let Err(TrySendError::Full(_)) = sender.try_send(record)
        {
            self.stats.access_log_line_dropped();
        }
    }
}

impl Drop for AccessLog {
    /// Lets the writer drain what is queued, then waits for it.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn write_lines(receiver: Receiver<Record>) {
    let mut batch = Vec::with_capacity(64 * 1024);
    while let Ok(first) = receiver.recv() {
        batch.clear();
        format_line(&mut batch, &first);
        while let Ok(next) = receiver.try_recv() {
            format_line(&mut batch, &next);
            if batch.len() >= 60 * 1024 {
                break;
            }
        }
        // A closed stdout (the reader of a pipe went away) must not stop
        // the server; the lines are lost, as they would be anyway.
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(&batch).and_then(|()| stdout.flush());
    }
}

fn format_line(out: &mut Vec<u8>, record: &Record) {
    let seconds = record
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let time_of_day = seconds % 86_400;
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    let _ = writeln!(
        out,
        "{} - - [{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000] \"{}\" {} {}",
        record.peer,
        time_of_day / 3600,
        time_of_day / 60 % 60,
        time_of_day % 60,
        record.request_line.escape_debug(),
        record.status,
        record.body_bytes,
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01, by Howard
/// Hinnant's `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn common_log_format_line() {
        let mut out = Vec::new();
        format_line(
            &mut out,
            &Record {
                time: UNIX_EPOCH + Duration::from_secs(1_763_938_430),
                peer: "127.0.0.1".parse().unwrap(),
                request_line: "GET /hello HTTP/1.1".into(),
                status: 200,
                body_bytes: 17,
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.1 - - [23/Nov/2025:22:53:50 +0000] \"GET /hello HTTP/1.1\" 200 17\n"
        );
    }
}
