//! Opens a table and answers point lookups (LevelDB `table/table.cc`).
//!
//! Opening reads the footer, then the index block and the filter block, which stay in memory
//! for the table's life; data blocks are read on demand with `read_at` (`pread`, never a
//! mapping) and go through the optional block cache.
//!
//! The filter is found by its metaindex name, `filter.leveldb.BuiltinBloomFilter2`, whatever
//! the options the table was written with; a table without it is read without a filter. A
//! filter block that fails its checksum fails `open` (LevelDB drops such a filter silently;
//! here damage is reported wherever it is found). A malformed but intact filter answers "may
//! match" and so only costs reads.

use std::sync::Arc;

use crate::dbformat::{compare_internal_keys, parse_internal_key, LookupKey, ValueKind};
use crate::error::{Error, Result};
use crate::fs::RandomAccessFile;

use super::block::{bytewise, Block, BlockIter, BlockOrigin};
use super::bloom::BLOOM_POLICY_NAME;
use super::builder::FILTER_META_PREFIX;
use super::filter_block::FilterBlockReader;
use super::format::{
    block_span, decode_block, read_block, read_table_bytes, BlockHandle, Footer, FOOTER_LEN,
};
use super::iterator::TableIter;
use super::options::{BlockCacheKey, BlockReadOptions, ReadOptions};
use super::readahead::Readahead;

/// An open table.
pub struct Table {
    file: Box<dyn RandomAccessFile>,
    /// Names the file in errors (shared with the origin of every block read).
    name: Arc<str>,
    file_size: u64,
    options: ReadOptions,
    index: Arc<Block>,
    filter: Option<FilterBlockReader>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("file_size", &self.file_size)
            .field("filter", &self.filter.is_some())
            .finish_non_exhaustive()
    }
}

/// The newest entry of a user key visible at a lookup's sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    /// The entry's sequence number.
    pub sequence: u64,
    /// Put or delete.
    pub kind: ValueKind,
    /// The value (empty for a deletion).
    pub value: Vec<u8>,
}

impl Table {
    /// Opens the table in `file`, `file_size` bytes long; `name` names it in errors.
    pub fn open(
        file: Box<dyn RandomAccessFile>,
        name: impl Into<String>,
        file_size: u64,
        options: ReadOptions,
    ) -> Result<Table> {
        let name = name.into();
        let footer_at = file_size.checked_sub(FOOTER_LEN as u64).ok_or_else(|| {
            Error::corruption(format!(
                "table {name}: {file_size} bytes is too short to be a table"
            ))
        })?;
        let footer_bytes = file
            .read_at(footer_at, FOOTER_LEN)
            .map_err(|e| Error::io(format!("reading the footer of table {name}"), e))?;
        let footer = Footer::decode(&footer_bytes).map_err(|what| {
            Error::corruption(format!(
                "table {name}: footer at offset {footer_at}: {what}"
            ))
        })?;
        let verify = options.verify_checksums;
        let block = |handle: BlockHandle| -> Result<Arc<Block>> {
            let data = read_block(&*file, &name, file_size, handle, verify)?;
            let origin = format!("table {name}: block at offset {}", handle.offset);
            Ok(Arc::new(Block::new(data, origin)?))
        };
        let index = block(footer.index)?;
        let metaindex = block(footer.metaindex)?;
        let filter = {
            let mut it = metaindex.iter(bytewise);
            let want = format!("{FILTER_META_PREFIX}{BLOOM_POLICY_NAME}");
            it.seek(want.as_bytes())?;
            if it.valid() && it.key() == want.as_bytes() {
                let (handle, _) = BlockHandle::decode(it.value()).ok_or_else(|| {
                    Error::corruption(format!(
                        "table {name}: metaindex: bad handle of the filter block"
                    ))
                })?;
                let data = read_block(&*file, &name, file_size, handle, verify)?;
                Some(FilterBlockReader::new(data))
            } else {
                None
            }
        };
        Ok(Table {
            file,
            name: name.into(),
            file_size,
            options,
            index,
            filter,
        })
    }

    /// The table's name, as errors give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's length in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// True if the table has a bloom filter block.
    pub fn has_filter(&self) -> bool {
        self.filter.is_some()
    }

    pub(super) fn index_iter(&self) -> BlockIter {
        self.index.iter(compare_internal_keys)
    }

