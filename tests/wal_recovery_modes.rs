//! Recovery of a damaged WAL by `DB::open`, under each of RocksDB's four recovery modes.
//!
//! The database lives on `MemFs`. Each test writes puts, "crashes" (the process dies: every
//! byte the OS accepted stays, the LOCK is released), damages the WAL file, and reopens:
//!
//! * tolerate_corrupted_tail_records: a torn tail is dropped silently; a checksum mismatch
//!   mid-file fails `open` with `Corruption`;
//! * absolute_consistency: any damage fails `open`;
//! * point_in_time: the recovered state is exactly the writes before the damage, and a later
//!   WAL is replayed only if its first sequence continues the recovered one;
//! * skip_any_corrupted_records: damaged records are dropped, the others kept.
//!
//! After every successful recovery the sequence continues: a new write is visible, has the
//! next sequence number, and survives another reopen.

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use groupkv::fs::{Fault, FaultKind, FileSystem, MemFs};
use groupkv::wal::format::{BLOCK_SIZE, FIRST_LAYOUT_CHECKSUM, HEADER_SIZE, WAL_CHECKSUM};
use groupkv::wal::Reader;
use groupkv::{Error, Options, WalRecoveryMode, WriteOptions, DB};

use WalRecoveryMode::{
    AbsoluteConsistency, PointInTime, SkipAnyCorruptedRecords, TolerateCorruptedTailRecords,
};

const DIR: &str = "/db";
/// Keys are "kNN"; with this value size one put is one WAL record that fills one block
/// exactly (12-byte group header, tag, 1-byte key length, key, 3-byte value length, value).
const VALUE_LEN: usize = BLOCK_SIZE - HEADER_SIZE - (12 + 1 + 1 + 3 + 3);

fn options(fs: &MemFs, mode: WalRecoveryMode) -> Options {
    Options {
        file_system: Arc::new(fs.clone()),
        wal_recovery_mode: mode,
        ..Options::default()
    }
}

fn open(fs: &MemFs, mode: WalRecoveryMode) -> groupkv::Result<DB> {
    DB::open(DIR, options(fs, mode))
}

fn key(i: usize) -> Vec<u8> {
    format!("k{i:02}").into_bytes()
}

fn value(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 7 + j % 251) as u8).collect()
}

/// The process dies with `db` open: nothing is closed or synced, the OS keeps what it has.
fn crash(db: DB, fs: &MemFs) {
    db.halt_background_work_for_test();
    std::mem::forget(db);
    fs.process_crash();
}

fn logs(fs: &MemFs) -> Vec<PathBuf> {
    let mut names: Vec<String> = fs
        .list(Path::new(DIR))
        .expect("list")
        .into_iter()
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    names.into_iter().map(|n| Path::new(DIR).join(n)).collect()
}

/// The start offset of every record in a WAL file.
fn record_offsets(fs: &MemFs, path: &Path) -> Vec<u64> {
    let file = fs.open_sequential(path).expect("open WAL");
    let mut r = Reader::new(file, "wal", AbsoluteConsistency);
    let mut buf = Vec::new();
    let mut offsets = Vec::new();
    while r.read_record(&mut buf).expect("an undamaged WAL") {
        offsets.push(r.last_record_offset());
    }
    offsets
}

/// A fresh database holding puts `k00..k{n-1}` (sequences 1..=n), one block-sized WAL record
/// each, left by a crash. Returns its one WAL.
fn crashed_db(fs: &MemFs, n: usize) -> PathBuf {
    let db = open(fs, PointInTime).expect("create");
    for i in 0..n {
        db.put(&WriteOptions::default(), &key(i), &value(i, VALUE_LEN))
            .expect("put");
    }
    assert_eq!(db.latest_sequence(), n as u64);
    crash(db, fs);
    let wals = logs(fs);
    assert_eq!(wals.len(), 1);
    strip_marker(fs, &wals[0]);
    let offsets = record_offsets(fs, &wals[0]);
    let expected: Vec<u64> = (0..n as u64).map(|i| i * BLOCK_SIZE as u64).collect();
    assert_eq!(offsets, expected, "one block per record");
    wals[0].clone()
}

