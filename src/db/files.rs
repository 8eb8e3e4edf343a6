//! The files in a database directory.
//!
//! ```text
//! LOCK            held with flock(LOCK_EX) while a DB is open
//! 000007.log      a WAL: write groups, in the log format of docs/wal-format.md
//! 000006.base     a base: the whole state as of the WALs numbered below 6, in the same format
//! *.tmp           a base being written; removed at open
//! *.corrupt       a quarantined file: damaged, or not replayed whole; never read or removed
//! ```
//!
//! Files are numbered from one counter. Recovery replays the newest base, then every WAL with a
//! higher number, in order; older WALs and bases are obsolete. A file whose contents recovery
//! did not take whole (damage it refused, stopped at, skipped or tolerated, or a WAL dropped
//! after a point-in-time stop) is never removed: it is renamed `<name>.corrupt` (or
//! `<name>.<k>.corrupt` if that exists), which [`parse`] does not recognize, so no later open
//! replays or removes it. Its number still counts, so no new file ever takes it.

use std::path::{Path, PathBuf};

use crate::version::filename::parse_file_name;

pub(crate) const LOCK: &str = "LOCK";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Base,
    Log,
    Temp,
}

pub(crate) fn log_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.log"))
}

pub(crate) fn base_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.base"))
}

pub(crate) fn temp_name(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.base.tmp"))
}

/// The suffix of a quarantined file.
pub(crate) const QUARANTINE_SUFFIX: &str = ".corrupt";

/// The first free quarantine name for `path`: `<name>.corrupt`, else `<name>.<k>.corrupt`.
pub(crate) fn quarantine_name(path: &Path, k: u32) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    if k > 1 {
        name.push(format!(".{k}"));
    }
    name.push(QUARANTINE_SUFFIX);
    path.with_file_name(name)
}

/// The number of a quarantined file (`000012.log.corrupt`, `000012.sst.2.corrupt`,
/// `MANIFEST-000012.corrupt` -> 12), so that new files never reuse it; `None` for any other
/// name. The quarantined name is a file name of ours (of either layout) with an optional
/// `.<k>` and the suffix.
pub(crate) fn parse_quarantined(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(QUARANTINE_SUFFIX)?;
    let original = match stem.rsplit_once('.') {
        Some((rest, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => stem,
    };
    parse(original)
        .map(|(n, _)| n)
        .or_else(|| parse_file_name(original).map(|(n, _)| n))
}

/// Parses a file name of ours: its number and kind.
pub(crate) fn parse(name: &str) -> Option<(u64, Kind)> {
    let (stem, kind) = if let Some(s) = name.strip_suffix(".base.tmp") {
        (s, Kind::Temp)
    } else if let Some(s) = name.strip_suffix(".log") {
        (s, Kind::Log)
    } else if let Some(s) = name.strip_suffix(".base") {
        (s, Kind::Base)
    } else {
        return None;
    };
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let d = Path::new("d");
        for (p, k) in [
            (log_name(d, 7), Kind::Log),
            (base_name(d, 12), Kind::Base),
            (temp_name(d, 1_234_567), Kind::Temp),
        ] {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let (n, kind) = parse(name).unwrap_or((0, Kind::Temp));
            assert_eq!(kind, k);
            assert!(n > 0);
        }
        assert_eq!(parse("LOCK"), None);
        // Quarantined files are never taken for live ones, but their numbers are known.
        for q in [
            quarantine_name(&log_name(d, 7), 1),
            quarantine_name(&base_name(d, 7), 3),
        ] {
            let name = q.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            assert_eq!(parse(name), None, "{name}");
            assert_eq!(parse_quarantined(name), Some(7), "{name}");
        }
        assert_eq!(parse_quarantined("000007.log"), None);
        assert_eq!(parse_quarantined("MANIFEST-000009.corrupt"), Some(9));
        assert_eq!(parse_quarantined("MANIFEST-000009.2.corrupt"), Some(9));
        assert_eq!(parse_quarantined("000011.sst.3.corrupt"), Some(11));
        assert_eq!(parse_quarantined("000011.ldb.corrupt"), Some(11));
        assert_eq!(parse_quarantined("LOG.corrupt"), None);
        assert_eq!(parse(".log"), None);
        assert_eq!(parse("12a.log"), None);
    }
}
