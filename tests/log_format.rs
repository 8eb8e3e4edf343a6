//! `groupkv::log`, the policy-free log format: LevelDB's `db/log_test.cc` behaviours ported
//! (fragmentation, block boundaries, trailers, bad checksums and lengths, truncated tails,
//! fragments out of order, random records), plus what the policy-free reader adds: file
//! offsets per record, damage as typed outcomes the caller may read past, and no panic on any
//! bytes.

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::io;
use std::sync::{Arc, Mutex};

use groupkv::fs::{SequentialFile, WritableFile};
use groupkv::log::{
    Checksum, Damage, DamageKind, Outcome, Reader, RecordType, Writer, BLOCK_SIZE, HEADER_SIZE,
};
use proptest::prelude::*;

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

/// Serves `data` in reads of at most `chunk` bytes (short reads must not matter).
struct Source {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
    fail: bool,
}

impl SequentialFile for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let n = buf.len().min(self.data.len() - self.pos).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn write_log(records: &[Vec<u8>], checksum: Checksum) -> Vec<u8> {
    let dest = Dest::default();
    let mut w = Writer::with_checksum(Box::new(dest.clone()), "test.log", checksum);
    for r in records {
        w.add_record(r).expect("append");
    }
    let bytes = dest.0.lock().expect("lock").clone();
    assert_eq!(w.size(), bytes.len() as u64);
    bytes
}

#[derive(Debug, Default, PartialEq)]
struct Read {
    records: Vec<(Vec<u8>, u64, u64)>,
    damage: Vec<Damage>,
}

impl Read {
    fn payloads(&self) -> Vec<Vec<u8>> {
        self.records.iter().map(|r| r.0.clone()).collect()
    }
    fn dropped(&self) -> u64 {
        self.damage.iter().map(|d| d.bytes_dropped).sum()
    }
    fn kinds(&self) -> Vec<DamageKind> {
        self.damage.iter().map(|d| d.kind).collect()
    }
}

/// Reads everything, reading on past every damage (LevelDB's reader with a reporter).
fn read_all_with(bytes: &[u8], checksum: Checksum, chunk: usize) -> Read {
    let mut r = Reader::new(
        Box::new(Source {
            data: bytes.to_vec(),
            pos: 0,
            chunk,
            fail: false,
        }),
        checksum,
    );
    let mut out = Read::default();
    let mut buf = Vec::new();
    // Every call consumes bytes or ends; bound the loop anyway so a bug cannot hang the test.
    for _ in 0..(bytes.len() * 2 + 16) {
        match r.read_record(&mut buf).expect("no I/O error") {
            Outcome::Record { offset, end } => out.records.push((buf.clone(), offset, end)),
            Outcome::Damage(d) => out.damage.push(d),
            Outcome::End => {
                assert_eq!(r.read_record(&mut buf).expect("again"), Outcome::End);
                return out;
            }
        }
    }
    panic!("the reader never reached the end");
}

fn read_all(bytes: &[u8]) -> Read {
    read_all_with(bytes, Checksum::Crc32c, usize::MAX)
}

fn big(s: &str, n: usize) -> Vec<u8> {
    s.bytes().cycle().take(n).collect()
}

/// Recomputes the checksum of the fragment whose header is at `at` (after editing it).
fn fix_checksum(bytes: &mut [u8], at: usize) {
    let len = usize::from(u16::from_le_bytes([bytes[at + 4], bytes[at + 5]]));
    let crc = Checksum::Crc32c.record_crc(&bytes[at + 6..at + HEADER_SIZE + len]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn an_empty_file_has_no_records() {
    let r = read_all(&[]);
    assert_eq!(r, Read::default());
}

#[test]
fn records_read_back_in_order_with_their_offsets() {
    let recs = vec![
        b"foo".to_vec(),
        b"bar".to_vec(),
        Vec::new(),
        b"xxxx".to_vec(),
    ];
    let bytes = write_log(&recs, Checksum::Crc32c);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), recs);
    assert!(r.damage.is_empty());
    let offsets: Vec<(u64, u64)> = r.records.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(offsets, vec![(0, 10), (10, 20), (20, 27), (27, 38)]);
}

#[test]
fn many_blocks_of_small_records() {
    let recs: Vec<Vec<u8>> = (0..100_000).map(|i| i.to_string().into_bytes()).collect();
    let bytes = write_log(&recs, Checksum::Crc32c);
    assert!(bytes.len() > 20 * BLOCK_SIZE);
    // Reads of odd sizes must not change anything.
    let r = read_all_with(&bytes, Checksum::Crc32c, 1000);
    assert_eq!(r.payloads(), recs);
    assert!(r.damage.is_empty());
}

