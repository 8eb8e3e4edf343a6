//! A cursor over entries held in a vector: the simplest [`InternalIterator`], for tests and
//! for small in-memory sources.

use std::cmp::Ordering;

use crate::dbformat::compare_internal_keys;
use crate::error::Result;

use super::InternalIterator;

/// A cursor over `(internal key, value)` pairs, sorted at construction.
#[derive(Debug, Clone)]
pub struct VecIter {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// `entries.len()` when invalid.
    pos: usize,
}

impl VecIter {
    /// A cursor over `entries`, which are sorted here in internal-key order. Not positioned
    /// until a seek.
    pub fn new(mut entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        entries.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
        let pos = entries.len();
        VecIter { entries, pos }
    }

    fn first_at_or_after(&self, target: &[u8]) -> usize {
        self.entries
            .partition_point(|(k, _)| compare_internal_keys(k, target) == Ordering::Less)
    }
}

impl InternalIterator for VecIter {
    fn valid(&self) -> bool {
        self.pos < self.entries.len()
    }
    fn seek_to_first(&mut self) {
        self.pos = 0;
    }
    fn seek_to_last(&mut self) {
        self.pos = self
            .entries
            .len()
            .checked_sub(1)
            .unwrap_or(self.entries.len());
    }
    fn seek(&mut self, target: &[u8]) {
        self.pos = self.first_at_or_after(target);
    }
    fn seek_for_prev(&mut self, target: &[u8]) {
        let after = self
            .entries
            .partition_point(|(k, _)| compare_internal_keys(k, target) != Ordering::Greater);
        self.pos = after.checked_sub(1).unwrap_or(self.entries.len());
    }
    fn next(&mut self) {
        if self.valid() {
            self.pos += 1;
        }
    }
    fn prev(&mut self) {
        if self.valid() {
            self.pos = self.pos.checked_sub(1).unwrap_or(self.entries.len());
        }
    }
    fn key(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |(k, _)| k)
    }
    fn value(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |(_, v)| v)
    }
    fn status(&self) -> Result<()> {
        Ok(())
    }
}
