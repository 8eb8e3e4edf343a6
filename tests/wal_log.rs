//! The log format, case by case: a port of LevelDB's `db/log_test.cc` to groupkv's WAL reader
//! and writer, extended to RocksDB's four recovery modes.
//!
//! LevelDB's reader reports damage to a callback and keeps reading; in groupkv that is
//! `SkipAnyCorruptedRecords` (whose [`Reader::skipped`] plays the callback). Each damage case
//! therefore checks LevelDB's records and dropped-byte count under that mode, then what the
//! other three modes do with the same bytes (see [`assert_damage`]).

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::io;
use std::sync::{Arc, Mutex};

use groupkv::fs::{SequentialFile, WritableFile};
use groupkv::wal::format::{mask, record_crc, RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};
use groupkv::wal::{Corruption, CorruptionKind, Reader, Writer};
use groupkv::{Error, WalRecoveryMode};

use WalRecoveryMode::{
    AbsoluteConsistency, PointInTime, SkipAnyCorruptedRecords, TolerateCorruptedTailRecords,
};

// ---------------------------------------------------------------------------------------------
// Harness: a Vec-backed file pair, a writer, and a reader that collects everything it saw.

#[derive(Clone, Default)]
struct Dest(Arc<Mutex<Vec<u8>>>);

impl WritableFile for Dest {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.lock().expect("dest lock").extend_from_slice(data);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serves `data` in reads of whatever size the reader asks for; optionally fails one read.
struct Source {
    data: Vec<u8>,
    pos: usize,
    /// The read (0-based) that fails with EIO.
    fail_read: Option<usize>,
    reads: usize,
    /// Return at most this many bytes per read (a file system may return short reads).
    max_read: usize,
}

impl SequentialFile for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let this = self.reads;
        self.reads += 1;
        if self.fail_read == Some(this) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let n = buf.len().min(self.data.len() - self.pos).min(self.max_read);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct Log {
    dest: Dest,
    writer: Writer,
}

impl Log {
    fn new() -> Self {
        let dest = Dest::default();
        let writer = Writer::new(Box::new(dest.clone()));
        Log { dest, writer }
    }

    fn write(&mut self, record: &[u8]) {
        let before = self.written();
        let n = self.writer.add_record(&[record]).expect("append to a Vec");
        assert_eq!(
            self.written(),
            before + n,
            "add_record reports what it wrote"
        );
    }

    fn written(&self) -> usize {
        self.dest.0.lock().expect("dest lock").len()
    }

