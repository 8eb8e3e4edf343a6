//! Concurrency torture: 32 threads × 2,000 mixed puts, deletes and batches, with sync on and
//! off, under every write-path mode. Afterwards every acknowledged write is readable, and
//! after reopening the state is identical.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;

use common::{Rng, MODES};
use groupkv::write_batch::Record;
use groupkv::{WriteBatch, WriteOptions, DB};

const THREADS: usize = 32;
const OPS: usize = 2_000;
const KEYS_PER_THREAD: u64 = 64;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn key(t: usize, k: u64) -> Vec<u8> {
    format!("t{t:02}/k{k:03}").into_bytes()
}

/// One thread's workload; returns the state of its own keys (threads own disjoint keys, so
/// the final state of each is its own ops applied in order).
fn run_thread(db: &DB, t: usize, sync: bool) -> State {
    let mut rng = Rng::new(t as u64 * 7919 + u64::from(sync));
    let mut mine = State::new();
    // Mostly non-sync writes in the "sync" run too, so groups mix sync and non-sync writers.
    for i in 0..OPS {
        let opts = WriteOptions {
            sync: sync && rng.below(4) == 0,
            ..WriteOptions::default()
        };
        let mut batch = WriteBatch::new();
        let mut expect: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        match rng.below(10) {
            0..=5 => {
                let k = key(t, rng.below(KEYS_PER_THREAD));
                let v = format!(
                    "t{t}-op{i}-{}",
                    "x".repeat(usize::try_from(rng.below(200)).unwrap())
                );
                batch.put(&k, v.as_bytes()).unwrap();
                expect.push((k, Some(v.into_bytes())));
            }
            6..=7 => {
                let k = key(t, rng.below(KEYS_PER_THREAD));
                batch.delete(&k).unwrap();
                expect.push((k, None));
            }
            _ => {
                for j in 0..1 + rng.below(5) {
                    let k = key(t, rng.below(KEYS_PER_THREAD));
                    if rng.below(4) == 0 {
                        batch.delete(&k).unwrap();
                        expect.push((k, None));
                    } else {
                        let v = format!("t{t}-op{i}-b{j}");
                        batch.put(&k, v.as_bytes()).unwrap();
                        expect.push((k, Some(v.into_bytes())));
                    }
                }
            }
        }
        db.write(&opts, &batch).unwrap();
        for (k, v) in expect {
            match v {
                Some(v) => mine.insert(k, v),
                None => mine.remove(&k),
            };
        }
        // Read-your-writes: the acknowledged batch is visible at once.
        let k = last_key(&batch);
        assert_eq!(
            db.get(&k).unwrap(),
            mine.get(&k).cloned(),
            "thread {t} op {i}: own write not visible"
        );
    }
    mine
}

fn last_key(batch: &WriteBatch) -> Vec<u8> {
    match batch.iter().last().unwrap() {
        Record::Put { key, .. } | Record::Delete { key } => key.to_vec(),
    }
}

fn read_all(db: &DB) -> State {
    let mut s = State::new();
    for t in 0..THREADS {
        for k in 0..KEYS_PER_THREAD {
            if let Some(v) = db.get(&key(t, k)).unwrap() {
                s.insert(key(t, k), v);
            }
        }
    }
    s
}

fn torture(sync: bool) {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), mode.options()).unwrap());
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = Arc::clone(&db);
                thread::spawn(move || run_thread(&db, t, sync))
            })
            .collect();
        let mut expected = State::new();
        for h in handles {
            expected.extend(h.join().unwrap());
        }
        let live = read_all(&db);
        assert_eq!(live, expected, "mode {}: state after writes", mode.name);
        let stats = db.stats();
        assert_eq!(
            stats.write_done_by_self + stats.write_done_by_other,
            (THREADS * OPS) as u64,
            "mode {}: every write is counted once",
            mode.name
        );
        db.close().unwrap();
        drop(db);
        let reopened = DB::open(dir.path(), mode.options()).unwrap();
        assert_eq!(
            read_all(&reopened),
            expected,
            "mode {}: state after reopen",
            mode.name
        );
        println!(
            "mode {:<22} sync={sync}: {} groups for {} writes, {} syncs",
            mode.name,
            stats.write_done_by_self,
            THREADS * OPS,
            stats.wal_syncs
        );
    }
}

#[test]
fn torture_without_sync() {
    torture(false);
}

#[test]
fn torture_with_sync() {
    torture(true);
}
