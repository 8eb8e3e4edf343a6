//! Builds a block: sorted entries with their keys prefix-compressed, and restart points where
//! a key is stored whole (LevelDB `table/block_builder.cc`).
//!
//! ```text
//! block    := entry* restart:fixed32* num_restarts:fixed32
//! entry    := shared:varint32 non_shared:varint32 value_len:varint32
//!             key[shared..]:non_shared bytes value:value_len bytes
//! ```
//!
//! `shared` is the length of the prefix the key has in common with the previous key; it is 0
//! at every restart point. Every `restart_interval` entries a restart point starts, and its
//! offset goes into the restart array, so a reader can binary-search the restart points and
//! then scan at most `restart_interval` entries. The first restart point is offset 0, so even
//! an empty block has one (8 bytes: `0u32, 1u32`).

use crate::coding::{put_fixed32, put_varint32};

/// Collects entries (in increasing key order) into one block's bytes.
#[derive(Debug)]
pub struct BlockBuilder {
    restart_interval: usize,
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    /// Entries since the last restart point.
    counter: usize,
    last_key: Vec<u8>,
    finished: bool,
}

impl BlockBuilder {
    /// A builder that starts a restart point every `restart_interval` entries (at least 1).
    pub fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            restart_interval: restart_interval.max(1),
            buffer: Vec::new(),
            restarts: vec![0],
            counter: 0,
            last_key: Vec::new(),
            finished: false,
        }
    }

    /// Forgets everything added, ready for the next block.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.restarts.clear();
        self.restarts.push(0);
        self.counter = 0;
        self.last_key.clear();
        self.finished = false;
    }

    /// True if no entry was added since the last reset.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The key added last.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// The size of the block if it were finished now.
    pub fn size_estimate(&self) -> usize {
        self.buffer.len() + self.restarts.len() * 4 + 4
    }

    /// Adds an entry. Keys must be added in increasing order (the table builder checks);
    /// each of key and value is shorter than 4 GiB (so are the block offsets: a block holds
    /// one entry past its target size at most, and entries are below 4 GiB each — a longer
    /// block could not be addressed by its restart array, and `add` returns `false`).
    #[must_use]
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> bool {
        debug_assert!(!self.finished);
        let (Ok(_), Ok(value_len)) = (u32::try_from(key.len()), u32::try_from(value.len())) else {
            return false;
        };
        let shared = if self.counter < self.restart_interval {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            let Ok(offset) = u32::try_from(self.buffer.len()) else {
                return false;
            };
            self.restarts.push(offset);
            self.counter = 0;
            0
        };
        let (Ok(shared32), Ok(non_shared32)) =
            (u32::try_from(shared), u32::try_from(key.len() - shared))
        else {
            return false;
        };
        put_varint32(&mut self.buffer, shared32);
        put_varint32(&mut self.buffer, non_shared32);
        put_varint32(&mut self.buffer, value_len);
        self.buffer.extend_from_slice(&key[shared..]);
        self.buffer.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.counter += 1;
        true
    }

    /// Appends the restart array and returns the block's bytes; valid until the next
    /// `reset`.
    pub fn finish(&mut self) -> &[u8] {
        if !self.finished {
            for &r in &self.restarts {
                put_fixed32(&mut self.buffer, r);
            }
            // At most one restart per entry, and entries are at least 3 bytes: fits.
            let n = u32::try_from(self.restarts.len()).unwrap_or(u32::MAX);
            put_fixed32(&mut self.buffer, n);
            self.finished = true;
        }
        &self.buffer
    }
}
