//! The batch representation, byte-compatible with LevelDB and RocksDB for Put and Delete.
//!
//! ```text
//! rep    := sequence: fixed64 LE | count: fixed32 LE | record*
//! record := 0x01 varstring(key) varstring(value)      Put
//!         | 0x00 varstring(key)                       Delete
//! varstring := len: varint32 | bytes[len]
//! ```
//!
//! The sequence is that of the first record; each record takes the next one. `docs/wal-format.md`
//! describes how batches travel in the WAL. A record's tag is the kind byte of the internal
//! keys it becomes ([`ValueKind`], as LevelDB's `kTypeValue`/`kTypeDeletion` serve both), and
//! the integers are [`crate::coding`]'s.

use std::fmt;

use crate::coding::{decode_fixed32, decode_fixed64, get_varint32, put_varint32};
use crate::dbformat::{ValueKind, MAX_SEQUENCE};
use crate::error::{Error, Result};

/// Bytes before the first record: sequence (8) and count (4).
pub const HEADER_SIZE: usize = 12;

/// The longest key or value: its length must fit the varint32 of the format.
pub const MAX_KV_LEN: usize = u32::MAX as usize;

/// Sequence numbers stay below 2^56: the memtable packs `(sequence << 8) | kind` into a u64
/// (as LevelDB and RocksDB do), so a larger one would lose its top bits. A batch starting at
/// `sequence` with `count` records is valid only if `sequence + count < SEQUENCE_LIMIT`, which
/// also leaves room for the marker that records where the sequence resumes.
pub(crate) const SEQUENCE_LIMIT: u64 = MAX_SEQUENCE + 1;

/// True if a batch of `count` records starting at `sequence` stays below [`SEQUENCE_LIMIT`].
pub(crate) fn sequence_range_ok(sequence: u64, count: u64) -> bool {
    sequence
        .checked_add(count)
        .is_some_and(|end| end < SEQUENCE_LIMIT)
}

/// An ordered group of puts and deletes that [`DB::write`](crate::DB::write) applies atomically.
///
/// Invariant: `rep` always holds a well-formed representation whose count matches its records
/// (every constructor either builds it or validates it).
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
}

/// One record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Delete {
        /// The key.
        key: &'a [u8],
    },
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch::new()
    }
}

impl fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBatch")
            .field("count", &self.count())
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0; HEADER_SIZE],
        }
    }

    /// An empty batch with room for `bytes` bytes of records (see
    /// [`approximate_size`](Self::approximate_size)) before it reallocates.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(HEADER_SIZE + bytes);
        rep.resize(HEADER_SIZE, 0);
        WriteBatch { rep }
    }

    /// Adds a put. Fails with `InvalidArgument` if the key or value is longer than 4 GiB − 1
    /// or the batch already holds 2^32 − 1 records; the batch is then unchanged.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let key_len = checked_len("key", key)?;
        let value_len = checked_len("value", value)?;
        let count = self.next_count()?;
        self.rep.reserve(11 + key.len() + value.len());
        self.rep.push(ValueKind::Value.as_byte());
        put_varint32(&mut self.rep, key_len);
        self.rep.extend_from_slice(key);
        put_varint32(&mut self.rep, value_len);
        self.rep.extend_from_slice(value);
        self.set_count(count);
        Ok(())
    }

    /// Adds a delete. Fails like [`put`](Self::put) on an oversized key.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        let key_len = checked_len("key", key)?;
        let count = self.next_count()?;
        self.rep.reserve(6 + key.len());
        self.rep.push(ValueKind::Deletion.as_byte());
        put_varint32(&mut self.rep, key_len);
        self.rep.extend_from_slice(key);
        self.set_count(count);
        Ok(())
    }

    /// Removes every record (keeps the allocation).
    pub fn clear(&mut self) {
        self.rep.clear();
        self.rep.resize(HEADER_SIZE, 0);
    }

    /// How many records the batch holds.
    pub fn count(&self) -> u32 {
        // `rep` always holds the header (the type's invariant), so the fallback never applies.
        self.rep.get(8..).and_then(decode_fixed32).unwrap_or(0)
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The size of the representation in bytes: what the batch adds to a WAL record.
    pub fn approximate_size(&self) -> usize {
        self.rep.len()
    }

    /// The records in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            rest: &self.rep[HEADER_SIZE..],
        }
    }

    /// The LevelDB/RocksDB-compatible representation.
    pub fn data(&self) -> &[u8] {
        &self.rep
    }

    /// Builds a batch from its representation, validating every length, tag and the count.
    /// Damaged bytes give [`Error::Corruption`]; nothing is trusted.
    pub fn from_data(data: &[u8]) -> Result<Self> {
        // The count is the header's last field: it decodes exactly when the header is whole.
        let Some(declared) = data.get(8..HEADER_SIZE).and_then(decode_fixed32) else {
            return Err(Error::corruption(format!(
                "write batch is {} bytes, shorter than its {HEADER_SIZE}-byte header",
                data.len()
            )));
        };
        let mut rest = &data[HEADER_SIZE..];
        let mut found: u64 = 0;
        while !rest.is_empty() {
            let offset = data.len() - rest.len();
            let (_, tail) = parse_record(rest).map_err(|why| {
                Error::corruption(format!("write batch record at byte {offset}: {why}"))
            })?;
            rest = tail;
            found += 1;
        }
        if found != u64::from(declared) {
            return Err(Error::corruption(format!(
                "write batch header says {declared} records but {found} are present"
            )));
        }
        Ok(WriteBatch { rep: data.to_vec() })
    }

    /// The sequence number of the first record (0 until the batch is written).
    pub(crate) fn sequence(&self) -> u64 {
        // `rep` always holds the header (the type's invariant), so the fallback never applies.
        decode_fixed64(&self.rep).unwrap_or(0)
    }

    /// The records without the header, for concatenating a group into one WAL record.
    pub(crate) fn body(&self) -> &[u8] {
        &self.rep[HEADER_SIZE..]
    }

    fn next_count(&self) -> Result<u32> {
        self.count()
            .checked_add(1)
            .ok_or_else(|| Error::invalid_argument("a write batch holds at most 2^32 - 1 records"))
    }

    fn set_count(&mut self, count: u32) {
        self.rep[8..12].copy_from_slice(&count.to_le_bytes());
    }
}

