//! Fuzzing on stable (proptest): `WriteBatch::from_data`, the WAL reader under every recovery
//! mode, and `DB::open` of a directory holding a fuzzed WAL. Inputs are arbitrary bytes and,
//! more usefully, valid encodings with random damage (bit flips, cuts, zeroed or duplicated
//! spans).
//!
//! Properties: nothing panics; every call returns (the reader makes progress); output is never
//! larger than the input; valid input round-trips; and no single allocation is larger than a
//! small multiple of the input — a length read from disk never sizes an allocation unchecked.
//! The last one is checked by this test binary's global allocator, which records the largest
//! allocation made on the thread while a parser runs.
//!
//! `GROUPKV_FUZZ_CASES` sets the cases per target (default 300; `make test` runs 2000,
//! `make fuzz` 200000).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs, SequentialFile};
use groupkv::log::Checksum;
use groupkv::wal::format::{BLOCK_SIZE, FIRST_LAYOUT_CHECKSUM, WAL_CHECKSUM};
use groupkv::wal::{Reader, Writer};
use groupkv::{Options, WalRecoveryMode, WriteBatch, DB};
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

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Cut(usize),
    Zero(usize, usize),
    Duplicate(usize, usize),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 0u8..8).prop_map(|(a, b)| Damage::Flip(a, b)),
            any::<usize>().prop_map(Damage::Cut),
            (any::<usize>(), 1usize..64).prop_map(|(a, n)| Damage::Zero(a, n)),
            (any::<usize>(), 1usize..64).prop_map(|(a, n)| Damage::Duplicate(a, n)),
        ],
        0..4,
    )
}

fn apply_damage(mut b: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        match *d {
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
        }
    }
    b
}

type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn ops() -> impl Strategy<Value = Ops> {
    prop::collection::vec(
        (
            prop::collection::vec(any::<u8>(), 0..20),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        ),
        0..12,
    )
}

fn batch_of(ops: &Ops) -> WriteBatch {
    let mut b = WriteBatch::new();
    for (k, v) in ops {
        match v {
            Some(v) => b.put(k, v).expect("put"),
            None => b.delete(k).expect("delete"),
        }
    }
    b
}

/// Parses `data` as a batch; checks the allocation bound and that whatever parses iterates.
fn check_batch(data: &[u8]) -> Result<(), TestCaseError> {
    let (parsed, largest) = largest_allocation(|| WriteBatch::from_data(data));
    prop_assert!(
        // The copy of the input, or an error message.
        largest <= data.len() + 1024,
        "from_data of {} bytes made a {largest}-byte allocation",
        data.len()
    );
    if let Ok(b) = parsed {
        prop_assert_eq!(b.data(), data);
        prop_assert_eq!(b.iter().count() as u64, u64::from(b.count()));
    }
    Ok(())
}

struct Bytes(Vec<u8>, usize);

impl SequentialFile for Bytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len() - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

const MODES: [WalRecoveryMode; 4] = [
    WalRecoveryMode::PointInTime,
    WalRecoveryMode::AbsoluteConsistency,
    WalRecoveryMode::TolerateCorruptedTailRecords,
    WalRecoveryMode::SkipAnyCorruptedRecords,
];

/// Reads every record of `log` under `mode`; checks progress and the allocation bound.
fn read_all(log: &[u8], mode: WalRecoveryMode) -> Result<Option<Vec<Vec<u8>>>, TestCaseError> {
    let input = log.to_vec();
    let (out, largest) = largest_allocation(|| {
        let mut r = Reader::new(Box::new(Bytes(input, 0)), "fuzz", mode);
        let mut records = Vec::new();
        let mut rec = Vec::new();
        let mut total = 0usize;
        // Each record consumes at least one header; more calls than that means no progress.
        for _ in 0..=log.len() / 7 + 2 {
            match r.read_record(&mut rec) {
                Ok(true) => {
                    total += rec.len();
                    records.push(rec.clone());
                }
                Ok(false) => return Ok((Some(records), total)),
                Err(_) => return Ok((None, total)),
            }
        }
        Err(())
    });
    let (records, total) = out.map_err(|()| TestCaseError::fail("the reader made no progress"))?;
    prop_assert!(
        total <= log.len(),
        "read {total} bytes of records from {} bytes",
        log.len()
    );
    // The reader's block buffer, plus records (and their copies here) no larger than the input.
    let bound = BLOCK_SIZE + 2 * log.len() + 1024;
    prop_assert!(
        largest <= bound,
        "a {largest}-byte allocation reading {} bytes",
        log.len()
    );
    Ok(records)
}

/// `records` framed as a log whose fragments carry `checksum`.
fn encode_log(records: &[Vec<u8>], checksum: Checksum) -> Vec<u8> {
    let m = MemFs::new();
    m.create_dir_all(Path::new("/x")).expect("mkdir");
    let mut w = Writer::with_checksum(m.create(Path::new("/x/f")).expect("create"), checksum);
    for r in records {
        w.add_record(&[r]).expect("add");
    }
    m.read(Path::new("/x/f")).expect("read")
}

