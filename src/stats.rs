//! Tickers and histograms of the write path (RocksDB's `WRITE_DONE_BY_SELF`, `DB_WRITE`, ...).

use std::sync::atomic::Ordering::Relaxed;

use std::sync::atomic::AtomicU64;

/// Buckets: values below 16 get their own; above, each power of two is split in four.
const BUCKETS: usize = 16 + 4 * 60;

fn bucket_of(v: u64) -> usize {
    if v < 16 {
        return usize::from(v.to_le_bytes()[0]);
    }
    let msb = 63 - v.leading_zeros() as usize; // >= 4
    let quarter = ((v >> (msb - 2)) & 3) as usize;
    16 + (msb - 4) * 4 + quarter
}

/// The smallest value of bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    if b < 16 {
        return b as u64;
    }
    let msb = (b - 16) / 4 + 4;
    let quarter = ((b - 16) % 4) as u64;
    (1u64 << msb) | (quarter << (msb - 2))
}

/// A lock-free histogram of `u64` samples.
#[derive(Debug)]
pub(crate) struct Histogram {
    /// The sample count is the sum of the buckets (taken at snapshot), so recording a sample
    /// costs one shared read-modify-write fewer on the write path.
    buckets: Vec<AtomicU64>,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, v: u64) {
        self.buckets[bucket_of(v)].fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        if v < self.min.load(Relaxed) {
            self.min.fetch_min(v, Relaxed);
        }
        if v > self.max.load(Relaxed) {
            self.max.fetch_max(v, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        let min = self.min.load(Relaxed);
        let max = self.max.load(Relaxed);
        let sum = self.sum.load(Relaxed);
        let percentile = |p: f64| -> f64 {
            if count == 0 {
                return 0.0;
            }
            let rank = p / 100.0 * count as f64;
            let mut seen = 0u64;
            for (b, &c) in counts.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                if (seen + c) as f64 >= rank {
                    // Interpolate inside the bucket, clamped to what was really seen.
                    let lo = bucket_floor(b) as f64;
                    let hi = if b + 1 < BUCKETS {
                        bucket_floor(b + 1) as f64
                    } else {
                        max as f64
                    };
                    let within = (rank - seen as f64) / c as f64;
                    let v = lo + (hi - lo) * within;
                    return v.clamp(min as f64, max as f64);
                }
                seen += c;
            }
            max as f64
        };
        HistogramSnapshot {
            count,
            sum,
            min: if count == 0 { 0 } else { min },
            max,
            mean: if count == 0 {
                0.0
            } else {
                sum as f64 / count as f64
            },
            p50: percentile(50.0),
            p99: percentile(99.0),
            p999: percentile(99.9),
        }
    }
}

/// A histogram's summary at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Samples recorded.
    pub count: u64,
    /// Sum of the samples.
    pub sum: u64,
    /// Smallest sample (0 if none).
    pub min: u64,
    /// Largest sample (0 if none).
    pub max: u64,
    /// Mean sample.
    pub mean: f64,
    /// Median (interpolated within a bucket).
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

