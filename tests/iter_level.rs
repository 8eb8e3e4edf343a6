//! The level iterator: the tables of one level read as one sorted run in both directions,
//! across file boundaries, with seeks into the gaps between files, opening a table only when
//! the cursor reaches it; a table that cannot be opened is the level's error.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::iter::{InternalIterator, LevelIterator, VecIter};
use groupkv::table::{TableCache, TableCacheOptions};
use groupkv::version::FileMetaData;
use groupkv::Error;
use iter_support::*;

type Entry = (Vec<u8>, Vec<u8>);

/// Five tables of keys k000..k099 in steps of 2, 20 keys each, with one empty-gap between
/// files (the odd keys are never present).
fn level() -> (MemFs, Vec<FileMetaData>, Vec<Entry>) {
    let fs = MemFs::new();
    let all: Vec<Entry> = (0..100u32)
        .step_by(2)
        .map(|i| {
            (
                internal_key(format!("k{i:03}").as_bytes(), 5, ValueKind::Value),
                i.to_le_bytes().to_vec(),
            )
        })
        .collect();
    let files = all
        .chunks(10)
        .enumerate()
        .map(|(n, chunk)| write_table(&fs, n as u64 + 1, chunk, 64))
        .collect();
    (fs, files, all)
}

fn cache(fs: &MemFs) -> Arc<TableCache> {
    Arc::new(TableCache::new(
        Arc::new(fs.clone()),
        DIR,
        TableCacheOptions::default(),
    ))
}

fn counting(
    cache: &Arc<TableCache>,
    files: &[FileMetaData],
) -> (LevelIterator, Arc<CountingOpener>) {
    let opener = Arc::new(CountingOpener {
        cache: Arc::clone(cache),
        opens: AtomicUsize::new(0),
    });
    (
        LevelIterator::new(files.to_vec().into(), Arc::clone(&opener) as _),
        opener,
    )
}

fn k(i: u32) -> Vec<u8> {
    internal_key(format!("k{i:03}").as_bytes(), 9, ValueKind::Value)
}

#[test]
fn walks_both_ways_across_file_boundaries() {
    let (fs, files, all) = level();
    let (mut it, _) = counting(&cache(&fs), &files);
    it.seek_to_first();
    let mut fwd = Vec::new();
    while it.valid() {
        fwd.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    assert_eq!(fwd, all);
    it.seek_to_last();
    let mut back = Vec::new();
    while it.valid() {
        back.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    back.reverse();
    assert_eq!(back, all);
    // Every boundary both ways: at the first key of each file, prev lands on the last key
    // of the file before, and next comes back.
    for f in &files[1..] {
        it.seek(&f.smallest);
        assert_eq!(it.key(), f.smallest);
        it.prev();
        let before = files.iter().find(|g| g.number == f.number - 1).unwrap();
        assert_eq!(it.key(), before.largest);
        it.next();
        assert_eq!(it.key(), f.smallest);
    }
}

#[test]
fn seeks_land_in_the_right_file_and_between_files() {
    let (fs, files, all) = level();
    let (mut it, _) = counting(&cache(&fs), &files);
    let model = |t: &[u8]| VecIter::new(all.clone()).tap_seek(t);
    for i in 0..101u32 {
        let target = k(i);
        it.seek(&target);
        assert_eq!(
            it.valid().then(|| it.key().to_vec()),
            model(&target),
            "seek {i}"
        );
        it.seek_for_prev(&target);
        let mut m = VecIter::new(all.clone());
        m.seek_for_prev(&target);
        assert_eq!(
            it.valid().then(|| it.key().to_vec()),
            m.valid().then(|| m.key().to_vec()),
            "seek_for_prev {i}"
        );
    }
}

trait TapSeek {
    fn tap_seek(self, t: &[u8]) -> Option<Vec<u8>>;
}

impl TapSeek for VecIter {
    fn tap_seek(mut self, t: &[u8]) -> Option<Vec<u8>> {
        self.seek(t);
        self.valid().then(|| self.key().to_vec())
    }
}

#[test]
fn tables_open_only_when_the_cursor_reaches_them() {
    let (fs, files, _) = level();
    let (mut it, opener) = counting(&cache(&fs), &files);
    assert_eq!(
        opener.opens.load(Ordering::Relaxed),
        0,
        "creating the cursor opens nothing"
    );
    it.seek(&k(42));
    assert_eq!(
        opener.opens.load(Ordering::Relaxed),
        1,
        "a seek opens one table"
    );
    for _ in 0..3 {
        it.next();
    }
    assert_eq!(
        opener.opens.load(Ordering::Relaxed),
        1,
        "steps within a table open nothing"
    );
    for _ in 0..10 {
        it.next();
    }
    assert_eq!(
        opener.opens.load(Ordering::Relaxed),
        2,
        "crossing a boundary opens the next"
    );
}

#[test]
fn empty_level_and_empty_files_are_skipped() {
    let (fs, mut files, all) = level();
    let empty = write_table(&fs, 50, &[], 64);
    // An empty table between two others (its bounds are empty keys, so it is placed by hand).
    let mut with_empty = files[..2].to_vec();
    with_empty.push(FileMetaData {
        smallest: files[1].largest.clone(),
        largest: files[1].largest.clone(),
        ..empty
    });
    with_empty.extend_from_slice(&files[2..]);
    let (mut it, _) = counting(&cache(&fs), &with_empty);
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    assert_eq!(n, all.len());
    it.seek_to_last();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.prev();
    }
    assert_eq!(n, all.len());
    files.clear();
    let (mut it, _) = counting(&cache(&fs), &files);
    it.seek_to_first();
    assert!(!it.valid());
    it.seek_to_last();
    assert!(!it.valid());
    it.seek(&k(3));
    assert!(!it.valid());
    assert!(it.status().is_ok());
}

#[test]
fn a_table_that_cannot_be_opened_is_the_levels_error() {
    let (fs, files, _) = level();
    fs.remove_file(&Path::new(DIR).join("000003.sst")).unwrap();
    let (mut it, _) = counting(&cache(&fs), &files);
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    assert_eq!(n, 20, "the two tables before the missing one are read");
    assert!(matches!(it.status(), Err(Error::Io { .. })));
    it.seek(&k(90));
    assert!(!it.valid(), "a failed level stays failed");
}
