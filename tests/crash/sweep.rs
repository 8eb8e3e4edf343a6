//! Shared pieces of the crash sweeps that die after every mutating file-system operation of a
//! scenario (`crash_sweep_flush.rs`, `crash_sweep_compaction.rs`): the crash modes, the
//! verdict on the image a crash left, their two-session scenario and the sweep itself.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::DB;

use super::{apply, crash, log_damaged, matching_prefix, read_keys, CrashFs, Workload};

/// How the machine goes down once the process died.
#[derive(Debug, Clone, Copy)]
pub enum Crash {
    /// The OS keeps every byte it accepted.
    Process,
    /// What was not synced is lost, in one of `MemFs`'s ways.
    Power(PowerLoss),
}

/// A process crash and the three power-loss modes of the sweeps.
pub const CRASHES: [Crash; 4] = [
    Crash::Process,
    Crash::Power(PowerLoss::DropUnsynced),
    Crash::Power(PowerLoss::TearUnsynced { seed: 7 }),
    Crash::Power(PowerLoss::DropPages { seed: 11 }),
];

/// The crash modes to try after the process died at operation `budget`: all four when
/// `GROUPKV_SWEEP_ALL_MODES` is set (`make test-reliability`), otherwise one, rotating with the
/// operation, so that a plain `cargo test` still hits every operation and every mode in a
/// quarter of the time.
pub fn modes_at(budget: u64) -> Vec<Crash> {
    if std::env::var_os("GROUPKV_SWEEP_ALL_MODES").is_some() {
        CRASHES.to_vec()
    } else {
        vec![CRASHES[(budget % CRASHES.len() as u64) as usize]]
    }
}

/// Applies `crash` to `mem`.
pub fn go_down(mem: &MemFs, crash: Crash) {
    match crash {
        Crash::Process => mem.process_crash(),
        Crash::Power(how) => mem.power_loss(how),
    }
}

/// What a scenario got acknowledged before the process died.
#[derive(Debug, Default, Clone, Copy)]
pub struct Acked {
    /// Writes acknowledged (ops `0..acked` of stream 0).
    pub acked: u64,
    /// Writes that survive a power loss: before an acknowledged sync write, flush,
    /// compaction or close.
    pub durable: u64,
}

/// Every file of `/db` but the LOCK, with its bytes.
pub fn files(mem: &MemFs) -> BTreeMap<String, Vec<u8>> {
    mem.list(Path::new("/db"))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let data = mem.read(&Path::new("/db").join(&n)).unwrap_or_default();
            (n, data)
        })
        .collect()
}

/// The image's MANIFEST, read through a `VersionSet` (reading writes nothing): its log number
/// and the tables it names; `None` without a readable `CURRENT`.
pub fn manifest_of(mem: &MemFs) -> Option<(u64, Vec<u64>)> {
    let mut set = groupkv::version::VersionSet::new(
        Arc::new(mem.clone()),
        Path::new("/db"),
        groupkv::version::VersionSetOptions::default(),
    );
    set.recover().ok()?;
    let tables = set.current().all_files().map(|(_, f)| f.number).collect();
    Some((set.log_number(), tables))
}

/// WALs and bases holding damage that an open removed without quarantining them (renamed
/// `<name>.corrupt`). An old MANIFEST is not counted: the new one's snapshot supersedes it.
/// Neither is a WAL below the MANIFEST's `log_number`: its writes are in a table the MANIFEST
/// names and the flush thread deletes it (a deletion a power loss may undo), so its torn tail
/// is not damage recovery tolerated.
pub fn destroyed_evidence(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    log_number: u64,
) -> Vec<String> {
    let obsolete_wal = |n: &str| {
        n.strip_suffix(".log")
            .and_then(|d| d.parse::<u64>().ok())
            .is_some_and(|number| number < log_number)
    };
    // The image's layout decides the checksum, as open decides it: CRC-32C once a commit
    // recorded a log number, IEEE (the first layout's) before.
    let checksum = if log_number > 0 {
        groupkv::wal::format::WAL_CHECKSUM
    } else {
        groupkv::wal::format::FIRST_LAYOUT_CHECKSUM
    };
    before
        .iter()
        .filter(|(n, _)| (n.ends_with(".log") || n.ends_with(".base")) && !after.contains_key(*n))
        .filter(|(n, _)| !obsolete_wal(n))
        .filter(|(n, data)| {
            after.get(&format!("{n}.corrupt")) != Some(*data) && log_damaged(data, checksum)
        })
        .map(|(n, _)| n.clone())
        .collect()
}

