//! The user's view of a merged stream of internal keys (LevelDB's `db/db_iter.cc`): for each
//! user key, the newest version at or below the read sequence, unless that version is a
//! tombstone; entries above the sequence, older versions and deleted keys are hidden.
//!
//! The cursor has two directions:
//!
//! * **forward**: the inner cursor is *at* the entry shown; `key` and `value` read through it;
//! * **reverse**: the inner cursor is *before* every entry of the user key shown, and that key
//!   and value are saved copies, because finding the newest visible version of a key walking
//!   backwards means walking past it to the key's oldest entry first (LevelDB's
//!   `FindPrevUserEntry`).
//!
//! Bounds are user keys: `lower_bound` inclusive, `upper_bound` exclusive, honoured in both
//! directions and by every seek.
//!
//! An internal key that does not parse is a `Corruption` error: the cursor becomes invalid and
//! stays so, rather than guess (LevelDB logs it and walks on).

#![forbid(unsafe_code)]

use std::cmp::Ordering;

use crate::dbformat::{
    append_internal_key, extract_user_key, parse_internal_key, ValueKind, KIND_FOR_SEEK,
    MAX_SEQUENCE,
};
use crate::error::{Error, Result};

use super::InternalIterator;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

/// What a [`DbIter`] shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbIterOptions {
    /// Entries with a larger sequence are invisible (the snapshot). Default: every sequence
    /// ([`MAX_SEQUENCE`]); a database passes the sequence it read when the cursor was made.
    pub sequence: u64,
    /// The smallest user key shown (inclusive), if any.
    pub lower_bound: Option<Vec<u8>>,
    /// The user key at and after which nothing is shown (exclusive), if any.
    pub upper_bound: Option<Vec<u8>>,
}

impl Default for DbIterOptions {
    fn default() -> Self {
        DbIterOptions {
            sequence: MAX_SEQUENCE,
            lower_bound: None,
            upper_bound: None,
        }
    }
}

/// A cursor over user keys and their visible values.
#[derive(Debug)]
pub struct DbIter<I> {
    inner: I,
    sequence: u64,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    direction: Direction,
    valid: bool,
    /// Reverse: the user key shown. Forward: scratch (the key being skipped, a seek target).
    saved_key: Vec<u8>,
    /// Reverse: the value shown.
    saved_value: Vec<u8>,
    status: Option<Error>,
}

impl<I: InternalIterator> DbIter<I> {
    /// A cursor over `inner` (typically a [`MergingIterator`](super::MergingIterator) of every
    /// source), showing what `options` describes; not positioned until a seek.
    pub fn new(inner: I, options: DbIterOptions) -> Self {
        DbIter {
            inner,
            sequence: options.sequence.min(MAX_SEQUENCE),
            lower: options.lower_bound,
            upper: options.upper_bound,
            direction: Direction::Forward,
            valid: false,
            saved_key: Vec::new(),
            saved_value: Vec::new(),
            status: None,
        }
    }

    /// True if the cursor is at a visible entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current user key. Only meaningful while [`valid`](Self::valid).
    pub fn key(&self) -> &[u8] {
        if !self.valid {
            return &[];
        }
        match self.direction {
            Direction::Forward => extract_user_key(self.inner.key()),
            Direction::Reverse => &self.saved_key,
        }
    }

    /// The current value. Only meaningful while [`valid`](Self::valid).
    pub fn value(&self) -> &[u8] {
        if !self.valid {
            return &[];
        }
        match self.direction {
            Direction::Forward => self.inner.value(),
            Direction::Reverse => &self.saved_value,
        }
    }

    /// The first error met (a failed read, a damaged entry). A cursor with an error is invalid
    /// and shows nothing more.
    pub fn status(&self) -> Result<()> {
        match &self.status {
            Some(e) => Err(e.clone()),
            None => self.inner.status(),
        }
    }

    /// Moves to the first visible entry at or after the lower bound.
    pub fn seek_to_first(&mut self) {
        if self.failed() {
            return;
        }
        self.direction = Direction::Forward;
        self.saved_value.clear();
        match self.lower.clone() {
            Some(lower) => self.seek_internal(&lower),
            None => self.inner.seek_to_first(),
        }
        self.find_next_user_entry(false);
    }

    /// Moves to the last visible entry before the upper bound.
    pub fn seek_to_last(&mut self) {
        if self.failed() {
            return;
        }
        self.direction = Direction::Reverse;
        match self.upper.clone() {
            Some(upper) => self.seek_before(&upper),
            None => self.inner.seek_to_last(),
        }
        self.find_prev_user_entry();
    }

    /// Moves to the first visible entry whose user key is at or after `target` (and at or
    /// after the lower bound).
    pub fn seek(&mut self, target: &[u8]) {
        if self.failed() {
            return;
        }
        self.direction = Direction::Forward;
        self.saved_value.clear();
        let target = match &self.lower {
            Some(lower) if target < lower.as_slice() => lower.clone(),
            _ => target.to_vec(),
        };
        self.seek_internal(&target);
        self.find_next_user_entry(false);
    }

    /// Moves to the last visible entry whose user key is at or before `target` (and before
    /// the upper bound).
    pub fn seek_for_prev(&mut self, target: &[u8]) {
        if self.failed() {
            return;
        }
        if self.upper.as_deref().is_some_and(|u| target >= u) {
            self.seek_to_last();
            return;
        }
        self.direction = Direction::Reverse;
        // (target, 0, deletion) sorts after every entry of `target`: land on its oldest.
        self.saved_key.clear();
        append_internal_key(&mut self.saved_key, target, 0, ValueKind::Deletion);
        self.inner.seek_for_prev(&self.saved_key);
        self.find_prev_user_entry();
    }

