//! `Version`: the tables of the database at one moment, level by level (LevelDB's
//! `db/version_set.cc` `Version`), with the overlap queries compaction picking needs and the
//! point-lookup path through the tables.
//!
//! Level 0 holds flushed memtables; its files may overlap and are kept newest first (highest
//! file number first), the order a lookup must probe them. Levels 1 to 6 hold files sorted by
//! smallest key that do not overlap (the [`VersionBuilder`](super::VersionBuilder) refuses a
//! version where they do). A version never changes once built; it is shared as an `Arc` by the
//! readers and compactions using it.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use crate::dbformat::{compare_internal_keys, extract_user_key, LookupKey};
use crate::error::Result;

use super::{FileMetaData, NUM_LEVELS};

/// What a table (or a whole version) says about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupResult {
    /// The newest visible entry is a value.
    Found(Vec<u8>),
    /// The newest visible entry is a deletion: the key is absent, and older levels must not be
    /// consulted.
    Deleted,
    /// No visible entry for the key here.
    NotFound,
}

/// Looks a key up in one table: the table cache implements it (another module), tests use a
/// map. Keeping it a trait keeps `Version` free of any table-cache dependency.
pub trait TableGet {
    /// The newest entry of `key.user_key()` with a sequence at or below `key.sequence()` in
    /// table `file`, i.e. the first entry at or after `key.internal_key()` if its user key is
    /// `key.user_key()`.
    fn get(&self, file: &FileMetaData, key: &LookupKey) -> Result<LookupResult>;
}

impl<F> TableGet for F
where
    F: Fn(&FileMetaData, &LookupKey) -> Result<LookupResult>,
{
    fn get(&self, file: &FileMetaData, key: &LookupKey) -> Result<LookupResult> {
        self(file, key)
    }
}

/// The tables of the database at one moment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub(super) files: [Vec<Arc<FileMetaData>>; NUM_LEVELS],
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version {}", self.level_summary())
    }
}

