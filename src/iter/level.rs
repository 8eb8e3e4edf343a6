//! One cursor over the tables of a level ≥ 1 (LevelDB's `Version::LevelFileNumIterator` with
//! `TwoLevelIterator`): the files are sorted and do not overlap, so the level reads as one
//! sorted run. Only the table under the cursor is open; the next one is opened, through a
//! [`TableOpener`], when the cursor crosses into it, so a scan of a few keys opens a few
//! tables, not the whole level.

#![forbid(unsafe_code)]

use std::cmp::Ordering;
use std::sync::Arc;

use crate::dbformat::compare_internal_keys;
use crate::error::{Error, Result};
use crate::version::{FileMetaData, Version};

use super::InternalIterator;

/// Opens a cursor over one table of a level (through the table cache, in a database).
pub trait TableOpener: Send + Sync {
    /// A cursor over `file`'s entries, not positioned.
    fn open(&self, file: &FileMetaData) -> Result<Box<dyn InternalIterator>>;
}

impl<F> TableOpener for F
where
    F: Fn(&FileMetaData) -> Result<Box<dyn InternalIterator>> + Send + Sync,
{
    fn open(&self, file: &FileMetaData) -> Result<Box<dyn InternalIterator>> {
        self(file)
    }
}

/// The files a [`LevelIterator`] walks.
enum Files {
    /// A list of its own.
    Owned(Arc<[FileMetaData]>),
    /// One level of a version the cursor keeps alive: a database cursor created per seek
    /// (seekrandom) used to copy every file's metadata of every level, two key allocations
    /// each, where LevelDB's cursor refers to its version's list.
    Version(Arc<Version>, usize),
}

impl Files {
    fn len(&self) -> usize {
        match self {
            Files::Owned(files) => files.len(),
            Files::Version(version, level) => version.files(*level).len(),
        }
    }

    fn get(&self, index: usize) -> Option<&FileMetaData> {
        match self {
            Files::Owned(files) => files.get(index),
            Files::Version(version, level) => version.files(*level).get(index).map(|f| &**f),
        }
    }

    /// The number of leading files for which `pred` holds (`slice::partition_point`).
    fn partition_point(&self, pred: impl Fn(&FileMetaData) -> bool) -> usize {
        match self {
            Files::Owned(files) => files.partition_point(|f| pred(f)),
            Files::Version(version, level) => version.files(*level).partition_point(|f| pred(f)),
        }
    }
}

/// A cursor over the concatenated entries of sorted, non-overlapping tables.
pub struct LevelIterator {
    files: Files,
    opener: Arc<dyn TableOpener>,
    /// The file `current` reads; `files.len()` when none.
    index: usize,
    current: Option<Box<dyn InternalIterator>>,
    status: Option<Error>,
}

impl std::fmt::Debug for LevelIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelIterator")
            .field("files", &self.files.len())
            .field("index", &self.index)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl LevelIterator {
    /// A cursor over `files` (sorted by key, non-overlapping), opening each through `opener`.
    /// Not positioned until a seek.
    pub fn new(files: Arc<[FileMetaData]>, opener: Arc<dyn TableOpener>) -> Self {
        LevelIterator::over(Files::Owned(files), opener)
    }

    /// A cursor over the files of `level` in `version`, which it keeps alive, opening each
    /// through `opener`. Not positioned until a seek.
    pub fn over_version(version: Arc<Version>, level: usize, opener: Arc<dyn TableOpener>) -> Self {
        LevelIterator::over(Files::Version(version, level), opener)
    }

    fn over(files: Files, opener: Arc<dyn TableOpener>) -> Self {
        let index = files.len();
        LevelIterator {
            files,
            opener,
            index,
            current: None,
            status: None,
        }
    }

    /// Opens file `index` (or none past the end), keeping the open cursor if it is that file.
    fn open(&mut self, index: usize) {
        if index == self.index && self.current.is_some() {
            return;
        }
        self.index = index;
        self.current = None;
        let Some(file) = self.files.get(index) else {
            self.index = self.files.len();
            return;
        };
        match self.opener.open(file) {
            Ok(it) => self.current = Some(it),
            Err(e) => self.status = Some(e),
        }
    }

    /// True once this level failed: then it shows nothing more.
    fn failed(&mut self) -> bool {
        if self.status.is_none() {
            if let Some(Err(e)) = self.current.as_ref().map(|c| c.status()) {
                self.status = Some(e);
            }
        }
        if self.status.is_some() {
            self.current = None;
            return true;
        }
        false
    }

    /// Forward past exhausted (or empty) tables.
    fn skip_forward(&mut self) {
        while !self.failed() && !self.current.as_ref().is_some_and(|c| c.valid()) {
            if self.index >= self.files.len() {
                self.current = None;
                return;
            }
            self.open(self.index + 1);
            if let Some(c) = &mut self.current {
                c.seek_to_first();
            }
        }
    }

    /// Backward past exhausted (or empty) tables.
    fn skip_backward(&mut self) {
        while !self.failed() && !self.current.as_ref().is_some_and(|c| c.valid()) {
            if self.index == 0 || self.index >= self.files.len() {
                self.current = None;
                self.index = self.files.len();
                return;
            }
            self.open(self.index - 1);
            if let Some(c) = &mut self.current {
                c.seek_to_last();
            }
        }
    }
}

impl InternalIterator for LevelIterator {
    fn valid(&self) -> bool {
        self.status.is_none() && self.current.as_ref().is_some_and(|c| c.valid())
    }

    fn seek_to_first(&mut self) {
        if self.failed() {
            return;
        }
        self.open(0);
        if let Some(c) = &mut self.current {
            c.seek_to_first();
        }
        self.skip_forward();
    }

    fn seek_to_last(&mut self) {
        if self.failed() {
            return;
        }
        self.open(self.files.len().saturating_sub(1));
        if let Some(c) = &mut self.current {
            c.seek_to_last();
        }
        self.skip_backward();
    }

    fn seek(&mut self, target: &[u8]) {
        if self.failed() {
            return;
        }
        // The first file whose largest key is at or after the target (LevelDB's FindFile).
        let index = self
            .files
            .partition_point(|f| compare_internal_keys(&f.largest, target) == Ordering::Less);
        self.open(index);
        if let Some(c) = &mut self.current {
            c.seek(target);
        }
        self.skip_forward();
    }

    fn seek_for_prev(&mut self, target: &[u8]) {
        if self.failed() {
            return;
        }
        // The last file whose smallest key is at or before the target.
        let after = self
            .files
            .partition_point(|f| compare_internal_keys(&f.smallest, target) != Ordering::Greater);
        let Some(index) = after.checked_sub(1) else {
            self.current = None;
            self.index = self.files.len();
            return;
        };
        self.open(index);
        if let Some(c) = &mut self.current {
            c.seek_for_prev(target);
        }
        self.skip_backward();
    }

    fn next(&mut self) {
        if !self.valid() {
            return;
        }
        if let Some(c) = &mut self.current {
            c.next();
        }
        self.skip_forward();
    }

    fn prev(&mut self) {
        if !self.valid() {
            return;
        }
        if let Some(c) = &mut self.current {
            c.prev();
        }
        self.skip_backward();
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.key())
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.value())
    }

    fn status(&self) -> Result<()> {
        match &self.status {
            Some(e) => Err(e.clone()),
            None => self.current.as_ref().map_or(Ok(()), |c| c.status()),
        }
    }
}
