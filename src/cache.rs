//! A sharded LRU cache, the shape of LevelDB's `util/cache.cc`: it backs the block cache
//! (charge = block bytes, 8 MiB by default) and the table cache (charge 1 per open table,
//! `max_open_files`).
//!
//! The key space is split over shards by hash (16 by default, as LevelDB does) so that threads
//! reading different blocks rarely wait for the same lock. Each shard is a mutex around a hash
//! map from key to slot and a doubly linked recency list threaded through a `Vec` of slots by
//! index: lookup, insert, erase and eviction are O(1) and there is no `unsafe`.
//!
//! Values are handed out as clones — an `Arc<Block>` or `Arc<Table>` in practice — so an entry
//! that is evicted or erased while a reader still uses it stays valid for that reader: the
//! cache only drops its own reference. (LevelDB needs handles and reference counts for this;
//! `Arc` is both.)
//!
//! Each shard holds `ceil(capacity / shards)` of charge. An insert that takes a shard over its
//! capacity evicts that shard's least recently used entries until it fits; an entry whose
//! charge alone exceeds the shard's capacity is not kept at all. A capacity of 0 caches
//! nothing.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sync::Mutex;

/// LevelDB's shard count (`kNumShards = 1 << 4`).
pub const DEFAULT_SHARDS: usize = 16;

/// "No slot": the end of the recency list.
const NIL: usize = usize::MAX;

/// A thread-safe, sharded LRU cache from `K` to `V` with a capacity in units of *charge*.
///
/// `K` is cloned once per insert: the recency list keeps a copy so that evicting an entry can
/// remove it from the shard's map. Keys are small (a file number, a cache id and an offset).
pub struct Cache<K, V> {
    shards: Box<[Mutex<Shard<K, V>>]>,
    hasher: KeyHasher,
    capacity: usize,
    next_id: AtomicU64,
}

impl<K, V> fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Cache<K, V> {
    /// A cache holding up to `capacity` of charge in [`DEFAULT_SHARDS`] shards.
    pub fn new(capacity: usize) -> Self {
        Cache::with_shards(capacity, DEFAULT_SHARDS)
    }

    /// A cache holding up to `capacity` of charge in `shards` shards (at least 1). With one
    /// shard the eviction order is exactly least-recently-used over the whole cache.
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        let shards = shards.max(1);
        let per_shard = capacity.div_ceil(shards);
        let hasher = KeyHasher::new();
        Cache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard::new(per_shard, hasher)))
                .collect(),
            hasher,
            capacity,
            next_id: AtomicU64::new(0),
        }
    }

    /// The capacity given at construction.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores `value` under `key` as the most recently used entry, replacing any entry with
    /// that key, then evicts least recently used entries of the key's shard until the shard is
    /// within its capacity. An entry whose `charge` exceeds the shard's capacity (every entry
    /// when the capacity is 0) is not stored, and an old entry with the same key is removed.
    pub fn insert(&self, key: K, value: V, charge: usize) {
        self.shard(&key)
            .lock()
            .insert(key, value, charge, &mut drop);
    }

    /// [`insert`](Self::insert), handing the cache's own reference to every value it removes
    /// (evicted, or replaced under `key`) to `removed`, which runs under the shard's lock.
    pub fn insert_evicting(&self, key: K, value: V, charge: usize, removed: &mut dyn FnMut(V)) {
        self.shard(&key).lock().insert(key, value, charge, removed);
    }

    /// The value stored under `key`, which becomes the most recently used entry. Counts a hit
    /// or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        self.shard(key).lock().get(key)
    }

    /// Removes the entry under `key`, if any. Clones handed out earlier stay valid.
    pub fn erase(&self, key: &K) {
        self.shard(key).lock().erase(key);
    }

    /// Removes every entry.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            shard.lock().clear();
        }
    }

    /// The sum of the charges of the entries held now.
    pub fn total_charge(&self) -> usize {
        self.shards.iter().map(|s| s.lock().usage).sum()
    }

    /// The number of entries held now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many [`get`](Self::get) calls found their key.
    pub fn hits(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().hits).sum()
    }

    /// How many [`get`](Self::get) calls did not find their key.
    pub fn misses(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().misses).sum()
    }

    /// A number never returned before by this cache (LevelDB's `Cache::NewId`): users that
    /// share one cache prefix their keys with it, as each open table does in the block cache.
    pub fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn shard(&self, key: &K) -> &Mutex<Shard<K, V>> {
        let hash = self.hasher.hash_one(key);
        let n = u64::try_from(self.shards.len()).unwrap_or(1);
        // The remainder is below the shard count, which is a usize.
        let index = usize::try_from(hash % n).unwrap_or(0);
        &self.shards[index]
    }
}

