//! The WriteBatch representation: byte-compatible with LevelDB and RocksDB for Put and Delete,
//! and a parser that accepts exactly the well-formed representations.
//!
//! ```text
//! rep    := sequence: fixed64 LE | count: fixed32 LE | record*
//! record := 0x01 varint32(key len) key varint32(value len) value     Put
//!         | 0x00 varint32(key len) key                              Delete
//! ```

// Test data: byte patterns and small lengths, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use groupkv::write_batch::{Record, HEADER_SIZE, MAX_KV_LEN};
use groupkv::{Error, WriteBatch};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

fn build(ops: &[Op]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for op in ops {
        match op {
            Op::Put(k, v) => b.put(k, v).expect("put"),
            Op::Delete(k) => b.delete(k).expect("delete"),
        }
    }
    b
}

fn ops_of(b: &WriteBatch) -> Vec<Op> {
    b.iter()
        .map(|r| match r {
            Record::Put { key, value } => Op::Put(key.to_vec(), value.to_vec()),
            Record::Delete { key } => Op::Delete(key.to_vec()),
        })
        .collect()
}

/// LevelDB's `PutVarint32`, written out independently of the crate's encoder.
fn varint32(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The representation laid out by hand, as LevelDB's and RocksDB's write_batch.cc document it.
fn by_hand(sequence: u64, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        match op {
            Op::Put(k, v) => {
                out.push(0x01);
                varint32(k.len() as u32, &mut out);
                out.extend_from_slice(k);
                varint32(v.len() as u32, &mut out);
                out.extend_from_slice(v);
            }
            Op::Delete(k) => {
                out.push(0x00);
                varint32(k.len() as u32, &mut out);
                out.extend_from_slice(k);
            }
        }
    }
    out
}

fn assert_corruption(bytes: &[u8], what: &str) {
    match WriteBatch::from_data(bytes) {
        Err(Error::Corruption { message }) => {
            assert!(!message.is_empty(), "{what}: the error says what is wrong")
        }
        Ok(b) => panic!("{what}: accepted a malformed batch ({} records)", b.count()),
        Err(e) => panic!("{what}: expected Corruption, got {e}"),
    }
}

