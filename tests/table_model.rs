//! Model test: a table built from a random sorted map reads back identically through `get`,
//! `seek`, `next` and `prev`, whatever the block size, restart interval, filter and
//! compression. The model is the sorted entry list; every answer is checked against it.
#![allow(clippy::unwrap_used)]
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use std::path::Path;
use std::sync::Arc;

use groupkv::dbformat::{compare_internal_keys, internal_key, LookupKey, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::table::{Compression, ReadOptions, Table, TableBuilder, TableOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Entry {
    user: Vec<u8>,
    seq: u64,
    delete: bool,
    value: Vec<u8>,
}

impl Entry {
    fn key(&self) -> Vec<u8> {
        let kind = if self.delete {
            ValueKind::Deletion
        } else {
            ValueKind::Value
        };
        internal_key(&self.user, self.seq, kind)
    }
}

fn user_key() -> impl Strategy<Value = Vec<u8>> {
    // A small alphabet, so keys share prefixes and user keys repeat with several versions.
    prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', b'b', 0xff]), 0..6)
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        user_key(),
        prop_oneof![0u64..8, 0u64..(1 << 56)],
        any::<bool>(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..20),
            prop::collection::vec(Just(b'z'), 0..600),
        ],
    )
        .prop_map(|(user, seq, delete, value)| Entry {
            user,
            seq,
            delete,
            value: if delete { Vec::new() } else { value },
        })
}

fn options() -> impl Strategy<Value = TableOptions> {
    (
        prop_oneof![Just(64usize), Just(256), 1usize..5000],
        1usize..20,
        prop_oneof![Just(None), (1u32..20).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(block_size, restart, bloom, snappy)| TableOptions {
            block_size,
            block_restart_interval: restart,
            bloom_bits_per_key: bloom,
            compression: if snappy {
                Compression::Snappy
            } else {
                Compression::None
            },
        })
}

#[derive(Debug, Clone)]
enum Step {
    Next,
    Prev,
}

fn build(entries: &[(Vec<u8>, Vec<u8>)], options: TableOptions) -> Arc<Table> {
    let fs = MemFs::new();
    let dir = Path::new("/m");
    fs.create_dir_all(dir).unwrap();
    let path = dir.join("000001.sst");
    let mut b = TableBuilder::new(options, fs.create(&path).unwrap(), "000001.sst");
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    b.finish().unwrap();
    let file = fs.open_random_access(&path).unwrap();
    let size = file.file_size().unwrap();
    Arc::new(Table::open(file, "000001.sst", size, ReadOptions::default()).unwrap())
}

/// The index of the first model entry at or after `target`.
fn lower_bound(model: &[(Vec<u8>, Vec<u8>)], target: &[u8]) -> usize {
    model.partition_point(|(k, _)| compare_internal_keys(k, target).is_lt())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn table_reads_back_its_map(
        raw in prop::collection::vec(entry(), 0..400),
        options in options(),
        probes in prop::collection::vec((user_key(), 0u64..10), 0..40),
        walks in prop::collection::vec(
            (user_key(), 0u64..10, prop::collection::vec(
                prop_oneof![Just(Step::Next), Just(Step::Prev)], 0..30)),
            0..10),
    ) {
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = raw.iter().map(|e| (e.key(), e.value.clone())).collect();
        model.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
        model.dedup_by(|a, b| a.0 == b.0);
        let table = build(&model, options);

        // Whole scans, both ways.
        let mut it = table.iter();
        it.seek_to_first().unwrap();
        for (k, v) in &model {
            prop_assert!(it.valid());
            prop_assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
            it.next().unwrap();
        }
        prop_assert!(!it.valid());
        it.seek_to_last().unwrap();
        for (k, v) in model.iter().rev() {
            prop_assert!(it.valid());
            prop_assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
            it.prev().unwrap();
        }
        prop_assert!(!it.valid());

        // Point lookups of present and absent keys at several sequences.
        let present = raw.iter().map(|e| (e.user.clone(), e.seq));
        for (user, seq) in probes.into_iter().chain(present.take(40)) {
            let lk = LookupKey::new(&user, seq);
            let want = model
                .get(lower_bound(&model, lk.internal_key()))
                .and_then(|(k, v)| {
                    let p = groupkv::dbformat::parse_internal_key(k).unwrap();
                    (p.user_key == &user[..]).then(|| (p.sequence, p.kind, v.clone()))
                });
            let got = table.get(&lk).unwrap().map(|e| (e.sequence, e.kind, e.value));
            prop_assert_eq!(got, want);
        }

        // Seeks followed by walks.
        for (user, seq, steps) in walks {
            let target = LookupKey::new(&user, seq);
            let mut pos = lower_bound(&model, target.internal_key());
            let mut it = table.iter();
            it.seek(target.internal_key()).unwrap();
            for step in steps {
                match model.get(pos) {
                    Some((k, v)) => {
                        prop_assert!(it.valid());
                        prop_assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
                    }
                    None => {
                        prop_assert!(!it.valid());
                        break;
                    }
                }
                match step {
                    Step::Next => { it.next().unwrap(); pos += 1; }
                    Step::Prev => {
                        it.prev().unwrap();
                        if pos == 0 {
                            prop_assert!(!it.valid());
                            break;
                        }
                        pos -= 1;
                    }
                }
            }
        }
    }
}
