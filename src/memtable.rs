//! The in-memory table: a lock-free skiplist of internal keys.
//!
//! An internal key is `(user key, sequence, kind)`, ordered by user key ascending, then by
//! sequence descending, so the newest version of a key comes first. A delete is stored as a
//! tombstone. A read at sequence `s` finds the first entry for the key with sequence `<= s`:
//! entries of a group still being inserted have sequences above the published one and are
//! invisible until the group is published.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Bound;
use std::ptr::NonNull;

use crossbeam_skiplist::set::Entry;
use crossbeam_skiplist::SkipSet;

use crate::coding::decode_fixed64;
use crate::dbformat::{extract_user_key, pack_tag, ValueKind, MAX_SEQUENCE, TAG_LEN};
use crate::error::Result;
use crate::iter::InternalIterator;
use crate::memtable_arena::Arena;
use crate::write_batch::{self, Record, WriteBatch};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;
/// Rough per-entry cost of the skiplist node and allocation headers.
const ENTRY_OVERHEAD: usize = 64;

/// One version of a key: the user key and the value, both in the memtable's arena, and the
/// packed tag `(sequence << 8) | kind`. The entry is its own ordering key; a lookup probes
/// with a `Version` that points at the caller's key and whose value is ignored.
///
/// `prefix` repeats the first 8 bytes of the user key inside the skiplist node, so most
/// comparisons during a search end there, without following `key` to another cache line and
/// without a `memcmp` call (profiles of fillrandom showed those two as over half of the time).
struct Version {
    prefix: u64,
    tag: u64,
    key: NonNull<u8>,
    value: NonNull<u8>,
    key_len: u32,
    value_len: u32,
}

// SAFETY: a `Version` only reads the bytes it points at, which never change: an entry's point
// into its memtable's arena (freed only with the memtable, after the skiplist), and a probe's
// into a key that outlives the probe (see `Version::borrowing`).
unsafe impl Send for Version {}
// SAFETY: as above, shared reads only.
unsafe impl Sync for Version {}

/// The first 8 bytes of `key`, big-endian, zero-padded. Comparing prefixes agrees with
/// comparing keys whenever the prefixes differ: the padding sorts a shorter key first, as a
/// byte-wise comparison does.
#[inline]
fn key_prefix(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// The length of a key or value of a write batch, which the batch format limits to `u32`.
fn batch_len(bytes: &[u8]) -> u32 {
    // A batch's lengths are varint32s, so this never saturates for a record of a batch.
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

impl Version {
    /// A version whose key and value point at `key` and `value`. The caller keeps both alive
    /// and unchanged for as long as the version exists: the memtable's arena for its entries,
    /// the current call for a probe.
    fn borrowing(key: &[u8], tag: u64, value: &[u8]) -> Self {
        Version {
            prefix: key_prefix(key),
            tag,
            key: NonNull::from(key).cast(),
            value: NonNull::from(value).cast(),
            key_len: batch_len(key),
            value_len: batch_len(value),
        }
    }

    /// A search key for the internal key `ikey` (its tag 0 if it is too short to hold one,
    /// as [`crate::dbformat::compare_internal_keys`] orders such keys). It borrows `ikey`.
    fn probe(ikey: &[u8]) -> Self {
        let user_key = extract_user_key(ikey);
        let tag = ikey
            .len()
            .checked_sub(TAG_LEN)
            .and_then(|split| decode_fixed64(&ikey[split..]))
            .unwrap_or(0);
        Version::borrowing(user_key, tag, &[])
    }

    fn user_key(&self) -> &[u8] {
        // SAFETY: `key` points at `key_len` bytes that outlive `self` (see `borrowing`).
        unsafe { std::slice::from_raw_parts(self.key.as_ptr(), self.key_len as usize) }
    }

    fn value(&self) -> &[u8] {
        // SAFETY: as in `user_key`.
        unsafe { std::slice::from_raw_parts(self.value.as_ptr(), self.value_len as usize) }
    }

    fn sequence(&self) -> u64 {
        self.tag >> 8
    }

    fn is_put(&self) -> bool {
        self.tag & 0xff == u64::from(ValueKind::Value.as_byte())
    }
}

/// User key ascending, then tag (sequence) descending: the newest version comes first.
#[inline]
fn compare(
    a_prefix: u64,
    a_key: &[u8],
    a_tag: u64,
    b_prefix: u64,
    b_key: &[u8],
    b_tag: u64,
) -> Ordering {
    a_prefix
        .cmp(&b_prefix)
        .then_with(|| {
            if a_key.len() >= 8 && b_key.len() >= 8 {
                // Equal prefixes of full length: the first 8 bytes are equal.
                a_key[8..].cmp(&b_key[8..])
            } else {
                a_key.cmp(b_key)
            }
        })
        .then_with(|| b_tag.cmp(&a_tag))
}

impl Ord for Version {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(
            self.prefix,
            Version::user_key(self),
            self.tag,
            other.prefix,
            Version::user_key(other),
            other.tag,
        )
    }
}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version {}

/// The result of a memtable lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The newest visible version is a value.
    Found(Vec<u8>),
    /// The newest visible version is a tombstone.
    Deleted,
    /// The memtable has no visible version of the key.
    Absent,
}

