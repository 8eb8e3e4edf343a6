//! groupkv-stress's workload in process on `MemFs` with simulated power loss (issue 16).
//!
//! Each round opens the database (sometimes with a crash budget small enough to die during
//! recovery itself), verifies every key, then runs the full stress mix in one of the four write
//! modes until the file system "dies" after a random number of mutating operations (a WAL
//! append, a sync, a memtable switch's create, a MANIFEST write: wherever the budget ends),
//! and power is lost in one of MemFs's modes (drop unsynced, torn prefix, torn with garbage,
//! page reordering). What recovers must satisfy, against the log of every write:
//! * every write acknowledged before a synced write was issued survives (or a later write of
//!   its key does): the sync made it durable;
//! * the survivors are a prefix of the commit order: no acknowledged write older than the
//!   newest surviving write is missing;
//! * a batch survives whole or not at all;
//! * no value that was never written, no older value over a newer durable one.
//!
//! Every image a power loss leaves is opened under all four recovery modes: the run itself
//! goes on under the round's mode (rotating), the three others open copies (an open mutates
//! the directory, so one mode never destroys another's evidence). The rules per mode:
//! * `point_in_time`: all of the above; never refuses.
//! * `absolute_consistency` and `tolerate_corrupted_tail_records`: may refuse an image with
//!   damage (a torn or reordered unsynced tail) with `Corruption`, changing no file; when they
//!   open, all of the above. A refused run goes on under `point_in_time`.
//! * `skip_any_corrupted_records`: never refuses; salvage may drop an unsynced record whose
//!   page was lost while a later one survived, so survivors need not be a prefix, but the
//!   other rules hold (durable writes, whole batches, no foreign or older values).
//!
//! Power failing during recovery itself (one round in four) happens under `point_in_time`,
//! `absolute_consistency` or `tolerate_corrupted_tail_records` (never salvage, whose holes
//! the next round's prefix rule would report).
//!
//! `GROUPKV_STRESS_POWER_LOSSES` rounds (default 60), `GROUPKV_CRASH_SEED` to reproduce.

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

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crash::{count_from_env, seed_from_env, CrashFs, Rng};
use expected::{present, ver, Event, Expected};
use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::{Error, WalRecoveryMode, DB};

const KEYS: u32 = 400;
const PAD: u32 = 40;
const MODES: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

fn config(seed: u64) -> workload::Config {
    workload::Config {
        threads: 3,
        ops_per_thread: 3000,
        duration: Duration::from_secs(5),
        mix: workload::Mix::default(),
        sync_percent: 10,
        batch_keys: 6,
        value_pad: PAD,
        scan_len: 60,
        seed,
        expect_write_errors: true,
    }
}

fn options(cfs: &CrashFs, round: u64) -> groupkv::Options {
    options_in(cfs, round, WalRecoveryMode::PointInTime)
}

fn options_in(cfs: &CrashFs, round: u64, mode: WalRecoveryMode) -> groupkv::Options {
    let (pipelined, concurrent) = MODES[(round % 4) as usize];
    groupkv::Options {
        wal_recovery_mode: mode,
        enable_pipelined_write: pipelined,
        allow_concurrent_memtable_write: concurrent,
        write_buffer_size: 16 << 10,
        max_write_buffer_number: 3,
        target_file_size_base: 16 << 10,
        max_bytes_for_level_base: 64 << 10,
        block_size: 1024,
        ..crash::options_on(Arc::new(cfs.clone()))
    }
}

fn power_loss_mode(r: &mut Rng) -> PowerLoss {
    let seed = r.next_u64();
    match r.below(4) {
        0 => PowerLoss::DropUnsynced,
        1 => PowerLoss::TearUnsynced { seed },
        2 => PowerLoss::TearWithGarbage { seed },
        _ => PowerLoss::DropPages { seed },
    }
}

/// The recovery modes in the order rounds rotate through them.
const RECOVERY: [WalRecoveryMode; 4] = [
    WalRecoveryMode::PointInTime,
    WalRecoveryMode::AbsoluteConsistency,
    WalRecoveryMode::TolerateCorruptedTailRecords,
    WalRecoveryMode::SkipAnyCorruptedRecords,
];

/// Whether `mode` may refuse an image a power loss left (damage in an unsynced tail).
fn may_refuse(mode: WalRecoveryMode) -> bool {
    matches!(
        mode,
        WalRecoveryMode::AbsoluteConsistency | WalRecoveryMode::TolerateCorruptedTailRecords
    )
}

