//! Regression: a process crash leaves unsynced records in the WAL; the next process opens the
//! database, acknowledges a `sync = true` write in its new WAL, and then the power fails. The
//! old WAL's unsynced tail is gone, but the synced write must survive, and since the older
//! write was acknowledged before it was issued, so must that one (no hole).
//!
//! Before the fix recovery replayed the old WAL as it was, never made it durable, and a power
//! loss then either dropped the old write while keeping the newer one (a hole: the old WAL
//! lost its records entirely, which is not damage) or stopped at the torn old WAL and dropped
//! the synced write with it. RocksDB has the same obligation (`WriteOptionSyncTest`: a sync
//! write must also make the older WAL durable).

use std::sync::Arc;

use groupkv::fs::{MemFs, PowerLoss};
use groupkv::{Options, WriteOptions, DB};

fn open(mem: &MemFs) -> DB {
    DB::open(
        "/db",
        Options {
            file_system: Arc::new(mem.clone()),
            ..Options::default()
        },
    )
    .expect("open")
}

fn scenario(how: PowerLoss) {
    let mem = MemFs::new();
    let db = open(&mem);
    db.put(&WriteOptions::default(), b"older", &[b'x'; 300])
        .expect("unsynced put");
    // The process dies: no close; the OS keeps the bytes, unsynced.
    db.halt_background_work_for_test();
    std::mem::forget(db);
    mem.process_crash();

    let db = open(&mem);
    db.put(&WriteOptions::synced(), b"newer", b"synced")
        .expect("synced put");
    db.halt_background_work_for_test();
    std::mem::forget(db);
    mem.power_loss(how);

    let db = open(&mem);
    assert_eq!(
        db.get(b"newer").expect("get").as_deref(),
        Some(&b"synced"[..]),
        "{how:?}: an acknowledged sync = true write was lost"
    );
    assert!(
        db.get(b"older").expect("get").is_some(),
        "{how:?}: a hole: the newer write survived but the older acknowledged one did not"
    );
}

#[test]
fn synced_write_after_process_crash_survives_power_loss_dropped() {
    scenario(PowerLoss::DropUnsynced);
}

#[test]
fn synced_write_after_process_crash_survives_power_loss_torn() {
    for seed in 1..20 {
        scenario(PowerLoss::TearUnsynced { seed });
        scenario(PowerLoss::TearWithGarbage { seed });
    }
}
