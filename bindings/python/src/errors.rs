//! The exception tree, mirroring `groupkv::Error`:
//!
//! ```text
//! Error(Exception)
//! ├── CorruptionError
//! ├── InvalidArgumentError   also a ValueError
//! ├── IOError                also an OSError (errno/strerror set when the OS gave one)
//! │   └── PoisonedError      an earlier WAL write/sync failed; reopen (cause in __cause__)
//! ├── BusyError
//! ├── IncompleteError
//! └── ClosedError
//! ```
//!
//! `create_exception!` takes one base only, so the classes are built with `type(...)` at module
//! initialisation, which also gives the two-base classes their standard-library parent.

use pyo3::exceptions::{PyException, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

struct Classes {
    error: Py<PyType>,
    corruption: Py<PyType>,
    invalid_argument: Py<PyType>,
    io: Py<PyType>,
    poisoned: Py<PyType>,
    busy: Py<PyType>,
    incomplete: Py<PyType>,
    closed: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    doc: &str,
    bases: &[&Bound<'py, PyType>],
) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__doc__", doc)?;
    // OSError's str() would become "[Errno N] strerror" once errno is set; the message is the
    // core's Display text (which already names the OS error), as for every other class.
    ns.set_item(
        "__str__",
        py.get_type::<pyo3::exceptions::PyBaseException>()
            .getattr("__str__")?,
    )?;
    ns.set_item("__module__", "groupkv")?;
    let bases = PyTuple::new(py, bases)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, ns))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    if let Some(c) = CLASSES.get(py) {
        return Ok(c);
    }
    let exception = py.get_type::<PyException>();
    let error = make_class(
        py,
        "Error",
        "Base class of every error groupkv raises.",
        &[&exception],
    )?;
    let e = error.bind(py);
    let io = make_class(
        py,
        "IOError",
        "An operating-system I/O call failed. Also an OSError: `errno` and `strerror` are set \
         when the OS reported an error number.",
        &[e, &py.get_type::<PyOSError>()],
    )?;
    let built = Classes {
        corruption: make_class(
            py,
            "CorruptionError",
            "Stored data (a WAL record, a batch representation) is damaged.",
            &[e],
        )?,
        invalid_argument: make_class(
            py,
            "InvalidArgumentError",
            "groupkv cannot accept an argument (a bad option, an oversized key or value, \
             a handle used in a forked child). Also a ValueError.",
            &[e, &py.get_type::<PyValueError>()],
        )?,
        poisoned: make_class(
            py,
            "PoisonedError",
            "An earlier WAL write or sync failed, so the database refuses every write until it \
             is reopened (reopening recovers every acknowledged write). The original failure is \
             in `__cause__`. A subclass of IOError.",
            &[io.bind(py)],
        )?,
        busy: make_class(
            py,
            "BusyError",
            "The database directory is locked by another open DB, in this or another process.",
            &[e],
        )?,
        incomplete: make_class(
            py,
            "IncompleteError",
            "A no_slowdown write would have had to wait (a write stall).",
            &[e],
        )?,
        closed: make_class(
            py,
            "ClosedError",
            "The DB (or batch) has been closed; open the database again to use it.",
            &[e],
        )?,
        io,
        error,
    };
    Ok(CLASSES.get_or_init(py, || built))
}

/// Adds every exception class to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    for class in [
        &c.error,
        &c.corruption,
        &c.invalid_argument,
        &c.io,
        &c.poisoned,
        &c.busy,
        &c.incomplete,
        &c.closed,
    ] {
        let class = class.bind(py);
        m.add(class.name()?, class)?;
    }
    Ok(())
}

fn instantiate(py: Python<'_>, class: &Py<PyType>, message: String) -> PyErr {
    match class.bind(py).call1((message,)) {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

/// Converts a core error into the matching Python exception; the message is the core's
/// `Display` text.
pub(crate) fn to_py(py: Python<'_>, err: groupkv::Error) -> PyErr {
    let c = match classes(py) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let message = err.to_string();
    match err {
        groupkv::Error::Io { source, .. } => {
            let exc = instantiate(py, &c.io, message);
            if let Some(errno) = source.raw_os_error() {
                let value = exc.value(py);
                // OSError's attributes are plain writable slots: failing to set them only
                // loses detail, so the original exception is raised regardless.
                let _ = value.setattr("errno", errno);
                // Like OSError's own strerror: "Not a directory", without Rust's "(os error 20)".
                let text = source.to_string();
                let suffix = format!(" (os error {errno})");
                let strerror = text.strip_suffix(&suffix).unwrap_or(&text);
                let _ = value.setattr("strerror", strerror);
            }
            exc
        }
        groupkv::Error::Corruption { .. } => instantiate(py, &c.corruption, message),
        groupkv::Error::InvalidArgument { .. } => instantiate(py, &c.invalid_argument, message),
        groupkv::Error::Busy { .. } => instantiate(py, &c.busy, message),
        groupkv::Error::Incomplete { .. } => instantiate(py, &c.incomplete, message),
        groupkv::Error::Closed => instantiate(py, &c.closed, message),
        groupkv::Error::Poisoned { cause } => {
            let exc = instantiate(py, &c.poisoned, message);
            exc.set_cause(py, Some(to_py(py, *cause)));
            exc
        }
        // A variant added to the core later still raises a groupkv.Error.
        _ => instantiate(py, &c.error, message),
    }
}

/// `InvalidArgumentError`, for arguments the binding itself rejects; worded like the core's.
pub(crate) fn invalid_argument(py: Python<'_>, message: String) -> PyErr {
    to_py(py, groupkv::Error::InvalidArgument { message })
}

/// `ClosedError(message)`.
pub(crate) fn closed(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => instantiate(py, &c.closed, message),
        Err(e) => e,
    }
}

/// A `TypeError` for an argument of the wrong type.
pub(crate) fn type_error(message: String) -> PyErr {
    PyTypeError::new_err(message)
}

/// `map_err` helper: `.map_err(py_err(py))`.
pub(crate) fn py_err(py: Python<'_>) -> impl Fn(groupkv::Error) -> PyErr + '_ {
    move |e| to_py(py, e)
}
