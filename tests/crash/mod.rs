//! Shared pieces of the reliability harnesses: a seeded generator, a deterministic workload
//! with a model to check against, and `CrashFs`, a file system that "dies" after a budget of
//! mutating operations (everything after it fails, as if the process had been killed there).
//!
//! Each harness file includes this module with `mod crash;`; not every file uses every helper.
#![allow(dead_code)]
// Indices and sizes here are small; a clock seed may be truncated on purpose.
#![allow(clippy::cast_possible_truncation)]

pub mod sweep;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use groupkv::fs::{FileLock, FileSystem, MemFs, SequentialFile, WritableFile};
use groupkv::{WriteBatch, WriteOptions, DB};

/// splitmix64: small, seedable, good enough to pick crash points and workloads.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// A seed from the environment (to reproduce a failure) or from the clock.
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// A count from the environment, or `default`.
pub fn count_from_env(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// How an operation reaches the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Put,
    Delete,
    Batch,
}

/// One write: its mutations are applied atomically.
#[derive(Debug, Clone)]
pub struct Op {
    pub sync: bool,
    pub api: Api,
    pub muts: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Parameters of a deterministic per-stream workload: stream `stream` of namespace `ns`
/// writes keys `ns/s<stream>/k<j>` for `j < keys`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub seed: u64,
    pub ns: String,
    pub keys: u64,
    /// One write in `sync_one_in` is `sync = true`.
    pub sync_one_in: u64,
    /// Every write also puts `ns/s<stream>/last` = its index, so the recovered prefix length of
    /// a stream can be read back exactly.
    pub counter_key: bool,
    /// Largest value; an occasional value is up to 3 blocks long to exercise fragmentation.
    pub max_value: usize,
}

impl Workload {
    pub fn key(&self, stream: u64, j: u64) -> Vec<u8> {
        format!("{}/s{stream}/k{j:03}", self.ns).into_bytes()
    }

    pub fn counter(&self, stream: u64) -> Vec<u8> {
        format!("{}/s{stream}/last", self.ns).into_bytes()
    }

    /// Every key stream `stream` may ever write.
    pub fn universe(&self, stream: u64) -> Vec<Vec<u8>> {
        let mut u: Vec<Vec<u8>> = (0..self.keys).map(|j| self.key(stream, j)).collect();
        if self.counter_key {
            u.push(self.counter(stream));
        }
        u
    }

    /// Op `index` of `stream`: a pure function of the seed, so a checker regenerates exactly
    /// what a (crashed) writer issued.
    pub fn op(&self, stream: u64, index: u64) -> Op {
        let mut r = Rng::new(
            self.seed
                .wrapping_mul(0x100_0000_01b3)
                .wrapping_add(stream.wrapping_mul(0x5851_f42d_4c95_7f2d))
                .wrapping_add(index),
        );
        let sync = r.one_in(self.sync_one_in.max(1));
        let pick = r.below(10);
        let api = match pick {
            0..=3 => Api::Put,
            4 => Api::Delete,
            _ => Api::Batch,
        };
        let n = match api {
            Api::Batch => 2 + r.below(4),
            _ => 1,
        };
        let mut muts: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        while (muts.len() as u64) < n {
            let key = self.key(stream, r.below(self.keys));
            if muts.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let delete = api == Api::Delete || (api == Api::Batch && r.one_in(4));
            let value = if delete {
                None
            } else {
                Some(self.value(stream, index, &key, &mut r))
            };
            muts.push((key, value));
        }
        let mut api = api;
        if self.counter_key {
            muts.push((self.counter(stream), Some(index.to_string().into_bytes())));
            api = Api::Batch;
        }
        Op { sync, api, muts }
    }

    fn value(&self, stream: u64, index: u64, key: &[u8], r: &mut Rng) -> Vec<u8> {
        let mut v = format!(
            "{}#s{stream}#i{index}#{}#",
            self.ns,
            String::from_utf8_lossy(key)
        )
        .into_bytes();
        let pad = if self.max_value > 0 && r.one_in(50) {
            r.below(self.max_value as u64 + 1) as usize
        } else {
            r.below(64) as usize
        };
        let fill = b'a' + (index % 26) as u8;
        v.resize(v.len() + pad, fill);
        v
    }
}

/// Issues `op` through the API it names.
pub fn apply(db: &DB, op: &Op) -> groupkv::Result<()> {
    let wo = WriteOptions {
        sync: op.sync,
        ..WriteOptions::default()
    };
    match op.api {
        Api::Put => {
            let (k, v) = &op.muts[0];
            db.put(&wo, k, v.as_deref().unwrap_or_default())
        }
        Api::Delete => db.delete(&wo, &op.muts[0].0),
        Api::Batch => {
            let mut b = WriteBatch::new();
            for (k, v) in &op.muts {
                match v {
                    Some(v) => b.put(k, v)?,
                    None => b.delete(k)?,
                }
            }
            db.write(&wo, &b)
        }
    }
}

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;

