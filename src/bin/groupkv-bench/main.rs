//! `groupkv-bench`: a db_bench-style benchmark of groupkv. `groupkv-bench --help` lists the
//! benchmarks and flags; docs/BENCHMARKS.md shows how `bench/compare` uses it.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod compact;
mod flags;
mod histogram;
mod reads;
mod workload;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use groupkv::{Options, Stats, WriteBatch, WriteOptions, DB};

use flags::{Command, Flags};
use histogram::Histogram;
use reads::Points;
use workload::{key_buffer, make_key, Rng, Values};

type BenchResult<T> = Result<T, String>;

fn main() {
    let cmd = match flags::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("groupkv-bench: {e}");
            std::process::exit(2);
        }
    };
    let flags = match cmd {
        Command::Help => {
            print!("{}", flags::HELP);
            return;
        }
        Command::Run(f) => f,
    };
    if let Err(e) = run(&flags) {
        eprintln!("groupkv-bench: {e}");
        std::process::exit(1);
    }
}

fn run(f: &Flags) -> BenchResult<()> {
    if let Some(fill) = f.benchmarks.iter().find(|b| b.starts_with("fill")) {
        if f.use_existing_db {
            return Err(format!(
                "{fill} needs a fresh database and --use_existing_db is set; use overwrite to \
                 write into an existing one"
            ));
        }
    }
    print_header(f);
    if !f.use_existing_db {
        destroy_db(&f.db)?;
    }
    // Opened by the first benchmark that needs it, so that a first `reopen` times the
    // recovery of what the previous process left.
    let mut db: Option<DB> = None;
    // Keys and values written since `db` was opened: the denominator of `compact`'s write
    // amplification (the engine's counters also start at the open).
    let mut user_bytes = 0u64;
    for name in &f.benchmarks {
        if name == "reopen" {
            reopen(f, &mut db)?;
            user_bytes = 0;
            continue;
        }
        if name.starts_with("fill") {
            // A fill starts from an empty database, as in db_bench.
            if let Some(old) = db.take() {
                old.close()
                    .map_err(|e| format!("closing before {name}: {e}"))?;
            }
            destroy_db(&f.db)?;
        }
        if db.is_none() {
            db = Some(open_db(f)?);
            user_bytes = 0;
        }
        let handle = db.as_ref().ok_or("the database is not open")?;
        if name == "stats" {
            let table = handle
                .property("groupkv.stats")
                .ok_or("the database has no groupkv.stats property")?;
            println!("{name:<12} : groupkv statistics follow\n{table}");
            continue;
        }
        if name == "compact" {
            for line in compact::run(handle, user_bytes)?.lines() {
                println!("{line}");
            }
            print_rss(name);
            continue;
        }
        let kind = match name.as_str() {
            "fillseq" => Kind::Write { seq: true },
            "fillrandom" => Kind::Write { seq: false },
            "overwrite" => Kind::Write { seq: false },
            "readrandom" => Kind::Points(Points::Random),
            "readmissing" => Kind::Points(Points::Missing),
            "readseq_points" => Kind::Points(Points::Sequential),
            "readseq" => Kind::Scan,
            "seekrandom" => Kind::Seek,
            "readwhilewriting" => Kind::ReadWhileWriting,
            other => return Err(format!("unknown benchmark {other:?}")),
        };
        let report = run_benchmark(f, handle, name, kind)?;
        user_bytes += report.user_bytes(f);
        report.print(name);
    }
    if let Some(db) = db {
        db.close()
            .map_err(|e| format!("closing the database: {e}"))?;
    }
    Ok(())
}

fn print_header(f: &Flags) {
    println!("groupkv:    version {}", groupkv::VERSION);
    println!(
        "Keys:       {} bytes each; Values: {} bytes each; Entries: {}; Threads: {}",
        f.key_size, f.value_size, f.num, f.threads
    );
    println!(
        "Writes:     batch_size {}, sync {}, disable_wal {}, allow_concurrent_memtable_write {}, \
         enable_pipelined_write {}, allow_mmap_writes {}, max_write_batch_group_size_bytes {}",
        f.batch_size,
        f.sync,
        f.disable_wal,
        f.allow_concurrent_memtable_write,
        f.enable_pipelined_write,
        f.allow_mmap_writes,
        f.max_write_batch_group_size_bytes
    );
    println!("Database:   {}", f.db.display());
    println!("------------------------------------------------");
}

