//! Tables: sorted, immutable files of internal keys and values, in LevelDB's table format byte
//! for byte (LevelDB's `doc/table_format.md`), so LevelDB and RocksDB's tools read groupkv's
//! tables and groupkv reads LevelDB's.
//!
//! ```text
//! table := data_block* filter_block? metaindex_block index_block footer
//! ```
//!
//! * data blocks ([`block_builder`], [`block`]): the entries, prefix-compressed, restart
//!   interval 16, cut at `block_size` (4 KiB);
//! * the filter block ([`filter_block`], [`bloom`]): bloom filters of the user keys, one per
//!   2 KiB of data-block offsets;
//! * the metaindex block: `"filter.leveldb.BuiltinBloomFilter2"` → the filter block's handle;
//! * the index block: one entry per data block, a separator key (at or after the block's last
//!   key, before the next block's first) → the block's handle; restart interval 1;
//! * the footer ([`format`](mod@format)): the metaindex and index handles and the magic number.
//!
//! Every block is followed by a 5-byte trailer (compression type, masked CRC-32C).
//! [`TableBuilder`] writes a table, [`Table`] reads one, [`TableIter`] walks one.

pub mod block;
pub mod block_builder;
pub mod bloom;
pub mod builder;
pub mod cache;
pub mod filter_block;
pub mod format;
pub mod iterator;
pub mod options;
pub mod readahead;
pub mod reader;
mod table_file;

pub use builder::{FinishedTable, TableBuilder};
pub use cache::{LruBlockCache, TableCache, TableCacheOptions};
pub use iterator::TableIter;
pub use options::{
    BlockCache, BlockCacheKey, BlockReadOptions, Compression, ReadOptions, TableOptions,
};
pub use reader::{Table, TableEntry};
