//! I/O error sweep: for every operation of every kind a workload performs (counted on a clean
//! run with `MemFs::count`), fail exactly that one — with EIO and with ENOSPC, once or for
//! good, and for appends also as a short write — then reopen: after simply dropping the handle
//! (the directory lock must be free), after a process crash, and after a power loss that drops
//! or tears unsynced bytes.
//!
//! Checks: the failure surfaces as an error (nothing is swallowed or retried silently); after
//! a failed write every later write fails with `Poisoned`; nothing acknowledged is lost
//! (all acknowledged writes after a process crash, the synced ones and those before a clean
//! close after power loss); the failed write is in doubt but whole; nothing after it appears;
//! and the reopen succeeds.

// Thread and op indices are small and the harness runs on 64-bit targets.
#![allow(clippy::cast_possible_truncation)]

mod crash;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use crash::{apply, matching_prefix, options_on, read_keys, Workload};
use groupkv::fs::{Fault, FaultKind, MemFs, PowerLoss};
use groupkv::{Error, DB};

/// Writes per session; sessions are separated by clean closes (the second close writes a base:
/// create, append, sync, rename, directory sync, removals).
const SESSIONS: [u64; 3] = [20, 20, 20];

const KINDS: [FaultKind; 7] = [
    FaultKind::Append,
    FaultKind::Sync,
    FaultKind::Allocate,
    FaultKind::SyncDir,
    FaultKind::Create,
    FaultKind::Rename,
    FaultKind::Remove,
];

fn workload() -> Workload {
    Workload {
        seed: 7,
        ns: "f".into(),
        keys: 16,
        sync_one_in: 3,
        counter_key: false,
        max_value: 70_000,
    }
}

#[derive(Debug, Clone, Copy)]
enum CrashKind {
    /// No crash: the application drops its handle (which closes it) and opens again; the
    /// directory lock must have been released by the failed call or the drop.
    Reopen,
    Process,
    PowerDrop,
    PowerTear(u64),
}

#[derive(Debug, Default)]
struct Outcome {
    acked: u64,
    durable: u64,
    /// A write returned an error: it may or may not be on disk.
    in_doubt: bool,
    /// Some call returned an error.
    saw_error: bool,
    problems: Vec<String>,
}

/// Runs the workload until the first error; after a failed write, checks that later writes
/// fail with `Poisoned`.
fn run(mem: &MemFs, w: &Workload, how: CrashKind) -> Outcome {
    let end = |db: DB| match how {
        CrashKind::Reopen => drop(db),
        _ => crash::crash(db),
    };
    let mut o = Outcome::default();
    let mut next = 0u64;
    for (s, &n) in SESSIONS.iter().enumerate() {
        let db = match DB::open("/db", options_on(Arc::new(mem.clone()))) {
            Ok(db) => db,
            Err(_) => {
                o.saw_error = true;
                return o;
            }
        };
        for _ in 0..n {
            let op = w.op(0, next);
            match apply(&db, &op) {
                Ok(()) => {
                    next += 1;
                    o.acked = next;
                    if op.sync {
                        o.durable = next;
                    }
                }
                Err(first) => {
                    o.saw_error = true;
                    o.in_doubt = true;
                    // The DB must refuse everything after a failed WAL write or sync.
                    for later in 1..=2 {
                        match apply(&db, &w.op(0, next + later)) {
                            Err(Error::Poisoned { .. }) => {}
                            other => o.problems.push(format!(
                                "write after the failed one ({first}) returned {other:?}, \
                                 not Poisoned"
                            )),
                        }
                    }
                    end(db);
                    return o;
                }
            }
        }
        if s + 1 == SESSIONS.len() {
            // The last session ends in the crash itself.
            end(db);
            return o;
        }
        match db.close() {
            Ok(()) => o.durable = o.acked,
            Err(_) => {
                o.saw_error = true;
                return o;
            }
        }
    }
    o
}

fn check(mem: &MemFs, w: &Workload, o: &Outcome, how: CrashKind) -> Result<(), String> {
    let lo = match how {
        // A killed process loses nothing the OS accepted: every acknowledged write stays.
        CrashKind::Reopen | CrashKind::Process => o.acked,
        CrashKind::PowerDrop | CrashKind::PowerTear(_) => o.durable,
    };
    let hi = o.acked + u64::from(o.in_doubt);
    match how {
        CrashKind::Reopen => {}
        CrashKind::Process => mem.process_crash(),
        CrashKind::PowerDrop => mem.power_loss(PowerLoss::DropUnsynced),
        CrashKind::PowerTear(seed) => mem.power_loss(PowerLoss::TearUnsynced { seed }),
    }
    let db = DB::open("/db", options_on(Arc::new(mem.clone())))
        .map_err(|e| format!("reopen failed: {e}"))?;
    let actual = read_keys(&db, &w.universe(0)).map_err(|e| e.to_string())?;
    db.close()
        .map_err(|e| format!("close after recovery: {e}"))?;
    match matching_prefix(w, 0, &actual, lo, hi) {
        Some(_) => Ok(()),
        None => Err(format!(
            "recovered state is no prefix of length {lo}..={hi}"
        )),
    }
}

