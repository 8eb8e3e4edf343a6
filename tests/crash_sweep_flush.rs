//! Crash sweep over flush and MANIFEST install (issue 13). Two sessions on a `MemFs`: the
//! first creates the database (CURRENT and the first MANIFEST), writes with a `DB::flush()`
//! every few writes (switch to a new WAL, L0 table written and synced, directory synced, the
//! edit appended to the MANIFEST and synced, the old WALs deleted) and closes; the second
//! reopens (a new MANIFEST, CURRENT replaced by temp file + rename + directory sync, the
//! replayed WAL flushed) and does the same again. The process dies after each mutating
//! file-system operation of the whole scenario, then the machine keeps everything (process
//! crash) or loses what was not synced (three `MemFs` power-loss modes). After each crash:
//!
//! - every table the crashed image's MANIFEST names exists;
//! - the reopened database holds exactly the state after a prefix of the writes (overwrites
//!   and deletes included: no older value over a newer one, no deleted value back);
//! - that prefix holds every acknowledged write after a process crash, and after a power loss
//!   every write acknowledged with `sync`, before an acknowledged `flush`, or before `close`;
//! - no WAL or base holding damage was deleted by the reopen (it is quarantined as `.corrupt`
//!   or kept), unless it lies below the MANIFEST's log number (its writes are in a table).
//!
//! `crash_sweep_switch.rs` covers the switch on its own (write-buffer-driven, faults per
//! operation kind); this sweep covers the flush job, the MANIFEST install at flush and at
//! open, and the WAL deletion after them, at every single operation.
#![allow(clippy::unwrap_used)]

mod crash;

use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{Options, DB};

use crash::sweep::{check_image, go_down, modes_at, Acked};
use crash::{apply, CrashFs, Workload};

/// Writes per session.
const OPS: u64 = 20;
/// A `flush` after every this many writes.
const FLUSH_EVERY: u64 = 4;

fn workload() -> Workload {
    Workload {
        seed: 0x5eed_f1a5,
        ns: "f".into(),
        keys: 12,
        sync_one_in: 5,
        counter_key: false,
        max_value: 0,
    }
}

fn open_on(fs: Arc<dyn FileSystem>) -> groupkv::Result<DB> {
    DB::open(
        "/db",
        Options {
            file_system: fs,
            write_buffer_size: 1 << 20,
            // No automatic compaction (`crash_sweep_compaction.rs` sweeps compactions): the
            // operations are the same in every run, so each budget lands on the same one.
            level0_file_num_compaction_trigger: 1000,
            level0_slowdown_writes_trigger: 1000,
            level0_stop_writes_trigger: 1000,
            ..Options::default()
        },
    )
}

/// Runs both sessions on `fs` until something fails (the process died there).
fn scenario(fs: &CrashFs) -> Acked {
    let w = workload();
    let mut a = Acked::default();
    for session in 0..2u64 {
        let Ok(db) = open_on(Arc::new(fs.clone())) else {
            return a;
        };
        for i in session * OPS..(session + 1) * OPS {
            let op = w.op(0, i);
            if apply(&db, &op).is_err() {
                crash::crash(db);
                return a;
            }
            a.acked = i + 1;
            if op.sync {
                a.durable = i + 1;
            }
            if (i + 1) % FLUSH_EVERY == 0 {
                if db.flush().is_err() {
                    crash::crash(db);
                    return a;
                }
                a.durable = i + 1;
            }
        }
        if db.close().is_err() {
            return a;
        }
        a.durable = a.acked;
    }
    a
}

#[test]
fn a_crash_at_every_operation_of_flush_and_manifest_install_recovers_a_durable_prefix() {
    let total = {
        let cfs = CrashFs::new(MemFs::new(), -1);
        let a = scenario(&cfs);
        assert_eq!(a.acked, 2 * OPS, "the undisturbed scenario completes");
        cfs.ops()
    };
    assert!(total > 100, "{total} operations");
    let mut violations = Vec::new();
    let mut crashes = 0u64;
    let mut flushed_points = 0;
    for budget in 0..=total {
        for crash in modes_at(budget) {
            let mem = MemFs::new();
            crashes += 1;
            let cfs = CrashFs::new(mem.clone(), i64::try_from(budget).unwrap());
            let a = scenario(&cfs);
            if a.durable > 0 {
                flushed_points += 1;
            }
            go_down(&mem, crash);
            for v in check_image(&mem, &workload(), a, crash, open_on) {
                violations.push(format!(
                    "crash after {budget} operations ({} acknowledged, {} durable), \
                     {crash:?}: {v}",
                    a.acked, a.durable
                ));
            }
        }
    }
    println!(
        "flush crash sweep: {} points x {} = {crashes} crashes ({flushed_points} with durable \
         writes), {} violations",
        total + 1,
        if crashes > total + 1 {
            "4 modes"
        } else {
            "1 mode (rotating among 4)"
        },
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
