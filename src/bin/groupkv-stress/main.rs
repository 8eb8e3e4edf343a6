//! groupkv-stress: the whole-engine stress and crash test (issue 16). See `--help` and
//! docs/RELIABILITY.md.

mod crash_loop;
mod expected;
mod flags;
mod sync;
mod verify;
mod workload;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use expected::Expected;
use flags::Flags;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut f = match flags::parse(&args) {
        Ok(Some(f)) => f,
        Ok(None) => {
            print!("{}", flags::HELP);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("groupkv-stress: {e}");
            return ExitCode::from(2);
        }
    };
    let seed = f.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() * 1_000_000 + u64::from(d.subsec_micros()))
            .unwrap_or(1)
    });
    f.seed = Some(seed);
    f.cfg.seed = seed;
    println!("groupkv-stress: seed {seed} (reproduce with --seed={seed})");
    for n in flags::capability_notes() {
        println!("groupkv-stress: note: {n}");
    }
    let result = if f.crash_loop > 0 {
        crash_loop::run(&f, &args)
    } else if f.verify_only {
        verify_only(&f)
    } else {
        run_once(&f)
    };
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("groupkv-stress: {e}");
            ExitCode::from(3)
        }
    }
}

/// The write mode of this process: the flag, or the seed's turn in the rotation.
fn mode_of(f: &Flags, turn: u64) -> &str {
    if f.write_mode == "rotate" {
        flags::WRITE_MODES[(turn % 4) as usize]
    } else {
        &f.write_mode
    }
}

/// Opens `dir` and checks every key against `exp` under process-crash rules; returns what
/// was found and the violations.
pub fn open_and_verify(
    f: &Flags,
    dir: &Path,
    exp: &Expected,
    options: groupkv::Options,
) -> Result<(Vec<Option<u32>>, Vec<String>), groupkv::Error> {
    let db = groupkv::DB::open(dir, options)?;
    let r = match verify::read_all(&db, exp.keys(), f.cfg.value_pad) {
        Ok(found) => {
            let bad = verify::check_process_crash(exp, &found);
            (found, bad)
        }
        Err(bad) => (Vec::new(), bad),
    };
    db.close()?;
    Ok(r)
}

fn verify_only(f: &Flags) -> Result<usize, String> {
    let exp = Expected::open(&f.expected_path(), f.key_space)?;
    let opts = groupkv::Options {
        create_if_missing: false,
        ..f.options("concurrent")
    };
    let (found, bad) = open_and_verify(f, &f.db, &exp, opts).map_err(|e| format!("open: {e}"))?;
    for b in &bad {
        println!("VIOLATION: {b}");
    }
    if bad.is_empty() {
        verify::resolve(&exp, &found);
    }
    println!(
        "stress verify: {} keys, {} violations",
        exp.keys(),
        bad.len()
    );
    Ok(bad.len())
}

/// One run: verify what a previous run left, stress, close, reopen, verify again.
fn run_once(f: &Flags) -> Result<usize, String> {
    let seed = f.cfg.seed;
    let mode = mode_of(f, seed);
    let exp = Arc::new(Expected::open(&f.expected_path(), f.key_space)?);
    let options = f.options(mode);
    println!(
        "groupkv-stress: write_mode {mode}, recovery_mode {}, {} threads, {} keys",
        f.recovery_mode, f.cfg.threads, f.key_space
    );
    let db = groupkv::DB::open(&f.db, options.clone()).map_err(|e| format!("open: {e}"))?;
    let mut violations = 0;
    // What an earlier run (perhaps killed) left must match before this one adds to it.
    match verify::read_all(&db, exp.keys(), f.cfg.value_pad) {
        Ok(found) => {
            let bad = verify::check_process_crash(&exp, &found);
            for b in &bad {
                println!("VIOLATION (at open): {b}");
            }
            violations += bad.len();
            verify::resolve(&exp, &found);
        }
        Err(bad) => {
            for b in &bad {
                println!("VIOLATION (at open): {b}");
            }
            return Ok(bad.len());
        }
    }
    let mut cfg = f.cfg.clone();
    if cfg.duration.is_zero() {
        // No limit: run until killed or --ops_per_thread.
        cfg.duration = Duration::from_secs(365 * 24 * 3600);
    }
    let db = Arc::new(db);
    let stop = Arc::new(AtomicBool::new(false));
    let started = std::time::Instant::now();
    let report = workload::run(&db, &exp, &cfg, &stop);
    stop.store(true, SeqCst);
    let secs = started.elapsed().as_secs_f64();
    let live = report.violations.lock().len();
    violations += live;
    let stats = db.stats();
    db.close().map_err(|e| format!("close: {e}"))?;
    drop(db);
    let (found, bad) =
        open_and_verify(f, &f.db, &exp, options).map_err(|e| format!("reopen: {e}"))?;
    for b in &bad {
        println!("VIOLATION (after reopen): {b}");
    }
    violations += bad.len();
    if bad.is_empty() {
        verify::resolve(&exp, &found);
    }
    println!(
        "stress run: {:.1} s, {} ops, {} acknowledged writes, {} gets, {} scans, {} snapshot \
         reads checked live; {} memtable switches, {} flushes, {} compactions ({} manual); {} \
         violations",
        secs,
        report.ops.load(SeqCst),
        report.writes_acked.load(SeqCst),
        report.reads_checked.load(SeqCst),
        report.scans_checked.load(SeqCst),
        report.snapshots_checked.load(SeqCst),
        stats.memtable_switches,
        stats.flushes,
        stats.compactions,
        report.compact_ranges.load(SeqCst),
        violations
    );
    Ok(violations)
}