/// Rewrites an undamaged WAL without the marker it starts with (an empty batch carrying the
/// next sequence), so that its writes lie one per block from offset 0, where these tests
/// damage them. A WAL whose first record is a write is replayed as before markers existed
/// (the marker's continuity rule has its own tests: `regression_unsynced_retired_wal`).
fn strip_marker(fs: &MemFs, path: &Path) {
    let file = fs.open_sequential(path).expect("open WAL");
    let mut r = Reader::new(file, "wal", AbsoluteConsistency);
    let mut records = Vec::new();
    let mut buf = Vec::new();
    while r.read_record(&mut buf).expect("an undamaged WAL") {
        records.push(buf.clone());
    }
    assert!(
        records
            .first()
            .is_some_and(|m| m.len() == 12 && m[8..12] == [0; 4]),
        "every WAL starts with its marker"
    );
    fs.remove_file(path).expect("remove");
    let mut w = groupkv::wal::Writer::new(fs.create(path).expect("create"));
    for rec in &records[1..] {
        w.add_record(&[rec]).expect("append");
    }
    w.sync().expect("sync");
}

/// Where the records of a WAL end: at the end of the file, or at the zeroed space its writer
/// allocated after them.
fn log_end(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        let left = BLOCK_SIZE - pos % BLOCK_SIZE;
        if left < HEADER_SIZE {
            pos += left;
            continue;
        }
        if bytes.len() - pos < HEADER_SIZE || bytes[pos..pos + HEADER_SIZE] == [0; HEADER_SIZE] {
            return pos;
        }
        pos += HEADER_SIZE + usize::from(u16::from_le_bytes([bytes[pos + 4], bytes[pos + 5]]));
    }
    pos.min(bytes.len())
}

fn truncate(fs: &MemFs, path: &Path, len: usize) {
    let mut b = fs.read(path).expect("read");
    b.truncate(len);
    fs.overwrite(path, b).expect("overwrite");
}

fn flip(fs: &MemFs, path: &Path, at: usize) {
    let mut b = fs.read(path).expect("read");
    b[at] ^= 0x40;
    fs.overwrite(path, b).expect("overwrite");
}

/// Asserts that exactly the keys in `present` (of `0..n`) hold their values.
fn assert_state(db: &DB, n: usize, present: &[usize], value_len: usize) {
    for i in 0..n {
        let got = db.get(&key(i)).expect("get");
        if present.contains(&i) {
            assert_eq!(
                got.as_deref(),
                Some(&value(i, value_len)[..]),
                "k{i:02} recovered"
            );
        } else {
            assert_eq!(got, None, "k{i:02} must not be recovered");
        }
    }
}

/// The sequence continues after recovery: a new write gets `last + 1`, is visible, and
/// survives a clean close and another open (under the same mode); so does the recovered state.
fn assert_continues(fs: &MemFs, mode: WalRecoveryMode, db: DB, n: usize, present: &[usize]) {
    let last = db.latest_sequence();
    db.put(&WriteOptions::synced(), b"new", b"after recovery")
        .expect("write after recovery");
    assert_eq!(db.latest_sequence(), last + 1);
    assert_eq!(
        db.get(b"new").expect("get").as_deref(),
        Some(&b"after recovery"[..])
    );
    db.close().expect("close");
    let db = open(fs, mode).expect("reopen after recovery");
    assert_eq!(db.latest_sequence(), last + 1, "{mode}: sequence survives");
    assert_eq!(
        db.get(b"new").expect("get").as_deref(),
        Some(&b"after recovery"[..])
    );
    assert_state(&db, n, present, VALUE_LEN);
    db.close().expect("close");
}

fn expect_corruption(result: groupkv::Result<DB>, what: &str) -> String {
    match result {
        Err(Error::Corruption { message }) => message,
        Err(e) => panic!("{what}: expected Corruption, got {e}"),
        Ok(_) => panic!("{what}: open succeeded on a damaged WAL"),
    }
}

const N: usize = 10;

