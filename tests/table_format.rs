//! Tables written and read back whole: LevelDB's table tests as behaviour (empty table, one
//! entry, thousands, the empty user key, values larger than a block, restart intervals 1 and
//! 16, bloom on and off, Snappy), the bytes of the format where a reader of another engine
//! relies on them, and the errors a damaged table gives.
#![allow(clippy::unwrap_used)]
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use groupkv::dbformat::{internal_key, LookupKey, ValueKind, MAX_SEQUENCE};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::table::block::Block;
use groupkv::table::format::{Footer, BLOCK_TRAILER_LEN, FOOTER_LEN, TABLE_MAGIC};
use groupkv::table::{
    BlockCache, BlockCacheKey, Compression, ReadOptions, Table, TableBuilder, TableEntry,
    TableOptions,
};
use groupkv::Error;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn build(fs: &MemFs, path: &Path, options: TableOptions, entries: &Entries) -> u64 {
    fs.create_dir_all(path.parent().unwrap()).unwrap();
    let file = fs.create(path).unwrap();
    let mut b = TableBuilder::new(options, file, path.display().to_string());
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    let done = b.finish().unwrap();
    assert_eq!(done.num_entries, entries.len() as u64);
    assert_eq!(done.file_size, fs.read(path).unwrap().len() as u64);
    done.file_size
}

fn open(fs: &MemFs, path: &Path, options: ReadOptions) -> groupkv::Result<Arc<Table>> {
    let file = fs.open_random_access(path).unwrap();
    let size = file.file_size().unwrap();
    Table::open(file, path.display().to_string(), size, options).map(Arc::new)
}

fn scan(table: &Arc<Table>) -> Entries {
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next().unwrap();
    }
    out
}

fn scan_backward(table: &Arc<Table>) -> Entries {
    let mut it = table.iter();
    it.seek_to_last().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev().unwrap();
    }
    out.reverse();
    out
}

/// `n` entries over `n / 3` user keys, newest first within a key, every fifth a deletion.
fn entries(n: usize, value_len: usize) -> Entries {
    let mut out = Vec::new();
    let mut i = 0;
    let mut user = 0;
    while out.len() < n {
        let key = format!("key{user:08}").into_bytes();
        for seq in (1..=3u64).rev() {
            if out.len() == n {
                break;
            }
            let kind = if i % 5 == 4 {
                ValueKind::Deletion
            } else {
                ValueKind::Value
            };
            let value = if kind == ValueKind::Deletion {
                Vec::new()
            } else {
                (0..value_len).map(|j| (i * 7 + j) as u8).collect()
            };
            out.push((internal_key(&key, 1000 * user as u64 + seq, kind), value));
            i += 1;
        }
        user += 1;
    }
    out
}

fn check_round_trip(options: TableOptions, entries: &Entries) -> Arc<Table> {
    let fs = MemFs::new();
    let path = Path::new("/db/000001.sst");
    build(&fs, path, options.clone(), entries);
    let table = open(&fs, path, ReadOptions::default()).unwrap();
    assert_eq!(&scan(&table), entries, "forward scan with {options:?}");
    assert_eq!(
        &scan_backward(&table),
        entries,
        "backward scan with {options:?}"
    );
    // Every key is found by seek and by get.
    let mut it = table.iter();
    for (k, v) in entries {
        it.seek(k).unwrap();
        assert!(it.valid());
        assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
        let p = groupkv::dbformat::parse_internal_key(k).unwrap();
        let got = table
            .get(&LookupKey::new(p.user_key, p.sequence))
            .unwrap()
            .expect("present");
        assert_eq!(
            got,
            TableEntry {
                sequence: p.sequence,
                kind: p.kind,
                value: v.clone()
            }
        );
    }
    table
}

#[test]
fn empty_table_reads_back_empty() {
    for bloom in [None, Some(10)] {
        let options = TableOptions {
            bloom_bits_per_key: bloom,
            ..TableOptions::default()
        };
        let table = check_round_trip(options, &Vec::new());
        let mut it = table.iter();
        it.seek(&internal_key(b"a", 1, ValueKind::Value)).unwrap();
        assert!(!it.valid());
        assert_eq!(
            table.get(&LookupKey::new(b"a", MAX_SEQUENCE)).unwrap(),
            None
        );
        assert_eq!(table.has_filter(), bloom.is_some());
    }
}

