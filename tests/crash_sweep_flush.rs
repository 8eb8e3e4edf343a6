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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::{Options, DB};

use crash::{apply, log_damaged, matching_prefix, read_keys, CrashFs, Workload};

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
            ..Options::default()
        },
    )
}

/// What the scenario got acknowledged before the process died.
#[derive(Debug, Default, Clone, Copy)]
struct Acked {
    /// Writes acknowledged (ops `0..acked`).
    acked: u64,
    /// Writes that survive a power loss: before an acknowledged sync write, flush or close.
    durable: u64,
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

#[derive(Debug, Clone, Copy)]
enum Crash {
    Process,
    Power(PowerLoss),
}

const CRASHES: [Crash; 4] = [
    Crash::Process,
    Crash::Power(PowerLoss::DropUnsynced),
    Crash::Power(PowerLoss::TearUnsynced { seed: 7 }),
    Crash::Power(PowerLoss::DropPages { seed: 11 }),
];

fn files(mem: &MemFs) -> BTreeMap<String, Vec<u8>> {
    mem.list(Path::new("/db"))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let data = mem.read(&Path::new("/db").join(&n)).unwrap();
            (n, data)
        })
        .collect()
}

/// The crashed image's MANIFEST, read on a copy of the handle (reading writes nothing): its
/// log number and the tables it names; `None` without a readable `CURRENT`.
fn manifest_of(mem: &MemFs) -> Option<(u64, Vec<u64>)> {
    let mut set = groupkv::version::VersionSet::new(
        Arc::new(mem.clone()),
        Path::new("/db"),
        groupkv::version::VersionSetOptions::default(),
    );
    set.recover().ok()?;
    let tables = set.current().all_files().map(|(_, f)| f.number).collect();
    Some((set.log_number(), tables))
}

/// WALs and bases holding damage that the reopen removed without quarantining them, leaving
/// out WALs below the log number (their writes are in a table).
fn destroyed_evidence(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    log_number: u64,
) -> Vec<String> {
    let obsolete_wal = |n: &str| {
        n.strip_suffix(".log")
            .and_then(|d| d.parse::<u64>().ok())
            .is_some_and(|number| number < log_number)
    };
    before
        .iter()
        .filter(|(n, _)| (n.ends_with(".log") || n.ends_with(".base")) && !after.contains_key(*n))
        .filter(|(n, _)| !obsolete_wal(n))
        .filter(|(n, data)| after.get(&format!("{n}.corrupt")) != Some(*data) && log_damaged(data))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Checks the image left by a crash; returns what is wrong.
fn check(mem: &MemFs, a: Acked, crash: Crash) -> Vec<String> {
    let mut wrong = Vec::new();
    let manifest = manifest_of(mem);
    let before = files(mem);
    if let Some((_, tables)) = &manifest {
        for t in tables {
            let name = format!("{t:06}.sst");
            if !before.contains_key(&name) {
                wrong.push(format!("the MANIFEST names {name}, which is missing"));
            }
        }
    }
    let db = match open_on(Arc::new(mem.clone())) {
        Ok(db) => db,
        Err(e) => {
            wrong.push(format!("reopen failed: {e}"));
            return wrong;
        }
    };
    let w = workload();
    let actual = match read_keys(&db, &w.universe(0)) {
        Ok(m) => m,
        Err(e) => {
            wrong.push(format!("reading after reopen failed: {e}"));
            crash::crash(db);
            return wrong;
        }
    };
    let must = match crash {
        Crash::Process => a.acked,
        Crash::Power(_) => a.durable,
    };
    // One more write than acknowledged may have reached the WAL before the process died.
    match matching_prefix(&w, 0, &actual, must, a.acked + 1) {
        Some(_) => {}
        None => wrong.push(format!(
            "the state is no prefix of {must}..={} writes: {} keys",
            a.acked + 1,
            actual.len()
        )),
    }
    db.close().unwrap();
    let after = files(mem);
    let log_number = manifest.map_or(0, |(n, _)| n);
    for n in destroyed_evidence(&before, &after, log_number) {
        wrong.push(format!("the damaged {n} was deleted"));
    }
    wrong
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
    let mut flushed_points = 0;
    for budget in 0..=total {
        for crash in CRASHES {
            let mem = MemFs::new();
            let cfs = CrashFs::new(mem.clone(), i64::try_from(budget).unwrap());
            let a = scenario(&cfs);
            if a.durable > 0 {
                flushed_points += 1;
            }
            match crash {
                Crash::Process => mem.process_crash(),
                Crash::Power(how) => mem.power_loss(how),
            }
            for v in check(&mem, a, crash) {
                violations.push(format!(
                    "crash after {budget} operations ({} acknowledged, {} durable), \
                     {crash:?}: {v}",
                    a.acked, a.durable
                ));
            }
        }
    }
    println!(
        "flush crash sweep: {} points x {} modes = {} crashes ({flushed_points} with durable \
         writes), {} violations",
        total + 1,
        CRASHES.len(),
        (total + 1) * CRASHES.len() as u64,
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
