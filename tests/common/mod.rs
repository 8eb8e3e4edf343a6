//! Helpers shared by the write-path suites: every suite runs under each write-path mode.
#![allow(dead_code)]

use groupkv::Options;

/// A write-path mode: how a group inserts into the memtable and whether WAL and memtable
/// stages are pipelined.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub name: &'static str,
    pub concurrent_memtable: bool,
    pub pipelined: bool,
}

/// Every combination of serial/concurrent memtable writes × pipelined off/on.
pub const MODES: [Mode; 4] = [
    Mode {
        name: "serial",
        concurrent_memtable: false,
        pipelined: false,
    },
    Mode {
        name: "concurrent",
        concurrent_memtable: true,
        pipelined: false,
    },
    Mode {
        name: "pipelined",
        concurrent_memtable: false,
        pipelined: true,
    },
    Mode {
        name: "pipelined+concurrent",
        concurrent_memtable: true,
        pipelined: true,
    },
];

impl Mode {
    pub fn options(&self) -> Options {
        Options {
            allow_concurrent_memtable_write: self.concurrent_memtable,
            enable_pipelined_write: self.pipelined,
            ..Options::default()
        }
    }
}

/// A small deterministic generator (tests must reproduce from a printed seed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