#[test]
fn one_entry_and_the_empty_user_key() {
    check_round_trip(
        TableOptions::default(),
        &vec![(internal_key(b"k", 7, ValueKind::Value), b"v".to_vec())],
    );
    let table = check_round_trip(
        TableOptions::default(),
        &vec![
            (
                internal_key(b"", 9, ValueKind::Value),
                b"empty key".to_vec(),
            ),
            (internal_key(b"", 3, ValueKind::Deletion), Vec::new()),
            (internal_key(b"a", 1, ValueKind::Value), Vec::new()),
        ],
    );
    // Seen at sequence 5, the empty key is deleted; at 2 it does not exist yet.
    let at5 = table.get(&LookupKey::new(b"", 5)).unwrap().unwrap();
    assert_eq!(at5.kind, ValueKind::Deletion);
    assert_eq!(table.get(&LookupKey::new(b"", 2)).unwrap(), None);
}

#[test]
fn thousands_of_entries_in_many_blocks_with_every_option() {
    let data = entries(5000, 40);
    for restart in [1, 16] {
        for bloom in [None, Some(10)] {
            for compression in [Compression::None, Compression::Snappy] {
                let options = TableOptions {
                    block_restart_interval: restart,
                    bloom_bits_per_key: bloom,
                    compression,
                    ..TableOptions::default()
                };
                check_round_trip(options, &data);
            }
        }
    }
}

#[test]
fn values_larger_than_a_block() {
    let mut data = entries(30, 10_000);
    data.push((
        internal_key(b"zzz", 1, ValueKind::Value),
        vec![0xab; 100_000],
    ));
    check_round_trip(TableOptions::default(), &data);
    check_round_trip(
        TableOptions {
            block_size: 256,
            compression: Compression::Snappy,
            ..TableOptions::default()
        },
        &data,
    );
}

#[test]
fn gets_see_the_newest_visible_version_and_miss_absent_keys() {
    let data = entries(3000, 20);
    let table = check_round_trip(TableOptions::default(), &data);
    // key00000001 has sequences 1003, 1002, 1001.
    let got = table
        .get(&LookupKey::new(b"key00000001", 1002))
        .unwrap()
        .unwrap();
    assert_eq!(got.sequence, 1002);
    let got = table
        .get(&LookupKey::new(b"key00000001", 5000))
        .unwrap()
        .unwrap();
    assert_eq!(got.sequence, 1003);
    assert_eq!(
        table.get(&LookupKey::new(b"key00000001", 1000)).unwrap(),
        None
    );
    for missing in [&b"key"[..], b"key00000001x", b"zzz", b""] {
        assert_eq!(
            table.get(&LookupKey::new(missing, MAX_SEQUENCE)).unwrap(),
            None
        );
    }
}

#[test]
fn seek_between_keys_lands_on_the_next_and_prev_steps_back() {
    let data = entries(2000, 8);
    let table = check_round_trip(TableOptions::default(), &data);
    let mut it = table.iter();
    // Between key00000010 and key00000011.
    it.seek(&internal_key(
        b"key00000010~",
        MAX_SEQUENCE,
        ValueKind::Value,
    ))
    .unwrap();
    assert!(it.valid());
    let pos = data
        .iter()
        .position(|(k, _)| k.starts_with(b"key00000011"))
        .unwrap();
    assert_eq!(it.key(), &data[pos].0[..]);
    it.prev().unwrap();
    assert_eq!(it.key(), &data[pos - 1].0[..]);
    it.seek(&internal_key(b"zzz", 1, ValueKind::Value)).unwrap();
    assert!(!it.valid());
    it.seek(&internal_key(b"", MAX_SEQUENCE, ValueKind::Value))
        .unwrap();
    assert_eq!(it.key(), &data[0].0[..]);
    it.prev().unwrap();
    assert!(!it.valid());
}

