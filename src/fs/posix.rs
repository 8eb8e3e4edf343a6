//! The real file system.
//!
//! A file opened for appending writes into space it has allocated through a shared memory
//! mapping: a copy instead of a `write` system call per append (the call was over a third of
//! the time of a 1-thread `fillseq`). The bytes are in the page cache the moment the copy ends,
//! exactly as after `write`, so they survive a process crash, and `fdatasync` flushes them.
//! Only allocated pages holding nothing but zeros are mapped (appends up to the next page
//! boundary go through `pwrite`), and the mapping is locked in memory (`mlock`, which brings
//! its pages in at once and reports a failure to read one as an error), so its pages are never
//! evicted and a write into them never has to read the disk: the mapping cannot raise `SIGBUS`
//! for a read error. Space that is not allocated is written with `pwrite`, and so is
//! everything once a mapping or its lock is refused (`RLIMIT_MEMLOCK`, a file system without
//! shared mappings).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{compiler_fence, Ordering::SeqCst};
use std::sync::OnceLock;

use memmap2::{MmapMut, MmapOptions};

use super::{FileLock, FileSystem, RandomAccessFile, SequentialFile, WritableFile};

/// The operating system's file system (`write`, `fdatasync`, `flock`).
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixFs;

/// The unit of ordered stores into the mapping (see `copy`): 4 KiB divides the WAL's 32 KiB
/// blocks, so every block boundary is a chunk boundary.
const CHUNK: u64 = 4096;
/// How much allocated space one mapping covers.
const WINDOW: u64 = 1 << 20;
/// The zeros `allocate` writes.
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

struct PosixWritable {
    file: File,
    /// The write position.
    pos: u64,
    /// The file's length as allocated by `allocate` (0: nothing allocated).
    allocated: u64,
    /// A mapping of allocated space holding only zeros: offsets `[start, start + map.len())`.
    window: Option<(u64, MmapMut)>,
    /// A mapping was refused: `pwrite` only.
    no_map: bool,
    /// `sync` was called: the file is being synced, so `allocate` writes its zeros.
    synced: bool,
}

impl PosixWritable {
    fn new(file: File) -> Self {
        PosixWritable {
            file,
            pos: 0,
            allocated: 0,
            window: None,
            no_map: false,
            synced: false,
        }
    }

    /// Maps `[start, ..)` of allocated space; `start` is page-aligned and nothing has been
    /// appended from it on.
    fn map_window(&mut self, start: u64) -> io::Result<()> {
        self.window = None;
        let len = (self.allocated - start).min(WINDOW);
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: the file is this database's own WAL (created here, under the directory's
        // LOCK); nothing truncates it while it is mapped, and the range lies within its
        // allocated length. The mapping is only used through the `MmapMut` slice.
        let map = unsafe {
            MmapOptions::new()
                .offset(start)
                .len(len)
                .map_mut(&self.file)?
        };
        map.lock()?;
        self.window = Some((start, map));
        Ok(())
    }

    /// Writes `data` at the position, which lies within the allocated space, one 4 KiB-aligned
    /// chunk at a time, in order: through the mapped window where it covers the position, else
    /// with `pwrite` until the position reaches a page boundary and a new window can start
    /// there (a page that may hold earlier bytes is not mapped: a fault on it could have to
    /// read the disk).
    ///
    /// A process killed in the middle of a copy leaves whatever bytes the copy had stored, not
    /// necessarily a prefix (`memcpy` stores the ends of a block before its middle). So each
    /// chunk's last byte is stored after the rest of the chunk, and the chunks in order: a
    /// chunk whose last byte is there is whole and so are all chunks before it. A WAL fragment
    /// ends at a block boundary, a chunk boundary too, or at the end of the append, so a torn
    /// fragment ends in a zero followed by zeros, which the WAL reader takes for a torn tail.
    fn copy(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let to_boundary = usize::try_from(CHUNK - self.pos % CHUNK).unwrap_or(usize::MAX);
            let n = data.len().min(to_boundary);
            let (chunk, rest) = data.split_at(n);
            if let Some((start, map)) = &mut self.window {
                let at = self
                    .pos
                    .checked_sub(*start)
                    .and_then(|a| usize::try_from(a).ok());
                if let Some(at) = at.filter(|&a| a + n <= map.len()) {
                    let dest = &mut map[at..at + n];
                    dest[..n - 1].copy_from_slice(&chunk[..n - 1]);
                    compiler_fence(SeqCst);
                    dest[n - 1] = chunk[n - 1];
                    compiler_fence(SeqCst);
                    data = rest;
                    self.pos += n as u64;
                    continue;
                }
            }
            if self.pos % page_size() == 0 && !self.no_map {
                if self.map_window(self.pos).is_ok() {
                    continue;
                }
                self.no_map = true;
            }
            self.file.write_all_at(chunk, self.pos)?;
            data = rest;
            self.pos += n as u64;
        }
        Ok(())
    }
}

