//! Crash safety of the `VersionSet`: the process dies at every mutating file-system operation
//! of creating a database, opening it (a new MANIFEST), logging edits and rotating the
//! MANIFEST; then the machine keeps everything (process crash) or loses what was not synced
//! (the three `MemFs` power-loss modes). After each, `recover()` must return either the last
//! state whose `log_and_apply` returned `Ok` or the one being written when the process died:
//! never garbage, never fewer files, never an error (once the database existed).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod crash;

use std::path::PathBuf;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::version::{FileMetaData, VersionEdit, VersionSet, VersionSetOptions};

use crash::CrashFs;

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    files: Vec<(usize, u64)>,
    log_number: u64,
    last_sequence: u64,
}

fn state_of(vs: &VersionSet) -> State {
    let mut files: Vec<(usize, u64)> = vs
        .current()
        .all_files()
        .map(|(l, f)| (l, f.number))
        .collect();
    files.sort_unstable();
    State {
        files,
        log_number: vs.log_number(),
        last_sequence: vs.last_sequence(),
    }
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

/// What the scenario got acknowledged before the process died, and what it was doing.
struct Run {
    acked: Vec<State>,
    attempted: Option<State>,
    created: bool,
}

/// Creates, opens, and logs 12 edits (adds, deletes, moves, log numbers) with a MANIFEST limit
/// small enough to rotate every few edits; stops at the first error (the process died).
fn scenario(fs: Arc<dyn FileSystem>) -> Run {
    let mut run = Run {
        acked: Vec::new(),
        attempted: None,
        created: false,
    };
    let empty = State {
        files: Vec::new(),
        log_number: 0,
        last_sequence: 0,
    };
    let mut vs = VersionSet::new(
        fs,
        &dir(),
        VersionSetOptions {
            max_manifest_file_size: 400,
        },
    );
    run.attempted = Some(empty.clone());
    if vs.create_new_db().is_err() {
        return run;
    }
    run.created = true;
    run.acked.push(empty.clone());
    if vs.recover().is_err() || vs.open_manifest().is_err() {
        return run;
    }
    let mut model = empty;
    let mut live: Vec<(usize, u64)> = Vec::new();
    for i in 0..12u64 {
        let mut next = model.clone();
        let mut edit = VersionEdit::new();
        let n = vs.new_file_number();
        let key = format!("key{i:03}");
        let level = (i % 3) as usize;
        edit.add_file(
            level,
            FileMetaData {
                number: n,
                file_size: 100 * i,
                smallest: internal_key(key.as_bytes(), i + 1, ValueKind::Value),
                largest: internal_key(key.as_bytes(), i, ValueKind::Value),
            },
        )
        .unwrap();
        next.files.push((level, n));
        if i % 4 == 3 {
            let (l, old) = live.remove(0);
            edit.remove_file(l, old).unwrap();
            next.files.retain(|&f| f != (l, old));
        }
        if i % 5 == 4 {
            let wal = vs.new_file_number();
            edit.set_log_number(wal);
            next.log_number = wal;
        }
        vs.set_last_sequence(10 * (i + 1));
        next.last_sequence = 10 * (i + 1);
        next.files.sort_unstable();
        run.attempted = Some(next.clone());
        if vs.log_and_apply(&mut edit).is_err() {
            return run;
        }
        assert_eq!(state_of(&vs), next, "installed state");
        live.push((level, n));
        model = next;
        run.acked.push(model.clone());
    }
    run.attempted = None;
    run
}

fn recover(fs: &MemFs) -> groupkv::Result<(VersionSet, State)> {
    let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), VersionSetOptions::default());
    vs.recover()?;
    let s = state_of(&vs);
    Ok((vs, s))
}

fn crash_modes() -> Vec<Option<PowerLoss>> {
    vec![
        None,
        Some(PowerLoss::DropUnsynced),
        Some(PowerLoss::TearUnsynced { seed: 7 }),
        Some(PowerLoss::TearWithGarbage { seed: 11 }),
        Some(PowerLoss::TearUnsynced { seed: 12345 }),
        Some(PowerLoss::TearWithGarbage { seed: 999 }),
    ]
}

#[test]
fn recovery_after_a_crash_at_every_operation_yields_the_old_or_the_new_state() {
    // How many mutating operations the whole scenario performs.
    let total = {
        let fs = MemFs::new();
        fs.create_dir_all(&dir()).unwrap();
        let cfs = CrashFs::new(fs, -1);
        let run = scenario(Arc::new(cfs.clone()));
        assert_eq!(
            run.acked.len(),
            13,
            "the scenario completes without a crash"
        );
        cfs.ops()
    };
    assert!(total > 60, "{total} operations");
    let mut points = 0;
    let mut outcomes = [0usize; 3]; // no database / old state / new state
    for budget in 0..=total {
        for mode in crash_modes() {
            let fs = MemFs::new();
            fs.create_dir_all(&dir()).unwrap();
            let cfs = CrashFs::new(fs.clone(), budget as i64);
            let run = scenario(Arc::new(cfs));
            match mode {
                None => fs.process_crash(),
                Some(how) => fs.power_loss(how),
            }
            points += 1;
            let what = format!("crash after {budget} operations, {mode:?}");
            let recovered = recover(&fs);
            let (mut vs, state) = match recovered {
                Ok(r) => r,
                Err(e) if !run.created => {
                    // Creation was not durable: there is no database (a lone MANIFEST-000001
                    // or nothing at all), and that is the only acceptable error.
                    assert!(e.to_string().contains("CURRENT"), "{what}: {e}");
                    assert!(
                        !fs.exists(&dir().join("CURRENT")).unwrap(),
                        "{what}: CURRENT exists but recovery failed: {e}"
                    );
                    outcomes[0] += 1;
                    continue;
                }
                Err(e) => panic!("{what}: recovery failed: {e}"),
            };
            let old = run.acked.last();
            let new = run.attempted.as_ref();
            if Some(&state) == old {
                outcomes[1] += 1;
            } else if Some(&state) == new {
                outcomes[2] += 1;
            } else {
                panic!("{what}: recovered {state:?}, expected {old:?} or {new:?}");
            }
            // The recovered database is usable: a new MANIFEST and an edit, then it reopens.
            vs.open_manifest()
                .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            let mut e = VersionEdit::new();
            e.set_last_sequence(1_000);
            vs.set_last_sequence(1_000);
            vs.log_and_apply(&mut e).unwrap();
            let expect = state_of(&vs);
            drop(vs);
            let (_, again) = recover(&fs).unwrap_or_else(|e| panic!("{what}: second open: {e}"));
            assert_eq!(again, expect, "{what}: second open");
        }
    }
    println!(
        "manifest crash sweep: {} points x {} modes = {points} crashes, 0 violations \
         (no database {}, old state {}, new state {})",
        total + 1,
        crash_modes().len(),
        outcomes[0],
        outcomes[1],
        outcomes[2]
    );
    assert!(
        outcomes[1] > 0 && outcomes[2] > 0,
        "both outcomes occur: {outcomes:?}"
    );
}
