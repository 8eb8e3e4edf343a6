//! `groupkv_iterator`: a cursor over a database's keys, from groupkv_iterator_create.
//!
//! The iterator owns its engine `DbIterator`, which pins the memtables and tables it reads by
//! `Arc` and shares only the database's closed flag: after groupkv_db_close its moves do
//! nothing, it is never valid and its status is GROUPKV_CLOSED; destroying it after
//! groupkv_db_close, or after groupkv_db_destroy, frees only what it owns.

use std::ffi::c_char;

use super::db::{groupkv_db, handle};
use super::read::{groupkv_readoptions, read_options};
use super::{ffi_status, ffi_value, free_box, groupkv_status, into_raw, kv_bytes, require};
use crate::db::DbIterator;

/// A cursor over a database's keys in order (opaque), reading a consistent view as of its
/// creation (or of the snapshot in its read options) while writes go on. Not positioned until
/// a seek. Not synchronised: one thread at a time.
#[derive(Debug)]
pub struct groupkv_iterator {
    inner: DbIterator,
}

/// Creates an iterator over `db` as `options` sees it (NULL: the defaults; the bounds and the
/// snapshot are taken now, so the options may be changed or destroyed afterwards) and stores
/// it in `*out`. It starts unpositioned: call a seek. Free it with groupkv_iterator_destroy.
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db` or `out`, fork()ed child), GROUPKV_CLOSED,
/// GROUPKV_IO_ERROR / GROUPKV_CORRUPTION opening a table.
///
/// # Safety
/// `db` and `options` are NULL or live (and so is the snapshot `options` names); `out` and
/// `errmsg` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_create(
    db: *const groupkv_db,
    options: *const groupkv_readoptions,
    out: *mut *mut groupkv_iterator,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(out, "out")?;
        // SAFETY: forwarded contract.
        let read = unsafe { read_options(options) };
        let it = into_raw(groupkv_iterator {
            inner: db.iter(&read)?,
        });
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = it };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Frees an iterator. NULL is ignored. Allowed after groupkv_db_close and groupkv_db_destroy.
///
/// # Safety
/// `it` is NULL or from groupkv_iterator_create and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_destroy(it: *mut groupkv_iterator) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(it) })
}

/// Applies `step` unless `it` is NULL.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile.
unsafe fn with_iterator(it: *mut groupkv_iterator, step: impl FnOnce(&mut DbIterator)) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        if let Some(it) = unsafe { it.as_mut() } {
            step(&mut it.inner);
        }
    })
}

/// Moves to the first key (at or after the lower bound). NULL is ignored.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_seek_to_first(it: *mut groupkv_iterator) {
    // SAFETY: forwarded contract.
    unsafe { with_iterator(it, DbIterator::seek_to_first) }
}

/// Moves to the last key (below the upper bound). NULL is ignored.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_seek_to_last(it: *mut groupkv_iterator) {
    // SAFETY: forwarded contract.
    unsafe { with_iterator(it, DbIterator::seek_to_last) }
}

/// Moves to the first key at or after `key` (`len` bytes). A bad key (NULL with a non-zero
/// length, or longer than GROUPKV_MAX_KEY_VALUE_LEN) is never read: a void call cannot report
/// it, so it leaves the iterator invalid, as past the last key. NULL `it` is ignored.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile; `key` points to `len`
/// readable bytes when `len` is within the limit.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_seek(
    it: *mut groupkv_iterator,
    key: *const c_char,
    len: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_key(it, key, len, DbIterator::seek) }
}

/// Moves to the last key at or before `key` (`len` bytes). A bad key makes the iterator
/// invalid, as for groupkv_iterator_seek. NULL `it` is ignored.
///
/// # Safety
/// As for groupkv_iterator_seek.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_seek_for_prev(
    it: *mut groupkv_iterator,
    key: *const c_char,
    len: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_key(it, key, len, DbIterator::seek_for_prev) }
}

/// Applies `seek` with the key `key`/`len` unless `it` is NULL; a bad key (never read) leaves
/// the iterator invalid instead.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile; `key` points to `len`
/// readable bytes when `len` is within the limit.
unsafe fn with_key(
    it: *mut groupkv_iterator,
    key: *const c_char,
    len: usize,
    seek: impl FnOnce(&mut DbIterator, &[u8]),
) {
    // SAFETY: forwarded contract.
    unsafe {
        with_iterator(it, |it| {
            // SAFETY: forwarded contract (the length is checked before any byte is read).
            match kv_bytes(key, len, "key") {
                Ok(k) => seek(it, k),
                Err(_) => invalidate(it),
            }
        })
    }
}

/// Leaves `it` invalid after a seek with a bad key: past the last key, the one position every
/// iterator has (no seek target is guaranteed to be above every key).
fn invalidate(it: &mut DbIterator) {
    it.seek_to_last();
    it.next();
}

/// Moves to the next key. Does nothing unless valid; NULL is ignored.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_next(it: *mut groupkv_iterator) {
    // SAFETY: forwarded contract.
    unsafe { with_iterator(it, DbIterator::next) }
}

/// Moves to the previous key. Does nothing unless valid; NULL is ignored.
///
/// # Safety
/// `it` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_prev(it: *mut groupkv_iterator) {
    // SAFETY: forwarded contract.
    unsafe { with_iterator(it, DbIterator::prev) }
}

/// True if the iterator is at an entry: false for NULL, before a seek, past either end, after
/// an error (see groupkv_iterator_status) and after groupkv_db_close.
///
/// # Safety
/// `it` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_valid(it: *const groupkv_iterator) -> bool {
    ffi_value(false, || {
        // SAFETY: forwarded contract.
        unsafe { it.as_ref() }.is_some_and(|it| it.inner.valid())
    })
}

/// The bytes of the current key or value, or NULL (and `*len` 0) when not valid.
///
/// # Safety
/// `it` is NULL or live; `len` is NULL or writable.
unsafe fn current(
    it: *const groupkv_iterator,
    len: *mut usize,
    pick: impl FnOnce(&DbIterator) -> &[u8],
) -> *const c_char {
    // SAFETY: forwarded contract.
    let bytes = unsafe { it.as_ref() }
        .filter(|it| it.inner.valid())
        .map(|it| pick(&it.inner));
    if !len.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *len = bytes.map_or(0, <[u8]>::len) };
    }
    // An empty key or value still gets a non-NULL pointer while valid, so NULL always means
    // "not valid".
    bytes.map_or(std::ptr::null(), |b| {
        if b.is_empty() {
            c"".as_ptr()
        } else {
            b.as_ptr().cast::<c_char>()
        }
    })
}

/// The current key and its length in `*len` (`len` may be NULL), or NULL (and `*len` 0) when
/// the iterator is not valid. The bytes belong to the iterator (not NUL-terminated; do not
/// free them) and stay valid until its next move or its destruction.
///
/// # Safety
/// `it` is NULL or live; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_key(
    it: *const groupkv_iterator,
    len: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    ffi_value(std::ptr::null(), || unsafe {
        current(it, len, DbIterator::key)
    })
}

/// The current value, as groupkv_iterator_key gives the key.
///
/// # Safety
/// `it` is NULL or live; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_value(
    it: *const groupkv_iterator,
    len: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    ffi_value(std::ptr::null(), || unsafe {
        current(it, len, DbIterator::value)
    })
}

/// GROUPKV_OK, or why the iterator stopped early: GROUPKV_CLOSED once the database is closed,
/// GROUPKV_CORRUPTION / GROUPKV_IO_ERROR for a damaged or unreadable table (with `errmsg`).
/// Check it when groupkv_iterator_valid turns false to tell the end from a failure.
/// GROUPKV_INVALID_ARGUMENT for NULL `it`.
///
/// # Safety
/// `it` is NULL or live; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_iterator_status(
    it: *const groupkv_iterator,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        require(it, "iterator")?;
        // SAFETY: non-NULL and live per the contract.
        let it = unsafe { &(*it).inner };
        it.status()?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}