#[test]
fn keys_out_of_order_are_refused() {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("/db")).unwrap();
    let file = fs.create(Path::new("/db/1.sst")).unwrap();
    let mut b = TableBuilder::new(TableOptions::default(), file, "1.sst");
    b.add(&internal_key(b"b", 1, ValueKind::Value), b"")
        .unwrap();
    for bad in [
        internal_key(b"a", 1, ValueKind::Value),
        internal_key(b"b", 1, ValueKind::Value),
        internal_key(b"b", 2, ValueKind::Value),
    ] {
        assert!(matches!(
            b.add(&bad, b""),
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[test]
fn layout_is_leveldbs() {
    let fs = MemFs::new();
    let path = Path::new("/db/000002.sst");
    // User keys `hi lo padding` with lo stepping by 4: most neighbours differ by more than
    // one in a byte, so a two-byte key separates them.
    let data: Entries = (0..1000u32)
        .map(|i| {
            let mut user = vec![(i / 64) as u8, (4 * (i % 64)) as u8];
            user.extend_from_slice(b"-padding-padding");
            (internal_key(&user, 5, ValueKind::Value), vec![7; 30])
        })
        .collect();
    build(&fs, path, TableOptions::default(), &data);
    let bytes = fs.read(path).unwrap();
    let footer = Footer::decode(&bytes[bytes.len() - FOOTER_LEN..]).unwrap();
    assert_eq!(
        u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap()),
        TABLE_MAGIC
    );
    // index block, then footer, end the file; metaindex just before the index.
    assert_eq!(
        footer.index.offset + footer.index.size + BLOCK_TRAILER_LEN as u64,
        (bytes.len() - FOOTER_LEN) as u64
    );
    assert_eq!(
        footer.metaindex.offset + footer.metaindex.size + BLOCK_TRAILER_LEN as u64,
        footer.index.offset
    );
    // The metaindex names the filter, and the index holds short separators: every index
    // key but the last is a user key shortened to at most its data keys' length with the
    // (MAX_SEQUENCE, value) tag.
    let start = footer.metaindex.offset as usize;
    let meta = &bytes[start..start + footer.metaindex.size as usize];
    let needle = b"filter.leveldb.BuiltinBloomFilter2";
    assert!(meta.windows(needle.len()).any(|w| w == needle));
    let start = footer.index.offset as usize;
    let index = Arc::new(
        Block::new(
            bytes[start..start + footer.index.size as usize].to_vec(),
            "index",
        )
        .unwrap(),
    );
    let mut it = index.iter(groupkv::dbformat::compare_internal_keys);
    it.seek_to_first().unwrap();
    let (mut n, mut short) = (0, 0);
    while it.valid() {
        let p = groupkv::dbformat::parse_internal_key(it.key()).unwrap();
        if p.sequence == MAX_SEQUENCE {
            // Shortened: the tag of the first possible entry of the short key.
            assert!(p.user_key.len() <= 2, "{:?}", p.user_key);
            short += 1;
        } else {
            // Not shortenable: the block's last key itself.
            assert!(data.iter().any(|(k, _)| k == it.key()));
        }
        n += 1;
        it.next().unwrap();
    }
    assert!(n > 5, "1000 entries of ~50 bytes span several 4 KiB blocks");
    assert!(short * 2 > n, "{short} of {n} index keys shortened");
}

#[test]
fn snappy_is_kept_only_when_it_pays() {
    let fs = MemFs::new();
    let compressible = entries(2000, 100)
        .into_iter()
        .map(|(k, v)| (k, if v.is_empty() { v } else { vec![b'x'; 100] }))
        .collect::<Entries>();
    let plain = build(
        &fs,
        Path::new("/a/p.sst"),
        TableOptions::default(),
        &compressible,
    );
    let snappy = TableOptions {
        compression: Compression::Snappy,
        ..TableOptions::default()
    };
    let small = build(&fs, Path::new("/a/s.sst"), snappy.clone(), &compressible);
    assert!(small * 3 < plain, "{small} vs {plain}");
    // Random values do not compress: the table is written uncompressed, the same bytes.
    let mut x = 0x1234_5678_9abc_def0u64;
    let random = entries(500, 100)
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .iter()
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            (k, v)
        })
        .collect::<Entries>();
    build(&fs, Path::new("/b/p.sst"), TableOptions::default(), &random);
    build(&fs, Path::new("/b/s.sst"), snappy, &random);
    let p = fs.read(Path::new("/b/p.sst")).unwrap();
    let s = fs.read(Path::new("/b/s.sst")).unwrap();
    // ~50 KB of data blocks (the index, whose keys are alike, may compress).
    assert!(p.len() > 45_000);
    assert_eq!(
        p[..40_000],
        s[..40_000],
        "data blocks are written uncompressed"
    );
}

fn corruption_message(r: groupkv::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Corruption { message }) => message,
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

