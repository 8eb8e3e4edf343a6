//! `VersionBuilder` (edits applied to a base version, LevelDB's `Builder`) and what a built
//! `Version` answers: level order, overlap corruption, level-0 overlap closure, the level a
//! flush goes to, and point lookups through a table-lookup trait (newest level-0 file first,
//! deletions hiding older levels, one probe per deeper level).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use groupkv::dbformat::{
    compare_internal_keys, internal_key, parse_internal_key, LookupKey, ValueKind,
};
use groupkv::version::{FileMetaData, LookupResult, Version, VersionBuilder, VersionEdit};
use groupkv::Error;

fn meta(number: u64, smallest: &str, largest: &str, size: u64) -> FileMetaData {
    FileMetaData {
        number,
        file_size: size,
        smallest: internal_key(smallest.as_bytes(), 100, ValueKind::Value),
        largest: internal_key(largest.as_bytes(), 1, ValueKind::Value),
    }
}

fn build(base: Version, edits: &[VersionEdit]) -> Result<Version, Error> {
    let mut b = VersionBuilder::new(Arc::new(base));
    for e in edits {
        b.apply(e);
    }
    b.build()
}

fn numbers(v: &Version, level: usize) -> Vec<u64> {
    v.files(level).iter().map(|f| f.number).collect()
}

fn add(files: &[(usize, FileMetaData)]) -> VersionEdit {
    let mut e = VersionEdit::new();
    for (level, f) in files {
        e.add_file(*level, f.clone()).unwrap();
    }
    e
}

#[test]
fn level_zero_is_newest_first_and_deeper_levels_sorted_by_key() {
    let v = build(
        Version::new(),
        &[add(&[
            (0, meta(5, "a", "z", 10)),
            (0, meta(9, "c", "d", 10)),
            (0, meta(7, "b", "y", 10)),
            (1, meta(3, "m", "n", 10)),
            (1, meta(4, "a", "b", 10)),
            (1, meta(6, "x", "y", 10)),
        ])],
    )
    .unwrap();
    assert_eq!(numbers(&v, 0), vec![9, 7, 5]);
    assert_eq!(numbers(&v, 1), vec![4, 3, 6]);
    assert_eq!(v.level_bytes(1), 30);
    assert_eq!(v.level_summary(), "files[ 3 3 0 0 0 0 0 ]");
}

#[test]
fn deletes_and_adds_compose_in_order() {
    let base = build(
        Version::new(),
        &[add(&[(1, meta(1, "a", "b", 1)), (1, meta(2, "c", "d", 1))])],
    )
    .unwrap();
    // Delete 1, add 3; then move 2 from level 1 to level 2 (delete + add in one edit).
    let mut e1 = add(&[(1, meta(3, "e", "f", 1))]);
    e1.remove_file(1, 1).unwrap();
    let mut e2 = add(&[(2, meta(2, "c", "d", 1))]);
    e2.remove_file(1, 2).unwrap();
    // A file added and deleted within the run is gone; one deleted then re-added is back.
    let e3 = add(&[(3, meta(8, "x", "y", 1))]);
    let mut e4 = VersionEdit::new();
    e4.remove_file(3, 8).unwrap();
    let v = build(base.clone(), &[e1, e2, e3, e4]).unwrap();
    assert_eq!(numbers(&v, 1), vec![3]);
    assert_eq!(numbers(&v, 2), vec![2]);
    assert!(v.files(3).is_empty());
    // The base is untouched.
    assert_eq!(numbers(&base, 1), vec![1, 2]);
    // Deleting a file that is not there changes nothing (LevelDB ignores it too).
    let mut e5 = VersionEdit::new();
    e5.remove_file(4, 99).unwrap();
    assert_eq!(build(v.clone(), &[e5]).unwrap(), v);
}

#[test]
fn overlapping_files_above_level_zero_are_corruption() {
    let e = add(&[(2, meta(1, "a", "m", 1)), (2, meta(2, "k", "z", 1))]);
    let err = build(Version::new(), &[e]).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    assert!(err.to_string().contains("level 2"), "{err}");
    // Level 0 may overlap.
    let e = add(&[(0, meta(1, "a", "m", 1)), (0, meta(2, "k", "z", 1))]);
    assert!(build(Version::new(), &[e]).is_ok());
    // Touching user keys at different sequences do not overlap: a user key may span files.
    let mut left = meta(1, "a", "k", 1);
    left.largest = internal_key(b"k", 50, ValueKind::Value);
    let mut right = meta(2, "k", "z", 1);
    right.smallest = internal_key(b"k", 49, ValueKind::Value);
    assert!(build(Version::new(), &[add(&[(1, left), (1, right)])]).is_ok());
}

