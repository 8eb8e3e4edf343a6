//! The framing of a table file: block handles, the footer and the block trailer, and reading
//! one block back with its checks (LevelDB `table/format.cc`).
//!
//! ```text
//! handle  := offset:varint64 size:varint64          (size excludes the trailer)
//! block   := contents type:u8 crc:fixed32           (the last 5 bytes are the trailer)
//!            crc = mask(crc32c(contents ‖ type));   type 0 = none, 1 = Snappy (raw format)
//! footer  := metaindex_handle index_handle zeros    (padded to 40 bytes)
//!            magic:fixed64 = 0xdb4775248b80fb57      (48 bytes, the last of the file)
//! ```
//!
//! Type 2 means zstd in LevelDB after 1.23 and zlib in RocksDB; groupkv reads neither, and
//! says so with a `Corruption` that names the file, the block's offset and the type.

use crate::checksum::{crc32c, crc32c_extend, mask, unmask};
use crate::coding::{decode_fixed32, decode_fixed64, get_varint64, put_fixed64, put_varint64};
use crate::error::{Error, Result};
use crate::fs::RandomAccessFile;

/// The magic number that ends every table (LevelDB's).
pub const TABLE_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// The length of the footer at the end of every table.
pub const FOOTER_LEN: usize = 48;
/// The length of the trailer after every block: the type byte and the masked CRC-32C.
pub const BLOCK_TRAILER_LEN: usize = 5;
/// The longest encoding of a block handle: two varint64s.
pub const MAX_HANDLE_LEN: usize = 20;

/// The type byte of a stored block: how its contents are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    /// Stored as is (type 0).
    Uncompressed,
    /// Raw Snappy (type 1).
    Snappy,
}

impl BlockType {
    /// The byte stored in the trailer.
    pub fn as_byte(self) -> u8 {
        match self {
            BlockType::Uncompressed => 0,
            BlockType::Snappy => 1,
        }
    }
}

/// Where a block lies in the file: its offset and the length of its contents (without the
/// trailer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// The offset of the block's first byte.
    pub offset: u64,
    /// The length of the block's contents, trailer excluded.
    pub size: u64,
}

impl BlockHandle {
    /// Appends the handle's encoding (two varint64s).
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        put_varint64(out, self.offset);
        put_varint64(out, self.size);
    }

    /// The handle's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HANDLE_LEN);
        self.encode_to(&mut out);
        out
    }

    /// Decodes a handle from the front of `input`: the handle and the bytes it used.
    pub fn decode(input: &[u8]) -> Option<(BlockHandle, usize)> {
        let (offset, a) = get_varint64(input)?;
        let (size, b) = get_varint64(input.get(a..)?)?;
        Some((BlockHandle { offset, size }, a + b))
    }
}

/// The fixed-size end of a table: where the metaindex and index blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The metaindex block (names of meta blocks, such as the filter, to their handles).
    pub metaindex: BlockHandle,
    /// The index block (one separator key per data block, to its handle).
    pub index: BlockHandle,
}

impl Footer {
    /// The 48-byte encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        self.metaindex.encode_to(&mut out);
        self.index.encode_to(&mut out);
        out.resize(2 * MAX_HANDLE_LEN, 0);
        put_fixed64(&mut out, TABLE_MAGIC);
        out
    }

    /// Decodes the last 48 bytes of a table; `Err` says what is wrong.
    pub fn decode(input: &[u8]) -> std::result::Result<Footer, &'static str> {
        if input.len() != FOOTER_LEN {
            return Err("footer is not 48 bytes");
        }
        let magic = decode_fixed64(&input[2 * MAX_HANDLE_LEN..]).ok_or("footer is short")?;
        if magic != TABLE_MAGIC {
            return Err("not a table (bad magic number)");
        }
        let (metaindex, used) = BlockHandle::decode(input).ok_or("bad metaindex handle")?;
        let rest = input
            .get(used..2 * MAX_HANDLE_LEN)
            .ok_or("bad metaindex handle")?;
        let (index, _) = BlockHandle::decode(rest).ok_or("bad index handle")?;
        Ok(Footer { metaindex, index })
    }
}

/// Appends the trailer of a block whose stored contents are `contents`.
pub fn append_trailer(out: &mut Vec<u8>, contents: &[u8], block_type: BlockType) {
    let t = block_type.as_byte();
    let crc = crc32c_extend(crc32c(contents), &[t]);
    out.push(t);
    out.extend_from_slice(&mask(crc).to_le_bytes());
}