/// A concurrent skiplist memtable. Inserts may run from many threads at once.
pub struct MemTable {
    // Declared before `arena`, so dropped before it: the entries point into the arena.
    table: SkipSet<Version>,
    arena: Arena,
    memory: AtomicUsize,
}

impl fmt::Debug for MemTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemTable")
            .field("entries", &self.table.len())
            .field("approximate_memory_usage", &self.approximate_memory_usage())
            .finish()
    }
}

impl Default for MemTable {
    fn default() -> Self {
        MemTable::new()
    }
}

impl MemTable {
    /// An empty memtable.
    pub fn new() -> Self {
        MemTable {
            table: SkipSet::new(),
            arena: Arena::new(),
            memory: AtomicUsize::new(0),
        }
    }

    /// Inserts every record of `batch`, the first with sequence `first_sequence` and each next
    /// one with the next sequence. Returns the sequence after the last record.
    ///
    /// The batch's records are copied into the arena in one piece and the entries point into
    /// that copy: one allocation (usually a bump) per batch instead of one per entry.
    pub fn insert_batch(&self, batch: &WriteBatch, first_sequence: u64) -> u64 {
        let body = batch.body();
        // The copy lives, unchanged, as long as the arena: as long as every entry made from it.
        let records = self.arena.copy(body);
        let mut seq = first_sequence;
        for record in write_batch::records(records) {
            let entry = match record {
                Record::Put { key, value } => {
                    Version::borrowing(key, pack_tag(seq, ValueKind::Value), value)
                }
                Record::Delete { key } => {
                    Version::borrowing(key, pack_tag(seq, ValueKind::Deletion), &[])
                }
            };
            self.table.insert(entry);
            seq += 1;
        }
        let entries = usize::try_from(seq - first_sequence).unwrap_or(usize::MAX);
        self.memory.fetch_add(
            body.len() + entries.saturating_mul(ENTRY_OVERHEAD),
            AtomicOrdering::Relaxed,
        );
        seq
    }

    /// The newest version of `key` with a sequence at most `sequence`.
    pub fn get(&self, key: &[u8], sequence: u64) -> Lookup {
        // The probe borrows `key` for this call: no allocation per lookup. The largest tag
        // for `sequence` sorts first among that sequence's versions.
        let probe = Version::borrowing(key, (sequence.min(MAX_SEQUENCE) << 8) | 0xff, &[]);
        let result = match self.table.lower_bound(Bound::Included(&probe)) {
            Some(found) if found.value().user_key() == key => {
                let e = found.value();
                if e.is_put() {
                    Lookup::Found(e.value().to_vec())
                } else {
                    Lookup::Deleted
                }
            }
            _ => Lookup::Absent,
        };
        result
    }

    /// Calls `f` with the newest version of every key (its value, or `None` for a tombstone), in
    /// key order, considering only sequences at most `sequence`.
    pub fn for_each_latest(&self, sequence: u64, mut f: impl FnMut(&[u8], Option<&[u8]>)) {
        let mut previous: Option<Vec<u8>> = None;
        for entry in self.table.iter() {
            let e = entry.value();
            if e.sequence() > sequence || previous.as_deref() == Some(e.user_key()) {
                continue;
            }
            previous = Some(e.user_key().to_vec());
            f(e.user_key(), e.is_put().then(|| e.value()));
        }
    }

    /// Number of entries (every version of every key).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True if nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Bytes used by keys, values and per-entry overhead (an estimate).
    pub fn approximate_memory_usage(&self) -> usize {
        self.memory.load(AtomicOrdering::Relaxed)
    }

    /// A cursor over every entry (every version of every key, tombstones included) in
    /// internal-key order, owning a reference to the memtable: it outlives the caller's
    /// handle, and inserts may go on while it walks (it sees some of them; readers above it
    /// hide sequences they should not see). A flush walks a memtable with it.
    pub fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            cursor: None,
            key: Vec::new(),
            mem: Arc::clone(self),
        }
    }
}

/// An owned cursor over a memtable's internal keys (`user_key ‖ fixed64(seq << 8 | kind)`),
/// from [`MemTable::iter`].
pub struct MemTableIter {
    // Declared before `mem`, so dropped before it: the entry borrows the skiplist `mem` owns.
    cursor: Option<Entry<'static, Version>>,
    /// The current entry's internal key (the node stores the user key and tag apart).
    key: Vec<u8>,
    mem: Arc<MemTable>,
}

impl fmt::Debug for MemTableIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemTableIter")
            .field("valid", &self.cursor.is_some())
            .field("mem", &self.mem)
            .finish()
    }
}

