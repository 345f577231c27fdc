//! Replaying the log at start, and what to do with a damaged one.
//!
//! The log is read front to back and each record is applied to an empty
//! store, which rebuilds it as it was. Reading stops at the first record that
//! is not intact. Where that record sits decides what it means:
//!
//! - **Torn tail.** A crash in the middle of an append leaves the start of a
//!   record at the end of the file: fewer bytes than its length says, or a
//!   complete record whose payload CRC fails and which ends exactly at the
//!   end of the file, or (after a power cut on some file systems) zeros.
//!   With `--fsync always` such a record was never acknowledged (with
//!   `everysec` or `never`, a power cut may tear one that was, which is the
//!   loss those modes accept); it is cut off, with a warning, and new records
//!   are appended after the last good one.
//! - **Damage.** A bad record with more data after it is not a crash: the
//!   file was changed underneath us (a bad disk, a stray write). Starting
//!   anyway would silently drop acknowledged writes, so the start stops with
//!   an error naming the file and the offset. `--repair` keeps a copy of the
//!   file and cuts it at that offset, keeping everything before it.
//!
//! Each record's length carries its own CRC, so a damaged length is seen as
//! damage, never mistaken for a record that runs past the end of the file.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::crc32::crc32;
use super::record::{
    FILE_HEADER_LEN, FRAME_LEN, RecordView, decode_file_header, decode_frame, decode_payload,
};

/// What replaying a log found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// The highest revision in the log, or its base revision.
    pub last_revision: u64,
    pub records: u64,
    /// Bytes of intact log: the header and every good record.
    pub good_len: u64,
    /// What follows the good records, if anything.
    pub end: End,
}

/// How the log ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum End {
    /// At a record boundary, as it should.
    #[default]
    Clean,
    /// With a torn record from `good_len` to the end of the file.
    Torn { bytes: u64 },
    /// With a bad record at `good_len` and more data after it.
    Damaged { reason: String },
}

/// Why a log cannot be read at all.
#[derive(Debug)]
pub enum ReplayError {
    Io(io::Error),
    /// The file header is wrong: not a log, another version, or damaged.
    BadHeader(String),
}

impl From<io::Error> for ReplayError {
    fn from(error: io::Error) -> Self {
        ReplayError::Io(error)
    }
}

/// Reads the log at `path`, handing each intact record to `apply` in order.
pub fn replay(path: &Path, apply: &mut dyn FnMut(RecordView<'_>)) -> Result<Replayed, ReplayError> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);

    let mut header = [0u8; FILE_HEADER_LEN];
    reader.read_exact(&mut header)?;
    let base_revision = decode_file_header(&header).map_err(ReplayError::BadHeader)?;

    let mut replayed = Replayed {
        last_revision: base_revision,
        good_len: FILE_HEADER_LEN as u64,
        ..Replayed::default()
    };
    let mut payload = Vec::new();
    loop {
        let offset = replayed.good_len;
        let left = file_len - offset;
        if left == 0 {
            return Ok(replayed);
        }
        let mut frame_bytes = [0u8; FRAME_LEN];
        if left < FRAME_LEN as u64 {
            replayed.end = End::Torn { bytes: left };
            return Ok(replayed);
        }
        reader.read_exact(&mut frame_bytes)?;
        let Some(frame) = decode_frame(&frame_bytes) else {
            let zeros = frame_bytes.iter().all(|&b| b == 0) && rest_is_zero(&mut reader)?;
            replayed.end = if zeros {
                End::Torn { bytes: left }
            } else {
                End::Damaged {
                    reason: "a record's length does not match its checksum".into(),
                }
            };
            return Ok(replayed);
        };
        let record_len = (FRAME_LEN as u64) + u64::from(frame.payload_len);
        if record_len > left {
            replayed.end = End::Torn { bytes: left };
            return Ok(replayed);
        }
        payload.resize(frame.payload_len as usize, 0);
        reader.read_exact(&mut payload)?;
        if crc32(&payload) != frame.payload_crc {
            replayed.end = if record_len == left {
                End::Torn { bytes: left }
            } else {
                End::Damaged {
                    reason: "a record's payload does not match its checksum".into(),
                }
            };
            return Ok(replayed);
        }
        match decode_payload(&payload) {
            Ok(record) => {
                replayed.last_revision = replayed.last_revision.max(record.revision);
                apply(record);
            }
            Err(reason) => {
                replayed.end = End::Damaged {
                    reason: reason.into(),
                };
                return Ok(replayed);
            }
        }
        replayed.records += 1;
        replayed.good_len += record_len;
    }
}

/// Whether everything left in `reader` is zero bytes.
fn rest_is_zero(reader: &mut impl Read) -> io::Result<bool> {
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok(true);
        }
        if buffer[..read].iter().any(|&b| b != 0) {
            return Ok(false);
        }
    }
}
