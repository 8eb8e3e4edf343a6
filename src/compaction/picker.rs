//! Picking the next compaction, as LevelDB's `VersionSet::PickCompaction` and `CompactRange`
//! do, with RocksDB-sized defaults.
//!
//! * **Scores** ([`level_scores`]): level 0 by file count against
//!   `level0_file_num_compaction_trigger` (each L0 file is probed by every read, whatever its
//!   size); level n ≥ 1 by bytes against [`max_bytes_for_level`]. The last level has no score:
//!   nothing lies below it. The best score ≥ 1 is compacted.
//! * **Inputs**: at level n ≥ 1 the first file after the level's *compact pointer* (wrapping
//!   around), so successive compactions sweep the key space; at level 0 that file and every L0
//!   file overlapping it. Then the files at the boundary that share a user key with the inputs
//!   ([`add_boundary_inputs`]: splitting a user key's entries between levels would let an
//!   older entry shadow a newer one), the overlapping files of level n + 1, and — when it adds
//!   no file to level n + 1 and stays under 25 target files of bytes — more level-n files
//!   that fit in the same range.
//! * **Grandparents**: the files of level n + 2 overlapping the whole range, which cut outputs
//!   and decide whether a one-file compaction is a trivial move.
//!
//! Seek-triggered compaction (LevelDB's `allowed_seeks`) is not implemented: RocksDB dropped
//! it too, and the scores alone keep the shape of the tree.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::dbformat::{compare_internal_keys, extract_user_key};
use crate::version::{total_file_size, FileMetaData, Version, NUM_LEVELS};

use super::compaction::Compaction;

/// The sizes that drive picking. The DB fills them from its `Options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionOptions {
    /// Level 0 is compacted once it holds this many files. Default 4.
    pub level0_file_num_compaction_trigger: usize,
    /// Level 1's target size; each deeper level's is 10 times the one above. Default 256 MiB
    /// (RocksDB's; LevelDB uses 10 MiB).
    pub max_bytes_for_level_base: u64,
    /// The size compaction outputs are cut at. Default 64 MiB.
    pub target_file_size_base: u64,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        CompactionOptions {
            level0_file_num_compaction_trigger: 4,
            max_bytes_for_level_base: 256 << 20,
            target_file_size_base: 64 << 20,
        }
    }
}

impl CompactionOptions {
    /// An output stops once it overlaps this many bytes of grandparents, and a one-file
    /// compaction overlapping more is not a trivial move: 10 target files (LevelDB).
    pub fn max_grandparent_overlap_bytes(&self) -> u64 {
        self.target_file_size_base.saturating_mul(10)
    }

    /// Inputs are widened only while they stay under this: 25 target files (LevelDB).
    pub fn expanded_compaction_byte_size_limit(&self) -> u64 {
        self.target_file_size_base.saturating_mul(25)
    }
}

/// The target size of `level` (≥ 1): `max_bytes_for_level_base × 10^(level − 1)`.
pub fn max_bytes_for_level(options: &CompactionOptions, level: usize) -> f64 {
    let mut bytes = options.max_bytes_for_level_base as f64;
    for _ in 1..level {
        bytes *= 10.0;
    }
    bytes
}

/// The compaction score of every level but the last: `(level, score)`; a score ≥ 1 means the
/// level needs compacting.
pub fn level_scores(version: &Version, options: &CompactionOptions) -> Vec<(usize, f64)> {
    (0..NUM_LEVELS - 1)
        .map(|level| {
            let score = if level == 0 {
                version.num_files(0) as f64
                    / options.level0_file_num_compaction_trigger.max(1) as f64
            } else {
                version.level_bytes(level) as f64 / max_bytes_for_level(options, level)
            };
            (level, score)
        })
        .collect()
}

/// The level with the best score, and that score (the first level wins a tie).
pub fn best_level(version: &Version, options: &CompactionOptions) -> (usize, f64) {
    level_scores(version, options)
        .into_iter()
        .fold((0, f64::MIN), |best, s| if s.1 > best.1 { s } else { best })
}

/// The next size compaction of `version`, if a level scores ≥ 1. Advances
/// `compact_pointers[level]` to the end of the inputs (and records it in the compaction's
/// edit), so the next pick at that level starts after them.
pub fn pick_compaction(
    version: &Arc<Version>,
    compact_pointers: &mut [Option<Vec<u8>>; NUM_LEVELS],
    options: &CompactionOptions,
) -> Option<Compaction> {
    let (level, score) = best_level(version, options);
    if score < 1.0 {
        return None;
    }
    let mut files: Vec<Arc<FileMetaData>> = version.files(level).to_vec();
    if level == 0 {
        // The compact pointer walks level 0 in key order too.
        files.sort_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
    }
    let pointer = compact_pointers[level].as_deref();
    let first = files
        .iter()
        .find(|f| {
            pointer.map_or(true, |p| {
                compare_internal_keys(&f.largest, p) == Ordering::Greater
            })
        })
        .or_else(|| files.first())?
        .clone();
    let mut c = new_compaction(level, version, options);
    c.inputs[0] = vec![first];
    if level == 0 {
        // Level-0 files overlap each other: take every one overlapping the chosen file.
        let (smallest, largest) = key_range(&c.inputs[0])?;
        c.inputs[0] = version.overlapping_inputs(0, Some(&smallest), Some(&largest));
    }
    setup_other_inputs(&mut c, compact_pointers, options);
    Some(c)
}

