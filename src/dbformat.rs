//! Internal keys: how a user key, a sequence number and an entry kind are packed into the keys
//! that memtables and tables sort, exactly as LevelDB packs them (`db/dbformat.h`).
//!
//! ```text
//! internal_key := user_key ‖ tag:fixed64 (little-endian)
//! tag          := sequence << 8 | kind        kind: 0 = deletion, 1 = value
//! ```
//!
//! Internal keys sort by user key ascending (bytewise), then by tag *descending*: for one user
//! key the newest entry comes first, so a seek to `(user_key, s)` lands on the newest entry
//! whose sequence is at most `s`. Sequences fit 56 bits ([`MAX_SEQUENCE`]).
//!
//! Everything here takes untrusted bytes: parsing rejects a key shorter than its tag or with
//! an unknown kind, and the ordering is total (a key too short to hold a tag compares as a
//! user key with tag 0), so a damaged table can be walked without panics.

use std::cmp::Ordering;

use crate::coding::{decode_fixed64, put_fixed64};

/// The largest sequence number: tags keep 8 bits for the kind.
pub const MAX_SEQUENCE: u64 = (1 << 56) - 1;

/// The name LevelDB gives its bytewise user-key comparator, recorded in a MANIFEST.
pub const BYTEWISE_COMPARATOR_NAME: &str = "leveldb.BytewiseComparator";

/// The length of the tag at the end of every internal key.
pub const TAG_LEN: usize = 8;

/// The kind of an entry, stored in the low byte of its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A tombstone: the key was deleted at this sequence.
    Deletion,
    /// A value was put at this sequence.
    Value,
}

impl ValueKind {
    /// The byte stored in the tag.
    pub fn as_byte(self) -> u8 {
        match self {
            ValueKind::Deletion => 0,
            ValueKind::Value => 1,
        }
    }

    /// The kind stored as `b`, if `b` is a known kind.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(ValueKind::Deletion),
            1 => Some(ValueKind::Value),
            _ => None,
        }
    }
}

/// The kind a lookup key carries. Tags of one user key sort descending, so with the highest
/// kind a seek to `(user_key, s)` lands on an entry at sequence `s` whatever its kind.
pub const KIND_FOR_SEEK: ValueKind = ValueKind::Value;

/// `sequence << 8 | kind`. Sequences above [`MAX_SEQUENCE`] are clamped to it (callers keep
/// them below; clamping keeps a bad caller from corrupting the kind byte).
pub fn pack_tag(sequence: u64, kind: ValueKind) -> u64 {
    (sequence.min(MAX_SEQUENCE) << 8) | u64::from(kind.as_byte())
}

/// Appends the internal key `user_key ‖ tag(sequence, kind)` to `out`.
pub fn append_internal_key(out: &mut Vec<u8>, user_key: &[u8], sequence: u64, kind: ValueKind) {
    out.reserve(user_key.len() + TAG_LEN);
    out.extend_from_slice(user_key);
    put_fixed64(out, pack_tag(sequence, kind));
}

/// A new internal key `user_key ‖ tag(sequence, kind)`.
pub fn internal_key(user_key: &[u8], sequence: u64, kind: ValueKind) -> Vec<u8> {
    let mut out = Vec::with_capacity(user_key.len() + TAG_LEN);
    append_internal_key(&mut out, user_key, sequence, kind);
    out
}

/// An internal key taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedInternalKey<'a> {
    /// The user's key.
    pub user_key: &'a [u8],
    /// The sequence number of the entry.
    pub sequence: u64,
    /// Put or delete.
    pub kind: ValueKind,
}

/// Takes `key` apart: `None` if it is shorter than a tag or its kind byte is unknown.
pub fn parse_internal_key(key: &[u8]) -> Option<ParsedInternalKey<'_>> {
    let split = key.len().checked_sub(TAG_LEN)?;
    let tag = decode_fixed64(&key[split..])?;
    let kind = ValueKind::from_byte(tag.to_le_bytes()[0])?;
    Some(ParsedInternalKey {
        user_key: &key[..split],
        sequence: tag >> 8,
        kind,
    })
}

/// The user-key part of `key` (all of it if `key` is too short to hold a tag).
pub fn extract_user_key(key: &[u8]) -> &[u8] {
    match key.len().checked_sub(TAG_LEN) {
        Some(split) => &key[..split],
        None => key,
    }
}

/// The tag of `key` (0 if `key` is too short to hold one).
fn extract_tag(key: &[u8]) -> u64 {
    key.len()
        .checked_sub(TAG_LEN)
        .and_then(|split| decode_fixed64(&key[split..]))
        .unwrap_or(0)
}

