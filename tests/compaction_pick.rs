//! LevelDB's compaction picking on hand-built versions: `AddBoundaryInputs` (the cases of
//! LevelDB's `version_set_test.cc`), level scores, compact pointers sweeping a level and
//! wrapping, level-0 overlap, next-level inputs and their widening, grandparents, trivial
//! moves, manual `compact_range`, the base-level check that lets a tombstone go, and output
//! cuts at grandparent overlap.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use groupkv::compaction::{
    add_boundary_inputs, compact_range, level_scores, max_bytes_for_level, pick_compaction,
    CompactionOptions,
};
use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::version::{FileMetaData, Version, VersionBuilder, VersionEdit, NUM_LEVELS};

fn ikey(user: &str, seq: u64) -> Vec<u8> {
    internal_key(user.as_bytes(), seq, ValueKind::Value)
}

fn file(number: u64, smallest: (&str, u64), largest: (&str, u64), size: u64) -> FileMetaData {
    FileMetaData {
        number,
        file_size: size,
        smallest: ikey(smallest.0, smallest.1),
        largest: ikey(largest.0, largest.1),
    }
}

fn f(number: u64, smallest: &str, largest: &str, size: u64) -> FileMetaData {
    file(number, (smallest, 100), (largest, 100), size)
}

fn version(files: &[(usize, FileMetaData)]) -> Arc<Version> {
    let mut e = VersionEdit::new();
    for (level, m) in files {
        e.add_file(*level, m.clone()).unwrap();
    }
    let mut b = VersionBuilder::new(Arc::new(Version::new()));
    b.apply(&e);
    Arc::new(b.build().unwrap())
}

fn opts() -> CompactionOptions {
    CompactionOptions {
        level0_file_num_compaction_trigger: 4,
        max_bytes_for_level_base: 1000,
        target_file_size_base: 100,
    }
}

