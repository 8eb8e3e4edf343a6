//! Fork detection. A child process gets a copy of the parent's `DB`, whose write queue may hold
//! writers of parent threads that do not exist in the child, and whose LOCK belongs to the
//! parent: using it would deadlock or corrupt files. Every call checks that it runs in the
//! process that opened the database and fails with a clear error otherwise.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Once;

/// Incremented in every child right after `fork()`.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Relaxed);
}

/// The current fork generation (registers the `pthread_atfork` handler on first use).
pub(crate) fn generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: registers a child handler that only does an atomic increment, which is
        // async-signal-safe as required after fork().
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
    GENERATION.load(Relaxed)
}
