//! The sharded LRU cache behind the block cache and the table cache.
//!
//! Behaviour ported from LevelDB's `util/cache_test.cc` (hit and miss, erase, entries stay valid
//! while in use, eviction policy, heavy entries, zero capacity, new ids), plus exact eviction
//! order in a single shard, charge accounting, and many threads at once.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use groupkv::cache::{Cache, DEFAULT_SHARDS};

#[test]
fn hit_and_miss() {
    let cache: Cache<u32, u32> = Cache::new(1000);
    assert_eq!(cache.get(&100), None);
    cache.insert(100, 101, 1);
    assert_eq!(cache.get(&100), Some(101));
    assert_eq!(cache.get(&200), None);
    assert_eq!(cache.get(&300), None);
    cache.insert(200, 201, 1);
    assert_eq!(cache.get(&100), Some(101));
    assert_eq!(cache.get(&200), Some(201));
    // Inserting under an existing key replaces the value.
    cache.insert(100, 102, 1);
    assert_eq!(cache.get(&100), Some(102));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.hits(), 4);
    assert_eq!(cache.misses(), 3);
}

#[test]
fn erase_removes_only_its_key() {
    let cache: Cache<u32, u32> = Cache::new(1000);
    cache.erase(&200);
    cache.insert(100, 101, 1);
    cache.insert(200, 201, 1);
    cache.erase(&100);
    assert_eq!(cache.get(&100), None);
    assert_eq!(cache.get(&200), Some(201));
    cache.erase(&100);
    assert_eq!(cache.get(&200), Some(201));
    assert_eq!(cache.total_charge(), 1);
}

#[test]
fn entries_in_use_stay_valid_after_erase_replace_and_eviction() {
    let cache: Cache<u32, Arc<Vec<u8>>> = Cache::with_shards(2, 1);
    cache.insert(1, Arc::new(vec![1; 100]), 1);
    let held = cache.get(&1).unwrap();
    cache.insert(1, Arc::new(vec![2; 100]), 1);
    assert_eq!(
        held[0], 1,
        "the replaced value is still whole for its holder"
    );
    assert_eq!(cache.get(&1).unwrap()[0], 2);
    let held2 = cache.get(&1).unwrap();
    cache.erase(&1);
    assert_eq!(held2[0], 2);
    assert_eq!(
        Arc::strong_count(&held2),
        1,
        "the cache dropped its reference"
    );
    cache.insert(3, Arc::new(vec![3; 10]), 1);
    let held3 = cache.get(&3).unwrap();
    cache.insert(4, Arc::new(vec![4; 10]), 1);
    cache.insert(5, Arc::new(vec![5; 10]), 1);
    assert_eq!(cache.get(&3), None, "evicted");
    assert_eq!(held3[..], [3; 10]);
    assert_eq!(Arc::strong_count(&held3), 1);
}

#[test]
fn eviction_order_is_least_recently_used() {
    let cache: Cache<u32, u32> = Cache::with_shards(3, 1);
    cache.insert(1, 10, 1);
    cache.insert(2, 20, 1);
    cache.insert(3, 30, 1);
    assert_eq!(cache.get(&1), Some(10)); // 2 is now the least recently used
    cache.insert(4, 40, 1);
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&3), Some(30)); // order, oldest first: 1, 4, 3
    cache.insert(5, 50, 1);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&4), Some(40));
    assert_eq!(cache.get(&3), Some(30));
    assert_eq!(cache.get(&5), Some(50));
    // Replacing a key makes it the most recently used.
    cache.insert(4, 41, 1); // order: 3, 5, 4
    cache.insert(6, 60, 1);
    assert_eq!(cache.get(&3), None);
    assert_eq!(cache.get(&5), Some(50));
    assert_eq!(cache.get(&4), Some(41));
}

#[test]
fn frequently_used_entries_survive_across_shards() {
    // LevelDB's EvictionPolicy with 16 shards: 100 is read between every insert, 200 never.
    // Shards are chosen by a per-cache random hash, so 200's shard must see more inserts than
    // it holds whatever its luck: four capacities' worth puts each shard's share (mean 275,
    // standard deviation 16) far above its 63 entries.
    const CAPACITY: u32 = 1000;
    let cache: Cache<u32, u32> = Cache::new(usize::try_from(CAPACITY).unwrap());
    cache.insert(100, 101, 1);
    cache.insert(200, 201, 1);
    cache.insert(300, 301, 1);
    let pinned = cache.get(&300).unwrap();
    for i in 0..CAPACITY * 4 {
        cache.insert(1000 + i, 2000 + i, 1);
        assert_eq!(cache.get(&(1000 + i)), Some(2000 + i));
        assert_eq!(cache.get(&100), Some(101));
    }
    assert_eq!(cache.get(&100), Some(101));
    assert_eq!(cache.get(&200), None);
    assert_eq!(
        pinned, 301,
        "a value taken out before eviction is unaffected"
    );
}

