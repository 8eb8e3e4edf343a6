//! A crash in a compaction (or a flush) can leave output tables that no MANIFEST names,
//! numbered at or above the next file number the MANIFEST recorded (the numbers were handed
//! out after its last edit). The next open must still succeed: it must not hand those numbers
//! out again (creating a file that exists fails), and it may delete the leftovers.
//!
//! Found by `crash_sweep_flush.rs` once the compaction thread ran beside the flushes: a
//! process crash while a flush wrote table 14 and an automatic compaction wrote table 15 left
//! a directory whose reopen failed with "creating table 000015.sst: file exists".
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use groupkv::fs::{FileSystem, MemFs};
use groupkv::{Options, WriteOptions, DB};

fn open(mem: &MemFs) -> groupkv::Result<DB> {
    DB::open(
        "/db",
        Options {
            file_system: Arc::new(mem.clone()),
            ..Options::default()
        },
    )
}

#[test]
fn leftover_tables_above_the_next_file_number_do_not_stop_an_open() {
    let mem = MemFs::new();
    let db = open(&mem).unwrap();
    // A write only in the WAL: the next open replays it and writes it to a new table.
    db.put(&WriteOptions::default(), b"k", b"v").unwrap();
    db.halt_background_work_for_test();
    std::mem::forget(db);
    mem.process_crash();
    let next = {
        let mut set = groupkv::version::VersionSet::new(
            Arc::new(mem.clone()),
            Path::new("/db"),
            groupkv::version::VersionSetOptions::default(),
        );
        set.recover().unwrap();
        set.next_file_number()
    };
    // What a compaction cut short leaves: partly written outputs, synced or not.
    for n in next..next + 4 {
        let mut f = mem
            .create(&Path::new("/db").join(format!("{n:06}.sst")))
            .unwrap();
        f.append(b"a partly written table").unwrap();
        f.sync().unwrap();
    }
    mem.sync_dir(Path::new("/db")).unwrap();
    mem.process_crash();
    let db = open(&mem).unwrap_or_else(|e| panic!("open with leftover tables: {e}"));
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    db.close().unwrap();
}