impl MemTableIter {
    /// The skiplist, borrowed for as long as the cursor lives rather than for one call.
    ///
    /// This is the one lifetime extension of the read path. crossbeam-skiplist's entries
    /// borrow their `SkipSet`, but a cursor that C or Python can hold must own what it reads;
    /// re-seeking from a copied key at every step would cost a search per `next`
    /// (the alternative `self_cell` packages the same reasoning as a dependency).
    fn table(&self) -> &'static SkipSet<Version> {
        let table: *const SkipSet<Version> = &self.mem.table;
        // SAFETY: the SkipSet lives inside the `Arc<MemTable>` allocation, which never moves
        // and is kept alive by `self.mem` for as long as `self` exists. Every `Entry<'static>`
        // made from this reference is stored only in `self.cursor`, which is declared before
        // `mem` and so dropped first (and is replaced, never moved out); the `'static` never
        // leaks: `key` and `value` hand out borrows of `self`. Entries pin their node with a
        // reference count, and the memtable never removes nodes, so nodes outlive the cursor.
        unsafe { &*table }
    }

    /// Sets the cursor, and the internal key it shows.
    fn set(&mut self, entry: Option<Entry<'static, Version>>) {
        self.key.clear();
        if let Some(e) = &entry {
            let v = e.value();
            self.key.extend_from_slice(v.user_key());
            self.key.extend_from_slice(&v.tag.to_le_bytes());
        }
        self.cursor = entry;
    }
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.cursor.is_some()
    }

    fn seek_to_first(&mut self) {
        let e = self.table().front();
        self.set(e);
    }

    fn seek_to_last(&mut self) {
        let e = self.table().back();
        self.set(e);
    }

    fn seek(&mut self, target: &[u8]) {
        let probe = Version::probe(target);
        let e = self.table().lower_bound(Bound::Included(&probe));
        self.set(e);
    }

    fn seek_for_prev(&mut self, target: &[u8]) {
        let probe = Version::probe(target);
        let e = self.table().upper_bound(Bound::Included(&probe));
        self.set(e);
    }

    fn next(&mut self) {
        let e = self.cursor.as_ref().and_then(Entry::next);
        self.set(e);
    }

    fn prev(&mut self) {
        let e = self.cursor.as_ref().and_then(Entry::prev);
        self.set(e);
    }

    fn key(&self) -> &[u8] {
        &self.key
    }

    fn value(&self) -> &[u8] {
        self.cursor.as_ref().map_or(&[], |e| e.value().value())
    }

    fn status(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_visible_version_wins() {
        let m = MemTable::new();
        let mut b = WriteBatch::new();
        b.put(b"k", b"v1").unwrap();
        b.put(b"k", b"v2").unwrap();
        b.delete(b"k").unwrap();
        b.put(b"ka", b"x").unwrap();
        assert_eq!(m.insert_batch(&b, 10), 14);
        assert_eq!(m.get(b"k", 9), Lookup::Absent);
        assert_eq!(m.get(b"k", 10), Lookup::Found(b"v1".to_vec()));
        assert_eq!(m.get(b"k", 11), Lookup::Found(b"v2".to_vec()));
        assert_eq!(m.get(b"k", 12), Lookup::Deleted);
        assert_eq!(m.get(b"k", 100), Lookup::Deleted);
        assert_eq!(m.get(b"ka", 13), Lookup::Found(b"x".to_vec()));
        assert_eq!(m.get(b"", 100), Lookup::Absent);
        let mut seen = Vec::new();
        m.for_each_latest(11, |k, v| seen.push((k.to_vec(), v.map(<[u8]>::to_vec))));
        assert_eq!(seen, vec![(b"k".to_vec(), Some(b"v2".to_vec()))]);
        assert!(m.approximate_memory_usage() > 0);
    }

    #[test]
    fn order_matches_byte_order_for_keys_of_any_length() {
        // Short keys, keys that differ only past the 8-byte prefix, and keys that are
        // prefixes of others (where the zero padding of the prefix could mislead).
        let mut keys: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 0], vec![0xff; 9]];
        let mut x = 7u64;
        for len in 0..=12 {
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let bytes = x.to_le_bytes();
                // A three-letter alphabet makes shared prefixes and zero bytes common.
                keys.push(
                    (0..len)
                        .map(|i| [0u8, 1, 0xff][usize::from(bytes[i % 8]) % 3])
                        .collect(),
                );
            }
        }
        let m = MemTable::new();
        let mut model = std::collections::BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            let mut b = WriteBatch::new();
            b.put(k, &i.to_le_bytes()).unwrap();
            m.insert_batch(&b, i as u64 + 1);
            model.insert(k.clone(), i.to_le_bytes().to_vec());
        }
        let mut seen = Vec::new();
        m.for_each_latest(u64::MAX >> 8, |k, v| {
            seen.push((k.to_vec(), v.unwrap().to_vec()))
        });
        assert_eq!(seen, model.clone().into_iter().collect::<Vec<_>>());
        for (k, v) in &model {
            assert_eq!(m.get(k, u64::MAX >> 8), Lookup::Found(v.clone()), "{k:?}");
        }
        assert_eq!(m.get(&[0xff; 10], u64::MAX >> 8), Lookup::Absent);
    }
}