impl fmt::Display for Version {
    /// One line per level that has files: `level N: number:size[smallest .. largest] ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (level, files) in self.files.iter().enumerate() {
            if files.is_empty() {
                continue;
            }
            write!(f, "level {level}:")?;
            for file in files {
                write!(
                    f,
                    " {}:{}[{:?} .. {:?}]",
                    file.number,
                    file.file_size,
                    String::from_utf8_lossy(extract_user_key(&file.smallest)),
                    String::from_utf8_lossy(extract_user_key(&file.largest)),
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl Version {
    /// A version with no tables.
    pub fn new() -> Self {
        Version::default()
    }

    /// The files of `level` (L0 newest first; deeper levels by smallest key). Empty for a
    /// level at or past [`NUM_LEVELS`].
    pub fn files(&self, level: usize) -> &[Arc<FileMetaData>] {
        self.files.get(level).map_or(&[], Vec::as_slice)
    }

    /// The number of files at `level`.
    pub fn num_files(&self, level: usize) -> usize {
        self.files(level).len()
    }

    /// The total size of the files at `level`, in bytes.
    pub fn level_bytes(&self, level: usize) -> u64 {
        total_file_size(self.files(level))
    }

    /// Every file of every level, with its level.
    pub fn all_files(&self) -> impl Iterator<Item = (usize, &Arc<FileMetaData>)> {
        self.files
            .iter()
            .enumerate()
            .flat_map(|(level, files)| files.iter().map(move |f| (level, f)))
    }

    /// LevelDB's `LevelSummary`: `files[ 2 1 0 0 0 0 0 ]`.
    pub fn level_summary(&self) -> String {
        let counts: Vec<String> = self.files.iter().map(|f| f.len().to_string()).collect();
        format!("files[ {} ]", counts.join(" "))
    }

    /// True if some file at `level` overlaps the user-key range `[smallest, largest]`
    /// (`None` = unbounded on that side).
    pub fn overlap_in_level(
        &self,
        level: usize,
        smallest: Option<&[u8]>,
        largest: Option<&[u8]>,
    ) -> bool {
        some_file_overlaps_range(level > 0, self.files(level), smallest, largest)
    }

    /// The files at `level` that overlap the user-key range of the internal keys
    /// `[begin, end]` (`None` = unbounded). At level 0, where files overlap each other, the
    /// range grows to cover each overlapping file in full and the search restarts, so the
    /// result is closed under overlap (LevelDB's `GetOverlappingInputs`).
    pub fn overlapping_inputs(
        &self,
        level: usize,
        begin: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Vec<Arc<FileMetaData>> {
        let files = self.files(level);
        let mut user_begin: Option<Vec<u8>> = begin.map(|k| extract_user_key(k).to_vec());
        let mut user_end: Option<Vec<u8>> = end.map(|k| extract_user_key(k).to_vec());
        let mut inputs = Vec::new();
        let mut i = 0;
        while i < files.len() {
            let f = &files[i];
            i += 1;
            let file_start = extract_user_key(&f.smallest);
            let file_limit = extract_user_key(&f.largest);
            if user_begin.as_deref().is_some_and(|b| file_limit < b)
                || user_end.as_deref().is_some_and(|e| file_start > e)
            {
                continue;
            }
            inputs.push(f.clone());
            if level == 0 {
                // Level-0 files may overlap each other: widen the range to this file and
                // start over if it grew.
                if user_begin.as_deref().is_some_and(|b| file_start < b) {
                    user_begin = Some(file_start.to_vec());
                    inputs.clear();
                    i = 0;
                } else if user_end.as_deref().is_some_and(|e| file_limit > e) {
                    user_end = Some(file_limit.to_vec());
                    inputs.clear();
                    i = 0;
                }
            }
        }
        inputs
    }

    /// The level a memtable flush covering user keys `[smallest, largest]` should go to
    /// (LevelDB's `PickLevelForMemTableOutput`): level 0 if it overlaps level 0; otherwise
    /// pushed down while the next level has no overlap and the level after it overlaps at most
    /// `max_grandparent_overlap_bytes`, but never below level 2 (`kMaxMemCompactLevel`), so
    /// that a flush does not skip the levels where overwrites are merged cheaply.
    pub fn pick_level_for_memtable_output(
        &self,
        smallest: &[u8],
        largest: &[u8],
        max_grandparent_overlap_bytes: u64,
    ) -> usize {
        const MAX_MEM_COMPACT_LEVEL: usize = 2;
        let mut level = 0;
        if self.overlap_in_level(0, Some(smallest), Some(largest)) {
            return 0;
        }
        // Internal keys spanning every entry of the two user keys.
        let start = crate::dbformat::internal_key(
            smallest,
            crate::dbformat::MAX_SEQUENCE,
            crate::dbformat::KIND_FOR_SEEK,
        );
        let limit = crate::dbformat::internal_key(largest, 0, crate::dbformat::ValueKind::Deletion);
        while level < MAX_MEM_COMPACT_LEVEL {
            if self.overlap_in_level(level + 1, Some(smallest), Some(largest)) {
                break;
            }
            if level + 2 < NUM_LEVELS {
                let overlaps = self.overlapping_inputs(level + 2, Some(&start), Some(&limit));
                if total_file_size(&overlaps) > max_grandparent_overlap_bytes {
                    break;
                }
            }
            level += 1;
        }
        level
    }

    /// Looks `key` up in the tables: level 0 newest file first (only files whose range holds
    /// the key), then each deeper level's one candidate file found by binary search. The first
    /// table that knows the key decides: a value is `Found`, a deletion `Deleted` (older levels
    /// are not consulted). A table error is returned as it is.
    pub fn get(&self, key: &LookupKey, tables: &dyn TableGet) -> Result<LookupResult> {
        let user_key = key.user_key();
        for file in self.files(0) {
            if user_key >= extract_user_key(&file.smallest)
                && user_key <= extract_user_key(&file.largest)
            {
                match tables.get(file, key)? {
                    LookupResult::NotFound => {}
                    decided => return Ok(decided),
                }
            }
        }
        for level in 1..NUM_LEVELS {
            let files = self.files(level);
            let index = find_file(files, key.internal_key());
            let Some(file) = files.get(index) else {
                continue;
            };
            if user_key < extract_user_key(&file.smallest) {
                // The key falls in a gap between files.
                continue;
            }
            match tables.get(file, key)? {
                LookupResult::NotFound => {}
                decided => return Ok(decided),
            }
        }
        Ok(LookupResult::NotFound)
    }
}

/// The sum of the files' sizes.
pub fn total_file_size(files: &[Arc<FileMetaData>]) -> u64 {
    files.iter().map(|f| f.file_size).sum()
}

/// The index of the first file in `files` (sorted, disjoint) whose largest key is at or after
/// the internal key `key`; `files.len()` if there is none (LevelDB's `FindFile`).
pub fn find_file(files: &[Arc<FileMetaData>], key: &[u8]) -> usize {
    files.partition_point(|f| compare_internal_keys(&f.largest, key) == Ordering::Less)
}

/// True if a file in `files` overlaps the user-key range `[smallest, largest]` (`None` =
/// unbounded). With `disjoint_sorted` the files are sorted and disjoint (levels > 0) and one
/// binary search answers; otherwise every file is checked (level 0). LevelDB's
/// `SomeFileOverlapsRange`.
pub fn some_file_overlaps_range(
    disjoint_sorted: bool,
    files: &[Arc<FileMetaData>],
    smallest: Option<&[u8]>,
    largest: Option<&[u8]>,
) -> bool {
    let after = |f: &FileMetaData| largest.is_some_and(|l| l < extract_user_key(&f.smallest));
    let before = |f: &FileMetaData| smallest.is_some_and(|s| s > extract_user_key(&f.largest));
    if !disjoint_sorted {
        return files.iter().any(|f| !after(f) && !before(f));
    }
    let index = match smallest {
        Some(s) => {
            // The earliest internal key of user key `s` (every entry of `s` sorts after it).
            let key = crate::dbformat::internal_key(
                s,
                crate::dbformat::MAX_SEQUENCE,
                crate::dbformat::KIND_FOR_SEEK,
            );
            find_file(files, &key)
        }
        None => 0,
    };
    files.get(index).is_some_and(|f| !after(f))
}
