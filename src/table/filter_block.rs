//! The filter block: one bloom filter per 2 KiB range of data-block offsets, so a lookup asks
//! the filter of the range its data block starts in (LevelDB `table/filter_block.cc`).
//!
//! ```text
//! filter_block := filter* offset:fixed32* array_start:fixed32 base_lg:u8
//! ```
//!
//! Filter `i` covers the data blocks that start at offsets in `[i << base_lg, (i + 1) <<
//! base_lg)`, `base_lg = 11`; `offset[i]` is where it starts in the block and `offset[i + 1]`
//! (or `array_start` for the last) where it ends. Ranges without a data block get an empty
//! filter. The keys given to the filters are user keys (the internal key minus its tag).

use crate::coding::{decode_fixed32, put_fixed32};

use super::bloom::BloomPolicy;

/// log2 of the range of data-block offsets one filter covers.
pub const FILTER_BASE_LG: u8 = 11;
const FILTER_BASE: u64 = 1 << FILTER_BASE_LG;

/// Collects the keys of each data block and writes their filters.
#[derive(Debug)]
pub struct FilterBlockBuilder {
    policy: BloomPolicy,
    /// The keys of the filter being collected, concatenated, and where each starts.
    keys: Vec<u8>,
    starts: Vec<usize>,
    result: Vec<u8>,
    filter_offsets: Vec<u32>,
}

impl FilterBlockBuilder {
    /// A builder whose filters use `policy`.
    pub fn new(policy: BloomPolicy) -> Self {
        FilterBlockBuilder {
            policy,
            keys: Vec::new(),
            starts: Vec::new(),
            result: Vec::new(),
            filter_offsets: Vec::new(),
        }
    }

    /// A data block starts at `block_offset`: the keys added so far belong to the filters
    /// before the one covering that offset.
    pub fn start_block(&mut self, block_offset: u64) {
        let index = block_offset / FILTER_BASE;
        while (self.filter_offsets.len() as u64) < index {
            self.generate_filter();
        }
    }

    /// Adds a key (a user key) of the current data block.
    pub fn add_key(&mut self, key: &[u8]) {
        self.starts.push(self.keys.len());
        self.keys.extend_from_slice(key);
    }

    /// The block's contents.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.starts.is_empty() {
            self.generate_filter();
        }
        let array_start = self.offset_now();
        for &o in &self.filter_offsets {
            put_fixed32(&mut self.result, o);
        }
        put_fixed32(&mut self.result, array_start);
        self.result.push(FILTER_BASE_LG);
        self.result
    }

    fn offset_now(&self) -> u32 {
        // A filter block holds at most a few bits per key of a table below 4 GiB of keys.
        u32::try_from(self.result.len()).unwrap_or(u32::MAX)
    }

    fn generate_filter(&mut self) {
        self.filter_offsets.push(self.offset_now());
        if self.starts.is_empty() {
            return;
        }
        let keys = &self.keys;
        let starts = &self.starts;
        let slices = starts.iter().enumerate().map(|(i, &s)| {
            let e = starts.get(i + 1).copied().unwrap_or(keys.len());
            &keys[s..e]
        });
        self.policy.create_filter(slices, &mut self.result);
        self.keys.clear();
        self.starts.clear();
    }
}

/// Answers "may the data block at this offset hold this key?" from a filter block.
#[derive(Debug)]
pub struct FilterBlockReader {
    data: Vec<u8>,
    /// Where the offset array starts.
    array_start: usize,
    num_filters: usize,
    base_lg: u8,
}

impl FilterBlockReader {
    /// Reads a filter block's contents. A malformed block gives a reader that answers "may
    /// match" to everything (LevelDB's rule: a filter can only save reads, never lose keys).
    pub fn new(data: Vec<u8>) -> Self {
        let n = data.len();
        let parsed = n.checked_sub(5).and_then(|end| {
            let base_lg = data[n - 1];
            let array_start = usize::try_from(decode_fixed32(&data[end..])?).ok()?;
            (array_start <= end).then_some((base_lg, array_start, (end - array_start) / 4))
        });
        match parsed {
            Some((base_lg, array_start, num_filters)) => FilterBlockReader {
                data,
                array_start,
                num_filters,
                base_lg,
            },
            None => FilterBlockReader {
                data: Vec::new(),
                array_start: 0,
                num_filters: 0,
                base_lg: FILTER_BASE_LG,
            },
        }
    }

