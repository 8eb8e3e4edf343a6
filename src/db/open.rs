//! Opening a locked directory through the MANIFEST (storage-engine.md sections 3.3 and 3.9):
//!
//! 1. `CURRENT` → MANIFEST → the version (its tables), the log number and the last sequence;
//!    damage there fails the open with `Corruption` naming the file, and nothing is changed.
//!    Without `CURRENT`, the directory is new, or of the first layout (a base and WALs): it
//!    is read with the first layout's rules.
//! 2. The WALs at or above the log number are replayed under the recovery mode, with the
//!    directory's checksum (CRC-32C once a commit happened, IEEE for the first layout).
//! 3. What was replayed becomes an L0 table, recorded with a new WAL number as the log
//!    number in a new MANIFEST, and `CURRENT` points at it: the commit point. A crash before
//!    it leaves the previous state, which opens the same way.
//! 4. The new WAL starts (its marker carries the next sequence), synced before any write.
//! 5. Then the files nothing needs are deleted (replayed WALs, old MANIFESTs, first-layout
//!    bases), and damaged files replay did not take whole are quarantined.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::compaction::CompactionOptions;
use crate::error::{Error, Result};
use crate::fs::{FileLock, FileOptions, FileSystem};
use crate::memtable::MemTable;
use crate::options::Options;
use crate::stats::Statistics;
use crate::sync::Mutex;
use crate::table::{LruBlockCache, TableCache, TableCacheOptions};
use crate::version::filename::{
    current_file_name, manifest_file_name, parse_file_name, table_file_name, FileType,
};
use crate::version::{VersionSet, VersionSetOptions};
use crate::wal::format::WAL_CHECKSUM;
use crate::write_thread::WriteThread;

use super::compaction_thread::{CompactionContext, CompactionQueue};
use super::error_handler::ErrorHandler;
use super::files;
use super::flush::{run_flush, FlushJob};
use super::flush_job::table_options;
use super::flush_thread::{FlushContext, FlushQueue};
use super::make_room::SvCell;
use super::obsolete::delete_obsolete;
use super::recovery;
use super::snapshot::SnapshotList;
use super::super_version::SuperVersion;
use super::wal_set::{Wal, WalSet};
use super::write_controller::WriteController;
use super::DB;

