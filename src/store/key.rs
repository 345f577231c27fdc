//! Keys, kept inside the map's own nodes when they are short.
//!
//! A million keys each in an allocation of their own cost a million
//! allocations. Most keys are short (`/users/42`), so a key of up to 22
//! bytes is stored inline, in the 24 bytes the map gives each key anyway;
//! only longer keys get a shared heap copy. This is the "small string
//! optimisation" that many string types use. A million 13-byte keys with
//! 100-byte values take 266 MB; with every key on the heap, 300 MB
//! (`cargo bench --bench store`, its memory table, and again with
//! `INLINE` set to 0).
//!
//! Keys compare by their bytes, which for UTF-8 is the same order as by
//! characters, and the map is searched with `key.as_bytes()`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The longest key kept inline.
const INLINE: usize = 22;

/// A key of the store: cheap to clone, inline when short.
#[derive(Clone)]
pub struct Key(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Key {
    /// A key holding a copy of `key`.
    pub fn new(key: &str) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            Key(Repr::Inline {
                len: key.len() as u8,
                bytes,
            })
        } else {
            Key(Repr::Shared(key.into()))
        }
    }

    /// The key's bytes (UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(key) => key.as_bytes(),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        // Made from a `str`, so always UTF-8.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The key's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the key is empty (no key the API accepts is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn short_and_long_keys_read_back_and_order_by_bytes() {
        let long = format!("/{}", "x".repeat(100));
        let mut keys: Vec<Key> = ["/b", "/a", "", "/é", &long, "/aa"]
            .iter()
            .map(|k| Key::new(k))
            .collect();
        keys.sort();
        let texts: Vec<&str> = keys.iter().map(Key::as_str).collect();
        assert_eq!(texts, vec!["", "/a", "/aa", "/b", long.as_str(), "/é"]);
        assert_eq!(Key::new("/twenty-two-bytes-key!").len(), 22);
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }
}
