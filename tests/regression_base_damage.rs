//! A base is all or nothing (issue 11, defect 1).
//!
//! Before the fix, one flipped bit in a base made `point_in_time` (the default) open an empty
//! database: replay kept the base's records before the damage, dropped the next WAL (it "did
//! not continue the sequence") with its acknowledged synced write, wrote a new empty base and
//! deleted the damaged base and the WAL. Now damage anywhere in a base's records fails `open` with `Corruption` naming the file and offset
//! in every mode but `skip_any_corrupted_records`, and changes no file; salvage keeps what is
//! readable plus every WAL write, and keeps the damaged base as `<name>.corrupt`. No later open
//! reads or removes a quarantined file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::wal::format::HEADER_SIZE;
use groupkv::{Error, Options, WalRecoveryMode, WriteBatch, WriteOptions, DB};

const DIR: &str = "/db";
const KEYS: usize = 100;

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

fn key(i: usize) -> Vec<u8> {
    format!("key{i:03}").into_bytes()
}

/// Values end in a zero byte, the case the old tail heuristic also mistook for a torn write.
fn value(i: usize) -> Vec<u8> {
    let mut v = format!("value-{i}-").into_bytes();
    v.push(0);
    v
}

/// Every file of the directory with its contents.
fn snapshot(fs: &MemFs) -> BTreeMap<String, Vec<u8>> {
    fs.list(Path::new(DIR))
        .expect("list")
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let data = fs.read(&Path::new(DIR).join(&n)).expect("read");
            (n, data)
        })
        .collect()
}

/// A batch's bytes with its header's sequence set to `sequence`.
fn batch_at(batch: &WriteBatch, sequence: u64) -> Vec<u8> {
    let mut data = batch.data().to_vec();
    data[..8].copy_from_slice(&sequence.to_le_bytes());
    data
}

/// A record file (IEEE CRC-32 framing, as the first layout wrote) holding `records`.
fn write_records(fs: &MemFs, path: &Path, records: &[Vec<u8>]) {
    let mut w = groupkv::wal::Writer::with_checksum(
        fs.create(path).expect("create"),
        groupkv::wal::format::FIRST_LAYOUT_CHECKSUM,
    );
    for r in records {
        w.add_record(&[r]).expect("append");
    }
    w.sync().expect("sync");
}

/// Bases exist only in first-layout directories (a database writes tables and a MANIFEST
/// now), so the directory is assembled as the first layout left it after a clean close
/// (`000002.base`: every key in one record, then its final marker) and a crashed session
/// that made one synced write (`000003.log`: its marker, then the write). Returns the base's
/// path.
fn setup(fs: &MemFs) -> PathBuf {
    fs.create_dir_all(Path::new(DIR)).expect("mkdir");
    let mut all = WriteBatch::new();
    for i in 0..KEYS {
        all.put(&key(i), &value(i)).expect("put");
    }
    let next = KEYS as u64 + 1;
    let marker = batch_at(&WriteBatch::new(), next);
    let base = Path::new(DIR).join("000002.base");
    write_records(fs, &base, &[batch_at(&all, 1), marker.clone()]);
    let mut late = WriteBatch::new();
    late.put(b"late", b"acknowledged").expect("put");
    write_records(
        fs,
        &Path::new(DIR).join("000003.log"),
        &[marker, batch_at(&late, next)],
    );
    // The undamaged directory opens (and is converted) with every write.
    let copy = MemFs::new();
    copy.create_dir_all(Path::new(DIR)).expect("mkdir");
    for (n, data) in snapshot(fs) {
        let mut f = copy.create(&Path::new(DIR).join(n)).expect("create");
        f.append(&data).expect("append");
        f.sync().expect("sync");
    }
    let db = open(&copy, WalRecoveryMode::PointInTime).expect("an undamaged base opens");
    assert_eq!(db.get(&key(KEYS - 1)).expect("get"), Some(value(KEYS - 1)));
    assert_eq!(
        db.get(b"late").expect("get"),
        Some(b"acknowledged".to_vec())
    );
    db.close().expect("close");
    base
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Flip one bit at this offset.
    Flip(usize),
    /// Cut the file to this length.
    Cut(usize),
    /// Remove the final marker record (a truncation exactly at a record boundary).
    DropMarker,
}

