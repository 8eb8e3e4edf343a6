//! `Compaction`: the inputs of one compaction and the questions its merge loop asks (LevelDB's
//! `Compaction` in `db/version_set.cc`).
//!
//! `inputs[0]` are files of `level`, `inputs[1]` the overlapping files of `level + 1` (the
//! output level), and `grandparents` the files of `level + 2` that overlap the whole range:
//! an output file is cut early when it would overlap too many bytes of them, so that the next
//! compaction of the output level stays small.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::dbformat::{compare_internal_keys, extract_user_key};
use crate::error::Result;
use crate::version::{total_file_size, FileMetaData, Version, VersionEdit, NUM_LEVELS};

/// One compaction from `level` into `level + 1`.
#[derive(Debug)]
pub struct Compaction {
    pub(super) level: usize,
    pub(super) input_version: Arc<Version>,
    pub(super) inputs: [Vec<Arc<FileMetaData>>; 2],
    pub(super) grandparents: Vec<Arc<FileMetaData>>,
    pub(super) max_output_file_size: u64,
    pub(super) max_grandparent_overlap_bytes: u64,
    /// The edit the compaction will install; picking puts the compact pointer in it.
    pub(super) edit: VersionEdit,
    /// `should_stop_before` state: the grandparent the output has reached, whether a key was
    /// seen, and the grandparent bytes the current output overlaps.
    grandparent_index: usize,
    seen_key: bool,
    overlapped_bytes: u64,
    /// `is_base_level_for_key` state: per level, the file the (ascending) keys have reached.
    level_ptrs: [usize; NUM_LEVELS],
}

impl Compaction {
    pub(super) fn new(
        level: usize,
        input_version: Arc<Version>,
        max_output_file_size: u64,
        max_grandparent_overlap_bytes: u64,
    ) -> Self {
        Compaction {
            level,
            input_version,
            inputs: [Vec::new(), Vec::new()],
            grandparents: Vec::new(),
            max_output_file_size,
            max_grandparent_overlap_bytes,
            edit: VersionEdit::new(),
            grandparent_index: 0,
            seen_key: false,
            overlapped_bytes: 0,
            level_ptrs: [0; NUM_LEVELS],
        }
    }

    /// The level compacted; outputs go to `level() + 1`.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The version the inputs were picked from (held so the input files stay live).
    pub fn input_version(&self) -> &Arc<Version> {
        &self.input_version
    }

    /// `which` 0: the files of `level()`; 1: the files of `level() + 1`.
    pub fn inputs(&self, which: usize) -> &[Arc<FileMetaData>] {
        self.inputs.get(which).map_or(&[], Vec::as_slice)
    }

    /// The overlapping files of `level() + 2`.
    pub fn grandparents(&self) -> &[Arc<FileMetaData>] {
        &self.grandparents
    }

    /// Outputs are cut at about this size.
    pub fn max_output_file_size(&self) -> u64 {
        self.max_output_file_size
    }

    /// The edit to install (it holds the compact pointer picking set); the job adds the input
    /// deletions ([`add_input_deletions`](Self::add_input_deletions)) and its outputs.
    pub fn edit_mut(&mut self) -> &mut VersionEdit {
        &mut self.edit
    }

    /// The edit, read-only.
    pub fn edit(&self) -> &VersionEdit {
        &self.edit
    }

    /// True if the compaction can be done by moving its one input file down a level: nothing
    /// in the next level overlaps it and it overlaps few enough grandparent bytes that the
    /// moved file will not make a later compaction expensive.
    pub fn is_trivial_move(&self) -> bool {
        self.inputs[0].len() == 1
            && self.inputs[1].is_empty()
            && total_file_size(&self.grandparents) <= self.max_grandparent_overlap_bytes
    }

    /// Adds the deletion of every input file to `edit`.
    pub fn add_input_deletions(&self, edit: &mut VersionEdit) -> Result<()> {
        for (which, files) in self.inputs.iter().enumerate() {
            for f in files {
                edit.remove_file(self.level + which, f.number)?;
            }
        }
        Ok(())
    }

    /// True if no level below the output level holds `user_key`, so a deletion marker for it
    /// can be dropped (if no snapshot needs it). Calls must come in ascending key order: the
    /// per-level positions only move forward.
    pub fn is_base_level_for_key(&mut self, user_key: &[u8]) -> bool {
        for level in (self.level + 2)..NUM_LEVELS {
            let files = self.input_version.files(level);
            while let Some(f) = files.get(self.level_ptrs[level]) {
                if user_key <= extract_user_key(&f.largest) {
                    if user_key >= extract_user_key(&f.smallest) {
                        return false;
                    }
                    break;
                }
                self.level_ptrs[level] += 1;
            }
        }
        true
    }

    /// True if the output file being written should end before the internal key `key`,
    /// because it already overlaps more than the grandparent limit. Calls must come in
    /// ascending key order.
    pub fn should_stop_before(&mut self, key: &[u8]) -> bool {
        while let Some(g) = self.grandparents.get(self.grandparent_index) {
            if compare_internal_keys(key, &g.largest) != Ordering::Greater {
                break;
            }
            if self.seen_key {
                self.overlapped_bytes += g.file_size;
            }
            self.grandparent_index += 1;
        }
        self.seen_key = true;
        if self.overlapped_bytes > self.max_grandparent_overlap_bytes {
            self.overlapped_bytes = 0;
            true
        } else {
            false
        }
    }

    /// The total size of the input files, in bytes.
    pub fn input_bytes(&self) -> u64 {
        total_file_size(&self.inputs[0]) + total_file_size(&self.inputs[1])
    }
}
