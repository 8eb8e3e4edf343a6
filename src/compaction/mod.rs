//! Leveled compaction, LevelDB's algorithm: which files to compact next ([`picker`]), the
//! description of one compaction's inputs ([`Compaction`]), and the job that merges them into
//! new tables ([`job`]) under the drop rules of [`drop_rules`]. Picking is pure logic on a
//! [`Version`](crate::version::Version); the job reads and writes files but installs nothing:
//! it returns the edit for the caller to log and apply.

// Named as LevelDB names the concept; the module path reads `compaction::Compaction`.
#[allow(clippy::module_inception)]
pub mod compaction;
pub mod drop_rules;
pub mod job;
pub mod picker;

pub use compaction::Compaction;
pub use drop_rules::{Decision, DropRules};
pub use job::{
    run_compaction, trivial_move, CompactionError, CompactionResult, CompactionStats, JobContext,
};
pub use picker::{
    add_boundary_inputs, compact_range, level_scores, max_bytes_for_level, pick_compaction,
    CompactionOptions,
};
