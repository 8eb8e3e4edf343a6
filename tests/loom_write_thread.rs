//! Loom models of the write thread, driving the real `write_impl` against a mock backend
//! (no I/O). Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_write_thread`
//! (`make test-loom`). Each model prints `loom models run: <name>` when it has explored every
//! interleaving within its preemption bound, so a build that forgot `--cfg loom` (and ran
//! nothing) is caught by `make`.
//!
//! Every model checks: every writer returns Ok (or, in the stall model, `Incomplete`); only
//! one WAL writer at a time; a sync writer is never committed by a non-sync group; the
//! sequences of the WAL records are contiguous; nothing is published before every sequence up
//! to it is in the memtable; every group publishes exactly once; and at the end every written
//! sequence is published.
//!
//! The close models add an unbatched writer (`DB::close`'s `enter_unbatched`): while it holds
//! the queue no WAL write or memtable insert runs, and every write that reached the WAL before
//! it entered is already published (pipelined: `wait_for_memtable_writers`). The failure model
//! fails the first WAL write: its group gets the error, every later group is refused (as the
//! poisoned database does), and nothing of the failed group is published.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use groupkv::loom_api::{
    write_impl, Options, WriteBackend, WriteGroup, WriteOptions, WriteThread, Writer,
};
use groupkv::{Error, WriteBatch};
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use loom::sync::{Arc, Mutex};

#[derive(Default)]
struct Mock {
    concurrent: bool,
    /// Begin (and end) a write stall in the first leader's pre-write checks.
    stall_once: AtomicBool,
    allocated: AtomicU64,
    in_wal: AtomicBool,
    /// (first sequence, record count, group size) of each WAL record.
    wal: Mutex<Vec<(u64, u64, usize)>>,
    inserted: Mutex<Vec<u64>>,
    published: Mutex<u64>,
    publishes: AtomicUsize,
    /// An unbatched writer holds the queue.
    exclusive: AtomicBool,
    /// Fail the first WAL write; refuse every group after it.
    fail_first_wal: bool,
    failed: AtomicBool,
}

