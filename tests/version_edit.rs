//! `VersionEdit`: the MANIFEST record, byte-compatible with LevelDB's `db/version_edit.cc`.
//!
//! Behaviour ported from LevelDB's `version_edit_test` (every field set, encode → decode →
//! encode gives the same bytes), exact bytes for each tag, records LevelDB 1.23 itself wrote,
//! every kind of damage rejected as `Corruption`, and a proptest fuzz of `decode` on random
//! and mutated bytes (`GROUPKV_FUZZ_CASES` cases, default 300).

#![allow(clippy::unwrap_used)]

use groupkv::version::{FileMetaData, VersionEdit, NUM_LEVELS};
use groupkv::Error;
use proptest::prelude::*;

/// An internal key: `user_key ‖ fixed64(seq << 8 | kind)` (kind 1 = value, 0 = deletion).
fn ikey(user_key: &[u8], seq: u64, kind: u8) -> Vec<u8> {
    let mut k = user_key.to_vec();
    k.extend_from_slice(&((seq << 8) | u64::from(kind)).to_le_bytes());
    k
}

fn meta(number: u64, file_size: u64, smallest: Vec<u8>, largest: Vec<u8>) -> FileMetaData {
    FileMetaData {
        number,
        file_size,
        smallest,
        largest,
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn assert_round_trip(edit: &VersionEdit) {
    let bytes = edit.encode();
    let decoded = VersionEdit::decode(&bytes).unwrap();
    assert_eq!(&decoded, edit);
    assert_eq!(decoded.encode(), bytes);
}

fn corruption_message(bytes: &[u8]) -> String {
    match VersionEdit::decode(bytes) {
        Err(Error::Corruption { message }) => message,
        other => panic!("expected Corruption for {bytes:02x?}, got {other:?}"),
    }
}

#[test]
fn every_field_with_large_numbers_round_trips() {
    // LevelDB's EncodeDecode: numbers past 2^50 exercise the long varints.
    const BIG: u64 = 1 << 50;
    let mut edit = VersionEdit::new();
    assert_round_trip(&edit);
    for i in 0..4u64 {
        edit.add_file(
            3,
            meta(
                BIG + 300 + i,
                BIG + 400 + i,
                ikey(b"foo", BIG + 500 + i, 1),
                ikey(b"zoo", BIG + 600 + i, 0),
            ),
        )
        .unwrap();
        edit.remove_file(4, BIG + 700 + i).unwrap();
        edit.set_compact_pointer(usize::try_from(i).unwrap(), &ikey(b"x", BIG + 900 + i, 1))
            .unwrap();
        assert_round_trip(&edit);
    }
    edit.set_comparator("foo").unwrap();
    edit.set_log_number(BIG + 100);
    edit.set_next_file_number(BIG + 200);
    edit.set_last_sequence(BIG + 1000);
    assert_round_trip(&edit);
    edit.set_prev_log_number(0);
    assert_round_trip(&edit);

    let decoded = VersionEdit::decode(&edit.encode()).unwrap();
    assert_eq!(decoded.comparator(), Some("foo"));
    assert_eq!(decoded.log_number(), Some(BIG + 100));
    assert_eq!(decoded.prev_log_number(), Some(0));
    assert_eq!(decoded.next_file_number(), Some(BIG + 200));
    assert_eq!(decoded.last_sequence(), Some(BIG + 1000));
    assert_eq!(decoded.new_files().len(), 4);
    assert_eq!(decoded.new_files()[2].0, 3);
    assert_eq!(decoded.new_files()[2].1.number, BIG + 302);
    assert_eq!(
        decoded.new_files()[2].1.smallest,
        ikey(b"foo", BIG + 502, 1)
    );
    assert_eq!(decoded.deleted_files().len(), 4);
    assert!(decoded.deleted_files().contains(&(4, BIG + 703)));
    assert_eq!(decoded.compact_pointers()[1], (1, ikey(b"x", BIG + 901, 1)));
}

#[test]
fn an_empty_edit_is_zero_bytes() {
    assert!(VersionEdit::new().encode().is_empty());
    assert_eq!(VersionEdit::decode(&[]).unwrap(), VersionEdit::new());
}

#[test]
fn fields_are_written_in_leveldb_order_with_leveldb_tags() {
    let mut edit = VersionEdit::new();
    // Set in a different order from the encoding's on purpose.
    edit.add_file(1, meta(9, 300, ikey(b"a", 5, 1), ikey(b"b", 6, 0)))
        .unwrap();
    edit.remove_file(2, 4).unwrap();
    edit.set_compact_pointer(6, &ikey(b"c", 7, 1)).unwrap();
    edit.set_last_sequence(200);
    edit.set_next_file_number(10);
    edit.set_prev_log_number(0);
    edit.set_log_number(8);
    edit.set_comparator("leveldb.BytewiseComparator").unwrap();

    let mut want = vec![0x01, 26];
    want.extend_from_slice(b"leveldb.BytewiseComparator");
    want.extend_from_slice(&[0x02, 8]); // log number
    want.extend_from_slice(&[0x09, 0]); // prev log number
    want.extend_from_slice(&[0x03, 10]); // next file number
    want.extend_from_slice(&[0x04, 0xc8, 0x01]); // last sequence 200
    want.extend_from_slice(&[0x05, 6, 9]); // compact pointer, level 6, 9-byte key
    want.extend_from_slice(&ikey(b"c", 7, 1));
    want.extend_from_slice(&[0x06, 2, 4]); // deleted file 4 at level 2
    want.extend_from_slice(&[0x07, 1, 9, 0xac, 0x02, 9]); // new file 9, 300 bytes, at level 1
    want.extend_from_slice(&ikey(b"a", 5, 1));
    want.push(9);
    want.extend_from_slice(&ikey(b"b", 6, 0));
    assert_eq!(edit.encode(), want);
    assert_round_trip(&edit);
}

#[test]
fn deleted_files_are_a_set_ordered_by_level_then_number() {
    let mut a = VersionEdit::new();
    a.remove_file(3, 7).unwrap();
    a.remove_file(1, 9).unwrap();
    a.remove_file(1, 2).unwrap();
    a.remove_file(3, 7).unwrap();
    let mut b = VersionEdit::new();
    b.remove_file(1, 2).unwrap();
    b.remove_file(1, 9).unwrap();
    b.remove_file(3, 7).unwrap();
    assert_eq!(a.encode(), b.encode());
    assert_eq!(a.encode(), [6, 1, 2, 6, 1, 9, 6, 3, 7]);
}

#[test]
fn records_written_by_leveldb_decode_and_encode_to_the_same_bytes() {
    // The two records of a MANIFEST that LevelDB 1.23 wrote (Debian's libleveldb): the
    // snapshot (comparator, one table at level 2 holding k0..k99) and the edit that follows it.
    let snapshot = unhex(
        "011a6c6576656c64622e4279746577697365436f6d70617261746f72070205a40a0a6b30010100000000\
         00000b6b39390164000000000000",
    );
    let edit = VersionEdit::decode(&snapshot).unwrap();
    assert_eq!(edit.comparator(), Some("leveldb.BytewiseComparator"));
    assert_eq!(
        edit.new_files(),
        &[(2, meta(5, 1316, ikey(b"k0", 1, 1), ikey(b"k99", 100, 1)))]
    );
    assert_eq!(edit.encode(), snapshot);

    let next = unhex("0207090003080465");
    let edit = VersionEdit::decode(&next).unwrap();
    assert_eq!(edit.log_number(), Some(7));
    assert_eq!(edit.prev_log_number(), Some(0));
    assert_eq!(edit.next_file_number(), Some(8));
    assert_eq!(edit.last_sequence(), Some(101));
    assert_eq!(edit.encode(), next);
}

#[test]
fn a_scalar_field_given_twice_takes_its_last_value() {
    let edit = VersionEdit::decode(&[0x02, 5, 0x02, 6]).unwrap();
    assert_eq!(edit.log_number(), Some(6));
}

#[test]
fn unknown_tags_are_corruption() {
    // 8 was LevelDB's "large value ref"; 0, 10 and a multi-byte tag were never defined.
    for tag in [vec![0u8], vec![8], vec![10], vec![0x80, 0x01]] {
        let mut bytes = tag.clone();
        bytes.push(0);
        let message = corruption_message(&bytes);
        assert!(message.contains("unknown tag"), "{message}");
    }
    // A valid field followed by an unknown one names the offset of the bad tag.
    let message = corruption_message(&[0x02, 5, 0x08, 1]);
    assert!(message.contains("at byte 2"), "{message}");
}

#[test]
fn levels_beyond_the_last_are_corruption() {
    let key = ikey(b"k", 1, 1);
    let mut cp = vec![0x05, 7, 9];
    cp.extend_from_slice(&key);
    let mut nf = vec![0x07, 100, 1, 1, 9];
    nf.extend_from_slice(&key);
    nf.push(9);
    nf.extend_from_slice(&key);
    for bytes in [cp, vec![0x06, 7, 1], nf] {
        let message = corruption_message(&bytes);
        assert!(message.contains("level"), "{message}");
    }
    // And the last level itself is fine.
    assert!(VersionEdit::decode(&[0x06, 6, 1]).is_ok());
}

#[test]
fn truncated_fields_are_corruption_at_every_cut() {
    let mut edit = VersionEdit::new();
    edit.set_comparator("leveldb.BytewiseComparator").unwrap();
    edit.set_log_number(1 << 40);
    edit.set_prev_log_number(0);
    edit.set_next_file_number(300);
    edit.set_last_sequence(1 << 55);
    edit.set_compact_pointer(2, &ikey(b"pointer", 3, 1))
        .unwrap();
    edit.remove_file(5, 1 << 33).unwrap();
    edit.add_file(0, meta(12, 4096, ikey(b"a", 1, 1), ikey(b"zz", 2, 0)))
        .unwrap();
    let bytes = edit.encode();
    // Every prefix either ends exactly at a field boundary (and decodes to fewer fields) or
    // cuts a field (and is corruption). The whole record decodes.
    let mut boundaries = 0;
    for cut in 0..bytes.len() {
        match VersionEdit::decode(&bytes[..cut]) {
            Ok(partial) => {
                boundaries += 1;
                assert_eq!(partial.encode(), &bytes[..cut]);
            }
            Err(Error::Corruption { .. }) => {}
            Err(other) => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert_eq!(
        boundaries, 8,
        "one per field boundary, the empty prefix included"
    );
    assert_eq!(VersionEdit::decode(&bytes).unwrap(), edit);
}

#[test]
fn trailing_garbage_is_corruption() {
    let mut edit = VersionEdit::new();
    edit.set_log_number(3);
    for garbage in [&[0xffu8][..], &[0x80], &[0x02], &[0x07, 1], &[0x2a, 0x00]] {
        let mut bytes = edit.encode();
        bytes.extend_from_slice(garbage);
        corruption_message(&bytes);
    }
}

#[test]
fn internal_keys_must_hold_their_tag() {
    // LevelDB refuses an empty key; groupkv also refuses one shorter than the 8-byte tag.
    for len in [0u8, 1, 7] {
        let mut bytes = vec![0x05, 1, len];
        bytes.extend(std::iter::repeat(b'k').take(usize::from(len)));
        let message = corruption_message(&bytes);
        assert!(message.contains("compaction pointer"), "{message}");
    }
    let mut bytes = vec![0x05, 1, 8];
    bytes.extend_from_slice(&[0; 8]);
    assert!(VersionEdit::decode(&bytes).is_ok());
}

#[test]
fn a_comparator_name_that_is_not_utf8_is_corruption() {
    corruption_message(&[0x01, 2, 0xff, 0xfe]);
}

#[test]
fn setters_refuse_what_cannot_be_encoded() {
    let mut edit = VersionEdit::new();
    let key = ikey(b"k", 1, 1);
    assert!(matches!(
        edit.add_file(NUM_LEVELS, meta(1, 1, key.clone(), key.clone())),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        edit.add_file(0, meta(1, 1, b"short".to_vec(), key.clone())),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        edit.remove_file(7, 1),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        edit.set_compact_pointer(9, &key),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        edit.set_compact_pointer(0, b""),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(
        edit,
        VersionEdit::new(),
        "a refused change leaves the edit as it was"
    );
}

fn cases() -> u32 {
    std::env::var("GROUPKV_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

fn arb_ikey() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), 0..20),
        any::<u64>(),
        0u8..2,
    )
        .prop_map(|(k, seq, kind)| ikey(&k, seq >> 8, kind))
}

fn arb_edit() -> impl Strategy<Value = VersionEdit> {
    (
        (
            prop::option::of("[a-z.]{0,30}"),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
        ),
        prop::collection::vec((0..NUM_LEVELS, arb_ikey()), 0..4),
        prop::collection::vec((0..NUM_LEVELS, any::<u64>()), 0..6),
        prop::collection::vec(
            (
                0..NUM_LEVELS,
                any::<u64>(),
                any::<u64>(),
                arb_ikey(),
                arb_ikey(),
            ),
            0..6,
        ),
    )
        .prop_map(|((cmp, log, prev, next, last), cps, dels, files)| {
            let mut e = VersionEdit::new();
            if let Some(c) = cmp {
                e.set_comparator(&c).unwrap();
            }
            if let Some(v) = log {
                e.set_log_number(v);
            }
            if let Some(v) = prev {
                e.set_prev_log_number(v);
            }
            if let Some(v) = next {
                e.set_next_file_number(v);
            }
            if let Some(v) = last {
                e.set_last_sequence(v);
            }
            for (level, key) in cps {
                e.set_compact_pointer(level, &key).unwrap();
            }
            for (level, number) in dels {
                e.remove_file(level, number).unwrap();
            }
            for (level, number, size, smallest, largest) in files {
                e.add_file(level, meta(number, size, smallest, largest))
                    .unwrap();
            }
            e
        })
}

/// Decoding never panics; what it accepts re-encodes to something that decodes to the same
/// edit; what it refuses is `Corruption`.
fn check_decode(bytes: &[u8]) {
    match VersionEdit::decode(bytes) {
        Ok(edit) => assert_eq!(VersionEdit::decode(&edit.encode()).unwrap(), edit),
        Err(Error::Corruption { .. }) => {}
        Err(other) => panic!("decode returned {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_edits_round_trip(edit in arb_edit()) {
        let bytes = edit.encode();
        let decoded = VersionEdit::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &edit);
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn decode_of_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_decode(&bytes);
    }

    #[test]
    fn decode_of_damaged_edits_never_panics(
        edit in arb_edit(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut bytes = edit.encode();
        if bytes.is_empty() {
            bytes.push(0);
        }
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] = value;
        }
        check_decode(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        check_decode(&bytes);
    }
}