#[test]
fn charges_are_accounted_and_capacity_is_never_exceeded() {
    let cache: Cache<u32, u32> = Cache::with_shards(100, 1);
    cache.insert(1, 1, 30);
    cache.insert(2, 2, 30);
    assert_eq!(cache.total_charge(), 60);
    cache.insert(1, 1, 50); // replaced: 50 + 30
    assert_eq!(cache.total_charge(), 80);
    cache.insert(3, 3, 40); // over by 20: the oldest (2) goes
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.total_charge(), 90);
    cache.insert(4, 4, 100); // needs the whole cache
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.total_charge(), 100);
    cache.insert(5, 5, 101); // larger than the cache: not kept, nothing evicted for it
    assert_eq!(cache.get(&5), None);
    assert_eq!(cache.get(&4), Some(4));
    cache.insert(4, 4, 101); // a replacement too large for the cache removes the old entry
    assert_eq!(cache.get(&4), None);
    assert_eq!(cache.total_charge(), 0);
    cache.insert(6, 6, 0); // zero-charge entries are allowed
    assert_eq!(cache.total_charge(), 0);
    assert_eq!(cache.get(&6), Some(6));
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn heavy_and_light_entries_stay_within_capacity() {
    // LevelDB's HeavyEntries: weights 1 and 10, inserted until twice the capacity.
    const CAPACITY: usize = 1000;
    let cache: Cache<usize, usize> = Cache::new(CAPACITY);
    let mut added = 0;
    let mut index = 0;
    while added < 2 * CAPACITY {
        let weight = if index % 2 == 0 { 1 } else { 10 };
        cache.insert(index, 1000 + index, weight);
        added += weight;
        index += 1;
    }
    let mut cached_weight = 0;
    for i in 0..index {
        if let Some(v) = cache.get(&i) {
            assert_eq!(v, 1000 + i);
            cached_weight += if i % 2 == 0 { 1 } else { 10 };
        }
    }
    assert_eq!(cached_weight, cache.total_charge());
    // Each shard holds ceil(capacity / shards).
    assert!(cached_weight <= CAPACITY.div_ceil(DEFAULT_SHARDS) * DEFAULT_SHARDS);
    assert!(
        cached_weight > CAPACITY / 2,
        "the cache is used: {cached_weight}"
    );
}

#[test]
fn zero_capacity_caches_nothing() {
    let cache: Cache<u32, u32> = Cache::new(0);
    cache.insert(1, 100, 1);
    cache.insert(2, 200, 0);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.total_charge(), 0);
    assert!(cache.is_empty());
    assert_eq!(cache.misses(), 2);
}

#[test]
fn new_ids_are_distinct() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let a = cache.new_id();
    let b = cache.new_id();
    assert_ne!(a, b);
}

#[test]
fn many_threads_see_only_values_they_could_have_inserted() {
    const THREADS: u64 = 8;
    const OPS: u64 = 20_000;
    const CAPACITY: usize = 500;
    let cache: Arc<Cache<u64, Arc<(u64, u64)>>> = Arc::new(Cache::new(CAPACITY));
    let gets = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let cache = Arc::clone(&cache);
            let gets = Arc::clone(&gets);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = x % 2000;
                    match x >> 60 {
                        0..=5 => cache.insert(
                            key,
                            Arc::new((key, key * 3)),
                            1 + usize::try_from((x >> 50) % 4).unwrap(),
                        ),
                        6..=13 => {
                            gets.fetch_add(1, Ordering::Relaxed);
                            if let Some(v) = cache.get(&key) {
                                assert_eq!(*v, (key, key * 3), "a value under the wrong key");
                            }
                        }
                        _ => cache.erase(&key),
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        if h.join().is_err() {
            stop.store(true, Ordering::Relaxed);
            panic!("a thread failed");
        }
    }
    assert!(cache.total_charge() <= CAPACITY.div_ceil(DEFAULT_SHARDS) * DEFAULT_SHARDS);
    assert_eq!(cache.hits() + cache.misses(), gets.load(Ordering::Relaxed));
    assert!(cache.hits() > 0 && cache.misses() > 0);
    // Every entry left is intact and dropping the cache frees them all.
    let mut held = Vec::new();
    for key in 0..2000 {
        if let Some(v) = cache.get(&key) {
            assert_eq!(*v, (key, key * 3));
            held.push(v);
        }
    }
    assert!(!held.is_empty());
    drop(cache);
    assert!(held.iter().all(|v| Arc::strong_count(v) == 1));
}
