//! The whole engine against a `BTreeMap` oracle (issues 14 and 15): seeded random sequences
//! through the public `DB` API on `MemFs`, with buffers so small that memtable switches,
//! flushes and automatic compactions run all the time (level-0 trigger 2, kilobyte tables and
//! level targets), mixed with explicit `flush`, `compact_range` over random (possibly
//! unbounded) ranges, batches of puts and deletes, snapshots taken and dropped, iterators held
//! across steps, and reopening (close + open, or a simulated kill + open in half the cases).
//!
//! After every step, every live view is checked against its own oracle: the latest state, each
//! snapshot (the oracle as it was when the snapshot was taken) and each held iterator (the
//! oracle at its creation, within its bounds). A check reads point gets and `multi_get`, full
//! forward and reverse scans within random bounds (or a random prefix, as bounds), and a random
//! walk of `seek`, `seek_for_prev`, `next`, `prev`, `seek_to_first` and `seek_to_last`,
//! comparing the cursor with the oracle's after every move.
//!
//! `GROUPKV_MODEL_CASES` sets the number of cases (default 200, as in `make test`);
//! `GROUPKV_MODEL_SEED` reproduces a run (it prints its seed), `GROUPKV_MODEL_CASE_SEED`
//! one failed case (its messages name it); `GROUPKV_MODEL_STEPS` sets the steps per case. Background flushes and
//! compactions run on their own threads, so a seed fixes the operations, not their timing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use groupkv::fs::MemFs;
use groupkv::{DbIterator, Options, ReadOptions, Snapshot, WriteBatch, WriteOptions, DB};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// splitmix64: small and seedable.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap()).unwrap()
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Key prefixes nested on purpose ("a" holds "ab" holds "abc"), so prefix scans cross them.
const PREFIXES: [&str; 5] = ["a", "ab", "abc", "b", "c"];
const KEYS_PER_PREFIX: usize = 40;
/// Prefixes a scan may ask for: every key prefix, plus some that match nothing or part.
const SCAN_PREFIXES: [&str; 8] = ["a", "ab", "abc", "b", "c", "c1", "d", "b0"];

fn universe() -> Vec<Vec<u8>> {
    PREFIXES
        .iter()
        .flat_map(|p| (0..KEYS_PER_PREFIX).map(move |n| format!("{p}{n:02}").into_bytes()))
        .collect()
}

/// A seek target: a key, a point between keys, a bare prefix, or the ends of the key space.
fn probe(rng: &mut Rng, keys: &[Vec<u8>]) -> Vec<u8> {
    let mut k = rng.pick(keys).clone();
    match rng.below(6) {
        0 => k.push(0),
        1 => k.push(b'~'),
        2 => k = rng.pick(&SCAN_PREFIXES).as_bytes().to_vec(),
        3 => {
            k = if rng.one_in(2) {
                Vec::new()
            } else {
                b"zzz".to_vec()
            }
        }
        _ => {}
    }
    k
}

/// The smallest key greater than every key starting with `prefix` (ASCII prefixes only).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    let last = end.last_mut().unwrap();
    *last += 1;
    end
}

/// Random iterator bounds: none, one side, both (ordered), or a prefix as bounds.
fn bounds(rng: &mut Rng, keys: &[Vec<u8>]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    match rng.below(5) {
        0 => (None, None),
        1 => (Some(probe(rng, keys)), None),
        2 => (None, Some(probe(rng, keys))),
        3 => {
            let (a, b) = (probe(rng, keys), probe(rng, keys));
            (Some(a.clone().min(b.clone())), Some(a.max(b)))
        }
        _ => {
            let p = rng.pick(&SCAN_PREFIXES).as_bytes().to_vec();
            let end = prefix_end(&p);
            (Some(p), Some(end))
        }
    }
}

