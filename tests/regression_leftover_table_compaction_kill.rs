//! A process killed while a compaction writes its outputs leaves table files numbered at or
//! above the MANIFEST's next file number (numbers are handed out in memory, and persisted only
//! by the next install). The next open hands out those numbers again: it must not fail because
//! such a leftover already exists, and nothing acknowledged may be lost.
//!
//! Found by the kill -9 loop with compaction running (`tests/crash_kill9.rs`,
//! `kill9_crash_loop_compaction_running`): `reopen failed: I/O error while creating table
//! .../000132.sst: File exists (os error 17)`. This test kills the "process" at every
//! file-system operation of a level-0 compaction with unflushed writes in the WAL, so the
//! reopen must flush them to a new table.
#![allow(clippy::unwrap_used)]

mod crash;

use std::collections::BTreeMap;
use std::sync::Arc;

use crash::CrashFs;
use groupkv::fs::MemFs;
use groupkv::{Options, ReadOptions, WriteOptions, DB};

const DIR: &str = "/db";

fn options(fs: Arc<dyn groupkv::fs::FileSystem>) -> Options {
    Options {
        file_system: fs,
        write_buffer_size: 64 << 10,
        // Small outputs: the compaction cuts many tables, so a kill lands between them.
        target_file_size_base: 4 << 10,
        max_bytes_for_level_base: 1 << 20,
        level0_file_num_compaction_trigger: 2,
        ..Options::default()
    }
}

/// Kills at the `budget`-th file-system operation after level 0 is ready to compact; returns
/// the error of the reopen, if any, and checks the data when it succeeds.
fn kill_during_compaction(budget: i64) -> Result<(), String> {
    let mem = MemFs::new();
    let fs = CrashFs::new(mem.clone(), -1);
    let db = DB::open(DIR, options(Arc::new(fs.clone()))).unwrap();
    db.hold_compactions_for_test(true);
    let w = WriteOptions::default();
    let mut model = BTreeMap::new();
    for round in 0..2u32 {
        for i in 0..400u32 {
            let k = format!("k{:05}", (i * 7 + round) % 1000).into_bytes();
            let v = format!("r{round}-{i}-{}", "v".repeat(60)).into_bytes();
            db.put(&w, &k, &v).unwrap();
            model.insert(k, v);
        }
        db.flush().unwrap();
    }
    // Unflushed writes: the reopen flushes them to a table with a freshly handed-out number.
    for i in 0..50u32 {
        let k = format!("late{i:03}").into_bytes();
        db.put(&w, &k, b"late").unwrap();
        model.insert(k, b"late".to_vec());
    }
    fs.set_budget(budget);
    db.hold_compactions_for_test(false);
    // Fails once the "process" is dead (a background error); that is the point.
    let _ = db.compact_level_for_test(0, None, None);
    crash::crash(db);
    mem.process_crash();

    let db = DB::open(DIR, options(Arc::new(mem.clone()))).map_err(|e| e.to_string())?;
    let got: BTreeMap<Vec<u8>, Vec<u8>> = db
        .iter(&ReadOptions::default())
        .unwrap()
        .entries()
        .map(Result::unwrap)
        .collect();
    assert!(
        got == model,
        "budget {budget}: the reopened database lost writes"
    );
    db.close().unwrap();
    Ok(())
}

#[test]
fn reopen_after_a_kill_mid_compaction_reuses_leftover_table_numbers() {
    let mut failures = Vec::new();
    for budget in 1..=40 {
        if let Err(e) = kill_during_compaction(budget) {
            failures.push(format!("killed at operation {budget}: reopen failed: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
