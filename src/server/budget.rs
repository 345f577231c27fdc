//! A cap on the request bodies held in memory at once.
//!
//! Each body is read whole before it is stored, and each may be as large as
//! `--max-body`. With a thousand workers, a thousand large uploads at once
//! would need a thousand times `--max-body` of memory. Before a body is
//! read, its connection reserves its size here (a chunked body, whose size
//! is unknown, reserves `--max-body`); when the budget is spent, the request
//! gets `503` with `Retry-After` instead, and the server's memory stays
//! bounded whatever clients send.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of request bodies that may be held at once.
#[derive(Debug)]
pub struct BodyBudget {
    limit: u64,
    in_use: AtomicU64,
}

/// Bytes taken from a [`BodyBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a BodyBudget,
    bytes: u64,
}

impl BodyBudget {
    pub fn new(limit: u64) -> BodyBudget {
        BodyBudget {
            limit,
            in_use: AtomicU64::new(0),
        }
    }

    /// Takes `bytes` from the budget, or `None` if that would overspend it.
    pub fn reserve(&self, bytes: u64) -> Option<Reservation<'_>> {
        let mut in_use = self.in_use.load(Ordering::Relaxed);
        loop {
            let wanted = in_use
                .checked_add(bytes)
                .filter(|&wanted| wanted <= self.limit)?;
            match self.in_use.compare_exchange_weak(
                in_use,
                wanted,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Reservation {
                        budget: self,
                        bytes,
                    });
                }
                Err(actual) => in_use = actual,
            }
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::BodyBudget;

    #[test]
    fn reservations_are_given_back() {
        let budget = BodyBudget::new(100);
        let first = budget.reserve(60).expect("fits");
        assert!(budget.reserve(41).is_none());
        let second = budget.reserve(40).expect("fits exactly");
        assert!(budget.reserve(1).is_none());
        drop(first);
        assert!(budget.reserve(60).is_some());
        drop(second);
        assert!(budget.reserve(100).is_some());
        assert!(budget.reserve(u64::MAX).is_none());
    }
}
