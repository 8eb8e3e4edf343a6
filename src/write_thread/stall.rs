//! Write stalls: a dummy writer at the head of the queue holds new writers back.

use std::ptr;
use std::sync::atomic::Ordering::{Relaxed, Release};

use super::state::*;
use super::{w, WriteThread, Writer};
use crate::error::Error;

/// The outcome of a `no_slowdown` write that meets a stall: it fails rather than wait.
pub(super) fn stall_refusal() -> Error {
    Error::Incomplete {
        message: "write stall: the write would have to wait and no_slowdown is set".into(),
    }
}

impl WriteThread {
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
                wr.set_own_status_from_completer(Some(stall_refusal()));
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
