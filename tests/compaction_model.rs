//! The compaction job against a model: random puts and deletes spread over tables at several
//! levels (older writes deeper, level 0 newest, as a database lays them out), a random set of
//! live snapshots, then compactions — forced ones over random ranges and levels, and
//! snapshot releases, then the picker's compactions until no level scores 1 or more. After every compaction, for every live snapshot
//! and for the latest sequence, every key read through the version (point lookups as
//! `Version::get` does them, and a full `DbIter` scan) must be exactly what a `BTreeMap` of
//! the history says, so no dropped version or tombstone ever changes what a reader sees and no
//! deleted value ever comes back. Levels must stay sorted, disjoint and without a user key
//! spanning two files.
//!
//! `GROUPKV_MODEL_CASES` sets the number of cases (default 100).
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod compaction_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use compaction_support::*;
use groupkv::compaction::{compact_range, pick_compaction, Compaction, JobContext};
use groupkv::dbformat::{internal_key, ValueKind, MAX_SEQUENCE};
use groupkv::version::NUM_LEVELS;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("GROUPKV_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// Short keys over a three-letter alphabet: shared prefixes and neighbours are common.
fn user_key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 0..=3)
}

#[derive(Debug, Clone)]
enum Step {
    /// The picker's next compaction, if any level scores ≥ 1.
    Pick,
    /// A manual compaction of `level` over the user keys `[begin, end]`.
    Force {
        level: usize,
        begin: Option<Vec<u8>>,
        end: Option<Vec<u8>>,
    },
    /// The release of a live snapshot (the `n`-th, modulo their number; never the latest
    /// sequence): later compactions may drop what only it could see.
    Release(usize),
}

#[derive(Debug, Clone)]
struct Scenario {
    /// The history: write `i` has sequence `i + 1`; `None` deletes, `Some(n)` puts an
    /// `n`-byte value.
    writes: Vec<(Vec<u8>, Option<usize>)>,
    /// Where the history is cut into runs (positions in `writes`).
    cuts: Vec<usize>,
    /// The levels ≥ 1 that take the oldest runs, deepest first.
    deep_levels: Vec<usize>,
    /// Entries per file in levels ≥ 1 (files end at a user-key change).
    per_file: usize,
    /// Live snapshots, as fractions of the history.
    snapshots: Vec<f64>,
    steps: Vec<Step>,
    block_size: usize,
    target: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let write = (
        user_key(),
        prop_oneof![1 => Just(None), 3 => (0usize..160).prop_map(Some)],
    );
    let step = prop_oneof![
        2 => Just(Step::Pick),
        1 => (0usize..8).prop_map(Step::Release),
        3 => (0usize..NUM_LEVELS - 1, prop::option::of(user_key()), prop::option::of(user_key()))
            .prop_map(|(level, begin, end)| Step::Force { level, begin, end }),
    ];
    (
        prop::collection::vec(write, 1..300),
        prop::collection::vec(0usize..300, 0..8),
        prop::sample::subsequence((1..NUM_LEVELS).collect::<Vec<_>>(), 0..=4),
        1usize..40,
        prop::collection::vec(0.0f64..1.0, 0..4),
        prop::collection::vec(step, 0..8),
        prop::sample::select(vec![128usize, 256, 1024]),
        prop::sample::select(vec![1024u64, 2048, 8192]),
    )
        .prop_map(
            |(writes, cuts, mut deep_levels, per_file, snapshots, steps, block_size, target)| {
                deep_levels.reverse();
                Scenario {
                    writes,
                    cuts,
                    deep_levels,
                    per_file,
                    snapshots,
                    steps,
                    block_size,
                    target,
                }
            },
        )
}

/// The history of every key: `(sequence, value)` in write order.
type History = BTreeMap<Vec<u8>, Vec<(u64, Option<Vec<u8>>)>>;

fn value_at(history: &History, key: &[u8], seq: u64) -> Option<Vec<u8>> {
    history
        .get(key)?
        .iter()
        .rev()
        .find(|(s, _)| *s <= seq)
        .and_then(|(_, v)| v.clone())
}

fn visible(history: &History, seq: u64) -> Vec<Entry> {
    history
        .keys()
        .filter_map(|k| value_at(history, k, seq).map(|v| (k.clone(), v)))
        .collect()
}

