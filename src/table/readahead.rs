//! Readahead for a cursor walking a table's data blocks in file order (a scan): after a few
//! blocks read one after another, it reads ahead in one `pread` (16 KiB, doubling up to
//! 256 KiB) and serves the next blocks from that buffer, as RocksDB's iterators do. A 4 KiB
//! `pread` costs about as much in the system call and the page-cache lookup as in the copy, so
//! a scan of many blocks spends far less per block. Point reads and seeks that land on a
//! block away from the previous one never read ahead: they would waste the extra bytes.

use crate::error::Result;
use crate::fs::RandomAccessFile;

use super::format::{read_table_bytes, BlockHandle, BLOCK_TRAILER_LEN};

/// Loads in a row, each starting where the previous block ended, before reading ahead.
const SEQUENTIAL_LOADS: u32 = 2;
/// The first read ahead, doubled at each further one up to [`MAX_READAHEAD`].
const INITIAL_READAHEAD: usize = 16 << 10;
/// The largest read ahead (RocksDB's `max_auto_readahead_size`).
pub const MAX_READAHEAD: usize = 256 << 10;

/// One cursor's readahead state and buffer.
#[derive(Debug)]
pub struct Readahead {
    /// Where `buf` starts in the file.
    offset: u64,
    buf: Vec<u8>,
    /// Where the last block loaded ended (with its trailer).
    next_expected: u64,
    /// Loads in a row that started at `next_expected`.
    sequential: u32,
    /// The size of the next read ahead.
    size: usize,
}

impl Default for Readahead {
    fn default() -> Self {
        Readahead {
            offset: 0,
            buf: Vec::new(),
            next_expected: u64::MAX,
            sequential: 0,
            size: INITIAL_READAHEAD,
        }
    }
}

impl Readahead {
    /// Notes that the cursor loads the block at `handle` (from the cache or not).
    pub fn note(&mut self, handle: BlockHandle) {
        if handle.offset == self.next_expected {
            self.sequential = self.sequential.saturating_add(1);
        } else {
            self.sequential = 0;
            self.size = INITIAL_READAHEAD;
        }
        self.next_expected = handle
            .offset
            .saturating_add(handle.size)
            .saturating_add(BLOCK_TRAILER_LEN as u64);
    }

    /// Copies the `span` bytes at `offset` of `file` (`file_size` bytes long, named `name` in
    /// errors) into `out` from the readahead buffer, reading ahead into it first if the cursor
    /// is scanning; `false` (and `out` untouched) when the cursor is not scanning: the caller
    /// reads just the block. `offset + span` must be within the file.
    pub fn read_into(
        &mut self,
        file: &dyn RandomAccessFile,
        name: &str,
        file_size: u64,
        offset: u64,
        span: usize,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if self.buffered(offset, span).is_none() {
            if self.sequential < SEQUENTIAL_LOADS {
                return Ok(false);
            }
            let rest = usize::try_from(file_size.saturating_sub(offset)).unwrap_or(usize::MAX);
            let len = self.size.max(span).min(rest);
            if let Err(e) = read_table_bytes(file, name, offset, len, &mut self.buf) {
                // A failed read may have overwritten part of the buffer: it holds nothing now.
                self.buf.clear();
                return Err(e);
            }
            self.offset = offset;
            self.size = (self.size * 2).min(MAX_READAHEAD);
        }
        let Some(bytes) = self.buffered(offset, span) else {
            return Ok(false);
        };
        out.clear();
        out.extend_from_slice(bytes);
        Ok(true)
    }

