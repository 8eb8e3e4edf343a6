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
//! | zeros | intact prefix | prefix, then `Corruption` if a record was cut | intact prefix | intact prefix |
//! | garbage | intact prefix, then maybe `Corruption` | prefix, then `Corruption` if a byte changed | intact prefix | intact prefix |
//!
//! where the *intact prefix* is every record that lies wholly before the first changed byte, and
//! point in time reports where it stopped exactly when the file was damaged. A truncation
//! that lands exactly on a record boundary cannot be told from a shorter log: every mode
//! returns the records before it, without error (RocksDB's documented limitation). Zeros from
//! a record boundary to the end of the file are the same: the end of the log (the writer
//! allocates zeroed space ahead of its records).

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::io;
use std::sync::Arc;

use groupkv::fs::{SequentialFile, WritableFile};
use groupkv::wal::format::{RecordType, BLOCK_SIZE, HEADER_SIZE};
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
                    Damage::Truncate | Damage::Zeros => {
                        assert!(end.is_ok(), "{at}: a torn tail is tolerated: {end:?}")
                    }
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
