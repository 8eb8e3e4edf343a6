//! Options for opening a database and for each write. Every field states its default.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::Error;
use crate::fs::{FileSystem, PosixFs};
pub use crate::table::Compression;

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
    /// Bytes of writes the mutable memtable collects before it is switched for a new one (with
    /// a new WAL) and flushed to a level-0 table. Larger buffers mean fewer, larger L0 files
    /// and longer recovery. Default: 64 MiB (RocksDB's).
    pub write_buffer_size: usize,
    /// The most memtables held at once, the mutable one included: when the mutable memtable
    /// is full and `max_write_buffer_number - 1` older ones still wait for their flush, writes
    /// stop until one is flushed. At least 2. Default: 2 (one written, one being flushed).
    pub max_write_buffer_number: usize,
    /// Level 0 is compacted into level 1 once it holds this many tables. Default: 4.
    pub level0_file_num_compaction_trigger: usize,
    /// From this many level-0 tables on, each write group is delayed by 1 ms (LevelDB's rule),
    /// so compaction can catch up before writes must stop; a `no_slowdown` write fails with
    /// `Incomplete` instead. Default: 20.
    pub level0_slowdown_writes_trigger: usize,
    /// From this many level-0 tables on (memtables waiting for flush count as the tables they
    /// are about to be, so level 0 never holds more), writes stop until compaction brings the
    /// count down; a `no_slowdown` write fails with `Incomplete` instead.
    /// At least `level0_slowdown_writes_trigger`. Default: 36.
    pub level0_stop_writes_trigger: usize,
    /// Uncompressed bytes of a table's data block. Larger blocks mean smaller indexes and
    /// better compression, but more bytes read per point lookup. Default: 4096 (LevelDB's).
    pub block_size: usize,
    /// Keys between restart points in a data block: a seek scans at most this many keys after
    /// its binary search. Default: 16 (LevelDB's).
    pub block_restart_interval: usize,
    /// Bloom filter bits per key in each table (about 1 % false positives at 10); 0 writes no
    /// filter, so every lookup of an absent key reads a data block. Default: 10.
    pub bloom_bits_per_key: u32,
    /// Bytes of uncompressed table blocks cached in memory (a sharded LRU); 0 caches nothing.
    /// Default: 8 MiB (LevelDB's).
    pub block_cache_size: usize,
    /// Table files kept open (with their index and filter in memory) by the table cache; at
    /// least 20, as ten descriptors are kept back for the WAL and MANIFEST. Default: 1000.
    pub max_open_files: usize,
    /// How table blocks are written. Snappy is kept only for blocks it shrinks by at least
    /// 12.5 %; tables of either kind are always readable. Default: [`Compression::None`].
    pub compression: Compression,
    /// The size at which compaction cuts its output tables. Default: 64 MiB (RocksDB's).
    pub target_file_size_base: u64,
    /// Level 1's target size; each deeper level's is ten times the one above, and a level
    /// over its target is compacted into the next. Default: 256 MiB (RocksDB's).
    pub max_bytes_for_level_base: u64,
    /// When true, the compaction thread runs only manual compactions
    /// ([`DB::compact_range`](crate::DB::compact_range)): no level is compacted on its own
    /// score. The L0 write triggers still apply, so writes slow down at
    /// `level0_slowdown_writes_trigger` L0 files and stop at `level0_stop_writes_trigger`
    /// until a `compact_range` empties level 0 (a bulk load that compacts once at the end
    /// raises the triggers too). Default: false.
    pub disable_auto_compactions: bool,
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
            write_buffer_size: 64 << 20,
            max_write_buffer_number: 2,
            level0_file_num_compaction_trigger: 4,
            level0_slowdown_writes_trigger: 20,
            level0_stop_writes_trigger: 36,
            block_size: 4096,
            block_restart_interval: 16,
            bloom_bits_per_key: 10,
            block_cache_size: 8 << 20,
            max_open_files: 1000,
            compression: Compression::None,
            target_file_size_base: 64 << 20,
            max_bytes_for_level_base: 256 << 20,
            disable_auto_compactions: false,
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
            .field("write_buffer_size", &self.write_buffer_size)
            .field("max_write_buffer_number", &self.max_write_buffer_number)
            .field(
                "level0_file_num_compaction_trigger",
                &self.level0_file_num_compaction_trigger,
            )
            .field(
                "level0_slowdown_writes_trigger",
                &self.level0_slowdown_writes_trigger,
            )
            .field(
                "level0_stop_writes_trigger",
                &self.level0_stop_writes_trigger,
            )
            .field("block_size", &self.block_size)
            .field("block_restart_interval", &self.block_restart_interval)
            .field("bloom_bits_per_key", &self.bloom_bits_per_key)
            .field("block_cache_size", &self.block_cache_size)
            .field("max_open_files", &self.max_open_files)
            .field("compression", &self.compression)
            .field("target_file_size_base", &self.target_file_size_base)
            .field("max_bytes_for_level_base", &self.max_bytes_for_level_base)
            .field("disable_auto_compactions", &self.disable_auto_compactions)
            .field("file_system", &self.file_system)
            .finish()
    }
}

