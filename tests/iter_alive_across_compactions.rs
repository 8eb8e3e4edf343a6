//! Readers outlive the tables they read (issues 14 and 15): an iterator and a snapshot taken
//! before many writes, flushes and full compactions that replace every table of the database
//! still read exactly their version's keys and values, including tables they had not opened
//! yet when the compactions ran; while they live, those tables stay on disk, and once the last
//! reader is dropped the next install deletes them.
//!
//! And deletion never resurrects an older value across the whole engine: a tombstone flushed
//! above the value it deletes, compactions of the level holding the value alone, then of the
//! tombstone's, and reopening, never bring the value back (LevelDB's `DBTest.DeletionMarkers`
//! sequence, run through the public API).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{DbIterator, Options, ReadOptions, WriteOptions, DB};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

const DIR: &str = "/db";

fn options(mem: &MemFs) -> Options {
    Options {
        file_system: Arc::new(mem.clone()),
        write_buffer_size: 8 << 10,
        target_file_size_base: 8 << 10,
        max_bytes_for_level_base: 32 << 10,
        level0_file_num_compaction_trigger: 2,
        // Fewer open tables than the database has: readers reopen evicted ones.
        max_open_files: 20,
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

/// The table numbers of the current version (from the `groupkv.sstables` property, one
/// `number:size[smallest .. largest]` entry per table).
fn live_tables(db: &DB) -> BTreeSet<u64> {
    let text = db.property("groupkv.sstables").unwrap();
    text.split_whitespace()
        .filter(|t| t.contains(":") && t.contains('['))
        .filter_map(|t| t.split(':').next()?.parse().ok())
        .collect()
}

/// The table files in the directory.
fn tables_on_disk(mem: &MemFs) -> BTreeSet<u64> {
    mem.list(Path::new(DIR))
        .unwrap()
        .iter()
        .filter_map(|n| n.strip_suffix(".sst")?.parse().ok())
        .collect()
}

/// Everything from the cursor's position on (forwards).
fn rest(it: &mut DbIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status().unwrap();
    out
}

fn reverse_all(it: &mut DbIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    it.seek_to_last();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    it.status().unwrap();
    out.reverse();
    out
}

fn entries(model: &Model, lo: &[u8], hi: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    model
        .range(lo.to_vec()..hi.to_vec())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn all(model: &Model) -> Vec<(Vec<u8>, Vec<u8>)> {
    model.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Overwrites every key (deleting one in `del_every`), then flushes and compacts everything.
fn rewrite_everything(db: &DB, model: &mut Model, round: u32, del_every: u32) {
    let w = WriteOptions::default();
    for i in 0..2000 {
        if i % del_every == round % del_every {
            db.delete(&w, &key(i)).unwrap();
            model.remove(&key(i));
        } else {
            let v = format!("r{round}-{i}-{}", "y".repeat(40)).into_bytes();
            db.put(&w, &key(i), &v).unwrap();
            model.insert(key(i), v);
        }
    }
    db.flush().unwrap();
    db.compact_range(None, None).unwrap();
}

#[test]
fn an_iterator_and_a_snapshot_outlive_compactions_that_replace_every_table() {
    let mem = MemFs::new();
    let db = DB::open(DIR, options(&mem)).unwrap();
    let mut model = Model::new();
    rewrite_everything(&db, &mut model, 0, 5);
    let old_tables = live_tables(&db);
    assert!(
        old_tables.len() >= 8,
        "want many tables, have {old_tables:?}"
    );
    let old_model = model.clone();

    // A plain iterator, partly consumed (the tables past its position are not open yet), one
    // at a snapshot within bounds positioned from the end, and the snapshot itself.
    let mut plain = db.iter(&ReadOptions::default()).unwrap();
    plain.seek(&key(700));
    let mut head = Vec::new();
    for _ in 0..10 {
        head.push((plain.key().to_vec(), plain.value().to_vec()));
        plain.next();
    }
    let snap = db.snapshot();
    let (lo, hi) = (key(500), key(1500));
    let mut bounded = db
        .iter(&ReadOptions {
            snapshot: Some(&snap),
            iterate_lower_bound: Some(lo.clone()),
            iterate_upper_bound: Some(hi.clone()),
            ..ReadOptions::default()
        })
        .unwrap();
    bounded.seek_to_last();
    bounded.prev();
    let before_last = bounded.key().to_vec();

    for round in 1..=4 {
        rewrite_everything(&db, &mut model, round, 3);
    }
    let stats = db.stats();
    assert_eq!(stats.num_files_at_level[0], 0, "{stats:?}");
    let new_tables = live_tables(&db);
    assert!(
        old_tables.is_disjoint(&new_tables),
        "the compactions must have replaced every table: old {old_tables:?}, now {new_tables:?}"
    );
    // The readers' tables are still there while they are held.
    let on_disk = tables_on_disk(&mem);
    assert!(
        old_tables.is_subset(&on_disk),
        "a table a reader holds was deleted: old {old_tables:?}, on disk {on_disk:?}"
    );

    // The partly consumed iterator goes on through tables it never opened before.
    let mut seen = head;
    seen.extend(rest(&mut plain));
    assert_eq!(seen, entries(&old_model, &key(700), b"l"), "plain iterator");
    assert_eq!(
        reverse_all(&mut plain),
        all(&old_model),
        "plain iterator reversed"
    );
    // The bounded one at the snapshot steps on from where it stood, then scans again.
    let want = entries(&old_model, &lo, &hi);
    assert_eq!(bounded.key(), before_last.as_slice());
    bounded.next();
    assert_eq!(bounded.key(), want[want.len() - 1].0.as_slice());
    bounded.prev();
    bounded.prev();
    assert_eq!(bounded.key(), want[want.len() - 3].0.as_slice());
    assert_eq!(
        reverse_all(&mut bounded),
        want,
        "bounded iterator at the snapshot"
    );
    // Point reads at the snapshot, and a new iterator made from it now.
    let read = ReadOptions {
        snapshot: Some(&snap),
        ..ReadOptions::default()
    };
    for i in (0..2000).step_by(7) {
        assert_eq!(
            db.get_with(&read, &key(i)).unwrap().as_ref(),
            old_model.get(&key(i))
        );
    }
    let mut late = db.iter(&read).unwrap();
    late.seek_to_first();
    assert_eq!(
        rest(&mut late),
        all(&old_model),
        "iterator made at the old snapshot"
    );
    // The latest state is the new one.
    let mut now = db.iter(&ReadOptions::default()).unwrap();
    now.seek_to_first();
    assert_eq!(rest(&mut now), all(&model));

    // Once every reader is gone, the next install deletes the old tables.
    drop((plain, bounded, late, now, snap));
    db.put(&WriteOptions::default(), b"trigger", b"x").unwrap();
    db.flush().unwrap();
    let on_disk = tables_on_disk(&mem);
    assert!(
        old_tables.is_disjoint(&on_disk),
        "old tables outlived their readers: old {old_tables:?}, on disk {on_disk:?}"
    );
    // Only live tables are left (the snapshot's versions were dropped by a compaction now).
    db.compact_range(None, None).unwrap();
    assert_eq!(tables_on_disk(&mem), live_tables(&db));
    model.insert(b"trigger".to_vec(), b"x".to_vec());
    db.close().unwrap();
    let db = DB::open(DIR, options(&mem)).unwrap();
    let mut it = db.iter(&ReadOptions::default()).unwrap();
    it.seek_to_first();
    assert_eq!(rest(&mut it), all(&model));
    drop(it);
    db.close().unwrap();
}

/// A snapshot held across compactions keeps the versions it can see; released, the next
/// compaction over those keys drops them (the tables shrink to the live data). A manual
/// compaction does not rewrite the bottom level when nothing above it overlaps (LevelDB's
/// `CompactRange`, RocksDB's default `bottommost_level_compaction`), so the release is followed
/// by one more round of writes.
#[test]
fn releasing_the_last_snapshot_lets_compaction_drop_what_it_pinned() {
    let mem = MemFs::new();
    let db = DB::open(DIR, options(&mem)).unwrap();
    let mut model = Model::new();
    rewrite_everything(&db, &mut model, 0, 1000);
    let snap = db.snapshot();
    let pinned = model.clone();
    for round in 1..=3 {
        rewrite_everything(&db, &mut model, round, 1000);
    }
    let held_bytes: u64 = db.stats().bytes_at_level.iter().sum();
    let read = ReadOptions {
        snapshot: Some(&snap),
        ..ReadOptions::default()
    };
    let mut it = db.iter(&read).unwrap();
    it.seek_to_first();
    assert_eq!(rest(&mut it), all(&pinned));
    drop(it);
    drop(snap);
    rewrite_everything(&db, &mut model, 4, 1000);
    let free_bytes: u64 = db.stats().bytes_at_level.iter().sum();
    // Two versions of every key while the snapshot lived, one after.
    assert!(
        free_bytes * 3 < held_bytes * 2,
        "bytes with the snapshot {held_bytes}, after its release {free_bytes}"
    );
    let mut it = db.iter(&ReadOptions::default()).unwrap();
    it.seek_to_first();
    assert_eq!(rest(&mut it), all(&model));
    drop(it);
    db.close().unwrap();
}

#[test]
fn deletion_never_resurrects_an_older_value_across_levels_and_reopen() {
    let mem = MemFs::new();
    let opts = Options {
        // No automatic compaction: nothing moves unless the test says so.
        level0_file_num_compaction_trigger: 100,
        level0_slowdown_writes_trigger: 100,
        level0_stop_writes_trigger: 100,
        max_bytes_for_level_base: 1 << 30,
        ..options(&mem)
    };
    let db = DB::open(DIR, opts.clone()).unwrap();
    let w = WriteOptions::default();
    // The old value, pushed to level 2.
    db.put(&w, b"foo", b"v1").unwrap();
    db.put(&w, b"a", b"a").unwrap();
    db.put(&w, b"z", b"z").unwrap();
    db.flush().unwrap();
    db.compact_level_for_test(0, None, None).unwrap();
    db.compact_level_for_test(1, None, None).unwrap();
    // The tombstone above it, in level 1, and an unrelated key in level 0.
    db.delete(&w, b"foo").unwrap();
    db.put(&w, b"m", b"m").unwrap();
    db.flush().unwrap();
    db.compact_level_for_test(0, None, None).unwrap();
    db.put(&w, b"b", b"b").unwrap();
    db.flush().unwrap();
    let levels = db.stats().num_files_at_level;
    assert_eq!(&levels[..4], &[1, 1, 1, 0], "{levels:?}");

    let check = |db: &DB, when: &str| {
        assert_eq!(db.get(b"foo").unwrap(), None, "{when}: get");
        let keys: Vec<Vec<u8>> = db
            .iter(&ReadOptions::default())
            .unwrap()
            .entries()
            .map(|e| e.unwrap().0)
            .collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"m", b"z"], "{when}: scan");
        let mut it = db.iter(&ReadOptions::default()).unwrap();
        it.seek_for_prev(b"foo");
        assert_eq!(it.key(), b"b", "{when}: seek_for_prev");
        it.next();
        assert_eq!(it.key(), b"m", "{when}: next over the deleted key");
    };
    check(&db, "tombstone in L1, value in L2");
    // The older level alone, beneath: the value moves to level 3, under the tombstone.
    db.compact_level_for_test(2, None, None).unwrap();
    let levels = db.stats().num_files_at_level;
    assert_eq!(&levels[..4], &[1, 1, 0, 1], "{levels:?}");
    check(&db, "value pushed to L3");
    db.close().unwrap();
    let db = DB::open(DIR, opts.clone()).unwrap();
    check(&db, "reopened, value in L3");
    // The tombstone's level into level 2: the value is deeper still, so the tombstone stays.
    db.compact_level_for_test(1, None, None).unwrap();
    check(&db, "tombstone in L2, value in L3");
    db.compact_level_for_test(0, None, None).unwrap();
    check(&db, "after L0 -> L1");
    db.close().unwrap();
    let db = DB::open(DIR, opts.clone()).unwrap();
    check(&db, "reopened, tombstone in L2");
    // Tombstone and value meet: both may go, the key stays deleted.
    db.compact_level_for_test(2, None, None).unwrap();
    check(&db, "after L2 -> L3");
    db.compact_range(None, None).unwrap();
    check(&db, "after a full compaction");
    db.close().unwrap();
    let db = DB::open(DIR, opts).unwrap();
    check(&db, "reopened at the end");
    db.close().unwrap();
}
