//! The compaction thread and `DB::compact_range` in a running database: level 0 is kept near
//! its trigger by background compactions, a manual compaction pushes a range down and drops
//! what no reader can see, and neither ever changes what a reader reads (checked against a
//! `BTreeMap`, before and after reopening).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use groupkv::{Options, ReadOptions, WriteOptions, DB};

fn small_options() -> Options {
    Options {
        write_buffer_size: 16 << 10,
        target_file_size_base: 32 << 10,
        max_bytes_for_level_base: 128 << 10,
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// Checks every key of `model` (and a few absent ones) with `get`, and a full scan.
fn check(db: &DB, model: &BTreeMap<Vec<u8>, Vec<u8>>, universe: u32) {
    for i in 0..universe {
        let k = key(i);
        assert_eq!(
            db.get(&k).unwrap(),
            model.get(&k).cloned(),
            "key {}",
            String::from_utf8_lossy(&k)
        );
    }
    let scanned: BTreeMap<Vec<u8>, Vec<u8>> = db
        .iter(&ReadOptions::default())
        .unwrap()
        .entries()
        .map(Result::unwrap)
        .collect();
    assert_eq!(scanned.len(), model.len());
    assert!(scanned == *model, "the scan differs from the model");
}

/// Waits until level 0 is below `limit` files (background compaction caught up).
fn wait_for_level0_below(db: &DB, limit: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.stats().num_files_at_level[0] >= limit {
        assert!(
            Instant::now() < deadline,
            "level 0 stayed at {:?}",
            db.stats().num_files_at_level
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn table_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Puts, overwrites and deletes over 3,000 keys in a pseudo-random order.
fn churn(db: &DB, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, rounds: u32, universe: u32) {
    let w = WriteOptions::default();
    let mut x: u32 = 12345;
    for round in 0..rounds {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let k = key((x >> 8) % universe);
        if round % 5 == 4 {
            db.delete(&w, &k).unwrap();
            model.remove(&k);
        } else {
            let v = format!("value-{round}-{}", "x".repeat(80)).into_bytes();
            db.put(&w, &k, &v).unwrap();
            model.insert(k, v);
        }
    }
}

#[test]
fn background_compactions_keep_level0_near_its_trigger_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    let mut model = BTreeMap::new();
    churn(&db, &mut model, 30_000, 3000);
    db.flush().unwrap();
    wait_for_level0_below(&db, 4);
    let stats = db.stats();
    assert!(stats.flushes >= 20, "{stats:?}");
    assert!(stats.compactions >= 5, "{stats:?}");
    assert!(stats.compaction_bytes_read > 0 && stats.compaction_bytes_written > 0);
    let deeper: u64 = stats.num_files_at_level[1..].iter().sum();
    assert!(deeper >= 1, "{:?}", stats.num_files_at_level);
    check(&db, &model, 3000);
    db.close().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    check(&db, &model, 3000);
    db.close().unwrap();
}

#[test]
fn compact_range_pushes_everything_down_and_reclaims_space() {
    let dir = tempfile::tempdir().unwrap();
    // Level 0 keeps every table until the manual compaction (its write triggers out of the
    // way: with compactions held they would stop the writes for good).
    let options = Options {
        level0_slowdown_writes_trigger: 10_000,
        level0_stop_writes_trigger: 10_000,
        ..small_options()
    };
    let db = DB::open(dir.path(), options).unwrap();
    db.hold_compactions_for_test(true);
    let mut model = BTreeMap::new();
    churn(&db, &mut model, 20_000, 1000);
    db.flush().unwrap();
    let before = db.stats();
    assert!(before.num_files_at_level[0] >= 8, "{before:?}");
    let bytes_before = table_bytes(dir.path());
    db.hold_compactions_for_test(false);
    db.compact_range(None, None).unwrap();
    let after = db.stats();
    assert_eq!(after.num_files_at_level[0], 0, "{after:?}");
    assert!(after.compactions >= 1);
    // 1,000 keys, 4 in 5 live, ~100 bytes each: far less than the overwritten history.
    let bytes_after = table_bytes(dir.path());
    assert!(
        bytes_after * 3 < bytes_before,
        "tables {bytes_before} -> {bytes_after} bytes"
    );
    check(&db, &model, 1000);
    db.close().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    check(&db, &model, 1000);
    db.close().unwrap();
}

#[test]
fn compact_range_of_a_subrange_moves_only_overlapping_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    db.hold_compactions_for_test(true);
    let w = WriteOptions::default();
    let mut model = BTreeMap::new();
    // Two disjoint key ranges, each flushed into its own level-0 tables.
    for (lo, hi) in [(0u32, 500u32), (2000, 2500)] {
        for i in lo..hi {
            let v = vec![b'a' + (i % 26) as u8; 100];
            db.put(&w, &key(i), &v).unwrap();
            model.insert(key(i), v);
        }
        db.flush().unwrap();
    }
    let l0 = db.stats().num_files_at_level[0];
    db.hold_compactions_for_test(false);
    db.compact_range(Some(&key(0)), Some(&key(499))).unwrap();
    let stats = db.stats();
    assert!(stats.num_files_at_level[0] >= 1, "{stats:?}");
    assert!(stats.num_files_at_level[0] < l0, "{stats:?}");
    assert!(stats.num_files_at_level[1] >= 1, "{stats:?}");
    check(&db, &model, 3000);
    db.close().unwrap();
}

#[test]
fn close_during_background_compaction_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    for round in 0..3 {
        let db = DB::open(dir.path(), small_options()).unwrap();
        churn(&db, &mut model, 8000 + round, 2000);
        // Close at once: a compaction in progress is abandoned, nothing half-installed.
        db.close().unwrap();
    }
    let db = DB::open(dir.path(), small_options()).unwrap();
    check(&db, &model, 2000);
    db.compact_range(None, None).unwrap();
    check(&db, &model, 2000);
    db.close().unwrap();
    assert!(matches!(
        db.compact_range(None, None),
        Err(groupkv::Error::Closed)
    ));
}

fn table_names(dir: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sst"))
        .collect()
}

#[test]
fn an_open_iterator_keeps_its_tables_across_compactions_until_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    let w = WriteOptions::default();
    for i in 0..2000 {
        db.put(&w, &key(i), format!("old-{i}").as_bytes()).unwrap();
    }
    db.flush().unwrap();
    let old_tables = table_names(dir.path());
    assert!(!old_tables.is_empty());
    let mut it = db.iter(&ReadOptions::default()).unwrap();
    // Several rounds of overwrites and full compactions replace every table it reads.
    for round in 0..3 {
        for i in 0..2000 {
            db.put(&w, &key(i), format!("new-{round}-{i}").as_bytes())
                .unwrap();
        }
        db.compact_range(None, None).unwrap();
    }
    let now = table_names(dir.path());
    assert!(
        old_tables.is_subset(&now),
        "tables of a live iterator's version were deleted: {old_tables:?} vs {now:?}"
    );
    // Their tables are out of the current version: without the iterator they would be gone.
    let current = db.property("groupkv.sstables").unwrap();
    for name in &old_tables {
        let number: u64 = name.trim_end_matches(".sst").parse().unwrap();
        assert!(!current.contains(&format!(" {number}:")), "{current}");
    }
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        assert_eq!(it.key(), key(n).as_slice());
        assert_eq!(it.value(), format!("old-{n}").as_bytes());
        n += 1;
        it.next();
    }
    it.status().unwrap();
    assert_eq!(n, 2000);
    drop(it);
    // The next install deletes what no live version holds.
    db.put(&w, b"zz", b"1").unwrap();
    db.flush().unwrap();
    let after = table_names(dir.path());
    assert!(
        old_tables.is_disjoint(&after),
        "{old_tables:?} still in {after:?}"
    );
    db.close().unwrap();
}