/// A manual compaction of `level`'s files overlapping the internal keys `[begin, end]`
/// (`None` = unbounded), LevelDB's `CompactRange`. `None` if nothing overlaps, or `level` is
/// the last level. Above level 0 the inputs stop once they reach one target file size, so one
/// manual compaction does not rewrite a whole level; the caller repeats until the range is
/// done.
pub fn compact_range(
    version: &Arc<Version>,
    level: usize,
    begin: Option<&[u8]>,
    end: Option<&[u8]>,
    compact_pointers: &mut [Option<Vec<u8>>; NUM_LEVELS],
    options: &CompactionOptions,
) -> Option<Compaction> {
    if level + 1 >= NUM_LEVELS {
        return None;
    }
    let mut inputs = version.overlapping_inputs(level, begin, end);
    if inputs.is_empty() {
        return None;
    }
    if level > 0 {
        // Level-0 inputs cannot be cut: their files overlap each other.
        let mut total = 0;
        if let Some(cut) = inputs.iter().position(|f| {
            total += f.file_size;
            total >= options.target_file_size_base
        }) {
            inputs.truncate(cut + 1);
        }
    }
    let mut c = new_compaction(level, version, options);
    c.inputs[0] = inputs;
    setup_other_inputs(&mut c, compact_pointers, options);
    Some(c)
}

fn new_compaction(level: usize, version: &Arc<Version>, options: &CompactionOptions) -> Compaction {
    Compaction::new(
        level,
        version.clone(),
        options.target_file_size_base,
        options.max_grandparent_overlap_bytes(),
    )
}

/// Adds boundary files, the next level's overlapping files, the widened inputs and the
/// grandparents, and advances the compact pointer (LevelDB's `SetupOtherInputs`).
fn setup_other_inputs(
    c: &mut Compaction,
    compact_pointers: &mut [Option<Vec<u8>>; NUM_LEVELS],
    options: &CompactionOptions,
) {
    let level = c.level;
    let version = c.input_version.clone();
    add_boundary_inputs(version.files(level), &mut c.inputs[0]);
    let Some((smallest, mut largest)) = key_range(&c.inputs[0]) else {
        return;
    };
    c.inputs[1] = version.overlapping_inputs(level + 1, Some(&smallest), Some(&largest));
    add_boundary_inputs(version.files(level + 1), &mut c.inputs[1]);
    let (mut all_start, mut all_limit) = key_range2(&c.inputs[0], &c.inputs[1]);

    if !c.inputs[1].is_empty() {
        // Take more level-n files if that brings in no more level-(n+1) files.
        let mut expanded0 = version.overlapping_inputs(level, Some(&all_start), Some(&all_limit));
        add_boundary_inputs(version.files(level), &mut expanded0);
        let inputs1_size = total_file_size(&c.inputs[1]);
        let expanded0_size = total_file_size(&expanded0);
        if expanded0.len() > c.inputs[0].len()
            && inputs1_size + expanded0_size < options.expanded_compaction_byte_size_limit()
        {
            if let Some((new_start, new_limit)) = key_range(&expanded0) {
                let mut expanded1 =
                    version.overlapping_inputs(level + 1, Some(&new_start), Some(&new_limit));
                add_boundary_inputs(version.files(level + 1), &mut expanded1);
                if expanded1.len() == c.inputs[1].len() {
                    largest = new_limit;
                    c.inputs[0] = expanded0;
                    c.inputs[1] = expanded1;
                    (all_start, all_limit) = key_range2(&c.inputs[0], &c.inputs[1]);
                }
            }
        }
    }
    if level + 2 < NUM_LEVELS {
        c.grandparents = version.overlapping_inputs(level + 2, Some(&all_start), Some(&all_limit));
    }
    // The next compaction of this level starts after these inputs. Recorded in the edit now,
    // so it is durable with the compaction's result (and harmless if the compaction fails).
    if c.edit.set_compact_pointer(level, &largest).is_ok() {
        compact_pointers[level] = Some(largest);
    }
}

/// Adds to `compaction_files` the files of `level_files` that start with the user key
/// `compaction_files` ends with (at an older sequence), repeatedly: without them, a newer
/// entry of that key would move down a level while an older one stays above it, and reads
/// would find the older one first (LevelDB's `AddBoundaryInputs`).
pub fn add_boundary_inputs(
    level_files: &[Arc<FileMetaData>],
    compaction_files: &mut Vec<Arc<FileMetaData>>,
) {
    let Some(mut largest) = compaction_files
        .iter()
        .max_by(|a, b| compare_internal_keys(&a.largest, &b.largest))
        .map(|f| f.largest.clone())
    else {
        return;
    };
    loop {
        let boundary = level_files
            .iter()
            .filter(|f| {
                compare_internal_keys(&f.smallest, &largest) == Ordering::Greater
                    && extract_user_key(&f.smallest) == extract_user_key(&largest)
            })
            .min_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
        match boundary {
            Some(f) if !compaction_files.iter().any(|c| c.number == f.number) => {
                largest.clone_from(&f.largest);
                compaction_files.push(f.clone());
            }
            _ => break,
        }
    }
}

/// The smallest and largest internal keys of `files`; `None` if there are none.
fn key_range(files: &[Arc<FileMetaData>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let smallest = files
        .iter()
        .min_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest))?;
    let largest = files
        .iter()
        .max_by(|a, b| compare_internal_keys(&a.largest, &b.largest))?;
    Some((smallest.smallest.clone(), largest.largest.clone()))
}

/// The key range of both sets together (the first is never empty when this is called).
fn key_range2(a: &[Arc<FileMetaData>], b: &[Arc<FileMetaData>]) -> (Vec<u8>, Vec<u8>) {
    let all: Vec<Arc<FileMetaData>> = a.iter().chain(b).cloned().collect();
    key_range(&all).unwrap_or_default()
}
