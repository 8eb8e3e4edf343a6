//! `groupkv_options` (for groupkv_db_open) and `groupkv_writeoptions` (for each write).

use std::ffi::{c_char, c_int};

use super::{ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, require};
use crate::options::{Compression, Options, WalRecoveryMode, WriteOptions};

/// What recovery does with damaged WAL records; RocksDB's WALRecoveryMode with the same numbers.
/// Pass one to groupkv_options_set_wal_recovery_mode.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum groupkv_wal_recovery_mode {
    /// A torn record at the end of a WAL silently ends it; any other damage fails open.
    GROUPKV_WAL_TOLERATE_CORRUPTED_TAIL_RECORDS = 0,
    /// Any damage, even a torn tail, fails open.
    GROUPKV_WAL_ABSOLUTE_CONSISTENCY = 1,
    /// The default: replay stops at the first damage, so the state is a prefix of the commit
    /// order, never with a hole.
    GROUPKV_WAL_POINT_IN_TIME = 2,
    /// Damaged records are dropped and replay goes on (may leave holes; for salvage).
    GROUPKV_WAL_SKIP_ANY_CORRUPTED_RECORDS = 3,
}

fn recovery_mode(mode: c_int) -> Option<WalRecoveryMode> {
    use groupkv_wal_recovery_mode as M;
    let known = [
        (
            M::GROUPKV_WAL_TOLERATE_CORRUPTED_TAIL_RECORDS,
            WalRecoveryMode::TolerateCorruptedTailRecords,
        ),
        (
            M::GROUPKV_WAL_ABSOLUTE_CONSISTENCY,
            WalRecoveryMode::AbsoluteConsistency,
        ),
        (M::GROUPKV_WAL_POINT_IN_TIME, WalRecoveryMode::PointInTime),
        (
            M::GROUPKV_WAL_SKIP_ANY_CORRUPTED_RECORDS,
            WalRecoveryMode::SkipAnyCorruptedRecords,
        ),
    ];
    known
        .into_iter()
        .find(|(c, _)| *c as c_int == mode)
        .map(|(_, m)| m)
}

/// How table blocks are written; LevelDB's CompressionType numbers. Pass one to
/// groupkv_options_set_compression.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum groupkv_compression {
    /// Blocks are stored as they are.
    GROUPKV_NO_COMPRESSION = 0,
    /// Raw Snappy, kept only for blocks it shrinks by at least 12.5 %.
    GROUPKV_SNAPPY_COMPRESSION = 1,
}

/// The C value and the core's value of every compression, in one table both ways read.
const COMPRESSIONS: [(groupkv_compression, Compression); 2] = [
    (
        groupkv_compression::GROUPKV_NO_COMPRESSION,
        Compression::None,
    ),
    (
        groupkv_compression::GROUPKV_SNAPPY_COMPRESSION,
        Compression::Snappy,
    ),
];

fn compression(value: c_int) -> Option<Compression> {
    COMPRESSIONS
        .into_iter()
        .find(|(c, _)| *c as c_int == value)
        .map(|(_, k)| k)
}

/// Options for groupkv_db_open (opaque). Create with groupkv_options_create, free with
/// groupkv_options_destroy. The database copies them at open, so they may be changed or freed
/// afterwards. Not thread-safe while being modified. Every field of the Rust `Options` has a
/// setter except the file system, which from C is always the operating system's.
#[derive(Debug)]
pub struct groupkv_options {
    pub(crate) inner: Options,
}

/// Options for one write (opaque). Create with groupkv_writeoptions_create, free with
/// groupkv_writeoptions_destroy. Many threads may pass the same one to writes at once, as long
/// as nobody modifies it meanwhile.
#[derive(Debug)]
pub struct groupkv_writeoptions {
    pub(crate) inner: WriteOptions,
}

/// New open options with the defaults, which are those of the Rust `Options::default()` (each
/// setter below names its default). Free with groupkv_options_destroy. NULL only if groupkv
/// panicked.
#[no_mangle]
pub extern "C" fn groupkv_options_create() -> *mut groupkv_options {
    ffi_value(std::ptr::null_mut(), || {
        into_raw(groupkv_options {
            inner: Options::default(),
        })
    })
}

/// Frees options from groupkv_options_create. NULL is ignored.
///
/// # Safety
/// `options` is NULL or from groupkv_options_create and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_destroy(options: *mut groupkv_options) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(options) })
}

/// Applies `set` to the options behind `options` unless it is NULL (setters return nothing,
/// so a NULL handle is ignored).
///
/// # Safety
/// `options` is NULL or a live groupkv_options not used by another thread meanwhile.
unsafe fn with_options(options: *mut groupkv_options, set: impl FnOnce(&mut Options)) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        if let Some(o) = unsafe { options.as_mut() } {
            set(&mut o.inner);
        }
    })
}

