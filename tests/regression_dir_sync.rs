//! A new database directory is made durable in its parent (issue 11, defect 8): without a sync
//! of the parent, a `sync = true` write into a fresh database could vanish with its directory
//! after a power loss on a file system that does not order directory updates.
#![allow(clippy::unwrap_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use groupkv::fs::{
    Fault, FaultKind, FileLock, FileOptions, FileSystem, MemFs, SequentialFile, WritableFile,
};
use groupkv::{Error, Options, WriteOptions, DB};

/// `MemFs`, recording the directory operations in order.
#[derive(Debug, Default)]
struct Recording {
    inner: MemFs,
    log: Mutex<Vec<String>>,
}

impl Recording {
    fn note(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }
}

impl FileSystem for Recording {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.note(format!("mkdir {}", dir.display()));
        self.inner.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        self.inner.is_dir(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.note(format!("create {}", path.display()));
        self.inner.create(path)
    }
    fn create_with(&self, path: &Path, options: &FileOptions) -> io::Result<Box<dyn WritableFile>> {
        self.note(format!("create {}", path.display()));
        self.inner.create_with(path, options)
    }
    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        self.inner.open_sequential(path)
    }
    fn open_random_access(
        &self,
        path: &Path,
    ) -> io::Result<Box<dyn groupkv::fs::RandomAccessFile>> {
        self.inner.open_random_access(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.note(format!("syncdir {}", dir.display()));
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.inner.lock(path)
    }
}

#[test]
fn a_new_directory_and_its_new_ancestors_are_synced_in_their_parents() {
    let fs = Arc::new(Recording::default());
    fs.inner.create_dir_all(Path::new("/data")).unwrap();
    let db = DB::open(
        "/data/a/b/db",
        Options {
            file_system: fs.clone(),
            ..Options::default()
        },
    )
    .unwrap();
    db.put(&WriteOptions::synced(), b"k", b"v").unwrap();
    let log = fs.log.lock().unwrap().clone();
    let at = |what: &str| {
        log.iter()
            .position(|l| l == what)
            .unwrap_or_else(|| panic!("no `{what}` in {log:#?}"))
    };
    let wal = log
        .iter()
        .position(|l| l.starts_with("create /data/a/b/db/") && l.ends_with(".log"))
        .unwrap_or_else(|| panic!("no WAL created: {log:#?}"));
    // Each new directory's entry is synced in its parent, before the WAL exists; the
    // existing /data's own parent is not touched.
    for parent in ["/data", "/data/a", "/data/a/b"] {
        let sync = at(&format!("syncdir {parent}"));
        assert!(at("mkdir /data/a/b/db") < sync && sync < wal, "{log:#?}");
    }
    assert!(!log.contains(&"syncdir /".to_string()), "{log:#?}");
    // The WAL's own entry is synced in the database directory after it is created.
    // (CURRENT and the first MANIFEST, written first, have their own syncs before it.)
    assert!(
        log[wal..].contains(&"syncdir /data/a/b/db".to_string()),
        "{log:#?}"
    );
    db.close().unwrap();
}

#[test]
fn a_failed_parent_sync_fails_open() {
    let mem = MemFs::new();
    mem.inject(Fault::once(FaultKind::SyncDir, 1, libc::EIO));
    let r = DB::open(
        PathBuf::from("/fresh"),
        Options {
            file_system: Arc::new(mem),
            ..Options::default()
        },
    );
    match r {
        Err(e @ Error::Io { .. }) => assert!(
            e.to_string().contains("syncing directory /"),
            "the error names the parent: {e}"
        ),
        other => panic!("expected Io, got {other:?}"),
    }
}
