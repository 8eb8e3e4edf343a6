//! Crash sweep over the migration of a first-layout directory (issue 13): each wave-1 fixture
//! (`tests/fixtures/wave1/`, bytes the old code really wrote) is loaded into a `MemFs`, then
//! opened, which converts it (replay, a table, a MANIFEST, `CURRENT`, the legacy files
//! deleted), and the process dies at every mutating file-system operation of that open. The
//! machine then keeps everything (process crash) or loses what was not synced (three `MemFs`
//! power-loss modes). Reopening must succeed with exactly the fixture's data; and a second
//! crash during that reopen (at a seeded point, with a seeded mode) must be survivable too.
//!
//! `GROUPKV_MIGRATION_SECOND_CRASHES` (default 1) sets how many second crashes follow each
//! first one.
#![allow(clippy::unwrap_used)]

mod crash;
mod fixture_support;

use std::path::PathBuf;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::{Options, DB};

use crash::{CrashFs, Rng};

fn db_dir() -> PathBuf {
    PathBuf::from("/db")
}

/// A `MemFs` holding wave-1 fixture `name`, synced (the old code wrote it long ago).
fn load(name: &str) -> MemFs {
    fixture_support::load_into_memfs("wave1", name, &db_dir())
}

fn open_on(fs: Arc<dyn FileSystem>) -> groupkv::Result<DB> {
    DB::open(
        db_dir(),
        Options {
            file_system: fs,
            create_if_missing: false,
            ..Options::default()
        },
    )
}

/// The fixture's acknowledged data, as `tests/wave1_fixtures.rs` asserts it.
fn expected(name: &str) -> Vec<(String, Option<String>)> {
    match name {
        "clean" => {
            let mut v: Vec<_> = (0..100u32)
                .map(|i| (format!("k{i:03}"), (i % 10 != 0).then(|| format!("v{i}"))))
                .collect();
            v.push(("nowal".into(), Some("kept by close".into())));
            v
        }
        "crashed" => (0..50u32)
            .map(|i| {
                let want = match i {
                    7 => None,
                    10 => Some("overwritten".to_string()),
                    _ => Some(format!("w{i}")),
                };
                (format!("a{i:03}"), want)
            })
            .collect(),
        "base_then_wal" => (0..40u32)
            .map(|i| {
                let want = match i {
                    0 => None,
                    1..=19 => Some(format!("first{i}")),
                    _ => Some(format!("second{i}")),
                };
                (format!("b{i:03}"), want)
            })
            .collect(),
        _ => unreachable!("unknown fixture {name}"),
    }
}

/// Every difference between the database and the fixture's data.
fn differences(db: &DB, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, want) in expected(name) {
        match db.get(k.as_bytes()) {
            Ok(got) => {
                let got = got.map(|v| String::from_utf8_lossy(&v).into_owned());
                if got != want {
                    out.push(format!("{k}: {got:?}, expected {want:?}"));
                }
            }
            Err(e) => out.push(format!("{k}: read failed: {e}")),
        }
    }
    out
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

fn apply(mem: &MemFs, crash: Crash) {
    match crash {
        Crash::Process => mem.process_crash(),
        Crash::Power(how) => mem.power_loss(how),
    }
}

/// Opens on a file system that dies after `budget` mutating operations, then crashes.
fn open_and_die(mem: &MemFs, budget: i64, crash: Crash) {
    let cfs = CrashFs::new(mem.clone(), budget);
    if let Ok(db) = open_on(Arc::new(cfs)) {
        crash::crash(db);
    }
    apply(mem, crash);
}

/// Mutating operations of an undisturbed open (the conversion) of fixture `name`.
fn conversion_ops(name: &str) -> u64 {
    let mem = load(name);
    let cfs = CrashFs::new(mem, -1);
    let db = open_on(Arc::new(cfs.clone())).unwrap();
    let ops = cfs.ops();
    assert!(
        differences(&db, name).is_empty(),
        "{name}: undisturbed open"
    );
    crash::crash(db);
    ops
}

/// The final open after the crashes: the data must be there. Returns whether a legacy base
/// was left behind (a crash after `CURRENT` committed the conversion but before the base was
/// removed: a later open ignores it, but does not delete it either; counted, not a
/// violation, since nothing is lost).
fn verify(mem: &MemFs, name: &str, what: &str, violations: &mut Vec<String>) -> bool {
    mem.process_crash();
    let db = match open_on(Arc::new(mem.clone())) {
        Ok(db) => db,
        Err(e) => {
            violations.push(format!("{what}: reopen failed: {e}"));
            return false;
        }
    };
    for d in differences(&db, name) {
        violations.push(format!("{what}: {d}"));
    }
    if let Err(e) = db.close() {
        violations.push(format!("{what}: close failed: {e}"));
    }
    let names = mem.list(&db_dir()).unwrap();
    if !names.iter().any(|n| n == "CURRENT") {
        violations.push(format!("{what}: not converted after reopen: {names:?}"));
    }
    names.iter().any(|n| n.ends_with(".base"))
}

#[test]
fn a_crash_at_every_operation_of_the_migration_leaves_a_directory_that_opens_whole() {
    let seconds = crash::count_from_env("GROUPKV_MIGRATION_SECOND_CRASHES", 1);
    let seed = crash::seed_from_env("GROUPKV_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let (mut points, mut doubles, mut leftovers) = (0u64, 0u64, 0u64);
    let mut violations = Vec::new();
    for name in ["clean", "crashed", "base_then_wal"] {
        let total = conversion_ops(name);
        assert!(total >= 8, "{name}: the conversion did {total} operations");
        points += total + 1;
        for budget in 0..=total {
            for crash in CRASHES {
                // Budget as i64: a conversion does a few dozen operations.
                let budget = i64::try_from(budget).unwrap();
                let what = format!("{name}: crash after {budget} operations, {crash:?}");
                let mem = load(name);
                open_and_die(&mem, budget, crash);
                leftovers += u64::from(verify(&mem, name, &what, &mut violations));

                for _ in 0..seconds {
                    let mem = load(name);
                    open_and_die(&mem, budget, crash);
                    let second_budget = i64::try_from(rng.below(total + 1)).unwrap();
                    let second = CRASHES[usize::try_from(rng.below(4)).unwrap()];
                    open_and_die(&mem, second_budget, second);
                    doubles += 1;
                    let what = format!("{what}, then after {second_budget} more, {second:?}");
                    leftovers += u64::from(verify(&mem, name, &what, &mut violations));
                }
            }
        }
    }
    println!(
        "migration crash sweep: {points} points x {} modes = {} crashes, plus {} second \
         crashes during the reopen, {} violations ({leftovers} reopened directories kept a \
         legacy base; GROUPKV_CRASH_SEED={seed})",
        CRASHES.len(),
        points * CRASHES.len() as u64,
        doubles,
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
