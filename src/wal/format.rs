//! Constants and the checksum of the log format.

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
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
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

const MASK_DELTA: u32 = 0xa282_ead8;

/// LevelDB's masking: a CRC stored inside data that is itself CRC'd would otherwise make
/// CRCs of CRCs degenerate.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The inverse of [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// The stored checksum of a fragment: masked CRC-32 over `type_and_payload`, the type byte
/// immediately followed by the payload (as they lie in the file).
pub fn record_crc(type_and_payload: &[u8]) -> u32 {
    mask(crc32fast::hash(type_and_payload))
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
