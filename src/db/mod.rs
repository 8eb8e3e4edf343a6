//! The database: open and recover, the write path's I/O (WAL, memtable, publication), reads,
//! and close.

mod compact_range;
mod compaction_thread;
mod error_handler;
mod files;
mod flush;
pub(crate) mod flush_job;
mod flush_thread;
mod fork;
mod interim;
mod level0_stall;
mod make_room;
mod obsolete;
mod open;
mod properties;
mod read;
mod recovery;
mod snapshot;
mod super_version;
mod wal_set;
mod write_controller;
pub(crate) mod write_impl;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem};
use crate::memtable::Lookup;
use crate::options::{Options, WriteOptions};
use crate::stats::{Statistics, Stats};
use crate::sync::Mutex;
use crate::table::{BlockReadOptions, TableCache};
use crate::version::{VersionSet, NUM_LEVELS};
use crate::write_batch::{encode_header, sequence_range_ok, WriteBatch, MAX_KV_LEN};
use crate::write_thread::{WriteGroup, WriteThread, Writer};
use compaction_thread::CompactionQueue;
use error_handler::ErrorHandler;
use flush_thread::FlushQueue;
use make_room::SvCell;
pub use read::{DbIterator, Entries};
pub use snapshot::Snapshot;
use snapshot::SnapshotList;
use wal_set::WalSet;
use write_controller::WriteController;
use write_impl::{write_impl, AbortOnUnwind, WriteBackend};

/// An open database. `DB` is `Send + Sync`: share it (`&DB`, `Arc<DB>`) between threads, and
/// concurrent writers are committed together in groups.
///
/// ```
/// use groupkv::{DB, Options, WriteBatch, WriteOptions};
/// # fn main() -> groupkv::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let db = DB::open(dir.path(), Options::default())?;
/// db.put(&WriteOptions::default(), b"greeting", b"hello")?;
/// let mut batch = WriteBatch::new();
/// batch.put(b"a", b"1")?;
/// batch.delete(b"greeting")?;
/// db.write(&WriteOptions { sync: true, ..Default::default() }, &batch)?;
/// assert_eq!(db.get(b"a")?, Some(b"1".to_vec()));
/// assert_eq!(db.get(b"greeting")?, None);
/// db.close()?;
/// # Ok(()) }
/// ```
pub struct DB {
    path: PathBuf,
    fs: Arc<dyn FileSystem>,
    allow_concurrent_memtable_write: bool,
    write_thread: WriteThread,
    /// The read sources (memtables, version), loaded lock-free after `published` (I10);
    /// stored only under `mu`.
    sv: Arc<SvCell>,
    /// The DB mutex, for rare work: the memtable switch and the flush's install. Lock order:
    /// `mu` → `versions` → `wals.current` → the retired WALs.
    mu: Arc<Mutex<()>>,
    /// The MANIFEST's state; file numbers come from it.
    versions: Arc<Mutex<VersionSet>>,
    /// Memtables waiting for the flush thread.
    flush_queue: Arc<FlushQueue>,
    /// The flush thread, joined by close.
    flush_thread: Mutex<Option<JoinHandle<()>>>,
    /// The compaction thread's requests and progress.
    compaction_queue: Arc<CompactionQueue>,
    /// The compaction thread, joined by close.
    compaction_thread: Mutex<Option<JoinHandle<()>>>,
    /// `Options::max_write_buffer_number`: writes stop while this many memtables are full.
    max_write_buffer_number: usize,
    /// `Options::level0_slowdown_writes_trigger`: each write group waits 1 ms from here.
    level0_slowdown_writes_trigger: usize,
    /// `Options::level0_stop_writes_trigger`: writes stop here (`level0_stall.rs`).
    level0_stop_writes_trigger: usize,
    /// Open tables (and the block cache they share), for reads through the version.
    tables: Arc<TableCache>,
    /// `Options::write_buffer_size`: the memtable size that triggers a switch.
    write_buffer_size: usize,
    /// `Options::allow_mmap_writes`, for the WALs created by switches.
    allow_mmap_writes: bool,
    /// The last sequence visible to readers (release on publish, acquire on read).
    published: Arc<AtomicU64>,
    /// The last sequence handed to a group (leader only).
    allocated: AtomicU64,
    /// The current WAL (`None` once closed) and the retired ones. Only the (WAL) leader, the
    /// switch (as leader) and close lock them.
    wals: Arc<WalSet>,
    /// The sticky error: set when a WAL write or sync (or a switch) fails; every later write
    /// fails with it (its own lock; see `error_handler.rs`).
    bg_error: Arc<ErrorHandler>,
    /// Shared with iterators, which stop working once it is set.
    closed: Arc<AtomicBool>,
    /// Live snapshots' sequences.
    snapshots: Arc<SnapshotList>,
    /// Serializes `close` calls.
    close_mu: Mutex<()>,
    /// Write stalls (its own lock; see `write_controller.rs`).
    controller: Arc<WriteController>,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    stats: Arc<Statistics>,
    /// The fork generation of the process that opened the database.
    fork_generation: u64,
}

