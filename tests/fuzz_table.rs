//! Fuzzing the table format on stable (proptest): blocks and whole tables from arbitrary bytes
//! and, more usefully, valid tables with random damage (bit flips, cuts, zeroed, duplicated or
//! random spans), opened with checksums verified and not.
//!
//! Properties: nothing panics; every walk ends (each step moves through a finite table); no
//! single allocation is larger than a small multiple of the input (a length read from the file
//! never sizes a buffer unchecked; this test binary's global allocator measures it); and with
//! checksums verified, damage never invents an entry: what a damaged table yields was in the
//! table that was written.
//!
//! `GROUPKV_FUZZ_CASES` sets the cases per target (default 300; `make test-reliability`, part
//! of `make test`, runs 10000; `make fuzz` 200000).
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use groupkv::dbformat::{compare_internal_keys, internal_key, LookupKey, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::table::block::{bytewise, Block};
use groupkv::table::block_builder::BlockBuilder;
use groupkv::table::format::{BlockHandle, Footer};
use groupkv::table::{Compression, ReadOptions, Table, TableBuilder, TableOptions};
use proptest::prelude::*;

#[path = "common/tracking_alloc.rs"]
mod tracking_alloc;
use tracking_alloc::{largest_allocation, Tracking};

#[global_allocator]
static ALLOC: Tracking = Tracking;

fn cases() -> u32 {
    std::env::var("GROUPKV_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Cut(usize),
    Zero(usize, usize),
    Duplicate(usize, usize),
    Random(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    prop::collection::vec(
        prop_oneof![
            3 => (any::<usize>(), 0u8..8).prop_map(|(a, b)| Damage::Flip(a, b)),
            1 => any::<usize>().prop_map(Damage::Cut),
            1 => (any::<usize>(), 1usize..64).prop_map(|(a, n)| Damage::Zero(a, n)),
            1 => (any::<usize>(), 1usize..64).prop_map(|(a, n)| Damage::Duplicate(a, n)),
            1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(a, b)| Damage::Random(a, b)),
        ],
        1..4,
    )
}

fn apply_damage(mut b: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        match d {
            Damage::Flip(at, bit) => b[at % len] ^= 1 << bit,
            Damage::Cut(at) => b.truncate(at % len),
            Damage::Zero(at, n) => {
                let s = at % len;
                let e = (s + n).min(len);
                b[s..e].fill(0);
            }
            Damage::Duplicate(at, n) => {
                let s = at % len;
                let e = (s + n).min(len);
                let span = b[s..e].to_vec();
                b.splice(e..e, span);
            }
            Damage::Random(at, bytes) => {
                let s = at % len;
                let e = (s + bytes.len()).min(len);
                b[s..e].copy_from_slice(&bytes[..e - s]);
            }
        }
    }
    b
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn entries() -> impl Strategy<Value = Entries> {
    prop::collection::vec(
        (
            prop::collection::vec(prop::sample::select(vec![0u8, b'a', b'b', 0xff]), 0..8),
            0u64..1000,
            any::<bool>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..40),
                (0usize..3000).prop_map(|n| vec![b'q'; n]),
            ],
        ),
        0..120,
    )
    .prop_map(|raw| {
        let mut out: Entries = raw
            .into_iter()
            .map(|(user, seq, del, value)| {
                let kind = if del {
                    ValueKind::Deletion
                } else {
                    ValueKind::Value
                };
                (internal_key(&user, seq, kind), value)
            })
            .collect();
        out.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    })
}

fn options() -> impl Strategy<Value = TableOptions> {
    (64usize..2048, 1usize..17, any::<bool>(), any::<bool>()).prop_map(
        |(block_size, restart, bloom, snappy)| TableOptions {
            block_size,
            block_restart_interval: restart,
            bloom_bits_per_key: bloom.then_some(10),
            compression: if snappy {
                Compression::Snappy
            } else {
                Compression::None
            },
        },
    )
}