/// The power-loss rules of the module doc under `point_in_time` (and the modes that open
/// only what it would); returns the violations and the number of acknowledged key writes the
/// check covered.
fn check_power_loss(base: &[u32], log: &[Event], found: &[Option<u32>]) -> (Vec<String>, u64) {
    check_in(base, log, found, WalRecoveryMode::PointInTime)
}

/// The rules of the module doc for recovery mode `mode`: salvage
/// (`skip_any_corrupted_records`) is exempt from the prefix rule only.
fn check_in(
    base: &[u32],
    log: &[Event],
    found: &[Option<u32>],
    mode: WalRecoveryMode,
) -> (Vec<String>, u64) {
    let prefix = mode != WalRecoveryMode::SkipAnyCorruptedRecords;
    let mut bad = Vec::new();
    // Per key: the states it may hold (its base and every logged write), by version.
    let mut hist: Vec<Vec<u32>> = base.iter().map(|&s| vec![s]).collect();
    let mut writer: HashMap<(u32, u32), usize> = HashMap::new();
    for (i, e) in log.iter().enumerate() {
        for &(k, s) in &e.muts {
            hist[k as usize].push(s);
            writer.insert((k, s), i);
        }
    }
    // The version a key effectively recovered (absent: the newest delete it may stand for).
    let mut eff = vec![0u32; found.len()];
    for (k, f) in found.iter().enumerate() {
        let h = &hist[k];
        eff[k] = match f {
            Some(v) if h.contains(&((v << 1) | 1)) => *v,
            Some(v) => {
                bad.push(format!(
                    "key {k}: version {v} is not one it may hold (base {})",
                    expected::show_state(base[k])
                ));
                *v
            }
            None => match h.iter().filter(|&&s| !present(s)).map(|&s| ver(s)).max() {
                Some(v) => v,
                None => {
                    bad.push(format!(
                        "key {k}: absent, but it held {} and was never deleted since",
                        expected::show_state(base[k])
                    ));
                    0
                }
            },
        };
    }
    let survives = |e: &Event| e.muts.iter().all(|&(k, s)| eff[k as usize] >= ver(s));
    // Newest start of a synced, acknowledged write: everything acknowledged before it is durable.
    let synced = log
        .iter()
        .filter(|e| e.sync && e.ack != 0)
        .map(|e| e.start)
        .max()
        .unwrap_or(0);
    // Newest start of a write that visibly survived (a value it wrote was read back).
    let mut newest = 0;
    for (f, k) in found.iter().zip(0u32..) {
        if let Some(v) = f {
            if let Some(&i) = writer.get(&(k, (v << 1) | 1)) {
                newest = newest.max(log[i].start);
                if !survives(&log[i]) {
                    bad.push(format!(
                        "a batch survived only in part (key {k} version {v})"
                    ));
                }
            }
        }
    }
    let mut checked = 0;
    for e in log.iter().filter(|e| e.ack != 0) {
        checked += e.muts.len() as u64;
        if survives(e) {
            continue;
        }
        if e.ack < synced {
            bad.push(format!(
                "write {:?} acknowledged before a synced write was issued is lost",
                e.muts
            ));
        } else if prefix && e.ack < newest {
            bad.push(format!(
                "write {:?} is lost but a later one survived (a hole, not a prefix)",
                e.muts
            ));
        }
    }
    (bad, checked)
}

/// Rounds on one file system before the next starts afresh.
const EPOCH: u64 = 100;

/// A separate file system holding a copy of `mem`'s database directory, every file synced.
fn copy_image(mem: &MemFs) -> MemFs {
    let dir = std::path::Path::new("/db");
    let copy = MemFs::new();
    copy.create_dir_all(dir).expect("mkdir");
    for name in mem.list(dir).unwrap_or_default() {
        if name == "LOCK" {
            continue;
        }
        let data = mem.read(&dir.join(&name)).expect("read");
        let mut f = copy.create(&dir.join(&name)).expect("create");
        f.append(&data).expect("append");
        f.sync().expect("sync");
    }
    copy.sync_dir(dir).expect("sync dir");
    copy
}

/// Every file of the image with its bytes (but the LOCK).
fn image_files(mem: &MemFs) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new("/db");
    let mut names = mem.list(dir).unwrap_or_default();
    names.retain(|n| n != "LOCK");
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let data = mem.read(&dir.join(&n)).unwrap_or_default();
            (n, data)
        })
        .collect()
}

