//! The writer queue and its state machine (RocksDB's `WriteThread`). This is the only module
//! that follows raw pointers; everything it exposes is safe to call as documented.
//!
//! # The queue
//!
//! Every `write` builds a [`Writer`] on its own stack and links it onto `newest_writer` with one
//! CAS ([`WriteThread::join_batch_group`]). The queue is a LIFO stack of `link_older` pointers;
//! `link_newer` pointers are filled in lazily by whoever walks it (only ever the current
//! leader). A writer that finds the queue empty is the leader at once; every other one waits
//! for one of the states below. With `enable_pipelined_write` a second queue,
//! `newest_memtable_writer`, holds groups whose WAL write is done and whose memtable insert is
//! not.
//!
//! # Writer states
//!
//! * `INIT` — set by [`Writer::new`]; the writer is waiting in `join_batch_group`.
//! * `GROUP_LEADER` — set by the writer itself when it links onto an empty queue, or by the
//!   previous leader on exit (hand-off). The leader forms a group from itself towards the newest
//!   writer, writes the WAL for all of them, and either inserts every batch itself or launches
//!   parallel writers. Next: `PARALLEL_MEMTABLE_WRITER` (it inserts its own batch too) or, once
//!   the group is done, `COMPLETED`.
//! * `MEMTABLE_WRITER_LEADER` — pipelined only: set when the writer's group reaches the head of
//!   the memtable queue (by the WAL leader that linked it, or by the previous memtable leader).
//!   It forms a memtable group and inserts it (alone, or launching parallel writers).
//! * `PARALLEL_MEMTABLE_CALLER` — set by a leader of a group of at least 20 writers on the
//!   √n writers after itself: each wakes every √n-th writer from its own position, then becomes
//!   a `PARALLEL_MEMTABLE_WRITER` itself. The leader so makes about 2√n wake-ups, not n.
//! * `PARALLEL_MEMTABLE_WRITER` — set by the leader (or a caller): insert your own batch at your
//!   own sequence, then [`WriteThread::complete_parallel_memtable_writer`]. The last writer to
//!   finish publishes the group's sequence and completes the group on the leader's behalf.
//! * `COMPLETED` — terminal, set by whoever finishes the group, after it has written the
//!   writer's status. **After a writer is `COMPLETED` its thread may return and its stack frame
//!   is gone: no other thread reads or writes it again.** So `link_older`/`link_newer` are read
//!   before the state is set, never after.
//! * `LOCKED_WAITING` — set by a waiting writer on itself (one CAS) before it blocks on its own
//!   mutex and condition variable. Whoever changes the state of such a writer takes that mutex,
//!   stores the new state and notifies, so the wake-up cannot be lost.
//!
//! # Waiting
//!
//! [`WriteThread::await_state`] spins briefly (about a microsecond), then yields the CPU for up
//! to `write_thread_max_yield_usec` if yielding has paid off recently at this call site (an
//! adaptive credit, sampled 1 in 256 otherwise), and then blocks. Two exceptions, both for sync
//! writes: a sync writer joining the queue blocks at once (its wait lasts an `fdatasync`), and
//! a member of a sync group that has inserted its batch yields until the group ends (its
//! wait lasts only the other members' inserts).

// Reachable from outside only through the loom models' `loom_api`.
#![cfg_attr(loom, allow(missing_docs))]

use std::fmt;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::options::{Options, WriteOptions};
#[cfg(not(loom))]
use crate::sync::yield_now;
use crate::sync::{
    spin_loop, AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Condvar, Mutex,
    UnsafeCell,
};
use crate::write_batch::WriteBatch;

/// Writer states; a bit each, so a waiter can wait for any of several.
pub mod state {
    pub const INIT: u8 = 1;
    pub const GROUP_LEADER: u8 = 2;
    pub const MEMTABLE_WRITER_LEADER: u8 = 4;
    pub const PARALLEL_MEMTABLE_WRITER: u8 = 8;
    pub const COMPLETED: u8 = 16;
    pub const LOCKED_WAITING: u8 = 32;
    pub const PARALLEL_MEMTABLE_CALLER: u8 = 64;
}
use state::*;

/// Groups smaller than this launch every parallel writer from the leader.
const MIN_PARALLEL_SIZE_FOR_CALLERS: usize = 20;
/// Iterations of the pause spin (about a microsecond in all).
const SPIN_ITERATIONS: usize = 200;
/// The longest a sync leader waits for writers to rejoin before forming its group.
#[cfg(not(loom))]
const SYNC_GATHER_MAX: Duration = Duration::from_micros(60);
/// How long a member of a sync group inserting in parallel yields for the group to end before
/// it blocks.
#[cfg(not(loom))]
const PARALLEL_SYNC_YIELD: Duration = Duration::from_micros(300);
/// A sync leader stops gathering once the queue did not grow over this many yields.
#[cfg(not(loom))]
const SYNC_GATHER_QUIET_YIELDS: u32 = 3;

type WriterPtr = *mut Writer<'static>;

/// One pending write, on its caller's stack. Must not move while it is in a queue: the
/// functions that link it take `&Writer`, and the caller keeps it borrowed until its write
/// returns.
pub struct Writer<'a> {
    batch: Option<&'a WriteBatch>,
    /// The write must be synced; only a sync leader takes it.
    pub sync: bool,
    /// The write skips the WAL; groups never mix it with WAL writes.
    pub disable_wal: bool,
    /// The write fails rather than wait out a stall; groups never mix it with others.
    pub no_slowdown: bool,
    state: AtomicU8,
    /// The sequence of the first record of `batch` (set by the leader).
    sequence: AtomicU64,
    /// The outcome, written by whoever completes this writer before it sets `COMPLETED` (or by
    /// the writer's own thread); read by the owner after it sees `COMPLETED`.
    status: UnsafeCell<Option<Error>>,
    /// The group this writer belongs to, which lives on its leader's stack.
    group: AtomicPtr<WriteGroup>,
    link_older: AtomicPtr<Writer<'static>>,
    link_newer: AtomicPtr<Writer<'static>>,
    state_mu: Mutex<()>,
    state_cv: Condvar,
}

