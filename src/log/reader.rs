//! Reads logical records back from a log file, with no recovery policy inside.
//!
//! [`Reader::read_record`] returns one [`Outcome`] per call: a record (with the file offsets
//! it spans), a piece of [`Damage`], or the end. Damage is reported, never acted upon: the
//! caller decides whether it ends the file, fails an open, or is skipped, and calls again to
//! read on past it (the reader resynchronizes at the next intact fragment, as LevelDB's does).
//!
//! The log ends at the end of the file, or where zeros run from a record boundary to the end of
//! the file: space a writer allocated ahead of its records, or that a crash left unwritten.
//!
//! Damage comes in two classes ([`DamageKind::is_tail`]). *Tail* damage is what a crash leaves
//! at the end of the last write: a truncated header, a record whose length runs past the end of
//! the file, a fragmented record with no LAST fragment, or a torn write into allocated space,
//! decided from structure, never from a byte's value (`ZeroedTail`: a damaged fragment with a
//! zeroed sector-aligned span, or a zero header followed by data, and in both cases no intact
//! record anywhere after; `docs/wal-format.md`, section 5). Nothing is read after tail damage.
//! *Interior* damage is anything else: a checksum mismatch, a length that overruns its block
//! mid-file, an unknown type, zeros followed by an intact record, fragments out of order.
//!
//! Only an I/O error reading the file is an `Err`; no byte string makes the reader panic.

use std::collections::VecDeque;
use std::fmt;

use super::format::{Checksum, RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};
use crate::error::{Error, Result};
use crate::fs::SequentialFile;

/// What kind of damage was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
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
}

impl DamageKind {
    /// Damage a crash in the middle of a write can leave at the end of a file (nothing
    /// follows it).
    pub fn is_tail(self) -> bool {
        matches!(
            self,
            DamageKind::TruncatedHeader
                | DamageKind::TruncatedRecord
                | DamageKind::PartialRecordAtEof
                | DamageKind::ZeroedTail
        )
    }
}

/// Damage found at a file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// What kind of damage.
    pub kind: DamageKind,
    /// File offset where the damaged piece starts.
    pub offset: u64,
    /// How many bytes the reader dropped because of it.
    pub bytes_dropped: u64,
    /// Details.
    pub detail: String,
    /// The damaged fragment, by its own length, ends exactly where the file ends: nothing was
    /// written after it. A crash that tore the last write (a whole record with a damaged last
    /// byte) looks like this; so does damage to the last record of a file.
    pub ends_at_eof: bool,
}

impl Damage {
    /// A `Corruption` error naming `file` and the offset.
    pub fn to_error(&self, file: &str) -> Error {
        Error::corruption(format!("{file}: {self}"))
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} at offset {} ({} bytes dropped): {}",
            self.kind, self.offset, self.bytes_dropped, self.detail
        )
    }
}

/// The result of one [`Reader::read_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A logical record, now in the caller's buffer; it spans the file bytes
    /// `offset..end` (headers and trailers included).
    Record {
        /// Where its first fragment's header starts.
        offset: u64,
        /// Just past its last fragment.
        end: u64,
    },
    /// Damage; calling again reads on past it (after tail damage, only [`Outcome::End`]
    /// follows).
    Damage(Damage),
    /// No more records. Every later call returns `End` too.
    End,
}

enum Physical {
    /// A fragment; its payload is `backing[start..end]`, its header at file offset `offset`.
    Fragment {
        kind: RecordType,
        start: usize,
        end: usize,
        offset: u64,
    },
    Eof,
    Damage(Damage),
}

/// Reads logical records from one log file.
pub struct Reader {
    file: Box<dyn SequentialFile>,
    /// The file's name, for I/O error messages.
    name: String,
    checksum: Checksum,
    backing: Vec<u8>,
    /// Unread part of the current block: `backing[start..end]`.
    start: usize,
    end: usize,
    /// The file offset of `backing[end]`.
    end_offset: u64,
    /// The current block is the last one (the file has nothing after `backing[end]`).
    eof: bool,
    /// Bytes read past the current block while looking for the end of a zeroed tail, not yet
    /// parsed: `ahead_zeros` zeros, then `ahead[ahead_pos..]`.
    ahead_zeros: usize,
    ahead: Vec<u8>,
    ahead_pos: usize,
    /// The file itself returned end-of-file.
    file_eof: bool,
    /// `End` (or an I/O error) was returned: only `End` from now on.
    finished: bool,
    /// The fragments of the record being assembled, and where it started.
    record: Vec<u8>,
    fragmented_at: Option<u64>,
    /// A fragment read but not yet consumed (it followed damage that was reported first).
    held: Option<Physical>,
    /// Damage found together with other damage, returned by the next calls.
    pending: VecDeque<Damage>,
    /// Where the zeros at the end of the file start, if it ends in zeros.
    zeros_at: Option<u64>,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("log::Reader")
            .field("name", &self.name)
            .field("checksum", &self.checksum)
            .field("end_offset", &self.end_offset)
            .field("finished", &self.finished)
            .finish()
    }
}

