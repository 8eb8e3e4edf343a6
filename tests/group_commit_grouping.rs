//! Group commit really groups: 16 threads writing with `sync = true` share WAL syncs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::MODES;
use groupkv::{Options, WriteBatch, WriteOptions, DB};

const THREADS: usize = 16;
const WRITES: usize = 200;

#[test]
fn sync_writers_share_wal_syncs() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), mode.options()).unwrap());
        let start = Arc::new(Barrier::new(THREADS));
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = Arc::clone(&db);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    for i in 0..WRITES {
                        db.put(&WriteOptions::synced(), format!("{t}-{i}").as_bytes(), b"v")
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let s = db.stats();
        let writes = (THREADS * WRITES) as u64;
        println!(
            "mode {:<22}: {} writes, {} syncs, {} by self, {} by other, mean group {:.1}",
            mode.name,
            writes,
            s.wal_syncs,
            s.write_done_by_self,
            s.write_done_by_other,
            s.write_group_size.mean
        );
        assert_eq!(s.write_with_wal, writes);
        assert_eq!(s.write_done_by_self + s.write_done_by_other, writes);
        assert_eq!(s.wal_syncs, s.write_done_by_self, "one sync per sync group");
        assert!(
            s.write_done_by_other > 0,
            "mode {}: no write joined a group",
            mode.name
        );
        assert!(
            s.wal_syncs * 2 < writes,
            "mode {}: {} syncs for {writes} writes: groups did not form",
            mode.name,
            s.wal_syncs
        );
        assert_eq!(s.write_group_size.count, s.write_done_by_self);
        assert!(s.write_micros.count == writes && s.write_micros.p99 >= s.write_micros.p50);
    }
}

/// The size cap: a group never carries more than `max_write_batch_group_size_bytes` (unless
/// its leader alone does), and the 1/8 rule limits what small leaders take.
#[test]
fn group_size_cap_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 64 * 1024;
    let db = Arc::new(
        DB::open(
            dir.path(),
            Options {
                max_write_batch_group_size_bytes: cap,
                ..Options::default()
            },
        )
        .unwrap(),
    );
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                let mut b = WriteBatch::new();
                b.put(format!("{t}").as_bytes(), &vec![b'x'; 16 * 1024])
                    .unwrap();
                for _ in 0..50 {
                    db.write(&WriteOptions::synced(), &b).unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let s = db.stats();
    // Each batch is ~16 KiB > cap/8, so a group holds at most cap / 16 KiB = 3 batches
    // (4 would exceed the cap by their headers).
    assert!(s.write_group_size.max <= 3, "{:?}", s.write_group_size);
    assert!(s.write_done_by_other > 0);
}

/// Groups of 20 or more launch their parallel writers through √n callers (RocksDB's
/// `PARALLEL_MEMTABLE_CALLER` stride wake-up): 32 synced writers form such groups, and every
/// write lands.
#[test]
fn large_parallel_groups_wake_writers_by_stride() {
    let mut largest = 0;
    for attempt in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(DB::open(dir.path(), Options::default()).unwrap());
        let start = Arc::new(Barrier::new(32));
        let hs: Vec<_> = (0..32)
            .map(|t| {
                let db = Arc::clone(&db);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    for i in 0..100 {
                        let mut b = WriteBatch::new();
                        b.put(format!("{t}-{i}").as_bytes(), b"v").unwrap();
                        b.put(format!("{t}-last").as_bytes(), i.to_string().as_bytes())
                            .unwrap();
                        db.write(&WriteOptions::synced(), &b).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        for t in 0..32 {
            for i in 0..100 {
                assert!(db.get(format!("{t}-{i}").as_bytes()).unwrap().is_some());
            }
            assert_eq!(
                db.get(format!("{t}-last").as_bytes()).unwrap(),
                Some(b"99".to_vec())
            );
        }
        largest = db.stats().write_group_size.max;
        if largest >= 20 {
            return;
        }
        println!("attempt {attempt}: largest group {largest}; retrying");
    }
    panic!("no group reached 20 writers (largest {largest}); stride wake-up not exercised");
}
