//! groupkv: an embedded, persistent key-value store built around RocksDB's write path.
//!
//! Many threads write at once; one of them becomes the leader of a *write group*, commits the
//! whole group with one WAL append and at most one `fdatasync`, inserts it into the memtable
//! (alone or in parallel with its followers), publishes the group's sequence numbers at once,
//! and hands leadership to the next writer.
//!
//! Reading order of the write path: [`write_batch`] → `write_thread` → [`wal`] → [`memtable`]
//! → [`DB`].
//!
//! The read side's building blocks: [`table`] (tables, the table cache and the block cache),
//! [`iter`] (cursors over memtables, tables and levels, merged, and the user's view of them
//! at one sequence).
//!
//! # Durability
//!
//! When [`DB::write`] returns `Ok`:
//! * with `sync: true` the write survives process crashes and power loss;
//! * with `sync: false` it survives a process crash; after power loss the recovered state is
//!   a prefix of the commit order, never with a hole;
//! * with `disable_wal: true` it survives only a clean [`DB::close`].
//!
//! A batch is applied whole or not at all, after any crash and to any reader. A failed WAL
//! write or sync is never retried or acknowledged: the database refuses every later write
//! ([`Error::Poisoned`]) until it is reopened.

#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
#![warn(missing_docs)]

pub mod cache;
pub mod capi;
pub mod checksum;
pub mod coding;
pub mod compaction;
mod db;
pub mod dbformat;
mod error;
pub mod fs;
pub mod iter;
pub mod log;
pub mod memtable;
mod memtable_arena;
mod options;
mod stats;
mod sync;
pub mod table;
pub mod version;
pub mod wal;
pub mod write_batch;
mod write_thread;

pub use db::{DbIterator, Entries, Snapshot, DB};
pub use error::{Error, Result};
pub use options::{Compression, Options, ReadOptions, WalRecoveryMode, WriteOptions};
pub use stats::{HistogramSnapshot, Stats};
pub use write_batch::WriteBatch;

/// The crate version, e.g. `"0.1.0"`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The write thread and the write orchestration, exposed only to the loom models
/// (`RUSTFLAGS="--cfg loom"`), which drive them with mocked I/O.
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api {
    pub use crate::db::write_impl::{write_impl, WriteBackend};
    pub use crate::options::{Options, WriteOptions};
    pub use crate::write_thread::{state, WriteGroup, WriteThread, Writer};

    /// What the memtable switch calls in pipelined mode before it switches (the models of
    /// the switch call it from their mock backend).
    pub fn wait_for_memtable_writers(wt: &WriteThread) {
        wt.wait_for_memtable_writers();
    }
}
