//! Corruption of a real database directory's WAL: flip a bit at every offset class of every
//! physical record (checksum, length, type, first/middle/last payload byte, block trailer) and
//! truncate at every class of offset (record and fragment boundaries, inside headers, inside
//! payloads, inside trailers, block boundaries); then open under each recovery mode.
//!
//! Expected, as RocksDB documents its `WALRecoveryMode`s (damage in record `d`):
//! * `point_in_time`: opens, and holds exactly the writes before `d` (never a hole).
//! * `absolute_consistency`: fails with `Corruption` on any detectable damage; a truncation at
//!   a record boundary is indistinguishable from a clean end and opens with what is there.
//! * `tolerate_corrupted_tail_records`: fails with `Corruption` on interior damage; damage that
//!   looks like a torn tail (in the last block, or a truncation) opens with the writes before `d`.
//! * `skip_any_corrupted_records`: opens; drops `d` (and the rest of its block), keeps every
//!   write before it and every write that starts in a later block.
//!
//! In every mode every batch is whole, no key appears that was never written, nothing panics,
//! and a damaged WAL is never removed: a refused open leaves it as it was, one that recovers
//! past the damage keeps it byte for byte as `<name>.corrupt`.
//! Bytes of a block trailer are never read, so flipping them changes nothing (as in LevelDB).
//!
//! A sample of the corruptions is also replayed on `MemFs` with a crash at each I/O operation
//! of the recovery (which folds the damaged WAL into a base): nothing more may be lost.

// Offsets and indices here are small and the harness runs on 64-bit targets.
#![allow(clippy::cast_possible_truncation, clippy::needless_range_loop)]

mod crash;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crash::{log_damaged, options_on, CrashFs};
use groupkv::fs::{FileSystem, MemFs, PowerLoss};
use groupkv::wal::format::{BLOCK_SIZE, HEADER_SIZE};
use groupkv::{Error, Options, WalRecoveryMode, WriteBatch, WriteOptions, DB};

const MODES: [WalRecoveryMode; 4] = [
    WalRecoveryMode::PointInTime,
    WalRecoveryMode::AbsoluteConsistency,
    WalRecoveryMode::TolerateCorruptedTailRecords,
    WalRecoveryMode::SkipAnyCorruptedRecords,
];

/// Write `i` puts `r<i>/a` (sized by `value_len`) and `r<i>/b` in one batch.
fn batch(i: usize, value_len: usize) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.put(
        format!("r{i:04}/a").as_bytes(),
        &vec![b'a' + (i % 26) as u8; value_len],
    )
    .expect("put");
    b.put(format!("r{i:04}/b").as_bytes(), format!("b{i}").as_bytes())
        .expect("put");
    b
}

fn value_len(i: usize) -> usize {
    match i {
        5 => 40_000,   // FIRST + LAST
        12 => 100_000, // FIRST + MIDDLE + MIDDLE + LAST
        _ => 100 + (i * 397) % 1900,
    }
}

/// One physical record of the WAL.
#[derive(Debug, Clone, Copy)]
struct Frag {
    off: usize,
    len: usize,
    record: usize,
}

#[derive(Debug)]
struct Layout {
    frags: Vec<Frag>,
    /// Zero padding at block ends: (start, len).
    trailers: Vec<(usize, usize)>,
    /// Per record: offset of its first fragment and the end of its last.
    records: Vec<(usize, usize)>,
}