impl Reader {
    /// A reader of `file`, from its start, checking `checksum`.
    pub fn new(file: Box<dyn SequentialFile>, checksum: Checksum) -> Self {
        Reader {
            file,
            name: String::from("a log file"),
            checksum,
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
            record: Vec::new(),
            fragmented_at: None,
            held: None,
            pending: VecDeque::new(),
            zeros_at: None,
        }
    }

    /// Names the file in I/O error messages (`reading NAME`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Reads the next logical record into `out` (cleared first; left empty unless the outcome
    /// is a record). `Err` only when reading the file fails; after it, or after `End`, every
    /// call returns `End`.
    pub fn read_record(&mut self, out: &mut Vec<u8>) -> Result<Outcome> {
        out.clear();
        if let Some(d) = self.pending.pop_front() {
            return Ok(Outcome::Damage(d));
        }
        if self.finished {
            return Ok(Outcome::End);
        }
        let result = self.next_record(out);
        if matches!(result, Ok(Outcome::End) | Err(_)) {
            out.clear();
            self.finished = true;
        }
        result
    }

    /// Where the zeros that end the file start, if the log ended at a run of zeros (allocated
    /// or never-written space) rather than at the file's end.
    pub fn zeros_at(&self) -> Option<u64> {
        self.zeros_at
    }

    /// The file offset just past the bytes read so far: after [`Outcome::End`], the length of
    /// the file. With it a caller can tell damage that runs to the end of the file (a torn last
    /// write) from damage that records follow.
    pub fn offset(&self) -> u64 {
        self.end_offset + (self.ahead_zeros + self.ahead.len() - self.ahead_pos) as u64
    }

