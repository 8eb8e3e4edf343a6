//! The [`WriteGroup`]: consecutive writers committed together, on their leader's stack.

use std::fmt;
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;

use super::Writer;
use crate::error::Error;
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex};

/// A write group: consecutive writers from `leader` to `last_writer` committed together. Lives
/// on the leader's stack.
pub struct WriteGroup {
    pub(super) leader: AtomicPtr<Writer<'static>>,
    pub(super) last_writer: AtomicPtr<Writer<'static>>,
    pub(super) size: AtomicUsize,
    /// The sequence of the group's last record.
    pub(super) last_sequence: AtomicU64,
    /// Records and bytes of the members' batches (WAL groups, set when the group forms).
    pub(super) records: AtomicU64,
    pub(super) bytes: AtomicU64,
    /// Parallel writers still inserting.
    pub(super) running: AtomicUsize,
    /// The group's leader asked for `sync`: its members have each just waited out an
    /// `fdatasync` (see `complete_parallel_memtable_writer`).
    pub(super) sync: AtomicBool,
    /// The first memtable-insert error of a parallel group.
    pub(super) status: Mutex<Option<Error>>,
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

    /// Makes `leader` the group's only member so far, before the leader extends it with the
    /// writers queued after it. The caller is `leader`'s own thread.
    pub(super) fn start(&self, leader: &Writer<'_>) {
        let leader_ptr = leader.as_ptr();
        leader
            .group
            .store(self as *const WriteGroup as *mut WriteGroup, Relaxed);
        self.leader.store(leader_ptr, Relaxed);
        self.size.store(1, Relaxed);
        self.last_writer.store(leader_ptr, Relaxed);
        self.sync.store(leader.sync, Relaxed);
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
    pub(super) fn record_error(&self, e: Error) {
        let mut s = self.status.lock();
        if s.is_none() {
            *s = Some(e);
        }
    }
}

// SAFETY: `WriteGroup` fields are atomics or a mutex; the writer pointers follow the protocol.
unsafe impl Send for WriteGroup {}
// SAFETY: as above.
unsafe impl Sync for WriteGroup {}
