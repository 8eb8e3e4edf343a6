//! Reads a block written by [`BlockBuilder`](super::block_builder::BlockBuilder) (the format
//! is described there) through a cursor that seeks, and steps both ways (LevelDB
//! `table/block.cc`).
//!
//! The bytes may be damaged: [`Block::new`] checks the restart array, and the cursor checks
//! every entry it decodes; a bad one makes the cursor invalid and returns `Corruption` naming
//! the block. Nothing here panics or loops forever on any input.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::coding::{decode_fixed32, get_varint32};
use crate::error::{Error, Result};

/// How the keys of a block are ordered.
pub type KeyOrder = fn(&[u8], &[u8]) -> Ordering;

/// The bytewise order (the metaindex block's, and LevelDB's `BytewiseComparator`).
pub fn bytewise(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

/// What names a block in errors, e.g. "table 000005.sst: block at offset 4113". Formatted only
/// when an error is built: a block read costs one `Arc` count, not a string.
#[derive(Debug, Clone)]
pub struct BlockOrigin {
    name: Arc<str>,
    /// The block's offset in its table, when `name` is a table's.
    offset: Option<u64>,
}

impl BlockOrigin {
    /// The block at `offset` of the table named `table`.
    pub fn table_block(table: &Arc<str>, offset: u64) -> Self {
        BlockOrigin {
            name: Arc::clone(table),
            offset: Some(offset),
        }
    }
}

impl fmt::Display for BlockOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "table {}: block at offset {offset}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl From<&str> for BlockOrigin {
    fn from(name: &str) -> Self {
        BlockOrigin {
            name: name.into(),
            offset: None,
        }
    }
}

impl From<String> for BlockOrigin {
    fn from(name: String) -> Self {
        BlockOrigin {
            name: name.into(),
            offset: None,
        }
    }
}

/// One block's contents, checked enough to be walked safely.
#[derive(Debug)]
pub struct Block {
    data: Vec<u8>,
    /// Where the restart array starts; entries lie before it.
    restart_offset: usize,
    num_restarts: usize,
    /// Names the block in errors.
    origin: BlockOrigin,
}

impl Block {
    /// Checks the restart array of `data` (a block's uncompressed contents); `origin` names the
    /// block in errors.
    pub fn new(data: Vec<u8>, origin: impl Into<BlockOrigin>) -> Result<Block> {
        let origin = origin.into();
        let bad = |what: &str| Error::corruption(format!("{origin}: {what}"));
        let n = data.len();
        let num_restarts = n
            .checked_sub(4)
            .and_then(|at| decode_fixed32(&data[at..]))
            .ok_or_else(|| bad("block is shorter than 4 bytes"))?;
        let num_restarts = usize::try_from(num_restarts).map_err(|_| bad("bad restart count"))?;
        if num_restarts > (n - 4) / 4 {
            return Err(bad("restart array is longer than the block"));
        }
        let restart_offset = n - 4 - 4 * num_restarts;
        for i in 0..num_restarts {
            let r = decode_fixed32(&data[restart_offset + 4 * i..]).unwrap_or(u32::MAX);
            if usize::try_from(r).map_or(true, |r| r > restart_offset) {
                return Err(bad("restart point past the entries"));
            }
        }
        Ok(Block {
            data,
            restart_offset,
            num_restarts,
            origin,
        })
    }

    /// The block's bytes, for reuse as a buffer once nobody reads the block.
    pub fn into_buffer(self) -> Vec<u8> {
        self.data
    }

    /// The block's length in bytes (what a cache charges for it).
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// A cursor over the block, ordered by `order`; not positioned until a seek.
    pub fn iter(self: &Arc<Self>, order: KeyOrder) -> BlockIter {
        BlockIter {
            block: Arc::clone(self),
            order,
            current: self.restart_offset,
            restart_index: self.num_restarts,
            key: Vec::new(),
            value: self.restart_offset..self.restart_offset,
        }
    }

    fn restart_point(&self, i: usize) -> usize {
        // Checked in `new` to be at most `restart_offset`.
        decode_fixed32(&self.data[self.restart_offset + 4 * i..])
            .and_then(|r| usize::try_from(r).ok())
            .unwrap_or(self.restart_offset)
    }

    fn corruption(&self, at: usize, what: &str) -> Error {
        Error::corruption(format!("{}: entry at {at}: {what}", self.origin))
    }
}

/// A decoded entry header: `(shared, non_shared, value_len, header_len)`.
fn decode_entry(input: &[u8]) -> Option<(usize, usize, usize, usize)> {
    // The usual case, as LevelDB's DecodeEntry has it: three one-byte varints (keys and values
    // under 128 bytes). Every seek decodes a dozen headers, most of them cache misses already.
    if let [a, b, c, ..] = *input {
        if (a | b | c) < 0x80 {
            let (shared, non_shared, value_len) = (usize::from(a), usize::from(b), usize::from(c));
            return (input.len() - 3 >= non_shared + value_len)
                .then_some((shared, non_shared, value_len, 3));
        }
    }
    let (shared, a) = get_varint32(input)?;
    let (non_shared, b) = get_varint32(input.get(a..)?)?;
    let (value_len, c) = get_varint32(input.get(a + b..)?)?;
    let header = a + b + c;
    let shared = usize::try_from(shared).ok()?;
    let non_shared = usize::try_from(non_shared).ok()?;
    let value_len = usize::try_from(value_len).ok()?;
    // The key delta and the value must lie inside the input.
    let body = non_shared.checked_add(value_len)?;
    if input.len() - header < body {
        return None;
    }
    Some((shared, non_shared, value_len, header))
}

