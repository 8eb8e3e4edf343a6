//! Sequence numbers stay below 2^56 (issue 11, defect 6).
//!
//! Before the fix, a well-formed WAL record whose batch started near 2^64 was replayed as is:
//! the counter wrapped, an acknowledged write became invisible and was lost at the next open.
//! Now replay refuses such a batch with `Corruption` naming the file and offset (salvage drops
//! it), and the engine refuses to hand out sequences that would reach 2^56 instead of wrapping.

use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::wal::Writer;
use groupkv::{Error, Options, WalRecoveryMode, WriteBatch, WriteOptions, DB};

const DIR: &str = "/db";
const LIMIT: u64 = 1 << 56;

fn open(fs: &MemFs, mode: WalRecoveryMode) -> groupkv::Result<DB> {
    DB::open(
        DIR,
        Options {
            file_system: Arc::new(fs.clone()),
            wal_recovery_mode: mode,
            ..Options::default()
        },
    )
}

/// A batch representation: sequence, count, then `puts` as Put records.
fn batch(sequence: u64, puts: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = WriteBatch::new();
    for (k, v) in puts {
        b.put(k, v).expect("put");
    }
    let mut rep = b.data().to_vec();
    rep[..8].copy_from_slice(&sequence.to_le_bytes());
    rep
}

/// A directory whose one WAL holds `records` (each a batch representation). Without
/// `CURRENT` it is of the first layout, whose WALs carry IEEE CRCs.
fn dir_with_wal(records: &[Vec<u8>]) -> MemFs {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new(DIR)).expect("mkdir");
    let file = fs
        .create(&Path::new(DIR).join("000001.log"))
        .expect("create");
    let mut w = Writer::with_checksum(file, groupkv::wal::format::FIRST_LAYOUT_CHECKSUM);
    for r in records {
        w.add_record(&[r]).expect("append");
    }
    w.sync().expect("sync");
    fs
}

#[test]
fn replay_refuses_a_batch_reaching_past_2_pow_56() {
    for first in [u64::MAX - 1, LIMIT - 1, LIMIT - 2, 1 << 60] {
        let records = [
            batch(1, &[(b"a", b"1")]),
            batch(first, &[(b"k", b"old"), (b"k2", b"x")]),
        ];
        for mode in WalRecoveryMode::ALL {
            let fs = dir_with_wal(&records);
            match open(&fs, mode) {
                Err(Error::Corruption { message })
                    if mode != WalRecoveryMode::SkipAnyCorruptedRecords =>
                {
                    assert!(
                        message.contains("000001.log") && message.contains("offset"),
                        "{mode}: the error names the file and offset: {message}"
                    );
                }
                Ok(db) if mode == WalRecoveryMode::SkipAnyCorruptedRecords => {
                    assert_eq!(db.get(b"a").expect("get").as_deref(), Some(&b"1"[..]));
                    assert_eq!(db.get(b"k").expect("get"), None, "the bad batch is dropped");
                    assert_eq!(db.latest_sequence(), 1);
                    db.put(&WriteOptions::synced(), b"k", b"new").expect("put");
                    db.close().expect("close");
                    let db = open(&fs, WalRecoveryMode::PointInTime).expect("reopen");
                    assert_eq!(db.get(b"k").expect("get").as_deref(), Some(&b"new"[..]));
                }
                Ok(db) => panic!(
                    "{mode}, sequence {first}: opened (latest_sequence {})",
                    db.latest_sequence()
                ),
                Err(e) => panic!("{mode}, sequence {first}: {e}"),
            }
        }
    }
}

#[test]
fn the_largest_valid_sequence_replays_and_then_writes_are_refused() {
    // Records at LIMIT - 3 and LIMIT - 2: the last sequence that may exist is LIMIT - 2.
    let fs = dir_with_wal(&[batch(LIMIT - 3, &[(b"k", b"v1"), (b"k", b"v2")])]);
    let db = open(&fs, WalRecoveryMode::PointInTime).expect("a batch ending below 2^56 - 1");
    assert_eq!(db.latest_sequence(), LIMIT - 2);
    assert_eq!(db.get(b"k").expect("get").as_deref(), Some(&b"v2"[..]));
    // One more write would take sequence 2^56 - 1: refused, not wrapped, and nothing changes.
    match db.put(&WriteOptions::synced(), b"k", b"v3") {
        Err(Error::InvalidArgument { message }) => {
            assert!(message.contains("sequence"), "{message}")
        }
        other => panic!("a write past the sequence limit: {other:?}"),
    }
    assert_eq!(db.get(b"k").expect("get").as_deref(), Some(&b"v2"[..]));
    assert_eq!(db.latest_sequence(), LIMIT - 2);
    db.close().expect("close");
    let db = open(&fs, WalRecoveryMode::AbsoluteConsistency).expect("reopen");
    assert_eq!(db.get(b"k").expect("get").as_deref(), Some(&b"v2"[..]));
}
