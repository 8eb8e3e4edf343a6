//! A torn tail at every byte offset of a multi-block log, under every recovery mode.
//!
//! Two logs (FULL records, an empty one, one fragmented FIRST/MIDDLE/LAST across three blocks;
//! and one whose first block ends in a short zero trailer) are damaged at each byte offset in
//! three ways: truncated there,
//! zeroed from there to the end (a file system that extended the file but never wrote the data),
//! and overwritten from there to the end with random bytes. Every damaged file is read under all
//! four modes, and the outcome must be exactly:
//!
//! | damage | tolerate | absolute | point in time | skip any |
//! |---|---|---|---|---|
//! | truncation | intact prefix | prefix, then `Corruption` if a record was cut | intact prefix | intact prefix |
//! | zeros | intact prefix, then `Corruption` unless the zeros cover a sector of the cut record | prefix, then `Corruption` if a record was cut | intact prefix | intact prefix |
//! | garbage | intact prefix, then maybe `Corruption` | prefix, then `Corruption` if a byte changed | intact prefix | intact prefix |
//!
//! where the *intact prefix* is every record that lies wholly before the first changed byte, and
//! point in time reports where it stopped exactly when the file was damaged. A truncation
//! that lands exactly on a record boundary cannot be told from a shorter log: every mode
//! returns the records before it, without error (RocksDB's documented limitation). Zeros from
//! a record boundary to the end of the file are the same: the end of the log (the writer
//! allocates zeroed space ahead of its records). Zeros from inside a record are a torn write
//! only if they cover a sector-aligned span of it (`docs/wal-format.md`): a value may end in
//! zeros of its own.
//!
//! Then the tears out-of-order writeback leaves: a hole (a zeroed sector or page) inside the
//! last record, its later bytes in place, zeros after; and a zeroed header with pieces of the
//! record after it (a copy that stores a chunk's first bytes last, killed mid-way).

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::io;
use std::sync::Arc;

use groupkv::fs::{SequentialFile, WritableFile};
use groupkv::wal::format::{RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};
use groupkv::wal::{Reader, Writer};
use groupkv::{Error, WalRecoveryMode};

#[derive(Default)]
struct Dest(Arc<std::sync::Mutex<Vec<u8>>>);

impl WritableFile for Dest {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.lock().expect("dest").extend_from_slice(data);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Damage {
    Truncate,
    Zeros,
    Garbage,
}

/// The damaged file, served without copying it: `clean[..from]`, then (for zeros and garbage)
/// the replacement bytes up to the original length.
struct Damaged {
    clean: Arc<Vec<u8>>,
    garbage: Arc<Vec<u8>>,
    from: usize,
    damage: Damage,
    pos: usize,
}

impl Damaged {
    fn len(&self) -> usize {
        match self.damage {
            Damage::Truncate => self.from,
            Damage::Zeros | Damage::Garbage => self.clean.len(),
        }
    }
}

impl SequentialFile for Damaged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.len() - self.pos);
        let out = &mut buf[..n];
        let (end, pos) = (self.pos + n, self.pos);
        // The intact part, then the replacement.
        let split = self.from.clamp(pos, end);
        out[..split - pos].copy_from_slice(&self.clean[pos..split]);
        match self.damage {
            Damage::Truncate => {}
            Damage::Zeros => out[split - pos..].fill(0),
            Damage::Garbage => out[split - pos..].copy_from_slice(&self.garbage[split..end]),
        }
        self.pos = end;
        Ok(n)
    }
}

struct Log {
    clean: Arc<Vec<u8>>,
    records: Vec<Vec<u8>>,
    /// Where each record's last byte ends (exclusive).
    ends: Vec<usize>,
    garbage: Arc<Vec<u8>>,
}

