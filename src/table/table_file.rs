//! The file a [`TableBuilder`](super::TableBuilder) writes, with its appends gathered into
//! larger writes.
//!
//! A table is written block by block: each block (4 KiB by default) and then its 5-byte
//! trailer. Handing each of those to the file was two `pwrite` calls per block, about 1.8 M
//! system calls for the 3.7 GB of tables a 10 M-key `fillrandom` writes, on the flush and
//! compaction threads that share the machine's cores with the writers. A table is not durable
//! (nor named by any version) before its builder finishes and the caller syncs it, so holding
//! its bytes in memory a little longer changes nothing a reader or a crash can observe.

use crate::error::{Error, Result};
use crate::fs::WritableFile;

/// Bytes gathered before they go to the file (LevelDB's `PosixWritableFile` buffers 64 KiB).
const BUFFER_BYTES: usize = 64 * 1024;

/// A table file being appended to through a buffer. `offset` counts every byte appended,
/// buffered or written.
pub(super) struct TableFile {
    file: Box<dyn WritableFile>,
    buffer: Vec<u8>,
    offset: u64,
    name: String,
}

impl TableFile {
    pub(super) fn new(file: Box<dyn WritableFile>, name: String) -> Self {
        TableFile {
            file,
            buffer: Vec::with_capacity(BUFFER_BYTES),
            offset: 0,
            name,
        }
    }

    /// The table's name, for errors.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The bytes appended so far.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends `data`: into the buffer, which goes to the file once full; data at least as
    /// large as the buffer goes straight to the file (after what is buffered).
    pub(super) fn append(&mut self, data: &[u8]) -> Result<()> {
        if self.buffer.len() + data.len() > BUFFER_BYTES {
            self.flush_buffer()?;
        }
        if data.len() >= BUFFER_BYTES {
            write(&mut *self.file, &self.name, self.offset, data)?;
        } else {
            self.buffer.extend_from_slice(data);
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Hands the buffered bytes to the file.
    fn flush_buffer(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        // The buffered bytes are the last ones appended.
        let at = self.offset - self.buffer.len() as u64;
        write(&mut *self.file, &self.name, at, &self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is buffered and returns the file (every byte appended, nothing synced).
    pub(super) fn into_file(mut self) -> Result<Box<dyn WritableFile>> {
        self.flush_buffer()?;
        Ok(self.file)
    }
}

/// Writes `data`, which starts at offset `at` of table `name`, to `file`.
fn write(file: &mut dyn WritableFile, name: &str, at: u64, data: &[u8]) -> Result<()> {
    file.append(data)
        .map_err(|e| Error::io(format!("writing table {name} at offset {at}"), e))
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records each append; fails every append once `fail` is set.
    struct Recorder {
        appends: Arc<Mutex<Vec<Vec<u8>>>>,
        fail: bool,
    }

    impl WritableFile for Recorder {
        fn append(&mut self, data: &[u8]) -> io::Result<()> {
            if self.fail {
                return Err(io::Error::other("injected"));
            }
            self.appends.lock().unwrap().push(data.to_vec());
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn recorder(fail: bool) -> (TableFile, Arc<Mutex<Vec<Vec<u8>>>>) {
        let appends = Arc::new(Mutex::new(Vec::new()));
        let file = Recorder {
            appends: Arc::clone(&appends),
            fail,
        };
        (TableFile::new(Box::new(file), "t".into()), appends)
    }

    #[test]
    fn blocks_reach_the_file_whole_in_order_and_in_few_writes() {
        let (mut f, appends) = recorder(false);
        let mut expected = Vec::new();
        for i in 0..300u32 {
            // A 4 KiB block and its 5-byte trailer, as the builder appends them.
            let block = vec![(i % 251) as u8; 4096];
            let trailer = i.to_le_bytes();
            f.append(&block).unwrap();
            f.append(&trailer[..]).unwrap();
            expected.extend_from_slice(&block);
            expected.extend_from_slice(&trailer);
        }
        // One piece larger than the buffer goes to the file after what is buffered.
        let big = vec![7u8; BUFFER_BYTES + 10];
        f.append(&big).unwrap();
        expected.extend_from_slice(&big);
        f.append(b"footer").unwrap();
        expected.extend_from_slice(b"footer");
        assert_eq!(f.offset(), expected.len() as u64);
        let _file = f.into_file().unwrap();
        let appends = appends.lock().unwrap();
        assert_eq!(appends.concat(), expected);
        // 600 block and trailer appends became about one write per 64 KiB.
        assert!(
            appends.len() <= expected.len() / BUFFER_BYTES + 3,
            "{}",
            appends.len()
        );
    }

    #[test]
    fn a_failed_write_is_an_error_naming_the_table_and_offset() {
        let (mut f, _) = recorder(true);
        f.append(&[1u8; 100]).unwrap();
        // The buffered bytes fail when they are written: by the append that overflows the
        // buffer, here at offset 0 where they start.
        let err = f.append(&vec![2u8; BUFFER_BYTES]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("table t at offset 0"), "{message}");
        let (mut f, _) = recorder(true);
        f.append(b"tail").unwrap();
        assert!(
            f.into_file().is_err(),
            "the last bytes are written (and fail) at the end"
        );
    }
}
