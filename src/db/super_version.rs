//! The SuperVersion: what a read consults (the mutable memtable, the immutable ones waiting
//! for flush, newest first, and the current table version), swapped as one value.
//!
//! Readers load it without a lock (`ArcSwap::load`); only the memtable switch, each flush
//! install and each compaction install store a new one, under the DB mutex. Installs take
//! the `VersionSet`'s *current* version at that moment (not the one their own edit made), so
//! a flush and a compaction installing at once never publish an older version last.
//!
//! **Ordering (invariant I10 of `reference/storage-engine.md`):** a reader loads the published
//! sequence (Acquire) *before* it loads the SuperVersion. A switch stores the new SuperVersion
//! before the switching leader writes or publishes anything into the new memtable, so a reader
//! that sees sequence S also sees a SuperVersion at least as new as the one S was written
//! into: every entry at or below S is in its `mem`, its `imm` or its `version`. Loading in the
//! other order could pair an old SuperVersion with a newer sequence and miss writes.

use std::sync::Arc;

use crate::dbformat::{LookupKey, ValueKind};
use crate::error::Result;
use crate::memtable::{Lookup, MemTable};
use crate::table::{BlockReadOptions, TableCache};
use crate::version::{FileMetaData, LookupResult, Version};

/// One consistent set of read sources.
#[derive(Debug)]
pub(crate) struct SuperVersion {
    /// The memtable writes go into.
    pub(crate) mem: Arc<MemTable>,
    /// Memtables switched out and not yet flushed, newest first.
    pub(crate) imm: Vec<Arc<MemTable>>,
    /// The tables.
    pub(crate) version: Arc<Version>,
}

impl SuperVersion {
    /// The first SuperVersion of an open: `mem` and no immutable memtable.
    pub(crate) fn new(mem: Arc<MemTable>, version: Arc<Version>) -> Self {
        SuperVersion {
            mem,
            imm: Vec::new(),
            version,
        }
    }

    /// The SuperVersion after a switch: `mem` becomes current, and this one's memtable joins
    /// the front of the immutable list.
    pub(crate) fn switched(&self, mem: Arc<MemTable>) -> Self {
        let mut imm = Vec::with_capacity(self.imm.len() + 1);
        imm.push(Arc::clone(&self.mem));
        imm.extend(self.imm.iter().cloned());
        SuperVersion {
            mem,
            imm,
            version: Arc::clone(&self.version),
        }
    }

    /// The SuperVersion after a flush installed `version`: `flushed` (now in a table) leaves
    /// the immutable list. The flush thread stores it under the DB mutex; a reader still
    /// holding this one keeps the memtable (and so its entries) until it lets go.
    pub(crate) fn flushed(&self, flushed: &Arc<MemTable>, version: Arc<Version>) -> Self {
        SuperVersion {
            mem: Arc::clone(&self.mem),
            imm: self
                .imm
                .iter()
                .filter(|m| !Arc::ptr_eq(m, flushed))
                .cloned()
                .collect(),
            version,
        }
    }

    /// The SuperVersion after a compaction installed `version`: the same memtables.
    pub(crate) fn with_version(&self, version: Arc<Version>) -> Self {
        SuperVersion {
            mem: Arc::clone(&self.mem),
            imm: self.imm.clone(),
            version,
        }
    }

    /// Every memtable, newest first.
    pub(crate) fn memtables(&self) -> impl Iterator<Item = &Arc<MemTable>> {
        std::iter::once(&self.mem).chain(self.imm.iter())
    }

    /// The newest version of `key` at or below `sequence` in the memtables (newest first):
    /// the first memtable that has one decides.
    pub(crate) fn get_from_memtables(&self, key: &[u8], sequence: u64) -> Result<Lookup> {
        for mem in self.memtables() {
            match mem.get(key, sequence) {
                Lookup::Absent => continue,
                found => return Ok(found),
            }
        }
        Ok(Lookup::Absent)
    }

    /// The newest version of `key` at or below `sequence`: the memtables (newest first), then
    /// the tables (L0 newest first, bloom filter first, then each deeper level's one
    /// candidate), through `tables`.
    pub(crate) fn get(
        &self,
        key: &[u8],
        sequence: u64,
        tables: &TableCache,
        read: &BlockReadOptions,
    ) -> Result<Lookup> {
        match self.get_from_memtables(key, sequence)? {
            Lookup::Absent => {}
            found => return Ok(found),
        }
        let lookup = LookupKey::new(key, sequence);
        let table_get = |file: &FileMetaData, k: &LookupKey| -> Result<LookupResult> {
            Ok(match tables.get(file.number, file.file_size, k, read)? {
                None => LookupResult::NotFound,
                Some(e) if e.kind == ValueKind::Value => LookupResult::Found(e.value),
                Some(_) => LookupResult::Deleted,
            })
        };
        Ok(match self.version.get(&lookup, &table_get)? {
            LookupResult::Found(v) => Lookup::Found(v),
            LookupResult::Deleted => Lookup::Deleted,
            LookupResult::NotFound => Lookup::Absent,
        })
    }

