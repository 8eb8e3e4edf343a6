//! Read faults: every read a table makes can fail, and each failure surfaces as an error —
//! never as missing or wrong data. Plus the random-access files themselves (`PosixFs` and
//! `MemFs`): exact reads, reads past the end refused.
#![allow(clippy::unwrap_used)]
// Test data: the casts take small numbers to bytes and offsets.
#![allow(clippy::cast_possible_truncation)]

use std::path::Path;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, parse_internal_key, LookupKey, ValueKind};
use groupkv::fs::{Fault, FaultKind, FileSystem, MemFs, PosixFs};
use groupkv::table::{ReadOptions, Table, TableBuilder, TableOptions};
use groupkv::Error;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn entries() -> Entries {
    (0..800u32)
        .map(|i| {
            let kind = if i % 9 == 0 {
                ValueKind::Deletion
            } else {
                ValueKind::Value
            };
            (
                internal_key(format!("key{i:05}").as_bytes(), u64::from(i) + 1, kind),
                if kind == ValueKind::Value {
                    format!("value {i} ").repeat(3).into_bytes()
                } else {
                    Vec::new()
                },
            )
        })
        .collect()
}

fn build(fs: &MemFs, path: &Path, data: &Entries) {
    fs.create_dir_all(path.parent().unwrap()).unwrap();
    let mut b = TableBuilder::new(TableOptions::default(), fs.create(path).unwrap(), "t");
    for (k, v) in data {
        b.add(k, v).unwrap();
    }
    b.finish().unwrap();
}

/// Opens the table, scans it forward and backward and looks up every tenth key, checking
/// every answer it gets against `data`. Any error stops it and is returned.
fn workload(fs: &MemFs, path: &Path, data: &Entries) -> groupkv::Result<()> {
    let file = fs.open_random_access(path).unwrap();
    let size = file.file_size().unwrap();
    let table = Arc::new(Table::open(file, "t", size, ReadOptions::default())?);
    let mut it = table.iter();
    it.seek_to_first()?;
    for (k, v) in data {
        assert!(it.valid(), "a scan ended early without an error");
        assert_eq!((it.key(), it.value()), (&k[..], &v[..]), "wrong data");
        it.next()?;
    }
    assert!(!it.valid());
    it.seek_to_last()?;
    for (k, _) in data.iter().rev() {
        assert!(it.valid(), "a reverse scan ended early without an error");
        assert_eq!(it.key(), &k[..], "wrong data");
        it.prev()?;
    }
    for (k, v) in data.iter().step_by(10) {
        let p = parse_internal_key(k).unwrap();
        let got = table.get(&LookupKey::new(p.user_key, p.sequence))?;
        let got = got.expect("a present key was reported absent without an error");
        assert_eq!((got.kind, &got.value), (p.kind, v), "wrong data");
    }
    Ok(())
}

#[test]
fn every_read_fault_point_returns_an_error() {
    let fs = MemFs::new();
    let path = Path::new("/db/000001.sst");
    let data = entries();
    build(&fs, path, &data);
    let before = fs.count(FaultKind::Read);
    workload(&fs, path, &data).unwrap();
    let reads = fs.count(FaultKind::Read) - before;
    assert!(reads > 20, "{reads} reads");
    for nth in 1..=reads {
        let base = fs.count(FaultKind::Read);
        fs.inject(Fault::once(FaultKind::Read, base + nth, libc::EIO));
        match workload(&fs, path, &data) {
            Err(Error::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::EIO)),
            other => panic!("read {nth} of {reads} failed, the workload said {other:?}"),
        }
        fs.clear_faults();
    }
    println!("read faults: {reads} fault points, each an error");
}

#[test]
fn unreadable_files_fail_until_the_fault_clears() {
    let fs = MemFs::new();
    let path = Path::new("/db/000002.sst");
    let data = entries();
    build(&fs, path, &data);
    fs.fail_reads_of(path, libc::EIO);
    assert!(matches!(workload(&fs, path, &data), Err(Error::Io { .. })));
    // A table opened before the disk went bad fails its data-block reads.
    fs.clear_faults();
    let file = fs.open_random_access(path).unwrap();
    let size = file.file_size().unwrap();
    let table = Arc::new(Table::open(file, "t", size, ReadOptions::default()).unwrap());
    fs.fail_reads_of(path, libc::EIO);
    let mut it = table.iter();
    assert!(matches!(it.seek_to_first(), Err(Error::Io { .. })));
    assert!(!it.valid());
    let lk = LookupKey::new(b"key00001", 2);
    assert!(matches!(table.get(&lk), Err(Error::Io { .. })));
    // Persistent faults (a dead disk) too.
    fs.clear_faults();
    let base = fs.count(FaultKind::Read);
    fs.inject(Fault {
        persistent: true,
        ..Fault::once(FaultKind::Read, base + 1, libc::EIO)
    });
    assert!(matches!(table.get(&lk), Err(Error::Io { .. })));
    assert!(matches!(table.get(&lk), Err(Error::Io { .. })));
    fs.clear_faults();
    workload(&fs, path, &data).unwrap();
    assert_eq!(
        table.get(&lk).unwrap().unwrap().value,
        b"value 1 ".repeat(3)
    );
}

#[test]
fn random_access_reads_are_exact_in_both_file_systems() {
    let dir = tempfile::tempdir().unwrap();
    let posix_path = dir.path().join("f");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut w = PosixFs.create(&posix_path).unwrap();
    w.append(&data).unwrap();
    drop(w);
    let mem = MemFs::new();
    mem.create_dir_all(Path::new("/d")).unwrap();
    let mem_path = Path::new("/d/f");
    mem.create(mem_path).unwrap().append(&data).unwrap();
    let files = [
        PosixFs.open_random_access(&posix_path).unwrap(),
        mem.open_random_access(mem_path).unwrap(),
    ];
    for f in &files {
        assert_eq!(f.file_size().unwrap(), data.len() as u64);
        assert_eq!(f.read_at(400_000, 0).unwrap(), b"");
        for (offset, len) in [(0, 0), (0, 1), (17, 4096), (100_000, 200_000), (299_999, 1)] {
            assert_eq!(
                f.read_at(offset as u64, len).unwrap(),
                &data[offset..offset + len]
            );
        }
        for (offset, len) in [(299_999u64, 2), (300_001, 1), (0, 300_001), (u64::MAX, 1)] {
            let e = f.read_at(offset, len).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidInput
                ),
                "{offset}+{len}: {e}"
            );
        }
    }
    assert!(PosixFs
        .open_random_access(&dir.path().join("missing"))
        .is_err());
    assert!(mem.open_random_access(Path::new("/d/missing")).is_err());
}
