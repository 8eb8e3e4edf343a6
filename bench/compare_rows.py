"""What bench/compare runs: the suites of benchmark steps, the rows of its tables and their
targets (issue 17). Imported by bench/compare; nothing here runs anything."""

from dataclasses import dataclass, field

ENGINES = ["groupkv", "rocksdb", "leveldb"]
PEERS = ["rocksdb", "leveldb"]
THREADS = [1, 2, 4, 8, 16, 32]
# The two ways the peers run. groupkv runs with its own defaults in both, plus, for the write
# path alone, a write buffer larger than the data when its groupkv-bench has the flag.
CONFIGS = {
    "default": "Headline: every engine with its own default options",
    "nocompaction": "Write path alone: the peers with no compression and a 1 GiB write "
                    "buffer, so nothing flushes or compacts while measuring; groupkv with its "
                    "defaults (plus a 1 GiB write buffer when groupkv-bench has "
                    "--write_buffer_size)",
}
NOFLUSH_BUFFER = 1 << 30
LIMIT_TARGET = 0.6


@dataclass
class Step:
    """One run of a benchmark tool on the suite's database directory, and the rows it reports:
    (row id, benchmark in its output)."""
    args: list
    rows: list = field(default_factory=list)
    # Kill the tool with SIGKILL as soon as it prints this benchmark's throughput line.
    kill_after: str = None


@dataclass
class Suite:
    """Steps run in order on one fresh database directory per engine. The first step makes
    the database the others use: an engine that cannot run it skips the whole suite."""
    name: str
    config: str
    engines: list
    steps: list

    def row_ids(self):
        return [r for st in self.steps for r, _ in st.rows]


def write_path_suites(config, scale):
    """The write-path workloads (as before issue 17), run for both configurations."""
    def n(x):
        return max(int(x * scale), 200)
    s = []

    def one(wid, engines, args, bench):
        s.append(Suite(wid, config, engines, [Step(args, [(f"{config}/{wid}", bench)])]))
    for t in THREADS:
        one(f"sync_{t}", ENGINES, ["--benchmarks=fillrandom", "--sync", f"--threads={t}",
                                   f"--num={n(min(max(1000 * t, 3000), 32000))}"], "fillrandom")
    for t in THREADS:
        one(f"nosync_{t}", ENGINES, ["--benchmarks=fillrandom", f"--threads={t}",
                                     f"--num={n(300000)}"], "fillrandom")
    one("fillseq_1", ENGINES, ["--benchmarks=fillseq", f"--num={n(1000000)}"], "fillseq")
    one("batch100_1", ENGINES, ["--benchmarks=fillrandom", "--batch_size=100",
                                f"--num={n(1000000)}"], "fillrandom")
    for t in (1, 4):
        # LevelDB cannot skip its WAL: RocksDB is the only peer here.
        one(f"nowal_{t}", ["groupkv", "rocksdb"], ["--benchmarks=fillrandom", "--disable_wal",
                                                   f"--threads={t}", f"--num={n(1000000)}"],
            "fillrandom")
    for t in (1, 4):
        one(f"read_{t}", ENGINES, ["--benchmarks=fillseq,readrandom", f"--threads={t}",
                                   f"--num={n(1000000)}", f"--reads={n(500000)}"], "readrandom")
    return s


def engine_suites(scale):
    """The storage-engine workloads (issue 17), every engine with its default options."""
    def n(x):
        return max(int(x * scale), 200)
    c = "default"
    big, mid, reads = n(10_000_000), n(2_000_000), n(1_000_000)
    s = []
    def one(rid, args, bench):
        s.append(Suite(rid, c, ENGINES, [Step(args, [(f"{c}/{rid}", bench)])]))
    for t in (1, 4):
        one(f"fill10m_{t}", ["--benchmarks=fillrandom", f"--threads={t}", f"--num={big}"],
            "fillrandom")
    one("overwrite_1", ["--benchmarks=fillrandom,overwrite", f"--num={mid}"], "overwrite")
    # Reads from tables: fill and compact everything (the compact row), then each row in its
    # own process (a cold block cache, a warm page cache). readwhilewriting writes: it is last.
    ex = ["--use_existing_db", f"--num={mid}"]
    s.append(Suite("tables", c, ENGINES, [
        Step(["--benchmarks=fillrandom,compact", f"--num={mid}"], [(f"{c}/compact", "compact")]),
        Step(ex + ["--benchmarks=readrandom", f"--reads={reads}"],
             [(f"{c}/readrandom_1", "readrandom")]),
        Step(ex + ["--benchmarks=readrandom", "--cache_size=0", f"--reads={reads}"],
             [(f"{c}/readrandom_nocache_1", "readrandom")]),
        Step(ex + ["--benchmarks=readmissing", f"--reads={reads}"],
             [(f"{c}/readmissing_1", "readmissing")]),
        Step(ex + ["--benchmarks=readseq", f"--reads={mid}"], [(f"{c}/readseq_1", "readseq")]),
        Step(ex + ["--benchmarks=seekrandom", "--seek_nexts=1", f"--reads={reads // 2}"],
             [(f"{c}/seekrandom1_1", "seekrandom")]),
        Step(ex + ["--benchmarks=seekrandom", "--seek_nexts=10", f"--reads={reads // 2}"],
             [(f"{c}/seekrandom10_1", "seekrandom")]),
        Step(ex + ["--benchmarks=readwhilewriting", "--threads=4", f"--reads={reads}"],
             [(f"{c}/readwhilewriting_4", "readwhilewriting")]),
    ]))
    # Reopen: a writer of 2 M keys that closes cleanly, or one killed (SIGKILL) right after
    # its fill, in the first moments of its overwrite; then a new process times the open.
    reopen = ["--use_existing_db", "--benchmarks=reopen"]
    s.append(Suite("reopen_clean", c, ENGINES, [
        Step(["--benchmarks=fillrandom", f"--num={mid}"]),
        Step(reopen, [(f"{c}/reopen_clean", "reopen")])]))
    # At least 50 K keys, so that the overwrite outlasts the moment the kill takes.
    s.append(Suite("reopen_kill", c, ENGINES, [
        Step(["--benchmarks=fillrandom,overwrite", f"--num={max(mid, 50_000)}"],
             kill_after="fillrandom"),
        Step(reopen, [(f"{c}/reopen_kill", "reopen")])]))
    return s


