//! The flush thread and open through the MANIFEST (issue 13): `DB::flush` puts the memtables
//! into level-0 tables and deletes their WALs; close leaves tables, one MANIFEST, CURRENT and
//! an empty WAL (never a base); a failed flush makes writes fail naming it while reads go on,
//! and reopen recovers every write; a damaged or missing MANIFEST/CURRENT fails open with
//! `Corruption` naming the file and changes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{Fault, FaultKind, FileSystem, MemFs};
use groupkv::{Error, Options, WriteOptions, DB};

const DIR: &str = "/db";

fn options(fs: &MemFs) -> Options {
    Options {
        file_system: Arc::new(fs.clone()),
        write_buffer_size: 64 << 10,
        ..Options::default()
    }
}

fn names(fs: &MemFs) -> Vec<String> {
    let mut n = fs.list(Path::new(DIR)).expect("list");
    n.sort();
    n
}

fn snapshot(fs: &MemFs) -> BTreeMap<String, Vec<u8>> {
    names(fs)
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let data = fs.read(&Path::new(DIR).join(&n)).expect("read");
            (n, data)
        })
        .collect()
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn fill(db: &DB, from: u32, to: u32) {
    for i in from..to {
        db.put(&WriteOptions::default(), &key(i), &[b'v'; 200])
            .expect("put");
    }
}

fn check(db: &DB, to: u32) {
    for i in 0..to {
        assert_eq!(
            db.get(&key(i)).expect("get").as_deref(),
            Some(&[b'v'; 200][..]),
            "key {i}"
        );
    }
}

#[test]
fn flush_writes_tables_and_deletes_their_wals() {
    let fs = MemFs::new();
    let db = DB::open(DIR, options(&fs)).expect("open");
    fill(&db, 0, 2000);
    db.flush().expect("flush");
    let stats = db.stats();
    assert!(stats.flushes >= 2, "{stats:?}");
    assert!(stats.flush_bytes > 400_000, "{stats:?}");
    assert_eq!(stats.immutable_memtables, 0);
    assert!(stats.memtable_bytes < 4096, "{stats:?}");
    let n = names(&fs);
    let logs = n.iter().filter(|n| n.ends_with(".log")).count();
    assert_eq!(logs, 1, "only the current WAL is left: {n:?}");
    assert!(n.iter().any(|n| n.ends_with(".sst")), "{n:?}");
    check(&db, 2000);
    db.close().expect("close");
    let n = names(&fs);
    assert!(n.iter().all(|n| !n.contains(".base")), "no base: {n:?}");
    assert!(n.contains(&"CURRENT".to_string()), "{n:?}");
    assert_eq!(
        n.iter().filter(|n| n.starts_with("MANIFEST-")).count(),
        1,
        "{n:?}"
    );
    let db = DB::open(DIR, options(&fs)).expect("reopen");
    check(&db, 2000);
    db.close().expect("close");
}

#[test]
fn a_failed_flush_stops_writes_keeps_reads_and_reopen_recovers() {
    let fs = MemFs::new();
    let db = DB::open(DIR, options(&fs)).expect("open");
    fill(&db, 0, 100);
    // The next file created is the flush's table: it fails.
    fs.inject(Fault {
        kind: FaultKind::Create,
        nth: fs.count(FaultKind::Create) + 2,
        errno: libc::EIO,
        persistent: true,
        partial: false,
    });
    let err = db.flush().expect_err("the flush fails");
    assert!(matches!(err, Error::Poisoned { .. }), "{err:?}");
    assert!(err.to_string().contains(".sst"), "names the cause: {err}");
    let write = db.put(&WriteOptions::default(), b"after", b"x");
    assert!(matches!(write, Err(Error::Poisoned { .. })), "{write:?}");
    check(&db, 100);
    assert!(db.close().is_err(), "close reports the failure");
    fs.clear_faults();
    let db = DB::open(DIR, options(&fs)).expect("reopen");
    check(&db, 100);
    assert_eq!(db.get(b"after").expect("get"), None);
    db.close().expect("close");
}

