//! `groupkv.WriteBatch`: puts and deletes applied atomically by `DB.write`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};

use crate::buffer::Bytes;
use crate::errors::py_err;

/// `("put", key, value)` or `("delete", key, None)`.
type RecordTuple<'py> = (
    &'static str,
    Bound<'py, PyBytes>,
    Option<Bound<'py, PyBytes>>,
);

/// An ordered group of puts and deletes that ``DB.write`` applies atomically.
///
/// ``data()`` is the LevelDB/RocksDB-compatible byte representation (8-byte sequence, 4-byte
/// count, then the records); ``WriteBatch.from_data`` validates and parses it back.
/// ``DB.batch()`` returns a ``PendingBatch``, a ``WriteBatch`` bound to its database.
#[pyclass(subclass, module = "groupkv", name = "WriteBatch")]
#[derive(Default)]
pub(crate) struct PyWriteBatch {
    inner: groupkv::WriteBatch,
}

impl PyWriteBatch {
    pub(crate) fn inner(&self) -> &groupkv::WriteBatch {
        &self.inner
    }

    pub(crate) fn inner_mut(&mut self) -> &mut groupkv::WriteBatch {
        &mut self.inner
    }

    pub(crate) fn add_put(
        &mut self,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = Bytes::borrow(key, "key")?;
        let v = Bytes::borrow(value, "value")?;
        self.inner
            .put(k.as_slice(), v.as_slice())
            .map_err(py_err(key.py()))
    }

    pub(crate) fn add_delete(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = Bytes::borrow(key, "key")?;
        self.inner.delete(k.as_slice()).map_err(py_err(key.py()))
    }
}

#[pymethods]
impl PyWriteBatch {
    /// An empty batch.
    #[new]
    fn new() -> Self {
        PyWriteBatch {
            inner: groupkv::WriteBatch::new(),
        }
    }

    /// Adds a put of ``key`` = ``value``. Keys and values longer than 2**32-1 bytes raise
    /// ``InvalidArgumentError`` and leave the batch unchanged.
    fn put(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add_put(key, value)
    }

    /// Adds a delete of ``key``.
    fn delete(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add_delete(key)
    }

    /// Removes every record.
    fn clear(&mut self) {
        self.inner.clear();
    }

    /// The number of records.
    fn __len__(&self) -> usize {
        self.inner.count() as usize
    }

    /// The size in bytes of the representation.
    fn approximate_size(&self) -> usize {
        self.inner.approximate_size()
    }

    /// The records in order, as ``("put", key, value)`` and ``("delete", key, None)`` tuples.
    fn records<'py>(&self, py: Python<'py>) -> Vec<RecordTuple<'py>> {
        self.inner
            .iter()
            .map(|r| match r {
                groupkv::write_batch::Record::Put { key, value } => {
                    ("put", PyBytes::new(py, key), Some(PyBytes::new(py, value)))
                }
                groupkv::write_batch::Record::Delete { key } => {
                    ("delete", PyBytes::new(py, key), None)
                }
            })
            .collect()
    }

    /// The LevelDB/RocksDB-compatible representation of the batch.
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.data())
    }

    /// Parses a representation made by ``data()`` (or by LevelDB/RocksDB). Malformed bytes
    /// raise ``CorruptionError``.
    #[classmethod]
    fn from_data(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let raw = Bytes::borrow(data, "data")?;
        let inner = groupkv::WriteBatch::from_data(raw.as_slice()).map_err(py_err(data.py()))?;
        Ok(PyWriteBatch { inner })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyWriteBatch>() {
            Ok(o) => o.borrow().inner == self.inner,
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "<groupkv.WriteBatch {} record(s), {} bytes>",
            self.inner.count(),
            self.inner.approximate_size()
        )
    }
}