    fn bytes(&self) -> Vec<u8> {
        self.dest.0.lock().expect("dest lock").clone()
    }
}

/// Everything one reader produced before it stopped.
#[derive(Debug)]
struct Outcome {
    records: Vec<Vec<u8>>,
    /// `Err` if `read_record` failed (the mode rejected the damage, or I/O failed).
    end: Result<(), Error>,
    stopped_at: Option<Corruption>,
    skipped: Vec<Corruption>,
}

impl Outcome {
    fn dropped(&self) -> u64 {
        self.skipped.iter().map(|c| c.bytes_dropped).sum()
    }
    fn skipped_kinds(&self) -> Vec<CorruptionKind> {
        self.skipped.iter().map(|c| c.kind).collect()
    }
}

fn read_source(source: Source, mode: WalRecoveryMode) -> Outcome {
    let mut reader = Reader::new(Box::new(source), "test.log", mode);
    let mut records = Vec::new();
    let mut buf = Vec::new();
    let end = loop {
        match reader.read_record(&mut buf) {
            Ok(true) => records.push(buf.clone()),
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
        assert!(records.len() <= 1_000_000, "reader does not terminate");
    };
    // Reading again after the end keeps returning the end, never a record.
    if end.is_ok() {
        assert!(!reader.read_record(&mut buf).expect("read at EOF again"));
    }
    Outcome {
        records,
        end,
        stopped_at: reader.stopped_at().cloned(),
        skipped: reader.skipped().to_vec(),
    }
}

fn read(bytes: &[u8], mode: WalRecoveryMode) -> Outcome {
    read_source(
        Source {
            data: bytes.to_vec(),
            pos: 0,
            fail_read: None,
            reads: 0,
            max_read: usize::MAX,
        },
        mode,
    )
}

/// Reads `bytes` under every mode and checks that each returns exactly `records`, cleanly, with
/// nothing reported.
fn assert_clean(bytes: &[u8], records: &[Vec<u8>]) {
    for mode in WalRecoveryMode::ALL {
        let o = read(bytes, mode);
        assert!(o.end.is_ok(), "{mode}: {:?}", o.end);
        assert_eq!(o.records.len(), records.len(), "{mode}: record count");
        assert!(o.records == records, "{mode}: records differ");
        assert_eq!(o.stopped_at, None, "{mode}");
        assert!(o.skipped.is_empty(), "{mode}: {:?}", o.skipped);
    }
}

/// The damage in `bytes` is of `kind`, preceded by the records `before`. Checks all four
/// modes against RocksDB's semantics:
///
/// * tolerate: tail damage ends the file silently; other damage fails with `Corruption`;
/// * absolute: any damage fails with `Corruption` (after returning `before`);
/// * point in time: returns `before`, then stops and reports `kind`;
/// * skip any: returns `skip_records` and reports `skip_kinds` (tail damage is not reported,
///   as in LevelDB and RocksDB: nothing follows it).
///
/// Returns the skip-any outcome for further checks (LevelDB's dropped bytes).
fn assert_damage(
    bytes: &[u8],
    before: &[Vec<u8>],
    kind: CorruptionKind,
    skip_records: &[Vec<u8>],
    skip_kinds: &[CorruptionKind],
) -> Outcome {
    let fails = |o: &Outcome, mode: WalRecoveryMode| match &o.end {
        Err(Error::Corruption { message }) => {
            assert!(
                message.contains(&format!("{kind:?}")),
                "{mode}: error names the damage: {message}"
            );
            assert!(message.contains(mode.name()), "{mode}: names the mode");
        }
        other => panic!("{mode}: expected a Corruption error for {kind:?}, got {other:?}"),
    };

    let o = read(bytes, TolerateCorruptedTailRecords);
    assert!(o.records == before, "tolerate: records before the damage");
    if kind.is_tail() {
        assert!(
            o.end.is_ok(),
            "tolerate: tail damage is silent: {:?}",
            o.end
        );
    } else {
        fails(&o, TolerateCorruptedTailRecords);
    }

    let o = read(bytes, AbsoluteConsistency);
    assert!(o.records == before, "absolute: records before the damage");
    fails(&o, AbsoluteConsistency);

    let o = read(bytes, PointInTime);
    assert!(
        o.records == before,
        "point_in_time: records before the damage"
    );
    assert!(o.end.is_ok(), "point_in_time: {:?}", o.end);
    assert_eq!(o.stopped_at.as_ref().map(|c| c.kind), Some(kind));

    let o = read(bytes, SkipAnyCorruptedRecords);
    assert!(o.end.is_ok(), "skip: {:?}", o.end);
    assert_eq!(o.records.len(), skip_records.len(), "skip: record count");
    assert!(o.records == skip_records, "skip: records");
    assert_eq!(o.skipped_kinds(), skip_kinds, "skip: reported damage");
    assert_eq!(o.stopped_at, None);
    o
}

fn big_string(partial: &str, n: usize) -> Vec<u8> {
    partial.bytes().cycle().take(n).collect()
}

fn number_string(n: usize) -> Vec<u8> {
    format!("{n}.").into_bytes()
}

/// LevelDB's `Random::Skewed`-style generator: lengths up to 2^17, skewed towards short.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn skewed(&mut self, max_log: u64) -> usize {
        let bits = self.uniform(max_log + 1);
        self.uniform(1 << bits) as usize
    }
}

fn random_skewed_string(i: usize, rng: &mut Rng) -> Vec<u8> {
    let n = rng.skewed(17);
    let s = number_string(i);
    s.iter().copied().cycle().take(n).collect()
}

