//! A torn tail is decided from evidence a written record cannot leave (issue 11, defect 2).
//!
//! Before the fix, `tolerate_corrupted_tail_records` took a damaged last record for a torn write
//! whenever its last byte was zero and zeros followed (always true at the end of a WAL, which
//! has zeroed space allocated after its records): an acknowledged synced write whose value
//! ended in 0x00 was dropped silently when any bit of it was damaged. Now that damage fails
//! `open` with `Corruption` (naming the file and offset) and changes no file.

use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{Error, Options, WalRecoveryMode, WriteOptions, DB};

const DIR: &str = "/db";

fn open(fs: &MemFs, mode: WalRecoveryMode) -> groupkv::Result<DB> {
    DB::open(
        DIR,
        Options {
            file_system: Arc::new(fs.clone()),
            wal_recovery_mode: mode,
            ..Options::default()
        },
    )
}

#[test]
fn a_damaged_synced_record_ending_in_zero_is_not_a_torn_tail() {
    for last in [0u8, b'!'] {
        let fs = MemFs::new();
        let db = open(&fs, WalRecoveryMode::PointInTime).expect("create");
        db.put(&WriteOptions::synced(), b"first", b"one")
            .expect("put");
        let mut counter = 12345u64.to_le_bytes().to_vec();
        counter.push(last);
        db.put(&WriteOptions::synced(), b"counter", &counter)
            .expect("put");
        db.halt_background_work_for_test();
        std::mem::forget(db);
        fs.process_crash();
        let wal = fs
            .list(Path::new(DIR))
            .expect("list")
            .into_iter()
            .find(|n| n.ends_with(".log"))
            .map(|n| Path::new(DIR).join(n))
            .expect("a WAL");
        let mut bytes = fs.read(&wal).expect("read");
        // The end of the records: the writer allocated zeros after them.
        let mut end = 0;
        while bytes[end..end + 7] != [0; 7] {
            end += 7 + usize::from(u16::from_le_bytes([bytes[end + 4], bytes[end + 5]]));
        }
        bytes[end - 6] ^= 0x10; // one bit inside the last (synced) record's value
        fs.overwrite(&wal, bytes.clone()).expect("overwrite");
        match open(&fs, WalRecoveryMode::TolerateCorruptedTailRecords) {
            Err(Error::Corruption { message }) => assert!(
                message.contains("ChecksumMismatch")
                    && message.contains("offset")
                    && message.contains(wal.file_name().and_then(|n| n.to_str()).unwrap_or("?")),
                "value ending in {last:#x}: {message}"
            ),
            Ok(db) => panic!(
                "value ending in {last:#x}: opened; counter = {:?}",
                db.get(b"counter")
            ),
            Err(e) => panic!("value ending in {last:#x}: {e}"),
        }
        assert_eq!(
            fs.read(&wal).ok(),
            Some(bytes),
            "a refused open changes nothing"
        );
    }
}
