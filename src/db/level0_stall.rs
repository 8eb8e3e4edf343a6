//! The level-0 write triggers, in the leader's pre-write step (LevelDB's `MakeRoomForWrite`,
//! checked once per write group, so a group of many writers pays once):
//!
//! * **slowdown** at `level0_slowdown_writes_trigger` L0 files: the leader sleeps 1 ms before
//!   its group goes (LevelDB's rule). Chosen over RocksDB's rate-based delay because it needs
//!   no calibration and its effect is easy to reason about: each group yields 1 ms of CPU and
//!   disk to the compaction thread, which on a 2-core machine is what lets it catch up, and
//!   the L0 stop below is the hard bound either way.
//! * **stop** when L0 files plus the immutable memtables waiting for flush reach
//!   `level0_stop_writes_trigger`: a waiting memtable is an L0 file about to be, so counting it
//!   keeps L0 itself at or below the trigger (RocksDB counts only L0 files, and flushes in
//!   flight can push L0 past it). The leader stalls the write queue
//!   (`WriteThread::begin_write_stall`: queued `no_slowdown` writers fail) until a flush or
//!   compaction install brings the count below the trigger.
//!
//! `DB::flush` waits on the same stop before it switches a memtable holding writes
//! (`switch_unbatched_below_level0_stop`); close does not, so it always ends, and may leave
//! level 0 one table past the trigger. `compact_range`, which flushes first, compacts all of
//! level 0 into level 1 before its flush when level 0 is at the stop, so that with
//! `disable_auto_compactions` it never waits for itself.
//!
//! A `no_slowdown` leader fails with `Incomplete` instead of being delayed or stopped
//! (RocksDB's rule for both). Waiting time goes to `stall_l0_slowdown_micros` /
//! `stall_l0_stop_micros` and to `stall_micros`. Close, a flush failure and a compaction
//! failure end the stop (the waiter re-checks at least every 100 ms, and both threads wake it).

use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::options::WriteOptions;
use crate::write_thread::{WriteThread, Writer};

use super::write_impl::AbortOnUnwind;
use super::DB;

/// Why [`DB::wait_below_level0_stop`] returned.
enum Level0Wait {
    /// Level 0 is below the stop trigger.
    Below,
    /// The database is closing.
    Closing,
    /// A background error is set.
    BackgroundError,
    /// Compaction stopped after a failure: level 0 will not shrink.
    CompactionFailed,
}

impl DB {
    /// The leader's level-0 check before it forms its group, given level 0's file count and
    /// the memtables waiting for flush as the leader's SuperVersion load found them.
    pub(super) fn wait_for_level0(
        &self,
        wt: &WriteThread,
        leader: &Writer<'_>,
        l0: usize,
        pending: usize,
    ) -> Result<()> {
        if l0 + pending >= self.level0_stop_writes_trigger {
            self.level0_stop(wt, leader)?;
        } else if l0 >= self.level0_slowdown_writes_trigger {
            if leader.no_slowdown {
                return Err(Error::Incomplete {
                    message: format!(
                        "write slowdown: {l0} level-0 files (level0_slowdown_writes_trigger {}) \
                         and no_slowdown is set",
                        self.level0_slowdown_writes_trigger
                    ),
                });
            }
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            self.record_stall(start, &self.stats.stall_l0_slowdown_micros);
        }
        Ok(())
    }

    /// Level 0 (with the memtables waiting for flush) is at the stop trigger.
    pub(super) fn level0_at_stop(&self) -> bool {
        let (l0, pending) = self.level0_pressure();
        l0 + pending >= self.level0_stop_writes_trigger
    }

    /// L0 files, and memtables waiting to become L0 files.
    fn level0_pressure(&self) -> (usize, usize) {
        let sv = self.sv.load();
        (sv.version.num_files(0), sv.imm.len())
    }

    fn level0_stop(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<()> {
        let stop = self.level0_stop_writes_trigger;
        if leader.no_slowdown {
            return Err(Error::Incomplete {
                message: format!(
                    "write stop: level 0 holds (or is about to hold) {stop} files \
                     (level0_stop_writes_trigger) and no_slowdown is set"
                ),
            });
        }
        let start = Instant::now();
        wt.begin_write_stall(leader);
        // Whatever ended the wait, the writes go on unless the database is closing or failed.
        self.wait_below_level0_stop();
        wt.end_write_stall();
        self.record_stall(start, &self.stats.stall_l0_stop_micros);
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        self.bg_error.check()
    }

    /// `DB::flush`'s switch: the memtable becomes an L0 table only while L0 files plus the
    /// memtables waiting for flush are below the stop trigger, checked as the write thread's
    /// only writer so that no write group switches in between (a write passes its own check
    /// at one below the trigger, switches a full memtable and lands in the new one; flushing
    /// that one without this check made L0 one table over the trigger). Waits like a stopped
    /// write, without stalling the queue (the writers stop on their own at the trigger).
    pub(super) fn switch_unbatched_below_level0_stop(&self) -> Result<()> {
        let stop = self.level0_stop_writes_trigger;
        loop {
            let me = Writer::new(None, &WriteOptions::default());
            // From linking `me` until it is unlinked, other writers may point at it.
            let _guard = AbortOnUnwind::new("flush");
            self.write_thread.enter_unbatched(&me);
            let (l0, pending) = self.level0_pressure();
            let result = if self.sv.load().mem.is_empty() {
                Some(Ok(()))
            } else if l0 + pending < stop {
                Some(self.switch_memtable())
            } else {
                None
            };
            self.write_thread.exit_unbatched(&me);
            if let Some(result) = result {
                return result;
            }
            match self.wait_below_level0_stop() {
                Level0Wait::Below => {}
                Level0Wait::Closing => return Err(Error::Closed),
                Level0Wait::BackgroundError => self.bg_error.check()?,
                Level0Wait::CompactionFailed => {
                    return Err(Error::corruption(
                        "flush: level 0 is at level0_stop_writes_trigger and compaction \
                         stopped after a failure",
                    ))
                }
            }
        }
    }

    /// Waits until level 0 with the memtables waiting for flush is below the stop trigger, or
    /// until something makes that wait pointless; says which.
    fn wait_below_level0_stop(&self) -> Level0Wait {
        let queue = &self.compaction_queue;
        let mut s = queue.state.lock();
        loop {
            if s.stop || self.closed.load(Acquire) {
                return Level0Wait::Closing;
            }
            if self.bg_error.check().is_err() {
                return Level0Wait::BackgroundError;
            }
            if s.failed {
                return Level0Wait::CompactionFailed;
            }
            let (l0, pending) = self.level0_pressure();
            if l0 + pending < self.level0_stop_writes_trigger {
                return Level0Wait::Below;
            }
            // Installs notify under the lock after publishing; the timeout covers a flush
            // failure, which wakes the controller rather than this condvar.
            s = queue.cv.wait_for(s, Duration::from_millis(100));
        }
    }

    fn record_stall(&self, start: Instant, counter: &std::sync::atomic::AtomicU64) {
        let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        counter.fetch_add(waited, Relaxed);
        self.stats.stall_micros.fetch_add(waited, Relaxed);
    }
}
