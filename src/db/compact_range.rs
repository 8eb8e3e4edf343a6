//! Manual compaction (LevelDB's `DB::CompactRange`): flush the memtable, then compact each
//! level overlapping the range into the next, down to the deepest level that holds a file
//! overlapping it. The compaction thread does the work (`compaction_thread.rs`); the caller
//! hands it one level at a time and waits.

use crate::dbformat::{internal_key, ValueKind, KIND_FOR_SEEK, MAX_SEQUENCE};
use crate::error::{Error, Result};
use crate::version::NUM_LEVELS;

use super::compaction_thread::ManualCompaction;
use super::DB;

impl DB {
    /// Compacts the keys in `[start, end]` (`None` = unbounded on that side): flushes the
    /// memtable, then merges every level's tables overlapping the range down into the deepest
    /// level that holds data in it, dropping overwritten values and deletions no snapshot
    /// needs. Returns once that is done.
    ///
    /// Fails with [`Error::Poisoned`] if a compaction or flush failed (the database keeps its
    /// last good state; reopen), and with [`Error::Closed`] if the database is closed
    /// meanwhile.
    pub fn compact_range(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        // The flush below waits while level 0 is at its stop trigger; with automatic
        // compaction disabled nothing else would ever empty it, so level 0 goes down first.
        if self.level0_at_stop() {
            self.compact_level(0, None, None)?;
        }
        self.flush()?;
        let version = self.sv.load().version.clone();
        // LevelDB: at least level 0 goes to level 1.
        let deepest = (1..NUM_LEVELS)
            .filter(|&level| version.overlap_in_level(level, start, end))
            .max()
            .unwrap_or(1);
        drop(version);
        for level in 0..deepest {
            self.compact_level(level, start, end)?;
        }
        Ok(())
    }

    /// Test hook (LevelDB's `TEST_CompactRange`): compacts the files of `level` overlapping
    /// `[start, end]` into `level + 1`, without flushing first.
    #[doc(hidden)]
    pub fn compact_level_for_test(
        &self,
        level: usize,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Result<()> {
        if level + 1 >= NUM_LEVELS {
            return Err(Error::invalid_argument(format!(
                "level {level} has no level below it to compact into"
            )));
        }
        self.compact_level(level, start, end)
    }

    /// Test hook: while `on`, the compaction thread starts no new compaction (one running
    /// finishes). Lets a test hold level 0 at its triggers.
    #[doc(hidden)]
    pub fn hold_compactions_for_test(&self, on: bool) {
        self.compaction_queue.hold(on);
    }

    /// Compacts `level` ∩ `[start, end]` into `level + 1` on the compaction thread and waits.
    fn compact_level(&self, level: usize, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.check_usable()?;
        self.bg_error.check()?;
        // The whole user-key range: from the newest entry of `start` to the oldest of `end`.
        let begin = start.map(|k| internal_key(k, MAX_SEQUENCE, KIND_FOR_SEEK));
        let end = end.map(|k| internal_key(k, 0, ValueKind::Deletion));
        let queue = &self.compaction_queue;
        let mut s = queue.state.lock();
        // One manual request at a time: wait for another caller's to finish.
        while s.manual.is_some() && !s.stop {
            s = queue.cv.wait(s);
        }
        if s.stop {
            return Err(Error::Closed);
        }
        let id = s.next_manual_id;
        s.next_manual_id += 1;
        s.manual = Some(ManualCompaction {
            id,
            level,
            begin,
            end,
            result: None,
        });
        queue.cv.notify_all();
        let result = loop {
            let finished = s
                .manual
                .as_mut()
                .filter(|m| m.id == id)
                .and_then(|m| m.result.take());
            if let Some(r) = finished {
                break r;
            }
            if s.stop {
                break Err(Error::Closed);
            }
            if s.failed {
                // An earlier compaction failed after our check: the thread takes no more
                // work; the background error names the cause below.
                break Err(Error::corruption(
                    "compaction stopped by an earlier failure",
                ));
            }
            s = queue.cv.wait(s);
        };
        s.manual = None;
        queue.cv.notify_all();
        drop(s);
        match result {
            // A failed compaction is the background error: report it as such.
            Err(e) if !matches!(e, Error::Closed) => {
                self.bg_error.check()?;
                Err(e)
            }
            other => other,
        }
    }
}