impl Options {
    /// Checks every option against its documented range: `InvalidArgument` naming the option
    /// and what it must be.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |name: &str, value: &dyn fmt::Display, must: &str| {
            Err(Error::invalid_argument(format!(
                "{name} is {value}; it must be {must}"
            )))
        };
        if self.max_write_batch_group_size_bytes == 0
            || self.max_write_batch_group_size_bytes > u64::from(u32::MAX)
        {
            return bad(
                "max_write_batch_group_size_bytes",
                &self.max_write_batch_group_size_bytes,
                "between 1 and 4294967295 (4 GiB - 1)",
            );
        }
        if self.write_buffer_size < 4096 {
            return bad(
                "write_buffer_size",
                &self.write_buffer_size,
                "at least 4096 bytes",
            );
        }
        if self.max_write_buffer_number < 2 {
            return bad(
                "max_write_buffer_number",
                &self.max_write_buffer_number,
                "at least 2 (one memtable written, one flushed)",
            );
        }
        if self.level0_file_num_compaction_trigger == 0 {
            return bad(
                "level0_file_num_compaction_trigger",
                &self.level0_file_num_compaction_trigger,
                "at least 1",
            );
        }
        if self.level0_slowdown_writes_trigger < self.level0_file_num_compaction_trigger {
            return bad(
                "level0_slowdown_writes_trigger",
                &self.level0_slowdown_writes_trigger,
                "at least level0_file_num_compaction_trigger",
            );
        }
        if self.level0_stop_writes_trigger < self.level0_slowdown_writes_trigger {
            return bad(
                "level0_stop_writes_trigger",
                &self.level0_stop_writes_trigger,
                "at least level0_slowdown_writes_trigger",
            );
        }
        if self.block_size == 0 || self.block_size > (1 << 30) {
            return bad("block_size", &self.block_size, "between 1 and 1 GiB");
        }
        if self.block_restart_interval == 0 {
            return bad(
                "block_restart_interval",
                &self.block_restart_interval,
                "at least 1",
            );
        }
        if self.bloom_bits_per_key > 1000 {
            return bad(
                "bloom_bits_per_key",
                &self.bloom_bits_per_key,
                "between 0 (no filter) and 1000",
            );
        }
        if self.max_open_files < 20 {
            return bad("max_open_files", &self.max_open_files, "at least 20");
        }
        if self.target_file_size_base < 4096 {
            return bad(
                "target_file_size_base",
                &self.target_file_size_base,
                "at least 4096 bytes",
            );
        }
        if self.max_bytes_for_level_base < 4096 {
            return bad(
                "max_bytes_for_level_base",
                &self.max_bytes_for_level_base,
                "at least 4096 bytes",
            );
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_option() {
        Options::default().validate().expect("defaults are valid");
        let cases: Vec<(&str, Options)> = vec![
            (
                "write_buffer_size",
                Options {
                    write_buffer_size: 0,
                    ..Default::default()
                },
            ),
            (
                "max_write_buffer_number",
                Options {
                    max_write_buffer_number: 1,
                    ..Default::default()
                },
            ),
            (
                "level0_stop_writes_trigger",
                Options {
                    level0_stop_writes_trigger: 19,
                    ..Default::default()
                },
            ),
            (
                "level0_slowdown_writes_trigger",
                Options {
                    level0_slowdown_writes_trigger: 3,
                    ..Default::default()
                },
            ),
            (
                "block_size",
                Options {
                    block_size: 0,
                    ..Default::default()
                },
            ),
            (
                "block_restart_interval",
                Options {
                    block_restart_interval: 0,
                    ..Default::default()
                },
            ),
            (
                "max_open_files",
                Options {
                    max_open_files: 5,
                    ..Default::default()
                },
            ),
            (
                "max_write_batch_group_size_bytes",
                Options {
                    max_write_batch_group_size_bytes: 0,
                    ..Default::default()
                },
            ),
        ];
        for (name, o) in cases {
            let e = o.validate().expect_err(name);
            assert!(matches!(e, Error::InvalidArgument { .. }), "{name}: {e:?}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
    }
}

/// How a read sees the database (LevelDB's and RocksDB's `ReadOptions`).
#[derive(Debug, Clone)]
pub struct ReadOptions<'a> {
    /// Read as of this snapshot (default: the latest published write).
    pub snapshot: Option<&'a crate::db::Snapshot>,
    /// Iterators show no user key below this one (inclusive bound; default none).
    pub iterate_lower_bound: Option<Vec<u8>>,
    /// Iterators show no user key at or above this one (exclusive bound; default none).
    pub iterate_upper_bound: Option<Vec<u8>>,
    /// Check the CRC-32C of every table block read from a file (default true).
    pub verify_checksums: bool,
    /// Keep the table blocks read in the block cache (default true; a one-off scan turns it
    /// off so as not to push out the blocks other reads need).
    pub fill_cache: bool,
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions {
            snapshot: None,
            iterate_lower_bound: None,
            iterate_upper_bound: None,
            verify_checksums: true,
            fill_cache: true,
        }
    }
}
