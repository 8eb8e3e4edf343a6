//! `VersionSet` on `MemFs`: MANIFEST + CURRENT as LevelDB keeps them. Creating, recovering,
//! logging edits, rotation, file numbers, live files; every kind of damage to CURRENT or the
//! MANIFEST is a `Corruption` naming the file (never an empty database), while a torn last
//! record, which was never synced and so never installed, is ignored.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{Fault, FaultKind, FileSystem, MemFs};
use groupkv::log;
use groupkv::version::filename::{current_file_name, manifest_file_name};
use groupkv::version::{FileMetaData, VersionEdit, VersionSet, VersionSetOptions};
use groupkv::Error;

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

fn fs() -> MemFs {
    let fs = MemFs::new();
    fs.create_dir_all(&dir()).unwrap();
    fs
}

fn options(max: u64) -> VersionSetOptions {
    VersionSetOptions {
        max_manifest_file_size: max,
    }
}

fn meta(number: u64, smallest: &str, largest: &str) -> FileMetaData {
    FileMetaData {
        number,
        file_size: 1000 + number,
        smallest: internal_key(smallest.as_bytes(), 10, ValueKind::Value),
        largest: internal_key(largest.as_bytes(), 9, ValueKind::Value),
    }
}

/// A fresh database: created, recovered, with its first MANIFEST of the session.
fn open_new(fs: &MemFs, max: u64) -> VersionSet {
    let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), options(max));
    vs.create_new_db().unwrap();
    vs.recover().unwrap();
    vs.open_manifest().unwrap();
    vs
}

fn reopen(fs: &MemFs) -> groupkv::Result<VersionSet> {
    let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), options(64 << 20));
    vs.recover()?;
    Ok(vs)
}

fn files(vs: &VersionSet) -> Vec<(usize, u64)> {
    vs.current()
        .all_files()
        .map(|(l, f)| (l, f.number))
        .collect()
}

fn names(fs: &MemFs) -> Vec<String> {
    let mut n = fs.list(&dir()).unwrap();
    n.sort();
    n
}

fn add_file(vs: &mut VersionSet, level: usize, smallest: &str, largest: &str) -> u64 {
    let n = vs.new_file_number();
    let mut e = VersionEdit::new();
    e.add_file(level, meta(n, smallest, largest)).unwrap();
    vs.log_and_apply(&mut e).unwrap();
    n
}

fn current_contents(fs: &MemFs) -> String {
    String::from_utf8(fs.read(&current_file_name(&dir())).unwrap()).unwrap()
}

#[test]
fn a_new_database_has_an_empty_version_and_a_manifest_per_open() {
    let fs = fs();
    let vs = open_new(&fs, 64 << 20);
    assert!(files(&vs).is_empty());
    assert_eq!(vs.log_number(), 0);
    assert_eq!(vs.last_sequence(), 0);
    assert_eq!(vs.manifest_file_number(), 2);
    assert_eq!(vs.next_file_number(), 3);
    assert_eq!(current_contents(&fs), "MANIFEST-000002\n");
    // MANIFEST-000001 is replaced once CURRENT names the new one.
    assert_eq!(names(&fs), vec!["CURRENT", "MANIFEST-000002"]);
    drop(vs);
    let mut vs = reopen(&fs).unwrap();
    vs.open_manifest().unwrap();
    assert_eq!(current_contents(&fs), "MANIFEST-000003\n");
    assert_eq!(names(&fs), vec!["CURRENT", "MANIFEST-000003"]);
}