#[test]
fn open_deletes_tables_no_version_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    db.put(&WriteOptions::default(), b"a", b"1").unwrap();
    db.close().unwrap();
    // A compaction output a crash left behind, named by no MANIFEST record.
    std::fs::write(dir.path().join("000999.sst"), b"partial table").unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    assert!(!dir.path().join("000999.sst").exists());
    assert_eq!(db.get(b"a").unwrap(), Some(b"1".to_vec()));
    db.close().unwrap();
}

#[test]
fn the_stats_property_reports_levels_compactions_and_write_amplification() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    let mut model = BTreeMap::new();
    churn(&db, &mut model, 20_000, 5000);
    db.compact_range(None, None).unwrap();
    let s = db.stats();
    let table = db.property("groupkv.stats").unwrap();
    assert!(
        s.compactions >= 1 && s.compaction_bytes_written > 0,
        "{s:?}"
    );
    assert!(
        table.contains(&format!("Compactions: {} ", s.compactions)),
        "{table}"
    );
    // Per level: files and MiB, matching the counters (level 0 is empty after compact_range).
    assert!(table.contains("    0      0        0.00"), "{table}");
    let deepest = (1..7).rfind(|&l| s.num_files_at_level[l] > 0).unwrap();
    let row = format!(
        "{deepest:>5} {:>6} {:>11.2}",
        s.num_files_at_level[deepest],
        s.bytes_at_level[deepest] as f64 / 1048576.0
    );
    assert!(table.contains(&row), "{row:?} in {table}");
    // Write amplification = (flushed + compaction-written) / flushed.
    let line = table
        .lines()
        .find(|l| l.starts_with("Write amplification: "))
        .unwrap();
    let amp: f64 = line["Write amplification: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let expected = (s.flush_bytes + s.compaction_bytes_written) as f64 / s.flush_bytes as f64;
    assert!(
        (amp - expected).abs() < 0.01,
        "{amp} vs {expected}: {table}"
    );
    assert!(amp > 1.0, "compactions rewrote flushed bytes: {table}");
    db.close().unwrap();
}

