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

/// A whole MANIFEST that LevelDB 1.23 wrote: 29 records (every tag: comparator, log numbers,
/// next file, last sequence, compact pointers, deleted and new files, user keys with a
/// non-printable byte and a quote), after three rounds of 3,000 puts with 64 KiB write
/// buffers and a full compaction.
const LEVELDB_MANIFEST: &str = "\
    56f9b8f81c0001011a6c6576656c64622e4279746577697365436f6d70617261746f72a49c8bbe0800010203\
    0900030404005d0861bd2a000102040900030604e806070205d72f0c016b273001010000000000000e016b27\
    39393901420100000000009c61312c2d00010206090003080485090701079c2f0f016b273130303101a80200\
    000000000e016b273939320139020000000000950e0d812d000102080900030a04be0c070009aa2f0f016b27\
    31303033010e0400000000000e016b2739393601050500000000006f73f9822a0001020a0900030c04f10f07\
    000bb42f0c016b273101900600000000000e016b27393938016b0600000000000ede6bce2b0001020c090003\
    0e04b51307000da12f0d016b27313001ff0600000000000e016b2739393101620700000000003799aeee2d00\
    01020e0900031004eb1607000faf2f0f016b273130303201370900000000000e016b27393935012e0a000000\
    0000a7917c332a000102110900031304b41a070012b0310c016b273001b90b00000000000e016b2739393701\
    940b0000000000c811ae9c2d000102130900031504d21d0700149c2f0f016b273130303601030c0000000000\
    0e016b2739393901fa0c0000000000cc64f8822d000102150900031704f220070016b72f0f016b2731303031\
    01600e00000000000e016b2739393201f10d00000000000eadb0c72d000102170900031904ca240700188c2f\
    0f016b273130303301c60f00000000000e016b2739393601bd100000000000f09ba8de4b0001021709000319\
    04bc2505000e016b27393938016b06000000000006000906000b06000d06000f060107070110fdd7010c016b\
    273101900600000000000e016b27393938016b060000000000048ad6a62a000102190900031b04e32707001a\
    b72f0c016b273101481200000000000e016b27393938012312000000000090e8d3d42d0001021c0900031e04\
    9b2b07001d872f0f016b273130303001891300000000000e016b27393931011a1300000000001ede53c82d00\
    01021e0900032004d32e07001f802f0f016b273130303201ef1400000000000e016b2739393501e615000000\
    0000c8ddb1362a0001022009000322048432070021e8320c016b273001711700000000000e016b2739393701\
    4c170000000000bcdba6a24e000102200900032204f63205000e016b2739393901fa0c000000000006001206\
    001406001606001806001a06011007011bcab8020c016b273001b90b00000000000e016b2739393901fa0c00\
    000000002e96c6112d000102220900032404cd35070023a72f0f016b273130303801211900000000000e016b\
    2739393901b218000000000008c1cdab2d000102240900032704ff38070026af2f0f016b273130303101181a\
    00000000000e016b27393934010f1b0000000000768c71ba2d0001022709000329049b3c070028b62f0f016b\
    2731303033017e1b00000000000e016b2739393601751c00000000005737c5cc2a000102290900032b04c73f\
    07002acc2f0c016b273101001e00000000000e016b2739393801db1d000000000001401d172d0001022b0900\
    032d04fb4207002cad2f0f016b273130303001411f00000000000e016b2739393301382000000000005bfa62\
    934b0001022b0900032d04ed4305000e016b2739393901b218000000000006001d06001f0600210600230601\
    1b070125d7b4020c016b273001711700000000000e016b2739393901b218000000000028c9767d2d0001022e\
    0900033004a84607002fa82f0f016b273130303201a72000000000000e016b27393935019e21000000000086\
    f6df612c000102300900033204a846070031e71e0e016b2731303001c52200000000000e016b273939370104\
    230000000000dfe5d4ea4b000102300900033204a84605000e016b2739393801db1d00000000000600260600\
    2806002a06002c06012507012d90b6020c016b273001711700000000000e016b2739393901b2180000000000\
    2b7ce78a45000102300900033304a84605000e016b27393937010423000000000006002f06003106012d0701\
    32cba8020c016b273001711700000000000e016b2739393901b21800000000009010f0594200010230090003\
    3404a84605010e016b2739393901b2180000000000060132060205070233cba8020c016b2730017117000000\
    00000e016b2739393901b2180000000000";

