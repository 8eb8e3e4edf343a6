//! Write stalls (RocksDB's `BeginWriteStall`/`EndWriteStall`), driven through the test hook:
//! while a stall is on, writers wait and `no_slowdown` writers fail at once with `Incomplete`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::MODES;
use groupkv::{Error, WriteOptions, DB};

fn no_slowdown() -> WriteOptions {
    WriteOptions {
        no_slowdown: true,
        ..WriteOptions::default()
    }
}

#[test]
fn stalled_writers_wait_and_no_slowdown_writers_fail() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), mode.options()).unwrap());
        db.put(&WriteOptions::default(), b"before", b"1").unwrap();
        db.set_write_stall_for_test(true);

        // The first writer leads, begins the stall and waits; the rest wait to join the queue.
        let (tx, rx) = mpsc::channel();
        let waiting: Vec<_> = (0..4)
            .map(|i| {
                let db = Arc::clone(&db);
                let tx = tx.clone();
                thread::spawn(move || {
                    let r = db.put(&WriteOptions::default(), format!("w{i}").as_bytes(), b"v");
                    tx.send(r.is_ok()).unwrap();
                })
            })
            .collect();
        // Give them time to queue; none may finish while the stall is on.
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "mode {}",
            mode.name
        );

        // A no_slowdown write fails at once instead of waiting.
        let err = db.put(&no_slowdown(), b"impatient", b"v").unwrap_err();
        assert!(matches!(err, Error::Incomplete { .. }), "{err:?}");
        assert_eq!(db.get(b"impatient").unwrap(), None);
        assert_eq!(
            db.get(b"w0").unwrap(),
            None,
            "nothing committed during the stall"
        );

        db.set_write_stall_for_test(false);
        for _ in 0..4 {
            assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        }
        for h in waiting {
            h.join().unwrap();
        }
        for i in 0..4 {
            assert_eq!(
                db.get(format!("w{i}").as_bytes()).unwrap(),
                Some(b"v".to_vec())
            );
        }
        assert!(
            db.stats().stall_micros >= 100_000,
            "{}",
            db.stats().stall_micros
        );
        db.put(&no_slowdown(), b"after", b"v").unwrap();
    }
}

#[test]
fn close_ends_a_stall() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(DB::open(dir.path(), groupkv::Options::default()).unwrap());
    db.set_write_stall_for_test(true);
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let db = Arc::clone(&db);
            thread::spawn(move || db.put(&WriteOptions::default(), &[i], b"v"))
        })
        .collect();
    thread::sleep(Duration::from_millis(50));
    db.close().unwrap();
    for h in writers {
        let r = h.join().unwrap();
        assert!(matches!(r, Err(Error::Closed)), "{r:?}");
    }
}