/// Recomputes the checksum of the fragment whose header is at `at` with payload `len`.
fn fix_checksum(bytes: &mut [u8], at: usize, len: usize) {
    let crc = record_crc(&bytes[at + 6..at + HEADER_SIZE + len]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn v(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Well-formed logs.

#[test]
fn empty() {
    let log = Log::new();
    assert_eq!(log.written(), 0);
    assert_clean(&log.bytes(), &[]);
}

#[test]
fn read_write() {
    let mut log = Log::new();
    for r in ["foo", "bar", "", "xxxx"] {
        log.write(r.as_bytes());
    }
    // Four FULL records: header + payload each, nothing else.
    assert_eq!(log.written(), 4 * HEADER_SIZE + 3 + 3 + 4);
    assert_clean(&log.bytes(), &[v("foo"), v("bar"), v(""), v("xxxx")]);
}

#[test]
fn header_layout_is_leveldbs() {
    let mut log = Log::new();
    log.write(b"foo");
    let b = log.bytes();
    assert_eq!(b.len(), HEADER_SIZE + 3);
    // length (2 bytes LE), type, payload
    assert_eq!(&b[4..6], &3u16.to_le_bytes());
    assert_eq!(b[6], RecordType::Full as u8);
    assert_eq!(&b[7..], b"foo");
    // masked CRC-32C (Castagnoli, LevelDB's) of type byte + payload, computed bit by bit here
    // independently of the crate the writer uses
    let crc = mask(crc32c_bitwise(&[1, b'f', b'o', b'o']));
    assert_eq!(&b[..4], &crc.to_le_bytes());
}

/// CRC-32C, reflected polynomial 0x82F63B78, one bit at a time.
fn crc32c_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32c_bitwise_matches_the_standard_check_value() {
    // The catalogued check value of CRC-32C over "123456789".
    assert_eq!(crc32c_bitwise(b"123456789"), 0xE306_9283);
}

#[test]
fn many_blocks() {
    let mut log = Log::new();
    let n = 100_000;
    for i in 0..n {
        log.write(&number_string(i));
    }
    assert!(log.written() > 20 * BLOCK_SIZE);
    let expected: Vec<Vec<u8>> = (0..n).map(number_string).collect();
    let o = read(&log.bytes(), AbsoluteConsistency);
    assert!(o.end.is_ok(), "{:?}", o.end);
    assert!(o.records == expected);
}

#[test]
fn fragmentation() {
    let mut log = Log::new();
    let records = vec![
        v("small"),
        big_string("medium", 50_000),
        big_string("large", 100_000),
    ];
    for r in &records {
        log.write(r);
    }
    let b = log.bytes();
    // "small" is FULL; "medium" starts right after it as FIRST and ends in block 1 as LAST.
    assert_eq!(b[6], RecordType::Full as u8);
    assert_eq!(b[HEADER_SIZE + 5 + 6], RecordType::First as u8);
    assert_eq!(b[BLOCK_SIZE + 6], RecordType::Last as u8);
    // 100,000 bytes need at least four fragments: FIRST, MIDDLE, MIDDLE, LAST.
    let middles = (0..b.len() / BLOCK_SIZE + 1)
        .filter(|i| b.get(i * BLOCK_SIZE + 6) == Some(&(RecordType::Middle as u8)))
        .count();
    assert_eq!(middles, 2);
    assert_clean(&b, &records);
}

#[test]
fn marginal_trailer() {
    // A trailer exactly the size of a header: an empty record fits in it.
    let n = BLOCK_SIZE - 2 * HEADER_SIZE;
    let mut log = Log::new();
    log.write(&big_string("foo", n));
    assert_eq!(log.written(), BLOCK_SIZE - HEADER_SIZE);
    log.write(b"");
    assert_eq!(
        log.written(),
        BLOCK_SIZE,
        "the empty record fills the block"
    );
    log.write(b"bar");
    assert_clean(&log.bytes(), &[big_string("foo", n), v(""), v("bar")]);
}

#[test]
fn marginal_trailer_2() {
    // A trailer exactly the size of a header, and a non-empty record after it: an empty FIRST
    // fragment in the trailer, the payload in a LAST fragment in the next block.
    let n = BLOCK_SIZE - 2 * HEADER_SIZE;
    let mut log = Log::new();
    log.write(&big_string("foo", n));
    log.write(b"bar");
    let b = log.bytes();
    assert_eq!(b[BLOCK_SIZE - HEADER_SIZE + 6], RecordType::First as u8);
    assert_eq!(&b[BLOCK_SIZE - HEADER_SIZE + 4..BLOCK_SIZE - 1], &[0, 0]);
    assert_eq!(b[BLOCK_SIZE + 6], RecordType::Last as u8);
    assert_clean(&b, &[big_string("foo", n), v("bar")]);
}

#[test]
fn short_trailer() {
    // A trailer shorter than a header: zero padding, then the next block.
    let n = BLOCK_SIZE - 2 * HEADER_SIZE + 4;
    let mut log = Log::new();
    log.write(&big_string("foo", n));
    assert_eq!(log.written(), BLOCK_SIZE - HEADER_SIZE + 4);
    log.write(b"");
    log.write(b"bar");
    let b = log.bytes();
    assert_eq!(&b[BLOCK_SIZE - 3..BLOCK_SIZE], &[0, 0, 0], "zero padding");
    assert_eq!(b.len(), BLOCK_SIZE + 2 * HEADER_SIZE + 3);
    assert_clean(&b, &[big_string("foo", n), v(""), v("bar")]);
}

#[test]
fn every_trailer_size() {
    // For each possible amount of room left in a block (0..=8 bytes), a record after it.
    for left in 0..=HEADER_SIZE + 1 {
        let n = BLOCK_SIZE - HEADER_SIZE - left;
        let mut log = Log::new();
        log.write(&big_string("x", n));
        assert_eq!(log.written(), BLOCK_SIZE - left);
        log.write(b"next");
        log.write(b"");
        assert_clean(&log.bytes(), &[big_string("x", n), v("next"), v("")]);
    }
}

#[test]
fn aligned_eof() {
    let n = BLOCK_SIZE - 2 * HEADER_SIZE + 4;
    let mut log = Log::new();
    log.write(&big_string("foo", n));
    assert_eq!(log.written(), BLOCK_SIZE - HEADER_SIZE + 4);
    assert_clean(&log.bytes(), &[big_string("foo", n)]);
}

#[test]
fn exact_block_multiple() {
    // A file that ends exactly on a block boundary, in the middle of nothing.
    let mut log = Log::new();
    log.write(&big_string("a", 2 * BLOCK_SIZE - 2 * HEADER_SIZE));
    assert_eq!(log.written(), 2 * BLOCK_SIZE);
    assert_clean(
        &log.bytes(),
        &[big_string("a", 2 * BLOCK_SIZE - 2 * HEADER_SIZE)],
    );
}

#[test]
fn record_from_several_parts() {
    // add_record frames the concatenation of its parts (a group's header and batch bodies).
    let mut a = Log::new();
    let big = big_string("part", 70_000);
    a.writer
        .add_record(&[b"", b"head", &big, b"", b"tail"])
        .expect("append");
    let mut b = Log::new();
    let mut joined = b"head".to_vec();
    joined.extend_from_slice(&big);
    joined.extend_from_slice(b"tail");
    b.write(&joined);
    assert_eq!(a.bytes(), b.bytes());
    assert_clean(&a.bytes(), &[joined]);
}

#[test]
fn writer_counts_its_bytes() {
    let mut log = Log::new();
    log.write(&big_string("z", 100_000));
    log.write(b"q");
    assert_eq!(log.writer.size(), log.written() as u64);
}

#[test]
fn open_for_append_starts_a_new_file() {
    // LevelDB can reopen a log for appending. groupkv never appends to an existing WAL (each
    // open starts a new one), so the check that applies is that two writers on two files
    // produce independent, readable logs, each starting at block offset 0.
    let mut first = Log::new();
    first.write(&big_string("hello", BLOCK_SIZE - 10));
    let mut second = Log::new();
    second.write(b"world");
    assert_eq!(second.bytes()[6], RecordType::Full as u8);
    assert_clean(&first.bytes(), &[big_string("hello", BLOCK_SIZE - 10)]);
    assert_clean(&second.bytes(), &[v("world")]);
}

#[test]
fn random_read() {
    let n = 500;
    let mut log = Log::new();
    let mut rng = Rng(301);
    let records: Vec<Vec<u8>> = (0..n).map(|i| random_skewed_string(i, &mut rng)).collect();
    for r in &records {
        log.write(r);
    }
    assert!(log.written() > 3 * BLOCK_SIZE, "spans several blocks");
    assert_clean(&log.bytes(), &records);
}

// ---------------------------------------------------------------------------------------------
// The error paths.

#[test]
fn read_error_fails_in_every_mode() {
    // LevelDB reports a failed read as a dropped block and stops. A read error is not damage
    // in the file, so groupkv fails in every mode (RocksDB fails open on an IOError, PR 6963).
    let mut log = Log::new();
    log.write(b"foo");
    log.write(&big_string("bar", 2 * BLOCK_SIZE));
    for mode in WalRecoveryMode::ALL {
        for fail_read in [0, 1, 2] {
            let o = read_source(
                Source {
                    data: log.bytes(),
                    pos: 0,
                    fail_read: Some(fail_read),
                    reads: 0,
                    max_read: usize::MAX,
                },
                mode,
            );
            match &o.end {
                Err(Error::Io { context, source }) => {
                    assert!(context.contains("test.log"), "{context}");
                    assert_eq!(source.raw_os_error(), Some(libc::EIO));
                }
                other => panic!("{mode}: expected an I/O error, got {other:?}"),
            }
            // Nothing after the failed read is returned.
            assert!(o.records.len() <= usize::from(fail_read > 0));
        }
    }
}

#[test]
fn bad_record_type() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b[6] += 100;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::BadRecordType,
        &[],
        &[CorruptionKind::BadRecordType],
    );
    assert_eq!(o.dropped(), 3, "LevelDB drops the payload");
    assert!(o.skipped[0].detail.contains("unknown record type"));
}

#[test]
fn bad_record_type_then_good_record() {
    let mut log = Log::new();
    log.write(b"foo");
    log.write(b"bar");
    let mut b = log.bytes();
    b[6] = 0x7f;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::BadRecordType,
        &[v("bar")],
        &[CorruptionKind::BadRecordType],
    );
    assert_eq!(o.skipped[0].offset, 0);
}

