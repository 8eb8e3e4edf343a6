//! A table's cursor as an [`InternalIterator`]: the table cursor returns an error from each
//! move; here the first error is kept for `status` and the cursor stays invalid after it.

use crate::error::{Error, Result};
use crate::table::TableIter;

use super::InternalIterator;

/// A [`TableIter`] behind the [`InternalIterator`] interface.
#[derive(Debug)]
pub struct TableInternalIter {
    inner: TableIter,
    status: Option<Error>,
}

impl TableInternalIter {
    /// Wraps `inner`.
    pub fn new(inner: TableIter) -> Self {
        TableInternalIter {
            inner,
            status: None,
        }
    }

    /// Runs a move, keeping its error. After an error every move is refused, so the cursor
    /// never walks on past damage it reported.
    fn step(&mut self, f: impl FnOnce(&mut TableIter) -> Result<()>) {
        if self.status.is_some() {
            return;
        }
        if let Err(e) = f(&mut self.inner) {
            self.status = Some(e);
        }
    }
}

impl InternalIterator for TableInternalIter {
    fn valid(&self) -> bool {
        self.status.is_none() && self.inner.valid()
    }
    fn seek_to_first(&mut self) {
        self.step(TableIter::seek_to_first);
    }
    fn seek_to_last(&mut self) {
        self.step(TableIter::seek_to_last);
    }
    fn seek(&mut self, target: &[u8]) {
        self.step(|it| it.seek(target));
    }
    fn next(&mut self) {
        self.step(TableIter::next);
    }
    fn prev(&mut self) {
        self.step(TableIter::prev);
    }
    fn key(&self) -> &[u8] {
        self.inner.key()
    }
    fn value(&self) -> &[u8] {
        self.inner.value()
    }
    fn status(&self) -> Result<()> {
        match &self.status {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}
