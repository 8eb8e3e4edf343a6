//! Statistics from C: a snapshot handle (`groupkv_stats`) read by name, plus functions that
//! enumerate the names, so C code needs no change when the core adds a counter.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use super::db::groupkv_db;
use super::{ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, require};
use crate::stats::{HistogramSnapshot, Stats};

/// A consistent snapshot of a database's statistics (opaque), from groupkv_db_stats. Read it
/// with groupkv_stats_counter / groupkv_stats_histogram and, per level,
/// groupkv_stats_files_at_level / groupkv_stats_bytes_at_level; free it with
/// groupkv_stats_destroy.
/// Immutable: any number of threads may read it at once.
#[derive(Debug)]
pub struct groupkv_stats {
    inner: Stats,
}

/// A histogram's summary (a plain struct the caller owns).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct groupkv_histogram {
    /// Samples recorded.
    pub count: u64,
    /// Sum of the samples.
    pub sum: u64,
    /// Smallest sample (0 if none).
    pub min: u64,
    /// Largest sample (0 if none).
    pub max: u64,
    /// Mean sample.
    pub mean: f64,
    /// Median (interpolated within a bucket).
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl From<HistogramSnapshot> for groupkv_histogram {
    fn from(h: HistogramSnapshot) -> Self {
        groupkv_histogram {
            count: h.count,
            sum: h.sum,
            min: h.min,
            max: h.max,
            mean: h.mean,
            p50: h.p50,
            p99: h.p99,
            p999: h.p999,
        }
    }
}

/// The names as static C strings, in the core's order (built once from the core's lists).
fn names() -> &'static (Vec<CString>, Vec<CString>) {
    static NAMES: OnceLock<(Vec<CString>, Vec<CString>)> = OnceLock::new();
    NAMES.get_or_init(|| {
        let s = Stats::default();
        let c = |n: &str| CString::new(n).unwrap_or_default();
        (
            s.counters().iter().map(|(n, _)| c(n)).collect(),
            s.histograms().iter().map(|(n, _)| c(n)).collect(),
        )
    })
}

/// The name argument as UTF-8, or INVALID_ARGUMENT.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
unsafe fn name_arg<'a>(name: *const c_char) -> Result<&'a str, super::Failure> {
    require(name, "name")?;
    // SAFETY: non-NULL and NUL-terminated per the contract.
    unsafe { CStr::from_ptr(name) }
        .to_str()
        .map_err(|_| invalid("statistic name is not UTF-8"))
}

/// Takes a snapshot of the database's statistics since open (works after close too) and
/// stores a new handle in `*out` (free with groupkv_stats_destroy). GROUPKV_INVALID_ARGUMENT
/// for NULL `db` or `out`.
///
/// # Safety
/// `db` is NULL or live; `out` and `errmsg` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_stats(
    db: *const groupkv_db,
    out: *mut *mut groupkv_stats,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        require(out, "out")?;
        // SAFETY: forwarded contract.
        let db = unsafe { db.as_ref() }.ok_or_else(|| invalid("db is NULL"))?;
        let inner = db.inner.stats();
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = into_raw(groupkv_stats { inner }) };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Frees a snapshot. NULL is ignored.
///
/// # Safety
/// `stats` is NULL or from groupkv_db_stats and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_destroy(stats: *mut groupkv_stats) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(stats) })
}

/// Reads counter `name` (see groupkv_stats_counter_name) into `*out`. The counters, in the
/// order groupkv_stats_counter_name lists them:
/// - write_done_by_self: write groups committed (each by its leader);
/// - write_done_by_other: writes committed by another thread's group;
/// - write_with_wal: batches written to the WAL;
/// - wal_syncs: WAL fdatasync calls;
/// - wal_bytes: bytes appended to the WAL, framing included;
/// - keys_written: records (puts and deletes) written;
/// - bytes_written: bytes of batches written;
/// - stall_micros: microseconds writers waited out write stalls, all causes together;
/// - stall_memtable_micros: ... because too many memtables waited for their flush;
/// - stall_l0_slowdown_micros: ... delayed because level 0 reached its slowdown trigger;
/// - stall_l0_stop_micros: ... stopped because level 0 reached its stop trigger;
/// - memtable_switches: memtables switched for a new one (each with a new WAL);
/// - flushes: memtables flushed to level-0 tables;
/// - flush_bytes: bytes of tables written by flushes;
/// - compactions: compactions run, trivial moves included;
/// - compaction_bytes_read, compaction_bytes_written: table bytes compactions read, wrote;
/// - block_cache_hit, block_cache_miss: table blocks found in / missing from the block cache;
/// - bloom_useful: table lookups a bloom filter answered "absent" without reading a block;
/// - memtable_bytes (a gauge): approximate bytes held by the memtables at the snapshot;
/// - immutable_memtables (a gauge): memtables switched out and not yet flushed.
///
/// GROUPKV_NOT_FOUND for an unknown name (`*out` untouched); GROUPKV_INVALID_ARGUMENT for NULL
/// arguments.
///
/// # Safety
/// `stats` is NULL or live; `name` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_counter(
    stats: *const groupkv_stats,
    name: *const c_char,
    out: *mut u64,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(stats, "stats")?;
        require(out, "out")?;
        // SAFETY: forwarded contract.
        let name = unsafe { name_arg(name) }?;
        // SAFETY: non-NULL and live per the contract.
        let stats = unsafe { &(*stats).inner };
        match stats.counters().iter().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *out = *v };
                Ok(groupkv_status::GROUPKV_OK)
            }
            None => Ok(groupkv_status::GROUPKV_NOT_FOUND),
        }
    })
}