impl Layout {
    fn parse(wal: &[u8]) -> Layout {
        let mut l = Layout {
            frags: Vec::new(),
            trailers: Vec::new(),
            records: Vec::new(),
        };
        let mut pos = 0;
        let mut record = 0;
        let mut start = 0;
        while pos < wal.len() {
            let left = BLOCK_SIZE - pos % BLOCK_SIZE;
            if left < HEADER_SIZE {
                l.trailers.push((pos, left));
                pos += left;
                continue;
            }
            if wal.len() - pos < HEADER_SIZE || wal[pos..pos + HEADER_SIZE] == [0; HEADER_SIZE] {
                // The zeroed space the writer allocates ahead of its records.
                break;
            }
            let len = usize::from(u16::from_le_bytes([wal[pos + 4], wal[pos + 5]]));
            let kind = wal[pos + 6];
            if pos == 0
                && kind == 1
                && len == 12
                && wal[HEADER_SIZE + 8..HEADER_SIZE + 12] == [0; 4]
            {
                // The marker every WAL starts with (an empty batch carrying the next
                // sequence): not a write. Records and fragments count writes only, so the
                // marker is left out of the damage cases here (regression tests of the
                // continuity rule cover it).
                pos += HEADER_SIZE + len;
                continue;
            }
            if kind == 1 || kind == 2 {
                start = pos;
            }
            l.frags.push(Frag {
                off: pos,
                len,
                record,
            });
            pos += HEADER_SIZE + len;
            if kind == 1 || kind == 4 {
                l.records.push((start, pos));
                record += 1;
            }
        }
        l
    }

    fn block_of(off: usize) -> usize {
        off / BLOCK_SIZE
    }
}

/// Builds the pristine directory: `n` writes, one of them sized so that its block ends in a
/// 3-byte trailer. Returns the directory, the WAL's path and bytes, and each write's value size.
/// Where the WAL's last record ends.
fn records_end(wal: &[u8]) -> usize {
    Layout::parse(wal).records.last().map_or(0, |r| r.1)
}

fn build(root: &Path, n: usize) -> (PathBuf, PathBuf, Vec<u8>, Vec<usize>) {
    let dir = root.join("pristine");
    let db = DB::open(&dir, Options::default()).expect("open");
    let wal = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("a WAL");
    let mut lens = Vec::new();
    for i in 0..n {
        let mut len = value_len(i);
        let mut b = batch(i, len);
        if i == 8 {
            // End this record 3 bytes before its block ends, leaving a trailer.
            let size = records_end(&std::fs::read(&wal).expect("read WAL"));
            let room = BLOCK_SIZE - size % BLOCK_SIZE;
            if room > HEADER_SIZE + 64 {
                let target = room - 3 - HEADER_SIZE;
                let mut v = target;
                while v > 0 {
                    b = batch(i, v);
                    len = v;
                    if b.approximate_size() <= target {
                        break;
                    }
                    v -= 1;
                }
                assert_eq!(
                    b.approximate_size(),
                    target,
                    "could not size the trailer record"
                );
            }
        }
        db.write(&WriteOptions::default(), &b).expect("write");
        lens.push(len);
    }
    // The directory a crashed session leaves: CURRENT and the MANIFEST as open wrote them
    // (its log number is the WAL's), and the WAL, whose records carry CRC-32C. (A clean close
    // would flush the WAL into a table, leaving no WAL to damage.)
    // The records, without the zeroed space the writer allocated after them (the reader's
    // handling of that space is tested in wal_log and wal_torn_tail).
    let mut bytes = std::fs::read(&wal).expect("read WAL");
    bytes.truncate(records_end(&bytes));
    let crashed: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "LOCK") && *p != wal)
        .map(|p| {
            let data = std::fs::read(&p).expect("read");
            (p, data)
        })
        .collect();
    assert!(
        crashed.iter().any(|(p, _)| p.ends_with("CURRENT")),
        "the crashed directory has CURRENT"
    );
    db.close().expect("close");
    for entry in std::fs::read_dir(&dir).expect("list") {
        let p = entry.expect("entry").path();
        if p.file_name().is_some_and(|n| n != "LOCK") {
            std::fs::remove_file(&p).expect("remove");
        }
    }
    for (p, data) in &crashed {
        std::fs::write(p, data).expect("restore");
    }
    std::fs::write(&wal, &bytes).expect("restore WAL");
    (dir, wal, bytes, lens)
}

