//! Versions: which tables make up the database at each level, and the edits that change it.
//!
//! A *version* is the set of live tables, level by level. The MANIFEST is a log of
//! [`VersionEdit`]s; replaying them from the first record gives the current version.
//! [`VersionSet`] keeps the current version, the MANIFEST and `CURRENT`, and the file numbers;
//! [`VersionBuilder`] applies edits to a version; [`filename`] names every file of a directory.

pub mod builder;
pub mod current;
pub mod edit;
pub mod filename;
pub mod set;
// Named as LevelDB names the concept; the module path reads `version::Version`.
#[allow(clippy::module_inception)]
pub mod version;

pub use builder::VersionBuilder;
pub use edit::VersionEdit;
pub use set::{RecoveryReport, VersionSet, VersionSetOptions};
pub use version::{
    find_file, some_file_overlaps_range, total_file_size, LookupResult, TableGet, Version,
};

/// The number of levels, L0 to L6. LevelDB's `config::kNumLevels`; a MANIFEST that names a
/// level at or above it is corrupt.
pub const NUM_LEVELS: usize = 7;

/// What the database keeps in memory about one table: LevelDB's `FileMetaData` without its
/// run-time counters.
///
/// `smallest` and `largest` are internal keys (`user_key ‖ fixed64(seq << 8 | kind)`) held as
/// raw bytes: the first and last key of the table in internal-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetaData {
    /// The table's file number: it lives in `NNNNNN.sst` (or LevelDB's `NNNNNN.ldb`).
    pub number: u64,
    /// The table file's size in bytes.
    pub file_size: u64,
    /// The smallest internal key in the table.
    pub smallest: Vec<u8>,
    /// The largest internal key in the table.
    pub largest: Vec<u8>,
}
