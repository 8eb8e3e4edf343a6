//! Reads logical records back from a log file and applies a recovery mode to damage.
//!
//! The log ends at the end of the file, or where zeros run from a record boundary to the end of
//! the file: space the writer allocated ahead of its records (or that a crash left unwritten).
//!
//! Damage comes in two classes. *Tail* damage is what a crash leaves at the end of the last
//! write: a truncated header, a record whose length runs past the end of the file, a
//! fragmented record with no LAST fragment, or a torn write into allocated space, decided from
//! structure, never from a byte's value (`ZeroedTail`: a damaged fragment with a zeroed
//! sector-aligned span, or a zero header followed by data, and in both cases no intact record
//! anywhere after; see `docs/wal-format.md`, section 5).
//! *Interior* damage is anything else: a checksum mismatch, a length that overruns its block
//! mid-file, an unknown type, zeros followed by an intact record, fragments out of order, or a
//! record that is not a valid batch. What happens next is the mode's choice (RocksDB's semantics):
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

use super::format::{record_crc, RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};
use crate::error::{Error, Result};
use crate::fs::SequentialFile;
use crate::options::WalRecoveryMode;

/// What kind of damage was found.
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

enum Physical {
    /// A fragment; its payload is `backing[start..end]`.
    Fragment {
        kind: RecordType,
        start: usize,
        end: usize,
        offset: u64,
    },
    Eof,
    Damage(Corruption),
}

/// Reads logical records from one log file.
pub struct Reader {
    file: Box<dyn SequentialFile>,
    mode: WalRecoveryMode,
    name: String,
    backing: Vec<u8>,
    /// Unread part of the current block: `backing[start..end]`.
    start: usize,
    end: usize,
    /// The file offset of `backing[end]`.
    end_offset: u64,
    /// The current block is the last one (the file has nothing after `backing[end]`).
    eof: bool,
    /// Bytes read from the file past the current block while looking for the end of a zeroed
    /// tail, not yet parsed: `ahead_zeros` zeros, then `ahead[ahead_pos..]`.
    ahead_zeros: usize,
    ahead: Vec<u8>,
    ahead_pos: usize,
    /// The file itself returned end-of-file.
    file_eof: bool,
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
            .field("end_offset", &self.end_offset)
            .finish()
    }
}

