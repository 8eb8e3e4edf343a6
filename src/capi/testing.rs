//! Hidden test hooks. They are exported (the C test suite calls them) but left out of the
//! header (`cbindgen.toml` excludes them): they exist to prove behaviour that cannot be
//! reached otherwise, not for applications.

use std::cell::Cell;

use super::db::groupkv_db;
use super::ffi_value;

thread_local! {
    /// Set by `groupkv_testing_panic_next_call`; consumed by the next export on this thread.
    static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Called inside every panic boundary: panics once if the test asked for it.
pub(crate) fn maybe_panic() {
    if PANIC_NEXT.with(|p| p.replace(false)) {
        panic!("panic forced by groupkv_testing_panic_next_call");
    }
}

/// Test hook: the next groupkv call on this thread panics inside its panic boundary, so a
/// test can check that the panic becomes GROUPKV_PANIC (or NULL) instead of an abort.
#[doc(hidden)]
#[no_mangle]
pub extern "C" fn groupkv_testing_panic_next_call() {
    PANIC_NEXT.with(|p| p.set(true));
}

/// Test hook: turns a write stall on or off (`DB::set_write_stall_for_test`), so a test can
/// see a no_slowdown write fail with GROUPKV_INCOMPLETE. NULL is ignored.
///
/// # Safety
/// `db` is NULL or a live handle from `groupkv_db_open`.
#[doc(hidden)]
#[no_mangle]
pub unsafe extern "C" fn groupkv_testing_set_write_stall(db: *const groupkv_db, on: bool) {
    ffi_value((), || {
        // SAFETY: per the contract, `db` is NULL or live.
        if let Some(db) = unsafe { db.as_ref() } {
            db.inner.set_write_stall_for_test(on);
        }
    })
}
