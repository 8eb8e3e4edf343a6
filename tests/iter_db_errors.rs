//! Failures under the user's iterator: a damaged table block, a failed read, a damaged
//! internal key. Each is an error from `status`, the walk stops, and nothing shown before it
//! is wrong.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::path::Path;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::MemFs;
use groupkv::iter::{DbIter, DbIterOptions, InternalIterator, MergingIterator, VecIter};
use groupkv::table::{BlockReadOptions, TableCache, TableCacheOptions};
use groupkv::Error;
use iter_support::*;

fn ops() -> Vec<Op> {
    (0..600u64)
        .map(|i| Op {
            key: format!("key{:04}", i % 400).into_bytes(),
            seq: i + 1,
            value: (i % 7 != 3).then(|| format!("value-{i}").into_bytes()),
        })
        .collect()
}

/// A memtable with the even writes and a table with the odd ones; the table's data block at
/// about `damage_at` has a byte flipped.
fn damaged_sources(
    damage_at: usize,
) -> (
    Arc<groupkv::memtable::MemTable>,
    Arc<TableCache>,
    groupkv::version::FileMetaData,
) {
    let ops = ops();
    let (even, odd): (Vec<Op>, Vec<Op>) = ops.into_iter().partition(|o| o.seq % 2 == 0);
    let fs = MemFs::new();
    let meta = write_table(&fs, 7, &sorted_entries(&odd), 512);
    let path = Path::new(DIR).join("000007.sst");
    let mut bytes = fs.read(&path).unwrap();
    bytes[damage_at] ^= 0x40;
    fs.overwrite(&path, bytes).unwrap();
    let cache = Arc::new(TableCache::new(
        Arc::new(fs),
        DIR,
        TableCacheOptions::default(),
    ));
    (memtable(&even), cache, meta)
}

fn merged(
    mem: &Arc<groupkv::memtable::MemTable>,
    cache: &TableCache,
    meta: &groupkv::version::FileMetaData,
) -> MergingIterator<Box<dyn InternalIterator>> {
    MergingIterator::new(vec![
        Box::new(mem.iter()),
        table_iter(cache, meta, BlockReadOptions::default()).unwrap(),
    ])
}

#[test]
fn a_damaged_block_stops_the_walk_with_corruption_and_never_shows_wrong_data() {
    let want = visible(&ops(), u64::MAX >> 8, None, None);
    for damage_at in [5usize, 700, 3000, 6000] {
        let (mem, cache, meta) = damaged_sources(damage_at);
        let mut it = DbIter::new(
            merged(&mem, &cache, &meta),
            DbIterOptions {
                sequence: 10_000,
                ..DbIterOptions::default()
            },
        );
        it.seek_to_first();
        let mut got = Vec::new();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        let err = it.status().unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
        assert!(got.len() < want.len(), "the walk stopped at the damage");
        assert_eq!(got[..], want[..got.len()], "forward, damage at {damage_at}");
        // Backward from the end.
        it.seek_to_last();
        let mut back = Vec::new();
        while it.valid() {
            back.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        assert!(it.status().is_err());
        // A fresh cursor walking backward stops too, showing only a true suffix.
        let mut it = DbIter::new(
            merged(&mem, &cache, &meta),
            DbIterOptions {
                sequence: 10_000,
                ..DbIterOptions::default()
            },
        );
        it.seek_to_last();
        let mut back = Vec::new();
        while it.valid() {
            back.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        assert!(matches!(it.status(), Err(Error::Corruption { .. })));
        back.reverse();
        assert_eq!(
            back[..],
            want[want.len() - back.len()..],
            "reverse, damage at {damage_at}"
        );
    }
}

#[test]
fn without_checksums_the_damage_is_read_as_data() {
    // The contrast that shows `verify_checksums` is what catches it: a flipped byte in a
    // value reads back as a different value when checks are off.
    let (mem, cache, meta) = damaged_sources(700);
    let read = BlockReadOptions {
        verify_checksums: false,
        ..BlockReadOptions::default()
    };
    let mut it = DbIter::new(
        MergingIterator::new(vec![
            Box::new(mem.iter()) as Box<dyn InternalIterator>,
            table_iter(&cache, &meta, read).unwrap(),
        ]),
        DbIterOptions {
            sequence: 10_000,
            ..DbIterOptions::default()
        },
    );
    it.seek_to_first();
    let mut got = Vec::new();
    while it.valid() {
        got.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    // Either the damage broke the block's structure (an error), or the walk completed with
    // something different from the truth; with checksums on (above) neither can happen.
    let want = visible(&ops(), u64::MAX >> 8, None, None);
    assert!(it.status().is_err() || got != want);
}

#[test]
fn a_failed_read_below_is_the_iterators_error() {
    let data: Vec<(Vec<u8>, Vec<u8>)> = (0..50u32)
        .map(|i| {
            (
                internal_key(format!("k{i:02}").as_bytes(), 1, ValueKind::Value),
                vec![1],
            )
        })
        .collect();
    for fail_at in 1..12 {
        let mut it = DbIter::new(
            FailingIter::new(data.clone(), fail_at),
            DbIterOptions {
                sequence: 5,
                ..DbIterOptions::default()
            },
        );
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        assert!(
            matches!(it.status(), Err(Error::Io { .. })),
            "fail_at {fail_at}"
        );
        assert!(n < 50);
        // Later moves keep it invalid.
        it.seek(b"k00");
        assert!(!it.valid());
        it.seek_for_prev(b"k99");
        assert!(!it.valid());
    }
}

#[test]
fn damaged_internal_keys_are_corruption_not_a_panic() {
    let good = |k: &str| {
        (
            internal_key(k.as_bytes(), 1, ValueKind::Value),
            b"v".to_vec(),
        )
    };
    let damaged: [Vec<u8>; 3] = [
        b"abc".to_vec(),                    // shorter than a tag
        vec![b'b', 7, 0, 0, 0, 0, 0, 0, 0], // kind 7
        Vec::new(),                         // empty
    ];
    for bad in damaged {
        let entries = vec![good("a"), (bad.clone(), b"x".to_vec()), good("c")];
        let mut it = DbIter::new(
            VecIter::new(entries.clone()),
            DbIterOptions {
                sequence: 9,
                ..DbIterOptions::default()
            },
        );
        it.seek_to_first();
        while it.valid() {
            assert_ne!(it.value(), b"x", "a damaged entry was shown");
            it.next();
        }
        assert!(
            matches!(it.status(), Err(Error::Corruption { .. })),
            "{bad:?}"
        );
        let mut it = DbIter::new(
            VecIter::new(entries),
            DbIterOptions {
                sequence: 9,
                ..DbIterOptions::default()
            },
        );
        it.seek_to_last();
        while it.valid() {
            assert_ne!(it.value(), b"x");
            it.prev();
        }
        assert!(
            matches!(it.status(), Err(Error::Corruption { .. })),
            "{bad:?}"
        );
    }
}
