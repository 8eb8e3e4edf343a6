//! `VersionSet`: the current [`Version`], the versions still in use, the file-number counter,
//! the log number and last sequence, and the MANIFEST that makes them durable (LevelDB's
//! `VersionSet`).
//!
//! # Durability protocol
//!
//! * **A new MANIFEST per open** (and per rotation, once the MANIFEST passes
//!   `max_manifest_file_size`): `MANIFEST-N` gets a snapshot edit of the whole state, then the
//!   edit being applied; it is synced and the directory synced; only then does `CURRENT` point
//!   at it (temp file, sync, rename, directory sync); only then is the previous MANIFEST
//!   deleted.
//! * **`log_and_apply`**: the edit is completed (log number, next file number, last sequence),
//!   checked by building the new version in memory, appended and synced, and only then
//!   installed. On any failure nothing is installed, the error is returned, and the MANIFEST
//!   writer is dropped: the next `log_and_apply` starts a fresh MANIFEST instead of appending
//!   after a record that may be torn.
//! * **`recover`**: `CURRENT` → MANIFEST → every edit through a [`VersionBuilder`]. A torn
//!   last record (an edit that was never synced, so never installed) is ignored; anything else
//!   that is damaged is `Corruption` naming the file and offset.
//!
//! The caller (the DB) serializes every `&mut self` call under its mutex; the versions handed
//! out are `Arc`s that readers use without any lock.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use crate::dbformat::BYTEWISE_COMPARATOR_NAME;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::log;

use super::builder::VersionBuilder;
use super::current::{read_current_file, set_current_file};
use super::edit::VersionEdit;
use super::filename::{manifest_file_name, parse_file_name, FileType};
use super::version::Version;
use super::NUM_LEVELS;

/// The knobs of a [`VersionSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSetOptions {
    /// A MANIFEST larger than this is replaced by a new one holding a snapshot at the next
    /// `log_and_apply`. Default 64 MiB (RocksDB's `max_manifest_file_size`): large enough that
    /// rotation is rare, small enough that reading the MANIFEST at open stays quick.
    pub max_manifest_file_size: u64,
}

impl Default for VersionSetOptions {
    fn default() -> Self {
        VersionSetOptions {
            max_manifest_file_size: 64 << 20,
        }
    }
}

/// What [`VersionSet::recover`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The number of the MANIFEST `CURRENT` named.
    pub manifest_number: u64,
    /// How many edits it held.
    pub edits: usize,
    /// The torn last record that was ignored, if there was one.
    pub torn_tail: Option<log::Damage>,
}

/// The versions of one database directory and the MANIFEST that records them.
pub struct VersionSet {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    options: VersionSetOptions,
    current: Arc<Version>,
    /// Every version handed out, while someone holds it (LevelDB's version list).
    live: Vec<Weak<Version>>,
    next_file_number: u64,
    manifest_file_number: u64,
    /// `manifest_file_number` has not been used for a file yet (a failed attempt to create the
    /// MANIFEST uses it up).
    manifest_number_fresh: bool,
    last_sequence: u64,
    /// The last sequence of the installed version (what the MANIFEST says): a rotation's
    /// snapshot carries this, not a `last_sequence` raised for an edit not yet durable.
    installed_last_sequence: u64,
    log_number: u64,
    prev_log_number: u64,
    manifest: Option<log::Writer>,
    compact_pointers: [Option<Vec<u8>>; NUM_LEVELS],
    /// Numbers of tables being written (a flush's or compaction's outputs) and not yet
    /// installed or abandoned (LevelDB's `pending_outputs_`): obsolete-file deletion, which
    /// reads this under the same lock as the live files, must spare them.
    pending_outputs: BTreeSet<u64>,
}

impl std::fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionSet")
            .field("dir", &self.dir)
            .field("current", &self.current)
            .field("next_file_number", &self.next_file_number)
            .field("manifest_file_number", &self.manifest_file_number)
            .field("last_sequence", &self.last_sequence)
            .field("log_number", &self.log_number)
            .finish()
    }
}