fn sample_ops() -> Vec<Op> {
    vec![
        Op::Put(b"foo".to_vec(), b"bar".to_vec()),
        Op::Delete(b"box".to_vec()),
        Op::Put(b"baz".to_vec(), b"boo".to_vec()),
        Op::Put(vec![b'k'; 200], vec![b'v'; 300]), // two-byte varints
        Op::Put(Vec::new(), Vec::new()),
        Op::Delete(Vec::new()),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        (bytes(), bytes()).prop_map(|(k, v)| Op::Put(k, v)),
        bytes().prop_map(Op::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trips(ops in proptest::collection::vec(op_strategy(), 0..40)) {
        let b = build(&ops);
        prop_assert_eq!(b.count() as usize, ops.len());
        prop_assert_eq!(b.is_empty(), ops.is_empty());
        prop_assert_eq!(b.approximate_size(), b.data().len());
        prop_assert_eq!(ops_of(&b), ops.clone());
        // The bytes are exactly the documented layout (sequence 0 until written).
        prop_assert_eq!(b.data(), &by_hand(0, &ops)[..]);
        let parsed = WriteBatch::from_data(b.data()).expect("a built batch parses");
        prop_assert_eq!(ops_of(&parsed), ops.clone());
        prop_assert_eq!(parsed.data(), b.data());
        prop_assert_eq!(&parsed, &b);
    }

    #[test]
    fn hand_laid_bytes_parse_identically(
        sequence in any::<u64>(),
        ops in proptest::collection::vec(op_strategy(), 0..20),
    ) {
        let bytes = by_hand(sequence, &ops);
        let b = WriteBatch::from_data(&bytes).expect("documented layout parses");
        prop_assert_eq!(ops_of(&b), ops.clone());
        prop_assert_eq!(b.count() as usize, ops.len());
        prop_assert_eq!(b.data(), &bytes[..], "kept byte for byte, sequence included");
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Either a valid batch (then it round-trips) or Corruption; never a panic.
        match WriteBatch::from_data(&bytes) {
            Ok(b) => {
                prop_assert_eq!(b.data(), &bytes[..]);
                prop_assert_eq!(b.iter().count(), b.count() as usize);
            }
            Err(Error::Corruption { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error kind: {e}"),
        }
    }

    #[test]
    fn any_flipped_byte_in_a_record_is_caught_or_reparses(
        ops in proptest::collection::vec(op_strategy(), 1..8),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut bytes = by_hand(0, &ops);
        let i = HEADER_SIZE + at.index(bytes.len() - HEADER_SIZE);
        bytes[i] ^= xor;
        // A flipped tag or length must not be silently mis-parsed into a different number of
        // records: either the batch is rejected, or it still has exactly `count` records.
        if let Ok(b) = WriteBatch::from_data(&bytes) {
            prop_assert_eq!(b.iter().count(), b.count() as usize);
            prop_assert_eq!(b.count() as usize, ops.len());
        }
    }
}

#[test]
fn documented_bytes_byte_for_byte() {
    // Put("foo","bar"), Delete("box") with sequence 100, spelled out.
    let bytes: Vec<u8> = [
        &100u64.to_le_bytes()[..],
        &2u32.to_le_bytes()[..],
        &[0x01, 3, b'f', b'o', b'o', 3, b'b', b'a', b'r'][..],
        &[0x00, 3, b'b', b'o', b'x'][..],
    ]
    .concat();
    let b = WriteBatch::from_data(&bytes).expect("parses");
    assert_eq!(b.count(), 2);
    let records: Vec<Record<'_>> = b.iter().collect();
    assert_eq!(
        records,
        vec![
            Record::Put {
                key: b"foo",
                value: b"bar"
            },
            Record::Delete { key: b"box" },
        ]
    );
    // A batch built with the API has the same records after the (unset) sequence.
    let mut built = WriteBatch::new();
    built.put(b"foo", b"bar").expect("put");
    built.delete(b"box").expect("delete");
    assert_eq!(&built.data()[..8], &[0; 8], "sequence is 0 until written");
    assert_eq!(&built.data()[8..], &bytes[8..]);
}

#[test]
fn varint_lengths_use_leveldbs_encoding() {
    let key = vec![b'k'; 300]; // 300 = 0b10_0101100 -> 0xac 0x02
    let value = vec![b'v'; 16_384]; // 2^14 -> 0x80 0x80 0x01
    let mut b = WriteBatch::new();
    b.put(&key, &value).expect("put");
    let d = b.data();
    assert_eq!(d[HEADER_SIZE], 0x01);
    assert_eq!(&d[HEADER_SIZE + 1..HEADER_SIZE + 3], &[0xac, 0x02]);
    let v_at = HEADER_SIZE + 3 + 300;
    assert_eq!(&d[v_at..v_at + 3], &[0x80, 0x80, 0x01]);
    assert_eq!(d.len(), v_at + 3 + 16_384);
}

#[test]
fn empty_keys_and_values() {
    let mut b = WriteBatch::new();
    b.put(b"", b"").expect("empty put");
    b.delete(b"").expect("empty delete");
    b.put(b"k", b"").expect("empty value");
    b.put(b"", b"v").expect("empty key");
    assert_eq!(b.count(), 4);
    assert_eq!(
        &b.data()[HEADER_SIZE..],
        &[0x01, 0, 0, 0x00, 0, 0x01, 1, b'k', 0, 0x01, 0, 1, b'v']
    );
    let parsed = WriteBatch::from_data(b.data()).expect("parses");
    assert_eq!(ops_of(&parsed), ops_of(&b));
    assert_eq!(
        ops_of(&b),
        vec![
            Op::Put(vec![], vec![]),
            Op::Delete(vec![]),
            Op::Put(b"k".to_vec(), vec![]),
            Op::Put(vec![], b"v".to_vec()),
        ]
    );
}

#[test]
fn empty_batch() {
    let b = WriteBatch::new();
    assert_eq!(b.data(), &[0u8; HEADER_SIZE]);
    assert!(b.is_empty());
    assert_eq!(b.iter().count(), 0);
    let parsed = WriteBatch::from_data(&[0u8; HEADER_SIZE]).expect("header only");
    assert!(parsed.is_empty());
    // A header-only batch with a sequence is fine too (groupkv's bases end with one).
    let mut with_seq = 77u64.to_le_bytes().to_vec();
    with_seq.extend_from_slice(&0u32.to_le_bytes());
    assert!(WriteBatch::from_data(&with_seq).expect("parses").is_empty());
}

#[test]
fn iteration_is_insertion_order_with_repeats() {
    let ops = vec![
        Op::Put(b"b".to_vec(), b"1".to_vec()),
        Op::Put(b"a".to_vec(), b"2".to_vec()),
        Op::Delete(b"b".to_vec()),
        Op::Put(b"b".to_vec(), b"3".to_vec()),
        Op::Delete(b"zz".to_vec()),
    ];
    let b = build(&ops);
    assert_eq!(ops_of(&b), ops);
    assert_eq!((&b).into_iter().count(), 5);
}

#[test]
fn clear_resets() {
    let mut b = build(&sample_ops());
    b.clear();
    assert_eq!(b.data(), &[0u8; HEADER_SIZE]);
    assert_eq!(b.count(), 0);
    b.put(b"x", b"y").expect("put after clear");
    assert_eq!(ops_of(&b), vec![Op::Put(b"x".to_vec(), b"y".to_vec())]);
}

#[test]
fn every_truncation_is_rejected() {
    let data = by_hand(42, &sample_ops());
    assert!(WriteBatch::from_data(&data).is_ok());
    for len in 0..data.len() {
        assert_corruption(
            &data[..len],
            &format!("truncated to {len} of {}", data.len()),
        );
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut data = by_hand(1, &sample_ops());
    data.push(0x01); // the tag of a record that never comes
    assert_corruption(&data, "a dangling tag");
    let mut data = by_hand(1, &sample_ops());
    data.extend_from_slice(&[0x00, 0x00]); // a whole extra (empty) delete
    assert_corruption(&data, "one record more than the count");
}

#[test]
fn count_mismatch_is_rejected() {
    let ops = sample_ops();
    let data = by_hand(9, &ops);
    for count in [0u32, ops.len() as u32 - 1, ops.len() as u32 + 1, u32::MAX] {
        let mut d = data.clone();
        d[8..12].copy_from_slice(&count.to_le_bytes());
        assert_corruption(&d, &format!("count {count} for {} records", ops.len()));
    }
}

#[test]
fn bad_tags_are_rejected() {
    // Everything but Put (0x1) and Delete (0x0): Merge, LogData, the column-family and
    // transaction tags of RocksDB, and garbage.
    for tag in 0x02..=0xffu8 {
        let mut d = by_hand(0, &[Op::Put(b"k".to_vec(), b"v".to_vec())]);
        d[HEADER_SIZE] = tag;
        assert_corruption(&d, &format!("tag {tag:#04x}"));
    }
}

#[test]
fn corrupted_lengths_are_rejected() {
    let base = by_hand(0, &[Op::Put(b"key".to_vec(), b"value".to_vec())]);
    let key_len_at = HEADER_SIZE + 1;
    let value_len_at = HEADER_SIZE + 2 + 3;
    assert_eq!(base[key_len_at], 3);
    assert_eq!(base[value_len_at], 5);

    // Lengths that run past the end.
    for (at, len) in [(key_len_at, 100u8), (value_len_at, 6), (value_len_at, 0x7f)] {
        let mut d = base.clone();
        d[at] = len;
        assert_corruption(&d, &format!("length {len} at {at}"));
    }
    // A shorter value length leaves bytes that are not a record.
    let mut d = base.clone();
    d[value_len_at] = 4;
    assert_corruption(&d, "value length one short");
    // A varint that never ends, and one longer than 32 bits.
    let mut d = base[..key_len_at].to_vec();
    d.extend_from_slice(&[0x80, 0x80, 0x80]);
    assert_corruption(&d, "unterminated varint");
    let mut d = base[..key_len_at].to_vec();
    d.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x7f, b'k']);
    assert_corruption(&d, "varint over 32 bits");
    // A huge (but valid varint32) length is checked against the bytes present, not trusted.
    let mut d = base[..key_len_at].to_vec();
    varint32(u32::MAX, &mut d);
    d.extend_from_slice(b"key");
    assert_corruption(&d, "4 GiB - 1 key length in a tiny batch");
}

#[test]
fn keys_and_values_over_4_gib_are_rejected_without_truncation() {
    // Lazily mapped zero pages: nothing is touched unless the length check is skipped. 2^32 + 3
    // bytes would become a 3-byte key or value if a length were cast with `as u32`.
    let huge = vec![0u8; (1 << 32) + 3];
    assert_eq!(huge.len(), MAX_KV_LEN + 4);
    let mut b = WriteBatch::new();
    b.put(b"ok", b"1").expect("put");
    let before = b.data().to_vec();
    for (what, result) in [
        ("key is 4294967299", b.put(&huge, b"v")),
        ("value is 4294967299", b.put(b"k", &huge)),
        ("key is 4294967299", b.put(&huge, &huge)),
        ("key is 4294967299", b.delete(&huge)),
        ("key is 4294967296", b.put(&huge[..1 << 32], b"")),
    ] {
        match result {
            Err(Error::InvalidArgument { message }) => {
                assert!(message.contains(what), "{what}: {message}");
                assert!(message.contains("4294967295"), "{what}: {message}");
                assert!(message.contains("4 GiB - 1"), "{what}: {message}");
            }
            other => panic!("{what}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert_eq!(
        b.data(),
        &before[..],
        "a rejected put leaves the batch unchanged"
    );
    assert_eq!(b.count(), 1);
}

#[test]
fn db_rejects_oversized_keys_and_values() {
    use groupkv::fs::MemFs;
    use groupkv::{Options, WriteOptions, DB};
    use std::sync::Arc;

    let fs = MemFs::new();
    let db = DB::open(
        "/db",
        Options {
            file_system: Arc::new(fs),
            ..Options::default()
        },
    )
    .expect("open");
    let huge = vec![0u8; (1 << 32) + 3];
    let w = WriteOptions::default();
    for result in [
        db.put(&w, &huge, b"v"),
        db.put(&w, b"k", &huge),
        db.delete(&w, &huge),
    ] {
        assert!(
            matches!(result, Err(Error::InvalidArgument { .. })),
            "{result:?}"
        );
    }
    drop(huge);
    // Nothing reached the WAL or the memtable: in particular no 3-byte truncated key.
    assert_eq!(db.latest_sequence(), 0);
    assert_eq!(db.get(&[0, 0, 0]).expect("get"), None);
    assert_eq!(db.stats().wal_bytes, 0);
}
