//! The compaction merge job on hand-built trees of real tables: LevelDB's drop rules in every
//! combination (snapshots between versions, tombstones at and above the base level, keys
//! present deeper), deletions never resurrecting older values, outputs cut by size and by
//! grandparent overlap (sorted, disjoint, never splitting a user key), trivial moves without
//! I/O, an empty result, and an entry whose key does not parse. Failures are in
//! `compaction_job_faults.rs`.
#![allow(clippy::unwrap_used)]

mod compaction_support;

use compaction_support::*;
use groupkv::compaction::{compact_range, CompactionOptions};
use groupkv::dbformat::extract_user_key;
use groupkv::fs::FaultKind;
use groupkv::version::{FileMetaData, LookupResult, Version};

// --- Drop rules ---------------------------------------------------------------------------

/// One drop-rule case: tables per level, the level compacted, the smallest snapshot, and the
/// entries the output level must hold afterwards.
struct Case {
    name: &'static str,
    files: Vec<(usize, Vec<Ent>)>,
    level: usize,
    snapshot: u64,
    expect: Vec<Ent>,
}

fn drop_cases() -> Vec<Case> {
    vec![
        Case {
            name: "a newer version visible to every reader hides the older ones",
            files: vec![
                (1, vec![put("k", 3, "v3"), put("k", 2, "v2")]),
                (2, vec![put("k", 1, "v1")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![put("k", 3, "v3")],
        },
        Case {
            name: "a snapshot below every newer version keeps everything",
            files: vec![
                (1, vec![put("k", 3, "v3"), put("k", 2, "v2")]),
                (2, vec![put("k", 1, "v1")]),
            ],
            level: 1,
            snapshot: 1,
            expect: vec![put("k", 3, "v3"), put("k", 2, "v2"), put("k", 1, "v1")],
        },
        Case {
            name: "a snapshot between versions keeps the version it sees",
            files: vec![
                (1, vec![put("k", 5, "v5"), put("k", 3, "v3")]),
                (2, vec![put("k", 1, "v1")]),
            ],
            level: 1,
            snapshot: 4,
            expect: vec![put("k", 5, "v5"), put("k", 3, "v3")],
        },
        Case {
            name: "a snapshot at a version's sequence keeps that version only",
            files: vec![
                (1, vec![put("k", 5, "v5"), put("k", 3, "v3")]),
                (2, vec![put("k", 1, "v1")]),
            ],
            level: 1,
            snapshot: 3,
            expect: vec![put("k", 5, "v5"), put("k", 3, "v3")],
        },
        Case {
            name: "a tombstone at the base level below the snapshot goes, with what it hides",
            files: vec![(1, vec![del("k", 5)]), (2, vec![put("k", 3, "v3")])],
            level: 1,
            snapshot: LATEST,
            expect: vec![],
        },
        Case {
            name: "a tombstone at exactly the snapshot goes",
            files: vec![(1, vec![del("k", 5)]), (2, vec![put("k", 3, "v3")])],
            level: 1,
            snapshot: 5,
            expect: vec![],
        },
        Case {
            name: "a tombstone above the snapshot stays, and so does the version it sees",
            files: vec![
                (1, vec![del("k", 5)]),
                (2, vec![put("k", 3, "v3"), put("k", 2, "v2")]),
            ],
            level: 1,
            snapshot: 4,
            expect: vec![del("k", 5), put("k", 3, "v3")],
        },
        Case {
            name: "a tombstone over a key held deeper stays; what it hides in the inputs goes",
            files: vec![
                (1, vec![del("k", 5)]),
                (2, vec![put("k", 3, "v3")]),
                (4, vec![put("k", 1, "v1")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![del("k", 5)],
        },
        Case {
            name: "a deeper file whose range covers the key keeps the tombstone",
            files: vec![
                (1, vec![del("k", 5)]),
                (2, vec![put("k", 3, "v3")]),
                (3, vec![put("a", 1, "a"), put("z", 1, "z")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![del("k", 5)],
        },
        Case {
            name: "deeper files around the key do not keep the tombstone",
            files: vec![
                (1, vec![del("k", 5)]),
                (2, vec![put("k", 3, "v3")]),
                (3, vec![put("a", 1, "a"), put("j", 1, "j")]),
                (3, vec![put("l", 1, "l"), put("z", 1, "z")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![],
        },
        Case {
            name: "a value newer than a tombstone hides it and what it hides",
            files: vec![
                (1, vec![put("k", 6, "v6"), del("k", 5)]),
                (2, vec![put("k", 3, "v3")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![put("k", 6, "v6")],
        },
        Case {
            name: "stacked tombstones all go at the base level",
            files: vec![
                (1, vec![del("k", 7), del("k", 5)]),
                (2, vec![del("k", 4), put("k", 3, "v3")]),
            ],
            level: 1,
            snapshot: LATEST,
            expect: vec![],
        },
        Case {
            name: "level 0: overlapping files merge newest first",
            files: vec![
                (0, vec![put("a", 1, "a1"), put("k", 2, "k2")]),
                (0, vec![del("a", 3), put("m", 4, "m4")]),
                (0, vec![put("k", 5, "k5"), put("a", 6, "a6")]),
                (1, vec![put("b", 0, "b0")]),
            ],
            level: 0,
            snapshot: LATEST,
            expect: vec![
                put("a", 6, "a6"),
                put("b", 0, "b0"),
                put("k", 5, "k5"),
                put("m", 4, "m4"),
            ],
        },
        Case {
            name: "level 0: a snapshot below a tombstone keeps it and the version below it",
            files: vec![
                (0, vec![put("a", 1, "a1"), put("z", 1, "z1")]),
                (0, vec![del("a", 3)]),
                (0, vec![put("a", 6, "a6")]),
            ],
            level: 0,
            snapshot: 2,
            expect: vec![
                put("a", 6, "a6"),
                del("a", 3),
                put("a", 1, "a1"),
                put("z", 1, "z1"),
            ],
        },
        Case {
            name: "level 0: a snapshot above a base-level tombstone lets it go",
            files: vec![
                (0, vec![put("a", 1, "a1"), put("z", 1, "z1")]),
                (0, vec![del("a", 3)]),
                (0, vec![put("a", 6, "a6")]),
            ],
            level: 0,
            snapshot: 4,
            expect: vec![put("a", 6, "a6"), put("z", 1, "z1")],
        },
        Case {
            name: "level 0: tombstones go at the base level, keys at other levels are untouched",
            files: vec![
                (0, vec![put("a", 1, "a1"), put("c", 2, "c2")]),
                (0, vec![del("a", 3), del("c", 4)]),
                (3, vec![put("c", 0, "c0")]),
            ],
            level: 0,
            snapshot: LATEST,
            expect: vec![del("c", 4)],
        },
    ]
}

#[test]
fn drop_rules_in_every_combination() {
    for case in drop_cases() {
        let mut tree = Tree::new(256);
        for (level, ents) in &case.files {
            tree.add(*level, ents);
        }
        let before = tree.version.clone();
        let latest = case
            .files
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.seq))
            .max()
            .unwrap();
        let keys: Vec<Vec<u8>> = case
            .files
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.key.clone()))
            .collect();
        let reads_before: Vec<_> = [case.snapshot.min(latest), latest]
            .iter()
            .flat_map(|&s| keys.iter().map(move |k| (k.clone(), s)))
            .map(|(k, s)| found(tree.get(&k, s)))
            .collect();

        let mut c = whole_level(&mut tree, case.level, &opts());
        let r = tree.compact(&mut c, case.snapshot);
        assert_eq!(
            tree.level_entries(case.level + 1),
            case.expect,
            "{}",
            case.name
        );
        assert_eq!(
            r.stats.entries_read - r.stats.entries_dropped(),
            r.stats.entries_written,
            "{}",
            case.name
        );
        assert_eq!(tree.version.num_files(case.level), 0, "{}", case.name);
        // Deeper levels are never touched.
        for level in case.level + 2..groupkv::version::NUM_LEVELS {
            assert_eq!(
                tree.version.files(level),
                before.files(level),
                "{}",
                case.name
            );
        }
        // Every protected reader reads what it read before.
        let reads_after: Vec<_> = [case.snapshot.min(latest), latest]
            .iter()
            .flat_map(|&s| keys.iter().map(move |k| (k.clone(), s)))
            .map(|(k, s)| found(tree.get(&k, s)))
            .collect();
        assert_eq!(reads_after, reads_before, "{}", case.name);
    }
}

#[test]
fn statistics_count_what_was_read_written_and_dropped() {
    let mut tree = Tree::new(256);
    let a = tree.add(1, &[put("a", 9, "x"), put("a", 8, "y"), del("b", 7)]);
    let b = tree.add(2, &[put("b", 1, "z"), put("c", 2, "w")]);
    let mut c = whole_level(&mut tree, 1, &opts());
    let r = tree.compact(&mut c, LATEST);
    let s = &r.stats;
    assert!(!s.trivial_move);
    assert_eq!(s.bytes_read, a.file_size + b.file_size);
    assert_eq!(s.entries_read, 5);
    assert_eq!(s.entries_shadowed, 2, "a@8 and b@1");
    assert_eq!(s.tombstones_dropped, 1, "b@7");
    assert_eq!(s.entries_written, 2);
    assert_eq!(s.output_files, 1);
    assert_eq!(s.bytes_written, r.outputs[0].file_size);
    assert_eq!(
        tree.fs
            .read(&table_path(r.outputs[0].number))
            .unwrap()
            .len() as u64,
        s.bytes_written
    );
    // The edit: inputs removed from both levels, the output added one level down.
    let deleted: Vec<_> = r.edit.deleted_files().iter().copied().collect();
    assert_eq!(deleted, vec![(1, a.number), (2, b.number)]);
    assert_eq!(r.edit.new_files().len(), 1);
    assert_eq!(r.edit.new_files()[0], (2, r.outputs[0].clone()));
    // The compact pointer picking recorded is in the edit.
    assert_eq!(r.edit.compact_pointers().len(), 1);
    assert_eq!(r.edit.compact_pointers()[0].0, 1);
}

#[test]
fn hidden_values_are_removed_once_their_snapshot_is_released() {
    // LevelDB's db_test HiddenValuesAreRemoved: a snapshot keeps an overwritten value through
    // one compaction; once it is released, the next compaction of that data drops it.
    let mut tree = Tree::new(256);
    tree.add(2, &[put("k", 5, &"old".repeat(100)), put("z", 1, "z")]);
    tree.add(1, &[put("k", 10, "new")]);
    let snapshot = 7;
    let mut c = whole_level(&mut tree, 1, &opts());
    let r = tree.compact(&mut c, snapshot);
    assert_eq!(r.stats.entries_dropped(), 0);
    assert_eq!(
        found(tree.get(b"k", snapshot)),
        Some("old".repeat(100).into_bytes())
    );
    assert_eq!(found(tree.get(b"k", LATEST)), Some(b"new".to_vec()));
    // Released: only the latest sequence is protected now.
    let mut c = whole_level(&mut tree, 2, &opts());
    let r = tree.compact(&mut c, LATEST);
    assert_eq!(r.stats.entries_shadowed, 1);
    assert_eq!(
        tree.level_entries(3),
        vec![put("k", 10, "new"), put("z", 1, "z")]
    );
    assert!(r.stats.bytes_written < r.stats.bytes_read);
}

// --- Deletion never resurrects an older value -----------------------------------------------

#[test]
fn deletion_never_resurrects_an_older_value() {
    // The tombstone in L1, the value it deletes in L3, an unrelated key in L2. Compacting L1
    // into L2 (not L3) must keep the tombstone.
    let mut tree = Tree::new(256);
    tree.add(3, &[put("k", 5, "old"), put("q", 4, "q")]);
    tree.add(2, &[put("c", 6, "c")]);
    tree.add(1, &[del("k", 10), put("b", 11, "b")]);
    assert_eq!(tree.get(b"k", LATEST), LookupResult::Deleted);
    let mut c = whole_level(&mut tree, 1, &opts());
    let r = tree.compact(&mut c, LATEST);
    assert_eq!(r.stats.tombstones_dropped, 0);
    assert_eq!(found(tree.get(b"k", LATEST)), None);
    assert!(!tree.scan(LATEST).iter().any(|(k, _)| k == b"k"));
    // Then the level holding the tombstone (now L2) into L3, where the value is: both go.
    let mut c = whole_level(&mut tree, 2, &opts());
    let r = tree.compact(&mut c, LATEST);
    assert_eq!(r.stats.tombstones_dropped, 1);
    assert_eq!(r.stats.entries_shadowed, 1);
    assert_eq!(tree.get(b"k", LATEST), LookupResult::NotFound);
    assert_eq!(
        tree.scan(LATEST),
        vec![
            (b"b".to_vec(), b"b".to_vec()),
            (b"c".to_vec(), b"c".to_vec()),
            (b"q".to_vec(), b"q".to_vec()),
        ]
    );
    check_levels(&tree.version, &tree.cache);
}

#[test]
fn deletion_in_level0_never_resurrects_a_value_two_levels_down() {
    let mut tree = Tree::new(256);
    tree.add(2, &[put("k", 1, "old")]);
    tree.add(0, &[put("k", 2, "new"), put("x", 3, "x")]);
    tree.add(0, &[del("k", 4)]);
    let mut c = whole_level(&mut tree, 0, &opts());
    tree.compact(&mut c, LATEST);
    assert_eq!(tree.version.num_files(0), 0);
    assert_eq!(tree.level_entries(1), vec![del("k", 4), put("x", 3, "x")]);
    assert_eq!(tree.get(b"k", LATEST), LookupResult::Deleted);
    assert_eq!(tree.scan(LATEST), vec![(b"x".to_vec(), b"x".to_vec())]);
}

// --- Output cutting -------------------------------------------------------------------------

/// Outputs in key order, disjoint, and never sharing a user key with the next one.
fn check_outputs(outputs: &[FileMetaData]) {
    for pair in outputs.windows(2) {
        assert_eq!(
            groupkv::dbformat::compare_internal_keys(&pair[0].largest, &pair[1].smallest),
            std::cmp::Ordering::Less
        );
        assert_ne!(
            extract_user_key(&pair[0].largest),
            extract_user_key(&pair[1].smallest),
            "outputs {} and {} split a user key",
            pair[0].number,
            pair[1].number
        );
    }
}

#[test]
fn outputs_are_cut_at_the_target_size_sorted_and_disjoint() {
    let mut tree = Tree::new(512);
    let target = 4096;
    let ents: Vec<Ent> = (0..400)
        .map(|i| put(&format!("k{i:04}"), 1000 + i as u64, &value(i)))
        .collect();
    tree.add(1, &ents[..200]);
    tree.add(1, &ents[200..]);
    tree.add(2, &[put("k0100", 1, "older"), put("k0300", 1, "older")]);
    let options = CompactionOptions {
        target_file_size_base: target,
        ..opts()
    };
    let mut c = compact_range(&tree.version, 1, None, None, &mut tree.pointers, &options).unwrap();
    let r = tree.compact(&mut c, LATEST);
    assert!(r.outputs.len() >= 5, "{} outputs", r.outputs.len());
    check_outputs(&r.outputs);
    for (i, out) in r.outputs.iter().enumerate() {
        if i + 1 < r.outputs.len() {
            assert!(
                out.file_size >= target,
                "output {i}: {} bytes",
                out.file_size
            );
        }
        assert!(
            out.file_size < 2 * target,
            "output {i}: {} bytes",
            out.file_size
        );
    }
    check_levels(&tree.version, &tree.cache);
    // Nothing lost: the first 200 keys read their values; k0100's old version is gone.
    let scan = tree.scan(LATEST);
    assert_eq!(scan.len(), 400);
    for (i, (k, v)) in scan.iter().enumerate() {
        assert_eq!(k, format!("k{i:04}").as_bytes());
        assert_eq!(v, value(i).as_bytes());
    }
}

#[test]
fn a_cut_never_splits_the_versions_of_one_user_key() {
    // Every key has 16 versions of ~100 bytes that a snapshot keeps: about 1.6 KB per key
    // against a 1 KB target, so a size cut falls inside every key's versions.
    let mut tree = Tree::new(256);
    let mut ents = Vec::new();
    for k in 0..20 {
        for v in 0..16usize {
            ents.push(put(
                &format!("k{k:02}"),
                (100 * k + v + 1) as u64,
                &value(v),
            ));
        }
    }
    tree.add(1, &ents);
    tree.add(2, &[put("k05", 0, "old")]);
    let options = CompactionOptions {
        target_file_size_base: 1024,
        ..opts()
    };
    let mut c = compact_range(&tree.version, 1, None, None, &mut tree.pointers, &options).unwrap();
    let r = tree.compact(&mut c, 0);
    assert_eq!(r.stats.entries_dropped(), 0);
    assert_eq!(r.outputs.len(), 20, "one output per user key");
    check_outputs(&r.outputs);
    check_levels(&tree.version, &tree.cache);
}

/// A level-1 file of `n` keys and, two levels down, grandparents of `gp_size` bytes each
/// (metadata only: the job never reads them) covering ten keys each.
fn grandparent_tree(n: usize, grandparents: usize, gp_size: u64) -> Tree {
    let mut tree = Tree::new(512);
    let ents: Vec<Ent> = (0..n)
        .map(|i| put(&format!("k{i:04}"), 10 + i as u64, "v"))
        .collect();
    tree.add(1, &ents);
    tree.add(2, &[put("k0000", 1, "older")]);
    for g in 0..grandparents {
        let number = 1000 + g as u64;
        tree.add_meta(
            3,
            FileMetaData {
                number,
                file_size: gp_size,
                smallest: put(&format!("k{:04}", 10 * g), 5, "").internal().0,
                largest: put(&format!("k{:04}", 10 * g + 9), 5, "").internal().0,
            },
        );
    }
    tree
}

#[test]
fn outputs_are_cut_where_they_would_overlap_too_many_grandparent_bytes() {
    let target = 1 << 20;
    let options = CompactionOptions {
        target_file_size_base: target,
        ..opts()
    };
    let limit = options.max_grandparent_overlap_bytes();
    let gp_size = target * 3;
    // Without grandparents: one small output.
    let mut plain = grandparent_tree(200, 0, gp_size);
    let mut c =
        compact_range(&plain.version, 1, None, None, &mut plain.pointers, &options).unwrap();
    assert_eq!(
        plain
            .run_with(&mut c, &plain.ctx(), LATEST)
            .unwrap()
            .outputs
            .len(),
        1
    );

    let mut tree = grandparent_tree(200, 20, gp_size);
    let mut c = compact_range(&tree.version, 1, None, None, &mut tree.pointers, &options).unwrap();
    assert_eq!(c.grandparents().len(), 20);
    let ctx = tree.ctx();
    let r = tree.run_with(&mut c, &ctx, LATEST).unwrap();
    // 20 × 3 targets of grandparents, cut past 10 targets: 4 passed per output at most.
    assert!(r.outputs.len() >= 5, "{} outputs", r.outputs.len());
    check_outputs(&r.outputs);
    let grandparents = tree.version.files(3).to_vec();
    for out in &r.outputs {
        let overlapped: u64 = grandparents
            .iter()
            .filter(|g| {
                extract_user_key(&g.largest) >= extract_user_key(&out.smallest)
                    && extract_user_key(&g.smallest) <= extract_user_key(&out.largest)
            })
            .map(|g| g.file_size)
            .sum();
        // The files passed (≤ the limit) plus the two partly overlapped at either end.
        assert!(
            overlapped <= limit + 2 * gp_size,
            "output {} overlaps {overlapped} grandparent bytes",
            out.number
        );
    }
    let total: usize = r
        .outputs
        .iter()
        .map(|o| read_table(&tree.cache, o).len())
        .sum();
    assert_eq!(total, 200);
}

// --- Trivial move ---------------------------------------------------------------------------

fn io_counts(tree: &Tree) -> Vec<u64> {
    [
        FaultKind::Create,
        FaultKind::Append,
        FaultKind::Sync,
        FaultKind::SyncDir,
        FaultKind::Read,
    ]
    .iter()
    .map(|k| tree.fs.count(*k))
    .collect()
}

#[test]
fn a_trivial_move_writes_nothing_and_moves_the_file_down() {
    let mut tree = Tree::new(256);
    let f = tree.add(1, &[put("a", 2, "a"), del("b", 3)]);
    tree.add(3, &[put("a", 1, "old")]);
    let mut c = whole_level(&mut tree, 1, &opts());
    assert!(c.is_trivial_move());
    let ctx = groupkv::compaction::JobContext {
        allow_trivial_move: true,
        ..tree.ctx()
    };
    let before = io_counts(&tree);
    let r = tree.compact_with(&mut c, &ctx, LATEST);
    assert_eq!(io_counts(&tree), before, "a trivial move does no I/O");
    assert!(r.stats.trivial_move);
    assert!(r.outputs.is_empty());
    assert_eq!(r.stats.bytes_read + r.stats.bytes_written, 0);
    let deleted: Vec<_> = r.edit.deleted_files().iter().copied().collect();
    assert_eq!(deleted, vec![(1, f.number)]);
    assert_eq!(r.edit.new_files(), &[(2, f.clone())]);
    assert_eq!(tree.version.files(2).len(), 1);
    assert_eq!(*tree.version.files(2)[0], f);
    // The tombstone moved down intact and still hides nothing wrongly.
    assert_eq!(tree.get(b"b", LATEST), LookupResult::Deleted);
    assert_eq!(found(tree.get(b"a", LATEST)), Some(b"a".to_vec()));
}

#[test]
fn too_many_grandparent_bytes_make_a_move_a_real_compaction() {
    let options = CompactionOptions {
        target_file_size_base: 1 << 10,
        ..opts()
    };
    let mut tree = grandparent_tree(50, 5, 4 << 10);
    // Drop the level-2 file so that only grandparents stand in the way.
    let mut e = groupkv::version::VersionEdit::new();
    e.remove_file(2, tree.version.files(2)[0].number).unwrap();
    tree.apply(&e);
    let mut c = compact_range(&tree.version, 1, None, None, &mut tree.pointers, &options).unwrap();
    assert!(!c.is_trivial_move());
    let ctx = groupkv::compaction::JobContext {
        allow_trivial_move: true,
        ..tree.ctx()
    };
    let r = tree.run_with(&mut c, &ctx, LATEST).unwrap();
    assert!(!r.stats.trivial_move);
    assert!(!r.outputs.is_empty());
}

#[test]
fn an_empty_result_deletes_the_inputs_and_adds_nothing() {
    let mut tree = Tree::new(256);
    tree.add(1, &[del("a", 5), del("b", 6)]);
    tree.add(2, &[put("a", 1, "x"), put("b", 2, "y")]);
    let creates = tree.fs.count(FaultKind::Create);
    let syncdirs = tree.fs.count(FaultKind::SyncDir);
    let mut c = whole_level(&mut tree, 1, &opts());
    let r = tree.compact(&mut c, LATEST);
    assert!(r.outputs.is_empty());
    assert!(r.edit.new_files().is_empty());
    assert_eq!(r.edit.deleted_files().len(), 2);
    assert_eq!(tree.fs.count(FaultKind::Create), creates);
    assert_eq!(tree.fs.count(FaultKind::SyncDir), syncdirs);
    assert_eq!(*tree.version, Version::new());
}

#[test]
fn an_entry_whose_key_does_not_parse_is_kept_and_hides_nothing() {
    // LevelDB's rule ("do not hide error keys"): the entry is copied as it is, and the
    // entries after it are judged as if a new user key started.
    let mut tree = Tree::new(256);
    let mut bad = groupkv::dbformat::internal_key(b"k", 6, groupkv::dbformat::ValueKind::Value);
    bad[1] = 7; // the kind byte of the tag: not a known kind
    let mut entries = sorted(&[put("k", 9, "new"), put("k", 5, "old"), put("z", 1, "z")]);
    entries.insert(1, (bad.clone(), b"bad".to_vec()));
    let number = tree.next_file;
    tree.next_file += 1;
    let meta = write_table(&tree.fs, number, &entries, 256);
    tree.add_meta(1, meta);
    tree.add(2, &[put("m", 1, "m")]);
    let mut c = compact_range(&tree.version, 1, None, None, &mut tree.pointers, &opts()).unwrap();
    let ctx = tree.ctx();
    let r = tree.run_with(&mut c, &ctx, LATEST).unwrap();
    assert_eq!(r.stats.corrupt_keys, 1);
    assert_eq!(r.stats.entries_shadowed, 0, "k@5 follows the bad key: kept");
    let out = r.outputs.iter().flat_map(|o| {
        let mut it = groupkv::iter::TableInternalIter::new(
            tree.cache
                .iter(o.number, o.file_size, Default::default())
                .unwrap(),
        );
        let mut keys = Vec::new();
        groupkv::iter::InternalIterator::seek_to_first(&mut it);
        while groupkv::iter::InternalIterator::valid(&it) {
            keys.push(groupkv::iter::InternalIterator::key(&it).to_vec());
            groupkv::iter::InternalIterator::next(&mut it);
        }
        keys
    });
    let expect: Vec<Vec<u8>> = vec![
        put("k", 9, "").internal().0,
        bad,
        put("k", 5, "").internal().0,
        put("m", 1, "").internal().0,
        put("z", 1, "").internal().0,
    ];
    assert_eq!(out.collect::<Vec<_>>(), expect);
}
