//! The database: open and recover, the write path's I/O (WAL, memtable, publication), reads,
//! and close.

mod error_handler;
mod files;
// Wired in by the flush thread and open (issue 13's next step); tested on their own.
#[allow(dead_code)]
mod flush;
#[allow(dead_code)]
pub(crate) mod flush_job;
mod fork;
mod make_room;
#[allow(dead_code)]
mod obsolete;
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
use std::time::Instant;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::fs::{FileLock, FileOptions, FileSystem};
use crate::memtable::{Lookup, MemTable};
use crate::options::{Options, WriteOptions};
use crate::stats::{Statistics, Stats};
use crate::table::{BlockReadOptions, LruBlockCache, TableCache, TableCacheOptions};
use crate::version::{Version, NUM_LEVELS};
use crate::write_batch::{encode_header, sequence_range_ok, WriteBatch, MAX_KV_LEN};
use crate::write_thread::{WriteGroup, WriteThread, Writer};
use error_handler::ErrorHandler;
use make_room::SvCell;
pub use read::{DbIterator, Entries};
pub use snapshot::Snapshot;
use snapshot::SnapshotList;
use super_version::SuperVersion;
use wal_set::{Wal, WalSet};
use write_controller::WriteController;
use write_impl::{write_impl, AbortOnUnwind, WriteBackend};