/// Reads histogram `name` (see groupkv_stats_histogram_name) into `*out`: write_group_size
/// (writers per group), write_micros (latency of each write, queueing included) and
/// wal_sync_micros (latency of each WAL sync). GROUPKV_NOT_FOUND for an unknown name (`*out`
/// untouched); GROUPKV_INVALID_ARGUMENT for NULL arguments.
///
/// # Safety
/// `stats` is NULL or live; `name` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_histogram(
    stats: *const groupkv_stats,
    name: *const c_char,
    out: *mut groupkv_histogram,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(stats, "stats")?;
        require(out, "out")?;
        // SAFETY: forwarded contract.
        let name = unsafe { name_arg(name) }?;
        // SAFETY: non-NULL and live per the contract.
        let stats = unsafe { &(*stats).inner };
        match stats.histograms().iter().find(|(n, _)| *n == name) {
            Some((_, h)) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *out = (*h).into() };
                Ok(groupkv_status::GROUPKV_OK)
            }
            None => Ok(groupkv_status::GROUPKV_NOT_FOUND),
        }
    })
}

/// The name of counter number `index` (0, 1, ...) as a static string, or NULL past the last
/// one: `for (size_t i = 0; (n = groupkv_stats_counter_name(i)); i++)` lists them all.
#[no_mangle]
pub extern "C" fn groupkv_stats_counter_name(index: usize) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        names()
            .0
            .get(index)
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// The name of histogram number `index` as a static string, or NULL past the last one.
#[no_mangle]
pub extern "C" fn groupkv_stats_histogram_name(index: usize) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        names()
            .1
            .get(index)
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// The number of levels groupkv_stats_files_at_level and groupkv_stats_bytes_at_level cover
/// (levels 0 to count - 1; seven once the database has its tables' levels). 0 for NULL.
///
/// # Safety
/// `stats` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_level_count(stats: *const groupkv_stats) -> usize {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { stats.as_ref() }.map_or(0, |s| s.inner.num_files_at_level.len())
    })
}

/// Reads entry `level` of `list` into `*out`: NOT_FOUND past the last level.
///
/// # Safety
/// `stats` is NULL or live; `out` is NULL or writable.
unsafe fn with_level(
    stats: *const groupkv_stats,
    level: usize,
    out: *mut u64,
    list: fn(&Stats) -> &[u64],
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(out, "out")?;
        // SAFETY: forwarded contract.
        let stats = unsafe { stats.as_ref() }.ok_or_else(|| invalid("stats is NULL"))?;
        match list(&stats.inner).get(level) {
            Some(v) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *out = *v };
                Ok(groupkv_status::GROUPKV_OK)
            }
            None => Ok(groupkv_status::GROUPKV_NOT_FOUND),
        }
    })
}

/// Writes the number of tables in `level` (0 = the newest, flushed tables) at the snapshot to
/// `*out`. GROUPKV_NOT_FOUND for a level at or past groupkv_stats_level_count (`*out`
/// untouched); GROUPKV_INVALID_ARGUMENT for NULL `stats` or `out`.
///
/// # Safety
/// `stats` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_files_at_level(
    stats: *const groupkv_stats,
    level: usize,
    out: *mut u64,
) -> groupkv_status {
    // SAFETY: forwarded contract.
    unsafe { with_level(stats, level, out, |s| &s.num_files_at_level) }
}

/// Writes the bytes of the tables in `level` at the snapshot to `*out`. Errors as for
/// groupkv_stats_files_at_level.
///
/// # Safety
/// `stats` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_stats_bytes_at_level(
    stats: *const groupkv_stats,
    level: usize,
    out: *mut u64,
) -> groupkv_status {
    // SAFETY: forwarded contract.
    unsafe { with_level(stats, level, out, |s| &s.bytes_at_level) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_lists_read_each_level_and_refuse_past_the_last() {
        let stats = groupkv_stats {
            inner: Stats {
                num_files_at_level: vec![3, 0, 7],
                bytes_at_level: vec![300, 0, 7000],
                ..Stats::default()
            },
        };
        let p: *const groupkv_stats = &stats;
        // SAFETY: `p` points to a live snapshot; `out` is a local.
        unsafe {
            assert_eq!(groupkv_stats_level_count(p), 3);
            assert_eq!(groupkv_stats_level_count(std::ptr::null()), 0);
            let mut out = 0u64;
            for (level, (files, bytes)) in [(3, 300), (0, 0), (7, 7000)].into_iter().enumerate() {
                assert_eq!(
                    groupkv_stats_files_at_level(p, level, &mut out),
                    groupkv_status::GROUPKV_OK
                );
                assert_eq!(out, files);
                assert_eq!(
                    groupkv_stats_bytes_at_level(p, level, &mut out),
                    groupkv_status::GROUPKV_OK
                );
                assert_eq!(out, bytes);
            }
            out = 42;
            assert_eq!(
                groupkv_stats_files_at_level(p, 3, &mut out),
                groupkv_status::GROUPKV_NOT_FOUND
            );
            assert_eq!(
                groupkv_stats_bytes_at_level(p, usize::MAX, &mut out),
                groupkv_status::GROUPKV_NOT_FOUND
            );
            assert_eq!(out, 42, "out is written only on success");
            assert_eq!(
                groupkv_stats_files_at_level(std::ptr::null(), 0, &mut out),
                groupkv_status::GROUPKV_INVALID_ARGUMENT
            );
            assert_eq!(
                groupkv_stats_bytes_at_level(p, 0, std::ptr::null_mut()),
                groupkv_status::GROUPKV_INVALID_ARGUMENT
            );
        }
    }
}