fn open_db(f: &Flags) -> BenchResult<DB> {
    let options = Options {
        allow_concurrent_memtable_write: f.allow_concurrent_memtable_write,
        enable_pipelined_write: f.enable_pipelined_write,
        allow_mmap_writes: f.allow_mmap_writes,
        max_write_batch_group_size_bytes: f.max_write_batch_group_size_bytes,
        enable_write_thread_adaptive_yield: f.enable_write_thread_adaptive_yield,
        write_thread_max_yield_usec: f.write_thread_max_yield_usec,
        write_thread_slow_yield_usec: f.write_thread_slow_yield_usec,
        ..Options::default()
    };
    let options = f.engine.apply(options);
    DB::open(&f.db, options).map_err(|e| format!("opening {}: {e}", f.db.display()))
}

/// `reopen`: a clean close of the open database (untimed), then the open alone is timed.
fn reopen(f: &Flags, db: &mut Option<DB>) -> BenchResult<()> {
    if let Some(old) = db.take() {
        old.close()
            .map_err(|e| format!("closing before reopen: {e}"))?;
    }
    let t0 = Instant::now();
    let opened = open_db(f)?;
    let wall = t0.elapsed();
    *db = Some(opened);
    let mut hist = Histogram::new();
    hist.record(nanos(wall));
    Report {
        ops: 1,
        found: None,
        bytes: 0,
        wall,
        thread_seconds: wall.as_secs_f64(),
        hist,
        group: None,
        background_writes: None,
        level0: None,
    }
    .print("reopen");
    Ok(())
}

/// Removes the database in `dir`, refusing to touch a directory holding anything else (so a
/// mistyped `--db` cannot delete someone's files).
fn destroy_db(dir: &Path) -> BenchResult<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Every name the engine writes (CURRENT, MANIFEST-*, *.log, *.sst, *.dbtmp, LOCK),
        // plus the first layout's bases and quarantined copies.
        let ours = groupkv::version::filename::parse_file_name(&name).is_some()
            || name.ends_with(".base")
            || name.ends_with(".base.tmp")
            || name.ends_with(".corrupt");
        if !ours {
            return Err(format!(
                "{} holds {name:?}, which is not part of a groupkv database; refusing to delete \
                 it: pick an empty or groupkv-only --db directory",
                dir.display()
            ));
        }
    }
    std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))
}

#[derive(Clone, Copy)]
enum Kind {
    Write { seq: bool },
    Points(Points),
    Scan,
    Seek,
    ReadWhileWriting,
}

/// What one thread did.
pub(crate) struct ThreadResult {
    ops: u64,
    found: u64,
    bytes: u64,
    elapsed: Duration,
    hist: Histogram,
}

struct Report {
    ops: u64,
    found: Option<u64>,
    bytes: u64,
    wall: Duration,
    thread_seconds: f64,
    hist: Histogram,
    /// For benchmarks that write: the change in the DB's statistics.
    group: Option<GroupStats>,
    /// readwhilewriting: writes done by the background writer.
    background_writes: Option<u64>,
    /// For benchmarks that write: how high level 0 grew and how long writes stalled.
    level0: Option<Level0>,
}

/// Level 0 during a writing benchmark: the L0 write triggers at work.
struct Level0 {
    max_files: u64,
    stop_trigger: usize,
    slowdown_micros: u64,
    stop_micros: u64,
    memtable_micros: u64,
}

