//! Power-loss simulation on `fs::MemFs`: a workload of synced and unsynced writes (with clean
//! closes and reopens in between) is cut at a random I/O operation, then the machine "loses
//! power" in one of the three modes (unsynced bytes dropped, torn at a random point, or torn
//! with a garbage byte; directory entries back to their last directory sync). After reopening:
//! every `sync = true` write acknowledged before the crash is present (and every write before a
//! clean close), the state is exactly that after a prefix of the commit order (no hole, no
//! partial batch, nothing never issued).
//!
//! The power loss drops unsynced bytes, tears them at a sector boundary (with or without a
//! garbage byte), or keeps a random subset of the unsynced 4 KiB pages (writeback out of
//! order). `power_loss_in_every_recovery_mode` opens each crashed image under all four modes
//! and checks the guarantee `docs/RELIABILITY.md` states for each.
//!
//! Counts: `GROUPKV_POWER_LOSS_CRASHES` (default 150; `make test` runs 600; the every-mode test
//! runs a third of it, each image four times),
//! `GROUPKV_DOUBLE_CRASH_SEEDS` (default 12; `make test` runs 60), `GROUPKV_CRASH_SEED`.

// Thread and op indices are small and the harness runs on 64-bit targets.
#![allow(clippy::cast_possible_truncation)]

mod crash;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use crash::sweep::{destroyed_evidence, files, manifest_of};
use crash::{
    apply, count_from_env, matching_prefix, options_on, read_keys, seed_from_env, CrashFs, Model,
    Rng, Workload,
};
use groupkv::fs::{MemFs, PowerLoss};
use groupkv::{Error, WalRecoveryMode, DB};

const OPS: u64 = 120;

fn workload(seed: u64) -> Workload {
    Workload {
        seed,
        ns: "p".into(),
        keys: 24,
        sync_one_in: 4,
        counter_key: false,
        max_value: 70_000,
    }
}

fn power_loss_mode(r: &mut Rng) -> PowerLoss {
    match r.below(4) {
        0 => PowerLoss::DropUnsynced,
        1 => PowerLoss::TearUnsynced { seed: r.next_u64() },
        2 => PowerLoss::TearWithGarbage { seed: r.next_u64() },
        _ => PowerLoss::DropPages { seed: r.next_u64() },
    }
}

/// What the crashed workload guarantees: the recovered prefix length lies in `lo..=hi`.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Writes that must survive: up to the last acknowledged synced write or clean close.
    lo: u64,
    /// Writes that may survive: the acknowledged ones, plus one in doubt if a write failed.
    hi: u64,
}

/// Runs the workload of `seed` on a fresh `MemFs` until the "process" dies after a random
/// number of I/O operations, then cuts the power. Deterministic for a given seed.
fn crashed_image(seed: u64) -> (MemFs, Bounds, Rng) {
    let mut r = Rng::new(seed);
    let w = workload(seed);
    let mem = MemFs::new();
    // About 1.4 mutating I/O operations per write: die anywhere in the run (or not at all).
    let budget = r.below(OPS * 3 / 2) as i64;
    let cfs = CrashFs::new(mem.clone(), budget);
    let (mut acked, mut durable, mut in_doubt) = (0u64, 0u64, false);
    'sessions: while acked < OPS && !cfs.dead() {
        let db = match DB::open("/db", options_on(Arc::new(cfs.clone()))) {
            Ok(db) => db,
            Err(_) => break,
        };
        while acked < OPS {
            let op = w.op(0, acked);
            match apply(&db, &op) {
                Ok(()) => {
                    acked += 1;
                    if op.sync {
                        durable = acked;
                    }
                }
                Err(_) => {
                    in_doubt = true;
                    crash::crash(db);
                    break 'sessions;
                }
            }
            if r.one_in(40) {
                // A clean close makes everything durable (WAL sync, maybe a base).
                if db.close().is_ok() {
                    durable = acked;
                }
                continue 'sessions;
            }
            if r.one_in(40) {
                // The process dies and restarts: the OS keeps its unsynced bytes, which a
                // later power loss may still take, but never past a later synced write.
                crash::crash(db);
                mem.process_crash();
                continue 'sessions;
            }
        }
        crash::crash(db);
    }
    mem.power_loss(power_loss_mode(&mut r));
    let hi = acked + u64::from(in_doubt);
    (mem, Bounds { lo: durable, hi }, r)
}