// ---------------------------------------------------------------------------------------------
// A torn tail: the last record is cut in the middle.

fn torn_tail() -> (MemFs, PathBuf) {
    let fs = MemFs::new();
    let wal = crashed_db(&fs, N);
    truncate(&fs, &wal, (N - 1) * BLOCK_SIZE + 100);
    (fs, wal)
}

#[test]
fn tolerate_drops_a_torn_tail_silently() {
    let (fs, _) = torn_tail();
    let db = open(&fs, TolerateCorruptedTailRecords).expect("a torn tail is tolerated");
    assert_eq!(db.latest_sequence(), (N - 1) as u64);
    let present: Vec<usize> = (0..N - 1).collect();
    assert_state(&db, N, &present, VALUE_LEN);
    assert_continues(&fs, TolerateCorruptedTailRecords, db, N, &present);
}

#[test]
fn absolute_rejects_a_torn_tail() {
    let (fs, wal) = torn_tail();
    let before = fs.read(&wal).expect("read");
    let msg = expect_corruption(open(&fs, AbsoluteConsistency), "torn tail");
    assert!(msg.contains("TruncatedRecord"), "{msg}");
    assert!(msg.contains("absolute_consistency"), "{msg}");
    // A failed open changes nothing and releases the LOCK: another mode can still salvage.
    assert_eq!(fs.read(&wal).expect("read"), before);
    let db = open(&fs, PointInTime).expect("point in time salvages");
    assert_eq!(db.latest_sequence(), (N - 1) as u64);
}

#[test]
fn point_in_time_recovers_the_prefix_before_a_torn_tail() {
    let (fs, _) = torn_tail();
    let db = open(&fs, PointInTime).expect("open");
    assert_eq!(db.latest_sequence(), (N - 1) as u64);
    let present: Vec<usize> = (0..N - 1).collect();
    assert_state(&db, N, &present, VALUE_LEN);
    assert_continues(&fs, PointInTime, db, N, &present);
}

#[test]
fn skip_any_drops_a_torn_tail() {
    let (fs, _) = torn_tail();
    let db = open(&fs, SkipAnyCorruptedRecords).expect("open");
    assert_eq!(db.latest_sequence(), (N - 1) as u64);
    let present: Vec<usize> = (0..N - 1).collect();
    assert_state(&db, N, &present, VALUE_LEN);
    assert_continues(&fs, SkipAnyCorruptedRecords, db, N, &present);
}

// ---------------------------------------------------------------------------------------------
// A flipped byte mid-file: record 3 (sequence 4) fails its checksum.

const DAMAGED: usize = 3;

fn flipped_mid_file() -> (MemFs, PathBuf) {
    let fs = MemFs::new();
    let wal = crashed_db(&fs, N);
    flip(&fs, &wal, DAMAGED * BLOCK_SIZE + 5_000);
    (fs, wal)
}

#[test]
fn tolerate_fails_on_a_mid_file_checksum_mismatch() {
    let (fs, wal) = flipped_mid_file();
    let before = fs.read(&wal).expect("read");
    let msg = expect_corruption(open(&fs, TolerateCorruptedTailRecords), "flipped byte");
    assert!(msg.contains("ChecksumMismatch"), "{msg}");
    assert!(
        msg.contains(&format!("offset {}", DAMAGED * BLOCK_SIZE)),
        "{msg}"
    );
    let name = wal.file_name().and_then(|n| n.to_str()).expect("a name");
    assert!(msg.contains(name), "names the file: {msg}");
    assert!(
        msg.contains("open with wal_recovery_mode point_in_time"),
        "says what to do: {msg}"
    );
    assert_eq!(fs.read(&wal).expect("read"), before, "open changed nothing");
}

#[test]
fn absolute_fails_on_a_mid_file_checksum_mismatch() {
    let (fs, _) = flipped_mid_file();
    let msg = expect_corruption(open(&fs, AbsoluteConsistency), "flipped byte");
    assert!(msg.contains("ChecksumMismatch"), "{msg}");
}

