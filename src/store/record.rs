//! The log file format, byte by byte.
//!
//! All integers are little-endian. A log file is a header followed by
//! records, one per change, in the order the changes were made.
//!
//! File header, 24 bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `HTTPDBLG` |
//! | 8 | 4 | format version, `1` |
//! | 12 | 8 | base revision: the store's revision counter when the file was started (compaction keeps it, so revisions never repeat) |
//! | 20 | 4 | CRC-32 of bytes 0..20 |
//!
//! Record, 12 bytes of framing and a payload of N bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | N, the payload length |
//! | 4 | 4 | CRC-32 of bytes 0..4: a damaged length is caught before it is trusted |
//! | 8 | 4 | CRC-32 of the payload |
//! | 12 | N | payload |
//!
//! Payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | kind: `1` put, `2` delete |
//! | 1 | 8 | revision |
//! | 9 | 8 | modification time, milliseconds since 1970-01-01 UTC |
//! | 17 | 2 | K, the key length |
//! | 19 | K | key, UTF-8 |
//!
//! and for a put, after the key:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 19+K | 4 | C, the content type length |
//! | 23+K | C | content type, UTF-8 |
//! | 23+K+C | N-23-K-C | the value, every remaining byte of the payload |
//!
//! The CRC is zlib's CRC-32 (see `crc32.rs`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::crc32::crc32;
use super::key::Key;

/// The first eight bytes of every log file.
pub const MAGIC: &[u8; 8] = b"HTTPDBLG";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Length of a record's framing (length, its CRC, payload CRC).
pub const FRAME_LEN: usize = 12;
/// The largest payload a record may have: room for a 1 GiB value.
pub const MAX_PAYLOAD: u32 = (1 << 30) + 64 * 1024;

const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;
/// Payload bytes before the key.
const FIXED_PAYLOAD: usize = 19;

/// One change to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub revision: u64,
    pub modified: SystemTime,
    pub key: Key,
    pub change: Change,
}

/// What a record does to its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put {
        content_type: Arc<str>,
        value: Arc<[u8]>,
    },
    Delete,
}

/// Bytes a put record takes in the file, framing included.
pub fn put_len(key_len: usize, content_type_len: usize, value_len: usize) -> usize {
    FRAME_LEN + FIXED_PAYLOAD + key_len + 4 + content_type_len + value_len
}

impl Record {
    fn payload_len(&self) -> usize {
        self.encoded_len() - FRAME_LEN
    }

    /// Bytes the record takes in the file, framing included.
    pub fn encoded_len(&self) -> usize {
        match &self.change {
            Change::Put {
                content_type,
                value,
            } => put_len(self.key.len(), content_type.len(), value.len()),
            Change::Delete => FRAME_LEN + FIXED_PAYLOAD + self.key.len(),
        }
    }

    /// Appends the framed record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let payload_len = self.payload_len() as u32;
        let length = payload_len.to_le_bytes();
        out.extend_from_slice(&length);
        out.extend_from_slice(&crc32(&length).to_le_bytes());
        let crc_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let payload_start = out.len();
        let (kind, put) = match &self.change {
            Change::Put {
                content_type,
                value,
            } => (KIND_PUT, Some((content_type, value))),
            Change::Delete => (KIND_DELETE, None),
        };
        out.push(kind);
        out.extend_from_slice(&self.revision.to_le_bytes());
        out.extend_from_slice(&millis_since_epoch(self.modified).to_le_bytes());
        out.extend_from_slice(&(self.key.len() as u16).to_le_bytes());
        out.extend_from_slice(self.key.as_bytes());
        if let Some((content_type, value)) = put {
            out.extend_from_slice(&(content_type.len() as u32).to_le_bytes());
            out.extend_from_slice(content_type.as_bytes());
            out.extend_from_slice(value);
        }
        let crc = crc32(&out[payload_start..]);
        out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The framing of a record, read from its first 12 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub payload_len: u32,
    pub payload_crc: u32,
}

/// Reads a record's framing; `None` if the length does not match its CRC
/// or is beyond any record this code writes.
pub fn decode_frame(bytes: &[u8; FRAME_LEN]) -> Option<Frame> {
    let length = u32::from_le_bytes(bytes[0..4].try_into().ok()?);
    let length_crc = u32::from_le_bytes(bytes[4..8].try_into().ok()?);
    if crc32(&bytes[0..4]) != length_crc
        || length > MAX_PAYLOAD
        || (length as usize) < FIXED_PAYLOAD
    {
        return None;
    }
    Some(Frame {
        payload_len: length,
        payload_crc: u32::from_le_bytes(bytes[8..12].try_into().ok()?),
    })
}

/// A record as read from a file, borrowing its strings and value from the
/// read buffer: replay copies only what the store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub revision: u64,
    pub modified: SystemTime,
    pub key: &'a str,
    pub change: ChangeView<'a>,
}

/// What a read record does to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeView<'a> {
    Put {
        content_type: &'a str,
        value: &'a [u8],
    },
    Delete,
}