def suites(scale):
    return engine_suites(scale) + write_path_suites("default", scale) + \
        write_path_suites("nocompaction", scale)


# --- the rows of the tables ------------------------------------------------------------------

@dataclass
class Report:
    """How a table row reads its samples: `metric` of the `source` row's samples, the value
    that is better (`higher`/`lower`), what groupkv is compared with (`best`, `rocksdb`,
    `leveldb`), and the target: groupkv's value over the reference's, ≥ it for `higher`,
    ≤ it for `lower`."""
    id: str
    label: str
    source: str
    metric: str = "ops"
    better: str = "higher"
    ref: str = "best"
    target: float = None
    unit: str = "ops"


WRITE_LABELS = {
    "sync": "fillrandom sync=true, {t} thr",
    "nosync": "fillrandom sync=false, {t} thr",
    "fillseq": "fillseq, 1 thr",
    "batch100": "fillrandom batch_size=100, 1 thr",
    "nowal": "fillrandom disable_wal, {t} thr",
    "read": "readrandom over 1 M keys, {t} thr",
}
# Issue 17's targets for the write rows (the 1-thread sync target is issue 5's).
WRITE_TARGETS = {"sync_1": 0.95, "sync_8": 1.5, "sync_32": 1.5, "nosync_1": 1.2,
                 "nosync_4": 1.2, "nosync_16": 1.2, "fillseq_1": 1.2, "batch100_1": 1.2,
                 "nowal_1": 1.2, "nowal_4": 1.2, "read_1": 1.0, "read_4": 1.0}


def report_rows(config):
    """The rows of one configuration's table, in order."""
    c = config
    rows = []
    if c == "default":
        rows += [
            Report(f"{c}/fill10m_1", "fillrandom 10 M keys (many buffers), 1 thr",
                   f"{c}/fill10m_1", target=1.2),
            Report(f"{c}/fill10m_4", "fillrandom 10 M keys (many buffers), 4 thr",
                   f"{c}/fill10m_4", target=1.2),
            Report(f"{c}/overwrite_1", "overwrite 2 M keys, 1 thr", f"{c}/overwrite_1",
                   target=1.2),
            Report(f"{c}/readrandom_1", "readrandom from tables (compacted), 1 thr",
                   f"{c}/readrandom_1", target=1.0),
            Report(f"{c}/readrandom_nocache_1", "readrandom from tables, cache_size=0, 1 thr",
                   f"{c}/readrandom_nocache_1", target=1.0),
            Report(f"{c}/readmissing_1", "readmissing (absent keys), 1 thr",
                   f"{c}/readmissing_1"),
            Report(f"{c}/readseq_1", "readseq (iterator scan), 1 thr", f"{c}/readseq_1",
                   target=1.0),
            Report(f"{c}/seekrandom1_1", "seekrandom seek_nexts=1, 1 thr",
                   f"{c}/seekrandom1_1", target=1.0),
            Report(f"{c}/seekrandom10_1", "seekrandom seek_nexts=10, 1 thr",
                   f"{c}/seekrandom10_1", target=1.0),
            Report(f"{c}/readwhilewriting_4", "readwhilewriting, 4 readers + 1 writer: reads",
                   f"{c}/readwhilewriting_4", target=1.2),
            Report(f"{c}/readwhilewriting_4_writes", "readwhilewriting: the writer's writes",
                   f"{c}/readwhilewriting_4", metric="bg_writes_per_s"),
            Report(f"{c}/compact", "compact (manual, whole range): MB/s written",
                   f"{c}/compact", metric="mbps", unit="MB/s"),
            Report(f"{c}/wamp", "write amplification after fillrandom 2 M + compact",
                   f"{c}/compact", metric="wamp", better="lower", ref="leveldb", target=1.0,
                   unit="x"),
            Report(f"{c}/reopen_clean", "reopen after a clean close (ms)", f"{c}/reopen_clean",
                   metric="secs", better="lower", unit="ms"),
            Report(f"{c}/reopen_kill", "reopen after kill -9 of a writer (ms)",
                   f"{c}/reopen_kill", metric="secs", better="lower", unit="ms"),
            Report(f"{c}/rss", "peak RSS (MiB) of fillrandom 10 M, 1 thr", f"{c}/fill10m_1",
                   metric="rss_kib", better="lower", ref="rocksdb", target=1.0, unit="KiB"),
        ]
    for s in write_path_suites(c, 1.0):
        wid = s.name
        kind, t = wid.rsplit("_", 1)
        rows.append(Report(f"{c}/{wid}", WRITE_LABELS[kind].format(t=t), f"{c}/{wid}",
                           target=WRITE_TARGETS.get(wid)))
    rows.append(Report(f"{c}/p99_16", "p99 write latency (µs), 16 thr, sync=false",
                       f"{c}/nosync_16", metric="p99", better="lower", target=1.0, unit="us"))
    if c == "nocompaction":
        rows.append(Report(f"{c}/rss", "peak RSS (MiB), fillseq of 1 M keys + readrandom",
                           f"{c}/read_1", metric="rss_kib", better="lower", ref="rocksdb",
                           target=1.5, unit="KiB"))
    return rows