/// The system's page size: mapping offsets must be multiples of it.
fn page_size() -> u64 {
    static SIZE: OnceLock<u64> = OnceLock::new();
    *SIZE.get_or_init(|| {
        // SAFETY: sysconf reads a system constant; it touches no memory of ours.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(CHUNK)
    })
}

impl WritableFile for PosixWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let end = self.pos + data.len() as u64;
        if end > self.allocated || self.no_map {
            self.file.write_all_at(data, self.pos)?;
            self.pos = end;
            return Ok(());
        }
        self.copy(data)
    }

    fn sync(&mut self) -> io::Result<()> {
        // fdatasync: the data (written or copied into the mapping) and the size, not the
        // timestamps.
        self.synced = true;
        self.file.sync_data()
    }

    #[cfg(target_os = "linux")]
    fn allocate(&mut self, len: u64) -> io::Result<()> {
        let current = self.file.metadata()?.len();
        if len <= current {
            self.allocated = self.allocated.max(current);
            return Ok(());
        }
        let (offset, extra) = match (i64::try_from(current), i64::try_from(len - current)) {
            (Ok(o), Ok(e)) => (o, e),
            _ => return Err(io::ErrorKind::InvalidInput.into()),
        };
        // Mode 0: reserve the blocks and extend the size (the file offset does not move), so
        // running out of space fails here, at once and whole. Unlike posix_fallocate, never
        // falls back to writing zeros where the file system cannot.
        // SAFETY: fallocate on a descriptor we own; it touches no memory.
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, offset, extra) };
        if rc == 0 {
            // Then, in a file that is being synced, write the zeros: reserved blocks are
            // "unwritten" until data lands in them, and the fdatasync after the first write into
            // one has to record the change, which doubles its latency for a group that crosses
            // into a new block (a 4 KiB group at 32 sync threads: 45 K -> 61 K writes/s with the
            // zeros written, medians of 4). Without syncs the zeros would only cost (fillseq -8 %).
            let mut at = if self.synced { current } else { len };
            while at < len {
                let n = usize::try_from(len - at).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
                self.file.write_all_at(&ZEROS[..n], at)?;
                at += n as u64;
            }
            self.allocated = len;
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

struct PosixRandomAccess(File);

impl RandomAccessFile for PosixRandomAccess {
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        let mut done = 0;
        // pread may return fewer bytes than asked (a signal, a file system's own limit): go on
        // from where it stopped; 0 bytes means the end of the file.
        while done < len {
            let at = offset
                .checked_add(done as u64)
                .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
            match self.0.read_at(&mut buf[done..], at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "read of {len} bytes at offset {offset} passes the end of the file"
                        ),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(buf)
    }

    fn file_size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
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
        // Read access too: a shared writable mapping needs it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(PosixWritable::new(file)))
    }

    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        Ok(Box::new(PosixSequential(File::open(path)?)))
    }

    fn open_random_access(&self, path: &Path) -> io::Result<Box<dyn RandomAccessFile>> {
        Ok(Box::new(PosixRandomAccess(File::open(path)?)))
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