#[test]
fn large_records_are_fragmented_across_blocks() {
    let recs = vec![
        b"small".to_vec(),
        big("medium", 50_000),
        big("large", 100_000),
    ];
    let bytes = write_log(&recs, Checksum::Crc32c);
    // small: FULL; medium: FIRST, LAST; large: FIRST, MIDDLE, MIDDLE?, LAST.
    assert_eq!(bytes[6], RecordType::Full as u8);
    assert_eq!(bytes[12 + 6], RecordType::First as u8);
    assert_eq!(bytes[BLOCK_SIZE + 6], RecordType::Last as u8);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), recs);
    assert_eq!(
        r.records[1].1, 12,
        "a fragmented record starts at its first fragment"
    );
    assert_eq!(r.records[2].2, bytes.len() as u64);
}

#[test]
fn a_record_that_leaves_exactly_a_header_in_the_block() {
    // LevelDB's MarginalTrailer: 7 bytes left, room for a header and an empty payload.
    let n = BLOCK_SIZE - 2 * HEADER_SIZE;
    let recs = vec![big("foo", n), Vec::new(), b"bar".to_vec()];
    let bytes = write_log(&recs, Checksum::Crc32c);
    assert_eq!(bytes.len(), BLOCK_SIZE + HEADER_SIZE + 3);
    assert_eq!(read_all(&bytes).payloads(), recs);
}

#[test]
fn a_short_trailer_is_zero_padded_and_skipped() {
    // LevelDB's ShortTrailer: 4 bytes left, too few for a header, padded with zeros.
    let n = BLOCK_SIZE - 2 * HEADER_SIZE + 4;
    let recs = vec![big("foo", n), Vec::new(), b"bar".to_vec()];
    let bytes = write_log(&recs, Checksum::Crc32c);
    let trailer = &bytes[BLOCK_SIZE - 3..BLOCK_SIZE];
    assert_eq!(trailer, &[0, 0, 0]);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), recs);
    assert_eq!(r.records[1].1, BLOCK_SIZE as u64);
}

#[test]
fn a_record_ending_exactly_at_a_block_boundary() {
    // LevelDB's AlignedEof: the file ends where a block ends.
    let n = BLOCK_SIZE - HEADER_SIZE;
    let bytes = write_log(&[big("foo", n)], Checksum::Crc32c);
    assert_eq!(bytes.len(), BLOCK_SIZE);
    assert_eq!(read_all(&bytes).payloads(), vec![big("foo", n)]);
}

#[test]
fn random_records_round_trip() {
    let mut seed = 301u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let recs: Vec<Vec<u8>> = (0..500)
        .map(|i| {
            let len = match next() % 10 {
                0 => (next() % (3 * BLOCK_SIZE as u64)) as usize,
                1..=3 => (next() % 300) as usize,
                _ => (next() % 20) as usize,
            };
            (0..len).map(|j| (i + j) as u8).collect()
        })
        .collect();
    let bytes = write_log(&recs, Checksum::Crc32c);
    let r = read_all_with(&bytes, Checksum::Crc32c, 4099);
    assert_eq!(r.payloads(), recs);
    // Offsets tile the file: each record starts where the previous one (or its trailer) ends.
    for w in r.records.windows(2) {
        assert!(w[1].1 >= w[0].2 && w[1].1 - w[0].2 < HEADER_SIZE as u64);
    }
}

#[test]
fn a_bad_checksum_drops_the_rest_of_the_block_and_reading_goes_on() {
    let recs = vec![b"foo".to_vec(), big("x", BLOCK_SIZE), b"after".to_vec()];
    let mut bytes = write_log(&recs, Checksum::Crc32c);
    bytes[0] ^= 1; // first record's checksum
    let r = read_all(&bytes);
    assert_eq!(r.damage[0].kind, DamageKind::ChecksumMismatch);
    assert_eq!(r.damage[0].offset, 0);
    assert_eq!(r.damage[0].bytes_dropped, BLOCK_SIZE as u64);
    // The big record's LAST fragment is in block 2 without its FIRST: reported, then "after".
    assert_eq!(
        r.kinds(),
        vec![DamageKind::ChecksumMismatch, DamageKind::FragmentOutOfOrder]
    );
    assert_eq!(r.payloads(), vec![b"after".to_vec()]);
}

