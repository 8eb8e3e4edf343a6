//! Helpers shared by the compaction job suites: tables written with the table builder on a
//! `MemFs`, versions built from edits, the job's context, and reads through a version (point
//! lookups as `Version::get` does them, and full scans as a `DbIter` over every table).
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use groupkv::compaction::{
    compact_range, run_compaction, Compaction, CompactionError, CompactionOptions,
    CompactionResult, JobContext,
};
use groupkv::dbformat::{
    compare_internal_keys, internal_key, parse_internal_key, LookupKey, ValueKind,
};
use groupkv::fs::{FileOptions, FileSystem, MemFs};
use groupkv::iter::{
    DbIter, DbIterOptions, InternalIterator, LevelIterator, MergingIterator, TableInternalIter,
};
use groupkv::table::{BlockReadOptions, TableBuilder, TableCache, TableCacheOptions, TableOptions};
use groupkv::version::{
    FileMetaData, LookupResult, Version, VersionBuilder, VersionEdit, NUM_LEVELS,
};

pub const DIR: &str = "/db";

/// The smallest snapshot of a database without snapshots: every sequence is visible.
pub const LATEST: u64 = groupkv::dbformat::MAX_SEQUENCE;

pub type Entry = (Vec<u8>, Vec<u8>);

/// One entry: a user key, its sequence, its value (`None` = a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ent {
    pub key: Vec<u8>,
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

pub fn put(key: &str, seq: u64, value: &str) -> Ent {
    Ent {
        key: key.as_bytes().to_vec(),
        seq,
        value: Some(value.as_bytes().to_vec()),
    }
}

pub fn del(key: &str, seq: u64) -> Ent {
    Ent {
        key: key.as_bytes().to_vec(),
        seq,
        value: None,
    }
}

impl Ent {
    pub fn internal(&self) -> Entry {
        let kind = if self.value.is_some() {
            ValueKind::Value
        } else {
            ValueKind::Deletion
        };
        (
            internal_key(&self.key, self.seq, kind),
            self.value.clone().unwrap_or_default(),
        )
    }

    /// The entry an internal key and value stand for.
    pub fn from_internal(key: &[u8], value: &[u8]) -> Ent {
        let p = parse_internal_key(key).unwrap();
        Ent {
            key: p.user_key.to_vec(),
            seq: p.sequence,
            value: (p.kind == ValueKind::Value).then(|| value.to_vec()),
        }
    }
}

/// `ents` as internal entries in internal-key order.
pub fn sorted(ents: &[Ent]) -> Vec<Entry> {
    let mut e: Vec<Entry> = ents.iter().map(Ent::internal).collect();
    e.sort_by(|a, b| compare_internal_keys(&a.0, &b.0));
    e
}

pub fn table_options(block_size: usize) -> TableOptions {
    TableOptions {
        block_size,
        block_restart_interval: 4,
        ..TableOptions::default()
    }
}

/// A database directory being built by hand: the file system, the table cache and the
/// current version.
pub struct Tree {
    pub fs: MemFs,
    pub cache: Arc<TableCache>,
    pub version: Arc<Version>,
    pub next_file: u64,
    pub pointers: [Option<Vec<u8>>; NUM_LEVELS],
    pub block_size: usize,
}

