//! Loading the directories under `tests/fixtures/` (bytes earlier layouts really wrote) for a
//! test: copied to a temporary directory on disk, or into a `MemFs`. A test never opens a
//! fixture in place: opening rewrites a directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use groupkv::fs::{FileSystem, MemFs};

/// `tests/fixtures/<set>/<name>`.
fn source(set: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(set)
        .join(name)
}

/// The fixture's file names, sorted (so a `MemFs` load is the same operations every run).
fn names(src: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Fixture `set/name` copied into a fresh temporary directory: the directory's guard and the
/// database's path in it.
pub fn copy_to_disk(set: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let src = source(set, name);
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for n in names(&src) {
        std::fs::copy(src.join(&n), dst.join(&n)).unwrap();
    }
    (tmp, dst)
}

/// A `MemFs` holding fixture `set/name` at `dir`, every file and the directory entry synced
/// (the old code wrote them long ago).
pub fn load_into_memfs(set: &str, name: &str, dir: &Path) -> MemFs {
    let src = source(set, name);
    let mem = MemFs::new();
    mem.create_dir_all(dir).unwrap();
    for n in names(&src) {
        let bytes = std::fs::read(src.join(&n)).unwrap();
        let mut f = mem.create(&dir.join(&n)).unwrap();
        f.append(&bytes).unwrap();
        f.sync().unwrap();
    }
    mem.sync_dir(dir).unwrap();
    mem
}
