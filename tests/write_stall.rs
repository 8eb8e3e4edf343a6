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

fn level0_options() -> groupkv::Options {
    groupkv::Options {
        write_buffer_size: 8 << 10,
        level0_file_num_compaction_trigger: 2,
        level0_slowdown_writes_trigger: 3,
        level0_stop_writes_trigger: 5,
        max_write_buffer_number: 3,
        ..groupkv::Options::default()
    }
}

/// Starts `n` writers putting `per` keys each (`w{t}-{i}`); each returns its first error.
fn storm(db: &Arc<DB>, n: usize, per: usize) -> Vec<thread::JoinHandle<groupkv::Result<()>>> {
    (0..n)
        .map(|t| {
            let db = Arc::clone(db);
            thread::spawn(move || {
                for i in 0..per {
                    db.put(
                        &WriteOptions::default(),
                        format!("w{t}-{i:05}").as_bytes(),
                        &[b'v'; 200],
                    )?;
                }
                Ok(())
            })
        })
        .collect()
}

/// Waits until level 0 plus the memtables waiting for flush reach `n`.
fn wait_for_level0_pressure(db: &DB, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = db.stats();
        if s.num_files_at_level[0] + s.immutable_memtables >= n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{s:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn level0_never_exceeds_the_stop_trigger_and_no_slowdown_writes_fail_there() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(DB::open(dir.path(), level0_options()).unwrap());
    // Compaction held: level 0 can only grow, up to the stop trigger.
    db.hold_compactions_for_test(true);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitor = {
        let db = Arc::clone(&db);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut max = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                max = max.max(db.stats().num_files_at_level[0]);
                thread::sleep(Duration::from_micros(200));
            }
            max
        })
    };
    let writers = storm(&db, 4, 1500);
    wait_for_level0_pressure(&db, 5);
    // Stopped: a no_slowdown write fails at once, and nothing more is committed.
    let err = db.put(&no_slowdown(), b"impatient", b"v").unwrap_err();
    assert!(matches!(err, Error::Incomplete { .. }), "{err:?}");
    let written = db.stats().keys_written;
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        db.stats().keys_written,
        written,
        "writes went on at the stop"
    );
    assert!(writers.iter().any(|w| !w.is_finished()));
    // Released, compaction drains level 0 and every writer finishes.
    db.hold_compactions_for_test(false);
    for w in writers {
        w.join().unwrap().unwrap();
    }
    db.flush().unwrap();
    done.store(true, std::sync::atomic::Ordering::Release);
    let max = monitor.join().unwrap();
    assert!(max <= 5, "level 0 reached {max} files (stop trigger 5)");
    let stats = db.stats();
    assert!(stats.stall_l0_stop_micros >= 300_000, "{stats:?}");
    assert!(stats.stall_micros >= stats.stall_l0_stop_micros);
    assert!(stats.compactions >= 1, "{stats:?}");
    for t in 0..4 {
        for i in (0..1500).step_by(97) {
            assert!(db.get(format!("w{t}-{i:05}").as_bytes()).unwrap().is_some());
        }
    }
    db.close().unwrap();
}

#[test]
fn level0_slowdown_delays_groups_and_refuses_no_slowdown_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(DB::open(dir.path(), level0_options()).unwrap());
    db.hold_compactions_for_test(true);
    // Three L0 tables: the slowdown trigger, below the stop.
    for round in 0..3u8 {
        db.put(&WriteOptions::default(), &[round], b"v").unwrap();
        db.flush().unwrap();
    }
    assert_eq!(db.stats().num_files_at_level[0], 3);
    let err = db.put(&no_slowdown(), b"impatient", b"v").unwrap_err();
    assert!(matches!(err, Error::Incomplete { .. }), "{err:?}");
    let start = std::time::Instant::now();
    for i in 0..20u8 {
        db.put(&WriteOptions::default(), &[b'k', i], b"v").unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "1 ms per group"
    );
    assert!(db.stats().stall_l0_slowdown_micros >= 20_000);
    // Once compaction brings level 0 below the trigger, writes go at full speed again.
    db.hold_compactions_for_test(false);
    db.compact_range(None, None).unwrap();
    db.put(&no_slowdown(), b"impatient", b"v").unwrap();
    db.close().unwrap();
}

#[test]
fn close_ends_a_level0_stop() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(DB::open(dir.path(), level0_options()).unwrap());
    db.hold_compactions_for_test(true);
    let writers = storm(&db, 2, 100_000);
    wait_for_level0_pressure(&db, 5);
    db.close().unwrap();
    for w in writers {
        let r = w.join().unwrap();
        assert!(matches!(r, Err(Error::Closed)), "{r:?}");
    }
}
