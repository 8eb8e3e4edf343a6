//! An in-memory file system for tests: injects I/O errors and simulates power loss.
//!
//! Durability model: a file's contents as of its last successful `sync` are durable; the changes
//! after it are only "in the page cache", in the order they were made. A power loss keeps a
//! prefix of them (writes tear at a sector boundary: disks write 512-byte sectors whole; an
//! `allocate`, a metadata change, is kept whole or not), or, as real writeback does, any
//! subset of the unsynced 4 KiB pages ([`PowerLoss::DropPages`]). A directory entry (create,
//! rename, remove) is durable once the directory is synced.
//! [`MemFs::power_loss`] throws away everything not durable, and [`MemFs::process_crash`] keeps
//! it all (a killed process loses nothing the OS accepted).

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sync::Mutex;

use super::{FileLock, FileSystem, RandomAccessFile, SequentialFile, WritableFile};

/// The operations a [`Fault`] can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `WritableFile::append`.
    Append,
    /// `WritableFile::sync`.
    Sync,
    /// `WritableFile::allocate`.
    Allocate,
    /// `FileSystem::sync_dir`.
    SyncDir,
    /// `FileSystem::create`.
    Create,
    /// `FileSystem::rename`.
    Rename,
    /// `FileSystem::remove_file`.
    Remove,
    /// `RandomAccessFile::read_at`. A failed read returns an error and no data.
    Read,
}

const KINDS: usize = 8;

fn slot(kind: FaultKind) -> usize {
    match kind {
        FaultKind::Append => 0,
        FaultKind::Sync => 1,
        FaultKind::SyncDir => 2,
        FaultKind::Create => 3,
        FaultKind::Rename => 4,
        FaultKind::Remove => 5,
        FaultKind::Allocate => 6,
        FaultKind::Read => 7,
    }
}

/// An injected I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which operation fails.
    pub kind: FaultKind,
    /// The `nth` operation of that kind since the file system was created fails (1-based).
    pub nth: u64,
    /// The error number, e.g. `libc::EIO` or `libc::ENOSPC`.
    pub errno: i32,
    /// Every later operation of that kind fails too (a dead disk, a full disk).
    pub persistent: bool,
    /// For `Append`: half of the data is written before the error (a short write).
    pub partial: bool,
}

impl Fault {
    /// The `nth` operation of `kind` fails once with `errno`.
    pub fn once(kind: FaultKind, nth: u64, errno: i32) -> Self {
        Fault {
            kind,
            nth,
            errno,
            persistent: false,
            partial: false,
        }
    }
}

/// How [`MemFs::power_loss`] treats writes made since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLoss {
    /// All of them are lost.
    DropUnsynced,
    /// A random prefix of them survives, in write order, cut inside a write at a sector
    /// ([`SECTOR`] bytes) boundary of the file (seeded, so failures reproduce).
    TearUnsynced {
        /// Seed of the choice of tear points.
        seed: u64,
    },
    /// A random prefix survives, and its last byte is garbage.
    TearWithGarbage {
        /// Seed of the choice of tear points and garbage.
        seed: u64,
    },
    /// Writeback out of order: each [`PAGE`]-byte page (aligned in the file) that unsynced
    /// writes touched independently holds its new contents or its old ones (zeros where the
    /// file had nothing durable), whatever the order of the writes. File sizes keep their
    /// unsynced growth (the metadata was committed; the data pages were not).
    DropPages {
        /// Seed of the choice of pages.
        seed: u64,
    },
}

/// The unit [`PowerLoss::TearUnsynced`] tears at: a disk sector.
pub const SECTOR: usize = 512;
/// The unit [`PowerLoss::DropPages`] drops: a page of the page cache.
pub const PAGE: usize = 4096;

#[derive(Debug, Default)]
struct Inode {
    /// The contents as the process sees them.
    data: Vec<u8>,
    /// The contents as of the last sync: what a power loss leaves at least.
    durable: Vec<u8>,
    /// The changes since the last sync, in order.
    unsynced: Vec<Change>,
}

#[derive(Debug)]
enum Change {
    /// Data written at an offset; a power loss can tear it.
    Write(usize, Vec<u8>),
    /// The file grown to a length with zeros (`allocate`): a metadata change, kept whole or
    /// not at all, and never garbage (allocated space reads as zeros).
    Extend(usize),
}

/// Writes `bytes` into `image` at `offset`, growing it (with zeros) as needed.
fn write_at(image: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
    let end = offset + bytes.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[offset..end].copy_from_slice(bytes);
}

impl Inode {
    /// A write at `offset`; it is durable after the next sync.
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        write_at(&mut self.data, offset, bytes);
        self.unsynced.push(Change::Write(offset, bytes.to_vec()));
    }

    /// Grows the file to `len` bytes of zeros, if it is shorter.
    fn extend(&mut self, len: usize) {
        if len > self.data.len() {
            self.data.resize(len, 0);
            self.unsynced.push(Change::Extend(len));
        }
    }

    fn sync(&mut self) {
        for change in self.unsynced.drain(..) {
            apply(&mut self.durable, &change);
        }
    }
}

