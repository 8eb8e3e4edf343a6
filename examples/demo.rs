//! Writes from many threads with `sync = true`, reopens, verifies every write, and prints the
//! group-commit statistics. Run with `cargo run --release --example demo [DIR]`.

use std::sync::Arc;
use std::thread;

use groupkv::{Options, WriteBatch, WriteOptions, DB};

const THREADS: usize = 16;
const WRITES_PER_THREAD: usize = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("groupkv-demo-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let db = Arc::new(DB::open(&dir, Options::default())?);
    let start = std::time::Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || -> groupkv::Result<()> {
                let sync = WriteOptions::synced();
                for i in 0..WRITES_PER_THREAD {
                    let mut batch = WriteBatch::new();
                    batch.put(
                        format!("t{t:02}-k{i:05}").as_bytes(),
                        format!("v{i}").as_bytes(),
                    )?;
                    batch.put(
                        format!("t{t:02}-last").as_bytes(),
                        format!("{i}").as_bytes(),
                    )?;
                    db.write(&sync, &batch)?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "writer thread panicked")??;
    }
    let elapsed = start.elapsed();
    let stats = db.stats();
    let writes = (THREADS * WRITES_PER_THREAD) as f64;
    println!(
        "{} threads x {} synced writes in {:.2?} ({:.0} writes/s)",
        THREADS,
        WRITES_PER_THREAD,
        elapsed,
        writes / elapsed.as_secs_f64()
    );
    println!(
        "write groups: {} led, {} joined others; mean group size {:.1} (max {})",
        stats.write_done_by_self,
        stats.write_done_by_other,
        stats.write_group_size.mean,
        stats.write_group_size.max
    );
    println!(
        "WAL: {} syncs for {} writes ({:.2} syncs per write), {} bytes",
        stats.wal_syncs,
        stats.write_with_wal,
        stats.wal_syncs as f64 / writes,
        stats.wal_bytes
    );
    println!(
        "write latency (us): p50 {:.0}, p99 {:.0}, max {}",
        stats.write_micros.p50, stats.write_micros.p99, stats.write_micros.max
    );
    drop(db);

    let db = DB::open(&dir, Options::default())?;
    for t in 0..THREADS {
        for i in 0..WRITES_PER_THREAD {
            let key = format!("t{t:02}-k{i:05}");
            let got = db.get(key.as_bytes())?;
            if got.as_deref() != Some(format!("v{i}").as_bytes()) {
                return Err(format!("after reopen {key} is {got:?}").into());
            }
        }
    }
    println!(
        "reopened {}: all {} writes present",
        dir.display(),
        THREADS * WRITES_PER_THREAD
    );
    db.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