/// Decodes a payload whose CRC has been checked. `Err` names what is
/// inconsistent: with a good CRC that means a bug, not a torn write.
pub fn decode_payload(payload: &[u8]) -> Result<RecordView<'_>, &'static str> {
    let mut reader = Reader(payload);
    let kind = reader.take(1)?[0];
    let revision = reader.u64()?;
    let modified = UNIX_EPOCH + Duration::from_millis(reader.u64()?);
    let key_len = usize::from(reader.u16()?);
    let key = std::str::from_utf8(reader.take(key_len)?).map_err(|_| "a key is not UTF-8")?;
    let change = match kind {
        KIND_PUT => {
            let content_type_len = reader.u32()? as usize;
            let content_type = std::str::from_utf8(reader.take(content_type_len)?)
                .map_err(|_| "a content type is not UTF-8")?;
            ChangeView::Put {
                content_type,
                value: reader.0,
            }
        }
        KIND_DELETE if reader.0.is_empty() => ChangeView::Delete,
        KIND_DELETE => return Err("a delete record has bytes after its key"),
        _ => return Err("a record has an unknown kind"),
    };
    Ok(RecordView {
        revision,
        modified,
        key,
        change,
    })
}

/// A cursor over a payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("a record is shorter than its fields say");
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().map_err(|_| "short")?,
        ))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "short")?,
        ))
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "short")?,
        ))
    }
}

/// The file header for a log whose revisions continue above `base_revision`.
pub fn encode_file_header(base_revision: u64) -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&base_revision.to_le_bytes());
    let crc = crc32(&header[0..20]);
    header[20..24].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The base revision from a file header, or why the header is not one.
pub fn decode_file_header(header: &[u8; FILE_HEADER_LEN]) -> Result<u64, String> {
    if &header[0..8] != MAGIC {
        return Err("it does not start with HTTPDBLG: not an httpdb log".into());
    }
    let stored_crc = u32::from_le_bytes([header[20], header[21], header[22], header[23]]);
    if crc32(&header[0..20]) != stored_crc {
        return Err("its file header is damaged (bad CRC)".into());
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != VERSION {
        return Err(format!(
            "it is format version {version}; this httpdb reads version {VERSION}"
        ));
    }
    let mut base = [0u8; 8];
    base.copy_from_slice(&header[12..20]);
    Ok(u64::from_le_bytes(base))
}

/// Record times are kept to the millisecond.
pub fn millis_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &[u8]) -> Record {
        Record {
            revision: 42,
            modified: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            key: Key::new(key),
            change: Change::Put {
                content_type: "text/plain".into(),
                value: value.into(),
            },
        }
    }

    fn round_trip(record: &Record) -> Record {
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        assert_eq!(bytes.len(), record.encoded_len());
        let frame = decode_frame(bytes[..FRAME_LEN].try_into().unwrap()).unwrap();
        assert_eq!(frame.payload_len as usize, bytes.len() - FRAME_LEN);
        assert_eq!(frame.payload_crc, crc32(&bytes[FRAME_LEN..]));
        let view = decode_payload(&bytes[FRAME_LEN..]).unwrap();
        Record {
            revision: view.revision,
            modified: view.modified,
            key: Key::new(view.key),
            change: match view.change {
                ChangeView::Put {
                    content_type,
                    value,
                } => Change::Put {
                    content_type: content_type.into(),
                    value: value.into(),
                },
                ChangeView::Delete => Change::Delete,
            },
        }
    }

    #[test]
    fn records_round_trip() {
        for record in [
            put("/hello", b"A quick brown fox"),
            put("/empty", b""),
            put("/binary", &[0, 255, 13, 10]),
            Record {
                change: Change::Delete,
                ..put("/gone", b"")
            },
        ] {
            assert_eq!(round_trip(&record), record);
        }
    }

    #[test]
    fn a_damaged_length_is_caught_by_its_own_crc() {
        let mut bytes = Vec::new();
        put("/k", b"v").encode(&mut bytes);
        for index in 0..4 {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x10;
            assert!(decode_frame(damaged[..FRAME_LEN].try_into().unwrap()).is_none());
        }
    }

    #[test]
    fn the_layout_matches_the_documentation() {
        let mut bytes = Vec::new();
        put("/k", b"xyz").encode(&mut bytes);
        let payload = &bytes[FRAME_LEN..];
        assert_eq!(payload[0], KIND_PUT);
        assert_eq!(u64::from_le_bytes(payload[1..9].try_into().unwrap()), 42);
        assert_eq!(
            u64::from_le_bytes(payload[9..17].try_into().unwrap()),
            1_700_000_000_123
        );
        assert_eq!(u16::from_le_bytes(payload[17..19].try_into().unwrap()), 2);
        assert_eq!(&payload[19..21], b"/k");
        assert_eq!(u32::from_le_bytes(payload[21..25].try_into().unwrap()), 10);
        assert_eq!(&payload[25..35], b"text/plain");
        assert_eq!(&payload[35..], b"xyz");
    }

    #[test]
    fn file_headers() {
        let header = encode_file_header(7);
        assert_eq!(&header[..8], b"HTTPDBLG");
        assert_eq!(decode_file_header(&header), Ok(7));
        let mut damaged = header;
        damaged[14] ^= 1;
        assert!(
            decode_file_header(&damaged)
                .unwrap_err()
                .contains("damaged")
        );
        let mut other = header;
        other[0] = b'X';
        assert!(
            decode_file_header(&other)
                .unwrap_err()
                .contains("not an httpdb log")
        );
    }
}
