//! Failure: the Nth WAL append or sync fails (through the fault-injecting file system). That
//! write and every later one return an error, nothing is retried, and reopening recovers exactly
//! the acknowledged writes. Run under every write-path mode, with several writer threads.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use common::{Mode, MODES};
use groupkv::fs::{Fault, FaultKind, MemFs, PowerLoss};
use groupkv::{Error, Options, WriteOptions, DB};

const THREADS: usize = 4;
const WRITES: usize = 60;

fn open(fs: &MemFs, mode: Mode) -> DB {
    DB::open(
        Path::new("/db"),
        Options {
            file_system: Arc::new(fs.clone()),
            ..mode.options()
        },
    )
    .unwrap()
}

/// Runs the workload; returns the keys whose writes were acknowledged. Checks that once a
/// write failed, every later write of that thread fails too.
fn workload(db: &Arc<DB>, sync: bool) -> BTreeSet<String> {
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = Arc::clone(db);
            let acked = Arc::clone(&acked);
            thread::spawn(move || {
                let mut failed: Option<Error> = None;
                for i in 0..WRITES {
                    let key = format!("{t}-{i:03}");
                    let opts = WriteOptions {
                        sync,
                        ..WriteOptions::default()
                    };
                    match db.put(&opts, key.as_bytes(), key.as_bytes()) {
                        Ok(()) => {
                            assert!(failed.is_none(), "write {key} succeeded after {failed:?}");
                            acked.lock().unwrap().insert(key);
                        }
                        Err(e) => {
                            assert!(
                                matches!(e, Error::Io { .. } | Error::Poisoned { .. }),
                                "unexpected error {e:?}"
                            );
                            if failed.is_some() {
                                assert!(matches!(e, Error::Poisoned { .. }), "later error {e:?}");
                            }
                            failed = Some(e);
                        }
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

fn present(db: &DB) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for t in 0..THREADS {
        for i in 0..WRITES {
            let key = format!("{t}-{i:03}");
            if let Some(v) = db.get(key.as_bytes()).unwrap() {
                assert_eq!(v, key.as_bytes(), "value of {key} is whole");
                s.insert(key);
            }
        }
    }
    s
}

/// A failed append writes nothing, so after a process crash exactly the acknowledged writes
/// are present.
#[test]
fn failed_wal_append_poisons_and_reopen_recovers_exactly_the_acked() {
    for mode in MODES {
        for nth in [1u64, 2, 5, 17, 40, 120] {
            for errno in [libc::EIO, libc::ENOSPC] {
                let fs = MemFs::new();
                let db = Arc::new(open(&fs, mode));
                // Appends so far: none (the WAL is empty at open).
                let base = fs.count(FaultKind::Append);
                fs.inject(Fault::once(FaultKind::Append, base + nth, errno));
                let acked = workload(&db, false);
                let total = THREADS * WRITES;
                assert!(
                    acked.len() < total,
                    "mode {} nth {nth}: the fault fired",
                    mode.name
                );
                // Later writes keep failing: the error is sticky.
                let err = db
                    .put(&WriteOptions::default(), b"after", b"x")
                    .unwrap_err();
                assert!(matches!(err, Error::Poisoned { .. }), "{err}");
                fs.process_crash();
                let db = Arc::try_unwrap(db).ok();
                if let Some(db) = &db {
                    db.halt_background_work_for_test();
                }
                std::mem::forget(db);
                let db = open(&fs, mode);
                assert_eq!(present(&db), acked, "mode {} nth {nth}", mode.name);
                assert_eq!(db.get(b"after").unwrap(), None);
            }
        }
    }
}

/// A failed sync leaves its bytes in the page cache, where power loss may drop them: with
/// every write synced, after power loss exactly the acknowledged writes are present.
#[test]
fn failed_wal_sync_poisons_and_power_loss_keeps_exactly_the_acked() {
    for mode in MODES {
        for nth in [1u64, 2, 9, 30] {
            let fs = MemFs::new();
            let db = Arc::new(open(&fs, mode));
            let base = fs.count(FaultKind::Sync);
            fs.inject(Fault::once(FaultKind::Sync, base + nth, libc::EIO));
            let acked = workload(&db, true);
            assert!(acked.len() < THREADS * WRITES, "the fault fired");
            assert!(db.stats().wal_syncs >= nth - 1);
            fs.power_loss(PowerLoss::DropUnsynced);
            let db = Arc::try_unwrap(db).ok();
            if let Some(db) = &db {
                db.halt_background_work_for_test();
            }
            std::mem::forget(db);
            let db = open(&fs, mode);
            assert_eq!(present(&db), acked, "mode {} nth {nth}", mode.name);
        }
    }
}

/// A write whose sync failed was not acknowledged, but its bytes may have reached the file:
/// after a process crash it may be present ("in doubt"), whole, and every acknowledged write
/// is present.
#[test]
fn failed_sync_then_process_crash_loses_nothing_acked() {
    for mode in MODES {
        let fs = MemFs::new();
        let db = Arc::new(open(&fs, mode));
        fs.inject(Fault::once(
            FaultKind::Sync,
            fs.count(FaultKind::Sync) + 3,
            libc::EIO,
        ));
        let acked = workload(&db, true);
        fs.process_crash();
        let db = Arc::try_unwrap(db).ok();
        if let Some(db) = &db {
            db.halt_background_work_for_test();
        }
        std::mem::forget(db);
        let db = open(&fs, mode);
        let got = present(&db);
        assert!(got.is_superset(&acked), "mode {}", mode.name);
    }
}
