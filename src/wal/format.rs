//! The WAL's framing: LevelDB's log format (`crate::log::format`), with the checksum WALs of
//! this layout carry.
//!
//! A WAL's checksum is a property of the directory (with one exception decided once per file
//! from its first record: the interim layout's IEEE WALs, `db/interim.rs`), never per record:
//! every WAL of a directory with `CURRENT` (ours or LevelDB's) carries CRC-32C, LevelDB's log
//! format bit for bit, so LevelDB replays them; a first-layout directory (a base and WALs, no
//! `CURRENT`, or one whose conversion stopped before its first commit) carries IEEE CRC-32.

use crate::log::Checksum;

pub use crate::checksum::{mask, unmask};
pub use crate::log::format::{RecordType, BLOCK_SIZE, HEADER_SIZE, SECTOR};

/// The checksum a WAL written by this version carries (LevelDB's: CRC-32C, masked).
pub const WAL_CHECKSUM: Checksum = Checksum::Crc32c;

/// The checksum of the WALs and bases of a first-layout directory (written before `CURRENT`
/// and the MANIFEST existed); read only, to convert such a directory.
pub const FIRST_LAYOUT_CHECKSUM: Checksum = Checksum::Crc32Ieee;

/// The stored checksum of a WAL fragment: the masked CRC over `type_and_payload`, the type byte
/// immediately followed by the payload (as they lie in the file).
pub fn record_crc(type_and_payload: &[u8]) -> u32 {
    WAL_CHECKSUM.record_crc(type_and_payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_round_trips_and_changes_value() {
        for crc in [0u32, 1, 0xdead_beef, u32::MAX] {
            assert_ne!(mask(crc), crc);
            assert_eq!(unmask(mask(crc)), crc);
            assert_ne!(mask(mask(crc)), mask(crc));
        }
    }
}