fn encode_table(entries: &Entries, options: TableOptions) -> Vec<u8> {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("/f")).expect("mkdir");
    let path = Path::new("/f/000001.sst");
    let mut b = TableBuilder::new(options, fs.create(path).expect("create"), "000001.sst");
    for (k, v) in entries {
        b.add(k, v).expect("add");
    }
    b.finish().expect("finish");
    fs.read(path).expect("read")
}

/// What reading a (possibly damaged) table yielded.
#[derive(Debug, Default)]
struct Seen {
    /// Entries the forward and backward walks and the seeks produced.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Values `get` returned, with their keys' user keys.
    gets: Vec<(Vec<u8>, Vec<u8>)>,
    /// The table opened and every walk ended without an error.
    clean: bool,
}

/// Opens `bytes` as a table and walks it every way; `Err` if a walk does not end.
fn read_table(bytes: &[u8], verify: bool, probes: &[Vec<u8>]) -> Result<Seen, String> {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("/f")).expect("mkdir");
    let path = Path::new("/f/t.sst");
    fs.create(path)
        .expect("create")
        .append(bytes)
        .expect("append");
    let file = fs.open_random_access(path).expect("open");
    let options = ReadOptions {
        verify_checksums: verify,
        ..ReadOptions::default()
    };
    let mut seen = Seen::default();
    let Ok(table) = Table::open(file, "t.sst", bytes.len() as u64, options) else {
        return Ok(seen);
    };
    let table = Arc::new(table);
    // Entries are at least 3 bytes of some block; an index may name one block many times.
    let limit = (bytes.len() * 32 + 100).pow(2) / 3 + 100;
    let mut clean = true;
    let mut it = table.iter();
    let mut steps = 0usize;
    let mut r = it.seek_to_first();
    while r.is_ok() && it.valid() {
        seen.entries.push((it.key().to_vec(), it.value().to_vec()));
        steps += 1;
        if steps > limit {
            return Err("forward walk did not end".into());
        }
        r = it.next();
    }
    clean &= r.is_ok();
    steps = 0;
    let mut r = it.seek_to_last();
    while r.is_ok() && it.valid() {
        seen.entries.push((it.key().to_vec(), it.value().to_vec()));
        steps += 1;
        if steps > limit {
            return Err("backward walk did not end".into());
        }
        r = it.prev();
    }
    clean &= r.is_ok();
    for p in probes {
        let lk = LookupKey::new(p, 500);
        match it.seek(lk.internal_key()) {
            Ok(()) if it.valid() => seen.entries.push((it.key().to_vec(), it.value().to_vec())),
            Ok(()) => {}
            Err(_) => clean = false,
        }
        match table.get(&lk) {
            Ok(Some(e)) => seen.gets.push((p.clone(), e.value)),
            Ok(None) => {}
            Err(_) => clean = false,
        }
    }
    seen.clean = clean;
    Ok(seen)
}

/// Reads with the allocation bound checked.
fn checked_read(bytes: &[u8], verify: bool, probes: &[Vec<u8>]) -> Result<Seen, TestCaseError> {
    let (seen, largest) = largest_allocation(|| read_table(bytes, verify, probes));
    let seen = seen.map_err(TestCaseError::fail)?;
    // A Snappy block may expand up to 32 times; copies of entries are smaller than blocks.
    let bound = 32 * bytes.len() + 64 * 1024;
    prop_assert!(
        largest <= bound,
        "a {largest}-byte allocation reading a {}-byte table",
        bytes.len()
    );
    Ok(seen)
}

/// Runs one target for the configured number of cases and prints the figure.
fn fuzz<S: Strategy>(name: &str, strategy: S, f: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let executions = AtomicU64::new(0);
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |v| {
        executions.fetch_add(1, Relaxed);
        f(v)
    });
    let n = executions.load(Relaxed);
    println!(
        "fuzz table {name}: {n} cases, {} panics or failures",
        u32::from(result.is_err())
    );
    if let Err(e) = result {
        panic!("fuzz target table {name} failed: {e}");
    }
    assert!(
        n >= u64::from(cases()),
        "fuzz target {name} ran only {n} cases"
    );
}

