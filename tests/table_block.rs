//! Blocks on their own: LevelDB's block tests as behaviour. Entries read back in order both
//! ways, seeks land on the first key at or after the target, with restart intervals 1 and 16
//! and more; the bytes are LevelDB's; damage gives errors, not panics.
#![allow(clippy::unwrap_used)]
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use std::sync::Arc;

use groupkv::table::block::{bytewise, Block};
use groupkv::table::block_builder::BlockBuilder;
use groupkv::Error;

fn build(restart_interval: usize, entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut b = BlockBuilder::new(restart_interval);
    for (k, v) in entries {
        assert!(b.add(k, v));
    }
    b.finish().to_vec()
}

fn entries(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            // Shared prefixes of varying length, and an empty value now and then.
            let k = format!("{}{i:06}", "p".repeat(i % 5)).into_bytes();
            let k = [b"key".as_slice(), &k].concat();
            let v = if i % 7 == 0 {
                Vec::new()
            } else {
                format!("value{i}").into_bytes()
            };
            (k, v)
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

fn open(bytes: Vec<u8>) -> Arc<Block> {
    Arc::new(Block::new(bytes, "test block").unwrap())
}

#[test]
fn empty_block_is_eight_bytes_and_has_no_entries() {
    let bytes = build(16, &[]);
    assert_eq!(bytes, [0, 0, 0, 0, 1, 0, 0, 0]);
    let block = open(bytes);
    let mut it = block.iter(bytewise);
    it.seek_to_first().unwrap();
    assert!(!it.valid());
    it.seek_to_last().unwrap();
    assert!(!it.valid());
    it.seek(b"anything").unwrap();
    assert!(!it.valid());
}

#[test]
fn bytes_are_prefix_compressed_with_restarts() {
    let bytes = build(
        2,
        &[
            (b"apple".to_vec(), b"1".to_vec()),
            (b"apply".to_vec(), b"22".to_vec()),
            (b"banana".to_vec(), b"".to_vec()),
        ],
    );
    #[rustfmt::skip]
    let expect: Vec<u8> = [
        &[0u8, 5, 1][..], b"apple", b"1",      // restart 0: whole key
        &[4, 1, 2], b"y", b"22",               // shares "appl"
        &[0, 6, 0], b"banana",                 // restart 1 at offset 15
        &[0, 0, 0, 0, 15, 0, 0, 0, 2, 0, 0, 0],
    ]
    .concat();
    assert_eq!(bytes, expect);
}

fn check_all_ways(restart_interval: usize, data: &[(Vec<u8>, Vec<u8>)]) {
    let block = open(build(restart_interval, data));
    let mut it = block.iter(bytewise);
    // Forward.
    it.seek_to_first().unwrap();
    for (k, v) in data {
        assert!(it.valid());
        assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
        it.next().unwrap();
    }
    assert!(!it.valid());
    // Backward.
    it.seek_to_last().unwrap();
    for (k, v) in data.iter().rev() {
        assert!(it.valid());
        assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
        it.prev().unwrap();
    }
    assert!(!it.valid());
    // Seeks to each key, and to just after each key.
    for (i, (k, v)) in data.iter().enumerate() {
        it.seek(k).unwrap();
        assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
        let mut after = k.clone();
        after.push(0);
        it.seek(&after).unwrap();
        match data.get(i + 1) {
            Some((next, _)) => assert_eq!(it.key(), &next[..]),
            None => assert!(!it.valid()),
        }
    }
    it.seek(b"").unwrap();
    if let Some((k, _)) = data.first() {
        assert_eq!(it.key(), &k[..]);
    }
    it.seek(b"\xff").unwrap();
    assert!(!it.valid());
}

#[test]
fn reads_back_with_every_restart_interval() {
    for n in [1, 2, 15, 16, 17, 100, 1000] {
        let data = entries(n);
        for restart in [1, 2, 16, 100] {
            check_all_ways(restart, &data);
        }
    }
}

#[test]
fn empty_keys_values_and_large_values() {
    let data = vec![
        (Vec::new(), b"empty key".to_vec()),
        (b"a".to_vec(), vec![b'x'; 100_000]),
        (b"b".to_vec(), Vec::new()),
    ];
    check_all_ways(16, &data);
    check_all_ways(1, &data);
}

#[test]
fn malformed_restart_arrays_are_rejected() {
    for bad in [
        vec![],
        vec![1, 0, 0],
        vec![2, 0, 0, 0],             // two restarts claimed, room for none
        vec![9, 0, 0, 0, 1, 0, 0, 0], // restart point past the entries
    ] {
        assert!(matches!(
            Block::new(bad, "b"),
            Err(Error::Corruption { .. })
        ));
    }
}

#[test]
fn damaged_entries_give_errors_and_invalidate_the_cursor() {
    let data = entries(40);
    let good = build(16, &data);
    // Each byte of the entries set to 0xff in turn: a bad varint or a length past the end
    // must be noticed by some operation, and nothing may panic.
    let entries_end = good.len() - 4 * 4; // three restarts and the count
    let mut errors = 0;
    for at in 0..entries_end {
        let mut bad = good.clone();
        bad[at] = 0xff;
        let Ok(block) = Block::new(bad, "damaged") else {
            continue;
        };
        let block = Arc::new(block);
        let mut it = block.iter(bytewise);
        let mut steps = 0;
        let r = (|| {
            it.seek_to_first()?;
            while it.valid() {
                it.next()?;
                steps += 1;
                assert!(steps <= data.len() * 2);
            }
            it.seek_to_last()?;
            while it.valid() {
                it.prev()?;
                steps += 1;
                assert!(steps <= data.len() * 4);
            }
            it.seek(b"key0000")?;
            Ok::<_, Error>(())
        })();
        if let Err(e) = r {
            assert!(matches!(e, Error::Corruption { .. }));
            assert!(e.to_string().contains("damaged"), "{e}");
            assert!(!it.valid());
            errors += 1;
        }
    }
    assert!(errors > 0, "some damage is detected by the format alone");
}