/// Create the directory and an empty database if none exists (default true). NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_create_if_missing(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.create_if_missing = value) }
}

/// Fail groupkv_db_open with GROUPKV_INVALID_ARGUMENT if a database already exists there
/// (default false). NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_error_if_exists(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.error_if_exists = value) }
}

/// Let the members of a write group insert their own batches into the memtable in parallel
/// (default true). NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_allow_concurrent_memtable_write(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.allow_concurrent_memtable_write = value) }
}

/// Split the write path into a WAL stage and a memtable stage that overlap (default false).
/// NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_enable_pipelined_write(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.enable_pipelined_write = value) }
}

/// Append to the WAL through a shared memory mapping instead of pwrite (default false, RocksDB's
/// name). Saves a system call per write group, but TRADES AWAY the header's promise that
/// groupkv never aborts the host program: the kernel reports a store into a mapped page that it
/// cannot complete with SIGBUS, which kills the process, instead of an error that poisons the
/// database. That happens when the WAL is truncated under the mapping, when the file system is
/// shut down or remounted read-only after an I/O error, when a copy-on-write file system runs
/// out of space, or on NFS. Enable it only for a local, trusted file system. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_allow_mmap_writes(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.allow_mmap_writes = value) }
}

/// The most bytes of batches one write group may carry (default 1048576, 1 MiB). Must be between
/// 1 and 4294967295: groupkv_db_open rejects other values with GROUPKV_INVALID_ARGUMENT. NULL
/// is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_max_write_batch_group_size_bytes(
    options: *mut groupkv_options,
    value: u64,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.max_write_batch_group_size_bytes = value) }
}

/// Waiting writers yield the CPU for a while before they block (default true). NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_enable_write_thread_adaptive_yield(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.enable_write_thread_adaptive_yield = value) }
}

/// The longest a waiting writer yields before blocking, in microseconds (default 100). NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_write_thread_max_yield_usec(
    options: *mut groupkv_options,
    value: u64,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.write_thread_max_yield_usec = value) }
}

/// A yield slower than this many microseconds counts as contended; three end the yield phase
/// early (default 3). NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_write_thread_slow_yield_usec(
    options: *mut groupkv_options,
    value: u64,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.write_thread_slow_yield_usec = value) }
}

/// What recovery does with damaged WAL records: one of the groupkv_wal_recovery_mode values
/// (default GROUPKV_WAL_POINT_IN_TIME). Takes an int so any value is safe to pass. Returns
/// GROUPKV_INVALID_ARGUMENT (options unchanged) for a NULL handle or an unknown mode.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_wal_recovery_mode(
    options: *mut groupkv_options,
    mode: c_int,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut::<*mut c_char>(), || {
        require(options, "options")?;
        let mode = recovery_mode(mode).ok_or_else(|| {
            invalid(format!(
                "unknown WAL recovery mode {mode}; use a groupkv_wal_recovery_mode value (0..=3)"
            ))
        })?;
        // SAFETY: non-NULL and live per the contract.
        unsafe { (*options).inner.wal_recovery_mode = mode };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Bytes of writes the memtable collects before it is switched for a new one (with a new WAL)
/// and flushed to a level-0 table (default 67108864, 64 MiB). Larger buffers mean fewer, larger
/// level-0 tables and a longer recovery. At least 4096. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// write_buffer_size. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_write_buffer_size(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.write_buffer_size = value) }
}

/// The most memtables held at once, the one being written included (default 2): when it is full and
/// the others still wait for their flush, writes stop until one is flushed. At least 2. A value out
/// of range makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// max_write_buffer_number. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_max_write_buffer_number(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.max_write_buffer_number = value) }
}

/// Level 0 is compacted into level 1 once it holds this many tables (default 4). At least 1. A
/// value out of range makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// level0_file_num_compaction_trigger. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_level0_file_num_compaction_trigger(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.level0_file_num_compaction_trigger = value) }
}

/// From this many level-0 tables on, each write group is delayed so compaction can catch up
/// (default 20). At least level0_file_num_compaction_trigger. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// level0_slowdown_writes_trigger. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_level0_slowdown_writes_trigger(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.level0_slowdown_writes_trigger = value) }
}

/// From this many level-0 tables on, writes stop until compaction brings the count down
/// (default 36). At least level0_slowdown_writes_trigger. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// level0_stop_writes_trigger. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_level0_stop_writes_trigger(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.level0_stop_writes_trigger = value) }
}

/// Uncompressed bytes of a table's data block (default 4096, LevelDB's): larger blocks mean smaller
/// indexes and better compression but more bytes read per lookup. 1 to 1 GiB. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming block_size. NULL
/// is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_block_size(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.block_size = value) }
}

