//! Whole directories both ways with LevelDB (`tests/compat/run.sh`, step `directories`): writes
//! groupkv directories for LevelDB 1.23 to open, and opens directories LevelDB wrote.
//!
//! Usage: `cargo run --release --example compat_db -- COMMAND ...`
//!
//! * `write DIR MODEL` — a new database with 64 KiB write buffers (so several tables),
//!   overwrites, deletes (of keys already in tables too), batches, an empty key, a binary key,
//!   a 1000-byte key and values larger than a block; then a clean `close`. MODEL receives the
//!   live keys, sorted, one per line: `<hex key> <hex value>` (an empty value as `-`);
//!   `MODEL.deleted` the keys deleted and absent at the end, one hex key per line.
//! * `kill DIR ORDER ACKED` — writes until it is killed (`kill -9` by the harness): before each
//!   write it appends the write to ORDER (`put <hex key> <hex value>` or `del <hex key>`), and
//!   after each acknowledged `sync` write (one in eight) its index (from 0) to ACKED. Both are
//!   plain `write`s, so they survive the process.
//! * `extend DIR MODEL` — opens DIR (a database LevelDB wrote), checks that every key of MODEL
//!   reads back (gets, then one iterator scan that must list exactly MODEL) and that every key
//!   of `MODEL.deleted` is absent, then writes more (overwrites, deletes, new keys), closes, and
//!   rewrites MODEL and `MODEL.deleted` to match.
//!
//! Exits non-zero with a message on the first error or difference.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::process::ExitCode;

use groupkv::{Options, ReadOptions, WriteBatch, WriteOptions, DB};

/// xorshift64: the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn key(n: u64) -> Vec<u8> {
    format!("key{n:05}").into_bytes()
}