    /// The bytes `offset..offset + span` if the buffer holds them all.
    fn buffered(&self, offset: u64, span: usize) -> Option<&[u8]> {
        let start = usize::try_from(offset.checked_sub(self.offset)?).ok()?;
        self.buf.get(start..start.checked_add(span)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A file of `len` bytes whose byte i is `i as u8`, counting its reads.
    #[derive(Debug)]
    struct Counting {
        len: u64,
        reads: AtomicUsize,
    }

    impl RandomAccessFile for Counting {
        fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            assert!(offset + len as u64 <= self.len);
            Ok((offset..offset + len as u64)
                .map(|i| (i % 251) as u8)
                .collect())
        }
        fn file_size(&self) -> std::io::Result<u64> {
            Ok(self.len)
        }
    }

    fn handle(offset: u64, span: usize) -> BlockHandle {
        BlockHandle {
            offset,
            size: (span - BLOCK_TRAILER_LEN) as u64,
        }
    }

    #[test]
    fn a_scan_reads_ahead_and_returns_the_right_bytes() {
        let file = Counting {
            len: 1 << 20,
            reads: AtomicUsize::new(0),
        };
        let mut ra = Readahead::default();
        let (span, blocks) = (4101usize, 200u64);
        let mut read_alone = 0;
        for b in 0..blocks {
            let offset = b * span as u64;
            ra.note(handle(offset, span));
            let mut bytes = vec![7; 3];
            if !ra
                .read_into(&file, "t", file.len, offset, span, &mut bytes)
                .unwrap()
            {
                read_alone += 1;
                bytes = file.read_at(offset, span).unwrap();
            }
            let want: Vec<u8> = (offset..offset + span as u64)
                .map(|i| (i % 251) as u8)
                .collect();
            assert_eq!(bytes, want, "block {b}");
        }
        // The first loads read alone; then 16, 32, ... 256 KiB reads serve ~820 KiB.
        assert_eq!(read_alone, SEQUENTIAL_LOADS);
        let reads = file.reads.load(Ordering::Relaxed);
        assert!(reads < 12, "{reads} reads for {blocks} blocks");
    }

    #[test]
    fn jumps_never_read_ahead_and_the_file_end_caps_the_read() {
        let file = Counting {
            len: 100_000,
            reads: AtomicUsize::new(0),
        };
        let mut ra = Readahead::default();
        for offset in [50_000u64, 10_000, 90_000, 20_000] {
            ra.note(handle(offset, 1000));
            let mut out = Vec::new();
            assert!(!ra
                .read_into(&file, "t", file.len, offset, 1000, &mut out)
                .unwrap());
        }
        // Three in a row at the file's end: the read ahead stops at the end.
        for offset in [97_000u64, 98_000, 99_000] {
            ra.note(handle(offset, 1000));
            let mut out = Vec::new();
            let got = ra
                .read_into(&file, "t", file.len, offset, 1000, &mut out)
                .unwrap();
            assert_eq!(got, offset == 99_000);
            assert_eq!(out.len(), if got { 1000 } else { 0 });
        }
        assert_eq!(file.reads.load(Ordering::Relaxed), 1);
    }

    /// Fails its `fail`-th read after scribbling over the caller's buffer, as a `pread` that
    /// stops half-way does.
    #[derive(Debug)]
    struct Scribbling {
        inner: Counting,
        fail: usize,
    }

    impl RandomAccessFile for Scribbling {
        fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
            self.inner.read_at(offset, len)
        }
        fn read_at_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
            if self.inner.reads.load(Ordering::Relaxed) + 1 == self.fail {
                self.inner.reads.fetch_add(1, Ordering::Relaxed);
                buf.clear();
                buf.resize(len, 0xEE);
                return Err(std::io::Error::other("injected"));
            }
            *buf = self.inner.read_at(offset, len)?;
            Ok(())
        }
        fn file_size(&self) -> std::io::Result<u64> {
            Ok(self.inner.len)
        }
    }

    #[test]
    fn a_failed_read_ahead_leaves_no_stale_bytes_behind() {
        let file = Scribbling {
            inner: Counting {
                len: 1 << 20,
                reads: AtomicUsize::new(0),
            },
            fail: 2,
        };
        let span = 1000usize;
        let mut ra = Readahead::default();
        let mut results = Vec::new();
        for b in 0..40u64 {
            let offset = b * span as u64;
            ra.note(handle(offset, span));
            let mut out = Vec::new();
            match ra.read_into(&file, "t", file.inner.len, offset, span, &mut out) {
                Ok(true) => {
                    let want: Vec<u8> = (offset..offset + span as u64)
                        .map(|i| (i % 251) as u8)
                        .collect();
                    assert_eq!(out, want, "block {b}");
                    results.push(true);
                }
                Ok(false) => results.push(false),
                Err(_) => results.push(false),
            }
        }
        // The first read ahead served blocks 2..18 (16 KiB), the second failed; later blocks
        // are read again, never served from the scribbled buffer.
        assert!(results.iter().filter(|&&ok| ok).count() > 20);
    }
}
