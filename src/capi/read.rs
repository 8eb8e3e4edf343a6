//! `groupkv_readoptions`, `groupkv_snapshot`, groupkv_db_multi_get and groupkv_db_property.
//!
//! The Rust `ReadOptions<'a>` borrows its snapshot, which C cannot express; the C object holds
//! the snapshot as a raw pointer (as RocksDB's `rocksdb_readoptions_set_snapshot` does: the
//! snapshot must outlive every read that uses the options) and builds a borrowed
//! `ReadOptions` for the duration of one call ([`read_options`]).
//!
//! A snapshot owns its engine `Snapshot`, which holds the database's snapshot list by `Arc`
//! and no pointer into the `DB`: releasing it after groupkv_db_close, or even after
//! groupkv_db_destroy, frees only what it owns.

use std::ffi::{c_char, CStr};

use super::db::{groupkv_db, handle};
use super::{
    ffi_status, ffi_value, free_box, groupkv_status, into_raw, invalid, kv_bytes, malloc_bytes,
    malloc_c_string, require, Failure,
};
use crate::db::Snapshot;
use crate::error::Error;
use crate::options::ReadOptions;

/// Options for reads and iterators (opaque): a snapshot, iterator bounds, checksum and cache
/// behaviour. Create with groupkv_readoptions_create, free with groupkv_readoptions_destroy.
/// Many threads may pass the same one to reads at once, as long as nobody modifies it.
#[derive(Debug)]
pub struct groupkv_readoptions {
    snapshot: *const groupkv_snapshot,
    lower_bound: Option<Vec<u8>>,
    upper_bound: Option<Vec<u8>>,
    verify_checksums: bool,
    fill_cache: bool,
}

/// A consistent point-in-time view of a database (opaque), from groupkv_snapshot_create. Pass
/// it to reads with groupkv_readoptions_set_snapshot; free it with groupkv_snapshot_release
/// (also allowed after groupkv_db_close and groupkv_db_destroy). Immutable: any number of
/// threads may use it at once.
#[derive(Debug)]
pub struct groupkv_snapshot {
    inner: Snapshot,
}

/// The Rust read options `options` stands for (NULL: the defaults).
///
/// # Safety
/// `options` is NULL or live, and so is the snapshot it names, for `'a`.
pub(crate) unsafe fn read_options<'a>(options: *const groupkv_readoptions) -> ReadOptions<'a> {
    // SAFETY: forwarded contract.
    let Some(o) = (unsafe { options.as_ref() }) else {
        return ReadOptions::default();
    };
    ReadOptions {
        // SAFETY: forwarded contract: the snapshot outlives the call.
        snapshot: unsafe { o.snapshot.as_ref() }.map(|s| &s.inner),
        iterate_lower_bound: o.lower_bound.clone(),
        iterate_upper_bound: o.upper_bound.clone(),
        verify_checksums: o.verify_checksums,
        fill_cache: o.fill_cache,
    }
}

/// New read options with the defaults: no snapshot (read the latest write), no bounds,
/// verify_checksums true, fill_cache true. Free with groupkv_readoptions_destroy. NULL only if
/// groupkv panicked.
#[no_mangle]
pub extern "C" fn groupkv_readoptions_create() -> *mut groupkv_readoptions {
    ffi_value(std::ptr::null_mut(), || {
        let d = ReadOptions::default();
        into_raw(groupkv_readoptions {
            snapshot: std::ptr::null(),
            lower_bound: None,
            upper_bound: None,
            verify_checksums: d.verify_checksums,
            fill_cache: d.fill_cache,
        })
    })
}

/// Frees read options from groupkv_readoptions_create (not the snapshot they name). NULL is
/// ignored.
///
/// # Safety
/// `options` is NULL or from groupkv_readoptions_create and not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_destroy(options: *mut groupkv_readoptions) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(options) })
}

/// Applies `set` unless `options` is NULL.
///
/// # Safety
/// `options` is NULL or a live groupkv_readoptions not used by another thread meanwhile.
unsafe fn with_readoptions(
    options: *mut groupkv_readoptions,
    set: impl FnOnce(&mut groupkv_readoptions),
) {
    ffi_value((), || {
        // SAFETY: forwarded contract.
        if let Some(o) = unsafe { options.as_mut() } {
            set(o);
        }
    })
}

/// Reads with these options see the database as of `snapshot` (NULL: the latest write again).
/// The options keep a pointer, not a copy: the snapshot must not be released while reads use
/// them. A NULL `options` is ignored.
///
/// # Safety
/// `options` is NULL or live and not used by another thread meanwhile; `snapshot` is NULL or
/// live while the options are used with it.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_set_snapshot(
    options: *mut groupkv_readoptions,
    snapshot: *const groupkv_snapshot,
) {
    // SAFETY: forwarded contract.
    unsafe { with_readoptions(options, |o| o.snapshot = snapshot) }
}