#[test]
fn point_in_time_stops_before_a_mid_file_checksum_mismatch() {
    let (fs, _) = flipped_mid_file();
    let db = open(&fs, PointInTime).expect("open");
    assert_eq!(db.latest_sequence(), DAMAGED as u64);
    let present: Vec<usize> = (0..DAMAGED).collect();
    assert_state(&db, N, &present, VALUE_LEN);
    // The damage was folded into a base: the intact records after it never come back, and
    // the new writes take their sequence numbers.
    assert_continues(&fs, PointInTime, db, N, &present);
}

#[test]
fn skip_any_drops_only_the_damaged_record() {
    let (fs, _) = flipped_mid_file();
    let db = open(&fs, SkipAnyCorruptedRecords).expect("open");
    assert_eq!(db.latest_sequence(), N as u64);
    let present: Vec<usize> = (0..N).filter(|&i| i != DAMAGED).collect();
    assert_state(&db, N, &present, VALUE_LEN);
    assert_continues(&fs, SkipAnyCorruptedRecords, db, N, &present);
}

#[test]
fn undamaged_wal_opens_in_every_mode() {
    for mode in WalRecoveryMode::ALL {
        let fs = MemFs::new();
        crashed_db(&fs, N);
        let db = open(&fs, mode).expect("clean WAL");
        assert_eq!(db.latest_sequence(), N as u64, "{mode}");
        let all: Vec<usize> = (0..N).collect();
        assert_state(&db, N, &all, VALUE_LEN);
        assert_continues(&fs, mode, db, N, &all);
    }
}

