//! Fault injection on the real file system (`PosixFs`), each fault in a child process so it
//! cannot take the test runner down: the child is this test binary run again with
//! `GROUPKV_FAULT_CHILD=<scenario>` (see `child`), and the parent checks how it ended and what
//! it left on disk.
//!
//! - mlock refused (`RLIMIT_MEMLOCK` 0), mapped mode: falls back to `pwrite`, loses nothing.
//! - allocation refused (`RLIMIT_FSIZE` below the first allocation): plain appends, and the
//!   write that hits the limit fails with `Io`, every later one with `Poisoned`; every
//!   acknowledged write is there after reopening. Both modes. With `SIGXFSZ` left fatal, the
//!   allocation ahead never kills a process whose writes stay below the limit.
//! - the WAL truncated under the writer and unable to grow back: with mapped appends the
//!   process dies of `SIGBUS` (the documented risk of `allow_mmap_writes`); by default the
//!   write fails with `Io`, the database is poisoned, and the process lives on.
//! - a panic inside the write path (a test file system whose append panics): the process
//!   aborts with a message instead of unwinding through the write queue.
#![allow(clippy::unwrap_used)]

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use groupkv::fs::{FileLock, FileOptions, FileSystem, PosixFs, SequentialFile, WritableFile};
use groupkv::{Error, Options, WriteOptions, DB};

const SCENARIO: &str = "GROUPKV_FAULT_CHILD";
const DIR: &str = "GROUPKV_FAULT_DIR";

fn key(i: usize) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    let mut v = vec![b'a' + u8::try_from(i % 26).unwrap(); 500];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

fn options(mapped: bool) -> Options {
    Options {
        allow_mmap_writes: mapped,
        ..Options::default()
    }
}

/// Runs this test binary again as a child for `scenario` on `dir`; kills it after 20 s (a
/// write path left inconsistent by a panic would hang the child's close).
fn run_child(scenario: &str, dir: &Path) -> Output {
    let exe = std::env::current_exe().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (logs.path().join("out"), logs.path().join("err"));
    let mut child = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .env(DIR, dir)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            panic!("{scenario}: the child hung and was killed ({status:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The count after `ACKED ` in the child's output.
fn acked(out: &Output) -> usize {
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("ACKED ").map(|(_, n)| n))
        .unwrap_or_else(|| panic!("no ACKED line: {stdout}\n{}", text(&out.stderr)))
        .trim()
        .parse()
        .unwrap()
}

/// Reopens `dir` (default options, no limits) and checks that keys `0..n` hold their values.
fn assert_has_first(dir: &Path, n: usize) {
    let db = DB::open(dir, Options::default()).unwrap();
    for i in 0..n {
        assert_eq!(
            db.get(&key(i)).unwrap(),
            Some(value(i)),
            "acknowledged write {i} of {n} lost"
        );
    }
    db.close().unwrap();
}

fn set_limit(resource: libc::__rlimit_resource_t, bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit with a valid rlimit struct, in the child process.
    assert_eq!(unsafe { libc::setrlimit(resource, &lim) }, 0, "setrlimit");
}

fn ignore_sigxfsz() {
    // SAFETY: ignoring SIGXFSZ, so a write past RLIMIT_FSIZE fails with EFBIG instead.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

/// Writes keys from 0 until a write fails (or `max`); prints `ACKED n` and the errors.
fn write_until_failure(db: &DB, max: usize) {
    let mut n = 0;
    let mut first = None;
    for i in 0..max {
        let opts = if i % 3 == 0 {
            WriteOptions::synced()
        } else {
            WriteOptions::default()
        };
        match db.put(&opts, &key(i), &value(i)) {
            Ok(()) => n += 1,
            Err(e) => {
                first = Some(e);
                break;
            }
        }
    }
    println!("ACKED {n}");
    if let Some(e) = first {
        let again = db.put(&WriteOptions::default(), b"after", b"failure");
        println!("FIRST {}", kind(&e));
        println!("THEN {}", again.map_or_else(|e| kind(&e), |()| "ok".into()));
    }
}

fn kind(e: &Error) -> String {
    match e {
        Error::Io { .. } => "io".into(),
        Error::Poisoned { .. } => "poisoned".into(),
        other => format!("other: {other}"),
    }
}

/// The child side: does nothing unless run by `run_child`.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os(DIR).unwrap());
    match scenario.as_str() {
        "mapped_exit" => {
            let db = DB::open(&dir, options(true)).unwrap();
            write_until_failure(&db, 1500);
            // Ends the process without closing (no base written, no final sync).
            std::process::exit(0);
        }
        "mlock_refused" => {
            set_limit(libc::RLIMIT_MEMLOCK, 0);
            let db = DB::open(&dir, options(true)).unwrap();
            write_until_failure(&db, 1500);
            db.close().unwrap();
        }
        "fsize_default" | "fsize_mapped" => {
            ignore_sigxfsz();
            // Below the first allocation (64 KiB ahead), above a few records.
            set_limit(libc::RLIMIT_FSIZE, 48 << 10);
            let db = DB::open(&dir, options(scenario == "fsize_mapped")).unwrap();
            write_until_failure(&db, 1500);
        }
        "fsize_signal_default" | "fsize_signal_mapped" => {
            // SIGXFSZ at its default (fatal): writes below the limit must not die of the
            // allocation ahead crossing it.
            set_limit(libc::RLIMIT_FSIZE, 48 << 10);
            let db = DB::open(&dir, options(scenario == "fsize_signal_mapped")).unwrap();
            write_until_failure(&db, 40);
            std::process::exit(0);
        }
        "truncate_default" | "truncate_mapped" => {
            let db = DB::open(&dir, options(scenario == "truncate_mapped")).unwrap();
            for i in 0..20 {
                db.put(&WriteOptions::synced(), &key(i), &value(i)).unwrap();
            }
            // Another program truncates the WAL, and it cannot grow back to where the writer
            // is (the file size limit stands in for a file system that refuses the space).
            let wal = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "log"))
                .unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&wal)
                .unwrap()
                .set_len(0)
                .unwrap();
            ignore_sigxfsz();
            set_limit(libc::RLIMIT_FSIZE, 4096);
            // Mapped: the store into the lost pages raises SIGBUS here and the process dies.
            let r = db.put(&WriteOptions::synced(), b"after", b"truncation");
            println!("SURVIVED {}", r.map_or_else(|e| kind(&e), |()| "ok".into()));
            let again = db.put(&WriteOptions::default(), b"again", b"1");
            println!("THEN {}", again.map_or_else(|e| kind(&e), |()| "ok".into()));
        }
        "panic_in_write_path" => {
            let db = DB::open(
                &dir,
                Options {
                    file_system: Arc::new(PanicFs),
                    ..Options::default()
                },
            )
            .unwrap();
            db.put(&WriteOptions::default(), b"fine", b"1").unwrap();
            db.put(&WriteOptions::default(), b"boom", PANIC_MARKER)
                .unwrap();
            println!("UNREACHABLE: the write returned");
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn mapped_appends_survive_a_process_exit_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("mapped_exit", dir.path());
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(acked(&out), 1500);
    // The next open replays the WAL the mapping wrote.
    assert_has_first(dir.path(), 1500);
}

