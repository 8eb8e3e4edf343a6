//! `groupkv.DB` and `groupkv.PendingBatch` (what `DB.batch()` returns).
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
use crate::errors::{closed, invalid_argument, py_err, type_error};

/// Every option `DB(...)` accepts, for the unknown-option error.
const OPTION_NAMES: &str = "create_if_missing, error_if_exists, allow_concurrent_memtable_write, \
     enable_pipelined_write, max_write_batch_group_size_bytes, \
     enable_write_thread_adaptive_yield, write_thread_max_yield_usec, \
     write_thread_slow_yield_usec, wal_recovery_mode, allow_mmap_writes";

/// An open groupkv database.
///
/// ``DB(path, **options)`` opens (or creates) the database in directory ``path`` (``str``,
/// ``bytes`` or ``os.PathLike``) and replays its write-ahead log. Threads may share one ``DB``:
/// concurrent writes are committed together in write groups (one WAL append and at most one
/// ``fdatasync`` per group). Use it as a context manager, or call ``close()``.
///
/// Options (keyword-only): ``create_if_missing`` (True), ``error_if_exists`` (False),
/// ``allow_concurrent_memtable_write`` (True), ``enable_pipelined_write`` (False),
/// ``max_write_batch_group_size_bytes`` (1 MiB, 1..=2**32-1),
/// ``enable_write_thread_adaptive_yield`` (True), ``write_thread_max_yield_usec`` (100),
/// ``write_thread_slow_yield_usec`` (3), ``wal_recovery_mode`` ("point_in_time"; one of
/// ``WAL_RECOVERY_MODES``), ``allow_mmap_writes`` (False: append to the WAL through a memory
/// mapping instead of ``pwrite``; an I/O failure then kills the interpreter with ``SIGBUS``
/// instead of raising, see the README). An unknown option or mode name raises ``ValueError``
/// (``InvalidArgumentError``).
#[pyclass(frozen, module = "groupkv", name = "DB")]
pub(crate) struct PyDB {
    inner: Arc<groupkv::DB>,
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

/// An option that must be an int in 0..2**64: a bool or a negative or huge int is refused with
/// a message naming the range (pyo3's default would accept True and raise OverflowError).
fn non_negative_int(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<pyo3::types::PyBool>()
        || !value.is_instance_of::<pyo3::types::PyInt>()
    {
        return Err(type_error(format!(
            "expected an int, not {}",
            value.get_type().name()?
        )));
    }
    value.extract::<u64>().map_err(|_| {
        invalid_argument(
            value.py(),
            format!("{value} is out of range: this option takes an int in 0..2**64"),
        )
    })
}

#[pymethods]
impl PyDB {
    #[new]
    #[pyo3(signature = (
        path,
        *,
        create_if_missing = true,
        error_if_exists = false,
        allow_concurrent_memtable_write = true,
        enable_pipelined_write = false,
        max_write_batch_group_size_bytes = 1_048_576,
        enable_write_thread_adaptive_yield = true,
        write_thread_max_yield_usec = 100,
        write_thread_slow_yield_usec = 3,
        wal_recovery_mode = "point_in_time",
        allow_mmap_writes = false,
        **unknown_options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        create_if_missing: bool,
        error_if_exists: bool,
        allow_concurrent_memtable_write: bool,
        enable_pipelined_write: bool,
        #[pyo3(from_py_with = non_negative_int)] max_write_batch_group_size_bytes: u64,
        enable_write_thread_adaptive_yield: bool,
        #[pyo3(from_py_with = non_negative_int)] write_thread_max_yield_usec: u64,
        #[pyo3(from_py_with = non_negative_int)] write_thread_slow_yield_usec: u64,
        wal_recovery_mode: &str,
        allow_mmap_writes: bool,
        unknown_options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if let Some(extra) = unknown_options {
            if !extra.is_empty() {
                let names: Vec<String> = extra.keys().iter().map(|k| k.to_string()).collect();
                return Err(invalid_argument(
                    py,
                    format!(
                        "unknown option(s) {}; DB accepts: {OPTION_NAMES}",
                        names.join(", ")
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
            wal_recovery_mode: wal_recovery_mode.parse().map_err(py_err(py))?,
            allow_mmap_writes,
            ..groupkv::Options::default()
        };
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
        sync: bool,
        disable_wal: bool,
        no_slowdown: bool,
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
        sync: bool,
        disable_wal: bool,
        no_slowdown: bool,
    ) -> PyResult<()> {
        let mut batch = groupkv::WriteBatch::new();
        batch
            .delete(Bytes::borrow(key, "key")?.as_slice())
            .map_err(py_err(py))?;
        self.write_batch(py, &batch, write_options(sync, disable_wal, no_slowdown))
    }

    /// Applies ``batch`` atomically: after any crash, and to any reader, all of it or none.
    /// Options as for ``put``. The batch is left unchanged (it may be written again); another
    /// thread must not modify it during the call (that raises ``RuntimeError``).
    #[pyo3(signature = (batch, *, sync = false, disable_wal = false, no_slowdown = false))]
    fn write(
        &self,
        py: Python<'_>,
        batch: PyRef<'_, PyWriteBatch>,
        sync: bool,
        disable_wal: bool,
        no_slowdown: bool,
    ) -> PyResult<()> {
        self.write_batch(
            py,
            batch.inner(),
            write_options(sync, disable_wal, no_slowdown),
        )
    }

    /// The value of ``key`` as ``bytes``, or ``default`` (None) if absent.
    #[pyo3(signature = (key, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match self.lookup(py, key)? {
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

    /// ``del db[key]``: ``delete`` with default options. Unlike ``dict``, deleting an absent
    /// key is not an error: checking first could race with other writers.
    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        self.delete(py, key, false, false, false)
    }

    /// ``key in db``.
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.lookup(py, key)?.is_some())
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
        sync: bool,
        disable_wal: bool,
        no_slowdown: bool,
    ) -> PyResult<PendingBatch> {
        slf.get().check_open(slf.py())?;
        Ok(PendingBatch {
            db: slf.clone().unbind(),
            batch: groupkv::WriteBatch::new(),
            options: write_options(sync, disable_wal, no_slowdown),
            state: BatchState::Open,
        })
    }

