//! Writes the contents of a memtable (or anything a cursor walks in internal-key order) into
//! one table file: the body of a flush, and of the flush of what an open replayed
//! (`reference/storage-engine.md`, section 4).
//!
//! The table is durable when [`build_table`] returns it: every byte appended, the file
//! `fdatasync`ed and the directory synced (its entry must survive before a MANIFEST names it).
//! A build that fails removes its partial file, so no table that nothing names is left behind
//! by an error (a crash can still leave one: the next open deletes files no version names).
//! An empty cursor makes no file.

use std::path::Path;

use crate::dbformat::parse_internal_key;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::iter::InternalIterator;
use crate::options::Options;
use crate::table::{TableBuilder, TableOptions};
use crate::version::filename::table_file_name;
use crate::version::FileMetaData;

/// The table options the database's options ask for.
pub(crate) fn table_options(options: &Options) -> TableOptions {
    TableOptions {
        block_size: options.block_size,
        block_restart_interval: options.block_restart_interval,
        bloom_bits_per_key: Some(options.bloom_bits_per_key).filter(|&b| b > 0),
        compression: options.compression,
    }
}

/// Writes the entries of `iter` (from its first) into table `number` in `dir`, syncs it and
/// the directory, and describes it; `None` (and no file) if `iter` has no entry. On error no
/// file is left behind (removal is best effort: the error reported is the build's).
///
/// With `smallest_snapshot`, a version is dropped when a newer version of the same key has a
/// sequence at or below it: no reader (the oldest snapshot included) can see it any more
/// (LevelDB's rule (A); tombstones are kept, since a flush never writes the last level).
/// `None` keeps every version.
pub(crate) fn build_table(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    iter: &mut dyn InternalIterator,
    options: &TableOptions,
    smallest_snapshot: Option<u64>,
) -> Result<Option<FileMetaData>> {
    iter.seek_to_first();
    if !iter.valid() {
        iter.status()?;
        return Ok(None);
    }
    let path = table_file_name(dir, number);
    let result = write_table(fs, dir, &path, number, iter, options, smallest_snapshot);
    if result.is_err() {
        // Nothing names the file yet; a partial table must not outlive the error.
        let _ = fs.remove_file(&path);
    }
    result.map(Some)
}

