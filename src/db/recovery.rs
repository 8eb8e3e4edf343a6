//! Replaying a directory's WALs (and, in a first-layout directory, its base) into a memtable,
//! and quarantining what replay did not take whole. Open (`open.rs`) flushes the result.
//!
//! A base is a snapshot, not a history: it is replayed whole or not at all. Any damage in its
//! records fails the open with `Corruption` in every recovery mode but
//! `skip_any_corrupted_records`, which salvages what is readable. A missing final marker is
//! not damage (see `replay_base`). WALs
//! are replayed under the recovery mode. Whatever recovery did not take whole is quarantined by
//! rename once a table holds what was recovered (see `files.rs`), never removed.

use std::path::{Path, PathBuf};

use super::files::{self, Kind};
use super::interim;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::log::Checksum;
use crate::version::filename::parse_file_name;

use crate::memtable::MemTable;
use crate::options::WalRecoveryMode;
use crate::wal::format::{FIRST_LAYOUT_CHECKSUM, WAL_CHECKSUM};
use crate::wal::reader::{CorruptionKind, Flow};
use crate::wal::Reader;
use crate::write_batch::{sequence_range_ok, WriteBatch};

/// What a directory holds.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) base: Option<u64>,
    /// WALs newer than the base, ascending.
    pub(crate) logs: Vec<u64>,
    /// Files that a completed base made obsolete, and leftover temporaries.
    pub(crate) obsolete: Vec<PathBuf>,
    /// The highest number in use, quarantined files, tables and MANIFESTs included.
    pub(crate) max_number: u64,
    /// The first WAL's marker sets where the sequence starts (a MANIFEST directory: a flush
    /// may have recorded a last sequence past the WALs' start, so nothing is checked against it).
    pub(crate) trust_first_marker: bool,
    /// The checksum every WAL here carries, by the directory's layout (see `wal::format`):
    /// IEEE until open finds a committed MANIFEST, CRC-32C from then on, except a WAL of the
    /// interim layout, recognized by its first record (see `interim.rs`).
    pub(crate) wal_checksum: Checksum,
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
    // Tables and MANIFESTs count too: a crashed open may have left a table its MANIFEST does
    // not name (nothing is created under a name already in use).
    let in_use = names
        .iter()
        .filter_map(|n| files::parse_quarantined(n))
        .chain(
            names
                .iter()
                .filter_map(|n| parse_file_name(n).map(|(n, _)| n)),
        );
    let mut inv = Inventory {
        base: parsed
            .iter()
            .filter(|(_, k)| *k == Kind::Base)
            .map(|(n, _)| *n)
            .max(),
        max_number: in_use.max().unwrap_or(0),
        wal_checksum: FIRST_LAYOUT_CHECKSUM,
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
    /// Files whose contents replay did not take whole: damage of any kind in them (refused
    /// files fail the open instead), or WALs dropped after a point-in-time stop. Quarantined
    /// once the new base is durable, never removed.
    pub(crate) quarantine: Vec<PathBuf>,
}

