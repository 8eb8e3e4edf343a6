//! groupkv-stress's workload on a `MemFs` that runs out of space (ENOSPC) or fails (EIO) after
//! a random budget of operations of one kind (append, sync, create, rename, directory sync),
//! for good (a full or dead disk). The database must refuse every later write with an error
//! naming the cause, keep answering reads correctly, lose no acknowledged write, and reopen
//! once the disk is healthy again with every acknowledged write (an unacknowledged one may or
//! may not be there).
//!
//! `GROUPKV_STRESS_IO_ERRORS` rounds (default 40), `GROUPKV_CRASH_SEED` to reproduce.

#[path = "crash/mod.rs"]
mod crash;
#[path = "../src/bin/groupkv-stress/expected.rs"]
#[allow(dead_code)]
mod expected;
#[path = "../src/bin/groupkv-stress/sync.rs"]
#[allow(dead_code)]
mod sync;
#[path = "../src/bin/groupkv-stress/verify.rs"]
#[allow(dead_code)]
mod verify;
#[path = "../src/bin/groupkv-stress/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crash::{count_from_env, seed_from_env, Rng};
use expected::Expected;
use groupkv::fs::{Fault, FaultKind, MemFs};
use groupkv::{WriteOptions, DB};

const KEYS: u32 = 400;
const PAD: u32 = 40;
const KINDS: [FaultKind; 5] = [
    FaultKind::Append,
    FaultKind::Sync,
    FaultKind::Create,
    FaultKind::Rename,
    FaultKind::SyncDir,
];

fn options(mem: &MemFs, round: u64) -> groupkv::Options {
    groupkv::Options {
        enable_pipelined_write: round % 2 == 1,
        allow_concurrent_memtable_write: round % 4 < 2,
        write_buffer_size: 16 << 10,
        max_write_buffer_number: 3,
        file_system: Arc::new(mem.clone()),
        ..groupkv::Options::default()
    }
}

/// Reads every key of `db` and checks it under process-crash rules (nothing acknowledged lost).
fn verify_all(db: &DB, exp: &Expected, when: &str, out: &mut Vec<String>) -> Vec<Option<u32>> {
    match verify::read_all(db, KEYS, PAD) {
        Ok(found) => {
            out.extend(
                verify::check_process_crash(exp, &found)
                    .into_iter()
                    .map(|v| format!("{when}: {v}")),
            );
            found
        }
        Err(bad) => {
            out.extend(bad.into_iter().map(|v| format!("{when}: {v}")));
            Vec::new()
        }
    }
}

#[test]
fn stress_on_a_full_or_failing_disk_stops_writes_and_loses_nothing() {
    let rounds = count_from_env("GROUPKV_STRESS_IO_ERRORS", 40);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    println!("stress io errors: seed {seed} (GROUPKV_CRASH_SEED={seed} reproduces)");
    let mut r = Rng::new(seed);
    let mem = MemFs::new();
    let exp = Arc::new(Expected::in_memory(KEYS).expect("expected state"));
    let mut violations = Vec::new();
    let (mut enospc, mut eio, mut stopped, mut checked) = (0u64, 0u64, 0u64, 0u64);
    for round in 0..rounds {
        let db = DB::open("/db", options(&mem, round))
            .unwrap_or_else(|e| panic!("round {round} (seed {seed}): reopen: {e}"));
        let found = verify_all(
            &db,
            &exp,
            &format!("round {round} at open"),
            &mut violations,
        );
        verify::resolve(&exp, &found);
        let before = exp.committed_writes();
        let kind = KINDS[usize::try_from(r.below(5)).unwrap_or(0)];
        let errno = if r.below(2) == 0 {
            libc::ENOSPC
        } else {
            libc::EIO
        };
        let budget = match kind {
            FaultKind::Append => 1 + r.below(800),
            FaultKind::Sync => 1 + r.below(60),
            _ => 1 + r.below(4),
        };
        mem.inject(Fault {
            kind,
            nth: mem.count(kind) + budget,
            errno,
            persistent: true,
            partial: kind == FaultKind::Append && r.below(2) == 0,
        });
        let cfg = workload::Config {
            threads: 3,
            ops_per_thread: 2500,
            duration: Duration::from_secs(5),
            mix: workload::Mix::default(),
            sync_percent: 10,
            batch_keys: 6,
            value_pad: PAD,
            scan_len: 60,
            seed: seed.wrapping_add(round),
            expect_write_errors: true,
        };
        let db = Arc::new(db);
        let report = workload::run(&db, &exp, &cfg, &Arc::new(AtomicBool::new(false)));
        violations.extend(
            report
                .violations
                .lock()
                .iter()
                .map(|v| format!("round {round}: live: {v}")),
        );
        let failed = report.write_error.lock().clone();
        if let Some(first) = failed {
            stopped += 1;
            if errno == libc::ENOSPC {
                enospc += 1;
            } else {
                eio += 1;
            }
            // Writes stay refused, with the cause in the message; reads go on and are right.
            let want = std::io::Error::from_raw_os_error(errno).to_string();
            match db.put(&WriteOptions::default(), b"k99999999", b"x") {
                Ok(()) => {
                    violations.push(format!("round {round}: a write after {first} succeeded"))
                }
                Err(e) if !e.to_string().contains(&want) => violations.push(format!(
                    "round {round}: the refusal {e:?} does not name the cause ({want})"
                )),
                Err(_) => {}
            }
            verify_all(
                &db,
                &exp,
                &format!("round {round} after the error"),
                &mut violations,
            );
        }
        // The disk is healthy again; the process goes away without closing.
        checked += exp.committed_writes() - before;
        mem.clear_faults();
        match Arc::try_unwrap(db) {
            Ok(db) => crash::crash(db),
            Err(_) => panic!("stress threads still hold the DB"),
        }
        mem.process_crash();
    }
    let db = DB::open("/db", options(&mem, 0)).expect("final open");
    verify_all(&db, &exp, "final", &mut violations);
    for v in violations.iter().take(20) {
        println!("VIOLATION: {v}");
    }
    println!(
        "stress io errors: {rounds} runs, {stopped} stopped by the error ({enospc} ENOSPC, {eio} \
         EIO), {checked} acknowledged writes checked, {} violations",
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "seed {seed}: {} violations",
        violations.len()
    );
    assert!(
        stopped * 2 >= rounds,
        "too few runs reached their fault: {stopped} of {rounds}"
    );
}
