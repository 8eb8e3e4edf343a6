//! `groupkv.DB`; `DB.batch()` returns a `PendingBatch` (`pending.rs`).
//!
//! Every call that may wait (for a write group, a WAL sync, the close of in-flight writes) runs
//! with the GIL released, so Python threads writing at once really form write groups. Arguments
//! are converted (and keys/values copied into a batch) while the GIL is held, so no Python
//! object is touched without it.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

use crate::batch::PyWriteBatch;
use crate::buffer::Bytes;
use crate::errors::{invalid_argument, py_err, type_error};
use crate::options::{self as opt, flag};
use crate::pending::PendingBatch;
use crate::reads::{self, IterArgs, PyIterator, PySnapshot};

/// An open groupkv database.
///
/// ``DB(path, **options)`` opens (or creates) the database in directory ``path`` (``str``,
/// ``bytes`` or ``os.PathLike``) and replays its write-ahead log. Threads may share one ``DB``:
/// concurrent writes are committed together in write groups (one WAL append and at most one
/// ``fdatasync`` per group). Use it as a context manager, or call ``close()``.
///
/// Options are keyword-only; each one not given takes its default from the core (all of them
/// are in ``DEFAULT_OPTIONS``). Flags take any truth value. An int option that is not an int
/// raises ``TypeError``, a negative one ``InvalidArgumentError`` (a ``ValueError``); a value
/// out of the option's range, an unknown name or an unknown option raises
/// ``InvalidArgumentError`` naming the option, before anything is created.
///
/// - ``create_if_missing`` (True): create the directory and an empty database.
/// - ``error_if_exists`` (False): refuse a directory that already holds a database.
/// - ``allow_concurrent_memtable_write`` (True): group members insert in parallel.
/// - ``enable_pipelined_write`` (False): overlap one group's WAL write with the previous
///   group's memtable insert.
/// - ``max_write_batch_group_size_bytes`` (1048576 = 1 MiB): the most bytes one write group
///   carries, 1 to 2**32-1.
/// - ``enable_write_thread_adaptive_yield`` (True): waiting writers yield before blocking.
/// - ``write_thread_max_yield_usec`` (100): the longest they yield, in microseconds.
/// - ``write_thread_slow_yield_usec`` (3): a slower yield counts as contended.
/// - ``wal_recovery_mode`` ("point_in_time"): one of ``WAL_RECOVERY_MODES``.
/// - ``allow_mmap_writes`` (False): append to the WAL through a memory mapping instead of
///   ``pwrite``; an I/O failure then kills the interpreter with ``SIGBUS`` instead of
///   raising (see the README).
/// - ``write_buffer_size`` (67108864 = 64 MiB): bytes the memtable collects before it is
///   switched and flushed to a level-0 table; at least 4096.
/// - ``max_write_buffer_number`` (2): the most memtables at once; writes stop while the
///   others wait for their flush; at least 2.
/// - ``level0_file_num_compaction_trigger`` (4): level-0 tables that start a compaction.
/// - ``level0_slowdown_writes_trigger`` (20): level-0 tables from which writes are delayed;
///   at least the compaction trigger.
/// - ``level0_stop_writes_trigger`` (36): level-0 tables from which writes stop; at least the
///   slowdown trigger.
/// - ``block_size`` (4096): uncompressed bytes of a table's data block.
/// - ``block_restart_interval`` (16): keys between restart points in a block.
/// - ``bloom_bits_per_key`` (10): bloom filter bits per key; 0 writes no filter; at most 1000.
/// - ``block_cache_size`` (8388608 = 8 MiB): bytes of table blocks cached; 0 caches nothing.
/// - ``max_open_files`` (1000): table files kept open; at least 20.
/// - ``compression`` ("none"): ``"none"`` or ``"snappy"`` (see ``COMPRESSIONS``) for new
///   tables; both kinds are always readable.
/// - ``target_file_size_base`` (67108864 = 64 MiB): the size at which compaction cuts its
///   output tables.
/// - ``max_bytes_for_level_base`` (268435456 = 256 MiB): level 1's target size; each deeper
///   level's is ten times more.
/// - ``disable_auto_compactions`` (False): compact only on ``compact_range``; the level-0
///   write triggers still apply, so writes stop at ``level0_stop_writes_trigger`` level-0
///   files until a ``compact_range`` empties level 0.
#[pyclass(frozen, module = "groupkv", name = "DB")]
pub(crate) struct PyDB {
    pub(crate) inner: Arc<groupkv::DB>,
    /// `os.fspath(path)` as given: `str` or `bytes`.
    path: Py<PyAny>,
    closed: AtomicBool,
}

