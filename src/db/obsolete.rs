//! Which files of a directory are obsolete (LevelDB's `RemoveObsoleteFiles`), decided from
//! the directory listing and the live state alone, so the rule is tested without I/O.
//!
//! | file | obsolete when |
//! |---|---|
//! | `NNNNNN.log` | below the log number (its writes are in tables), and not a WAL in use |
//! | `MANIFEST-NNNNNN` | not the current MANIFEST |
//! | `NNNNNN.sst` / `.ldb` | in no live version and not being written |
//! | `NNNNNN.dbtmp` | not being written |
//!
//! `CURRENT`, `LOCK`, quarantined files (`*.corrupt`) and any name that is not ours are never
//! obsolete. Deletion runs only after a successful install, never after a background error.

use std::collections::BTreeSet;

use crate::version::filename::{parse_file_name, FileType};

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
                FileType::Manifest => number != live.manifest_number,
                FileType::Table => {
                    !live.live_tables.contains(&number) && !live.pending.contains(&number)
                }
                FileType::Temp => !live.pending.contains(&number),
                FileType::Current | FileType::Lock => false,
            }
        })
        .collect()
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
    }
}
