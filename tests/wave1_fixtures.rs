//! Directories written by the first layout (commit 6983a4f; `tests/fixtures/wave1/README.md`)
//! open with every acknowledged key. The fixtures are copied first: opening rewrites a
//! directory.
//!
//! A 6983a4f base has no empty final marker; issue 13's migration accepts it whole (a
//! first-layout base was renamed into place only once synced, so it is complete) and converts
//! the directory to tables, a MANIFEST and CURRENT (docs/RELIABILITY.md).
#![allow(clippy::unwrap_used)]

mod fixture_support;

use std::path::{Path, PathBuf};

use groupkv::{Options, WalRecoveryMode, DB};

fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    fixture_support::copy_to_disk("wave1", name)
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

/// Issue 13's migration policy: a first-layout base under its final name was synced before
/// its rename, so a base without the final marker (all 6983a4f wrote) is complete: the default
/// mode accepts it, and open converts the directory (tables, MANIFEST, CURRENT; the legacy
/// files gone), which then reopens with the same contents.
#[test]
fn first_layout_bases_are_accepted_and_the_directory_converted() {
    for (name, check) in [
        ("clean", check_clean as fn(&DB)),
        ("base_then_wal", check_base_then_wal),
    ] {
        let (_tmp, dir) = copy_fixture(name);
        let db = DB::open(&dir, options(WalRecoveryMode::PointInTime)).unwrap();
        check(&db);
        db.close().unwrap();
        let after: Vec<String> = files(&dir).into_keys().collect();
        assert!(
            after.iter().all(|n| !n.ends_with(".base")),
            "{name}: legacy base left: {after:?}"
        );
        assert!(after.contains(&"CURRENT".to_string()), "{name}: {after:?}");
        assert!(
            after.iter().any(|n| n.ends_with(".sst")),
            "{name}: no table: {after:?}"
        );
        assert!(
            after.iter().any(|n| n.starts_with("MANIFEST-")),
            "{name}: {after:?}"
        );
        let db = DB::open(&dir, options(WalRecoveryMode::AbsoluteConsistency)).unwrap();
        check(&db);
        db.close().unwrap();
    }
}
