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
//! Interim (until the flush thread lands): nothing flushes the immutable memtables, so they
//! stay until close folds every memtable into the base. The memtable stop (writes wait while
//! `max_write_buffer_number` memtables wait for flush) and the L0 triggers need a flush and a
//! compaction to wait for; they are not armed yet, or every write would deadlock.

use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::FileOptions;
use crate::memtable::MemTable;
use crate::write_thread::{WriteThread, Writer};

use super::files;
use super::super_version::SuperVersion;
use super::wal_set::Wal;
use super::DB;

impl DB {
    /// The leader's check before it forms its group: switches the memtable if it is full (or
    /// if `force`). Returns with room for the group, or the error that prevents writing.
    pub(super) fn make_room_for_write(
        &self,
        wt: &WriteThread,
        _leader: &Writer<'_>,
        force: bool,
    ) -> Result<()> {
        let full = force || self.sv.load().mem.approximate_memory_usage() >= self.write_buffer_size;
        if !full {
            return Ok(());
        }
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
        let _mu = self.mu.lock();
        if self.closed.load(Acquire) {
            return Err(Error::Closed);
        }
        let number = self.next_file_number.fetch_add(1, Relaxed);
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
        let sv = self.sv.load().switched(Arc::new(MemTable::new()));
        self.sv.store(Arc::new(sv));
        self.stats.memtable_switches.fetch_add(1, Relaxed);
        Ok(())
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

    /// A long session with small buffers keeps few WAL files open: the switch syncs and closes
    /// retired WALs beyond the bound, and what it synced survives a power loss.
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
        assert_eq!(
            logs as u64,
            switches + 1,
            "one WAL per switch, plus the first"
        );
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
