//! The two caches of the read path (LevelDB's `db/table_cache.cc` and the block cache of
//! `util/cache.cc`), both on [`crate::cache::Cache`]:
//!
//! * [`TableCache`]: file number → open [`Table`] (its file, index and filter in memory),
//!   bounded by `max_open_files`, so a database with more tables than file descriptors still
//!   reads all of them, reopening the least recently used when it must;
//! * [`LruBlockCache`]: (table id, block offset) → data block, bounded in bytes, the table
//!   reader's [`BlockCache`] hook.
//!
//! Both hand out `Arc`s: a table evicted while a cursor reads it stays open until that cursor
//! is dropped, and a block evicted while read stays valid.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::cache::{Cache, DEFAULT_SHARDS};
use crate::dbformat::LookupKey;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::sync::Mutex;

use super::block::Block;
use super::options::{BlockCache, BlockCacheKey, BlockReadOptions, ReadOptions};
use super::reader::{Table, TableEntry};
use super::TableIter;

/// The default block cache capacity: 8 MiB, LevelDB's.
pub const DEFAULT_BLOCK_CACHE_SIZE: usize = 8 << 20;

/// The default `max_open_files`: 1000, LevelDB's.
pub const DEFAULT_MAX_OPEN_FILES: usize = 1000;

/// Files a database keeps open besides tables (WALs, MANIFEST, LOCK, ...): the table cache
/// holds `max_open_files` minus these (LevelDB's `kNumNonTableCacheFiles`).
const NON_TABLE_FILES: usize = 10;

/// The fewest tables a shard of the table cache holds (see [`TableCache::new`]).
const TABLES_PER_SHARD: usize = 64;

/// Evicted blocks' buffers kept for the next reads: enough for the misses in flight of a few
/// threads; a buffer past [`SPARE_BUFFER_MAX`] bytes is freed (a rare huge block).
const SPARE_BUFFERS: usize = 32;
/// The largest buffer kept for reuse.
const SPARE_BUFFER_MAX: usize = 64 << 10;

/// A sharded LRU of data blocks, charged by block size, counting hits and misses.
#[derive(Debug)]
pub struct LruBlockCache {
    cache: Cache<BlockCacheKey, Arc<Block>>,
    /// The buffers of evicted blocks nobody read any more, for [`BlockCache::buffer`]: with a
    /// cache smaller than the data each miss evicts about one block, and glibc's `malloc` and
    /// `free` of a 4 KiB buffer (past its thread cache) cost ~10 % of a read from the page
    /// cache. At most [`SPARE_BUFFERS`] of [`SPARE_BUFFER_MAX`] bytes, outside the capacity.
    spare: Mutex<Vec<Vec<u8>>>,
}

impl LruBlockCache {
    /// A cache holding up to `capacity` bytes of blocks (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        LruBlockCache {
            cache: Cache::new(capacity),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// Keeps the buffer of `block` if the cache held its last reference.
    fn recycle(&self, block: Arc<Block>) {
        let Ok(block) = Arc::try_unwrap(block) else {
            return;
        };
        let buffer = block.into_buffer();
        if buffer.capacity() > SPARE_BUFFER_MAX {
            return;
        }
        let mut spare = self.spare.lock();
        if spare.len() < SPARE_BUFFERS {
            spare.push(buffer);
        }
    }

    /// A fresh id for a table sharing this cache: blocks of different tables never collide,
    /// even when a file is reopened after its table was evicted.
    pub fn new_id(&self) -> u64 {
        self.cache.new_id()
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.cache.hits()
    }

    /// Lookups that had to read their block.
    pub fn misses(&self) -> u64 {
        self.cache.misses()
    }

    /// Bytes of blocks held now.
    pub fn usage(&self) -> usize {
        self.cache.total_charge()
    }

    /// Blocks held now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True if no block is held.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.cache.capacity()
    }
}

impl Default for LruBlockCache {
    /// A cache of [`DEFAULT_BLOCK_CACHE_SIZE`] (8 MiB).
    fn default() -> Self {
        LruBlockCache::new(DEFAULT_BLOCK_CACHE_SIZE)
    }
}

impl BlockCache for LruBlockCache {
    fn lookup(&self, key: &BlockCacheKey) -> Option<Arc<Block>> {
        self.cache.get(key)
    }

    fn insert(&self, key: BlockCacheKey, block: Arc<Block>, charge: usize) {
        self.cache
            .insert_evicting(key, block, charge, &mut |old| self.recycle(old));
    }

    fn buffer(&self) -> Vec<u8> {
        // The old block's bytes stay: the read overwrites them, and keeping the length spares
        // it zero-filling a buffer it is about to overwrite.
        self.spare.lock().pop().unwrap_or_default()
    }
}

