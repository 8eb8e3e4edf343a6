//! Statistics from C: a snapshot handle (`groupkv_stats`) read by name, plus functions that
//! enumerate the names, so C code needs no change when the core adds a counter.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use super::db::groupkv_db;
use super::{ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, require};
use crate::stats::{HistogramSnapshot, Stats};

/// A consistent snapshot of a database's statistics (opaque), from groupkv_db_stats. Read it
/// with groupkv_stats_counter / groupkv_stats_histogram; free it with groupkv_stats_destroy.
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

/// Takes a snapshot of the write path's statistics since open (works after close too) and
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

/// Reads counter `name` (see groupkv_stats_counter_name) into `*out`. The counters are
/// write_done_by_self (write groups committed), write_done_by_other (writes committed by
/// another thread's group), write_with_wal, wal_syncs, wal_bytes, keys_written,
/// bytes_written and stall_micros. GROUPKV_NOT_FOUND for an unknown name (`*out` untouched);
/// GROUPKV_INVALID_ARGUMENT for NULL arguments.
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