/// Coverage across all cases: the model is only worth something if these all happen.
static COMPACTIONS: AtomicU64 = AtomicU64::new(0);
static TRIVIAL_MOVES: AtomicU64 = AtomicU64::new(0);
static SHADOWED: AtomicU64 = AtomicU64::new(0);
static TOMBSTONES_DROPPED: AtomicU64 = AtomicU64::new(0);
/// Tombstones no snapshot needs, kept because a deeper level holds (or may hold) the key.
static TOMBSTONES_KEPT_OVER_DEEPER: AtomicU64 = AtomicU64::new(0);
static MULTI_OUTPUT: AtomicU64 = AtomicU64::new(0);

fn build(s: &Scenario) -> (Tree, History, Vec<u64>) {
    let mut history = History::new();
    let mut ents = Vec::new();
    for (i, (key, value)) in s.writes.iter().enumerate() {
        let seq = i as u64 + 1;
        let value = value.map(|n| {
            let mut v = format!("{seq}:").into_bytes();
            v.resize(v.len() + n, b'x');
            v
        });
        history
            .entry(key.clone())
            .or_default()
            .push((seq, value.clone()));
        ents.push(Ent {
            key: key.clone(),
            seq,
            value,
        });
    }
    // Cut the history into runs, oldest first.
    let mut cuts: Vec<usize> = s
        .cuts
        .iter()
        .map(|c| c % ents.len())
        .filter(|&c| c > 0)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut runs = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([ents.len()]) {
        runs.push(&ents[start..c]);
        start = c;
    }
    // The oldest runs go to the deep levels (older deeper), the rest to level 0 (newer files
    // get higher numbers).
    let mut tree = Tree::new(s.block_size);
    let deep = s.deep_levels.len().min(runs.len().saturating_sub(1));
    for (run, &level) in runs.iter().zip(&s.deep_levels).take(deep) {
        let sorted_run = sorted(run);
        for chunk in split_by_user_key(&sorted_run, s.per_file) {
            let number = tree.next_file;
            tree.next_file += 1;
            let meta = write_table(&tree.fs, number, &chunk, s.block_size);
            tree.add_meta(level, meta);
        }
    }
    for run in &runs[deep..] {
        tree.add(0, run);
    }
    let n = ents.len() as u64;
    let mut snapshots: Vec<u64> = s
        .snapshots
        .iter()
        .map(|f| ((f * n as f64) as u64).clamp(1, n))
        .collect();
    snapshots.push(n);
    snapshots.sort_unstable();
    snapshots.dedup();
    (tree, history, snapshots)
}

/// Sorted entries in files of about `per_file` entries that end where the user key changes.
fn split_by_user_key(entries: &[Entry], per_file: usize) -> Vec<Vec<Entry>> {
    let mut files: Vec<Vec<Entry>> = Vec::new();
    let mut cur: Vec<Entry> = Vec::new();
    for e in entries {
        let new_key = cur.last().is_some_and(|l| {
            groupkv::dbformat::extract_user_key(&l.0) != groupkv::dbformat::extract_user_key(&e.0)
        });
        if cur.len() >= per_file && new_key {
            files.push(std::mem::take(&mut cur));
        }
        cur.push(e.clone());
    }
    if !cur.is_empty() {
        files.push(cur);
    }
    files
}

/// Every reader must see what the history says: each live snapshot and the latest sequence,
/// by point lookups of every key (and of absent ones) and by a full scan.
fn check_reads(tree: &Tree, history: &History, snapshots: &[u64], what: &str) {
    let mut keys: Vec<Vec<u8>> = history.keys().cloned().collect();
    keys.extend([b"aaaa".to_vec(), b"d".to_vec(), b"ab\x00".to_vec()]);
    for &s in snapshots {
        for k in &keys {
            assert_eq!(
                found(tree.get(k, s)),
                value_at(history, k, s),
                "{what}: key {:?} at snapshot {s}",
                String::from_utf8_lossy(k)
            );
        }
        assert_eq!(tree.scan(s), visible(history, s), "{what}: scan at {s}");
    }
}