#[test]
fn edits_survive_reopen_with_numbers_sequence_and_compact_pointers() {
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    let a = add_file(&mut vs, 0, "a", "c");
    let b = add_file(&mut vs, 1, "d", "f");
    let wal = vs.new_file_number();
    vs.set_last_sequence(77);
    let mut e = VersionEdit::new();
    e.set_log_number(wal);
    e.remove_file(0, a).unwrap();
    e.add_file(2, meta(a, "a", "c")).unwrap();
    let cp = internal_key(b"f", 9, ValueKind::Value);
    e.set_compact_pointer(1, &cp).unwrap();
    vs.log_and_apply(&mut e).unwrap();
    assert_eq!(e.next_file_number(), Some(vs.next_file_number()));
    assert_eq!(e.last_sequence(), Some(77));
    assert_eq!(e.prev_log_number(), Some(0));

    let before = files(&vs);
    let next = vs.next_file_number();
    drop(vs);
    let mut vs = reopen(&fs).unwrap();
    assert_eq!(files(&vs), before);
    assert_eq!(before, vec![(1, b), (2, a)]);
    assert_eq!(vs.log_number(), wal);
    assert_eq!(vs.last_sequence(), 77);
    assert_eq!(vs.compact_pointer(1), Some(&cp[..]));
    assert!(
        vs.next_file_number() > next,
        "the MANIFEST's own number is reserved too"
    );
    assert!(vs.new_file_number() > wal);
    // The snapshot of the next MANIFEST carries all of it.
    vs.open_manifest().unwrap();
    drop(vs);
    let vs = reopen(&fs).unwrap();
    assert_eq!(files(&vs), before);
    assert_eq!(vs.compact_pointer(1), Some(&cp[..]));
    assert_eq!(vs.last_sequence(), 77);
}

#[test]
fn the_manifest_rotates_when_it_passes_its_size_limit() {
    let fs = fs();
    let mut vs = open_new(&fs, 300);
    let mut manifests = vec![vs.manifest_file_number()];
    let mut added = Vec::new();
    for i in 0..40 {
        let k = format!("k{i:03}");
        added.push((1, add_file(&mut vs, 1, &k, &k)));
        if *manifests.last().unwrap() != vs.manifest_file_number() {
            manifests.push(vs.manifest_file_number());
        }
        assert!(
            vs.manifest_size() < 300 + 200 + 40 * 40,
            "bounded by the limit plus a snapshot"
        );
    }
    assert!(manifests.len() > 3, "rotated: {manifests:?}");
    let last = *manifests.last().unwrap();
    assert_eq!(
        names(&fs),
        vec!["CURRENT".to_owned(), format!("MANIFEST-{last:06}")],
        "each old MANIFEST is deleted once CURRENT names the new one"
    );
    drop(vs);
    let vs = reopen(&fs).unwrap();
    assert_eq!(files(&vs), added);
}

#[test]
fn a_failed_sync_installs_nothing_and_the_next_edit_starts_a_new_manifest() {
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    let a = add_file(&mut vs, 0, "a", "b");
    let manifest = vs.manifest_file_number();
    let syncs = fs.count(FaultKind::Sync);
    fs.inject(Fault::once(FaultKind::Sync, syncs + 1, libc::EIO));
    let n = vs.new_file_number();
    let mut e = VersionEdit::new();
    e.add_file(0, meta(n, "c", "d")).unwrap();
    let err = vs.log_and_apply(&mut e).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(files(&vs), vec![(0, a)], "nothing installed");
    // The next edit does not append after a record that may be torn: new MANIFEST.
    let b = add_file(&mut vs, 0, "e", "f");
    assert_ne!(vs.manifest_file_number(), manifest);
    let mut got = files(&vs);
    got.sort_unstable();
    assert_eq!(got, vec![(0, a), (0, b)]);
    drop(vs);
    let vs = reopen(&fs).unwrap();
    let mut got = files(&vs);
    got.sort_unstable();
    assert_eq!(got, vec![(0, a), (0, b)]);
}

#[test]
fn an_edit_that_would_corrupt_the_version_is_refused_before_it_is_written() {
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    add_file(&mut vs, 1, "a", "m");
    let size = vs.manifest_size();
    let n = vs.new_file_number();
    let mut e = VersionEdit::new();
    e.add_file(1, meta(n, "k", "z")).unwrap();
    let err = vs.log_and_apply(&mut e).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    assert_eq!(vs.manifest_size(), size, "nothing appended");
    let mut e = VersionEdit::new();
    e.set_log_number(vs.next_file_number() + 5);
    assert!(matches!(
        vs.log_and_apply(&mut e),
        Err(Error::InvalidArgument { .. })
    ));
    drop(vs);
    assert_eq!(files(&reopen(&fs).unwrap()).len(), 1);
}

