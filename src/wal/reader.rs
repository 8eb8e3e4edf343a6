//! Applies a WAL recovery mode to the records and damage a [`log::Reader`] reports.
//!
//! The log reader finds the records and classifies damage (`crate::log::reader`: tail damage
//! is what a crash leaves at the end of the last write, decided from structure, never from a
//! byte's value; interior damage is anything else). This layer adds one kind the caller finds
//! (a record that is not a valid batch, [`CorruptionKind::BadBatch`]) and decides what each
//! piece of damage does, with RocksDB's semantics:
//!
//! | mode | tail damage | interior damage |
//! |---|---|---|
//! | `TolerateCorruptedTailRecords` | ends this file silently | `open` fails |
//! | `AbsoluteConsistency` | `open` fails | `open` fails |
//! | `PointInTime` | replay stops here (reported) | replay stops here (reported) |
//! | `SkipAnyCorruptedRecords` | ends this file silently | dropped (reported), reading goes on |
//!
//! Once [`Reader::read_record`] has returned `Ok(false)` or an error, it keeps returning
//! `Ok(false)`: a reader that stopped for point-in-time recovery never resumes past the damage.

use std::fmt;

use crate::error::{Error, Result};
use crate::fs::SequentialFile;
use crate::log::{self, Checksum, DamageKind, Outcome};
use crate::options::WalRecoveryMode;

use super::format::WAL_CHECKSUM;

/// What kind of damage was found: the log reader's kinds, plus a record that is not a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// Fewer than 7 header bytes before the end of the file.
    TruncatedHeader,
    /// A record whose length runs past the end of the file.
    TruncatedRecord,
    /// The file ends inside a fragmented record (FIRST/MIDDLE without LAST).
    PartialRecordAtEof,
    /// A torn write into allocated space: the damaged last record has a zeroed sector (or a
    /// zero header) and no intact record follows it (`docs/wal-format.md`, section 5).
    ZeroedTail,
    /// The stored checksum does not match the fragment.
    ChecksumMismatch,
    /// A length that overruns its block before the end of the file.
    BadRecordLength,
    /// A type byte that is not FULL/FIRST/MIDDLE/LAST, or zeros followed by an intact record.
    BadRecordType,
    /// FIRST without LAST before the next record, MIDDLE/LAST without FIRST, or the fragments
    /// of a record read so far when damage interrupted it.
    FragmentOutOfOrder,
    /// A record that is not a valid write batch.
    BadBatch,
}

impl CorruptionKind {
    /// Damage a crash in the middle of a write can leave at the end of a file.
    pub fn is_tail(self) -> bool {
        matches!(
            self,
            CorruptionKind::TruncatedHeader
                | CorruptionKind::TruncatedRecord
                | CorruptionKind::PartialRecordAtEof
                | CorruptionKind::ZeroedTail
        )
    }
}

impl From<DamageKind> for CorruptionKind {
    fn from(k: DamageKind) -> Self {
        match k {
            DamageKind::TruncatedHeader => CorruptionKind::TruncatedHeader,
            DamageKind::TruncatedRecord => CorruptionKind::TruncatedRecord,
            DamageKind::PartialRecordAtEof => CorruptionKind::PartialRecordAtEof,
            DamageKind::ZeroedTail => CorruptionKind::ZeroedTail,
            DamageKind::ChecksumMismatch => CorruptionKind::ChecksumMismatch,
            DamageKind::BadRecordLength => CorruptionKind::BadRecordLength,
            DamageKind::BadRecordType => CorruptionKind::BadRecordType,
            DamageKind::FragmentOutOfOrder => CorruptionKind::FragmentOutOfOrder,
        }
    }
}

/// Damage found at a file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// What kind of damage.
    pub kind: CorruptionKind,
    /// File offset where the damaged piece starts.
    pub offset: u64,
    /// How many bytes the reader dropped because of it.
    pub bytes_dropped: u64,
    /// Details.
    pub detail: String,
}

impl From<log::Damage> for Corruption {
    fn from(d: log::Damage) -> Self {
        Corruption {
            kind: d.kind.into(),
            offset: d.offset,
            bytes_dropped: d.bytes_dropped,
            detail: d.detail,
        }
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} at offset {} ({} bytes dropped): {}",
            self.kind, self.offset, self.bytes_dropped, self.detail
        )
    }
}

/// What the caller should do after damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Stop reading this file (and, for `PointInTime`, see [`Reader::stopped_at`]).
    Stop,
}

