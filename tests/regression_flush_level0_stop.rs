//! `DB::flush` respects `level0_stop_writes_trigger` like a write: a write passes its level-0
//! check one below the trigger, switches a full memtable (reaching the trigger) and lands in
//! the new memtable; a `flush` then made that memtable one more level-0 table, one over the
//! trigger. Now `flush` waits until compaction brings level 0 down; `compact_range` (which
//! flushes first) does not wait for itself; close never blocks.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use groupkv::{Error, Options, WriteOptions, DB};

const STOP: usize = 4;

fn options() -> Options {
    Options {
        write_buffer_size: 4096,
        level0_file_num_compaction_trigger: 2,
        level0_slowdown_writes_trigger: STOP,
        level0_stop_writes_trigger: STOP,
        // Only compact_range empties level 0, so the test controls when it goes down.
        disable_auto_compactions: true,
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// Writes with `no_slowdown` until the level-0 stop refuses one; returns how many went in.
fn fill_to_stop(db: &DB) -> u32 {
    let nowait = WriteOptions {
        no_slowdown: true,
        ..WriteOptions::default()
    };
    let mut i = 0;
    while i < 100_000 {
        match db.put(&nowait, &key(i), &[b'v'; 100]) {
            Ok(()) => i += 1,
            Err(Error::Incomplete { message }) if message.contains("write stop") => return i,
            // A memtable waiting for flush: the flush thread catches up, write `i` again.
            Err(Error::Incomplete { .. }) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("put {i}: {e}"),
        }
    }
    panic!("the level-0 stop never came");
}

fn level0(db: &DB) -> usize {
    usize::try_from(db.stats().num_files_at_level[0]).unwrap()
}

#[test]
fn flush_waits_at_the_level0_stop_instead_of_going_past_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(DB::open(tmp.path(), options()).unwrap());
    let written = fill_to_stop(&db);
    // The memtable holds the last write (it landed after its switch reached the stop).
    assert!(db.stats().memtable_bytes > 0);
    let done = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (db, done) = (Arc::clone(&db), Arc::clone(&done));
        std::thread::spawn(move || {
            let r = db.flush();
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(level0(&db) <= STOP, "level 0 at {}", level0(&db));
    assert!(
        !done.load(Ordering::SeqCst),
        "flush went past the level-0 stop"
    );
    // compact_range brings level 0 down (without waiting for itself), and the flush goes on.
    db.compact_range(None, None).unwrap();
    flusher.join().unwrap().unwrap();
    assert!(level0(&db) <= STOP);
    for i in 0..written {
        assert_eq!(
            db.get(&key(i)).unwrap().as_deref(),
            Some(&[b'v'; 100][..]),
            "{i}"
        );
    }
    db.close().unwrap();
}

#[test]
fn compact_range_at_the_level0_stop_does_not_wait_for_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let db = DB::open(tmp.path(), options()).unwrap();
    let written = fill_to_stop(&db);
    db.compact_range(None, None).unwrap();
    assert_eq!(level0(&db), 0);
    assert_eq!(db.stats().memtable_bytes, 0);
    for i in 0..written {
        assert!(db.get(&key(i)).unwrap().is_some(), "{i}");
    }
    db.close().unwrap();
}

#[test]
fn close_at_the_level0_stop_ends_and_keeps_every_write() {
    let tmp = tempfile::tempdir().unwrap();
    let db = DB::open(tmp.path(), options()).unwrap();
    let written = fill_to_stop(&db);
    // Close flushes without waiting on the stop (documented: level 0 may end one past it).
    db.close().unwrap();
    let db = DB::open(tmp.path(), options()).unwrap();
    assert!(level0(&db) <= STOP + 1);
    for i in 0..written {
        assert!(db.get(&key(i)).unwrap().is_some(), "{i}");
    }
    db.close().unwrap();
}
