//! The read API: point reads at a snapshot ([`DB::get_with`], [`DB::multi_get`]) and owned
//! iterators ([`DB::iter`]).
//!
//! Every read takes its sequence first (the snapshot's, or the published one) and loads the
//! SuperVersion after it (invariant I10), so it sees whole write groups and nothing newer.
//! An iterator pins its SuperVersion (`Arc`): the memtables and the version it reads, and so
//! their table files, stay alive until it is dropped.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::iter::{
    DbIter, DbIterOptions, InternalIterator, LevelIterator, MergingIterator, TableInternalIter,
    TableOpener,
};
use crate::memtable::Lookup;
use crate::options::ReadOptions;
use crate::table::{BlockReadOptions, TableCache};
use crate::version::{FileMetaData, NUM_LEVELS};

use super::super_version::SuperVersion;
use super::DB;

impl DB {
    /// A snapshot of the database as of now: reads with it (through
    /// [`ReadOptions::snapshot`]) see exactly the writes published before this call.
    pub fn snapshot(&self) -> super::Snapshot {
        self.snapshots.create(&self.published)
    }

    /// The value of `key` as `read` sees it (at its snapshot, or the latest write).
    pub fn get_with(&self, read: &ReadOptions<'_>, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        let sequence = self.read_sequence(read);
        let sv = self.sv.load();
        Ok(
            match sv.get(key, sequence, &self.tables, &block_read(read))? {
                Lookup::Found(v) => Some(v),
                Lookup::Deleted | Lookup::Absent => None,
            },
        )
    }

    /// The values of `keys`, all read at one sequence (so they are consistent with one
    /// another), in the order of `keys`.
    pub fn multi_get<K: AsRef<[u8]>>(
        &self,
        read: &ReadOptions<'_>,
        keys: &[K],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        self.check_usable()?;
        let sequence = self.read_sequence(read);
        let sv = self.sv.load();
        let block = block_read(read);
        keys.iter()
            .map(|k| {
                Ok(match sv.get(k.as_ref(), sequence, &self.tables, &block)? {
                    Lookup::Found(v) => Some(v),
                    Lookup::Deleted | Lookup::Absent => None,
                })
            })
            .collect()
    }

    /// An iterator over the database as `read` sees it, within its bounds. It owns what it
    /// reads (no borrow of the `DB`); after [`DB::close`] its moves stop and its status is
    /// [`Error::Closed`].
    pub fn iter(&self, read: &ReadOptions<'_>) -> Result<DbIterator> {
        self.check_usable()?;
        let sequence = self.read_sequence(read);
        let sv = self.sv.load_full();
        let block = block_read(read);
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for mem in sv.memtables() {
            children.push(Box::new(mem.iter()));
        }
        for file in sv.version.files(0) {
            let table = self.tables.iter(file.number, file.file_size, block)?;
            children.push(Box::new(TableInternalIter::new(table)));
        }
        let opener: Arc<dyn TableOpener> = Arc::new(Opener {
            tables: Arc::clone(&self.tables),
            block,
        });
        for level in 1..NUM_LEVELS {
            if sv.version.files(level).is_empty() {
                continue;
            }
            children.push(Box::new(LevelIterator::over_version(
                Arc::clone(&sv.version),
                level,
                Arc::clone(&opener),
            )));
        }
        let inner = DbIter::new(
            MergingIterator::new(children),
            DbIterOptions {
                sequence,
                lower_bound: read.iterate_lower_bound.clone(),
                upper_bound: read.iterate_upper_bound.clone(),
            },
        );
        Ok(DbIterator {
            inner,
            _pinned: sv,
            closed: Arc::clone(&self.closed),
        })
    }

    /// I10: the sequence first (a snapshot's was taken earlier), the SuperVersion after.
    fn read_sequence(&self, read: &ReadOptions<'_>) -> u64 {
        read.snapshot
            .map_or_else(|| self.published.load(Acquire), |s| s.sequence())
    }
}

