//! The compaction merge job (LevelDB's `DBImpl::DoCompactionWork`): reads a picked
//! [`Compaction`]'s inputs as one merged stream, leaves out what no reader can see, writes the
//! rest into new tables for the output level, and describes the result as a [`VersionEdit`].
//!
//! * **Inputs**: each level-0 input file is its own cursor (level-0 files overlap); the inputs
//!   of a level ≥ 1 are one [`LevelIterator`] (sorted, disjoint files). A
//!   [`MergingIterator`] merges them. Blocks are read with their checksums checked and are not
//!   put in the block cache (the inputs are about to become obsolete).
//! * **Dropping** follows LevelDB's two rules exactly (details in
//!   [`drop_rules`](super::drop_rules)). Readers never read below the smallest live snapshot
//!   `S` (the latest sequence when there is none):
//!   * **(A)** an entry is dropped when a newer entry of its user key has a sequence ≤ `S`:
//!     every reader sees that newer entry first, so none can reach the older one;
//!   * **(B)** a deletion with a sequence ≤ `S` is dropped when no level below the output
//!     holds its key: every reader sees it, the older entries it hides in the inputs go by
//!     rule (A) in the same pass, and nothing deeper is left for its absence to uncover.
//!
//!   An entry whose internal key does not parse is kept as it is (LevelDB: do not hide
//!   error keys) and counted in [`CompactionStats::corrupt_keys`].
//! * **Outputs** are cut once a table reaches `target_file_size_base`, or when it would overlap
//!   more than ten target sizes of grandparent bytes
//!   ([`Compaction::should_stop_before`]): the next compaction of the output level then stays
//!   bounded. A cut is never placed between two entries of the same user key (RocksDB's rule),
//!   so no user key spans two files of a level ≥ 1 and reads need no boundary logic; LevelDB
//!   cuts anywhere and relies on picking's boundary inputs, which stay as a safety net.
//! * **Durability**: each output is synced, then opened through the table cache (a table
//!   that does not open is an error now, not at the first read); after the last one the
//!   directory is synced, so the edit the caller logs names only durable files.
//! * **Result**: the edit (the compact pointer set by picking, the inputs deleted, the outputs
//!   added at `level + 1`) and statistics. The job applies nothing: the caller logs and
//!   installs the edit, and deletes the inputs once no version needs them.
//! * **Failure** (an I/O error, a full disk, a damaged input block, cancellation) returns a
//!   [`CompactionError`] naming the output files the job created: none of them is live, and
//!   the caller deletes them. Nothing of the inputs is touched.
//!
//! A **trivial move** (one input file, nothing to merge it with, few grandparent bytes) writes
//! nothing: its edit moves the file down a level.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::dbformat::{extract_user_key, parse_internal_key};
use crate::error::{Error, Result};
use crate::fs::{FileOptions, FileSystem};
use crate::iter::{InternalIterator, LevelIterator, MergingIterator, TableInternalIter};
use crate::table::{BlockReadOptions, TableBuilder, TableCache, TableOptions};
use crate::version::filename::table_file_name;
use crate::version::{FileMetaData, VersionEdit};

use super::drop_rules::{Decision, DropRules};
use super::Compaction;

/// Where and how a compaction job reads and writes.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The file system the database lives on.
    pub fs: Arc<dyn FileSystem>,
    /// The database directory: inputs are read from it and outputs written into it.
    pub dir: PathBuf,
    /// Opens the inputs, and the outputs to verify them; the tables the job opened stay in it.
    pub table_cache: Arc<TableCache>,
    /// How output tables are written (block size, restarts, bloom filter, compression).
    pub table_options: TableOptions,
    /// How output files are created.
    pub file_options: FileOptions,
    /// Let a compaction that qualifies ([`Compaction::is_trivial_move`]) move its file instead
    /// of rewriting it. A manual compaction turns it off, as LevelDB's does, so that the range
    /// is really rewritten (tombstones dropped, versions merged).
    pub allow_trivial_move: bool,
}

/// What a compaction did, for the database's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// The compaction moved its one file down without reading or writing it.
    pub trivial_move: bool,
    /// The total size of the input files (LevelDB's `bytes_read`).
    pub bytes_read: u64,
    /// The total size of the output files.
    pub bytes_written: u64,
    /// Entries read from the inputs.
    pub entries_read: u64,
    /// Entries written to the outputs.
    pub entries_written: u64,
    /// Entries dropped by rule (A): hidden from every reader by a newer entry.
    pub entries_shadowed: u64,
    /// Deletions dropped by rule (B).
    pub tombstones_dropped: u64,
    /// Entries whose internal key did not parse (kept as they are, as LevelDB keeps them).
    pub corrupt_keys: u64,
    /// Output tables written.
    pub output_files: usize,
}

impl CompactionStats {
    /// Entries left out of the outputs, by either rule.
    pub fn entries_dropped(&self) -> u64 {
        self.entries_shadowed + self.tombstones_dropped
    }
}

