//! `compact`: one manual compaction of the whole key range, reported as `bench/peer_bench.cc`
//! reports it for the peers (the same lines, so `bench/compare` reads all three alike), plus
//! two groupkv-only lines: what the compaction read and wrote, and the shape of the levels.

use std::time::{Duration, Instant};

use groupkv::{Stats, DB};

use crate::histogram::Histogram;
use crate::{nanos, ratio, BenchResult};

/// Bytes flushes and compactions wrote to tables: the engine-side half of the write
/// amplification (peer_bench counts the same: RocksDB's `compaction.Sum.WriteGB`, where a
/// flush is an L0 write, and LevelDB's `Write(MB)` column).
pub(crate) fn table_bytes_written(s: &Stats) -> u64 {
    s.flush_bytes + s.compaction_bytes_written
}

/// What one `compact` run measured.
pub(crate) struct CompactReport {
    pub wall: Duration,
    /// Written by flushes and compactions during the call.
    pub written: u64,
    /// Read by compactions during the call.
    pub read: u64,
    pub compactions: u64,
    /// Written by flushes and compactions since the database was opened.
    pub written_since_open: u64,
    /// Keys and values the benchmarks wrote since the database was opened.
    pub user_bytes: u64,
    pub files_before: Vec<u64>,
    pub files_after: Vec<u64>,
}

/// Runs `DB::compact_range(None, None)` and measures it from the statistics before and after.
pub(crate) fn run(db: &DB, user_bytes: u64) -> BenchResult<CompactReport> {
    let before = db.stats();
    let t0 = Instant::now();
    db.compact_range(None, None)
        .map_err(|e| format!("compact failed: {e}"))?;
    let wall = t0.elapsed();
    let after = db.stats();
    Ok(CompactReport {
        wall,
        written: table_bytes_written(&after).saturating_sub(table_bytes_written(&before)),
        read: after
            .compaction_bytes_read
            .saturating_sub(before.compaction_bytes_read),
        compactions: after.compactions.saturating_sub(before.compactions),
        written_since_open: table_bytes_written(&after),
        user_bytes,
        files_before: before.num_files_at_level,
        files_after: after.num_files_at_level,
    })
}

impl CompactReport {
    /// The report's lines, `bench/compare`'s parser reads the first three.
    pub(crate) fn lines(&self) -> Vec<String> {
        let name = "compact";
        let secs = self.wall.as_secs_f64();
        let mib = |b: u64| b as f64 / 1_048_576.0;
        let mut hist = Histogram::new();
        hist.record(nanos(self.wall));
        let us = hist.max() as f64 / 1000.0;
        let mut out = vec![
            // As peer_bench: one operation; MB/s = bytes written by flushes and compactions
            // during the call / its time.
            format!(
                "{name:<12} : {:>11.3} micros/op {:.0} ops/sec {:.1} MB/s (1 ops, {secs:.3} s)",
                secs * 1e6,
                ratio(1.0, secs),
                ratio(mib(self.written), secs)
            ),
            format!(
                "{name:<12} : latency us p50 {us:.2} p99 {us:.2} p99.9 {us:.2} max {us:.2} \
                 (1 calls)"
            ),
        ];
        if self.user_bytes > 0 {
            out.push(format!(
                "{name:<12} : write amplification {:.3} ({} bytes written by flushes and \
                 compactions for {} bytes of user data)",
                self.written_since_open as f64 / self.user_bytes as f64,
                self.written_since_open,
                self.user_bytes
            ));
        } else {
            out.push(format!(
                "{name:<12} : write amplification unknown (no user data written since the \
                 database was opened)"
            ));
        }
        out.push(format!(
            "{name:<12} : {} compactions read {} bytes and wrote {} bytes ({:.1} MB/s read + \
             written)",
            self.compactions,
            self.read,
            self.written,
            ratio(mib(self.read + self.written), secs)
        ));
        let levels = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
        out.push(format!(
            "{name:<12} : files per level before {} after {}",
            levels(&self.files_before),
            levels(&self.files_after)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_carry_rate_amplification_and_levels() {
        let r = CompactReport {
            wall: Duration::from_millis(500),
            written: 3 << 20,
            read: 1 << 20,
            compactions: 2,
            written_since_open: 4000,
            user_bytes: 1000,
            files_before: vec![4, 1, 0],
            files_after: vec![0, 0, 2],
        };
        let lines = r.lines();
        assert!(
            lines[0].starts_with("compact      :")
                && lines[0].contains(" 6.0 MB/s (1 ops, 0.500 s)"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("p50 500000.00"), "{}", lines[1]);
        assert!(
            lines[2].contains("write amplification 4.000 (4000 bytes"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("(8.0 MB/s read + written)"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].ends_with("before 4 1 0 after 0 0 2"),
            "{}",
            lines[4]
        );
        let none = CompactReport { user_bytes: 0, ..r };
        assert!(none.lines()[2].contains("unknown"));
    }

    #[test]
    fn compact_empties_level_0_and_counts_its_bytes() {
        let dir =
            std::env::temp_dir().join(format!("groupkv-bench-compact-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = groupkv::Options {
            write_buffer_size: 64 << 10,
            ..groupkv::Options::default()
        };
        let db = DB::open(&dir, options).unwrap();
        let w = groupkv::WriteOptions::default();
        let mut user = 0u64;
        for round in 0..3u32 {
            for i in 0..2000u32 {
                let (k, v) = (format!("key{i:06}"), format!("value {round} {i:0>80}"));
                db.put(&w, k.as_bytes(), v.as_bytes()).unwrap();
                user += (k.len() + v.len()) as u64;
            }
            db.flush().unwrap();
        }
        assert!(db.stats().num_files_at_level[0] > 0);
        let r = run(&db, user).unwrap();
        assert_eq!(r.files_after[0], 0, "L0 after compact: {:?}", r.files_after);
        assert!(r.read > 0 && r.written > 0 && r.compactions > 0);
        assert!(r.written_since_open >= r.written);
        let lines = r.lines();
        assert!(lines[2].contains("write amplification"), "{}", lines[2]);
        assert_eq!(
            db.get(b"key000007").unwrap().unwrap(),
            format!("value 2 {:0>80}", 7).into_bytes()
        );
        db.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