/// Copies `len` bytes at `key` into an owned bound, or clears it when `key` is NULL. A NULL
/// pointer with a non-zero length or a length above the key limit leaves the bound unchanged:
/// a void setter has no way to report it, and a silently cleared bound would widen a scan.
///
/// # Safety
/// `key` is NULL or points to `len` readable bytes when `len` is within the limit.
unsafe fn bound(slot: &mut Option<Vec<u8>>, key: *const c_char, len: usize) {
    if key.is_null() {
        if len == 0 {
            *slot = None;
        }
        return;
    }
    // SAFETY: forwarded contract (the length is checked first).
    if let Ok(bytes) = unsafe { kv_bytes(key, len, "bound") } {
        *slot = Some(bytes.to_vec());
    }
}

/// Iterators made with these options show no key below `key` (inclusive bound; copied).
/// `key` NULL (with `len` 0) clears the bound; an empty non-NULL key is the smallest key.
/// A NULL `options` is ignored.
///
/// # Safety
/// `options` is NULL or live and not used by another thread meanwhile; `key` is NULL or
/// points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_set_iterate_lower_bound(
    options: *mut groupkv_readoptions,
    key: *const c_char,
    len: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_readoptions(options, |o| bound(&mut o.lower_bound, key, len)) }
}

/// Iterators made with these options show no key at or above `key` (exclusive bound;
/// copied). `key` NULL (with `len` 0) clears the bound. A NULL `options` is ignored.
///
/// # Safety
/// As for groupkv_readoptions_set_iterate_lower_bound.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_set_iterate_upper_bound(
    options: *mut groupkv_readoptions,
    key: *const c_char,
    len: usize,
) {
    // SAFETY: forwarded contract.
    unsafe { with_readoptions(options, |o| bound(&mut o.upper_bound, key, len)) }
}

/// Whether reads check the CRC-32C of every table block they read from a file (default
/// true). A NULL `options` is ignored.
///
/// # Safety
/// `options` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_set_verify_checksums(
    options: *mut groupkv_readoptions,
    on: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_readoptions(options, |o| o.verify_checksums = on) }
}

/// Whether the table blocks reads load are kept in the block cache (default true; turn it
/// off for a one-off scan so it does not push out what other reads need). A NULL `options`
/// is ignored.
///
/// # Safety
/// `options` is NULL or live and not used by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn groupkv_readoptions_set_fill_cache(
    options: *mut groupkv_readoptions,
    on: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { with_readoptions(options, |o| o.fill_cache = on) }
}

