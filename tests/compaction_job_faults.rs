//! Compaction job failures on `MemFs`: every create, append, sync, directory sync and read of
//! a compaction failing in turn (EIO and ENOSPC), a damaged input block, and cancellation
//! each fail the job, install nothing, leave every input byte-identical and report every
//! output created; a retry reproduces the clean outputs. Once the job returns, its outputs
//! survive a power loss.
#![allow(clippy::unwrap_used)]

mod compaction_support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use compaction_support::*;
use groupkv::compaction::{run_compaction, CompactionOptions};
use groupkv::fs::{Fault, FaultKind, FileSystem};
use groupkv::version::FileMetaData;
use groupkv::Error;

// --- Failures -------------------------------------------------------------------------------

/// A compaction of three overlapping level-0 files into two level-1 files, with small outputs:
/// several outputs, each written, synced and verified, before the directory sync.
fn failure_tree() -> (Tree, Vec<FileMetaData>) {
    let mut tree = Tree::new(256);
    let mut inputs = Vec::new();
    for f in 0..2 {
        let ents: Vec<Ent> = (0..60)
            .map(|i| put(&format!("k{:03}", f * 60 + i), 1 + i as u64, &value(i)))
            .collect();
        inputs.push(tree.add(1, &ents));
    }
    for f in 0..3usize {
        let ents: Vec<Ent> = (0..40)
            .map(|i| {
                let key = format!("k{:03}", (i * 3 + f) % 120);
                if i % 7 == 0 {
                    del(&key, (100 + 50 * f + i) as u64)
                } else {
                    put(&key, (100 + 50 * f + i) as u64, &value(i))
                }
            })
            .collect();
        inputs.push(tree.add(0, &ents));
    }
    (tree, inputs)
}

fn failure_options() -> CompactionOptions {
    CompactionOptions {
        target_file_size_base: 2048,
        ..opts()
    }
}

/// Checks a failed compaction left every input as it was and reported every file it created.
fn check_failure(
    tree: &Tree,
    inputs: &[FileMetaData],
    contents: &BTreeMap<u64, Vec<u8>>,
    created: &[u64],
    what: &str,
) {
    for f in inputs {
        assert_eq!(
            tree.fs.read(&table_path(f.number)).unwrap(),
            contents[&f.number],
            "{what}: input {} changed",
            f.number
        );
    }
    let inputs: Vec<u64> = inputs.iter().map(|f| f.number).collect();
    for name in tree.fs.list(Path::new(DIR)).unwrap() {
        let number: u64 = name.trim_end_matches(".sst").parse().unwrap();
        if !inputs.contains(&number) {
            assert!(
                created.contains(&number),
                "{what}: file {name} was created but not reported"
            );
        }
    }
}

#[test]
fn every_failing_write_sync_create_or_read_fails_the_job_and_changes_nothing() {
    // A clean run: how many operations of each kind the compaction does, and its result.
    let (mut clean, _) = failure_tree();
    let before: HashMap<FaultKind, u64> = KINDS.iter().map(|&k| (k, clean.fs.count(k))).collect();
    let mut c = whole_level(&mut clean, 0, &failure_options());
    let expected = clean.run_with(&mut c, &clean.ctx(), LATEST).unwrap();
    assert!(
        expected.outputs.len() >= 3,
        "{} outputs",
        expected.outputs.len()
    );
    let ops: HashMap<FaultKind, u64> = KINDS
        .iter()
        .map(|&k| (k, clean.fs.count(k) - before[&k]))
        .collect();
    let expected_entries: Vec<Vec<Ent>> = expected
        .outputs
        .iter()
        .map(|o| read_table(&clean.cache, o))
        .collect();

    let mut runs = 0;
    for &kind in KINDS {
        let ops = ops[&kind];
        assert!(ops > 0, "{kind:?}: the compaction does none");
        for n in 1..=ops {
            for errno in [libc::EIO, libc::ENOSPC] {
                let (mut tree, inputs) = failure_tree();
                let contents: BTreeMap<u64, Vec<u8>> = inputs
                    .iter()
                    .map(|f| (f.number, tree.fs.read(&table_path(f.number)).unwrap()))
                    .collect();
                let what = format!("{kind:?} #{n} errno {errno}");
                let at = tree.fs.count(kind) + n;
                tree.fs.inject(Fault {
                    partial: kind == FaultKind::Append,
                    ..Fault::once(kind, at, errno)
                });
                let version = tree.version.clone();
                let mut c = whole_level(&mut tree, 0, &failure_options());
                let err = match tree.run_with(&mut c, &tree.ctx(), LATEST) {
                    Ok(_) => panic!("{what}: the compaction succeeded"),
                    Err(e) => e,
                };
                assert!(
                    matches!(&err.error, Error::Io { source, .. } if source.raw_os_error() == Some(errno)),
                    "{what}: {}",
                    err.error
                );
                assert!(!err.cancelled());
                assert_eq!(tree.version, version);
                check_failure(&tree, &inputs, &contents, &err.created_outputs, &what);

                // A retry once the fault has passed produces the clean run's outputs.
                let mut c = whole_level(&mut tree, 0, &failure_options());
                let r = tree.run_with(&mut c, &tree.ctx(), LATEST).unwrap();
                let entries: Vec<Vec<Ent>> = r
                    .outputs
                    .iter()
                    .map(|o| read_table(&tree.cache, o))
                    .collect();
                assert_eq!(entries, expected_entries, "{what}: retry");
                runs += 1;
            }
        }
    }
    println!("{runs} failure points, operations per compaction: {ops:?}");
    assert!(runs > 50, "{runs} failure points");
}