/// Opens and checks under `mode` a copy of the image a power loss left. Returns whether it
/// opened, the violations and the writes checked.
fn check_copy(
    mem: &MemFs,
    round: u64,
    mode: WalRecoveryMode,
    base: &[u32],
    log: &[Event],
) -> (bool, Vec<String>, u64) {
    let copy = copy_image(mem);
    let cfs = CrashFs::new(copy.clone(), -1);
    let before = image_files(&copy);
    match DB::open("/db", options_in(&cfs, round, mode)) {
        Ok(db) => {
            let (bad, n) = match verify::read_all(&db, KEYS, PAD) {
                Ok(found) => check_in(base, log, &found, mode),
                Err(bad) => (bad, 0),
            };
            if let Err(e) = db.close() {
                return (true, vec![format!("{mode}: close failed: {e}")], n);
            }
            (
                true,
                bad.into_iter().map(|b| format!("{mode}: {b}")).collect(),
                n,
            )
        }
        Err(Error::Corruption { .. }) if may_refuse(mode) => {
            let bad = if image_files(&copy) == before {
                Vec::new()
            } else {
                vec![format!("{mode}: a refused open changed the directory")]
            };
            (false, bad, 0)
        }
        Err(e) => (false, vec![format!("{mode}: open failed: {e}")], 0),
    }
}

/// Opens the database after the last power loss and checks it against the log.
fn final_check(mem: &MemFs, exp: &Expected) -> (Vec<String>, u64) {
    let cfs = CrashFs::new(mem.clone(), -1);
    let db = DB::open("/db", options(&cfs, 0)).expect("final open");
    let found = verify::read_all(&db, KEYS, PAD).expect("final reads agree");
    let (base, log) = exp.log().expect("log");
    check_power_loss(&base, &log, &found)
}

#[test]
fn stress_with_power_loss_at_random_points() {
    let rounds = count_from_env("GROUPKV_STRESS_POWER_LOSSES", 60);
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    println!("stress power loss: seed {seed} (GROUPKV_CRASH_SEED={seed} reproduces)");
    let mut r = Rng::new(seed);
    let mut mem = MemFs::new();
    let mut exp = Arc::new(Expected::in_memory(KEYS).expect("expected state"));
    let (mut crashes, mut checked, mut recovery_crashes) = (0u64, 0u64, 0u64);
    let mut violations: Vec<String> = Vec::new();
    // Per recovery mode (RECOVERY's order): images opened under it, and how many it opened.
    let (mut images, mut opened) = ([0u64; 4], [0u64; 4]);
    for round in 0..rounds {
        // Recovery quarantines damaged WALs (evidence is never deleted), so a long chain of
        // power losses grows the directory and slows every open: start afresh now and then.
        if round > 0 && round % EPOCH == 0 {
            let (bad, n) = final_check(&mem, &exp);
            checked += n;
            violations.extend(bad);
            mem = MemFs::new();
            exp = Arc::new(Expected::in_memory(KEYS).expect("expected state"));
        }
        let cfs = CrashFs::new(mem.clone(), -1);
        // One round in four: power fails during recovery itself, then again after it.
        if r.below(4) == 0 {
            cfs.set_budget(1 + r.below(6) as i64);
            let mode = RECOVERY[(round % 3) as usize];
            if let Ok(db) = DB::open("/db", options_in(&cfs, round, mode)) {
                crash::crash(db);
            }
            mem.power_loss(power_loss_mode(&mut r));
            recovery_crashes += 1;
            crashes += 1;
            continue;
        }
        let (base, log) = exp.log().expect("in-memory expected state logs");
        // The other three modes on copies of the image; the run goes on under `mode`.
        let mode = RECOVERY[(round % 4) as usize];
        for (m, other) in RECOVERY.into_iter().enumerate() {
            if other == mode {
                continue;
            }
            let (ok, bad, n) = check_copy(&mem, round, other, &base, &log);
            opened[m] += u64::from(ok);
            images[m] += 1;
            checked += n;
            violations.extend(bad.into_iter().map(|b| format!("round {round}: {b}")));
        }
        let before = image_files(&mem);
        images[(round % 4) as usize] += 1;
        let (db, mode) = match DB::open("/db", options_in(&cfs, round, mode)) {
            Ok(db) => {
                opened[(round % 4) as usize] += 1;
                (db, mode)
            }
            Err(Error::Corruption { .. }) if may_refuse(mode) => {
                if image_files(&mem) != before {
                    violations.push(format!(
                        "round {round}: {mode}: a refused open changed the directory"
                    ));
                }
                let db = DB::open("/db", options(&cfs, round)).unwrap_or_else(|e| {
                    panic!("round {round} (seed {seed}): open after power loss: {e}")
                });
                (db, WalRecoveryMode::PointInTime)
            }
            Err(e) => panic!("round {round} (seed {seed}): {mode}: open after power loss: {e}"),
        };
        let found = match verify::read_all(&db, KEYS, PAD) {
            Ok(found) => found,
            Err(bad) => panic!("round {round} (seed {seed}): reads disagree: {bad:?}"),
        };
        let (bad, n) = check_in(&base, &log, &found, mode);
        checked += n;
        for b in bad {
            violations.push(format!("round {round}: {b}"));
        }
        verify::resolve(&exp, &found);
        exp.reset_log();
        // The stress mix until the file system dies after a random budget of mutating ops.
        cfs.set_budget(1 + r.below(1500) as i64);
        let db = Arc::new(db);
        let stop = Arc::new(AtomicBool::new(false));
        let report = workload::run(&db, &exp, &config(seed.wrapping_add(round)), &stop);
        violations.extend(
            report
                .violations
                .lock()
                .iter()
                .map(|v| format!("round {round}: live: {v}")),
        );
        cfs.die();
        match Arc::try_unwrap(db) {
            Ok(db) => crash::crash(db),
            Err(_) => panic!("stress threads still hold the DB"),
        }
        mem.power_loss(power_loss_mode(&mut r));
        crashes += 1;
    }
    let (bad, n) = final_check(&mem, &exp);
    checked += n;
    violations.extend(bad);
    for v in violations.iter().take(20) {
        println!("VIOLATION: {v}");
    }
    let per_mode: Vec<String> = RECOVERY
        .iter()
        .zip(images.iter().zip(&opened))
        .map(|(m, (i, o))| format!("{m} {o}/{i}"))
        .collect();
    println!(
        "stress power loss: {crashes} crashes, {checked} acknowledged writes checked, {} \
         violations ({recovery_crashes} during recovery; images opened per recovery mode: {})",
        violations.len(),
        per_mode.join(", ")
    );
    for (m, (&i, &o)) in RECOVERY.iter().zip(images.iter().zip(&opened)) {
        assert!(i > 0 || rounds < 8, "no image was opened under {m}");
        if !may_refuse(*m) {
            assert_eq!(i, o, "{m} refused an image");
        }
    }
    assert!(
        violations.is_empty(),
        "seed {seed}: {} violations",
        violations.len()
    );
    assert!(checked > rounds, "the workload wrote too little: {checked}");
}

