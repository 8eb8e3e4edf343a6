//! The expected state, kept outside the database (RocksDB's expected-values file).
//!
//! One 64-bit word per key in a memory-mapped file: the low half is the *committed* state
//! (the last acknowledged write), the high half the *pending* state (a write in flight, or in
//! doubt because it failed or the process died during it); 0 = none. A state is
//! `version << 1 | present`, with a per-key version that grows with every write, so a value
//! read from the database names the exact write it came from (see [`value`]).
//!
//! Writers hold the key's lock across `begin` → database write → `commit`, so under that lock
//! the committed state is exactly what the database must return. Because the file is a shared
//! mapping, every store survives a `kill -9` of the writer (the kernel owns the pages): the
//! checker knows which writes were acknowledged (committed) and which may or may not have
//! landed (pending).
//!
//! In-process runs (power loss on `MemFs`) also keep a log of every write with a global clock
//! stamp at its start and at its acknowledgement: power loss may drop unsynced writes, and
//! only the log tells which writes a later sync made durable and whether the survivors form
//! a prefix of the commit order.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use crate::sync::Mutex;
use memmap2::MmapMut;

const MAGIC: u64 = 0x6b76_7374_7265_7373;
const HEADER: usize = 16;
/// Writer slots after the key words: each holds the write a thread has in flight (a count,
/// then up to [`MAX_BATCH`] key/state pairs), so after a kill the checker knows which keys
/// one unacknowledged batch touched and can tell a torn batch from a whole one.
pub const MAX_WRITERS: usize = 64;
/// The most keys one write may touch.
pub const MAX_BATCH: usize = 16;
const SLOT_WORDS: usize = 1 + MAX_BATCH;

fn file_len(keys: u32) -> usize {
    HEADER + 8 * keys as usize + 8 * MAX_WRITERS * SLOT_WORDS
}

/// Version of a state word half.
pub fn ver(state: u32) -> u32 {
    state >> 1
}

/// Whether a state word half says the key holds a value.
pub fn present(state: u32) -> bool {
    state & 1 == 1
}

/// The key of index `k` (fixed width, so byte order is numeric order and prefixes group
/// ten, a hundred, ... neighbours).
pub fn key(k: u32) -> Vec<u8> {
    format!("k{k:08}").into_bytes()
}

/// The index of a key written by [`key`], if it is one.
pub fn parse_key(key: &[u8]) -> Option<u32> {
    if key.len() != 9 || key[0] != b'k' {
        return None;
    }
    std::str::from_utf8(&key[1..]).ok()?.parse().ok()
}

/// The value written by version `v` of key `k`: it encodes both, padded to a length that
/// depends on them (`max_pad` bytes at most) with bytes that do too.
pub fn value(k: u32, v: u32, max_pad: u32) -> Vec<u8> {
    let mut out = format!("{k}|{v}|").into_bytes();
    let h = mix((u64::from(k) << 32) | u64::from(v));
    let pad = if max_pad == 0 {
        0
    } else {
        h % u64::from(max_pad)
    };
    for i in 0..pad {
        out.push(b'a' + ((h >> (i % 40)) % 26) as u8);
    }
    out
}

