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

use crash::sweep::{every_operation, TwoSessions};
use crash::{CrashFs, Workload};

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

const SCENARIO: TwoSessions<'static> = TwoSessions {
    ops: OPS,
    flush_every: FLUSH_EVERY,
    compactions: None,
};

#[test]
fn a_crash_at_every_operation_of_flush_and_manifest_install_recovers_a_durable_prefix() {
    let total = {
        let cfs = CrashFs::new(MemFs::new(), -1);
        let d = SCENARIO.run(&cfs, &workload(), open_on);
        assert_eq!(d.acked.acked, 2 * OPS, "the undisturbed scenario completes");
        cfs.ops()
    };
    assert!(total > 100, "{total} operations");
    let swept = every_operation(
        total,
        &workload(),
        |fs| SCENARIO.run(fs, &workload(), open_on),
        open_on,
    );
    println!(
        "flush crash sweep: {} ({} after at least one flush), {} violations",
        swept.points(total),
        swept.after_flush,
        swept.violations.len()
    );
    assert!(
        swept.violations.is_empty(),
        "{}",
        swept.violations.join("\n")
    );
}