/// Recovers the directory `path` (locked by `lock`) and starts the flush thread.
pub(super) fn open_locked(
    path: PathBuf,
    options: Options,
    fs: Arc<dyn FileSystem>,
    lock: Box<dyn FileLock>,
    fork_generation: u64,
) -> Result<DB> {
    let mut has_current = fs
        .exists(&current_file_name(&path))
        .map_err(|e| Error::io(format!("checking {}", path.display()), e))?;
    let mut inv = recovery::inventory(fs.as_ref(), &path)?;
    let mut versions = VersionSet::new(Arc::clone(&fs), &path, VersionSetOptions::default());
    // Every number in a file name here (quarantined files and the leftover tables of a job a
    // crash cut short included) is in use before recovery takes one for the new MANIFEST: no
    // file is ever created under a used number, and a leftover counts as older than the live
    // state (deletion would otherwise take it for a running job's output). Recovery and
    // `create_new_db` only ever raise the next file number, and every file this open creates
    // or renames keeps a number counted here or handed out after it.
    versions.mark_file_number_used(inv.max_number);
    let mut created = false;
    if !has_current {
        if inv.is_empty() && !options.create_if_missing {
            return Err(Error::invalid_argument(format!(
                "{} holds no database (set create_if_missing to create one)",
                path.display()
            )));
        }
        if !inv.is_empty() && options.error_if_exists {
            return Err(Error::invalid_argument(format!(
                "a database already exists in {} (error_if_exists is set)",
                path.display()
            )));
        }
        // Tables or MANIFESTs without CURRENT.
        let names = fs
            .list(&path)
            .map_err(|e| Error::io(format!("listing {}", path.display()), e))?;
        let orphans: Vec<PathBuf> = names
            .iter()
            .filter(|n| {
                matches!(
                    parse_file_name(n),
                    Some((_, FileType::Manifest | FileType::Table))
                )
            })
            .map(|n| path.join(n))
            .collect();
        if inv.base.is_some() {
            // A first-layout directory with a base (never beside a MANIFEST of ours): what
            // is beside it was left by a conversion that crashed before writing CURRENT. The
            // conversion starts over; they are kept aside as `.corrupt`, never deleted.
            recovery::quarantine(fs.as_ref(), &path, &orphans)?;
        } else {
            // A new database, or a first-layout one of WALs only: CURRENT and an empty
            // MANIFEST (log number 0) come first, as LevelDB's NewDB, so that from here on
            // a MANIFEST without CURRENT can only mean a lost CURRENT. The only exception is
            // this very step cut short: a lone MANIFEST-000001.
            let stray = manifest_file_name(&path, 1);
            if orphans.len() == 1 && orphans[0] == stray {
                fs.remove_file(&stray)
                    .map_err(|e| Error::io(format!("removing {}", stray.display()), e))?;
            } else if let Some(orphan) = orphans.first() {
                return Err(Error::corruption(format!(
                    "{} is missing but {} exists: the database's CURRENT file was lost; \
                     nothing was changed",
                    current_file_name(&path).display(),
                    orphan.display()
                )));
            }
            versions.create_new_db()?;
            has_current = true;
            created = true;
        }
    }
    if has_current {
        if options.error_if_exists && !created {
            return Err(Error::invalid_argument(format!(
                "a database already exists in {} (error_if_exists is set)",
                path.display()
            )));
        }
        let report = versions.recover()?;
        check_tables_exist(fs.as_ref(), &path, &versions, report.manifest_number)?;
        let log_number = versions.log_number();
        if log_number > 0 {
            // WALs below the log number are in tables; a first-layout base cannot be live.
            inv.base = None;
            inv.logs.retain(|&n| n >= log_number);
            inv.trust_first_marker = true;
            inv.wal_checksum = WAL_CHECKSUM;
        } else if inv.base.is_none() {
            // Log number 0: no open has committed here (any commit records the new WAL's
            // number, and that WAL is created only after it). A new database, or a
            // first-layout one whose conversion stopped after NewDB: its WALs are the first
            // layout's (IEEE).
            inv.trust_first_marker = true;
        }
        // Else a first-layout base beside a MANIFEST that never recorded a log number: the
        // conversion died after a new MANIFEST's snapshot became current but before its edit
        // (the table of the base's contents) was appended. The base is still the live state.
    }

    let memtable = Arc::new(MemTable::new());
    let replayed = recovery::replay(
        fs.as_ref(),
        &path,
        &inv,
        options.wal_recovery_mode,
        &memtable,
    )?;
    let last = replayed.last_sequence.max(versions.last_sequence());

    // The new WAL's number; the file is created once the commit below names it. Created
    // before, a crash before the commit would leave a CRC-32C WAL in a directory whose other
    // WALs are read as the first layout's (IEEE). A committed log number whose WAL does not
    // exist yet is harmless: it only says the WALs below it are in tables.
    let number = versions.new_file_number();

    // What was replayed goes to L0 with the new log number, in a new MANIFEST (the commit
    // point; for a new or first-layout directory, its first MANIFEST and CURRENT).
    let table_options = table_options(&options);
    let versions = Arc::new(Mutex::new(versions));
    let job = FlushJob {
        mem: Arc::clone(&memtable),
        wal_after: number,
        last_sequence: last,
    };
    let stats = Arc::new(Statistics::new());
    let flushed = run_flush(fs.as_ref(), &path, &versions, &job, &table_options, None)?;
    if let Some(f) = &flushed.file {
        stats
            .flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats
            .flush_bytes
            .fetch_add(f.file_size, std::sync::atomic::Ordering::Relaxed);
    }
    // The new WAL, with its marker, durable before anything is written to it.
    let log_path = files::log_name(&path, number);
    let file_options = FileOptions {
        allow_mmap_writes: options.allow_mmap_writes,
    };
    let file = fs
        .create_with(&log_path, &file_options)
        .map_err(|e| Error::io(format!("creating WAL {}", log_path.display()), e))?;
    let mut wal = Wal::create(file, number, last + 1, &log_path)?;
    wal.writer
        .sync()
        .map_err(|e| Error::io(format!("syncing WAL {}", log_path.display()), e))?;
    fs.sync_dir(&path)
        .map_err(|e| Error::io(format!("syncing directory {}", path.display()), e))?;
    // Committed: what replay did not take whole is kept aside, the rest removed.
    recovery::quarantine(fs.as_ref(), &path, &replayed.quarantine)?;
    let legacy: Vec<PathBuf> = inv
        .base
        .map(|b| files::base_name(&path, b))
        .into_iter()
        .chain(inv.obsolete.iter().cloned())
        .filter(|p| !replayed.quarantine.contains(p))
        .collect();
    for p in &legacy {
        fs.remove_file(p)
            .map_err(|e| Error::io(format!("removing obsolete {}", p.display()), e))?;
    }
    let wals = Arc::new(WalSet::new(&path, wal));
    // Leftovers too: tables of a compaction or flush a crash cut short, which no version names.
    delete_obsolete(fs.as_ref(), &path, &versions, &wals, None)?;
    fs.sync_dir(&path)
        .map_err(|e| Error::io(format!("syncing directory {}", path.display()), e))?;

    let sv = Arc::new(SvCell::from_pointee(SuperVersion::new(
        Arc::new(MemTable::new()),
        flushed.version,
    )));
    let tables = Arc::new(TableCache::new(
        Arc::clone(&fs),
        path.clone(),
        TableCacheOptions {
            max_open_files: options.max_open_files,
            verify_checksums: true,
            block_cache: (options.block_cache_size > 0)
                .then(|| Arc::new(LruBlockCache::new(options.block_cache_size))),
        },
    ));
    let mu = Arc::new(Mutex::new(()));
    let bg_error = Arc::new(ErrorHandler::default());
    let snapshots = Arc::new(SnapshotList::default());
    let published = Arc::new(AtomicU64::new(last));
    let flush_queue = Arc::new(FlushQueue::default());
    let controller = Arc::new(WriteController::default());
    let compaction_queue = Arc::new(CompactionQueue::default());
    let wake = Arc::clone(&controller);
    let wake_compaction = Arc::clone(&compaction_queue);
    let cctx = CompactionContext {
        fs: Arc::clone(&fs),
        dir: path.clone(),
        sv: Arc::clone(&sv),
        mu: Arc::clone(&mu),
        wals: Arc::clone(&wals),
        versions: Arc::clone(&versions),
        bg_error: Arc::clone(&bg_error),
        snapshots: Arc::clone(&snapshots),
        published: Arc::clone(&published),
        stats: Arc::clone(&stats),
        queue: Arc::clone(&compaction_queue),
        tables: Arc::clone(&tables),
        table_options: table_options.clone(),
        options: CompactionOptions {
            level0_file_num_compaction_trigger: options.level0_file_num_compaction_trigger,
            max_bytes_for_level_base: options.max_bytes_for_level_base,
            target_file_size_base: options.target_file_size_base,
        },
        disable_auto_compactions: options.disable_auto_compactions,
        wake_writers: {
            let wake = Arc::clone(&controller);
            Box::new(move || wake.wake_all())
        },
    };
    let ctx = FlushContext {
        fs: Arc::clone(&fs),
        dir: path.clone(),
        sv: Arc::clone(&sv),
        mu: Arc::clone(&mu),
        wals: Arc::clone(&wals),
        versions: Arc::clone(&versions),
        bg_error: Arc::clone(&bg_error),
        snapshots: Arc::clone(&snapshots),
        published: Arc::clone(&published),
        stats: Arc::clone(&stats),
        queue: Arc::clone(&flush_queue),
        table_options,
        tables: Arc::clone(&tables),
        // A flush adds an L0 file: the compaction thread re-scores.
        wake_writers: Box::new(move || {
            wake.wake_all();
            wake_compaction.wake();
        }),
    };
    let thread = std::thread::Builder::new()
        .name("groupkv-flush".into())
        .spawn(move || ctx.run())
        .map_err(|e| Error::io("starting the flush thread".to_string(), e))?;
    // The first wake-up scores what open found (L0 may already be over its trigger).
    compaction_queue.wake();
    let compaction_thread = match std::thread::Builder::new()
        .name("groupkv-compact".into())
        .spawn(move || cctx.run())
    {
        Ok(t) => t,
        Err(e) => {
            flush_queue.stop();
            let _ = thread.join();
            return Err(Error::io("starting the compaction thread".to_string(), e));
        }
    };

    Ok(DB {
        fs,
        allow_concurrent_memtable_write: options.allow_concurrent_memtable_write,
        write_thread: WriteThread::new(&options),
        sv,
        tables,
        mu,
        versions,
        flush_queue,
        flush_thread: Mutex::new(Some(thread)),
        compaction_queue,
        compaction_thread: Mutex::new(Some(compaction_thread)),
        max_write_buffer_number: options.max_write_buffer_number,
        level0_slowdown_writes_trigger: options.level0_slowdown_writes_trigger,
        level0_stop_writes_trigger: options.level0_stop_writes_trigger,
        write_buffer_size: options.write_buffer_size,
        allow_mmap_writes: options.allow_mmap_writes,
        published,
        allocated: AtomicU64::new(last),
        wals,
        bg_error,
        closed: Arc::new(AtomicBool::new(false)),
        snapshots,
        close_mu: Mutex::new(()),
        controller,
        lock: Mutex::new(Some(lock)),
        stats,
        fork_generation,
        path,
    })
}