impl WriteBackend for Mock {
    fn preprocess(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<(), Error> {
        if self.failed.load(Acquire) {
            return Err(Error::Poisoned {
                cause: Box::new(wal_failure()),
            });
        }
        // As the database does: a no_slowdown leader fails rather than stalling.
        if leader.no_slowdown && self.stall_once.load(Acquire) {
            return Err(Error::Incomplete {
                message: "stall".into(),
            });
        }
        if self.stall_once.swap(false, AcqRel) {
            wt.begin_write_stall(leader);
            loom::thread::yield_now();
            wt.end_write_stall();
        }
        Ok(())
    }

    fn allocate_sequences(&self, count: u64) -> u64 {
        self.allocated.fetch_add(count, Relaxed) + 1
    }

    fn write_group_to_wal(&self, group: &WriteGroup, leader: &Writer<'_>) -> Result<(), Error> {
        assert!(!self.in_wal.swap(true, AcqRel), "two WAL writers at once");
        assert!(
            !self.exclusive.load(Acquire),
            "a WAL write while an unbatched writer holds the queue"
        );
        if self.fail_first_wal && !self.failed.swap(true, AcqRel) {
            self.in_wal.store(false, Release);
            return Err(wal_failure());
        }
        let mut count = 0;
        group.for_each(|w| {
            assert!(
                !w.sync || leader.sync,
                "a sync writer joined a non-sync group"
            );
            count += u64::from(w.batch().unwrap().count());
        });
        // The totals the leader recorded while forming the group match its members.
        assert_eq!(count, group.records(), "group record count");
        let first = group.last_sequence() + 1 - count;
        assert_eq!(first, group.first_sequence());
        self.wal.lock().unwrap().push((first, count, group.size()));
        self.in_wal.store(false, Release);
        Ok(())
    }

    fn insert_into_memtable(&self, w: &Writer<'_>) {
        assert!(
            !self.exclusive.load(Acquire),
            "a memtable insert while an unbatched writer holds the queue"
        );
        let batch = w.batch().unwrap();
        let mut ins = self.inserted.lock().unwrap();
        for i in 0..u64::from(batch.count()) {
            ins.push(w.sequence() + i);
        }
    }

    fn publish(&self, last: u64) {
        let ins = self.inserted.lock().unwrap();
        for s in 1..=last {
            assert!(
                ins.contains(&s),
                "published {last} before sequence {s} was inserted"
            );
        }
        drop(ins);
        let mut p = self.published.lock().unwrap();
        assert!(last >= *p, "publication went backwards: {} then {last}", *p);
        *p = last;
        self.publishes.fetch_add(1, Relaxed);
    }

    fn allow_concurrent_memtable_write(&self) -> bool {
        self.concurrent
    }
}

fn wal_failure() -> Error {
    Error::Corruption {
        message: "injected WAL failure".into(),
    }
}

/// What `DB::close` does with the queue: enter unbatched, check, leave.
fn unbatched(wt: &WriteThread, mock: &Mock) {
    let me = Writer::new(None, &WriteOptions::default());
    wt.enter_unbatched(&me);
    mock.exclusive.store(true, Release);
    // Every write whose WAL record exists is inserted and published.
    let in_wal: u64 = mock.wal.lock().unwrap().iter().map(|&(_, n, _)| n).sum();
    assert_eq!(
        *mock.published.lock().unwrap(),
        in_wal,
        "entered unbatched before earlier writes were published"
    );
    mock.exclusive.store(false, Release);
    wt.exit_unbatched(&me);
}

struct Model {
    name: &'static str,
    writers: usize,
    concurrent: bool,
    pipelined: bool,
    stall: bool,
    /// Writer i syncs if bit i is set; writer i is no_slowdown if bit i of `no_slowdown`.
    sync_mask: u32,
    no_slowdown_mask: u32,
    preemptions: usize,
    /// Run an unbatched writer (close) alongside the writers.
    closer: bool,
    /// Fail the first WAL write.
    fail_first_wal: bool,
}

fn one_write(wt: &WriteThread, mock: &Mock, i: usize, m: &Model) -> Result<(), Error> {
    let mut batch = WriteBatch::new();
    batch.put(&[i as u8], b"v").unwrap();
    let opts = WriteOptions {
        sync: m.sync_mask & (1 << i) != 0,
        no_slowdown: m.no_slowdown_mask & (1 << i) != 0,
        ..WriteOptions::default()
    };
    let w = Writer::new(Some(&batch), &opts);
    write_impl(wt, mock, &w)
}

fn run(m: Model) {
    let m = std::sync::Arc::new(m);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(m.preemptions);
    let name = m.name;
    let mm = m.clone();
    builder.check(move || {
        let m = mm.clone();
        let opts = Options {
            allow_concurrent_memtable_write: m.concurrent,
            enable_pipelined_write: m.pipelined,
            ..Options::default()
        };
        let wt = Arc::new(WriteThread::new(&opts));
        let mock = Arc::new(Mock {
            concurrent: m.concurrent,
            stall_once: AtomicBool::new(m.stall),
            fail_first_wal: m.fail_first_wal,
            ..Mock::default()
        });
        let handles: Vec<_> = (1..m.writers)
            .map(|i| {
                let (wt, mock, m) = (wt.clone(), mock.clone(), m.clone());
                loom::thread::spawn(move || one_write(&wt, &mock, i, &m))
            })
            .collect();
        let closer = m.closer.then(|| {
            let (wt, mock) = (wt.clone(), mock.clone());
            loom::thread::spawn(move || unbatched(&wt, &mock))
        });
        let mut results = vec![one_write(&wt, &mock, 0, &m)];
        for h in handles {
            results.push(h.join().unwrap());
        }
        if let Some(c) = closer {
            c.join().unwrap();
        }
        let mut ok = 0u64;
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(()) => ok += 1,
                Err(Error::Incomplete { .. }) => {
                    assert!(
                        m.stall && m.no_slowdown_mask & (1 << i) != 0,
                        "writer {i}: {r:?}"
                    )
                }
                // A member of the failed group, or a later group refused.
                Err(Error::Corruption { .. } | Error::Poisoned { .. }) => {
                    assert!(m.fail_first_wal, "writer {i}: {r:?}")
                }
                Err(e) => panic!("writer {i} failed: {e}"),
            }
        }
        // WAL records are contiguous and cover exactly the acknowledged writes.
        let wal = mock.wal.lock().unwrap().clone();
        let mut next = 1;
        let mut members = 0;
        for &(first, count, size) in &wal {
            assert_eq!(first, next, "WAL records not contiguous: {wal:?}");
            next += count;
            members += size as u64;
        }
        assert_eq!(*mock.published.lock().unwrap(), ok, "every write published");
        let publishes = mock.publishes.load(Relaxed);
        if m.pipelined {
            // Memtable groups may merge consecutive WAL groups; each publishes once.
            assert!(
                (ok == 0 || publishes >= 1) && publishes <= wal.len(),
                "{publishes} publishes"
            );
            assert_eq!(members, ok, "WAL members vs acknowledged writes");
        } else {
            assert_eq!(publishes, wal.len(), "each group publishes exactly once");
            // A failed (Incomplete) group is in no WAL record.
            assert_eq!(members, ok, "WAL members vs acknowledged writes");
        }
    });
    println!("loom models run: {name}");
}

