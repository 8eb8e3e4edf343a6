//! The names of a database directory's files, made and parsed in one place (LevelDB's
//! `db/filename.cc`). Numbers are written with at least six digits, as LevelDB does.
//!
//! ```text
//! NNNNNN.log        a write-ahead log
//! NNNNNN.sst        a table (NNNNNN.ldb: a table LevelDB wrote; read, never written)
//! MANIFEST-NNNNNN   a log of version edits
//! CURRENT           "MANIFEST-NNNNNN\n": names the live MANIFEST
//! NNNNNN.dbtmp      a file being written before it is renamed (CURRENT's temporary)
//! LOCK              held while a database is open
//! ```
//! Any other name (LevelDB's `LOG`, say) parses to `None` and is left alone.

use std::path::{Path, PathBuf};

/// What a file of a database directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileType {
    /// `NNNNNN.log`.
    Log,
    /// `NNNNNN.sst` or `NNNNNN.ldb`.
    Table,
    /// `MANIFEST-NNNNNN`.
    Manifest,
    /// `CURRENT`.
    Current,
    /// `NNNNNN.dbtmp`.
    Temp,
    /// `LOCK`.
    Lock,
}

/// `CURRENT`'s name.
pub const CURRENT: &str = "CURRENT";
/// `LOCK`'s name.
pub const LOCK: &str = "LOCK";

/// `dir/NNNNNN.log`.
pub fn log_file_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.log"))
}

/// `dir/NNNNNN.sst`.
pub fn table_file_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.sst"))
}

/// `dir/NNNNNN.ldb`: LevelDB's own table name, tried when the `.sst` is missing.
pub fn ldb_table_file_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.ldb"))
}

/// `MANIFEST-NNNNNN` (without a directory: CURRENT holds this).
pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// `dir/MANIFEST-NNNNNN`.
pub fn manifest_file_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(manifest_name(number))
}

/// `dir/CURRENT`.
pub fn current_file_name(dir: &Path) -> PathBuf {
    dir.join(CURRENT)
}

/// `dir/NNNNNN.dbtmp`.
pub fn temp_file_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.dbtmp"))
}

/// `dir/LOCK`.
pub fn lock_file_name(dir: &Path) -> PathBuf {
    dir.join(LOCK)
}

/// The number and type of a file name of ours (no directory); `None` for any other name.
/// `CURRENT` and `LOCK` have number 0.
pub fn parse_file_name(name: &str) -> Option<(u64, FileType)> {
    match name {
        CURRENT => return Some((0, FileType::Current)),
        LOCK => return Some((0, FileType::Lock)),
        _ => {}
    }
    if let Some(digits) = name.strip_prefix("MANIFEST-") {
        return Some((parse_number(digits)?, FileType::Manifest));
    }
    let (stem, kind) = name.split_once('.')?;
    let kind = match kind {
        "log" => FileType::Log,
        "sst" | "ldb" => FileType::Table,
        "dbtmp" => FileType::Temp,
        _ => return None,
    };
    Some((parse_number(stem)?, kind))
}

/// A decimal number of digits only (no sign, no spaces), within `u64`.
fn parse_number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(p: PathBuf) -> String {
        p.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn every_name_round_trips() {
        let d = Path::new("db");
        for (n, t) in [
            (name(log_file_name(d, 7)), FileType::Log),
            (name(table_file_name(d, 123)), FileType::Table),
            (name(ldb_table_file_name(d, 9)), FileType::Table),
            (name(manifest_file_name(d, 1_234_567)), FileType::Manifest),
            (name(temp_file_name(d, 5)), FileType::Temp),
        ] {
            let (number, kind) = parse_file_name(&n).unwrap();
            assert_eq!(kind, t, "{n}");
            assert!(number > 0);
            assert!(n.len() >= 10, "six digits at least: {n}");
        }
        assert_eq!(name(log_file_name(d, 7)), "000007.log");
        assert_eq!(manifest_name(2), "MANIFEST-000002");
        assert_eq!(parse_file_name("CURRENT"), Some((0, FileType::Current)));
        assert_eq!(parse_file_name("LOCK"), Some((0, FileType::Lock)));
        assert_eq!(
            parse_file_name("18446744073709551615.log"),
            Some((u64::MAX, FileType::Log))
        );
    }

    #[test]
    fn other_names_are_not_ours() {
        for n in [
            "",
            "LOG",
            "LOG.old",
            "foo",
            "foo.log",
            ".log",
            "100",
            "100.",
            "100.lop",
            "-5.log",
            "+5.log",
            "5.log.x",
            "MANIFEST",
            "MANIFEST-",
            "MANIFEST-3x",
            "CURRENTX",
            "18446744073709551616.log",
            "000006.base",
        ] {
            assert_eq!(parse_file_name(n), None, "{n:?}");
        }
    }
}