/// Reopening with more WAL files than this folds them into a base first.
const MAX_LOGS_AT_OPEN: usize = 8;

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
    sv: SvCell,
    /// The DB mutex, for rare work: the memtable switch. Lock order: `mu` → `wals.current` →
    /// the retired WALs.
    mu: Mutex<()>,
    /// Open tables (and the block cache they share), for reads through the version.
    tables: Arc<TableCache>,
    /// `Options::write_buffer_size`: the memtable size that triggers a switch.
    write_buffer_size: usize,
    /// `Options::allow_mmap_writes`, for the WALs created by switches.
    allow_mmap_writes: bool,
    /// The last sequence visible to readers (release on publish, acquire on read).
    published: AtomicU64,
    /// The last sequence handed to a group (leader only).
    allocated: AtomicU64,
    /// The current WAL (`None` once closed) and the retired ones. Only the (WAL) leader, the
    /// switch (as leader) and close lock them.
    wals: WalSet,
    /// WAL files replay read at open (close folds them into a base).
    logs_at_open: usize,
    /// `published` at open: close writes a base only if something was written since.
    opened_at: u64,
    /// The sticky error: set when a WAL write or sync (or a switch) fails; every later write
    /// fails with it (its own lock; see `error_handler.rs`).
    bg_error: ErrorHandler,
    /// Shared with iterators, which stop working once it is set.
    closed: Arc<AtomicBool>,
    /// Live snapshots' sequences.
    snapshots: Arc<SnapshotList>,
    /// Serializes `close` calls.
    close_mu: Mutex<()>,
    /// Write stalls (its own lock; see `write_controller.rs`).
    controller: WriteController,
    /// Some write skipped the WAL: close must write a base to keep it.
    unpersisted: AtomicBool,
    next_file_number: AtomicU64,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    stats: Statistics,
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

        let inv = recovery::inventory(fs.as_ref(), &path)?;
        if inv.is_empty() && !options.create_if_missing {
            return Err(Error::invalid_argument(format!(
                "{} holds no database (set create_if_missing to create one)",
                path.display()
            )));
        }
        if !inv.is_empty() && options.error_if_exists {
            return Err(Error::invalid_argument(format!(
                "a database already exists in {} (error_if_exists is set)",
                path.display()
            )));
        }
        let memtable = Arc::new(MemTable::new());
        let replayed = recovery::replay(
            fs.as_ref(),
            &path,
            &inv,
            options.wal_recovery_mode,
            &memtable,
        )?;
        let last = replayed.last_sequence;
        let mut next_number = inv.max_number + 1;
        let mut live_logs = inv.logs.len();
        if replayed.must_fold || inv.logs.len() > MAX_LOGS_AT_OPEN {
            // Fold the replayed state into one durable base before anything new is written:
            // the WALs of a crashed session may be unsynced or damaged (see `Replayed`), and
            // the WAL count stays bounded. What replay did not take whole is quarantined.
            let clean: Vec<PathBuf> = inv
                .live(&path)
                .into_iter()
                .filter(|p| !replayed.quarantine.contains(p))
                .collect();
            let retire = recovery::Retire {
                quarantine: &replayed.quarantine,
                clean: &clean,
                all_clean: false,
            };
            recovery::write_base(
                fs.as_ref(),
                &path,
                next_number,
                std::slice::from_ref(&memtable),
                last,
                &retire,
            )?;
            next_number += 1;
            live_logs = 0;
        } else {
            recovery::remove_obsolete(fs.as_ref(), &path, &inv.obsolete, &[])?;
        }
        let number = next_number;
        let log_path = files::log_name(&path, number);
        let file_options = FileOptions {
            allow_mmap_writes: options.allow_mmap_writes,
        };
        let file = fs
            .create_with(&log_path, &file_options)
            .map_err(|e| Error::io(format!("creating WAL {}", log_path.display()), e))?;
        let wal = Wal::create(file, number, last + 1, &log_path)?;
        // The new WAL's directory entry must be durable, or a synced write could vanish with it.
        fs.sync_dir(&path)
            .map_err(|e| Error::io(format!("syncing directory {}", path.display()), e))?;
        let sv = SuperVersion::new(memtable, Arc::new(Version::new()));

        let tables = Arc::new(TableCache::new(
            Arc::clone(&fs),
            path.clone(),
            TableCacheOptions {
                max_open_files: options.max_open_files,
                verify_checksums: true,
                block_cache: (options.block_cache_size > 0)
                    .then(|| Arc::new(LruBlockCache::new(options.block_cache_size))),
            },
        ));

        Ok(DB {
            fs,
            allow_concurrent_memtable_write: options.allow_concurrent_memtable_write,
            write_thread: WriteThread::new(&options),
            sv: SvCell::from_pointee(sv),
            tables,
            mu: Mutex::new(()),
            write_buffer_size: options.write_buffer_size,
            allow_mmap_writes: options.allow_mmap_writes,
            published: AtomicU64::new(last),
            allocated: AtomicU64::new(last),
            wals: WalSet::new(&path, wal),
            logs_at_open: live_logs,
            opened_at: last,
            bg_error: ErrorHandler::default(),
            closed: Arc::new(AtomicBool::new(false)),
            snapshots: Arc::new(SnapshotList::default()),
            close_mu: Mutex::new(()),
            controller: WriteController::default(),
            unpersisted: AtomicBool::new(false),
            next_file_number: AtomicU64::new(number + 1),
            lock: Mutex::new(Some(lock)),
            stats: Statistics::new(),
            fork_generation,
            path,
        })
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

    /// Closes the database: waits for in-flight writes, syncs the WAL, folds the session's writes
    /// (every memtable, the immutable ones included, and `disable_wal` writes) into a durable
    /// base, and releases the directory.
    /// Idempotent: a second call returns `Ok`. Every later call on this `DB` fails with
    /// [`Error::Closed`]. If an earlier WAL write failed, close writes nothing and returns
    /// [`Error::Poisoned`]: reopen to recover the acknowledged writes.
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
        // Wake a leader waiting out a stall: it will see `closed` and give up.
        self.controller.wake_all();
        let me = Writer::new(None, &WriteOptions::default());
        // From linking `me` until it is unlinked, other writers may point at it.
        let _guard = AbortOnUnwind::new("close");
        self.write_thread.enter_unbatched(&me);
        // Every earlier write is done and later leaders see `closed`: the files are ours.
        let result = self.finish_files();
        *self.lock.lock() = None;
        self.write_thread.exit_unbatched(&me);
        result
    }

    fn finish_files(&self) -> Result<()> {
        let mut guard = self.wals.current.lock();
        let live_wals = self.wals.live(&guard);
        let Some(mut wal) = guard.take() else {
            return Ok(());
        };
        // Nothing more is written after a failure; reopening recovers what is durable. Say
        // so: a clean Ok would suggest every write was persisted.
        self.bg_error.check()?;
        let name = files::log_name(&self.path, wal.number);
        wal.writer
            .sync()
            .map_err(|e| Error::io(format!("syncing WAL {}", name.display()), e))?;
        // Every session that wrote ends in a base, so the next open replays one file and writes
        // nothing (a session that crashed is folded by the next open instead).
        if self.unpersisted.load(Acquire)
            || self.published.load(Acquire) != self.opened_at
            || self.logs_at_open > 0
            || live_wals > 1
        {
            let number = self.next_file_number.fetch_add(1, Relaxed);
            drop(wal);
            self.wals.drop_retired();
            let sv = self.sv.load_full();
            let mems: Vec<Arc<MemTable>> = sv.memtables().cloned().collect();
            let last = self.published.load(Acquire);
            // Every file below the new base was replayed whole at open or written since.
            let retire = recovery::Retire {
                all_clean: true,
                ..recovery::Retire::default()
            };
            recovery::write_base(self.fs.as_ref(), &self.path, number, &mems, last, &retire)?;
        }
        Ok(())
    }

    /// Test hook: turns a write stall on or off (RocksDB's `BeginWriteStall`/`EndWriteStall`).
    /// While on, the next leader stalls the queue: new writers wait, and `no_slowdown` writers
    /// fail with [`Error::Incomplete`]. The memtable and L0 stalls will use the same path
    /// (`write_controller.rs`).
    #[doc(hidden)]
    pub fn set_write_stall_for_test(&self, on: bool) {
        self.controller.request_stall(on);
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
        self.make_room_for_write(wt, leader, false)?;
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
            self.unpersisted.store(true, Release);
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
