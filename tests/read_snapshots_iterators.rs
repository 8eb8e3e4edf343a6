//! Snapshots, `get_with`, `multi_get` and owned iterators against a `BTreeMap` oracle, while
//! 4 KiB write buffers switch memtables every few writes: every snapshot keeps seeing exactly
//! the state it was taken at, forwards and backwards, within bounds; an iterator outlives
//! switches, and after close it reports `Closed`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use groupkv::{Error, Options, ReadOptions, WriteBatch, WriteOptions, DB};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn key(k: u64) -> Vec<u8> {
    format!("key{k:04}").into_bytes()
}

fn scan_forward(db: &DB, read: &ReadOptions<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.iter(read)
        .unwrap()
        .entries()
        .map(|e| e.unwrap())
        .collect()
}

fn scan_backward(db: &DB, read: &ReadOptions<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = db.iter(read).unwrap();
    let mut out = Vec::new();
    it.seek_to_last();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev();
    }
    it.status().unwrap();
    out.reverse();
    out
}

fn in_bounds(model: &Model, lo: &[u8], hi: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    model
        .range(lo.to_vec()..hi.to_vec())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn snapshots_and_iterators_match_the_oracle_across_switches() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(
        dir.path(),
        Options {
            write_buffer_size: 4096,
            ..Options::default()
        },
    )
    .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut model = Model::new();
    let mut snaps = Vec::new();
    for step in 0..1500u64 {
        let mut batch = WriteBatch::new();
        for _ in 0..1 + rng.below(3) {
            let k = key(rng.below(300));
            if rng.below(4) == 0 {
                batch.delete(&k).unwrap();
                model.remove(&k);
            } else {
                let v = format!(
                    "s{step}-{}",
                    "x".repeat(usize::try_from(rng.below(60)).unwrap())
                )
                .into_bytes();
                batch.put(&k, &v).unwrap();
                model.insert(k, v);
            }
        }
        db.write(&WriteOptions::default(), &batch).unwrap();
        if step % 150 == 0 {
            snaps.push((db.snapshot(), model.clone()));
        }
    }
    assert!(db.stats().memtable_switches >= 20, "the writes must switch");
    let latest = (None, model.clone());
    for (snap, expect) in snaps
        .iter()
        .map(|(s, m)| (Some(s), m))
        .chain([(latest.0, &latest.1)])
    {
        let read = ReadOptions {
            snapshot: snap,
            ..ReadOptions::default()
        };
        let all: Vec<_> = expect.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(scan_forward(&db, &read), all);
        assert_eq!(scan_backward(&db, &read), all);
        let keys: Vec<Vec<u8>> = (0..300).map(key).collect();
        let got = db.multi_get(&read, &keys).unwrap();
        for (k, v) in keys.iter().zip(got) {
            assert_eq!(v.as_ref(), expect.get(k), "{}", String::from_utf8_lossy(k));
            assert_eq!(db.get_with(&read, k).unwrap().as_ref(), expect.get(k));
        }
        let (lo, hi) = (key(50), key(120));
        let bounded = ReadOptions {
            snapshot: snap,
            iterate_lower_bound: Some(lo.clone()),
            iterate_upper_bound: Some(hi.clone()),
            ..ReadOptions::default()
        };
        assert_eq!(scan_forward(&db, &bounded), in_bounds(expect, &lo, &hi));
        assert_eq!(scan_backward(&db, &bounded), in_bounds(expect, &lo, &hi));
        // seek and seek_for_prev land on the oracle's neighbours.
        let mut it = db.iter(&read).unwrap();
        for probe in [key(0), key(77), key(150), key(299), b"zzz".to_vec()] {
            it.seek(&probe);
            let want = expect.range(probe.clone()..).next();
            assert_eq!(
                it.valid().then(|| it.key().to_vec()).as_ref(),
                want.map(|e| e.0)
            );
            it.seek_for_prev(&probe);
            let want = expect.range(..=probe.clone()).next_back();
            assert_eq!(
                it.valid().then(|| it.key().to_vec()).as_ref(),
                want.map(|e| e.0)
            );
        }
    }

    // An iterator made now keeps its view while writes and switches go on.
    let read = ReadOptions::default();
    let mut it = db.iter(&read).unwrap();
    let frozen = model.clone();
    for i in 0..300u64 {
        db.put(&WriteOptions::default(), &key(i), &[b'n'; 200])
            .unwrap();
    }
    it.seek_to_first();
    let mut seen = Vec::new();
    while it.valid() {
        seen.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    let frozen: Vec<_> = frozen.into_iter().collect();
    assert_eq!(seen, frozen, "an iterator sees its sequence only");
    drop(snaps);
    db.close().unwrap();
    it.seek_to_first();
    assert!(!it.valid());
    assert!(matches!(it.status(), Err(Error::Closed)));
    assert!(matches!(db.iter(&read), Err(Error::Closed)));
    assert!(matches!(db.get_with(&read, b"k"), Err(Error::Closed)));
}