const KINDS: &[FaultKind] = &[
    FaultKind::Create,
    FaultKind::Append,
    FaultKind::Sync,
    FaultKind::SyncDir,
    FaultKind::Read,
];

#[test]
fn a_damaged_input_block_is_corruption_naming_the_file_and_offset() {
    let (mut tree, inputs) = failure_tree();
    // Damage the middle of the second level-1 file: outputs before it are already written.
    let victim = &inputs[1];
    let path = table_path(victim.number);
    let mut bytes = tree.fs.read(&path).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    tree.fs.overwrite(&path, bytes.clone()).unwrap();
    let contents: BTreeMap<u64, Vec<u8>> = inputs
        .iter()
        .map(|f| (f.number, tree.fs.read(&table_path(f.number)).unwrap()))
        .collect();
    let version = tree.version.clone();
    let mut c = whole_level(&mut tree, 0, &failure_options());
    let err = tree.run_with(&mut c, &tree.ctx(), LATEST).unwrap_err();
    let Error::Corruption { message } = &err.error else {
        panic!("not corruption: {}", err.error);
    };
    assert!(
        message.contains(&format!("{:06}.sst", victim.number)),
        "{message}"
    );
    assert!(message.contains("offset"), "{message}");
    assert!(!err.created_outputs.is_empty(), "outputs before the damage");
    assert_eq!(tree.version, version);
    check_failure(
        &tree,
        &inputs,
        &contents,
        &err.created_outputs,
        "corruption",
    );
}

#[test]
fn cancellation_stops_the_job_and_reports_its_outputs() {
    // Set before the start: nothing is created.
    let (mut tree, inputs) = failure_tree();
    let mut c = whole_level(&mut tree, 0, &failure_options());
    let flag = AtomicBool::new(true);
    let mut next = 500;
    let err = run_compaction(
        &mut c,
        &tree.ctx(),
        LATEST,
        &mut || {
            next += 1;
            next
        },
        &flag,
    )
    .unwrap_err();
    assert!(err.cancelled());
    assert!(err.created_outputs.is_empty());
    assert_eq!(tree.fs.list(Path::new(DIR)).unwrap().len(), inputs.len());

    // Set while the second output is being opened: the job stops right after.
    let mut c = whole_level(&mut tree, 0, &failure_options());
    let flag = AtomicBool::new(false);
    let mut allocated = Vec::new();
    let err = run_compaction(
        &mut c,
        &tree.ctx(),
        LATEST,
        &mut || {
            allocated.push(600 + allocated.len() as u64);
            if allocated.len() == 2 {
                flag.store(true, Ordering::Release);
            }
            *allocated.last().unwrap()
        },
        &flag,
    )
    .unwrap_err();
    assert!(err.cancelled(), "{}", err.error);
    assert_eq!(err.created_outputs, vec![600, 601]);
    assert_eq!(err.stats.output_files, 1);
    assert_eq!(
        tree.fs.list(Path::new(DIR)).unwrap().len(),
        inputs.len() + 2
    );
    assert_eq!(tree.version.num_files(0), 3);
}

#[test]
fn outputs_survive_a_power_loss_once_the_job_returns() {
    use groupkv::fs::PowerLoss;
    for how in [
        PowerLoss::DropUnsynced,
        PowerLoss::TearUnsynced { seed: 7 },
        PowerLoss::TearWithGarbage { seed: 7 },
        PowerLoss::DropPages { seed: 7 },
    ] {
        let (mut tree, _) = failure_tree();
        let mut c = whole_level(&mut tree, 0, &failure_options());
        let r = tree.run_with(&mut c, &tree.ctx(), LATEST).unwrap();
        assert!(r.outputs.len() >= 3);
        let before: Vec<Vec<u8>> = r
            .outputs
            .iter()
            .map(|o| tree.fs.read(&table_path(o.number)).unwrap())
            .collect();
        tree.fs.power_loss(how);
        let cache = new_cache(&tree.fs);
        for (o, bytes) in r.outputs.iter().zip(&before) {
            assert_eq!(
                tree.fs.read(&table_path(o.number)).ok().as_ref(),
                Some(bytes),
                "{how:?}: output {} after power loss",
                o.number
            );
            let entries = read_table(&cache, o);
            assert_eq!(entries.first().unwrap().internal().0, o.smallest);
            assert_eq!(entries.last().unwrap().internal().0, o.largest);
        }
    }
}
