//! The kill -9 crash loop (RocksDB's db_crashtest.py blackbox mode): start this program as a
//! child on the database, let it run for a random time, `kill -9` it, and verify.
//!
//! Opening a database mutates it (recovery writes a new MANIFEST, flushes what it replayed,
//! deletes old WALs), so one recovery mode's open could destroy the evidence another mode
//! would see. Each mode therefore opens its own copy of the crashed directory; the child of
//! the next cycle then opens the directory itself under the run's mode. The expected state
//! is resolved to what the run's mode found, so the next cycle also checks that the real open
//! recovers what the copy did.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use groupkv::{Error, WalRecoveryMode};

use crate::expected::Expected;
use crate::flags::Flags;
use crate::workload::Rng;
use crate::{mode_of, open_and_verify, verify};

/// Runs `f.crash_loop` cycles; prints the figure line; returns the number of violations.
pub fn run(f: &Flags, args: &[String]) -> Result<usize, String> {
    let seed = f.cfg.seed;
    let mut rng = Rng::new(seed);
    let exp_path = f.expected_path();
    let exp = Expected::open(&exp_path, f.key_space)?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let log = PathBuf::from(format!("{}.child.log", f.db.display()));
    // The child gets the same flags but runs one unlimited stress run with its own seed.
    let passed: Vec<&String> = args
        .iter()
        .filter(|a| {
            ![
                "--crash_loop",
                "--seed",
                "--write_mode",
                "--duration",
                "--expected",
            ]
            .iter()
            .any(|p| a.starts_with(p))
        })
        .collect();
    let (mut violations, mut acked, mut refused) = (0usize, 0u64, 0u64);
    for cycle in 0..f.crash_loop {
        let mode = mode_of(f, cycle).to_string();
        let before = exp.committed_writes();
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&exe);
        die_with_parent(&mut cmd);
        let mut child = cmd
            .args(&passed)
            .arg(format!("--seed={}", seed.wrapping_add(cycle + 1)))
            .arg(format!("--write_mode={mode}"))
            .arg("--duration=0")
            .arg(format!("--expected={}", exp_path.display()))
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", exe.display()))?;
        let span = f.kill_max_ms - f.kill_min_ms + 1;
        let wait = f.kill_min_ms + rng.next_u64() % span;
        std::thread::sleep(Duration::from_millis(wait));
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            println!("VIOLATION cycle {cycle}: the child exited ({status}) before it was killed:\n{text}");
            return Ok(violations + 1);
        }
        // SIGKILL: no destructor, no close, nothing flushed by the process.
        child.kill().map_err(|e| format!("kill: {e}"))?;
        let _ = child.wait();
        // The child checks what it opened and every read it makes; it reports violations on
        // its output (and is then killed like any other child).
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        for line in text.lines().filter(|l| l.starts_with("VIOLATION")) {
            println!("cycle {cycle} ({mode}) child: {line}");
            violations += 1;
        }
        acked += exp.committed_writes().saturating_sub(before);
        let mut run_found = None;
        for m in WalRecoveryMode::ALL {
            let copy = PathBuf::from(format!("{}.verify-{}", f.db.display(), m.name()));
            let _ = std::fs::remove_dir_all(&copy);
            copy_dir(&f.db, &copy).map_err(|e| format!("copy {}: {e}", f.db.display()))?;
            let opts = groupkv::Options {
                create_if_missing: false,
                wal_recovery_mode: m,
                ..f.options(&mode)
            };
            match open_and_verify(f, &copy, &exp, opts) {
                Ok((found, bad)) => {
                    for b in &bad {
                        println!("VIOLATION cycle {cycle} ({m}, {mode}): {b}");
                    }
                    violations += bad.len();
                    if m == f.recovery_mode && bad.is_empty() {
                        run_found = Some(found);
                    }
                }
                // kill -9 can tear the WAL's last write (Linux stops a large write between
                // pages for a fatal signal); absolute consistency must refuse that.
                Err(Error::Corruption { .. }) if m == WalRecoveryMode::AbsoluteConsistency => {
                    refused += 1;
                }
                Err(e) => {
                    println!("VIOLATION cycle {cycle} ({m}, {mode}): open failed: {e}");
                    violations += 1;
                }
            }
            let _ = std::fs::remove_dir_all(&copy);
        }
        match run_found {
            Some(found) => verify::resolve(&exp, &found),
            None => {
                println!("stopping: cycle {cycle} left no verified state to continue from");
                break;
            }
        }
    }
    println!(
        "stress crash loop: {} cycles, {acked} acknowledged writes checked, {violations} violations",
        f.crash_loop
    );
    println!("  (absolute_consistency refused {refused} torn-tail directories, as it must)");
    Ok(violations)
}

/// A child left behind by a killed driver would write forever: on Linux it gets SIGKILL when
/// the driver dies.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe; it touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
