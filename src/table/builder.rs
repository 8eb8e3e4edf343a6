//! Writes a table: data blocks, then the filter block, the metaindex, the index and the footer
//! (LevelDB `table/table_builder.cc`; the layout is in [`super`]).
//!
//! Keys are internal keys ([`crate::dbformat`]), added in strictly increasing internal-key
//! order. A data block is cut once its size estimate reaches `block_size`; its index entry is
//! written when the next key is known, as the shortest separator between the block's last key
//! and that next key (or a short successor of the last key for the last block), so index keys
//! stay short.

use std::cmp::Ordering;

use crate::dbformat::{
    compare_internal_keys, extract_user_key, internal_short_successor, internal_shortest_separator,
};
use crate::error::{Error, Result};
use crate::fs::WritableFile;

use super::block_builder::BlockBuilder;
use super::bloom::{BloomPolicy, BLOOM_POLICY_NAME};
use super::filter_block::FilterBlockBuilder;
use super::format::{append_trailer, BlockHandle, BlockType, Footer};
use super::options::{Compression, TableOptions};
use super::table_file::TableFile;

/// The prefix of the filter block's metaindex key.
pub const FILTER_META_PREFIX: &str = "filter.";

/// A finished table.
pub struct FinishedTable {
    /// The file, every byte appended (not synced: the caller decides).
    pub file: Box<dyn WritableFile>,
    /// The table's length in bytes.
    pub file_size: u64,
    /// The number of entries.
    pub num_entries: u64,
}

impl std::fmt::Debug for FinishedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishedTable")
            .field("file_size", &self.file_size)
            .field("num_entries", &self.num_entries)
            .finish_non_exhaustive()
    }
}

/// Writes one table into a file.
pub struct TableBuilder {
    options: TableOptions,
    /// The file, its name (for errors) and the bytes appended so far.
    file: TableFile,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    filter: Option<FilterBlockBuilder>,
    last_key: Vec<u8>,
    num_entries: u64,
    /// The last data block was written and awaits its index entry (written when the next
    /// key, or the end, is known).
    pending_index: Option<BlockHandle>,
    /// Scratch space for compression.
    compressed: Vec<u8>,
}

impl std::fmt::Debug for TableBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableBuilder")
            .field("name", &self.file.name())
            .field("offset", &self.file.offset())
            .field("num_entries", &self.num_entries)
            .finish_non_exhaustive()
    }
}

impl TableBuilder {
    /// A builder writing into `file` (empty, positioned at 0); `name` names it in errors.
    pub fn new(
        options: TableOptions,
        file: Box<dyn WritableFile>,
        name: impl Into<String>,
    ) -> Self {
        let filter = options
            .bloom_bits_per_key
            .filter(|&b| b > 0)
            .map(|b| FilterBlockBuilder::new(BloomPolicy::new(b)));
        let data_block = BlockBuilder::new(options.block_restart_interval);
        TableBuilder {
            options,
            file: TableFile::new(file, name.into()),
            data_block,
            // One restart per entry: index lookups binary-search without a scan.
            index_block: BlockBuilder::new(1),
            filter,
            last_key: Vec::new(),
            num_entries: 0,
            pending_index: None,
            compressed: Vec::new(),
        }
    }

    /// The entries added so far.
    pub fn num_entries(&self) -> u64 {
        self.num_entries
    }

    /// The last key added (empty before the first): the table's largest key until `finish`.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// The bytes written so far (the table's size once finished).
    pub fn file_size(&self) -> u64 {
        self.file.offset()
    }