pub fn apply_model(model: &mut Model, op: &Op) {
    for (k, v) in &op.muts {
        match v {
            Some(v) => {
                model.insert(k.clone(), v.clone());
            }
            None => {
                model.remove(k);
            }
        }
    }
}

/// Reads every key of `keys` from `db` (absent keys are left out).
pub fn read_keys(db: &DB, keys: &[Vec<u8>]) -> groupkv::Result<Model> {
    let mut m = Model::new();
    for k in keys {
        if let Some(v) = db.get(k)? {
            m.insert(k.clone(), v);
        }
    }
    Ok(m)
}

/// The smallest `p` in `lo..=hi` such that applying ops `0..p` of `stream` (on top of `base`,
/// restricted to the stream's universe) gives exactly `actual`; `None` if no prefix does.
pub fn matching_prefix(w: &Workload, stream: u64, actual: &Model, lo: u64, hi: u64) -> Option<u64> {
    let mut model = Model::new();
    for p in 0..=hi {
        if p >= lo && model == *actual {
            return Some(p);
        }
        if p == hi {
            break;
        }
        apply_model(&mut model, &w.op(stream, p));
    }
    None
}

/// A file system whose process "dies" after `budget` mutating operations: from then on every
/// create, append, sync, rename, remove and directory sync fails with EIO and changes nothing,
/// exactly as if the process had been killed at that instant (the OS keeps what it accepted).
/// A budget below zero means unlimited.
#[derive(Debug, Clone)]
pub struct CrashFs {
    pub inner: MemFs,
    budget: Arc<AtomicI64>,
    ops: Arc<AtomicU64>,
}

impl CrashFs {
    pub fn new(inner: MemFs, budget: i64) -> Self {
        CrashFs {
            inner,
            budget: Arc::new(AtomicI64::new(budget)),
            ops: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Mutating operations attempted so far.
    pub fn ops(&self) -> u64 {
        self.ops.load(SeqCst)
    }

    /// The process dies after `budget` more mutating operations (below zero: never).
    pub fn set_budget(&self, budget: i64) {
        self.budget.store(budget, SeqCst);
    }

    /// Kills the "process" now: every later mutating operation fails.
    pub fn die(&self) {
        self.budget.store(0, SeqCst);
    }

    pub fn dead(&self) -> bool {
        self.budget.load(SeqCst) == 0
    }

    fn step(&self) -> io::Result<()> {
        self.ops.fetch_add(1, SeqCst);
        let r =
            self.budget
                .fetch_update(SeqCst, SeqCst, |b| if b > 0 { Some(b - 1) } else { None });
        match r {
            Ok(_) => Ok(()),
            Err(b) if b < 0 => Ok(()),
            Err(_) => Err(io::Error::from_raw_os_error(libc::EIO)),
        }
    }
}

struct CrashWritable {
    fs: CrashFs,
    file: Box<dyn WritableFile>,
}

impl WritableFile for CrashWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.fs.step()?;
        self.file.append(data)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.fs.step()?;
        self.file.sync()
    }
    fn allocate(&mut self, len: u64) -> io::Result<()> {
        self.fs.step()?;
        self.file.allocate(len)
    }
}

impl FileSystem for CrashFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        self.inner.is_dir(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.step()?;
        let file = self.inner.create(path)?;
        Ok(Box::new(CrashWritable {
            fs: self.clone(),
            file,
        }))
    }
    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        self.inner.open_sequential(path)
    }
    fn open_random_access(
        &self,
        path: &Path,
    ) -> io::Result<Box<dyn groupkv::fs::RandomAccessFile>> {
        self.inner.open_random_access(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.step()?;
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
}

/// True if `bytes`, a file in the log format (a WAL or a base), holds any damage as
/// absolute consistency sees it, or a record that is not a batch: a file recovery must never
/// remove, only quarantine. `checksum` is the directory's (CRC-32C with `CURRENT`, IEEE for
/// the first layout's WALs and bases): read with the other one, every record looks damaged.
pub fn log_damaged(bytes: &[u8], checksum: groupkv::log::Checksum) -> bool {
    struct Bytes(Vec<u8>, usize);
    impl SequentialFile for Bytes {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let mut r = groupkv::wal::Reader::with_checksum(
        Box::new(Bytes(bytes.to_vec(), 0)),
        "log",
        groupkv::WalRecoveryMode::AbsoluteConsistency,
        checksum,
    );
    let mut record = Vec::new();
    loop {
        match r.read_record(&mut record) {
            Ok(true) if WriteBatch::from_data(&record).is_err() => return true,
            Ok(true) => {}
            Ok(false) => return false,
            Err(_) => return true,
        }
    }
}

/// Options on file system `fs`.
pub fn options_on(fs: Arc<dyn FileSystem>) -> groupkv::Options {
    groupkv::Options {
        file_system: fs,
        ..groupkv::Options::default()
    }
}

/// Simulates the death of the process holding `db`: nothing of `close` runs (no final sync,
/// no base). Its memory is leaked on purpose; the file lock is released by the file system's
/// `process_crash`/`power_loss`.
pub fn crash(db: DB) {
    db.halt_background_work_for_test();
    std::mem::forget(db);
}
