//! db_bench-style flags: `--name=value`, and `--name` alone for a true boolean.

use std::path::PathBuf;

pub const ALL_BENCHMARKS: [&str; 6] = [
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readseq",
    "readwhilewriting",
];

/// Benchmarks run only when named (not part of the default list).
pub const EXTRA_BENCHMARKS: [&str; 6] = [
    "compact",
    "readmissing",
    "readseq_points",
    "seekrandom",
    "reopen",
    "stats",
];

pub const HELP: &str = "\
groupkv-bench: db_bench-style benchmark for groupkv

USAGE: groupkv-bench [--flag=value ...]

Every benchmark runs --threads threads at once. --num is the key space and the total number of
operations of a benchmark, split evenly among the threads (db_bench gives every thread --num).
Keys are --key_size bytes: an 8-byte big-endian index in [0, --num) padded with '0'. Values are
--value_size bytes cut from a buffer of random bytes (incompressible; nothing compresses here).
An operation is one key: a write of --batch_size keys counts --batch_size operations.

Benchmarks (--benchmarks, run in the order given):
  fillseq           write keys 0, 1, 2, ... in order into a fresh database (each thread fills
                    its own contiguous range)
  fillrandom        write uniformly random keys into a fresh database
  overwrite         write uniformly random keys into the existing database
  readrandom        point-read uniformly random keys (reports how many were found)
  readmissing       point-read random keys that are absent: key k with its last byte '.',
                    which sorts just before key k (needs --key_size of at least 9)
  readseq           iterator scan: each thread seeks to the first key of its share of --reads
                    and reads that many entries (key and value), wrapping to the first entry
                    at the end; an operation is one entry, a latency sample 100 entries
  readseq_points    point-read keys 0, 1, 2, ... in order (the old readseq)
  seekrandom        per operation a new iterator, a seek to a random key (found when it lands
                    on that key), then up to --seek_nexts entries read; the latency includes
                    creating and dropping the iterator
  readwhilewriting  --threads threads point-read random keys while one extra thread writes
                    random keys until they finish; reports the reads
  compact           one manual compaction of the whole key range (DB::compact_range(None,
                    None): the memtable is flushed and every level pushed to the bottom one);
                    MB/s = bytes written by flushes and compactions during the call / its time;
                    also prints the write amplification since the database was opened (bytes
                    flushes and compactions wrote / key and value bytes the benchmarks wrote),
                    what the compactions read and wrote (MB/s read + written) and the files
                    per level before and after
  reopen            close the database if open (cleanly, untimed), then time opening it; as
                    the first benchmark with --use_existing_db it times crash recovery
  stats             print the database's statistics (DB::property(\"groupkv.stats\"))