impl fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("state", &self.state.load(Relaxed))
            .field("sync", &self.sync)
            .field("disable_wal", &self.disable_wal)
            .field("no_slowdown", &self.no_slowdown)
            .finish()
    }
}

impl<'a> Writer<'a> {
    /// A writer for `batch` (`None`: an unbatched writer that wants the queue to itself).
    pub fn new(batch: Option<&'a WriteBatch>, opts: &WriteOptions) -> Self {
        Writer {
            batch,
            sync: opts.sync,
            disable_wal: opts.disable_wal,
            no_slowdown: opts.no_slowdown,
            state: AtomicU8::new(INIT),
            sequence: AtomicU64::new(0),
            status: UnsafeCell::new(None),
            group: AtomicPtr::new(ptr::null_mut()),
            link_older: AtomicPtr::new(ptr::null_mut()),
            link_newer: AtomicPtr::new(ptr::null_mut()),
            state_mu: Mutex::new(()),
            state_cv: Condvar::new(),
        }
    }

    fn as_ptr(&self) -> WriterPtr {
        self as *const Writer<'a> as *mut Writer<'static>
    }

    /// The batch (None for unbatched writers).
    pub fn batch(&self) -> Option<&'a WriteBatch> {
        self.batch
    }

    fn batch_size(&self) -> usize {
        self.batch.map_or(0, WriteBatch::approximate_size)
    }

    fn batch_count(&self) -> u64 {
        u64::from(self.batch.map_or(0, WriteBatch::count))
    }

    /// The current state (one of [`state`]).
    pub fn state(&self) -> u8 {
        self.state.load(Acquire)
    }

    /// The sequence assigned to the first record of the batch.
    pub fn sequence(&self) -> u64 {
        self.sequence.load(Relaxed)
    }

    /// Records the writer's own outcome. Only the writer's own thread calls this, while no
    /// other thread may complete it: while joining (refused by a stall), as a leader that
    /// completes itself, or as the last parallel writer of its group. A thread completing
    /// another thread's writer uses `set_own_status_from_completer` instead.
    pub fn set_own_status(&self, status: Option<Error>) {
        // SAFETY: the caller is the owning thread at a point where no other thread writes or
        // reads `status` (see the doc comment); the writer is alive (we hold `&self`).
        self.status.with_mut(|s| unsafe { *s = status });
    }

    /// Takes the outcome. Called by the owner once it is `COMPLETED` or leads.
    pub fn take_status(&self) -> Result<(), Error> {
        // SAFETY: the owner reads its status after it observed `COMPLETED` (acquire), which the
        // completer set (release) after writing the status; nobody touches it afterwards.
        match self.status.with_mut(|s| unsafe { (*s).take() }) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    fn has_error(&self) -> bool {
        // SAFETY: as for `take_status`: only read by a thread entitled to the status.
        self.status.with_mut(|s| unsafe { (*s).is_some() })
    }

    /// The group this writer was put in by its leader.
    ///
    /// # Safety
    /// The writer is in a group that launched parallel writers: the calling thread owns the
    /// writer, saw it become `PARALLEL_MEMTABLE_CALLER` or `PARALLEL_MEMTABLE_WRITER`, and has
    /// not yet returned from `complete_parallel_memtable_writer` with `false` (after which
    /// the group may be gone). The returned reference must not be used past that point.
    pub unsafe fn group(&self) -> &WriteGroup {
        let g = self.group.load(Acquire);
        debug_assert!(!g.is_null(), "group() of a writer outside a parallel group");
        // SAFETY: per the contract, the leader set `group` (non-null) before it handed this
        // writer a parallel state (release/acquire through `state`), and the group lives on the
        // leader's stack until the leader is COMPLETED, which happens only after every member,
        // this one included, finished with it (`running` reaches zero).
        unsafe { &*g }
    }
}

/// A write group: consecutive writers from `leader` to `last_writer` committed together. Lives
/// on the leader's stack.
pub struct WriteGroup {
    leader: AtomicPtr<Writer<'static>>,
    last_writer: AtomicPtr<Writer<'static>>,
    size: AtomicUsize,
    /// The sequence of the group's last record.
    last_sequence: AtomicU64,
    /// Records and bytes of the members' batches (WAL groups, set when the group forms).
    records: AtomicU64,
    bytes: AtomicU64,
    /// Parallel writers still inserting.
    running: AtomicUsize,
    /// The group's leader asked for `sync`: its members have each just waited out an
    /// `fdatasync` (see `complete_parallel_memtable_writer`).
    sync: AtomicBool,
    /// The first memtable-insert error of a parallel group.
    status: Mutex<Option<Error>>,
}

impl fmt::Debug for WriteGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteGroup")
            .field("size", &self.size.load(Relaxed))
            .field("last_sequence", &self.last_sequence.load(Relaxed))
            .finish()
    }
}

impl WriteGroup {
    pub fn new() -> Self {
        WriteGroup {
            leader: AtomicPtr::new(ptr::null_mut()),
            last_writer: AtomicPtr::new(ptr::null_mut()),
            size: AtomicUsize::new(0),
            last_sequence: AtomicU64::new(0),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            sync: AtomicBool::new(false),
            status: Mutex::new(None),
        }
    }

    /// Writers in the group.
    pub fn size(&self) -> usize {
        self.size.load(Relaxed)
    }

    /// The sequence of the group's last record.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence.load(Relaxed)
    }

    pub fn set_last_sequence(&self, seq: u64) {
        self.last_sequence.store(seq, Relaxed);
    }

    /// Records in the members' batches (a WAL group's, as formed by its leader).
    pub fn records(&self) -> u64 {
        self.records.load(Relaxed)
    }

    /// Bytes of the members' batches (a WAL group's, as formed by its leader).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }

    /// The sequence of the group's first record.
    pub fn first_sequence(&self) -> u64 {
        self.last_sequence()
            .wrapping_sub(self.records())
            .wrapping_add(1)
    }

    /// Calls `f` on each writer, leader first. Only the group's leader (or, in parallel mode,
    /// the writer finishing the group) may call this, while no member is `COMPLETED`.
    pub fn for_each<'g>(&'g self, mut f: impl FnMut(&'g Writer<'g>)) {
        let last = self.last_writer.load(Relaxed);
        let mut w = self.leader.load(Relaxed);
        loop {
            // SAFETY: members of a group stay alive until they are COMPLETED, which only the
            // caller (leader or finishing writer) does, after this walk.
            let writer = unsafe { &*w };
            let next = writer.link_newer.load(Relaxed);
            f(writer);
            if w == last {
                break;
            }
            w = next;
        }
    }

    /// Records a parallel writer's failure; the group finishes with the first one.
    fn record_error(&self, e: Error) {
        let mut s = self.status.lock();
        if s.is_none() {
            *s = Some(e);
        }
    }
}

