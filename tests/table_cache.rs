//! The table cache and the block cache: at most `max_open_files − 10` tables open, evicted
//! tables reopened on demand and still correct, evicted-but-used tables still readable;
//! blocks counted as hits and misses, `fill_cache = false` reads leave the cache alone,
//! `verify_checksums` decides whether damage is caught.
#![allow(clippy::unwrap_used)]
#![allow(clippy::cast_possible_truncation)]

mod iter_support;

use std::path::Path;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, LookupKey, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::table::{BlockReadOptions, LruBlockCache, TableCache, TableCacheOptions};
use groupkv::version::FileMetaData;
use groupkv::Error;
use iter_support::*;

/// Table n holds keys t{n}-000..t{n}-199.
fn tables(fs: &MemFs, count: u64) -> Vec<FileMetaData> {
    (1..=count)
        .map(|n| {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..200u32)
                .map(|i| {
                    (
                        internal_key(format!("t{n}-{i:03}").as_bytes(), 3, ValueKind::Value),
                        format!("value {n} {i}").into_bytes(),
                    )
                })
                .collect();
            write_table(fs, n, &entries, 1024)
        })
        .collect()
}

fn lookup(n: u64, i: u32) -> LookupKey {
    LookupKey::new(format!("t{n}-{i:03}").as_bytes(), 100)
}

#[test]
fn open_tables_are_bounded_and_evicted_tables_reopen_correctly() {
    let fs = MemFs::new();
    let files = tables(&fs, 8);
    // max_open_files 13: three tables at a time.
    let cache = TableCache::new(
        Arc::new(fs.clone()),
        DIR,
        TableCacheOptions {
            max_open_files: 13,
            ..TableCacheOptions::default()
        },
    );
    for round in 0..3 {
        for f in &files {
            let got = cache
                .get(
                    f.number,
                    f.file_size,
                    &lookup(f.number, 77),
                    &BlockReadOptions::default(),
                )
                .unwrap();
            assert_eq!(
                got.unwrap().value,
                format!("value {} 77", f.number).into_bytes(),
                "round {round}"
            );
            assert!(cache.open_tables() <= 3);
        }
    }
    assert_eq!(cache.open_tables(), 3);
    // The same Arc while cached; a new one after eviction.
    let a = cache.find_table(8, files[7].file_size).unwrap();
    let b = cache.find_table(8, files[7].file_size).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    cache.evict(8);
    let c = cache.find_table(8, files[7].file_size).unwrap();
    assert!(!Arc::ptr_eq(&a, &c), "evict forgets the open table");
}

#[test]
fn a_cursor_keeps_an_evicted_and_deleted_table_readable() {
    let fs = MemFs::new();
    let files = tables(&fs, 2);
    let cache = TableCache::new(Arc::new(fs.clone()), DIR, TableCacheOptions::default());
    let mut it = cache
        .iter(1, files[0].file_size, BlockReadOptions::default())
        .unwrap();
    // The file becomes obsolete: evicted and unlinked while the cursor still reads it.
    cache.evict(1);
    fs.remove_file(&Path::new(DIR).join("000001.sst")).unwrap();
    it.seek_to_first().unwrap();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next().unwrap();
    }
    assert_eq!(n, 200);
    // But a new open of the deleted file fails.
    let err = cache.find_table(1, files[0].file_size).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn leveldb_named_tables_are_found() {
    let fs = MemFs::new();
    let files = tables(&fs, 1);
    let sst = Path::new(DIR).join("000001.sst");
    let ldb = Path::new(DIR).join("000001.ldb");
    fs.rename(&sst, &ldb).unwrap();
    let cache = TableCache::new(Arc::new(fs.clone()), DIR, TableCacheOptions::default());
    let got = cache
        .get(
            1,
            files[0].file_size,
            &lookup(1, 5),
            &BlockReadOptions::default(),
        )
        .unwrap();
    assert_eq!(got.unwrap().value, b"value 1 5");
}

