//! Borrowing the bytes of keys and values without copying: `bytes` directly, anything else
//! through the buffer protocol (`bytearray`, `memoryview`, `mmap`, `array`, numpy arrays...).
//!
//! The buffer protocol joined the limited API only in Python 3.11, so pyo3 does not expose it
//! to an abi3-py39 build. Its two functions and the `Py_buffer` layout have been unchanged since
//! Python 3.3 and are exported by every CPython 3.9+ (they are part of the 3.11 stable ABI
//! precisely because they were already stable), so they are declared here.

use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;

use pyo3::ffi::{PyObject, Py_ssize_t};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::type_error;

#[repr(C)]
struct PyBuffer {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_SIMPLE`: one contiguous run of bytes, no format or shape needed.
const PYBUF_SIMPLE: c_int = 0;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut PyBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBuffer);
}

/// The bytes of a key or value, borrowed from a Python object for as long as `'py` (the GIL)
/// is held. A buffer export is released on drop; while it lasts, a `bytearray` cannot be
/// resized, and nothing else can change it because the GIL is held.
pub(crate) struct Bytes<'a, 'py> {
    slice: &'a [u8],
    view: Option<Box<PyBuffer>>,
    _py: PhantomData<Python<'py>>,
}

impl<'a, 'py> Bytes<'a, 'py> {
    /// Borrows `obj`'s bytes. `what` ("key", "value", "data") names the argument in errors.
    pub(crate) fn borrow(obj: &'a Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(Bytes {
                slice: bytes.as_bytes(),
                view: None,
                _py: PhantomData,
            });
        }
        if obj.is_instance_of::<PyString>() {
            return Err(type_error(format!(
                "{what} must be bytes-like (bytes, bytearray or memoryview), not str; \
                 encode it first, e.g. {what}.encode()"
            )));
        }
        let mut view = Box::new(PyBuffer {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: `obj` is a live object (we hold a reference and the GIL); `view` points to
        // writable memory of the right layout that stays put (boxed) until PyBuffer_Release.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut *view, PYBUF_SIMPLE) };
        if rc != 0 {
            let cause = PyErr::fetch(obj.py());
            let type_name = obj
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".to_owned());
            let err = type_error(format!(
                "{what} must be a contiguous bytes-like object (bytes, bytearray or \
                 memoryview), not {type_name}: {cause}"
            ));
            err.set_cause(obj.py(), Some(cause));
            return Err(err);
        }
        let len = usize::try_from(view.len).unwrap_or(0);
        let slice = if len == 0 || view.buf.is_null() {
            &[][..]
        } else {
            // SAFETY: a successful PyBUF_SIMPLE export is `len` contiguous bytes at `buf`,
            // valid until PyBuffer_Release (in drop, after the last use of `slice`: the slice's
            // lifetime is tied to `self`). The GIL is held for `'py`, so no Python code runs
            // and mutates the bytes while they are borrowed.
            unsafe { std::slice::from_raw_parts(view.buf.cast::<u8>(), len) }
        };
        Ok(Bytes {
            slice,
            view: Some(view),
            _py: PhantomData,
        })
    }

    /// The borrowed bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.slice
    }
}

impl Drop for Bytes<'_, '_> {
    fn drop(&mut self) {
        if let Some(view) = self.view.as_mut() {
            // SAFETY: `view` was filled by a successful PyObject_GetBuffer and is released
            // exactly once; the GIL is held (`'py`).
            unsafe { PyBuffer_Release(&mut **view) };
        }
    }
}
