//! The background compaction thread (LevelDB's `BackgroundCompaction`), beside the flush
//! thread so that a flush never waits behind a compaction.
//!
//! **Wake-ups.** `CompactionQueue::wake` bumps a generation counter and notifies the condvar;
//! it is called after every flush install, every compaction install, by a manual request and
//! by close. The thread re-scores the current version whenever the generation moved since it
//! last looked, so no wake-up is lost between its check and its wait.
//!
//! **One step** (state machine, each step on its own):
//! 1. *pick* under the `VersionSet` lock: a pending manual request's next piece
//!    (`picker::compact_range`, no trivial move) first, otherwise the best level score ≥ 1
//!    (`picker::pick_compaction`); nothing to do → wait;
//! 2. *run* without any DB lock (`job::run_compaction`): outputs get pending file numbers, the
//!    drop rules use the smallest live snapshot read at the start, and the job checks the
//!    shutdown flag per entry;
//! 3. *install*: the edit goes through `log_and_apply` (the MANIFEST is synced before the
//!    version is current), then, under the DB mutex, a SuperVersion with the *current*
//!    version is published (the flush thread installs the same way, so concurrent installs
//!    never publish an older version over a newer one);
//! 4. *clean up*, once the step's `Compaction` (which holds its input version) is dropped:
//!    obsolete files are deleted (inputs no live version holds), stalled writers and
//!    `compact_range` callers are woken, and the thread goes back to 1.
//!
//! A failed step (I/O error, full disk, damaged input) installs nothing, deletes only the
//! outputs it created, makes the error sticky and stops compacting until close; a step cut
//! short by close (or the crash-simulation halt) installs nothing either.

use std::path::PathBuf;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::compaction::{
    compact_range, pick_compaction, run_compaction, Compaction, CompactionOptions, JobContext,
};
use crate::dbformat::compare_internal_keys;
use crate::error::{Error, Result};
use crate::fs::{FileOptions, FileSystem};
use crate::stats::Statistics;
use crate::sync::{Condvar, Mutex};
use crate::table::{TableCache, TableOptions};
use crate::version::filename::table_file_name;
use crate::version::VersionSet;

use super::error_handler::ErrorHandler;
use super::make_room::SvCell;
use super::obsolete::delete_obsolete;
use super::snapshot::SnapshotList;
use super::wal_set::WalSet;

/// A manual compaction of one level over internal keys `[begin, end]` (`None` = unbounded),
/// done in pieces; `result` is set when the level has no file left in the range, or on error.
#[derive(Debug)]
pub(crate) struct ManualCompaction {
    pub(crate) id: u64,
    pub(crate) level: usize,
    pub(crate) begin: Option<Vec<u8>>,
    pub(crate) end: Option<Vec<u8>>,
    pub(crate) result: Option<Result<()>>,
}

/// What the thread and its clients share, under `CompactionQueue::state`.
#[derive(Debug, Default)]
pub(crate) struct CompactionState {
    /// Bumped by every wake-up.
    pub(crate) generation: u64,
    /// The generation the thread last scored.
    seen_generation: u64,
    /// The one manual request in progress (others wait for their turn).
    pub(crate) manual: Option<ManualCompaction>,
    pub(crate) next_manual_id: u64,
    /// A compaction step is running.
    pub(crate) running: bool,
    /// Compaction steps installed since open (trivial moves included).
    pub(crate) installed: u64,
    /// A compaction failed: nothing more is compacted.
    pub(crate) failed: bool,
    /// Close or the crash-simulation halt: the thread exits.
    pub(crate) stop: bool,
    /// Test hook: no new step starts while set.
    pub(crate) hold: bool,
}

/// The state, its condvar and the shutdown flag a running job polls.
#[derive(Debug, Default)]
pub(crate) struct CompactionQueue {
    pub(crate) state: Mutex<CompactionState>,
    pub(crate) cv: Condvar,
    pub(crate) shutting_down: AtomicBool,
}

impl CompactionQueue {
    /// Asks the thread to look again (something changed the version or a request arrived).
    pub(crate) fn wake(&self) {
        let mut s = self.state.lock();
        s.generation += 1;
        self.cv.notify_all();
    }

    /// Stops the thread: a running job is abandoned without installing.
    pub(crate) fn stop(&self) {
        self.shutting_down.store(true, Release);
        let mut s = self.state.lock();
        s.stop = true;
        self.cv.notify_all();
    }

