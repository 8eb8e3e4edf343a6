//! The background flush thread (LevelDB's `BackgroundFlush`): it takes the immutable
//! memtables the switches queue, oldest first, syncs the WALs they were logged in, writes each
//! into an L0 table recorded in the MANIFEST (`flush::run_flush`), installs a SuperVersion
//! without the flushed memtable, and deletes the files nothing needs any more.
//!
//! One condvar (`FlushQueue::cv`) is notified by every switch (a job queued), every install
//! (a job done), a failure and close, so the thread, `DB::flush` and a leader stalled on
//! too many memtables all wait on the same state.
//!
//! A failure is made sticky (`ErrorHandler`): writes fail naming it, reads keep working, and
//! the thread stops flushing and deletes nothing until close; reopen recovers from the WALs,
//! which were not deleted.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::error::Result;
use crate::fs::FileSystem;
use crate::stats::Statistics;
use crate::sync::{Condvar, Mutex};
use crate::table::{TableCache, TableOptions};
use crate::version::VersionSet;

use super::error_handler::ErrorHandler;
use super::flush::{run_flush, FlushJob};
use super::make_room::SvCell;
use super::obsolete::delete_obsolete;
use super::snapshot::SnapshotList;
use super::wal_set::WalSet;

/// The queue of memtables waiting for flush, and the thread's progress.
#[derive(Debug, Default)]
pub(crate) struct FlushState {
    /// Oldest first; a job stays at the front while it is flushed.
    pub(crate) queue: VecDeque<FlushJob>,
    /// Jobs ever queued / completed: `DB::flush` waits until `done` reaches what was queued
    /// when it asked.
    pub(crate) queued: u64,
    pub(crate) done: u64,
    /// Set by close: the thread exits once the queue is empty (or at once after a failure).
    pub(crate) stop: bool,
    /// A flush failed: nothing more is flushed.
    pub(crate) failed: bool,
    /// Test hook (a simulated crash): exit without flushing what is queued.
    pub(crate) halt: bool,
}

/// The state and its condvar.
#[derive(Debug, Default)]
pub(crate) struct FlushQueue {
    pub(crate) state: Mutex<FlushState>,
    pub(crate) cv: Condvar,
}

impl FlushQueue {
    /// Queues `job` (called by the switch, under the DB mutex) and wakes the thread.
    pub(crate) fn push(&self, job: FlushJob) {
        let mut s = self.state.lock();
        s.queue.push_back(job);
        s.queued += 1;
        self.cv.notify_all();
    }

    /// Waits until every job queued so far is flushed; `false` if a flush failed first (or
    /// the thread stopped with jobs left).
    pub(crate) fn wait_drained(&self) -> bool {
        let mut s = self.state.lock();
        let target = s.queued;
        let finished = |s: &FlushState| {
            s.done >= target || s.failed || s.halt || (s.stop && s.queue.is_empty())
        };
        while !finished(&s) {
            s = self.cv.wait(s);
        }
        s.done >= target
    }

    /// Makes the thread exit before its next job, whatever is queued (a simulated crash).
    pub(crate) fn halt(&self) {
        let mut s = self.state.lock();
        s.halt = true;
        self.cv.notify_all();
    }

    /// Asks the thread to stop once the queue is empty.
    pub(crate) fn stop(&self) {
        let mut s = self.state.lock();
        s.stop = true;
        self.cv.notify_all();
    }
}

/// What the flush thread shares with the DB.
pub(crate) struct FlushContext {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) dir: PathBuf,
    pub(crate) sv: Arc<SvCell>,
    pub(crate) mu: Arc<Mutex<()>>,
    pub(crate) wals: Arc<WalSet>,
    pub(crate) versions: Arc<Mutex<VersionSet>>,
    pub(crate) bg_error: Arc<ErrorHandler>,
    pub(crate) snapshots: Arc<SnapshotList>,
    pub(crate) published: Arc<AtomicU64>,
    pub(crate) stats: Arc<Statistics>,
    pub(crate) queue: Arc<FlushQueue>,
    pub(crate) table_options: TableOptions,
    /// Open tables: deleted ones are evicted.
    pub(crate) tables: Arc<TableCache>,
    /// Called after each install or failure so stalled writers re-check.
    pub(crate) wake_writers: Box<dyn Fn() + Send + Sync>,
}

impl FlushContext {
    /// The thread's body: runs until close asks it to stop and the queue is empty.
    pub(crate) fn run(self) {
        loop {
            let job = {
                let mut s = self.queue.state.lock();
                loop {
                    if s.halt {
                        return;
                    }
                    if s.failed {
                        if s.stop {
                            return;
                        }
                    } else if let Some(job) = s.queue.front() {
                        break job.clone();
                    } else if s.stop {
                        return;
                    }
                    s = self.queue.cv.wait(s);
                }
            };
            match self.flush_one(&job) {
                Ok(()) => {
                    let mut s = self.queue.state.lock();
                    s.queue.pop_front();
                    s.done += 1;
                    self.queue.cv.notify_all();
                }
                Err(e) => {
                    self.bg_error.set(&e);
                    let mut s = self.queue.state.lock();
                    s.failed = true;
                    self.queue.cv.notify_all();
                }
            }
            (self.wake_writers)();
        }
    }

    fn flush_one(&self, job: &FlushJob) -> Result<()> {
        // The memtable's writes must be durable in their WALs before the log number moves
        // past them... they will be in the table; but until the MANIFEST names it, a crash
        // replays the WALs, which must hold at least what a synced write in a newer WAL
        // depended on (I5): sync them now, off the write path.
        self.wals.sync_retired()?;
        let smallest = self.snapshots.smallest_or(&self.published);
        let flushed = run_flush(
            self.fs.as_ref(),
            &self.dir,
            &self.versions,
            job,
            &self.table_options,
            Some(smallest),
        )?;
        self.stats.flushes.fetch_add(1, Relaxed);
        if let Some(f) = &flushed.file {
            self.stats.flush_bytes.fetch_add(f.file_size, Relaxed);
        }
        {
            let _mu = self.mu.lock();
            // The current version, not `flushed.version`: a compaction may have installed
            // after this flush's edit, and publishing the older version would undo it for
            // readers.
            let version = self.versions.lock().current();
            drop(flushed);
            let sv = self.sv.load().flushed(&job.mem, version);
            self.sv.store(Arc::new(sv));
            self.wals.forget_below(job.wal_after);
        }
        // A file that could not be deleted costs only space: the next flush or open deletes
        // it (the rule is recomputed from the listing each time), so this is not a reason
        // to stop the database's writes. Nothing is deleted after a background error (a
        // compaction's included): the next open decides.
        if self.bg_error.check().is_ok() {
            let _ = delete_obsolete(
                self.fs.as_ref(),
                &self.dir,
                &self.versions,
                &self.wals,
                Some(&self.tables),
            );
        }
        Ok(())
    }
}