/// Reads the block at `handle` of the table `file` (named `name` in errors), checks its CRC if
/// `verify_checksum`, and returns its uncompressed contents.
pub fn read_block(
    file: &dyn RandomAccessFile,
    name: &str,
    file_size: u64,
    handle: BlockHandle,
    verify_checksum: bool,
) -> Result<Vec<u8>> {
    let len = block_span(name, file_size, handle)?;
    let mut data = Vec::new();
    read_table_bytes(file, name, handle.offset, len, &mut data)?;
    decode_block(data, name, handle, verify_checksum)
}

/// Reads the `len` bytes at `offset` of the table `file` (named `name` in errors) into `buf`,
/// whose contents they replace.
pub fn read_table_bytes(
    file: &dyn RandomAccessFile,
    name: &str,
    offset: u64,
    len: usize,
    buf: &mut Vec<u8>,
) -> Result<()> {
    file.read_at_into(offset, len, buf)
        .map_err(|e| Error::io(format!("reading table {name} at offset {offset}"), e))
}

/// The bytes the block at `handle` occupies with its trailer, checked to lie inside a file of
/// `file_size` bytes (the handle comes from the file: it must not size a buffer unchecked).
pub fn block_span(name: &str, file_size: u64, handle: BlockHandle) -> Result<usize> {
    let at = handle.offset;
    handle
        .size
        .checked_add(BLOCK_TRAILER_LEN as u64)
        .filter(|&len| at.checked_add(len).is_some_and(|end| end <= file_size))
        .and_then(|len| usize::try_from(len).ok())
        .ok_or_else(|| {
            Error::corruption(format!(
                "table {name}: block at offset {at}: handle of {} bytes passes the end of the \
                 {file_size}-byte file",
                handle.size
            ))
        })
}

/// Checks and uncompresses the block at `handle` from `data`, its bytes with the trailer (as
/// many as [`block_span`] says).
pub fn decode_block(
    mut data: Vec<u8>,
    name: &str,
    handle: BlockHandle,
    verify_checksum: bool,
) -> Result<Vec<u8>> {
    let at = handle.offset;
    let corrupt =
        |what: String| Error::corruption(format!("table {name}: block at offset {at}: {what}"));
    let len = usize::try_from(handle.size)
        .ok()
        .and_then(|n| n.checked_add(BLOCK_TRAILER_LEN))
        .ok_or_else(|| corrupt("block size overflows".into()))?;
    if data.len() != len {
        return Err(corrupt("short read".into()));
    }
    let n = len - BLOCK_TRAILER_LEN;
    let block_type = data[n];
    if verify_checksum {
        let stored = decode_fixed32(&data[n + 1..]).map(unmask);
        let actual = crc32c(&data[..=n]);
        if stored != Some(actual) {
            return Err(corrupt("checksum mismatch".into()));
        }
    }
    match block_type {
        0 => {
            data.truncate(n);
            Ok(data)
        }
        1 => {
            let compressed = &data[..n];
            let out_len = snap::raw::decompress_len(compressed)
                .map_err(|e| corrupt(format!("bad Snappy header: {e}")))?;
            // Snappy expands at most ~22 times (a 3-byte copy yields 64 bytes): a larger
            // claim is damage, and must not size an allocation.
            if out_len > n.saturating_mul(32).saturating_add(64) {
                return Err(corrupt(format!(
                    "Snappy block claims {out_len} bytes from {n} compressed"
                )));
            }
            snap::raw::Decoder::new()
                .decompress_vec(compressed)
                .map_err(|e| corrupt(format!("bad Snappy data: {e}")))
        }
        t => Err(corrupt(format!(
            "unsupported block type {t} (0 = uncompressed and 1 = Snappy are readable; 2 is \
             zstd in newer LevelDB and zlib in RocksDB)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip() {
        for (offset, size) in [(0, 0), (1, 127), (128, 1 << 20), (u64::MAX, u64::MAX)] {
            let h = BlockHandle { offset, size };
            let enc = h.encode();
            assert!(enc.len() <= MAX_HANDLE_LEN);
            assert_eq!(BlockHandle::decode(&enc), Some((h, enc.len())));
            assert_eq!(BlockHandle::decode(&enc[..enc.len() - 1]), None);
        }
    }

    #[test]
    fn footer_is_48_bytes_with_the_magic_last() {
        let f = Footer {
            metaindex: BlockHandle {
                offset: 100,
                size: 20,
            },
            index: BlockHandle {
                offset: 125,
                size: 300,
            },
        };
        let enc = f.encode();
        assert_eq!(enc.len(), FOOTER_LEN);
        assert_eq!(
            &enc[40..],
            &[0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]
        );
        assert_eq!(Footer::decode(&enc), Ok(f));
        let mut bad = enc.clone();
        bad[47] ^= 1;
        assert!(Footer::decode(&bad).is_err());
        assert!(Footer::decode(&enc[1..]).is_err());
    }
}
