//! The constants of the log format and the checksum of a fragment.

use crate::checksum;

/// Records are framed into blocks of this size; a header never straddles a block boundary.
pub const BLOCK_SIZE: usize = 32 * 1024;
/// checksum (4) | length (2) | type (1).
pub const HEADER_SIZE: usize = 7;
/// The unit a crash leaves written whole or not at all: a disk writes a sector (512 bytes, or
/// a multiple) atomically, and page writeback and a killed `write` stop at 4 KiB pages, a
/// multiple of it. A zeroed sector-aligned span inside the last record is the reader's
/// evidence of a torn write (see `docs/wal-format.md`).
pub const SECTOR: usize = 512;

/// The type byte of a physical record (a fragment of a logical record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// Reserved for preallocated (zeroed) space; never written.
    Zero = 0,
    /// A whole logical record.
    Full = 1,
    /// The first fragment.
    First = 2,
    /// A middle fragment.
    Middle = 3,
    /// The last fragment.
    Last = 4,
}

impl RecordType {
    /// The type of a header's type byte, `None` for anything above 4.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => RecordType::Zero,
            1 => RecordType::Full,
            2 => RecordType::First,
            3 => RecordType::Middle,
            4 => RecordType::Last,
            _ => return None,
        })
    }
}

/// Which CRC-32 a log's headers carry.
///
/// Every file of the current layout uses CRC-32C (LevelDB's); the IEEE polynomial exists only
/// to read the WALs of a first-layout directory while it is migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// CRC-32C (Castagnoli), LevelDB's and the default.
    #[default]
    Crc32c,
    /// CRC-32 (IEEE), groupkv's first layout; read-only.
    Crc32Ieee,
}

impl Checksum {
    /// The stored checksum of a fragment: the masked CRC over `type_and_payload`, the type byte
    /// immediately followed by the payload (as they lie in the file).
    pub fn record_crc(self, type_and_payload: &[u8]) -> u32 {
        let crc = match self {
            Checksum::Crc32c => checksum::crc32c(type_and_payload),
            Checksum::Crc32Ieee => crc32fast::hash(type_and_payload),
        };
        checksum::mask(crc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_checksums_differ_and_both_are_masked() {
        let bytes = b"\x01hello";
        let c = Checksum::Crc32c.record_crc(bytes);
        let i = Checksum::Crc32Ieee.record_crc(bytes);
        assert_ne!(c, i);
        assert_eq!(checksum::unmask(c), checksum::crc32c(bytes));
        assert_eq!(checksum::unmask(i), crc32fast::hash(bytes));
    }

    #[test]
    fn type_bytes_round_trip() {
        for b in 0..=4u8 {
            assert_eq!(RecordType::from_byte(b).map(|t| t as u8), Some(b));
        }
        assert_eq!(RecordType::from_byte(5), None);
        assert_eq!(RecordType::from_byte(255), None);
    }
}