fn run_one(tree: &mut Tree, mut c: Compaction, ctx: &JobContext, smallest: u64, what: &str) {
    let level = c.level();
    let r = tree.compact_with(&mut c, ctx, smallest);
    COMPACTIONS.fetch_add(1, Ordering::Relaxed);
    let st = &r.stats;
    if st.trivial_move {
        TRIVIAL_MOVES.fetch_add(1, Ordering::Relaxed);
    } else {
        assert_eq!(
            st.entries_read - st.entries_dropped(),
            st.entries_written,
            "{what}"
        );
        assert_eq!(
            st.bytes_written,
            r.outputs.iter().map(|o| o.file_size).sum::<u64>(),
            "{what}"
        );
        assert_eq!(
            st.bytes_read,
            c.inputs(0)
                .iter()
                .chain(c.inputs(1))
                .map(|f| f.file_size)
                .sum::<u64>(),
            "{what}"
        );
        SHADOWED.fetch_add(st.entries_shadowed, Ordering::Relaxed);
        TOMBSTONES_DROPPED.fetch_add(st.tombstones_dropped, Ordering::Relaxed);
        if r.outputs.len() > 1 {
            MULTI_OUTPUT.fetch_add(1, Ordering::Relaxed);
        }
        let kept = r
            .outputs
            .iter()
            .flat_map(|o| read_table(&tree.cache, o))
            .filter(|e| e.value.is_none() && e.seq <= smallest)
            .count();
        TOMBSTONES_KEPT_OVER_DEEPER.fetch_add(kept as u64, Ordering::Relaxed);
        for o in &r.outputs {
            assert!(
                tree.version.files(level + 1).iter().any(|f| **f == *o),
                "{what}: output {} not at level {}",
                o.number,
                level + 1
            );
        }
    }
    check_levels(&tree.version, &tree.cache);
}

fn run_scenario(s: &Scenario) {
    let (mut tree, history, mut snapshots) = build(s);
    check_levels(&tree.version, &tree.cache);
    check_reads(&tree, &history, &snapshots, "before any compaction");
    let options = tiny_options(s.target);
    let picked_ctx = JobContext {
        allow_trivial_move: true,
        ..tree.ctx()
    };
    let manual_ctx = tree.ctx();
    for (i, step) in s.steps.iter().enumerate() {
        let what = format!("step {i} {step:?}");
        let c = match step {
            Step::Release(n) => {
                // The last one is the latest sequence, which is never released.
                if snapshots.len() > 1 {
                    snapshots.remove(n % (snapshots.len() - 1));
                }
                continue;
            }
            Step::Pick => pick_compaction(&tree.version, &mut tree.pointers, &options),
            Step::Force { level, begin, end } => {
                let begin = begin
                    .as_ref()
                    .map(|k| internal_key(k, MAX_SEQUENCE, ValueKind::Value));
                let end = end
                    .as_ref()
                    .map(|k| internal_key(k, 0, ValueKind::Deletion));
                compact_range(
                    &tree.version,
                    *level,
                    begin.as_deref(),
                    end.as_deref(),
                    &mut tree.pointers,
                    &options,
                )
            }
        };
        let Some(c) = c else { continue };
        let ctx = if matches!(step, Step::Pick) {
            &picked_ctx
        } else {
            &manual_ctx
        };
        run_one(&mut tree, c, ctx, snapshots[0], &what);
        check_reads(&tree, &history, &snapshots, &what);
    }
    // Then the picker until no level needs compacting.
    let mut rounds = 0;
    while let Some(c) = pick_compaction(&tree.version, &mut tree.pointers, &options) {
        rounds += 1;
        assert!(rounds < 500, "the picker never settles: {}", tree.version);
        let what = format!("picked round {rounds}");
        run_one(&mut tree, c, &picked_ctx, snapshots[0], &what);
        check_reads(&tree, &history, &snapshots, &what);
    }
    for (level, score) in groupkv::compaction::level_scores(&tree.version, &options) {
        assert!(score < 1.0, "level {level} still scores {score}");
    }
}

#[test]
fn compactions_never_change_what_a_live_snapshot_reads() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&scenario(), |s| {
            run_scenario(&s);
            Ok(())
        })
        .unwrap();
    let counts = [
        ("compactions", COMPACTIONS.load(Ordering::Relaxed)),
        ("trivial moves", TRIVIAL_MOVES.load(Ordering::Relaxed)),
        ("entries shadowed", SHADOWED.load(Ordering::Relaxed)),
        (
            "tombstones dropped",
            TOMBSTONES_DROPPED.load(Ordering::Relaxed),
        ),
        (
            "tombstones kept over deeper keys",
            TOMBSTONES_KEPT_OVER_DEEPER.load(Ordering::Relaxed),
        ),
        (
            "multi-output compactions",
            MULTI_OUTPUT.load(Ordering::Relaxed),
        ),
    ];
    println!("model: {} cases, {counts:?}", cases());
    for (what, n) in counts {
        assert!(
            n > 0,
            "no {what} in {} cases: the model exercised nothing",
            cases()
        );
    }
}