    /// Approximate bytes held by every memtable.
    pub(crate) fn memtable_bytes(&self) -> usize {
        self.memtables().map(|m| m.approximate_memory_usage()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::db::flush_job::build_table;
    use crate::fs::{FileSystem, MemFs};
    use crate::table::{LruBlockCache, TableCacheOptions, TableOptions};
    use crate::version::{VersionBuilder, VersionEdit};
    use crate::write_batch::WriteBatch;

    fn put(mem: &MemTable, seq: u64, key: &[u8], value: Option<&[u8]>) {
        let mut b = WriteBatch::new();
        match value {
            Some(v) => b.put(key, v).unwrap(),
            None => b.delete(key).unwrap(),
        }
        mem.insert_batch(&b, seq);
    }

    #[test]
    fn the_newest_memtable_with_a_version_of_the_key_decides() {
        let old = Arc::new(MemTable::new());
        put(&old, 1, b"a", Some(b"old"));
        put(&old, 2, b"b", Some(b"old"));
        put(&old, 3, b"c", Some(b"old"));
        let sv = SuperVersion::new(Arc::clone(&old), Arc::new(Version::new()));
        let new = Arc::new(MemTable::new());
        put(&new, 4, b"a", Some(b"new"));
        put(&new, 5, b"b", None);
        let sv = sv.switched(Arc::clone(&new));
        assert_eq!(sv.imm.len(), 1);
        let get = |k: &[u8], s| sv.get_from_memtables(k, s).unwrap();
        assert_eq!(get(b"a", 10), Lookup::Found(b"new".to_vec()));
        assert_eq!(
            get(b"b", 10),
            Lookup::Deleted,
            "a newer tombstone hides the old value"
        );
        assert_eq!(get(b"c", 10), Lookup::Found(b"old".to_vec()));
        // At an older sequence the newer memtable's versions are invisible.
        assert_eq!(get(b"a", 3), Lookup::Found(b"old".to_vec()));
        assert_eq!(get(b"b", 4), Lookup::Found(b"old".to_vec()));
        assert_eq!(get(b"d", 10), Lookup::Absent);
        // A second switch puts the newest immutable memtable first.
        let sv2 = sv.switched(Arc::new(MemTable::new()));
        assert!(Arc::ptr_eq(&sv2.imm[0], &new));
        assert!(Arc::ptr_eq(&sv2.imm[1], &old));
        // A flush of the oldest memtable drops it from the list and installs the version.
        let version = Arc::new(Version::new());
        let sv3 = sv2.flushed(&old, Arc::clone(&version));
        assert_eq!(sv3.imm.len(), 1);
        assert!(Arc::ptr_eq(&sv3.imm[0], &new));
        assert!(Arc::ptr_eq(&sv3.mem, &sv2.mem));
        assert!(Arc::ptr_eq(&sv3.version, &version));
    }

    /// Two L0 tables (the newer one overwrites and deletes keys of the older) under a memtable:
    /// each key's newest version wins, whichever source holds it; the bloom filter answers
    /// for absent keys and the block cache serves repeated reads.
    #[test]
    fn get_reads_memtables_then_l0_newest_first_through_the_caches() {
        let fs = Arc::new(MemFs::new());
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let older = Arc::new(MemTable::new());
        for i in 0..100u32 {
            put(
                &older,
                u64::from(i) + 1,
                format!("k{i:03}").as_bytes(),
                Some(b"old"),
            );
        }
        let newer = Arc::new(MemTable::new());
        for i in 0..50u32 {
            let value: Option<&[u8]> = if i % 2 == 0 { Some(b"new") } else { None };
            put(
                &newer,
                200 + u64::from(i),
                format!("k{i:03}").as_bytes(),
                value,
            );
        }
        let options = TableOptions::default();
        let mut edit = VersionEdit::new();
        for (number, mem) in [(5, &older), (6, &newer)] {
            let meta = build_table(fs.as_ref(), dir, number, &mut mem.iter(), &options, None)
                .unwrap()
                .unwrap();
            edit.add_file(0, meta).unwrap();
        }
        let mut builder = VersionBuilder::new(Arc::new(Version::new()));
        builder.apply(&edit);
        let version = Arc::new(builder.build().unwrap());
        let mem = Arc::new(MemTable::new());
        put(&mem, 300, b"k000", Some(b"mem"));
        let sv = SuperVersion::new(mem, version);
        let block_cache = Arc::new(LruBlockCache::new(1 << 20));
        let tables = TableCache::new(
            fs.clone(),
            dir,
            TableCacheOptions {
                block_cache: Some(Arc::clone(&block_cache)),
                ..TableCacheOptions::default()
            },
        );
        let read = BlockReadOptions::default();
        let get = |k: &str, seq| sv.get(k.as_bytes(), seq, &tables, &read).unwrap();
        assert_eq!(get("k000", 1000), Lookup::Found(b"mem".to_vec()));
        assert_eq!(get("k002", 1000), Lookup::Found(b"new".to_vec()));
        assert_eq!(
            get("k003", 1000),
            Lookup::Deleted,
            "a newer table's tombstone"
        );
        assert_eq!(get("k070", 1000), Lookup::Found(b"old".to_vec()));
        // Below the newer table's sequences, the older table answers.
        assert_eq!(get("k003", 150), Lookup::Found(b"old".to_vec()));
        assert_eq!(get("k000", 299), Lookup::Found(b"new".to_vec()));
        let useful = tables.bloom_useful();
        for i in 0..200u32 {
            assert_eq!(get(&format!("k{i:03}x"), 1000), Lookup::Absent);
        }
        assert!(
            tables.bloom_useful() - useful >= 140,
            "148 probes of absent keys inside the tables' ranges: the filter (about 1 % false \
             positives) should answer nearly all, answered {}",
            tables.bloom_useful() - useful
        );
        let misses = block_cache.misses();
        assert_eq!(get("k070", 1000), Lookup::Found(b"old".to_vec()));
        assert_eq!(
            block_cache.misses(),
            misses,
            "a block read before comes from the cache"
        );
        assert!(block_cache.hits() > 0);
    }
}
