//! The real file system's appends land byte for byte, whichever way they go: `pwrite` beyond
//! the allocated space, `pwrite` up to a page boundary, or a copy into a mapped window of
//! allocated space (appends that straddle windows, pages, and the allocated end included).
//! Every case runs with `pwrite` only (the default) and with mapped appends allowed.

use std::path::Path;

use groupkv::fs::{FileOptions, FileSystem, PosixFs};

const MODES: [FileOptions; 2] = [
    FileOptions {
        allow_mmap_writes: false,
    },
    FileOptions {
        allow_mmap_writes: true,
    },
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn run(mode: &FileOptions, seed: u64, max_append: u64, allocate_one_in: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.log");
    let mut file = PosixFs.create_with(&path, mode).expect("create");
    let mut rng = Rng(seed | 1);
    let mut want: Vec<u8> = Vec::new();
    let mut allocated = 0u64;
    while want.len() < 3 << 20 {
        if allocate_one_in > 0 && rng.below(allocate_one_in) == 0 {
            // As the WAL writer does: somewhat past the end, or (rarely) not past it at all.
            let len = want.len() as u64 + rng.below(300_000);
            file.allocate(len).expect("allocate");
            allocated = allocated.max(len);
        }
        let n = 1 + usize::try_from(rng.below(max_append)).expect("small");
        let byte = u8::try_from(want.len() % 251).expect("small") | 1;
        let data = vec![byte; n];
        file.append(&data).expect("append");
        want.extend_from_slice(&data);
        if rng.below(50) == 0 {
            file.sync().expect("sync");
        }
    }
    drop(file);
    let got = std::fs::read(&path).expect("read");
    let end = usize::try_from(allocated).expect("small").max(want.len());
    assert_eq!(
        got.len(),
        end,
        "{mode:?} seed {seed}: the file is as long as written or allocated"
    );
    assert!(
        got[..want.len()] == want[..],
        "{mode:?} seed {seed}: every appended byte in place"
    );
    assert!(
        got[want.len()..].iter().all(|&b| b == 0),
        "{mode:?} seed {seed}: zeros after"
    );
}

#[test]
fn appends_land_byte_for_byte() {
    for mode in &MODES {
        for seed in 1..=4 {
            run(mode, seed, 200, 40); // small records, frequent allocations
            run(mode, seed, 20_000, 8); // records spanning pages and windows
            run(mode, seed, 5_000, 0); // never allocated: plain appends
        }
    }
}

#[test]
fn allocate_extends_with_zeros_and_keeps_the_position() {
    for mode in &MODES {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("z.log");
        let mut file = PosixFs.create_with(&path, mode).expect("create");
        file.append(b"abc").expect("append");
        file.allocate(10_000).expect("allocate");
        file.append(b"def").expect("append");
        file.allocate(5).expect("a shorter length changes nothing");
        drop(file);
        let got = std::fs::read(Path::new(&path)).expect("read");
        assert_eq!(got.len(), 10_000);
        assert_eq!(&got[..6], b"abcdef");
        assert!(got[6..].iter().all(|&b| b == 0));
    }
}
