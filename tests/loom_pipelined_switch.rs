//! Loom model of the memtable switch in the leader's pre-write step, driving the real
//! `write_impl` against a mock backend whose `preprocess` switches the memtable as
//! `DB::make_room_for_write` does: pipelined, it first waits for the memtable writers
//! (`wait_for_memtable_writers`), then makes a new memtable current.
//!
//! Checked in every interleaving (invariant I9): each write's entries are inserted into the
//! memtable that was current when its group's WAL record was written; every write returns Ok
//! and is published. Run with `RUSTFLAGS="--cfg loom" cargo test --release --test
//! loom_pipelined_switch`; each model prints `loom models run: <name>`.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use groupkv::loom_api::{
    wait_for_memtable_writers, write_impl, Options, WriteBackend, WriteGroup, WriteOptions,
    WriteThread, Writer,
};
use groupkv::{Error, WriteBatch};
use loom::sync::atomic::{AtomicU64, Ordering::*};
use loom::sync::{Arc, Mutex};

#[derive(Default)]
struct Mock {
    concurrent: bool,
    /// Leave out the wait (the model must then find an I9 violation).
    skip_wait: bool,
    /// The current memtable's id (the SuperVersion's `mem`).
    mem: AtomicU64,
    allocated: AtomicU64,
    /// Sequence -> the memtable current when its WAL record was written.
    wal_mem: Mutex<HashMap<u64, u64>>,
    inserted: Mutex<Vec<u64>>,
    published: Mutex<u64>,
}

impl WriteBackend for Mock {
    fn preprocess(&self, wt: &WriteThread, _leader: &Writer<'_>) -> Result<(), Error> {
        // Every leader switches (a full memtable each time: the most switches possible).
        if wt.pipelined() && !self.skip_wait {
            wait_for_memtable_writers(wt);
        }
        self.mem.fetch_add(1, AcqRel);
        Ok(())
    }

    fn allocate_sequences(&self, count: u64) -> u64 {
        self.allocated.fetch_add(count, Relaxed) + 1
    }

    fn write_group_to_wal(&self, group: &WriteGroup, _leader: &Writer<'_>) -> Result<(), Error> {
        let mem = self.mem.load(Acquire);
        let mut map = self.wal_mem.lock().unwrap();
        group.for_each(|w| {
            for i in 0..u64::from(w.batch().unwrap().count()) {
                map.insert(w.sequence() + i, mem);
            }
        });
        Ok(())
    }

    fn insert_into_memtable(&self, w: &Writer<'_>) {
        // The database inserts into `sv.load().mem`: the memtable current now.
        let mem = self.mem.load(Acquire);
        let map = self.wal_mem.lock().unwrap();
        for i in 0..u64::from(w.batch().unwrap().count()) {
            let seq = w.sequence() + i;
            assert_eq!(
                map.get(&seq),
                Some(&mem),
                "I9: sequence {seq} inserted into memtable {mem}, but its WAL record was \
                 written while another memtable was current"
            );
        }
        drop(map);
        let mut ins = self.inserted.lock().unwrap();
        for i in 0..u64::from(w.batch().unwrap().count()) {
            ins.push(w.sequence() + i);
        }
    }

    fn publish(&self, last: u64) {
        let mut p = self.published.lock().unwrap();
        if last > *p {
            *p = last;
        }
    }

    fn allow_concurrent_memtable_write(&self) -> bool {
        self.concurrent
    }
}

fn run(name: &'static str, writers: usize, pipelined: bool, concurrent: bool, bound: usize) {
    run_with(name, writers, pipelined, concurrent, bound, false);
}

fn run_with(
    name: &'static str,
    writers: usize,
    pipelined: bool,
    concurrent: bool,
    bound: usize,
    skip_wait: bool,
) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(bound);
    builder.check(move || {
        let opts = Options {
            allow_concurrent_memtable_write: concurrent,
            enable_pipelined_write: pipelined,
            ..Options::default()
        };
        let wt = Arc::new(WriteThread::new(&opts));
        let mock = Arc::new(Mock {
            concurrent,
            skip_wait,
            ..Mock::default()
        });
        let write = |wt: &WriteThread, mock: &Mock, i: usize| {
            let mut batch = WriteBatch::new();
            batch.put(&[i as u8], b"v").unwrap();
            let w = Writer::new(Some(&batch), &WriteOptions::default());
            write_impl(wt, mock, &w)
        };
        let handles: Vec<_> = (1..writers)
            .map(|i| {
                let (wt, mock) = (wt.clone(), mock.clone());
                loom::thread::spawn(move || write(&wt, &mock, i))
            })
            .collect();
        write(&wt, &mock, 0).unwrap();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        assert_eq!(*mock.published.lock().unwrap(), writers as u64);
        assert_eq!(mock.inserted.lock().unwrap().len(), writers);
    });
    println!("loom models run: {name}");
}

#[test]
fn pipelined_switch_keeps_each_group_in_its_wal_memtable() {
    run("pipelined_switch", 3, true, false, 2);
}

#[test]
fn pipelined_switch_with_parallel_memtable_writers() {
    run("pipelined_switch_parallel", 3, true, true, 2);
}

#[test]
fn serial_switch_keeps_each_group_in_its_wal_memtable() {
    run("serial_switch", 3, false, false, 2);
}

/// The model can fail: without the wait, some interleaving inserts an earlier group into the
/// new memtable (its WAL record is in the old WAL), which would lose an acknowledged write
/// when the old memtable's flush retires the old WAL.
#[test]
#[should_panic(expected = "I9")]
fn without_the_wait_a_pipelined_switch_breaks_i9() {
    run_with("pipelined_switch_without_wait", 3, true, false, 2, true);
}
