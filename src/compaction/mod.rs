//! Leveled compaction, LevelDB's algorithm: which files to compact next ([`picker`]) and the
//! description of one compaction's inputs ([`Compaction`]). Picking is pure logic on a
//! [`Version`](crate::version::Version); the merge job that reads the inputs and writes the
//! outputs is built on it separately.

// Named as LevelDB names the concept; the module path reads `compaction::Compaction`.
#[allow(clippy::module_inception)]
pub mod compaction;
pub mod picker;

pub use compaction::Compaction;
pub use picker::{
    add_boundary_inputs, compact_range, level_scores, max_bytes_for_level, pick_compaction,
    CompactionOptions,
};
