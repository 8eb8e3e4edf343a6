//! Options for opening a database and for each write. Every field states its default.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::Error;
use crate::fs::{FileSystem, PosixFs};

/// How recovery treats damaged or incomplete WAL records (RocksDB's `WALRecoveryMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WalRecoveryMode {
    /// LevelDB-like: a torn record at the end of a WAL (truncated header, truncated body,
    /// partial fragmented record) silently ends that WAL; any other damage fails `open`.
    TolerateCorruptedTailRecords,
    /// Any damage, even a torn tail, fails `open`. For databases that are only ever closed
    /// cleanly.
    AbsoluteConsistency,
    /// The default. Replay stops at the first damage, so the recovered state is a consistent
    /// point in time (a prefix of the commit order, never with a hole). Later WALs are replayed
    /// only if they continue the sequence exactly where replay stopped.
    #[default]
    PointInTime,
    /// Damaged records are dropped and replay goes on. May leave holes; for salvage only.
    SkipAnyCorruptedRecords,
}

impl WalRecoveryMode {
    /// Every mode, in RocksDB's numbering order.
    pub const ALL: [WalRecoveryMode; 4] = [
        WalRecoveryMode::TolerateCorruptedTailRecords,
        WalRecoveryMode::AbsoluteConsistency,
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::SkipAnyCorruptedRecords,
    ];

    /// The snake_case name used by the C and Python layers (`"point_in_time"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            WalRecoveryMode::TolerateCorruptedTailRecords => "tolerate_corrupted_tail_records",
            WalRecoveryMode::AbsoluteConsistency => "absolute_consistency",
            WalRecoveryMode::PointInTime => "point_in_time",
            WalRecoveryMode::SkipAnyCorruptedRecords => "skip_any_corrupted_records",
        }
    }
}

impl fmt::Display for WalRecoveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WalRecoveryMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        WalRecoveryMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "unknown WAL recovery mode {s:?}; expected one of \
                     tolerate_corrupted_tail_records, absolute_consistency, point_in_time, \
                     skip_any_corrupted_records"
                ))
            })
    }
}

/// Options for [`DB::open`](crate::DB::open).
#[derive(Clone)]
pub struct Options {
    /// Create the directory and an empty database if none exists. Default: `true`.
    pub create_if_missing: bool,
    /// Fail `open` if a database already exists in the directory. Default: `false`.
    pub error_if_exists: bool,
    /// Let the members of a write group insert their own batches into the memtable in
    /// parallel (the skiplist takes concurrent inserts). Helps when groups are large; costs
    /// a little hand-off latency when they are small. Default: `true`, as in RocksDB.
    pub allow_concurrent_memtable_write: bool,
    /// Split the write path into a WAL stage and a memtable stage, so the next group's WAL
    /// write overlaps this group's memtable insert. Default: `false`.
    pub enable_pipelined_write: bool,
    /// The most bytes of batches one write group may carry. A leader whose own batch is at
    /// most 1/8 of this takes at most its own size plus 1/8 of this, so small writes are not
    /// slowed by huge groups. Default: 1 MiB.
    pub max_write_batch_group_size_bytes: u64,
    /// Waiting writers yield the CPU for up to `write_thread_max_yield_usec` before they block,
    /// adapting to whether yielding has paid off recently. Default: `true`.
    pub enable_write_thread_adaptive_yield: bool,
    /// The longest a waiting writer yields before blocking, in microseconds. Default: 100.
    pub write_thread_max_yield_usec: u64,
    /// A yield slower than this (microseconds) means the CPU is contended; three of them
    /// end the yield phase early. Default: 3.
    pub write_thread_slow_yield_usec: u64,
    /// What recovery does with damaged WAL records. Default: [`WalRecoveryMode::PointInTime`].
    pub wal_recovery_mode: WalRecoveryMode,
    /// Append to the WAL through a shared memory mapping of its allocated space instead of
    /// `pwrite` (RocksDB's name). Saves a system call per write group, but trades away the
    /// promise that an I/O failure is an error: the kernel reports a store it cannot complete
    /// into a mapped page with `SIGBUS`, which kills the host program (a Python interpreter, a
    /// C server) instead of poisoning the database. That happens when the WAL is truncated under
    /// the mapping, when the file system is shut down or remounted read-only after an error,
    /// when a copy-on-write file system runs out of space (ENOSPC/EDQUOT), or on NFS. Enable it
    /// only for a local, trusted file system and a process that may die with its database.
    /// Default: `false` (`pwrite`: every failure is an error).
    pub allow_mmap_writes: bool,
    /// Where files live. Default: the real (POSIX) file system. Tests substitute an in-memory,
    /// fault-injecting one ([`crate::fs::MemFs`]).
    pub file_system: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            error_if_exists: false,
            allow_concurrent_memtable_write: true,
            enable_pipelined_write: false,
            max_write_batch_group_size_bytes: 1 << 20,
            enable_write_thread_adaptive_yield: true,
            write_thread_max_yield_usec: 100,
            write_thread_slow_yield_usec: 3,
            wal_recovery_mode: WalRecoveryMode::PointInTime,
            allow_mmap_writes: false,
            file_system: Arc::new(PosixFs),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("create_if_missing", &self.create_if_missing)
            .field("error_if_exists", &self.error_if_exists)
            .field(
                "allow_concurrent_memtable_write",
                &self.allow_concurrent_memtable_write,
            )
            .field("enable_pipelined_write", &self.enable_pipelined_write)
            .field(
                "max_write_batch_group_size_bytes",
                &self.max_write_batch_group_size_bytes,
            )
            .field(
                "enable_write_thread_adaptive_yield",
                &self.enable_write_thread_adaptive_yield,
            )
            .field(
                "write_thread_max_yield_usec",
                &self.write_thread_max_yield_usec,
            )
            .field(
                "write_thread_slow_yield_usec",
                &self.write_thread_slow_yield_usec,
            )
            .field("wal_recovery_mode", &self.wal_recovery_mode)
            .field("allow_mmap_writes", &self.allow_mmap_writes)
            .field("file_system", &self.file_system)
            .finish()
    }
}

/// Options for one write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `fdatasync` the WAL before the write returns, so it survives power loss. Without it a
    /// write survives a process crash but not a machine crash. Default: `false`.
    pub sync: bool,
    /// Skip the WAL: the write lives only in memory until the database is closed cleanly.
    /// Cannot be combined with `sync`. Default: `false`.
    pub disable_wal: bool,
    /// Fail with [`Error::Incomplete`] instead of waiting out a write stall. Default: `false`.
    pub no_slowdown: bool,
}

impl WriteOptions {
    /// Options for a write that is synced to disk before it returns.
    pub fn synced() -> Self {
        WriteOptions {
            sync: true,
            ..WriteOptions::default()
        }
    }
}
