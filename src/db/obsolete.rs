//! Which files of a directory are obsolete (LevelDB's `RemoveObsoleteFiles`), decided from
//! the directory listing and the live state alone, so the rule is tested without I/O.
//!
//! | file | obsolete when |
//! |---|---|
//! | `NNNNNN.log` | below the log number (its writes are in tables), and not a WAL in use |
//! | `MANIFEST-NNNNNN` | not the current MANIFEST, numbered before the live state was read |
//! | `NNNNNN.sst` / `.ldb` | in no live version, not being written, numbered before the live state was read |
//! | `NNNNNN.dbtmp` | not being written, numbered before the live state was read |
//!
//! `CURRENT`, `LOCK`, quarantined files (`*.corrupt`) and any name that is not ours are never
//! obsolete. Deletion runs only after a successful install, never after a background error.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::sync::Mutex;
use crate::table::TableCache;
use crate::version::filename::{parse_file_name, FileType};
use crate::version::VersionSet;

use super::wal_set::WalSet;

/// What must be kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    /// The MANIFEST's log number: WALs below it are obsolete.
    pub(crate) log_number: u64,
    /// WALs being written or retired but not yet flushed (never deleted).
    pub(crate) wals_in_use: BTreeSet<u64>,
    /// The current MANIFEST's number.
    pub(crate) manifest_number: u64,
    /// Tables named by any version still held (the current one included).
    pub(crate) live_tables: BTreeSet<u64>,
    /// Numbers of files being written (a flush's or compaction's outputs, CURRENT's temp).
    pub(crate) pending: BTreeSet<u64>,
    /// The next file number when the rest was read: a table or temp file numbered at or
    /// above it was created after that, by a job the rest knows nothing of (the listing is
    /// read later, without the lock).
    pub(crate) next_file_number: u64,
}

/// The names in `listing` that are obsolete under `live`, in listing order.
pub(crate) fn obsolete_files<'a>(listing: &'a [String], live: &Live) -> Vec<&'a str> {
    listing
        .iter()
        .map(String::as_str)
        .filter(|name| {
            let Some((number, kind)) = parse_file_name(name) else {
                return false;
            };
            match kind {
                FileType::Log => number < live.log_number && !live.wals_in_use.contains(&number),
                // A MANIFEST numbered after the live state was read is one a concurrent
                // install just rotated to (the flush and compaction threads both install).
                FileType::Manifest => {
                    number < live.next_file_number && number != live.manifest_number
                }
                FileType::Table => {
                    number < live.next_file_number
                        && !live.live_tables.contains(&number)
                        && !live.pending.contains(&number)
                }
                FileType::Temp => number < live.next_file_number && !live.pending.contains(&number),
                FileType::Current | FileType::Lock => false,
            }
        })
        .collect()
}

/// Deletes the files nothing needs, and drops deleted tables from `tables`. The caller never
/// calls it after a background error (what a failed job left must stay for the reopen to
/// judge). Live tables are those of every version still held (the current one, old
/// SuperVersions', iterators', a running compaction's input version: `VersionSet` tracks them
/// by weak reference), and the pending outputs of running flushes and compactions, both read
/// under the `VersionSet` lock that hands out the numbers: a table whose number is not pending
/// when the listing is read either is live or was abandoned. Two threads may delete at once
/// (flush and compaction): a file the other one removed first is not an error.
pub(crate) fn delete_obsolete(
    fs: &dyn FileSystem,
    dir: &Path,
    versions: &Mutex<VersionSet>,
    wals: &WalSet,
    tables: Option<&TableCache>,
) -> Result<()> {
    let live = {
        let mut set = versions.lock();
        Live {
            log_number: set.log_number(),
            wals_in_use: wals.numbers(),
            manifest_number: set.manifest_file_number(),
            live_tables: set.live_files(),
            pending: set.pending_outputs().clone(),
            next_file_number: set.next_file_number(),
        }
    };
    let listing = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for name in obsolete_files(&listing, &live) {
        let path = dir.join(name);
        match fs.remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("removing obsolete {}", path.display()),
                    e,
                ))
            }
        }
        if let (Some(tables), Some((number, FileType::Table))) = (tables, parse_file_name(name)) {
            tables.evict(number);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_nothing_needs_are_obsolete() {
        let listing: Vec<String> = [
            "000003.log",
            "000007.log",
            "000009.log",
            "000012.log",
            "000004.log.corrupt",
            "MANIFEST-000002",
            "MANIFEST-000010",
            "000005.sst",
            "000006.sst",
            "000008.ldb",
            "000011.sst",
            "000013.dbtmp",
            "000014.dbtmp",
            "CURRENT",
            "LOCK",
            "LOG",
            "notes.txt",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let live = Live {
            log_number: 9,
            wals_in_use: [9, 12].into(),
            manifest_number: 10,
            live_tables: [6, 8].into(),
            pending: [11, 14].into(),
            next_file_number: 15,
        };
        assert_eq!(
            obsolete_files(&listing, &live),
            vec![
                "000003.log",
                "000007.log",
                "MANIFEST-000002",
                "000005.sst",
                "000013.dbtmp"
            ]
        );
        // A WAL below the log number that is still in use is kept.
        let keep = Live {
            wals_in_use: [3, 7, 9, 12].into(),
            ..live
        };
        assert!(!obsolete_files(&listing, &keep).contains(&"000003.log"));
        // A table numbered after the live state was read belongs to a job that started since.
        let older = Live {
            next_file_number: 13,
            ..keep
        };
        assert!(!obsolete_files(&listing, &older).contains(&"000013.dbtmp"));
        assert!(obsolete_files(&listing, &older).contains(&"000005.sst"));
        // Nor is a MANIFEST an install rotated to since.
        let rotated = Live {
            manifest_number: 2,
            next_file_number: 10,
            ..older
        };
        let obsolete = obsolete_files(&listing, &rotated);
        assert!(!obsolete.contains(&"MANIFEST-000010"), "{obsolete:?}");
        assert!(!obsolete.contains(&"MANIFEST-000002"), "{obsolete:?}");
    }
}