    /// Test hook: holds (or releases) new compaction steps.
    pub(crate) fn hold(&self, on: bool) {
        let mut s = self.state.lock();
        s.hold = on;
        s.generation += 1;
        self.cv.notify_all();
    }
}

/// The work of one step.
enum Work {
    Manual {
        level: usize,
        begin: Option<Vec<u8>>,
        end: Option<Vec<u8>>,
    },
    Auto,
}

/// What the compaction thread shares with the DB.
pub(crate) struct CompactionContext {
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
    pub(crate) queue: Arc<CompactionQueue>,
    pub(crate) tables: Arc<TableCache>,
    pub(crate) table_options: TableOptions,
    pub(crate) options: CompactionOptions,
    /// `Options::disable_auto_compactions`: only manual requests are run.
    pub(crate) disable_auto_compactions: bool,
    /// Called after each install or failure so stalled writers re-check.
    pub(crate) wake_writers: Box<dyn Fn() + Send + Sync>,
}

impl CompactionContext {
    /// The thread's body: runs until close (or the halt hook) stops it.
    pub(crate) fn run(self) {
        loop {
            let work = {
                let mut s = self.queue.state.lock();
                loop {
                    if s.stop {
                        return;
                    }
                    if !s.failed && !s.hold {
                        if let Some(m) = s.manual.as_ref().filter(|m| m.result.is_none()) {
                            break Work::Manual {
                                level: m.level,
                                begin: m.begin.clone(),
                                end: m.end.clone(),
                            };
                        }
                        if s.generation != s.seen_generation {
                            s.seen_generation = s.generation;
                            if !self.disable_auto_compactions {
                                break Work::Auto;
                            }
                        }
                    }
                    s = self.queue.cv.wait(s);
                }
            };
            self.queue.state.lock().running = true;
            let outcome = match work {
                Work::Auto => self.auto_step(),
                Work::Manual { level, begin, end } => self
                    .manual_step(level, begin.as_deref(), end.as_deref())
                    .map(Some),
            };
            if matches!(
                outcome,
                Ok(Some(ManualNext::From(_) | ManualNext::NotManual))
            ) {
                self.delete_obsolete_files();
            }
            let mut s = self.queue.state.lock();
            s.running = false;
            match outcome {
                // Auto: nothing scored ≥ 1; wait for the next wake-up.
                Ok(None) => {}
                Ok(Some(next)) => {
                    if !matches!(next, ManualNext::Done) {
                        s.installed += 1;
                        // The version changed: score it again.
                        s.generation += 1;
                    }
                    if let Some(m) = s.manual.as_mut().filter(|m| m.result.is_none()) {
                        match next {
                            // The manual request's level has nothing left in the range.
                            ManualNext::Done => m.result = Some(Ok(())),
                            ManualNext::From(key) => m.begin = Some(key),
                            ManualNext::NotManual => {}
                        }
                    }
                }
                Err(e) => {
                    if !matches!(e, Error::Closed) {
                        self.bg_error.set(&e);
                        s.failed = true;
                    }
                    if let Some(m) = s.manual.as_mut().filter(|m| m.result.is_none()) {
                        m.result = Some(Err(e));
                    }
                }
            }
            self.queue.cv.notify_all();
            drop(s);
            (self.wake_writers)();
        }
    }

    /// One size compaction, if a level scores ≥ 1 (`Ok(None)` if none does).
    fn auto_step(&self) -> Result<Option<ManualNext>> {
        let picked = {
            let mut set = self.versions.lock();
            let version = set.current();
            pick_compaction(&version, set.compact_pointers_mut(), &self.options)
        };
        match picked {
            None => Ok(None),
            Some(mut c) => {
                self.run_job(&mut c, true)?;
                Ok(Some(ManualNext::NotManual))
            }
        }
    }