fn within(model: &Model, lo: Option<&[u8]>, hi: Option<&[u8]>) -> Entries {
    model
        .iter()
        .filter(|(k, _)| {
            lo.map_or(true, |l| k.as_slice() >= l) && hi.map_or(true, |h| k.as_slice() < h)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn show(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// The oracle's cursor over the entries an iterator must show, moved as the iterator is.
struct Cursor<'a> {
    entries: &'a Entries,
    pos: Option<usize>,
}

impl Cursor<'_> {
    fn seek(&mut self, t: &[u8]) {
        let i = self.entries.partition_point(|(k, _)| k.as_slice() < t);
        self.pos = (i < self.entries.len()).then_some(i);
    }
    fn seek_for_prev(&mut self, t: &[u8]) {
        let i = self.entries.partition_point(|(k, _)| k.as_slice() <= t);
        self.pos = i.checked_sub(1);
    }
    fn first(&mut self) {
        self.pos = (!self.entries.is_empty()).then_some(0);
    }
    fn last(&mut self) {
        self.pos = self.entries.len().checked_sub(1);
    }
    fn next(&mut self) {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
    }
    fn prev(&mut self) {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
    }
}

/// Where `it` is, comparable with the oracle's cursor.
fn at(it: &DbIterator) -> Option<(Vec<u8>, Vec<u8>)> {
    it.valid().then(|| (it.key().to_vec(), it.value().to_vec()))
}

/// Full forward and reverse scans of `it`, then a random walk checked move by move.
fn check_iterator(
    it: &mut DbIterator,
    expect: &Entries,
    rng: &mut Rng,
    keys: &[Vec<u8>],
    what: &str,
) {
    let mut seen = Vec::new();
    it.seek_to_first();
    while let Some(e) = at(it) {
        seen.push(e);
        it.next();
    }
    it.status().unwrap();
    assert!(
        seen == *expect,
        "{what}: forward scan\n got {}\nwant {}",
        keys_of(&seen),
        keys_of(expect)
    );
    seen.clear();
    it.seek_to_last();
    while let Some(e) = at(it) {
        seen.push(e);
        it.prev();
    }
    it.status().unwrap();
    seen.reverse();
    assert!(
        seen == *expect,
        "{what}: reverse scan\n got {}\nwant {}",
        keys_of(&seen),
        keys_of(expect)
    );

    let mut cur = Cursor {
        entries: expect,
        pos: None,
    };
    let mut moves = Vec::new();
    for _ in 0..12 {
        let m = match rng.below(8) {
            0 | 1 => {
                let t = probe(rng, keys);
                it.seek(&t);
                cur.seek(&t);
                format!("seek({})", show(&t))
            }
            2 | 3 => {
                let t = probe(rng, keys);
                it.seek_for_prev(&t);
                cur.seek_for_prev(&t);
                format!("seek_for_prev({})", show(&t))
            }
            4 => {
                it.seek_to_first();
                cur.first();
                "seek_to_first".into()
            }
            5 => {
                it.seek_to_last();
                cur.last();
                "seek_to_last".into()
            }
            6 => {
                it.next();
                cur.next();
                "next".into()
            }
            _ => {
                it.prev();
                cur.prev();
                "prev".into()
            }
        };
        moves.push(m);
        let want = cur.pos.map(|p| expect[p].clone());
        let got = at(it);
        assert!(
            got == want,
            "{what}: after {moves:?}: at {:?}, want {:?}",
            got.map(|e| show(&e.0)),
            want.map(|e| show(&e.0))
        );
    }
    it.status().unwrap();
}

fn keys_of(entries: &Entries) -> String {
    let keys: Vec<String> = entries.iter().map(|(k, _)| show(k)).collect();
    format!("{} keys {:?}", keys.len(), keys)
}

/// Checks one view (`snap` = None: the latest state) against `model`.
fn check_view(
    db: &DB,
    snap: Option<&Snapshot>,
    model: &Model,
    rng: &mut Rng,
    keys: &[Vec<u8>],
    what: &str,
) {
    // Either checksum setting and either cache policy read the same data.
    let (verify_checksums, fill_cache) = (!rng.one_in(4), !rng.one_in(4));
    let read = ReadOptions {
        snapshot: snap,
        verify_checksums,
        fill_cache,
        ..ReadOptions::default()
    };
    for _ in 0..8 {
        let k = probe(rng, keys);
        assert_eq!(
            db.get_with(&read, &k).unwrap().as_ref(),
            model.get(&k),
            "{what}: get({})",
            show(&k)
        );
    }
    let some: Vec<Vec<u8>> = (0..12).map(|_| probe(rng, keys)).collect();
    let got = db.multi_get(&read, &some).unwrap();
    for (k, v) in some.iter().zip(got) {
        assert_eq!(v.as_ref(), model.get(k), "{what}: multi_get({})", show(k));
    }
    let (lo, hi) = bounds(rng, keys);
    let expect = within(model, lo.as_deref(), hi.as_deref());
    let what = format!(
        "{what} bounds {:?}..{:?}",
        lo.as_deref().map(show),
        hi.as_deref().map(show)
    );
    let mut it = db
        .iter(&ReadOptions {
            snapshot: snap,
            iterate_lower_bound: lo,
            iterate_upper_bound: hi,
            verify_checksums,
            fill_cache,
        })
        .unwrap();
    check_iterator(&mut it, &expect, rng, keys, &what);
}

/// An iterator held across steps, with what it must keep showing.
struct HeldIter {
    it: DbIterator,
    expect: Entries,
    made_at: usize,
}

/// A taken snapshot with the oracle as it was.
struct HeldSnap {
    snap: Snapshot,
    model: Model,
    made_at: usize,
}

fn case_options(mem: &MemFs, rng: &mut Rng) -> Options {
    let tight_stalls = rng.one_in(3);
    Options {
        file_system: Arc::new(mem.clone()),
        write_buffer_size: 4096 << rng.below(3),
        target_file_size_base: 4096 << rng.below(3),
        max_bytes_for_level_base: 8192 << rng.below(3),
        level0_file_num_compaction_trigger: 2,
        level0_slowdown_writes_trigger: if tight_stalls { 4 } else { 20 },
        level0_stop_writes_trigger: if tight_stalls { 6 } else { 36 },
        block_size: *rng.pick(&[256, 1024, 4096]),
        block_restart_interval: *rng.pick(&[1, 4, 16]),
        bloom_bits_per_key: *rng.pick(&[0, 10]),
        block_cache_size: *rng.pick(&[0, 64 << 10, 8 << 20]),
        // 20 is the least: with dozens of tiny tables the table cache evicts all the time.
        max_open_files: *rng.pick(&[20, 1000]),
        enable_pipelined_write: rng.one_in(2),
        ..Options::default()
    }
}

fn value(rng: &mut Rng, step: usize, i: usize) -> Vec<u8> {
    // Mostly small; one in 16 spans several blocks.
    let len = if rng.one_in(16) {
        1000 + rng.below(3000)
    } else {
        rng.below(120)
    };
    let mut v = format!("{step}.{i}:").into_bytes();
    v.resize(v.len() + len, b'a' + u8::try_from(step % 26).unwrap());
    v
}

/// What one case did, summed over the run.
#[derive(Default)]
struct Tally {
    steps: u64,
    flushes: u64,
    compactions: u64,
    reopens: u64,
    crashes: u64,
    compact_ranges: u64,
    snapshots: u64,
    held_iterators: u64,
    view_checks: u64,
    deepest_level: usize,
}

impl Tally {
    /// Adds what `db` did since it was opened (its statistics start at zero on every open).
    fn absorb(&mut self, db: &DB) {
        let s = db.stats();
        self.flushes += s.flushes;
        self.compactions += s.compactions;
        if let Some(deepest) = s.num_files_at_level.iter().rposition(|&n| n > 0) {
            self.deepest_level = self.deepest_level.max(deepest);
        }
    }
}

fn run_case(seed: u64, steps: usize, tally: &mut Tally) {
    let mut rng = Rng(seed);
    let keys = universe();
    let mem = MemFs::new();
    let options = case_options(&mem, &mut rng);
    let path = std::path::Path::new("/model");
    let mut db = DB::open(path, options.clone()).unwrap();
    // Half the cases reopen after a simulated kill (no close) as well as after a close; they
    // write nothing with `disable_wal`, which only a clean close keeps.
    let crashy = rng.one_in(2);
    let mut model = Model::new();
    let mut snaps: Vec<HeldSnap> = Vec::new();
    let mut iters: Vec<HeldIter> = Vec::new();

    for step in 0..steps {
        let roll = rng.below(100);
        let op = match roll {
            // A batch of puts and deletes (sometimes of one key twice, or of absent keys).
            0..=29 => {
                let mut batch = WriteBatch::new();
                let mut after = model.clone();
                for i in 0..1 + rng.below(8) {
                    let k = rng.pick(&keys).clone();
                    if rng.one_in(3) {
                        batch.delete(&k).unwrap();
                        after.remove(&k);
                    } else {
                        let v = value(&mut rng, step, i);
                        batch.put(&k, &v).unwrap();
                        after.insert(k, v);
                    }
                }
                let wo = WriteOptions {
                    // Kept by a clean close (the only way non-crashy cases reopen).
                    disable_wal: !crashy && rng.one_in(10),
                    ..WriteOptions::default()
                };
                db.write(&wo, &batch).unwrap();
                model = after;
                "batch"
            }
            // A burst of single writes: enough bytes to switch memtables a few times.
            30..=49 => {
                for i in 0..20 + rng.below(130) {
                    let k = rng.pick(&keys).clone();
                    if rng.one_in(4) {
                        db.delete(&WriteOptions::default(), &k).unwrap();
                        model.remove(&k);
                    } else {
                        let v = value(&mut rng, step, i);
                        db.put(&WriteOptions::default(), &k, &v).unwrap();
                        model.insert(k, v);
                    }
                }
                "burst"
            }
            50..=57 => {
                db.flush().unwrap();
                "flush"
            }
            58..=65 => {
                let start = (!rng.one_in(3)).then(|| probe(&mut rng, &keys));
                let end = (!rng.one_in(3)).then(|| probe(&mut rng, &keys));
                db.compact_range(start.as_deref(), end.as_deref()).unwrap();
                tally.compact_ranges += 1;
                "compact_range"
            }
            66..=74 => {
                if snaps.len() < 5 {
                    snaps.push(HeldSnap {
                        snap: db.snapshot(),
                        model: model.clone(),
                        made_at: step,
                    });
                    tally.snapshots += 1;
                }
                "snapshot"
            }
            75..=81 => {
                if !snaps.is_empty() {
                    let i = rng.below(snaps.len());
                    snaps.swap_remove(i);
                }
                "release snapshot"
            }
            82..=88 => {
                if iters.len() < 3 {
                    // At the latest state or at a held snapshot, within random bounds.
                    let at_snap =
                        (!snaps.is_empty() && rng.one_in(2)).then(|| rng.below(snaps.len()));
                    let (lo, hi) = bounds(&mut rng, &keys);
                    let base = at_snap.map_or(&model, |i| &snaps[i].model);
                    let expect = within(base, lo.as_deref(), hi.as_deref());
                    let it = db
                        .iter(&ReadOptions {
                            snapshot: at_snap.map(|i| &snaps[i].snap),
                            iterate_lower_bound: lo,
                            iterate_upper_bound: hi,
                            ..ReadOptions::default()
                        })
                        .unwrap();
                    iters.push(HeldIter {
                        it,
                        expect,
                        made_at: step,
                    });
                    tally.held_iterators += 1;
                }
                "iterator"
            }
            89..=94 => {
                if !iters.is_empty() {
                    let i = rng.below(iters.len());
                    iters.swap_remove(i);
                }
                "drop iterator"
            }
            _ if crashy && rng.one_in(2) => {
                // A killed process: the flush and compaction threads stop after the job in
                // hand, nothing of close runs, the OS keeps every byte written. Every write
                // acknowledged (none skipped the WAL) must be there after the reopen.
                tally.absorb(&db);
                iters.clear();
                snaps.clear();
                db.halt_background_work_for_test();
                std::mem::forget(db);
                mem.process_crash();
                db = DB::open(path, options.clone()).unwrap();
                tally.crashes += 1;
                "crash and reopen"
            }
            _ => {
                tally.absorb(&db);
                db.close().unwrap();
                // What outlived the database reports Closed, never stale or torn data.
                for h in &mut iters {
                    h.it.seek_to_first();
                    assert!(!h.it.valid());
                    assert!(matches!(h.it.status(), Err(groupkv::Error::Closed)));
                }
                iters.clear();
                snaps.clear();
                db = DB::open(path, options.clone()).unwrap();
                tally.reopens += 1;
                "reopen"
            }
        };
        tally.steps += 1;

        let ctx = |what: &str| format!("seed {seed} step {step} (after {op}): {what}");
        check_view(&db, None, &model, &mut rng, &keys, &ctx("latest"));
        for h in &snaps {
            let what = ctx(&format!(
                "snapshot {} from step {}",
                h.snap.sequence(),
                h.made_at
            ));
            check_view(&db, Some(&h.snap), &h.model, &mut rng, &keys, &what);
        }
        for h in &mut iters {
            let what = ctx(&format!("iterator from step {}", h.made_at));
            check_iterator(&mut h.it, &h.expect, &mut rng, &keys, &what);
        }
        tally.view_checks += 1 + u64::try_from(snaps.len() + iters.len()).unwrap();
    }

    // Everything pushed to the bottom: level 0 empties, every view still reads the same.
    db.compact_range(None, None).unwrap();
    assert_eq!(
        db.stats().num_files_at_level[0],
        0,
        "seed {seed}: {:?}",
        db.stats().num_files_at_level
    );
    let ctx = format!("seed {seed} after the final compact_range");
    check_view(&db, None, &model, &mut rng, &keys, &ctx);
    for h in &snaps {
        check_view(&db, Some(&h.snap), &h.model, &mut rng, &keys, &ctx);
    }
    for h in &mut iters {
        check_iterator(&mut h.it, &h.expect, &mut rng, &keys, &ctx);
    }
    drop(iters);
    drop(snaps);
    tally.absorb(&db);
    db.close().unwrap();
    let db = DB::open(path, options).unwrap();
    let all: Entries = db
        .iter(&ReadOptions::default())
        .unwrap()
        .entries()
        .map(Result::unwrap)
        .collect();
    assert!(
        all == within(&model, None, None),
        "seed {seed}: after the last reopen"
    );
    db.close().unwrap();
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

#[test]
fn engine_matches_the_model_across_flushes_compactions_and_reopens() {
    let cases = env_u64("GROUPKV_MODEL_CASES").unwrap_or(200);
    let steps = usize::try_from(env_u64("GROUPKV_MODEL_STEPS").unwrap_or(120)).unwrap();
    let seed = env_u64("GROUPKV_MODEL_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    let start = Instant::now();
    let mut tally = Tally::default();
    if let Some(one) = env_u64("GROUPKV_MODEL_CASE_SEED") {
        // A failure names its case's seed: this reruns that case alone.
        run_case(one, steps, &mut tally);
        return;
    }
    for case in 0..cases {
        run_case(
            seed.wrapping_add(case.wrapping_mul(0x9e37_79b9)),
            steps,
            &mut tally,
        );
    }
    println!(
        "engine model: {cases} cases x {steps} steps, {} view checks, {} flushes, {} compactions, \
         {} compact_range calls, {} reopens, {} crash reopens, {} snapshots, {} held iterators, deepest level {}, \
         {:.1?} (seed {seed}; GROUPKV_MODEL_SEED reproduces the operations)",
        tally.view_checks,
        tally.flushes,
        tally.compactions,
        tally.compact_ranges,
        tally.reopens,
        tally.crashes,
        tally.snapshots,
        tally.held_iterators,
        tally.deepest_level,
        start.elapsed()
    );
    // The run must have exercised what it claims to: automatic compactions beyond the manual
    // ones, and data pushed below level 1.
    assert!(
        tally.compactions > tally.compact_ranges,
        "too few compactions ran"
    );
    assert!(tally.deepest_level >= 2, "nothing reached level 2");
}