#[test]
fn a_checksum_of_the_other_polynomial_is_damage() {
    let recs = vec![b"foo".to_vec(), b"bar".to_vec()];
    let ieee = write_log(&recs, Checksum::Crc32Ieee);
    let r = read_all_with(&ieee, Checksum::Crc32Ieee, usize::MAX);
    assert_eq!(r.payloads(), recs);
    let r = read_all(&ieee);
    assert!(r.records.is_empty());
    assert_eq!(r.kinds(), vec![DamageKind::ChecksumMismatch]);
    assert_eq!(r.dropped(), ieee.len() as u64);
}

#[test]
fn an_unknown_type_is_reported_and_skipped() {
    let mut bytes = write_log(&[b"foo".to_vec(), b"bar".to_vec()], Checksum::Crc32c);
    bytes[6] = 100;
    fix_checksum(&mut bytes, 0);
    let r = read_all(&bytes);
    assert_eq!(r.kinds(), vec![DamageKind::BadRecordType]);
    assert_eq!(r.dropped(), 3);
    assert_eq!(r.payloads(), vec![b"bar".to_vec()]);
}

#[test]
fn a_length_overrunning_its_block_mid_file_is_interior_damage() {
    let recs = vec![b"foo".to_vec(), big("y", BLOCK_SIZE), b"after".to_vec()];
    let mut bytes = write_log(&recs, Checksum::Crc32c);
    bytes[4] = 0xff;
    bytes[5] = 0xff;
    let r = read_all(&bytes);
    assert_eq!(r.damage[0].kind, DamageKind::BadRecordLength);
    assert!(!r.damage[0].kind.is_tail());
    assert_eq!(r.payloads(), vec![b"after".to_vec()]);
}

#[test]
fn a_length_past_the_end_of_the_file_is_a_truncated_tail() {
    let mut bytes = write_log(&[b"foo".to_vec(), b"barbaz".to_vec()], Checksum::Crc32c);
    bytes.truncate(bytes.len() - 2);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(r.kinds(), vec![DamageKind::TruncatedRecord]);
    assert!(r.damage[0].kind.is_tail());
    assert_eq!(r.damage[0].offset, 10);
}

#[test]
fn a_truncated_header_is_a_tail() {
    let mut bytes = write_log(&[b"foo".to_vec(), b"bar".to_vec()], Checksum::Crc32c);
    bytes.truncate(10 + 4);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(r.kinds(), vec![DamageKind::TruncatedHeader]);
    assert_eq!(r.dropped(), 4);
}

#[test]
fn a_fragmented_record_cut_between_fragments_is_a_tail() {
    let mut bytes = write_log(&[b"foo".to_vec(), big("z", 40_000)], Checksum::Crc32c);
    bytes.truncate(BLOCK_SIZE);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(r.kinds(), vec![DamageKind::PartialRecordAtEof]);
    assert_eq!(r.damage[0].offset, 10);
}

#[test]
fn fragments_out_of_order_are_reported() {
    // A MIDDLE and a LAST without a FIRST, then a FIRST followed by a FULL.
    let mut bytes = write_log(
        &[
            b"foo".to_vec(),
            b"bar".to_vec(),
            b"baz".to_vec(),
            b"end".to_vec(),
        ],
        Checksum::Crc32c,
    );
    for (at, t) in [
        (0, RecordType::Middle),
        (10, RecordType::Last),
        (20, RecordType::First),
    ] {
        bytes[at + 6] = t as u8;
        fix_checksum(&mut bytes, at);
    }
    let r = read_all(&bytes);
    assert_eq!(r.kinds(), vec![DamageKind::FragmentOutOfOrder; 3]);
    assert_eq!(r.damage[2].offset, 20, "the unfinished FIRST is named");
    assert_eq!(r.payloads(), vec![b"end".to_vec()]);
    assert_eq!(r.records[0].1, 30);
}

#[test]
fn damage_inside_a_fragmented_record_loses_that_record_only() {
    let recs = vec![big("a", 50_000), b"next".to_vec()];
    let mut bytes = write_log(&recs, Checksum::Crc32c);
    // The LAST fragment in block 2 is damaged; "next" follows it in the same block, so it goes
    // too (the rest of the block is dropped).
    bytes[BLOCK_SIZE + 100] ^= 0x55;
    let r = read_all(&bytes);
    assert!(r.records.is_empty());
    assert_eq!(
        r.kinds(),
        vec![DamageKind::ChecksumMismatch, DamageKind::FragmentOutOfOrder]
    );
    assert_eq!(r.damage[1].offset, 0);
}

