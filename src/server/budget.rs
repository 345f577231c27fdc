//! A cap on the request bodies held in memory at once.
//!
//! Each body is read whole before it is stored, and each may be as large as
//! `--max-body`. With a thousand workers, a thousand large uploads at once
//! would need a thousand times `--max-body` of memory. So a connection takes
//! a [`Reservation`] and grows it as its body arrives, a piece at a time
//! (`http::body` asks before each piece); when the budget is spent, the
//! request gets `503` with `Retry-After`, and the server's memory stays
//! bounded whatever clients send. A client that only announces a large body
//! holds at most one piece of it (`http::body::BODY_PIECE`) until it sends
//! more.

use std::sync::Arc;

use crate::stats::ServerStats;

/// Bytes of request bodies that may be held at once. The bytes in use are
/// counted in [`ServerStats`], where `/_stats` reads them.
#[derive(Debug)]
pub struct BodyBudget {
    limit: u64,
    stats: Arc<ServerStats>,
}

/// Bytes taken from a [`BodyBudget`] for one body, given back when dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a BodyBudget,
    bytes: u64,
}

impl BodyBudget {
    pub fn new(limit: u64, stats: Arc<ServerStats>) -> BodyBudget {
        BodyBudget { limit, stats }
    }

    /// An empty reservation, to grow as a body arrives.
    pub fn reservation(&self) -> Reservation<'_> {
        Reservation {
            budget: self,
            bytes: 0,
        }
    }
}

impl Reservation<'_> {
    /// Grows the reservation to `bytes` in all; `false` (and no change) if
    /// the budget cannot spare the difference.
    pub fn grow_to(&mut self, bytes: u64) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 || self.budget.stats.hold_body_bytes(more, self.budget.limit) {
            self.bytes = self.bytes.max(bytes);
            true
        } else {
            false
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.stats.release_body_bytes(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::BodyBudget;
    use crate::stats::ServerStats;
    use std::sync::Arc;

    #[test]
    fn reservations_grow_and_are_given_back() {
        let stats = Arc::new(ServerStats::new(1));
        let budget = BodyBudget::new(100, Arc::clone(&stats));
        let mut first = budget.reservation();
        assert!(first.grow_to(40));
        assert!(first.grow_to(60));
        let mut second = budget.reservation();
        assert!(!second.grow_to(41));
        assert!(second.grow_to(40));
        assert_eq!(stats.snapshot().body_bytes_held, 100);
        assert!(!second.grow_to(41), "a refused growth changes nothing");
        drop(first);
        assert_eq!(stats.snapshot().body_bytes_held, 40);
        assert!(second.grow_to(100));
        drop(second);
        assert_eq!(stats.snapshot().body_bytes_held, 0);
        assert!(!budget.reservation().grow_to(u64::MAX));
    }
}
