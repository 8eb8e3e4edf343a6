//! The documentation of the C header and the Python stubs is checked against the core's single
//! lists: every option setter documents `Options::default()`'s value (C and Python take their
//! defaults from it, so a stale number in the docs is the only way they can disagree), and
//! every statistic is documented in the header and typed in `_groupkv.pyi`.
#![cfg(not(loom))]

use std::collections::BTreeMap;
use std::path::Path;

use groupkv::{Compression, Options, ReadOptions, Stats, WalRecoveryMode};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The doc comment just above the declaration of C function `name` (without the markers).
fn doc_of(header: &str, name: &str) -> String {
    let lines: Vec<&str> = header.lines().collect();
    let decl = lines
        .iter()
        .position(|l| {
            !l.starts_with(' ')
                && (l.contains(&format!(" {name}(")) || l.contains(&format!("*{name}(")))
        })
        .unwrap_or_else(|| panic!("{name} is not declared in include/groupkv.h"));
    let start = lines[..decl]
        .iter()
        .rposition(|l| l.trim_start().starts_with("/**"))
        .unwrap_or_else(|| panic!("{name} has no doc comment"));
    lines[start..decl]
        .iter()
        .map(|l| l.trim().trim_start_matches("/**").trim_start_matches("*/"))
        .map(|l| l.trim_start_matches('*').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every option's default as the C header must spell it, from `Options::default()`.
fn c_defaults() -> BTreeMap<&'static str, String> {
    let d = Options::default();
    let wal = match d.wal_recovery_mode {
        WalRecoveryMode::TolerateCorruptedTailRecords => "TOLERATE_CORRUPTED_TAIL_RECORDS",
        WalRecoveryMode::AbsoluteConsistency => "ABSOLUTE_CONSISTENCY",
        WalRecoveryMode::PointInTime => "POINT_IN_TIME",
        WalRecoveryMode::SkipAnyCorruptedRecords => "SKIP_ANY_CORRUPTED_RECORDS",
        other => panic!("give {other:?} its C name here"),
    };
    let compression = match d.compression {
        Compression::None => "GROUPKV_NO_COMPRESSION",
        Compression::Snappy => "GROUPKV_SNAPPY_COMPRESSION",
    };
    BTreeMap::from([
        ("create_if_missing", d.create_if_missing.to_string()),
        ("error_if_exists", d.error_if_exists.to_string()),
        (
            "allow_concurrent_memtable_write",
            d.allow_concurrent_memtable_write.to_string(),
        ),
        (
            "enable_pipelined_write",
            d.enable_pipelined_write.to_string(),
        ),
        (
            "max_write_batch_group_size_bytes",
            d.max_write_batch_group_size_bytes.to_string(),
        ),
        (
            "enable_write_thread_adaptive_yield",
            d.enable_write_thread_adaptive_yield.to_string(),
        ),
        (
            "write_thread_max_yield_usec",
            d.write_thread_max_yield_usec.to_string(),
        ),
        (
            "write_thread_slow_yield_usec",
            d.write_thread_slow_yield_usec.to_string(),
        ),
        ("wal_recovery_mode", format!("GROUPKV_WAL_{wal}")),
        ("allow_mmap_writes", d.allow_mmap_writes.to_string()),
        ("write_buffer_size", d.write_buffer_size.to_string()),
        (
            "max_write_buffer_number",
            d.max_write_buffer_number.to_string(),
        ),
        (
            "level0_file_num_compaction_trigger",
            d.level0_file_num_compaction_trigger.to_string(),
        ),
        (
            "level0_slowdown_writes_trigger",
            d.level0_slowdown_writes_trigger.to_string(),
        ),
        (
            "level0_stop_writes_trigger",
            d.level0_stop_writes_trigger.to_string(),
        ),
        ("block_size", d.block_size.to_string()),
        (
            "block_restart_interval",
            d.block_restart_interval.to_string(),
        ),
        ("bloom_bits_per_key", d.bloom_bits_per_key.to_string()),
        ("block_cache_size", d.block_cache_size.to_string()),
        ("max_open_files", d.max_open_files.to_string()),
        ("compression", compression.to_string()),
        ("target_file_size_base", d.target_file_size_base.to_string()),
        (
            "max_bytes_for_level_base",
            d.max_bytes_for_level_base.to_string(),
        ),
        (
            "disable_auto_compactions",
            d.disable_auto_compactions.to_string(),
        ),
    ])
}

#[test]
fn every_c_option_setter_documents_the_rust_default() {
    let header = read("include/groupkv.h");
    let setters: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(" groupkv_options_set_"))
        .map(|(_, rest)| rest.split('(').next().unwrap_or_default().to_string())
        .collect();
    let defaults = c_defaults();
    let documented: Vec<&str> = defaults.keys().copied().collect();
    let mut declared: Vec<&str> = setters.iter().map(String::as_str).collect();
    declared.sort_unstable();
    assert_eq!(
        declared, documented,
        "each groupkv_options_set_* needs an entry in c_defaults() and vice versa"
    );
    for (name, want) in &defaults {
        let doc = doc_of(&header, &format!("groupkv_options_set_{name}"));
        let got = doc
            .split_once("(default ")
            .map(|(_, rest)| {
                rest.split([',', ')', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_else(|| panic!("groupkv_options_set_{name} does not say `(default ...`"));
        assert_eq!(
            &got, want,
            "groupkv_options_set_{name} documents default {got}, but Options::default() has {want}"
        );
    }
}

#[test]
fn every_statistic_is_documented_in_the_header() {
    let header = read("include/groupkv.h");
    let counters = doc_of(&header, "groupkv_stats_counter");
    for name in Stats::counter_names() {
        assert!(
            counters.contains(&format!(" {name}")),
            "groupkv_stats_counter's documentation does not list counter {name}"
        );
    }
    let histograms = doc_of(&header, "groupkv_stats_histogram");
    for (name, _) in Stats::default().histograms() {
        assert!(
            histograms.contains(name),
            "groupkv_stats_histogram's documentation does not list histogram {name}"
        );
    }
}

#[test]
fn every_statistic_is_typed_in_the_python_stubs() {
    let stubs = read("python/groupkv/_groupkv.pyi");
    let body = stubs
        .split_once("class _Stats(TypedDict):")
        .map(|(_, rest)| rest)
        .expect("_groupkv.pyi declares class _Stats(TypedDict)");
    let mut fields = BTreeMap::new();
    for line in body.lines().skip(1) {
        if !line.starts_with("    ") {
            break;
        }
        if let Some((name, ty)) = line.trim().split_once(':') {
            fields.insert(name.trim().to_string(), ty.trim().to_string());
        }
    }
    let mut want = BTreeMap::new();
    for name in Stats::counter_names() {
        want.insert(name.to_string(), "int".to_string());
    }
    for (name, _) in Stats::default().histograms() {
        want.insert(name.to_string(), "_Histogram".to_string());
    }
    for name in ["num_files_at_level", "bytes_at_level"] {
        want.insert(name.to_string(), "list[int]".to_string());
    }
    assert_eq!(
        fields, want,
        "_Stats in _groupkv.pyi must type exactly db.stats()'s keys"
    );
}

#[test]
fn read_options_document_the_rust_defaults() {
    let header = read("include/groupkv.h");
    let doc = doc_of(&header, "groupkv_readoptions_create");
    let d = ReadOptions::default();
    for (name, value) in [
        ("verify_checksums", d.verify_checksums),
        ("fill_cache", d.fill_cache),
    ] {
        assert!(
            doc.contains(&format!("{name} {value}")),
            "groupkv_readoptions_create does not say `{name} {value}`: {doc}"
        );
        let setter = doc_of(&header, &format!("groupkv_readoptions_set_{name}"));
        assert!(
            setter.contains(&format!("(default {value}")),
            "groupkv_readoptions_set_{name} does not document `(default {value}`: {setter}"
        );
    }
    let stubs = read("python/groupkv/_groupkv.pyi");
    for (name, value) in [
        ("verify_checksums", d.verify_checksums),
        ("fill_cache", d.fill_cache),
    ] {
        let py = if value { "True" } else { "False" };
        assert!(
            stubs.contains(&format!("{name}: bool = {py}")),
            "_groupkv.pyi does not give {name} the default {py}"
        );
    }
}