impl Tree {
    pub fn new(block_size: usize) -> Self {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new(DIR)).unwrap();
        Tree {
            cache: new_cache(&fs),
            fs,
            version: Arc::new(Version::new()),
            next_file: 1,
            pointers: Default::default(),
            block_size,
        }
    }

    /// Writes `ents` (any order) as one table and adds it to `level`.
    pub fn add(&mut self, level: usize, ents: &[Ent]) -> FileMetaData {
        let number = self.next_file;
        self.next_file += 1;
        let meta = write_table(&self.fs, number, &sorted(ents), self.block_size);
        self.add_meta(level, meta.clone());
        meta
    }

    /// Adds a file's metadata to `level` without writing it (for grandparents that only cut
    /// outputs and decide base levels: the job never reads them).
    pub fn add_meta(&mut self, level: usize, meta: FileMetaData) {
        self.next_file = self.next_file.max(meta.number + 1);
        let mut e = VersionEdit::new();
        e.add_file(level, meta).unwrap();
        self.apply(&e);
    }

    /// Applies `edit` to the current version (the builder checks the level invariants).
    pub fn apply(&mut self, edit: &VersionEdit) {
        let mut b = VersionBuilder::new(Arc::clone(&self.version));
        b.apply(edit);
        self.version = Arc::new(b.build().unwrap());
    }

    pub fn ctx(&self) -> JobContext {
        JobContext {
            fs: Arc::new(self.fs.clone()),
            dir: PathBuf::from(DIR),
            table_cache: Arc::clone(&self.cache),
            table_options: table_options(self.block_size),
            file_options: FileOptions::default(),
            allow_trivial_move: false,
        }
    }

    /// Runs `c` with `ctx`, numbering outputs from `next_file`.
    pub fn run_with(
        &mut self,
        c: &mut Compaction,
        ctx: &JobContext,
        smallest_snapshot: u64,
    ) -> Result<CompactionResult, Box<CompactionError>> {
        let mut next = self.next_file;
        let flag = AtomicBool::new(false);
        let r = run_compaction(
            c,
            ctx,
            smallest_snapshot,
            &mut || {
                next += 1;
                next - 1
            },
            &flag,
        );
        self.next_file = next;
        r
    }

    /// Runs `c`, installs its edit and deletes its inputs (evicting them first), as the
    /// database will.
    pub fn compact(&mut self, c: &mut Compaction, smallest_snapshot: u64) -> CompactionResult {
        let ctx = self.ctx();
        self.compact_with(c, &ctx, smallest_snapshot)
    }

    pub fn compact_with(
        &mut self,
        c: &mut Compaction,
        ctx: &JobContext,
        smallest_snapshot: u64,
    ) -> CompactionResult {
        let r = self.run_with(c, ctx, smallest_snapshot).unwrap();
        self.apply(&r.edit);
        if !r.stats.trivial_move {
            for which in 0..2 {
                for f in c.inputs(which) {
                    self.cache.evict(f.number);
                    self.fs.remove_file(&table_path(f.number)).unwrap();
                }
            }
        }
        r
    }

    /// What a point lookup of `key` at `seq` returns through the current version.
    pub fn get(&self, key: &[u8], seq: u64) -> LookupResult {
        get(&self.version, &self.cache, key, seq)
    }

    /// Every visible (key, value) at `seq`, scanned through a `DbIter` over every table.
    pub fn scan(&self, seq: u64) -> Vec<Entry> {
        scan(&self.version, &self.cache, seq)
    }

    /// Every entry of every table of `level` in order.
    pub fn level_entries(&self, level: usize) -> Vec<Ent> {
        self.version
            .files(level)
            .iter()
            .flat_map(|f| read_table(&self.cache, f))
            .collect()
    }
}

pub fn new_cache(fs: &MemFs) -> Arc<TableCache> {
    Arc::new(TableCache::new(
        Arc::new(fs.clone()),
        DIR,
        TableCacheOptions::default(),
    ))
}

pub fn table_path(number: u64) -> PathBuf {
    Path::new(DIR).join(format!("{number:06}.sst"))
}

/// Writes table `number` holding `entries` (sorted internal entries), synced.
pub fn write_table(fs: &MemFs, number: u64, entries: &[Entry], block_size: usize) -> FileMetaData {
    let path = table_path(number);
    let mut b = TableBuilder::new(
        table_options(block_size),
        fs.create(&path).unwrap(),
        format!("{number}"),
    );
    for (k, v) in entries {
        b.add(k, v).unwrap();
    }
    let finished = b.finish().unwrap();
    let mut file = finished.file;
    file.sync().unwrap();
    FileMetaData {
        number,
        file_size: finished.file_size,
        smallest: entries.first().map(|e| e.0.clone()).unwrap_or_default(),
        largest: entries.last().map(|e| e.0.clone()).unwrap_or_default(),
    }
}

/// Every entry of table `f`, in order.
pub fn read_table(cache: &TableCache, f: &FileMetaData) -> Vec<Ent> {
    let mut it = TableInternalIter::new(
        cache
            .iter(f.number, f.file_size, BlockReadOptions::default())
            .unwrap(),
    );
    let mut out = Vec::new();
    it.seek_to_first();
    while it.valid() {
        out.push(Ent::from_internal(it.key(), it.value()));
        it.next();
    }
    it.status().unwrap();
    out
}

