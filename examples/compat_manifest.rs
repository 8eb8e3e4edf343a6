//! Writes sample MANIFESTs through groupkv's `VersionSet` for the LevelDB compatibility check
//! (`make test-compat`, step (d)): `OUTDIR/<sample>/MANIFEST-NNNNNN` (the live one, named by
//! `OUTDIR/<sample>/CURRENT`) and next to it `MANIFEST-NNNNNN.expect`, the text LevelDB's
//! `leveldb::DumpFile` should print for it: one `--- offset N; VersionEdit {...}` per record.
//!
//! The expectation is what groupkv says it wrote: every record after the opening snapshot
//! must decode to exactly the edit `log_and_apply` was given (checked here, the example fails
//! otherwise), and the offsets are those of the records in the file.
//!
//! Usage: `cargo run --release --example compat_manifest -- OUTDIR`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use groupkv::dbformat::{internal_key, ValueKind};
use groupkv::fs::{FileSystem, PosixFs};
use groupkv::log::{Checksum, Outcome, Reader};
use groupkv::version::filename::manifest_file_name;
use groupkv::version::{FileMetaData, VersionEdit, VersionSet, VersionSetOptions};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn table(number: u64, smallest: &str, largest: &str, seq: u64) -> FileMetaData {
    FileMetaData {
        number,
        file_size: 1000 * number + 17,
        smallest: internal_key(smallest.as_bytes(), seq, ValueKind::Value),
        largest: internal_key(
            largest.as_bytes(),
            seq.saturating_sub(1),
            ValueKind::Deletion,
        ),
    }
}

/// Opens a new database in `dir` and returns its version set after the first MANIFEST.
fn open(dir: &Path, max_manifest: u64) -> Result<VersionSet> {
    let fs: Arc<dyn FileSystem> = Arc::new(PosixFs);
    fs.create_dir_all(dir)?;
    let mut vs = VersionSet::new(
        fs,
        dir,
        VersionSetOptions {
            max_manifest_file_size: max_manifest,
        },
    );
    vs.create_new_db()?;
    vs.recover()?;
    vs.open_manifest()?;
    Ok(vs)
}

/// Logs `edit` and remembers it for the check.
fn log(vs: &mut VersionSet, logged: &mut Vec<VersionEdit>, mut edit: VersionEdit) -> Result<()> {
    vs.log_and_apply(&mut edit)?;
    logged.push(edit);
    Ok(())
}

/// A flush, a compaction with deletes and a compact pointer, a new WAL, a trivial move.
fn basic(dir: &Path) -> Result<(VersionSet, Vec<VersionEdit>)> {
    let mut vs = open(dir, 64 << 20)?;
    let mut logged = Vec::new();
    let wal = vs.new_file_number();
    let (t1, t2, t3) = (
        vs.new_file_number(),
        vs.new_file_number(),
        vs.new_file_number(),
    );
    vs.set_last_sequence(500);
    let mut e = VersionEdit::new();
    e.set_log_number(wal);
    e.add_file(0, table(t1, "apple", "melon", 400))?;
    e.add_file(0, table(t2, "banana", "zucchini", 500))?;
    log(&mut vs, &mut logged, e)?;
    // Compaction of both L0 files into L1.
    let t4 = vs.new_file_number();
    let mut e = VersionEdit::new();
    e.remove_file(0, t1)?;
    e.remove_file(0, t2)?;
    e.add_file(1, table(t3, "apple", "kiwi", 500))?;
    e.add_file(1, table(t4, "lemon", "zucchini", 480))?;
    e.set_compact_pointer(0, &internal_key(b"zucchini", 480, ValueKind::Value))?;
    log(&mut vs, &mut logged, e)?;
    // A new WAL and a trivial move with a compact pointer at level 1.
    let wal = vs.new_file_number();
    vs.set_last_sequence(900);
    let mut e = VersionEdit::new();
    e.set_log_number(wal);
    e.remove_file(1, t4)?;
    e.add_file(2, table(t4, "lemon", "zucchini", 480))?;
    e.set_compact_pointer(1, &internal_key(b"zucchini", 480, ValueKind::Value))?;
    log(&mut vs, &mut logged, e)?;
    // Keys with bytes DumpFile escapes.
    let t5 = vs.new_file_number();
    let mut e = VersionEdit::new();
    e.add_file(0, table(t5, "\u{1}bin\tary", "\u{7f}", 901))?;
    log(&mut vs, &mut logged, e)?;
    Ok((vs, logged))
}