/// Samples the number of level-0 tables every 10 ms until `finished`; the largest seen.
fn sample_level0(db: &DB, finished: &AtomicBool) -> u64 {
    let mut max = 0;
    loop {
        let n = db
            .property("groupkv.num-files-at-level0")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        max = max.max(n);
        if finished.load(Relaxed) {
            return max;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct GroupStats {
    groups: u64,
    calls: u64,
    mean_group_size: f64,
    wal_syncs: u64,
}

impl GroupStats {
    fn between(before: &Stats, after: &Stats) -> Self {
        let groups = after.write_done_by_self - before.write_done_by_self;
        let calls = groups + after.write_done_by_other - before.write_done_by_other;
        let size_count = after.write_group_size.count - before.write_group_size.count;
        let size_sum = after.write_group_size.sum - before.write_group_size.sum;
        GroupStats {
            groups,
            calls,
            mean_group_size: ratio(size_sum as f64, size_count as f64),
            wal_syncs: after.wal_syncs - before.wal_syncs,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

impl Report {
    fn print(&self, name: &str) {
        let secs = self.wall.as_secs_f64();
        let ops_per_sec = ratio(self.ops as f64, secs);
        let micros_per_op = ratio(self.thread_seconds * 1e6, self.ops as f64);
        let mb_per_sec = ratio(self.bytes as f64 / 1_048_576.0, secs);
        let found = self
            .found
            .map(|n| format!("; {n} of {} found", self.ops))
            .unwrap_or_default();
        println!(
            "{name:<12} : {micros_per_op:>11.3} micros/op {ops_per_sec:.0} ops/sec \
             {mb_per_sec:.1} MB/s ({} ops, {secs:.3} s{found})",
            self.ops
        );
        let us = |p: f64| self.hist.percentile(p) / 1000.0;
        println!(
            "{name:<12} : latency us p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ({} calls)",
            us(50.0),
            us(99.0),
            us(99.9),
            self.hist.max() as f64 / 1000.0,
            self.hist.count()
        );
        if let Some(g) = &self.group {
            println!(
                "{name:<12} : group commit: {} groups, mean group size {:.2}, {:.3} WAL syncs \
                 per write",
                g.groups,
                g.mean_group_size,
                ratio(g.wal_syncs as f64, g.calls as f64)
            );
        }
        if let Some(w) = self.background_writes {
            println!(
                "{name:<12} : background writer: {w} writes ({:.0} writes/s)",
                ratio(w as f64, secs)
            );
        }
        if let Some(l0) = &self.level0 {
            println!(
                "{name:<12} : level 0: at most {} files (sampled every 10 ms; stop trigger {}), \
                 stalls micros: L0 slowdown {} L0 stop {} memtable {}",
                l0.max_files,
                l0.stop_trigger,
                l0.slowdown_micros,
                l0.stop_micros,
                l0.memtable_micros
            );
        }
        print_rss(name);
    }

    /// Bytes of keys and values this benchmark wrote (readwhilewriting's writer included).
    fn user_bytes(&self, f: &Flags) -> u64 {
        let per_key = (f.key_size + f.value_size) as u64;
        match (&self.group, self.background_writes) {
            (_, Some(w)) => w * per_key,
            (Some(_), None) => self.bytes,
            (None, None) => 0,
        }
    }
}

fn print_rss(name: &str) {
    match peak_rss_kib() {
        Some(kib) => println!("{name:<12} : peak RSS {kib} KiB"),
        None => println!("{name:<12} : peak RSS unknown (no /proc/self/status)"),
    }
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Thread `t`'s share of `total` operations: `(first operation index, count)`.
fn share(total: u64, threads: usize, t: usize) -> (u64, u64) {
    let n = threads as u64;
    let t = t as u64;
    let base = total / n;
    let extra = total % n;
    let count = base + u64::from(t < extra);
    let first = t * base + t.min(extra);
    (first, count)
}

/// Counts finished operations for the progress line without a shared write per operation.
pub(crate) struct Progress<'a> {
    shared: &'a AtomicU64,
    local: u64,
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.shared.fetch_add(self.local, Relaxed);
    }
}

impl Progress<'_> {
    #[inline]
    fn add(&mut self, n: u64) {
        self.local += n;
        if self.local >= 4096 {
            self.shared.fetch_add(self.local, Relaxed);
            self.local = 0;
        }
    }
}

fn run_benchmark(f: &Flags, db: &DB, name: &str, kind: Kind) -> BenchResult<Report> {
    let reads = if f.reads < 0 { f.num } else { f.reads as u64 };
    let total = match kind {
        Kind::Write { .. } => f.num,
        Kind::Points(_) | Kind::Scan | Kind::Seek | Kind::ReadWhileWriting => reads,
    };
    let wopts = WriteOptions {
        sync: f.sync,
        disable_wal: f.disable_wal,
        no_slowdown: false,
    };
    let before = db.stats();
    let done = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let writer_stop = AtomicBool::new(false);
    let background_writes = AtomicU64::new(0);
    let extra = usize::from(matches!(kind, Kind::ReadWhileWriting));
    let barrier = Barrier::new(f.threads + extra + 1);

    let (results, wall, max_l0) = std::thread::scope(|s| -> BenchResult<_> {
        let workers: Vec<_> = (0..f.threads)
            .map(|t| {
                let (barrier, done) = (&barrier, &done);
                s.spawn(move || -> BenchResult<(Instant, Instant, ThreadResult)> {
                    let (first, count) = share(total, f.threads, t);
                    let progress = Progress {
                        shared: done,
                        local: 0,
                    };
                    barrier.wait();
                    let begin = Instant::now();
                    let r = match kind {
                        Kind::Write { seq } => {
                            write_loop(f, db, &wopts, t, seq, first, count, progress)
                        }
                        Kind::Points(p) => reads::point_loop(f, db, t, p, first, count, progress),
                        Kind::Scan => reads::scan_loop(f, db, first, count, progress),
                        Kind::Seek => reads::seek_loop(f, db, t, count, progress),
                        Kind::ReadWhileWriting => {
                            reads::point_loop(f, db, t, Points::Random, first, count, progress)
                        }
                    };
                    Ok((begin, Instant::now(), r?))
                })
            })
            .collect();
        let writer = matches!(kind, Kind::ReadWhileWriting).then(|| {
            let (barrier, stop, count) = (&barrier, &writer_stop, &background_writes);
            s.spawn(move || -> BenchResult<()> {
                barrier.wait();
                background_writer(f, db, &wopts, stop, count)
            })
        });
        let writes = matches!(kind, Kind::Write { .. } | Kind::ReadWhileWriting);
        let level0 = writes.then(|| {
            let finished = &finished;
            s.spawn(move || sample_level0(db, finished))
        });
        let monitor = f.progress.then(|| {
            let (done, finished) = (&done, &finished);
            s.spawn(move || progress_monitor(name, total, done, finished))
        });
        barrier.wait();
        let mut results = Vec::with_capacity(f.threads);
        let mut first_error = None;
        // The wall time runs from the first thread's start to the last one's end: this thread
        // may wake from the barrier after a short share has already ended.
        let mut span: Option<(Instant, Instant)> = None;
        for w in workers {
            match w.join() {
                Ok(Ok((begin, end, r))) => {
                    span = Some(match span {
                        None => (begin, end),
                        Some((b, e)) => (b.min(begin), e.max(end)),
                    });
                    results.push(r);
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert_with(|| "a benchmark thread panicked".to_string());
                }
            }
        }
        let wall = span.map_or(Duration::ZERO, |(b, e)| e.duration_since(b));
        writer_stop.store(true, Relaxed);
        finished.store(true, Relaxed);
        if let Some(w) = writer {
            match w.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert_with(|| "the writer thread panicked".to_string());
                }
            }
        }
        if let Some(m) = monitor {
            let _ = m.join();
        }
        let max_l0 = level0.map(|h| h.join().unwrap_or(0));
        match first_error {
            Some(e) => Err(format!("{name} failed: {e}")),
            None => Ok((results, wall, max_l0)),
        }
    })?;

    let mut hist = Histogram::new();
    let (mut ops, mut found, mut bytes, mut thread_seconds) = (0, 0, 0, 0.0);
    for r in &results {
        hist.merge(&r.hist);
        ops += r.ops;
        found += r.found;
        bytes += r.bytes;
        thread_seconds += r.elapsed.as_secs_f64();
    }
    let after = db.stats();
    let writes = matches!(kind, Kind::Write { .. } | Kind::ReadWhileWriting);
    Ok(Report {
        ops,
        found: (!matches!(kind, Kind::Write { .. })).then_some(found),
        bytes,
        wall,
        thread_seconds,
        hist,
        group: writes.then(|| GroupStats::between(&before, &after)),
        background_writes: matches!(kind, Kind::ReadWhileWriting)
            .then(|| background_writes.load(Relaxed)),
        level0: max_l0.map(|max_files| Level0 {
            max_files,
            stop_trigger: f
                .engine
                .apply(groupkv::Options::default())
                .level0_stop_writes_trigger,
            slowdown_micros: after.stall_l0_slowdown_micros - before.stall_l0_slowdown_micros,
            stop_micros: after.stall_l0_stop_micros - before.stall_l0_stop_micros,
            memtable_micros: after.stall_memtable_micros - before.stall_memtable_micros,
        }),
    })
}

#[allow(clippy::too_many_arguments)]
fn write_loop(
    f: &Flags,
    db: &DB,
    wopts: &WriteOptions,
    t: usize,
    seq: bool,
    first: u64,
    count: u64,
    mut progress: Progress<'_>,
) -> BenchResult<ThreadResult> {
    let mut rng = Rng::new(f.seed, t);
    let mut values = Values::new(f.seed, t, f.value_size);
    let mut key = key_buffer(f.key_size);
    let mut batch = WriteBatch::new();
    let mut hist = Histogram::new();
    let start = Instant::now();
    let mut i = 0u64;
    while i < count {
        let n = (f.batch_size as u64).min(count - i);
        batch.clear();
        for j in 0..n {
            let k = if seq { first + i + j } else { rng.below(f.num) };
            make_key(&mut key, k);
            batch
                .put(&key, values.next())
                .map_err(|e| format!("building a batch: {e}"))?;
        }
        let t0 = Instant::now();
        db.write(wopts, &batch)
            .map_err(|e| format!("write of {n} keys: {e}"))?;
        hist.record(nanos(t0.elapsed()));
        i += n;
        progress.add(n);
    }
    Ok(ThreadResult {
        ops: count,
        found: 0,
        bytes: count * (f.key_size + f.value_size) as u64,
        elapsed: start.elapsed(),
        hist,
    })
}

fn background_writer(
    f: &Flags,
    db: &DB,
    wopts: &WriteOptions,
    stop: &AtomicBool,
    count: &AtomicU64,
) -> BenchResult<()> {
    let mut rng = Rng::new(f.seed ^ 0x7772_6974, 0);
    let mut values = Values::new(f.seed, f.threads, f.value_size);
    let mut key = key_buffer(f.key_size);
    let mut batch = WriteBatch::new();
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        batch.clear();
        for _ in 0..f.batch_size {
            make_key(&mut key, rng.below(f.num));
            batch
                .put(&key, values.next())
                .map_err(|e| format!("building a batch: {e}"))?;
        }
        db.write(wopts, &batch)
            .map_err(|e| format!("background write: {e}"))?;
        n += f.batch_size as u64;
    }
    count.store(n, Relaxed);
    Ok(())
}

/// Prints `... finished N ops` to stderr once a second until `finished`.
fn progress_monitor(name: &str, total: u64, done: &AtomicU64, finished: &AtomicBool) {
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut printed = false;
    while !finished.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let n = done.load(Relaxed);
            let pct = ratio(n as f64 * 100.0, total as f64);
            let end = if tty { "\r" } else { "\n" };
            eprint!("... {name}: finished {n} of {total} ops ({pct:.0}%){end}");
            let _ = std::io::stderr().flush();
            printed = true;
        }
    }
    if printed && tty {
        // Clear the progress line before the report.
        eprint!("{:60}\r", "");
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_cover_every_operation_once() {
        for (total, threads) in [(10u64, 3usize), (2, 4), (1_000_000, 16), (7, 1)] {
            let mut next = 0;
            for t in 0..threads {
                let (first, count) = share(total, threads, t);
                assert_eq!(first, next);
                next += count;
            }
            assert_eq!(next, total);
        }
    }
}