    /// False only if the data block starting at `block_offset` certainly holds no entry
    /// whose user key is `key`.
    pub fn key_may_match(&self, block_offset: u64, key: &[u8]) -> bool {
        let index = block_offset
            .checked_shr(u32::from(self.base_lg))
            .unwrap_or(0);
        let Some(index) = usize::try_from(index)
            .ok()
            .filter(|&i| i < self.num_filters)
        else {
            return true;
        };
        let at = self.array_start + 4 * index;
        let start = decode_fixed32(&self.data[at..]).and_then(|v| usize::try_from(v).ok());
        let limit = decode_fixed32(&self.data[at + 4..]).and_then(|v| usize::try_from(v).ok());
        match (start, limit) {
            (Some(s), Some(l)) if s <= l && l <= self.array_start => {
                if s == l {
                    // An empty filter: no key of this range.
                    false
                } else {
                    BloomPolicy::key_may_match(key, &self.data[s..l])
                }
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BloomPolicy {
        BloomPolicy::new(10)
    }

    // The cases of LevelDB's table/filter_block_test.cc, as behaviour.
    #[test]
    fn empty_builder_writes_five_bytes_and_matches_everything() {
        let block = FilterBlockBuilder::new(policy()).finish();
        assert_eq!(block, [0, 0, 0, 0, 11]);
        let r = FilterBlockReader::new(block);
        assert!(r.key_may_match(0, b"foo"));
        assert!(r.key_may_match(100_000, b"foo"));
    }

    #[test]
    fn single_chunk() {
        let mut b = FilterBlockBuilder::new(policy());
        b.start_block(100);
        b.add_key(b"foo");
        b.add_key(b"bar");
        b.add_key(b"box");
        b.start_block(200);
        b.add_key(b"box");
        b.start_block(300);
        b.add_key(b"hello");
        let r = FilterBlockReader::new(b.finish());
        for k in [&b"foo"[..], b"bar", b"box", b"hello"] {
            assert!(r.key_may_match(100, k));
        }
        assert!(!r.key_may_match(100, b"missing"));
        assert!(!r.key_may_match(100, b"other"));
    }

    #[test]
    fn multiple_chunks_with_empty_ranges() {
        let mut b = FilterBlockBuilder::new(policy());
        b.start_block(0);
        b.add_key(b"foo");
        b.start_block(2000);
        b.add_key(b"bar");
        b.start_block(3100);
        b.add_key(b"box");
        b.start_block(9000);
        b.add_key(b"box");
        b.add_key(b"hello");
        let r = FilterBlockReader::new(b.finish());
        // First filter.
        assert!(r.key_may_match(0, b"foo"));
        assert!(r.key_may_match(2000, b"bar"));
        assert!(!r.key_may_match(0, b"box"));
        assert!(!r.key_may_match(0, b"hello"));
        // Second filter.
        assert!(r.key_may_match(3100, b"box"));
        assert!(!r.key_may_match(3100, b"foo"));
        assert!(!r.key_may_match(3100, b"bar"));
        assert!(!r.key_may_match(3100, b"hello"));
        // Third filter is empty.
        for k in [&b"foo"[..], b"bar", b"box", b"hello"] {
            assert!(!r.key_may_match(4100, k));
        }
        // Last filter.
        assert!(r.key_may_match(9000, b"box"));
        assert!(r.key_may_match(9000, b"hello"));
        assert!(!r.key_may_match(9000, b"foo"));
        assert!(!r.key_may_match(9000, b"bar"));
    }

    #[test]
    fn malformed_blocks_match_everything() {
        for data in [vec![], vec![1, 2, 3], vec![0xff, 0xff, 0xff, 0x7f, 11]] {
            assert!(FilterBlockReader::new(data).key_may_match(0, b"k"));
        }
    }
}
