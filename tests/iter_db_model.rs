//! The user's iterator against a model: random puts and deletes, spread over several
//! memtables, tables and a level of tables, merged and read at random sequences, must show
//! exactly what a `BTreeMap` of the newest visible write of each key shows — forward, reverse,
//! after seeks, seek_for_prev, direction switches, between random bounds.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::sync::Arc;

use groupkv::fs::MemFs;
use groupkv::iter::{DbIter, DbIterOptions, InternalIterator, MergingIterator};
use groupkv::table::{BlockReadOptions, LruBlockCache, TableCache, TableCacheOptions};
use groupkv::version::FileMetaData;
use iter_support::*;
use proptest::prelude::*;

/// Where a group of writes lives.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Mem,
    Table,
    Level,
}

#[derive(Debug, Clone)]
enum Action {
    First,
    Last,
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    Next,
    Prev,
}

/// Short keys over a small alphabet: shared prefixes, the empty key and 0xff are common.
fn user_key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 0xff]), 0..=3)
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        1 => Just(Action::First),
        1 => Just(Action::Last),
        2 => user_key().prop_map(Action::Seek),
        2 => user_key().prop_map(Action::SeekForPrev),
        5 => Just(Action::Next),
        5 => Just(Action::Prev),
    ]
}

/// The model cursor: an index into the visible entries.
struct Model {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    pos: Option<usize>,
}

impl Model {
    fn apply(&mut self, a: &Action) {
        let n = self.entries.len();
        self.pos = match a {
            Action::First => (n > 0).then_some(0),
            Action::Last => n.checked_sub(1),
            Action::Seek(t) => {
                let i = self.entries.partition_point(|(k, _)| k < t);
                (i < n).then_some(i)
            }
            Action::SeekForPrev(t) => self.entries.partition_point(|(k, _)| k <= t).checked_sub(1),
            Action::Next => self.pos.and_then(|p| (p + 1 < n).then_some(p + 1)),
            Action::Prev => self.pos.and_then(|p| p.checked_sub(1)),
        };
    }
}

struct Sources {
    mems: Vec<Arc<groupkv::memtable::MemTable>>,
    tables: Vec<FileMetaData>,
    levels: Vec<Vec<FileMetaData>>,
    cache: Arc<TableCache>,
}

impl Sources {
    fn merged(&self) -> MergingIterator<Box<dyn InternalIterator>> {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        for m in &self.mems {
            children.push(Box::new(m.iter()));
        }
        for t in &self.tables {
            children.push(table_iter(&self.cache, t, BlockReadOptions::default()).unwrap());
        }
        for l in &self.levels {
            children.push(Box::new(level_iter(&self.cache, l.clone())));
        }
        MergingIterator::new(children)
    }
}

fn build(ops: &[Op], groups: &[(Kind, usize)], block_size: usize) -> Sources {
    let fs = MemFs::new();
    let mut sources = Sources {
        mems: Vec::new(),
        tables: Vec::new(),
        levels: Vec::new(),
        cache: Arc::new(TableCache::new(
            Arc::new(fs.clone()),
            DIR,
            TableCacheOptions {
                // A small cache: tables are evicted and reopened during the walks.
                max_open_files: 13,
                block_cache: Some(Arc::new(LruBlockCache::new(4096))),
                ..TableCacheOptions::default()
            },
        )),
    };
    let mut number = 1;
    for (gi, &(kind, per_file)) in groups.iter().enumerate() {
        // Write i goes to group i % groups.len(): every group gets a mix of old and new.
        let mine: Vec<Op> = ops
            .iter()
            .enumerate()
            .filter(|(i, _)| i % groups.len() == gi)
            .map(|(_, o)| o.clone())
            .collect();
        match kind {
            Kind::Mem => sources.mems.push(memtable(&mine)),
            Kind::Table => {
                if !mine.is_empty() {
                    sources.tables.push(write_table(
                        &fs,
                        number,
                        &sorted_entries(&mine),
                        block_size,
                    ));
                    number += 1;
                }
            }
            Kind::Level => {
                let mut files = Vec::new();
                for run in split_level(&sorted_entries(&mine), per_file) {
                    files.push(write_table(&fs, number, &run, block_size));
                    number += 1;
                }
                sources.levels.push(files);
            }
        }
    }
    sources
}

fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        (
            user_key(),
            prop::option::weighted(0.75, prop::collection::vec(any::<u8>(), 0..12)),
        ),
        0..120,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (key, value))| Op {
                key,
                seq: i as u64 + 1,
                value,
            })
            .collect()
    })
}

fn group() -> impl Strategy<Value = (Kind, usize)> {
    (
        prop_oneof![Just(Kind::Mem), Just(Kind::Table), Just(Kind::Level)],
        1usize..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn db_iterator_matches_the_model(
        ops in ops_strategy(),
        groups in prop::collection::vec(group(), 1..6),
        block_size in prop::sample::select(vec![32usize, 128, 4096]),
        reads in prop::collection::vec((
            0u64..130,
            prop::option::of(user_key()),
            prop::option::of(user_key()),
            prop::collection::vec(action(), 1..40),
        ), 1..6),
    ) {
        let sources = build(&ops, &groups, block_size);
        for (seq, lower, upper, actions) in reads {
            let mut model = Model {
                entries: visible(&ops, seq, lower.as_deref(), upper.as_deref()),
                pos: None,
            };
            let mut it = DbIter::new(sources.merged(), DbIterOptions {
                sequence: seq,
                lower_bound: lower.clone(),
                upper_bound: upper.clone(),
            });
            for (step, a) in actions.iter().enumerate() {
                // Moves from an invalid position are no-ops for both.
                if matches!(a, Action::Next | Action::Prev) && model.pos.is_none() {
                    prop_assert!(!it.valid());
                    continue;
                }
                model.apply(a);
                match a {
                    Action::First => it.seek_to_first(),
                    Action::Last => it.seek_to_last(),
                    Action::Seek(t) => it.seek(t),
                    Action::SeekForPrev(t) => it.seek_for_prev(t),
                    Action::Next => it.next(),
                    Action::Prev => it.prev(),
                }
                prop_assert!(it.status().is_ok(), "{:?}", it.status());
                let want = model.pos.map(|p| model.entries[p].clone());
                let got = it.valid().then(|| (it.key().to_vec(), it.value().to_vec()));
                prop_assert_eq!(got, want, "read seq {} bounds {:?}..{:?}, step {} {:?}", seq, lower, upper, step, a);
            }
        }
    }
}

/// A whole forward and reverse walk of a larger data set with several versions per key, at
/// every tenth sequence, as the flush of a memtable into a level would leave it.
#[test]
fn full_walks_at_every_tenth_sequence() {
    let mut ops = Vec::new();
    let mut x = 17u64;
    for seq in 1..=2000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("key{:03}", x % 300).into_bytes();
        let value = (x % 5 != 0).then(|| format!("v{seq}").into_bytes());
        ops.push(Op { key, seq, value });
    }
    let sources = build(
        &ops,
        &[
            (Kind::Mem, 1),
            (Kind::Level, 40),
            (Kind::Table, 1),
            (Kind::Level, 100),
        ],
        256,
    );
    for seq in (0..=2000).step_by(10) {
        let want = visible(&ops, seq, None, None);
        let mut it = DbIter::new(
            sources.merged(),
            DbIterOptions {
                sequence: seq,
                ..DbIterOptions::default()
            },
        );
        let mut got = Vec::new();
        it.seek_to_first();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        assert!(it.status().is_ok());
        assert_eq!(got, want, "forward at {seq}");
        let mut back = Vec::new();
        it.seek_to_last();
        while it.valid() {
            back.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        back.reverse();
        assert_eq!(back, want, "reverse at {seq}");
    }
}
