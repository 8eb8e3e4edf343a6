//! The durable half of a flush (storage-engine.md section 6): an immutable memtable becomes
//! an L0 table, and a VersionEdit naming it, with the number of the WAL that follows the
//! memtable as the new log number, is appended to the MANIFEST and synced. Only then may the
//! memtable be dropped from the SuperVersion and the WALs below the log number be deleted:
//! their writes are in the table.
//!
//! The flush thread (which runs this, installs the SuperVersion, deletes obsolete files and
//! drives the memtable stall) is the next step; this file holds what it runs, so that open
//! can flush what it replayed with the same code.

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::fs::FileSystem;
use crate::memtable::MemTable;
use crate::sync::Mutex;
use crate::table::TableOptions;
use crate::version::{FileMetaData, Version, VersionEdit, VersionSet};

use super::flush_job::build_table;

/// An immutable memtable waiting for flush.
#[derive(Debug, Clone)]
pub(crate) struct FlushJob {
    /// The memtable.
    pub(crate) mem: Arc<MemTable>,
    /// The WAL created when this memtable was switched out: every write of the memtable is in
    /// WALs below it, so once the table is durable the log number becomes this.
    pub(crate) wal_after: u64,
    /// The last sequence written into the memtable (the MANIFEST's last sequence is at least
    /// this once the table is recorded).
    pub(crate) last_sequence: u64,
}

/// What a flush made.
#[derive(Debug)]
pub(crate) struct Flushed {
    /// The installed version (with the new table, if any).
    pub(crate) version: Arc<Version>,
    /// The new table; `None` for an empty memtable (the log number still advances).
    pub(crate) file: Option<FileMetaData>,
}

/// Writes `job`'s memtable into a new L0 table and records it (with the new log number) in the
/// MANIFEST. `smallest_snapshot` bounds the versions kept (see `build_table`). On failure
/// nothing is installed; a table whose MANIFEST write failed stays (see below); the caller
/// makes the error sticky.
pub(crate) fn run_flush(
    fs: &dyn FileSystem,
    dir: &Path,
    versions: &Mutex<VersionSet>,
    job: &FlushJob,
    options: &TableOptions,
    smallest_snapshot: Option<u64>,
) -> Result<Flushed> {
    // The number is taken under the lock; the table is written without it (other installs
    // go on meanwhile), as a pending output that obsolete-file deletion spares.
    let number = versions.lock().new_pending_output();
    write_and_record(fs, dir, versions, job, options, smallest_snapshot, number)
}