/// The internal-key order: user key ascending (bytewise), then tag descending.
pub fn compare_internal_keys(a: &[u8], b: &[u8]) -> Ordering {
    extract_user_key(a)
        .cmp(extract_user_key(b))
        .then_with(|| extract_tag(b).cmp(&extract_tag(a)))
}

/// A key to look `user_key` up as of `sequence`: the internal key `user_key ‖ tag(sequence,
/// KIND_FOR_SEEK)`. The first entry at or after it in internal-key order is the newest entry
/// of `user_key` visible at `sequence`, if that entry has `user_key` at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKey {
    key: Vec<u8>,
}

impl LookupKey {
    /// The lookup key of `user_key` as of `sequence`.
    pub fn new(user_key: &[u8], sequence: u64) -> Self {
        LookupKey {
            key: internal_key(user_key, sequence, KIND_FOR_SEEK),
        }
    }

    /// The internal key to seek to.
    pub fn internal_key(&self) -> &[u8] {
        &self.key
    }

    /// The user key looked up.
    pub fn user_key(&self) -> &[u8] {
        extract_user_key(&self.key)
    }

    /// The sequence looked up.
    pub fn sequence(&self) -> u64 {
        extract_tag(&self.key) >> 8
    }
}

/// Shortens `start` (a user key) to a key `k` with `start <= k < limit`, if `start < limit`
/// and a shorter one exists; otherwise leaves it alone. Index blocks store such separators
/// between data blocks instead of whole keys (LevelDB's `BytewiseComparator`).
pub fn find_shortest_separator(start: &mut Vec<u8>, limit: &[u8]) {
    let min_len = start.len().min(limit.len());
    let diff = start
        .iter()
        .zip(limit)
        .position(|(a, b)| a != b)
        .unwrap_or(min_len);
    if diff >= min_len {
        // One is a prefix of the other: no shorter key separates them.
        return;
    }
    let byte = start[diff];
    if byte < 0xff && byte + 1 < limit[diff] {
        start[diff] = byte + 1;
        start.truncate(diff + 1);
    }
}

/// Shortens `key` (a user key) to a short key `>= key`: the first byte that is not `0xff`,
/// incremented, ends it. A key of only `0xff` bytes is left alone.
pub fn find_short_successor(key: &mut Vec<u8>) {
    if let Some(i) = key.iter().position(|&b| b != 0xff) {
        key[i] += 1;
        key.truncate(i + 1);
    }
}

/// [`find_shortest_separator`] on internal keys: the user key of `start` is shortened and, if
/// that made it shorter and larger, given the tag `(MAX_SEQUENCE, Value)`, the first possible
/// internal key of the shortened user key.
pub fn internal_shortest_separator(start: &mut Vec<u8>, limit: &[u8]) {
    let user_start = extract_user_key(start);
    let user_limit = extract_user_key(limit);
    let mut tmp = user_start.to_vec();
    find_shortest_separator(&mut tmp, user_limit);
    if tmp.len() < user_start.len() && user_start < tmp.as_slice() {
        put_fixed64(&mut tmp, pack_tag(MAX_SEQUENCE, KIND_FOR_SEEK));
        *start = tmp;
    }
}