pub fn get(version: &Version, cache: &TableCache, key: &[u8], seq: u64) -> LookupResult {
    let lookup = |f: &FileMetaData, k: &LookupKey| -> groupkv::Result<LookupResult> {
        Ok(
            match cache.get(f.number, f.file_size, k, &BlockReadOptions::default())? {
                None => LookupResult::NotFound,
                Some(e) if e.kind == ValueKind::Value => LookupResult::Found(e.value),
                Some(_) => LookupResult::Deleted,
            },
        )
    };
    version.get(&LookupKey::new(key, seq), &lookup).unwrap()
}

/// `Found(v)` as `Some(v)`; deleted or absent as `None`.
pub fn found(r: LookupResult) -> Option<Vec<u8>> {
    match r {
        LookupResult::Found(v) => Some(v),
        LookupResult::Deleted | LookupResult::NotFound => None,
    }
}

pub fn scan(version: &Version, cache: &Arc<TableCache>, seq: u64) -> Vec<Entry> {
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for f in version.files(0) {
        children.push(Box::new(TableInternalIter::new(
            cache
                .iter(f.number, f.file_size, BlockReadOptions::default())
                .unwrap(),
        )));
    }
    for level in 1..NUM_LEVELS {
        let files: Vec<FileMetaData> = version.files(level).iter().map(|f| (**f).clone()).collect();
        if files.is_empty() {
            continue;
        }
        let cache = Arc::clone(cache);
        let opener = move |f: &FileMetaData| -> groupkv::Result<Box<dyn InternalIterator>> {
            Ok(Box::new(TableInternalIter::new(cache.iter(
                f.number,
                f.file_size,
                BlockReadOptions::default(),
            )?)))
        };
        children.push(Box::new(LevelIterator::new(files.into(), Arc::new(opener))));
    }
    let mut it = DbIter::new(
        MergingIterator::new(children),
        DbIterOptions {
            sequence: seq,
            ..DbIterOptions::default()
        },
    );
    let mut out = Vec::new();
    it.seek_to_first();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    it.status().unwrap();
    out
}

/// Tiny sizes so that a few hundred entries make many files and levels.
pub fn tiny_options(target: u64) -> CompactionOptions {
    CompactionOptions {
        level0_file_num_compaction_trigger: 2,
        max_bytes_for_level_base: target * 4,
        target_file_size_base: target,
    }
}

/// Checks what every version must satisfy after a compaction: levels ≥ 1 sorted and disjoint
/// (the builder checked that), no user key in two files of one level ≥ 1, and every file's
/// recorded bounds equal to its first and last entry.
pub fn check_levels(version: &Version, cache: &TableCache) {
    for level in 1..NUM_LEVELS {
        let files = version.files(level);
        for pair in files.windows(2) {
            assert_ne!(
                groupkv::dbformat::extract_user_key(&pair[0].largest),
                groupkv::dbformat::extract_user_key(&pair[1].smallest),
                "a user key spans files {} and {} of level {level}",
                pair[0].number,
                pair[1].number
            );
        }
    }
    for (level, f) in version.all_files() {
        let entries = read_table(cache, f);
        assert!(
            !entries.is_empty(),
            "file {} at level {level} is empty",
            f.number
        );
        let first = entries.first().unwrap().internal().0;
        let last = entries.last().unwrap().internal().0;
        assert_eq!(first, f.smallest, "smallest key of file {}", f.number);
        assert_eq!(last, f.largest, "largest key of file {}", f.number);
    }
}

/// Sizes large enough that nothing is cut or scored unless a test asks for it.
pub fn opts() -> CompactionOptions {
    CompactionOptions {
        level0_file_num_compaction_trigger: 4,
        max_bytes_for_level_base: 1 << 20,
        target_file_size_base: 1 << 20,
    }
}

/// A manual compaction of all of `level`.
pub fn whole_level(tree: &mut Tree, level: usize, options: &CompactionOptions) -> Compaction {
    compact_range(
        &tree.version,
        level,
        None,
        None,
        &mut tree.pointers,
        options,
    )
    .unwrap()
}

/// A value of about 100 bytes, distinct per `i`.
pub fn value(i: usize) -> String {
    format!("{i:05}-{}", "v".repeat(90))
}