#[test]
fn a_record_that_is_not_a_batch_is_damage() {
    // A record with a valid checksum whose payload is not a write batch (shorter than the
    // 12-byte header; RocksDB's "log record too small"), after two good records.
    for mode in WalRecoveryMode::ALL {
        let fs = MemFs::new();
        let wal = crashed_db(&fs, 2);
        let mut bytes = fs.read(&wal).expect("read");
        bytes.truncate(log_end(&bytes));
        let payload = [1u8, 2, 3];
        let mut rec = vec![0u8; HEADER_SIZE];
        rec[4..6].copy_from_slice(&(payload.len() as u16).to_le_bytes());
        rec[6] = 1; // FULL
        rec.extend_from_slice(&payload);
        let crc = groupkv::wal::format::record_crc(&rec[6..]);
        rec[..4].copy_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(&rec);
        fs.overwrite(&wal, bytes).expect("overwrite");

        match mode {
            TolerateCorruptedTailRecords | AbsoluteConsistency => {
                let msg = expect_corruption(open(&fs, mode), "not a batch");
                assert!(msg.contains("BadBatch"), "{mode}: {msg}");
            }
            _ => {
                let db = open(&fs, mode).expect("open");
                assert_eq!(db.latest_sequence(), 2, "{mode}");
                assert_state(&db, 2, &[0, 1], VALUE_LEN);
                assert_continues(&fs, mode, db, 2, &[0, 1]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Point in time across WAL files.
//
// Every open flushes the WALs it replayed into a table before it starts a new WAL, so the
// database itself never leaves two WALs of different sessions side by side. The reader's rule
// for that layout still matters (a first-layout directory, or copied by hand), so these tests
// assemble it from real session WALs: the database is made to write each session, and then
// the directory is rebuilt to hold exactly those WALs, as a first-layout directory (no
// MANIFEST, CURRENT or table), which open replays with the same rules.

/// `wal` (a session's WAL: CRC-32C) as a first-layout directory holds it: every fragment whose
/// CRC-32C matches gets its IEEE CRC-32 instead, byte for byte otherwise, so what was intact
/// stays intact and what was damaged (a torn tail, zeros) stays damaged.
fn as_first_layout(wal: &[u8]) -> Vec<u8> {
    let mut out = wal.to_vec();
    let mut block = 0;
    while block < out.len() {
        let end = (block + BLOCK_SIZE).min(out.len());
        let mut p = block;
        while p + HEADER_SIZE <= end {
            let len = usize::from(u16::from_le_bytes([out[p + 4], out[p + 5]]));
            let next = p + HEADER_SIZE + len;
            if next > end {
                break;
            }
            let stored = u32::from_le_bytes([out[p], out[p + 1], out[p + 2], out[p + 3]]);
            let body = &out[p + 6..next];
            if stored == WAL_CHECKSUM.record_crc(body) {
                let ieee = FIRST_LAYOUT_CHECKSUM.record_crc(body);
                out[p..p + 4].copy_from_slice(&ieee.to_le_bytes());
            }
            p = next;
        }
        block += BLOCK_SIZE;
    }
    out
}

/// Replaces the directory's contents (but its LOCK) with `wals` (re-checksummed for the first
/// layout, see `as_first_layout`), as `000001.log`, `000002.log`, ...
fn rebuild_as_wals(fs: &MemFs, wals: &[Vec<u8>]) -> Vec<PathBuf> {
    for name in fs.list(Path::new(DIR)).expect("list") {
        if name != "LOCK" {
            fs.remove_file(&Path::new(DIR).join(name)).expect("remove");
        }
    }
    wals.iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = Path::new(DIR).join(format!("{:06}.log", i + 1));
            let mut f = fs.create(&path).expect("create");
            f.append(&as_first_layout(bytes)).expect("append");
            f.sync().expect("sync");
            path
        })
        .collect()
}

/// WAL 1 holds `k00..k04` (sequences 1-5); after a crash and reopen, WAL 2 holds `k05..k07`
/// (6-8); then another crash. Returns both WALs.
fn two_wals(fs: &MemFs, first_open: WalRecoveryMode) -> (PathBuf, PathBuf) {
    let wal1 = crashed_db(fs, 5);
    let first = fs.read(&wal1).expect("read");
    let db = open(fs, first_open).expect("reopen");
    assert_eq!(db.latest_sequence(), 5);
    for i in 5..8 {
        db.put(&WriteOptions::default(), &key(i), &value(i, VALUE_LEN))
            .expect("put");
    }
    crash(db, fs);
    let second = fs.read(logs(fs).last().expect("a WAL")).expect("read");
    let wals = rebuild_as_wals(fs, &[first, second]);
    (wals[0].clone(), wals[1].clone())
}

#[test]
fn point_in_time_drops_a_later_wal_that_does_not_continue() {
    let fs = MemFs::new();
    let (wal1, _) = two_wals(&fs, PointInTime);
    // Damage WAL 1 at k02: replay stops at sequence 2, and WAL 2 starts at 6, so replaying it
    // would leave a hole (3-5): it is dropped.
    flip(&fs, &wal1, 2 * BLOCK_SIZE + 100);
    let db = open(&fs, PointInTime).expect("open");
    assert_eq!(db.latest_sequence(), 2);
    assert_state(&db, 8, &[0, 1], VALUE_LEN);
    // The dropped WAL stays dropped: new writes reuse sequences 3.., and no later open
    // resurrects k05..k07.
    assert_continues(&fs, PointInTime, db, 8, &[0, 1]);
}

/// WAL 1's fifth write was torn (a short write, then the process died); the next open
/// (tolerate mode: silently) recovered k00..k03, so WAL 2 holds k05..k07 at sequences 5-7,
/// continuing exactly. Then another crash.
fn torn_then_continued(fs: &MemFs) {
    let db = open(fs, PointInTime).expect("create");
    for i in 0..4 {
        db.put(&WriteOptions::default(), &key(i), &value(i, VALUE_LEN))
            .expect("put");
    }
    fs.inject(Fault {
        kind: FaultKind::Append,
        nth: fs.count(FaultKind::Append) + 1,
        errno: libc::EIO,
        persistent: false,
        partial: true,
    });
    let torn = db.put(&WriteOptions::default(), &key(4), &value(4, VALUE_LEN));
    assert!(matches!(torn, Err(Error::Io { .. })), "{torn:?}");
    crash(db, fs);
    let wal1 = logs(fs)[0].clone();
    let first = fs.read(&wal1).expect("read");
    // Half of the fifth record reached the file; after it, the space allocated ahead (zeros).
    // The records follow the WAL's 19-byte marker, so each is framed into two fragments,
    // 32,775 bytes (one header more than a block); the fifth starts after the marker and four
    // of them, and the short write kept half of it.
    let start = 19 + 4 * (BLOCK_SIZE + HEADER_SIZE);
    let half = start + (BLOCK_SIZE + HEADER_SIZE) / 2;
    assert!(
        first.len() >= half && first[half - 1] != 0 && first[half..].iter().all(|&b| b == 0),
        "half of the fifth record reached the file"
    );

    let db = open(fs, TolerateCorruptedTailRecords).expect("tolerated");
    assert_eq!(db.latest_sequence(), 4);
    for i in 5..8 {
        db.put(&WriteOptions::default(), &key(i), &value(i, VALUE_LEN))
            .expect("put");
    }
    assert_eq!(db.latest_sequence(), 7);
    crash(db, fs);
    let second = fs.read(logs(fs).last().expect("a WAL")).expect("read");
    rebuild_as_wals(fs, &[first, second]);
}

#[test]
fn point_in_time_replays_a_later_wal_that_continues() {
    let fs = MemFs::new();
    torn_then_continued(&fs);
    // Point in time stops at WAL 1's torn record (sequence 5 would be next) and WAL 2 starts
    // at exactly 5: no hole, so it is replayed.
    let db = open(&fs, PointInTime).expect("open");
    assert_eq!(db.latest_sequence(), 7);
    let present = [0, 1, 2, 3, 5, 6, 7];
    assert_state(&db, 8, &present, VALUE_LEN);
    assert_continues(&fs, PointInTime, db, 8, &present);
}

#[test]
fn a_torn_tail_in_an_older_wal_under_the_other_modes() {
    let present = [0, 1, 2, 3, 5, 6, 7];
    for mode in [TolerateCorruptedTailRecords, SkipAnyCorruptedRecords] {
        // The torn tail ends WAL 1; replay goes on with WAL 2.
        let fs = MemFs::new();
        torn_then_continued(&fs);
        let db = open(&fs, mode).expect("open");
        assert_eq!(db.latest_sequence(), 7, "{mode}");
        assert_state(&db, 8, &present, VALUE_LEN);
        assert_continues(&fs, mode, db, 8, &present);
    }
    let fs = MemFs::new();
    torn_then_continued(&fs);
    let msg = expect_corruption(open(&fs, AbsoluteConsistency), "torn older WAL");
    assert!(
        // A torn record followed by the space allocated after it (or by the end of the file).
        msg.contains("000001.log")
            && (msg.contains("ZeroedTail") || msg.contains("TruncatedRecord")),
        "{msg}"
    );
}

#[test]
fn skip_any_keeps_later_wals_after_damage() {
    let fs = MemFs::new();
    let (wal1, _) = two_wals(&fs, PointInTime);
    flip(&fs, &wal1, 2 * BLOCK_SIZE + 100);
    let db = open(&fs, SkipAnyCorruptedRecords).expect("open");
    assert_eq!(db.latest_sequence(), 8);
    let present = [0, 1, 3, 4, 5, 6, 7];
    assert_state(&db, 8, &present, VALUE_LEN);
    assert_continues(&fs, SkipAnyCorruptedRecords, db, 8, &present);
}

#[test]
fn tolerate_and_absolute_fail_on_damage_in_an_older_wal() {
    for mode in [TolerateCorruptedTailRecords, AbsoluteConsistency] {
        let fs = MemFs::new();
        let (wal1, _) = two_wals(&fs, PointInTime);
        flip(&fs, &wal1, 2 * BLOCK_SIZE + 100);
        let msg = expect_corruption(open(&fs, mode), "damaged older WAL");
        assert!(msg.contains("000001.log"), "{mode}: {msg}");
    }
}

#[test]
fn a_new_wal_is_started_at_every_open() {
    // groupkv never appends to a WAL written before the last open: each open folds the crashed
    // session's WAL into a durable base, then starts a new, empty WAL (whose directory entry is
    // synced), so a torn tail can only be at the end of a file.
    let fs = MemFs::new();
    let old = crashed_db(&fs, 2);
    let db = open(&fs, PointInTime).expect("open");
    let wals = logs(&fs);
    assert_eq!(wals.len(), 1, "{wals:?}");
    assert_ne!(wals[0], old, "the crashed session's WAL was folded away");
    // Nothing but its marker: a 7-byte header and an empty 12-byte batch.
    let marker = fs.read(&wals[0]).expect("read");
    assert_eq!(log_end(&marker), HEADER_SIZE + 12);
    assert_eq!(
        &marker[HEADER_SIZE..HEADER_SIZE + 8],
        &3u64.to_le_bytes(),
        "next sequence"
    );
    let before = log_end(&marker);
    db.put(&WriteOptions::default(), b"x", b"y").expect("put");
    assert!(log_end(&fs.read(&wals[0]).expect("read")) > before);
    db.close().expect("close");
    let db = open(&fs, AbsoluteConsistency).expect("reopen");
    assert_state(&db, 2, &[0, 1], VALUE_LEN);
    assert_eq!(db.get(b"x").expect("get"), Some(b"y".to_vec()));
}

// ---------------------------------------------------------------------------------------------
// Power loss: whatever was not synced is dropped or torn at a random byte.

#[test]
fn power_loss_recovers_a_prefix_that_keeps_every_synced_write() {
    use groupkv::fs::PowerLoss;

    const WRITES: usize = 12;
    const SYNCED: usize = 6; // writes 0..6 are synced (the 6th write syncs the WAL)
    let small = |i: usize| value(i, 100 + 37 * i);
    // Outcomes seen, so that the allowances below are known to be exercised.
    let (mut refused_absolute, mut refused_tolerate, mut kept_unsynced) = (0, 0, 0);
    for seed in 1..=40u64 {
        for how in [
            PowerLoss::DropUnsynced,
            PowerLoss::TearUnsynced { seed },
            PowerLoss::TearWithGarbage { seed },
        ] {
            for mode in WalRecoveryMode::ALL {
                let fs = MemFs::new();
                let db = open(&fs, PointInTime).expect("create");
                for i in 0..WRITES {
                    let w = WriteOptions {
                        sync: i + 1 == SYNCED,
                        ..WriteOptions::default()
                    };
                    db.put(&w, &key(i), &small(i)).expect("put");
                }
                db.halt_background_work_for_test();
                std::mem::forget(db);
                fs.power_loss(how);

                let at = format!("{mode}, {how:?}");
                let db = match open(&fs, mode) {
                    Ok(db) => db,
                    Err(Error::Corruption { message }) => {
                        // Only these modes may refuse, and tolerate only for garbage.
                        let refusal_allowed = mode == AbsoluteConsistency
                            || (mode == TolerateCorruptedTailRecords
                                && matches!(how, PowerLoss::TearWithGarbage { .. }));
                        assert!(refusal_allowed, "{at}: refused: {message}");
                        if mode == AbsoluteConsistency {
                            refused_absolute += 1;
                        } else {
                            refused_tolerate += 1;
                        }
                        continue;
                    }
                    Err(e) => panic!("{at}: {e}"),
                };
                // A prefix of the commit order that contains every synced write.
                let recovered = db.latest_sequence() as usize;
                assert!((SYNCED..=WRITES).contains(&recovered), "{at}: {recovered}");
                kept_unsynced += usize::from(recovered > SYNCED);
                for i in 0..WRITES {
                    let got = db.get(&key(i)).expect("get");
                    let want = (i < recovered).then(|| small(i));
                    assert_eq!(got, want, "{at}: k{i:02} with {recovered} recovered");
                }
                db.close().expect("close");
            }
        }
    }
    // (Tolerate refuses only when the flipped byte ends a whole record, which these seeds may
    // not hit; the mid-file cases above cover its refusal.)
    let seen = (refused_absolute, refused_tolerate, kept_unsynced);
    assert!(seen.0 > 0 && seen.2 > 0, "{seen:?}");
}