/// Where a call site keeps its yield credit (RocksDB's `AdaptationContext`).
#[derive(Debug, Clone, Copy)]
pub enum Site {
    JoinBatchGroup = 0,
    CompleteParallelWriter = 1,
    ExitAsLeader = 2,
    EnterUnbatched = 3,
    WaitForMemtableWriters = 4,
}

/// The writer queue of one database.
pub struct WriteThread {
    newest_writer: AtomicPtr<Writer<'static>>,
    newest_memtable_writer: AtomicPtr<Writer<'static>>,
    /// Linked at the head of the queue while a write stall is on, so new writers wait.
    stall_dummy: Box<Writer<'static>>,
    stall_mu: Mutex<()>,
    stall_cv: Condvar,
    #[cfg_attr(loom, allow(dead_code))]
    max_yield_usec: u64,
    #[cfg_attr(loom, allow(dead_code))]
    slow_yield_usec: u64,
    max_group_bytes: usize,
    pipelined: bool,
    allow_concurrent_memtable_write: bool,
    #[cfg_attr(loom, allow(dead_code))]
    credits: [AtomicI32; 5],
    /// Waiters in the spin or yield phase, and how many may be (the other cores).
    #[cfg(not(loom))]
    spinners: AtomicUsize,
    #[cfg(not(loom))]
    max_spinners: usize,
    /// Writers that found the queue busy when they joined, and the count a sync leader last
    /// saw: if nobody queued since, there is no one to gather for.
    #[cfg(not(loom))]
    queued_joins: AtomicU64,
    #[cfg(not(loom))]
    joins_at_last_gather: AtomicU64,
}

// SAFETY: the raw pointers in the queue refer to writers that their owning threads keep alive
// until COMPLETED; all cross-thread access goes through atomics, mutexes, or the protocol
// documented on `Writer` and `WriteGroup`.
unsafe impl Send for WriteThread {}
// SAFETY: as above.
unsafe impl Sync for WriteThread {}
// SAFETY: a `Writer` is shared by address among the threads of one queue; its mutable fields
// are atomics, a mutex, or `status`, whose hand-over protocol is documented on the field.
unsafe impl Send for Writer<'_> {}
// SAFETY: as above.
unsafe impl Sync for Writer<'_> {}
// SAFETY: `WriteGroup` fields are atomics or a mutex; the writer pointers follow the protocol.
unsafe impl Send for WriteGroup {}
// SAFETY: as above.
unsafe impl Sync for WriteGroup {}

impl fmt::Debug for WriteThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteThread")
            .field("pipelined", &self.pipelined)
            .field("max_group_bytes", &self.max_group_bytes)
            .finish()
    }
}

/// Follows a writer pointer taken from a queue link.
///
/// # Safety
/// `p` must be non-null and point to a writer that is not yet `COMPLETED` (so its owner is
/// still waiting on it and it is alive).
unsafe fn w<'x>(p: WriterPtr) -> &'x Writer<'x> {
    // SAFETY: guaranteed by the caller.
    let writer = unsafe { &*p };
    // The loom models check the rule this relies on: nobody touches a COMPLETED writer.
    #[cfg(loom)]
    assert_ne!(
        writer.state.load(Relaxed),
        COMPLETED,
        "a COMPLETED writer was touched"
    );
    writer
}

impl WriteThread {
    pub fn new(opts: &Options) -> Self {
        let max_yield_usec = if opts.enable_write_thread_adaptive_yield {
            opts.write_thread_max_yield_usec
        } else {
            0
        };
        WriteThread {
            newest_writer: AtomicPtr::new(ptr::null_mut()),
            newest_memtable_writer: AtomicPtr::new(ptr::null_mut()),
            stall_dummy: Box::new(Writer::new(None, &WriteOptions::default())),
            stall_mu: Mutex::new(()),
            stall_cv: Condvar::new(),
            max_yield_usec,
            slow_yield_usec: opts.write_thread_slow_yield_usec,
            max_group_bytes: usize::try_from(opts.max_write_batch_group_size_bytes)
                .unwrap_or(usize::MAX),
            pipelined: opts.enable_pipelined_write,
            allow_concurrent_memtable_write: opts.allow_concurrent_memtable_write,
            credits: [
                AtomicI32::new(0),
                AtomicI32::new(0),
                AtomicI32::new(0),
                AtomicI32::new(0),
                AtomicI32::new(0),
            ],
            #[cfg(not(loom))]
            spinners: AtomicUsize::new(0),
            #[cfg(not(loom))]
            queued_joins: AtomicU64::new(0),
            #[cfg(not(loom))]
            joins_at_last_gather: AtomicU64::new(0),
            #[cfg(not(loom))]
            max_spinners: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
        }
    }

    pub fn pipelined(&self) -> bool {
        self.pipelined
    }

    // ---------------------------------------------------------------- waiting

    /// Sets `w`'s state, waking it if it blocked.
    fn set_state(&self, w: &Writer<'_>, new_state: u8) {
        let current = w.state.load(Acquire);
        if current == LOCKED_WAITING
            || w.state
                .compare_exchange(current, new_state, AcqRel, Acquire)
                .is_err()
        {
            // The only state anyone else sets is LOCKED_WAITING: the writer is blocking (or
            // about to) on its condvar. Store under its mutex so the wake-up cannot be lost.
            let guard = w.state_mu.lock();
            w.state.store(new_state, Release);
            w.state_cv.notify_one();
            drop(guard);
        }
    }

