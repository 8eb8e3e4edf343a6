//! `DB::property`: the LevelDB-style properties answer from the live state, and unknown names
//! answer `None`.
#![allow(clippy::unwrap_used)]

use groupkv::{Options, WriteOptions, DB};

#[test]
fn properties_describe_levels_memtables_and_switches() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(
        dir.path(),
        Options {
            write_buffer_size: 16 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    // Level 0 keeps every flushed table until compactions are released below.
    db.hold_compactions_for_test(true);
    assert_eq!(
        db.property("groupkv.num-files-at-level0").as_deref(),
        Some("0")
    );
    assert_eq!(
        db.property("groupkv.num-files-at-level6").as_deref(),
        Some("0")
    );
    assert_eq!(
        db.property("groupkv.num-files-at-level7"),
        None,
        "seven levels"
    );
    assert_eq!(db.property("groupkv.num-files-at-levelx"), None);
    assert_eq!(db.property("leveldb.stats"), None);
    assert_eq!(db.property("groupkv.nonsense"), None);
    let before: u64 = db
        .property("groupkv.approximate-memory-usage")
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..2000u32 {
        db.put(&WriteOptions::default(), &i.to_be_bytes(), &[b'v'; 100])
            .unwrap();
    }
    let after: u64 = db
        .property("groupkv.approximate-memory-usage")
        .unwrap()
        .parse()
        .unwrap();
    assert!(after > before, "{before} -> {after}");
    // Switched memtables are flushed into level-0 tables, which the properties count.
    db.flush().unwrap();
    let stats = db.stats();
    assert!(stats.memtable_switches >= 5, "{}", stats.memtable_switches);
    assert_eq!(stats.num_files_at_level.len(), 7);
    assert!(stats.flushes >= 5, "{}", stats.flushes);
    assert_eq!(stats.immutable_memtables, 0);
    assert_eq!(
        db.property("groupkv.num-files-at-level0"),
        Some(stats.num_files_at_level[0].to_string())
    );
    assert!(stats.num_files_at_level[0] >= 5);
    assert!(
        stats.bytes_at_level[0] >= 200_000,
        "{:?}",
        stats.bytes_at_level
    );
    let table = db.property("groupkv.stats").unwrap();
    assert!(table.contains("Level  Files"), "{table}");
    assert!(
        table.contains(&format!("Switches: {}", stats.memtable_switches)),
        "{table}"
    );
    assert!(db.property("groupkv.sstables").is_some());
    // A full compaction empties level 0 into level 1, and the properties follow it.
    db.hold_compactions_for_test(false);
    db.compact_range(None, None).unwrap();
    assert_eq!(
        db.property("groupkv.num-files-at-level0").as_deref(),
        Some("0")
    );
    let level1: usize = db
        .property("groupkv.num-files-at-level1")
        .unwrap()
        .parse()
        .unwrap();
    assert!(level1 >= 1, "{}", db.property("groupkv.sstables").unwrap());
    assert!(db.stats().compactions >= 1);
    db.close().unwrap();
}