    /// Moves to the next visible entry. Does nothing unless [`valid`](Self::valid).
    // A cursor step, not an `Iterator`: the name is LevelDB's.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) {
        if !self.valid || self.failed() {
            return;
        }
        if self.direction == Direction::Reverse {
            // The inner cursor is before the entries of the key shown (saved_key): step into
            // them, then skip them like any shown key.
            self.direction = Direction::Forward;
            if self.inner.valid() {
                self.inner.next();
            } else {
                self.inner.seek_to_first();
            }
        } else {
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(extract_user_key(self.inner.key()));
            self.inner.next();
        }
        self.saved_value.clear();
        self.find_next_user_entry(true);
    }

    /// Moves to the previous visible entry. Does nothing unless [`valid`](Self::valid).
    pub fn prev(&mut self) {
        if !self.valid || self.failed() {
            return;
        }
        if self.direction == Direction::Forward {
            // The inner cursor is at the entry shown: step back before every entry of its
            // user key.
            self.saved_key.clear();
            self.saved_key
                .extend_from_slice(extract_user_key(self.inner.key()));
            loop {
                self.inner.prev();
                if !self.inner.valid() {
                    self.finish(false);
                    return;
                }
                if extract_user_key(self.inner.key()) < self.saved_key.as_slice() {
                    break;
                }
            }
            self.direction = Direction::Reverse;
        }
        self.find_prev_user_entry();
    }

    /// True (and invalid) once an error was met, here or below.
    fn failed(&mut self) -> bool {
        if self.status.is_none() {
            if let Err(e) = self.inner.status() {
                self.status = Some(e);
            }
        }
        if self.status.is_some() {
            self.valid = false;
            return true;
        }
        false
    }

    /// Ends a move: valid as given unless something failed on the way.
    fn finish(&mut self, valid: bool) {
        self.valid = valid;
        if !valid {
            self.saved_key.clear();
            self.saved_value.clear();
        }
        self.failed();
    }

    /// Seeks the inner cursor to the newest visible entry of `user_key`.
    fn seek_internal(&mut self, user_key: &[u8]) {
        self.saved_key.clear();
        append_internal_key(&mut self.saved_key, user_key, self.sequence, KIND_FOR_SEEK);
        self.inner.seek(&self.saved_key);
    }

    /// Puts the inner cursor at the last entry whose user key is before `user_key`.
    fn seek_before(&mut self, user_key: &[u8]) {
        self.saved_key.clear();
        append_internal_key(&mut self.saved_key, user_key, MAX_SEQUENCE, KIND_FOR_SEEK);
        self.inner.seek(&self.saved_key);
        if self.inner.valid() {
            self.inner.prev();
        } else if self.inner.status().is_ok() {
            self.inner.seek_to_last();
        }
    }

    fn corrupt_key(&mut self) {
        self.status = Some(Error::corruption(format!(
            "iterator: damaged internal key {:02x?}",
            self.inner.key()
        )));
        self.finish(false);
    }

    /// Forward from the inner cursor to the first visible, live entry. With `skipping`, user
    /// keys up to `saved_key` are hidden (the key just shown, or one a tombstone deleted).
    fn find_next_user_entry(&mut self, mut skipping: bool) {
        while self.inner.valid() {
            let Some(parsed) = parse_internal_key(self.inner.key()) else {
                self.corrupt_key();
                return;
            };
            if self.upper.as_deref().is_some_and(|u| parsed.user_key >= u) {
                break;
            }
            if parsed.sequence <= self.sequence {
                match parsed.kind {
                    ValueKind::Deletion => {
                        // Hide every older entry of this key.
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(parsed.user_key);
                        skipping = true;
                    }
                    ValueKind::Value => {
                        if !(skipping && parsed.user_key <= self.saved_key.as_slice()) {
                            self.saved_key.clear();
                            self.finish(true);
                            return;
                        }
                    }
                }
            }
            self.inner.next();
        }
        self.finish(false);
    }

    /// Backward from the inner cursor: finds the previous user key with a visible, live
    /// newest version, saving it; the inner cursor ends before all of that key's entries.
    fn find_prev_user_entry(&mut self) {
        let mut kind = ValueKind::Deletion;
        while self.inner.valid() {
            let Some(parsed) = parse_internal_key(self.inner.key()) else {
                self.corrupt_key();
                return;
            };
            if self.lower.as_deref().is_some_and(|l| parsed.user_key < l) {
                break;
            }
            let beyond_upper = self.upper.as_deref().is_some_and(|u| parsed.user_key >= u);
            if parsed.sequence <= self.sequence && !beyond_upper {
                if kind != ValueKind::Deletion
                    && parsed.user_key.cmp(&self.saved_key) == Ordering::Less
                {
                    // The saved key's versions are all behind us: it is the answer.
                    break;
                }
                kind = parsed.kind;
                match kind {
                    ValueKind::Deletion => {
                        self.saved_key.clear();
                        self.saved_value.clear();
                    }
                    ValueKind::Value => {
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(parsed.user_key);
                        self.saved_value.clear();
                        self.saved_value.extend_from_slice(self.inner.value());
                    }
                }
            }
            self.inner.prev();
        }
        if kind == ValueKind::Deletion {
            // Nothing visible before: the end, facing forward as LevelDB leaves it.
            self.direction = Direction::Forward;
            self.finish(false);
        } else {
            self.finish(true);
        }
    }
}
