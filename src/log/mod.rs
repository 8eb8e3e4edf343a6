//! LevelDB's log format, shared by every log-structured file: the MANIFEST and the WAL (whose
//! recovery modes are a policy layered on [`Reader`] in `crate::wal`).
//!
//! A log is a sequence of 32 KiB blocks. A logical record is cut into fragments, each with a
//! 7-byte header (`masked checksum:fixed32 · length:fixed16 · type:u8`) and never crossing a
//! block boundary; fewer than 7 bytes left at the end of a block are zero padding (the
//! *trailer*). `docs/file-formats.md` describes the bytes.
//!
//! The [`Writer`] appends records; the [`Reader`] hands back logical records with their file
//! offsets and reports damage as typed [`Damage`] without deciding anything: whether a torn
//! tail is harmless or interior damage fails an open is the caller's policy.

pub mod format;
pub mod framer;
pub mod reader;
pub mod writer;

pub use format::{Checksum, RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};
pub use framer::Framer;
pub use reader::{Damage, DamageKind, Outcome, Reader};
pub use writer::Writer;