#[test]
fn mlock_refused_falls_back_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("mlock_refused", dir.path());
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(acked(&out), 1500);
    assert_has_first(dir.path(), 1500);
}

fn allocation_refused(scenario: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(scenario, dir.path());
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{scenario}: {:?}: {stdout} {}",
        out.status,
        text(&out.stderr)
    );
    let n = acked(&out);
    assert!(
        n > 10 && n < 1500,
        "{scenario}: {n} writes before the limit"
    );
    assert!(stdout.contains("FIRST io"), "{scenario}: {stdout}");
    assert!(stdout.contains("THEN poisoned"), "{scenario}: {stdout}");
    assert_has_first(dir.path(), n);
}

#[test]
fn allocation_refused_default_mode_errors_then_poisons() {
    allocation_refused("fsize_default");
}

#[test]
fn allocation_refused_mapped_mode_errors_then_poisons() {
    allocation_refused("fsize_mapped");
}

#[test]
fn allocating_ahead_never_raises_sigxfsz_below_the_limit() {
    for scenario in ["fsize_signal_default", "fsize_signal_mapped"] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_child(scenario, dir.path());
        assert!(
            out.status.success(),
            "{scenario}: {:?} (SIGXFSZ is {}): {}",
            out.status,
            libc::SIGXFSZ,
            text(&out.stderr)
        );
        assert_eq!(acked(&out), 40, "{scenario}");
        assert_has_first(dir.path(), 40);
    }
}

#[test]
fn truncated_wal_default_mode_is_an_error_not_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("truncate_default", dir.path());
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{:?}: {stdout} {}",
        out.status,
        text(&out.stderr)
    );
    assert!(stdout.contains("SURVIVED io"), "{stdout}");
    assert!(stdout.contains("THEN poisoned"), "{stdout}");
}

#[test]
fn truncated_wal_mapped_mode_raises_sigbus_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("truncate_mapped", dir.path());
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGBUS),
        "{:?}: {} {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("SURVIVED"));
}

#[test]
fn a_panic_in_the_write_path_aborts_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("panic_in_write_path", dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("a panic unwound through the write path"),
        "{stderr}"
    );
    assert!(stderr.contains("test file system panics"), "{stderr}");
    assert!(!text(&out.stdout).contains("UNREACHABLE"));
}

/// A value whose WAL append panics in `PanicFs`.
const PANIC_MARKER: &[u8] = b"<<panic inside append>>";

/// The real file system, except that appending a record that holds `PANIC_MARKER` panics.
#[derive(Debug)]
struct PanicFs;

struct PanicFile(Box<dyn WritableFile>);

impl WritableFile for PanicFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        if data.windows(PANIC_MARKER.len()).any(|w| w == PANIC_MARKER) {
            panic!("the test file system panics inside append");
        }
        self.0.append(data)
    }
    fn allocate(&mut self, len: u64) -> io::Result<()> {
        self.0.allocate(len)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.0.sync()
    }
}

impl FileSystem for PanicFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        PosixFs.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        PosixFs.exists(path)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        PosixFs.is_dir(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        PosixFs.list(dir)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(PanicFile(PosixFs.create(path)?)))
    }
    fn create_with(&self, path: &Path, options: &FileOptions) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(PanicFile(PosixFs.create_with(path, options)?)))
    }
    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        PosixFs.open_sequential(path)
    }
    fn open_random_access(
        &self,
        path: &Path,
    ) -> io::Result<Box<dyn groupkv::fs::RandomAccessFile>> {
        PosixFs.open_random_access(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        PosixFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        PosixFs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        PosixFs.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        PosixFs.lock(path)
    }
}
