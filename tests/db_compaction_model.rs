//! The running database against a model: random puts, deletes, snapshots taken and released,
//! flushes and manual compactions of random ranges, with small buffers so background flushes
//! and compactions run all along. After every flush or compaction, every live snapshot and the
//! latest state must read exactly what a `BTreeMap` copied at that point says, key by key and
//! by a full scan; at the end, after a reopen, the latest state again.
//!
//! `GROUPKV_MODEL_CASES` sets the number of cases (default 4, about 10 s).
#![allow(clippy::unwrap_used)]
// Values below 120 and snapshot counts: far inside usize.
#![allow(clippy::cast_possible_truncation)]

use std::collections::BTreeMap;

use groupkv::{Options, ReadOptions, Snapshot, WriteOptions, DB};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn cases() -> u64 {
    std::env::var("GROUPKV_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

/// xorshift64*: deterministic per seed, so a failing case reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const UNIVERSE: u64 = 300;

fn key(i: u64) -> Vec<u8> {
    format!("k{i:04}").into_bytes()
}

fn check(db: &DB, snapshot: Option<&Snapshot>, model: &Model, what: &str) {
    let read = ReadOptions {
        snapshot,
        ..ReadOptions::default()
    };
    for i in 0..UNIVERSE {
        let k = key(i);
        assert_eq!(
            db.get_with(&read, &k).unwrap(),
            model.get(&k).cloned(),
            "{what}: key {i}"
        );
    }
    let scanned: Model = db
        .iter(&read)
        .unwrap()
        .entries()
        .map(Result::unwrap)
        .collect();
    assert!(scanned == *model, "{what}: the scan differs from the model");
}

fn run_case(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        write_buffer_size: 4 << 10,
        level0_file_num_compaction_trigger: 2,
        target_file_size_base: 8 << 10,
        max_bytes_for_level_base: 16 << 10,
        ..Options::default()
    };
    let db = DB::open(dir.path(), options.clone()).unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let w = WriteOptions::default();
    let mut model = Model::new();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    for step in 0..1500u64 {
        let what = format!("seed {seed} step {step}");
        match rng.below(100) {
            0..=59 => {
                let k = key(rng.below(UNIVERSE));
                let v = format!("{step}-{}", "v".repeat(rng.below(120) as usize)).into_bytes();
                db.put(&w, &k, &v).unwrap();
                model.insert(k, v);
            }
            60..=79 => {
                let k = key(rng.below(UNIVERSE));
                db.delete(&w, &k).unwrap();
                model.remove(&k);
            }
            80..=84 => snapshots.push((db.snapshot(), model.clone())),
            85..=89 => {
                if !snapshots.is_empty() {
                    let n = rng.below(snapshots.len() as u64) as usize;
                    snapshots.swap_remove(n);
                }
            }
            90..=94 => {
                db.flush().unwrap();
                check(&db, None, &model, &what);
            }
            _ => {
                let a = rng.below(UNIVERSE);
                let b = a + rng.below(UNIVERSE - a);
                let (start, end) = (key(a), key(b));
                let start = (rng.below(4) != 0).then_some(start.as_slice());
                let end = (rng.below(4) != 0).then_some(end.as_slice());
                db.compact_range(start, end).unwrap();
                check(&db, None, &model, &what);
                for (n, (snap, at)) in snapshots.iter().enumerate() {
                    check(&db, Some(snap), at, &format!("{what} snapshot {n}"));
                }
            }
        }
    }
    for (n, (snap, at)) in snapshots.iter().enumerate() {
        check(
            &db,
            Some(snap),
            at,
            &format!("seed {seed} end, snapshot {n}"),
        );
    }
    drop(snapshots);
    db.compact_range(None, None).unwrap();
    check(
        &db,
        None,
        &model,
        &format!("seed {seed} after the last compaction"),
    );
    db.close().unwrap();
    let db = DB::open(dir.path(), options).unwrap();
    check(&db, None, &model, &format!("seed {seed} after reopen"));
    db.close().unwrap();
}

#[test]
fn snapshots_and_the_latest_state_read_like_the_model_through_compactions() {
    for seed in 1..=cases() {
        run_case(seed);
    }
}