fn write_table(
    fs: &dyn FileSystem,
    dir: &Path,
    path: &Path,
    number: u64,
    iter: &mut dyn InternalIterator,
    options: &TableOptions,
    smallest_snapshot: Option<u64>,
) -> Result<FileMetaData> {
    let name = path.display().to_string();
    let file = fs
        .create(path)
        .map_err(|e| Error::io(format!("creating table {name}"), e))?;
    let mut builder = TableBuilder::new(options.clone(), file, name.clone());
    let smallest = iter.key().to_vec();
    // The user key being walked (one buffer reused: a flush walks every entry of a memtable,
    // and an allocation per entry showed in its profile), and the sequence of its previous
    // (newer) version; `None` before the first entry.
    let mut current_key: Vec<u8> = Vec::new();
    let mut newer_sequence: Option<u64> = None;
    while iter.valid() {
        let parsed = parse_internal_key(iter.key()).ok_or_else(|| {
            Error::corruption(format!("building {name}: an entry with a bad internal key"))
        })?;
        if newer_sequence.is_none() || current_key.as_slice() != parsed.user_key {
            current_key.clear();
            current_key.extend_from_slice(parsed.user_key);
            newer_sequence = None;
        }
        let shadowed = smallest_snapshot.is_some_and(|s| newer_sequence.is_some_and(|n| n <= s));
        newer_sequence = Some(parsed.sequence);
        if !shadowed {
            builder.add(iter.key(), iter.value())?;
        }
        iter.next();
    }
    // The last entry added: the table's largest key (the builder keeps a copy of it; copying
    // each entry's key here as well was a second copy per entry).
    let largest = builder.last_key().to_vec();
    iter.status()?;
    let mut finished = builder.finish()?;
    finished
        .file
        .sync()
        .map_err(|e| Error::io(format!("syncing table {name}"), e))?;
    drop(finished.file);
    fs.sync_dir(dir).map_err(|e| {
        Error::io(
            format!("syncing directory {} after writing {name}", dir.display()),
            e,
        )
    })?;
    Ok(FileMetaData {
        number,
        file_size: finished.file_size,
        smallest,
        largest,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::dbformat::{LookupKey, ValueKind, MAX_SEQUENCE};
    use crate::fs::{Fault, FaultKind, MemFs, PowerLoss};
    use crate::iter::table::TableInternalIter;
    use crate::memtable::{Lookup, MemTable};
    use crate::table::{BlockReadOptions, TableCache, TableCacheOptions};
    use crate::write_batch::WriteBatch;

    fn memtable() -> Arc<MemTable> {
        let mem = Arc::new(MemTable::new());
        let mut seq = 1;
        for round in 0..3u32 {
            let mut b = WriteBatch::new();
            for i in 0..500u32 {
                let key = format!("key{:05}", i * 7 % 500);
                if (i + round) % 5 == 0 {
                    b.delete(key.as_bytes()).unwrap();
                } else {
                    b.put(key.as_bytes(), format!("v{round}-{i}").as_bytes())
                        .unwrap();
                }
            }
            seq = mem.insert_batch(&b, seq);
        }
        mem
    }

    fn entries(iter: &mut dyn InternalIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        iter.seek_to_first();
        while iter.valid() {
            out.push((iter.key().to_vec(), iter.value().to_vec()));
            iter.next();
        }
        iter.status().unwrap();
        out
    }

    fn small_blocks() -> TableOptions {
        TableOptions {
            block_size: 256,
            ..TableOptions::default()
        }
    }

    #[test]
    fn a_flushed_memtable_survives_power_loss_as_a_table_with_every_version() {
        let fs = Arc::new(MemFs::new());
        let dir = PathBuf::from("/db");
        fs.create_dir_all(&dir).unwrap();
        let mem = memtable();
        let meta = build_table(fs.as_ref(), &dir, 7, &mut mem.iter(), &small_blocks(), None)
            .unwrap()
            .unwrap();
        // Synced file and directory: nothing is lost with the unsynced writes.
        fs.power_loss(PowerLoss::DropUnsynced);
        let cache = TableCache::new(fs.clone(), &dir, TableCacheOptions::default());
        let mut table = TableInternalIter::new(
            cache
                .iter(7, meta.file_size, BlockReadOptions::default())
                .unwrap(),
        );
        let expected = entries(&mut mem.iter());
        assert_eq!(expected.len(), 1500, "every version and tombstone is kept");
        assert_eq!(entries(&mut table), expected);
        assert_eq!(meta.smallest, expected[0].0);
        assert_eq!(meta.largest, expected[expected.len() - 1].0);
        assert_eq!(meta.number, 7);
        // Point lookups through the bloom filter and index see what the memtable sees: the
        // newest version, a value or a tombstone.
        for i in 0..500u32 {
            let key = format!("key{i:05}");
            let lk = LookupKey::new(key.as_bytes(), MAX_SEQUENCE);
            let entry = cache
                .get(7, meta.file_size, &lk, &BlockReadOptions::default())
                .unwrap()
                .expect("every key was written");
            match mem.get(key.as_bytes(), MAX_SEQUENCE) {
                Lookup::Found(v) => {
                    assert_eq!(entry.kind, ValueKind::Value, "{key}");
                    assert_eq!(entry.value, v, "{key}");
                }
                Lookup::Deleted => assert_eq!(entry.kind, ValueKind::Deletion, "{key}"),
                Lookup::Absent => panic!("{key} is in the memtable"),
            }
        }
    }

    #[test]
    fn an_empty_memtable_makes_no_file() {
        let fs = MemFs::new();
        let dir = PathBuf::from("/db");
        fs.create_dir_all(&dir).unwrap();
        let mem = Arc::new(MemTable::new());
        let got = build_table(
            &fs,
            &dir,
            3,
            &mut mem.iter(),
            &TableOptions::default(),
            None,
        )
        .unwrap();
        assert!(got.is_none());
        assert!(fs.list(&dir).unwrap().is_empty());
    }

    #[test]
    fn a_failed_build_reports_the_cause_and_leaves_no_file() {
        for kind in [FaultKind::Append, FaultKind::Sync, FaultKind::SyncDir] {
            let fs = MemFs::new();
            let dir = PathBuf::from("/db");
            fs.create_dir_all(&dir).unwrap();
            fs.inject(Fault::once(kind, 1, libc::ENOSPC));
            let err = build_table(&fs, &dir, 9, &mut memtable().iter(), &small_blocks(), None)
                .expect_err("the fault must fail the build");
            let text = err.to_string();
            assert!(text.contains("000009.sst"), "{kind:?}: {text}");
            assert!(
                fs.list(&dir).unwrap().is_empty(),
                "{kind:?}: a partial table was left behind"
            );
        }
    }

    #[test]
    fn versions_no_reader_can_see_are_dropped_below_the_smallest_snapshot() {
        let fs = Arc::new(MemFs::new());
        let dir = PathBuf::from("/db");
        fs.create_dir_all(&dir).unwrap();
        let mem = Arc::new(MemTable::new());
        for (seq, value) in [
            (1u64, Some("v1")),
            (5, Some("v5")),
            (9, None),
            (12, Some("v12")),
        ] {
            let mut b = WriteBatch::new();
            match value {
                Some(v) => b.put(b"k", v.as_bytes()).unwrap(),
                None => b.delete(b"k").unwrap(),
            }
            mem.insert_batch(&b, seq);
        }
        // A snapshot at 6 sees v5; everything older than v5 is invisible to every reader.
        let meta = build_table(
            fs.as_ref(),
            &dir,
            4,
            &mut mem.iter(),
            &small_blocks(),
            Some(6),
        )
        .unwrap()
        .unwrap();
        let cache = TableCache::new(fs.clone(), &dir, TableCacheOptions::default());
        let mut table = TableInternalIter::new(
            cache
                .iter(4, meta.file_size, BlockReadOptions::default())
                .unwrap(),
        );
        let seqs: Vec<u64> = entries(&mut table)
            .iter()
            .map(|(k, _)| crate::dbformat::parse_internal_key(k).unwrap().sequence)
            .collect();
        assert_eq!(
            seqs,
            vec![12, 9, 5],
            "v1 is shadowed by v5 at or below the snapshot"
        );
        for (at, want) in [
            (6, Some(ValueKind::Value)),
            (10, Some(ValueKind::Deletion)),
            (13, Some(ValueKind::Value)),
        ] {
            let got = cache
                .get(
                    4,
                    meta.file_size,
                    &LookupKey::new(b"k", at),
                    &BlockReadOptions::default(),
                )
                .unwrap()
                .map(|e| e.kind);
            assert_eq!(got, want, "at {at}");
        }
        // Without a snapshot bound every version stays.
        let meta = build_table(fs.as_ref(), &dir, 5, &mut mem.iter(), &small_blocks(), None)
            .unwrap()
            .unwrap();
        let mut table = TableInternalIter::new(
            cache
                .iter(5, meta.file_size, BlockReadOptions::default())
                .unwrap(),
        );
        assert_eq!(entries(&mut table).len(), 4);
    }
}