/// Checks the image a crash left, reopening it with `open`; returns what is wrong:
/// a table the MANIFEST names is missing; the reopen fails; the state is not exactly that
/// after a prefix of stream 0's writes (no older value over a newer one, no deleted value
/// back) holding every durable write (every acknowledged one after a process crash); a
/// damaged WAL was deleted.
pub fn check_image(
    mem: &MemFs,
    w: &Workload,
    a: Acked,
    crash: Crash,
    open: impl Fn(Arc<dyn FileSystem>) -> groupkv::Result<DB>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let manifest = manifest_of(mem);
    let before = files(mem);
    if let Some((_, tables)) = &manifest {
        for t in tables {
            let name = format!("{t:06}.sst");
            if !before.contains_key(&name) {
                wrong.push(format!("the MANIFEST names {name}, which is missing"));
            }
        }
    }
    let db = match open(Arc::new(mem.clone())) {
        Ok(db) => db,
        Err(e) => {
            wrong.push(format!("reopen failed: {e}"));
            return wrong;
        }
    };
    let actual = match read_keys(&db, &w.universe(0)) {
        Ok(m) => m,
        Err(e) => {
            wrong.push(format!("reading after reopen failed: {e}"));
            super::crash(db);
            return wrong;
        }
    };
    let must = match crash {
        Crash::Process => a.acked,
        Crash::Power(_) => a.durable,
    };
    // One more write than acknowledged may have reached the WAL before the process died.
    if matching_prefix(w, 0, &actual, must, a.acked + 1).is_none() {
        wrong.push(format!(
            "the state is no prefix of {must}..={} writes: {} keys",
            a.acked + 1,
            actual.len()
        ));
    }
    if let Err(e) = db.close() {
        wrong.push(format!("close after reopen failed: {e}"));
    }
    let after = files(mem);
    let log_number = manifest.map_or(0, |(n, _)| n);
    for n in destroyed_evidence(&before, &after, log_number) {
        wrong.push(format!("the damaged {n} was deleted"));
    }
    wrong
}

/// A `compact_range` every `every` writes, over `range(n)` for the `n`th one.
pub struct Compactions<'a> {
    pub every: u64,
    pub range: &'a dyn Fn(u64) -> (Option<Vec<u8>>, Option<Vec<u8>>),
}

/// The scenario of the flush and compaction sweeps: two sessions of `ops` writes of stream 0
/// each, a `flush` after every `flush_every` writes and, with `compactions`, a `compact_range`
/// on its schedule; each session ends with `close`.
pub struct TwoSessions<'a> {
    pub ops: u64,
    pub flush_every: u64,
    pub compactions: Option<Compactions<'a>>,
}

/// What a scenario completed before the process died.
#[derive(Debug, Default, Clone, Copy)]
pub struct Done {
    pub acked: Acked,
    pub flushes: u64,
    pub compactions: u64,
}

impl TwoSessions<'_> {
    /// Runs the sessions on `fs` until something fails (the process died there).
    pub fn run(
        &self,
        fs: &CrashFs,
        w: &Workload,
        open: impl Fn(Arc<dyn FileSystem>) -> groupkv::Result<DB>,
    ) -> Done {
        let mut d = Done::default();
        for session in 0..2u64 {
            let Ok(db) = open(Arc::new(fs.clone())) else {
                return d;
            };
            for i in session * self.ops..(session + 1) * self.ops {
                let op = w.op(0, i);
                if apply(&db, &op).is_err() {
                    crash(db);
                    return d;
                }
                d.acked.acked = i + 1;
                if op.sync {
                    d.acked.durable = i + 1;
                }
                if (i + 1) % self.flush_every == 0 {
                    if db.flush().is_err() {
                        crash(db);
                        return d;
                    }
                    d.acked.durable = i + 1;
                    d.flushes += 1;
                }
                if let Some(c) = self.compactions.as_ref().filter(|c| (i + 1) % c.every == 0) {
                    let (start, end) = (c.range)(i / c.every);
                    if db.compact_range(start.as_deref(), end.as_deref()).is_err() {
                        crash(db);
                        return d;
                    }
                    // compact_range flushes first: everything before it is in a table.
                    d.acked.durable = i + 1;
                    d.compactions += 1;
                }
            }
            if db.close().is_err() {
                return d;
            }
            d.acked.durable = d.acked.acked;
        }
        d
    }
}

/// What [`every_operation`] found.
#[derive(Debug, Default)]
pub struct Swept {
    /// Crashes made (one or four per crash point, see [`modes_at`]).
    pub crashes: u64,
    /// Crashes after at least one flush, and after at least one compaction.
    pub after_flush: u64,
    pub after_compaction: u64,
    /// Every violation, naming its crash.
    pub violations: Vec<String>,
}

impl Swept {
    /// "N points x M modes = C crashes", for the sweep's summary line.
    pub fn points(&self, total: u64) -> String {
        let modes = if self.crashes > total + 1 {
            "4 modes"
        } else {
            "1 mode (rotating among 4)"
        };
        format!("{} points x {modes} = {} crashes", total + 1, self.crashes)
    }
}

/// Lets the process die after each of the `total` mutating operations of `scenario` (and
/// after none), takes the machine down in the modes of [`modes_at`] and checks each image
/// with [`check_image`].
pub fn every_operation(
    total: u64,
    w: &Workload,
    scenario: impl Fn(&CrashFs) -> Done,
    open: impl Fn(Arc<dyn FileSystem>) -> groupkv::Result<DB>,
) -> Swept {
    let mut s = Swept::default();
    for budget in 0..=total {
        for crash in modes_at(budget) {
            let mem = MemFs::new();
            s.crashes += 1;
            let budget_i64 = i64::try_from(budget).unwrap_or(i64::MAX);
            let d = scenario(&CrashFs::new(mem.clone(), budget_i64));
            s.after_flush += u64::from(d.flushes > 0);
            s.after_compaction += u64::from(d.compactions > 0);
            go_down(&mem, crash);
            for v in check_image(&mem, w, d.acked, crash, &open) {
                s.violations.push(format!(
                    "crash after {budget} operations ({} acknowledged, {} durable, {} flushes \
                     and {} compactions done), {crash:?}: {v}",
                    d.acked.acked, d.acked.durable, d.flushes, d.compactions
                ));
            }
        }
    }
    s
}
