//! The [`Writer`]: one pending write, on its caller's stack, and the hand-over of its status.

use std::fmt;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed};

use super::state::*;
use super::{WriteGroup, WriterPtr};
use crate::error::Error;
use crate::options::WriteOptions;
use crate::sync::{AtomicPtr, AtomicU64, AtomicU8, Condvar, Mutex, UnsafeCell};
use crate::write_batch::WriteBatch;

/// One pending write, on its caller's stack. Must not move while it is in a queue: the
/// functions that link it take `&Writer`, and the caller keeps it borrowed until its write
/// returns.
pub struct Writer<'a> {
    pub(super) batch: Option<&'a WriteBatch>,
    /// The write must be synced; only a sync leader takes it.
    pub sync: bool,
    /// The write skips the WAL; groups never mix it with WAL writes.
    pub disable_wal: bool,
    /// The write fails rather than wait out a stall; groups never mix it with others.
    pub no_slowdown: bool,
    pub(super) state: AtomicU8,
    /// The sequence of the first record of `batch` (set by the leader).
    pub(super) sequence: AtomicU64,
    /// The outcome, written by whoever completes this writer before it sets `COMPLETED` (or by
    /// the writer's own thread); read by the owner after it sees `COMPLETED`.
    pub(super) status: UnsafeCell<Option<Error>>,
    /// The group this writer belongs to, which lives on its leader's stack.
    pub(super) group: AtomicPtr<WriteGroup>,
    pub(super) link_older: AtomicPtr<Writer<'static>>,
    pub(super) link_newer: AtomicPtr<Writer<'static>>,
    pub(super) state_mu: Mutex<()>,
    pub(super) state_cv: Condvar,
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

    pub(super) fn as_ptr(&self) -> WriterPtr {
        self as *const Writer<'a> as *mut Writer<'static>
    }

    /// The batch (None for unbatched writers).
    pub fn batch(&self) -> Option<&'a WriteBatch> {
        self.batch
    }

    pub(super) fn batch_size(&self) -> usize {
        self.batch.map_or(0, WriteBatch::approximate_size)
    }

    pub(super) fn batch_count(&self) -> u64 {
        u64::from(self.batch.map_or(0, WriteBatch::count))
    }

    /// The current state (one of [`state`](super::state)).
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

    pub(super) fn has_error(&self) -> bool {
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

// SAFETY: a `Writer` is shared by address among the threads of one queue; its mutable fields
// are atomics, a mutex, or `status`, whose hand-over protocol is documented on the field.
unsafe impl Send for Writer<'_> {}
// SAFETY: as above.
unsafe impl Sync for Writer<'_> {}

impl Writer<'_> {
    /// Writes the status of a writer this thread is about to complete.
    pub(super) fn set_own_status_from_completer(&self, status: Option<Error>) {
        // SAFETY: the caller completes this writer next (set_state COMPLETED, release); until
        // then the owner does not read its status, and nobody else writes it.
        self.status.with_mut(|s| unsafe { *s = status });
    }
}
