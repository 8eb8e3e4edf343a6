//! Quarantined files (`*.corrupt`) keep their numbers: a reopen must never create a file whose
//! number a quarantined file carries (found in review: `000004.log` created next to
//! `000004.sst.corrupt`). Two ways it happened: the MANIFEST's number was taken at recovery
//! before the directory's numbers were counted, and a quarantined MANIFEST
//! (`MANIFEST-NNNNNN.corrupt`) was not counted at all.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{Options, WriteOptions, DB};

fn open(mem: &MemFs) -> groupkv::Result<DB> {
    DB::open(
        "/db",
        Options {
            file_system: Arc::new(mem.clone()),
            write_buffer_size: 16 << 10,
            ..Options::default()
        },
    )
}

/// The number in a file name of ours, quarantined or not (`MANIFEST-000009.corrupt` -> 9).
fn number(name: &str) -> Option<u64> {
    let name = name.strip_suffix(".corrupt").unwrap_or(name);
    let digits: String = name
        .trim_start_matches("MANIFEST-")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn a_reopen_never_reuses_a_quarantined_files_number() {
    let mem = MemFs::new();
    let db = open(&mem).unwrap();
    for i in 0..200u32 {
        db.put(&WriteOptions::default(), &i.to_be_bytes(), &[b'v'; 100])
            .unwrap();
    }
    db.close().unwrap();
    // The next number the MANIFEST recorded (recover takes one more for its new MANIFEST).
    let next = {
        let mut set = groupkv::version::VersionSet::new(
            Arc::new(mem.clone()),
            Path::new("/db"),
            groupkv::version::VersionSetOptions::default(),
        );
        set.recover().unwrap();
        set.next_file_number() - 1
    };
    // Quarantined files of every kind at the numbers the next sessions would hand out.
    let names = [
        format!("{next:06}.sst.corrupt"),
        format!("{:06}.log.corrupt", next + 1),
        format!("MANIFEST-{:06}.corrupt", next + 2),
        format!("{:06}.sst.2.corrupt", next + 3),
        format!("MANIFEST-{:06}.corrupt", next + 4),
        format!("{:06}.log.corrupt", next + 5),
    ];
    for n in &names {
        let mut f = mem.create(&Path::new("/db").join(n)).unwrap();
        f.append(b"kept aside").unwrap();
        f.sync().unwrap();
    }
    mem.sync_dir(Path::new("/db")).unwrap();
    for session in 0..3u32 {
        let db = open(&mem).unwrap_or_else(|e| panic!("session {session}: {e}"));
        for i in 0..400u32 {
            db.put(
                &WriteOptions::default(),
                &i.to_be_bytes(),
                &session.to_be_bytes(),
            )
            .unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
        let mut by_number: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for n in mem.list(Path::new("/db")).unwrap() {
            if let Some(k) = number(&n) {
                by_number.entry(k).or_default().push(n);
            }
        }
        for (k, files) in &by_number {
            assert_eq!(
                files.len(),
                1,
                "session {session}: number {k} reused: {files:?}"
            );
        }
        for n in &names {
            assert!(mem.exists(&Path::new("/db").join(n)).unwrap(), "{n} kept");
        }
    }
}
