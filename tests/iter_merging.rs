//! The merging iterator: the union of its children in internal-key order, step by step in
//! both directions, across direction switches and seeks, and an error in any child stops it.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::cmp::Ordering;

use groupkv::dbformat::{compare_internal_keys, internal_key, ValueKind};
use groupkv::iter::{InternalIterator, MergingIterator, VecIter};
use iter_support::*;
use proptest::prelude::*;

type Entry = (Vec<u8>, Vec<u8>);

#[derive(Debug, Clone)]
enum Action {
    First,
    Last,
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    Next,
    Prev,
}

fn ikey() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(prop::sample::select(vec![0u8, 1, 0xff]), 0..=3),
        0u64..20,
    )
        .prop_map(|(k, s)| internal_key(&k, s, ValueKind::Value))
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        1 => Just(Action::First),
        1 => Just(Action::Last),
        2 => ikey().prop_map(Action::Seek),
        2 => ikey().prop_map(Action::SeekForPrev),
        6 => Just(Action::Next),
        6 => Just(Action::Prev),
    ]
}

/// Model position in the sorted union after `a`.
fn model_step(all: &[Entry], pos: Option<usize>, a: &Action) -> Option<usize> {
    let n = all.len();
    match a {
        Action::First => (n > 0).then_some(0),
        Action::Last => n.checked_sub(1),
        Action::Seek(t) => {
            let i = all.partition_point(|(k, _)| compare_internal_keys(k, t) == Ordering::Less);
            (i < n).then_some(i)
        }
        Action::SeekForPrev(t) => all
            .partition_point(|(k, _)| compare_internal_keys(k, t) != Ordering::Greater)
            .checked_sub(1),
        Action::Next => pos.and_then(|p| (p + 1 < n).then_some(p + 1)),
        Action::Prev => pos.and_then(|p| p.checked_sub(1)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn merge_walks_the_sorted_union(
        keys in prop::collection::btree_set(ikey(), 0..80),
        owners in prop::collection::vec(0usize..6, 80),
        children in 1usize..6,
        actions in prop::collection::vec(action(), 1..60),
    ) {
        // Distinct internal keys, each in one child (as unique sequences make them).
        let mut parts: Vec<Vec<Entry>> = vec![Vec::new(); children];
        for (i, k) in keys.iter().enumerate() {
            parts[owners[i] % children].push((k.clone(), format!("v{i}").into_bytes()));
        }
        let mut all: Vec<Entry> = parts.iter().flatten().cloned().collect();
        all.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
        let mut it = MergingIterator::new(parts.into_iter().map(VecIter::new).collect());
        let mut pos = None;
        for (step, a) in actions.iter().enumerate() {
            pos = model_step(&all, pos, a);
            match a {
                Action::First => it.seek_to_first(),
                Action::Last => it.seek_to_last(),
                Action::Seek(t) => it.seek(t),
                Action::SeekForPrev(t) => it.seek_for_prev(t),
                Action::Next => it.next(),
                Action::Prev => it.prev(),
            }
            let got = it.valid().then(|| (it.key().to_vec(), it.value().to_vec()));
            prop_assert_eq!(got, pos.map(|p| all[p].clone()), "step {} {:?}", step, a);
            prop_assert!(it.status().is_ok());
        }
    }
}

fn entries(keys: &[&str], seq: u64) -> Vec<Entry> {
    keys.iter()
        .map(|k| {
            (
                internal_key(k.as_bytes(), seq, ValueKind::Value),
                k.as_bytes().to_vec(),
            )
        })
        .collect()
}

fn user_keys_forward(it: &mut impl InternalIterator) -> Vec<String> {
    let mut out = Vec::new();
    while it.valid() {
        out.push(String::from_utf8(it.value().to_vec()).unwrap());
        it.next();
    }
    out
}

#[test]
fn direction_switches_in_the_middle_land_on_neighbours() {
    let mut it = MergingIterator::new(vec![
        VecIter::new(entries(&["a", "d", "g"], 1)),
        VecIter::new(entries(&["b", "e", "h"], 2)),
        VecIter::new(entries(&["c", "f"], 3)),
        VecIter::new(Vec::new()),
    ]);
    it.seek(&internal_key(b"e", 9, ValueKind::Value));
    assert_eq!(it.value(), b"e");
    it.prev();
    assert_eq!(it.value(), b"d");
    it.prev();
    assert_eq!(it.value(), b"c");
    it.next();
    assert_eq!(it.value(), b"d");
    it.next();
    assert_eq!(it.value(), b"e");
    it.prev();
    assert_eq!(it.value(), b"d");
    assert_eq!(user_keys_forward(&mut it), ["d", "e", "f", "g", "h"]);
    it.seek_to_last();
    it.prev();
    it.prev();
    assert_eq!(it.value(), b"f");
    it.next();
    assert_eq!(it.value(), b"g");
}

#[test]
fn versions_of_one_user_key_come_newest_first_across_children() {
    let mut it = MergingIterator::new(vec![
        VecIter::new(vec![(
            internal_key(b"k", 5, ValueKind::Value),
            b"5".to_vec(),
        )]),
        VecIter::new(vec![(
            internal_key(b"k", 9, ValueKind::Deletion),
            Vec::new(),
        )]),
        VecIter::new(vec![(
            internal_key(b"k", 7, ValueKind::Value),
            b"7".to_vec(),
        )]),
    ]);
    it.seek_to_first();
    let mut seqs = Vec::new();
    while it.valid() {
        seqs.push(
            groupkv::dbformat::parse_internal_key(it.key())
                .unwrap()
                .sequence,
        );
        it.next();
    }
    assert_eq!(seqs, [9, 7, 5]);
}

#[test]
fn a_failing_child_stops_the_merge_with_its_error() {
    // The failing child holds every other key; it fails on its 6th move. The merge must not
    // go on with the healthy child alone (it would skip the failed child's keys silently).
    let healthy: Vec<Entry> = (0..20).step_by(2).map(entry).collect();
    let failing: Vec<Entry> = (1..20).step_by(2).map(entry).collect();
    let mut it: MergingIterator<Box<dyn InternalIterator>> = MergingIterator::new(vec![
        Box::new(VecIter::new(healthy)),
        Box::new(FailingIter::new(failing, 6)),
    ]);
    it.seek_to_first();
    let mut seen = Vec::new();
    while it.valid() {
        seen.push(it.key().to_vec());
        it.next();
    }
    assert!(it.status().is_err(), "the child's error must surface");
    // What was shown before the failure is a gap-free prefix of the union.
    let want: Vec<Vec<u8>> = (0..seen.len() as u32).map(|i| entry(i).0).collect();
    assert_eq!(seen, want);
    assert!(seen.len() < 20);
    // And it stays failed: seeks show nothing.
    it.seek_to_first();
    assert!(!it.valid());
    assert!(it.status().is_err());
}

#[test]
fn a_child_failing_during_a_direction_switch_stops_the_merge() {
    for fail_at in 2..8 {
        let mut it: MergingIterator<Box<dyn InternalIterator>> = MergingIterator::new(vec![
            Box::new(VecIter::new((0..10).step_by(2).map(entry).collect())),
            Box::new(FailingIter::new(
                (1..10).step_by(2).map(entry).collect(),
                fail_at,
            )),
        ]);
        it.seek_to_first();
        let mut moves = 0;
        while it.valid() && moves < 20 {
            if moves % 3 == 2 {
                it.prev();
            } else {
                it.next();
            }
            moves += 1;
        }
        assert!(!it.valid());
        assert!(it.status().is_err(), "fail_at {fail_at}");
    }
}

fn entry(i: u32) -> Entry {
    (
        internal_key(format!("k{i:03}").as_bytes(), 1, ValueKind::Value),
        i.to_le_bytes().to_vec(),
    )
}
