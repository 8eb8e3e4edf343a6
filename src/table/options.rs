//! The knobs of writing and reading tables, each with its default and why.

use std::fmt;
use std::sync::Arc;

use super::block::Block;

/// How data, index and metaindex blocks are stored. Readers accept both always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as is (the default: the benchmarks' values are incompressible, and a block
    /// that does not shrink costs CPU on both ends for nothing).
    #[default]
    None,
    /// Raw Snappy, kept only for blocks it shrinks by at least 12.5 % (LevelDB's rule).
    Snappy,
}

/// How a table is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// The uncompressed size at which a data block is cut (default 4096, LevelDB's). Larger
    /// blocks mean a smaller index and better compression, but more bytes read per lookup.
    pub block_size: usize,
    /// Entries between restart points in data blocks (default 16, LevelDB's): a seek scans
    /// at most this many entries after its binary search; fewer means larger blocks.
    pub block_restart_interval: usize,
    /// Bits per key of the bloom filter (default `Some(10)`, about 1 % false positives);
    /// `None` or `Some(0)` writes no filter.
    pub bloom_bits_per_key: Option<u32>,
    /// Block compression (default none).
    pub compression: Compression,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: Some(10),
            compression: Compression::None,
        }
    }
}

/// Identifies a block in a [`BlockCache`]: the table's cache id and the block's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockCacheKey {
    /// Unique per open table (the file number, say).
    pub cache_id: u64,
    /// The block's offset in that table.
    pub offset: u64,
}

/// Where a table reader keeps the data blocks it read, so another lookup need not read them
/// again. Any cache fits behind it (groupkv's sharded LRU among them); it must be safe to
/// share between threads.
pub trait BlockCache: Send + Sync {
    /// The cached block, if any.
    fn lookup(&self, key: &BlockCacheKey) -> Option<Arc<Block>>;
    /// Caches `block`, which occupies `charge` bytes.
    fn insert(&self, key: BlockCacheKey, block: Arc<Block>, charge: usize);
    /// A buffer for the next block read, whose contents the read replaces: a cache may hand
    /// back the allocation of a block it evicted, bytes and length included (a 4 KiB `malloc`
    /// and `free` per read is not free, nor is zero-filling it). `Vec::new()` by default.
    fn buffer(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// How a table is read.
#[derive(Clone)]
pub struct ReadOptions {
    /// Check every block's CRC-32C as it is read (default on, RocksDB's default; LevelDB's is
    /// off). Off saves a pass over each block, at the price of reading damage as data.
    pub verify_checksums: bool,
    /// A cache for data blocks (default none: every lookup reads its block).
    pub block_cache: Option<Arc<dyn BlockCache>>,
    /// This table's id in `block_cache` (unique among the tables sharing the cache).
    pub cache_id: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            verify_checksums: true,
            block_cache: None,
            cache_id: 0,
        }
    }
}

impl fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOptions")
            .field("verify_checksums", &self.verify_checksums)
            .field("block_cache", &self.block_cache.is_some())
            .field("cache_id", &self.cache_id)
            .finish()
    }
}

/// How one read (a lookup or a cursor) treats the data blocks it reads, whatever the options
/// the table was opened with (LevelDB's per-read `ReadOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockReadOptions {
    /// Check the CRC-32C of each data block read from the file (default on). Blocks found in
    /// the block cache were checked when they were read, if their reader asked to.
    pub verify_checksums: bool,
    /// Keep the blocks read in the block cache (default on). A one-off scan turns it off so
    /// that it does not push the blocks other reads need out of the cache.
    pub fill_cache: bool,
}

impl Default for BlockReadOptions {
    fn default() -> Self {
        BlockReadOptions {
            verify_checksums: true,
            fill_cache: true,
        }
    }
}
