//! Cursors over internal keys, and the layers that compose them into what a user reads
//! (LevelDB's `table/merger.cc`, `table/two_level_iterator.cc`, `db/db_iter.cc`).
//!
//! Every source of entries — a memtable, a table, a level of tables — is an
//! [`InternalIterator`]: a cursor over internal keys (`user_key ‖ fixed64(seq << 8 | kind)`) in
//! internal-key order ([`compare_internal_keys`]). The layers above know nothing of where the
//! entries come from:
//!
//! * [`MergingIterator`] merges any number of them into one ordered stream;
//! * [`LevelIterator`] concatenates the sorted, non-overlapping tables of one level, opening
//!   each only when the cursor reaches it;
//! * [`DbIter`] alone knows about sequences and tombstones: it turns the merged stream into
//!   the user's view as of one sequence, between optional bounds.
//!
//! Moves do not return errors: a cursor that fails becomes invalid and reports the failure
//! through [`status`](InternalIterator::status), as LevelDB's iterators do. Callers check
//! `status` whenever `valid` turns false.

#![forbid(unsafe_code)]

use std::cmp::Ordering;

use crate::dbformat::compare_internal_keys;
use crate::error::Result;

pub mod db_iter;
pub mod level;
pub mod merging;
pub mod table;
pub mod vec;

pub use db_iter::{DbIter, DbIterOptions};
pub use level::{LevelIterator, TableOpener};
pub use merging::MergingIterator;
pub use table::TableInternalIter;
pub use vec::VecIter;

/// A cursor over internal keys in internal-key order, positioned at an entry or invalid.
///
/// `key` and `value` may only be called while `valid`; they borrow the cursor, so the bytes
/// stay put until the next move. `Send` so that a boxed cursor can live in an object that C or
/// Python hands between threads.
pub trait InternalIterator: Send {
    /// True if the cursor is at an entry.
    fn valid(&self) -> bool;
    /// Moves to the first entry.
    fn seek_to_first(&mut self);
    /// Moves to the last entry.
    fn seek_to_last(&mut self);
    /// Moves to the first entry at or after the internal key `target`.
    fn seek(&mut self, target: &[u8]);
    /// Moves to the last entry at or before the internal key `target`.
    ///
    /// The default seeks forward and steps back, which is right for any cursor; sources that
    /// can search backwards directly override it.
    fn seek_for_prev(&mut self, target: &[u8]) {
        self.seek(target);
        if !self.valid() {
            if self.status().is_err() {
                return;
            }
            self.seek_to_last();
        }
        while self.valid() && compare_internal_keys(self.key(), target) == Ordering::Greater {
            self.prev();
        }
    }
    /// Moves to the next entry. Does nothing unless `valid`.
    fn next(&mut self);
    /// Moves to the previous entry. Does nothing unless `valid`.
    fn prev(&mut self);
    /// The current internal key.
    fn key(&self) -> &[u8];
    /// The current value.
    fn value(&self) -> &[u8];
    /// The first error this cursor met, if any. A cursor that failed is invalid.
    fn status(&self) -> Result<()>;
}

impl<I: InternalIterator + ?Sized> InternalIterator for Box<I> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn seek_to_first(&mut self) {
        (**self).seek_to_first();
    }
    fn seek_to_last(&mut self) {
        (**self).seek_to_last();
    }
    fn seek(&mut self, target: &[u8]) {
        (**self).seek(target);
    }
    fn seek_for_prev(&mut self, target: &[u8]) {
        (**self).seek_for_prev(target);
    }
    fn next(&mut self) {
        (**self).next();
    }
    fn prev(&mut self) {
        (**self).prev();
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
    fn status(&self) -> Result<()> {
        (**self).status()
    }
}