fn expect_corruption(fs: &MemFs, needle: &str) -> String {
    let err = reopen(fs).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Corruption { .. }), "{msg}");
    assert!(msg.contains(needle), "{msg} should name {needle}");
    msg
}

#[test]
fn a_missing_or_garbled_current_is_corruption() {
    let fs = fs();
    drop(open_new(&fs, 64 << 20));
    let current = current_file_name(&dir());
    let good = fs.read(&current).unwrap();
    for bad in [
        &b""[..],
        b"MANIFEST-000002",
        b"garbage\n",
        b"MANIFEST-\n",
        b"MANIFEST-00x002\n",
        b"000002.log\n",
        b"\xff\xfe\n",
    ] {
        fs.overwrite(&current, bad.to_vec()).unwrap();
        expect_corruption(&fs, "CURRENT");
    }
    fs.overwrite(&current, good).unwrap();
    assert!(reopen(&fs).is_ok());
    fs.remove_file(&current).unwrap();
    let msg = expect_corruption(&fs, "CURRENT");
    assert!(msg.contains("missing"), "{msg}");
}

#[test]
fn a_missing_manifest_is_corruption_naming_it() {
    let fs = fs();
    drop(open_new(&fs, 64 << 20));
    fs.remove_file(&manifest_file_name(&dir(), 2)).unwrap();
    expect_corruption(&fs, "MANIFEST-000002");
}

/// A MANIFEST with several edits; returns its path and the file numbers added.
fn manifest_with_edits(fs: &MemFs) -> (PathBuf, Vec<u64>) {
    let mut vs = open_new(fs, 64 << 20);
    let mut added = Vec::new();
    for i in 0..5 {
        let k = format!("k{i}");
        added.push(add_file(&mut vs, 1, &k, &k));
    }
    (manifest_file_name(&dir(), vs.manifest_file_number()), added)
}

#[test]
fn interior_damage_is_corruption_naming_file_and_offset() {
    let fs = fs();
    let (path, _) = manifest_with_edits(&fs);
    let mut bytes = fs.read(&path).unwrap();
    bytes[20] ^= 0x40; // inside the first record (the snapshot)
    fs.overwrite(&path, bytes).unwrap();
    let msg = expect_corruption(&fs, "MANIFEST-000002");
    assert!(msg.contains("offset 0"), "{msg}");
}

#[test]
fn an_edit_that_does_not_decode_is_corruption_naming_its_offset() {
    let fs = fs();
    drop(open_new(&fs, 64 << 20));
    let path = manifest_file_name(&dir(), 2);
    let mut bytes = fs.read(&path).unwrap();
    let at = bytes.len() as u64;
    // A well-framed record whose payload is no edit (tag 8 is retired).
    bytes.extend(framed(b"\x08\x01"));
    fs.overwrite(&path, bytes).unwrap();
    let msg = expect_corruption(&fs, "MANIFEST-000002");
    assert!(msg.contains(&format!("offset {at}")), "{msg}");
}

/// `payload` framed as one log record at the start of a block.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 7];
    out[4..6].copy_from_slice(&u16::try_from(payload.len()).unwrap().to_le_bytes());
    out[6] = 1;
    out.extend_from_slice(payload);
    let crc = log::Checksum::Crc32c.record_crc(&out[6..]);
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn a_manifest_without_required_fields_or_with_another_comparator_is_refused() {
    let fs = fs();
    drop(open_new(&fs, 64 << 20));
    let path = manifest_file_name(&dir(), 2);
    let mut e = VersionEdit::new();
    e.set_comparator("leveldb.BytewiseComparator").unwrap();
    fs.overwrite(&path, framed(&e.encode())).unwrap();
    expect_corruption(&fs, "next-file-number");
    let mut e = VersionEdit::new();
    e.set_comparator("rocksdb.ReverseBytewiseComparator")
        .unwrap();
    e.set_log_number(0);
    e.set_next_file_number(3);
    e.set_last_sequence(0);
    fs.overwrite(&path, framed(&e.encode())).unwrap();
    assert!(matches!(reopen(&fs), Err(Error::InvalidArgument { .. })));
}