/// [`find_short_successor`] on internal keys, with the tag `(MAX_SEQUENCE, Value)` appended
/// when the user key was shortened.
pub fn internal_short_successor(key: &mut Vec<u8>) {
    let user_key = extract_user_key(key);
    let mut tmp = user_key.to_vec();
    find_short_successor(&mut tmp);
    if tmp.len() < user_key.len() && user_key < tmp.as_slice() {
        put_fixed64(&mut tmp, pack_tag(MAX_SEQUENCE, KIND_FOR_SEEK));
        *key = tmp;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ikey(user: &[u8], seq: u64, kind: ValueKind) -> Vec<u8> {
        internal_key(user, seq, kind)
    }

    #[test]
    fn keys_round_trip_through_parse() {
        let seqs = [0, 1, 2, 10, 1 << 8, 1 << 32, MAX_SEQUENCE];
        for user in [&b""[..], b"k", b"hello", b"longggggggggggggggggggggg"] {
            for &seq in &seqs {
                for kind in [ValueKind::Value, ValueKind::Deletion] {
                    let k = ikey(user, seq, kind);
                    let p = parse_internal_key(&k).unwrap();
                    assert_eq!((p.user_key, p.sequence, p.kind), (user, seq, kind));
                }
            }
        }
    }

    #[test]
    fn parse_rejects_short_keys_and_unknown_kinds() {
        assert_eq!(parse_internal_key(b""), None);
        assert_eq!(parse_internal_key(b"bar"), None);
        assert_eq!(parse_internal_key(&[1, 0, 0, 0, 0, 0, 0]), None);
        let mut k = ikey(b"foo", 7, ValueKind::Value);
        k[3] = 2;
        assert_eq!(parse_internal_key(&k), None);
        k[3] = 0xff;
        assert_eq!(parse_internal_key(&k), None);
    }

    #[test]
    fn tag_layout_is_leveldbs() {
        assert_eq!(
            ikey(b"a", 0x0102, ValueKind::Value),
            [b'a', 1, 2, 1, 0, 0, 0, 0, 0]
        );
        assert_eq!(pack_tag(5, ValueKind::Deletion), 5 << 8);
    }

    #[test]
    fn order_is_user_key_then_newest_first() {
        let sorted = [
            ikey(b"", 100, ValueKind::Value),
            ikey(b"", 1, ValueKind::Value),
            ikey(b"a", MAX_SEQUENCE, ValueKind::Value),
            ikey(b"a", 5, ValueKind::Value),
            ikey(b"a", 5, ValueKind::Deletion),
            ikey(b"a", 4, ValueKind::Value),
            ikey(b"a\x00", 9, ValueKind::Value),
            ikey(b"b", 0, ValueKind::Deletion),
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(compare_internal_keys(a, b), i.cmp(&j), "{i} vs {j}");
            }
        }
    }

    #[test]
    fn lookup_key_finds_the_newest_visible_entry() {
        let lk = LookupKey::new(b"k", 5);
        assert_eq!(lk.user_key(), b"k");
        assert_eq!(lk.sequence(), 5);
        let at5 = ikey(b"k", 5, ValueKind::Deletion);
        let at6 = ikey(b"k", 6, ValueKind::Value);
        assert_eq!(
            compare_internal_keys(lk.internal_key(), &at5),
            Ordering::Less
        );
        assert_eq!(
            compare_internal_keys(lk.internal_key(), &at6),
            Ordering::Greater
        );
    }

    fn shorten(start: &[u8], limit: &[u8]) -> Vec<u8> {
        let mut s = start.to_vec();
        internal_shortest_separator(&mut s, limit);
        s
    }

    fn successor(key: &[u8]) -> Vec<u8> {
        let mut k = key.to_vec();
        internal_short_successor(&mut k);
        k
    }

    // The cases of LevelDB's db/dbformat_test.cc, as behaviour.
    #[test]
    fn separators_shorten_only_when_it_helps() {
        use ValueKind::{Deletion as D, Value as V};
        // Equal user keys: unchanged.
        for limit in [
            ikey(b"foo", 99, V),
            ikey(b"foo", 101, V),
            ikey(b"foo", 100, D),
        ] {
            assert_eq!(shorten(&ikey(b"foo", 100, V), &limit), ikey(b"foo", 100, V));
        }
        // Misordered user keys: unchanged.
        assert_eq!(
            shorten(&ikey(b"foo", 100, V), &ikey(b"bar", 99, V)),
            ikey(b"foo", 100, V)
        );
        // Different user keys: shortened.
        assert_eq!(
            shorten(&ikey(b"foo", 100, V), &ikey(b"hello", 200, V)),
            ikey(b"g", MAX_SEQUENCE, KIND_FOR_SEEK)
        );
        // Start is a prefix of limit, or limit a prefix of start: unchanged.
        assert_eq!(
            shorten(&ikey(b"foo", 100, V), &ikey(b"foobar", 200, V)),
            ikey(b"foo", 100, V)
        );
        assert_eq!(
            shorten(&ikey(b"foobar", 100, V), &ikey(b"foo", 200, V)),
            ikey(b"foobar", 100, V)
        );
        // Adjacent bytes: nothing fits between.
        assert_eq!(
            shorten(&ikey(b"fooa", 1, V), &ikey(b"foob", 1, V)),
            ikey(b"fooa", 1, V)
        );
    }

    #[test]
    fn successors_shorten_past_0xff() {
        assert_eq!(
            successor(&ikey(b"foo", 100, ValueKind::Value)),
            ikey(b"g", MAX_SEQUENCE, KIND_FOR_SEEK)
        );
        assert_eq!(
            successor(&ikey(b"\xff\xff", 100, ValueKind::Value)),
            ikey(b"\xff\xff", 100, ValueKind::Value)
        );
        assert_eq!(
            successor(&ikey(b"\xff\x01x", 3, ValueKind::Value)),
            ikey(b"\xff\x02", MAX_SEQUENCE, KIND_FOR_SEEK)
        );
    }

    #[test]
    fn comparison_of_damaged_keys_is_total() {
        let keys: [&[u8]; 4] = [b"", b"abc", b"abcdefghijk", &[0xff; 9]];
        for a in keys {
            for b in keys {
                assert_eq!(
                    compare_internal_keys(a, b),
                    compare_internal_keys(b, a).reverse()
                );
            }
        }
    }
}
