//! `VersionEdit`: one MANIFEST record, encoded exactly as LevelDB's `db/version_edit.cc` does so
//! that LevelDB opens groupkv's MANIFESTs and groupkv opens LevelDB's.
//!
//! ```text
//! edit  := field*                  (in the order below; each field at most once, except 5, 6, 7)
//! field := varint32(1) varstring(comparator name)
//!        | varint32(2) varint64(log number)
//!        | varint32(9) varint64(prev log number)
//!        | varint32(3) varint64(next file number)
//!        | varint32(4) varint64(last sequence)
//!        | varint32(5) varint32(level) varstring(internal key)            compact pointer
//!        | varint32(6) varint32(level) varint64(file number)              deleted file
//!        | varint32(7) varint32(level) varint64(file number) varint64(file size)
//!                      varstring(smallest internal key) varstring(largest)  new file
//! varstring := varint32(length) bytes[length]
//! ```
//!
//! Nothing else is ever written: LevelDB refuses a MANIFEST with a tag it does not know, and
//! tag 8 (LevelDB's retired "large value ref") is one of those. Decoding is as strict: an
//! unknown tag, a level of 7 or more, a truncated field, an empty or tag-less internal key, or
//! bytes after the last field are a `Corruption` error, never a panic.

use std::collections::BTreeSet;
use std::fmt;

use crate::coding::{
    get_length_prefixed, get_varint32, get_varint64, put_length_prefixed, put_varint32,
    put_varint64,
};
use crate::error::{Error, Result};

use super::{FileMetaData, NUM_LEVELS};

const TAG_COMPARATOR: u32 = 1;
const TAG_LOG_NUMBER: u32 = 2;
const TAG_NEXT_FILE_NUMBER: u32 = 3;
const TAG_LAST_SEQUENCE: u32 = 4;
const TAG_COMPACT_POINTER: u32 = 5;
const TAG_DELETED_FILE: u32 = 6;
const TAG_NEW_FILE: u32 = 7;
// Tag 8 was LevelDB's "large value ref" and is no longer accepted by anyone.
const TAG_PREV_LOG_NUMBER: u32 = 9;

/// The size of the tag `fixed64(seq << 8 | kind)` that ends every internal key.
const INTERNAL_KEY_TAG_LEN: usize = 8;

/// The changes one MANIFEST record makes to the version before it.
///
/// Scalar fields are `None` when the edit leaves them as they were. Deleted files are a set
/// ordered by (level, number), as LevelDB keeps them, so the encoding is the same whatever the
/// order of [`remove_file`](Self::remove_file) calls; new files and compact pointers keep the
/// order in which they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    comparator: Option<String>,
    log_number: Option<u64>,
    prev_log_number: Option<u64>,
    next_file_number: Option<u64>,
    last_sequence: Option<u64>,
    compact_pointers: Vec<(usize, Vec<u8>)>,
    deleted_files: BTreeSet<(usize, u64)>,
    new_files: Vec<(usize, FileMetaData)>,
}

impl VersionEdit {
    /// An edit that changes nothing (it encodes to zero bytes).
    pub fn new() -> Self {
        VersionEdit::default()
    }

    /// The comparator's name (tag 1), e.g. `leveldb.BytewiseComparator`. The first edit of a
    /// MANIFEST carries it; opening a database with a different comparator must fail.
    pub fn comparator(&self) -> Option<&str> {
        self.comparator.as_deref()
    }

    /// Sets the comparator's name (tag 1).
    pub fn set_comparator(&mut self, name: &str) -> Result<()> {
        check_len("comparator name", name.len())?;
        self.comparator = Some(name.to_owned());
        Ok(())
    }

    /// WALs numbered below this one are no longer needed (tag 2).
    pub fn log_number(&self) -> Option<u64> {
        self.log_number
    }

    /// Sets the log number (tag 2).
    pub fn set_log_number(&mut self, number: u64) {
        self.log_number = Some(number);
    }

    /// LevelDB's "previous log number" (tag 9): kept only for directories of old LevelDB
    /// versions; groupkv always writes 0.
    pub fn prev_log_number(&self) -> Option<u64> {
        self.prev_log_number
    }