impl VersionSet {
    /// An empty version set for directory `dir` on `fs`; nothing is read or written until
    /// [`create_new_db`](Self::create_new_db) or [`recover`](Self::recover).
    pub fn new(fs: Arc<dyn FileSystem>, dir: &Path, options: VersionSetOptions) -> Self {
        let current = Arc::new(Version::new());
        VersionSet {
            fs,
            dir: dir.to_path_buf(),
            options,
            live: vec![Arc::downgrade(&current)],
            current,
            next_file_number: 2,
            manifest_file_number: 0,
            manifest_number_fresh: false,
            last_sequence: 0,
            installed_last_sequence: 0,
            log_number: 0,
            prev_log_number: 0,
            manifest: None,
            compact_pointers: Default::default(),
            pending_outputs: BTreeSet::new(),
        }
    }

    /// Writes the MANIFEST of an empty database (`MANIFEST-000001`: comparator, log number 0,
    /// next file 2, last sequence 0), syncs it and the directory, and points `CURRENT` at it
    /// (LevelDB's `NewDB`). Call [`recover`](Self::recover) next.
    pub fn create_new_db(&self) -> Result<()> {
        let mut edit = VersionEdit::new();
        edit.set_comparator(BYTEWISE_COMPARATOR_NAME)?;
        edit.set_log_number(0);
        edit.set_next_file_number(2);
        edit.set_last_sequence(0);
        let path = manifest_file_name(&self.dir, 1);
        let mut writer = self.create_manifest(&path)?;
        writer.add_record(&edit.encode())?;
        writer.sync()?;
        self.sync_dir()?;
        set_current_file(self.fs.as_ref(), &self.dir, 1)
    }