fn nums(files: &[Arc<FileMetaData>]) -> Vec<u64> {
    files.iter().map(|f| f.number).collect()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

// --- AddBoundaryInputs -----------------------------------------------------------------

fn arcs(files: &[&FileMetaData]) -> Vec<Arc<FileMetaData>> {
    files.iter().map(|f| Arc::new((*f).clone())).collect()
}

#[test]
fn boundary_inputs_of_empty_sets() {
    let mut compaction = Vec::new();
    add_boundary_inputs(&[], &mut compaction);
    assert!(compaction.is_empty());
    let f1 = file(1, ("100", 2), ("100", 1), 1);
    let mut compaction = arcs(&[&f1]);
    add_boundary_inputs(&[], &mut compaction);
    assert_eq!(nums(&compaction), vec![1]);
    let mut compaction = Vec::new();
    add_boundary_inputs(&arcs(&[&f1]), &mut compaction);
    assert!(compaction.is_empty());
}

#[test]
fn boundary_inputs_none_when_no_file_shares_the_last_user_key() {
    let f1 = file(1, ("100", 2), ("100", 1), 1);
    let f2 = file(2, ("200", 2), ("200", 1), 1);
    let f3 = file(3, ("300", 2), ("300", 1), 1);
    let level = arcs(&[&f3, &f2, &f1]);
    let mut compaction = arcs(&[&f2, &f3]);
    add_boundary_inputs(&level, &mut compaction);
    assert_eq!(nums(&compaction), vec![2, 3]);
}

#[test]
fn boundary_inputs_one_file() {
    let f1 = file(1, ("100", 3), ("100", 2), 1);
    let f2 = file(2, ("100", 1), ("200", 3), 1);
    let f3 = file(3, ("300", 2), ("300", 1), 1);
    let level = arcs(&[&f3, &f2, &f1]);
    let mut compaction = arcs(&[&f1]);
    add_boundary_inputs(&level, &mut compaction);
    assert_eq!(nums(&compaction), vec![1, 2]);
}

#[test]
fn boundary_inputs_two_files_in_key_order() {
    let f1 = file(1, ("100", 6), ("100", 5), 1);
    let f2 = file(2, ("100", 2), ("300", 1), 1);
    let f3 = file(3, ("100", 4), ("100", 3), 1);
    let level = arcs(&[&f2, &f3, &f1]);
    let mut compaction = arcs(&[&f1]);
    add_boundary_inputs(&level, &mut compaction);
    assert_eq!(nums(&compaction), vec![1, 3, 2]);
}

#[test]
fn boundary_inputs_compare_keys_not_identities() {
    let f1 = file(1, ("100", 6), ("100", 5), 1);
    let f2 = file(2, ("100", 6), ("100", 5), 1);
    let f3 = file(3, ("100", 2), ("300", 1), 1);
    let f4 = file(4, ("100", 4), ("100", 3), 1);
    let level = arcs(&[&f2, &f3, &f4]);
    let mut compaction = arcs(&[&f1]);
    add_boundary_inputs(&level, &mut compaction);
    assert_eq!(nums(&compaction), vec![1, 4, 3]);
}

// --- scores and size compactions ---------------------------------------------------------

#[test]
fn scores_count_level_zero_files_and_weigh_deeper_levels_by_bytes() {
    let o = opts();
    assert_eq!(max_bytes_for_level(&o, 1), 1000.0);
    assert_eq!(max_bytes_for_level(&o, 3), 100_000.0);
    let v = version(&[
        (0, f(1, "a", "b", 1)),
        (0, f(2, "a", "b", 1)),
        (1, f(3, "a", "b", 500)),
        (2, f(4, "a", "b", 25_000)),
    ]);
    let scores = level_scores(&v, &o);
    assert_eq!(scores.len(), NUM_LEVELS - 1, "the last level has no score");
    assert_eq!(scores[0], (0, 0.5));
    assert_eq!(scores[1], (1, 0.5));
    assert_eq!(scores[2], (2, 2.5));
    let mut cp = Default::default();
    let c = pick_compaction(&v, &mut cp, &o).unwrap();
    assert_eq!(c.level(), 2);
    // Nothing scores >= 1: nothing to do.
    let v = version(&[(0, f(1, "a", "b", 1)), (1, f(3, "a", "b", 999))]);
    assert!(pick_compaction(&v, &mut Default::default(), &o).is_none());
}

#[test]
fn level_zero_compaction_takes_the_overlapping_level_zero_files_and_their_level_one_files() {
    let v = version(&[
        (0, f(10, "a", "c", 10)),
        (0, f(11, "b", "e", 10)),
        (0, f(12, "d", "f", 10)),
        (0, f(13, "x", "z", 10)),
        (1, f(1, "a", "b", 10)),
        (1, f(2, "e", "g", 10)),
        (1, f(3, "h", "k", 10)),
        (1, f(4, "y", "z", 10)),
    ]);
    let mut cp = Default::default();
    let c = pick_compaction(&v, &mut cp, &opts()).unwrap();
    assert_eq!(c.level(), 0);
    assert_eq!(
        sorted(nums(c.inputs(0))),
        vec![10, 11, 12],
        "a..f, not x..z"
    );
    assert_eq!(nums(c.inputs(1)), vec![1, 2]);
    assert!(!c.is_trivial_move());
    assert_eq!(cp[0].as_deref(), Some(&ikey("f", 100)[..]));
    assert_eq!(c.edit().compact_pointers(), &[(0, ikey("f", 100))]);
    // The next pick at level 0 starts after the pointer: the x..z file.
    let c = pick_compaction(&v, &mut cp, &opts()).unwrap();
    assert_eq!(nums(c.inputs(0)), vec![13]);
    assert_eq!(nums(c.inputs(1)), vec![4]);
}

#[test]
fn the_compact_pointer_sweeps_a_level_and_wraps_around() {
    let files: Vec<(usize, FileMetaData)> = (0..5)
        .map(|i| {
            let k = format!("k{i}");
            (1, f(i + 1, &k, &format!("{k}z"), 300))
        })
        .collect();
    let v = version(&files);
    let mut cp = Default::default();
    let mut picked = Vec::new();
    for _ in 0..7 {
        let c = pick_compaction(&v, &mut cp, &opts()).unwrap();
        assert_eq!(c.level(), 1);
        assert!(c.is_trivial_move(), "nothing below: a move");
        picked.push(nums(c.inputs(0))[0]);
    }
    assert_eq!(picked, vec![1, 2, 3, 4, 5, 1, 2]);
}

#[test]
fn inputs_grow_at_their_level_when_that_adds_nothing_below() {
    // L1 file 2 (d..e) overlaps L2 file 20 (a..k), which also covers L1 files 1 and 3: the
    // compaction takes all three L1 files for the same single L2 file.
    let v = version(&[
        (1, f(1, "a", "b", 400)),
        (1, f(2, "d", "e", 400)),
        (1, f(3, "g", "h", 400)),
        (1, f(4, "m", "n", 400)),
        (2, f(20, "a", "k", 100)),
        (2, f(21, "m", "p", 100)),
    ]);
    let mut cp: [Option<Vec<u8>>; NUM_LEVELS] = Default::default();
    cp[1] = Some(ikey("b", 100));
    let c = pick_compaction(&v, &mut cp, &opts()).unwrap();
    assert_eq!(nums(c.inputs(0)), vec![1, 2, 3]);
    assert_eq!(nums(c.inputs(1)), vec![20]);
    assert_eq!(cp[1].as_deref(), Some(&ikey("h", 100)[..]));
    // Over the expansion limit (25 target files = 2500 bytes), it stays at one file.
    let v = version(&[
        (1, f(1, "a", "b", 4000)),
        (1, f(2, "d", "e", 4000)),
        (1, f(3, "g", "h", 4000)),
        (2, f(20, "a", "k", 100)),
    ]);
    let mut cp: [Option<Vec<u8>>; NUM_LEVELS] = Default::default();
    cp[1] = Some(ikey("b", 100));
    let c = pick_compaction(&v, &mut cp, &opts()).unwrap();
    assert_eq!(nums(c.inputs(0)), vec![2]);
}

#[test]
fn a_user_key_split_across_files_is_compacted_whole() {
    // L1 files 1 and 2 both hold entries of "m" (newer in 1): compacting 1 alone would move
    // the newer "m" below the older one.
    let v = version(&[
        (1, file(1, ("a", 9), ("m", 9), 600)),
        (1, file(2, ("m", 8), ("p", 8), 600)),
        (1, file(3, ("q", 8), ("r", 8), 600)),
    ]);
    let c = pick_compaction(&v, &mut Default::default(), &opts()).unwrap();
    assert_eq!(nums(c.inputs(0)), vec![1, 2]);
}

#[test]
fn grandparents_decide_trivial_moves_and_cut_outputs() {
    // One L1 file, nothing under it in L2; its grandparents (L3) under it are worth 1500
    // bytes, more than 10 target files (1000): moving it down would make a later compaction
    // of L2 expensive, so it is no trivial move.
    let v = version(&[
        (1, f(1, "a", "z", 2000)),
        (3, f(30, "a", "c", 500)),
        (3, f(31, "d", "f", 500)),
        (3, f(32, "g", "i", 500)),
    ]);
    let mut c = compact_range(&v, 1, None, None, &mut Default::default(), &opts()).unwrap();
    assert!(c.inputs(1).is_empty());
    assert_eq!(nums(c.grandparents()), vec![30, 31, 32]);
    assert!(!c.is_trivial_move());
    // Outputs are cut once they have gone past more than 1000 grandparent bytes.
    let stops: Vec<bool> = ["a", "b", "d", "e", "g", "h", "j", "k"]
        .iter()
        .map(|k| c.should_stop_before(&ikey(k, 1)))
        .collect();
    assert_eq!(
        stops,
        vec![false, false, false, false, false, false, true, false]
    );
    // With 900 grandparent bytes it is a move.
    let v = version(&[
        (1, f(1, "a", "z", 2000)),
        (3, f(30, "a", "c", 400)),
        (3, f(31, "d", "f", 500)),
    ]);
    let c = compact_range(&v, 1, None, None, &mut Default::default(), &opts()).unwrap();
    assert!(c.is_trivial_move());
    // Anything overlapping in the next level rules a move out.
    let v = version(&[(1, f(1, "a", "z", 2000)), (2, f(20, "m", "n", 1))]);
    let c = compact_range(&v, 1, None, None, &mut Default::default(), &opts()).unwrap();
    assert_eq!(nums(c.inputs(1)), vec![20]);
    assert!(!c.is_trivial_move());
}

#[test]
fn manual_compaction_takes_the_range_and_cuts_deep_levels_at_the_target_size() {
    let v = version(&[
        (0, f(10, "a", "m", 50)),
        (0, f(11, "k", "z", 50)),
        (1, f(1, "a", "b", 60)),
        (1, f(2, "c", "d", 60)),
        (1, f(3, "e", "f", 60)),
        (1, f(4, "x", "y", 60)),
    ]);
    let mut cp = Default::default();
    let o = opts();
    let c = compact_range(
        &v,
        0,
        Some(&ikey("a", 100)),
        Some(&ikey("b", 0)),
        &mut cp,
        &o,
    )
    .unwrap();
    assert_eq!(
        sorted(nums(c.inputs(0))),
        vec![10, 11],
        "level 0 is never cut"
    );
    let c = compact_range(
        &v,
        1,
        Some(&ikey("a", 100)),
        Some(&ikey("f", 0)),
        &mut cp,
        &o,
    )
    .unwrap();
    assert_eq!(
        nums(c.inputs(0)),
        vec![1, 2],
        "cut once 100 bytes are reached"
    );
    assert!(compact_range(
        &v,
        1,
        Some(&ikey("g", 100)),
        Some(&ikey("w", 0)),
        &mut cp,
        &o
    )
    .is_none());
    assert!(compact_range(&v, NUM_LEVELS - 1, None, None, &mut cp, &o).is_none());
    // The inputs' deletions go into the edit with the outputs' level.
    let c = compact_range(&v, 1, Some(&ikey("x", 100)), None, &mut cp, &o).unwrap();
    let mut e = VersionEdit::new();
    c.add_input_deletions(&mut e).unwrap();
    assert_eq!(
        e.deleted_files().iter().copied().collect::<Vec<_>>(),
        vec![(1, 4)]
    );
}

#[test]
fn a_tombstone_may_go_only_where_no_deeper_level_holds_its_key() {
    let v = version(&[
        (1, f(1, "a", "z", 10)),
        (3, f(30, "f", "h", 10)),
        (5, f(50, "p", "r", 10)),
        (6, f(60, "t", "t", 10)),
    ]);
    let mut c = compact_range(&v, 1, None, None, &mut Default::default(), &opts()).unwrap();
    let answers: Vec<(&str, bool)> = ["a", "f", "g", "h", "i", "p", "q", "s", "t", "u"]
        .iter()
        .map(|k| (*k, c.is_base_level_for_key(k.as_bytes())))
        .collect();
    assert_eq!(
        answers,
        vec![
            ("a", true),
            ("f", false),
            ("g", false),
            ("h", false),
            ("i", true),
            ("p", false),
            ("q", false),
            ("s", true),
            ("t", false),
            ("u", true)
        ]
    );
}

// --- property: picked inputs can always be replaced by their merge -------------------------

mod model {
    use super::*;
    use groupkv::dbformat::{compare_internal_keys, extract_user_key};
    use proptest::prelude::*;
    use std::cmp::Ordering;

    /// Level `level`'s files from a pool of internal keys: sorted, deduplicated, cut into
    /// runs of 1-3 keys, so files are disjoint in internal-key order but a user key may
    /// continue from one file into the next (at older sequences).
    fn level_files(
        level: usize,
        keys: &[(u8, u64)],
        cuts: &[u8],
        next: &mut u64,
    ) -> Vec<(usize, FileMetaData)> {
        let mut ikeys: Vec<Vec<u8>> = keys
            .iter()
            .map(|&(k, s)| internal_key(&[b'a' + k % 12], s, ValueKind::Value))
            .collect();
        ikeys.sort_by(|a, b| compare_internal_keys(a, b));
        ikeys.dedup();
        let mut out = Vec::new();
        let mut i = 0;
        let mut c = 0;
        while i < ikeys.len() {
            let n = 1 + usize::from(cuts.get(c).copied().unwrap_or(0) % 3);
            c += 1;
            let run = &ikeys[i..(i + n).min(ikeys.len())];
            *next += 1;
            out.push((
                level,
                FileMetaData {
                    number: *next,
                    file_size: 30 + 7 * *next % 90,
                    smallest: run[0].clone(),
                    largest: run[run.len() - 1].clone(),
                },
            ));
            i += n;
        }
        out
    }

    fn arb_version() -> impl Strategy<Value = Arc<Version>> {
        let l0 = proptest::collection::vec((0u8..12, 0u8..12, 1u64..1000), 0..7);
        let deeper = proptest::collection::vec(
            (
                proptest::collection::vec((0u8..12, 1u64..1000), 0..14),
                proptest::collection::vec(any::<u8>(), 8),
            ),
            NUM_LEVELS - 1,
        );
        (l0, deeper).prop_map(|(l0, deeper)| {
            let mut next = 0u64;
            let mut files = Vec::new();
            for (a, b, s) in l0 {
                next += 1;
                let (lo, hi) = (a.min(b), a.max(b));
                files.push((
                    0,
                    FileMetaData {
                        number: next,
                        file_size: 40,
                        smallest: internal_key(&[b'a' + lo], s + 1, ValueKind::Value),
                        largest: internal_key(&[b'a' + hi], s, ValueKind::Value),
                    },
                ));
            }
            for (i, (keys, cuts)) in deeper.iter().enumerate() {
                files.extend(level_files(i + 1, keys, cuts, &mut next));
            }
            version(&files)
        })
    }

    fn small_opts() -> CompactionOptions {
        CompactionOptions {
            level0_file_num_compaction_trigger: 2,
            max_bytes_for_level_base: 100,
            target_file_size_base: 50,
        }
    }

    /// Checks one picked compaction against the version it came from.
    fn check(v: &Arc<Version>, c: &groupkv::compaction::Compaction) -> Result<(), TestCaseError> {
        let level = c.level();
        prop_assert!(!c.inputs(0).is_empty());
        for (which, files) in [(0, c.inputs(0)), (1, c.inputs(1))] {
            let at: Vec<u64> = v.files(level + which).iter().map(|f| f.number).collect();
            for f in files {
                prop_assert!(
                    at.contains(&f.number),
                    "input {} not in level {}",
                    f.number,
                    level + which
                );
            }
            let mut n = nums(files);
            n.sort_unstable();
            n.dedup();
            prop_assert_eq!(n.len(), files.len(), "duplicate inputs");
        }
        let all: Vec<&Arc<FileMetaData>> = c.inputs(0).iter().chain(c.inputs(1)).collect();
        let smallest = all
            .iter()
            .map(|f| &f.smallest)
            .min_by(|a, b| compare_internal_keys(a, b))
            .unwrap();
        let largest = all
            .iter()
            .map(|f| &f.largest)
            .max_by(|a, b| compare_internal_keys(a, b))
            .unwrap();
        // Replacing every input by one output spanning all of them must leave level + 1
        // sorted and disjoint: nothing overlapping was left out of inputs(1).
        let mut e = VersionEdit::new();
        c.add_input_deletions(&mut e).unwrap();
        e.add_file(
            level + 1,
            FileMetaData {
                number: 1_000_000,
                file_size: 1,
                smallest: smallest.clone(),
                largest: largest.clone(),
            },
        )
        .unwrap();
        let mut b = VersionBuilder::new(v.clone());
        b.apply(&e);
        prop_assert!(
            b.build().is_ok(),
            "the merged output overlaps a file left in level {}",
            level + 1
        );
        let in0: Vec<u64> = nums(c.inputs(0));
        // The user-key range of the inputs at `level` (inputs(1) may reach further: what lies
        // above that part stays above, and is newer, so it still shadows correctly).
        let lo = c
            .inputs(0)
            .iter()
            .map(|f| extract_user_key(&f.smallest))
            .min()
            .unwrap();
        let hi = c
            .inputs(0)
            .iter()
            .map(|f| extract_user_key(&f.largest))
            .max()
            .unwrap();
        for f in v.files(level).iter().filter(|f| !in0.contains(&f.number)) {
            if level == 0 {
                // Every level-0 file overlapping the inputs moves with them: an older one
                // left behind would shadow the newer entries moved down.
                let (fs, fl) = (extract_user_key(&f.smallest), extract_user_key(&f.largest));
                prop_assert!(
                    fl < lo || fs > hi,
                    "L0 file {} overlaps the inputs but stays",
                    f.number
                );
            } else {
                // No file left behind continues the inputs' last user key at older sequences.
                let last = c
                    .inputs(0)
                    .iter()
                    .map(|f| &f.largest)
                    .max_by(|a, b| compare_internal_keys(a, b))
                    .unwrap();
                let continues = extract_user_key(&f.smallest) == extract_user_key(last)
                    && compare_internal_keys(&f.smallest, last) == Ordering::Greater;
                prop_assert!(
                    !continues,
                    "file {} continues the inputs' last user key",
                    f.number
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn picked_inputs_can_be_replaced_by_their_merge(
            v in arb_version(),
            manual in proptest::option::of((0usize..NUM_LEVELS - 1, 0u8..12, 0u8..12)),
        ) {
            let mut cp = Default::default();
            for _ in 0..3 {
                if let Some(c) = pick_compaction(&v, &mut cp, &small_opts()) {
                    check(&v, &c)?;
                }
            }
            if let Some((level, a, b)) = manual {
                let lo = internal_key(&[b'a' + a.min(b)], u64::MAX >> 8, ValueKind::Value);
                let hi = internal_key(&[b'a' + a.max(b)], 0, ValueKind::Deletion);
                if let Some(c) = compact_range(&v, level, Some(&lo), Some(&hi), &mut cp, &small_opts()) {
                    check(&v, &c)?;
                }
            }
        }
    }
}
