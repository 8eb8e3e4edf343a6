//! Opening, locking, closing and reopening: the `DB` contract around the write path.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;

use groupkv::{Error, Options, WalRecoveryMode, WriteBatch, WriteOptions, DB};

fn opts() -> Options {
    Options::default()
}

#[test]
fn db_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DB>();
    assert_send_sync::<Error>();
}

#[test]
fn create_if_missing_and_error_if_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let no_create = Options {
        create_if_missing: false,
        ..opts()
    };
    let e = DB::open(&path, no_create.clone()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert!(e.to_string().contains("create_if_missing"), "{e}");

    let db = DB::open(&path, opts()).unwrap();
    db.put(&WriteOptions::default(), b"k", b"v").unwrap();
    db.close().unwrap();

    let e = DB::open(
        &path,
        Options {
            error_if_exists: true,
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    let db = DB::open(&path, no_create).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_second_opener_gets_busy_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), opts()).unwrap();
    let e = DB::open(dir.path(), opts()).unwrap_err();
    assert!(matches!(e, Error::Busy { .. }), "{e}");
    assert!(e.to_string().contains("locked"), "{e}");
    db.close().unwrap();
    DB::open(dir.path(), opts()).unwrap();
}

#[test]
fn an_empty_path_is_rejected_clearly() {
    let e = DB::open("", opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert!(e.to_string().contains("path is empty"), "{e}");
}

#[test]
fn a_file_is_not_a_database_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let e = DB::open(&file, opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
}

#[test]
fn bad_options_and_write_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0, u64::from(u32::MAX) + 1] {
        let e = DB::open(
            dir.path(),
            Options {
                max_write_batch_group_size_bytes: size,
                ..opts()
            },
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    }
    let db = DB::open(dir.path(), opts()).unwrap();
    let e = db
        .put(
            &WriteOptions {
                sync: true,
                disable_wal: true,
                ..Default::default()
            },
            b"k",
            b"v",
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert_eq!(db.get(b"k").unwrap(), None);
    assert_eq!(
        "point_in_time".parse::<WalRecoveryMode>().unwrap(),
        WalRecoveryMode::PointInTime
    );
    assert!("nonsense".parse::<WalRecoveryMode>().is_err());
}

#[test]
fn close_is_idempotent_and_later_calls_fail_with_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = DB::open(dir.path(), opts()).unwrap();
    db.put(&WriteOptions::default(), b"k", b"v").unwrap();
    db.close().unwrap();
    db.close().unwrap();
    assert!(matches!(db.get(b"k"), Err(Error::Closed)));
    assert!(matches!(
        db.put(&WriteOptions::default(), b"k", b"v"),
        Err(Error::Closed)
    ));
    assert!(matches!(
        db.write(&WriteOptions::default(), &WriteBatch::new()),
        Err(Error::Closed)
    ));
}

#[test]
fn drop_closes_and_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = DB::open(dir.path(), opts()).unwrap();
        db.put(&WriteOptions::default(), b"k", b"v").unwrap();
    }
    let db = DB::open(dir.path(), opts()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn disable_wal_writes_survive_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let no_wal = WriteOptions {
        disable_wal: true,
        ..Default::default()
    };
    let db = DB::open(dir.path(), opts()).unwrap();
    db.put(&WriteOptions::default(), b"logged", b"1").unwrap();
    db.put(&no_wal, b"unlogged", b"2").unwrap();
    db.delete(&no_wal, b"logged").unwrap();
    assert_eq!(db.stats().write_with_wal, 1);
    db.close().unwrap();
    let db = DB::open(dir.path(), opts()).unwrap();
    assert_eq!(db.get(b"unlogged").unwrap(), Some(b"2".to_vec()));
    assert_eq!(db.get(b"logged").unwrap(), None);
}

#[test]
fn recovery_continues_the_sequence_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut last = 0;
    for round in 0..12u64 {
        let db = DB::open(dir.path(), opts()).unwrap();
        assert_eq!(db.latest_sequence(), last, "round {round}");
        for i in 0..round {
            assert_eq!(
                db.get(format!("r{i}").as_bytes()).unwrap(),
                Some(i.to_string().into_bytes()),
                "round {round}: r{i}"
            );
        }
        let mut b = WriteBatch::new();
        b.put(format!("r{round}").as_bytes(), round.to_string().as_bytes())
            .unwrap();
        b.put(b"scratch", b"x").unwrap();
        b.delete(b"scratch").unwrap();
        db.write(&WriteOptions::default(), &b).unwrap();
        last += 3;
        assert_eq!(db.latest_sequence(), last);
        if round % 3 == 0 {
            db.close().unwrap();
        } else {
            // Dropped without an explicit close: same as close.
            drop(db);
        }
    }
    // Each open flushes what it replayed and deletes the WALs and MANIFESTs it replaces:
    // besides level-0 tables (no compaction yet), only LOCK, CURRENT, one MANIFEST and one
    // WAL remain.
    let others: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".sst"))
        .collect();
    assert!(others.len() <= 4, "{others:?}");
}

#[test]
fn close_racing_writers_never_loses_an_acknowledged_write() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), opts()).unwrap());
        let writers: Vec<_> = (0..8)
            .map(|t| {
                let db = Arc::clone(&db);
                thread::spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..10_000 {
                        let k = format!("{t}-{i}");
                        match db.put(&WriteOptions::default(), k.as_bytes(), b"v") {
                            Ok(()) => acked.push(k),
                            Err(Error::Closed) => break,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    acked
                })
            })
            .collect();
        thread::sleep(std::time::Duration::from_millis(2));
        db.close().unwrap();
        let acked: Vec<String> = writers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        drop(db);
        let db = DB::open(dir.path(), opts()).unwrap();
        for k in &acked {
            assert_eq!(db.get(k.as_bytes()).unwrap(), Some(b"v".to_vec()), "{k}");
        }
    }
}