/// Bytes a writer produces for records of these payload sizes.
fn framed_len(sizes: &[usize]) -> usize {
    let dest = Dest::default();
    let mut w = Writer::new(Box::new(Dest(dest.0.clone())));
    for &s in sizes {
        w.add_record(&[&vec![b'x'; s]]).expect("append");
    }
    let len = dest.0.lock().expect("dest").len();
    len
}

#[derive(Clone, Copy)]
enum Layout {
    /// Small FULL records, an empty one, then one record in three fragments: FIRST (end of
    /// block 0), MIDDLE (all of block 1), LAST (start of block 2); then a 1-byte record.
    Fragmented,
    /// Block 0 ends in a 3-byte zero trailer; the next record starts block 1.
    Trailer,
}

fn build(layout: Layout) -> Log {
    let sizes = match layout {
        Layout::Fragmented => vec![20, 0, 5, 2 * BLOCK_SIZE - 40, 1],
        Layout::Trailer => {
            let mut sizes = vec![10, 0];
            sizes.push(BLOCK_SIZE - framed_len(&sizes) - HEADER_SIZE - 3);
            sizes.push(9);
            sizes.push(2);
            sizes
        }
    };
    let dest = Dest::default();
    let mut w = Writer::new(Box::new(Dest(dest.0.clone())));
    let mut records = Vec::new();
    let mut ends = Vec::new();
    for (i, &s) in sizes.iter().enumerate() {
        let r: Vec<u8> = (0..s).map(|j| (i * 31 + j * 7 + 1) as u8).collect();
        w.add_record(&[&r]).expect("append");
        ends.push(dest.0.lock().expect("dest").len());
        records.push(r);
    }
    let clean = dest.0.lock().expect("dest").clone();
    match layout {
        Layout::Fragmented => {
            assert!(clean.len() > 2 * BLOCK_SIZE, "spans three blocks");
            assert_eq!(clean[BLOCK_SIZE + 6], RecordType::Middle as u8);
            assert_eq!(clean[2 * BLOCK_SIZE + 6], RecordType::Last as u8);
        }
        Layout::Trailer => assert_eq!(ends[2], BLOCK_SIZE - 3, "a 3-byte trailer"),
    }

    // xorshift64: reproducible garbage.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let garbage = (0..clean.len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    Log {
        clean: Arc::new(clean),
        records,
        ends,
        garbage: Arc::new(garbage),
    }
}