fn damage(fs: &MemFs, base: &Path, d: Damage) {
    let mut bytes = fs.read(base).expect("read base");
    let end = records_end(&bytes);
    match d {
        Damage::Flip(at) => bytes[at.min(end - 1)] ^= 0x10,
        Damage::Cut(len) => bytes.truncate(len.min(end - 1)),
        Damage::DropMarker => {
            // The marker is the last record: a 12-byte batch in one FULL fragment.
            bytes.truncate(end - HEADER_SIZE - 12);
        }
    }
    fs.overwrite(base, bytes).expect("overwrite");
}

/// Where a base's records end (it is written with zeroed space allocated after them).
fn records_end(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos + HEADER_SIZE <= bytes.len() && bytes[pos..pos + HEADER_SIZE] != [0; HEADER_SIZE] {
        pos += HEADER_SIZE + usize::from(u16::from_le_bytes([bytes[pos + 4], bytes[pos + 5]]));
    }
    pos
}

fn damages() -> Vec<Damage> {
    vec![
        Damage::Flip(HEADER_SIZE + 12 + 10), // the first record's payload
        Damage::Flip(0),                     // its checksum
        Damage::Flip(4),                     // its length
        Damage::Flip(HEADER_SIZE + 3),       // the first batch's sequence
        Damage::Flip(900),                   // somewhere in the middle
        Damage::Flip(usize::MAX),            // the last byte of the records
        Damage::Cut(700),                    // a truncation inside a record
    ]
}

/// Issue 13's migration policy: a first-layout base without its final marker (as 6983a4f
/// wrote them) was synced before its rename, so it is complete and accepted whole, in every
/// mode, and the directory is converted.
#[test]
fn a_base_without_its_final_marker_is_accepted_whole() {
    for mode in [
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::TolerateCorruptedTailRecords,
    ] {
        let fs = MemFs::new();
        let base = setup(&fs);
        damage(&fs, &base, Damage::DropMarker);
        let db = open(&fs, mode).expect("accepted");
        for i in 0..KEYS {
            assert_eq!(db.get(&key(i)).expect("get"), Some(value(i)), "{mode}");
        }
        assert_eq!(
            db.get(b"late").expect("get"),
            Some(b"acknowledged".to_vec())
        );
        db.close().expect("close");
        let names: Vec<String> = snapshot(&fs).into_keys().collect();
        assert!(names.iter().all(|n| !n.contains(".base")), "{names:?}");
        assert!(names.contains(&"CURRENT".to_string()), "{names:?}");
    }
}

#[test]
fn a_damaged_base_is_refused_whole_and_nothing_changes() {
    for d in damages() {
        for mode in [
            WalRecoveryMode::TolerateCorruptedTailRecords,
            WalRecoveryMode::AbsoluteConsistency,
            WalRecoveryMode::PointInTime,
        ] {
            let fs = MemFs::new();
            let base = setup(&fs);
            damage(&fs, &base, d);
            let before = snapshot(&fs);
            match open(&fs, mode) {
                Ok(db) => panic!(
                    "{d:?} {mode}: opened with {:?} of {KEYS} keys and late = {:?}",
                    (0..KEYS)
                        .filter(|&i| db.get(&key(i)).ok().flatten().is_some())
                        .count(),
                    db.get(b"late")
                ),
                Err(Error::Corruption { message }) => {
                    let name = base.file_name().and_then(|n| n.to_str()).unwrap_or("?");
                    assert!(
                        message.contains(name) && message.contains("offset"),
                        "{d:?} {mode}: the error must name the file and offset: {message}"
                    );
                }
                Err(e) => panic!("{d:?} {mode}: expected Corruption, got {e}"),
            }
            assert_eq!(
                snapshot(&fs),
                before,
                "{d:?} {mode}: a refused open changed the directory"
            );
        }
    }
}