fn probes() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop::collection::vec(prop::sample::select(vec![0u8, b'a', b'b', 0xff]), 0..8),
        0..6,
    )
}

#[test]
fn fuzz_table_from_arbitrary_bytes() {
    fuzz(
        "from_arbitrary_bytes",
        (
            prop::collection::vec(any::<u8>(), 0..4096),
            prop::option::of((any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>())),
            probes(),
        ),
        |(mut data, footer, probes)| {
            if let Some((a, b, c, d)) = footer {
                // A valid footer whose handles point into the random bytes (mostly), so the
                // block parsers see them.
                let len = data.len() as u64 + 1;
                let h = |o: u64, n: u64| BlockHandle {
                    offset: if o % 8 == 0 { o } else { o % len },
                    size: if n % 8 == 0 { n } else { n % len },
                };
                data.extend(
                    Footer {
                        metaindex: h(a, b),
                        index: h(c, d),
                    }
                    .encode(),
                );
            }
            checked_read(&data, true, &probes)?;
            checked_read(&data, false, &probes)?;
            Ok(())
        },
    );
}

#[test]
fn fuzz_table_from_damaged_valid_tables() {
    fuzz(
        "from_damaged_valid_tables",
        (entries(), options(), damage(), probes()),
        |(entries, options, d, probes)| {
            let table = encode_table(&entries, options);
            let intact = checked_read(&table, true, &probes)?;
            prop_assert!(intact.clean, "an intact table must read without errors");
            prop_assert_eq!(intact.entries.len() >= 2 * entries.len(), true);
            let bad = apply_damage(table, &d);
            let written: HashSet<&(Vec<u8>, Vec<u8>)> = entries.iter().collect();
            let seen = checked_read(&bad, true, &probes)?;
            for e in &seen.entries {
                prop_assert!(
                    written.contains(e),
                    "a damaged table yielded an entry never written"
                );
            }
            for (user, value) in &seen.gets {
                prop_assert!(
                    entries
                        .iter()
                        .any(|(k, v)| k.starts_with(user) && v == value),
                    "get returned a value never written"
                );
            }
            checked_read(&bad, false, &probes)?;
            Ok(())
        },
    );
}

#[test]
fn fuzz_block_from_damaged_and_arbitrary_bytes() {
    let block_bytes = (
        prop::collection::vec(
            (
                prop::collection::vec(any::<u8>(), 0..12),
                prop::collection::vec(any::<u8>(), 0..12),
            ),
            0..60,
        ),
        1usize..17,
    )
        .prop_map(|(mut kvs, restart)| {
            kvs.sort();
            kvs.dedup_by(|a, b| a.0 == b.0);
            let mut b = BlockBuilder::new(restart);
            for (k, v) in &kvs {
                assert!(b.add(k, v));
            }
            b.finish().to_vec()
        });
    let input = prop_oneof![
        block_bytes.clone(),
        (block_bytes, damage()).prop_map(|(b, d)| apply_damage(b, &d)),
        prop::collection::vec(any::<u8>(), 0..512),
    ];
    fuzz(
        "block_from_damaged_and_arbitrary_bytes",
        (
            input,
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..6),
        ),
        |(bytes, targets)| {
            let len = bytes.len();
            let ((), largest) = largest_allocation(|| {
                let Ok(block) = Block::new(bytes, "fuzz") else {
                    return;
                };
                let block = Arc::new(block);
                let mut it = block.iter(bytewise);
                let mut steps = 0;
                let mut r = it.seek_to_first();
                while r.is_ok() && it.valid() {
                    steps += 1;
                    assert!(steps <= len, "forward walk did not end");
                    r = it.next();
                }
                steps = 0;
                let mut r = it.seek_to_last();
                while r.is_ok() && it.valid() {
                    steps += 1;
                    assert!(steps <= len, "backward walk did not end");
                    r = it.prev();
                }
                for t in &targets {
                    let _ = it.seek(t);
                }
            });
            prop_assert!(
                largest <= 2 * len + 1024,
                "a {largest}-byte allocation for {len} bytes"
            );
            Ok(())
        },
    );
}
