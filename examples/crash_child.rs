//! The victim of the kill -9 crash loop (`tests/crash_kill9.rs`): opens a database and writes
//! from several threads until it is killed, recording every acknowledged write in an oracle.
//!
//! Usage: `crash_child DB_DIR ORACLE_DIR SEED NAMESPACE THREADS [RECOVERY_MODE]`
//!
//! `RECOVERY_MODE` (default `point_in_time`) is the `wal_recovery_mode` the database is opened
//! with, by its snake_case name: the open recovers what the previous kill left.
//!
//! Thread `t` issues ops `0, 1, 2, ...` of stream `t` of the seeded workload (puts, deletes and
//! multi-key batches, one in 16 with `sync = true`), strictly one at a time. After `write`
//! returns `Ok(())` for op `i`, the thread appends the line `i\n` to `ORACLE_DIR/t<t>` with a
//! single unbuffered `write(2)`. The oracle lives outside the database directory and is never
//! synced: SIGKILL kills only the process, and the kernel keeps every byte a completed
//! `write(2)` handed it, so a recorded line is an acknowledged write. The reverse does not hold:
//! the process may die after `write` returned but before the line was written, so the driver
//! allows each thread one acknowledged-but-unrecorded op, plus one op in flight.
//! Any error is written to `ORACLE_DIR/errors` (the driver fails the cycle if it exists).
//! `ORACLE_DIR/progress` holds the latest `flushes compactions` counts, for the figures.
//!
//! Sizes from the environment (unset or empty = the default): `GROUPKV_CRASH_WRITE_BUFFER`,
//! `GROUPKV_CRASH_TARGET_FILE_SIZE`, `GROUPKV_CRASH_LEVEL_BASE` (bytes) and
//! `GROUPKV_CRASH_L0_TRIGGER` (tables).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[path = "../tests/crash/mod.rs"]
mod crash;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(6..=7).contains(&args.len()) {
        eprintln!("usage: crash_child DB_DIR ORACLE_DIR SEED NAMESPACE THREADS [RECOVERY_MODE]");
        std::process::exit(2);
    }
    let db_dir = PathBuf::from(&args[1]);
    let oracle_dir = PathBuf::from(&args[2]);
    let seed: u64 = args[3].parse().expect("SEED must be a number");
    let threads: u64 = args[5].parse().expect("THREADS must be a number");
    let workload = Arc::new(crash::Workload {
        seed,
        ns: args[4].clone(),
        keys: 64,
        sync_one_in: 16,
        counter_key: false,
        max_value: 100_000,
    });
    let errors = oracle_dir.join("errors");
    let mode: groupkv::WalRecoveryMode = match args.get(6).map(|m| m.parse()) {
        None => groupkv::WalRecoveryMode::default(),
        Some(Ok(m)) => m,
        Some(Err(e)) => fail(&errors, format!("recovery mode: {e}")),
    };
    // Cycles alternate the write-path variants: pipelined or not, parallel inserts or not.
    // Each size below is read from its environment variable (bytes or a count; unset or empty
    // = the default): small ones make memtable switches, flushes and compactions constant.
    let defaults = groupkv::Options::default();
    let options = groupkv::Options {
        enable_pipelined_write: seed % 2 == 1,
        allow_concurrent_memtable_write: seed % 3 != 2,
        wal_recovery_mode: mode,
        write_buffer_size: env_or(
            &errors,
            "GROUPKV_CRASH_WRITE_BUFFER",
            defaults.write_buffer_size,
        ),
        target_file_size_base: env_or(
            &errors,
            "GROUPKV_CRASH_TARGET_FILE_SIZE",
            defaults.target_file_size_base,
        ),
        max_bytes_for_level_base: env_or(
            &errors,
            "GROUPKV_CRASH_LEVEL_BASE",
            defaults.max_bytes_for_level_base,
        ),
        level0_file_num_compaction_trigger: env_or(
            &errors,
            "GROUPKV_CRASH_L0_TRIGGER",
            defaults.level0_file_num_compaction_trigger,
        ),
        ..defaults
    };
    let db = match groupkv::DB::open(&db_dir, options) {
        Ok(db) => Arc::new(db),
        Err(e) => fail(&errors, format!("open: {e}")),
    };
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            let w = Arc::clone(&workload);
            let errors = errors.clone();
            let path = oracle_dir.join(format!("t{t}"));
            std::thread::spawn(move || {
                let mut oracle = match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(f) => f,
                    Err(e) => fail(&errors, format!("oracle {}: {e}", path.display())),
                };
                for i in 0.. {
                    let op = w.op(t, i);
                    if let Err(e) = crash::apply(&db, &op) {
                        fail(&errors, format!("thread {t} op {i}: {e}"));
                    }
                    // One write(2) per line: the kernel has it once this returns.
                    if let Err(e) = oracle.write_all(format!("{i}\n").as_bytes()) {
                        fail(&errors, format!("oracle {}: {e}", path.display()));
                    }
                }
            })
        })
        .collect();
    // Progress for the driver's figures: the flushes and compactions done so far, rewritten
    // every few milliseconds (a kill mid-write leaves a short or empty file: read as unknown).
    let progress = oracle_dir.join("progress");
    std::thread::spawn(move || loop {
        let s = db.stats();
        let _ = std::fs::write(&progress, format!("{} {}\n", s.flushes, s.compactions));
        std::thread::sleep(std::time::Duration::from_millis(5));
    });
    for h in handles {
        let _ = h.join();
    }
}

/// The value of environment variable `name`, or `default` when unset or empty.
fn env_or<T: std::str::FromStr>(errors: &std::path::Path, name: &str, default: T) -> T
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|e| fail(errors, format!("{name}={v}: {e}"))),
        _ => default,
    }
}

/// Records `what` for the driver and exits: the child never sees an error in a healthy run.
fn fail(errors: &std::path::Path, what: String) -> ! {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(errors) {
        let _ = f.write_all(format!("{what}\n").as_bytes());
    }
    std::process::exit(3);
}
