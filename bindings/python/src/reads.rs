//! `groupkv.Iterator` (a plyvel-style cursor) and `groupkv.Snapshot`.
//!
//! The engine's `DbIterator` stands *at* an entry; a plyvel iterator stands *between* two
//! entries, so that `next()` then `prev()` return the same entry. [`Cursor`] keeps the engine
//! iterator at the entry `next()` would return (in the iterator's own direction) or marks the
//! cursor as past the last one (`at_end`); every step is a single engine move, so a scan costs
//! what a LevelDB scan does. Every engine call that may read a file runs with the GIL released.
//!
//! Ranges become the engine's bounds (inclusive lower, exclusive upper): an exclusive `start`
//! is `start + b"\0"` (the smallest key after it), an inclusive `stop` is `stop + b"\0"`, and a
//! prefix is `[prefix, successor(prefix))`, unbounded above when the prefix is all 0xff bytes.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple, PyType};

use crate::buffer::Bytes;
use crate::db::PyDB;
use crate::errors::{closed, py_err};

/// The keyword arguments of `DB.iterator` / `Snapshot.iterator`, converted.
pub(crate) struct IterArgs {
    pub(crate) reverse: bool,
    pub(crate) lower: Option<Vec<u8>>,
    pub(crate) upper: Option<Vec<u8>>,
    pub(crate) include_key: bool,
    pub(crate) include_value: bool,
    pub(crate) verify_checksums: bool,
    pub(crate) fill_cache: bool,
}

fn bytes_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Vec<u8>>> {
    obj.filter(|o| !o.is_none())
        .map(|o| Ok(Bytes::borrow(o, what)?.as_slice().to_vec()))
        .transpose()
}

/// The smallest key greater than every key starting with `prefix`, or `None` if there is
/// none (an empty prefix or one of only 0xff bytes).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last != 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

fn with_zero(mut key: Vec<u8>) -> Vec<u8> {
    key.push(0);
    key
}