/// How a [`TableCache`] opens tables.
#[derive(Debug, Clone)]
pub struct TableCacheOptions {
    /// Open files the database may use (default 1000); the cache holds this minus 10
    /// tables, at least 1.
    pub max_open_files: usize,
    /// Check the checksums of each table's index, metaindex and filter blocks when it is
    /// opened (default on).
    pub verify_checksums: bool,
    /// The block cache every table shares (default none).
    pub block_cache: Option<Arc<LruBlockCache>>,
}

impl Default for TableCacheOptions {
    fn default() -> Self {
        TableCacheOptions {
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            verify_checksums: true,
            block_cache: None,
        }
    }
}

/// Open tables by file number, at most `max_open_files − 10` at a time.
#[derive(Debug)]
pub struct TableCache {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    options: TableCacheOptions,
    tables: Cache<u64, Arc<Table>>,
    /// Lookups the bloom filter answered without reading a data block.
    bloom_useful: AtomicU64,
}

/// `NNNNNN.sst`, the name groupkv gives table `number` (LevelDB's `TableFileName`).
fn table_file_name(number: u64) -> String {
    format!("{number:06}.sst")
}

/// `NNNNNN.ldb`, the name LevelDB gives its tables (LevelDB's `SSTTableFileName` is the
/// older `.sst`; both are read, as LevelDB reads both).
fn leveldb_table_file_name(number: u64) -> String {
    format!("{number:06}.ldb")
}

impl TableCache {
    /// A cache of the tables in `dir`, read through `fs`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: impl Into<PathBuf>,
        options: TableCacheOptions,
    ) -> Self {
        let capacity = options
            .max_open_files
            .saturating_sub(NON_TABLE_FILES)
            .max(1);
        // Shards let parallel readers find their tables without one shared lock, but each
        // shard evicts on its own share of the capacity: with few tables per shard the cache
        // would evict long before it is full. At least 64 tables a shard (the default 990
        // tables get 15 shards), one shard for small capacities, so the bound is exact there.
        let shards = (capacity / TABLES_PER_SHARD).clamp(1, DEFAULT_SHARDS);
        TableCache {
            fs,
            dir: dir.into(),
            tables: Cache::with_shards(capacity, shards),
            options,
            bloom_useful: AtomicU64::new(0),
        }
    }

    /// The block cache the tables share, if any.
    pub fn block_cache(&self) -> Option<&Arc<LruBlockCache>> {
        self.options.block_cache.as_ref()
    }

    /// Tables open now.
    pub fn open_tables(&self) -> usize {
        self.tables.len()
    }

    /// The open table `number` (`file_size` bytes), opening it if it is not cached.
    pub fn find_table(&self, number: u64, file_size: u64) -> Result<Arc<Table>> {
        if let Some(table) = self.tables.get(&number) {
            return Ok(table);
        }
        let table = Arc::new(self.open_table(number, file_size)?);
        // A failed open is not cached (LevelDB's rule): the file may be readable next time.
        self.tables.insert(number, Arc::clone(&table), 1);
        Ok(table)
    }

    fn open_table(&self, number: u64, file_size: u64) -> Result<Table> {
        let path = self.dir.join(table_file_name(number));
        let file = match self.fs.open_random_access(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let old = self.dir.join(leveldb_table_file_name(number));
                self.fs
                    .open_random_access(&old)
                    .map_err(|_| Error::io(format!("opening table {}", display(&path)), e))?
            }
            Err(e) => return Err(Error::io(format!("opening table {}", display(&path)), e)),
        };
        let block_cache = self.options.block_cache.clone();
        let cache_id = block_cache.as_ref().map_or(0, |c| c.new_id());
        let read = ReadOptions {
            verify_checksums: self.options.verify_checksums,
            block_cache: block_cache.map(|c| c as Arc<dyn BlockCache>),
            cache_id,
        };
        Table::open(file, display(&path), file_size, read)
    }

    /// The newest entry of `key`'s user key visible at its sequence in table `number`.
    pub fn get(
        &self,
        number: u64,
        file_size: u64,
        key: &LookupKey,
        read: &BlockReadOptions,
    ) -> Result<Option<TableEntry>> {
        let (entry, filtered) = self
            .find_table(number, file_size)?
            .get_filtered(key, read)?;
        if filtered {
            self.bloom_useful.fetch_add(1, Relaxed);
        }
        Ok(entry)
    }

    /// Lookups through [`get`](Self::get) that the bloom filter answered alone (no data block
    /// read) since the cache was made.
    pub fn bloom_useful(&self) -> u64 {
        self.bloom_useful.load(Relaxed)
    }

    /// A cursor over table `number`; it keeps the table open even if the cache evicts it.
    pub fn iter(&self, number: u64, file_size: u64, read: BlockReadOptions) -> Result<TableIter> {
        Ok(self.find_table(number, file_size)?.iter_with(read))
    }

    /// Forgets table `number` (its file is obsolete). Cursors over it keep it open until they
    /// are dropped; its blocks age out of the block cache.
    pub fn evict(&self, number: u64) {
        self.tables.erase(&number);
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