/// A cursor over one block's entries.
#[derive(Debug)]
pub struct BlockIter {
    block: Arc<Block>,
    order: KeyOrder,
    /// The offset of the current entry; `restart_offset` when not valid.
    current: usize,
    /// The restart point at or before `current`.
    restart_index: usize,
    key: Vec<u8>,
    /// The current value within the block's data; its end is where the next entry starts.
    value: Range<usize>,
}

impl BlockIter {
    /// True if the cursor is at an entry.
    pub fn valid(&self) -> bool {
        self.current < self.block.restart_offset
    }

    /// The current key. Only meaningful while [`valid`](Self::valid).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current value. Only meaningful while [`valid`](Self::valid).
    pub fn value(&self) -> &[u8] {
        &self.block.data[self.value.clone()]
    }

    fn invalidate(&mut self) {
        self.current = self.block.restart_offset;
        self.restart_index = self.block.num_restarts;
        self.key.clear();
        self.value = self.current..self.current;
    }

    fn fail(&mut self, at: usize, what: &str) -> Error {
        self.invalidate();
        self.block.corruption(at, what)
    }

    fn seek_to_restart_point(&mut self, index: usize) {
        self.key.clear();
        self.restart_index = index;
        let offset = self.block.restart_point(index);
        // `parse_next` starts where the value ends.
        self.value = offset..offset;
    }

    /// Decodes the entry after the current one; `Ok(false)` at the end of the block.
    fn parse_next(&mut self) -> Result<bool> {
        // Borrows the block through its field (no `Arc` count per entry: a scan decodes
        // millions), and so reports damage after the borrow ends.
        let block = &*self.block;
        let start = self.value.end;
        self.current = start;
        if start >= block.restart_offset {
            self.invalidate();
            return Ok(false);
        }
        let entries = &block.data[start..block.restart_offset];
        let Some((shared, non_shared, value_len, header)) = decode_entry(entries) else {
            return Err(self.fail(start, "bad entry header or lengths"));
        };
        if shared > self.key.len() {
            return Err(self.fail(start, "shares more bytes than the previous key has"));
        }
        self.key.truncate(shared);
        self.key
            .extend_from_slice(&entries[header..header + non_shared]);
        let value_start = start + header + non_shared;
        self.value = value_start..value_start + value_len;
        while self.restart_index + 1 < block.num_restarts
            && block.restart_point(self.restart_index + 1) < self.current
        {
            self.restart_index += 1;
        }
        Ok(true)
    }

    /// Moves to the first entry (invalid if the block is empty).
    pub fn seek_to_first(&mut self) -> Result<()> {
        if self.block.num_restarts == 0 {
            self.invalidate();
            return Ok(());
        }
        self.seek_to_restart_point(0);
        self.parse_next().map(drop)
    }

    /// Moves to the last entry (invalid if the block is empty).
    pub fn seek_to_last(&mut self) -> Result<()> {
        if self.block.num_restarts == 0 {
            self.invalidate();
            return Ok(());
        }
        self.seek_to_restart_point(self.block.num_restarts - 1);
        while self.parse_next()? && self.value.end < self.block.restart_offset {}
        Ok(())
    }

    /// Moves to the first entry whose key is at or after `target` (invalid if none).
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        if self.block.num_restarts == 0 {
            self.invalidate();
            return Ok(());
        }
        // Binary search for the last restart point whose key is before `target`.
        let block = &*self.block;
        let (mut left, mut right) = (0, block.num_restarts - 1);
        while left < right {
            let mid = left + (right - left).div_ceil(2);
            let at = block.restart_point(mid);
            let entry = &block.data[at..block.restart_offset];
            let key = match decode_entry(entry) {
                Some((0, non_shared, _, header)) => &entry[header..header + non_shared],
                Some(_) => return Err(self.fail(at, "restart point shares a prefix")),
                None => return Err(self.fail(at, "bad entry header or lengths")),
            };
            if (self.order)(key, target) == Ordering::Less {
                left = mid;
            } else {
                right = mid - 1;
            }
        }
        self.seek_to_restart_point(left);
        while self.parse_next()? {
            if (self.order)(&self.key, target) != Ordering::Less {
                break;
            }
        }
        Ok(())
    }

    /// Moves to the next entry (invalid past the last). Requires [`valid`](Self::valid).
    // A cursor step that can fail, not an `Iterator`: the name is LevelDB's.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.parse_next().map(drop)
    }

    /// Moves to the previous entry (invalid before the first). Requires
    /// [`valid`](Self::valid).
    pub fn prev(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        let original = self.current;
        // Back to the last restart point before the current entry, then forward to the entry
        // that ends where the current one starts.
        while self.block.restart_point(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.invalidate();
                return Ok(());
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart_point(self.restart_index);
        while self.parse_next()? && self.value.end < original {}
        Ok(())
    }
}
