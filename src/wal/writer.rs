//! Appends records to a log file, fragmenting them across blocks.
//!
//! The writer keeps zero-filled space allocated ahead of its records (`fallocate`): a record
//! then overwrites allocated space instead of growing the file, so the `fdatasync` after it
//! flushes the data without committing a new file size (on ext4 here: 105 µs instead of 160).
//! The real file system writes records into that space with `pwrite`, or, with the opt-in
//! `allow_mmap_writes`, copies them through a mapping (see `fs/posix.rs`). An allocation the
//! file system refuses (unsupported, out of space, past `RLIMIT_FSIZE`) only costs speed:
//! plain appends follow. The reader takes zeros from a record boundary to the end of the file
//! for the end of the log.

use std::io;

use super::format::{record_crc, RecordType, BLOCK_SIZE, HEADER_SIZE};
use crate::fs::WritableFile;

/// Writes logical records to one log file. Each [`add_record`](Writer::add_record) is a single
/// append to the file, so a record reaches the OS whole or (on a crash) as a torn tail.
pub struct Writer {
    file: Box<dyn WritableFile>,
    /// Bytes already used in the current block.
    block_offset: usize,
    /// Reused framing buffer.
    buf: Vec<u8>,
    /// Bytes appended so far (the end of the records, if every append succeeded).
    size: u64,
    /// Whether to allocate ahead, and how far the file is allocated.
    allocation: Allocation,
}

/// The allocation ahead of the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allocation {
    /// The file is `len` bytes long.
    On { len: u64 },
    /// The file system refused (unsupported, or out of space): plain appends from now on.
    Refused,
}

/// How far ahead to allocate: the log's size so far (so allocations double), within bounds.
const MIN_ALLOCATE: u64 = 64 << 10;
const MAX_ALLOCATE: u64 = 4 << 20;

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("wal::Writer")
            .field("block_offset", &self.block_offset)
            .field("size", &self.size)
            .field("allocation", &self.allocation)
            .finish()
    }
}

impl Writer {
    /// A writer appending to `file`, which is empty.
    pub fn new(file: Box<dyn WritableFile>) -> Self {
        Writer {
            file,
            block_offset: 0,
            buf: Vec::with_capacity(BLOCK_SIZE),
            size: 0,
            allocation: Allocation::On { len: 0 },
        }
    }

    /// Appends one logical record made of the concatenation of `parts` (a group's header and
    /// its batches' bodies, without copying them together first). Returns the bytes written.
    pub fn add_record(&mut self, parts: &[&[u8]]) -> io::Result<usize> {
        self.buf.clear();
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut left = total;
        // Position inside `parts`: which part, and how far into it.
        let (mut part, mut pos) = (0usize, 0usize);
        let mut begin = true;
        loop {
            let leftover = BLOCK_SIZE - self.block_offset;
            if leftover < HEADER_SIZE {
                // Too little room for a header: pad the block's trailer with zeros.
                self.buf.extend(std::iter::repeat(0u8).take(leftover));
                self.block_offset = 0;
            }
            let avail = BLOCK_SIZE - self.block_offset - HEADER_SIZE;
            let fragment = left.min(avail);
            let end = fragment == left;
            let kind = match (begin, end) {
                (true, true) => RecordType::Full,
                (true, false) => RecordType::First,
                (false, true) => RecordType::Last,
                (false, false) => RecordType::Middle,
            };
            // Header placeholder, then type and payload contiguously, so the CRC (over type and
            // payload) is computed on the framed bytes in place.
            let header_at = self.buf.len();
            self.buf.extend_from_slice(&[0u8; HEADER_SIZE]);
            self.buf[header_at + 6] = kind as u8;
            let mut need = fragment;
            while need > 0 {
                let p = parts[part];
                let take = (p.len() - pos).min(need);
                self.buf.extend_from_slice(&p[pos..pos + take]);
                need -= take;
                pos += take;
                if pos == p.len() {
                    part += 1;
                    pos = 0;
                }
            }
            // Skip exhausted or empty parts so the next fragment starts in a non-empty one.
            while part < parts.len() && pos == parts[part].len() {
                part += 1;
                pos = 0;
            }
            let crc = record_crc(&self.buf[header_at + 6..]);
            self.buf[header_at..header_at + 4].copy_from_slice(&crc.to_le_bytes());
            // `fragment` <= BLOCK_SIZE - HEADER_SIZE, which fits in u16.
            let len = u16::try_from(fragment).unwrap_or(u16::MAX);
            self.buf[header_at + 4..header_at + 6].copy_from_slice(&len.to_le_bytes());
            self.block_offset += HEADER_SIZE + fragment;
            left -= fragment;
            begin = false;
            if end {
                break;
            }
        }
        let end = self.size + self.buf.len() as u64;
        if let Allocation::On { len } = self.allocation {
            if end > len {
                let want = end + self.size.clamp(MIN_ALLOCATE, MAX_ALLOCATE);
                // A refusal costs nothing but speed: the append below grows the file.
                self.allocation = match self.file.allocate(want) {
                    Ok(()) => Allocation::On { len: want },
                    Err(_) => Allocation::Refused,
                };
            }
        }
        self.file.append(&self.buf)?;
        self.size = end;
        Ok(self.buf.len())
    }

    /// `fdatasync`s the file: every record added so far survives power loss.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync()
    }

    /// Bytes appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}
