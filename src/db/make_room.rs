//! Making room for a write group: the memtable switch in the leader's pre-write step
//! (LevelDB's `MakeRoomForWrite` at RocksDB's `PreprocessWrite` placement).
//!
//! When the memtable has reached `write_buffer_size`, the leader, before it forms its group,
//! creates a new WAL (starting with a marker carrying the next sequence), retires the old WAL
//! unsynced (see `wal_set`), and publishes a SuperVersion whose mutable memtable is new and
//! whose immutable list starts with the old one.
//!
//! Safe in every write mode:
//! * not pipelined: the leader is made leader only after the previous group exited, so no
//!   insert is in flight and every earlier sequence is published;
//! * pipelined: earlier groups may still be inserting into the old memtable (whose WAL is the
//!   old one); the switch waits for them first, so a group's entries always go to the
//!   memtable that was current when its WAL record was written (invariant I9);
//! * `disable_wal` groups live in whichever memtable is current and persist with it.
//!
//! Before the switch, the leader has passed the level-0 triggers (`level0_stall.rs`); the
//! switch itself waits while `max_write_buffer_number - 1` memtables wait for the flush
//! thread (the memtable stall below).

use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::fs::FileOptions;
use crate::memtable::MemTable;
use crate::write_thread::{WriteThread, Writer};

use super::files;
use super::flush::FlushJob;
use super::super_version::SuperVersion;
use super::wal_set::Wal;
use super::DB;