/// Hashes the cache's keys: a few integers (a file number, a cache id and an offset) that the
/// engine chooses, not a user. SipHash (the std default) cost 5 hashes of ~20 ns per block
/// cache miss (shard, lookup, erase, eviction, insert); this is a multiply-rotate per word and a
/// final mix, seeded per cache so that its layout still differs between processes.
#[derive(Debug, Clone, Copy)]
pub struct KeyHasher {
    seed: u64,
}

impl KeyHasher {
    fn new() -> Self {
        KeyHasher {
            seed: RandomState::new().hash_one(0x0063_6163_6865_u64),
        }
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher { h: self.seed }
    }
}

/// The hasher of [`KeyHasher`].
#[derive(Debug)]
pub struct WordHasher {
    h: u64,
}

impl WordHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn add(&mut self, word: u64) {
        self.h = (self.h.rotate_left(23) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            // The length keeps "ab" and "ab\0" apart.
            let len = u64::try_from(rest.len()).unwrap_or(0);
            self.add(u64::from_le_bytes(b) ^ (len << 59));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        // usize is at most 64 bits on every target this builds for.
        self.add(u64::try_from(n).unwrap_or(u64::MAX));
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's finalizer: every output bit depends on every input bit, so the shard
        // (the low bits modulo the shard count) and the map's buckets both spread.
        let mut h = self.h;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// One entry, linked into its shard's recency list.
struct Node<K, V> {
    key: K,
    value: V,
    charge: usize,
    /// Towards the most recently used end.
    newer: usize,
    /// Towards the least recently used end.
    older: usize,
}

/// One shard: a map to slots and a recency list through them. Guarded by its mutex.
struct Shard<K, V> {
    capacity: usize,
    usage: usize,
    map: HashMap<K, usize, KeyHasher>,
    /// Slots of the list; `None` marks a free slot, listed in `free`.
    slots: Vec<Option<Node<K, V>>>,
    free: Vec<usize>,
    /// The most recently used slot, or NIL.
    newest: usize,
    /// The least recently used slot (the next to evict), or NIL.
    oldest: usize,
    hits: u64,
    misses: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Shard<K, V> {
    fn new(capacity: usize, hasher: KeyHasher) -> Self {
        Shard {
            capacity,
            usage: 0,
            map: HashMap::with_hasher(hasher),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            hits: 0,
            misses: 0,
        }
    }

    fn insert(&mut self, key: K, value: V, charge: usize, removed: &mut dyn FnMut(V)) {
        if let Some(old) = self.erase(&key) {
            removed(old);
        }
        // A shard has capacity 0 only when the whole cache has: then it keeps nothing, not
        // even entries charged 0.
        if self.capacity == 0 || charge > self.capacity {
            return;
        }
        // Make room first, so the new entry is never its own victim.
        while self.usage + charge > self.capacity && self.oldest != NIL {
            if let Some(old) = self.remove_slot(self.oldest) {
                removed(old);
            }
        }
        let node = Node {
            key: key.clone(),
            value,
            charge,
            newer: NIL,
            older: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(node);
                slot
            }
            None => {
                self.slots.push(Some(node));
                self.slots.len() - 1
            }
        };
        self.push_newest(slot);
        self.usage += charge;
        self.map.insert(key, slot);
    }

    fn get(&mut self, key: &K) -> Option<V> {
        let Some(&slot) = self.map.get(key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        self.unlink(slot);
        self.push_newest(slot);
        self.slots[slot].as_ref().map(|n| n.value.clone())
    }

    /// Removes `key`'s entry, returning the cache's clone of its value.
    fn erase(&mut self, key: &K) -> Option<V> {
        let &slot = self.map.get(key)?;
        self.remove_slot(slot)
    }

    fn clear(&mut self) {
        while self.oldest != NIL {
            self.remove_slot(self.oldest);
        }
    }

    /// Unlinks `slot`, forgets its key and frees it, returning the cache's clone of the value.
    fn remove_slot(&mut self, slot: usize) -> Option<V> {
        self.unlink(slot);
        let node = self.slots[slot].take();
        self.free.push(slot);
        let node = node?;
        self.usage -= node.charge;
        if let Entry::Occupied(e) = self.map.entry(node.key) {
            e.remove();
        }
        Some(node.value)
    }

    fn unlink(&mut self, slot: usize) {
        let (newer, older) = match &self.slots[slot] {
            Some(n) => (n.newer, n.older),
            None => return,
        };
        match newer {
            NIL => self.newest = older,
            i => self.set_older(i, older),
        }
        match older {
            NIL => self.oldest = newer,
            i => self.set_newer(i, newer),
        }
        self.set_newer(slot, NIL);
        self.set_older(slot, NIL);
    }

    fn push_newest(&mut self, slot: usize) {
        let previous = self.newest;
        self.set_older(slot, previous);
        self.set_newer(slot, NIL);
        match previous {
            NIL => self.oldest = slot,
            i => self.set_newer(i, slot),
        }
        self.newest = slot;
    }

    fn set_newer(&mut self, slot: usize, to: usize) {
        if let Some(n) = self.slots[slot].as_mut() {
            n.newer = to;
        }
    }

    fn set_older(&mut self, slot: usize, to: usize) {
        if let Some(n) = self.slots[slot].as_mut() {
            n.older = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the list both ways and checks it against the map and the usage.
    fn check_invariants<K: Hash + Eq + Clone, V: Clone>(s: &Shard<K, V>) {
        let mut forward = Vec::new();
        let mut at = s.oldest;
        while at != NIL {
            forward.push(at);
            at = s.slots[at].as_ref().expect("linked slot is used").newer;
        }
        let mut backward = Vec::new();
        let mut at = s.newest;
        while at != NIL {
            backward.push(at);
            at = s.slots[at].as_ref().expect("linked slot is used").older;
        }
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), s.map.len());
        let usage: usize = forward
            .iter()
            .map(|&i| s.slots[i].as_ref().map_or(0, |n| n.charge))
            .sum();
        assert_eq!(usage, s.usage);
        assert!(s.usage <= s.capacity);
        for (k, &slot) in &s.map {
            assert!(s.slots[slot].as_ref().is_some_and(|n| &n.key == k));
        }
    }

    #[test]
    fn list_stays_consistent_through_mixed_operations() {
        let mut s: Shard<u32, u32> = Shard::new(50, KeyHasher::new());
        let mut x: u32 = 12345;
        for _ in 0..5000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let key = (x >> 8) % 40;
            match x % 4 {
                0 | 1 => s.insert(key, key, usize::try_from(x % 7).unwrap(), &mut drop),
                2 => {
                    s.get(&key);
                }
                _ => {
                    s.erase(&key);
                }
            }
            check_invariants(&s);
        }
    }

    #[test]
    fn block_keys_spread_evenly_over_the_shards() {
        // Block cache keys: a few tables, offsets 4 KiB apart (the low 12 bits all zero).
        let cache: Cache<(u64, u64), ()> = Cache::with_shards(1 << 30, DEFAULT_SHARDS);
        let mut per_shard = [0usize; DEFAULT_SHARDS];
        for id in 1..=4u64 {
            for block in 0..4000u64 {
                let shard = cache.shard(&(id, block * 4096));
                let index = cache.shards.iter().position(|s| std::ptr::eq(s, shard));
                per_shard[index.unwrap()] += 1;
            }
        }
        // 1,000 each if perfectly even: no shard may hold more than 1.2 times that.
        let (min, max) = (per_shard.iter().min(), per_shard.iter().max());
        assert!(max.unwrap() * 5 < 1000 * 6, "{per_shard:?}");
        assert!(min.unwrap() * 5 > 1000 * 4, "{per_shard:?}");
    }
}
