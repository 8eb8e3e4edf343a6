//! Write stalls, with one owner: the leader's pre-write step asks the controller whether its
//! group may go, and waits here when it may not (through `WriteThread::begin_write_stall`,
//! so that new writers queue behind a stalled leader and queued `no_slowdown` writers fail).
//!
//! Its only cause is the test hook (`DB::set_write_stall_for_test`, RocksDB's
//! `BeginWriteStall`/`EndWriteStall`). The real causes wait on the state that releases them:
//! the memtable stall on the flush queue (`make_room.rs`), the level-0 slowdown and stop on
//! the compaction queue (`level0_stall.rs`); all three stall the queue the same way.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::stats::Statistics;
use crate::sync::{Condvar, Mutex};
use crate::write_thread::{WriteThread, Writer};

/// The stall state. Lock: `stall` (leaders wait on `cv` under it); `requested` mirrors it so
/// the write path checks an atomic instead of the lock.
#[derive(Debug, Default)]
pub(crate) struct WriteController {
    stall: Mutex<bool>,
    cv: Condvar,
    requested: AtomicBool,
}

impl WriteController {
    /// Turns the requested stall on or off; off wakes the stalled leader.
    pub(crate) fn request_stall(&self, on: bool) {
        let mut s = self.stall.lock();
        *s = on;
        self.requested.store(on, Release);
        if !on {
            self.cv.notify_all();
        }
    }

    /// Wakes a stalled leader (close sets `closed` first: the leader then gives up).
    pub(crate) fn wake_all(&self) {
        let _g = self.stall.lock();
        self.cv.notify_all();
    }

    /// The leader's stall check: returns at once without a stall; with one, a `no_slowdown`
    /// leader fails with `Incomplete`, any other waits until the stall ends (its time goes to
    /// `stall_micros`) or the database closes (`Closed`).
    pub(crate) fn wait_out(
        &self,
        wt: &WriteThread,
        leader: &Writer<'_>,
        closed: &AtomicBool,
        stats: &Statistics,
    ) -> Result<()> {
        if !self.requested.load(Acquire) {
            return Ok(());
        }
        let mut stall = self.stall.lock();
        if *stall {
            if leader.no_slowdown {
                return Err(Error::Incomplete {
                    message: "write stall: the write would have to wait and no_slowdown is set"
                        .into(),
                });
            }
            let start = Instant::now();
            wt.begin_write_stall(leader);
            while *stall && !closed.load(Acquire) {
                stall = self.cv.wait(stall);
            }
            wt.end_write_stall();
            let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.stall_micros.fetch_add(waited, Relaxed);
            if closed.load(Acquire) {
                return Err(Error::Closed);
            }
        }
        Ok(())
    }
}