    /// Adds an entry. `key` is an internal key after every key added before, each of key
    /// and value shorter than 4 GiB.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.num_entries > 0 && compare_internal_keys(key, &self.last_key) != Ordering::Greater {
            return Err(Error::invalid_argument(format!(
                "table {}: keys must be added in increasing order",
                self.file.name()
            )));
        }
        if let Some(handle) = self.pending_index.take() {
            internal_shortest_separator(&mut self.last_key, key);
            if !self.index_block.add(&self.last_key, &handle.encode()) {
                return Err(self.too_large());
            }
        }
        if let Some(f) = &mut self.filter {
            f.add_key(extract_user_key(key));
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        if !self.data_block.add(key, value) {
            return Err(self.too_large());
        }
        self.num_entries += 1;
        if self.data_block.size_estimate() >= self.options.block_size {
            self.flush()?;
        }
        Ok(())
    }

    fn too_large(&self) -> Error {
        Error::invalid_argument(format!(
            "table {}: a key or value of 4 GiB or more",
            self.file.name()
        ))
    }

    /// Writes the current data block, if it has entries.
    fn flush(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let handle = write_block(
            &mut self.data_block,
            self.options.compression,
            &mut self.compressed,
            &mut self.file,
        )?;
        self.pending_index = Some(handle);
        if let Some(f) = &mut self.filter {
            f.start_block(self.file.offset());
        }
        Ok(())
    }

    /// Writes the rest of the table: the last data block, filter, metaindex, index, footer.
    pub fn finish(mut self) -> Result<FinishedTable> {
        self.flush()?;
        let mut metaindex = BlockBuilder::new(self.options.block_restart_interval);
        if let Some(filter) = self.filter.take() {
            let contents = filter.finish();
            let handle = write_raw_block(&contents, BlockType::Uncompressed, &mut self.file)?;
            let key = format!("{FILTER_META_PREFIX}{BLOOM_POLICY_NAME}");
            if !metaindex.add(key.as_bytes(), &handle.encode()) {
                return Err(self.too_large());
            }
        }
        let metaindex_handle = write_block(
            &mut metaindex,
            self.options.compression,
            &mut self.compressed,
            &mut self.file,
        )?;
        if let Some(handle) = self.pending_index.take() {
            internal_short_successor(&mut self.last_key);
            if !self.index_block.add(&self.last_key, &handle.encode()) {
                return Err(self.too_large());
            }
        }
        let index_handle = write_block(
            &mut self.index_block,
            self.options.compression,
            &mut self.compressed,
            &mut self.file,
        )?;
        let footer = Footer {
            metaindex: metaindex_handle,
            index: index_handle,
        }
        .encode();
        self.file.append(&footer)?;
        let file_size = self.file.offset();
        Ok(FinishedTable {
            file: self.file.into_file()?,
            file_size,
            num_entries: self.num_entries,
        })
    }
}

/// Finishes `block`, compresses it if asked and worth it, writes it, and resets the builder.
fn write_block(
    block: &mut BlockBuilder,
    compression: Compression,
    scratch: &mut Vec<u8>,
    file: &mut TableFile,
) -> Result<BlockHandle> {
    let raw = block.finish();
    let mut contents: &[u8] = raw;
    let mut block_type = BlockType::Uncompressed;
    if compression == Compression::Snappy {
        scratch.resize(snap::raw::max_compress_len(raw.len()), 0);
        if let Ok(n) = snap::raw::Encoder::new().compress(raw, scratch) {
            // Keep it only if it saves at least 12.5 %.
            if n < raw.len() - raw.len() / 8 {
                contents = &scratch[..n];
                block_type = BlockType::Snappy;
            }
        }
    }
    let handle = write_raw_block(contents, block_type, file)?;
    block.reset();
    Ok(handle)
}

/// Writes `contents` and its trailer.
fn write_raw_block(
    contents: &[u8],
    block_type: BlockType,
    file: &mut TableFile,
) -> Result<BlockHandle> {
    let handle = BlockHandle {
        offset: file.offset(),
        size: contents.len() as u64,
    };
    file.append(contents)?;
    let mut trailer = Vec::with_capacity(5);
    append_trailer(&mut trailer, contents, block_type);
    file.append(&trailer)?;
    Ok(handle)
}