Flags:
  --benchmarks=LIST      comma-separated list of the benchmarks above
                         [fillseq,fillrandom,overwrite,readrandom,readseq,readwhilewriting]
  --num=N                key space and operations per benchmark, all threads together [1000000]
  --reads=N              operations of the read benchmarks; -1 means --num [-1]
  --threads=N            concurrent threads [1]
  --key_size=N           bytes per key, at least 8 [16]
  --value_size=N         bytes per value [100]
  --batch_size=N         keys per write call (one WriteBatch) [1]
  --sync=BOOL            fdatasync the WAL before each write returns [false]
  --disable_wal=BOOL     skip the WAL (writes survive only a clean close) [false]
  --allow_concurrent_memtable_write=BOOL
                         group members insert into the memtable in parallel [true]
  --enable_pipelined_write=BOOL
                         overlap the next group's WAL write with this group's memtable
                         insert [false]
  --write_mode=MODE      shorthand for the two flags above: serial (false, false),
                         concurrent (true, false), pipelined (false, true) or
                         pipelined_concurrent (true, true)
  --allow_mmap_writes=BOOL
                         append to the WAL through a memory mapping instead of pwrite
                         (an I/O failure then raises SIGBUS) [false]
  --max_write_batch_group_size_bytes=N
                         most bytes of batches one write group carries [1048576]
  --enable_write_thread_adaptive_yield=BOOL
                         waiting writers yield the CPU for a while before they block [true]
  --write_thread_max_yield_usec=N
                         longest a waiting writer yields before blocking [100]
  --write_thread_slow_yield_usec=N
                         a yield slower than this means the CPU is contended [3]
  --write_buffer_size=N  memtable bytes that trigger a switch to a new memtable and WAL
  --max_write_buffer_number=N
                         memtables held before writes stop for a flush
  --level0_file_num_compaction_trigger=N, --level0_slowdown_writes_trigger=N,
  --level0_stop_writes_trigger=N
                         L0 table counts that start a compaction, slow writes, stop writes
  --block_size=N         uncompressed bytes per table data block
  --block_restart_interval=N
                         entries between restart points in data blocks
  --bloom_bits=N         bloom filter bits per key; 0 writes no filter
  --cache_size=N         bytes of table blocks cached; 0 caches nothing (peer_bench's name)
  --block_cache_size=N   the same as --cache_size
  --max_open_files=N     table files kept open
  --compression=KIND     table blocks: none or snappy
  --target_file_size_base=N, --max_bytes_for_level_base=N
                         table size of compaction outputs; bytes of level 1
                         (each of these defaults to groupkv's Options default)
  --db=DIR               database directory [$TMPDIR/groupkv-bench]
  --use_existing_db=BOOL keep the database in --db instead of starting from an empty one;
                         fillseq and fillrandom refuse to run with it [false]
  --seek_nexts=N         seekrandom: entries read after each seek [0]
  --seed=N               seed of the key and value generators; thread i uses seed + i, so
                         runs with the same flags touch the same keys [301]
  --progress=BOOL        print '... finished N ops' to stderr every second [true]
  --help                 print this text

BOOL is true/false/1/0; a boolean flag given alone (--sync) means true.

Output, one block per benchmark (times are per write or read call):
  NAME : X micros/op Y ops/sec Z MB/s (N ops, S s[; F of N found])
  NAME : latency us p50 A p99 B p99.9 C max D (K calls)
  NAME : group commit: G groups, mean group size M, W WAL syncs per write
  NAME : level 0: at most L files (sampled every 10 ms; stop trigger T), stalls micros: ...
  NAME : peak RSS R KiB
micros/op is thread-seconds per operation (as in db_bench); ops/sec is operations per second of
wall-clock time, from the first thread's start to the last thread's end; MB/s counts key and value bytes (1 MB = 2^20 bytes). The latency is measured
around every call by the benchmark itself. The group-commit line (writes only) comes from
DB::stats: write groups committed, writers per group, and WAL fdatasyncs per write call.
The level-0 line (writes only) gives the most level-0 tables seen while the benchmark ran and
the time writers spent in each kind of write stall (DB::stats).
compact prints the first two lines, then
    compact : write amplification A (B bytes written by flushes and compactions for U bytes of user data)
    compact : C compactions read R bytes and wrote W bytes (X MB/s read + written)
    compact : files per level before L0 L1 ... L6 after L0 L1 ... L6
Peak RSS is the process's VmHWM after the benchmark.
";

#[derive(Debug, Clone)]
pub struct Flags {
    pub benchmarks: Vec<String>,
    pub num: u64,
    pub reads: i64,
    pub threads: usize,
    pub key_size: usize,
    pub value_size: usize,
    pub batch_size: usize,
    pub sync: bool,
    pub disable_wal: bool,
    pub allow_concurrent_memtable_write: bool,
    pub enable_pipelined_write: bool,
    pub allow_mmap_writes: bool,
    pub max_write_batch_group_size_bytes: u64,
    pub enable_write_thread_adaptive_yield: bool,
    pub write_thread_max_yield_usec: u64,
    pub write_thread_slow_yield_usec: u64,
    pub db: PathBuf,
    pub use_existing_db: bool,
    pub seed: u64,
    pub seek_nexts: u64,
    pub progress: bool,
    /// The storage engine's knobs: `None` keeps `Options`' default (defined once there).
    pub engine: EngineFlags,
}

/// The storage engine's flags, each `None` unless given.
#[derive(Debug, Clone, Default)]
pub struct EngineFlags {
    pub write_buffer_size: Option<usize>,
    pub max_write_buffer_number: Option<usize>,
    pub level0_file_num_compaction_trigger: Option<usize>,
    pub level0_slowdown_writes_trigger: Option<usize>,
    pub level0_stop_writes_trigger: Option<usize>,
    pub block_size: Option<usize>,
    pub block_restart_interval: Option<usize>,
    pub bloom_bits: Option<u32>,
    pub block_cache_size: Option<usize>,
    pub max_open_files: Option<usize>,
    pub compression: Option<groupkv::Compression>,
    pub target_file_size_base: Option<u64>,
    pub max_bytes_for_level_base: Option<u64>,
}

impl EngineFlags {
    /// `options` with every given flag applied.
    pub fn apply(&self, mut options: groupkv::Options) -> groupkv::Options {
        macro_rules! set {
            ($($flag:ident => $field:ident),+ $(,)?) => {
                $(if let Some(v) = self.$flag { options.$field = v; })+
            };
        }
        set!(
            write_buffer_size => write_buffer_size,
            max_write_buffer_number => max_write_buffer_number,
            level0_file_num_compaction_trigger => level0_file_num_compaction_trigger,
            level0_slowdown_writes_trigger => level0_slowdown_writes_trigger,
            level0_stop_writes_trigger => level0_stop_writes_trigger,
            block_size => block_size,
            block_restart_interval => block_restart_interval,
            bloom_bits => bloom_bits_per_key,
            block_cache_size => block_cache_size,
            max_open_files => max_open_files,
            compression => compression,
            target_file_size_base => target_file_size_base,
            max_bytes_for_level_base => max_bytes_for_level_base,
        );
        options
    }
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            benchmarks: ALL_BENCHMARKS.iter().map(|s| s.to_string()).collect(),
            num: 1_000_000,
            reads: -1,
            threads: 1,
            key_size: 16,
            value_size: 100,
            batch_size: 1,
            sync: false,
            disable_wal: false,
            allow_concurrent_memtable_write: true,
            enable_pipelined_write: false,
            allow_mmap_writes: false,
            max_write_batch_group_size_bytes: 1 << 20,
            enable_write_thread_adaptive_yield: true,
            write_thread_max_yield_usec: 100,
            write_thread_slow_yield_usec: 3,
            db: std::env::temp_dir().join("groupkv-bench"),
            use_existing_db: false,
            seed: 301,
            seek_nexts: 0,
            progress: true,
            engine: EngineFlags::default(),
        }
    }
}

