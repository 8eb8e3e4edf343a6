//! The real file system.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::{FileLock, FileSystem, SequentialFile, WritableFile};

/// The operating system's file system (`write`, `fdatasync`, `flock`).
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixFs;

struct PosixWritable(File);

impl WritableFile for PosixWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }

    fn sync(&mut self) -> io::Result<()> {
        // fdatasync: the data and the size, not the timestamps.
        self.0.sync_data()
    }

    #[cfg(target_os = "linux")]
    fn allocate(&mut self, len: u64) -> io::Result<()> {
        let current = self.0.metadata()?.len();
        if len <= current {
            return Ok(());
        }
        let (offset, extra) = match (i64::try_from(current), i64::try_from(len - current)) {
            (Ok(o), Ok(e)) => (o, e),
            _ => return Err(io::ErrorKind::InvalidInput.into()),
        };
        // Mode 0: allocate and extend the size; the file offset does not move. Unlike
        // posix_fallocate, never falls back to writing zeros where the file system cannot.
        // SAFETY: fallocate on a descriptor we own; it touches no memory.
        let rc = unsafe { libc::fallocate(self.0.as_raw_fd(), 0, offset, extra) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::ENOSYS) => Err(io::ErrorKind::Unsupported.into()),
            _ => Err(e),
        }
    }
}

struct PosixSequential(File);

impl SequentialFile for PosixSequential {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

#[derive(Debug)]
struct PosixLock(#[allow(dead_code)] File);

impl FileLock for PosixLock {}

impl FileSystem for PosixFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        Ok(fs::metadata(path)?.is_dir())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Box::new(PosixWritable(file)))
    }

    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        Ok(Box::new(PosixSequential(File::open(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // SAFETY: flock on a descriptor we own; it touches no memory.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Box::new(PosixLock(file)))
    }
}