fn apply(image: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write(offset, bytes) => write_at(image, *offset, bytes),
        Change::Extend(len) => {
            if *len > image.len() {
                image.resize(*len, 0);
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    inodes: Vec<Inode>,
    /// Current directory entries.
    names: BTreeMap<PathBuf, usize>,
    /// Directory entries as of each directory's last sync.
    durable: BTreeMap<PathBuf, usize>,
    dirs: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
    faults: Vec<Fault>,
    counts: [u64; KINDS],
    /// Files every read of which fails, with the error number.
    unreadable: BTreeMap<PathBuf, i32>,
}

impl State {
    /// Counts an operation and returns the injected error, if any.
    fn check(&mut self, kind: FaultKind) -> Option<Fault> {
        let i = slot(kind);
        self.counts[i] += 1;
        let n = self.counts[i];
        self.faults
            .iter()
            .find(|f| f.kind == kind && (f.nth == n || (f.persistent && n > f.nth)))
            .copied()
    }

    fn inode(&self, path: &Path) -> io::Result<usize> {
        self.names.get(path).copied().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} not found", path.display()),
            )
        })
    }
}

/// An in-memory, fault-injecting [`FileSystem`]. Clones share the same files.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

fn injected(f: &Fault) -> io::Error {
    io::Error::from_raw_os_error(f.errno)
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> Self {
        MemFs::default()
    }

    /// Arms `fault`.
    pub fn inject(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        let mut st = self.state.lock();
        st.faults.clear();
        st.unreadable.clear();
    }

    /// Makes every `read_at` of a file opened (before or after this call) under `path` fail
    /// with `errno` until [`MemFs::clear_faults`]. Reads still count as `FaultKind::Read`.
    pub fn fail_reads_of(&self, path: &Path, errno: i32) {
        self.state
            .lock()
            .unreadable
            .insert(path.to_path_buf(), errno);
    }

    /// How many operations of `kind` ran so far.
    pub fn count(&self, kind: FaultKind) -> u64 {
        self.state.lock().counts[slot(kind)]
    }

    /// A killed process: the OS keeps every byte it accepted; only locks are released.
    pub fn process_crash(&self) {
        self.state.lock().locks.clear();
    }

    /// A machine crash: directory entries revert to their last directory sync and every file
    /// loses (or tears) what was written after its last sync. Locks are released.
    pub fn power_loss(&self, how: PowerLoss) {
        let mut st = self.state.lock();
        st.locks.clear();
        st.names = st.durable.clone();
        let mut rng = match how {
            PowerLoss::DropUnsynced => 0,
            PowerLoss::TearUnsynced { seed }
            | PowerLoss::TearWithGarbage { seed }
            | PowerLoss::DropPages { seed } => seed | 1,
        };
        for inode in &mut st.inodes {
            if let PowerLoss::DropPages { .. } = how {
                drop_pages(inode, &mut rng);
                continue;
            }
            // Only written data tears; an extension survives with the first write after it.
            let unsynced: usize = inode
                .unsynced
                .iter()
                .map(|c| match c {
                    Change::Write(_, b) => b.len(),
                    Change::Extend(_) => 0,
                })
                .sum();
            let mut keep = match how {
                PowerLoss::DropUnsynced => 0,
                _ if unsynced == 0 => 0,
                _ => usize::try_from(xorshift(&mut rng) % (unsynced as u64 + 1)).unwrap_or(0),
            };
            let mut image = std::mem::take(&mut inode.durable);
            let mut last = None;
            for change in inode.unsynced.drain(..) {
                if keep == 0 {
                    break;
                }
                if let Change::Write(offset, bytes) = &change {
                    if bytes.is_empty() {
                        continue;
                    }
                    let mut n = bytes.len().min(keep);
                    if n < bytes.len() {
                        // Torn inside this write: at the last sector boundary of the file.
                        n = ((offset + n) / SECTOR * SECTOR).saturating_sub(*offset);
                        keep = 0;
                    } else {
                        keep -= n;
                    }
                    if n > 0 {
                        write_at(&mut image, *offset, &bytes[..n]);
                        last = Some(offset + n - 1);
                    }
                } else {
                    apply(&mut image, &change);
                }
            }
            if let (PowerLoss::TearWithGarbage { .. }, Some(last)) = (how, last) {
                image[last] ^= xorshift(&mut rng).to_le_bytes()[0] | 1;
            }
            inode.data.clone_from(&image);
            inode.durable = image;
        }
    }

    /// The current contents of `path`.
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let st = self.state.lock();
        let i = st.inode(path)?;
        Ok(st.inodes[i].data.clone())
    }

    /// Replaces the contents of `path` (for corruption tests); the new bytes count as synced.
    pub fn overwrite(&self, path: &Path, data: Vec<u8>) -> io::Result<()> {
        let mut st = self.state.lock();
        let i = st.inode(path)?;
        let inode = &mut st.inodes[i];
        inode.durable.clone_from(&data);
        inode.data = data;
        inode.unsynced.clear();
        Ok(())
    }
}

