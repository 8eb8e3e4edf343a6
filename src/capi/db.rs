//! `groupkv_db`: open, write, read, flush, compact_range, close, destroy.
//!
//! Close and destroy are separate on purpose: groupkv_db_close may race with writes from other
//! threads (they finish or get GROUPKV_CLOSED, because `DB::close` waits for in-flight writes and
//! later ones see the closed flag), while the handle itself stays allocated until
//! groupkv_db_destroy, so a racing caller never touches freed memory.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::batch::groupkv_batch;
use super::options::{groupkv_options, groupkv_writeoptions};
use super::read::{groupkv_readoptions, read_options};
use super::{
    ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, kv_bytes, malloc_bytes,
    require, Failure,
};
use crate::error::Error;
use crate::DB;

/// An open database (opaque). Thread-safe: every function taking a groupkv_db may be called
/// from many threads at once, except groupkv_db_destroy, which must be the last call.
#[derive(Debug)]
pub struct groupkv_db {
    pub(crate) inner: DB,
    /// The process that opened it: a fork()ed child must not free the parent's state.
    owner_pid: libc::pid_t,
}

/// The handle behind `db`, or INVALID_ARGUMENT for NULL.
///
/// # Safety
/// `db` is NULL or a live handle from groupkv_db_open, not destroyed during `'a`.
pub(crate) unsafe fn handle<'a>(db: *const groupkv_db) -> Result<&'a DB, Failure> {
    // SAFETY: forwarded contract.
    unsafe { db.as_ref() }
        .map(|d| &d.inner)
        .ok_or_else(|| invalid("db is NULL"))
}

/// Opens (or creates) the database in directory `path` and stores a new handle in `*out`.
/// The path is taken as raw bytes (any non-UTF-8 bytes are fine on Linux).
///
/// Errors: GROUPKV_INVALID_ARGUMENT for NULL `options`/`path`/`out`, an empty path, bad
/// options, a missing directory without create_if_missing, a path that is not a directory,
/// or an existing database with error_if_exists; GROUPKV_BUSY if another handle (in this or
/// another process) has it open; GROUPKV_CORRUPTION if the WAL is damaged beyond what the
/// recovery mode accepts; GROUPKV_IO_ERROR if the file system fails (e.g. no permission).
/// `*out` is written only on success; free it with groupkv_db_destroy.
///
/// # Safety
/// `options` is NULL or live; `path` is NULL or a NUL-terminated string; `out` and `errmsg`
/// are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_open(
    options: *const groupkv_options,
    path: *const c_char,
    out: *mut *mut groupkv_db,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        require(options, "options")?;
        require(path, "path")?;
        require(out, "out")?;
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
        if bytes.is_empty() {
            return Err(invalid("path is empty; pass the database directory"));
        }
        // SAFETY: non-NULL and live per the contract.
        let opts = unsafe { &(*options).inner }.clone();
        let db = DB::open(Path::new(OsStr::from_bytes(bytes)), opts)?;
        // SAFETY: getpid has no preconditions.
        let owner_pid = unsafe { libc::getpid() };
        // SAFETY: non-NULL and writable per the contract.
        unsafe {
            *out = into_raw(groupkv_db {
                inner: db,
                owner_pid,
            })
        };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Closes the database: waits for in-flight writes, flushes the memtables to tables (so the next
/// open replays nothing), syncs the WAL and releases the directory.
/// Writes racing with it either finish or get GROUPKV_CLOSED. The handle stays allocated:
/// later calls get GROUPKV_CLOSED (a second close returns GROUPKV_OK) until
/// groupkv_db_destroy frees it. In a fork()ed child the parent's handle just stops working
/// (the parent's files and lock are left alone). Returns GROUPKV_INVALID_ARGUMENT for NULL;
/// GROUPKV_IO_ERROR if the final sync fails; GROUPKV_POISONED (once) if an earlier WAL write
/// failed, in which case nothing more was written: reopen to recover every acknowledged write.
///
/// # Safety
/// `db` is NULL or a live handle; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_close(
    db: *const groupkv_db,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        unsafe { handle(db) }?.close()?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Frees the handle, closing the database first if needed (errors of that close are dropped:
/// call groupkv_db_close first to see them). NULL is ignored. No other thread may use the
/// handle during or after this call. In a fork()ed child it frees nothing: the parent's
/// threads may have left the copied state mid-update, so the copy is left to process exit.
///
/// # Safety
/// `db` is NULL or a live handle that no other thread is using or will use.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_destroy(db: *mut groupkv_db) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        let Some(handle) = (unsafe { db.as_ref() }) else {
            return;
        };
        // SAFETY: getpid has no preconditions.
        if handle.owner_pid != unsafe { libc::getpid() } {
            // Marks the child's copy closed without touching the parent's files.
            let _ = handle.inner.close();
            return;
        }
        // SAFETY: forwarded contract: `db` came from groupkv_db_open and is not used again.
        unsafe { free_box(db) }
    })
}