impl std::fmt::Debug for DB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DB")
            .field("path", &self.path)
            .field("published", &self.published.load(Relaxed))
            .field("closed", &self.closed.load(Relaxed))
            .finish()
    }
}

impl DB {
    /// Opens (or creates) the database in directory `path`, replaying its WALs.
    ///
    /// Fails with `InvalidArgument` for bad options, a missing directory without
    /// `create_if_missing`, or an existing database with `error_if_exists`; with `Busy` if
    /// another `DB` holds the directory; with `Corruption` if the WALs are damaged beyond what
    /// `wal_recovery_mode` accepts, or the base is damaged at all (a base is used whole or not
    /// at all; only `skip_any_corrupted_records` salvages it), or a batch's sequence reaches
    /// 2^56; with `Io` for file-system failures. A failed open changes no file; one that
    /// recovers past damage keeps each damaged file, renamed `<name>.corrupt`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<DB> {
        let path = path.as_ref().to_path_buf();
        options.validate()?;
        if path.as_os_str().is_empty() {
            return Err(Error::invalid_argument(
                "the database path is empty; pass the directory to open or create",
            ));
        }
        let fork_generation = fork::generation();
        let fs = options.file_system.clone();
        let exists = fs
            .exists(&path)
            .map_err(|e| Error::io(format!("checking {}", path.display()), e))?;
        if !exists {
            if !options.create_if_missing {
                return Err(Error::invalid_argument(format!(
                    "{} does not exist (set create_if_missing to create it)",
                    path.display()
                )));
            }
            create_dir_durably(fs.as_ref(), &path)?;
        }
        match fs.is_dir(&path) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::invalid_argument(format!(
                    "{} is not a directory; a database is a directory",
                    path.display()
                )))
            }
            Err(e) => return Err(Error::io(format!("inspecting {}", path.display()), e)),
        }
        let lock = fs.lock(&path.join(files::LOCK)).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                Error::Busy { path: path.clone() }
            } else {
                Error::io(format!("locking {}", path.join(files::LOCK).display()), e)
            }
        })?;

        open::open_locked(path, options, fs, lock, fork_generation)
    }

    /// The directory this database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets `key` to `value`.
    pub fn put(&self, opts: &WriteOptions, key: &[u8], value: &[u8]) -> Result<()> {
        // Tag, two varint32 lengths and the bytes: one allocation (none for lengths the batch
        // will reject).
        let fits = key.len() <= MAX_KV_LEN && value.len() <= MAX_KV_LEN;
        let mut batch = WriteBatch::with_capacity(if fits {
            11 + key.len() + value.len()
        } else {
            0
        });
        batch.put(key, value)?;
        self.write(opts, &batch)
    }

    /// Removes `key` (a no-op if absent).
    pub fn delete(&self, opts: &WriteOptions, key: &[u8]) -> Result<()> {
        let fits = key.len() <= MAX_KV_LEN;
        let mut batch = WriteBatch::with_capacity(if fits { 6 + key.len() } else { 0 });
        batch.delete(key)?;
        self.write(opts, &batch)
    }

    /// Applies `batch` atomically: after any crash, and to any reader, all of it or none.
    ///
    /// When this returns `Ok`, the batch is visible to `get` and: with `sync`, survives power
    /// loss; without, survives a process crash; with `disable_wal`, survives a clean close.
    pub fn write(&self, opts: &WriteOptions, batch: &WriteBatch) -> Result<()> {
        if opts.sync && opts.disable_wal {
            return Err(Error::invalid_argument(
                "sync writes need the WAL: set sync or disable_wal, not both",
            ));
        }
        self.check_usable()?;
        let start = Instant::now();
        let writer = Writer::new(Some(batch), opts);
        let result = write_impl(&self.write_thread, self, &writer);
        self.stats
            .write_micros
            .record(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
        result
    }

    /// The value of `key` as of the last published write, or `None`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        // I10: the published sequence first, then the SuperVersion.
        let seq = self.published.load(Acquire);
        let sv = self.sv.load();
        Ok(
            match sv.get(key, seq, &self.tables, &BlockReadOptions::default())? {
                Lookup::Found(v) => Some(v),
                Lookup::Deleted | Lookup::Absent => None,
            },
        )
    }

    /// The write path's statistics since open.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.snapshot();
        let sv = self.sv.load();
        stats.memtable_bytes = sv.memtable_bytes() as u64;
        stats.immutable_memtables = sv.imm.len() as u64;
        stats.num_files_at_level = (0..NUM_LEVELS)
            .map(|l| sv.version.num_files(l) as u64)
            .collect();
        stats.bytes_at_level = (0..NUM_LEVELS).map(|l| sv.version.level_bytes(l)).collect();
        if let Some(cache) = self.tables.block_cache() {
            stats.block_cache_hit = cache.hits();
            stats.block_cache_miss = cache.misses();
        }
        stats.bloom_useful = self.tables.bloom_useful();
        stats
    }

    /// The last sequence number visible to readers.
    pub fn latest_sequence(&self) -> u64 {
        self.published.load(Acquire)
    }

    /// Approximate bytes held by the memtables (the mutable one and those switched out).
    pub fn approximate_memory_usage(&self) -> usize {
        self.sv.load().memtable_bytes()
    }

    /// Closes the database: waits for in-flight writes, flushes the memtables (the immutable
    /// ones and, if it holds anything, the current one, `disable_wal` writes included) into
    /// level-0 tables recorded in the MANIFEST, stops the flush thread and the compaction thread
    /// (a compaction in progress is abandoned without installing anything), syncs the WAL and
    /// releases the directory.
    /// Close does not wait on `level0_stop_writes_trigger` (unlike [`DB::flush`]: it must end
    /// even with compaction stopped or failing), so its last flush may leave level 0 one table
    /// past the trigger; the next open's compaction thread scores that level 0 first.
    /// Idempotent: a second call returns `Ok`. Every later call on this `DB` fails with
    /// [`Error::Closed`]. If an earlier WAL write or flush failed, close flushes nothing more
    /// and returns [`Error::Poisoned`]: reopen to recover the acknowledged writes.
    pub fn close(&self) -> Result<()> {
        if fork::generation() != self.fork_generation {
            // The parent owns the files and the LOCK; the child's copy just stops working.
            self.closed.store(true, Release);
            return Ok(());
        }
        let _serial = self.close_mu.lock();
        if self.closed.swap(true, AcqRel) {
            return Ok(());
        }
        // A running compaction is abandoned (it installs nothing): close does not wait for
        // work the next open can redo.
        self.compaction_queue.stop();
        // Wake a leader waiting out a stall: it will see `closed` and give up.
        self.controller.wake_all();
        self.wake_memtable_stall();
        let me = Writer::new(None, &WriteOptions::default());
        // From linking `me` until it is unlinked, other writers may point at it.
        let _guard = AbortOnUnwind::new("close");
        self.write_thread.enter_unbatched(&me);
        // Every earlier write is done and later leaders see `closed`: the files are ours.
        // The last memtable goes to a table like the others (not after a failure: reopen
        // replays its WAL instead).
        let switched = if self.bg_error.check().is_ok() && !self.sv.load().mem.is_empty() {
            self.switch_memtable_locked()
        } else {
            Ok(())
        };
        let drained = self.flush_queue.wait_drained();
        self.flush_queue.stop();
        if let Some(t) = self.flush_thread.lock().take() {
            let _ = t.join();
        }
        if let Some(t) = self.compaction_thread.lock().take() {
            let _ = t.join();
        }
        let result = self.finish_files(switched, drained);
        *self.lock.lock() = None;
        self.write_thread.exit_unbatched(&me);
        result
    }

    fn finish_files(&self, switched: Result<()>, drained: bool) -> Result<()> {
        let mut guard = self.wals.current.lock();
        let Some(mut wal) = guard.take() else {
            return Ok(());
        };
        // Nothing more is written after a failure; reopening recovers what is durable. Say
        // so: a clean Ok would suggest every write was persisted.
        self.bg_error.check()?;
        switched?;
        if !drained {
            return Err(Error::Closed);
        }
        let name = files::log_name(&self.path, wal.number);
        wal.writer
            .sync()
            .map_err(|e| Error::io(format!("syncing WAL {}", name.display()), e))?;
        Ok(())
    }

    /// Flushes every memtable holding writes into level-0 tables and waits until they are
    /// recorded in the MANIFEST (their WALs are then deleted). Fails with the background
    /// error ([`Error::Poisoned`]) if a flush failed.
    ///
    /// Like a write, it waits while level 0 (with the memtables waiting for flush) is at
    /// `level0_stop_writes_trigger` files and the memtable holds anything, so it never puts
    /// level 0 past the trigger: with `disable_auto_compactions` only a `compact_range` (from
    /// another thread) or close ends that wait.
    pub fn flush(&self) -> Result<()> {
        self.check_usable()?;
        self.bg_error.check()?;
        self.switch_unbatched_below_level0_stop()?;
        self.flush_queue.wait_drained();
        self.bg_error.check()?;
        self.check_usable()
    }

    /// Test hook: turns a write stall on or off (RocksDB's `BeginWriteStall`/`EndWriteStall`).
    /// While on, the next leader stalls the queue: new writers wait, and `no_slowdown` writers
    /// fail with [`Error::Incomplete`]. The memtable and L0 stalls stall the queue the same
    /// way (`make_room.rs`, `level0_stall.rs`).
    #[doc(hidden)]
    pub fn set_write_stall_for_test(&self, on: bool) {
        self.controller.request_stall(on);
    }

    /// Test hook for crash simulations: stops the flush thread before its next job (a job in
    /// progress completes) and the compaction thread (a job in progress is abandoned without
    /// installing), as a process crash would stop them, so that a `DB` leaked with
    /// `std::mem::forget` no longer touches its files.
    #[doc(hidden)]
    pub fn halt_background_work_for_test(&self) {
        self.compaction_queue.stop();
        self.flush_queue.halt();
        if let Some(t) = self.flush_thread.lock().take() {
            let _ = t.join();
        }
        if let Some(t) = self.compaction_thread.lock().take() {
            let _ = t.join();
        }
    }

    pub(crate) fn check_usable(&self) -> Result<()> {
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        if fork::generation() != self.fork_generation {
            return Err(Error::invalid_argument(
                "this DB was opened by the parent process and cannot be used after fork(); \
                 open the database again in the child (after the parent closes it)",
            ));
        }
        Ok(())
    }

    fn set_bg_error(&self, e: &Error) {
        self.bg_error.set(e);
    }

    fn wal_io(&self, what: &str, number: u64, e: io::Error) -> Error {
        let err = Error::io(
            format!(
                "{what} WAL {}",
                files::log_name(&self.path, number).display()
            ),
            e,
        );
        self.set_bg_error(&err);
        err
    }
}

