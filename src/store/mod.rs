//! The key-value store: an ordered map behind one `Mutex`.
//!
//! Every entry has a value, the content type it was stored with, a revision
//! and a modification time. Revisions come from one store-wide counter that
//! only grows, so a revision names one version of one key for the life of the
//! store; the API turns it into the entry's ETag.
//!
//! The lock is held only to look up or change the map. Values are
//! `Arc<[u8]>`, so a reader clones a pointer under the lock and copies
//! nothing; the bytes go out to the socket after the lock is released.
//! Conditional writes (compare-and-swap) pass their condition in as a
//! closure that runs under the lock, so no other write can slip in between
//! the check and the change.
//!
//! The store knows nothing of HTTP: keys are strings, conditions are
//! closures over the current entry.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// One stored value and what is known about it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Arc<[u8]>,
    pub content_type: Arc<str>,
    pub revision: u64,
    pub modified: SystemTime,
}

/// The result of a successful put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Whether the key was new.
    pub created: bool,
    /// The revision of the new value.
    pub revision: u64,
}

/// The result of a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The key existed and is gone; the delete took this revision.
    Existed { revision: u64 },
    /// There was nothing to delete.
    Absent,
}

/// Why a write did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The caller's condition was false; `current` is the key's revision.
    ConditionFailed { current: Option<u64> },
}

/// Totals over the whole store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub keys: usize,
    pub value_bytes: u64,
    pub last_revision: u64,
}

/// The store. Share it between threads with an `Arc`.
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, Entry>,
    last_revision: u64,
    value_bytes: u64,
}

impl Store {
    /// An empty store that keeps nothing on disk.
    pub fn in_memory() -> Store {
        Store::default()
    }

    /// The entry under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Entry> {
        self.lock().entries.get(key).cloned()
    }

    /// Stores `value` under `key` if `condition` holds for the current entry
    /// (`None` when the key is absent).
    pub fn put(
        &self,
        key: &str,
        content_type: &str,
        value: Vec<u8>,
        condition: impl FnOnce(Option<&Entry>) -> bool,
    ) -> Result<Written, WriteError> {
        // Build the shared value before taking the lock: it copies the bytes.
        let value: Arc<[u8]> = value.into();
        let content_type: Arc<str> = content_type.into();
        let mut state = self.lock();
        let current = state.entries.get(key);
        if !condition(current) {
            return Err(WriteError::ConditionFailed {
                current: current.map(|entry| entry.revision),
            });
        }
        state.last_revision += 1;
        let revision = state.last_revision;
        state.value_bytes += value.len() as u64;
        let entry = Entry {
            value,
            content_type,
            revision,
            modified: SystemTime::now(),
        };
        let previous = state.entries.insert(key.to_owned(), entry);
        if let Some(previous) = &previous {
            state.value_bytes -= previous.value.len() as u64;
        }
        Ok(Written {
            created: previous.is_none(),
            revision,
        })
    }

    /// Removes `key` if it exists and `condition` holds for it. The condition
    /// is not asked about an absent key: there is nothing to compare with.
    pub fn delete(
        &self,
        key: &str,
        condition: impl FnOnce(&Entry) -> bool,
    ) -> Result<Deleted, WriteError> {
        let mut state = self.lock();
        let Some(current) = state.entries.get(key) else {
            return Ok(Deleted::Absent);
        };
        if !condition(current) {
            return Err(WriteError::ConditionFailed {
                current: Some(current.revision),
            });
        }
        state.last_revision += 1;
        let revision = state.last_revision;
        if let Some(removed) = state.entries.remove(key) {
            state.value_bytes -= removed.value.len() as u64;
        }
        Ok(Deleted::Existed { revision })
    }

    /// A copy of every entry in key order. Values are shared, not copied.
    pub fn entries(&self) -> Vec<(String, Entry)> {
        let state = self.lock();
        state
            .entries
            .iter()
            .map(|(key, entry)| (key.clone(), entry.clone()))
            .collect()
    }

    /// Up to `limit` keys that start with `prefix` and sort after `after`,
    /// in byte order: one page of a listing.
    pub fn keys(&self, prefix: &str, after: Option<&str>, limit: usize) -> Vec<String> {
        let state = self.lock();
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        state
            .entries
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn stats(&self) -> StoreStats {
        let state = self.lock();
        StoreStats {
            keys: state.entries.len(),
            value_bytes: state.value_bytes,
            last_revision: state.last_revision,
        }
    }

    /// Takes the lock. Nothing done under it can panic halfway through a
    /// change, so if another thread panicked while holding it (a poisoned
    /// lock), the map is still consistent and is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &Store, key: &str, value: &str) -> Written {
        store
            .put(key, "text/plain", value.as_bytes().to_vec(), |_| true)
            .unwrap()
    }

    #[test]
    fn put_get_replace_delete() {
        let store = Store::in_memory();
        assert_eq!(
            put(&store, "/a", "one"),
            Written {
                created: true,
                revision: 1
            }
        );
        assert_eq!(
            put(&store, "/a", "two!"),
            Written {
                created: false,
                revision: 2
            }
        );
        let entry = store.get("/a").unwrap();
        assert_eq!(&*entry.value, b"two!");
        assert_eq!(&*entry.content_type, "text/plain");
        assert_eq!(entry.revision, 2);
        assert_eq!(
            store.stats(),
            StoreStats {
                keys: 1,
                value_bytes: 4,
                last_revision: 2
            }
        );
        assert_eq!(
            store.delete("/a", |_| true),
            Ok(Deleted::Existed { revision: 3 })
        );
        assert_eq!(store.delete("/a", |_| true), Ok(Deleted::Absent));
        assert!(store.get("/a").is_none());
        assert_eq!(
            store.stats(),
            StoreStats {
                keys: 0,
                value_bytes: 0,
                last_revision: 3
            }
        );
    }

    #[test]
    fn conditions_run_against_the_current_entry() {
        let store = Store::in_memory();
        let create_only = |current: Option<&Entry>| current.is_none();
        assert!(store.put("/k", "t", b"1".to_vec(), create_only).is_ok());
        assert_eq!(
            store.put("/k", "t", b"2".to_vec(), create_only),
            Err(WriteError::ConditionFailed { current: Some(1) })
        );
        assert_eq!(
            store.delete("/k", |entry| entry.revision == 7),
            Err(WriteError::ConditionFailed { current: Some(1) })
        );
        assert_eq!(&*store.get("/k").unwrap().value, b"1");
    }

    #[test]
    fn key_pages() {
        let store = Store::in_memory();
        for key in ["/a", "/b/1", "/b/2", "/b/3", "/c"] {
            put(&store, key, "x");
        }
        assert_eq!(store.keys("/b/", None, 2), vec!["/b/1", "/b/2"]);
        assert_eq!(store.keys("/b/", Some("/b/2"), 2), vec!["/b/3"]);
        assert_eq!(store.keys("", Some("/b/3"), 10), vec!["/c"]);
        assert_eq!(
            store.keys("/b/", Some("/a"), 10),
            vec!["/b/1", "/b/2", "/b/3"]
        );
        assert_eq!(store.keys("/z", None, 10), Vec::<String>::new());
    }
}