#[test]
fn truncated_trailing_record_is_ignored() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b.truncate(b.len() - 4); // all of the payload and a header byte
    let o = assert_damage(&b, &[], CorruptionKind::TruncatedHeader, &[], &[]);
    assert_eq!(
        o.dropped(),
        0,
        "LevelDB: a truncated last record is not an error"
    );
}

#[test]
fn truncated_header_after_good_records() {
    let mut log = Log::new();
    log.write(b"one");
    log.write(b"two");
    let mut b = log.bytes();
    b.truncate(b.len() - 5); // 5 of "two"'s 10 bytes remain: a partial header
    let o = assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::TruncatedHeader,
        &[v("one")],
        &[],
    );
    assert_eq!(o.dropped(), 0);
    let pit = read(&b, PointInTime);
    let c = pit
        .stopped_at
        .expect("point in time reports the torn header");
    assert_eq!(c.offset, (HEADER_SIZE + 3) as u64);
    assert_eq!(c.bytes_dropped, 5);
}

#[test]
fn bad_length() {
    let payload = BLOCK_SIZE - HEADER_SIZE;
    let mut log = Log::new();
    log.write(&big_string("bar", payload));
    log.write(b"foo");
    let mut b = log.bytes();
    b[4] += 1; // the length's low byte: the record now overruns its block
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::BadRecordLength,
        &[v("foo")],
        &[CorruptionKind::BadRecordLength],
    );
    assert_eq!(o.dropped(), BLOCK_SIZE as u64, "LevelDB drops the block");
}