/// LevelDB's `DeletionMarkers`: a tombstone compacted into a level above the one holding the
/// value it hides must survive that compaction, a reopen, and then disappear only together
/// with the value.
#[test]
fn a_deletion_never_resurrects_an_older_value() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        // Only this test's compactions run.
        level0_file_num_compaction_trigger: 8,
        ..small_options()
    };
    let db = DB::open(dir.path(), options.clone()).unwrap();
    let w = WriteOptions::default();
    for i in 0..100 {
        db.put(&w, &key(i), b"old").unwrap();
    }
    db.flush().unwrap();
    // The values go down to level 2.
    db.compact_level_for_test(0, None, None).unwrap();
    db.compact_level_for_test(1, None, None).unwrap();
    let s = db.stats();
    assert_eq!((s.num_files_at_level[0], s.num_files_at_level[1]), (0, 0));
    assert!(s.num_files_at_level[2] >= 1, "{s:?}");
    for i in (0..100).step_by(2) {
        db.delete(&w, &key(i)).unwrap();
    }
    db.flush().unwrap();
    // Compact the newer level only: the tombstones land in level 1, above the values.
    db.compact_level_for_test(0, None, None).unwrap();
    let s = db.stats();
    assert!(s.num_files_at_level[1] >= 1, "tombstones kept: {s:?}");
    assert!(s.num_files_at_level[2] >= 1, "{s:?}");
    let expect = |db: &DB| {
        for i in 0..100 {
            let want = (i % 2 == 1).then(|| b"old".to_vec());
            assert_eq!(db.get(&key(i)).unwrap(), want, "key {i}");
        }
        let n = db.iter(&ReadOptions::default()).unwrap().entries().count();
        assert_eq!(n, 50);
    };
    expect(&db);
    db.close().unwrap();
    let db = DB::open(dir.path(), options.clone()).unwrap();
    expect(&db);
    // Everything together: the tombstones and the values they hide go in the same pass.
    db.compact_range(None, None).unwrap();
    expect(&db);
    let s = db.stats();
    let files: u64 = s.num_files_at_level.iter().sum();
    assert!(files >= 1 && s.num_files_at_level[0] == 0, "{s:?}");
    db.close().unwrap();
    let db = DB::open(dir.path(), options).unwrap();
    expect(&db);
    db.close().unwrap();
}

#[test]
fn overwriting_the_same_keys_keeps_tables_near_the_live_data_after_compact_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), small_options()).unwrap();
    let w = WriteOptions::default();
    let mut live = BTreeMap::new();
    for round in 0..10u32 {
        for i in 0..2000 {
            let v = format!("{round:02}-{i:06}-{}", "p".repeat(190)).into_bytes();
            db.put(&w, &key(i), &v).unwrap();
            live.insert(key(i), v);
        }
    }
    db.compact_range(None, None).unwrap();
    let live_bytes: u64 = live.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let tables = table_bytes(dir.path());
    assert!(
        (tables as f64) <= 1.3 * live_bytes as f64,
        "{tables} bytes of tables for {live_bytes} bytes of live data"
    );
    check(&db, &live, 2000);
    db.close().unwrap();
}

#[test]
fn disable_auto_compactions_leaves_level0_to_compact_range() {
    let tmp = tempfile::tempdir().unwrap();
    let options = |disable_auto_compactions| Options {
        level0_file_num_compaction_trigger: 2,
        level0_slowdown_writes_trigger: 8,
        level0_stop_writes_trigger: 12,
        disable_auto_compactions,
        ..small_options()
    };
    let db = DB::open(tmp.path(), options(true)).unwrap();
    let mut model = BTreeMap::new();
    for round in 0..6u32 {
        for i in 0..50 {
            let (k, v) = (key(i * 7 + round), format!("v{round}-{i}").into_bytes());
            db.put(&WriteOptions::default(), &k, &v).unwrap();
            model.insert(k, v);
        }
        db.flush().unwrap();
    }
    // Well past the trigger (2), and a compaction would have had time to run.
    std::thread::sleep(Duration::from_millis(200));
    let stats = db.stats();
    assert_eq!(
        stats.num_files_at_level[0], 6,
        "{:?}",
        stats.num_files_at_level
    );
    assert_eq!(stats.compactions, 0);
    check(&db, &model, 400);
    // The manual request still runs.
    db.compact_range(None, None).unwrap();
    let stats = db.stats();
    assert_eq!(
        stats.num_files_at_level[0], 0,
        "{:?}",
        stats.num_files_at_level
    );
    assert!(stats.compactions > 0);
    check(&db, &model, 400);
    db.close().unwrap();
    // The default compacts the same level 0 on its own.
    let db = DB::open(tmp.path(), options(false)).unwrap();
    for i in 0..3u32 {
        db.put(&WriteOptions::default(), &key(i), b"x").unwrap();
        model.insert(key(i), b"x".to_vec());
        db.flush().unwrap();
    }
    wait_for_level0_below(&db, 2);
    check(&db, &model, 400);
    db.close().unwrap();
}
