//! CRC-32C (Castagnoli), the checksum of every file a database writes, and LevelDB's mask.
//!
//! The `crc32c` crate uses the CPU's CRC instruction where there is one (SSE 4.2, ARMv8) and
//! a table otherwise. Stored checksums are *masked*: a CRC kept inside data that is itself
//! checksummed (a log record holding a table block, say) would otherwise make CRCs of CRCs
//! degenerate.

const MASK_DELTA: u32 = 0xa282_ead8;

/// The CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// The CRC-32C of the concatenation of the bytes `crc` was computed over and `data`.
pub fn crc32c_extend(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

/// LevelDB's mask, applied to every checksum before it is stored.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The inverse of [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of RFC 3720 (iSCSI), which LevelDB's crc32c test uses too.
    #[test]
    fn standard_vectors() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46dd_794e);
        let descending: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113f_db5c);
        let iscsi_read: [u8; 48] = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(crc32c(&iscsi_read), 0xd996_3a56);
    }

    #[test]
    fn values_differ_and_extend_is_concatenation() {
        assert_ne!(crc32c(b"a"), crc32c(b"foo"));
        assert_eq!(
            crc32c(b"hello world"),
            crc32c_extend(crc32c(b"hello "), b"world")
        );
    }

    #[test]
    fn mask_round_trips_and_changes_value() {
        for crc in [0u32, 1, 0xdead_beef, u32::MAX, crc32c(b"foo")] {
            assert_ne!(mask(crc), crc);
            assert_ne!(mask(mask(crc)), mask(crc));
            assert_eq!(unmask(mask(crc)), crc);
        }
    }
}