#[test]
fn a_damaged_data_block_names_file_and_offset() {
    let fs = MemFs::new();
    let path = Path::new("/db/000009.sst");
    let data = entries(1000, 30);
    build(&fs, path, TableOptions::default(), &data);
    let mut bytes = fs.read(path).unwrap();
    // A byte inside the second data block (blocks are ~4 KiB).
    bytes[5000] ^= 0x40;
    fs.overwrite(path, bytes).unwrap();
    let table = open(&fs, path, ReadOptions::default()).unwrap();
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    let mut err = None;
    while it.valid() {
        if let Err(e) = it.next() {
            err = Some(e);
            break;
        }
    }
    let msg = corruption_message(Err::<(), _>(err.expect("the damage is detected")));
    assert!(msg.contains("000009.sst"), "{msg}");
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert!(msg.contains("block at offset 4"), "{msg}");
    assert!(!it.valid());

    // Without checksum verification the damage reads as data or as a format error, never a
    // panic.
    let table = open(
        &fs,
        path,
        ReadOptions {
            verify_checksums: false,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    while it.valid() {
        if it.next().is_err() {
            break;
        }
    }
}

#[test]
fn short_files_and_bad_magic_are_corruption() {
    let fs = MemFs::new();
    let path = Path::new("/db/000003.sst");
    build(&fs, path, TableOptions::default(), &entries(10, 5));
    let bytes = fs.read(path).unwrap();
    fs.overwrite(path, bytes[..40].to_vec()).unwrap();
    let msg = corruption_message(open(&fs, path, ReadOptions::default()));
    assert!(msg.contains("too short"), "{msg}");
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 1;
    fs.overwrite(path, bad).unwrap();
    let msg = corruption_message(open(&fs, path, ReadOptions::default()));
    assert!(msg.contains("magic"), "{msg}");
    // Cut in the middle: the footer read is garbage or the handles pass the end.
    fs.overwrite(path, bytes[..bytes.len() - 10].to_vec())
        .unwrap();
    corruption_message(open(&fs, path, ReadOptions::default()));
}

/// Rewrites the type byte of the block at `offset` (contents `size` bytes) and its CRC, so
/// only the type is wrong.
fn set_block_type(bytes: &mut [u8], offset: usize, size: usize, t: u8) {
    bytes[offset + size] = t;
    let crc = groupkv::checksum::crc32c(&bytes[offset..=offset + size]);
    bytes[offset + size + 1..offset + size + 5]
        .copy_from_slice(&groupkv::checksum::mask(crc).to_le_bytes());
}

#[test]
fn block_types_other_than_none_and_snappy_are_refused_by_name() {
    let fs = MemFs::new();
    let path = Path::new("/db/000004.sst");
    build(&fs, path, TableOptions::default(), &entries(100, 5));
    let bytes = fs.read(path).unwrap();
    let footer = Footer::decode(&bytes[bytes.len() - FOOTER_LEN..]).unwrap();
    for t in [2u8, 3, 0xff] {
        let mut bad = bytes.clone();
        set_block_type(
            &mut bad,
            footer.index.offset as usize,
            footer.index.size as usize,
            t,
        );
        fs.overwrite(path, bad).unwrap();
        let msg = corruption_message(open(&fs, path, ReadOptions::default()));
        assert!(msg.contains("000004.sst"), "{msg}");
        assert!(
            msg.contains(&format!("block at offset {}", footer.index.offset)),
            "{msg}"
        );
        assert!(msg.contains(&format!("block type {t}")), "{msg}");
    }
}

/// A block cache for the test: a map that counts its hits.
#[derive(Default)]
struct MapCache {
    blocks: Mutex<HashMap<BlockCacheKey, Arc<Block>>>,
    hits: Mutex<u64>,
}

impl BlockCache for MapCache {
    fn lookup(&self, key: &BlockCacheKey) -> Option<Arc<Block>> {
        let b = self.blocks.lock().unwrap().get(key).cloned();
        if b.is_some() {
            *self.hits.lock().unwrap() += 1;
        }
        b
    }
    fn insert(&self, key: BlockCacheKey, block: Arc<Block>, _charge: usize) {
        self.blocks.lock().unwrap().insert(key, block);
    }
}

#[test]
fn block_cache_hook_saves_reads() {
    let fs = MemFs::new();
    let path = Path::new("/db/000005.sst");
    let data = entries(2000, 20);
    build(&fs, path, TableOptions::default(), &data);
    let cache = Arc::new(MapCache::default());
    let table = open(
        &fs,
        path,
        ReadOptions {
            block_cache: Some(cache.clone()),
            cache_id: 5,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(scan(&table), data);
    let reads = fs.count(groupkv::fs::FaultKind::Read);
    assert_eq!(scan(&table), data);
    assert_eq!(scan_backward(&table), data);
    assert_eq!(
        fs.count(groupkv::fs::FaultKind::Read),
        reads,
        "second scans come from the cache"
    );
    assert!(*cache.hits.lock().unwrap() > 0);
    assert!(cache.blocks.lock().unwrap().keys().all(|k| k.cache_id == 5));
}

#[test]
fn bloom_filter_spares_reads_of_absent_keys() {
    let fs = MemFs::new();
    let path = Path::new("/db/000006.sst");
    build(&fs, path, TableOptions::default(), &entries(3000, 20));
    let table = open(&fs, path, ReadOptions::default()).unwrap();
    let before = fs.count(groupkv::fs::FaultKind::Read);
    let mut absent = 0;
    for i in 0..1000 {
        let key = format!("key{:08}a", i % 1000);
        assert_eq!(
            table
                .get(&LookupKey::new(key.as_bytes(), MAX_SEQUENCE))
                .unwrap(),
            None
        );
        absent += 1;
    }
    let reads = fs.count(groupkv::fs::FaultKind::Read) - before;
    assert!(
        reads * 20 < absent,
        "{reads} data-block reads for {absent} absent keys"
    );
}
