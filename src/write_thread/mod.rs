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
//!   previous leader on exit (`WriteThread::hand_off`). The leader forms a group from itself
//!   towards the newest writer, writes the WAL for all of them, and either inserts every batch
//!   itself or launches parallel writers. Next: `PARALLEL_MEMTABLE_WRITER` (it inserts its own
//!   batch too) or, once the group is done, `COMPLETED`.
//! * `MEMTABLE_WRITER_LEADER` — pipelined only: set when the writer's group reaches the head of
//!   the memtable queue (by the WAL leader that linked it, or by the previous memtable leader
//!   through `hand_off`). It forms a memtable group and inserts it (alone, or launching
//!   parallel writers).
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
//!
//! # Files
//!
//! [`writer`] (the stack `Writer`), [`group`] (`WriteGroup`), `wait` (setting a state and
//! waiting for one), `link` (linking onto a queue), `leader` (forming a WAL group, exit and
//! hand-off), `memtable` (parallel and pipelined memtable writers), `unbatched` (exclusive
//! access) and `stall` (write stalls). Every function that follows a queue pointer does it
//! through [`w`], whose contract is the lifetime rule above.

// Reachable from outside only through the loom models' `loom_api`.
#![cfg_attr(loom, allow(missing_docs))]

use std::fmt;
use std::ptr;
#[cfg(loom)]
use std::sync::atomic::Ordering::Relaxed;

use crate::options::{Options, WriteOptions};
use crate::sync::{AtomicI32, AtomicPtr, Condvar, Mutex};
#[cfg(not(loom))]
use crate::sync::{AtomicU64, AtomicUsize};

mod group;
mod leader;
mod link;
mod memtable;
mod stall;
mod unbatched;
mod wait;
mod writer;

pub use group::WriteGroup;
pub use writer::Writer;

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
#[cfg(loom)]
use state::*;

type WriterPtr = *mut Writer<'static>;

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
}