/// The version a value read for key `k` claims, if the value is exactly what that version
/// wrote (anything else is a value never written).
pub fn parse_value(k: u32, val: &[u8], max_pad: u32) -> Option<u32> {
    let s = std::str::from_utf8(val).ok()?;
    let mut parts = s.splitn(3, '|');
    let vk: u32 = parts.next()?.parse().ok()?;
    let v: u32 = parts.next()?.parse().ok()?;
    (vk == k && value(k, v, max_pad) == val).then_some(v)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One acknowledged-or-not write of the in-process log.
#[derive(Debug, Clone)]
pub struct Event {
    /// Clock stamp taken just before the database write was issued.
    pub start: u64,
    /// Clock stamp taken once it returned `Ok` (0: never acknowledged).
    pub ack: u64,
    /// Written with `sync: true`.
    pub sync: bool,
    /// The keys and the state each one gets.
    pub muts: Vec<(u32, u32)>,
}

/// A write begun with [`Expected::begin`]: what to commit once it is acknowledged.
#[derive(Debug)]
pub struct Pending {
    event: Option<usize>,
    writer: usize,
    muts: Vec<(u32, u32)>,
}

impl Pending {
    /// The keys and the states they get.
    pub fn muts(&self) -> &[(u32, u32)] {
        &self.muts
    }
}

/// The expected state of `keys` keys.
#[derive(Debug)]
pub struct Expected {
    map: MmapMut,
    base: *mut u8,
    keys: u32,
    clock: AtomicU64,
    log: Option<Mutex<(Vec<u32>, Vec<Event>)>>,
}

// SAFETY: `base` points into `map`, owned by the struct and never remapped; every access to
// the mapped words goes through `AtomicU64`, so sharing between threads is race-free.
unsafe impl Send for Expected {}
// SAFETY: as above.
unsafe impl Sync for Expected {}

impl Expected {
    /// Opens (or creates, all keys never written) the expected-state file at `path`.
    pub fn open(path: &Path, keys: u32) -> Result<Expected, String> {
        let len = file_len(keys);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("expected state {}: {e}", path.display()))?;
        let old = file.metadata().map_err(|e| e.to_string())?.len();
        if old == 0 {
            file.set_len(len as u64).map_err(|e| e.to_string())?;
        } else if old != len as u64 {
            return Err(format!(
                "expected state {} has {old} bytes, not the {len} of --key_space={keys}",
                path.display()
            ));
        }
        // SAFETY: the file is ours (the harness's directory); nobody truncates it while it is
        // mapped, so the mapping stays valid.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| e.to_string())?;
        let exp = Expected::from_map(map, keys, false);
        if old == 0 {
            exp.header(0).store(MAGIC, SeqCst);
            exp.header(1).store(u64::from(keys), SeqCst);
        } else if exp.header(0).load(SeqCst) != MAGIC
            || exp.header(1).load(SeqCst) != u64::from(keys)
        {
            return Err(format!(
                "{} is not an expected state of {keys} keys",
                path.display()
            ));
        }
        Ok(exp)
    }

    /// An expected state in anonymous memory with the write log on (in-process runs).
    pub fn in_memory(keys: u32) -> Result<Expected, String> {
        let map = MmapMut::map_anon(file_len(keys)).map_err(|e| e.to_string())?;
        Ok(Expected::from_map(map, keys, true))
    }

    fn from_map(mut map: MmapMut, keys: u32, log: bool) -> Expected {
        let base = map.as_mut_ptr();
        let exp = Expected {
            map,
            base,
            keys,
            clock: AtomicU64::new(1),
            log: log.then(|| Mutex::new((Vec::new(), Vec::new()))),
        };
        exp.reset_log();
        exp
    }

    fn slot(&self, i: usize) -> &AtomicU64 {
        debug_assert!(8 * i + 8 <= self.map.len());
        // SAFETY: the mapping is page-aligned and `file_len(keys)` bytes long (made so above),
        // so every word index below `file_len / 8` (the callers' only indexes) is an aligned, in-bounds u64 for as long as `self`
        // lives; it is only ever accessed atomically.
        unsafe { &*(self.base.add(8 * i) as *const AtomicU64) }
    }

    fn header(&self, i: usize) -> &AtomicU64 {
        self.slot(i)
    }

    fn word(&self, k: u32) -> &AtomicU64 {
        assert!(k < self.keys, "key {k} outside the key space");
        self.slot(HEADER / 8 + k as usize)
    }

    /// Word `i` of writer `w`'s slot.
    fn writer_slot<'a>(&'a self, w: usize) -> impl Fn(usize) -> &'a AtomicU64 + 'a {
        assert!(w < MAX_WRITERS, "writer {w} beyond {MAX_WRITERS}");
        let first = (HEADER / 8) + self.keys as usize + w * SLOT_WORDS;
        move |i| self.slot(first + i)
    }

    /// The writes in flight (not acknowledged) when the writers stopped: per writer, the
    /// keys and the states the write gives them.
    pub fn in_flight(&self) -> Vec<Vec<(u32, u32)>> {
        (0..MAX_WRITERS)
            .map(|w| {
                let slot = self.writer_slot(w);
                let n = usize::try_from(slot(0).load(SeqCst))
                    .unwrap_or(0)
                    .min(MAX_BATCH);
                (1..=n)
                    .map(|i| {
                        let b = slot(i).load(SeqCst).to_le_bytes();
                        (
                            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                        )
                    })
                    .collect()
            })
            .filter(|v: &Vec<(u32, u32)>| !v.is_empty())
            .collect()
    }

    /// Forgets the writes in flight (after a crash was checked).
    pub fn clear_in_flight(&self) {
        for w in 0..MAX_WRITERS {
            self.writer_slot(w)(0).store(0, SeqCst);
        }
    }

    /// The number of keys.
    pub fn keys(&self) -> u32 {
        self.keys
    }

    /// (committed, pending) of key `k`; pending 0 = none.
    pub fn state(&self, k: u32) -> (u32, u32) {
        let b = self.word(k).load(SeqCst).to_le_bytes();
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        )
    }

    /// Marks a write of `muts` (key, puts?) pending; the caller holds every key's lock.
    pub fn begin(&self, writer: usize, muts: &[(u32, bool)], sync: bool) -> Pending {
        let mut out = Vec::with_capacity(muts.len());
        let slot = self.writer_slot(writer);
        slot(0).store(0, SeqCst);
        for &(k, put) in muts {
            let (c, p) = self.state(k);
            let v = ver(c).max(ver(p)) + 1;
            let s = (v << 1) | u32::from(put);
            self.word(k)
                .store((u64::from(s) << 32) | u64::from(c), SeqCst);
            out.push((k, s));
        }
        for (i, &(k, s)) in out.iter().enumerate().take(MAX_BATCH) {
            slot(1 + i).store((u64::from(k) << 32) | u64::from(s), SeqCst);
        }
        // The count last: a slot never names keys it has not recorded.
        slot(0).store(out.len().min(MAX_BATCH) as u64, SeqCst);
        let event = self.log.as_ref().map(|log| {
            let start = self.clock.fetch_add(1, SeqCst);
            let mut g = log.lock();
            g.1.push(Event {
                start,
                ack: 0,
                sync,
                muts: out.clone(),
            });
            g.1.len() - 1
        });
        Pending {
            event,
            muts: out,
            writer,
        }
    }

    /// The write was acknowledged: its states become the committed ones.
    pub fn commit(&self, p: Pending) {
        if let (Some(i), Some(log)) = (p.event, self.log.as_ref()) {
            let ack = self.clock.fetch_add(1, SeqCst);
            log.lock().1[i].ack = ack;
        }
        for (k, s) in p.muts {
            self.word(k).store(u64::from(s), SeqCst);
        }
        self.writer_slot(p.writer)(0).store(0, SeqCst);
    }

    /// After a crash and its check: key `k` holds `found` (a version) or nothing; that is now
    /// the committed state and nothing is pending.
    pub fn resolve(&self, k: u32, found: Option<u32>) {
        let (c, p) = self.state(k);
        let s = match found {
            Some(v) => (v << 1) | 1,
            // Absent: keep the highest version so a later write never reuses a number.
            None => ver(c).max(ver(p)) << 1,
        };
        self.word(k).store(u64::from(s), SeqCst);
    }

    /// Sum of the committed versions: how many acknowledged writes the keys have seen.
    pub fn committed_writes(&self) -> u64 {
        (0..self.keys)
            .map(|k| u64::from(ver(self.state(k).0)))
            .sum()
    }

    /// Forgets the write log and takes the committed states as the new base.
    pub fn reset_log(&self) {
        if let Some(log) = &self.log {
            let base = (0..self.keys).map(|k| self.state(k).0).collect();
            *log.lock() = (base, Vec::new());
        }
    }

    /// The base states and the writes logged since.
    pub fn log(&self) -> Option<(Vec<u32>, Vec<Event>)> {
        self.log.as_ref().map(|l| l.lock().clone())
    }
}

/// Whether `found` (a version, or absent) is the state `s` (not 0 for pending).
pub fn matches(s: u32, found: Option<u32>) -> bool {
    match found {
        Some(v) => s == (v << 1) | 1,
        None => !present(s),
    }
}

/// After a process crash (every acknowledged write survives), or on any live read under the
/// key's lock: `found` must be the committed state or the pending one.
pub fn check_after_process_crash(k: u32, c: u32, p: u32, found: Option<u32>) -> Option<String> {
    if matches(c, found) || (p != 0 && matches(p, found)) {
        return None;
    }
    Some(format!(
        "key {k}: found {} but the acknowledged state is {}{}",
        show(found),
        show_state(c),
        if p != 0 {
            format!(" (or in-doubt {})", show_state(p))
        } else {
            String::new()
        }
    ))
}

/// A found state for messages.
pub fn show(found: Option<u32>) -> String {
    match found {
        Some(v) => format!("version {v}"),
        None => "nothing".into(),
    }
}

/// A state word half for messages.
pub fn show_state(s: u32) -> String {
    if present(s) {
        format!("version {}", ver(s))
    } else if ver(s) == 0 {
        "never written".into()
    } else {
        format!("deleted (version {})", ver(s))
    }
}