    /// The next piece of a manual compaction of `level` over `[begin, end]`.
    fn manual_step(
        &self,
        level: usize,
        begin: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Result<ManualNext> {
        let picked = {
            let mut set = self.versions.lock();
            let version = set.current();
            compact_range(
                &version,
                level,
                begin,
                end,
                set.compact_pointers_mut(),
                &self.options,
            )
        };
        let Some(mut c) = picked else {
            return Ok(ManualNext::Done);
        };
        // The piece may stop short of `end` (level ≥ 1 inputs are cut at a target file
        // size): the next piece starts after its last input.
        let last = c
            .inputs(0)
            .iter()
            .map(|f| f.largest.clone())
            .max_by(|a, b| compare_internal_keys(a, b));
        // A manual compaction rewrites even a lone file, so tombstones and old versions in
        // the range are really dropped (LevelDB's rule).
        self.run_job(&mut c, false)?;
        Ok(last.map_or(ManualNext::Done, ManualNext::From))
    }

    /// Runs `c`, installs its edit and publishes the new version.
    fn run_job(&self, c: &mut Compaction, allow_trivial_move: bool) -> Result<()> {
        let level = c.level();
        let ctx = JobContext {
            fs: Arc::clone(&self.fs),
            dir: self.dir.clone(),
            table_cache: Arc::clone(&self.tables),
            table_options: self.table_options.clone(),
            file_options: FileOptions::default(),
            allow_trivial_move,
        };
        let smallest_snapshot = self.snapshots.smallest_or(&self.published);
        let mut new_number = || self.versions.lock().new_pending_output();
        let ran = run_compaction(
            c,
            &ctx,
            smallest_snapshot,
            &mut new_number,
            &self.queue.shutting_down,
        );
        let mut result = match ran {
            Ok(r) => r,
            Err(failed) => {
                // Its outputs are in no version: remove them (they were pending, so no other
                // deletion touched them). The inputs are untouched.
                self.abandon(&failed.created_outputs);
                return Err(context(level, failed.error));
            }
        };
        let outputs: Vec<u64> = result.outputs.iter().map(|f| f.number).collect();
        if self.queue.shutting_down.load(Acquire) {
            // Close asked to stop: nothing is installed after it.
            for &n in &outputs {
                self.tables.evict(n);
            }
            self.abandon(&outputs);
            return Err(Error::Closed);
        }
        let installed = {
            let mut set = self.versions.lock();
            let r = set.log_and_apply(&mut result.edit);
            // Installed, they are live; on failure they stay on disk (the edit may have
            // reached it: a failed sync says nothing about what was written) and stay
            // pending, so that no deletion touches them before the next open decides (the
            // error becomes sticky only after this returns: a deletion running meanwhile in
            // the flush thread would otherwise see them unnamed and unpending).
            if r.is_ok() {
                for &n in &outputs {
                    set.release_pending_output(n);
                }
            }
            r
        };
        installed.map_err(|e| context(level, e))?;
        {
            let _mu = self.mu.lock();
            let version = self.versions.lock().current();
            let sv = self.sv.load().with_version(version);
            self.sv.store(Arc::new(sv));
        }
        let s = &self.stats;
        s.compactions.fetch_add(1, Relaxed);
        s.compaction_bytes_read
            .fetch_add(result.stats.bytes_read, Relaxed);
        s.compaction_bytes_written
            .fetch_add(result.stats.bytes_written, Relaxed);
        Ok(())
    }

    /// Deletes what the last install made obsolete. Called once the step's `Compaction` is
    /// dropped: it holds its input version, whose tables would otherwise count as live.
    fn delete_obsolete_files(&self) {
        if self.bg_error.check().is_ok() {
            // A file that could not be deleted costs only space; the next install retries.
            let _ = delete_obsolete(
                self.fs.as_ref(),
                &self.dir,
                &self.versions,
                &self.wals,
                Some(&self.tables),
            );
        }
    }

    /// Removes output files no version names, and forgets them as pending.
    fn abandon(&self, numbers: &[u64]) {
        for &n in numbers {
            // Best effort: a leftover is deleted by the next open's cleanup.
            let _ = self.fs.remove_file(&table_file_name(&self.dir, n));
        }
        let mut set = self.versions.lock();
        for &n in numbers {
            set.release_pending_output(n);
        }
    }
}

/// Where a manual compaction goes on after a step.
#[derive(Debug)]
enum ManualNext {
    /// The level has no file left in the range.
    Done,
    /// The next piece starts at this internal key.
    From(Vec<u8>),
    /// The step was a size compaction.
    NotManual,
}

/// The error of a compaction of `level`, saying so.
fn context(level: usize, e: Error) -> Error {
    let what = format!("compacting level {level} into level {}", level + 1);
    match e {
        Error::Io { context, source } => Error::Io {
            context: format!("{what}: {context}"),
            source,
        },
        Error::Corruption { message } => Error::Corruption {
            message: format!("{what}: {message}"),
        },
        other => other,
    }
}