#[test]
fn a_file_live_twice_is_corruption() {
    let e = add(&[(1, meta(7, "a", "b", 1)), (3, meta(7, "a", "b", 1))]);
    let err = build(Version::new(), &[e]).unwrap_err();
    assert!(err.to_string().contains("file 7"), "{err}");
}

#[test]
fn the_latest_compact_pointer_of_each_level_wins() {
    let mut b = VersionBuilder::new(Arc::new(Version::new()));
    let k1 = internal_key(b"k1", 5, ValueKind::Value);
    let k2 = internal_key(b"k2", 5, ValueKind::Value);
    let mut e = VersionEdit::new();
    e.set_compact_pointer(1, &k1).unwrap();
    b.apply(&e);
    let mut e = VersionEdit::new();
    e.set_compact_pointer(1, &k2).unwrap();
    e.set_compact_pointer(4, &k1).unwrap();
    b.apply(&e);
    assert_eq!(b.compact_pointers()[1].as_deref(), Some(&k2[..]));
    assert_eq!(b.compact_pointers()[4].as_deref(), Some(&k1[..]));
    assert_eq!(b.compact_pointers()[0], None);
}

#[test]
fn level_zero_overlapping_inputs_are_closed_under_overlap() {
    let v = build(
        Version::new(),
        &[add(&[
            (0, meta(1, "100", "200", 1)),
            (0, meta(2, "150", "300", 1)),
            (0, meta(3, "280", "400", 1)),
            (0, meta(4, "500", "600", 1)),
            (1, meta(5, "100", "200", 1)),
            (1, meta(6, "250", "290", 1)),
            (1, meta(7, "300", "350", 1)),
        ])],
    )
    .unwrap();
    let k = |s: &str| internal_key(s.as_bytes(), 100, ValueKind::Value);
    let mut got: Vec<u64> = v
        .overlapping_inputs(0, Some(&k("120")), Some(&k("160")))
        .iter()
        .map(|f| f.number)
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 2, 3], "the range grows to 100..400");
    // Deeper levels take exactly the overlapping files.
    let got: Vec<u64> = v
        .overlapping_inputs(1, Some(&k("210")), Some(&k("300")))
        .iter()
        .map(|f| f.number)
        .collect();
    assert_eq!(got, vec![6, 7]);
    assert_eq!(v.overlapping_inputs(1, None, None).len(), 3);
    assert!(v
        .overlapping_inputs(1, Some(&k("201")), Some(&k("249")))
        .is_empty());
}

#[test]
fn a_flush_goes_as_deep_as_level_two_while_nothing_overlaps() {
    let limit = 100;
    let empty = Version::new();
    assert_eq!(empty.pick_level_for_memtable_output(b"a", b"b", limit), 2);
    let v = build(
        Version::new(),
        &[add(&[
            (0, meta(1, "m", "p", 1)),
            (1, meta(2, "c", "d", 1)),
            (2, meta(3, "f", "g", 1)),
            (3, meta(4, "h", "i", 500)),
        ])],
    )
    .unwrap();
    assert_eq!(
        v.pick_level_for_memtable_output(b"n", b"o", limit),
        0,
        "overlaps L0"
    );
    assert_eq!(
        v.pick_level_for_memtable_output(b"c", b"c", limit),
        0,
        "overlaps L1"
    );
    assert_eq!(
        v.pick_level_for_memtable_output(b"f", b"f", limit),
        1,
        "overlaps L2"
    );
    assert_eq!(
        v.pick_level_for_memtable_output(b"h", b"h", limit),
        1,
        "level 3 overlap above the grandparent limit keeps it at L1"
    );
    assert_eq!(v.pick_level_for_memtable_output(b"h", b"h", 1000), 2);
    assert_eq!(v.pick_level_for_memtable_output(b"x", b"z", limit), 2);
}

/// A table's entries: internal key and value (`None`: a deletion), in internal-key order.
type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Tables as lists of entries by file number, with a probe log.
struct Tables {
    tables: BTreeMap<u64, Entries>,
    probes: RefCell<Vec<u64>>,
}

