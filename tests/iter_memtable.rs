//! The memtable's owned cursor: internal keys in internal-key order, identical to a sorted
//! vector of the same entries under every move; it keeps the memtable alive after the
//! caller's handle is gone, moves between threads, and walks while inserts go on.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use groupkv::dbformat::{compare_internal_keys, internal_key, parse_internal_key, ValueKind};
use groupkv::iter::{InternalIterator, VecIter};
use groupkv::memtable::MemTable;
use groupkv::WriteBatch;
use iter_support::*;
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, 0xff]), 0..=9)
}

#[derive(Debug, Clone)]
enum Move {
    First,
    Last,
    Seek(Vec<u8>, u64),
    SeekForPrev(Vec<u8>, u64),
    Next,
    Prev,
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    prop::collection::vec(
        prop_oneof![
            Just(Move::First),
            Just(Move::Last),
            (key(), 0u64..200).prop_map(|(k, s)| Move::Seek(k, s)),
            (key(), 0u64..200).prop_map(|(k, s)| Move::SeekForPrev(k, s)),
            Just(Move::Next),
            Just(Move::Next),
            Just(Move::Prev),
            Just(Move::Prev),
        ],
        1..50,
    )
}

fn apply(it: &mut impl InternalIterator, m: &Move) {
    match m {
        Move::First => it.seek_to_first(),
        Move::Last => it.seek_to_last(),
        Move::Seek(k, s) => it.seek(&internal_key(k, *s, ValueKind::Value)),
        Move::SeekForPrev(k, s) => it.seek_for_prev(&internal_key(k, *s, ValueKind::Value)),
        Move::Next => it.next(),
        Move::Prev => it.prev(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Keys up to 9 bytes cross the memtable's 8-byte prefix comparison.
    #[test]
    fn memtable_cursor_matches_a_sorted_vector(
        writes in prop::collection::vec((key(), prop::option::of(prop::collection::vec(any::<u8>(), 0..4))), 0..150),
        moves in moves(),
    ) {
        let ops: Vec<Op> = writes
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| Op { key, seq: i as u64 + 1, value })
            .collect();
        let mem = memtable(&ops);
        let mut it = mem.iter();
        let mut model = VecIter::new(sorted_entries(&ops));
        for m in &moves {
            apply(&mut it, m);
            apply(&mut model, m);
            prop_assert_eq!(it.valid(), model.valid(), "{:?}", m);
            if model.valid() {
                prop_assert_eq!(it.key(), model.key(), "{:?}", m);
                prop_assert_eq!(it.value(), model.value());
            }
        }
    }
}

#[test]
fn the_cursor_outlives_the_callers_handle() {
    let ops: Vec<Op> = (0..1000u64)
        .map(|i| Op {
            key: format!("k{:04}", i % 700).into_bytes(),
            seq: i + 1,
            value: (i % 5 != 0).then(|| vec![i as u8; 3]),
        })
        .collect();
    let mem = memtable(&ops);
    let mut it = mem.iter();
    let weak = Arc::downgrade(&mem);
    drop(mem);
    assert!(weak.upgrade().is_some(), "the cursor keeps the memtable");
    // Walk it on another thread: the cursor is Send, as C and Python need.
    let walked = std::thread::spawn(move || {
        let mut out = Vec::new();
        it.seek_to_first();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        out
    })
    .join()
    .unwrap();
    assert_eq!(walked, sorted_entries(&ops));
    assert!(
        weak.upgrade().is_none(),
        "dropping the cursor frees the memtable"
    );
}

#[test]
fn entries_carry_dbformat_tags() {
    let m = MemTable::new();
    let mut b = WriteBatch::new();
    b.put(b"a", b"1").unwrap();
    b.delete(b"a").unwrap();
    m.insert_batch(&b, 41);
    let m = Arc::new(m);
    let mut it = m.iter();
    it.seek_to_first();
    let first = parse_internal_key(it.key()).unwrap();
    assert_eq!(
        (first.user_key, first.sequence, first.kind),
        (&b"a"[..], 42, ValueKind::Deletion)
    );
    assert_eq!(it.key(), internal_key(b"a", 42, ValueKind::Deletion));
    it.next();
    assert_eq!(it.key(), internal_key(b"a", 41, ValueKind::Value));
    assert_eq!(it.value(), b"1");
    it.next();
    assert!(!it.valid());
}

#[test]
fn a_cursor_walks_in_order_while_writers_insert() {
    let mem = Arc::new(MemTable::new());
    let stop = Arc::new(AtomicBool::new(false));
    // Counts inserts that have returned: the skiplist's own length may count a node another
    // thread is still linking, which a walk cannot see yet.
    let inserted = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let mem = Arc::clone(&mem);
            let stop = Arc::clone(&stop);
            let inserted = Arc::clone(&inserted);
            std::thread::spawn(move || {
                let mut seq = 1 + t;
                while !stop.load(AtomicOrdering::Relaxed) && seq < 400_000 {
                    let mut b = WriteBatch::new();
                    b.put(format!("k{:06}", (seq * 7919) % 100_000).as_bytes(), b"v")
                        .unwrap();
                    mem.insert_batch(&b, seq);
                    inserted.fetch_add(1, AtomicOrdering::Release);
                    seq += 2;
                }
            })
        })
        .collect();
    for _ in 0..20 {
        let before = inserted.load(AtomicOrdering::Acquire);
        let mut it = mem.iter();
        it.seek_to_first();
        let mut n = 0usize;
        let mut prev: Option<Vec<u8>> = None;
        while it.valid() {
            if let Some(p) = &prev {
                assert_eq!(compare_internal_keys(p, it.key()), std::cmp::Ordering::Less);
            }
            prev = Some(it.key().to_vec());
            n += 1;
            it.next();
        }
        assert!(
            n >= before,
            "a walk misses nothing inserted before it began"
        );
    }
    stop.store(true, AtomicOrdering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}

#[test]
fn a_memtable_flushes_through_its_cursor_into_a_table_that_reads_back_identically() {
    let ops: Vec<Op> = (0..3000u64)
        .map(|i| Op {
            key: format!("key{:05}", (i * 7919) % 1777).into_bytes(),
            seq: i + 1,
            value: (i % 6 != 0).then(|| format!("v{i}").into_bytes()),
        })
        .collect();
    let mem = memtable(&ops);
    let mut it = mem.iter();
    drop(mem);
    let mut flushed = Vec::new();
    it.seek_to_first();
    while it.valid() {
        flushed.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    // The table builder refuses keys out of internal-key order: the flush itself checks it.
    let fs = groupkv::fs::MemFs::new();
    let meta = write_table(&fs, 9, &flushed, 4096);
    let cache = groupkv::table::TableCache::new(
        Arc::new(fs),
        DIR,
        groupkv::table::TableCacheOptions::default(),
    );
    let mut t = table_iter(&cache, &meta, groupkv::table::BlockReadOptions::default()).unwrap();
    let mut back = Vec::new();
    t.seek_to_first();
    while t.valid() {
        back.push((t.key().to_vec(), t.value().to_vec()));
        t.next();
    }
    assert_eq!(back, sorted_entries(&ops));
    assert_eq!(flushed.len(), 3000);
}
