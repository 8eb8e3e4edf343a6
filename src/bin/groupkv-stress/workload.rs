//! The stress workload: T threads running a weighted mix of writes and checked reads against
//! the [`Expected`] state, until a deadline, an operation count or a stop flag.
//!
//! Every write takes its keys' locks (in key order, so batches cannot deadlock), marks the
//! write pending, writes, and commits the expectation once the write is acknowledged. Every
//! point read takes the key's lock, so the expectation is exact. Scans and snapshot reads
//! cannot lock the whole range; they record the committed states before the view is taken and
//! the states after it is read: each key's version must lie in that window (versions only
//! grow), and the same view read again (reverse scan, point reads at the snapshot) must be
//! identical.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sync::Mutex;
use groupkv::{ReadOptions, WriteBatch, WriteOptions, DB};

use crate::expected::{self, Expected};

/// `DB::flush` exists: the flush share of the mix forces a memtable into a table.
pub const HAS_FLUSH: bool = true;
/// `DB::compact_range` exists: the compact share of the mix pushes a random range (sometimes
/// unbounded at one or both ends) to the bottom level while the other threads go on.
pub const HAS_COMPACT_RANGE: bool = true;

fn flush(db: &DB) -> Result<(), String> {
    db.flush().map_err(|e| e.to_string())
}

fn compact_range(db: &DB, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<(), String> {
    db.compact_range(start, end).map_err(|e| e.to_string())
}

/// Percent of operations of each kind (they need not sum to 100: they are weights).
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub put: u32,
    pub delete: u32,
    pub batch: u32,
    pub get: u32,
    pub scan: u32,
    pub snapshot: u32,
    pub flush: u32,
    pub compact: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            put: 35,
            delete: 10,
            batch: 10,
            get: 25,
            scan: 10,
            snapshot: 6,
            flush: 2,
            compact: 2,
        }
    }
}

/// What one run does.
#[derive(Debug, Clone)]
pub struct Config {
    pub threads: u32,
    /// 0 = until the deadline or the stop flag.
    pub ops_per_thread: u64,
    pub duration: Duration,
    pub mix: Mix,
    /// Percent of writes with `sync: true`.
    pub sync_percent: u32,
    /// Keys per batch (at most).
    pub batch_keys: u32,
    /// Longest value padding, bytes.
    pub value_pad: u32,
    /// Longest scan, keys.
    pub scan_len: u32,
    pub seed: u64,
    /// Stop at the first failed write (I/O error runs) instead of counting it a violation.
    pub expect_write_errors: bool,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub ops: AtomicU64,
    pub writes_acked: AtomicU64,
    pub reads_checked: AtomicU64,
    pub scans_checked: AtomicU64,
    pub snapshots_checked: AtomicU64,
    /// `DB::compact_range` calls that returned (the compact share of the mix).
    pub compact_ranges: AtomicU64,
    pub violations: Mutex<Vec<String>>,
    /// The first failed write's error (I/O error runs).
    pub write_error: Mutex<Option<String>>,
}

impl Report {
    pub fn violation(&self, what: String) {
        let mut v = self.violations.lock();
        if v.len() < 100 {
            eprintln!("VIOLATION: {what}");
        }
        v.push(what);
    }
}

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.next_u64() % u64::from(n.max(1))).unwrap_or(0)
    }
}

/// Runs `cfg` on `db` until done; returns when every thread has stopped.
pub fn run(db: &Arc<DB>, exp: &Arc<Expected>, cfg: &Config, stop: &Arc<AtomicBool>) -> Arc<Report> {
    let report = Arc::new(Report::default());
    let locks: Arc<Vec<Mutex<()>>> = Arc::new((0..exp.keys()).map(|_| Mutex::new(())).collect());
    let deadline = Instant::now() + cfg.duration;
    let handles: Vec<_> = (0..cfg.threads)
        .map(|t| {
            let w = Worker {
                db: Arc::clone(db),
                exp: Arc::clone(exp),
                cfg: cfg.clone(),
                report: Arc::clone(&report),
                locks: Arc::clone(&locks),
                writer: t as usize,
                rng: Rng::new(cfg.seed.wrapping_mul(1000).wrapping_add(u64::from(t))),
            };
            let stop = Arc::clone(stop);
            std::thread::spawn(move || w.run(deadline, &stop))
        })
        .collect();
    for h in handles {
        if h.join().is_err() {
            report.violation("a stress thread panicked".into());
        }
    }
    report
}

