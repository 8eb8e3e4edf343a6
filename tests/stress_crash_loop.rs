//! The groupkv-stress kill -9 loop (issue 16), short: `GROUPKV_STRESS_CYCLES` cycles (default
//! 6; `make stress-crash-test` runs many more). And proof that its checker can fail: a lost
//! write, a resurrected old value and a value never written are each reported.

#[path = "../src/bin/groupkv-stress/expected.rs"]
#[allow(dead_code)]
mod expected;
#[path = "../src/bin/groupkv-stress/sync.rs"]
#[allow(dead_code)]
mod sync;
#[path = "../src/bin/groupkv-stress/verify.rs"]
#[allow(dead_code)]
mod verify;

use std::path::Path;
use std::process::Command;

use groupkv::{WriteOptions, DB};

const EXE: &str = env!("CARGO_BIN_EXE_groupkv-stress");

fn stress(args: &[String]) -> (bool, String) {
    let out = Command::new(EXE)
        .args(args)
        .output()
        .expect("run groupkv-stress");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn kill_9_loop_keeps_every_acknowledged_write_in_every_recovery_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let cycles = count("GROUPKV_STRESS_CYCLES", 6);
    let mut args = vec![
        format!("--db={}", db.display()),
        format!("--crash_loop={cycles}"),
        "--key_space=2000".into(),
        "--threads=4".into(),
        "--kill_min_ms=100".into(),
        "--kill_max_ms=700".into(),
        "--sync_percent=10".into(),
    ];
    if let Ok(seed) = std::env::var("GROUPKV_CRASH_SEED") {
        args.push(format!("--seed={seed}"));
    }
    let (ok, text) = stress(&args);
    let line = text
        .lines()
        .find(|l| l.starts_with("stress crash loop: "))
        .unwrap_or_else(|| panic!("no figure line:\n{text}"));
    println!("{line}");
    assert!(ok, "groupkv-stress failed:\n{text}");
    assert!(
        line.starts_with(&format!("stress crash loop: {cycles} cycles, "))
            && line.ends_with(", 0 violations"),
        "{text}"
    );
    let acked: u64 = line
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("acknowledged count");
    assert!(acked >= cycles * 100, "too few writes checked: {line}");
}

/// A short run on `db`, then the database is closed: the expected state and the database agree.
fn short_run(db: &Path) {
    let (ok, text) = stress(&[
        format!("--db={}", db.display()),
        "--duration=1".into(),
        "--key_space=300".into(),
        "--seed=5".into(),
    ]);
    assert!(ok && text.contains(" 0 violations"), "{text}");
}

fn verify_only(db: &Path) -> (bool, String) {
    stress(&[
        format!("--db={}", db.display()),
        "--key_space=300".into(),
        "--verify_only".into(),
    ])
}

/// The committed version of key `k` in the expected-state file next to `db`.
fn committed(db: &Path, k: u32) -> u32 {
    let exp = expected::Expected::open(&db.with_extension("expected"), 300).expect("expected");
    exp.state(k).0
}

#[test]
fn checker_reports_lost_resurrected_and_foreign_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("db");
    short_run(&db_path);
    let (ok, text) = verify_only(&db_path);
    assert!(ok, "a clean database verifies:\n{text}");

    // Find a key holding a value of version >= 2, so an older value exists.
    let k = (0..300)
        .find(|&k| {
            let s = committed(&db_path, k);
            expected::present(s) && expected::ver(s) >= 2
        })
        .expect("a key written twice");
    let v = expected::ver(committed(&db_path, k));
    let cases: Vec<(&str, Option<Vec<u8>>)> = vec![
        // The write was lost: an older version came back.
        ("resurrected", Some(expected::value(k, v - 1, 100))),
        // A value nobody wrote.
        ("foreign", Some(b"garbage".to_vec())),
        // The acknowledged value is gone.
        ("lost", None),
    ];
    for (what, val) in cases {
        let db = DB::open(&db_path, groupkv::Options::default()).expect("open");
        let key = expected::key(k);
        match &val {
            Some(val) => db.put(&WriteOptions::default(), &key, val).expect("put"),
            None => db.delete(&WriteOptions::default(), &key).expect("delete"),
        }
        db.close().expect("close");
        let (ok, text) = verify_only(&db_path);
        assert!(!ok, "{what}: the checker missed it:\n{text}");
        assert!(
            text.contains(&format!("key {k}")) && !text.contains(" 0 violations"),
            "{what}:\n{text}"
        );
        // Put the acknowledged value back for the next case.
        let db = DB::open(&db_path, groupkv::Options::default()).expect("open");
        db.put(&WriteOptions::default(), &key, &expected::value(k, v, 100))
            .expect("put back");
        db.close().expect("close");
    }
    let (ok, text) = verify_only(&db_path);
    assert!(ok, "restored:\n{text}");
}

#[test]
fn help_documents_every_flag_and_unknown_flags_are_refused() {
    let (ok, help) = stress(&["--help".into()]);
    assert!(ok);
    for flag in [
        "--db",
        "--expected",
        "--seed",
        "--threads",
        "--duration",
        "--ops_per_thread",
        "--key_space",
        "--put",
        "--delete",
        "--batch",
        "--get",
        "--scan",
        "--snapshot",
        "--flush",
        "--compact",
        "--batch_keys",
        "--scan_len",
        "--value_pad",
        "--sync_percent",
        "--write_mode",
        "--recovery_mode",
        "--write_buffer_size",
        "--max_write_buffer_number",
        "--target_file_size_base",
        "--max_bytes_for_level_base",
        "--block_size",
        "--crash_loop",
        "--verify_only",
        "--kill_min_ms",
        "--kill_max_ms",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let (ok, text) = stress(&["--db=x".into(), "--no_such_flag=1".into()]);
    assert!(
        !ok && text.contains("unknown flag --no_such_flag"),
        "{text}"
    );
}

/// A batch in flight at the kill must be there whole or not at all: the writer slot of the
/// expected state says which keys it touched.
#[test]
fn a_batch_in_flight_that_landed_in_part_is_reported() {
    let exp = expected::Expected::in_memory(8).expect("expected state");
    // Keys 1 and 2 hold version 1; key 3 was never written.
    let first = exp.begin(0, &[(1, true), (2, true)], false);
    exp.commit(first);
    // In flight at the "kill": a batch putting key 1, deleting key 2, deleting key 3.
    let _pending = exp.begin(5, &[(1, true), (2, false), (3, false)], false);
    assert_eq!(exp.in_flight().len(), 1);
    let mut found = vec![None; 8];
    // Whole: all new. Not at all: all old (key 3's delete looks the same either way).
    for (k1, k2, torn) in [
        (Some(2), None, false),
        (Some(1), Some(1), false),
        (Some(2), Some(1), true),
        (Some(1), None, true),
    ] {
        found[1] = k1;
        found[2] = k2;
        let bad = verify::check_process_crash(&exp, &found);
        assert_eq!(
            bad.iter().any(|b| b.contains("landed in part")),
            torn,
            "{k1:?} {k2:?}: {bad:?}"
        );
        assert_eq!(bad.len(), usize::from(torn), "{k1:?} {k2:?}: {bad:?}");
    }
    verify::resolve(&exp, &found);
    assert!(exp.in_flight().is_empty());
}