#[test]
fn join_group_exit_two_writers() {
    run(Model {
        name: "join_group_exit_two_writers",
        writers: 2,
        concurrent: false,
        pipelined: false,
        stall: false,
        sync_mask: 0b01,
        no_slowdown_mask: 0,
        preemptions: 3,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn join_group_exit_three_writers_mixed_sync() {
    run(Model {
        name: "join_group_exit_three_writers_mixed_sync",
        writers: 3,
        concurrent: false,
        pipelined: false,
        stall: false,
        sync_mask: 0b010,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn parallel_memtable_completion_three_writers() {
    run(Model {
        name: "parallel_memtable_completion_three_writers",
        writers: 3,
        concurrent: true,
        pipelined: false,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn pipelined_wal_to_memtable_hand_off() {
    run(Model {
        name: "pipelined_wal_to_memtable_hand_off",
        writers: 3,
        concurrent: false,
        pipelined: true,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn pipelined_with_parallel_memtable_writers() {
    run(Model {
        name: "pipelined_with_parallel_memtable_writers",
        writers: 3,
        concurrent: true,
        pipelined: true,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn stall_begins_and_ends_while_writers_join() {
    run(Model {
        name: "stall_begins_and_ends_while_writers_join",
        writers: 3,
        concurrent: true,
        pipelined: false,
        stall: true,
        sync_mask: 0,
        no_slowdown_mask: 0b100,
        preemptions: 2,
        closer: false,
        fail_first_wal: false,
    });
}

#[test]
fn close_enters_unbatched_while_writers_join() {
    run(Model {
        name: "close_enters_unbatched_while_writers_join",
        writers: 2,
        concurrent: true,
        pipelined: false,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: true,
        fail_first_wal: false,
    });
}

#[test]
fn close_waits_for_memtable_writers_pipelined() {
    run(Model {
        name: "close_waits_for_memtable_writers_pipelined",
        writers: 2,
        concurrent: false,
        pipelined: true,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: true,
        fail_first_wal: false,
    });
}

#[test]
fn pipelined_wal_failure_completes_the_group_with_the_error() {
    run(Model {
        name: "pipelined_wal_failure_completes_the_group_with_the_error",
        writers: 3,
        concurrent: true,
        pipelined: true,
        stall: false,
        sync_mask: 0,
        no_slowdown_mask: 0,
        preemptions: 2,
        closer: false,
        fail_first_wal: true,
    });
}