/// Refuses a MANIFEST that names a table the directory does not hold (LevelDB's "N missing
/// files" check), before anything is changed: opening would succeed and every read of the
/// table fail later, and a flush at open would write a MANIFEST naming the missing table
/// again. One directory listing; a table is found under its `.sst` or LevelDB's `.ldb` name.
fn check_tables_exist(
    fs: &dyn FileSystem,
    dir: &std::path::Path,
    versions: &VersionSet,
    manifest_number: u64,
) -> Result<()> {
    let names = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let present: std::collections::BTreeSet<u64> = names
        .iter()
        .filter_map(|n| parse_file_name(n))
        .filter(|(_, kind)| *kind == FileType::Table)
        .map(|(number, _)| number)
        .collect();
    let current = versions.current();
    let missing: Vec<u64> = current
        .all_files()
        .map(|(_, f)| f.number)
        .filter(|n| !present.contains(n))
        .collect();
    let Some(&first) = missing.first() else {
        return Ok(());
    };
    Err(Error::corruption(format!(
        "{} missing files; e.g. {}: {} names {} table{} the directory does not hold; \
         nothing was changed. Restore the missing table{} from a backup",
        missing.len(),
        table_file_name(dir, first).display(),
        manifest_file_name(dir, manifest_number).display(),
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        if missing.len() == 1 { "" } else { "s" },
    )))
}