/// Declares every counter once: the atomic in [`Statistics`], the field of [`Stats`] with its
/// documentation, and its entry in [`Stats::counters`] (which the C and Python layers list).
macro_rules! counters {
    ($($(#[doc = $doc:literal])+ $name:ident,)+) => {
        /// The counters and histograms behind [`DB::stats`](crate::DB::stats).
        #[derive(Debug)]
        pub(crate) struct Statistics {
            $(pub(crate) $name: AtomicU64,)+
            pub(crate) write_group_size: Histogram,
            pub(crate) write_micros: Histogram,
            pub(crate) wal_sync_micros: Histogram,
        }

        impl Statistics {
            pub(crate) fn new() -> Self {
                Statistics {
                    $($name: AtomicU64::new(0),)+
                    write_group_size: Histogram::new(),
                    write_micros: Histogram::new(),
                    wal_sync_micros: Histogram::new(),
                }
            }

            pub(crate) fn snapshot(&self) -> Stats {
                Stats {
                    $($name: self.$name.load(Relaxed),)+
                    write_group_size: self.write_group_size.snapshot(),
                    write_micros: self.write_micros.snapshot(),
                    wal_sync_micros: self.wal_sync_micros.snapshot(),
                    num_files_at_level: Vec::new(),
                    bytes_at_level: Vec::new(),
                    memtable_bytes: 0,
                    immutable_memtables: 0,
                }
            }
        }

        /// The database's statistics since it was opened.
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct Stats {
            $($(#[doc = $doc])+ pub $name: u64,)+
            /// Writers per write group.
            pub write_group_size: HistogramSnapshot,
            /// Latency of each `write` call in microseconds, queueing included.
            pub write_micros: HistogramSnapshot,
            /// Latency of each WAL sync in microseconds.
            pub wal_sync_micros: HistogramSnapshot,
            /// Tables in each level (index = level), at the moment of the snapshot.
            pub num_files_at_level: Vec<u64>,
            /// Bytes of tables in each level (index = level), at the moment of the snapshot.
            pub bytes_at_level: Vec<u64>,
            /// Approximate bytes held by the mutable and immutable memtables.
            pub memtable_bytes: u64,
            /// Memtables switched out and not yet flushed.
            pub immutable_memtables: u64,
        }

        impl Stats {
            /// Every counter as `(name, value)`, for the C and Python layers; the gauges
            /// (`memtable_bytes`, `immutable_memtables`) come last.
            pub fn counters(&self) -> Vec<(&'static str, u64)> {
                vec![
                    $((stringify!($name), self.$name),)+
                    ("memtable_bytes", self.memtable_bytes),
                    ("immutable_memtables", self.immutable_memtables),
                ]
            }

            /// The names of [`Stats::counters`], in the same order.
            pub fn counter_names() -> &'static [&'static str] {
                &[$(stringify!($name),)+ "memtable_bytes", "immutable_memtables"]
            }

            /// Every histogram as `(name, snapshot)`.
            pub fn histograms(&self) -> [(&'static str, HistogramSnapshot); 3] {
                [
                    ("write_group_size", self.write_group_size),
                    ("write_micros", self.write_micros),
                    ("wal_sync_micros", self.wal_sync_micros),
                ]
            }
        }
    };
}

counters! {
    /// Write groups committed (each by its leader).
    write_done_by_self,
    /// Writes committed by another thread's group (group size − 1, summed).
    write_done_by_other,
    /// Batches written to the WAL.
    write_with_wal,
    /// WAL `fdatasync` calls.
    wal_syncs,
    /// Bytes appended to the WAL (framing included).
    wal_bytes,
    /// Records (puts and deletes) written.
    keys_written,
    /// Bytes of batches written.
    bytes_written,
    /// Microseconds writers spent waiting out write stalls, all causes together.
    stall_micros,
    /// Microseconds writes were stopped because too many memtables waited for flush.
    stall_memtable_micros,
    /// Microseconds write groups were delayed because level 0 reached its slowdown trigger.
    stall_l0_slowdown_micros,
    /// Microseconds writes were stopped because level 0 reached its stop trigger.
    stall_l0_stop_micros,
    /// Memtables switched for a new one (each with a new WAL).
    memtable_switches,
    /// Memtables flushed to level-0 tables.
    flushes,
    /// Bytes of tables written by flushes.
    flush_bytes,
    /// Compactions run (trivial moves included).
    compactions,
    /// Bytes of tables read by compactions.
    compaction_bytes_read,
    /// Bytes of tables written by compactions.
    compaction_bytes_written,
    /// Table blocks found in the block cache.
    block_cache_hit,
    /// Table blocks read from disk because the block cache did not hold them.
    block_cache_miss,
    /// Table lookups a bloom filter answered "absent" without reading a data block.
    bloom_useful,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_cover_values() {
        let mut last = 0;
        for v in [0u64, 1, 15, 16, 17, 20, 24, 31, 32, 1000, 1 << 40, u64::MAX] {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS);
            assert!(bucket_floor(b) <= v);
            if b + 1 < BUCKETS {
                assert!(bucket_floor(b + 1) > v);
            }
            last = b;
        }
    }

    #[test]
    fn percentiles_are_close() {
        let h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!((s.count, s.min, s.max), (1000, 1, 1000));
        assert!((s.p50 - 500.0).abs() < 60.0, "{s:?}");
        assert!((s.p99 - 990.0).abs() < 60.0, "{s:?}");
        assert!((s.mean - 500.5).abs() < 1e-9);
    }
}