/// Replays the base and the WALs of `inv` into `mem` under `mode`.
pub(crate) fn replay(
    fs: &dyn FileSystem,
    dir: &Path,
    inv: &Inventory,
    mode: WalRecoveryMode,
    mem: &MemTable,
) -> Result<Replayed> {
    let mut out = Replayed::default();
    let mut next_sequence: u64 = 1;
    if let Some(b) = inv.base {
        let path = files::base_name(dir, b);
        let base = replay_base(fs, &path, mode, mem)?;
        next_sequence = base.next_sequence;
        if base.damaged {
            out.quarantine.push(path);
            out.must_fold = true;
        }
    }
    // Point-in-time: replay stopped at damage; a later file is replayed only if it continues
    // the sequence exactly, which proves nothing acknowledged was lost in between.
    let mut stopped = false;
    // A later WAL did not continue the sequence: it and every WAL after it are dropped.
    let mut dropping = false;
    let mut record = Vec::new();
    // `next_sequence` is where the base (or an empty database, at 1) or the WALs replayed so
    // far end: a WAL's marker must continue it.
    let mut first_log = inv.trust_first_marker;
    for &n in &inv.logs {
        let path = files::log_name(dir, n);
        if dropping {
            out.quarantine.push(path);
            continue;
        }
        let name = file_name(&path);
        let checksum = if inv.wal_checksum == WAL_CHECKSUM {
            interim::wal_checksum(fs, &path)?
        } else {
            inv.wal_checksum
        };
        let file = fs
            .open_sequential(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut reader = Reader::with_checksum(file, name.clone(), mode, checksum);
        let mut first = true;
        while reader.read_record(&mut record)? {
            let offset = reader.last_record_offset();
            let batch = match WriteBatch::from_data(&record) {
                Ok(b) => b,
                Err(e) => {
                    let c = reader.corruption(
                        CorruptionKind::BadBatch,
                        offset,
                        record.len() as u64,
                        e.to_string(),
                    );
                    if reader.damage(c)? == Flow::Stop {
                        break;
                    }
                    continue;
                }
            };
            let (sequence, count) = (batch.sequence(), u64::from(batch.count()));
            if !sequence_range_ok(sequence, count) {
                // Not something a crash leaves: a foreign or forged file. Salvage drops it;
                // every other mode refuses rather than wrap the sequence counter.
                if mode != WalRecoveryMode::SkipAnyCorruptedRecords {
                    return Err(Error::corruption(format!(
                        "WAL {} at offset {offset}: a batch of {count} records at sequence \
                         {sequence} reaches past the largest sequence number (2^56 - 1); \
                         nothing was changed. Open with wal_recovery_mode \
                         skip_any_corrupted_records to drop it",
                        path.display()
                    )));
                }
                let c = reader.corruption(
                    CorruptionKind::BadBatch,
                    offset,
                    record.len() as u64,
                    format!("sequence {sequence} + {count} records is not below 2^56"),
                );
                reader.damage(c)?;
                continue;
            }
            if first && first_log && count == 0 {
                next_sequence = sequence;
            }
            if first && stopped {
                if sequence != next_sequence {
                    dropping = true;
                    break;
                }
                stopped = false;
            }
            if first && count == 0 && sequence != next_sequence {
                // The marker says where this WAL's sequence starts: the WAL before it lost its
                // tail (cut cleanly by a power loss, which no reader sees as damage). Going on
                // would leave a hole.
                match mode {
                    WalRecoveryMode::AbsoluteConsistency => {
                        return Err(Error::corruption(format!(
                            "WAL {} starts at sequence {sequence} but the WALs before it end \
                             at {}: writes between them were lost; nothing was changed. Open \
                             with wal_recovery_mode point_in_time to recover up to the gap",
                            path.display(),
                            next_sequence - 1
                        )));
                    }
                    WalRecoveryMode::SkipAnyCorruptedRecords => {}
                    WalRecoveryMode::PointInTime
                    | WalRecoveryMode::TolerateCorruptedTailRecords => {
                        dropping = true;
                        break;
                    }
                }
            }
            first = false;
            // Nothing tells whether the process that wrote this WAL synced it.
            out.must_fold = true;
            let end = mem.insert_batch(&batch, sequence);
            next_sequence = next_sequence.max(end);
        }
        first_log = false;
        if dropping || reader.first_damage().is_some() {
            out.quarantine.push(path);
            out.must_fold = true;
        }
        if reader.stopped_at().is_some() {
            stopped = true;
        }
    }
    out.last_sequence = next_sequence - 1;
    Ok(out)
}

struct BaseReplay {
    /// The sequence after the base's last.
    next_sequence: u64,
    /// Salvaged: damage was skipped.
    damaged: bool,
}

/// Replays base `path` whole, or fails with `Corruption` naming the first damage, unless
/// `mode` is `SkipAnyCorruptedRecords`, which keeps every readable batch.
fn replay_base(
    fs: &dyn FileSystem,
    path: &Path,
    mode: WalRecoveryMode,
    mem: &MemTable,
) -> Result<BaseReplay> {
    let salvage = mode == WalRecoveryMode::SkipAnyCorruptedRecords;
    let file = fs
        .open_sequential(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    // Read on past damage in every mode: the first damage is reported (refused) or skipped
    // (salvage) below, so the reader itself must never stop early or fail.
    // Bases exist in first-layout directories only.
    let mut reader = Reader::with_checksum(
        file,
        file_name(path),
        WalRecoveryMode::SkipAnyCorruptedRecords,
        FIRST_LAYOUT_CHECKSUM,
    );
    let mut damage = Damage::default();
    let mut next_sequence = 1u64;
    // The sequence the next batch must start at (consecutive, from the first batch).
    let mut expected: Option<u64> = None;
    let mut complete = false;
    let mut record = Vec::new();
    while reader.read_record(&mut record)? {
        let offset = reader.last_record_offset();
        if complete {
            damage.note(offset, "a record after the final marker".into());
        }
        let batch = match WriteBatch::from_data(&record) {
            Ok(b) => b,
            Err(e) => {
                damage.note(offset, e.to_string());
                complete = false;
                continue;
            }
        };
        let (sequence, count) = (batch.sequence(), u64::from(batch.count()));
        if !sequence_range_ok(sequence, count) {
            damage.note(
                offset,
                format!("a batch of {count} records at sequence {sequence} is not below 2^56"),
            );
            complete = false;
            continue;
        }
        if let Some(e) = expected.filter(|&e| e != sequence) {
            damage.note(
                offset,
                format!("sequence {sequence} where {e} was expected"),
            );
        }
        let end = mem.insert_batch(&batch, sequence);
        next_sequence = next_sequence.max(end);
        expected = Some(end);
        complete = count == 0;
    }
    if let Some(c) = reader.first_damage() {
        damage.note(c.offset, c.to_string());
    }
    // A base without its final marker is accepted whole (issue 13's migration policy): a
    // first-layout base is found only under its final name, and it was synced before it was
    // renamed to it, so it is complete; 6983a4f wrote bases without the marker. Damage inside
    // the records is still refused.
    let _ = complete;
    let Some((offset, what)) = damage.first else {
        return Ok(BaseReplay {
            next_sequence,
            damaged: false,
        });
    };
    if !salvage {
        return Err(Error::corruption(format!(
            "base {} is damaged at offset {offset}: {what}. A base holds the whole state and is \
             used whole or not at all, in every recovery mode but skip_any_corrupted_records; \
             nothing was changed. Restore the file, or open with wal_recovery_mode \
             skip_any_corrupted_records to salvage what is readable (the damaged base is then \
             kept as {}{})",
            path.display(),
            file_name(path),
            files::QUARANTINE_SUFFIX
        )));
    }
    Ok(BaseReplay {
        next_sequence,
        damaged: true,
    })
}

/// The damage found first (lowest offset) in a file.
#[derive(Default)]
struct Damage {
    first: Option<(u64, String)>,
}

impl Damage {
    fn note(&mut self, offset: u64, what: String) {
        if self.first.as_ref().map_or(true, |(o, _)| offset < *o) {
            self.first = Some((offset, what));
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Renames each of `paths` to its quarantine name (`files::quarantine_name`), then syncs the
/// directory. An existing quarantined file is never replaced.
pub(crate) fn quarantine(fs: &dyn FileSystem, dir: &Path, paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    for p in paths {
        let mut k = 1;
        let dest = loop {
            let dest = files::quarantine_name(p, k);
            let taken = fs
                .exists(&dest)
                .map_err(|e| Error::io(format!("checking {}", dest.display()), e))?;
            if !taken {
                break dest;
            }
            k += 1;
        };
        fs.rename(p, &dest).map_err(|e| {
            Error::io(
                format!("quarantining {} as {}", p.display(), dest.display()),
                e,
            )
        })?;
    }
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}
