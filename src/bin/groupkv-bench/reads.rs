//! The read benchmarks' per-thread loops, each the twin of its loop in `bench/peer_bench.cc`
//! (same key streams, same counting) so that the engines' rows compare like with like.

use std::hint::black_box;
use std::time::Instant;

use groupkv::{DbIterator, ReadOptions, DB};

use crate::workload::{key_buffer, make_key, Rng};
use crate::{flags::Flags, histogram::Histogram};
use crate::{nanos, BenchResult, Progress, ThreadResult};

/// The readers' stream: its own seed, so readrandom after fillrandom does not just replay the
/// fill's keys.
const READ_SEED: u64 = 0x7265_6164;
/// seekrandom's stream.
const SEEK_SEED: u64 = 0x7365_656b;
/// Entries per latency sample of the scan: timing each step would cost as much as the step.
const SCAN_RUN: u64 = 100;

/// Which keys a point-read loop asks for.
#[derive(Clone, Copy)]
pub enum Points {
    /// Keys `first`, `first + 1`, ... (readseq_points).
    Sequential,
    /// Uniformly random keys (readrandom, readwhilewriting).
    Random,
    /// readrandom's keys with their last byte `'.'`: each sorts just before a present key,
    /// inside the key range, so no engine can rule it out from a file's key range alone.
    Missing,
}

/// Touches an entry's key and value as a reader would (a lazily loaded value is paid for)
/// and returns their size.
#[inline]
fn read_entry(it: &DbIterator) -> u64 {
    let (k, v) = (it.key(), it.value());
    black_box(k.first());
    black_box(v.first());
    (k.len() + v.len()) as u64
}

