//! The keyword arguments of `groupkv.DB(...)` and of the writes: converters that name the
//! option in every error, and `DEFAULT_OPTIONS`.
//!
//! Every default is read from the core's `Options::default()` ([`defaults`]); no number is
//! repeated here or in the stubs, so Python cannot drift from Rust and C.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use crate::errors::{invalid_argument, py_err, type_error};

/// The core's defaults, built once.
pub(crate) fn defaults() -> &'static groupkv::Options {
    static DEFAULTS: OnceLock<groupkv::Options> = OnceLock::new();
    DEFAULTS.get_or_init(groupkv::Options::default)
}

/// The Python names of the compressions, with the core's value (the order of `COMPRESSIONS`).
pub(crate) const COMPRESSIONS: [(&str, groupkv::Compression); 2] = [
    ("none", groupkv::Compression::None),
    ("snappy", groupkv::Compression::Snappy),
];

fn compression_name(c: groupkv::Compression) -> &'static str {
    COMPRESSIONS
        .iter()
        .find(|(_, k)| *k == c)
        .map_or("none", |(n, _)| n)
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// An int option in `0..=T::MAX`: a bool or a non-int is a `TypeError`; a negative or too
/// large int is an `InvalidArgumentError` (a `ValueError`); each names the option. The range
/// the option really needs is checked by the core at open, with a message naming it too.
fn int_option<T: TryFrom<u64>>(value: &Bound<'_, PyAny>, name: &str) -> PyResult<T> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(type_error(format!(
            "{name} must be an int, not {}",
            type_name(value)
        )));
    }
    let py = value.py();
    if value.lt(0)? {
        return Err(invalid_argument(
            py,
            format!("{name} is {value}; it must not be negative"),
        ));
    }
    value
        .extract::<u64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| invalid_argument(py, format!("{name} is {value}, which is too large")))
}

/// A flag: any object, by its truth value, as Python's own flags take them.
pub(crate) fn flag(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    value.is_truthy()
}

/// `compression`: `"none"` or `"snappy"`.
pub(crate) fn compression(value: &Bound<'_, PyAny>) -> PyResult<groupkv::Compression> {
    let s = value.cast::<PyString>().map_err(|_| {
        type_error(format!(
            "compression must be a str (\"none\" or \"snappy\"), not {}",
            type_name(value)
        ))
    })?;
    let s = s.to_cow()?;
    let s: &str = &s;
    COMPRESSIONS
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            invalid_argument(
                value.py(),
                format!("compression is {s:?}; it must be \"none\" or \"snappy\""),
            )
        })
}

/// `wal_recovery_mode`: one of `WAL_RECOVERY_MODES`.
pub(crate) fn wal_recovery_mode(value: &Bound<'_, PyAny>) -> PyResult<groupkv::WalRecoveryMode> {
    let s = value.cast::<PyString>().map_err(|_| {
        type_error(format!(
            "wal_recovery_mode must be a str (one of WAL_RECOVERY_MODES), not {}",
            type_name(value)
        ))
    })?;
    s.to_cow()?.parse().map_err(py_err(value.py()))
}

/// One converter per int option, each naming its option in its errors (`from_py_with` takes
/// a path, not a closure).
macro_rules! int_options {
    ($($name:ident: $ty:ty,)+) => {
        $(
            pub(crate) fn $name(value: &Bound<'_, PyAny>) -> PyResult<$ty> {
                int_option(value, stringify!($name))
            }
        )+
    };
}

int_options! {
    max_write_batch_group_size_bytes: u64,
    write_thread_max_yield_usec: u64,
    write_thread_slow_yield_usec: u64,
    write_buffer_size: usize,
    max_write_buffer_number: usize,
    level0_file_num_compaction_trigger: usize,
    level0_slowdown_writes_trigger: usize,
    level0_stop_writes_trigger: usize,
    block_size: usize,
    block_restart_interval: usize,
    bloom_bits_per_key: u32,
    block_cache_size: usize,
    max_open_files: usize,
    target_file_size_base: u64,
    max_bytes_for_level_base: u64,
}

/// `DEFAULT_OPTIONS`: every keyword of `DB(...)` with the value it takes when not given, as a
/// read-only mapping (the order of the signature).
pub(crate) fn default_options(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let d = defaults();
    let out = PyDict::new(py);
    out.set_item("create_if_missing", d.create_if_missing)?;
    out.set_item("error_if_exists", d.error_if_exists)?;
    out.set_item(
        "allow_concurrent_memtable_write",
        d.allow_concurrent_memtable_write,
    )?;
    out.set_item("enable_pipelined_write", d.enable_pipelined_write)?;
    out.set_item(
        "max_write_batch_group_size_bytes",
        d.max_write_batch_group_size_bytes,
    )?;
    out.set_item(
        "enable_write_thread_adaptive_yield",
        d.enable_write_thread_adaptive_yield,
    )?;
    out.set_item("write_thread_max_yield_usec", d.write_thread_max_yield_usec)?;
    out.set_item(
        "write_thread_slow_yield_usec",
        d.write_thread_slow_yield_usec,
    )?;
    out.set_item("wal_recovery_mode", d.wal_recovery_mode.name())?;
    out.set_item("allow_mmap_writes", d.allow_mmap_writes)?;
    out.set_item("write_buffer_size", d.write_buffer_size)?;
    out.set_item("max_write_buffer_number", d.max_write_buffer_number)?;
    out.set_item(
        "level0_file_num_compaction_trigger",
        d.level0_file_num_compaction_trigger,
    )?;
    out.set_item(
        "level0_slowdown_writes_trigger",
        d.level0_slowdown_writes_trigger,
    )?;
    out.set_item("level0_stop_writes_trigger", d.level0_stop_writes_trigger)?;
    out.set_item("block_size", d.block_size)?;
    out.set_item("block_restart_interval", d.block_restart_interval)?;
    out.set_item("bloom_bits_per_key", d.bloom_bits_per_key)?;
    out.set_item("block_cache_size", d.block_cache_size)?;
    out.set_item("max_open_files", d.max_open_files)?;
    out.set_item("compression", compression_name(d.compression))?;
    out.set_item("target_file_size_base", d.target_file_size_base)?;
    out.set_item("max_bytes_for_level_base", d.max_bytes_for_level_base)?;
    out.set_item("disable_auto_compactions", d.disable_auto_compactions)?;
    py.import("types")?
        .getattr("MappingProxyType")?
        .call1((out,))
}