#[test]
fn salvage_keeps_every_wal_write_and_quarantines_the_base() {
    for d in damages() {
        let fs = MemFs::new();
        let base = setup(&fs);
        damage(&fs, &base, d);
        let damaged = fs.read(&base).expect("read");
        let db = open(&fs, WalRecoveryMode::SkipAnyCorruptedRecords)
            .unwrap_or_else(|e| panic!("{d:?}: salvage failed: {e}"));
        assert_eq!(
            db.get(b"late").expect("get").as_deref(),
            Some(&b"acknowledged"[..]),
            "{d:?}: the acknowledged synced write in the WAL was dropped"
        );
        let salvaged = (0..KEYS)
            .filter(|&i| {
                let got = db.get(&key(i)).expect("get");
                assert!(
                    got.is_none() || got == Some(value(i)),
                    "{d:?}: key {i} has a value never written"
                );
                got.is_some()
            })
            .count();
        // All keys fit one base record: damage in it loses them all, damage to the marker none.
        if matches!(d, Damage::DropMarker | Damage::Flip(usize::MAX)) {
            assert_eq!(salvaged, KEYS, "{d:?}: the intact record was not salvaged");
        }
        let quarantined = PathBuf::from(format!("{}.corrupt", base.display()));
        assert_eq!(
            fs.read(&quarantined).ok().as_ref(),
            Some(&damaged),
            "{d:?}: the damaged base must be kept, unchanged, as {}",
            quarantined.display()
        );
        assert!(fs.read(&base).is_err(), "{d:?}: the base is no longer live");
        db.close().expect("close");
        // A later open in the default mode neither reads nor removes the quarantined base.
        let db = open(&fs, WalRecoveryMode::PointInTime).expect("reopen");
        assert_eq!(
            db.get(b"late").expect("get").as_deref(),
            Some(&b"acknowledged"[..])
        );
        db.put(&WriteOptions::synced(), b"after", b"x")
            .expect("put");
        db.close().expect("close");
        assert_eq!(fs.read(&quarantined).ok().as_ref(), Some(&damaged), "{d:?}");
    }
}

/// A WAL that point-in-time recovery stopped in is kept too, as are the later WALs it dropped
/// because they did not continue the sequence.
#[test]
fn a_wal_recovery_stopped_in_is_quarantined_not_removed() {
    let fs = MemFs::new();
    let db = open(&fs, WalRecoveryMode::PointInTime).expect("create");
    for i in 0..5 {
        db.put(&WriteOptions::default(), &key(i), &value(i))
            .expect("put");
    }
    db.halt_background_work_for_test();
    std::mem::forget(db);
    fs.process_crash();
    let logs: Vec<String> = snapshot(&fs)
        .into_keys()
        .filter(|n| n.ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), 1);
    let wal = Path::new(DIR).join(&logs[0]);
    let mut bytes = fs.read(&wal).expect("read");
    // The fourth record's payload (after the WAL's marker and two writes): replay stops
    // after two writes.
    let mut pos = 0;
    for _ in 0..3 {
        pos += HEADER_SIZE + usize::from(u16::from_le_bytes([bytes[pos + 4], bytes[pos + 5]]));
    }
    bytes[pos + HEADER_SIZE + 13] ^= 1;
    fs.overwrite(&wal, bytes.clone()).expect("overwrite");
    let db = open(&fs, WalRecoveryMode::PointInTime).expect("point in time opens");
    assert!(db.get(&key(1)).expect("get").is_some());
    assert!(db.get(&key(2)).expect("get").is_none());
    db.close().expect("close");
    let kept = PathBuf::from(format!("{}.corrupt", wal.display()));
    assert_eq!(
        fs.read(&kept).ok(),
        Some(bytes),
        "the damaged WAL must be kept"
    );
}
