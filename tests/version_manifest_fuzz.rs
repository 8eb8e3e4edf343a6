//! MANIFEST replay on hostile bytes: `VersionSet::recover` never panics on any MANIFEST, fails
//! only with `Corruption` or `InvalidArgument`, and on a damaged copy of a real MANIFEST it
//! either fails or yields one of the states the MANIFEST went through (a prefix of its
//! edits): damage never invents a file.
//!
//! `GROUPKV_FUZZ_CASES` sets the cases per property (default 400; `make fuzz` runs 200000).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{FileSystem, MemFs};
use groupkv::version::filename::manifest_file_name;
use groupkv::version::{FileMetaData, VersionEdit, VersionSet, VersionSetOptions};
use groupkv::Error;
use proptest::prelude::*;

/// Cases per property: `GROUPKV_FUZZ_CASES` (`make fuzz` sets 200000), else 400.
fn cases() -> u32 {
    std::env::var("GROUPKV_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

fn dir() -> PathBuf {
    PathBuf::from("/db")
}

type Files = Vec<(usize, u64)>;

fn files_of(vs: &VersionSet) -> Files {
    let mut f: Files = vs
        .current()
        .all_files()
        .map(|(l, f)| (l, f.number))
        .collect();
    f.sort_unstable();
    f
}

/// A database whose MANIFEST holds a snapshot and 8 edits; returns it with the file sets
/// after each record.
fn sample() -> (MemFs, PathBuf, Vec<Files>) {
    let fs = MemFs::new();
    fs.create_dir_all(&dir()).unwrap();
    let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), VersionSetOptions::default());
    vs.create_new_db().unwrap();
    vs.recover().unwrap();
    vs.open_manifest().unwrap();
    let mut states = vec![files_of(&vs)];
    let mut live: Vec<(usize, u64)> = Vec::new();
    for i in 0..8u64 {
        let n = vs.new_file_number();
        let k = format!("k{i}");
        let mut e = VersionEdit::new();
        e.add_file(
            (i % 3) as usize,
            FileMetaData {
                number: n,
                file_size: i,
                smallest: internal_key(k.as_bytes(), 2, ValueKind::Value),
                largest: internal_key(k.as_bytes(), 1, ValueKind::Value),
            },
        )
        .unwrap();
        if i % 3 == 2 {
            let (l, old) = live.remove(0);
            e.remove_file(l, old).unwrap();
        }
        live.push(((i % 3) as usize, n));
        vs.log_and_apply(&mut e).unwrap();
        states.push(files_of(&vs));
    }
    let path = manifest_file_name(&dir(), vs.manifest_file_number());
    (fs, path, states)
}

fn recover(fs: &MemFs) -> groupkv::Result<Files> {
    let mut vs = VersionSet::new(Arc::new(fs.clone()), &dir(), VersionSetOptions::default());
    vs.recover()?;
    Ok(files_of(&vs))
}

fn acceptable(e: &Error) -> bool {
    matches!(e, Error::Corruption { .. } | Error::InvalidArgument { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_bytes_as_a_manifest_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let (fs, path, _) = sample();
        fs.overwrite(&path, bytes).unwrap();
        if let Err(e) = recover(&fs) {
            prop_assert!(acceptable(&e), "{e}");
        }
    }

    #[test]
    fn a_damaged_manifest_fails_or_yields_a_state_it_went_through(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (fs, path, states) = sample();
        let mut bytes = fs.read(&path).unwrap();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        fs.overwrite(&path, bytes).unwrap();
        match recover(&fs) {
            Ok(files) => prop_assert!(states.contains(&files), "invented state {files:?}"),
            Err(e) => prop_assert!(acceptable(&e), "{e}"),
        }
    }
}
