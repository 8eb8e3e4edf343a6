//! Appends logical records to a log file, fragmenting them across 32 KiB blocks.
//!
//! A plain writer: no space is allocated ahead and nothing is mapped, so the file is exactly
//! the records written (what a MANIFEST needs; the WAL keeps its own allocating writer).

use super::format::{Checksum, BLOCK_SIZE};
use super::framer::Framer;
use crate::error::{Error, Result};
use crate::fs::WritableFile;

/// Writes logical records to one log file. Each [`add_record`](Writer::add_record) is a single
/// append, so a record reaches the OS whole or, on a crash, as a torn tail.
pub struct Writer {
    file: Box<dyn WritableFile>,
    /// The file's name, for error messages.
    name: String,
    /// Cuts records into fragments.
    framer: Framer,
    /// Reused framing buffer.
    buf: Vec<u8>,
    /// Bytes appended so far.
    size: u64,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("log::Writer")
            .field("name", &self.name)
            .field("framer", &self.framer)
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
            framer: Framer::new(checksum),
            buf: Vec::with_capacity(BLOCK_SIZE),
            size: 0,
        }
    }

    /// Appends one logical record (possibly empty). On error the file may hold a torn prefix
    /// of the record; the writer must not be used again (its block position is unknown).
    pub fn add_record(&mut self, data: &[u8]) -> Result<()> {
        self.buf.clear();
        self.framer.frame(&[data], &mut self.buf);
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
