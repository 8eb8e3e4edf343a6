//! Crash sweep over the memtable switch: with 4 KiB write buffers a switch (create the next
//! WAL, write its marker, sync the directory, retire the old WAL) comes every few writes. The
//! Nth file-system operation of each kind after open fails and every later one of that kind
//! fails too (a dying disk); then the process dies, or the power fails in each `MemFs` mode.
//! The recovered state is always a prefix of the writes (no hole), holding every write
//! acknowledged with `sync` and, after a process crash, every acknowledged write.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use groupkv::fs::{Fault, FaultKind, MemFs, PowerLoss};
use groupkv::{Options, WriteOptions, DB};

const WRITES: usize = 64;

fn open(mem: &MemFs) -> groupkv::Result<DB> {
    DB::open(
        "/db",
        Options {
            file_system: Arc::new(mem.clone()),
            write_buffer_size: 4096,
            ..Options::default()
        },
    )
}

fn key(i: usize) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    vec![b'a' + u8::try_from(i % 26).unwrap(); 700 + i]
}

#[derive(Debug, Clone, Copy)]
enum Crash {
    Process,
    Power(PowerLoss),
}

/// Runs the writes until one fails; returns (writes acknowledged, last acknowledged sync
/// write + 1, switches seen).
fn run(mem: &MemFs, kind: FaultKind, nth: u64) -> (usize, usize, u64) {
    let db = open(mem).unwrap();
    let base = mem.count(kind);
    mem.inject(Fault {
        kind,
        nth: base + nth,
        errno: libc::EIO,
        persistent: true,
        partial: kind == FaultKind::Append,
    });
    let (mut acked, mut synced) = (0, 0);
    for i in 0..WRITES {
        let sync = i % 3 == 2;
        let opts = WriteOptions {
            sync,
            ..WriteOptions::default()
        };
        if db.put(&opts, &key(i), &value(i)).is_err() {
            break;
        }
        acked = i + 1;
        if sync {
            synced = i + 1;
        }
    }
    let switches = db.stats().memtable_switches;
    db.halt_background_work_for_test();
    std::mem::forget(db);
    (acked, synced, switches)
}

#[test]
fn a_failure_and_crash_at_every_switch_operation_recovers_a_prefix() {
    let crashes = [
        Crash::Process,
        Crash::Power(PowerLoss::DropUnsynced),
        Crash::Power(PowerLoss::TearUnsynced { seed: 7 }),
        Crash::Power(PowerLoss::DropPages { seed: 11 }),
    ];
    let mut runs = 0;
    let mut violations = Vec::new();
    let mut max_switches = 0;
    for kind in [
        FaultKind::Create,
        FaultKind::SyncDir,
        FaultKind::Append,
        FaultKind::Sync,
    ] {
        for nth in 1..=24u64 {
            for crash in crashes {
                runs += 1;
                let mem = MemFs::new();
                let (acked, synced, switches) = run(&mem, kind, nth);
                max_switches = max_switches.max(switches);
                mem.clear_faults();
                let must = match crash {
                    Crash::Process => {
                        mem.process_crash();
                        acked
                    }
                    Crash::Power(how) => {
                        mem.power_loss(how);
                        synced
                    }
                };
                let what = format!("{kind:?} #{nth}, {crash:?}");
                let db = match open(&mem) {
                    Ok(db) => db,
                    Err(e) => {
                        violations.push(format!("{what}: reopen failed: {e}"));
                        continue;
                    }
                };
                let present: Vec<bool> = (0..WRITES)
                    .map(|i| match db.get(&key(i)).unwrap() {
                        None => false,
                        Some(v) if v == value(i) => true,
                        Some(_) => {
                            violations.push(format!("{what}: write {i} has a wrong value"));
                            true
                        }
                    })
                    .collect();
                let prefix = present.iter().take_while(|&&p| p).count();
                if present[prefix..].iter().any(|&p| p) {
                    violations.push(format!("{what}: a hole after write {prefix}"));
                }
                if prefix < must {
                    violations.push(format!(
                        "{what}: {prefix} writes recovered, {must} were acknowledged durable"
                    ));
                }
                if prefix > acked + 1 {
                    violations.push(format!(
                        "{what}: {prefix} writes recovered, only {} were issued",
                        acked + 1
                    ));
                }
                db.close().unwrap();
            }
        }
    }
    println!(
        "switch crash sweep: {runs} runs (4 operation kinds x 24 points x 4 crash modes), \
         {max_switches} switches in an undisturbed run, {} violations",
        violations.len()
    );
    assert!(max_switches >= 8, "the workload must switch often");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
