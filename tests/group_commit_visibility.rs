//! Atomic visibility: while writers commit multi-key batches, readers never see part of a
//! batch, under every write-path mode.
//!
//! Writer `w` owns keys `w/0..w/9` and commits batch `n` setting all ten to `n`, in key order.
//! A reader that reads `w/0` and then `w/j` must find `w/j >= w/0`: seeing `w/0 = n` means
//! batch `n` was published whole, and later batches only raise values. A partially visible
//! batch (or a group published before all its members inserted) shows `w/j < w/0`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use common::MODES;
use groupkv::{WriteBatch, WriteOptions, DB};

const WRITERS: usize = 8;
const READERS: usize = 4;
const BATCHES: u64 = 1_500;
const KEYS: usize = 10;

fn read(db: &DB, w: usize, k: usize) -> u64 {
    db.get(format!("{w}/{k}").as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
        .unwrap_or(0)
}

#[test]
fn readers_never_see_part_of_a_batch() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), mode.options()).unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let checks = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let db = Arc::clone(&db);
                thread::spawn(move || {
                    for n in 1..=BATCHES {
                        let mut b = WriteBatch::new();
                        for k in 0..KEYS {
                            b.put(format!("{w}/{k}").as_bytes(), n.to_string().as_bytes())
                                .unwrap();
                        }
                        // Half the writers sync, so real groups form and members insert in
                        // parallel.
                        let opts = WriteOptions {
                            sync: w % 2 == 0,
                            ..WriteOptions::default()
                        };
                        db.write(&opts, &b).unwrap();
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let db = Arc::clone(&db);
                let done = Arc::clone(&done);
                let checks = Arc::clone(&checks);
                thread::spawn(move || {
                    let mut i = 0usize;
                    while !done.load(Ordering::Acquire) {
                        let w = (i + r) % WRITERS;
                        let first = read(&db, w, 0);
                        for k in 1..KEYS {
                            let v = read(&db, w, k);
                            assert!(
                                v >= first,
                                "mode {}: writer {w}: key 0 shows batch {first} but key {k} \
                                 shows {v}: part of a batch was visible",
                                mode.name
                            );
                        }
                        checks.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                })
            })
            .collect();
        for h in writers {
            h.join().unwrap();
        }
        done.store(true, Ordering::Release);
        for h in readers {
            h.join().unwrap();
        }
        for w in 0..WRITERS {
            for k in 0..KEYS {
                assert_eq!(read(&db, w, k), BATCHES);
            }
        }
        assert!(checks.load(Ordering::Relaxed) > 0, "readers ran");
        println!(
            "mode {:<22}: {} reader checks, mean group size {:.2}",
            mode.name,
            checks.load(Ordering::Relaxed),
            db.stats().write_group_size.mean
        );
    }
}
