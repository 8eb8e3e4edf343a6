//! Appends logical records to a log file, fragmenting them across 32 KiB blocks.
//!
//! A plain writer: no space is allocated ahead and nothing is mapped, so the file is exactly
//! the records written (what a MANIFEST needs; the WAL keeps its own allocating writer).

use super::format::{Checksum, RecordType, BLOCK_SIZE, HEADER_SIZE};
use crate::error::{Error, Result};
use crate::fs::WritableFile;

/// Writes logical records to one log file. Each [`add_record`](Writer::add_record) is a single
/// append, so a record reaches the OS whole or, on a crash, as a torn tail.
pub struct Writer {
    file: Box<dyn WritableFile>,
    /// The file's name, for error messages.
    name: String,
    checksum: Checksum,
    /// Bytes already used in the current block.
    block_offset: usize,
    /// Reused framing buffer.
    buf: Vec<u8>,
    /// Bytes appended so far.
    size: u64,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("log::Writer")
            .field("name", &self.name)
            .field("checksum", &self.checksum)
            .field("block_offset", &self.block_offset)
            .field("size", &self.size)
            .finish()
    }
}

impl Writer {
    /// A CRC-32C writer appending to `file` (named `name` in errors), which is empty.
    pub fn new(file: Box<dyn WritableFile>, name: impl Into<String>) -> Self {
        Writer::with_checksum(file, name, Checksum::Crc32c)
    }

    /// A writer with the given checksum. Only tests write IEEE logs (to build first-layout
    /// directories); the database never does.
    pub fn with_checksum(
        file: Box<dyn WritableFile>,
        name: impl Into<String>,
        checksum: Checksum,
    ) -> Self {
        Writer {
            file,
            name: name.into(),
            checksum,
            block_offset: 0,
            buf: Vec::with_capacity(BLOCK_SIZE),
            size: 0,
        }
    }

    /// Appends one logical record (possibly empty). On error the file may hold a torn prefix
    /// of the record; the writer must not be used again (its block position is unknown).
    pub fn add_record(&mut self, data: &[u8]) -> Result<()> {
        self.buf.clear();
        let mut rest = data;
        let mut begin = true;
        loop {
            let leftover = BLOCK_SIZE - self.block_offset;
            if leftover < HEADER_SIZE {
                // Too little room for a header: pad the block's trailer with zeros.
                self.buf.resize(self.buf.len() + leftover, 0);
                self.block_offset = 0;
            }
            let avail = BLOCK_SIZE - self.block_offset - HEADER_SIZE;
            let fragment = rest.len().min(avail);
            let end = fragment == rest.len();
            let kind = match (begin, end) {
                (true, true) => RecordType::Full,
                (true, false) => RecordType::First,
                (false, true) => RecordType::Last,
                (false, false) => RecordType::Middle,
            };
            let header_at = self.buf.len();
            self.buf.extend_from_slice(&[0u8; HEADER_SIZE]);
            self.buf[header_at + 6] = kind as u8;
            self.buf.extend_from_slice(&rest[..fragment]);
            let crc = self.checksum.record_crc(&self.buf[header_at + 6..]);
            self.buf[header_at..header_at + 4].copy_from_slice(&crc.to_le_bytes());
            // `fragment` <= BLOCK_SIZE - HEADER_SIZE, which fits in u16.
            let len = u16::try_from(fragment)
                .map_err(|_| Error::invalid_argument("log fragment longer than a block"))?;
            self.buf[header_at + 4..header_at + 6].copy_from_slice(&len.to_le_bytes());
            self.block_offset += HEADER_SIZE + fragment;
            rest = &rest[fragment..];
            begin = false;
            if end {
                break;
            }
        }
        self.file
            .append(&self.buf)
            .map_err(|e| Error::io(format!("appending to {}", self.name), e))?;
        self.size += self.buf.len() as u64;
        Ok(())
    }

    /// `fdatasync`s the file: every record added so far survives power loss.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync()
            .map_err(|e| Error::io(format!("syncing {}", self.name), e))
    }

    /// Bytes appended so far (the file's size if every append succeeded).
    pub fn size(&self) -> u64 {
        self.size
    }
}