    /// Blocks until `w`'s state is in `goal`, after announcing LOCKED_WAITING.
    fn blocking_await_state(&self, w: &Writer<'_>, goal: u8) -> u8 {
        let mut state = w.state.load(Acquire);
        if state & goal == 0 {
            match w
                .state
                .compare_exchange(state, LOCKED_WAITING, AcqRel, Acquire)
            {
                Ok(_) => {
                    let mut guard = w.state_mu.lock();
                    loop {
                        state = w.state.load(Acquire);
                        if state != LOCKED_WAITING {
                            break;
                        }
                        guard = w.state_cv.wait(guard);
                    }
                    drop(guard);
                }
                // The waker got there first and set the goal state.
                Err(actual) => state = actual,
            }
        }
        debug_assert!(state & goal != 0);
        state
    }

    /// Waits until `w`'s state is in `goal`: spin, then adaptive yield, then block.
    ///
    /// A sync writer waiting to join blocks at once: its wait lasts at least one `fdatasync`
    /// (hundreds of microseconds), so spinning or yielding only takes the CPU from the leader
    /// and from the writers about to rejoin.
    pub fn await_state(&self, w: &Writer<'_>, goal: u8, site: Site) -> u8 {
        // A sync writer joining blocks at once (see above); other waiters spin or yield only
        // while a spinning slot is free.
        if !(w.sync && matches!(site, Site::JoinBatchGroup)) && self.start_spinning() {
            let reached = self.spin_and_yield(w, goal, site);
            self.stop_spinning();
            if let Some(state) = reached {
                return state;
            }
        }
        // Checks the state before it blocks, so a goal reached meanwhile returns at once.
        self.blocking_await_state(w, goal)
    }

