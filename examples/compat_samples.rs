//! Writes sample tables for the LevelDB/RocksDB compatibility check (`make test-compat`):
//! `OUTDIR/<name>.sst` and next to each `OUTDIR/<name>.expect`, one line per entry in table
//! order, `<hex internal key> <hex value>` (lowercase; an empty value is `-`).
//!
//! Usage: `cargo run --release --example compat_samples -- OUTDIR`

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{FileSystem, PosixFs};
use groupkv::table::{Compression, TableBuilder, TableOptions};

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// `n` entries over user keys `key000000..`, up to three versions each, newest first, some
/// of them deletions; values of `value_len` pseudo-random bytes.
fn mixed(n: usize, value_len: usize) -> Entries {
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut user = 0u64;
    while out.len() < n {
        let key = format!("key{user:06}").into_bytes();
        let versions = 1 + user % 3;
        for v in (0..versions).rev() {
            if out.len() == n {
                break;
            }
            let seq = 10 * user + v + 1;
            if (user + v) % 7 == 3 {
                out.push((internal_key(&key, seq, ValueKind::Deletion), Vec::new()));
            } else {
                let value = (0..value_len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x.to_le_bytes()[0]
                    })
                    .collect();
                out.push((internal_key(&key, seq, ValueKind::Value), value));
            }
        }
        user += 1;
    }
    out
}

/// Values that compress well (repeated text), so Snappy blocks are kept.
fn compressible(n: usize) -> Entries {
    (0..n)
        .map(|i| {
            let key = format!("user{i:06}");
            let value = format!("value of {key}, ").repeat(8).into_bytes();
            (
                internal_key(key.as_bytes(), i as u64 + 1, ValueKind::Value),
                value,
            )
        })
        .collect()
}

fn samples() -> Vec<(&'static str, TableOptions, Entries)> {
    let default = TableOptions::default;
    vec![
        ("empty", default(), Vec::new()),
        (
            "one_entry",
            default(),
            vec![(internal_key(b"key", 1, ValueKind::Value), b"value".to_vec())],
        ),
        ("thousands_with_deletes", default(), mixed(5000, 32)),
        (
            "empty_user_key",
            default(),
            vec![
                (
                    internal_key(b"", 5, ValueKind::Value),
                    b"empty key, newest".to_vec(),
                ),
                (internal_key(b"", 4, ValueKind::Deletion), Vec::new()),
                (internal_key(b"", 3, ValueKind::Value), Vec::new()),
                (internal_key(b"a", 2, ValueKind::Value), b"after".to_vec()),
            ],
        ),
        ("values_larger_than_a_block", default(), mixed(40, 20_000)),
        (
            "restart_interval_1",
            TableOptions {
                block_restart_interval: 1,
                ..default()
            },
            mixed(2000, 16),
        ),
        (
            "restart_interval_16",
            TableOptions {
                block_restart_interval: 16,
                ..default()
            },
            mixed(2000, 16),
        ),
        (
            "bloom_off",
            TableOptions {
                bloom_bits_per_key: None,
                ..default()
            },
            mixed(3000, 24),
        ),
        (
            "bloom_on_10_bits",
            TableOptions {
                bloom_bits_per_key: Some(10),
                ..default()
            },
            mixed(3000, 24),
        ),
        (
            "snappy_compressible",
            TableOptions {
                compression: Compression::Snappy,
                ..default()
            },
            compressible(3000),
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_sample(
    dir: &Path,
    name: &str,
    options: TableOptions,
    entries: &Entries,
) -> Result<(), String> {
    let fs = PosixFs;
    let sst = dir.join(format!("{name}.sst"));
    if sst.exists() {
        std::fs::remove_file(&sst).map_err(|e| format!("removing {}: {e}", sst.display()))?;
    }
    let file = fs
        .create(&sst)
        .map_err(|e| format!("creating {}: {e}", sst.display()))?;
    let mut builder = TableBuilder::new(options, file, sst.display().to_string());
    for (k, v) in entries {
        builder.add(k, v).map_err(|e| e.to_string())?;
    }
    let mut done = builder.finish().map_err(|e| e.to_string())?;
    done.file
        .sync()
        .map_err(|e| format!("syncing {}: {e}", sst.display()))?;
    let expect = dir.join(format!("{name}.expect"));
    let mut text = String::new();
    for (k, v) in entries {
        text.push_str(&hex(k));
        text.push(' ');
        text.push_str(&hex(v));
        text.push('\n');
    }
    std::fs::write(&expect, text).map_err(|e| format!("writing {}: {e}", expect.display()))?;
    println!(
        "{}: {} entries, {} bytes",
        sst.display(),
        done.num_entries,
        done.file_size
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: compat_samples OUTDIR");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("compat_samples: creating {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, options, entries) in samples() {
        if let Err(e) = write_sample(dir, name, options, &entries) {
            eprintln!("compat_samples: {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}