impl DB {
    /// The leader's step before it forms its group once the memtable is full: switches it.
    /// Returns with room for the group, or the error that prevents writing.
    pub(super) fn make_room_for_write(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<()> {
        self.wait_for_memtable_room(wt, leader)?;
        if wt.pipelined() {
            // Earlier groups still inserting must land in the old memtable (I9).
            wt.wait_for_memtable_writers();
        }
        self.switch_memtable()
    }

    /// Creates the next WAL, retires the current one and installs a SuperVersion with a new
    /// memtable. Runs as the write leader (or unbatched), so no group is between its WAL write
    /// and its insert.
    pub(super) fn switch_memtable(&self) -> Result<()> {
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        self.switch_memtable_locked()
    }

    /// `switch_memtable` without the `closed` check: close's last switch.
    pub(super) fn switch_memtable_locked(&self) -> Result<()> {
        let _mu = self.mu.lock();
        let number = self.versions.lock().new_file_number();
        let path = files::log_name(&self.path, number);
        let file_options = FileOptions {
            allow_mmap_writes: self.allow_mmap_writes,
        };
        let created = self
            .fs
            .create_with(&path, &file_options)
            .map_err(|e| Error::io(format!("creating WAL {}", path.display()), e));
        let file = match created {
            Ok(f) => f,
            Err(e) => {
                self.set_bg_error(&e);
                return Err(e);
            }
        };
        let mut current = self.wals.current.lock();
        let Some(old) = current.as_ref() else {
            return Err(Error::Closed);
        };
        let next_sequence = old.last_logged_seq + 1;
        // No group is between its WAL write and its insert: every sequence in the memtable
        // is published.
        let last_sequence = self.published.load(Acquire);
        // The marker, then the directory entry: both must be durable before a sync write in
        // this WAL is acknowledged (a sync leader syncs the file; the entry is synced here).
        let wal = Wal::create(file, number, next_sequence, &path)
            .and_then(|wal| {
                self.fs
                    .sync_dir(&self.path)
                    .map_err(|e| Error::io(format!("syncing directory {}", self.path.display()), e))
                    .map(|()| wal)
            })
            .map_err(|e| {
                self.set_bg_error(&e);
                e
            })?;
        self.wals
            .retire_and_replace(&mut current, wal)
            .map_err(|e| {
                self.set_bg_error(&e);
                e
            })?;
        drop(current);
        let old = self.sv.load_full();
        let sv = old.switched(Arc::new(MemTable::new()));
        self.sv.store(Arc::new(sv));
        self.flush_queue.push(FlushJob {
            mem: Arc::clone(&old.mem),
            wal_after: number,
            last_sequence,
        });
        self.stats.memtable_switches.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The memtable stall: while `max_write_buffer_number - 1` memtables wait for their flush,
    /// a switch would hold one more than allowed, so the leader waits for the flush thread
    /// (its time goes to `stall_memtable_micros`); a `no_slowdown` leader fails with
    /// `Incomplete` instead. A flush failure or close ends the wait with that error.
    fn wait_for_memtable_room(&self, wt: &WriteThread, leader: &Writer<'_>) -> Result<()> {
        let limit = self.max_write_buffer_number.saturating_sub(1);
        if self.sv.load().imm.len() < limit {
            return Ok(());
        }
        if leader.no_slowdown {
            return Err(Error::Incomplete {
                message: format!(
                    "write stall: {limit} memtables wait for flush and no_slowdown is set"
                ),
            });
        }
        let start = Instant::now();
        wt.begin_write_stall(leader);
        {
            let mut s = self.flush_queue.state.lock();
            while self.sv.load().imm.len() >= limit
                && !s.failed
                && !self.closed.load(Acquire)
                && !s.stop
            {
                s = self.flush_queue.cv.wait(s);
            }
        }
        wt.end_write_stall();
        let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.stats.stall_memtable_micros.fetch_add(waited, Relaxed);
        self.stats.stall_micros.fetch_add(waited, Relaxed);
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        self.bg_error.check()
    }

    /// Wakes a leader stalled on memtables (close).
    pub(super) fn wake_memtable_stall(&self) {
        let _s = self.flush_queue.state.lock();
        self.flush_queue.cv.notify_all();
    }
}

/// The SuperVersion type the DB swaps.
pub(super) type SvCell = arc_swap::ArcSwap<SuperVersion>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::fs::{FileSystem, MemFs, PowerLoss};
    use crate::options::{Options, WriteOptions};

    use super::super::wal_set::MAX_UNSYNCED_RETIRED;
    use super::DB;

    /// A long session with small buffers keeps few WAL files open (and few on disk, once
    /// flushed): the switch syncs and closes retired WALs beyond the bound, and what was
    /// synced or flushed survives a power loss.
    #[test]
    fn switches_keep_a_bounded_number_of_retired_wals_open() {
        let mem = MemFs::new();
        let options = Options {
            file_system: Arc::new(mem.clone()),
            write_buffer_size: 4096,
            ..Options::default()
        };
        let db = DB::open("/db", options.clone()).unwrap();
        for i in 0..400u32 {
            db.put(&WriteOptions::default(), &i.to_be_bytes(), &[b'v'; 300])
                .unwrap();
            assert!(db.wals.open_retired() <= MAX_UNSYNCED_RETIRED);
        }
        let switches = db.stats().memtable_switches;
        assert!(switches >= 25, "{switches}");
        let logs = mem
            .list(std::path::Path::new("/db"))
            .unwrap()
            .iter()
            .filter(|n| n.ends_with(".log"))
            .count();
        // Flushed memtables' WALs are deleted: a few remain (the current one, the retired
        // ones whose memtables wait for the flush), not one per switch.
        assert!(logs <= 4, "{logs} WALs left after {switches} switches");
        assert!(db.stats().flushes + 2 >= switches, "{:?}", db.stats());
        db.halt_background_work_for_test();
        std::mem::forget(db);
        mem.power_loss(PowerLoss::DropUnsynced);
        // Every write in a WAL that was synced (all but the last few) survives, as a prefix.
        let db = DB::open("/db", options).unwrap();
        let present: Vec<bool> = (0..400u32)
            .map(|i| db.get(&i.to_be_bytes()).unwrap().is_some())
            .collect();
        let prefix = present.iter().take_while(|&&p| p).count();
        assert!(
            present[prefix..].iter().all(|&p| !p),
            "a hole after {prefix}"
        );
        assert!(prefix >= 300, "only {prefix} writes survived");
        db.close().unwrap();
    }
}