/// Keys between restart points in a data block (default 16): a seek scans at most this many
/// keys after its binary search. At least 1. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// block_restart_interval. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_block_restart_interval(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.block_restart_interval = value) }
}

/// Bloom filter bits per key in each table (default 10, about 1 % false positives); 0 writes no
/// filter, so every lookup of an absent key reads a data block. 0 to 1000. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// bloom_bits_per_key. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_bloom_bits_per_key(
    options: *mut groupkv_options,
    value: u32,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.bloom_bits_per_key = value) }
}

/// Bytes of uncompressed table blocks cached in memory, a sharded LRU (default 8388608, 8 MiB);
/// 0 caches nothing. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// block_cache_size. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_block_cache_size(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.block_cache_size = value) }
}

/// Table files kept open, with their index and filter in memory, by the table cache (default 1000).
/// At least 20 (ten descriptors are kept back for the WAL and MANIFEST). A value out of range makes
/// groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming max_open_files. NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_max_open_files(
    options: *mut groupkv_options,
    value: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.max_open_files = value) }
}

/// The size at which compaction cuts its output tables (default 67108864, 64 MiB). At least
/// 4096. A value out of range
/// makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// target_file_size_base. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_target_file_size_base(
    options: *mut groupkv_options,
    value: u64,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.target_file_size_base = value) }
}

/// Level 1's target size in bytes; each deeper level's is ten times the one above, and a level over
/// its target is compacted into the next (default 268435456, 256 MiB). At least 4096. A value out
/// of range makes groupkv_db_open fail with GROUPKV_INVALID_ARGUMENT and a message naming
/// max_bytes_for_level_base. NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_max_bytes_for_level_base(
    options: *mut groupkv_options,
    value: u64,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.max_bytes_for_level_base = value) }
}

/// When true, the compaction thread runs only manual compactions (groupkv_db_compact_range);
/// no level is compacted on its own (default false). The level-0 write triggers still apply:
/// writes slow down at level0_slowdown_writes_trigger level-0 files and stop at
/// level0_stop_writes_trigger until a groupkv_db_compact_range empties level 0. NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_disable_auto_compactions(
    options: *mut groupkv_options,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_options(options, |o| o.disable_auto_compactions = value) }
}

/// How table blocks are written: one of the groupkv_compression values (default
/// GROUPKV_NO_COMPRESSION). Tables of either kind are always readable. Takes an int so any value
/// is safe to pass. Returns GROUPKV_INVALID_ARGUMENT (options unchanged) for a NULL handle or an
/// unknown value.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_options_set_compression(
    options: *mut groupkv_options,
    value: c_int,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut::<*mut c_char>(), || {
        require(options, "options")?;
        let kind = compression(value).ok_or_else(|| {
            invalid(format!(
                "unknown compression {value}; use a groupkv_compression value (0 or 1)"
            ))
        })?;
        // SAFETY: non-NULL and live per the contract.
        unsafe { (*options).inner.compression = kind };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// New write options with the defaults: sync false, disable_wal false, no_slowdown false. Free
/// with groupkv_writeoptions_destroy. NULL only if groupkv panicked.
#[no_mangle]
pub extern "C" fn groupkv_writeoptions_create() -> *mut groupkv_writeoptions {
    ffi_value(std::ptr::null_mut(), || {
        into_raw(groupkv_writeoptions {
            inner: WriteOptions::default(),
        })
    })
}

/// Frees write options from groupkv_writeoptions_create. NULL is ignored.
///
/// # Safety
/// `options` is NULL or from groupkv_writeoptions_create and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn groupkv_writeoptions_destroy(options: *mut groupkv_writeoptions) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(options) })
}

/// Applies `set` unless `options` is NULL.
///
/// # Safety
/// `options` is NULL or a live groupkv_writeoptions not used by another thread meanwhile.
unsafe fn with_writeoptions(
    options: *mut groupkv_writeoptions,
    set: impl FnOnce(&mut WriteOptions),
) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        if let Some(o) = unsafe { options.as_mut() } {
            set(&mut o.inner);
        }
    })
}

/// fdatasync the WAL before the write returns, so it survives power loss (default false).
/// Cannot be combined with disable_wal (the write then fails with GROUPKV_INVALID_ARGUMENT).
/// NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_writeoptions_set_sync(
    options: *mut groupkv_writeoptions,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_writeoptions(options, |o| o.sync = value) }
}

/// Skip the WAL: the write survives only a clean groupkv_db_close (default false). NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_writeoptions_set_disable_wal(
    options: *mut groupkv_writeoptions,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_writeoptions(options, |o| o.disable_wal = value) }
}

/// Fail with GROUPKV_INCOMPLETE instead of waiting out a write stall (default false). NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_writeoptions_set_no_slowdown(
    options: *mut groupkv_writeoptions,
    value: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_writeoptions(options, |o| o.no_slowdown = value) }
}