#[test]
fn zeros_after_the_last_record_end_the_log() {
    let mut bytes = write_log(&[b"foo".to_vec(), b"bar".to_vec()], Checksum::Crc32c);
    let end = bytes.len();
    bytes.resize(3 * BLOCK_SIZE + 17, 0);
    let mut r = Reader::new(
        Box::new(Source {
            data: bytes,
            pos: 0,
            chunk: usize::MAX,
            fail: false,
        }),
        Checksum::Crc32c,
    );
    let mut buf = Vec::new();
    assert!(matches!(
        r.read_record(&mut buf),
        Ok(Outcome::Record { .. })
    ));
    assert!(matches!(
        r.read_record(&mut buf),
        Ok(Outcome::Record { .. })
    ));
    assert_eq!(r.read_record(&mut buf).expect("end"), Outcome::End);
    assert_eq!(r.zeros_at(), Some(end as u64));
}

#[test]
fn zeros_followed_by_data_are_interior_damage() {
    let mut bytes = write_log(&[b"foo".to_vec()], Checksum::Crc32c);
    bytes.resize(BLOCK_SIZE, 0);
    bytes.extend(write_log(&[b"bar".to_vec()], Checksum::Crc32c));
    let r = read_all(&bytes);
    assert_eq!(r.kinds(), vec![DamageKind::BadRecordType]);
    assert_eq!(r.payloads(), vec![b"foo".to_vec(), b"bar".to_vec()]);
}

#[test]
fn a_record_cut_by_zeros_to_the_end_is_a_zeroed_tail() {
    let mut bytes = write_log(&[b"foo".to_vec(), big("q", 500)], Checksum::Crc32c);
    let n = bytes.len();
    bytes[n - 200..].fill(0);
    bytes.resize(n + 1000, 0);
    let r = read_all(&bytes);
    assert_eq!(r.payloads(), vec![b"foo".to_vec()]);
    assert_eq!(r.kinds(), vec![DamageKind::ZeroedTail]);
    assert_eq!(r.damage[0].offset, 10);
}

#[test]
fn an_io_error_is_an_error_then_the_end() {
    let r = Reader::new(
        Box::new(Source {
            data: vec![1; 100],
            pos: 0,
            chunk: 10,
            fail: true,
        }),
        Checksum::Crc32c,
    );
    let mut r = r.with_name("000007.log");
    let mut buf = Vec::new();
    let err = r.read_record(&mut buf).expect_err("EIO");
    assert!(err.to_string().contains("reading 000007.log"), "{err}");
    assert_eq!(r.read_record(&mut buf).expect("end"), Outcome::End);
}

#[test]
fn damage_names_file_and_offset() {
    let mut bytes = write_log(&[b"foo".to_vec()], Checksum::Crc32c);
    bytes[8] ^= 1;
    let r = read_all(&bytes);
    let msg = r.damage[0].to_error("MANIFEST-000005").to_string();
    assert!(
        msg.contains("MANIFEST-000005") && msg.contains("offset 0"),
        "{msg}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes: no panic, the reader ends, and every record returned lies inside the file.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3 * BLOCK_SIZE)) {
        let r = read_all_with(&bytes, Checksum::Crc32c, 7777);
        for (p, offset, end) in &r.records {
            prop_assert!(*end <= bytes.len() as u64 && offset < end);
            prop_assert!(p.len() as u64 <= end - offset);
        }
    }

    /// A valid log damaged in random places: no panic, and every record returned is one that
    /// was written (a checksum guards each fragment), in order.
    #[test]
    fn damaged_logs_never_invent_records(
        sizes in proptest::collection::vec(0usize..40_000, 1..12),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let recs: Vec<Vec<u8>> = sizes.iter().enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect()).collect();
        let mut bytes = write_log(&recs, Checksum::Crc32c);
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let r = read_all_with(&bytes, Checksum::Crc32c, 5000);
        let mut next = 0;
        for (p, _, _) in &r.records {
            let found = recs[next..].iter().position(|w| w == p);
            prop_assert!(found.is_some(), "a record that was never written");
            next += found.unwrap_or(0) + 1;
        }
    }
}

#[test]
fn a_damaged_last_record_says_it_ends_at_the_end_of_the_file() {
    let recs = vec![b"first".to_vec(), b"second".to_vec()];
    let mut bytes = write_log(&recs, Checksum::Crc32c);
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let r = read_all(&bytes);
    assert_eq!(r.kinds(), vec![DamageKind::ChecksumMismatch]);
    assert!(r.damage[0].ends_at_eof);
    let mut bytes = write_log(&recs, Checksum::Crc32c);
    bytes[9] ^= 1; // the first record's payload
    let r = read_all(&bytes);
    assert_eq!(r.kinds(), vec![DamageKind::ChecksumMismatch]);
    assert!(!r.damage[0].ends_at_eof, "the second record followed it");
}
