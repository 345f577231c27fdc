//! The map behind the store's lock: every entry in key order, and the
//! totals `/_stats` and compaction need, kept as entries come and go so
//! that reading them costs nothing.
//!
//! Nothing here locks, logs or waits: [`Map`] is plain data that the store
//! (`mod.rs`) guards with its lock, and that replay (`open.rs`) fills
//! before there is a lock at all.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::key::Key;
use super::record::{self, ChangeView, RecordView};

/// One stored value and what is known about it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The bytes stored, exactly as written.
    pub value: Arc<[u8]>,
    /// The content type they were stored with.
    pub content_type: Arc<str>,
    /// The revision of this version: the API's ETag.
    pub revision: u64,
    /// When this version was written, to the millisecond.
    pub modified: SystemTime,
}

/// An entry as the map holds it: like [`Entry`], with the time as
/// milliseconds, which takes half the room of a `SystemTime`.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub(super) value: Arc<[u8]>,
    pub(super) content_type: Arc<str>,
    pub(super) revision: u64,
    pub(super) modified_ms: u64,
}

impl Stored {
    pub(super) fn new(
        value: Arc<[u8]>,
        content_type: Arc<str>,
        revision: u64,
        modified: SystemTime,
    ) -> Stored {
        Stored {
            value,
            content_type,
            revision,
            modified_ms: record::millis_since_epoch(modified),
        }
    }

    pub(super) fn entry(&self) -> Entry {
        Entry {
            value: Arc::clone(&self.value),
            content_type: Arc::clone(&self.content_type),
            revision: self.revision,
            modified: UNIX_EPOCH + Duration::from_millis(self.modified_ms),
        }
    }
}

/// Every entry, in key order (byte order of the keys, which `/_keys` pages
/// through), and the totals kept as entries change.
#[derive(Debug, Default)]
pub(super) struct Map {
    pub(super) entries: BTreeMap<Key, Stored>,
    /// The revision of the last change, put or delete: the next one is
    /// larger.
    pub(super) last_revision: u64,
    /// Bytes of all values.
    pub(super) value_bytes: u64,
    /// Bytes the live entries would take in a freshly compacted log: what
    /// compaction compares the log's size with.
    pub(super) live_log_bytes: u64,
    /// One shared copy of each content type in use: a million values of
    /// `text/plain` share one string instead of holding a million. A million
    /// keys with 100-byte values take 266 MB; with a copy each, 314 MB
    /// (`cargo bench --bench store`, its memory table, and again with
    /// `MAX_SHARED_CONTENT_TYPES` set to 0).
    content_types: HashSet<Arc<str>>,
}

/// The most distinct content types shared; past this, each value keeps its
/// own copy, so a client inventing types cannot grow the set without bound.
const MAX_SHARED_CONTENT_TYPES: usize = 1024;
/// The longest content type shared: real ones are short, and a long one
/// kept forever would be memory a client could pin.
const MAX_SHARED_CONTENT_TYPE_LEN: usize = 128;

impl Map {
    /// The shared copy of `content_type`.
    pub(super) fn shared_content_type(&mut self, content_type: &str) -> Arc<str> {
        if let Some(shared) = self.content_types.get(content_type) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = content_type.into();
        if self.content_types.len() < MAX_SHARED_CONTENT_TYPES
            && content_type.len() <= MAX_SHARED_CONTENT_TYPE_LEN
        {
            self.content_types.insert(Arc::clone(&shared));
        }
        shared
    }

    /// Adds or replaces an entry, keeping the totals. Returns whether the
    /// key is new.
    pub(super) fn insert(&mut self, key: Key, stored: Stored) -> bool {
        self.count(key.len(), &stored, true);
        match self.entries.get_mut(key.as_bytes()) {
            // A rewrite keeps the key the map already holds.
            Some(current) => {
                let previous = std::mem::replace(current, stored);
                self.count(key.len(), &previous, false);
                false
            }
            None => {
                self.entries.insert(key, stored);
                true
            }
        }
    }

    /// Applies a change read back from the log.
    pub(super) fn apply(&mut self, record: RecordView<'_>) {
        match record.change {
            ChangeView::Put {
                content_type,
                value,
            } => {
                let content_type = self.shared_content_type(content_type);
                let stored =
                    Stored::new(value.into(), content_type, record.revision, record.modified);
                self.insert(Key::new(record.key), stored);
            }
            ChangeView::Delete => {
                self.remove(record.key);
            }
        }
    }

    /// Removes an entry, keeping the totals.
    pub(super) fn remove(&mut self, key: &str) -> Option<Stored> {
        let removed = self.entries.remove(key.as_bytes())?;
        self.count(key.len(), &removed, false);
        Some(removed)
    }

    fn count(&mut self, key_len: usize, stored: &Stored, added: bool) {
        let value = stored.value.len() as u64;
        let record = record::put_len(key_len, stored.content_type.len(), stored.value.len()) as u64;
        if added {
            self.value_bytes += value;
            self.live_log_bytes += record;
        } else {
            self.value_bytes -= value;
            self.live_log_bytes -= record;
        }
    }
}
