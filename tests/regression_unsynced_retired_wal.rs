//! Regression (invariant I5): a memtable switch retires the old WAL without syncing it; a
//! later `sync = true` write in the new WAL must not be acknowledged before the retired WAL is
//! durable. Otherwise a power loss drops the older, acknowledged write while the newer one
//! survives (a hole), or recovery stops at the gap the new WAL's marker reveals and drops the
//! synced write. The in-session twin of `power_loss_regression_unsynced_old_wal`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use groupkv::fs::{MemFs, PowerLoss};
use groupkv::{Options, WriteOptions, DB};

fn open(mem: &MemFs) -> DB {
    DB::open(
        "/db",
        Options {
            file_system: Arc::new(mem.clone()),
            // Tiny buffers: the first 4 KiB write fills the memtable.
            write_buffer_size: 4096,
            ..Options::default()
        },
    )
    .unwrap()
}

fn losses() -> Vec<PowerLoss> {
    let mut v = vec![PowerLoss::DropUnsynced];
    for seed in 1..10 {
        v.push(PowerLoss::TearUnsynced { seed });
        v.push(PowerLoss::TearWithGarbage { seed });
        v.push(PowerLoss::DropPages { seed });
    }
    v
}

#[test]
fn a_sync_write_after_a_switch_makes_the_retired_wal_durable() {
    for how in losses() {
        let mem = MemFs::new();
        let db = open(&mem);
        db.put(&WriteOptions::default(), b"older", &[b'x'; 5000])
            .unwrap();
        // The memtable is full: this write's leader switches first, then syncs.
        db.put(&WriteOptions::synced(), b"newer", b"synced")
            .unwrap();
        assert_eq!(db.stats().memtable_switches, 1, "{how:?}");
        db.halt_background_work_for_test();
        std::mem::forget(db);
        mem.power_loss(how);

        let db = open(&mem);
        assert_eq!(
            db.get(b"newer").unwrap().as_deref(),
            Some(&b"synced"[..]),
            "{how:?}: an acknowledged sync = true write was lost"
        );
        assert_eq!(
            db.get(b"older").unwrap().map(|v| v.len()),
            Some(5000),
            "{how:?}: a hole: the newer write survived but the older acknowledged one did not"
        );
        db.close().unwrap();
    }
}

#[test]
fn unsynced_writes_across_a_switch_recover_a_prefix() {
    for how in losses() {
        let mem = MemFs::new();
        let db = open(&mem);
        db.put(&WriteOptions::default(), b"a", &[b'x'; 5000])
            .unwrap();
        db.put(&WriteOptions::default(), b"b", b"after the switch")
            .unwrap();
        assert_eq!(db.stats().memtable_switches, 1, "{how:?}");
        db.halt_background_work_for_test();
        std::mem::forget(db);
        mem.power_loss(how);

        let db = open(&mem);
        let a = db.get(b"a").unwrap();
        let b = db.get(b"b").unwrap();
        if let Some(a) = &a {
            assert_eq!(a.len(), 5000, "{how:?}");
        }
        assert!(
            b.is_none() || a.is_some(),
            "{how:?}: a hole: the write in the new WAL survived without the older one"
        );
        db.close().unwrap();
    }
}