#[test]
fn fail_every_io_operation_of_a_workload() {
    let w = workload();
    let clean = MemFs::new();
    let o = run(&clean, &w, CrashKind::Process);
    assert!(!o.saw_error && o.problems.is_empty(), "clean run failed");
    let counts: Vec<(FaultKind, u64)> = KINDS.iter().map(|&k| (k, clean.count(k))).collect();
    for &(k, c) in &counts {
        // The workload must reach every kind, or the sweep proves nothing for it.
        assert!(c > 0, "the workload performs no {k:?}");
    }
    let mut points = 0u64;
    let mut runs = 0u64;
    let mut failures = Vec::new();
    let mut seed = 1u64;
    for &(kind, count) in &counts {
        for nth in 1..=count {
            for errno in [libc::EIO, libc::ENOSPC] {
                let mut variants = vec![(false, false), (true, false)];
                if kind == FaultKind::Append {
                    variants.push((false, true));
                }
                for (persistent, partial) in variants {
                    let fault = Fault {
                        kind,
                        nth,
                        errno,
                        persistent,
                        partial,
                    };
                    points += 1;
                    for how in [
                        CrashKind::Reopen,
                        CrashKind::Process,
                        CrashKind::PowerDrop,
                        CrashKind::PowerTear(seed),
                    ] {
                        seed += 1;
                        runs += 1;
                        let mem = MemFs::new();
                        mem.inject(fault);
                        let o = run(&mem, &w, how);
                        let mut why = o.problems.clone();
                        // A refused allocation only costs speed: the WAL appends instead, and
                        // nothing fails. Every other injected failure must surface.
                        if kind == FaultKind::Allocate && o.saw_error {
                            why.push("a refused allocation failed a call".into());
                        }
                        // A failed removal of an obsolete file by the flush thread only costs
                        // space (the next flush or open removes it), so it need not surface.
                        if kind != FaultKind::Allocate && kind != FaultKind::Remove && !o.saw_error
                        {
                            why.push("the injected failure was never reported".into());
                        }
                        mem.clear_faults();
                        if let Err(e) = check(&mem, &w, &o, how) {
                            why.push(e);
                        }
                        if !why.is_empty() {
                            failures.push(format!("{fault:?} then {how:?}: {}", why.join("; ")));
                        }
                    }
                }
            }
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, c)| format!("{k:?} {c}")).collect();
    println!(
        "I/O error sweep: {points} fault points ({}), {runs} runs with crash and reopen, {} \
         violations",
        summary.join(", "),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Eight threads write (group commit) while the Nth append or sync fails once: every member
/// of the failing group gets the error, every later write of every thread fails, and after a
/// process crash every acknowledged write is recovered.
#[test]
fn fail_an_io_operation_under_concurrent_writers() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 25;
    let mut runs = 0;
    let mut failures = Vec::new();
    for kind in [FaultKind::Append, FaultKind::Sync] {
        for nth in 1..=40u64 {
            runs += 1;
            let w = Arc::new(Workload {
                seed: nth,
                ns: "g".into(),
                keys: 8,
                sync_one_in: 3,
                counter_key: true,
                max_value: 0,
            });
            let mem = MemFs::new();
            let opts = groupkv::Options {
                enable_pipelined_write: nth % 2 == 1,
                allow_concurrent_memtable_write: nth % 3 != 2,
                ..options_on(Arc::new(mem.clone()))
            };
            let db = Arc::new(DB::open("/db", opts).expect("open"));
            // Counted from here: open's own I/O (the new WAL's marker) is not the sweep's.
            let base = mem.count(kind);
            mem.inject(Fault::once(kind, base + nth, libc::EIO));
            let failed_any = Arc::new(AtomicBool::new(false));
            let results: Arc<Mutex<Vec<(u64, bool)>>> =
                Arc::new(Mutex::new(vec![(0, false); THREADS as usize]));
            let problems = Arc::new(Mutex::new(Vec::new()));
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (db, w, failed_any, results, problems) = (
                        db.clone(),
                        w.clone(),
                        failed_any.clone(),
                        results.clone(),
                        problems.clone(),
                    );
                    std::thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            let seen_failure = failed_any.load(SeqCst);
                            match apply(&db, &w.op(t, i)) {
                                Ok(()) if seen_failure => {
                                    problems.lock().expect("lock").push(format!(
                                        "thread {t} op {i} succeeded after a WAL failure"
                                    ));
                                    results.lock().expect("lock")[t as usize] = (i + 1, false);
                                }
                                Ok(()) => {
                                    results.lock().expect("lock")[t as usize] = (i + 1, false)
                                }
                                Err(_) => {
                                    failed_any.store(true, SeqCst);
                                    results.lock().expect("lock")[t as usize].1 = true;
                                    // Later writes must fail too.
                                    if apply(&db, &w.op(t, i + 1)).is_ok() {
                                        problems.lock().expect("lock").push(format!(
                                            "thread {t}: a write after a failed one succeeded"
                                        ));
                                    }
                                    return;
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("writer");
            }
            let reached = mem.count(kind) >= base + nth;
            let db = Arc::try_unwrap(db).expect("writers done");
            crash::crash(db);
            mem.clear_faults();
            mem.process_crash();
            let mut why: Vec<String> = problems.lock().expect("lock").clone();
            if reached && !failed_any.load(SeqCst) {
                why.push("the failure was never reported".into());
            }
            let db = DB::open("/db", options_on(Arc::new(mem.clone()))).expect("reopen");
            let results = results.lock().expect("lock").clone();
            for t in 0..THREADS {
                let (acked, doubt) = results[t as usize];
                let actual = read_keys(&db, &w.universe(t)).expect("get");
                if matching_prefix(&w, t, &actual, acked, acked + u64::from(doubt)).is_none() {
                    why.push(format!(
                        "thread {t}: recovered state is no prefix of length {acked}..={}",
                        acked + u64::from(doubt)
                    ));
                }
            }
            db.close().expect("close");
            if !why.is_empty() {
                failures.push(format!("{kind:?} #{nth}: {}", why.join("; ")));
            }
        }
    }
    println!(
        "I/O error sweep, 8 concurrent writers: {runs} fault points, {} violations",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
