//! The one place atomics and locks come from, so that `RUSTFLAGS="--cfg loom"` swaps every
//! primitive the write thread uses for loom's model-checked ones.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};

use std::sync::atomic::Ordering::SeqCst;

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

/// One word many threads sleep on, each on a channel of its own (one of 32 bits), so that one
/// call wakes any set of them: the write thread's leader ends a group with one wake-up call
/// for all its sleeping members instead of a lock, a signal and an unlock per member.
///
/// The condition a waiter sleeps on is the caller's (a writer's state). The protocol: the
/// waker changes every condition first (`SeqCst`), then calls [`WakeBoard::wake`] with the
/// waiters' channels, which bumps the word and wakes those channels; a waiter reads the word,
/// then its condition, and sleeps only if the word still holds what it read. On Linux outside
/// loom the sleep is a futex (`FUTEX_WAIT_BITSET` / `FUTEX_WAKE_BITSET`); under loom (and on
/// other systems) [`EmulatedFutex`] does the same with a mutex and a condition variable, so the
/// loom models check this very algorithm.
#[derive(Debug, Default)]
pub(crate) struct WakeBoard {
    word: AtomicU32,
    #[cfg(any(loom, not(target_os = "linux")))]
    futex: EmulatedFutex,
}

impl WakeBoard {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Blocks while `waiting()` holds, on channel `bit` (one bit set). `waiting` must read
    /// the condition with `SeqCst`.
    pub(crate) fn wait_while(&self, bit: u32, mut waiting: impl FnMut() -> bool) {
        debug_assert!(bit.is_power_of_two());
        loop {
            // The word is read before the condition: a waker that changes the condition after
            // this check bumps the word after it too, so the sleep below returns at once
            // instead of sleeping through the wake-up.
            let seen = self.word.load(SeqCst);
            if !waiting() {
                return;
            }
            self.futex_wait(seen, bit);
        }
    }

    /// Wakes every waiter on a channel in `mask` (non-zero). The caller changed their
    /// conditions (`SeqCst`) before.
    pub(crate) fn wake(&self, mask: u32) {
        debug_assert!(mask != 0);
        self.word.fetch_add(1, SeqCst);
        self.futex_wake(mask);
    }

    /// Sleeps on channel `bit` unless the word no longer holds `seen` (may return early).
    #[cfg(all(not(loom), target_os = "linux"))]
    fn futex_wait(&self, seen: u32, bit: u32) {
        // SAFETY: the address is that of a live AtomicU32 (self is borrowed); the kernel only
        // reads it. A null timeout waits without limit; EAGAIN, EINTR and spurious returns all
        // lead back to the caller's check.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                seen,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                bit,
            );
        }
    }

    /// Wakes the sleepers on the channels in `mask`.
    #[cfg(all(not(loom), target_os = "linux"))]
    fn futex_wake(&self, mask: u32) {
        // SAFETY: as in `futex_wait`; FUTEX_WAKE_BITSET does not dereference the two unused
        // pointer arguments. Its result (how many woke) is not needed.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE_BITSET | libc::FUTEX_PRIVATE_FLAG,
                i32::MAX,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                mask,
            );
        }
    }

    #[cfg(any(loom, not(target_os = "linux")))]
    fn futex_wait(&self, seen: u32, bit: u32) {
        self.futex.wait(&self.word, seen, bit);
    }

    #[cfg(any(loom, not(target_os = "linux")))]
    fn futex_wake(&self, mask: u32) {
        self.futex.wake(mask);
    }
}

/// A futex's wait and wake with bit channels, from a mutex and a condition variable (the
/// mutex plays the kernel's hash-bucket lock): a waiter compares the word under the lock, so
/// a wake that follows a change of the word cannot slip between the comparison and the sleep.
#[cfg(any(loom, not(target_os = "linux")))]
#[derive(Debug, Default)]
struct EmulatedFutex {
    /// Wake-ups so far per channel.
    wakes: Mutex<[u64; 32]>,
    cv: Condvar,
}

#[cfg(any(loom, not(target_os = "linux")))]
impl EmulatedFutex {
    fn wait(&self, word: &AtomicU32, seen: u32, bit: u32) {
        let channel = bit.trailing_zeros() as usize % 32;
        let mut wakes = self.lock();
        if word.load(SeqCst) != seen {
            return;
        }
        let start = wakes[channel];
        while wakes[channel] == start {
            wakes = self.cv.wait(wakes);
        }
        drop(wakes);
    }

    fn wake(&self, mask: u32) {
        let mut wakes = self.lock();
        for (channel, count) in wakes.iter_mut().enumerate() {
            if mask & (1 << channel) != 0 {
                *count += 1;
            }
        }
        self.cv.notify_all();
        drop(wakes);
    }

    fn lock(&self) -> MutexGuard<'_, [u64; 32]> {
        self.wakes.lock()
    }
}

/// This thread's channel on a [`WakeBoard`]: threads take the 32 channels in turn, so up to 32
/// writer threads never share one (sharing costs only a spurious wake-up and a re-check).
pub(crate) fn wake_channel() -> u32 {
    #[cfg(not(loom))]
    {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        thread_local!(static CHANNEL: u32 =
            1u32 << (NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 32));
        CHANNEL.with(|c| *c)
    }
    // Under loom, two channels by the model thread's index (deterministic within a model), so
    // the models see writers that share a channel and writers that do not.
    #[cfg(loom)]
    {
        let id = format!("{:?}", loom::thread::current().id());
        let index: usize = id
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        1 << (index % 2)
    }
}
