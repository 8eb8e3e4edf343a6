//! The real file system.
//!
//! A file opened for appending writes with `pwrite` into space it has allocated ahead
//! (`fallocate`, see `wal/writer.rs`): a failure is an `io::Error` that poisons the database,
//! never a signal.
//!
//! Only with [`FileOptions::allow_mmap_writes`] (opt-in) does it write allocated space through
//! a shared memory mapping instead: a copy instead of a `write` system call per append (the
//! call was over a third of the time of a 1-thread `fillseq`). The bytes are in the page cache
//! the moment the copy ends, exactly as after `write`, so they survive a process crash, and
//! `fdatasync` flushes them. Only allocated pages holding nothing but zeros are mapped (appends
//! up to the next page boundary go through `pwrite`), and the mapping is locked in memory
//! (`mlock`), so a store never has to read the disk. But the kernel can still refuse a store
//! into a mapped page, and then the process gets `SIGBUS` instead of an error: the file
//! truncated under the mapping, a file system shut down or remounted read-only after an error,
//! out of space on a copy-on-write file system, NFS. That is why mapping is opt-in. A mapping
//! or lock that is refused (`RLIMIT_MEMLOCK`, a file system without shared mappings) falls back
//! to `pwrite`.
//!
//! The LOCK file is held with an `fcntl` record lock (as LevelDB and RocksDB do, so those and
//! groupkv exclude each other on one directory). Such a lock belongs to the process, is not
//! inherited by `fork()`, and is released when the process closes *any* descriptor of the file;
//! so an in-process registry of locked directories refuses a second lock in the same process
//! before the file is even opened.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::mem::ManuallyDrop;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{compiler_fence, Ordering::SeqCst};
use std::sync::OnceLock;

use crate::sync::Mutex;
use memmap2::{MmapMut, MmapOptions};

use super::{FileLock, FileOptions, FileSystem, RandomAccessFile, SequentialFile, WritableFile};

/// The operating system's file system (`pwrite`, `fdatasync`, `fcntl` locks).
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixFs;

/// The unit of ordered stores into the mapping (see `copy`): 4 KiB divides the WAL's 32 KiB
/// blocks, so every block boundary is a chunk boundary.
const CHUNK: u64 = 4096;
/// The bytes of a chunk stored first: a WAL fragment header (checksum, length, type).
const HEADER_BYTES: usize = crate::wal::format::HEADER_SIZE;
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
    /// Mapping is off (the default) or was refused: `pwrite` only.
    no_map: bool,
    /// `sync` was called: the file is being synced, so `allocate` writes its zeros.
    synced: bool,
}

impl PosixWritable {
    fn new(file: File, options: &FileOptions) -> Self {
        PosixWritable {
            file,
            pos: 0,
            allocated: 0,
            window: None,
            no_map: !options.allow_mmap_writes,
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
        // LOCK) and the range lies within its allocated length; the mapping is only used
        // through the `MmapMut` slice. Should another program truncate the file anyway, a
        // store into the lost range raises SIGBUS: the documented risk of allow_mmap_writes.
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
    /// necessarily a prefix: glibc's `memcpy` stores the first bytes of a 0.5-4 KiB copy last.
    /// So each chunk is stored in three steps, in program order (compiler fences; a kill stops
    /// the thread between instructions, and every store issued before it reaches the page
    /// cache): its first `HEADER_BYTES` (a WAL fragment header where a fragment starts the
    /// chunk: every fragment starts an append or a 32 KiB block, both chunk starts), then the
    /// middle, then the last byte; and the chunks in order. A torn fragment so never shows "zero
    /// header, then data": its header is stored before any of its payload, and a chunk whose
    /// last byte is there is whole, as are all chunks before it.
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
                    store_chunk(&mut map[at..at + n], chunk);
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

/// Copies `src` into `dest` (same length) in three steps, in program order: the first
/// `HEADER_BYTES`, then the middle, then the last byte (see `PosixWritable::copy`). The
/// compiler fences keep the compiler from merging or reordering the steps; the CPU retires the
/// stores in program order as far as a killed process is concerned (all stores issued before
/// the kill reach memory, none after).
fn store_chunk(dest: &mut [u8], src: &[u8]) {
    let n = src.len().min(dest.len());
    let head = n.min(HEADER_BYTES);
    for (d, s) in dest[..head].iter_mut().zip(&src[..head]) {
        // Volatile byte stores: never turned into a `memcpy` call whose order is libc's.
        // SAFETY: `d` is a valid, aligned, exclusive reference to a byte.
        unsafe { std::ptr::write_volatile(d, *s) };
    }
    compiler_fence(SeqCst);
    if n > head + 1 {
        dest[head..n - 1].copy_from_slice(&src[head..n - 1]);
        compiler_fence(SeqCst);
    }
    if n > head {
        dest[n - 1] = src[n - 1];
        compiler_fence(SeqCst);
    }
}

/// The process's file size limit (`RLIMIT_FSIZE`), if it has one.
#[cfg(target_os = "linux")]
fn file_size_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the live struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
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
        if file_size_limit().is_some_and(|limit| len > limit) {
            // fallocate past RLIMIT_FSIZE raises SIGXFSZ (fatal unless ignored) before it
            // fails; allocating ahead must never be what kills the process, so refuse here
            // and let plain appends reach the limit (where a write fails as it would anyway).
            return Err(io::ErrorKind::Unsupported.into());
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
        let mut buf = Vec::new();
        self.read_at_into(offset, len, &mut buf)?;
        Ok(buf)
    }

    fn read_at_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
        // Only the bytes past the buffer's current length are zero-filled: a recycled buffer
        // of about the right length (an evicted block, the readahead window) is overwritten
        // as it is, without the `memset` of every byte first (3.5 % of a cache-missing read).
        // Every byte up to `len` is overwritten below before `Ok` is returned.
        buf.truncate(len);
        buf.resize(len, 0);
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
        Ok(())
    }

    fn file_size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// A held LOCK file: the `fcntl` lock on it and this process's registry entry.
#[derive(Debug)]
struct PosixLock {
    /// Never closed by a process that did not take the lock: closing any descriptor of the
    /// file releases the closing process's own `fcntl` locks on it (see `Drop`).
    file: ManuallyDrop<File>,
    /// The registry key.
    dir: PathBuf,
    /// The process that took the lock.
    pid: u32,
}

impl FileLock for PosixLock {}

impl Drop for PosixLock {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // A forked child dropping its copy of the parent's handle: the lock is the
            // parent's and was never this process's, but closing the descriptor would release
            // a lock this child may have taken since on the same file. Leak the descriptor.
            return;
        }
        // Close before leaving the registry, so a new open in this process cannot take the
        // lock and then lose it to this close.
        // SAFETY: `file` is dropped exactly once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.file) };
        let mut held = locked_dirs().lock();
        if held.get(&self.dir) == Some(&self.pid) {
            held.remove(&self.dir);
        }
    }
}

