//! Directories written by the first layout (commit 6983a4f; `tests/fixtures/wave1/README.md`)
//! open with every acknowledged key. The fixtures are copied first: opening rewrites a
//! directory.
//!
//! Today's behaviour for its bases: a 6983a4f base has no empty final marker, so the default
//! mode refuses it as truncated (`Corruption` naming the base; docs/RELIABILITY.md, Limits)
//! and `skip_any_corrupted_records` replays it whole. The migration of issue 13 is to accept
//! those bases (a first-layout base was renamed into place only once synced) and convert the
//! directory; these expectations change with it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use groupkv::{Error, Options, WalRecoveryMode, DB};

fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wave1")
        .join(name);
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    (tmp, dst)
}

/// Every file but the LOCK (which any open creates), with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n != "LOCK")
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

fn options(mode: WalRecoveryMode) -> Options {
    Options {
        wal_recovery_mode: mode,
        create_if_missing: false,
        ..Options::default()
    }
}

fn get(db: &DB, k: &str) -> Option<String> {
    db.get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn check_crashed(db: &DB) {
    for i in 0..50u32 {
        let k = format!("a{i:03}");
        let want = match i {
            7 => None,
            10 => Some("overwritten".to_string()),
            _ => Some(format!("w{i}")),
        };
        assert_eq!(get(db, &k), want, "{k}");
    }
}

#[test]
fn a_crashed_first_layout_directory_opens_with_every_acknowledged_write() {
    let (_tmp, dir) = copy_fixture("crashed");
    let db = DB::open(&dir, options(WalRecoveryMode::PointInTime)).unwrap();
    check_crashed(&db);
    db.close().unwrap();
    let db = DB::open(&dir, options(WalRecoveryMode::AbsoluteConsistency)).unwrap();
    check_crashed(&db);
    db.close().unwrap();
}

fn check_clean(db: &DB) {
    for i in 0..100u32 {
        let k = format!("k{i:03}");
        let want = (i % 10 != 0).then(|| format!("v{i}"));
        assert_eq!(get(db, &k), want, "{k}");
    }
    assert_eq!(get(db, "nowal").as_deref(), Some("kept by close"));
}

fn check_base_then_wal(db: &DB) {
    for i in 0..40u32 {
        let k = format!("b{i:03}");
        let want = match i {
            0 => None,
            1..=19 => Some(format!("first{i}")),
            _ => Some(format!("second{i}")),
        };
        assert_eq!(get(db, &k), want, "{k}");
    }
}

#[test]
fn first_layout_bases_are_refused_by_default_and_salvaged_whole() {
    for (name, check) in [
        ("clean", check_clean as fn(&DB)),
        ("base_then_wal", check_base_then_wal),
    ] {
        let (_tmp, dir) = copy_fixture(name);
        let before = files(&dir);
        match DB::open(&dir, options(WalRecoveryMode::PointInTime)) {
            Err(Error::Corruption { message }) => {
                assert!(message.contains("000002.base"), "{name}: {message}")
            }
            other => panic!("{name}: expected Corruption naming the base, got {other:?}"),
        }
        assert!(
            before == files(&dir),
            "{name}: a refused open changes no file"
        );
        let db = DB::open(&dir, options(WalRecoveryMode::SkipAnyCorruptedRecords)).unwrap();
        check(&db);
        db.close().unwrap();
        // Salvaged into a new base: the default mode opens it now, with the same contents.
        let db = DB::open(&dir, options(WalRecoveryMode::PointInTime)).unwrap();
        check(&db);
        db.close().unwrap();
    }
}
