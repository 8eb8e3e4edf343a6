//! The one place atomics and locks come from, so that `RUSTFLAGS="--cfg loom"` swaps every
//! primitive the write thread uses for loom's model-checked ones.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize,
};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize,
};

// The blocking primitives are std's, not parking_lot's. parking_lot parks threads in a
// process-global hash table (buckets guarded by word locks, queues of pointers to the parked
// threads' stack data). fork() copies that table into the child with the parent's parked
// background threads still queued in it and any bucket lock held at that instant held forever,
// so a child that opens its own database could park its compaction thread behind a dead entry
// and never wake it (`close()` hung in `join`). std's Mutex and Condvar on Linux are a futex
// word inside the object itself: nothing global, nothing for fork() to leave half-taken. Loom's
// primitives share std's by-value guard API, so one implementation serves both builds.
#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

use std::sync::PoisonError;
use std::time::Duration;

/// A mutex whose `lock()` cannot fail: std under normal builds, loom's under `cfg(loom)`.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(imp::Mutex<T>);

pub(crate) type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(imp::Mutex::new(value))
    }

    /// Takes the lock, ignoring poisoning. A panic while a guard is held already reaches the
    /// user through the panicking thread (or fails the loom model); the engine's shared state
    /// is kept consistent by its own protocol (background errors, the closed flag), not by
    /// refusing every later lock, which would turn one panic into a cascade of them in `close()`
    /// and `Drop`. This is the behaviour the engine had with parking_lot, which never poisons.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A condition variable paired with [`Mutex`]. Waits take the guard by value and hand it back
/// re-locked (std's shape), so callers write `guard = cv.wait(guard)`.
#[derive(Debug, Default)]
pub(crate) struct Condvar(imp::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar(imp::Condvar::new())
    }

    /// Blocks until notified (or spuriously woken); the lock is released while waiting and
    /// re-taken before return. Callers re-check their condition in a loop.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    /// Like [`Condvar::wait`] but returns after at most `timeout` (loom ignores the timeout and
    /// models a notification). Callers re-check their condition, so whether it timed out is
    /// not reported.
    pub(crate) fn wait_for<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        match self.0.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Interior mutability whose accesses loom can check for data races.
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(
    #[cfg(not(loom))] std::cell::UnsafeCell<T>,
    #[cfg(loom)] loom::cell::UnsafeCell<T>,
);

impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(loom))]
        return UnsafeCell(std::cell::UnsafeCell::new(value));
        #[cfg(loom)]
        return UnsafeCell(loom::cell::UnsafeCell::new(value));
    }

    /// Runs `f` with a raw pointer to the value; the caller upholds the aliasing rules.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with_mut(f);
    }
}

/// A hint inside busy-wait loops (loom turns it into a scheduling point).
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Gives the core away to another thread.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}
