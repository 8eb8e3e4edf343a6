//! The file-system operations groupkv performs, behind a trait, so that tests can run the real
//! code on [`MemFs`]: an in-memory file system that injects I/O errors and simulates power
//! loss (every byte not covered by a sync is dropped, torn, or lost with its page).

mod mem;
mod posix;

use std::fmt::Debug;
use std::io;
use std::path::Path;

pub use mem::{Fault, FaultKind, MemFs, PowerLoss, PAGE, SECTOR};
pub use posix::PosixFs;

/// How a file is to be written, for [`FileSystem::create_with`] (RocksDB's `EnvOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// Append through a shared memory mapping of allocated space instead of `pwrite`, where
    /// the file system supports it. A failed store into a mapping is a `SIGBUS`, not an error:
    /// see [`Options::allow_mmap_writes`](crate::Options::allow_mmap_writes). Default: `false`.
    pub allow_mmap_writes: bool,
}

/// A file opened for appending.
pub trait WritableFile: Send {
    /// Writes all of `data` at the write position and moves it past them. The position starts
    /// at 0 and only `append` moves it. When this returns, the bytes are with the OS (they
    /// survive the process), not necessarily on disk.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes the file at least `len` bytes long, the new bytes zeros, without moving the write
    /// position (`fallocate`). Later appends then overwrite allocated space, so an `fdatasync`
    /// after them need not commit a new file size. `Unsupported` where the file system cannot.
    fn allocate(&mut self, len: u64) -> io::Result<()> {
        let _ = len;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Makes everything appended so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
}

/// A file opened for reading from the start.
pub trait SequentialFile: Send {
    /// Reads up to `buf.len()` bytes; 0 means end of file.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A file opened for reads at any offset (tables): `pread`, never a mapping, so an I/O error
/// is an error return and never a `SIGBUS`.
pub trait RandomAccessFile: Send + Sync {
    /// Reads exactly `len` bytes from `offset`. Reading past the end of the file is an
    /// `UnexpectedEof` error: a read never returns fewer bytes than asked for. A read of 0
    /// bytes returns nothing, wherever it is.
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
    /// [`read_at`](Self::read_at) into `buf`, whose contents it replaces: a caller that
    /// recycles buffers saves an allocation per read where the file supports it.
    fn read_at_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
        *buf = self.read_at(offset, len)?;
        Ok(())
    }
    /// The file's length in bytes.
    fn file_size(&self) -> io::Result<u64>;
}

/// A held LOCK file; dropping it releases the lock.
pub trait FileLock: Send + Sync + Debug {}

/// The operations the database performs on its directory.
pub trait FileSystem: Send + Sync + Debug {
    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// True if `path` exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// True if `path` is a directory.
    fn is_dir(&self, path: &Path) -> io::Result<bool>;
    /// The names of the entries in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates `path`, which must not exist, for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Creates `path` like [`create`](Self::create), written as `options` ask. A file system
    /// without a use for the options creates it as `create` does.
    fn create_with(&self, path: &Path, options: &FileOptions) -> io::Result<Box<dyn WritableFile>> {
        let _ = options;
        self.create(path)
    }
    /// Opens `path` for reading.
    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>>;
    /// Opens `path` for reads at any offset. `Unsupported` unless the file system implements
    /// it (both of groupkv's do).
    fn open_random_access(&self, path: &Path) -> io::Result<Box<dyn RandomAccessFile>> {
        let _ = path;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes `dir`'s entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (created if missing); `WouldBlock` if another holder
    /// has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
}