/// Applies `batch` atomically: after any crash, and to any reader, all of it or none. When it
/// returns GROUPKV_OK the batch is visible to groupkv_db_get and, with sync, survives power
/// loss; without sync, a process crash; with disable_wal, only a clean close.
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL argument, sync with disable_wal, fork()ed child),
/// GROUPKV_CLOSED, GROUPKV_INCOMPLETE (no_slowdown during a stall), GROUPKV_IO_ERROR (the WAL
/// write or sync failed: the write is not acknowledged), GROUPKV_POISONED (an earlier one
/// failed; reopen).
///
/// # Safety
/// `db`, `options`, `batch` are NULL or live (the batch not modified during the call);
/// `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_write(
    db: *const groupkv_db,
    options: *const groupkv_writeoptions,
    batch: *const groupkv_batch,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(options, "write options")?;
        require(batch, "batch")?;
        // SAFETY: non-NULL and live per the contract.
        let (options, batch) = unsafe { (&(*options).inner, &(*batch).inner) };
        db.write(options, batch)?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Sets `key` to `val` (a batch of one put). Empty keys and values are allowed (the pointer
/// may then be NULL); a NULL pointer with a non-zero length, or a length above
/// GROUPKV_MAX_KEY_VALUE_LEN, gives GROUPKV_INVALID_ARGUMENT before any byte is read. Other
/// errors as for groupkv_db_write.
///
/// # Safety
/// `db` and `options` are NULL or live; `key`/`val` point to `keylen`/`vallen` readable bytes
/// when those are within the limit; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_put(
    db: *const groupkv_db,
    options: *const groupkv_writeoptions,
    key: *const c_char,
    keylen: usize,
    val: *const c_char,
    vallen: usize,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(options, "write options")?;
        // SAFETY: per the contract (lengths are checked first).
        let (key, val) = unsafe {
            (
                kv_bytes(key, keylen, "key")?,
                kv_bytes(val, vallen, "value")?,
            )
        };
        // SAFETY: non-NULL and live per the contract.
        db.put(unsafe { &(*options).inner }, key, val)?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Removes `key` (a no-op if absent; still a write). Errors as for groupkv_db_put.
///
/// # Safety
/// As for groupkv_db_put.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_delete(
    db: *const groupkv_db,
    options: *const groupkv_writeoptions,
    key: *const c_char,
    keylen: usize,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(options, "write options")?;
        // SAFETY: per the contract (the length is checked first).
        let key = unsafe { kv_bytes(key, keylen, "key") }?;
        // SAFETY: non-NULL and live per the contract.
        db.delete(unsafe { &(*options).inner }, key)?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Reads the value of `key` as `options` sees it (NULL: the defaults, i.e. as of the last
/// completed write; with a snapshot set, as of that snapshot). On GROUPKV_OK, `*val` receives a
/// malloc'd copy (NUL-terminated for convenience; the terminator is not counted) and `*vallen`
/// its length; free `*val` with groupkv_free. GROUPKV_NOT_FOUND when the key has no value
/// (not a failure: nothing is written, `errmsg` included). Errors: GROUPKV_INVALID_ARGUMENT
/// (NULL `db`/`val`/`vallen`, bad key as for groupkv_db_put, fork()ed child), GROUPKV_CLOSED,
/// GROUPKV_IO_ERROR if the copy cannot be allocated.
///
/// # Safety
/// `db` and `options` are NULL or live (and so is the snapshot `options` names); `key` points
/// to `keylen` readable bytes when within the limit; `val`, `vallen` and `errmsg` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_get(
    db: *const groupkv_db,
    options: *const groupkv_readoptions,
    key: *const c_char,
    keylen: usize,
    val: *mut *mut c_char,
    vallen: *mut usize,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(val, "val")?;
        require(vallen, "vallen")?;
        // SAFETY: per the contract (the length is checked first).
        let key = unsafe { kv_bytes(key, keylen, "key") }?;
        // SAFETY: forwarded contract.
        let read = unsafe { read_options(options) };
        let Some(value) = db.get_with(&read, key)? else {
            return Ok(groupkv_status::GROUPKV_NOT_FOUND);
        };
        let copy = malloc_bytes(&value);
        if copy.is_null() {
            return Err(Error::io(
                format!("copying a {}-byte value out of groupkv", value.len()),
                std::io::Error::from_raw_os_error(libc::ENOMEM),
            )
            .into());
        }
        // SAFETY: both non-NULL and writable per the contract.
        unsafe {
            *val = copy;
            *vallen = value.len();
        }
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Flushes every memtable holding writes into level-0 tables and returns once they are
/// recorded in the MANIFEST (their WALs are then deleted), so the data no longer depends on
/// WAL replay. An empty memtable is fine (nothing is written). Blocks the calling thread
/// while the flush thread works; writes from other threads go on meanwhile.
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db`, fork()ed child), GROUPKV_CLOSED,
/// GROUPKV_POISONED (an earlier WAL write or a flush failed: reopen), GROUPKV_IO_ERROR.
///
/// # Safety
/// `db` is NULL or live; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_flush(
    db: *const groupkv_db,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        unsafe { handle(db) }?.flush()?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// A range bound from C: NULL is unbounded (`len` must then be 0); otherwise `len` bytes, which
/// may be 0 (the empty key, the smallest there is).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes when `len` is within the key limit.
unsafe fn range_bound<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<Option<&'a [u8]>, Failure> {
    if ptr.is_null() {
        if len != 0 {
            return Err(invalid(format!(
                "{what} is NULL (unbounded) but its length is {len}"
            )));
        }
        return Ok(None);
    }
    // SAFETY: forwarded contract (the length is checked first).
    unsafe { kv_bytes(ptr, len, what) }.map(Some)
}

/// Compacts the keys from `start` to `limit`, both included (NULL: unbounded on that side, so
/// NULL, 0, NULL, 0 is the whole database): flushes the memtable, then merges the tables
/// overlapping the range down to the deepest level holding data in it, dropping overwritten
/// values and deletions no snapshot needs. Returns once that is done, blocking the calling
/// thread (writes from other threads go on). A range with no data, or with `start` after
/// `limit`, compacts nothing and is not an error.
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db`, a NULL bound with a non-zero length, a length
/// above GROUPKV_MAX_KEY_VALUE_LEN, fork()ed child), GROUPKV_CLOSED (also if the database is
/// closed meanwhile), GROUPKV_POISONED (a WAL write, flush or compaction failed: the database
/// keeps its last good state; reopen), GROUPKV_IO_ERROR, GROUPKV_CORRUPTION.
///
/// # Safety
/// `db` is NULL or live; `start`/`limit` are NULL or point to `startlen`/`limitlen` readable
/// bytes when those are within the limit; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_compact_range(
    db: *const groupkv_db,
    start: *const c_char,
    startlen: usize,
    limit: *const c_char,
    limitlen: usize,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        // SAFETY: per the contract (lengths are checked first).
        let (start, limit) = unsafe {
            (
                range_bound(start, startlen, "start")?,
                range_bound(limit, limitlen, "limit")?,
            )
        };
        db.compact_range(start, limit)?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Writes the last sequence number visible to readers to `*out` (it grows by one per record
/// written; works after close too). GROUPKV_INVALID_ARGUMENT for NULL `db` or `out`.
///
/// # Safety
/// `db` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_latest_sequence(
    db: *const groupkv_db,
    out: *mut u64,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = db.latest_sequence() };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Writes the approximate number of bytes the memtable holds to `*out`.
/// GROUPKV_INVALID_ARGUMENT for NULL `db` or `out`.
///
/// # Safety
/// `db` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_approximate_memory_usage(
    db: *const groupkv_db,
    out: *mut usize,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = db.approximate_memory_usage() };
        Ok(groupkv_status::GROUPKV_OK)
    })
}