/// What the command line asks for.
pub enum Command {
    Run(Box<Flags>),
    Help,
}

fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("--{name}={v}: expected true, false, 1 or 0")),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("--{name}={v}: expected a whole number"))
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut f = Flags::default();
    for arg in args {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!(
                "unexpected argument {arg:?}: flags look like --name=value (see --help)"
            ));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        // A boolean flag alone means true; every other flag needs a value.
        let need = |v: Option<&str>| -> Result<String, String> {
            v.map(str::to_string)
                .ok_or_else(|| format!("--{name} needs a value: --{name}=VALUE (see --help)"))
        };
        let boolean = |v: Option<&str>| -> Result<bool, String> {
            v.map_or(Ok(true), |v| parse_bool(name, v))
        };
        match name {
            "benchmarks" => {
                let v = need(value)?;
                f.benchmarks = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                for b in &f.benchmarks {
                    if !ALL_BENCHMARKS.contains(&b.as_str())
                        && !EXTRA_BENCHMARKS.contains(&b.as_str())
                    {
                        return Err(format!(
                            "unknown benchmark {b:?}; expected some of {},{}",
                            ALL_BENCHMARKS.join(","),
                            EXTRA_BENCHMARKS.join(",")
                        ));
                    }
                }
            }
            "num" => f.num = parse_num(name, &need(value)?)?,
            "reads" => f.reads = parse_num(name, &need(value)?)?,
            "threads" => f.threads = parse_num(name, &need(value)?)?,
            "key_size" => f.key_size = parse_num(name, &need(value)?)?,
            "value_size" => f.value_size = parse_num(name, &need(value)?)?,
            "batch_size" => f.batch_size = parse_num(name, &need(value)?)?,
            "sync" => f.sync = boolean(value)?,
            "disable_wal" => f.disable_wal = boolean(value)?,
            "allow_concurrent_memtable_write" => {
                f.allow_concurrent_memtable_write = boolean(value)?
            }
            "enable_pipelined_write" => f.enable_pipelined_write = boolean(value)?,
            "allow_mmap_writes" => f.allow_mmap_writes = boolean(value)?,
            "write_mode" => {
                let (c, p) = match need(value)?.as_str() {
                    "serial" => (false, false),
                    "concurrent" => (true, false),
                    "pipelined" => (false, true),
                    "pipelined_concurrent" => (true, true),
                    other => {
                        return Err(format!(
                            "--write_mode={other}: expected serial, concurrent, pipelined or \
                             pipelined_concurrent"
                        ))
                    }
                };
                f.allow_concurrent_memtable_write = c;
                f.enable_pipelined_write = p;
            }
            "max_write_batch_group_size_bytes" => {
                f.max_write_batch_group_size_bytes = parse_num(name, &need(value)?)?
            }
            "enable_write_thread_adaptive_yield" => {
                f.enable_write_thread_adaptive_yield = boolean(value)?
            }
            "write_thread_max_yield_usec" => {
                f.write_thread_max_yield_usec = parse_num(name, &need(value)?)?
            }
            "write_thread_slow_yield_usec" => {
                f.write_thread_slow_yield_usec = parse_num(name, &need(value)?)?
            }
            "db" => f.db = PathBuf::from(need(value)?),
            "use_existing_db" => f.use_existing_db = boolean(value)?,
            "seed" => f.seed = parse_num(name, &need(value)?)?,
            "seek_nexts" => f.seek_nexts = parse_num(name, &need(value)?)?,
            "progress" => f.progress = boolean(value)?,
            "write_buffer_size" => {
                f.engine.write_buffer_size = Some(parse_num(name, &need(value)?)?)
            }
            "max_write_buffer_number" => {
                f.engine.max_write_buffer_number = Some(parse_num(name, &need(value)?)?)
            }
            "level0_file_num_compaction_trigger" => {
                f.engine.level0_file_num_compaction_trigger = Some(parse_num(name, &need(value)?)?)
            }
            "level0_slowdown_writes_trigger" => {
                f.engine.level0_slowdown_writes_trigger = Some(parse_num(name, &need(value)?)?)
            }
            "level0_stop_writes_trigger" => {
                f.engine.level0_stop_writes_trigger = Some(parse_num(name, &need(value)?)?)
            }
            "block_size" => f.engine.block_size = Some(parse_num(name, &need(value)?)?),
            "block_restart_interval" => {
                f.engine.block_restart_interval = Some(parse_num(name, &need(value)?)?)
            }
            "bloom_bits" => f.engine.bloom_bits = Some(parse_num(name, &need(value)?)?),
            "block_cache_size" | "cache_size" => {
                f.engine.block_cache_size = Some(parse_num(name, &need(value)?)?)
            }
            "max_open_files" => f.engine.max_open_files = Some(parse_num(name, &need(value)?)?),
            "compression" => {
                f.engine.compression = Some(match need(value)?.as_str() {
                    "none" => groupkv::Compression::None,
                    "snappy" => groupkv::Compression::Snappy,
                    other => return Err(format!("--compression={other}: expected none or snappy")),
                })
            }
            "target_file_size_base" => {
                f.engine.target_file_size_base = Some(parse_num(name, &need(value)?)?)
            }
            "max_bytes_for_level_base" => {
                f.engine.max_bytes_for_level_base = Some(parse_num(name, &need(value)?)?)
            }
            _ => return Err(format!("unknown flag --{name} (see --help for the list)")),
        }
    }
    if f.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    if f.key_size < 8 {
        return Err(format!(
            "--key_size={} is too small: keys hold an 8-byte index, so use at least 8",
            f.key_size
        ));
    }
    if f.key_size < 9 && f.benchmarks.iter().any(|b| b == "readmissing") {
        return Err(format!(
            "--key_size={}: readmissing needs at least 9 (its keys end in '.')",
            f.key_size
        ));
    }
    if f.batch_size == 0 {
        return Err("--batch_size must be at least 1".into());
    }
    if f.num == 0 {
        return Err("--num must be at least 1".into());
    }
    if f.reads < -1 {
        return Err(format!(
            "--reads={} must be -1 (meaning --num) or a count",
            f.reads
        ));
    }
    if f.sync && f.disable_wal {
        return Err("--sync needs the WAL: drop --sync or --disable_wal".into());
    }
    Ok(Command::Run(Box::new(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Flags, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(f) => Ok(*f),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn parses_db_bench_style_flags() {
        let f = run(&[
            "--benchmarks=fillrandom,readrandom",
            "--num=500",
            "--threads=4",
            "--sync",
            "--write_mode=pipelined",
            "--batch_size=100",
        ])
        .unwrap();
        assert_eq!(f.benchmarks, vec!["fillrandom", "readrandom"]);
        assert_eq!((f.num, f.threads, f.batch_size), (500, 4, 100));
        assert!(f.sync && f.enable_pipelined_write && !f.allow_concurrent_memtable_write);
        assert!(!run(&["--sync=0"]).unwrap().sync);
        assert!(!run(&[]).unwrap().allow_mmap_writes);
        assert!(run(&["--allow_mmap_writes=1"]).unwrap().allow_mmap_writes);
    }

    #[test]
    fn engine_flags_override_only_what_is_given() {
        let f = run(&[
            "--benchmarks=fillrandom,stats",
            "--write_buffer_size=65536",
            "--bloom_bits=0",
            "--compression=snappy",
            "--block_cache_size=0",
            "--level0_stop_writes_trigger=40",
        ])
        .unwrap();
        assert_eq!(f.benchmarks, vec!["fillrandom", "stats"]);
        let o = f.engine.apply(groupkv::Options::default());
        let d = groupkv::Options::default();
        assert_eq!(o.write_buffer_size, 65536);
        assert_eq!(o.bloom_bits_per_key, 0);
        assert_eq!(o.compression, groupkv::Compression::Snappy);
        assert_eq!(o.block_cache_size, 0);
        assert_eq!(o.level0_stop_writes_trigger, 40);
        let c = run(&["--cache_size=0", "--seek_nexts=10"]).unwrap();
        assert_eq!(c.engine.apply(d.clone()).block_cache_size, 0);
        assert_eq!(c.seek_nexts, 10);
        assert_eq!(o.max_write_buffer_number, d.max_write_buffer_number);
        assert_eq!(o.block_size, d.block_size);
        assert_eq!(o.target_file_size_base, d.target_file_size_base);
        assert!(run(&["--compression=zstd"])
            .err()
            .unwrap()
            .contains("none or snappy"));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for (args, says) in [
            (&["--benchmarks=fillfast"][..], "unknown benchmark"),
            (&["--nums=3"][..], "unknown flag"),
            (&["--num=abc"][..], "whole number"),
            (&["--sync=maybe"][..], "expected true"),
            (&["--key_size=4"][..], "at least 8"),
            (
                &["--benchmarks=readmissing", "--key_size=8"][..],
                "readmissing needs at least 9",
            ),
            (&["--benchmarks=compactall"][..], "unknown benchmark"),
            (&["--sync", "--disable_wal"][..], "needs the WAL"),
            (&["fillseq"][..], "unexpected argument"),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(says), "{args:?}: {err}");
        }
        assert!(matches!(parse(["--help".to_string()]), Ok(Command::Help)));
    }
}
