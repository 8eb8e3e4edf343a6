//! The memtable switch under every write-path mode, sync and not: 8 threads write through
//! 64 KiB write buffers (a switch every few hundred writes) while a reader checks that what it
//! sees is always a prefix of each thread's writes. Nothing acknowledged is lost, duplicated
//! or reordered, before and after a reopen.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::MODES;
use groupkv::{Options, WriteOptions, DB};

const THREADS: usize = 8;
const WRITES: usize = 1_500;

fn key(t: usize, i: usize) -> Vec<u8> {
    format!("t{t}/k{i:05}").into_bytes()
}

fn counter(t: usize) -> Vec<u8> {
    format!("t{t}/last").into_bytes()
}

fn value(t: usize, i: usize) -> Vec<u8> {
    format!("t{t}-i{i}-{}", "v".repeat(60)).into_bytes()
}

/// Every write of every thread is there, and each thread's counter names its last write.
fn check_complete(db: &DB, what: &str) {
    for t in 0..THREADS {
        for i in 0..WRITES {
            assert_eq!(
                db.get(&key(t, i)).unwrap(),
                Some(value(t, i)),
                "{what}: t{t} i{i}"
            );
        }
        let last = db.get(&counter(t)).unwrap().unwrap();
        assert_eq!(last, (WRITES - 1).to_string().into_bytes(), "{what}: t{t}");
    }
}

#[test]
fn switches_lose_duplicate_and_reorder_nothing_in_every_mode() {
    for mode in MODES {
        for sync in [false, true] {
            let what = format!("{} sync={sync}", mode.name);
            let dir = tempfile::tempdir().unwrap();
            let options = Options {
                write_buffer_size: 64 << 10,
                ..mode.options()
            };
            let db = DB::open(dir.path(), options.clone()).unwrap();
            let done = AtomicBool::new(false);
            thread::scope(|s| {
                // The reader: whenever a thread's counter says i, writes 0..=i are visible
                // (each thread writes key i, then the counter, in that order).
                s.spawn(|| {
                    while !done.load(Ordering::Acquire) {
                        for t in 0..THREADS {
                            let Some(c) = db.get(&counter(t)).unwrap() else {
                                continue;
                            };
                            let c: usize = String::from_utf8(c).unwrap().parse().unwrap();
                            for i in [0, c / 2, c] {
                                assert_eq!(
                                    db.get(&key(t, i)).unwrap(),
                                    Some(value(t, i)),
                                    "{what}: counter {c} visible before write {i}"
                                );
                            }
                        }
                    }
                });
                let writers: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let db = &db;
                        s.spawn(move || {
                            let opts = WriteOptions {
                                sync: sync && t % 2 == 0,
                                ..WriteOptions::default()
                            };
                            for i in 0..WRITES {
                                db.put(&opts, &key(t, i), &value(t, i)).unwrap();
                                db.put(&opts, &counter(t), i.to_string().as_bytes())
                                    .unwrap();
                            }
                        })
                    })
                    .collect();
                for w in writers {
                    w.join().unwrap();
                }
                done.store(true, Ordering::Release);
            });
            // One sequence per write: none lost, none applied twice.
            assert_eq!(
                db.latest_sequence(),
                (THREADS * WRITES * 2) as u64,
                "{what}"
            );
            let stats = db.stats();
            assert!(
                stats.memtable_switches >= 10,
                "{what}: only {} switches",
                stats.memtable_switches
            );
            // Switched memtables wait for the flush thread or are in tables already.
            assert!(stats.immutable_memtables + stats.flushes >= 1, "{what}");
            check_complete(&db, &what);
            db.close().unwrap();
            let db = DB::open(dir.path(), options).unwrap();
            assert_eq!(
                db.latest_sequence(),
                (THREADS * WRITES * 2) as u64,
                "{what}: after reopen"
            );
            check_complete(&db, &format!("{what}, reopened"));
            db.close().unwrap();
        }
    }
}