/// Which writes are present; `Err` if one is partial or has a wrong value.
fn present(db: &DB, n: usize, lens: &[usize]) -> Result<Vec<bool>, String> {
    let mut out = Vec::new();
    for i in 0..n {
        let a = db
            .get(format!("r{i:04}/a").as_bytes())
            .map_err(|e| e.to_string())?;
        let b = db
            .get(format!("r{i:04}/b").as_bytes())
            .map_err(|e| e.to_string())?;
        match (a, b) {
            (None, None) => out.push(false),
            (Some(a), Some(b)) => {
                if a != vec![b'a' + (i % 26) as u8; lens[i]] || b != format!("b{i}").as_bytes() {
                    return Err(format!("write {i} has a value that was never written"));
                }
                out.push(true);
            }
            _ => return Err(format!("write {i} is torn: one of its two keys is missing")),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly the writes before this one.
    Prefix(usize),
    /// Open fails with `Corruption`.
    Corruption,
    /// Either.
    PrefixOrCorruption(usize),
    /// `skip_any`: these writes must be present, this one absent, all whole.
    Skip {
        before: usize,
        damaged: usize,
        from_block: usize,
    },
}

fn expected(
    mode: WalRecoveryMode,
    damaged: Option<usize>,
    tail: bool,
    boundary: bool,
    l: &Layout,
    block: usize,
) -> Expect {
    use WalRecoveryMode::*;
    let n = l.records.len();
    let Some(d) = damaged else {
        return Expect::Prefix(n);
    };
    match mode {
        PointInTime => Expect::Prefix(d),
        AbsoluteConsistency if boundary => Expect::Prefix(d),
        AbsoluteConsistency => Expect::Corruption,
        TolerateCorruptedTailRecords if boundary || tail => Expect::Prefix(d),
        TolerateCorruptedTailRecords => Expect::Corruption,
        SkipAnyCorruptedRecords if tail || boundary => Expect::Prefix(d),
        SkipAnyCorruptedRecords => Expect::Skip {
            before: d,
            damaged: d,
            from_block: block + 1,
        },
        _ => Expect::Prefix(d),
    }
}

fn check(
    result: groupkv::Result<DB>,
    want: Expect,
    l: &Layout,
    lens: &[usize],
) -> Result<(), String> {
    let n = l.records.len();
    let db = match (result, want) {
        (Err(Error::Corruption { .. }), Expect::Corruption | Expect::PrefixOrCorruption(_)) => {
            return Ok(())
        }
        (Err(e), _) => return Err(format!("open failed: {e}")),
        (Ok(_), Expect::Corruption) => return Err("opened despite the damage".into()),
        (Ok(db), _) => db,
    };
    let got = present(&db, n, lens)?;
    db.close().map_err(|e| format!("close: {e}"))?;
    match want {
        Expect::Prefix(p) | Expect::PrefixOrCorruption(p) => {
            let exp: Vec<bool> = (0..n).map(|i| i < p).collect();
            if got != exp {
                return Err(format!(
                    "expected exactly writes 0..{p}, got {:?}",
                    got.iter()
                        .enumerate()
                        .filter(|x| *x.1)
                        .map(|x| x.0)
                        .collect::<Vec<_>>()
                ));
            }
        }
        Expect::Skip {
            before,
            damaged,
            from_block,
        } => {
            for i in 0..n {
                let first_block = Layout::block_of(l.records[i].0);
                let must = i < before || first_block >= from_block;
                if must && !got[i] {
                    return Err(format!("skip_any lost intact write {i}"));
                }
                if i == damaged && got[i] {
                    return Err(format!("skip_any kept damaged write {i}"));
                }
            }
        }
        Expect::Corruption => unreachable!(),
    }
    Ok(())
}

/// Copies the pristine directory and replaces its WAL with `bytes`.
fn prepare(pristine: &Path, wal: &Path, work: &Path, bytes: &[u8]) {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).expect("mkdir");
    for e in std::fs::read_dir(pristine).expect("list").flatten() {
        std::fs::copy(e.path(), work.join(e.file_name())).expect("copy");
    }
    std::fs::write(work.join(wal.file_name().expect("name")), bytes).expect("write WAL");
}

/// A WAL holding damage must still be in `work` after the open, under its name (a refused
/// open) or quarantined, byte for byte.
fn damaged_wal_kept(work: &Path, wal: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = wal.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let kept = [name.to_string(), format!("{name}.corrupt")]
        .iter()
        .any(|n| std::fs::read(work.join(n)).ok().as_deref() == Some(bytes));
    if kept || !log_damaged(bytes, groupkv::wal::format::WAL_CHECKSUM) {
        Ok(())
    } else {
        Err("the damaged WAL was removed".into())
    }
}

struct Case {
    what: String,
    bytes: Vec<u8>,
    damaged: Option<usize>,
    /// Damage that a crash could have left (in the last block, or a cut).
    tail: bool,
    /// A cut at a record boundary: indistinguishable from a clean end.
    boundary: bool,
    block: usize,
}

fn cases(wal: &[u8], l: &Layout) -> Vec<Case> {
    let last_block = Layout::block_of(wal.len() - 1);
    let mut v = Vec::new();
    for f in &l.frags {
        let block = Layout::block_of(f.off);
        let mut offsets = vec![
            ("crc[0]", f.off),
            ("crc[3]", f.off + 3),
            ("len[0]", f.off + 4),
            ("len[1]", f.off + 5),
            ("type", f.off + 6),
        ];
        if f.len > 0 {
            offsets.push(("payload first", f.off + HEADER_SIZE));
            offsets.push(("payload middle", f.off + HEADER_SIZE + f.len / 2));
            offsets.push(("payload last", f.off + HEADER_SIZE + f.len - 1));
        }
        for (name, at) in offsets {
            for bit in [0u8, 7] {
                let mut b = wal.to_vec();
                b[at] ^= 1 << bit;
                // A length grown past the end of the file in the last block is what a torn
                // tail looks like; any other change fails the checksum.
                let new_len = usize::from(u16::from_le_bytes([b[f.off + 4], b[f.off + 5]]));
                let tail = block == last_block
                    && name.starts_with("len")
                    && f.off + HEADER_SIZE + new_len > wal.len();
                v.push(Case {
                    what: format!(
                        "flip bit {bit} of {name} of record {} (offset {at})",
                        f.record
                    ),
                    bytes: b,
                    damaged: Some(f.record),
                    tail,
                    boundary: false,
                    block,
                });
            }
        }
        // Truncations inside this fragment.
        for (name, cut) in [
            ("at its header", f.off),
            ("inside its header", f.off + 3),
            ("after its header", f.off + HEADER_SIZE),
            ("inside its payload", f.off + HEADER_SIZE + f.len / 2),
        ] {
            let (start, _) = l.records[f.record];
            let boundary = cut == start;
            v.push(Case {
                what: format!("truncate {name} of record {} (to {cut} bytes)", f.record),
                bytes: wal[..cut].to_vec(),
                damaged: Some(f.record),
                tail: true,
                boundary,
                block,
            });
        }
    }
    for &(start, len) in &l.trailers {
        let mut b = wal.to_vec();
        b[start + len - 1] ^= 0x40;
        v.push(Case {
            what: format!("flip a trailer byte at {}", start + len - 1),
            bytes: b,
            damaged: None,
            tail: false,
            boundary: false,
            block: Layout::block_of(start),
        });
        // A cut inside the trailer, after a complete record: the writer may die there.
        let next = l.records.iter().position(|r| r.0 >= start + len);
        v.push(Case {
            what: format!("truncate inside the trailer at {}", start + 1),
            bytes: wal[..start + 1].to_vec(),
            damaged: next,
            tail: true,
            boundary: false,
            block: Layout::block_of(start),
        });
    }
    v
}

#[test]
fn corrupt_every_offset_class_under_every_mode() {
    const N: usize = 30;
    let root = tempfile::tempdir().expect("tempdir");
    let (pristine, wal_path, wal, lens) = build(root.path(), N);
    let l = Layout::parse(&wal);
    assert_eq!(l.records.len(), N, "one WAL record per write");
    assert!(
        !l.trailers.is_empty(),
        "the WAL has no block trailer to corrupt"
    );
    assert!(l.frags.len() > N + 3, "the WAL has no fragmented record");
    let cases = cases(&wal, &l);
    let work = root.path().join("work");
    let mut failures = Vec::new();
    let mut opens = 0;
    for c in &cases {
        for mode in MODES {
            // A cut inside the trailer leaves a few zero bytes where a header would start.
            let want = match (mode, c.what.starts_with("truncate inside the trailer")) {
                (WalRecoveryMode::AbsoluteConsistency, true) => {
                    Expect::PrefixOrCorruption(c.damaged.unwrap_or(N))
                }
                _ => expected(mode, c.damaged, c.tail, c.boundary, &l, c.block),
            };
            prepare(&pristine, &wal_path, &work, &c.bytes);
            let opts = Options {
                wal_recovery_mode: mode,
                create_if_missing: false,
                ..Options::default()
            };
            opens += 1;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                DB::open(&work, opts.clone())
            }));
            let mut outcome = match r {
                Ok(r) => check(r, want, &l, &lens),
                Err(_) => Err("panicked".into()),
            };
            if outcome.is_ok() {
                outcome = damaged_wal_kept(&work, &wal_path, &c.bytes);
            }
            if let Err(e) = outcome {
                failures.push(format!(
                    "{} under {}: expected {want:?}: {e}",
                    c.what,
                    mode.name()
                ));
            }
        }
    }
    println!(
        "corruption: {} corruptions of a {}-byte WAL ({} fragments, {} trailers) x 4 modes = \
         {opens} recoveries, {} violations",
        cases.len(),
        wal.len(),
        l.frags.len(),
        l.trailers.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Loads a damaged WAL into a fresh `MemFs` database directory, durably.
fn load(bytes: &[u8], name: &str) -> MemFs {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    mem.create_dir_all(dir).expect("mkdir");
    let mut f = mem.create(&dir.join(name)).expect("create");
    f.append(bytes).expect("append");
    f.sync().expect("sync");
    mem.sync_dir(dir).expect("sync dir");
    mem
}

type Pairs = Vec<(Option<Vec<u8>>, Option<Vec<u8>>)>;

fn state(db: &DB, n: usize) -> Pairs {
    (0..n)
        .map(|i| {
            (
                db.get(format!("r{i:04}/a").as_bytes()).expect("get"),
                db.get(format!("r{i:04}/b").as_bytes()).expect("get"),
            )
        })
        .collect()
}

#[test]
fn crash_during_recovery_of_a_corrupt_wal_loses_nothing_more() {
    const N: usize = 30;
    let root = tempfile::tempdir().expect("tempdir");
    let (_, wal_path, wal, _) = build(root.path(), N);
    let name = wal_path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    let l = Layout::parse(&wal);
    let all = cases(&wal, &l);
    let mut crashes = 0;
    let mut failures = Vec::new();
    for mode in [
        WalRecoveryMode::PointInTime,
        WalRecoveryMode::SkipAnyCorruptedRecords,
    ] {
        for c in all.iter().step_by(11) {
            let open = |fs: Arc<dyn FileSystem>| {
                DB::open(
                    "/db",
                    groupkv::Options {
                        wal_recovery_mode: mode,
                        ..options_on(fs)
                    },
                )
            };
            let mem = load(&c.bytes, &name);
            let cfs = CrashFs::new(mem.clone(), -1);
            let first = match open(Arc::new(cfs.clone())) {
                Ok(db) => {
                    let s = state(&db, N);
                    crash::crash(db);
                    s
                }
                Err(e) => {
                    failures.push(format!("{}: first recovery failed: {e}", c.what));
                    continue;
                }
            };
            for k in 0..=cfs.ops() {
                let mem = load(&c.bytes, &name);
                if let Ok(db) = open(Arc::new(CrashFs::new(mem.clone(), k as i64))) {
                    crash::crash(db);
                }
                mem.power_loss(PowerLoss::TearWithGarbage { seed: k + 1 });
                crashes += 1;
                match open(Arc::new(mem.clone())) {
                    Ok(db) => {
                        if state(&db, N) != first {
                            failures.push(format!(
                                "{} under {}: a crash at I/O {k} of recovery changed the state",
                                c.what,
                                mode.name()
                            ));
                        }
                        crash::crash(db);
                    }
                    Err(e) => failures.push(format!(
                        "{} under {}: reopen after a crash at I/O {k} failed: {e}",
                        c.what,
                        mode.name()
                    )),
                }
            }
        }
    }
    println!(
        "corruption + crash during recovery: {crashes} crashes, {} violations",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two WALs (the records of the pristine WAL split at record 15): damage in the first one must
/// not let point-in-time recovery replay the second (that would be a hole), while
/// `skip_any_corrupted_records` keeps everything but the damaged record.
#[test]
fn damage_in_an_older_wal_never_yields_a_hole() {
    const N: usize = 30;
    const SPLIT: usize = 15;
    let root = tempfile::tempdir().expect("tempdir");
    let (_, wal_path, wal, lens) = build(root.path(), N);
    let name = wal_path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    // The logical records, read back with the public reader.
    let mem = load(&wal, &name);
    let file = mem
        .open_sequential(&Path::new("/db").join(&name))
        .expect("open");
    let mut reader =
        groupkv::wal::Reader::new(file, name.clone(), WalRecoveryMode::AbsoluteConsistency);
    let mut records = Vec::new();
    let mut rec = Vec::new();
    while reader.read_record(&mut rec).expect("read") {
        // Leave out the marker (an empty batch): the two WALs below hold writes only.
        if rec.len() == 12 && rec[8..12] == [0; 4] {
            continue;
        }
        records.push(rec.clone());
    }
    assert_eq!(records.len(), N);
    let encode = |recs: &[Vec<u8>]| {
        let m = MemFs::new();
        m.create_dir_all(Path::new("/x")).expect("mkdir");
        // The directory below has no CURRENT: a first-layout one, whose WALs carry IEEE CRCs.
        let mut w = groupkv::wal::Writer::with_checksum(
            m.create(Path::new("/x/f")).expect("create"),
            groupkv::wal::format::FIRST_LAYOUT_CHECKSUM,
        );
        for r in recs {
            w.add_record(&[r]).expect("add");
        }
        m.read(Path::new("/x/f")).expect("read")
    };
    let first = encode(&records[..SPLIT]);
    let second = encode(&records[SPLIT..]);
    let first_layout = Layout::parse(&first);
    let mut failures = Vec::new();
    let mut runs = 0;
    for d in 0..SPLIT {
        let (start, end) = first_layout.records[d];
        let mut damaged = first.clone();
        damaged[(start + end) / 2] ^= 0x10;
        for mode in MODES {
            let mem = MemFs::new();
            let dir = Path::new("/db");
            mem.create_dir_all(dir).expect("mkdir");
            for (file, bytes) in [("000001.log", &damaged), ("000002.log", &second)] {
                let mut f = mem.create(&dir.join(file)).expect("create");
                f.append(bytes).expect("append");
                f.sync().expect("sync");
            }
            mem.sync_dir(dir).expect("sync dir");
            let r = DB::open(
                "/db",
                groupkv::Options {
                    wal_recovery_mode: mode,
                    ..options_on(Arc::new(mem.clone()))
                },
            );
            runs += 1;
            let outcome = match (mode, r) {
                (WalRecoveryMode::PointInTime, Ok(db)) => present(&db, N, &lens).and_then(|got| {
                    let exp: Vec<bool> = (0..N).map(|i| i < d).collect();
                    (got == exp)
                        .then_some(())
                        .ok_or(format!("expected exactly 0..{d}"))
                }),
                (WalRecoveryMode::SkipAnyCorruptedRecords, Ok(db)) => present(&db, N, &lens)
                    .and_then(|got| {
                        // The rest of the damaged block goes with it; everything else stays.
                        let bad_block = Layout::block_of((start + end) / 2);
                        let must = |i: usize| {
                            i < d
                                || i >= SPLIT
                                || Layout::block_of(first_layout.records[i].0) > bad_block
                        };
                        match (0..N).find(|&i| (must(i) && !got[i]) || (i == d && got[i])) {
                            None => Ok(()),
                            Some(i) => Err(format!("write {i} wrongly present or absent")),
                        }
                    }),
                (
                    WalRecoveryMode::AbsoluteConsistency
                    | WalRecoveryMode::TolerateCorruptedTailRecords,
                    Err(Error::Corruption { .. }),
                ) => Ok(()),
                (_, Ok(_)) => Err("opened despite interior damage".into()),
                (_, Err(e)) => Err(format!("open failed: {e}")),
            };
            if let Err(e) = outcome {
                failures.push(format!(
                    "record {d} of the older WAL under {}: {e}",
                    mode.name()
                ));
            }
        }
    }
    println!(
        "corruption across two WALs: {runs} recoveries, {} violations",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