    /// Reads `CURRENT`, then the MANIFEST it names, and installs the version it describes with
    /// its file numbers, log number, last sequence and compact pointers. Writes nothing: the
    /// next [`log_and_apply`](Self::log_and_apply) (or [`open_manifest`](Self::open_manifest))
    /// starts a new MANIFEST.
    ///
    /// `Corruption` naming the file (and the offset) for a missing or garbled `CURRENT`, a
    /// missing MANIFEST, damage inside it, an edit that does not decode, overlapping files, or
    /// a MANIFEST without log number, next file number or last sequence; `InvalidArgument`
    /// for another comparator.
    pub fn recover(&mut self) -> Result<RecoveryReport> {
        let manifest_number = read_current_file(self.fs.as_ref(), &self.dir)?;
        let path = manifest_file_name(&self.dir, manifest_number);
        let name = path.display().to_string();
        let file = match self.fs.open_sequential(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::corruption(format!(
                    "{name}, named by CURRENT, is missing"
                )))
            }
            Err(e) => return Err(Error::io(format!("opening {name}"), e)),
        };
        let mut reader = log::Reader::new(file, log::Checksum::Crc32c).with_name(&name);
        let mut builder = VersionBuilder::new(Arc::new(Version::new()));
        let (mut log_number, mut prev_log_number) = (None, None);
        let (mut next_file, mut last_sequence) = (None, None);
        let mut edits = 0;
        let mut record = Vec::new();
        // Damage is fatal once a record follows it; only the torn last write of a crash is
        // not (see `torn_tail`).
        let mut damage: Option<log::Damage> = None;
        loop {
            match reader.read_record(&mut record)? {
                log::Outcome::Record { offset, .. } => {
                    if let Some(d) = damage {
                        return Err(d.to_error(&name));
                    }
                    let edit = VersionEdit::decode(&record).map_err(|e| {
                        Error::corruption(format!("{name}: the record at offset {offset}: {e}"))
                    })?;
                    if let Some(c) = edit.comparator() {
                        if c != BYTEWISE_COMPARATOR_NAME {
                            return Err(Error::invalid_argument(format!(
                                "{name} was written with comparator {c:?}, \
                                 groupkv has only {BYTEWISE_COMPARATOR_NAME:?}"
                            )));
                        }
                    }
                    log_number = edit.log_number().or(log_number);
                    prev_log_number = edit.prev_log_number().or(prev_log_number);
                    next_file = edit.next_file_number().or(next_file);
                    last_sequence = edit.last_sequence().or(last_sequence);
                    builder.apply(&edit);
                    edits += 1;
                }
                log::Outcome::Damage(d) => {
                    if damage.is_none() {
                        damage = Some(d);
                    }
                }
                log::Outcome::End => break,
            }
        }
        let torn_tail = match damage {
            None => None,
            // A torn last write: tail damage, or a last record whose checksum fails while its
            // length says it ends exactly at the end of the file (a power loss that kept the
            // whole unsynced record but garbled its last bytes). Both were never synced, so
            // never installed: ignoring them loses nothing anyone relied on.
            Some(d)
                if d.kind.is_tail()
                    || (d.kind == log::DamageKind::ChecksumMismatch && d.ends_at_eof) =>
            {
                Some(d)
            }
            Some(d) => return Err(d.to_error(&name)),
        };
        let missing = |what: &str| Error::corruption(format!("{name}: no {what} entry"));
        let next_file = next_file.ok_or_else(|| missing("next-file-number"))?;
        let log_number = log_number.ok_or_else(|| missing("log-number"))?;
        let last_sequence = last_sequence.ok_or_else(|| missing("last-sequence-number"))?;
        let version = builder
            .build()
            .map_err(|e| Error::corruption(format!("{name}: {e}")))?;

        self.next_file_number = self.next_file_number.max(next_file);
        self.mark_file_number_used(log_number);
        self.mark_file_number_used(prev_log_number.unwrap_or(0));
        self.mark_file_number_used(manifest_number);
        // A table numbered at or past the recorded next file number would be a damaged
        // MANIFEST; make sure its number is never handed out again all the same.
        let highest = version
            .all_files()
            .map(|(_, f)| f.number)
            .max()
            .unwrap_or(0);
        self.mark_file_number_used(highest);
        self.manifest_file_number = self.new_file_number();
        self.manifest_number_fresh = true;
        self.manifest = None;
        self.log_number = log_number;
        self.prev_log_number = prev_log_number.unwrap_or(0);
        self.last_sequence = last_sequence;
        self.installed_last_sequence = last_sequence;
        for (slot, key) in self
            .compact_pointers
            .iter_mut()
            .zip(builder.compact_pointers())
        {
            if key.is_some() {
                slot.clone_from(key);
            }
        }
        self.install(version);
        Ok(RecoveryReport {
            manifest_number,
            edits,
            torn_tail,
        })
    }

    /// Starts a new MANIFEST holding a snapshot of the current state and points `CURRENT` at
    /// it: what an open does after [`recover`](Self::recover), so that each session appends to
    /// a MANIFEST of its own.
    pub fn open_manifest(&mut self) -> Result<()> {
        // A snapshot with no edit after it: it records the state as of now.
        self.installed_last_sequence = self.last_sequence;
        let result = self.start_manifest().and_then(|n| {
            self.manifest
                .as_mut()
                .ok_or_else(|| Error::invalid_argument("no MANIFEST open"))?
                .sync()?;
            self.make_current(n)
        });
        if result.is_err() {
            self.manifest = None;
        }
        result
    }

    /// Records `edit` in the MANIFEST and installs the version it makes.
    ///
    /// The edit gets the log number (its own if set, which must lie in
    /// `[log_number, next_file_number)`; the current one otherwise), `prev_log_number` 0, the
    /// next file number and the last sequence. The new version is built in memory first (an
    /// edit that would corrupt the version is refused before anything is written), then the
    /// edit is appended and synced, and only then installed. On failure nothing is installed.
    pub fn log_and_apply(&mut self, edit: &mut VersionEdit) -> Result<()> {
        match edit.log_number() {
            Some(n) if n < self.log_number || n >= self.next_file_number => {
                return Err(Error::invalid_argument(format!(
                    "log number {n} outside [{}, {})",
                    self.log_number, self.next_file_number
                )))
            }
            Some(_) => {}
            None => edit.set_log_number(self.log_number),
        }
        if edit.prev_log_number().is_none() {
            edit.set_prev_log_number(self.prev_log_number);
        }
        let mut builder = VersionBuilder::new(self.current.clone());
        builder.apply(edit);
        let version = builder.build()?;

        let rotate = self
            .manifest
            .as_ref()
            .is_some_and(|m| m.size() >= self.options.max_manifest_file_size);
        if rotate {
            self.manifest = None;
            self.manifest_number_fresh = false;
        }
        let written = self.write_edit(edit);
        if written.is_err() {
            // A failed append may have left a torn record: never append after it.
            self.manifest = None;
        }
        written?;

        self.log_number = edit.log_number().unwrap_or(self.log_number);
        self.installed_last_sequence = edit.last_sequence().unwrap_or(self.last_sequence);
        self.prev_log_number = edit.prev_log_number().unwrap_or(self.prev_log_number);
        for (level, key) in edit.compact_pointers() {
            if let Some(slot) = self.compact_pointers.get_mut(*level) {
                *slot = Some(key.clone());
            }
        }
        self.install(version);
        Ok(())
    }

    /// Appends `edit` (completed with the next file number and last sequence) to the MANIFEST,
    /// starting a new one first if there is none, and syncs it.
    ///
    /// A new MANIFEST holds the snapshot *and* this edit, synced, before `CURRENT` names it
    /// (LevelDB's order): `CURRENT` is the commit point, and for a first-layout directory the
    /// pre-edit state it would otherwise commit is empty (the data is in a base the MANIFEST
    /// does not know), so naming the snapshot alone lost the whole database to a crash there.
    fn write_edit(&mut self, edit: &mut VersionEdit) -> Result<()> {
        let fresh = match self.manifest {
            Some(_) => None,
            None => Some(self.start_manifest()?),
        };
        edit.set_next_file_number(self.next_file_number);
        edit.set_last_sequence(self.last_sequence);
        let record = edit.encode();
        let writer = self
            .manifest
            .as_mut()
            .ok_or_else(|| Error::invalid_argument("no MANIFEST open"))?;
        writer.add_record(&record)?;
        writer.sync()?;
        match fresh {
            Some(number) => self.make_current(number),
            None => Ok(()),
        }
    }

    /// Creates `MANIFEST-N` with a snapshot of the current state (not synced yet) and returns
    /// `N`; `CURRENT` does not name it yet ([`make_current`](Self::make_current)).
    fn start_manifest(&mut self) -> Result<u64> {
        if !self.manifest_number_fresh {
            self.manifest_file_number = self.new_file_number();
        }
        self.manifest_number_fresh = false;
        self.manifest = None;
        // A MANIFEST a crashed session created but never made current may hold the number
        // recovery reserved: never overwrite a file, take the next number (the leftover is
        // deleted below once CURRENT names the new MANIFEST).
        let (number, mut writer) = loop {
            let number = self.manifest_file_number;
            let path = manifest_file_name(&self.dir, number);
            match self.fs.create(&path) {
                Ok(file) => break (number, log::Writer::new(file, path.display().to_string())),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    self.manifest_file_number = self.new_file_number();
                }
                Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
            }
        };
        writer.add_record(&self.snapshot()?.encode())?;
        self.manifest = Some(writer);
        Ok(number)
    }

    /// Syncs the directory (the new MANIFEST's entry), points `CURRENT` at `MANIFEST-number`,
    /// and deletes the MANIFESTs it replaces.
    fn make_current(&mut self, number: u64) -> Result<()> {
        self.sync_dir()?;
        set_current_file(self.fs.as_ref(), &self.dir, number)?;
        // Every older MANIFEST is obsolete now that CURRENT durably names this one. Removing
        // them is best effort: a leftover is deleted with the obsolete files later.
        if let Ok(names) = self.fs.list(&self.dir) {
            for name in names {
                if let Some((n, FileType::Manifest)) = parse_file_name(&name) {
                    if n < number {
                        let _ = self.fs.remove_file(&self.dir.join(name));
                    }
                }
            }
        }
        Ok(())
    }

    /// An edit that rebuilds the whole current state from nothing.
    fn snapshot(&self) -> Result<VersionEdit> {
        let mut edit = VersionEdit::new();
        edit.set_comparator(BYTEWISE_COMPARATOR_NAME)?;
        edit.set_log_number(self.log_number);
        edit.set_prev_log_number(self.prev_log_number);
        edit.set_next_file_number(self.next_file_number);
        edit.set_last_sequence(self.installed_last_sequence);
        for (level, key) in self.compact_pointers.iter().enumerate() {
            if let Some(key) = key {
                edit.set_compact_pointer(level, key)?;
            }
        }
        for (level, file) in self.current.all_files() {
            edit.add_file(level, file.as_ref().clone())?;
        }
        Ok(edit)
    }

    fn create_manifest(&self, path: &Path) -> Result<log::Writer> {
        let file = self
            .fs
            .create(path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        Ok(log::Writer::new(file, path.display().to_string()))
    }

    fn sync_dir(&self) -> Result<()> {
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(format!("syncing directory {}", self.dir.display()), e))
    }

    fn install(&mut self, version: Version) {
        let version = Arc::new(version);
        self.live.retain(|v| v.strong_count() > 0);
        self.live.push(Arc::downgrade(&version));
        self.current = version;
    }

    /// The current version.
    pub fn current(&self) -> Arc<Version> {
        self.current.clone()
    }

    /// The numbers of every table in a version someone still holds (the current one
    /// included): the tables obsolete-file deletion must keep.
    pub fn live_files(&mut self) -> BTreeSet<u64> {
        self.live.retain(|v| v.strong_count() > 0);
        let mut live: BTreeSet<u64> = self.current.all_files().map(|(_, f)| f.number).collect();
        for version in self.live.iter().filter_map(Weak::upgrade) {
            live.extend(version.all_files().map(|(_, f)| f.number));
        }
        live
    }

    /// The next file number that [`new_file_number`](Self::new_file_number) will hand out.
    pub fn next_file_number(&self) -> u64 {
        self.next_file_number
    }

    /// Hands out a new, never used file number.
    pub fn new_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    /// Hands out a new file number for a table about to be written, recorded as a pending
    /// output until [`release_pending_output`](Self::release_pending_output).
    pub fn new_pending_output(&mut self) -> u64 {
        let n = self.new_file_number();
        self.pending_outputs.insert(n);
        n
    }

    /// The table `number` is installed (now live) or abandoned (now obsolete).
    pub fn release_pending_output(&mut self, number: u64) {
        self.pending_outputs.remove(&number);
    }

    /// The tables being written: obsolete-file deletion must spare them.
    pub fn pending_outputs(&self) -> &BTreeSet<u64> {
        &self.pending_outputs
    }

    /// Makes sure `number` is never handed out (a file found on disk uses it).
    pub fn mark_file_number_used(&mut self, number: u64) {
        if self.next_file_number <= number {
            self.next_file_number = number.saturating_add(1);
        }
    }

    /// Takes back `number` if it was the last one handed out and no file was made with it
    /// (LevelDB's `ReuseFileNumber`).
    pub fn reuse_file_number(&mut self, number: u64) {
        if self.next_file_number == number.saturating_add(1) {
            self.next_file_number = number;
        }
    }

    /// The number of the MANIFEST in use (or about to be created).
    pub fn manifest_file_number(&self) -> u64 {
        self.manifest_file_number
    }

    /// The size of the MANIFEST being appended to (0 when none is open).
    pub fn manifest_size(&self) -> u64 {
        self.manifest.as_ref().map_or(0, log::Writer::size)
    }

    /// The last sequence number recorded (written into every edit).
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Raises the last sequence to `sequence`; a lower value is ignored (sequences never go
    /// back).
    pub fn set_last_sequence(&mut self, sequence: u64) {
        self.last_sequence = self.last_sequence.max(sequence);
    }

    /// WALs numbered below this hold nothing the tables lack.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// LevelDB's previous log number: always 0 for groupkv's directories.
    pub fn prev_log_number(&self) -> u64 {
        self.prev_log_number
    }

    /// Where the next size compaction of `level` starts (an internal key), if set.
    pub fn compact_pointer(&self, level: usize) -> Option<&[u8]> {
        self.compact_pointers.get(level)?.as_deref()
    }

    /// The compact pointers, for the compaction picker, which advances them when it picks
    /// (they reach the MANIFEST with the compaction's edit).
    pub fn compact_pointers_mut(&mut self) -> &mut [Option<Vec<u8>>; NUM_LEVELS] {
        &mut self.compact_pointers
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