struct Worker {
    db: Arc<DB>,
    exp: Arc<Expected>,
    cfg: Config,
    report: Arc<Report>,
    locks: Arc<Vec<Mutex<()>>>,
    writer: usize,
    rng: Rng,
}

impl Worker {
    fn run(mut self, deadline: Instant, stop: &AtomicBool) {
        let m = self.cfg.mix;
        let weights = [
            m.put, m.delete, m.batch, m.get, m.scan, m.snapshot, m.flush, m.compact,
        ];
        let total: u32 = weights.iter().sum();
        let mut i = 0u64;
        while !stop.load(SeqCst)
            && Instant::now() < deadline
            && (self.cfg.ops_per_thread == 0 || i < self.cfg.ops_per_thread)
        {
            i += 1;
            let mut pick = self.rng.below(total);
            let mut kind = 0;
            while kind < weights.len() && pick >= weights[kind] {
                pick -= weights[kind];
                kind += 1;
            }
            let ok = match kind {
                0 => self.write(1, true),
                1 => self.write(1, false),
                2 => {
                    let n = 2 + self.rng.below(self.cfg.batch_keys.max(2) - 1);
                    let put = self.rng.below(4) != 0;
                    self.write(n, put)
                }
                4 => self.scan(),
                5 => self.snapshot_read(),
                6 if HAS_FLUSH => self.maintenance(flush(&self.db)),
                7 if HAS_COMPACT_RANGE => {
                    let a = expected::key(self.rng.below(self.exp.keys()));
                    let b = expected::key(self.rng.below(self.exp.keys()));
                    let (a, b) = if a <= b { (a, b) } else { (b, a) };
                    // One in four ends is left open, so whole-database compactions (both
                    // open) and ranges running off either end of the key space happen too.
                    let start = (self.rng.below(4) != 0).then_some(a.as_slice());
                    let end = (self.rng.below(4) != 0).then_some(b.as_slice());
                    let ok = self.maintenance(compact_range(&self.db, start, end));
                    if ok {
                        self.report.compact_ranges.fetch_add(1, SeqCst);
                    }
                    ok
                }
                _ => self.get(),
            };
            self.report.ops.fetch_add(1, SeqCst);
            if !ok {
                break;
            }
        }
    }

    fn maintenance(&self, r: Result<(), String>) -> bool {
        match r {
            Ok(()) => true,
            Err(e) if self.cfg.expect_write_errors => {
                self.report.write_error.lock().get_or_insert(e);
                false
            }
            Err(e) => {
                self.report.violation(e);
                false
            }
        }
    }

    /// A put (`n == 1 && put`), a delete, or a batch of `n` distinct keys, mostly puts.
    fn write(&mut self, n: u32, put: bool) -> bool {
        let mut keys: Vec<u32> = (0..n).map(|_| self.rng.below(self.exp.keys())).collect();
        keys.sort_unstable();
        keys.dedup();
        let muts: Vec<(u32, bool)> = keys
            .iter()
            .map(|&k| (k, if n == 1 { put } else { self.rng.below(4) != 0 }))
            .collect();
        let sync = self.rng.below(100) < self.cfg.sync_percent;
        // Key order: two batches never wait for each other's locks in a cycle.
        let _guards: Vec<_> = keys
            .iter()
            .map(|&k| self.locks[k as usize].lock())
            .collect();
        // After a write error no thread writes again: a failed write stays pending (it may be
        // in the WAL), and a later failed write of the same key would replace that pending
        // state, so the model would refuse the first one if recovery finds it. The failing
        // thread records the error before it releases its key locks, so this check sees it.
        if self.cfg.expect_write_errors && self.report.write_error.lock().is_some() {
            return false;
        }
        let pending = self.exp.begin(self.writer, &muts, sync);
        let opts = WriteOptions {
            sync,
            ..WriteOptions::default()
        };
        let pad = self.cfg.value_pad;
        let res = if n == 1 {
            let (k, s) = pending.muts()[0];
            if expected::present(s) {
                let v = expected::value(k, expected::ver(s), pad);
                self.db.put(&opts, &expected::key(k), &v)
            } else {
                self.db.delete(&opts, &expected::key(k))
            }
        } else {
            let mut b = WriteBatch::new();
            let built: groupkv::Result<()> = pending.muts().iter().try_for_each(|&(k, s)| {
                if expected::present(s) {
                    b.put(
                        &expected::key(k),
                        &expected::value(k, expected::ver(s), pad),
                    )
                } else {
                    b.delete(&expected::key(k))
                }
            });
            built.and_then(|()| self.db.write(&opts, &b))
        };
        match res {
            Ok(()) => {
                self.exp.commit(pending);
                self.report.writes_acked.fetch_add(1, SeqCst);
                true
            }
            // Not acknowledged: the write stays pending (in doubt: it may be in the WAL).
            Err(e) => self.maintenance(Err(format!("write: {e}"))),
        }
    }