fn write_options(sync: bool, disable_wal: bool, no_slowdown: bool) -> groupkv::WriteOptions {
    groupkv::WriteOptions {
        sync,
        disable_wal,
        no_slowdown,
    }
}

/// `os.fsencode(path)` as a `PathBuf`: str (surrogate-escaped names included), bytes and
/// os.PathLike all reach the OS byte-for-byte.
fn to_path_buf(path: &Bound<'_, PyAny>) -> PyResult<(PathBuf, Py<PyAny>)> {
    let py = path.py();
    let os = py.import("os")?;
    let fspath = os.getattr("fspath")?.call1((path,)).map_err(|_| {
        type_error(format!(
            "path must be str, bytes or os.PathLike, not {}",
            path.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let encoded = os.getattr("fsencode")?.call1((&fspath,))?;
    let bytes = encoded.cast::<PyBytes>()?.as_bytes();
    if bytes.is_empty() {
        return Err(invalid_argument(
            py,
            "path is empty; pass the database directory (\".\" for the current one)".to_owned(),
        ));
    }
    if bytes.contains(&0) {
        return Err(invalid_argument(
            py,
            "path contains a NUL byte, which no file name can hold".to_owned(),
        ));
    }
    let buf = PathBuf::from(std::ffi::OsStr::from_bytes(bytes));
    Ok((buf, fspath.unbind()))
}

#[pymethods]
impl PyDB {
    #[new]
    #[pyo3(signature = (
        path,
        *,
        create_if_missing = opt::defaults().create_if_missing,
        error_if_exists = opt::defaults().error_if_exists,
        allow_concurrent_memtable_write = opt::defaults().allow_concurrent_memtable_write,
        enable_pipelined_write = opt::defaults().enable_pipelined_write,
        max_write_batch_group_size_bytes = opt::defaults().max_write_batch_group_size_bytes,
        enable_write_thread_adaptive_yield = opt::defaults().enable_write_thread_adaptive_yield,
        write_thread_max_yield_usec = opt::defaults().write_thread_max_yield_usec,
        write_thread_slow_yield_usec = opt::defaults().write_thread_slow_yield_usec,
        wal_recovery_mode = opt::defaults().wal_recovery_mode,
        allow_mmap_writes = opt::defaults().allow_mmap_writes,
        write_buffer_size = opt::defaults().write_buffer_size,
        max_write_buffer_number = opt::defaults().max_write_buffer_number,
        level0_file_num_compaction_trigger = opt::defaults().level0_file_num_compaction_trigger,
        level0_slowdown_writes_trigger = opt::defaults().level0_slowdown_writes_trigger,
        level0_stop_writes_trigger = opt::defaults().level0_stop_writes_trigger,
        block_size = opt::defaults().block_size,
        block_restart_interval = opt::defaults().block_restart_interval,
        bloom_bits_per_key = opt::defaults().bloom_bits_per_key,
        block_cache_size = opt::defaults().block_cache_size,
        max_open_files = opt::defaults().max_open_files,
        compression = opt::defaults().compression,
        target_file_size_base = opt::defaults().target_file_size_base,
        max_bytes_for_level_base = opt::defaults().max_bytes_for_level_base,
        disable_auto_compactions = opt::defaults().disable_auto_compactions,
        **unknown_options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = opt::flag)] create_if_missing: bool,
        #[pyo3(from_py_with = opt::flag)] error_if_exists: bool,
        #[pyo3(from_py_with = opt::flag)] allow_concurrent_memtable_write: bool,
        #[pyo3(from_py_with = opt::flag)] enable_pipelined_write: bool,
        #[pyo3(from_py_with = opt::max_write_batch_group_size_bytes)]
        max_write_batch_group_size_bytes: u64,
        #[pyo3(from_py_with = opt::flag)] enable_write_thread_adaptive_yield: bool,
        #[pyo3(from_py_with = opt::write_thread_max_yield_usec)] write_thread_max_yield_usec: u64,
        #[pyo3(from_py_with = opt::write_thread_slow_yield_usec)] write_thread_slow_yield_usec: u64,
        #[pyo3(from_py_with = opt::wal_recovery_mode)] wal_recovery_mode: groupkv::WalRecoveryMode,
        #[pyo3(from_py_with = opt::flag)] allow_mmap_writes: bool,
        #[pyo3(from_py_with = opt::write_buffer_size)] write_buffer_size: usize,
        #[pyo3(from_py_with = opt::max_write_buffer_number)] max_write_buffer_number: usize,
        #[pyo3(from_py_with = opt::level0_file_num_compaction_trigger)]
        level0_file_num_compaction_trigger: usize,
        #[pyo3(from_py_with = opt::level0_slowdown_writes_trigger)]
        level0_slowdown_writes_trigger: usize,
        #[pyo3(from_py_with = opt::level0_stop_writes_trigger)] level0_stop_writes_trigger: usize,
        #[pyo3(from_py_with = opt::block_size)] block_size: usize,
        #[pyo3(from_py_with = opt::block_restart_interval)] block_restart_interval: usize,
        #[pyo3(from_py_with = opt::bloom_bits_per_key)] bloom_bits_per_key: u32,
        #[pyo3(from_py_with = opt::block_cache_size)] block_cache_size: usize,
        #[pyo3(from_py_with = opt::max_open_files)] max_open_files: usize,
        #[pyo3(from_py_with = opt::compression)] compression: groupkv::Compression,
        #[pyo3(from_py_with = opt::target_file_size_base)] target_file_size_base: u64,
        #[pyo3(from_py_with = opt::max_bytes_for_level_base)] max_bytes_for_level_base: u64,
        #[pyo3(from_py_with = opt::flag)] disable_auto_compactions: bool,
        unknown_options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if let Some(extra) = unknown_options {
            if !extra.is_empty() {
                let names: Vec<String> = extra.keys().iter().map(|k| k.to_string()).collect();
                let known = opt::default_options(py)?.call_method0("keys")?;
                let known: Vec<String> = known
                    .try_iter()?
                    .map(|k| k.map(|k| k.to_string()))
                    .collect::<PyResult<_>>()?;
                return Err(invalid_argument(
                    py,
                    format!(
                        "unknown option(s) {}; DB accepts: {}",
                        names.join(", "),
                        known.join(", ")
                    ),
                ));
            }
        }
        let options = groupkv::Options {
            create_if_missing,
            error_if_exists,
            allow_concurrent_memtable_write,
            enable_pipelined_write,
            enable_write_thread_adaptive_yield,
            max_write_batch_group_size_bytes,
            write_thread_max_yield_usec,
            write_thread_slow_yield_usec,
            wal_recovery_mode,
            allow_mmap_writes,
            write_buffer_size,
            max_write_buffer_number,
            level0_file_num_compaction_trigger,
            level0_slowdown_writes_trigger,
            level0_stop_writes_trigger,
            block_size,
            block_restart_interval,
            bloom_bits_per_key,
            block_cache_size,
            max_open_files,
            compression,
            target_file_size_base,
            max_bytes_for_level_base,
            disable_auto_compactions,
            ..groupkv::Options::default()
        };
        // Checked before the path is even looked at, so a bad option creates nothing.
        options.validate().map_err(py_err(py))?;
        let (buf, path) = to_path_buf(path)?;
        let db = py
            .detach(move || groupkv::DB::open(buf, options))
            .map_err(py_err(py))?;
        Ok(PyDB {
            inner: Arc::new(db),
            path,
            closed: AtomicBool::new(false),
        })
    }

    /// The directory, as given to the constructor (after ``os.fspath``).
    #[getter]
    fn path(&self, py: Python<'_>) -> Py<PyAny> {
        self.path.clone_ref(py)
    }

    /// True once ``close()`` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sets ``key`` to ``value``. With ``sync=True`` the write survives power loss when this
    /// returns; without, it survives a process crash. ``disable_wal=True`` skips the log: the
    /// write survives only a clean close (and cannot be combined with ``sync``).
    /// ``no_slowdown=True`` raises ``IncompleteError`` instead of waiting out a write stall.
    #[pyo3(signature = (key, value, *, sync = false, disable_wal = false, no_slowdown = false))]
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = flag)] sync: bool,
        #[pyo3(from_py_with = flag)] disable_wal: bool,
        #[pyo3(from_py_with = flag)] no_slowdown: bool,
    ) -> PyResult<()> {
        let mut batch = groupkv::WriteBatch::new();
        {
            let k = Bytes::borrow(key, "key")?;
            let v = Bytes::borrow(value, "value")?;
            batch.put(k.as_slice(), v.as_slice()).map_err(py_err(py))?;
        }
        self.write_batch(py, &batch, write_options(sync, disable_wal, no_slowdown))
    }

    /// Removes ``key``; removing an absent key is not an error. Options as for ``put``.
    #[pyo3(signature = (key, *, sync = false, disable_wal = false, no_slowdown = false))]
    fn delete(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = flag)] sync: bool,
        #[pyo3(from_py_with = flag)] disable_wal: bool,
        #[pyo3(from_py_with = flag)] no_slowdown: bool,
    ) -> PyResult<()> {
        let mut batch = groupkv::WriteBatch::new();
        batch
            .delete(Bytes::borrow(key, "key")?.as_slice())
            .map_err(py_err(py))?;
        self.write_batch(py, &batch, write_options(sync, disable_wal, no_slowdown))
    }

    /// Applies ``batch`` atomically: after any crash, and to any reader, all of it or none.
    /// Options as for ``put``. A ``WriteBatch`` is left unchanged (it may be written again);
    /// another thread must not modify it during the call (that raises ``RuntimeError``).
    ///
    /// ``batch`` may also be what ``db.batch()`` returns (a ``PendingBatch``, itself a
    /// ``WriteBatch``): writing it commits it now, with each flag on if either this call or
    /// ``db.batch()`` asked for it, and finishes it as its ``with`` block would (the block
    /// then commits nothing more; a finished one raises ``ClosedError``). If the write fails,
    /// the pending batch stays open.
    #[pyo3(signature = (batch, *, sync = false, disable_wal = false, no_slowdown = false))]
    fn write(
        &self,
        py: Python<'_>,
        batch: &Bound<'_, PyWriteBatch>,
        #[pyo3(from_py_with = flag)] sync: bool,
        #[pyo3(from_py_with = flag)] disable_wal: bool,
        #[pyo3(from_py_with = flag)] no_slowdown: bool,
    ) -> PyResult<()> {
        let options = write_options(sync, disable_wal, no_slowdown);
        if let Ok(pending) = batch.cast::<PendingBatch>() {
            return PendingBatch::commit(pending.try_borrow_mut()?, &self.inner, Some(options));
        }
        self.write_batch(py, batch.try_borrow()?.inner(), options)
    }

    /// The value of ``key`` as ``bytes``, or ``default`` (None) if absent. With
    /// ``snapshot=``, the value as of that snapshot (of this database).
    #[pyo3(signature = (key, default = None, *, snapshot = None))]
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
        snapshot: Option<Bound<'_, PySnapshot>>,
    ) -> PyResult<Py<PyAny>> {
        let found = match snapshot {
            None => self.lookup(py, key)?,
            Some(snap) => {
                self.check_snapshot(py, &snap)?;
                let key = Bytes::borrow(key, "key")?.as_slice().to_vec();
                let live = snap.get().live(py)?;
                let read = groupkv::ReadOptions {
                    snapshot: Some(&*live),
                    ..groupkv::ReadOptions::default()
                };
                let inner = &self.inner;
                py.detach(|| inner.get_with(&read, &key))
                    .map_err(py_err(py))?
            }
        };
        match found {
            Some(v) => Ok(PyBytes::new(py, &v).into_any().unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// ``db[key]``: the value, or ``KeyError`` if absent.
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyBytes>> {
        match self.lookup(py, key)? {
            Some(v) => Ok(PyBytes::new(py, &v).unbind()),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    /// ``db[key] = value``: ``put`` with default options.
    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.put(py, key, value, false, false, false)
    }

    /// ``del db[key]``: ``delete`` with default options, or ``KeyError`` if the key is absent
    /// (the mapping protocol). That costs a read before the delete, and the two are not one
    /// atomic step: if another thread deletes the key in between, both succeed. ``delete()``
    /// skips the read and never raises for an absent key.
    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.lookup(py, key)?.is_none() {
            return Err(PyKeyError::new_err(key.clone().unbind()));
        }
        self.delete(py, key, false, false, false)
    }

    /// ``key in db``.
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.lookup(py, key)?.is_some())
    }

    /// The values of ``keys`` (an iterable of bytes-like keys) as a list of ``bytes`` or
    /// ``None`` (absent), all read at one sequence, so they are consistent with one another;
    /// with ``snapshot=``, at that snapshot.
    #[pyo3(signature = (keys, *, snapshot = None))]
    fn multi_get(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        snapshot: Option<Bound<'_, PySnapshot>>,
    ) -> PyResult<Vec<Option<Py<PyBytes>>>> {
        let mut owned: Vec<Vec<u8>> = Vec::new();
        for key in keys.try_iter()? {
            owned.push(Bytes::borrow(&key?, "key")?.as_slice().to_vec());
        }
        self.check_open(py)?;
        let values = match snapshot {
            None => {
                let inner = &self.inner;
                py.detach(|| inner.multi_get(&groupkv::ReadOptions::default(), &owned))
            }
            Some(snap) => {
                self.check_snapshot(py, &snap)?;
                let live = snap.get().live(py)?;
                let read = groupkv::ReadOptions {
                    snapshot: Some(&*live),
                    ..groupkv::ReadOptions::default()
                };
                let inner = &self.inner;
                py.detach(|| inner.multi_get(&read, &owned))
            }
        }
        .map_err(py_err(py))?;
        Ok(values
            .into_iter()
            .map(|v| v.map(|v| PyBytes::new(py, &v).unbind()))
            .collect())
    }

    /// A cursor over the database (see ``Iterator``), plyvel's ``DB.iterator``: ``start``
    /// (included unless ``include_start=False``) and ``stop`` (excluded unless
    /// ``include_stop=True``) bound it, or ``prefix`` (not with ``start``/``stop``: that is a
    /// ``TypeError``); ``reverse=True`` runs from the largest key down; entries are
    /// ``(key, value)``, ``key`` or ``value`` per ``include_key`` / ``include_value``;
    /// ``snapshot=`` reads at that snapshot; ``verify_checksums`` and ``fill_cache`` as in
    /// RocksDB's ``ReadOptions``.
    #[pyo3(signature = (
        *, reverse = false, start = None, stop = None, include_start = true,
        include_stop = false, prefix = None, include_key = true, include_value = true,
        snapshot = None, verify_checksums = true, fill_cache = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn iterator(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = flag)] reverse: bool,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = flag)] include_start: bool,
        #[pyo3(from_py_with = flag)] include_stop: bool,
        prefix: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = flag)] include_key: bool,
        #[pyo3(from_py_with = flag)] include_value: bool,
        snapshot: Option<Bound<'_, PySnapshot>>,
        #[pyo3(from_py_with = flag)] verify_checksums: bool,
        #[pyo3(from_py_with = flag)] fill_cache: bool,
    ) -> PyResult<PyIterator> {
        let (lower, upper) = reads::bounds(start, stop, include_start, include_stop, prefix)?;
        let args = IterArgs {
            reverse,
            lower,
            upper,
            include_key,
            include_value,
            verify_checksums,
            fill_cache,
        };
        self.iterate(py, snapshot, args)
    }

    /// ``iter(db)``: the keys in order, lazily (as a ``dict`` iterates its keys).
    fn __iter__(&self, py: Python<'_>) -> PyResult<PyIterator> {
        self.view(py, None, None, false, None, true, false)
    }

    /// The keys from ``start`` (included) to ``stop`` (excluded), or with ``prefix``, lazily;
    /// ``reverse=True`` from the largest down. There is no ``len(db)``: it would be a scan.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn keys(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        self.view(py, start, stop, reverse, prefix, true, false)
    }

    /// The values in key order, as ``keys``.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn values(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        self.view(py, start, stop, reverse, prefix, false, true)
    }

    /// The ``(key, value)`` pairs in key order, as ``keys``.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn items(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        self.view(py, start, stop, reverse, prefix, true, true)
    }

    /// A ``Snapshot`` of the database as of now (use it in a ``with`` block, or ``close()``
    /// it, so compactions can drop the versions it keeps).
    fn snapshot(slf: &Bound<'_, Self>) -> PyResult<PySnapshot> {
        let py = slf.py();
        let db = slf.get();
        db.check_open(py)?;
        Ok(PySnapshot::new(slf.clone().unbind(), db.inner.snapshot()))
    }

    /// A LevelDB-style property as text, or ``None`` for an unknown name:
    /// ``"groupkv.num-files-at-level<N>"``, ``"groupkv.stats"`` (a readable table),
    /// ``"groupkv.sstables"``, ``"groupkv.approximate-memory-usage"``.
    fn property(&self, py: Python<'_>, name: &str) -> PyResult<Option<String>> {
        self.check_open(py)?;
        let inner = &self.inner;
        Ok(py.detach(|| inner.property(name)))
    }

    /// A batch that commits (with these write options) when its ``with`` block exits cleanly
    /// and is discarded when the block raises::
    ///
    ///     with db.batch(sync=True) as b:
    ///         b.put(b"x", b"y")
    ///         b.delete(b"z")
    #[pyo3(signature = (*, sync = false, disable_wal = false, no_slowdown = false))]
    fn batch(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = flag)] sync: bool,
        #[pyo3(from_py_with = flag)] disable_wal: bool,
        #[pyo3(from_py_with = flag)] no_slowdown: bool,
    ) -> PyResult<Py<PendingBatch>> {
        let py = slf.py();
        slf.get().check_open(py)?;
        let options = write_options(sync, disable_wal, no_slowdown);
        PendingBatch::create(py, slf.clone().unbind(), options)
    }

    /// The database's statistics since open, as a dict: every counter as an int (the write
    /// path's ``write_done_by_self``, ``write_done_by_other``, ``write_with_wal``,
    /// ``wal_syncs``, ``wal_bytes``, ``keys_written``, ``bytes_written``, the stall times
    /// ``stall_micros``, ``stall_memtable_micros``, ``stall_l0_slowdown_micros``,
    /// ``stall_l0_stop_micros``, the engine's ``memtable_switches``, ``flushes``,
    /// ``flush_bytes``, ``compactions``, ``compaction_bytes_read``,
    /// ``compaction_bytes_written``, ``block_cache_hit``, ``block_cache_miss``,
    /// ``bloom_useful``, and the gauges ``memtable_bytes`` and ``immutable_memtables``); every
    /// histogram (``write_group_size``, ``write_micros``, ``wal_sync_micros``) as a dict with
    /// ``count``, ``sum``, ``min``, ``max`` (ints) and ``mean``, ``p50``, ``p99``, ``p999``
    /// (floats); and ``num_files_at_level`` / ``bytes_at_level``, lists of ints indexed by
    /// level. Works after ``close()`` too (the figures as of the close), as in C.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.inner.stats();
        let out = PyDict::new(py);
        for (name, value) in stats.counters() {
            out.set_item(name, value)?;
        }
        for (name, h) in stats.histograms() {
            let d = PyDict::new(py);
            d.set_item("count", h.count)?;
            d.set_item("sum", h.sum)?;
            d.set_item("min", h.min)?;
            d.set_item("max", h.max)?;
            d.set_item("mean", h.mean)?;
            d.set_item("p50", h.p50)?;
            d.set_item("p99", h.p99)?;
            d.set_item("p999", h.p999)?;
            out.set_item(name, d)?;
        }
        out.set_item("num_files_at_level", stats.num_files_at_level.clone())?;
        out.set_item("bytes_at_level", stats.bytes_at_level.clone())?;
        Ok(out)
    }

    /// The sequence number of the last write visible to readers.
    fn latest_sequence(&self, py: Python<'_>) -> PyResult<u64> {
        self.check_open(py)?;
        Ok(self.inner.latest_sequence())
    }

    /// Approximate bytes of memory held by the in-memory table.
    fn approximate_memory_usage(&self, py: Python<'_>) -> PyResult<usize> {
        self.check_open(py)?;
        Ok(self.inner.approximate_memory_usage())
    }

    /// Writes every memtable holding data into level-0 tables and returns once they are
    /// recorded in the MANIFEST (their WALs are then deleted); a no-op for an empty memtable.
    /// Releases the GIL while it waits, so other threads keep reading and writing. Raises
    /// ``ClosedError`` after ``close()``, ``PoisonedError`` if an earlier WAL write or flush
    /// failed (reopen), ``groupkv.IOError`` if this flush fails.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        let inner = &self.inner;
        py.detach(|| inner.flush()).map_err(py_err(py))
    }

    /// Compacts the keys from ``start`` to ``stop``, both included (bytes-like, or None for
    /// unbounded on that side; ``compact_range()`` is the whole database): flushes the
    /// memtable, then merges the tables overlapping the range down to the deepest level holding
    /// data in it, dropping overwritten values and deletions no snapshot needs. Returns once
    /// that is done, with the GIL released meanwhile. An empty or reversed range compacts
    /// nothing. Raises ``ClosedError`` after ``close()`` (or if it closes meanwhile),
    /// ``PoisonedError`` if a WAL write, flush or compaction failed (reopen).
    #[pyo3(signature = (start = None, stop = None))]
    fn compact_range(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let copy = |key: Option<&Bound<'_, PyAny>>, what: &str| -> PyResult<Option<Vec<u8>>> {
            key.map(|k| Ok(Bytes::borrow(k, what)?.as_slice().to_vec()))
                .transpose()
        };
        let (start, stop) = (copy(start, "start")?, copy(stop, "stop")?);
        self.check_open(py)?;
        let inner = &self.inner;
        py.detach(|| inner.compact_range(start.as_deref(), stop.as_deref()))
            .map_err(py_err(py))
    }

    /// Test hook (not part of the API): turns a write stall on or off. While on, writers wait
    /// and ``no_slowdown`` writes raise ``IncompleteError``.
    fn _set_write_stall_for_test(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        self.check_open(py)?;
        self.inner.set_write_stall_for_test(on);
        Ok(())
    }

    /// Closes the database: waits for in-flight writes, flushes the memtables to tables, syncs
    /// the log and releases the directory. Idempotent. Writes racing with
    /// ``close`` either complete or raise ``ClosedError``; every later call raises
    /// ``ClosedError``. Raises ``PoisonedError`` (once) if an earlier WAL write failed: nothing
    /// more was written; reopen to recover every acknowledged write.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.closed.store(true, Ordering::Release);
        let inner = &self.inner;
        py.detach(|| inner.close()).map_err(py_err(py))
    }

    /// Returns the database itself.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the database; exceptions from the block propagate.
    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (exc_type, exc_value, traceback);
        self.close(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let path = self.path.bind(py).repr()?;
        let state = if self.closed() { "closed" } else { "open" };
        Ok(format!("<groupkv.DB {path} {state}>"))
    }
}

