//! The stress tool's mutex: std's (as in the engine, no process-global parking table for a
//! fork to inherit), with parking_lot's infallible `lock()`.

use std::sync::{MutexGuard, PoisonError};

/// A std mutex whose `lock()` ignores poisoning: a worker that panicked while holding it has
/// already failed the run, and the report it guards must still be readable to say why.
#[derive(Debug, Default)]
pub struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
