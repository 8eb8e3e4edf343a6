//! Measures the merging iterator's choice of a heap over LevelDB's linear scan: a full forward
//! scan of 400 000 entries spread at random over n children, through `MergingIterator` (heap)
//! and through a forward-only linear-scan merge (LevelDB's `FindSmallest`), in ns per entry,
//! medians of 3. Run with `cargo run --release --example bench_merge`.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]
use std::cmp::Ordering;
use std::time::Instant;

use groupkv::dbformat::{compare_internal_keys, internal_key, ValueKind};
use groupkv::iter::{InternalIterator, MergingIterator, VecIter};

fn children(n: usize, total: usize) -> Vec<VecIter> {
    let mut parts: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![Vec::new(); n];
    let mut x = 12345u64;
    for i in 0..total {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        parts[(x as usize) % n].push((
            internal_key(format!("key{:012}", i).as_bytes(), 1, ValueKind::Value),
            Vec::new(),
        ));
    }
    parts.into_iter().map(VecIter::new).collect()
}

fn linear(mut kids: Vec<VecIter>) -> usize {
    for k in &mut kids {
        k.seek_to_first();
    }
    let mut count = 0;
    loop {
        let mut best: Option<usize> = None;
        for i in 0..kids.len() {
            if kids[i].valid() {
                best = match best {
                    Some(b)
                        if compare_internal_keys(kids[b].key(), kids[i].key())
                            != Ordering::Greater =>
                    {
                        Some(b)
                    }
                    _ => Some(i),
                };
            }
        }
        let Some(b) = best else { return count };
        count += kids[b].key().len() & 1;
        kids[b].next();
    }
}

fn heap(kids: Vec<VecIter>) -> usize {
    let mut it = MergingIterator::new(kids);
    it.seek_to_first();
    let mut count = 0;
    while it.valid() {
        count += it.key().len() & 1;
        it.next();
    }
    count
}

fn main() {
    let total = 400_000;
    for n in [1, 2, 3, 4, 6, 8, 16, 32] {
        let mut h = Vec::new();
        let mut l = Vec::new();
        for _ in 0..3 {
            let k = children(n, total);
            let t = Instant::now();
            std::hint::black_box(heap(k));
            h.push(t.elapsed().as_nanos() as f64 / total as f64);
            let k = children(n, total);
            let t = Instant::now();
            std::hint::black_box(linear(k));
            l.push(t.elapsed().as_nanos() as f64 / total as f64);
        }
        h.sort_by(|a, b| a.partial_cmp(b).unwrap());
        l.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "children {n:2}: heap {:6.1} ns/entry, linear {:6.1} ns/entry (medians of 3)",
            h[1], l[1]
        );
    }
}
