//! LevelDB-style properties: `DB::property(name)` answers a few named questions about the
//! database's state as text (LevelDB's `DB::GetProperty`).
//!
//! * `groupkv.num-files-at-level<N>`: the number of tables in level N (0..=6);
//! * `groupkv.stats`: a human-readable table of the levels (files, size), the memtables, the
//!   flushes and switches, the stalls, the compactions (count, bytes read and written) and the
//!   write amplification so far (RocksDB's definition: bytes written to tables by flushes and
//!   compactions per byte flushed), then bytes written to the WAL and tables per byte of batches;
//! * `groupkv.sstables`: every table, level by level (number, size, key range);
//! * `groupkv.approximate-memory-usage`: bytes held by the memtables and the block cache.
//!
//! Unknown names answer `None`, as in LevelDB.

use std::fmt::Write as _;

use crate::version::NUM_LEVELS;

use super::DB;

const PREFIX: &str = "groupkv.";

impl DB {
    /// The value of the property `name` (see the module documentation for the names), or
    /// `None` if no property has that name. Reads a consistent SuperVersion, without locks.
    pub fn property(&self, name: &str) -> Option<String> {
        let rest = name.strip_prefix(PREFIX)?;
        let sv = self.sv.load();
        if let Some(level) = rest.strip_prefix("num-files-at-level") {
            let level: usize = level.parse().ok()?;
            return (level < NUM_LEVELS).then(|| sv.version.num_files(level).to_string());
        }
        match rest {
            "stats" => Some(self.stats_table()),
            "sstables" => Some(sv.version.to_string()),
            "approximate-memory-usage" => {
                let cache = self.tables.block_cache().map_or(0, |c| c.usage());
                Some((sv.memtable_bytes() + cache).to_string())
            }
            _ => None,
        }
    }

    fn stats_table(&self) -> String {
        let s = self.stats();
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "                               Tables");
        let _ = writeln!(out, "Level  Files   Size(MiB)");
        let _ = writeln!(out, "------------------------");
        for level in 0..NUM_LEVELS {
            let files = s.num_files_at_level.get(level).copied().unwrap_or(0);
            let bytes = s.bytes_at_level.get(level).copied().unwrap_or(0);
            let _ = writeln!(out, "{level:>5} {files:>6} {:>11.2}", mib(bytes));
        }
        let _ = writeln!(
            out,
            "Memtables: {} bytes in all, {} immutable waiting for flush",
            s.memtable_bytes, s.immutable_memtables
        );
        let _ = writeln!(
            out,
            "Switches: {}  Flushes: {} ({:.2} MiB written)",
            s.memtable_switches,
            s.flushes,
            mib(s.flush_bytes)
        );
        let _ = writeln!(
            out,
            "Stalls (micros): memtable {}  L0 slowdown {}  L0 stop {}  requested {}",
            s.stall_memtable_micros,
            s.stall_l0_slowdown_micros,
            s.stall_l0_stop_micros,
            s.stall_micros
        );
        let _ = writeln!(
            out,
            "Compactions: {}  ({:.2} MiB read, {:.2} MiB written)",
            s.compactions,
            mib(s.compaction_bytes_read),
            mib(s.compaction_bytes_written)
        );
        // RocksDB's definition (the `Sum` row of its compaction stats): every byte written to
        // tables, by flushes and compactions, per byte flushed. WAL bytes are not in it; they
        // are on the next line.
        let tables = s.flush_bytes + s.compaction_bytes_written;
        let amp = ratio(tables, s.flush_bytes);
        let _ = writeln!(
            out,
            "Write amplification: {amp:.2} ({:.2} MiB written to tables by flushes and \
             compactions for {:.2} MiB flushed)",
            mib(tables),
            mib(s.flush_bytes)
        );
        let user = s.bytes_written;
        let written = s.wal_bytes + tables;
        let _ = writeln!(
            out,
            "Bytes written per byte of batches: {:.2} ({:.2} MiB to the WAL and tables for \
             {:.2} MiB of batches)",
            ratio(written, user),
            mib(written),
            mib(user)
        );
        let _ = writeln!(
            out,
            "Block cache: {} hits, {} misses; bloom filter useful: {}",
            s.block_cache_hit, s.block_cache_miss, s.bloom_useful
        );
        out
    }
}

/// `num / den`, 0 when nothing was written yet.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}