fn open_mem(mem: &MemFs) -> groupkv::Result<DB> {
    DB::open("/db", options_on(Arc::new(mem.clone())))
}

#[test]
fn power_loss_at_random_points() {
    let crashes = count_from_env("GROUPKV_POWER_LOSS_CRASHES", 150);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    let mut failures = Vec::new();
    let mut sync_acked_checked = 0u64;
    for i in 0..crashes {
        let s = seed.wrapping_add(i);
        let (mem, b, mut r) = crashed_image(s);
        let w = workload(s);
        // One crash in four also loses power again at a random I/O operation of recovery.
        if r.one_in(4) {
            let cfs = CrashFs::new(mem.clone(), r.below(12) as i64);
            if let Ok(db) = DB::open("/db", options_on(Arc::new(cfs))) {
                crash::crash(db);
            }
            mem.power_loss(power_loss_mode(&mut r));
        }
        let db = match open_mem(&mem) {
            Ok(db) => db,
            Err(e) => {
                failures.push(format!("seed {s}: reopen failed: {e}"));
                continue;
            }
        };
        let actual = read_keys(&db, &w.universe(0)).expect("get");
        if matching_prefix(&w, 0, &actual, b.lo, b.hi).is_none() {
            failures.push(format!(
                "seed {s}: recovered state is no prefix of length {}..={}",
                b.lo, b.hi
            ));
        }
        sync_acked_checked += b.lo;
        db.close().expect("close");
    }
    println!(
        "power loss: {crashes} simulated crashes ({sync_acked_checked} durable writes checked), \
         {} violations (seed {seed})",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Power loss, then a second power loss at *each* I/O operation of the recovery (which may fold
/// the WALs into a base, remove files, sync the directory): the state recovered after the
/// second crash must be exactly the state the first recovery found.
#[test]
fn double_crash_during_recovery_loses_nothing_more() {
    let seeds = count_from_env("GROUPKV_DOUBLE_CRASH_SEEDS", 12);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    let mut failures = Vec::new();
    let mut double_crashes = 0u64;
    for i in 0..seeds {
        let s = seed.wrapping_add(i);
        let w = workload(s);
        let keys = w.universe(0);
        let (mem, b, _) = crashed_image(s);
        let cfs = CrashFs::new(mem.clone(), -1);
        let first: Model = match DB::open("/db", options_on(Arc::new(cfs.clone()))) {
            Ok(db) => {
                let m = read_keys(&db, &keys).expect("get");
                crash::crash(db);
                m
            }
            Err(e) => {
                failures.push(format!("seed {s}: first recovery failed: {e}"));
                continue;
            }
        };
        if matching_prefix(&w, 0, &first, b.lo, b.hi).is_none() {
            failures.push(format!("seed {s}: first recovery is no valid prefix"));
        }
        let recovery_ops = cfs.ops();
        for k in 0..=recovery_ops {
            // Rebuild the same crashed image (the run is deterministic), die after k I/Os.
            let (mem, _, mut r) = crashed_image(s);
            let cfs = CrashFs::new(mem.clone(), k as i64);
            if let Ok(db) = DB::open("/db", options_on(Arc::new(cfs))) {
                crash::crash(db);
            }
            mem.power_loss(power_loss_mode(&mut r));
            double_crashes += 1;
            match open_mem(&mem) {
                Ok(db) => {
                    let second = read_keys(&db, &keys).expect("get");
                    if second != first {
                        failures.push(format!(
                            "seed {s}: a crash at I/O {k} of {recovery_ops} during recovery \
                             changed the recovered state"
                        ));
                    }
                    crash::crash(db);
                }
                Err(e) => failures.push(format!(
                    "seed {s}: reopen after a crash at I/O {k} of recovery failed: {e}"
                )),
            }
        }
    }
    println!(
        "double crash: {double_crashes} crashes during recovery ({seeds} images), {} violations \
         (seed {seed})",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Concurrent writers (group commit), power cut at a random instant while they run. Every
/// write also bumps its thread's counter key, so each thread's recovered prefix is known
/// exactly. Checks: each thread's keys equal a prefix of its ops; synced acks survive; and no
/// hole across threads: if a write is recovered, every write acknowledged before it was issued
/// is recovered too (it committed earlier, so a prefix of the commit order contains it).
#[test]
fn power_loss_with_concurrent_writers() {
    const THREADS: u64 = 4;
    let crashes = count_from_env("GROUPKV_POWER_LOSS_CONCURRENT", 25);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    let mut failures = Vec::new();
    for i in 0..crashes {
        let s = seed.wrapping_add(i);
        let mut r = Rng::new(s);
        let w = Arc::new(Workload {
            seed: s,
            ns: "q".into(),
            keys: 16,
            sync_one_in: 5,
            counter_key: true,
            max_value: 0,
        });
        let mem = MemFs::new();
        let cfs = CrashFs::new(mem.clone(), -1);
        // Every write-path variant: pipelined or not, parallel memtable inserts or not.
        let opts = groupkv::Options {
            enable_pipelined_write: i % 2 == 1,
            allow_concurrent_memtable_write: i % 3 != 2,
            ..options_on(Arc::new(cfs.clone()))
        };
        let db = Arc::new(DB::open("/db", opts).expect("open"));
        let clock = Arc::new(AtomicU64::new(0));
        // Per thread, per op: (issue tick, ack tick or None, sync).
        type Log = Vec<Vec<(u64, Option<u64>, bool)>>;
        let log: Arc<Mutex<Log>> = Arc::new(Mutex::new(vec![Vec::new(); THREADS as usize]));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, w, clock, log) = (db.clone(), w.clone(), clock.clone(), log.clone());
                std::thread::spawn(move || {
                    for i in 0.. {
                        let op = w.op(t, i);
                        let issued = clock.fetch_add(1, SeqCst);
                        let res = apply(&db, &op);
                        let acked = res.is_ok().then(|| clock.fetch_add(1, SeqCst));
                        log.lock().expect("log")[t as usize].push((issued, acked, op.sync));
                        if res.is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(500 + r.below(20_000)));
        cfs.die();
        for h in handles {
            h.join().expect("writer thread");
        }
        match Arc::try_unwrap(db) {
            Ok(db) => crash::crash(db),
            Err(_) => panic!("writers still hold the DB"),
        }
        mem.power_loss(power_loss_mode(&mut r));
        let db = open_mem(&mem).expect("reopen after power loss");
        let log = log.lock().expect("log").clone();
        let mut prefix = Vec::new();
        for t in 0..THREADS {
            let actual = read_keys(&db, &w.universe(t)).expect("get");
            let p = match actual.get(&w.counter(t)) {
                Some(v) => String::from_utf8_lossy(v).parse::<u64>().expect("counter") + 1,
                None => 0,
            };
            let ops = &log[t as usize];
            let acked = ops.iter().filter(|o| o.1.is_some()).count() as u64;
            let lo = ops
                .iter()
                .rposition(|o| o.1.is_some() && o.2)
                .map_or(0, |i| i as u64 + 1);
            if p < lo || p > ops.len() as u64 {
                failures.push(format!(
                    "seed {s} thread {t}: recovered {p} writes; {lo} were synced and {acked} acked"
                ));
            }
            if matching_prefix(&w, t, &actual, p, p).is_none() {
                failures.push(format!(
                    "seed {s} thread {t}: keys are not the state after its first {p} writes"
                ));
            }
            prefix.push(p);
        }
        // No hole: the latest issue tick among recovered writes; everything acked before it
        // must be recovered.
        let newest_issue = (0..THREADS as usize)
            .filter(|&t| prefix[t] > 0)
            .map(|t| log[t][prefix[t] as usize - 1].0)
            .max();
        if let Some(newest) = newest_issue {
            for t in 0..THREADS as usize {
                let must = log[t]
                    .iter()
                    .rposition(|o| o.1.is_some_and(|a| a < newest))
                    .map_or(0, |i| i as u64 + 1);
                if prefix[t] < must {
                    failures.push(format!(
                        "seed {s}: hole: thread {t} recovered {} writes but its first {must} \
                         were acked before a recovered write was issued",
                        prefix[t]
                    ));
                }
            }
        }
        db.close().expect("close");
    }
    println!(
        "power loss with {THREADS} concurrent writers: {crashes} crashes, {} violations (seed {seed})",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `disable_wal` writes survive exactly a clean close: a crash at each I/O operation of the
/// close (which must write them into a base), then power loss. If `close` returned `Ok`
/// everything is there; if not, the synced WAL write still is, and the rest is whole or absent.
#[test]
fn disable_wal_writes_survive_only_a_clean_close() {
    let no_wal = groupkv::WriteOptions {
        disable_wal: true,
        ..groupkv::WriteOptions::default()
    };
    let session = |mem: &MemFs, budget: i64| -> (bool, u64) {
        let cfs = CrashFs::new(mem.clone(), -1);
        let db = DB::open("/db", options_on(Arc::new(cfs.clone()))).expect("open");
        db.put(&groupkv::WriteOptions::synced(), b"a", b"synced")
            .expect("put");
        let mut b = groupkv::WriteBatch::new();
        b.put(b"b1", b"no-wal").expect("put");
        b.put(b"b2", b"no-wal").expect("put");
        db.write(&no_wal, &b).expect("write");
        db.put(&groupkv::WriteOptions::default(), b"c", b"unsynced")
            .expect("put");
        let before = cfs.ops();
        // The process dies after `budget` more I/O operations, inside close.
        cfs.set_budget(budget);
        let ok = db.close().is_ok();
        crash::crash(db);
        (ok, cfs.ops() - before)
    };
    // Count the operations of a clean close.
    let (_, close_ops) = session(&MemFs::new(), -1);
    assert!(
        close_ops >= 4,
        "close must write a base for the disable_wal batch"
    );
    let mut failures = Vec::new();
    for k in 0..=close_ops {
        let mem = MemFs::new();
        let (closed_ok, _) = session(&mem, k as i64);
        mem.power_loss(PowerLoss::TearWithGarbage { seed: k + 7 });
        let db = open_mem(&mem).expect("reopen");
        let get = |key: &[u8]| db.get(key).expect("get");
        if get(b"a").is_none() {
            failures.push(format!("crash at close I/O {k}: the synced write was lost"));
        }
        if get(b"b1").is_some() != get(b"b2").is_some() {
            failures.push(format!(
                "crash at close I/O {k}: the disable_wal batch is torn"
            ));
        }
        if closed_ok && (get(b"b1").is_none() || get(b"c").is_none()) {
            failures.push(format!("close returned Ok at budget {k} but lost writes"));
        }
        db.close().expect("close");
    }
    println!(
        "disable_wal + crash during close: {} crash points, {} violations",
        close_ops + 1,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Salvage (`skip_any_corrupted_records`) may leave holes among unsynced writes, but: every
/// key holds the value of the last write before `lo` (synced) or of a later write (below
/// `hi`), never anything else; and a recovered batch is whole (each of its other keys holds
/// its value or a later write's). Returns what is wrong, if anything.
fn check_salvage(w: &Workload, actual: &Model, lo: u64, hi: u64) -> Option<String> {
    let ops: Vec<_> = (0..hi).map(|i| w.op(0, i)).collect();
    let value_of = |j: usize, k: &[u8]| {
        ops[j]
            .muts
            .iter()
            .find(|(key, _)| key.as_slice() == k)
            .map(|(_, v)| v.clone())
    };
    for k in w.universe(0) {
        let got = actual.get(&k).cloned();
        let synced = (0..lo as usize).rev().find_map(|j| value_of(j, &k));
        let mut allowed = vec![synced.unwrap_or(None)];
        allowed.extend((lo as usize..hi as usize).filter_map(|j| value_of(j, &k)));
        if !allowed.contains(&got) {
            return Some(format!(
                "key {}: a value no allowed write left",
                String::from_utf8_lossy(&k)
            ));
        }
        // The op that wrote it (values name their op), if after the synced prefix.
        let Some(j) = (lo as usize..hi as usize)
            .rev()
            .find(|&j| got.is_some() && value_of(j, &k) == Some(got.clone()))
        else {
            continue;
        };
        for (k2, v2) in &ops[j].muts {
            let got2 = actual.get(k2).cloned();
            let later = (j + 1..hi as usize).any(|j2| value_of(j2, k2) == Some(got2.clone()));
            if got2 != *v2 && !later {
                return Some(format!("op {j}: a partial batch"));
            }
        }
    }
    None
}

/// Page-reordering power loss (and the other kinds), each crashed image opened under every
/// recovery mode. The guarantees (docs/RELIABILITY.md): point_in_time always opens, with a
/// prefix of the commit order holding every synced write; tolerate_corrupted_tail_records and
/// absolute_consistency open with such a prefix or refuse with `Corruption` and change no
/// file; skip_any_corrupted_records always opens, keeps every synced write and every batch
/// whole, and may leave holes among the unsynced writes. No mode removes a file with damage in
/// it: an open that stops at, skips or tolerates damage keeps the file, renamed.
#[test]
fn power_loss_in_every_recovery_mode() {
    let images = count_from_env("GROUPKV_POWER_LOSS_CRASHES", 150).div_ceil(3);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    let mut failures = Vec::new();
    let mut refused = [0u64; 4];
    let mut opened = [0u64; 4];
    for i in 0..images {
        let s = seed.wrapping_add(i);
        let w = workload(s);
        for (m, mode) in WalRecoveryMode::ALL.into_iter().enumerate() {
            // The same image each time: the run is deterministic for a seed.
            let (mem, b, _) = crashed_image(s);
            let before = files(&mem);
            let flushed_below = manifest_of(&mem).map_or(0, |(log_number, _)| log_number);
            let opts = groupkv::Options {
                wal_recovery_mode: mode,
                ..options_on(Arc::new(mem.clone()))
            };
            let db = match DB::open("/db", opts) {
                Ok(db) => db,
                Err(Error::Corruption { message }) => {
                    refused[m] += 1;
                    if matches!(
                        mode,
                        WalRecoveryMode::PointInTime | WalRecoveryMode::SkipAnyCorruptedRecords
                    ) {
                        failures.push(format!("seed {s} {mode}: refused: {message}"));
                    } else if files(&mem) != before {
                        failures.push(format!("seed {s} {mode}: a refused open changed files"));
                    }
                    continue;
                }
                Err(e) => {
                    failures.push(format!("seed {s} {mode}: reopen failed: {e}"));
                    continue;
                }
            };
            opened[m] += 1;
            let removed = destroyed_evidence(&before, &files(&mem), flushed_below);
            if !removed.is_empty() {
                failures.push(format!(
                    "seed {s} {mode}: damaged files removed: {removed:?}"
                ));
            }
            let actual = read_keys(&db, &w.universe(0)).expect("get");
            let wrong = if mode == WalRecoveryMode::SkipAnyCorruptedRecords {
                check_salvage(&w, &actual, b.lo, b.hi)
            } else {
                matching_prefix(&w, 0, &actual, b.lo, b.hi)
                    .is_none()
                    .then(|| format!("no prefix of length {}..={}", b.lo, b.hi))
            };
            if let Some(wrong) = wrong {
                failures.push(format!("seed {s} {mode}: {wrong}"));
            }
            db.close().expect("close");
            // What was recovered stays: the next open (default mode) finds the same.
            let db = open_mem(&mem).expect("reopen after recovery");
            if read_keys(&db, &w.universe(0)).expect("get") != actual {
                failures.push(format!(
                    "seed {s} {mode}: the next open found another state"
                ));
            }
            db.close().expect("close");
        }
    }
    println!(
        "power loss in every recovery mode: {images} images x 4 modes, opened {opened:?} / \
         refused {refused:?} (tolerate, absolute, point_in_time, skip_any), {} violations \
         (seed {seed})",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
