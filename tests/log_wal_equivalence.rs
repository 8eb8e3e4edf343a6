//! The WAL's recovery policy loses nothing the policy-free `log::Reader` finds: on WALs written
//! by `wal::Writer` and then damaged at random (byte flips, cuts, zeroed or zero-extended
//! tails), `log::Reader` reading on past every damage returns the same records as
//! `wal::Reader` in `SkipAnyCorruptedRecords` mode, and reports the same interior damage
//! (kind and offset) that mode skips. (The WAL reader is a policy layer on the log reader;
//! this pins that skip mode drops exactly the damage and nothing else.)

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
// Test data: byte patterns, narrowed on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::io;
use std::sync::{Arc, Mutex};

use groupkv::fs::{SequentialFile, WritableFile};
use groupkv::log::{self, Outcome};
use groupkv::wal;
use groupkv::wal::format::WAL_CHECKSUM;
use groupkv::WalRecoveryMode;
use proptest::prelude::*;

#[derive(Clone, Default)]
struct Dest(Arc<Mutex<Vec<u8>>>);

impl WritableFile for Dest {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Source(Vec<u8>, usize);

impl SequentialFile for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.0.len() - self.1).min(5000);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

/// (records, interior damage as (kind name, offset)) from the WAL's reader in skip mode.
fn wal_view(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<(String, u64)>) {
    let mut r = wal::Reader::new(
        Box::new(Source(bytes.to_vec(), 0)),
        "x.log",
        WalRecoveryMode::SkipAnyCorruptedRecords,
    );
    let mut records = Vec::new();
    let mut buf = Vec::new();
    while r.read_record(&mut buf).unwrap() {
        records.push(buf.clone());
    }
    let damage = r
        .skipped()
        .iter()
        .map(|c| (format!("{:?}", c.kind), c.offset))
        .collect();
    (records, damage)
}

/// The same from `log::Reader`, leaving out tail damage (which skip mode ends on silently).
fn log_view(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<(String, u64)>) {
    let mut r = log::Reader::new(Box::new(Source(bytes.to_vec(), 0)), WAL_CHECKSUM);
    let mut records = Vec::new();
    let mut damage = Vec::new();
    let mut buf = Vec::new();
    loop {
        match r.read_record(&mut buf).unwrap() {
            Outcome::Record { .. } => records.push(buf.clone()),
            Outcome::Damage(d) if d.kind.is_tail() => {}
            Outcome::Damage(d) => damage.push((format!("{:?}", d.kind), d.offset)),
            Outcome::End => break,
        }
    }
    (records, damage)
}

fn wal_bytes(sizes: &[usize]) -> Vec<u8> {
    let dest = Dest::default();
    let mut w = wal::Writer::new(Box::new(dest.clone()));
    for (i, &n) in sizes.iter().enumerate() {
        let rec: Vec<u8> = (0..n).map(|j| ((i * 7 + j) % 251) as u8).collect();
        w.add_record(&[&rec]).unwrap();
    }
    let bytes = dest.0.lock().unwrap().clone();
    bytes
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    ZeroTail(prop::sample::Index),
    ZeroExtend(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Damage::Flip(i, x)),
        any::<prop::sample::Index>().prop_map(Damage::Cut),
        any::<prop::sample::Index>().prop_map(Damage::ZeroTail),
        (1usize..70_000).prop_map(Damage::ZeroExtend),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn the_log_reader_sees_a_wal_as_the_wal_reader_does(
        sizes in proptest::collection::vec(prop_oneof![0usize..100, 0usize..70_000], 1..10),
        damages in proptest::collection::vec(damage(), 0..4),
    ) {
        let mut bytes = wal_bytes(&sizes);
        for d in damages {
            if bytes.is_empty() {
                break;
            }
            match d {
                Damage::Flip(i, x) => {
                    let i = i.index(bytes.len());
                    bytes[i] ^= x;
                }
                Damage::Cut(i) => bytes.truncate(i.index(bytes.len())),
                Damage::ZeroTail(i) => {
                    let i = i.index(bytes.len());
                    bytes[i..].fill(0);
                }
                Damage::ZeroExtend(n) => bytes.resize(bytes.len() + n, 0),
            }
        }
        let (wal_records, wal_damage) = wal_view(&bytes);
        let (log_records, log_damage) = log_view(&bytes);
        prop_assert_eq!(wal_records, log_records);
        prop_assert_eq!(wal_damage, log_damage);
    }
}
