//! The bloom filter: LevelDB's `util/bloom_test.cc` as behaviour. No false negatives ever,
//! and at 10 bits per key a false-positive rate of at most 2 % for every key count, with few
//! "mediocre" filters (above 1.25 %).
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use groupkv::table::bloom::BloomPolicy;

fn key(i: u32) -> [u8; 4] {
    i.to_le_bytes()
}

fn next_length(len: usize) -> usize {
    if len < 10 {
        len + 1
    } else if len < 100 {
        len + 10
    } else if len < 1000 {
        len + 100
    } else {
        len + 1000
    }
}

#[test]
fn varying_lengths_keep_leveldbs_bounds() {
    let policy = BloomPolicy::new(10);
    let (mut mediocre, mut good) = (0, 0);
    let mut len = 1;
    while len <= 10_000 {
        let keys: Vec<[u8; 4]> = (0..len as u32).map(key).collect();
        let mut filter = Vec::new();
        policy.create_filter(keys.iter().map(|k| &k[..]), &mut filter);
        assert!(
            filter.len() <= len * 10 / 8 + 40,
            "{len} keys: {} bytes",
            filter.len()
        );
        for k in &keys {
            assert!(
                BloomPolicy::key_may_match(k, &filter),
                "false negative at {len}"
            );
        }
        let hits = (0..10_000u32)
            .filter(|i| BloomPolicy::key_may_match(&key(i + 1_000_000_000), &filter))
            .count();
        let rate = hits as f64 / 10_000.0;
        assert!(rate <= 0.02, "{len} keys: false-positive rate {rate}");
        if rate > 0.0125 {
            mediocre += 1;
        } else {
            good += 1;
        }
        len = next_length(len);
    }
    println!("bloom: {good} good filters, {mediocre} mediocre");
    assert!(mediocre <= good / 5, "{mediocre} mediocre vs {good} good");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn filters_are_leveldbs_bytes() {
    // The expected bytes were printed by LevelDB 1.23's NewBloomFilterPolicy(10)->CreateFilter
    // (Debian libleveldb-dev) for the same keys.
    let policy = BloomPolicy::new(10);
    let mut filter = Vec::new();
    policy.create_filter([&b"hello"[..], b"world"].into_iter(), &mut filter);
    assert_eq!(hex(&filter), "114000414410401006");
    let keys: Vec<Vec<u8>> = (0..20).map(|i| format!("key{i}").into_bytes()).collect();
    let mut twenty = vec![0xaa];
    policy.create_filter(keys.iter().map(|k| &k[..]), &mut twenty);
    // Appended after what was there (filters are concatenated in a filter block).
    assert_eq!(twenty[0], 0xaa);
    assert_eq!(
        hex(&twenty[1..]),
        "3a16785c0477c434680a18e40040393be12025c813234247e406"
    );
}