/// Takes a snapshot of `db` as of now and stores it in `*out`: reads with it see exactly the
/// writes completed before this call. Release it with groupkv_snapshot_release (flushes and
/// compactions keep every version it can see until then).
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db` or `out`, fork()ed child), GROUPKV_CLOSED.
///
/// # Safety
/// `db` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_snapshot_create(
    db: *const groupkv_db,
    out: *mut *mut groupkv_snapshot,
) -> groupkv_status {
    ffi_status(std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(out, "out")?;
        db.check_usable()?;
        let snap = into_raw(groupkv_snapshot {
            inner: db.snapshot(),
        });
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = snap };
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// The sequence number `snapshot` reads at (0 for NULL). Readable after the database is
/// closed too: it is a number, not a read.
///
/// # Safety
/// `snapshot` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn groupkv_snapshot_sequence(snapshot: *const groupkv_snapshot) -> u64 {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { snapshot.as_ref() }.map_or(0, |s| s.inner.sequence())
    })
}

/// Releases a snapshot from groupkv_snapshot_create. NULL is ignored. Allowed after
/// groupkv_db_close and after groupkv_db_destroy (the snapshot owns what it holds).
///
/// # Safety
/// `snapshot` is NULL or from groupkv_snapshot_create, not yet released, and no read options
/// in use name it.
#[no_mangle]
pub unsafe extern "C" fn groupkv_snapshot_release(snapshot: *mut groupkv_snapshot) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_box(snapshot) })
}

/// Reads `num_keys` keys at one sequence (consistent with one another), shaped like
/// `rocksdb_multi_get`: key i is `keys_list[i]` with `keys_list_sizes[i]` bytes. On
/// GROUPKV_OK, for each i, `statuses[i]` is GROUPKV_OK with `values_list[i]` a malloc'd copy
/// (free each with groupkv_free) of `values_list_sizes[i]` bytes, or GROUPKV_NOT_FOUND with
/// `values_list[i]` NULL and `values_list_sizes[i]` 0. On failure nothing is written to the
/// three output arrays and nothing is left to free.
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db` or array with `num_keys` > 0, a bad key as for
/// groupkv_db_get), GROUPKV_CLOSED, GROUPKV_CORRUPTION / GROUPKV_IO_ERROR from a table read.
///
/// # Safety
/// `db` and `options` are NULL or live; each array is NULL or holds `num_keys` elements (the
/// key pointers readable for their sizes, the output arrays writable); `errmsg` is NULL or
/// writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn groupkv_db_multi_get(
    db: *const groupkv_db,
    options: *const groupkv_readoptions,
    num_keys: usize,
    keys_list: *const *const c_char,
    keys_list_sizes: *const usize,
    values_list: *mut *mut c_char,
    values_list_sizes: *mut usize,
    statuses: *mut groupkv_status,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        if num_keys == 0 {
            db.check_usable()?;
            return Ok(groupkv_status::GROUPKV_OK);
        }
        require(keys_list, "keys_list")?;
        require(keys_list_sizes, "keys_list_sizes")?;
        require(values_list, "values_list")?;
        require(values_list_sizes, "values_list_sizes")?;
        require(statuses, "statuses")?;
        let mut keys: Vec<&[u8]> = Vec::with_capacity(num_keys);
        for i in 0..num_keys {
            // SAFETY: the arrays hold `num_keys` elements per the contract.
            let (ptr, len) = unsafe { (*keys_list.add(i), *keys_list_sizes.add(i)) };
            // SAFETY: per the contract (the length is checked first).
            keys.push(unsafe { kv_bytes(ptr, len, &format!("key {i}")) }?);
        }
        // SAFETY: forwarded contract.
        let read = unsafe { read_options(options) };
        let values = db.multi_get(&read, &keys)?;
        let mut copies: Vec<(*mut c_char, usize)> = Vec::with_capacity(num_keys);
        for v in &values {
            let Some(v) = v else {
                copies.push((std::ptr::null_mut(), 0));
                continue;
            };
            let p = malloc_bytes(v);
            if p.is_null() {
                for (q, _) in copies {
                    // SAFETY: each non-NULL `q` came from malloc above and was not handed out.
                    unsafe { libc::free(q.cast()) };
                }
                return Err(Error::io(
                    format!("copying a {}-byte value out of groupkv", v.len()),
                    std::io::Error::from_raw_os_error(libc::ENOMEM),
                )
                .into());
            }
            copies.push((p, v.len()));
        }
        for (i, (p, n)) in copies.into_iter().enumerate() {
            let status = if p.is_null() {
                groupkv_status::GROUPKV_NOT_FOUND
            } else {
                groupkv_status::GROUPKV_OK
            };
            // SAFETY: the output arrays hold `num_keys` writable elements per the contract.
            unsafe {
                *values_list.add(i) = p;
                *values_list_sizes.add(i) = n;
                *statuses.add(i) = status;
            }
        }
        Ok(groupkv_status::GROUPKV_OK)
    })
}

/// The value of the property `name` (a NUL-terminated string such as "groupkv.stats",
/// "groupkv.num-files-at-level0", "groupkv.sstables", "groupkv.approximate-memory-usage"):
/// on GROUPKV_OK `*out` receives a malloc'd NUL-terminated string (free it with
/// groupkv_free). GROUPKV_NOT_FOUND for an unknown name (not a failure: nothing is written).
///
/// Errors: GROUPKV_INVALID_ARGUMENT (NULL `db`/`name`/`out`, a name that is not UTF-8),
/// GROUPKV_CLOSED.
///
/// # Safety
/// `db` is NULL or live; `name` is NULL or a NUL-terminated string; `out` and `errmsg` are
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn groupkv_db_property(
    db: *const groupkv_db,
    name: *const c_char,
    out: *mut *mut c_char,
    errmsg: *mut *mut c_char,
) -> groupkv_status {
    ffi_status(errmsg, || {
        // SAFETY: forwarded contract.
        let db = unsafe { handle(db) }?;
        require(name, "name")?;
        require(out, "out")?;
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let name = unsafe { CStr::from_ptr(name) }
            .to_str()
            .map_err(|_| invalid("property name is not UTF-8"))?;
        db.check_usable()?;
        let Some(value) = db.property(name) else {
            return Ok(groupkv_status::GROUPKV_NOT_FOUND);
        };
        let copy = malloc_c_string(&value);
        if copy.is_null() {
            return Err(Failure::from(Error::io(
                format!("copying a {}-byte property out of groupkv", value.len()),
                std::io::Error::from_raw_os_error(libc::ENOMEM),
            )));
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = copy };
        Ok(groupkv_status::GROUPKV_OK)
    })
}