impl<'a> IntoIterator for &'a WriteBatch {
    type Item = Record<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over a batch's records.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // The representation was built or validated on construction, so this cannot fail;
        // were it ever to, iteration stops rather than panicking.
        let (record, tail) = parse_record(self.rest).ok()?;
        self.rest = tail;
        Some(record)
    }
}

/// The records of a batch body (the representation without its header), for a copy of
/// [`WriteBatch::body`]: the memtable parses its own copy so its entries can point into it.
pub(crate) fn records(body: &[u8]) -> Iter<'_> {
    Iter { rest: body }
}

/// Writes a header (sequence, count) for a group's merged WAL record.
pub(crate) fn encode_header(sequence: u64, count: u32) -> [u8; HEADER_SIZE] {
    let mut header = [0u8; HEADER_SIZE];
    header[..8].copy_from_slice(&sequence.to_le_bytes());
    header[8..].copy_from_slice(&count.to_le_bytes());
    header
}

fn checked_len(what: &str, bytes: &[u8]) -> Result<u32> {
    u32::try_from(bytes.len()).map_err(|_| {
        Error::invalid_argument(format!(
            "{what} is {} bytes; the limit is {MAX_KV_LEN} (4 GiB - 1)",
            bytes.len()
        ))
    })
}

fn parse_record(input: &[u8]) -> std::result::Result<(Record<'_>, &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("empty record")?;
    match ValueKind::from_byte(tag) {
        Some(ValueKind::Value) => {
            let (key, rest) = parse_varstring(rest).map_err(|e| format!("put key: {e}"))?;
            let (value, rest) = parse_varstring(rest).map_err(|e| format!("put value: {e}"))?;
            Ok((Record::Put { key, value }, rest))
        }
        Some(ValueKind::Deletion) => {
            let (key, rest) = parse_varstring(rest).map_err(|e| format!("delete key: {e}"))?;
            Ok((Record::Delete { key }, rest))
        }
        None => Err(format!("unknown record tag 0x{tag:02x}")),
    }
}

fn parse_varstring(input: &[u8]) -> std::result::Result<(&[u8], &[u8]), String> {
    let (len, used) = get_varint32(input).ok_or("bad varint32 length")?;
    let rest = &input[used..];
    let len = len as usize;
    if len > rest.len() {
        return Err(format!(
            "length {len} runs past the end ({} bytes left)",
            rest.len()
        ));
    }
    Ok(rest.split_at(len))
}
