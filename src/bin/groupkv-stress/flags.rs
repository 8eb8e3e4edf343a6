//! db_stress-style flags: `--name=value`, and `--name` alone for a true boolean.

use std::path::PathBuf;
use std::time::Duration;

use groupkv::WalRecoveryMode;

use crate::workload::{Config, Mix, HAS_COMPACT_RANGE, HAS_FLUSH};

pub const HELP: &str = "\
groupkv-stress: whole-engine stress and crash test (RocksDB's db_stress + db_crashtest)

USAGE: groupkv-stress --db=DIR [--flag=value ...]

--threads threads run a weighted mix of operations over --key_space keys. Every write is
recorded in the expected-state file (--expected) before it is issued (pending) and after it is
acknowledged (committed); every get, scan and snapshot read is checked against it while the run
goes on. Values encode their key and a per-key version, so any value read names its write.
The seed is printed at start; pass it back with --seed to reproduce a run.

Modes:
  (default)              run the workload once on --db, close, reopen, verify every key
  --crash_loop=N         N cycles: start this program as a child on --db, kill -9 it after a
                         random time, verify a copy of the directory under every recovery mode
                         (so no mode's open destroys evidence for the next), then verify and
                         continue on the directory itself. Prints
                         'stress crash loop: N cycles, M acknowledged writes checked, V violations'
  --verify_only          open --db, verify every key against --expected, resolve in-doubt
                         writes to what was found, exit (1 on any violation)

Flags:
  --db=DIR               database directory (required)
  --expected=FILE        expected-state file, kept outside the database [DIR.expected]
  --seed=N               workload seed [time-based; printed]
  --threads=N            worker threads [4]
  --duration=SECS        stop after this many seconds (0 = no limit) [10]
  --ops_per_thread=N     stop each thread after N operations (0 = no limit) [0]
  --key_space=N          number of distinct keys [10000]
  --put=P --delete=P --batch=P --get=P --scan=P --snapshot=P --flush=P --compact=P
                         weights of each operation [35 10 10 25 10 6 2 2]: put one key, delete
                         one key, an atomic batch of several keys, a point get, an iterator
                         scan over a range or a prefix (forward or reverse, with bounds or seek),
                         a snapshot read (forward + reverse scan + point reads, all equal),
                         DB::flush, DB::compact_range of a random range (each end left
                         open one time in four, so some compact the whole database)
  --batch_keys=N         most keys in one batch [8]
  --scan_len=N           most keys in one scan [200]
  --value_pad=N          most padding bytes after a value's key|version| header [100]
  --sync_percent=P       percent of writes with sync: true [5]
  --write_mode=MODE      serial, concurrent, pipelined or pipelined_concurrent: the settings of
                         enable_pipelined_write and allow_concurrent_memtable_write; in a
                         crash loop also 'rotate' (each cycle the next one) [rotate]
  --recovery_mode=MODE   wal_recovery_mode the run opens with: point_in_time,
                         tolerate_corrupted_tail_records, absolute_consistency,
                         skip_any_corrupted_records [point_in_time]
  --write_buffer_size=N  memtable bytes before a switch and flush [65536]
  --max_write_buffer_number=N  memtables held before writes stall [3]
  --target_file_size_base=N    compaction output file size [65536]
  --max_bytes_for_level_base=N level 1 target size [262144]
  --block_size=N         table block size [1024]
  --kill_min_ms=N --kill_max_ms=N
                         crash loop: the child is killed after a random time in this range
                         [200, 1500]
  --help                 this text
";

/// Capability notes printed at start, so a run says what it could not exercise.
pub fn capability_notes() -> Vec<&'static str> {
    let mut notes = Vec::new();
    if !HAS_FLUSH {
        notes.push("flush: DB::flush not in this build; its weight runs gets");
    }
    if !HAS_COMPACT_RANGE {
        notes.push("compact: DB::compact_range not in this build; its weight runs gets");
    }
    notes
}

#[derive(Debug, Clone)]
pub struct Flags {
    pub db: PathBuf,
    pub expected: Option<PathBuf>,
    pub seed: Option<u64>,
    pub key_space: u32,
    pub cfg: Config,
    pub write_mode: String,
    pub recovery_mode: WalRecoveryMode,
    pub write_buffer_size: usize,
    pub max_write_buffer_number: usize,
    pub target_file_size_base: u64,
    pub max_bytes_for_level_base: u64,
    pub block_size: usize,
    pub crash_loop: u64,
    pub verify_only: bool,
    pub kill_min_ms: u64,
    pub kill_max_ms: u64,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            db: PathBuf::new(),
            expected: None,
            seed: None,
            key_space: 10_000,
            cfg: Config {
                threads: 4,
                ops_per_thread: 0,
                duration: Duration::from_secs(10),
                mix: Mix::default(),
                sync_percent: 5,
                batch_keys: 8,
                value_pad: 100,
                scan_len: 200,
                seed: 0,
                expect_write_errors: false,
            },
            write_mode: "rotate".into(),
            recovery_mode: WalRecoveryMode::PointInTime,
            write_buffer_size: 64 << 10,
            max_write_buffer_number: 3,
            target_file_size_base: 64 << 10,
            max_bytes_for_level_base: 256 << 10,
            block_size: 1024,
            crash_loop: 0,
            verify_only: false,
            kill_min_ms: 200,
            kill_max_ms: 1500,
        }
    }
}