fn write_and_record(
    fs: &dyn FileSystem,
    dir: &Path,
    versions: &Mutex<VersionSet>,
    job: &FlushJob,
    options: &TableOptions,
    smallest_snapshot: Option<u64>,
    number: u64,
) -> Result<Flushed> {
    let file = match build_table(
        fs,
        dir,
        number,
        &mut job.mem.iter(),
        options,
        smallest_snapshot,
    ) {
        Ok(file) => file,
        Err(e) => {
            // `build_table` leaves no file behind: the number is free again.
            versions.lock().release_pending_output(number);
            return Err(e);
        }
    };
    let mut edit = VersionEdit::new();
    if let Some(meta) = &file {
        edit.add_file(0, meta.clone())?;
    }
    edit.set_log_number(job.wal_after);
    let mut set = versions.lock();
    if set.last_sequence() < job.last_sequence {
        set.set_last_sequence(job.last_sequence);
    }
    // A failed MANIFEST write leaves the table: the edit naming it may have reached the
    // disk all the same (a failed sync says nothing about what was written), so removing it
    // could leave a MANIFEST naming a missing table. The next open deletes it if unnamed.
    // It also stays pending until then: the background error becomes sticky only after this
    // returns, and a concurrent obsolete-file deletion that checked for an error a moment
    // earlier would otherwise see an unnamed, unpending table and delete it.
    set.log_and_apply(&mut edit)?;
    set.release_pending_output(number);
    Ok(Flushed {
        version: set.current(),
        file,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::fs::{Fault, FaultKind, MemFs};
    use crate::version::VersionSetOptions;
    use crate::write_batch::WriteBatch;

    fn setup() -> (Arc<MemFs>, PathBuf, Mutex<VersionSet>) {
        let fs = Arc::new(MemFs::new());
        let dir = PathBuf::from("/db");
        fs.create_dir_all(&dir).unwrap();
        let mut set = VersionSet::new(fs.clone(), &dir, VersionSetOptions::default());
        set.create_new_db().unwrap();
        set.recover().unwrap();
        (fs, dir, Mutex::new(set))
    }

    fn job(n: u32, wal_after: u64) -> FlushJob {
        let mem = Arc::new(MemTable::new());
        let mut b = WriteBatch::new();
        for i in 0..n {
            b.put(format!("k{i:04}").as_bytes(), b"value").unwrap();
        }
        let end = mem.insert_batch(&b, 1);
        FlushJob {
            mem,
            wal_after,
            last_sequence: end - 1,
        }
    }

    #[test]
    fn a_flush_records_its_table_and_log_number_durably() {
        let (fs, dir, versions) = setup();
        let wal_after = {
            let mut set = versions.lock();
            set.new_file_number();
            set.new_file_number()
        };
        let job = job(300, wal_after);
        let flushed = run_flush(
            fs.as_ref(),
            &dir,
            &versions,
            &job,
            &TableOptions::default(),
            None,
        )
        .unwrap();
        let file = flushed.file.unwrap();
        assert_eq!(flushed.version.num_files(0), 1);
        assert_eq!(flushed.version.files(0)[0].number, file.number);
        // What a later open reads back: the table, the log number and the last sequence.
        let mut reread = VersionSet::new(fs.clone(), &dir, VersionSetOptions::default());
        reread.recover().unwrap();
        assert_eq!(reread.log_number(), wal_after);
        assert_eq!(reread.last_sequence(), 300);
        assert_eq!(reread.current().num_files(0), 1);
        assert_eq!(reread.current().files(0)[0].file_size, file.file_size);
        // An empty memtable makes no table but still advances the log number.
        let later = versions.lock().new_file_number();
        let empty = FlushJob {
            mem: Arc::new(MemTable::new()),
            wal_after: later,
            last_sequence: 300,
        };
        let flushed = run_flush(
            fs.as_ref(),
            &dir,
            &versions,
            &empty,
            &TableOptions::default(),
            None,
        )
        .unwrap();
        assert!(flushed.file.is_none());
        assert_eq!(flushed.version.num_files(0), 1);
        assert_eq!(versions.lock().log_number(), later);
    }

    #[test]
    fn a_failed_manifest_write_installs_nothing_and_keeps_the_table() {
        let (fs, dir, versions) = setup();
        let wal_after = versions.lock().new_file_number();
        let before: Vec<String> = fs.list(&dir).unwrap();
        // The table's sync and the directory sync succeed; the MANIFEST's sync fails.
        let syncs = fs.count(FaultKind::Sync);
        fs.inject(Fault::once(FaultKind::Sync, syncs + 2, libc::EIO));
        let err = run_flush(
            fs.as_ref(),
            &dir,
            &versions,
            &job(50, wal_after),
            &TableOptions::default(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("MANIFEST"), "{err}");
        assert_eq!(
            versions.lock().current().num_files(0),
            0,
            "nothing installed"
        );
        // The edit may be on disk despite the failed sync: the table it names stays (an
        // open that finds it unnamed deletes it as obsolete).
        let tables: Vec<String> = fs
            .list(&dir)
            .unwrap()
            .into_iter()
            .filter(|n| n.ends_with(".sst"))
            .collect();
        assert_eq!(tables.len(), 1, "{tables:?} ({before:?})");
        // And it stays pending, so an obsolete-file deletion running in another thread before
        // the error is sticky cannot delete it either.
        let number: u64 = tables[0].trim_end_matches(".sst").parse().unwrap();
        assert!(
            versions.lock().pending_outputs().contains(&number),
            "the table of a failed install must stay pending until the next open"
        );
    }
}
