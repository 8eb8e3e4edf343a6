//! Whole-key-space verification after a run or a crash: the database is read three ways (a
//! forward iterator, a reverse iterator, point reads of every key), the three must agree, and
//! what they found is checked against the expected state.

use groupkv::{ReadOptions, DB};

use crate::expected::{self, Expected};

/// Every key's version as the database holds it (`None` = absent), or the violations that
/// make the reads themselves wrong (disorder, duplicates, foreign keys or values, read paths
/// that disagree, errors).
pub fn read_all(db: &DB, keys: u32, pad: u32) -> Result<Vec<Option<u32>>, Vec<String>> {
    let mut bad = Vec::new();
    let fwd = scan(db, keys, pad, false, &mut bad);
    let rev = scan(db, keys, pad, true, &mut bad);
    let mut points = vec![None; keys as usize];
    for (slot, k) in points.iter_mut().zip(0u32..) {
        match db.get(&expected::key(k)) {
            Ok(None) => {}
            Ok(Some(v)) => match expected::parse_value(k, &v, pad) {
                Some(ver) => *slot = Some(ver),
                None => bad.push(format!("get key {k}: a value never written")),
            },
            Err(e) => bad.push(format!("get key {k}: {e}")),
        }
    }
    if fwd != rev {
        bad.push("forward and reverse scans of the whole key space differ".into());
    }
    for (k, (a, b)) in fwd.iter().zip(&points).enumerate() {
        if a != b {
            bad.push(format!(
                "key {k}: the scan finds {} but a point read {}",
                expected::show(*a),
                expected::show(*b)
            ));
        }
    }
    if bad.is_empty() {
        Ok(points)
    } else {
        Err(bad)
    }
}

fn scan(db: &DB, keys: u32, pad: u32, reverse: bool, bad: &mut Vec<String>) -> Vec<Option<u32>> {
    let mut out = vec![None; keys as usize];
    let dir = if reverse { "reverse" } else { "forward" };
    let mut it = match db.iter(&ReadOptions::default()) {
        Ok(it) => it,
        Err(e) => {
            bad.push(format!("{dir} scan: {e}"));
            return out;
        }
    };
    if reverse {
        it.seek_to_last();
    } else {
        it.seek_to_first();
    }
    let mut last: Option<Vec<u8>> = None;
    while it.valid() {
        let key = it.key().to_vec();
        if let Some(l) = &last {
            if (reverse && key >= *l) || (!reverse && key <= *l) {
                bad.push(format!(
                    "{dir} scan: {:?} after {:?}",
                    String::from_utf8_lossy(&key),
                    String::from_utf8_lossy(l)
                ));
                return out;
            }
        }
        match expected::parse_key(&key).filter(|&k| k < keys) {
            Some(k) => match expected::parse_value(k, it.value(), pad) {
                Some(v) => out[k as usize] = Some(v),
                None => bad.push(format!("{dir} scan: key {k}: a value never written")),
            },
            None => bad.push(format!(
                "{dir} scan: key {:?} was never written",
                String::from_utf8_lossy(&key)
            )),
        }
        last = Some(key);
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    if let Err(e) = it.status() {
        bad.push(format!("{dir} scan: {e}"));
    }
    out
}

/// After a process crash (or a clean close) every acknowledged write survives: each key holds
/// its committed state or, if a write was in flight, the pending one.
pub fn check_process_crash(exp: &Expected, found: &[Option<u32>]) -> Vec<String> {
    let mut bad = check_in_flight(exp, found);
    bad.extend(found.iter().zip(0u32..).filter_map(|(f, k)| {
        let (c, p) = exp.state(k);
        expected::check_after_process_crash(k, c, p, *f)
    }));
    bad
}

/// A write in flight at the crash (a batch above all) is there whole or not at all.
pub fn check_in_flight(exp: &Expected, found: &[Option<u32>]) -> Vec<String> {
    let mut bad = Vec::new();
    for muts in exp.in_flight() {
        // Per key: Some(true) if it shows the write, Some(false) if it shows the state before,
        // None if both look the same (a delete of an absent key, a commit already stored).
        let landed: Vec<Option<bool>> = muts
            .iter()
            .map(|&(k, s)| {
                let f = found.get(k as usize).copied().flatten();
                let (new, old) = (
                    expected::matches(s, f),
                    expected::matches(exp.state(k).0, f),
                );
                (new != old).then_some(new)
            })
            .collect();
        if landed.contains(&Some(true)) && landed.contains(&Some(false)) {
            bad.push(format!(
                "a write in flight landed in part: keys {:?}, landed {landed:?}",
                muts.iter().map(|m| m.0).collect::<Vec<_>>()
            ));
        }
    }
    bad
}

/// Makes what was found the committed state (in-doubt writes resolved either way).
pub fn resolve(exp: &Expected, found: &[Option<u32>]) {
    exp.clear_in_flight();
    for (f, k) in found.iter().zip(0u32..) {
        exp.resolve(k, *f);
    }
}