impl Reader {
    /// A reader of `file` (named `name` in error messages) under `mode`.
    pub fn new(
        file: Box<dyn SequentialFile>,
        name: impl Into<String>,
        mode: WalRecoveryMode,
    ) -> Self {
        Reader {
            file,
            mode,
            name: name.into(),
            backing: vec![0; BLOCK_SIZE],
            start: 0,
            end: 0,
            end_offset: 0,
            eof: false,
            ahead_zeros: 0,
            ahead: Vec::new(),
            ahead_pos: 0,
            file_eof: false,
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
        let mut in_fragmented = false;
        let mut fragmented_offset = 0;
        loop {
            match self.read_physical()? {
                Physical::Fragment {
                    kind,
                    start,
                    end,
                    offset,
                } => {
                    let payload = start..end;
                    match kind {
                        RecordType::Full | RecordType::First => {
                            if in_fragmented {
                                let dropped = out.len() as u64;
                                out.clear();
                                let c = self.corruption(
                                    CorruptionKind::FragmentOutOfOrder,
                                    fragmented_offset,
                                    dropped,
                                    "partial record without end",
                                );
                                if self.damage(c)? == Flow::Stop {
                                    return Ok(false);
                                }
                            }
                            out.extend_from_slice(&self.backing[payload]);
                            if kind == RecordType::Full {
                                self.last_record_offset = offset;
                                return Ok(true);
                            }
                            in_fragmented = true;
                            fragmented_offset = offset;
                        }
                        RecordType::Middle | RecordType::Last => {
                            if !in_fragmented {
                                let c = self.corruption(
                                    CorruptionKind::FragmentOutOfOrder,
                                    offset,
                                    (end - start) as u64,
                                    "missing start of fragmented record",
                                );
                                if self.damage(c)? == Flow::Stop {
                                    return Ok(false);
                                }
                                continue;
                            }
                            out.extend_from_slice(&self.backing[payload]);
                            if kind == RecordType::Last {
                                self.last_record_offset = fragmented_offset;
                                return Ok(true);
                            }
                        }
                        RecordType::Zero => unreachable_zero(),
                    }
                }
                Physical::Eof => {
                    if in_fragmented {
                        // The writer died between fragments: the record was never whole, so it
                        // was never acknowledged. Silent except where the mode wants to know.
                        let c = self.corruption(
                            CorruptionKind::PartialRecordAtEof,
                            fragmented_offset,
                            out.len() as u64,
                            "the file ends inside a fragmented record",
                        );
                        out.clear();
                        self.damage(c)?;
                    }
                    return Ok(false);
                }
                Physical::Damage(mut c) => {
                    if !in_fragmented {
                        if self.damage(c)? == Flow::Stop {
                            return Ok(false);
                        }
                        continue;
                    }
                    // The record being assembled is lost with the damaged fragment.
                    in_fragmented = false;
                    let partial = out.len() as u64;
                    out.clear();
                    if c.kind.is_tail() {
                        c.offset = fragmented_offset;
                        c.bytes_dropped += partial;
                        self.damage(c)?;
                        return Ok(false);
                    }
                    if self.damage(c)? == Flow::Stop {
                        return Ok(false);
                    }
                    let c = self.corruption(
                        CorruptionKind::FragmentOutOfOrder,
                        fragmented_offset,
                        partial,
                        "error in middle of record",
                    );
                    if self.damage(c)? == Flow::Stop {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Applies the recovery mode to damage found by the caller (e.g. a record that is not a
    /// valid batch) or by the reader itself.
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

    fn offset_of(&self, index: usize) -> u64 {
        self.end_offset - (self.end - index) as u64
    }

    fn read_physical(&mut self) -> Result<Physical> {
        loop {
            let avail = self.end - self.start;
            if avail < HEADER_SIZE {
                if !self.eof {
                    // Whatever is left is a block trailer (zero padding): skip it.
                    self.fill_block()?;
                    continue;
                }
                if is_zero(&self.backing[self.start..self.end]) {
                    // Nothing, or the zeros of allocated space (or of a block trailer).
                    self.start = self.end;
                    return Ok(Physical::Eof);
                }
                let offset = self.offset_of(self.start);
                self.start = self.end;
                return Ok(Physical::Damage(self.corruption(
                    CorruptionKind::TruncatedHeader,
                    offset,
                    avail as u64,
                    "the file ends inside a record header",
                )));
            }
            let h = &self.backing[self.start..self.start + HEADER_SIZE];
            let stored_crc = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let length = usize::from(u16::from_le_bytes([h[4], h[5]]));
            let type_byte = h[6];
            let offset = self.offset_of(self.start);

            if type_byte == 0 && length == 0 && stored_crc == 0 {
                // Zeros: the end of the log if everything up to the end of the file is zeros.
                return self.zeros(offset);
            }
            if HEADER_SIZE + length > avail {
                if self.eof {
                    self.start = self.end;
                    return Ok(Physical::Damage(self.corruption(
                        CorruptionKind::TruncatedRecord,
                        offset,
                        avail as u64,
                        format!("a {length}-byte record runs past the end of the file"),
                    )));
                }
                return self.damaged_fragment(
                    self.end,
                    CorruptionKind::BadRecordLength,
                    format!("bad record length: a {length}-byte record overruns its block"),
                );
            }
            let record_end = self.start + HEADER_SIZE + length;
            let actual = record_crc(&self.backing[self.start + 6..record_end]);
            if actual != stored_crc {
                // The length itself may be what is damaged, so nothing after it in this block
                // can be trusted.
                return self.damaged_fragment(
                    record_end,
                    CorruptionKind::ChecksumMismatch,
                    format!(
                        "checksum mismatch: stored {stored_crc:#010x}, computed {actual:#010x}"
                    ),
                );
            }
            let payload_start = self.start + HEADER_SIZE;
            self.start = record_end;
            return Ok(match RecordType::from_byte(type_byte) {
                Some(kind) if kind != RecordType::Zero => Physical::Fragment {
                    kind,
                    start: payload_start,
                    end: record_end,
                    offset,
                },
                _ => Physical::Damage(self.corruption(
                    CorruptionKind::BadRecordType,
                    offset,
                    length as u64,
                    format!("unknown record type {type_byte}"),
                )),
            });
        }
    }

    /// The fragment at `self.start`, which extends to `backing[fragment_end]`, is damaged. It is
    /// a torn write (`ZeroedTail`, tail damage) only on evidence a written record cannot leave:
    /// a whole sector of it is zeros (a sector-aligned span up to the next sector boundary or
    /// the fragment's end: what a write that never reached the disk, or a page the kernel never
    /// wrote back, leaves in allocated space), and no intact record starts anywhere after it
    /// (a torn write is the last one). Otherwise it is `kind`, and the rest of the block is
    /// dropped with it.
    fn damaged_fragment(
        &mut self,
        fragment_end: usize,
        kind: CorruptionKind,
        detail: String,
    ) -> Result<Physical> {
        let offset = self.offset_of(self.start);
        if let Some(sector) = self.zeroed_sector(self.start, fragment_end) {
            if !self.record_starts_after(self.start + 1)? {
                let dropped = self.drop_to_eof();
                return Ok(Physical::Damage(self.corruption(
                    CorruptionKind::ZeroedTail,
                    offset,
                    dropped,
                    format!(
                        "a torn write: the sector at offset {sector} inside this record is \
                         zeros, and no intact record follows ({detail})"
                    ),
                )));
            }
        }
        let dropped = (self.end - self.start) as u64;
        self.start = self.end;
        Ok(Physical::Damage(
            self.corruption(kind, offset, dropped, detail),
        ))
    }

    /// The file offset of the first sector-aligned span of `backing[from..to]` that is all
    /// zeros up to the next sector boundary or `to`, if any. Blocks start at multiples of
    /// `BLOCK_SIZE`, so an index is sector-aligned exactly when its file offset is.
    fn zeroed_sector(&self, from: usize, to: usize) -> Option<u64> {
        let mut at = from.div_ceil(SECTOR) * SECTOR;
        while at < to {
            let end = (at + SECTOR).min(to);
            if is_zero(&self.backing[at..end]) {
                return Some(self.offset_of(at));
            }
            at += SECTOR;
        }
        None
    }

    /// Handles a zero header at `offset`: the end of the log if the rest of the file is zeros
    /// (allocated space; a fragmented record left open there is a torn tail). A writer never
    /// writes a zero header, so zeros there followed by data are a torn write (`ZeroedTail`)
    /// when no intact record starts after them: what is left are pieces of the last append,
    /// stored out of order (page writeback, a copy into a mapping). Otherwise it is damage, and
    /// the rest of this block is dropped (the next block is read again from its start, so
    /// records there survive in skip-any mode).
    fn zeros(&mut self, offset: u64) -> Result<Physical> {
        if self.zeros_to_eof(self.start)? {
            self.drop_to_eof();
            return Ok(Physical::Eof);
        }
        if !self.record_starts_after(self.start + 1)? {
            let dropped = self.drop_to_eof();
            return Ok(Physical::Damage(self.corruption(
                CorruptionKind::ZeroedTail,
                offset,
                dropped,
                "a torn write: zeros where a record header belongs, then no intact record up \
                 to the end of the file",
            )));
        }
        let dropped = (self.end - self.start) as u64;
        self.start = self.end;
        Ok(Physical::Damage(self.corruption(
            CorruptionKind::BadRecordType,
            offset,
            dropped,
            "zeroed bytes followed by data",
        )))
    }

    /// True if an intact fragment that starts a record (FULL or FIRST, checksum valid) begins
    /// at `backing[from..]` or anywhere later in the file. Reads ahead block by block until it
    /// finds one (what it reads is parsed later), so damage followed by intact records costs a
    /// block or so of reading; only a torn tail is read to the end of the file.
    fn record_starts_after(&mut self, from: usize) -> Result<bool> {
        if has_record_start(&self.backing[..self.end], from) {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        // What follows the current block, from a block boundary: the zeros and bytes already
        // read ahead, then the rest of the file.
        let mut rest = std::mem::take(&mut self.ahead);
        rest.drain(..self.ahead_pos);
        if self.ahead_zeros > 0 {
            rest.splice(0..0, std::iter::repeat(0).take(self.ahead_zeros));
        }
        self.ahead_pos = 0;
        self.ahead_zeros = 0;
        let mut scanned = 0;
        let mut chunk = vec![0u8; BLOCK_SIZE];
        let found = 'scan: loop {
            while rest.len() - scanned >= BLOCK_SIZE {
                if has_record_start(&rest[scanned..scanned + BLOCK_SIZE], 0) {
                    break 'scan true;
                }
                scanned += BLOCK_SIZE;
            }
            if self.file_eof {
                break has_record_start(&rest[scanned..], 0);
            }
            let n = match self.read_file(&mut chunk) {
                Ok(n) => n,
                Err(e) => {
                    self.ahead = rest;
                    return Err(e);
                }
            };
            if n == 0 {
                self.file_eof = true;
            }
            rest.extend_from_slice(&chunk[..n]);
        };
        self.ahead = rest;
        Ok(found)
    }

    /// True if `backing[from..end]` and everything after it in the file are zeros. Reads ahead
    /// without consuming: what it reads is parsed later if it turns out not to be zeros.
    fn zeros_to_eof(&mut self, from: usize) -> Result<bool> {
        if !is_zero(&self.backing[from..self.end]) {
            return Ok(false);
        }
        if self.eof {
            return Ok(true);
        }
        if !is_zero(&self.ahead[self.ahead_pos..]) {
            return Ok(false);
        }
        self.ahead_zeros += self.ahead.len() - self.ahead_pos;
        self.ahead.clear();
        self.ahead_pos = 0;
        let mut chunk = vec![0u8; BLOCK_SIZE];
        while !self.file_eof {
            let n = self.read_file(&mut chunk)?;
            if n == 0 {
                self.file_eof = true;
                break;
            }
            if !is_zero(&chunk[..n]) {
                self.ahead.extend_from_slice(&chunk[..n]);
                return Ok(false);
            }
            self.ahead_zeros += n;
        }
        Ok(true)
    }

    /// Consumes the rest of the file (after [`zeros_to_eof`](Self::zeros_to_eof) said it is
    /// all zeros); returns how many bytes that was.
    fn drop_to_eof(&mut self) -> u64 {
        let ahead = self.ahead_zeros + self.ahead.len() - self.ahead_pos;
        self.end_offset += ahead as u64;
        self.ahead_zeros = 0;
        self.ahead.clear();
        self.ahead_pos = 0;
        let dropped = (self.end - self.start + ahead) as u64;
        self.start = self.end;
        self.eof = true;
        dropped
    }

    fn read_file(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.file
            .read(buf)
            .map_err(|e| Error::io(format!("reading WAL {}", self.name), e))
    }

    fn fill_block(&mut self) -> Result<()> {
        self.start = 0;
        self.end = 0;
        while self.end < BLOCK_SIZE {
            let n = if self.ahead_zeros > 0 {
                let n = self.ahead_zeros.min(BLOCK_SIZE - self.end);
                self.backing[self.end..self.end + n].fill(0);
                self.ahead_zeros -= n;
                n
            } else if self.ahead_pos < self.ahead.len() {
                let n = (self.ahead.len() - self.ahead_pos).min(BLOCK_SIZE - self.end);
                self.backing[self.end..self.end + n]
                    .copy_from_slice(&self.ahead[self.ahead_pos..self.ahead_pos + n]);
                self.ahead_pos += n;
                n
            } else if self.file_eof {
                0
            } else {
                let mut backing = std::mem::take(&mut self.backing);
                let n = self.read_file(&mut backing[self.end..]);
                self.backing = backing;
                let n = n?;
                self.file_eof = n == 0;
                n
            };
            if n == 0 {
                break;
            }
            self.end += n;
        }
        self.end_offset += self.end as u64;
        if self.end < BLOCK_SIZE {
            self.eof = true;
        }
        Ok(())
    }
}

/// True if an intact fragment of type FULL or FIRST starts at or after `from` in `block`, a
/// whole block (or the file's last, short one) starting at a block boundary. Fragments never
/// cross a block boundary, so every candidate lies within it.
fn has_record_start(block: &[u8], from: usize) -> bool {
    let mut p = from;
    while p + HEADER_SIZE <= block.len() {
        let h = &block[p..p + HEADER_SIZE];
        let kind = h[6];
        if kind == RecordType::Full as u8 || kind == RecordType::First as u8 {
            let length = usize::from(u16::from_le_bytes([h[4], h[5]]));
            let end = p + HEADER_SIZE + length;
            if end <= block.len() {
                let stored = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                if record_crc(&block[p + 6..end]) == stored {
                    return true;
                }
            }
        }
        p += 1;
    }
    false
}

/// True if every byte of `s` is zero. ORs whole chunks (which vectorizes) and stops at the
/// first chunk that is not zero: a damaged tail is scanned at memory speed.
fn is_zero(s: &[u8]) -> bool {
    s.chunks(4096)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

fn unreachable_zero() {
    // read_physical never returns a Zero fragment; nothing to do if it ever did.
}
