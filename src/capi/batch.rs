//! `groupkv_batch`: puts and deletes applied atomically by groupkv_db_write.

use std::ffi::{c_char, c_void};

use super::{
    ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, kv_bytes, raw_bytes,
    require,
};
use crate::write_batch::{Record, WriteBatch};

/// An ordered group of puts and deletes (opaque). Not thread-safe: one thread at a time may
/// modify it; several may pass it to groupkv_db_write at once when nobody modifies it.
#[derive(Debug)]
pub struct groupkv_batch {
    pub(crate) inner: WriteBatch,
}

/// Called by groupkv_batch_iterate for each put: `state`, the key and the value. The pointers
/// are valid only during the call. It must not unwind (throw) or longjmp out.
pub type groupkv_batch_put_fn = Option<
    unsafe extern "C" fn(
        state: *mut c_void,
        key: *const c_char,
        keylen: usize,
        val: *const c_char,
        vallen: usize,
    ),
>;

/// Called by groupkv_batch_iterate for each delete: `state` and the key (valid only during
/// the call). It must not unwind (throw) or longjmp out.
pub type groupkv_batch_delete_fn =
    Option<unsafe extern "C" fn(state: *mut c_void, key: *const c_char, keylen: usize)>;

/// A new empty batch. Free with groupkv_batch_destroy. NULL only if groupkv panicked.
#[no_mangle]
pub extern "C" fn groupkv_batch_create() -> *mut groupkv_batch {
    ffi_value(std::ptr::null_mut(), || {
        into_raw(groupkv_batch {
            inner: WriteBatch::new(),
        })
    })
}

/// Builds a batch from its LevelDB/RocksDB-compatible representation (as returned by
/// groupkv_batch_data), validating every length, tag and the record count. On success `*out`
/// receives a new batch (free with groupkv_batch_destroy). Damaged bytes give
/// GROUPKV_CORRUPTION; NULL `out`, or NULL `data` with a non-zero `len`, give
/// GROUPKV_INVALID_ARGUMENT.
///
/// # Safety
/// `data` points to `len` readable bytes (or `len` is 0); `out` is NULL or writable; `errmsg`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_create_from_data(
    data: *const c_char,
    len: usize,
    out: *mut *mut groupkv_batch,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        require(out, "out")?;
        // SAFETY: per the contract, `data` holds `len` bytes.
        let bytes = unsafe { raw_bytes(data, len, "data") }?;
        let inner = WriteBatch::from_data(bytes)?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { *out = into_raw(groupkv_batch { inner }) };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Frees a batch. NULL is ignored.
///
/// # Safety
/// `batch` is NULL or from groupkv_batch_create(_from_data) and not yet destroyed, and no
/// other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_destroy(batch: *mut groupkv_batch) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(batch) })
}

/// Appends a put of `key` -> `val` (both copied). Empty keys and values are allowed (the
/// pointer may then be NULL). Returns GROUPKV_INVALID_ARGUMENT, leaving the batch unchanged,
/// for a NULL batch, a NULL pointer with a non-zero length, or a length above
/// GROUPKV_MAX_KEY_VALUE_LEN (checked before any byte is read).
///
/// # Safety
/// `batch` is NULL or live and not used by another thread; `key`/`val` point to
/// `keylen`/`vallen` readable bytes when those are within the limit.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_put(
    batch: *mut groupkv_batch,
    key: *const c_char,
    keylen: usize,
    val: *const c_char,
    vallen: usize,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(batch, "batch")?;
        // SAFETY: per the contract (lengths are checked first).
        let (key, val) = unsafe {
            (
                kv_bytes(key, keylen, "key")?,
                kv_bytes(val, vallen, "value")?,
            )
        };
        // SAFETY: non-NULL and exclusively ours per the contract.
        unsafe { (*batch).inner.put(key, val) }?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Appends a delete of `key` (copied). Errors as for groupkv_batch_put.
///
/// # Safety
/// As for groupkv_batch_put.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_delete(
    batch: *mut groupkv_batch,
    key: *const c_char,
    keylen: usize,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(batch, "batch")?;
        // SAFETY: per the contract (the length is checked first).
        let key = unsafe { kv_bytes(key, keylen, "key") }?;
        // SAFETY: non-NULL and exclusively ours per the contract.
        unsafe { (*batch).inner.delete(key) }?;
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// Removes every record, keeping the memory for reuse. NULL is ignored.
///
/// # Safety
/// `batch` is NULL or live and not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_clear(batch: *mut groupkv_batch) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        if let Some(b) = unsafe { batch.as_mut() } {
            b.inner.clear();
        }
    })
}

/// The number of records (puts and deletes) in the batch; 0 for NULL.
///
/// # Safety
/// `batch` is NULL or live and not modified meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_count(batch: *const groupkv_batch) -> usize {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { batch.as_ref() }.map_or(0, |b| b.inner.count() as usize)
    })
}

/// The batch's representation (LevelDB/RocksDB byte format: 12-byte header, then records):
/// returns a pointer to it and writes its length to `*len`. The bytes belong to the batch and
/// stay valid until it is next modified or destroyed; do not free them. Returns NULL (and
/// leaves `*len` alone) if `batch` or `len` is NULL.
///
/// # Safety
/// `batch` is NULL or live; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_data(
    batch: *const groupkv_batch,
    len: *mut usize,
) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        match (unsafe { batch.as_ref() }, len.is_null()) {
            (Some(b), false) => {
                let data = b.inner.data();
                // SAFETY: `len` is non-NULL and writable per the contract.
                unsafe { *len = data.len() };
                data.as_ptr().cast::<c_char>()
            }
            _ => std::ptr::null(),
        }
    })
}

/// Calls `put` or `deleted` for each record in order, with `state` as the first argument.
/// Returns GROUPKV_INVALID_ARGUMENT if `batch`, `put` or `deleted` is NULL.
///
/// # Safety
/// `batch` is NULL or live and not modified during the call; the callbacks do not unwind.
#[no_mangle]
pub unsafe extern "C" fn groupkv_batch_iterate(
    batch: *const groupkv_batch,
    state: *mut c_void,
    put: groupkv_batch_put_fn,
    deleted: groupkv_batch_delete_fn,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        require(batch, "batch")?;
        let (Some(put), Some(deleted)) = (put, deleted) else {
            return Err(invalid("a groupkv_batch_iterate callback is NULL"));
        };
        // SAFETY: non-NULL and live per the contract.
        let batch = unsafe { &(*batch).inner };
        for record in batch.iter() {
            // SAFETY: the callbacks are valid functions per the contract; the pointers passed
            // stay valid for the call.
            unsafe {
                match record {
                    Record::Put { key, value } => put(
                        state,
                        key.as_ptr().cast(),
                        key.len(),
                        value.as_ptr().cast(),
                        value.len(),
                    ),
                    Record::Delete { key } => deleted(state, key.as_ptr().cast(), key.len()),
                }
            }
        }
        Ok(groupkv_status::GROUPKV_OK)
    })
}
