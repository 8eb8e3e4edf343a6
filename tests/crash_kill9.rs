//! Kill -9 crash loop on a real directory (RocksDB's blackbox crash test, in small).
//!
//! Each cycle starts `examples/crash_child.rs`, which opens the database and writes from 8
//! threads (puts, deletes, multi-key batches; one write in 16 synced), recording every
//! acknowledged write in an oracle outside the database directory. The driver SIGKILLs it at a
//! random moment (sometimes during open and recovery), reopens the database and checks, for
//! every thread, that the recovered state of its keys is exactly the state after some prefix
//! of its ops that contains every recorded ack (so: nothing acknowledged is lost, nothing that
//! was never issued appears, every batch is whole, each thread's writes form a prefix), and
//! that every earlier cycle's keys still hold what was verified then.
//!
//! The loop runs twice: under the default recovery mode (`point_in_time`), and under
//! `tolerate_corrupted_tail_records`, which refuses any damage that is not a torn last write:
//! whatever a kill leaves must read as exactly that (the child opens, and the driver reopens,
//! under the loop's mode).
//!
//! `GROUPKV_CRASH_CYCLES` sets the number of cycles of each loop (default 8; `make test` runs 50
//! and `make crash-test CYCLES=N` runs N); `GROUPKV_CRASH_SEED` reproduces a run.

mod crash;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crash::{count_from_env, matching_prefix, read_keys, seed_from_env, Model, Rng, Workload};
use groupkv::{Options, WalRecoveryMode, DB};

const THREADS: u64 = 8;
/// Cycles whose keys stay in the database and are re-checked after every later crash.
const KEEP_CYCLES: u64 = 4;

/// The child binary: built next to this test by `cargo test --all-targets` (or `make`), or
/// built here when missing or stale.
fn child_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/crash_kill9-<hash> -> target/<profile>/examples/crash_child
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let child = profile_dir.join("examples").join("crash_child");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    // Missing, or older than this test binary (so possibly built from older library code).
    if modified(&child).is_none() || modified(&child) < modified(&exe) {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--example", "crash_child"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("running cargo to build the crash child");
        assert!(status.success(), "building examples/crash_child failed");
    }
    child
}

/// Complete lines `0, 1, 2, ...` of an oracle file; returns how many ops were recorded.
fn recorded_acks(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut n = 0u64;
    for line in text.split_inclusive('\n') {
        // A line without its newline was cut by the kill: an unrecorded ack, not an error.
        let Some(num) = line.strip_suffix('\n') else {
            break;
        };
        assert_eq!(
            num.parse::<u64>().ok(),
            Some(n),
            "oracle {} is out of order at line {n}",
            path.display()
        );
        n += 1;
    }
    n
}

#[test]
fn kill9_crash_loop() {
    crash_loop(WalRecoveryMode::PointInTime);
}

#[test]
fn kill9_crash_loop_tolerate_corrupted_tail_records() {
    crash_loop(WalRecoveryMode::TolerateCorruptedTailRecords);
}

/// 256 KiB write buffers: the writers switch memtables and WALs every few milliseconds, so
/// kills land before, inside and after switches (a WAL created but empty, a marker alone, a
/// retired WAL with an unsynced tail).
#[test]
fn kill9_crash_loop_small_write_buffers() {
    crash_loop_with(
        WalRecoveryMode::PointInTime,
        Sizes {
            write_buffer: Some(SMALL_WRITE_BUFFER),
            ..Sizes::default()
        },
    );
}

const SMALL_WRITE_BUFFER: usize = 256 << 10;

/// Compaction running when the kill lands: 64 KiB write buffers and tables, a 256 KiB level 1
/// and level 0 compacted at 2 tables, so flushes and compactions (and their MANIFEST installs
/// and obsolete-file deletions) run all the time. Besides the prefix check, keys retired by a
/// synced delete must stay deleted after every later crash, whatever compaction does with
/// their tombstones. `GROUPKV_CRASH_COMPACTION_CYCLES` sets its cycles (default: as the others).
#[test]
fn kill9_crash_loop_compaction_running() {
    crash_loop_with(
        WalRecoveryMode::PointInTime,
        Sizes {
            write_buffer: Some(64 << 10),
            target_file_size: Some(64 << 10),
            level_base: Some(256 << 10),
            l0_trigger: Some(2),
            cycles_var: "GROUPKV_CRASH_COMPACTION_CYCLES",
        },
    );
}