/// An inclusive lower and an exclusive upper engine bound.
pub(crate) type Bounds = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The engine bounds for `start`/`stop`/`prefix`; `prefix` with either of the others is a
/// `TypeError`, as in plyvel.
pub(crate) fn bounds(
    start: Option<&Bound<'_, PyAny>>,
    stop: Option<&Bound<'_, PyAny>>,
    include_start: bool,
    include_stop: bool,
    prefix: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bounds> {
    let start = bytes_arg(start, "start")?;
    let stop = bytes_arg(stop, "stop")?;
    if let Some(prefix) = bytes_arg(prefix, "prefix")? {
        if start.is_some() || stop.is_some() {
            return Err(PyTypeError::new_err(
                "'prefix' cannot be combined with 'start' or 'stop'",
            ));
        }
        let upper = prefix_successor(&prefix);
        return Ok((Some(prefix), upper));
    }
    let lower = start.map(|s| if include_start { s } else { with_zero(s) });
    let upper = stop.map(|s| if include_stop { with_zero(s) } else { s });
    Ok((lower, upper))
}

/// Creates the engine iterator with the GIL released (it may open table files).
pub(crate) fn open_iterator(
    py: Python<'_>,
    db: &groupkv::DB,
    snapshot: Option<&groupkv::Snapshot>,
    args: IterArgs,
) -> PyResult<PyIterator> {
    let read = groupkv::ReadOptions {
        snapshot,
        iterate_lower_bound: args.lower,
        iterate_upper_bound: args.upper,
        verify_checksums: args.verify_checksums,
        fill_cache: args.fill_cache,
    };
    let mut it = py.detach(|| db.iter(&read)).map_err(py_err(py))?;
    let reverse = args.reverse;
    py.detach(|| {
        if reverse {
            it.seek_to_last();
        } else {
            it.seek_to_first();
        }
    });
    let at_end = !it.valid();
    it.status().map_err(py_err(py))?;
    Ok(PyIterator {
        cursor: Mutex::new(Some(Cursor {
            it,
            at_end,
            reverse,
        })),
        include_key: args.include_key,
        include_value: args.include_value,
    })
}

/// A position between two entries, in the iterator's direction.
struct Cursor {
    /// At the entry `next()` returns, unless `at_end`.
    it: groupkv::DbIterator,
    /// Past the last entry (in this direction): `next()` raises `StopIteration`.
    at_end: bool,
    reverse: bool,
}

type Entry = (Vec<u8>, Vec<u8>);

impl Cursor {
    fn entry(&self) -> Entry {
        (self.it.key().to_vec(), self.it.value().to_vec())
    }

    fn forward(&mut self) {
        if self.reverse {
            self.it.prev();
        } else {
            self.it.next();
        }
    }

    fn backward(&mut self) {
        if self.reverse {
            self.it.next();
        } else {
            self.it.prev();
        }
    }

    /// To the first entry in this direction.
    fn go_start(&mut self) {
        if self.reverse {
            self.it.seek_to_last();
        } else {
            self.it.seek_to_first();
        }
    }

    /// To the last entry in this direction.
    fn go_last(&mut self) {
        if self.reverse {
            self.it.seek_to_first();
        } else {
            self.it.seek_to_last();
        }
    }

    /// The entry after the cursor, stepping over it; `None` at the end.
    fn next(&mut self) -> groupkv::Result<Option<Entry>> {
        self.it.status()?;
        if self.at_end {
            return Ok(None);
        }
        if !self.it.valid() {
            // Only an error (reported by the status) can leave it invalid here.
            self.it.status()?;
            self.at_end = true;
            return Ok(None);
        }
        let entry = self.entry();
        self.forward();
        self.it.status()?;
        self.at_end = !self.it.valid();
        Ok(Some(entry))
    }

    /// The entry before the cursor, stepping back over it; `None` at the start.
    fn prev(&mut self) -> groupkv::Result<Option<Entry>> {
        self.it.status()?;
        if self.at_end {
            self.go_last();
            self.it.status()?;
            if !self.it.valid() {
                return Ok(None); // empty: the start is the end
            }
            self.at_end = false;
            return Ok(Some(self.entry()));
        }
        self.backward();
        self.it.status()?;
        if !self.it.valid() {
            // We were before the first entry: stay there.
            self.go_start();
            self.it.status()?;
            self.at_end = !self.it.valid();
            return Ok(None);
        }
        Ok(Some(self.entry()))
    }

    fn seek_to_start(&mut self) -> groupkv::Result<()> {
        self.it.status()?;
        self.go_start();
        self.it.status()?;
        self.at_end = !self.it.valid();
        Ok(())
    }

    fn seek_to_stop(&mut self) -> groupkv::Result<()> {
        self.it.status()?;
        self.at_end = true;
        Ok(())
    }

    /// Puts the cursor just before `key` in key order: forward, `next()` returns the first
    /// key >= `key`; in reverse, `next()` returns the last key < `key`.
    fn seek(&mut self, key: &[u8]) -> groupkv::Result<()> {
        self.it.status()?;
        self.it.seek(key);
        if self.reverse {
            if self.it.valid() {
                self.it.prev();
            } else {
                self.it.seek_to_last();
            }
        }
        self.it.status()?;
        self.at_end = !self.it.valid();
        Ok(())
    }
}

/// A cursor over a range of the database, from ``DB.iterator()`` (or ``Snapshot.iterator()``,
/// ``DB.keys()``, ``iter(db)``...). It stands *between* entries: ``next(it)`` returns the
/// entry after it and steps over it, ``it.prev()`` returns the entry before it and steps back
/// (so ``next`` then ``prev`` return the same entry); both raise ``StopIteration`` at their
/// end, as often as they are called. A reverse iterator runs from the largest key down.
/// ``seek(key)`` puts it just before ``key`` in key order, ``seek_to_start()`` before the first
/// entry and ``seek_to_stop()`` after the last. It reads the database as of its creation (or
/// of its snapshot) while writes go on. Entries are ``(key, value)``, ``key`` or ``value``
/// (or ``None``) per ``include_key`` / ``include_value``. ``close()`` (or the ``with`` block)
/// frees what it holds; using it after ``close()`` or after ``db.close()`` raises
/// ``ClosedError``. Not for concurrent use from several threads.
#[pyclass(frozen, module = "groupkv", name = "Iterator")]
pub(crate) struct PyIterator {
    cursor: Mutex<Option<Cursor>>,
    include_key: bool,
    include_value: bool,
}

impl PyIterator {
    /// The cursor, or `RuntimeError` if another thread is using it. Never a blocking lock:
    /// the holder runs the engine with the GIL released and must take the GIL back before it
    /// unlocks, so a thread waiting here with the GIL would deadlock with it.
    fn lock(&self) -> PyResult<MutexGuard<'_, Option<Cursor>>> {
        match self.cursor.try_lock() {
            Ok(guard) => Ok(guard),
            // A panic while holding it cannot leave the cursor half-moved in a way that
            // matters: the next call re-reads its state.
            Err(TryLockError::Poisoned(e)) => Ok(e.into_inner()),
            Err(TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
                "the iterator is in use by another thread; an Iterator is not thread-safe",
            )),
        }
    }

    fn step(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Cursor) -> groupkv::Result<Option<Entry>> + Send,
    ) -> PyResult<Py<PyAny>> {
        let mut guard = self.lock()?;
        let Some(cursor) = guard.as_mut() else {
            return Err(closed(py, "the iterator is closed".to_owned()));
        };
        match py.detach(|| f(cursor)).map_err(py_err(py))? {
            Some(entry) => self.item(py, entry),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    fn reposition(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Cursor) -> groupkv::Result<()> + Send,
    ) -> PyResult<()> {
        let mut guard = self.lock()?;
        let Some(cursor) = guard.as_mut() else {
            return Err(closed(py, "the iterator is closed".to_owned()));
        };
        py.detach(|| f(cursor)).map_err(py_err(py))
    }

    fn item(&self, py: Python<'_>, (key, value): Entry) -> PyResult<Py<PyAny>> {
        Ok(match (self.include_key, self.include_value) {
            (true, true) => PyTuple::new(py, [PyBytes::new(py, &key), PyBytes::new(py, &value)])?
                .into_any()
                .unbind(),
            (true, false) => PyBytes::new(py, &key).into_any().unbind(),
            (false, true) => PyBytes::new(py, &value).into_any().unbind(),
            (false, false) => py.None(),
        })
    }
}