    /// Sets the previous log number (tag 9).
    pub fn set_prev_log_number(&mut self, number: u64) {
        self.prev_log_number = Some(number);
    }

    /// The next unused file number (tag 3).
    pub fn next_file_number(&self) -> Option<u64> {
        self.next_file_number
    }

    /// Sets the next file number (tag 3).
    pub fn set_next_file_number(&mut self, number: u64) {
        self.next_file_number = Some(number);
    }

    /// The last sequence number whose write is in the tables or WALs this version covers
    /// (tag 4).
    pub fn last_sequence(&self) -> Option<u64> {
        self.last_sequence
    }

    /// Sets the last sequence (tag 4).
    pub fn set_last_sequence(&mut self, sequence: u64) {
        self.last_sequence = Some(sequence);
    }

    /// Where the next compaction of each level starts (tag 5): `(level, internal key)` in the
    /// order they were set.
    pub fn compact_pointers(&self) -> &[(usize, Vec<u8>)] {
        &self.compact_pointers
    }

    /// Records that the next compaction of `level` starts after `key` (tag 5). Fails with
    /// `InvalidArgument` if `level` is not below [`NUM_LEVELS`] or `key` is not an internal key.
    pub fn set_compact_pointer(&mut self, level: usize, key: &[u8]) -> Result<()> {
        check_level(level)?;
        check_internal_key("compact pointer", key)?;
        self.compact_pointers.push((level, key.to_vec()));
        Ok(())
    }

    /// The tables this edit removes (tag 6), ordered by `(level, number)`.
    pub fn deleted_files(&self) -> &BTreeSet<(usize, u64)> {
        &self.deleted_files
    }

    /// Removes table `number` from `level` (tag 6). Removing the same table twice is recorded
    /// once. Fails with `InvalidArgument` if `level` is not below [`NUM_LEVELS`].
    pub fn remove_file(&mut self, level: usize, number: u64) -> Result<()> {
        check_level(level)?;
        self.deleted_files.insert((level, number));
        Ok(())
    }

    /// The tables this edit adds (tag 7): `(level, metadata)` in the order they were added.
    pub fn new_files(&self) -> &[(usize, FileMetaData)] {
        &self.new_files
    }

    /// Adds a table to `level` (tag 7). Fails with `InvalidArgument` if `level` is not below
    /// [`NUM_LEVELS`] or a bound is not an internal key.
    pub fn add_file(&mut self, level: usize, file: FileMetaData) -> Result<()> {
        check_level(level)?;
        check_internal_key("smallest key", &file.smallest)?;
        check_internal_key("largest key", &file.largest)?;
        self.new_files.push((level, file));
        Ok(())
    }

    /// The record's bytes, field by field in LevelDB's order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }

    /// Appends the record's bytes to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        // Every setter has checked lengths and levels, so nothing here can fail.
        if let Some(name) = &self.comparator {
            put_varint32(out, TAG_COMPARATOR);
            put_length_prefixed(out, name.as_bytes());
        }
        if let Some(n) = self.log_number {
            put_varint32(out, TAG_LOG_NUMBER);
            put_varint64(out, n);
        }
        if let Some(n) = self.prev_log_number {
            put_varint32(out, TAG_PREV_LOG_NUMBER);
            put_varint64(out, n);
        }
        if let Some(n) = self.next_file_number {
            put_varint32(out, TAG_NEXT_FILE_NUMBER);
            put_varint64(out, n);
        }
        if let Some(n) = self.last_sequence {
            put_varint32(out, TAG_LAST_SEQUENCE);
            put_varint64(out, n);
        }
        for (level, key) in &self.compact_pointers {
            put_varint32(out, TAG_COMPACT_POINTER);
            put_level(out, *level);
            put_length_prefixed(out, key);
        }
        for &(level, number) in &self.deleted_files {
            put_varint32(out, TAG_DELETED_FILE);
            put_level(out, level);
            put_varint64(out, number);
        }
        for (level, f) in &self.new_files {
            put_varint32(out, TAG_NEW_FILE);
            put_level(out, *level);
            put_varint64(out, f.number);
            put_varint64(out, f.file_size);
            put_length_prefixed(out, &f.smallest);
            put_length_prefixed(out, &f.largest);
        }
    }

    /// Parses one record. Any defect — an unknown tag, a level of [`NUM_LEVELS`] or more, a
    /// truncated field, an empty internal key or one shorter than its 8-byte tag, bytes after
    /// the last field — is a `Corruption` error naming the field and its byte offset.
    ///
    /// A scalar field that appears twice takes its last value, as in LevelDB.
    pub fn decode(input: &[u8]) -> Result<VersionEdit> {
        let mut edit = VersionEdit::new();
        let mut cursor = Cursor { input, pos: 0 };
        while cursor.pos < input.len() {
            let field_start = cursor.pos;
            let tag = cursor
                .varint32()
                .ok_or_else(|| corrupt("tag", field_start))?;
            match tag {
                TAG_COMPARATOR => {
                    let name = cursor
                        .bytes()
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .ok_or_else(|| corrupt("comparator name", field_start))?;
                    edit.comparator = Some(name.to_owned());
                }
                TAG_LOG_NUMBER => {
                    edit.log_number = Some(cursor.varint64_for("log number", field_start)?);
                }
                TAG_PREV_LOG_NUMBER => {
                    edit.prev_log_number =
                        Some(cursor.varint64_for("previous log number", field_start)?);
                }
                TAG_NEXT_FILE_NUMBER => {
                    edit.next_file_number =
                        Some(cursor.varint64_for("next file number", field_start)?);
                }
                TAG_LAST_SEQUENCE => {
                    edit.last_sequence =
                        Some(cursor.varint64_for("last sequence number", field_start)?);
                }
                TAG_COMPACT_POINTER => {
                    let what = "compaction pointer";
                    let level = cursor.level(what, field_start)?;
                    let key = cursor.internal_key(what, field_start)?;
                    edit.compact_pointers.push((level, key.to_vec()));
                }
                TAG_DELETED_FILE => {
                    let what = "deleted file";
                    let level = cursor.level(what, field_start)?;
                    let number = cursor.varint64_for(what, field_start)?;
                    edit.deleted_files.insert((level, number));
                }
                TAG_NEW_FILE => {
                    let what = "new-file entry";
                    let level = cursor.level(what, field_start)?;
                    let number = cursor.varint64_for(what, field_start)?;
                    let file_size = cursor.varint64_for(what, field_start)?;
                    let smallest = cursor.internal_key(what, field_start)?.to_vec();
                    let largest = cursor.internal_key(what, field_start)?.to_vec();
                    edit.new_files.push((
                        level,
                        FileMetaData {
                            number,
                            file_size,
                            smallest,
                            largest,
                        },
                    ));
                }
                unknown => {
                    return Err(Error::corruption(format!(
                        "VersionEdit: unknown tag {unknown} at byte {field_start}"
                    )));
                }
            }
        }
        Ok(edit)
    }
}

/// LevelDB's `VersionEdit::DebugString`, the text `leveldb::DumpFile` prints for each MANIFEST
/// record (after `--- offset N; `), so a MANIFEST groupkv wrote can be compared line for line
/// with LevelDB's reading of it:
///
/// ```text
/// VersionEdit {
///   Comparator: leveldb.BytewiseComparator
///   AddFile: 2 5 1316 'k0' @ 1 : 1 .. 'k99' @ 100 : 1
/// }
/// ```
impl fmt::Display for VersionEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VersionEdit {")?;
        if let Some(name) = &self.comparator {
            write!(f, "\n  Comparator: {name}")?;
        }
        if let Some(n) = self.log_number {
            write!(f, "\n  LogNumber: {n}")?;
        }
        if let Some(n) = self.prev_log_number {
            write!(f, "\n  PrevLogNumber: {n}")?;
        }
        if let Some(n) = self.next_file_number {
            write!(f, "\n  NextFile: {n}")?;
        }
        if let Some(n) = self.last_sequence {
            write!(f, "\n  LastSeq: {n}")?;
        }
        for (level, key) in &self.compact_pointers {
            write!(f, "\n  CompactPointer: {level} {}", DebugKey(key))?;
        }
        for (level, number) in &self.deleted_files {
            write!(f, "\n  RemoveFile: {level} {number}")?;
        }
        for (level, file) in &self.new_files {
            write!(
                f,
                "\n  AddFile: {level} {} {} {} .. {}",
                file.number,
                file.file_size,
                DebugKey(&file.smallest),
                DebugKey(&file.largest)
            )?;
        }
        f.write_str("\n}\n")
    }
}

