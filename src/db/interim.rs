//! WALs of the interim layout: the releases between the MANIFEST's arrival and CRC-32C WALs
//! (up to 752bb61) wrote directories with `CURRENT` and a MANIFEST (CRC-32C, as today) but
//! WALs checksummed with IEEE CRC-32. Read as CRC-32C, every record of such a WAL fails its
//! checksum and open refuses; the users of that release must open their directories
//! without loss.
//!
//! The decision is made per WAL file, once, from its first record, never per record: every
//! WAL any release wrote starts with a marker record at offset 0. If that record's stored
//! checksum matches under IEEE and not under CRC-32C, the file is an interim WAL and is read
//! whole as IEEE. Anything else (a CRC-32C match, neither, a file too short for its first
//! record) reads as CRC-32C, so a damaged first record stays damage under the normal rules.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::log::format::{BLOCK_SIZE, HEADER_SIZE};
use crate::log::Checksum;
use crate::wal::format::WAL_CHECKSUM;

/// The checksum WAL `path` of a MANIFEST directory carries: IEEE for an interim-layout WAL,
/// else CRC-32C. Reads at most the first block.
pub(crate) fn wal_checksum(fs: &dyn FileSystem, path: &Path) -> Result<Checksum> {
    let mut file = fs
        .open_sequential(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut head = vec![0u8; BLOCK_SIZE];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(first_record_checksum(&head[..filled]).unwrap_or(WAL_CHECKSUM))
}

/// IEEE if the first physical record of `head` (a log's first bytes) checks under IEEE and not
/// under CRC-32C; CRC-32C if it checks under CRC-32C; `None` if it checks under neither or
/// does not fit in `head`.
fn first_record_checksum(head: &[u8]) -> Option<Checksum> {
    let header = head.get(..HEADER_SIZE)?;
    let stored = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let length = usize::from(u16::from_le_bytes([header[4], header[5]]));
    // The type byte and the payload, as the checksum covers them.
    let covered = head.get(HEADER_SIZE - 1..HEADER_SIZE + length)?;
    if Checksum::Crc32c.record_crc(covered) == stored {
        Some(Checksum::Crc32c)
    } else if Checksum::Crc32Ieee.record_crc(covered) == stored {
        Some(Checksum::Crc32Ieee)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(checksum: Checksum, payload: &[u8]) -> Vec<u8> {
        let mut covered = vec![1u8]; // a full record
        covered.extend_from_slice(payload);
        let mut out = checksum.record_crc(&covered).to_le_bytes().to_vec();
        out.extend_from_slice(&u16::try_from(payload.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&covered);
        out
    }

    #[test]
    fn the_first_record_decides_the_whole_file() {
        let payload = b"a marker batch: 8 bytes sequence, 4 bytes count";
        assert_eq!(
            first_record_checksum(&record(Checksum::Crc32Ieee, payload)),
            Some(Checksum::Crc32Ieee)
        );
        assert_eq!(
            first_record_checksum(&record(Checksum::Crc32c, payload)),
            Some(Checksum::Crc32c)
        );
        // Damage in the first record: neither matches, the caller reads it as CRC-32C.
        let mut damaged = record(Checksum::Crc32Ieee, payload);
        damaged[HEADER_SIZE + 3] ^= 1;
        assert_eq!(first_record_checksum(&damaged), None);
        // Cut short: not enough bytes for the record the header announces.
        let whole = record(Checksum::Crc32Ieee, payload);
        assert_eq!(first_record_checksum(&whole[..whole.len() - 1]), None);
        assert_eq!(first_record_checksum(&whole[..3]), None);
    }
}