/// The sizes the children and the driver open with (`None`: the default).
#[derive(Debug, Clone, Copy)]
struct Sizes {
    write_buffer: Option<usize>,
    target_file_size: Option<u64>,
    level_base: Option<u64>,
    l0_trigger: Option<usize>,
    /// The environment variable that overrides `GROUPKV_CRASH_CYCLES` for this loop.
    cycles_var: &'static str,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            write_buffer: None,
            target_file_size: None,
            level_base: None,
            l0_trigger: None,
            cycles_var: "GROUPKV_CRASH_CYCLES",
        }
    }
}

impl Sizes {
    fn options(&self, mode: WalRecoveryMode) -> Options {
        let d = Options::default();
        Options {
            wal_recovery_mode: mode,
            write_buffer_size: self.write_buffer.unwrap_or(d.write_buffer_size),
            target_file_size_base: self.target_file_size.unwrap_or(d.target_file_size_base),
            max_bytes_for_level_base: self.level_base.unwrap_or(d.max_bytes_for_level_base),
            level0_file_num_compaction_trigger: self
                .l0_trigger
                .unwrap_or(d.level0_file_num_compaction_trigger),
            ..d
        }
    }

    /// The child's environment: each size, or empty for the default.
    fn env(&self) -> [(&'static str, String); 4] {
        fn s<T: ToString>(v: Option<T>) -> String {
            v.map_or(String::new(), |v| v.to_string())
        }
        [
            ("GROUPKV_CRASH_WRITE_BUFFER", s(self.write_buffer)),
            ("GROUPKV_CRASH_TARGET_FILE_SIZE", s(self.target_file_size)),
            ("GROUPKV_CRASH_LEVEL_BASE", s(self.level_base)),
            ("GROUPKV_CRASH_L0_TRIGGER", s(self.l0_trigger)),
        ]
    }

    fn label(&self) -> String {
        let mut label = String::new();
        if let Some(b) = self.write_buffer {
            label.push_str(&format!(" ({} KiB write buffers", b >> 10));
            if let (Some(t), Some(l), Some(n)) =
                (self.target_file_size, self.level_base, self.l0_trigger)
            {
                label.push_str(&format!(
                    ", {} KiB tables, {} KiB level 1, L0 trigger {n}: compaction running",
                    t >> 10,
                    l >> 10
                ));
            }
            label.push(')');
        }
        label
    }
}

/// The loops run one at a time: each needs the machine to itself for its timing, and a child
/// forked for one loop must not inherit the other driver's open LOCK file.
static ONE_LOOP_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn crash_loop(mode: WalRecoveryMode) {
    crash_loop_with(mode, Sizes::default());
}

/// The latest `flushes compactions` a child reported before it was killed (0 if none).
fn child_progress(oracle_dir: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(oracle_dir.join("progress")).unwrap_or_default();
    let mut nums = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    match (nums.next().flatten(), nums.next().flatten()) {
        (Some(f), Some(c)) if text.ends_with('\n') => (f, c),
        _ => (0, 0),
    }
}

/// `sizes`: what the children and the driver open with.
fn crash_loop_with(mode: WalRecoveryMode, sizes: Sizes) {
    let _one = ONE_LOOP_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let cycles = std::env::var(sizes.cycles_var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| count_from_env("GROUPKV_CRASH_CYCLES", 8));
    let seed = seed_from_env("GROUPKV_CRASH_SEED");
    let child = child_binary();
    let root = tempfile::tempdir().expect("tempdir");
    let db_dir = root.path().join("db");
    let mut rng = Rng::new(seed);
    // The verified state of every earlier cycle's keys.
    let mut earlier = Model::new();
    let mut earlier_keys: Vec<Vec<u8>> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    let mut acked_total = 0u64;
    let mut killed_before_any_ack = 0u64;
    // Keys retired (deleted with a synced batch) in recent cycles: they must stay deleted.
    let mut retired: Vec<Vec<u8>> = Vec::new();
    let (mut child_flushes, mut child_compactions, mut kills_after_compaction) = (0u64, 0u64, 0u64);
    let start = Instant::now();

    for cycle in 0..cycles {
        let w = Workload {
            seed: seed.wrapping_add(cycle),
            ns: format!("c{cycle:04}"),
            keys: 64,
            sync_one_in: 16,
            counter_key: false,
            max_value: 100_000,
        };
        let oracle_dir = root.path().join(format!("oracle{cycle}"));
        std::fs::create_dir_all(&oracle_dir).expect("oracle dir");
        let mut proc = Command::new(&child)
            .arg(&db_dir)
            .arg(&oracle_dir)
            .arg(w.seed.to_string())
            .arg(&w.ns)
            .arg(THREADS.to_string())
            .arg(mode.name())
            .envs(sizes.env())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawning crash_child");
        // Sometimes during open (recovery, base folding), mostly while writing.
        let delay = Duration::from_millis(if rng.one_in(8) {
            rng.below(15)
        } else {
            20 + rng.below(280)
        });
        std::thread::sleep(delay);
        if let Ok(Some(status)) = proc.try_wait() {
            violations.push(format!(
                "cycle {cycle}: child exited before the kill: {status}"
            ));
        }
        proc.kill().expect("SIGKILL");
        proc.wait().expect("reaping the child");
        if let Ok(errors) = std::fs::read_to_string(oracle_dir.join("errors")) {
            violations.push(format!("cycle {cycle}: child reported errors: {errors}"));
        }
        let (flushes, compactions) = child_progress(&oracle_dir);
        child_flushes += flushes;
        child_compactions += compactions;
        kills_after_compaction += u64::from(compactions > 0);

        let db = match DB::open(&db_dir, sizes.options(mode)) {
            Ok(db) => db,
            Err(e) => {
                violations.push(format!("cycle {cycle}: reopen failed: {e}"));
                break;
            }
        };
        let mut cycle_acks = 0;
        for t in 0..THREADS {
            let recorded = recorded_acks(&oracle_dir.join(format!("t{t}")));
            cycle_acks += recorded;
            let universe = w.universe(t);
            let actual = read_keys(&db, &universe).expect("get");
            // Recorded acks must all be there; one more may have been acked without being
            // recorded, and one more may have been in flight.
            match matching_prefix(&w, t, &actual, recorded, recorded + 2) {
                Some(_) => {}
                None => violations.push(format!(
                    "cycle {cycle} thread {t}: recovered keys match no prefix of ops \
                     {recorded}..={} (seed {seed})",
                    recorded + 2
                )),
            }
            earlier.extend(actual);
            earlier_keys.extend(universe);
        }
        if cycle_acks == 0 {
            killed_before_any_ack += 1;
        }
        acked_total += cycle_acks;
        // Nothing verified in an earlier cycle may change.
        let now = read_keys(&db, &earlier_keys).expect("get");
        if now != earlier {
            violations.push(format!(
                "cycle {cycle}: keys of earlier cycles changed after this crash (seed {seed})"
            ));
            earlier = now;
        }
        // Deleted keys stay deleted (no older value comes back from a deeper level).
        let back: Vec<String> = read_keys(&db, &retired)
            .expect("get")
            .into_keys()
            .map(|k| String::from_utf8_lossy(&k).into_owned())
            .collect();
        if !back.is_empty() {
            violations.push(format!(
                "cycle {cycle}: {} retired keys came back, e.g. {:?} (seed {seed})",
                back.len(),
                &back[..back.len().min(3)]
            ));
        }
        // Keep the database small (open replays and rewrites it): retire the keys of the
        // cycle KEEP_CYCLES back, with one synced batch, after they were checked once more.
        if cycle >= KEEP_CYCLES {
            let ns = format!("c{:04}/", cycle - KEEP_CYCLES);
            let mut batch = groupkv::WriteBatch::new();
            for k in earlier_keys.iter().filter(|k| k.starts_with(ns.as_bytes())) {
                batch.delete(k).expect("delete");
                earlier.remove(k);
                retired.push(k.clone());
            }
            // Bounded: the last 8 retired cycles' keys.
            let keep = usize::try_from(8 * THREADS * w.keys).unwrap_or(usize::MAX);
            if retired.len() > keep {
                retired.drain(..retired.len() - keep);
            }
            earlier_keys.retain(|k| !k.starts_with(ns.as_bytes()));
            db.write(&groupkv::WriteOptions::synced(), &batch)
                .expect("retiring old keys");
        }
        db.close().expect("close");
    }
    let mut label = match mode {
        WalRecoveryMode::PointInTime => String::new(),
        other => format!(" ({other})"),
    };
    label.push_str(&sizes.label());
    println!(
        "kill -9 crash loop{label}: {cycles} cycles, {acked_total} acknowledged writes checked, \
         {killed_before_any_ack} kills before the first ack, children ran {child_flushes} \
         flushes and {child_compactions} compactions ({kills_after_compaction} kills after a \
         compaction), {} violations, {:.1?} (seed {seed})",
        violations.len(),
        start.elapsed()
    );
    assert!(
        violations.is_empty(),
        "violations:\n{}",
        violations.join("\n")
    );
    if sizes.l0_trigger.is_some() && cycles >= 8 {
        assert!(
            kills_after_compaction * 4 >= cycles,
            "compaction was meant to be running: only {kills_after_compaction} of {cycles} \
             children completed one before their kill"
        );
    }
}