/// The checker is not vacuous: each rule, broken on purpose, is reported.
#[test]
fn power_loss_checker_reports_each_broken_rule() {
    let put = |k: u32, v: u32| (k, (v << 1) | 1);
    let ev = |start, ack, sync, muts| Event {
        start,
        ack,
        sync,
        muts,
    };
    // Key 0 and 1 start at version 1; writes: A (key 0 v2), S (key 2 v1, synced),
    // B (batch: key 0 v3 + key 1 v2), C (key 3 v1), D (key 1 v3, in flight).
    let base = vec![put(0, 1).1, put(1, 1).1, 0, 0];
    let log = vec![
        ev(1, 2, false, vec![put(0, 2)]),
        ev(3, 4, true, vec![put(2, 1)]),
        ev(5, 6, false, vec![put(0, 3), put(1, 2)]),
        ev(7, 8, false, vec![put(3, 1)]),
        ev(9, 0, false, vec![put(1, 3)]),
    ];
    let ok: Vec<Option<u32>> = vec![Some(3), Some(3), Some(1), Some(1)];
    assert_eq!(check_power_loss(&base, &log, &ok).0, Vec::<String>::new());
    // Losing everything after the sync is a prefix: fine.
    let prefix = vec![Some(2), Some(1), Some(1), None];
    assert_eq!(
        check_power_loss(&base, &log, &prefix).0,
        Vec::<String>::new()
    );
    let cases: Vec<(&str, Vec<Option<u32>>)> = vec![
        ("lost before sync", vec![Some(1), Some(1), Some(1), None]),
        ("hole", vec![Some(2), Some(1), Some(1), Some(1)]),
        ("torn batch", vec![Some(3), Some(1), Some(1), None]),
        ("never written", vec![Some(9), Some(1), Some(1), None]),
        ("lost base", vec![Some(2), None, Some(1), None]),
    ];
    for (what, found) in cases {
        let (bad, _) = check_power_loss(&base, &log, &found);
        assert!(!bad.is_empty(), "{what} not reported");
        // Salvage is exempt from the prefix rule only.
        let (bad, _) = check_in(
            &base,
            &log,
            &found,
            WalRecoveryMode::SkipAnyCorruptedRecords,
        );
        assert_eq!(
            bad.is_empty(),
            what == "hole",
            "{what} under salvage: {bad:?}"
        );
    }
}
