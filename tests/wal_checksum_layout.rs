//! The WAL's checksum follows the directory's layout (docs/wal-format.md): every WAL a
//! database writes carries CRC-32C, LevelDB's log format bit for bit, and a first-layout
//! directory (IEEE CRC-32 WALs and bases, no `CURRENT`) still opens and converts, including
//! after a crash at any step of its conversion — the one moment both layouts' WALs could meet.
#![allow(clippy::unwrap_used)]

mod crash;
mod fixture_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs, PowerLoss, SequentialFile};
use groupkv::log::{self, Checksum, Outcome};
use groupkv::{Options, WalRecoveryMode, WriteOptions, DB};

use crash::{options_on, CrashFs};

const DIR: &str = "/db";

/// The logical records of log `bytes` read with `checksum`, and whether any damage was met.
fn read_log(bytes: &[u8], checksum: Checksum) -> (Vec<Vec<u8>>, bool) {
    struct Bytes(Vec<u8>, usize);
    impl SequentialFile for Bytes {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let mut r = log::Reader::new(Box::new(Bytes(bytes.to_vec(), 0)), checksum);
    let (mut records, mut damaged, mut buf) = (Vec::new(), false, Vec::new());
    loop {
        match r.read_record(&mut buf).unwrap() {
            Outcome::Record { .. } => records.push(buf.clone()),
            Outcome::Damage(_) => damaged = true,
            Outcome::End => return (records, damaged),
        }
    }
}

fn wals(fs: &MemFs) -> Vec<PathBuf> {
    let mut names: Vec<String> = fs
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    names.into_iter().map(|n| Path::new(DIR).join(n)).collect()
}

/// A session's WAL (its marker and three writes, left by a crash) reads clean as CRC-32C and
/// is all damage as IEEE CRC-32: the database writes LevelDB's checksum, not the first layout's.
#[test]
fn a_databases_wal_carries_crc32c() {
    let fs = MemFs::new();
    let db = DB::open(DIR, options_on(Arc::new(fs.clone()))).unwrap();
    for i in 0..3u8 {
        db.put(&WriteOptions::synced(), &[b'k', i], b"v").unwrap();
    }
    crash::crash(db);
    fs.process_crash();
    let wal = wals(&fs);
    assert_eq!(wal.len(), 1, "{wal:?}");
    let bytes = fs.read(&wal[0]).unwrap();
    let (records, damaged) = read_log(&bytes, Checksum::Crc32c);
    assert!(!damaged, "the WAL reads clean as CRC-32C");
    assert_eq!(records.len(), 4, "the marker and three writes");
    let (records, damaged) = read_log(&bytes, Checksum::Crc32Ieee);
    assert!(
        damaged && records.is_empty(),
        "no record passes as IEEE CRC-32"
    );
    // And the database reopens with the three writes.
    let db = DB::open(DIR, options_on(Arc::new(fs.clone()))).unwrap();
    for i in 0..3u8 {
        assert_eq!(db.get(&[b'k', i]).unwrap().as_deref(), Some(&b"v"[..]));
    }
    db.close().unwrap();
}

/// The wave-1 fixture `name` (tests/fixtures/wave1) copied into a fresh `MemFs`, durably.
fn fixture_fs(name: &str) -> MemFs {
    fixture_support::load_into_memfs("wave1", name, Path::new(DIR))
}

fn get(db: &DB, k: &str) -> Option<String> {
    db.get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

/// The acknowledged contents of fixture `crashed` (WALs only: the conversion writes CURRENT
/// first) and of `base_then_wal` (a base and a WAL: CURRENT comes last), as tests/wave1_fixtures
/// checks them.
fn check(what: &str, name: &str, db: &DB) {
    match name {
        "crashed" => {
            for i in 0..50u32 {
                let want = match i {
                    7 => None,
                    10 => Some("overwritten".to_string()),
                    _ => Some(format!("w{i}")),
                };
                assert_eq!(get(db, &format!("a{i:03}")), want, "{what}: a{i:03}");
            }
        }
        _ => {
            for i in 0..40u32 {
                let want = match i {
                    0 => None,
                    1..=19 => Some(format!("first{i}")),
                    _ => Some(format!("second{i}")),
                };
                assert_eq!(get(db, &format!("b{i:03}")), want, "{what}: b{i:03}");
            }
        }
    }
}

fn options(fs: Arc<dyn FileSystem>, mode: WalRecoveryMode) -> Options {
    Options {
        wal_recovery_mode: mode,
        create_if_missing: false,
        ..options_on(fs)
    }
}

/// The conversion of a first-layout directory dies after each of its file-system operations in
/// turn (process crash, then power loss): the directory left always opens with every write, in
/// the recovery mode the fixture opens with and then under absolute consistency, and its WALs
/// are CRC-32C from then on. A WAL of the new layout never sits beside first-layout WALs that
/// would be read with its checksum, nor the reverse.
#[test]
fn a_crash_at_every_step_of_a_first_layout_conversion_leaves_a_directory_that_opens() {
    let mut points = 0;
    for name in ["crashed", "base_then_wal"] {
        for power_loss in [false, true] {
            let mut budget = 0;
            loop {
                let mem = fixture_fs(name);
                let cfs = CrashFs::new(mem.clone(), budget);
                let opened = DB::open(
                    DIR,
                    options(Arc::new(cfs.clone()), WalRecoveryMode::PointInTime),
                );
                let died = cfs.dead();
                match opened {
                    Ok(db) if !died => {
                        db.close().unwrap();
                        break;
                    }
                    Ok(db) => crash::crash(db),
                    Err(_) => assert!(died, "{name}: open failed with no crash"),
                }
                if power_loss {
                    mem.power_loss(PowerLoss::DropUnsynced);
                } else {
                    mem.process_crash();
                }
                let what =
                    format!("{name}, crash after {budget} operations, power loss {power_loss}");
                let fs: Arc<dyn FileSystem> = Arc::new(mem.clone());
                let db = DB::open(DIR, options(fs.clone(), WalRecoveryMode::PointInTime))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                check(&what, name, &db);
                db.put(&WriteOptions::synced(), b"after", b"conversion")
                    .unwrap();
                crash::crash(db);
                mem.process_crash();
                for wal in wals(&mem) {
                    let (records, damaged) = read_log(&mem.read(&wal).unwrap(), Checksum::Crc32c);
                    assert!(
                        !damaged && !records.is_empty(),
                        "{what}: {wal:?} is not CRC-32C"
                    );
                }
                let what = format!("{what}, reopened");
                let db = DB::open(DIR, options(fs, WalRecoveryMode::AbsoluteConsistency))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                check(&what, name, &db);
                assert_eq!(get(&db, "after").as_deref(), Some("conversion"), "{what}");
                db.close().unwrap();
                points += 1;
                budget += 1;
            }
        }
    }
    println!("first-layout conversion crash sweep: {points} crash points, 0 violations");
    assert!(points >= 20, "only {points} crash points");
}