/// What `leveldb::DumpFile` printed for that MANIFEST: its first three and last three records.
const LEVELDB_DUMP_EXCERPT: &str = "\
--- offset 0; VersionEdit {
  Comparator: leveldb.BytewiseComparator
}
--- offset 35; VersionEdit {
  LogNumber: 3
  PrevLogNumber: 0
  NextFile: 4
  LastSeq: 0
}
--- offset 50; VersionEdit {
  LogNumber: 4
  PrevLogNumber: 0
  NextFile: 6
  LastSeq: 872
  AddFile: 2 5 6103 '\\x01k'0' @ 1 : 1 .. '\\x01k'999' @ 322 : 1
}
--- offset 1370; VersionEdit {
  LogNumber: 48
  PrevLogNumber: 0
  NextFile: 50
  LastSeq: 9000
  CompactPointer: 0 '\\x01k'998' @ 7643 : 1
  RemoveFile: 0 38
  RemoveFile: 0 40
  RemoveFile: 0 42
  RemoveFile: 0 44
  RemoveFile: 1 37
  AddFile: 1 45 39696 '\\x01k'0' @ 6001 : 1 .. '\\x01k'999' @ 6322 : 1
}
--- offset 1452; VersionEdit {
  LogNumber: 48
  PrevLogNumber: 0
  NextFile: 51
  LastSeq: 9000
  CompactPointer: 0 '\\x01k'997' @ 8964 : 1
  RemoveFile: 0 47
  RemoveFile: 0 49
  RemoveFile: 1 45
  AddFile: 1 50 37963 '\\x01k'0' @ 6001 : 1 .. '\\x01k'999' @ 6322 : 1
}
--- offset 1528; VersionEdit {
  LogNumber: 48
  PrevLogNumber: 0
  NextFile: 52
  LastSeq: 9000
  CompactPointer: 1 '\\x01k'999' @ 6322 : 1
  RemoveFile: 1 50
  RemoveFile: 2 5
  AddFile: 2 51 37963 '\\x01k'0' @ 6001 : 1 .. '\\x01k'999' @ 6322 : 1
}
";

/// The payloads of a log file's records (all FULL fragments in one block here), checksums
/// verified, with the offset of each record's header.
fn log_records(file: &[u8]) -> Vec<(usize, &[u8])> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos + 7 <= file.len() {
        let stored = u32::from_le_bytes(file[pos..pos + 4].try_into().unwrap());
        let len = usize::from(u16::from_le_bytes([file[pos + 4], file[pos + 5]]));
        assert_eq!(file[pos + 6], 1, "a FULL fragment at {pos}");
        let payload = &file[pos + 7..pos + 7 + len];
        let crc = groupkv::checksum::crc32c(&file[pos + 6..pos + 7 + len]);
        assert_eq!(groupkv::checksum::mask(crc), stored, "checksum at {pos}");
        records.push((pos, payload));
        pos += 7 + len;
    }
    assert_eq!(pos, file.len());
    records
}

#[test]
fn a_manifest_leveldb_wrote_decodes_reencodes_and_prints_as_leveldb_prints_it() {
    let file = unhex(LEVELDB_MANIFEST);
    let records = log_records(&file);
    assert_eq!(records.len(), 29);
    let mut dump = Vec::new();
    for (offset, payload) in &records {
        let edit = VersionEdit::decode(payload).unwrap();
        assert_eq!(
            &edit.encode(),
            payload,
            "record at {offset} re-encodes to other bytes"
        );
        dump.push(format!("--- offset {offset}; {edit}"));
    }
    let excerpt: Vec<&str> = dump[..3]
        .iter()
        .chain(&dump[dump.len() - 3..])
        .map(String::as_str)
        .collect();
    assert_eq!(excerpt.concat(), LEVELDB_DUMP_EXCERPT);
    // Every tag occurs in it.
    let edits: Vec<VersionEdit> = records
        .iter()
        .map(|(_, p)| VersionEdit::decode(p).unwrap())
        .collect();
    assert!(edits.iter().any(|e| !e.compact_pointers().is_empty()));
    assert!(edits.iter().any(|e| !e.deleted_files().is_empty()));
    assert!(edits.iter().any(|e| !e.new_files().is_empty()));
}

#[test]
fn the_text_escapes_bytes_and_marks_keys_leveldb_cannot_parse() {
    let mut edit = VersionEdit::new();
    edit.add_file(0, meta(1, 2, ikey(b"a\xff", 3, 1), ikey(b"z", 4, 0)))
        .unwrap();
    assert_eq!(
        edit.to_string(),
        "VersionEdit {\n  AddFile: 0 1 2 'a\\xff' @ 3 : 1 .. 'z' @ 4 : 0\n}\n"
    );
    // A kind above 1 is not an internal key LevelDB can parse.
    let mut edit = VersionEdit::new();
    edit.set_compact_pointer(1, &ikey(b"k", 5, 7)).unwrap();
    assert_eq!(
        edit.to_string(),
        "VersionEdit {\n  CompactPointer: 1 (bad)k\\x07\\x05\\x00\\x00\\x00\\x00\\x00\\x00\n}\n"
    );
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
