//! A cursor over a whole table: a cursor over the index block, and one over the data block
//! the current index entry names (LevelDB's `table/two_level_iterator.cc`). Empty data blocks
//! are stepped over in both directions.

use std::sync::Arc;

use crate::dbformat::compare_internal_keys;
use crate::error::Result;

use super::block::BlockIter;
use super::options::BlockReadOptions;
use super::readahead::Readahead;
use super::reader::Table;

/// A cursor over a table's entries in internal-key order.
#[derive(Debug)]
pub struct TableIter {
    table: Arc<Table>,
    read: BlockReadOptions,
    index: BlockIter,
    /// The cursor over the data block of the current index entry, if one is loaded.
    data: Option<BlockIter>,
    /// Reads ahead when the cursor walks the blocks in order.
    ahead: Readahead,
}

impl TableIter {
    pub(super) fn new(table: Arc<Table>, read: BlockReadOptions) -> Self {
        let index = table.index_iter();
        TableIter {
            table,
            read,
            index,
            data: None,
            ahead: Readahead::default(),
        }
    }

    /// True if the cursor is at an entry.
    pub fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(BlockIter::valid)
    }

    /// The current internal key. Only meaningful while [`valid`](Self::valid).
    pub fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], BlockIter::key)
    }

    /// The current value. Only meaningful while [`valid`](Self::valid).
    pub fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], BlockIter::value)
    }

    /// Loads the data block of the current index entry (none if the index is exhausted).
    fn load_data_block(&mut self) -> Result<()> {
        self.data = None;
        if self.index.valid() {
            let block =
                self.table
                    .data_block_ahead(self.index.value(), &self.read, &mut self.ahead)?;
            self.data = Some(block.iter(compare_internal_keys));
        }
        Ok(())
    }

    /// Forward past empty data blocks.
    fn skip_empty_forward(&mut self) -> Result<()> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.next()?;
            self.load_data_block()?;
            if let Some(d) = &mut self.data {
                d.seek_to_first()?;
            }
        }
        Ok(())
    }

    /// Backward past empty data blocks.
    fn skip_empty_backward(&mut self) -> Result<()> {
        while !self.valid() {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.prev()?;
            self.load_data_block()?;
            if let Some(d) = &mut self.data {
                d.seek_to_last()?;
            }
        }
        Ok(())
    }

    /// Runs a move; on an error the cursor is left invalid.
    fn guard(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = f(self);
        if r.is_err() {
            self.data = None;
        }
        r
    }

    /// Moves to the first entry (invalid if the table is empty).
    pub fn seek_to_first(&mut self) -> Result<()> {
        self.guard(|s| {
            s.index.seek_to_first()?;
            s.load_data_block()?;
            if let Some(d) = &mut s.data {
                d.seek_to_first()?;
            }
            s.skip_empty_forward()
        })
    }

    /// Moves to the last entry (invalid if the table is empty).
    pub fn seek_to_last(&mut self) -> Result<()> {
        self.guard(|s| {
            s.index.seek_to_last()?;
            s.load_data_block()?;
            if let Some(d) = &mut s.data {
                d.seek_to_last()?;
            }
            s.skip_empty_backward()
        })
    }

    /// Moves to the first entry at or after the internal key `target` (invalid if none).
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guard(|s| {
            s.index.seek(target)?;
            s.load_data_block()?;
            if let Some(d) = &mut s.data {
                d.seek(target)?;
            }
            s.skip_empty_forward()
        })
    }

    /// Moves to the next entry. Requires [`valid`](Self::valid).
    // A cursor step that can fail, not an `Iterator`: the name is LevelDB's.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.guard(|s| {
            if let Some(d) = &mut s.data {
                d.next()?;
            }
            s.skip_empty_forward()
        })
    }

    /// Moves to the previous entry. Requires [`valid`](Self::valid).
    pub fn prev(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.guard(|s| {
            if let Some(d) = &mut s.data {
                d.prev()?;
            }
            s.skip_empty_backward()
        })
    }
}
