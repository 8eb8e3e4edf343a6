//! The sticky background error (RocksDB's `ErrorHandler`, reduced to what groupkv needs): the
//! first failure of a WAL write or sync, a switch's file creation, and (with the flush thread)
//! a flush. Once set, every later write fails with `Poisoned` naming the cause, reads keep
//! working, and only a reopen clears it (recovery then reads what is durable).

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};

use crate::error::{Error, Result};
use crate::sync::Mutex;

/// The first background error, if any.
#[derive(Debug, Default)]
pub(crate) struct ErrorHandler {
    /// The cause; written once, under its own lock (taken only on failure and when reporting).
    cause: Mutex<Option<Error>>,
    /// Mirrors `cause.is_some()`, so the write path checks an atomic instead of the lock.
    set: AtomicBool,
}

impl ErrorHandler {
    /// Records `e` unless an earlier error is already recorded (the first cause is the one
    /// reported).
    pub(crate) fn set(&self, e: &Error) {
        let mut cause = self.cause.lock();
        if cause.is_none() {
            *cause = Some(e.clone());
        }
        self.set.store(true, Release);
    }

    /// `Err(Poisoned { cause })` once an error was recorded.
    pub(crate) fn check(&self) -> Result<()> {
        if !self.set.load(Acquire) {
            return Ok(());
        }
        match self.cause.lock().clone() {
            Some(cause) => Err(Error::Poisoned {
                cause: Box::new(cause),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_sticks_and_is_reported() {
        let h = ErrorHandler::default();
        assert!(h.check().is_ok());
        h.set(&Error::corruption("first"));
        h.set(&Error::corruption("second"));
        match h.check() {
            Err(Error::Poisoned { cause }) => assert!(cause.to_string().contains("first")),
            other => panic!("{other:?}"),
        }
    }
}
