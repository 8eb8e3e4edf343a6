//! Exclusive access to the queue for an unbatched writer (`DB::close`).

use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use super::state::*;
use super::{w, Site, WriteThread, Writer};

impl WriteThread {
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
}