#[test]
fn block_cache_counts_hits_and_misses_and_fill_cache_false_inserts_nothing() {
    let fs = MemFs::new();
    let files = tables(&fs, 2);
    let blocks = Arc::new(LruBlockCache::new(1 << 20));
    let cache = TableCache::new(
        Arc::new(fs.clone()),
        DIR,
        TableCacheOptions {
            block_cache: Some(Arc::clone(&blocks)),
            ..TableCacheOptions::default()
        },
    );
    let no_fill = BlockReadOptions {
        fill_cache: false,
        ..BlockReadOptions::default()
    };
    let f = &files[0];
    // fill_cache = false: a miss each time, nothing kept.
    for _ in 0..3 {
        cache
            .get(f.number, f.file_size, &lookup(1, 10), &no_fill)
            .unwrap()
            .unwrap();
    }
    assert_eq!((blocks.hits(), blocks.misses(), blocks.len()), (0, 3, 0));
    // A scan without filling reads every block and keeps none.
    let mut it = cache.iter(f.number, f.file_size, no_fill).unwrap();
    it.seek_to_first().unwrap();
    while it.valid() {
        it.next().unwrap();
    }
    assert_eq!(blocks.len(), 0);
    assert_eq!(blocks.usage(), 0);
    let misses = blocks.misses();
    // Filling: the first read misses and inserts, the next ones hit.
    cache
        .get(
            f.number,
            f.file_size,
            &lookup(1, 10),
            &BlockReadOptions::default(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        (blocks.hits(), blocks.misses(), blocks.len()),
        (0, misses + 1, 1)
    );
    for _ in 0..4 {
        cache
            .get(
                f.number,
                f.file_size,
                &lookup(1, 10),
                &BlockReadOptions::default(),
            )
            .unwrap()
            .unwrap();
    }
    assert_eq!(blocks.hits(), 4);
    assert!(
        blocks.usage() > 0 && blocks.usage() <= 1100,
        "charged by block size: {}",
        blocks.usage()
    );
    // A filling scan caches every block of the table; a second scan only hits.
    let mut it = cache
        .iter(f.number, f.file_size, BlockReadOptions::default())
        .unwrap();
    it.seek_to_first().unwrap();
    while it.valid() {
        it.next().unwrap();
    }
    let (hits, misses, held) = (blocks.hits(), blocks.misses(), blocks.len());
    assert!(held > 3, "the table has several blocks: {held}");
    it.seek_to_first().unwrap();
    while it.valid() {
        it.next().unwrap();
    }
    assert_eq!(blocks.misses(), misses, "a second scan reads nothing");
    assert_eq!(blocks.hits(), hits + held as u64);
    // Blocks of two tables never collide, even though offsets repeat.
    let g = &files[1];
    let got = cache
        .get(
            g.number,
            g.file_size,
            &lookup(2, 10),
            &BlockReadOptions::default(),
        )
        .unwrap();
    assert_eq!(got.unwrap().value, b"value 2 10");
}

#[test]
fn the_block_cache_stays_within_its_capacity() {
    let fs = MemFs::new();
    let files = tables(&fs, 4);
    let blocks = Arc::new(LruBlockCache::new(16 * 1024));
    let cache = TableCache::new(
        Arc::new(fs.clone()),
        DIR,
        TableCacheOptions {
            block_cache: Some(Arc::clone(&blocks)),
            ..TableCacheOptions::default()
        },
    );
    for f in &files {
        let mut it = cache
            .iter(f.number, f.file_size, BlockReadOptions::default())
            .unwrap();
        it.seek_to_first().unwrap();
        while it.valid() {
            it.next().unwrap();
        }
    }
    // Each of 16 shards holds at most a ceil(16 KiB / 16) share, and blocks are ~1 KiB.
    assert!(
        blocks.usage() <= 16 * 1024 + 16 * 1100,
        "{}",
        blocks.usage()
    );
    assert!(blocks.usage() > 0);
}

#[test]
fn verify_checksums_decides_whether_damage_is_caught() {
    let fs = MemFs::new();
    let files = tables(&fs, 1);
    let f = &files[0];
    // Damage one value byte in the first data block: "value 1 0" starts after the key.
    let path = Path::new(DIR).join("000001.sst");
    let mut bytes = fs.read(&path).unwrap();
    let at = bytes.windows(9).position(|w| w == b"value 1 0").unwrap();
    bytes[at] = b'V';
    fs.overwrite(&path, bytes).unwrap();
    let cache = TableCache::new(Arc::new(fs.clone()), DIR, TableCacheOptions::default());
    let err = cache
        .get(1, f.file_size, &lookup(1, 0), &BlockReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    assert!(
        err.to_string().contains("000001.sst"),
        "names the file: {err}"
    );
    let unchecked = BlockReadOptions {
        verify_checksums: false,
        ..BlockReadOptions::default()
    };
    let got = cache
        .get(1, f.file_size, &lookup(1, 0), &unchecked)
        .unwrap()
        .unwrap();
    assert_eq!(
        got.value, b"Value 1 0",
        "unchecked reads return the bytes as they are"
    );
}

#[test]
fn the_default_table_cache_holds_hundreds_of_tables() {
    // Sharding must not make the default cache (990 tables) evict far below its capacity.
    let fs = MemFs::new();
    let files = tables(&fs, 300);
    let cache = TableCache::new(Arc::new(fs.clone()), DIR, TableCacheOptions::default());
    for f in &files {
        cache.find_table(f.number, f.file_size).unwrap();
    }
    assert_eq!(cache.open_tables(), 300);
}

/// The smallest valid block (no entries: a restart count of 0) in a buffer of `n` bytes'
/// capacity, as a block read from a table would have.
fn block_with_capacity(n: usize) -> Arc<groupkv::table::block::Block> {
    let mut data = Vec::with_capacity(n);
    data.extend_from_slice(&[0, 0, 0, 0]);
    Arc::new(groupkv::table::block::Block::new(data, "test").unwrap())
}

#[test]
fn evicted_blocks_nobody_reads_lend_their_buffers_and_read_blocks_stay_intact() {
    use groupkv::table::{BlockCache, BlockCacheKey};
    // One shard's worth: 16 shards of 1 KiB each; blocks charged 1 KiB evict one another.
    let cache = LruBlockCache::new(16 << 10);
    let key = |offset| BlockCacheKey {
        cache_id: 1,
        offset,
    };
    // A fresh cache has nothing to lend.
    assert_eq!(cache.buffer().capacity(), 0);
    let held = block_with_capacity(4096);
    cache.insert(key(0), Arc::clone(&held), 1024);
    for offset in 1..200 {
        cache.insert(key(offset), block_with_capacity(4096), 1024);
    }
    // `held` was evicted, but is still read: its bytes were not handed out.
    assert!(cache.lookup(&key(0)).is_none());
    assert_eq!(held.size(), 4);
    // Blocks nobody holds were evicted: their buffers come back with their capacity (and
    // their old bytes, which the next read overwrites: `fs_posix_reads` checks that).
    let b = cache.buffer();
    assert!(b.capacity() >= 4096, "{}", b.capacity());
}
