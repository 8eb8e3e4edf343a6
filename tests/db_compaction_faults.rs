//! A failing compaction in a running database (on `MemFs`): an EIO on an output's write or
//! sync, a full disk, a damaged input block. Each sets the sticky background error naming the
//! cause; nothing is installed and nothing is deleted half-way (the inputs, the damaged one
//! included, stay byte-identical, and the failed job's outputs are gone); reads go on; writes
//! fail; a reopen recovers the last good version.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{Fault, FaultKind, FileSystem, MemFs};
use groupkv::{Error, Options, WriteOptions, DB};

const DIR: &str = "/db";

fn options(fs: &MemFs) -> Options {
    Options {
        file_system: Arc::new(fs.clone()),
        write_buffer_size: 1 << 20,
        // Four level-0 tables stay put until the test's manual compaction.
        level0_file_num_compaction_trigger: 8,
        ..Options::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

/// Four level-0 tables of overlapping keys, and what they hold.
fn four_tables(fs: &MemFs) -> (DB, BTreeMap<Vec<u8>, Vec<u8>>) {
    let db = DB::open(DIR, options(fs)).unwrap();
    let mut model = BTreeMap::new();
    for round in 0..4u32 {
        for i in (round..2000).step_by(2) {
            let v = format!("r{round}-{i}-{}", "v".repeat(60)).into_bytes();
            db.put(&WriteOptions::default(), &key(i), &v).unwrap();
            model.insert(key(i), v);
        }
        db.flush().unwrap();
    }
    assert_eq!(db.stats().num_files_at_level[0], 4);
    (db, model)
}

fn tables(fs: &MemFs) -> BTreeMap<String, Vec<u8>> {
    fs.list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".sst"))
        .map(|n| {
            let bytes = fs.read(&Path::new(DIR).join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Runs a full compaction that `arm` makes fail, and checks the aftermath; `expect` is a
/// fragment of the cause's text. Keys in `unreadable` are in a damaged block.
fn fails_cleanly(
    arm: impl FnOnce(&MemFs, &BTreeMap<String, Vec<u8>>),
    expect: &str,
    unreadable: bool,
) {
    let fs = MemFs::new();
    let (db, model) = four_tables(&fs);
    let before = tables(&fs);
    arm(&fs, &before);
    // The damage (if any) is part of the "before" state the failure must leave alone.
    let before = tables(&fs);
    let err = db.compact_range(None, None).unwrap_err();
    let Error::Poisoned { cause } = &err else {
        panic!("{err:?}")
    };
    let text = cause.to_string();
    assert!(text.contains("compacting level 0"), "{text}");
    assert!(text.contains(expect), "{text}");
    fs.clear_faults();
    // Nothing installed, no input deleted or changed, no output left.
    assert_eq!(db.stats().num_files_at_level[0], 4);
    assert_eq!(tables(&fs), before, "the tables changed");
    // Reads go on; writes fail naming the cause.
    if !unreadable {
        for (k, v) in model.iter().step_by(37) {
            assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
        }
    }
    let w = db.put(&WriteOptions::default(), b"new", b"v").unwrap_err();
    assert!(
        matches!(&w, Error::Poisoned { cause } if cause.to_string().contains(expect)),
        "{w:?}"
    );
    assert!(db.close().is_err(), "close reports the background error");
    drop(db);
    // Reopen: the last good version, all of it.
    let db = DB::open(DIR, options(&fs)).unwrap();
    assert_eq!(db.stats().num_files_at_level[0], 4);
    if !unreadable {
        for (k, v) in &model {
            assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
        }
        db.compact_range(None, None).unwrap();
        assert_eq!(db.stats().num_files_at_level[0], 0);
        for (k, v) in model.iter().step_by(7) {
            assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
        }
    }
    db.close().unwrap();
}

#[test]
fn eio_on_an_output_write() {
    fails_cleanly(
        |fs, _| {
            let n = fs.count(FaultKind::Append);
            fs.inject(Fault::once(FaultKind::Append, n + 1, libc::EIO));
        },
        "Input/output error",
        false,
    );
}

#[test]
fn eio_on_an_output_sync() {
    fails_cleanly(
        |fs, _| {
            let n = fs.count(FaultKind::Sync);
            fs.inject(Fault::once(FaultKind::Sync, n + 1, libc::EIO));
        },
        "syncing table",
        false,
    );
}

#[test]
fn a_full_disk() {
    fails_cleanly(
        |fs, _| {
            let n = fs.count(FaultKind::Append);
            fs.inject(Fault {
                persistent: true,
                ..Fault::once(FaultKind::Append, n + 1, libc::ENOSPC)
            });
        },
        "No space left",
        false,
    );
}

#[test]
fn a_damaged_input_block_stays_on_disk() {
    fails_cleanly(
        |fs, tables| {
            // Damage the first data block of the oldest table.
            let (name, bytes) = tables.iter().next().unwrap();
            let mut bytes = bytes.clone();
            bytes[100] ^= 0xff;
            fs.overwrite(&Path::new(DIR).join(name), bytes).unwrap();
        },
        "checksum",
        true,
    );
}