/// A finished compaction, not yet installed.
#[derive(Debug, Clone)]
pub struct CompactionResult {
    /// The edit to log and install: the compact pointer, the inputs removed, the outputs added
    /// at `level + 1`.
    pub edit: VersionEdit,
    /// The output tables, in key order (also in the edit).
    pub outputs: Vec<FileMetaData>,
    /// What the job did.
    pub stats: CompactionStats,
}

/// A compaction that failed (boxed by [`run_compaction`]: failures are rare and the success
/// path should not carry their size). Nothing was installed and no input was touched.
#[derive(Debug, Clone)]
pub struct CompactionError {
    /// Why it failed.
    pub error: Error,
    /// Every output file the job created (in creation order). None of them is live: the caller
    /// deletes them, after evicting them from the table cache (the job already has).
    pub created_outputs: Vec<u64>,
    /// What the job had done when it stopped.
    pub stats: CompactionStats,
}

impl CompactionError {
    /// True if the job stopped because the database is shutting down (its error is
    /// [`Error::Closed`]): not a failure to report as a background error.
    pub fn cancelled(&self) -> bool {
        matches!(self.error, Error::Closed)
    }
}

impl std::fmt::Display for CompactionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "compaction failed: {}", self.error)
    }
}

impl std::error::Error for CompactionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Runs `compaction`: a trivial move when it qualifies and `ctx` allows it, otherwise the
/// merge.
///
/// * `smallest_snapshot`: the oldest sequence a reader may read at (the oldest live snapshot,
///   or the latest sequence when there is none). Nothing a reader at or above it could see is
///   dropped.
/// * `new_file_number`: hands out a fresh, never reused file number for each output (the
///   caller records it as a pending output so that obsolete-file deletion spares it).
/// * `shutting_down`: checked before each entry; once set, the job stops with
///   [`Error::Closed`] ([`CompactionError::cancelled`]).
///
/// The compaction's cursors (`is_base_level_for_key`, `should_stop_before`) only move
/// forward: run a picked compaction once.
pub fn run_compaction(
    compaction: &mut Compaction,
    ctx: &JobContext,
    smallest_snapshot: u64,
    new_file_number: &mut dyn FnMut() -> u64,
    shutting_down: &AtomicBool,
) -> std::result::Result<CompactionResult, Box<CompactionError>> {
    if ctx.allow_trivial_move && compaction.is_trivial_move() {
        return trivial_move(compaction).map_err(|error| {
            Box::new(CompactionError {
                error,
                created_outputs: Vec::new(),
                stats: CompactionStats::default(),
            })
        });
    }
    let mut job = Job {
        ctx,
        new_file_number,
        output: None,
        finished: Vec::new(),
        created: Vec::new(),
        stats: CompactionStats::default(),
    };
    match job.run(compaction, smallest_snapshot, shutting_down) {
        Ok(edit) => Ok(CompactionResult {
            edit,
            outputs: job.finished,
            stats: job.stats,
        }),
        Err(error) => {
            // The outputs verified so far are open in the table cache; they are not live and
            // the caller will delete them.
            for &number in &job.created {
                ctx.table_cache.evict(number);
            }
            Err(Box::new(CompactionError {
                error,
                created_outputs: job.created,
                stats: job.stats,
            }))
        }
    }
}

/// The edit of a trivial move: the one input file leaves `level` and joins `level + 1` as it
/// is (with the compact pointer picking recorded).
pub fn trivial_move(compaction: &Compaction) -> Result<CompactionResult> {
    let level = compaction.level();
    let [file] = compaction.inputs(0) else {
        return Err(Error::invalid_argument(format!(
            "a trivial move needs exactly one input file, not {}",
            compaction.inputs(0).len()
        )));
    };
    if !compaction.inputs(1).is_empty() {
        return Err(Error::invalid_argument(
            "a trivial move cannot have inputs in the output level",
        ));
    }
    let mut edit = compaction.edit().clone();
    edit.remove_file(level, file.number)?;
    edit.add_file(level + 1, FileMetaData::clone(file))?;
    Ok(CompactionResult {
        edit,
        outputs: Vec::new(),
        stats: CompactionStats {
            trivial_move: true,
            ..CompactionStats::default()
        },
    })
}

/// The output table being written.
struct Output {
    number: u64,
    path: PathBuf,
    builder: TableBuilder,
    smallest: Vec<u8>,
}

/// The state of one merge.
struct Job<'a> {
    ctx: &'a JobContext,
    new_file_number: &'a mut dyn FnMut() -> u64,
    output: Option<Output>,
    finished: Vec<FileMetaData>,
    /// Every output file created, finished or not.
    created: Vec<u64>,
    stats: CompactionStats,
}