/// Reads the records of one WAL under a recovery mode.
pub struct Reader {
    log: log::Reader,
    mode: WalRecoveryMode,
    name: String,
    /// `read_record` returned the end (or an error): it returns `Ok(false)` from now on.
    finished: bool,
    /// `PointInTime`: where replay stopped.
    stopped_at: Option<Corruption>,
    /// `SkipAnyCorruptedRecords`: what was dropped.
    skipped: Vec<Corruption>,
    /// The first damage of any kind met, in every mode (a silently ended tail too): recovery
    /// never deletes a file that had any.
    first_damage: Option<Corruption>,
    /// The offset of the last record returned.
    last_record_offset: u64,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("wal::Reader")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("log", &self.log)
            .finish()
    }
}

impl Reader {
    /// A reader of `file` (named `name` in error messages) under `mode`, checking the checksum
    /// this version's WALs carry.
    pub fn new(
        file: Box<dyn SequentialFile>,
        name: impl Into<String>,
        mode: WalRecoveryMode,
    ) -> Self {
        Reader::with_checksum(file, name, mode, WAL_CHECKSUM)
    }

    /// A reader checking `checksum` (the other one reads a WAL of another layout).
    pub fn with_checksum(
        file: Box<dyn SequentialFile>,
        name: impl Into<String>,
        mode: WalRecoveryMode,
        checksum: Checksum,
    ) -> Self {
        let name = name.into();
        Reader {
            log: log::Reader::new(file, checksum).with_name(format!("WAL {name}")),
            mode,
            name,
            finished: false,
            stopped_at: None,
            skipped: Vec::new(),
            first_damage: None,
            last_record_offset: 0,
        }
    }

    /// Reads the next logical record into `out`. Returns `Ok(false)` at the end of the file, or
    /// where the mode says to stop; `Err` where the mode says damage fails recovery, or when
    /// reading the file fails. After either, every later call returns `Ok(false)`.
    pub fn read_record(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        out.clear();
        if self.finished {
            return Ok(false);
        }
        let result = self.next_record(out);
        if !matches!(result, Ok(true)) {
            out.clear();
            self.finished = true;
        }
        result
    }

    fn next_record(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        loop {
            match self.log.read_record(out)? {
                Outcome::Record { offset, .. } => {
                    self.last_record_offset = offset;
                    return Ok(true);
                }
                Outcome::Damage(d) => {
                    let tail = d.kind.is_tail();
                    // Nothing follows tail damage: the file ends there whatever the mode does.
                    if self.damage(d.into())? == Flow::Stop || tail {
                        return Ok(false);
                    }
                }
                Outcome::End => return Ok(false),
            }
        }
    }

    /// Applies the recovery mode to damage found by the caller (e.g. a record that is not a
    /// valid batch) or by the log reader.
    pub fn damage(&mut self, c: Corruption) -> Result<Flow> {
        if self.first_damage.is_none() {
            self.first_damage = Some(c.clone());
        }
        match self.mode {
            // Nothing follows tail damage, so these modes just end the file, silently (RocksDB
            // reports a torn tail only in absolute-consistency and point-in-time recovery).
            WalRecoveryMode::TolerateCorruptedTailRecords
            | WalRecoveryMode::SkipAnyCorruptedRecords
                if c.kind.is_tail() =>
            {
                Ok(Flow::Stop)
            }
            WalRecoveryMode::TolerateCorruptedTailRecords
            | WalRecoveryMode::AbsoluteConsistency => Err(self.fail(&c)),
            WalRecoveryMode::PointInTime => {
                if self.stopped_at.is_none() {
                    self.stopped_at = Some(c);
                }
                Ok(Flow::Stop)
            }
            WalRecoveryMode::SkipAnyCorruptedRecords => {
                self.skipped.push(c);
                Ok(Flow::Continue)
            }
        }
    }

    /// Builds a [`Corruption`] for this file.
    pub fn corruption(
        &self,
        kind: CorruptionKind,
        offset: u64,
        bytes_dropped: u64,
        detail: impl Into<String>,
    ) -> Corruption {
        Corruption {
            kind,
            offset,
            bytes_dropped,
            detail: detail.into(),
        }
    }

    /// `PointInTime`: the damage where reading stopped, if it did.
    pub fn stopped_at(&self) -> Option<&Corruption> {
        self.stopped_at.as_ref()
    }

    /// `SkipAnyCorruptedRecords`: the damage skipped so far.
    pub fn skipped(&self) -> &[Corruption] {
        &self.skipped
    }

    /// The first damage met so far, whatever the mode did with it (including a torn tail that
    /// ended the file silently).
    pub fn first_damage(&self) -> Option<&Corruption> {
        self.first_damage.as_ref()
    }

    /// The file offset at which the last returned record starts.
    pub fn last_record_offset(&self) -> u64 {
        self.last_record_offset
    }

    fn fail(&self, c: &Corruption) -> Error {
        Error::corruption(format!(
            "WAL {} under recovery mode {}: {c}; nothing was changed. To recover the writes \
             before the damage, open with wal_recovery_mode point_in_time (or \
             skip_any_corrupted_records to also keep what follows it)",
            self.name, self.mode
        ))
    }
}