#[test]
fn a_lost_current_or_damaged_manifest_is_corruption_and_changes_nothing() {
    let fs = MemFs::new();
    let db = DB::open(DIR, options(&fs)).expect("open");
    fill(&db, 0, 1000);
    db.close().expect("close");
    let pristine = snapshot(&fs);

    // CURRENT lost: never an empty database, nothing deleted.
    let current = fs.read(&Path::new(DIR).join("CURRENT")).expect("read");
    fs.remove_file(&Path::new(DIR).join("CURRENT"))
        .expect("remove");
    let before = snapshot(&fs);
    let err = DB::open(DIR, options(&fs)).expect_err("refused");
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    assert!(err.to_string().contains("CURRENT"), "{err}");
    assert_eq!(snapshot(&fs), before, "nothing changed");
    let mut f = fs.create(&Path::new(DIR).join("CURRENT")).expect("create");
    f.append(&current).expect("append");
    f.sync().expect("sync");
    drop(f);
    assert_eq!(snapshot(&fs), pristine);

    // A byte of the MANIFEST's first record flipped.
    let manifest = names(&fs)
        .into_iter()
        .find(|n| n.starts_with("MANIFEST-"))
        .expect("a MANIFEST");
    let path = Path::new(DIR).join(&manifest);
    let mut bytes = fs.read(&path).expect("read");
    bytes[10] ^= 0x40;
    fs.overwrite(&path, bytes).expect("overwrite");
    let before = snapshot(&fs);
    let err = DB::open(DIR, options(&fs)).expect_err("refused");
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    assert!(err.to_string().contains(&manifest), "{err}");
    assert_eq!(snapshot(&fs), before, "nothing changed");
}

/// Removes `victim` from a closed database and checks that open refuses with `Corruption`
/// naming the missing table and the MANIFEST, leaving every other file as it was.
fn assert_missing_table_refused(
    fs: &dyn FileSystem,
    dir: &Path,
    open: impl Fn() -> Result<DB, Error>,
) {
    let mut names = fs.list(dir).expect("list");
    names.sort();
    let table = names
        .iter()
        .find(|n| n.ends_with(".sst"))
        .expect("a table")
        .clone();
    let manifest = names
        .iter()
        .find(|n| n.starts_with("MANIFEST-"))
        .expect("a MANIFEST")
        .clone();
    fs.remove_file(&dir.join(&table)).expect("remove");
    let read_all = |fs: &dyn FileSystem| -> BTreeMap<String, Vec<u8>> {
        let mut n = fs.list(dir).expect("list");
        n.sort();
        n.into_iter()
            .filter(|n| n != "LOCK")
            .map(|n| {
                let mut f = fs.open_sequential(&dir.join(&n)).expect("open");
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let k = f.read(&mut buf).expect("read");
                    if k == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..k]);
                }
                (n, data)
            })
            .collect()
    };
    let before = read_all(fs);
    let err = open().map(|_| ()).expect_err("refused");
    assert!(matches!(err, Error::Corruption { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&table), "names the table: {msg}");
    assert!(msg.contains(&manifest), "names the MANIFEST: {msg}");
    assert_eq!(read_all(fs), before, "nothing changed");
}

#[test]
fn a_manifest_naming_a_missing_table_is_corruption_and_changes_nothing() {
    let fs = MemFs::new();
    let db = DB::open(DIR, options(&fs)).expect("open");
    fill(&db, 0, 1000);
    db.flush().expect("flush");
    db.close().expect("close");
    assert_missing_table_refused(&fs, Path::new(DIR), || DB::open(DIR, options(&fs)));
}

#[test]
fn a_manifest_naming_a_missing_table_is_corruption_on_a_real_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let opts = || Options {
        write_buffer_size: 64 << 10,
        ..Options::default()
    };
    let db = DB::open(&dir, opts()).expect("open");
    fill(&db, 0, 1000);
    db.flush().expect("flush");
    db.close().expect("close");
    let posix = groupkv::fs::PosixFs;
    assert_missing_table_refused(&posix, &dir, || DB::open(&dir, opts()));
}