#[test]
fn bad_length_at_end_is_ignored() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b.truncate(b.len() - 1);
    let o = assert_damage(&b, &[], CorruptionKind::TruncatedRecord, &[], &[]);
    assert_eq!(o.dropped(), 0);
    let pit = read(&b, PointInTime).stopped_at.expect("reported");
    assert_eq!((pit.offset, pit.bytes_dropped), (0, 9));
}

#[test]
fn checksum_mismatch() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b[0] = b[0].wrapping_add(10);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::ChecksumMismatch,
        &[],
        &[CorruptionKind::ChecksumMismatch],
    );
    assert_eq!(o.dropped(), 10);
    assert!(o.skipped[0].detail.contains("checksum mismatch"));
}

#[test]
fn checksum_mismatch_in_payload_mid_file() {
    // A flipped payload bit in block 0: the rest of block 0 is dropped, block 1 is read.
    let mut log = Log::new();
    log.write(b"first");
    log.write(&big_string("spans", BLOCK_SIZE));
    log.write(b"after");
    let mut b = log.bytes();
    b[HEADER_SIZE + 2] ^= 0x10;
    // Skip-any: "first" and the FIRST fragment of the big record are gone with block 0, so the
    // LAST fragment in block 1 has no start; "after" survives.
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::ChecksumMismatch,
        &[v("after")],
        &[
            CorruptionKind::ChecksumMismatch,
            CorruptionKind::FragmentOutOfOrder,
        ],
    );
    assert_eq!(o.skipped[0].bytes_dropped, BLOCK_SIZE as u64);
}

#[test]
fn unexpected_middle_type() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b[6] = RecordType::Middle as u8;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::FragmentOutOfOrder,
        &[],
        &[CorruptionKind::FragmentOutOfOrder],
    );
    assert_eq!(o.dropped(), 3);
    assert!(o.skipped[0].detail.contains("missing start"));
}

#[test]
fn unexpected_last_type() {
    let mut log = Log::new();
    log.write(b"foo");
    let mut b = log.bytes();
    b[6] = RecordType::Last as u8;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::FragmentOutOfOrder,
        &[],
        &[CorruptionKind::FragmentOutOfOrder],
    );
    assert_eq!(o.dropped(), 3);
    assert!(o.skipped[0].detail.contains("missing start"));
}

#[test]
fn unexpected_full_type() {
    // FIRST("foo") then FULL("bar"): the partial "foo" is dropped, "bar" is kept.
    let mut log = Log::new();
    log.write(b"foo");
    log.write(b"bar");
    let mut b = log.bytes();
    b[6] = RecordType::First as u8;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::FragmentOutOfOrder,
        &[v("bar")],
        &[CorruptionKind::FragmentOutOfOrder],
    );
    assert_eq!(o.dropped(), 3);
    assert!(o.skipped[0].detail.contains("partial record without end"));
}

#[test]
fn unexpected_first_type() {
    let big = big_string("bar", 100_000);
    let mut log = Log::new();
    log.write(b"foo");
    log.write(&big);
    let mut b = log.bytes();
    b[6] = RecordType::First as u8;
    fix_checksum(&mut b, 0, 3);
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::FragmentOutOfOrder,
        &[big],
        &[CorruptionKind::FragmentOutOfOrder],
    );
    assert_eq!(o.dropped(), 3);
    assert!(o.skipped[0].detail.contains("partial record without end"));
}

#[test]
fn missing_last_is_ignored() {
    let mut log = Log::new();
    log.write(&big_string("bar", BLOCK_SIZE));
    let mut b = log.bytes();
    // Remove the LAST fragment, header included: the file ends after FIRST.
    b.truncate(b.len() - 14);
    assert_eq!(b.len(), BLOCK_SIZE);
    let o = assert_damage(&b, &[], CorruptionKind::PartialRecordAtEof, &[], &[]);
    assert_eq!(o.dropped(), 0);
    let pit = read(&b, PointInTime).stopped_at.expect("reported");
    assert_eq!(
        (pit.offset, pit.bytes_dropped),
        (0, (BLOCK_SIZE - HEADER_SIZE) as u64)
    );
}

#[test]
fn partial_last_is_ignored() {
    let mut log = Log::new();
    log.write(&big_string("bar", BLOCK_SIZE));
    let mut b = log.bytes();
    // The LAST fragment loses its final byte: its length now runs past the end of the file.
    b.truncate(b.len() - 1);
    let o = assert_damage(&b, &[], CorruptionKind::TruncatedRecord, &[], &[]);
    assert_eq!(o.dropped(), 0);
}