/// The two write-path settings of a mode name: (pipelined, concurrent memtable writes).
pub fn write_mode(name: &str) -> Option<(bool, bool)> {
    match name {
        "serial" => Some((false, false)),
        "concurrent" => Some((false, true)),
        "pipelined" => Some((true, false)),
        "pipelined_concurrent" => Some((true, true)),
        _ => None,
    }
}

/// The four modes in rotation order.
pub const WRITE_MODES: [&str; 4] = ["serial", "concurrent", "pipelined", "pipelined_concurrent"];

fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| format!("--{name}={v}: {e} (try --help)"))
}

/// Parses `args` (without the program name); `Ok(None)` for `--help`.
pub fn parse(args: &[String]) -> Result<Option<Flags>, String> {
    let mut f = Flags::default();
    for a in args {
        if a == "--help" || a == "-h" {
            return Ok(None);
        }
        let Some(body) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument {a:?} (try --help)"));
        };
        let (name, v) = body.split_once('=').unwrap_or((body, "true"));
        let m = &mut f.cfg.mix;
        match name {
            "db" => f.db = PathBuf::from(v),
            "expected" => f.expected = Some(PathBuf::from(v)),
            "seed" => f.seed = Some(num(name, v)?),
            "threads" => f.cfg.threads = num(name, v)?,
            "duration" => f.cfg.duration = Duration::from_secs_f64(num(name, v)?),
            "ops_per_thread" => f.cfg.ops_per_thread = num(name, v)?,
            "key_space" => f.key_space = num(name, v)?,
            "put" => m.put = num(name, v)?,
            "delete" => m.delete = num(name, v)?,
            "batch" => m.batch = num(name, v)?,
            "get" => m.get = num(name, v)?,
            "scan" => m.scan = num(name, v)?,
            "snapshot" => m.snapshot = num(name, v)?,
            "flush" => m.flush = num(name, v)?,
            "compact" => m.compact = num(name, v)?,
            "batch_keys" => f.cfg.batch_keys = num(name, v)?,
            "scan_len" => f.cfg.scan_len = num(name, v)?,
            "value_pad" => f.cfg.value_pad = num(name, v)?,
            "sync_percent" => f.cfg.sync_percent = num(name, v)?,
            "write_mode" => {
                if v != "rotate" && write_mode(v).is_none() {
                    return Err(format!(
                        "--write_mode={v}: expected serial, concurrent, pipelined, \
                         pipelined_concurrent or rotate"
                    ));
                }
                f.write_mode = v.into();
            }
            "recovery_mode" => f.recovery_mode = v.parse().map_err(|e| format!("{e}"))?,
            "write_buffer_size" => f.write_buffer_size = num(name, v)?,
            "max_write_buffer_number" => f.max_write_buffer_number = num(name, v)?,
            "target_file_size_base" => f.target_file_size_base = num(name, v)?,
            "max_bytes_for_level_base" => f.max_bytes_for_level_base = num(name, v)?,
            "block_size" => f.block_size = num(name, v)?,
            "crash_loop" => f.crash_loop = num(name, v)?,
            "verify_only" => f.verify_only = num(name, v)?,
            "kill_min_ms" => f.kill_min_ms = num(name, v)?,
            "kill_max_ms" => f.kill_max_ms = num(name, v)?,
            _ => return Err(format!("unknown flag --{name} (try --help)")),
        }
    }
    if f.db.as_os_str().is_empty() {
        return Err("--db=DIR is required (try --help)".into());
    }
    let mix = f.cfg.mix;
    let total = mix.put
        + mix.delete
        + mix.batch
        + mix.get
        + mix.scan
        + mix.snapshot
        + mix.flush
        + mix.compact;
    if total == 0 || f.key_space == 0 || f.cfg.threads == 0 {
        return Err("the operation weights, --key_space and --threads must not be 0".into());
    }
    if f.cfg.threads as usize > crate::expected::MAX_WRITERS
        || f.cfg.batch_keys as usize > crate::expected::MAX_BATCH
    {
        return Err(format!(
            "--threads is at most {} and --batch_keys at most {} (the expected-state file's \
             writer slots)",
            crate::expected::MAX_WRITERS,
            crate::expected::MAX_BATCH
        ));
    }
    if f.key_space > 99_999_999 {
        return Err("--key_space is at most 99999999 (keys are k + 8 digits)".into());
    }
    if f.kill_max_ms < f.kill_min_ms {
        return Err("--kill_max_ms must be at least --kill_min_ms".into());
    }
    Ok(Some(f))
}

impl Flags {
    /// The database options of this run in write mode `mode` (a name from [`WRITE_MODES`]).
    pub fn options(&self, mode: &str) -> groupkv::Options {
        let (pipelined, concurrent) = write_mode(mode).unwrap_or((false, true));
        groupkv::Options {
            enable_pipelined_write: pipelined,
            allow_concurrent_memtable_write: concurrent,
            wal_recovery_mode: self.recovery_mode,
            write_buffer_size: self.write_buffer_size,
            max_write_buffer_number: self.max_write_buffer_number,
            target_file_size_base: self.target_file_size_base,
            max_bytes_for_level_base: self.max_bytes_for_level_base,
            block_size: self.block_size,
            ..groupkv::Options::default()
        }
    }

    pub fn expected_path(&self) -> PathBuf {
        self.expected.clone().unwrap_or_else(|| {
            let mut p = self.db.clone().into_os_string();
            p.push(".expected");
            PathBuf::from(p)
        })
    }
}