    fn next_record(&mut self, out: &mut Vec<u8>) -> Result<Outcome> {
        loop {
            let physical = match self.held.take() {
                Some(p) => p,
                None => self.read_physical()?,
            };
            match physical {
                Physical::Fragment {
                    kind,
                    start,
                    end,
                    offset,
                } => match kind {
                    RecordType::Full | RecordType::First => {
                        if let Some(at) = self.fragmented_at.take() {
                            // Report the unfinished record; this fragment comes next.
                            self.held = Some(Physical::Fragment {
                                kind,
                                start,
                                end,
                                offset,
                            });
                            let dropped = self.record.len() as u64;
                            self.record.clear();
                            return Ok(Outcome::Damage(damage(
                                DamageKind::FragmentOutOfOrder,
                                at,
                                dropped,
                                "partial record without end",
                            )));
                        }
                        if kind == RecordType::Full {
                            out.extend_from_slice(&self.backing[start..end]);
                            return Ok(Outcome::Record {
                                offset,
                                end: self.offset_of(end),
                            });
                        }
                        self.record.clear();
                        self.record.extend_from_slice(&self.backing[start..end]);
                        self.fragmented_at = Some(offset);
                    }
                    RecordType::Middle | RecordType::Last => {
                        let Some(at) = self.fragmented_at else {
                            return Ok(Outcome::Damage(damage(
                                DamageKind::FragmentOutOfOrder,
                                offset,
                                (end - start) as u64,
                                "missing start of fragmented record",
                            )));
                        };
                        self.record.extend_from_slice(&self.backing[start..end]);
                        if kind == RecordType::Last {
                            self.fragmented_at = None;
                            std::mem::swap(out, &mut self.record);
                            self.record.clear();
                            return Ok(Outcome::Record {
                                offset: at,
                                end: self.offset_of(end),
                            });
                        }
                    }
                    // read_physical never returns a zero-type fragment.
                    RecordType::Zero => {}
                },
                Physical::Eof => {
                    if let Some(at) = self.fragmented_at.take() {
                        // The writer stopped between fragments: the record was never whole.
                        let dropped = self.record.len() as u64;
                        self.record.clear();
                        return Ok(Outcome::Damage(damage(
                            DamageKind::PartialRecordAtEof,
                            at,
                            dropped,
                            "the file ends inside a fragmented record",
                        )));
                    }
                    return Ok(Outcome::End);
                }
                Physical::Damage(mut d) => {
                    let Some(at) = self.fragmented_at.take() else {
                        return Ok(Outcome::Damage(d));
                    };
                    // The record being assembled is lost with the damaged fragment.
                    let partial = self.record.len() as u64;
                    self.record.clear();
                    if d.kind.is_tail() {
                        d.offset = at;
                        d.bytes_dropped += partial;
                        return Ok(Outcome::Damage(d));
                    }
                    self.pending.push_back(damage(
                        DamageKind::FragmentOutOfOrder,
                        at,
                        partial,
                        "error in middle of record",
                    ));
                    return Ok(Outcome::Damage(d));
                }
            }
        }
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
                    if avail > 0 && self.zeros_at.is_none() {
                        self.zeros_at = Some(self.offset_of(self.start));
                    }
                    self.start = self.end;
                    return Ok(Physical::Eof);
                }
                let offset = self.offset_of(self.start);
                self.start = self.end;
                return Ok(Physical::Damage(damage(
                    DamageKind::TruncatedHeader,
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
                return self.zeros(offset);
            }
            if HEADER_SIZE + length > avail {
                if self.eof {
                    self.start = self.end;
                    return Ok(Physical::Damage(damage(
                        DamageKind::TruncatedRecord,
                        offset,
                        avail as u64,
                        format!("a {length}-byte record runs past the end of the file"),
                    )));
                }
                return self.damaged_fragment(
                    self.end,
                    DamageKind::BadRecordLength,
                    format!("a {length}-byte record overruns its block"),
                );
            }
            let record_end = self.start + HEADER_SIZE + length;
            let actual = self
                .checksum
                .record_crc(&self.backing[self.start + 6..record_end]);
            if actual != stored_crc {
                // The length itself may be what is damaged, so nothing after it in this block
                // can be trusted.
                return self.damaged_fragment(
                    record_end,
                    DamageKind::ChecksumMismatch,
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
                _ => Physical::Damage(damage(
                    DamageKind::BadRecordType,
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
    /// (a torn write is the last one). A byte's value is never evidence: a real record may end
    /// in a zero. Otherwise it is `kind`, and the rest of the block is dropped with it.
    fn damaged_fragment(
        &mut self,
        fragment_end: usize,
        kind: DamageKind,
        detail: String,
    ) -> Result<Physical> {
        let offset = self.offset_of(self.start);
        if let Some(sector) = self.zeroed_sector(self.start, fragment_end) {
            if !self.record_starts_after(self.start + 1)? {
                let dropped = self.drop_to_eof();
                return Ok(Physical::Damage(damage(
                    DamageKind::ZeroedTail,
                    offset,
                    dropped,
                    format!(
                        "a torn write: the sector at offset {sector} inside this record is \
                         zeros, and no intact record follows ({detail})"
                    ),
                )));
            }
        }
        let ends_at_eof = fragment_end == self.end && self.eof;
        let dropped = (self.end - self.start) as u64;
        self.start = self.end;
        let mut d = damage(kind, offset, dropped, detail);
        d.ends_at_eof = ends_at_eof;
        Ok(Physical::Damage(d))
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

    /// A zero header at `offset`: the end of the log if the rest of the file is zeros
    /// (allocated space). A writer never writes a zero header, so zeros there followed by data
    /// are a torn write (`ZeroedTail`) when no intact record starts after them: what is left
    /// are pieces of the last append, stored out of order (page writeback, a copy into a
    /// mapping). Otherwise it is damage, and the rest of this block is dropped (the next block
    /// is read again from its start, so records there can still be read).
    fn zeros(&mut self, offset: u64) -> Result<Physical> {
        if self.zeros_to_eof(self.start)? {
            self.drop_to_eof();
            if self.zeros_at.is_none() {
                self.zeros_at = Some(offset);
            }
            return Ok(Physical::Eof);
        }
        if !self.record_starts_after(self.start + 1)? {
            let dropped = self.drop_to_eof();
            return Ok(Physical::Damage(damage(
                DamageKind::ZeroedTail,
                offset,
                dropped,
                "a torn write: zeros where a record header belongs, then no intact record up \
                 to the end of the file",
            )));
        }
        let dropped = (self.end - self.start) as u64;
        self.start = self.end;
        Ok(Physical::Damage(damage(
            DamageKind::BadRecordType,
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
        if has_record_start(self.checksum, &self.backing[..self.end], from) {
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
                if has_record_start(self.checksum, &rest[scanned..scanned + BLOCK_SIZE], 0) {
                    break 'scan true;
                }
                scanned += BLOCK_SIZE;
            }
            if self.file_eof {
                break has_record_start(self.checksum, &rest[scanned..], 0);
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

    /// Consumes the rest of the file (known to be zeros); returns how many bytes that was.
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
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r.map_err(|e| Error::io(format!("reading {}", self.name), e)),
            }
        }
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
fn has_record_start(checksum: Checksum, block: &[u8], from: usize) -> bool {
    let mut p = from;
    while p + HEADER_SIZE <= block.len() {
        let h = &block[p..p + HEADER_SIZE];
        let kind = h[6];
        if kind == RecordType::Full as u8 || kind == RecordType::First as u8 {
            let length = usize::from(u16::from_le_bytes([h[4], h[5]]));
            let end = p + HEADER_SIZE + length;
            if end <= block.len() {
                let stored = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                if checksum.record_crc(&block[p + 6..end]) == stored {
                    return true;
                }
            }
        }
        p += 1;
    }
    false
}

fn damage(kind: DamageKind, offset: u64, bytes_dropped: u64, detail: impl Into<String>) -> Damage {
    Damage {
        kind,
        offset,
        bytes_dropped,
        detail: detail.into(),
        ends_at_eof: false,
    }
}

/// True if every byte of `s` is zero (whole chunks ORed, which vectorizes).
fn is_zero(s: &[u8]) -> bool {
    s.chunks(4096)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}