#[pymethods]
impl PyIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The entry after the cursor; the cursor steps over it. ``StopIteration`` at the end.
    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py, Cursor::next)
    }

    /// The entry before the cursor; the cursor steps back over it. ``StopIteration`` at the
    /// start.
    fn prev(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py, Cursor::prev)
    }

    /// Moves the cursor just before ``key`` in key order (clamped to the iterator's range):
    /// ``next()`` then returns the first key at or after ``key`` (the last key before it for a
    /// reverse iterator).
    fn seek(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = Bytes::borrow(key, "key")?.as_slice().to_vec();
        self.reposition(py, move |c| c.seek(&key))
    }

    /// Moves the cursor before the first entry (``next()`` returns it).
    fn seek_to_start(&self, py: Python<'_>) -> PyResult<()> {
        self.reposition(py, Cursor::seek_to_start)
    }

    /// Moves the cursor after the last entry (``prev()`` returns it).
    fn seek_to_stop(&self, py: Python<'_>) -> PyResult<()> {
        self.reposition(py, Cursor::seek_to_stop)
    }

    /// Releases what the iterator holds (its view of the database). Idempotent.
    fn close(&self) -> PyResult<()> {
        let cursor = self.lock()?.take();
        drop(cursor);
        Ok(())
    }

    /// Returns the iterator itself.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the iterator; exceptions from the block propagate.
    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (exc_type, exc_value, traceback);
        self.close()
    }
}

/// A consistent point-in-time view of a database, from ``DB.snapshot()``: its reads
/// (``get``, ``iterator``, ``keys``, ``values``, ``items``, and ``DB.get`` / ``DB.multi_get``
/// with ``snapshot=``) see exactly the writes completed before it was taken, whatever is
/// written, deleted or flushed later. ``sequence`` is the sequence number it reads at.
/// ``close()`` (or the ``with`` block) releases it, letting compactions drop the versions it
/// kept; reads through a closed snapshot, or after ``db.close()``, raise ``ClosedError``.
#[pyclass(frozen, module = "groupkv", name = "Snapshot")]
pub(crate) struct PySnapshot {
    db: Py<PyDB>,
    sequence: u64,
    /// Reads clone the `Arc` and unlock at once (a lock held across a read that released
    /// the GIL could deadlock with a thread holding the GIL); `close()` drops this reference,
    /// and the engine snapshot is released when the last read using it finishes.
    inner: Mutex<Option<Arc<groupkv::Snapshot>>>,
}

impl PySnapshot {
    pub(crate) fn new(db: Py<PyDB>, snapshot: groupkv::Snapshot) -> Self {
        PySnapshot {
            db,
            sequence: snapshot.sequence(),
            inner: Mutex::new(Some(Arc::new(snapshot))),
        }
    }