impl Tables {
    fn lookup(&self, file: &FileMetaData, key: &LookupKey) -> groupkv::Result<LookupResult> {
        self.probes.borrow_mut().push(file.number);
        if file.number == 666 {
            return Err(Error::Corruption {
                message: "bad block".into(),
            });
        }
        let entries = &self.tables[&file.number];
        let hit = entries.iter().find(|(k, _)| {
            compare_internal_keys(k, key.internal_key()) != std::cmp::Ordering::Less
        });
        Ok(match hit {
            Some((k, v)) if parse_internal_key(k).unwrap().user_key == key.user_key() => match v {
                Some(v) => LookupResult::Found(v.clone()),
                None => LookupResult::Deleted,
            },
            _ => LookupResult::NotFound,
        })
    }
}

fn table(number: u64, entries: &[(&str, u64, Option<&str>)]) -> (FileMetaData, Entries) {
    let mut e: Entries = entries
        .iter()
        .map(|(k, s, v)| {
            let kind = if v.is_some() {
                ValueKind::Value
            } else {
                ValueKind::Deletion
            };
            (
                internal_key(k.as_bytes(), *s, kind),
                v.map(|v| v.as_bytes().to_vec()),
            )
        })
        .collect();
    e.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
    let m = FileMetaData {
        number,
        file_size: 100,
        smallest: e[0].0.clone(),
        largest: e[e.len() - 1].0.clone(),
    };
    (m, e)
}

#[test]
fn get_probes_newest_first_and_stops_at_the_first_answer() {
    let specs = vec![
        (
            0,
            table(10, &[("a", 10, Some("a-old")), ("k", 11, Some("k-l0-old"))]),
        ),
        (
            0,
            table(12, &[("k", 20, Some("k-l0-new")), ("m", 21, None)]),
        ),
        (1, table(3, &[("b", 5, Some("b1")), ("c", 5, Some("c1"))])),
        (1, table(4, &[("m", 6, Some("m-l1")), ("p", 6, Some("p1"))])),
        (2, table(5, &[("q", 2, Some("q2")), ("z", 2, Some("z2"))])),
        (3, table(666, &[("zz", 1, Some("never"))])),
    ];
    let mut edit = VersionEdit::new();
    let mut tables = BTreeMap::new();
    for (level, (m, e)) in specs {
        tables.insert(m.number, e);
        edit.add_file(level, m).unwrap();
    }
    let v = build(Version::new(), &[edit]).unwrap();
    let t = Tables {
        tables,
        probes: RefCell::new(Vec::new()),
    };
    let get = |key: &str, seq: u64| {
        t.probes.borrow_mut().clear();
        let f = |m: &FileMetaData, k: &LookupKey| t.lookup(m, k);
        let r = v.get(&LookupKey::new(key.as_bytes(), seq), &f);
        (r, t.probes.borrow().clone())
    };
    // The newer level-0 file wins.
    let (r, probes) = get("k", 100);
    assert_eq!(r.unwrap(), LookupResult::Found(b"k-l0-new".to_vec()));
    assert_eq!(probes, vec![12]);
    // At an older sequence the newer file has nothing visible; the older one answers.
    let (r, probes) = get("k", 15);
    assert_eq!(r.unwrap(), LookupResult::Found(b"k-l0-old".to_vec()));
    assert_eq!(probes, vec![12, 10]);
    // A deletion in level 0 hides the value in level 1.
    let (r, probes) = get("m", 100);
    assert_eq!(r.unwrap(), LookupResult::Deleted);
    assert_eq!(probes, vec![12]);
    let (r, _) = get("m", 8);
    assert_eq!(r.unwrap(), LookupResult::Found(b"m-l1".to_vec()));
    // Deeper levels: one probe each, only of the file whose range holds the key.
    let (r, probes) = get("q", 100);
    assert_eq!(r.unwrap(), LookupResult::Found(b"q2".to_vec()));
    assert_eq!(probes, vec![5], "q is past level 1's last file");
    // A key in the gap between files of a level is not probed there.
    let (r, probes) = get("d", 100);
    assert_eq!(r.unwrap(), LookupResult::NotFound);
    assert_eq!(
        probes,
        vec![10],
        "L0 file 10 spans a..k; level 1's candidate (m..p) starts after d, so it is skipped"
    );
    // A key past every file: nothing to probe below level 0.
    let (r, probes) = get("zzz", 100);
    assert_eq!(r.unwrap(), LookupResult::NotFound);
    assert!(probes.is_empty());
    // A table error is returned, not turned into "not found".
    let (r, _) = get("zz", 100);
    assert!(matches!(r, Err(Error::Corruption { .. })));
}