fn records() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 0..200),
            1 => (0usize..3 * BLOCK_SIZE).prop_map(|n| vec![0x5a; n]),
        ],
        0..8,
    )
}

/// Runs one target for the configured number of cases and prints the figure.
fn fuzz<S: Strategy>(name: &str, strategy: S, f: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let executions = AtomicU64::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&strategy, |v| {
        executions.fetch_add(1, Relaxed);
        f(v)
    });
    let n = executions.load(Relaxed);
    println!(
        "fuzz {name}: {n} executions, {} failures",
        u32::from(result.is_err())
    );
    if let Err(e) = result {
        panic!("fuzz target {name} failed: {e}");
    }
    assert!(
        n >= u64::from(cases()),
        "fuzz target {name} ran only {n} cases"
    );
}

#[test]
fn fuzz_write_batch_from_arbitrary_bytes() {
    fuzz(
        "write_batch_from_arbitrary_bytes",
        prop::collection::vec(any::<u8>(), 0..512),
        |data| check_batch(&data),
    );
}

#[test]
fn fuzz_write_batch_from_damaged_valid_batches() {
    let strategy = (ops(), damage(), any::<u32>(), any::<bool>());
    fuzz(
        "write_batch_from_damaged_valid_batches",
        strategy,
        |(ops, d, count, set_count)| {
            let b = batch_of(&ops);
            check_batch(b.data())?;
            prop_assert!(
                WriteBatch::from_data(b.data()).is_ok(),
                "a valid batch must parse"
            );
            let mut bytes = apply_damage(b.data().to_vec(), &d);
            if set_count && bytes.len() >= 12 {
                // A huge declared count must not be trusted (e.g. to preallocate).
                bytes[8..12].copy_from_slice(&count.to_le_bytes());
            }
            check_batch(&bytes)
        },
    );
}

#[test]
fn fuzz_wal_reader_on_arbitrary_bytes() {
    fuzz(
        "wal_reader_on_arbitrary_bytes",
        prop::collection::vec(any::<u8>(), 0..4096),
        |data| {
            for mode in MODES {
                read_all(&data, mode)?;
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_wal_reader_on_damaged_valid_logs() {
    fuzz(
        "wal_reader_on_damaged_valid_logs",
        (records(), damage()),
        |(recs, d)| {
            let log = encode_log(&recs, WAL_CHECKSUM);
            for mode in MODES {
                let back = read_all(&log, mode)?;
                prop_assert_eq!(back.as_ref(), Some(&recs), "an intact log must round-trip");
            }
            let bad = apply_damage(log, &d);
            for mode in MODES {
                if let Some(back) = read_all(&bad, mode)? {
                    // Damage never invents a record (short of forging a 32-bit CRC).
                    for r in &back {
                        prop_assert!(
                            recs.contains(r),
                            "the reader returned a record never written"
                        );
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_open_a_directory_with_a_damaged_wal() {
    fuzz(
        "open_a_directory_with_a_damaged_wal",
        (prop::collection::vec(ops(), 1..6), damage(), 0usize..4),
        |(ops, d, mode)| {
            let mut seq = 1u64;
            let recs: Vec<Vec<u8>> = ops
                .iter()
                .map(|o| {
                    let b = batch_of(o);
                    let mut data = b.data().to_vec();
                    data[..8].copy_from_slice(&seq.to_le_bytes());
                    seq += u64::from(b.count());
                    data
                })
                .collect();
            // A directory without CURRENT is of the first layout: its WALs carry IEEE CRCs.
            let log = apply_damage(encode_log(&recs, FIRST_LAYOUT_CHECKSUM), &d);
            let mem = MemFs::new();
            mem.create_dir_all(Path::new("/db")).expect("mkdir");
            let mut f = mem.create(Path::new("/db/000001.log")).expect("create");
            f.append(&log).expect("append");
            let opened = DB::open(
                "/db",
                Options {
                    wal_recovery_mode: MODES[mode],
                    file_system: Arc::new(mem.clone()),
                    ..Options::default()
                },
            );
            match opened {
                Ok(db) => db.close().map_err(|e| TestCaseError::fail(e.to_string())),
                Err(groupkv::Error::Corruption { .. }) => Ok(()),
                Err(e) => Err(TestCaseError::fail(format!("open failed with {e}"))),
            }
        },
    );
}

/// The allocation bound above is only as good as the tracker: it must see allocations made
/// inside the measured call, and none outside it.
#[test]
fn allocation_tracker_sees_allocations() {
    let (v, largest) = largest_allocation(|| vec![1u8; 1 << 20]);
    assert!(largest >= 1 << 20, "tracker missed a 1 MiB allocation");
    drop(v);
    let big = vec![0u8; 4 << 20];
    let ((), largest) = largest_allocation(|| {});
    assert_eq!(
        largest, 0,
        "tracker recorded an allocation made outside the call"
    );
    drop(big);
}