impl PyDB {
    fn write_batch(
        &self,
        py: Python<'_>,
        batch: &groupkv::WriteBatch,
        options: groupkv::WriteOptions,
    ) -> PyResult<()> {
        let inner = &self.inner;
        py.detach(|| inner.write(&options, batch))
            .map_err(py_err(py))
    }

    fn lookup(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
        let key = Bytes::borrow(key, "key")?.as_slice().to_vec();
        let inner = &self.inner;
        py.detach(|| inner.get(&key)).map_err(py_err(py))
    }

    /// A snapshot taken from another database would read at a meaningless sequence.
    fn check_snapshot(&self, py: Python<'_>, snap: &Bound<'_, PySnapshot>) -> PyResult<()> {
        if !std::ptr::eq(snap.get().db().get(), self) {
            return Err(invalid_argument(
                py,
                "the snapshot belongs to another database".to_owned(),
            ));
        }
        Ok(())
    }

    /// An iterator over this database (at `snapshot`, if given).
    pub(crate) fn iterate(
        &self,
        py: Python<'_>,
        snapshot: Option<Bound<'_, PySnapshot>>,
        args: IterArgs,
    ) -> PyResult<PyIterator> {
        self.check_open(py)?;
        match snapshot {
            None => reads::open_iterator(py, &self.inner, None, args),
            Some(snap) => {
                self.check_snapshot(py, &snap)?;
                let live = snap.get().live(py)?;
                reads::open_iterator(py, &self.inner, Some(&*live), args)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn view(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
        include_key: bool,
        include_value: bool,
    ) -> PyResult<PyIterator> {
        let (lower, upper) = reads::bounds(start, stop, true, false, prefix)?;
        let args = IterArgs {
            reverse,
            lower,
            upper,
            include_key,
            include_value,
            verify_checksums: true,
            fill_cache: true,
        };
        self.iterate(py, None, args)
    }

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed() {
            return Err(py_err(py)(groupkv::Error::Closed));
        }
        Ok(())
    }
}
