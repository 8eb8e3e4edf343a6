//! Cuts logical records into the log format's fragments: the one place the framing is written,
//! shared by the plain log writer (MANIFEST) and the WAL writer (which adds allocation ahead
//! and mapped stores around it).

use super::format::{Checksum, RecordType, BLOCK_SIZE, HEADER_SIZE};

/// Frames records for one log file: knows where in its 32 KiB block the file ends.
#[derive(Debug, Clone)]
pub struct Framer {
    checksum: Checksum,
    /// Bytes already used in the current block.
    block_offset: usize,
}

impl Framer {
    /// A framer for an empty file.
    pub fn new(checksum: Checksum) -> Self {
        Framer {
            checksum,
            block_offset: 0,
        }
    }

    /// The checksum the fragments carry.
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// Appends to `buf` the bytes of one logical record made of the concatenation of `parts`
    /// (a group's header and its batches' bodies, without copying them together first): block
    /// trailers, then fragments with their headers. The caller must write all of `buf` at the
    /// end of the file, or never use this framer again (the block position would be wrong).
    pub fn frame(&mut self, parts: &[&[u8]], buf: &mut Vec<u8>) {
        let mut left: usize = parts.iter().map(|p| p.len()).sum();
        // Position inside `parts`: which part, and how far into it.
        let (mut part, mut pos) = (0usize, 0usize);
        let mut begin = true;
        loop {
            let leftover = BLOCK_SIZE - self.block_offset;
            if leftover < HEADER_SIZE {
                // Too little room for a header: pad the block's trailer with zeros.
                buf.resize(buf.len() + leftover, 0);
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
            let header_at = buf.len();
            buf.extend_from_slice(&[0u8; HEADER_SIZE]);
            buf[header_at + 6] = kind as u8;
            let mut need = fragment;
            while need > 0 {
                let p = parts[part];
                let take = (p.len() - pos).min(need);
                buf.extend_from_slice(&p[pos..pos + take]);
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
            let crc = self.checksum.record_crc(&buf[header_at + 6..]);
            buf[header_at..header_at + 4].copy_from_slice(&crc.to_le_bytes());
            // `fragment` <= BLOCK_SIZE - HEADER_SIZE (32761), which fits in u16.
            let len = u16::try_from(fragment).unwrap_or(u16::MAX);
            buf[header_at + 4..header_at + 6].copy_from_slice(&len.to_le_bytes());
            self.block_offset += HEADER_SIZE + fragment;
            left -= fragment;
            begin = false;
            if end {
                return;
            }
        }
    }
}