/// An internal key as LevelDB's `InternalKey::DebugString` prints it: `'user key' @ seq : kind`
/// with bytes outside printable ASCII escaped as `\xNN`, or `(bad)` and the escaped bytes when
/// it is not a valid internal key.
struct DebugKey<'a>(&'a [u8]);

impl fmt::Display for DebugKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escape = |f: &mut fmt::Formatter<'_>, bytes: &[u8]| -> fmt::Result {
            for &b in bytes {
                if (b' '..=b'~').contains(&b) {
                    write!(f, "{}", char::from(b))?;
                } else {
                    write!(f, "\\x{b:02x}")?;
                }
            }
            Ok(())
        };
        let split = self.0.len().checked_sub(INTERNAL_KEY_TAG_LEN);
        let tag = split.and_then(|at| crate::coding::decode_fixed64(&self.0[at..]));
        match (split, tag) {
            (Some(at), Some(tag)) if tag & 0xff <= 1 => {
                f.write_str("'")?;
                escape(f, &self.0[..at])?;
                write!(f, "' @ {} : {}", tag >> 8, tag & 0xff)
            }
            _ => {
                f.write_str("(bad)")?;
                escape(f, self.0)
            }
        }
    }
}

/// A read position in an encoded edit.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn varint32(&mut self) -> Option<u32> {
        let (v, used) = get_varint32(self.rest())?;
        self.pos += used;
        Some(v)
    }

    fn varint64(&mut self) -> Option<u64> {
        let (v, used) = get_varint64(self.rest())?;
        self.pos += used;
        Some(v)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let (b, used) = get_length_prefixed(self.rest())?;
        self.pos += used;
        Some(b)
    }

    fn varint64_for(&mut self, what: &str, field_start: usize) -> Result<u64> {
        self.varint64().ok_or_else(|| corrupt(what, field_start))
    }

    fn level(&mut self, what: &str, field_start: usize) -> Result<usize> {
        let level = self
            .varint32()
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| corrupt(what, field_start))?;
        if level >= NUM_LEVELS {
            return Err(Error::corruption(format!(
                "VersionEdit: {what} at byte {field_start} names level {level}, \
                 but there are only {NUM_LEVELS}"
            )));
        }
        Ok(level)
    }

    fn internal_key(&mut self, what: &str, field_start: usize) -> Result<&'a [u8]> {
        let key = self.bytes().ok_or_else(|| corrupt(what, field_start))?;
        if key.len() < INTERNAL_KEY_TAG_LEN {
            return Err(Error::corruption(format!(
                "VersionEdit: {what} at byte {field_start} has a {}-byte internal key, \
                 shorter than its {INTERNAL_KEY_TAG_LEN}-byte tag",
                key.len()
            )));
        }
        Ok(key)
    }
}

fn corrupt(what: &str, field_start: usize) -> Error {
    Error::corruption(format!(
        "VersionEdit: truncated or malformed {what} at byte {field_start}"
    ))
}

fn put_level(out: &mut Vec<u8>, level: usize) {
    // Levels are checked below NUM_LEVELS (7) when they enter an edit.
    put_varint32(out, u32::try_from(level).unwrap_or(u32::MAX));
}

fn check_level(level: usize) -> Result<()> {
    if level >= NUM_LEVELS {
        return Err(Error::invalid_argument(format!(
            "level {level} does not exist: levels are 0 to {}",
            NUM_LEVELS - 1
        )));
    }
    Ok(())
}

fn check_len(what: &str, len: usize) -> Result<()> {
    if u32::try_from(len).is_err() {
        return Err(Error::invalid_argument(format!(
            "{what} is {len} bytes; a MANIFEST field holds at most 4 GiB - 1"
        )));
    }
    Ok(())
}

fn check_internal_key(what: &str, key: &[u8]) -> Result<()> {
    check_len(what, key.len())?;
    if key.len() < INTERNAL_KEY_TAG_LEN {
        return Err(Error::invalid_argument(format!(
            "{what} is {} bytes, not an internal key (user key followed by an 8-byte tag)",
            key.len()
        )));
    }
    Ok(())
}
