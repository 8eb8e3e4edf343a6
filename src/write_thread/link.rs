//! Linking writers onto a queue (one, or a whole group) and filling in the newer links.

use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use super::stall::stall_refusal;
use super::state::*;
use super::{w, Site, WriteGroup, WriteThread, Writer, WriterPtr};
use crate::sync::AtomicPtr;

impl WriteThread {
    /// Links `w` onto `queue`; true if it is the new head of an empty queue. On the main queue
    /// during a stall, a `no_slowdown` writer is completed with `Incomplete` (returns false)
    /// and any other writer waits for the stall to end.
    pub(super) fn link_one(&self, w: &Writer<'_>, queue: &AtomicPtr<Writer<'static>>) -> bool {
        let dummy = self.stall_dummy.as_ptr();
        let mut head = queue.load(Acquire);
        loop {
            if head == dummy {
                if w.no_slowdown {
                    w.set_own_status(Some(stall_refusal()));
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
    pub(super) fn create_missing_newer_links(&self, mut head: WriterPtr) {
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

    /// Links a whole group onto `queue`, in order; true if it became the head of an empty queue.
    pub(super) fn link_group(
        &self,
        group: &WriteGroup,
        queue: &AtomicPtr<Writer<'static>>,
    ) -> bool {
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
}
