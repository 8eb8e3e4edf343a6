//! `groupkv.PendingBatch`: what `DB.batch()` returns, a `WriteBatch` bound to its database
//! that commits when its `with` block exits cleanly.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::batch::PyWriteBatch;
use crate::db::PyDB;
use crate::errors::{closed, py_err};

#[derive(Clone, Copy, PartialEq, Eq)]
enum BatchState {
    Open,
    Committed,
    Discarded,
}

/// A batch bound to a ``DB``, returned by ``DB.batch()``: a ``WriteBatch`` that commits
/// (with the write options given to ``batch()``) when its ``with`` block exits cleanly and is
/// discarded when the block raises. ``db.write(b)`` commits it early. Once finished (committed
/// or discarded) adding to it raises ``ClosedError``; its records stay readable.
#[pyclass(extends = PyWriteBatch, module = "groupkv", name = "PendingBatch")]
pub(crate) struct PendingBatch {
    db: Py<PyDB>,
    options: groupkv::WriteOptions,
    state: BatchState,
}

#[pymethods]
impl PendingBatch {
    /// Adds a put of ``key`` = ``value``.
    fn put(
        mut slf: PyRefMut<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        slf.check_open(key.py())?;
        slf.as_super().add_put(key, value)
    }

    /// Adds a delete of ``key``.
    fn delete(mut slf: PyRefMut<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        slf.check_open(key.py())?;
        slf.as_super().add_delete(key)
    }

    /// Drops every operation added so far.
    fn clear(mut slf: PyRefMut<'_, Self>) -> PyResult<()> {
        slf.check_open(slf.py())?;
        slf.as_super().inner_mut().clear();
        Ok(())
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
        mut slf: PyRefMut<'_, Self>,
        exc_type: Option<&Bound<'_, PyType>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (exc_value, traceback);
        if slf.state != BatchState::Open {
            return Ok(());
        }
        if exc_type.is_some() {
            slf.state = BatchState::Discarded;
            return Ok(());
        }
        // A failed commit discards the batch: the block is over, it cannot be retried.
        slf.state = BatchState::Discarded;
        let db = Arc::clone(&slf.db.get().inner);
        Self::commit(slf, &db, None)
    }

    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let state = match slf.state {
            BatchState::Open => "open",
            BatchState::Committed => "committed",
            BatchState::Discarded => "discarded",
        };
        format!(
            "<groupkv.PendingBatch {} operation(s) {state}>",
            slf.as_super().inner().count()
        )
    }
}

impl PendingBatch {
    /// A new open batch bound to `db`, committed with `options`.
    pub(crate) fn create(
        py: Python<'_>,
        db: Py<PyDB>,
        options: groupkv::WriteOptions,
    ) -> PyResult<Py<PendingBatch>> {
        let pending = PendingBatch {
            db,
            options,
            state: BatchState::Open,
        };
        Py::new(
            py,
            PyClassInitializer::from(PyWriteBatch::default()).add_subclass(pending),
        )
    }

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        match self.state {
            BatchState::Open => Ok(()),
            BatchState::Committed => Err(closed(
                py,
                "this batch was already committed; start a new one with db.batch()".to_owned(),
            )),
            BatchState::Discarded => Err(closed(
                py,
                "this batch was discarded (its with block raised, or its commit failed); \
                 start a new one with db.batch()"
                    .to_owned(),
            )),
        }
    }

    /// Writes the batch to `db` with its own options, each flag also on if `extra` sets it,
    /// and marks it committed on success. A batch already finished by a commit raises
    /// `ClosedError`; one marked discarded by `__exit__` just before is written (that is the
    /// block's own commit).
    pub(crate) fn commit(
        mut slf: PyRefMut<'_, Self>,
        db: &Arc<groupkv::DB>,
        extra: Option<groupkv::WriteOptions>,
    ) -> PyResult<()> {
        let py = slf.py();
        if extra.is_some() {
            slf.check_open(py)?;
        }
        let mut options = slf.options;
        if let Some(e) = extra {
            options.sync |= e.sync;
            options.disable_wal |= e.disable_wal;
            options.no_slowdown |= e.no_slowdown;
        }
        // Moved out while the GIL is released, so no Python object is touched meanwhile;
        // put back afterwards so the records stay readable.
        let batch = std::mem::take(slf.as_super().inner_mut());
        let db = Arc::clone(db);
        let (batch, result) = py.detach(move || {
            let result = db.write(&options, &batch);
            (batch, result)
        });
        *slf.as_super().inner_mut() = batch;
        result.map_err(py_err(py))?;
        slf.state = BatchState::Committed;
        Ok(())
    }
}