#[test]
fn missing_middle_is_ignored_at_eof() {
    // FIRST and one MIDDLE survive; the file ends on a block boundary.
    let mut log = Log::new();
    log.write(b"before");
    log.write(&big_string("m", 3 * BLOCK_SIZE));
    let mut b = log.bytes();
    b.truncate(2 * BLOCK_SIZE);
    assert_damage(
        &b,
        &[v("before")],
        CorruptionKind::PartialRecordAtEof,
        &[v("before")],
        &[],
    );
}

#[test]
fn error_joins_records() {
    // Two fragmented records, first(R1) last(R1) first(R2) last(R2), where the middle two
    // fragments disappear: first(R1) and last(R2) must never be joined into a record.
    let mut log = Log::new();
    log.write(&big_string("foo", BLOCK_SIZE));
    log.write(&big_string("bar", BLOCK_SIZE));
    log.write(b"correct");
    let mut b = log.bytes();
    for byte in &mut b[BLOCK_SIZE..2 * BLOCK_SIZE] {
        *byte = b'x';
    }
    let o = assert_damage(
        &b,
        &[],
        CorruptionKind::ChecksumMismatch,
        &[v("correct")],
        &[
            CorruptionKind::ChecksumMismatch,
            CorruptionKind::FragmentOutOfOrder,
            CorruptionKind::FragmentOutOfOrder,
        ],
    );
    let dropped = o.dropped() as usize;
    assert!(
        (2 * BLOCK_SIZE..=2 * BLOCK_SIZE + 100).contains(&dropped),
        "dropped {dropped}"
    );
}

#[test]
fn zeros_in_the_middle_are_damage() {
    // A zeroed region followed by real records is lost data, not preallocated space.
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", BLOCK_SIZE));
    log.write(b"three");
    let mut b = log.bytes();
    for byte in &mut b[HEADER_SIZE + 3..BLOCK_SIZE] {
        *byte = 0;
    }
    // Skip-any: the zeros of block 0 go, the orphaned LAST fragment of "two" goes, "three"
    // (in block 1) is kept.
    assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::BadRecordType,
        &[v("one"), v("three")],
        &[
            CorruptionKind::BadRecordType,
            CorruptionKind::FragmentOutOfOrder,
        ],
    );
}

#[test]
fn zeroed_block_before_good_block_keeps_the_good_block() {
    // A whole zeroed block, then an intact block: skip-any must resume at the intact block's
    // first record rather than dropping it with the zeros.
    let mut log = Log::new();
    log.write(&big_string("a", BLOCK_SIZE - HEADER_SIZE)); // exactly block 0
    log.write(&big_string("b", BLOCK_SIZE - HEADER_SIZE)); // exactly block 1
    log.write(b"c"); // block 2
    log.write(b"d");
    let mut b = log.bytes();
    for byte in &mut b[BLOCK_SIZE..2 * BLOCK_SIZE] {
        *byte = 0;
    }
    let o = assert_damage(
        &b,
        &[big_string("a", BLOCK_SIZE - HEADER_SIZE)],
        CorruptionKind::BadRecordType,
        &[big_string("a", BLOCK_SIZE - HEADER_SIZE), v("c"), v("d")],
        &[CorruptionKind::BadRecordType],
    );
    assert_eq!(o.dropped(), BLOCK_SIZE as u64);
}

#[test]
fn zeros_from_a_record_boundary_end_the_log() {
    // Space the writer allocated ahead of its records: zeros from a record boundary to EOF,
    // shorter than a header or spanning blocks. Every mode reads the records and reports
    // nothing; a fragmented record left open there is a torn tail.
    let mut log = Log::new();
    log.write(b"one");
    let clean = log.bytes();
    for extra in [1, HEADER_SIZE - 1, HEADER_SIZE, BLOCK_SIZE + 100] {
        let mut b = clean.clone();
        b.resize(b.len() + extra, 0);
        for mode in WalRecoveryMode::ALL {
            let o = read(&b, mode);
            assert_eq!(o.records, [v("one")], "{mode}, {extra} zeros");
            assert!(o.end.is_ok(), "{mode}, {extra} zeros: {:?}", o.end);
            assert!(o.stopped_at.is_none() && o.skipped.is_empty(), "{mode}");
        }
    }
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", BLOCK_SIZE));
    let mut b = log.bytes();
    b.truncate(BLOCK_SIZE); // "two"'s FIRST fragment only
    b.resize(3 * BLOCK_SIZE, 0);
    assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::PartialRecordAtEof,
        &[v("one")],
        &[],
    );
}

#[test]
fn zeros_from_a_sector_inside_a_record_are_a_torn_tail() {
    // Zeros that run to EOF from inside the last record are a torn write only if they cover a
    // sector-aligned span of it (to the next sector boundary or the record's end): a write
    // that never reached the disk is lost in whole sectors. Zeros from anywhere else may be a
    // value's own trailing zeros with damage elsewhere: a checksum mismatch.
    let mut log = Log::new();
    log.write(&big_string("one", 509 - HEADER_SIZE)); // the second header straddles 512
    log.write(&big_string("two-", 1500));
    let clean = log.bytes();
    let second = 509;
    let end = clean.len();
    for from in (second + 3..end)
        .step_by(7)
        .chain([512, 1024, 1536, end - 1])
    {
        let mut b = clean.clone();
        for byte in &mut b[from..] {
            *byte = 0;
        }
        b.resize(b.len() + 5000, 0);
        let torn = from.div_ceil(SECTOR) * SECTOR < end;
        let kind = if torn {
            CorruptionKind::ZeroedTail
        } else {
            CorruptionKind::ChecksumMismatch
        };
        let skipped: &[CorruptionKind] = if torn { &[] } else { &[kind] };
        assert_damage(
            &b,
            &[big_string("one", 509 - HEADER_SIZE)],
            kind,
            &[big_string("one", 509 - HEADER_SIZE)],
            skipped,
        );
    }
}