#[test]
fn a_torn_last_record_is_ignored() {
    let fs = fs();
    let (path, added) = manifest_with_edits(&fs);
    let full = fs.read(&path).unwrap();
    let expect_all_but_last: Vec<(usize, u64)> = added[..4].iter().map(|&n| (1, n)).collect();
    // Cut inside the last record (header or payload) at every length.
    let last_len = {
        let mut e = VersionEdit::new();
        e.add_file(1, meta(added[4], "k4", "k4")).unwrap();
        e.set_log_number(0);
        e.set_prev_log_number(0);
        e.set_next_file_number(0);
        e.set_last_sequence(0);
        e.encode().len() + 7
    };
    assert!(last_len > 20);
    for cut in 1..last_len - 2 {
        fs.overwrite(&path, full[..full.len() - cut].to_vec())
            .unwrap();
        let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), options(64 << 20));
        let report = vs.recover().unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert!(report.torn_tail.is_some(), "cut {cut}");
        assert_eq!(files(&vs), expect_all_but_last, "cut {cut}");
    }
    // The whole record there but its last byte wrong (a torn write ending in garbage).
    let mut garbled = full.clone();
    *garbled.last_mut().unwrap() ^= 0x11;
    fs.overwrite(&path, garbled).unwrap();
    let vs = reopen(&fs).unwrap();
    assert_eq!(files(&vs), expect_all_but_last);
    // The same damage followed by a good record is interior damage.
    let mut garbled = full.clone();
    *garbled.last_mut().unwrap() ^= 0x11;
    let pad = 32 * 1024 - garbled.len();
    garbled.extend(vec![0u8; pad]);
    let mut e = VersionEdit::new();
    e.set_last_sequence(5);
    garbled.extend(framed(&e.encode()));
    fs.overwrite(&path, garbled).unwrap();
    expect_corruption(&fs, "MANIFEST-000002");
    // Intact again: everything.
    fs.overwrite(&path, full).unwrap();
    assert_eq!(files(&reopen(&fs).unwrap()).len(), 5);
}

#[test]
fn live_files_include_every_version_still_held() {
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    let a = add_file(&mut vs, 1, "a", "b");
    let held = vs.current();
    let mut e = VersionEdit::new();
    e.remove_file(1, a).unwrap();
    let b = vs.new_file_number();
    e.add_file(1, meta(b, "a", "b")).unwrap();
    vs.log_and_apply(&mut e).unwrap();
    assert_eq!(vs.live_files().into_iter().collect::<Vec<_>>(), vec![a, b]);
    drop(held);
    assert_eq!(vs.live_files().into_iter().collect::<Vec<_>>(), vec![b]);
}

#[test]
fn file_numbers_are_never_handed_out_twice() {
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    let a = vs.new_file_number();
    let b = vs.new_file_number();
    assert_eq!(b, a + 1);
    vs.reuse_file_number(a); // not the last one: ignored
    assert_eq!(vs.new_file_number(), b + 1);
    vs.reuse_file_number(b + 1);
    assert_eq!(vs.new_file_number(), b + 1);
    vs.mark_file_number_used(100);
    assert_eq!(vs.new_file_number(), 101);
    vs.mark_file_number_used(50);
    assert_eq!(vs.new_file_number(), 102);
}

#[test]
fn versions_are_shared_across_threads_and_the_set_moves_between_them() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    // The DB keeps the set under its mutex (Send is enough); readers share versions.
    send::<VersionSet>();
    send_sync::<Arc<groupkv::version::Version>>();
    let fs = fs();
    let mut vs = open_new(&fs, 64 << 20);
    let a = add_file(&mut vs, 1, "a", "b");
    let v = vs.current();
    let reader =
        std::thread::spawn(move || v.files(1).iter().map(|f| f.number).collect::<Vec<_>>());
    assert_eq!(reader.join().unwrap(), vec![a]);
}