impl WriteBackend for DB {
    fn preprocess(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<()> {
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        self.bg_error.check()?;
        // One SuperVersion load serves both checks (this runs once per write group). Only a
        // leader or an unbatched writer switches memtables, so `full` stays true across a
        // level-0 wait.
        let (l0, pending, full) = {
            let sv = self.sv.load();
            (
                sv.version.num_files(0),
                sv.imm.len(),
                sv.mem.approximate_memory_usage() >= self.write_buffer_size,
            )
        };
        self.wait_for_level0(wt, leader, l0, pending)?;
        if full {
            self.make_room_for_write(wt, leader)?;
        }
        self.controller
            .wait_out(wt, leader, &self.closed, &self.stats)
    }

    fn allocate_sequences(&self, count: u64) -> u64 {
        self.allocated.fetch_add(count, Relaxed) + 1
    }

    fn write_group_to_wal(&self, group: &WriteGroup, leader: &Writer<'_>) -> Result<()> {
        let count = group.records();
        let size = group.size() as u64;
        let s = &self.stats;
        s.write_done_by_self.fetch_add(1, Relaxed);
        s.write_done_by_other.fetch_add(size - 1, Relaxed);
        s.keys_written.fetch_add(count, Relaxed);
        s.bytes_written.fetch_add(group.bytes(), Relaxed);
        s.write_group_size.record(size);
        if !sequence_range_ok(group.first_sequence(), count) {
            // Replay rejects a batch reaching 2^56 (the memtable packs sequence << 8): refuse
            // it here rather than write what the next open would call damage.
            return Err(Error::invalid_argument(format!(
                "the database has used up its sequence numbers: {count} more after {} would \
                 reach 2^56 - 1",
                group.first_sequence().saturating_sub(1)
            )));
        }
        if leader.disable_wal {
            // Kept by the flush of its memtable (close flushes a non-empty memtable).
            return Ok(());
        }
        // The open options cap the group size so the total count fits the header.
        let header = encode_header(
            group.first_sequence(),
            u32::try_from(count).unwrap_or(u32::MAX),
        );
        // The record is the header then each member's records: gathered without copying, on the
        // stack for the usual small groups.
        const INLINE: usize = 16;
        let mut inline: [&[u8]; INLINE] = [&[]; INLINE];
        let mut spilled: Vec<&[u8]> = Vec::new();
        let parts: &[&[u8]] = if group.size() < INLINE {
            inline[0] = &header;
            let mut n = 1;
            group.for_each(|w| {
                if let Some(b) = w.batch() {
                    inline[n] = b.body();
                    n += 1;
                }
            });
            &inline[..n]
        } else {
            spilled.reserve(group.size() + 1);
            spilled.push(&header);
            group.for_each(|w| {
                if let Some(b) = w.batch() {
                    spilled.push(b.body());
                }
            });
            &spilled
        };
        let mut guard = self.wals.current.lock();
        let wal = guard.as_mut().ok_or(Error::Closed)?;
        let written = wal
            .writer
            .add_record(parts)
            .map_err(|e| self.wal_io("appending to", wal.number, e))?;
        wal.last_logged_seq = group.last_sequence();
        s.write_with_wal.fetch_add(size, Relaxed);
        s.wal_bytes.fetch_add(written as u64, Relaxed);
        if leader.sync {
            let start = Instant::now();
            // I5: every older WAL is durable before this sync write is acknowledged.
            self.wals.sync_retired().map_err(|e| {
                self.set_bg_error(&e);
                e
            })?;
            wal.writer
                .sync()
                .map_err(|e| self.wal_io("syncing", wal.number, e))?;
            s.wal_syncs.fetch_add(1, Relaxed);
            s.wal_sync_micros
                .record(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        Ok(())
    }

    fn insert_into_memtable(&self, w: &Writer<'_>) {
        if let Some(batch) = w.batch() {
            self.sv.load().mem.insert_batch(batch, w.sequence());
        }
    }

    fn publish(&self, last: u64) {
        self.published.fetch_max(last, Release);
    }

    fn allow_concurrent_memtable_write(&self) -> bool {
        self.allow_concurrent_memtable_write
    }
}

impl Drop for DB {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; call `close` to see them.
        let _ = self.close();
    }
}

/// Creates `dir` and its missing ancestors, and makes each new directory entry durable by
/// syncing its parent: otherwise a `sync` write into a fresh database could vanish with its
/// directory on a file system that does not order directory updates (ext4 without a journal,
/// XFS with delayed logging), even though the WAL itself was synced.
fn create_dir_durably(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    // The missing directories, from `dir` up to (not including) the first that exists.
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        // The empty path (above a relative one) and the root always exist.
        if d.as_os_str().is_empty() || d.parent().is_none() {
            break;
        }
        let exists = fs
            .exists(d)
            .map_err(|e| Error::io(format!("checking {}", d.display()), e))?;
        if exists {
            break;
        }
        missing.push(d);
        at = d.parent();
    }
    fs.create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating directory {}", dir.display()), e))?;
    // Outermost first: each parent's entry for the next directory down.
    for d in missing.iter().rev() {
        let parent = match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs.sync_dir(parent)
            .map_err(|e| Error::io(format!("syncing directory {}", parent.display()), e))?;
    }
    Ok(())
}
