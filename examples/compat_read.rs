//! Reads tables (groupkv's `.sst` or LevelDB's `.ldb`) with groupkv's reader, checksums
//! verified, and prints every entry in table order as `<hex internal key> <hex value>`
//! (lowercase; an empty value is `-`), the format of `compat_samples`' `.expect` files.
//! Exits non-zero with a message on the first error.
//!
//! Usage: `cargo run --release --example compat_read -- FILE...`

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use groupkv::fs::{FileSystem, PosixFs};
use groupkv::table::{ReadOptions, Table};

fn hex(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return out.write_all(b"-");
    }
    for b in bytes {
        write!(out, "{b:02x}")?;
    }
    Ok(())
}

fn dump(path: &Path, out: &mut impl Write) -> Result<(), String> {
    let file = PosixFs
        .open_random_access(path)
        .map_err(|e| format!("opening: {e}"))?;
    let size = file
        .file_size()
        .map_err(|e| format!("reading the size: {e}"))?;
    let options = ReadOptions {
        verify_checksums: true,
        ..ReadOptions::default()
    };
    let table = Arc::new(
        Table::open(file, path.display().to_string(), size, options).map_err(|e| e.to_string())?,
    );
    let mut it = table.iter();
    it.seek_to_first().map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| format!("writing to stdout: {e}");
    while it.valid() {
        hex(out, it.key()).map_err(io)?;
        out.write_all(b" ").map_err(io)?;
        hex(out, it.value()).map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
        it.next().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: compat_read FILE...");
        return ExitCode::from(2);
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for f in &files {
        if let Err(e) = dump(Path::new(f), &mut out) {
            let _ = out.flush();
            eprintln!("compat_read: {f}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("compat_read: writing to stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
