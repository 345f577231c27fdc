//! Revisions: a hybrid logical clock, so that an ETag once given out for a
//! key is never given out again for other bytes of that key.
//!
//! An entry's ETag is its revision (`"<revision>"`), and the promise is wider
//! than one process (README, "The API"): a revision must not come back
//! after a restart, after the data directory is wiped, after an older copy of
//! the log is restored, or after the key moves to another node. Otherwise a
//! client holding the old ETag gets `304` for bytes it never saw, or its
//! compare-and-swap succeeds over them.
//!
//! A counter that restarts from 1 keeps the first promise only (the log
//! remembers the last revision). A clock keeps the others: the next revision
//! is
//!
//! ```text
//! next = max(previous + 1, now in microseconds since 1970)
//! ```
//!
//! - `previous + 1` makes revisions grow strictly within one store, whatever
//!   the clock does: a clock that steps back, or many writes within one
//!   microsecond, only make revisions run ahead of the clock for a while.
//! - `now` makes a store that forgot its past (a wiped directory, a restored
//!   older log, an in-memory store restarted) start above every revision it
//!   gave out before, and makes a key copied to another node get a revision
//!   above the ones its old node gave it, as long as the clocks involved
//!   roughly agree (`httpdb cluster rebalance` checks this for each key it
//!   moves).
//!
//! What is assumed is the clock: a store that forgot its past can repeat a
//! revision only if its clock now reads earlier than it did when it gave
//! that revision out (a clock set back by more than the time since). And
//! revisions run ahead of the clock only while writes come faster than one
//! a microsecond, which one store cannot sustain, so after a burst they are
//! back on the clock within microseconds.
//!
//! Microseconds keep an ETag short (16 digits) and below 2^53 until the
//! year 2255, so even a client that reads it as a JavaScript number gets it
//! exactly. Old logs, whose revisions count from 1, go on without a change
//! of format: the clock is far ahead of any such counter.

use std::time::{SystemTime, UNIX_EPOCH};

/// The revision that follows `previous` when the clock reads `now`. `None`
/// when no revision follows (`previous` is `u64::MAX`, which only a forged
/// log can hold): repeating one would break the promise, so the write is
/// refused instead.
pub(super) fn next(previous: u64, now: SystemTime) -> Option<u64> {
    next_at(previous, micros_since_epoch(now))
}

/// The revision that follows `previous` when the clock reads `now`.
fn next_at(previous: u64, now: u64) -> Option<u64> {
    Some(previous.checked_add(1)?.max(now))
}

/// Microseconds since 1970; 0 for a clock set before it, which leaves the
/// counter alone to keep revisions growing.
fn micros_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// 2026-11-24 00:00:00 UTC, in microseconds.
    const NOW: u64 = 1_795_478_400_000_000;

    #[test]
    fn revisions_follow_the_clock() {
        assert_eq!(next_at(0, NOW), Some(NOW), "a new store starts at now");
        assert_eq!(next_at(NOW, NOW + 250), Some(NOW + 250));
        assert_eq!(next_at(7, NOW), Some(NOW), "an old counter jumps to now");
    }

    #[test]
    fn revisions_grow_when_writes_outrun_the_clock() {
        let mut revision = next_at(0, NOW).unwrap();
        for _ in 0..1000 {
            let following = next_at(revision, NOW).unwrap();
            assert_eq!(following, revision + 1, "the same microsecond");
            revision = following;
        }
        assert_eq!(
            next_at(revision, NOW + 5000),
            Some(NOW + 5000),
            "back on the clock once it passes the counter"
        );
    }

    #[test]
    fn a_clock_that_steps_back_never_makes_revisions_repeat() {
        let before = next_at(0, NOW).unwrap();
        let after = next_at(before, NOW - 3_600_000_000).unwrap();
        assert_eq!(after, before + 1);
    }

    #[test]
    fn a_store_that_forgot_its_past_starts_above_it() {
        // A store gave out revisions until `last`, then its directory was
        // wiped (previous = 0) or an older log restored (previous = old).
        let last = next_at(next_at(0, NOW).unwrap(), NOW + 10).unwrap();
        let old = NOW - 86_400_000_000;
        let later = NOW + 1_000_000;
        assert!(next_at(0, later).unwrap() > last);
        assert!(next_at(old, later).unwrap() > last);
    }

    #[test]
    fn the_counter_refuses_to_wrap() {
        assert_eq!(next_at(u64::MAX, NOW), None);
        assert_eq!(next_at(u64::MAX - 1, NOW), Some(u64::MAX));
    }

    #[test]
    fn the_clock_is_read_in_microseconds() {
        assert_eq!(micros_since_epoch(UNIX_EPOCH), 0);
        assert_eq!(
            micros_since_epoch(UNIX_EPOCH + Duration::from_millis(1500)),
            1_500_000
        );
        assert_eq!(micros_since_epoch(UNIX_EPOCH - Duration::from_secs(1)), 0);
        // 2023-11-14 and 2255: this machine's clock is somewhere between.
        let now = next(0, SystemTime::now()).unwrap();
        assert!((1_700_000_000_000_000..1 << 53).contains(&now), "{now}");
    }
}