fn block_read(read: &ReadOptions<'_>) -> BlockReadOptions {
    BlockReadOptions {
        verify_checksums: read.verify_checksums,
        fill_cache: read.fill_cache,
    }
}

/// Opens the tables of levels 1 and deeper for a level iterator, through the table cache.
struct Opener {
    tables: Arc<TableCache>,
    block: BlockReadOptions,
}

impl TableOpener for Opener {
    fn open(&self, file: &FileMetaData) -> Result<Box<dyn InternalIterator>> {
        let table = self.tables.iter(file.number, file.file_size, self.block)?;
        Ok(Box::new(TableInternalIter::new(table)))
    }
}

/// A cursor over the database's user keys at one sequence, from [`DB::iter`].
///
/// Not positioned until a seek. `key` and `value` may be read only while `valid`. It pins the
/// memtables and tables it reads until it is dropped.
pub struct DbIterator {
    inner: DbIter<MergingIterator<Box<dyn InternalIterator>>>,
    /// Keeps the memtables and the version (and so their files) alive.
    _pinned: Arc<SuperVersion>,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for DbIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbIterator")
            .field("valid", &self.valid())
            .finish_non_exhaustive()
    }
}

impl DbIterator {
    fn open(&self) -> bool {
        !self.closed.load(Acquire)
    }

    /// True if the cursor is at an entry (never after the database was closed).
    pub fn valid(&self) -> bool {
        self.open() && self.inner.valid()
    }

    /// The current key. Only while [`valid`](Self::valid).
    pub fn key(&self) -> &[u8] {
        self.inner.key()
    }

    /// The current value. Only while [`valid`](Self::valid).
    pub fn value(&self) -> &[u8] {
        self.inner.value()
    }

    /// `Err(Closed)` once the database is closed; otherwise the first read error met.
    pub fn status(&self) -> Result<()> {
        if !self.open() {
            return Err(Error::Closed);
        }
        self.inner.status()
    }

    /// Moves to the first key (at or after the lower bound).
    pub fn seek_to_first(&mut self) {
        if self.open() {
            self.inner.seek_to_first();
        }
    }

    /// Moves to the last key (before the upper bound).
    pub fn seek_to_last(&mut self) {
        if self.open() {
            self.inner.seek_to_last();
        }
    }

    /// Moves to the first key at or after `target`.
    pub fn seek(&mut self, target: &[u8]) {
        if self.open() {
            self.inner.seek(target);
        }
    }

    /// Moves to the last key at or before `target`.
    pub fn seek_for_prev(&mut self, target: &[u8]) {
        if self.open() {
            self.inner.seek_for_prev(target);
        }
    }

    /// Moves to the next key. Does nothing unless [`valid`](Self::valid).
    // A cursor step, not an `Iterator` (see `entries` for that): LevelDB's name.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) {
        if self.valid() {
            self.inner.next();
        }
    }

    /// Moves to the previous key. Does nothing unless [`valid`](Self::valid).
    pub fn prev(&mut self) {
        if self.valid() {
            self.inner.prev();
        }
    }

    /// The entries from the first key (within the bounds) onwards, as a Rust iterator of
    /// `(key, value)` pairs; an error ends it after being yielded once.
    pub fn entries(mut self) -> Entries {
        self.seek_to_first();
        Entries {
            it: self,
            done: false,
        }
    }
}

/// The Rust [`Iterator`] over a [`DbIterator`]'s entries, from [`DbIterator::entries`].
#[derive(Debug)]
pub struct Entries {
    it: DbIterator,
    done: bool,
}

impl Iterator for Entries {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.it.valid() {
            self.done = true;
            return self.it.status().err().map(Err);
        }
        let item = (self.it.key().to_vec(), self.it.value().to_vec());
        self.it.next();
        Some(Ok(item))
    }
}
