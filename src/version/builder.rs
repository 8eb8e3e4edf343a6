//! `VersionBuilder`: applies a run of [`VersionEdit`]s to a base [`Version`] without building
//! the versions in between (LevelDB's `VersionSet::Builder`). Recovery feeds it every record of
//! a MANIFEST; `log_and_apply` feeds it one edit.
//!
//! Files deleted and then added again within the run end up present; a file added and then
//! deleted ends up absent. The result is checked: levels above 0 must be sorted and disjoint
//! in internal-key order, and no file number may be live twice. A MANIFEST that breaks either
//! rule is `Corruption`, never a version that would return wrong answers.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use crate::dbformat::compare_internal_keys;
use crate::error::{Error, Result};

use super::edit::VersionEdit;
use super::version::Version;
use super::{FileMetaData, NUM_LEVELS};

/// Accumulates edits on top of a base version.
#[derive(Debug)]
pub struct VersionBuilder {
    base: Arc<Version>,
    /// Per level: file numbers deleted from the base (or from earlier added files).
    deleted: [BTreeSet<u64>; NUM_LEVELS],
    /// Per level: files added, by number.
    added: [BTreeMap<u64, Arc<FileMetaData>>; NUM_LEVELS],
    /// The latest compact pointer per level set by the edits applied.
    compact_pointers: [Option<Vec<u8>>; NUM_LEVELS],
}

impl VersionBuilder {
    /// A builder starting from `base`.
    pub fn new(base: Arc<Version>) -> Self {
        VersionBuilder {
            base,
            deleted: Default::default(),
            added: Default::default(),
            compact_pointers: Default::default(),
        }
    }

    /// Applies `edit`: its deleted files, then its new files (an edit that deletes and adds
    /// the same number keeps the file), and remembers its compact pointers.
    pub fn apply(&mut self, edit: &VersionEdit) {
        for (level, key) in edit.compact_pointers() {
            if let Some(slot) = self.compact_pointers.get_mut(*level) {
                *slot = Some(key.clone());
            }
        }
        for &(level, number) in edit.deleted_files() {
            if level < NUM_LEVELS {
                self.deleted[level].insert(number);
                self.added[level].remove(&number);
            }
        }
        for (level, file) in edit.new_files() {
            if *level < NUM_LEVELS {
                self.deleted[*level].remove(&file.number);
                self.added[*level].insert(file.number, Arc::new(file.clone()));
            }
        }
    }

    /// The compact pointers set by the edits applied so far, per level.
    pub fn compact_pointers(&self) -> &[Option<Vec<u8>>; NUM_LEVELS] {
        &self.compact_pointers
    }

    /// The resulting version. `Corruption` if a level above 0 would hold overlapping files or
    /// a file number would be live twice.
    pub fn build(&self) -> Result<Version> {
        let mut version = Version::new();
        let mut numbers = HashSet::new();
        for level in 0..NUM_LEVELS {
            let mut files: Vec<Arc<FileMetaData>> = self
                .base
                .files(level)
                .iter()
                .filter(|f| {
                    !self.deleted[level].contains(&f.number)
                        && !self.added[level].contains_key(&f.number)
                })
                .cloned()
                .chain(self.added[level].values().cloned())
                .collect();
            if level == 0 {
                // Newest first: the order in which a lookup must probe overlapping files.
                files.sort_by_key(|f| std::cmp::Reverse(f.number));
            } else {
                files.sort_by(|a, b| {
                    compare_internal_keys(&a.smallest, &b.smallest)
                        .then_with(|| a.number.cmp(&b.number))
                });
                for pair in files.windows(2) {
                    if compare_internal_keys(&pair[0].largest, &pair[1].smallest) != Ordering::Less
                    {
                        return Err(Error::corruption(format!(
                            "overlapping files {} and {} in level {level}",
                            pair[0].number, pair[1].number
                        )));
                    }
                }
            }
            for f in &files {
                if !numbers.insert(f.number) {
                    return Err(Error::corruption(format!(
                        "file {} is live twice (seen again in level {level})",
                        f.number
                    )));
                }
            }
            version.files[level] = files;
        }
        Ok(version)
    }
}