pub fn point_loop(
    f: &Flags,
    db: &DB,
    t: usize,
    points: Points,
    first: u64,
    count: u64,
    mut progress: Progress<'_>,
) -> BenchResult<ThreadResult> {
    let mut rng = Rng::new(f.seed ^ READ_SEED, t);
    let mut key = key_buffer(f.key_size);
    if let (Points::Missing, Some(last)) = (points, key.last_mut()) {
        *last = b'.';
    }
    let mut hist = Histogram::new();
    let (mut found, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    for i in 0..count {
        let k = match points {
            Points::Sequential => (first + i) % f.num,
            Points::Random | Points::Missing => rng.below(f.num),
        };
        make_key(&mut key, k);
        let t0 = Instant::now();
        let v = db.get(&key).map_err(|e| format!("read: {e}"))?;
        hist.record(nanos(t0.elapsed()));
        if let Some(v) = v {
            found += 1;
            bytes += (key.len() + v.len()) as u64;
        }
        progress.add(1);
    }
    Ok(ThreadResult {
        ops: count,
        found,
        bytes,
        elapsed: start.elapsed(),
        hist,
    })
}

/// readseq: one iterator, a seek to key `first`, then `count` entries in order, going back to
/// the first entry at the end. An operation is one entry, and every one read is found.
pub fn scan_loop(
    f: &Flags,
    db: &DB,
    first: u64,
    count: u64,
    mut progress: Progress<'_>,
) -> BenchResult<ThreadResult> {
    let mut key = key_buffer(f.key_size);
    make_key(&mut key, first % f.num);
    let mut hist = Histogram::new();
    let mut bytes = 0u64;
    let start = Instant::now();
    let mut it = db
        .iter(&ReadOptions::default())
        .map_err(|e| format!("creating an iterator: {e}"))?;
    it.seek(&key);
    let mut i = 0u64;
    while i < count {
        let t0 = Instant::now();
        let run = SCAN_RUN.min(count - i);
        let mut j = 0;
        while j < run {
            if !it.valid() {
                if it.status().is_err() {
                    break;
                }
                it.seek_to_first();
                if !it.valid() {
                    break; // an empty database
                }
            }
            bytes += read_entry(&it);
            it.next();
            j += 1;
        }
        hist.record(nanos(t0.elapsed()));
        i += j;
        progress.add(j);
        if j < run {
            break;
        }
    }
    it.status().map_err(|e| format!("iterator: {e}"))?;
    Ok(ThreadResult {
        ops: i,
        found: i,
        bytes,
        elapsed: start.elapsed(),
        hist,
    })
}

/// seekrandom: per operation a new iterator (as db_bench does), a seek to a random key, and up
/// to `--seek_nexts` entries read after it. Found means the seek landed on the key itself.
pub fn seek_loop(
    f: &Flags,
    db: &DB,
    t: usize,
    count: u64,
    mut progress: Progress<'_>,
) -> BenchResult<ThreadResult> {
    let mut rng = Rng::new(f.seed ^ SEEK_SEED, t);
    let mut key = key_buffer(f.key_size);
    let mut hist = Histogram::new();
    let (mut found, mut bytes) = (0u64, 0u64);
    let read = ReadOptions::default();
    let start = Instant::now();
    for _ in 0..count {
        make_key(&mut key, rng.below(f.num));
        let t0 = Instant::now();
        let mut it = db
            .iter(&read)
            .map_err(|e| format!("creating an iterator: {e}"))?;
        it.seek(&key);
        if it.valid() && it.key() == key.as_slice() {
            found += 1;
        }
        let mut j = 0;
        while j < f.seek_nexts && it.valid() {
            bytes += read_entry(&it);
            it.next();
            j += 1;
        }
        let status = it.status();
        drop(it);
        hist.record(nanos(t0.elapsed()));
        status.map_err(|e| format!("iterator: {e}"))?;
        progress.add(1);
    }
    Ok(ThreadResult {
        ops: count,
        found,
        bytes,
        elapsed: start.elapsed(),
        hist,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use groupkv::{Options, WriteOptions};
    use std::sync::atomic::AtomicU64;

    /// A database holding keys `0..n` (every `step`-th one) with 10-byte values.
    fn db_with(dir: &std::path::Path, n: u64, step: usize) -> DB {
        let db = DB::open(dir.join("db"), Options::default()).unwrap();
        let mut key = key_buffer(16);
        for k in (0..n).step_by(step) {
            make_key(&mut key, k);
            db.put(&WriteOptions::default(), &key, b"0123456789")
                .unwrap();
        }
        db
    }

    fn flags(num: u64) -> Flags {
        Flags {
            num,
            ..Flags::default()
        }
    }

    fn progress(done: &AtomicU64) -> Progress<'_> {
        Progress {
            shared: done,
            local: 0,
        }
    }

    #[test]
    fn scan_reads_count_entries_wrapping_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with(dir.path(), 10, 1);
        let done = AtomicU64::new(0);
        // From key 7: 7, 8, 9, then 0..10 twice, then 0..2: 25 entries in one latency sample.
        let r = scan_loop(&flags(10), &db, 7, 25, progress(&done)).unwrap();
        assert_eq!((r.ops, r.found), (25, 25));
        assert_eq!(r.bytes, 25 * 26);
        assert_eq!(r.hist.count(), 1);
        let r = scan_loop(&flags(10), &db, 0, 250, progress(&done)).unwrap();
        assert_eq!((r.ops, r.hist.count()), (250, 3));
        assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), 275);
    }

    #[test]
    fn scan_of_an_empty_database_stops_at_zero_entries() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with(dir.path(), 0, 1);
        let r = scan_loop(&flags(10), &db, 3, 50, progress(&AtomicU64::new(0))).unwrap();
        assert_eq!((r.ops, r.found, r.bytes), (0, 0, 0));
    }

    #[test]
    fn seek_finds_only_exact_keys_and_reads_the_nexts() {
        let dir = tempfile::tempdir().unwrap();
        // Only the even keys: a seek to an odd key lands on the next even key, not found.
        let db = db_with(dir.path(), 1000, 2);
        let f = Flags {
            seek_nexts: 3,
            ..flags(1000)
        };
        let r = seek_loop(&f, &db, 0, 400, progress(&AtomicU64::new(0))).unwrap();
        assert_eq!(r.ops, 400);
        assert!(r.found > 100 && r.found < 300, "{} of 400 found", r.found);
        let mut rng = Rng::new(f.seed ^ SEEK_SEED, 0);
        let even = (0..400).filter(|_| rng.below(1000) % 2 == 0).count() as u64;
        assert_eq!(r.found, even);
        // Three entries after each seek, fewer only past the last key (998).
        assert!(
            r.bytes <= 400 * 3 * 26 && r.bytes > 390 * 3 * 26,
            "{}",
            r.bytes
        );
    }

    #[test]
    fn missing_keys_are_never_found_and_present_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with(dir.path(), 500, 1);
        let f = flags(500);
        let done = AtomicU64::new(0);
        let r = point_loop(&f, &db, 0, Points::Missing, 0, 300, progress(&done)).unwrap();
        assert_eq!((r.ops, r.found, r.bytes), (300, 0, 0));
        let r = point_loop(&f, &db, 1, Points::Random, 0, 300, progress(&done)).unwrap();
        assert_eq!((r.ops, r.found), (300, 300));
        let r = point_loop(&f, &db, 0, Points::Sequential, 450, 100, progress(&done)).unwrap();
        assert_eq!((r.ops, r.found), (100, 100));
    }
}