    /// Decodes an index entry's value and reads the data block it names (through the cache)
    /// for a cursor: `ahead` notes the load and, while the cursor scans, serves a block missing
    /// from the cache from its readahead buffer.
    pub(super) fn data_block_ahead(
        &self,
        index_value: &[u8],
        read: &BlockReadOptions,
        ahead: &mut Readahead,
    ) -> Result<Arc<Block>> {
        let (handle, _) = BlockHandle::decode(index_value).ok_or_else(|| {
            Error::corruption(format!("table {}: index: bad block handle", self.name))
        })?;
        ahead.note(handle);
        self.read_data_block(handle, read, Some(ahead))
    }

    /// The per-read options of [`get`](Self::get) and [`iter`](Self::iter): the table's
    /// checksum setting, and blocks go to the cache.
    fn default_read(&self) -> BlockReadOptions {
        BlockReadOptions {
            verify_checksums: self.options.verify_checksums,
            fill_cache: true,
        }
    }

    fn read_data_block(
        &self,
        handle: BlockHandle,
        read: &BlockReadOptions,
        ahead: Option<&mut Readahead>,
    ) -> Result<Arc<Block>> {
        let key = BlockCacheKey {
            cache_id: self.options.cache_id,
            offset: handle.offset,
        };
        if let Some(cache) = &self.options.block_cache {
            if let Some(block) = cache.lookup(&key) {
                return Ok(block);
            }
        }
        let span = block_span(&self.name, self.file_size, handle)?;
        let mut raw = self
            .options
            .block_cache
            .as_ref()
            .map_or_else(Vec::new, |cache| cache.buffer());
        let buffered = match ahead {
            Some(ahead) => ahead.read_into(
                &*self.file,
                &self.name,
                self.file_size,
                handle.offset,
                span,
                &mut raw,
            )?,
            None => false,
        };
        if !buffered {
            read_table_bytes(&*self.file, &self.name, handle.offset, span, &mut raw)?;
        }
        let data = decode_block(raw, &self.name, handle, read.verify_checksums)?;
        let origin = BlockOrigin::table_block(&self.name, handle.offset);
        let block = Arc::new(Block::new(data, origin)?);
        if let Some(cache) = self
            .options
            .block_cache
            .as_ref()
            .filter(|_| read.fill_cache)
        {
            cache.insert(key, Arc::clone(&block), block.size());
        }
        Ok(block)
    }

    /// The newest entry of `key.user_key()` with a sequence at most `key.sequence()`, if the
    /// table has one. The filter is asked first, so most absent keys cost no read.
    pub fn get(&self, key: &LookupKey) -> Result<Option<TableEntry>> {
        self.get_with(key, &self.default_read())
    }

    /// [`get`](Self::get) with per-read options.
    pub fn get_with(&self, key: &LookupKey, read: &BlockReadOptions) -> Result<Option<TableEntry>> {
        self.get_filtered(key, read).map(|(entry, _)| entry)
    }

    /// [`get_with`](Self::get_with), also saying whether the bloom filter alone answered
    /// (the key's block was never read): the database counts those as `bloom_useful`.
    pub fn get_filtered(
        &self,
        key: &LookupKey,
        read: &BlockReadOptions,
    ) -> Result<(Option<TableEntry>, bool)> {
        let mut index = self.index_iter();
        index.seek(key.internal_key())?;
        if !index.valid() {
            return Ok((None, false));
        }
        let (handle, _) = BlockHandle::decode(index.value()).ok_or_else(|| {
            Error::corruption(format!("table {}: index: bad block handle", self.name))
        })?;
        if let Some(filter) = &self.filter {
            if !filter.key_may_match(handle.offset, key.user_key()) {
                return Ok((None, true));
            }
        }
        let block = self.read_data_block(handle, read, None)?;
        let mut it = block.iter(compare_internal_keys);
        it.seek(key.internal_key())?;
        if !it.valid() {
            return Ok((None, false));
        }
        let found = parse_internal_key(it.key()).ok_or_else(|| {
            Error::corruption(format!(
                "table {}: block at offset {}: bad internal key",
                self.name, handle.offset
            ))
        })?;
        if found.user_key != key.user_key() {
            return Ok((None, false));
        }
        let entry = TableEntry {
            sequence: found.sequence,
            kind: found.kind,
            value: it.value().to_vec(),
        };
        Ok((Some(entry), false))
    }

    /// A cursor over every entry, in internal-key order; not positioned until a seek.
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter::new(Arc::clone(self), self.default_read())
    }

    /// [`iter`](Self::iter) with per-read options.
    pub fn iter_with(self: &Arc<Self>, read: BlockReadOptions) -> TableIter {
        TableIter::new(Arc::clone(self), read)
    }
}
