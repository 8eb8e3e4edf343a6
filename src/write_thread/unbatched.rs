//! Exclusive access to the queue for an unbatched writer (`DB::close`).

use super::state::*;
use super::{Site, WriteThread, Writer};

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
        self.hand_off(&self.newest_writer, me, GROUP_LEADER);
    }
}