#[test]
fn garbage_after_the_last_record_is_not_a_record() {
    let mut log = Log::new();
    log.write(b"one");
    let mut b = log.bytes();
    b.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x03, 0x00, 0x01, b'a', b'b', b'c']);
    assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::ChecksumMismatch,
        &[v("one")],
        &[CorruptionKind::ChecksumMismatch],
    );
}

#[test]
fn short_reads_change_nothing() {
    // The reader must not assume a read fills its buffer: the same bytes served a few at a
    // time give the same records and the same reports, in every mode.
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", 2 * BLOCK_SIZE));
    log.write(b"three");
    let clean = log.bytes();
    let mut zero_tail = clean.clone();
    zero_tail.resize(clean.len() + 2 * BLOCK_SIZE + 5, 0);
    let mut zeros_then_data = clean.clone();
    for byte in &mut zeros_then_data[HEADER_SIZE + 3..BLOCK_SIZE] {
        *byte = 0;
    }
    let mut torn = clean.clone();
    torn.truncate(BLOCK_SIZE + 100);
    let summary = |o: &Outcome| {
        (
            o.records.clone(),
            o.end.as_ref().map_err(|e| e.to_string()).err(),
            o.stopped_at.clone(),
            o.skipped.clone(),
        )
    };
    for bytes in [&clean, &zero_tail, &zeros_then_data, &torn] {
        for mode in WalRecoveryMode::ALL {
            let whole = summary(&read(bytes, mode));
            for max_read in [1, 3, 7, 4096, BLOCK_SIZE - 1] {
                let source = Source {
                    data: bytes.clone(),
                    pos: 0,
                    fail_read: None,
                    reads: 0,
                    max_read,
                };
                assert!(
                    summary(&read_source(source, mode)) == whole,
                    "{mode}, reads of {max_read} bytes"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation ahead of the records, on the fault-injecting file system.

/// Writes `n` records of `size` bytes to a fresh log on `fs`, syncing after each one when
/// `sync`; returns the records.
fn write_log(
    fs: &groupkv::fs::MemFs,
    path: &str,
    n: usize,
    size: usize,
    sync: bool,
) -> Vec<Vec<u8>> {
    use groupkv::fs::FileSystem;
    fs.create_dir_all(std::path::Path::new("/")).expect("dir");
    let mut w = Writer::new(fs.create(std::path::Path::new(path)).expect("create"));
    let mut records = Vec::new();
    for i in 0..n {
        let r: Vec<u8> = (0..size).map(|j| (i * 7 + j) as u8 | 1).collect();
        w.add_record(&[&r]).expect("append");
        if sync {
            w.sync().expect("sync");
        }
        records.push(r);
    }
    records
}

#[test]
fn a_log_allocates_ahead_and_reads_back_whole() {
    let fs = groupkv::fs::MemFs::new();
    let records = write_log(&fs, "/synced.log", 300, 500, true);
    let bytes = fs.read(std::path::Path::new("/synced.log")).expect("read");
    let framed = 300 * (500 + HEADER_SIZE) + 300 * 500 / BLOCK_SIZE * HEADER_SIZE;
    assert!(
        bytes.len() > framed + 60_000,
        "zeros allocated ahead: {} bytes",
        bytes.len()
    );
    for mode in WalRecoveryMode::ALL {
        let o = read(&bytes, mode);
        assert!(o.records == records, "{mode}: every record");
        assert!(
            o.end.is_ok() && o.stopped_at.is_none() && o.skipped.is_empty(),
            "{mode}"
        );
    }
    // The same without syncs.
    let fs = groupkv::fs::MemFs::new();
    let records = write_log(&fs, "/unsynced.log", 300, 500, false);
    let bytes = fs
        .read(std::path::Path::new("/unsynced.log"))
        .expect("read");
    assert!(
        bytes.len() > framed + 60_000,
        "zeros allocated ahead: {} bytes",
        bytes.len()
    );
    assert!(read(&bytes, AbsoluteConsistency).records == records);
}

#[test]
fn power_loss_in_allocated_space_keeps_a_prefix() {
    use groupkv::fs::{FileSystem, MemFs, PowerLoss};
    let mut checked = 0;
    for seed in 1..200u64 {
        let fs = MemFs::new();
        let path = std::path::Path::new("/p.log");
        fs.create_dir_all(std::path::Path::new("/")).expect("dir");
        fs.sync_dir(std::path::Path::new("/")).expect("dir sync");
        let mut w = Writer::new(fs.create(path).expect("create"));
        fs.sync_dir(std::path::Path::new("/")).expect("dir sync");
        let mut records = Vec::new();
        let mut synced = 0;
        for i in 0..40usize {
            let r: Vec<u8> = vec![(i as u8) | 1; 100 + (i * 997 + seed as usize * 31) % 3000];
            w.add_record(&[&r]).expect("append");
            records.push(r);
            if (i as u64 + seed) % 7 == 0 {
                w.sync().expect("sync");
                synced = records.len();
            }
        }
        let how = match seed % 3 {
            0 => PowerLoss::DropUnsynced,
            1 => PowerLoss::TearUnsynced { seed },
            _ => PowerLoss::TearWithGarbage { seed },
        };
        fs.power_loss(how);
        let bytes = fs.read(path).expect("read");
        for mode in [
            PointInTime,
            TolerateCorruptedTailRecords,
            SkipAnyCorruptedRecords,
        ] {
            let o = read(&bytes, mode);
            assert!(
                o.records.len() >= synced && o.records[..] == records[..o.records.len()],
                "seed {seed}, {mode}: {} records, {synced} synced: not a prefix",
                o.records.len()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 199 * 3);
}

/// A file system that cannot allocate: the writer falls back to plain appends.
#[test]
fn a_refused_allocation_falls_back_to_appends() {
    use groupkv::fs::{Fault, FaultKind, MemFs};
    let fs = MemFs::new();
    fs.inject(Fault {
        persistent: true,
        ..Fault::once(FaultKind::Allocate, 1, libc::ENOSPC)
    });
    let records = write_log(&fs, "/r.log", 100, 500, true);
    assert_eq!(
        fs.count(FaultKind::Allocate),
        1,
        "asked once, then never again"
    );
    let bytes = fs.read(std::path::Path::new("/r.log")).expect("read");
    let o = read(&bytes, AbsoluteConsistency);
    assert!(o.records == records && o.end.is_ok());
}

#[test]
fn a_hole_then_data_then_zeros_in_the_last_record_is_a_torn_tail() {
    // Page writeback (and a copy into a mapping) may store a record's pieces out of order: a
    // power loss can leave a zeroed sector *inside* the last record, its later bytes in place,
    // then the zeroed space after it. That is tail damage. The same record with a hole that
    // covers no whole sector, or with one flipped bit and a last byte that happens to be zero,
    // is not evidence of a torn write: a checksum mismatch.
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", 3000));
    let clean = log.bytes();
    let second = HEADER_SIZE + 3;
    assert!(clean.len() > 1536 + 100);
    let mut holed = clean.clone();
    for byte in &mut holed[1024..1536] {
        *byte = 0;
    }
    for extra in [0, 1000] {
        let mut b = holed.clone();
        b.resize(holed.len() + extra, 0);
        assert_damage(
            &b,
            &[v("one")],
            CorruptionKind::ZeroedTail,
            &[v("one")],
            &[],
        );
    }
    // A hole inside one sector, and the record's last byte missing too.
    let mut small_hole = clean.clone();
    for byte in &mut small_hole[second + HEADER_SIZE + 50..second + HEADER_SIZE + 120] {
        *byte = 0;
    }
    *small_hole.last_mut().expect("bytes") = 0;
    small_hole.resize(small_hole.len() + 1000, 0);
    assert_damage(
        &small_hole,
        &[v("one")],
        CorruptionKind::ChecksumMismatch,
        &[v("one")],
        &[CorruptionKind::ChecksumMismatch],
    );
    // A whole zeroed sector, but an intact record after the damaged one: interior damage (skip
    // any drops the rest of the block with it, as LevelDB does).
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", 3000));
    log.write(b"three");
    let mut b = log.bytes();
    for byte in &mut b[1024..1536] {
        *byte = 0;
    }
    b.resize(b.len() + 1000, 0);
    assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::ChecksumMismatch,
        &[v("one")],
        &[CorruptionKind::ChecksumMismatch],
    );
}

#[test]
fn a_zero_header_then_pieces_of_one_record_is_a_torn_tail() {
    // What a copy that stores a chunk's first bytes last leaves when killed: the header still
    // zero, some of the payload stored, zeros to EOF. Nothing intact follows the zeros, so it
    // is the torn last write. Zeros followed by an intact record are damage (see
    // zeros_in_the_middle_are_damage).
    let mut log = Log::new();
    log.write(b"one");
    log.write(&big_string("two", 1500));
    let clean = log.bytes();
    let second = HEADER_SIZE + 3;
    let mut b = vec![0u8; clean.len() + 4096];
    b[..second].copy_from_slice(&clean[..second]);
    b[128..640].copy_from_slice(&clean[128..640]);
    assert_damage(
        &b,
        &[v("one")],
        CorruptionKind::ZeroedTail,
        &[v("one")],
        &[],
    );
}
