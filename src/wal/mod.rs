//! The write-ahead log: LevelDB's log format (see `docs/wal-format.md`).
//!
//! One WAL record holds one write group's merged batch. The writer frames records into 32 KiB
//! blocks; the reader reassembles them and applies a [`WalRecoveryMode`](crate::WalRecoveryMode)
//! to whatever damage it finds.

pub mod format;
pub mod reader;
pub mod writer;

pub use reader::{Corruption, CorruptionKind, Reader};
pub use writer::Writer;