/// Enough edits to pass a 4 KiB MANIFEST limit, then three more: the live MANIFEST is a
/// rotated one, whose snapshot lists every file, followed by the edit that rotated it.
fn rotated(dir: &Path) -> Result<(VersionSet, Vec<VersionEdit>)> {
    let mut vs = open(dir, 4096)?;
    let first = vs.manifest_file_number();
    let mut logged = Vec::new();
    let mut after = 0;
    let mut i = 0u64;
    while after < 4 {
        let n = vs.new_file_number();
        let k = format!("key{i:05}");
        vs.set_last_sequence(10 * (i + 1));
        let mut e = VersionEdit::new();
        e.add_file(3, table(n, &k, &format!("{k}z"), 10 * (i + 1)))?;
        let before = vs.manifest_file_number();
        log(&mut vs, &mut logged, e)?;
        if vs.manifest_file_number() != before {
            // This edit starts the new MANIFEST (after its snapshot).
            logged.drain(..logged.len() - 1);
        }
        if vs.manifest_file_number() != first {
            after += 1;
        }
        i += 1;
    }
    Ok((vs, logged))
}

/// One edit larger than a 32 KiB block: its record is fragmented (FIRST, MIDDLE, LAST).
fn fragmented(dir: &Path) -> Result<(VersionSet, Vec<VersionEdit>)> {
    let mut vs = open(dir, 64 << 20)?;
    let mut logged = Vec::new();
    let mut e = VersionEdit::new();
    for i in 0..900u64 {
        let n = vs.new_file_number();
        let k = format!("fragmented-key-{i:06}-padding-padding");
        e.add_file(4, table(n, &k, &format!("{k}~"), i + 2))?;
    }
    vs.set_last_sequence(1000);
    log(&mut vs, &mut logged, e)?;
    let mut e = VersionEdit::new();
    e.remove_file(4, 3)?;
    log(&mut vs, &mut logged, e)?;
    Ok((vs, logged))
}

/// Reads the live MANIFEST back, checks its records after the snapshot against `logged`, and
/// writes the expectation. Returns the MANIFEST's path.
fn write_expect(dir: &Path, vs: &VersionSet, logged: &[VersionEdit]) -> Result<PathBuf> {
    let path = manifest_file_name(dir, vs.manifest_file_number());
    let fs = PosixFs;
    let mut reader = Reader::new(fs.open_sequential(&path)?, Checksum::Crc32c);
    let mut record = Vec::new();
    let mut text = String::new();
    let mut edits = Vec::new();
    loop {
        match reader.read_record(&mut record)? {
            Outcome::Record { offset, .. } => {
                let edit = VersionEdit::decode(&record)?;
                text.push_str(&format!("--- offset {offset}; {edit}"));
                edits.push(edit);
            }
            Outcome::Damage(d) => return Err(format!("{}: {d}", path.display()).into()),
            Outcome::End => break,
        }
    }
    // The first record is the snapshot; the rest must be the logged edits, in order.
    let tail = &edits[edits.len() - logged.len()..];
    if tail != logged {
        return Err(format!(
            "{}: the records differ from the edits logged",
            path.display()
        )
        .into());
    }
    if edits[0].comparator().is_none() || edits[0].next_file_number().is_none() {
        return Err(format!("{}: the first record is no snapshot", path.display()).into());
    }
    let expect = PathBuf::from(format!("{}.expect", path.display()));
    std::fs::write(&expect, text)?;
    Ok(path)
}

fn run(out: &Path) -> Result<()> {
    type Sample = fn(&Path) -> Result<(VersionSet, Vec<VersionEdit>)>;
    let samples: [(&str, Sample); 3] = [
        ("basic", basic),
        ("rotated", rotated),
        ("fragmented", fragmented),
    ];
    for (name, sample) in samples {
        let dir = out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let (vs, logged) = sample(&dir)?;
        let path = write_expect(&dir, &vs, &logged)?;
        println!("{name}: {} ({} edits logged)", path.display(), logged.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: compat_manifest OUTDIR");
        return ExitCode::from(2);
    };
    match run(Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compat_manifest: {e}");
            ExitCode::FAILURE
        }
    }
}
