//! Opening a directory: replaying the base and WALs into a memtable, and writing bases.

use std::path::Path;

use super::files::{self, Kind};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::memtable::MemTable;
use crate::options::WalRecoveryMode;
use crate::wal::reader::{CorruptionKind, Flow};
use crate::wal::{Reader, Writer as LogWriter};
use crate::write_batch::{encode_header, WriteBatch};

/// What a directory holds.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) base: Option<u64>,
    /// WALs newer than the base, ascending.
    pub(crate) logs: Vec<u64>,
    /// Files that a completed base made obsolete, and leftover temporaries.
    pub(crate) obsolete: Vec<std::path::PathBuf>,
    pub(crate) max_number: u64,
}

impl Inventory {
    pub(crate) fn is_empty(&self) -> bool {
        self.base.is_none() && self.logs.is_empty()
    }
}

pub(crate) fn inventory(fs: &dyn FileSystem, dir: &Path) -> Result<Inventory> {
    let names = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut parsed: Vec<(u64, Kind)> = names.iter().filter_map(|n| files::parse(n)).collect();
    parsed.sort();
    let mut inv = Inventory {
        base: parsed
            .iter()
            .filter(|(_, k)| *k == Kind::Base)
            .map(|(n, _)| *n)
            .max(),
        ..Inventory::default()
    };
    let base = inv.base.unwrap_or(0);
    for &(n, kind) in &parsed {
        inv.max_number = inv.max_number.max(n);
        match kind {
            Kind::Temp => inv.obsolete.push(files::temp_name(dir, n)),
            Kind::Base if n < base => inv.obsolete.push(files::base_name(dir, n)),
            Kind::Base => {}
            Kind::Log if n < base => inv.obsolete.push(files::log_name(dir, n)),
            Kind::Log => inv.logs.push(n),
        }
    }
    Ok(inv)
}

/// The outcome of replay.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// The last sequence recovered (0 for an empty database).
    pub(crate) last_sequence: u64,
    /// The replayed WALs must be folded into a durable base before anything new is written:
    /// damage was dropped (point-in-time stop, skipped records, tolerated tails), or a WAL
    /// holds records that may be unsynced (a crashed process's tail stays in the page cache
    /// only: a later synced write in a new WAL must not outlive it, or power loss would leave
    /// a hole or take the synced write with the torn old WAL).
    pub(crate) must_fold: bool,
}

/// Replays the base and the WALs of `inv` into `mem` under `mode`.
pub(crate) fn replay(
    fs: &dyn FileSystem,
    dir: &Path,
    inv: &Inventory,
    mode: WalRecoveryMode,
    mem: &MemTable,
) -> Result<Replayed> {
    let mut paths = Vec::new();
    if let Some(b) = inv.base {
        paths.push(files::base_name(dir, b));
    }
    paths.extend(inv.logs.iter().map(|&n| files::log_name(dir, n)));

    let mut next_sequence: u64 = 1;
    let mut out = Replayed::default();
    // Point-in-time: replay stopped at damage; a later file is replayed only if it continues
    // the sequence exactly, which proves nothing acknowledged was lost in between.
    let mut stopped = false;
    let mut record = Vec::new();
    'files: for (i, path) in paths.into_iter().enumerate() {
        let is_base = i == 0 && inv.base.is_some();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = fs
            .open_sequential(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut reader = Reader::new(file, name, mode);
        let mut first = true;
        while reader.read_record(&mut record)? {
            let batch = match WriteBatch::from_data(&record) {
                Ok(b) => b,
                Err(e) => {
                    let c = reader.corruption(
                        CorruptionKind::BadBatch,
                        reader.last_record_offset(),
                        record.len() as u64,
                        e.to_string(),
                    );
                    if reader.damage(c)? == Flow::Stop {
                        break;
                    }
                    continue;
                }
            };
            if first && stopped {
                if batch.sequence() != next_sequence {
                    break 'files;
                }
                stopped = false;
            }
            first = false;
            if !is_base {
                // Nothing tells whether the process that wrote this WAL synced it.
                out.must_fold = true;
            }
            let end = mem.insert_batch(&batch, batch.sequence());
            next_sequence = next_sequence.max(end);
        }
        if reader.stopped_at().is_some() {
            stopped = true;
            out.must_fold = true;
        }
        if !reader.skipped().is_empty() {
            out.must_fold = true;
        }
        if stopped && first {
            // Nothing read from a file after a stop: it proves nothing; keep looking.
            continue;
        }
    }
    out.last_sequence = next_sequence - 1;
    Ok(out)
}

/// Bytes of puts per base record.
const BASE_RECORD_BYTES: usize = 1 << 20;

/// Writes the state of `mem` as of `last_sequence` to base `number`, durably: a temporary
/// file, synced, renamed into place, directory synced. Then removes every older WAL and base.
///
/// The puts get consecutive sequences ending at `last_sequence`, and a final empty batch
/// carries `last_sequence + 1`, so replay resumes the sequence exactly.
pub(crate) fn write_base(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    mem: &MemTable,
    last_sequence: u64,
) -> Result<()> {
    let tmp = files::temp_name(dir, number);
    let io = |what: &str, e| Error::io(format!("{what} base {}", tmp.display()), e);
    let mut live = 0u64;
    mem.for_each_latest(last_sequence, |_, v| live += u64::from(v.is_some()));
    let file = fs.create(&tmp).map_err(|e| io("creating", e))?;
    let mut log = LogWriter::new(file);
    let mut seq = last_sequence + 1 - live;
    let mut batch = WriteBatch::new();
    let mut result: Result<()> = Ok(());
    let mut flush = |batch: &mut WriteBatch, seq: &mut u64| -> Result<()> {
        let header = encode_header(*seq, batch.count());
        log.add_record(&[&header, batch.body()])
            .map_err(|e| io("writing", e))?;
        *seq += u64::from(batch.count());
        batch.clear();
        Ok(())
    };
    mem.for_each_latest(last_sequence, |k, v| {
        if result.is_err() {
            return;
        }
        if let Some(v) = v {
            result = batch.put(k, v);
            if result.is_ok() && batch.approximate_size() >= BASE_RECORD_BYTES {
                result = flush(&mut batch, &mut seq);
            }
        }
    });
    result?;
    // The last batch may be empty: it still records where the sequence resumes.
    flush(&mut batch, &mut seq)?;
    log.sync().map_err(|e| io("syncing", e))?;
    drop(log);
    let dest = files::base_name(dir, number);
    fs.rename(&tmp, &dest).map_err(|e| io("renaming", e))?;
    fs.sync_dir(dir)
        .map_err(|e| io("syncing the directory of", e))?;
    // The base is durable; everything older is obsolete.
    let inv = inventory(fs, dir)?;
    remove_obsolete(fs, dir, &inv.obsolete)
}

pub(crate) fn remove_obsolete(
    fs: &dyn FileSystem,
    dir: &Path,
    paths: &[std::path::PathBuf],
) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    for p in paths {
        fs.remove_file(p)
            .map_err(|e| Error::io(format!("removing obsolete {}", p.display()), e))?;
    }
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}
