//! The `groupkv._groupkv` extension module: the Python face of the groupkv core. The public
//! package is `groupkv` (`python/groupkv/__init__.py`), which re-exports everything here.

mod batch;
mod buffer;
mod db;
mod errors;
mod options;
mod pending;
mod reads;

use pyo3::prelude::*;

#[pymodule]
fn _groupkv(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", groupkv::VERSION)?;
    m.add(
        "WAL_RECOVERY_MODES",
        groupkv::WalRecoveryMode::ALL.map(|mode| mode.name()),
    )?;
    m.add("MAX_KEY_VALUE_SIZE", groupkv::write_batch::MAX_KV_LEN)?;
    m.add("COMPRESSIONS", options::COMPRESSIONS.map(|(name, _)| name))?;
    m.add("DEFAULT_OPTIONS", options::default_options(m.py())?)?;
    m.add_class::<db::PyDB>()?;
    m.add_class::<pending::PendingBatch>()?;
    m.add_class::<batch::PyWriteBatch>()?;
    m.add_class::<reads::PyIterator>()?;
    m.add_class::<reads::PySnapshot>()?;
    errors::register(m)?;
    Ok(())
}