    /// The write path's statistics since open: every counter (``write_done_by_self``,
    /// ``write_done_by_other``, ``write_with_wal``, ``wal_syncs``, ``wal_bytes``,
    /// ``keys_written``, ``bytes_written``, ``stall_micros``) as an int, and every histogram
    /// (``write_group_size``, ``write_micros``, ``wal_sync_micros``) as a dict with ``count``,
    /// ``sum``, ``min``, ``max`` (ints) and ``mean``, ``p50``, ``p99``, ``p999`` (floats).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.check_open(py)?;
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

    /// Test hook (not part of the API): turns a write stall on or off. While on, writers wait
    /// and ``no_slowdown`` writes raise ``IncompleteError``.
    fn _set_write_stall_for_test(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        self.check_open(py)?;
        self.inner.set_write_stall_for_test(on);
        Ok(())
    }

    /// Closes the database: waits for in-flight writes, syncs the log, folds the session's
    /// writes into a durable base and releases the directory. Idempotent. Writes racing with
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

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed() {
            return Err(py_err(py)(groupkv::Error::Closed));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BatchState {
    Open,
    Committed,
    Discarded,
}

/// A batch bound to a ``DB``, returned by ``DB.batch()``: it commits when its ``with`` block
/// exits cleanly and is discarded when the block raises. Once finished it raises
/// ``ClosedError``.
#[pyclass(module = "groupkv", name = "PendingBatch")]
pub(crate) struct PendingBatch {
    db: Py<PyDB>,
    batch: groupkv::WriteBatch,
    options: groupkv::WriteOptions,
    state: BatchState,
}

#[pymethods]
impl PendingBatch {
    /// Adds a put of ``key`` = ``value``.
    fn put(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = key.py();
        self.check_open(py)?;
        let k = Bytes::borrow(key, "key")?;
        let v = Bytes::borrow(value, "value")?;
        self.batch
            .put(k.as_slice(), v.as_slice())
            .map_err(py_err(py))
    }

    /// Adds a delete of ``key``.
    fn delete(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = key.py();
        self.check_open(py)?;
        let k = Bytes::borrow(key, "key")?;
        self.batch.delete(k.as_slice()).map_err(py_err(py))
    }

    /// Drops every operation added so far.
    fn clear(&mut self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        self.batch.clear();
        Ok(())
    }

    /// The number of operations added.
    fn __len__(&self) -> usize {
        self.batch.count() as usize
    }

    /// Returns the batch itself.
    fn __enter__(slf: PyRef<'_, Self>) -> PyResult<PyRef<'_, Self>> {
        slf.check_open(slf.py())?;
        Ok(slf)
    }

    /// Commits the batch if the block exited cleanly, discards it otherwise. A failed commit
    /// raises (the batch is then discarded).
    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (exc_value, traceback);
        if self.state != BatchState::Open {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        if exc_type.is_some() {
            self.state = BatchState::Discarded;
            return Ok(());
        }
        self.state = BatchState::Committed;
        let inner = Arc::clone(&self.db.get().inner);
        let options = self.options;
        py.detach(move || inner.write(&options, &batch))
            .map_err(py_err(py))
    }

    fn __repr__(&self) -> String {
        let state = match self.state {
            BatchState::Open => "open",
            BatchState::Committed => "committed",
            BatchState::Discarded => "discarded",
        };
        format!(
            "<groupkv.PendingBatch {} operation(s) {state}>",
            self.batch.count()
        )
    }
}

impl PendingBatch {
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        match self.state {
            BatchState::Open => Ok(()),
            BatchState::Committed => Err(closed(
                py,
                "this batch was already committed; start a new one with db.batch()".to_owned(),
            )),
            BatchState::Discarded => Err(closed(
                py,
                "this batch was discarded (its with block raised); start a new one with \
                 db.batch()"
                    .to_owned(),
            )),
        }
    }
}