    /// Yields until `w`'s state is in `goal` or `limit` passes; true if it got there.
    ///
    /// For the members of a sync group waiting for the group's parallel inserts to end: they
    /// were all just woken from an `fdatasync`, nobody else is queued to run meanwhile (sync
    /// joiners block), and the inserts take microseconds. Blocking would cost each member a
    /// second futex wake-up from the writer that ends the group: at 8 sync threads on 2 cores,
    /// yielding instead measured 22.4 K → 26.6 K sync writes/s and 44.8 K → 56.6 K at 32
    /// (medians of 3 A/B runs). Groups without sync do not yield here: their members' CPU is
    /// what the next writers need (yielding halved 4- and 16-thread throughput without sync).
    #[cfg(not(loom))]
    fn yield_until(&self, w: &Writer<'_>, goal: u8, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if w.state.load(Acquire) & goal != 0 {
                return true;
            }
            if start.elapsed() >= limit {
                return false;
            }
            yield_now();
        }
    }

    /// Takes a spinning slot if one is free. Only as many waiters spin or yield as there are
    /// other cores: with more, the waiters keep every core busy, and a leader preempted among
    /// them holds up the whole queue for a scheduler time slice. The rest block at once.
    fn start_spinning(&self) -> bool {
        #[cfg(not(loom))]
        if self.spinners.fetch_add(1, Relaxed) >= self.max_spinners {
            self.spinners.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// Gives back the slot taken by `start_spinning`.
    fn stop_spinning(&self) {
        #[cfg(not(loom))]
        self.spinners.fetch_sub(1, Relaxed);
    }

    /// The spin and adaptive-yield phases of `await_state`: the state if it reached `goal`.
    fn spin_and_yield(&self, w: &Writer<'_>, goal: u8, site: Site) -> Option<u8> {
        for _ in 0..SPIN_ITERATIONS {
            let state = w.state.load(Acquire);
            if state & goal != 0 {
                return Some(state);
            }
            spin_loop();
            #[cfg(loom)]
            break;
        }
        #[cfg(not(loom))]
        return self.yield_phase(w, goal, site);
        #[cfg(loom)]
        {
            let _ = site;
            None
        }
    }

    /// The adaptive yield phase: returns the state if it reached the goal.
    #[cfg(not(loom))]
    fn yield_phase(&self, w: &Writer<'_>, goal: u8, site: Site) -> Option<u8> {
        if self.max_yield_usec == 0 {
            return None;
        }
        let credit = &self.credits[site as usize];
        // Yield when it has paid off lately, and 1 in 256 times anyway to re-measure (a
        // per-thread count: a shared one would be a contended cache line among waiters).
        thread_local!(static WAITS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
        let sampling = WAITS.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n % 256 == 0
        });
        if credit.load(Relaxed) < 0 && !sampling {
            return None;
        }
        let max_yield = Duration::from_micros(self.max_yield_usec);
        let slow_yield = Duration::from_micros(self.slow_yield_usec);
        let begin = Instant::now();
        let mut iter_begin = begin;
        let mut slow_yields = 0;
        let mut update = sampling;
        let mut reached = None;
        while iter_begin - begin <= max_yield {
            yield_now();
            let state = w.state.load(Acquire);
            if state & goal != 0 {
                reached = Some(state);
                break;
            }
            let now = Instant::now();
            if now == iter_begin || now - iter_begin >= slow_yield {
                // Slow yields mean other threads want this core: stop burning it.
                slow_yields += 1;
                if slow_yields >= 3 {
                    update = true;
                    break;
                }
            }
            iter_begin = now;
        }
        if update {
            let v = credit.load(Relaxed);
            let delta: i32 = if reached.is_some() { 131_072 } else { -131_072 };
            credit.store(v - v / 1024 + delta, Relaxed);
        }
        reached
    }

    // ---------------------------------------------------------------- linking

    /// Links `w` onto `queue`; true if it is the new head of an empty queue. On the main queue
    /// during a stall, a `no_slowdown` writer is completed with `Incomplete` (returns false)
    /// and any other writer waits for the stall to end.
    fn link_one(&self, w: &Writer<'_>, queue: &AtomicPtr<Writer<'static>>) -> bool {
        let dummy = self.stall_dummy.as_ptr();
        let mut head = queue.load(Acquire);
        loop {
            if head == dummy {
                if w.no_slowdown {
                    w.set_own_status(Some(Error::Incomplete {
                        message: "write stall: the write would have to wait and no_slowdown \
                                  is set"
                            .into(),
                    }));
                    self.set_state(w, COMPLETED);
                    return false;
                }
                let guard = self.stall_mu.lock();
                head = queue.load(Acquire);
                if head == dummy {
                    let guard = self.stall_cv.wait(guard);
                    drop(guard);
                    head = queue.load(Acquire);
                }
                continue;
            }
            w.link_older.store(head, Relaxed);
            match queue.compare_exchange_weak(head, w.as_ptr(), AcqRel, Acquire) {
                Ok(_) => return head.is_null(),
                Err(actual) => head = actual,
            }
        }
    }

    /// Fills in `link_newer` from `head` back to the first writer that already has it.
    /// Only the current leader of the queue calls this.
    fn create_missing_newer_links(&self, mut head: WriterPtr) {
        loop {
            // SAFETY: `head` is in the queue and not COMPLETED (only leaders complete writers,
            // and the caller is the leader).
            let older = unsafe { w(head) }.link_older.load(Relaxed);
            if older.is_null() {
                break;
            }
            // SAFETY: as above, for an older queued writer.
            let older_ref = unsafe { w(older) };
            if !older_ref.link_newer.load(Relaxed).is_null() {
                break;
            }
            older_ref.link_newer.store(head, Relaxed);
            head = older;
        }
    }

    /// Enters the queue: returns once `w` is a leader of some kind, a parallel writer, or
    /// `COMPLETED` (its write done by another thread's group, or refused).
    pub fn join_batch_group(&self, w: &Writer<'_>) -> u8 {
        if self.link_one(w, &self.newest_writer) {
            w.state.store(GROUP_LEADER, Relaxed);
            return GROUP_LEADER;
        }
        #[cfg(not(loom))]
        if w.sync {
            self.queued_joins.fetch_add(1, Relaxed);
        }
        self.await_state(
            w,
            GROUP_LEADER
                | MEMTABLE_WRITER_LEADER
                | PARALLEL_MEMTABLE_CALLER
                | PARALLEL_MEMTABLE_WRITER
                | COMPLETED,
            Site::JoinBatchGroup,
        )
    }

    // ---------------------------------------------------------------- groups

    /// Forms `group` led by `leader`: walks from the leader towards the newest writer, taking
    /// writers until the first one that is incompatible or would exceed the size cap (it and
    /// everyone after it keep their place and form the next group). Returns the group's bytes.
    pub fn enter_as_batch_group_leader(&self, leader: &Writer<'_>, group: &WriteGroup) {
        let mut size = leader.batch_size();
        let mut records = leader.batch_count();
        let max_size = self.max_group_size(size);
        let leader_ptr = leader.as_ptr();
        leader
            .group
            .store(group as *const WriteGroup as *mut WriteGroup, Relaxed);
        group.leader.store(leader_ptr, Relaxed);
        group.size.store(1, Relaxed);
        group.last_writer.store(leader_ptr, Relaxed);
        group.sync.store(leader.sync, Relaxed);
        #[cfg(not(loom))]
        if leader.sync {
            self.gather_sync_writers();
        }
        let newest = self.newest_writer.load(Acquire);
        if leader.batch.is_some() {
            self.extend_group(group, newest, |n| {
                let fits = n.batch.is_some()
                    && (!n.sync || leader.sync)
                    && n.no_slowdown == leader.no_slowdown
                    && n.disable_wal == leader.disable_wal
                    && size + n.batch_size() <= max_size;
                if fits {
                    size += n.batch_size();
                    records += n.batch_count();
                }
                fits
            });
        }
        group.records.store(records, Relaxed);
        group.bytes.store(size as u64, Relaxed);
    }

    /// The most bytes a group led by a batch of `leader_size` bytes may carry: the cap, or, for a
    /// leader of at most 1/8 of it, the leader's size plus 1/8 of it (so a small write is not
    /// slowed down by a huge group).
    fn max_group_size(&self, leader_size: usize) -> usize {
        let eighth = self.max_group_bytes / 8;
        if leader_size <= eighth {
            leader_size + eighth
        } else {
            self.max_group_bytes
        }
    }

    /// Extends `group` (so far its leader alone) with the queued writers after it, up to
    /// `newest`, while `admit` accepts them: the first writer refused, and everyone after it,
    /// keep their place for the next group. The caller is the group's leader.
    fn extend_group(
        &self,
        group: &WriteGroup,
        newest: WriterPtr,
        mut admit: impl FnMut(&Writer<'_>) -> bool,
    ) {
        self.create_missing_newer_links(newest);
        let mut last = group.leader.load(Relaxed);
        let mut count = 1;
        while last != newest {
            // SAFETY: `last` is in the queue and not COMPLETED; links up to `newest` exist.
            let next = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: `next` lies between the leader and `newest`, so it is queued and waiting.
            let n = unsafe { w(next) };
            if !admit(n) {
                break;
            }
            n.group
                .store(group as *const WriteGroup as *mut WriteGroup, Relaxed);
            last = next;
            count += 1;
        }
        group.last_writer.store(last, Relaxed);
        group.size.store(count, Relaxed);
    }

    /// A sync leader lets the writers of the group that just completed rejoin the queue before it
    /// forms its group: it yields until the queue stops growing (or `SYNC_GATHER_MAX` passes).
    ///
    /// Without this, a new leader takes only the writers that queued during the previous
    /// `fdatasync`, the writers just released join the group after, and groups alternate
    /// between the two halves: the mean group is T/2 and throughput at most half of
    /// T ÷ fdatasync latency (RocksDB shows the same). The wait costs a few microseconds
    /// against an `fdatasync` of hundreds.
    #[cfg(not(loom))]
    fn gather_sync_writers(&self) {
        // A lone sync writer (nobody queued behind a sync leader since the last gather) has no
        // one to wait for.
        let joins = self.queued_joins.load(Relaxed);
        if self.joins_at_last_gather.swap(joins, Relaxed) == joins {
            return;
        }
        let start = Instant::now();
        let mut seen = self.newest_writer.load(Acquire);
        let mut quiet = 0;
        while quiet < SYNC_GATHER_QUIET_YIELDS && start.elapsed() < SYNC_GATHER_MAX {
            yield_now();
            let now = self.newest_writer.load(Acquire);
            if now == seen {
                quiet += 1;
            } else {
                seen = now;
                quiet = 0;
            }
        }
    }

    /// Assigns each writer of the group its first sequence, from `first`; sets and returns the
    /// group's last sequence. Leader only, before the group's WAL write.
    pub fn assign_sequences(&self, group: &WriteGroup, first: u64) -> u64 {
        let mut next = first;
        group.for_each(|w| {
            w.sequence.store(next, Relaxed);
            next += w.batch_count();
        });
        group.set_last_sequence(next.wrapping_sub(1));
        next.wrapping_sub(1)
    }

    /// Sets every member's state so it inserts its own batch in parallel. Small groups are woken
    /// by the leader; large ones through √n callers that each wake a stride, so the leader
    /// makes about 2√n wake-ups instead of n.
    ///
    /// Walking the group while waking it is safe: no member is COMPLETED before `running`
    /// reaches zero, which needs every member to finish, this leader included.
    pub fn launch_parallel_memtable_writers(&self, group: &WriteGroup) {
        let size = group.size();
        group.running.store(size, Release);
        if size < MIN_PARALLEL_SIZE_FOR_CALLERS {
            group.for_each(|m| self.set_state(m, PARALLEL_MEMTABLE_WRITER));
            return;
        }
        let stride = isqrt(size);
        let mut position = 0;
        let mut first_of_rest = None;
        group.for_each(|m| {
            if position == 0 {
                self.set_state(m, PARALLEL_MEMTABLE_WRITER);
            } else if position < stride {
                self.set_state(m, PARALLEL_MEMTABLE_CALLER);
            } else if position == stride {
                first_of_rest = Some(m);
            }
            position += 1;
        });
        // Positions stride, 2·stride, ...; each caller covers its own residue class.
        if let Some(m) = first_of_rest {
            self.set_mem_writers_each_stride(m, group);
        }
    }

    /// Wakes every stride-th writer from `from` (itself included) as a parallel writer.
    pub fn set_mem_writers_each_stride(&self, from: &Writer<'_>, group: &WriteGroup) {
        let stride = isqrt(group.size());
        let last = group.last_writer.load(Relaxed);
        let mut p = from.as_ptr();
        let mut position = 0usize;
        loop {
            // SAFETY: `p` is a member of the group from `from` on; members stay alive until
            // `running` reaches zero, which needs this caller to finish too.
            let member = unsafe { w(p) };
            let next = member.link_newer.load(Relaxed);
            if position % stride == 0 {
                self.set_state(member, PARALLEL_MEMTABLE_WRITER);
            }
            if p == last {
                break;
            }
            p = next;
            position += 1;
        }
    }

    /// A parallel writer is done inserting. Returns true for the last one, which must publish
    /// the group's sequence and then call the matching exit (`exit_as_batch_group_follower`, or
    /// `exit_as_memtable_writer` in pipelined mode). Everyone else waits for `COMPLETED`.
    ///
    /// `me` must be a parallel writer of a launched group, on its own thread.
    pub fn complete_parallel_memtable_writer(&self, me: &Writer<'_>) -> bool {
        // SAFETY: `me` is a parallel writer still running (the documented precondition), so
        // its group is alive until our `running` decrement below lets it finish; the
        // reference is not used after that unless we are the last.
        let group = unsafe { me.group() };
        if me.has_error() {
            if let Err(e) = me.take_status() {
                group.record_error(e);
            }
        }
        let sync = group.sync.load(Relaxed);
        if group.running.fetch_sub(1, AcqRel) > 1 {
            // The group may be gone from here on (the last writer completes it): only `me`.
            #[cfg(not(loom))]
            if sync && self.yield_until(me, COMPLETED, PARALLEL_SYNC_YIELD) {
                return false;
            }
            #[cfg(loom)]
            let _ = sync;
            self.await_state(me, COMPLETED, Site::CompleteParallelWriter);
            return false;
        }
        me.set_own_status(group.status.lock().clone());
        true
    }

    /// The last parallel writer finishes a (non-pipelined) group on the leader's behalf.
    pub fn exit_as_batch_group_follower(&self, me: &Writer<'_>) {
        // SAFETY: `me` is the last parallel writer (`complete_parallel_memtable_writer`
        // returned true): nobody else completes the group, so it is alive until the leader is
        // COMPLETED below.
        let group = unsafe { me.group() };
        let status = group.status.lock().clone();
        let leader = group.leader.load(Relaxed);
        self.exit_as_batch_group_leader(group, status.clone());
        // SAFETY: the leader is not COMPLETED yet (only this call completes it), so alive.
        let leader = unsafe { w(leader) };
        // Usually another thread's writer: this thread completes it, as it did the followers.
        leader.set_own_status_from_completer(status);
        self.set_state(leader, COMPLETED);
    }

    /// The leader is done with the WAL (and, unless pipelined, the memtable): hands leadership
    /// to the next writer and completes the group's followers with `status`.
    ///
    /// Pipelined, the writers that still have to insert move to the memtable queue instead, and
    /// the leader waits there until it leads a memtable group, inserts in parallel, or is done.
    /// The return value is the leader's state after this call (`COMPLETED` unless pipelined).
    pub fn exit_as_batch_group_leader(&self, group: &WriteGroup, status: Option<Error>) -> u8 {
        let last = group.last_writer.load(Relaxed);
        if self.pipelined {
            return self.exit_pipelined(group, status);
        }
        // Hand leadership on first, so the next group's WAL write starts at once.
        let mut head = last;
        if let Err(actual) =
            self.newest_writer
                .compare_exchange(head, ptr::null_mut(), AcqRel, Acquire)
        {
            head = actual;
            self.create_missing_newer_links(head);
            // SAFETY: `last` is in our group and not COMPLETED yet.
            let next = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: `next` is queued after our group and waiting to lead.
            let next = unsafe { w(next) };
            next.link_older.store(ptr::null_mut(), Relaxed);
            self.set_state(next, GROUP_LEADER);
        }
        self.complete_followers(group, &status);
        COMPLETED
    }

    /// Completes every member of `group` but its leader with `status`, newest first.
    fn complete_followers(&self, group: &WriteGroup, status: &Option<Error>) {
        let leader = group.leader.load(Relaxed);
        let mut p = group.last_writer.load(Relaxed);
        while p != leader {
            // SAFETY: `p` is a follower of the group, not COMPLETED until the set_state below.
            let follower = unsafe { w(p) };
            // Read the link first: once COMPLETED, the follower's frame may be gone.
            let older = follower.link_older.load(Relaxed);
            follower.set_own_status_from_completer(status.clone());
            self.set_state(follower, COMPLETED);
            p = older;
        }
    }

    fn exit_pipelined(&self, group: &WriteGroup, status: Option<Error>) -> u8 {
        let leader_ptr = group.leader.load(Relaxed);
        let last = group.last_writer.load(Relaxed);
        // A dummy at our place in the queue keeps the next WAL leader from linking its group
        // onto the memtable queue before ours: memtable groups must keep WAL order.
        let dummy = Writer::new(None, &WriteOptions::default());
        let dummy_ptr = dummy.as_ptr();
        let mut head = last;
        if let Err(actual) = self
            .newest_writer
            .compare_exchange(head, dummy_ptr, AcqRel, Acquire)
        {
            head = actual;
            self.create_missing_newer_links(head);
            // SAFETY: `last` is in our group, not COMPLETED.
            let next_ptr = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: `next_ptr` is queued after our group and waiting.
            let next = unsafe { w(next_ptr) };
            next.link_older.store(dummy_ptr, Relaxed);
            dummy.link_newer.store(next_ptr, Relaxed);
        }
        // Writers that will not insert (the group failed) are done here. On failure the whole
        // group completes; otherwise every member goes to the memtable queue.
        let leader = {
            // SAFETY: the leader is this thread's writer, alive.
            unsafe { w(leader_ptr) }
        };
        let mut state_after = MEMTABLE_WRITER_LEADER;
        if status.is_some() {
            self.complete_followers(group, &status);
            leader.set_own_status(status);
            self.set_state(leader, COMPLETED);
            state_after = COMPLETED;
        } else if self.link_group(group, &self.newest_memtable_writer) {
            // Our group heads the memtable queue: its leader leads the memtable group.
            self.set_state(leader, MEMTABLE_WRITER_LEADER);
        }
        // Unlink the dummy and wake the next WAL leader.
        let mut head = dummy_ptr;
        if let Err(actual) =
            self.newest_writer
                .compare_exchange(head, ptr::null_mut(), AcqRel, Acquire)
        {
            head = actual;
            self.create_missing_newer_links(head);
            let next_ptr = dummy.link_newer.load(Relaxed);
            // SAFETY: the writer after the dummy is queued and waiting to lead.
            let next = unsafe { w(next_ptr) };
            next.link_older.store(ptr::null_mut(), Relaxed);
            self.set_state(next, GROUP_LEADER);
        }
        if state_after == COMPLETED {
            return COMPLETED;
        }
        self.await_state(
            leader,
            MEMTABLE_WRITER_LEADER
                | PARALLEL_MEMTABLE_CALLER
                | PARALLEL_MEMTABLE_WRITER
                | COMPLETED,
            Site::ExitAsLeader,
        )
    }

    /// Links a whole group onto `queue`, in order; true if it became the head of an empty queue.
    fn link_group(&self, group: &WriteGroup, queue: &AtomicPtr<Writer<'static>>) -> bool {
        let leader = group.leader.load(Relaxed);
        let last = group.last_writer.load(Relaxed);
        let mut p = last;
        loop {
            // SAFETY: a member of our group, waiting (not COMPLETED).
            let wr = unsafe { w(p) };
            // Cleared so `create_missing_newer_links` on the new queue rebuilds them.
            wr.link_newer.store(ptr::null_mut(), Relaxed);
            wr.group.store(ptr::null_mut(), Relaxed);
            if p == leader {
                break;
            }
            p = wr.link_older.load(Relaxed);
        }
        // SAFETY: the leader is alive (it is the calling thread's writer).
        let leader_ref = unsafe { w(leader) };
        let mut head = queue.load(Acquire);
        loop {
            leader_ref.link_older.store(head, Relaxed);
            match queue.compare_exchange_weak(head, last, AcqRel, Acquire) {
                Ok(_) => return head.is_null(),
                Err(actual) => head = actual,
            }
        }
    }

    /// Pipelined: forms the memtable group led by `leader` (consecutive writers on the memtable
    /// queue; with serial inserts, capped by size like a WAL group).
    pub fn enter_as_memtable_writer(&self, leader: &Writer<'_>, group: &WriteGroup) {
        let mut size = leader.batch_size();
        let max_size = self.max_group_size(size);
        let leader_ptr = leader.as_ptr();
        leader
            .group
            .store(group as *const WriteGroup as *mut WriteGroup, Relaxed);
        group.leader.store(leader_ptr, Relaxed);
        group.size.store(1, Relaxed);
        group.last_writer.store(leader_ptr, Relaxed);
        group.sync.store(leader.sync, Relaxed);
        let newest = self.newest_memtable_writer.load(Acquire);
        let serial = !self.allow_concurrent_memtable_write;
        self.extend_group(group, newest, |n| {
            // Serial inserts are capped like WAL groups; parallel ones need no cap.
            let fits = n.batch.is_some() && (!serial || size + n.batch_size() <= max_size);
            if fits && serial {
                size += n.batch_size();
            }
            fits
        });
        let last = group.last_writer.load(Relaxed);
        // SAFETY: `last` is a member of the new group, waiting.
        let last_ref = unsafe { w(last) };
        group.set_last_sequence((last_ref.sequence() + last_ref.batch_count()).wrapping_sub(1));
    }

    /// Pipelined: the memtable group is inserted and published. Hands memtable leadership on and
    /// completes every member, the leader (who owns the group) last.
    pub fn exit_as_memtable_writer(&self, group: &WriteGroup) {
        let leader = group.leader.load(Relaxed);
        let last = group.last_writer.load(Relaxed);
        let status = group.status.lock().clone();
        if let Err(head) =
            self.newest_memtable_writer
                .compare_exchange(last, ptr::null_mut(), AcqRel, Acquire)
        {
            self.create_missing_newer_links(head);
            // SAFETY: `last` is ours and not COMPLETED.
            let next = unsafe { w(last) }.link_newer.load(Relaxed);
            // SAFETY: the next memtable writer is queued and waiting.
            let next = unsafe { w(next) };
            next.link_older.store(ptr::null_mut(), Relaxed);
            self.set_state(next, MEMTABLE_WRITER_LEADER);
        }
        let mut p = leader;
        loop {
            // SAFETY: a member of our group, not COMPLETED until below.
            let wr = unsafe { w(p) };
            let newer = wr.link_newer.load(Relaxed);
            if p != leader {
                wr.set_own_status_from_completer(status.clone());
                self.set_state(wr, COMPLETED);
            }
            if p == last {
                break;
            }
            p = newer;
        }
        // SAFETY: the leader owns the group and is completed last.
        let leader = unsafe { w(leader) };
        leader.set_own_status_from_completer(status);
        self.set_state(leader, COMPLETED);
    }

    // ---------------------------------------------------------------- exclusive access

    /// Waits until `w` (an unbatched writer) has the queue to itself: every earlier write is
    /// done (in pipelined mode, its memtable insert too) and later ones wait. Pair with
    /// [`exit_unbatched`](Self::exit_unbatched).
    pub fn enter_unbatched(&self, w: &Writer<'_>) {
        debug_assert!(w.batch.is_none());
        if !self.link_one(w, &self.newest_writer) {
            // No leader takes an unbatched writer as a follower.
            self.await_state(w, GROUP_LEADER, Site::EnterUnbatched);
        }
        if self.pipelined {
            self.wait_for_memtable_writers();
        }
    }

    /// Gives the queue back after [`enter_unbatched`](Self::enter_unbatched).
    pub fn exit_unbatched(&self, me: &Writer<'_>) {
        let mine = me.as_ptr();
        if let Err(head) =
            self.newest_writer
                .compare_exchange(mine, ptr::null_mut(), AcqRel, Acquire)
        {
            self.create_missing_newer_links(head);
            let next = me.link_newer.load(Relaxed);
            // SAFETY: the writer after us is queued and waiting to lead.
            let next = unsafe { w(next) };
            next.link_older.store(ptr::null_mut(), Relaxed);
            self.set_state(next, GROUP_LEADER);
        }
    }

    /// Pipelined: waits until every memtable group queued so far is inserted.
    pub(crate) fn wait_for_memtable_writers(&self) {
        if self.newest_memtable_writer.load(Acquire).is_null() {
            return;
        }
        let me = Writer::new(None, &WriteOptions::default());
        if !self.link_one(&me, &self.newest_memtable_writer) {
            self.await_state(&me, MEMTABLE_WRITER_LEADER, Site::WaitForMemtableWriters);
        }
        // Nobody can join behind us: WAL leadership is ours, so no group is linked meanwhile.
        self.newest_memtable_writer.store(ptr::null_mut(), Release);
    }

    // ---------------------------------------------------------------- write stalls

    /// Starts a write stall (RocksDB's `BeginWriteStall`). Only the current `leader` calls
    /// this, before forming its group, and never with a `no_slowdown` leader (that one fails
    /// instead of waiting): new writers wait (or fail, with `no_slowdown`), and queued
    /// `no_slowdown` writers between the leader and the stall fail with `Incomplete` at once.
    pub fn begin_write_stall(&self, leader: &Writer<'_>) {
        debug_assert!(!leader.no_slowdown);
        let dummy = &*self.stall_dummy;
        dummy.link_newer.store(ptr::null_mut(), Relaxed);
        self.link_one(dummy, &self.newest_writer);
        let leader_ptr = leader.as_ptr();
        let mut prev = dummy.as_ptr();
        let mut p = dummy.link_older.load(Relaxed);
        // Walk from the newest queued writer back to (not including) the leader: the leader is
        // the oldest writer in the queue, and it is not failed here.
        while !p.is_null() && p != leader_ptr {
            // SAFETY: queued writers behind the dummy are waiting (only the caller, the leader,
            // completes writers).
            let wr = unsafe { w(p) };
            let older = wr.link_older.load(Relaxed);
            if wr.no_slowdown {
                // SAFETY: `prev` is the dummy or a queued, waiting writer.
                let prev_ref = unsafe { w(prev) };
                prev_ref.link_older.store(older, Relaxed);
                if !older.is_null() {
                    // SAFETY: `older` is queued and waiting (or is the leader).
                    let older_ref = unsafe { w(older) };
                    // Only patch a link that exists: `create_missing_newer_links` stops at the
                    // first one it finds set.
                    if !older_ref.link_newer.load(Relaxed).is_null() {
                        older_ref.link_newer.store(prev, Relaxed);
                    }
                }
                wr.set_own_status_from_completer(Some(Error::Incomplete {
                    message: "write stall: the write would have to wait and no_slowdown is set"
                        .into(),
                }));
                self.set_state(wr, COMPLETED);
            } else {
                prev = p;
            }
            p = older;
        }
    }

    /// Ends the write stall: unlinks the dummy and lets waiting writers link again.
    pub fn end_write_stall(&self) {
        let guard = self.stall_mu.lock();
        let dummy = &*self.stall_dummy;
        let older = dummy.link_older.load(Relaxed);
        if !older.is_null() {
            // SAFETY: the writer just behind the dummy is the newest writer that was queued
            // when the stall began and not failed by `begin_write_stall` (the stalled leader
            // itself, or a writer waiting behind it). It is alive: only the leader completes
            // writers, and the leader is the caller, which has not formed its group yet.
            unsafe { w(older) }
                .link_newer
                .store(dummy.link_newer.load(Relaxed), Relaxed);
        }
        self.newest_writer.store(older, Release);
        self.stall_cv.notify_all();
        drop(guard);
    }
}

impl Writer<'_> {
    /// Writes the status of a writer this thread is about to complete.
    fn set_own_status_from_completer(&self, status: Option<Error>) {
        // SAFETY: the caller completes this writer next (set_state COMPLETED, release); until
        // then the owner does not read its status, and nobody else writes it.
        self.status.with_mut(|s| unsafe { *s = status });
    }
}

/// ⌊√n⌋, at least 1 (groups are small, so counting up is fine).
fn isqrt(n: usize) -> usize {
    let mut r = 1;
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}