/// A value for write `op`: mostly short and compressible, sometimes empty, sometimes larger
/// than a 4 KiB block (when `large` is allowed).
fn value(rng: &mut Rng, op: u64, large: bool) -> Vec<u8> {
    let r = rng.next();
    if large && op % 97 == 5 {
        // Both below 2^16: the conversions cannot fail.
        let letter = b'a' + u8::try_from(op % 26).unwrap_or(0);
        return vec![letter; 5000 + usize::try_from(r % 3000).unwrap_or(0)];
    }
    match r % 10 {
        0 => Vec::new(),
        1 => (0..r % 100).map(|_| rng.next().to_le_bytes()[0]).collect(),
        _ => {
            let mut v = Vec::new();
            while v.len() < usize::try_from(r % 200).unwrap_or(0) {
                v.extend_from_slice(format!("value-{op}-").as_bytes());
            }
            v
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s == "-" {
        return Ok(Vec::new());
    }
    if s.len() % 2 != 0 {
        return Err(format!("odd hex length: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("{s}: {e}")))
        .collect()
}

fn small_buffers(create: bool) -> Options {
    Options {
        create_if_missing: create,
        error_if_exists: create,
        write_buffer_size: 64 << 10,
        ..Options::default()
    }
}

/// The live keys and the deleted ones of a run, kept in step with the writes.
#[derive(Default)]
struct Model {
    live: BTreeMap<Vec<u8>, Vec<u8>>,
    deleted: BTreeSet<Vec<u8>>,
}

impl Model {
    fn put(&mut self, k: &[u8], v: &[u8]) {
        self.deleted.remove(k);
        self.live.insert(k.to_vec(), v.to_vec());
    }

    fn delete(&mut self, k: &[u8]) {
        self.live.remove(k);
        self.deleted.insert(k.to_vec());
    }

    fn save(&self, path: &str) -> Result<(), String> {
        let mut out = String::new();
        for (k, v) in &self.live {
            let v = if v.is_empty() { "-".into() } else { hex(v) };
            out.push_str(&format!("{} {v}\n", hex(k)));
        }
        std::fs::write(path, out).map_err(|e| format!("writing {path}: {e}"))?;
        let deleted: String = self.deleted.iter().map(|k| hex(k) + "\n").collect();
        let path = format!("{path}.deleted");
        std::fs::write(&path, deleted).map_err(|e| format!("writing {path}: {e}"))
    }

    fn load(path: &str) -> Result<Model, String> {
        let mut m = Model::default();
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        for line in text.lines() {
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| format!("{path}: bad line {line:?}"))?;
            m.live.insert(unhex(k)?, unhex(v)?);
        }
        let path = format!("{path}.deleted");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        for line in text.lines() {
            m.deleted.insert(unhex(line)?);
        }
        Ok(m)
    }
}

/// Random puts and deletes over `keys` keys, with a batch every 500 writes.
fn workload(
    db: &DB,
    model: &mut Model,
    rng: &mut Rng,
    ops: std::ops::Range<u64>,
    keys: u64,
) -> Result<(), String> {
    let wo = WriteOptions::default();
    for op in ops {
        let k = key(rng.next() % keys);
        if op % 500 == 499 {
            let mut batch = WriteBatch::new();
            for _ in 0..3 {
                let (k, v) = (key(rng.next() % keys), value(rng, op, true));
                batch.put(&k, &v).map_err(|e| format!("batch {op}: {e}"))?;
                model.put(&k, &v);
            }
            batch.delete(&k).map_err(|e| format!("batch {op}: {e}"))?;
            model.delete(&k);
            db.write(&wo, &batch)
                .map_err(|e| format!("batch {op}: {e}"))?;
        } else if rng.next() % 100 < 15 {
            db.delete(&wo, &k)
                .map_err(|e| format!("delete {op}: {e}"))?;
            model.delete(&k);
        } else {
            let v = value(rng, op, true);
            db.put(&wo, &k, &v).map_err(|e| format!("put {op}: {e}"))?;
            model.put(&k, &v);
        }
    }
    Ok(())
}

fn tables(dir: &str) -> Result<usize, String> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| format!("listing {dir}: {e}"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        .count())
}

fn write(dir: &str, model_path: &str) -> Result<(), String> {
    let db = DB::open(dir, small_buffers(true)).map_err(|e| format!("open {dir}: {e}"))?;
    let mut model = Model::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let wo = WriteOptions::default();
    let special: [(Vec<u8>, &[u8]); 4] = [
        (Vec::new(), b"the empty key"),
        (vec![0], b"a zero byte"),
        (vec![0xff, 0xff], b""),
        (vec![b'L'; 1000], b"a 1000-byte key"),
    ];
    for (k, v) in &special {
        db.put(&wo, k, v).map_err(|e| format!("put: {e}"))?;
        model.put(k, v);
    }
    workload(&db, &mut model, &mut rng, 0..6000, 2500)?;
    // Deletes of keys that are in tables by now, and the zero-byte key.
    for n in (0..2500).step_by(7) {
        db.delete(&wo, &key(n))
            .map_err(|e| format!("delete: {e}"))?;
        model.delete(&key(n));
    }
    db.delete(&wo, &[0]).map_err(|e| format!("delete: {e}"))?;
    model.delete(&[0]);
    workload(&db, &mut model, &mut rng, 6000..7000, 2500)?;
    db.close().map_err(|e| format!("close: {e}"))?;
    model.save(model_path)?;
    println!(
        "compat_db: {} live and {} deleted keys in {dir}, {} tables",
        model.live.len(),
        model.deleted.len(),
        tables(dir)?
    );
    Ok(())
}

fn append(file: &mut File, line: &str) -> Result<(), String> {
    file.write_all(line.as_bytes())
        .map_err(|e| format!("logging: {e}"))
}

fn kill(dir: &str, order: &str, acked: &str) -> Result<(), String> {
    let db = DB::open(dir, small_buffers(true)).map_err(|e| format!("open {dir}: {e}"))?;
    let open = |p: &str| {
        OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(p)
            .map_err(|e| format!("creating {p}: {e}"))
    };
    let (mut order, mut acked) = (open(order)?, open(acked)?);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for op in 0..10_000_000u64 {
        let k = key(rng.next() % 3000);
        let wo = WriteOptions {
            sync: op % 8 == 7,
            ..WriteOptions::default()
        };
        // Small values: each WAL record is one short `write`, which a kill cannot tear.
        if rng.next() % 100 < 15 {
            append(&mut order, &format!("del {}\n", hex(&k)))?;
            db.delete(&wo, &k)
                .map_err(|e| format!("delete {op}: {e}"))?;
        } else {
            let v = value(&mut rng, op, false);
            let shown = if v.is_empty() { "-".into() } else { hex(&v) };
            append(&mut order, &format!("put {} {shown}\n", hex(&k)))?;
            db.put(&wo, &k, &v).map_err(|e| format!("put {op}: {e}"))?;
        }
        if wo.sync {
            append(&mut acked, &format!("{op}\n"))?;
        }
    }
    Err("compat_db kill: never killed".into())
}

fn extend(dir: &str, model_path: &str) -> Result<(), String> {
    let mut model = Model::load(model_path)?;
    let db = DB::open(dir, small_buffers(false)).map_err(|e| format!("open {dir}: {e}"))?;
    for (k, v) in &model.live {
        let got = db.get(k).map_err(|e| format!("get {}: {e}", hex(k)))?;
        if got.as_deref() != Some(v.as_slice()) {
            return Err(format!(
                "get {}: {:?} instead of the value written",
                hex(k),
                got.map(|g| hex(&g))
            ));
        }
    }
    for k in &model.deleted {
        if let Some(v) = db.get(k).map_err(|e| format!("get {}: {e}", hex(k)))? {
            return Err(format!("deleted key {} reads {}", hex(k), hex(&v)));
        }
    }
    let mut it = db
        .iter(&ReadOptions::default())
        .map_err(|e| format!("iterator: {e}"))?;
    it.seek_to_first();
    let mut expect = model.live.iter();
    let mut n = 0usize;
    while it.valid() {
        match expect.next() {
            Some((k, v)) if it.key() == k.as_slice() && it.value() == v.as_slice() => n += 1,
            want => {
                return Err(format!(
                    "scan entry {n}: {} where {:?} was expected",
                    hex(it.key()),
                    want.map(|(k, _)| hex(k))
                ))
            }
        }
        it.next();
    }
    it.status().map_err(|e| format!("scan: {e}"))?;
    if let Some((k, _)) = expect.next() {
        return Err(format!(
            "the scan ended after {n} entries, before {}",
            hex(k)
        ));
    }
    drop(it);
    let (read, deleted) = (n, model.deleted.len());
    let mut rng = Rng(0xd1b5_4a32_d192_ed03);
    workload(&db, &mut model, &mut rng, 0..2000, 4000)?;
    db.close().map_err(|e| format!("close: {e}"))?;
    model.save(model_path)?;
    println!(
        "compat_db: read {read} keys (gets and a scan) and {deleted} deleted keys absent in \
         {dir}; wrote 2000 more, {} tables of ours",
        tables(dir)?
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["write", dir, model] => write(dir, model),
        ["kill", dir, order, acked] => kill(dir, order, acked),
        ["extend", dir, model] => extend(dir, model),
        _ => {
            Err("usage: compat_db write DIR MODEL | kill DIR ORDER ACKED | extend DIR MODEL".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compat_db: {e}");
            ExitCode::FAILURE
        }
    }
}