impl Job<'_> {
    fn run(
        &mut self,
        c: &mut Compaction,
        smallest_snapshot: u64,
        shutting_down: &AtomicBool,
    ) -> Result<VersionEdit> {
        self.stats.bytes_read = c.input_bytes();
        let max_output_size = c.max_output_file_size();
        let mut input = input_iterator(c, self.ctx)?;
        let mut rules = DropRules::new(smallest_snapshot);
        // An output should end before the next kept entry of a different user key.
        let mut cut_pending = false;
        input.seek_to_first();
        while input.valid() {
            if shutting_down.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            let key = input.key();
            self.stats.entries_read += 1;
            // Asked of every key, kept or not, so its grandparent cursor sees the whole range.
            if c.should_stop_before(key) && self.output.is_some() {
                cut_pending = true;
            }
            let decision = match parse_internal_key(key) {
                Some(parsed) => rules.decide(&parsed, |user_key| c.is_base_level_for_key(user_key)),
                None => {
                    self.stats.corrupt_keys += 1;
                    rules.forget_current_key();
                    Decision::Keep
                }
            };
            match decision {
                Decision::Shadowed => self.stats.entries_shadowed += 1,
                Decision::ObsoleteTombstone => self.stats.tombstones_dropped += 1,
                Decision::Keep => {
                    if cut_pending
                        && self.output.as_ref().is_some_and(|o| {
                            extract_user_key(o.builder.last_key()) != extract_user_key(key)
                        })
                    {
                        self.finish_output()?;
                        cut_pending = false;
                    }
                    let mut output = match self.output.take() {
                        Some(o) => o,
                        None => self.open_output(key)?,
                    };
                    output.builder.add(key, input.value())?;
                    self.stats.entries_written += 1;
                    if output.builder.file_size() >= max_output_size {
                        cut_pending = true;
                    }
                    self.output = Some(output);
                }
            }
            input.next();
        }
        // A damaged block ends the merge early: never mistake that for the end of the inputs.
        input.status()?;
        if shutting_down.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.output.is_some() {
            self.finish_output()?;
        }
        if !self.finished.is_empty() {
            self.ctx.fs.sync_dir(&self.ctx.dir).map_err(|e| {
                Error::io(
                    format!(
                        "syncing directory {} after compaction outputs",
                        self.ctx.dir.display()
                    ),
                    e,
                )
            })?;
        }
        let mut edit = c.edit().clone();
        c.add_input_deletions(&mut edit)?;
        for file in &self.finished {
            edit.add_file(c.level() + 1, file.clone())?;
        }
        Ok(edit)
    }

    /// Creates the next output table; `first_key` will be its smallest key.
    fn open_output(&mut self, first_key: &[u8]) -> Result<Output> {
        let number = (self.new_file_number)();
        let path = table_file_name(&self.ctx.dir, number);
        let file = self
            .ctx
            .fs
            .create_with(&path, &self.ctx.file_options)
            .map_err(|e| Error::io(format!("creating compaction output {}", display(&path)), e))?;
        self.created.push(number);
        let builder = TableBuilder::new(self.ctx.table_options.clone(), file, display(&path));
        Ok(Output {
            number,
            path,
            builder,
            smallest: first_key.to_vec(),
        })
    }

    /// Finishes, syncs and verifies the current output (LevelDB's
    /// `FinishCompactionOutputFile`).
    fn finish_output(&mut self) -> Result<()> {
        let Some(output) = self.output.take() else {
            return Ok(());
        };
        // The last key added is the table's largest (the builder's copy; `finish` changes it).
        let largest = output.builder.last_key().to_vec();
        let finished = output.builder.finish()?;
        let mut file = finished.file;
        file.sync()
            .map_err(|e| Error::io(format!("syncing table {}", display(&output.path)), e))?;
        drop(file);
        // The table must open before the edit may name it.
        self.ctx
            .table_cache
            .find_table(output.number, finished.file_size)?;
        self.stats.bytes_written += finished.file_size;
        self.stats.output_files += 1;
        self.finished.push(FileMetaData {
            number: output.number,
            file_size: finished.file_size,
            smallest: output.smallest,
            largest,
        });
        Ok(())
    }
}

/// The merged inputs (LevelDB's `VersionSet::MakeInputIterator`).
fn input_iterator(
    c: &Compaction,
    ctx: &JobContext,
) -> Result<MergingIterator<Box<dyn InternalIterator>>> {
    let read = BlockReadOptions {
        verify_checksums: true,
        fill_cache: false,
    };
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for which in 0..2 {
        let files = c.inputs(which);
        if files.is_empty() {
            continue;
        }
        if c.level() + which == 0 {
            for f in files {
                let table = ctx.table_cache.iter(f.number, f.file_size, read)?;
                children.push(Box::new(TableInternalIter::new(table)));
            }
        } else {
            let mut sorted: Vec<FileMetaData> = files.iter().map(|f| (**f).clone()).collect();
            sorted.sort_by(|a, b| crate::dbformat::compare_internal_keys(&a.smallest, &b.smallest));
            let cache = Arc::clone(&ctx.table_cache);
            let opener = move |f: &FileMetaData| -> Result<Box<dyn InternalIterator>> {
                let table = cache.iter(f.number, f.file_size, read)?;
                Ok(Box::new(TableInternalIter::new(table)))
            };
            children.push(Box::new(LevelIterator::new(
                sorted.into(),
                Arc::new(opener),
            )));
        }
    }
    Ok(MergingIterator::new(children))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
