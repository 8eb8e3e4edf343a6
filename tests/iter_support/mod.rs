//! Helpers shared by the iterator suites: tables on a `MemFs`, memtables with chosen
//! sequences, a cursor that fails on demand, and a model of what a user should see.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use groupkv::dbformat::{compare_internal_keys, internal_key, parse_internal_key, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::iter::{InternalIterator, LevelIterator, TableInternalIter, TableOpener};
use groupkv::memtable::MemTable;
use groupkv::table::{BlockReadOptions, TableBuilder, TableCache, TableOptions};
use groupkv::version::FileMetaData;
use groupkv::{Error, WriteBatch};

pub const DIR: &str = "/db";

/// One write: a user key, its sequence, and the value (`None` = a delete).
#[derive(Debug, Clone)]
pub struct Op {
    pub key: Vec<u8>,
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

impl Op {
    pub fn internal(&self) -> (Vec<u8>, Vec<u8>) {
        let kind = if self.value.is_some() {
            ValueKind::Value
        } else {
            ValueKind::Deletion
        };
        (
            internal_key(&self.key, self.seq, kind),
            self.value.clone().unwrap_or_default(),
        )
    }
}

/// `ops` as internal entries in internal-key order.
pub fn sorted_entries(ops: &[Op]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut e: Vec<_> = ops.iter().map(Op::internal).collect();
    e.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
    e
}

/// A memtable holding `ops`, each at its own sequence.
pub fn memtable(ops: &[Op]) -> Arc<MemTable> {
    let m = Arc::new(MemTable::new());
    for op in ops {
        let mut b = WriteBatch::new();
        match &op.value {
            Some(v) => b.put(&op.key, v).unwrap(),
            None => b.delete(&op.key).unwrap(),
        }
        m.insert_batch(&b, op.seq);
    }
    m
}

/// Writes table `number` holding `entries` (sorted internal entries) into `fs` under
/// [`DIR`], returning its metadata.
pub fn write_table(
    fs: &MemFs,
    number: u64,
    entries: &[(Vec<u8>, Vec<u8>)],
    block_size: usize,
) -> FileMetaData {
    fs.create_dir_all(Path::new(DIR)).unwrap();
    let path = Path::new(DIR).join(format!("{number:06}.sst"));
    let options = TableOptions {
        block_size,
        ..TableOptions::default()
    };
    let mut b = TableBuilder::new(options, fs.create(&path).unwrap(), format!("{number}"));
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    let finished = b.finish().unwrap();
    let mut file = finished.file;
    file.sync().unwrap();
    FileMetaData {
        number,
        file_size: finished.file_size,
        smallest: entries.first().map(|e| e.0.clone()).unwrap_or_default(),
        largest: entries.last().map(|e| e.0.clone()).unwrap_or_default(),
    }
}

/// A cursor over table `file` through `cache`.
pub fn table_iter(
    cache: &TableCache,
    file: &FileMetaData,
    read: BlockReadOptions,
) -> groupkv::Result<Box<dyn InternalIterator>> {
    Ok(Box::new(TableInternalIter::new(cache.iter(
        file.number,
        file.file_size,
        read,
    )?)))
}

/// Opens tables through a table cache, counting the opens.
pub struct CountingOpener {
    pub cache: Arc<TableCache>,
    pub opens: AtomicUsize,
}

impl TableOpener for CountingOpener {
    fn open(&self, file: &FileMetaData) -> groupkv::Result<Box<dyn InternalIterator>> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        table_iter(&self.cache, file, BlockReadOptions::default())
    }
}

/// A level iterator over `files` read through `cache`.
pub fn level_iter(cache: &Arc<TableCache>, files: Vec<FileMetaData>) -> LevelIterator {
    let opener = Arc::new(CountingOpener {
        cache: Arc::clone(cache),
        opens: AtomicUsize::new(0),
    });
    LevelIterator::new(files.into(), opener)
}

/// Splits sorted internal entries into runs whose user keys do not cross (a level's files),
/// each run at most about `per_file` entries.
pub fn split_level(
    entries: &[(Vec<u8>, Vec<u8>)],
    per_file: usize,
) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut files: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
    let mut cur: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for e in entries {
        let new_key = cur.last().is_some_and(|l| {
            parse_internal_key(&l.0).unwrap().user_key != parse_internal_key(&e.0).unwrap().user_key
        });
        if cur.len() >= per_file.max(1) && new_key {
            files.push(std::mem::take(&mut cur));
        }
        cur.push(e.clone());
    }
    if !cur.is_empty() {
        files.push(cur);
    }
    files
}

/// What a user should see at `seq` between the bounds: the newest write of each key at or
/// below `seq`, unless it is a delete.
pub fn visible(
    ops: &[Op],
    seq: u64,
    lower: Option<&[u8]>,
    upper: Option<&[u8]>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut newest: BTreeMap<Vec<u8>, (u64, Option<Vec<u8>>)> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.seq <= seq) {
        let e = newest.entry(op.key.clone()).or_insert((0, None));
        if op.seq >= e.0 {
            *e = (op.seq, op.value.clone());
        }
    }
    newest
        .into_iter()
        .filter(|(k, _)| lower.map_or(true, |l| k.as_slice() >= l))
        .filter(|(k, _)| upper.map_or(true, |u| k.as_slice() < u))
        .filter_map(|(k, (_, v))| v.map(|v| (k, v)))
        .collect()
}

/// A cursor over a vector that fails (becomes invalid with an I/O error) on its `fail_at`-th
/// move, counting seeks and steps.
pub struct FailingIter {
    pub inner: groupkv::iter::VecIter,
    pub moves: usize,
    pub fail_at: usize,
    pub failed: bool,
}

impl FailingIter {
    pub fn new(entries: Vec<(Vec<u8>, Vec<u8>)>, fail_at: usize) -> Self {
        FailingIter {
            inner: groupkv::iter::VecIter::new(entries),
            moves: 0,
            fail_at,
            failed: false,
        }
    }

    fn step(&mut self, f: impl FnOnce(&mut groupkv::iter::VecIter)) {
        if self.failed {
            return;
        }
        self.moves += 1;
        if self.moves >= self.fail_at {
            self.failed = true;
            return;
        }
        f(&mut self.inner);
    }
}

impl InternalIterator for FailingIter {
    fn valid(&self) -> bool {
        !self.failed && self.inner.valid()
    }
    fn seek_to_first(&mut self) {
        self.step(|i| i.seek_to_first());
    }
    fn seek_to_last(&mut self) {
        self.step(|i| i.seek_to_last());
    }
    fn seek(&mut self, target: &[u8]) {
        self.step(|i| i.seek(target));
    }
    fn next(&mut self) {
        self.step(|i| i.next());
    }
    fn prev(&mut self) {
        self.step(|i| i.prev());
    }
    fn key(&self) -> &[u8] {
        self.inner.key()
    }
    fn value(&self) -> &[u8] {
        self.inner.value()
    }
    fn status(&self) -> groupkv::Result<()> {
        if self.failed {
            return Err(Error::Io {
                context: "reading a test source".into(),
                source: Arc::new(std::io::Error::other("injected read failure")),
            });
        }
        Ok(())
    }
}