    fn decode(&self, k: u32, v: Option<&[u8]>) -> Result<Option<u32>, String> {
        match v {
            None => Ok(None),
            Some(v) => expected::parse_value(k, v, self.cfg.value_pad)
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "key {k}: value {:?} was never written",
                        String::from_utf8_lossy(v)
                    )
                }),
        }
    }

    fn get(&mut self) -> bool {
        let k = self.rng.below(self.exp.keys());
        let _g = self.locks[k as usize].lock();
        let (c, p) = self.exp.state(k);
        let found = match self.db.get(&expected::key(k)) {
            Ok(v) => self.decode(k, v.as_deref()),
            Err(e) => Err(format!("get key {k}: {e}")),
        };
        match found {
            Ok(f) => {
                if let Some(v) = expected::check_after_process_crash(k, c, p, f) {
                    self.report.violation(format!("live get: {v}"));
                }
            }
            Err(e) => self.report.violation(format!("live get: {e}")),
        }
        self.report.reads_checked.fetch_add(1, SeqCst);
        true
    }

    /// A range `[lo, hi)` of key indexes.
    fn range(&mut self) -> (u32, u32) {
        let keys = self.exp.keys();
        if self.rng.below(3) == 0 {
            // A prefix: "k0001234" (the last digit free) covers ten keys, one digit less a
            // hundred.
            let width = if self.rng.below(2) == 0 { 10 } else { 100 };
            let lo = self.rng.below(keys) / width * width;
            return (lo, (lo + width).min(keys));
        }
        let lo = self.rng.below(keys);
        let len = 1 + self.rng.below(self.cfg.scan_len.max(1));
        (lo, lo.saturating_add(len).min(keys))
    }

    fn window(&self, lo: u32, hi: u32) -> Vec<u32> {
        (lo..hi).map(|k| self.exp.state(k).0).collect()
    }

    /// A checked scan at the implicit snapshot of a new iterator.
    fn scan(&mut self) -> bool {
        let (lo, hi) = self.range();
        let before = self.window(lo, hi);
        let reverse = self.rng.below(2) == 0;
        let use_bounds = self.rng.below(2) == 0;
        let seen = self.read_range(None, lo, hi, reverse, use_bounds);
        let after: Vec<(u32, u32)> = (lo..hi).map(|k| self.exp.state(k)).collect();
        if let Some(seen) = seen {
            self.check_window(lo, &before, &after, &seen, "scan");
        }
        self.report.scans_checked.fetch_add(1, SeqCst);
        true
    }

    /// A snapshot: a forward scan, a reverse scan and point reads at it must agree exactly,
    /// and lie in the expected window.
    fn snapshot_read(&mut self) -> bool {
        let (lo, hi) = self.range();
        let before = self.window(lo, hi);
        let snap = self.db.snapshot();
        let after: Vec<(u32, u32)> = (lo..hi).map(|k| self.exp.state(k)).collect();
        // Let writes go on between the snapshot and its reads.
        std::thread::yield_now();
        let fwd = self.read_range(Some(&snap), lo, hi, false, true);
        let bounds = self.rng.below(2) == 0;
        let rev = self.read_range(Some(&snap), lo, hi, true, bounds);
        let (Some(fwd), Some(rev)) = (fwd, rev) else {
            return true;
        };
        if fwd != rev {
            self.report.violation(format!(
                "snapshot {}: forward and reverse scans of [{lo}, {hi}) differ",
                snap.sequence()
            ));
        }
        let ro = ReadOptions {
            snapshot: Some(&snap),
            ..ReadOptions::default()
        };
        for k in lo..hi {
            let got = match self.db.get_with(&ro, &expected::key(k)) {
                Ok(v) => self.decode(k, v.as_deref()),
                Err(e) => Err(format!("get at snapshot: {e}")),
            };
            match got {
                Ok(f) if f != fwd.get(&k).copied() => self.report.violation(format!(
                    "snapshot {}: key {k}: point read {} but its scan {}",
                    snap.sequence(),
                    expected::show(f),
                    expected::show(fwd.get(&k).copied())
                )),
                Ok(_) => {}
                Err(e) => self.report.violation(e),
            }
        }
        self.check_window(lo, &before, &after, &fwd, "snapshot");
        self.report.snapshots_checked.fetch_add(1, SeqCst);
        true
    }

    /// Reads `[lo, hi)` with an iterator (bounds in the read options, or a seek and a
    /// manual stop), checking order, uniqueness, bounds and values; `None` after a violation.
    fn read_range(
        &self,
        snap: Option<&groupkv::Snapshot>,
        lo: u32,
        hi: u32,
        reverse: bool,
        use_bounds: bool,
    ) -> Option<BTreeMap<u32, u32>> {
        let (lo_key, hi_key) = (expected::key(lo), expected::key(hi));
        let ro = ReadOptions {
            snapshot: snap,
            iterate_lower_bound: use_bounds.then(|| lo_key.clone()),
            iterate_upper_bound: use_bounds.then(|| hi_key.clone()),
            ..ReadOptions::default()
        };
        let what = format!(
            "{} scan of [{lo}, {hi}){}",
            if reverse { "reverse" } else { "forward" },
            if use_bounds { " with bounds" } else { "" }
        );
        let mut it = match self.db.iter(&ro) {
            Ok(it) => it,
            Err(e) => {
                self.report.violation(format!("{what}: {e}"));
                return None;
            }
        };
        match (reverse, use_bounds) {
            (false, true) => it.seek_to_first(),
            (false, false) => it.seek(&lo_key),
            (true, true) => it.seek_to_last(),
            (true, false) => it.seek_for_prev(&expected::key(hi.saturating_sub(1))),
        }
        let mut out = BTreeMap::new();
        let mut last: Option<Vec<u8>> = None;
        while it.valid() {
            let key = it.key().to_vec();
            if !use_bounds && (key < lo_key || key >= hi_key) {
                break;
            }
            if let Some(l) = &last {
                let ordered = if reverse { key < *l } else { key > *l };
                if !ordered {
                    self.report.violation(format!(
                        "{what}: key {:?} after {:?} (duplicate or out of order)",
                        String::from_utf8_lossy(&key),
                        String::from_utf8_lossy(l)
                    ));
                    return None;
                }
            }
            let Some(k) = expected::parse_key(&key).filter(|k| (lo..hi).contains(k)) else {
                self.report.violation(format!(
                    "{what}: key {:?} outside the range or never written",
                    String::from_utf8_lossy(&key)
                ));
                return None;
            };
            match self.decode(k, Some(it.value())) {
                Ok(Some(v)) => {
                    out.insert(k, v);
                }
                Ok(None) => {}
                Err(e) => {
                    self.report.violation(format!("{what}: {e}"));
                    return None;
                }
            }
            last = Some(key);
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        if let Err(e) = it.status() {
            self.report
                .violation(format!("{what}: iterator status {e}"));
            return None;
        }
        Some(out)
    }

    /// Each key's version in `seen` (absent = not in it) lies between its committed state
    /// `before` the view and its committed-or-pending state `after`.
    fn check_window(
        &self,
        lo: u32,
        before: &[u32],
        after: &[(u32, u32)],
        seen: &BTreeMap<u32, u32>,
        what: &str,
    ) {
        for ((&b, &(c, p)), k) in before.iter().zip(after).zip(lo..) {
            let top = expected::ver(c).max(expected::ver(p));
            let found = seen.get(&k).copied();
            let ok = match found {
                Some(v) => {
                    (expected::ver(b)..=top).contains(&v)
                        && (v != expected::ver(b) || expected::present(b))
                        && (v != expected::ver(c) || expected::present(c))
                }
                // Absent: a known delete in the window, or versions in between whose kind
                // the window does not record.
                None => {
                    !expected::present(b)
                        || !expected::present(c)
                        || (p != 0 && !expected::present(p))
                        || top > expected::ver(b) + 1
                }
            };
            if !ok {
                self.report.violation(format!(
                    "{what}: key {k}: found {} outside the window {} .. {}",
                    expected::show(found),
                    expected::show_state(b),
                    expected::show_state(if expected::ver(p) > expected::ver(c) {
                        p
                    } else {
                        c
                    })
                ));
            }
        }
    }
}