/// Reads `file` under `mode`, checking each record against `log.records` in order as it
/// comes. Returns how many records came back, the end (`Err` on a rejected file), and whether
/// point in time reported a stop.
fn read(log: &Log, file: Damaged, mode: WalRecoveryMode) -> (usize, Result<(), Error>, bool) {
    let (from, damage) = (file.from, file.damage);
    let mut reader = Reader::new(Box::new(file), "torn.log", mode);
    let mut out = Vec::new();
    let mut n = 0;
    let end = loop {
        match reader.read_record(&mut out) {
            Ok(true) => {
                assert!(
                    n < log.records.len() && out == log.records[n],
                    "{mode}, {damage:?} from {from}: record {n} was never written"
                );
                n += 1;
            }
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    (n, end, reader.stopped_at().is_some())
}

fn run(layout: Layout, damage: Damage) -> usize {
    let log = build(layout);
    let len = log.clean.len();
    // first_change[p]: the first offset >= p whose byte the damage changes (len if none).
    let mut first_change = vec![len; len + 1];
    for p in (0..len).rev() {
        let differs = match damage {
            Damage::Truncate => true,
            Damage::Zeros => log.clean[p] != 0,
            Damage::Garbage => log.clean[p] != log.garbage[p],
        };
        first_change[p] = if differs { p } else { first_change[p + 1] };
    }
    // Where a log can end and still be well formed: at 0, after a record, and after a record
    // plus all or part of the zero trailer that completes its block (the writer appends the
    // trailer with the next record, so a crash can leave some of it).
    let mut boundaries = vec![0];
    for &e in &log.ends {
        boundaries.push(e);
        let left = BLOCK_SIZE - e % BLOCK_SIZE;
        if left < HEADER_SIZE {
            boundaries.extend(e + 1..=e + left);
        }
    }
    let mut checked = 0;
    for (from, &changed) in first_change.iter().enumerate() {
        let intact = log.ends.iter().take_while(|&&e| e <= changed).count();
        // Truncating on a boundary (or not at all), or zeroing from one, leaves a well-formed,
        // shorter log.
        let damaged = match damage {
            Damage::Truncate => !boundaries.contains(&from),
            Damage::Zeros => changed < len && !boundaries.contains(&changed),
            Damage::Garbage => changed < len,
        };
        for mode in WalRecoveryMode::ALL {
            let file = Damaged {
                clean: log.clean.clone(),
                garbage: log.garbage.clone(),
                from,
                damage,
                pos: 0,
            };
            let (n, end, stopped) = read(&log, file, mode);
            let at = format!("{mode}, {damage:?} from {from} (first change at {changed})");
            assert_eq!(n, intact, "{at}: records returned");
            match (mode, damaged) {
                (_, false) => {
                    assert!(end.is_ok(), "{at}: a well-formed log: {end:?}");
                    assert!(!stopped, "{at}: nothing to report");
                }
                (WalRecoveryMode::AbsoluteConsistency, true) => {
                    assert!(
                        matches!(end, Err(Error::Corruption { .. })),
                        "{at}: absolute consistency rejects damage: {end:?}"
                    );
                }
                (WalRecoveryMode::TolerateCorruptedTailRecords, true) => match damage {
                    Damage::Truncate => {
                        assert!(end.is_ok(), "{at}: a torn tail is tolerated: {end:?}")
                    }
                    // Zeros are a torn write only if they cover a sector-aligned span of the
                    // damaged fragment; from anywhere else they could be a value's own zeros
                    // after damage elsewhere: a checksum mismatch, refused.
                    Damage::Zeros if zeroed_sector_in_fragment(&log.clean, from, changed) => {
                        assert!(end.is_ok(), "{at}: a torn tail is tolerated: {end:?}")
                    }
                    Damage::Zeros => assert!(
                        matches!(&end, Err(Error::Corruption { message })
                            if message.contains("ChecksumMismatch")),
                        "{at}: zeros that cover no sector of the record are refused: {end:?}"
                    ),
                    // Garbage that is not a torn write (a checksum mismatch) fails, as in
                    // RocksDB; garbage that reads as a truncated record is tolerated.
                    Damage::Garbage => assert!(
                        matches!(end, Ok(()) | Err(Error::Corruption { .. })),
                        "{at}: {end:?}"
                    ),
                },
                (WalRecoveryMode::PointInTime, true) => {
                    assert!(end.is_ok(), "{at}: {end:?}");
                    assert!(stopped, "{at}: point in time reports where it stopped");
                }
                (_, true) => assert!(end.is_ok(), "{at}: {end:?}"),
            }
            checked += 1;
        }
    }
    checked
}

/// For a log zeroed from `from` to its end, whose first changed byte is `changed`: whether the
/// fragment holding `changed`, as its (possibly zeroed) header describes it, has a
/// sector-aligned span that is all zeros up to the next sector boundary or its end.
fn zeroed_sector_in_fragment(clean: &[u8], from: usize, changed: usize) -> bool {
    let mut d = 0;
    let (d, clean_end) = loop {
        if BLOCK_SIZE - d % BLOCK_SIZE < HEADER_SIZE {
            d += BLOCK_SIZE - d % BLOCK_SIZE;
            continue;
        }
        let e = d + HEADER_SIZE + usize::from(u16::from_le_bytes([clean[d + 4], clean[d + 5]]));
        if changed < e {
            break (d, e);
        }
        d = e;
    };
    // The length as the reader sees it: each of its bytes at or after `from` is zero.
    let byte = |i: usize| if i >= from { 0 } else { clean[i] };
    let end = d + HEADER_SIZE + usize::from(u16::from_le_bytes([byte(d + 4), byte(d + 5)]));
    assert!(end <= clean_end);
    // Zeros run from `z` to the end of the damaged file.
    let mut z = from;
    while z > 0 && clean[z - 1] == 0 {
        z -= 1;
    }
    z.max(d).div_ceil(SECTOR) * SECTOR < end
}

fn every_offset(damage: Damage) {
    let checked = run(Layout::Fragmented, damage);
    assert!(checked > 4 * 2 * BLOCK_SIZE);
    let checked = run(Layout::Trailer, damage);
    assert!(checked > 4 * BLOCK_SIZE);
}

#[test]
fn truncated_at_every_offset() {
    every_offset(Damage::Truncate);
}

#[test]
fn zeroed_from_every_offset() {
    every_offset(Damage::Zeros);
}

#[test]
fn garbage_from_every_offset() {
    every_offset(Damage::Garbage);
}

#[test]
fn tolerate_rejects_a_garbage_tail_somewhere() {
    // The garbage case above allows tolerate to fail; make sure that is a real outcome (a
    // checksum mismatch in the last record) and not something that never happens.
    let log = build(Layout::Trailer);
    let from = log.ends[log.ends.len() - 2] + HEADER_SIZE + 1; // inside the last payload
    let file = Damaged {
        clean: log.clean.clone(),
        garbage: log.garbage.clone(),
        from,
        damage: Damage::Garbage,
        pos: 0,
    };
    let (n, end, _) = read(&log, file, WalRecoveryMode::TolerateCorruptedTailRecords);
    assert_eq!(n, log.records.len() - 1);
    match end {
        Err(Error::Corruption { message }) => assert!(message.contains("ChecksumMismatch")),
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
}

/// Reads `bytes` under every mode and checks the outcome of a torn last record: `intact`
/// records, then tail damage (tolerated, refused by absolute consistency, a reported stop for
/// point in time, silent for skip any).
fn assert_torn_last_record(bytes: &[u8], intact: &[Vec<u8>], what: &str) {
    for mode in WalRecoveryMode::ALL {
        let mut reader = Reader::new(
            Box::new(Damaged {
                clean: Arc::new(bytes.to_vec()),
                garbage: Arc::new(Vec::new()),
                from: bytes.len(),
                damage: Damage::Truncate,
                pos: 0,
            }),
            "torn.log",
            mode,
        );
        let mut out = Vec::new();
        let mut got = Vec::new();
        let end = loop {
            match reader.read_record(&mut out) {
                Ok(true) => got.push(out.clone()),
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        assert!(
            got == intact,
            "{mode}, {what}: the intact records, nothing else"
        );
        match mode {
            WalRecoveryMode::AbsoluteConsistency => assert!(
                matches!(&end, Err(Error::Corruption { message }) if message.contains("ZeroedTail")),
                "{mode}, {what}: {end:?}"
            ),
            WalRecoveryMode::PointInTime => {
                assert!(end.is_ok(), "{mode}, {what}: {end:?}");
                let kind = reader.stopped_at().map(|c| c.kind);
                assert_eq!(
                    kind,
                    Some(groupkv::wal::CorruptionKind::ZeroedTail),
                    "{what}"
                );
            }
            _ => assert!(
                end.is_ok(),
                "{mode}, {what}: a torn tail is silent: {end:?}"
            ),
        }
    }
}

/// Three small records, then a 9000-byte one (three 4 KiB pages and more): the clean bytes,
/// the records, and where the last one starts.
fn with_long_last_record() -> (Vec<u8>, Vec<Vec<u8>>, usize) {
    let dest = Dest::default();
    let mut w = Writer::new(Box::new(Dest(dest.0.clone())));
    let mut records = Vec::new();
    for i in 0..3u8 {
        records.push(vec![i + 1; 100 + usize::from(i)]);
        w.add_record(&[records.last().expect("record")])
            .expect("append");
    }
    let start = dest.0.lock().expect("dest").len();
    let last: Vec<u8> = (0..9000).map(|j| (j * 13 % 251 + 1) as u8).collect();
    w.add_record(&[&last]).expect("append");
    let clean = dest.0.lock().expect("dest").clone();
    (clean, records, start)
}

#[test]
fn a_hole_then_data_then_zeros_in_the_last_record_is_a_torn_tail() {
    // Page writeback in any order, then power loss: any sector or page of the last record may
    // be missing (zeros: allocated space), the bytes after it in place, zeros after the record.
    let (clean, intact, start) = with_long_last_record();
    let end = clean.len();
    let mut holes = 0;
    for unit in [SECTOR, 4096] {
        let mut at = start.div_ceil(unit) * unit;
        while at < end {
            let mut b = clean.clone();
            b[at..(at + unit).min(end)].fill(0);
            b.resize(end + 8192, 0);
            assert_torn_last_record(&b, &intact, &format!("a {unit}-byte hole at {at}"));
            holes += 1;
            at += unit;
        }
    }
    // Two holes with data between, and the record's own last sector missing too.
    let mut b = clean.clone();
    b[1024..1536].fill(0);
    b[4096..8192].fill(0);
    b[end / SECTOR * SECTOR..end].fill(0);
    b.resize(end + 8192, 0);
    assert_torn_last_record(&b, &intact, "two holes and a missing end");
    assert!(holes >= 20, "{holes}");
}

#[test]
fn a_hole_covering_no_sector_is_not_a_torn_tail() {
    // The same record with zeros that cover no whole sector (a value's own zeros, with a bit
    // flipped elsewhere): a checksum mismatch, which tolerate refuses.
    let (clean, _, start) = with_long_last_record();
    let end = clean.len();
    let mut b = clean.clone();
    b[start + 710..start + 1000].fill(0); // inside one sector of the file
    assert_eq!((start + 710) / SECTOR, (start + 999) / SECTOR);
    b[end - 1] = 0;
    b.resize(end + 8192, 0);
    let mut reader = Reader::new(
        Box::new(Damaged {
            clean: Arc::new(b.clone()),
            garbage: Arc::new(Vec::new()),
            from: b.len(),
            damage: Damage::Truncate,
            pos: 0,
        }),
        "torn.log",
        WalRecoveryMode::TolerateCorruptedTailRecords,
    );
    let mut out = Vec::new();
    let end = loop {
        match reader.read_record(&mut out) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    assert!(
        matches!(&end, Err(Error::Corruption { message }) if message.contains("ChecksumMismatch")),
        "{end:?}"
    );
}

#[test]
fn a_copy_torn_with_its_header_unstored_is_a_torn_tail() {
    // glibc's memmove stores the first vector of a 0.5-4 KiB copy last: a process killed
    // mid-copy into a mapping leaves the header zero, part of the payload stored (the 4-vector
    // loop runs upwards from the next vector-aligned address), zeros after.
    let (clean, intact, start) = with_long_last_record();
    let chunk_end = (start / 4096 + 1) * 4096;
    let mut cases = 0;
    for vec in [32usize, 64] {
        let loop_start = (start | (vec - 1)) + 1;
        let mut k = 1;
        while loop_start + k * 4 * vec < chunk_end - 1 {
            let mut b = clean[..start].to_vec();
            b.resize(start + 64 * 1024, 0);
            let stored = loop_start..loop_start + k * 4 * vec;
            b[stored.clone()].copy_from_slice(&clean[stored]);
            assert_torn_last_record(&b, &intact, &format!("VEC {vec}, {k} loop iterations"));
            cases += 1;
            k += 1;
        }
    }
    assert!(cases > 10, "{cases}");
}
