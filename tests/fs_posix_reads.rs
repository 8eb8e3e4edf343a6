//! `read_at_into` on the real file system returns exactly the file's bytes whatever buffer it
//! is handed: the block cache passes back evicted blocks' buffers, bytes and length included,
//! and the read no longer zero-fills them first, so stale bytes must never survive it.

use groupkv::fs::{FileSystem, PosixFs};

#[test]
fn recycled_buffers_hold_only_the_bytes_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.sst");
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).expect("write");
    let file = PosixFs.open_random_access(&path).expect("open");
    // Shorter than, as long as, and longer than the read, with and without spare capacity.
    for stale_len in [0usize, 1, 100, 4096, 4101, 9000] {
        for (offset, len) in [(0usize, 4101usize), (7, 4096), (15_000, 5000), (123, 0)] {
            let mut buf = vec![0xAA; stale_len];
            buf.reserve(stale_len % 7);
            file.read_at_into(offset as u64, len, &mut buf)
                .expect("read");
            assert_eq!(
                buf,
                &data[offset..offset + len],
                "stale length {stale_len}, read of {len} at {offset}"
            );
        }
    }
    // A read past the end is an error, not a buffer with stale bytes passed off as data.
    let mut buf = vec![0xAA; 4096];
    assert!(file.read_at_into(19_000, 4096, &mut buf).is_err());
}