/// The directories this process holds the LOCK of (canonical path -> pid of the holder). An
/// entry left by the parent of a forked child carries the parent's pid and does not count.
fn locked_dirs() -> &'static Mutex<HashMap<PathBuf, u32>> {
    static DIRS: OnceLock<Mutex<HashMap<PathBuf, u32>>> = OnceLock::new();
    DIRS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Takes a write lock on the whole of `file` (`F_SETLK`, not waiting): `WouldBlock` if another
/// process holds one.
fn fcntl_lock(file: &File) -> io::Result<()> {
    // SAFETY: an all-zero `flock` is a valid value of this plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    // Both constants are small (1 and 0): they fit the C struct's `short` fields.
    fl.l_type = libc::c_short::try_from(libc::F_WRLCK)
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    fl.l_whence = libc::c_short::try_from(libc::SEEK_SET)
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    fl.l_start = 0;
    fl.l_len = 0; // to the end of the file, however long
                  // SAFETY: fcntl on a descriptor we own with a pointer to a live, initialized `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EAGAIN) => Err(io::ErrorKind::WouldBlock.into()),
        _ => Err(e),
    }
}

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
        self.create_with(path, &FileOptions::default())
    }

    fn create_with(&self, path: &Path, options: &FileOptions) -> io::Result<Box<dyn WritableFile>> {
        // Read access too: a shared writable mapping needs it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(PosixWritable::new(file, options)))
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
        // The registry first: opening (and then closing) the file while this process holds its
        // lock would release the lock.
        let parent = path.parent().unwrap_or(Path::new("."));
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let dir = fs::canonicalize(parent)?.join(path.file_name().unwrap_or_default());
        let pid = std::process::id();
        let mut held = locked_dirs().lock();
        if held.get(&dir) == Some(&pid) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        fcntl_lock(&file)?;
        held.insert(dir.clone(), pid);
        Ok(Box::new(PosixLock {
            file: ManuallyDrop::new(file),
            dir,
            pid,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy killed at its first store past the header must already have stored the header:
    /// the destination's first `HEADER_BYTES` lie on a writable page, the rest on a page a
    /// forked child makes read-only before copying, so the child dies (SIGSEGV) exactly at the
    /// first store beyond the header, like a process killed at that instruction. glibc's
    /// `memcpy` of 0.5-4 KiB stores its first bytes last, so a plain copy fails this.
    #[test]
    fn a_chunk_cut_after_its_header_has_its_header() {
        let page = usize::try_from(page_size()).unwrap_or(4096);
        for size in [64usize, 300, 700, 1500, 2000, 4095, 4096] {
            // SAFETY: an anonymous shared mapping of two pages, checked for failure; only used
            // through the raw pointer below and unmapped at the end.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    2 * page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(base, libc::MAP_FAILED);
            let base = base.cast::<u8>();
            let src: Vec<u8> = (0..size)
                .map(|i| u8::try_from(i % 251).unwrap_or(0) | 1)
                .collect();
            // SAFETY: fork in a test; the child only calls mprotect, copies into the mapping
            // and exits without returning to the harness.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                // SAFETY: the second page is ours; the destination spans [page - 7, ..), inside
                // the two pages for every size above.
                unsafe {
                    libc::mprotect(base.add(page).cast(), page, libc::PROT_READ);
                    let dest = std::slice::from_raw_parts_mut(base.add(page - HEADER_BYTES), size);
                    store_chunk(dest, &src);
                    libc::_exit(0);
                }
            }
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
                "size {size}: the child should die at its first store past the header"
            );
            // SAFETY: the first page is readable and holds the destination's header bytes.
            let head =
                unsafe { std::slice::from_raw_parts(base.add(page - HEADER_BYTES), HEADER_BYTES) };
            assert_eq!(
                head,
                &src[..HEADER_BYTES],
                "size {size}: the header must be stored before any later byte"
            );
            // SAFETY: unmapping the mapping made above.
            unsafe { libc::munmap(base.cast(), 2 * page) };
        }
    }
}
