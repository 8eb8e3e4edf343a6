//! LevelDB's bloom filter (`util/bloom.cc`, policy name `leveldb.BuiltinBloomFilter2`), bit for
//! bit: the same hash, the same double hashing, the same sizes, so a filter groupkv builds is
//! the filter LevelDB builds for the same keys, and each reads the other's.
//!
//! ```text
//! filter := bit_array (bytes = ceil(max(64, n × bits_per_key) / 8)) · k:u8
//! ```
//!
//! A key sets `k` bits: `h = hash(key)`, then `k` times bit `h mod bits` and `h += rotr(h, 17)`.

use crate::coding::decode_fixed32;

/// The policy name; the filter block's metaindex key is `"filter." + BLOOM_POLICY_NAME`.
pub const BLOOM_POLICY_NAME: &str = "leveldb.BuiltinBloomFilter2";

/// LevelDB's hash (`util/hash.cc`), a Murmur-like hash of `data` with `seed`.
pub fn leveldb_hash(data: &[u8], seed: u32) -> u32 {
    const M: u32 = 0xc6a4_a793;
    const R: u32 = 24;
    // LevelDB multiplies the length as size_t and keeps the low 32 bits, which is this.
    let len_low = u32::try_from(data.len() as u64 & 0xffff_ffff).unwrap_or(0);
    let mut h = seed ^ len_low.wrapping_mul(M);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        h = h.wrapping_add(decode_fixed32(w).unwrap_or(0));
        h = h.wrapping_mul(M);
        h ^= h >> 16;
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate() {
            h = h.wrapping_add(u32::from(b) << (8 * i));
        }
        h = h.wrapping_mul(M);
        h ^= h >> R;
    }
    h
}

fn bloom_hash(key: &[u8]) -> u32 {
    leveldb_hash(key, 0xbc9f_1d34)
}

/// Builds and probes bloom filters with a given number of bits per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloomPolicy {
    bits_per_key: usize,
    /// Probes per key.
    k: u8,
}

impl BloomPolicy {
    /// A policy with `bits_per_key` bits per key (10 gives about 1 % false positives).
    pub fn new(bits_per_key: u32) -> Self {
        // k = bits_per_key × ln 2, rounded down as LevelDB does (in double precision: 0.69 is
        // slightly below 0.69, so 100 bits gives 68, not 69), clamped to 1..=30.
        let k = (f64::from(bits_per_key) * 0.69).clamp(1.0, 30.0);
        // In 1..=30 after the clamp, so the conversion keeps it (truncating like C++).
        #[allow(clippy::cast_possible_truncation)]
        let k = k as u8;
        BloomPolicy {
            bits_per_key: usize::try_from(bits_per_key).unwrap_or(usize::MAX),
            k,
        }
    }

    /// Appends the filter of `keys` to `out`.
    pub fn create_filter<'a>(
        &self,
        keys: impl ExactSizeIterator<Item = &'a [u8]>,
        out: &mut Vec<u8>,
    ) {
        let bits = keys.len().saturating_mul(self.bits_per_key).max(64);
        let bytes = bits.div_ceil(8);
        let bits = bytes * 8;
        let start = out.len();
        out.resize(start + bytes, 0);
        out.push(self.k);
        let array = &mut out[start..start + bytes];
        for key in keys {
            let mut h = bloom_hash(key);
            let delta = h.rotate_right(17);
            for _ in 0..self.k {
                let bit = usize::try_from(h).unwrap_or(0) % bits;
                array[bit / 8] |= 1 << (bit % 8);
                h = h.wrapping_add(delta);
            }
        }
    }

    /// False only if `key` was certainly not among the keys of `filter`.
    pub fn key_may_match(key: &[u8], filter: &[u8]) -> bool {
        let Some((&k, array)) = filter.split_last() else {
            return false;
        };
        if array.is_empty() {
            return false;
        }
        if k > 30 {
            // Reserved for other encodings (LevelDB's rule): treat as a match.
            return true;
        }
        let bits = array.len() * 8;
        let mut h = bloom_hash(key);
        let delta = h.rotate_right(17);
        for _ in 0..k {
            let bit = usize::try_from(h).unwrap_or(0) % bits;
            if array[bit / 8] & (1 << (bit % 8)) == 0 {
                return false;
            }
            h = h.wrapping_add(delta);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of LevelDB's util/hash_test.cc.
    #[test]
    fn hash_matches_leveldb() {
        assert_eq!(leveldb_hash(&[], 0xbc9f_1d34), 0xbc9f_1d34);
        assert_eq!(leveldb_hash(&[0x62], 0xbc9f_1d34), 0xef13_45c4);
        assert_eq!(leveldb_hash(&[0xc3, 0x97], 0xbc9f_1d34), 0x5b66_3814);
        assert_eq!(leveldb_hash(&[0xe2, 0x99, 0xa5], 0xbc9f_1d34), 0x323c_078f);
        assert_eq!(
            leveldb_hash(&[0xe1, 0x80, 0xb9, 0x32], 0xbc9f_1d34),
            0xed21_633a
        );
        let long = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(leveldb_hash(&long, 0x12345678), 0xf333_dabb);
    }

    #[test]
    fn k_is_leveldbs() {
        assert_eq!(BloomPolicy::new(10).k, 6);
        assert_eq!(BloomPolicy::new(0).k, 1);
        assert_eq!(BloomPolicy::new(100).k, 30);
        assert_eq!(BloomPolicy::new(20).k, 13);
    }

    #[test]
    fn empty_filter_matches_nothing() {
        let p = BloomPolicy::new(10);
        let mut f = Vec::new();
        p.create_filter(std::iter::empty(), &mut f);
        assert_eq!(f.len(), 9, "64 bits and k");
        assert!(!BloomPolicy::key_may_match(b"hello", &f));
        assert!(!BloomPolicy::key_may_match(b"world", &f));
        assert!(!BloomPolicy::key_may_match(b"x", &[]));
    }

    #[test]
    fn small_filter_finds_its_keys() {
        let p = BloomPolicy::new(10);
        let mut f = Vec::new();
        p.create_filter([&b"hello"[..], b"world"].into_iter(), &mut f);
        assert!(BloomPolicy::key_may_match(b"hello", &f));
        assert!(BloomPolicy::key_may_match(b"world", &f));
        assert!(!BloomPolicy::key_may_match(b"x", &f));
        assert!(!BloomPolicy::key_may_match(b"foo", &f));
    }
}
