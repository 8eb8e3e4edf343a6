//! The WALs a session writes: the current one, and the retired ones (switched out with their
//! memtable) whose writes may not be synced yet.
//!
//! **Durability across a switch (invariant I5):** the old WAL is not synced on the write path
//! when it is retired. Instead a `sync` leader syncs every unsynced retired WAL before its own
//! sync, so a synced write is acknowledged only once every older write is durable too; the
//! marker at the start of each WAL (an empty batch carrying the next sequence) lets recovery
//! see a cut between WALs, so a crash leaves a prefix, never a hole.
//!
//! Locks: `current` then `retired` (never the reverse). Both are taken only by the WAL leader
//! (and by the memtable switch, which runs as that leader, and by close).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};

use crate::error::{Error, Result};
use crate::fs::WritableFile;
use crate::sync::Mutex;
use crate::wal::Writer as LogWriter;
use crate::write_batch::encode_header;

use super::files;

/// A WAL being written.
pub(crate) struct Wal {
    pub(crate) writer: LogWriter,
    pub(crate) number: u64,
    /// The last sequence logged in this WAL (its marker's sequence − 1 until a group is
    /// logged): the next WAL's marker carries this + 1.
    pub(crate) last_logged_seq: u64,
}

impl Wal {
    /// A WAL writing into `file` (empty), starting with the marker for `next_sequence`.
    pub(crate) fn create(
        file: Box<dyn WritableFile>,
        number: u64,
        next_sequence: u64,
        path: &Path,
    ) -> Result<Wal> {
        let mut writer = LogWriter::new(file);
        let marker = encode_header(next_sequence, 0);
        writer
            .add_record(&[&marker])
            .map_err(|e| Error::io(format!("writing the marker of WAL {}", path.display()), e))?;
        Ok(Wal {
            writer,
            number,
            last_logged_seq: next_sequence.saturating_sub(1),
        })
    }
}

/// A WAL switched out. Its writer is kept (open) only until it is synced; the entry itself
/// stays until the WAL's writes are in a base (and, with flushes, in a table).
struct Retired {
    /// `None` once synced and closed.
    writer: Option<LogWriter>,
    number: u64,
}

/// Retired WALs left unsynced before the switch syncs them itself. Each holds an open file;
/// until flushes retire WALs (the flush thread syncs them early), this bounds the descriptors
/// a long session with small write buffers keeps open, at the cost of one `fdatasync` of
/// the oldest WALs every few switches on the switching leader.
pub(crate) const MAX_UNSYNCED_RETIRED: usize = 4;

/// The current WAL and the retired ones.
pub(crate) struct WalSet {
    dir: PathBuf,
    /// `None` once closed.
    pub(crate) current: Mutex<Option<Wal>>,
    retired: Mutex<Vec<Retired>>,
    /// Some retired WAL is not synced: the fast path of a sync leader checks this atomic only.
    has_unsynced_retired: AtomicBool,
}

impl std::fmt::Debug for WalSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalSet")
            .field("has_unsynced_retired", &self.has_unsynced_retired)
            .finish_non_exhaustive()
    }
}

impl WalSet {
    /// A set whose current WAL is `wal`.
    pub(crate) fn new(dir: &Path, wal: Wal) -> Self {
        WalSet {
            dir: dir.to_path_buf(),
            current: Mutex::new(Some(wal)),
            retired: Mutex::new(Vec::new()),
            has_unsynced_retired: AtomicBool::new(false),
        }
    }

    /// Makes `new` the current WAL; the old one is retired unsynced. `current` is the caller's
    /// lock on the current WAL (lock order: `current` then `retired`).
    pub(crate) fn retire_and_replace(&self, current: &mut Option<Wal>, new: Wal) -> Result<()> {
        if let Some(old) = current.replace(new) {
            let unsynced = {
                let mut retired = self.retired.lock();
                retired.push(Retired {
                    writer: Some(old.writer),
                    number: old.number,
                });
                retired.iter().filter(|r| r.writer.is_some()).count()
            };
            self.has_unsynced_retired.store(true, Release);
            if unsynced > MAX_UNSYNCED_RETIRED {
                self.sync_retired()?;
            }
        }
        Ok(())
    }

    /// Syncs every retired WAL not synced yet (I5: before a sync write in a newer WAL is
    /// acknowledged). Called with `current` locked, or by close.
    pub(crate) fn sync_retired(&self) -> Result<()> {
        if !self.has_unsynced_retired.load(Acquire) {
            return Ok(());
        }
        let mut retired = self.retired.lock();
        for r in retired.iter_mut() {
            let Some(writer) = r.writer.as_mut() else {
                continue;
            };
            writer.sync().map_err(|e| {
                Error::io(
                    format!(
                        "syncing retired WAL {}",
                        files::log_name(&self.dir, r.number).display()
                    ),
                    e,
                )
            })?;
            // Synced: nothing more is written to it, so its file is closed.
            r.writer = None;
        }
        self.has_unsynced_retired.store(false, Release);
        Ok(())
    }

    /// Retired WALs whose file is still open (not yet synced).
    #[cfg(test)]
    pub(crate) fn open_retired(&self) -> usize {
        self.retired
            .lock()
            .iter()
            .filter(|r| r.writer.is_some())
            .count()
    }

    /// Forgets the retired WALs numbered below `number`: a flush put their writes in a table.
    pub(crate) fn forget_below(&self, number: u64) {
        let mut retired = self.retired.lock();
        retired.retain(|r| r.number >= number);
        let unsynced = retired.iter().any(|r| r.writer.is_some());
        self.has_unsynced_retired.store(unsynced, Release);
    }

    /// The numbers of the WALs in use (current and retired): never obsolete.
    pub(crate) fn numbers(&self) -> std::collections::BTreeSet<u64> {
        let current = self.current.lock().as_ref().map(|w| w.number);
        let mut out: std::collections::BTreeSet<u64> =
            self.retired.lock().iter().map(|r| r.number).collect();
        out.extend(current);
        out
    }
}