    pub(crate) fn db(&self) -> &Py<PyDB> {
        &self.db
    }

    fn slot(&self) -> MutexGuard<'_, Option<Arc<groupkv::Snapshot>>> {
        // Held only for a clone or a take, never across a call that releases the GIL.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live snapshot, or `ClosedError` once released.
    pub(crate) fn live(&self, py: Python<'_>) -> PyResult<Arc<groupkv::Snapshot>> {
        self.slot()
            .clone()
            .ok_or_else(|| closed(py, "the snapshot is closed".to_owned()))
    }
}

#[pymethods]
impl PySnapshot {
    /// The sequence number this snapshot reads at (readable after ``close()`` too).
    #[getter]
    fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The value of ``key`` at the snapshot as ``bytes``, or ``default`` (None) if absent.
    #[pyo3(signature = (key, default = None))]
    fn get(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let db = slf.get().db.bind(slf.py());
        PyDB::get(db.get(), slf.py(), key, default, Some(slf.clone()))
    }

    /// ``DB.iterator`` at this snapshot (same keywords, without ``snapshot``).
    #[pyo3(signature = (
        *, reverse = false, start = None, stop = None, include_start = true,
        include_stop = false, prefix = None, include_key = true, include_value = true,
        verify_checksums = true, fill_cache = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn iterator(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::options::flag)] reverse: bool,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::options::flag)] include_start: bool,
        #[pyo3(from_py_with = crate::options::flag)] include_stop: bool,
        prefix: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::options::flag)] include_key: bool,
        #[pyo3(from_py_with = crate::options::flag)] include_value: bool,
        #[pyo3(from_py_with = crate::options::flag)] verify_checksums: bool,
        #[pyo3(from_py_with = crate::options::flag)] fill_cache: bool,
    ) -> PyResult<PyIterator> {
        let (lower, upper) = bounds(start, stop, include_start, include_stop, prefix)?;
        let args = IterArgs {
            reverse,
            lower,
            upper,
            include_key,
            include_value,
            verify_checksums,
            fill_cache,
        };
        let db = slf.get().db.bind(slf.py());
        db.get().iterate(slf.py(), Some(slf.clone()), args)
    }

    /// The keys at the snapshot, lazily, as ``DB.keys``.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn keys(
        slf: &Bound<'_, Self>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::options::flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        view(slf, start, stop, reverse, prefix, true, false)
    }

    /// The values at the snapshot, lazily, in key order, as ``DB.values``.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn values(
        slf: &Bound<'_, Self>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::options::flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        view(slf, start, stop, reverse, prefix, false, true)
    }

    /// The ``(key, value)`` pairs at the snapshot, lazily, as ``DB.items``.
    #[pyo3(signature = (start = None, stop = None, *, reverse = false, prefix = None))]
    fn items(
        slf: &Bound<'_, Self>,
        start: Option<&Bound<'_, PyAny>>,
        stop: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::options::flag)] reverse: bool,
        prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIterator> {
        view(slf, start, stop, reverse, prefix, true, true)
    }

    /// Releases the snapshot. Idempotent. Iterators already made from it keep their view.
    fn close(&self) {
        let snapshot = self.slot().take();
        drop(snapshot);
    }

    /// True once ``close()`` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.slot().is_none()
    }

    /// Returns the snapshot itself.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Releases the snapshot; exceptions from the block propagate.
    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) {
        let _ = (exc_type, exc_value, traceback);
        self.close();
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { " closed" } else { "" };
        format!("<groupkv.Snapshot sequence={}{state}>", self.sequence)
    }
}

fn view(
    slf: &Bound<'_, PySnapshot>,
    start: Option<&Bound<'_, PyAny>>,
    stop: Option<&Bound<'_, PyAny>>,
    reverse: bool,
    prefix: Option<&Bound<'_, PyAny>>,
    include_key: bool,
    include_value: bool,
) -> PyResult<PyIterator> {
    let (lower, upper) = bounds(start, stop, true, false, prefix)?;
    let args = IterArgs {
        reverse,
        lower,
        upper,
        include_key,
        include_value,
        verify_checksums: true,
        fill_cache: true,
    };
    let db = slf.get().db.bind(slf.py());
    db.get().iterate(slf.py(), Some(slf.clone()), args)
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
