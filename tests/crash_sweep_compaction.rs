//! Crash sweep over compaction and its MANIFEST install (issue 14). Two sessions on a `MemFs`
//! with small tables: writes (overwrites and deletes over 128 keys, an occasional value up to 1.5 KiB) with a `DB::flush()` every
//! 4 writes, so level 0 fills with overlapping tables, and a `compact_range` every 12 writes,
//! alternately over everything and over a part of the key space: inputs read, outputs written
//! (cut at a 4 KiB target), synced, the directory synced, the edit (inputs removed, outputs
//! added) appended to the MANIFEST and synced, then the inputs deleted. The automatic
//! compaction triggers are set out of reach so that every run performs the same operations.
//! The process dies after each mutating file-system operation of the whole scenario, then
//! the machine keeps everything (process crash) or loses what was not synced (three `MemFs`
//! power-loss modes). After each crash (`crash::sweep::check_image`): no table the MANIFEST
//! names is missing; the reopened database holds exactly the state after a prefix of the
//! writes (so no deleted value is resurrected and no older value shows over a newer one),
//! holding every acknowledged write after a process crash and, after a power loss, every
//! write acknowledged with `sync` or before an acknowledged flush, compaction or close; no
//! damaged WAL is deleted.
#![allow(clippy::unwrap_used)]

mod crash;

use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{Options, DB};

use crash::sweep::{every_operation, Compactions, Done, TwoSessions};
use crash::{CrashFs, Workload};

/// Writes per session.
const OPS: u64 = 24;
/// A `flush` after every this many writes.
const FLUSH_EVERY: u64 = 4;
/// A `compact_range` after every this many writes.
const COMPACT_EVERY: u64 = 12;

fn workload() -> Workload {
    Workload {
        seed: 0xc0_4ac7,
        ns: "c".into(),
        keys: 128,
        sync_one_in: 6,
        counter_key: false,
        max_value: 1500,
    }
}

fn open_on(fs: Arc<dyn FileSystem>) -> groupkv::Result<DB> {
    DB::open(
        "/db",
        Options {
            file_system: fs,
            write_buffer_size: 1 << 20,
            target_file_size_base: 4096,
            block_size: 256,
            // Only the scenario's compact_range compacts: the operations are the same in
            // every run, so each budget lands on the same operation. With
            // GROUPKV_SWEEP_AUTO_COMPACTION set, the compaction thread also compacts on its
            // own at 2 L0 files, concurrently with the flushes (operations then vary from
            // run to run).
            level0_file_num_compaction_trigger: auto_trigger(),
            level0_slowdown_writes_trigger: 1000,
            level0_stop_writes_trigger: 1000,
            ..Options::default()
        },
    )
}

fn auto_trigger() -> usize {
    if std::env::var_os("GROUPKV_SWEEP_AUTO_COMPACTION").is_some() {
        2
    } else {
        1000
    }
}

/// The range of the `n`th `compact_range` of the scenario: everything, or a part.
fn range(w: &Workload, n: u64) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if n % 2 == 0 {
        (None, None)
    } else {
        (Some(w.key(0, 20)), Some(w.key(0, 60)))
    }
}

fn scenario(fs: &CrashFs) -> Done {
    let w = workload();
    let range = |n| range(&w, n);
    TwoSessions {
        ops: OPS,
        flush_every: FLUSH_EVERY,
        compactions: Some(Compactions {
            every: COMPACT_EVERY,
            range: &range,
        }),
    }
    .run(fs, &w, open_on)
}

#[test]
fn a_crash_at_every_operation_of_compaction_and_its_install_recovers_a_durable_prefix() {
    let (total, stats) = {
        let mem = MemFs::new();
        let cfs = CrashFs::new(mem.clone(), -1);
        let d = scenario(&cfs);
        assert_eq!(d.acked.acked, 2 * OPS, "the undisturbed scenario completes");
        assert_eq!(d.compactions, 2 * OPS / COMPACT_EVERY);
        let total = cfs.ops();
        // The compactions really rewrote tables: the reopened database reports them, and the
        // work is spread over several output files.
        let db = open_on(Arc::new(mem.clone())).unwrap();
        let stats = db.property("groupkv.stats").unwrap_or_default();
        let l1: usize = db
            .property("groupkv.num-files-at-level1")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(l1 >= 2, "the compactions cut several output files: {stats}");
        db.close().unwrap();
        (total, stats)
    };
    assert!(total > 150, "{total} operations");
    let swept = every_operation(total, &workload(), scenario, open_on);
    println!(
        "compaction crash sweep: {} ({} after at least one compaction), {} violations",
        swept.points(total),
        swept.after_compaction,
        swept.violations.len()
    );
    assert!(
        swept.violations.is_empty(),
        "{}\n(undisturbed run's stats: {stats})",
        swept.violations.join("\n")
    );
}
