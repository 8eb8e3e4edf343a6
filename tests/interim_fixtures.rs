//! Directories written by the interim layout (commit 752bb61: `CURRENT`, a MANIFEST, tables,
//! and WALs checksummed with IEEE CRC-32; `tests/fixtures/interim/README.md`) open with every
//! key, after a clean close and after a crash that left writes in the WAL only. Each WAL's
//! checksum is decided from its first record (`src/db/interim.rs`). The fixtures are copied
//! first: opening rewrites a directory.
#![allow(clippy::unwrap_used)]

mod fixture_support;

use std::path::{Path, PathBuf};

use groupkv::{Options, WalRecoveryMode, WriteOptions, DB};

fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    fixture_support::copy_to_disk("interim", name)
}

fn options(mode: WalRecoveryMode) -> Options {
    Options {
        wal_recovery_mode: mode,
        create_if_missing: false,
        ..Options::default()
    }
}

// The keys and values `tests/fixtures/interim/make_fixture.rs` wrote.
fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: u32) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 17) as usize)).into_bytes()
}

fn check_all(db: &DB, what: &str) {
    for i in 0..300 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i)), "{what}: key {i}");
    }
    assert_eq!(db.get(&key(300)).unwrap(), None, "{what}");
}

/// Whether a file of `dir` whose name ends with `suffix` holds `needle`.
fn holds(dir: &Path, suffix: &str, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let e = e.unwrap();
        e.file_name().to_string_lossy().ends_with(suffix)
            && std::fs::read(e.path())
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
    })
}

#[test]
fn an_interim_directory_opens_with_every_key_after_a_clean_close_and_after_a_crash() {
    for name in ["closed", "crashed"] {
        for mode in [
            WalRecoveryMode::AbsoluteConsistency,
            WalRecoveryMode::TolerateCorruptedTailRecords,
            WalRecoveryMode::PointInTime,
            WalRecoveryMode::SkipAnyCorruptedRecords,
        ] {
            let (_tmp, dir) = copy_fixture(name);
            let db = DB::open(&dir, options(mode))
                .unwrap_or_else(|e| panic!("{name} under {mode:?}: {e}"));
            check_all(&db, &format!("{name} under {mode:?}"));
            // Converted: later sessions write CRC-32C WALs beside what was read.
            db.put(&WriteOptions::default(), b"after", b"conversion")
                .unwrap();
            db.close().unwrap();
            let db = DB::open(&dir, options(mode)).unwrap();
            check_all(&db, &format!("{name} reopened under {mode:?}"));
            assert_eq!(
                db.get(b"after").unwrap().as_deref(),
                Some(&b"conversion"[..])
            );
            db.close().unwrap();
            let quarantined = std::fs::read_dir(&dir)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".corrupt")
                })
                .count();
            assert_eq!(quarantined, 0, "{name} under {mode:?}: nothing quarantined");
        }
    }
}

#[test]
fn the_crashed_fixture_holds_keys_in_its_wal_only() {
    // Else the test above would not prove the WAL was read (tables are uncompressed).
    let (_tmp, dir) = copy_fixture("crashed");
    assert!(holds(&dir, ".log", &value(299)));
    assert!(!holds(&dir, ".sst", &value(299)));
    assert!(holds(&dir, ".sst", &value(100)));
}

#[test]
fn a_damaged_first_record_of_an_interim_wal_is_damage_not_a_layout() {
    let (_tmp, dir) = copy_fixture("crashed");
    let wal = dir.join("000005.log");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[8] ^= 0x01; // inside the marker's payload: neither checksum matches any more
    std::fs::write(&wal, &bytes).unwrap();
    let err = DB::open(&dir, options(WalRecoveryMode::AbsoluteConsistency))
        .map(|_| ())
        .expect_err("refused");
    assert!(matches!(err, groupkv::Error::Corruption { .. }), "{err:?}");
    assert_eq!(std::fs::read(&wal).unwrap(), bytes, "nothing changed");
}