/// [`PowerLoss::DropPages`] for one file: every page an unsynced write touched keeps its new
/// contents or reverts to its durable ones, at random.
fn drop_pages(inode: &mut Inode, rng: &mut u64) {
    let mut dirty = std::collections::BTreeSet::new();
    for change in &inode.unsynced {
        if let Change::Write(offset, bytes) = change {
            if !bytes.is_empty() {
                dirty.extend(offset / PAGE..=(offset + bytes.len() - 1) / PAGE);
            }
        }
    }
    let mut image = std::mem::take(&mut inode.durable);
    image.resize(image.len().max(inode.data.len()), 0);
    for page in dirty {
        if xorshift(rng) & 1 == 1 {
            let range = page * PAGE..((page + 1) * PAGE).min(inode.data.len());
            image[range.clone()].copy_from_slice(&inode.data[range]);
        }
    }
    inode.unsynced.clear();
    inode.data.clone_from(&image);
    inode.durable = image;
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

struct MemWritable {
    state: Arc<Mutex<State>>,
    inode: usize,
    /// The write position.
    pos: usize,
}

impl WritableFile for MemWritable {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Append) {
            if f.partial {
                let half = data.len() / 2;
                st.inodes[self.inode].write(self.pos, &data[..half]);
                self.pos += half;
            }
            return Err(injected(&f));
        }
        st.inodes[self.inode].write(self.pos, data);
        self.pos += data.len();
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Sync) {
            return Err(injected(&f));
        }
        st.inodes[self.inode].sync();
        Ok(())
    }

    fn allocate(&mut self, len: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Allocate) {
            return Err(injected(&f));
        }
        let inode = &mut st.inodes[self.inode];
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        inode.extend(len);
        Ok(())
    }
}

struct MemSequential {
    data: Vec<u8>,
    pos: usize,
}

impl SequentialFile for MemSequential {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct MemRandomAccess {
    state: Arc<Mutex<State>>,
    inode: usize,
    /// The name the file was opened under, for [`MemFs::fail_reads_of`].
    path: PathBuf,
}

impl RandomAccessFile for MemRandomAccess {
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Read) {
            return Err(injected(&f));
        }
        if let Some(&errno) = st.unreadable.get(&self.path) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if len == 0 {
            // As pread: nothing to read, nothing checked.
            return Ok(Vec::new());
        }
        let data = &st.inodes[self.inode].data;
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .filter(|r| r.end <= data.len())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("read of {len} bytes at offset {offset} passes the end of the file"),
                )
            })?;
        Ok(data[range].to_vec())
    }

    fn file_size(&self) -> io::Result<u64> {
        Ok(self.state.lock().inodes[self.inode].data.len() as u64)
    }
}

#[derive(Debug)]
struct MemLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.path);
    }
}

impl FileLock for MemLock {}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl FileSystem for MemFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        for a in dir.ancestors() {
            st.dirs.insert(a.to_path_buf());
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let st = self.state.lock();
        Ok(st.dirs.contains(path) || st.names.contains_key(path))
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        let st = self.state.lock();
        if st.dirs.contains(path) {
            Ok(true)
        } else if st.names.contains_key(path) {
            Ok(false)
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"))
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.state.lock();
        if !st.dirs.contains(dir) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        Ok(st
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Create) {
            return Err(injected(&f));
        }
        if !st.dirs.contains(&parent(path)) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        if st.names.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
        }
        st.inodes.push(Inode::default());
        let inode = st.inodes.len() - 1;
        st.names.insert(path.to_path_buf(), inode);
        Ok(Box::new(MemWritable {
            state: self.state.clone(),
            inode,
            pos: 0,
        }))
    }

    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn SequentialFile>> {
        let st = self.state.lock();
        let i = st.inode(path)?;
        Ok(Box::new(MemSequential {
            data: st.inodes[i].data.clone(),
            pos: 0,
        }))
    }

    fn open_random_access(&self, path: &Path) -> io::Result<Box<dyn RandomAccessFile>> {
        let st = self.state.lock();
        let inode = st.inode(path)?;
        Ok(Box::new(MemRandomAccess {
            state: self.state.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Rename) {
            return Err(injected(&f));
        }
        let i = st.inode(from)?;
        st.names.remove(from);
        st.names.insert(to.to_path_buf(), i);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::Remove) {
            return Err(injected(&f));
        }
        st.inode(path)?;
        st.names.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(f) = st.check(FaultKind::SyncDir) {
            return Err(injected(&f));
        }
        let st = &mut *st;
        st.durable.retain(|p, _| p.parent() != Some(dir));
        for (p, &i) in &st.names {
            if p.parent() == Some(dir) {
                st.durable.insert(p.clone(), i);
            }
        }
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let mut st = self.state.lock();
        if !st.locks.insert(path.to_path_buf()) {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        Ok(Box::new(MemLock {
            state: self.state.clone(),
            path: path.to_path_buf(),
        }))
    }
}
